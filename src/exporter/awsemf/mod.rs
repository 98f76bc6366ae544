//! The `awsemf` exporter: metrics as CloudWatch Embedded Metric Format log events, sent with
//! PutLogEvents (SigV4, service `logs`) or printed on stdout (`output_destination: stdout`).
//! Go: contrib exporter/awsemfexporter (config.go, factory.go, emf_exporter.go).

pub mod cwlogs;
pub mod declaration;
pub mod factory;
pub mod translate;

use super::helper::config::{QueueConfig, RetryConfig};
use super::{ExportError, Exporter};
use crate::config::ConfigError;
use crate::pipeline::data::Batch;
use async_trait::async_trait;
use declaration::DeclarationConfig;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use translate::datapoint::Deltas;
use translate::{Descriptor, Rollup, TranslateOptions};

/// `exporters: awsemf:` — config.go `Config` with the awsutil session settings it squashes in,
/// ADOT's `middleware`, and oxidot's `sts_region`, `sending_queue`, `retry_on_failure`.
/// Defaults: factory.go createDefaultConfig and awsutil CreateDefaultSessionConfig.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmfConfig {
    pub namespace: String,
    pub log_group_name: String,
    pub log_stream_name: String,
    pub dimension_rollup_option: String,
    pub metric_declarations: Vec<DeclarationConfig>,
    pub metric_descriptors: Vec<DescriptorConfig>,
    pub resource_to_telemetry_conversion: ResourceToTelemetry,
    pub output_destination: String,
    pub parse_json_encoded_attr_values: Vec<String>,
    pub retain_initial_value_of_delta_metric: bool,
    pub detailed_metrics: bool,
    pub disable_metric_extraction: bool,
    pub eks_fargate_container_insights_enabled: bool,
    pub version: String,
    pub log_retention: i64,
    pub tags: BTreeMap<String, String>,
    pub add_entity: bool,
    pub middleware: Option<String>,
    // awsutil.AWSSessionSettings
    pub region: String,
    pub endpoint: String,
    pub role_arn: String,
    pub max_retries: u32,
    pub request_timeout_seconds: u64,
    pub num_workers: u32,
    pub no_verify_ssl: bool,
    pub proxy_address: String,
    pub local_mode: bool,
    pub resource_arn: String,
    pub external_id: String,
    pub profile: String,
    pub shared_credentials_file: Option<Vec<String>>,
    pub certificate_file_path: String,
    pub imds_retries: Option<u32>,
    // oxidot
    pub sts_region: String,
    pub sending_queue: QueueConfig,
    pub retry_on_failure: RetryConfig,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DescriptorConfig {
    pub metric_name: String,
    pub unit: String,
    pub overwrite: bool,
}

/// resourcetotelemetry.Settings: `enabled`; the pattern forms are refused (not built yet).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceToTelemetry {
    pub enabled: bool,
    pub exclude_service_attributes: Option<Value>,
    pub included: Option<Value>,
    pub excluded: Option<Value>,
}

impl Default for EmfConfig {
    fn default() -> Self {
        EmfConfig {
            namespace: String::new(),
            log_group_name: String::new(),
            log_stream_name: String::new(),
            dimension_rollup_option: "ZeroAndSingleDimensionRollup".into(),
            metric_declarations: Vec::new(),
            metric_descriptors: Vec::new(),
            resource_to_telemetry_conversion: ResourceToTelemetry::default(),
            output_destination: "cloudwatch".into(),
            parse_json_encoded_attr_values: Vec::new(),
            retain_initial_value_of_delta_metric: false,
            detailed_metrics: false,
            disable_metric_extraction: false,
            eks_fargate_container_insights_enabled: false,
            version: "1".into(),
            log_retention: 0,
            tags: BTreeMap::new(),
            add_entity: false,
            middleware: None,
            region: String::new(),
            endpoint: String::new(),
            role_arn: String::new(),
            max_retries: 2,
            request_timeout_seconds: 30,
            num_workers: 8,
            no_verify_ssl: false,
            proxy_address: String::new(),
            local_mode: false,
            resource_arn: String::new(),
            external_id: String::new(),
            profile: String::new(),
            shared_credentials_file: None,
            certificate_file_path: String::new(),
            imds_retries: None,
            sts_region: String::new(),
            // One consumer: cumulative → delta needs a series' points in order. Go's exporter
            // has no queue and no retry; a retried batch would compute its deltas again.
            sending_queue: QueueConfig { num_consumers: 1, ..QueueConfig::enabled_default() },
            retry_on_failure: RetryConfig { enabled: false, ..RetryConfig::default() },
        }
    }
}

/// config.go isValidRetentionValue.
const RETENTION_DAYS: [i64; 22] =
    [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288, 3653];

/// config.go eMFSupportedUnits.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

impl EmfConfig {
    /// Keys set to something oxidot does not act on, named in one warning.
    fn ignored_keys(&self) -> Vec<&'static str> {
        let d = EmfConfig::default();
        [
            ("num_workers", self.num_workers != d.num_workers),
            ("no_verify_ssl", self.no_verify_ssl),
            ("proxy_address", !self.proxy_address.is_empty()),
            ("resource_arn", !self.resource_arn.is_empty()),
            ("external_id", !self.external_id.is_empty()),
            ("profile", !self.profile.is_empty()),
            ("shared_credentials_file", self.shared_credentials_file.is_some()),
            ("certificate_file_path", !self.certificate_file_path.is_empty()),
            ("imds_retries", self.imds_retries.is_some()),
            ("middleware", self.middleware.is_some()),
            ("add_entity", self.add_entity),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }

    fn rollup(&self) -> Option<Rollup> {
        match self.dimension_rollup_option.as_str() {
            "ZeroAndSingleDimensionRollup" => Some(Rollup::ZeroAndSingle),
            "SingleDimensionRollupOnly" => Some(Rollup::SingleOnly),
            "NoDimensionRollup" => Some(Rollup::None),
            _ => None,
        }
    }

    fn stdout(&self) -> bool {
        self.output_destination.eq_ignore_ascii_case("stdout")
    }

    /// Errors, and warnings for what Go's `Validate` drops with a warning.
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        use crate::config::limits;
        let p = |k: &str| format!("{base}::{k}");
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        if self.rollup().is_none() {
            errs.push(ConfigError::new(
                p("dimension_rollup_option"),
                format!(
                    "{:?} is not a dimension rollup option (valid: ZeroAndSingleDimensionRollup, SingleDimensionRollupOnly, NoDimensionRollup)",
                    self.dimension_rollup_option
                ),
            ));
        }
        if !self.stdout() && !self.output_destination.eq_ignore_ascii_case("cloudwatch") {
            errs.push(ConfigError::new(
                p("output_destination"),
                format!("{:?} is not an output destination (valid: cloudwatch, stdout)", self.output_destination),
            ));
        }
        if self.version != "0" && self.version != "1" {
            errs.push(ConfigError::new(
                p("version"),
                format!("{:?} is not an EMF version (valid: \"0\", \"1\")", self.version),
            ));
        }
        if !RETENTION_DAYS.contains(&self.log_retention) {
            errs.push(ConfigError::new(
                p("log_retention"),
                "invalid value for retention policy.  Please make sure to use the following values: 0 (Never Expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288, or 3653",
            ));
        }
        if self.tags.len() > 50 {
            errs.push(ConfigError::new(p("tags"), "at most 50 tags"));
        }
        if !self.endpoint.is_empty() && !self.endpoint.starts_with("http://") && !self.endpoint.starts_with("https://")
        {
            errs.push(ConfigError::new(
                p("endpoint"),
                format!("invalid endpoint {:?}: use https://…", crate::secret::redact_url(&self.endpoint)),
            ));
        }
        let r = &self.resource_to_telemetry_conversion;
        for (k, set) in [
            ("exclude_service_attributes", r.exclude_service_attributes.is_some()),
            ("included", r.included.is_some()),
            ("excluded", r.excluded.is_some()),
        ] {
            if set {
                errs.push(ConfigError::new(
                    p(&format!("resource_to_telemetry_conversion::{k}")),
                    "not supported by oxidot yet: use `enabled`",
                ));
            }
        }
        for (i, d) in self.metric_declarations.iter().enumerate() {
            match d.compile() {
                declaration::Compiled::Ok(_, notes) => warns.extend(notes.into_iter().map(|n| format!("{base}: {n}"))),
                declaration::Compiled::Dropped(why) => {
                    warns.push(format!("{base}: Dropped metric declaration {i}: {why}"))
                }
                declaration::Compiled::Invalid(why) => {
                    errs.push(ConfigError::new(p(&format!("metric_declarations::{i}")), why))
                }
            }
        }
        for d in &self.metric_descriptors {
            if !d.metric_name.is_empty() && !UNITS.contains(&d.unit.as_str()) {
                warns.push(format!("{base}: Dropped unsupported metric desctriptor: unit {:?}", d.unit));
            }
        }
        limits::check(&mut errs, p("num_workers"), self.num_workers.into(), limits::CONSUMERS);
        limits::check(&mut errs, p("max_retries"), self.max_retries.into(), limits::RETRIES);
        limits::check(
            &mut errs,
            p("request_timeout_seconds"),
            self.request_timeout_seconds,
            limits::DURATION.as_secs(),
        );
        let ignored = self.ignored_keys();
        if !ignored.is_empty() {
            warns.push(format!("{base}: accepted but not acted on by oxidot: {}", ignored.join(", ")));
        }
        self.sending_queue.validate(base, &mut errs);
        self.retry_on_failure.validate(base, &mut errs);
        (errs, warns)
    }

    /// The translator's options (declarations that Go drops are left out).
    pub fn translate_options(&self) -> TranslateOptions {
        let declarations = self
            .metric_declarations
            .iter()
            .filter_map(|d| match d.compile() {
                declaration::Compiled::Ok(d, _) => Some(d),
                _ => None,
            })
            .collect();
        let descriptors: HashMap<String, Descriptor> = self
            .metric_descriptors
            .iter()
            .filter(|d| !d.metric_name.is_empty() && UNITS.contains(&d.unit.as_str()))
            .map(|d| (d.metric_name.clone(), Descriptor { unit: d.unit.clone(), overwrite: d.overwrite }))
            .collect();
        TranslateOptions {
            namespace: self.namespace.clone(),
            log_group_name: self.log_group_name.clone(),
            log_stream_name: self.log_stream_name.clone(),
            rollup: self.rollup().unwrap_or(Rollup::ZeroAndSingle),
            declarations,
            descriptors,
            parse_json_encoded_attr_values: self.parse_json_encoded_attr_values.clone(),
            retain_initial_value_of_delta_metric: self.retain_initial_value_of_delta_metric,
            detailed_metrics: self.detailed_metrics,
            version: self.version.clone(),
            disable_metric_extraction: self.disable_metric_extraction,
            eks_fargate_container_insights: self.eks_fargate_container_insights_enabled,
            resource_to_telemetry: self.resource_to_telemetry_conversion.enabled,
        }
    }
}

pub struct EmfExporter {
    opts: TranslateOptions,
    deltas: Mutex<Deltas>,
    /// `None`: stdout.
    client: Option<cwlogs::Client>,
    /// emf_exporter.go: `otel-stream-<collector id>` when no stream is configured.
    default_stream: String,
    log_refused: crate::telemetry::logging::RateLimit,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl EmfExporter {
    pub fn new(cfg: &EmfConfig) -> Result<Self, String> {
        let client = if cfg.stdout() {
            None
        } else {
            // No `endpoint`: the SDKs' override variables, as Go's aws-sdk-go-v2 client reads them.
            let endpoint = Some(cfg.endpoint.clone())
                .filter(|e| !e.is_empty())
                .or_else(|| crate::aws::env_endpoint("CLOUDWATCH_LOGS"))
                .unwrap_or_default();
            let region = Some(cfg.region.clone())
                .filter(|r| !r.is_empty())
                .or_else(crate::aws::env_region)
                .or_else(|| {
                    let host = endpoint.parse::<http::Uri>().ok()?.host()?.to_string();
                    crate::aws::infer_service_and_region(&host).1
                })
                .ok_or("no region: set `region` (or AWS_REGION)")?;
            Some(cwlogs::Client::new(cwlogs::ClientSettings {
                region: &region,
                endpoint: &endpoint,
                role_arn: &cfg.role_arn,
                sts_region: &cfg.sts_region,
                timeout: std::time::Duration::from_secs(cfg.request_timeout_seconds.max(1)),
                tags: cfg.tags.clone(),
                retention_days: cfg.log_retention,
                retries: cfg.max_retries,
            })?)
        };
        Ok(EmfExporter {
            opts: cfg.translate_options(),
            deltas: Mutex::new(Deltas::default()),
            client,
            default_stream: format!("otel-stream-{}", uuid_v4()),
            log_refused: crate::telemetry::logging::RateLimit::new(),
        })
    }
}

/// A random (version 4) UUID, as Go's `uuid.NewRandom` prints it.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[async_trait]
impl Exporter for EmfExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let decoded = batch.decoded();
        let Batch::Metrics(rms) = &*decoded else {
            return Err(ExportError::Permanent("awsemf exports metrics only".into()));
        };
        let now = now_ms();
        let (translated, refused) = {
            // Held only while translating: the delta state must see a series' points in order.
            let mut deltas = self.deltas.lock().unwrap_or_else(|e| e.into_inner());
            let before = deltas.refused;
            let t = translate::translate(rms, &self.opts, &mut deltas, now);
            (t, deltas.refused - before)
        };
        if refused > 0 && self.log_refused.allow(60) {
            tracing::warn!(
                series = refused,
                limit = translate::datapoint::MAX_DELTA_SERIES,
                "Too many cumulative series to remember for deltas: points of new series dropped"
            );
        }
        if translated.skipped > 0 {
            tracing::debug!(points = translated.skipped, "Skipped stale, NaN or infinite data points");
        }
        let Some(client) = &self.client else {
            // emf_exporter.go: fmt.Println of each message.
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            for e in &translated.events {
                let _ = writeln!(out, "{}", e.message);
            }
            let _ = out.flush();
            return Ok(());
        };
        let mut events = Vec::with_capacity(translated.events.len());
        let mut refused_points = 0;
        let mut reasons = Vec::new();
        for mut e in translated.events {
            if e.log_stream.is_empty() {
                e.log_stream = self.default_stream.clone();
            }
            match cwlogs::validate(&mut e, now) {
                Ok(()) => events.push(e),
                Err(r) => {
                    refused_points += r.points;
                    if !reasons.contains(&r.reason) {
                        reasons.push(r.reason);
                    }
                }
            }
        }
        if refused_points > 0 && self.log_refused.allow(60) {
            tracing::error!(reason = reasons.join("; "), "discard log entry with invalid timestamp or message");
        }
        let batches = cwlogs::batches(events);
        let mut sent_any = false;
        for (i, b) in batches.iter().enumerate() {
            if let Err(e) = client.put(b).await {
                let rest: usize = batches[i..].iter().map(|b| b.points).sum::<usize>() + refused_points;
                let reason = format!("PutLogEvents to {}/{}: {e}", b.log_group, b.log_stream);
                // Calls already made are not made again (a retried batch would also compute its
                // deltas anew): what is left counts as failed.
                if sent_any {
                    return Err(ExportError::Dropped { items: rest, reason });
                }
                return Err(if e.retryable() {
                    ExportError::retryable(reason)
                } else {
                    // emf_exporter.go wrapErrorIfBadRequest: a 4xx answer is permanent.
                    ExportError::Permanent(reason)
                });
            }
            sent_any = true;
        }
        if refused_points > 0 {
            return Err(ExportError::Dropped { items: refused_points, reason: reasons.join("; ") });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
