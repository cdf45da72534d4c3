package gossip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSplitLibLine(t *testing.T) {
	cases := []struct{ line, level, msg string }{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:1", "DEBUG", "Stream connection from=127.0.0.1:1"},
		{"[WARN] serf: Shutdown without a Leave", "WARN", "Shutdown without a Leave"},
		{"[ERR] memberlist: Failed to send ping", "ERR", "Failed to send ping"},
		{"plain text", "", "plain text"},
		{"[broken", "", "[broken"},
	}
	for _, tc := range cases {
		level, msg := splitLibLine(tc.line)
		if level != tc.level || msg != tc.msg {
			t.Errorf("splitLibLine(%q) = %q, %q; want %q, %q", tc.line, level, msg, tc.level, tc.msg)
		}
	}
}

func TestLibLoggerForwardsAtDebug(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lib := newLibLogger(l, "memberlist")
	lib.Printf("[ERR] memberlist: boom %d", 1)
	lib.Printf("[INFO] memberlist: two\nlines")
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="boom 1" component=memberlist lib_level=ERR`,
		`level=DEBUG msg=two component=memberlist lib_level=INFO`,
		`level=DEBUG msg=lines component=memberlist lib_level=""`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Above debug nothing is formatted or written.
	buf.Reset()
	quiet := newLibLogger(slog.New(slog.NewTextHandler(&buf, nil)), "serf")
	quiet.Printf("[ERR] serf: hidden")
	if buf.Len() != 0 {
		t.Errorf("info-level logger got %q", buf.String())
	}
}
