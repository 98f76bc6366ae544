//! The receiver's `config:` block: a Prometheus configuration (prometheus/config/config.go),
//! decoded with Prometheus' keys and defaults and resolved into one `Job` per scrape config.
//! The parts the receiver does not support fail at start, naming the key (Go's receiver
//! rejects `remote_write`, `remote_read`, `rule_files` and `alerting` the same way).

use super::labels::Labels;
use super::relabel::{RelabelConfig, RelabelConfigRaw};
use super::textparse::Format;
use crate::config::ConfigError;
use crate::secret::Opaque;
use crate::tls::TlsClientConfig;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::time::Duration;

mod values;
pub use values::{accept_header, os_expand, parse_prom_duration};
use values::{parse_bytes, protocol_header, tls_version, DEFAULT_PROTOCOLS};

/// `config:` as written.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
struct PromConfigRaw {
    global: GlobalRaw,
    scrape_configs: Vec<Value>,
    scrape_config_files: Option<Value>,
    rule_files: Option<Value>,
    remote_write: Option<Value>,
    remote_read: Option<Value>,
    alerting: Option<Value>,
    // Accepted and unused by a scraper (Prometheus server settings).
    storage: Option<Value>,
    tracing: Option<Value>,
    runtime: Option<Value>,
    otlp: Option<Value>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
struct GlobalRaw {
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    scrape_protocols: Option<Vec<String>>,
    evaluation_interval: Option<String>,
    rule_query_offset: Option<String>,
    external_labels: BTreeMap<String, String>,
    query_log_file: Option<String>,
    scrape_failure_log_file: Option<String>,
    body_size_limit: Option<Value>,
    sample_limit: Option<u64>,
    target_limit: Option<u64>,
    label_limit: Option<u64>,
    label_name_length_limit: Option<u64>,
    label_value_length_limit: Option<u64>,
    keep_dropped_targets: Option<u64>,
    metric_name_validation_scheme: Option<String>,
    metric_name_escaping_scheme: Option<String>,
    scrape_native_histograms: Option<bool>,
    always_scrape_classic_histograms: Option<bool>,
    convert_classic_histograms_to_nhcb: Option<bool>,
    extra_scrape_metrics: Option<bool>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
struct ScrapeConfigRaw {
    job_name: String,
    honor_labels: bool,
    honor_timestamps: Option<bool>,
    track_timestamps_staleness: bool,
    params: BTreeMap<String, Vec<String>>,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    scrape_protocols: Option<Vec<String>>,
    fallback_scrape_protocol: Option<String>,
    scrape_native_histograms: Option<bool>,
    always_scrape_classic_histograms: Option<bool>,
    convert_classic_histograms_to_nhcb: Option<bool>,
    scrape_failure_log_file: Option<String>,
    metrics_path: Option<String>,
    scheme: Option<String>,
    enable_compression: Option<bool>,
    body_size_limit: Option<Value>,
    sample_limit: Option<u64>,
    target_limit: Option<u64>,
    label_limit: Option<u64>,
    label_name_length_limit: Option<u64>,
    label_value_length_limit: Option<u64>,
    native_histogram_bucket_limit: Option<u64>,
    native_histogram_min_bucket_factor: Option<f64>,
    keep_dropped_targets: Option<u64>,
    metric_name_validation_scheme: Option<String>,
    metric_name_escaping_scheme: Option<String>,
    extra_scrape_metrics: Option<bool>,
    // HTTP client (prometheus/common config.HTTPClientConfig, inlined).
    basic_auth: Option<BasicAuthRaw>,
    authorization: Option<AuthorizationRaw>,
    oauth2: Option<Value>,
    bearer_token: Option<Opaque>,
    bearer_token_file: Option<String>,
    tls_config: Option<TlsConfigRaw>,
    proxy_url: Option<String>,
    no_proxy: Option<String>,
    proxy_from_environment: Option<bool>,
    proxy_connect_header: Option<Value>,
    follow_redirects: Option<bool>,
    enable_http2: Option<bool>,
    http_headers: Option<Value>,
    // Discovery: only static_configs (any other `*_sd_configs` is refused before decoding).
    static_configs: Vec<StaticConfigRaw>,
    relabel_configs: Vec<RelabelConfigRaw>,
    metric_relabel_configs: Vec<RelabelConfigRaw>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
struct StaticConfigRaw {
    targets: Vec<String>,
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
struct BasicAuthRaw {
    username: String,
    username_file: Option<String>,
    username_ref: Option<String>,
    password: Option<Opaque>,
    password_file: Option<String>,
    password_ref: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
struct AuthorizationRaw {
    #[serde(rename = "type")]
    typ: Option<String>,
    credentials: Option<Opaque>,
    credentials_file: Option<String>,
    credentials_ref: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, default)]
struct TlsConfigRaw {
    ca: Option<Opaque>,
    ca_file: Option<String>,
    ca_ref: Option<String>,
    cert: Option<Opaque>,
    cert_file: Option<String>,
    cert_ref: Option<String>,
    key: Option<Opaque>,
    key_file: Option<String>,
    key_ref: Option<String>,
    server_name: Option<String>,
    insecure_skip_verify: bool,
    min_version: Option<String>,
    max_version: Option<String>,
}

/// A secret given inline or as a file read at every scrape (as Prometheus does).
#[derive(Debug, Clone, PartialEq)]
pub enum Secret {
    Inline(Opaque),
    File(String),
}

/// How a scrape authenticates.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    Basic {
        username: String,
        password: Option<Secret>,
    },
    /// `Authorization: <type> <credentials>`.
    Header {
        typ: String,
        credentials: Secret,
    },
}

/// One static target group.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroup {
    pub targets: Vec<String>,
    pub labels: Vec<(String, String)>,
}

/// One resolved `scrape_configs` entry.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub metrics_path: String,
    pub scheme: String,
    pub params: BTreeMap<String, Vec<String>>,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    /// Bytes; 0 = Prometheus' "no limit" (oxidot then applies `DEFAULT_BODY_LIMIT`).
    pub body_size_limit: u64,
    pub accept: String,
    pub fallback: Option<Format>,
    pub enable_compression: bool,
    pub follow_redirects: bool,
    pub extra_scrape_metrics: bool,
    pub auth: Option<Auth>,
    pub tls: TlsClientConfig,
    pub relabel: Vec<RelabelConfig>,
    pub metric_relabel: Vec<RelabelConfig>,
    pub groups: Vec<TargetGroup>,
}

/// The resolved `config:`.
#[derive(Debug, Clone, Default)]
pub struct PromConfig {
    pub external_labels: Labels,
    pub jobs: Vec<Job>,
}

/// Decodes and resolves `config:`; errors are located under `base` (`receivers::prometheus::config`).
pub fn parse(v: &Value, base: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<PromConfig, Vec<ConfigError>> {
    let mut errs = Vec::new();
    let raw: PromConfigRaw = crate::config::de::from_value(v).map_err(|e| vec![ConfigError::from_de(&[base], e)])?;
    // Go: Config.Validate's "unsupported features", sorted.
    let mut unsupported: Vec<&str> = Vec::new();
    if raw.remote_write.is_some() {
        unsupported.push("remote_write");
    }
    if raw.remote_read.is_some() {
        unsupported.push("remote_read");
    }
    if raw.rule_files.is_some() {
        unsupported.push("rule_files");
    }
    if raw.alerting.is_some() {
        unsupported.push("alerting");
    }
    if !unsupported.is_empty() {
        errs.push(ConfigError::new(base, format!("unsupported features:\n\t{}", unsupported.join("\n\t"))));
    }
    if raw.scrape_config_files.is_some() {
        errs.push(ConfigError::new(
            format!("{base}::scrape_config_files"),
            "is not supported by oxidot yet: put the scrape configs under scrape_configs",
        ));
    }
    let g = &raw.global;
    let gpath = format!("{base}::global");
    let dur = |s: &Option<String>, key: &str, errs: &mut Vec<ConfigError>, path: &str| -> Option<Duration> {
        s.as_ref().and_then(|s| match parse_prom_duration(s) {
            Ok(d) => Some(d),
            Err(e) => {
                errs.push(ConfigError::new(format!("{path}::{key}"), e));
                None
            }
        })
    };
    let g_interval = dur(&g.scrape_interval, "scrape_interval", &mut errs, &gpath)
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(60));
    let g_timeout_set = dur(&g.scrape_timeout, "scrape_timeout", &mut errs, &gpath).unwrap_or_default();
    if g_timeout_set > g_interval {
        errs.push(ConfigError::new(gpath.clone(), "global scrape timeout greater than scrape interval"));
    }
    let g_timeout = if g_timeout_set.is_zero() { Duration::from_secs(10).min(g_interval) } else { g_timeout_set };
    if g.scrape_failure_log_file.is_some() {
        errs.push(ConfigError::new(format!("{gpath}::scrape_failure_log_file"), "is not supported by oxidot yet"));
    }
    if g.convert_classic_histograms_to_nhcb == Some(true) {
        errs.push(ConfigError::new(
            format!("{gpath}::convert_classic_histograms_to_nhcb"),
            "is not supported by oxidot yet",
        ));
    }
    let g_body = match g.body_size_limit.as_ref().map(parse_bytes).transpose() {
        Ok(b) => b.unwrap_or(0),
        Err(e) => {
            errs.push(ConfigError::new(format!("{gpath}::body_size_limit"), e));
            0
        }
    };
    // prometheus config.Load: external label values go through os.Expand ($VAR, ${VAR}, $$).
    let mut external = Labels::new();
    for (k, v) in &g.external_labels {
        external.set(k.clone(), os_expand(v, env));
    }

    let mut jobs: Vec<Job> = Vec::new();
    for (i, sc) in raw.scrape_configs.iter().enumerate() {
        let path = format!("{base}::scrape_configs::{i}");
        if let Value::Mapping(m) = sc {
            let mut refused = false;
            for k in m.keys() {
                if let Some(k) = k.as_str().filter(|k| k.ends_with("_sd_configs")) {
                    errs.push(ConfigError::new(
                        format!("{path}::{k}"),
                        format!("service discovery {k:?} is not supported yet (oxidot scrapes static_configs only)"),
                    ));
                    refused = true;
                }
            }
            if refused {
                continue;
            }
        }
        let r: ScrapeConfigRaw = match crate::config::de::from_value(sc) {
            Ok(r) => r,
            Err(e) => {
                errs.push(ConfigError::from_de(&[&path], e));
                continue;
            }
        };
        match job(&r, &path, g, g_interval, g_timeout, g_body) {
            Ok(j) => {
                if jobs.iter().any(|o| o.name == j.name) {
                    errs.push(ConfigError::new(
                        path,
                        format!("found multiple scrape configs with job name {:?}", j.name),
                    ));
                } else {
                    jobs.push(j);
                }
            }
            Err(mut e) => errs.append(&mut e),
        }
    }
    if raw.scrape_configs.is_empty() {
        errs.push(ConfigError::new(base, "no Prometheus scrape_configs or target_allocator set"));
    }
    if errs.is_empty() {
        Ok(PromConfig { external_labels: external, jobs })
    } else {
        Err(errs)
    }
}

fn job(
    r: &ScrapeConfigRaw,
    path: &str,
    g: &GlobalRaw,
    g_interval: Duration,
    g_timeout: Duration,
    g_body: u64,
) -> Result<Job, Vec<ConfigError>> {
    let mut errs = Vec::new();
    let at = |k: &str| format!("{path}::{k}");
    if r.job_name.is_empty() {
        errs.push(ConfigError::new(at("job_name"), "job_name is empty"));
    }
    let unsupported = [
        ("oauth2", r.oauth2.is_some()),
        ("proxy_url", r.proxy_url.is_some()),
        ("no_proxy", r.no_proxy.is_some()),
        ("proxy_from_environment", r.proxy_from_environment == Some(true)),
        ("proxy_connect_header", r.proxy_connect_header.is_some()),
        ("http_headers", r.http_headers.is_some()),
        ("scrape_failure_log_file", r.scrape_failure_log_file.is_some()),
        ("convert_classic_histograms_to_nhcb", r.convert_classic_histograms_to_nhcb == Some(true)),
    ];
    for (k, set) in unsupported {
        if set {
            errs.push(ConfigError::new(at(k), "is not supported by oxidot yet"));
        }
    }
    let interval = match r.scrape_interval.as_deref().map(parse_prom_duration).transpose() {
        Ok(d) => d.filter(|d| !d.is_zero()).unwrap_or(g_interval),
        Err(e) => {
            errs.push(ConfigError::new(at("scrape_interval"), e));
            g_interval
        }
    };
    let timeout_set = match r.scrape_timeout.as_deref().map(parse_prom_duration).transpose() {
        Ok(d) => d.unwrap_or_default(),
        Err(e) => {
            errs.push(ConfigError::new(at("scrape_timeout"), e));
            Duration::ZERO
        }
    };
    if timeout_set > interval {
        errs.push(ConfigError::new(
            path,
            format!("scrape timeout greater than scrape interval for scrape config with job name {:?}", r.job_name),
        ));
    }
    let timeout = if timeout_set.is_zero() { g_timeout.min(interval) } else { timeout_set };
    let protocols: Vec<String> = r
        .scrape_protocols
        .clone()
        .or_else(|| g.scrape_protocols.clone())
        .unwrap_or_else(|| DEFAULT_PROTOCOLS.iter().map(|s| s.to_string()).collect());
    if protocols.is_empty() {
        errs.push(ConfigError::new(at("scrape_protocols"), "scrape_protocols cannot be empty"));
    }
    for p in &protocols {
        if p == "PrometheusProto" {
            errs.push(ConfigError::new(
                at("scrape_protocols"),
                "PrometheusProto is not supported by oxidot yet (text formats only)",
            ));
        } else if protocol_header(p).is_none() {
            errs.push(ConfigError::new(
                at("scrape_protocols"),
                format!("unknown scrape protocol {p:?}, supported: {}", DEFAULT_PROTOCOLS.join(", ")),
            ));
        }
    }
    // The receiver's default fallback is PrometheusText0.0.4 (prometheusreceiver config.go).
    let fallback = match r.fallback_scrape_protocol.as_deref() {
        None | Some("") | Some("PrometheusText0.0.4") | Some("PrometheusText1.0.0") => Some(Format::PromText),
        Some("OpenMetricsText0.0.1") | Some("OpenMetricsText1.0.0") => Some(Format::OpenMetrics),
        Some(o) => {
            errs.push(ConfigError::new(
                at("fallback_scrape_protocol"),
                format!("unsupported fallback_scrape_protocol {o:?}"),
            ));
            None
        }
    };
    let scheme = r.scheme.clone().unwrap_or_else(|| "http".into());
    if scheme != "http" && scheme != "https" {
        errs.push(ConfigError::new(at("scheme"), format!("unknown scheme {scheme:?}: use http or https")));
    }
    let body_size_limit = match r.body_size_limit.as_ref().map(parse_bytes).transpose() {
        Ok(Some(b)) if b > 0 => b,
        Ok(_) => g_body,
        Err(e) => {
            errs.push(ConfigError::new(at("body_size_limit"), e));
            0
        }
    };
    let secret =
        |inline: &Option<Opaque>, file: &Option<String>, key: &str, errs: &mut Vec<ConfigError>| match (inline, file) {
            (Some(_), Some(_)) => {
                errs.push(ConfigError::new(at(key), format!("at most one of {key} & {key}_file must be configured")));
                None
            }
            (Some(s), None) => Some(Secret::Inline(s.clone())),
            (None, Some(f)) => Some(Secret::File(f.clone())),
            (None, None) => None,
        };
    let mut auths = 0;
    let mut auth = None;
    if let Some(b) = &r.basic_auth {
        auths += 1;
        if b.username_file.is_some() || b.username_ref.is_some() || b.password_ref.is_some() {
            errs.push(ConfigError::new(
                at("basic_auth"),
                "username_file, username_ref and password_ref are not supported by oxidot yet",
            ));
        }
        auth = Some(Auth::Basic {
            username: b.username.clone(),
            password: secret(&b.password, &b.password_file, "basic_auth::password", &mut errs),
        });
    }
    if let Some(a) = &r.authorization {
        auths += 1;
        if a.credentials_ref.is_some() {
            errs.push(ConfigError::new(at("authorization::credentials_ref"), "is not supported by oxidot yet"));
        }
        let typ = a.typ.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| "Bearer".into());
        if typ.eq_ignore_ascii_case("basic") {
            errs.push(ConfigError::new(
                at("authorization::type"),
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ));
        }
        if let Some(c) = secret(&a.credentials, &a.credentials_file, "authorization::credentials", &mut errs) {
            auth = Some(Auth::Header { typ, credentials: c });
        }
    }
    if let Some(c) = secret(&r.bearer_token, &r.bearer_token_file, "bearer_token", &mut errs) {
        auths += 1;
        auth = Some(Auth::Header { typ: "Bearer".into(), credentials: c });
    }
    if auths > 1 {
        errs.push(ConfigError::new(
            path,
            "at most one of basic_auth, authorization and bearer_token may be configured",
        ));
    }
    let mut tls = TlsClientConfig::default();
    if let Some(t) = &r.tls_config {
        if t.ca_ref.is_some() || t.cert_ref.is_some() || t.key_ref.is_some() {
            errs.push(ConfigError::new(
                at("tls_config"),
                "ca_ref, cert_ref and key_ref are not supported by oxidot yet",
            ));
        }
        tls.ca_file = t.ca_file.clone();
        tls.ca_pem = t.ca.clone();
        tls.cert_file = t.cert_file.clone();
        tls.cert_pem = t.cert.clone();
        tls.key_file = t.key_file.clone();
        tls.key_pem = t.key.clone();
        tls.server_name_override = t.server_name.clone();
        tls.insecure_skip_verify = t.insecure_skip_verify;
        match tls_version(&t.min_version, "min_version")
            .and_then(|a| Ok((a, tls_version(&t.max_version, "max_version")?)))
        {
            Ok((min, max)) => {
                tls.min_version = min;
                tls.max_version = max;
            }
            Err(e) => errs.push(ConfigError::new(at("tls_config"), e)),
        }
        // Go's receiver checks the files exist (checkTLSConfig).
        for (k, f) in [("cert_file", &t.cert_file), ("key_file", &t.key_file), ("ca_file", &t.ca_file)] {
            if let Some(f) = f.as_deref().filter(|f| !f.is_empty()) {
                if std::fs::metadata(f).is_err() {
                    errs.push(ConfigError::new(
                        at(&format!("tls_config::{k}")),
                        format!("error checking file {f:?}: no such file"),
                    ));
                }
            }
        }
    }
    let mut relabel = Vec::new();
    for (i, rc) in r.relabel_configs.iter().enumerate() {
        match RelabelConfig::from_raw(rc) {
            Ok(c) => relabel.push(c),
            Err(e) => errs.push(ConfigError::new(at(&format!("relabel_configs::{i}")), e)),
        }
    }
    let mut metric_relabel = Vec::new();
    for (i, rc) in r.metric_relabel_configs.iter().enumerate() {
        match RelabelConfig::from_raw(rc) {
            Ok(c) => metric_relabel.push(c),
            Err(e) => errs.push(ConfigError::new(at(&format!("metric_relabel_configs::{i}")), e)),
        }
    }
    let mut groups = Vec::new();
    for (i, sc) in r.static_configs.iter().enumerate() {
        // config.checkStaticTargets (only when there is no relabeling to fix it up).
        if r.relabel_configs.is_empty() {
            for t in &sc.targets {
                if t.contains('/') {
                    errs.push(ConfigError::new(
                        at(&format!("static_configs::{i}::targets")),
                        format!("{t:?} is not a valid hostname (a target is host:port, without scheme or path)"),
                    ));
                }
            }
        }
        groups.push(TargetGroup {
            targets: sc.targets.clone(),
            labels: sc.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        });
    }
    let or_g = |own: Option<u64>, global: Option<u64>| own.filter(|v| *v > 0).or(global).unwrap_or(0);
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Job {
        name: r.job_name.clone(),
        interval,
        timeout,
        metrics_path: r.metrics_path.clone().unwrap_or_else(|| "/metrics".into()),
        scheme,
        params: r.params.clone(),
        honor_labels: r.honor_labels,
        honor_timestamps: r.honor_timestamps.unwrap_or(true),
        track_timestamps_staleness: r.track_timestamps_staleness,
        sample_limit: or_g(r.sample_limit, g.sample_limit),
        label_limit: or_g(r.label_limit, g.label_limit),
        label_name_length_limit: or_g(r.label_name_length_limit, g.label_name_length_limit),
        label_value_length_limit: or_g(r.label_value_length_limit, g.label_value_length_limit),
        body_size_limit,
        accept: accept_header(&protocols),
        fallback,
        enable_compression: r.enable_compression.unwrap_or(true),
        follow_redirects: r.follow_redirects.unwrap_or(true),
        extra_scrape_metrics: r.extra_scrape_metrics.or(g.extra_scrape_metrics).unwrap_or(false),
        auth,
        tls,
        relabel,
        metric_relabel,
        groups,
    })
}

#[cfg(test)]
mod tests;
