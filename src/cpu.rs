//! How many CPUs oxidot may use, and so how many async worker threads it starts: a 0.25-vCPU
//! Fargate sidecar must not run two workers that fight over a quarter core.
//!
//! The order: `OXIDOT_WORKER_THREADS`, then `GOMAXPROCS` (what deployments of the Go collector
//! already set, often from the container's CPU limit), then the cgroup CPU quota rounded up,
//! then the CPUs in the affinity mask (taskset, cpusets).

use std::path::{Path, PathBuf};

/// oxidot's own override of the worker count.
pub const WORKER_THREADS_ENV: &str = "OXIDOT_WORKER_THREADS";
/// Go's `_MaxGomaxprocs`: the largest count either variable may ask for.
const MAX_WORKERS: usize = 1024;

/// The worker count and where it came from (for the start-up log line).
#[derive(Debug, Clone, PartialEq)]
pub struct Workers {
    pub count: usize,
    pub from: String,
    /// Something ignored on the way (an unusable `GOMAXPROCS`), logged as a warning.
    pub warning: Option<String>,
}

/// A CPU bandwidth limit: `quota` µs of CPU time every `period` µs, read from `file`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    pub quota: u64,
    pub period: u64,
    pub file: PathBuf,
}

impl Quota {
    /// Whole CPUs, rounded up (Go's `adjustCgroupGOMAXPROCS` rounds up too), at least 1.
    fn cpus(&self) -> usize {
        (self.quota.div_ceil(self.period.max(1)) as usize).max(1)
    }
}

/// Go's runtime.NumCPU: the CPUs in this process's affinity mask (cgroup quotas not applied).
pub fn affinity_cpus() -> usize {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for this process.
    let n = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set) as usize
        } else {
            0
        }
    };
    if n > 0 {
        n
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// The worker count for this process, from its environment and cgroups. An unusable
/// `OXIDOT_WORKER_THREADS` is an error (it is oxidot's own setting; the operator meant something).
pub fn workers() -> Result<Workers, String> {
    let env = |k: &str| std::env::var(k).ok();
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let quota = || {
        let cgroup = read(Path::new("/proc/self/cgroup")).unwrap_or_default();
        let mounts = read(Path::new("/proc/self/mountinfo")).unwrap_or_default();
        cgroup_quota(&cgroup, &mounts, &read)
    };
    decide(env(WORKER_THREADS_ENV).as_deref(), env("GOMAXPROCS").as_deref(), quota, affinity_cpus())
}

/// The decision, apart from where its inputs come from.
pub fn decide(
    own: Option<&str>,
    gomaxprocs: Option<&str>,
    quota: impl FnOnce() -> Option<Quota>,
    cpus: usize,
) -> Result<Workers, String> {
    let positive = |v: &str| v.trim().parse::<usize>().ok().filter(|n| *n > 0);
    if let Some(v) = own {
        return match positive(v).filter(|n| *n <= MAX_WORKERS) {
            Some(count) => Ok(Workers { count, from: format!("{WORKER_THREADS_ENV}={count}"), warning: None }),
            None => Err(format!("{WORKER_THREADS_ENV} must be a whole number from 1 to {MAX_WORKERS}, not {v:?}")),
        };
    }
    let mut warning = None;
    if let Some(v) = gomaxprocs {
        // Go's schedinit: a positive whole number is used as given (up to its maximum);
        // anything else is ignored.
        match positive(v) {
            Some(n) => return Ok(Workers { count: n.min(MAX_WORKERS), from: format!("GOMAXPROCS={v}"), warning }),
            None => warning = Some(format!("GOMAXPROCS={v:?} ignored: not a positive whole number")),
        }
    }
    let cpus = cpus.max(1);
    Ok(match quota() {
        Some(q) if q.cpus() < cpus => Workers {
            count: q.cpus(),
            from: format!("cgroup CPU quota {}/{} ({})", q.quota, q.period, q.file.display()),
            warning,
        },
        _ => Workers { count: cpus, from: format!("{cpus} CPUs in the affinity mask"), warning },
    })
}

/// The tightest CPU quota on the way from this process's cgroup up to the hierarchy's root,
/// cgroup v2 (`cpu.max`) and v1 (`cpu.cfs_quota_us`, `cpu.cfs_period_us`). `proc_cgroup` and
/// `mountinfo` are /proc/self/cgroup and /proc/self/mountinfo. Go: internal/runtime/cgroup.
pub fn cgroup_quota(proc_cgroup: &str, mountinfo: &str, read: &dyn Fn(&Path) -> Option<String>) -> Option<Quota> {
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let v2 = |dir: &Path| {
        let file = dir.join("cpu.max");
        let text = read(&file)?;
        let mut it = text.split_whitespace();
        // "max 100000" is no limit; a missing period means the default 100000.
        let quota = num(it.next()?)?;
        let period = it.next().map_or(Some(100_000), num)?;
        (quota > 0 && period > 0).then_some(Quota { quota, period, file })
    };
    let v1 = |dir: &Path| {
        let file = dir.join("cpu.cfs_quota_us");
        // -1 is no limit: it does not parse as u64.
        let quota = num(&read(&file)?)?;
        let period = num(&read(&dir.join("cpu.cfs_period_us"))?)?;
        (quota > 0 && period > 0).then_some(Quota { quota, period, file })
    };
    let mut best: Option<Quota> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let found = if ctrl.is_empty() {
            mount(mountinfo, |fs, _| fs == "cgroup2").and_then(|m| tightest(&m, path, &v2))
        } else if ctrl.split(',').any(|c| c == "cpu") {
            mount(mountinfo, |fs, opts| fs == "cgroup" && opts.split(',').any(|o| o == "cpu"))
                .and_then(|m| tightest(&m, path, &v1))
        } else {
            None
        };
        if let Some(q) = found {
            best = tighter(best, q);
        }
    }
    best
}

/// The smaller of two limits (compared as fractions, without rounding).
fn tighter(best: Option<Quota>, q: Quota) -> Option<Quota> {
    match best {
        Some(b) if (b.quota as u128) * (q.period as u128) <= (q.quota as u128) * (b.period as u128) => Some(b),
        _ => Some(q),
    }
}

/// A cgroup mount: where it is mounted and which cgroup its root is.
struct Mount {
    point: PathBuf,
    root: String,
}

/// The first mount in `mountinfo` whose filesystem type and super options `want` accepts.
fn mount(mountinfo: &str, want: impl Fn(&str, &str) -> bool) -> Option<Mount> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let f: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        let (root, point) = (f.get(3)?, f.get(4)?);
        let (fs, opts) = (r.first()?, r.get(2).copied().unwrap_or(""));
        // mountinfo escapes spaces and the like as \040; cgroup mounts have none in practice.
        want(fs, opts).then(|| Mount { point: PathBuf::from(point), root: root.to_string() })
    })
}

/// The tightest limit `at` finds in the process's cgroup directory and each parent up to the
/// mount point. Without a cgroup namespace the path may lie outside the mount's root; then the
/// mount point itself (the container's own cgroup) is read.
fn tightest(m: &Mount, path: &str, at: &dyn Fn(&Path) -> Option<Quota>) -> Option<Quota> {
    let rel = match path.strip_prefix(m.root.trim_end_matches('/')) {
        Some(r) if r.is_empty() || r.starts_with('/') => r.trim_start_matches('/'),
        _ => "",
    };
    let mut dir = m.point.join(rel);
    let mut best: Option<Quota> = None;
    loop {
        if let Some(q) = at(&dir) {
            best = tighter(best, q);
        }
        if dir == m.point || !dir.pop() || !dir.starts_with(&m.point) {
            return best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(quota: u64, period: u64) -> Option<Quota> {
        Some(Quota { quota, period, file: PathBuf::from("/x/cpu.max") })
    }

    #[test]
    fn the_count_comes_from_the_override_then_gomaxprocs_then_the_quota_then_the_cpus() {
        let d = |own, go, quota: Option<Quota>, cpus| decide(own, go, || quota, cpus).map(|w| w.count);
        assert_eq!(d(Some("3"), Some("5"), q(25_000, 100_000), 8), Ok(3));
        assert_eq!(d(None, Some("5"), q(25_000, 100_000), 8), Ok(5));
        assert_eq!(d(None, Some("5000"), None, 8), Ok(1024));
        // A quarter core is one worker; 1.5 cores round up to 2; the affinity mask caps it.
        assert_eq!(d(None, None, q(25_000, 100_000), 8), Ok(1));
        assert_eq!(d(None, None, q(150_000, 100_000), 8), Ok(2));
        assert_eq!(d(None, None, q(800_000, 100_000), 2), Ok(2));
        assert_eq!(d(None, None, None, 4), Ok(4));
        assert_eq!(d(None, None, None, 0), Ok(1));
        let w = decide(None, None, || q(25_000, 100_000), 2).unwrap();
        assert_eq!(w.from, "cgroup CPU quota 25000/100000 (/x/cpu.max)");
    }

    #[test]
    fn a_bad_override_is_an_error_and_a_bad_gomaxprocs_is_ignored_with_a_warning() {
        for bad in ["0", "", "two", "-1", "1025"] {
            let e = decide(Some(bad), None, || None, 2).unwrap_err();
            assert!(e.contains(WORKER_THREADS_ENV) && e.contains("1 to 1024"), "{e}");
        }
        let w = decide(None, Some("lots"), || q(25_000, 100_000), 2).unwrap();
        assert_eq!(w.count, 1);
        assert!(w.warning.unwrap().contains("GOMAXPROCS=\"lots\" ignored"));
    }

    /// A fake /sys/fs/cgroup in a temp dir: `files` are (path under it, content).
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        }
        dir
    }

    fn read(p: &Path) -> Option<String> {
        std::fs::read_to_string(p).ok()
    }

    fn mountinfo(root: &Path, v2_root: &str, v1_root: &str) -> String {
        let r = root.display();
        format!(
            "25 30 0:22 / /proc rw - proc proc rw\n\
             31 25 0:26 {v2_root} {r}/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n\
             32 25 0:27 {v1_root} {r}/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n\
             33 25 0:28 / {r}/cpuset rw,nosuid - cgroup cgroup rw,cpuset\n"
        )
    }

    #[test]
    fn cgroup_v2_cpu_max_is_read_at_the_process_cgroup_and_its_parents() {
        let t = tree(&[
            ("unified/cpu.max", "max 100000\n"),
            ("unified/pod/cpu.max", "50000 100000\n"),
            ("unified/pod/app/cpu.max", "max 100000\n"),
        ]);
        let mi = mountinfo(t.path(), "/", "/");
        let got = cgroup_quota("0::/pod/app\n", &mi, &read).unwrap();
        assert_eq!((got.quota, got.period), (50_000, 100_000));
        assert_eq!(got.file, t.path().join("unified/pod/cpu.max"));
        // "max" everywhere: no limit.
        assert_eq!(cgroup_quota("0::/\n", &mi, &read), None);
        // A quota without a period uses the kernel's default period.
        let t = tree(&[("unified/cpu.max", "25000\n")]);
        let got = cgroup_quota("0::/\n", &mountinfo(t.path(), "/", "/"), &read).unwrap();
        assert_eq!((got.quota, got.period), (25_000, 100_000));
    }

    #[test]
    fn cgroup_v1_cfs_quota_and_period_and_a_mount_root_outside_the_namespace() {
        let t = tree(&[
            ("cpu,cpuacct/cpu.cfs_quota_us", "-1\n"),
            ("cpu,cpuacct/cpu.cfs_period_us", "100000\n"),
            ("cpu,cpuacct/box/cpu.cfs_quota_us", "25000\n"),
            ("cpu,cpuacct/box/cpu.cfs_period_us", "100000\n"),
        ]);
        let mi = mountinfo(t.path(), "/", "/");
        let cg = "12:cpuset:/\n4:cpu,cpuacct:/box\n0::/\n";
        let got = cgroup_quota(cg, &mi, &read).unwrap();
        assert_eq!(
            (got.quota, got.period, got.file.clone()),
            (25_000, 100_000, t.path().join("cpu,cpuacct/box/cpu.cfs_quota_us"))
        );
        // Docker without a cgroup namespace: the mount's root is the container's cgroup.
        let mi = mountinfo(t.path(), "/", "/docker/abc");
        assert_eq!(cgroup_quota("4:cpu,cpuacct:/docker/abc\n", &mi, &read).map(|q| q.quota), None);
        let t = tree(&[("cpu,cpuacct/cpu.cfs_quota_us", "50000"), ("cpu,cpuacct/cpu.cfs_period_us", "100000")]);
        let mi = mountinfo(t.path(), "/", "/docker/abc");
        assert_eq!(cgroup_quota("4:cpu,cpuacct:/docker/abc\n", &mi, &read).map(|q| q.quota), Some(50_000));
    }

    #[test]
    fn the_tighter_of_v1_and_v2_wins_and_malformed_files_are_no_limit() {
        let t = tree(&[
            ("unified/cpu.max", "200000 100000"),
            ("cpu,cpuacct/cpu.cfs_quota_us", "30000"),
            ("cpu,cpuacct/cpu.cfs_period_us", "100000"),
        ]);
        let mi = mountinfo(t.path(), "/", "/");
        assert_eq!(cgroup_quota("4:cpu,cpuacct:/\n0::/\n", &mi, &read).map(|q| q.quota), Some(30_000));
        for bad in ["", "lots 100000", "25000 0", "0 100000", "25000 x", "-5 100000"] {
            let t = tree(&[("unified/cpu.max", bad)]);
            let mi = mountinfo(t.path(), "/", "/");
            assert_eq!(cgroup_quota("0::/\n", &mi, &read), None, "{bad:?}");
        }
        let t = tree(&[("cpu,cpuacct/cpu.cfs_quota_us", "25000"), ("cpu,cpuacct/cpu.cfs_period_us", "soon")]);
        assert_eq!(cgroup_quota("4:cpu,cpuacct:/\n", &mountinfo(t.path(), "/", "/"), &read), None);
        // No cgroup files, no mounts, garbage lines: no limit, no panic.
        assert_eq!(cgroup_quota("garbage\n4:cpu:/x\n", "nonsense\n", &read), None);
    }
}
