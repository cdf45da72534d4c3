package repl

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-kv/shoal/wal"
)

// Log is the master's log as the sender reads it. *wal.Log implements it.
// Its methods must be safe for concurrent use.
type Log interface {
	FirstIndex() uint64
	LastIndex() uint64
	Read(index uint64) (wal.Record, error)
	ReadFrom(index uint64, maxRecords int) ([]wal.Record, error)
	Notify() <-chan struct{}
	WaitDurable(ctx context.Context, index uint64) error
}

// Snapshotter gives a consistent image of the master's store for a replica
// whose records were truncated away (or who must start over).
type Snapshotter interface {
	// BeginSnapshot fixes the store's state as of log index Index(): every
	// record up to it applied, none after. It may block while another
	// snapshot runs.
	BeginSnapshot() (Snapshot, error)
}

// Snapshot is an image being produced; the master calls Next until done,
// then Close, from one goroutine. The owner's clients must keep being
// served meanwhile (the store's copy-on-write snapshot does this).
type Snapshot interface {
	Index() uint64
	Epoch() uint64
	// Next appends the next chunk of the image to dst.
	Next(dst []byte) (out []byte, done bool)
	Close()
}

// MasterConfig configures a Master. Zero durations mean the defaults.
type MasterConfig struct {
	Log       Log
	Snapshots Snapshotter
	// Epoch returns the master's current epoch (told to replicas).
	Epoch func() uint64
	// Logger receives the master's logs; nil discards them.
	Logger *slog.Logger
	// HeartbeatInterval: an idle master sends +PING this often. Default 1 s.
	HeartbeatInterval time.Duration
	// Timeout: a replica silent (no ACK) this long is dropped, and a write
	// to a replica blocked this long fails. Default 10 s.
	Timeout time.Duration
	// MaxBatchBytes bounds one write of records. Default 1 MiB.
	MaxBatchBytes int
}

// Defaults for zero config fields.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultTimeout           = 10 * time.Second
	DefaultMaxBatchBytes     = 1 << 20
	DefaultAckInterval       = 100 * time.Millisecond
)

// Master serves replicas from its log. Its methods are safe for concurrent
// use.
type Master struct {
	cfg MasterConfig
	log *slog.Logger

	mu        sync.Mutex
	followers []*follower // by id
	nextID    int
	acked     chan struct{} // closed and replaced on every acknowledgement

	clock   atomic.Pointer[writeClock]
	lag     histogram // write → acknowledged as applied
	sendLag histogram // write → handed to the socket

	syncFull, syncPartial, syncTruncate atomic.Int64
}

// follower is one connected replica, as the master sees it.
type follower struct {
	id      int
	ip      string
	port    int
	conn    net.Conn
	online  atomic.Bool
	acked   atomic.Uint64
	logged  atomic.Uint64
	lastAck atomic.Int64 // Unix nanoseconds
	lagFrom uint64       // records after it count for lag (ack goroutine only)
}

// FollowerInfo describes a connected replica (INFO, ROLE).
type FollowerInfo struct {
	IP   string
	Port int
	// State is Redis's: "send_bulk" while a snapshot is sent, then "online".
	State   string
	Acked   uint64 // last index it applied
	Logged  uint64 // last index durable in its own log
	LastAck time.Time
}

// MasterStats are counters since start (INFO).
type MasterStats struct {
	SyncFull     int64 // snapshots sent (Redis: sync_full)
	SyncPartial  int64 // syncs served from the log (sync_partial_ok)
	SyncTruncate int64 // replicas told to discard a divergent suffix
}

// NewMaster returns a master streaming cfg.Log.
func NewMaster(cfg MasterConfig) *Master {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.Epoch == nil {
		cfg.Epoch = func() uint64 { return 0 }
	}
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Master{cfg: cfg, log: l, acked: make(chan struct{})}
}

// CommandReader reads the replica's commands (ACKs) from its connection;
// *proto.Reader implements it.
type CommandReader interface {
	ReadCommand() ([][]byte, error)
}

// plan is the master's answer to a SYNC.
type plan struct {
	kind  string // wordContinue, wordTruncate or wordFullSync
	index uint64 // CONTINUE: next index; TRUNCATE: index to keep
}

// decide compares the replica's position with the log (see the package
// doc's protocol).
func (m *Master) decide(req SyncRequest) plan {
	lg := m.cfg.Log
	first, last := lg.FirstIndex(), lg.LastIndex()
	have := req.Next - 1 // the replica's last record
	switch {
	case have == 0:
		if first == 1 {
			return plan{kind: wordContinue, index: 1}
		}
		return plan{kind: wordFullSync}
	case have < first:
		// Compacted away: nothing to compare with, and the snapshot
		// replaces the replica's records up to it whatever they were.
		return plan{kind: wordFullSync}
	case have <= last:
		r, err := lg.Read(have)
		if err != nil {
			return plan{kind: wordFullSync}
		}
		if r.Epoch == req.LastEpoch {
			return plan{kind: wordContinue, index: req.Next}
		}
		return plan{kind: wordTruncate, index: m.epochEnd(req.LastEpoch, first, have-1)}
	default:
		return plan{kind: wordTruncate, index: m.epochEnd(req.LastEpoch, first, last)}
	}
}

// epochEnd returns the last index in [lo, hi] whose record has an epoch at
// most epoch (epochs never decrease along a log), or lo-1 if there is none.
// The replica's records after it cannot be the master's: those have a
// higher epoch.
func (m *Master) epochEnd(epoch, lo, hi uint64) uint64 {
	ans := lo - 1
	for lo <= hi {
		mid := lo + (hi-lo)/2
		r, err := m.cfg.Log.Read(mid)
		if err != nil {
			return ans // compacted meanwhile: truncating more is safe
		}
		if r.Epoch <= epoch {
			ans, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	return ans
}

// ServeSync answers a replica's SHOAL SYNC on nc, whose commands rd reads.
// For a TRUNCATE it writes the answer and returns keep=true: the connection
// goes back to its owner, and the replica sends SYNC again. Otherwise it
// streams (a snapshot first if needed, then records as they are written)
// until the replica goes away, the connection fails or the master drops
// it, then closes nc and returns keep=false with the reason.
func (m *Master) ServeSync(nc net.Conn, rd CommandReader, req SyncRequest) (keep bool, err error) {
	p := m.decide(req)
	epoch := m.cfg.Epoch()
	ip, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
	if p.kind == wordTruncate {
		m.syncTruncate.Add(1)
		m.log.Info("replica has a divergent suffix: telling it to truncate", "replica", ip, "port", req.Port,
			"replica_next", req.Next, "replica_epoch", req.LastEpoch, "keep_up_to", p.index)
		nc.SetWriteDeadline(time.Now().Add(m.cfg.Timeout))
		_, err := nc.Write(fmt.Appendf(nil, "+%s %d %d\r\n", wordTruncate, p.index, epoch))
		nc.SetWriteDeadline(time.Time{})
		return err == nil, err
	}
	f := &follower{ip: ip, port: req.Port, conn: nc}
	f.acked.Store(req.Next - 1)
	f.lastAck.Store(time.Now().UnixNano())
	m.register(f)
	defer m.unregister(f)
	defer nc.Close()

	done := make(chan struct{})
	ackErr := make(chan error, 1)
	go func() {
		ackErr <- m.readAcks(f, nc, rd)
		close(done)
	}()
	next := p.index
	if p.kind == wordFullSync {
		m.syncFull.Add(1)
		next, err = m.sendSnapshot(nc, done, epoch)
	} else {
		m.syncPartial.Add(1)
		m.log.Info("replica resumes from the log", "replica", ip, "port", req.Port, "next", next)
		err = m.write(nc, fmt.Appendf(nil, "+%s %d %d\r\n", wordContinue, next, epoch))
	}
	if err == nil {
		f.lagFrom = next - 1
		f.online.Store(true)
		m.notifyAck()
		err = m.stream(nc, next, done)
	}
	nc.Close()
	<-done
	if aerr := <-ackErr; err == nil || errors.Is(err, errReplicaGone) {
		err = aerr
	}
	m.log.Info("replica disconnected", "replica", ip, "port", req.Port, "err", err)
	return false, err
}

var errReplicaGone = errors.New("repl: replica connection closed")

func (m *Master) write(nc net.Conn, b []byte) error {
	nc.SetWriteDeadline(time.Now().Add(m.cfg.Timeout))
	_, err := nc.Write(b)
	return err
}

// sendSnapshot sends FULLSYNC, the snapshot and SNAPEND, and returns the
// index the records continue from.
func (m *Master) sendSnapshot(nc net.Conn, done <-chan struct{}, epoch uint64) (uint64, error) {
	start := time.Now()
	sn, err := m.cfg.Snapshots.BeginSnapshot()
	if err != nil {
		return 0, fmt.Errorf("repl: snapshot for a replica: %w", err)
	}
	defer sn.Close()
	index := sn.Index()
	if index > 0 {
		// Hand out only what the master itself keeps across a crash.
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-done:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := m.cfg.Log.WaitDurable(ctx, index)
		cancel()
		if err != nil {
			return 0, err
		}
	}
	m.log.Info("sending a snapshot to a replica", "replica", nc.RemoteAddr().String(), "index", index)
	if err := m.write(nc, fmt.Appendf(nil, "+%s %d %d %d\r\n", wordFullSync, index, sn.Epoch(), epoch)); err != nil {
		return 0, err
	}
	crc := crc32.New(castagnoli)
	var total int64
	var chunk, frame []byte
	for finished := false; !finished; {
		select {
		case <-done:
			return 0, errReplicaGone
		default:
		}
		chunk, finished = sn.Next(chunk[:0])
		if len(chunk) == 0 {
			continue
		}
		crc.Write(chunk)
		total += int64(len(chunk))
		frame = append(frame[:0], '$')
		frame = strconv.AppendInt(frame, int64(len(chunk)), 10)
		frame = append(frame, '\r', '\n')
		frame = append(frame, chunk...)
		frame = append(frame, '\r', '\n')
		if err := m.write(nc, frame); err != nil {
			return 0, err
		}
	}
	if err := m.write(nc, fmt.Appendf(nil, "+%s %d %d\r\n", wordSnapEnd, total, crc.Sum32())); err != nil {
		return 0, err
	}
	m.log.Info("snapshot sent to a replica", "replica", nc.RemoteAddr().String(), "index", index,
		"bytes", total, "took", time.Since(start).Round(time.Millisecond))
	return index + 1, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errLogRewound: the log was truncated back or reset under a streaming
// replica; it must resync to find the common history again.
var errLogRewound = errors.New("repl: the log moved back under a streaming replica")

// stream sends records from next as they become durable, until done closes
// or a write fails.
func (m *Master) stream(nc net.Conn, next uint64, done <-chan struct{}) error {
	lg := m.cfg.Log
	hb := time.NewTicker(m.cfg.HeartbeatInterval)
	defer hb.Stop()
	wrote := false
	var buf []byte
	for {
		notify := lg.Notify()
		recs, err := lg.ReadFrom(next, 4096)
		if err != nil {
			if errors.Is(err, wal.ErrCompacted) {
				return fmt.Errorf("repl: records from %d were compacted before they were sent: %w", next, err)
			}
			if errors.Is(err, wal.ErrUnavailable) {
				return errLogRewound
			}
			return err
		}
		if len(recs) == 0 {
			if next > lg.LastIndex()+1 {
				return errLogRewound
			}
			select {
			case <-notify:
			case <-hb.C:
				if !wrote {
					if err := m.write(nc, []byte("+"+wordPing+"\r\n")); err != nil {
						return err
					}
				}
				wrote = false
			case <-done:
				return errReplicaGone
			}
			continue
		}
		buf = buf[:0]
		first := next
		for _, r := range recs {
			buf = appendRecordFrame(buf, r)
			next = r.Index + 1
			if len(buf) >= m.cfg.MaxBatchBytes {
				break
			}
		}
		if err := m.write(nc, buf); err != nil {
			return err
		}
		m.noteSent(first, next-1)
		wrote = true
		if cap(buf) > 4*m.cfg.MaxBatchBytes {
			buf = nil
		}
	}
}

// readAcks reads the replica's acknowledgements until the connection fails
// or the replica stays silent for Timeout.
func (m *Master) readAcks(f *follower, nc net.Conn, rd CommandReader) error {
	for {
		nc.SetReadDeadline(time.Now().Add(m.cfg.Timeout))
		args, err := rd.ReadCommand()
		if err != nil {
			return err
		}
		a, err := parseAck(args)
		if err != nil {
			return err
		}
		m.ack(f, a)
	}
}

func (m *Master) ack(f *follower, a ack) {
	applied, logged := a.applied, a.logged
	now := time.Now()
	// Acks come from two goroutines of the replica (after each batch and
	// on a timer), so an older one may arrive last: keep the highest.
	prev := f.acked.Load()
	if applied > prev {
		f.acked.Store(applied)
	}
	if logged > f.logged.Load() {
		f.logged.Store(logged)
	}
	f.lastAck.Store(now.UnixNano())
	if c := m.clock.Load(); c != nil && f.online.Load() && applied > prev {
		from := max(prev, f.lagFrom) + 1
		// The replica's apply time when its clock is plausible on ours (one
		// machine, or synchronized clocks); else the ack's arrival, which
		// adds the ack's trip and this side's scheduling.
		nowNs := now.UnixNano()
		if t, ok := c.lookup(applied); ok && a.appliedAt >= t && a.appliedAt <= nowNs {
			nowNs = a.appliedAt
		}
		m.lag.mu.Lock()
		if applied >= from && applied-from >= writeClockSize {
			m.lag.lost += int64(applied - from + 1 - writeClockSize)
			from = applied - writeClockSize + 1
		}
		for i := from; i <= applied && i >= from; i++ {
			if t, ok := c.lookup(i); ok {
				m.lag.add(max(nowNs-t, 0) / 1000)
			} else {
				m.lag.lost++
			}
		}
		m.lag.mu.Unlock()
	}
	m.notifyAck()
}

// noteSent records the send lag of records from..to.
func (m *Master) noteSent(from, to uint64) {
	c := m.clock.Load()
	if c == nil {
		return
	}
	now := time.Now().UnixNano()
	m.sendLag.mu.Lock()
	defer m.sendLag.mu.Unlock()
	for i := from; i <= to; i++ {
		if t, ok := c.lookup(i); ok {
			m.sendLag.add((now - t) / 1000)
		} else {
			m.sendLag.lost++
		}
	}
}

func (m *Master) notifyAck() {
	m.mu.Lock()
	close(m.acked)
	m.acked = make(chan struct{})
	m.mu.Unlock()
}

func (m *Master) register(f *follower) {
	if m.clock.Load() == nil {
		m.clock.CompareAndSwap(nil, new(writeClock))
	}
	m.mu.Lock()
	m.nextID++
	f.id = m.nextID
	m.followers = append(m.followers, f)
	m.mu.Unlock()
}

func (m *Master) unregister(f *follower) {
	m.mu.Lock()
	m.followers = slices.DeleteFunc(m.followers, func(g *follower) bool { return g == f })
	close(m.acked)
	m.acked = make(chan struct{})
	m.mu.Unlock()
}

// NoteWrite records when the master wrote record index (for the lag
// statistics). Call it from one goroutine, in index order.
func (m *Master) NoteWrite(index uint64) {
	if c := m.clock.Load(); c != nil {
		c.note(index, time.Now().UnixNano())
	}
}

// Followers describes the connected replicas, in connection order.
func (m *Master) Followers() []FollowerInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]FollowerInfo, 0, len(m.followers))
	for _, f := range m.followers {
		st := "send_bulk"
		if f.online.Load() {
			st = "online"
		}
		out = append(out, FollowerInfo{IP: f.ip, Port: f.port, State: st, Acked: f.acked.Load(),
			Logged: f.logged.Load(), LastAck: time.Unix(0, f.lastAck.Load())})
	}
	return out
}

// countLocked counts online replicas that acknowledged index. m.mu held.
func (m *Master) countLocked(index uint64) int {
	n := 0
	for _, f := range m.followers {
		if f.online.Load() && f.acked.Load() >= index {
			n++
		}
	}
	return n
}

// WaitAck blocks until n replicas acknowledged index or ctx ends, and
// returns how many had (WAIT).
func (m *Master) WaitAck(ctx context.Context, index uint64, n int) int {
	for {
		m.mu.Lock()
		ch, got := m.acked, m.countLocked(index)
		m.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-ch:
		case <-ctx.Done():
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.countLocked(index)
		}
	}
}

// GoodReplicas counts online replicas that acknowledged within maxLag
// (min-replicas-max-lag).
func (m *Master) GoodReplicas(maxLag time.Duration) int {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, f := range m.followers {
		if f.online.Load() && now-f.lastAck.Load() <= int64(maxLag) {
			n++
		}
	}
	return n
}

// DropAll disconnects every replica (the log was truncated back or reset
// under them: they must resync to find the common history).
func (m *Master) DropAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.followers {
		f.conn.Close()
	}
}

// Stats returns the sync counters.
func (m *Master) Stats() MasterStats {
	return MasterStats{SyncFull: m.syncFull.Load(), SyncPartial: m.syncPartial.Load(), SyncTruncate: m.syncTruncate.Load()}
}

// Lag returns the replication lag statistics since the last ResetLag:
// from the master's write of each record to a replica's acknowledgement
// that it applied it.
func (m *Master) Lag() LagStats { return m.lag.stats() }

// SendLag is the part of Lag up to the moment the record was written to
// the replica's socket (the rest is the network, the replica's apply and
// its acknowledgement).
func (m *Master) SendLag() LagStats { return m.sendLag.stats() }

// ResetLag clears the lag statistics.
func (m *Master) ResetLag() {
	m.lag.reset()
	m.sendLag.reset()
}

// Acked returns how many online replicas acknowledged index.
func (m *Master) Acked(index uint64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.countLocked(index)
}
