//! Realistic OTLP requests, encoded once up front: what a small web API instrumented with an
//! OpenTelemetry SDK sends (resource with service.* and host/cloud attributes; server, client,
//! internal and messaging spans with semantic-convention attributes, some failing with an
//! exception event; X-Ray-style and random trace ids; cumulative sums, gauges and histograms;
//! log records with severity, ~100-byte bodies, attributes and trace context).

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Traces,
    Metrics,
    Logs,
}

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: k.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
}
fn s(k: &str, v: impl Into<String>) -> KeyValue {
    kv(k, any_value::Value::StringValue(v.into()))
}
fn i(k: &str, v: i64) -> KeyValue {
    kv(k, any_value::Value::IntValue(v))
}

const ROUTES: &[&str] = &["/items", "/items/{id}", "/health", "/crash", "/orders", "/orders/{id}/lines"];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const WORDS: &[&str] = &["request", "handled", "user", "cart", "order", "payment", "latency", "cache", "miss", "retry"];

pub struct Generator {
    rng: RefCell<StdRng>,
    now_ns: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let now_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Generator { rng: RefCell::new(StdRng::seed_from_u64(seed)), now_ns }
    }

    /// One encoded export request of `items` items (spans, data points or log records) spread
    /// over `resources` resources (services).
    pub fn request(&self, kind: Kind, items: usize, resources: usize) -> Vec<u8> {
        let resources = resources.clamp(1, items.max(1));
        let per = |r: usize| items / resources + usize::from(r < items % resources);
        match kind {
            Kind::Traces => ExportTraceServiceRequest {
                resource_spans: (0..resources)
                    .map(|r| ResourceSpans {
                        resource: Some(self.resource(r)),
                        scope_spans: vec![ScopeSpans {
                            scope: Some(scope()),
                            spans: (0..per(r)).map(|_| self.span()).collect(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
            }
            .encode_to_vec(),
            Kind::Metrics => ExportMetricsServiceRequest {
                resource_metrics: (0..resources)
                    .map(|r| ResourceMetrics {
                        resource: Some(self.resource(r)),
                        scope_metrics: vec![ScopeMetrics {
                            scope: Some(scope()),
                            metrics: (0..per(r)).map(|n| self.metric(n)).collect(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
            }
            .encode_to_vec(),
            Kind::Logs => ExportLogsServiceRequest {
                resource_logs: (0..resources)
                    .map(|r| ResourceLogs {
                        resource: Some(self.resource(r)),
                        scope_logs: vec![ScopeLogs {
                            scope: Some(scope()),
                            log_records: (0..per(r)).map(|_| self.log()).collect(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
            }
            .encode_to_vec(),
        }
    }

    fn resource(&self, r: usize) -> Resource {
        Resource {
            attributes: vec![
                s("service.name", format!("demo-api-{r}")),
                s("service.version", "1.4.2"),
                s("service.instance.id", format!("{:032x}", self.rng.borrow_mut().random::<u128>())),
                s("deployment.environment", "production"),
                s("host.name", format!("ip-10-0-{}-{}", r % 4, 10 + r)),
                s("cloud.provider", "aws"),
                s("cloud.platform", "aws_ecs"),
                s("telemetry.sdk.language", "python"),
            ],
            ..Default::default()
        }
    }

    fn trace_id(&self) -> Vec<u8> {
        let mut rng = self.rng.borrow_mut();
        let mut id: [u8; 16] = rng.random();
        if rng.random_bool(0.5) {
            // X-Ray style: the first four bytes are the epoch seconds.
            id[..4].copy_from_slice(&((self.now_ns / 1_000_000_000) as u32).to_be_bytes());
        }
        id.to_vec()
    }

    fn span(&self) -> Span {
        let trace_id = self.trace_id();
        let mut rng = self.rng.borrow_mut();
        let roll: f64 = rng.random();
        let kind = match roll {
            r if r < 0.4 => span::SpanKind::Server,
            r if r < 0.7 => span::SpanKind::Client,
            r if r < 0.9 => span::SpanKind::Internal,
            r if r < 0.95 => span::SpanKind::Producer,
            _ => span::SpanKind::Consumer,
        };
        let route = ROUTES[rng.random_range(0..ROUTES.len())];
        let method = METHODS[rng.random_range(0..METHODS.len())];
        let failed = rng.random_bool(0.05);
        let code: i64 = if failed { 500 } else { [200, 200, 200, 201, 204, 404][rng.random_range(0..6)] };
        let duration = rng.random_range(200_000u64..80_000_000);
        let start = self.now_ns - rng.random_range(0..5_000_000_000u64);
        let mut attributes = vec![
            s("http.request.method", method),
            s("http.route", route),
            s("url.path", route.replace("{id}", &rng.random_range(1..5000).to_string())),
            i("http.response.status_code", code),
            s("server.address", "api.internal"),
            i("server.port", 8080),
            s("network.protocol.version", "1.1"),
            s("user_agent.original", "python-requests/2.32.3"),
        ];
        if kind == span::SpanKind::Client && rng.random_bool(0.3) {
            attributes.push(s("db.system", "postgresql"));
            attributes.push(s("db.statement", "SELECT id, name FROM items WHERE id = $1"));
        }
        let mut events = Vec::new();
        if failed {
            events.push(span::Event {
                time_unix_nano: start + duration / 2,
                name: "exception".into(),
                attributes: vec![
                    s("exception.type", "ZeroDivisionError"),
                    s("exception.message", "division by zero"),
                    s(
                        "exception.stacktrace",
                        "Traceback (most recent call last):\n  File \"app.py\", line 42, in crash\n    return 1 / 0\nZeroDivisionError: division by zero\n",
                    ),
                ],
                dropped_attributes_count: 0,
            });
        }
        let parent: Vec<u8> =
            if kind == span::SpanKind::Server { Vec::new() } else { rng.random::<[u8; 8]>().to_vec() };
        Span {
            trace_id,
            span_id: rng.random::<[u8; 8]>().to_vec(),
            parent_span_id: parent,
            name: format!("{method} {route}"),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + duration,
            attributes,
            events,
            status: Some(Status {
                code: if failed { status::StatusCode::Error as i32 } else { status::StatusCode::Unset as i32 },
                message: if failed { "division by zero".into() } else { String::new() },
            }),
            ..Default::default()
        }
    }

    /// Metric `n` of a resource: one data point each, a third of each kind.
    fn metric(&self, n: usize) -> Metric {
        let mut rng = self.rng.borrow_mut();
        let attrs = vec![
            s("http.request.method", METHODS[n % METHODS.len()]),
            s("http.route", ROUTES[n % ROUTES.len()]),
            i("http.response.status_code", [200, 201, 404, 500][n % 4]),
            s("series", (n / 3).to_string()),
        ];
        let start = self.now_ns - 600_000_000_000;
        let (name, unit, data) = match n % 3 {
            0 => (
                "http.server.request.count",
                "{request}",
                metric::Data::Sum(Sum {
                    data_points: vec![NumberDataPoint {
                        attributes: attrs,
                        start_time_unix_nano: start,
                        time_unix_nano: self.now_ns,
                        value: Some(number_data_point::Value::AsInt(rng.random_range(1..100_000))),
                        ..Default::default()
                    }],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                }),
            ),
            1 => (
                "process.memory.usage",
                "By",
                metric::Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint {
                        attributes: attrs,
                        time_unix_nano: self.now_ns,
                        value: Some(number_data_point::Value::AsDouble(rng.random_range(1e6..5e8))),
                        ..Default::default()
                    }],
                }),
            ),
            _ => {
                let bounds = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
                let counts: Vec<u64> = (0..=bounds.len()).map(|_| rng.random_range(0..50)).collect();
                let count = counts.iter().sum();
                (
                    "http.server.request.duration",
                    "s",
                    metric::Data::Histogram(Histogram {
                        data_points: vec![HistogramDataPoint {
                            attributes: attrs,
                            start_time_unix_nano: start,
                            time_unix_nano: self.now_ns,
                            count,
                            sum: Some(count as f64 * 0.07),
                            bucket_counts: counts,
                            explicit_bounds: bounds,
                            ..Default::default()
                        }],
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    }),
                )
            }
        };
        Metric {
            name: name.into(),
            unit: unit.into(),
            description: String::new(),
            data: Some(data),
            ..Default::default()
        }
    }

    fn log(&self) -> LogRecord {
        let trace_id = self.trace_id();
        let mut rng = self.rng.borrow_mut();
        let (sev, text) = [(9, "INFO"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (5, "DEBUG")][rng.random_range(0..5)];
        let mut body = String::with_capacity(110);
        while body.len() < 100 {
            body.push_str(WORDS[rng.random_range(0..WORDS.len())]);
            body.push(' ');
        }
        LogRecord {
            time_unix_nano: self.now_ns - rng.random_range(0..1_000_000_000u64),
            observed_time_unix_nano: self.now_ns,
            severity_number: sev,
            severity_text: text.into(),
            body: Some(AnyValue { value: Some(any_value::Value::StringValue(body)) }),
            attributes: vec![
                s("code.function", "handle_request"),
                s("http.route", ROUTES[rng.random_range(0..ROUTES.len())]),
                i("thread.id", rng.random_range(1..64)),
                s("logger.name", "demo_api"),
            ],
            trace_id,
            span_id: rng.random::<[u8; 8]>().to_vec(),
            flags: 1,
            ..Default::default()
        }
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope { name: "demo_api".into(), version: "1.0.0".into(), ..Default::default() }
}
