//! oxidot: an OpenTelemetry collector, a drop-in for the ADOT collector sidecar.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod alloc;
pub mod aws;
pub mod collector;
pub mod component;
pub mod config;
pub mod cpu;
pub mod exporter;
pub mod extension;
pub mod featuregate;
#[doc(hidden)]
pub mod fuzzing;
pub mod http_client;
pub mod kafka;
pub mod memory;
pub mod net;
pub mod pipeline;
pub mod processor;
pub mod proto;
pub mod receiver;
pub mod registry;
pub mod remote_config;
pub mod secret;
pub mod storage;
pub mod telemetry;
pub mod tls;
pub mod translate;
pub mod wire;

#[cfg(test)]
pub(crate) mod golden;

#[cfg(test)]
pub(crate) mod tests_util {
    /// Polls `f` for up to 5 s.
    pub async fn wait(f: impl Fn() -> bool) -> bool {
        for _ in 0..500 {
            if f() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        f()
    }
}
