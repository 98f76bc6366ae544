//! CloudWatch Logs for EMF events (contrib internal/aws/cwlogs pusher.go, cwlog_client.go):
//! events validated and batched per stream within PutLogEvents' limits, sorted by time, sent
//! signed with SigV4 (service `logs`); a missing stream or group is created (with `tags` and
//! `log_retention`) when PutLogEvents answers ResourceNotFoundException. No sequence token: the
//! API ignores it since 2023.

use super::translate::Event;
use crate::aws::credentials::AssumeRole;
use crate::aws::{CredentialsCache, Signer};
use crate::exporter::helper::http_send::{HttpSender, SendError};
use crate::http_client;
use bytes::Bytes;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// PutLogEvents limits (API_PutLogEvents.html, cloudwatch_limits_cwl.html).
pub const MAX_EVENTS_PER_CALL: usize = 10_000;
pub const MAX_CALL_BYTES: usize = 1_048_576;
pub const PER_EVENT_OVERHEAD: usize = 26;
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
const MAX_SPAN_MS: i64 = 24 * 3600 * 1000;
const TRUNCATED: &str = "[Truncated...]";
/// pusher.go: events older than 14 days or more than 2 hours ahead are refused by the API.
const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
const MAX_AHEAD_MS: i64 = 2 * 3600 * 1000;
/// How much of an answer is read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// One PutLogEvents request's events, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub log_group: String,
    pub log_stream: String,
    pub events: Vec<(i64, String)>,
    /// OTLP data points carried (counted as failed when the call fails for good).
    pub points: usize,
}

/// Why an event was not sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub reason: &'static str,
    pub points: usize,
}

/// pusher.go `Event.Validate`: an oversized message is cut to fit (with `[Truncated...]`), a
/// zero time becomes now, an empty message or a time the API refuses drops the event.
pub fn validate(e: &mut Event, now_ms: i64) -> Result<(), Refused> {
    if e.message.len() + PER_EVENT_OVERHEAD > MAX_EVENT_BYTES {
        let mut cut = MAX_EVENT_BYTES - PER_EVENT_OVERHEAD - TRUNCATED.len();
        while !e.message.is_char_boundary(cut) {
            cut -= 1;
        }
        e.message.truncate(cut);
        e.message.push_str(TRUNCATED);
        tracing::warn!(
            "the single log event size is larger than the max event payload allowed. Truncate the log event."
        );
    }
    if e.timestamp_ms == 0 {
        e.timestamp_ms = now_ms;
    }
    if e.message.is_empty() {
        return Err(Refused { reason: "empty log event message", points: e.points });
    }
    let age = now_ms - e.timestamp_ms;
    if !(-MAX_AHEAD_MS..=MAX_AGE_MS).contains(&age) {
        return Err(Refused {
            reason: "the log entry's timestamp is older than 14 days or more than 2 hours in the future",
            points: e.points,
        });
    }
    Ok(())
}

/// Events (already validated, each with its stream) into PutLogEvents batches: a new batch
/// when the current one has 10,000 events, would pass 1,048,576 bytes (26 per event
/// included) or would span more than 24 hours; each batch sorted by time (stable).
pub fn batches(events: Vec<Event>) -> Vec<Batch> {
    let mut open: Vec<(Batch, usize, i64, i64)> = Vec::new();
    let mut done = Vec::new();
    for e in events {
        let size = e.message.len() + PER_EVENT_OVERHEAD;
        let pos = open.iter().position(|(b, ..)| b.log_group == e.log_group && b.log_stream == e.log_stream);
        let i = match pos {
            Some(i) => {
                let (b, bytes, min, max) = &open[i];
                let full = b.events.len() >= MAX_EVENTS_PER_CALL || bytes + size > MAX_CALL_BYTES;
                let span = e.timestamp_ms - min > MAX_SPAN_MS || max - e.timestamp_ms > MAX_SPAN_MS;
                if full || span {
                    let (b, ..) = open.remove(i);
                    done.push(b);
                    None
                } else {
                    Some(i)
                }
            }
            None => None,
        };
        let i = match i {
            Some(i) => i,
            None => {
                let b = Batch {
                    log_group: e.log_group.clone(),
                    log_stream: e.log_stream.clone(),
                    events: Vec::new(),
                    points: 0,
                };
                open.push((b, 0, e.timestamp_ms, e.timestamp_ms));
                open.len() - 1
            }
        };
        let (b, bytes, min, max) = &mut open[i];
        *bytes += size;
        *min = (*min).min(e.timestamp_ms);
        *max = (*max).max(e.timestamp_ms);
        b.points += e.points;
        b.events.push((e.timestamp_ms, e.message));
    }
    done.extend(open.into_iter().map(|(b, ..)| b));
    for b in &mut done {
        b.events.sort_by_key(|(t, _)| *t);
    }
    done
}

/// What a call to the Logs API answered, when not success.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// An error answer: HTTP status, the exception name (`__type` after any `#`), its message.
    Api { status: u16, kind: String, message: String },
    /// No answer (connection, timeout, signing).
    Transport(String),
}

impl CallError {
    fn kind(&self) -> &str {
        match self {
            CallError::Api { kind, .. } => kind,
            CallError::Transport(_) => "",
        }
    }

    /// Worth another try: no answer, 5xx, throttling, ServiceUnavailable, OperationAborted.
    pub fn retryable(&self) -> bool {
        match self {
            CallError::Transport(_) => true,
            CallError::Api { status, kind, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(
                        kind.as_str(),
                        "ThrottlingException" | "ServiceUnavailableException" | "OperationAbortedException"
                    )
            }
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Api { status, kind, message } => write!(f, "HTTP {status} {kind}: {message}"),
            CallError::Transport(e) => f.write_str(e),
        }
    }
}

/// The CloudWatch Logs client of one exporter.
pub struct Client {
    sender: HttpSender,
    signer: Signer,
    tags: BTreeMap<String, String>,
    retention_days: i64,
    /// Attempts after the first for a retryable error (awsutil `max_retries`).
    retries: u32,
}

pub struct ClientSettings<'a> {
    pub region: &'a str,
    pub endpoint: &'a str,
    pub role_arn: &'a str,
    pub sts_region: &'a str,
    pub timeout: Duration,
    pub tags: BTreeMap<String, String>,
    pub retention_days: i64,
    pub retries: u32,
}

impl Client {
    pub fn new(s: ClientSettings) -> Result<Client, String> {
        let base = if s.endpoint.is_empty() {
            format!("https://logs.{}.amazonaws.com", s.region)
        } else {
            s.endpoint.trim_end_matches('/').to_string()
        };
        let url: http::Uri = format!("{base}/")
            .parse()
            .map_err(|e| format!("invalid endpoint {:?}: {e}", crate::secret::redact_url(&base)))?;
        let role = (!s.role_arn.is_empty()).then(|| AssumeRole {
            arn: s.role_arn.to_string(),
            session_name: "oxidot".into(),
            sts_region: s.sts_region.to_string(),
        });
        let creds = Arc::new(CredentialsCache::lazy(s.region.to_string(), role));
        let client = http_client::build(&Default::default())?;
        Ok(Client {
            sender: HttpSender::new(client, url, http::HeaderMap::new(), MAX_ANSWER_BYTES).with_timeout(s.timeout),
            signer: Signer::new(s.region.to_string(), "logs".into(), creds),
            tags: s.tags,
            retention_days: s.retention_days,
            retries: s.retries,
        })
    }

    /// One call of the JSON protocol (`X-Amz-Target: Logs_20140328.<action>`).
    async fn call(&self, action: &str, body: serde_json::Value) -> Result<(), CallError> {
        let body = serde_json::to_vec(&body).map_err(|e| CallError::Transport(e.to_string()))?;
        let target = http::HeaderValue::try_from(format!("Logs_20140328.{action}"))
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let mut req = self.sender.post(&[
            (http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-json-1.1")),
            (http::HeaderName::from_static("x-amz-target"), target),
        ]);
        self.signer.sign(&mut req, &body).await.map_err(|e| CallError::Transport(e.to_string()))?;
        let answer = self.sender.send(req, Bytes::from(body)).await.map_err(|e| match e {
            SendError::Timeout(t) => CallError::Transport(format!("{action} timed out after {t:?}")),
            e => CallError::Transport(format!("{action} to {}: {}", self.sender.url(), e.chain())),
        })?;
        if answer.is_success() {
            return Ok(());
        }
        let v: serde_json::Value = serde_json::from_slice(answer.whole_body()).unwrap_or_default();
        let kind = v["__type"].as_str().unwrap_or("").rsplit('#').next().unwrap_or("").to_string();
        let message = v["message"].as_str().or_else(|| v["Message"].as_str()).unwrap_or("").to_string();
        Err(CallError::Api { status: answer.status, kind, message })
    }

    /// `call` with retries of retryable errors (backoff 200 ms doubling, at most 2 s).
    async fn call_retrying(&self, action: &str, body: serde_json::Value) -> Result<(), CallError> {
        let mut wait = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            match self.call(action, body.clone()).await {
                Err(e) if e.retryable() && attempt < self.retries => {
                    tracing::debug!(action, error = %e, "CloudWatch Logs call failed, retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// cwlog_client.go `CreateStream`: the stream, and the group first when it is missing
    /// (with tags, then the retention policy); "already exists" is success.
    pub async fn create_stream(&self, group: &str, stream: &str) -> Result<(), CallError> {
        let create_stream = json!({"logGroupName": group, "logStreamName": stream});
        let mut r = self.call_retrying("CreateLogStream", create_stream.clone()).await;
        if matches!(&r, Err(e) if e.kind() == "ResourceNotFoundException") {
            let mut g = json!({"logGroupName": group});
            if !self.tags.is_empty() {
                g["tags"] = json!(self.tags);
            }
            r = self.call_retrying("CreateLogGroup", g).await;
            if matches!(&r, Err(e) if e.kind() == "ResourceAlreadyExistsException") {
                r = Ok(());
            }
            if r.is_ok() {
                if self.retention_days != 0 {
                    self.call_retrying(
                        "PutRetentionPolicy",
                        json!({"logGroupName": group, "retentionInDays": self.retention_days}),
                    )
                    .await?;
                }
                r = self.call_retrying("CreateLogStream", create_stream).await;
            }
        }
        match r {
            Err(e) if e.kind() == "ResourceAlreadyExistsException" => Ok(()),
            r => r,
        }
    }

    /// cwlog_client.go `PutLogEvents`: a missing group or stream is created and the call made
    /// again (at most `max_retries` times); other errors end it.
    pub async fn put(&self, b: &Batch) -> Result<(), CallError> {
        let events: Vec<serde_json::Value> =
            b.events.iter().map(|(t, m)| json!({"timestamp": t, "message": m})).collect();
        let body = json!({"logGroupName": b.log_group, "logStreamName": b.log_stream, "logEvents": events});
        let mut created = 0;
        loop {
            match self.call_retrying("PutLogEvents", body.clone()).await {
                Err(e) if e.kind() == "ResourceNotFoundException" && created <= self.retries => {
                    created += 1;
                    self.create_stream(&b.log_group, &b.log_stream).await?;
                }
                r => return r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(group: &str, t: i64, len: usize) -> Event {
        Event { log_group: group.into(), log_stream: "s".into(), timestamp_ms: t, message: "x".repeat(len), points: 1 }
    }

    #[test]
    fn batches_respect_count_bytes_and_24h_and_are_sorted() {
        let now = 1_700_000_000_000;
        // 10,001 small events: 10,000 + 1.
        let b = batches((0..10_001).map(|i| ev("g", now + i, 10)).collect());
        assert_eq!(b.iter().map(|b| b.events.len()).collect::<Vec<_>>(), [10_000, 1]);
        // Bytes: 26 per event counts. 4 events of 262,118 + 26 = 262,144 bytes fill 1 MiB exactly.
        let b = batches((0..5).map(|i| ev("g", now + i, 262_118)).collect());
        assert_eq!(b.iter().map(|b| b.events.len()).collect::<Vec<_>>(), [4, 1]);
        let b = batches((0..4).map(|i| ev("g", now + i, 262_119)).collect());
        assert_eq!(b.iter().map(|b| b.events.len()).collect::<Vec<_>>(), [3, 1]);
        // More than 24 h apart: separate calls; per stream; sorted by time.
        let b = batches(vec![ev("g", now, 1), ev("g", now + MAX_SPAN_MS + 1, 1), ev("h", now, 1)]);
        assert_eq!(b.len(), 3);
        let b = batches(vec![ev("g", now + 5, 1), ev("g", now, 1), ev("g", now + 2, 1)]);
        assert_eq!(b[0].events.iter().map(|e| e.0 - now).collect::<Vec<_>>(), [0, 2, 5]);
        assert_eq!(b[0].points, 3);
    }

    #[test]
    fn validation_truncates_fills_time_and_refuses_out_of_range() {
        let now = 1_700_000_000_000;
        let mut e = ev("g", now, MAX_EVENT_BYTES);
        validate(&mut e, now).unwrap();
        assert_eq!(e.message.len() + PER_EVENT_OVERHEAD, MAX_EVENT_BYTES);
        assert!(e.message.ends_with(TRUNCATED));
        let mut e = ev("g", 0, 3);
        validate(&mut e, now).unwrap();
        assert_eq!(e.timestamp_ms, now);
        assert!(validate(&mut ev("g", now - MAX_AGE_MS - 1, 3), now).is_err());
        assert!(validate(&mut ev("g", now + MAX_AHEAD_MS + 1, 3), now).is_err());
        assert!(validate(&mut ev("g", now, 0), now).is_err());
    }

    #[test]
    fn retryable_errors() {
        let api = |status, kind: &str| CallError::Api { status, kind: kind.into(), message: String::new() };
        assert!(api(400, "ThrottlingException").retryable());
        assert!(api(503, "ServiceUnavailableException").retryable());
        assert!(!api(400, "InvalidParameterException").retryable());
        assert!(!api(400, "ResourceNotFoundException").retryable());
        assert!(CallError::Transport("x".into()).retryable());
    }
}
