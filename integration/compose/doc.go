// Package compose tests what compose/ ships: the docker-compose file and
// the Kubernetes manifests are parsed and every container's command line
// goes through shoal's own flag and config parsing (manifests_test.go, in
// every `make test`), and the compose scenario runs a real cluster of
// containers (compose_test.go, `make test-compose` only: it needs a Docker
// engine and skips with the reason when there is none).
//
// The package has no code of its own; this file holds the documentation.
package compose
