#!/usr/bin/env bash
# Batch throughput and memory: steady batch (persisting every result) next to
# curl --parallel and a Python requests thread pool, all against a local nginx serving a
# small JSON file, on loopback. Installs what it needs on a Debian machine.
#
#   bash bench/batch.sh [ITEMS] [CONCURRENCY]        (defaults: 20000 50)
#
# Prints a table and writes bench/results/batch.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-20000}
CONC=${2:-50}
PORT=${PORT:-18099}
WORK=$(mktemp -d)
chmod 755 "$WORK"   # nginx workers read the files as another user
trap 'nginx -c "$WORK/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$WORK"' EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need curl || [ ! -x /usr/bin/time ]; then
  apt-get update -qq && apt-get install -y -qq nginx curl time >/dev/null
fi
python3 -c 'import requests' 2>/dev/null || pip install -q requests

cargo build --release -q -p steady-cli
STEADY=target/release/steady

mkdir -p "$WORK/www" "$WORK/logs"
echo '{"id": 1, "name": "anvil", "price": 9.5, "in_stock": true}' > "$WORK/www/item.json"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  default_type application/json;
  server { listen 127.0.0.1:$PORT; root $WORK/www; location / { try_files /item.json =404; } }
}
CONF
nginx -c "$WORK/nginx.conf"
sleep 0.3

# The same URLs for every tool (distinct paths, one file behind them).
seq 1 "$ITEMS" | sed "s|.*|{\"id\": \"&\", \"url\": \"http://127.0.0.1:$PORT/items/&\"}|" > "$WORK/in.jsonl"
seq 1 "$ITEMS" | sed "s|.*|url = \"http://127.0.0.1:$PORT/items/&\"\noutput = /dev/null|" > "$WORK/curl.cfg"
seq 1 "$ITEMS" | sed "s|.*|http://127.0.0.1:$PORT/items/&|" > "$WORK/urls.txt"

measure() { # name, command...: prints "name seconds peak_rss_kib"
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  if ! /usr/bin/time -f "%M" -o "$WORK/rss" "$@" >/dev/null 2>"$WORK/err"; then echo "$name failed: $(cat "$WORK/err" "$WORK/rss")" >&2; exit 1; fi
  end=$(date +%s.%N)
  echo "$name $(echo "$end - $start" | bc) $(tail -1 "$WORK/rss")"
}

rows=()
rows+=("$(measure steady_batch "$STEADY" batch "$WORK/in.jsonl" --db "$WORK/results.db" --concurrency "$CONC" --quiet)")
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from items where ok = 1').fetchone()[0])" "$WORK/results.db")
[ "$stored" = "$ITEMS" ] || { echo "steady stored $stored of $ITEMS results"; exit 1; }
[ -n "${ONLY_STEADY:-}" ] && { printf "%s\n" "${rows[@]}"; exit 0; }
rows+=("$(measure curl_parallel curl -s --parallel --parallel-max "$CONC" -K "$WORK/curl.cfg")")
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
rows+=("$(measure python_requests python3 "$WORK/py.py" "$WORK/urls.txt" "$CONC")")

mkdir -p bench/results
printf '%-16s %10s %12s %14s\n' tool seconds "requests/s" "peak RSS MiB"
json="{\"items\": $ITEMS, \"concurrency\": $CONC, \"results\": ["
sep=""
for row in "${rows[@]}"; do
  read -r name secs rss <<<"$row"
  rate=$(echo "$ITEMS / $secs" | bc)
  mib=$(echo "scale=1; $rss / 1024" | bc)
  printf '%-16s %10.2f %12s %14s\n' "$name" "$secs" "$rate" "$mib"
  json+="$sep{\"tool\": \"$name\", \"seconds\": $secs, \"requests_per_second\": $rate, \"peak_rss_mib\": $mib}"
  sep=", "
done
echo "$json]}" > bench/results/batch.json
echo "written: bench/results/batch.json"
