//! The `batch` processor, with the collector's semantics: flush when `send_batch_size` items
//! are pending or `timeout` passed since the first; split at `send_batch_max_size`; flush on
//! shutdown. Unlike the Go processor it never drops silently: when downstream queues are full it
//! holds the batch and retries, and its own intake, bounded in items and in protobuf bytes,
//! makes new data wait (`INTAKE_WAIT`) and then refuses it, so the client is slowed down and at
//! worst the receiver answers "retry later".

pub mod factory;

use crate::component::{ComponentId, Signal};
use crate::config::{limits, ConfigError, GoDuration};
use crate::memory::export_budget;
use crate::pipeline::consumer::{consume_will_retry, ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::component::BatchTelemetry;
use crate::telemetry::metrics::{Counter, Registry};
use crate::telemetry::names::{LABEL_PROCESSOR, PROCESSOR_DROPPED};
use crate::telemetry::self_metrics::{record_drop, DropReason};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

/// `processors: batch:` (Go: batchprocessor `createDefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    pub timeout: GoDuration,
    pub send_batch_size: u32,
    pub send_batch_max_size: u32,
    pub metadata_keys: Vec<String>,
    pub metadata_cardinality_limit: u32,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            timeout: GoDuration::from_millis(200),
            send_batch_size: 8192,
            send_batch_max_size: 0,
            metadata_keys: Vec::new(),
            metadata_cardinality_limit: 1000,
        }
    }
}

impl BatchConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        if self.send_batch_max_size > 0 && self.send_batch_max_size < self.send_batch_size {
            errs.push(ConfigError::new(
                format!("{base}::send_batch_max_size"),
                "send_batch_max_size must be greater or equal to send_batch_size",
            ));
        }
        let p = |k: &str| format!("{base}::{k}");
        limits::check(&mut errs, p("send_batch_size"), self.send_batch_size.into(), limits::BATCH_ITEMS);
        limits::check(&mut errs, p("send_batch_max_size"), self.send_batch_max_size.into(), limits::BATCH_ITEMS);
        limits::check(
            &mut errs,
            p("metadata_cardinality_limit"),
            self.metadata_cardinality_limit.into(),
            limits::CARDINALITY,
        );
        limits::check_duration(&mut errs, p("timeout"), self.timeout.0, limits::DURATION);
        if !self.metadata_keys.is_empty() {
            errs.push(ConfigError::new(
                format!("{base}::metadata_keys"),
                "batching by client metadata (metadata_keys) is not supported by oxidot yet",
            ));
        }
        errs
    }
}

/// Items the intake holds (queued, pending and being handed downstream) before new data waits:
/// the batch being handed to the exporters and the next one filling.
const INTAKE_BATCHES: usize = 2;
/// Protobuf bytes (`Batch::wire_size`) the intake holds before new data waits. Decoded data
/// takes ~4-6x its wire size, so this bounds the processor to a few tens of MB.
pub const INTAKE_BYTES: u64 = 8 << 20;
/// How long `consume` waits for room before refusing (well under SDKs' 10 s export timeout).
pub const INTAKE_WAIT: Duration = Duration::from_secs(2);
/// The pending batch is sent once it holds this share of `INTAKE_BYTES` even below
/// `send_batch_size`, so large items cannot fill the intake with one batch that never sends.
const FLUSH_BYTES_DIVISOR: u64 = 2;
/// Backoff bounds while the exporters refuse (`deliver`); a freed export budget wakes it sooner.
const DELIVER_BACKOFF: (Duration, Duration) = (Duration::from_millis(5), Duration::from_millis(200));

const KIB: u64 = 1024;

/// KiB of a batch's wire size, as intake permits (at least 1, at most the whole intake).
fn kib_of(bytes: usize, cap_kib: usize) -> usize {
    (bytes as u64).div_ceil(KIB).clamp(1, cap_kib as u64) as usize
}

/// A batch in the intake channel: with its item count and KiB, counted once in `consume`.
type Intake = (Arc<Batch>, usize, usize);

/// One batch processor instance (one per pipeline, as in the collector).
pub struct BatchProcessor {
    id: ComponentId,
    tx: mpsc::UnboundedSender<Intake>,
    /// Items and KiB of the intake.
    permits: Arc<Semaphore>,
    capacity: usize,
    kib_permits: Arc<Semaphore>,
    kib_capacity: usize,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
    deadline_tx: watch::Sender<Option<Instant>>,
    /// Items accepted and not yet handed downstream or counted as dropped.
    held: Arc<AtomicU64>,
    signal: Signal,
    dropped: Counter,
}

struct Batcher {
    id: ComponentId,
    cfg: BatchConfig,
    next: Arc<dyn Consumer>,
    permits: Arc<Semaphore>,
    kib_permits: Arc<Semaphore>,
    flush_kib: usize,
    telemetry: BatchTelemetry,
    dropped: Counter,
    deadline_rx: watch::Receiver<Option<Instant>>,
    held: Arc<AtomicU64>,
    signal: Signal,
}

impl BatchProcessor {
    pub fn new(
        id: ComponentId,
        signal: Signal,
        cfg: BatchConfig,
        next: Arc<dyn Consumer>,
        reg: &Registry,
        metrics_enabled: bool,
    ) -> Arc<Self> {
        let unit = (cfg.send_batch_size.max(cfg.send_batch_max_size) as usize).max(8192);
        let capacity = unit.saturating_mul(INTAKE_BATCHES);
        let permits = Arc::new(Semaphore::new(capacity));
        let kib_capacity = (INTAKE_BYTES / KIB) as usize;
        let kib_permits = Arc::new(Semaphore::new(kib_capacity));
        let (tx, rx) = mpsc::unbounded_channel();
        let (deadline_tx, deadline_rx) = watch::channel(None);
        let held = Arc::new(AtomicU64::new(0));
        let dropped = reg.counter(
            PROCESSOR_DROPPED.get(signal),
            "Number of items dropped by the processor.",
            vec![(LABEL_PROCESSOR, id.to_string())],
        );
        let batcher = Batcher {
            id: id.clone(),
            cfg,
            next,
            permits: Arc::clone(&permits),
            kib_permits: Arc::clone(&kib_permits),
            flush_kib: kib_capacity / FLUSH_BYTES_DIVISOR as usize,
            telemetry: BatchTelemetry::new(reg, &id, metrics_enabled),
            dropped: dropped.clone(),
            deadline_rx,
            held: Arc::clone(&held),
            signal,
        };
        let task = tokio::spawn(batcher.run(rx));
        Arc::new(BatchProcessor {
            id,
            tx,
            permits,
            capacity,
            kib_permits,
            kib_capacity,
            task: std::sync::Mutex::new(Some(task)),
            deadline_tx,
            held,
            signal,
            dropped,
        })
    }

    /// Stops intake and flushes what is pending; gives up on downstream at `deadline`.
    pub async fn shutdown(&self, deadline: Instant) {
        let _ = self.deadline_tx.send(Some(deadline));
        self.permits.close();
        self.kib_permits.close();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut t) = task {
            // The batcher ends when every sender is gone; ours is the last one the graph holds.
            let wait = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(100);
            if tokio::time::timeout(wait, &mut t).await.is_err() {
                // Still handing data downstream past the deadline: stop it; what it held is
                // dropped and counted (the exporter never counted it).
                t.abort();
                let _ = t.await;
                let n = self.held.swap(0, Ordering::SeqCst);
                if n > 0 {
                    self.dropped.add(n);
                    record_drop("processor", &self.id, self.signal.as_str(), DropReason::Deadline, n);
                    tracing::error!(processor = %self.id, dropped_items = n,
                        error = "the shutdown deadline passed while the data was held", "Sender failed: dropping data");
                }
            }
        }
    }
}

#[async_trait]
impl Consumer for BatchProcessor {
    async fn consume(&self, batch: Arc<Batch>) -> Result<(), ConsumeError> {
        let items = batch.items();
        if items == 0 {
            return Ok(());
        }
        let n = items.min(self.capacity);
        let kib = kib_of(batch.wire_size(), self.kib_capacity);
        // Waits for room (the client is slowed down by backpressure), for a bounded time; the
        // semaphores close at shutdown, which ends the wait at once.
        let until = tokio::time::Instant::now() + INTAKE_WAIT;
        let mut permits = Vec::with_capacity(2);
        for (sem, k) in [(&self.permits, n), (&self.kib_permits, kib)] {
            match tokio::time::timeout_at(until, Arc::clone(sem).acquire_many_owned(k as u32)).await {
                Ok(Ok(p)) => permits.push(p),
                Ok(Err(_)) => return Err(ConsumeError::Shutdown),
                Err(_) => {
                    return Err(ConsumeError::overloaded(format!(
                        "processor {} is full: the exporters downstream are not keeping up",
                        self.id
                    )))
                }
            }
        }
        // Given back by the batcher once the data went downstream.
        permits.into_iter().for_each(|p| p.forget());
        self.held.fetch_add(items as u64, Ordering::SeqCst);
        self.tx.send((batch, items, kib)).map_err(|_| {
            self.held.fetch_sub(items as u64, Ordering::SeqCst);
            ConsumeError::Shutdown
        })
    }
}

impl Batcher {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Intake>) {
        let mut pending: Option<Batch> = None;
        let mut pending_items = 0usize;
        // KiB of intake permits the pending batch holds.
        let mut kib = 0usize;
        let mut timer: Option<tokio::time::Instant> = None;
        let immediate = self.cfg.timeout.0.is_zero() || self.cfg.send_batch_size == 0;
        let mut deadline_rx = self.deadline_rx.clone();
        let mut closing = false;
        loop {
            let sleep_until = timer.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some((b, items, k)) => {
                        let b = Arc::unwrap_or_clone(b);
                        pending_items += items;
                        kib += k;
                        match &mut pending {
                            Some(p) => { let _ = p.append(b); }
                            None => pending = Some(b),
                        }
                        if timer.is_none() && !immediate {
                            timer = Some(tokio::time::Instant::now() + self.cfg.timeout.0);
                        }
                        while pending_items > 0
                            && (immediate || pending_items >= self.cfg.send_batch_size as usize || kib >= self.flush_kib)
                        {
                            (pending_items, kib) = self.send_some(&mut pending, pending_items, kib, true).await;
                        }
                        if pending_items == 0 {
                            timer = None;
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(sleep_until), if timer.is_some() => {
                    while pending_items > 0 {
                        (pending_items, kib) = self.send_some(&mut pending, pending_items, kib, false).await;
                    }
                    timer = None;
                }
                _ = deadline_rx.changed(), if !closing => {
                    // Shutdown: take what was already accepted, then flush all.
                    closing = true;
                    rx.close();
                }
            }
        }
        while pending_items > 0 {
            (pending_items, kib) = self.send_some(&mut pending, pending_items, kib, false).await;
        }
    }

    /// Sends up to `send_batch_max_size` items; returns the items and intake KiB still pending.
    async fn send_some(
        &self,
        pending: &mut Option<Batch>,
        pending_items: usize,
        kib: usize,
        size_trigger: bool,
    ) -> (usize, usize) {
        let Some(p) = pending.as_mut() else {
            self.kib_permits.add_permits(kib);
            return (0, 0);
        };
        let max = self.cfg.send_batch_max_size as usize;
        let (out, n, rest) = if max > 0 && pending_items > max {
            (p.split_front(max), max, pending_items - max)
        } else {
            match pending.take() {
                Some(all) => (all, pending_items, 0),
                None => return (0, 0),
            }
        };
        // The part sent takes its share of the KiB with it.
        let sent_kib = if rest == 0 { kib } else { kib * n / pending_items.max(1) };
        let t = &self.telemetry;
        if let Some(h) = &t.send_size {
            h.observe(n as u64);
        }
        match (size_trigger, &t.size_trigger, &t.timeout_trigger) {
            (true, Some(c), _) | (false, _, Some(c)) => c.add(1),
            _ => {}
        }
        self.deliver(out, n).await;
        self.held.fetch_sub(n as u64, Ordering::SeqCst);
        self.permits.add_permits(n);
        self.kib_permits.add_permits(sent_kib);
        (rest, kib - sent_kib)
    }

    /// Hands a batch downstream, waiting out `Overloaded` until the shutdown deadline.
    async fn deliver(&self, out: Batch, n: usize) {
        let batch = Arc::new(out);
        let mut wait = DELIVER_BACKOFF.0;
        let budget = export_budget::global();
        loop {
            // Made before the attempt, so bytes freed during it are not missed.
            let freed = budget.freed();
            match consume_will_retry(self.next.as_ref(), Arc::clone(&batch)).await {
                Ok(()) => return,
                Err(ConsumeError::Overloaded { .. }) => {
                    let deadline = *self.deadline_rx.borrow();
                    if deadline.is_some_and(|d| Instant::now() + wait > d) {
                        // The last attempt, not marked as retried: if the exporters still
                        // refuse, they count it (`enqueue_failed`) once, as dropped.
                        if self.next.consume(Arc::clone(&batch)).await.is_ok() {
                            return;
                        }
                        self.drop_items(n, "the shutdown deadline passed while the exporters were full");
                        record_drop("processor", &self.id, self.signal.as_str(), DropReason::Deadline, n as u64);
                        return;
                    }
                    // An exporter freeing budget wakes this at once; a full queue (no budget
                    // involved) is polled with a short backoff.
                    tokio::select! {
                        _ = freed => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(DELIVER_BACKOFF.1);
                }
                Err(ConsumeError::Permanent(m)) => {
                    // The exporter counted and logged it (and recorded it for the exit summary);
                    // the processor's counter records the drop too.
                    self.drop_items(n, &m);
                    return;
                }
                Err(ConsumeError::Shutdown) => {
                    self.drop_items(n, "the exporters already shut down");
                    record_drop("processor", &self.id, self.signal.as_str(), DropReason::Refused, n as u64);
                    return;
                }
            }
        }
    }

    fn drop_items(&self, n: usize, why: &str) {
        self.dropped.add(n as u64);
        tracing::error!(processor = %self.id, dropped_items = n, error = why, "Sender failed: dropping data");
    }
}

#[cfg(test)]
mod tests;
