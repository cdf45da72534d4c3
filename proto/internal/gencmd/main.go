// Command gencmd writes proto/commands_gen.go from a real redis-server: the
// COMMAND INFO and COMMAND DOCS entries of every command shoal implements,
// both parsed (arity, flags, key positions, key specs) and as raw RESP, so
// that shoal answers COMMAND byte for byte like Redis.
//
// Usage, from the proto directory (or via go generate):
//
//	go run ./internal/gencmd -out commands_gen.go
//
// It starts redis-server (from PATH, or -redis-server) on a private Unix
// socket, or uses -addr. It refuses a server other than -want-version
// (7.0.15) unless -want-version is empty.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// commands lists the top-level commands shoal implements. Containers bring
// all the subcommands Redis lists for them.
var commands = []string{
	// strings
	"get", "set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "mget", "mset", "msetnx",
	"incr", "decr", "incrby", "decrby", "incrbyfloat", "append", "strlen", "getrange", "setrange", "substr",
	// keys
	"del", "unlink", "exists", "type", "expire", "pexpire", "expireat", "pexpireat", "expiretime",
	"pexpiretime", "ttl", "pttl", "persist", "keys", "scan", "randomkey", "rename", "renamenx", "touch",
	"copy", "dbsize", "flushdb", "flushall", "object",
	// hashes
	"hset", "hsetnx", "hget", "hmget", "hmset", "hgetall", "hdel", "hexists", "hlen", "hkeys", "hvals",
	"hincrby", "hincrbyfloat", "hstrlen", "hscan", "hrandfield",
	// lists
	"lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange", "lindex", "lset", "linsert",
	"lrem", "ltrim", "lpos", "rpoplpush", "lmove", "blpop", "brpop", "blmove", "brpoplpush",
	// sets
	"sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop", "srandmember", "smove",
	"sinter", "sintercard", "sinterstore", "sunion", "sunionstore", "sdiff", "sdiffstore", "sscan",
	// sorted sets
	"zadd", "zrem", "zscore", "zmscore", "zincrby", "zcard", "zcount", "zlexcount", "zrank", "zrevrank",
	"zrange", "zrangebyscore", "zrevrangebyscore", "zrangebylex", "zrevrangebylex", "zrevrange",
	"zrangestore", "zremrangebyrank", "zremrangebyscore", "zremrangebylex", "zpopmin", "zpopmax",
	"bzpopmin", "bzpopmax", "zrandmember", "zscan", "zunion", "zinter", "zdiff", "zunionstore",
	"zinterstore", "zdiffstore",
	// transactions
	"multi", "exec", "discard", "watch", "unwatch",
	// pub/sub
	"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "publish", "pubsub",
	// connection and server
	"ping", "echo", "quit", "hello", "auth", "select", "client", "info", "config", "time", "save",
	"bgsave", "lastsave", "wait", "role", "readonly", "readwrite", "command", "replicaof", "slaveof",
}

func main() {
	out := flag.String("out", "commands_gen.go", "output file")
	bin := flag.String("redis-server", "redis-server", "redis-server binary to start")
	addr := flag.String("addr", "", "use this running server (host:port or a Unix socket path) instead of starting one")
	want := flag.String("want-version", "7.0.15", "refuse other redis_version values (empty: accept any)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gencmd: ")

	conn, stop, err := connect(*addr, *bin)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	c := &client{conn: conn, r: bufio.NewReader(conn)}

	version, err := serverVersion(c)
	if err != nil {
		log.Fatal(err)
	}
	if *want != "" && version != *want {
		log.Fatalf("redis-server is %s, want %s (use -want-version to override)", version, *want)
	}

	var specs []*spec
	for _, name := range commands {
		s, err := fetch(c, name)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		specs = append(specs, s)
	}
	help, err := c.do("COMMAND", "HELP")
	if err != nil {
		log.Fatal(err)
	}
	src, err := render(version, specs, help.raw)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s: %d commands from redis-server %s", *out, len(specs), version)
}

// connect dials addr, or starts redis-server on a Unix socket in a
// temporary directory.
func connect(addr, bin string) (net.Conn, func(), error) {
	if addr != "" {
		network := "tcp"
		if strings.Contains(addr, "/") {
			network = "unix"
		}
		c, err := net.DialTimeout(network, addr, 5*time.Second)
		if err != nil {
			return nil, nil, err
		}
		return c, func() { c.Close() }, nil
	}
	dir, err := os.MkdirTemp("", "gencmd")
	if err != nil {
		return nil, nil, err
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", "")
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			return c, func() { c.Close(); stop() }, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("redis-server did not start: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type client struct {
	conn net.Conn
	r    *bufio.Reader
}

func (c *client) do(args ...string) (*node, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(b.Bytes()); err != nil {
		return nil, err
	}
	var raw []byte
	if err := readFrame(c.r, &raw); err != nil {
		return nil, err
	}
	n, rest, err := parse(raw)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing bytes after reply")
	}
	if n.kind == '-' {
		return nil, fmt.Errorf("%v: %s", args, n.str)
	}
	return n, nil
}

func serverVersion(c *client) (string, error) {
	n, err := c.do("INFO", "server")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(n.str, "\r\n") {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			return v, nil
		}
	}
	return "", errors.New("no redis_version in INFO")
}

// readFrame appends one RESP2 frame from r to out.
func readFrame(r *bufio.Reader, out *[]byte) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	*out = append(*out, line...)
	switch line[0] {
	case '+', '-', ':':
		return nil
	case '$':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil || n < 0 {
			return err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		*out = append(*out, buf...)
		return nil
	case '*':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := readFrame(r, out); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected reply %q", line)
}

// node is a parsed reply that keeps the raw bytes of every element.
type node struct {
	kind  byte // + - : $ *
	null  bool
	str   string
	num   int64
	elems []*node
	raw   []byte
}

func parse(b []byte) (*node, []byte, error) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 1 {
		return nil, nil, errors.New("bad frame")
	}
	n := &node{kind: b[0]}
	body := string(b[1:i])
	rest := b[i+2:]
	switch n.kind {
	case '+', '-':
		n.str = body
	case ':':
		v, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, nil, err
		}
		n.num = v
	case '$':
		l, err := strconv.Atoi(body)
		if err != nil {
			return nil, nil, err
		}
		if l < 0 {
			n.null = true
			break
		}
		n.str = string(rest[:l])
		rest = rest[l+2:]
	case '*':
		l, err := strconv.Atoi(body)
		if err != nil {
			return nil, nil, err
		}
		if l < 0 {
			n.null = true
			break
		}
		for k := 0; k < l; k++ {
			var e *node
			e, rest, err = parse(rest)
			if err != nil {
				return nil, nil, err
			}
			n.elems = append(n.elems, e)
		}
	default:
		return nil, nil, fmt.Errorf("bad type %q", n.kind)
	}
	n.raw = b[:len(b)-len(rest)]
	return n, rest, nil
}

// spec mirrors proto.CommandSpec.
type spec struct {
	name, fullName          string
	arity                   int64
	flags                   []string
	first, last, step       int64
	acl, tips               []string
	keySpecs                []keySpec
	subs                    []*spec
	info                    string
	docs                    string
	docsPairs               int
	summary, since, group   string
	complexity              string
	docsSubs                map[string]*node
	infoEntry, docsEntryRaw *node
}

type keySpec struct {
	notes      string
	flags      []string
	search     string // index, keyword, unknown
	index      int64
	keyword    string
	startFrom  int64
	find       string // range, keynum, unknown
	lastKey    int64
	keyStep    int64
	limit      int64
	keyNumIdx  int64
	firstKeyNo int64
}

func fetch(c *client, name string) (*spec, error) {
	info, err := c.do("COMMAND", "INFO", name)
	if err != nil {
		return nil, err
	}
	if len(info.elems) != 1 || info.elems[0].null {
		return nil, errors.New("unknown to redis-server")
	}
	s, err := fromInfo(info.elems[0])
	if err != nil {
		return nil, err
	}
	docs, err := c.do("COMMAND", "DOCS", name)
	if err != nil {
		return nil, err
	}
	if len(docs.elems) != 2 || docs.elems[0].str != name {
		return nil, errors.New("unexpected COMMAND DOCS reply")
	}
	if err := addDocs(s, docs.elems[1]); err != nil {
		return nil, err
	}
	return s, nil
}

func strs(n *node) []string {
	var out []string
	for _, e := range n.elems {
		out = append(out, e.str)
	}
	return out
}

func fromInfo(e *node) (*spec, error) {
	if e.kind != '*' || len(e.elems) != 10 {
		return nil, fmt.Errorf("COMMAND INFO entry with %d fields", len(e.elems))
	}
	s := &spec{
		fullName: e.elems[0].str,
		arity:    e.elems[1].num,
		flags:    strs(e.elems[2]),
		first:    e.elems[3].num,
		last:     e.elems[4].num,
		step:     e.elems[5].num,
		acl:      strs(e.elems[6]),
		tips:     strs(e.elems[7]),
	}
	s.name = s.fullName
	if i := strings.IndexByte(s.fullName, '|'); i >= 0 {
		s.name = s.fullName[i+1:]
	}
	var head []byte
	for _, f := range e.elems[:9] {
		head = append(head, f.raw...)
	}
	s.info = string(head)
	for _, ksn := range e.elems[8].elems {
		ks, err := parseKeySpec(ksn)
		if err != nil {
			return nil, fmt.Errorf("%s key spec: %w", s.fullName, err)
		}
		s.keySpecs = append(s.keySpecs, ks)
	}
	for _, sub := range e.elems[9].elems {
		ss, err := fromInfo(sub)
		if err != nil {
			return nil, err
		}
		s.subs = append(s.subs, ss)
	}
	// Redis lists subcommands in the order of its randomly seeded hash
	// table; sort them so the output is stable.
	sort.Slice(s.subs, func(i, j int) bool { return s.subs[i].fullName < s.subs[j].fullName })
	return s, nil
}

func mapOf(n *node) (map[string]*node, error) {
	if n.kind != '*' || len(n.elems)%2 != 0 {
		return nil, errors.New("not a flattened map")
	}
	m := map[string]*node{}
	for i := 0; i < len(n.elems); i += 2 {
		m[n.elems[i].str] = n.elems[i+1]
	}
	return m, nil
}

func parseKeySpec(n *node) (keySpec, error) {
	var ks keySpec
	m, err := mapOf(n)
	if err != nil {
		return ks, err
	}
	if v, ok := m["notes"]; ok {
		ks.notes = v.str
	}
	ks.flags = strs(m["flags"])
	bs, err := mapOf(m["begin_search"])
	if err != nil {
		return ks, err
	}
	ks.search = bs["type"].str
	bspec, err := mapOf(bs["spec"])
	if err != nil {
		return ks, err
	}
	switch ks.search {
	case "index":
		ks.index = bspec["index"].num
	case "keyword":
		ks.keyword = bspec["keyword"].str
		ks.startFrom = bspec["startfrom"].num
	case "unknown":
	default:
		return ks, fmt.Errorf("begin_search type %q", ks.search)
	}
	fk, err := mapOf(m["find_keys"])
	if err != nil {
		return ks, err
	}
	ks.find = fk["type"].str
	fspec, err := mapOf(fk["spec"])
	if err != nil {
		return ks, err
	}
	switch ks.find {
	case "range":
		ks.lastKey = fspec["lastkey"].num
		ks.keyStep = fspec["keystep"].num
		ks.limit = fspec["limit"].num
	case "keynum":
		ks.keyNumIdx = fspec["keynumidx"].num
		ks.firstKeyNo = fspec["firstkey"].num
		ks.keyStep = fspec["keystep"].num
	case "unknown":
	default:
		return ks, fmt.Errorf("find_keys type %q", ks.find)
	}
	return ks, nil
}

// addDocs records the docs map of s (and of its subcommands).
func addDocs(s *spec, d *node) error {
	if d.kind != '*' || len(d.elems)%2 != 0 {
		return errors.New("docs: not a map")
	}
	var raw []byte
	for i := 0; i < len(d.elems); i += 2 {
		k, v := d.elems[i], d.elems[i+1]
		switch k.str {
		case "subcommands":
			if i != len(d.elems)-2 {
				return errors.New("docs: subcommands is not the last field")
			}
			subs, err := mapOf(v)
			if err != nil {
				return err
			}
			if len(subs) != len(s.subs) {
				return fmt.Errorf("docs: %d subcommands, info has %d", len(subs), len(s.subs))
			}
			// Subcommand docs are matched by full name; their order in
			// the docs map is kept in the order of COMMAND INFO.
			for _, sub := range s.subs {
				sd, ok := subs[sub.fullName]
				if !ok {
					return fmt.Errorf("docs: no docs for %s", sub.fullName)
				}
				if err := addDocs(sub, sd); err != nil {
					return err
				}
			}
			s.docsSubs = subs
			continue
		case "summary":
			s.summary = v.str
		case "since":
			s.since = v.str
		case "group":
			s.group = v.str
		case "complexity":
			s.complexity = v.str
		}
		raw = append(raw, k.raw...)
		raw = append(raw, v.raw...)
		s.docsPairs++
	}
	s.docs = string(raw)
	return nil
}

var flagConst = map[string]string{
	"write": "FlagWrite", "readonly": "FlagReadOnly", "denyoom": "FlagDenyOOM", "module": "FlagModule",
	"admin": "FlagAdmin", "pubsub": "FlagPubSub", "noscript": "FlagNoScript", "blocking": "FlagBlocking",
	"loading": "FlagLoading", "stale": "FlagStale", "skip_monitor": "FlagSkipMonitor",
	"skip_slowlog": "FlagSkipSlowlog", "asking": "FlagAsking", "fast": "FlagFast", "no_auth": "FlagNoAuth",
	"no_mandatory_keys": "FlagNoMandatoryKeys", "no_async_loading": "FlagNoAsyncLoading",
	"no_multi": "FlagNoMulti", "movablekeys": "FlagMovableKeys", "allow_busy": "FlagAllowBusy",
}

var keyFlagConst = map[string]string{
	"RO": "KeyRO", "RW": "KeyRW", "OW": "KeyOW", "RM": "KeyRM", "access": "KeyAccess",
	"update": "KeyUpdate", "insert": "KeyInsert", "delete": "KeyDelete", "not_key": "KeyNotKey",
	"incomplete": "KeyIncomplete", "variable_flags": "KeyVariableFlags",
}

func bits(names []string, consts map[string]string) (string, error) {
	if len(names) == 0 {
		return "0", nil
	}
	var parts []string
	for _, n := range names {
		c, ok := consts[n]
		if !ok {
			return "", fmt.Errorf("unknown flag %q", n)
		}
		parts = append(parts, c)
	}
	return strings.Join(parts, " | "), nil
}

func quoteList(ss []string) string {
	if len(ss) == 0 {
		return "nil"
	}
	var q []string
	for _, s := range ss {
		q = append(q, strconv.Quote(s))
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func render(version string, specs []*spec, help []byte) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./internal/gencmd; DO NOT EDIT.\n")
	fmt.Fprintf(&b, "// Source: COMMAND INFO and COMMAND DOCS of redis-server %s.\n\n", version)
	fmt.Fprintf(&b, "package proto\n\n")
	fmt.Fprintf(&b, "// generatedRedisVersion is the redis-server the table was read from.\n")
	fmt.Fprintf(&b, "const generatedRedisVersion = %q\n\n", version)
	fmt.Fprintf(&b, "// commandHelpReply is Redis's raw reply to COMMAND HELP.\n")
	fmt.Fprintf(&b, "const commandHelpReply = %s\n\n", strconv.Quote(string(help)))
	fmt.Fprintf(&b, "// generatedCommands are the commands shoal implements, as redis-server reports them.\n")
	fmt.Fprintf(&b, "var generatedCommands = []*CommandSpec{\n")
	for _, s := range specs {
		if err := renderSpec(&b, s); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(&b, "}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gofmt generated code: %w", err)
	}
	return src, nil
}

func renderSpec(b *bytes.Buffer, s *spec) error {
	flags, err := bits(s.flags, flagConst)
	if err != nil {
		return fmt.Errorf("%s: %w", s.fullName, err)
	}
	fmt.Fprintf(b, "{\n")
	fmt.Fprintf(b, "Name: %q, FullName: %q, Arity: %d,\n", s.name, s.fullName, s.arity)
	fmt.Fprintf(b, "Flags: %s,\n", flags)
	fmt.Fprintf(b, "FlagNames: %s,\n", quoteList(s.flags))
	fmt.Fprintf(b, "FirstKey: %d, LastKey: %d, Step: %d,\n", s.first, s.last, s.step)
	fmt.Fprintf(b, "ACLCategories: %s,\n", quoteList(s.acl))
	if len(s.tips) > 0 {
		fmt.Fprintf(b, "Tips: %s,\n", quoteList(s.tips))
	}
	if len(s.keySpecs) > 0 {
		fmt.Fprintf(b, "KeySpecs: []KeySpec{\n")
		for _, ks := range s.keySpecs {
			kf, err := bits(ks.flags, keyFlagConst)
			if err != nil {
				return fmt.Errorf("%s: %w", s.fullName, err)
			}
			fmt.Fprintf(b, "{")
			if ks.notes != "" {
				fmt.Fprintf(b, "Notes: %q, ", ks.notes)
			}
			fmt.Fprintf(b, "Flags: %s, ", kf)
			switch ks.search {
			case "index":
				fmt.Fprintf(b, "Search: SearchIndex, Index: %d, ", ks.index)
			case "keyword":
				fmt.Fprintf(b, "Search: SearchKeyword, Keyword: %q, StartFrom: %d, ", ks.keyword, ks.startFrom)
			default:
				fmt.Fprintf(b, "Search: SearchUnknown, ")
			}
			switch ks.find {
			case "range":
				fmt.Fprintf(b, "Find: FindRange, LastKey: %d, KeyStep: %d, Limit: %d", ks.lastKey, ks.keyStep, ks.limit)
			case "keynum":
				fmt.Fprintf(b, "Find: FindKeynum, KeyNumIdx: %d, FirstKey: %d, KeyStep: %d", ks.keyNumIdx, ks.firstKeyNo, ks.keyStep)
			default:
				fmt.Fprintf(b, "Find: FindUnknown")
			}
			fmt.Fprintf(b, "},\n")
		}
		fmt.Fprintf(b, "},\n")
	}
	fmt.Fprintf(b, "Summary: %q, Since: %q, Group: %q, Complexity: %q,\n", s.summary, s.since, s.group, s.complexity)
	fmt.Fprintf(b, "info: %s,\n", strconv.Quote(s.info))
	fmt.Fprintf(b, "docs: %s, docsPairs: %d,\n", strconv.Quote(s.docs), s.docsPairs)
	if len(s.subs) > 0 {
		fmt.Fprintf(b, "Subcommands: []*CommandSpec{\n")
		for _, sub := range s.subs {
			if err := renderSpec(b, sub); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, "},\n")
	}
	fmt.Fprintf(b, "},\n")
	return nil
}
