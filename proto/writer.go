package proto

import "strconv"

// The Append functions encode RESP2 onto a caller's buffer and return the
// extended buffer, like strconv.AppendInt. None of them allocates beyond
// growing dst, so a server can build a whole pipeline's replies in one
// reused buffer and write it once.

// AppendBulk appends b as a bulk string: "$<len>\r\n<b>\r\n".
func AppendBulk(dst, b []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}

// AppendBulkString appends s as a bulk string.
func AppendBulkString(dst []byte, s string) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendBulkInt appends n formatted in decimal as a bulk string (as Redis's
// addReplyBulkLongLong does).
func AppendBulkInt(dst []byte, n int64) []byte {
	var tmp [24]byte
	return AppendBulk(dst, strconv.AppendInt(tmp[:0], n, 10))
}

// AppendInt appends an integer reply: ":<n>\r\n".
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// AppendStatus appends a simple string reply: "+<s>\r\n". CR and LF in s
// are replaced by spaces so the frame stays valid.
func AppendStatus(dst []byte, s string) []byte {
	dst = append(dst, '+')
	dst = appendLine(dst, s)
	return append(dst, '\r', '\n')
}

// AppendOK appends "+OK\r\n".
func AppendOK(dst []byte) []byte { return append(dst, "+OK\r\n"...) }

// AppendError appends an error reply: "-<msg>\r\n". msg carries the error
// code ("ERR syntax error", "WRONGTYPE Operation against a key ...");
// CR and LF in it are replaced by spaces, as Redis does.
func AppendError(dst []byte, msg string) []byte {
	dst = append(dst, '-')
	dst = appendLine(dst, msg)
	return append(dst, '\r', '\n')
}

func appendLine(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendArray appends an array header "*<n>\r\n"; the caller appends the
// n elements.
func AppendArray(dst []byte, n int) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '\r', '\n')
}

// AppendNullBulk appends the null bulk string "$-1\r\n" (GET of a missing key).
func AppendNullBulk(dst []byte) []byte { return append(dst, "$-1\r\n"...) }

// AppendNullArray appends the null array "*-1\r\n" (BLPOP timeout, EXEC
// aborted by WATCH).
func AppendNullArray(dst []byte) []byte { return append(dst, "*-1\r\n"...) }

// AppendCommand appends a request as a multibulk array of bulk strings.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = AppendArray(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}

// AppendCommandStrings is AppendCommand for string arguments.
func AppendCommandStrings(dst []byte, args ...string) []byte {
	dst = AppendArray(dst, len(args))
	for _, a := range args {
		dst = AppendBulkString(dst, a)
	}
	return dst
}

// AppendBulkFloat appends f as a bulk string formatted like Redis 7.0's
// double replies (ZSCORE, ZINCRBY, ZRANGE WITHSCORES): see AppendFloat.
func AppendBulkFloat(dst []byte, f float64) []byte {
	var tmp [32]byte
	return AppendBulk(dst, AppendFloat(tmp[:0], f))
}
