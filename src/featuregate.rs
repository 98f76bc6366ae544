//! Feature gates, as otelcol's `--feature-gates` flag sets them (go.opentelemetry.io/collector
//! featuregate: registry.go `Set`, flag.go `Set`): a comma-separated list of gate ids, `-id`
//! disables, `+id` or `id` enables; an unknown id is an error; a stable gate cannot be changed.
//!
//! Only the gates whose behaviour oxidot implements are registered here, each with the stage it
//! has in the Go component it comes from. Components read a gate once, when they are built, and
//! hand the value to their pure code (translators take it as an option, never read it globally).

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Off unless enabled.
    Alpha,
    /// On unless disabled.
    Beta,
    /// On; cannot be changed.
    Stable,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Alpha => "alpha",
            Stage::Beta => "beta",
            Stage::Stable => "stable",
        }
    }
}

pub struct Gate {
    pub id: &'static str,
    pub stage: Stage,
    pub description: &'static str,
    enabled: AtomicBool,
}

impl Gate {
    const fn new(id: &'static str, stage: Stage, description: &'static str) -> Gate {
        let on = !matches!(stage, Stage::Alpha);
        Gate { id, stage, description, enabled: AtomicBool::new(on) }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }
}

/// exporter/awsxrayexporter/internal/metadata/generated_feature_gates.go (beta): export spans
/// whose trace id does not start with an X-Ray epoch (random W3C ids).
pub static XRAY_SKIP_TIMESTAMP_VALIDATION: Gate = Gate::new(
    "exporter.awsxray.skiptimestampvalidation",
    Stage::Beta,
    "Remove the X-Ray trace id timestamp validation",
);

/// exporter/awsxrayexporter (beta): keep `.` in annotation keys instead of turning it into `_`.
pub static XRAY_ALLOW_DOT: Gate =
    Gate::new("exporter.xray.allowDot", Stage::Beta, "X-Ray exporter keeps dots in annotation keys");

/// receiver/receiverhelper (alpha): split downstream refusals from other failures and print
/// `otelcol_receiver_requests{outcome}`.
pub static RECEIVER_NEW_METRICS: Gate = Gate::new(
    "receiverhelper.newReceiverMetrics",
    Stage::Alpha,
    "Receiver metrics distinguish refused from failed items and count requests by outcome",
);

/// contrib exporter/prometheusremotewriteexporter metadata.yaml (alpha): a 429 answer is retried
/// with the exporter's backoff, like a 5xx, instead of failing the request.
pub static PRW_RETRY_ON_429: Gate = Gate::new(
    "exporter.prometheusremotewritexporter.RetryOn429",
    Stage::Alpha,
    "When enabled, the Prometheus remote write exporter will retry 429 http status code. Requires exporter.prometheusremotewritexporter.metrics.RetryOn429 to be enabled.",
);

/// contrib pkg/translator/prometheus (normalize_label.go, alpha): label names starting with a
/// single `_` are left alone instead of getting `key`. oxidot's `loki` exporter normalizes its
/// label names with it, as the v0.130 Go translator does.
pub static PROMETHEUS_PERMISSIVE_LABEL_SANITIZATION: Gate = Gate::new(
    "pkg.translator.prometheus.PermissiveLabelSanitization",
    Stage::Alpha,
    "Controls whether to change labels starting with '_' to 'key_'.",
);

/// otelcol command_print.go (beta): enables the `print-config` command.
pub static PRINT_INITIAL_CONFIG: Gate =
    Gate::new("otelcol.printInitialConfig", Stage::Beta, "if set to true, enable the print-config command");

/// Every registered gate, sorted by id (as otelcol's `VisitAll`).
// processor.resourcedetection.propagateerrors is not here: Go made it stable in v0.146 and removed
// it in v0.150, so in v0.156 naming it is "no such feature gate" and detector errors always fail
// the start.
pub fn all() -> [&'static Gate; 6] {
    [
        &XRAY_SKIP_TIMESTAMP_VALIDATION,
        &XRAY_ALLOW_DOT,
        &PRW_RETRY_ON_429,
        &PRINT_INITIAL_CONFIG,
        &PROMETHEUS_PERMISSIVE_LABEL_SANITIZATION,
        &RECEIVER_NEW_METRICS,
    ]
}

fn find(id: &str) -> Option<&'static Gate> {
    all().into_iter().find(|g| g.id == id)
}

/// Applies one `--feature-gates` value. Every id is checked; all errors are reported together.
pub fn apply_flag(value: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    for raw in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, on) = match raw.as_bytes()[0] {
            b'-' => (&raw[1..], false),
            b'+' => (&raw[1..], true),
            _ => (raw, true),
        };
        match find(id) {
            None => errors.push(format!("no such feature gate {id:?}")),
            Some(g) if g.stage == Stage::Stable => {
                if !on {
                    errors.push(format!("feature gate {id:?} is stable, can not be disabled"));
                }
            }
            Some(g) => g.enabled.store(on, Ordering::Relaxed),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The `feature_gates:` part of `oxidot components`.
pub fn describe_yaml() -> String {
    let mut out = String::from("feature_gates:\n");
    for g in all() {
        out.push_str(&format!(
            "  - id: {}\n    stage: {}\n    enabled: {}\n    description: {}\n",
            g.id,
            g.stage.as_str(),
            g.is_enabled(),
            g.description
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test touches the global gates, so parallel tests cannot race on them.
    #[test]
    fn flag_parsing_as_otelcol() {
        assert!(XRAY_SKIP_TIMESTAMP_VALIDATION.is_enabled());
        assert!(!RECEIVER_NEW_METRICS.is_enabled());
        apply_flag("-exporter.awsxray.skiptimestampvalidation,+receiverhelper.newReceiverMetrics").unwrap();
        assert!(!XRAY_SKIP_TIMESTAMP_VALIDATION.is_enabled());
        assert!(RECEIVER_NEW_METRICS.is_enabled());
        apply_flag("exporter.awsxray.skiptimestampvalidation,-receiverhelper.newReceiverMetrics").unwrap();
        assert!(XRAY_SKIP_TIMESTAMP_VALIDATION.is_enabled());
        assert!(!RECEIVER_NEW_METRICS.is_enabled());
        assert_eq!(
            apply_flag("nope,-also.nope").unwrap_err(),
            "no such feature gate \"nope\"; no such feature gate \"also.nope\""
        );
        assert_eq!(apply_flag(""), Ok(()));
    }
}
