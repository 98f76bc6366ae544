//! The `statsd` receiver's factory and its running form (Go: statsdreceiver factory.go,
//! receiver.go, internal/transport/packet_server.go, reporter.go).

use super::aggregate::{Aggregator, Options, Rejected};
use super::StatsdConfig;
use crate::component::factory::{base, beta, decode, done, Parsed, ReceiverConfig, ReceiverFactory};
use crate::component::{
    BuildError, Component, ComponentId, Factory, Host, Kind, Settings, Signal, StartError, TypeInfo,
};
use crate::pipeline::consumer::SignalConsumers;
use crate::pipeline::data::Batch;
use crate::receiver::helper::Delivery;
use crate::telemetry::component::ReceiverTelemetry;
use crate::telemetry::logging::RateLimit;
use crate::telemetry::metrics::Counter;
use crate::telemetry::names;
use async_trait::async_trait;
use serde_yaml_ng::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct StatsdReceiverFactory;

const TYPES: &[TypeInfo] =
    &[beta(Kind::Receiver, "statsd", &[Signal::Metrics], "StatsD/DogStatsD over UDP, aggregated per interval")];

impl Factory for StatsdReceiverFactory {
    fn types(&self) -> &'static [TypeInfo] {
        TYPES
    }
    fn default_config(&self) -> Value {
        serde_yaml_ng::from_str("endpoint: localhost:8125\ntransport: udp\naggregation_interval: 60s")
            .unwrap_or(Value::Null)
    }
}

impl ReceiverFactory for StatsdReceiverFactory {
    fn parse(&self, id: &ComponentId, v: &Value) -> Parsed<Box<dyn ReceiverConfig>> {
        let c: StatsdConfig = decode(Kind::Receiver, id, v)?;
        let e = c.validate(&base(Kind::Receiver, id));
        done(Box::new(c), e, Vec::new())
    }
}

/// Self-metrics of one statsd receiver.
struct StatsdTelemetry {
    /// `otelcol_receiver_received_statsd_metrics{parse_success="true"|"false"}` (Go reporter.go).
    parsed: Counter,
    failed: Counter,
    /// oxidot's own: lines dropped after parsing (`reason`: not_finite, limit).
    not_finite: Counter,
    limit: Counter,
}

impl StatsdTelemetry {
    fn new(set: &Settings) -> StatsdTelemetry {
        let reg = set.telemetry;
        let id = set.id.to_string();
        let with = |k: &'static str, v: &str| vec![(names::LABEL_RECEIVER, id.clone()), (k, v.to_string())];
        let help = "Number of statsd metrics received. [Development]";
        let drop_help = "StatsD lines parsed and dropped (NaN or infinite values, over the interval's limits).";
        StatsdTelemetry {
            parsed: reg.counter(names::STATSD_RECEIVED, help, with(names::LABEL_PARSE_SUCCESS, "true")),
            failed: reg.counter(names::STATSD_RECEIVED, help, with(names::LABEL_PARSE_SUCCESS, "false")),
            not_finite: reg.counter(names::OXIDOT_STATSD_DROPPED, drop_help, with(names::LABEL_REASON, "not_finite")),
            limit: reg.counter(names::OXIDOT_STATSD_DROPPED, drop_help, with(names::LABEL_REASON, "limit")),
        }
    }
}

impl ReceiverConfig for StatsdConfig {
    fn build(&self, set: &Settings, consumers: SignalConsumers) -> Result<Arc<dyn Component>, BuildError> {
        let consumer = consumers.metrics.clone().ok_or_else(|| {
            BuildError::component(Kind::Receiver, set.id, "the statsd receiver needs a metrics pipeline")
        })?;
        let telemetry = ReceiverTelemetry::new(set.telemetry, set.id, "udp", Signal::Metrics);
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(StatsdReceiver {
            inner: Arc::new(Inner {
                id: set.id.clone(),
                config: self.clone(),
                entry: Delivery { consumer, telemetry },
                stats: StatsdTelemetry::new(set),
                agg: Mutex::new(Aggregator::new(Options::from_config(self), now_ns())),
                bad_line_log: RateLimit::new(),
                flush_log: RateLimit::new(),
            }),
            stop,
            tasks: Mutex::new(Vec::new()),
        }))
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

struct Inner {
    id: ComponentId,
    config: StatsdConfig,
    entry: Delivery,
    stats: StatsdTelemetry,
    agg: Mutex<Aggregator>,
    bad_line_log: RateLimit,
    flush_log: RateLimit,
}

/// A built statsd receiver: binds its socket on start; flushes what it holds on shutdown.
pub struct StatsdReceiver {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Go's packet buffer: the largest UDP payload (IPv6).
const PACKET_BYTES: usize = 65527;

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Aggregator> {
        self.agg.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// packetServer.handlePacket + the aggregation loop: each non-empty `\n`-separated line.
    fn handle_packet(&self, data: &[u8], from: SocketAddr) {
        let now = now_ns();
        let mut agg = self.lock();
        for chunk in data.split(|b| *b == b'\n') {
            if chunk.is_empty() {
                continue;
            }
            let line = String::from_utf8_lossy(chunk);
            match agg.aggregate(&line, from, now) {
                Ok(()) => self.stats.parsed.add(1),
                Err(Rejected::Parse(e)) => {
                    self.stats.failed.add(1);
                    if self.bad_line_log.allow(10) {
                        let shown: String = line.chars().take(256).collect();
                        tracing::warn!(receiver = %self.id, error = %e, line = %shown, client = %from,
                            "Dropped a StatsD line that does not parse (counted in otelcol_receiver_received_statsd_metrics, parse_success false)");
                    }
                }
                Err(r) => {
                    self.stats.parsed.add(1);
                    let (c, why) = match r {
                        Rejected::Limit => (&self.stats.limit, "the interval holds too many series or samples"),
                        _ => (&self.stats.not_finite, "its value is NaN or infinite"),
                    };
                    c.add(1);
                    if self.bad_line_log.allow(10) {
                        tracing::warn!(receiver = %self.id, reason = why, client = %from,
                            "Dropped a StatsD line (counted in oxidot_receiver_statsd_dropped_lines)");
                    }
                }
            }
        }
    }

    /// Go's ticker branch: each client's metrics to the pipeline, one request per client.
    async fn flush(&self) {
        let batches = self.lock().take(now_ns());
        for rm in batches {
            if let Err(e) = self.entry.deliver(Batch::Metrics(vec![rm])).await {
                if self.flush_log.allow(10) {
                    tracing::warn!(receiver = %self.id, error = %e,
                        "The pipeline refused an interval's StatsD metrics (counted in otelcol_receiver_refused_metric_points)");
                }
            }
        }
    }
}

/// Binds `endpoint` (host:port) keeping only the address family `transport` asks for.
async fn bind(endpoint: &str, transport: &str) -> Result<UdpSocket, String> {
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host(endpoint)
        .await
        .map_err(|e| format!("starting to listen {transport} socket: {e}"))?
        .filter(|a| match transport {
            "udp4" => a.is_ipv4(),
            "udp6" => a.is_ipv6(),
            _ => true,
        })
        .collect();
    // Go's ListenPacket("udp", host:port) takes the first IPv4 address of a name
    // (`localhost` → 127.0.0.1, not ::1); a stable sort keeps the resolver's order otherwise.
    addrs.sort_by_key(|a| !a.is_ipv4());
    let mut last = format!("no {transport} address for {endpoint:?}");
    for a in addrs {
        match UdpSocket::bind(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("starting to listen {transport} socket: listen {transport} {endpoint}: {last}"))
}

#[async_trait]
impl Component for StatsdReceiver {
    async fn start(&self, _host: &Host) -> Result<(), StartError> {
        let inner = &self.inner;
        let sock = bind(inner.config.bind_endpoint(), &inner.config.transport)
            .await
            .map_err(|e| StartError::Listen(format!("receivers::{}: {e}", inner.id)))?;
        // Go starts the interval at Start (Initialize).
        *inner.lock() = Aggregator::new(Options::from_config(&inner.config), now_ns());
        let mut stop = self.stop.subscribe();
        let recv = {
            let inner = Arc::clone(inner);
            tokio::spawn(async move {
                let mut buf = vec![0u8; PACKET_BYTES];
                loop {
                    tokio::select! {
                        _ = stop.changed() => return,
                        r = sock.recv_from(&mut buf) => match r {
                            Ok((n, from)) => inner.handle_packet(buf.get(..n).unwrap_or_default(), from),
                            // ICMP errors and the like: the socket stays usable.
                            Err(e) => tracing::debug!(receiver = %inner.id, error = %e, "UDP read error"),
                        },
                    }
                }
            })
        };
        let mut stop = self.stop.subscribe();
        let period = inner.config.aggregation_interval.0.max(Duration::from_millis(1));
        let tick = {
            let inner = Arc::clone(inner);
            tokio::spawn(async move {
                // The first tick one interval after start, as Go's time.NewTicker.
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                loop {
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = t.tick() => inner.flush().await,
                    }
                }
            })
        };
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend([recv, tick]);
        Ok(())
    }

    async fn shutdown(&self, deadline: Instant) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), t).await;
        }
        // Go drops the unfinished interval; oxidot sends it (nothing accepted is lost).
        let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), self.inner.flush()).await;
    }
}
