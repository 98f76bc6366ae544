//! Typed self-metric handles for each component, labels bound when the component is built.

use super::metrics::{Counter, Gauge, Histogram, Labels, Registry};
use super::names::*;
use crate::component::{ComponentId, Signal};

/// Counters of one receiver for one transport and signal.
#[derive(Debug, Clone)]
pub struct ReceiverTelemetry {
    pub accepted: Counter,
    pub refused: Counter,
    pub failed: Counter,
    pub req_success: Counter,
    pub req_refused: Counter,
    pub req_failure: Counter,
}

impl ReceiverTelemetry {
    pub fn new(reg: &Registry, id: &ComponentId, transport: &'static str, signal: Signal) -> Self {
        let labels = || -> Labels { vec![(LABEL_RECEIVER, id.to_string()), (LABEL_TRANSPORT, transport.to_string())] };
        let req = |outcome: &str| {
            let mut l = labels();
            l.push((LABEL_OUTCOME, outcome.to_string()));
            reg.counter(RECEIVER_REQUESTS, "Number of requests received, by outcome (success, refused by the pipeline, failure to decode or too large).", l)
        };
        ReceiverTelemetry {
            accepted: reg.counter(
                RECEIVER_ACCEPTED.get(signal),
                "Number of items successfully pushed into the pipeline.",
                labels(),
            ),
            refused: reg.counter(
                RECEIVER_REFUSED.get(signal),
                "Number of items that could not be pushed into the pipeline.",
                labels(),
            ),
            failed: reg.counter(
                RECEIVER_FAILED.get(signal),
                "Number of items that failed to be processed by the receiver.",
                labels(),
            ),
            req_success: req("success"),
            req_refused: req("refused"),
            req_failure: req("failure"),
        }
    }

    /// Records a request that reached the pipeline.
    pub fn record(&self, items: u64, ok: bool) {
        if ok {
            self.accepted.add(items);
            self.refused.add(0);
            self.req_success.add(1);
        } else {
            self.accepted.add(0);
            self.refused.add(items);
            self.req_refused.add(1);
        }
        self.failed.add(0);
    }

    /// Records a request refused before decoding (malformed, too large, wrong type).
    pub fn record_bad_request(&self) {
        self.req_failure.add(1);
    }
}

/// Counters and gauges of one exporter for one signal.
#[derive(Debug, Clone)]
pub struct ExporterTelemetry {
    pub sent: Counter,
    pub send_failed: Counter,
    pub enqueue_failed: Counter,
    pub queue_size: Gauge,
    pub queue_capacity: Gauge,
    pub in_flight: Gauge,
}

impl ExporterTelemetry {
    /// `extra` holds exporter-specific labels on sent/failed (`server_address`, ...), as Go adds them.
    pub fn new(reg: &Registry, id: &ComponentId, signal: Signal, extra: &[(&'static str, String)]) -> Self {
        let base: Labels = vec![(LABEL_EXPORTER, id.to_string())];
        let mut sent_labels = base.clone();
        sent_labels.extend(extra.iter().cloned());
        let mut typed = base.clone();
        typed.push((LABEL_DATA_TYPE, signal.as_str().to_string()));
        ExporterTelemetry {
            sent: reg.counter(
                EXPORTER_SENT.get(signal),
                "Number of items successfully sent to destination.",
                sent_labels.clone(),
            ),
            send_failed: reg.counter(
                EXPORTER_SEND_FAILED.get(signal),
                "Number of items in failed attempts to send to destination.",
                sent_labels,
            ),
            enqueue_failed: reg.counter(
                EXPORTER_ENQUEUE_FAILED.get(signal),
                "Number of items failed to be added to the sending queue.",
                base,
            ),
            queue_size: reg.gauge(EXPORTER_QUEUE_SIZE, "Current size of the retry queue (in batches)", typed.clone()),
            queue_capacity: reg.gauge(
                EXPORTER_QUEUE_CAPACITY,
                "Fixed capacity of the retry queue (in batches)",
                typed.clone(),
            ),
            in_flight: reg.gauge(
                EXPORTER_IN_FLIGHT,
                "Number of requests currently being sent to the destination.",
                typed,
            ),
        }
    }
}

/// Batch processor metrics (dropped at metrics level `basic`, as in the collector).
#[derive(Debug, Clone)]
pub struct BatchTelemetry {
    pub send_size: Option<Histogram>,
    pub size_trigger: Option<Counter>,
    pub timeout_trigger: Option<Counter>,
}

impl BatchTelemetry {
    pub fn new(reg: &Registry, id: &ComponentId, enabled: bool) -> Self {
        if !enabled {
            return BatchTelemetry { send_size: None, size_trigger: None, timeout_trigger: None };
        }
        let labels = || -> Labels { vec![(LABEL_PROCESSOR, id.to_string())] };
        reg.gauge(
            BATCH_METADATA_CARDINALITY,
            "Number of distinct metadata value combinations being processed",
            labels(),
        )
        .set(1);
        BatchTelemetry {
            send_size: Some(reg.histogram(
                BATCH_SEND_SIZE,
                "Number of units in the batch",
                BATCH_SEND_SIZE_BUCKETS,
                labels(),
            )),
            size_trigger: Some(reg.counter(
                BATCH_SIZE_TRIGGER,
                "Number of times the batch was sent due to a size trigger",
                labels(),
            )),
            timeout_trigger: Some(reg.counter(
                BATCH_TIMEOUT_TRIGGER,
                "Number of times the batch was sent due to a timeout trigger",
                labels(),
            )),
        }
    }
}
