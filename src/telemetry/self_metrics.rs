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

// The exit summary's ledger (oxidot only): the lifecycle writes it as one line at shutdown.

/// Why items were dropped, as the exit summary groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// The shutdown deadline passed with the data still queued, held or being retried.
    Deadline,
    /// The backend refused it for good, or retries ran out.
    BackendError,
    /// Downstream refused it (full or already shut down) and the holder gave up.
    Refused,
}

impl DropReason {
    fn as_str(self) -> &'static str {
        match self {
            DropReason::Deadline => "deadline reached",
            DropReason::BackendError => "backend error",
            DropReason::Refused => "refused downstream",
        }
    }
}

type DropKey = (&'static str, String, &'static str, DropReason);

/// Every item the collector accepted and then lost, by component, signal and reason: the exit
/// summary's source. Each loss is recorded once, by the component that lost it (an exporter's
/// send or queue, or a batch processor that held it), never rate-limited.
static DROPS: std::sync::Mutex<std::collections::BTreeMap<DropKey, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Records `items` lost by `kind` (`exporter`, `processor`) `id` for `signal`.
pub fn record_drop(
    kind: &'static str,
    id: &crate::component::ComponentId,
    signal: &'static str,
    reason: DropReason,
    items: u64,
) {
    if items == 0 {
        return;
    }
    let mut d = DROPS.lock().unwrap_or_else(|p| p.into_inner());
    *d.entry((kind, id.to_string(), signal, reason)).or_default() += items;
}

/// The one summary line's text and total: `exporter otlphttp traces: 4500 (deadline reached: 4000,
/// backend error: 500); ...`, or `none`.
pub fn drop_summary() -> (u64, String) {
    let d = DROPS.lock().unwrap_or_else(|p| p.into_inner());
    let mut total = 0u64;
    let mut groups: Vec<(String, u64, Vec<String>)> = Vec::new();
    for ((kind, id, signal, reason), n) in d.iter() {
        total += n;
        let name = format!("{kind} {id} {signal}");
        if groups.last().map(|g| &g.0) != Some(&name) {
            groups.push((name, 0, Vec::new()));
        }
        if let Some(g) = groups.last_mut() {
            g.1 += n;
            g.2.push(format!("{}: {n}", reason.as_str()));
        }
    }
    if groups.is_empty() {
        return (0, "none".into());
    }
    let text = groups.iter().map(|(n, t, r)| format!("{n}: {t} ({})", r.join(", "))).collect::<Vec<_>>().join("; ");
    (total, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::ComponentId;

    #[test]
    fn the_summary_groups_drops_by_component_and_signal_with_each_reason() {
        let id = ComponentId::parse("otlphttp/summary_test").unwrap();
        record_drop("exporter", &id, "traces", DropReason::Deadline, 4000);
        record_drop("exporter", &id, "traces", DropReason::BackendError, 500);
        record_drop("exporter", &id, "traces", DropReason::Deadline, 0);
        let (total, text) = drop_summary();
        assert!(total >= 4500, "{text}");
        assert!(
            text.contains("exporter otlphttp/summary_test traces: 4500 (deadline reached: 4000, backend error: 500)"),
            "{text}"
        );
    }
}
