package proto

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestRedisCliUsesCommandDocs runs the real redis-cli 7 interactively (in a
// pseudo-terminal made by script(1)) against a server answering COMMAND
// from this package: redis-cli asks COMMAND DOCS at startup and builds its
// "help" from it, so "help" output shows that the reply was understood.
func TestRedisCliUsesCommandDocs(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli not found (apt-get install -y redis-tools): %v", err)
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) not found (util-linux): %v", err)
	}
	addr := startMiniServer(t, false)
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-q", "-e", "-c", cli+" -h "+host+" -p "+port, "/dev/null")
	cmd.Stdin = strings.NewReader("help set\nhelp shoal\nhelp client setinfo\necho hi\nquit\n")
	cmd.Env = append(cmd.Environ(), "TERM=dumb", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	text := ansi.ReplaceAllString(strings.ReplaceAll(string(out), "\r", ""), "")
	if err != nil {
		t.Fatalf("redis-cli: %v\n%s", err, text)
	}
	for _, want := range []string{
		"summary: Set the string value of a key",
		"group: string",
		"summary: Administers the shoal cluster",
		"summary: Sets information specific to the client or connection.",
		`"hi"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("redis-cli output lacks %q:\n%s", want, text)
		}
	}
}
