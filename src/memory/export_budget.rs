//! The export budget: protobuf bytes (`Batch::wire_size`) of the batches the exporters hold in
//! memory, from the moment an exporter accepts a batch into its in-memory sending queue until
//! a queue worker has finished sending it (a persistent queue's batches count only while being
//! sent). One process-wide budget across all exporters: when it is reached an exporter refuses
//! with a retryable error and the batch processor holds its batch until bytes are freed. The Go
//! collector has no such budget (only each queue's own `queue_size`).
//!
//! An exporter that holds nothing may always take one batch, so a batch larger than the whole
//! budget, or one exporter holding it all, can never block another exporter for good: the held
//! bytes stay under the budget plus one batch per exporter.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

const MIB: u64 = 1024 * 1024;

/// The budget unless set (`--export-budget-mib`): 8 MiB of protobuf, about three batches of
/// 8192 ordinary spans (~350 wire bytes each). Decoded, a span takes ~4-6x its wire size, so
/// this holds ~40 MB of decoded data at most: room for a sidecar of 128-256 MB, while two or
/// three exports in flight keep a 2-core host's encoders and the network busy.
pub const DEFAULT_BYTES: u64 = 8 * MIB;

/// Bytes held against one limit.
#[derive(Debug)]
pub struct ExportBudget {
    limit: u64,
    held: AtomicU64,
    /// The most ever held (a self-metric: tests and operators check the bound with it).
    peak: AtomicU64,
    freed: Notify,
}

/// Set from the command line; 0 = the default.
static SET: AtomicU64 = AtomicU64::new(0);
static GLOBAL: OnceLock<ExportBudget> = OnceLock::new();

/// Sets the process-wide budget (before any exporter is built).
pub fn set_global(bytes: u64) {
    SET.store(bytes, Ordering::Relaxed);
}

/// The process-wide budget.
pub fn global() -> &'static ExportBudget {
    GLOBAL.get_or_init(|| {
        let set = SET.load(Ordering::Relaxed);
        ExportBudget::new(if set > 0 { set } else { DEFAULT_BYTES })
    })
}

impl ExportBudget {
    pub fn new(limit: u64) -> ExportBudget {
        ExportBudget { limit, held: AtomicU64::new(0), peak: AtomicU64::new(0), freed: Notify::new() }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes held now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The most held at once since start.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Resolves when some holder frees bytes; make it before trying, so no release is missed.
    pub fn freed(&self) -> tokio::sync::futures::Notified<'_> {
        self.freed.notified()
    }

    fn add(&self, bytes: u64) {
        let now = self.held.fetch_add(bytes, Ordering::SeqCst) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn sub(&self, bytes: u64, wake: bool) {
        let _ = self.held.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |h| Some(h.saturating_sub(bytes)));
        if wake {
            self.freed.notify_waiters();
        }
    }
}

/// One exporter's share of a budget.
#[derive(Debug)]
pub struct Holder {
    budget: &'static ExportBudget,
    held: AtomicU64,
}

/// Bytes one batch holds; given back when dropped (sent, failed, refused or dropped).
#[derive(Debug)]
pub struct Held {
    holder: Arc<Holder>,
    bytes: u64,
    /// Set once the batch was sent: only then does the release wake waiters. A reservation
    /// given back because the queue refused the batch must not, or a caller retrying on that
    /// wake-up would spin.
    sent: AtomicBool,
}

impl Held {
    /// The batch was sent (or given up): dropping this wakes whoever waits for room.
    pub fn sent(&self) {
        self.sent.store(true, Ordering::Relaxed);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ =
            self.holder.held.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |h| Some(h.saturating_sub(self.bytes)));
        self.holder.budget.sub(self.bytes, self.sent.load(Ordering::Relaxed));
    }
}

impl Holder {
    pub fn new(budget: &'static ExportBudget) -> Arc<Holder> {
        Arc::new(Holder { budget, held: AtomicU64::new(0) })
    }

    /// What this exporter holds now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Takes `bytes` if the budget has room, or if this holder holds nothing (then it takes
    /// them even past the budget: one batch, so nothing deadlocks).
    pub fn try_reserve(self: &Arc<Self>, bytes: u64) -> Option<Held> {
        let bytes = bytes.max(1);
        let b = self.budget;
        // The first batch of an idle holder: claimed on the holder, so two callers cannot
        // both take the exception.
        if self.held.compare_exchange(0, bytes, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            b.add(bytes);
            return Some(Held { holder: Arc::clone(self), bytes, sent: AtomicBool::new(false) });
        }
        b.held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |h| (h + bytes <= b.limit).then_some(h + bytes))
            .ok()?;
        b.peak.fetch_max(b.held(), Ordering::Relaxed);
        self.held.fetch_add(bytes, Ordering::SeqCst);
        Some(Held { holder: Arc::clone(self), bytes, sent: AtomicBool::new(false) })
    }

    /// Takes `bytes`, waiting for room while `keep_waiting()` (a persistent queue's worker
    /// before it sends); `None` once it says stop.
    pub async fn reserve_wait(self: &Arc<Self>, bytes: u64, keep_waiting: impl Fn() -> bool) -> Option<Held> {
        loop {
            let freed = self.budget.freed();
            if let Some(h) = self.try_reserve(bytes) {
                return Some(h);
            }
            if !keep_waiting() {
                return None;
            }
            // Bounded, so a stop signal is seen even if no bytes are freed.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(100), freed).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: u64) -> &'static ExportBudget {
        Box::leak(Box::new(ExportBudget::new(limit)))
    }

    #[test]
    fn holders_share_the_budget_and_an_idle_holder_may_take_one_batch() {
        let b = budget(100);
        let (x, y) = (Holder::new(b), Holder::new(b));
        let x1 = x.try_reserve(60).unwrap();
        let x2 = x.try_reserve(40).unwrap();
        assert_eq!(b.held(), 100);
        // Full for a holder that holds something already.
        assert!(x.try_reserve(1).is_none());
        // y holds nothing: one batch passes the budget; a second does not.
        let y1 = y.try_reserve(500).unwrap();
        assert!(y.try_reserve(1).is_none());
        assert_eq!((b.held(), b.peak()), (600, 600));
        drop(y1);
        assert_eq!((b.held(), y.held()), (100, 0));
        drop(x1);
        assert_eq!(x.held(), 40);
        let x3 = x.try_reserve(60).unwrap();
        assert!(x.try_reserve(1).is_none());
        drop((x2, x3));
        assert_eq!((b.held(), x.held(), b.peak()), (0, 0, 600));
    }

    #[tokio::test]
    async fn a_waiting_reservation_takes_the_bytes_when_freed_or_gives_up() {
        let b = budget(10);
        let (x, y) = (Holder::new(b), Holder::new(b));
        let x1 = x.try_reserve(10).unwrap();
        let _y1 = y.try_reserve(5).unwrap();
        // y holds something and the budget is full: it waits until x frees.
        let wait = y.reserve_wait(5, || true);
        let free = async {
            tokio::task::yield_now().await;
            x1.sent();
            drop(x1);
        };
        let (got, ()) = tokio::join!(wait, free);
        assert!(got.is_some());
        assert_eq!(b.held(), 10);
        assert!(y.reserve_wait(5, || false).await.is_none());
    }
}
