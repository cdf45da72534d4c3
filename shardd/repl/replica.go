package repl

import (
	"context"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/wal"
)

// Applier is the replica's state as replication drives it; the shard
// server implements it. Replication calls it from one goroutine at a time.
type Applier interface {
	// Position returns the index of the last record applied and its epoch
	// (0, 0 when none).
	Position() (index, epoch uint64)
	// Logged returns the last index durable in the replica's own log (the
	// applied index for a diskless replica).
	Logged() uint64
	// Apply applies consecutive records, the first being Position()+1, and
	// logs them with the same indexes and epochs. Payloads are only valid
	// during the call.
	Apply(recs []wal.Record) error
	// Truncate discards the records after index (a suffix the master does
	// not have), leaving the state as of index, or, when that cannot be
	// rebuilt, discards everything (Position then reports 0).
	Truncate(index uint64) error
	// InstallSnapshot starts replacing the whole state with the master's
	// snapshot at index/epoch; the sink receives the image and Commit
	// installs it (Position then reports index, epoch).
	InstallSnapshot(index, epoch uint64) (SnapshotSink, error)
	// MasterEpoch reports the master's current epoch (a replica promoted
	// later must pick a higher one).
	MasterEpoch(epoch uint64)
}

// SnapshotSink receives a snapshot image.
type SnapshotSink interface {
	Write(p []byte) (int, error)
	// Commit installs the image. Abort discards it (after a failure); the
	// state is then whatever InstallSnapshot left (possibly empty).
	Commit() error
	Abort()
}

// ReplicaConfig configures a Replica. Zero durations mean the defaults.
type ReplicaConfig struct {
	// MasterAddr is the master's RESP address, HOST:PORT. Required.
	MasterAddr string
	// Auth, when set, is sent with AUTH first (the master's requirepass).
	Auth string
	// ListenPort returns the port this node serves clients on (told to the
	// master for INFO and ROLE). nil means 0.
	ListenPort func() int
	// Applier is the replica's state. Required.
	Applier Applier
	// Logger receives the replica's logs; nil discards them.
	Logger *slog.Logger
	// AckInterval: acknowledgements are sent after each batch and at
	// least this often. Default 100 ms.
	AckInterval time.Duration
	// Timeout: the link is considered broken after this long without a
	// byte from the master (it sends heartbeats). Default 10 s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting (it
	// doubles after each failure, with jitter). Defaults 50 ms and 2 s.
	MinBackoff, MaxBackoff time.Duration
	// MaxBatch bounds the records applied (and acknowledged) at once: a
	// record's lag includes the time its whole batch takes. Default 512.
	MaxBatch int
	// MaxBatchBytes bounds the bytes of records applied at once. Default
	// 256 KiB.
	MaxBatchBytes int
	// OnLink, when set, is told when the link to the master breaks
	// (up=false: a session ended, or the master could not be dialed) and
	// when it works again (up=true: the master accepted the SYNC and the
	// snapshot or the records begin). It is not called once Stop has
	// returned (a call racing with Stop may report the disconnection Stop
	// caused). Calls come from the replica's goroutine, in order; OnLink
	// must not block nor call Stop.
	OnLink func(up bool)
}

// Replica follows a master: it connects, syncs, applies the stream and
// acknowledges, reconnecting with backoff until Stop.
type Replica struct {
	cfg      ReplicaConfig
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}
	stopCtx  context.Context // canceled by Stop: ends a dial in progress
	stopDial context.CancelFunc

	connMu  sync.Mutex
	conn    net.Conn
	stopped bool

	state     atomic.Int32
	syncing   atomic.Bool
	lastIO    atomic.Int64 // Unix nanoseconds of the last byte from the master
	applied   atomic.Uint64
	appliedAt atomic.Int64 // when applied was applied (Unix nanoseconds)

	fullSyncs, partialSyncs, truncates, connects atomic.Int64

	// applyLag: the replica's clock when it applied a record minus the
	// master's clock in the record (milliseconds: the record's resolution).
	applyLag histogram
}

// Link states, as Redis's ROLE names them.
const (
	StateConnect    = iota // not connected (waiting to retry)
	StateConnecting        // dialing
	StateSync              // handshake or snapshot transfer
	StateConnected         // streaming
)

var stateNames = [...]string{"connect", "connecting", "sync", "connected"}

// ReplicaStatus describes the link (INFO replication, ROLE).
type ReplicaStatus struct {
	MasterAddr string
	// State is "connect", "connecting", "sync" or "connected".
	State          string
	LinkUp         bool
	SyncInProgress bool
	LastIO         time.Time // zero before the first byte
	// Counters since Start: snapshots received, syncs resumed from the
	// log, truncations of a divergent suffix, connections made.
	FullSyncs, PartialSyncs, Truncates, Connects int64
}

// ApplyLag returns, since the last ResetLag, the time from the master's
// write of each record (its clock, in the record) to this replica's apply
// (its clock), with millisecond resolution. Meaningful when the clocks
// agree (one machine, or NTP within a millisecond).
func (r *Replica) ApplyLag() LagStats { return r.applyLag.stats() }

// ResetLag clears ApplyLag.
func (r *Replica) ResetLag() { r.applyLag.reset() }

// StartReplica starts following cfg.MasterAddr in a goroutine.
func StartReplica(cfg ReplicaConfig) *Replica {
	if cfg.AckInterval <= 0 {
		cfg.AckInterval = DefaultAckInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = 256 << 10
	}
	if cfg.ListenPort == nil {
		cfg.ListenPort = func() int { return 0 }
	}
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	r := &Replica{cfg: cfg, log: l.With("master", cfg.MasterAddr), stop: make(chan struct{}), done: make(chan struct{})}
	r.stopCtx, r.stopDial = context.WithCancel(context.Background())
	go r.run()
	return r
}

// Stop disconnects and waits for the replica's goroutines to end. The
// Applier is not called after Stop returns. Stop is idempotent.
func (r *Replica) Stop() {
	r.connMu.Lock()
	if !r.stopped {
		r.stopped = true
		close(r.stop)
		r.stopDial()
		if r.conn != nil {
			r.conn.Close()
		}
	}
	r.connMu.Unlock()
	<-r.done
}

// Status reports the link's state.
func (r *Replica) Status() ReplicaStatus {
	st := int(r.state.Load())
	s := ReplicaStatus{
		MasterAddr:     r.cfg.MasterAddr,
		State:          stateNames[st],
		LinkUp:         st == StateConnected,
		SyncInProgress: r.syncing.Load(),
		FullSyncs:      r.fullSyncs.Load(),
		PartialSyncs:   r.partialSyncs.Load(),
		Truncates:      r.truncates.Load(),
		Connects:       r.connects.Load(),
	}
	if n := r.lastIO.Load(); n != 0 {
		s.LastIO = time.Unix(0, n)
	}
	return s
}

func (r *Replica) run() {
	defer close(r.done)
	backoff := r.cfg.MinBackoff
	for {
		start := time.Now()
		err := r.session()
		r.state.Store(StateConnect)
		r.syncing.Store(false)
		select {
		case <-r.stop:
			return
		default:
		}
		r.link(false)
		if time.Since(start) > 2*r.cfg.MaxBackoff {
			backoff = r.cfg.MinBackoff // the link worked for a while
		}
		r.log.Warn("replication link down; reconnecting", "err", err, "backoff", backoff)
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-r.stop:
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, r.cfg.MaxBackoff)
	}
}

// link reports the link's state to OnLink.
func (r *Replica) link(up bool) {
	if r.cfg.OnLink != nil {
		r.cfg.OnLink(up)
	}
}

// linkWriter serializes writes on the master connection (acks come from
// two goroutines).
type linkWriter struct {
	mu      sync.Mutex
	nc      net.Conn
	timeout time.Duration
	buf     []byte
}

func (w *linkWriter) ack(a ack) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = appendAck(w.buf[:0], a)
	w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	_, err := w.nc.Write(w.buf)
	return err
}

func (w *linkWriter) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	_, err := w.nc.Write(b)
	return err
}

// dialTimeout bounds connecting to the master (repl-timeout bounds the
// silence of an established link).
const dialTimeout = 2 * time.Second

func (r *Replica) session() error {
	r.state.Store(StateConnecting)
	// A master that died with its address silent (a crashed machine or
	// container, a partition) answers no SYN: the dial must not outlast
	// dialTimeout, nor hold up Stop (a promotion stops the link first).
	ctx, cancel := context.WithTimeout(r.stopCtx, min(r.cfg.Timeout, dialTimeout))
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", r.cfg.MasterAddr)
	cancel()
	if err != nil {
		return err
	}
	r.connMu.Lock()
	if r.stopped {
		r.connMu.Unlock()
		nc.Close()
		return ErrStopped
	}
	r.conn = nc
	r.connMu.Unlock()
	defer nc.Close()
	r.connects.Add(1)
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	lim := proto.DefaultLimits()
	lim.MaxBulkLen = int64(wal.EncodedSize(wal.MaxPayloadSize))
	lim.MaxReplyLen = lim.MaxBulkLen + 64
	rd := proto.NewReaderSize(nc, lim, 256<<10)
	w := &linkWriter{nc: nc, timeout: r.cfg.Timeout}
	var deadlineSet time.Time
	read := func() ([]byte, error) {
		// Moving the deadline costs more than reading a buffered frame:
		// do it before a read that may block, or when it is getting old.
		if now := time.Now(); rd.Buffered() == 0 || now.Sub(deadlineSet) > r.cfg.Timeout/8 {
			nc.SetReadDeadline(now.Add(r.cfg.Timeout))
			deadlineSet = now
		}
		f, err := rd.ReadReply()
		if err == nil {
			r.lastIO.Store(time.Now().UnixNano())
		}
		return f, err
	}
	r.state.Store(StateSync)
	if r.cfg.Auth != "" {
		if err := w.write(proto.AppendCommandStrings(nil, "AUTH", r.cfg.Auth)); err != nil {
			return err
		}
		f, err := read()
		if err != nil {
			return err
		}
		if string(f) != "+OK\r\n" {
			return fmt.Errorf("repl: master refused AUTH: %q", f)
		}
	}
	ap := r.cfg.Applier
	for round := 0; ; round++ {
		if round >= 64 {
			return fmt.Errorf("%w: the master keeps asking to truncate", ErrProtocol)
		}
		idx, epoch := ap.Position()
		req := SyncRequest{Next: idx + 1, LastEpoch: epoch, Port: r.cfg.ListenPort()}
		if err := w.write(appendSync(nil, req)); err != nil {
			return err
		}
		f, err := read()
		if err != nil {
			return err
		}
		if len(f) > 0 && f[0] == '-' {
			return fmt.Errorf("repl: master refused to sync: %s", f[1:len(f)-2])
		}
		words := statusFields(f)
		if len(words) == 0 {
			return fmt.Errorf("%w: unexpected answer to SYNC: %q", ErrProtocol, f)
		}
		nums, err := parseUints(words[1:])
		if err != nil {
			return err
		}
		switch {
		case words[0] == wordTruncate && len(nums) == 2:
			ap.MasterEpoch(nums[1])
			r.truncates.Add(1)
			r.log.Info("discarding records the master does not have", "from", nums[0]+1, "to", idx)
			if err := ap.Truncate(nums[0]); err != nil {
				return fmt.Errorf("repl: truncating to %d: %w", nums[0], err)
			}
			continue
		case words[0] == wordContinue && len(nums) == 2:
			if nums[0] != req.Next {
				return fmt.Errorf("%w: CONTINUE at %d, asked for %d", ErrProtocol, nums[0], req.Next)
			}
			ap.MasterEpoch(nums[1])
			r.link(true)
			r.partialSyncs.Add(1)
			r.applied.Store(idx)
			r.log.Info("resuming from the master's log", "next", req.Next)
			stopAcks := r.startAcks(w)
			defer stopAcks()
			return r.stream(rd, read, w, req.Next)
		case words[0] == wordFullSync && len(nums) == 3:
			ap.MasterEpoch(nums[2])
			r.link(true)
			r.fullSyncs.Add(1)
			r.applied.Store(idx)
			stopAcks := r.startAcks(w)
			defer stopAcks()
			if err := r.receiveSnapshot(read, nums[0], nums[1]); err != nil {
				return err
			}
			return r.stream(rd, read, w, nums[0]+1)
		default:
			return fmt.Errorf("%w: unexpected answer to SYNC: %q", ErrProtocol, f)
		}
	}
}

// startAcks acknowledges the applied index every AckInterval until the
// returned stop is called.
func (r *Replica) startAcks(w *linkWriter) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(r.cfg.AckInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if err := w.ack(ack{applied: r.applied.Load(), logged: r.cfg.Applier.Logged(), appliedAt: r.appliedAt.Load()}); err != nil {
					return
				}
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// receiveSnapshot reads the snapshot chunks into the Applier's sink.
func (r *Replica) receiveSnapshot(read func() ([]byte, error), index, epoch uint64) error {
	r.syncing.Store(true)
	defer r.syncing.Store(false)
	start := time.Now()
	r.log.Info("receiving a snapshot from the master", "index", index)
	sink, err := r.cfg.Applier.InstallSnapshot(index, epoch)
	if err != nil {
		return fmt.Errorf("repl: installing a snapshot: %w", err)
	}
	crc := crc32.New(castagnoli)
	var total uint64
	for {
		f, err := read()
		if err != nil {
			sink.Abort()
			return err
		}
		if b, ok := bulkPayload(f); ok {
			crc.Write(b)
			total += uint64(len(b))
			if _, err := sink.Write(b); err != nil {
				sink.Abort()
				return fmt.Errorf("repl: installing a snapshot: %w", err)
			}
			continue
		}
		words := statusFields(f)
		if len(words) == 3 && words[0] == wordSnapEnd {
			nums, err := parseUints(words[1:])
			if err != nil || nums[0] != total || nums[1] != uint64(crc.Sum32()) {
				sink.Abort()
				return fmt.Errorf("%w: snapshot of %d bytes does not match its trailer %q", ErrProtocol, total, f)
			}
			if err := sink.Commit(); err != nil {
				return fmt.Errorf("repl: installing a snapshot: %w", err)
			}
			r.applied.Store(index)
			r.log.Info("snapshot installed", "index", index, "bytes", total, "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if len(words) == 1 && words[0] == wordPing {
			continue
		}
		sink.Abort()
		return fmt.Errorf("%w: unexpected frame in a snapshot: %q", ErrProtocol, clipFrame(f))
	}
}

func clipFrame(f []byte) []byte {
	if len(f) > 64 {
		return f[:64]
	}
	return f
}

// stream applies records from next as they arrive, acknowledging each batch.
func (r *Replica) stream(rd *proto.Reader, read func() ([]byte, error), w *linkWriter, next uint64) error {
	r.state.Store(StateConnected)
	ap := r.cfg.Applier
	var (
		buf  []byte
		ends []int
		recs []wal.Record
	)
	apply := func() error {
		recs = recs[:0]
		start := 0
		for _, end := range ends {
			rec, err := wal.DecodeRecord(buf[start:end])
			if err != nil {
				return fmt.Errorf("%w: record after %d: %w", ErrProtocol, next-1, err)
			}
			if rec.Index != next+uint64(len(recs)) {
				return fmt.Errorf("%w: record %d arrived, expected %d", ErrProtocol, rec.Index, next+uint64(len(recs)))
			}
			recs = append(recs, rec)
			start = end
		}
		if err := ap.Apply(recs); err != nil {
			return err
		}
		appliedAt := time.Now()
		now := appliedAt.UnixMilli()
		r.applyLag.mu.Lock()
		for _, rec := range recs {
			r.applyLag.add((now - rec.TimeMillis) * 1000)
		}
		r.applyLag.mu.Unlock()
		next += uint64(len(recs))
		r.appliedAt.Store(appliedAt.UnixNano())
		r.applied.Store(next - 1)
		buf, ends = buf[:0], ends[:0]
		if cap(buf) > 2*r.cfg.MaxBatchBytes {
			buf = nil
		}
		return w.ack(ack{applied: next - 1, logged: ap.Logged(), appliedAt: appliedAt.UnixNano()})
	}
	for {
		f, err := read()
		if err != nil {
			return err
		}
		if b, ok := bulkPayload(f); ok {
			buf = append(buf, b...)
			ends = append(ends, len(buf))
			if rd.Buffered() > 0 && len(ends) < r.cfg.MaxBatch && len(buf) < r.cfg.MaxBatchBytes {
				continue
			}
			if err := apply(); err != nil {
				return err
			}
			continue
		}
		if len(ends) > 0 {
			if err := apply(); err != nil {
				return err
			}
		}
		if words := statusFields(f); len(words) == 1 && words[0] == wordPing {
			continue
		}
		if len(f) > 0 && f[0] == '-' {
			return fmt.Errorf("repl: master: %s", f[1:len(f)-2])
		}
		return fmt.Errorf("%w: unexpected frame in the stream: %q", ErrProtocol, clipFrame(f))
	}
}
