#!/usr/bin/env bash
# What a one-GET program weighs with steady's default features against the same
# program on reqwest alone: the crates it compiles and its clean debug build time.
# Two throwaway crates in a temporary folder (steady by path to this checkout, both
# on this checkout's Cargo.lock), each built from clean ROUNDS times, alternating so
# that a busy machine slows both alike. Writes bench/results/weight.json.
#
#   bash bench/weight.sh          (ROUNDS=3: about 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

probe() { # name, dependency lines, main body
  mkdir -p "$WORK/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\n%s\ntokio = { version = "1", features = ["macros", "rt-multi-thread"] }\n[workspace]\n' \
    "$1" "$2" > "$WORK/$1/Cargo.toml"
  printf '#[tokio::main]\nasync fn main() {\n    %s\n}\n' "$3" > "$WORK/$1/src/main.rs"
  cp "$ROOT/Cargo.lock" "$WORK/$1/"
}
probe reqwest 'reqwest = "0.13"' \
  'println!("{:?}", reqwest::get("http://127.0.0.1:1/").await.map(|r| r.status()));'
probe reqwest-json 'reqwest = { version = "0.13", features = ["json"] }' \
  'println!("{:?}", reqwest::get("http://127.0.0.1:1/").await.map(|r| r.status()));'
probe steady "steady = { path = \"$ROOT/crates/steady\" }" \
  'let c = steady::Client::new().unwrap(); println!("{:?}", c.get("http://127.0.0.1:1/").send().await.map(|r| r.status()));'

crates() { (cd "$WORK/$1" && cargo tree -e normal,build --prefix none 2>/dev/null \
  | sed 's/ (\*)//; s/ (proc-macro)//' | awk '{print $1}' | sort -u | wc -l); }
declare -A count
for p in reqwest reqwest-json steady; do count[$p]=$(crates "$p"); done

declare -A times
for round in $(seq 1 "$ROUNDS"); do
  for p in reqwest steady reqwest-json; do
    rm -rf "$WORK/$p/target"
    start=$(date +%s.%N)
    (cd "$WORK/$p" && cargo build -q)
    t=$(echo "$(date +%s.%N) - $start" | bc)
    times[$p]="${times[$p]:-} $t"
    echo "round $round: $p built in ${t%.*} s"
  done
done

mkdir -p bench/results
python3 - "${count[reqwest]}" "${count[reqwest-json]}" "${count[steady]}" \
  "${times[reqwest]}" "${times[reqwest-json]}" "${times[steady]}" <<'PY'
import json, statistics, sys
c_r, c_rj, c_s = (int(x) for x in sys.argv[1:4])
t = [sorted(float(x) for x in arg.split()) for arg in sys.argv[4:7]]
med = [statistics.median(x) for x in t]
out = {
    "crates": {"reqwest": c_r, "reqwest_json": c_rj, "steady": c_s,
               "ratio": round(c_s / c_r, 2), "ratio_vs_json": round(c_s / c_rj, 2)},
    "clean_debug_build_s": {"reqwest": t[0], "reqwest_json": t[1], "steady": t[2],
                            "median_ratio": round(med[2] / med[0], 2),
                            "median_ratio_vs_json": round(med[2] / med[1], 2)},
}
json.dump(out, open("bench/results/weight.json", "w"), indent=2)
print(json.dumps(out, indent=2))
PY
