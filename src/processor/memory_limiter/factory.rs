//! The `memory_limiter` processor's factory (Go: memorylimiterprocessor/factory.go): one
//! limiter per id, shared by every pipeline naming it.

use super::{MemoryLimiter, MemoryLimiterConfig, MemoryLimiterProcessor};
use crate::component::factory::{
    base, beta, decode, done, Parsed, Processor, ProcessorConfig, ProcessorFactory, Stage, ALL_SIGNALS,
};
use crate::component::{
    BuildError, Component, ComponentId, Factory, Host, Kind, PipelineId, Settings, StartError, TypeInfo,
};
use crate::pipeline::consumer::Consumer;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::Arc;
use std::time::Instant;

pub struct MemoryLimiterFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Processor, "memory_limiter", ALL_SIGNALS, "refuses data above a memory limit")];

impl Factory for MemoryLimiterFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        // Go's default has no limit and fails validation; a limit is what users set.
        serde_yaml_ng::from_str("{check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 25}")
            .unwrap_or(Value::Null)
    }
}

impl ProcessorFactory for MemoryLimiterFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ProcessorConfig>> {
        let c: MemoryLimiterConfig = decode(Kind::Processor, id, v)?;
        let e = c.validate(&base(Kind::Processor, id));
        done(Box::new(c), e, vec![])
    }
}

impl ProcessorConfig for MemoryLimiterConfig {
    fn build(&self, set: &Settings) -> Result<Arc<dyn Processor>, BuildError> {
        Ok(Arc::new(Limiter(MemoryLimiter::new(set.id.clone(), self))))
    }
}

struct Limiter(Arc<MemoryLimiter>);

#[async_trait]
impl Component for Limiter {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        self.0.start();
        Ok(())
    }
    async fn shutdown(&self, _deadline: Instant) {
        self.0.shutdown();
    }
}

impl Processor for Limiter {
    fn attach(&self, set: &Settings, pipeline: &PipelineId, next: Arc<dyn Consumer>) -> Result<Stage, BuildError> {
        let p = MemoryLimiterProcessor::new(Arc::clone(&self.0), pipeline.signal, next, set.telemetry);
        Ok(Stage { consumer: p, lifecycle: None })
    }
}
