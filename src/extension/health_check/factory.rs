//! The `health_check` extension's factory and running form (Go: healthcheckextension): it
//! listens from its start, answers 503 until the pipelines are ready and again once they stop.

use super::{handler, HealthCheckConfig, HealthState, Status};
use crate::component::factory::{base, beta, decode, done, Extension, ExtensionConfig, ExtensionFactory, Parsed};
use crate::component::{BuildError, Component, ComponentId, Factory, Host, Kind, Settings, StartError, TypeInfo};
use crate::telemetry::server;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct HealthCheckFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Extension, "health_check", &[], "HTTP health endpoint")];

impl Factory for HealthCheckFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        serde_yaml_ng::from_str("endpoint: 'localhost:13133'").unwrap_or(Value::Null)
    }
}

impl ExtensionFactory for HealthCheckFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ExtensionConfig>> {
        let c: HealthCheckConfig = decode(Kind::Extension, id, v)?;
        let (e, w) = c.validate(&base(Kind::Extension, id));
        done(Box::new(c), e, w)
    }
}

impl ExtensionConfig for HealthCheckConfig {
    fn build(&self, set: &Settings) -> Result<Arc<dyn Extension>, BuildError> {
        let state = Arc::new(HealthState::default());
        state.set(Status::Starting);
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(HealthCheck {
            id: set.id.clone(),
            config: self.clone(),
            state,
            stop,
            task: Mutex::new(None),
            addr: Mutex::new(None),
        }))
    }
}

pub struct HealthCheck {
    id: ComponentId,
    config: HealthCheckConfig,
    state: Arc<HealthState>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
    addr: Mutex<Option<std::net::SocketAddr>>,
}

impl HealthCheck {
    /// The address bound at start (useful with port 0).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Component for HealthCheck {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        let what = format!("extension {}", self.id);
        let l =
            server::bind(&what, &crate::net::listen_addr(&self.config.endpoint)).await.map_err(StartError::Listen)?;
        let addr = l.local_addr().ok();
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = addr;
        // healthcheckextension Start: the message as Go's; oxidot prints the bound address as
        // text where Go dumps its config.
        if let Some(addr) = addr {
            tracing::info!(extension = %self.id, endpoint = %addr, "Starting health_check extension");
        }
        let h = handler(&self.config, Arc::clone(&self.state));
        let t = tokio::spawn(server::serve(l, h, self.stop.subscribe()));
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
        Ok(())
    }

    async fn shutdown(&self, _deadline: Instant) {
        let _ = self.stop.send(true);
        let t = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = t {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
    }
}

impl Extension for HealthCheck {
    fn pipelines_ready(&self) {
        self.state.set(Status::Ready);
    }
    fn pipelines_not_ready(&self) {
        self.state.set(Status::Stopping);
    }
}
