#!/usr/bin/env bash
# Cold start: the wall time of one `steady get` of a local URL (process start, client
# set-up, one request, exit) next to curl and xh, timed by hyperfine.
#
#   bash bench/coldstart.sh [RUNS]                    (default: 200)
#
# xh is compared when installed (bench/run.sh installs it with cargo install).
# Prints hyperfine's table and writes bench/results/coldstart.json.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200}
PORT=${PORT:-18098}
. bench/lib.sh
need_packages
build_steady
start_nginx "$PORT"

URL="http://127.0.0.1:$PORT/item.json"
cmds=(-n steady "$STEADY get $URL" -n curl "curl -s $URL")
if need xh; then cmds+=(-n xh "xh --ignore-stdin $URL"); fi
mkdir -p bench/results
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$WORK/hf.json" "${cmds[@]}" >/dev/null
python3 - "$WORK/hf.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
rows = [{"tool": r["command"], "mean_ms": round(r["mean"] * 1000, 2),
         "stddev_ms": round(r["stddev"] * 1000, 2), "median_ms": round(r["median"] * 1000, 2)}
        for r in res]
by = {r["tool"]: r for r in rows}
ratios = {"steady_vs_" + t: round(by["steady"]["median_ms"] / by[t]["median_ms"], 2)
          for t in by if t != "steady"}
print("%-8s %10s %10s %10s" % ("tool", "median ms", "mean ms", "stddev"))
for r in rows:
    print("%-8s %10.2f %10.2f %10.2f" % (r["tool"], r["median_ms"], r["mean_ms"], r["stddev_ms"]))
for k, v in ratios.items():
    print("%s: %sx" % (k, v))
json.dump({"results": rows, "ratios": ratios}, open("bench/results/coldstart.json", "w"), indent=2)
print("written: bench/results/coldstart.json")
PY
