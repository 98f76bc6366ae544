//! `oxidot print-config`: the resolved configuration as YAML or JSON, with the values the Go
//! collector types as `configopaque.String` (header values, passwords, tokens, keys) shown as
//! `[REDACTED]` unless unredacted output is asked for.

use serde_yaml_ng::Value;

/// As `configopaque.String` prints (and `crate::secret::REDACTED`).
const REDACTED: &str = "[REDACTED]";

/// Whether a key holds a secret: any value under `headers`, and keys that name a password,
/// secret, token or key material (Go's configopaque fields: `headers`, `password`, `key_pem`,
/// `bearer_token`, `api_key`, `secret_key`, `session_token`, `client_secret`, …).
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "password"
        || k.ends_with("_password")
        || k.contains("secret")
        || k.ends_with("token")
        || k == "api_key"
        || k == "apikey"
        || k == "key_pem"
        || k == "authorization"
}

/// Replaces every secret value in `v` with `[REDACTED]`.
pub fn redact(v: &mut Value) {
    redact_in(v, false);
}

fn redact_in(v: &mut Value, under_secret: bool) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m.iter_mut() {
                let key = k.as_str().unwrap_or("");
                redact_in(val, under_secret || secret_key(key) || key == "headers");
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(|x| redact_in(x, under_secret)),
        Value::Tagged(t) => redact_in(&mut t.value, under_secret),
        Value::Null => {}
        scalar => {
            if under_secret {
                *scalar = Value::String(REDACTED.to_string());
            }
        }
    }
}

/// `format` is `yaml` or `json` (case-insensitive), as Go's `--format`.
pub fn render(v: &Value, format: &str) -> Result<String, String> {
    if format.eq_ignore_ascii_case("yaml") {
        serde_yaml_ng::to_string(v).map_err(|e| e.to_string())
    } else if format.eq_ignore_ascii_case("json") {
        serde_json::to_string_pretty(v).map(|s| s + "\n").map_err(|e| e.to_string())
    } else {
        Err(format!("unrecognized print format: {format}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let mut v: Value = serde_yaml_ng::from_str(
            "exporters:\n  otlphttp:\n    endpoint: https://x\n    headers: {Authorization: Bearer abc, x-scope: t1}\n  loki:\n    auth: {authenticator: basicauth}\nextensions:\n  basicauth:\n    client_auth: {username: u, password: p}\n  bearertokenauth: {token: t}\n",
        )
        .unwrap();
        redact(&mut v);
        let out = render(&v, "yaml").unwrap();
        for secret in ["Bearer abc", "t1", "password: p", "token: t\n"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        for kept in ["endpoint: https://x", "username: u", "authenticator: basicauth"] {
            assert!(out.contains(kept), "{kept} missing from {out}");
        }
        assert_eq!(out.matches("[REDACTED]").count(), 4, "{out}");
        assert!(render(&v, "json").unwrap().contains("\"endpoint\": \"https://x\""));
        assert!(render(&v, "toml").is_err());
    }
}
