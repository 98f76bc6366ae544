//! The `prometheusremotewrite` exporter: OTLP metrics → Prometheus remote write 1.0
//! (`prometheus.WriteRequest`, snappy), optionally signed by the `sigv4auth` extension.

pub mod naming;
pub mod translate;

use super::helper::config::{QueueConfig, RetryConfig, Sizer};
use super::{ExportError, Exporter};
use crate::aws::Signer;
use crate::config::{ConfigError, GoDuration};
use crate::http_client::{self, HttpClient, TlsClientConfig};
use crate::pipeline::data::Batch;
use crate::proto::prometheus::{TimeSeries, WriteRequest};
use crate::telemetry::logging::RateLimit;
use crate::telemetry::metrics::Counter;
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use prost::Message;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use translate::{translate, TranslateOptions};

/// `{enabled: bool}`, off unless set.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Enabled {
    pub enabled: bool,
}

/// `target_info: {enabled: bool}`, on unless set off.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TargetInfo {
    pub enabled: bool,
}

impl Default for TargetInfo {
    fn default() -> Self {
        TargetInfo { enabled: true }
    }
}

/// `remote_write_queue` (Go: queue_size 10000, num_consumers 5).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteQueue {
    pub enabled: bool,
    pub queue_size: usize,
    pub num_consumers: usize,
}

impl Default for RemoteWriteQueue {
    fn default() -> Self {
        RemoteWriteQueue { enabled: true, queue_size: 10000, num_consumers: 5 }
    }
}

/// `auth:` of an HTTP client: the extension that authenticates its requests.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub authenticator: String,
}

/// `exporters: prometheusremotewrite:` (Go: prometheusremotewriteexporter `createDefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrwConfig {
    pub endpoint: String,
    pub headers: BTreeMap<String, String>,
    pub timeout: GoDuration,
    pub tls: TlsClientConfig,
    pub compression: Option<String>,
    pub auth: Option<AuthConfig>,
    pub namespace: String,
    pub external_labels: BTreeMap<String, String>,
    pub resource_to_telemetry_conversion: Enabled,
    pub add_metric_suffixes: bool,
    pub target_info: TargetInfo,
    pub send_metadata: bool,
    pub export_created_metric: Option<Enabled>,
    pub remote_write_queue: RemoteWriteQueue,
    pub retry_on_failure: RetryConfig,
    pub max_batch_size_bytes: usize,
    pub max_batch_request_parallelism: Option<u32>,
    pub protobuf_message: Option<String>,
    pub wal: Option<Value>,
    pub read_buffer_size: Option<u64>,
    pub write_buffer_size: Option<u64>,
    pub max_idle_conns: Option<u64>,
    pub max_idle_conns_per_host: Option<u64>,
    pub max_conns_per_host: Option<u64>,
    pub idle_conn_timeout: Option<GoDuration>,
    pub disable_keep_alives: Option<bool>,
    pub proxy_url: Option<String>,
}

impl Default for PrwConfig {
    fn default() -> Self {
        PrwConfig {
            endpoint: String::new(),
            headers: BTreeMap::new(),
            timeout: GoDuration::from_secs(5),
            tls: TlsClientConfig::default(),
            compression: None,
            auth: None,
            namespace: String::new(),
            external_labels: BTreeMap::new(),
            resource_to_telemetry_conversion: Enabled { enabled: false },
            add_metric_suffixes: true,
            target_info: TargetInfo { enabled: true },
            send_metadata: false,
            export_created_metric: None,
            remote_write_queue: RemoteWriteQueue::default(),
            // Go: the default backoff with a 50ms initial interval.
            retry_on_failure: RetryConfig { initial_interval: GoDuration::from_millis(50), ..RetryConfig::default() },
            max_batch_size_bytes: 3_000_000,
            max_batch_request_parallelism: None,
            protobuf_message: None,
            wal: None,
            read_buffer_size: None,
            write_buffer_size: None,
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: None,
            proxy_url: None,
        }
    }
}

impl PrwConfig {
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let p = |k: &str| format!("{base}::{k}");
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            errs.push(ConfigError::new(
                p("endpoint"),
                format!("invalid endpoint {:?}: must be an http:// or https:// URL", self.endpoint),
            ));
        }
        if self.max_batch_size_bytes == 0 {
            errs.push(ConfigError::new(p("max_batch_size_bytes"), "max_batch_byte_size must be greater than 0"));
        }
        if self.remote_write_queue.enabled
            && (self.remote_write_queue.queue_size == 0 || self.remote_write_queue.num_consumers == 0)
        {
            errs.push(ConfigError::new(p("remote_write_queue"), "queue_size and num_consumers must be positive"));
        }
        if let Some(c) = self.compression.as_deref().filter(|c| !c.is_empty() && *c != "snappy") {
            errs.push(ConfigError::new(
                p("compression"),
                format!("remote write bodies are always snappy-compressed; compression {c:?} is not allowed"),
            ));
        }
        if let Some(m) = self.protobuf_message.as_deref().filter(|m| *m != "prometheus.WriteRequest") {
            errs.push(ConfigError::new(
                p("protobuf_message"),
                format!("{m:?} (remote write 2.0) is not supported by oxidot yet: use prometheus.WriteRequest"),
            ));
        }
        if self.wal.is_some() {
            errs.push(ConfigError::new(p("wal"), "the write-ahead log is not supported by oxidot yet"));
        }
        if self.proxy_url.is_some() {
            errs.push(ConfigError::new(p("proxy_url"), "proxy_url is not supported by oxidot yet"));
        }
        if self.export_created_metric.as_ref().is_some_and(|e| e.enabled) {
            warns.push(format!("{}: _created series are not written by oxidot", p("export_created_metric")));
        }
        if self.auth.as_ref().is_some_and(|a| a.authenticator.is_empty()) {
            errs.push(ConfigError::new(
                p("auth::authenticator"),
                "must name an authenticator extension (e.g. sigv4auth)",
            ));
        }
        self.tls.validate(base, &mut errs);
        self.retry_on_failure.validate(base, &mut errs);
        (errs, warns)
    }

    /// The shared queue settings this exporter runs with.
    pub fn queue(&self) -> QueueConfig {
        QueueConfig {
            enabled: self.remote_write_queue.enabled,
            queue_size: self.remote_write_queue.queue_size,
            num_consumers: self.remote_write_queue.num_consumers,
            sizer: Sizer::Requests,
            ..QueueConfig::enabled_default()
        }
    }

    pub fn translate_options(&self) -> TranslateOptions {
        let mut external: Vec<(String, String)> =
            self.external_labels.iter().map(|(k, v)| (naming::label_name(k), v.clone())).collect();
        external.sort();
        TranslateOptions {
            namespace: self.namespace.clone(),
            add_metric_suffixes: self.add_metric_suffixes,
            resource_to_telemetry: self.resource_to_telemetry_conversion.enabled,
            target_info: self.target_info.enabled,
            external_labels: external,
            send_metadata: self.send_metadata,
        }
    }
}

/// Counters the Go exporter adds beside the shared exporter metrics.
#[derive(Clone)]
pub struct PrwTelemetry {
    pub translated_time_series: Counter,
    pub failed_translations: Counter,
}

pub struct PrwExporter {
    client: HttpClient,
    url: http::Uri,
    headers: http::HeaderMap,
    opts: TranslateOptions,
    max_batch_bytes: usize,
    signer: Option<Arc<Signer>>,
    telemetry: PrwTelemetry,
    log_native: RateLimit,
}

impl PrwExporter {
    pub fn new(cfg: &PrwConfig, signer: Option<Arc<Signer>>, telemetry: PrwTelemetry) -> Result<Self, String> {
        let url: http::Uri = cfg.endpoint.parse().map_err(|e| format!("invalid endpoint {:?}: {e}", cfg.endpoint))?;
        let headers = http_client::header_map(&cfg.headers)?;
        Ok(PrwExporter {
            client: http_client::build(&cfg.tls)?,
            url,
            headers,
            opts: cfg.translate_options(),
            max_batch_bytes: cfg.max_batch_size_bytes,
            signer,
            telemetry,
            log_native: RateLimit::new(),
        })
    }

    /// One POST of one write request.
    async fn send(&self, wr: &WriteRequest) -> Result<(), ExportError> {
        let raw = wr.encode_to_vec();
        let body =
            snap::raw::Encoder::new().compress_vec(&raw).map_err(|e| ExportError::Permanent(format!("snappy: {e}")))?;
        let mut req = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_ENCODING, "snappy")
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header(http::header::USER_AGENT, concat!("oxidot/", env!("CARGO_PKG_VERSION")))
            .body(())
            .map_err(|e| ExportError::Permanent(e.to_string()))?;
        for (k, v) in &self.headers {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        if let Some(s) = &self.signer {
            // Credentials may come back later (IMDS, ECS endpoint): retry rather than drop.
            s.sign(&mut req, &body).await.map_err(ExportError::retryable)?;
        }
        let (parts, ()) = req.into_parts();
        let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| ExportError::retryable(format!("failed to send the remote write request: {e}")))?;
        let status = resp.status().as_u16();
        let retry_after = http_client::retry_after(resp.headers());
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text = Limited::new(resp.into_body(), 4096).collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&text).trim().to_string();
        let reason = format!("remote write to {} returned HTTP {status}: {text}", self.url);
        if text.contains("native histograms are disabled") {
            // Retrying cannot help: Prometheus must be started with the feature on.
            if self.log_native.allow(60) {
                tracing::error!(endpoint = %self.url, "The backend rejects native histograms (OTLP exponential histograms): start Prometheus with --enable-feature=native-histograms");
            }
            return Err(ExportError::Permanent(format!("{reason} (the backend does not accept native histograms)")));
        }
        Err(match status {
            429 | 500..=599 => ExportError::Retryable { reason, retry_after },
            _ => ExportError::Permanent(reason),
        })
    }
}

/// Splits series into write requests each under `max` bytes (a single larger series goes alone).
pub fn split_requests(
    series: Vec<TimeSeries>,
    metadata: Vec<crate::proto::prometheus::MetricMetadata>,
    max: usize,
) -> Vec<WriteRequest> {
    let mut out = Vec::new();
    let mut cur = WriteRequest::default();
    let mut size = 0usize;
    for ts in series {
        let n = ts.encoded_len() + 5;
        if size + n > max && !cur.timeseries.is_empty() {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += n;
        cur.timeseries.push(ts);
    }
    if !cur.timeseries.is_empty() {
        out.push(cur);
    }
    let mut md = WriteRequest::default();
    let mut md_size = 0;
    for m in metadata {
        let n = m.encoded_len() + 5;
        if md_size + n > max && !md.metadata.is_empty() {
            out.push(std::mem::take(&mut md));
            md_size = 0;
        }
        md_size += n;
        md.metadata.push(m);
    }
    if !md.metadata.is_empty() {
        out.push(md);
    }
    out
}

#[async_trait]
impl Exporter for PrwExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let Batch::Metrics(rm) = batch else {
            return Err(ExportError::Permanent("prometheusremotewrite exports metrics only".into()));
        };
        let t = translate(rm, &self.opts);
        self.telemetry.translated_time_series.add(t.series.len() as u64);
        let dropped: usize = t.dropped.iter().map(|(n, _)| n).sum();
        let reasons: Vec<String> = t.dropped.iter().map(|(_, r)| r.clone()).collect();
        if !t.dropped.is_empty() {
            self.telemetry.failed_translations.add(1);
        }
        for wr in split_requests(t.series, t.metadata, self.max_batch_bytes) {
            self.send(&wr).await?;
        }
        if dropped > 0 || !reasons.is_empty() {
            return Err(ExportError::Dropped { items: dropped, reason: reasons.join("; ") });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::prometheus::{Label, Sample};

    #[test]
    fn requests_stay_under_the_size_limit() {
        let ts = |i: usize| TimeSeries {
            labels: vec![Label { name: "__name__".into(), value: format!("m{i:04}") }],
            samples: vec![Sample { value: 1.0, timestamp: 1 }],
            ..Default::default()
        };
        let one = ts(0).encoded_len() + 5;
        let reqs = split_requests((0..100).map(ts).collect(), vec![], one * 10);
        assert_eq!(reqs.len(), 10);
        assert!(reqs.iter().all(|r| r.encoded_len() <= one * 10));
        assert_eq!(reqs.iter().map(|r| r.timeseries.len()).sum::<usize>(), 100);
        assert_eq!(split_requests((0..3).map(ts).collect(), vec![], 1).len(), 3, "an oversized series goes alone");
    }
}
