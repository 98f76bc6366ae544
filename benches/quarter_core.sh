#!/usr/bin/env bash
# oxidot on a quarter core: in a cgroup limited to 25000/100000 µs of CPU (v2 or v1, whichever is
# writable; exits non-zero when neither is), three paced loadgens (traces 50k/s, metrics 20k/s,
# logs 20k/s, times S) for DURATION s; S searched for the highest rate with zero loss and p99
# under P99_MS; once with the workers oxidot sizes from the quota, once with 2 forced.
# The result replaces the "## Quarter core" section of BENCHMARKS.md (benches/quarter_core.py).
#   DURATION=20 MAX_STEPS=7 P99_MS=500 benches/quarter_core.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace
exec python3 benches/quarter_core.py
