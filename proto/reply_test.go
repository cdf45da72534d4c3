package proto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// readAllReplies reads frames until an error and returns copies.
func readAllReplies(rd io.Reader, lim Limits) ([]string, error) {
	r := NewReader(rd, lim)
	var out []string
	for {
		f, err := r.ReadReply()
		if err != nil {
			return out, err
		}
		out = append(out, string(f))
	}
}

func TestReadReply(t *testing.T) {
	frames := []string{
		"+OK\r\n", "+\r\n", "-ERR unknown command 'x'\r\n", "-WRONGTYPE Operation\r\n", ":0\r\n", ":-9223372036854775808\r\n",
		"$0\r\n\r\n", "$5\r\nhe\r\no\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
		"*3\r\n$1\r\na\r\n*2\r\n:1\r\n*-1\r\n$-1\r\n",
		"*2\r\n*2\r\n*1\r\n*0\r\n+x\r\n-e\r\n",
		"$100000\r\n" + strings.Repeat("b", 100000) + "\r\n",
	}
	in := strings.Join(frames, "")
	for _, size := range []int{0, 1, 2, 5, 64} {
		got, err := readAllReplies(&chunkReader{data: []byte(in), size: size}, Limits{})
		if err != io.EOF {
			t.Fatalf("chunks %d: %v", size, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(frames) {
			t.Fatalf("chunks %d: frames differ", size)
		}
	}
	for i := 0; i <= len(in) && i < 300; i++ {
		rd := io.MultiReader(&chunkReader{data: []byte(in[:i])}, &chunkReader{data: []byte(in[i:])})
		got, err := readAllReplies(rd, Limits{})
		if err != io.EOF || fmt.Sprint(got) != fmt.Sprint(frames) {
			t.Fatalf("split at %d: %v", i, err)
		}
	}
}

func TestReadReplyErrors(t *testing.T) {
	for _, tc := range []struct {
		in  string
		lim Limits
		err error
	}{
		{"", Limits{}, io.EOF},
		{"+OK", Limits{}, io.ErrUnexpectedEOF},
		{"*2\r\n:1\r\n", Limits{}, io.ErrUnexpectedEOF},
		{"$3\r\nab", Limits{}, io.ErrUnexpectedEOF},
		{"+OK\n", Limits{}, ErrInvalidReply},
		{"\r\n", Limits{}, ErrInvalidReply},
		{"!3\r\nabc\r\n", Limits{}, ErrInvalidReply},
		{"_\r\n", Limits{}, ErrInvalidReply},
		{":1.5\r\n", Limits{}, ErrInvalidReply},
		{":\r\n", Limits{}, ErrInvalidReply},
		{"$-2\r\n", Limits{}, ErrInvalidReply},
		{"*-2\r\n", Limits{}, ErrInvalidReply},
		{"$01\r\na\r\n", Limits{}, ErrInvalidReply},
		{"$3\r\nabcd\r\n", Limits{}, ErrInvalidReply},
		{"$9223372036854775807\r\n", Limits{}, ErrReplyTooLarge},
		{"*9223372036854775807\r\n", Limits{}, ErrReplyTooLarge},
		{"$10\r\n0123456789\r\n", Limits{MaxBulkLen: 9}, ErrReplyTooLarge},
		{"*2\r\n$10\r\n0123456789\r\n", Limits{MaxReplyLen: 16}, ErrReplyTooLarge},
		{"+" + strings.Repeat("x", 100), Limits{MaxReplyLen: 50}, ErrReplyTooLarge},
		{"*20\r\n", Limits{MaxReplyLen: 50}, ErrReplyTooLarge},
	} {
		_, err := readAllReplies(strings.NewReader(tc.in), tc.lim)
		if !errors.Is(err, tc.err) {
			t.Errorf("%.40q: got %v, want %v", tc.in, err, tc.err)
		}
	}
}

func TestParseReply(t *testing.T) {
	v, err := ParseReply([]byte("*4\r\n+OK\r\n-WRONGTYPE bad\r\n:-7\r\n*2\r\n$-1\r\n*-1\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != KindArray || len(v.Array) != 4 {
		t.Fatalf("%v", v)
	}
	if got := v.String(); got != `[OK, (error) WRONGTYPE bad, (integer) -7, [(nil), (nil)]]` {
		t.Errorf("String() = %s", got)
	}
	if v.Array[2].Int != -7 || v.Array[3].Array[0].Kind != KindNullBulk || v.Array[3].Array[1].Kind != KindNullArray {
		t.Errorf("values %v", v)
	}
	var re Error
	if err := v.Array[1].Err(); !errors.As(err, &re) || re.Prefix() != "WRONGTYPE" || re.Error() != "WRONGTYPE bad" {
		t.Errorf("Err() = %v", err)
	}
	if v.Array[0].Err() != nil || !v.Array[3].Array[0].IsNull() {
		t.Error("Err/IsNull")
	}
	for _, bad := range []string{"", "+OK\r\n+OK\r\n", "*1\r\n", "$5\r\nab\r\n", "*2147483647\r\n:1\r\n", strings.Repeat("*1\r\n", 2000) + ":1\r\n"} {
		if _, err := ParseReply([]byte(bad)); !errors.Is(err, ErrInvalidReply) {
			t.Errorf("ParseReply(%.30q) = %v", bad, err)
		}
	}
}

// TestReadReplyFromRedis reads real replies with ReadReply and compares
// them with testutil's independent reader on a second connection that
// sends the same commands.
func TestReadReplyFromRedis(t *testing.T) {
	addr := testutil.StartRedis(t)
	setup := testutil.DialRaw(t, addr)
	setup.Do("SET", "big", strings.Repeat("v", 3<<20))
	setup.Do("RPUSH", "list", "a", "b", "", "d")
	setup.Do("HSET", "hash", "f1", "v1", "f2", "v2")
	setup.Do("ZADD", "zset", "1.5", "a", "-inf", "b")
	push := []string{"RPUSH", "biglist"}
	for i := range 30000 {
		push = append(push, fmt.Sprint(i))
	}
	setup.Do(push...)
	cmds := [][]string{
		{"PING"}, {"GET", "big"}, {"GET", "missing"}, {"LRANGE", "list", "0", "-1"}, {"HGETALL", "hash"},
		{"ZRANGE", "zset", "0", "-1", "WITHSCORES"}, {"INCR", "big"}, {"LPOP", "list", "0"}, {"NOSUCH"},
		{"BLPOP", "nolist", "0.01"}, {"LRANGE", "biglist", "0", "-1"}, {"COMMAND", "DOCS", "set", "client"},
		{"EXISTS", "big", "list"},
		{"SCAN", "0", "COUNT", "1000"}, {"ECHO", "\r\n$5\r\n"},
	}
	oracle := testutil.DialRaw(t, addr)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var req []byte
	for _, cmd := range cmds {
		req = AppendCommandStrings(req, cmd...)
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	r := NewReader(c, Limits{})
	for _, cmd := range cmds {
		want := oracle.Do(cmd...)
		got, err := r.ReadReply()
		if err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: frames differ (%d vs %d bytes)", cmd, len(got), len(want))
		}
		v, err := ParseReply(got)
		if err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		if again := AppendValue(nil, v); !bytes.Equal(again, got) {
			t.Fatalf("%q: AppendValue does not round-trip", cmd)
		}
	}
}

func replySeeds() []string {
	return []string{
		"+OK\r\n", "-ERR x\r\n", ":1\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
		"*2\r\n$1\r\na\r\n*1\r\n:2\r\n", "+OK\r\n:1\r\n$0\r\n\r\n", "*1\r\n", "$5\r\nab", "%2\r\n", "$-2\r\n",
		"*3\r\n*-1\r\n$-1\r\n-E\r\n",
	}
}

// FuzzReadReply checks that reading frames does not depend on how the
// input is split, and that every frame parses and re-encodes to itself.
func FuzzReadReply(f *testing.F) {
	for _, s := range replySeeds() {
		f.Add([]byte(s), uint64(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		whole, errWhole := readAllReplies(&chunkReader{data: in}, Limits{})
		split, errSplit := readAllReplies(&randomChunkReader{data: in, rng: rand.New(rand.NewPCG(seed, seed))}, Limits{})
		if fmt.Sprint(whole) != fmt.Sprint(split) || fmt.Sprint(errWhole) != fmt.Sprint(errSplit) {
			t.Fatalf("split reading differs: %q %v vs %q %v", whole, errWhole, split, errSplit)
		}
		if !strings.HasPrefix(string(in), strings.Join(whole, "")) {
			t.Fatal("frames are not the input's prefix")
		}
		for _, fr := range whole {
			v, err := ParseReply([]byte(fr))
			if err != nil {
				if errors.Is(err, ErrInvalidReply) && strings.Contains(err.Error(), "nesting") {
					continue
				}
				t.Fatalf("frame %q does not parse: %v", fr, err)
			}
			if got := string(AppendValue(nil, v)); got != fr {
				t.Fatalf("frame %q re-encodes as %q", fr, got)
			}
		}
	})
}

// FuzzReadCommand checks that parsing does not depend on how the input is
// split, never panics, and returns arguments no larger than the input.
func FuzzReadCommand(f *testing.F) {
	for _, tc := range readerCases() {
		if len(tc.in) < 1000 {
			f.Add([]byte(tc.in), uint64(1))
		}
	}
	for _, in := range diffInputs() {
		if len(in) < 1000 {
			f.Add([]byte(in), uint64(2))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		whole, errWhole := readAllCommands(&chunkReader{data: in}, Limits{})
		split, errSplit := readAllCommands(&randomChunkReader{data: in, rng: rand.New(rand.NewPCG(seed, seed))}, Limits{})
		if len(in) <= DefaultMaxInlineLen && (fmt.Sprint(whole) != fmt.Sprint(split) || errText(errWhole) != errText(errSplit)) {
			t.Fatalf("split reading differs:\n%q %v\n%q %v", whole, errWhole, split, errSplit)
		}
		total := 0
		for _, cmd := range whole {
			if len(cmd) == 0 {
				t.Fatal("empty command returned")
			}
			for _, a := range cmd {
				total += len(a)
			}
		}
		if total > len(in) {
			t.Fatalf("%d argument bytes from %d input bytes", total, len(in))
		}
		if errWhole == nil {
			t.Fatal("no final error")
		}
	})
}
