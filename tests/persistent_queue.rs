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

fn hup(ox: &Oxidot) {
    let pid = ox.child.as_ref().unwrap().id() as i32;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
}

fn reloads(ox: &Oxidot, outcome: &str) -> f64 {
    ox.metric("oxidot_config_reloads", &[("outcome", outcome)])
}

/// `requests` requests of `per` spans from span id `first` on, each tried again (bounded) while
/// the receiver's port is closed and bound again or answers a retryable status.
async fn send_through_reload(ox: &Oxidot, first: u64, requests: u64, per: u64) {
    let url = format!("http://127.0.0.1:{}", ox.ports.grpc);
    for i in 0..requests {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let r = async {
                let mut c = TraceServiceClient::connect(url.clone()).await.map_err(|e| e.to_string())?;
                c.export(request(first + i * per, per)).await.map(drop).map_err(|s| format!("{s:?}"))
            }
            .await;
            match r {
                Ok(()) => break,
                Err(e) if std::time::Instant::now() < deadline => {
                    eprintln!("request {i} retried: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await
                }
                Err(e) => panic!("request {i} not accepted: {e}\n{}", ox.stderr()),
            }
        }
    }
}

/// SIGHUP while the persistent queue holds data for a down backend, to a config whose exporter
/// reaches a live one: the reload succeeds (the new exporter takes the old one's log once it is
/// released), data sent during and after it waits for the log, and everything arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_hands_the_queue_on_disk_to_the_new_exporter() {
    let store = tempfile::tempdir().unwrap();
    let (_hold, down) = down_port();
    let ox = Oxidot::start(&config(store.path(), down, 2));
    let (requests, per) = (20u64, 10u64);
    send(&ox, requests, per).await;
    // Both workers are stuck on the down backend with a batch each.
    assert!(eventually(10, || ox.metric("otelcol_exporter_in_flight_requests", TRACES) == 2.0));

    let sink = GrpcSink::start();
    let path = ox.stderr_path.parent().unwrap().join("config.yaml");
    std::fs::write(&path, ox.ports.fill(&config(store.path(), sink.port, 2))).unwrap();
    hup(&ox);
    // Sent while the reload runs: refused (retried) or held until the new exporter's log is open.
    send_through_reload(&ox, requests * per, requests, per).await;
    assert!(eventually(30, || reloads(&ox, "success") + reloads(&ox, "failure") >= 1.0), "{}", ox.stderr());
    assert_eq!(reloads(&ox, "failure"), 0.0, "{}", ox.stderr());
    assert_eq!(reloads(&ox, "success"), 1.0);
    send_through_reload(&ox, 2 * requests * per, requests, per).await;

    let want = (3 * requests * per) as usize;
    let all = eventually(30, || received(&sink).len() == want);
    let got = received(&sink);
    assert!(all, "{} of {want} spans delivered\n{}", got.len(), ox.stderr());
    for i in 0..want as u64 {
        assert!(got.contains_key((i + 1).to_be_bytes().as_slice()), "span {i} missing");
    }
    let duplicates = got.values().sum::<usize>() - got.len();
    // The two batches cut by the reload were dispatched, not acknowledged: sent again, counted.
    let redelivered = ox.metric("oxidot_exporter_queue_redelivered_items", TRACES);
    assert_eq!(redelivered, (2 * per) as f64);
    assert!(duplicates as f64 <= redelivered, "{duplicates} duplicates, {redelivered} redelivered");
    assert!(eventually(10, || ox.metric("otelcol_exporter_queue_size", TRACES) == 0.0));
    let log = ox.stderr();
    assert!(!log.contains("locked by another process"), "{log}");
    assert!(!log.contains("Dropping data"), "{log}");
}

/// SIGHUP with the config unchanged and a live backend: the reload succeeds and nothing is lost
/// or sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_the_same_config_keeps_the_persistent_queue_working() {
    let store = tempfile::tempdir().unwrap();
    let sink = GrpcSink::start();
    let ox = Oxidot::start(&config(store.path(), sink.port, 2));
    send(&ox, 10, 10).await;
    hup(&ox);
    assert!(eventually(30, || reloads(&ox, "success") + reloads(&ox, "failure") >= 1.0), "{}", ox.stderr());
    assert_eq!(reloads(&ox, "failure"), 0.0, "{}", ox.stderr());
    send_through_reload(&ox, 100, 10, 10).await;
    assert!(eventually(30, || received(&sink).len() == 200), "{}\n{}", received(&sink).len(), ox.stderr());
    let got = received(&sink);
    let duplicates = got.values().sum::<usize>() - got.len();
    let redelivered = ox.metric("oxidot_exporter_queue_redelivered_items", TRACES);
    assert!(duplicates as f64 <= redelivered, "{duplicates} duplicates, {redelivered} redelivered");
    assert!(eventually(10, || ox.metric("otelcol_exporter_queue_size", TRACES) == 0.0));
}

/// A reload whose config cannot start (a port something else holds) is rolled back; the queue on
/// disk passes from the old exporter to the new one, back to the old config's, and everything
/// sent before and after arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_reload_keeps_the_persistent_queue() {
    let store = tempfile::tempdir().unwrap();
    let sink = GrpcSink::start();
    let (_hold, down) = down_port();
    let ox = Oxidot::start(&config(store.path(), down, 2));
    send(&ox, 10, 10).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_in_flight_requests", TRACES) == 2.0));
    // The new config (to the live sink) also listens for OTLP/HTTP on a port that is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    let new = config(store.path(), sink.port, 2).replace(
        "        endpoint: 127.0.0.1:$GRPC\n",
        &format!("        endpoint: 127.0.0.1:$GRPC\n      http:\n        endpoint: 127.0.0.1:{busy}\n"),
    );
    assert!(new.contains(&busy.to_string()));
    let path = ox.stderr_path.parent().unwrap().join("config.yaml");
    std::fs::write(&path, ox.ports.fill(&new)).unwrap();
    hup(&ox);
    assert!(eventually(30, || reloads(&ox, "failure") == 1.0), "{}", ox.stderr());
    assert_eq!(reloads(&ox, "success"), 0.0);
    // The old config runs again, with its queue (the backend still down): data is accepted.
    send_through_reload(&ox, 100, 10, 10).await;
    assert!(eventually(10, || ox.metric("otelcol_exporter_queue_size", TRACES) == 20.0), "{}", ox.stderr());
    // Now a config that starts, to the live sink: all 200 spans arrive.
    std::fs::write(&path, ox.ports.fill(&config(store.path(), sink.port, 2))).unwrap();
    hup(&ox);
    assert!(eventually(30, || reloads(&ox, "success") == 1.0), "{}", ox.stderr());
    assert!(eventually(30, || received(&sink).len() == 200), "{}\n{}", received(&sink).len(), ox.stderr());
    assert!(!ox.stderr().contains("locked by another process"), "{}", ox.stderr());
    drop(taken);
}
