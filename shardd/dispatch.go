package shardd

import (
	"math"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd/store"
)

// command is one entry of the server's dispatch table, built once from
// proto's command table: either the store executes it, or the server does.
type command struct {
	name     string
	spec     *proto.CommandSpec
	store    store.Cmd
	server   func(c *conn, args [][]byte)
	write    bool
	blocking bool
}

// serverCommands are answered by the server rather than the store. Each
// handler takes s.mu itself through c.lock when it touches shared state
// (inside EXEC the lock is already held and c.lock is a no-op).
var serverCommands = map[string]func(c *conn, args [][]byte){
	"ping": cmdPing, "echo": cmdEcho, "quit": cmdQuit, "hello": cmdHello,
	"auth": cmdAuth, "select": cmdSelect, "client": cmdClient, "info": cmdInfo,
	"config": cmdConfig, "time": cmdTime, "save": cmdSave, "bgsave": cmdBgsave,
	"lastsave": cmdLastsave, "wait": cmdWait, "role": cmdRole,
	"readonly": cmdOK, "readwrite": cmdOK, "command": cmdCommand,
	"multi": cmdMulti, "exec": cmdExec, "discard": cmdDiscard,
	"watch": cmdWatch, "unwatch": cmdUnwatch,
	"subscribe": cmdSubscribe, "unsubscribe": cmdUnsubscribe,
	"psubscribe": cmdPsubscribe, "punsubscribe": cmdPunsubscribe,
	"publish": cmdPublish, "pubsub": cmdPubsub,
}

func buildTable(s *Server) map[string]*command {
	m := make(map[string]*command)
	for _, spec := range proto.All() {
		name := strings.ToLower(spec.Name)
		cmd := &command{
			name:     name,
			spec:     spec,
			write:    spec.Flags&proto.FlagWrite != 0,
			blocking: spec.Flags&proto.FlagBlocking != 0,
		}
		if h := s.store.Lookup([]byte(name)); h != nil {
			cmd.store = h
		} else if h := serverCommands[name]; h != nil {
			cmd.server = h
		} else {
			continue // in the table but not built yet: answered as unknown
		}
		m[name] = cmd
	}
	return m
}

// lookup finds a command by name, case-insensitively, without allocating.
func (s *Server) lookup(name []byte) *command {
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return s.table[string(buf[:len(name)])]
}

// lock takes the server mutex unless EXEC already holds it for this conn.
func (c *conn) lock() {
	if !c.execing {
		c.s.mu.Lock()
	}
}

func (c *conn) unlock() {
	if !c.execing {
		c.s.mu.Unlock()
	}
}

func (c *conn) reply(b []byte)      { c.out = append(c.out, b...) }
func (c *conn) err(msg string)      { c.out = proto.AppendError(c.out, msg) }
func (c *conn) ok()                 { c.out = proto.AppendOK(c.out) }
func (c *conn) status(s string)     { c.out = proto.AppendStatus(c.out, s) }
func (c *conn) int(n int64)         { c.out = proto.AppendInt(c.out, n) }
func (c *conn) bulk(b []byte)       { c.out = proto.AppendBulk(c.out, b) }
func (c *conn) bulkString(s string) { c.out = proto.AppendBulkString(c.out, s) }
func (c *conn) array(n int)         { c.out = proto.AppendArray(c.out, n) }
func (c *conn) null()               { c.out = proto.AppendNullBulk(c.out) }
func (c *conn) nullArray()          { c.out = proto.AppendNullArray(c.out) }

// subscribedAllowed are the commands a RESP2 client in subscribed mode may
// send.
var subscribedAllowed = map[string]bool{
	"subscribe": true, "unsubscribe": true, "psubscribe": true, "punsubscribe": true,
	"ping": true, "quit": true, "reset": true, "ssubscribe": true, "sunsubscribe": true,
}

// notQueued are the commands MULTI runs at once instead of queueing.
var notQueued = map[string]bool{"exec": true, "discard": true, "multi": true, "watch": true, "quit": true, "reset": true}

// handle runs one command, checking what Redis's processCommand checks and
// in the same order.
func (c *conn) handle(args [][]byte) {
	s := c.s
	s.stats.commandsProcessed.Add(1)
	c.LastCmd.Store(time.Now().UnixMilli())
	cmd := s.lookup(args[0])
	if cmd == nil {
		c.rejectInMulti()
		c.err(proto.ErrUnknownCommand(args))
		return
	}
	c.LastCmdName.Store(&cmd.name)
	spec := cmd.spec
	if spec.IsContainer() && len(args) > 1 {
		if spec = spec.Sub(args[1]); spec == nil {
			c.rejectInMulti()
			c.err(proto.ErrUnknownSubcommand(args))
			return
		}
	}
	if !proto.CheckArity(spec, len(args)) {
		c.rejectInMulti()
		c.err(proto.ErrWrongArity(spec.FullName))
		return
	}
	if !c.authed && cmd.name != "auth" && cmd.name != "hello" && cmd.name != "quit" {
		c.rejectInMulti()
		c.err("NOAUTH Authentication required.")
		return
	}
	if cmd.write && s.logFailed() != nil {
		c.rejectInMulti()
		c.err(misconf(s.logFailed()))
		return
	}
	if cmd.write {
		if msg := s.writeRefused(); msg != "" {
			c.rejectInMulti()
			c.err(msg)
			return
		}
	}
	if c.psMode && c.subscriptions() > 0 && !subscribedAllowed[cmd.name] {
		c.err("ERR Can't execute '" + cmd.name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	if c.inMulti && !notQueued[cmd.name] {
		q := make([][]byte, len(args))
		for i, a := range args {
			q[i] = append([]byte(nil), a...)
		}
		c.multi = append(c.multi, q)
		c.status("QUEUED")
		return
	}
	c.run(cmd, args)
}

// rejectInMulti marks a transaction being queued as failed (EXECABORT).
func (c *conn) rejectInMulti() {
	if c.inMulti {
		c.multiErr = true
	}
}

// run executes a checked command.
func (c *conn) run(cmd *command, args [][]byte) {
	if cmd.server != nil {
		cmd.server(c, args)
		return
	}
	s := c.s
	c.lock()
	kc := s.repl.cache
	if kc != nil && !cmd.write {
		if msg := kc.checkRead(cmd, args, s.isReplica()); msg != "" {
			c.err(msg)
			c.unlock()
			return
		}
	}
	now := time.Now().UnixMilli()
	before := len(c.out)
	c.out = s.store.Run(cmd.store, now, args, c.out)
	if kc != nil && cmd.write {
		kc.afterWrite(cmd, args)
	}
	if c.execing {
		if len(c.out) == before { // a blocking command inside MULTI does not block
			c.timedOut(cmd)
		}
		c.unlock()
		return
	}
	if idx := s.logEffects(now); idx > c.durable {
		c.durable = idx
	}
	if len(c.out) == before && cmd.blocking {
		c.block(cmd, args) // unlocks
		return
	}
	c.unlock()
}

// logEffects appends the store's pending effects to the log as one record
// (under s.mu) and returns its index, or 0 when there was nothing to log.
func (s *Server) logEffects(now int64) uint64 {
	eff, n := s.store.TakeEffects()
	if n == 0 {
		return 0
	}
	s.dirty.Add(1)
	if s.wal == nil {
		return 0
	}
	idx, err := s.wal.Append(s.epoch, now, eff)
	if err != nil {
		s.log.Error("appending to the log", "err", err)
		return 0
	}
	s.noteWrite(idx)
	return idx
}

// logFailed returns the log's sticky write error, if any.
func (s *Server) logFailed() error {
	if s.wal == nil {
		return nil
	}
	return s.wal.Err()
}

func misconf(err error) string {
	return "MISCONF Errors writing to the AOF file: " + err.Error()
}

// ---- MULTI / EXEC / WATCH ----

func cmdMulti(c *conn, args [][]byte) {
	if c.inMulti {
		c.err("ERR MULTI calls can not be nested")
		return
	}
	c.inMulti, c.multiErr, c.multi = true, false, c.multi[:0]
	c.ok()
}

func cmdDiscard(c *conn, args [][]byte) {
	if !c.inMulti {
		c.err("ERR DISCARD without MULTI")
		return
	}
	c.endMulti()
	c.lock()
	c.s.unwatchAll(c)
	c.unlock()
	c.ok()
}

func (c *conn) endMulti() {
	c.inMulti, c.multiErr = false, false
	c.multi = c.multi[:0]
}

func cmdExec(c *conn, args [][]byte) {
	s := c.s
	if !c.inMulti {
		c.err("ERR EXEC without MULTI")
		return
	}
	if c.multiErr {
		c.endMulti()
		c.lock()
		s.unwatchAll(c)
		c.unlock()
		c.err("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	queued := c.multi
	c.endMulti()
	s.mu.Lock()
	if c.watchDirty {
		s.unwatchAll(c)
		s.mu.Unlock()
		c.nullArray()
		return
	}
	s.unwatchAll(c)
	now := time.Now().UnixMilli()
	c.execing = true
	c.array(len(queued))
	for _, q := range queued {
		cmd := s.lookup(q[0])
		if cmd.write && s.logFailed() != nil {
			c.err(misconf(s.logFailed()))
			continue
		}
		if cmd.write && s.isReplica() {
			c.err(errReadonly)
			continue
		}
		c.run(cmd, q)
	}
	c.execing = false
	if idx := s.logEffects(now); idx > c.durable {
		c.durable = idx
	}
	s.mu.Unlock()
}

func cmdWatch(c *conn, args [][]byte) {
	if c.inMulti {
		c.err("ERR WATCH inside MULTI is not allowed")
		return
	}
	s := c.s
	c.lock()
	for _, k := range args[1:] {
		key := string(k)
		ws := s.watchers[key]
		if ws == nil {
			ws = make(map[*conn]struct{})
			s.watchers[key] = ws
		}
		if _, dup := ws[c]; !dup {
			ws[c] = struct{}{}
			c.watched = append(c.watched, key)
		}
	}
	c.unlock()
	c.ok()
}

func cmdUnwatch(c *conn, args [][]byte) {
	c.lock()
	c.s.unwatchAll(c)
	c.unlock()
	c.ok()
}

// unwatchAll forgets c's watched keys (under mu).
func (s *Server) unwatchAll(c *conn) {
	for _, key := range c.watched {
		if ws := s.watchers[key]; ws != nil {
			delete(ws, c)
			if len(ws) == 0 {
				delete(s.watchers, key)
			}
		}
	}
	c.watched = c.watched[:0]
	c.watchDirty = false
}

// ---- blocking commands ----

// waiter is a client blocked on keys.
type waiter struct{ ch chan struct{} }

func (w *waiter) signal() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// timedOut writes what a blocking command answers inside MULTI when it
// would block: a null bulk for the commands that move one element, a null
// array for the pops (Redis 7.0; after a real timeout all answer *-1).
func (c *conn) timedOut(cmd *command) {
	if cmd.name == "blmove" || cmd.name == "brpoplpush" {
		c.null()
		return
	}
	c.nullArray()
}

// blockKeys returns the keys a blocking command waits on, and its timeout
// argument.
func blockKeys(name string, args [][]byte) (keys [][]byte, timeout []byte) {
	switch name {
	case "blmove":
		return args[1:2], args[5]
	case "brpoplpush":
		return args[1:2], args[3]
	}
	return args[1 : len(args)-1], args[len(args)-1]
}

// block waits until the command can be served, its timeout passes, or the
// client goes away. Called with s.mu held; returns with it released. The
// store already validated the arguments.
func (c *conn) block(cmd *command, args [][]byte) {
	s := c.s
	keys, tArg := blockKeys(cmd.name, args)
	ms, _ := store.ParseTimeout(tArg) // validated by the store; 0 = forever
	// args alias the read buffer, which the close watcher may not touch
	// but the next ReadCommand will reuse: keep a copy.
	own := make([][]byte, len(args))
	for i, a := range args {
		own[i] = append([]byte(nil), a...)
	}
	w := &waiter{ch: make(chan struct{}, 1)}
	for _, k := range keys {
		ws := s.blocked[string(k)]
		if ws == nil {
			ws = make(map[*waiter]struct{})
			s.blocked[string(k)] = ws
		}
		ws[w] = struct{}{}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		for _, k := range keys {
			if ws := s.blocked[string(k)]; ws != nil {
				delete(ws, w)
				if len(ws) == 0 {
					delete(s.blocked, string(k))
				}
			}
		}
		s.mu.Unlock()
	}()
	if !c.flush() {
		return
	}
	stop := c.watchClose()
	defer stop()
	var timeout <-chan time.Time
	if ms > 0 {
		// A huge timeout (9.2e15 s is 9.2e18 ms) would overflow a
		// time.Duration: cap it at ~292 years, which is forever anyway.
		t := time.NewTimer(time.Duration(min(ms, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case <-w.ch:
			s.mu.Lock()
			if s.isReplica() { // demoted while blocked: a replica must not pop
				s.mu.Unlock()
				c.err(errUnblocked)
				return
			}
			now := time.Now().UnixMilli()
			before := len(c.out)
			c.out = s.store.Run(cmd.store, now, own, c.out)
			if idx := s.logEffects(now); idx > c.durable {
				c.durable = idx
			}
			s.mu.Unlock()
			if len(c.out) > before {
				return
			}
		case <-timeout:
			c.nullArray()
			return
		case <-c.done:
			return
		case <-s.quit:
			return
		}
	}
}
