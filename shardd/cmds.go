package shardd

import (
	"strconv"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd/store"
)

func cmdOK(c *conn, args [][]byte) { c.ok() }

func cmdPing(c *conn, args [][]byte) {
	if len(args) > 2 {
		c.err(proto.ErrWrongArity("ping"))
		return
	}
	if c.psMode && c.subscriptions() > 0 {
		c.array(2)
		c.bulkString("pong")
		if len(args) == 2 {
			c.bulk(args[1])
		} else {
			c.bulkString("")
		}
		return
	}
	if len(args) == 2 {
		c.bulk(args[1])
		return
	}
	c.status("PONG")
}

func cmdEcho(c *conn, args [][]byte) { c.bulk(args[1]) }

func cmdQuit(c *conn, args [][]byte) {
	c.ok()
	c.quit = true
}

func cmdSelect(c *conn, args [][]byte) {
	n, ok := store.ParseInt(args[1])
	if !ok {
		c.err("ERR value is not an integer or out of range")
		return
	}
	if n != 0 {
		c.err("ERR DB index is out of range")
		return
	}
	c.ok()
}

func cmdAuth(c *conn, args [][]byte) {
	var ok bool
	if c.out, ok = respserver.AppendAuth(c.out, args, *c.s.requirePass.Load()); ok {
		c.setAuthed()
	}
}

// cmdHello answers HELLO [protover [AUTH user pass] [SETNAME name]] for
// RESP2 only: HELLO 3 gets -NOPROTO, so clients fall back to RESP2.
func cmdHello(c *conn, args [][]byte) {
	var auth bool
	if c.out, auth = respserver.AppendHello(c.out, args, &c.Session, *c.s.requirePass.Load(), c.authed, c.s.roleName()); auth {
		c.setAuthed()
	}
}

func eqFold(b []byte, s string) bool { return strings.EqualFold(string(b), s) }

func cmdTime(c *conn, args [][]byte) {
	now := time.Now()
	c.array(2)
	c.bulkString(strconv.FormatInt(now.Unix(), 10))
	c.bulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}

func cmdLastsave(c *conn, args [][]byte) { c.int(c.s.lastSave.Load()) }

func cmdSave(c *conn, args [][]byte) {
	if c.execing {
		// Inside EXEC the lock is held: snapshot in one go.
		if err := c.s.snapshot(true); err != nil {
			c.err("ERR " + err.Error())
			return
		}
		c.ok()
		return
	}
	if c.s.saving.Load() {
		c.err("ERR Background save already in progress")
		return
	}
	if err := c.s.snapshot(false); err != nil {
		c.err("ERR " + err.Error())
		return
	}
	c.ok()
}

func cmdBgsave(c *conn, args [][]byte) {
	if len(args) > 2 || (len(args) == 2 && !eqFold(args[1], "schedule")) {
		c.err(store.ErrSyntax)
		return
	}
	if c.s.cfg.Diskless {
		c.err("ERR BGSAVE is not available in diskless mode")
		return
	}
	if !c.s.saving.CompareAndSwap(false, true) {
		if len(args) == 2 {
			c.status("Background saving scheduled")
			return
		}
		c.err("ERR Background save already in progress")
		return
	}
	c.s.saving.Store(false)
	c.s.bg.Add(1)
	go func() {
		defer c.s.bg.Done()
		if err := c.s.snapshot(false); err != nil {
			c.s.log.Error("background save failed", "err", err)
		}
	}()
	c.status("Background saving started")
}

func cmdCommand(c *conn, args [][]byte) {
	c.out = proto.AppendCommandReply(c.out, args)
}

// ---- CLIENT ----

func cmdClient(c *conn, args [][]byte) {
	out, handled, self := respserver.AppendClient(c.out, args, c, &c.Session, &c.s.conns)
	if !handled {
		out = proto.AppendError(out, respserver.ErrSubcommand("CLIENT", args[1]))
	}
	c.out = out
	c.quit = c.quit || self
}

// ClientInfo describes c for CLIENT LIST and CLIENT INFO asked by self
// (respserver.Client).
func (c *conn) ClientInfo(self *conn) respserver.ClientInfo {
	ci := c.Info()
	ci.PubSub = c.psMode
	ci.Sub, ci.PSub = c.s.pubsub.counts(c)
	if c == self {
		ci.Cmd = "client|info" // shardd names the command, not the subcommand, in LastCmdName
		if c.inMulti {
			ci.Multi = len(c.multi)
		}
	}
	return ci
}

// Kill closes c for CLIENT KILL (respserver.Client).
func (c *conn) Kill() { c.close() }

func (c *conn) setAuthed() {
	c.authed = true
	c.rd.SetAuthRequired(false)
}
