package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ReadReply reads one whole RESP2 reply frame (+ - : $ *, nested arrays,
// null bulk "$-1" and null array "*-1") and returns its exact bytes,
// including the final CRLF, so a proxy can forward it untouched. The slice
// aliases the Reader's buffer until the next call. An error reply from the
// server ("-ERR ...") is a frame like any other: it is returned with a nil
// error (use ParseReply and Value.Err to look at it).
//
// Errors are transport or framing problems only: io.EOF between frames,
// io.ErrUnexpectedEOF inside one, ErrInvalidReply (wrapped, with details)
// for malformed input, ErrReplyTooLarge past Limits.MaxReplyLen or
// Limits.MaxBulkLen, or the connection's error. They are sticky.
//
// The buffer holds the whole frame, growing by doubling as bytes arrive;
// a declared length is never allocated up front.
func (r *Reader) ReadReply() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.inMulti {
		return nil, errors.New("proto: ReadReply called during ReadCommand")
	}
	r.release()
	if !r.inReply {
		r.inReply = true
		r.pos = r.r
		r.pending = 1
		r.bulk = -1
	}
	for {
		done, err := r.scanReply()
		if err != nil {
			r.err = err
			return nil, err
		}
		if done {
			frame := r.buf[r.r:r.pos:r.pos]
			r.noteSize(r.pos - r.r)
			r.r = r.pos
			r.inReply = false
			return frame, nil
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && r.r < r.w {
				err = io.ErrUnexpectedEOF
			}
			r.err = err
			return nil, err
		}
	}
}

// scanReply advances r.pos over buffered reply elements. It returns true
// when the frame started at r.r is complete.
func (r *Reader) scanReply() (bool, error) {
	for r.pending > 0 {
		if r.bulk >= 0 {
			if int64(r.w-r.pos) < r.bulk+2 {
				return false, nil
			}
			end := r.pos + int(r.bulk)
			if r.buf[end] != '\r' || r.buf[end+1] != '\n' {
				return false, fmt.Errorf("%w: bulk string not terminated by CRLF", ErrInvalidReply)
			}
			r.pos = end + 2
			r.bulk = -1
			r.pending--
			continue
		}
		line := r.buf[r.pos:r.w]
		i := bytes.IndexByte(line[r.scan:], '\n')
		if i < 0 {
			r.scan = len(line) // resume there: a trickling line costs linear time
			if int64(r.w-r.r) > r.lim.MaxReplyLen {
				return false, fmt.Errorf("%w: frame over %d bytes", ErrReplyTooLarge, r.lim.MaxReplyLen)
			}
			return false, nil
		}
		i += r.scan
		r.scan = 0
		if i < 2 || line[i-1] != '\r' {
			return false, fmt.Errorf("%w: line %q not terminated by CRLF", ErrInvalidReply, clip(line[:i+1]))
		}
		body := line[1 : i-1]
		switch line[0] {
		case '+', '-':
			r.pending--
		case ':':
			if _, ok := parseInt(body); !ok {
				return false, fmt.Errorf("%w: bad integer %q", ErrInvalidReply, clip(body))
			}
			r.pending--
		case '$':
			n, ok := parseInt(body)
			switch {
			case !ok || n < -1:
				return false, fmt.Errorf("%w: bad bulk length %q", ErrInvalidReply, clip(body))
			case n == -1:
				r.pending--
			case n > r.lim.MaxBulkLen || int64(r.pos-r.r+i+1)+n+2 > r.lim.MaxReplyLen:
				return false, fmt.Errorf("%w: bulk of %d bytes", ErrReplyTooLarge, n)
			default:
				r.bulk = n
			}
		case '*':
			n, ok := parseInt(body)
			switch {
			case !ok || n < -1:
				return false, fmt.Errorf("%w: bad array length %q", ErrInvalidReply, clip(body))
			case n == -1:
				r.pending--
			default:
				// Every element takes at least 3 bytes.
				size := int64(r.pos - r.r + i + 1)
				if n > (r.lim.MaxReplyLen-size)/3-int64(r.pending) {
					return false, fmt.Errorf("%w: array of %d elements", ErrReplyTooLarge, n)
				}
				r.pending += int(n) - 1
			}
		default:
			return false, fmt.Errorf("%w: unexpected type byte %q", ErrInvalidReply, line[0])
		}
		r.pos += i + 1
	}
	return true, nil
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// Kind is the type of a reply.
type Kind uint8

// Reply kinds. Null bulk and null array are distinct kinds so that a proxy
// or a test never confuses them (go-redis does).
const (
	KindInvalid      Kind = iota
	KindSimpleString      // +OK
	KindError             // -ERR ...
	KindInteger           // :1
	KindBulk              // $3 foo
	KindNullBulk          // $-1
	KindArray             // *2 ...
	KindNullArray         // *-1
)

var kindNames = [...]string{"invalid", "simple-string", "error", "integer", "bulk", "null-bulk", "array", "null-array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a parsed reply. Str aliases the raw frame it was parsed from.
type Value struct {
	Kind  Kind
	Str   []byte  // SimpleString, Error (without '-'), Bulk
	Int   int64   // Integer
	Array []Value // Array
}

// IsNull reports a null bulk or a null array.
func (v Value) IsNull() bool { return v.Kind == KindNullBulk || v.Kind == KindNullArray }

// Err returns the server's error reply as an Error, or nil when v is not
// an error reply.
func (v Value) Err() error {
	if v.Kind != KindError {
		return nil
	}
	return Error(v.Str)
}

// String renders v for tests and logs (not RESP).
func (v Value) String() string {
	switch v.Kind {
	case KindSimpleString:
		return string(v.Str)
	case KindError:
		return "(error) " + string(v.Str)
	case KindInteger:
		return "(integer) " + strconv.FormatInt(v.Int, 10)
	case KindBulk:
		return strconv.Quote(string(v.Str))
	case KindNullBulk, KindNullArray:
		return "(nil)"
	case KindArray:
		var b bytes.Buffer
		b.WriteByte('[')
		for i, e := range v.Array {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.String())
		}
		b.WriteByte(']')
		return b.String()
	}
	return "(invalid)"
}

// AppendValue appends v encoded as RESP2. For a Value parsed from a frame
// read by ReadReply, the result is that frame byte for byte.
func AppendValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindSimpleString:
		dst = append(dst, '+')
		dst = append(dst, v.Str...)
		return append(dst, '\r', '\n')
	case KindError:
		dst = append(dst, '-')
		dst = append(dst, v.Str...)
		return append(dst, '\r', '\n')
	case KindInteger:
		return AppendInt(dst, v.Int)
	case KindBulk:
		return AppendBulk(dst, v.Str)
	case KindNullBulk:
		return AppendNullBulk(dst)
	case KindNullArray:
		return AppendNullArray(dst)
	case KindArray:
		dst = AppendArray(dst, len(v.Array))
		for _, e := range v.Array {
			dst = AppendValue(dst, e)
		}
		return dst
	}
	return dst
}

// maxParseDepth bounds the nesting ParseReply accepts (Redis replies nest
// a few levels; COMMAND DOCS about 7).
const maxParseDepth = 1000

// ParseReply parses exactly one reply frame (as returned by ReadReply).
// Strings in the result alias raw. Errors wrap ErrInvalidReply.
func ParseReply(raw []byte) (Value, error) {
	v, n, err := parseValue(raw, 0)
	if err != nil {
		return Value{}, err
	}
	if n != len(raw) {
		return Value{}, fmt.Errorf("%w: %d bytes after the frame", ErrInvalidReply, len(raw)-n)
	}
	return v, nil
}

func parseValue(b []byte, depth int) (Value, int, error) {
	if depth > maxParseDepth {
		return Value{}, 0, fmt.Errorf("%w: nesting deeper than %d", ErrInvalidReply, maxParseDepth)
	}
	i := bytes.IndexByte(b, '\n')
	if i < 2 || b[i-1] != '\r' {
		return Value{}, 0, fmt.Errorf("%w: no CRLF-terminated line", ErrInvalidReply)
	}
	body := b[1 : i-1]
	n := i + 1
	switch b[0] {
	case '+':
		return Value{Kind: KindSimpleString, Str: body}, n, nil
	case '-':
		return Value{Kind: KindError, Str: body}, n, nil
	case ':':
		x, ok := parseInt(body)
		if !ok {
			return Value{}, 0, fmt.Errorf("%w: bad integer %q", ErrInvalidReply, clip(body))
		}
		return Value{Kind: KindInteger, Int: x}, n, nil
	case '$':
		l, ok := parseInt(body)
		switch {
		case !ok || l < -1:
			return Value{}, 0, fmt.Errorf("%w: bad bulk length %q", ErrInvalidReply, clip(body))
		case l == -1:
			return Value{Kind: KindNullBulk}, n, nil
		case l > int64(len(b)-n-2):
			return Value{}, 0, fmt.Errorf("%w: bulk of %d bytes truncated", ErrInvalidReply, l)
		}
		end := n + int(l)
		if b[end] != '\r' || b[end+1] != '\n' {
			return Value{}, 0, fmt.Errorf("%w: bulk string not terminated by CRLF", ErrInvalidReply)
		}
		return Value{Kind: KindBulk, Str: b[n:end:end]}, end + 2, nil
	case '*':
		l, ok := parseInt(body)
		switch {
		case !ok || l < -1:
			return Value{}, 0, fmt.Errorf("%w: bad array length %q", ErrInvalidReply, clip(body))
		case l == -1:
			return Value{Kind: KindNullArray}, n, nil
		case l > int64(len(b)-n)/3:
			return Value{}, 0, fmt.Errorf("%w: array of %d elements truncated", ErrInvalidReply, l)
		}
		arr := make([]Value, l)
		for k := range arr {
			e, m, err := parseValue(b[n:], depth+1)
			if err != nil {
				return Value{}, 0, err
			}
			arr[k] = e
			n += m
		}
		return Value{Kind: KindArray, Array: arr}, n, nil
	}
	return Value{}, 0, fmt.Errorf("%w: unexpected type byte %q", ErrInvalidReply, b[0])
}
