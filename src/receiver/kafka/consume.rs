//! One consumer-group member per signal: read a message, decode it, hand it to the pipeline,
//! then mark it (store its offset); oxidot commits the stored offsets every
//! `autocommit.interval`, or after each message with `autocommit.enable: false`, and once more
//! on shutdown. Go: kafkareceiver consumer_franz.go `processMessage`/`handleMessage` and
//! MessageMarking.

use super::KafkaReceiverConfig;
use crate::component::{ComponentId, Signal};
use crate::kafka::encoding::Encoding;
use crate::pipeline::consumer::{consume_will_retry, ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::component::{ReceiveOutcome, ReceiverTelemetry};
use crate::telemetry::logging::RateLimit;
use crate::telemetry::metrics::Counter;
use crate::telemetry::names::*;
use crate::telemetry::Registry;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message as _};
use rdkafka::statistics::Statistics;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// librdkafka callbacks: partitions assigned and revoked, and the lag from its statistics.
pub struct Ctx {
    id: String,
    registry: Arc<Registry>,
    partition_start: Counter,
    partition_close: Counter,
    log: crate::kafka::LogContext,
}

impl ClientContext for Ctx {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.log.log_line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error_line(&error, reason);
    }

    fn stats(&self, s: Statistics) {
        // consumer_lag_stored: high watermark minus the offset stored (marked) by this member.
        for (topic, t) in &s.topics {
            for (pid, p) in &t.partitions {
                if *pid < 0 || p.consumer_lag_stored < 0 {
                    continue;
                }
                self.registry
                    .gauge(
                        KAFKA_RECEIVER_OFFSET_LAG,
                        "Current offset lag",
                        vec![
                            (LABEL_RECEIVER, self.id.clone()),
                            (LABEL_TOPIC, topic.clone()),
                            (LABEL_PARTITION, pid.to_string()),
                        ],
                    )
                    .set(p.consumer_lag_stored);
            }
        }
    }
}

impl ConsumerContext for Ctx {
    /// Before partitions go to another member, commit what was marked on them, so the new
    /// owner starts after it (Go: franz-go's commit on revoke).
    fn pre_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = r {
            match c.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(e) => tracing::debug!(component = %self.id, error = %e, "kafka receiver: commit on revoke failed"),
            }
        }
    }

    fn post_rebalance(&self, _c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        match r {
            Rebalance::Assign(tpl) => self.partition_start.add(tpl.count() as u64),
            Rebalance::Revoke(tpl) => self.partition_close.add(tpl.count() as u64),
            Rebalance::Error(e) => {
                tracing::warn!(component = %self.id, error = %e, "kafka consumer group rebalance failed")
            }
        }
    }
}

/// The librdkafka consumer properties of `c` (Go: configkafka ConsumerConfig → franz-go opts).
pub fn consumer_properties(c: &KafkaReceiverConfig) -> Vec<(&'static str, String)> {
    let mut p = c.client().properties();
    let ms = |d: Duration| d.as_millis().max(1).to_string();
    p.extend([
        ("group.id", c.group_id.clone()),
        ("auto.offset.reset", c.initial_offset.clone()),
        ("session.timeout.ms", ms(c.session_timeout.0)),
        ("heartbeat.interval.ms", ms(c.heartbeat_interval.0)),
        // Offsets are stored by oxidot once the pipeline answered, never by librdkafka on read.
        ("enable.auto.offset.store", "false".to_string()),
        // oxidot commits the stored offsets itself (see `SignalLoop::run`): librdkafka's
        // timer-driven auto commit committed nothing against the mock cluster in tests/kafka.rs.
        ("enable.auto.commit", "false".to_string()),
        ("fetch.min.bytes", c.min_fetch_size.max(1).to_string()),
        ("fetch.wait.max.ms", ms(c.max_fetch_wait.0)),
        ("max.partition.fetch.bytes", c.max_partition_fetch_size.max(1).to_string()),
        ("statistics.interval.ms", "5000".to_string()),
    ]);
    if c.max_fetch_size > 0 {
        p.push(("fetch.max.bytes", c.max_fetch_size.to_string()));
    }
    let strategy = match c.group_rebalance_strategy.as_str() {
        "range" => Some("range"),
        "roundrobin" => Some("roundrobin"),
        "sticky" | "cooperative-sticky" => Some("cooperative-sticky"),
        _ => None,
    };
    if let Some(s) = strategy {
        p.push(("partition.assignment.strategy", s.to_string()));
    }
    if !c.group_instance_id.is_empty() {
        p.push(("group.instance.id", c.group_instance_id.clone()));
    }
    p
}

/// Everything one signal's loop needs.
pub struct SignalLoop {
    pub id: ComponentId,
    pub signal: Signal,
    pub encoding: Encoding,
    pub consumer: Arc<StreamConsumer<Ctx>>,
    pub next: Arc<dyn Consumer>,
    pub registry: Arc<Registry>,
    pub telemetry: ReceiverTelemetry,
    pub after: bool,
    pub on_error: bool,
    pub on_permanent_error: bool,
    /// `autocommit.enable`: commit every `commit_interval`; otherwise after each message.
    pub autocommit: bool,
    pub commit_interval: Duration,
    pub headers: Option<Vec<String>>,
    pub backoff: (Duration, Duration),
}

/// Creates the group member of one signal and subscribes it to `topics`.
pub fn create(
    c: &KafkaReceiverConfig,
    id: &ComponentId,
    topics: &[String],
    registry: &Arc<Registry>,
) -> Result<Arc<StreamConsumer<Ctx>>, String> {
    let mut cfg = ClientConfig::new();
    for (k, v) in consumer_properties(c) {
        cfg.set(k, v);
    }
    let labels = || vec![(LABEL_RECEIVER, id.to_string())];
    let ctx = Ctx {
        id: id.to_string(),
        registry: Arc::clone(registry),
        partition_start: registry.counter(KAFKA_RECEIVER_PARTITION_START, "Number of started partitions", labels()),
        partition_close: registry.counter(KAFKA_RECEIVER_PARTITION_CLOSE, "Number of finished partitions", labels()),
        log: crate::kafka::LogContext::new(id.to_string()),
    };
    let consumer: StreamConsumer<Ctx> =
        cfg.create_with_context(ctx).map_err(|e| format!("{id}: cannot create the Kafka consumer: {e}"))?;
    let t: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&t).map_err(|e| format!("{id}: cannot subscribe to {topics:?}: {e}"))?;
    Ok(Arc::new(consumer))
}

static RECV_ERR: RateLimit = RateLimit::new();
static DECODE_ERR: RateLimit = RateLimit::new();
static PIPELINE_ERR: RateLimit = RateLimit::new();

/// What became of one message.
enum Fate {
    /// Mark it consumed.
    Mark,
    /// Leave it unmarked: the collector is stopping; it is read again after a restart.
    Stop,
}

impl SignalLoop {
    /// Reads and hands on messages until `stop`, then commits what was marked.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.commit_interval.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if *stop.borrow() {
                break;
            }
            let msg = tokio::select! {
                _ = stop.changed() => break,
                // Every tick, not only after new marks: a commit refused during a rebalance is
                // carried by the next one (nothing new to commit costs no request).
                _ = tick.tick(), if self.autocommit => {
                    self.commit(CommitMode::Async);
                    continue;
                }
                m = self.consumer.recv() => m,
            };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    if RECV_ERR.allow(10) {
                        tracing::warn!(component = %self.id, error = %e, "kafka receiver: reading from the brokers failed; retrying");
                    }
                    tokio::select! {
                        _ = stop.changed() => break,
                        _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                    }
                }
            };
            match self.handle(&msg, &mut stop).await {
                Fate::Mark => self.mark(&msg),
                Fate::Stop => break,
            }
        }
        self.finish().await;
    }

    /// Commits the stored offsets of this member's partitions.
    fn commit(&self, mode: CommitMode) {
        match self.consumer.commit_consumer_state(mode) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            // A rebalance in progress, a broker away: the next commit carries these offsets.
            Err(e) => tracing::debug!(component = %self.id, error = %e, "kafka receiver: commit failed"),
        }
    }

    /// Stores the message's offset (and commits it without autocommit).
    fn mark(&self, msg: &BorrowedMessage<'_>) {
        self.registry
            .gauge(
                KAFKA_RECEIVER_CURRENT_OFFSET,
                "Current message offset",
                vec![
                    (LABEL_RECEIVER, self.id.to_string()),
                    (LABEL_TOPIC, msg.topic().to_string()),
                    (LABEL_PARTITION, msg.partition().to_string()),
                ],
            )
            .set(msg.offset());
        if let Err(e) = self.consumer.store_offset_from_message(msg) {
            // The partition was revoked meanwhile: its new owner reads the message again.
            tracing::debug!(component = %self.id, error = %e, "kafka receiver: offset not stored");
            return;
        }
        if !self.autocommit {
            self.commit(CommitMode::Async);
        }
    }

    fn count(&self, msg: &BorrowedMessage<'_>, outcome: &str) {
        let labels = || {
            vec![
                (LABEL_RECEIVER, self.id.to_string()),
                (LABEL_TOPIC, msg.topic().to_string()),
                (LABEL_PARTITION, msg.partition().to_string()),
                (LABEL_OUTCOME, outcome.to_string()),
            ]
        };
        self.registry.counter(KAFKA_RECEIVER_RECORDS, "The number of received records.", labels()).add(1);
        self.registry
            .counter(KAFKA_RECEIVER_MESSAGES, "The number of received messages. (deprecated)", labels())
            .add(1);
        self.registry
            .counter(
                KAFKA_RECEIVER_BYTES_UNCOMPRESSED,
                "The uncompressed size in bytes of received records seen by the client.",
                labels(),
            )
            .add(msg.payload_len() as u64);
    }

    async fn handle(&self, msg: &BorrowedMessage<'_>, stop: &mut watch::Receiver<bool>) -> Fate {
        let payload = msg.payload().unwrap_or_default();
        let mut batch = match self.encoding.decode(self.signal, payload) {
            Ok(b) => b,
            Err(e) => {
                self.count(msg, "failure");
                self.registry
                    .counter(
                        KAFKA_RECEIVER_UNMARSHAL_FAILED.get(self.signal),
                        "Number of items failed to be unmarshaled",
                        vec![
                            (LABEL_RECEIVER, self.id.to_string()),
                            (LABEL_TOPIC, msg.topic().to_string()),
                            (LABEL_PARTITION, msg.partition().to_string()),
                        ],
                    )
                    .add(1);
                if DECODE_ERR.allow(10) {
                    tracing::error!(component = %self.id, topic = msg.topic(), partition = msg.partition(),
                        offset = msg.offset(), error = %e, "kafka receiver: cannot decode a message; it is skipped");
                }
                // Retrying cannot make it decodable: it is marked so the partition moves on.
                return Fate::Mark;
            }
        };
        self.count(msg, "success");
        if let Some(keys) = &self.headers {
            add_headers(&mut batch, msg, keys);
        }
        let items = batch.items() as u64;
        let batch = Arc::new(batch);
        let (mut wait, max_wait) = self.backoff;
        loop {
            // When a refusal will be retried here, the stages downstream are told so (it is not a
            // loss for the exporters' `enqueue_failed`).
            let result = if self.after && self.on_error {
                self.next.consume(Arc::clone(&batch)).await
            } else {
                consume_will_retry(self.next.as_ref(), Arc::clone(&batch)).await
            };
            let err = match result {
                Ok(()) => {
                    self.telemetry.record(items, ReceiveOutcome::Success);
                    return Fate::Mark;
                }
                Err(e) => e,
            };
            let permanent = matches!(err, ConsumeError::Permanent(_));
            self.telemetry.record(items, if permanent { ReceiveOutcome::Failure } else { ReceiveOutcome::Downstream });
            // Go marks before the pipeline unless `after`; oxidot marks after it answered, and
            // moves past an error only where Go would have (see README, differences).
            let skip = if permanent { !self.after || self.on_permanent_error } else { self.after && self.on_error };
            if PIPELINE_ERR.allow(10) {
                tracing::warn!(component = %self.id, topic = msg.topic(), partition = msg.partition(), offset = msg.offset(),
                    error = %err, skipped = skip, "kafka receiver: the pipeline refused a message");
            }
            if skip {
                return Fate::Mark;
            }
            tokio::select! {
                _ = stop.changed() => return Fate::Stop,
                _ = tokio::time::sleep(wait) => {}
            }
            if *stop.borrow() {
                return Fate::Stop;
            }
            wait = (wait * 2).min(max_wait);
        }
    }

    /// Commits the marked offsets and leaves the group (blocking librdkafka calls, off the
    /// async workers).
    async fn finish(self) {
        let c = Arc::clone(&self.consumer);
        let id = self.id.clone();
        drop(self);
        let _ = tokio::task::spawn_blocking(move || {
            match c.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(e) => tracing::warn!(component = %id, error = %e, "kafka receiver: final commit failed; those messages will be read again"),
            }
            c.unsubscribe();
            drop(c);
        })
        .await;
    }
}

/// `header_extraction`: each listed header of the message becomes the resource attribute
/// `kafka.header.<name>` of every resource (Go: header_extraction.go).
fn add_headers(batch: &mut Batch, msg: &BorrowedMessage<'_>, keys: &[String]) {
    let Some(h) = msg.headers() else { return };
    let mut attrs = Vec::new();
    for hd in h.iter() {
        if keys.iter().any(|k| k == hd.key) {
            if let Some(v) = hd.value {
                attrs.push(KeyValue {
                    key: format!("kafka.header.{}", hd.key),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(String::from_utf8_lossy(v).into_owned())),
                    }),
                    ..Default::default()
                });
            }
        }
    }
    if attrs.is_empty() {
        return;
    }
    batch.decode_in_place();
    let put = |r: &mut Option<opentelemetry_proto::tonic::resource::v1::Resource>| {
        let r = r.get_or_insert_with(Default::default);
        for a in &attrs {
            r.attributes.retain(|x| x.key != a.key);
            r.attributes.push(a.clone());
        }
    };
    match batch {
        Batch::Traces(rs) => rs.iter_mut().for_each(|r| put(&mut r.resource)),
        Batch::Metrics(rs) => rs.iter_mut().for_each(|r| put(&mut r.resource)),
        Batch::Logs(rs) => rs.iter_mut().for_each(|r| put(&mut r.resource)),
        Batch::Raw(_) => {}
    }
}
