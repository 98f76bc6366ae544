//! Kafka between tiers (issue 19): a sidecar oxidot (OTLP receiver → kafka exporter) writes to a
//! real Kafka-protocol broker, librdkafka's mock cluster started in this test process on
//! 127.0.0.1, and a gateway oxidot (kafka receiver → otlp exporter) reads the topics into an
//! OTLP sink. Counts are exact per signal; the gateway is killed with SIGKILL mid-stream and
//! restarted in the same consumer group: every unique item must arrive (at-least-once), the
//! duplicates that replay brings are counted and reported. A second test reads the trace topic
//! back with an rdkafka consumer to check `partition_traces_by_id`.

mod support;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::metrics::{gauge, kv, request};
use support::sinks::GrpcSink;
use support::*;

const PARTITIONS: i32 = 3;
/// Requests per signal, items per request.
const REQUESTS: usize = 60;
const PER_REQUEST: usize = 5;
const TOTAL: usize = REQUESTS * PER_REQUEST;

fn mock_cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let c = MockCluster::new(1).expect("librdkafka mock cluster");
    for t in ["otlp_spans", "otlp_metrics", "otlp_logs"] {
        c.create_topic(t, PARTITIONS, 1).expect("create topic");
    }
    c
}

/// Sidecar: OTLP/gRPC in, kafka out (one topic per signal, traces keyed by trace id).
fn sidecar(brokers: &str) -> Oxidot {
    let exporter = format!(
        "  kafka:\n    brokers: [{brokers}]\n    partition_traces_by_id: true\n    timeout: 5s\n    \
         retry_on_failure:\n      initial_interval: 100ms\n      max_interval: 1s\n"
    );
    let mut cfg = TestConfig::new().exporters(&exporter);
    for s in ["traces", "metrics", "logs"] {
        cfg = cfg.pipeline(s, &[], &["kafka"]);
    }
    Oxidot::start(&cfg.build())
}

/// Gateway: kafka in (group `gateway`, from the earliest offset, marked after the pipeline
/// accepted), OTLP/gRPC out to the sink without an in-memory queue.
fn gateway(brokers: &str, sink: u16) -> Oxidot {
    // No in-memory queue: the pipeline answers when the sink has the data, so an offset is never
    // committed for data still queued in memory (what a SIGKILL would lose).
    let no_queue = "    sending_queue:\n      enabled: false\n";
    let marking = "    message_marking:\n      after: true\n";
    Oxidot::start(&gateway_yaml(brokers, sink, marking, no_queue, &["traces", "metrics", "logs"]))
}

/// `queue`: the otlp exporter's `sending_queue` block (indented by four spaces).
fn gateway_yaml(brokers: &str, sink: u16, marking: &str, queue: &str, signals: &[&str]) -> String {
    let pipelines: String =
        signals.iter().map(|s| format!("    {s}: {{receivers: [kafka], exporters: [otlp]}}\n")).collect();
    format!(
        r#"extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
receivers:
  kafka:
    brokers: [{brokers}]
    group_id: gateway
    initial_offset: earliest
    session_timeout: 6s
    heartbeat_interval: 1s
{marking}exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    tls:
      insecure: true
{queue}    retry_on_failure:
      initial_interval: 100ms
      max_interval: 1s
service:
  extensions: [health_check]
  pipelines:
{pipelines}  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#
    )
}

fn trace_id(seq: usize) -> Vec<u8> {
    let mut t = vec![7u8; 16];
    t[..8].copy_from_slice(&(seq as u64 + 1).to_be_bytes());
    t
}

/// Request `seq` of each signal: its items are named `{signal}-{n}`, n unique.
fn traces(seq: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![kv("service.name", "sidecar")], ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                spans: (0..PER_REQUEST)
                    .map(|i| {
                        let n = seq * PER_REQUEST + i;
                        Span {
                            // Two traces per request, so one request's spans go to two keys.
                            trace_id: trace_id(seq * 2 + i % 2),
                            span_id: (n as u64 + 1).to_be_bytes().to_vec(),
                            name: format!("span-{n}"),
                            start_time_unix_nano: 1,
                            end_time_unix_nano: 2,
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics(seq: usize) -> opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest {
    request(
        (0..PER_REQUEST).map(|i| gauge(&format!("metric-{}", seq * PER_REQUEST + i), "1", 1.0, 1, vec![])).collect(),
    )
}

fn logs(seq: usize) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![kv("service.name", "sidecar")], ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                log_records: (0..PER_REQUEST)
                    .map(|i| LogRecord {
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("log-{}", seq * PER_REQUEST + i))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Sends requests `range` of every signal to the sidecar, one set every `gap`.
fn send(port: u16, range: std::ops::Range<usize>, gap: Duration) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = format!("http://127.0.0.1:{port}");
        let mut t = TraceServiceClient::connect(url.clone()).await.unwrap();
        let mut m = MetricsServiceClient::connect(url.clone()).await.unwrap();
        let mut l = LogsServiceClient::connect(url).await.unwrap();
        for seq in range {
            t.export(traces(seq)).await.unwrap();
            m.export(metrics(seq)).await.unwrap();
            l.export(logs(seq)).await.unwrap();
            tokio::time::sleep(gap).await;
        }
    });
}

/// Every item name the sink got, with how often.
fn received(sink: &GrpcSink) -> BTreeMap<String, usize> {
    let g = sink.got.lock().unwrap();
    let mut out = BTreeMap::new();
    let spans = g.traces.iter().flat_map(|r| &r.resource_spans).flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans);
    let names = spans.map(|s| s.name.clone());
    let metrics = g
        .metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.clone());
    let logs =
        g.logs.iter().flat_map(|r| &r.resource_logs).flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records).map(
            |l| match l.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                _ => "?".into(),
            },
        );
    for n in names.chain(metrics).chain(logs) {
        *out.entry(n).or_insert(0) += 1;
    }
    out
}

fn unique(got: &BTreeMap<String, usize>, prefix: &str) -> usize {
    got.keys().filter(|k| k.starts_with(prefix)).count()
}

#[test]
fn sidecar_to_gateway_through_kafka_survives_a_gateway_kill() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let sink = GrpcSink::start();
    let side = sidecar(&brokers);
    let mut gw = gateway(&brokers, sink.port);

    // A first part, to see the gateway consuming (its group formed); then the rest is sent
    // while the gateway is killed with a third of the data through it (past its first offset
    // commits).
    let port = side.ports.grpc;
    const FIRST: usize = 5;
    send(port, 0..FIRST, Duration::ZERO);
    assert!(
        eventually(30, || sink.spans() >= FIRST * PER_REQUEST && sink.log_records() >= FIRST * PER_REQUEST),
        "nothing reached the sink through kafka\nsidecar:\n{}\ngateway:\n{}",
        side.stderr(),
        gw.stderr()
    );
    // Past a few commit intervals (1 s; one may be refused while the group still rebalances):
    // the first part's offsets are committed.
    std::thread::sleep(Duration::from_secs(3));
    let sender = std::thread::spawn(move || send(port, FIRST..REQUESTS, Duration::from_millis(60)));
    assert!(eventually(30, || sink.spans() >= TOTAL / 3), "{}", gw.stderr());
    let accepted_before = gw.metric("otelcol_receiver_accepted_spans", &[("transport", "kafka")]);
    let mut child = gw.child.take().unwrap();
    child.kill().unwrap(); // SIGKILL: no commit, no leaving the group
    child.wait().unwrap();
    let at_kill = sink.spans();
    assert!(at_kill < TOTAL, "the gateway was killed after everything arrived: not mid-stream");
    sender.join().unwrap();

    // Everything was acknowledged by the broker before the sidecar said so.
    let l = [("exporter", "kafka")];
    for item in ["spans", "metric_points", "log_records"] {
        assert!(
            eventually(20, || side.metric(&format!("otelcol_exporter_sent_{item}"), &l) == TOTAL as f64),
            "sidecar sent {} {item} of {TOTAL}\n{}",
            side.metric(&format!("otelcol_exporter_sent_{item}"), &l),
            side.stderr()
        );
        assert_eq!(side.metric(&format!("otelcol_exporter_send_failed_{item}"), &l), 0.0);
    }
    assert!(
        side.metric("otelcol_kafka_exporter_records", &[("topic", "otlp_spans"), ("outcome", "success")])
            >= REQUESTS as f64
    );

    // The restarted gateway rejoins the group and resumes from the last commit.
    let mut gw2 = gateway(&brokers, sink.port);
    let done = eventually(90, || {
        let got = received(&sink);
        unique(&got, "span-") == TOTAL && unique(&got, "metric-") == TOTAL && unique(&got, "log-") == TOTAL
    });
    std::thread::sleep(Duration::from_millis(500));
    let got = received(&sink);
    let dup: BTreeMap<&str, usize> = ["span-", "metric-", "log-"]
        .iter()
        .map(|p| (*p, got.iter().filter(|(k, _)| k.starts_with(p)).map(|(_, n)| n - 1).sum()))
        .collect();
    eprintln!(
        "kafka kill/restart: {at_kill} spans had arrived when the gateway was killed \
         ({accepted_before} accepted by it); duplicates after replay: {dup:?}"
    );
    assert!(
        done,
        "lost items: spans {}/{TOTAL}, metrics {}/{TOTAL}, logs {}/{TOTAL}\ngateway:\n{}",
        unique(&got, "span-"),
        unique(&got, "metric-"),
        unique(&got, "log-"),
        gw2.stderr()
    );
    assert_eq!(got.len(), 3 * TOTAL, "only the items sent arrive");
    // The restart resumed from the last commit: the first part, committed before the kill, is
    // not read again.
    for p in ["span-", "metric-", "log-"] {
        for n in 0..FIRST * PER_REQUEST {
            assert_eq!(got.get(&format!("{p}{n}")), Some(&1), "{p}{n} replayed from before the last commit");
        }
    }
    // Exact: every unique item once, plus exactly the duplicates counted above.
    assert_eq!(sink.spans(), TOTAL + dup["span-"]);
    assert_eq!(sink.data_points(), TOTAL + dup["metric-"]);
    assert_eq!(sink.log_records(), TOTAL + dup["log-"]);
    // The restarted gateway counts what it accepted with transport "kafka", and its partitions.
    let after = gw2.metric("otelcol_receiver_accepted_spans", &[("transport", "kafka")]);
    assert!(after > 0.0 && after <= (TOTAL + dup["span-"]) as f64, "{after}");
    assert!(gw2.metric("otelcol_kafka_receiver_partition_start", &[]) >= 3.0 * PARTITIONS as f64);
    assert!(gw2.metric("otelcol_kafka_receiver_records", &[("topic", "otlp_logs"), ("outcome", "success")]) > 0.0);
    assert!(gw2.metric("otelcol_kafka_receiver_current_offset", &[("topic", "otlp_spans")]) > 0.0);
    // SIGTERM: the gateway commits, leaves the group and exits cleanly, promptly.
    let t0 = Instant::now();
    let st = gw2.stop();
    assert!(st.success(), "{st}");
    assert!(t0.elapsed() < Duration::from_secs(15), "shutdown took {:?}", t0.elapsed());
}

/// `partition_traces_by_id`: every span of one trace is in one partition, under the trace id's
/// hex as key; read back with an independent consumer of the topic.
#[test]
fn partition_traces_by_id_keeps_a_trace_in_one_partition() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let side = sidecar(&brokers);
    send(side.ports.grpc, 0..20, Duration::ZERO);
    let l = [("exporter", "kafka")];
    assert!(
        eventually(20, || side.metric("otelcol_exporter_sent_spans", &l) == (20 * PER_REQUEST) as f64),
        "{}",
        side.stderr()
    );

    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset("otlp_spans", p, Offset::Beginning).unwrap();
    }
    reader.assign(&tpl).unwrap();
    // trace id → partitions its spans were found in; and span count.
    let mut where_: BTreeMap<Vec<u8>, BTreeSet<i32>> = BTreeMap::new();
    let mut spans = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while spans < 20 * PER_REQUEST && Instant::now() < deadline {
        let Some(m) = reader.poll(Duration::from_millis(200)) else { continue };
        let m = m.unwrap();
        let req = ExportTraceServiceRequest::decode(m.payload().unwrap()).unwrap();
        let key = m.key().map(|k| String::from_utf8(k.to_vec()).unwrap());
        for s in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            assert_eq!(key.as_deref(), Some(hex::encode(&s.trace_id).as_str()), "message key is the trace id");
            where_.entry(s.trace_id.clone()).or_default().insert(m.partition());
            spans += 1;
        }
    }
    assert_eq!(spans, 20 * PER_REQUEST);
    assert_eq!(where_.len(), 40, "two traces per request");
    for (t, parts) in &where_ {
        assert_eq!(parts.len(), 1, "trace {} spread over partitions {parts:?}", hex::encode(t));
    }
    let used: BTreeSet<i32> = where_.values().flatten().copied().collect();
    assert!(used.len() > 1, "40 keys over {PARTITIONS} partitions use more than one: {used:?}");
}

/// A retryable pipeline error (the exporter's queue full: a slow backend behind a queue of one
/// request) leaves the message unmarked: the receiver hands it on again after a backoff, so
/// every log record arrives exactly once and the refusals are counted. With the default
/// `message_marking` (Go would have marked, and so lost, these messages before the pipeline).
#[test]
fn a_refused_message_is_handed_on_again_not_skipped() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let sink = GrpcSink::start();
    *sink.delay.lock().unwrap() = Duration::from_millis(300);
    let side = sidecar(&brokers);
    let queue = "    sending_queue:\n      num_consumers: 1\n      queue_size: 1\n";
    let gw = Oxidot::start(&gateway_yaml(&brokers, sink.port, "", queue, &["logs"]));
    const N: usize = 8;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut l = LogsServiceClient::connect(format!("http://127.0.0.1:{}", side.ports.grpc)).await.unwrap();
        for seq in 0..N {
            l.export(logs(seq)).await.unwrap();
        }
    });
    assert!(eventually(40, || sink.log_records() >= N * PER_REQUEST), "{}", gw.stderr());
    std::thread::sleep(Duration::from_millis(800));
    let got = received(&sink);
    assert_eq!(got.len(), N * PER_REQUEST);
    assert!(got.values().all(|n| *n == 1), "each log record once: {got:?}");
    let t = [("transport", "kafka")];
    assert!(gw.metric("otelcol_receiver_refused_log_records", &t) > 0.0, "the full queue refused some");
    assert_eq!(gw.metric("otelcol_receiver_accepted_log_records", &t), (N * PER_REQUEST) as f64);
    assert_eq!(gw.metric("otelcol_exporter_enqueue_failed_log_records", &[]), 0.0, "refusals retried, not lost");
}

/// The exporter's send succeeds only once the broker acknowledged: with the broker down nothing
/// counts as sent (the batches wait in the queue and retry); once it is back every span is
/// delivered and counted once as sent.
#[test]
fn exporter_counts_sent_only_when_the_broker_acknowledged() {
    let cluster = mock_cluster();
    let brokers = cluster.bootstrap_servers();
    let side = sidecar(&brokers);
    // Let the producer learn the topics first, so the outage is the broker's, not a lookup's.
    send(side.ports.grpc, 0..1, Duration::ZERO);
    let l = [("exporter", "kafka")];
    assert!(
        eventually(20, || side.metric("otelcol_exporter_sent_spans", &l) == PER_REQUEST as f64),
        "{}",
        side.stderr()
    );
    cluster.broker_down(1).unwrap();
    send(side.ports.grpc, 1..11, Duration::ZERO);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        side.metric("otelcol_exporter_sent_spans", &l),
        PER_REQUEST as f64,
        "nothing is sent while the broker is down"
    );
    cluster.broker_up(1).unwrap();
    assert!(
        eventually(60, || side.metric("otelcol_exporter_sent_spans", &l) == (11 * PER_REQUEST) as f64),
        "sent {} of {}\n{}",
        side.metric("otelcol_exporter_sent_spans", &l),
        11 * PER_REQUEST,
        side.stderr()
    );
    assert_eq!(side.metric("otelcol_exporter_send_failed_spans", &l), 0.0);

    // Read the topic back: every span there.
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset("otlp_spans", p, Offset::Beginning).unwrap();
    }
    reader.assign(&tpl).unwrap();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while names.len() < 11 * PER_REQUEST && Instant::now() < deadline {
        let Some(m) = reader.poll(Duration::from_millis(200)) else { continue };
        let req = ExportTraceServiceRequest::decode(m.unwrap().payload().unwrap()).unwrap();
        for s in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            *names.entry(s.name.clone()).or_insert(0) += 1;
        }
    }
    let dup: usize = names.values().map(|n| n - 1).sum();
    eprintln!(
        "kafka broker outage: {} spans in the topic, {dup} duplicates (a retried send the broker had taken)",
        names.len()
    );
    assert_eq!(names.len(), 11 * PER_REQUEST);
}
