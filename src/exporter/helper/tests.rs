//! Unit tests of the exporter helper: enqueue refusals and the export budget.

use super::*;
use crate::pipeline::consumer::consume_will_retry;
use crate::pipeline::fanout::Fanout;
use crate::telemetry::metrics::Registry;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

struct Idle;

#[async_trait]
impl Exporter for Idle {
    async fn export(&self, _: &Batch) -> Result<(), ExportError> {
        Ok(())
    }
}

fn spans(n: usize) -> Arc<Batch> {
    Arc::new(Batch::Traces(vec![ResourceSpans {
        scope_spans: vec![ScopeSpans { spans: vec![Span::default(); n], ..Default::default() }],
        ..Default::default()
    }]))
}

#[tokio::test]
async fn a_full_queue_counts_enqueue_failed_only_when_the_caller_will_not_retry() {
    let reg = Registry::new();
    let id = ComponentId::parse("otlp").unwrap();
    let telemetry = ExporterTelemetry::new(&reg, &id, Signal::Traces, &[]);
    let failed = telemetry.enqueue_failed.clone();
    let queue = QueueConfig { queue_size: 1, ..QueueConfig::enabled_default() };
    // Not started: nothing drains the queue, so it stays full after one batch.
    let h = ExporterHelper::new(
        id,
        Signal::Traces,
        Arc::new(Idle),
        telemetry,
        HelperSettings { queue, retry: RetryConfig::default(), timeout: None },
    );
    h.consume(spans(2)).await.unwrap();
    // A batch processor holding the batch (through a fan-out in between): not a loss.
    let through: Arc<dyn Consumer> = Arc::new(Fanout::new(vec![h.clone(), h.clone()]));
    let r = consume_will_retry(through.as_ref(), spans(3)).await;
    assert!(matches!(r, Err(ConsumeError::Overloaded { .. })), "{r:?}");
    assert_eq!(failed.get(), 0);
    // Refused for good (a receiver's request, or the batch processor's last attempt).
    let r = h.consume(spans(3)).await;
    assert!(matches!(r, Err(ConsumeError::Overloaded { .. })), "{r:?}");
    assert_eq!(failed.get(), 3);
}

/// Answers after `release` is notified (a backend that is slow on demand).
struct Gate(tokio::sync::Semaphore);

#[async_trait]
impl Exporter for Gate {
    async fn export(&self, _: &Batch) -> Result<(), ExportError> {
        let _ = self.0.acquire().await.map(|p| p.forget());
        Ok(())
    }
}

#[tokio::test]
async fn the_export_budget_is_held_from_enqueue_until_sent_and_refusal_is_retryable() {
    let reg = Registry::new();
    let budget: &'static ExportBudget = Box::leak(Box::new(ExportBudget::new(1)));
    let make = |name: &str, gate: Arc<Gate>| {
        let id = ComponentId::parse(name).unwrap();
        let telemetry = ExporterTelemetry::new(&reg, &id, Signal::Traces, &[]);
        let failed = telemetry.enqueue_failed.clone();
        let s = HelperSettings { queue: QueueConfig::enabled_default(), retry: RetryConfig::default(), timeout: None };
        let q = SendingQueue::Memory(Arc::new(BoundedQueue::new(1000, s.queue.sizer)));
        let h = ExporterHelper::build(id, Signal::Traces, gate, telemetry, s, Some(q), budget);
        h.start();
        (h, failed)
    };
    let (gate_a, gate_b) =
        (Arc::new(Gate(tokio::sync::Semaphore::new(0))), Arc::new(Gate(tokio::sync::Semaphore::new(0))));
    let (a, a_failed) = make("otlp/a", gate_a.clone());
    let (b, _) = make("otlp/b", gate_b.clone());
    let one = spans(10);
    let size = one.wire_size() as u64;
    // The budget (1 byte) is smaller than a batch: each idle exporter may still take one.
    a.consume(Arc::clone(&one)).await.unwrap();
    b.consume(Arc::clone(&one)).await.unwrap();
    assert_eq!(budget.held(), 2 * size);
    // a's worker took its batch off the queue: it still holds the bytes while sending.
    assert!(crate::tests_util::wait(|| a.telemetry.in_flight.get() == 1).await);
    assert_eq!(a.holder.held(), size);
    // Full: refused retryably; a batch processor's retry is not counted, a final refusal is.
    let r = consume_will_retry(a.as_ref(), spans(10)).await;
    assert!(matches!(r, Err(ConsumeError::Overloaded { .. })), "{r:?}");
    assert_eq!(a_failed.get(), 0);
    let r = a.consume(spans(10)).await;
    assert!(matches!(r, Err(ConsumeError::Overloaded { .. })), "{r:?}");
    assert_eq!(a_failed.get(), 10);
    // Sent: the bytes come back and wake whoever waits for them.
    let freed = budget.freed();
    gate_a.0.add_permits(1);
    freed.await;
    assert!(crate::tests_util::wait(|| a.holder.held() == 0).await);
    assert_eq!(budget.held(), size);
    a.consume(spans(10)).await.unwrap();
    gate_a.0.add_permits(1);
    gate_b.0.add_permits(1);
    assert!(crate::tests_util::wait(|| budget.held() == 0).await);
    assert_eq!(budget.peak(), 2 * size);
    a.shutdown(Instant::now() + Duration::from_secs(1)).await;
    b.shutdown(Instant::now() + Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_fan_out_retried_after_one_branch_refused_does_not_queue_twice_in_the_other() {
    let reg = Registry::new();
    let make = |name: &str, queue_size: usize| {
        let id = ComponentId::parse(name).unwrap();
        let telemetry = ExporterTelemetry::new(&reg, &id, Signal::Traces, &[]);
        let queue = QueueConfig { queue_size, ..QueueConfig::enabled_default() };
        // Not started: what is queued stays queued.
        let s = HelperSettings { queue, retry: RetryConfig::default(), timeout: None };
        ExporterHelper::new(id, Signal::Traces, Arc::new(Idle), telemetry, s)
    };
    let (a, b) = (make("otlp/a", 10), make("otlp/b", 1));
    b.consume(spans(1)).await.unwrap();
    let fan: Arc<dyn Consumer> = Arc::new(Fanout::new(vec![a.clone(), b.clone()]));
    let held = spans(2);
    for _ in 0..3 {
        let r = consume_will_retry(fan.as_ref(), Arc::clone(&held)).await;
        assert!(matches!(r, Err(ConsumeError::Overloaded { .. })), "{r:?}");
    }
    assert_eq!(a.queue.as_ref().map(|q| q.size()), Some(1));
    // Another batch with the same content is new data.
    a.consume(spans(2)).await.unwrap();
    assert_eq!(a.queue.as_ref().map(|q| q.size()), Some(2));
}

#[tokio::test]
async fn a_batch_the_full_queue_refused_gives_its_bytes_back_without_waking_waiters() {
    // A wake-up there made the batch processor retry at once, forever (a spin that hung the
    // runtime): only a batch that was sent wakes it.
    let reg = Registry::new();
    let budget: &'static ExportBudget = Box::leak(Box::new(ExportBudget::new(1 << 20)));
    let id = ComponentId::parse("otlp").unwrap();
    let telemetry = ExporterTelemetry::new(&reg, &id, Signal::Traces, &[]);
    let s = HelperSettings {
        queue: QueueConfig { queue_size: 1, ..QueueConfig::enabled_default() },
        retry: RetryConfig::default(),
        timeout: None,
    };
    let q = SendingQueue::Memory(Arc::new(BoundedQueue::new(1, s.queue.sizer)));
    let h = ExporterHelper::build(id, Signal::Traces, Arc::new(Idle), telemetry, s, Some(q), budget);
    h.consume(spans(1)).await.unwrap();
    let held = budget.held();
    let freed = budget.freed();
    let r = consume_will_retry(h.as_ref(), spans(1)).await;
    assert!(matches!(r, Err(ConsumeError::Overloaded { .. })), "{r:?}");
    assert_eq!(budget.held(), held);
    assert!(tokio::time::timeout(Duration::from_millis(100), freed).await.is_err());
    // Sent: the wake-up comes.
    let freed = budget.freed();
    h.start();
    assert!(tokio::time::timeout(Duration::from_secs(5), freed).await.is_ok());
    h.shutdown(Instant::now() + Duration::from_secs(1)).await;
}
