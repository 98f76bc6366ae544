#!/usr/bin/env bash
# One command: oxidot side by side with rotel on the same workloads (benches/compare.py says
# how), three runs each, medians into BENCHMARKS.md and benches/compare.svg.
#   RUNS=3 SCALE=1 benches/compare.sh        (SCALE=0.1 for a quick look)
# rotel is fetched from PyPI (`pip download --pre rotel`; the wheel holds the rotel-agent binary),
# unpacked under target/peers/, never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin oxidot -p oxidot
cargo build --release -q -p oxidot-bench
PEER=target/peers/rotel
if [ ! -x "$PEER/rotel-agent" ]; then
  mkdir -p "$PEER"
  python3 -m pip download --quiet --pre --no-deps rotel -d "$PEER"
  python3 - "$PEER" <<'PY'
import glob, os, sys, zipfile
peer = sys.argv[1]
whl = sorted(glob.glob(os.path.join(peer, "rotel-*.whl")))[-1]
with zipfile.ZipFile(whl) as z:
    data = z.read("rotel/rotel-agent")
path = os.path.join(peer, "rotel-agent")
open(path, "wb").write(data)
os.chmod(path, 0o755)
PY
fi
exec python3 benches/compare.py
