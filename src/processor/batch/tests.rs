use super::*;
use crate::telemetry::metrics::Registry;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::sync::Mutex;

/// Records what reaches it; can refuse the first `overloaded` calls.
#[derive(Default)]
struct Recorder {
    got: Mutex<Vec<usize>>,
    overloaded: Mutex<u32>,
    /// Per call: whether the caller said it would retry an `Overloaded` refusal.
    will_retry: Mutex<Vec<bool>>,
}

#[async_trait]
impl Consumer for Recorder {
    async fn consume(&self, b: Arc<Batch>) -> Result<(), ConsumeError> {
        self.will_retry.lock().unwrap().push(crate::pipeline::consumer::caller_retries());
        {
            let mut o = self.overloaded.lock().unwrap();
            if *o > 0 {
                *o -= 1;
                return Err(ConsumeError::overloaded("full"));
            }
        }
        self.got.lock().unwrap().push(b.items());
        Ok(())
    }
}

fn traces(n: usize) -> Arc<Batch> {
    Arc::new(Batch::Traces(vec![ResourceSpans {
        scope_spans: vec![ScopeSpans { spans: vec![Span::default(); n], ..Default::default() }],
        ..Default::default()
    }]))
}

fn cfg(size: u32, max: u32, timeout_ms: u64) -> BatchConfig {
    BatchConfig {
        send_batch_size: size,
        send_batch_max_size: max,
        timeout: GoDuration::from_millis(timeout_ms),
        ..Default::default()
    }
}

#[tokio::test]
async fn flushes_on_size_and_splits_at_max() {
    let rec = Arc::new(Recorder::default());
    let reg = Registry::new();
    let bp =
        BatchProcessor::new(ComponentId::new("batch"), Signal::Traces, cfg(10, 10, 10_000), rec.clone(), &reg, true);
    bp.consume(traces(4)).await.unwrap();
    bp.consume(traces(25)).await.unwrap();
    assert!(crate::tests_util::wait(|| rec.got.lock().unwrap().iter().sum::<usize>() >= 20).await);
    assert_eq!(rec.got.lock().unwrap()[..2], [10, 10]);
    // 9 left, below the size: flushed at shutdown.
    bp.shutdown(Instant::now() + Duration::from_secs(2)).await;
    assert_eq!(*rec.got.lock().unwrap(), vec![10, 10, 9]);
    let mut out = String::new();
    reg.render(&mut out, false);
    assert!(out.contains("otelcol_processor_batch_batch_size_trigger_send{processor=\"batch\"} 2"), "{out}");
    assert!(out.contains("otelcol_processor_batch_batch_send_size_sum{processor=\"batch\"} 29"), "{out}");
}

#[tokio::test]
async fn flushes_on_timeout() {
    let rec = Arc::new(Recorder::default());
    let reg = Registry::new();
    let bp = BatchProcessor::new(ComponentId::new("batch"), Signal::Traces, cfg(8192, 0, 50), rec.clone(), &reg, true);
    bp.consume(traces(3)).await.unwrap();
    bp.consume(traces(2)).await.unwrap();
    assert!(crate::tests_util::wait(|| !rec.got.lock().unwrap().is_empty()).await);
    assert_eq!(*rec.got.lock().unwrap(), vec![5]);
    let mut out = String::new();
    reg.render(&mut out, false);
    assert!(out.contains("otelcol_processor_batch_timeout_trigger_send{processor=\"batch\"} 1"), "{out}");
}

#[tokio::test]
async fn holds_data_while_downstream_is_overloaded_then_refuses_new_data() {
    let rec = Arc::new(Recorder::default());
    *rec.overloaded.lock().unwrap() = 5;
    let reg = Registry::new();
    let bp = BatchProcessor::new(ComponentId::new("batch"), Signal::Traces, cfg(100, 0, 10), rec.clone(), &reg, true);
    bp.consume(traces(50)).await.unwrap();
    // Retried until downstream takes it: nothing lost.
    assert!(crate::tests_util::wait(|| rec.got.lock().unwrap().iter().sum::<usize>() == 50).await);
    // The intake is bounded: a burst beyond it is refused, not queued without limit.
    *rec.overloaded.lock().unwrap() = u32::MAX;
    let mut refused = false;
    for _ in 0..100 {
        if let Err(ConsumeError::Overloaded { .. }) = bp.consume(traces(8192)).await {
            refused = true;
            break;
        }
    }
    assert!(refused);
    *rec.overloaded.lock().unwrap() = 0;
    bp.shutdown(Instant::now() + Duration::from_secs(5)).await;
}

#[tokio::test]
async fn shutdown_deadline_drops_and_counts_what_cannot_be_delivered() {
    let rec = Arc::new(Recorder::default());
    *rec.overloaded.lock().unwrap() = u32::MAX;
    let reg = Registry::new();
    let bp =
        BatchProcessor::new(ComponentId::new("batch"), Signal::Traces, cfg(100, 0, 10_000), rec.clone(), &reg, true);
    bp.consume(traces(7)).await.unwrap();
    bp.shutdown(Instant::now() + Duration::from_millis(300)).await;
    let mut out = String::new();
    reg.render(&mut out, false);
    assert!(out.contains("otelcol_processor_dropped_spans{processor=\"batch\"} 7"), "{out}");
    assert!(matches!(bp.consume(traces(1)).await, Err(ConsumeError::Shutdown)));
    // Every attempt but the last said it would retry (so the exporter did not count it as
    // enqueue_failed); the last, after which the batch was dropped, did not.
    let calls = rec.will_retry.lock().unwrap().clone();
    assert!(calls.len() >= 2, "{calls:?}");
    assert_eq!(calls.last(), Some(&false), "{calls:?}");
    assert!(calls[..calls.len() - 1].iter().all(|r| *r), "{calls:?}");
}

#[test]
fn config_validation() {
    assert!(cfg(100, 10, 1).validate("processors::batch")[0]
        .message
        .contains("send_batch_max_size must be greater or equal"));
    assert!(cfg(100, 0, 1).validate("processors::batch").is_empty());
}

/// One span with a name of `kib` KiB: a batch whose wire size is about that.
fn large(kib: usize) -> Arc<Batch> {
    let span = Span { name: "x".repeat(kib * 1024), ..Default::default() };
    Arc::new(Batch::Traces(vec![ResourceSpans {
        scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
        ..Default::default()
    }]))
}

#[tokio::test]
async fn the_intake_is_bounded_in_bytes_waits_for_room_and_flushes_early_on_bytes() {
    let rec = Arc::new(Recorder::default());
    *rec.overloaded.lock().unwrap() = u32::MAX;
    let reg = Registry::new();
    // Items never trigger a send (8192, 10 s): only the bytes do.
    let bp =
        BatchProcessor::new(ComponentId::new("batch"), Signal::Traces, cfg(8192, 0, 10_000), rec.clone(), &reg, true);
    let mib = (INTAKE_BYTES >> 20) as usize;
    // Downstream refuses: the intake takes INTAKE_BYTES of data (a few items), then new data
    // waits INTAKE_WAIT and is refused.
    let mut accepted = 0;
    for _ in 0..mib {
        bp.consume(large(1000)).await.unwrap();
        accepted += 1;
    }
    let r = bp.consume(large(1000)).await;
    assert!(matches!(r, Err(ConsumeError::Overloaded { .. })), "{r:?}");
    // The pending batch went out on bytes (far below 8192 items) and is held, retried.
    assert!(rec.will_retry.lock().unwrap().len() >= 2);
    // Downstream takes data again while a consume waits: it gets in instead of being refused.
    let waiting = {
        let bp = Arc::clone(&bp);
        tokio::spawn(async move { bp.consume(large(1000)).await })
    };
    tokio::task::yield_now().await;
    *rec.overloaded.lock().unwrap() = 0;
    waiting.await.unwrap().unwrap();
    accepted += 1;
    bp.shutdown(Instant::now() + Duration::from_secs(5)).await;
    assert_eq!(rec.got.lock().unwrap().iter().sum::<usize>(), accepted);
    assert!(rec.got.lock().unwrap().len() >= 2, "{:?}", rec.got.lock().unwrap());
}
