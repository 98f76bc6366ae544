//! Targets from `static_configs` and the label rules of a scrape (prometheus/scrape/target.go
//! PopulateLabels, scrape.go mutateSampleLabels and mutateReportSampleLabels). Pure.

use super::config::Job;
use super::labels::*;
use super::relabel;

/// One target to scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The labels every sample of it gets (`job`, `instance`, static labels; no `__` labels).
    pub labels: Labels,
    /// The URL scraped.
    pub url: String,
    /// `__scheme__` before relabeling (resource `url.scheme`).
    pub discovered_scheme: String,
}

/// model.Duration's String: the largest units, `1m30s`, `20s`, `1h`.
pub fn prom_duration_string(d: std::time::Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("y", 31_536_000_000u64),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Every target of `job`, after `relabel_configs` (targets dropped by them are left out);
/// an error names a target whose labels are unusable.
pub fn targets(job: &Job) -> (Vec<Target>, Vec<String>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for g in &job.groups {
        for addr in &g.targets {
            let mut lb = Labels::new();
            lb.set(ADDRESS.into(), addr.clone());
            for (k, v) in &g.labels {
                lb.set(k.clone(), v.clone());
            }
            // Scrape config defaults, only where the group did not set them.
            let defaults = [
                (JOB, job.name.clone()),
                (SCRAPE_INTERVAL, prom_duration_string(job.interval)),
                (SCRAPE_TIMEOUT, prom_duration_string(job.timeout)),
                (METRICS_PATH, job.metrics_path.clone()),
                (SCHEME, job.scheme.clone()),
            ];
            for (k, v) in defaults {
                if !lb.has(k) {
                    lb.set(k.to_string(), v);
                }
            }
            for (k, vs) in &job.params {
                let name = format!("{PARAM_PREFIX}{k}");
                if !lb.has(&name) {
                    if let Some(v) = vs.first() {
                        lb.set(name, v.clone());
                    }
                }
            }
            let discovered_scheme = lb.get(SCHEME).to_string();
            if !relabel::process(&mut lb, &job.relabel) {
                continue;
            }
            let address = lb.get(ADDRESS).to_string();
            if address.is_empty() {
                errs.push(format!("target {addr:?}: no address"));
                continue;
            }
            if !lb.has(INSTANCE) {
                lb.set(INSTANCE.into(), address.clone());
            }
            // The query: the config's params, then __param_ labels replacing a first value.
            let mut params: Vec<(String, Vec<String>)> =
                job.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            for (k, v) in lb.iter() {
                if let Some(p) = k.strip_prefix(PARAM_PREFIX) {
                    match params.iter_mut().find(|(n, _)| n == p) {
                        Some((_, vs)) if !vs.is_empty() => vs[0] = v.to_string(),
                        Some((_, vs)) => vs.push(v.to_string()),
                        None => params.push((p.to_string(), vec![v.to_string()])),
                    }
                }
            }
            let mut url = format!("{}://{}{}", lb.get(SCHEME), address, lb.get(METRICS_PATH));
            let query: Vec<String> = params
                .iter()
                .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{}={}", query_escape(k), query_escape(v))))
                .collect();
            if !query.is_empty() {
                url.push('?');
                url.push_str(&query.join("&"));
            }
            let mut labels = lb.clone();
            labels.retain(|k, _| !k.starts_with("__"));
            out.push(Target { labels, url, discovered_scheme });
        }
    }
    (out, errs)
}

/// scrape.go mutateSampleLabels: target labels onto a scraped sample, then
/// `metric_relabel_configs`; `None` when dropped.
pub fn mutate_sample(scraped: Labels, target: &Target, honor: bool, rc: &[relabel::RelabelConfig]) -> Option<Labels> {
    let mut lb = scraped.clone();
    if honor {
        for (k, v) in target.labels.iter() {
            if !scraped.has(k) {
                lb.set(k.to_string(), v.to_string());
            }
        }
    } else {
        let mut conflicts: Vec<(String, String)> = Vec::new();
        for (k, v) in target.labels.iter() {
            let existing = scraped.get(k);
            if !existing.is_empty() {
                conflicts.push((k.to_string(), existing.to_string()));
            }
            lb.set(k.to_string(), v.to_string());
        }
        // resolveConflictingExposedLabels: shortest names first, `exported_` until free.
        conflicts.sort_by_key(|(k, _)| k.len());
        for (k, v) in conflicts {
            let mut name = k;
            loop {
                name = format!("{EXPORTED_PREFIX}{name}");
                if lb.get(&name).is_empty() {
                    lb.set(name, v);
                    break;
                }
            }
        }
    }
    relabel::process(&mut lb, rc).then_some(lb)
}

/// scrape.go mutateReportSampleLabels: a meta-metric with the target's labels.
pub fn report_labels(name: &str, target: &Target) -> Labels {
    let mut lb = Labels::new();
    lb.set(METRIC_NAME.into(), name.into());
    for (k, v) in target.labels.iter() {
        let exported = format!("{EXPORTED_PREFIX}{k}");
        let cur = lb.get(k).to_string();
        lb.set(exported, cur);
        lb.set(k.to_string(), v.to_string());
    }
    lb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::prometheus::config::parse;

    fn job(yaml: &str) -> Job {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
        parse(&v, "x", &|_| None).unwrap().jobs.remove(0)
    }

    #[test]
    fn static_targets_with_relabeling() {
        let j = job(r#"
scrape_configs:
  - job_name: api
    scrape_interval: 90s
    params: {format: [prometheus]}
    static_configs:
      - targets: ['a:9100', 'b:9100']
        labels: {env: prod}
    relabel_configs:
      - {source_labels: [__address__], regex: 'b:.*', action: drop}
      - {source_labels: [__address__], regex: '(.*):.*', target_label: host, replacement: '$1'}
      - {target_label: __metrics_path__, replacement: /m}
"#);
        let (ts, errs) = targets(&j);
        assert!(errs.is_empty());
        assert_eq!(ts.len(), 1);
        let t = &ts[0];
        assert_eq!(t.url, "http://a:9100/m?format=prometheus");
        assert_eq!(
            t.labels,
            Labels::from_pairs([("env", "prod"), ("host", "a"), ("instance", "a:9100"), ("job", "api")])
        );
        assert_eq!(t.discovered_scheme, "http");
        assert_eq!(prom_duration_string(j.interval), "1m30s");
    }

    #[test]
    fn honor_labels_and_exported_prefix() {
        let t = Target {
            labels: Labels::from_pairs([("job", "j"), ("instance", "i")]),
            url: String::new(),
            discovered_scheme: "http".into(),
        };
        let scraped = Labels::from_pairs([("__name__", "m"), ("job", "theirs"), ("exported_job", "x")]);
        let out = mutate_sample(scraped.clone(), &t, false, &[]).unwrap();
        assert_eq!(out.get("job"), "j");
        assert_eq!(out.get("exported_job"), "x");
        assert_eq!(out.get("exported_exported_job"), "theirs");
        let honored = mutate_sample(scraped, &t, true, &[]).unwrap();
        assert_eq!(honored.get("job"), "theirs");
        assert_eq!(honored.get("instance"), "i");
        assert_eq!(report_labels("up", &t), Labels::from_pairs([("__name__", "up"), ("instance", "i"), ("job", "j")]));
    }
}
