//! Start back to front, stop front to back under one deadline (Go: service/internal/graph
//! StartAll/ShutdownAll), driven only through the `Component` trait.
//!
//! Start: self-metrics listen (telemetry's own server), extensions start (health_check says
//! "starting"), exporters start their queue consumers, processors start (resource detection
//! runs once), receivers bind their ports (a port in use fails the start), extensions hear the
//! pipelines are ready. Stop (SIGTERM/SIGINT): extensions hear "not ready", receivers stop
//! accepting and finish open requests, batch processors flush, processors stop (the memory
//! limiter's checks), exporter queues drain until the deadline (`--shutdown-timeout`; then the
//! attempts under way are cut and whatever is still queued or in flight is counted as failed),
//! extensions stop, one summary line names every item dropped since start (per component,
//! signal and reason, never rate-limited; with several exporters in a pipeline each counts its
//! own copy), and the self-metrics server stops last.

use super::graph::{self, kind_title, Graph};
use crate::collector::Config;
use crate::component::factory::Extension;
use crate::component::{BuildError, ComponentId, Host, Kind, Settings, StartError};
use crate::telemetry::self_metrics::{self, drop_summary, SelfMetricsServer};
use crate::telemetry::Registry;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long draining may take after SIGTERM by default: under ECS's default 30 s stop timeout.
/// `--shutdown-timeout` or `OXIDOT_SHUTDOWN_TIMEOUT` (oxidot only; Go has no such setting).
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(25);

/// The environment variable that sets the shutdown deadline (a Go duration, e.g. `10s`).
pub const SHUTDOWN_TIMEOUT_ENV: &str = "OXIDOT_SHUTDOWN_TIMEOUT";

/// The shutdown deadline from a flag value, else the environment, else the default.
pub fn shutdown_timeout(flag: Option<&str>, env: Option<&str>) -> Result<Duration, String> {
    let (what, v) = match (flag, env) {
        (Some(f), _) => ("--shutdown-timeout", f),
        (None, Some(e)) if !e.trim().is_empty() => (SHUTDOWN_TIMEOUT_ENV, e),
        _ => return Ok(SHUTDOWN_DEADLINE),
    };
    let d = crate::config::serde_util::parse_duration(v.trim()).map_err(|e| format!("invalid {what} {v:?}: {e}"))?;
    if d.is_zero() {
        return Err(format!("invalid {what} {v:?}: must be greater than 0"));
    }
    if d > Duration::from_secs(24 * 3600) {
        return Err(format!("invalid {what} {v:?}: must be at most 24h"));
    }
    Ok(d)
}

/// How long /metrics stays up after a summary that reports drops, so a last scrape sees them.
const FINAL_SCRAPE: Duration = Duration::from_millis(300);

/// Why the collector did not start.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// A started collector.
pub struct Running {
    pub(super) graph: Graph,
    pub(super) host: Host,
    pub(super) self_metrics: SelfMetricsServer,
    /// The self-metrics registry: kept across reloads (`reload.rs`).
    pub(super) reg: Arc<Registry>,
}

/// Builds the extensions `service::extensions` enables, in that order.
pub fn build_extensions(cfg: &Config, reg: &Arc<Registry>) -> Result<Host, BuildError> {
    let level = cfg.service.telemetry.metrics.level().map_err(BuildError::Graph)?;
    let empty = Host::default();
    let mut exts: Vec<(ComponentId, Arc<dyn Extension>)> = Vec::new();
    for raw in &cfg.service.extensions {
        let Ok(id) = ComponentId::parse(raw) else { continue };
        let Some((_, c)) = cfg.extensions.iter().find(|(i, _)| *i == id) else { continue };
        let set = Settings { id: &id, telemetry: reg, level, host: &empty };
        exts.push((id.clone(), c.build(&set)?));
    }
    Ok(Host::new(exts))
}

/// Builds everything without starting anything (`oxidot validate`).
pub fn build(cfg: &Config) -> Result<(), BuildError> {
    let reg = Registry::new();
    let level = cfg.service.telemetry.metrics.level().map_err(BuildError::Graph)?;
    let host = build_extensions(cfg, &reg)?;
    graph::build(cfg, &reg, level, &host)?;
    Ok(())
}

/// Starts everything; on any error, stops the servers started and returns the error.
pub async fn start(cfg: &Config) -> Result<Running, LifecycleError> {
    let started_at = Instant::now();
    let reg = Registry::new();
    let self_metrics = self_metrics::start(&cfg.service.telemetry, &reg, started_at).await?;
    let level = cfg.service.telemetry.metrics.level().map_err(StartError::Telemetry)?;

    // service.go Start: the command, its version and runtime.NumCPU (the CPUs this process may
    // run on), before the extensions start.
    tracing::info!(Version = env!("CARGO_PKG_VERSION"), NumCPU = crate::cpu::affinity_cpus(), "Starting oxidot...");

    let host = match build_extensions(cfg, &reg) {
        Ok(h) => h,
        Err(e) => {
            self_metrics.shutdown().await;
            return Err(e.into());
        }
    };
    // After a failed start: stop what was started, briefly.
    let soon = || Instant::now() + Duration::from_secs(1);
    let stop_all = |host: Host, sm: SelfMetricsServer| async move {
        for (_, e) in host.extensions().collect::<Vec<_>>().into_iter().rev() {
            e.shutdown(soon()).await;
        }
        sm.shutdown().await;
    };
    let mut failed = None;
    for (_, e) in host.extensions() {
        if let Err(err) = e.start(&host).await {
            failed = Some(err);
            break;
        }
    }
    if let Some(err) = failed {
        stop_all(host, self_metrics).await;
        return Err(err.into());
    }
    let graph = match graph::build(cfg, &reg, level, &host) {
        Ok(g) => g,
        Err(e) => {
            stop_all(host, self_metrics).await;
            return Err(e.into());
        }
    };
    for (_, e) in &graph.exporters {
        // An exporter's start only spawns its queue consumers.
        let _ = e.start(&host).await;
    }
    // Processors start together (resource detection may wait on the network); the first
    // error in id order fails the start.
    let results = futures::future::join_all(graph.processors.iter().map(|(_, p)| p.start(&host))).await;
    let failed = graph.processors.iter().zip(results).find_map(|((id, _), r)| r.err().map(|e| (id.clone(), e)));
    if let Some((id, e)) = failed {
        let reason = e.to_string();
        // service/internal/graph StartAll: error, then the kind as Kind.String spells it, then id.
        tracing::error!(error = %reason, r#type = kind_title(Kind::Processor), id = %id, "Failed to start component");
        stop_all(host, self_metrics).await;
        return Err(StartError::Pipelines { kind: Kind::Processor, id, reason }.into());
    }
    let mut failed = None;
    for (i, (_, r)) in graph.receivers.iter().enumerate() {
        if let Err(e) = r.start(&host).await {
            failed = Some((i, e));
            break;
        }
    }
    if let Some((i, e)) = failed {
        for (_, started) in &graph.receivers[..i] {
            started.shutdown(soon()).await;
        }
        stop_all(host, self_metrics).await;
        return Err(e.into());
    }
    for (_, e) in host.extensions() {
        e.pipelines_ready();
    }
    tracing::info!("Everything is ready. Begin running and processing data.");
    Ok(Running { graph, host, self_metrics, reg })
}

impl Running {
    /// The self-metrics address actually bound (useful with port 0).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.self_metrics.addr
    }

    /// Drains and stops, front to back, within `deadline_after`.
    pub async fn shutdown(self, deadline_after: Duration) {
        let deadline = Instant::now() + deadline_after;
        tracing::info!("Starting shutdown...");
        for (_, e) in self.host.extensions() {
            e.pipelines_not_ready();
        }
        futures::future::join_all(self.graph.receivers.iter().map(|(_, r)| r.shutdown(deadline))).await;
        for s in &self.graph.stages {
            s.shutdown(deadline).await;
        }
        for (_, p) in &self.graph.processors {
            p.shutdown(deadline).await;
        }
        futures::future::join_all(self.graph.exporters.iter().map(|(_, e)| e.shutdown(deadline))).await;
        let exts: Vec<_> = self.host.extensions().collect();
        for (_, e) in exts.into_iter().rev() {
            e.shutdown(Instant::now() + Duration::from_secs(1)).await;
        }
        // One line, never rate-limited, with every item lost since start; /metrics still
        // serves the same counts until it is written.
        let (total, detail) = drop_summary();
        if total > 0 {
            tracing::error!(dropped_items = total, dropped = %detail,
                deadline = ?deadline_after, "Shutdown summary: data dropped");
            // A last scrape sees the final counts before the endpoint goes.
            tokio::time::sleep(FINAL_SCRAPE).await;
        } else {
            tracing::info!(dropped_items = 0, deadline = ?deadline_after, "Shutdown summary: nothing dropped");
        }
        self.self_metrics.shutdown().await;
        tracing::info!("Shutdown complete.");
    }
}

/// Waits for SIGTERM or SIGINT.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    // otelcol/collector.go Run: the message, and the signal's name as Go's
                    // syscall.Signal String spells it.
                    _ = term.recv() => tracing::info!(signal = "terminated", "Received signal from OS"),
                    _ = tokio::signal::ctrl_c() => tracing::info!(signal = "interrupt", "Received signal from OS"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shutdown_timeout_comes_from_the_flag_then_the_environment_then_the_default() {
        assert_eq!(shutdown_timeout(None, None), Ok(SHUTDOWN_DEADLINE));
        assert_eq!(shutdown_timeout(None, Some("")), Ok(SHUTDOWN_DEADLINE));
        assert_eq!(shutdown_timeout(None, Some("10s")), Ok(Duration::from_secs(10)));
        assert_eq!(shutdown_timeout(Some("1m30s"), Some("10s")), Ok(Duration::from_secs(90)));
        assert!(shutdown_timeout(Some("0s"), None).unwrap_err().contains("greater than 0"));
        assert!(shutdown_timeout(None, Some("soon")).unwrap_err().contains(SHUTDOWN_TIMEOUT_ENV));
        assert!(shutdown_timeout(Some("48h"), None).is_err());
    }
}
