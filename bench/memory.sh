#!/usr/bin/env bash
# Memory: peak RSS of a one-million-line batch (concurrency 64, every result persisted)
# and of a 1 GiB streamed download (`steady get -o FILE`), both against a local nginx;
# curl's peak for the same download beside it.
#
#   bash bench/memory.sh [LINES] [DOWNLOAD_MIB]       (defaults: 1000000 1024)
#
# Prints a table and writes bench/results/memory.json.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
MIB=${2:-1024}
PORT=${PORT:-18097}
. bench/lib.sh
need_packages
build_steady
start_nginx "$PORT"

# A file of MIB MiB of zeros (sparse: costs no disk to serve).
truncate -s "${MIB}M" "$WORK/www/big.bin"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; cleanup' EXIT

rows=()
rows+=("$(measure steady_download "$STEADY" get "http://127.0.0.1:$PORT/big.bin" -o "$OUT/steady.bin" --timeout 10m)")
[ "$(stat -c %s "$OUT/steady.bin")" = $((MIB * 1024 * 1024)) ] || { echo "steady saved the wrong size"; exit 1; }
rm -f "$OUT/steady.bin"
rows+=("$(measure curl_download curl -s -o "$OUT/curl.bin" "http://127.0.0.1:$PORT/big.bin")")
rm -f "$OUT/curl.bin"

seq 1 "$LINES" | sed "s|.*|{\"id\": \"&\", \"url\": \"http://127.0.0.1:$PORT/items/&\"}|" > "$WORK/in.jsonl"
rows+=("$(measure steady_batch_1m "$STEADY" batch "$WORK/in.jsonl" --db "$OUT/results.db" --concurrency 64 --quiet)")
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from items where ok = 1').fetchone()[0])" "$OUT/results.db")
[ "$stored" = "$LINES" ] || { echo "steady stored $stored of $LINES results"; exit 1; }

mkdir -p bench/results
cat > "$WORK/table.py" <<'PY'
import json, sys
lines, mib = int(sys.argv[1]), int(sys.argv[2])
rows = []
for line in sys.stdin:
    name, secs, rss = line.split()
    rows.append({"what": name, "seconds": round(float(secs), 2), "peak_rss_mib": round(int(rss) / 1024, 1)})
print("%-18s %10s %14s" % ("what", "seconds", "peak RSS MiB"))
for r in rows:
    print("%-18s %10.2f %14.1f" % (r["what"], r["seconds"], r["peak_rss_mib"]))
json.dump({"batch_lines": lines, "download_mib": mib, "results": rows},
          open("bench/results/memory.json", "w"), indent=2)
print("written: bench/results/memory.json")
PY
printf '%s\n' "${rows[@]}" | python3 "$WORK/table.py" "$LINES" "$MIB"
