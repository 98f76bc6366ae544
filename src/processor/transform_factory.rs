//! What the factories of `Transform` processors share: one transform per id, one counting
//! stage per pipeline (Go: processorhelper).

use super::{Transform, TransformProcessor};
use crate::component::factory::{Processor, Stage};
use crate::component::{BuildError, Component, PipelineId, Settings};
use crate::pipeline::consumer::Consumer;
use std::sync::Arc;

/// A processor made of one in-place transform.
pub struct TransformNode(pub Arc<dyn Transform>);

impl Component for TransformNode {}

impl Processor for TransformNode {
    fn attach(&self, set: &Settings, pipeline: &PipelineId, next: Arc<dyn Consumer>) -> Result<Stage, BuildError> {
        let p = TransformProcessor::new(set.id, pipeline.signal, Arc::clone(&self.0), next, set.telemetry);
        Ok(Stage { consumer: p, lifecycle: None })
    }
}
