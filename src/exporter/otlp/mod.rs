//! `otlp` (gRPC) and `otlphttp` exporters: configs, and request encoding straight from the
//! shared batch (no copy of the data to build the request).

pub mod factory;
pub mod grpc;
pub mod http;

use super::helper::config::{QueueConfig, RetryConfig};
use crate::component::Signal;
use crate::config::{ConfigError, GoDuration};
use crate::http_client::TlsClientConfig;
use crate::pipeline::data::Batch;
use prost::Message;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// `exporters: otlp:` (Go: otlpexporter `createDefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpGrpcConfig {
    pub endpoint: String,
    pub tls: TlsClientConfig,
    pub compression: String,
    pub headers: BTreeMap<String, crate::secret::Opaque>,
    pub timeout: GoDuration,
    pub sending_queue: QueueConfig,
    pub retry_on_failure: RetryConfig,
    pub balancer_name: Option<String>,
    pub wait_for_ready: bool,
    pub keepalive: Option<Value>,
    pub read_buffer_size: Option<u64>,
    pub write_buffer_size: Option<u64>,
    pub auth: Option<Value>,
}

impl Default for OtlpGrpcConfig {
    fn default() -> Self {
        OtlpGrpcConfig {
            endpoint: String::new(),
            tls: TlsClientConfig::default(),
            compression: "gzip".into(),
            headers: BTreeMap::new(),
            timeout: GoDuration::from_secs(5),
            sending_queue: QueueConfig::enabled_default(),
            retry_on_failure: RetryConfig::default(),
            balancer_name: None,
            wait_for_ready: false,
            keepalive: None,
            read_buffer_size: None,
            write_buffer_size: None,
            auth: None,
        }
    }
}

/// `exporters: otlphttp:` (Go: otlphttpexporter `createDefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpHttpConfig {
    pub endpoint: String,
    pub traces_endpoint: String,
    pub metrics_endpoint: String,
    pub logs_endpoint: String,
    pub tls: TlsClientConfig,
    pub compression: String,
    pub encoding: String,
    pub headers: BTreeMap<String, crate::secret::Opaque>,
    pub timeout: GoDuration,
    pub sending_queue: QueueConfig,
    pub retry_on_failure: RetryConfig,
    pub read_buffer_size: Option<u64>,
    pub write_buffer_size: Option<u64>,
    pub max_idle_conns: Option<u64>,
    pub max_idle_conns_per_host: Option<u64>,
    pub max_conns_per_host: Option<u64>,
    pub idle_conn_timeout: Option<GoDuration>,
    pub disable_keep_alives: Option<bool>,
    pub http2_read_idle_timeout: Option<GoDuration>,
    pub http2_ping_timeout: Option<GoDuration>,
    pub auth: Option<Value>,
}

impl Default for OtlpHttpConfig {
    fn default() -> Self {
        OtlpHttpConfig {
            endpoint: String::new(),
            traces_endpoint: String::new(),
            metrics_endpoint: String::new(),
            logs_endpoint: String::new(),
            tls: TlsClientConfig::default(),
            compression: "gzip".into(),
            encoding: "proto".into(),
            headers: BTreeMap::new(),
            // confighttp client default; otlphttp uses it instead of the helper's 5s.
            timeout: GoDuration::from_secs(30),
            sending_queue: QueueConfig::enabled_default(),
            retry_on_failure: RetryConfig::default(),
            read_buffer_size: None,
            write_buffer_size: None,
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: None,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            auth: None,
        }
    }
}

fn check_compression(base: &str, c: &str, allowed: &[&str], errs: &mut Vec<ConfigError>) {
    if !allowed.contains(&c) {
        errs.push(ConfigError::new(
            format!("{base}::compression"),
            format!("unsupported compression type {c:?} (supported: {})", allowed.join(", ")),
        ));
    }
}

fn check_auth(base: &str, auth: &Option<Value>, errs: &mut Vec<ConfigError>) {
    if auth.is_some() {
        errs.push(ConfigError::new(
            format!("{base}::auth"),
            "authenticator extensions on otlp exporters are not supported by oxidot yet",
        ));
    }
}

impl OtlpGrpcConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        use crate::config::limits;
        let mut errs = Vec::new();
        if self.endpoint.trim().is_empty() {
            errs.push(ConfigError::new(format!("{base}::endpoint"), "requires a non-empty \"endpoint\""));
        } else if grpc::target(self).0.contains('@') {
            // grpc-go takes `user:pw@host:port` as a target it cannot resolve (the dns resolver
            // fails on the userinfo), so the Go exporter never delivers with it and never sends it
            // as credentials: refuse it here, redacted, and point at headers.
            errs.push(ConfigError::new(
                format!("{base}::endpoint"),
                format!(
                    "invalid endpoint {:?}: a gRPC endpoint takes no user:password@ (gRPC sends no Basic auth from it); \
                     set headers: {{authorization: ...}} instead",
                    crate::secret::redact_url(&self.endpoint)
                ),
            ));
        }
        check_compression(base, &self.compression, &["", "none", "gzip", "zstd"], &mut errs);
        check_auth(base, &self.auth, &mut errs);
        self.tls.validate(base, &mut errs);
        self.sending_queue.validate(base, &mut errs);
        self.retry_on_failure.validate(base, &mut errs);
        limits::check_duration(&mut errs, format!("{base}::timeout"), self.timeout.0, limits::DURATION);
        errs
    }
}

impl OtlpHttpConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        use crate::config::limits;
        let mut errs = Vec::new();
        if self.endpoint.is_empty()
            && (self.traces_endpoint.is_empty() || self.metrics_endpoint.is_empty() || self.logs_endpoint.is_empty())
        {
            // Go requires endpoint unless every signal endpoint is set; the graph checks the
            // signal actually used, so only an entirely empty config fails here.
            if self.traces_endpoint.is_empty() && self.metrics_endpoint.is_empty() && self.logs_endpoint.is_empty() {
                errs.push(ConfigError::new(format!("{base}::endpoint"), "at least one endpoint must be specified"));
            }
        }
        for (k, v) in [
            ("endpoint", &self.endpoint),
            ("traces_endpoint", &self.traces_endpoint),
            ("metrics_endpoint", &self.metrics_endpoint),
            ("logs_endpoint", &self.logs_endpoint),
        ] {
            if !(v.is_empty() || v.starts_with("http://") || v.starts_with("https://")) {
                errs.push(ConfigError::new(
                    format!("{base}::{k}"),
                    format!("invalid URL {:?}: must start with http:// or https://", crate::secret::redact_url(v)),
                ));
            }
        }
        check_compression(
            base,
            &self.compression,
            &["", "none", "gzip", "zstd", "snappy", "deflate", "zlib"],
            &mut errs,
        );
        if !matches!(self.encoding.as_str(), "proto" | "json") {
            errs.push(ConfigError::new(
                format!("{base}::encoding"),
                format!("invalid encoding {:?} (valid: proto, json)", self.encoding),
            ));
        }
        check_auth(base, &self.auth, &mut errs);
        self.tls.validate(base, &mut errs);
        self.sending_queue.validate(base, &mut errs);
        self.retry_on_failure.validate(base, &mut errs);
        limits::check_duration(&mut errs, format!("{base}::timeout"), self.timeout.0, limits::DURATION);
        errs
    }
}

/// Encodes the export request of `batch` as protobuf, reading the shared data in place.
pub fn encode_request(batch: &Batch, buf: &mut Vec<u8>) {
    batch.encode_request(buf)
}

/// Encodes the export request of `batch` as OTLP/JSON.
pub fn encode_request_json(batch: &Batch) -> Vec<u8> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct T<'a> {
        resource_spans: &'a [opentelemetry_proto::tonic::trace::v1::ResourceSpans],
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct M<'a> {
        resource_metrics: &'a [opentelemetry_proto::tonic::metrics::v1::ResourceMetrics],
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct L<'a> {
        resource_logs: &'a [opentelemetry_proto::tonic::logs::v1::ResourceLogs],
    }
    let decoded = batch.decoded();
    let r = match &*decoded {
        // `decoded` built the structs.
        Batch::Raw(_) => Ok(Vec::new()),
        Batch::Traces(rs) => serde_json::to_vec(&T { resource_spans: rs }),
        Batch::Metrics(rs) => serde_json::to_vec(&M { resource_metrics: rs }),
        Batch::Logs(rs) => serde_json::to_vec(&L { resource_logs: rs }),
    };
    r.unwrap_or_default()
}

/// Reads the rejected count and message from an OTLP export response (protobuf).
pub fn partial_success(batch: &Batch, body: &[u8]) -> Option<(i64, String)> {
    use opentelemetry_proto::tonic::collector::{logs::v1 as l, metrics::v1 as m, trace::v1 as t};
    let (n, msg) = match batch.signal() {
        Signal::Traces => t::ExportTraceServiceResponse::decode(body)
            .ok()?
            .partial_success
            .map(|p| (p.rejected_spans, p.error_message))?,
        Signal::Metrics => m::ExportMetricsServiceResponse::decode(body)
            .ok()?
            .partial_success
            .map(|p| (p.rejected_data_points, p.error_message))?,
        Signal::Logs => l::ExportLogsServiceResponse::decode(body)
            .ok()?
            .partial_success
            .map(|p| (p.rejected_log_records, p.error_message))?,
    };
    (n > 0 || !msg.is_empty()).then_some((n, msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    #[test]
    fn in_place_encoding_equals_prost_encoding() {
        let rs = vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    name: "a".into(),
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }];
        let mut buf = Vec::new();
        encode_request(&Batch::Traces(rs.clone()), &mut buf);
        assert_eq!(buf, ExportTraceServiceRequest { resource_spans: rs }.encode_to_vec());
    }
}
