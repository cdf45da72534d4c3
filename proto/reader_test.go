package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// chunkReader returns at most size bytes per Read (size <= 0: all).
type chunkReader struct {
	data []byte
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if c.size > 0 && n > c.size {
		n = c.size
	}
	n = copy(p, c.data[:min(n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}

// randomChunkReader returns random-sized pieces.
type randomChunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (c *randomChunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rng.IntN(64))
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// readAllCommands reads commands until an error and returns copies.
func readAllCommands(rd io.Reader, lim Limits) ([][]string, error) {
	r := NewReader(rd, lim)
	var out [][]string
	for {
		args, err := r.ReadCommand()
		if err != nil {
			return out, err
		}
		cmd := make([]string, len(args))
		for i, a := range args {
			cmd[i] = string(a)
			if cap(a) != len(a) {
				return out, fmt.Errorf("argument %d has spare capacity %d", i, cap(a)-len(a))
			}
		}
		out = append(out, cmd)
	}
}

func errText(err error) string {
	var pe *ProtocolError
	switch {
	case err == nil:
		return "<nil>"
	case errors.As(err, &pe):
		return "proto:" + pe.Msg
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected-eof"
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, ErrQueryBufferLimit):
		return "query-buffer"
	}
	return err.Error()
}

type readerCase struct {
	name  string
	in    string
	lim   Limits
	auth  bool
	want  [][]string
	err   string // errText of the final error
	noSub bool   // skip the chunked variants (slow inputs)
}

func bigString(n int, c byte) string { return strings.Repeat(string(c), n) }

func readerCases() []readerCase {
	huge := bigString(100_000, 'v')
	return []readerCase{
		{name: "multibulk", in: "*1\r\n$4\r\nPING\r\n", want: [][]string{{"PING"}}, err: "eof"},
		{name: "pipeline", in: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$0\r\n\r\n",
			want: [][]string{{"SET", "k", "value"}, {"GET", "k"}, {""}}, err: "eof"},
		{name: "binary", in: "*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\x00b\n\r\n", want: [][]string{{"ECHO", "a\r\n\x00b\n"}}, err: "eof"},
		{name: "inline", in: "PING\r\nPING\nECHO  a   b \r\n", want: [][]string{{"PING"}, {"PING"}, {"ECHO", "a", "b"}}, err: "eof"},
		{name: "empty requests skipped", in: "\r\n\n   \r\n*0\r\n*-1\r\n*-5\r\nPING\r\n", want: [][]string{{"PING"}}, err: "eof"},
		{name: "mixed", in: "PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n", want: [][]string{{"PING"}, {"PING"}, {"PING"}}, err: "eof"},
		{name: "inline double quotes", in: `SET "a b" "\x41\x4a\n\r\t\b\a\\\"z" ""` + "\r\n",
			want: [][]string{{"SET", "a b", "AJ\n\r\t\b\a\\\"z", ""}}, err: "eof"},
		{name: "inline bad hex is literal", in: `ECHO "\xZZ\x4" "\q"` + "\r\n", want: [][]string{{"ECHO", "xZZx4", "q"}}, err: "eof"},
		{name: "inline single quotes", in: `ECHO 'a\'b' 'a\nb' 'x"y'` + "\r\n", want: [][]string{{"ECHO", "a'b", `a\nb`, `x"y`}}, err: "eof"},
		{name: "inline quote mid token", in: `ECHO foo"bar baz"` + "\r\n", want: [][]string{{"ECHO", "foobar baz"}}, err: "eof"},
		{name: "inline quote then tab", in: "ECHO \"a\"\tb\r\n", want: [][]string{{"ECHO", "a", "b"}}, err: "eof"},
		{name: "inline vt is not a separator inside a token", in: "ECHO a\vb \vc\r\n", want: [][]string{{"ECHO", "a\vb", "c"}}, err: "eof"},
		{name: "inline CR inside line", in: "ECHO a\rb\n", want: [][]string{{"ECHO", "a", "b"}}, err: "eof"},
		{name: "inline closing quote followed by text", in: `ECHO "a"b` + "\r\n", err: "proto:Protocol error: unbalanced quotes in request"},
		{name: "inline unterminated double", in: `ECHO "ab` + "\r\n", err: "proto:Protocol error: unbalanced quotes in request"},
		{name: "inline unterminated single", in: `ECHO 'ab` + "\r\n", err: "proto:Protocol error: unbalanced quotes in request"},
		{name: "inline trailing backslash in quotes", in: `ECHO "ab\` + "\r\n", err: "proto:Protocol error: unbalanced quotes in request"},
		{name: "commands before an error are returned", in: "PING\r\n*1\r\n+PING\r\n", want: [][]string{{"PING"}},
			err: "proto:Protocol error: expected '$', got '+'"},
		{name: "bulk CRLF not checked", in: "*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", want: [][]string{{"PING"}, {"PING"}}, err: "eof"},
		{name: "count line LF not checked", in: "*1\rx$4\rxPINGxx", want: [][]string{{"PING"}}, err: "eof"},
		{name: "expected dollar LF shows as space", in: "*1\r\n\n\r\n", err: "proto:Protocol error: expected '$', got ' '"},
		{name: "leading zero count", in: "*01\r\n$4\r\nPING\r\n", err: "proto:Protocol error: invalid multibulk length"},
		{name: "plus count", in: "*+1\r\n", err: "proto:Protocol error: invalid multibulk length"},
		{name: "empty count", in: "*\r\n", err: "proto:Protocol error: invalid multibulk length"},
		{name: "count over INT_MAX", in: "*2147483648\r\n", err: "proto:Protocol error: invalid multibulk length"},
		{name: "count INT_MAX waits", in: "*2147483647\r\n", err: "unexpected-eof"},
		{name: "over 1M args is fine", in: "*1048577\r\n$4\r\nPING\r\n", err: "unexpected-eof"},
		{name: "negative bulk", in: "*1\r\n$-1\r\n", err: "proto:Protocol error: invalid bulk length"},
		{name: "leading zero bulk", in: "*1\r\n$04\r\nPING\r\n", err: "proto:Protocol error: invalid bulk length"},
		{name: "bulk over proto-max-bulk-len", in: "*1\r\n$536870913\r\n", err: "proto:Protocol error: invalid bulk length"},
		{name: "bulk at proto-max-bulk-len waits", in: "*1\r\n$536870912\r\nabc", err: "unexpected-eof"},
		{name: "redcon crash input", in: "*1\r\n$9223372036854775807\r\n", err: "proto:Protocol error: invalid bulk length"},
		{name: "int64 overflow bulk", in: "*1\r\n$9223372036854775808\r\n", err: "proto:Protocol error: invalid bulk length"},
		{name: "huge count", in: "*9223372036854775807\r\n", err: "proto:Protocol error: invalid multibulk length"},
		{name: "NUL in inline line waits like strchr", in: "SET a \"b\x00c\"\r\nPING\r\n", err: "unexpected-eof"},
		{name: "NUL in count line waits", in: "*1\x00\r\n$4\r\nPING\r\n", err: "unexpected-eof"},
		{name: "NUL in bulk count line waits", in: "*1\r\n$\x004\r\nPING\r\n", err: "unexpected-eof"},
		{name: "NUL as bulk type waits", in: "*1\r\n\x00\r\n", err: "unexpected-eof"},
		{name: "eof inside command", in: "*2\r\n$3\r\nGET\r\n", err: "unexpected-eof"},
		{name: "eof inside inline", in: "PING", err: "unexpected-eof"},
		{name: "big argument", in: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + huge + "\r\n*1\r\n$4\r\nPING\r\n",
			want: [][]string{{"SET", "k", huge}, {"PING"}}, err: "eof"},
		{name: "too big inline", in: bigString(70_000, 'a'), err: "proto:Protocol error: too big inline request", noSub: true},
		{name: "inline at the limit", in: bigString(60_000, 'a') + "\n", want: [][]string{{bigString(60_000, 'a')}}, err: "eof", noSub: true},
		{name: "too big mbulk count", in: "*" + bigString(70_000, '1'), err: "proto:Protocol error: too big mbulk count string", noSub: true},
		{name: "too big bulk count", in: "*1\r\n$" + bigString(70_000, '1'), err: "proto:Protocol error: too big bulk count string", noSub: true},
		{name: "small inline limit", in: "PING PING\r\n", lim: Limits{MaxInlineLen: 4}, want: [][]string{{"PING", "PING"}}, err: "eof", noSub: true}, // accepted only when the newline comes in the same read, as in Redis
		{name: "small inline limit exceeded", in: "PING PING", lim: Limits{MaxInlineLen: 4}, err: "proto:Protocol error: too big inline request"},
		{name: "small bulk limit", in: "*1\r\n$5\r\nhello\r\n", lim: Limits{MaxBulkLen: 4}, err: "proto:Protocol error: invalid bulk length"},
		{name: "small multibulk limit", in: "*3\r\n", lim: Limits{MaxMultibulkLen: 2}, err: "proto:Protocol error: invalid multibulk length"},
		{name: "query buffer limit", in: "*1\r\n$100000\r\n" + huge, lim: Limits{MaxQueryBuffer: 50_000}, err: "query-buffer", noSub: true},
		{name: "unauthenticated multibulk", in: "*11\r\n", auth: true, err: "proto:Protocol error: unauthenticated multibulk length"},
		{name: "unauthenticated 10 args ok", in: "*10\r\n", auth: true, err: "unexpected-eof"},
		{name: "unauthenticated bulk", in: "*1\r\n$16385\r\n", auth: true, err: "proto:Protocol error: unauthenticated bulk length"},
		{name: "unauthenticated bulk 16384 ok", in: "*1\r\n$16384\r\n", auth: true, err: "unexpected-eof"},
	}
}

func runCase(t *testing.T, tc readerCase, rd io.Reader) {
	t.Helper()
	r := NewReader(rd, tc.lim)
	r.SetAuthRequired(tc.auth)
	var got [][]string
	var err error
	for {
		var args [][]byte
		args, err = r.ReadCommand()
		if err != nil {
			break
		}
		cmd := make([]string, len(args))
		for i, a := range args {
			cmd[i] = string(a)
		}
		got = append(got, cmd)
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
		t.Errorf("commands:\n got %.300q\nwant %.300q", got, tc.want)
	}
	if errText(err) != tc.err {
		t.Errorf("error: got %s, want %s", errText(err), tc.err)
	}
	if _, err2 := r.ReadCommand(); errText(err2) != errText(err) {
		t.Errorf("error not sticky: %v then %v", err, err2)
	}
}

func TestReadCommand(t *testing.T) {
	for _, tc := range readerCases() {
		t.Run(tc.name, func(t *testing.T) {
			runCase(t, tc, &chunkReader{data: []byte(tc.in)})
			if tc.noSub {
				return
			}
			for _, size := range []int{1, 2, 3, 7, 64} {
				t.Run(fmt.Sprintf("chunks-%d", size), func(t *testing.T) {
					runCase(t, tc, &chunkReader{data: []byte(tc.in), size: size})
				})
			}
		})
	}
}

// TestReadCommandEverySplit feeds a pipeline split in two at every byte
// boundary.
func TestReadCommandEverySplit(t *testing.T) {
	in := "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nPING\r\n\r\n*0\r\n" +
		`ECHO "a\x41" 'b c'` + "\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
	want, err := readAllCommands(&chunkReader{data: []byte(in)}, Limits{})
	if err != io.EOF || len(want) != 4 {
		t.Fatalf("whole input: %q, %v", want, err)
	}
	for i := 0; i <= len(in); i++ {
		rd := io.MultiReader(&chunkReader{data: []byte(in[:i])}, &chunkReader{data: []byte(in[i:])})
		got, err := readAllCommands(rd, Limits{})
		if err != io.EOF || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("split at %d: got %q, %v", i, got, err)
		}
	}
}

func TestBuffered(t *testing.T) {
	in := "PING\r\n*1\r\n$4\r\nPING\r\nPI"
	r := NewReader(&chunkReader{data: []byte(in)}, Limits{})
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Buffered(), len(in)-6; got != want {
		t.Fatalf("Buffered after first command = %d, want %d", got, want)
	}
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if got := r.Buffered(); got != 2 {
		t.Fatalf("Buffered after second command = %d, want 2", got)
	}
}

// TestHugeDeclaredLengthsAllocateLittle sends headers declaring huge
// arguments and checks that memory follows the bytes sent, not the header.
func TestHugeDeclaredLengthsAllocateLittle(t *testing.T) {
	inputs := []string{
		"*1\r\n$536870912\r\n" + bigString(1000, 'x'),
		"*2147483647\r\n$1\r\na\r\n",
		"*1\r\n$9223372036854775807\r\n",
	}
	for _, in := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := NewReader(&chunkReader{data: []byte(in)}, Limits{})
		for {
			if _, err := r.ReadCommand(); err != nil {
				break
			}
		}
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 2<<20 {
			t.Errorf("%.30q: allocated %d bytes", in, d)
		}
	}
}

// TestBigArgumentGrowsWithData checks the big-argument buffer of a
// partially received 512 MB bulk.
func TestBigArgumentGrowsWithData(t *testing.T) {
	in := "*1\r\n$536870912\r\n" + bigString(300_000, 'x')
	r := NewReader(&chunkReader{data: []byte(in), size: 4096}, Limits{})
	_, err := r.ReadCommand()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if len(r.big) != 300_000 || cap(r.big) > 2*bigArgFirstChunk {
		t.Fatalf("big buffer len %d cap %d", len(r.big), cap(r.big))
	}
}

// TestBufferShrinks checks that the buffer grown for one large command
// goes back to the default size after small ones.
func TestBufferShrinks(t *testing.T) {
	var b []byte
	args := make([][]byte, 50_001)
	args[0] = []byte("MSET")
	for i := 1; i < len(args); i++ {
		args[i] = []byte("0123456789")
	}
	b = AppendCommand(b, args...)
	for range 100 {
		b = AppendCommandStrings(b, "GET", "k")
	}
	r := NewReader(&chunkReader{data: b, size: 8192}, Limits{})
	cmd, err := r.ReadCommand()
	if err != nil || len(cmd) != len(args) {
		t.Fatalf("big command: %d args, %v", len(cmd), err)
	}
	if len(r.buf) <= keepBufferSize {
		t.Fatalf("buffer did not grow: %d", len(r.buf))
	}
	for range 100 {
		if _, err := r.ReadCommand(); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.buf) != DefaultBufferSize {
		t.Fatalf("buffer is %d bytes after small commands, want %d", len(r.buf), DefaultBufferSize)
	}
}

func TestReaderRandomChunks(t *testing.T) {
	seed := uint64(1)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var in []byte
	var want [][]string
	for i := range 2000 {
		n := 1 + rng.IntN(5)
		cmd := make([]string, n)
		for j := range cmd {
			l := rng.IntN(20)
			if rng.IntN(200) == 0 {
				l = 40_000 + rng.IntN(20_000) // big argument
			}
			buf := make([]byte, l)
			for k := range buf {
				buf[k] = byte(rng.IntN(256))
			}
			cmd[j] = string(buf)
		}
		if i%10 == 0 {
			cmd = []string{"INLINE", fmt.Sprint(i)}
			in = append(in, "INLINE "+fmt.Sprint(i)+"\r\n"...)
		} else {
			in = AppendCommandStrings(in, cmd...)
		}
		want = append(want, cmd)
	}
	got, err := readAllCommands(&randomChunkReader{data: in, rng: rng}, Limits{})
	if err != io.EOF {
		t.Fatalf("err %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d commands, want %d", len(got), len(want))
	}
	for i := range want {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Fatalf("command %d differs", i)
		}
	}
}

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true}, {"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false}, {"", 0, false}, {"-", 0, false}, {"-0", 0, false},
		{"01", 0, false}, {"+1", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1a", 0, false},
		{"123456789012345678901", 0, false}, {"18446744073709551616", 0, false},
	} {
		got, ok := parseInt([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, l := range []Limits{{MaxBulkLen: -1}, {MaxMultibulkLen: -1}, {MaxInlineLen: -1}, {MaxQueryBuffer: -1}, {MaxReplyLen: -1}} {
		if err := l.Validate(); !errors.Is(err, ErrInvalidLimits) {
			t.Errorf("%+v: %v", l, err)
		}
	}
}

func TestProtocolErrorIs(t *testing.T) {
	_, err := NewReader(strings.NewReader("*x\r\n"), Limits{}).ReadCommand()
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("%v does not match ErrProtocol", err)
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Reply() != "ERR Protocol error: invalid multibulk length" {
		t.Fatalf("reply text %q", pe.Reply())
	}
	if bytes.Contains([]byte(err.Error()), []byte("\n")) {
		t.Fatal("newline in error")
	}
}

// FuzzFastCount checks that the count-line fast path agrees with the
// general path (first '\r', a byte after it, string2ll).
func FuzzFastCount(f *testing.F) {
	for _, s := range []string{"$3\r\n", "*0\r\n", "$0\rx", "$12345678901\r\n", "$0123\r\n", "$-1\r\n", "$1\r", "*99999999999999\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) == 0 || (line[0] != '*' && line[0] != '$') {
			return // callers pass count lines only
		}
		n, i := fastCount(line)
		if i == 0 {
			return
		}
		j := bytes.IndexByte(line, '\r')
		m, ok := parseInt(line[1:max(j, 1)])
		if j != i || j+2 > len(line) || !ok || m != n {
			t.Fatalf("fastCount(%q) = %d at %d; general path: %d, %v at %d", line, n, i, m, ok, j)
		}
	})
}

func TestReset(t *testing.T) {
	r := NewReader(strings.NewReader("*2\r\n$3\r\nGET\r\n"), Limits{})
	if _, err := r.ReadCommand(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v", err)
	}
	r.Reset(strings.NewReader("PING\r\n"))
	args, err := r.ReadCommand()
	if err != nil || len(args) != 1 || string(args[0]) != "PING" {
		t.Fatalf("after Reset: %q, %v", args, err)
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("err %v", err)
	}
}
