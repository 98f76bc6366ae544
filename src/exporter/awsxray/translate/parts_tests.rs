//! Golden tests of the cause, http, aws and sql blocks, ported from the Go exporter's
//! cause_test.go, http_test.go, aws_test.go and sql_test.go: one case per Go test in
//! `tests/fixtures/golden/awsxray/<part>/<GoTestName>.in.json` (the span, resource and options as
//! the Go test builds them) → `.out.json` (the block, and the span attributes the part leaves for
//! metadata). A case's `why` says where oxidot deliberately differs. `UPDATE_GOLDEN=1` rewrites.

use super::{aws, cause, http, sql};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::{span::Event, span::SpanKind, status::StatusCode, Span, Status};
use serde_json::{json, Value};

fn any(v: &Value) -> AnyValue {
    let value = match v {
        Value::String(s) => any_value::Value::StringValue(s.clone()),
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Number(n) if n.is_i64() => any_value::Value::IntValue(n.as_i64().unwrap()),
        Value::Number(n) => any_value::Value::DoubleValue(n.as_f64().unwrap()),
        Value::Array(a) => any_value::Value::ArrayValue(ArrayValue { values: a.iter().map(any).collect() }),
        Value::Object(o) => any_value::Value::KvlistValue(KeyValueList { values: attrs(&Value::Object(o.clone())) }),
        Value::Null => return AnyValue { value: None },
    };
    AnyValue { value: Some(value) }
}

/// `{"key": value, …}` as OTLP attributes (JSON strings, integers, floats, bools, lists, maps).
fn attrs(v: &Value) -> Vec<KeyValue> {
    v.as_object()
        .map(|o| {
            o.iter().map(|(k, v)| KeyValue { key: k.clone(), value: Some(any(v)), ..Default::default() }).collect()
        })
        .unwrap_or_default()
}

fn span(v: &Value) -> Span {
    let kind = match v["kind"].as_str().unwrap_or("internal") {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        _ => SpanKind::Internal,
    };
    let code = match v["status"]["code"].as_str().unwrap_or("unset") {
        "error" => StatusCode::Error,
        "ok" => StatusCode::Ok,
        _ => StatusCode::Unset,
    };
    let events = v["events"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| Event {
                    name: e["name"].as_str().unwrap_or("").into(),
                    time_unix_nano: e["time_unix_nano"].as_u64().unwrap_or(0),
                    attributes: attrs(&e["attributes"]),
                    ..Default::default()
                })
                .collect()
        })
        .unwrap_or_default();
    Span {
        trace_id: hex::decode("5759e988bd862e3fe1be46a994272793").unwrap(),
        span_id: hex::decode(v["span_id"].as_str().unwrap_or("00f067aa0ba902b7")).unwrap(),
        name: v["name"].as_str().unwrap_or("").into(),
        kind: kind as i32,
        attributes: attrs(&v["attributes"]),
        events,
        status: Some(Status { code: code as i32, message: v["status"]["message"].as_str().unwrap_or("").into() }),
        ..Default::default()
    }
}

/// The span attributes a part leaves for annotations and metadata.
fn left(span: &Span, consumed: impl Fn(&str) -> bool) -> Value {
    json!(span.attributes.iter().map(|a| a.key.as_str()).filter(|k| !consumed(k)).collect::<Vec<_>>())
}

fn run(part: &str, input: &Value) -> Value {
    let sp = span(&input["span"]);
    let res = attrs(&input["resource"]);
    match part {
        "cause" => {
            let c = cause::cause(&sp, &res);
            json!({
                "error": c.error,
                "fault": c.fault,
                "throttle": c.throttle,
                "cause": c.cause,
                "left_for_metadata": left(&sp, |k| cause::consumes(&sp, k)),
            })
        }
        "http" => json!({
            "http": http::block(&sp),
            "left_for_metadata": left(&sp, |k| http::CONSUMED.contains(&k)),
        }),
        "aws" => {
            let groups: Vec<String> = input["log_groups"]
                .as_array()
                .map(|a| a.iter().filter_map(|g| g.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let block = aws::block(&sp, &res, &groups);
            json!({
                "aws": (!block.is_empty()).then_some(Value::Object(block)),
                "origin": aws::origin(&res),
                "left_for_metadata": left(&sp, |k| aws::CONSUMED.contains(&k)),
            })
        }
        "sql" => json!({
            "sql": sql::sql(&sp),
            "left_for_metadata": left(&sp, |k| sql::consumes(&sp, k)),
        }),
        _ => unreachable!(),
    }
}

#[test]
fn golden_parts() {
    let root = crate::golden::dir("awsxray");
    let mut g = crate::golden::Golden::new();
    for part in ["cause", "http", "aws", "sql"] {
        let dir = root.join(part);
        let n = g.dir(&dir, |case| run(part, &case.input));
        assert!(n > 0, "no cases in {}", dir.display());
    }
    g.finish();
}

#[test]
fn an_attribute_without_a_value_is_pdatas_empty_value() {
    // http.go makeHTTP: an empty `http.method` still marks the span as HTTP (Str() is ""), as an
    // attribute whose value is missing from the request is an empty pdata value.
    let mut sp = span(&json!({"kind": "client", "attributes": {}}));
    sp.attributes.push(KeyValue { key: "http.method".into(), value: None, ..Default::default() });
    assert_eq!(http::block(&sp), Some(json!({"request": {}, "response": {"content_length": 0}})));
}
