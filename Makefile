# shoal — see README.md. `make run` starts a local cluster; `make test` runs every test.
GO      ?= go
BIN     := bin/shoal
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
PORT    ?= 6380

.PHONY: build run test test-short bench fuzz lint clean image compose-up compose-down test-compose

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/shoal

# `shoal dev`: 3 shards × (master + replica) and a frontend on
# 127.0.0.1:$(PORT), data in a temp dir; Ctrl-C stops it.
run: build
	exec $(BIN) dev --port $(PORT)

# Every test, with the race detector. Needs redis-server on PATH (the
# differential tests compare against it): apt-get install -y redis-server redis-tools
# Packages run one at a time (-p 1): the gossip tests time failure
# detection in ~1 s and the crash tests kill processes; on two cores,
# packages running side by side starve each other's timers.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -p 1 -timeout 14m ./...

test-short:
	$(GO) test -count=1 -short ./...

# Benchmarks against redis-server and twemproxy in one run; prints ratios.
# shardd vs redis-server; replication lag and catch-up; the frontend vs
# twemproxy and redis direct; request waits during a 1M-key snapshot.
bench: build
	bash bench/bench.sh
	bash bench/repl.sh
	bash bench/frontend.sh
	$(GO) test -run '^$$' -bench BenchmarkSnapshotPause -benchtime 1x ./shardd

# Runs each fuzz target for FUZZTIME (the seed corpora also run in `make test`).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./proto -run '^$$' -fuzz '^FuzzReadCommand$$' -fuzztime $(FUZZTIME)
	$(GO) test ./proto -run '^$$' -fuzz '^FuzzReadReply$$' -fuzztime $(FUZZTIME)
	$(GO) test ./wal -run '^$$' -fuzz '^FuzzDecodeRecord$$' -fuzztime $(FUZZTIME)
	$(GO) test ./hashring -run '^$$' -fuzz '^FuzzHashTag$$' -fuzztime $(FUZZTIME)
	$(GO) test ./frontend -run '^$$' -fuzz '^FuzzMerge$$' -fuzztime $(FUZZTIME)

# Docker: the image (FROM scratch + the static bin/shoal) and the compose
# cluster (compose/docker-compose.yml, compose/README.md). COMPOSE may be
# "docker compose" (v2 plugin); PROJECT names the compose project.
IMAGE   ?= shoal:dev
COMPOSE ?= docker-compose
PROJECT ?= shoal
COMPOSE_RUN = SHOAL_IMAGE=$(IMAGE) $(COMPOSE) -p $(PROJECT) -f compose/docker-compose.yml

image: build
	docker build -q -f compose/Dockerfile -t $(IMAGE) bin

compose-up: image
	$(COMPOSE_RUN) up -d
	@$(COMPOSE_RUN) ps
	@ports=$$(for id in $$($(COMPOSE_RUN) ps -q frontend); do docker port $$id 6379/tcp; done | sed 's/.*://' | sort -n | tr '\n' ' '); \
	echo "frontends on 127.0.0.1, ports $$ports- try: redis-cli -p $${ports%% *}"

# Stops and removes the containers and network; the data volumes stay
# (add -v by hand to drop them: $(COMPOSE_RUN) down -v).
compose-down:
	$(COMPOSE_RUN) down --remove-orphans

# The compose scenario (integration/compose): builds the image, runs a
# cluster under a unique project name, scales, kills a master, tears down.
# Skips with the reason when no Docker engine answers.
test-compose:
	SHOAL_COMPOSE_TEST=1 SHOAL_COMPOSE="$(COMPOSE)" $(GO) test -count=1 -v -timeout 20m -run '^TestComposeCluster$$' ./integration/compose

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin
