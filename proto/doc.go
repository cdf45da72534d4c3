// Package proto is shoal's Redis protocol layer: reading and writing whole
// RESP2 frames, and the command table (names, arity, flags, key positions)
// that the frontend and shardd share. It imports only the standard library
// and does no networking of its own.
//
// Everything here copies redis-server 7.0.15 byte for byte where a client
// can see it, and the tests check that against a real redis-server: the
// request parser (limits, inline quoting, error texts), the error texts for
// unknown commands and wrong arities, COMMAND's replies, key extraction,
// and the formatting of doubles.
//
// # Serving requests
//
// A server wraps each connection in a Reader and appends replies to one
// buffer that it writes when the Reader is about to block for more input:
//
//	var out []byte
//	flush := func() error {
//		if len(out) == 0 {
//			return nil
//		}
//		_, err := conn.Write(out)
//		out = out[:0]
//		return err
//	}
//	rd := proto.NewReader(proto.FlushBeforeRead(conn, flush), proto.DefaultLimits())
//	for {
//		args, err := rd.ReadCommand() // args alias rd's buffer until the next call
//		if err != nil {
//			var pe *proto.ProtocolError
//			if errors.As(err, &pe) {
//				out = proto.AppendError(out, pe.Reply()) // "-ERR Protocol error: ..."
//			}
//			flush()
//			return // and close, as Redis does
//		}
//		spec, err := proto.Resolve(args) // unknown command, wrong arity: Redis's texts
//		if err != nil {
//			out = proto.AppendError(out, err.Error())
//			continue
//		}
//		switch spec.FullName {
//		case "ping":
//			out = proto.AppendStatus(out, "PONG")
//		case "command", "command|info", "command|docs": // and the other subcommands
//			out = proto.AppendCommandReply(out, args)
//		// ...
//		}
//	}
//
// ReadCommand does not allocate in steady state; arguments of 32 KB or more
// that are not yet buffered get their own buffer, grown as bytes arrive.
// A declared length is never trusted for an allocation, so a request like
// "*1\r\n$9223372036854775807\r\n" is refused with Redis's error instead of
// crashing the process or reserving memory.
//
// # Talking to a Redis-protocol server
//
// The frontend writes requests with AppendCommand and reads each reply as
// the exact bytes of its frame, to forward untouched:
//
//	req := proto.AppendCommand(nil, []byte("GET"), []byte("k"))
//	conn.Write(req)
//	rd := proto.NewReader(conn, proto.DefaultLimits())
//	frame, err := rd.ReadReply() // "$1\r\nv\r\n"; a "-ERR ..." reply is a frame, not an error
//	v, err := proto.ParseReply(frame)
//	if e := v.Err(); e != nil { ... } // a proto.Error: the server's error reply
//
// # The command table
//
// Lookup, LookupSub and LookupCommand find a CommandSpec without
// allocating; AppendKeys gives the argument positions of the keys exactly
// as Redis 7.0's COMMAND GETKEYS computes them (key specs, then Redis's
// getkeys functions for ZUNIONSTORE and friends). The table is generated
// from a live redis-server by internal/gencmd (go generate) and extended by
// hand in commands_extra.go (SHOAL, CLIENT SETINFO, the fan-out flag).
//
// # Doubles
//
// AppendFloat / AppendBulkFloat format double replies as Redis 7.0 does
// ("%.17g"). INCRBYFLOAT and HINCRBYFLOAT compute in x87 long double in
// Redis; LongDouble reproduces that arithmetic so that AppendFloatHuman
// gives the same bytes ("0.1" + "0.2" is "0.3").
//
// # Concurrency
//
// A Reader belongs to one goroutine. The command table and the Append
// functions are safe for concurrent use; CommandSpecs must not be modified.
package proto
