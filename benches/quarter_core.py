#!/usr/bin/env python3
"""oxidot on a quarter core (benches/quarter_core.sh runs this).

oxidot (benches/configs/otlp.yaml: OTLP gRPC in, batch, OTLP gRPC gzip out to oxidot-sink) runs
in a cgroup limited to 25000 µs of CPU every 100000 µs (v2 `cpu.max` or v1 `cpu.cfs_quota_us`,
whichever is writable). Three paced oxidot-loadgens send at once, for DURATION seconds, S times
the issue's target of 50k spans/s + 20k points/s + 20k log records/s. A step passes when, for every
signal, no request failed, the loadgen reached 97 % of its rate, the sink counted everything
acknowledged, and request latency p99 is under P99_MS. S doubles from 1 until a step fails (or
halves until one passes), then bisects: at most MAX_STEPS steps. Each step gets a fresh
collector and sink. The result replaces the "## Quarter core" section of BENCHMARKS.md.

Run twice: with the worker count oxidot picks from the quota (1), and with OXIDOT_WORKER_THREADS=2.
"""
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
CLK_TCK = os.sysconf("SC_CLK_TCK")
QUOTA, PERIOD = 25_000, 100_000
DURATION = int(os.environ.get("DURATION", "20"))
MAX_STEPS = int(os.environ.get("MAX_STEPS", "7"))
# Five CFS periods. A collector that keeps up answers within a period or two even when it is
# throttled (it waits out at most 75 ms of each 100 ms); one falling behind queues requests and
# p99 climbs past any bound within seconds. SDK exporters time out at 10 s, far above.
P99_MS = float(os.environ.get("P99_MS", "500"))
BATCH = int(os.environ.get("BATCH", "512"))  # the SDK batch processors' default export size
CONCURRENCY = int(os.environ.get("CONCURRENCY", "16"))
TARGET = [("traces", 50_000, "spans"), ("metrics", 20_000, "data_points"), ("logs", 20_000, "log_records")]


def mounts():
    v2 = v1 = None
    for line in open("/proc/self/mountinfo"):
        left, _, right = line.strip().partition(" - ")
        point, r = left.split(" ")[4], right.split(" ")
        if r[0] == "cgroup2" and v2 is None:
            v2 = point
        elif r[0] == "cgroup" and v1 is None and "cpu" in r[2].split(","):
            v1 = point
    return v2, v1


def make_cgroup(name):
    """A cgroup with the quota: (directory, "v1"|"v2"), or exit non-zero saying why not."""
    v2, v1 = mounts()
    why = []
    if v2:
        d = os.path.join(v2, name)
        try:
            os.mkdir(d)
            if os.path.exists(os.path.join(d, "cpu.max")):
                open(os.path.join(d, "cpu.max"), "w").write(f"{QUOTA} {PERIOD}")
                return d, "v2"
            os.rmdir(d)
            why.append(f"{v2} has no cpu controller")
        except OSError as e:
            why.append(f"cgroup v2 at {v2}: {e}")
    if v1:
        d = os.path.join(v1, name)
        try:
            os.mkdir(d)
            open(os.path.join(d, "cpu.cfs_period_us"), "w").write(str(PERIOD))
            open(os.path.join(d, "cpu.cfs_quota_us"), "w").write(str(QUOTA))
            return d, "v1"
        except OSError as e:
            why.append(f"cgroup v1 at {v1}: {e}")
    else:
        why.append("no cgroup v1 cpu hierarchy")
    sys.exit("quarter_core: no writable cgroup with a CPU quota: " + "; ".join(why or ["no cgroup fs"]))


def throttled(cg):
    """Periods the cgroup was throttled in, so far (cpu.stat)."""
    for line in open(os.path.join(cg, "cpu.stat")):
        k, v = line.split()
        if k == "nr_throttled":
            return int(v)
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / CLK_TCK


def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def counts(addr):
    return json.load(urllib.request.urlopen(f"http://{addr}/counts", timeout=5))


def step(scale, workers, cg, logdir):
    """One run at `scale` times the target; returns the measurements and whether it passed."""
    sink = subprocess.Popen([os.path.join(BIN, "oxidot-sink")], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    addr = sink.stdout.readline().strip()
    grpc, http, metrics = free_port(), free_port(), free_port()
    env = dict(os.environ, BENCH_SINK=addr, BENCH_GRPC_PORT=str(grpc), BENCH_HTTP_PORT=str(http),
               BENCH_METRICS_PORT=str(metrics))
    env.pop("GOMAXPROCS", None)
    env.pop("OXIDOT_WORKER_THREADS", None)
    if workers:
        env["OXIDOT_WORKER_THREADS"] = str(workers)
    log = open(os.path.join(logdir, f"oxidot-w{workers or 'auto'}-s{scale:g}.log"), "w")
    # The shell moves itself into the cgroup, then becomes oxidot (same pid).
    col = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec "$2" --config "$3"', "sh", cg,
                            os.path.join(BIN, "oxidot"), os.path.join(ROOT, "benches", "configs", "otlp.yaml")],
                           env=env, stdout=log, stderr=log)
    gens = []
    try:
        if not wait_port(grpc):
            raise RuntimeError(f"oxidot did not listen; see {log.name}")
        time.sleep(1.0)
        threads = sum(1 for t in os.listdir(f"/proc/{col.pid}/task")
                      if open(f"/proc/{col.pid}/task/{t}/comm").read().strip() in ("tokio-rt-worker", "tokio-runtime-w"))
        cpu0, thr0, t0 = cpu_s(col.pid), throttled(cg), time.time()
        for signal, rate, _ in TARGET:
            gens.append(subprocess.Popen(
                [os.path.join(BIN, "oxidot-loadgen"), "--json", "--signal", signal, "--endpoint", f"127.0.0.1:{grpc}",
                 "--rate", str(int(rate * scale)), "--duration", str(DURATION), "--total", "0",
                 "--batch", str(BATCH), "--concurrency", str(CONCURRENCY)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        results = [json.loads(g.communicate(timeout=DURATION + 120)[0].strip().splitlines()[-1]) for g in gens]
        # The sink has everything acknowledged, or its counts stopped moving for 5 s.
        last, still = None, 0
        while still < 50:
            c = counts(addr)
            if all(c[k] >= r["acked"] for (_, _, k), r in zip(TARGET, results)):
                break
            still = still + 1 if c == last else 0
            last = c
            time.sleep(0.1)
        wall = time.time() - t0
        cpu, thr = cpu_s(col.pid) - cpu0, throttled(cg) - thr0
        peak = status(col.pid, "VmHWM") / 1024
        c = counts(addr)
    finally:
        for g in gens:
            if g.poll() is None:
                g.kill()
        col.terminate()
        try:
            col.wait(30)
        except subprocess.TimeoutExpired:
            col.kill()
        sink.kill()
        log.close()
    retries = open(log.name).read().count("Exporting failed")
    row = {"scale": scale, "retries": retries, "workers": threads, "cpu_share": cpu / wall, "peak_rss_mb": peak, "throttled": thr,
           "signals": []}
    ok = True
    acked_total = 0
    for (signal, rate, key), r in zip(TARGET, results):
        target = rate * scale
        lost = r["acked"] - c[key]
        achieved = r["acked"] / max(r["seconds"], 1e-9)
        good = (r["failed_requests"] == 0 and lost == 0 and achieved >= 0.97 * target
                and r["latency_ms"]["p99"] <= P99_MS)
        ok = ok and good
        acked_total += r["acked"]
        row["signals"].append({"signal": signal, "target": target, "achieved": achieved, "acked": r["acked"],
                               "counted": c[key], "lost": lost, "failed_requests": r["failed_requests"],
                               "p99_ms": r["latency_ms"]["p99"], "ok": good})
    row["cpu_us_per_item"] = cpu * 1e6 / max(acked_total, 1)
    row["ok"] = ok
    print(f"  S={scale:<6g} workers={threads} cpu={row['cpu_share']:.2f} core throttled={thr} "
          f"peak={peak:.1f} MB retries={retries} {'PASS' if ok else 'FAIL'}: " +
          ", ".join(f"{s['signal']} {s['achieved']:.0f}/s lost {s['lost']} failed {s['failed_requests']} "
                    f"p99 {s['p99_ms']:.0f} ms" for s in row["signals"]), flush=True)
    return row


def search(workers, cg, logdir):
    """Doubling (or halving) from S=1, then bisection; at most MAX_STEPS runs."""
    rows, good, bad = [], None, None
    s = 1.0
    for _ in range(MAX_STEPS):
        r = step(s, workers, cg, logdir)
        rows.append(r)
        if r["ok"]:
            good = s
        else:
            bad = s
        if good is None:
            s = s / 2
        elif bad is None:
            s = s * 2
        else:
            if bad - good <= 0.125 * good:
                break
            s = round((good + bad) / 2, 3)
    return rows, good


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    total = int(open("/proc/meminfo").readline().split()[1]) // 1024
    return f"{os.cpu_count()} cores ({model}), {total} MiB, Linux {platform.release()}"


def rate_text(s):
    return " + ".join(f"{rate * s / 1000:.1f}k" for _, rate, _ in TARGET)


def report(cg_kind, runs):
    lines = ["## Quarter core", "",
             "Written by `benches/quarter_core.sh` (do not edit by hand). oxidot with "
             "`benches/configs/otlp.yaml` (OTLP gRPC in → batch 8192/200 ms → OTLP gRPC gzip out to oxidot-sink) "
             f"in a cgroup {cg_kind} limited to {QUOTA}/{PERIOD} µs (a quarter core); three paced oxidot-loadgens "
             f"at once for {DURATION} s each step, {BATCH}-item requests over {CONCURRENCY} connections per signal, "
             "S × (50k spans/s + 20k points/s + 20k log records/s). A step passes when no request failed, every "
             f"loadgen reached 97 % of its rate, the sink counted all that was acknowledged, and p99 ≤ {P99_MS:g} ms "
             "(five CFS periods: a collector that keeps up answers within one or two even when throttled). "
             "S doubles (or halves) from 1, then bisects.", "",
             f"- Machine: {machine()}; the loadgens and the sink run outside the cgroup on the same machine",
             f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"- Command: `benches/quarter_core.sh` (DURATION={DURATION} MAX_STEPS={MAX_STEPS}); "
             "CPU share: the collector's utime+stime over the step's wall time; throttled: CFS periods in which "
             "the cgroup was throttled", "",
             "| workers | S | spans/s | points/s | log records/s | p99 ms (t/m/l) | lost | failed requests | "
             "CPU (cores) | CPU µs/item | throttled periods | export retries | peak RSS MB | result |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    summary = []
    for label, (rows, good) in runs:
        for r in rows:
            sig = {s["signal"]: s for s in r["signals"]}
            lines.append(
                f"| {label} ({r['workers']}) | {r['scale']:g} | {sig['traces']['achieved']:.0f} | "
                f"{sig['metrics']['achieved']:.0f} | {sig['logs']['achieved']:.0f} | "
                + "/".join(f"{sig[k]['p99_ms']:.0f}" for k in ("traces", "metrics", "logs"))
                + f" | {sum(s['lost'] for s in r['signals'])} | {sum(s['failed_requests'] for s in r['signals'])} | "
                f"{r['cpu_share']:.2f} | {r['cpu_us_per_item']:.2f} | {r['throttled']} | {r['retries']} | {r['peak_rss_mb']:.1f} | "
                f"{'pass' if r['ok'] else 'fail'} |")
        summary.append(f"- {label}: " + (f"highest sustained S = {good:g}, {rate_text(good)} items/s "
                                         f"({(sum(r for _, r, _ in TARGET) * good):,.0f} items/s in all)"
                                         if good else "no step passed"))
    lines += ["", "Highest rate sustained with zero loss:", ""] + summary
    all_us = sorted(r["cpu_us_per_item"] for _, (rows, _) in runs for r in rows) or [0.0]
    us = all_us[len(all_us) // 2] or 1.0
    lines += ["", "Notes:", "",
              "- spans/s, points/s, log records/s: acknowledged over the loadgen's run; a loadgen paced above what is "
              "acknowledged falls behind (its 16 connections wait for answers), so failing steps show what got through.",
              "- lost: acknowledged minus counted by the sink. A negative figure is items counted twice: the throttled "
              "collector's OTLP exporter hit its 5 s timeout (the `export retries` column counts oxidot's "
              "`Exporting failed. Will retry` lines) and sent the batch again, at-least-once as Go's exporterhelper.",
              f"- The issue's target is S = 1 (90,000 items/s). At the median {us:.1f} µs of CPU per item measured "
              f"above, a quarter core (250,000 µs/s) handles about {250_000 / us:,.0f} items/s; S = 1 needs about "
              "2.8 µs per item. Closing the gap is CPU per item (see \"Targets missed\"), not runtime sizing.",
              f"- {os.environ.get('BENCH_NOTE', 'Nothing else ran on the machine during the runs.')}", ""]
    return "\n".join(lines)


def write(section):
    path = os.path.join(ROOT, "BENCHMARKS.md")
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    head = "\n## Quarter core"
    if head in old:
        i = old.index(head) + 1
        j = old.find("\n## ", i)
        old = old[:i] + (old[j + 1:] if j >= 0 else "")
    old = old.rstrip("\n") + "\n\n"
    open(path, "w").write(old + section)
    print("wrote the Quarter core section of BENCHMARKS.md")


def main():
    logdir = os.path.join(ROOT, "target", "quarter_core")
    os.makedirs(logdir, exist_ok=True)
    cg, kind = make_cgroup(f"oxidot-quarter-{os.getpid()}")
    runs = []
    try:
        for label, workers in (("quota-sized", None), ("forced", 2)):
            print(f"{label} workers ({'from the quota' if workers is None else f'OXIDOT_WORKER_THREADS={workers}'}):",
                  flush=True)
            runs.append((label, search(workers, cg, logdir)))
    finally:
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)
    write(report(f"{kind} (`{cg}`)", runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
