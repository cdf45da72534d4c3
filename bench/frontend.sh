#!/usr/bin/env bash
# Frontend benchmark: redis-benchmark through one shoal frontend over three
# shardd masters, against twemproxy (nutcracker, ketama) over three
# redis-servers, against one redis-server direct. Interleaved in one run;
# prints throughput ratios and p99 latencies.
#
# Durability is the same everywhere: redis-servers log with appendonly yes /
# appendfsync everysec, shardd with its default everysec.
# The machine is shared and noisy: compare the ratios, not the absolute
# numbers. ROUNDS (default 3) rounds; medians are printed.
#
#   bash bench/frontend.sh                 # needs bin/shoal (make build)
#   ROUNDS=5 N=400000 bash bench/frontend.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/shoal}
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
TESTS=${TESTS:-set,get,mset,lpush}
DEPTHS=${DEPTHS:-1 16}
CLIENTS=${CLIENTS:-50}
# The frontend runs with one P by default, like twemproxy's one thread: on
# this 2-core machine, shared with three shardd and redis-benchmark, that
# gave 20-40 % more throughput than GOMAXPROCS=2 (fewer thread hand-offs).
FRONTEND_GOMAXPROCS=${FRONTEND_GOMAXPROCS:-1}
for tool in redis-server redis-benchmark redis-cli nutcracker python3; do
  command -v $tool >/dev/null || { echo "bench: $tool not found (apt-get install -y redis-server redis-tools nutcracker)"; exit 1; }
done
[ -x "$BIN" ] || { echo "bench: $BIN not found (make build)"; exit 1; }
work=$(mktemp -d -t shoal-fe-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitcmd() { # port cmd...: wait until the command succeeds
  local port=$1; shift
  for _ in $(seq 200); do out=$(redis-cli -p "$port" "$@" 2>/dev/null) && [[ "$out" != *CLUSTERDOWN* && "$out" != *ERR* ]] && return 0; sleep 0.05; done
  echo "bench: port $port never answered $*"; exit 1
}
redis() { # name port
  mkdir -p "$work/$1"
  redis-server --port "$2" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
    --dir "$work/$1" --daemonize no --logfile "$work/$1.log" & pids+=($!)
}

# One redis-server direct.
RPORT=$(freeport); redis direct "$RPORT"
# Three redis-servers behind twemproxy.
tw_servers=""
for i in 1 2 3; do
  p=$(freeport); redis "tw$i" "$p"; tw_servers+="   - 127.0.0.1:$p:1 tw$i"$'\n'; twports+=("$p")
done
TPORT=$(freeport)
cat >"$work/nutcracker.yml" <<EOF
shoal_bench:
  listen: 127.0.0.1:$TPORT
  hash: fnv1a_64
  distribution: ketama
  redis: true
  auto_eject_hosts: false
  server_connections: 1
  servers:
$tw_servers
EOF
nutcracker -c "$work/nutcracker.yml" -s "$(freeport)" -o "$work/nutcracker.log" & pids+=($!)
# Three shardd masters and one frontend, joined by gossip.
G0=$(freeport)
gossip_seed=127.0.0.1:$G0
for i in 1 2 3; do
  p=$(freeport); g=$G0; [ "$i" -gt 1 ] && g=$(freeport)
  mkdir -p "$work/shard$i"
  join=(); [ "$i" -gt 1 ] && join=(--join "$gossip_seed")
  "$BIN" shardd --listen 127.0.0.1:"$p" --shard "shard-$i" --data-dir "$work/shard$i" --log-level warn \
    --gossip 127.0.0.1:"$g" --gossip-profile fast "${join[@]}" 2>"$work/shard$i.log" & pids+=($!)
  shardports+=("$p")
done
FPORT=$(freeport); APORT=$(freeport)
GOMAXPROCS=$FRONTEND_GOMAXPROCS "$BIN" frontend --listen 127.0.0.1:"$FPORT" --gossip 127.0.0.1:"$(freeport)" --join "$gossip_seed" \
  --gossip-profile fast --expect-shards 3 --admin 127.0.0.1:"$APORT" ${FRONTEND_FLAGS:-} \
  --log-level warn 2>"$work/frontend.log" & pids+=($!)
FPID=$!
waitcmd "$RPORT" ping; for p in "${twports[@]}"; do waitcmd "$p" ping; done
for p in "${shardports[@]}"; do waitcmd "$p" ping; done
waitcmd "$TPORT" get x
waitcmd "$FPORT" get x
echo "frontend: port $FPORT, admin http://127.0.0.1:$APORT (pid $FPID)"

declare -A rps p99
run() { # port P -> lines "test,rps,p99"
  redis-benchmark -p "$1" -t "$TESTS" -c "$CLIENTS" -n "$N" -r 100000 -d 64 -P "$2" --csv -q 2>/dev/null \
    | tr -d '"' | awk -F, '$1!="test" {print $1","$2","$7}'
}
targets="redis twemproxy shoal"
echo "== redis-benchmark -t $TESTS -c $CLIENTS -n $N -r 100000 -d 64, $ROUNDS rounds, interleaved (frontend GOMAXPROCS=$FRONTEND_GOMAXPROCS)"
for round in $(seq "$ROUNDS"); do
  for P in $DEPTHS; do
    for target in $targets; do
      case $target in redis) port=$RPORT;; twemproxy) port=$TPORT;; shoal) port=$FPORT;; esac
      while IFS=, read -r test r l; do
        test=${test%% *}
        rps["$P|$test|$target"]+="$r "
        p99["$P|$test|$target"]+="$l "
      done < <(run "$port" "$P")
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratios() { # key a b -> median of per-round a/b
  local out="" i
  for i in $(seq "$ROUNDS"); do
    a=$(echo "${rps[$1|$2]}" | awk -v i="$i" '{print $i}'); b=$(echo "${rps[$1|$3]}" | awk -v i="$i" '{print $i}')
    out+="$(awk -v a="$a" -v b="$b" 'BEGIN{ if (b > 0) printf "%.3f", a/b; else print 0 }') "
  done
  echo "$out" | median
}
printf "%-4s %-6s %11s %11s %11s %9s %9s %8s %8s %8s\n" P test redis twemproxy shoal shoal/tw shoal/red p99red p99tw p99shoal
for P in $DEPTHS; do
  for test in $(echo "$TESTS" | tr a-z A-Z | tr ',' ' '); do
    key="$P|$test"
    [ -z "${rps[$key|shoal]:-}" ] && continue
    printf "%-4s %-6s %11s %11s %11s %9s %9s %8s %8s %8s\n" "$P" "$test" \
      "$(echo "${rps[$key|redis]}" | median)" "$(echo "${rps[$key|twemproxy]}" | median)" "$(echo "${rps[$key|shoal]}" | median)" \
      "$(ratios "$key" shoal twemproxy)" "$(ratios "$key" shoal redis)" \
      "$(echo "${p99[$key|redis]}" | median)" "$(echo "${p99[$key|twemproxy]}" | median)" "$(echo "${p99[$key|shoal]}" | median)"
  done
done
echo "(rps: requests/s; p99 in ms; ratios are medians of per-round ratios; targets: shoal/tw >= 1.3, shoal/red >= 0.8)"
