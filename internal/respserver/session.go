package respserver

import (
	"crypto/subtle"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shoal-kv/shoal/proto"
)

// RedisVersion is the Redis version shoal's servers answer as (INFO,
// HELLO), so clients enable the features shoal implements.
const RedisVersion = "7.0.15"

// Session is the part of a client connection that the connection commands
// (CLIENT, HELLO) show and set, kept the same way by every server. A
// server's connection type embeds it and calls Init when the connection is
// accepted.
//
// Name, LibName and LibVer belong to the connection's goroutine (another
// client's CLIENT LIST reads them as Redis does, without a lock); LastCmd
// and LastCmdName may be read from any goroutine.
type Session struct {
	ID          int64
	Addr, LAddr net.Addr // the peer's and the server's end
	Created     time.Time
	Name        string // CLIENT SETNAME, HELLO SETNAME
	LibName     string // CLIENT SETINFO LIB-NAME
	LibVer      string // CLIENT SETINFO LIB-VER
	// LastCmd is when the last command was read (unix ms), for idle=.
	LastCmd atomic.Int64
	// LastCmdName is the last command's name, for cmd=. The server stores
	// a pointer to a name it keeps (its command table's), so storing
	// allocates nothing.
	LastCmdName atomic.Pointer[string]
}

var noCommand = "NULL"

// Init sets up the session of a new connection nc with client ID id.
func (s *Session) Init(id int64, nc net.Conn) {
	s.ID = id
	s.Addr, s.LAddr = nc.RemoteAddr(), nc.LocalAddr()
	s.Created = time.Now()
	s.LastCmd.Store(s.Created.UnixMilli())
	s.LastCmdName.Store(&noCommand)
}

// Info returns the session's part of its CLIENT LIST line; the server adds
// the rest (pub/sub, MULTI).
func (s *Session) Info() ClientInfo {
	return ClientInfo{ID: s.ID, Addr: s.Addr, LAddr: s.LAddr, Name: s.Name, Created: s.Created,
		LastCmd: s.LastCmd.Load(), Multi: -1, Cmd: *s.LastCmdName.Load(), LibName: s.LibName, LibVer: s.LibVer}
}

// Errors of AUTH and HELLO, as Redis words them.
const (
	ErrWrongPass = "WRONGPASS invalid username-password pair or user is disabled."
	errNoPass    = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errHelloAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
)

// AppendAuth answers AUTH [user] password (args[0] is AUTH) against the
// server's requirepass (pw, "" when none). ok reports a correct password:
// the caller marks the client authenticated.
func AppendAuth(b []byte, args [][]byte, pw string) (out []byte, ok bool) {
	if len(args) > 3 {
		return proto.AppendError(b, ErrSyntax), false
	}
	if pw == "" {
		if len(args) == 2 {
			return proto.AppendError(b, errNoPass), false
		}
		return proto.AppendError(b, ErrWrongPass), false
	}
	user, pass := "default", args[len(args)-1]
	if len(args) == 3 {
		user = string(args[1])
	}
	if user != "default" || subtle.ConstantTimeCompare(pass, []byte(pw)) != 1 {
		return proto.AppendError(b, ErrWrongPass), false
	}
	return proto.AppendOK(b), true
}

// AppendHello answers HELLO [protover [AUTH user pass] [SETNAME name]]
// (args[0] is HELLO) for RESP2 only: HELLO 3 gets -NOPROTO, so clients
// fall back to RESP2. pw is the server's requirepass, authed whether the
// client is authenticated already, role the server's replication role for
// the reply. A correct AUTH option authenticates even when a later option
// fails, as in Redis: authNow reports it, and the caller marks the client
// authenticated. SETNAME sets s.Name.
func AppendHello(b []byte, args [][]byte, s *Session, pw string, authed bool, role string) (out []byte, authNow bool) {
	i := 1
	if len(args) > 1 {
		ver, ok := ParseInt(args[1])
		if !ok {
			return proto.AppendError(b, "ERR Protocol version is not an integer or out of range"), false
		}
		if ver != 2 {
			return proto.AppendError(b, "NOPROTO unsupported protocol version"), false
		}
		i = 2
	}
	var setname []byte
	for ; i < len(args); i++ {
		switch {
		case strings.EqualFold(string(args[i]), "auth") && i+2 < len(args):
			if string(args[i+1]) != "default" || pw == "" || subtle.ConstantTimeCompare(args[i+2], []byte(pw)) != 1 {
				return proto.AppendError(b, ErrWrongPass), authNow
			}
			authNow = true
			i += 2
		case strings.EqualFold(string(args[i]), "setname") && i+1 < len(args):
			setname = args[i+1]
			i++
		default:
			return proto.AppendError(b, "ERR Syntax error in HELLO option '"+string(args[i])+"'"), authNow
		}
	}
	if !authed && !authNow {
		return proto.AppendError(b, errHelloAuth), false
	}
	if setname != nil {
		if !ValidClientName(setname) {
			return proto.AppendError(b, ErrClientName), authNow
		}
		s.Name = string(setname)
	}
	b = proto.AppendArray(b, 14)
	b = proto.AppendBulkString(b, "server")
	b = proto.AppendBulkString(b, "redis")
	b = proto.AppendBulkString(b, "version")
	b = proto.AppendBulkString(b, RedisVersion)
	b = proto.AppendBulkString(b, "proto")
	b = proto.AppendInt(b, 2)
	b = proto.AppendBulkString(b, "id")
	b = proto.AppendInt(b, s.ID)
	b = proto.AppendBulkString(b, "mode")
	b = proto.AppendBulkString(b, "standalone")
	b = proto.AppendBulkString(b, "role")
	b = proto.AppendBulkString(b, role)
	b = proto.AppendBulkString(b, "modules")
	return proto.AppendArray(b, 0), authNow
}
