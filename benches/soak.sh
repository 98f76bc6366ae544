#!/usr/bin/env bash
# Soak: oxidot under a fixed load of all three signals for a while (default 10 minutes), its RSS
# sampled every 5 s. Not part of the test command: run it by hand and record the figures in
# BENCHMARKS.md. Writes target/soak/rss.csv and prints a summary: RSS after warm-up, at the end,
# the peak, and items sent, acknowledged and counted by the sink (lost = acknowledged − counted).
#
#   benches/soak.sh [seconds] [spans/s] [points/s] [records/s]
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-600}
SPANS=${2:-5000}
POINTS=${3:-2000}
RECORDS=${4:-2000}
WARMUP=60
OUT=target/soak
mkdir -p "$OUT"

cargo build --release -q --bin oxidot -p oxidot
cargo build --release -q -p oxidot-bench
BIN=target/release

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BIN/oxidot-sink" >"$OUT/sink.addr" 2>"$OUT/sink.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$OUT/sink.addr" ] && break; sleep 0.1; done
SINK=$(head -1 "$OUT/sink.addr")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC=$(free_port); METRICS=$(free_port); HEALTH=$(free_port)
cat >"$OUT/config.yaml" <<EOF
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:$GRPC }
processors:
  memory_limiter: { check_interval: 1s, limit_mib: 200, spike_limit_mib: 40 }
  batch: {}
exporters:
  otlp:
    endpoint: $SINK
    tls: { insecure: true }
extensions:
  health_check: { endpoint: 127.0.0.1:$HEALTH }
service:
  extensions: [health_check]
  telemetry:
    metrics: { address: 127.0.0.1:$METRICS }
  pipelines:
    traces: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp] }
    metrics: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp] }
    logs: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp] }
EOF
"$BIN/oxidot" --config "$OUT/config.yaml" 2>"$OUT/oxidot.log" &
OX=$!
pids+=($OX)
for _ in $(seq 100); do curl -sf "127.0.0.1:$HEALTH" >/dev/null && break; sleep 0.1; done

gen() { "$BIN/oxidot-loadgen" --json --endpoint "127.0.0.1:$GRPC" --signal "$1" --rate "$2" --total 0 \
  --duration "$SECS" --batch 100 --concurrency 2 >"$OUT/loadgen-$1.json" 2>/dev/null || true; }
gen traces "$SPANS" & g1=$!
gen metrics "$POINTS" & g2=$!
gen logs "$RECORDS" & g3=$!

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$OX/status"; }
echo "seconds,rss_kb" >"$OUT/rss.csv"
start=$(date +%s)
while kill -0 "$g1" 2>/dev/null || kill -0 "$g2" 2>/dev/null || kill -0 "$g3" 2>/dev/null; do
  echo "$(( $(date +%s) - start )),$(rss_kb)" >>"$OUT/rss.csv"
  sleep 5
done
wait "$g1" "$g2" "$g3" || true
sleep 3 # the last batches (batch timeout 200 ms) reach the sink
echo "$(( $(date +%s) - start )),$(rss_kb)" >>"$OUT/rss.csv"

python3 - "$OUT" "$WARMUP" <<'EOF'
import csv, json, sys, urllib.request
out, warm = sys.argv[1], int(sys.argv[2])
rows = [(int(r["seconds"]), int(r["rss_kb"])) for r in csv.DictReader(open(f"{out}/rss.csv"))]
after = [kb for s, kb in rows if s >= warm] or [rows[-1][1]]
addr = open(f"{out}/sink.addr").read().split()[0]
counts = json.load(urllib.request.urlopen(f"http://{addr}/counts"))
print(f"RSS MiB: after warm-up ({warm}s) {after[0]/1024:.1f}, end {rows[-1][1]/1024:.1f}, "
      f"min/max after warm-up {min(after)/1024:.1f}/{max(after)/1024:.1f}, samples {len(rows)}")
for sig, key in (("traces", "spans"), ("metrics", "data_points"), ("logs", "log_records")):
    g = json.load(open(f"{out}/loadgen-{sig}.json"))
    print(f"{sig}: sent {g['sent']}, acknowledged {g['acked']}, sink counted {counts[key]}, "
          f"lost {g['acked'] - counts[key]}, {g['items_per_second']:.0f}/s, p99 {g['latency_ms']['p99']:.2f} ms")
EOF
