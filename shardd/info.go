package shardd

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd/store"
)

// infoSections are INFO's sections in Redis's order; "default" and "all"
// print all of them.
var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"}

func cmdInfo(c *conn, args [][]byte) {
	want := map[string]bool{}
	for _, a := range args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["default"] || want["all"] || want["everything"]
	var b strings.Builder
	for _, sec := range infoSections {
		if !all && !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		c.s.writeInfoSection(c, &b, sec)
	}
	c.bulkString(b.String())
}

func (s *Server) writeInfoSection(c *conn, b *strings.Builder, sec string) {
	kv := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		kv("redis_version", respserver.RedisVersion)
		kv("shoal_version", s.cfg.Version)
		kv("redis_mode", "standalone")
		kv("shoal_role", "shardd")
		kv("shoal_shard", s.cfg.Shard)
		kv("os", runtime.GOOS+" "+runtime.GOARCH)
		kv("arch_bits", strconv.IntSize)
		kv("go_version", runtime.Version())
		kv("process_id", os.Getpid())
		if port := s.conns.Port(); port != "" {
			kv("tcp_port", port)
		}
		up := time.Since(s.startTime)
		kv("server_time_usec", time.Now().UnixMicro())
		kv("uptime_in_seconds", int64(up.Seconds()))
		kv("uptime_in_days", int64(up.Hours()/24))
		kv("hz", int(time.Second/s.cfg.ActiveExpireInterval))
		kv("executable", os.Args[0])
	case "clients":
		conns := s.conns.Snapshot()
		blocked, pubsubClients := 0, 0
		for _, o := range conns {
			if o.psMode {
				pubsubClients++
			}
		}
		c.lock()
		for _, ws := range s.blocked {
			blocked += len(ws)
		}
		c.unlock()
		b.WriteString("# Clients\r\n")
		kv("connected_clients", len(conns))
		kv("maxclients", s.conns.MaxClients())
		kv("blocked_clients", blocked)
		kv("pubsub_clients", pubsubClients)
	case "memory":
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.WriteString("# Memory\r\n")
		kv("used_memory", ms.HeapAlloc)
		kv("used_memory_human", humanBytes(ms.HeapAlloc))
		kv("used_memory_rss", ms.Sys-ms.HeapReleased)
		kv("used_memory_rss_human", humanBytes(ms.Sys-ms.HeapReleased))
		kv("used_memory_peak", ms.HeapSys)
		kv("maxmemory", s.cfg.MaxMemory)
		kv("maxmemory_human", humanBytes(uint64(s.cfg.MaxMemory)))
		kv("maxmemory_policy", s.maxmemoryPolicy())
		kv("mem_allocator", "go")
	case "persistence":
		b.WriteString("# Persistence\r\n")
		kv("loading", 0)
		kv("async_loading", 0)
		kv("rdb_changes_since_last_save", s.dirty.Load())
		kv("rdb_bgsave_in_progress", b2i(s.saving.Load()))
		kv("rdb_last_save_time", s.lastSave.Load())
		kv("rdb_last_bgsave_status", okErr(s.lastSaveOK.Load()))
		kv("aof_enabled", b2i(s.wal != nil))
		kv("aof_rewrite_in_progress", 0)
		st := "ok"
		if s.logFailed() != nil {
			st = "err"
		}
		kv("aof_last_write_status", st)
		if s.wal != nil {
			kv("aof_current_size", s.wal.Size())
			kv("shoal_appendfsync", s.cfg.AppendFsync)
		}
	case "stats":
		c.lock()
		st := s.store.Stats()
		c.unlock()
		b.WriteString("# Stats\r\n")
		kv("total_connections_received", s.conns.Received())
		kv("total_commands_processed", s.stats.commandsProcessed.Load())
		kv("total_net_output_bytes", s.stats.netOutput.Load())
		kv("rejected_connections", s.conns.Rejected())
		kv("expired_keys", st.ExpiredKeys)
		kv("evicted_keys", s.evictedKeys())
		kv("keyspace_hits", st.Hits)
		kv("keyspace_misses", st.Misses)
		s.pubsub.mu.Lock()
		nch, npat := len(s.pubsub.channels), len(s.pubsub.patterns)
		s.pubsub.mu.Unlock()
		kv("pubsub_channels", nch)
		kv("pubsub_patterns", npat)
	case "replication":
		b.WriteString("# Replication\r\n")
		s.writeReplicationInfo(c, kv)
	case "cpu":
		b.WriteString("# CPU\r\n")
		kv("used_cpu_sys", "0.000000")
		kv("used_cpu_user", "0.000000")
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		c.lock()
		n, exp := s.store.Len(), s.store.ExpiresLen()
		c.unlock()
		if n > 0 {
			fmt.Fprintf(b, "db0:keys=%d,expires=%d,avg_ttl=0\r\n", n, exp)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func okErr(ok bool) string {
	if ok {
		return "ok"
	}
	return "err"
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// ---- CONFIG ----

// configParam is one setting CONFIG GET/SET knows.
type configParam struct {
	get func(s *Server) string
	set func(s *Server, v string) error // nil: read-only
}

var configParams = map[string]configParam{
	"maxclients": {
		get: func(s *Server) string { return strconv.FormatInt(s.conns.MaxClients(), 10) },
		set: func(s *Server, v string) error {
			n, ok := store.ParseInt([]byte(v))
			if !ok || n < 1 {
				return fmt.Errorf("argument couldn't be parsed into an integer")
			}
			s.conns.SetMaxClients(n)
			return nil
		},
	},
	"requirepass": {
		get: func(s *Server) string { return *s.requirePass.Load() },
		set: func(s *Server, v string) error { s.requirePass.Store(&v); return nil },
	},
	"appendfsync": {get: func(s *Server) string { return s.cfg.AppendFsync }},
	"appendonly": {get: func(s *Server) string {
		if s.cfg.Diskless {
			return "no"
		}
		return "yes"
	}},
	"proto-max-bulk-len": {
		get: func(s *Server) string {
			s.cfgMu.RLock()
			defer s.cfgMu.RUnlock()
			return strconv.FormatInt(s.cfg.ProtoMaxBulkLen, 10)
		},
		set: func(s *Server, v string) error {
			n, err := ParseMemory(v)
			if err != nil || n < 1<<20 {
				return fmt.Errorf("argument must be a memory value of at least 1mb")
			}
			s.cfgMu.Lock()
			s.cfg.ProtoMaxBulkLen = n
			s.cfgMu.Unlock()
			return nil
		},
	},
	"client-query-buffer-limit": {
		get: func(s *Server) string {
			s.cfgMu.RLock()
			defer s.cfgMu.RUnlock()
			return strconv.FormatInt(s.cfg.ClientQueryBufferLimit, 10)
		},
		set: func(s *Server, v string) error {
			n, err := ParseMemory(v)
			if err != nil || n < 1<<20 {
				return fmt.Errorf("argument must be a memory value of at least 1mb")
			}
			s.cfgMu.Lock()
			s.cfg.ClientQueryBufferLimit = n
			s.cfgMu.Unlock()
			return nil
		},
	},
	"maxmemory":         {get: func(s *Server) string { return strconv.FormatInt(s.cfg.MaxMemory, 10) }},
	"dir":               {get: func(s *Server) string { return s.cfg.DataDir }},
	"databases":         {get: func(s *Server) string { return "1" }},
	"save":              {get: func(s *Server) string { return "" }},
	"hz":                {get: func(s *Server) string { return strconv.Itoa(int(time.Second / s.cfg.ActiveExpireInterval)) }},
	"shoal-shard":       {get: func(s *Server) string { return s.cfg.Shard }},
	"snapshot-log-size": {get: func(s *Server) string { return strconv.FormatInt(s.cfg.SnapshotLogSize, 10) }},
}

// ParseMemory parses a Redis-style memory size ("100", "512mb", "1gb",
// "64k") as Redis's memtoull does.
func ParseMemory(v string) (int64, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			mult = u.m
			v = strings.TrimSuffix(v, u.suffix)
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	return n * mult, nil
}

func cmdConfig(c *conn, args [][]byte) {
	s := c.s
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "get" && len(args) >= 3:
		seen := map[string]bool{}
		var names []string
		for _, pat := range args[2:] {
			for name := range configParams {
				if !seen[name] && proto.GlobMatch([]byte(strings.ToLower(string(pat))), []byte(name), true) {
					seen[name] = true
					names = append(names, name)
				}
			}
		}
		sort.Strings(names)
		c.array(2 * len(names))
		for _, n := range names {
			c.bulkString(n)
			c.bulkString(configParams[n].get(s))
		}
	case sub == "set" && len(args) >= 4 && len(args)%2 == 0:
		for i := 2; i < len(args); i += 2 {
			name := strings.ToLower(string(args[i]))
			p, ok := configParams[name]
			if !ok {
				c.err("ERR Unknown option or number of arguments for CONFIG SET - '" + string(args[i]) + "'")
				return
			}
			if p.set == nil {
				c.err("ERR CONFIG SET failed (possibly related to argument '" + string(args[i]) + "') - can't set immutable config")
				return
			}
		}
		for i := 2; i < len(args); i += 2 {
			name := strings.ToLower(string(args[i]))
			if err := configParams[name].set(s, string(args[i+1])); err != nil {
				c.err("ERR CONFIG SET failed (possibly related to argument '" + string(args[i]) + "') - " + err.Error())
				return
			}
		}
		c.ok()
	case sub == "resetstat" && len(args) == 2:
		s.stats.commandsProcessed.Store(0)
		s.conns.ResetStats()
		s.stats.netOutput.Store(0)
		s.resetReplStats() // replication lag percentiles
		c.ok()
	case sub == "help" && len(args) == 2:
		help := []string{
			"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
			"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
			"RESETSTAT", "    Reset statistics reported by the INFO command.",
			"HELP", "    Print this help.",
		}
		c.out = respserver.AppendHelp(c.out, help)
	default:
		c.err(respserver.ErrSubcommand("CONFIG", args[1]))
	}
}
