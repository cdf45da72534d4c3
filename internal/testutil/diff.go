package testutil

import (
	"bytes"
	"sort"
	"strings"
)

// SplitArgs splits a script line as redis-cli does: spaces separate,
// double quotes group. The differential tests of shardd and the frontend
// write their requests this way.
func SplitArgs(line string) []string {
	var args []string
	var cur strings.Builder
	inQ, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			inQ, have = !inQ, true
		case c == ' ' && !inQ:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// SameReply compares two raw replies under a script line's modifier: ""
// byte for byte, "~" as an order-insensitive flat array, "?" by reply type
// only (random results).
func SameReply(mod string, a, b []byte) bool {
	switch mod {
	case "?":
		return len(a) > 0 && len(b) > 0 && a[0] == b[0]
	case "~":
		return bytes.Equal(sortLines(a), sortLines(b))
	}
	return bytes.Equal(a, b)
}

// sortLines is a crude order-insensitive form of a flat array reply: its
// lines, sorted. Enough for SMEMBERS/KEYS style replies of short items.
func sortLines(b []byte) []byte {
	lines := strings.Split(string(b), "\r\n")
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\r\n"))
}
