//! The persistent sending queue (Go: exporterhelper persistent_queue.go) on a `file_storage`
//! queue log. A batch is encoded as its OTLP export request and appended before the caller is
//! answered; workers read the oldest record, and acknowledge it once sent or given up for good
//! (Go deletes it then, whatever the error). What was being sent when the process stopped is
//! sent again at the next start (counted in `oxidot_exporter_queue_redelivered_items`). Go puts
//! those back at the end of the queue; oxidot replays everything in the order it was written.
//!
//! Capacity counts what is waiting or being sent, in sizer units, as Go's `queueSize`; the disk
//! use is bounded too (`file_storage` `max_size_mib`).

use super::config::Sizer;
use super::queue::{Counted, PushError};
use crate::component::{ComponentId, Signal};
use crate::pipeline::data::Batch;
use crate::storage::log::{Popped, QueueLog};
use crate::storage::OpenedLog;
use crate::telemetry::logging::RateLimit;
use crate::telemetry::metrics::{Counter, Gauge, Registry};
use crate::telemetry::names::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The batch as the OTLP export request of its signal.
pub fn encode(b: &Batch) -> Vec<u8> {
    match b {
        Batch::Traces(rs) => ExportTraceServiceRequest { resource_spans: rs.clone() }.encode_to_vec(),
        Batch::Metrics(rm) => ExportMetricsServiceRequest { resource_metrics: rm.clone() }.encode_to_vec(),
        Batch::Logs(rl) => ExportLogsServiceRequest { resource_logs: rl.clone() }.encode_to_vec(),
    }
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
    opened: OpenedLog,
    /// Waiting and being sent, in sizer units.
    size: usize,
    closed: bool,
}

pub struct PersistentQueue {
    id: ComponentId,
    signal: Signal,
    state: Mutex<State>,
    capacity: usize,
    sizer: Sizer,
    readable: Notify,
    writable: Notify,
    disk_bytes: Gauge,
    corrupt: Counter,
    log_io: RateLimit,
    fsync: bool,
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
        let r = &opened.report;
        corrupt.add(r.corrupt);
        redelivered.add(r.redelivered_meta);
        disk_bytes.set(opened.log.disk_bytes() as i64);
        if r.corrupt > 0 {
            tracing::error!(exporter = %id, data_type = %signal, corrupt_regions = r.corrupt, skipped_bytes = r.corrupt_bytes,
                directory = %opened.dir.display(), "Persistent queue: corrupt data skipped (a write cut short?)");
        }
        if r.pending > 0 {
            tracing::info!(exporter = %id, data_type = %signal, requests = r.pending, items = r.pending_meta,
                redelivered_items = r.redelivered_meta, "Persistent queue: sending what the last run left");
        }
        let fsync = opened.log.fsync();
        let size = match sizer {
            Sizer::Items => r.pending_meta as usize,
            Sizer::Requests | Sizer::Bytes => r.pending as usize,
        };
        PersistentQueue {
            id: id.clone(),
            signal,
            state: Mutex::new(State { opened, size, closed: false }),
            capacity,
            sizer,
            readable: Notify::new(),
            writable: Notify::new(),
            disk_bytes,
            corrupt,
            log_io: RateLimit::new(),
            fsync,
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

    /// Writes the batch, or refuses it without waiting.
    pub fn try_push(&self, c: &Counted) -> Result<(), PushError> {
        let bytes = encode(&c.batch);
        self.blocking(|| self.push_encoded(c.items, &bytes))
    }

    /// Runs `f` (disk I/O) off the async worker when every write is synced (milliseconds each);
    /// page-cache writes take microseconds and run in place.
    fn blocking<T>(&self, f: impl FnOnce() -> T) -> T {
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if self.fsync && multi {
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
        let mut st = self.lock();
        if st.closed {
            return Err(PushError::Closed);
        }
        if st.size + cost > self.capacity {
            return Err(PushError::Full);
        }
        let need = QueueLog::record_bytes(bytes.len());
        if need > st.opened.max_bytes {
            return Err(PushError::TooLarge);
        }
        if st.opened.log.disk_bytes() + need > st.opened.max_bytes {
            return Err(PushError::Full);
        }
        let items = u32::try_from(items).unwrap_or(u32::MAX);
        if let Err(e) = st.opened.log.append(items, bytes) {
            if self.log_io.allow(5) {
                tracing::error!(exporter = %self.id, data_type = %self.signal, error = %e,
                    "Persistent queue: cannot write the batch");
            }
            return Err(PushError::Storage);
        }
        st.size += cost;
        self.disk_bytes.set(st.opened.log.disk_bytes() as i64);
        drop(st);
        self.readable.notify_one();
        Ok(())
    }

    /// Writes the batch, waiting for room (`block_on_overflow: true`).
    pub async fn push_wait(&self, c: &Counted) -> Result<(), PushError> {
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
                match st.opened.log.pop() {
                    Ok(Some(Popped::Record { seq, meta, payload })) => {
                        let cost = self.cost(meta as usize);
                        match decode(self.signal, &payload) {
                            Ok(b) => {
                                self.disk_bytes.set(st.opened.log.disk_bytes() as i64);
                                drop(st);
                                self.readable.notify_one();
                                let counted = Counted { batch: Arc::new(b), items: meta as usize };
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
        let _ = st.opened.log.ack(seq);
        self.readable.notify_one();
    }

    /// The batch was sent or given up for good: it is not sent again.
    pub fn done(&self, t: &Taken) {
        self.blocking(|| self.ack(t))
    }

    fn ack(&self, t: &Taken) {
        let mut st = self.lock();
        st.size = st.size.saturating_sub(t.cost);
        if let Err(e) = st.opened.log.ack(t.seq) {
            if self.log_io.allow(5) {
                tracing::error!(exporter = %self.id, data_type = %self.signal, error = %e,
                    "Persistent queue: cannot record a sent batch (it may be sent again after a restart)");
            }
        }
        self.disk_bytes.set(st.opened.log.disk_bytes() as i64);
        drop(st);
        self.writable.notify_one();
    }

    /// Stops handing out and accepting; what is left stays on disk.
    pub fn close(&self) {
        self.lock().closed = true;
        self.readable.notify_waiters();
        self.writable.notify_waiters();
    }

    pub fn size(&self) -> usize {
        self.lock().size
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::log::LogOptions;
    use crate::storage::{open, OpenSettings};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use std::time::Duration;

    fn spans(n: usize) -> Counted {
        let b = Batch::Traces(vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans: vec![Span::default(); n], ..Default::default() }],
            ..Default::default()
        }]);
        Counted::from(Arc::new(b))
    }

    fn queue(dir: &std::path::Path, capacity: usize, sizer: Sizer, max_bytes: u64) -> PersistentQueue {
        let s = OpenSettings {
            directory: dir.to_path_buf(),
            create_directory: false,
            mode: 0o750,
            lock_timeout: Duration::from_millis(10),
            log: LogOptions { fsync: false, segment_bytes: 1 << 20 },
            max_bytes,
        };
        let reg = Registry::new();
        let id = ComponentId::parse("otlp").unwrap();
        PersistentQueue::new(&reg, &id, Signal::Traces, open(&s, "c").unwrap(), capacity, sizer)
    }

    #[tokio::test]
    async fn capacity_in_items_and_the_byte_cap_refuse_and_acks_make_room() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path(), 10, Sizer::Items, 1 << 20);
        assert_eq!(q.try_push(&spans(11)), Err(PushError::TooLarge));
        q.try_push(&spans(6)).unwrap();
        assert_eq!(q.try_push(&spans(5)), Err(PushError::Full));
        let t = q.pop().await.unwrap();
        assert_eq!((t.counted.items, t.counted.batch.items()), (6, 6));
        // Being sent still counts (Go's queueSize falls when the item is done).
        assert_eq!(q.try_push(&spans(5)), Err(PushError::Full));
        q.done(&t);
        q.try_push(&spans(5)).unwrap();
        assert_eq!(q.size(), 5);

        // The byte cap: 1 KiB holds a few small batches, not many.
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path(), 1000, Sizer::Requests, 1024);
        let mut accepted = 0;
        while q.try_push(&spans(3)).is_ok() {
            accepted += 1;
            assert!(accepted < 100);
        }
        assert_eq!(q.try_push(&spans(3)), Err(PushError::Full));
        assert!(accepted > 0 && q.disk_bytes.get() <= 1024, "{accepted} {}", q.disk_bytes.get());
    }

    #[test]
    fn every_signal_round_trips_through_its_otlp_request() {
        use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        use opentelemetry_proto::tonic::metrics::v1::{
            metric, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
        };
        let logs = Batch::Logs(vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![LogRecord::default(); 2], ..Default::default() }],
            ..Default::default()
        }]);
        let metrics = Batch::Metrics(vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "m".into(),
                    data: Some(metric::Data::Gauge(Gauge { data_points: vec![NumberDataPoint::default(); 3] })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }]);
        let traces = spans(4).batch;
        for (b, n) in [(&logs, 2), (&metrics, 3), (traces.as_ref(), 4)] {
            let back = decode(b.signal(), &encode(b)).unwrap();
            assert_eq!(back.items(), n);
            assert_eq!(encode(&back), encode(b));
        }
        assert!(decode(Signal::Traces, &[0xff, 0xff, 0xff]).is_err());
    }

    #[tokio::test]
    async fn what_was_not_done_is_there_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let q = queue(dir.path(), 100, Sizer::Requests, 1 << 20);
            for n in 1..=3 {
                q.try_push(&spans(n)).unwrap();
            }
            let t = q.pop().await.unwrap();
            q.done(&t);
        }
        let q = queue(dir.path(), 100, Sizer::Requests, 1 << 20);
        assert_eq!(q.size(), 2);
        assert_eq!(q.pop().await.unwrap().counted.items, 2);
        assert_eq!(q.pop().await.unwrap().counted.items, 3);
    }
}
