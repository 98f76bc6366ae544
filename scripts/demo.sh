#!/usr/bin/env bash
# The loopback demo: the demo API → oxidot (config/local.yaml) → a real Prometheus, moto's X-Ray
# API and a stand-in for Loki's OTLP endpoint, driven through /items and /crash; prints the error
# log, its trace in X-Ray and the request counter in Prometheus, all sharing one trace id.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OXIDOT_TEST_PYTHON="$PWD/.venv/bin/python"
# The same build as scripts/test.sh (shared with it when it has run).
cargo build --workspace --all-targets
cargo test --workspace --test e2e -- --nocapture
