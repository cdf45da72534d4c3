package respserver

import (
	"sort"
	"strings"
	"sync"

	"github.com/shoal-kv/shoal/proto"
)

// AppendSubReply appends the reply to one channel or pattern of SUBSCRIBE,
// PSUBSCRIBE, UNSUBSCRIBE or PUNSUBSCRIBE (kind, lower case): the name (a
// nil bulk for an UNSUBSCRIBE without names from a client subscribed to
// nothing) and the client's subscription count after it.
func AppendSubReply(b []byte, kind string, name []byte, count int) []byte {
	b = proto.AppendArray(b, 3)
	b = proto.AppendBulkString(b, kind)
	if name == nil {
		b = proto.AppendNullBulk(b)
	} else {
		b = proto.AppendBulk(b, name)
	}
	return proto.AppendInt(b, int64(count))
}

// UnsubscribeAll returns what an UNSUBSCRIBE or PUNSUBSCRIBE without names
// works through: every name in mine (the client's channels or patterns),
// sorted. The caller answers one nil reply when mine is empty.
func UnsubscribeAll(mine map[string]struct{}) [][]byte {
	all := make([]string, 0, len(mine))
	for n := range mine {
		all = append(all, n)
	}
	sort.Strings(all)
	names := make([][]byte, len(all))
	for i, n := range all {
		names[i] = []byte(n)
	}
	return names
}

// Subscribers is a server's registry of subscriptions, by channel or
// pattern name, of its connection type C. Its owner guards it with its own
// lock (the server's pub/sub mutex) around every call and every read of
// the maps.
type Subscribers[C comparable] map[string]map[C]struct{}

// Add records c under name.
func (s Subscribers[C]) Add(name string, c C) {
	set := s[name]
	if set == nil {
		set = make(map[C]struct{})
		s[name] = set
	}
	set[c] = struct{}{}
}

// Remove forgets c under name, and name when nobody is left.
func (s Subscribers[C]) Remove(name string, c C) {
	if set := s[name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(s, name)
		}
	}
}

// PubsubHelp is the reply to PUBSUB HELP, line by line.
var PubsubHelp = []string{
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
	"HELP",
	"    Prints this help.",
}

// AppendPubsub appends the reply to PUBSUB args (args[0] is PUBSUB) from
// a server's channel and pattern subscribers, which mu guards (the
// server's pub/sub mutex; AppendPubsub locks it). Shard channels are not supported: SHARDCHANNELS lists
// none and SHARDNUMSUB counts none.
func AppendPubsub[C comparable](b []byte, args [][]byte, channels, patterns Subscribers[C], mu sync.Locker) []byte {
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "channels" && len(args) <= 3:
		mu.Lock()
		var names []string
		for ch := range channels {
			if len(args) == 2 || proto.GlobMatch(args[2], []byte(ch), false) {
				names = append(names, ch)
			}
		}
		mu.Unlock()
		b = proto.AppendArray(b, len(names))
		for _, n := range names {
			b = proto.AppendBulkString(b, n)
		}
	case sub == "numsub":
		mu.Lock()
		b = proto.AppendArray(b, 2*(len(args)-2))
		for _, ch := range args[2:] {
			b = proto.AppendBulk(b, ch)
			b = proto.AppendInt(b, int64(len(channels[string(ch)])))
		}
		mu.Unlock()
	case sub == "numpat" && len(args) == 2:
		mu.Lock()
		n := len(patterns)
		mu.Unlock()
		b = proto.AppendInt(b, int64(n))
	case sub == "shardchannels" && len(args) <= 3:
		b = proto.AppendArray(b, 0)
	case sub == "shardnumsub":
		b = proto.AppendArray(b, 2*(len(args)-2))
		for _, ch := range args[2:] {
			b = proto.AppendBulk(b, ch)
			b = proto.AppendInt(b, 0)
		}
	case sub == "help" && len(args) == 2:
		b = AppendHelp(b, PubsubHelp)
	default:
		b = proto.AppendError(b, "ERR unknown subcommand or wrong number of arguments for '"+string(args[1])+"'. Try PUBSUB HELP.")
	}
	return b
}

// AppendHelp appends the reply to a HELP subcommand: lines as an array of
// status replies, as Redis answers them.
func AppendHelp(b []byte, lines []string) []byte {
	b = proto.AppendArray(b, len(lines))
	for _, l := range lines {
		b = proto.AppendStatus(b, l)
	}
	return b
}
