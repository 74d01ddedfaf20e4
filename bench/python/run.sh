#!/usr/bin/env bash
# The Python benchmarks: steady's Python package against requests + urllib3 Retry and
# httpx, in the same run, against the same local fault-injecting server.
#
#   bash bench/python/run.sh            (ROUNDS=3 for the throughput runs)
#   QUICK=1 bash bench/python/run.sh    (smaller sizes: a check that everything runs)
#
# Builds the package in release mode into a venv of its own (python/target/bench-venv,
# with requests and httpx from PyPI) and the chaos server (python/examples/chaos.rs),
# then runs bench/python/bench.py, which prints the tables and writes
# bench/results/python.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export CARGO_TARGET_DIR="$root/python/target"
venv="$CARGO_TARGET_DIR/bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import maturin, requests, httpx' 2>/dev/null \
  || "$venv/bin/python" -m pip install -q "maturin>=1.9,<2" requests httpx
rm -rf "$CARGO_TARGET_DIR/wheels"
(cd python && "$venv/bin/maturin" build --release --quiet -o "$CARGO_TARGET_DIR/wheels")
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$CARGO_TARGET_DIR"/wheels/steady-*.whl
(cd python && cargo build --release --quiet --example chaos)
exec "$venv/bin/python" bench/python/bench.py --chaos "$CARGO_TARGET_DIR/release/examples/chaos" "$@"
