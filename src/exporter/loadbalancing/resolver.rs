//! Where the backends come from (Go: resolver_static.go, resolver_dns.go): a fixed list, or a
//! DNS name looked up every `interval` (each address one backend at `port`); a failed lookup
//! keeps the backends of the last good one.

use super::{with_port, Core, DnsResolver, ResolverConfig};
use crate::telemetry::logging::RateLimit;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

pub(super) fn start(cfg: &ResolverConfig, core: &Arc<Core>) -> Result<Option<JoinHandle<()>>, String> {
    if let Some(s) = &cfg.static_ {
        core.set_endpoints(s.hostnames.iter().filter(|h| !h.trim().is_empty()).map(|h| with_port(h)).collect());
        core.tel.resolution(true);
        return Ok(None);
    }
    let Some(d) = cfg.dns.clone() else { return Err("no resolvers specified for the exporter".into()) };
    let weak = Arc::downgrade(core);
    Ok(Some(tokio::spawn(async move {
        let log = RateLimit::new();
        loop {
            let Some(core) = weak.upgrade() else { return };
            match resolve(&d).await {
                Ok(eps) => {
                    core.tel.resolution(true);
                    core.set_endpoints(eps);
                }
                Err(e) => {
                    core.tel.resolution(false);
                    if log.allow(60) {
                        tracing::warn!(exporter = %core.id, hostname = %d.hostname, error = %e,
                            "DNS resolution of the load balancer's backends failed; keeping the last answer");
                    }
                }
            }
            drop(core);
            tokio::time::sleep(d.interval.0.max(std::time::Duration::from_millis(100))).await;
        }
    })))
}

/// One lookup: `ip:port` per address (IPv6 in brackets), sorted.
async fn resolve(d: &DnsResolver) -> Result<Vec<String>, String> {
    let port: u16 = d.port.parse().map_err(|_| format!("invalid port {:?}", d.port))?;
    let lookup = tokio::net::lookup_host((d.hostname.as_str(), port));
    let addrs = tokio::time::timeout(d.timeout.0, lookup)
        .await
        .map_err(|_| format!("lookup timed out after {:?}", d.timeout.0))?
        .map_err(|e| e.to_string())?;
    Ok(endpoints(addrs))
}

fn endpoints(addrs: impl Iterator<Item = SocketAddr>) -> Vec<String> {
    let mut v: Vec<String> = addrs.map(|a| a.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GoDuration;

    #[test]
    fn addresses_become_sorted_endpoints_with_the_port() {
        let addrs: Vec<SocketAddr> =
            vec!["10.0.0.2:4317".parse().unwrap(), "[::1]:4317".parse().unwrap(), "10.0.0.1:4317".parse().unwrap()];
        assert_eq!(endpoints(addrs.into_iter()), vec!["10.0.0.1:4317", "10.0.0.2:4317", "[::1]:4317"]);
    }

    #[tokio::test]
    async fn localhost_resolves_and_a_bad_port_is_an_error() {
        let d = DnsResolver {
            hostname: "localhost".into(),
            port: "4999".into(),
            interval: GoDuration::from_secs(5),
            timeout: GoDuration::from_secs(2),
        };
        let eps = resolve(&d).await.unwrap();
        assert!(eps.contains(&"127.0.0.1:4999".to_string()), "{eps:?}");
        let bad = DnsResolver { port: "x".into(), ..d };
        assert!(resolve(&bad).await.unwrap_err().contains("invalid port"));
    }
}
