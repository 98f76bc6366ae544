//! `metric_declarations` (awsemfexporter metric_declaration.go): which metrics are exported
//! with which dimension sets, selected by metric name and label values.

use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// One `metric_declarations` entry as written.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DeclarationConfig {
    pub dimensions: Vec<Vec<String>>,
    pub metric_name_selectors: Vec<String>,
    pub label_matchers: Vec<LabelMatcherConfig>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LabelMatcherConfig {
    pub label_names: Vec<String>,
    pub separator: String,
    pub regex: String,
}

/// A compiled declaration.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// Deduplicated, each set sorted, sets of more than 10 dropped.
    pub dimensions: Vec<Vec<String>>,
    selectors: Vec<Regex>,
    matchers: Vec<LabelMatcher>,
}

#[derive(Debug, Clone)]
struct LabelMatcher {
    names: Vec<String>,
    separator: String,
    regex: Regex,
}

/// What compiling a declaration says: the declaration or why Go's `Validate` drops it
/// (a warning), or an invalid selector (Go panics in `regexp.MustCompile`: a config error here).
pub enum Compiled {
    Ok(Declaration, Vec<String>),
    Dropped(String),
    Invalid(String),
}

impl DeclarationConfig {
    /// metric_declaration.go `init`.
    pub fn compile(&self) -> Compiled {
        if self.metric_name_selectors.is_empty() {
            return Compiled::Dropped("invalid metric declaration: no metric name selectors defined".into());
        }
        let mut notes = Vec::new();
        let mut seen = HashSet::new();
        let mut dims = Vec::new();
        for set in &self.dimensions {
            if set.len() > 10 {
                notes.push(format!("Dropped dimension set: > 10 dimensions specified: {}", set.join(",")));
                continue;
            }
            let mut d: Vec<String> = set.iter().cloned().collect::<HashSet<_>>().into_iter().collect();
            d.sort();
            if seen.insert(d.join(",")) {
                dims.push(d);
            }
        }
        let mut selectors = Vec::new();
        for s in &self.metric_name_selectors {
            match Regex::new(s) {
                Ok(r) => selectors.push(r),
                Err(e) => return Compiled::Invalid(format!("metric_name_selectors: invalid regexp {s:?}: {e}")),
            }
        }
        let mut matchers = Vec::new();
        for m in &self.label_matchers {
            if m.label_names.is_empty() {
                return Compiled::Dropped("label matcher must have at least one label name specified".into());
            }
            if m.regex.is_empty() {
                return Compiled::Dropped("regex not specified for label matcher".into());
            }
            let regex = match Regex::new(&m.regex) {
                Ok(r) => r,
                Err(e) => return Compiled::Dropped(format!("label matcher regex {:?}: {e}", m.regex)),
            };
            let separator = if m.separator.is_empty() { ";".to_string() } else { m.separator.clone() };
            matchers.push(LabelMatcher { names: m.label_names.clone(), separator, regex });
        }
        Compiled::Ok(Declaration { dimensions: dims, selectors, matchers }, notes)
    }
}

impl Declaration {
    /// `MatchesName`: any selector matches (unanchored, as Go's `MatchString`).
    pub fn matches_name(&self, name: &str) -> bool {
        self.selectors.iter().any(|r| r.is_match(name))
    }

    /// `MatchesLabels`: no matcher, or at least one matching the joined label values.
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.is_empty()
            || self.matchers.iter().any(|m| {
                let joined = m
                    .names
                    .iter()
                    .map(|n| labels.get(n).map(String::as_str).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(&m.separator);
                m.regex.is_match(&joined)
            })
    }

    /// `ExtractDimensions`: the sets whose every dimension is a label.
    pub fn extract_dimensions(&self, labels: &BTreeMap<String, String>) -> Vec<Vec<String>> {
        self.dimensions.iter().filter(|set| set.iter().all(|d| labels.contains_key(d))).cloned().collect()
    }
}
