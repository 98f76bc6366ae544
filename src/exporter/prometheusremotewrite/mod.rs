//! The `prometheusremotewrite` exporter: OTLP metrics → Prometheus remote write 1.0
//! (`prometheus.WriteRequest`, snappy), optionally signed by the `sigv4auth` extension.

pub mod factory;
pub mod naming;
mod send;
pub mod translate;

pub use send::split_requests;

use super::helper::config::{QueueConfig, RetryConfig, Sizer};
use super::helper::http_send::HttpSender;
use crate::aws::Signer;
use crate::config::{ConfigError, GoDuration};
use crate::http_client::{self, TlsClientConfig};
use crate::telemetry::logging::RateLimit;
use crate::telemetry::metrics::{Counter, Gauge};
use naming::{LabelNamer, MetricNamer, Strategy};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use translate::TranslateOptions;

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

/// `remote_write_queue` (Go factory.go `createDefaultConfig`: queue_size 10000, num_consumers 5).
/// The queue always has one consumer (factory.go: the `EnableMultipleWorkers` gate is off), so
/// batches leave in the order they came; `num_consumers` is how many requests of one batch are
/// sent at once (exporter.go `export`), unless `max_batch_request_parallelism` is set.
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
    pub headers: BTreeMap<String, crate::secret::Opaque>,
    pub timeout: GoDuration,
    pub tls: TlsClientConfig,
    pub compression: Option<String>,
    pub auth: Option<AuthConfig>,
    pub namespace: String,
    pub external_labels: BTreeMap<String, String>,
    pub resource_to_telemetry_conversion: Enabled,
    pub add_metric_suffixes: bool,
    pub translation_strategy: Option<String>,
    pub target_info: TargetInfo,
    pub disable_scope_info: bool,
    pub send_metadata: bool,
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
    pub include_metadata_keys: Option<Vec<String>>,
    pub convert_explicit_histograms_to_nhcb: bool,
    pub keep_classic_histograms: bool,
    pub resource_constant_labels: Option<Value>,
    pub http: Option<Value>,
    pub compression_params: Option<Value>,
    pub http2_read_idle_timeout: Option<GoDuration>,
    pub http2_ping_timeout: Option<GoDuration>,
    pub cookies: Option<Value>,
    pub middlewares: Option<Value>,
    pub force_attempt_http2: Option<bool>,
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
            translation_strategy: None,
            target_info: TargetInfo { enabled: true },
            disable_scope_info: false,
            send_metadata: false,
            remote_write_queue: RemoteWriteQueue::default(),
            // factory.go: the default backoff with a 50ms initial interval; exporter.go `execute`
            // retries each request with it.
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
            include_metadata_keys: None,
            convert_explicit_histograms_to_nhcb: false,
            keep_classic_histograms: false,
            resource_constant_labels: None,
            http: None,
            compression_params: None,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            cookies: None,
            middlewares: None,
            force_attempt_http2: None,
        }
    }
}

impl PrwConfig {
    /// config.go `Validate` (Go's messages where it has one) plus what oxidot cannot do yet.
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        use crate::config::limits;
        let p = |k: &str| format!("{base}::{k}");
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            errs.push(ConfigError::new(
                p("endpoint"),
                format!(
                    "invalid endpoint {:?}: must be an http:// or https:// URL",
                    crate::secret::redact_url(&self.endpoint)
                ),
            ));
        }
        if self.max_batch_request_parallelism.is_some_and(|n| n < 1) {
            errs.push(ConfigError::new(
                p("max_batch_request_parallelism"),
                "max_batch_request_parallelism can't be set to below 1",
            ));
        }
        if self.remote_write_queue.enabled && self.remote_write_queue.queue_size == 0 {
            errs.push(ConfigError::new(p("remote_write_queue::queue_size"), "a 0 size queue will drop all the data"));
        }
        // Go accepts 0 and then sends nothing at all (no worker takes the requests).
        if self.remote_write_queue.num_consumers == 0 && self.max_batch_request_parallelism.is_none() {
            errs.push(ConfigError::new(
                p("remote_write_queue::num_consumers"),
                "must be at least 1 (with 0 the Go collector silently sends nothing)",
            ));
        }
        let q = &self.remote_write_queue;
        limits::check(&mut errs, p("remote_write_queue::queue_size"), q.queue_size as u64, limits::QUEUE_SIZE);
        limits::check(&mut errs, p("remote_write_queue::num_consumers"), q.num_consumers as u64, limits::CONSUMERS);
        if let Some(n) = self.max_batch_request_parallelism {
            limits::check(&mut errs, p("max_batch_request_parallelism"), n.into(), limits::CONSUMERS);
        }
        limits::check(&mut errs, p("max_batch_size_bytes"), self.max_batch_size_bytes as u64, limits::RW_BATCH_BYTES);
        limits::check_duration(&mut errs, p("timeout"), self.timeout.0, limits::DURATION);
        if let Some(c) = self.compression.as_deref().filter(|c| !c.is_empty() && *c != "snappy") {
            errs.push(ConfigError::new(p("compression"), format!("compression type must be snappy, not {c:?}")));
        }
        match self.protobuf_message.as_deref() {
            None | Some("") | Some("prometheus.WriteRequest") => {}
            Some("io.prometheus.write.v2.Request") => errs.push(ConfigError::new(
                p("protobuf_message"),
                "remote write 2.0 (io.prometheus.write.v2.Request) is not supported by oxidot yet: use prometheus.WriteRequest",
            )),
            Some(m) => errs.push(ConfigError::new(p("protobuf_message"), format!("unknown remote write protobuf message {m:?}"))),
        }
        match self.translation_strategy.as_deref().filter(|s| !s.is_empty()) {
            None => {}
            Some(s) => match Strategy::parse(s) {
                None => {
                    errs.push(ConfigError::new(p("translation_strategy"), format!("invalid translation_strategy: {s}")))
                }
                Some(st) if !st.should_escape() => errs.push(ConfigError::new(
                    p("translation_strategy"),
                    format!("translation strategy {s} requires Prometheus Remote Write 2.0 (UTF-8 support)"),
                )),
                Some(_) => {}
            },
        }
        for (k, v) in &self.external_labels {
            if k.is_empty() || v.is_empty() {
                errs.push(ConfigError::new(
                    p("external_labels"),
                    "prometheus remote write: external labels configuration contains an empty key or value",
                ));
            } else if let Err(e) = LabelNamer::default().build(k) {
                errs.push(ConfigError::new(p("external_labels"), e));
            }
        }
        if self.wal.is_some() {
            errs.push(ConfigError::new(p("wal"), "the write-ahead log is not supported by oxidot yet"));
        }
        if self.proxy_url.is_some() {
            errs.push(ConfigError::new(p("proxy_url"), "proxy_url is not supported by oxidot yet"));
        }
        if self.resource_constant_labels.is_some() {
            errs.push(ConfigError::new(
                p("resource_constant_labels"),
                "resource_constant_labels is not supported by oxidot yet: use resource_to_telemetry_conversion",
            ));
        }
        if self.http.is_some() {
            errs.push(ConfigError::new(
                p("http"),
                "the nested http client block is not supported by oxidot yet: set endpoint, headers, tls, auth at the top level",
            ));
        }
        if self.convert_explicit_histograms_to_nhcb {
            errs.push(ConfigError::new(
                p("convert_explicit_histograms_to_nhcb"),
                "native histograms with custom buckets are not supported by oxidot yet",
            ));
        }
        if self.auth.as_ref().is_some_and(|a| a.authenticator.is_empty()) {
            errs.push(ConfigError::new(
                p("auth::authenticator"),
                "must name an authenticator extension (e.g. sigv4auth)",
            ));
        }
        // factory.go `createMetricsExporter`: Go's own start-up warnings.
        if self.remote_write_queue.num_consumers != 5 {
            warns.push(format!("{}: `remote_write_queue.num_consumers` will be used to configure processing parallelism, rather than request parallelism in a future release. This may cause out-of-order issues unless you take action. Please migrate to using `max_batch_request_parallelism` to keep the your existing behavior.", p("remote_write_queue::num_consumers")));
        }
        if !self.add_metric_suffixes {
            warns.push(format!("{}: `add_metric_suffixes` is deprecated. Please use `translation_strategy: UnderscoreEscapingWithoutSuffixes` instead.", p("add_metric_suffixes")));
        }
        // Accepted, not acted on.
        if self.include_metadata_keys.as_ref().is_some_and(|k| !k.is_empty()) {
            warns.push(format!(
                "{}: client metadata is not forwarded as headers by oxidot; ignored",
                p("include_metadata_keys")
            ));
        }
        if self.keep_classic_histograms {
            warns.push(format!(
                "{}: has no effect without convert_explicit_histograms_to_nhcb",
                p("keep_classic_histograms")
            ));
        }
        let http_tuning = [
            ("read_buffer_size", self.read_buffer_size.is_some()),
            ("write_buffer_size", self.write_buffer_size.is_some()),
            ("max_idle_conns", self.max_idle_conns.is_some()),
            ("max_idle_conns_per_host", self.max_idle_conns_per_host.is_some()),
            ("max_conns_per_host", self.max_conns_per_host.is_some()),
            ("idle_conn_timeout", self.idle_conn_timeout.is_some()),
            ("disable_keep_alives", self.disable_keep_alives.is_some()),
            ("compression_params", self.compression_params.is_some()),
            ("http2_read_idle_timeout", self.http2_read_idle_timeout.is_some()),
            ("http2_ping_timeout", self.http2_ping_timeout.is_some()),
            ("cookies", self.cookies.is_some()),
            ("middlewares", self.middlewares.is_some()),
            ("force_attempt_http2", self.force_attempt_http2.is_some()),
        ];
        for (k, set) in http_tuning {
            if set {
                warns.push(format!("{}: HTTP client tuning is not applied by oxidot; ignored", p(k)));
            }
        }
        self.tls.validate(base, &mut errs);
        self.retry_on_failure.validate(base, &mut errs);
        (errs, warns)
    }

    /// exporter.go `newPRWExporter`: requests of one batch sent at once.
    pub fn parallelism(&self) -> usize {
        self.max_batch_request_parallelism.map(|n| n as usize).unwrap_or(self.remote_write_queue.num_consumers).max(1)
    }

    /// metrics_to_prw.go `getTranslationConfiguration`: `translation_strategy` when set, else
    /// `add_metric_suffixes`; names are always escaped (remote write 1.0).
    pub fn with_suffixes(&self) -> bool {
        match self.translation_strategy.as_deref().and_then(Strategy::parse) {
            Some(s) => s.should_add_suffixes(),
            None => self.add_metric_suffixes,
        }
    }

    /// The shared queue settings this exporter runs with.
    pub fn queue(&self) -> QueueConfig {
        QueueConfig {
            enabled: self.remote_write_queue.enabled,
            queue_size: self.remote_write_queue.queue_size,
            // factory.go: one consumer, so batches cannot overtake each other.
            num_consumers: 1,
            sizer: Sizer::Requests,
            ..QueueConfig::enabled_default()
        }
    }

    pub fn translate_options(&self) -> TranslateOptions {
        // pkg/translator/prometheus `DropSanitizationGate`, read when the exporter is built.
        let permissive = crate::featuregate::PROMETHEUS_PERMISSIVE_LABEL_SANITIZATION.is_enabled();
        // exporter.go `validateAndSanitizeExternalLabels`: a plain otlptranslator label namer.
        let mut external: Vec<(String, String)> = self
            .external_labels
            .iter()
            .filter_map(|(k, v)| LabelNamer::default().build(k).ok().map(|k| (k, v.clone())))
            .collect();
        external.sort();
        TranslateOptions {
            metric_namer: MetricNamer {
                namespace: self.namespace.clone(),
                with_suffixes: self.with_suffixes(),
                utf8_allowed: false,
            },
            label_namer: translate::label_namer(permissive),
            permissive_labels: permissive,
            resource_to_telemetry: self.resource_to_telemetry_conversion.enabled,
            target_info: self.target_info.enabled,
            external_labels: external,
            send_metadata: self.send_metadata,
            disable_scope_info: self.disable_scope_info,
        }
    }
}

/// exporter.go `maxErrMsgLen`: how much of an error answer is read.
const MAX_ERR_MSG_LEN: usize = 1024;

/// Counters the Go exporter adds beside the shared exporter metrics.
#[derive(Clone)]
pub struct PrwTelemetry {
    pub translated_time_series: Counter,
    pub failed_translations: Counter,
    /// `otelcol_exporter_prometheusremotewrite_sent_batches`: every POST, whatever its outcome.
    pub sent_batches: Counter,
    /// `otelcol_exporter_prometheusremotewrite_consumers`: requests of a batch sent at once.
    pub consumers: Gauge,
}

pub struct PrwExporter {
    sender: HttpSender,
    opts: TranslateOptions,
    max_batch_bytes: usize,
    parallelism: usize,
    retry: RetryConfig,
    signer: Option<Arc<Signer>>,
    telemetry: PrwTelemetry,
    log_native: RateLimit,
    /// `exporter.prometheusremotewritexporter.RetryOn429`, read when built.
    retry_on_429: bool,
}

impl PrwExporter {
    pub fn new(cfg: &PrwConfig, signer: Option<Arc<Signer>>, telemetry: PrwTelemetry) -> Result<Self, String> {
        let url: http::Uri = cfg
            .endpoint
            .parse()
            .map_err(|e| format!("invalid endpoint {:?}: {e}", crate::secret::redact_url(&cfg.endpoint)))?;
        let headers = http_client::header_map(&cfg.headers)?;
        // exporter.go newPRWExporter: `setNumberConsumer(concurrency)`.
        telemetry.consumers.set(cfg.parallelism() as i64);
        Ok(PrwExporter {
            sender: HttpSender::new(http_client::build(&cfg.tls)?, url, headers, MAX_ERR_MSG_LEN),
            opts: cfg.translate_options(),
            // config.go `Validate`: 0 means the default (~2.81MB).
            max_batch_bytes: if cfg.max_batch_size_bytes == 0 { 3_000_000 } else { cfg.max_batch_size_bytes },
            parallelism: cfg.parallelism(),
            retry: cfg.retry_on_failure.clone(),
            signer,
            telemetry,
            log_native: RateLimit::new(),
            retry_on_429: crate::featuregate::PRW_RETRY_ON_429.is_enabled(),
        })
    }

    /// The settings the shared helper runs this exporter with (factory.go): one queue consumer,
    /// the timeout around the whole push, and no retry of its own, since every error this
    /// exporter returns is permanent (exporter.go retries each request itself).
    pub fn helper_settings(cfg: &PrwConfig) -> super::helper::HelperSettings {
        super::helper::HelperSettings {
            queue: cfg.queue(),
            retry: RetryConfig { enabled: false, ..cfg.retry_on_failure.clone() },
            timeout: Some(cfg.timeout.0),
        }
    }
}

#[cfg(test)]
mod tests;
