#!/usr/bin/env bash
# Guards shared by a fleet through Redis (--state redis://), on loopback:
#
#   1. one rate for the fleet: 4 processes, each a batch of 150 items at --rate 50/s,
#      sharing Redis; the total rate they hold, against 50/s (and 4 x 50/s unshared);
#   2. a dead API trips for the fleet: 4 processes each calling an API that answers 503
#      30 times (one call per process run, as cron jobs), sharing Redis; the requests
#      that reached the API, against one process's 30 calls with a local state file;
#   3. what Redis adds per call: 2,000 items at concurrency 1 from nginx, with and
#      without --state redis://.
#
#   bash bench/fleet.sh          (needs redis-server, nginx; installs them on Debian)
#
# Prints the figures and writes bench/results/fleet.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need_packages
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
build_steady
RPORT=${RPORT:-18241}
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
STATE="redis://127.0.0.1:$RPORT/"
start_nginx 18242
now() { date +%s.%N; }

# 1. One rate for the fleet.
seq 1 150 | sed "s|.*|{\"id\": \"&\", \"url\": \"http://127.0.0.1:18242/items/&\"}|" > "$WORK/rate.jsonl"
rate_run() { # shared|alone
  local flags=() pids=() t0 t1
  [ "$1" = shared ] && flags=(--state "$STATE")
  redis-cli -p "$RPORT" flushall >/dev/null
  t0=$(now)
  for i in 1 2 3 4; do
    "$STEADY" batch "$WORK/rate.jsonl" --db "$WORK/rate-$1-$i.db" --rate 50/s --concurrency 4 --quiet "${flags[@]}" &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(now)
  echo "scale=1; 600 / ($t1 - $t0)" | bc
}
shared_rate=$(rate_run shared)
alone_rate=$(rate_run alone)
echo "1. 4 processes x 150 items at --rate 50/s: shared through Redis ${shared_rate}/s together (target 50, within 5%); each alone ${alone_rate}/s together"

# 2. A dead API trips for the fleet.
"$STEADY" chaos --listen 127.0.0.1:18243 -q --fault status=503 >/dev/null 2>&1 &
CHAOS=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18243/__chaos/stats && break; sleep 0.1; done
seen() { curl -s http://127.0.0.1:18243/__chaos/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
calls() { # STATE TIMES
  for _ in $(seq "$2"); do
    "$STEADY" get http://127.0.0.1:18243/items/1 --state "$1" --retries 0 --breaker-span 0s --fail-fast >/dev/null 2>&1 || true
  done
}
redis-cli -p "$RPORT" flushall >/dev/null
before=$(seen)
pids=()
for i in 1 2 3 4; do calls "$STATE" 30 & pids+=($!); done
wait "${pids[@]}"
fleet_sent=$(( $(seen) - before ))
before=$(seen)
calls "$WORK/one.state" 30
one_sent=$(( $(seen) - before ))
kill "$CHAOS"
echo "2. a dead API, 503 to everything: 4 processes x 30 runs sharing Redis sent ${fleet_sent} requests; 1 process x 30 runs with a state file sent ${one_sent}"

# 3. What Redis adds per call.
seq 1 2000 | sed "s|.*|{\"id\": \"&\", \"url\": \"http://127.0.0.1:18242/items/&\"}|" > "$WORK/lat.jsonl"
lat_run() {
  local flags=() t0 t1
  [ "$1" = redis ] && flags=(--state "$STATE")
  rm -f "$WORK/lat.db"*
  t0=$(now)
  "$STEADY" batch "$WORK/lat.jsonl" --db "$WORK/lat.db" --concurrency 1 --quiet "${flags[@]}"
  t1=$(now)
  echo "$t1 - $t0" | bc
}
redis-cli -p "$RPORT" config resetstat >/dev/null
mem=$(lat_run memory); red=$(lat_run redis); mem2=$(lat_run memory); red2=$(lat_run redis)
added=$(echo "scale=1; (($red + $red2) - ($mem + $mem2)) * 1000000 / 4000" | bc)
redis_us=$(redis-cli -p "$RPORT" info commandstats | python3 -c '
import sys
total = sum(float(l.split("usec=")[1].split(",")[0]) for l in sys.stdin if l.startswith("cmdstat_"))
print(round(total / 4000, 1))')
echo "3. 2,000 calls one at a time: ${mem}s / ${mem2}s in memory, ${red}s / ${red2}s with Redis: ${added} us per call; Redis server time ${redis_us} us per call"

mkdir -p bench/results
cat > bench/results/fleet.json <<JSON
{"shared_rate_per_s": $shared_rate, "target_rate_per_s": 50, "unshared_rate_per_s": $alone_rate,
 "dead_api_requests_fleet_4x30": $fleet_sent, "dead_api_requests_one_process_30": $one_sent,
 "redis_added_us_per_call": $added, "redis_server_us_per_call": $redis_us}
JSON
echo "written: bench/results/fleet.json"
