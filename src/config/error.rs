//! Config errors that name where (source, YAML path), what was expected, and the closest key.

use super::de::{DeError, DeErrorKind};
use std::fmt;

/// One problem in the configuration, located by origin and YAML path.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Where the offending key came from: `file:/etc/x.yaml`, `env:AOT_CONFIG_CONTENT`, ...
    pub origin: String,
    /// The YAML path, `::`-separated as the collector prints it (`exporters::otlphttp::endpint`).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// The closest valid key or type, when one is close enough.
    pub did_you_mean: Option<String>,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError { origin: String::new(), path: path.into(), message: message.into(), did_you_mean: None }
    }

    pub fn with_suggestion(mut self, s: Option<String>) -> Self {
        self.did_you_mean = s;
        self
    }

    /// Turns a decode error of the value at `base` into a located error.
    pub fn from_de(base: &[&str], e: DeError) -> ConfigError {
        let mut segs: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        segs.extend(e.path.iter().cloned());
        let path = segs.join("::");
        match e.kind {
            DeErrorKind::UnknownKey { key, expected } => {
                let suggestion = closest(&key, expected.iter().copied());
                let valid = if expected.is_empty() {
                    "this section takes no keys".to_string()
                } else {
                    format!("valid keys: {}", expected.join(", "))
                };
                ConfigError::new(path, format!("unknown key {key:?} ({valid})")).with_suggestion(suggestion)
            }
            DeErrorKind::MissingKey(k) => {
                ConfigError::new(format!("{path}::{k}").trim_start_matches("::").to_string(), "required key is missing")
            }
            DeErrorKind::Message(m) => ConfigError::new(path, m),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.origin.is_empty() {
            write!(f, "{}: ", self.origin)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(s) = &self.did_you_mean {
            write!(f, "; did you mean {s:?}?")?;
        }
        Ok(())
    }
}

/// Several config errors, reported together so one run shows every problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "invalid configuration: {one}"),
            many => {
                write!(f, "invalid configuration ({} errors):", many.len())?;
                for e in many {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// The candidate closest to `word`, if it is plausibly a typo of it.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.filter(|(s, _)| *s >= 0.8).map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["endpoint", "headers", "timeout"];
        assert_eq!(closest("endpint", keys.iter().copied()).as_deref(), Some("endpoint"));
        assert_eq!(closest("zzz", keys.iter().copied()), None);
    }
}
