use super::*;

fn env(k: &str) -> Option<String> {
    (k == "REGION").then(|| "eu-west-1".to_string())
}

fn p(yaml: &str) -> Result<PromConfig, Vec<ConfigError>> {
    let v: Value = serde_yaml_ng::from_str(yaml).unwrap();
    parse(&v, "receivers::prometheus::config", &env)
}

fn errs(yaml: &str) -> Vec<String> {
    p(yaml).err().unwrap_or_default().iter().map(|e| e.to_string()).collect()
}

#[test]
fn adot_ecs_config_resolves_with_prometheus_defaults() {
    let c = p(r#"
global: {scrape_interval: 20s, scrape_timeout: 10s}
scrape_configs:
  - job_name: "otel-collector"
    static_configs:
      - targets: ['localhost:8888']
"#)
    .unwrap();
    let j = &c.jobs[0];
    assert_eq!(j.name, "otel-collector");
    assert_eq!(j.interval, Duration::from_secs(20));
    assert_eq!(j.timeout, Duration::from_secs(10));
    assert_eq!(j.metrics_path, "/metrics");
    assert_eq!(j.scheme, "http");
    assert!(j.honor_timestamps && !j.honor_labels && j.enable_compression);
    assert_eq!(j.fallback, Some(Format::PromText));
    assert_eq!(j.groups[0].targets, vec!["localhost:8888".to_string()]);
    // scrape.acceptHeader with DefaultScrapeProtocols and allow-utf-8 escaping.
    assert_eq!(
        j.accept,
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    );
}

#[test]
fn global_defaults_and_inheritance() {
    let c =
        p("scrape_configs: [{job_name: a, static_configs: [{targets: ['h:1']}]}, {job_name: b, scrape_interval: 5s}]")
            .unwrap();
    assert_eq!(c.jobs[0].interval, Duration::from_secs(60));
    assert_eq!(c.jobs[0].timeout, Duration::from_secs(10));
    // The timeout defaults to min(global timeout, interval).
    assert_eq!(c.jobs[1].timeout, Duration::from_secs(5));
}

#[test]
fn errors_name_the_key() {
    let e = errs("scrape_configs: [{job_name: a, ec2_sd_configs: [{region: x}]}]");
    assert_eq!(
        e,
        vec!["receivers::prometheus::config::scrape_configs::0::ec2_sd_configs: service discovery \"ec2_sd_configs\" is not supported yet (oxidot scrapes static_configs only)"]
    );
    assert!(errs("scrape_configs: [{job_name: a, kubernetes_sd_configs: []}]")[0].contains("kubernetes_sd_configs"));
    assert_eq!(
        errs("scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 10s}]"),
        vec!["receivers::prometheus::config::scrape_configs::0: scrape timeout greater than scrape interval for scrape config with job name \"a\""]
    );
    assert!(errs("global: {scrape_interval: 5s, scrape_timeout: 6s}\nscrape_configs: [{job_name: a}]")[0]
        .ends_with("global scrape timeout greater than scrape interval"));
    assert!(errs("scrape_configs: [{job_name: a}, {job_name: a}]")[0]
        .contains("found multiple scrape configs with job name \"a\""));
    assert!(errs("scrape_configs: []")[0].ends_with("no Prometheus scrape_configs or target_allocator set"));
    assert!(errs("remote_write: [{url: x}]\nscrape_configs: [{job_name: a}]")[0]
        .contains("unsupported features:\n\tremote_write"));
    assert!(errs("scrape_configs: [{job_name: a, static_configs: [{targets: ['http://h:1/metrics']}]}]")[0]
        .contains("is not a valid hostname"));
    let unknown = errs("scrape_configs: [{job_name: a, scrape_intervall: 5s}]");
    assert!(
        unknown[0].contains("scrape_configs::0::scrape_intervall: unknown key \"scrape_intervall\""),
        "{unknown:?}"
    );
    assert!(unknown[0].contains("did you mean \"scrape_interval\""), "{unknown:?}");
    assert!(errs("scrape_configs: [{job_name: a, relabel_configs: [{action: hashmod, target_label: x}]}]")[0]
        .contains("relabel_configs::0: relabel configuration for hashmod requires non-zero modulus"));
    assert!(errs("scrape_configs: [{job_name: a, scrape_interval: 5x}]")[0].contains("not a valid duration string"));
}

#[test]
fn prometheus_durations() {
    assert_eq!(parse_prom_duration("1h30m").unwrap(), Duration::from_secs(5400));
    assert_eq!(parse_prom_duration("1d").unwrap(), Duration::from_secs(86400));
    assert_eq!(parse_prom_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_prom_duration("0").unwrap(), Duration::ZERO);
    for bad in ["", "1", "1.5s", "1m1h", "-1s", "1s1s"] {
        assert!(parse_prom_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn external_labels_expand_like_os_expand() {
    let c = p("global: {external_labels: {region: '$REGION', r2: '${REGION}-x', lit: 'a$$b', none: '$NOPE'}}\nscrape_configs: [{job_name: a}]").unwrap();
    assert_eq!(c.external_labels.get("region"), "eu-west-1");
    assert_eq!(c.external_labels.get("r2"), "eu-west-1-x");
    assert_eq!(c.external_labels.get("lit"), "a$b");
    assert!(!c.external_labels.has("none"));
}

#[test]
fn auth_and_tls_map() {
    let c = p(r#"
scrape_configs:
  - job_name: a
    scheme: https
    basic_auth: {username: u, password: secret}
    tls_config: {insecure_skip_verify: true, min_version: TLS12, server_name: example}
    sample_limit: 100
    body_size_limit: 1MB
    params: {module: [http_2xx]}
"#)
    .unwrap();
    let j = &c.jobs[0];
    assert!(matches!(&j.auth, Some(Auth::Basic { username, password: Some(Secret::Inline(_)) }) if username == "u"));
    assert!(!format!("{j:?}").contains("secret"), "secrets never in Debug");
    assert!(j.tls.insecure_skip_verify);
    assert_eq!(j.tls.min_version, "1.2");
    assert_eq!(j.sample_limit, 100);
    assert_eq!(j.body_size_limit, 1 << 20);
    assert_eq!(j.params["module"], vec!["http_2xx".to_string()]);
    assert!(errs("scrape_configs: [{job_name: a, basic_auth: {username: u}, authorization: {credentials: x}}]")[0]
        .contains("at most one of basic_auth"));
}
