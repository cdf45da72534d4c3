#!/usr/bin/env bash
# Replication figures (run by `make bench` after bench.sh's own, or alone:
# bash bench/repl.sh):
#
#  1. lag under load: a master with one durable replica takes a
#     redis-benchmark SET load at -P 16; for every record, the master
#     computes (replica's clock when it applied the record, sent in its
#     acknowledgement) - (master's clock when it wrote it), both in
#     nanoseconds on this one machine (INFO replication shoal_repl_lag_*),
#     and we print p50, p99 and max, and the part until the record was
#     handed to the replica's socket. Target: p99 under 10 ms on loopback.
#  2. catch-up: the master gets CATCHUP_KEYS (default 1,000,000) keys, then
#     an empty replica starts (durable, then diskless); we time how long it
#     takes to reach the master's offset. The master snapshots its log every
#     64 MB by default, so the replica gets a snapshot and then the tail.
#
# The machine is shared and noisy: run it more than once.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/shoal}
LAG_N=${LAG_N:-500000}
CATCHUP_KEYS=${CATCHUP_KEYS:-1000000}
for tool in redis-benchmark redis-cli; do
  command -v $tool >/dev/null || { echo "bench: $tool not found (apt-get install -y redis-tools)"; exit 1; }
done
work=$(mktemp -d -t shoal-repl-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "bench: port $1 never answered"; exit 1; }
field() { redis-cli -p "$1" info replication | tr -d '\r' | awk -F: -v k="$2" '$1 == k {print $2}'; }
shardd() { # port dir|diskless [args...]
  local port=$1 where=$2; shift 2
  if [ "$where" = diskless ]; then
    "$BIN" shardd --listen 127.0.0.1:"$port" --diskless --log-level warn "$@" 2>>"$work/shardd-$port.log" &
  else
    mkdir -p "$work/$where"
    "$BIN" shardd --listen 127.0.0.1:"$port" --data-dir "$work/$where" --log-level warn "$@" 2>>"$work/shardd-$port.log" &
  fi
  pids+=($!)
  waitport "$port"
}
caughtup() { # master replica -> waits until the replica's offset reaches the master's
  local want
  want=$(field "$1" master_repl_offset)
  until [ "$(field "$2" slave_repl_offset)" = "$want" ] && [ "$(field "$2" master_link_status)" = up ]; do sleep 0.05; done
}

echo "== replication lag: redis-benchmark -t set -c 50 -n $LAG_N -r 100000 -d 64 -P 16 on a master with one durable replica"
MPORT=$(freeport); RPORT=$(freeport)
shardd "$MPORT" master
shardd "$RPORT" replica --replicaof 127.0.0.1:"$MPORT"
until [ "$(field "$RPORT" master_link_status)" = up ]; do sleep 0.05; done
ms() { echo "$1" | awk '{printf "%.2f", $1/1000}'; }
for round in $(seq "${LAG_ROUNDS:-3}"); do
  redis-cli -p "$MPORT" config resetstat >/dev/null
  redis-benchmark -p "$MPORT" -t set -c 50 -n "$LAG_N" -r 100000 -d 64 -P 16 --csv 2>/dev/null | tr -d '"' \
    | awk -F, '$1 == "SET" {printf "round %s: SET %s requests/s, client latency p50 %s ms p99 %s ms max %s ms\n", r, $2, $5, $7, $8}' r="$round"
  caughtup "$MPORT" "$RPORT"
  printf "  replication lag (master write -> replica applied, %s records, %s too late to time): p50 %s ms, p99 %s ms, max %s ms (target p99 < 10 ms); of which until sent: p50 %s ms, p99 %s ms\n" \
    "$(field "$MPORT" shoal_repl_lag_samples)" "$(field "$MPORT" shoal_repl_lag_lost)" \
    "$(ms "$(field "$MPORT" shoal_repl_lag_p50_us)")" "$(ms "$(field "$MPORT" shoal_repl_lag_p99_us)")" "$(ms "$(field "$MPORT" shoal_repl_lag_max_us)")" \
    "$(ms "$(field "$MPORT" shoal_repl_send_lag_p50_us)")" "$(ms "$(field "$MPORT" shoal_repl_send_lag_p99_us)")"
done
kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()

echo "== catch-up: an empty replica reaching a master holding $CATCHUP_KEYS keys (SET key:N <64 bytes>)"
MPORT=$(freeport)
shardd "$MPORT" master2
awk -v n="$CATCHUP_KEYS" 'BEGIN { v = sprintf("%064d", 7); for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$64\r\n%s\r\n", length("key:" i), i, v }' \
  | redis-cli -p "$MPORT" --pipe >/dev/null
for kind in durable diskless; do
  RPORT=$(freeport)
  start=$(date +%s.%N)
  if [ $kind = durable ]; then shardd "$RPORT" "replica-$RPORT" --replicaof 127.0.0.1:"$MPORT"; else shardd "$RPORT" diskless --replicaof 127.0.0.1:"$MPORT"; fi
  caughtup "$MPORT" "$RPORT"
  end=$(date +%s.%N)
  keys=$(redis-cli -p "$RPORT" dbsize)
  full=$(field "$RPORT" shoal_sync_full_received)
  awk -v k="$kind" -v n="$keys" -v s="$start" -v e="$end" -v f="$full" \
    'BEGIN { printf "%-8s replica: %s keys in %.2f s (%.0f keys/s; snapshots received: %s)\n", k, n, e - s, n / (e - s), f }'
  kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
done
if grep -hE 'level=(WARN|ERROR)' "$work"/shardd-*.log >/dev/null 2>&1; then
  echo "== warnings and errors the servers logged:"
  grep -hE 'level=(WARN|ERROR)' "$work"/shardd-*.log | cut -c1-300 | head -20
fi
