package frontend

import (
	"bytes"
	"strconv"

	"github.com/shoal-kv/shoal/proto"
)

// Merging replies of split and fan-out commands. Upstream frames were
// checked by proto.Reader.ReadReply, so these scanners only guard against
// a reply of the wrong shape (which turns into an error reply).

// line returns the body of the CRLF-terminated line starting at b[i]
// (type byte excluded) and the index after it.
func line(b []byte, i int) (body []byte, next int, ok bool) {
	if i >= len(b) {
		return nil, 0, false
	}
	nl := bytes.IndexByte(b[i:], '\n')
	if nl < 2 || b[i+nl-1] != '\r' {
		return nil, 0, false
	}
	return b[i+1 : i+nl-1], i + nl + 1, true
}

// frameEnd returns the end of the RESP2 frame starting at b[i], or -1. It
// walks nested arrays without recursion.
func frameEnd(b []byte, i int) int {
	for pending := 1; pending > 0; pending-- {
		if i >= len(b) {
			return -1
		}
		typ := b[i]
		body, next, ok := line(b, i)
		if !ok {
			return -1
		}
		i = next
		switch typ {
		case '+', '-', ':':
		case '$':
			n, err := strconv.Atoi(string(body))
			if err != nil || n < -1 {
				return -1
			}
			if n >= 0 {
				if n > len(b)-i-2 {
					return -1
				}
				i += n + 2
			}
		case '*':
			n, err := strconv.Atoi(string(body))
			if err != nil || n < -1 || n > len(b)-i {
				return -1
			}
			if n > 0 {
				pending += n
			}
		default:
			return -1
		}
	}
	return i
}

// arrayBody returns the element count of an array frame and the offset
// of its first element; ok is false for anything else (null arrays too).
func arrayBody(b []byte) (n, off int, ok bool) {
	if len(b) == 0 || b[0] != '*' {
		return 0, 0, false
	}
	body, next, ok := line(b, 0)
	if !ok {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(body))
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return n, next, true
}

// intReply parses an integer frame.
func intReply(b []byte) (int64, bool) {
	if len(b) < 4 || b[0] != ':' {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b[1:len(b)-2]), 10, 64)
	return v, err == nil
}

const errBadShape = "ERR frontend: unexpected reply shape from a shard"

// mergeMGet rebuilds MGET's array in key order: key i's value is the next
// element of part keyPart[i].
func mergeMGet(dst []byte, parts []*pending, keyPart []uint16) []byte {
	var offs [64]int
	pos := offs[:0]
	for _, p := range parts {
		n, off, ok := arrayBody(p.reply)
		if !ok || n > len(keyPart) {
			return proto.AppendError(dst, errBadShape)
		}
		pos = append(pos, off)
	}
	start := len(dst)
	dst = proto.AppendArray(dst, len(keyPart))
	for _, j := range keyPart {
		r := parts[j].reply
		end := frameEnd(r, pos[j])
		if end < 0 {
			return proto.AppendError(dst[:start], errBadShape)
		}
		dst = append(dst, r[pos[j]:end]...)
		pos[j] = end
	}
	return dst
}

// mergeSum adds the parts' integer replies.
func mergeSum(dst []byte, parts []*pending) []byte {
	var sum int64
	for _, p := range parts {
		v, ok := intReply(p.reply)
		if !ok {
			return proto.AppendError(dst, errBadShape)
		}
		sum += v
	}
	return proto.AppendInt(dst, sum)
}

// mergeConcat concatenates the parts' arrays (KEYS).
func mergeConcat(dst []byte, parts []*pending) []byte {
	total := 0
	for _, p := range parts {
		n, _, ok := arrayBody(p.reply)
		if !ok {
			return proto.AppendError(dst, errBadShape)
		}
		total += n
	}
	dst = proto.AppendArray(dst, total)
	for _, p := range parts {
		_, off, _ := arrayBody(p.reply)
		dst = append(dst, p.reply[off:]...)
	}
	return dst
}

// mergeRandomKey returns a non-nil reply, starting the search at a shard
// chosen by seed so that keys come from every shard.
func mergeRandomKey(dst []byte, parts []*pending, seed int) []byte {
	for i := range parts {
		r := parts[(seed+i)%len(parts)].reply
		if len(r) > 0 && r[0] == '$' && !bytes.Equal(r, nullBulk) {
			return append(dst, r...)
		}
	}
	return proto.AppendNullBulk(dst)
}

var (
	nullBulk  = []byte("$-1\r\n")
	nullArray = []byte("*-1\r\n")
)

// appendScanReply rewrites a shard's SCAN reply ["cursor", [keys...]] so
// that its cursor also names the shard: shard cursor << 16 | shard index,
// moving to the next shard's start when this shard is done.
func appendScanReply(dst, reply []byte, idx, nshards int) []byte {
	n, off, ok := arrayBody(reply)
	if !ok || n != 2 {
		if len(reply) > 0 && reply[0] == '-' {
			return append(dst, reply...)
		}
		return proto.AppendError(dst, errBadShape)
	}
	end := frameEnd(reply, off)
	if end < 0 || reply[off] != '$' {
		return proto.AppendError(dst, errBadShape)
	}
	_, data, _ := line(reply, off)
	if data > end-2 || frameEnd(reply, end) != len(reply) {
		return proto.AppendError(dst, errBadShape)
	}
	cur, err := strconv.ParseUint(string(reply[data:end-2]), 10, 64)
	if err != nil || cur >= 1<<(64-scanShardBits) {
		return proto.AppendError(dst, "ERR frontend: shard cursor out of range")
	}
	var next uint64
	switch {
	case cur != 0:
		next = cur<<scanShardBits | uint64(idx)
	case idx+1 < nshards:
		next = uint64(idx + 1)
	}
	dst = proto.AppendArray(dst, 2)
	var tmp [24]byte
	dst = proto.AppendBulk(dst, strconv.AppendUint(tmp[:0], next, 10))
	return append(dst, reply[end:]...)
}

// notCached reports a cached replica's refusal to answer for a key it does
// not hold ("-NOTCACHED ...", shardd's diskless cached mode): the read is
// asked of the master instead. Any other reply of a cached replica,
// nil included, is authoritative (the replica knows the key is absent).
func notCached(r []byte) bool { return bytes.HasPrefix(r, notCachedPrefix) }

var notCachedPrefix = []byte("-NOTCACHED")
