#!/usr/bin/env bash
# Batch throughput and memory: steady batch (persisting every result) next to
# curl --parallel and a Python requests thread pool, all against a local nginx serving a
# small JSON file, on loopback. Installs what it needs on a Debian machine.
#
#   bash bench/batch.sh [ITEMS] [CONCURRENCY]        (defaults: 20000 50)
#   ROUNDS=5 bash bench/batch.sh                     (steady/curl pairs; default 3)
#   ONLY_STEADY=1 bash bench/batch.sh                (steady alone, for profiling)
#
# Also runs oha (a load generator, the ceiling) when it is installed (bench/run.sh
# installs it). Prints a table and writes bench/results/batch.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-20000}
CONC=${2:-50}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18099}
. bench/lib.sh
need_packages
build_steady
start_nginx "$PORT"

# The same URLs for every tool (distinct paths, one file behind them).
seq 1 "$ITEMS" | sed "s|.*|{\"id\": \"&\", \"url\": \"http://127.0.0.1:$PORT/items/&\"}|" > "$WORK/in.jsonl"
seq 1 "$ITEMS" | sed "s|.*|url = \"http://127.0.0.1:$PORT/items/&\"\noutput = /dev/null|" > "$WORK/curl.cfg"
seq 1 "$ITEMS" | sed "s|.*|http://127.0.0.1:$PORT/items/&|" > "$WORK/urls.txt"

cat > "$WORK/py.py" <<'PY'
import sys, requests
from concurrent.futures import ThreadPoolExecutor
urls = open(sys.argv[1]).read().split()
session = requests.Session()
adapter = requests.adapters.HTTPAdapter(pool_connections=int(sys.argv[2]), pool_maxsize=int(sys.argv[2]))
session.mount("http://", adapter)
def get(u):
    return session.get(u, timeout=(3.05, 27)).status_code
with ThreadPoolExecutor(int(sys.argv[2])) as pool:
    codes = list(pool.map(get, urls))
assert all(c == 200 for c in codes)
PY

# steady and curl alternate ROUNDS times (the machine's load drifts; each round's pair
# meets the same conditions); the slow Python pool and oha run once.
rows=()
for round in $(seq 1 "$ROUNDS"); do
  rm -f "$WORK/results.db"*
  rows+=("$(measure steady_batch "$STEADY" batch "$WORK/in.jsonl" --db "$WORK/results.db" --concurrency "$CONC" --quiet)")
  stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from items where ok = 1').fetchone()[0])" "$WORK/results.db")
  [ "$stored" = "$ITEMS" ] || { echo "steady stored $stored of $ITEMS results"; exit 1; }
  [ -n "${ONLY_STEADY:-}" ] && continue
  rows+=("$(measure curl_parallel curl -s --parallel --parallel-max "$CONC" -K "$WORK/curl.cfg")")
done
[ -n "${ONLY_STEADY:-}" ] && { printf "%s\n" "${rows[@]}"; exit 0; }
rows+=("$(measure python_requests python3 "$WORK/py.py" "$WORK/urls.txt" "$CONC")")
# oha: a pure load generator (one URL, nothing recorded): the practical ceiling.
if need oha; then
  rows+=("$(measure oha oha -n "$ITEMS" -c "$CONC" --no-tui "http://127.0.0.1:$PORT/items/1")")
fi

mkdir -p bench/results
cat > "$WORK/table.py" <<'PY'
import json, statistics, sys
items, conc = int(sys.argv[1]), int(sys.argv[2])
runs = {}
for line in sys.stdin:
    name, secs, rss = line.split()
    runs.setdefault(name, []).append((float(secs), int(rss)))
table = []
for name, rs in runs.items():
    rates = [items / s for s, _ in rs]
    table.append({"tool": name, "runs": len(rs), "requests_per_second": [round(r) for r in rates],
                  "median_rps": round(statistics.median(rates)),
                  "peak_rss_mib": round(max(r for _, r in rs) / 1024, 1)})
by = {t["tool"]: t for t in table}
steady = by["steady_batch"]["median_rps"]
ratios = {}
for peer in ("curl_parallel", "python_requests", "oha"):
    if peer in by:
        ratios["steady_vs_" + peer] = round(steady / by[peer]["median_rps"], 2)
if "curl_parallel" in by:
    pairs = zip(by["steady_batch"]["requests_per_second"], by["curl_parallel"]["requests_per_second"])
    ratios["steady_vs_curl_per_round"] = [round(a / b, 2) for a, b in pairs]
print("%-16s %5s %12s %28s %13s" % ("tool", "runs", "median req/s", "each run", "peak RSS MiB"))
for t in table:
    print("%-16s %5d %12d %28s %13.1f" % (t["tool"], t["runs"], t["median_rps"],
          " ".join(map(str, t["requests_per_second"])), t["peak_rss_mib"]))
for k, v in ratios.items():
    print("%s: %s" % (k, v))
json.dump({"items": items, "concurrency": conc, "results": table, "ratios": ratios},
          open("bench/results/batch.json", "w"), indent=2)
print("written: bench/results/batch.json")
PY
printf '%s\n' "${rows[@]}" | python3 "$WORK/table.py" "$ITEMS" "$CONC"
