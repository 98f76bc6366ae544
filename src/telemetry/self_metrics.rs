//! The self-metrics endpoint (`service::telemetry::metrics`, :8888/metrics): telemetry starts
//! and stops it; the lifecycle only asks.

use super::{process, server, Registry};
use crate::component::StartError;
use crate::config::service::{MetricsLevel, TelemetryConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A serving self-metrics endpoint (or none, with `level: none` or no endpoint).
pub struct SelfMetricsServer {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// The address actually bound (useful with port 0).
    pub addr: Option<std::net::SocketAddr>,
}

/// Binds and serves `/metrics` as `cfg` says; `started_at` is the process start for uptime.
pub async fn start(
    cfg: &TelemetryConfig,
    reg: &Arc<Registry>,
    started_at: Instant,
) -> Result<SelfMetricsServer, StartError> {
    let bad = |e: String| StartError::Telemetry(format!("service::telemetry::metrics: {e}"));
    let level = cfg.metrics.level().map_err(bad)?;
    let endpoint = cfg.metrics.endpoint().map_err(bad)?;
    let (stop, stop_rx) = watch::channel(false);
    let Some(ep) = endpoint.filter(|_| level != MetricsLevel::None) else {
        return Ok(SelfMetricsServer { stop, task: None, addr: None });
    };
    let l = server::bind("service::telemetry::metrics", &crate::net::listen_addr(&ep.address))
        .await
        .map_err(StartError::Listen)?;
    let addr = l.local_addr().ok();
    let r = Arc::clone(reg);
    let with_suffixes = ep.with_suffixes;
    let mut target = vec![
        ("service_instance_id", super::instance_id().to_string()),
        ("service_name", "oxidot".to_string()),
        ("service_version", env!("CARGO_PKG_VERSION").to_string()),
    ];
    for (k, v) in &cfg.resource {
        let key: &'static str = Box::leak(k.replace(['.', '-'], "_").into_boxed_str());
        target.retain(|(tk, _)| *tk != key);
        if let Some(v) = v {
            target.push((key, v.clone()));
        }
    }
    target.sort();
    let handler: server::Handler = Arc::new(move |req| {
        if req.uri().path() != "/metrics" {
            return server::response(404, "text/plain; charset=utf-8", "404 page not found\n");
        }
        let mut out = String::with_capacity(8192);
        r.render(&mut out, with_suffixes);
        process::render(&mut out, started_at, with_suffixes, &target, &r);
        server::response(200, "text/plain; version=0.0.4; charset=utf-8", out)
    });
    let task = tokio::spawn(server::serve(l, handler, stop_rx));
    // oxidot only (Go's otelconftelemetry logs nothing here); the address as text.
    if let Some(addr) = addr {
        tracing::info!(endpoint = %addr, "Serving self-metrics at /metrics");
    }
    Ok(SelfMetricsServer { stop, task: Some(task), addr })
}

impl SelfMetricsServer {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
    }
}
