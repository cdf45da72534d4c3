package proto

import (
	"bytes"
	"errors"
	"io"
)

const (
	// DefaultBufferSize is the Reader's initial buffer (Redis reads 16 KB
	// at a time, PROTO_IOBUF_LEN).
	DefaultBufferSize = 16 << 10
	// bigArgLen is Redis's PROTO_MBULK_BIG_ARG: a request argument this
	// long that is not yet fully buffered is read into its own buffer.
	bigArgLen = 32 << 10
	// bigArgFirstChunk caps the first allocation for a big argument; the
	// buffer then doubles as bytes arrive, up to the declared length.
	bigArgFirstChunk = 256 << 10
	// keepBufferSize: a main buffer grown beyond this is given back once
	// commands are small again (see release).
	keepBufferSize = 256 << 10
	// keepArgs: argument slices with a larger capacity are dropped after use.
	keepArgs = 1 << 14
)

// Reader reads whole RESP2 frames from an io.Reader: requests on the server
// side (ReadCommand) or replies on the client side (ReadReply). One Reader
// serves one connection and one direction; do not mix ReadCommand and
// ReadReply on the same Reader. A Reader is not safe for concurrent use.
//
// Slices returned by ReadCommand and ReadReply alias the Reader's buffers:
// they are valid only until the next call of ReadCommand or ReadReply. Copy
// what you keep (a store must copy keys and values).
//
// The Reader allocates only as bytes arrive: a declared length is never
// trusted for an allocation, and in steady state (commands that fit in the
// buffer) ReadCommand allocates nothing.
type Reader struct {
	rd  io.Reader
	lim Limits

	buf  []byte // buffered input is buf[r:w]
	r, w int    // r: first byte still needed; w: end of buffered data

	authRequired bool

	// State of the request being parsed, kept across reads so nothing is
	// parsed twice.
	inMulti bool
	pending int    // arguments still to read (multibulk) or elements (reply)
	pos     int    // parse position in buf
	bulk    int64  // length of the bulk being read, -1 when a "$" line is expected
	big     []byte // big argument being filled, nil when none
	spans   []span // arguments of the current command, relative to r
	bigs    [][]byte
	args    [][]byte

	inReply bool

	scan  int  // bytes of the current line already searched for its end
	stuck bool // the current line has a NUL before its end: Redis never sees the end

	smallRuns int   // commands in a row that fit in DefaultBufferSize (see release)
	readErr   error // error returned together with data by the io.Reader
	err       error // sticky error
}

// span locates an argument: buf[r+off : r+off+n] when off >= 0, else
// bigs[-off-1].
type span struct {
	off int
	n   int
}

// NewReader returns a Reader over rd with the given limits (zero fields
// take the defaults) and a DefaultBufferSize buffer.
func NewReader(rd io.Reader, lim Limits) *Reader {
	return NewReaderSize(rd, lim, DefaultBufferSize)
}

// NewReaderSize is NewReader with an initial buffer of size bytes (at
// least 16). The buffer grows as needed and shrinks back to this size.
func NewReaderSize(rd io.Reader, lim Limits, size int) *Reader {
	if size < 16 {
		size = 16
	}
	return &Reader{rd: rd, lim: lim.withDefaults(), buf: make([]byte, size), bulk: -1}
}

// Reset makes the Reader read from rd as if new, keeping its buffers.
func (r *Reader) Reset(rd io.Reader) {
	r.release()
	*r = Reader{
		rd: rd, lim: r.lim, buf: r.buf, bulk: -1,
		spans: r.spans[:0], bigs: r.bigs[:0], args: r.args[:0],
	}
}

// SetAuthRequired tells the Reader whether the client still has to
// authenticate. Redis then refuses requests of more than 10 arguments or
// bulks over 16384 bytes ("Protocol error: unauthenticated multibulk
// length" / "unauthenticated bulk length"), so an unauthenticated client
// cannot make the server buffer much. Off by default.
func (r *Reader) SetAuthRequired(required bool) { r.authRequired = required }

// Buffered returns the number of bytes already read from the connection and
// not yet consumed by a returned command or reply. When it is 0, the next
// ReadCommand will read from the connection. When it is not 0, the
// buffered bytes may still be an incomplete request, so a server must not
// hold its replies back just because Buffered() > 0: a client may wait for
// them before sending the rest (Redis's own test suite does). Use
// FlushBeforeRead to flush exactly when the Reader is about to read.
func (r *Reader) Buffered() int { return r.w - r.r }

// FlushBeforeRead returns an io.Reader that calls flush before every Read
// of rd. A server reading requests with a Reader over
// FlushBeforeRead(conn, writeReplies) writes the replies of a whole
// pipeline at once, exactly when it has run every buffered request and is
// about to wait for more: the Reader reads from rd only when it needs
// bytes. This is what Redis does (replies go out before the event loop
// sleeps) and it cannot deadlock on a client that waits for replies after
// sending part of a request. If flush fails, Read returns its error.
func FlushBeforeRead(rd io.Reader, flush func() error) io.Reader {
	return &flushingReader{rd: rd, flush: flush}
}

type flushingReader struct {
	rd    io.Reader
	flush func() error
}

func (f *flushingReader) Read(p []byte) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.rd.Read(p)
}

// ReadCommand reads the next request, multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
// or inline ("GET k\r\n", split like Redis's sdssplitargs). Empty requests
// (blank inline lines, "*0", "*-1") are skipped, as Redis does. The returned
// arguments alias the Reader's buffers until the next call.
//
// Errors: io.EOF when the connection ends between commands,
// io.ErrUnexpectedEOF when it ends inside one, a *ProtocolError (matching
// ErrProtocol) for malformed input (reply "-ERR "+Msg and close, as Redis
// does), ErrQueryBufferLimit, or the connection's read error. Errors are
// sticky: every later call returns the same error.
func (r *Reader) ReadCommand() ([][]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.inReply {
		return nil, errors.New("proto: ReadCommand called during ReadReply")
	}
	r.release()
	for {
		args, done, err := r.parseCommand()
		if err != nil {
			r.err = err
			return nil, err
		}
		if done {
			if len(args) == 0 {
				continue // empty request: skipped like Redis
			}
			return args, nil
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && (r.inMulti || r.r < r.w) {
				err = io.ErrUnexpectedEOF
			}
			r.err = err
			return nil, err
		}
	}
}

// release forgets the previous command: big argument buffers, oversized
// argument slices, and an oversized main buffer once commands are small.
func (r *Reader) release() {
	for i := range r.bigs {
		r.bigs[i] = nil
	}
	r.bigs = r.bigs[:0]
	if cap(r.args) > keepArgs {
		r.args, r.spans = nil, nil
	}
	// Shrink an oversized buffer only after a run of small frames, so that
	// a client sending big ones does not make us reallocate for each.
	if len(r.buf) > keepBufferSize && r.smallRuns >= 64 && !r.inMulti && !r.inReply && r.w-r.r <= DefaultBufferSize {
		nb := make([]byte, DefaultBufferSize)
		r.w = copy(nb, r.buf[r.r:r.w])
		r.r = 0
		r.buf = nb
		r.smallRuns = 0
	}
}

// noteSize counts runs of frames that would fit in a default buffer.
func (r *Reader) noteSize(n int) {
	if n > DefaultBufferSize {
		r.smallRuns = 0
	} else if r.smallRuns < 64 {
		r.smallRuns++
	}
}

// parseCommand parses as much of the current command as is buffered. It
// returns done=true with the arguments (possibly none) when a whole command
// was consumed, done=false when more bytes are needed.
func (r *Reader) parseCommand() ([][]byte, bool, error) {
	if !r.inMulti {
		if r.r == r.w {
			return nil, false, nil
		}
		if r.buf[r.r] != '*' {
			return r.parseInline()
		}
		// "*<count>\r\n"
		line := r.buf[r.r:r.w]
		n, i := fastCount(line)
		ok := i > 0
		if !ok {
			if i = r.lineEnd(line, '\r'); i < 0 {
				return r.waitLine(line, msgTooBigMbulkCount)
			}
			n, ok = parseInt(line[1:i])
		}
		if !ok || n > int64(r.lim.MaxMultibulkLen) {
			if hasNUL(line[:i]) {
				r.stuck = true // Redis's strchr stops at the NUL
				return r.waitLine(line, msgTooBigMbulkCount)
			}
			return nil, false, protoErr(msgInvalidMultibulkLen)
		}
		if n > 10 && r.authRequired {
			return nil, false, protoErr(msgUnauthMultibulkLen)
		}
		// Redis skips the byte after '\r' without looking at it.
		r.r += i + 2
		r.scan = 0
		if n <= 0 {
			return nil, true, nil
		}
		r.inMulti = true
		r.pending = int(n)
		r.pos = r.r
		r.bulk = -1
		r.spans = r.spans[:0]
	}
	for r.pending > 0 {
		if r.bulk < 0 {
			// "$<len>\r\n"
			line := r.buf[r.pos:r.w]
			n, i := fastCount(line)
			ok := i > 0 && line[0] == '$'
			if !ok {
				if i = r.lineEnd(line, '\r'); i < 0 {
					return r.waitLine(line, msgTooBigBulkCount)
				}
				if line[0] != '$' {
					if hasNUL(line[:i]) {
						r.stuck = true
						return r.waitLine(line, msgTooBigBulkCount)
					}
					return nil, false, protoErr(msgExpectedDollarPrefix + string([]byte{sanitizeByte(line[0])}) + msgExpectedDollarPostfix)
				}
				n, ok = parseInt(line[1:i])
			}
			if !ok || n < 0 || n > r.lim.MaxBulkLen {
				if hasNUL(line[:i]) {
					r.stuck = true
					return r.waitLine(line, msgTooBigBulkCount)
				}
				return nil, false, protoErr(msgInvalidBulkLen)
			}
			if n > 16384 && r.authRequired {
				return nil, false, protoErr(msgUnauthBulkLen)
			}
			r.pos += i + 2
			r.scan = 0
			r.bulk = n
			if n >= bigArgLen {
				if avail := int64(r.w - r.pos); avail < n+2 {
					// Read this argument into its own buffer, sized by what
					// has arrived, not by what was declared.
					c := int(max(min(n+2, bigArgFirstChunk), avail))
					big := make([]byte, int(avail), c)
					copy(big, r.buf[r.pos:r.w])
					r.w = r.pos
					r.big = big
				}
			}
		}
		if r.big != nil {
			if int64(len(r.big)) < r.bulk+2 {
				return nil, false, nil
			}
			// Like Redis, the two bytes after the bulk are not checked.
			r.bigs = append(r.bigs, r.big[:r.bulk:r.bulk])
			r.spans = append(r.spans, span{off: -len(r.bigs), n: int(r.bulk)})
			r.big = nil
		} else {
			if int64(r.w-r.pos) < r.bulk+2 {
				return nil, false, nil
			}
			r.spans = append(r.spans, span{off: r.pos - r.r, n: int(r.bulk)})
			r.pos += int(r.bulk) + 2
		}
		r.bulk = -1
		r.pending--
	}
	args := r.buildArgs(r.r)
	r.noteSize(r.pos - r.r)
	r.r = r.pos
	r.inMulti = false
	return args, true, nil
}

// fastCount parses the common count line: a type byte, 1 to 12 digits
// without a leading zero (or just "0"), '\r' and at least one more byte.
// It returns the index of the '\r', or 0 when the line needs the general
// path (incomplete, negative, long, malformed). What it accepts, the
// general path accepts with the same value.
func fastCount(line []byte) (int64, int) {
	if len(line) < 4 {
		return 0, 0
	}
	c := line[1]
	if c == '0' {
		if line[2] == '\r' {
			return 0, 2
		}
		return 0, 0
	}
	if c-'1' >= 9 {
		return 0, 0
	}
	n := int64(c - '0')
	end := min(len(line)-1, 14) // the '\r' needs a byte after it
	for i := 2; i < end; i++ {
		c = line[i]
		if c-'0' < 10 {
			n = n*10 + int64(c-'0')
			continue
		}
		if c == '\r' {
			return n, i
		}
		return 0, 0
	}
	return 0, 0
}

// lineEnd finds the terminator of a count line ('\r', followed by at least
// one byte, which Redis does not check) or of an inline line ('\n'). It
// returns -1 while the line is incomplete. The search resumes where the
// previous one stopped, so a line trickling in costs linear time, and a
// line Redis can never terminate (a NUL before the terminator: its strchr
// stops there) is remembered as stuck.
func (r *Reader) lineEnd(line []byte, term byte) int {
	if r.stuck {
		return -1
	}
	i := bytes.IndexByte(line[r.scan:], term)
	if i < 0 {
		r.scan = len(line)
		return -1
	}
	i += r.scan
	r.scan = i
	if term == '\r' && i+2 > len(line) {
		return -1
	}
	return i
}

// waitLine waits for more of a count line. Like Redis, it fails once more
// than the inline limit is buffered and no terminator is visible (none, or
// a NUL before it).
func (r *Reader) waitLine(line []byte, tooBig string) ([][]byte, bool, error) {
	if len(line) <= r.lim.MaxInlineLen {
		return nil, false, nil
	}
	if i := bytes.IndexByte(line, '\r'); r.stuck || i < 0 || hasNUL(line[:i]) {
		return nil, false, protoErr(tooBig)
	}
	return nil, false, nil
}

// buildArgs turns r.spans (relative to base) into r.args.
func (r *Reader) buildArgs(base int) [][]byte {
	args := r.args[:0]
	for _, s := range r.spans {
		if s.off >= 0 {
			p := base + s.off
			args = append(args, r.buf[p:p+s.n:p+s.n])
		} else {
			args = append(args, r.bigs[-s.off-1])
		}
	}
	r.args = args
	return args
}

// parseInline parses one inline request line at r.r.
func (r *Reader) parseInline() ([][]byte, bool, error) {
	line := r.buf[r.r:r.w]
	i := r.lineEnd(line, '\n')
	if i >= 0 && hasNUL(line[:i]) {
		r.stuck = true // Redis's strchr stops at the NUL
		i = -1
	}
	if i < 0 {
		if len(line) > r.lim.MaxInlineLen {
			return nil, false, protoErr(msgTooBigInline)
		}
		return nil, false, nil
	}
	end := i
	if end > 0 && line[end-1] == '\r' {
		end--
	}
	r.scan = 0
	spans, ok := splitArgs(line[:end], r.spans[:0])
	r.spans = spans
	if !ok {
		return nil, false, protoErr(msgUnbalancedQuotes)
	}
	args := r.buildArgs(r.r)
	r.noteSize(i + 1)
	r.r += i + 1
	return args, true, nil
}

// fill reads more bytes: into the big argument buffer when one is being
// filled, else into the main buffer, compacting or growing it first.
func (r *Reader) fill() error {
	if r.readErr != nil {
		err := r.readErr
		r.readErr = nil
		return err
	}
	var n int
	var err error
	if r.big != nil {
		need := r.bulk + 2
		if len(r.big) == cap(r.big) {
			c := int(min(need, 2*int64(cap(r.big))))
			nb := make([]byte, len(r.big), c)
			copy(nb, r.big)
			r.big = nb
		}
		n, err = r.rd.Read(r.big[len(r.big):cap(r.big)])
		r.big = r.big[:len(r.big)+n]
	} else {
		if r.r == r.w && !r.inMulti && !r.inReply {
			r.r, r.w = 0, 0
		}
		if r.r > 0 && len(r.buf)-r.w < len(r.buf)/4 {
			// Move the incomplete frame to the front.
			shift := r.r
			copy(r.buf, r.buf[r.r:r.w])
			r.w -= shift
			r.pos -= shift
			r.r = 0
		}
		if r.w == len(r.buf) {
			nb := make([]byte, 2*len(r.buf))
			copy(nb, r.buf[r.r:r.w])
			r.w -= r.r
			r.pos -= r.r
			r.r = 0
			r.buf = nb
		}
		n, err = r.rd.Read(r.buf[r.w:])
		r.w += n
	}
	if n > 0 {
		if int64(r.unparsed())+int64(len(r.big)) > r.lim.MaxQueryBuffer && !r.inReply {
			return ErrQueryBufferLimit
		}
		if err != nil {
			r.readErr = err
		}
		return nil
	}
	if err == nil {
		// A reader returning 0, nil too often is broken; treat as no
		// progress, as bufio does.
		return io.ErrNoProgress
	}
	return err
}

// unparsed is the number of buffered bytes not yet turned into arguments
// (what Redis counts against client-query-buffer-limit).
func (r *Reader) unparsed() int {
	if r.inMulti {
		return r.w - r.pos
	}
	return r.w - r.r
}

// parseInt parses a decimal integer exactly as Redis's string2ll: no sign
// other than a leading '-', no leading zeros, no spaces, at most 20 bytes,
// within int64.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) >= 21 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v *= 10
		if v > 1<<64-1-d {
			return 0, false
		}
		v += d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

func hasNUL(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }

// sanitizeByte maps CR and LF to a space, as Redis does for error texts.
func sanitizeByte(c byte) byte {
	if c == '\r' || c == '\n' {
		return ' '
	}
	return c
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// splitArgs splits an inline request line exactly as Redis's sdssplitargs,
// unescaping in place (the output never outruns the input) and appending
// the arguments' positions to spans. ok is false for unbalanced quotes or a
// closing quote not followed by a space.
func splitArgs(line []byte, spans []span) (_ []span, ok bool) {
	n := len(line)
	at := func(i int) byte { // C string semantics: 0 past the end
		if i < n {
			return line[i]
		}
		return 0
	}
	p, w := 0, 0
	for {
		for p < n && isSpace(line[p]) {
			p++
		}
		if p >= n {
			return spans, true
		}
		start := w
		inq, insq, done := false, false, false
		for !done {
			c := at(p)
			switch {
			case inq:
				switch {
				case c == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
					line[w] = hexVal(at(p+2))<<4 | hexVal(at(p+3))
					w++
					p += 3
				case c == '\\' && at(p+1) != 0:
					p++
					switch e := line[p]; e {
					case 'n':
						line[w] = '\n'
					case 'r':
						line[w] = '\r'
					case 't':
						line[w] = '\t'
					case 'b':
						line[w] = '\b'
					case 'a':
						line[w] = '\a'
					default:
						line[w] = e
					}
					w++
				case c == '"':
					if q := at(p + 1); q != 0 && !isSpace(q) {
						return spans, false
					}
					done = true
				case c == 0:
					return spans, false
				default:
					line[w] = c
					w++
				}
			case insq:
				switch {
				case c == '\\' && at(p+1) == '\'':
					p++
					line[w] = '\''
					w++
				case c == '\'':
					if q := at(p + 1); q != 0 && !isSpace(q) {
						return spans, false
					}
					done = true
				case c == 0:
					return spans, false
				default:
					line[w] = c
					w++
				}
			default:
				// Unquoted: copy a run of plain bytes in one go.
				for p < n {
					c = line[p]
					if c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '\'' {
						break
					}
					line[w] = c
					w++
					p++
				}
				if p >= n {
					done = true // end of line: C's '\0'
					continue
				}
				switch c {
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					done = true
				}
			}
			if p < n {
				p++
			}
		}
		spans = append(spans, span{off: start, n: w - start})
	}
}
