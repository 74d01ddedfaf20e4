#!/usr/bin/env bash
# Riding out trouble: three batch scenarios against local servers, steady beside its
# peers in the same run.
#
#   1. flaky: 1500 items, 40 ms answers from `steady chaos`; about 40% of items fail
#      once or twice (a 503 on the first request to an item for a quarter of them, a
#      reset on one of the first two for a fifth), never more. Concurrency 16.
#      steady batch (defaults), Python requests + urllib3 Retry(total=3,
#      backoff_factor=0.5, status_forcelist=[429,500,502,503,504]), curl --retry 3.
#   2. capacity: 1200 items of 20 ms against a server with room for 8 requests in
#      flight (one more gets 503 at once). Concurrency 64: steady batch (adaptive
#      concurrency, the default), curl --parallel-max 64 --retry 3, urllib3 with 64
#      threads. The capacity bound: 1200 x 20 ms / 8 = 3 s.
#   3. healthy: 20,000 GETs from nginx at concurrency 50, steady batch with adaptive
#      concurrency (the default) against --fixed-concurrency, alternating ROUNDS times.
#
#   bash bench/adaptive.sh            (ROUNDS=3; QUICK=1 for smaller sizes)
#
# Prints a table per scenario and writes bench/results/adaptive.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need_packages
build_steady
ROUNDS=${ROUNDS:-3}
if [ -n "${QUICK:-}" ]; then FLAKY=500; CAP=400; HEALTHY=5000; else FLAKY=1500; CAP=1200; HEALTHY=20000; fi
PORT=${PORT:-18231}
BASE="http://127.0.0.1:$PORT"

start_chaos() { # FAULT...: a fresh chaos server on $PORT
  local args=()
  for f in "$@"; do args+=(--fault "$f"); done
  "$STEADY" chaos --listen "127.0.0.1:$PORT" --seed 7 -q "${args[@]}" >/dev/null 2>&1 &
  CHAOS=$!
  for _ in $(seq 50); do curl -s -o /dev/null "$BASE/__chaos/stats" && return; sleep 0.1; done
  echo "chaos server did not start" >&2; exit 1
}
stop_chaos() { # prints the server's stats as JSON
  curl -s "$BASE/__chaos/stats"
  kill "$CHAOS"; wait "$CHAOS" 2>/dev/null || true
}
now() { date +%s.%N; }

# inputs N: $WORK/in.jsonl (steady), urls.txt (Python), curl.cfg; distinct targets.
inputs() {
  seq 1 "$1" | awk -v b="$BASE" '{printf "{\"id\": \"%d\", \"url\": \"%s/items/%d?n=%d\"}\n", $1, b, ($1 - 1) % 100 + 1, $1}' > "$WORK/in.jsonl"
  seq 1 "$1" | awk -v b="$BASE" '{printf "%s/items/%d?n=%d\n", b, ($1 - 1) % 100 + 1, $1}' > "$WORK/urls.txt"
  sed 's|.*|url = "&"\noutput = /dev/null|' "$WORK/urls.txt" > "$WORK/curl.cfg"
}

cat > "$WORK/py.py" <<'PY'
import sys, requests
from concurrent.futures import ThreadPoolExecutor
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
urls = open(sys.argv[1]).read().split()
conc = int(sys.argv[2])
session = requests.Session()
retry = Retry(total=3, backoff_factor=0.5, status_forcelist=[429, 500, 502, 503, 504])
session.mount("http://", HTTPAdapter(max_retries=retry, pool_connections=conc, pool_maxsize=conc))
def get(u):
    try:
        r = session.get(u, timeout=(3.05, 27))
        return r.status_code == 200 and "id" in r.json()
    except Exception:
        return False
with ThreadPoolExecutor(conc) as pool:
    print(sum(pool.map(get, urls)))
PY

# row TOOL OK WALL STATS: one JSON line for the scenario's table.
row() {
  python3 - "$@" <<'PY'
import json, sys
tool, ok, wall, stats = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
print(json.dumps({"tool": tool, "ok": ok, "wall_s": round(wall, 2), "sent": stats["requests"],
                  "turned_away": stats["faults"].get("capacity", 0),
                  "peak_in_flight": stats.get("peak_in_flight", 0)}))
PY
}

# scenario NAME ITEMS CONCURRENCY FAULT...: every tool against a fresh server.
scenario() {
  local name=$1 items=$2 conc=$3; shift 3
  inputs "$items"
  local t0 t1 ok out=()
  start_chaos "$@"; t0=$(now)
  rm -f "$WORK/s.db"*
  "$STEADY" batch "$WORK/in.jsonl" --db "$WORK/s.db" --concurrency "$conc" --quiet >/dev/null 2>&1 || true
  t1=$(now)
  ok=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from items where ok = 1').fetchone()[0])" "$WORK/s.db")
  out+=("$(row steady "$ok" "$(echo "$t1 - $t0" | bc)" "$(stop_chaos)")")
  start_chaos "$@"; t0=$(now)
  ok=$(python3 "$WORK/py.py" "$WORK/urls.txt" "$conc")
  t1=$(now)
  out+=("$(row python_urllib3_retry "$ok" "$(echo "$t1 - $t0" | bc)" "$(stop_chaos)")")
  start_chaos "$@"; t0=$(now)
  ok=$(curl -s --parallel --parallel-max "$conc" --retry 3 --connect-timeout 3.05 --max-time 60 \
         -w '%{http_code}\n' -K "$WORK/curl.cfg" 2>/dev/null | grep -c '^200$' || true)
  t1=$(now)
  out+=("$(row curl_retry "$ok" "$(echo "$t1 - $t0" | bc)" "$(stop_chaos)")")
  printf '%s\n' "${out[@]}" | python3 -c '
import json, sys
name, items = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(f"== {name}: {items} items")
print("%-22s%9s%8s%12s%9s%7s" % ("tool", "success", "sent", "turned away", "wall s", "peak"))
for r in rows:
    print("%-22s%8.1f%%%8d%11.1f%%%9.2f%7d" % (r["tool"], 100 * r["ok"] / items, r["sent"],
          100 * r["turned_away"] / max(1, r["sent"]), r["wall_s"], r["peak_in_flight"]))
print(json.dumps({"scenario": name, "items": items, "results": rows}), file=open(sys.argv[3], "a"))
' "$name" "$items" "$WORK/results.jsonl"
}

scenario flaky "$FLAKY" 16 "latency=40ms" "status=503,first=1,rate=0.25" "reset,first=2,rate=0.2"
scenario capacity "$CAP" 64 "latency=20ms" "capacity=8"
echo "(capacity bound: $CAP x 20 ms / 8 = $(echo "$CAP * 0.02 / 8" | bc -l | cut -c1-4) s)"

# Healthy: adaptive against fixed, alternating.
start_nginx 18232
seq 1 "$HEALTHY" | sed "s|.*|{\"id\": \"&\", \"url\": \"http://127.0.0.1:18232/items/&\"}|" > "$WORK/h.jsonl"
healthy=()
for _ in $(seq 1 "$ROUNDS"); do
  for mode in adaptive fixed; do
    rm -f "$WORK/h.db"*
    flag=(); [ "$mode" = fixed ] && flag=(--fixed-concurrency)
    healthy+=("$(measure "$mode" "$STEADY" batch "$WORK/h.jsonl" --db "$WORK/h.db" --concurrency 50 --quiet "${flag[@]}")")
  done
done
printf '%s\n' "${healthy[@]}" | python3 -c '
import json, statistics, sys
items = int(sys.argv[1])
runs = {}
for line in sys.stdin:
    mode, secs, _ = line.split()
    runs.setdefault(mode, []).append(items / float(secs))
a, f = statistics.median(runs["adaptive"]), statistics.median(runs["fixed"])
print(f"== healthy: {items} items from nginx at concurrency 50")
print("adaptive %.0f req/s (%s), fixed %.0f req/s (%s): adaptive/fixed %.3f" % (
    a, " / ".join("%.0f" % r for r in runs["adaptive"]), f, " / ".join("%.0f" % r for r in runs["fixed"]), a / f))
print(json.dumps({"scenario": "healthy", "items": items, "adaptive_rps": runs["adaptive"],
                  "fixed_rps": runs["fixed"], "ratio": round(a / f, 3)}), file=open(sys.argv[2], "a"))
' "$HEALTHY" "$WORK/results.jsonl"

mkdir -p bench/results
python3 -c 'import json,sys; json.dump([json.loads(l) for l in open(sys.argv[1])], open("bench/results/adaptive.json", "w"), indent=2)' "$WORK/results.jsonl"
echo "written: bench/results/adaptive.json"
