//! Typed self-metric handles for each component, labels bound when the component is built.

use super::metrics::{Counter, Gauge, Histogram, Labels, Registry};
use super::names::*;
use crate::component::{ComponentId, Signal};

/// How a request that reached the pipeline ended (receiverhelper/obsreport.go `endOp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveOutcome {
    Success,
    /// The pipeline returned an error marked as coming from further downstream.
    Downstream,
    /// Any other pipeline error.
    Failure,
}

/// Counters of one receiver for one transport and signal.
#[derive(Debug, Clone)]
pub struct ReceiverTelemetry {
    pub accepted: Counter,
    pub refused: Counter,
    pub failed: Counter,
    /// `otelcol_receiver_requests{outcome}` (success, refused, failure); only with the gate.
    requests: Option<[Counter; 3]>,
    /// The gate `receiverhelper.newReceiverMetrics`, read once when the receiver was built.
    new_metrics: bool,
}

// Descriptions as receiverhelper/internal/metadata/generated_telemetry.go declares them.
fn receiver_help(signal: Signal) -> [&'static str; 3] {
    match signal {
        Signal::Traces => [
            "Number of spans successfully pushed into the pipeline. [Alpha]",
            "Number of spans that could not be pushed into the pipeline. [Alpha]",
            "The number of spans that failed to be processed by the receiver due to internal errors. [Alpha]",
        ],
        Signal::Metrics => [
            "Number of metric points successfully pushed into the pipeline. [Alpha]",
            "Number of metric points that could not be pushed into the pipeline. [Alpha]",
            "The number of metric points that failed to be processed by the receiver due to internal errors. [Alpha]",
        ],
        Signal::Logs => [
            "Number of log records successfully pushed into the pipeline. [Alpha]",
            "Number of log records that could not be pushed into the pipeline. [Alpha]",
            "The number of log records that failed to be processed by the receiver due to internal errors. [Alpha]",
        ],
    }
}

impl ReceiverTelemetry {
    /// Reads the gate `receiverhelper.newReceiverMetrics` once, here.
    pub fn new(reg: &Registry, id: &ComponentId, transport: &'static str, signal: Signal) -> Self {
        Self::with_gate(reg, id, transport, signal, crate::featuregate::RECEIVER_NEW_METRICS.is_enabled())
    }

    pub fn with_gate(
        reg: &Registry,
        id: &ComponentId,
        transport: &'static str,
        signal: Signal,
        new_metrics: bool,
    ) -> Self {
        let labels = || -> Labels { vec![(LABEL_RECEIVER, id.to_string()), (LABEL_TRANSPORT, transport.to_string())] };
        let req = |outcome: &str| {
            let mut l = labels();
            l.push((LABEL_OUTCOME, outcome.to_string()));
            reg.counter(RECEIVER_REQUESTS, "The number of requests performed. [Alpha]", l)
        };
        let [accepted_help, refused_help, failed_help] = receiver_help(signal);
        ReceiverTelemetry {
            accepted: reg.counter(RECEIVER_ACCEPTED.get(signal), accepted_help, labels()),
            refused: reg.counter(RECEIVER_REFUSED.get(signal), refused_help, labels()),
            failed: reg.counter(RECEIVER_FAILED.get(signal), failed_help, labels()),
            requests: new_metrics.then(|| [req("success"), req("refused"), req("failure")]),
            new_metrics,
        }
    }

    /// Records a request that reached the pipeline (receiverhelper/obsreport.go `endOp` and
    /// `recordMetrics`): accepted, refused and failed are all added to on every request (0 where
    /// nothing), so the three series show 0 after the first request. With the gate off every
    /// error counts as refused and `failed` stays 0; with it on, downstream errors are refused,
    /// others failed, and `otelcol_receiver_requests` counts the request by outcome.
    pub fn record(&self, items: u64, outcome: ReceiveOutcome) {
        let (accepted, refused, failed) = match outcome {
            ReceiveOutcome::Success => (items, 0, 0),
            ReceiveOutcome::Failure if self.new_metrics => (0, 0, items),
            ReceiveOutcome::Downstream | ReceiveOutcome::Failure => (0, items, 0),
        };
        self.accepted.add(accepted);
        self.refused.add(refused);
        self.failed.add(failed);
        if let Some([success, refused, failure]) = &self.requests {
            match outcome {
                ReceiveOutcome::Success => success.add(1),
                ReceiveOutcome::Downstream => refused.add(1),
                ReceiveOutcome::Failure => failure.add(1),
            }
        }
    }
}

struct ExporterHelp {
    sent: &'static str,
    send_failed: &'static str,
    enqueue_failed: &'static str,
}

// Descriptions as exporterhelper/internal/metadata/generated_telemetry.go declares them.
fn exporter_help(signal: Signal) -> ExporterHelp {
    match signal {
        Signal::Traces => ExporterHelp {
            sent: "Number of spans successfully sent to destination. [Alpha]",
            send_failed: "Number of spans in failed attempts to send to destination. At detailed telemetry level, includes attributes: error.type (semantic convention), error.permanent. [Alpha]",
            enqueue_failed: "Number of spans failed to be added to the sending queue. [Alpha]",
        },
        Signal::Metrics => ExporterHelp {
            sent: "Number of metric points successfully sent to destination. [Alpha]",
            send_failed: "Number of metric points in failed attempts to send to destination. At detailed telemetry level, includes attributes: error.type (semantic convention), error.permanent. [Alpha]",
            enqueue_failed: "Number of metric points failed to be added to the sending queue. [Alpha]",
        },
        Signal::Logs => ExporterHelp {
            sent: "Number of log record successfully sent to destination. [Alpha]",
            send_failed: "Number of log records in failed attempts to send to destination. At detailed telemetry level, includes attributes: error.type (semantic convention), error.permanent. [Alpha]",
            enqueue_failed: "Number of log records failed to be added to the sending queue. [Alpha]",
        },
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
        let help = exporter_help(signal);
        let base: Labels = vec![(LABEL_EXPORTER, id.to_string())];
        let mut sent_labels = base.clone();
        sent_labels.extend(extra.iter().cloned());
        let mut typed = base.clone();
        typed.push((LABEL_DATA_TYPE, signal.as_str().to_string()));
        ExporterTelemetry {
            sent: reg.counter(EXPORTER_SENT.get(signal), help.sent, sent_labels.clone()),
            send_failed: reg.counter(EXPORTER_SEND_FAILED.get(signal), help.send_failed, sent_labels),
            enqueue_failed: reg.counter(EXPORTER_ENQUEUE_FAILED.get(signal), help.enqueue_failed, base),
            queue_size: reg.gauge(
                EXPORTER_QUEUE_SIZE,
                "Current size of the retry queue (in batches). [Alpha]",
                typed.clone(),
            ),
            queue_capacity: reg.gauge(
                EXPORTER_QUEUE_CAPACITY,
                "Fixed capacity of the retry queue (in batches). [Alpha]",
                typed.clone(),
            ),
            in_flight: reg.gauge(
                EXPORTER_IN_FLIGHT,
                "Number of export requests currently in-flight (including retry backoff). [Development]",
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
            "Number of distinct metadata value combinations being processed [Development]",
            labels(),
        )
        .set(1);
        BatchTelemetry {
            send_size: Some(reg.histogram(
                BATCH_SEND_SIZE,
                "Number of units in the batch [Development]",
                BATCH_SEND_SIZE_BUCKETS,
                labels(),
            )),
            size_trigger: Some(reg.counter(
                BATCH_SIZE_TRIGGER,
                "Number of times the batch was sent due to a size trigger [Development]",
                labels(),
            )),
            timeout_trigger: Some(reg.counter(
                BATCH_TIMEOUT_TRIGGER,
                "Number of times the batch was sent due to a timeout trigger [Development]",
                labels(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(reg: &Registry) -> String {
        let mut s = String::new();
        reg.render(&mut s, false);
        s
    }

    // receiverhelper/obsreport.go `endOp`, gate receiverhelper.newReceiverMetrics off.
    #[test]
    fn gate_off_every_error_is_refused_and_no_requests_metric() {
        let reg = Registry::new();
        let id = ComponentId::parse("otlp").unwrap();
        let t = ReceiverTelemetry::with_gate(&reg, &id, "grpc", Signal::Traces, false);
        t.record(3, ReceiveOutcome::Success);
        let s = render(&reg);
        assert!(s.contains("otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"} 3\n"), "{s}");
        assert!(s.contains("otelcol_receiver_refused_spans{receiver=\"otlp\",transport=\"grpc\"} 0\n"), "{s}");
        assert!(s.contains("otelcol_receiver_failed_spans{receiver=\"otlp\",transport=\"grpc\"} 0\n"), "{s}");
        assert!(s.contains("# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed into the pipeline. [Alpha]\n"), "{s}");
        t.record(2, ReceiveOutcome::Failure);
        t.record(4, ReceiveOutcome::Downstream);
        let s = render(&reg);
        assert!(s.contains("otelcol_receiver_refused_spans{receiver=\"otlp\",transport=\"grpc\"} 6\n"), "{s}");
        assert!(s.contains("otelcol_receiver_failed_spans{receiver=\"otlp\",transport=\"grpc\"} 0\n"), "{s}");
        assert!(!s.contains("otelcol_receiver_requests"), "{s}");
    }

    #[test]
    fn gate_on_splits_refused_from_failed_and_counts_requests() {
        let reg = Registry::new();
        let id = ComponentId::parse("otlp").unwrap();
        let t = ReceiverTelemetry::with_gate(&reg, &id, "http", Signal::Logs, true);
        t.record(3, ReceiveOutcome::Success);
        let s = render(&reg);
        assert!(s.contains("# TYPE otelcol_receiver_requests counter\n"), "{s}");
        assert!(
            s.contains("otelcol_receiver_requests{receiver=\"otlp\",transport=\"http\",outcome=\"success\"} 1\n"),
            "{s}"
        );
        // Outcomes not seen yet have no series, as a Go counter never added to.
        assert!(!s.contains("outcome=\"failure\""), "{s}");
        t.record(2, ReceiveOutcome::Failure);
        t.record(4, ReceiveOutcome::Downstream);
        let s = render(&reg);
        assert!(s.contains("otelcol_receiver_accepted_log_records{receiver=\"otlp\",transport=\"http\"} 3\n"), "{s}");
        assert!(s.contains("otelcol_receiver_refused_log_records{receiver=\"otlp\",transport=\"http\"} 4\n"), "{s}");
        assert!(s.contains("otelcol_receiver_failed_log_records{receiver=\"otlp\",transport=\"http\"} 2\n"), "{s}");
        assert!(
            s.contains("otelcol_receiver_requests{receiver=\"otlp\",transport=\"http\",outcome=\"refused\"} 1\n"),
            "{s}"
        );
        assert!(
            s.contains("otelcol_receiver_requests{receiver=\"otlp\",transport=\"http\",outcome=\"failure\"} 1\n"),
            "{s}"
        );
    }
}
