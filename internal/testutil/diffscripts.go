package testutil

// The differential scripts shardd and the frontend share: one server or a
// cluster behind a frontend must answer them exactly as one redis-server
// does. Multi-key commands use hash tags, so that a frontend routes their
// keys to one shard as Redis Cluster would require.

// DiffConnectionScript covers the connection commands and the errors for
// unknown commands and wrong arities; it ends with QUIT.
const DiffConnectionScript = `
	PING
	PING hello
	ECHO "hello world"
	SELECT 0
	SELECT 1x
	SELECT 99
	NOSUCHCOMMAND a b
	nosuch
	GET
	SET a
	PING a b
	ECHO
	AUTH foo
	AUTH user pass
	HELLO 4
	HELLO abc
	CLIENT SETNAME conn-1
	CLIENT GETNAME
	CLIENT SETNAME "bad name"
	CLIENT NOSUCH
	CLIENT KILL 1.2.3.4:5
	CONFIG NOSUCH
	CONFIG SET nosuchparam 1
	ROLE
	WAIT 0 0
	COMMAND INFO get mset nosuch
	COMMAND GETKEYS MSET a 1 b 2
	MSET a 1 b
	QUIT
`

// DiffTransactions runs the MULTI/EXEC/WATCH scripts on p; other is a
// second client of the same two servers, whose write aborts p's watched
// transaction.
func DiffTransactions(p, other *DiffPair) {
	p.t.Helper()
	p.Run(`
		EXEC
		DISCARD
		MULTI
		MULTI
		SET k 1
		INCR k
		GET k
		EXEC
		MULTI
		SET k 2
		NOSUCH
		EXEC
		GET k
		MULTI
		SET k 3
		GET
		EXEC
		MULTI
		SET k 4
		DISCARD
		GET k
		MULTI
		INCR k
		LPUSH k x
		GET k
		EXEC
		MULTI
		PING
		ECHO hi
		EXEC
		WATCH {w}a {w}b
		MULTI
		WATCH c
		SET {w}a 1
		EXEC
		UNWATCH
		MULTI
		SET {x}1 a
		MSET {x}2 b {x}3 c
		MGET {x}1 {x}2 {x}3
		EXEC
	`)
	// WATCH: a write by another client aborts the transaction.
	p.Run(`
		WATCH w
		MULTI
		SET w mine
	`)
	other.Run("SET w theirs")
	p.Run(`
		EXEC
		GET w
	`)
	// Without a write in between, it commits.
	p.Run(`
		WATCH w
		MULTI
		SET w mine
		EXEC
		GET w
	`)
	// A blocking command inside MULTI does not block.
	p.Run(`
		MULTI
		BLPOP {e}mptylist 0
		BRPOPLPUSH {e}mptylist {e}dst 0
		EXEC
	`)
}

// DiffBlocking runs the blocking-command scripts on p; waiter is a second
// client that blocks until p pushes.
func DiffBlocking(p, waiter *DiffPair) {
	p.t.Helper()
	p.Run(`
		BLPOP {l}1 {l}2 -1
		BLPOP {l}1 {l}2 abc
		BLPOP {l}1 0.05
		RPUSH {l}2 a b
		BLPOP {l}1 {l}2 0
		BRPOP {l}1 {l}2 0
		BLPOP {l}1 {l}2 0.01
		SET str x
		BLPOP str 0
		BZPOPMIN z 0.01
		ZADD z 1 a
		BZPOPMAX z 0
		BLMOVE {s}rc {s}dst LEFT RIGHT 0.01
		WAIT 0 0
	`)
	// A client blocked on a key is served by another client's push.
	waiter.SendBoth("BLPOP", "q", "5")
	p.WaitBlocked(1)
	p.Run("RPUSH q job1 job2")
	if r, s := waiter.ReadBoth(); string(r) != string(s) {
		p.t.Errorf("blocked BLPOP\n  redis: %q\n  %s: %q", r, p.Name, s)
	}
	p.Run("LRANGE q 0 -1")
	// The same connection blocks again.
	waiter.Run("BLPOP q 0.01")
}

// DiffPublishScript publishes to the channels the pub/sub tests subscribe
// to (news, sports; patterns n* and s?orts): five messages in all, and
// asks PUBSUB about them.
const DiffPublishScript = `
	PUBLISH news hello
	PUBLISH sports goal
	PUBLISH nothing x
	PUBSUB NUMSUB news sports none
	PUBSUB NUMPAT
	~ PUBSUB CHANNELS
	PUBSUB CHANNELS n*
	PUBSUB SHARDCHANNELS
	PUBSUB SHARDNUMSUB news
	PUBSUB NOSUCH
`
