package store

import (
	"strings"
	"testing"
)

// TestUnknownCommandDiff: Exec answers a name it does not know with Redis's
// text (proto.ErrUnknownCommand: arguments cut at 128 bytes and at a NUL,
// CR and LF shown as spaces).
func TestUnknownCommandDiff(t *testing.T) {
	d := newDiffEnv(t)
	d.check("", "NOSUCHCMD")
	d.check("", "nosuchcmd", "a", "b c")
	d.check("", "NOSUCHCMD", strings.Repeat("x", 200), "y")
	d.check("", "NOSUCHCMD", "a\r\nb", "c\x00d")
	d.check("", strings.Repeat("N", 140), "a")
}
