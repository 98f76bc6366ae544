//! The one exporter helper: queue → self-metrics → retry → timeout → `Exporter::export`,
//! the order of the collector's exporterhelper.

pub mod config;
pub mod http_send;
pub mod persistent;
pub mod queue;
pub mod retry;

use super::{ExportError, Exporter};
use crate::component::{ComponentId, Signal};
use crate::memory::export_budget::{self, ExportBudget, Holder};
use crate::pipeline::consumer::{caller_retries, ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::component::ExporterTelemetry;
use crate::telemetry::logging::RateLimit;
use crate::telemetry::self_metrics::{record_drop, DropReason};
use async_trait::async_trait;
use config::{QueueConfig, RetryConfig};
use persistent::{PersistentQueue, Taken};
use queue::{BoundedQueue, Counted, PushError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Wraps an `Exporter` for one signal and makes it a pipeline `Consumer`.
pub struct ExporterHelper {
    id: ComponentId,
    signal: Signal,
    exporter: Arc<dyn Exporter>,
    telemetry: ExporterTelemetry,
    retry: RetryConfig,
    timeout: Option<Duration>,
    queue: Option<SendingQueue>,
    block_on_overflow: bool,
    num_consumers: usize,
    workers: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// Items the queue workers took and have not yet counted as sent or failed: what a worker
    /// still stuck at the shutdown deadline (plus a grace) loses when it is stopped.
    in_flight_items: Arc<AtomicU64>,
    /// This exporter's share of the process-wide export budget (`crate::memory::export_budget`):
    /// the protobuf bytes of what its in-memory queue holds and what its workers are sending.
    holder: Arc<Holder>,
    /// The last batch the queue accepted: a fan-out whose other branch refused is retried by
    /// the batch processor with the same batch, which this exporter must not queue twice.
    last_accepted: std::sync::Mutex<std::sync::Weak<Batch>>,
    /// Turns true at the shutdown deadline: retries stop and what is left counts as failed.
    abort_tx: watch::Sender<bool>,
    abort_rx: watch::Receiver<bool>,
    /// Turns true when shutdown starts: a persistent queue stops retrying at once, as Go's retry
    /// sender does (the batch stays on disk for the next start).
    stopping_tx: watch::Sender<bool>,
    log_full: RateLimit,
    log_failed: RateLimit,
    log_dropped: RateLimit,
}

/// The sending queue: in memory, or on disk through a storage extension.
#[derive(Clone)]
enum SendingQueue {
    Memory(Arc<BoundedQueue>),
    Persistent(Arc<PersistentQueue>),
}

impl SendingQueue {
    fn size(&self) -> usize {
        match self {
            SendingQueue::Memory(q) => q.size(),
            SendingQueue::Persistent(q) => q.size(),
        }
    }
    fn is_closed(&self) -> bool {
        match self {
            SendingQueue::Memory(q) => q.is_closed(),
            SendingQueue::Persistent(_) => false,
        }
    }
    fn close(&self) {
        match self {
            SendingQueue::Memory(q) => q.close(),
            SendingQueue::Persistent(q) => q.close(),
        }
    }
    async fn pop(&self) -> Option<(Counted, Option<Taken>)> {
        match self {
            SendingQueue::Memory(q) => q.pop().await.map(|c| (c, None)),
            SendingQueue::Persistent(q) => q.pop().await.map(|t| (t.counted.clone(), Some(t))),
        }
    }
    async fn push(&self, c: Counted, wait: bool) -> Result<(), PushError> {
        match (self, wait) {
            (SendingQueue::Memory(q), true) => q.push_wait(c).await,
            (SendingQueue::Memory(q), false) => q.try_push(c),
            (SendingQueue::Persistent(q), true) => q.push_wait(&c).await,
            (SendingQueue::Persistent(q), false) => q.try_push(&c).await,
        }
    }
}

/// What `ExporterHelper::new` needs besides the exporter itself.
pub struct HelperSettings {
    pub queue: QueueConfig,
    pub retry: RetryConfig,
    /// Per-attempt timeout; `None` when the exporter's own client enforces one.
    pub timeout: Option<Duration>,
}

impl ExporterHelper {
    pub fn new(
        id: ComponentId,
        signal: Signal,
        exporter: Arc<dyn Exporter>,
        telemetry: ExporterTelemetry,
        s: HelperSettings,
    ) -> Arc<Self> {
        let queue = s
            .queue
            .enabled
            .then(|| SendingQueue::Memory(Arc::new(BoundedQueue::new(s.queue.queue_size, s.queue.sizer))));
        Self::build(id, signal, exporter, telemetry, s, queue, export_budget::global())
    }

    /// With a persistent queue (`sending_queue.storage`) opened from a storage extension.
    pub fn new_persistent(
        id: ComponentId,
        signal: Signal,
        exporter: Arc<dyn Exporter>,
        telemetry: ExporterTelemetry,
        s: HelperSettings,
        queue: Arc<PersistentQueue>,
    ) -> Arc<Self> {
        Self::build(id, signal, exporter, telemetry, s, Some(SendingQueue::Persistent(queue)), export_budget::global())
    }

    fn build(
        id: ComponentId,
        signal: Signal,
        exporter: Arc<dyn Exporter>,
        telemetry: ExporterTelemetry,
        s: HelperSettings,
        queue: Option<SendingQueue>,
        budget: &'static ExportBudget,
    ) -> Arc<Self> {
        if let Some(q) = &queue {
            telemetry.queue_capacity.set(s.queue.queue_size as i64);
            telemetry.queue_size.set(q.size() as i64);
        }
        let (abort_tx, abort_rx) = watch::channel(false);
        let (stopping_tx, _) = watch::channel(false);
        Arc::new(ExporterHelper {
            id,
            signal,
            exporter,
            telemetry,
            retry: s.retry,
            timeout: s.timeout.filter(|t| !t.is_zero()),
            queue,
            block_on_overflow: s.queue.block_on_overflow,
            num_consumers: s.queue.num_consumers.max(1),
            workers: std::sync::Mutex::new(Vec::new()),
            in_flight_items: Arc::new(AtomicU64::new(0)),
            holder: Holder::new(budget),
            last_accepted: std::sync::Mutex::new(std::sync::Weak::new()),
            abort_tx,
            abort_rx,
            stopping_tx,
            log_full: RateLimit::new(),
            log_failed: RateLimit::new(),
            log_dropped: RateLimit::new(),
        })
    }

    /// Starts the queue consumers.
    pub fn start(self: &Arc<Self>) {
        let Some(q) = &self.queue else { return };
        let mut ws = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..self.num_consumers {
            let me = Arc::clone(self);
            let q = q.clone();
            ws.push(tokio::spawn(async move {
                while let Some((mut c, taken)) = q.pop().await {
                    me.telemetry.queue_size.set(q.size() as i64);
                    if c.held.is_none() {
                        // A persistent queue's batch, read back from disk: its bytes count
                        // against the budget while it is sent. Waits for room (the exporter
                        // holding nothing always gets it) until the shutdown deadline.
                        let abort = me.abort_rx.clone();
                        c.held = me.holder.reserve_wait(c.bytes as u64, || !*abort.borrow()).await.map(Arc::new);
                    }
                    // Counted in flight until `send` has counted it (no await in between).
                    me.in_flight_items.fetch_add(c.items as u64, Ordering::SeqCst);
                    let (_, kept) = me.send_counted(&c.batch, c.items).await;
                    me.in_flight_items.fetch_sub(c.items as u64, Ordering::SeqCst);
                    // Sent or failed: its room in the queue and its bytes go back (the batch
                    // processor waiting for room is woken).
                    if let SendingQueue::Memory(m) = &q {
                        m.done(&c);
                        me.telemetry.queue_size.set(q.size() as i64);
                    }
                    if let Some(h) = c.held.take() {
                        h.sent();
                    }
                    if let (SendingQueue::Persistent(p), Some(t)) = (&q, taken) {
                        // Cut by the shutdown deadline: kept on disk for the next start (Go:
                        // a shutdown error leaves the item in the queue).
                        if !kept {
                            p.done(&t);
                        }
                        me.telemetry.queue_size.set(q.size() as i64);
                    }
                }
            }));
        }
    }

    /// Stops accepting, lets the workers drain the queue until `deadline`, then counts whatever
    /// is left as failed and shuts the exporter down.
    pub async fn shutdown(&self, deadline: Instant) {
        if let Some(q) = &self.queue {
            q.close();
        }
        if self.persistent() {
            self.stopping_tx.send_replace(true);
        }
        let mut workers: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
        let remaining = deadline.saturating_duration_since(Instant::now());
        let all_done = tokio::time::timeout(remaining, async {
            for w in workers.iter_mut() {
                let _ = w.await;
            }
        })
        .await
        .is_ok();
        if !all_done {
            // Deadline: stop retrying and cut the current attempts; what is queued is dropped.
            let _ = self.abort_tx.send(true);
        }
        if let Some(SendingQueue::Persistent(q)) = &self.queue {
            let left = q.size();
            if left > 0 {
                tracing::info!(exporter = %self.id, data_type = %self.signal, queue_size = left,
                    "Persistent queue: what is left stays on disk and is sent at the next start");
            }
        }
        if let Some(SendingQueue::Memory(q)) = &self.queue {
            let left = q.take_all();
            let items: u64 = left.iter().map(|c| c.items as u64).sum();
            if items > 0 {
                self.telemetry.send_failed.add(items);
                record_drop("exporter", &self.id, self.signal.as_str(), DropReason::Deadline, items);
                tracing::error!(exporter = %self.id, data_type = %self.signal, dropped_items = items,
                    "Exporting failed. Dropping data: the shutdown deadline passed with data still queued");
            }
            self.telemetry.queue_size.set(0);
        }
        if !all_done {
            // The workers end at once (their attempts are cut); a worker that does not within
            // a grace is stopped, and what it held counts as failed.
            let grace = async {
                for w in workers.iter_mut() {
                    let _ = w.await;
                }
            };
            if tokio::time::timeout(Duration::from_millis(500), grace).await.is_err() {
                for w in &workers {
                    w.abort();
                }
                for w in workers.iter_mut() {
                    let _ = w.await;
                }
            }
            let stuck = self.in_flight_items.swap(0, Ordering::SeqCst);
            if stuck > 0 && self.persistent() {
                tracing::info!(exporter = %self.id, data_type = %self.signal, items = stuck,
                    "Persistent queue: exports cut by the shutdown deadline are sent again at the next start");
            } else if stuck > 0 {
                self.telemetry.send_failed.add(stuck);
                record_drop("exporter", &self.id, self.signal.as_str(), DropReason::Deadline, stuck);
                tracing::error!(exporter = %self.id, data_type = %self.signal, dropped_items = stuck,
                    "Exporting failed. Dropping data: the shutdown deadline passed during the export");
            }
        }
        if let Some(SendingQueue::Persistent(q)) = &self.queue {
            // The workers have ended: the log and its lock go now, so a reload's new exporter
            // opens it (and sends what is left) without waiting for the old graph to be dropped.
            q.release();
        }
        self.exporter.shutdown().await;
    }

    /// Takes the export budget for a batch going into the in-memory queue: at once, or (with
    /// `block_on_overflow`) waiting for room until the queue closes. `None` = refused.
    async fn reserve(&self, c: &Counted) -> Option<export_budget::Held> {
        let q = self.queue.as_ref()?;
        if matches!(q, SendingQueue::Persistent(_)) {
            return None;
        }
        if self.block_on_overflow {
            self.holder.reserve_wait(c.bytes as u64, || !q.is_closed()).await
        } else {
            self.holder.try_reserve(c.bytes as u64)
        }
    }

    /// Whether `batch` is the very batch (same allocation, still alive) this exporter last queued.
    fn already_accepted(&self, batch: &Arc<Batch>) -> bool {
        let last = self.last_accepted.lock().unwrap_or_else(|p| p.into_inner());
        last.upgrade().is_some_and(|l| Arc::ptr_eq(&l, batch))
    }

    fn persistent(&self) -> bool {
        matches!(self.queue, Some(SendingQueue::Persistent(_)))
    }

    async fn send(&self, b: &Batch, items: usize) -> Result<(), ExportError> {
        self.send_counted(b, items).await.0
    }

    /// One batch (of `items` items) through retry and timeout; counts it once as sent or failed,
    /// or (persistent queue, cut by shutdown) as neither: then the second value is true.
    async fn send_counted(&self, b: &Batch, items: usize) -> (Result<(), ExportError>, bool) {
        let items = items as u64;
        let persistent = self.persistent();
        let mut stopping = self.stopping_tx.subscribe();
        let mut cut = false;
        let started = Instant::now();
        let mut backoff = retry::Backoff::new(&self.retry);
        let mut abort = self.abort_rx.clone();
        self.telemetry.in_flight.add(1);
        let mut reason_dropped = DropReason::BackendError;
        let result = loop {
            let one = async {
                match self.timeout {
                    Some(t) => match tokio::time::timeout(t, self.exporter.export(b)).await {
                        Ok(r) => r,
                        Err(_) => Err(ExportError::retryable(format!("request timed out after {t:?}"))),
                    },
                    None => self.exporter.export(b).await,
                }
            };
            // At the shutdown deadline the attempt under way is cut, not waited for.
            let attempt = tokio::select! {
                biased;
                _ = abort.wait_for(|a| *a) => {
                    reason_dropped = DropReason::Deadline;
                    cut = true;
                    break Err(ExportError::Permanent("shutdown deadline passed during the export".into()));
                }
                r = one => r,
            };
            match attempt {
                Ok(()) => break Ok(()),
                Err(ExportError::Dropped { items: n, reason }) => {
                    let n = (n as u64).min(items);
                    self.telemetry.sent.add(items - n);
                    self.telemetry.send_failed.add(n);
                    record_drop("exporter", &self.id, self.signal.as_str(), DropReason::BackendError, n);
                    if self.log_dropped.allow(60) {
                        tracing::warn!(exporter = %self.id, data_type = %self.signal, dropped_items = n, error = %reason,
                            "Dropping data that the backend cannot accept.");
                    }
                    self.telemetry.in_flight.add(-1);
                    return (Ok(()), false);
                }
                Err(ExportError::Permanent(m)) => {
                    break Err(ExportError::Permanent(format!("not retryable error: {m}")))
                }
                Err(ExportError::Retryable { reason, retry_after }) => {
                    if !self.retry.enabled {
                        break Err(ExportError::Permanent(reason));
                    }
                    let wait = backoff.next(retry_after);
                    let max = self.retry.max_elapsed_time.0;
                    if !max.is_zero() && started.elapsed() + wait > max {
                        break Err(ExportError::Permanent(format!("no more retries left: {reason}")));
                    }
                    if *abort.borrow() || (persistent && *stopping.borrow()) {
                        reason_dropped = DropReason::Deadline;
                        cut = true;
                        break Err(ExportError::Permanent(format!(
                            "shutdown deadline passed while retrying: {reason}"
                        )));
                    }
                    tracing::info!(exporter = %self.id, data_type = %self.signal, error = %reason, interval = ?wait,
                        "Exporting failed. Will retry the request after interval.");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = abort.wait_for(|a| *a) => {}
                        _ = stopping.wait_for(|s| *s), if persistent => {}
                    }
                    if *abort.borrow() || (persistent && *stopping.borrow()) {
                        reason_dropped = DropReason::Deadline;
                        cut = true;
                        break Err(ExportError::Permanent(format!("shutdown while retrying: {reason}")));
                    }
                }
            }
        };
        self.telemetry.in_flight.add(-1);
        if cut && persistent {
            // Still on disk: neither sent nor failed; the next start sends it.
            return (result, true);
        }
        match &result {
            Ok(()) => self.telemetry.sent.add(items),
            Err(e) => {
                self.telemetry.sent.add(0);
                self.telemetry.send_failed.add(items);
                record_drop("exporter", &self.id, self.signal.as_str(), reason_dropped, items);
                if self.log_failed.allow(5) {
                    tracing::error!(exporter = %self.id, data_type = %self.signal, error = %e, dropped_items = items,
                        "Exporting failed. Dropping data.");
                }
            }
        }
        (result, false)
    }
}

#[async_trait]
impl Consumer for ExporterHelper {
    async fn consume(&self, batch: Arc<Batch>) -> Result<(), ConsumeError> {
        // Counted once here; the queue and the send keep the count with the batch.
        let items = batch.items();
        let Some(q) = &self.queue else {
            // No queue: the caller waits for the export and sees its error.
            return self.send(&batch, items).await.map_err(|e| match e {
                ExportError::Retryable { reason, retry_after } => {
                    ConsumeError::Overloaded { reason, retry_after: retry_after.unwrap_or(Duration::from_secs(1)) }
                }
                ExportError::Permanent(m) | ExportError::Dropped { reason: m, .. } => ConsumeError::Permanent(m),
            });
        };
        if caller_retries() && self.already_accepted(&batch) {
            return Ok(());
        }
        let accepted = Arc::downgrade(&batch);
        let mut queued = Counted::new(batch, items);
        let pushed = match (q, self.reserve(&queued).await) {
            // A persistent queue holds its data on disk: only its workers' batches count.
            (SendingQueue::Persistent(_), _) => q.push(queued, self.block_on_overflow).await,
            (SendingQueue::Memory(_), Some(held)) => {
                queued.held = Some(Arc::new(held));
                q.push(queued, self.block_on_overflow).await
            }
            (SendingQueue::Memory(_), None) if q.is_closed() => Err(PushError::Closed),
            (SendingQueue::Memory(_), None) => Err(PushError::Budget),
        };
        match pushed {
            Ok(()) => {
                self.telemetry.queue_size.set(q.size() as i64);
                *self.last_accepted.lock().unwrap_or_else(|p| p.into_inner()) = accepted;
                Ok(())
            }
            Err(e) => {
                let reason = match e {
                    PushError::Full => "sending queue is full",
                    PushError::Budget => "the exporters' memory budget is full (--export-budget-mib)",
                    PushError::TooLarge => "element size too large",
                    PushError::Closed => "the exporter is shutting down",
                    PushError::Storage => "the persistent queue cannot write",
                };
                // `enqueue_failed` counts data the queue refused for good (Go: dropped, or
                // refused to the client). A batch processor holding the batch retries a full
                // queue, so that refusal loses nothing and is not counted; it counts once, on
                // its last attempt, if it finally gives up.
                if matches!(e, PushError::Full | PushError::Budget) && caller_retries() {
                    tracing::debug!(exporter = %self.id, data_type = %self.signal, items,
                        "sending queue is full; the batch processor holds the data and retries");
                    return Err(ConsumeError::overloaded(reason));
                }
                self.telemetry.enqueue_failed.add(items as u64);
                if self.log_full.allow(5) {
                    tracing::warn!(exporter = %self.id, data_type = %self.signal, rejected_items = items, error = reason,
                        "Exporting failed. Rejecting data.");
                }
                Err(match e {
                    PushError::Closed => ConsumeError::Shutdown,
                    PushError::TooLarge => ConsumeError::Permanent(reason.into()),
                    PushError::Full | PushError::Budget | PushError::Storage => ConsumeError::overloaded(reason),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
