// Package integration holds shoal's end-to-end tests: real `shoal`
// processes (the built binary, not in-process servers) on 127.0.0.x,
// joined by real gossip, driven by real clients (go-redis, redis-cli).
// The tests live in *_test.go files; `make test` runs them.
// integration/cluster, a whole cluster in one process, is a separate
// package.
package integration
