package gossip

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// libLogWriter turns the lines serf and memberlist print through their
// *log.Logger ("[LEVEL] component: message") into slog debug records, with
// the library's own level kept as the attribute lib_level. Serf and
// memberlist each get their own *log.Logger over one of these (memberlist
// refuses a config with both LogOutput and Logger set, so only Logger is
// used). It is safe for concurrent use: log.Logger serializes Write calls
// and slog handlers are concurrency-safe.
type libLogWriter struct {
	logger *slog.Logger
}

func newLibLogger(l *slog.Logger, component string) *log.Logger {
	return log.New(&libLogWriter{logger: l.With("component", component)}, "", 0)
}

func (w *libLogWriter) Write(p []byte) (int, error) {
	ctx := context.Background()
	if !w.logger.Enabled(ctx, slog.LevelDebug) {
		return len(p), nil
	}
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		level, msg := splitLibLine(line)
		w.logger.Log(ctx, slog.LevelDebug, msg, "lib_level", level)
	}
	return len(p), nil
}

// splitLibLine splits "[WARN] memberlist: Got ping" into "WARN" and
// "memberlist: Got ping" and drops the component prefix the logger already
// carries as an attribute. Lines without a level prefix get level "".
func splitLibLine(line string) (level, msg string) {
	msg = line
	if strings.HasPrefix(msg, "[") {
		if end := strings.IndexByte(msg, ']'); end > 0 {
			level = msg[1:end]
			msg = strings.TrimLeft(msg[end+1:], " ")
		}
	}
	for _, prefix := range []string{"serf: ", "memberlist: "} {
		if strings.HasPrefix(msg, prefix) {
			msg = msg[len(prefix):]
			break
		}
	}
	return level, msg
}
