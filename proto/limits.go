package proto

import (
	"fmt"
	"math"
)

// Limits bounds what a Reader accepts. The defaults are redis-server 7.0's.
// A zero field means "use the default", so Limits{} behaves like
// DefaultLimits().
type Limits struct {
	// MaxBulkLen is the largest bulk string accepted in a request
	// (Redis's proto-max-bulk-len, 512 MB) and in a reply read by ReadReply.
	MaxBulkLen int64
	// MaxMultibulkLen is the largest argument count of one request. Redis
	// 7.0 rejects only counts above INT_MAX (2147483647); older versions
	// capped it at 1024*1024. Arguments are stored as they arrive, so a big
	// declared count costs nothing until the bytes come.
	MaxMultibulkLen int
	// MaxInlineLen bounds an inline request line and the "*N" / "$N" count
	// lines of a multibulk request (Redis's PROTO_INLINE_MAX_SIZE, 64 KB).
	MaxInlineLen int
	// MaxQueryBuffer bounds the bytes buffered but not yet parsed into
	// arguments (Redis's client-query-buffer-limit, 1 GB). Going over it
	// makes ReadCommand fail with ErrQueryBufferLimit; Redis closes such a
	// client without a reply.
	MaxQueryBuffer int64
	// MaxReplyLen bounds the size of one whole reply frame read by
	// ReadReply (shoal's own limit, 1 GB by default; Redis has none).
	MaxReplyLen int64
}

// Redis 7.0's defaults.
const (
	DefaultMaxBulkLen      = 512 << 20
	DefaultMaxMultibulkLen = math.MaxInt32
	DefaultMaxInlineLen    = 64 << 10
	DefaultMaxQueryBuffer  = 1 << 30
	DefaultMaxReplyLen     = 1 << 30
)

// DefaultLimits returns Redis 7.0's limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBulkLen:      DefaultMaxBulkLen,
		MaxMultibulkLen: DefaultMaxMultibulkLen,
		MaxInlineLen:    DefaultMaxInlineLen,
		MaxQueryBuffer:  DefaultMaxQueryBuffer,
		MaxReplyLen:     DefaultMaxReplyLen,
	}
}

// withDefaults replaces zero fields by the defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBulkLen == 0 {
		l.MaxBulkLen = d.MaxBulkLen
	}
	if l.MaxMultibulkLen == 0 {
		l.MaxMultibulkLen = d.MaxMultibulkLen
	}
	if l.MaxInlineLen == 0 {
		l.MaxInlineLen = d.MaxInlineLen
	}
	if l.MaxQueryBuffer == 0 {
		l.MaxQueryBuffer = d.MaxQueryBuffer
	}
	if l.MaxReplyLen == 0 {
		l.MaxReplyLen = d.MaxReplyLen
	}
	return l
}

// Validate reports a negative limit or a multibulk count beyond INT_MAX.
// Zero fields are valid (they mean the default).
func (l Limits) Validate() error {
	switch {
	case l.MaxBulkLen < 0:
		return fmt.Errorf("%w: MaxBulkLen %d < 0", ErrInvalidLimits, l.MaxBulkLen)
	case l.MaxMultibulkLen < 0 || int64(l.MaxMultibulkLen) > math.MaxInt32:
		return fmt.Errorf("%w: MaxMultibulkLen %d out of [0, %d]", ErrInvalidLimits, l.MaxMultibulkLen, math.MaxInt32)
	case l.MaxInlineLen < 0:
		return fmt.Errorf("%w: MaxInlineLen %d < 0", ErrInvalidLimits, l.MaxInlineLen)
	case l.MaxQueryBuffer < 0:
		return fmt.Errorf("%w: MaxQueryBuffer %d < 0", ErrInvalidLimits, l.MaxQueryBuffer)
	case l.MaxReplyLen < 0:
		return fmt.Errorf("%w: MaxReplyLen %d < 0", ErrInvalidLimits, l.MaxReplyLen)
	}
	return nil
}
