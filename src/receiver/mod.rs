//! Receivers: where data enters oxidot.

pub mod awsecscontainermetrics;
pub mod awsxray;
pub mod helper;
pub mod kafka;
pub mod otlp;
pub mod prometheus;
pub mod statsd;
