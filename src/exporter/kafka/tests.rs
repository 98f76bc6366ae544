use super::produce::producer_properties;
use super::*;

fn parse(y: &str) -> KafkaExporterConfig {
    serde_yaml_ng::from_str(y).unwrap()
}

fn errors(y: &str) -> Vec<String> {
    parse(y).validate("exporters::kafka").0.iter().map(|e| e.to_string()).collect()
}

/// kafkaexporter config_test.go TestLoadConfig, the `kafka` entry of testdata/config.yaml.
#[test]
fn go_testdata_config_loads() {
    let c = parse(
        r#"
logs: {topic: spans}
metrics: {topic: spans}
traces: {topic: spans}
profiles: {topic: spans}
brokers: ["foo:123", "bar:456"]
producer:
  max_message_bytes: 10000000
  required_acks: -1
timeout: 10s
partition_traces_by_id: true
partition_metrics_by_resource_attributes: true
partition_logs_by_resource_attributes: true
sending_queue: {enabled: true, num_consumers: 2, queue_size: 10}
retry_on_failure: {enabled: true, initial_interval: 10s, max_interval: 60s, max_elapsed_time: 10m}
"#,
    );
    let (errs, warns) = c.validate("exporters::kafka");
    assert!(errs.is_empty() && warns.is_empty(), "{errs:?} {warns:?}");
    for s in Signal::ALL {
        assert_eq!(c.topic(s), "spans");
        assert_eq!(c.encoding_name(s), "otlp_proto");
    }
    assert_eq!(c.producer.required_acks.value(), Ok(-1));
    assert_eq!(c.partitioning(Signal::Traces), Partitioning::TraceId);
    assert_eq!(c.partitioning(Signal::Metrics), Partitioning::Resource);
    assert_eq!(c.partitioning(Signal::Logs), Partitioning::Resource);
    let p = producer_properties(&c);
    assert!(p.contains(&("acks", "-1".to_string())));
    assert!(p.contains(&("bootstrap.servers", "foo:123,bar:456".to_string())));
    assert!(p.contains(&("message.timeout.ms", "10000".to_string())));
}

/// factory_test.go TestCreateDefaultConfig and configkafka's defaults.
#[test]
fn defaults_are_gos() {
    let c = parse("{}");
    assert_eq!(c, KafkaExporterConfig::default());
    assert_eq!(c.brokers, vec!["localhost:9092"]);
    assert_eq!(c.client_id, "otel-collector");
    assert_eq!(c.timeout, GoDuration::from_secs(5));
    assert_eq!(c.producer.max_message_bytes, 1_000_000);
    assert_eq!(c.producer.required_acks.value(), Ok(1));
    assert_eq!(c.producer.compression, "none");
    assert!(c.producer.allow_auto_topic_creation);
    assert!(c.metadata.full);
    assert_eq!(
        (c.topic(Signal::Traces), c.topic(Signal::Metrics), c.topic(Signal::Logs)),
        ("otlp_spans".into(), "otlp_metrics".into(), "otlp_logs".into())
    );
    assert!(c.sending_queue.enabled && c.retry_on_failure.enabled);
    assert!(c.validate("exporters::kafka").0.is_empty());
}

/// config.go Unmarshal: the deprecated top-level topic and encoding fill the signals that do
/// not set their own.
#[test]
fn top_level_topic_and_encoding_fill_unset_signals() {
    let c = parse("topic: legacy\nencoding: otlp_json\nmetrics: {topic: mine, encoding: otlp_proto}\n");
    assert_eq!(c.topic(Signal::Traces), "legacy");
    assert_eq!(c.topic(Signal::Logs), "legacy");
    assert_eq!(c.topic(Signal::Metrics), "mine");
    assert_eq!(c.encoding_name(Signal::Traces), "otlp_json");
    assert_eq!(c.encoding_name(Signal::Metrics), "otlp_proto");
}

#[test]
fn required_acks_accepts_all_and_refuses_others() {
    assert_eq!(parse("producer: {required_acks: all}").producer.required_acks.value(), Ok(-1));
    assert_eq!(parse("producer: {required_acks: 0}").producer.required_acks.value(), Ok(0));
    let e = errors("producer: {required_acks: 2}");
    assert!(
        e[0].contains("exporters::kafka::producer::required_acks")
            && e[0].contains("expected 'all' (-1), 0, or 1; configured value is 2"),
        "{e:?}"
    );
    assert!(errors("producer: {required_acks: most}")[0].contains("configured value is most"));
}

#[test]
fn unsupported_settings_are_errors_naming_the_key() {
    let cases = [
        ("traces: {encoding: jaeger_proto}", "exporters::kafka::traces::encoding", "not supported yet"),
        ("encoding: zipkin_json", "exporters::kafka::encoding", "not supported yet"),
        ("producer: {compression: brotli}", "exporters::kafka::producer::compression", "compression should be one of"),
        (
            "auth: {sasl: {mechanism: AWS_MSK_IAM_OAUTHBEARER}}",
            "exporters::kafka::auth::sasl::mechanism",
            "not supported yet",
        ),
        (
            "auth: {sasl: {mechanism: PLAIN, username: u}}",
            "exporters::kafka::auth::sasl::password",
            "password is required",
        ),
        ("include_metadata_keys: [k]", "exporters::kafka::include_metadata_keys", "not supported yet"),
        ("logs: {topic_from_metadata_key: k}", "exporters::kafka::logs::topic_from_metadata_key", "not supported yet"),
        (
            "partition_logs_by_resource_attributes: true\npartition_logs_by_trace_id: true",
            "exporters::kafka",
            "cannot both be enabled",
        ),
        ("brokers: []", "exporters::kafka::brokers", "brokers must be specified"),
        ("protocol_version: '2.0'", "exporters::kafka::protocol_version", "invalid protocol version"),
        ("producer: {max_message_bytes: 0}", "exporters::kafka::producer::max_message_bytes", "must be positive"),
    ];
    for (y, path, msg) in cases {
        let e = errors(y);
        assert!(e.iter().any(|e| e.starts_with(path) && e.contains(msg)), "{y}: {e:?}");
    }
    assert!(serde_yaml_ng::from_str::<KafkaExporterConfig>("topics: [a]").is_err(), "unknown keys are errors");
}

#[test]
fn producer_properties_follow_the_config() {
    let c = parse("producer: {compression: zstd, compression_params: {level: 3}, flush_max_messages: 50, max_message_bytes: 2000}\nclient_id: me\n");
    let p = producer_properties(&c);
    for want in [
        ("compression.type", "zstd"),
        ("compression.level", "3"),
        ("batch.num.messages", "50"),
        ("message.max.bytes", "3024"),
        ("client.id", "me"),
        ("security.protocol", "plaintext"),
    ] {
        assert!(p.contains(&(want.0, want.1.to_string())), "{want:?} in {p:?}");
    }
    let (_, warns) = parse("protocol_version: 2.1.0").validate("exporters::kafka");
    assert!(warns[0].contains("protocol_version"));
}
