//! The running `kafka` exporter: encodes a batch into messages and produces them with
//! librdkafka, returning only when the broker acknowledged each one (`acks` =
//! `producer.required_acks`) or the attempt failed (Go: kafka_exporter.go `exportData`).

use super::messages::{self, Message};
use super::{KafkaExporterConfig, Partitioning};
use crate::component::Signal;
use crate::exporter::{ExportError, Exporter};
use crate::kafka::encoding::Encoding;
use crate::kafka::LogContext;
use crate::pipeline::data::Batch;
use crate::telemetry::names::{
    KAFKA_EXPORTER_BYTES_UNCOMPRESSED, KAFKA_EXPORTER_MESSAGES, KAFKA_EXPORTER_RECORDS, LABEL_EXPORTER, LABEL_OUTCOME,
    LABEL_PARTITION, LABEL_TOPIC,
};
use crate::telemetry::Registry;
use async_trait::async_trait;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct KafkaExporter {
    id: String,
    /// Created at the first export (Go: the producer is made in Start): building the exporter,
    /// as `validate` does, must not connect to the brokers.
    producer: std::sync::OnceLock<FutureProducer<LogContext>>,
    client_config: ClientConfig,
    topic: String,
    topic_from_attribute: String,
    encoding: Encoding,
    partitioning: Partitioning,
    max_bytes: usize,
    timeout: Duration,
    registry: Arc<Registry>,
    oversize_logged: AtomicBool,
}

/// The librdkafka producer properties of `c` (Go: kafka.NewSaramaSyncProducer / franz-go opts).
pub fn producer_properties(c: &KafkaExporterConfig) -> Vec<(&'static str, String)> {
    let mut p = c.client().properties();
    let timeout_ms = c.timeout.0.as_millis().clamp(1, 900_000);
    // librdkafka wants room for the record batch framing on top of the largest message.
    let max = (c.producer.max_message_bytes.max(0) as u64 + 1024).clamp(1000, 1_000_000_000);
    p.extend([
        ("acks", c.producer.required_acks.value().unwrap_or(1).to_string()),
        ("compression.type", c.producer.compression.clone()),
        ("message.max.bytes", max.to_string()),
        ("batch.size", max.min(1_000_000).to_string()),
        ("message.timeout.ms", timeout_ms.to_string()),
        ("request.timeout.ms", timeout_ms.to_string()),
        ("allow.auto.create.topics", c.producer.allow_auto_topic_creation.to_string()),
        ("linger.ms", "5".to_string()),
    ]);
    if c.producer.flush_max_messages > 0 {
        p.push(("batch.num.messages", c.producer.flush_max_messages.to_string()));
    }
    if let Some(level) =
        c.producer.compression_params.as_ref().and_then(|v| v.get("level")).and_then(serde_yaml_ng::Value::as_i64)
    {
        p.push(("compression.level", level.to_string()));
    }
    p
}

impl KafkaExporter {
    pub fn new(c: &KafkaExporterConfig, signal: Signal, id: String, registry: Arc<Registry>) -> Result<Self, String> {
        let encoding = Encoding::parse(c.encoding_name(signal), String::new()).map_err(|e| e.to_string())?;
        let mut cfg = ClientConfig::new();
        for (k, v) in producer_properties(c) {
            cfg.set(k, v);
        }
        // librdkafka checks every property here without starting a client.
        cfg.create_native_config().map_err(|e| format!("invalid Kafka producer settings: {e}"))?;
        Ok(KafkaExporter {
            id,
            producer: std::sync::OnceLock::new(),
            client_config: cfg,
            topic: c.topic(signal),
            topic_from_attribute: c.topic_from_attribute.clone(),
            encoding,
            partitioning: c.partitioning(signal),
            max_bytes: c.producer.max_message_bytes.max(1) as usize,
            timeout: c.timeout.0,
            registry,
            oversize_logged: AtomicBool::new(false),
        })
    }

    /// `topic_from_attribute`: the first resource's non-empty string value of that attribute
    /// (Go: kafka_exporter.go getTopic), else the signal's topic.
    fn topic_for(&self, batch: &Batch) -> String {
        if self.topic_from_attribute.is_empty() {
            return self.topic.clone();
        }
        let b = batch.decoded();
        let resources: Vec<_> = match &*b {
            Batch::Traces(rs) => rs.iter().map(|r| r.resource.as_ref()).collect(),
            Batch::Metrics(rs) => rs.iter().map(|r| r.resource.as_ref()).collect(),
            Batch::Logs(rs) => rs.iter().map(|r| r.resource.as_ref()).collect(),
            Batch::Raw(_) => vec![],
        };
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        resources
            .into_iter()
            .flatten()
            .flat_map(|r| &r.attributes)
            .filter(|kv| kv.key == self.topic_from_attribute)
            .find_map(|kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| self.topic.clone())
    }

    fn record(&self, topic: &str, partition: i32, ok: bool, bytes: usize) {
        let labels = || {
            vec![
                (LABEL_EXPORTER, self.id.clone()),
                (LABEL_TOPIC, topic.to_string()),
                (LABEL_PARTITION, partition.to_string()),
                (LABEL_OUTCOME, if ok { "success" } else { "failure" }.to_string()),
            ]
        };
        self.registry.counter(KAFKA_EXPORTER_RECORDS, "The number of exported records.", labels()).add(1);
        self.registry
            .counter(KAFKA_EXPORTER_MESSAGES, "The number of exported messages. (deprecated)", labels())
            .add(1);
        self.registry
            .counter(
                KAFKA_EXPORTER_BYTES_UNCOMPRESSED,
                "The uncompressed size in bytes of exported messages seen by the client.",
                labels(),
            )
            .add(bytes as u64);
    }

    fn producer(&self) -> Result<&FutureProducer<LogContext>, ExportError> {
        if let Some(p) = self.producer.get() {
            return Ok(p);
        }
        let p: FutureProducer<LogContext> = self
            .client_config
            .create_with_context(LogContext::new(self.id.clone()))
            .map_err(|e| ExportError::retryable(format!("cannot create the Kafka producer: {e}")))?;
        tracing::debug!(component = %self.id, "kafka producer created");
        // Two first exports at once: one producer wins, the other is dropped unused.
        let _ = self.producer.set(p);
        self.producer.get().ok_or_else(|| ExportError::retryable("the Kafka producer is not available"))
    }

    /// Hands every message to librdkafka; waits while its local queue is full, until `deadline`.
    async fn enqueue(
        &self,
        topic: &str,
        msgs: &[Message],
        deadline: Instant,
    ) -> Result<Vec<rdkafka::producer::DeliveryFuture>, ExportError> {
        let producer = self.producer()?;
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            let mut rec = FutureRecord::<[u8], [u8]>::to(topic).payload(&m.value[..]);
            if let Some(k) = &m.key {
                rec = rec.key(&k[..]);
            }
            loop {
                match producer.send_result(rec) {
                    Ok(f) => {
                        out.push(f);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r))
                        if Instant::now() < deadline =>
                    {
                        rec = r;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err((e, _)) => return Err(classify(&e)),
                }
            }
        }
        Ok(out)
    }
}

/// A produce error → retryable or not. Go returns every producer error as retryable; a message
/// the broker calls too large can never go, so that one is permanent here.
fn classify(e: &KafkaError) -> ExportError {
    match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge) | Some(RDKafkaErrorCode::InvalidMessageSize) => {
            ExportError::Permanent(format!("kafka: {e}"))
        }
        _ => ExportError::retryable(format!("kafka: {e}")),
    }
}

#[async_trait]
impl Exporter for KafkaExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let topic = self.topic_for(batch);
        let built = messages::build(batch, self.encoding, self.partitioning, self.max_bytes);
        if built.dropped > 0 && !self.oversize_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                component = %self.id,
                items = built.dropped,
                max_message_bytes = self.max_bytes,
                "a resource's data is larger than producer.max_message_bytes on its own and is dropped \
                 (counted in otelcol_exporter_send_failed_*; logged once)"
            );
        }
        // librdkafka gives up on a message after message.timeout.ms; the margin covers the
        // delivery report's way back.
        let deadline = Instant::now() + self.timeout + Duration::from_secs(5);
        let futures = self.enqueue(&topic, &built.messages, deadline).await?;
        let results = match tokio::time::timeout_at(deadline.into(), futures::future::join_all(futures)).await {
            Ok(r) => r,
            Err(_) => return Err(ExportError::retryable("kafka: no delivery report before the timeout")),
        };
        let mut failed = 0usize;
        let mut first: Option<ExportError> = None;
        for (r, m) in results.into_iter().zip(&built.messages) {
            let bytes = m.value.len() + m.key.as_ref().map_or(0, Vec::len);
            match r {
                Ok(Ok(d)) => self.record(&topic, d.partition, true, bytes),
                Ok(Err((e, msg))) => {
                    self.record(&topic, msg.partition(), false, bytes);
                    failed += 1;
                    first.get_or_insert_with(|| classify(&e));
                }
                Err(_) => {
                    failed += 1;
                    first.get_or_insert_with(|| ExportError::retryable("kafka: the producer was closed"));
                }
            }
        }
        if let Some(e) = first {
            return Err(match e {
                ExportError::Permanent(r) => {
                    ExportError::Permanent(format!("failed to deliver {failed} messages: {r}"))
                }
                other => ExportError::retryable(format!("failed to deliver {failed} messages: {other}")),
            });
        }
        if built.dropped > 0 {
            return Err(ExportError::Dropped {
                items: built.dropped,
                reason: format!("larger than producer.max_message_bytes ({}) on its own", self.max_bytes),
            });
        }
        Ok(())
    }

    async fn shutdown(&self) {
        let Some(p) = self.producer.get().cloned() else { return };
        let t = self.timeout;
        // Everything exported was already acknowledged; this only lets librdkafka finish cleanly.
        let _ = tokio::task::spawn_blocking(move || p.flush(t)).await;
    }
}
