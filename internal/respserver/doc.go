// Package respserver is what shoal's two Redis-protocol servers, shardd
// and the frontend, do the same way around their own request paths: the
// accept loop and the set of client connections, the per-connection
// session shown by CLIENT, the connection commands answered alike (AUTH,
// HELLO, CLIENT, PUBSUB), subscribers' output, and watching a blocked
// client's socket. Each server keeps its own connection type, reader loop
// and command dispatch. On the request path the package adds nothing per
// command: the reader reads through a PeekConn (a mutex-guarded check per
// read from the socket), and the session's last-command fields are atomics
// embedded in the connection. It imports only the standard library and
// proto, so shardd and the frontend share it without importing each
// other.
//
// # Pieces and who owns what
//
//   - Conns[C] is a server's listeners and client connections (C is the
//     server's connection pointer type). Serve runs the accept loop:
//     backoff on temporary errors, maxclients refusal with Redis's error,
//     one goroutine per client. The server removes a connection when it
//     ends, and Close stops accepting and hands back the open ones for
//     the server to close or drain. INFO's counters live here too.
//   - Session is embedded in each server's connection type: client ID,
//     addresses, name, library, last command. AppendClient, AppendHello
//     and AppendAuth answer those commands from it; each server adds its
//     own part of a CLIENT LIST line (pub/sub counts, MULTI) through the
//     Client interface, and its own CLIENT subcommands.
//   - PeekConn wraps a client's net.Conn for the server's proto.Reader;
//     WatchClose notices a peer's close while the serving goroutine waits
//     on a blocked command, without losing a byte the client sends.
//   - Outbox is a subscriber's output once it is in pub/sub mode, written
//     by its own flusher goroutine and bounded by PubsubOutputLimit.
//     Subscribers is the channel (or pattern) registry; AppendPubsub and
//     AppendSubReply format the replies.
//
// # Concurrency
//
// Conns is safe for concurrent use. A Session's Name and library belong
// to the connection's goroutine; LastCmd and LastCmdName are atomic. An
// Outbox is started by its owner, then Enqueue is safe from any goroutine.
// Subscribers has no lock of its own: the server's pub/sub mutex guards
// it (AppendPubsub takes that mutex). The Append functions append to the
// caller's buffer and keep no reference to it.
//
// # Use
//
// A server embeds Session in its connection type, keeps a Conns, and
// serves with it:
//
//	type conn struct {
//		respserver.Session
//		nc  net.Conn
//		src *respserver.PeekConn // what the proto.Reader reads
//		...
//	}
//
//	func (s *Server) Serve(ln net.Listener) error {
//		return s.conns.Serve(ln, s.newConn, (*conn).serve) // newConn calls c.Init
//	}
//
//	// in the command dispatch:
//	case "client":
//		out, handled, self := respserver.AppendClient(c.out, args, c, &c.Session, &s.conns)
package respserver
