//! The `loadbalancing` exporter in front of a tier of three oxidot gateways (issue 19): a
//! sidecar routes by trace id over a static resolver; every span of a trace must reach one
//! gateway; a gateway killed mid-run has its share re-routed to the others and nothing the
//! sidecar accepted is lost (unique span ids counted at the gateways' backends).
//!
//! Each gateway forwards to its own OTLP sink with no queue, so a gateway acknowledges a
//! request only once its sink has it: what a killed gateway acknowledged is at its sink.

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use std::collections::{HashMap, HashSet};
use support::config::TestConfig;
use support::metrics::kv;
use support::sinks::GrpcSink;
use support::*;

/// Spans per trace; each span of a trace goes out in a different request.
const SPANS_PER_TRACE: usize = 4;
/// Traces per request (one span of each).
const PER_REQUEST: usize = 100;

fn gateway(sink: &GrpcSink) -> Oxidot {
    let exporter = format!(
        "  otlp:\n    endpoint: 127.0.0.1:{}\n    tls: {{insecure: true}}\n    sending_queue: {{enabled: false}}\n    retry_on_failure: {{enabled: false}}\n",
        sink.port
    );
    Oxidot::start(&TestConfig::new().exporters(&exporter).pipeline("traces", &[], &["otlp"]).build())
}

fn sidecar(gateways: &[&Oxidot]) -> Oxidot {
    let hosts: Vec<String> = gateways.iter().map(|g| format!("'127.0.0.1:{}'", g.ports.grpc)).collect();
    let exporter = format!(
        "  loadbalancing:
    routing_key: traceID
    protocol:
      otlp:
        timeout: 2s
        tls: {{insecure: true}}
        sending_queue: {{queue_size: 2000}}
        retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 5s}}
    resolver:
      static:
        hostnames: [{}]
    endpoint_health:
      enabled: true
      quarantine_duration: 5m
      reroute_on_failure: true
",
        hosts.join(", ")
    );
    let yaml = TestConfig::new()
        .processors("  batch:\n    timeout: 50ms\n    send_batch_size: 512\n")
        .exporters(&exporter)
        .pipeline("traces", &["batch"], &["loadbalancing"])
        .build();
    Oxidot::start(&yaml)
}

fn trace_id(t: u64) -> Vec<u8> {
    // Spread over the id space (a multiplicative hash), as random ids are.
    let h = t.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    [h.to_be_bytes(), (!h).to_be_bytes()].concat()
}

fn span_id(t: u64, s: usize) -> Vec<u8> {
    (t * SPANS_PER_TRACE as u64 + s as u64 + 1).to_be_bytes().to_vec()
}

/// One request: span `s` of traces `first..first + PER_REQUEST`.
fn request(first: u64, s: usize) -> ExportTraceServiceRequest {
    let spans = (first..first + PER_REQUEST as u64)
        .map(|t| Span {
            trace_id: trace_id(t),
            span_id: span_id(t, s),
            name: format!("op-{s}"),
            start_time_unix_nano: now_ns(),
            end_time_unix_nano: now_ns() + 1_000,
            ..Default::default()
        })
        .collect();
    let service = kv("service.name", "lb-test");
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![service], ..Default::default() }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// Sends traces `first..first + n` span round by span round; `after_round` runs between rounds.
fn send(port: u16, first: u64, n: u64, mut after_round: impl FnMut(usize)) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut c = TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await.unwrap();
        for s in 0..SPANS_PER_TRACE {
            for chunk in (first..first + n).step_by(PER_REQUEST) {
                c.export(request(chunk, s)).await.unwrap_or_else(|e| panic!("request refused: {e}"));
            }
            after_round(s);
        }
    });
}

/// Trace id → the sinks (by index) that hold a span of it.
type Traces = HashMap<Vec<u8>, HashSet<usize>>;

/// Where each trace's spans are, and the span ids each sink holds.
fn placement(sinks: &[&GrpcSink]) -> (Traces, Vec<Vec<Vec<u8>>>) {
    let mut traces = Traces::new();
    let mut ids = vec![];
    for (i, sink) in sinks.iter().enumerate() {
        let got = sink.got.lock().unwrap();
        let mut mine = vec![];
        for s in got.traces.iter().flat_map(|r| &r.resource_spans).flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            traces.entry(s.trace_id.clone()).or_default().insert(i);
            mine.push(s.span_id.clone());
        }
        ids.push(mine);
    }
    (traces, ids)
}

#[test]
fn every_span_of_a_trace_reaches_one_gateway_and_a_killed_gateway_loses_nothing() {
    let sinks = [GrpcSink::start(), GrpcSink::start(), GrpcSink::start()];
    let gws: Vec<Oxidot> = sinks.iter().map(gateway).collect();
    let mut gws: Vec<Option<Oxidot>> = gws.into_iter().map(Some).collect();
    let gw_refs: Vec<&Oxidot> = gws.iter().map(|g| g.as_ref().unwrap()).collect();
    let side = sidecar(&gw_refs);
    let endpoints: Vec<String> = gw_refs.iter().map(|g| format!("127.0.0.1:{}", g.ports.grpc)).collect();
    drop(gw_refs);
    let sink_refs: Vec<&GrpcSink> = sinks.iter().collect();
    let total_spans = |n: u64| n as usize * SPANS_PER_TRACE;

    // Phase 1: 10k traces, all gateways up.
    const N1: u64 = 10_000;
    send(side.ports.grpc, 0, N1, |_| {});
    assert!(
        eventually(60, || sinks.iter().map(|s| s.spans()).sum::<usize>() >= total_spans(N1)),
        "phase 1: {} of {} spans arrived",
        sinks.iter().map(|s| s.spans()).sum::<usize>(),
        total_spans(N1)
    );
    let (traces, ids) = placement(&sink_refs);
    assert_eq!(traces.len(), N1 as usize);
    let split: Vec<_> = traces.iter().filter(|(_, at)| at.len() != 1).collect();
    assert!(split.is_empty(), "{} traces were split across gateways, e.g. {:?}", split.len(), split.first());
    for (i, mine) in ids.iter().enumerate() {
        // A consistent-hash ring of 3 x 100 points spreads 10k traces roughly evenly.
        let share = mine.len() as f64 / total_spans(N1) as f64;
        assert!((0.15..0.55).contains(&share), "gateway {i} got {share:.2} of the spans");
    }
    let unique: HashSet<&Vec<u8>> = ids.iter().flatten().collect();
    assert_eq!(unique.len(), total_spans(N1), "phase 1: duplicates or losses");
    let m = side.metrics();
    assert_eq!(sum_metric(&m, "otelcol_loadbalancer_num_backends", &[]), 3.0);
    for ep in &endpoints {
        assert!(sum_metric(&m, "otelcol_loadbalancer_backend_outcome", &[("endpoint", ep), ("success", "true")]) > 0.0);
    }

    // Phase 2: 10k more traces; gateway 1 is killed (SIGKILL) after the first span round.
    const N2: u64 = 10_000;
    let victim = &endpoints[1];
    send(side.ports.grpc, N1, N2, |round| {
        if round == 0 {
            let mut g = gws[1].take().unwrap();
            let mut child = g.child.take().unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
        }
    });
    let want = total_spans(N1 + N2);
    let unique_count = || {
        let (_, ids) = placement(&sink_refs);
        ids.iter().flatten().collect::<HashSet<_>>().len()
    };
    if !eventually(60, || unique_count() >= want) {
        let m: Vec<_> = side
            .metrics()
            .into_iter()
            .filter(|(k, _)| k.contains("loadbalancer") || k.contains("exporter") || k.contains("dropped"))
            .collect();
        panic!("phase 2: {} of {want} unique spans arrived\n{m:#?}\n{}", unique_count(), side.stderr());
    }
    let (traces, ids) = placement(&sink_refs);
    let received: usize = ids.iter().map(|v| v.len()).sum();
    let unique = unique_count();
    assert_eq!(unique, want, "every accepted span arrived");
    eprintln!("phase 2: {want} spans, {} duplicates (re-sent after the kill)", received - unique);
    // Traces the victim never held stayed whole.
    let split = traces.iter().filter(|(_, at)| !at.contains(&1) && at.len() != 1).count();
    assert_eq!(split, 0, "traces split between the surviving gateways");
    // After the kill the victim received nothing more.
    assert!(ids[1].len() < total_spans(N1) + total_spans(N2) / 2);

    let m = side.metrics();
    assert!(
        sum_metric(&m, "otelcol_loadbalancer_backend_outcome", &[("endpoint", victim), ("success", "false")]) > 0.0,
        "the failed sends to the killed gateway are counted"
    );
    assert!(sum_metric(&m, "otelcol_loadbalancer_rerouted_items", &[]) > 0.0, "{m:?}");
    assert_eq!(sum_metric(&m, "otelcol_exporter_send_failed_spans", &[("exporter", "loadbalancing")]), 0.0);
    assert!(!side.stderr().contains("\terror\t"), "{}", side.stderr());
}
