//! The persistent sending queue (Go: exporterhelper persistent_queue.go) on a `file_storage`
//! queue log. A batch is encoded as its OTLP export request and appended before the caller is
//! answered; workers read the oldest record, and acknowledge it once sent or given up for good
//! (Go deletes it then, whatever the error). What was being sent when the process stopped is
//! sent again at the next start (counted in `oxidot_exporter_queue_redelivered_items`). Go puts
//! those back at the end of the queue; oxidot replays everything in the order it was written.
//!
//! Capacity counts what is waiting or being sent, in sizer units, as Go's `queueSize`; the disk
//! use is bounded too (`file_storage` `max_size_mib`).
//!
//! Across a SIGHUP reload the new exporter's queue is built *pending* when the old generation
//! still has the log open: it opens the log once the old exporter's shutdown releases it (so
//! it sends what the old one left, first). Until then a batch waits for the log before its
//! sender is answered; the old release is bounded by the reload's drain deadline.

use super::config::Sizer;
use super::queue::{Counted, PushError};
use crate::component::{ComponentId, Signal};
use crate::pipeline::data::Batch;
use crate::storage::log::{Popped, QueueLog};
use crate::storage::OpenedLog;
use crate::telemetry::logging::RateLimit;
use crate::telemetry::metrics::{Counter, Gauge, Registry};
use crate::telemetry::names::*;
use futures::future::BoxFuture;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The batch as the OTLP export request of its signal.
pub fn encode(b: &Batch) -> Vec<u8> {
    let mut buf = Vec::new();
    b.encode_request(&mut buf);
    buf
}

pub fn decode(signal: Signal, bytes: &[u8]) -> Result<Batch, prost::DecodeError> {
    Ok(match signal {
        Signal::Traces => Batch::Traces(ExportTraceServiceRequest::decode(bytes)?.resource_spans),
        Signal::Metrics => Batch::Metrics(ExportMetricsServiceRequest::decode(bytes)?.resource_metrics),
        Signal::Logs => Batch::Logs(ExportLogsServiceRequest::decode(bytes)?.resource_logs),
    })
}

/// A batch taken by a worker, to be acknowledged with `done`.
pub struct Taken {
    pub counted: Counted,
    pub seq: u64,
    pub cost: usize,
}

struct State {
    /// `None` while pending (the previous generation still holds the log) and once released.
    opened: Option<OpenedLog>,
    /// Waiting and being sent, in sizer units.
    size: usize,
    closed: bool,
    /// Opening the pending log failed: writes are refused.
    failed: bool,
}

pub struct PersistentQueue {
    id: ComponentId,
    signal: Signal,
    state: Mutex<State>,
    capacity: usize,
    sizer: Sizer,
    readable: Notify,
    writable: Notify,
    /// The pending log opened (or failed, or the queue closed).
    opened: Notify,
    disk_bytes: Gauge,
    corrupt: Counter,
    redelivered: Counter,
    log_io: RateLimit,
    fsync: AtomicBool,
    /// The task waiting for a pending log; stopped at close.
    opener: Mutex<Option<tokio::task::AbortHandle>>,
}

impl PersistentQueue {
    /// Takes over an opened log: reports what opening found and counts what is waiting.
    pub fn new(
        reg: &Registry,
        id: &ComponentId,
        signal: Signal,
        opened: OpenedLog,
        capacity: usize,
        sizer: Sizer,
    ) -> PersistentQueue {
        let q = Self::pending(reg, id, signal, capacity, sizer);
        q.attach(opened);
        q
    }

    /// A queue whose log `open` gives later (when the previous generation releases it).
    pub fn opening_later(
        reg: &Registry,
        id: &ComponentId,
        signal: Signal,
        capacity: usize,
        sizer: Sizer,
        open: BoxFuture<'static, Result<OpenedLog, String>>,
    ) -> Arc<PersistentQueue> {
        let q = Arc::new(Self::pending(reg, id, signal, capacity, sizer));
        // Weak: a queue dropped unused (a reload whose graph failed to build) aborts this in its
        // `Drop` and never takes the log.
        let weak = Arc::downgrade(&q);
        let task = tokio::spawn(async move {
            let opened = open.await;
            let Some(me) = weak.upgrade() else { return };
            match opened {
                Ok(o) => me.attach(o),
                Err(e) => {
                    tracing::error!(exporter = %me.id, data_type = %me.signal, error = %e,
                        "Persistent queue: cannot open the queue after the reload; refusing data");
                    me.lock().failed = true;
                    me.opened.notify_waiters();
                }
            }
        });
        *q.opener.lock().unwrap_or_else(|p| p.into_inner()) = Some(task.abort_handle());
        q
    }

    fn pending(reg: &Registry, id: &ComponentId, signal: Signal, capacity: usize, sizer: Sizer) -> PersistentQueue {
        let labels = vec![(LABEL_EXPORTER, id.to_string()), (LABEL_DATA_TYPE, signal.as_str().to_string())];
        let disk_bytes = reg.gauge(
            OXIDOT_EXPORTER_QUEUE_DISK_BYTES,
            "Bytes the persistent sending queue holds on disk (segments and ack file).",
            labels.clone(),
        );
        let corrupt = reg.counter(
            OXIDOT_EXPORTER_QUEUE_CORRUPT,
            "Corrupt regions of the persistent sending queue skipped (a torn tail after a kill is one).",
            labels.clone(),
        );
        let redelivered = reg.counter(
            OXIDOT_EXPORTER_QUEUE_REDELIVERED,
            "Items sent again after a restart because they were being sent when the process stopped.",
            labels,
        );
        PersistentQueue {
            id: id.clone(),
            signal,
            state: Mutex::new(State { opened: None, size: 0, closed: false, failed: false }),
            capacity,
            sizer,
            readable: Notify::new(),
            writable: Notify::new(),
            opened: Notify::new(),
            disk_bytes,
            corrupt,
            redelivered,
            log_io: RateLimit::new(),
            fsync: AtomicBool::new(false),
            opener: Mutex::new(None),
        }
    }

    /// Takes the log: reports what opening found and counts what is waiting. Closed meanwhile:
    /// the log is released at once (for the next generation).
    fn attach(&self, opened: OpenedLog) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        let r = &opened.report;
        self.corrupt.add(r.corrupt);
        self.redelivered.add(r.redelivered_meta);
        self.disk_bytes.set(opened.log.disk_bytes() as i64);
        let (id, signal) = (&self.id, self.signal);
        if r.corrupt > 0 {
            tracing::error!(exporter = %id, data_type = %signal, corrupt_regions = r.corrupt, skipped_bytes = r.corrupt_bytes,
                directory = %opened.dir.display(), "Persistent queue: corrupt data skipped (a write cut short?)");
        }
        if r.pending > 0 {
            tracing::info!(exporter = %id, data_type = %signal, requests = r.pending, items = r.pending_meta,
                redelivered_items = r.redelivered_meta, "Persistent queue: sending what the last run left");
        }
        self.fsync.store(opened.log.fsync(), Ordering::Relaxed);
        st.size = match self.sizer {
            Sizer::Items => r.pending_meta as usize,
            Sizer::Requests | Sizer::Bytes => r.pending as usize,
        };
        st.opened = Some(opened);
        drop(st);
        self.opened.notify_waiters();
        self.readable.notify_one();
    }

    /// Waits until the log is open; the error when the queue closed or the log failed to open.
    async fn wait_open(&self) -> Result<(), PushError> {
        loop {
            let notified = self.opened.notified();
            {
                let st = self.lock();
                if st.closed {
                    return Err(PushError::Closed);
                }
                if st.opened.is_some() {
                    return Ok(());
                }
                if st.failed {
                    return Err(PushError::Storage);
                }
            }
            notified.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cost(&self, items: usize) -> usize {
        match self.sizer {
            Sizer::Requests | Sizer::Bytes => 1,
            Sizer::Items => items.max(1),
        }
    }

    /// Writes the batch, or refuses it without waiting for room (it waits for a pending log).
    pub async fn try_push(&self, c: &Counted) -> Result<(), PushError> {
        self.wait_open().await?;
        let bytes = encode(&c.batch);
        self.blocking(|| self.push_encoded(c.items, &bytes))
    }

    /// Runs `f` (disk I/O) off the async worker when every write is synced (milliseconds each);
    /// page-cache writes take microseconds and run in place.
    fn blocking<T>(&self, f: impl FnOnce() -> T) -> T {
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if self.fsync.load(Ordering::Relaxed) && multi {
            tokio::task::block_in_place(f)
        } else {
            f()
        }
    }

    fn push_encoded(&self, items: usize, bytes: &[u8]) -> Result<(), PushError> {
        let cost = self.cost(items);
        if cost > self.capacity {
            return Err(PushError::TooLarge);
        }
        let mut guard = self.lock();
        let st = &mut *guard;
        if st.closed {
            return Err(PushError::Closed);
        }
        if st.size + cost > self.capacity {
            return Err(PushError::Full);
        }
        // Released by a shutdown that raced this write: refused as at close.
        let Some(opened) = st.opened.as_mut() else { return Err(PushError::Closed) };
        let need = QueueLog::record_bytes(bytes.len());
        if need > opened.max_bytes {
            return Err(PushError::TooLarge);
        }
        if opened.log.disk_bytes() + need > opened.max_bytes {
            return Err(PushError::Full);
        }
        let items = u32::try_from(items).unwrap_or(u32::MAX);
        if let Err(e) = opened.log.append(items, bytes) {
            if self.log_io.allow(5) {
                tracing::error!(exporter = %self.id, data_type = %self.signal, error = %e,
                    "Persistent queue: cannot write the batch");
            }
            return Err(PushError::Storage);
        }
        self.disk_bytes.set(opened.log.disk_bytes() as i64);
        st.size += cost;
        drop(guard);
        self.readable.notify_one();
        Ok(())
    }

    /// Writes the batch, waiting for room (`block_on_overflow: true`).
    pub async fn push_wait(&self, c: &Counted) -> Result<(), PushError> {
        self.wait_open().await?;
        let bytes = encode(&c.batch);
        loop {
            let notified = self.writable.notified();
            match self.blocking(|| self.push_encoded(c.items, &bytes)) {
                Err(PushError::Full) => notified.await,
                other => return other,
            }
        }
    }

    /// The oldest waiting batch; `None` once closed (what is waiting stays for the next start).
    pub async fn pop(&self) -> Option<Taken> {
        loop {
            let notified = self.readable.notified();
            {
                let mut st = self.lock();
                if st.closed {
                    return None;
                }
                // Pending: `attach` wakes this up.
                let popped = match st.opened.as_mut() {
                    Some(o) => o.log.pop(),
                    None => Ok(None),
                };
                match popped {
                    Ok(Some(Popped::Record { seq, meta, payload })) => {
                        let cost = self.cost(meta as usize);
                        match decode(self.signal, &payload) {
                            Ok(b) => {
                                self.set_disk_bytes(&st);
                                drop(st);
                                self.readable.notify_one();
                                let counted = Counted::new(Arc::new(b), meta as usize);
                                return Some(Taken { counted, seq, cost });
                            }
                            Err(e) => self.skip_corrupt(&mut st, seq, cost, &e.to_string()),
                        }
                    }
                    Ok(Some(Popped::Corrupt { seq, meta })) => {
                        let cost = self.cost(meta as usize);
                        self.skip_corrupt(&mut st, seq, cost, "bad checksum");
                    }
                    Ok(None) => {}
                    Err(e) => {
                        if self.log_io.allow(5) {
                            tracing::error!(exporter = %self.id, data_type = %self.signal, error = %e,
                                "Persistent queue: cannot read");
                        }
                    }
                }
            }
            notified.await;
        }
    }

    /// A record that does not decode: dropped from the queue, counted and logged (Go deletes it
    /// and logs at debug).
    fn skip_corrupt(&self, st: &mut State, seq: u64, cost: usize, why: &str) {
        self.corrupt.add(1);
        tracing::error!(exporter = %self.id, data_type = %self.signal, error = why,
            "Persistent queue: a corrupt record was skipped");
        st.size = st.size.saturating_sub(cost);
        if let Some(o) = st.opened.as_mut() {
            let _ = o.log.ack(seq);
        }
        self.readable.notify_one();
    }

    fn set_disk_bytes(&self, st: &State) {
        if let Some(o) = &st.opened {
            self.disk_bytes.set(o.log.disk_bytes() as i64);
        }
    }

    /// The batch was sent or given up for good: it is not sent again.
    pub fn done(&self, t: &Taken) {
        self.blocking(|| self.ack(t))
    }

    fn ack(&self, t: &Taken) {
        let mut st = self.lock();
        st.size = st.size.saturating_sub(t.cost);
        // Released already: the record stays on disk and is sent again (counted as redelivered).
        let acked = st.opened.as_mut().map(|o| o.log.ack(t.seq));
        if let Some(Err(e)) = acked {
            if self.log_io.allow(5) {
                tracing::error!(exporter = %self.id, data_type = %self.signal, error = %e,
                    "Persistent queue: cannot record a sent batch (it may be sent again after a restart)");
            }
        }
        self.set_disk_bytes(&st);
        drop(st);
        self.writable.notify_one();
    }

    /// Stops handing out and accepting; what is left stays on disk.
    pub fn close(&self) {
        self.lock().closed = true;
        if let Some(t) = self.opener.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        self.readable.notify_waiters();
        self.writable.notify_waiters();
        self.opened.notify_waiters();
    }

    /// Closes the log and frees its lock (after the workers ended), for a reload's next
    /// generation; what was not acknowledged stays on disk.
    pub fn release(&self) {
        self.close();
        let log = self.lock().opened.take();
        drop(log);
    }

    pub fn size(&self) -> usize {
        self.lock().size
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Drop for PersistentQueue {
    fn drop(&mut self) {
        if let Some(t) = self.opener.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
    }
}

#[cfg(test)]
#[path = "persistent_tests.rs"]
mod tests;
