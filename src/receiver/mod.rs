//! Receivers: where data enters oxidot.

pub mod awsxray;
pub mod awsecscontainermetrics;
pub mod otlp;
pub mod statsd;
pub mod prometheus;
