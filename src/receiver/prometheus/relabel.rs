//! Relabeling as Prometheus does it (prometheus/model/relabel/relabel.go): the config keys and
//! defaults, `Validate`, and `ProcessBuilder`'s actions. Regexes are fully anchored
//! (`^(?s:…)$`); `$1`, `${1}` and `${name}` in `target_label`/`replacement` expand as Go's
//! `Regexp.ExpandString` (the `regex` crate's `Captures::expand` has the same rules).

use super::labels::Labels;
use super::md5;
use regex::Regex;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// One `relabel_configs`/`metric_relabel_configs` entry as written.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RelabelConfigRaw {
    pub source_labels: Option<Vec<String>>,
    pub separator: Option<String>,
    pub regex: Option<Value>,
    pub modulus: Option<u64>,
    pub target_label: Option<String>,
    pub replacement: Option<String>,
    pub action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// A validated rule, ready to apply.
#[derive(Debug, Clone)]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: Regex,
    /// The regex as written (to tell the default from an explicit one).
    pub regex_src: String,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
}

/// An anchored regex as Prometheus compiles it (relabel.NewRegexp).
pub fn anchored(s: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?s:{s})$")).map_err(|e| format!("invalid regex {s:?}: {e}"))
}

impl RelabelConfig {
    /// Defaults as relabel.DefaultRelabelConfig, then the checks of `Config.Validate` (UTF-8
    /// name validation, Prometheus 3's default).
    pub fn from_raw(r: &RelabelConfigRaw) -> Result<RelabelConfig, String> {
        let action_s = r.action.clone().unwrap_or_else(|| "replace".into());
        let action = Action::parse(&action_s).ok_or_else(|| format!("unknown relabel action {action_s:?}"))?;
        let regex_src = match &r.regex {
            None | Some(Value::Null) => DEFAULT_REGEX.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(_) => return Err("regex: expected a string".into()),
        };
        let c = RelabelConfig {
            source_labels: r.source_labels.clone().unwrap_or_default(),
            separator: r.separator.clone().unwrap_or_else(|| DEFAULT_SEPARATOR.into()),
            regex: anchored(&regex_src)?,
            regex_src,
            modulus: r.modulus.unwrap_or(0),
            target_label: r.target_label.clone().unwrap_or_default(),
            replacement: r.replacement.clone().unwrap_or_else(|| DEFAULT_REPLACEMENT.into()),
            action,
        };
        c.validate(r.source_labels.is_some())?;
        Ok(c)
    }

    fn validate(&self, source_labels_set: bool) -> Result<(), String> {
        let a = self.action;
        let n = a.name();
        if self.modulus == 0 && a == Action::HashMod {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            a,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!("relabel configuration for {n} action requires 'target_label' value"));
        }
        let case_or_equal = matches!(a, Action::Lowercase | Action::Uppercase | Action::KeepEqual | Action::DropEqual);
        if case_or_equal && self.replacement != DEFAULT_REPLACEMENT {
            return Err(format!("'replacement' can not be set for {n} action"));
        }
        if matches!(a, Action::KeepEqual | Action::DropEqual)
            && (self.regex_src != DEFAULT_REGEX || self.modulus != 0 || self.separator != DEFAULT_SEPARATOR)
        {
            return Err(format!("{n} action requires only 'source_labels' and `target_label`, and no other fields"));
        }
        if matches!(a, Action::LabelDrop | Action::LabelKeep)
            && (source_labels_set
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!("{n} action requires only 'regex', and no other fields"));
        }
        Ok(())
    }
}

/// Applies `cfgs` in order; `false` when a rule drops the label set (relabel.ProcessBuilder).
pub fn process(lb: &mut Labels, cfgs: &[RelabelConfig]) -> bool {
    cfgs.iter().all(|c| relabel(c, lb))
}

fn relabel(cfg: &RelabelConfig, lb: &mut Labels) -> bool {
    let val = cfg.source_labels.iter().map(|n| lb.get(n)).collect::<Vec<_>>().join(&cfg.separator);
    match cfg.action {
        Action::Drop => {
            if cfg.regex.is_match(&val) {
                return false;
            }
        }
        Action::Keep => {
            if !cfg.regex.is_match(&val) {
                return false;
            }
        }
        Action::DropEqual => {
            if lb.get(&cfg.target_label) == val {
                return false;
            }
        }
        Action::KeepEqual => {
            if lb.get(&cfg.target_label) != val {
                return false;
            }
        }
        Action::Replace => {
            // Fast path of Go: add or delete a fixed label pair.
            if val.is_empty()
                && cfg.regex_src == DEFAULT_REGEX
                && !cfg.target_label.contains('$')
                && !cfg.replacement.contains('$')
            {
                lb.set(cfg.target_label.clone(), cfg.replacement.clone());
                return true;
            }
            let Some(caps) = cfg.regex.captures(&val) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&cfg.target_label, &mut target);
            // UTF-8 validation: any non-empty name is valid.
            if target.is_empty() {
                return true;
            }
            let mut res = String::new();
            caps.expand(&cfg.replacement, &mut res);
            if res.is_empty() {
                lb.del(&target);
            } else {
                lb.set(target, res);
            }
        }
        Action::Lowercase => lb.set(cfg.target_label.clone(), val.to_lowercase()),
        Action::Uppercase => lb.set(cfg.target_label.clone(), val.to_uppercase()),
        Action::HashMod => {
            let sum = md5::digest(val.as_bytes());
            let mut last = [0u8; 8];
            last.copy_from_slice(&sum[8..]);
            let m = u64::from_be_bytes(last) % cfg.modulus.max(1);
            lb.set(cfg.target_label.clone(), m.to_string());
        }
        Action::LabelMap => {
            let snapshot: Vec<(String, String)> = lb.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            for (name, value) in snapshot {
                if cfg.regex.is_match(&name) {
                    let res = cfg.regex.replace_all(&name, cfg.replacement.as_str()).into_owned();
                    lb.set(res, value);
                }
            }
        }
        Action::LabelDrop => lb.retain(|k, _| !cfg.regex.is_match(k)),
        Action::LabelKeep => lb.retain(|k, _| cfg.regex.is_match(k)),
    }
    true
}

#[cfg(test)]
mod tests;
