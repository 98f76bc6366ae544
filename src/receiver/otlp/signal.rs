//! The per-signal OTLP request/response types, so HTTP and gRPC share one code path.

use crate::component::Signal;
use crate::pipeline::data::Batch;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// One OTLP signal's service types.
pub trait OtlpSignal: Send + Sync + 'static {
    type Req: prost::Message + Default + Send + 'static;
    type Resp: prost::Message + Default + serde::Serialize + Send + 'static;
    const SIGNAL: Signal;
    fn into_batch(req: Self::Req) -> Batch;
    /// The success response; `rejected` fills `partial_success` (left unset on full success, as the spec says).
    fn response(rejected: Option<(u64, String)>) -> Self::Resp;
}

pub struct Traces;
pub struct Metrics;
pub struct Logs;

impl OtlpSignal for Traces {
    type Req = ExportTraceServiceRequest;
    type Resp = ExportTraceServiceResponse;
    const SIGNAL: Signal = Signal::Traces;
    fn into_batch(req: Self::Req) -> Batch {
        Batch::Traces(req.resource_spans)
    }
    fn response(rejected: Option<(u64, String)>) -> Self::Resp {
        ExportTraceServiceResponse {
            partial_success: rejected
                .map(|(n, m)| ExportTracePartialSuccess { rejected_spans: n as i64, error_message: m }),
        }
    }
}

impl OtlpSignal for Metrics {
    type Req = ExportMetricsServiceRequest;
    type Resp = ExportMetricsServiceResponse;
    const SIGNAL: Signal = Signal::Metrics;
    fn into_batch(req: Self::Req) -> Batch {
        Batch::Metrics(req.resource_metrics)
    }
    fn response(rejected: Option<(u64, String)>) -> Self::Resp {
        ExportMetricsServiceResponse {
            partial_success: rejected
                .map(|(n, m)| ExportMetricsPartialSuccess { rejected_data_points: n as i64, error_message: m }),
        }
    }
}

impl OtlpSignal for Logs {
    type Req = ExportLogsServiceRequest;
    type Resp = ExportLogsServiceResponse;
    const SIGNAL: Signal = Signal::Logs;
    fn into_batch(req: Self::Req) -> Batch {
        Batch::Logs(req.resource_logs)
    }
    fn response(rejected: Option<(u64, String)>) -> Self::Resp {
        ExportLogsServiceResponse {
            partial_success: rejected
                .map(|(n, m)| ExportLogsPartialSuccess { rejected_log_records: n as i64, error_message: m }),
        }
    }
}
