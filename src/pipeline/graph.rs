//! Builds the running graph from `service.pipelines`: one receiver instance per id (feeding
//! every pipeline that names it), processors per pipeline, one exporter instance per id and
//! signal (shared by every pipeline of that signal that names it).

use super::consumer::Consumer;
use super::fanout::Fanout;
use crate::component::{ComponentId, PipelineId, Signal};
use crate::config::service::MetricsLevel;
use crate::config::Config;
use crate::exporter::debug::DebugExporter;
use crate::exporter::helper::{ExporterHelper, HelperSettings};
use crate::exporter::otlp::grpc::OtlpGrpcExporter;
use crate::exporter::otlp::http::OtlpHttpExporter;
use crate::exporter::Exporter;
use crate::processor::attributes::AttributesTransform;
use crate::processor::batch::BatchProcessor;
use crate::processor::memory_limiter::{MemoryLimiter, MemoryLimiterProcessor};
use crate::processor::resource::ResourceTransform;
use crate::processor::resourcedetection::ResourceDetection;
use crate::processor::{Transform, TransformProcessor};
use crate::receiver::otlp::{OtlpReceiverConfig, SignalConsumers};
use crate::registry::{ExporterConfig, ProcessorConfig, ReceiverConfig};
use crate::telemetry::component::ExporterTelemetry;
use crate::telemetry::names::{LABEL_SERVER_ADDRESS, LABEL_SERVER_PORT, LABEL_URL_PATH};
use crate::telemetry::Registry;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A receiver with the consumers of every pipeline it feeds.
pub struct ReceiverNode {
    pub id: ComponentId,
    pub config: OtlpReceiverConfig,
    pub consumers: SignalConsumers,
}

/// Everything built from the config, ready to start.
pub struct Graph {
    pub receivers: Vec<ReceiverNode>,
    /// Batch processors in pipeline order (front to back), for the shutdown flush.
    pub processors: Vec<Arc<BatchProcessor>>,
    pub exporters: Vec<Arc<ExporterHelper>>,
    /// Resource detection runs once at start, before receivers accept data.
    pub detections: Vec<Arc<ResourceDetection>>,
    /// One limiter per memory_limiter id, shared by every pipeline naming it.
    pub limiters: Vec<Arc<MemoryLimiter>>,
}

/// Builds the graph; must run inside the tokio runtime (processors start their tasks).
pub fn build(cfg: &Config, reg: &Registry, level: MetricsLevel) -> Result<Graph, String> {
    let mut exporters: BTreeMap<(ComponentId, Signal), Arc<ExporterHelper>> = BTreeMap::new();
    let mut processors = Vec::new();
    let mut receiver_inputs: BTreeMap<ComponentId, BTreeMap<Signal, Vec<Arc<dyn Consumer>>>> = BTreeMap::new();
    let mut detections: BTreeMap<ComponentId, Arc<ResourceDetection>> = BTreeMap::new();
    let mut limiters: BTreeMap<ComponentId, Arc<MemoryLimiter>> = BTreeMap::new();

    for (name, p) in &cfg.service.pipelines {
        let pid = PipelineId::parse(name).map_err(|e| format!("service::pipelines::{name}: {e}"))?;
        let signal = pid.signal;
        let mut branches: Vec<Arc<dyn Consumer>> = Vec::new();
        for raw in &p.exporters {
            let id = ComponentId::parse(raw)?;
            let key = (id.clone(), signal);
            if !exporters.contains_key(&key) {
                let ecfg = cfg
                    .exporters
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, c)| c)
                    .ok_or_else(|| format!("pipeline {pid} references exporter {id:?} which is not configured"))?;
                let helper =
                    build_exporter(&id, signal, ecfg, cfg, reg).map_err(|e| format!("exporters::{id}: {e}"))?;
                exporters.insert(key.clone(), helper);
            }
            if let Some(h) = exporters.get(&key) {
                branches.push(Arc::clone(h) as Arc<dyn Consumer>);
            }
        }
        let mut next: Arc<dyn Consumer> = Fanout::of(branches);
        for raw in p.processors.iter().rev() {
            let id = ComponentId::parse(raw)?;
            let pcfg = cfg
                .processors
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, c)| c)
                .ok_or_else(|| format!("pipeline {pid} references processor {id:?} which is not configured"))?;
            next = match pcfg {
                ProcessorConfig::Batch(b) => {
                    let bp =
                        BatchProcessor::new(id.clone(), signal, b.clone(), next, reg, level >= MetricsLevel::Normal);
                    processors.push((pid.clone(), Arc::clone(&bp)));
                    bp
                }
                ProcessorConfig::MemoryLimiter(m) => {
                    let lim = limiters.entry(id.clone()).or_insert_with(|| MemoryLimiter::new(id.clone(), m));
                    MemoryLimiterProcessor::new(Arc::clone(lim), signal, next, reg)
                }
                ProcessorConfig::ResourceDetection(c) => {
                    let rd = detections
                        .entry(id.clone())
                        .or_insert_with(|| Arc::new(ResourceDetection::new(id.to_string(), (**c).clone())));
                    rd.built_in(pid.to_string(), signal.as_str());
                    TransformProcessor::new(&id, signal, Arc::clone(rd) as Arc<dyn Transform>, next, reg)
                }
                ProcessorConfig::Resource(c) => {
                    let t = ResourceTransform::new(c).map_err(|e| format!("processors::{id}: {e}"))?;
                    TransformProcessor::new(&id, signal, Arc::new(t), next, reg)
                }
                ProcessorConfig::Attributes(c) => {
                    let t = AttributesTransform::new(c).map_err(|e| format!("processors::{id}: {e}"))?;
                    TransformProcessor::new(&id, signal, Arc::new(t), next, reg)
                }
            };
        }
        for raw in &p.receivers {
            let id = ComponentId::parse(raw)?;
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
            .ok_or_else(|| format!("receiver {id:?} is not configured"))?;
        let ReceiverConfig::Otlp(config) = rcfg;
        let mut consumers = SignalConsumers::default();
        for (signal, list) in per_signal {
            consumers.set(signal, Fanout::of(list));
        }
        receivers.push(ReceiverNode { id, config: config.clone(), consumers });
    }
    // Processors were pushed back to front within each pipeline; shut them down front to back.
    let mut ordered: Vec<Arc<BatchProcessor>> = Vec::new();
    let mut by_pipeline: BTreeMap<PipelineId, Vec<Arc<BatchProcessor>>> = BTreeMap::new();
    for (pid, bp) in processors {
        by_pipeline.entry(pid).or_default().push(bp);
    }
    for (_, mut list) in by_pipeline {
        list.reverse();
        ordered.extend(list);
    }
    Ok(Graph {
        receivers,
        processors: ordered,
        exporters: exporters.into_values().collect(),
        detections: detections.into_values().collect(),
        limiters: limiters.into_values().collect(),
    })
}

/// The signer of the `sigv4auth` extension an exporter names, for requests to `endpoint`.
fn signer(full: &Config, auth: Option<&str>, endpoint: &str) -> Result<Option<Arc<crate::aws::Signer>>, String> {
    let Some(auth) = auth else { return Ok(None) };
    let aid = ComponentId::parse(auth)?;
    match full.extensions.iter().find(|(i, _)| *i == aid).map(|(_, c)| c) {
        Some(crate::registry::ExtensionConfig::SigV4Auth(s)) => Ok(Some(Arc::new(s.signer(endpoint)?))),
        _ => Err(format!("authenticator {auth:?} is not a configured sigv4auth extension")),
    }
}

fn build_exporter(
    id: &ComponentId,
    signal: Signal,
    cfg: &ExporterConfig,
    full: &Config,
    reg: &Registry,
) -> Result<Arc<ExporterHelper>, String> {
    let (exporter, settings, extra): (Arc<dyn Exporter>, HelperSettings, Vec<(&'static str, String)>) = match cfg {
        ExporterConfig::Debug(c) => (
            Arc::new(DebugExporter::new(id.clone(), c)),
            HelperSettings {
                queue: c.sending_queue.clone(),
                retry: crate::exporter::helper::config::RetryConfig { enabled: false, ..Default::default() },
                timeout: None,
            },
            vec![],
        ),
        ExporterConfig::OtlpGrpc(c) => {
            let (hostport, _) = crate::exporter::otlp::grpc::target(c);
            let (host, port) = hostport
                .rsplit_once(':')
                .map(|(h, p)| (h.to_string(), p.to_string()))
                .unwrap_or((hostport.clone(), String::new()));
            (
                Arc::new(OtlpGrpcExporter::new(c)?),
                HelperSettings {
                    queue: c.sending_queue.clone(),
                    retry: c.retry_on_failure.clone(),
                    timeout: Some(c.timeout.0),
                },
                vec![(LABEL_SERVER_ADDRESS, host), (LABEL_SERVER_PORT, port)],
            )
        }
        ExporterConfig::OtlpHttp(c) => {
            let e = OtlpHttpExporter::new(c, signal)?;
            let u = e.url().clone();
            let mut extra = vec![(LABEL_SERVER_ADDRESS, u.host().unwrap_or_default().to_string())];
            if !u.path().is_empty() {
                extra.push((LABEL_URL_PATH, u.path().to_string()));
            }
            if let Some(p) = u.port_u16() {
                extra.push((LABEL_SERVER_PORT, p.to_string()));
            }
            (
                Arc::new(e),
                HelperSettings {
                    queue: c.sending_queue.clone(),
                    retry: c.retry_on_failure.clone(),
                    timeout: Some(c.timeout.0),
                },
                extra,
            )
        }
        ExporterConfig::PrometheusRemoteWrite(c) => {
            let labels = || vec![(crate::telemetry::names::LABEL_EXPORTER, id.to_string())];
            let t = crate::exporter::prometheusremotewrite::PrwTelemetry {
                translated_time_series: reg.counter(
                    crate::telemetry::names::PRW_TRANSLATED_TIME_SERIES,
                    "Number of Prometheus time series that were translated from OTel metrics",
                    labels(),
                ),
                failed_translations: reg.counter(
                    crate::telemetry::names::PRW_FAILED_TRANSLATIONS,
                    "Number of translation operations that failed to translate metrics from Otel to Prometheus",
                    labels(),
                ),
                sent_batches: reg.counter(
                    crate::telemetry::names::PRW_SENT_BATCHES,
                    "Number of remote write request batches sent to the remote write endpoint regardless of success or failure",
                    labels(),
                ),
                consumers: reg.gauge(
                    crate::telemetry::names::PRW_CONSUMERS,
                    "Number of configured workers to use to fan out the outgoing requests",
                    labels(),
                ),
            };
            let s = signer(full, cfg.authenticator(), &c.endpoint)?;
            let e = crate::exporter::prometheusremotewrite::PrwExporter::new(c, s, t)?;
            (Arc::new(e), crate::exporter::prometheusremotewrite::PrwExporter::helper_settings(c), vec![])
        }
        ExporterConfig::AwsXray(c) => (
            Arc::new(crate::exporter::awsxray::XrayExporter::new(c)?),
            HelperSettings { queue: c.sending_queue.clone(), retry: c.retry_on_failure.clone(), timeout: None },
            vec![],
        ),
        ExporterConfig::Loki(c) => (
            Arc::new(crate::exporter::loki::LokiExporter::new(
                c,
                reg.counter(
                    crate::telemetry::names::LOKI_SEND_FAILED_DUE_TO_MISSING_LABELS,
                    "Number of log records failed to send because labels were missing",
                    vec![(crate::telemetry::names::LABEL_EXPORTER, id.to_string())],
                ),
            )?),
            HelperSettings {
                queue: c.sending_queue.clone(),
                retry: c.retry_on_failure.clone(),
                timeout: Some(c.timeout.0),
            },
            vec![],
        ),
    };
    let telemetry = ExporterTelemetry::new(reg, id, signal, &extra);
    Ok(ExporterHelper::new(id.clone(), signal, exporter, telemetry, settings))
}
