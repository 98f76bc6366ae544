//! Self-telemetry: metrics registry, `:8888/metrics`, process metrics, logging.

pub mod component;
pub mod logging;
pub mod metrics;
pub mod names;
pub mod process;
pub mod self_metrics;
pub mod server;

pub use metrics::Registry;

/// `service.instance.id` of this run: one random UUID, shared by `target_info` and the logs'
/// `resource` (Go: otelconftelemetry/resource.go makes it once per start).
pub fn instance_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let b: [u8; 16] = rand::random();
        let h = hex::encode(b);
        format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
    })
}
