//! Process metrics read from procfs: uptime, CPU seconds, resident memory.

use super::metrics::{write_sample, Registry};
use super::names::*;
use std::fmt::Write as _;
use std::time::Instant;

/// Values sampled at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
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
    s
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
    let _ = writeln!(out, "# HELP {cpu} Total CPU user and system time in seconds [alpha]\n# TYPE {cpu} counter");
    write_sample(out, cpu, "", &[], None, s.cpu_seconds);
    let _ = writeln!(out, "# HELP {rss} Total physical memory (resident set size) [alpha]\n# TYPE {rss} gauge");
    write_sample(out, rss, "", &[], None, s.rss_bytes as f64);
    let _ = writeln!(out, "# HELP {uptime} Uptime of the process [alpha]\n# TYPE {uptime} counter");
    write_sample(out, uptime, "", &[], None, started.elapsed().as_secs_f64());
    let _ = writeln!(out, "# HELP {TARGET_INFO} Target metadata\n# TYPE {TARGET_INFO} gauge");
    write_sample(out, TARGET_INFO, "", target_labels, None, 1.0);
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_process() {
        let s = super::sample();
        assert!(s.rss_bytes > 1024 * 1024, "rss {}", s.rss_bytes);
    }
}
