//! Builds the running graph from `service.pipelines` with the components' own factories: one
//! receiver per id (feeding every pipeline that names it), one processor per id attached to
//! each pipeline naming it, one exporter per id and signal (shared by every pipeline of that
//! signal naming it), wrapped by the shared exporter helper. Names no component.

use super::consumer::{Consumer, SignalConsumers};
use super::fanout::Fanout;
use crate::collector::Config;
use crate::component::factory::Processor;
use crate::component::{BuildError, Component, ComponentId, Host, Kind, PipelineId, Settings, Signal};
use crate::config::service::MetricsLevel;
use crate::exporter::helper::persistent::PersistentQueue;
use crate::exporter::helper::{ExporterHelper, HelperSettings};
use crate::telemetry::component::ExporterTelemetry;
use crate::telemetry::Registry;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Everything built from the config, ready to start, in start order within each kind.
pub struct Graph {
    pub receivers: Vec<(ComponentId, Arc<dyn Component>)>,
    /// One per processor id (shared state: resource detection, memory limiter).
    pub processors: Vec<(ComponentId, Arc<dyn Component>)>,
    /// Per-pipeline stages with a shutdown of their own (batch flush), front to back.
    pub stages: Vec<Arc<dyn Component>>,
    pub exporters: Vec<(ComponentId, Arc<dyn Component>)>,
}

/// Builds the graph; must run inside the tokio runtime (processors start their tasks).
pub fn build(cfg: &Config, reg: &Arc<Registry>, level: MetricsLevel, host: &Host) -> Result<Graph, BuildError> {
    let mut exporters: BTreeMap<(ComponentId, Signal), Arc<ExporterHelper>> = BTreeMap::new();
    let mut processors: BTreeMap<ComponentId, Arc<dyn Processor>> = BTreeMap::new();
    let mut stages: BTreeMap<PipelineId, Vec<Arc<dyn Component>>> = BTreeMap::new();
    let mut receiver_inputs: BTreeMap<ComponentId, BTreeMap<Signal, Vec<Arc<dyn Consumer>>>> = BTreeMap::new();
    let graph = |e: String| BuildError::Graph(e);

    for (name, p) in &cfg.service.pipelines {
        let pid = PipelineId::parse(name).map_err(|e| graph(format!("service::pipelines::{name}: {e}")))?;
        let signal = pid.signal;
        let mut branches: Vec<Arc<dyn Consumer>> = Vec::new();
        for raw in &p.exporters {
            let id = ComponentId::parse(raw).map_err(graph)?;
            let key = (id.clone(), signal);
            if !exporters.contains_key(&key) {
                let ecfg = cfg.exporters.iter().find(|(i, _)| *i == id).map(|(_, c)| c).ok_or_else(|| {
                    graph(format!("pipeline {pid} references exporter {id:?} which is not configured"))
                })?;
                let built = ecfg.build(&Settings { id: &id, telemetry: reg, level, host }, signal)?;
                let telemetry = ExporterTelemetry::new(reg, &id, signal, &built.labels);
                let settings = ecfg.helper_settings();
                let helper = match settings.queue.storage.clone().filter(|_| settings.queue.enabled) {
                    None => ExporterHelper::new(id.clone(), signal, built.exporter, telemetry, settings),
                    Some(storage) => {
                        let q = persistent_queue(reg, host, &id, signal, &storage, &settings)?;
                        ExporterHelper::new_persistent(id.clone(), signal, built.exporter, telemetry, settings, q)
                    }
                };
                exporters.insert(key.clone(), helper);
            }
            if let Some(h) = exporters.get(&key) {
                branches.push(Arc::clone(h) as Arc<dyn Consumer>);
            }
        }
        let mut next: Arc<dyn Consumer> = Fanout::of(branches);
        for raw in p.processors.iter().rev() {
            let id = ComponentId::parse(raw).map_err(graph)?;
            let node = match processors.get(&id) {
                Some(n) => Arc::clone(n),
                None => {
                    let pcfg = cfg.processors.iter().find(|(i, _)| *i == id).map(|(_, c)| c).ok_or_else(|| {
                        graph(format!("pipeline {pid} references processor {id:?} which is not configured"))
                    })?;
                    let n = pcfg.build(&Settings { id: &id, telemetry: reg, level, host })?;
                    processors.insert(id.clone(), Arc::clone(&n));
                    n
                }
            };
            let stage = node.attach(&Settings { id: &id, telemetry: reg, level, host }, &pid, next)?;
            if let Some(l) = stage.lifecycle {
                stages.entry(pid.clone()).or_default().push(l);
            }
            next = stage.consumer;
        }
        for raw in &p.receivers {
            let id = ComponentId::parse(raw).map_err(graph)?;
            receiver_inputs.entry(id).or_default().entry(signal).or_default().push(Arc::clone(&next));
        }
    }

    let mut receivers = Vec::new();
    for (id, per_signal) in receiver_inputs {
        let rcfg = cfg
            .receivers
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| c)
            .ok_or_else(|| graph(format!("receiver {id:?} is not configured")))?;
        let mut consumers = SignalConsumers::default();
        for (signal, list) in per_signal {
            consumers.set(signal, Fanout::of(list));
        }
        let r = rcfg.build(&Settings { id: &id, telemetry: reg, level, host }, consumers)?;
        receivers.push((id, r));
    }
    // Stages were pushed back to front within each pipeline; shut them down front to back.
    let mut ordered = Vec::new();
    for (_, mut list) in stages {
        list.reverse();
        ordered.extend(list);
    }
    Ok(Graph {
        receivers,
        processors: processors.into_iter().map(|(id, p)| (id, p as Arc<dyn Component>)).collect(),
        stages: ordered,
        exporters: exporters
            .into_iter()
            .map(|((id, _), h)| (id, Arc::new(QueuedExporter(h)) as Arc<dyn Component>))
            .collect(),
    })
}

/// Opens the queue log of `id` and `signal` from the storage extension `storage` (Go:
/// persistent_queue.go `toStorageClient`, keyed by the exporter id and the signal). During a
/// reload the old generation may hold it: then the queue opens it once the old one releases it.
fn persistent_queue(
    reg: &Registry,
    host: &Host,
    id: &ComponentId,
    signal: Signal,
    storage: &str,
    s: &HelperSettings,
) -> Result<Arc<PersistentQueue>, BuildError> {
    let err = |m: String| BuildError::component(Kind::Exporter, id, m);
    let sid = ComponentId::parse(storage).map_err(err)?;
    let ext = host
        .extensions()
        .find(|(i, _)| *i == sid)
        .ok_or_else(|| err(format!("sending_queue::storage: no storage client extension found ({storage:?})")))?;
    let st = ext.1.storage().ok_or_else(|| {
        err(format!("sending_queue::storage: requested extension is not a storage extension ({storage:?})"))
    })?;
    let client = crate::storage::client_name(
        Kind::Exporter.word(),
        &id.type_,
        id.name.as_deref().unwrap_or(""),
        signal.as_str(),
    );
    let (size, sizer) = (s.queue.queue_size, s.queue.sizer);
    if st.queue_open_here(&client) {
        let open = st.open_queue_after_release(&client);
        return Ok(PersistentQueue::opening_later(reg, id, signal, size, sizer, open));
    }
    let opened = st.open_queue(&client).map_err(err)?;
    Ok(Arc::new(PersistentQueue::new(reg, id, signal, opened, size, sizer)))
}

/// The helper-wrapped exporter's lifecycle: queue consumers up at start, drained at shutdown.
struct QueuedExporter(Arc<ExporterHelper>);

#[async_trait]
impl Component for QueuedExporter {
    async fn start(&self, _host: &Host) -> Result<(), crate::component::StartError> {
        self.0.start();
        Ok(())
    }
    async fn shutdown(&self, deadline: Instant) {
        self.0.shutdown(deadline).await;
    }
}

/// The kind of a graph node as Go's Kind.String spells it in "Failed to start component".
pub fn kind_title(kind: Kind) -> &'static str {
    match kind {
        Kind::Receiver => "Receiver",
        Kind::Processor => "Processor",
        Kind::Exporter => "Exporter",
        Kind::Extension => "Extension",
        Kind::Connector => "Connector",
    }
}
