#!/usr/bin/env bash
# Builds the steady Python package from this checkout and runs its tests.
#
# Needs CPython >= 3.9 with venv and pip, and the Rust toolchain. Creates
# python/.venv (once), installs maturin and pytest from PyPI into it, builds the
# extension in debug mode into python/target (kept between runs, so a second run only
# relinks what changed), builds the chaos server the fault tests use
# (examples/chaos.rs, on steady-chaos) and runs pytest. Extra arguments go to pytest:
#   python/run-tests.sh -k timeout -x
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# Installed once; pip answers from the venv after that.
if ! "$venv/bin/python" -c 'import maturin, pytest' 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "maturin>=1.9,<2" "pytest>=7"
fi

export CARGO_TARGET_DIR="$here/target"
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
(cd "$here" && maturin develop --quiet)
# `steady chaos` for the tests that need its faults (tests/test_chaos.py).
(cd "$here" && cargo build --quiet --example chaos)
export STEADY_CHAOS="$CARGO_TARGET_DIR/debug/examples/chaos"
# The `steady` binary, when the workspace's tests built it (test.sh runs them first):
# for the test of state shared between Python and the command line.
if [ -z "${STEADY_BIN:-}" ] && [ -x "$here/../target/debug/steady" ]; then
    export STEADY_BIN="$here/../target/debug/steady"
fi

cd "$here"
exec "$venv/bin/python" -m pytest -q tests "$@"
