use super::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
        ..Default::default()
    }
}

fn span(trace: u8, id: u8) -> Span {
    Span { trace_id: vec![trace; 16], span_id: vec![id; 8], name: format!("s{trace}-{id}"), ..Default::default() }
}

fn resource_spans(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() }),
        scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
        ..Default::default()
    }
}

fn decode_traces(m: &Message) -> Vec<ResourceSpans> {
    ExportTraceServiceRequest::decode(&m.value[..]).unwrap().resource_spans
}

#[test]
fn one_message_without_partitioning() {
    let b =
        Batch::Traces(vec![resource_spans("a", vec![span(1, 1), span(2, 2)]), resource_spans("b", vec![span(1, 3)])]);
    let out = build(&b, Encoding::OtlpProto, Partitioning::None, 1_000_000);
    assert_eq!(out.messages.len(), 1);
    assert_eq!(out.dropped, 0);
    assert_eq!(out.messages[0].key, None);
    assert_eq!(out.messages[0].items, 3);
    assert_eq!(
        decode_traces(&out.messages[0]),
        match b {
            Batch::Traces(r) => r,
            _ => unreachable!(),
        }
    );
}

/// pdata_marshaler.go with partition_traces_by_id: one message per trace id, keyed by its hex
/// form; every span of a trace in its message, resources and scopes kept.
#[test]
fn traces_split_by_trace_id() {
    let b = Batch::Traces(vec![
        resource_spans("a", vec![span(1, 1), span(2, 2), span(1, 3)]),
        resource_spans("b", vec![span(2, 4), span(3, 5)]),
    ]);
    let out = build(&b, Encoding::OtlpProto, Partitioning::TraceId, 1_000_000);
    let keys: Vec<String> = out.messages.iter().map(|m| String::from_utf8(m.key.clone().unwrap()).unwrap()).collect();
    assert_eq!(keys, vec!["01".repeat(16), "02".repeat(16), "03".repeat(16)]);
    assert_eq!(out.messages.iter().map(|m| m.items).collect::<Vec<_>>(), vec![2, 2, 1]);
    let t2 = decode_traces(&out.messages[1]);
    assert_eq!(t2.len(), 2, "trace 2 spans two resources");
    assert_eq!(t2[0].resource.as_ref().unwrap().attributes[0], kv("service.name", "a"));
    assert_eq!(t2[1].scope_spans[0].spans[0].name, "s2-4");
    for m in &out.messages {
        let want = m.key.clone().unwrap();
        for r in decode_traces(m) {
            for s in r.scope_spans.iter().flat_map(|s| &s.spans) {
                assert_eq!(hex::encode(&s.trace_id).into_bytes(), want);
            }
        }
    }
}

#[test]
fn logs_split_by_trace_id_and_empty_ids_have_no_key() {
    let lr = |t: u8| LogRecord { trace_id: if t == 0 { vec![] } else { vec![t; 16] }, ..Default::default() };
    let b = Batch::Logs(vec![ResourceLogs {
        scope_logs: vec![ScopeLogs { log_records: vec![lr(1), lr(0), lr(1)], ..Default::default() }],
        ..Default::default()
    }]);
    let out = build(&b, Encoding::OtlpProto, Partitioning::TraceId, 1_000_000);
    assert_eq!(out.messages.len(), 2);
    assert_eq!(out.messages[0].items, 2);
    assert_eq!(out.messages[1].key, None);
}

/// partition_*_by_resource_attributes: one message per resource, the key a hash of the
/// attributes that ignores their order.
#[test]
fn resources_keyed_by_attribute_hash() {
    let mut r1 = resource_spans("a", vec![span(1, 1)]);
    r1.resource.as_mut().unwrap().attributes.push(kv("host", "h"));
    let mut r2 = resource_spans("a", vec![span(2, 2)]);
    r2.resource.as_mut().unwrap().attributes.insert(0, kv("host", "h"));
    let r3 = resource_spans("b", vec![span(3, 3)]);
    let out = build(&Batch::Traces(vec![r1, r2, r3]), Encoding::OtlpProto, Partitioning::Resource, 1_000_000);
    assert_eq!(out.messages.len(), 3);
    assert_eq!(out.messages[0].key, out.messages[1].key, "same attributes, other order");
    assert_ne!(out.messages[0].key, out.messages[2].key);
    assert_eq!(out.messages[0].key.as_ref().unwrap().len(), 16);
}

/// Over max_message_bytes: split by resource; a resource that alone is too large is dropped
/// and counted.
#[test]
fn oversized_batches_split_by_resource_then_drop() {
    let big = |svc: &str, n: u8| resource_spans(svc, (0..n).map(|i| span(i + 1, i)).collect());
    let b = Batch::Traces(vec![big("a", 10), big("b", 10), big("c", 40)]);
    let one = build(&Batch::Traces(vec![big("a", 10)]), Encoding::OtlpProto, Partitioning::None, usize::MAX);
    let limit = one.messages[0].value.len() + 10;
    let out = build(&b, Encoding::OtlpProto, Partitioning::None, limit);
    assert_eq!(out.messages.len(), 2);
    assert!(out.messages.iter().all(|m| m.value.len() <= limit && m.items == 10));
    assert_eq!(out.dropped, 40);
}

#[test]
fn json_encoding_is_otlp_json() {
    let b = Batch::Traces(vec![resource_spans("a", vec![span(1, 1)])]);
    let out = build(&b, Encoding::OtlpJson, Partitioning::None, 1_000_000);
    let v: serde_json::Value = serde_json::from_slice(&out.messages[0].value).unwrap();
    assert_eq!(v["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"], "01".repeat(16));
    let back = Encoding::OtlpJson.decode(crate::component::Signal::Traces, &out.messages[0].value).unwrap();
    assert_eq!(back.items(), 1);
}
