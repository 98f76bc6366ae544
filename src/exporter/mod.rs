//! Exporters: the `Exporter` trait every backend implements, and the shared helper that gives
//! each one a sending queue, retries, a timeout and self-metrics.

pub mod awsemf;
pub mod awsxray;
pub mod debug;
pub mod helper;
pub mod kafka;
pub mod loadbalancing;
pub mod loki;
pub mod otlp;
pub mod prometheusremotewrite;

use crate::pipeline::data::Batch;
use async_trait::async_trait;
use std::time::Duration;

/// Why one export attempt failed, classified where the protocol is known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    /// Worth another try (429/502/503/504, UNAVAILABLE, a network error, a timeout).
    #[error("{reason}")]
    Retryable { reason: String, retry_after: Option<Duration> },
    /// Retrying cannot help (400, 401, 404, INVALID_ARGUMENT, ...).
    #[error("{0}")]
    Permanent(String),
    /// The batch was sent except `items` that can never be (e.g. delta sums for Prometheus):
    /// those count as failed, the rest as sent.
    #[error("{items} items dropped: {reason}")]
    Dropped { items: usize, reason: String },
}

impl ExportError {
    pub fn retryable(reason: impl Into<String>) -> Self {
        ExportError::Retryable { reason: reason.into(), retry_after: None }
    }
}

/// What a backend-specific exporter implements; queueing and retries are the helper's job.
#[async_trait]
pub trait Exporter: Send + Sync {
    /// Sends one batch, once.
    async fn export(&self, batch: &Batch) -> Result<(), ExportError>;
    /// Releases connections; called after the queue drained.
    async fn shutdown(&self) {}
}
