//! The persistent sending queue (`sending_queue.storage: file_storage/<name>`): what the
//! receiver accepted survives SIGKILL and is delivered after a restart; a torn tail is skipped
//! and counted.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use support::sinks::GrpcSink;
use support::*;

/// One request of `n` spans whose span ids are `first..first + n` (big endian in 8 bytes).
fn request(first: u64, n: u64) -> ExportTraceServiceRequest {
    let spans = (first..first + n)
        .map(|i| Span {
            trace_id: vec![7; 16],
            span_id: (i + 1).to_be_bytes().to_vec(),
            name: format!("span {i}"),
            start_time_unix_nano: now_ns(),
            end_time_unix_nano: now_ns(),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn config(store: &Path, backend_port: u16, consumers: u32) -> String {
    config_fsync(store, backend_port, consumers, false)
}

fn config_fsync(store: &Path, backend_port: u16, consumers: u32, fsync: bool) -> String {
    TestConfig::new()
        .extension(
            "file_storage/q",
            &format!("  file_storage/q:\n    directory: {}\n    fsync: {fsync}\n", store.display()),
        )
        .exporters(&format!(
            "  otlp:\n    endpoint: 127.0.0.1:{backend_port}\n    tls:\n      insecure: true\n    \
             retry_on_failure:\n      initial_interval: 100ms\n      max_interval: 200ms\n    \
             sending_queue:\n      storage: file_storage/q\n      queue_size: 5000\n      num_consumers: {consumers}\n"
        ))
        .pipeline("traces", &[], &["otlp"])
        .build()
}

/// A backend that is down for as long as the listener is held: it never accepts, so connections
/// stall until the exporter's timeout, and no other test can take the port meanwhile (a port
/// merely found free can be, and then receives what this test queued).
fn down_port() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn sigkill(ox: &mut Oxidot) {
    let mut c = ox.child.take().expect("running");
    unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
    let st = c.wait().unwrap();
    assert!(!st.success());
}

/// Span id → how many times the sink got it.
fn received(sink: &GrpcSink) -> HashMap<Vec<u8>, usize> {
    let mut m = HashMap::new();
    for r in &sink.got.lock().unwrap().traces {
        for s in r.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            *m.entry(s.span_id.clone()).or_insert(0) += 1;
        }
    }
    m
}

async fn send(ox: &Oxidot, requests: u64, per: u64) {
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{}", ox.ports.grpc)).await.unwrap();
    for i in 0..requests {
        let r = client.export(request(i * per, per)).await;
        assert!(r.is_ok(), "request {i} refused: {r:?}\n{}", ox.stderr());
    }
}

const TRACES: &[(&str, &str)] = &[("exporter", "otlp"), ("data_type", "traces")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_accepted_survives_sigkill_and_is_delivered_after_restart() {
    let store = tempfile::tempdir().unwrap();
    // The backend is down: nothing answers on this port.
    let (_hold, down) = down_port();
    let mut ox = Oxidot::start(&config(store.path(), down, 2));
    // The scale: ~30,000 spans queued when the process is killed.
    let (requests, per) = (301u64, 100u64);
    send(&ox, requests, per).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_queue_size", TRACES) == requests as f64));
    assert!(ox.metric("oxidot_exporter_queue_disk_bytes", TRACES) > (requests * per * 20) as f64);
    // Both workers are retrying the batch each took.
    assert!(eventually(10, || ox.metric("otelcol_exporter_in_flight_requests", TRACES) == 2.0));
    sigkill(&mut ox);

    let sink = GrpcSink::start();
    let ox = Oxidot::start(&config(store.path(), sink.port, 2));
    let want = (requests * per) as usize;
    let all = eventually(60, || received(&sink).len() == want);
    let got = received(&sink);
    assert!(all, "{} of {want} spans delivered\n{}", got.len(), ox.stderr());
    for i in 0..requests * per {
        assert!(got.contains_key((i + 1).to_be_bytes().as_slice()), "span {i} missing");
    }
    let total: usize = got.values().sum();
    let duplicates = total - got.len();
    // The two batches being sent at the kill are the ones that may arrive twice.
    let redelivered = ox.metric("oxidot_exporter_queue_redelivered_items", TRACES);
    assert_eq!(redelivered, (2 * per) as f64);
    assert!(duplicates as f64 <= redelivered, "{duplicates} duplicates, {redelivered} redelivered");
    eprintln!("delivered {} unique spans, {duplicates} duplicates, {redelivered} redelivered", got.len());
    assert!(eventually(10, || ox.metric("otelcol_exporter_queue_size", TRACES) == 0.0));
    assert_eq!(ox.metric("otelcol_exporter_sent_spans", &[("exporter", "otlp")]), want as f64);
    assert_eq!(ox.metric("oxidot_exporter_queue_corrupt_regions", TRACES), 0.0);
}

fn segments(store: &Path) -> Vec<PathBuf> {
    let dir = store.join("exporter_otlp__traces");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_is_skipped_counted_once_and_the_good_records_delivered() {
    let store = tempfile::tempdir().unwrap();
    // With fsync: every write synced before the sender is answered.
    let (_hold, down) = down_port();
    let mut ox = Oxidot::start(&config_fsync(store.path(), down, 1, true));
    send(&ox, 5, 10).await;
    sigkill(&mut ox);
    // The last record's write cut short, as a kill in the middle of it leaves it.
    let seg = segments(store.path()).into_iter().find(|p| std::fs::metadata(p).unwrap().len() > 0).unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 7).unwrap();

    let sink = GrpcSink::start();
    let ox = Oxidot::start(&config_fsync(store.path(), sink.port, 1, true));
    assert!(eventually(30, || received(&sink).len() == 40), "{:?}\n{}", received(&sink).len(), ox.stderr());
    let got = received(&sink);
    for i in 0..40u64 {
        assert!(got.contains_key((i + 1).to_be_bytes().as_slice()), "span {i} missing");
    }
    assert_eq!(ox.metric("oxidot_exporter_queue_corrupt_regions", TRACES), 1.0);
    assert!(ox.stderr().contains("corrupt data skipped"), "{}", ox.stderr());
    assert!(eventually(10, || ox.metric("otelcol_exporter_queue_size", TRACES) == 0.0));
    // Nothing more arrives: the torn record is gone, not half-sent.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(received(&sink).len(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_the_backend_down_stops_retrying_and_keeps_the_queue_on_disk() {
    let store = tempfile::tempdir().unwrap();
    let (_hold, down) = down_port();
    let mut ox = Oxidot::start(&config(store.path(), down, 2));
    send(&ox, 20, 10).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_in_flight_requests", TRACES) == 2.0));
    let t = std::time::Instant::now();
    assert!(ox.stop().success(), "{}", ox.stderr());
    // Without waiting for the 25 s shutdown deadline: retries stop at once (Go's retry sender).
    assert!(t.elapsed() < std::time::Duration::from_secs(15), "{:?}", t.elapsed());
    let log = ox.stderr();
    assert!(log.contains("what is left stays on disk"), "{log}");
    assert!(!log.contains("Dropping data"), "nothing is dropped: {log}");

    let sink = GrpcSink::start();
    let ox = Oxidot::start(&config(store.path(), sink.port, 2));
    assert!(eventually(30, || received(&sink).len() == 200), "{}\n{}", received(&sink).len(), ox.stderr());
    assert_eq!(ox.metric("oxidot_exporter_queue_redelivered_items", TRACES), 20.0);
}
