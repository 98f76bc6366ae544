//! Fan-out: one batch to several consumers, sharing it by `Arc`.

use super::consumer::{ConsumeError, Consumer};
use super::data::Batch;
use async_trait::async_trait;
use std::sync::Arc;

/// Hands each batch to every branch. The first error wins, but every branch is tried, so one
/// full exporter queue does not starve the others (as the collector's fan-out joins errors).
pub struct Fanout {
    branches: Vec<Arc<dyn Consumer>>,
}

impl Fanout {
    /// A fan-out over `branches`; with one branch, use the branch itself instead.
    pub fn new(branches: Vec<Arc<dyn Consumer>>) -> Fanout {
        Fanout { branches }
    }

    /// One consumer for the branches: the branch itself when there is only one.
    pub fn of(mut branches: Vec<Arc<dyn Consumer>>) -> Arc<dyn Consumer> {
        if branches.len() == 1 {
            if let Some(b) = branches.pop() {
                return b;
            }
        }
        Arc::new(Fanout::new(branches))
    }
}

#[async_trait]
impl Consumer for Fanout {
    async fn consume(&self, batch: Arc<Batch>) -> Result<(), ConsumeError> {
        let mut first_err = None;
        for b in &self.branches {
            if let Err(e) = b.consume(Arc::clone(&batch)).await {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}
