package repl

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/wal"
)

// Errors.
var (
	// ErrProtocol: the peer sent something the replication protocol does
	// not allow (a bad frame, a record out of order, a corrupt record).
	ErrProtocol = errors.New("repl: protocol error")
	// ErrStopped: the replica was stopped.
	ErrStopped = errors.New("repl: stopped")
)

// SyncRequest is a replica's SHOAL SYNC.
type SyncRequest struct {
	// Next is the index of the first record the replica lacks (1 when it
	// has none).
	Next uint64
	// LastEpoch is the epoch of the replica's record Next-1 (0 when Next is 1).
	LastEpoch uint64
	// Port is the port the replica serves clients on (INFO, ROLE).
	Port int
}

// ParseSync parses the arguments of SHOAL SYNC (args[0] is "SHOAL").
func ParseSync(args [][]byte) (SyncRequest, error) {
	if len(args) != 5 {
		return SyncRequest{}, fmt.Errorf("%w: SHOAL SYNC takes <next-index> <last-epoch> <listening-port>", ErrProtocol)
	}
	next, err1 := strconv.ParseUint(string(args[2]), 10, 64)
	epoch, err2 := strconv.ParseUint(string(args[3]), 10, 64)
	port, err3 := strconv.ParseUint(string(args[4]), 10, 16)
	if err1 != nil || err2 != nil || err3 != nil || next == 0 {
		return SyncRequest{}, fmt.Errorf("%w: bad SHOAL SYNC arguments", ErrProtocol)
	}
	return SyncRequest{Next: next, LastEpoch: epoch, Port: int(port)}, nil
}

// appendSync encodes SHOAL SYNC.
func appendSync(dst []byte, r SyncRequest) []byte {
	return proto.AppendCommandStrings(dst, "SHOAL", "SYNC",
		strconv.FormatUint(r.Next, 10), strconv.FormatUint(r.LastEpoch, 10), strconv.Itoa(r.Port))
}

// ack is a replica's SHOAL ACK <applied> <logged> [<applied-at>].
type ack struct {
	applied, logged uint64
	// appliedAt is the replica's clock (Unix nanoseconds) when it applied
	// record applied; 0 when not sent. The master uses it for the lag
	// statistics when it is plausible on its own clock.
	appliedAt int64
}

// appendAck encodes SHOAL ACK.
func appendAck(dst []byte, a ack) []byte {
	return proto.AppendCommandStrings(dst, "SHOAL", "ACK",
		strconv.FormatUint(a.applied, 10), strconv.FormatUint(a.logged, 10), strconv.FormatInt(a.appliedAt, 10))
}

// parseAck parses SHOAL ACK.
func parseAck(args [][]byte) (ack, error) {
	if len(args) < 4 || len(args) > 5 || !eqFold(args[0], "shoal") || !eqFold(args[1], "ack") {
		return ack{}, fmt.Errorf("%w: expected SHOAL ACK, got %q", ErrProtocol, args[0])
	}
	var a ack
	var err1, err2, err3 error
	a.applied, err1 = strconv.ParseUint(string(args[2]), 10, 64)
	a.logged, err2 = strconv.ParseUint(string(args[3]), 10, 64)
	if len(args) == 5 {
		a.appliedAt, err3 = strconv.ParseInt(string(args[4]), 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return ack{}, fmt.Errorf("%w: bad SHOAL ACK arguments", ErrProtocol)
	}
	return a, nil
}

func eqFold(b []byte, s string) bool { return bytes.EqualFold(b, []byte(s)) }

// appendRecordFrame appends r as one RESP bulk string holding its
// wal.EncodeRecord encoding.
func appendRecordFrame(dst []byte, r wal.Record) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(wal.EncodedSize(len(r.Payload))), 10)
	dst = append(dst, '\r', '\n')
	dst = wal.EncodeRecord(dst, r)
	return append(dst, '\r', '\n')
}

// bulkPayload returns the contents of a bulk string frame, or ok=false for
// any other frame.
func bulkPayload(frame []byte) (b []byte, ok bool) {
	if len(frame) < 5 || frame[0] != '$' {
		return nil, false
	}
	i := bytes.IndexByte(frame, '\n')
	if i < 0 || frame[1] == '-' {
		return nil, false
	}
	return frame[i+1 : len(frame)-2], true
}

// statusFields splits a status frame ("+WORD a b\r\n") into its words, or
// returns nil for any other frame.
func statusFields(frame []byte) []string {
	if len(frame) < 3 || frame[0] != '+' {
		return nil
	}
	return strings.Fields(string(frame[1 : len(frame)-2]))
}

// parseUints parses every field as a uint64.
func parseUints(fields []string) ([]uint64, error) {
	out := make([]uint64, len(fields))
	for i, f := range fields {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad number %q", ErrProtocol, f)
		}
		out[i] = n
	}
	return out, nil
}

// Reply words.
const (
	wordContinue = "CONTINUE"
	wordTruncate = "TRUNCATE"
	wordFullSync = "FULLSYNC"
	wordSnapEnd  = "SNAPEND"
	wordPing     = "PING"
)
