//! The `kafka` exporter (Go: exporter/kafkaexporter): OTLP batches as Kafka messages, one
//! topic per signal, produced through librdkafka; a send succeeds when the broker acknowledged
//! every message (`producer.required_acks`).

pub mod factory;
pub mod messages;
pub mod produce;

use crate::component::Signal;
use crate::config::{ConfigError, GoDuration};
use crate::exporter::helper::config::{QueueConfig, RetryConfig};
use crate::http_client::TlsClientConfig;
use crate::kafka::encoding::{Encoding, DEFAULT_ENCODING};
use crate::kafka::{default_topic, AuthConfig, ClientView, MetadataConfig, DEFAULT_BROKER, DEFAULT_CLIENT_ID};
use serde::Deserialize;
use serde_yaml_ng::Value;

/// `exporters: kafka:` (Go: kafkaexporter Config and `createDefaultConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaExporterConfig {
    pub timeout: GoDuration,
    pub sending_queue: QueueConfig,
    pub retry_on_failure: RetryConfig,
    // configkafka.ClientConfig (squashed in Go)
    pub brokers: Vec<String>,
    pub resolve_canonical_bootstrap_servers_only: bool,
    pub protocol_version: String,
    pub client_id: String,
    pub auth: AuthConfig,
    pub tls: Option<TlsClientConfig>,
    pub metadata: MetadataConfig,
    pub rack_id: String,
    pub use_leader_epoch: bool,
    pub producer: ProducerConfig,
    pub logs: SignalConfig,
    pub metrics: SignalConfig,
    pub traces: SignalConfig,
    pub profiles: SignalConfig,
    /// Deprecated in Go (v0.124): the topic of every signal whose own `topic` is not set.
    pub topic: String,
    pub include_metadata_keys: Vec<String>,
    pub topic_from_attribute: String,
    /// Deprecated in Go (v0.124): the encoding of every signal whose own `encoding` is not set.
    pub encoding: String,
    pub partition_traces_by_id: bool,
    pub partition_metrics_by_resource_attributes: bool,
    pub partition_logs_by_resource_attributes: bool,
    pub partition_logs_by_trace_id: bool,
    /// Newer Go releases choose franz-go's partitioner here; librdkafka's own is used.
    pub record_partitioner: Option<Value>,
}

impl Default for KafkaExporterConfig {
    fn default() -> Self {
        KafkaExporterConfig {
            // exporterhelper NewDefaultTimeoutConfig.
            timeout: GoDuration::from_secs(5),
            sending_queue: QueueConfig::enabled_default(),
            retry_on_failure: RetryConfig::default(),
            brokers: vec![DEFAULT_BROKER.to_string()],
            resolve_canonical_bootstrap_servers_only: false,
            protocol_version: String::new(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            auth: AuthConfig::default(),
            tls: None,
            metadata: MetadataConfig::default(),
            rack_id: String::new(),
            use_leader_epoch: true,
            producer: ProducerConfig::default(),
            logs: SignalConfig::default(),
            metrics: SignalConfig::default(),
            traces: SignalConfig::default(),
            profiles: SignalConfig::default(),
            topic: String::new(),
            include_metadata_keys: Vec::new(),
            topic_from_attribute: String::new(),
            encoding: String::new(),
            partition_traces_by_id: false,
            partition_metrics_by_resource_attributes: false,
            partition_logs_by_resource_attributes: false,
            partition_logs_by_trace_id: false,
            record_partitioner: None,
        }
    }
}

/// `traces:`, `metrics:`, `logs:` (Go: kafkaexporter SignalConfig). `None` = not written, so
/// the deprecated top-level `topic`/`encoding` or the signal's default applies.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SignalConfig {
    pub topic: Option<String>,
    pub topic_from_metadata_key: String,
    pub encoding: Option<String>,
}

/// `producer:` (Go: configkafka.ProducerConfig, `NewDefaultProducerConfig`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerConfig {
    pub max_message_bytes: i64,
    pub required_acks: RequiredAcks,
    pub compression: String,
    pub compression_params: Option<Value>,
    pub flush_max_messages: i64,
    pub allow_auto_topic_creation: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            max_message_bytes: 1_000_000,
            required_acks: RequiredAcks::Int(1),
            compression: "none".into(),
            compression_params: None,
            flush_max_messages: 0,
            allow_auto_topic_creation: true,
        }
    }
}

/// `required_acks`: `all`, -1, 0 or 1 (Go: ProducerConfig.Unmarshal maps "all" to -1).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum RequiredAcks {
    Int(i64),
    Name(String),
}

impl RequiredAcks {
    /// The acks value, or the error Go gives.
    pub fn value(&self) -> Result<i64, String> {
        match self {
            RequiredAcks::Int(n @ -1..=1) => Ok(*n),
            RequiredAcks::Name(s) if s == "all" => Ok(-1),
            RequiredAcks::Int(n) => Err(format!("expected 'all' (-1), 0, or 1; configured value is {n}")),
            RequiredAcks::Name(s) => Err(format!("expected 'all' (-1), 0, or 1; configured value is {s}")),
        }
    }
}

/// How messages get their key, which picks their partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// No key: librdkafka spreads messages over the partitions.
    None,
    /// One message per trace id, keyed by its hex form (traces, or logs by trace id).
    TraceId,
    /// One message per resource, keyed by a hash of its attributes.
    Resource,
}

impl KafkaExporterConfig {
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

    fn signal(&self, s: Signal) -> &SignalConfig {
        match s {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }

    /// The topic of `signal`: its own, else the deprecated top-level one, else Go's default.
    pub fn topic(&self, s: Signal) -> String {
        match (&self.signal(s).topic, self.topic.is_empty()) {
            (Some(t), _) => t.clone(),
            (None, false) => self.topic.clone(),
            (None, true) => default_topic(s).to_string(),
        }
    }

    pub fn encoding_name(&self, s: Signal) -> &str {
        match (&self.signal(s).encoding, self.encoding.is_empty()) {
            (Some(e), _) => e,
            (None, false) => &self.encoding,
            (None, true) => DEFAULT_ENCODING,
        }
    }

    pub fn partitioning(&self, s: Signal) -> Partitioning {
        match s {
            Signal::Traces if self.partition_traces_by_id => Partitioning::TraceId,
            Signal::Metrics if self.partition_metrics_by_resource_attributes => Partitioning::Resource,
            Signal::Logs if self.partition_logs_by_resource_attributes => Partitioning::Resource,
            Signal::Logs if self.partition_logs_by_trace_id => Partitioning::TraceId,
            _ => Partitioning::None,
        }
    }

    /// Go's `Config.Validate` (and configkafka's), plus what oxidot does not do yet.
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        use crate::config::limits;
        let mut errs = Vec::new();
        let p = |k: &str| format!("{base}::{k}");
        self.client().validate(base, &mut errs);
        if self.partition_logs_by_resource_attributes && self.partition_logs_by_trace_id {
            errs.push(ConfigError::new(
                base.to_string(),
                "partition_logs_by_resource_attributes and partition_logs_by_trace_id cannot both be enabled",
            ));
        }
        for s in Signal::ALL {
            let key =
                if self.signal(s).encoding.is_some() { format!("{}::encoding", s.as_str()) } else { "encoding".into() };
            if let Err(e) = Encoding::parse(self.encoding_name(s), p(&key)) {
                errs.push(e);
            }
            if !self.signal(s).topic_from_metadata_key.is_empty() {
                errs.push(ConfigError::new(
                    p(&format!("{}::topic_from_metadata_key", s.as_str())),
                    "topic_from_metadata_key is not supported yet by oxidot (receivers pass no client metadata)",
                ));
            }
        }
        if !self.include_metadata_keys.is_empty() {
            errs.push(ConfigError::new(
                p("include_metadata_keys"),
                "include_metadata_keys is not supported yet by oxidot (receivers pass no client metadata)",
            ));
        }
        if let Err(e) = self.producer.required_acks.value() {
            errs.push(ConfigError::new(p("producer::required_acks"), e));
        }
        if !matches!(self.producer.compression.as_str(), "none" | "gzip" | "snappy" | "lz4" | "zstd") {
            errs.push(ConfigError::new(
                p("producer::compression"),
                format!(
                    "compression should be one of 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. configured value is {:?}",
                    self.producer.compression
                ),
            ));
        }
        if self.producer.max_message_bytes <= 0 {
            errs.push(ConfigError::new(p("producer::max_message_bytes"), "max_message_bytes must be positive"));
        } else {
            // librdkafka's own ceiling for message.max.bytes.
            limits::check(
                &mut errs,
                p("producer::max_message_bytes"),
                self.producer.max_message_bytes as u64,
                1_000_000_000,
            );
        }
        if self.producer.flush_max_messages < 0 {
            errs.push(ConfigError::new(p("producer::flush_max_messages"), "flush_max_messages must not be negative"));
        } else {
            limits::check(
                &mut errs,
                p("producer::flush_max_messages"),
                self.producer.flush_max_messages as u64,
                1_000_000,
            );
        }
        limits::check_duration(&mut errs, p("timeout"), self.timeout.0, limits::DURATION);
        if self.timeout.0.is_zero() {
            errs.push(ConfigError::new(
                p("timeout"),
                "timeout must be positive (it bounds the wait for the broker's acknowledgements)",
            ));
        }
        self.sending_queue.validate(base, &mut errs);
        self.retry_on_failure.validate(base, &mut errs);
        let mut warns = Vec::new();
        if !self.protocol_version.is_empty() {
            warns.push(format!(
                "{base}: protocol_version {:?} is accepted and not used: librdkafka negotiates the protocol with the brokers",
                self.protocol_version
            ));
        }
        if self.record_partitioner.is_some() {
            warns.push(format!(
                "{base}: record_partitioner is accepted and not used: librdkafka's consistent_random partitioner \
                 places messages (keyed messages by key hash, the others at random)"
            ));
        }
        (errs, warns)
    }
}

#[cfg(test)]
mod tests;
