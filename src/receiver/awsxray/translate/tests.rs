//! Go's translator test table (receiver/awsxrayreceiver/internal/translator/translator_test.go)
//! over its fixtures (tests/fixtures/xray-segments), plus the documents Go crashes on.

use super::*;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as V, KeyValue};

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xray-segments").join(name);
    std::fs::read(p).unwrap()
}

fn translate(name: &str) -> (ResourceSpans, usize) {
    to_resource_spans(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn get<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a V> {
    attrs.iter().find(|a| a.key == k).and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn s(v: &str) -> Option<V> {
    Some(V::StringValue(v.into()))
}

/// Exactly these attributes, in any order.
fn assert_attrs(attrs: &[KeyValue], want: &[(&str, V)]) {
    let mut got: Vec<(String, Option<V>)> =
        attrs.iter().map(|a| (a.key.clone(), a.value.clone().and_then(|v| v.value))).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut exp: Vec<(String, Option<V>)> = want.iter().map(|(k, v)| (k.to_string(), Some(v.clone()))).collect();
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, exp);
}

fn spans(rs: &ResourceSpans) -> &[Span] {
    &rs.scope_spans[0].spans
}

fn res(rs: &ResourceSpans) -> &[KeyValue] {
    &rs.resource.as_ref().unwrap().attributes
}

fn code(span: &Span) -> StatusCode {
    StatusCode::try_from(status_code(span)).unwrap()
}

fn kind(span: &Span) -> SpanKind {
    SpanKind::try_from(span.kind).unwrap()
}

#[test]
fn instrumented_server_segment() {
    let text = fixture("serverSample.txt");
    let body = crate::receiver::awsxray::udp::split_header_body(&text).unwrap();
    let (rs, n) = to_resource_spans(body).unwrap();
    assert_eq!(n, 1);
    assert_attrs(
        res(&rs),
        &[
            ("service.name", V::StringValue("SampleServer".into())),
            ("cloud.provider", V::StringValue("aws".into())),
            ("telemetry.sdk.version", V::StringValue("1.1.0".into())),
            ("telemetry.sdk.name", V::StringValue("X-Ray for Go".into())),
            ("telemetry.sdk.language", V::StringValue("Go".into())),
        ],
    );
    let sp = &spans(&rs)[0];
    assert_eq!(sp.name, "SampleServer");
    assert_eq!(hex::encode(&sp.trace_id), "5f2aebccb475d14618c51eaa28753d37");
    assert_eq!(hex::encode(&sp.span_id), "bda182a644eee9b3");
    assert!(sp.parent_span_id.is_empty());
    assert_eq!(sp.start_time_unix_nano, (1596648396.6399446f64 * 1e9) as u64);
    assert_eq!(sp.end_time_unix_nano, (1596648396.6401389f64 * 1e9) as u64);
    assert_eq!(kind(sp), SpanKind::Server);
    assert_eq!(code(sp), StatusCode::Unset);
    assert_attrs(
        &sp.attributes,
        &[
            ("http.method", V::StringValue("GET".into())),
            ("http.client_ip", V::StringValue("127.0.0.1".into())),
            ("http.user_agent", V::StringValue("Go-http-client/1.1".into())),
            ("aws.xray.x_forwarded_for", V::BoolValue(true)),
            ("http.status_code", V::IntValue(200)),
            ("http.url", V::StringValue("http://localhost:8000/".into())),
        ],
    );
}

#[test]
fn instrumented_client_segment_with_nested_subsegments() {
    let (rs, n) = translate("ddbSample.json");
    assert_eq!(n, 18);
    let all = spans(&rs);
    assert_eq!(all.len(), 18);
    // Exceptions make the language java (the X-Ray exporter parses only Java stack traces).
    assert_eq!(get(res(&rs), "telemetry.sdk.language"), s("java").as_ref());
    assert_eq!(get(res(&rs), "service.name"), s("DDB").as_ref());
    let by_id = |id: &str| all.iter().find(|s| hex::encode(&s.span_id) == id).unwrap();
    let root = by_id("88ad1df59cd7a7be");
    assert_eq!((kind(root), code(root)), (SpanKind::Server, StatusCode::Error));
    assert_attrs(&root.attributes, &[("enduser.id", V::StringValue("xraysegmentdump".into()))]);
    assert_eq!(root.events.len(), 1);
    let ev = &root.events[0];
    assert_eq!(ev.name, "exception");
    assert_eq!(get(&ev.attributes, "aws.xray.exception.id"), s("3e9e11e3ab3fba60").as_ref());
    assert_eq!(get(&ev.attributes, "aws.xray.exception.remote"), Some(&V::BoolValue(true)));
    assert_eq!(
        get(&ev.attributes, "exception.stacktrace"),
        s("dynamodb.ResourceNotFoundException: ResourceNotFoundException: Requested resource not found\n\tat main(runtime/proc.go: 203)\n\tat goexit(runtime/asm_amd64.s: 1373)\n").as_ref()
    );

    let c7df6 = by_id("7df694142c905d8d");
    assert_eq!(hex::encode(&c7df6.parent_span_id), "88ad1df59cd7a7be");
    assert_eq!(
        hex::encode(&c7df6.trace_id),
        "5f29ab21d4ebf299219a65bd5c31d6da",
        "embedded subsegments take the root's trace id"
    );
    assert_eq!((kind(c7df6), code(c7df6)), (SpanKind::Internal, StatusCode::Error));
    let key = "DDB.DescribeExistingTableAndPutToMissingTable.Annotation";
    assert_attrs(
        &c7df6.attributes,
        &[
            (
                "aws.xray.annotations",
                V::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![opentelemetry_proto::tonic::common::v1::AnyValue { value: s(key) }],
                }),
            ),
            (key, V::StringValue("anno".into())),
            (
                "aws.xray.metadata.default",
                V::StringValue(r#"{"DDB.DescribeExistingTableAndPutToMissingTable.AddMetadata":"meta"}"#.into()),
            ),
        ],
    );

    let c7318 = by_id("7318c46a385557f5");
    assert_eq!(hex::encode(&c7318.parent_span_id), "7df694142c905d8d");
    assert_eq!((kind(c7318), code(c7318)), (SpanKind::Client, StatusCode::Unset));
    assert_attrs(
        &c7318.attributes,
        &[
            ("aws.service", V::StringValue("dynamodb".into())),
            ("http.response_content_length", V::IntValue(713)),
            ("http.status_code", V::IntValue(200)),
            ("aws.operation", V::StringValue("DescribeTable".into())),
            ("aws.region", V::StringValue("us-west-2".into())),
            ("aws.request_id", V::StringValue("29P5V7QSAKHS4LNL56ECAJFF3BVV4KQNSO5AEMVJF66Q9ASUAAJG".into())),
            ("aws.table_name", V::StringValue("xray_sample_table".into())),
            ("aws.xray.retries", V::IntValue(0)),
        ],
    );
    let dns = by_id("0cab02b318413eb1");
    assert_eq!(hex::encode(&dns.parent_span_id), "417b81b977b9563b");
    // json.Marshal: keys sorted, numbers as float64.
    assert_attrs(
        &dns.attributes,
        &[(
            "aws.xray.metadata.http",
            V::StringValue(r#"{"dns":{"addresses":[{"IP":"52.94.10.94","Zone":""}],"coalesced":false}}"#.into()),
        )],
    );
    let tls = by_id("e2deb66ecaa769a5");
    assert_eq!(
        get(&tls.attributes, "aws.xray.metadata.http"),
        s(r#"{"tls":{"cipher_suite":49199,"did_resume":false,"negotiated_protocol":"http/1.1","negotiated_protocol_is_mutual":true}}"#).as_ref()
    );
    let marshal = by_id("0239834271dbee25");
    assert_eq!((kind(marshal), code(marshal)), (SpanKind::Internal, StatusCode::Unset));
    assert!(marshal.attributes.is_empty());
    let c7163 = by_id("71631df3f58bdfc5");
    assert_eq!((kind(c7163), code(c7163)), (SpanKind::Client, StatusCode::Error));
    assert_eq!(get(&c7163.attributes, "http.status_code"), Some(&V::IntValue(400)));
    assert_eq!(get(&c7163.attributes, "aws.table_name"), s("does_not_exist").as_ref());
    assert_eq!(c7163.events.len(), 1);
    // Depth-first order, as Go appends them.
    let order: Vec<String> = all.iter().take(4).map(|s| hex::encode(&s.span_id)).collect();
    assert_eq!(order, ["88ad1df59cd7a7be", "7df694142c905d8d", "7318c46a385557f5", "0239834271dbee25"]);
}

#[test]
fn aws_fields_become_resource_attributes() {
    let (rs, _) = translate("awsValidAwsFields.json");
    assert_attrs(
        res(&rs),
        &[
            ("service.name", V::StringValue("SampleServer".into())),
            ("cloud.provider", V::StringValue("aws".into())),
            ("cloud.account.id", V::StringValue("000000000000".into())),
            ("cloud.availability_zone", V::StringValue("us-west-2c".into())),
            ("host.id", V::StringValue("i-075ad396f12bc325a".into())),
            ("host.type", V::StringValue("m5.xlarge".into())),
            ("host.image.id", V::StringValue("ami-003634241a8fcdec0".into())),
            ("container.name", V::StringValue("containerId1234".into())),
            ("container.id", V::StringValue("d8453812a556".into())),
            ("service.namespace", V::StringValue("scorekeep".into())),
            ("service.instance.id", V::StringValue("32".into())),
            ("service.version", V::StringValue("app-5a56-170119_190650-stage-170119_190650".into())),
            ("telemetry.sdk.version", V::StringValue("1.1.0".into())),
            ("telemetry.sdk.name", V::StringValue("X-Ray for Go".into())),
            ("telemetry.sdk.language", V::StringValue("Go".into())),
        ],
    );
    assert_eq!(get(&spans(&rs)[0].attributes, "aws.account_id"), s("000000000000").as_ref());
}

#[test]
fn cause_as_exception_id_is_the_status_message() {
    let (rs, _) = translate("minCauseIsExceptionId.json");
    let sp = &spans(&rs)[0];
    assert_eq!(code(sp), StatusCode::Error);
    assert_eq!(sp.status.as_ref().unwrap().message, "abcdefghijklmnop");
    assert!(sp.events.is_empty());
    assert_eq!(kind(sp), SpanKind::Server);
    assert_eq!(get(res(&rs), "cloud.provider"), s("unknown").as_ref(), "no aws block");
}

#[test]
fn independent_subsegments_keep_their_parent_and_namespace_kind() {
    let (rs, n) = translate("indepSubsegment.json");
    assert_eq!(n, 1);
    let sp = &spans(&rs)[0];
    assert_eq!(kind(sp), SpanKind::Client);
    assert_eq!(hex::encode(&sp.parent_span_id), "defdfd9912dc5a56");
    assert_attrs(
        &sp.attributes,
        &[
            ("http.method", V::StringValue("POST".into())),
            ("http.url", V::StringValue("https://api.example.com/health".into())),
            ("http.status_code", V::IntValue(200)),
            ("http.response_content_length", V::IntValue(861)),
            ("aws.xray.traced", V::BoolValue(true)),
        ],
    );
    assert_attrs(
        res(&rs),
        &[
            ("service.name", V::StringValue("api.example.com".into())),
            ("cloud.provider", V::StringValue("unknown".into())),
        ],
    );
    let (rs, _) = translate("indepSubsegmentWithContentLengthString.json");
    assert_eq!(get(&spans(&rs)[0].attributes, "http.response_content_length"), s("861").as_ref());
    assert_eq!(spans(&rs)[0].start_time_unix_nano, (14782323361.271f64 * 1e9) as u64);
    // No namespace, `type: subsegment` with a parent: internal.
    let (rs, _) = translate("minOtherFields.json");
    let sp = &spans(&rs)[0];
    assert_eq!(kind(sp), SpanKind::Internal);
    assert_eq!(hex::encode(&sp.parent_span_id), "defdfd9912dc5a56");
    assert_eq!(get(res(&rs), "aws.xray.resource_arn"), s("chicken").as_ref());
}

#[test]
fn the_local_namespace_is_an_internal_span() {
    let (rs, _) = translate("indepSubsegmentWithLocalNamespace.json");
    let sp = &spans(&rs)[0];
    assert_eq!(kind(sp), SpanKind::Internal);
    assert_attrs(&sp.attributes, &[("aws.xray.traced", V::BoolValue(true))]);
}

#[test]
fn a_segment_with_a_parent_id_is_still_a_server_span() {
    // A segment (no `type: subsegment`) continuing a trace from upstream.
    let (rs, _) = translate("segmentWithParentId.json");
    let sp = &spans(&rs)[0];
    assert_eq!(kind(sp), SpanKind::Server);
    assert_eq!(hex::encode(&sp.parent_span_id), "bda182a644eee9b3");
    assert_eq!(sp.end_time_unix_nano, 0);
}

#[test]
fn sql_url_is_split_into_connection_string_and_name() {
    let (rs, _) = translate("indepSubsegmentWithSql.json");
    let sp = &spans(&rs)[0];
    assert_attrs(
        &sp.attributes,
        &[
            (
                "db.connection_string",
                V::StringValue("jdbc:postgresql://aawijb5u25wdoy.cpamxznpdoq8.us-west-2.rds.amazonaws.com:5432".into()),
            ),
            ("db.name", V::StringValue("ebdb".into())),
            ("db.system", V::StringValue("PostgreSQL".into())),
            ("db.statement", V::StringValue("SELECT  *  FROM  customers  WHERE  customer_id=?;".into())),
            ("db.user", V::StringValue("dbuser".into())),
        ],
    );
    assert_eq!(kind(sp), SpanKind::Client);
}

#[test]
fn in_progress_is_an_attribute_and_there_is_no_end() {
    let (rs, _) = translate("minInProgress.json");
    let sp = &spans(&rs)[0];
    assert_attrs(&sp.attributes, &[("aws.xray.inprogress", V::BoolValue(true))]);
    assert_eq!(sp.end_time_unix_nano, 0);
}

#[test]
fn documents_go_refuses_are_refused_with_their_span_count() {
    let err = |name: &str| to_resource_spans(&fixture(name)).unwrap_err();
    let e = err("minCauseIsInvalid.json");
    assert_eq!(e.spans, 1, "undecodable: 1");
    assert!(e.message.contains("does not appear to be a string"), "{e}");
    let e = err("indepSubsegmentWithInvalidSqlUrl.json");
    assert_eq!(
        e.message,
        "failed to parse out the database name in the \"sql.url\" field, rawUrl: //aawijb5u25wdoy.cpamxznpdoq8.us-west-2.rds.amazonaws.com:5432/ebdb"
    );
    let e = to_resource_spans(br#"{"name":"a","trace_id":"1-5f187253-6a106696d56b1f4ef9eba2ed","id":"5cc4a447f5d4d696","start_time":1,"namespace":"other"}"#).unwrap_err();
    assert_eq!(e.message, "unexpected namespace: other");
    let e = err("segmentValidationFailed.json");
    assert_eq!((e.spans, e.message.as_str()), (1, "segment \"start_time\" can not be nil"));
    assert_eq!(to_resource_spans(b"{not json").unwrap_err().spans, 1);
    assert!(to_resource_spans(br#"{"name":5}"#).is_err(), "a field of the wrong type fails the document");
}

const HEAD: &str = r#""trace_id":"1-5f187253-6a106696d56b1f4ef9eba2ed","id":"5cc4a447f5d4d696","start_time":1.5"#;

#[test]
fn documents_go_crashes_on_are_refused() {
    let cases = [
        // An embedded subsegment without a name, start time; an exception without an id.
        (format!(r#"{{"name":"a",{HEAD},"subsegments":[{{"id":"5cc4a447f5d4d697","start_time":1}}]}}"#), 2, "name"),
        (format!(r#"{{"name":"a",{HEAD},"subsegments":[{{"id":"5cc4a447f5d4d697","name":"b"}}]}}"#), 2, "start_time"),
        (format!(r#"{{"name":"a",{HEAD},"cause":{{"exceptions":[{{"message":"m"}}]}}}}"#), 1, "id"),
        // A trace id longer than 35 bytes (Go's hex decoder overruns).
        (
            r#"{"name":"a","trace_id":"1-5f187253-6a106696d56b1f4ef9eba2edff","id":"5cc4a447f5d4d696","start_time":1}"#
                .into(),
            1,
            "longer",
        ),
    ];
    for (doc, n, what) in cases {
        let e = to_resource_spans(doc.as_bytes()).unwrap_err();
        assert_eq!(e.spans, n, "{doc}");
        assert!(e.message.contains(what), "{doc}: {e}");
    }
}

#[test]
fn ids_are_decoded_as_go_decodes_them() {
    assert_eq!(
        hex::encode(decode_trace_id("1-5f84c7a1-e7d1852db8c4fd35d88bf49a").unwrap()),
        "5f84c7a1e7d1852db8c4fd35d88bf49a"
    );
    assert!(decode_trace_id("1-5f84c7a1-e7d1852db8c4fd35d88bf49").is_err());
    assert!(decode_trace_id("1-5f84c7a1-e7d1852db8c4fd35d88bf4zz").is_err());
    // Multi-byte characters at the cut points do not panic.
    assert!(decode_trace_id("1-é5f84c7-e7d1852db8c4fd35d88bf49a").is_err());
    assert!(decode_span_id(Some("5cc4a447f5d4d69")).is_err());
    assert!(decode_span_id(None).is_err());
    assert_eq!(decode_span_id(Some("5cc4a447f5d4d696")).unwrap(), [0x5c, 0xc4, 0xa4, 0x47, 0xf5, 0xd4, 0xd6, 0x96]);
}

#[test]
fn annotations_are_typed_and_listed_and_invalid_utf8_is_replaced() {
    let mut doc = format!(r#"{{"name":"a\u00e9",{HEAD},"annotations":{{"n":5,"b":true,"s":"x","o":{{"k":1}}}},"metadata":{{"m":{{"z":1e21,"a":"<&>","big":12345678901234567890}},"nil":null}},"user":"#)
        .into_bytes();
    doc.extend_from_slice(b"\"bad\xffbyte\"}");
    let (rs, _) = to_resource_spans(&doc).unwrap();
    let sp = &spans(&rs)[0];
    assert_eq!(get(&sp.attributes, "n"), Some(&V::DoubleValue(5.0)), "every JSON number is a float64 in Go");
    assert_eq!(get(&sp.attributes, "b"), Some(&V::BoolValue(true)));
    assert_eq!(get(&sp.attributes, "s"), s("x").as_ref());
    assert_eq!(get(&sp.attributes, "o"), None, "objects are listed, not set");
    let Some(V::ArrayValue(keys)) = get(&sp.attributes, "aws.xray.annotations") else { panic!() };
    let keys: Vec<_> = keys
        .values
        .iter()
        .filter_map(|v| match &v.value {
            Some(V::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ["b", "n", "o", "s"]);
    assert_eq!(
        get(&sp.attributes, "aws.xray.metadata.m"),
        s(r#"{"a":"\u003c\u0026\u003e","big":12345678901234567000,"z":1e+21}"#).as_ref()
    );
    assert_eq!(get(&sp.attributes, "aws.xray.metadata.nil"), s("null").as_ref());
    assert_eq!(get(&sp.attributes, "enduser.id"), s("bad\u{fffd}byte").as_ref());
    assert_eq!(sp.name, "aé");
}

#[test]
fn cloudwatch_log_groups_collect_into_lists() {
    let doc = format!(
        r#"{{"name":"a",{HEAD},"aws":{{"cloudwatch_logs":[{{"log_group":"g1","arn":"arn1"}},{{"log_group":"g2"}}],"eks":{{"cluster_name":"c","pod":"p","container_id":"ci"}}}}}}"#
    );
    let (rs, _) = to_resource_spans(doc.as_bytes()).unwrap();
    let list = |k: &str| match get(res(&rs), k) {
        Some(V::ArrayValue(a)) => a.values.iter().map(|v| format!("{:?}", v.value)).collect::<Vec<_>>().len(),
        _ => 0,
    };
    assert_eq!((list("aws.log.group.names"), list("aws.log.group.arns")), (2, 1));
    assert_eq!(get(res(&rs), "k8s.cluster.name"), s("c").as_ref());
    assert_eq!(get(res(&rs), "k8s.pod.name"), s("p").as_ref());
    assert_eq!(get(res(&rs), "container.id"), s("ci").as_ref());
}
