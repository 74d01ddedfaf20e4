#!/usr/bin/env bash
# Every benchmark in one run, on loopback: installs what it needs on a fresh Debian
# machine (nginx, curl, hyperfine, python3 requests, redis-server, PostgreSQL; oha and
# xh with cargo install),
# runs each script, prints one table and writes bench/results/summary.json.
#
#   bash bench/run.sh                 (about 20 minutes on 2 cores, most of it building)
#   QUICK=1 bash bench/run.sh         (smaller sizes: a check that everything runs)
#
# The figures are ratios against peers measured in the same run; BENCHMARKS.md keeps
# the latest with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need_packages
for tool in oha xh; do
  need "$tool" || cargo install --locked -q "$tool" || echo "($tool did not install: left out)"
done
export PATH="$HOME/.cargo/bin:$PATH"

if [ -n "${QUICK:-}" ]; then
  BATCH=(5000 50); GOODPUT=(500 16); MEMORY=(50000 256); COLD=50
else
  BATCH=(20000 50); GOODPUT=(2000 16); MEMORY=(1000000 1024); COLD=200
fi

echo "== 1. pipeline overhead (steady::Client vs reqwest::Client, local hyper server)"
# Paired rounds (the figures reported) and criterion (its own report in target/criterion).
cargo bench -q -p steady --bench paired 2>/dev/null | tee "$WORK/paired.txt"
cargo bench -q -p steady --bench overhead >/dev/null 2>&1
python3 - "$WORK/paired.txt" <<'PY'
import json, os, sys
out = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
def est(group, name):
    e = json.load(open(f"target/criterion/{group}/{name}/new/estimates.json"))
    return e["median"]["point_estimate"]  # ns per iteration
one_r, one_s = est("one_call", "reqwest"), est("one_call", "steady")
many_r, many_s = est("64_at_once", "reqwest"), est("64_at_once", "steady")
out["criterion"] = {"one_call_us": {"reqwest": round(one_r / 1000, 1), "steady": round(one_s / 1000, 1)},
                    "c64_throughput_ratio": round(many_r / many_s, 2)}
os.makedirs("bench/results", exist_ok=True)
json.dump(out, open("bench/results/overhead.json", "w"), indent=2)
print("criterion (noisier):", json.dumps(out["criterion"]))
PY

echo "== 2. batch throughput"
bash bench/batch.sh "${BATCH[@]}"
echo "== 3. goodput under faults"
bash bench/goodput.sh "${GOODPUT[@]}"
echo "== 4. cold start"
bash bench/coldstart.sh "$COLD"
echo "== 5. memory"
bash bench/memory.sh "${MEMORY[@]}"
echo "== 6. riding out trouble (flaky items, a server with room for 8, adaptive cost)"
bash bench/adaptive.sh
echo "== 7. a fleet sharing guards through Redis"
bash bench/fleet.sh
echo "== 8. one batch shared by workers through PostgreSQL"
if [ -n "${QUICK:-}" ]; then N=2000 bash bench/shared.sh; else bash bench/shared.sh; fi
echo "== 10. what a one-GET program weighs (crates, clean build)"
if [ -n "${QUICK:-}" ]; then ROUNDS=1 bash bench/weight.sh; else bash bench/weight.sh; fi

python3 - <<'PY'
import json, platform, os, subprocess
r = {k: json.load(open(f"bench/results/{k}.json")) for k in ("overhead", "batch", "goodput", "coldstart", "memory", "adaptive", "fleet", "shared", "weight")}
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
summary = {"machine": {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release()}, **r}
json.dump(summary, open("bench/results/summary.json", "w"), indent=2)
o, b, c, m = r["overhead"], r["batch"]["ratios"], r["coldstart"]["ratios"], {x["what"]: x for x in r["memory"]["results"]}
g = {x["tool"]: x for x in r["goodput"]["results"]}
a = {x["scenario"]: x for x in r["adaptive"]}
fl = {x["tool"]: x for x in a["flaky"]["results"]}
cap = {x["tool"]: x for x in a["capacity"]["results"]}["steady"]
cap_bound = a["capacity"]["items"] * 0.02 / 8
rows = [
  ("overhead, one call: added latency", f'{o["one_call_added_us"]} us', "stated"),
  ("overhead, 64 at once: steady/reqwest", f'{o["c64_throughput_ratio"]}x', ">= 0.95x"),
  ("batch: steady/curl --parallel", f'{b.get("steady_vs_curl_parallel")}x', ">= 1.0x"),
  ("batch: steady/python requests", f'{b.get("steady_vs_python_requests")}x', ">= 10x"),
  ("batch: steady/oha (ceiling)", f'{b.get("steady_vs_oha", "n/a")}x', "stated"),
  ("goodput: steady success", f'{g["steady"]["success_rate"] * 100:.1f}%', "100%"),
  ("goodput: sent, steady vs urllib3", f'{g["steady"]["sent"]} vs {g["python_urllib3_retry"]["sent"]}', "fewer"),
  ("flaky batch: steady success", f'{100 * fl["steady"]["ok"] / a["flaky"]["items"]:.1f}%', "100%"),
  ("flaky batch: sent, steady vs urllib3", f'{fl["steady"]["sent"]} vs {fl["python_urllib3_retry"]["sent"]}', "equal"),
  ("capacity: steady success", f'{100 * cap["ok"] / a["capacity"]["items"]:.1f}%', "100%"),
  ("capacity: turned away", f'{100 * cap["turned_away"] / cap["sent"]:.1f}%', "<= 5%"),
  ("capacity: wall / capacity bound", f'{cap["wall_s"] / cap_bound:.2f}x', "<= 2x"),
  ("healthy: adaptive/fixed throughput", f'{a["healthy"]["ratio"]}x', ">= 0.97x"),
  ("cold start: steady/curl", f'{c.get("steady_vs_curl")}x', "<= 1.5x"),
  (f'memory: {r["memory"]["batch_lines"]:,}-line batch peak', f'{m["steady_batch_1m"]["peak_rss_mib"]} MiB', "< 100 MiB"),
  (f'memory: {r["memory"]["download_mib"]} MiB download peak', f'{m["steady_download"]["peak_rss_mib"]} MiB', "< 20 MiB"),
  ("fleet: 4 processes at a shared 50/s", f'{r["fleet"]["shared_rate_per_s"]}/s', "<= 50/s"),
  ("fleet: a dead API, requests (4 x 30 runs)", f'{r["fleet"]["dead_api_requests_fleet_4x30"]}', "= one process's"),
  ("fleet: Redis added per call", f'{r["fleet"]["redis_added_us_per_call"]} us', "stated"),
  ("shared batch: 1 PostgreSQL worker", f'{r["shared"]["postgres_items_per_s"]["1"]} items/s', "stated"),
  ("shared batch: kill -9, claimed twice", f'{r["shared"]["kill9"]["claimed_twice"]}', "<= 16"),
  ("shared batch: kill -9, recorded", f'{r["shared"]["kill9"]["recorded"]} of {r["shared"]["items"]}', "all, once"),
  ("one GET: crates, steady/reqwest", f'{r["weight"]["crates"]["ratio"]}x', "<= 1.3x"),
  ("one GET: clean build, steady/reqwest", f'{r["weight"]["clean_debug_build_s"]["median_ratio"]}x', "<= 1.3x"),
]
print("\n%-40s %16s %10s" % ("claim", "measured", "target"))
for row in rows:
    print("%-40s %16s %10s" % row)
print("written: bench/results/summary.json")
PY
