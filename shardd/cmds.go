package shardd

import (
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd/store"
)

// redisVersion is the Redis version shoal answers as (INFO, HELLO), so
// clients enable the features shoal implements.
const redisVersion = "7.0.15"

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
	pw := *c.s.requirePass.Load()
	if len(args) > 3 {
		c.err(store.ErrSyntax)
		return
	}
	if pw == "" {
		if len(args) == 2 {
			c.err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		} else {
			c.err("WRONGPASS invalid username-password pair or user is disabled.")
		}
		return
	}
	user, pass := "default", args[len(args)-1]
	if len(args) == 3 {
		user = string(args[1])
	}
	if user != "default" || subtle.ConstantTimeCompare(pass, []byte(pw)) != 1 {
		c.err("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	c.setAuthed()
	c.ok()
}

// cmdHello answers HELLO [protover [AUTH user pass] [SETNAME name]] for
// RESP2 only: HELLO 3 gets -NOPROTO, so clients fall back to RESP2.
func cmdHello(c *conn, args [][]byte) {
	i := 1
	if len(args) > 1 {
		ver, ok := store.ParseInt(args[1])
		if !ok {
			c.err("ERR Protocol version is not an integer or out of range")
			return
		}
		if ver != 2 {
			c.err("NOPROTO unsupported protocol version")
			return
		}
		i = 2
	}
	var setname []byte
	for ; i < len(args); i++ {
		switch {
		case eqFold(args[i], "auth") && i+2 < len(args):
			pw := *c.s.requirePass.Load()
			if args[i+1] == nil || string(args[i+1]) != "default" || pw == "" ||
				subtle.ConstantTimeCompare(args[i+2], []byte(pw)) != 1 {
				c.err("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			c.setAuthed()
			i += 2
		case eqFold(args[i], "setname") && i+1 < len(args):
			setname = args[i+1]
			i++
		default:
			c.err("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
			return
		}
	}
	if !c.authed {
		c.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setname != nil {
		if !validClientName(setname) {
			c.err("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.name = string(setname)
	}
	c.array(14)
	c.bulkString("server")
	c.bulkString("redis")
	c.bulkString("version")
	c.bulkString(redisVersion)
	c.bulkString("proto")
	c.int(2)
	c.bulkString("id")
	c.int(c.id)
	c.bulkString("mode")
	c.bulkString("standalone")
	c.bulkString("role")
	c.bulkString(c.s.roleName())
	c.bulkString("modules")
	c.array(0)
}

func eqFold(b []byte, s string) bool { return strings.EqualFold(string(b), s) }

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

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
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "id" && len(args) == 2:
		c.int(c.id)
	case sub == "getname" && len(args) == 2:
		if c.name == "" {
			c.null()
		} else {
			c.bulkString(c.name)
		}
	case sub == "setname" && len(args) == 3:
		if !validClientName(args[2]) {
			c.err("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.name = string(args[2])
		c.ok()
	case sub == "setinfo" && len(args) == 4:
		attr := strings.ToLower(string(args[2]))
		if !validClientName(args[3]) && len(args[3]) > 0 {
			c.err("ERR " + attr + " cannot contain spaces, newlines or special characters.")
			return
		}
		switch attr {
		case "lib-name":
			c.libName = string(args[3])
		case "lib-ver":
			c.libVer = string(args[3])
		default:
			c.err("ERR Unrecognized option '" + string(args[2]) + "'")
			return
		}
		c.ok()
	case sub == "list":
		c.clientList(args)
	case sub == "info" && len(args) == 2:
		c.bulkString(c.s.clientLine(c, c))
	case sub == "kill" && len(args) >= 3:
		c.clientKill(args)
	case sub == "help" && len(args) == 2:
		help := []string{
			"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"ID", "    Return the ID of the current connection.",
			"GETNAME", "    Return the name of the current connection.",
			"SETNAME <name>", "    Assign the name <name> to the current connection.",
			"SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
			"INFO", "    Return information about the current client connection.",
			"LIST [TYPE (NORMAL|PUBSUB)] [ID <id> [<id> ...]]", "    Return information about client connections.",
			"KILL <ip:port> | KILL <option> <value> [<option> <value> [...]]", "    Kill connections (options: ID, ADDR, LADDR, SKIPME).",
			"HELP", "    Print this help.",
		}
		c.array(len(help))
		for _, h := range help {
			c.status(h)
		}
	default:
		c.err(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP.", args[1]))
	}
}

func (s *Server) snapshotConns() []*conn {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// clientLine formats one CLIENT LIST line as Redis 7 does (fields shoal
// does not track are reported as Redis reports an idle client).
func (s *Server) clientLine(self, c *conn) string {
	now := time.Now()
	flags := "N"
	if c.psMode {
		flags = "P"
	}
	multi := -1
	if c == self && c.inMulti {
		multi = len(c.multi)
	}
	nsub, npsub := s.pubsub.counts(c)
	cmdName := *c.lastCmdName.Load()
	if c == self {
		cmdName = "client|" + "info"
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=0 name=%s age=%d idle=%d flags=%s db=0 sub=%d psub=%d ssub=0 multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=2 lib-name=%s lib-ver=%s\n",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), c.name, int(now.Sub(c.created).Seconds()),
		(now.UnixMilli()-c.lastCmd.Load())/1000, flags, nsub, npsub, multi, cmdName, c.libName, c.libVer)
}

func (c *conn) clientList(args [][]byte) {
	conns := c.s.snapshotConns()
	var ids map[int64]bool
	typ := ""
	for i := 2; i < len(args); i++ {
		switch {
		case eqFold(args[i], "type") && i+1 < len(args):
			typ = strings.ToLower(string(args[i+1]))
			if typ != "normal" && typ != "pubsub" && typ != "master" && typ != "replica" && typ != "slave" {
				c.err("ERR Unknown client type '" + string(args[i+1]) + "'")
				return
			}
			i++
		case eqFold(args[i], "id") && i+1 < len(args):
			ids = map[int64]bool{}
			for i++; i < len(args); i++ {
				id, ok := store.ParseInt(args[i])
				if !ok || id <= 0 {
					c.err("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.err(store.ErrSyntax)
			return
		}
	}
	var b strings.Builder
	for _, o := range conns {
		if ids != nil && !ids[o.id] {
			continue
		}
		if typ == "pubsub" && !o.psMode || typ == "normal" && o.psMode || typ == "master" || typ == "replica" || typ == "slave" {
			continue
		}
		b.WriteString(c.s.clientLine(c, o))
	}
	c.bulkString(b.String())
}

func (c *conn) clientKill(args [][]byte) {
	conns := c.s.snapshotConns()
	if len(args) == 3 { // old form: CLIENT KILL ip:port
		for _, o := range conns {
			if o.nc.RemoteAddr().String() == string(args[2]) {
				c.ok()
				o.close()
				return
			}
		}
		c.err("ERR No such client")
		return
	}
	var id int64
	var addr, laddr string
	skipme := true
	if len(args)%2 != 0 {
		c.err(store.ErrSyntax)
		return
	}
	for i := 2; i+1 < len(args); i += 2 {
		v := string(args[i+1])
		switch strings.ToLower(string(args[i])) {
		case "id":
			n, ok := store.ParseInt(args[i+1])
			if !ok || n <= 0 {
				c.err("ERR client-id should be greater than 0")
				return
			}
			id = n
		case "addr":
			addr = v
		case "laddr":
			laddr = v
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				skipme = true
			case "no":
				skipme = false
			default:
				c.err(store.ErrSyntax)
				return
			}
		default:
			c.err(store.ErrSyntax)
			return
		}
	}
	killed := 0
	var self bool
	for _, o := range conns {
		if id != 0 && o.id != id || addr != "" && o.nc.RemoteAddr().String() != addr ||
			laddr != "" && o.nc.LocalAddr().String() != laddr {
			continue
		}
		if o == c {
			if skipme {
				continue
			}
			self = true
			killed++
			continue
		}
		o.close()
		killed++
	}
	c.int(int64(killed))
	if self {
		c.quit = true
	}
}

func (c *conn) setAuthed() {
	c.authed = true
	c.rd.SetAuthRequired(false)
}
