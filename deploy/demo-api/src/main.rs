//! demo-api: the small web API of the stack oxidot replaces the collector of. It exports traces,
//! metrics and logs by OTLP/gRPC to `OTEL_EXPORTER_OTLP_ENDPOINT` (the sidecar at 127.0.0.1:4317),
//! with `OTEL_SERVICE_NAME`/`OTEL_RESOURCE_ATTRIBUTES` as its resource.
//!
//! GET /items, GET /items/{id} (1–100 exist, others 404), GET /crash (an intentional error: an
//! error log with the exception inside an errored span), GET /health → {"status":"ok"}.
//! A counter `http_request_count{endpoint,method}`, an observable gauge `active_simulated_users`,
//! and a background task that logs INFO/WARNING/ERROR every few seconds.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Trace ids that start with the epoch, as AWS X-Ray requires.
#[derive(Debug)]
struct XrayIds;

impl IdGenerator for XrayIds {
    fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let rand96: u128 = rand::random::<u128>() & ((1u128 << 96) - 1);
        opentelemetry::trace::TraceId::from(((secs as u128) << 96) | rand96)
    }
    fn new_span_id(&self) -> opentelemetry::trace::SpanId {
        RandomIdGenerator::default().new_span_id()
    }
}

#[derive(Clone)]
struct AppState {
    requests: opentelemetry::metrics::Counter<u64>,
    duration: opentelemetry::metrics::Histogram<f64>,
}

/// Runs `f` inside a server span for `route`, counting the request; logs written in `f` carry
/// the span's trace context.
fn traced(
    st: &AppState,
    route: &str,
    target: &str,
    f: impl FnOnce() -> (StatusCode, Value),
) -> (StatusCode, Json<Value>) {
    let tracer = global::tracer("demo-api");
    let span = tracer
        .span_builder(format!("GET {route}"))
        .with_kind(SpanKind::Server)
        .with_attributes(vec![
            KeyValue::new("http.method", "GET"),
            KeyValue::new("http.route", route.to_string()),
            KeyValue::new("http.target", target.to_string()),
            KeyValue::new("http.scheme", "http"),
        ])
        .start(&tracer);
    let cx = Context::current_with_span(span);
    let started = std::time::Instant::now();
    let (code, body) = {
        let _guard = cx.clone().attach();
        st.requests.add(1, &[KeyValue::new("endpoint", route.to_string()), KeyValue::new("method", "GET")]);
        f()
    };
    let span = cx.span();
    span.set_attribute(KeyValue::new("http.status_code", code.as_u16() as i64));
    if code.is_server_error() {
        span.set_status(Status::error(format!("HTTP {}", code.as_u16())));
    }
    span.end();
    st.duration.record(
        started.elapsed().as_secs_f64(),
        &[KeyValue::new("http.route", route.to_string()), KeyValue::new("http.status_code", code.as_u16() as i64)],
    );
    (code, Json(body))
}

async fn items(State(st): State<AppState>) -> (StatusCode, Json<Value>) {
    traced(&st, "/items", "/items", || {
        tracing::info!("listing items");
        let list: Vec<Value> = (1..=10).map(|i| json!({"id": i, "name": format!("item-{i}")})).collect();
        (StatusCode::OK, json!(list))
    })
}

async fn item(State(st): State<AppState>, Path(id): Path<u32>) -> (StatusCode, Json<Value>) {
    traced(&st, "/items/{id}", &format!("/items/{id}"), || {
        if (1..=100).contains(&id) {
            tracing::info!(item.id = id, "found item");
            (StatusCode::OK, json!({"id": id, "name": format!("item-{id}")}))
        } else {
            tracing::warn!(item.id = id, "item not found");
            (StatusCode::NOT_FOUND, json!({"detail": "Item not found"}))
        }
    })
}

async fn crash(State(st): State<AppState>) -> (StatusCode, Json<Value>) {
    traced(&st, "/crash", "/crash", || {
        let message = "Intentional crash for testing";
        let stack = "RuntimeError: Intentional crash for testing\n  at demo_api::crash (deploy/demo-api/src/main.rs)";
        Context::map_current(|cx| {
            cx.span().add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", "RuntimeError"),
                    KeyValue::new("exception.message", message),
                    KeyValue::new("exception.stacktrace", stack),
                ],
            )
        });
        tracing::error!(exception.type = "RuntimeError", exception.message = message, "Unhandled exception: RuntimeError: {message}");
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": "Internal Server Error"}))
    })
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Logs every few seconds and moves the simulated user count, so dashboards live without load.
async fn background(users: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let u = 10 + rand::random::<u64>() % 40;
        users.store(u, Ordering::Relaxed);
        match n % 3 {
            0 => tracing::error!(active_users = u, "background job failed: upstream timeout"),
            1 => tracing::info!(active_users = u, "background heartbeat"),
            _ => tracing::warn!(active_users = u, "background queue is filling up"),
        }
    }
}

/// `demo-api health [host:port]`: probes GET /health for container health checks (the image has
/// no curl); exit 0 when it answers 200.
fn health_probe(addr: &str) -> std::process::ExitCode {
    use std::io::{Read, Write};
    let ok = (|| -> std::io::Result<bool> {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out.starts_with("HTTP/1.1 200"))
    })();
    if matches!(ok, Ok(true)) {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn main() -> Result<std::process::ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("health") {
        return Ok(health_probe(args.get(2).map(String::as_str).unwrap_or("127.0.0.1:8000")));
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve())?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    // Resource from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (the SDK's default detectors).
    let resource = Resource::builder().build();
    let spans = opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?;
    let tracer_provider = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        .with_id_generator(XrayIds)
        .with_resource(resource.clone())
        .build();
    global::set_tracer_provider(tracer_provider.clone());
    let metrics = opentelemetry_otlp::MetricExporter::builder().with_tonic().build()?;
    let interval = std::env::var("METRIC_EXPORT_INTERVAL_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(15_000);
    let reader = PeriodicReader::builder(metrics).with_interval(Duration::from_millis(interval)).build();
    let meter_provider = SdkMeterProvider::builder().with_reader(reader).with_resource(resource.clone()).build();
    global::set_meter_provider(meter_provider.clone());
    let logs = opentelemetry_otlp::LogExporter::builder().with_tonic().build()?;
    let logger_provider = SdkLoggerProvider::builder().with_batch_exporter(logs).with_resource(resource).build();
    tracing_subscriber::registry()
        .with(OpenTelemetryTracingBridge::new(&logger_provider))
        .with(tracing_subscriber::fmt::layer().with_target(false))
        .with(tracing_subscriber::EnvFilter::new("info"))
        .init();

    let meter = global::meter("demo-api");
    let requests =
        meter.u64_counter("http_request_count").with_description("Requests handled, by endpoint and method").build();
    let duration = meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_description("Duration of HTTP server requests")
        .with_boundaries(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
        .build();
    let users = Arc::new(AtomicU64::new(0));
    let u = Arc::clone(&users);
    let _gauge = meter
        .u64_observable_gauge("active_simulated_users")
        .with_description("Simulated active users")
        .with_callback(move |o| o.observe(u.load(Ordering::Relaxed), &[]))
        .build();
    tokio::spawn(background(users));
    let _ = tracer_provider.tracer("demo-api");

    let app = Router::new()
        .route("/items", get(items))
        .route("/items/{id}", get(item))
        .route("/crash", get(crash))
        .route("/health", get(health))
        .with_state(AppState { requests, duration });
    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "0.0.0.0:8000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(%addr, "demo-api listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { if let Some(t) = term.as_mut() { t.recv().await; } else { std::future::pending::<()>().await } } => {},
            }
        })
        .await?;
    // Flush everything before exit.
    let _ = tracer_provider.shutdown();
    let _ = meter_provider.shutdown();
    let _ = logger_provider.shutdown();
    Ok(())
}
