package shardd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd/repl"
	"github.com/shoal-kv/shoal/shardd/store"
)

func init() {
	serverCommands["shoal"] = cmdShoal
	serverCommands["replicaof"] = cmdReplicaof
	serverCommands["slaveof"] = cmdReplicaof
	configParams["min-replicas-to-write"] = configParam{
		get: func(s *Server) string { return strconv.FormatInt(s.repl.minReplicas.Load(), 10) },
		set: func(s *Server, v string) error {
			n, ok := store.ParseInt([]byte(v))
			if !ok || n < 0 || n > 1<<31-1 {
				return fmt.Errorf("argument couldn't be parsed into an integer")
			}
			s.repl.minReplicas.Store(n)
			return nil
		},
	}
	configParams["min-replicas-max-lag"] = configParam{
		get: func(s *Server) string { return formatLag(time.Duration(s.repl.minLag.Load())) },
		set: func(s *Server, v string) error {
			d, err := parseLag(v)
			if err != nil {
				return err
			}
			s.repl.minLag.Store(int64(d))
			return nil
		},
	}
	configParams["min-slaves-to-write"] = configParams["min-replicas-to-write"]
	configParams["min-slaves-max-lag"] = configParams["min-replicas-max-lag"]
	configParams["replicaof"] = configParam{get: func(s *Server) string {
		host, port, err := net.SplitHostPort(*s.repl.masterAddr.Load())
		if err != nil {
			return ""
		}
		return host + " " + port
	}}
}

// formatLag renders min-replicas-max-lag for CONFIG GET: whole seconds as
// Redis does, a Go duration ("500ms") when it has a fraction of a second.
func formatLag(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	return d.String()
}

// parseLag parses min-replicas-max-lag for CONFIG SET: an integer is
// seconds (Redis), anything else a Go duration ("500ms").
func parseLag(v string) (time.Duration, error) {
	if n, ok := store.ParseInt([]byte(v)); ok {
		if n < 0 || n > 1<<31-1 {
			return 0, fmt.Errorf("argument must be between 0 and 2147483647 seconds")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("argument couldn't be parsed into seconds or a duration")
	}
	return d, nil
}

// shoalArity is each SHOAL subcommand's exact argument count.
var shoalArity = map[string]int{"sync": 5, "ack": 4, "promote": 3, "follow": 5, "retain": 3, "map": 2, "leader": 2, "help": 2}

// shoalHelp is SHOAL HELP's answer.
const errNoControlPlane = "ERR no cluster map: this node runs no control plane (start it with --raft)"

var shoalHelp = []string{
	"SHOAL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"PROMOTE <epoch>", "    Become master at exactly <epoch> (refused with -STALEEPOCH below the known epoch).",
	"FOLLOW <host> <port> <epoch>", "    Replicate from host:port; a master of an older epoch steps down.",
	"RETAIN <index>", "    Never truncate the log's front past <index> (0: no floor).",
	"MAP", "    Return the cluster map: [shard, master node, master address, epoch] per shard.",
	"LEADER", "    Return the control plane's leader as this node knows it: [node name, raft address], or nil.",
	"SYNC <next-index> <last-epoch> <listening-port>", "    Start a replication stream (replicas send it).",
	"ACK <applied-index> <logged-index> [<applied-at>]", "    Acknowledge records on a replication stream.",
	"HELP", "    Print this help.",
}

// cmdShoal answers SHOAL: the replication protocol (SYNC turns the
// connection into a stream; ACK is only valid on one), the control plane's
// orders (PROMOTE, FOLLOW, RETAIN), the cluster map and HELP.
func cmdShoal(c *conn, args [][]byte) {
	s := c.s
	sub := strings.ToLower(string(args[1]))
	if n, ok := shoalArity[sub]; ok && len(args) != n {
		c.err(proto.ErrWrongArity("shoal|" + sub))
		return
	}
	if c.execing && (sub == "promote" || sub == "follow") {
		c.err("ERR Command not allowed inside a transaction")
		return
	}
	switch sub {
	case "sync":
		if s.repl.master == nil {
			c.err("ERR this node is diskless: it has no log to replicate from")
			return
		}
		if c.execing || c.psMode {
			c.err("ERR SHOAL SYNC is not allowed in this context")
			return
		}
		req, err := repl.ParseSync(args)
		if err != nil {
			c.err("ERR " + err.Error())
			return
		}
		if !c.flush() {
			c.quit = true
			return
		}
		keep, err := s.repl.master.ServeSync(c.nc, c.rd, req)
		if !keep {
			if err != nil {
				s.log.Debug("replica stream ended", "client", c.ID, "err", err)
			}
			c.quit = true
		}
	case "ack":
		c.err("ERR SHOAL ACK is only valid on a replication stream")
	case "promote":
		epoch, ok := parseEpoch(args[2])
		if !ok {
			c.err(errBadEpoch)
			return
		}
		c.orderResult(s.becomeMaster(epoch), "promoting")
	case "follow":
		addr, ok := masterAddr(args[2], args[3])
		if !ok {
			c.err("ERR Invalid master port")
			return
		}
		epoch, ok := parseEpoch(args[4])
		if !ok {
			c.err(errBadEpoch)
			return
		}
		if addr == s.cfg.RESPAddr || (s.Addr() != nil && addr == s.Addr().String()) {
			c.err("ERR a node cannot follow itself")
			return
		}
		_, err := s.followMaster(addr, epoch)
		c.orderResult(err, "following")
	case "retain":
		idx, ok := store.ParseInt(args[2])
		if !ok || idx < 0 {
			c.err("ERR value is not an integer or out of range")
			return
		}
		s.repl.retain.Store(uint64(idx))
		c.ok()
	case "leader":
		src := s.mapSource.Load()
		if src == nil {
			c.err(errNoControlPlane)
			return
		}
		id, addr := (*src).Leader()
		if id == "" {
			c.nullArray()
			return
		}
		c.array(2)
		c.bulkString(id)
		c.bulkString(addr)
	case "map":
		src := s.mapSource.Load()
		if src == nil {
			c.err(errNoControlPlane)
			return
		}
		before := len(c.out)
		out, err := (*src).AppendMap(c.out)
		if err != nil {
			c.out = c.out[:before]
			c.err("ERR cluster map: " + err.Error())
			return
		}
		c.out = out
	case "help":
		c.out = respserver.AppendHelp(c.out, shoalHelp)
	default:
		c.err(fmt.Sprintf("ERR unknown subcommand '%s'. Try SHOAL HELP.", args[1]))
	}
}

const errBadEpoch = "ERR epoch is not a positive integer"

// parseEpoch parses an order's epoch (epochs start at 1).
func parseEpoch(b []byte) (uint64, bool) {
	n, err := strconv.ParseUint(string(b), 10, 64)
	return n, err == nil && n > 0
}

// masterAddr joins a host and a port argument, checking the port.
func masterAddr(host, port []byte) (string, bool) {
	p, ok := store.ParseInt(port)
	if !ok || p < 0 || p > 65535 {
		return "", false
	}
	return net.JoinHostPort(string(host), strconv.FormatInt(p, 10)), true
}

// orderResult answers an order: +OK, -STALEEPOCH, or -ERR.
func (c *conn) orderResult(err error, doing string) {
	var stale *StaleEpochError
	switch {
	case err == nil:
		c.ok()
	case errors.As(err, &stale):
		c.err("STALEEPOCH " + stale.Error())
	default:
		c.err("ERR " + doing + ": " + err.Error())
	}
}

// cmdReplicaof answers REPLICAOF host port | NO ONE (and SLAVEOF).
func cmdReplicaof(c *conn, args [][]byte) {
	s := c.s
	if c.execing {
		c.err("ERR Command not allowed inside a transaction")
		return
	}
	if eqFold(args[1], "no") && eqFold(args[2], "one") {
		if err := s.becomeMaster(0); err != nil {
			c.err("ERR promoting: " + err.Error())
			return
		}
		c.ok()
		return
	}
	addr, ok := masterAddr(args[1], args[2])
	if !ok {
		c.err("ERR Invalid master port")
		return
	}
	already, err := s.followMaster(addr, 0)
	switch {
	case err != nil:
		c.err("ERR following: " + err.Error())
	case already:
		c.status("OK Already connected to specified master")
	default:
		c.ok()
	}
}

// cmdWait answers WAIT numreplicas timeout: the number of replicas that
// acknowledged this connection's writes (all writes so far when it made
// none), waiting up to timeout ms (0: forever) for numreplicas of them.
func cmdWait(c *conn, args [][]byte) {
	s := c.s
	n, ok := store.ParseInt(args[1])
	if !ok {
		c.err("ERR value is not an integer or out of range")
		return
	}
	t, ok := store.ParseInt(args[2])
	if !ok {
		c.err("ERR timeout is not an integer or out of range")
		return
	}
	if t < 0 {
		c.err("ERR timeout is negative")
		return
	}
	if s.isReplica() {
		c.err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	m := s.repl.master
	if m == nil { // diskless: nothing replicates from here
		if n > 0 && t > 0 && !c.execing {
			select {
			case <-time.After(time.Duration(t) * time.Millisecond):
			case <-c.done:
			case <-s.quit:
			}
		}
		c.int(0)
		return
	}
	target := max(c.lastWrite, c.durable)
	if target == 0 {
		// A connection that never wrote waits for everything written so
		// far (Redis would answer at once): a frontend's WAIT travels on a
		// connection of its own, apart from the writes it follows.
		c.lock()
		target = s.appliedIndexLocked()
		c.unlock()
	}
	if c.execing || n <= 0 {
		c.int(int64(m.Acked(target)))
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if t > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(t)*time.Millisecond)
		defer cancel()
	}
	stop := c.watchClose()
	go func() {
		select {
		case <-c.done:
		case <-s.quit:
		case <-ctx.Done():
		}
		cancel()
	}()
	got := m.WaitAck(ctx, target, int(n))
	stop()
	c.int(int64(got))
}

// cmdRole answers ROLE in Redis's shapes.
func cmdRole(c *conn, args [][]byte) {
	s := c.s
	c.lock()
	off := s.offset()
	c.unlock()
	if st, ok := s.replicaStatus(); ok {
		host, port := splitHostPort(st.MasterAddr)
		c.array(5)
		c.bulkString("slave")
		c.bulkString(host)
		c.int(int64(port))
		c.bulkString(st.State)
		c.int(int64(off))
		return
	}
	var fs []repl.FollowerInfo
	if s.repl.master != nil {
		fs = s.repl.master.Followers()
	}
	c.array(3)
	c.bulkString("master")
	c.int(int64(off))
	c.array(len(fs))
	for _, f := range fs {
		c.array(3)
		c.bulkString(f.IP)
		c.bulkString(strconv.Itoa(f.Port))
		c.bulkString(strconv.FormatUint(f.Acked, 10))
	}
}

func splitHostPort(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// offset is the replication offset: the index of the last record in this
// node's state (durable in the log on a master; applied on a replica).
func (s *Server) offset() uint64 {
	switch {
	case s.isReplica():
		return s.appliedIndexLocked()
	case s.wal != nil:
		return s.wal.LastIndex()
	}
	return uint64(s.dirty.Load())
}

// roleName is what HELLO answers.
func (s *Server) roleName() string {
	if s.isReplica() {
		return "replica"
	}
	return "master"
}

// writeReplicationInfo writes INFO's replication section.
func (s *Server) writeReplicationInfo(c *conn, kv func(string, any)) {
	c.lock()
	off := s.offset()
	epoch, known := s.epoch, s.knownEpochLocked()
	first := uint64(0)
	if s.wal != nil {
		first = s.wal.FirstIndex()
	}
	c.unlock()
	st, isReplica := s.replicaStatus()
	if isReplica {
		host, port := splitHostPort(st.MasterAddr)
		kv("role", "slave")
		kv("master_host", host)
		kv("master_port", port)
		link := "down"
		if st.LinkUp {
			link = "up"
		}
		kv("master_link_status", link)
		io := int64(-1)
		if !st.LastIO.IsZero() {
			io = int64(time.Since(st.LastIO).Seconds())
		}
		kv("master_last_io_seconds_ago", io)
		kv("master_sync_in_progress", b2i(st.SyncInProgress))
		kv("slave_read_repl_offset", off)
		kv("slave_repl_offset", off)
		kv("slave_priority", 100)
		kv("slave_read_only", 1)
		kv("replica_announced", 1)
	} else {
		kv("role", "master")
	}
	var fs []repl.FollowerInfo
	if s.repl.master != nil {
		fs = s.repl.master.Followers()
	}
	kv("connected_slaves", len(fs))
	if n := s.repl.minReplicas.Load(); n > 0 && !isReplica && s.repl.master != nil {
		kv("min_slaves_good_slaves", s.repl.master.GoodReplicas(time.Duration(s.repl.minLag.Load())))
	}
	now := time.Now()
	for i, f := range fs {
		kv(fmt.Sprintf("slave%d", i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d",
			f.IP, f.Port, f.State, f.Acked, int64(now.Sub(f.LastAck).Seconds())))
	}
	kv("master_failover_state", "no-failover")
	kv("master_repl_offset", off)
	kv("second_repl_offset", -1)
	kv("repl_backlog_active", b2i(s.wal != nil))
	if s.wal != nil {
		kv("repl_backlog_first_byte_offset", first)
		kv("repl_backlog_histlen", off+1-min(first, off+1))
	}
	kv("shoal_shard", s.cfg.Shard)
	kv("shoal_epoch", epoch)
	kv("shoal_known_epoch", known)
	if f := s.repl.retain.Load(); f > 0 {
		kv("shoal_retain_floor", f)
	}
	if isReplica {
		kv("shoal_sync_full_received", st.FullSyncs)
		kv("shoal_sync_partial_received", st.PartialSyncs)
		kv("shoal_sync_truncations", st.Truncates)
		kv("shoal_master_connects", st.Connects)
		if lag, ok := s.replicaApplyLag(); ok {
			kv("shoal_apply_lag_samples", lag.Samples)
			kv("shoal_apply_lag_p50_ms", lag.P50.Milliseconds())
			kv("shoal_apply_lag_p99_ms", lag.P99.Milliseconds())
			kv("shoal_apply_lag_max_ms", lag.Max.Milliseconds())
		}
	}
	if m := s.repl.master; m != nil {
		ms := m.Stats()
		kv("shoal_sync_full", ms.SyncFull)
		kv("shoal_sync_partial_ok", ms.SyncPartial)
		kv("shoal_sync_truncate", ms.SyncTruncate)
		lag := m.Lag()
		kv("shoal_repl_lag_samples", lag.Samples)
		kv("shoal_repl_lag_p50_us", lag.P50.Microseconds())
		kv("shoal_repl_lag_p99_us", lag.P99.Microseconds())
		kv("shoal_repl_lag_max_us", lag.Max.Microseconds())
		kv("shoal_repl_lag_lost", lag.Lost)
		send := m.SendLag()
		kv("shoal_repl_send_lag_p50_us", send.P50.Microseconds())
		kv("shoal_repl_send_lag_p99_us", send.P99.Microseconds())
	}
	if kc := s.repl.cache; kc != nil {
		c.lock()
		complete, tombs := kc.complete, len(kc.tombs)
		c.unlock()
		kv("shoal_cached", 1)
		kv("shoal_cache_max_cost", kc.c.MaxCost())
		kv("shoal_cache_used_cost", kc.c.MaxCost()-kc.c.RemainingCost())
		kv("shoal_cache_complete", b2i(complete))
		kv("shoal_cache_tombstones", tombs)
		kv("shoal_cache_evicted", kc.evicted.Load())
		kv("shoal_cache_rejected", kc.rejected.Load())
		kv("shoal_cache_dropped", kc.dropped.Load())
		kv("shoal_cache_notcached_replies", kc.notCached.Load())
	}
}
