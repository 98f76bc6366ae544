//! What every receiver does with a batch it made: hand it to the pipeline and count it in
//! `otelcol_receiver_*` (Go: receiverhelper.ObsReport StartMetricsOp/EndMetricsOp). The OTLP
//! receiver has its own per-transport form (`otlp::Entry`).

use crate::pipeline::consumer::{ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::component::{ReceiveOutcome, ReceiverTelemetry};
use std::sync::Arc;

/// The pipeline a receiver feeds and its counters for one transport.
pub struct Delivery {
    pub consumer: Arc<dyn Consumer>,
    pub telemetry: ReceiverTelemetry,
}

impl Delivery {
    /// Pushes `batch` and counts its data points as accepted or refused; an empty batch is
    /// neither sent nor counted.
    pub async fn deliver(&self, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.items();
        if items == 0 {
            return Ok(());
        }
        let r = self.consumer.consume(Arc::new(batch)).await;
        // As the OTLP receiver: no error is marked downstream (no newPipelineTelemetry gate).
        let outcome = if r.is_ok() { ReceiveOutcome::Success } else { ReceiveOutcome::Failure };
        self.telemetry.record(items as u64, outcome);
        r
    }
}
