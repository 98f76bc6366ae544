//! Configuration, the leaf every component imports: sources, expansion, merge, the error type,
//! durations and ids. It knows no component: typing component configs happens through the
//! factories (`crate::collector`, `crate::registry`).

pub mod de;
pub mod error;
pub mod expand;
pub mod limits;
pub mod print;
pub mod serde_util;
pub mod service;
pub mod source;

/// The top-level keys of a configuration.
pub const TOP_LEVEL: &[&str] = &["receivers", "processors", "exporters", "extensions", "connectors", "service"];

pub use error::{ConfigError, ConfigErrors};
pub use serde_util::GoDuration;
pub use service::{PipelineConfig, ServiceConfig, TelemetryConfig};

use serde_yaml_ng::Value;
use source::Source;

/// The configuration after sources were read, merged and expanded.
pub struct Resolved {
    pub sources: Vec<Source>,
    pub value: Value,
    /// Things worth one warning at start (unset variables, ...).
    pub warnings: Vec<String>,
    /// Which source kind won: for the start-up log line.
    pub description: String,
}

/// Reads the configuration the way ADOT does: `AOT_CONFIG_CONTENT` if set, else every `--config`
/// in order (later ones merge over earlier), else the embedded default.
pub fn resolve(uris: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, String> {
    resolve_with(uris, &[], env, &source::no_remote)
}

/// otelcol flags.go `--set`: `a.b.c=value` becomes the URI `yaml:a::b::c: value` (every `.` of
/// the key is a level), merged after every other source.
pub fn set_flag_uri(flag: &str) -> Result<String, String> {
    let (key, value) = flag.split_once('=').ok_or_else(|| "missing equal sign".to_string())?;
    Ok(format!("yaml:{}: {}", key.replace('.', "::").trim(), value.trim()))
}

/// [`resolve`] with `--set` overrides (URIs from [`set_flag_uri`]) merged over the
/// configuration, whichever source it came from.
pub fn resolve_with(
    uris: &[String],
    overrides: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    remote: source::Remote,
) -> Result<Resolved, String> {
    let mut warnings = Vec::new();
    let mut sources: Vec<Source> = match env(source::AOT_CONFIG_CONTENT).filter(|c| !c.trim().is_empty()) {
        Some(text) => {
            if !uris.is_empty() {
                warnings.push(format!(
                    "{} is set: it is the configuration, and --config {} is ignored",
                    source::AOT_CONFIG_CONTENT,
                    uris.join(" --config ")
                ));
            }
            let origin = format!("env:{}", source::AOT_CONFIG_CONTENT);
            limits::check_text(&text).map_err(|e| format!("{origin}: {e}"))?;
            vec![Source { value: source::parse(&origin, &text)?, origin }]
        }
        None if uris.is_empty() => vec![source::embedded_default()?],
        None => uris.iter().map(|u| source::load_uri_with(u, env, remote)).collect::<Result<Vec<_>, _>>()?,
    };
    for o in overrides {
        sources.push(source::load_uri_with(o, env, remote)?);
    }
    let description = sources.iter().map(|s| s.origin.as_str()).collect::<Vec<_>>().join(" + ");
    let mut merged = Value::Mapping(Default::default());
    for s in &sources {
        source::merge_into(&mut merged, s.value.clone());
    }
    let expanded = expand::expand(&merged, env).map_err(|e| {
        let origin = source::origin_of(&sources, &e.path);
        format!("{origin}: {}: {}", e.path.join("::"), e.message)
    })?;
    warnings.extend(expanded.warnings);
    Ok(Resolved { sources, value: expanded.value, warnings, description })
}
