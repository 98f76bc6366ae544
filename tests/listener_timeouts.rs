//! Issue 16 items 1 and 2: stalled clients are dropped after the configured timeouts, and an
//! accept loop out of file descriptors backs off and logs instead of spinning.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
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
        request_timeout: 1s
        keepalive:
          server_parameters:
            max_connection_idle: 30s
      http:
        endpoint: 127.0.0.1:$HTTP
        read_header_timeout: 1s
        read_timeout: 1s
        idle_timeout: 1s
exporters:
  debug: {}
service:
  extensions: [health_check]
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    metrics:
      address: 127.0.0.1:$METRICS
"#;

/// Reads until EOF or a reset; returns how long that took (None if still open at `limit`).
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some(t0.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Some(t0.elapsed()),
        }
    }
    None
}

#[test]
fn http_dribbled_headers_are_closed_after_read_header_timeout() {
    let o = Oxidot::start(CONFIG);
    let mut s = TcpStream::connect(("127.0.0.1", o.ports.http)).unwrap();
    s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t0 = Instant::now();
    // One header byte every 200 ms: never a complete header block.
    let mut closed = false;
    while t0.elapsed() < Duration::from_secs(6) {
        if s.write_all(b"X").is_err() {
            closed = true;
            break;
        }
        if closed_within(&mut s, Duration::from_millis(200)).is_some() {
            closed = true;
            break;
        }
    }
    assert!(closed, "dribbled headers still open after {:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(4), "closed only after {:?}", t0.elapsed());
}

#[test]
fn http_body_that_stops_midway_is_closed_after_read_timeout() {
    let o = Oxidot::start(CONFIG);
    let mut s = TcpStream::connect(("127.0.0.1", o.ports.http)).unwrap();
    s.write_all(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n0123456789",
    )
    .unwrap();
    let took = closed_within(&mut s, Duration::from_secs(6)).expect("a stalled body is still open after 6 s");
    assert!(took < Duration::from_secs(4), "closed only after {took:?}");
}

#[test]
fn http_endless_chunked_body_is_closed_after_read_timeout() {
    let o = Oxidot::start(CONFIG);
    let mut s = TcpStream::connect(("127.0.0.1", o.ports.http)).unwrap();
    s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let t0 = Instant::now();
    let mut closed = false;
    while t0.elapsed() < Duration::from_secs(6) {
        if s.write_all(b"1\r\n\n\r\n").is_err() || closed_within(&mut s, Duration::from_millis(100)).is_some() {
            closed = true;
            break;
        }
    }
    assert!(closed, "an endless chunked body is still open after {:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(4), "closed only after {:?}", t0.elapsed());
}

#[test]
fn http_idle_keepalive_is_closed_after_idle_timeout() {
    let o = Oxidot::start(CONFIG);
    let mut s = TcpStream::connect(("127.0.0.1", o.ports.http)).unwrap();
    s.write_all(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    let took = closed_within(&mut s, Duration::from_secs(6)).expect("an idle keep-alive is still open after 6 s");
    assert!(took < Duration::from_secs(4), "closed only after {took:?}");
}

#[test]
fn grpc_unfinished_stream_is_reset_after_request_timeout() {
    let o = Oxidot::start(CONFIG);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use bytes::Bytes;
        use http_body_util::StreamBody;
        use hyper::body::Frame;
        let io =
            hyper_util::rt::TokioIo::new(tokio::net::TcpStream::connect(("127.0.0.1", o.ports.grpc)).await.unwrap());
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io).await.unwrap();
        tokio::spawn(conn);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(4);
        // A message header promising 1000 bytes, then 10 of them, then nothing more.
        let mut first = vec![0u8, 0, 0, 0x03, 0xe8];
        first.extend_from_slice(&[0u8; 10]);
        tx.send(Ok(Frame::data(Bytes::from(first)))).await.unwrap();
        let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
        let req = http::Request::post(format!(
            "http://127.0.0.1:{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            o.ports.grpc
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(body)
        .unwrap();
        let t0 = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(6), send.send_request(req)).await;
        let took = t0.elapsed();
        let r = r.expect("an unfinished gRPC stream is still open after 6 s");
        assert!(r.is_err(), "expected the stream to be reset, got {:?}", r.map(|x| x.status()));
        assert!(took < Duration::from_secs(4), "reset only after {took:?}");
        drop(tx);
    });
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Item 2: with its fd limit lowered (prlimit on the running child) and more clients than fds,
/// the accept loop backs off (little CPU), logs once, and serves again once clients leave.
#[test]
fn accept_out_of_fds_backs_off_logs_and_recovers() {
    if std::process::Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit not found: skipped");
        return;
    }
    let o = Oxidot::start(CONFIG);
    let pid = o.child.as_ref().unwrap().id();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    let lim = open + 6;
    let st = std::process::Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--nofile={lim}:{lim}"))
        .status()
        .unwrap();
    assert!(st.success());
    // Requests in flight keep their connections (idle_timeout does not apply to them).
    let mut held = Vec::new();
    for _ in 0..30 {
        let mut s = TcpStream::connect(("127.0.0.1", o.ports.http)).unwrap();
        s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 10\r\n\r\n")
            .unwrap();
        held.push(s);
    }
    // The health endpoint (telemetry/server.rs) has its own accept loop: pending clients there too.
    for _ in 0..5 {
        held.push(TcpStream::connect(("127.0.0.1", o.ports.health)).unwrap());
    }
    std::thread::sleep(Duration::from_millis(300));
    let c0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(700));
    let used = cpu_ticks(pid) - c0; // clock ticks, usually 100 per second
    let log = o.stderr();
    assert!(used < 20, "accept loop used {used} ticks in 0.7 s while out of fds");
    assert!(log.contains("Accept failed"), "no accept error logged:\n{log}");
    assert!(log.matches("Accept failed").count() <= 3, "accept error not rate-limited:\n{log}");
    drop(held);
    // Served again once the fds are free (the backoff is at most 1 s).
    let t0 = Instant::now();
    loop {
        let r = http_request(
            &format!("127.0.0.1:{}", o.ports.http),
            "POST",
            "/v1/traces",
            &[("Content-Type", "application/x-protobuf")],
            b"",
        );
        if let Ok((200, _, _)) = r {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "not serving again after fds freed: {r:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn grpc_idle_connection_is_closed_after_max_connection_idle() {
    let o = Oxidot::start(&CONFIG.replace("max_connection_idle: 30s", "max_connection_idle: 1s"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let io =
            hyper_util::rt::TokioIo::new(tokio::net::TcpStream::connect(("127.0.0.1", o.ports.grpc)).await.unwrap());
        let (_send, conn) = hyper::client::conn::http2::handshake::<_, _, http_body_util::Empty<bytes::Bytes>>(
            hyper_util::rt::TokioExecutor::new(),
            io,
        )
        .await
        .unwrap();
        let t0 = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(6), conn).await;
        assert!(r.is_ok(), "an idle gRPC connection is still open after 6 s");
        assert!(t0.elapsed() < Duration::from_secs(4), "closed only after {:?}", t0.elapsed());
    });
}
