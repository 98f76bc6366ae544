//! Sending: exporter.go `pushMetricsV1`/`handleExport` (translate, split into requests under
//! `max_batch_size_bytes`), `export` (requests of one batch sent `parallelism` at a time) and
//! `execute` (one request, retried with its own backoff) over the shared HTTP send path.

use super::translate::translate;
use super::PrwExporter;
use crate::exporter::helper::http_send::{snappy, RetryPolicy};
use crate::exporter::{ExportError, Exporter};
use crate::pipeline::data::Batch;
use crate::proto::prometheus::{TimeSeries, WriteRequest};
use async_trait::async_trait;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use prost::Message;

impl PrwExporter {
    /// One POST of one encoded write request (exporter.go `execute`'s inner function): 2xx is
    /// success; 5xx is retried, 429 too with the alpha
    /// `exporter.prometheusremotewritexporter.RetryOn429` gate ([`RetryPolicy::RemoteWrite`]);
    /// anything else is permanent.
    async fn attempt(&self, body: &Bytes, retry_attempt: u32) -> Result<(), ExportError> {
        let mut req = self.sender.post(&[
            (http::header::CONTENT_ENCODING, HeaderValue::from_static("snappy")),
            (http::header::CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf")),
            (HeaderName::from_static("x-prometheus-remote-write-version"), HeaderValue::from_static("0.1.0")),
        ]);
        if let Some(s) = &self.signer {
            // Credentials may come back later (IMDS, ECS endpoint): retry rather than drop.
            s.sign(&mut req, body).await.map_err(|e| ExportError::retryable(e.to_string()))?;
        }
        // Go: a transport error is returned as is (not permanent), so it is retried.
        let answer = self.sender.send(req, body.clone()).await;
        // exporter.go `recordRemoteWriteSentBatch`: after the round trip, failed or not.
        self.telemetry.sent_batches.add(1);
        let answer =
            answer.map_err(|e| ExportError::retryable(format!("failed to send the remote write request: {e}")))?;
        if answer.is_success() {
            return Ok(());
        }
        let status = answer.status;
        let text = String::from_utf8_lossy(answer.whole_body()).trim().to_string();
        let url = self.sender.url();
        tracing::error!(status_code = status, endpoint = %url, retry_attempt, error = %text,
            "failed to send WriteRequest to remote endpoint");
        let reason = format!("remote write to {url} returned HTTP {status}: {text}");
        if text.contains("native histograms are disabled") {
            // Retrying cannot help: Prometheus must be started with the feature on.
            if self.log_native.allow(60) {
                tracing::error!(endpoint = %url, "The backend rejects native histograms (OTLP exponential histograms): start Prometheus with --enable-feature=native-histograms");
            }
            return Err(ExportError::Permanent(format!("{reason} (the backend does not accept native histograms)")));
        }
        Err(RetryPolicy::RemoteWrite { retry_on_429: self.retry_on_429 }.error(&answer, &text, reason))
    }

    /// exporter.go `execute`: one request with its own backoff (`retry_on_failure`'s initial
    /// interval, randomization, multiplier and max elapsed time; Go leaves the backoff's maximum
    /// interval unset, which makes cenkalti/backoff v5 start every wait again from the initial
    /// interval, so the waits stay near `initial_interval`). Errors are permanent for the helper.
    async fn execute(&self, body: &Bytes) -> Result<(), ExportError> {
        let started = std::time::Instant::now();
        let max = self.retry.max_elapsed_time.0;
        let mut n = 0;
        loop {
            n += 1;
            match self.attempt(body, n).await {
                Ok(()) => return Ok(()),
                Err(ExportError::Retryable { reason: m, .. }) => {
                    if !self.retry.enabled {
                        return Err(ExportError::Permanent(m));
                    }
                    let base = self.retry.initial_interval.0.as_secs_f64();
                    let f = self.retry.randomization_factor;
                    let wait = base * (1.0 + f * (2.0 * rand::random::<f64>() - 1.0));
                    let wait = std::time::Duration::from_secs_f64(wait.max(0.0));
                    if !max.is_zero() && started.elapsed() + wait > max {
                        return Err(ExportError::Permanent(format!("no more retries left: {m}")));
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// exporter.go `export`: the requests of one batch, up to `parallelism` at a time; every
    /// request is tried even when another failed. Encodes every request through one reused
    /// buffer; each attempt shares its snappy body.
    async fn export_requests(&self, requests: Vec<WriteRequest>) -> Result<(), ExportError> {
        let mut encoded = Vec::new();
        let mut bodies = Vec::with_capacity(requests.len());
        for wr in &requests {
            encoded.clear();
            wr.encode(&mut encoded).map_err(|e| ExportError::Permanent(e.to_string()))?;
            let mut out = Vec::new();
            snappy(&encoded, &mut out).map_err(|e| ExportError::Permanent(e.to_string()))?;
            bodies.push(Bytes::from(out));
        }
        drop(requests);
        // exporter.go `export`: min(parallelism, requests) workers take requests in turn.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut workers = Vec::new();
        for _ in 0..self.parallelism.min(bodies.len()) {
            workers.push(async {
                let mut errs = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break errs };
                    if let Err(e) = self.execute(body).await {
                        errs.push(e.to_string());
                    }
                }
            });
        }
        let errs: Vec<String> = futures::future::join_all(workers).await.into_iter().flatten().collect();
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ExportError::Permanent(errs.join("; ")))
        }
    }
}

/// Splits series into write requests each under `max` bytes (a single larger series goes alone).
pub fn split_requests(
    series: Vec<TimeSeries>,
    metadata: Vec<crate::proto::prometheus::MetricMetadata>,
    max: usize,
) -> Vec<WriteRequest> {
    let mut out = Vec::new();
    let mut cur = WriteRequest::default();
    let mut size = 0usize;
    for ts in series {
        let n = ts.encoded_len() + 5;
        if size + n > max && !cur.timeseries.is_empty() {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += n;
        cur.timeseries.push(ts);
    }
    if !cur.timeseries.is_empty() {
        out.push(cur);
    }
    let mut md = WriteRequest::default();
    let mut md_size = 0;
    for m in metadata {
        let n = m.encoded_len() + 5;
        if md_size + n > max && !md.metadata.is_empty() {
            out.push(std::mem::take(&mut md));
            md_size = 0;
        }
        md_size += n;
        md.metadata.push(m);
    }
    if !md.metadata.is_empty() {
        out.push(md);
    }
    out
}

#[async_trait]
impl Exporter for PrwExporter {
    /// exporter.go `pushMetricsV1` + `handleExport`.
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let decoded = batch.decoded();
        let Batch::Metrics(rm) = &*decoded else {
            return Err(ExportError::Permanent("prometheusremotewrite exports metrics only".into()));
        };
        let t = translate(rm, &self.opts);
        if !t.errors.is_empty() {
            // Go: one failed translation per batch, a debug log, and the rest is still written;
            // the points that could not be translated are not counted as failed sends.
            self.telemetry.failed_translations.add(1);
            tracing::debug!(error = %t.errors.join("; "), translated = t.series.len(),
                "failed to translate metrics, exporting remaining metrics");
        }
        self.telemetry.translated_time_series.add(t.series.len() as u64);
        if t.series.is_empty() {
            return Ok(());
        }
        let requests = split_requests(t.series, t.metadata, self.max_batch_bytes);
        self.export_requests(requests).await
    }
}
