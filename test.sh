#!/usr/bin/env bash
# Every test of the project, on a fresh machine with the Rust toolchain and CPython:
# the Rust workspace with every feature (unit tests, doctests, integration tests against
# servers the tests start on 127.0.0.1), then the Python package (python/run-tests.sh:
# a venv with maturin and pytest from PyPI, the extension built from this checkout).
# PostgreSQL and Redis tests skip without their Debian packages; .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --workspace --all-features --locked --no-fail-fast
# The library's lean default build (no optional features): its own unit tests, which
# check that it asks only for what it can decode.
cargo test -p steady --lib --locked
bash python/run-tests.sh
