//! Where configuration comes from: `--config` URIs (`file:`, bare path, `env:`, `yaml:`),
//! `AOT_CONFIG_CONTENT` (as ADOT reads it) or the embedded default; and how several merge.

use super::expand::key_text;
use serde_yaml_ng::{Mapping, Value};

/// The embedded default configuration (`config/default.yaml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../config/default.yaml");

/// The environment variable ADOT reads its whole configuration from.
pub const AOT_CONFIG_CONTENT: &str = "AOT_CONFIG_CONTENT";

/// One loaded configuration source.
#[derive(Debug, Clone)]
pub struct Source {
    /// How errors name it: `file:/etc/x.yaml`, `env:AOT_CONFIG_CONTENT`, `yaml:...`, `embedded default`.
    pub origin: String,
    pub value: Value,
}

/// Fetches a remote configuration (`http://`, `https://`, `s3://`): (how errors name it, the
/// text). The network code lives outside `config` (`crate::remote_config`); the binary passes it.
pub type Remote<'a> = &'a dyn Fn(&str) -> Result<(String, String), String>;

/// A [`Remote`] for callers without network access: every remote URI is an error.
pub fn no_remote(uri: &str) -> Result<(String, String), String> {
    Err(format!("{uri:?}: remote configuration is not available here"))
}

/// The schemes a [`Remote`] fetches.
pub fn is_remote(uri: &str) -> bool {
    uri.starts_with("s3:") || uri.starts_with("http://") || uri.starts_with("https://")
}

/// Reads and parses one `--config` URI.
pub fn load_uri(uri: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Source, String> {
    load_uri_with(uri, env, &no_remote)
}

/// [`load_uri`], fetching remote URIs with `remote`.
pub fn load_uri_with(uri: &str, env: &dyn Fn(&str) -> Option<String>, remote: Remote) -> Result<Source, String> {
    if let Some(rest) = uri.strip_prefix("env:") {
        let text = env(rest).ok_or_else(|| format!("env:{rest}: environment variable {rest} is not set"))?;
        let origin = format!("env:{rest}");
        super::limits::check_text(&text).map_err(|e| format!("{origin}: {e}"))?;
        return Ok(Source { value: parse(&origin, &text)?, origin });
    }
    if let Some(rest) = uri.strip_prefix("yaml:") {
        let origin = format!("yaml:{rest}");
        let v = parse(&origin, rest)?;
        return Ok(Source { value: split_colon_keys(v), origin });
    }
    if is_remote(uri) {
        let (origin, text) = remote(uri)?;
        super::limits::check_text(&text).map_err(|e| format!("{origin}: {e}"))?;
        return Ok(Source { value: parse(&origin, &text)?, origin });
    }
    let path = match uri.strip_prefix("file:") {
        Some(p) => p,
        None => {
            if let Some((scheme, _)) = uri.split_once(':') {
                let looks_like_scheme = scheme.len() > 1
                    && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.');
                if looks_like_scheme && uri.contains(':') && !std::path::Path::new(uri).exists() {
                    return Err(format!(
                        "unsupported scheme on URI {uri:?}: oxidot reads file:, env:, yaml:, http:, https: and s3: (or a plain path)"
                    ));
                }
            }
            uri
        }
    };
    let origin = format!("file:{path}");
    let file = std::fs::File::open(path).map_err(|e| format!("{origin}: cannot read the file: {e}"))?;
    let text = super::limits::read_config_text(file).map_err(|e| format!("{origin}: {e}"))?;
    Ok(Source { value: parse(&origin, &text)?, origin })
}

/// The embedded default as a source.
pub fn embedded_default() -> Result<Source, String> {
    let origin = "embedded default (config/default.yaml)".to_string();
    Ok(Source { value: parse(&origin, DEFAULT_CONFIG)?, origin })
}

/// Parses YAML text; the top level must be a map (or empty).
pub fn parse(origin: &str, text: &str) -> Result<Value, String> {
    let v: Value = serde_yaml_ng::from_str(text).map_err(|e| format!("{origin}: not valid YAML: {e}"))?;
    match v {
        Value::Null => Ok(Value::Mapping(Mapping::new())),
        Value::Mapping(_) => Ok(v),
        other => Err(format!(
            "{origin}: the top level must be a map of sections (receivers, exporters, service, ...), found {}",
            match other {
                Value::Sequence(_) => "a list",
                _ => "a single value",
            }
        )),
    }
}

/// `yaml:` URIs use `::` to nest keys: `exporters::otlp::timeout: 2s`.
fn split_colon_keys(v: Value) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut out = Value::Mapping(Mapping::new());
            for (k, val) in m {
                let key = key_text(&k);
                let mut nested = split_colon_keys(val);
                for seg in key.split("::").collect::<Vec<_>>().into_iter().rev() {
                    let mut mm = Mapping::new();
                    mm.insert(Value::String(seg.to_string()), nested);
                    nested = Value::Mapping(mm);
                }
                merge_into(&mut out, nested);
            }
            out
        }
        other => other,
    }
}

/// Deep-merges `over` into `base`: maps merge key by key, anything else is replaced.
pub fn merge_into(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_mapping() && v.is_mapping() => merge_into(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// The source that set the value at `path` (the last one in merge order that has the longest
/// prefix of it), so errors can name the file the user must edit.
pub fn origin_of<'a>(sources: &'a [Source], path: &[String]) -> &'a str {
    let mut best: Option<(usize, &str)> = None;
    for s in sources.iter().rev() {
        let depth = prefix_depth(&s.value, path);
        if best.is_none_or(|(d, _)| depth > d) {
            best = Some((depth, s.origin.as_str()));
        }
    }
    best.map(|(_, o)| o).unwrap_or("")
}

fn prefix_depth(v: &Value, path: &[String]) -> usize {
    let mut cur = v;
    let mut depth = 0;
    for seg in path {
        let next = match cur {
            Value::Mapping(m) => m.iter().find(|(k, _)| key_text(k) == *seg).map(|(_, v)| v),
            Value::Sequence(s) => seg.parse::<usize>().ok().and_then(|i| s.get(i)),
            _ => None,
        };
        match next {
            Some(n) => {
                cur = n;
                depth += 1;
            }
            None => break,
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml_ng::from_str(s).unwrap()
    }

    #[test]
    fn merges_maps_and_replaces_lists() {
        let mut a = y("exporters: {otlp: {endpoint: a, timeout: 1s}}\nservice: {extensions: [x, y]}");
        merge_into(&mut a, y("exporters: {otlp: {endpoint: b}}\nservice: {extensions: [z]}"));
        assert_eq!(a, y("exporters: {otlp: {endpoint: b, timeout: 1s}}\nservice: {extensions: [z]}"));
    }

    #[test]
    fn yaml_uri_nests_colon_keys() {
        let s = load_uri("yaml:processors::batch::timeout: 2s", &|_| None).unwrap();
        assert_eq!(s.value, y("processors: {batch: {timeout: 2s}}"));
    }

    #[test]
    fn origin_is_the_last_source_setting_the_path() {
        let a = Source { origin: "file:a".into(), value: y("exporters: {otlp: {endpoint: x}}") };
        let b = Source { origin: "file:b".into(), value: y("exporters: {debug: {}}") };
        let p = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        assert_eq!(origin_of(&[a.clone(), b.clone()], &p("exporters::otlp::endpint")), "file:a");
        assert_eq!(origin_of(&[a, b], &p("exporters::debug::verbosity")), "file:b");
    }

    #[test]
    fn bad_uris() {
        assert!(load_uri("ftp://host/x", &|_| None).unwrap_err().contains("unsupported scheme"));
        assert!(load_uri("s3:bucket/x", &|_| None).unwrap_err().contains("remote configuration is not available"));
        assert!(load_uri("env:NOPE", &|_| None).unwrap_err().contains("not set"));
        assert!(load_uri("/no/such/file.yaml", &|_| None).unwrap_err().contains("cannot read"));
    }
}
