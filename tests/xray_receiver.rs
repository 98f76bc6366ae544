//! The awsxray receiver end to end: the AWS X-Ray SDK for Python sends real segments over UDP
//! and they arrive as OTLP spans at a sink; a segment goes through the receiver and the awsxray
//! exporter into moto's X-Ray API and comes back equal; the TCP proxy forwards sampling calls
//! signed as botocore signs them (checked by botocore) and to moto; bad datagrams are counted and
//! the process stays up.

mod support;

use opentelemetry_proto::tonic::common::v1::{any_value::Value as V, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use std::net::UdpSocket;
use support::moto::Moto;
use support::sinks::{GrpcSink, HttpSink};
use support::*;

const KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "AKIDXRAYRECV"), ("AWS_SECRET_ACCESS_KEY", "xray-recv-secret")];

/// Ports of the receiver's UDP socket and TCP proxy (on top of [`Ports`]).
struct XrayPorts {
    udp: u16,
    proxy: u16,
}

fn xray_ports() -> XrayPorts {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    XrayPorts { udp, proxy: free_port() }
}

/// awsxray receiver → `exporters` (YAML under `exporters:`) named in `names`.
fn config(p: &XrayPorts, proxy_extra: &str, exporters: &str, names: &str) -> String {
    format!(
        r#"extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
receivers:
  awsxray:
    endpoint: 127.0.0.1:{udp}
    transport: udp
    proxy_server:
      endpoint: 127.0.0.1:{proxy}
{proxy_extra}
exporters:
{exporters}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [awsxray]
      exporters: [{names}]
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#,
        udp = p.udp,
        proxy = p.proxy
    )
}

fn otlp_exporter(sink: &GrpcSink) -> String {
    format!("  otlp:\n    endpoint: 127.0.0.1:{}\n    tls:\n      insecure: true\n", sink.port)
}

fn get<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a V> {
    attrs.iter().find(|a| a.key == k).and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn str_of<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a str> {
    match get(attrs, k) {
        Some(V::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn resource_spans(sink: &GrpcSink) -> Vec<ResourceSpans> {
    sink.got.lock().unwrap().traces.iter().flat_map(|r| r.resource_spans.clone()).collect()
}

fn xray_hex(trace_id: &str) -> String {
    trace_id.split('-').skip(1).collect()
}

const HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

fn send(port: u16, datagram: &[u8]) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(datagram, ("127.0.0.1", port)).unwrap();
}

#[test]
fn python_xray_sdk_segments_arrive_as_otlp_spans() {
    let sink = GrpcSink::start();
    let p = xray_ports();
    let ox = Oxidot::start(&config(&p, "      region: us-east-1\n", &otlp_exporter(&sink), "otlp"));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/xray_sdk_emit.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .arg("py-checkout")
        .env("AWS_XRAY_DAEMON_ADDRESS", format!("127.0.0.1:{}", p.udp))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ids: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    assert!(eventually(20, || sink.spans() == 3), "spans: {}\n{}", sink.spans(), ox.stderr());

    let rss = resource_spans(&sink);
    assert_eq!(rss.len(), 1, "one document, one ResourceSpans");
    let res = &rss[0].resource.as_ref().unwrap().attributes;
    assert_eq!(str_of(res, "service.name"), Some("py-checkout"));
    assert_eq!(str_of(res, "cloud.provider"), Some("aws"));
    assert_eq!(str_of(res, "telemetry.sdk.name"), Some("X-Ray for Python"));
    assert_eq!(str_of(res, "telemetry.sdk.version"), Some("2.15.0"));
    // sdk.go: the segment has no exceptions of its own (only a subsegment has).
    assert_eq!(str_of(res, "telemetry.sdk.language"), Some("Python"));

    let spans: Vec<&Span> = rss[0].scope_spans.iter().flat_map(|s| &s.spans).collect();
    let trace = xray_hex(ids["trace_id"].as_str().unwrap());
    assert!(spans.iter().all(|s| hex::encode(&s.trace_id) == trace), "every span in the X-Ray trace");
    let by_name = |n: &str| *spans.iter().find(|s| s.name == n).unwrap_or_else(|| panic!("no span {n}"));
    let root = by_name("py-checkout");
    assert_eq!(hex::encode(&root.span_id), ids["segment_id"].as_str().unwrap());
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.kind, 2, "server");
    assert!(
        root.start_time_unix_nano > 1_600_000_000_000_000_000 && root.end_time_unix_nano >= root.start_time_unix_nano
    );
    let a = &root.attributes;
    assert_eq!(str_of(a, "http.method"), Some("GET"));
    assert_eq!(str_of(a, "http.url"), Some("http://example.test/orders?id=7"));
    assert_eq!(str_of(a, "http.client_ip"), Some("192.0.2.7"));
    assert_eq!(str_of(a, "http.user_agent"), Some("pytest-agent"));
    assert_eq!(get(a, "http.status_code"), Some(&V::IntValue(200)));
    assert_eq!(str_of(a, "enduser.id"), Some("alice"));
    assert_eq!(str_of(a, "customer"), Some("acme"));
    assert_eq!(get(a, "items"), Some(&V::DoubleValue(3.0)), "Go decodes annotation numbers as float64");
    assert_eq!(get(a, "aws.xray.inprogress"), Some(&V::BoolValue(false)));
    let Some(V::ArrayValue(keys)) = get(a, "aws.xray.annotations") else { panic!("{a:?}") };
    assert_eq!(keys.values.len(), 2);
    assert_eq!(str_of(a, "aws.xray.metadata.shop"), Some(r#"{"order":{"lines":["a","b"],"total":12.5}}"#));
    assert_eq!(root.status.as_ref().map_or(0, |s| s.code), 0, "200: unset");

    let pay = by_name("payments.example.test");
    assert_eq!(hex::encode(&pay.span_id), ids["subsegments"]["payments.example.test"].as_str().unwrap());
    assert_eq!(hex::encode(&pay.parent_span_id), ids["segment_id"].as_str().unwrap());
    assert_eq!(pay.kind, 3, "namespace remote: client");
    assert_eq!(pay.status.as_ref().unwrap().code, 2, "503: error");
    assert_eq!(get(&pay.attributes, "http.status_code"), Some(&V::IntValue(503)));
    assert_eq!(get(&pay.attributes, "http.response_content_length"), Some(&V::IntValue(42)));
    assert_eq!(str_of(&pay.attributes, "http.method"), Some("POST"));

    let val = by_name("validate");
    assert_eq!(val.kind, 1, "namespace local: internal");
    assert_eq!(val.status.as_ref().unwrap().code, 2);
    assert_eq!(val.events.len(), 1);
    let ev = &val.events[0].attributes;
    assert_eq!(str_of(ev, "exception.type"), Some("ValueError"));
    assert_eq!(str_of(ev, "exception.message"), Some("bad order"));
    assert_eq!(get(ev, "aws.xray.exception.remote"), Some(&V::BoolValue(false)));
    assert!(str_of(ev, "exception.stacktrace")
        .unwrap()
        .starts_with("ValueError: bad order\n\tat <module>(xray_sdk_emit.py: "));

    let labels = [("receiver", "awsxray"), ("transport", "udp")];
    assert!(eventually(5, || ox.metric("otelcol_receiver_accepted_spans", &labels) == 3.0), "{:?}", ox.metrics());
    assert_eq!(ox.metric("otelcol_receiver_refused_spans", &labels), 0.0);
}

#[test]
fn malformed_datagrams_are_counted_and_the_receiver_stays_up() {
    let sink = GrpcSink::start();
    let p = xray_ports();
    let mut ox = Oxidot::start(&config(&p, "      region: us-east-1\n", &otlp_exporter(&sink), "otlp"));
    let ok = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xray-segments/serverSample.txt"),
    )
    .unwrap();
    let bad: Vec<Vec<u8>> = vec![
        b"no header at all".to_vec(),                                         // 1: no newline
        b"{\"format\":\"json\",\"version\":2}\n{}".to_vec(),                 // 1: bad version
        HEADER.as_bytes().to_vec(),                                     // 1: no body
        format!("{HEADER}{{not json").into_bytes(),                           // 1: undecodable
        format!("{HEADER}{{\"name\":\"x\",\"id\":\"5cc4a447f5d4d696\",\"trace_id\":\"1-5f187253-6a106696d56b1f4ef9eba2ed\",\"start_time\":1,\"subsegments\":[{{\"id\":\"5cc4a447f5d4d697\"}}]}}").into_bytes(), // 2: Go would crash
        format!("{HEADER}{{\"name\":\"x\",\"id\":\"5cc4a447f5d4d696\",\"trace_id\":\"1-5f187253-6a106696d56b1f4ef9eba2ed\",\"start_time\":1,\"namespace\":\"weird\"}}").into_bytes(), // 1
        vec![0xff; 65_000], // 1: no newline
    ];
    for d in &bad {
        send(p.udp, d);
    }
    send(p.udp, &ok);
    assert!(eventually(20, || sink.spans() == 1), "{}", ox.stderr());
    let labels = [("receiver", "awsxray"), ("transport", "udp")];
    assert!(
        eventually(10, || ox.metric("otelcol_receiver_refused_spans", &labels) == 8.0),
        "{:?}\n{}",
        ox.metrics(),
        ox.stderr()
    );
    assert_eq!(ox.metric("otelcol_receiver_accepted_spans", &labels), 1.0);
    assert!(ox.is_running());
    let log = ox.stderr();
    assert!(log.contains("Failed to split segment header and body"), "{log}");
    assert!(log.contains("X-Ray segment to OT traces conversion failed"), "{log}");
    // Rate-limited: seven bad datagrams, at most one line per kind.
    assert!(log.matches("Failed to split segment header and body").count() == 1, "{log}");
    assert!(ox.stop().success());
}

/// A document with fields X-Ray keeps, its trace id from now (X-Ray refuses old ones).
fn segment_document(trace_id: &str, now: f64) -> String {
    serde_json::json!({
        "trace_id": trace_id,
        "id": "70de5b6f19ff9a0a",
        "name": "orders-api",
        "start_time": now - 0.25,
        "end_time": now,
        "http": {
            "request": {"method": "POST", "url": "https://orders.example.test/v1/orders", "client_ip": "198.51.100.4", "user_agent": "curl/8.5"},
            "response": {"status": 201}
        },
        "annotations": {"tenant": "acme", "priority": 2.5, "vip": true},
        "user": "bob",
        // An AWS origin: without it the exporter leaves out every `aws` block (Go's makeAws).
        "aws": {"xray": {"sdk": "X-Ray for Go", "sdk_version": "1.1.0"}},
        "subsegments": [{
            "id": "70de5b6f19ff9a0b",
            "name": "DynamoDB",
            "namespace": "aws",
            "start_time": now - 0.2,
            "end_time": now - 0.1,
            "http": {"response": {"status": 200, "content_length": 77}},
            "aws": {"operation": "GetItem", "region": "us-east-1", "request_id": "REQ123", "table_name": "orders", "retries": 1}
        }]
    })
    .to_string()
}

#[test]
fn a_segment_through_receiver_and_exporter_comes_back_from_moto_equal() {
    let moto = Moto::start();
    let p = xray_ports();
    let exporter = format!(
        "  awsxray:\n    endpoint: {}\n    region: us-east-1\n    retry_on_failure:\n      initial_interval: 100ms\n",
        moto.url()
    );
    let ox = Oxidot::start_with(&config(&p, "      region: us-east-1\n", &exporter, "awsxray"), &KEYS);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let trace_id = format!("1-{:08x}-{}", now as u64, "a1b2c3d4e5f60718293a4b5c");
    let doc = segment_document(&trace_id, now);
    send(p.udp, format!("{HEADER}{doc}").as_bytes());
    assert!(
        eventually(20, || ox.metric("otelcol_exporter_sent_spans", &[("exporter", "awsxray")]) == 2.0),
        "{}",
        ox.stderr()
    );
    let back = moto.segments("us-east-1", std::slice::from_ref(&trace_id));
    assert_eq!(back.len(), 2, "{back:?}");
    let sent: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let root = back.iter().find(|d| d["id"] == "70de5b6f19ff9a0a").expect("segment");
    let close = |a: &serde_json::Value, b: &serde_json::Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-5;
    assert_eq!(root["trace_id"], trace_id);
    assert_eq!(root["name"], "orders-api");
    assert!(close(&root["start_time"], &sent["start_time"]) && close(&root["end_time"], &sent["end_time"]), "{root}");
    assert_eq!(root["http"]["request"]["method"], "POST");
    assert_eq!(root["http"]["request"]["url"], "https://orders.example.test/v1/orders");
    assert_eq!(root["http"]["request"]["client_ip"], "198.51.100.4");
    assert_eq!(root["http"]["request"]["user_agent"], "curl/8.5");
    assert_eq!(root["http"]["response"]["status"], 201);
    assert_eq!(root["annotations"], sent["annotations"], "{root}");
    assert_eq!(root["user"], "bob");
    assert!(root.get("parent_id").is_none(), "{root}");
    let sub = back.iter().find(|d| d["id"] == "70de5b6f19ff9a0b").expect("subsegment");
    assert_eq!(sub["trace_id"], trace_id);
    assert_eq!(sub["parent_id"], "70de5b6f19ff9a0a");
    assert_eq!(sub["type"], "subsegment");
    assert_eq!(sub["name"], "DynamoDB");
    assert_eq!(sub["namespace"], "aws");
    assert!(close(&sub["start_time"], &sent["subsegments"][0]["start_time"]), "{sub}");
    for k in ["operation", "region", "request_id", "table_name"] {
        assert_eq!(sub["aws"][k], sent["subsegments"][0]["aws"][k], "aws.{k}: {sub}");
    }
    assert_eq!(sub["http"]["response"]["status"], 200);
    // `content_length` is not kept: Go's exporter writes it from message sizes only, as oxidot's.
}

/// The botocore Authorization header for the request the sink recorded.
fn botocore_authorization(r: &support::sinks::HttpRecorded, url: &str, path: &str) -> String {
    use base64::Engine as _;
    let auth = r.header("authorization").unwrap();
    let signed = auth.split("SignedHeaders=").nth(1).unwrap().split(',').next().unwrap();
    let headers: serde_json::Map<String, serde_json::Value> = signed
        .split(';')
        .filter(|h| !["host", "x-amz-date", "x-amz-security-token"].contains(h))
        .map(|h| (h.to_string(), serde_json::json!(r.header(h).unwrap())))
        .collect();
    let input = serde_json::json!({"method": "POST", "url": format!("{url}{path}"), "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&r.raw), "access_key": KEYS[0].1,
        "secret_key": KEYS[1].1, "token": null, "region": "us-west-2", "service": "xray", "amz_date": r.header("x-amz-date").unwrap()});
    let mut child = std::process::Command::new(python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigv4_check.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
}

#[test]
fn the_proxy_signs_sampling_calls_as_botocore_does_and_moto_answers_them() {
    // 1. Against a recording server: the forwarded request carries a valid SigV4 signature.
    let sink = HttpSink::start();
    let url = format!("http://127.0.0.1:{}", sink.port);
    let p = xray_ports();
    let extra = format!("      region: us-west-2\n      aws_endpoint: {url}\n");
    let ox = Oxidot::start_with(&config(&p, &extra, "  debug:\n", "debug"), &KEYS);
    let body = br#"{"NextToken":null}"#;
    let proxy = format!("127.0.0.1:{}", p.proxy);
    let (status, _, _) =
        http_request(&proxy, "POST", "/GetSamplingRules", &[("Content-Type", "application/json")], body).unwrap();
    assert_eq!(status, 200, "{}", ox.stderr());
    let r = sink.requests().pop().expect("forwarded");
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/GetSamplingRules"));
    assert_eq!(r.raw, body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("connection"), None, "hop-by-hop headers stay behind");
    let auth = r.header("authorization").unwrap().to_string();
    assert!(auth.contains("/us-west-2/xray/aws4_request"), "{auth}");
    assert_eq!(auth, botocore_authorization(&r, &url, "/GetSamplingRules"));
    assert!(!ox.stderr().contains(KEYS[1].1));
    drop(ox);

    // 2. Against moto's X-Ray API (which has no sampling APIs): X-Ray's answer comes back as it
    // is, and a PutTraceSegments sent through the proxy is stored.
    let moto = Moto::start();
    let p = xray_ports();
    let extra = format!("      region: us-west-2\n      aws_endpoint: {}\n", moto.url());
    let ox = Oxidot::start_with(&config(&p, &extra, "  debug:\n", "debug"), &KEYS);
    let proxy = format!("127.0.0.1:{}", p.proxy);
    let (status, _, answer) =
        http_request(&proxy, "POST", "/GetSamplingRules", &[("Content-Type", "application/json")], b"{}").unwrap();
    assert_eq!(status, 404, "moto's own answer: {}\n{}", String::from_utf8_lossy(&answer), ox.stderr());
    assert!(String::from_utf8_lossy(&answer).contains("Not Found"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let trace_id = format!("1-{:08x}-{}", now as u64, "0123456789abcdef01234567");
    let doc = serde_json::json!({"trace_id": trace_id, "id": "1111222233334444", "name": "via-proxy", "start_time": now - 1.0, "end_time": now});
    let put = serde_json::json!({"TraceSegmentDocuments": [doc.to_string()]}).to_string();
    let (status, _, answer) =
        http_request(&proxy, "POST", "/TraceSegments", &[("Content-Type", "application/json")], put.as_bytes())
            .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let back = moto.segments("us-west-2", &[trace_id]);
    assert_eq!(back.len(), 1, "{back:?}");
    for k in ["trace_id", "id", "name"] {
        assert_eq!(back[0][k], doc[k], "{k}");
    }
    // moto re-prints the floats: equal to the microsecond.
    assert!((back[0]["end_time"].as_f64().unwrap() - now).abs() < 1e-5, "{back:?}");
    // A body over 4 MiB is refused before anything is forwarded.
    let big = vec![b' '; 4 * 1024 * 1024 + 1];
    let (status, _, _) = http_request(&proxy, "POST", "/GetSamplingRules", &[], &big).unwrap();
    assert_eq!(status, 413);
}

#[test]
fn without_a_region_segments_flow_and_the_proxy_answers_502() {
    let sink = GrpcSink::start();
    let p = xray_ports();
    let ox = Oxidot::start(&config(&p, "", &otlp_exporter(&sink), "otlp"));
    let (status, _, _) =
        http_request(&format!("127.0.0.1:{}", p.proxy), "POST", "/GetSamplingRules", &[], b"{}").unwrap();
    assert_eq!(status, 502);
    assert!(ox.stderr().contains("no region"), "{}", ox.stderr());
    let ok = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xray-segments/serverSample.txt"),
    )
    .unwrap();
    send(p.udp, &ok);
    assert!(eventually(20, || sink.spans() == 1), "{}", ox.stderr());
}

#[test]
fn the_python_sdks_sampling_call_goes_through_the_proxy_signed() {
    let sink = HttpSink::start();
    // X-Ray's answer (the shape of the GetSamplingRules API reference example).
    let rules = serde_json::json!({"SamplingRuleRecords": [{"SamplingRule": {
        "RuleName": "orders", "RuleARN": "arn:aws:xray:us-west-2:123456789012:sampling-rule/orders",
        "ResourceARN": "*", "Priority": 10, "FixedRate": 0.25, "ReservoirSize": 5, "ServiceName": "*",
        "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "/orders/*", "Version": 1, "Attributes": {}},
        "CreatedAt": 1.7e9, "ModifiedAt": 1.7e9}]});
    sink.script.lock().unwrap().push_back(support::sinks::Answer {
        status: 200,
        headers: vec![("content-type", "application/json".into())],
        body: rules.to_string().into_bytes(),
    });
    let url = format!("http://127.0.0.1:{}", sink.port);
    let p = xray_ports();
    let extra = format!("      region: us-west-2\n      aws_endpoint: {url}\n");
    let ox = Oxidot::start_with(&config(&p, &extra, "  debug:\n", "debug"), &KEYS);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/xray_sdk_sampling.py");
    let out = std::process::Command::new(python()).arg(script).arg(format!("127.0.0.1:{}", p.proxy)).output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), ox.stderr());
    let got: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    assert_eq!(got, serde_json::json!([{"name": "orders", "priority": 10, "rate": 0.25}]));
    let r = sink.requests().pop().expect("forwarded");
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/GetSamplingRules"));
    assert!(r.header("authorization").unwrap().contains("/us-west-2/xray/aws4_request"));
    assert_eq!(r.header("authorization").unwrap(), botocore_authorization(&r, &url, "/GetSamplingRules"));
}
