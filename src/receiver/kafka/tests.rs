use super::consume::consumer_properties;
use super::*;

fn parse(y: &str) -> KafkaReceiverConfig {
    serde_yaml_ng::from_str(y).unwrap()
}

fn errors(y: &str) -> Vec<String> {
    parse(y).validate("receivers::kafka").0.iter().map(|e| e.to_string()).collect()
}

/// factory_test.go TestCreateDefaultConfig and configkafka NewDefaultConsumerConfig.
#[test]
fn defaults_are_gos() {
    let c = parse("{}");
    assert_eq!(c, KafkaReceiverConfig::default());
    assert_eq!(c.brokers, vec!["localhost:9092"]);
    assert_eq!(c.group_id, "otel-collector");
    assert_eq!(c.client_id, "otel-collector");
    assert_eq!(c.initial_offset, "latest");
    assert_eq!(c.session_timeout, GoDuration::from_secs(10));
    assert_eq!(c.heartbeat_interval, GoDuration::from_secs(3));
    assert_eq!(c.autocommit, AutoCommitConfig { enable: true, interval: GoDuration::from_secs(1) });
    assert_eq!(c.max_fetch_wait, GoDuration::from_millis(250));
    assert_eq!(
        (c.min_fetch_size, c.default_fetch_size, c.max_fetch_size, c.max_partition_fetch_size),
        (1, 1_048_576, 0, 1_048_576)
    );
    assert_eq!(c.message_marking, MessageMarking { after: false, on_error: false, on_permanent_error: None });
    assert!(!c.error_backoff.enabled);
    assert_eq!(c.topics(Signal::Traces), vec!["otlp_spans"]);
    assert_eq!(c.topics(Signal::Metrics), vec!["otlp_metrics"]);
    assert_eq!(c.topics(Signal::Logs), vec!["otlp_logs"]);
    assert_eq!(c.encoding_name(Signal::Logs), "otlp_proto");
    let (e, w) = c.validate("receivers::kafka");
    assert!(e.is_empty() && w.is_empty(), "{e:?} {w:?}");
}

/// config_test.go: topics, the deprecated topic, and the top-level topic of older releases.
#[test]
fn topics_resolve_as_go() {
    let c = parse("traces: {topics: [a, '^b.*']}\nmetrics: {topic: m}\ntopic: old\nencoding: otlp_json\n");
    assert_eq!(c.topics(Signal::Traces), vec!["a", "^b.*"]);
    assert_eq!(c.topics(Signal::Metrics), vec!["m"]);
    assert_eq!(c.topics(Signal::Logs), vec!["old"]);
    assert_eq!(c.encoding_name(Signal::Traces), "otlp_json");
    assert!(c.validate("receivers::kafka").0.is_empty());
}

/// config.go Unmarshal: on_permanent_error inherits on_error unless written.
#[test]
fn on_permanent_error_inherits_on_error() {
    assert!(parse("message_marking: {after: true, on_error: true}").mark_on_permanent_error());
    assert!(
        !parse("message_marking: {after: true, on_error: true, on_permanent_error: false}").mark_on_permanent_error()
    );
    assert!(!parse("message_marking: {after: true}").mark_on_permanent_error());
}

#[test]
fn invalid_settings_are_errors_naming_the_key() {
    let cases = [
        (
            "initial_offset: middle",
            "receivers::kafka::initial_offset",
            "initial_offset should be one of 'latest' or 'earliest'. configured value middle",
        ),
        (
            "group_rebalance_strategy: fair",
            "receivers::kafka::group_rebalance_strategy",
            "rebalance_strategy should be one of",
        ),
        ("logs: {topic: a, topics: [b]}", "receivers::kafka::logs", "both logs.topic and logs.topics cannot be set"),
        ("traces: {encoding: zipkin_proto}", "receivers::kafka::traces::encoding", "not supported yet"),
        ("encoding: text", "receivers::kafka::encoding", "not supported yet"),
        (
            "auth: {sasl: {mechanism: AWS_MSK_IAM_OAUTHBEARER}}",
            "receivers::kafka::auth::sasl::mechanism",
            "not supported yet",
        ),
        (
            "traces: {topics: ['^x'], exclude_topics: [y]}",
            "receivers::kafka::traces::exclude_topics",
            "not supported yet",
        ),
        ("metrics: {topics: ['^(']}", "receivers::kafka::metrics::topics", "invalid topic regex"),
        (
            "error_backoff: {enabled: true, multiplier: 0}",
            "receivers::kafka::error_backoff::multiplier",
            "must be positive",
        ),
        ("heartbeat_interval: 20s", "receivers::kafka::heartbeat_interval", "lower than session_timeout"),
    ];
    for (y, path, msg) in cases {
        let e = errors(y);
        assert!(e.iter().any(|e| e.starts_with(path) && e.contains(msg)), "{y}: {e:?}");
    }
    assert!(serde_yaml_ng::from_str::<KafkaReceiverConfig>("message_marking: {before: true}").is_err());
}

#[test]
fn consumer_properties_store_offsets_only_by_hand() {
    let c = parse("group_id: g\ninitial_offset: earliest\nautocommit: {enable: false}\ngroup_rebalance_strategy: sticky\nauth: {sasl: {mechanism: SCRAM-SHA-256, username: u, password: p}}\n");
    let p = consumer_properties(&c);
    for want in [
        ("group.id", "g"),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.offset.store", "false"),
        ("enable.auto.commit", "false"),
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("security.protocol", "sasl_plaintext"),
        ("sasl.mechanisms", "SCRAM-SHA-256"),
        ("session.timeout.ms", "10000"),
    ] {
        assert!(p.contains(&(want.0, want.1.to_string())), "{want:?} in {p:?}");
    }
}
