//! The `awsecscontainermetrics` receiver's factory and its running form (Go: factory.go,
//! receiver.go, internal/awsecscontainermetrics/stats_provider.go).

use super::model::{TaskMetadata, TaskStats};
use super::translate::metrics_data;
use super::EcsContainerMetricsConfig;
use crate::aws::ecs_metadata;
use crate::component::factory::{base, beta, decode, done, Parsed, ReceiverConfig, ReceiverFactory};
use crate::component::{
    BuildError, Component, ComponentId, Factory, Host, Kind, Settings, Signal, StartError, TypeInfo,
};
use crate::pipeline::consumer::SignalConsumers;
use crate::pipeline::data::Batch;
use crate::receiver::helper::Delivery;
use crate::telemetry::component::ReceiverTelemetry;
use crate::telemetry::logging::RateLimit;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct EcsContainerMetricsFactory;

const TYPES: &[TypeInfo] = &[beta(
    Kind::Receiver,
    "awsecscontainermetrics",
    &[Signal::Metrics],
    "ECS task and container resource usage from the task metadata endpoint v4",
)];

/// The variable the ECS agent sets in every container.
pub const ENDPOINT_ENV: &str = ecs_metadata::V4_ENV;
/// The longest one collection may take (Go's client has no timeout).
const MAX_FETCH: Duration = Duration::from_secs(10);

impl Factory for EcsContainerMetricsFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        serde_yaml_ng::from_str("collection_interval: 20s").unwrap_or(Value::Null)
    }
}

impl ReceiverFactory for EcsContainerMetricsFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ReceiverConfig>> {
        let c: EcsContainerMetricsConfig = decode(Kind::Receiver, id, v)?;
        let e = c.validate(&base(Kind::Receiver, id));
        done(Box::new(c), e, Vec::new())
    }
}

impl ReceiverConfig for EcsContainerMetricsConfig {
    fn build(&self, set: &Settings, consumers: SignalConsumers) -> Result<Arc<dyn Component>, BuildError> {
        let consumer = consumers.metrics.clone().ok_or_else(|| {
            BuildError::component(
                Kind::Receiver,
                set.id,
                "the awsecscontainermetrics receiver needs a metrics pipeline",
            )
        })?;
        // Go reads the variable when the receiver is created (endpoints.GetTMEV4FromEnv): the
        // environment the ECS agent gives the container, not a tunable.
        let client = crate::http_client::build(&Default::default())
            .map_err(|e| BuildError::component(Kind::Receiver, set.id, e))?;
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(EcsContainerMetricsReceiver {
            inner: Arc::new(Inner {
                id: set.id.clone(),
                interval: self.collection_interval.0,
                endpoint: ecs_metadata::v4_endpoint(std::env::var(ENDPOINT_ENV).ok()),
                client,
                entry: Delivery {
                    consumer,
                    telemetry: ReceiverTelemetry::new(set.telemetry, set.id, "http", Signal::Metrics),
                },
                log: RateLimit::new(),
            }),
            stop,
            tasks: Mutex::new(Vec::new()),
        }))
    }
}

struct Inner {
    id: ComponentId,
    interval: Duration,
    endpoint: Option<String>,
    client: crate::http_client::HttpClient,
    entry: Delivery,
    log: RateLimit,
}

pub struct EcsContainerMetricsReceiver {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

impl Inner {
    /// StatsProvider.GetStats: `/task`, then `/task/stats`.
    async fn fetch(&self, base: &str) -> Result<(TaskStats, TaskMetadata), String> {
        let deadline = tokio::time::Instant::now() + self.interval.min(MAX_FETCH);
        let read = |e: String| format!("cannot read data from task metadata endpoint: {e}");
        let body = ecs_metadata::get(&self.client, &format!("{base}/task"), deadline).await.map_err(read)?;
        let md: TaskMetadata = serde_json::from_slice(&body).map_err(|e| {
            read(format!("encountered unexpected error reading response from ECS Task Metadata Endpoint: {e}"))
        })?;
        let body = ecs_metadata::get(&self.client, &format!("{base}/task/stats"), deadline).await.map_err(read)?;
        let stats: TaskStats =
            serde_json::from_slice(&body).map_err(|e| format!("cannot unmarshall task stats: {e}"))?;
        Ok((stats, md))
    }

    /// receiver.go collectDataFromEndpoint: one batch per collection (Go sends one request
    /// per container and one for the task).
    async fn collect(&self, base: &str) {
        let (stats, md) = match self.fetch(base).await {
            Ok(v) => v,
            Err(e) => {
                if self.log.allow(60) {
                    tracing::error!(receiver = %self.id, error = %e, "Failed to collect stats");
                }
                return;
            }
        };
        let (rms, warnings) = metrics_data(&stats, &md, now_ns());
        for w in warnings {
            tracing::warn!(receiver = %self.id, "{w}");
        }
        if let Err(e) = self.entry.deliver(Batch::Metrics(rms)).await {
            if self.log.allow(60) {
                tracing::warn!(receiver = %self.id, error = %e,
                    "The pipeline refused the ECS metrics (counted in otelcol_receiver_refused_metric_points)");
            }
        }
    }
}

#[async_trait]
impl Component for EcsContainerMetricsReceiver {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        let Some(base) = self.inner.endpoint.clone() else {
            // Go fails the start ("unable to detect task metadata endpoint"); oxidot keeps the
            // other pipelines up and says once why this one collects nothing.
            tracing::error!(receiver = %self.inner.id,
                "unable to detect task metadata endpoint: no valid endpoint for environment variable {ENDPOINT_ENV}: no ECS metrics will be collected");
            return Ok(());
        };
        let inner = Arc::clone(&self.inner);
        let mut stop = self.stop.subscribe();
        let period = inner.interval.max(Duration::from_millis(1));
        let task = tokio::spawn(async move {
            // The first collection one interval after start, as Go's ticker.
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    // A collection is bounded (MAX_FETCH, the pipeline's own limits) and not cut.
                    _ = t.tick() => inner.collect(&base).await,
                }
            }
        });
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(task);
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
