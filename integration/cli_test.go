package integration

// redis-cli through the frontends: commands as arguments, a script on
// stdin (its output compared byte for byte with the same script run
// against a real redis-server), and mass insertion with --pipe.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// redisCLI runs redis-cli against addr with args and stdin and returns
// its standard output.
func redisCLI(t testing.TB, addr string, stdin []byte, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("redis-cli %v: %v\n%s%s", args, err, out.Bytes(), stderr.Bytes())
	}
	return out.String()
}

// cliScript is a random script of commands over keys cli:<kind>:<i>, one
// per line, as redis-cli reads them from stdin: every type, multi-key
// commands across shards, MULTI/EXEC on a hash tag, quoted arguments and
// a WRONGTYPE error.
func cliScript(rnd *rand.Rand, lines int) string {
	k := func(kind string) string { return "cli:" + kind + ":" + strconv.Itoa(rnd.Intn(6)) }
	v := func() string { return "v" + strconv.Itoa(rnd.Intn(1000)) }
	var b strings.Builder
	b.WriteString("SET cli:quoted \"hello  world\"\nGET cli:quoted\nSET cli:s:0 x\nGET cli:h:0\nHSET cli:h:0 f x\nGET cli:h:0\n")
	for i := 0; i < lines; i++ {
		var c string
		switch rnd.Intn(20) {
		case 0:
			c = fmt.Sprintf("SET %s %s", k("s"), v())
		case 1:
			c = "GET " + k("s")
		case 2:
			c = fmt.Sprintf("APPEND %s %s", k("s"), v())
		case 3:
			c = fmt.Sprintf("INCRBY %s %d", k("n"), rnd.Intn(100))
		case 4:
			c = fmt.Sprintf("MSET %s %s %s %s %s %s", k("s"), v(), k("s"), v(), k("s"), v())
		case 5:
			c = fmt.Sprintf("MGET %s %s %s %s cli:none", k("s"), k("s"), k("n"), k("s"))
		case 6:
			c = fmt.Sprintf("DEL %s %s", k("s"), k("l"))
		case 7:
			c = fmt.Sprintf("EXISTS %s %s %s", k("s"), k("h"), k("z"))
		case 8:
			c = fmt.Sprintf("HSET %s f%d %s f%d %s", k("h"), rnd.Intn(4), v(), rnd.Intn(4), v())
		case 9:
			c = fmt.Sprintf("HMGET %s f0 f1 f2 f3", k("h"))
		case 10:
			c = fmt.Sprintf("HINCRBY %s n %d", k("h"), rnd.Intn(10))
		case 11:
			c = fmt.Sprintf("RPUSH %s %s %s", k("l"), v(), v())
		case 12:
			c = fmt.Sprintf("LPOP %s", k("l"))
		case 13:
			c = fmt.Sprintf("LRANGE %s 0 -1", k("l"))
		case 14:
			c = fmt.Sprintf("SADD %s m%d m%d", k("S"), rnd.Intn(8), rnd.Intn(8))
		case 15:
			c = fmt.Sprintf("SMISMEMBER %s m0 m1 m2 m3\nSCARD %s", k("S"), k("S"))
		case 16:
			c = fmt.Sprintf("ZADD %s %d m%d %d m%d", k("z"), rnd.Intn(50), rnd.Intn(5), rnd.Intn(50), rnd.Intn(5))
		case 17:
			c = fmt.Sprintf("ZINCRBY %s %d m%d", k("z"), rnd.Intn(9), rnd.Intn(5))
		case 18:
			c = fmt.Sprintf("ZRANGE %s 0 -1 WITHSCORES", k("z"))
		case 19:
			c = fmt.Sprintf("MULTI\nINCR {cli}:n\nRPUSH {cli}:l %s\nLRANGE {cli}:l 0 -1\nEXEC", v())
		}
		b.WriteString(c + "\n")
	}
	return b.String()
}

// cliReadBack reads every key cliScript may write.
func cliReadBack() string {
	var b strings.Builder
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&b, "GET cli:s:%d\nGET cli:n:%d\nHMGET cli:h:%d f0 f1 f2 f3 n\nHLEN cli:h:%d\nLRANGE cli:l:%d 0 -1\n", i, i, i, i, i)
		fmt.Fprintf(&b, "SMISMEMBER cli:S:%d m0 m1 m2 m3 m4 m5 m6 m7\nZRANGE cli:z:%d 0 -1 WITHSCORES\n", i, i)
	}
	b.WriteString("GET {cli}:n\nLRANGE {cli}:l 0 -1\nGET cli:quoted\n")
	return b.String()
}

// checkRedisCLI runs redis-cli through the frontends writer and reader.
// It returns a check that reads everything the script wrote back through
// another frontend, later.
func checkRedisCLI(t *testing.T, writer, reader string, seed int64) (readBack func(addr string)) {
	t.Helper()
	oracle := testutil.StartRedis(t)

	// Arguments on the command line.
	if got := redisCLI(t, writer, nil, "SET", "cli:arg", "hello world"); got != "OK\n" {
		t.Fatalf("redis-cli SET: %q", got)
	}
	if got := redisCLI(t, reader, nil, "GET", "cli:arg"); got != "hello world\n" {
		t.Fatalf("redis-cli GET through the other frontend: %q", got)
	}
	if got := redisCLI(t, reader, nil, "PING"); got != "PONG\n" {
		t.Fatalf("redis-cli PING: %q", got)
	}

	// A script on stdin, compared with redis-server's output for the same.
	script := []byte(cliScript(rand.New(rand.NewSource(seed)), 400))
	back := []byte(cliReadBack())
	same := func(addr, what string, script []byte) int {
		t.Helper()
		got, want := redisCLI(t, addr, script), redisCLI(t, oracle, script)
		if got != want {
			t.Fatalf("redis-cli %s differs from redis-server:\n%s", what, firstDiff(string(script), got, want))
		}
		return strings.Count(got, "\n")
	}
	lines := same(writer, "script", script) + same(reader, "read back through the other frontend", back)
	t.Logf("redis-cli: %d script lines, %d output lines identical to redis-server's",
		strings.Count(string(script)+string(back), "\n"), lines)

	// Mass insertion with --pipe, read back with go-redis.
	const n = 3000
	var pipe []byte
	for i := 0; i < n; i++ {
		pipe = proto.AppendCommandStrings(pipe, "SET", "cli:pipe:"+strconv.Itoa(i), "p"+strconv.Itoa(i))
	}
	for i := 0; i < 100; i++ {
		pipe = proto.AppendCommandStrings(pipe, "INCR", "cli:pipe:count")
	}
	out := redisCLI(t, writer, pipe, "--pipe")
	if !strings.Contains(out, "errors: 0, replies: "+strconv.Itoa(n+100)) {
		t.Fatalf("redis-cli --pipe: %q", out)
	}
	cl := newClient(reader, 2)
	defer cl.Close()
	ctx := context.Background()
	for lo := 0; lo < n; lo += 500 {
		keys := make([]string, 0, 500)
		for i := lo; i < lo+500; i++ {
			keys = append(keys, "cli:pipe:"+strconv.Itoa(i))
		}
		vals, err := cl.MGet(ctx, keys...).Result()
		if err != nil {
			t.Fatalf("MGET after --pipe: %v", err)
		}
		for i, v := range vals {
			if v != "p"+strconv.Itoa(lo+i) {
				t.Fatalf("%s after --pipe: %v", keys[i], v)
			}
		}
	}
	if c, err := cl.Get(ctx, "cli:pipe:count").Result(); c != "100" || err != nil {
		t.Fatalf("INCR x100 through --pipe: %q %v", c, err)
	}
	return func(addr string) { same(addr, "read back through "+addr, back) }
}

// firstDiff shows where two outputs of a script first differ.
func firstDiff(script, got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			lo := max(0, i-5)
			return fmt.Sprintf("output line %d: got %q, redis-server %q\ncontext (redis-server): %q\nscript:\n%s",
				i+1, a, b, w[lo:min(len(w), i+1)], script)
		}
	}
	return "same lines, different bytes"
}
