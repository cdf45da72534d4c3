package frontend

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
)

// Local replies are appended to c.local and recorded with addLocal.

func cmdOK(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	lo := len(c.local)
	c.local = proto.AppendOK(c.local)
	c.addLocal(spec, lo)
}

func cmdPing(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	if len(args) > 2 {
		c.localErr(spec, proto.ErrWrongArity("ping"))
		return
	}
	lo := len(c.local)
	switch {
	case c.psMode && c.subs.total() > 0:
		c.local = proto.AppendArray(c.local, 2)
		c.local = proto.AppendBulkString(c.local, "pong")
		if len(args) == 2 {
			c.local = proto.AppendBulk(c.local, args[1])
		} else {
			c.local = proto.AppendBulkString(c.local, "")
		}
	case len(args) == 2:
		c.local = proto.AppendBulk(c.local, args[1])
	default:
		c.local = append(c.local, "+PONG\r\n"...)
	}
	c.addLocal(spec, lo)
}

func cmdEcho(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	lo := len(c.local)
	c.local = proto.AppendBulk(c.local, args[1])
	c.addLocal(spec, lo)
}

func cmdQuit(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	cmdOK(c, spec, args)
	c.quit = true
}

func cmdSelect(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	n, ok := respserver.ParseInt(args[1])
	switch {
	case !ok:
		c.localErr(spec, "ERR value is not an integer or out of range")
	case n != 0:
		c.localErr(spec, "ERR DB index is out of range")
	default:
		cmdOK(c, spec, args)
	}
}

func (c *clientConn) setAuthed() {
	c.authed = true
	c.rd.SetAuthRequired(false)
}

func cmdAuth(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	lo := len(c.local)
	var ok bool
	if c.local, ok = respserver.AppendAuth(c.local, args, c.s.cfg.RequirePass); ok {
		c.setAuthed()
	}
	c.addLocal(spec, lo)
}

// cmdHello answers HELLO [protover [AUTH user pass] [SETNAME name]] for
// RESP2 only: HELLO 3 gets -NOPROTO, so clients fall back to RESP2.
func cmdHello(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	lo := len(c.local)
	var auth bool
	if c.local, auth = respserver.AppendHello(c.local, args, &c.Session, c.s.cfg.RequirePass, c.authed, "master"); auth {
		c.setAuthed()
	}
	c.addLocal(spec, lo)
}

func cmdTime(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	now := time.Now()
	lo := len(c.local)
	c.local = proto.AppendArray(c.local, 2)
	c.local = proto.AppendBulkString(c.local, strconv.FormatInt(now.Unix(), 10))
	c.local = proto.AppendBulkString(c.local, strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
	c.addLocal(spec, lo)
}

func cmdCommand(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	lo := len(c.local)
	c.local = proto.AppendCommandReply(c.local, args)
	c.addLocal(spec, lo)
}

// ---- CLIENT ----

func cmdClient(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	lo := len(c.local)
	out, handled, self := respserver.AppendClient(c.local, args, c, &c.Session, &c.s.conns)
	c.quit = c.quit || self
	if !handled {
		switch sub := strings.ToLower(string(args[1])); {
		case sub == "no-evict" && len(args) == 3:
			out = proto.AppendOK(out)
		case sub == "reply" && len(args) == 3 && strings.EqualFold(string(args[2]), "on"):
			out = proto.AppendOK(out)
		case sub == "setinfo" || sub == "list" || sub == "id" || sub == "getname" || sub == "setname" ||
			sub == "info" || sub == "kill" || sub == "help" || sub == "no-evict":
			out = proto.AppendError(out, respserver.ErrSubcommand("CLIENT", args[1]))
		default:
			out = proto.AppendError(out, "ERR CLIENT "+strings.ToUpper(sub)+" is not supported through a shoal frontend")
		}
	}
	c.local = out
	c.addLocal(spec, lo)
}

// ClientInfo describes c for CLIENT LIST and CLIENT INFO asked by self
// (respserver.Client).
func (c *clientConn) ClientInfo(self *clientConn) respserver.ClientInfo {
	ci := c.Info()
	ci.PubSub = c.psMode
	ci.Sub, ci.PSub = c.s.hub.counts(c)
	if c == self && c.tx.active {
		ci.Multi = c.tx.count
	}
	return ci
}

// Kill closes c for CLIENT KILL (respserver.Client).
func (c *clientConn) Kill() { c.close() }

// ---- INFO ----

func cmdInfo(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	lo := len(c.local)
	c.local = proto.AppendBulkString(c.local, c.s.infoText(args[1:]))
	c.addLocal(spec, lo)
}

// infoText renders INFO [section ...]: the frontend's server, clients and
// stats sections and a cluster section with the shard view.
func (s *Server) infoText(sections [][]byte) string {
	want := map[string]bool{}
	for _, a := range sections {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	section := func(name string, lines ...string) {
		if !all && !want[strings.ToLower(name)] {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + name + "\r\n")
		for _, l := range lines {
			b.WriteString(l + "\r\n")
		}
	}
	port := s.conns.Port()
	up := time.Since(s.startTime)
	section("Server",
		"redis_version:"+respserver.RedisVersion,
		"redis_mode:standalone",
		"shoal_role:frontend",
		"shoal_version:"+s.cfg.Version,
		"process_id:"+strconv.Itoa(os.Getpid()),
		"tcp_port:"+port,
		"uptime_in_seconds:"+strconv.FormatInt(int64(up.Seconds()), 10),
		"uptime_in_days:"+strconv.FormatInt(int64(up.Hours()/24), 10),
	)
	nconns := s.conns.Len()
	section("Clients",
		"connected_clients:"+strconv.Itoa(nconns),
		"blocked_clients:"+strconv.FormatInt(s.stats.blockedClients.Load(), 10),
		"maxclients:"+strconv.Itoa(s.cfg.MaxClients),
	)
	section("Stats",
		"total_connections_received:"+strconv.FormatInt(s.conns.Received(), 10),
		"total_commands_processed:"+strconv.FormatInt(s.stats.commandsProcessed.Load(), 10),
		"rejected_connections:"+strconv.FormatInt(s.conns.Rejected(), 10),
	)
	v := s.router.view()
	state := "ok"
	if !s.Ready() || v.withMaster < len(v.order) {
		state = "fail"
	}
	lines := []string{
		"cluster_state:" + state,
		"cluster_ready:" + boolInt(s.Ready()),
		"cluster_expected_shards:" + strconv.Itoa(s.cfg.ExpectShards),
		"cluster_known_shards:" + strconv.Itoa(len(v.order)),
		"cluster_shards_with_master:" + strconv.Itoa(v.withMaster),
		"cluster_members:" + strconv.Itoa(len(v.members)),
		"read_policy:" + string(s.cfg.ReadPolicy),
		"hashring:" + s.cfg.Hashring.Algorithm,
	}
	for i, sh := range v.order {
		reps := make([]string, 0, len(sh.replicas))
		for _, r := range sh.replicas {
			reps = append(reps, r.n.addr)
		}
		lines = append(lines, fmt.Sprintf("shard%d:name=%s,master=%s,epoch=%d,replicas=%s",
			i, sh.name, addrOf(sh.master), sh.epoch, strings.Join(reps, "|")))
	}
	section("Cluster", lines...)
	return b.String()
}

func boolInt(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ---- SHOAL ----

// cmdShoal answers the admin command SHOAL:
//
//	SHOAL SHARDS      each shard: [name, master address or nil, epoch, [replica addresses]]
//	SHOAL MEMBERS     each gossip member: [name, gossip address, status, role, shard, repl role, epoch, RESP address]
//	SHOAL ROUTE key   [shard, master address or nil]
//	SHOAL HELP
func cmdShoal(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	v := c.s.router.view()
	lo := len(c.local)
	b := c.local
	switch sub := strings.ToLower(string(args[1])); {
	case sub == "shards" && len(args) == 2:
		b = proto.AppendArray(b, len(v.order))
		for _, sh := range v.order {
			b = proto.AppendArray(b, 4)
			b = proto.AppendBulkString(b, sh.name)
			b = appendAddr(b, sh.master)
			b = proto.AppendInt(b, int64(sh.epoch))
			b = proto.AppendArray(b, len(sh.replicas))
			for _, r := range sh.replicas {
				b = proto.AppendBulkString(b, r.n.addr)
			}
		}
	case sub == "members" && len(args) == 2:
		b = proto.AppendArray(b, len(v.members))
		for _, m := range v.members {
			b = proto.AppendArray(b, 8)
			b = proto.AppendBulkString(b, m.Name)
			b = proto.AppendBulkString(b, m.Addr.String())
			b = proto.AppendBulkString(b, m.Status.String())
			b = proto.AppendBulkString(b, string(m.Tags.Role))
			b = proto.AppendBulkString(b, m.Tags.Shard)
			b = proto.AppendBulkString(b, string(m.Tags.ReplRole))
			b = proto.AppendInt(b, int64(m.Tags.Epoch))
			b = proto.AppendBulkString(b, m.Tags.RESPAddr)
		}
	case sub == "route" && len(args) == 3:
		sh := v.shardFor(args[2])
		if sh == nil {
			c.localErr(spec, "CLUSTERDOWN no shard is known")
			return
		}
		b = proto.AppendArray(b, 2)
		b = proto.AppendBulkString(b, sh.name)
		b = appendAddr(b, sh.master)
	case sub == "keyhash" && len(args) == 3:
		b = proto.AppendBulkString(b, strconv.FormatUint(hashring.KeyHash(args[2]), 10))
	case sub == "help" && len(args) == 2:
		help := []string{
			"SHOAL <subcommand> [<arg> ...]. Subcommands are:",
			"SHARDS", "    Each shard: name, master address, epoch, replica addresses.",
			"MEMBERS", "    The gossip view: name, address, status, role, shard, replication role, epoch, RESP address.",
			"ROUTE <key>", "    The shard and master node <key> goes to.",
			"KEYHASH <key>", "    The 64-bit hash <key> is routed by.",
			"HELP", "    Print this help.",
		}
		b = respserver.AppendHelp(b, help)
	default:
		c.localErr(spec, respserver.ErrSubcommand("SHOAL", args[1]))
		return
	}
	c.local = b
	c.addLocal(spec, lo)
}

func appendAddr(b []byte, n *node) []byte {
	if n == nil {
		return proto.AppendNullBulk(b)
	}
	return proto.AppendBulkString(b, n.addr)
}
