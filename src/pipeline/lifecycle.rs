//! Start back to front, stop front to back under one deadline.
//!
//! Start: self-metrics and health_check listen (health says "starting"), exporters start their
//! queue consumers, receivers bind their ports (a port in use fails the start), health turns
//! ready. Stop (SIGTERM/SIGINT): health says "unavailable", receivers stop accepting and
//! finish open requests, batch processors flush, exporter queues drain until the deadline;
//! whatever is still queued then is counted as failed and logged.

use super::graph::{self, Graph};
use crate::config::service::MetricsLevel;
use crate::config::Config;
use crate::extension::health_check::{self, HealthState, Status};
use crate::registry::ExtensionConfig;
use crate::telemetry::{process, server, Registry};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long draining may take after SIGTERM: under ECS's default 30 s stop timeout.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(25);

/// A started collector.
pub struct Running {
    graph: Graph,
    health: Arc<HealthState>,
    receiver_stop: watch::Sender<bool>,
    receiver_tasks: Vec<JoinHandle<()>>,
    server_stop: watch::Sender<bool>,
    server_tasks: Vec<JoinHandle<()>>,
    /// Addresses actually bound (useful with port 0 in tests and logs).
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub health_addr: Option<std::net::SocketAddr>,
}

/// Starts everything; on any bind error, stops what was started and returns the error.
pub async fn start(cfg: &Config) -> Result<Running, String> {
    let started_at = Instant::now();
    let reg = Registry::new();
    let level = cfg.service.telemetry.metrics.level().map_err(|e| format!("service::telemetry::metrics: {e}"))?;
    let endpoint = cfg.service.telemetry.metrics.endpoint().map_err(|e| format!("service::telemetry::metrics: {e}"))?;
    let (server_stop, server_rx) = watch::channel(false);
    let mut server_tasks = Vec::new();
    let mut metrics_addr = None;

    if let Some(ep) = endpoint.filter(|_| level != MetricsLevel::None) {
        let l = server::bind("service::telemetry::metrics", &crate::receiver::otlp::listen_addr(&ep.address)).await?;
        metrics_addr = l.local_addr().ok();
        let r = Arc::clone(&reg);
        let with_suffixes = ep.with_suffixes;
        let mut target = vec![
            ("service_instance_id", crate::telemetry::instance_id().to_string()),
            ("service_name", "oxidot".to_string()),
            ("service_version", env!("CARGO_PKG_VERSION").to_string()),
        ];
        for (k, v) in &cfg.service.telemetry.resource {
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
        server_tasks.push(tokio::spawn(server::serve(l, handler, server_rx.clone())));
        // oxidot only (Go's otelconftelemetry logs nothing here); the address as text.
        if let Some(addr) = metrics_addr {
            tracing::info!(endpoint = %addr, "Serving self-metrics at /metrics");
        }
    }

    // service.go Start: the command, its version and runtime.NumCPU (the CPUs this process may
    // run on), before the extensions start.
    tracing::info!(Version = env!("CARGO_PKG_VERSION"), NumCPU = num_cpu(), "Starting oxidot...");

    let health = Arc::new(HealthState::default());
    health.set(Status::Starting);
    let mut health_addr = None;
    for raw in &cfg.service.extensions {
        let Ok(id) = crate::component::ComponentId::parse(raw) else {
            continue;
        };
        match cfg.extensions.iter().find(|(i, _)| *i == id).map(|(_, c)| c) {
            Some(ExtensionConfig::HealthCheck(h)) => {
                let l =
                    server::bind(&format!("extension {id}"), &crate::receiver::otlp::listen_addr(&h.endpoint)).await?;
                health_addr = l.local_addr().ok();
                // healthcheckextension Start: the message as Go's; oxidot prints the bound address
                // as text where Go dumps its config.
                if let Some(addr) = health_addr {
                    tracing::info!(extension = %id, endpoint = %addr, "Starting health_check extension");
                }
                server_tasks.push(tokio::spawn(server::serve(
                    l,
                    health_check::handler(h, Arc::clone(&health)),
                    server_rx.clone(),
                )));
            }
            Some(ExtensionConfig::Ignored(_)) | Some(ExtensionConfig::SigV4Auth(_)) | None => {}
        }
    }

    let graph = graph::build(cfg, &reg, level)?;
    for e in &graph.exporters {
        e.start();
    }
    let env = crate::processor::resourcedetection::process_env;
    // A resource detector's error fails the start (Go: the processor's Start error).
    for (d, r) in
        graph.detections.iter().zip(futures::future::join_all(graph.detections.iter().map(|d| d.detect(&env))).await)
    {
        if let Err(e) = r {
            // service/internal/graph StartAll: error, then the kind as Kind.String spells it, then id.
            tracing::error!(error = %e, r#type = "Processor", id = %d.id(), "Failed to start component");
            let _ = server_stop.send(true);
            return Err(format!("cannot start pipelines: failed to start {:?} processor: {e}", d.id()));
        }
    }
    for l in &graph.limiters {
        l.start();
    }
    let (receiver_stop, receiver_rx) = watch::channel(false);
    let mut receiver_tasks = Vec::new();
    for r in &graph.receivers {
        match crate::receiver::otlp::start(&r.id, &r.config, &r.consumers, &reg, receiver_rx.clone()).await {
            Ok(t) => receiver_tasks.extend(t),
            Err(e) => {
                let _ = receiver_stop.send(true);
                let _ = server_stop.send(true);
                return Err(e);
            }
        }
    }
    health.set(Status::Ready);
    tracing::info!("Everything is ready. Begin running and processing data.");
    Ok(Running { graph, health, receiver_stop, receiver_tasks, server_stop, server_tasks, metrics_addr, health_addr })
}

impl Running {
    /// Drains and stops, front to back, within `deadline_after`.
    pub async fn shutdown(self, deadline_after: Duration) {
        let deadline = Instant::now() + deadline_after;
        tracing::info!("Starting shutdown...");
        self.health.set(Status::Stopping);
        let _ = self.receiver_stop.send(true);
        for t in self.receiver_tasks {
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), t).await;
        }
        for p in &self.graph.processors {
            p.shutdown(deadline).await;
        }
        let exporters = self.graph.exporters.iter().map(|e| e.shutdown(deadline));
        futures::future::join_all(exporters).await;
        for l in &self.graph.limiters {
            l.shutdown();
        }
        let _ = self.server_stop.send(true);
        for t in self.server_tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
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

/// Go's runtime.NumCPU: the CPUs in this process's affinity mask (cgroup quotas not applied).
fn num_cpu() -> u64 {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for this process.
    let n = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set) as u64
        } else {
            0
        }
    };
    if n > 0 {
        n
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
    }
}
