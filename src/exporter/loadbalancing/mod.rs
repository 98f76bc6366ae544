//! The `loadbalancing` exporter (Go: contrib exporter/loadbalancingexporter): a sidecar tier
//! sends each trace (or service, resource, metric, stream) to one gateway of a tier, picked on a
//! consistent-hash ring over the endpoints a resolver gives (`static` list or `dns` name,
//! re-resolved every `interval`). Each backend is an `otlp` exporter built from `protocol.otlp`
//! with its own sending queue and retry. With `endpoint_health`, a backend that fails at the
//! transport (refused, reset, unavailable, timeout) is quarantined for `quarantine_duration`:
//! new data goes to the others, and with `reroute_on_failure` the batch it failed is handed to
//! the backend its keys now map to, so a gateway that dies loses nothing that was accepted.

pub mod factory;
mod resolver;
pub mod ring;
pub mod route;

use crate::component::{ComponentId, Signal};
use crate::config::{ConfigError, GoDuration};
use crate::exporter::helper::config::{QueueConfig, RetryConfig};
use crate::exporter::helper::{ExporterHelper, HelperSettings};
use crate::exporter::otlp::grpc::OtlpGrpcExporter;
use crate::exporter::otlp::OtlpGrpcConfig;
use crate::exporter::{ExportError, Exporter};
use crate::pipeline::consumer::{ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::component::ExporterTelemetry;
use crate::telemetry::logging::RateLimit;
use crate::telemetry::metrics::{Counter, Gauge, Registry};
use crate::telemetry::names::*;
use async_trait::async_trait;
use ring::Ring;
use route::Key;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// `exporters: loadbalancing:` (Go: loadbalancingexporter config.go, createDefaultConfig: the
/// exporter-level queue and retry off, the backends' from `protocol.otlp`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoadBalancingConfig {
    pub timeout: GoDuration,
    pub sending_queue: QueueConfig,
    pub retry_on_failure: RetryConfig,
    pub protocol: Protocol,
    pub resolver: ResolverConfig,
    pub routing_key: String,
    pub routing_attributes: Vec<String>,
    pub endpoint_health: EndpointHealthConfig,
    // Go's batching and central-queue options: refused with a clear error (not built yet).
    pub central_queue: Option<Value>,
    pub log_batcher: Option<Value>,
    pub metric_batcher: Option<Value>,
    pub log_routing: Option<Value>,
}

impl Default for LoadBalancingConfig {
    fn default() -> Self {
        LoadBalancingConfig {
            timeout: GoDuration::from_secs(0),
            sending_queue: QueueConfig::disabled_default(),
            retry_on_failure: RetryConfig { enabled: false, ..RetryConfig::default() },
            protocol: Protocol::default(),
            resolver: ResolverConfig::default(),
            routing_key: String::new(),
            routing_attributes: Vec::new(),
            endpoint_health: EndpointHealthConfig::default(),
            central_queue: None,
            log_batcher: None,
            metric_batcher: None,
            log_routing: None,
        }
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Protocol {
    pub otlp: OtlpGrpcConfig,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ResolverConfig {
    #[serde(rename = "static")]
    pub static_: Option<StaticResolver>,
    pub dns: Option<DnsResolver>,
    pub k8s: Option<Value>,
    pub aws_cloud_map: Option<Value>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StaticResolver {
    pub hostnames: Vec<String>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DnsResolver {
    pub hostname: String,
    pub port: String,
    pub interval: GoDuration,
    pub timeout: GoDuration,
}

impl Default for DnsResolver {
    fn default() -> Self {
        // Go: resolver_dns.go defaultResInterval 5s, defaultResTimeout 1s, port 4317.
        DnsResolver {
            hostname: String::new(),
            port: "4317".into(),
            interval: GoDuration::from_secs(5),
            timeout: GoDuration::from_secs(1),
        }
    }
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointHealthConfig {
    pub enabled: bool,
    pub quarantine_duration: GoDuration,
    pub reroute_on_failure: bool,
    pub max_reroute_attempts: Option<u32>,
    pub active_probe: Option<Value>,
}

impl Default for EndpointHealthConfig {
    fn default() -> Self {
        // Go: defaultEndpointHealthQuarantineDuration 30s.
        EndpointHealthConfig {
            enabled: false,
            quarantine_duration: GoDuration::from_secs(30),
            reroute_on_failure: false,
            max_reroute_attempts: None,
            active_probe: None,
        }
    }
}

/// Go's default port for a static hostname without one (loadbalancer.go `endpointWithPort`).
pub fn with_port(e: &str) -> String {
    let e = e.trim();
    if e.contains(':') {
        e.to_string()
    } else {
        format!("{e}:4317")
    }
}

impl LoadBalancingConfig {
    /// The routing key for `signal`, as Go's traces/metrics/logs exporters read `routing_key`.
    pub fn key(&self, signal: Signal) -> Result<Key, String> {
        let k = self.routing_key.as_str();
        let bad = || format!("unsupported routing_key {k:?} for {signal}");
        match signal {
            Signal::Traces => match k {
                "" | "traceID" => Ok(Key::TraceId),
                "service" => Ok(Key::Service),
                "resource" => Ok(Key::Resource),
                "attributes" => Ok(Key::Attributes),
                _ => Err(bad()),
            },
            // The metrics exporter routes by service by default (traceID means service there).
            Signal::Metrics => match k {
                "" | "traceID" | "service" => Ok(Key::Service),
                "resource" => Ok(Key::Resource),
                "metric" => Ok(Key::Metric),
                "streamID" => Ok(Key::StreamId),
                _ => Err(bad()),
            },
            Signal::Logs => match k {
                "" | "traceID" => Ok(Key::TraceId),
                "service" => Ok(Key::Service),
                _ => Err(bad()),
            },
        }
    }

    pub fn validate(&self, base: &str) -> (Vec<ConfigError>, Vec<String>) {
        let mut errs = Vec::new();
        let warns = Vec::new();
        let not_yet = |k: &str| {
            ConfigError::new(format!("{base}::{k}"), "is not implemented in this version of oxidot yet (see README)")
        };
        for (k, v) in [
            ("central_queue", &self.central_queue),
            ("log_batcher", &self.log_batcher),
            ("metric_batcher", &self.metric_batcher),
            ("log_routing", &self.log_routing),
            ("resolver::k8s", &self.resolver.k8s),
            ("resolver::aws_cloud_map", &self.resolver.aws_cloud_map),
            ("endpoint_health::active_probe", &self.endpoint_health.active_probe),
        ] {
            if v.is_some() {
                errs.push(not_yet(k));
            }
        }
        if self.endpoint_health.max_reroute_attempts.is_some() {
            errs.push(not_yet("endpoint_health::max_reroute_attempts"));
        }
        match (&self.resolver.static_, &self.resolver.dns) {
            (None, None) if self.resolver.k8s.is_none() && self.resolver.aws_cloud_map.is_none() => {
                errs.push(ConfigError::new(format!("{base}::resolver"), "no resolvers specified for the exporter"))
            }
            (Some(_), Some(_)) => errs
                .push(ConfigError::new(format!("{base}::resolver"), "multiple resolvers specified for the exporter")),
            (Some(s), None) if s.hostnames.iter().all(|h| h.trim().is_empty()) => errs.push(ConfigError::new(
                format!("{base}::resolver::static::hostnames"),
                "no endpoints specified for the static resolver",
            )),
            (None, Some(d)) if d.hostname.trim().is_empty() => errs.push(ConfigError::new(
                format!("{base}::resolver::dns::hostname"),
                "no hostname specified to resolve the backends",
            )),
            _ => {}
        }
        if self.routing_key == "attributes" && self.routing_attributes.is_empty() {
            errs.push(ConfigError::new(
                format!("{base}::routing_attributes"),
                "routing_key: attributes needs at least one entry in routing_attributes",
            ));
        }
        if !["", "traceID", "service", "resource", "metric", "streamID", "attributes"]
            .contains(&self.routing_key.as_str())
        {
            errs.push(ConfigError::new(
                format!("{base}::routing_key"),
                format!(
                    "unsupported routing_key {:?}: traceID, service, resource, metric, streamID or attributes",
                    self.routing_key
                ),
            ));
        }
        // The backends' endpoint comes from the resolver: validate the rest of protocol.otlp.
        let mut otlp = self.protocol.otlp.clone();
        otlp.endpoint = "placeholder:4317".into();
        errs.extend(otlp.validate(&format!("{base}::protocol::otlp")));
        if otlp.sending_queue.enabled && otlp.sending_queue.storage.is_some() {
            errs.push(not_yet("protocol::otlp::sending_queue::storage"));
        }
        self.sending_queue.validate(base, &mut errs);
        self.retry_on_failure.validate(base, &mut errs);
        if self.endpoint_health.enabled && self.endpoint_health.quarantine_duration.0.is_zero() {
            errs.push(ConfigError::new(
                format!("{base}::endpoint_health::quarantine_duration"),
                "endpoint_health.quarantine_duration must be greater than 0 when endpoint_health.enabled=true",
            ));
        }
        (errs, warns)
    }
}

/// Self-metrics of one load balancer (Go: metadata.yaml telemetry).
struct Telemetry {
    reg: Arc<Registry>,
    resolver: &'static str,
    num_backends: Gauge,
    updates: Counter,
    rerouted: Counter,
}

impl Telemetry {
    fn outcome(&self, endpoint: &str, ok: bool, latency: Duration) {
        self.reg
            .counter(
                LB_BACKEND_OUTCOME,
                "Number of successes and failures for each endpoint.",
                vec![("endpoint", endpoint.to_string()), ("success", ok.to_string())],
            )
            .add(1);
        self.reg
            .histogram(
                LB_BACKEND_LATENCY,
                "Response latency in ms for the backends.",
                &[0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0],
                vec![("endpoint", endpoint.to_string())],
            )
            .observe(latency.as_millis() as u64);
    }

    fn resolution(&self, ok: bool) {
        self.reg
            .counter(
                LB_NUM_RESOLUTIONS,
                "Number of times the resolver has triggered new resolutions.",
                vec![("resolver", self.resolver.to_string()), ("success", ok.to_string())],
            )
            .add(1);
    }
}

struct State {
    /// The resolver's endpoints, sorted.
    resolved: Vec<String>,
    backends: HashMap<String, Arc<ExporterHelper>>,
    /// Endpoint → end of its quarantine.
    quarantined: HashMap<String, Instant>,
    /// The ring over the eligible endpoints (all resolved when every one is quarantined).
    ring: Arc<Ring>,
    /// Whether `ring` holds quarantined endpoints because none is eligible (Go: fail open).
    fail_open: bool,
    /// When the earliest quarantine ends: the ring is rebuilt then.
    ring_expires: Option<Instant>,
}

pub struct Core {
    id: ComponentId,
    signal: Signal,
    otlp: OtlpGrpcConfig,
    key: Key,
    attrs: Vec<String>,
    health: EndpointHealthConfig,
    deliver_timeout: Duration,
    state: RwLock<State>,
    tel: Telemetry,
    /// The backends' own exporter self-metrics: kept out of `:8888` as Go keeps them out.
    backend_reg: Arc<Registry>,
    me: Weak<Core>,
    log_quarantine: RateLimit,
    log_dropped: RateLimit,
}

impl Core {
    fn new(
        cfg: &LoadBalancingConfig,
        id: &ComponentId,
        signal: Signal,
        reg: &Arc<Registry>,
    ) -> Result<Arc<Core>, String> {
        let key = cfg.key(signal)?;
        let resolver = if cfg.resolver.dns.is_some() { "dns" } else { "static" };
        let labels = vec![("resolver", resolver.to_string())];
        let tel = Telemetry {
            reg: Arc::clone(reg),
            resolver,
            num_backends: reg.gauge(LB_NUM_BACKENDS, "Current number of backends in use.", labels.clone()),
            updates: reg.counter(LB_NUM_BACKEND_UPDATES, "Number of times the list of backends was updated.", labels),
            rerouted: reg.counter(
                LB_REROUTED_ITEMS,
                "Items a failed backend handed to the backend their key maps to now (oxidot).",
                vec![(LABEL_EXPORTER, id.to_string())],
            ),
        };
        let deliver_timeout = if cfg.timeout.0.is_zero() { Duration::from_secs(30) } else { cfg.timeout.0 };
        Ok(Arc::new_cyclic(|me| Core {
            id: id.clone(),
            signal,
            otlp: cfg.protocol.otlp.clone(),
            key,
            attrs: cfg.routing_attributes.clone(),
            health: cfg.endpoint_health.clone(),
            deliver_timeout,
            state: RwLock::new(State {
                resolved: Vec::new(),
                backends: HashMap::new(),
                quarantined: HashMap::new(),
                ring: Arc::new(Ring::default()),
                fail_open: false,
                ring_expires: None,
            }),
            tel,
            backend_reg: Registry::new(),
            me: me.clone(),
            log_quarantine: RateLimit::new(),
            log_dropped: RateLimit::new(),
        }))
    }

    /// The resolver's answer: backends for new endpoints are built and started, those of
    /// endpoints that left are drained and stopped, and the ring is rebuilt.
    pub fn set_endpoints(&self, mut eps: Vec<String>) {
        eps.sort();
        eps.dedup();
        let removed: Vec<Arc<ExporterHelper>> = {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            if st.resolved == eps {
                return;
            }
            for e in &eps {
                if !st.backends.contains_key(e) {
                    match self.backend(e) {
                        Ok(h) => {
                            st.backends.insert(e.clone(), h);
                        }
                        Err(err) => {
                            tracing::error!(exporter = %self.id, endpoint = %e, error = %err, "Cannot build the backend's exporter")
                        }
                    }
                }
            }
            let gone: Vec<String> = st.backends.keys().filter(|k| !eps.contains(k)).cloned().collect();
            let removed = gone.iter().filter_map(|g| st.backends.remove(g)).collect();
            st.quarantined.retain(|k, _| eps.contains(k));
            st.resolved = eps;
            Self::rebuild(&mut st, Instant::now());
            self.tel.num_backends.set(st.resolved.len() as i64);
            self.tel.updates.add(1);
            tracing::info!(exporter = %self.id, data_type = %self.signal, endpoints = ?st.resolved, "Load balancer backends updated");
            removed
        };
        for h in removed {
            // Drained in the background: what it still holds goes to its endpoint (or, with
            // reroute_on_failure, to the others when that endpoint is gone).
            tokio::spawn(async move { h.shutdown(Instant::now() + Duration::from_secs(30)).await });
        }
    }

    fn backend(&self, endpoint: &str) -> Result<Arc<ExporterHelper>, String> {
        let mut cfg = self.otlp.clone();
        cfg.endpoint = endpoint.to_string();
        let inner = OtlpGrpcExporter::new(&cfg)?;
        let exporter = Arc::new(Backend { inner, endpoint: endpoint.to_string(), core: self.me.clone() });
        let id = ComponentId {
            type_: self.id.type_.clone(),
            name: Some(format!("{}{endpoint}", self.id.name.as_deref().map(|n| format!("{n}/")).unwrap_or_default())),
        };
        let tel = ExporterTelemetry::new(&self.backend_reg, &id, self.signal, &[]);
        let settings = HelperSettings {
            queue: cfg.sending_queue.clone(),
            retry: cfg.retry_on_failure.clone(),
            timeout: Some(cfg.timeout.0),
        };
        let h = ExporterHelper::new(id, self.signal, exporter, tel, settings);
        h.start();
        Ok(h)
    }

    fn rebuild(st: &mut State, now: Instant) {
        st.quarantined.retain(|_, until| *until > now);
        let eligible: Vec<String> = st.resolved.iter().filter(|e| !st.quarantined.contains_key(*e)).cloned().collect();
        st.fail_open = eligible.is_empty() && !st.resolved.is_empty();
        let on = if st.fail_open { st.resolved.clone() } else { eligible };
        st.ring = Arc::new(Ring::new(&on));
        st.ring_expires = st.quarantined.values().min().copied();
    }

    /// The current ring, rebuilt first when a quarantine has ended.
    fn ring(&self) -> (Arc<Ring>, bool) {
        let now = Instant::now();
        {
            let st = self.state.read().unwrap_or_else(|p| p.into_inner());
            if st.ring_expires.is_none_or(|t| t > now) {
                return (Arc::clone(&st.ring), st.fail_open);
            }
        }
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        Self::rebuild(&mut st, now);
        (Arc::clone(&st.ring), st.fail_open)
    }

    fn quarantine(&self, endpoint: &str, reason: &str) {
        if !self.health.enabled {
            return;
        }
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        if !st.resolved.iter().any(|e| e == endpoint) {
            return;
        }
        let now = Instant::now();
        let until = now + self.health.quarantine_duration.0;
        let fresh = st.quarantined.get(endpoint).is_none_or(|t| *t <= now);
        if fresh {
            st.quarantined.insert(endpoint.to_string(), until);
            Self::rebuild(&mut st, now);
            if self.log_quarantine.allow(1) {
                tracing::warn!(exporter = %self.id, data_type = %self.signal, endpoint, reason,
                    quarantine = ?self.health.quarantine_duration.0, "Backend failed: quarantined, its keys go to the others");
            }
        }
    }

    /// Splits `batch` by key over the ring and hands each part to its backend; `failed` is the
    /// backend that just failed it (rerouting: never handed back to it).
    async fn route(&self, batch: &Batch, failed: Option<&str>) -> Result<(), ExportError> {
        let (ring, fail_open) = self.ring();
        if failed.is_some() && fail_open {
            return Err(ExportError::retryable("every backend is quarantined: nowhere to reroute"));
        }
        if ring.is_empty() {
            return Err(ExportError::retryable("no backends available yet"));
        }
        let owned = batch.decoded().into_owned();
        let parts: Vec<(usize, Batch)> = match owned {
            Batch::Traces(t) => route::traces(t, self.key, &self.attrs, &ring)
                .map(|p| p.into_iter().map(|(i, v)| (i, Batch::Traces(v))).collect()),
            Batch::Metrics(m) => {
                route::metrics(m, self.key, &ring).map(|p| p.into_iter().map(|(i, v)| (i, Batch::Metrics(v))).collect())
            }
            Batch::Logs(l) => {
                route::logs(l, self.key, &ring).map(|p| p.into_iter().map(|(i, v)| (i, Batch::Logs(v))).collect())
            }
            Batch::Raw(_) => Err("undecodable batch".to_string()),
        }
        .map_err(ExportError::Permanent)?;
        let deadline = Instant::now() + self.deliver_timeout;
        let (mut done, mut failed_items, mut last_err) = (0usize, 0usize, None);
        for (i, part) in parts {
            let endpoint = &ring.endpoints()[i];
            let backend = self.state.read().unwrap_or_else(|p| p.into_inner()).backends.get(endpoint).cloned();
            let items = part.items();
            let r = match backend {
                Some(b) => deliver(&b, Arc::new(part), deadline).await,
                None => Err(ExportError::retryable(format!("backend {endpoint} is gone"))),
            };
            match r {
                Ok(()) => done += 1,
                Err(e) => {
                    failed_items += items;
                    last_err = Some(e);
                }
            }
        }
        match last_err {
            None => Ok(()),
            // Nothing was handed over: the caller may retry the whole batch without duplicates.
            Some(e) if done == 0 => Err(e),
            Some(e) => {
                if self.log_dropped.allow(10) {
                    tracing::error!(exporter = %self.id, data_type = %self.signal, dropped_items = failed_items, error = %e,
                        "Load balancer: some backends took their part, others refused theirs; those items are dropped");
                }
                Err(ExportError::Dropped { items: failed_items, reason: e.to_string() })
            }
        }
    }

    async fn shutdown(&self) {
        let all: Vec<Arc<ExporterHelper>> = {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            st.backends.drain().map(|(_, h)| h).collect()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        for h in all {
            h.shutdown(deadline).await;
        }
    }
}

/// Hands one part to a backend's queue, waiting while it is full (up to `deadline`).
async fn deliver(b: &ExporterHelper, part: Arc<Batch>, deadline: Instant) -> Result<(), ExportError> {
    loop {
        match b.consume(Arc::clone(&part)).await {
            Ok(()) => return Ok(()),
            Err(ConsumeError::Overloaded { reason, retry_after }) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(ExportError::Retryable { reason, retry_after: Some(retry_after) });
                }
                tokio::time::sleep(retry_after.min(Duration::from_millis(100)).min(deadline - now)).await;
            }
            Err(ConsumeError::Permanent(m)) => return Err(ExportError::Permanent(m)),
            Err(ConsumeError::Shutdown) => return Err(ExportError::retryable("the backend is shutting down")),
        }
    }
}

/// A failure that says the endpoint itself is unreachable, as Go's `classifyEndpointFailure`
/// reads it: a refused, reset or unroutable connection, UNAVAILABLE, a timeout.
fn endpoint_failure(e: &ExportError) -> Option<&str> {
    let ExportError::Retryable { reason, .. } = e else { return None };
    let r = reason.to_ascii_lowercase();
    [
        "connection not ready",
        "code = unavailable",
        "code = deadlineexceeded",
        "connection refused",
        "connection reset",
        "broken pipe",
        "transport error",
        "timed out",
        "timeout",
    ]
    .iter()
    .any(|m| r.contains(m))
    .then_some(reason.as_str())
}

/// One backend: the otlp exporter plus the load balancer's bookkeeping around each attempt.
struct Backend {
    inner: OtlpGrpcExporter,
    endpoint: String,
    core: Weak<Core>,
}

#[async_trait]
impl Exporter for Backend {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let started = Instant::now();
        let r = self.inner.export(batch).await;
        let Some(core) = self.core.upgrade() else { return r };
        core.tel.outcome(&self.endpoint, r.is_ok(), started.elapsed());
        let Err(e) = &r else { return r };
        let Some(reason) = endpoint_failure(e) else { return r };
        core.quarantine(&self.endpoint, reason);
        if !(core.health.enabled && core.health.reroute_on_failure) {
            return r;
        }
        // Boxed: rerouting goes through another backend's queue (or, without one, its export).
        match Box::pin(core.route(batch, Some(&self.endpoint))).await {
            Ok(()) => {
                core.tel.rerouted.add(batch.items() as u64);
                Ok(())
            }
            // Not handed over: this backend keeps the batch and retries it.
            Err(_) => r,
        }
    }

    async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

/// The exporter the pipeline sees.
pub struct LoadBalancer {
    core: Arc<Core>,
    resolver: Mutex<Option<JoinHandle<()>>>,
}

impl LoadBalancer {
    pub fn new(
        cfg: &LoadBalancingConfig,
        id: &ComponentId,
        signal: Signal,
        reg: &Arc<Registry>,
    ) -> Result<Self, String> {
        let core = Core::new(cfg, id, signal, reg)?;
        let task = resolver::start(&cfg.resolver, &core)?;
        Ok(LoadBalancer { core, resolver: Mutex::new(task) })
    }
}

#[async_trait]
impl Exporter for LoadBalancer {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        self.core.route(batch, None).await
    }

    async fn shutdown(&self) {
        if let Some(t) = self.resolver.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        self.core.shutdown().await;
    }
}

#[cfg(test)]
mod tests;
