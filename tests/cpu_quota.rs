//! The real binary inside a cgroup with a CPU quota starts one async worker per (rounded-up)
//! CPU of quota, says so once at start, and obeys OXIDOT_WORKER_THREADS and GOMAXPROCS.
//! Needs a writable cgroup fs (v1 `cpu` or v2 with the cpu controller); skips, saying why, without.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A cgroup made for one case, removed when dropped.
struct Cgroup {
    dir: PathBuf,
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // The process was killed and reaped first; a few tries while the kernel lets go of it.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Mount points of the cgroup v2 hierarchy and of the v1 hierarchy holding `cpu`.
fn mounts() -> (Option<PathBuf>, Option<PathBuf>) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let (mut v2, mut v1) = (None, None);
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let point = left.split(' ').nth(4).map(PathBuf::from);
        let r: Vec<&str> = right.split(' ').collect();
        match (r.first(), r.get(2)) {
            (Some(&"cgroup2"), _) if v2.is_none() => v2 = point,
            (Some(&"cgroup"), Some(opts)) if v1.is_none() && opts.split(',').any(|o| o == "cpu") => v1 = point,
            _ => {}
        }
    }
    (v2, v1)
}

/// A new cgroup limited to `quota`/100000 µs, v2 if it has the cpu controller, else v1;
/// `Err` says why neither could be made.
fn cgroup(name: &str, quota: u64) -> Result<Cgroup, String> {
    let (v2, v1) = mounts();
    let name = format!("oxtest-{}-{name}", std::process::id());
    let mut why = Vec::new();
    if let Some(root) = v2 {
        let dir = root.join(&name);
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                let cg = Cgroup { dir };
                if cg.dir.join("cpu.max").exists() {
                    std::fs::write(cg.dir.join("cpu.max"), format!("{quota} 100000")).map_err(|e| e.to_string())?;
                    return Ok(cg);
                }
                why.push(format!("{} has no cpu controller", root.display()));
            }
            Err(e) => why.push(format!("cannot create {}: {e}", dir.display())),
        }
    }
    if let Some(root) = v1 {
        let dir = root.join(&name);
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                let cg = Cgroup { dir };
                let w = |f: &str, v: &str| std::fs::write(cg.dir.join(f), v).map_err(|e| format!("{f}: {e}"));
                w("cpu.cfs_period_us", "100000")?;
                w("cpu.cfs_quota_us", &quota.to_string())?;
                return Ok(cg);
            }
            Err(e) => why.push(format!("cannot create {}: {e}", dir.display())),
        }
    } else {
        why.push("no cgroup v1 cpu hierarchy".into());
    }
    Err(why.join("; "))
}

/// Threads of `pid` named as tokio names its workers (no blocking-pool thread runs in this
/// config: no DNS, no file storage, no resource detection).
fn workers(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| matches!(c.trim(), "tokio-rt-worker" | "tokio-runtime-w"))
        .count()
}

/// Runs oxidot in a cgroup with `quota` and `env`; returns its start-up log and worker count.
fn run(case: &str, quota: u64, env: &[(&str, &str)]) -> Result<(String, usize), String> {
    let cg = cgroup(case, quota)?;
    let yaml = yaml(support::free_port());
    let log = tempfile::NamedTempFile::new().unwrap();
    // The shell moves itself into the cgroup, then becomes oxidot.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"echo $$ > "$1/cgroup.procs" && exec "$2" --config "yaml:$3""#)
        .args(["sh", &cg.dir.display().to_string(), &support::bin().display().to_string(), &yaml])
        .env_remove("AOT_CONFIG_CONTENT")
        .env_remove("GOMAXPROCS")
        .env_remove("OXIDOT_WORKER_THREADS")
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let end = Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    while Instant::now() < end {
        text = std::fs::read_to_string(log.path()).unwrap_or_default();
        if text.contains("Everything is ready") || child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let n = workers(pid);
    let _ = child.kill();
    let _ = child.wait();
    if !text.contains("Everything is ready") {
        return Err(format!("oxidot did not start in the cgroup:\n{text}"));
    }
    Ok((text, n))
}

fn yaml(port: u16) -> String {
    format!(
        "receivers: {{otlp: {{protocols: {{grpc: {{endpoint: '127.0.0.1:{port}'}}}}}}}}\nexporters: {{debug: {{}}}}\n\
         service: {{pipelines: {{traces: {{receivers: [otlp], exporters: [debug]}}}}, telemetry: {{metrics: {{level: none}}}}}}"
    )
}

fn sized_line(log: &str) -> String {
    log.lines().find(|l| l.contains("Sized the async runtime")).unwrap_or("").to_string()
}

/// Name, quota (µs per 100000), environment, expected workers, expected `from`.
type Case = (&'static str, u64, Vec<(&'static str, &'static str)>, usize, &'static str);

#[test]
fn a_cpu_quota_sizes_the_worker_threads_and_the_overrides_win() {
    if let Err(why) = cgroup("probe", 25_000) {
        println!("skipped: no writable cgroup with a CPU quota here ({why})");
        return;
    }
    let mut cases: Vec<Case> = vec![
        ("quarter", 25_000, vec![], 1, "cgroup CPU quota 25000/100000"),
        ("env", 25_000, vec![("OXIDOT_WORKER_THREADS", "2")], 2, "OXIDOT_WORKER_THREADS=2"),
        ("go", 25_000, vec![("GOMAXPROCS", "3")], 3, "GOMAXPROCS=3"),
    ];
    if affinity_at_least(2) {
        // 1.5 CPUs round up to 2 (std's available_parallelism rounds down to 1).
        cases.push(("one-and-a-half", 150_000, vec![], 2, "2 CPUs in the affinity mask"));
    } else {
        println!("the 1.5-CPU case needs 2 CPUs in the affinity mask; not run");
    }
    // Concurrently: each case waits for its process's start.
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, quota, env, want, from)| s.spawn(move || (name, run(name, *quota, env), *want, *from)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, got, want, from) in results {
        let (log, threads) = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        let line = sized_line(&log);
        assert!(line.contains(&format!("\"worker_threads\": {want},")), "{name}: {line:?}\n{log}");
        assert!(line.contains(from), "{name}: {line:?}");
        assert_eq!(threads, want, "{name}: tokio worker threads in /proc");
        assert_eq!(log.matches("Sized the async runtime").count(), 1, "{name}: logged once");
    }
}

#[test]
fn a_bad_worker_thread_override_stops_the_start_with_a_clear_error() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(support::bin())
        .args(["--config", &format!("yaml:{}", yaml(support::free_port()))])
        .env_remove("AOT_CONFIG_CONTENT")
        .env("OXIDOT_WORKER_THREADS", "lots")
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    // Bounded: a binary that ignored the variable would run on.
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert!(
        stderr.contains("Error: OXIDOT_WORKER_THREADS must be a whole number from 1 to 1024, not \"lots\""),
        "{stderr}"
    );
}

fn affinity_at_least(n: usize) -> bool {
    // The Cpus_allowed_list of /proc/self/status, e.g. "0-1" or "0,2".
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or("").trim().to_string();
    let count: usize = list
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap_or(0).saturating_sub(a.parse().unwrap_or(0)) + 1,
            None => 1,
        })
        .sum();
    count >= n
}
