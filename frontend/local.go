package frontend

import (
	"crypto/subtle"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/proto"
)

// redisVersion is the Redis version the frontend answers as (INFO, HELLO),
// the same as shardd's.
const redisVersion = "7.0.15"

const errSyntax = "ERR syntax error"

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
	n, err := strconv.ParseInt(string(args[1]), 10, 64)
	switch {
	case err != nil || !canonicalInt(args[1]):
		c.localErr(spec, "ERR value is not an integer or out of range")
	case n != 0:
		c.localErr(spec, "ERR DB index is out of range")
	default:
		cmdOK(c, spec, args)
	}
}

// canonicalInt reports whether b is an integer as Redis's string2ll
// accepts it (no '+', no leading zeros, no spaces).
func canonicalInt(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	s := b
	if s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || (s[0] == '0' && len(b) > 1) {
		return false
	}
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return false
		}
	}
	return true
}

func (c *clientConn) setAuthed() {
	c.authed = true
	c.rd.SetAuthRequired(false)
}

func cmdAuth(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	pw := c.s.cfg.RequirePass
	if len(args) > 3 {
		c.localErr(spec, errSyntax)
		return
	}
	if pw == "" {
		if len(args) == 2 {
			c.localErr(spec, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		} else {
			c.localErr(spec, "WRONGPASS invalid username-password pair or user is disabled.")
		}
		return
	}
	user, pass := "default", args[len(args)-1]
	if len(args) == 3 {
		user = string(args[1])
	}
	if user != "default" || subtle.ConstantTimeCompare(pass, []byte(pw)) != 1 {
		c.localErr(spec, "WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	c.setAuthed()
	cmdOK(c, spec, args)
}

// cmdHello answers HELLO [protover [AUTH user pass] [SETNAME name]] for
// RESP2 only: HELLO 3 gets -NOPROTO, so clients fall back to RESP2.
func cmdHello(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	i := 1
	if len(args) > 1 {
		ver, err := strconv.ParseInt(string(args[1]), 10, 64)
		if err != nil || !canonicalInt(args[1]) {
			c.localErr(spec, "ERR Protocol version is not an integer or out of range")
			return
		}
		if ver != 2 {
			c.localErr(spec, "NOPROTO unsupported protocol version")
			return
		}
		i = 2
	}
	var setname []byte
	for ; i < len(args); i++ {
		switch {
		case strings.EqualFold(string(args[i]), "auth") && i+2 < len(args):
			pw := c.s.cfg.RequirePass
			if string(args[i+1]) != "default" || pw == "" || subtle.ConstantTimeCompare(args[i+2], []byte(pw)) != 1 {
				c.localErr(spec, "WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			c.setAuthed()
			i += 2
		case strings.EqualFold(string(args[i]), "setname") && i+1 < len(args):
			setname = args[i+1]
			i++
		default:
			c.localErr(spec, "ERR Syntax error in HELLO option '"+string(args[i])+"'")
			return
		}
	}
	if !c.authed {
		c.localErr(spec, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setname != nil {
		if !validClientName(setname) {
			c.localErr(spec, "ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.name = string(setname)
	}
	lo := len(c.local)
	b := proto.AppendArray(c.local, 14)
	b = proto.AppendBulkString(b, "server")
	b = proto.AppendBulkString(b, "redis")
	b = proto.AppendBulkString(b, "version")
	b = proto.AppendBulkString(b, redisVersion)
	b = proto.AppendBulkString(b, "proto")
	b = proto.AppendInt(b, 2)
	b = proto.AppendBulkString(b, "id")
	b = proto.AppendInt(b, c.id)
	b = proto.AppendBulkString(b, "mode")
	b = proto.AppendBulkString(b, "standalone")
	b = proto.AppendBulkString(b, "role")
	b = proto.AppendBulkString(b, "master")
	b = proto.AppendBulkString(b, "modules")
	b = proto.AppendArray(b, 0)
	c.local = b
	c.addLocal(spec, lo)
}

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
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
	sub := strings.ToLower(string(args[1]))
	lo := len(c.local)
	switch {
	case sub == "id" && len(args) == 2:
		c.local = proto.AppendInt(c.local, c.id)
	case sub == "getname" && len(args) == 2:
		if c.name == "" {
			c.local = proto.AppendNullBulk(c.local)
		} else {
			c.local = proto.AppendBulkString(c.local, c.name)
		}
	case sub == "setname" && len(args) == 3:
		if !validClientName(args[2]) {
			c.localErr(spec, "ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.name = string(args[2])
		c.local = proto.AppendOK(c.local)
	case sub == "setinfo" && len(args) == 4:
		attr := strings.ToLower(string(args[2]))
		if !validClientName(args[3]) && len(args[3]) > 0 {
			c.localErr(spec, "ERR "+attr+" cannot contain spaces, newlines or special characters.")
			return
		}
		switch attr {
		case "lib-name":
			c.libName = string(args[3])
		case "lib-ver":
			c.libVer = string(args[3])
		default:
			c.localErr(spec, "ERR Unrecognized option '"+string(args[2])+"'")
			return
		}
		c.local = proto.AppendOK(c.local)
	case sub == "list":
		c.clientList(spec, args)
		return
	case sub == "info" && len(args) == 2:
		c.local = proto.AppendBulkString(c.local, c.s.clientLine(c, c))
	case sub == "kill" && len(args) >= 3:
		c.clientKill(spec, args)
		return
	case sub == "no-evict" && len(args) == 3:
		c.local = proto.AppendOK(c.local)
	case sub == "reply" && len(args) == 3 && strings.EqualFold(string(args[2]), "on"):
		c.local = proto.AppendOK(c.local)
	case sub == "help" && len(args) == 2:
		help := []string{
			"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"ID", "    Return the ID of the current connection.",
			"GETNAME", "    Return the name of the current connection.",
			"SETNAME <name>", "    Assign the name <name> to the current connection.",
			"SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
			"INFO", "    Return information about the current client connection.",
			"LIST [TYPE (NORMAL|PUBSUB)] [ID <id> [<id> ...]]", "    Return information about client connections.",
			"KILL <ip:port> | KILL <option> <value> [<option> <value> [...]]", "    Kill connections (options: ID, ADDR, LADDR, SKIPME).",
			"HELP", "    Print this help.",
		}
		c.local = proto.AppendArray(c.local, len(help))
		for _, h := range help {
			c.local = proto.AppendStatus(c.local, h)
		}
	case sub == "setinfo" || sub == "list" || sub == "id" || sub == "getname" || sub == "setname" ||
		sub == "info" || sub == "kill" || sub == "help" || sub == "no-evict":
		c.localErr(spec, fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP.", args[1]))
		return
	default:
		c.localErr(spec, "ERR CLIENT "+strings.ToUpper(sub)+" is not supported through a shoal frontend")
		return
	}
	c.addLocal(spec, lo)
}

// clientLine formats one CLIENT LIST line as Redis 7 does (fields the
// frontend does not track are reported as Redis reports an idle client).
func (s *Server) clientLine(self, c *clientConn) string {
	now := time.Now()
	flags := "N"
	if c.psMode {
		flags = "P"
	}
	multi := -1
	if c == self && c.tx.active {
		multi = c.tx.count
	}
	nsub, npsub := s.hub.counts(c)
	cmdName := *c.lastCmdName.Load()
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=0 name=%s age=%d idle=%d flags=%s db=0 sub=%d psub=%d ssub=0 multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=2 lib-name=%s lib-ver=%s\n",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), c.name, int(now.Sub(c.created).Seconds()),
		(now.UnixMilli()-c.lastCmd.Load())/1000, flags, nsub, npsub, multi, cmdName, c.libName, c.libVer)
}

func (c *clientConn) clientList(spec *proto.CommandSpec, args [][]byte) {
	conns := c.s.snapshotConns()
	sort.Slice(conns, func(i, j int) bool { return conns[i].id < conns[j].id })
	var ids map[int64]bool
	typ := ""
	for i := 2; i < len(args); i++ {
		switch {
		case strings.EqualFold(string(args[i]), "type") && i+1 < len(args):
			typ = strings.ToLower(string(args[i+1]))
			if typ != "normal" && typ != "pubsub" && typ != "master" && typ != "replica" && typ != "slave" {
				c.localErr(spec, "ERR Unknown client type '"+string(args[i+1])+"'")
				return
			}
			i++
		case strings.EqualFold(string(args[i]), "id") && i+1 < len(args):
			ids = map[int64]bool{}
			for i++; i < len(args); i++ {
				id, err := strconv.ParseInt(string(args[i]), 10, 64)
				if err != nil || id <= 0 {
					c.localErr(spec, "ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.localErr(spec, errSyntax)
			return
		}
	}
	var b strings.Builder
	for _, o := range conns {
		if ids != nil && !ids[o.id] {
			continue
		}
		if typ == "pubsub" && !o.psMode || typ == "normal" && o.psMode || typ == "master" || typ == "replica" || typ == "slave" {
			continue
		}
		b.WriteString(c.s.clientLine(c, o))
	}
	lo := len(c.local)
	c.local = proto.AppendBulkString(c.local, b.String())
	c.addLocal(spec, lo)
}

func (c *clientConn) clientKill(spec *proto.CommandSpec, args [][]byte) {
	conns := c.s.snapshotConns()
	lo := len(c.local)
	if len(args) == 3 { // old form: CLIENT KILL ip:port
		for _, o := range conns {
			if o.nc.RemoteAddr().String() == string(args[2]) {
				c.local = proto.AppendOK(c.local)
				c.addLocal(spec, lo)
				if o == c {
					c.quit = true
				} else {
					o.close()
				}
				return
			}
		}
		c.localErr(spec, "ERR No such client")
		return
	}
	var id int64
	var addr, laddr string
	skipme := true
	if len(args)%2 != 0 {
		c.localErr(spec, errSyntax)
		return
	}
	for i := 2; i+1 < len(args); i += 2 {
		v := string(args[i+1])
		switch strings.ToLower(string(args[i])) {
		case "id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				c.localErr(spec, "ERR client-id should be greater than 0")
				return
			}
			id = n
		case "addr":
			addr = v
		case "laddr":
			laddr = v
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				skipme = true
			case "no":
				skipme = false
			default:
				c.localErr(spec, errSyntax)
				return
			}
		default:
			c.localErr(spec, errSyntax)
			return
		}
	}
	killed := 0
	for _, o := range conns {
		if id != 0 && o.id != id || addr != "" && o.nc.RemoteAddr().String() != addr ||
			laddr != "" && o.nc.LocalAddr().String() != laddr {
			continue
		}
		if o == c {
			if skipme {
				continue
			}
			c.quit = true
			killed++
			continue
		}
		o.close()
		killed++
	}
	c.local = proto.AppendInt(c.local, int64(killed))
	c.addLocal(spec, lo)
}

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
	port := ""
	if a := s.Addr(); a != nil {
		_, port, _ = strings.Cut(a.String(), ":")
		if i := strings.LastIndexByte(a.String(), ':'); i >= 0 {
			port = a.String()[i+1:]
		}
	}
	up := time.Since(s.startTime)
	section("Server",
		"redis_version:"+redisVersion,
		"redis_mode:standalone",
		"shoal_role:frontend",
		"shoal_version:"+s.cfg.Version,
		"process_id:"+strconv.Itoa(os.Getpid()),
		"tcp_port:"+port,
		"uptime_in_seconds:"+strconv.FormatInt(int64(up.Seconds()), 10),
		"uptime_in_days:"+strconv.FormatInt(int64(up.Hours()/24), 10),
	)
	s.connsMu.Lock()
	nconns := len(s.conns)
	s.connsMu.Unlock()
	section("Clients",
		"connected_clients:"+strconv.Itoa(nconns),
		"blocked_clients:"+strconv.FormatInt(s.stats.blockedClients.Load(), 10),
		"maxclients:"+strconv.Itoa(s.cfg.MaxClients),
	)
	section("Stats",
		"total_connections_received:"+strconv.FormatInt(s.stats.connectionsReceived.Load(), 10),
		"total_commands_processed:"+strconv.FormatInt(s.stats.commandsProcessed.Load(), 10),
		"rejected_connections:"+strconv.FormatInt(s.stats.rejectedConnections.Load(), 10),
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
		b = proto.AppendArray(b, len(help))
		for _, h := range help {
			b = proto.AppendStatus(b, h)
		}
	default:
		c.localErr(spec, fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try SHOAL HELP.", args[1]))
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
