//! Hot reload on SIGHUP. The Go collector (otelcol/collector.go `Run`, `reloadConfiguration`)
//! shuts the whole service down, then loads and starts the new config, and exits if that fails.
//! oxidot instead re-reads and validates first (`main`; an invalid config never reaches here and
//! the old keeps running) and switches to a valid one like this:
//!
//! 1. The new graph and extensions are built (not started) on the same self-metrics registry;
//!    a build error refuses the reload and the old graph never stops.
//! 2. The old receivers stop accepting and finish their open requests; the old extensions stop
//!    (health_check's port is freed).
//! 3. The new extensions, processors and receivers start, a bind retried briefly; health says
//!    ready. New data goes into the new exporters' queues, whose consumers are not started yet.
//! 4. The old pipelines drain as at shutdown (batches flush, queues empty until the deadline,
//!    what is left counted as failed), then the new exporters start: a backend sees every old
//!    item before any new one, so remote write's per-series order holds across the reload.
//!    A persistent queue is handed over on disk instead: the old exporter stops at once (as at
//!    shutdown) and releases its log; the new one, built pending in step 1 because this process
//!    held the directory, opens it then and writes what arrived meanwhile (its senders waited).
//!
//! If step 3 fails, what of the new graph started is stopped and drained, and the old config is
//! built and started again (refused, the old config keeps running). If even that fails the
//! reload is fatal: the process drains and exits with the error.
//!
//! Between steps 2 and 3 connections to the receivers' ports are refused for a moment (the ports
//! are closed and bound again); senders retry. `/metrics` is never restarted: its server and
//! registry outlive reloads, so counters go on counting (telemetry settings changed in the new
//! config apply at the next restart).

use super::graph::{self, Graph};
use super::lifecycle::{build_extensions, Running};
use crate::collector::Config;
use crate::component::{BuildError, Host, StartError};
use crate::telemetry::names::{CONFIG_RELOADS, LABEL_OUTCOME};
use crate::telemetry::Registry;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the switch ended.
pub enum Reloaded {
    /// The new config runs.
    Switched(Running),
    /// The new config could not be built or started; the old one runs (again).
    Refused(Running, String),
    /// Neither config runs: the process must exit.
    Fatal(String),
}

/// A built, not yet started, configuration.
struct Prepared {
    graph: Graph,
    host: Host,
}

/// How long a listener is tried again after the port was just freed.
const BIND_RETRIES: u32 = 30;
const BIND_RETRY_WAIT: Duration = Duration::from_millis(100);

/// Counts one reload attempt (oxidot only: Go counts none).
pub fn record(reg: &Registry, ok: bool) {
    let outcome = if ok { "success" } else { "failure" };
    reg.counter(CONFIG_RELOADS, "Configuration reloads (SIGHUP) by outcome", vec![(LABEL_OUTCOME, outcome.into())])
        .add(1);
}

fn prepare(cfg: &Config, reg: &Arc<Registry>) -> Result<Prepared, BuildError> {
    let level = cfg.service.telemetry.metrics.level().map_err(BuildError::Graph)?;
    let host = build_extensions(cfg, reg)?;
    let graph = graph::build(cfg, reg, level, &host)?;
    Ok(Prepared { graph, host })
}

/// Runs `start` again while it fails to bind (the old listener was closed a moment ago).
async fn with_bind_retry<F: Future<Output = Result<(), StartError>>>(start: impl Fn() -> F) -> Result<(), StartError> {
    let mut n = 0;
    loop {
        match start().await {
            Err(StartError::Listen(_)) if n < BIND_RETRIES => {
                n += 1;
                tokio::time::sleep(BIND_RETRY_WAIT).await;
            }
            r => return r,
        }
    }
}

/// Step 2: no new data in; extensions down.
async fn stop_intake(graph: &Graph, host: &Host, deadline: Instant) {
    for (_, e) in host.extensions() {
        e.pipelines_not_ready();
    }
    futures::future::join_all(graph.receivers.iter().map(|(_, r)| r.shutdown(deadline))).await;
    let exts: Vec<_> = host.extensions().collect();
    for (_, e) in exts.into_iter().rev() {
        e.shutdown(Instant::now() + Duration::from_secs(1)).await;
    }
}

/// Step 3: extensions, processors and receivers up; exporters' queues fill, not yet sent.
async fn start_intake(p: &Prepared) -> Result<(), StartError> {
    for (_, e) in p.host.extensions() {
        with_bind_retry(|| e.start(&p.host)).await?;
    }
    let results = futures::future::join_all(p.graph.processors.iter().map(|(_, c)| c.start(&p.host))).await;
    if let Some(e) = results.into_iter().find_map(Result::err) {
        return Err(e);
    }
    for (i, (_, r)) in p.graph.receivers.iter().enumerate() {
        if let Err(e) = with_bind_retry(|| r.start(&p.host)).await {
            for (_, started) in &p.graph.receivers[..i] {
                started.shutdown(Instant::now() + Duration::from_secs(1)).await;
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Step 4 for the old graph: as at shutdown, receivers already stopped.
async fn drain(graph: &Graph, deadline: Instant) {
    for s in &graph.stages {
        s.shutdown(deadline).await;
    }
    for (_, c) in &graph.processors {
        c.shutdown(deadline).await;
    }
    futures::future::join_all(graph.exporters.iter().map(|(_, e)| e.shutdown(deadline))).await;
}

/// Step 4 for the new graph: its queues start sending.
async fn go(p: &Prepared) {
    for (_, e) in &p.graph.exporters {
        // An exporter's start only spawns its queue consumers.
        let _ = e.start(&p.host).await;
    }
}

/// Health says ready: the receivers accept data again.
fn ready(p: &Prepared) {
    for (_, e) in p.host.extensions() {
        e.pipelines_ready();
    }
}

impl Running {
    /// Switches from `old` (what runs) to `new` (valid); `deadline_after` bounds each drain.
    pub async fn reload(self, new: &Config, old: &Config, deadline_after: Duration) -> Reloaded {
        let fresh = match prepare(new, &self.reg) {
            Ok(p) => p,
            Err(e) => return Reloaded::Refused(self, e.to_string()),
        };
        let Running { graph: old_graph, host: old_host, self_metrics, reg } = self;
        stop_intake(&old_graph, &old_host, Instant::now() + deadline_after).await;
        let failed = match start_intake(&fresh).await {
            Ok(()) => {
                ready(&fresh);
                drain(&old_graph, Instant::now() + deadline_after).await;
                go(&fresh).await;
                return Reloaded::Switched(Running { graph: fresh.graph, host: fresh.host, self_metrics, reg });
            }
            Err(e) => e.to_string(),
        };
        // Back to the old config; whatever the new graph took in is drained after the old data.
        stop_intake(&fresh.graph, &fresh.host, Instant::now() + deadline_after).await;
        let back = match prepare(old, &reg) {
            Ok(p) => match start_intake(&p).await {
                Ok(()) => {
                    ready(&p);
                    Ok(p)
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        drain(&old_graph, Instant::now() + deadline_after).await;
        go(&fresh).await;
        drain(&fresh.graph, Instant::now() + deadline_after).await;
        match back {
            Ok(p) => {
                go(&p).await;
                Reloaded::Refused(Running { graph: p.graph, host: p.host, self_metrics, reg }, failed)
            }
            Err(e) => {
                self_metrics.shutdown().await;
                Reloaded::Fatal(format!("{failed}; starting the previous configuration again failed too: {e}"))
            }
        }
    }

    /// Counts a reload attempt that ended before [`Running::reload`] (an invalid config).
    pub fn record_reload(&self, ok: bool) {
        record(&self.reg, ok);
    }
}

/// What the process was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Stop,
    Reload,
}

/// SIGTERM, SIGINT and SIGHUP, registered once (as otelcol/collector.go `Run` does).
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals { term: signal(SignalKind::terminate()).ok(), hup: signal(SignalKind::hangup()).ok() }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next request.
    pub async fn next(&mut self) -> Request {
        #[cfg(unix)]
        {
            let Signals { term, hup } = self;
            let term = async {
                match term.as_mut() {
                    Some(t) => t.recv().await,
                    None => std::future::pending().await,
                }
            };
            let hup = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // otelcol/collector.go Run: the message, and the signal's name as Go's
                // syscall.Signal String spells it.
                _ = term => { tracing::info!(signal = "terminated", "Received signal from OS"); Request::Stop }
                _ = tokio::signal::ctrl_c() => { tracing::info!(signal = "interrupt", "Received signal from OS"); Request::Stop }
                _ = hup => { tracing::info!(signal = "hangup", "Received signal from OS"); Request::Reload }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Request::Stop
        }
    }
}

impl Default for Signals {
    fn default() -> Self {
        Signals::new()
    }
}
