//! The scrape loop of one target (prometheus/scrape/scrape.go scrapeLoop): a first scrape at a
//! per-target offset within the interval, then one per interval; each scrape is bounded by
//! `scrape_timeout` and the body limit, its samples are relabeled, series that went away get
//! Prometheus' stale marker, the meta-metrics (`up`, `scrape_duration_seconds`, …) are added,
//! and the whole scrape goes down the pipeline as one batch (the Go receiver's transaction
//! Commit). A failed scrape is an empty one with `up` 0; the loop goes on.

use super::adjust::Adjuster;
use super::config::{Auth, Job, Secret};
use super::labels::Labels;
use super::target::{mutate_sample, report_labels, Target};
use super::textparse::{self, Exemplar};
use super::transaction::{stale_nan, TargetInfo, Transaction};
use crate::component::ComponentId;
use crate::http_client::HttpClient;
use crate::pipeline::consumer::Consumer;
use crate::pipeline::data::Batch;
use crate::telemetry::component::{ReceiveOutcome, ReceiverTelemetry};
use crate::telemetry::logging::RateLimit;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// The largest body a scrape reads when `body_size_limit` is 0 (Prometheus: no limit).
pub const DEFAULT_BODY_LIMIT: u64 = 64 << 20;
const MAX_REDIRECTS: usize = 10;

/// What every loop of one receiver shares.
pub struct Shared {
    pub id: ComponentId,
    pub consumer: Arc<dyn Consumer>,
    pub telemetry: ReceiverTelemetry,
    pub adjuster: Mutex<Adjuster>,
    pub external: Labels,
    pub trim_suffixes: bool,
    pub report_extra: bool,
    pub version: &'static str,
}

pub struct Loop {
    pub job: Arc<Job>,
    pub target: Target,
    pub client: HttpClient,
    pub shared: Arc<Shared>,
    /// Series of the last scrape (without own timestamps), by hash of their labels.
    prev: HashMap<u64, Labels>,
    /// Metadata by family name with the scrape it was last seen in: kept for 10 scrapes after
    /// its family disappears (scrape.go scrapeCache.iterDone), so stale markers keep their type.
    meta: HashMap<String, textparse::Metadata>,
    meta_seen: HashMap<String, u64>,
    iter: u64,
    log_scrape: RateLimit,
    log_sample: RateLimit,
    log_consume: RateLimit,
}

/// One fetched body.
struct Fetched {
    content_type: String,
    body: Bytes,
}

#[derive(Debug)]
enum FetchError {
    BodyTooLarge,
    Other(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::BodyTooLarge => f.write_str("body size limit exceeded"),
            FetchError::Other(s) => f.write_str(s),
        }
    }
}

fn now_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// scrape/target.go offset: a stable per-target point within the interval, so targets of one
/// job do not all scrape at once.
pub fn offset(interval: Duration, target: &Target, now: SystemTime) -> Duration {
    let iv = interval.as_nanos().max(1) as u64;
    let mut with_url = target.labels.clone();
    with_url.set("\u{0}url".into(), target.url.clone());
    let h = with_url.hash_without(&[], None);
    let now_ns = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let base = iv - now_ns % iv;
    let mut next = base + h % iv;
    if next > iv {
        next -= iv;
    }
    Duration::from_nanos(next)
}

impl Loop {
    pub fn new(job: Arc<Job>, target: Target, client: HttpClient, shared: Arc<Shared>) -> Loop {
        Loop {
            job,
            target,
            client,
            shared,
            prev: HashMap::new(),
            meta: HashMap::new(),
            meta_seen: HashMap::new(),
            iter: 0,
            log_scrape: RateLimit::new(),
            log_sample: RateLimit::new(),
            log_consume: RateLimit::new(),
        }
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let first = offset(self.job.interval, &self.target, SystemTime::now());
        let start = tokio::time::Instant::now() + first;
        let mut ticker = tokio::time::interval_at(start, self.job.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                _ = self.scrape_and_report() => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn secret(s: &Secret) -> Result<String, String> {
        match s {
            Secret::Inline(o) => Ok(o.as_str().to_string()),
            // A small file, read as Prometheus does at every scrape (so a rotated secret is used).
            Secret::File(f) => std::fs::read_to_string(f)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("unable to read secret file {f:?}: {e}")),
        }
    }

    async fn request(&self, url: &str) -> Result<http::Request<Full<Bytes>>, String> {
        let mut b = http::Request::get(url)
            .header(http::header::ACCEPT, &self.job.accept)
            .header(http::header::ACCEPT_ENCODING, if self.job.enable_compression { "gzip" } else { "identity" })
            .header(http::header::USER_AGENT, format!("oxidot/{}", self.shared.version))
            .header("X-Prometheus-Scrape-Timeout-Seconds", format!("{}", self.job.timeout.as_secs_f64()));
        match &self.job.auth {
            Some(Auth::Basic { username, password }) => {
                let pw = match password {
                    Some(p) => Self::secret(p).await?,
                    None => String::new(),
                };
                use base64::Engine;
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{pw}"));
                let mut v = http::HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| "invalid basic_auth credentials".to_string())?;
                v.set_sensitive(true);
                b = b.header(http::header::AUTHORIZATION, v);
            }
            Some(Auth::Header { typ, credentials }) => {
                let c = Self::secret(credentials).await?;
                let mut v = http::HeaderValue::from_str(&format!("{typ} {c}"))
                    .map_err(|_| "invalid authorization credentials".to_string())?;
                v.set_sensitive(true);
                b = b.header(http::header::AUTHORIZATION, v);
            }
            None => {}
        }
        b.body(Full::new(Bytes::new())).map_err(|e| format!("invalid scrape request for {url:?}: {e}"))
    }

    async fn fetch(&self) -> Result<Fetched, FetchError> {
        let limit = if self.job.body_size_limit > 0 { self.job.body_size_limit } else { DEFAULT_BODY_LIMIT };
        let mut url = self.target.url.clone();
        let mut hops = 0;
        let resp = loop {
            let req = self.request(&url).await.map_err(FetchError::Other)?;
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| FetchError::Other(format!("Get {url:?}: {}", crate::http_client::error_chain(&e))))?;
            let st = resp.status();
            if st.is_redirection() && self.job.follow_redirects && hops < MAX_REDIRECTS {
                if let Some(loc) = resp.headers().get(http::header::LOCATION).and_then(|l| l.to_str().ok()) {
                    url = resolve(&url, loc);
                    hops += 1;
                    continue;
                }
            }
            break resp;
        };
        let st = resp.status();
        if st != http::StatusCode::OK {
            return Err(FetchError::Other(format!(
                "server returned HTTP status {} {}",
                st.as_u16(),
                st.canonical_reason().unwrap_or("")
            )));
        }
        let content_type =
            resp.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let encoding =
            resp.headers().get(http::header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = Limited::new(resp.into_body(), limit as usize)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    FetchError::BodyTooLarge
                } else {
                    FetchError::Other(format!("reading the body: {e}"))
                }
            })?
            .to_bytes();
        let body = decompress(&encoding, body, limit)?;
        Ok(Fetched { content_type, body })
    }

    /// One scrape, its meta-metrics and the hand-off downstream.
    pub async fn scrape_and_report(&mut self) {
        let start_wall = SystemTime::now();
        let t = now_ms(start_wall);
        let started = Instant::now();
        let fetched = match tokio::time::timeout(self.job.timeout, self.fetch()).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Other(format!("Get {:?}: context deadline exceeded", self.target.url))),
        };
        let mut bytes_read: i64 = 0;
        let mut samples: Vec<(Labels, i64, f64, Option<Exemplar>)> = Vec::new();
        let mut cur: HashMap<u64, Labels> = HashMap::new();
        let (mut total, mut added, mut series_added) = (0usize, 0usize, 0usize);
        let mut err: Option<String> = None;
        match fetched {
            Ok(f) => {
                bytes_read = f.body.len() as i64;
                match self.append(&f, t, &mut samples, &mut cur, &mut total, &mut added, &mut series_added) {
                    Ok(md) => {
                        self.iter += 1;
                        let iter = self.iter;
                        for (k, m) in md {
                            self.meta_seen.insert(k.clone(), iter);
                            self.meta.insert(k, m);
                        }
                        self.meta_seen.retain(|_, last| iter - *last <= 10);
                        let seen = &self.meta_seen;
                        self.meta.retain(|k, _| seen.contains_key(k));
                    }
                    Err(e) => {
                        // A failed append is an empty scrape (scrape.go: rollback, then stale markers).
                        samples.clear();
                        cur.clear();
                        err = Some(e);
                    }
                }
            }
            Err(e) => {
                if matches!(e, FetchError::BodyTooLarge) {
                    bytes_read = -1;
                }
                err = Some(e.to_string());
            }
        }
        // Series of the last scrape missing from this one get a stale marker.
        for (h, ls) in &self.prev {
            if !cur.contains_key(h) {
                samples.push((ls.clone(), t, stale_nan(), None));
            }
        }
        self.prev = cur;
        let duration = started.elapsed().as_secs_f64();
        let up = if err.is_none() { 1.0 } else { 0.0 };
        let mut report = vec![
            ("up", up),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", total as f64),
            ("scrape_samples_post_metric_relabeling", added as f64),
            ("scrape_series_added", series_added as f64),
        ];
        if self.job.extra_scrape_metrics || self.shared.report_extra {
            report.push(("scrape_timeout_seconds", self.job.timeout.as_secs_f64()));
            report.push(("scrape_sample_limit", self.job.sample_limit as f64));
            report.push((
                "scrape_body_size_bytes",
                if err.is_none() { bytes_read as f64 } else { bytes_read.min(0) as f64 },
            ));
        }
        for (name, v) in report {
            samples.push((report_labels(name, &self.target), t, v, None));
        }
        if let Some(e) = &err {
            if self.log_scrape.allow(60) {
                tracing::warn!(component = %self.shared.id, target = %self.target.url, job = %self.job.name, error = %e, "Failed to scrape Prometheus endpoint");
            }
        }
        self.commit(samples, &self.meta).await;
    }

    /// Parses, relabels and limits one body into `samples`; the metadata it declared.
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        f: &Fetched,
        t: i64,
        samples: &mut Vec<(Labels, i64, f64, Option<Exemplar>)>,
        cur: &mut HashMap<u64, Labels>,
        total: &mut usize,
        added: &mut usize,
        series_added: &mut usize,
    ) -> Result<HashMap<String, textparse::Metadata>, String> {
        let format = textparse::format_of(&f.content_type, self.job.fallback)?;
        let text = std::str::from_utf8(&f.body).map_err(|_| "the body is not valid UTF-8".to_string())?;
        let parsed = textparse::parse(text, format)?;
        let job = &self.job;
        for s in parsed.samples {
            *total += 1;
            let own_ts = s.timestamp_ms.filter(|_| job.honor_timestamps);
            let Some(ls) = mutate_sample(s.labels, &self.target, job.honor_labels, &job.metric_relabel) else {
                continue;
            };
            check_label_limits(&ls, job)?;
            let h = ls.hash_without(&[], None);
            if own_ts.is_none() && cur.contains_key(&h) {
                // storage.ErrDuplicateSampleForTimestamp: skipped, the scrape goes on.
                *added += 1;
                continue;
            }
            *added += 1;
            if job.sample_limit > 0 && *added as u64 > job.sample_limit {
                return Err("sample limit exceeded".into());
            }
            if own_ts.is_none() || job.track_timestamps_staleness {
                if !self.prev.contains_key(&h) {
                    *series_added += 1;
                }
                cur.insert(h, ls.clone());
            } else if !self.prev.contains_key(&h) {
                *series_added += 1;
            }
            samples.push((ls, own_ts.unwrap_or(t), s.value, s.exemplar));
        }
        Ok(parsed.metadata)
    }

    async fn commit(
        &self,
        samples: Vec<(Labels, i64, f64, Option<Exemplar>)>,
        metadata: &HashMap<String, textparse::Metadata>,
    ) {
        let info = TargetInfo {
            job: self.target.labels.get(super::labels::JOB).to_string(),
            instance: self.target.labels.get(super::labels::INSTANCE).to_string(),
            scheme: self.target.discovered_scheme.clone(),
        };
        let mut tx = Transaction::new(metadata, &self.shared.external, &info, self.shared.trim_suffixes);
        let mut failed = 0u64;
        let mut first_err = None;
        for (ls, ts, v, ex) in samples {
            if let Err(e) = tx.append(ls, ts, v, ex.as_ref()) {
                failed += 1;
                first_err.get_or_insert(e);
            }
        }
        if let Some(e) = first_err {
            if self.log_sample.allow(60) {
                tracing::warn!(component = %self.shared.id, target = %self.target.url, samples = failed, error = %e, "failed to add datapoint");
            }
        }
        let (mut rms, points) = tx.into_metrics(self.shared.version);
        if points == 0 {
            return;
        }
        if let Ok(mut a) = self.shared.adjuster.lock() {
            a.adjust(&mut rms, Instant::now());
        }
        let r = self.shared.consumer.consume(Arc::new(Batch::Metrics(rms))).await;
        let outcome = if r.is_ok() { ReceiveOutcome::Success } else { ReceiveOutcome::Failure };
        self.shared.telemetry.record(points as u64, outcome);
        if let Err(e) = r {
            if self.log_consume.allow(60) {
                tracing::warn!(component = %self.shared.id, target = %self.target.url, data_points = points, error = %e, "the pipeline refused a scrape's metrics; they are dropped");
            }
        }
    }
}

/// scrape.go verifyLabelLimits.
fn check_label_limits(ls: &Labels, job: &Job) -> Result<(), String> {
    if job.label_limit > 0 && ls.len() as u64 > job.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {:.50}, number of labels: {}, limit: {})",
            ls.get("__name__"),
            ls.len(),
            job.label_limit
        ));
    }
    for (k, v) in ls.iter() {
        if job.label_name_length_limit > 0 && k.len() as u64 > job.label_name_length_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {:.50}, label name: {:.50}, length: {}, limit: {})",
                ls.get("__name__"),
                k,
                k.len(),
                job.label_name_length_limit
            ));
        }
        if job.label_value_length_limit > 0 && v.len() as u64 > job.label_value_length_limit {
            return Err(format!("label_value_length_limit exceeded (metric: {:.50}, label name: {:.50}, value: {:.50}, length: {}, limit: {})", ls.get("__name__"), k, v, v.len(), job.label_value_length_limit));
        }
    }
    Ok(())
}

/// A redirect's `Location` against the URL that answered.
fn resolve(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    if loc.starts_with('/') {
        format!("{}{loc}", &base[..host_end])
    } else {
        let dir_end = base.rfind('/').filter(|i| *i >= host_end).map_or(host_end, |i| i);
        format!("{}/{loc}", &base[..dir_end])
    }
}

/// The body as sent with `Content-Encoding` gzip (what the scrape asks for) or none, at most
/// `limit` bytes after decompression.
fn decompress(encoding: &str, body: Bytes, limit: u64) -> Result<Bytes, FetchError> {
    use std::io::Read;
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(limit.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| FetchError::Other(format!("gzip: {e}")))?;
            if out.len() as u64 > limit {
                return Err(FetchError::BodyTooLarge);
            }
            Ok(Bytes::from(out))
        }
        o => Err(FetchError::Other(format!("unsupported Content-Encoding {o:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_bodies_are_bounded_after_decompression() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&b"x 1\n".repeat(1000)).unwrap();
        let gz = Bytes::from(e.finish().unwrap());
        assert_eq!(decompress("gzip", gz.clone(), 4000).unwrap().len(), 4000);
        assert!(matches!(decompress("gzip", gz, 3999), Err(FetchError::BodyTooLarge)));
        assert!(matches!(decompress("br", Bytes::new(), 10), Err(FetchError::Other(_))));
    }

    #[test]
    fn redirects_resolve_against_the_target() {
        assert_eq!(resolve("http://h:1/metrics", "/other"), "http://h:1/other");
        assert_eq!(resolve("http://h:1/a/metrics", "m2"), "http://h:1/a/m2");
        assert_eq!(resolve("http://h:1/metrics", "https://x/y"), "https://x/y");
    }

    #[test]
    fn offset_is_within_the_interval_and_stable() {
        let t = Target {
            labels: Labels::from_pairs([("job", "j")]),
            url: "http://h:1/metrics".into(),
            discovered_scheme: "http".into(),
        };
        let now = SystemTime::now();
        let iv = Duration::from_secs(20);
        let a = offset(iv, &t, now);
        assert!(a <= iv);
        assert_eq!(a, offset(iv, &t, now));
    }
}
