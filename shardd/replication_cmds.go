package shardd

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

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
		get: func(s *Server) string { return strconv.FormatInt(s.repl.minLagSecs.Load(), 10) },
		set: func(s *Server, v string) error {
			n, ok := store.ParseInt([]byte(v))
			if !ok || n < 0 || n > 1<<31-1 {
				return fmt.Errorf("argument couldn't be parsed into an integer")
			}
			s.repl.minLagSecs.Store(n)
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

// cmdShoal answers SHOAL SYNC (a replica taking over the connection) and
// SHOAL ACK outside a replication stream.
func cmdShoal(c *conn, args [][]byte) {
	s := c.s
	sub := strings.ToLower(string(args[1]))
	if n, ok := map[string]int{"sync": 5, "ack": 4}[sub]; ok && len(args) != n {
		c.err(proto.ErrWrongArity("shoal|" + sub))
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
				s.log.Debug("replica stream ended", "client", c.id, "err", err)
			}
			c.quit = true
		}
	case "ack":
		c.err("ERR SHOAL ACK is only valid on a replication stream")
	default:
		c.err(fmt.Sprintf("ERR unknown subcommand '%s'. Try SHOAL HELP.", args[1]))
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
		if err := s.promote(); err != nil {
			c.err("ERR promoting: " + err.Error())
			return
		}
		c.ok()
		return
	}
	port, ok := store.ParseInt(args[2])
	if !ok || port < 0 || port > 65535 {
		c.err("ERR Invalid master port")
		return
	}
	addr := net.JoinHostPort(string(args[1]), strconv.FormatInt(port, 10))
	if *s.repl.masterAddr.Load() == addr {
		c.status("OK Already connected to specified master")
		return
	}
	s.follow(addr)
	c.ok()
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
	epoch := s.epoch
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
		kv("min_slaves_good_slaves", s.repl.master.GoodReplicas(time.Duration(s.repl.minLagSecs.Load())*time.Second))
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
