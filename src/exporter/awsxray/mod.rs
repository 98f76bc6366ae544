//! The `awsxray` exporter: spans → X-Ray segment documents, sent by PutTraceSegments (SigV4,
//! service `xray`) to the X-Ray API or the X-Ray daemon's proxy, or as UDP datagrams to the
//! daemon (`endpoint: udp://host:2000`).

pub mod factory;
pub mod translate;
pub mod transport;

use super::helper::config::{QueueConfig, RetryConfig};
use super::{ExportError, Exporter};
use crate::config::ConfigError;
use crate::pipeline::data::Batch;
use async_trait::async_trait;
use serde::Deserialize;
use serde_yaml_ng::Value;
use translate::{segments, to_document, TranslateOptions};
use transport::Transport;

/// `exporters: awsxray:` — the keys of the Go exporter's `Config` (config.go: `indexed_attributes`,
/// `index_all_attributes`, `aws_log_groups`, `telemetry`), of the awsutil session settings it
/// squashes in (`num_workers`, `endpoint`, `request_timeout_seconds`, `max_retries`,
/// `no_verify_ssl`, `proxy_address`, `region`, `local_mode`, `resource_arn`, `role_arn`,
/// `external_id`, `profile`, `shared_credentials_file`, `certificate_file_path`, `imds_retries`),
/// ADOT's `middleware` and `transit_spans_in_otlp_format`, plus oxidot's `sts_region`,
/// `sending_queue` and `retry_on_failure`. Defaults: awsutil `CreateDefaultSessionConfig`.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct XrayConfig {
    pub region: String,
    pub endpoint: String,
    pub local_mode: bool,
    pub resource_arn: String,
    pub role_arn: String,
    pub external_id: String,
    pub sts_region: String,
    pub indexed_attributes: Vec<String>,
    pub index_all_attributes: bool,
    pub aws_log_groups: Vec<String>,
    pub max_retries: u32,
    pub request_timeout_seconds: u64,
    pub no_verify_ssl: bool,
    pub proxy_address: String,
    pub num_workers: u32,
    pub certificate_file_path: String,
    pub shared_credentials_file: Option<Vec<String>>,
    pub profile: String,
    pub imds_retries: Option<u32>,
    pub telemetry: Option<Value>,
    pub middleware: Option<String>,
    pub transit_spans_in_otlp_format: bool,
    pub sending_queue: QueueConfig,
    pub retry_on_failure: RetryConfig,
}

impl Default for XrayConfig {
    fn default() -> Self {
        XrayConfig {
            region: String::new(),
            endpoint: String::new(),
            local_mode: false,
            resource_arn: String::new(),
            role_arn: String::new(),
            external_id: String::new(),
            sts_region: String::new(),
            indexed_attributes: Vec::new(),
            index_all_attributes: false,
            aws_log_groups: Vec::new(),
            max_retries: 2,
            request_timeout_seconds: 30,
            no_verify_ssl: false,
            proxy_address: String::new(),
            num_workers: 8,
            certificate_file_path: String::new(),
            shared_credentials_file: None,
            profile: String::new(),
            imds_retries: None,
            telemetry: None,
            middleware: None,
            transit_spans_in_otlp_format: false,
            sending_queue: QueueConfig::enabled_default(),
            retry_on_failure: RetryConfig::default(),
        }
    }
}

impl XrayConfig {
    /// Keys set to something oxidot does not act on, named in one warning. `local_mode` is not
    /// among them: oxidot never asks EC2 instance metadata for the region, as if it were always on.
    fn ignored_keys(&self) -> Vec<&'static str> {
        let defaults = XrayConfig::default();
        [
            ("num_workers", self.num_workers != defaults.num_workers),
            ("max_retries", self.max_retries != defaults.max_retries),
            ("resource_arn", !self.resource_arn.is_empty()),
            ("no_verify_ssl", self.no_verify_ssl),
            ("proxy_address", !self.proxy_address.is_empty()),
            ("certificate_file_path", !self.certificate_file_path.is_empty()),
            ("external_id", !self.external_id.is_empty()),
            ("profile", !self.profile.is_empty()),
            ("shared_credentials_file", self.shared_credentials_file.is_some()),
            ("imds_retries", self.imds_retries.is_some()),
            (
                "telemetry",
                self.telemetry.as_ref().is_some_and(|t| t.get("enabled").and_then(Value::as_bool) == Some(true)),
            ),
            ("middleware", self.middleware.is_some()),
            ("transit_spans_in_otlp_format", self.transit_spans_in_otlp_format),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }

    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        use crate::config::limits;
        let p = |k: &str| format!("{base}::{k}");
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        if !self.endpoint.is_empty() && !["http://", "https://", "udp://"].iter().any(|s| self.endpoint.starts_with(s))
        {
            errs.push(ConfigError::new(
                p("endpoint"),
                format!(
                    "invalid endpoint {:?}: use https://…, http://host:2000 (daemon proxy) or udp://host:2000",
                    crate::secret::redact_url(&self.endpoint)
                ),
            ));
        }
        limits::check(&mut errs, p("num_workers"), self.num_workers.into(), limits::CONSUMERS);
        limits::check(&mut errs, p("max_retries"), self.max_retries.into(), limits::RETRIES);
        limits::check(&mut errs, p("imds_retries"), self.imds_retries.unwrap_or(0).into(), limits::RETRIES);
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

    /// The translator's options; the feature gates are read here, once, when the exporter is
    /// built (factory.go createDefaultConfig reads `exporter.awsxray.skiptimestampvalidation`
    /// the same way).
    pub fn translate_options(&self) -> TranslateOptions {
        TranslateOptions {
            indexed_attributes: self.indexed_attributes.clone(),
            index_all_attributes: self.index_all_attributes,
            log_groups: self.aws_log_groups.clone(),
            skip_timestamp_validation: crate::featuregate::XRAY_SKIP_TIMESTAMP_VALIDATION.is_enabled(),
            allow_dot: crate::featuregate::XRAY_ALLOW_DOT.is_enabled(),
            now_secs: 0,
        }
    }
}

pub struct XrayExporter {
    transport: Transport,
    opts: TranslateOptions,
}

impl XrayExporter {
    pub fn new(cfg: &XrayConfig) -> Result<Self, String> {
        Ok(XrayExporter { transport: Transport::new(cfg)?, opts: cfg.translate_options() })
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[async_trait]
impl Exporter for XrayExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let decoded = batch.decoded();
        let Batch::Traces(rs) = &*decoded else {
            return Err(ExportError::Permanent("awsxray exports traces only".into()));
        };
        let opts = TranslateOptions { now_secs: now_secs(), ..self.opts.clone() };
        let mut new_id = || rand::random::<[u8; 8]>();
        let mut docs = Vec::new();
        for r in rs {
            for sp in r.scope_spans.iter().flat_map(|s| &s.spans) {
                // awsxray.go extractResourceSpans: a span that cannot be translated is skipped
                // with a debug log, not counted as failed.
                let translated = match segments(sp, &r.resource, &opts, &mut new_id) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::debug!(error = %e, "Error translating span.");
                        continue;
                    }
                };
                // awsxray.go sends every document as it is, whatever its size: X-Ray decides (a
                // document over its 64 KB limit comes back unprocessed, which is only logged).
                docs.extend(translated.iter().map(to_document));
            }
        }
        let mut failed = self.transport.send(docs).await?;
        if !failed.is_empty() {
            let items = failed.len();
            failed.dedup();
            return Err(ExportError::Dropped { items, reason: failed.join("; ") });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<XrayConfig, String> {
        serde_yaml_ng::from_str::<XrayConfig>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_go_session_defaults() {
        // awsutil CreateDefaultSessionConfig.
        let c = XrayConfig::default();
        assert_eq!((c.num_workers, c.request_timeout_seconds, c.max_retries), (8, 30, 2));
        assert!(!c.local_mode && !c.no_verify_ssl && c.region.is_empty() && c.endpoint.is_empty());
    }

    #[test]
    fn load_config_as_config_test_go_customname() {
        // config_test.go TestLoadConfig, awsxray/customname.
        let c = parse(
            "region: eu-west-1\nresource_arn: arn:aws:ec2:us-east1:123456789:instance/i-293hiuhe0u\n\
             role_arn: arn:aws:iam::123456789:role/monitoring-EKS-NodeInstanceRole\n\
             request_timeout_seconds: 120\nindexed_attributes: [indexed_attr_0, indexed_attr_1]\n\
             aws_log_groups: [group1, group2]\n",
        )
        .unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.request_timeout_seconds, 120);
        assert_eq!((c.num_workers, c.max_retries), (8, 2));
        assert_eq!(c.indexed_attributes, vec!["indexed_attr_0", "indexed_attr_1"]);
        assert_eq!(c.aws_log_groups, vec!["group1", "group2"]);
        assert!(!c.index_all_attributes);
    }

    #[test]
    fn skip_timestamp_validation_is_not_a_key_the_gate_is() {
        let e = parse("skip_timestamp_validation: true\n").unwrap_err();
        assert!(e.contains("unknown field `skip_timestamp_validation`"), "{e}");
    }

    #[test]
    fn keys_oxidot_does_not_act_on_are_named_in_one_warning() {
        let c = parse(
            "num_workers: 4\nno_verify_ssl: true\nproxy_address: http://p:3128\nresource_arn: arn:x\n\
             local_mode: true\nimds_retries: 3\nmiddleware: agenthealth/traces\n\
             transit_spans_in_otlp_format: true\ntelemetry: {enabled: true}\n",
        )
        .unwrap();
        let (errs, warns) = c.validate("exporters::awsxray");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(warns.len(), 1, "{warns:?}");
        assert_eq!(
            warns[0],
            "exporters::awsxray: accepted but not acted on by oxidot: num_workers, resource_arn, no_verify_ssl, \
             proxy_address, imds_retries, telemetry, middleware, transit_spans_in_otlp_format"
        );
        let (_, none) = XrayConfig::default().validate("exporters::awsxray");
        assert!(none.is_empty());
    }
}
