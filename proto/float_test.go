package proto

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func TestFormatFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{1.1, "1.1000000000000001"},
		{1e300, "1.0000000000000001e+300"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{3.0, "3"},
		{1e-7, "9.9999999999999995e-08"},
		{123456789012345678, "1.2345678901234568e+17"},
		{0.1, "0.10000000000000001"},
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1e16, "10000000000000000"},
		{1e17, "1e+17"},
		{0.0001, "0.0001"},
		{0.00001, "1.0000000000000001e-05"},
		{math.NaN(), "nan"},
	} {
		if got := FormatFloat(tc.f); got != tc.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	a, b := 0.1, 0.2 // variables: constant arithmetic would be exact
	if got := FormatFloat(a + b); got != "0.30000000000000004" {
		t.Errorf("FormatFloat(0.1+0.2) = %q", got)
	}
	if got := string(AppendBulkFloat(nil, 1.5)); got != "$3\r\n1.5\r\n" {
		t.Errorf("AppendBulkFloat = %q", got)
	}
}

func mustLD(t *testing.T, s string) LongDouble {
	t.Helper()
	x, ok := ParseLongDouble([]byte(s))
	if !ok {
		t.Fatalf("ParseLongDouble(%q) failed", s)
	}
	return x
}

func TestFormatFloatHuman(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want string
	}{
		{"0", "1.1", "1.1"},
		{"0.1", "0.2", "0.3"},
		{"1.1", "1e300", "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"},
		{"0", "1e-7", "0.0000001"},
		{"0", "123456789012345678", "123456789012345678"},
		{"0", "3.0", "3"},
		{"0", "-0.0", "0"},
		{"0", "-1e-20", "0"},
		{"10", "-10", "0"},
		{"0", "0x1.8p3", "12"},
		{"0", "1e-17", "0.00000000000000001"},
		{"0", "6e-18", "0.00000000000000001"},
		{"0", "5e-18", "0"}, // the long double nearest 5e-18 is below it
		{"0", "4e-18", "0"},
	} {
		got := FormatFloatHuman(mustLD(t, tc.a).Add(mustLD(t, tc.b)))
		if got != tc.want {
			t.Errorf("%s + %s = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
	if !mustLD(t, "inf").Add(mustLD(t, "1")).IsInf() || !mustLD(t, "inf").Add(mustLD(t, "-inf")).IsNaN() {
		t.Error("infinity arithmetic")
	}
	if !mustLD(t, "1e4932").Add(mustLD(t, "1e4932")).IsInf() {
		t.Error("no overflow to infinity")
	}
	for _, bad := range []string{"", " 1", "1 ", "nan", "NaN", "-nan", "1e", "1e+", "0x", "0x1p", ".", "-", "+",
		"1e5000", "1e-5000", "1_000", "infinit", "inf1", "1,5", "0x1.8p", "--1", "1..2", "1\x00", "1\x00junk"} {
		if _, ok := ParseLongDouble([]byte(bad)); ok {
			t.Errorf("ParseLongDouble(%q) accepted", bad)
		}
	}
	for _, good := range []string{"1", "+1", "-1", "1.", ".5", "1e5", "1E-5", "0x10", "0X.8P1", "INF", "-Infinity", "007", strings.Repeat("9", 400)} {
		if _, ok := ParseLongDouble([]byte(good)); !ok {
			t.Errorf("ParseLongDouble(%q) refused", good)
		}
	}
	if got := LongDoubleFromInt64(-42).Float64(); got != -42 {
		t.Errorf("LongDoubleFromInt64 = %v", got)
	}
	if got := LongDoubleFromFloat64(0.1).Float64(); got != 0.1 {
		t.Errorf("LongDoubleFromFloat64 = %v", got)
	}
}

// randomDecimal returns a decimal string with up to 20 significant digits.
func randomDecimal(rng *rand.Rand) string {
	var b strings.Builder
	if rng.IntN(3) == 0 {
		b.WriteByte('-')
	}
	nd := 1 + rng.IntN(20)
	for i := 0; i < nd; i++ {
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	s := b.String()
	switch rng.IntN(3) {
	case 0:
		if len(s) > 2 {
			p := 1 + rng.IntN(len(s)-1)
			s = s[:p] + "." + s[p:]
		}
	case 1:
		s += "e" + strconv.Itoa(rng.IntN(60)-30)
	}
	return s
}

// TestFloatRepliesMatchRedis compares double replies (ZADD then ZSCORE,
// ZINCRBY) with redis-server byte for byte.
func TestFloatRepliesMatchRedis(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	seed := uint64(3)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	values := []float64{1.1, 1e300, math.Inf(1), math.Inf(-1), 0.1 + 0.2, 3.0, 1e-7, 123456789012345678,
		0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, 1e16, 1e17, 0.0001, 0.00001}
	for range 3000 {
		var f float64
		switch rng.IntN(3) {
		case 0:
			f = math.Float64frombits(rng.Uint64())
		case 1:
			f, _ = strconv.ParseFloat(randomDecimal(rng), 64)
		default:
			f = float64(rng.Int64N(1<<53)) / float64(int64(1)<<rng.IntN(60))
		}
		if !math.IsNaN(f) {
			values = append(values, f)
		}
	}
	type query struct {
		args []string
		want string
	}
	var qs []query
	for i, f := range values {
		m := "m" + strconv.Itoa(i)
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if math.IsInf(f, 0) {
			s = FormatFloat(f)
		}
		qs = append(qs, query{[]string{"ZADD", "z", s, m}, ""})
		want := string(AppendBulkFloat(nil, f))
		if f == 0 {
			// ZADD -0 reads back as 0 while the zset is a listpack and as
			// -0 once it is a skiplist: the store's business, not the
			// formatter's (ZINCRBY below checks "-0").
			want = ""
		}
		qs = append(qs, query{[]string{"ZSCORE", "z", m}, want})
		// A ZINCRBY on a fresh member: the reply is the double sum.
		if i > 0 && !math.IsInf(f, 0) && !math.IsInf(values[i-1], 0) {
			g := values[i-1]
			qs = append(qs, query{[]string{"ZADD", "z2", strconv.FormatFloat(g, 'g', -1, 64), m}, ""})
			sum := g + f
			want := string(AppendBulkFloat(nil, sum))
			if math.IsNaN(sum) {
				want = "-ERR resulting score is not a number (NaN)\r\n"
			}
			qs = append(qs, query{[]string{"ZINCRBY", "z2", strconv.FormatFloat(f, 'g', -1, 64), m}, want})
		}
	}
	runQueries(t, c, len(qs), func(i int) ([]string, string) { return qs[i].args, qs[i].want })
}

// runQueries pipelines n queries in batches and checks the replies whose
// expectation is not empty.
func runQueries(t *testing.T, c *testutil.RawClient, n int, q func(int) ([]string, string)) {
	t.Helper()
	bad := 0
	for i := 0; i < n; i += 500 {
		end := min(i+500, n)
		for j := i; j < end; j++ {
			args, _ := q(j)
			if err := c.Send(args...); err != nil {
				t.Fatal(err)
			}
		}
		for j := i; j < end; j++ {
			args, want := q(j)
			got, err := c.Read()
			if err != nil {
				t.Fatal(err)
			}
			if want != "" && string(got) != want {
				if bad++; bad < 20 {
					t.Errorf("%q: redis %q, shoal %q", args, got, want)
				}
			}
		}
	}
}

// TestIncrByFloatMatchesRedis compares INCRBYFLOAT and HINCRBYFLOAT results
// (long double arithmetic, "%.17Lf" trimmed) with redis-server byte for
// byte, including refused inputs.
func TestIncrByFloatMatchesRedis(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	seed := uint64(5)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	type step struct{ set, incr string }
	steps := []step{
		{"", "1.1"}, {"0.1", "0.2"}, {"1.1", "1e300"}, {"", "inf"}, {"", "-inf"}, {"3.0", "0"}, {"", "1e-7"},
		{"", "123456789012345678"}, {"", "-0.0"}, {"10", "-10"}, {"", "0x1.8p3"}, {"", " 1"}, {"", "1 "},
		{"", "nan"}, {"", "1e5000"}, {"", "1e-5000"}, {"", "1e"}, {"", "0x"}, {"abc", "1"}, {"", "1\x00x"},
		{"", "+5"}, {"", ".5"}, {"", "5."}, {"", "1e4932"}, {"1e4932", "1e4932"}, {"", "4e-18"}, {"", "5e-18"},
		{"", "-1e-20"}, {"", strings.Repeat("9", 60)}, {"", "0.1234567890123456789012345"},
		{"", "1" + strings.Repeat("0", 5200)},
	}
	for range 3000 {
		st := step{incr: randomDecimal(rng)}
		if rng.IntN(2) == 0 {
			st.set = randomDecimal(rng)
		}
		steps = append(steps, st)
	}
	expect := func(st step) string {
		cur := LongDouble{}
		if st.set != "" {
			var ok bool
			if cur, ok = ParseLongDouble([]byte(st.set)); !ok {
				return "-ERR value is not a valid float\r\n"
			}
		}
		incr, ok := ParseLongDouble([]byte(st.incr))
		if !ok {
			return "-ERR value is not a valid float\r\n"
		}
		sum := cur.Add(incr)
		if sum.IsInf() || sum.IsNaN() {
			return "-ERR increment would produce NaN or Infinity\r\n"
		}
		return string(AppendBulk(nil, AppendFloatHuman(nil, sum)))
	}
	// Per step: DEL k; SET k v (or a harmless command); INCRBYFLOAT k i;
	// and the same through a hash field.
	const per = 6
	runQueries(t, c, per*len(steps), func(i int) ([]string, string) {
		st := steps[i/per]
		switch i % per {
		case 0:
			return []string{"DEL", "k", "h"}, ""
		case 1:
			if st.set == "" {
				return []string{"PING"}, ""
			}
			return []string{"SET", "k", st.set}, ""
		case 2:
			return []string{"INCRBYFLOAT", "k", st.incr}, expect(st)
		case 3:
			if st.set == "" {
				return []string{"PING"}, ""
			}
			return []string{"HSET", "h", "f", st.set}, ""
		case 4:
			want := expect(st)
			if want == "-ERR value is not a valid float\r\n" && st.set != "" {
				if _, ok := ParseLongDouble([]byte(st.set)); !ok {
					want = "-ERR hash value is not a float\r\n"
				}
			}
			// HINCRBYFLOAT refuses an infinite increment up front.
			if x, ok := ParseLongDouble([]byte(st.incr)); ok && x.IsInf() {
				if _, ok := ParseLongDouble([]byte(st.set)); ok || st.set == "" {
					want = "-ERR value is NaN or Infinity\r\n"
				}
			}
			return []string{"HINCRBYFLOAT", "h", "f", st.incr}, want
		default:
			return []string{"PING"}, ""
		}
	})
	// Chains of increments on one key: the stored value is the formatted
	// string, parsed again by the next increment.
	c.Do("DEL", "chain")
	acc := LongDouble{}
	type link struct{ incr, want string }
	var chain []link
	for range 500 {
		inc := randomDecimal(rng)
		x, _ := ParseLongDouble([]byte(inc))
		next := acc.Add(x)
		if next.IsInf() {
			chain = append(chain, link{inc, "-ERR increment would produce NaN or Infinity\r\n"})
			continue
		}
		out := AppendFloatHuman(nil, next)
		acc, _ = ParseLongDouble(out)
		chain = append(chain, link{inc, string(AppendBulk(nil, out))})
	}
	runQueries(t, c, len(chain), func(i int) ([]string, string) {
		return []string{"INCRBYFLOAT", "chain", chain[i].incr}, chain[i].want
	})
}

func FuzzParseLongDouble(f *testing.F) {
	for _, s := range []string{"1.1", "0x1.8p3", "inf", "1e300", "-0", "1e-4950", ".5", "1e4932", "0x1p16383"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, ok := ParseLongDouble([]byte(s))
		if !ok {
			return
		}
		out := AppendFloatHuman(nil, x)
		if x.IsInf() {
			return
		}
		// The human form parses back to a value within the printed precision.
		y, ok := ParseLongDouble(out)
		if !ok {
			t.Fatalf("%q formatted as %q which does not parse", s, out)
		}
		if d := math.Abs(x.Float64() - y.Float64()); d > 1e-17 && d > math.Abs(x.Float64())*1e-15 {
			t.Fatalf("%q: %v vs %v (%s)", s, x.Float64(), y.Float64(), fmt.Sprint(out))
		}
	})
}
