//! Backpressure, retries, permanent failures and graceful shutdown, seen from outside the binary.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use std::time::Duration;
use support::sinks::{Answer, HttpSink};
use support::*;

fn config(sink: u16, queue: &str, processors: &str) -> String {
    format!(
        r#"
extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$HTTP
processors:
  batch:
    timeout: 50ms
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:{sink}
    compression: none
    sending_queue: {queue}
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 200ms
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [{processors}]
      exporters: [otlphttp]
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#
    )
}

fn body(n: u8) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..n)
                    .map(|i| Span {
                        trace_id: vec![i + 1; 16],
                        span_id: vec![i + 1; 8],
                        name: format!("s{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn post(ox: &Oxidot, n: u8) -> (u16, Vec<(String, String)>) {
    let (c, h, _) = http_request(
        &format!("127.0.0.1:{}", ox.ports.http),
        "POST",
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &body(n),
    )
    .unwrap();
    (c, h)
}

fn sink_spans(s: &HttpSink) -> usize {
    s.requests()
        .iter()
        .map(|r| {
            let req = ExportTraceServiceRequest::decode(&r.body[..]).unwrap();
            req.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum::<usize>()
        })
        .sum()
}

#[test]
fn full_queue_refuses_with_503_and_retry_after_and_loses_nothing_accepted() {
    let sink = HttpSink::start();
    *sink.delay.lock().unwrap() = Duration::from_millis(700);
    let ox = Oxidot::start(&config(sink.port, "{num_consumers: 1, queue_size: 2}", ""));
    let mut accepted = 0;
    let mut refused = 0;
    for _ in 0..8 {
        let (code, hdrs) = post(&ox, 3);
        match code {
            200 => accepted += 3,
            503 => {
                refused += 3;
                assert!(hdrs.iter().any(|(k, v)| k == "retry-after" && v.parse::<u64>().unwrap() >= 1), "{hdrs:?}");
            }
            c => panic!("unexpected {c}"),
        }
    }
    assert!(refused > 0 && accepted > 0, "accepted {accepted}, refused {refused}");
    assert_eq!(ox.metric("otelcol_receiver_refused_spans", &[]), refused as f64);
    assert_eq!(ox.metric("otelcol_exporter_enqueue_failed_spans", &[("exporter", "otlphttp")]), refused as f64);
    assert!(eventually(20, || sink_spans(&sink) == accepted), "sink has {} of {accepted}", sink_spans(&sink));
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_spans", &[]) == accepted as f64));
    assert!(ox.stderr().contains("sending queue is full"));
}

#[test]
fn retryable_answers_are_retried_honouring_retry_after() {
    let sink = HttpSink::start();
    sink.script.lock().unwrap().extend([
        Answer { status: 503, headers: vec![("retry-after", "1".into())], body: b"busy".to_vec() },
        Answer { status: 429, headers: vec![], body: vec![] },
    ]);
    let ox = Oxidot::start(&config(sink.port, "{enabled: true}", "batch"));
    let t0 = std::time::Instant::now();
    assert_eq!(post(&ox, 4).0, 200);
    assert!(eventually(15, || sink_spans(&sink) == 4));
    assert!(t0.elapsed() >= Duration::from_millis(900), "Retry-After: 1 was not honoured ({:?})", t0.elapsed());
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_spans", &[]) == 4.0));
    assert_eq!(ox.metric("otelcol_exporter_send_failed_spans", &[]), 0.0);
    assert!(ox.stderr().contains("Will retry the request after interval"));
}

#[test]
fn permanent_errors_are_dropped_counted_and_logged_with_the_backend_message() {
    let sink = HttpSink::start();
    sink.script.lock().unwrap().push_back(Answer {
        status: 400,
        headers: vec![],
        body: b"span name too long".to_vec(),
    });
    let ox = Oxidot::start(&config(sink.port, "{enabled: true}", "batch"));
    assert_eq!(post(&ox, 2).0, 200);
    assert!(eventually(10, || ox.metric("otelcol_exporter_send_failed_spans", &[("exporter", "otlphttp")]) == 2.0));
    assert_eq!(ox.metric("otelcol_exporter_sent_spans", &[]), 0.0);
    assert_eq!(sink.requests().len(), 0);
    let log = ox.stderr();
    assert!(
        log.contains("Exporting failed. Dropping data.") && log.contains("span name too long") && log.contains("400"),
        "{log}"
    );
    // A later request goes through: one bad answer does not wedge the exporter.
    assert_eq!(post(&ox, 1).0, 200);
    assert!(eventually(10, || sink_spans(&sink) == 1));
}

#[test]
fn sigterm_delivers_queued_data_before_exit_and_health_reports_draining() {
    let sink = HttpSink::start();
    *sink.delay.lock().unwrap() = Duration::from_millis(400);
    let mut ox = Oxidot::start(&config(sink.port, "{num_consumers: 1, queue_size: 100}", "batch"));
    let health = format!("127.0.0.1:{}", ox.ports.health);
    let (code, body) = http_get(&health, "/").unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("\"status\":\"Server available\""), "{body}");
    // Several batches queued behind a slow backend.
    for _ in 0..6 {
        assert_eq!(post(&ox, 5).0, 200);
        std::thread::sleep(Duration::from_millis(70));
    }
    let pid = ox.child.as_ref().unwrap().id();
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    // While draining, the health check answers 503.
    let mut saw_503 = false;
    for _ in 0..40 {
        if let Ok((503, b)) = http_get(&health, "/") {
            assert!(b.contains("Server not available"));
            saw_503 = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let status = ox.stop();
    assert!(status.success(), "exit {status}");
    assert!(saw_503, "health never reported draining");
    assert_eq!(sink_spans(&sink), 30, "queued data lost at shutdown:\n{}", ox.stderr());
}

#[test]
fn health_cli_probe() {
    let sink = HttpSink::start();
    let ox = Oxidot::start(&config(sink.port, "{enabled: true}", "batch"));
    let (code, out, _) = run_cli(&["health", "--endpoint", &format!("127.0.0.1:{}", ox.ports.health)], &[]);
    assert_eq!(code, 0);
    assert!(out.starts_with("200 "), "{out}");
    let dead = free_port();
    let (code, _, err) =
        run_cli(&["health", "--endpoint", &format!("http://127.0.0.1:{dead}/"), "--timeout", "1"], &[]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Error:"), "{err}");
}

#[test]
fn batch_processor_holding_a_full_queue_counts_no_enqueue_failure_and_loses_nothing() {
    // The batch processor holds a batch and retries while the exporter's queue is full. Each
    // retry used to count as `enqueue_failed` (63,000 counted, 0 lost); in Go the counter means
    // data dropped, so nothing may be counted here.
    let sink = HttpSink::start();
    *sink.delay.lock().unwrap() = Duration::from_millis(300);
    let ox = Oxidot::start(&config(sink.port, "{num_consumers: 1, queue_size: 1}", "batch"));
    for _ in 0..10 {
        assert_eq!(post(&ox, 3).0, 200);
        std::thread::sleep(Duration::from_millis(80));
    }
    assert!(eventually(20, || sink_spans(&sink) == 30), "sink has {} of 30", sink_spans(&sink));
    assert!(eventually(10, || ox.metric("otelcol_exporter_sent_spans", &[]) == 30.0));
    // Batches merged while one was held: the queue really was full and the batch was retried.
    assert!(sink.requests().len() < 10, "{} requests: the queue never filled", sink.requests().len());
    assert_eq!(ox.metric("otelcol_exporter_enqueue_failed_spans", &[("exporter", "otlphttp")]), 0.0);
    assert_eq!(ox.metric("otelcol_processor_dropped_spans", &[]), 0.0);
    assert_eq!(ox.metric("otelcol_receiver_refused_spans", &[]), 0.0);
    assert!(!ox.stderr().contains("Rejecting data"), "{}", ox.stderr());
}

/// SIGTERM with the backend down: the configured deadline bounds the drain, /metrics serves
/// until the end, and one final line names every span dropped. Returns (summary line, last
/// scrape during shutdown, seconds from SIGTERM to exit, scrapes answered during the drain).
fn shutdown_with_backend_down(
    endpoint: &str,
    args: &[&str],
    env: &[(&str, &str)],
    posts: usize,
    queue: &str,
) -> (String, std::collections::BTreeMap<String, f64>, f64, usize, usize) {
    let yaml = config(0, queue, "batch")
        .replace("http://127.0.0.1:0", endpoint)
        .replace("initial_interval: 100ms", "initial_interval: 50ms")
        // Many batches: some in flight, the rest queued, when the deadline comes.
        .replace("timeout: 50ms", "timeout: 50ms\n    send_batch_size: 100\n    send_batch_max_size: 100");
    let mut ox = if env.is_empty() { Oxidot::start_args(&yaml, args) } else { Oxidot::start_with(&yaml, env) };
    for i in 0..posts {
        assert_eq!(post(&ox, 100).0, 200, "post {i}:\n{}", ox.stderr());
    }
    let accepted = ox.metric("otelcol_receiver_accepted_spans", &[]) as usize;
    assert_eq!(accepted, posts * 100);
    // Let the batches reach the exporter's queue and fail a few times.
    std::thread::sleep(Duration::from_millis(400));
    let metrics_at = format!("127.0.0.1:{}", ox.ports.metrics);
    let scraper = std::thread::spawn(move || {
        let mut last = None;
        let mut answered = 0;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            match http_get(&metrics_at, "/metrics") {
                Ok((200, body)) => {
                    answered += 1;
                    last = Some(parse_metrics(&body));
                }
                _ => break,
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (last, answered)
    });
    let mut child = ox.child.take().unwrap();
    let sent_at = std::time::Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if sent_at.elapsed() > Duration::from_secs(40) {
            let _ = child.kill();
            panic!("oxidot did not exit after SIGTERM:\n{}", ox.stderr());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = sent_at.elapsed().as_secs_f64();
    assert!(status.success(), "exit {status}:\n{}", ox.stderr());
    let (last, answered) = scraper.join().unwrap();
    let log = ox.stderr();
    let summaries: Vec<&str> = log.lines().filter(|l| l.contains("Shutdown summary")).collect();
    assert_eq!(summaries.len(), 1, "{log}");
    (summaries[0].to_string(), last.expect("/metrics never answered during shutdown"), took, answered, accepted)
}

const QUEUE: &str = "{num_consumers: 2, queue_size: 1000}";

fn summary_count(line: &str) -> u64 {
    let at = line.find("\"dropped_items\"").or_else(|| line.find("dropped_items")).expect(line);
    line[at..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn shutdown_deadline_flag_with_backend_closed_counts_and_summarises_every_dropped_span() {
    let dead = free_port();
    let (line, last, took, answered, accepted) =
        shutdown_with_backend_down(&format!("http://127.0.0.1:{dead}"), &["--shutdown-timeout", "2s"], &[], 30, QUEUE);
    // Nothing delivered: every accepted span is named as dropped, once, in one line.
    assert_eq!(summary_count(&line), accepted as u64, "{line}");
    assert!(line.contains("exporter otlphttp traces"), "{line}");
    assert!(line.contains(&format!("deadline reached: {accepted}")), "{line}");
    // /metrics answered through the drain and showed the same count before exit.
    assert!(answered >= 20, "/metrics answered only {answered} times during a 2 s drain");
    assert_eq!(sum_metric(&last, "otelcol_exporter_send_failed_spans", &[]), accepted as f64, "{line}");
    assert_eq!(sum_metric(&last, "otelcol_exporter_sent_spans", &[]), 0.0);
    assert!((1.9..4.0).contains(&took), "exit {took:.2}s after SIGTERM with a 2 s deadline");
}

#[test]
fn shutdown_deadline_from_env_with_backend_503_cuts_in_flight_attempts_and_counts_them() {
    let sink = HttpSink::start();
    // Slow 503s: attempts are under way when the deadline comes.
    *sink.delay.lock().unwrap() = Duration::from_millis(700);
    // The first request is refused for good (a backend error), the rest are retried.
    sink.script.lock().unwrap().push_back(Answer { status: 400, headers: vec![], body: b"bad".to_vec() });
    sink.script.lock().unwrap().extend((0..10_000).map(|_| Answer { status: 503, headers: vec![], body: vec![] }));
    let (line, last, took, answered, accepted) = shutdown_with_backend_down(
        &format!("http://127.0.0.1:{}", sink.port),
        &[],
        &[("OXIDOT_SHUTDOWN_TIMEOUT", "2s")],
        25,
        QUEUE,
    );
    assert_eq!(sink_spans(&sink), 0);
    assert_eq!(summary_count(&line), accepted as u64, "{line}");
    assert!(line.contains("backend error: 100") && line.contains("deadline reached: 2400"), "{line}");
    assert!(answered >= 20, "/metrics answered only {answered} times during a 2 s drain");
    assert_eq!(sum_metric(&last, "otelcol_exporter_send_failed_spans", &[]), accepted as f64, "{line}");
    assert!((1.9..4.0).contains(&took), "exit {took:.2}s after SIGTERM with a 2 s deadline");
}

#[test]
fn a_bad_shutdown_timeout_is_refused_at_start() {
    let (code, _, err) = run_cli(&["--shutdown-timeout", "soon", "--config", "yaml:receivers: {}"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--shutdown-timeout"), "{err}");
    let (code, _, err) = run_cli(&["--config", "yaml:receivers: {}"], &[("OXIDOT_SHUTDOWN_TIMEOUT", "0s")]);
    assert_eq!(code, 1);
    assert!(err.contains("OXIDOT_SHUTDOWN_TIMEOUT"), "{err}");
}

#[test]
fn shutdown_without_a_sending_queue_counts_what_the_batch_processor_still_held() {
    // No queue: the batch processor holds the data while the exporter retries; at the deadline
    // it is stopped and what it held is counted as the processor's drop, once.
    let dead = free_port();
    let (line, last, took, _, accepted) = shutdown_with_backend_down(
        &format!("http://127.0.0.1:{dead}"),
        &["--shutdown-timeout", "2s"],
        &[],
        10,
        "{enabled: false}",
    );
    assert_eq!(summary_count(&line), accepted as u64, "{line}");
    assert!(line.contains(&format!("processor batch traces: {accepted} (deadline reached: {accepted})")), "{line}");
    let failed = sum_metric(&last, "otelcol_exporter_send_failed_spans", &[]);
    let dropped = sum_metric(&last, "otelcol_processor_dropped_spans", &[]);
    assert_eq!(failed + dropped, accepted as f64, "{line}");
    assert!((1.9..4.0).contains(&took), "exit {took:.2}s after SIGTERM with a 2 s deadline");
}
