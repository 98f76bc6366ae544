//! Issue 16 item 5: a gRPC message holding malformed protobuf is answered INVALID_ARGUMENT (the
//! whole frame is consumed, nothing is read as a next frame), logged, and — as the collector's
//! OTLP receiver, which never reaches `obsreport` for a request it cannot unmarshal — in no
//! receiver metric. A connection torn down with many open streams is neither logged as "too
//! large" nor counted.

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
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

const PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

fn valid() -> Vec<u8> {
    one_span_request("a span with a long enough name")
}

/// One gRPC length-prefixed message: flag 0, big-endian length, the bytes.
fn frame(msg: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8];
    f.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    f.extend_from_slice(msg);
    f
}

async fn connect(port: u16) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    send
}

fn request<B>(port: u16, body: B) -> http::Request<B> {
    http::Request::post(format!("http://127.0.0.1:{port}{PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(body)
        .unwrap()
}

/// The grpc-status (from trailers, or headers for a trailers-only answer) and grpc-message.
async fn call(
    send: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    port: u16,
    body: Vec<u8>,
) -> (String, String) {
    send.ready().await.unwrap();
    let resp = send.send_request(request(port, Full::new(Bytes::from(body)))).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut headers = resp.headers().clone();
    let collected = resp.into_body().collect().await.unwrap();
    if let Some(t) = collected.trailers() {
        headers.extend(t.clone());
    }
    let get = |k: &str| headers.get(k).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (get("grpc-status"), get("grpc-message"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_in_a_grpc_frame_is_invalid_argument_and_logged() {
    let sink = GrpcSink::start();
    let mut ox = Oxidot::start(&CONFIG.replace("$SINK", &sink.port.to_string()));
    let port = ox.ports.grpc;
    let v = valid();
    // A length-delimited field whose length says more than the message holds.
    let mut long_len = v.clone();
    long_len[1] = 0x7f;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated mid-field", v[..v.len() - 3].to_vec()),
        // Field 1 with wire type 7 (there is none), then bytes that would parse as a frame header.
        ("bad wire type", vec![0x0f, 0, 0, 0, 0, 0x10, 1, 2, 3, 4, 5, 6, 7, 8]),
        ("field length past the end", long_len),
        ("garbage", b"\xff\xff\xff\xff\xff\xff\xff\xff".to_vec()),
    ];
    let mut send = connect(port).await;
    for (what, msg) in &cases {
        assert!(decodes_badly(msg), "{what}: test input decodes");
        let (code, message) = call(&mut send, port, frame(msg)).await;
        assert_eq!(code, "3", "{what}: INVALID_ARGUMENT expected, got {code} {message:?}");
        assert!(message.contains("decode"), "{what}: {message:?}");
    }
    // A frame whose length prefix is longer than what is sent before END_STREAM.
    let mut short = frame(&v);
    short[1..5].copy_from_slice(&((v.len() + 100) as u32).to_be_bytes());
    let (code, message) = call(&mut send, port, short).await;
    assert_eq!(code, "3", "frame length past the end: got {code} {message:?}");
    // The same connection still serves a good request.
    let (code, message) = call(&mut send, port, frame(&v)).await;
    assert_eq!(code, "0", "{message}");
    assert!(eventually(10, || sink.spans() == 1));
    assert!(ox.is_running());
    // Logged (rate-limited), and as in the collector in no receiver refused/failed metric.
    let err = ox.stderr();
    assert!(err.contains("Refused a malformed request"), "{err}");
    assert!(!err.contains("larger than"), "{err}");
    let m = ox.metrics();
    assert_eq!(sum_metric(&m, "otelcol_receiver_refused_spans", &[]), 0.0, "{m:?}");
    assert_eq!(sum_metric(&m, "otelcol_receiver_failed_spans", &[]), 0.0, "{m:?}");
    assert_eq!(ox.metric("otelcol_receiver_accepted_spans", &[("transport", "grpc")]), 1.0);
}

fn decodes_badly(msg: &[u8]) -> bool {
    ExportTraceServiceRequest::decode(msg).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_down_connection_with_many_open_streams_is_not_too_large() {
    let sink = GrpcSink::start();
    let mut ox = Oxidot::start(&CONFIG.replace("$SINK", &sink.port.to_string()));
    let port = ox.ports.grpc;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (send, conn) = h2::client::handshake(tcp).await.unwrap();
    let conn = tokio::spawn(conn);
    const STREAMS: usize = 150;
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let mut send = send.clone().ready().await.unwrap();
        // A header promising 1000 bytes, 10 sent, and the stream left open.
        let mut start = vec![0u8];
        start.extend_from_slice(&1000u32.to_be_bytes());
        start.extend_from_slice(&[0x0a; 10]);
        let (resp, mut body) = send.send_request(request(port, ()), false).unwrap();
        body.send_data(Bytes::from(start), false).unwrap();
        streams.push((resp, body));
    }
    // Let the server accept every stream. Then streams reset as soon as opened (a "rapid
    // reset"): h2 answers GOAWAY ENHANCE_YOUR_CALM, and every open stream ends with that reason,
    // which tonic maps to RESOURCE_EXHAUSTED — the same code as an over-limit message.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for _ in 0..40 {
        let Ok(mut send) = send.clone().ready().await else { break };
        let Ok((_, mut body)) = send.send_request(request(port, ()), false) else { break };
        body.send_reset(h2::Reason::CANCEL);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Whatever is left goes with the connection.
    conn.abort();
    drop(streams);
    drop(send);
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(ox.is_running());
    let err = ox.stderr();
    // The scenario happened: h2 tore the connection down (its own warning, kept in the log).
    assert!(err.contains("reached limit"), "no GOAWAY ENHANCE_YOUR_CALM: {err}");
    assert!(!err.contains("larger than"), "a torn-down connection logged as too large: {err}");
    assert!(!err.contains("too large"), "{err}");
    let m = ox.metrics();
    for name in ["otelcol_receiver_refused_spans", "otelcol_receiver_failed_spans", "otelcol_receiver_accepted_spans"] {
        assert_eq!(sum_metric(&m, name, &[]), 0.0, "{name}: {m:?}");
    }
}
