package frontend

import (
	"testing"

	"github.com/shoal-kv/shoal/proto"
)

// FuzzMerge feeds arbitrary bytes, as if a shard had sent them, to the
// reply scanners and mergers: they must never panic, and what they return
// for a valid frame must itself be one valid frame.
func FuzzMerge(f *testing.F) {
	for _, s := range []string{
		"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", "*2\r\n$3\r\n123\r\n*0\r\n", "*3\r\n$1\r\na\r\n$-1\r\n:1\r\n",
		":5\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n", "+none\r\n", "-ERR x\r\n", "*1\r\n*1\r\n$-1\r\n",
		"*2\r\n$20\r\n99999999999999999999\r\n*0\r\n", "$5\r\nab", "*5\r\n", "$-7\r\n",
	} {
		f.Add([]byte(s), []byte(":1\r\n"))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		frameEnd(a, 0)
		arrayBody(a)
		intReply(a)
		notCached(a)
		parts := []*pending{{reply: a}, {reply: b}}
		for _, out := range [][]byte{
			appendScanReply(nil, a, 0, 2),
			mergeMGet(nil, parts, []uint16{0, 1, 0}),
			mergeSum(nil, parts),
			mergeConcat(nil, parts),
			mergeRandomKey(nil, parts, 1),
		} {
			if _, err := proto.ParseReply(out); err != nil && validFrame(a) && validFrame(b) {
				t.Fatalf("merged %q %q into an invalid frame %q: %v", a, b, out, err)
			}
		}
	})
}

func validFrame(b []byte) bool {
	_, err := proto.ParseReply(b)
	return err == nil
}

func TestMergeHelpers(t *testing.T) {
	p := func(s string) *pending { return &pending{reply: []byte(s)} }
	got := string(mergeMGet(nil, []*pending{p("*2\r\n$1\r\na\r\n$-1\r\n"), p("*1\r\n$1\r\nb\r\n")}, []uint16{0, 1, 0}))
	if got != "*3\r\n$1\r\na\r\n$1\r\nb\r\n$-1\r\n" {
		t.Errorf("mergeMGet: %q", got)
	}
	if got := string(mergeSum(nil, []*pending{p(":2\r\n"), p(":3\r\n")})); got != ":5\r\n" {
		t.Errorf("mergeSum: %q", got)
	}
	if got := string(mergeConcat(nil, []*pending{p("*1\r\n$1\r\na\r\n"), p("*0\r\n"), p("*1\r\n$1\r\nb\r\n")})); got != "*2\r\n$1\r\na\r\n$1\r\nb\r\n" {
		t.Errorf("mergeConcat: %q", got)
	}
	// SCAN cursors: shard cursor << 16 | index; a finished shard moves on.
	for _, c := range []struct {
		reply  string
		idx, n int
		want   string
	}{
		{"*2\r\n$1\r\n5\r\n*0\r\n", 1, 3, "*2\r\n$6\r\n327681\r\n*0\r\n"},
		{"*2\r\n$1\r\n0\r\n*0\r\n", 1, 3, "*2\r\n$1\r\n2\r\n*0\r\n"},
		{"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n", 2, 3, "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"},
		{"-ERR invalid cursor\r\n", 0, 3, "-ERR invalid cursor\r\n"},
	} {
		if got := string(appendScanReply(nil, []byte(c.reply), c.idx, c.n)); got != c.want {
			t.Errorf("appendScanReply(%q, %d): %q, want %q", c.reply, c.idx, got, c.want)
		}
	}
	for s, want := range map[string]bool{"-NOTCACHED key not held\r\n": true, "$-1\r\n": false, "-ERR x\r\n": false} {
		if notCached([]byte(s)) != want {
			t.Errorf("notCached(%q) = %v", s, !want)
		}
	}
}
