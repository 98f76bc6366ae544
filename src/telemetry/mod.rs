//! Self-telemetry: metrics registry, `:8888/metrics`, process metrics, logging.

pub mod component;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod process;
pub mod server;

pub use metrics::Registry;
