//! Storage for persistent sending queues: the segment log (`log.rs`, `ack.rs`), the trait a
//! storage extension (file_storage) gives exporters, and the per-client directory and lock.
//! Names no component: exporters and the extension both reach it.

pub mod ack;
pub mod log;

use futures::future::BoxFuture;
use log::{LogOptions, OpenReport, QueueLog};
use std::collections::HashMap;
use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A queue log opened for one client, with its lock held for as long as it lives.
pub struct OpenedLog {
    pub log: QueueLog,
    pub report: OpenReport,
    /// The most disk the log may use.
    pub max_bytes: u64,
    pub dir: PathBuf,
    _lock: File,
    /// This process's claim on the directory; dropped after `_lock` (fields drop in order), so
    /// the next in-process opener finds the flock free.
    _claim: Option<OwnedSemaphorePermit>,
}

/// What a storage extension gives exporters (Go: storage.Extension `GetClient`).
pub trait Storage: Send + Sync {
    /// The queue of `client` (`exporter_<type>_<name>_<signal>`, see [`client_name`]).
    fn open_queue(&self, client: &str) -> Result<OpenedLog, String>;
    /// Whether `client`'s queue is open in this process already (a reload's old generation).
    fn queue_open_here(&self, client: &str) -> bool;
    /// Opens `client`'s queue once this process's current holder releases it.
    fn open_queue_after_release(&self, client: &str) -> BoxFuture<'static, Result<OpenedLog, String>>;
}

/// The client name Go's filestorage gives a component's file: `<kind>_<type>_<name>`, here
/// with the signal as the name (Go: persistent_queue.go `toStorageClient`).
pub fn client_name(kind: &str, type_: &str, name: &str, signal: &str) -> String {
    format!("{kind}_{}_{}_{signal}", sanitize(type_), sanitize(name))
}

/// Go filestorage's `sanitize`: anything but `[A-Za-z0-9._-]` (so `~` too) becomes `~` and
/// four hex digits of its code point.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            out.push(c);
        } else {
            out.push_str(&format!("~{:04X}", c as u32));
        }
    }
    out
}

/// How to open a client's log.
pub struct OpenSettings {
    pub directory: PathBuf,
    pub create_directory: bool,
    pub mode: u32,
    pub lock_timeout: Duration,
    pub log: LogOptions,
    pub max_bytes: u64,
}

/// Client directories open in this process, one permit each: a reload's new exporter waits
/// (first come, first served) for the old one to release a directory instead of failing on
/// the `flock` its own process holds. Keyed by the directory as configured.
fn claim(dir: &Path) -> Arc<Semaphore> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Arc<Semaphore>>>> = OnceLock::new();
    let mut m = OPEN.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    Arc::clone(m.entry(dir.to_path_buf()).or_insert_with(|| Arc::new(Semaphore::new(1))))
}

/// Whether `<directory>/<client>` is open in this process.
pub fn open_here(s: &OpenSettings, client: &str) -> bool {
    claim(&s.directory.join(client)).available_permits() == 0
}

/// Opens `<directory>/<client>`, creating what is needed and locking it. Another process
/// holding it (or this one: `flock` locks are per open file) makes it wait `lock_timeout`, then fail.
pub fn open(s: &OpenSettings, client: &str) -> Result<OpenedLog, String> {
    let claim = claim(&s.directory.join(client)).try_acquire_owned().ok();
    open_claimed(s, client, claim)
}

/// Opens `<directory>/<client>` once this process's holder has released it; another process
/// holding it still fails after `lock_timeout`.
pub async fn open_after_release(s: OpenSettings, client: String) -> Result<OpenedLog, String> {
    let claim = claim(&s.directory.join(&client)).acquire_owned().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || open_claimed(&s, &client, Some(claim)))
        .await
        .map_err(|e| format!("opening the queue stopped: {e}"))?
}

fn open_claimed(s: &OpenSettings, client: &str, claim: Option<OwnedSemaphorePermit>) -> Result<OpenedLog, String> {
    if s.create_directory {
        DirBuilder::new()
            .recursive(true)
            .mode(s.mode)
            .create(&s.directory)
            .map_err(|e| format!("cannot create directory {}: {e}", s.directory.display()))?;
    }
    let dir = s.directory.join(client);
    DirBuilder::new()
        .recursive(true)
        .mode(s.mode)
        .create(&dir)
        .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    let lock = lock(&dir, s.lock_timeout)?;
    let (log, report) =
        QueueLog::open(&dir, s.log).map_err(|e| format!("cannot open the queue in {}: {e}", dir.display()))?;
    Ok(OpenedLog { log, report, max_bytes: s.max_bytes, dir, _lock: lock, _claim: claim })
}

/// An exclusive `flock` on `<dir>/LOCK`, waited for up to `timeout` (Go: bbolt's lock timeout).
fn lock(dir: &Path, timeout: Duration) -> Result<File, String> {
    let path = dir.join("LOCK");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let until = Instant::now() + timeout;
    loop {
        // SAFETY: flock on a file descriptor we own; no memory is shared.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(f);
        }
        if Instant::now() >= until {
            return Err(format!("timeout: {} is locked by another process", dir.display()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_as_go_does_and_a_second_opener_waits_then_fails() {
        assert_eq!(sanitize("logs/container"), "logs~002Fcontainer");
        assert_eq!(sanitize("a~b"), "a~007Eb");
        assert_eq!(client_name("exporter", "otlp", "a b", "traces"), "exporter_otlp_a~0020b_traces");
        let dir = tempfile::tempdir().unwrap();
        let s = OpenSettings {
            directory: dir.path().join("new"),
            create_directory: true,
            mode: 0o750,
            lock_timeout: Duration::from_millis(50),
            log: LogOptions { fsync: false, segment_bytes: 1 << 20 },
            max_bytes: 1 << 20,
        };
        let first = open(&s, "exporter_otlp__traces").unwrap();
        let e = open(&s, "exporter_otlp__traces").err().unwrap();
        assert!(e.contains("locked by another process"), "{e}");
        // Another client in the same directory does not collide.
        assert!(open(&s, "exporter_otlp__logs").is_ok());
        drop(first);
        assert!(open(&s, "exporter_otlp__traces").is_ok());
    }

    #[tokio::test]
    async fn an_opener_in_the_same_process_waits_for_the_release() {
        let dir = tempfile::tempdir().unwrap();
        let s = || OpenSettings {
            directory: dir.path().to_path_buf(),
            create_directory: false,
            mode: 0o750,
            lock_timeout: Duration::from_millis(50),
            log: LogOptions { fsync: false, segment_bytes: 1 << 20 },
            max_bytes: 1 << 20,
        };
        assert!(!open_here(&s(), "c"));
        let mut first = open(&s(), "c").unwrap();
        first.log.append(3, b"old").unwrap();
        assert!(open_here(&s(), "c"));
        let next = tokio::spawn(open_after_release(s(), "c".into()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!next.is_finished(), "waits while the first holds it (longer than lock_timeout)");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), next).await.unwrap().unwrap().unwrap();
        assert_eq!((second.report.pending, second.report.pending_meta), (1, 3));
        assert!(open_here(&s(), "c"));
        drop(second);
        assert!(!open_here(&s(), "c"));
    }
}
