//! Config checks as Go's config.go/factory.go tests, and request splitting.

use super::*;
use crate::proto::prometheus::{Label, Sample, TimeSeries};
use prost::Message;

fn cfg(yaml: &str) -> PrwConfig {
    let mut c: PrwConfig = serde_yaml_ng::from_str(yaml).unwrap();
    if c.endpoint.is_empty() {
        c.endpoint = "http://prom:9090/api/v1/write".into();
    }
    c
}

fn errors(c: &PrwConfig) -> Vec<String> {
    c.validate("exporters::prometheusremotewrite").0.iter().map(|e| e.to_string()).collect()
}

/// config.go `Validate`, factory.go `createMetricsExporter` warnings.
#[test]
fn config_checks_as_go() {
    assert!(errors(&cfg("{}")).is_empty());
    assert!(cfg("{}").validate("x").1.is_empty(), "the defaults warn about nothing");
    let e = errors(&cfg("translation_strategy: Bogus"));
    assert!(
        e.iter().any(|e| e.contains("translation_strategy") && e.contains("invalid translation_strategy: Bogus")),
        "{e:?}"
    );
    for s in ["NoUTF8EscapingWithSuffixes", "NoTranslation"] {
        let e = errors(&cfg(&format!("translation_strategy: {s}")));
        assert!(e.iter().any(|e| e.contains("requires Prometheus Remote Write 2.0")), "{s}: {e:?}");
    }
    assert!(errors(&cfg("translation_strategy: UnderscoreEscapingWithoutSuffixes")).is_empty());
    let e = errors(&cfg("max_batch_request_parallelism: 0"));
    assert!(e.iter().any(|e| e.contains("max_batch_request_parallelism can't be set to below 1")), "{e:?}");
    let e = errors(&cfg("remote_write_queue: {queue_size: 0}"));
    assert!(e.iter().any(|e| e.contains("a 0 size queue will drop all the data")), "{e:?}");
    let e = errors(&cfg("external_labels: {cluster: ''}"));
    assert!(e.iter().any(|e| e.contains("empty key or value")), "{e:?}");
    for k in [
        "protobuf_message: io.prometheus.write.v2.Request",
        "wal: {directory: /tmp}",
        "http: {endpoint: x}",
        "resource_constant_labels: {included: ['*']}",
    ] {
        let key = k.split(':').next().unwrap();
        assert!(errors(&cfg(k)).iter().any(|e| e.contains(key)), "{k}");
    }
    // config.go has no `export_created_metric` any more (its gate was removed in v0.118): an
    // unknown key, as in Go.
    assert!(serde_yaml_ng::from_str::<PrwConfig>("export_created_metric: {enabled: true}").is_err());
    let w = cfg("add_metric_suffixes: false\nremote_write_queue: {num_consumers: 2}").validate("x").1;
    assert!(w.iter().any(|w| w.contains("`add_metric_suffixes` is deprecated")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("max_batch_request_parallelism")), "{w:?}");
}

/// factory.go: one queue consumer whatever num_consumers says; exporter.go: num_consumers
/// (or max_batch_request_parallelism) requests of a batch at once; the helper does not retry.
#[test]
fn one_consumer_and_request_parallelism() {
    let c = cfg("remote_write_queue: {num_consumers: 7}");
    assert_eq!(c.queue().num_consumers, 1);
    assert_eq!(c.parallelism(), 7);
    assert_eq!(cfg("max_batch_request_parallelism: 3").parallelism(), 3);
    assert_eq!(cfg("{}").parallelism(), 5);
    let h = PrwExporter::helper_settings(&c);
    assert!(!h.retry.enabled);
    assert_eq!(h.timeout, Some(std::time::Duration::from_secs(5)));
    assert_eq!(h.queue.queue_size, 10000);
}

/// factory.go `createDefaultConfig` (factory_test.go TestCreateDefaultConfig): configretry's
/// default backoff with a 50ms initial interval (not the old 200ms/1m), a 5s timeout,
/// 3000000 bytes per request, queue 10000 with 5 consumers, target_info on, no metadata.
#[test]
fn defaults_as_go_factory() {
    let c = PrwConfig::default();
    assert_eq!(c.retry_on_failure.initial_interval, GoDuration::from_millis(50));
    assert_eq!(c.retry_on_failure.max_interval, GoDuration::from_secs(30));
    assert_eq!(c.retry_on_failure.max_elapsed_time, GoDuration::from_secs(300));
    assert_eq!((c.retry_on_failure.randomization_factor, c.retry_on_failure.multiplier), (0.5, 1.5));
    assert!(c.retry_on_failure.enabled);
    assert_eq!(c.timeout, GoDuration::from_secs(5));
    assert_eq!(c.max_batch_size_bytes, 3_000_000);
    assert_eq!(c.remote_write_queue, RemoteWriteQueue { enabled: true, queue_size: 10000, num_consumers: 5 });
    assert!(c.target_info.enabled && c.add_metric_suffixes && !c.send_metadata && !c.disable_scope_info);
}

/// metrics_to_prw.go `getTranslationConfiguration`.
#[test]
fn translation_strategy_overrides_add_metric_suffixes() {
    assert!(cfg("{}").with_suffixes());
    assert!(!cfg("add_metric_suffixes: false").with_suffixes());
    assert!(!cfg("translation_strategy: UnderscoreEscapingWithoutSuffixes").with_suffixes());
    assert!(cfg("add_metric_suffixes: false\ntranslation_strategy: UnderscoreEscapingWithSuffixes").with_suffixes());
}

#[test]
fn requests_stay_under_the_size_limit() {
    let ts = |i: usize| TimeSeries {
        labels: vec![Label { name: "__name__".into(), value: format!("m{i:04}") }],
        samples: vec![Sample { value: 1.0, timestamp: 1 }],
        ..Default::default()
    };
    let one = ts(0).encoded_len() + 5;
    let reqs = split_requests((0..100).map(ts).collect(), vec![], one * 10);
    assert_eq!(reqs.len(), 10);
    assert!(reqs.iter().all(|r| r.encoded_len() <= one * 10));
    assert_eq!(reqs.iter().map(|r| r.timeseries.len()).sum::<usize>(), 100);
    assert_eq!(split_requests((0..3).map(ts).collect(), vec![], 1).len(), 3, "an oversized series goes alone");
}
