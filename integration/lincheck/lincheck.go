// Package lincheck records single-key register histories (GET, SET, DEL)
// taken through shoal and checks them: for linearizability with porcupine,
// and, across master failovers where asynchronous replication allows a read
// to see a write that is later lost, for the weaker guarantee shoal makes
// there — no write whose WAIT returned >= 1 is lost, and no read returns a
// value older than the newest WAITed write completed before the read began.
// When a history is not linearizable, Shortest cuts it at the first point
// where it stops being so, for a report a person can read.
//
// A History is safe for concurrent use by the client goroutines of a test.
// Writes are expected to carry unique values (a read then names the write it
// saw); Recorder clients make them so.
package lincheck

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Kind is an operation on one key.
type Kind uint8

// Operation kinds.
const (
	Get Kind = iota
	Set
	Del
)

func (k Kind) String() string { return [...]string{"GET", "SET", "DEL"}[k] }

// Outcome says how an operation ended.
type Outcome uint8

// Outcomes. Unknown covers errors and timeouts of writes: the write may or
// may not have been applied, now or later.
const (
	OK Outcome = iota
	Unknown
)

// Op is one operation as a client saw it. Call and Return are nanoseconds on
// one monotonic clock (History.Now).
type Op struct {
	Client  int
	Key     string
	Kind    Kind
	Value   string // SET: the value written; GET: the value read ("" with !Found)
	Found   bool   // GET: the key existed
	Outcome Outcome
	Waited  bool // a write acknowledged by WAIT with >= 1 replica
	Call    int64
	Return  int64
	Via     string // where it was sent (a frontend), for reports; optional
}

func (o Op) String() string {
	s := fmt.Sprintf("c%d %s %s", o.Client, o.Kind, o.Key)
	switch {
	case o.Kind == Set:
		s += " " + o.Value
	case o.Kind == Get && o.Found:
		s += " -> " + o.Value
	case o.Kind == Get:
		s += " -> nil"
	}
	if o.Outcome == Unknown {
		s += " (unknown)"
	}
	if o.Waited {
		s += " (waited)"
	}
	if o.Via != "" {
		s += " via " + o.Via
	}
	return fmt.Sprintf("%s [%d,%d]", s, o.Call, o.Return)
}

// History collects operations.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []Op
}

// NewHistory starts an empty history; its clock starts now.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the history's clock, in nanoseconds.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Add records a finished operation. Failed reads carry no information and
// may be left out by the caller.
func (h *History) Add(op Op) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Len is the number of operations recorded so far.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// Ops returns a copy of the operations so far, in call order.
func (h *History) Ops() []Op {
	h.mu.Lock()
	ops := append([]Op(nil), h.ops...)
	h.mu.Unlock()
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	return ops
}

// register is the porcupine state: the current value, or absent.
type register struct {
	val   string
	found bool
}

// Model is the porcupine model of one register per key, partitioned by key.
var Model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range history {
			k := o.Input.(Op).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return register{} },
	Step: func(state, input, _ interface{}) (bool, interface{}) {
		r, op := state.(register), input.(Op)
		switch op.Kind {
		case Set:
			return true, register{val: op.Value, found: true}
		case Del:
			return true, register{}
		default:
			return op.Found == r.found && (!op.Found || op.Value == r.val), r
		}
	},
	DescribeOperation: func(input, _ interface{}) string { return input.(Op).String() },
}

// Porcupine turns the history into porcupine operations. Writes with an
// unknown outcome may take effect at any time after their call: their return
// is put at the end of time. Reads that failed are dropped.
func Porcupine(ops []Op) []porcupine.Operation {
	out := make([]porcupine.Operation, 0, len(ops))
	for _, o := range ops {
		if o.Outcome == Unknown && o.Kind == Get {
			continue
		}
		out = append(out, porcupine.Operation{ClientId: o.Client, Input: o, Call: o.Call, Return: effectiveReturn(o)})
	}
	return out
}

// effectiveReturn is when o's effect is known to be over: its return, or
// the end of time for a write with an unknown outcome.
func effectiveReturn(o Op) int64 {
	if o.Outcome == Unknown {
		return math.MaxInt64
	}
	return o.Return
}

// Truncate is the history as it stood at time at: the operations called by
// then, where those still running become pending (a read is dropped, a
// write's outcome is unknown). A history that is linearizable at the end is
// linearizable at every point, so the first point where it is not isolates
// the first violation.
func Truncate(ops []Op, at int64) []Op {
	out := make([]Op, 0, len(ops))
	for _, o := range ops {
		if o.Call > at {
			continue
		}
		if o.Return > at {
			if o.Kind == Get {
				continue
			}
			o.Outcome, o.Waited = Unknown, false
		}
		out = append(out, o)
	}
	return out
}

// Shortest finds the first violation of linearizability: the key whose
// history is not linearizable and the shortest truncation of that key's
// history (Truncate) that is not. Its last operation to return is the one
// no linearization can place. ok is false when every key's history is
// linearizable within timeout (each check gets the whole timeout).
func Shortest(ops []Op, timeout time.Duration) (key string, prefix []Op, ok bool) {
	byKey := map[string][]Op{}
	var keys []string
	for _, o := range ops {
		if _, seen := byKey[o.Key]; !seen {
			keys = append(keys, o.Key)
		}
		byKey[o.Key] = append(byKey[o.Key], o)
	}
	sort.Strings(keys)
	illegal := func(ops []Op) bool { return CheckLinearizable(ops, timeout) == porcupine.Illegal }
	for _, k := range keys {
		kops := byKey[k]
		if !illegal(kops) {
			continue
		}
		var rets []int64
		for _, o := range kops {
			rets = append(rets, o.Return)
		}
		sort.Slice(rets, func(i, j int) bool { return rets[i] < rets[j] })
		i := sort.Search(len(rets), func(i int) bool { return illegal(Truncate(kops, rets[i])) })
		if i == len(rets) {
			return k, kops, true // only pending writes make it illegal: keep it all
		}
		return k, Truncate(kops, rets[i]), true
	}
	return "", nil, false
}

// CheckLinearizable checks the history with porcupine within timeout. It
// returns porcupine's verdict (Unknown when the timeout ran out).
func CheckLinearizable(ops []Op, timeout time.Duration) porcupine.CheckResult {
	return porcupine.CheckOperationsTimeout(Model, Porcupine(ops), timeout)
}

// CheckWaited checks the guarantee that holds across failovers, per key:
// every successful read, and the value each key holds at the end (final:
// nil for absent, read after all operations returned), must show a state no
// older than the newest WAITed write that returned before the read began. A
// read is explained by a write that was not older than that waited write
// (it returned after the waited write was called) and was called before the
// read returned: a SET of the value read, or a DEL for a nil read. A write
// with an unknown outcome may take effect at any time after its call, so it
// counts as returning at the end of time. It returns one error per
// unexplained read (nil when none).
//
// Values must be unique per SET for this check to be exact.
func CheckWaited(ops []Op, final map[string]*string) []error {
	type keyOps struct{ writes, reads []Op }
	byKey := map[string]*keyOps{}
	get := func(k string) *keyOps {
		if byKey[k] == nil {
			byKey[k] = &keyOps{}
		}
		return byKey[k]
	}
	for _, o := range ops {
		if o.Kind == Get {
			if o.Outcome == OK {
				get(o.Key).reads = append(get(o.Key).reads, o)
			}
			continue
		}
		get(o.Key).writes = append(get(o.Key).writes, o)
	}
	end := int64(math.MaxInt64)
	for k, v := range final {
		r := Op{Key: k, Kind: Get, Call: end, Return: end}
		if v != nil {
			r.Value, r.Found = *v, true
		}
		get(k).reads = append(get(k).reads, r)
	}
	var errs []error
	for k, ko := range byKey {
		bySetValue := map[string]Op{}
		for _, w := range ko.writes {
			if w.Kind == Set {
				bySetValue[w.Value] = w
			}
		}
		for _, r := range ko.reads {
			// The newest waited write that returned before r was called.
			var newest *Op
			for i := range ko.writes {
				w := &ko.writes[i]
				if w.Waited && w.Outcome == OK && w.Return < r.Call && (newest == nil || w.Return > newest.Return) {
					newest = w
				}
			}
			if newest == nil {
				continue
			}
			// Some write that is not older than newest (called after newest
			// was called, or newest itself / concurrent with it) must explain r.
			explains := func(w Op) bool { return effectiveReturn(w) >= newest.Call && w.Call <= r.Return }
			explained := false
			if r.Found {
				w, ok := bySetValue[r.Value]
				explained = ok && explains(w)
			} else {
				for _, w := range ko.writes {
					if w.Kind == Del && explains(w) {
						explained = true
						break
					}
				}
			}
			if !explained {
				what := "final value"
				if r.Call != end {
					what = "read " + r.String()
				}
				errs = append(errs, fmt.Errorf("key %s: %s is older than the waited write %s", k, what, newest))
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}
