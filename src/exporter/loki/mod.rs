//! The `loki` exporter: log records → Loki's push API (`logproto.PushRequest`, snappy,
//! `application/x-protobuf`), one request per tenant (contrib exporter/lokiexporter, removed
//! after v0.130).

mod encode;
pub mod factory;
pub mod gofmt;
mod logfmt;
pub mod translate;

use super::helper::config::{QueueConfig, RetryConfig};
use super::helper::http_send::{snappy, CompressError, HttpSender, RetryPolicy};
use super::{ExportError, Exporter};
use crate::config::{ConfigError, GoDuration};
use crate::http_client::{self, TlsClientConfig};
use crate::pipeline::data::Batch;
use crate::proto::logproto::PushRequest;
use crate::telemetry::metrics::Counter;
use async_trait::async_trait;
use bytes::Bytes;
use prost::Message;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use translate::{translate, DefaultLabels};

/// `exporters: loki:` (Go: lokiexporter config.go `Config` and factory.go
/// `createDefaultConfig`): confighttp's client keys, `sending_queue`, `retry_on_failure`,
/// `default_labels_enabled`.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LokiConfig {
    pub endpoint: String,
    pub headers: BTreeMap<String, crate::secret::Opaque>,
    pub tls: TlsClientConfig,
    pub timeout: GoDuration,
    pub compression: Option<String>,
    pub auth: Option<Value>,
    pub default_labels_enabled: BTreeMap<String, bool>,
    pub sending_queue: QueueConfig,
    pub retry_on_failure: RetryConfig,
    // confighttp client tuning: accepted, hyper's pool decides.
    pub read_buffer_size: Option<u64>,
    pub write_buffer_size: Option<u64>,
    pub max_idle_conns: Option<u64>,
    pub max_idle_conns_per_host: Option<u64>,
    pub max_conns_per_host: Option<u64>,
    pub idle_conn_timeout: Option<GoDuration>,
    pub disable_keep_alives: Option<bool>,
    pub http2_read_idle_timeout: Option<GoDuration>,
    pub http2_ping_timeout: Option<GoDuration>,
    pub proxy_url: Option<String>,
    pub compression_params: Option<Value>,
    pub cookies: Option<Value>,
    pub force_attempt_http2: Option<bool>,
    pub middlewares: Option<Value>,
}

impl Default for LokiConfig {
    fn default() -> Self {
        LokiConfig {
            endpoint: String::new(),
            headers: BTreeMap::new(),
            tls: TlsClientConfig::default(),
            timeout: GoDuration::from_secs(30),
            compression: None,
            auth: None,
            // Go's default map holds the four keys, all true; a key left out is also true.
            default_labels_enabled: BTreeMap::new(),
            sending_queue: QueueConfig::enabled_default(),
            retry_on_failure: RetryConfig::default(),
            read_buffer_size: None,
            write_buffer_size: Some(DEFAULT_WRITE_BUFFER_SIZE),
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: None,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            proxy_url: None,
            compression_params: None,
            cookies: None,
            force_attempt_http2: None,
            middlewares: None,
        }
    }
}

impl LokiConfig {
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        use crate::config::limits;
        let p = |k: &str| format!("{base}::{k}");
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            errs.push(ConfigError::new(
                p("endpoint"),
                format!("\"endpoint\" must be a valid URL, got {:?}", crate::secret::redact_url(&self.endpoint)),
            ));
        }
        // config.go Validate checks the queue and the endpoint only: other keys in
        // default_labels_enabled are accepted and mean nothing, as in Go.
        if let Some(c) = self.compression.as_deref().filter(|c| !c.is_empty() && *c != "none" && *c != "snappy") {
            errs.push(ConfigError::new(
                p("compression"),
                format!("push bodies are always snappy-compressed protobuf; compression {c:?} is not allowed"),
            ));
        }
        if self.proxy_url.as_deref().is_some_and(|u| !u.is_empty()) {
            errs.push(ConfigError::new(p("proxy_url"), "proxy_url is not supported by oxidot yet"));
        }
        if self
            .middlewares
            .as_ref()
            .is_some_and(|m| !matches!(m, Value::Null) && m.as_sequence().is_none_or(|s| !s.is_empty()))
        {
            errs.push(ConfigError::new(p("middlewares"), "HTTP client middlewares are not supported by oxidot yet"));
        }
        if self.auth.is_some() {
            errs.push(ConfigError::new(
                p("auth"),
                "authenticator extensions on the loki exporter are not supported by oxidot yet",
            ));
        }
        // confighttp keys Go applies to its HTTP client and oxidot's client does not: accepted
        // (a Go config loads unchanged) and named once at start.
        let http_tuning = [
            ("read_buffer_size", self.read_buffer_size.is_some()),
            ("write_buffer_size", self.write_buffer_size.is_some_and(|n| n != DEFAULT_WRITE_BUFFER_SIZE)),
            ("max_idle_conns", self.max_idle_conns.is_some()),
            ("max_idle_conns_per_host", self.max_idle_conns_per_host.is_some()),
            ("max_conns_per_host", self.max_conns_per_host.is_some()),
            ("idle_conn_timeout", self.idle_conn_timeout.is_some()),
            ("disable_keep_alives", self.disable_keep_alives.is_some()),
            ("http2_read_idle_timeout", self.http2_read_idle_timeout.is_some()),
            ("http2_ping_timeout", self.http2_ping_timeout.is_some()),
            ("compression_params", self.compression_params.is_some()),
            ("cookies", self.cookies.is_some()),
            ("force_attempt_http2", self.force_attempt_http2.is_some()),
        ];
        for (k, set) in http_tuning {
            if set {
                warns.push(format!("{}: HTTP client tuning is not applied by oxidot; ignored", p(k)));
            }
        }
        self.tls.validate(base, &mut errs);
        self.sending_queue.validate(base, &mut errs);
        limits::check_duration(&mut errs, p("timeout"), self.timeout.0, limits::DURATION);
        self.retry_on_failure.validate(base, &mut errs);
        (errs, warns)
    }

    pub fn default_labels(&self) -> DefaultLabels {
        DefaultLabels::from_map(&self.default_labels_enabled)
    }
}

/// exporter.go `encode`: the protobuf push request, snappy block compressed.
fn encode(req: &PushRequest) -> Result<Vec<u8>, CompressError> {
    let mut out = Vec::new();
    snappy(&req.encode_to_vec(), &mut out)?;
    Ok(out)
}

/// factory.go `createDefaultConfig`: 512 KiB.
const DEFAULT_WRITE_BUFFER_SIZE: u64 = 512 * 1024;

/// exporter.go `maxErrMsgLen`: how much of an error answer's body is read.
const MAX_ERR_MSG_LEN: usize = 1024;

/// exporter.go `missingLabelsErrorMsg`: what Loki answers to a stream without labels.
const MISSING_LABELS_ERROR_MSG: &str = "error at least one label pair is required per stream";

pub struct LokiExporter {
    sender: HttpSender,
    defaults: DefaultLabels,
    /// `pkg.translator.prometheus.PermissiveLabelSanitization`, read when built.
    permissive_labels: bool,
    /// `otelcol_lokiexporter_send_failed_due_to_missing_labels` (metadata.yaml telemetry).
    missing_labels: Counter,
}

impl LokiExporter {
    pub fn new(cfg: &LokiConfig, missing_labels: Counter) -> Result<Self, String> {
        let url: http::Uri = cfg
            .endpoint
            .parse()
            .map_err(|e| format!("invalid endpoint {:?}: {e}", crate::secret::redact_url(&cfg.endpoint)))?;
        let headers = http_client::header_map(&cfg.headers)?;
        Ok(LokiExporter {
            sender: HttpSender::new(http_client::build(&cfg.tls)?, url, headers, MAX_ERR_MSG_LEN),
            defaults: cfg.default_labels(),
            permissive_labels: crate::featuregate::PROMETHEUS_PERMISSIVE_LABEL_SANITIZATION.is_enabled(),
            missing_labels,
        })
    }

    /// exporter.go `sendPushRequest`: `headers`, then the tenant from the hints (if any) as
    /// `X-Scope-OrgID`.
    async fn push(&self, tenant: &str, req: &PushRequest) -> Result<(), ExportError> {
        let compressed = encode(req).map_err(|e| ExportError::Permanent(e.to_string()))?;
        let mut req = self.sender.post(&[]);
        // Set after `headers`, so they cannot change it (as exporter.go).
        req.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-protobuf"));
        if !tenant.is_empty() {
            let v = http::HeaderValue::from_str(tenant)
                .map_err(|_| ExportError::Permanent("the tenant is not a valid header value".into()))?;
            req.headers_mut().insert("X-Scope-OrgID", v);
        }
        let answer = self
            .sender
            .send(req, Bytes::from(compressed))
            .await
            .map_err(|e| ExportError::retryable(format!("failed to push to Loki at {}: {e}", self.sender.url())))?;
        if answer.is_success() {
            return Ok(());
        }
        // exporter.go: `HTTP <code> "<status text>": <first line of at most 1024 bytes of the body>`;
        // 4xx other than 429 permanent, everything else retried.
        let text = String::from_utf8_lossy(&answer.body);
        let line = text.lines().next().unwrap_or("");
        let status = answer.status;
        let status_text = http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
        let reason = format!("HTTP {status} {status_text:?}: {line} (Loki at {})", self.sender.url());
        Err(RetryPolicy::Loki.error(&answer, line, reason))
    }
}

#[async_trait]
impl Exporter for LokiExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let decoded = batch.decoded();
        let Batch::Logs(rl) = &*decoded else {
            return Err(ExportError::Permanent("loki exports logs only".into()));
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        let t = translate(rl, &self.defaults, now, self.permissive_labels);
        let records: usize = rl.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum();
        // exporter.go pushLogData/sendPushRequest: every tenant's request is sent; a tenant left
        // without streams is a permanent failure; records that failed to convert are only
        // logged. Any permanent failure makes the whole batch's error permanent (multierr),
        // otherwise a failure is retried.
        let mut permanent = Vec::new();
        let mut retryable: Option<ExportError> = None;
        for (tenant, req) in &t.requests {
            if req.streams.is_empty() {
                permanent.push("failed to transform logs into Loki log streams".to_string());
                continue;
            }
            let (dropped, submitted) = t.report(tenant);
            if dropped > 0 {
                let first = t.dropped.iter().find(|(tn, _)| tn == tenant).map(|(_, e)| e.as_str()).unwrap_or("");
                tracing::info!(dropped, submitted, error = first, "not all log entries were converted to Loki");
            }
            let result = self.push(tenant, req).await;
            // Go counts the whole batch's records for each tenant Loki refuses this way.
            if let Err(ExportError::Permanent(r) | ExportError::Retryable { reason: r, .. }) = &result {
                if r.contains(MISSING_LABELS_ERROR_MSG) {
                    self.missing_labels.add(records as u64);
                }
            }
            match result {
                Ok(()) => {}
                Err(ExportError::Permanent(r)) => permanent.push(r),
                Err(e) => {
                    retryable.get_or_insert(e);
                }
            }
        }
        if !permanent.is_empty() {
            return Err(ExportError::Permanent(permanent.join("; ")));
        }
        if let Some(e) = retryable {
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// exporter/lokiexporter config_test.go TestLoadConfig, `loki/allsettings` of its
    /// testdata/config.yaml (with the default_labels_enabled it expects).
    #[test]
    fn go_allsettings_config_loads() {
        let y = r#"
endpoint: "https://loki:3100/loki/api/v1/push"
tls:
  insecure: true
  ca_file: /var/lib/mycert.pem
  cert_file: certfile
  key_file: keyfile
timeout: 10s
read_buffer_size: 123
write_buffer_size: 345
sending_queue:
  enabled: true
  num_consumers: 2
  queue_size: 10
retry_on_failure:
  enabled: true
  initial_interval: 10s
  max_interval: 60s
  max_elapsed_time: 10m
headers:
  "X-Custom-Header": "loki_rocks"
default_labels_enabled:
  exporter: false
  job: true
  instance: true
  level: false
  something_else: true
"#;
        let c: LokiConfig = serde_yaml_ng::from_str(y).unwrap();
        // Only the TLS files are missing here (oxidot checks them while validating).
        let (errs, warns) = c.validate("exporters::loki");
        assert!(errs.iter().all(|e| e.to_string().contains("does not exist")), "{errs:?}");
        assert_eq!(
            warns,
            vec![
                "exporters::loki::read_buffer_size: HTTP client tuning is not applied by oxidot; ignored",
                "exporters::loki::write_buffer_size: HTTP client tuning is not applied by oxidot; ignored",
            ]
        );
        assert_eq!(c.default_labels(), DefaultLabels { exporter: false, job: true, instance: true, level: false });
        assert_eq!(c.write_buffer_size, Some(345));
        assert!(
            serde_yaml_ng::from_str::<LokiConfig>("endpoint: http://x\ntenant_id: a\n").is_err(),
            "Go has no tenant_id"
        );
    }

    /// exporter_test.go TestExporter_encode ("with good proto"): the body is a snappy block of
    /// the protobuf request (Go's "bad proto" case has no Rust counterpart: prost cannot fail).
    #[test]
    fn encode_is_snappy_of_the_push_request() {
        use crate::proto::logproto::{EntryAdapter, StreamAdapter};
        let pr = PushRequest {
            streams: vec![StreamAdapter {
                labels: r#"{container_name="mycontainer"}"#.into(),
                entries: vec![EntryAdapter {
                    timestamp: Some(prost_types::Timestamp { seconds: 1, nanos: 2 }),
                    line: "log message".into(),
                    structured_metadata: vec![],
                }],
                hash: 0,
            }],
        };
        let body = encode(&pr).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        assert_eq!(PushRequest::decode(&raw[..]).unwrap(), pr);
    }

    /// config_test.go TestConfigValidate: the endpoint must be a URL.
    #[test]
    fn endpoint_must_be_a_url() {
        let c = LokiConfig::default();
        assert!(c.validate("exporters::loki").0.iter().any(|e| e.to_string().contains("must be a valid URL")));
    }

    /// Keys Go's confighttp applies and oxidot's client does not: accepted, each warned about
    /// once at start (no warning for the defaults).
    #[test]
    fn ignored_http_client_keys_warn() {
        let y = "endpoint: http://loki:3100/loki/api/v1/push\ncookies: {enabled: true}\ncompression_params: {level: 1}\nforce_attempt_http2: true\n";
        let c: LokiConfig = serde_yaml_ng::from_str(y).unwrap();
        let (errs, warns) = c.validate("exporters::loki");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(warns.len(), 3, "{warns:?}");
        for k in ["compression_params", "cookies", "force_attempt_http2"] {
            assert!(warns.iter().any(|w| w.starts_with(&format!("exporters::loki::{k}: "))), "{k}: {warns:?}");
        }
        let (_, warns) = LokiConfig { endpoint: "http://x".into(), ..Default::default() }.validate("exporters::loki");
        assert!(warns.is_empty(), "{warns:?}");
    }
}
