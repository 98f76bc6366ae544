//! The `filter` processor's factory (Go: filterprocessor/factory.go): one compiled filter per
//! id, one counting stage per pipeline.

use super::matcher::Compiled;
use super::processor::FilterProcessor;
use super::FilterConfig;
use crate::component::factory::{
    base, beta, decode, done, Parsed, Processor, ProcessorConfig, ProcessorFactory, Stage, ALL_SIGNALS,
};
use crate::component::{BuildError, Component, ComponentId, Factory, Kind, PipelineId, Settings, TypeInfo};
use crate::pipeline::consumer::Consumer;
use serde_yaml_ng::Value;
use std::sync::Arc;

pub struct FilterFactory;

const TYPES: &[TypeInfo] =
    &[beta(Kind::Processor, "filter", ALL_SIGNALS, "drops spans, metrics, log records by include/exclude rules")];

impl Factory for FilterFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
}

impl ProcessorFactory for FilterFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ProcessorConfig>> {
        let c: FilterConfig = decode(Kind::Processor, id, v)?;
        let e = c.validate(&base(Kind::Processor, id));
        done(Box::new(c), e, vec![])
    }
}

impl ProcessorConfig for FilterConfig {
    fn build(&self, set: &Settings) -> Result<Arc<dyn Processor>, BuildError> {
        let compiled = self.compile().map_err(|e| {
            let text = e.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("; ");
            BuildError::component(Kind::Processor, set.id, text)
        })?;
        Ok(Arc::new(FilterNode(Arc::new(compiled))))
    }
}

struct FilterNode(Arc<Compiled>);

impl Component for FilterNode {}

impl Processor for FilterNode {
    fn attach(&self, set: &Settings, pipeline: &PipelineId, next: Arc<dyn Consumer>) -> Result<Stage, BuildError> {
        let p = FilterProcessor::new(set.id, pipeline.signal, Arc::clone(&self.0), next, set.telemetry);
        Ok(Stage { consumer: p, lifecycle: None })
    }
}
