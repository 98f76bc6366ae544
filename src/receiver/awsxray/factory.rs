//! The `awsxray` receiver's factory and its running form (Go: factory.go, receiver.go).

use super::proxy::{self, Proxy};
use super::{udp, XrayReceiverConfig};
use crate::component::factory::{base, beta, decode, done, Parsed, ReceiverConfig, ReceiverFactory};
use crate::component::{
    BuildError, Component, ComponentId, Factory, Host, Kind, Settings, Signal, StartError, TypeInfo,
};
use crate::pipeline::consumer::SignalConsumers;
use crate::telemetry::component::ReceiverTelemetry;
use crate::telemetry::Registry;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct XrayReceiverFactory;

const TYPES: &[TypeInfo] = &[beta(
    Kind::Receiver,
    "awsxray",
    &[Signal::Traces],
    "X-Ray segments over UDP (daemon protocol) as spans; TCP proxy for sampling calls, SigV4-signed",
)];

impl Factory for XrayReceiverFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        serde_yaml_ng::from_str(
            "endpoint: 'localhost:2000'\ntransport: udp\nproxy_server: {endpoint: 'localhost:2000', service_name: xray}",
        )
        .unwrap_or(Value::Null)
    }
}

impl ReceiverFactory for XrayReceiverFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ReceiverConfig>> {
        let c: XrayReceiverConfig = decode(Kind::Receiver, id, v)?;
        let (e, w) = c.validate(&base(Kind::Receiver, id));
        done(Box::new(c), e, w)
    }
}

impl ReceiverConfig for XrayReceiverConfig {
    fn build(&self, set: &Settings, consumers: SignalConsumers) -> Result<Arc<dyn Component>, BuildError> {
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(XrayReceiver {
            id: set.id.clone(),
            config: self.clone(),
            consumers,
            registry: Arc::clone(set.telemetry),
            stop,
            tasks: Mutex::new(Vec::new()),
        }))
    }
}

/// A built X-Ray receiver: binds the UDP socket (a failure fails the start, as in Go) and the
/// proxy's TCP port (a failure is logged: Go ignores it) on start.
pub struct XrayReceiver {
    id: ComponentId,
    config: XrayReceiverConfig,
    consumers: SignalConsumers,
    registry: Arc<Registry>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl XrayReceiver {
    async fn start_proxy(&self) -> Option<JoinHandle<()>> {
        let cfg = &self.config.proxy_server;
        // Reading the environment here is the region detection of Go's conn.go.
        let region = proxy::resolve_region(cfg, |k| std::env::var(k).ok());
        if region.is_none() {
            tracing::warn!(
                receiver = %self.id,
                "X-Ray proxy: no region in proxy_server::region, AWS_DEFAULT_REGION, AWS_REGION or the ECS metadata file; sampling calls will be answered 502"
            );
        }
        // conn.go `getProxyAddress`: Go sends through `HTTPS_PROXY` when `proxy_address` is unset.
        if cfg.proxy_address.is_empty() && std::env::var("HTTPS_PROXY").is_ok_and(|v| !v.is_empty()) {
            tracing::warn!(
                receiver = %self.id,
                "X-Ray proxy: HTTPS_PROXY is set but not used: oxidot connects to the X-Ray API directly"
            );
        }
        let target = proxy::target(cfg, region);
        let p = match Proxy::new(cfg, target) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                tracing::error!(receiver = %self.id, error = %e, "X-Ray proxy not started");
                return None;
            }
        };
        let addr = crate::net::listen_addr(&cfg.endpoint);
        let l = match crate::net::bind(&format!("receiver {} (proxy_server)", self.id), &addr).await {
            Ok(l) => l,
            Err(e) => {
                // receiver.go ignores the proxy's ListenAndServe error; the segments still flow.
                tracing::error!(receiver = %self.id, error = %e, "X-Ray TCP proxy server not started");
                return None;
            }
        };
        if let Ok(a) = l.local_addr() {
            tracing::info!(receiver = %self.id, endpoint = %a, "X-Ray TCP proxy server started");
        }
        let svc = hyper::service::service_fn(move |req| {
            let p = Arc::clone(&p);
            async move { Ok::<_, std::convert::Infallible>(p.handle(req).await) }
        });
        let timeouts = crate::net::Timeouts {
            header_read: Some(proxy::HEADER_TIMEOUT),
            request: Some(proxy::REQUEST_TIMEOUT),
            idle: Some(std::time::Duration::from_secs(60)),
            h2_keepalive: None,
        };
        let drain = std::time::Duration::from_secs(5);
        Some(tokio::spawn(crate::net::serve(l, svc, self.stop.subscribe(), drain, timeouts)))
    }
}

#[async_trait]
impl Component for XrayReceiver {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        let addr = crate::net::listen_addr(&self.config.endpoint);
        let sock = tokio::net::UdpSocket::bind(&addr)
            .await
            .map_err(|e| StartError::Listen(format!("receiver {}: cannot listen on udp {addr}: {e}", self.id)))?;
        if let Ok(a) = sock.local_addr() {
            tracing::info!(receiver = %self.id, udp = %a, "Listening on endpoint for X-Ray segments");
        }
        let mut tasks = Vec::new();
        if let Some(c) = self.consumers.get(Signal::Traces) {
            let entry = udp::Entry {
                consumer: Arc::clone(c),
                telemetry: ReceiverTelemetry::new(&self.registry, &self.id, udp::TRANSPORT, Signal::Traces),
            };
            tasks.push(tokio::spawn(udp::run(self.id.clone(), sock, entry, self.stop.subscribe())));
        }
        tasks.extend(self.start_proxy().await);
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend(tasks);
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
