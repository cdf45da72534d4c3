#!/usr/bin/env bash
# make bench: shardd against redis-server on loopback, in one run,
# interleaved, printing shardd/redis throughput ratios and memory per key.
#
# Both servers log writes with the same durability: redis-server with
# appendonly yes / appendfsync everysec, shardd with its default everysec.
# The machine is shared and noisy: compare the ratios, not the absolute
# numbers. ROUNDS (default 3) rounds; the median ratio per test is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/shoal}
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
TESTS=${TESTS:-set,get,incr,lpush,hset,zadd}
KEYS_FOR_MEMORY=${KEYS_FOR_MEMORY:-1000000}
for tool in redis-server redis-benchmark redis-cli; do
  command -v $tool >/dev/null || { echo "bench: $tool not found (apt-get install -y redis-server redis-tools)"; exit 1; }
done
work=$(mktemp -d -t shoal-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "bench: port $1 never answered"; exit 1; }

RPORT=$(freeport); SPORT=$(freeport)
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --dir "$work" --daemonize no --logfile "$work/redis.log" & pids+=($!); RPID=$!
mkdir -p "$work/shardd"
"$BIN" shardd --listen 127.0.0.1:"$SPORT" --data-dir "$work/shardd" --log-level warn 2>"$work/shardd.log" & pids+=($!); SPID=$!
waitport "$RPORT"; waitport "$SPORT"

# Memory first, on fresh servers (a Go heap keeps what it grew to).
echo "== memory per key after loading $KEYS_FOR_MEMORY keys (SET key:N <64 bytes>)"
rss() { awk '/VmRSS/ {print $2*1024}' /proc/"$1"/status; }
load() {
  redis-cli -p "$1" flushall >/dev/null
  sleep 1
  before=$(rss "$2")
  awk -v n="$KEYS_FOR_MEMORY" 'BEGIN { v = sprintf("%064d", 7); for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$64\r\n%s\r\n", length("key:" i), i, v }' \
    | redis-cli -p "$1" --pipe >/dev/null
  dbsize=$(redis-cli -p "$1" dbsize)
  sleep 2
  after=$(rss "$2")
  echo "$dbsize $before $after"
}
read -r rk rb ra < <(load "$RPORT" "$RPID")
read -r sk sb sa < <(load "$SPORT" "$SPID")
rpk=$(( (ra - rb) / rk )); spk=$(( (sa - sb) / sk ))
printf "redis:  %d keys, RSS +%d bytes = %d bytes/key\n" "$rk" $((ra - rb)) "$rpk"
printf "shardd: %d keys, RSS +%d bytes = %d bytes/key\n" "$sk" $((sa - sb)) "$spk"
awk -v a="$spk" -v b="$rpk" 'BEGIN { printf "memory ratio shardd/redis: %.2f (target <= 1.5)\n", a/b }'

declare -A results
run() { # name port P -> lines "test,rps"
  redis-benchmark -p "$2" -t "$TESTS" -c 50 -n "$N" -r 100000 -d 64 -P "$3" --csv -q 2>/dev/null \
    | tr -d '"' | awk -F, 'NR>1 || $1!="test" {print $1","$2}' | grep -v '^test,'
}
echo "== throughput: redis-benchmark -t $TESTS -c 50 -n $N -r 100000 -d 64, $ROUNDS rounds, interleaved"
for round in $(seq "$ROUNDS"); do
  for P in 1 16; do
    for target in redis shardd; do
      port=$RPORT; [ $target = shardd ] && port=$SPORT
      while IFS=, read -r test rps; do
        results["$P|$test|$target"]+="$rps "
      done < <(run $target "$port" "$P")
    done
  done
done
printf "%-6s %-10s %14s %14s %8s\n" P test redis_rps shardd_rps ratio
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for P in 1 16; do
  for test in $(echo "$TESTS" | tr ',' ' '); do
    T=$(echo "$test" | tr a-z A-Z)
    key=""
    for k in "${!results[@]}"; do case "$k" in "$P|$T"*"|redis") key="${k%|redis}";; esac; done
    [ -z "$key" ] && continue
    r=$(echo "${results[$key|redis]}" | median); s=$(echo "${results[$key|shardd]}" | median)
    ratios=""
    for i in $(seq "$ROUNDS"); do
      ri=$(echo "${results[$key|redis]}" | awk -v i=$i '{print $i}'); si=$(echo "${results[$key|shardd]}" | awk -v i=$i '{print $i}')
      ratios+="$(awk -v a="$si" -v b="$ri" 'BEGIN{printf "%.3f", a/b}') "
    done
    printf "%-6s %-10s %14s %14s %8s\n" "$P" "${key#*|}" "$r" "$s" "$(echo "$ratios" | median)"
  done
done
