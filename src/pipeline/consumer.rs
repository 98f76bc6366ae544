//! The hand-off between pipeline stages.

use super::data::Batch;
use crate::component::Signal;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Why a stage did not take a batch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConsumeError {
    /// A queue is full or memory is short: the sender should retry after a while.
    #[error("{reason}")]
    Overloaded { reason: String, retry_after: Duration },
    /// The data can never be accepted: drop it, count it, log it.
    #[error("{0}")]
    Permanent(String),
    /// The collector is shutting down.
    #[error("the collector is shutting down")]
    Shutdown,
}

impl ConsumeError {
    pub fn overloaded(reason: impl Into<String>) -> Self {
        ConsumeError::Overloaded { reason: reason.into(), retry_after: Duration::from_secs(1) }
    }
}

/// A stage that accepts batches: processors, fan-outs, exporters (through their queue).
///
/// Fan-out hands every branch the same `Arc`; a stage that must change the data takes it with
/// `Arc::unwrap_or_clone`, which copies only when another branch still holds it.
#[async_trait]
pub trait Consumer: Send + Sync {
    async fn consume(&self, batch: Arc<Batch>) -> Result<(), ConsumeError>;
}

tokio::task_local! {
    /// Set while a stage that holds the batch and retries on `Overloaded` (the batch
    /// processor) hands it downstream: a refusal then is not a loss, so the exporter does not
    /// count it as `enqueue_failed` (in Go that counter means data dropped).
    static CALLER_RETRIES: bool;
}

/// Hands `batch` to `next` telling the stages downstream (through a task-local, so processors
/// and fan-outs in between pass it on unchanged) that an `Overloaded` refusal will be retried.
pub async fn consume_will_retry(next: &dyn Consumer, batch: Arc<Batch>) -> Result<(), ConsumeError> {
    CALLER_RETRIES.scope(true, next.consume(batch)).await
}

/// Whether the stage that called this chain will retry an `Overloaded` refusal.
pub fn caller_retries() -> bool {
    CALLER_RETRIES.try_with(|r| *r).unwrap_or(false)
}

/// The consumers a receiver feeds, one per signal that has a pipeline.
#[derive(Clone, Default)]
pub struct SignalConsumers {
    pub traces: Option<Arc<dyn Consumer>>,
    pub metrics: Option<Arc<dyn Consumer>>,
    pub logs: Option<Arc<dyn Consumer>>,
}

impl SignalConsumers {
    pub fn get(&self, s: Signal) -> Option<&Arc<dyn Consumer>> {
        match s {
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
            Signal::Logs => self.logs.as_ref(),
        }
    }

    pub fn set(&mut self, s: Signal, c: Arc<dyn Consumer>) {
        match s {
            Signal::Traces => self.traces = Some(c),
            Signal::Metrics => self.metrics = Some(c),
            Signal::Logs => self.logs = Some(c),
        }
    }
}
