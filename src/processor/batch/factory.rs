//! The `batch` processor's factory (Go: batchprocessor/factory.go).

use super::{BatchConfig, BatchProcessor};
use crate::component::factory::{
    base, beta, decode, done, Parsed, Processor, ProcessorConfig, ProcessorFactory, Stage, ALL_SIGNALS,
};
use crate::component::{BuildError, Component, ComponentId, Factory, Kind, PipelineId, Settings, TypeInfo};
use crate::config::service::MetricsLevel;
use crate::pipeline::consumer::Consumer;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::sync::Arc;
use std::time::Instant;

pub struct BatchFactory;

const TYPES: &[TypeInfo] = &[beta(Kind::Processor, "batch", ALL_SIGNALS, "batches by size and time")];

impl Factory for BatchFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
}

impl ProcessorFactory for BatchFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ProcessorConfig>> {
        let c: BatchConfig = decode(Kind::Processor, id, v)?;
        let e = c.validate(&base(Kind::Processor, id));
        done(Box::new(c), e, vec![])
    }
}

impl ProcessorConfig for BatchConfig {
    fn build(&self, _set: &Settings) -> Result<Arc<dyn Processor>, BuildError> {
        Ok(Arc::new(Batch(self.clone())))
    }
}

/// One batcher per pipeline, as in the collector; nothing shared per id.
struct Batch(BatchConfig);

impl Component for Batch {}

impl Processor for Batch {
    fn attach(&self, set: &Settings, pipeline: &PipelineId, next: Arc<dyn Consumer>) -> Result<Stage, BuildError> {
        let detailed = set.level >= MetricsLevel::Normal;
        let bp = BatchProcessor::new(set.id.clone(), pipeline.signal, self.0.clone(), next, set.telemetry, detailed);
        Ok(Stage { consumer: Arc::clone(&bp) as Arc<dyn Consumer>, lifecycle: Some(Arc::new(Flush(bp))) })
    }
}

/// The batcher's shutdown: stop intake, flush what is pending.
struct Flush(Arc<BatchProcessor>);

#[async_trait]
impl Component for Flush {
    async fn shutdown(&self, deadline: Instant) {
        self.0.shutdown(deadline).await;
    }
}
