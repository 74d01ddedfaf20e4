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
  printf '[package]\nname = "one-get-%s"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\n%s\ntokio = { version = "1", features = ["macros", "rt-multi-thread"] }\n[workspace]\n' \
    "$1" "$2" > "$WORK/$1/Cargo.toml"
  printf '#[tokio::main]\nasync fn main() {\n    %s\n}\n' "$3" > "$WORK/$1/src/main.rs"
  cp "$ROOT/Cargo.lock" "$WORK/$1/"
}
probe reqwest 'reqwest = "0.13"' \
  'println!("{:?}", reqwest::get("http://127.0.0.1:1/").await.map(|r| r.status()));'
probe reqwest-json 'reqwest = { version = "0.13", features = ["json"] }' \
  'println!("{:?}", reqwest::get("http://127.0.0.1:1/").await.map(|r| r.status()));'
# reqwest on rustls with ring, as steady builds it (reqwest's default TLS provider,
# aws-lc-rs, compiles a C library with cmake: a slower build than ring's).
probe reqwest-ring 'reqwest = { version = "0.13", default-features = false, features = ["rustls-no-provider", "http2", "charset", "system-proxy"] }
rustls = { version = "0.23", default-features = false, features = ["ring", "std", "tls12"] }' \
  'let _ = rustls::crypto::ring::default_provider().install_default(); println!("{:?}", reqwest::get("http://127.0.0.1:1/").await.map(|r| r.status()));'
probe steady "steady = { path = \"$ROOT/crates/steady\" }" \
  'let c = steady::Client::new().unwrap(); println!("{:?}", c.get("http://127.0.0.1:1/").send().await.map(|r| r.status()));'

crates() { (cd "$WORK/$1" && cargo tree -e normal,build --prefix none 2>/dev/null \
  | sed 's/ (\*)//; s/ (proc-macro)//' | awk '{print $1}' | sort -u | wc -l); }
declare -A count
for p in reqwest reqwest-json reqwest-ring steady; do count[$p]=$(crates "$p"); done

declare -A times
for round in $(seq 1 "$ROUNDS"); do
  for p in reqwest steady reqwest-json reqwest-ring; do
    rm -rf "$WORK/$p/target"
    start=$(date +%s.%N)
    (cd "$WORK/$p" && cargo build -q)
    t=$(echo "$(date +%s.%N) - $start" | bc)
    times[$p]="${times[$p]:-} $t"
    echo "round $round: $p built in ${t%.*} s"
  done
done

mkdir -p bench/results
python3 - "${count[reqwest]}" "${count[reqwest-json]}" "${count[reqwest-ring]}" "${count[steady]}" \
  "${times[reqwest]}" "${times[reqwest-json]}" "${times[reqwest-ring]}" "${times[steady]}" <<'PY'
import json, statistics, sys
c_r, c_rj, c_rr, c_s = (int(x) for x in sys.argv[1:5])
t = [sorted(float(x) for x in arg.split()) for arg in sys.argv[5:9]]
med = [statistics.median(x) for x in t]
out = {
    "crates": {"reqwest": c_r, "reqwest_json": c_rj, "reqwest_ring": c_rr, "steady": c_s,
               "ratio": round(c_s / c_r, 2), "ratio_vs_json": round(c_s / c_rj, 2),
               "ratio_vs_ring": round(c_s / c_rr, 2)},
    "clean_debug_build_s": {"reqwest": t[0], "reqwest_json": t[1], "reqwest_ring": t[2], "steady": t[3],
                            "median_ratio": round(med[3] / med[0], 2),
                            "median_ratio_vs_json": round(med[3] / med[1], 2),
                            "median_ratio_vs_ring": round(med[3] / med[2], 2)},
}
json.dump(out, open("bench/results/weight.json", "w"), indent=2)
print(json.dumps(out, indent=2))
PY
