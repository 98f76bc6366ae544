//! The `kafka` receiver (Go: receiver/kafkareceiver): joins a consumer group, decodes each
//! message into a batch, hands it to the pipeline, and marks the message consumed (stores its
//! offset for the next commit) only once the pipeline answered, so a crash replays what was
//! not yet accepted instead of losing it.

pub mod consume;
pub mod factory;

use crate::component::Signal;
use crate::config::{ConfigError, GoDuration};
use crate::exporter::helper::config::RetryConfig;
use crate::http_client::TlsClientConfig;
use crate::kafka::encoding::{Encoding, DEFAULT_ENCODING};
use crate::kafka::{default_topic, AuthConfig, ClientView, MetadataConfig, DEFAULT_BROKER, DEFAULT_CLIENT_ID};
use serde::Deserialize;
use serde_yaml_ng::Value;

/// `receivers: kafka:` (Go: kafkareceiver Config, configkafka ClientConfig + ConsumerConfig).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaReceiverConfig {
    // configkafka.ClientConfig
    pub brokers: Vec<String>,
    pub resolve_canonical_bootstrap_servers_only: bool,
    pub protocol_version: String,
    pub client_id: String,
    pub auth: AuthConfig,
    pub tls: Option<TlsClientConfig>,
    pub metadata: MetadataConfig,
    pub rack_id: String,
    pub use_leader_epoch: bool,
    // configkafka.ConsumerConfig
    pub session_timeout: GoDuration,
    pub heartbeat_interval: GoDuration,
    pub group_id: String,
    pub initial_offset: String,
    pub autocommit: AutoCommitConfig,
    pub min_fetch_size: i64,
    pub default_fetch_size: i64,
    pub max_fetch_size: i64,
    pub max_fetch_wait: GoDuration,
    pub max_partition_fetch_size: i64,
    pub group_rebalance_strategy: String,
    pub group_instance_id: String,
    // kafkareceiver
    pub logs: TopicEncodingConfig,
    pub metrics: TopicEncodingConfig,
    pub traces: TopicEncodingConfig,
    pub profiles: TopicEncodingConfig,
    /// Older releases' single topic and encoding (before the per-signal sections).
    pub topic: String,
    pub encoding: String,
    pub message_marking: MessageMarking,
    pub header_extraction: HeaderExtraction,
    pub error_backoff: RetryConfig,
    pub telemetry: Option<Value>,
}

impl Default for KafkaReceiverConfig {
    fn default() -> Self {
        KafkaReceiverConfig {
            brokers: vec![DEFAULT_BROKER.to_string()],
            resolve_canonical_bootstrap_servers_only: false,
            protocol_version: String::new(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            auth: AuthConfig::default(),
            tls: None,
            metadata: MetadataConfig::default(),
            rack_id: String::new(),
            use_leader_epoch: true,
            // configkafka NewDefaultConsumerConfig.
            session_timeout: GoDuration::from_secs(10),
            heartbeat_interval: GoDuration::from_secs(3),
            group_id: "otel-collector".into(),
            initial_offset: "latest".into(),
            autocommit: AutoCommitConfig::default(),
            min_fetch_size: 1,
            default_fetch_size: 1_048_576,
            max_fetch_size: 0,
            max_fetch_wait: GoDuration::from_millis(250),
            max_partition_fetch_size: 1_048_576,
            group_rebalance_strategy: String::new(),
            group_instance_id: String::new(),
            logs: TopicEncodingConfig::default(),
            metrics: TopicEncodingConfig::default(),
            traces: TopicEncodingConfig::default(),
            profiles: TopicEncodingConfig::default(),
            topic: String::new(),
            encoding: String::new(),
            message_marking: MessageMarking::default(),
            header_extraction: HeaderExtraction::default(),
            // kafkareceiver createDefaultConfig: error_backoff disabled.
            error_backoff: RetryConfig { enabled: false, ..RetryConfig::default() },
            telemetry: None,
        }
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AutoCommitConfig {
    pub enable: bool,
    pub interval: GoDuration,
}

impl Default for AutoCommitConfig {
    fn default() -> Self {
        AutoCommitConfig { enable: true, interval: GoDuration::from_secs(1) }
    }
}

/// `traces:`, `metrics:`, `logs:` (Go: TopicEncodingConfig).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TopicEncodingConfig {
    /// Deprecated in Go (v0.142): `topics`.
    pub topic: Option<String>,
    pub topics: Vec<String>,
    pub encoding: Option<String>,
    pub exclude_topic: Option<String>,
    pub exclude_topics: Vec<String>,
}

/// `message_marking:` (Go: MessageMarking; `on_permanent_error` defaults to `on_error`).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MessageMarking {
    pub after: bool,
    pub on_error: bool,
    pub on_permanent_error: Option<bool>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HeaderExtraction {
    pub extract_headers: bool,
    pub headers: Vec<String>,
}

impl KafkaReceiverConfig {
    pub fn client(&self) -> ClientView<'_> {
        ClientView {
            brokers: &self.brokers,
            resolve_canonical_bootstrap_servers_only: self.resolve_canonical_bootstrap_servers_only,
            protocol_version: &self.protocol_version,
            client_id: &self.client_id,
            auth: &self.auth,
            tls: &self.tls,
            metadata: &self.metadata,
            rack_id: &self.rack_id,
        }
    }

    fn signal(&self, s: Signal) -> &TopicEncodingConfig {
        match s {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }

    /// The topics of `signal`: `topics`, else `topic`, else the older top-level `topic`, else
    /// Go's default. A topic starting with `^` is a regular expression (as librdkafka and Go).
    pub fn topics(&self, s: Signal) -> Vec<String> {
        let c = self.signal(s);
        if !c.topics.is_empty() {
            return c.topics.clone();
        }
        match (&c.topic, self.topic.is_empty()) {
            (Some(t), _) => vec![t.clone()],
            (None, false) => vec![self.topic.clone()],
            (None, true) => vec![default_topic(s).to_string()],
        }
    }

    pub fn encoding_name(&self, s: Signal) -> &str {
        match (&self.signal(s).encoding, self.encoding.is_empty()) {
            (Some(e), _) => e,
            (None, false) => &self.encoding,
            (None, true) => DEFAULT_ENCODING,
        }
    }

    /// Whether a permanent pipeline error still marks the message (Go: `on_permanent_error`,
    /// defaulting to `on_error`).
    pub fn mark_on_permanent_error(&self) -> bool {
        self.message_marking.on_permanent_error.unwrap_or(self.message_marking.on_error)
    }

    /// Go's `Config.Validate`, configkafka's consumer checks, and what oxidot does not do yet.
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        use crate::config::limits;
        let mut errs = Vec::new();
        let p = |k: &str| format!("{base}::{k}");
        self.client().validate(base, &mut errs);
        if !matches!(self.initial_offset.as_str(), "latest" | "earliest") {
            errs.push(ConfigError::new(
                p("initial_offset"),
                format!(
                    "initial_offset should be one of 'latest' or 'earliest'. configured value {}",
                    self.initial_offset
                ),
            ));
        }
        if !matches!(
            self.group_rebalance_strategy.as_str(),
            "" | "range" | "roundrobin" | "sticky" | "cooperative-sticky"
        ) {
            errs.push(ConfigError::new(
                p("group_rebalance_strategy"),
                format!(
                    "rebalance_strategy should be one of 'range', 'roundrobin', or 'sticky'. configured value {}",
                    self.group_rebalance_strategy
                ),
            ));
        }
        if self.group_id.is_empty() {
            errs.push(ConfigError::new(p("group_id"), "group_id must not be empty"));
        }
        for s in Signal::ALL {
            let c = self.signal(s);
            let name = s.as_str();
            if c.topic.is_some() && !c.topics.is_empty() {
                errs.push(ConfigError::new(p(name), format!("both {name}.topic and {name}.topics cannot be set")));
            }
            if c.exclude_topic.is_some() || !c.exclude_topics.is_empty() {
                errs.push(ConfigError::new(
                    p(&format!("{name}::exclude_topics")),
                    "exclude_topics is not supported yet by oxidot (librdkafka subscribes by one regular expression per topic)",
                ));
            }
            let key = if c.encoding.is_some() { format!("{name}::encoding") } else { "encoding".into() };
            if let Err(e) = Encoding::parse(self.encoding_name(s), p(&key)) {
                errs.push(e);
            }
            for t in self.topics(s) {
                if let Some(re) = t.strip_prefix('^') {
                    if regex::Regex::new(re).is_err() {
                        errs.push(ConfigError::new(
                            p(&format!("{name}::topics")),
                            format!("invalid topic regex {t:?}"),
                        ));
                    }
                } else if t.is_empty() {
                    errs.push(ConfigError::new(p(&format!("{name}::topics")), "a topic must not be empty"));
                }
            }
        }
        for (k, d) in [
            ("session_timeout", self.session_timeout),
            ("heartbeat_interval", self.heartbeat_interval),
            ("max_fetch_wait", self.max_fetch_wait),
            ("autocommit::interval", self.autocommit.interval),
        ] {
            limits::check_duration(&mut errs, p(k), d.0, limits::DURATION);
        }
        if self.heartbeat_interval.0 >= self.session_timeout.0 {
            errs.push(ConfigError::new(
                p("heartbeat_interval"),
                "heartbeat_interval must be lower than session_timeout",
            ));
        }
        for (k, v) in [
            ("min_fetch_size", self.min_fetch_size),
            ("default_fetch_size", self.default_fetch_size),
            ("max_fetch_size", self.max_fetch_size),
            ("max_partition_fetch_size", self.max_partition_fetch_size),
        ] {
            if v < 0 {
                errs.push(ConfigError::new(p(k), format!("{k} must not be negative")));
            } else {
                limits::check(&mut errs, p(k), v as u64, 1_000_000_000);
            }
        }
        // RetryConfig names its own key `retry_on_failure`; here the block is `error_backoff`.
        let mut backoff = Vec::new();
        self.error_backoff.validate(base, &mut backoff);
        errs.extend(backoff.into_iter().map(|mut e| {
            e.path = e.path.replace("::retry_on_failure", "::error_backoff");
            e
        }));
        let mut warns = Vec::new();
        if !self.protocol_version.is_empty() {
            warns.push(format!(
                "{base}: protocol_version {:?} is accepted and not used: librdkafka negotiates the protocol with the brokers",
                self.protocol_version
            ));
        }
        if self.telemetry.is_some() {
            warns.push(format!(
                "{base}: telemetry (kafka_receiver_records_delay) is accepted and not reported by oxidot"
            ));
        }
        (errs, warns)
    }
}

#[cfg(test)]
mod tests;
