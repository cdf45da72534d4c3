package respserver

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/proto"
)

// ErrSyntax is Redis's syntax error text.
const ErrSyntax = "ERR syntax error"

// ClientHelp is the reply to CLIENT HELP, line by line.
var ClientHelp = []string{
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

// ErrClientName is the reply to a client name Redis would refuse.
const ErrClientName = "ERR Client names cannot contain spaces, newlines or special characters."

// ValidClientName reports whether b may be a client name (CLIENT SETNAME,
// HELLO SETNAME) or library attribute: printable ASCII without spaces.
func ValidClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

// ParseInt parses b as Redis's string2ll does: decimal, an optional '-',
// no '+', no leading zeros, no spaces, within int64.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	digits := b
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || (digits[0] == '0' && len(b) > 1) {
		return 0, false
	}
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// ClientInfo is what CLIENT LIST and CLIENT INFO show of a connection.
// Fields a server does not track are shown as Redis shows them for an idle
// client.
type ClientInfo struct {
	ID          int64
	Addr, LAddr net.Addr
	Name        string
	Created     time.Time
	LastCmd     int64 // unix ms of the last command (idle)
	PubSub      bool  // in pub/sub mode (flags=P)
	Sub, PSub   int   // channels and patterns subscribed to
	Multi       int   // commands queued in MULTI, -1 outside
	Cmd         string
	LibName     string
	LibVer      string
}

// Line formats the CLIENT LIST line of c as Redis 7 does, at time now.
func (c *ClientInfo) Line(now time.Time) string {
	flags := "N"
	if c.PubSub {
		flags = "P"
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=0 name=%s age=%d idle=%d flags=%s db=0 sub=%d psub=%d ssub=0 multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=2 lib-name=%s lib-ver=%s\n",
		c.ID, c.Addr, c.LAddr, c.Name, int(now.Sub(c.Created).Seconds()),
		(now.UnixMilli()-c.LastCmd)/1000, flags, c.Sub, c.PSub, c.Multi, c.Cmd, c.LibName, c.LibVer)
}

// Client is a server's connection type as CLIENT LIST, INFO and KILL see
// it. Its methods are called on the goroutine of the client that sent the
// command (self), for every connection of the server.
type Client[C any] interface {
	comparable
	// ClientInfo describes the connection to self (MULTI state and the
	// current command are shown only for self).
	ClientInfo(self C) ClientInfo
	// Kill closes the connection; it is never called on self. Safe from
	// any goroutine.
	Kill()
}

// ErrSubcommand is the error for an unknown subcommand of cmd (upper
// case), or a known one with the wrong number of arguments, as Redis
// words it for CLIENT, CONFIG and PUBSUB.
func ErrSubcommand(cmd string, sub []byte) string {
	return "ERR unknown subcommand or wrong number of arguments for '" + string(sub) + "'. Try " + cmd + " HELP."
}

// AppendClient answers CLIENT ID, GETNAME, SETNAME, SETINFO, LIST, INFO,
// KILL and HELP (args[0] is CLIENT) for the connection self, whose
// session is sess, among the connections of conns. For any other
// subcommand, or a wrong number of arguments, handled is false and
// nothing is appended: the caller answers (its own subcommands, else
// ErrSubcommand). killSelf reports that CLIENT KILL matched self: the
// caller closes its connection once the reply is written.
func AppendClient[C Client[C]](b []byte, args [][]byte, self C, sess *Session, conns *Conns[C]) (out []byte, handled, killSelf bool) {
	switch sub := strings.ToLower(string(args[1])); {
	case sub == "id" && len(args) == 2:
		b = proto.AppendInt(b, sess.ID)
	case sub == "getname" && len(args) == 2:
		if sess.Name == "" {
			b = proto.AppendNullBulk(b)
		} else {
			b = proto.AppendBulkString(b, sess.Name)
		}
	case sub == "setname" && len(args) == 3:
		if !ValidClientName(args[2]) {
			return proto.AppendError(b, ErrClientName), true, false
		}
		sess.Name = string(args[2])
		b = proto.AppendOK(b)
	case sub == "setinfo" && len(args) == 4:
		attr := strings.ToLower(string(args[2]))
		if !ValidClientName(args[3]) && len(args[3]) > 0 {
			return proto.AppendError(b, "ERR "+attr+" cannot contain spaces, newlines or special characters."), true, false
		}
		switch attr {
		case "lib-name":
			sess.LibName = string(args[3])
		case "lib-ver":
			sess.LibVer = string(args[3])
		default:
			return proto.AppendError(b, "ERR Unrecognized option '"+string(args[2])+"'"), true, false
		}
		b = proto.AppendOK(b)
	case sub == "list":
		b = appendClientList(b, args, self, conns.Snapshot())
	case sub == "info" && len(args) == 2:
		ci := self.ClientInfo(self)
		b = proto.AppendBulkString(b, ci.Line(time.Now()))
	case sub == "kill" && len(args) >= 3:
		b, killSelf = appendClientKill(b, args, self, conns.Snapshot())
	case sub == "help" && len(args) == 2:
		b = AppendHelp(b, ClientHelp)
	default:
		return b, false, false
	}
	return b, true, killSelf
}

// appendClientList appends the reply to CLIENT LIST [TYPE type] [ID id
// ...] (args[0] is CLIENT): the lines of the matching connections among
// conns, in ID order, as one bulk string, or an error.
func appendClientList[C Client[C]](b []byte, args [][]byte, self C, conns []C) []byte {
	var ids map[int64]bool
	typ := ""
	for i := 2; i < len(args); i++ {
		switch {
		case strings.EqualFold(string(args[i]), "type") && i+1 < len(args):
			typ = strings.ToLower(string(args[i+1]))
			if typ != "normal" && typ != "pubsub" && typ != "master" && typ != "replica" && typ != "slave" {
				return proto.AppendError(b, "ERR Unknown client type '"+string(args[i+1])+"'")
			}
			i++
		case strings.EqualFold(string(args[i]), "id") && i+1 < len(args):
			ids = map[int64]bool{}
			for i++; i < len(args); i++ {
				id, ok := ParseInt(args[i])
				if !ok || id <= 0 {
					return proto.AppendError(b, "ERR Invalid client ID")
				}
				ids[id] = true
			}
		default:
			return proto.AppendError(b, ErrSyntax)
		}
	}
	infos := make([]ClientInfo, 0, len(conns))
	for _, o := range conns {
		ci := o.ClientInfo(self)
		if ids != nil && !ids[ci.ID] {
			continue
		}
		// Replication links are not clients here: TYPE master/replica lists none.
		if typ == "pubsub" && !ci.PubSub || typ == "normal" && ci.PubSub || typ == "master" || typ == "replica" || typ == "slave" {
			continue
		}
		infos = append(infos, ci)
	}
	slices.SortFunc(infos, func(a, b ClientInfo) int { return cmp.Compare(a.ID, b.ID) })
	now := time.Now()
	var sb strings.Builder
	for i := range infos {
		sb.WriteString(infos[i].Line(now))
	}
	return proto.AppendBulkString(b, sb.String())
}

// appendClientKill appends the reply to CLIENT KILL (args[0] is CLIENT):
// the old form ip:port kills the first connection from that address, the
// new form every connection matching all of ID, ADDR and LADDR given
// (SKIPME yes by default). It kills the matching connections among conns
// except self, and reports whether self matched: then the caller closes
// its own connection once the reply is written, as Redis does.
func appendClientKill[C Client[C]](b []byte, args [][]byte, self C, conns []C) (out []byte, killSelf bool) {
	if len(args) == 3 { // old form: CLIENT KILL ip:port
		for _, o := range conns {
			if ci := o.ClientInfo(self); ci.Addr.String() == string(args[2]) {
				if o == self {
					killSelf = true
				} else {
					o.Kill()
				}
				return proto.AppendOK(b), killSelf
			}
		}
		return proto.AppendError(b, "ERR No such client"), false
	}
	var id int64
	var addr, laddr string
	skipme := true
	if len(args)%2 != 0 {
		return proto.AppendError(b, ErrSyntax), false
	}
	for i := 2; i+1 < len(args); i += 2 {
		v := string(args[i+1])
		switch strings.ToLower(string(args[i])) {
		case "id":
			n, ok := ParseInt(args[i+1])
			if !ok || n <= 0 {
				return proto.AppendError(b, "ERR client-id should be greater than 0"), false
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
				return proto.AppendError(b, ErrSyntax), false
			}
		default:
			return proto.AppendError(b, ErrSyntax), false
		}
	}
	killed := 0
	for _, o := range conns {
		ci := o.ClientInfo(self)
		if id != 0 && ci.ID != id || addr != "" && ci.Addr.String() != addr ||
			laddr != "" && ci.LAddr.String() != laddr {
			continue
		}
		if o == self {
			if skipme {
				continue
			}
			killSelf = true
			killed++
			continue
		}
		o.Kill()
		killed++
	}
	return proto.AppendInt(b, int64(killed)), killSelf
}
