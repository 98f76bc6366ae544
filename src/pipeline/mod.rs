//! Pipelines: the data unit, the consumer hand-off, fan-out, the graph and its lifecycle.

pub mod attrs;
pub mod consumer;
pub mod data;
pub mod fanout;
pub mod graph;
pub mod lifecycle;
pub mod reload;
