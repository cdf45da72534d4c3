package proto

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// TestGeneratedTableIsFresh regenerates the command table from a live
// redis-server and requires it to equal the committed commands_gen.go.
func TestGeneratedTableIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	addr := testutil.StartRedis(t)
	out := filepath.Join(t.TempDir(), "commands_gen.go")
	cmd := exec.Command("go", "run", "./internal/gencmd", "-addr", addr, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("commands_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("commands_gen.go is stale or edited by hand: run go generate ./proto")
	}
}
