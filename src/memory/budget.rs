//! The decode budget: bytes of OTLP requests being read, decompressed and decoded at once, per
//! receiver and process-wide. A request reserves its estimated decoded size before it is
//! decoded and holds it until the pipeline has taken the data (its `consume` returned), so
//! concurrent decodes cannot multiply memory. When the budget stays exhausted for `WAIT`, the
//! request is refused with a retryable error (503 / UNAVAILABLE, as Go's receiver answers a
//! memory_limiter refusal: otlpreceiver/internal/errors GetStatusFromError).

use crate::pipeline::consumer::ConsumeError;
use crate::telemetry::logging::RateLimit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Decoded OTLP protobuf takes up to this many times its wire size; a request is charged its
/// body plus this multiple. Measured on requests of one-letter attributes (~10 wire bytes each:
/// a 64-byte `KeyValue` plus two heap strings of a 32-byte malloc chunk, and the `Vec` growth),
/// the worst case: one 18 MiB request raised RSS by ~325 MB (~17x); ordinary spans are 2-4x.
/// The worst case is charged: over-charging only lowers how many requests decode at once, and
/// decoding is CPU-bound, so that costs little.
pub const PROTOBUF_EXPANSION: u64 = 16;
/// OTLP/JSON is several times larger than protobuf on the wire, so it expands less.
pub const JSON_EXPANSION: u64 = 4;
/// How long a request waits for budget before it is refused (under SDKs' 10 s export timeout).
pub const WAIT: Duration = Duration::from_secs(5);
/// The process-wide budget unless set: a quarter of the memory available (the container's
/// limit), at most 256 MiB.
pub const DEFAULT_GLOBAL_MAX: u64 = 256 * MIB;

/// One budget: a semaphore of KiB.
struct Pool {
    sem: Arc<Semaphore>,
    kib: u32,
}

impl Pool {
    fn new(bytes: u64) -> Pool {
        let kib = u32::try_from((bytes / KIB).max(1)).unwrap_or(u32::MAX >> 4);
        Pool { sem: Arc::new(Semaphore::new(kib as usize)), kib }
    }
}

/// Set from the command line (`--decode-budget-mib`); 0 = the default.
static GLOBAL_SET: AtomicU64 = AtomicU64::new(0);
/// The smallest `spike_limit` of the memory_limiters: the room left for in-flight work.
static GLOBAL_CAP: AtomicU64 = AtomicU64::new(u64::MAX);
static GLOBAL: OnceLock<Pool> = OnceLock::new();

/// Sets the process-wide budget (before any request is served).
pub fn set_global(bytes: u64) {
    GLOBAL_SET.store(bytes, Ordering::Relaxed);
}

/// A memory_limiter lowers the process-wide budget to its spike limit: what may be decoded
/// at once is what may grow between two of its checks.
pub fn cap_global(bytes: u64) {
    GLOBAL_CAP.fetch_min(bytes.max(MIB), Ordering::Relaxed);
}

/// The process-wide budget in bytes.
pub fn global_bytes() -> u64 {
    let set = GLOBAL_SET.load(Ordering::Relaxed);
    let base = if set > 0 { set } else { (super::usage::total_memory() / 4).clamp(16 * MIB, DEFAULT_GLOBAL_MAX) };
    base.min(GLOBAL_CAP.load(Ordering::Relaxed))
}

fn global() -> &'static Pool {
    // Made at the first request, after the memory_limiters (built before receivers start).
    GLOBAL.get_or_init(|| Pool::new(global_bytes()))
}

/// One receiver's budget (within the process-wide one).
pub struct DecodeBudget {
    receiver: Option<Pool>,
    /// Whether a memory_limiter is refusing (`super::under_pressure`; replaced in unit tests,
    /// which share the process with memory_limiter tests).
    pressure: fn() -> bool,
    /// How long a request may wait for budget (`WAIT`).
    wait: Duration,
    /// Refusals are logged at most once per 10 s per receiver.
    pub log: RateLimit,
}

/// What one request holds; released when dropped.
pub struct Reservation {
    held: [u32; 2],
    permits: Vec<OwnedSemaphorePermit>,
    deadline: Instant,
}

/// A request that held this much returns freed memory to the OS when it is done.
const TRIM_AFTER_KIB: u32 = 16 * 1024;

impl Drop for Reservation {
    fn drop(&mut self) {
        // glibc keeps what a large decode freed in the arena of the thread that decoded it;
        // the next large request, decoded on another thread, takes fresh memory, so RSS grew
        // to about (threads x largest request) although one decoded at a time. Trimming after
        // each large request (a few ms, next to the ~100 ms+ its decoding took) returns it.
        if self.held.iter().any(|k| *k >= TRIM_AFTER_KIB) {
            self.permits.clear();
            crate::alloc::release_free_memory();
        }
    }
}

impl DecodeBudget {
    /// `receiver_bytes`: the receiver's own budget; `None` = only the process-wide one.
    pub fn new(receiver_bytes: Option<u64>) -> DecodeBudget {
        DecodeBudget {
            receiver: receiver_bytes.map(Pool::new),
            pressure: super::under_pressure,
            wait: WAIT,
            log: RateLimit::new(),
        }
    }

    /// A new, empty reservation; every `grow_to` of it shares one deadline, `WAIT` from now.
    pub fn reserve(&self) -> Reservation {
        Reservation { held: [0, 0], permits: Vec::new(), deadline: Instant::now() + self.wait }
    }

    /// Grows `r` to `bytes` (capped at each budget's size: a request larger than the whole
    /// budget waits until it is alone). Refuses when the budget is not free by the
    /// reservation's deadline and, with `before_decode`, at once while a memory_limiter is
    /// above its soft limit (checked before decoding, when the request's items can be counted).
    pub async fn grow_to(&self, r: &mut Reservation, bytes: u64, before_decode: bool) -> Result<(), ConsumeError> {
        if before_decode && (self.pressure)() {
            // memorylimiter.ErrDataRefused's text.
            return Err(ConsumeError::overloaded("data refused due to high memory usage"));
        }
        let want = u32::try_from(bytes.div_ceil(KIB)).unwrap_or(u32::MAX);
        let pools = [self.receiver.as_ref(), Some(global())];
        let targets = pools.map(|p| p.map_or(0, |p| want.min(p.kib)));
        if targets.iter().zip(r.held).all(|(t, h)| *t <= h) {
            return Ok(());
        }
        // Growing gives back what is held and queues for the whole: a request that waits holds
        // nothing, so two growing requests can never wait on each other.
        r.permits.clear();
        r.held = [0, 0];
        for (i, pool) in pools.into_iter().enumerate() {
            let Some(pool) = pool else { continue };
            match tokio::time::timeout_at(r.deadline, Arc::clone(&pool.sem).acquire_many_owned(targets[i])).await {
                Ok(Ok(p)) => {
                    r.permits.push(p);
                    r.held[i] = targets[i];
                }
                _ => {
                    return Err(ConsumeError::overloaded(format!(
                        "too much data being decoded at once: the decode budget of {} MiB stayed full for {}s",
                        u64::from(pool.kib) / KIB,
                        self.wait.as_secs_f64()
                    )))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_wait_for_budget_then_are_refused() {
        let b =
            DecodeBudget { pressure: || false, wait: Duration::from_millis(100), ..DecodeBudget::new(Some(4 * MIB)) };
        let mut first = b.reserve();
        b.grow_to(&mut first, 3 * MIB, true).await.unwrap();
        // Larger than the whole budget: capped, so it waits for the rest, then times out.
        let mut second = b.reserve();
        let e = b.grow_to(&mut second, 100 * MIB, true).await.unwrap_err();
        assert!(matches!(e, ConsumeError::Overloaded { .. }), "{e}");
        assert!(e.to_string().contains("decode budget of 4 MiB"), "{e}");
        // Once the first is done, a new request gets the whole budget.
        drop(first);
        let mut third = b.reserve();
        b.grow_to(&mut third, 100 * MIB, true).await.unwrap();
        assert_eq!(third.held[0], 4096);
        // Growing again to the same size takes nothing more.
        b.grow_to(&mut third, 4 * MIB, true).await.unwrap();
        assert_eq!(third.permits.len(), 2);
        drop(third);
        // Two requests that each hold part and then grow do not wait on each other.
        let (mut x, mut y) = (b.reserve(), b.reserve());
        b.grow_to(&mut x, 2 * MIB, true).await.unwrap();
        b.grow_to(&mut y, 2 * MIB, true).await.unwrap();
        let grow_x = async {
            b.grow_to(&mut x, 4 * MIB, true).await.unwrap();
            drop(x);
        };
        let (_, gy) = tokio::join!(grow_x, b.grow_to(&mut y, 4 * MIB, true));
        gy.unwrap();
        // A memory_limiter above its soft limit: refused before decoding, without waiting.
        let b = DecodeBudget { pressure: || true, ..DecodeBudget::new(None) };
        let mut r = b.reserve();
        b.grow_to(&mut r, MIB, false).await.unwrap();
        let e = b.grow_to(&mut r, 2 * MIB, true).await.unwrap_err();
        assert_eq!(e.to_string(), "data refused due to high memory usage");
    }
}
