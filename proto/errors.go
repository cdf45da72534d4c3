package proto

import (
	"errors"
	"strings"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrProtocol matches every *ProtocolError.
	ErrProtocol = errors.New("proto: protocol error")
	// ErrQueryBufferLimit is returned by ReadCommand when more than
	// Limits.MaxQueryBuffer bytes are buffered without forming arguments.
	// Redis closes such a client without replying; so should the server.
	ErrQueryBufferLimit = errors.New("proto: client query buffer limit reached")
	// ErrInvalidReply wraps every malformed-reply error of ReadReply and
	// ParseReply (a transport problem, never a server's error reply).
	ErrInvalidReply = errors.New("proto: invalid reply")
	// ErrReplyTooLarge is returned by ReadReply for a frame over
	// Limits.MaxReplyLen or a bulk over Limits.MaxBulkLen.
	ErrReplyTooLarge = errors.New("proto: reply too large")
	// ErrInvalidLimits wraps the errors of Limits.Validate.
	ErrInvalidLimits = errors.New("proto: invalid limits")
)

// ProtocolError is a malformed request. Msg is exactly the text Redis 7.0
// sends after "-ERR " ("Protocol error: invalid bulk length", ...): the
// server should write AppendError(dst, "ERR "+Msg) and close the connection,
// as Redis does.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrProtocol) true.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// Reply returns the error reply text ("ERR Protocol error: ..."), ready for
// AppendError.
func (e *ProtocolError) Reply() string { return "ERR " + e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: msg} }

// The fixed protocol error texts of Redis 7.0 (networking.c).
const (
	msgInvalidMultibulkLen   = "Protocol error: invalid multibulk length"
	msgInvalidBulkLen        = "Protocol error: invalid bulk length"
	msgTooBigInline          = "Protocol error: too big inline request"
	msgTooBigMbulkCount      = "Protocol error: too big mbulk count string"
	msgTooBigBulkCount       = "Protocol error: too big bulk count string"
	msgUnbalancedQuotes      = "Protocol error: unbalanced quotes in request"
	msgUnauthMultibulkLen    = "Protocol error: unauthenticated multibulk length"
	msgUnauthBulkLen         = "Protocol error: unauthenticated bulk length"
	msgExpectedDollarPrefix  = "Protocol error: expected '$', got '"
	msgExpectedDollarPostfix = "'"
)

// Error is an error reply from a Redis-protocol server ("-ERR ...",
// "-WRONGTYPE ..."), without the leading '-' and the CRLF. It is distinct
// from transport and parsing errors, so a proxy can pass it on untouched
// (like go-redis's RedisError).
type Error string

func (e Error) Error() string { return string(e) }

// Prefix returns the error code: the first word ("ERR", "WRONGTYPE",
// "MOVED", ...).
func (e Error) Prefix() string {
	s := string(e)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}
