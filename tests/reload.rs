//! Hot reload (oxidot only): SIGHUP re-reads the config file; a valid one replaces the running
//! pipelines without losing what the old ones held, a broken one is refused and the old keeps
//! running, and data sent throughout a reload arrives exactly once.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use std::time::{Duration, Instant};
use support::sinks::GrpcSink;
use support::*;

/// otlp in, through a batch processor that holds data for a while, out to `sink`.
fn config(sink: u16, batch_timeout: &str) -> String {
    TestConfig::new()
        .processors(&format!("  batch:\n    timeout: {batch_timeout}\n"))
        .exporters(&format!(
            "  otlp/out:\n    endpoint: 127.0.0.1:{sink}\n    tls:\n      insecure: true\n    retry_on_failure:\n      initial_interval: 100ms\n      max_interval: 500ms\n"
        ))
        .pipeline("traces", &["batch"], &["otlp/out"])
        .build()
}

fn config_path(ox: &Oxidot) -> std::path::PathBuf {
    ox.stderr_path.parent().unwrap().join("config.yaml")
}

fn hup(ox: &Oxidot) {
    let pid = ox.child.as_ref().unwrap().id() as i32;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
}

fn reloads(ox: &Oxidot, outcome: &str) -> f64 {
    ox.metric("oxidot_config_reloads", &[("outcome", outcome)])
}

/// Sends one span named `name`; a refused or failed attempt (the moment the receiver's port is
/// closed and bound again, or a retryable status) is tried again, bounded.
async fn send_span(port: u16, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = async {
            let mut c =
                TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await.map_err(|e| e.to_string())?;
            c.export(request(name)).await.map(drop).map_err(|s| format!("{:?} {}", s.code(), s.message()))
        }
        .await;
        match r {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline && retryable(&e) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("span {name} not accepted: {e}"),
        }
    }
}

/// As [`send_span`] over one long-lived channel (as an SDK keeps), reconnected by tonic when the
/// receiver goes away.
async fn send_span_on(c: &mut TraceServiceClient<tonic::transport::Channel>, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.export(request(name)).await {
            Ok(_) => return,
            Err(s) if Instant::now() < deadline && retryable(&format!("{:?}", s.code())) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(s) => panic!("span {name} not accepted: {s}"),
        }
    }
}

/// Connection refused, or a status the OTLP spec says a client retries.
fn retryable(e: &str) -> bool {
    !e.starts_with("InvalidArgument") && !e.starts_with("Internal")
}

fn request(name: &str) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    use prost::Message;
    let bytes = one_span_request(name);
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(&bytes[..]).unwrap()
}

fn names(sink: &GrpcSink) -> Vec<String> {
    let got = sink.got.lock().unwrap();
    got.traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_switches_to_the_new_config_and_refuses_a_broken_one() {
    let (sink1, sink2) = (GrpcSink::start(), GrpcSink::start());
    // A long batch timeout: the old data is still held in the batch processor at the reload.
    let mut ox = Oxidot::start(&config(sink1.port, "30s"));
    for i in 0..10 {
        send_span(ox.ports.grpc, &format!("a{i}")).await;
    }
    let path = config_path(&ox);
    std::fs::write(&path, ox.ports.fill(&config(sink2.port, "100ms"))).unwrap();
    hup(&ox);
    assert!(eventually(20, || reloads(&ox, "success") == 1.0), "{}", ox.stderr());
    // The old pipeline drained at the switch: the batch it held went to sink 1.
    assert_eq!(sink1.spans(), 10, "{}", ox.stderr());
    for i in 0..10 {
        send_span(ox.ports.grpc, &format!("b{i}")).await;
    }
    assert!(eventually(10, || sink2.spans() == 10), "{}", ox.stderr());
    assert_eq!(sink1.spans(), 10);

    // A broken config: refused, named in the log, B keeps running.
    std::fs::write(
        &path,
        ox.ports.fill(&config(sink1.port, "100ms")).replace("    timeout: 100ms", "    timeuot: 100ms"),
    )
    .unwrap();
    hup(&ox);
    assert!(eventually(10, || reloads(&ox, "failure") == 1.0), "{}", ox.stderr());
    assert!(ox.is_running());
    let log = ox.stderr();
    assert!(log.contains("timeuot"), "the error names the key:\n{log}");
    assert!(log.contains(&path.display().to_string()), "the error names the file:\n{log}");
    for i in 0..5 {
        send_span(ox.ports.grpc, &format!("c{i}")).await;
    }
    assert!(eventually(10, || sink2.spans() == 15), "{}", ox.stderr());
    assert_eq!(sink1.spans(), 10);
    assert_eq!(reloads(&ox, "success"), 1.0);
    assert!(ox.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sent_during_a_reload_arrives_exactly_once() {
    let (sink1, sink2) = (GrpcSink::start(), GrpcSink::start());
    let ox = Oxidot::start(&config(sink1.port, "1s"));
    let port = ox.ports.grpc;
    const N: usize = 300;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect_lazy();
    let mut client = TraceServiceClient::new(channel);
    let sender = tokio::spawn(async move {
        for i in 0..N {
            send_span_on(&mut client, &format!("s{i}")).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    // Reload while the sender is in its stride, twice (to sink 2, then back to sink 1).
    tokio::time::sleep(Duration::from_millis(400)).await;
    std::fs::write(config_path(&ox), ox.ports.fill(&config(sink2.port, "1s"))).unwrap();
    hup(&ox);
    assert!(eventually(20, || reloads(&ox, "success") == 1.0), "{}", ox.stderr());
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(config_path(&ox), ox.ports.fill(&config(sink1.port, "1s"))).unwrap();
    hup(&ox);
    assert!(eventually(20, || reloads(&ox, "success") == 2.0), "{}", ox.stderr());
    sender.await.unwrap();
    assert!(eventually(20, || sink1.spans() + sink2.spans() >= N), "{}", ox.stderr());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut got: Vec<String> = names(&sink1).into_iter().chain(names(&sink2)).collect();
    assert!(!names(&sink2).is_empty(), "the second config carried some of the data");
    got.sort();
    let mut want: Vec<String> = (0..N).map(|i| format!("s{i}")).collect();
    want.sort();
    assert_eq!(got, want, "every span exactly once");
    assert_eq!(ox.metric("otelcol_exporter_send_failed_spans", &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_cannot_start_is_rolled_back_to_the_running_one() {
    let (sink1, sink2) = (GrpcSink::start(), GrpcSink::start());
    let ox = Oxidot::start(&config(sink1.port, "100ms"));
    // The new config also listens for OTLP/HTTP on a port something else holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    let new = config(sink2.port, "100ms").replace(
        "        endpoint: 127.0.0.1:$GRPC\n",
        &format!("        endpoint: 127.0.0.1:$GRPC\n      http:\n        endpoint: 127.0.0.1:{busy}\n"),
    );
    std::fs::write(config_path(&ox), ox.ports.fill(&new)).unwrap();
    hup(&ox);
    assert!(eventually(20, || reloads(&ox, "failure") == 1.0), "{}", ox.stderr());
    assert!(ox.stderr().contains(&format!("127.0.0.1:{busy}")), "{}", ox.stderr());
    // The previous config runs again: its receiver, its exporter, its health check.
    send_span(ox.ports.grpc, "after").await;
    assert!(eventually(10, || sink1.spans() == 1), "{}", ox.stderr());
    assert_eq!(sink2.spans(), 0);
    assert_eq!(http_get(&format!("127.0.0.1:{}", ox.ports.health), "/").unwrap().0, 200);
    drop(taken);
}
