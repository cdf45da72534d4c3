package lincheck

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func set(c int, k, v string, call, ret int64) Op {
	return Op{Client: c, Key: k, Kind: Set, Value: v, Call: call, Return: ret}
}
func read(c int, k, v string, call, ret int64) Op {
	return Op{Client: c, Key: k, Kind: Get, Value: v, Found: v != "", Call: call, Return: ret}
}

func TestLinearizable(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []Op
		want porcupine.CheckResult
	}{
		{"sequential", []Op{set(0, "k", "a", 0, 1), read(1, "k", "a", 2, 3)}, porcupine.Ok},
		{"stale read", []Op{set(0, "k", "a", 0, 1), set(0, "k", "b", 2, 3), read(1, "k", "a", 4, 5)}, porcupine.Illegal},
		{"read from nowhere", []Op{read(1, "k", "z", 0, 1)}, porcupine.Illegal},
		{"concurrent read sees either", []Op{set(0, "k", "a", 0, 1), set(0, "k", "b", 2, 10), read(1, "k", "a", 3, 4), read(2, "k", "b", 5, 6)}, porcupine.Ok},
		{"new then old is not linearizable", []Op{set(0, "k", "a", 0, 1), set(0, "k", "b", 2, 10), read(1, "k", "b", 3, 4), read(2, "k", "a", 5, 6)}, porcupine.Illegal},
		{"unknown write may land late", []Op{{Key: "k", Kind: Set, Value: "a", Outcome: Unknown, Call: 0, Return: 1}, read(1, "k", "", 2, 3), read(1, "k", "a", 4, 5)}, porcupine.Ok},
		{"del", []Op{set(0, "k", "a", 0, 1), {Key: "k", Kind: Del, Call: 2, Return: 3}, read(1, "k", "", 4, 5)}, porcupine.Ok},
		{"keys are independent", []Op{set(0, "k", "a", 0, 1), set(0, "j", "b", 2, 3), read(1, "k", "a", 4, 5), read(1, "j", "", 0, 1)}, porcupine.Ok},
	} {
		if got := CheckLinearizable(tc.ops, 10*time.Second); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestCheckWaited(t *testing.T) {
	w := func(o Op) Op { o.Waited = true; return o }
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name  string
		ops   []Op
		final map[string]*string
		bad   int
	}{
		{"waited write kept", []Op{w(set(0, "k", "a", 0, 1))}, map[string]*string{"k": str("a")}, 0},
		{"waited write lost", []Op{w(set(0, "k", "a", 0, 1))}, map[string]*string{"k": nil}, 1},
		{"waited write replaced by older", []Op{set(0, "k", "a", 0, 1), w(set(0, "k", "b", 2, 3))}, map[string]*string{"k": str("a")}, 1},
		{"unwaited write may be lost", []Op{w(set(0, "k", "a", 0, 1)), set(0, "k", "b", 2, 3)}, map[string]*string{"k": str("a")}, 0},
		{"read after waited write sees older value", []Op{set(0, "k", "a", 0, 1), w(set(0, "k", "b", 2, 3)), read(1, "k", "a", 4, 5)}, nil, 1},
		{"read sees a later unwaited write that is then lost", []Op{w(set(0, "k", "a", 0, 1)), set(0, "k", "b", 2, 3), read(1, "k", "b", 4, 5), read(1, "k", "a", 6, 7)}, map[string]*string{"k": str("a")}, 0},
		{"read concurrent with waited write may see the old value", []Op{set(0, "k", "a", 0, 1), w(set(0, "k", "b", 2, 5)), read(1, "k", "a", 3, 4)}, nil, 0},
		{"read sees an unknown write that landed late", []Op{w(set(0, "k", "a", 0, 1)), {Key: "k", Kind: Set, Value: "b", Outcome: Unknown, Call: 2, Return: 3}, w(set(0, "k", "c", 4, 5)), read(1, "k", "b", 6, 7)}, nil, 0},
		{"waited del", []Op{set(0, "k", "a", 0, 1), w(Op{Key: "k", Kind: Del, Call: 2, Return: 3})}, map[string]*string{"k": str("a")}, 1},
	} {
		errs := CheckWaited(tc.ops, tc.final)
		if len(errs) != tc.bad {
			t.Errorf("%s: %d violations, want %d: %v", tc.name, len(errs), tc.bad, errs)
		}
	}
}

func TestShortest(t *testing.T) {
	ops := []Op{
		set(0, "j", "x", 0, 1), read(1, "j", "x", 2, 3), // j is fine
		set(0, "k", "a", 0, 1),
		set(0, "k", "b", 2, 3),
		read(1, "k", "b", 4, 5),
		read(2, "k", "a", 6, 9),  // the violation: returns at 9
		set(0, "k", "c", 7, 12),  // pending at 9: unknown in the prefix
		read(1, "k", "z", 8, 10), // running at 9: dropped
		read(1, "k", "c", 13, 14),
	}
	key, prefix, ok := Shortest(ops, 10*time.Second)
	if !ok || key != "k" {
		t.Fatalf("Shortest: %q %v", key, ok)
	}
	want := []Op{ops[2], ops[3], ops[4], ops[5], ops[6]}
	want[4].Outcome = Unknown
	if len(prefix) != len(want) {
		t.Fatalf("prefix %v, want %v", prefix, want)
	}
	for i := range want {
		if prefix[i] != want[i] {
			t.Errorf("prefix[%d] = %v, want %v", i, prefix[i], want[i])
		}
	}
	if _, _, ok := Shortest(ops[:5], 10*time.Second); ok {
		t.Error("Shortest found a violation in a linearizable history")
	}
}

func TestHistory(t *testing.T) {
	h := NewHistory()
	h.Add(Op{Key: "k", Call: 5, Return: 6})
	h.Add(Op{Key: "k", Call: 1, Return: 9})
	if h.Len() != 2 || h.Ops()[0].Call != 1 {
		t.Fatalf("Len %d, Ops %v", h.Len(), h.Ops())
	}
}
