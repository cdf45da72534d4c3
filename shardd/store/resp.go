package store

// Temporary RESP encoding for the store until proto's appenders land; then
// these become thin calls into proto.

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

func respBulk(dst, b []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

func respBulkString(dst []byte, s string) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

func respInt(dst []byte, n int64) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

func respStatus(dst []byte, s string) []byte {
	dst = append(dst, '+')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

func respError(dst []byte, s string) []byte {
	dst = append(dst, '-')
	dst = append(dst, strings.NewReplacer("\r", " ", "\n", " ").Replace(s)...)
	return append(dst, '\r', '\n')
}

func respArray(dst []byte, n int) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

// respFloat formats a double the way Redis 7.0's addReplyDouble does
// (%.17g, with "inf"/"-inf").
func respFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return respBulkString(dst, "inf")
	case math.IsInf(f, -1):
		return respBulkString(dst, "-inf")
	}
	return respBulk(dst, strconv.AppendFloat(nil, f, 'g', 17, 64))
}

// appendCommand encodes args as a RESP multibulk request.
func appendCommand(dst []byte, args [][]byte) []byte {
	dst = respArray(dst, len(args))
	for _, a := range args {
		dst = respBulk(dst, a)
	}
	return dst
}

var errBadEffect = errors.New("malformed effect")

// parseCommand decodes one multibulk request produced by appendCommand.
func parseCommand(b []byte) (args [][]byte, rest []byte, err error) {
	line := func() (int, bool) {
		i := strings.IndexByte(string(b), '\n')
		if i < 2 || b[i-1] != '\r' {
			return 0, false
		}
		n, e := strconv.Atoi(string(b[1 : i-1]))
		b = b[i+1:]
		return n, e == nil && n >= 0
	}
	if len(b) == 0 || b[0] != '*' {
		return nil, nil, errBadEffect
	}
	n, ok := line()
	if !ok {
		return nil, nil, errBadEffect
	}
	args = make([][]byte, n)
	for i := range args {
		if len(b) == 0 || b[0] != '$' {
			return nil, nil, errBadEffect
		}
		l, ok := line()
		if !ok || len(b) < l+2 {
			return nil, nil, errBadEffect
		}
		args[i] = b[:l]
		b = b[l+2:]
	}
	return args, b, nil
}
