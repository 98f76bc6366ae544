//! The filter stage: drops what the matchers select, removes scopes and resources left empty
//! (filterprocessor metrics.go / logs.go / traces.go `processSkipExpression`), counts as Go's
//! processorhelper and filter telemetry do, and hands on what is left (nothing when all of it
//! was dropped: Go's `ErrSkipProcessingData`).

use super::matcher::Compiled;
use crate::component::{ComponentId, Signal};
use crate::pipeline::consumer::{ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::metrics::Counter;
use crate::telemetry::names::{
    FILTER_FILTERED, LABEL_FILTER, LABEL_OTEL_SIGNAL, LABEL_PROCESSOR, PROCESSOR_INCOMING_ITEMS,
    PROCESSOR_OUTGOING_ITEMS,
};
use crate::telemetry::Registry;
use async_trait::async_trait;
use std::sync::Arc;

pub struct FilterProcessor {
    filter: Arc<Compiled>,
    next: Arc<dyn Consumer>,
    incoming: Counter,
    outgoing: Counter,
    filtered: Counter,
}

impl FilterProcessor {
    pub fn new(
        id: &ComponentId,
        signal: Signal,
        filter: Arc<Compiled>,
        next: Arc<dyn Consumer>,
        reg: &Registry,
    ) -> Arc<Self> {
        let labels = || vec![(LABEL_PROCESSOR, id.to_string()), (LABEL_OTEL_SIGNAL, signal.as_str().to_string())];
        let (name, help) = FILTER_FILTERED.get(signal);
        Arc::new(FilterProcessor {
            filter,
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
            filtered: reg.counter(name, help, vec![(LABEL_FILTER, id.to_string())]),
        })
    }
}

/// Filters `batch` in place; returns whether this signal has a filter at all.
pub fn apply(f: &Compiled, batch: &mut Batch) -> bool {
    match batch {
        Batch::Raw(_) => {
            batch.decode_in_place();
            if matches!(batch, Batch::Raw(_)) {
                return false;
            }
            apply(f, batch)
        }
        Batch::Traces(rs) => {
            let Some(sf) = &f.spans else { return false };
            rs.retain_mut(|r| {
                let res = &r.resource;
                r.scope_spans.retain_mut(|ss| {
                    let scope = ss.scope.as_ref();
                    ss.spans.retain(|sp| !sf.skip(sp, res, scope));
                    !ss.spans.is_empty()
                });
                !r.scope_spans.is_empty()
            });
            true
        }
        Batch::Logs(rs) => {
            let Some(lf) = &f.logs else { return false };
            rs.retain_mut(|r| {
                let res = &r.resource;
                r.scope_logs.retain_mut(|sl| {
                    let scope = sl.scope.as_ref();
                    sl.log_records.retain(|lr| !lf.skip(lr, res, scope));
                    !sl.log_records.is_empty()
                });
                !r.scope_logs.is_empty()
            });
            true
        }
        Batch::Metrics(rs) => {
            let Some(mf) = &f.metrics else { return false };
            rs.retain_mut(|r| {
                if mf.has_resource_rule() && mf.skip_resource(&r.resource) {
                    return false;
                }
                if !mf.has_name_rule() {
                    return !r.scope_metrics.is_empty();
                }
                r.scope_metrics.retain_mut(|sm| {
                    sm.metrics.retain(|m| !mf.skip_metric(&m.name));
                    !sm.metrics.is_empty()
                });
                !r.scope_metrics.is_empty()
            });
            true
        }
    }
}

#[async_trait]
impl Consumer for FilterProcessor {
    async fn consume(&self, batch: Arc<Batch>) -> Result<(), ConsumeError> {
        let before = batch.items() as u64;
        self.incoming.add(before);
        let active = match &*batch {
            Batch::Traces(_) => self.filter.spans.is_some(),
            Batch::Metrics(_) => self.filter.metrics.is_some(),
            Batch::Logs(_) => self.filter.logs.is_some(),
            Batch::Raw(r) => match r.signal() {
                Signal::Traces => self.filter.spans.is_some(),
                Signal::Metrics => self.filter.metrics.is_some(),
                Signal::Logs => self.filter.logs.is_some(),
            },
        };
        if !active {
            // Go returns the data untouched when no rule applies to the signal.
            self.outgoing.add(before);
            return self.next.consume(batch).await;
        }
        // Free when this pipeline is the only holder; one copy when a fan-out shares it.
        let mut b = Arc::unwrap_or_clone(batch);
        apply(&self.filter, &mut b);
        let after = b.items() as u64;
        self.filtered.add(before.saturating_sub(after));
        let empty = match &b {
            Batch::Traces(r) => r.is_empty(),
            Batch::Metrics(r) => r.is_empty(),
            Batch::Logs(r) => r.is_empty(),
            Batch::Raw(_) => false,
        };
        if empty {
            // processorhelper: ErrSkipProcessingData records 0 out and stops here.
            self.outgoing.add(0);
            return Ok(());
        }
        self.outgoing.add(after);
        self.next.consume(Arc::new(b)).await
    }
}
