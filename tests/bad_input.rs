//! Bad input gets the right status and the process stays up; as in the collector, requests refused
//! before the pipeline are logged but in no receiver metric.
#![allow(clippy::type_complexity)]

mod support;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::io::Write;
use support::sinks::GrpcSink;
use support::*;

const CONFIG: &str = r#"
extensions:
  health_check:
    endpoint: 127.0.0.1:$HEALTH
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC
        max_recv_msg_size_mib: 1
      http:
        endpoint: 127.0.0.1:$HTTP
        max_request_body_size: 1048576
exporters:
  otlp:
    endpoint: 127.0.0.1:$SINK
    tls: {insecure: true}
service:
  extensions: [health_check]
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp]}
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#;

fn valid() -> Vec<u8> {
    one_span_request("ok")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn http_bad_inputs_get_the_right_status_and_are_counted() {
    let sink = GrpcSink::start();
    let ox = Oxidot::start(&CONFIG.replace("$SINK", &sink.port.to_string()));
    let hp = format!("127.0.0.1:{}", ox.ports.http);
    let pb = [("Content-Type", "application/x-protobuf")];
    let js = [("Content-Type", "application/json")];
    let v = valid();
    let bomb = gzip(&vec![b'a'; 64 * 1024 * 1024]);
    assert!(bomb.len() < 200 * 1024);
    let cases: Vec<(&str, &str, Vec<(&str, &str)>, Vec<u8>, u16, bool)> = vec![
        ("garbage protobuf", "/v1/traces", pb.to_vec(), b"\xff\xff\xff\xff\xff".to_vec(), 400, true),
        ("truncated protobuf", "/v1/traces", pb.to_vec(), v[..v.len() - 3].to_vec(), 400, true),
        ("invalid JSON", "/v1/traces", js.to_vec(), b"{\"resourceSpans\": [".to_vec(), 400, true),
        ("wrong content type", "/v1/traces", vec![("Content-Type", "text/plain")], v.clone(), 415, true),
        ("oversized body", "/v1/traces", pb.to_vec(), vec![0u8; 2 * 1024 * 1024], 413, true),
        (
            "gzip bomb",
            "/v1/traces",
            vec![("Content-Type", "application/x-protobuf"), ("Content-Encoding", "gzip")],
            bomb,
            413,
            true,
        ),
        (
            "bad gzip",
            "/v1/traces",
            vec![("Content-Type", "application/x-protobuf"), ("Content-Encoding", "gzip")],
            b"nope".to_vec(),
            400,
            true,
        ),
        (
            "unknown encoding",
            "/v1/traces",
            vec![("Content-Type", "application/x-protobuf"), ("Content-Encoding", "br")],
            v.clone(),
            400,
            true,
        ),
        ("unknown path", "/v1/spans", pb.to_vec(), v.clone(), 404, false),
        ("signal without pipeline", "/v1/logs", pb.to_vec(), v.clone(), 404, false),
    ];
    for (what, path, hdrs, body, want, _reached_decoder) in &cases {
        let (code, rh, rb) = http_request(&hp, "POST", path, hdrs, body).unwrap();
        assert_eq!(code, *want, "{what}: {}", String::from_utf8_lossy(&rb));
        if *want == 400 || *want == 413 {
            // A google.rpc.Status in the request's encoding.
            let ct = rh.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.clone()).unwrap_or_default();
            if ct == "application/json" {
                let j: serde_json::Value = serde_json::from_slice(&rb).unwrap();
                assert!(j["message"].as_str().unwrap().len() > 3, "{what}");
            } else {
                assert_eq!(ct, "application/x-protobuf", "{what}");
                assert!(!rb.is_empty(), "{what}: empty Status body");
            }
        }
        // As the collector's OTLP receiver: a request that never reaches the pipeline is in no
        // receiver metric (and `otelcol_receiver_requests` needs the newReceiverMetrics gate).
        let m = ox.metrics();
        assert!(!m.keys().any(|k| k.starts_with("otelcol_receiver_")), "{what} counted: {m:?}");
    }
    let (code, _, _) = http_request(&hp, "GET", "/v1/traces", &[], b"").unwrap();
    assert_eq!(code, 405);
    // Still up, and a good request still flows.
    let (code, _, _) = http_request(&hp, "POST", "/v1/traces", &pb, &v).unwrap();
    assert_eq!(code, 200);
    assert!(eventually(10, || sink.spans() == 1));
    assert_eq!(ox.metric("otelcol_receiver_accepted_spans", &[("transport", "http")]), 1.0);
    assert!(ox.stderr().contains("Refused a malformed request"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_bad_inputs_get_invalid_argument_and_resource_exhausted() {
    let sink = GrpcSink::start();
    let ox = Oxidot::start(&CONFIG.replace("$SINK", &sink.port.to_string()));
    let url = format!("http://127.0.0.1:{}", ox.ports.grpc);
    // Garbage bytes as the message: a raw client that skips encoding.
    let ch = tonic::transport::Channel::from_shared(url.clone()).unwrap().connect().await.unwrap();
    let mut raw = tonic::client::Grpc::new(ch.clone());
    raw.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/opentelemetry.proto.collector.trace.v1.TraceService/Export");
    let r = raw.unary(tonic::Request::new(bytes::Bytes::from_static(b"\xff\xff\xff\xff")), path, RawCodec).await;
    assert_eq!(r.unwrap_err().code(), tonic::Code::InvalidArgument);
    // Over max_recv_msg_size_mib (1 MiB).
    let mut client = TraceServiceClient::new(ch).max_encoding_message_size(64 << 20);
    let mut big = ExportTraceServiceRequest::decode(&valid()[..]).unwrap();
    big.resource_spans[0].scope_spans[0].spans[0].name = "x".repeat(2 << 20);
    let err = client.export(big).await.unwrap_err();
    assert!(err.code() == tonic::Code::ResourceExhausted, "{err:?}");
    let m = ox.metrics();
    assert!(!m.keys().any(|k| k.starts_with("otelcol_receiver_")), "bad requests counted: {m:?}");
    // Still serving.
    client.export(ExportTraceServiceRequest::decode(&valid()[..]).unwrap()).await.unwrap();
    assert!(eventually(10, || sink.spans() == 1));
}

#[derive(Clone)]
struct RawCodec;
impl tonic::codec::Codec for RawCodec {
    type Encode = bytes::Bytes;
    type Decode = bytes::Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}
impl tonic::codec::Encoder for RawCodec {
    type Item = bytes::Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: bytes::Bytes, buf: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put(buf, item);
        Ok(())
    }
}
impl tonic::codec::Decoder for RawCodec {
    type Item = bytes::Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<bytes::Bytes>, tonic::Status> {
        Ok(Some(bytes::Buf::copy_to_bytes(buf, bytes::Buf::remaining(buf))))
    }
}

#[test]
fn compressed_bodies_are_decoded_with_max_request_body_size_at_its_maximum() {
    // 18446744073709551615 used to pass validation, wrap `limit + 1` to 0 and answer 200 while
    // discarding every compressed body. Now the largest accepted value is 1 GiB (README
    // "Configuration limits"), the arithmetic saturates, and bodies arrive whole.
    let sink = GrpcSink::start();
    let cfg = CONFIG.replace("$SINK", &sink.port.to_string()).replace("1048576", "1073741824");
    let ox = Oxidot::start(&cfg);
    let hp = format!("127.0.0.1:{}", ox.ports.http);
    let v = valid();
    let zstd = zstd::encode_all(&v[..], 3).unwrap();
    for (enc, body) in [("gzip", gzip(&v)), ("zstd", zstd)] {
        let h = [("Content-Type", "application/x-protobuf"), ("Content-Encoding", enc)];
        let (code, _, rb) = http_request(&hp, "POST", "/v1/traces", &h, &body).unwrap();
        assert_eq!(code, 200, "{enc}: {}", String::from_utf8_lossy(&rb));
    }
    assert!(eventually(10, || sink.spans() == 2), "sink has {} spans of 2", sink.spans());
    assert_eq!(ox.metric("otelcol_receiver_accepted_spans", &[("transport", "http")]), 2.0);
    // One byte more is refused at validation, naming the key.
    let over = CONFIG.replace("$SINK", "1").replace("1048576", "1073741825");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.yaml");
    std::fs::write(&f, over).unwrap();
    let (code, _, stderr) = run_cli(&["validate", "--config", f.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "receivers::otlp::protocols::http::max_request_body_size: 1073741825 is larger than the maximum 1073741824"
        ),
        "{stderr}"
    );
}
