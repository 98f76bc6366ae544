#!/usr/bin/env bash
# The loopback demo: the demo API → oxidot (config/local.yaml) → a real Prometheus, moto's X-Ray
# API and a Loki push server, driven through /items and /crash; prints the error log, its trace in
# X-Ray and the request counter in Prometheus, all sharing one trace id.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OXIDOT_TEST_PYTHON="$PWD/.venv/bin/python"
cargo build -p demo-api
cargo test --test e2e -- --nocapture
