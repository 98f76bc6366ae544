#!/usr/bin/env bash
# Runs oxidot's whole test suite, after installing what it needs (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OXIDOT_TEST_PYTHON="$PWD/.venv/bin/python"
# One build of the whole workspace: the demo API (a member that tests/e2e.rs runs) and the test
# targets are resolved together, so the dependencies they share (tokio, tonic, axum, hyper,
# opentelemetry-proto, …) are compiled once with one feature set rather than once for each.
cargo build --workspace --all-targets
cargo test --workspace --all-targets --no-fail-fast "$@"
