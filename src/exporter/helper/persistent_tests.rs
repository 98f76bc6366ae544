//! Tests of the persistent sending queue (`persistent.rs`).

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
    assert_eq!(q.try_push(&spans(11)).await, Err(PushError::TooLarge));
    q.try_push(&spans(6)).await.unwrap();
    assert_eq!(q.try_push(&spans(5)).await, Err(PushError::Full));
    let t = q.pop().await.unwrap();
    assert_eq!((t.counted.items, t.counted.batch.items()), (6, 6));
    // Being sent still counts (Go's queueSize falls when the item is done).
    assert_eq!(q.try_push(&spans(5)).await, Err(PushError::Full));
    q.done(&t);
    q.try_push(&spans(5)).await.unwrap();
    assert_eq!(q.size(), 5);

    // The byte cap: 1 KiB holds a few small batches, not many.
    let dir = tempfile::tempdir().unwrap();
    let q = queue(dir.path(), 1000, Sizer::Requests, 1024);
    let mut accepted = 0;
    while q.try_push(&spans(3)).await.is_ok() {
        accepted += 1;
        assert!(accepted < 100);
    }
    assert_eq!(q.try_push(&spans(3)).await, Err(PushError::Full));
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

fn settings(dir: &std::path::Path) -> OpenSettings {
    OpenSettings {
        directory: dir.to_path_buf(),
        create_directory: false,
        mode: 0o750,
        lock_timeout: Duration::from_millis(10),
        log: LogOptions { fsync: false, segment_bytes: 1 << 20 },
        max_bytes: 1 << 20,
    }
}

#[tokio::test]
async fn a_pending_queue_holds_writes_until_the_old_releases_then_sends_old_first() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new();
    let id = ComponentId::parse("otlp").unwrap();
    let old = queue(dir.path(), 100, Sizer::Requests, 1 << 20);
    old.try_push(&spans(1)).await.unwrap();
    old.try_push(&spans(2)).await.unwrap();
    let cut = old.pop().await.unwrap();
    assert_eq!(cut.counted.items, 1);
    let open = Box::pin(crate::storage::open_after_release(settings(dir.path()), "c".into()));
    let new = PersistentQueue::opening_later(&reg, &id, Signal::Traces, 100, Sizer::Requests, open);
    let writer = {
        let new = Arc::clone(&new);
        tokio::spawn(async move { new.try_push(&spans(3)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!writer.is_finished(), "the write waits for the log");
    // The old one stops with a batch taken and not acknowledged: it stays on disk.
    old.release();
    old.done(&cut);
    let pushed = tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap();
    assert_eq!(pushed, Ok(()));
    let mut got = Vec::new();
    for _ in 0..3 {
        let t = tokio::time::timeout(Duration::from_secs(5), new.pop()).await.unwrap().unwrap();
        got.push(t.counted.items);
        new.done(&t);
    }
    assert_eq!(got, vec![1, 2, 3], "what the old one left, in order, then the new");
    assert_eq!(new.redelivered.get(), 1);

    // Dropped before it opened: the log goes to the next opener.
    drop(new);
    let holder = queue(dir.path(), 100, Sizer::Requests, 1 << 20);
    let open = Box::pin(crate::storage::open_after_release(settings(dir.path()), "c".into()));
    let unused = PersistentQueue::opening_later(&reg, &id, Signal::Traces, 100, Sizer::Requests, open);
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(unused);
    holder.release();
    let next = crate::storage::open_after_release(settings(dir.path()), "c".into());
    assert!(tokio::time::timeout(Duration::from_secs(5), next).await.unwrap().is_ok());
}

#[tokio::test]
async fn what_was_not_done_is_there_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let q = queue(dir.path(), 100, Sizer::Requests, 1 << 20);
        for n in 1..=3 {
            q.try_push(&spans(n)).await.unwrap();
        }
        let t = q.pop().await.unwrap();
        q.done(&t);
    }
    let q = queue(dir.path(), 100, Sizer::Requests, 1 << 20);
    assert_eq!(q.size(), 2);
    assert_eq!(q.pop().await.unwrap().counted.items, 2);
    assert_eq!(q.pop().await.unwrap().counted.items, 3);
}
