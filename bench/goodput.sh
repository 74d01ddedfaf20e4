#!/usr/bin/env bash
# Goodput under faults: the same mixed fault scenario from `steady chaos` (flaky 503s,
# 429 with Retry-After, resets, hangs, a short outage), N requests at concurrency C,
# through steady (defaults), Python requests with urllib3 Retry(total=3,
# backoff_factor=0.5, status_forcelist=[429,500,502,503,504]) and timeout=(3.05, 27),
# and curl --retry 3. Each tool meets a fresh chaos server with the same seed.
#
#   bash bench/goodput.sh [REQUESTS] [CONCURRENCY]      (defaults: 2000 16)
#
# Reports success rate (200 with the expected JSON), requests that reached the server,
# wall time and p50/p99 latency per logical request; writes bench/results/goodput.json.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
CONC=${2:-16}
PORT=${PORT:-18211}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
python3 -c 'import requests' 2>/dev/null || pip install -q requests
cargo build --release -q -p steady-cli
STEADY=$PWD/target/release/steady
BASE="http://127.0.0.1:$PORT"

# The scenario. Every answer takes 40 ms (a remote API), so no tool can finish
# 2,000 requests at concurrency 16 in under 5 s and each meets the outage, which starts
# 2 s in and lasts 3 s; hangs are rare but each costs a read timeout.
FAULTS=(--fault "latency=40ms" --fault "status=503,rate=0.10"
        --fault "status=429,retry-after=1,rate=0.05" --fault "reset,rate=0.04"
        --fault "hang,rate=0.005" --fault "outage=3s,at=2s")

start_chaos() {
  "$STEADY" chaos --listen "127.0.0.1:$PORT" --seed 7 -q "${FAULTS[@]}" >/dev/null 2>&1 &
  CHAOS=$!
  for _ in $(seq 50); do curl -s -o /dev/null "$BASE/" && return; sleep 0.1; done
  echo "chaos server did not start" >&2; exit 1
}
stop_chaos() { # prints the requests the server saw (minus the readiness probe)
  local seen
  # The outage may still be on: wait it out.
  seen=$(curl -s --retry 20 --retry-connrefused --retry-delay 1 "$BASE/__chaos/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"] - 2)')
  kill "$CHAOS"; wait "$CHAOS" 2>/dev/null || true
  echo "$seen"
}

# The built-in API serves items 1 to 100: request ids cycle over them.
seq 1 "$N" | awk -v b="$BASE" '{printf "{\"id\": \"%d\", \"url\": \"%s/items/%d\"}\n", $1, b, ($1 - 1) % 100 + 1}' > "$WORK/in.jsonl"
seq 1 "$N" | awk -v b="$BASE" '{printf "%s/items/%d\n", b, ($1 - 1) % 100 + 1}' > "$WORK/urls.txt"

# Latencies and outcomes go to one "ok seconds" line per logical request.
summarise() { # name, file, wall seconds, requests seen (all these), requests asked for
  python3 - "$@" <<'PY'
import sys, json
name, path, wall, seen, total = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [l.split() for l in open(path) if l.strip()]
oks = sum(1 for r in rows if r[0] == "1")
lat = sorted(float(r[1]) for r in rows)
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0
# Over every request asked for: a tool that reports nothing for a request failed it.
print(json.dumps({"tool": name, "requests": total, "reported": len(rows), "ok": oks,
                  "success_rate": round(oks / max(1, total), 4), "sent": seen,
                  "wall_s": round(wall, 2), "p50_ms": round(pick(0.5) * 1000, 1),
                  "p99_ms": round(pick(0.99) * 1000, 1)}))
PY
}

now() { date +%s.%N; }
results=()

# steady: a batch with default policies, every result persisted.
start_chaos
t0=$(now)
"$STEADY" batch "$WORK/in.jsonl" --db "$WORK/steady.db" --concurrency "$CONC" --quiet || true
t1=$(now)
seen=$(stop_chaos)
python3 - "$WORK/steady.db" > "$WORK/steady.txt" <<'PY'
import sqlite3, sys
for ok, ms in sqlite3.connect(sys.argv[1]).execute("select ok, elapsed_ms from items"):
    print(1 if ok else 0, ms / 1000)
PY
results+=("$(summarise steady "$WORK/steady.txt" "$(echo "$t1 - $t0" | bc)" "$seen" "$N")")

# Python requests + urllib3 Retry, the usual recipe.
cat > "$WORK/py.py" <<'PY'
import sys, time, requests
from concurrent.futures import ThreadPoolExecutor
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
urls = open(sys.argv[1]).read().split()
conc = int(sys.argv[2])
session = requests.Session()
retry = Retry(total=3, backoff_factor=0.5, status_forcelist=[429, 500, 502, 503, 504])
session.mount("http://", HTTPAdapter(max_retries=retry, pool_connections=conc, pool_maxsize=conc))
def get(u):
    t = time.monotonic()
    try:
        r = session.get(u, timeout=(3.05, 27))
        ok = r.status_code == 200 and "id" in r.json()
    except Exception:
        ok = False
    return ok, time.monotonic() - t
with ThreadPoolExecutor(conc) as pool:
    for ok, s in pool.map(get, urls):
        print(1 if ok else 0, s)
PY
start_chaos
t0=$(now)
python3 "$WORK/py.py" "$WORK/urls.txt" "$CONC" > "$WORK/python.txt"
t1=$(now)
seen=$(stop_chaos)
results+=("$(summarise python_urllib3_retry "$WORK/python.txt" "$(echo "$t1 - $t0" | bc)" "$seen" "$N")")

# curl --retry 3 (retries timeouts, 408, 429, 5xx; honours Retry-After). Without a
# limit a hang would block forever, so --max-time 60 (steady's default deadline).
start_chaos
t0=$(now)
sed 's|.*|url = "&"\noutput = /dev/null|' "$WORK/urls.txt" > "$WORK/curl.cfg"
curl -s --no-progress-meter --parallel --parallel-max "$CONC" --retry 3 --connect-timeout 3.05 --max-time 60 \
  -w '%{http_code} %{time_total}\n' -K "$WORK/curl.cfg" > "$WORK/curl.raw" || true
t1=$(now)
seen=$(stop_chaos)
awk '{print ($1 == "200" ? 1 : 0), $2}' "$WORK/curl.raw" > "$WORK/curl.txt"
results+=("$(summarise curl_retry "$WORK/curl.txt" "$(echo "$t1 - $t0" | bc)" "$seen" "$N")")

mkdir -p bench/results
cat > "$WORK/table.py" <<'PY'
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print("%-22s%9s%7s%8s%9s%9s" % ("tool", "success", "sent", "wall s", "p50 ms", "p99 ms"))
for r in rows:
    print("%-22s%8.1f%%%7d%8.2f%9.1f%9.1f" % (r["tool"], r["success_rate"] * 100, r["sent"],
                                             r["wall_s"], r["p50_ms"], r["p99_ms"]))
json.dump({"requests": rows[0]["requests"] if rows else 0, "results": rows},
          open("bench/results/goodput.json", "w"), indent=2)
print("written: bench/results/goodput.json")
PY
printf '%s\n' "${results[@]}" | python3 "$WORK/table.py"
