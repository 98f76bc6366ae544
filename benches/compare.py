#!/usr/bin/env python3
"""Side-by-side benchmark of oxidot and rotel (benches/compare.sh runs this).

For each workload and collector, RUNS times: a fresh counting sink (oxidot-sink) and a fresh
collector; idle RSS one second after it answers; then oxidot-loadgen sends the workload over 4
gRPC connections in 100-item requests; the collector's CPU (utime+stime from /proc/PID/stat) and
peak RSS (VmHWM) are read when the sink has counted everything acknowledged (or stopped moving).
Medians are written to BENCHMARKS.md and benches/compare.svg.
"""
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
RUNS = int(os.environ.get("RUNS", "3"))
SCALE = float(os.environ.get("SCALE", "1"))
ROTEL = os.environ.get("ROTEL", os.path.join(ROOT, "target", "peers", "rotel", "rotel-agent"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name, signal, items, oxidot config, rotel exporter args (None: oxidot alone), sink counter
WORKLOADS = [
    ("traces → OTLP", "traces", 1_000_000, "otlp.yaml", ["--exporter", "otlp"], "spans"),
    ("metrics → OTLP", "metrics", 600_000, "otlp.yaml", ["--exporter", "otlp"], "data_points"),
    ("logs → OTLP", "logs", 600_000, "otlp.yaml", ["--exporter", "otlp"], "log_records"),
    ("traces → X-Ray API", "traces", 300_000, "xray.yaml", ["--exporter", "aws-xray"], "xray_segments"),
    ("metrics → remote write", "metrics", 600_000, "remotewrite.yaml", None, "remote_write_samples"),
    ("logs → Loki", "logs", 600_000, "loki.yaml", None, "loki_entries"),
    # The gateway tier: CPU and RSS are the sidecar's plus its two gateways' (the whole path).
    ("traces → loadbalancing → 2 gateways → OTLP", "traces", 1_000_000, "lb.yaml", None, "spans"),
    # With oxidot-kafka-mock as the broker this row's loss is the mock's (it drops the oldest
    # messages of a partition under bulk load): see BENCHMARKS.md "Scaling out".
    ("traces → Kafka → gateway → OTLP", "traces", 1_000_000, "kafka.yaml", None, "spans"),
]

# Configs whose sidecar sends to a tier of oxidot gateways: (gateway config, how many, whether
# a Kafka broker, oxidot-kafka-mock, runs between them).
TIERED = {"lb.yaml": ("otlp.yaml", 2, False), "kafka.yaml": ("kafka-gateway.yaml", 1, True)}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def counts(addr):
    return json.load(urllib.request.urlopen(f"http://{addr}/counts", timeout=5))


def self_metric(port, name):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def start_collector(kind, config, rotel_args, sink, grpc_port, http_port, metrics_port, log, extra_env=None):
    env = dict(os.environ, **(extra_env or {}), BENCH_SINK=sink, BENCH_GRPC_PORT=str(grpc_port), BENCH_HTTP_PORT=str(http_port),
               BENCH_METRICS_PORT=str(metrics_port), AWS_ACCESS_KEY_ID="AKIDBENCH", AWS_SECRET_ACCESS_KEY="bench",
               AWS_REGION="us-east-1")
    if kind == "oxidot":
        cmd = [os.path.join(BIN, "oxidot"), "--config", os.path.join(ROOT, "benches", "configs", config)]
    else:
        cmd = [ROTEL, "start", "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
               "--otlp-http-endpoint", f"127.0.0.1:{http_port}", "--batch-max-size", "8192",
               "--batch-timeout", "200ms", *rotel_args]
        if "otlp" in rotel_args:
            cmd += ["--otlp-exporter-endpoint", f"http://{sink}", "--otlp-exporter-protocol", "grpc",
                    "--otlp-exporter-compression", "gzip"]
        else:
            cmd += ["--xray-exporter-custom-endpoint", f"http://{sink}"]
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=log)


def one_run(kind, workload, logdir, run):
    name, signal, items, config, rotel_args, counter = workload
    items = max(1000, int(items * SCALE))
    sink = subprocess.Popen([os.path.join(BIN, "oxidot-sink")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    addr = sink.stdout.readline().strip()
    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    tag = f"{kind}-{signal}-{config.split('.')[0]}-{run}"
    with open(os.path.join(logdir, tag + ".log"), "w") as log:
        gateways, extra = [], {}
        gw_config, n_gw, broker = TIERED.get(config, (None, 0, False))
        if broker:
            # The broker's CPU is not counted: it stands in for a Kafka cluster.
            kafka = subprocess.Popen([os.path.join(BIN, "oxidot-kafka-mock")], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
            extra["BENCH_KAFKA"] = kafka.stdout.readline().strip()
        for g in range(n_gw):
            gp = free_port()
            gateways.append(start_collector(kind, gw_config, None, addr, gp, free_port(), free_port(), log, extra))
            if not wait_port(gp):
                raise RuntimeError(f"gateway {g} did not listen on {gp}; see {log.name}")
            extra[f"BENCH_GW{g + 1}"] = f"127.0.0.1:{gp}"
        col = start_collector(kind, config, rotel_args, addr, grpc_port, http_port, metrics_port, log, extra)
        procs = [col, *gateways]
        try:
            if not wait_port(grpc_port):
                raise RuntimeError(f"{kind} did not listen on {grpc_port}; see {log.name}")
            time.sleep(1.0)
            idle_kb = sum(proc_status_kb(p.pid, "VmRSS") for p in procs)
            cpu0 = sum(proc_cpu_s(p.pid) for p in procs)
            t0 = time.time()
            lg = subprocess.run([os.path.join(BIN, "oxidot-loadgen"), "--json", "--signal", signal,
                                 "--endpoint", f"127.0.0.1:{grpc_port}", "--total", str(items), "--batch", "100",
                                 "--concurrency", "4"], capture_output=True, text=True, timeout=600)
            gen = json.loads(lg.stdout.strip().splitlines()[-1])
            # Wait until the sink has everything (or its count stops moving for 3 s).
            last, still = -1, 0
            while True:
                c = counts(addr)[counter]
                if counter in ("spans", "data_points", "log_records", "loki_entries", "xray_segments") and c >= gen["acked"]:
                    break
                still = still + 1 if c == last else 0
                # A tier behind a broker may pause while a gateway's queue drains: wait longer.
                if still >= (300 if config in TIERED else 30):
                    break
                last = c
                time.sleep(0.1)
            elapsed = time.time() - t0
            cpu = sum(proc_cpu_s(p.pid) for p in procs) - cpu0
            peak_kb = sum(proc_status_kb(p.pid, "VmHWM") for p in procs)
            delivered = counts(addr)[counter]
            if counter == "remote_write_samples":
                # Samples are not items (a histogram point is 13 series): loss from self-metrics.
                sent = (self_metric(metrics_port, "otelcol_exporter_sent_metric_points") or 0) + (self_metric(metrics_port, "otelcol_exporter_sent_metric_points_total") or 0)
                lost = gen["acked"] - sent
            else:
                lost = gen["acked"] - delivered
            return {
                "items_per_s": gen["acked"] / elapsed, "cpu_us_per_item": cpu * 1e6 / max(1, gen["acked"]),
                "idle_rss_mb": idle_kb / 1024, "peak_rss_mb": peak_kb / 1024, "lost": lost,
                "acked": gen["acked"], "sent": gen["sent"], "delivered": delivered,
            }
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
            sink.kill()
            if broker:
                kafka.kill()


def machine():
    model = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = proc_status_kb("self", "VmRSS")  # touch /proc to fail early off Linux
    del mem
    total = int(open("/proc/meminfo").readline().split()[1]) // 1024
    return f"{os.cpu_count()} cores ({model}), {total} MiB, Linux {platform.release()}"


def svg(rows, path):
    """Grouped bars: CPU µs per item for each workload, oxidot and rotel side by side."""
    w, h, left, top, bar = 760, 60 + 46 * len(rows), 200, 40, 16
    top_val = max(max(r["oxidot"]["cpu_us_per_item"], (r.get("rotel") or {}).get("cpu_us_per_item", 0)) for r in rows) or 1
    scale = (w - left - 80) / top_val
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<text x="{left}" y="20" font-size="14">Collector CPU per item (µs, lower is better), median of {RUNS} runs</text>']
    for i, r in enumerate(rows):
        y = top + i * 46
        out.append(f'<text x="{left - 8}" y="{y + 20}" text-anchor="end">{r["name"]}</text>')
        for j, (kind, color) in enumerate((("oxidot", "#d9480f"), ("rotel", "#1c7ed6"))):
            m = r.get(kind)
            if not m:
                continue
            v = m["cpu_us_per_item"]
            out.append(f'<rect x="{left}" y="{y + j * (bar + 2)}" width="{v * scale:.1f}" height="{bar}" fill="{color}"/>')
            out.append(f'<text x="{left + v * scale + 4:.1f}" y="{y + j * (bar + 2) + 12}">{kind} {v:.2f}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def main():
    logdir = os.path.join(ROOT, "target", "compare")
    os.makedirs(logdir, exist_ok=True)
    have_rotel = os.access(ROTEL, os.X_OK)
    rows = []
    only = os.environ.get("ONLY")  # e.g. ONLY="X-Ray" for one workload; the report then has just it
    for wl in [w for w in WORKLOADS if not only or only in w[0]]:
        row = {"name": wl[0]}
        kinds = ["oxidot"] + (["rotel"] if wl[4] is not None and have_rotel else [])
        for kind in kinds:
            runs = [one_run(kind, wl, logdir, i) for i in range(RUNS)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            med["lost_max"] = max(r["lost"] for r in runs)
            row[kind] = med
            print(f"{wl[0]:24} {kind:7} {med['items_per_s']:>10.0f}/s {med['cpu_us_per_item']:6.2f} µs/item "
                  f"idle {med['idle_rss_mb']:5.1f} MB peak {med['peak_rss_mb']:6.1f} MB lost {med['lost_max']:.0f}", flush=True)
        rows.append(row)
    write_report(rows)


def write_report(rows):
    lines = ["# Benchmarks", "",
             "Written by `benches/compare.sh` (do not edit by hand; the soak figures at the end are "
             "recorded by hand from `benches/soak.sh`).", "",
             f"- Machine: {machine()}",
             f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"- Command: `RUNS={RUNS} SCALE={SCALE:g} benches/compare.sh`; medians of {RUNS} runs",
             "- Load: `oxidot-loadgen --batch 100 --concurrency 4` over OTLP gRPC (items per workload below, "
             "times SCALE); collectors batch 8192 items / 200 ms; OTLP out is gRPC with gzip",
             f"- Peer: {rotel_version()} (`rotel-agent` from the PyPI wheel), flags in `benches/compare.py`",
             "- CPU per item: the collector's utime+stime over the run / items acknowledged; lost: acknowledged "
             "minus counted by the sink (remote write: minus `otelcol_exporter_sent_metric_points`)", "",
             "| workload | collector | items/s | CPU µs/item | idle RSS MB | peak RSS MB | lost (max of runs) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        for kind in ("oxidot", "rotel"):
            m = r.get(kind)
            if m:
                lines.append(f"| {r['name']} | {kind} | {m['items_per_s']:.0f} | {m['cpu_us_per_item']:.2f} | "
                             f"{m['idle_rss_mb']:.1f} | {m['peak_rss_mb']:.1f} | {m['lost_max']:.0f} |")
    lines += ["", "Ratios oxidot / rotel (below 1: oxidot uses less):", "",
              "| workload | CPU per item | peak RSS | idle RSS | items/s |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        o, p = r.get("oxidot"), r.get("rotel")
        if o and p:
            lines.append(f"| {r['name']} | {o['cpu_us_per_item'] / p['cpu_us_per_item']:.2f} | "
                         f"{o['peak_rss_mb'] / p['peak_rss_mb']:.2f} | {o['idle_rss_mb'] / p['idle_rss_mb']:.2f} | "
                         f"{o['items_per_s'] / p['items_per_s']:.2f} |")
    lines += ["", "Notes:", "",
              "- rotel's X-Ray exporter announces `Content-Encoding: gzip` and sends plain JSON (the sink takes it as "
              "JSON), and drops batches itself (its log: `Too many batch items split, dropping data`): its X-Ray "
              "row counts those as lost, and its CPU per item there covers less work.",
              "- Remote write samples are not items (a histogram point becomes 13 series), so that row's loss is read "
              "from oxidot's own `otelcol_exporter_sent_metric_points`.",
              f"- {os.environ.get('BENCH_NOTE', 'Nothing else ran on the machine during the runs.')}",
              "", "![CPU per item](benches/compare.svg)", ""]
    path = os.path.join(ROOT, "BENCHMARKS.md")
    # Sections other scripts write (or were recorded by hand) are kept, each up to the next heading.
    kept = []
    if os.path.exists(path):
        old = open(path).read()
        for head in ("\n## Soak", "\n## Quarter core", "\n## Targets missed", "\n## Scaling out"):
            if head in old:
                i = old.index(head) + 1
                j = old.find("\n## ", i)
                kept.append(old[i:j + 1 if j >= 0 else len(old)].rstrip("\n") + "\n")
    open(path, "w").write("\n".join(lines) + "".join("\n" + k for k in kept))
    svg(rows, os.path.join(ROOT, "benches", "compare.svg"))
    print("wrote BENCHMARKS.md and benches/compare.svg")


def rotel_version():
    try:
        return subprocess.run([ROTEL, "--version"], capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except OSError:
        return "not found"


if __name__ == "__main__":
    sys.exit(main())
