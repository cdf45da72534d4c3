package store

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestListBlockingContract pins what the server relies on: a blocking
// command that would block appends nothing to the output and records no
// effect; once an element is there, the same command is served and records
// the non-blocking equivalent.
func TestListBlockingContract(t *testing.T) {
	s := New(DefaultConfig())
	var touched []string
	s.Touched = func(k []byte) { touched = append(touched, string(k)) }
	const now = 1000
	run := func(args ...string) string {
		b := byteArgs(args...)
		return string(s.Exec(now, b, []byte("prefix:")))
	}
	blocked := [][]string{
		{"BLPOP", "a", "b", "0"},
		{"BRPOP", "a", "b", "1.5"},
		{"BLMOVE", "a", "dst", "LEFT", "RIGHT", "0"},
		{"BRPOPLPUSH", "a", "dst", "0"},
		{"BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "3"},
		// the destination is not looked at while the source is missing
		{"BLMOVE", "a", "str", "LEFT", "RIGHT", "0"},
	}
	s.setKey([]byte("str"), []byte("v"), 0)
	for _, args := range blocked {
		if out := run(args...); out != "prefix:" {
			t.Errorf("%q appended %q, want nothing", args, out[len("prefix:"):])
		}
		if eff := takeEffects(t, s); len(eff) != 0 {
			t.Errorf("%q recorded %q", args, eff)
		}
	}
	if len(touched) != 0 {
		t.Errorf("blocked commands touched %q", touched)
	}

	served := []struct {
		setup   []string
		args    []string
		reply   string
		effects []string
		touched []string
	}{
		{[]string{"RPUSH", "b", "x"}, []string{"BLPOP", "a", "b", "0"},
			"*2\r\n$1\r\nb\r\n$1\r\nx\r\n", []string{"LPOP b"}, []string{"b"}},
		{[]string{"RPUSH", "a", "x", "y"}, []string{"BRPOP", "b", "a", "0"},
			"*2\r\n$1\r\na\r\n$1\r\ny\r\n", []string{"RPOP a"}, []string{"a"}},
		{[]string{"RPUSH", "a", "z"}, []string{"BLMOVE", "a", "dst", "left", "right", "0"},
			"$1\r\nx\r\n", []string{"LMOVE a dst LEFT RIGHT"}, []string{"a", "dst"}},
		{[]string{"RPUSH", "a", "w"}, []string{"BRPOPLPUSH", "a", "dst", "0"},
			"$1\r\nw\r\n", []string{"RPOPLPUSH a dst"}, []string{"a", "dst"}},
		{[]string{"RPUSH", "c", "1", "2"}, []string{"BLMPOP", "0", "2", "nokey", "c", "RIGHT", "COUNT", "5"},
			"*2\r\n$1\r\nc\r\n*2\r\n$1\r\n2\r\n$1\r\n1\r\n", []string{"RPOP c 2"}, []string{"c"}},
		{[]string{"RPUSH", "b", "1", "2"}, []string{"LMPOP", "1", "b", "LEFT"},
			"*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n", []string{"LPOP b 1"}, []string{"b"}},
	}
	for _, c := range served {
		run(c.setup...)
		s.TakeEffects()
		touched = nil
		out := run(c.args...)
		if out != "prefix:"+c.reply {
			t.Errorf("%q replied %q, want %q", c.args, out, "prefix:"+c.reply)
		}
		if eff := takeEffects(t, s); !reflect.DeepEqual(eff, c.effects) {
			t.Errorf("%q recorded %q, want %q", c.args, eff, c.effects)
		}
		if !reflect.DeepEqual(touched, c.touched) {
			t.Errorf("%q touched %q, want %q", c.args, touched, c.touched)
		}
	}
	// A served attempt that empties the list deletes the key.
	if out := run("BLPOP", "a", "0"); out != "prefix:*2\r\n$1\r\na\r\n$1\r\nz\r\n" {
		t.Errorf("BLPOP a: %q", out)
	}
	if _, ok := s.keys["a"]; ok {
		t.Error("emptied list a still exists")
	}
	s.TakeEffects()

	// A would-block attempt that finds an expired key records its DEL (the
	// expiry happened) and still replies nothing.
	storeExec(s, now, "RPUSH", "exp", "x")
	s.setExpire([]byte("exp"), now-1)
	s.TakeEffects()
	if out := run("BLPOP", "exp", "0"); out != "prefix:" {
		t.Errorf("BLPOP on an expired key replied %q", out)
	}
	if eff := takeEffects(t, s); !reflect.DeepEqual(eff, []string{"DEL exp"}) {
		t.Errorf("effects %q, want the DEL of the expired key", eff)
	}
}

// TestListTouchAndEffects checks which keys each write signals and what it
// records: a command that changes nothing records nothing.
func TestListTouchAndEffects(t *testing.T) {
	cases := []struct {
		args    string
		touched string
		effects string
	}{
		{"LPUSH l a", "l", "LPUSH l a"},
		{"RPUSH l a b", "l", "RPUSH l a b"},
		{"LPUSHX l a", "l", "LPUSHX l a"},
		{"LPUSHX nokey a", "", ""},
		{"RPUSHX s a", "", ""},
		{"LPUSH s a", "", ""},
		{"LPOP l", "l", "LPOP l"},
		{"RPOP l 2", "l", "RPOP l 2"},
		{"LPOP l 0", "", ""},
		{"LPOP nokey", "", ""},
		{"LPOP nokey 3", "", ""},
		{"LTRIM l 0 -1", "l", ""}, // Redis signals even a trim that removes nothing
		{"LTRIM l 1 -1", "l", "LTRIM l 1 -1"},
		{"LTRIM nokey 0 1", "", ""},
		{"LSET l 0 x", "l", "LSET l 0 x"},
		{"LSET l 100 x", "", ""},
		{"LINSERT l BEFORE x y", "l", "LINSERT l BEFORE x y"},
		{"LINSERT l BEFORE zz y", "", ""},
		{"LREM l 0 zz", "", ""},
		{"LREM l 1 y", "l", "LREM l 1 y"},
		{"LMOVE l m LEFT RIGHT", "l m", "LMOVE l m LEFT RIGHT"},
		{"LMOVE l l LEFT RIGHT", "l", "LMOVE l l LEFT RIGHT"},
		{"LMOVE nokey m LEFT RIGHT", "", ""},
		{"LMOVE l s LEFT RIGHT", "", ""},
		{"RPOPLPUSH l m", "l m", "RPOPLPUSH l m"},
		{"LLEN l", "", ""},
		{"LRANGE l 0 -1", "", ""},
		{"LINDEX l 0", "", ""},
		{"LPOS l x", "", ""},
	}
	for _, c := range cases {
		s := New(DefaultConfig())
		var touched []string
		s.Touched = func(k []byte) { touched = append(touched, string(k)) }
		s.setKey([]byte("s"), []byte("v"), 0)
		storeExec(s, 1, "RPUSH", "l", "x", "y", "z", "w")
		storeExec(s, 1, "RPUSH", "m", "q")
		s.TakeEffects()
		touched = nil
		storeExec(s, 1, strings.Fields(c.args)...)
		if got := strings.Join(touched, " "); got != c.touched {
			t.Errorf("%s touched %q, want %q", c.args, got, c.touched)
		}
		if got := strings.Join(takeEffects(t, s), "|"); got != c.effects {
			t.Errorf("%s recorded %q, want %q", c.args, got, c.effects)
		}
	}
}

// TestListRingModel drives listValue's ring buffer against a plain slice.
func TestListRingModel(t *testing.T) {
	seed := int64(testSeed(t, 20260701))
	r := rand.New(rand.NewSource(seed))
	for round := 0; round < 200; round++ {
		l := &listValue{}
		var model []string
		for step := 0; step < 300; step++ {
			v := []byte(fmt.Sprintf("v%d", r.Intn(6)))
			switch op := r.Intn(11); {
			case op < 3:
				l.pushBack(v)
				model = append(model, string(v))
			case op < 5:
				l.pushFront(v)
				model = append([]string{string(v)}, model...)
			case op == 5 && len(model) > 0:
				if got := string(l.popFront()); got != model[0] {
					t.Fatalf("seed %d: popFront %q, want %q", seed, got, model[0])
				}
				model = model[1:]
			case op == 6 && len(model) > 0:
				if got := string(l.popBack()); got != model[len(model)-1] {
					t.Fatalf("seed %d: popBack %q, want %q", seed, got, model[len(model)-1])
				}
				model = model[:len(model)-1]
			case op == 7:
				i := r.Intn(len(model) + 1)
				l.insertAt(i, v)
				model = slices.Insert(model, i, string(v))
			case op == 8 && len(model) > 0:
				limit := int64(r.Intn(3))
				fromTail := r.Intn(2) == 0
				got := l.removeMatches(v, limit, fromTail)
				want := listModelRemove(&model, string(v), limit, fromTail)
				if got != want {
					t.Fatalf("seed %d: removeMatches removed %d, want %d", seed, got, want)
				}
			case op == 9 && len(model) > 0:
				left := r.Intn(len(model) + 1)
				right := r.Intn(len(model) - left + 1)
				l.trim(left, right)
				model = model[left : len(model)-right]
			case op == 10 && len(model) > 0:
				i := r.Intn(len(model))
				l.setAt(i, v)
				model[i] = string(v)
			}
			listCheckRing(t, seed, l, model)
			if step%50 == 0 {
				c := l.clone().(*listValue)
				listCheckRing(t, seed, c, model)
				if c.n > 0 {
					c.popFront() // the clone is independent
					listCheckRing(t, seed, l, model)
				}
			}
		}
	}
}

func listModelRemove(model *[]string, v string, limit int64, fromTail bool) int64 {
	m := *model
	var removed int64
	keep := make([]bool, len(m))
	for k := range m {
		i := k
		if fromTail {
			i = len(m) - 1 - k
		}
		if m[i] == v && (limit == 0 || removed < limit) {
			removed++
			continue
		}
		keep[i] = true
	}
	var out []string
	for i, s := range m {
		if keep[i] {
			out = append(out, s)
		}
	}
	*model = out
	return removed
}

func listCheckRing(t *testing.T, seed int64, l *listValue, model []string) {
	t.Helper()
	if l.n != len(model) {
		t.Fatalf("seed %d: n = %d, model has %d", seed, l.n, len(model))
	}
	if len(l.buf) != 0 && len(l.buf)&(len(l.buf)-1) != 0 {
		t.Fatalf("seed %d: ring size %d is not a power of two", seed, len(l.buf))
	}
	used := make([]bool, len(l.buf))
	for i := range model {
		if got := string(l.at(i)); got != model[i] {
			t.Fatalf("seed %d: element %d = %q, want %q (model %q)", seed, i, got, model[i], model)
		}
		used[(l.head+i)&(len(l.buf)-1)] = true
	}
	for i, u := range used {
		if !u && l.buf[i] != nil {
			t.Fatalf("seed %d: free slot %d still holds %q", seed, i, l.buf[i])
		}
	}
}

func TestListSnapshotRoundTrip(t *testing.T) {
	const now = 1000
	s := New(DefaultConfig())
	for i := 0; i < 60; i++ {
		k := fmt.Sprintf("list%d", i)
		for j := 0; j <= i*3; j++ {
			storeExec(s, now, "RPUSH", k, fmt.Sprintf("e%d", j), "")
			if j%4 == 0 {
				storeExec(s, now, "LPUSH", k, strings.Repeat("z", j))
			}
			if j%5 == 0 {
				storeExec(s, now, "LPOP", k) // wrap the ring
			}
		}
	}
	storeExec(s, now, "RPUSH", "withttl", "a", "b")
	s.setExpire([]byte("withttl"), now+100000)
	s.TakeEffects()
	want := dump(t, s, now)

	// Writes during the snapshot must not leak into it (copy on write).
	buf := takeSnapshot(t, s, 7, func(step int) {
		k := fmt.Sprintf("list%d", (step*7)%60)
		storeExec(s, now, "LPUSH", k, "during")
		storeExec(s, now, "RPOP", k)
		storeExec(s, now, "LSET", k, "0", "changed")
		storeExec(s, now, "LINSERT", k, "AFTER", "changed", "ins")
		storeExec(s, now, "LREM", k, "0", "")
		storeExec(s, now, "LTRIM", k, "0", "5")
		storeExec(s, now, "LMOVE", k, "moved", "LEFT", "RIGHT")
		storeExec(s, now, "RPOP", fmt.Sprintf("list%d", (step*7+3)%60), "1000")
		storeExec(s, now, "RPUSH", fmt.Sprintf("new%d", step), "x")
	})
	s.TakeEffects()

	loaded := New(DefaultConfig())
	if err := loaded.LoadSnapshot(bytes.NewReader(buf)); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, loaded, now); got != want {
		t.Fatalf("snapshot differs from the keyspace at BeginSnapshot\nwant:\n%s\ngot:\n%s", want, got)
	}
	if got := loaded.keys["withttl"].exp; got != now+100000 {
		t.Fatalf("TTL lost: %d", got)
	}
	// And a snapshot of the loaded store is the same again.
	again := New(DefaultConfig())
	if err := again.LoadSnapshot(bytes.NewReader(takeSnapshot(t, loaded, 7, nil))); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, again, now); got != want {
		t.Fatal("second round trip differs")
	}
}

func TestListSnapshotCorrupt(t *testing.T) {
	s := New(DefaultConfig())
	storeExec(s, 1, "RPUSH", "l", "abc", "", "de")
	valid := takeSnapshot(t, s, 7, nil)
	if err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(valid)); err != nil {
		t.Fatalf("valid snapshot refused: %v", err)
	}
	cases := map[string][]byte{
		"empty list":        append(snapRecord(recList, "k", 0), recEnd),
		"count beyond data": append(snapRecord(recList, "k", 5, 1, 'a', 1, 'b'), recEnd),
		"absurd count":      append(snapRecord(recList, "k", 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), recEnd),
		"absurd string":     append(snapRecord(recList, "k", 1, 0xff, 0xff, 0xff, 0xff, 0x0f), recEnd),
		"count overflow":    append(snapRecord(recList, "k", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), recEnd),
		"no end marker":     snapRecord(recList, "k", 1, 1, 'a'),
	}
	for i := 0; i < len(valid)-1; i++ {
		cases[fmt.Sprintf("truncated at %d", i)] = valid[:i]
	}
	for name, data := range cases {
		err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(data))
		if err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}

func FuzzLoadSnapshotList(f *testing.F) {
	s := New(DefaultConfig())
	storeExec(s, 1, "RPUSH", "l", "abc", "", "de")
	storeExec(s, 1, "RPUSH", "m", "x")
	f.Add(takeSnapshot(f, s, 7, nil))
	f.Add(append(snapRecord(recList, "k", 0), recEnd))
	f.Add(append(snapRecord(recList, "k", 2, 1, 'a', 0), recEnd))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New(DefaultConfig())
		if err := s.LoadSnapshot(bytes.NewReader(data)); err != nil {
			return
		}
		for k, e := range s.keys {
			if l, ok := e.val.(*listValue); ok && l.n == 0 {
				t.Fatalf("empty list %q loaded", k)
			}
		}
		want := dump(t, s, 1)
		again := New(DefaultConfig())
		if err := again.LoadSnapshot(bytes.NewReader(takeSnapshot(t, s, 7, nil))); err != nil {
			t.Fatalf("re-snapshot refused: %v", err)
		}
		if got := dump(t, again, 1); got != want {
			t.Fatalf("round trip differs")
		}
	})
}

// TestListExpiredKey: an expired list is gone for every command; on a
// master the expiry is recorded (DEL) before the command's own effect, on a
// replica the key is only hidden.
func TestListExpiredKey(t *testing.T) {
	const now = 5000
	s := New(DefaultConfig())
	storeExec(s, now, "RPUSH", "k", "old1", "old2")
	s.setExpire([]byte("k"), now-1)
	s.TakeEffects()
	if got := storeExec(s, now, "LPUSH", "k", "new"); got != ":1\r\n" {
		t.Fatalf("LPUSH on an expired list: %q", got)
	}
	if eff := takeEffects(t, s); !reflect.DeepEqual(eff, []string{"DEL k", "LPUSH k new"}) {
		t.Fatalf("effects %q", eff)
	}
	if e := s.keys["k"]; e.exp != 0 {
		t.Fatalf("the new list inherited the old TTL %d", e.exp)
	}

	// A TTL survives in-place changes.
	storeExec(s, now, "RPUSH", "ttl", "a", "b", "c")
	s.setExpire([]byte("ttl"), now+1000)
	for _, cmd := range [][]string{{"LPUSH", "ttl", "x"}, {"LPOP", "ttl"}, {"LSET", "ttl", "0", "y"},
		{"LINSERT", "ttl", "AFTER", "y", "z"}, {"LREM", "ttl", "1", "z"}, {"LTRIM", "ttl", "0", "1"},
		{"LMOVE", "ttl", "ttl", "LEFT", "RIGHT"}} {
		storeExec(s, now, cmd...)
		if e := s.keys["ttl"]; e.exp != now+1000 {
			t.Fatalf("%q lost the TTL (%d)", cmd, e.exp)
		}
	}

	rcfg := DefaultConfig()
	rcfg.Replica = true
	r := New(rcfg)
	storeExec(r, now, "RPUSH", "k", "a")
	r.setExpire([]byte("k"), now-1)
	r.TakeEffects()
	for _, c := range []struct{ cmd, want string }{
		{"LRANGE k 0 -1", "*0\r\n"}, {"LLEN k", ":0\r\n"}, {"LINDEX k 0", "$-1\r\n"}, {"LPOS k a", "$-1\r\n"},
	} {
		if got := storeExec(r, now, strings.Fields(c.cmd)...); got != c.want {
			t.Errorf("replica %s = %q, want %q", c.cmd, got, c.want)
		}
	}
	if _, ok := r.keys["k"]; !ok {
		t.Error("a replica deleted an expired key by itself")
	}
	if eff := takeEffects(t, r); len(eff) != 0 {
		t.Errorf("a replica recorded %q", eff)
	}
}
