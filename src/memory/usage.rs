//! What the kernel charges for oxidot, which is what gets a container OOM-killed: the cgroup's
//! working set when oxidot is alone in its cgroup (a container whose main process it is), else
//! the process's resident set. Go's memorylimiter reads the Go heap instead; a heap count misses
//! allocator overhead, fragmentation and memory freed but kept by malloc, which is how a
//! `limit_mib: 50` collector reached 173 MB.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the kernel's charge for oxidot's cgroup is read from, when oxidot is alone in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// cgroup v2: `memory.current` minus `inactive_file` of `memory.stat`.
    V2(PathBuf),
    /// cgroup v1: `memory.usage_in_bytes` minus `total_inactive_file` of `memory.stat`.
    V1(PathBuf),
    /// The process's RSS (/proc/self/statm): the cgroup holds other processes too (a shared
    /// host or CI machine), so its charge is not oxidot's.
    Rss,
}

/// Decided once: a process does not change cgroup, and a check must be cheap.
pub fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        choose(&cgroup, std::process::id(), Path::new("/sys/fs/cgroup"), &|p| std::fs::read_to_string(p).ok())
    })
}

/// Picks the cgroup directory of `/proc/self/cgroup` (v2 `0::/path`, else v1 `N:memory:/path`;
/// inside a container without a cgroup namespace the path is not mounted and the mount's root
/// is the container's own cgroup) and uses it when `cgroup.procs` lists only `pid`.
pub fn choose(proc_cgroup: &str, pid: u32, root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Source {
    let alone = |dir: &Path| {
        read(&dir.join("cgroup.procs")).is_some_and(|procs| {
            let mut pids = procs.split_whitespace();
            pids.next().and_then(|p| p.parse::<u32>().ok()) == Some(pid) && pids.next().is_none()
        })
    };
    let pick = |base: PathBuf, rel: &str, file: &str| -> Option<PathBuf> {
        let rel = rel.trim_start_matches('/');
        [base.join(rel), base.clone()].into_iter().find(|d| read(&d.join(file)).is_some() && alone(d))
    };
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        if ctrl.is_empty() {
            if let Some(d) = pick(root.to_path_buf(), path, "memory.current") {
                return Source::V2(d);
            }
        } else if ctrl.split(',').any(|c| c == "memory") {
            if let Some(d) = pick(root.join("memory"), path, "memory.usage_in_bytes") {
                return Source::V1(d);
            }
        }
    }
    Source::Rss
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn stat_field(dir: &Path, key: &str) -> u64 {
    std::fs::read_to_string(dir.join("memory.stat"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Bytes charged now. Inactive page cache is left out (the kernel reclaims it before it kills;
/// the same "working set" kubelet and cAdvisor watch).
pub fn in_use() -> u64 {
    let cgroup = |dir: &Path, usage: &str, inactive: &str| {
        read_u64(&dir.join(usage)).map(|u| u.saturating_sub(stat_field(dir, inactive)))
    };
    match source() {
        Source::V2(d) => cgroup(d, "memory.current", "inactive_file"),
        Source::V1(d) => cgroup(d, "memory.usage_in_bytes", "total_inactive_file"),
        Source::Rss => None,
    }
    .unwrap_or_else(|| crate::telemetry::process::sample().rss_bytes)
}

/// Memory available to this process: the cgroup limit, else the host's memory.
pub fn total_memory() -> u64 {
    let read = |p: &str| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<u64>().ok());
    // cgroup v2 says "max" when unlimited; v1 says a huge number.
    if let Some(v) = read("/sys/fs/cgroup/memory.max") {
        return v;
    }
    if let Some(v) = read("/sys/fs/cgroup/memory/memory.limit_in_bytes").filter(|v| *v < (1 << 60)) {
        return v;
    }
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:").map(|r| r.trim().trim_end_matches("kB").trim().to_string()))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fs(files: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let m: BTreeMap<PathBuf, String> = files.iter().map(|(p, c)| (PathBuf::from(p), c.to_string())).collect();
        move |p: &Path| m.get(p).cloned()
    }

    #[test]
    fn the_cgroup_is_used_only_when_oxidot_is_alone_in_it() {
        let root = Path::new("/cg");
        // A container (cgroup namespace): v2, `0::/`, oxidot is PID 1 and alone.
        let read = fs(&[("/cg/memory.current", "100"), ("/cg/cgroup.procs", "1\n")]);
        assert_eq!(choose("0::/\n", 1, root, &read), Source::V2("/cg/".into()));
        // The same cgroup with a shell beside oxidot: its charge is not oxidot's.
        let read = fs(&[("/cg/memory.current", "100"), ("/cg/cgroup.procs", "1\n7\n")]);
        assert_eq!(choose("0::/\n", 1, root, &read), Source::Rss);
        // A v2 host: oxidot in its own systemd service cgroup.
        let read = fs(&[
            ("/cg/system.slice/o.service/memory.current", "5"),
            ("/cg/system.slice/o.service/cgroup.procs", "42"),
        ]);
        assert_eq!(
            choose("0::/system.slice/o.service\n", 42, root, &read),
            Source::V2("/cg/system.slice/o.service".into())
        );
        // v1 in a container without a cgroup namespace: the path is not mounted, the mount's
        // root is the container's cgroup.
        let read = fs(&[("/cg/memory/memory.usage_in_bytes", "5"), ("/cg/memory/cgroup.procs", "1")]);
        assert_eq!(choose("4:memory:/docker/abc\n0::/\n", 1, root, &read), Source::V1("/cg/memory".into()));
        // This machine's shape: v1, a cgroup shared with other processes.
        let read = fs(&[("/cg/memory/p/memory.usage_in_bytes", "5"), ("/cg/memory/p/cgroup.procs", "3\n9\n11")]);
        assert_eq!(choose("4:memory:/p\n0::/\n", 9, root, &read), Source::Rss);
        assert_eq!(choose("", 1, root, &read), Source::Rss);
    }

    #[test]
    fn in_use_reads_something() {
        assert!(in_use() > 1024 * 1024);
        assert!(total_memory() > 0);
    }
}
