//! Running the detectors and merging what they found: each detector retried until `timeout`,
//! the results merged in configured order, and the merged attributes added to every resource
//! (Go: internal/resourcedetection.go detectResource, MergeResource, MergeSchemaURL;
//! resourcedetection_processor.go).

use super::{ec2, ecs, env, system, Detected, Detection, ResourceDetection, NO_DETECTOR_SUCCEEDED};
use crate::pipeline::data::Batch;
use crate::processor::Transform;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use std::time::Duration;
use tokio::time::Instant;

/// Logs with the processor's component attributes (+ pipeline and signal once known).
macro_rules! rd_log {
    ($lvl:ident, $self:expr, $($rest:tt)+) => {
        match $self.first_pipeline.get() {
            Some((p, sig)) => tracing::$lvl!(processor = %$self.id, pipeline = %p, signal = *sig, $($rest)+),
            None => tracing::$lvl!(processor = %$self.id, $($rest)+),
        }
    };
}

/// Retry pause after a failed attempt: internal/resourcedetection.go detectResource uses an
/// exponential backoff (initial 1 s, randomization 1.5, no maximum interval set, so every pause
/// is drawn around 1 s); a negative draw means no pause.
fn retry_pause() -> Duration {
    let r: f64 = rand::random();
    let secs = 1.0 + 1.5 * (2.0 * r - 1.0);
    Duration::from_secs_f64(secs.max(0.0))
}

impl ResourceDetection {
    /// One attempt of one detector.
    async fn attempt(
        &self,
        name: &str,
        deadline: Instant,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Detection, String> {
        match name {
            "env" => env::detect(env),
            "system" => {
                let cfg = self.cfg.system.clone();
                match tokio::task::spawn_blocking(move || system::detect(&cfg)).await {
                    Ok(r) => r,
                    Err(e) => Err(format!("system detector panicked: {e}")),
                }
            }
            "ecs" => ecs::detect(&self.cfg.ecs, env, deadline).await,
            "ec2" => ec2::detect(&self.cfg.ec2, env, deadline).await,
            // validate() refused any other name.
            _ => Ok(Detection::default()),
        }
    }

    /// internal/resourcedetection.go detectResource, one detector's goroutine: retries a
    /// failing detector until the deadline, logging each failure; the error is the last one.
    async fn run_detector(
        &self,
        name: &str,
        deadline: Instant,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Detection, String> {
        loop {
            let err = match tokio::time::timeout_at(deadline, self.attempt(name, deadline, env)).await {
                Ok(Ok(found)) => return Ok(found),
                Ok(Err(e)) => e,
                // oxidot: an attempt still running at the deadline is cut (Go waits for it).
                Err(_) => "context deadline exceeded".to_string(),
            };
            rd_log!(warn, self, detector = %name, error = %err, "failed to detect resource");
            let pause_end = Instant::now() + retry_pause();
            if pause_end >= deadline {
                tokio::time::sleep_until(deadline).await;
                rd_log!(warn, self, error = "context deadline exceeded", "context was cancelled");
                return Err(err);
            }
            tokio::time::sleep_until(pause_end).await;
        }
    }

    /// Runs the detectors once, concurrently, bounded by `timeout`, and merges what they found
    /// (earlier detectors win). Returns the error Go's `Start` returns: the detectors' errors
    /// joined with newlines, or [`NO_DETECTOR_SUCCEEDED`] when none is configured.
    pub async fn detect(&self, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<(), String> {
        rd_log!(info, self, "began detecting resource information");
        let deadline = Instant::now() + self.cfg.timeout.0;
        let names: Vec<&str> = self.cfg.detectors.iter().map(|d| d.trim()).collect();
        let results = futures::future::join_all(names.iter().map(|n| self.run_detector(n, deadline, env))).await;
        let (found, errors) = merge_results(results);
        // Go logs zap.Any("resource", attributes.AsRaw()): a JSON object, keys sorted.
        let summary: serde_json::Map<String, serde_json::Value> =
            found.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
        let summary = serde_json::Value::Object(summary).to_string();
        rd_log!(info, self, json.resource = %summary, "detected resource information");
        let kvs = found
            .0
            .into_iter()
            .map(|(k, v)| KeyValue { key: k, value: Some(v.to_any()), ..Default::default() })
            .collect();
        let _ = self.detected.set((kvs, found.1));
        match errors {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// internal/resourcedetection.go detectResource, after the goroutines: merges successes in
/// configured order without overriding (MergeResource with override false), keeps the first
/// non-empty schema URL (MergeSchemaURL) and joins errors (errors.Join: one per line). When all
/// detectors failed the resource is empty.
pub fn merge_results(results: Vec<Result<Detection, String>>) -> ((Detected, &'static str), Option<String>) {
    let mut merged: Detected = Vec::new();
    let mut schema_url = "";
    let mut errors: Vec<String> = Vec::new();
    let mut successes = 0;
    for r in results {
        match r {
            Ok(d) => {
                successes += 1;
                if schema_url.is_empty() {
                    schema_url = d.schema_url;
                }
                for (k, v) in d.attrs {
                    if !merged.iter().any(|(mk, _)| *mk == k) {
                        merged.push((k, v));
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let err = if successes == 0 && errors.is_empty() { Some(NO_DETECTOR_SUCCEEDED.to_string()) } else { None };
    let err = err.or_else(|| (!errors.is_empty()).then(|| errors.join("\n")));
    if successes == 0 {
        return ((Vec::new(), ""), err);
    }
    ((merged, schema_url), err)
}

/// internal/resourcedetection.go MergeResource: replaces existing keys (in place) when
/// `override_`, else only adds missing ones; new keys go at the end.
pub fn merge(attrs: &mut Vec<KeyValue>, detected: &[KeyValue], override_: bool) {
    for d in detected {
        match attrs.iter_mut().find(|a| a.key == d.key) {
            Some(a) if override_ => a.value = d.value.clone(),
            Some(_) => {}
            None => attrs.push(d.clone()),
        }
    }
}

/// internal/resourcedetection.go MergeSchemaURL: keep the data's schema URL unless it has none.
fn merge_schema_url(current: &mut String, detected: &str) {
    if current.is_empty() {
        *current = detected.to_string();
    }
}

impl Transform for ResourceDetection {
    // resourcedetection_processor.go processTraces/processMetrics/processLogs.
    fn apply(&self, batch: &mut Batch) {
        use opentelemetry_proto::tonic::resource::v1::Resource;
        let detected = self.attributes();
        let schema = self.schema_url();
        let o = self.cfg.override_;
        let go = |schema_url: &mut String, r: &mut Option<Resource>| {
            merge_schema_url(schema_url, schema);
            if !detected.is_empty() {
                merge(&mut r.get_or_insert_with(Resource::default).attributes, detected, o);
            }
        };
        batch.decode_in_place();
        match batch {
            // Just decoded.
            Batch::Raw(_) => {}
            Batch::Traces(rs) => rs.iter_mut().for_each(|r| go(&mut r.schema_url, &mut r.resource)),
            Batch::Metrics(rs) => rs.iter_mut().for_each(|r| go(&mut r.schema_url, &mut r.resource)),
            Batch::Logs(rs) => rs.iter_mut().for_each(|r| go(&mut r.schema_url, &mut r.resource)),
        }
    }
}
