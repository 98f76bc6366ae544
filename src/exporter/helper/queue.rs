//! The bounded sending queue: capacity in requests or items, refusal when full.

use super::config::Sizer;
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
}

/// A queued batch with its item count, counted once when the exporter accepted it.
#[derive(Debug, Clone)]
pub struct Counted {
    pub batch: Arc<Batch>,
    pub items: usize,
}

impl From<Arc<Batch>> for Counted {
    fn from(batch: Arc<Batch>) -> Counted {
        let items = batch.items();
        Counted { batch, items }
    }
}

struct State {
    items: VecDeque<(Counted, usize)>,
    size: usize,
    closed: bool,
}

/// A FIFO queue of batches bounded by `capacity` in `sizer` units.
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
            Sizer::Requests | Sizer::Bytes => 1,
            Sizer::Items => b.items.max(1),
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
                if let Some((b, cost)) = st.items.pop_front() {
                    st.size -= cost;
                    drop(st);
                    self.writable.notify_one();
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

    /// Stops accepting; workers finish what is queued.
    pub fn close(&self) {
        self.lock().closed = true;
        self.readable.notify_waiters();
        self.writable.notify_waiters();
    }

    /// Removes and returns whatever is still queued (at the shutdown deadline).
    pub fn take_all(&self) -> Vec<Counted> {
        let mut st = self.lock();
        st.size = 0;
        st.items.drain(..).map(|(b, _)| b).collect()
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
        assert!(q.pop().await.is_some());
        assert!(q.pop().await.is_some());
        assert!(q.pop().await.is_none());
    }
}
