use super::scan::scan;
use super::RawBatch;
use crate::component::Signal;
use crate::pipeline::data::Batch;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

fn span(i: u8) -> Span {
    Span {
        trace_id: vec![i; 16],
        span_id: vec![i; 8],
        name: format!("span {i}"),
        attributes: vec![KeyValue {
            key: "k".into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue("v".into())) }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn traces(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn raw(signal: Signal, bytes: Vec<u8>) -> Batch {
    Batch::Raw(RawBatch::scan(signal, Bytes::from(bytes)).expect("well formed"))
}

#[test]
fn counts_items_of_every_signal() {
    let t = traces(vec![span(1), span(2), span(3)]);
    assert_eq!(scan(Signal::Traces, &t).map(|s| s.items), Some(3));

    let points = |n: usize| (0..n).map(|_| NumberDataPoint::default()).collect::<Vec<_>>();
    let m = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric { data: Some(metric::Data::Gauge(Gauge { data_points: points(2) })), ..Default::default() },
                    Metric {
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                bucket_counts: vec![1, 2],
                                explicit_bounds: vec![0.5],
                                ..Default::default()
                            }],
                            aggregation_temporality: 2,
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    assert_eq!(scan(Signal::Metrics, &m).map(|s| s.items), Some(3));

    let l = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![LogRecord::default(); 4], ..Default::default() }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let s = scan(Signal::Logs, &l).unwrap();
    assert_eq!((s.items, s.ids_valid), (4, true));
}

#[test]
fn refuses_what_prost_refuses() {
    let mut bad_utf8 = traces(vec![span(1)]);
    let at = bad_utf8.windows(6).position(|w| w == b"span 1").unwrap();
    bad_utf8[at] = 0xff;
    assert!(ExportTraceServiceRequest::decode(&bad_utf8[..]).is_err());
    assert_eq!(scan(Signal::Traces, &bad_utf8), None);

    let truncated = &traces(vec![span(1)])[..20];
    assert!(ExportTraceServiceRequest::decode(truncated).is_err());
    assert_eq!(scan(Signal::Traces, truncated), None);

    // Field 1 of the request as a varint: wrong wire type for a message.
    assert!(ExportTraceServiceRequest::decode(&[0x08, 0x01][..]).is_err());
    assert_eq!(scan(Signal::Traces, &[0x08, 0x01]), None);

    // An unknown field (99, varint) is skipped by both.
    let mut unknown = traces(vec![span(1)]);
    unknown.extend_from_slice(&[0x98, 0x06, 0x05]);
    assert!(ExportTraceServiceRequest::decode(&unknown[..]).is_ok());
    assert_eq!(scan(Signal::Traces, &unknown).map(|s| s.items), Some(1));
}

#[test]
fn flags_bad_ids_so_the_receiver_decodes() {
    let mut s = span(1);
    s.trace_id = vec![1; 15];
    let t = traces(vec![span(2), s]);
    assert!(!scan(Signal::Traces, &t).unwrap().ids_valid);
    assert!(RawBatch::scan(Signal::Traces, Bytes::from(t)).is_none());
}

#[test]
fn appending_raw_batches_concatenates_requests() {
    let mut a = raw(Signal::Traces, traces(vec![span(1), span(2)]));
    a.append(raw(Signal::Traces, traces(vec![span(3)]))).unwrap();
    assert!(matches!(a, Batch::Raw(_)));
    assert_eq!(a.items(), 3);
    let Batch::Traces(rs) = a.decoded().into_owned() else { panic!("decoded") };
    let names: Vec<_> = rs.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).map(|s| &s.name).collect();
    assert_eq!(names, ["span 1", "span 2", "span 3"]);
    // The encoded form is the concatenation, byte for byte.
    let mut buf = Vec::new();
    a.encode_request(&mut buf);
    let mut want = traces(vec![span(1), span(2)]);
    want.extend(traces(vec![span(3)]));
    assert_eq!(buf, want);
}

#[test]
fn mixing_raw_and_decoded_or_cutting_decodes() {
    let mut a = raw(Signal::Traces, traces(vec![span(1), span(2), span(3)]));
    a.append(Batch::Traces(vec![ResourceSpans {
        scope_spans: vec![ScopeSpans { spans: vec![span(4)], ..Default::default() }],
        ..Default::default()
    }]))
    .unwrap();
    assert_eq!(a.items(), 4);
    let front = a.split_front(2);
    assert_eq!((front.items(), a.items()), (2, 2));
    assert!(!matches!(front, Batch::Raw(_)));

    // Taking everything keeps the bytes as they are.
    let mut b = raw(Signal::Traces, traces(vec![span(1)]));
    assert!(matches!(b.split_front(5), Batch::Raw(_)));
    assert_eq!(b.items(), 0);

    // Signals never mix.
    let mut c = raw(Signal::Traces, traces(vec![span(1)]));
    assert!(c.append(Batch::Logs(vec![])).is_err());
}
