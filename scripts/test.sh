#!/usr/bin/env bash
# Runs oxidot's whole test suite, after installing what it needs (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OXIDOT_TEST_PYTHON="$PWD/.venv/bin/python"
# The demo API is a workspace member the end-to-end test runs.
cargo build -p demo-api
cargo test --all-targets --no-fail-fast "$@"
