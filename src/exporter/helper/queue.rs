//! The bounded sending queue: capacity in requests, items or bytes, refusal when full.

use super::config::Sizer;
use crate::memory::export_budget::Held;
use crate::pipeline::data::Batch;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// `sending queue is full` in the collector's words.
    Full,
    /// One batch larger than the whole capacity (`element size too large`).
    TooLarge,
    Closed,
    /// The persistent queue could not write the batch (disk full, I/O error).
    Storage,
    /// The process-wide export budget is full (`crate::memory::export_budget`).
    Budget,
}

/// A queued batch with its item count and protobuf size, counted once when the exporter
/// accepted it, and the export budget it holds until it is sent (in-memory queue).
#[derive(Debug, Clone)]
pub struct Counted {
    pub batch: Arc<Batch>,
    pub items: usize,
    /// `Batch::wire_size`: the bytes sizer's unit and what the export budget is charged.
    pub bytes: usize,
    pub held: Option<Arc<Held>>,
}

impl Counted {
    pub fn new(batch: Arc<Batch>, items: usize) -> Counted {
        let bytes = batch.wire_size();
        Counted { batch, items, bytes, held: None }
    }
}

impl From<Arc<Batch>> for Counted {
    fn from(batch: Arc<Batch>) -> Counted {
        let items = batch.items();
        Counted::new(batch, items)
    }
}

struct State {
    items: VecDeque<(Counted, usize)>,
    size: usize,
    closed: bool,
}

/// A FIFO queue of batches bounded by `capacity` in `sizer` units. A batch counts from `push`
/// until the worker that popped it calls `done` (queued and being sent), as Go's memoryQueue
/// (memory_queue.go: the size falls in `onDone`, not in `Read`).
pub struct BoundedQueue {
    state: Mutex<State>,
    capacity: usize,
    sizer: Sizer,
    readable: Notify,
    writable: Notify,
}

impl BoundedQueue {
    pub fn new(capacity: usize, sizer: Sizer) -> BoundedQueue {
        BoundedQueue {
            state: Mutex::new(State { items: VecDeque::new(), size: 0, closed: false }),
            capacity,
            sizer,
            readable: Notify::new(),
            writable: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cost(&self, b: &Counted) -> usize {
        match self.sizer {
            Sizer::Requests => 1,
            Sizer::Items => b.items.max(1),
            // Go's bytes sizer: the marshalled request size.
            Sizer::Bytes => b.bytes.max(1),
        }
    }

    /// Adds a batch, or refuses it without waiting.
    pub fn try_push(&self, b: impl Into<Counted>) -> Result<(), PushError> {
        let b = b.into();
        let cost = self.cost(&b);
        if cost > self.capacity {
            return Err(PushError::TooLarge);
        }
        let mut st = self.lock();
        if st.closed {
            return Err(PushError::Closed);
        }
        if st.size + cost > self.capacity {
            return Err(PushError::Full);
        }
        st.size += cost;
        st.items.push_back((b, cost));
        drop(st);
        self.readable.notify_one();
        Ok(())
    }

    /// Adds a batch, waiting for room (`block_on_overflow: true`).
    pub async fn push_wait(&self, b: impl Into<Counted>) -> Result<(), PushError> {
        let b = b.into();
        loop {
            let notified = self.writable.notified();
            match self.try_push(b.clone()) {
                Err(PushError::Full) => notified.await,
                other => return other,
            }
        }
    }

    /// Takes the oldest batch; `None` once the queue is closed and empty.
    pub async fn pop(&self) -> Option<Counted> {
        loop {
            let notified = self.readable.notified();
            {
                let mut st = self.lock();
                if let Some((b, _)) = st.items.pop_front() {
                    drop(st);
                    // Wake another worker if more is waiting.
                    self.readable.notify_one();
                    return Some(b);
                }
                if st.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// A popped batch was sent or given up: its room is free again.
    pub fn done(&self, b: &Counted) {
        let cost = self.cost(b);
        {
            let mut st = self.lock();
            st.size = st.size.saturating_sub(cost);
        }
        self.writable.notify_one();
    }

    /// Stops accepting; workers finish what is queued.
    pub fn close(&self) {
        self.lock().closed = true;
        self.readable.notify_waiters();
        self.writable.notify_waiters();
    }

    /// Removes and returns whatever is still queued (at the shutdown deadline).
    pub fn take_all(&self) -> Vec<Counted> {
        let mut st = self.lock();
        let left: Vec<_> = st.items.drain(..).collect();
        st.size = st.size.saturating_sub(left.iter().map(|(_, cost)| cost).sum());
        left.into_iter().map(|(b, _)| b).collect()
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Current size in sizer units.
    pub fn size(&self) -> usize {
        self.lock().size
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Arc<Batch> {
        Arc::new(Batch::Traces(vec![]))
    }

    #[tokio::test]
    async fn refuses_when_full_and_drains_after_close() {
        let q = BoundedQueue::new(2, Sizer::Requests);
        q.try_push(batch()).unwrap();
        q.try_push(batch()).unwrap();
        assert_eq!(q.try_push(batch()), Err(PushError::Full));
        assert_eq!(q.size(), 2);
        q.close();
        assert_eq!(q.try_push(batch()), Err(PushError::Closed));
        let first = q.pop().await.unwrap();
        assert!(q.pop().await.is_some());
        assert!(q.pop().await.is_none());
        // Popped batches count until they are done.
        assert_eq!(q.size(), 2);
        q.done(&first);
        assert_eq!(q.size(), 1);
    }

    fn spans(n: usize, name: &str) -> Counted {
        use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
        let span = Span { name: name.into(), ..Default::default() };
        Counted::from(Arc::new(Batch::Traces(vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans: vec![span; n], ..Default::default() }],
            ..Default::default()
        }])))
    }

    #[tokio::test]
    async fn the_bytes_sizer_counts_the_protobuf_size_until_done() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use prost::Message;
        let a = spans(3, "abc");
        let Batch::Traces(rs) = a.batch.as_ref() else { unreachable!() };
        let wire = ExportTraceServiceRequest { resource_spans: rs.clone() }.encoded_len();
        assert_eq!(a.bytes, wire);
        let q = BoundedQueue::new(wire * 2 + 1, Sizer::Bytes);
        q.try_push(a.clone()).unwrap();
        q.try_push(a.clone()).unwrap();
        assert_eq!(q.size(), wire * 2);
        assert_eq!(q.try_push(spans(1, "")), Err(PushError::Full));
        assert_eq!(q.try_push(spans(100, "large")), Err(PushError::TooLarge));
        let popped = q.pop().await.unwrap();
        // Still being sent: no room yet (Go's onDone).
        assert_eq!(q.try_push(a.clone()), Err(PushError::Full));
        q.done(&popped);
        q.try_push(a).unwrap();
        assert_eq!(q.take_all().len(), 2);
        assert_eq!(q.size(), 0);
    }
}
