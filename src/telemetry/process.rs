//! Process metrics (Go: service/internal/proctelemetry/process_telemetry.go): uptime, CPU
//! seconds and resident memory from procfs, and the three `otelcol_process_runtime_*` metrics Go
//! reads from runtime.MemStats, mapped onto oxidot's counting allocator (src/alloc.rs).

use super::metrics::{write_sample, Registry};
use super::names::*;
use std::fmt::Write as _;
use std::time::Instant;

/// Values sampled at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    /// Anonymous resident memory (`RssAnon`: heap, stacks, allocator arenas; no mapped files).
    pub rss_anon_bytes: Option<u64>,
}

/// Reads CPU time and RSS of this process (zeros where procfs is not available).
pub fn sample() -> ProcessSample {
    let mut s = ProcessSample::default();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the command name (which may contain spaces) start after ") ".
        if let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
            let ut = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let st = f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            s.cpu_seconds = (ut + st) as f64 / ticks;
        }
    }
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
        if let Some(rss_pages) = statm.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()) {
            s.rss_bytes = rss_pages * page;
        }
    }
    s.rss_anon_bytes = std::fs::read_to_string("/proc/self/status").ok().and_then(|st| rss_anon(&st));
    s
}

/// `RssAnon:   1234 kB` of /proc/self/status, in bytes.
fn rss_anon(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kb = line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    Some(kb * 1024)
}

/// Renders the process metrics and `target_info`.
pub fn render(
    out: &mut String,
    started: Instant,
    with_suffixes: bool,
    target_labels: &[(&'static str, String)],
    _reg: &Registry,
) {
    let s = sample();
    let (uptime, cpu, rss) = if with_suffixes {
        (
            "otelcol_process_uptime_seconds_total",
            "otelcol_process_cpu_seconds_total",
            "otelcol_process_memory_rss_bytes",
        )
    } else {
        (PROCESS_UPTIME, PROCESS_CPU_SECONDS, PROCESS_MEMORY_RSS)
    };
    // HELP texts as the collector's generated telemetry (service/internal/metadata) declares them.
    let _ = writeln!(out, "# HELP {cpu} Total CPU user and system time in seconds [Alpha]\n# TYPE {cpu} counter");
    write_sample(out, cpu, "", &[], None, s.cpu_seconds);
    let _ = writeln!(out, "# HELP {rss} Total physical memory (resident set size) [Alpha]\n# TYPE {rss} gauge");
    write_sample(out, rss, "", &[], None, s.rss_bytes as f64);
    render_runtime(out, with_suffixes, &s);
    render_export_budget(out);
    let _ = writeln!(out, "# HELP {uptime} Uptime of the process [Alpha]\n# TYPE {uptime} counter");
    write_sample(out, uptime, "", &[], None, started.elapsed().as_secs_f64());
    let _ = writeln!(out, "# HELP {TARGET_INFO} Target metadata\n# TYPE {TARGET_INFO} gauge");
    write_sample(out, TARGET_INFO, "", target_labels, None, 1.0);
}

/// The export budget (oxidot's own, no Go equivalent): bytes held against it, its high-water
/// mark and its size.
fn render_export_budget(out: &mut String) {
    let b = crate::memory::export_budget::global();
    for (name, help, v) in [
        (OXIDOT_EXPORTER_HELD_BYTES, "Protobuf bytes the exporters hold in memory (queued and being sent)", b.held()),
        (OXIDOT_EXPORTER_HELD_BYTES_PEAK, "The most protobuf bytes the exporters held at once", b.peak()),
        (OXIDOT_EXPORTER_HELD_BYTES_LIMIT, "The exporters' memory budget (--export-budget-mib)", b.limit()),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        write_sample(out, name, "", &[], None, v as f64);
    }
}

/// The Go runtime's MemStats metrics (proctelemetry `updateAllocMem`, `updateTotalAllocMem`,
/// `updateSysMem`), printed only when the counting allocator is installed (the binary always
/// installs it):
/// - `heap_alloc_bytes` (HeapAlloc, gauge) = heap bytes in use now;
/// - `total_alloc_bytes` (TotalAlloc, counter) = heap bytes allocated since start;
/// - `total_sys_memory_bytes` (Sys, gauge) = anonymous resident memory (RssAnon: heap, allocator
///   arenas, thread stacks), the memory the process holds from the OS for its own data; RSS where
///   RssAnon is not available.
fn render_runtime(out: &mut String, with_suffixes: bool, s: &ProcessSample) {
    let (Some(heap), Some(total)) = (crate::alloc::heap_in_use(), crate::alloc::total_allocated()) else {
        return;
    };
    let sys = s.rss_anon_bytes.unwrap_or(s.rss_bytes);
    // With type suffixes the counter gets `_total`; the `_bytes` unit suffix is already there.
    let total_name =
        if with_suffixes { "otelcol_process_runtime_total_alloc_bytes_total" } else { PROCESS_RUNTIME_TOTAL_ALLOC };
    for (name, help, typ, v) in [
        (
            PROCESS_RUNTIME_HEAP_ALLOC,
            "Bytes of allocated heap objects (see 'go doc runtime.MemStats.HeapAlloc') [Alpha]",
            "gauge",
            heap,
        ),
        (
            total_name,
            "Cumulative bytes allocated for heap objects (see 'go doc runtime.MemStats.TotalAlloc') [Alpha]",
            "counter",
            total,
        ),
        (
            PROCESS_RUNTIME_TOTAL_SYS,
            "Total bytes of memory obtained from the OS (see 'go doc runtime.MemStats.Sys') [Alpha]",
            "gauge",
            sys,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {typ}");
        write_sample(out, name, "", &[], None, v as f64);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_process() {
        let s = super::sample();
        assert!(s.rss_bytes > 1024 * 1024, "rss {}", s.rss_bytes);
        let anon = s.rss_anon_bytes.expect("RssAnon on linux");
        assert!(anon > 0 && anon <= s.rss_bytes, "anon {anon} rss {}", s.rss_bytes);
    }

    #[test]
    fn rss_anon_parses_status() {
        assert_eq!(super::rss_anon("VmRSS:\t  9000 kB\nRssAnon:\t    2048 kB\n"), Some(2048 * 1024));
        assert_eq!(super::rss_anon("VmRSS: 1 kB\n"), None);
    }
}
