//! The `prometheus` receiver against real endpoints: a fixture target serving known text (exact
//! counter values, OpenMetrics `_created`, a series that goes away, the target going down) into
//! an OTLP sink; and Debian's Prometheus' own `/metrics` plus oxidot's own `:8888` scraped,
//! relabeled and written back into that Prometheus with `prometheusremotewrite`, then queried.

mod support;

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric, ResourceMetrics};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::prometheus::{value, Prometheus};
use support::sinks::GrpcSink;
use support::{eventually, free_port, Oxidot};

/// A scrape target serving whatever body is set, recording the request headers; it stops
/// accepting connections (the target is down) when `down` is set.
#[derive(Clone)]
struct Target {
    port: u16,
    body: Arc<Mutex<(String, String)>>,
    headers: Arc<Mutex<Vec<String>>>,
    down: Arc<AtomicBool>,
}

impl Target {
    fn start(content_type: &str, body: &str) -> Target {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let t = Target {
            port: l.local_addr().unwrap().port(),
            body: Arc::new(Mutex::new((content_type.into(), body.into()))),
            headers: Arc::default(),
            down: Arc::default(),
        };
        let srv = t.clone();
        std::thread::spawn(move || {
            // Bounded: the thread ends when the target is taken down or after 5 minutes.
            let deadline = Instant::now() + Duration::from_secs(300);
            while !srv.down.load(Ordering::SeqCst) && Instant::now() < deadline {
                let Ok((mut s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                srv.headers.lock().unwrap().push(String::from_utf8_lossy(&req).into_owned());
                let (ct, body) = srv.body.lock().unwrap().clone();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes());
            }
            // Dropping the listener refuses further connections.
        });
        t
    }

    fn set(&self, content_type: &str, body: &str) {
        *self.body.lock().unwrap() = (content_type.into(), body.into());
    }
}

fn str_attr(attrs: &[KeyValue], k: &str) -> Option<String> {
    attrs.iter().find(|a| a.key == k).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    })
}

fn resource_metrics(sink: &GrpcSink) -> Vec<ResourceMetrics> {
    sink.got.lock().unwrap().metrics.iter().flat_map(|r| r.resource_metrics.clone()).collect()
}

/// Every (resource attributes, metric) the sink got named `name`, in arrival order.
fn metrics_named(sink: &GrpcSink, name: &str) -> Vec<(Vec<KeyValue>, Metric)> {
    resource_metrics(sink)
        .into_iter()
        .flat_map(|rm| {
            let attrs = rm.resource.clone().map(|r| r.attributes).unwrap_or_default();
            rm.scope_metrics
                .into_iter()
                .flat_map(|s| s.metrics)
                .filter(|m| m.name == name)
                .map(move |m| (attrs.clone(), m))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn gauge_values(sink: &GrpcSink, name: &str) -> Vec<(Option<f64>, u32)> {
    metrics_named(sink, name)
        .into_iter()
        .flat_map(|(_, m)| match m.data {
            Some(metric::Data::Gauge(g)) => g.data_points,
            _ => vec![],
        })
        .map(|p| {
            let v = match p.value {
                Some(number_data_point::Value::AsDouble(d)) => Some(d),
                _ => None,
            };
            (v, p.flags)
        })
        .collect()
}

const OM_BODY: &str = "# HELP jobs_processed Jobs processed.\n# TYPE jobs_processed counter\njobs_processed_total{queue=\"a\"} 42\njobs_processed_created{queue=\"a\"} 1700000000.5\n# TYPE queue_depth gauge\nqueue_depth{queue=\"a\"} 7\n# TYPE dropme gauge\ndropme 1\n# TYPE lat histogram\n# UNIT lat seconds\nlat_bucket{le=\"0.5\"} 3\nlat_bucket{le=\"+Inf\"} 5\nlat_count 5\nlat_sum 4.5\nlat_created 1700000001\n# EOF\n";
const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[test]
fn fixture_target_counters_created_staleness_relabeling_and_down() {
    let target = Target::start(OM, OM_BODY);
    let sink = GrpcSink::start();
    let yaml = format!(
        r#"
receivers:
  prometheus:
    config:
      global:
        scrape_interval: 1s
        scrape_timeout: 1s
        external_labels: {{cluster: c1}}
      scrape_configs:
        - job_name: fixture
          static_configs:
            - targets: ['127.0.0.1:{port}']
              labels: {{env: test}}
          metric_relabel_configs:
            - {{source_labels: [__name__], regex: dropme, action: drop}}
            - {{source_labels: [queue], regex: '(.*)', target_label: queue_copy, replacement: 'q-$$1'}}
            - {{regex: env, action: labeldrop}}
exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    tls: {{insecure: true}}
extensions:
  health_check: {{endpoint: 127.0.0.1:$HEALTH}}
service:
  extensions: [health_check]
  telemetry: {{metrics: {{address: 127.0.0.1:$METRICS}}}}
  pipelines:
    metrics: {{receivers: [prometheus], exporters: [otlp]}}
"#,
        port = target.port,
        sink = sink.port
    );
    let ox = Oxidot::start(&yaml);
    assert!(
        eventually(15, || !metrics_named(&sink, "jobs_processed_total").is_empty()
            && !gauge_values(&sink, "up").is_empty()),
        "no scrape arrived: {}",
        ox.stderr()
    );

    // The request as Prometheus sends it.
    let req = target.headers.lock().unwrap()[0].to_ascii_lowercase();
    assert!(req.starts_with("get /metrics http/1.1"), "{req}");
    assert!(
        req.contains("accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"),
        "{req}"
    );
    assert!(req.contains("x-prometheus-scrape-timeout-seconds: 1"), "{req}");

    // The counter: a cumulative monotonic sum, its exact value, the start from _created.
    let (res, m) = metrics_named(&sink, "jobs_processed_total").remove(0);
    assert_eq!(str_attr(&res, "service.name").as_deref(), Some("fixture"));
    assert_eq!(str_attr(&res, "service.instance.id"), Some(format!("127.0.0.1:{}", target.port)));
    assert_eq!(str_attr(&res, "server.port"), Some(target.port.to_string()));
    assert_eq!(str_attr(&res, "url.scheme").as_deref(), Some("http"));
    assert_eq!(m.description, "Jobs processed.");
    let Some(metric::Data::Sum(s)) = m.data else { panic!("{m:?}") };
    assert!(s.is_monotonic);
    assert_eq!(s.aggregation_temporality, 2, "cumulative");
    let p = &s.data_points[0];
    assert_eq!(p.value, Some(number_data_point::Value::AsDouble(42.0)));
    assert_eq!(p.start_time_unix_nano, 1_700_000_000_500_000_000);
    assert_eq!(str_attr(&p.attributes, "queue").as_deref(), Some("a"));
    // metric_relabel_configs: `$$1` in the collector config is Prometheus' `$1`; env dropped;
    // external labels added; job and instance only on the resource.
    assert_eq!(str_attr(&p.attributes, "queue_copy").as_deref(), Some("q-a"));
    assert_eq!(str_attr(&p.attributes, "env"), None);
    assert_eq!(str_attr(&p.attributes, "cluster").as_deref(), Some("c1"));
    assert_eq!(str_attr(&p.attributes, "job"), None);
    assert!(metrics_named(&sink, "dropme").is_empty(), "dropped by metric_relabel_configs");
    assert!(metrics_named(&sink, "jobs_processed_created").is_empty(), "_created is the start time");

    let (_, lat) = metrics_named(&sink, "lat").remove(0);
    assert_eq!(lat.unit, "seconds");
    let Some(metric::Data::Histogram(h)) = lat.data else { panic!() };
    let hp = &h.data_points[0];
    assert_eq!(
        (hp.count, hp.sum, hp.bucket_counts.clone(), hp.explicit_bounds.clone()),
        (5, Some(4.5), vec![3, 2], vec![0.5])
    );
    assert_eq!(hp.start_time_unix_nano, 1_700_000_001_000_000_000);

    // Meta-metrics: up 1, samples scraped (9 sample lines, _created included), 8 after
    // metric relabeling (dropme dropped), all 8 new series.
    assert_eq!(gauge_values(&sink, "up")[0], (Some(1.0), 0));
    assert_eq!(gauge_values(&sink, "scrape_samples_scraped")[0].0, Some(9.0));
    assert_eq!(gauge_values(&sink, "scrape_samples_post_metric_relabeling")[0].0, Some(8.0));
    assert!(gauge_values(&sink, "scrape_duration_seconds")[0].0.unwrap() > 0.0);
    assert_eq!(gauge_values(&sink, "scrape_series_added")[0].0, Some(8.0));

    // Plain text without _created: the start is the first scrape's, kept while it grows.
    target.set(
        "text/plain; version=0.0.4",
        "# TYPE plain_total counter\nplain_total 10\n# TYPE queue_depth gauge\nqueue_depth{queue=\"a\"} 8\n",
    );
    assert!(eventually(10, || !metrics_named(&sink, "plain_total").is_empty()));
    // queue_depth kept; jobs_processed_total went away: a stale point (no recorded value).
    assert!(
        eventually(10, || {
            metrics_named(&sink, "jobs_processed_total").iter().any(|(_, m)| matches!(&m.data, Some(metric::Data::Sum(s)) if s.data_points[0].flags == 1 && s.data_points[0].value.is_none()))
        }),
        "no stale marker for the series that went away"
    );
    target.set("text/plain; version=0.0.4", "# TYPE plain_total counter\nplain_total 15\n");
    assert!(eventually(10, || {
        metrics_named(&sink, "plain_total").iter().any(|(_, m)| matches!(&m.data, Some(metric::Data::Sum(s)) if s.data_points[0].value == Some(number_data_point::Value::AsDouble(15.0))))
    }));
    let plain: Vec<(u64, u64, Option<number_data_point::Value>)> = metrics_named(&sink, "plain_total")
        .into_iter()
        .filter_map(|(_, m)| match m.data {
            Some(metric::Data::Sum(s)) => Some(s.data_points[0].clone()),
            _ => None,
        })
        .map(|p| (p.start_time_unix_nano, p.time_unix_nano, p.value))
        .collect();
    let first = plain[0];
    let last = plain.last().unwrap();
    assert_eq!(first.0, first.1, "the first point starts at itself");
    assert_eq!(last.0, first.0, "later points keep the first start: {plain:?}");
    assert!(last.1 > first.1);
    assert_eq!(last.2, Some(number_data_point::Value::AsDouble(15.0)));

    // The target goes down: up 0, the receiver stays up and its counters count.
    target.down.store(true, Ordering::SeqCst);
    assert!(
        eventually(15, || gauge_values(&sink, "up").contains(&(Some(0.0), 0))),
        "up never went to 0: {}",
        ox.stderr()
    );
    assert!(ox.stderr().contains("Failed to scrape Prometheus endpoint"), "{}", ox.stderr());
    let accepted =
        ox.metric("otelcol_receiver_accepted_metric_points", &[("receiver", "prometheus"), ("transport", "http")]);
    assert!(
        accepted >= sink.data_points() as f64 && accepted > 0.0,
        "accepted {accepted}, sink {}",
        sink.data_points()
    );
    assert_eq!(ox.metric("otelcol_receiver_refused_metric_points", &[("receiver", "prometheus")]), 0.0);
}

#[test]
fn real_prometheus_and_own_self_metrics_into_prometheus() {
    let prom = Prometheus::start(false);
    let nothing = free_port();
    let yaml = format!(
        r#"
receivers:
  prometheus:
    config:
      global: {{scrape_interval: 1s, scrape_timeout: 1s}}
      scrape_configs:
        - job_name: prom
          static_configs: [{{targets: ['127.0.0.1:{prom}']}}]
          metric_relabel_configs:
            - {{source_labels: [__name__], regex: 'prometheus_build_info|prometheus_http_requests_total|go_goroutines|up', action: keep}}
            - {{source_labels: [handler], regex: '/api/v1/(.*)', target_label: api, replacement: '$$1'}}
            - {{regex: '(version|revision)', replacement: 'build_$${{1}}', action: labelmap}}
            - {{regex: 'goversion|branch', action: labeldrop}}
        - job_name: self
          static_configs: [{{targets: ['127.0.0.1:$METRICS'], labels: {{role: collector}}}}]
          relabel_configs:
            - {{source_labels: [role], regex: collector, action: keep}}
        - job_name: gone
          static_configs: [{{targets: ['127.0.0.1:{nothing}']}}]
exporters:
  prometheusremotewrite:
    endpoint: {write}
extensions:
  health_check: {{endpoint: 127.0.0.1:$HEALTH}}
service:
  extensions: [health_check]
  telemetry: {{metrics: {{address: 127.0.0.1:$METRICS}}}}
  pipelines:
    metrics: {{receivers: [prometheus], exporters: [prometheusremotewrite]}}
"#,
        prom = prom.port,
        write = prom.write_url()
    );
    let ox = Oxidot::start(&yaml);
    let up = prom.wait_for("up{job=\"prom\"}", 30);
    assert_eq!(up.len(), 1, "{}", ox.stderr());
    assert_eq!(value(&up[0]), 1.0);
    assert_eq!(up[0]["metric"]["instance"], format!("127.0.0.1:{}", prom.port));
    // Relabeling on real series: labelmap copied version/revision, labeldrop removed goversion.
    let build = prom.wait_for("prometheus_build_info{job=\"prom\"}", 20);
    assert_eq!(build.len(), 1, "{build:?}");
    let labels = &build[0]["metric"];
    assert!(labels["build_version"].is_string() && labels["build_version"] == labels["version"], "{labels}");
    assert!(labels["build_revision"].is_string(), "{labels}");
    assert!(labels.get("goversion").is_none() && labels.get("branch").is_none(), "{labels}");
    // replace: the API path without its prefix, on the handler series that have one.
    let api = prom.wait_for("prometheus_http_requests_total{job=\"prom\",api=\"write\"}", 20);
    assert!(!api.is_empty(), "no relabeled handler series");
    assert!(api.iter().all(|r| r["metric"]["handler"] == "/api/v1/write"));
    // keep: everything else of the job was dropped.
    assert!(prom.query("prometheus_tsdb_head_series{job=\"prom\"}").is_empty());
    assert!(prom.query("scrape_duration_seconds{job=\"prom\"}").len() == 1, "meta-metrics are not relabeled");
    // oxidot scraping its own :8888 (kept by relabel_configs on its target label).
    let own = prom.wait_for("otelcol_receiver_accepted_metric_points_total{job=\"self\"}", 30);
    let own =
        if own.is_empty() { prom.wait_for("otelcol_receiver_accepted_metric_points{job=\"self\"}", 5) } else { own };
    assert!(!own.is_empty(), "own self-metrics not scraped: {}", ox.stderr());
    assert_eq!(own[0]["metric"]["role"], "collector");
    assert_eq!(own[0]["metric"]["receiver"], "prometheus");
    assert!(value(&own[0]) > 0.0);
    // A target with nothing listening: up 0, and the others go on.
    let gone = prom.wait_for("up{job=\"gone\"} == 0", 20);
    assert_eq!(gone.len(), 1, "{}", ox.stderr());
    assert!(eventually(10, || value(&prom.query("up{job=\"prom\"}")[0]) == 1.0));
}

/// Gauge values of `name` from the resource of job `job`.
fn gauge_for(sink: &GrpcSink, name: &str, job: &str) -> Vec<f64> {
    metrics_named(sink, name)
        .into_iter()
        .filter(|(res, _)| str_attr(res, "service.name").as_deref() == Some(job))
        .flat_map(|(_, m)| match m.data {
            Some(metric::Data::Gauge(g)) => g.data_points,
            _ => vec![],
        })
        .filter_map(|p| match p.value {
            Some(number_data_point::Value::AsDouble(d)) => Some(d),
            _ => None,
        })
        .collect()
}

#[test]
fn sample_limit_body_limit_basic_auth_and_params() {
    let target = Target::start("text/plain; version=0.0.4", "a 1\nb 2\nc 3\n");
    let big = Target::start("text/plain; version=0.0.4", &"x 1\n".repeat(100));
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("password");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let sink = GrpcSink::start();
    let yaml = format!(
        r#"
receivers:
  prometheus:
    config:
      global: {{scrape_interval: 1s, scrape_timeout: 1s}}
      scrape_configs:
        - job_name: limited
          sample_limit: 2
          basic_auth: {{username: u, password_file: '{pw}'}}
          static_configs: [{{targets: ['127.0.0.1:{t}']}}]
        - job_name: bodylimit
          body_size_limit: 100B
          static_configs: [{{targets: ['127.0.0.1:{big}']}}]
        - job_name: fine
          params: {{module: [m1]}}
          metrics_path: /probe
          static_configs: [{{targets: ['127.0.0.1:{t}']}}]
exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    tls: {{insecure: true}}
extensions:
  health_check: {{endpoint: 127.0.0.1:$HEALTH}}
service:
  extensions: [health_check]
  telemetry: {{metrics: {{address: 127.0.0.1:$METRICS}}}}
  pipelines:
    metrics: {{receivers: [prometheus], exporters: [otlp]}}
"#,
        pw = pw.display(),
        t = target.port,
        big = big.port,
        sink = sink.port
    );
    let ox = Oxidot::start(&yaml);
    assert!(
        eventually(15, || !gauge_for(&sink, "up", "limited").is_empty()
            && !gauge_for(&sink, "up", "bodylimit").is_empty()
            && !gauge_for(&sink, "a", "fine").is_empty()),
        "{}",
        ox.stderr()
    );
    // sample_limit 2 with 3 samples: the scrape fails whole (up 0, none of its samples), as Prometheus.
    assert_eq!(gauge_for(&sink, "up", "limited")[0], 0.0);
    assert_eq!(gauge_for(&sink, "scrape_samples_scraped", "limited")[0], 3.0);
    assert!(gauge_for(&sink, "a", "limited").is_empty());
    // body_size_limit: 100 bytes of a 400-byte body.
    assert_eq!(gauge_for(&sink, "up", "bodylimit")[0], 0.0);
    assert!(ox.stderr().contains("body size limit exceeded"), "{}", ox.stderr());
    // The other job on the same target scrapes fine, with its params and path.
    assert_eq!(gauge_for(&sink, "up", "fine")[0], 1.0);
    assert_eq!(gauge_for(&sink, "a", "fine")[0], 1.0);
    let reqs = target.headers.lock().unwrap().clone();
    assert!(reqs.iter().any(|r| r.starts_with("GET /probe?module=m1 HTTP/1.1")), "{reqs:?}");
    // basic_auth from password_file (trimmed), as Prometheus sends it; never logged.
    assert!(reqs.iter().any(|r| r.to_ascii_lowercase().contains("authorization: basic dtpzm2nyzxq=")), "{reqs:?}");
    assert!(!ox.stderr().contains("s3cret"));
}
