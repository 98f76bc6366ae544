//! The `prometheus` receiver's factory and its running form (Go: prometheusreceiver/factory.go,
//! metrics_receiver.go).

use super::adjust::Adjuster;
use super::scrape::{Loop, Shared};
use super::PrometheusReceiverConfig;
use crate::component::factory::{base, beta, decode, done, Parsed, ReceiverConfig, ReceiverFactory};
use crate::component::{
    BuildError, Component, ComponentId, Factory, Host, Kind, Settings, Signal, StartError, TypeInfo,
};
use crate::pipeline::consumer::SignalConsumers;
use crate::telemetry::component::ReceiverTelemetry;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct PrometheusReceiverFactory;

const TYPES: &[TypeInfo] = &[beta(
    Kind::Receiver,
    "prometheus",
    &[Signal::Metrics],
    "scrapes Prometheus text and OpenMetrics endpoints (static_configs, relabeling)",
)];

impl Factory for PrometheusReceiverFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default has no scrape config (and does not validate); this scrapes the
        // collector's own self-metrics, as ADOT's ECS configs do.
        serde_yaml_ng::from_str(
            "config: {scrape_configs: [{job_name: otel-collector, static_configs: [{targets: ['localhost:8888']}]}]}",
        )
        .unwrap_or(Value::Null)
    }
}

impl ReceiverFactory for PrometheusReceiverFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ReceiverConfig>> {
        let mut c: PrometheusReceiverConfig = decode(Kind::Receiver, id, v)?;
        let (e, w) = c.validate(&base(Kind::Receiver, id));
        done(Box::new(c), e, w)
    }
}

impl ReceiverConfig for PrometheusReceiverConfig {
    fn build(&self, set: &Settings, consumers: SignalConsumers) -> Result<Arc<dyn Component>, BuildError> {
        let consumer = consumers.metrics.clone().ok_or_else(|| {
            BuildError::component(Kind::Receiver, set.id, "the prometheus receiver needs a metrics pipeline")
        })?;
        // Go: the adjuster forgets series after max(1m, the longest scrape interval).
        let gc = self.resolved.jobs.iter().map(|j| j.interval).max().unwrap_or_default().max(Duration::from_secs(60));
        let shared = Arc::new(Shared {
            id: set.id.clone(),
            consumer,
            telemetry: ReceiverTelemetry::new(set.telemetry, set.id, "http", Signal::Metrics),
            adjuster: Mutex::new(Adjuster::new(gc)),
            external: self.resolved.external_labels.clone(),
            trim_suffixes: self.trim_metric_suffixes,
            report_extra: self.report_extra_scrape_metrics,
            version: env!("CARGO_PKG_VERSION"),
        });
        let mut loops = Vec::new();
        for job in &self.resolved.jobs {
            let client = crate::http_client::build(&job.tls).map_err(|e| {
                BuildError::component(Kind::Receiver, set.id, format!("scrape config {:?}: tls_config: {e}", job.name))
            })?;
            let job = Arc::new(job.clone());
            let (targets, errs) = super::target::targets(&job);
            for e in errs {
                tracing::warn!(component = %set.id, job = %job.name, "{e}");
            }
            for t in targets {
                loops.push(Loop::new(Arc::clone(&job), t, client.clone(), Arc::clone(&shared)));
            }
        }
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(PrometheusReceiver { loops: Mutex::new(loops), stop, tasks: Mutex::new(Vec::new()) }))
    }
}

/// A built receiver: one scrape loop per target, started on start, stopped on shutdown.
pub struct PrometheusReceiver {
    loops: Mutex<Vec<Loop>>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

#[async_trait]
impl Component for PrometheusReceiver {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        let loops = std::mem::take(&mut *self.loops.lock().unwrap_or_else(|p| p.into_inner()));
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for l in loops {
            tasks.push(tokio::spawn(l.run(self.stop.subscribe())));
        }
        Ok(())
    }

    async fn shutdown(&self, deadline: Instant) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), t).await;
        }
    }
}
