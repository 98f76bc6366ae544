//! Wire-exact test backends: an OTLP/gRPC server (the generated tonic services) and an
//! OTLP/HTTP server that records method, path, headers and the decoded body.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn runtime_thread<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(f);
    });
}

/// What an OTLP/gRPC sink received.
#[derive(Default)]
pub struct GrpcReceived {
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
    pub logs: Vec<ExportLogsServiceRequest>,
    pub headers: Vec<tonic::metadata::MetadataMap>,
}

#[derive(Clone, Default)]
pub struct GrpcSink {
    pub got: Arc<Mutex<GrpcReceived>>,
    /// Statuses to answer with before accepting (one per request).
    pub fail_first: Arc<Mutex<VecDeque<tonic::Code>>>,
    pub delay: Arc<Mutex<Duration>>,
    pub port: u16,
}

impl GrpcSink {
    pub fn start() -> GrpcSink {
        Self::start_on(0)
    }

    /// On a given loopback port (0: any), e.g. a port a backend comes back on after an outage.
    pub fn start_on(port: u16) -> GrpcSink {
        let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        l.set_nonblocking(true).unwrap();
        let s = GrpcSink { port: l.local_addr().unwrap().port(), ..Default::default() };
        let sink = s.clone();
        runtime_thread(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            tonic::transport::Server::builder()
                .add_service(
                    TraceServiceServer::new(sink.clone()).accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                )
                .add_service(
                    MetricsServiceServer::new(sink.clone()).accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                )
                .add_service(LogsServiceServer::new(sink).accept_compressed(tonic::codec::CompressionEncoding::Gzip))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(l))
                .await
                .unwrap();
        });
        s
    }

    async fn gate(&self, md: &tonic::metadata::MetadataMap) -> Result<(), tonic::Status> {
        let d = *self.delay.lock().unwrap();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
        if let Some(code) = self.fail_first.lock().unwrap().pop_front() {
            return Err(tonic::Status::new(code, "test sink refuses"));
        }
        self.got.lock().unwrap().headers.push(md.clone());
        Ok(())
    }

    pub fn spans(&self) -> usize {
        self.got
            .lock()
            .unwrap()
            .traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    }
    pub fn log_records(&self) -> usize {
        self.got
            .lock()
            .unwrap()
            .logs
            .iter()
            .flat_map(|r| &r.resource_logs)
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum()
    }
    pub fn data_points(&self) -> usize {
        let g = self.got.lock().unwrap();
        let b =
            oxidot::pipeline::data::Batch::Metrics(g.metrics.iter().flat_map(|r| r.resource_metrics.clone()).collect());
        b.items()
    }
}

#[tonic::async_trait]
impl TraceService for GrpcSink {
    async fn export(
        &self,
        r: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.gate(r.metadata()).await?;
        self.got.lock().unwrap().traces.push(r.into_inner());
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcSink {
    async fn export(
        &self,
        r: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.gate(r.metadata()).await?;
        self.got.lock().unwrap().metrics.push(r.into_inner());
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tonic::async_trait]
impl LogsService for GrpcSink {
    async fn export(
        &self,
        r: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.gate(r.metadata()).await?;
        self.got.lock().unwrap().logs.push(r.into_inner());
        Ok(tonic::Response::new(Default::default()))
    }
}

/// One request an HTTP sink received, body already decompressed.
#[derive(Debug, Clone)]
pub struct HttpRecorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// Decompressed by Content-Encoding.
    pub body: Vec<u8>,
    /// As sent.
    pub raw: Vec<u8>,
}

impl HttpRecorded {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str())
    }
}

/// A scripted HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

#[derive(Clone, Default)]
pub struct HttpSink {
    pub got: Arc<Mutex<Vec<HttpRecorded>>>,
    /// Answers used in order, one per request; then 200 with an empty body.
    pub script: Arc<Mutex<VecDeque<Answer>>>,
    pub delay: Arc<Mutex<Duration>>,
    pub port: u16,
}

impl HttpSink {
    pub fn start() -> HttpSink {
        Self::start_on(0)
    }

    /// On a given loopback port (0: any).
    pub fn start_on(port: u16) -> HttpSink {
        let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        l.set_nonblocking(true).unwrap();
        let s = HttpSink { port: l.local_addr().unwrap().port(), ..Default::default() };
        let sink = s.clone();
        runtime_thread(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            loop {
                let Ok((stream, _)) = l.accept().await else {
                    continue;
                };
                let sink = sink.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let sink = sink.clone();
                        async move { Ok::<_, std::convert::Infallible>(sink.handle(req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        s
    }

    async fn handle(&self, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let headers: Vec<(String, String)> =
            req.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
        let enc = req.headers().get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let raw = req.into_body().collect().await.unwrap().to_bytes();
        let body = oxidot::receiver::otlp::decode::decompress(&enc, raw.clone(), 1 << 30).unwrap().to_vec();
        let raw = raw.to_vec();
        let d = *self.delay.lock().unwrap();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
        let answer = self.script.lock().unwrap().pop_front();
        let answer = answer.unwrap_or(Answer { status: 200, headers: vec![], body: vec![] });
        if (200..300).contains(&answer.status) {
            self.got.lock().unwrap().push(HttpRecorded { method, path, headers, body, raw });
        }
        let mut r = hyper::Response::new(Full::new(Bytes::from(answer.body)));
        *r.status_mut() = hyper::StatusCode::from_u16(answer.status).unwrap();
        for (k, v) in answer.headers {
            r.headers_mut().insert(k, v.parse().unwrap());
        }
        r
    }

    pub fn requests(&self) -> Vec<HttpRecorded> {
        self.got.lock().unwrap().clone()
    }
}

/// A GET server with fixed answers per path (for the ECS task metadata endpoint).
#[derive(Clone, Default)]
pub struct StaticServer {
    pub routes: Arc<Mutex<Vec<(String, u16, String)>>>,
    pub delay: Arc<Mutex<Duration>>,
    pub hits: Arc<Mutex<Vec<String>>>,
    pub port: u16,
}

impl StaticServer {
    pub fn start(routes: Vec<(&str, u16, String)>) -> StaticServer {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let s = StaticServer {
            routes: Arc::new(Mutex::new(routes.into_iter().map(|(p, c, b)| (p.to_string(), c, b)).collect())),
            port: l.local_addr().unwrap().port(),
            ..Default::default()
        };
        let srv = s.clone();
        runtime_thread(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            loop {
                let Ok((stream, _)) = l.accept().await else { continue };
                let srv = srv.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let srv = srv.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            srv.hits.lock().unwrap().push(path.clone());
                            let d = *srv.delay.lock().unwrap();
                            tokio::time::sleep(d).await;
                            let found = srv.routes.lock().unwrap().iter().find(|(p, _, _)| *p == path).cloned();
                            let (code, body) = found.map(|(_, c, b)| (c, b)).unwrap_or((404, "not found".into()));
                            let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
                            *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        s
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// A Loki push endpoint built from Loki's push.proto: it snappy-decodes and protobuf-decodes the
/// body and checks what Loki checks (content type, label sets present and valid, entries in
/// time order within a stream, the tenant header when required), answering 400 like Loki when
/// something is wrong and 204 otherwise.
#[derive(Clone, Default)]
pub struct LokiSink {
    pub got: Arc<Mutex<Vec<(Option<String>, oxidot::proto::logproto::PushRequest)>>>,
    pub script: Arc<Mutex<VecDeque<Answer>>>,
    pub require_tenant: Arc<Mutex<bool>>,
    pub rejected: Arc<Mutex<Vec<String>>>,
    pub port: u16,
}

/// Parses `{a="1", b="2"}` into pairs; `Err` says what Loki would say.
pub fn parse_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let inner = s
        .trim()
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .ok_or_else(|| format!("parse error: {s:?} is not a label set"))?;
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").ok_or_else(|| format!("parse error in {s:?}"))?;
        let name = name.trim().trim_start_matches(',').trim();
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("invalid label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, e)) => value.push(e),
                    None => return Err("bad escape".into()),
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.ok_or("unterminated label value")?;
        out.push((name.to_string(), value));
        rest = after[end + 1..].trim_start().trim_start_matches(',').trim_start();
    }
    if out.is_empty() {
        return Err("error at least one label pair is required per stream".into());
    }
    Ok(out)
}

impl LokiSink {
    pub fn start() -> LokiSink {
        Self::start_on(0)
    }

    /// On a given loopback port (0: any).
    pub fn start_on(port: u16) -> LokiSink {
        let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        l.set_nonblocking(true).unwrap();
        let s = LokiSink { port: l.local_addr().unwrap().port(), ..Default::default() };
        let sink = s.clone();
        runtime_thread(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            loop {
                let Ok((stream, _)) = l.accept().await else { continue };
                let sink = sink.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let sink = sink.clone();
                        async move { Ok::<_, std::convert::Infallible>(sink.handle(req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        s
    }

    fn reject(&self, why: String) -> hyper::Response<Full<Bytes>> {
        self.rejected.lock().unwrap().push(why.clone());
        let mut r = hyper::Response::new(Full::new(Bytes::from(why)));
        *r.status_mut() = hyper::StatusCode::BAD_REQUEST;
        r
    }

    async fn handle(&self, req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
        use prost::Message;
        if req.uri().path() != "/loki/api/v1/push" || req.method() != hyper::Method::POST {
            let mut r = hyper::Response::new(Full::new(Bytes::from("404 page not found")));
            *r.status_mut() = hyper::StatusCode::NOT_FOUND;
            return r;
        }
        let tenant = req.headers().get("x-scope-orgid").and_then(|v| v.to_str().ok()).map(str::to_string);
        let ctype = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let raw = req.into_body().collect().await.unwrap().to_bytes();
        if let Some(a) = self.script.lock().unwrap().pop_front() {
            let mut r = hyper::Response::new(Full::new(Bytes::from(a.body)));
            *r.status_mut() = hyper::StatusCode::from_u16(a.status).unwrap();
            return r;
        }
        if ctype != "application/x-protobuf" {
            return self.reject(format!("unsupported content type {ctype:?}"));
        }
        if *self.require_tenant.lock().unwrap() && tenant.is_none() {
            return self.reject("no org id".into());
        }
        let Ok(body) = snap::raw::Decoder::new().decompress_vec(&raw) else {
            return self.reject("snappy: corrupt input".into());
        };
        let Ok(pr) = oxidot::proto::logproto::PushRequest::decode(&body[..]) else {
            return self.reject("proto: bad push request".into());
        };
        for s in &pr.streams {
            if let Err(e) = parse_labels(&s.labels) {
                return self.reject(e);
            }
            let ts: Vec<(i64, i32)> = s
                .entries
                .iter()
                .map(|e| e.timestamp.as_ref().map(|t| (t.seconds, t.nanos)).unwrap_or_default())
                .collect();
            if ts.windows(2).any(|w| w[1] < w[0]) {
                return self.reject(format!("entry out of order for stream {}", s.labels));
            }
        }
        self.got.lock().unwrap().push((tenant, pr));
        let mut r = hyper::Response::new(Full::new(Bytes::new()));
        *r.status_mut() = hyper::StatusCode::NO_CONTENT;
        r
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/loki/api/v1/push", self.port)
    }

    /// Every (labels, line) received.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, pr)| {
                pr.streams.iter().flat_map(|s| s.entries.iter().map(|e| (s.labels.clone(), e.line.clone())))
            })
            .collect()
    }
}
