//! The `otlp` receiver: OTLP over gRPC (4317) and HTTP (4318).

pub mod decode;
pub mod factory;
pub mod grpc;
pub mod http;
pub mod signal;

use crate::component::{ComponentId, Signal};
use crate::config::serde_util::GoDuration;
use crate::config::{limits, ConfigError};
pub use crate::pipeline::consumer::SignalConsumers;
use crate::pipeline::consumer::{ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::component::{ReceiveOutcome, ReceiverTelemetry};
use crate::telemetry::Registry;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::sync::Arc;

/// `receivers: otlp:`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpReceiverConfig {
    pub protocols: Protocols,
    /// oxidot: the bytes this receiver may decode at once (estimated decoded size, shared by
    /// its gRPC and HTTP listeners), within the process-wide budget. Unset: only the
    /// process-wide budget applies.
    pub decode_budget_mib: Option<u64>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Protocols {
    pub grpc: Option<GrpcServerConfig>,
    pub http: Option<HttpServerConfig>,
}

/// `protocols.grpc` (Go: configgrpc.ServerConfig with the receiver's defaults).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcServerConfig {
    pub endpoint: String,
    pub transport: String,
    pub max_recv_msg_size_mib: u64,
    pub max_concurrent_streams: u32,
    pub read_buffer_size: Option<u64>,
    pub write_buffer_size: Option<u64>,
    pub include_metadata: bool,
    pub keepalive: Option<KeepaliveConfig>,
    /// oxidot: a request whose message has not fully arrived (and been answered) within this is
    /// reset (Go has no such limit). `0` disables it.
    pub request_timeout: GoDuration,
    pub tls: Option<crate::tls::TlsServerConfig>,
    pub auth: Option<Value>,
}

/// `protocols.grpc.keepalive` (Go: configgrpc.KeepaliveServerConfig).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveConfig {
    pub server_parameters: Option<KeepaliveServerParameters>,
    pub enforcement_policy: Option<Value>,
}

/// `keepalive.server_parameters`: `time` (PING interval, Go default 2h), `timeout` (wait for
/// the PING answer, Go default 20s), `max_connection_idle` (close a connection without streams
/// for this long; Go default: never, oxidot: 5m when unset). Ages are accepted and ignored.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveServerParameters {
    pub max_connection_idle: Option<GoDuration>,
    pub max_connection_age: Option<GoDuration>,
    pub max_connection_age_grace: Option<GoDuration>,
    pub time: Option<GoDuration>,
    pub timeout: Option<GoDuration>,
}

impl Default for GrpcServerConfig {
    fn default() -> Self {
        GrpcServerConfig {
            endpoint: "localhost:4317".into(),
            transport: "tcp".into(),
            max_recv_msg_size_mib: 4,
            max_concurrent_streams: 0,
            read_buffer_size: None,
            write_buffer_size: None,
            include_metadata: false,
            keepalive: None,
            request_timeout: GoDuration::from_secs(60),
            tls: None,
            auth: None,
        }
    }
}

/// `protocols.http` (Go: confighttp.ServerConfig with the receiver's defaults).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpServerConfig {
    pub endpoint: String,
    pub traces_url_path: String,
    pub metrics_url_path: String,
    pub logs_url_path: String,
    pub max_request_body_size: u64,
    pub include_metadata: bool,
    pub compression_algorithms: Option<Vec<String>>,
    pub response_headers: Option<Value>,
    pub cors: Option<Value>,
    pub tls: Option<crate::tls::TlsServerConfig>,
    pub auth: Option<Value>,
    /// Go confighttp: the whole request (headers and body) must be read within this; `0` = no
    /// limit. Default 0, as Go; `write_timeout` then bounds a stalled body.
    pub read_timeout: GoDuration,
    /// Go confighttp: request line and headers within this (default 1m).
    pub read_header_timeout: GoDuration,
    /// Go confighttp: the answer must be written within this from the end of the headers
    /// (default 30s); oxidot resets a request not answered by then.
    pub write_timeout: GoDuration,
    /// Go confighttp: a keep-alive connection without a request is closed after this (default 1m).
    pub idle_timeout: GoDuration,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        HttpServerConfig {
            endpoint: "localhost:4318".into(),
            traces_url_path: "/v1/traces".into(),
            metrics_url_path: "/v1/metrics".into(),
            logs_url_path: "/v1/logs".into(),
            // confighttp: 20 MiB, applied before and after decompression.
            max_request_body_size: 20 * 1024 * 1024,
            include_metadata: false,
            compression_algorithms: None,
            response_headers: None,
            cors: None,
            tls: None,
            auth: None,
            read_timeout: GoDuration::default(),
            read_header_timeout: GoDuration::from_secs(60),
            write_timeout: GoDuration::from_secs(30),
            idle_timeout: GoDuration::from_secs(60),
        }
    }
}

fn nonzero(d: GoDuration) -> Option<std::time::Duration> {
    (!d.0.is_zero()).then_some(d.0)
}

impl HttpServerConfig {
    /// The listener limits: the request deadline is the smaller of read and write timeouts.
    pub fn timeouts(&self) -> crate::net::Timeouts {
        let request = match (nonzero(self.read_timeout), nonzero(self.write_timeout)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        crate::net::Timeouts {
            header_read: nonzero(self.read_header_timeout),
            request,
            idle: nonzero(self.idle_timeout),
            h2_keepalive: None,
        }
    }
}

impl GrpcServerConfig {
    pub fn timeouts(&self) -> crate::net::Timeouts {
        let sp = self.keepalive.as_ref().and_then(|k| k.server_parameters.clone()).unwrap_or_default();
        let time = sp.time.map_or(std::time::Duration::from_secs(2 * 3600), |d| d.0);
        let wait = sp.timeout.map_or(std::time::Duration::from_secs(20), |d| d.0);
        let idle = match sp.max_connection_idle {
            Some(d) => nonzero(d),
            None => Some(std::time::Duration::from_secs(300)),
        };
        crate::net::Timeouts {
            header_read: Some(std::time::Duration::from_secs(60)),
            request: nonzero(self.request_timeout),
            idle,
            h2_keepalive: (!time.is_zero()).then_some((time, wait.max(std::time::Duration::from_millis(1)))),
        }
    }
}

impl OtlpReceiverConfig {
    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let mut errs = Vec::new();
        let mut warns = Vec::new();
        let p = |k: &str| format!("{base}::protocols::{k}");
        if self.protocols.grpc.is_none() && self.protocols.http.is_none() {
            errs.push(ConfigError::new(
                format!("{base}::protocols"),
                "must specify at least one protocol when using the OTLP receiver",
            ));
        }
        let unsupported = |errs: &mut Vec<ConfigError>, key: String, set: bool| {
            if set {
                errs.push(ConfigError::new(
                    key,
                    "is not supported by oxidot yet (remove it, or authenticate in front of oxidot)",
                ));
            }
        };
        if let Some(m) = self.decode_budget_mib {
            if m == 0 {
                errs.push(ConfigError::new(format!("{base}::decode_budget_mib"), "must be positive"));
            }
            limits::check(&mut errs, format!("{base}::decode_budget_mib"), m, limits::MEMORY_MIB);
        }
        if let Some(g) = &self.protocols.grpc {
            if let Some(t) = &g.tls {
                t.validate(&p("grpc"), &mut errs);
            }
            unsupported(&mut errs, p("grpc::auth"), g.auth.is_some());
            if g.transport != "tcp" {
                errs.push(ConfigError::new(
                    p("grpc::transport"),
                    format!("transport {:?} is not supported (only tcp)", g.transport),
                ));
            }
            if g.max_recv_msg_size_mib == 0 {
                errs.push(ConfigError::new(p("grpc::max_recv_msg_size_mib"), "must be positive"));
            }
            limits::check(&mut errs, p("grpc::max_recv_msg_size_mib"), g.max_recv_msg_size_mib, limits::RECV_MSG_MIB);
            if let Some(k) = &g.keepalive {
                let sp = k.server_parameters.clone().unwrap_or_default();
                if sp.max_connection_age.is_some() || sp.max_connection_age_grace.is_some() {
                    warns.push(format!(
                        "{}: max_connection_age and max_connection_age_grace are accepted and ignored",
                        p("grpc::keepalive::server_parameters")
                    ));
                }
                if k.enforcement_policy.is_some() {
                    warns.push(format!(
                        "{}: enforcement_policy is accepted and ignored",
                        p("grpc::keepalive::enforcement_policy")
                    ));
                }
            }
        }
        if let Some(h) = &self.protocols.http {
            if let Some(t) = &h.tls {
                t.validate(&p("http"), &mut errs);
            }
            unsupported(&mut errs, p("http::auth"), h.auth.is_some());
            if h.cors.is_some() {
                warns.push(format!(
                    "{}: CORS is not implemented yet: browsers will not get CORS headers",
                    p("http::cors")
                ));
            }
            if h.response_headers.is_some() {
                warns.push(format!("{}: response_headers is accepted and ignored", p("http::response_headers")));
            }
            if let Some(algs) = &h.compression_algorithms {
                for a in algs {
                    if !decode::SUPPORTED_ENCODINGS.contains(&a.as_str()) {
                        errs.push(ConfigError::new(
                            p("http::compression_algorithms"),
                            format!(
                                "unsupported compression {a:?} (supported: {})",
                                decode::SUPPORTED_ENCODINGS.join(", ")
                            ),
                        ));
                    }
                }
            }
            if h.max_request_body_size == 0 {
                errs.push(ConfigError::new(p("http::max_request_body_size"), "must be positive"));
            }
            limits::check(&mut errs, p("http::max_request_body_size"), h.max_request_body_size, limits::BODY_BYTES);
        }
        (errs, warns)
    }
}

/// One signal's entry point on one transport: the consumer plus its counters.
#[derive(Clone)]
pub struct Entry {
    pub consumer: Arc<dyn Consumer>,
    pub telemetry: ReceiverTelemetry,
}

impl Entry {
    /// Pushes a decoded request into the pipeline and counts it. Empty requests succeed
    /// without being forwarded or counted, as in the collector.
    pub async fn deliver(&self, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.items();
        if items == 0 {
            return Ok(());
        }
        let r = self.consumer.consume(Arc::new(batch)).await;
        let outcome = match &r {
            Ok(()) => ReceiveOutcome::Success,
            Err(e) if is_downstream(e) => ReceiveOutcome::Downstream,
            Err(_) => ReceiveOutcome::Failure,
        };
        self.telemetry.record(items as u64, outcome);
        r
    }
}

impl Entry {
    /// A request refused before decoding (decode budget, memory pressure): its `items` are
    /// counted as refused, as a pipeline refusal is, and the refusal is logged (rate-limited).
    pub fn refused_before_decode(
        &self,
        budget: &crate::memory::budget::DecodeBudget,
        id: &ComponentId,
        transport: &str,
        items: u64,
        e: &ConsumeError,
    ) {
        self.telemetry.record(items, ReceiveOutcome::Downstream);
        if budget.log.allow(10) {
            tracing::warn!(receiver = %id, transport, items, error = %e, "Refused a request before decoding it");
        }
    }
}

/// Whether a pipeline error is marked as coming from further downstream (Go:
/// consumererror.IsDownstream). In the collector only the pipeline instrumentation of the alpha
/// gate `telemetry.newPipelineTelemetry` (service/internal/obsconsumer) marks errors so; oxidot
/// does not implement that gate, so, as the collector with it off, no error is downstream and
/// with `receiverhelper.newReceiverMetrics` on every pipeline error counts as failed.
fn is_downstream(_e: &ConsumeError) -> bool {
    false
}

/// Per-transport entries for the three signals.
#[derive(Clone, Default)]
pub struct Entries {
    pub traces: Option<Entry>,
    pub metrics: Option<Entry>,
    pub logs: Option<Entry>,
}

impl Entries {
    pub fn new(reg: &Registry, id: &ComponentId, transport: &'static str, consumers: &SignalConsumers) -> Entries {
        let make = |s: Signal| {
            consumers
                .get(s)
                .map(|c| Entry { consumer: Arc::clone(c), telemetry: ReceiverTelemetry::new(reg, id, transport, s) })
        };
        Entries { traces: make(Signal::Traces), metrics: make(Signal::Metrics), logs: make(Signal::Logs) }
    }

    pub fn get(&self, s: Signal) -> Option<&Entry> {
        match s {
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
            Signal::Logs => self.logs.as_ref(),
        }
    }
}

pub use crate::net::listen_addr;

/// Binds the configured protocols and serves them until `stop`; binding errors are returned
/// before anything is served, so a port in use fails the start.
pub async fn start(
    id: &ComponentId,
    cfg: &OtlpReceiverConfig,
    consumers: &SignalConsumers,
    reg: &Registry,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let mut listeners = Vec::new();
    let budget = Arc::new(crate::memory::budget::DecodeBudget::new(
        cfg.decode_budget_mib.map(|m| m.saturating_mul(1024 * 1024)),
    ));
    if let Some(g) = &cfg.protocols.grpc {
        let l = crate::net::bind(&format!("receiver {id} (grpc)"), &listen_addr(&g.endpoint)).await?;
        let st = grpc::GrpcState {
            id: id.clone(),
            entries: Entries::new(reg, id, "grpc", consumers),
            max_recv: (g.max_recv_msg_size_mib as usize).saturating_mul(1024 * 1024),
            budget: Arc::clone(&budget),
            log_bad: Default::default(),
        };
        let tls = server_tls(id, "grpc", g.tls.as_ref(), crate::tls::server::ALPN_GRPC)?;
        listeners.push((l, Proto::Grpc(grpc::GrpcService(Arc::new(st))), g.timeouts(), tls));
    }
    if let Some(h) = &cfg.protocols.http {
        let l = crate::net::bind(&format!("receiver {id} (http)"), &listen_addr(&h.endpoint)).await?;
        let encodings = h
            .compression_algorithms
            .clone()
            .unwrap_or_else(|| decode::SUPPORTED_ENCODINGS.iter().map(|s| s.to_string()).collect());
        let st = http::HttpState {
            id: id.clone(),
            entries: Entries::new(reg, id, "http", consumers),
            paths: vec![
                (http::normalize_path(&h.traces_url_path), Signal::Traces),
                (http::normalize_path(&h.metrics_url_path), Signal::Metrics),
                (http::normalize_path(&h.logs_url_path), Signal::Logs),
            ],
            max_body: h.max_request_body_size,
            budget: Arc::clone(&budget),
            encodings,
            log_bad: Default::default(),
        };
        let tls = server_tls(id, "http", h.tls.as_ref(), crate::tls::server::ALPN_HTTP)?;
        listeners.push((l, Proto::Http(http::HttpService(Arc::new(st))), h.timeouts(), tls));
    }
    let drain = std::time::Duration::from_secs(5);
    let mut tasks = Vec::new();
    for (l, p, t, tls) in listeners {
        if let Ok(addr) = l.local_addr() {
            // otlpreceiver/otlp.go startGRPCServer / startHTTPServer: the bound address.
            match p {
                Proto::Grpc(_) => tracing::info!(receiver = %id, endpoint = %addr, "Starting GRPC server"),
                Proto::Http(_) => tracing::info!(receiver = %id, endpoint = %addr, "Starting HTTP server"),
            }
        }
        let stop = stop.clone();
        tasks.push(match p {
            Proto::Grpc(s) => tokio::spawn(crate::net::serve_tls(l, s, stop, drain, t, tls)),
            Proto::Http(s) => tokio::spawn(crate::net::serve_tls(l, s, stop, drain, t, tls)),
        });
    }
    Ok(tasks)
}

/// Loads a listener's `tls:` now, so a missing or bad file fails the start (with key and path).
fn server_tls(
    id: &ComponentId,
    transport: &str,
    cfg: Option<&crate::tls::TlsServerConfig>,
    alpn: &'static [&'static [u8]],
) -> Result<Option<Arc<crate::tls::ServerTls>>, String> {
    let Some(cfg) = cfg else { return Ok(None) };
    let what = format!("receiver {id} ({transport})");
    crate::tls::ServerTls::new(what.clone(), cfg, alpn)
        .map(|t| Some(Arc::new(t)))
        .map_err(|e| format!("{what}: protocols::{transport}::{e}"))
}

enum Proto {
    Grpc(grpc::GrpcService),
    Http(http::HttpService),
}

#[cfg(test)]
mod timeout_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn http_timeouts_default_to_go_confighttp() {
        let t = HttpServerConfig::default().timeouts();
        assert_eq!(t.header_read, Some(Duration::from_secs(60)));
        assert_eq!(t.request, Some(Duration::from_secs(30)), "write_timeout 30s; read_timeout 0 = none");
        assert_eq!(t.idle, Some(Duration::from_secs(60)));
        let h: HttpServerConfig =
            serde_yaml_ng::from_str("read_timeout: 5s\nwrite_timeout: 10s\nidle_timeout: \"0\"").unwrap();
        let t = h.timeouts();
        assert_eq!(t.request, Some(Duration::from_secs(5)));
        assert_eq!(t.idle, None);
    }

    #[test]
    fn decode_budget_mib_is_checked() {
        let cfg: OtlpReceiverConfig = serde_yaml_ng::from_str("decode_budget_mib: 0\nprotocols: {http: {}}").unwrap();
        let (errs, _) = cfg.validate("receivers::otlp");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].to_string().contains("receivers::otlp::decode_budget_mib"), "{errs:?}");
        let cfg: OtlpReceiverConfig = serde_yaml_ng::from_str("decode_budget_mib: 64\nprotocols: {http: {}}").unwrap();
        assert!(cfg.validate("receivers::otlp").0.is_empty());
    }

    #[test]
    fn grpc_keepalive_is_parsed_and_applied() {
        let t = GrpcServerConfig::default().timeouts();
        assert_eq!(t.h2_keepalive, Some((Duration::from_secs(7200), Duration::from_secs(20))));
        assert_eq!(t.idle, Some(Duration::from_secs(300)));
        assert_eq!(t.request, Some(Duration::from_secs(60)));
        let g: GrpcServerConfig = serde_yaml_ng::from_str(
            "keepalive:\n  server_parameters:\n    time: 30s\n    timeout: 5s\n    max_connection_idle: 1m\n    max_connection_age: 1h\n",
        )
        .unwrap();
        let t = g.timeouts();
        assert_eq!(t.h2_keepalive, Some((Duration::from_secs(30), Duration::from_secs(5))));
        assert_eq!(t.idle, Some(Duration::from_secs(60)));
        let cfg = OtlpReceiverConfig { protocols: Protocols { grpc: Some(g), http: None }, decode_budget_mib: None };
        let (errs, warns) = cfg.validate("receivers::otlp");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(warns.len(), 1, "{warns:?}");
        assert!(warns[0].contains("max_connection_age"), "{warns:?}");
    }
}
