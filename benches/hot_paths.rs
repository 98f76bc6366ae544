//! Criterion benches of oxidot's hot paths, on the load generator's realistic requests (100
//! items, two resources): OTLP decode (protobuf and JSON), batch merge and split, each
//! translator (X-Ray documents, remote write series, Loki push), the body codecs, self-metric
//! updates; plus the floor: prost decode + re-encode of the same request, which no collector
//! that looks at the data can beat. `cargo bench --bench hot_paths`; each group prints per-item
//! throughput, so the ratio to the floor reads off directly.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use oxidot::component::Signal;
use oxidot::exporter::awsxray::translate as xray;
use oxidot::exporter::loki::translate as loki;
use oxidot::exporter::prometheusremotewrite::translate as prw;
use oxidot::pipeline::data::Batch;
use oxidot::receiver::otlp::decode::{decode_request, decompress, Encoding};
use oxidot_bench::gen::{Generator, Kind};
use prost::Message;
use std::hint::black_box;
use std::io::Write;

const ITEMS: usize = 100;

fn requests() -> [(Kind, Signal, Vec<u8>); 3] {
    let g = Generator::new(7);
    [
        (Kind::Traces, Signal::Traces, g.request(Kind::Traces, ITEMS, 2)),
        (Kind::Metrics, Signal::Metrics, g.request(Kind::Metrics, ITEMS, 2)),
        (Kind::Logs, Signal::Logs, g.request(Kind::Logs, ITEMS, 2)),
    ]
}

fn to_json(b: &Batch) -> Vec<u8> {
    match b {
        Batch::Raw(_) => return to_json(&b.decoded()),
        Batch::Traces(r) => serde_json::to_vec(&ExportTraceServiceRequest { resource_spans: r.clone() }),
        Batch::Metrics(r) => serde_json::to_vec(&ExportMetricsServiceRequest { resource_metrics: r.clone() }),
        Batch::Logs(r) => serde_json::to_vec(&ExportLogsServiceRequest { resource_logs: r.clone() }),
    }
    .unwrap_or_default()
}

fn reencode(signal: Signal, body: &[u8]) -> Vec<u8> {
    match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(body).map(|r| r.encode_to_vec()),
        Signal::Metrics => ExportMetricsServiceRequest::decode(body).map(|r| r.encode_to_vec()),
        Signal::Logs => ExportLogsServiceRequest::decode(body).map(|r| r.encode_to_vec()),
    }
    .unwrap_or_default()
}

fn decode(c: &mut Criterion) {
    for (kind, signal, body) in requests() {
        let mut g = c.benchmark_group(format!("{kind:?}").to_lowercase());
        g.throughput(Throughput::Elements(ITEMS as u64));
        g.bench_function("floor: prost decode + encode", |b| b.iter(|| reencode(signal, black_box(&body))));
        // What the receiver does: validate and keep encoded (`pipeline::data::raw`).
        g.bench_function("receive protobuf (scan, kept encoded)", |b| {
            b.iter(|| decode_request(signal, Encoding::Protobuf, black_box(&body)))
        });
        g.bench_function("decode protobuf to structs", |b| {
            b.iter(|| decode_request(signal, Encoding::Protobuf, black_box(&body)).map(|b| b.decoded().into_owned()))
        });
        let Ok(batch) = decode_request(signal, Encoding::Protobuf, &body) else { continue };
        let batch = batch.decoded().into_owned();
        let json = to_json(&batch);
        g.bench_function("decode JSON", |b| b.iter(|| decode_request(signal, Encoding::Json, black_box(&json))));
        g.bench_function("batch: merge 10, split at 250", |b| {
            b.iter_batched(
                || (0..10).map(|_| batch.clone()).collect::<Vec<_>>(),
                |parts| {
                    let mut acc = Batch::empty(signal);
                    for p in parts {
                        let _ = acc.append(p);
                    }
                    let mut out = Vec::new();
                    while acc.items() > 0 {
                        out.push(acc.split_front(250));
                    }
                    out
                },
                BatchSize::SmallInput,
            )
        });
        match &batch {
            Batch::Raw(_) => {}
            Batch::Traces(rs) => {
                let opts = xray::TranslateOptions { now_secs: 1_700_000_000, ..Default::default() };
                g.bench_function("translate: X-Ray documents", |b| {
                    b.iter(|| {
                        let mut n = 0u64;
                        let mut id = || {
                            n += 1;
                            n.to_be_bytes()
                        };
                        let mut docs = Vec::with_capacity(ITEMS);
                        for r in rs {
                            for s in r.scope_spans.iter().flat_map(|s| &s.spans) {
                                if let Ok(d) = xray::segments(s, &r.resource, &opts, &mut id) {
                                    docs.extend(d.iter().map(xray::to_document));
                                }
                            }
                        }
                        docs
                    })
                });
            }
            Batch::Metrics(rm) => {
                let opts = prw::TranslateOptions::go_default();
                g.bench_function("translate: remote write", |b| b.iter(|| prw::translate(black_box(rm), &opts)));
            }
            Batch::Logs(rl) => {
                let d = loki::DefaultLabels::default();
                g.bench_function("translate: Loki push", |b| {
                    b.iter(|| loki::translate(black_box(rl), &d, 1_700_000_000_000_000_000, false))
                });
            }
        }
        g.finish();
    }
}

fn codecs(c: &mut Criterion) {
    let (_, _, body) = requests().into_iter().next().unwrap_or((Kind::Traces, Signal::Traces, Vec::new()));
    let mut g = c.benchmark_group("codecs (100 spans)");
    g.throughput(Throughput::Bytes(body.len() as u64));
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(&body);
        e.finish().unwrap_or_default()
    };
    let zs = zstd::bulk::compress(&body, 3).unwrap_or_default();
    let sn = snap::raw::Encoder::new().compress_vec(&body).unwrap_or_default();
    g.bench_function("gzip compress (level 6)", |b| {
        b.iter(|| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = e.write_all(black_box(&body));
            e.finish()
        })
    });
    g.bench_function("gzip decompress", |b| b.iter(|| decompress("gzip", bytes::Bytes::from(gz.clone()), 1 << 26)));
    g.bench_function("zstd compress (level 3)", |b| b.iter(|| zstd::bulk::compress(black_box(&body), 3)));
    g.bench_function("zstd decompress", |b| b.iter(|| decompress("zstd", bytes::Bytes::from(zs.clone()), 1 << 26)));
    g.bench_function("snappy compress", |b| b.iter(|| snap::raw::Encoder::new().compress_vec(black_box(&body))));
    g.bench_function("snappy decompress", |b| b.iter(|| decompress("snappy", bytes::Bytes::from(sn.clone()), 1 << 26)));
    g.finish();
}

fn self_metrics(c: &mut Criterion) {
    let reg = oxidot::telemetry::metrics::Registry::new();
    let counter = reg.counter("otelcol_receiver_accepted_spans", "bench", Default::default());
    let mut g = c.benchmark_group("self-metrics");
    g.bench_function("counter add", |b| b.iter(|| counter.add(black_box(100))));
    g.bench_function("render /metrics", |b| {
        b.iter(|| {
            let mut out = String::new();
            reg.render(&mut out, true);
            out
        })
    });
    g.finish();
}

criterion_group!(benches, decode, codecs, self_metrics);
criterion_main!(benches);
