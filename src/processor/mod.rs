//! Processors: stages between receivers and exporters.

pub mod attraction;
pub mod attributes;
pub mod batch;
pub mod filter;
pub mod memory_limiter;
pub mod resource;
pub mod resourcedetection;
pub mod transform_factory;

use crate::component::{ComponentId, Signal};
use crate::pipeline::consumer::{ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::metrics::Counter;
use crate::telemetry::names::{LABEL_OTEL_SIGNAL, LABEL_PROCESSOR, PROCESSOR_INCOMING_ITEMS, PROCESSOR_OUTGOING_ITEMS};
use crate::telemetry::Registry;
use async_trait::async_trait;
use std::sync::Arc;

/// A change made to each batch in place (attributes, resource, resourcedetection). It changes
/// attributes only, never the number of items, so a batch's items are counted once per hop.
pub trait Transform: Send + Sync {
    fn apply(&self, batch: &mut Batch);
}

/// Runs a `Transform` and hands the result on; counts items in and out as processorhelper does.
pub struct TransformProcessor {
    transform: Arc<dyn Transform>,
    next: Arc<dyn Consumer>,
    incoming: Counter,
    outgoing: Counter,
}

impl TransformProcessor {
    pub fn new(
        id: &ComponentId,
        signal: Signal,
        transform: Arc<dyn Transform>,
        next: Arc<dyn Consumer>,
        reg: &Registry,
    ) -> Arc<Self> {
        let labels = || vec![(LABEL_PROCESSOR, id.to_string()), (LABEL_OTEL_SIGNAL, signal.as_str().to_string())];
        Arc::new(TransformProcessor {
            transform,
            next,
            incoming: reg.counter(
                PROCESSOR_INCOMING_ITEMS,
                "Number of items passed to the processor. [Alpha]",
                labels(),
            ),
            outgoing: reg.counter(
                PROCESSOR_OUTGOING_ITEMS,
                "Number of items emitted from the processor. [Alpha]",
                labels(),
            ),
        })
    }
}

#[async_trait]
impl Consumer for TransformProcessor {
    async fn consume(&self, batch: Arc<Batch>) -> Result<(), ConsumeError> {
        let items = batch.items() as u64;
        self.incoming.add(items);
        // Free when this pipeline is the only holder; one copy when a fan-out shares it.
        let mut b = Arc::unwrap_or_clone(batch);
        b.decode_in_place();
        self.transform.apply(&mut b);
        debug_assert_eq!(b.items() as u64, items, "a Transform must not add or remove items");
        self.outgoing.add(items);
        self.next.consume(Arc::new(b)).await
    }
}

/// Resource attributes of every resource in a batch (creating empty resources where missing).
pub fn for_each_resource(
    batch: &mut Batch,
    mut f: impl FnMut(&mut Vec<opentelemetry_proto::tonic::common::v1::KeyValue>),
) {
    use opentelemetry_proto::tonic::resource::v1::Resource;
    let mut go = |r: &mut Option<Resource>| f(&mut r.get_or_insert_with(Resource::default).attributes);
    match batch {
        Batch::Traces(rs) => rs.iter_mut().for_each(|r| go(&mut r.resource)),
        Batch::Metrics(rs) => rs.iter_mut().for_each(|r| go(&mut r.resource)),
        Batch::Logs(rs) => rs.iter_mut().for_each(|r| go(&mut r.resource)),
        Batch::Raw(_) => {
            batch.decode_in_place();
            for_each_resource(batch, f)
        }
    }
}
