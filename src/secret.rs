//! Secrets in configuration: URL userinfo and header values.
//!
//! - A password in a URL's userinfo prints as `xxxxx`, as Go's `url.URL.Redacted()` does
//!   (`https://user:xxxxx@host/`); the user name stays, as in Go.
//! - Header values print as `[REDACTED]`, as the collector's `configopaque.String` does.
//! - The HTTP exporters send userinfo as `Authorization: Basic` when no `Authorization` header is
//!   set, and never send it in the request URI, as Go's net/http client (`send` in client.go).

use std::borrow::Cow;

/// What a header value (or any opaque config string) prints as.
pub const REDACTED: &str = "[REDACTED]";

/// What a URL password prints as (Go's `Redacted()`).
pub const REDACTED_PASSWORD: &str = "xxxxx";

/// A header value from config: its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Opaque(pub String);

impl Opaque {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Opaque {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Opaque {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<&str> for Opaque {
    fn from(s: &str) -> Self {
        Opaque(s.to_string())
    }
}

/// `url` with the password of its userinfo replaced by `xxxxx`; a URL with no scheme
/// (`user:pw@host:4317`, as gRPC endpoints are written) is redacted too. Anything else is
/// returned unchanged.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    match password_span(url, start) {
        Some((a, b)) => Cow::Owned(format!("{}{REDACTED_PASSWORD}{}", &url[..a], &url[b..])),
        None => Cow::Borrowed(url),
    }
}

/// Every `scheme://user:password@` in free text (a log line, an error from a library) with its
/// password replaced by `xxxxx`.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    if !text.contains('@') || !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        if let Some((a, b)) = password_span(text, start) {
            out.push_str(&text[done..a]);
            out.push_str(REDACTED_PASSWORD);
            done = b;
            from = b;
        } else {
            from = start;
        }
    }
    if done == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

/// The byte range of the password in the authority starting at `start`, if it has one.
fn password_span(s: &str, start: usize) -> Option<(usize, usize)> {
    let rest = &s[start..];
    // The authority ends at the path, query or fragment, or where text around a URL resumes.
    let end = rest
        .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`' | '<' | '>' | ',' | ';') || c.is_whitespace())
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    Some((start + colon + 1, start + at))
}

/// `uri` without userinfo, and the `Authorization: Basic` value its userinfo stands for (user
/// and password percent-decoded, as Go's `url.User`).
pub fn split_userinfo(uri: &http::Uri) -> (http::Uri, Option<http::HeaderValue>) {
    let Some(auth) = uri.authority() else { return (uri.clone(), None) };
    let Some((userinfo, hostport)) = auth.as_str().rsplit_once('@') else { return (uri.clone(), None) };
    let (user, pass) = match userinfo.split_once(':') {
        Some((u, p)) => (u, p),
        None => (userinfo, ""),
    };
    let mut parts = uri.clone().into_parts();
    parts.authority = hostport.parse().ok();
    let stripped = http::Uri::from_parts(parts).unwrap_or_else(|_| uri.clone());
    use base64::Engine as _;
    let mut plain = percent_decode(user);
    plain.push(b':');
    plain.extend(percent_decode(pass));
    let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(plain));
    let header = http::HeaderValue::from_str(&value).ok().map(|mut v| {
        v.set_sensitive(true);
        v
    });
    (stripped, header)
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_print_their_password_as_go_redacted() {
        assert_eq!(redact_url("https://user:s3cret@host:4318/v1"), "https://user:xxxxx@host:4318/v1");
        assert_eq!(redact_url("https://user:s3cret@host"), "https://user:xxxxx@host");
        assert_eq!(redact_url("http://user@host/x"), "http://user@host/x");
        assert_eq!(redact_url("http://host:80/a@b:c"), "http://host:80/a@b:c");
        assert_eq!(redact_url("user:s3cret@host:4317"), "user:xxxxx@host:4317");
        assert_eq!(redact_url("host:4317"), "host:4317");
        assert_eq!(redact_url("https://u:p:q@h"), "https://u:xxxxx@h");
    }

    #[test]
    fn text_redacts_every_url() {
        assert_eq!(
            redact_text(r#"Post "https://a:s3cret@h:1/v1/traces": refused; see http://b:x@y/ and mail me@x"#),
            r#"Post "https://a:xxxxx@h:1/v1/traces": refused; see http://b:xxxxx@y/ and mail me@x"#
        );
        assert!(matches!(redact_text("nothing http://h/ here"), Cow::Borrowed(_)));
        assert!(matches!(redact_text("a@b://c"), Cow::Borrowed(_)));
        assert_eq!(redact_text("x http://u:p@h"), "x http://u:xxxxx@h");
    }

    #[test]
    fn userinfo_becomes_basic_auth_and_leaves_the_uri() {
        let (u, h) = split_userinfo(&"https://user:s3cret@127.0.0.1:9/v1/logs?a=1".parse().unwrap());
        assert_eq!(u, "https://127.0.0.1:9/v1/logs?a=1");
        let h = h.unwrap();
        assert_eq!(h, "Basic dXNlcjpzM2NyZXQ=");
        assert!(h.is_sensitive());
        assert_eq!(format!("{h:?}"), "Sensitive");
        // Percent-encoded user and password are decoded first, as Go's url.User.
        let (_, h) = split_userinfo(&"http://a%40b:p%3Aw@h/".parse().unwrap());
        assert_eq!(h.unwrap(), format!("Basic {}", base64_of("a@b:p:w")));
        // A user with no password: `user:`, as Go's basicAuth(user, "").
        let (_, h) = split_userinfo(&"http://tok@h/".parse().unwrap());
        assert_eq!(h.unwrap(), format!("Basic {}", base64_of("tok:")));
        let (u, h) = split_userinfo(&"http://h:1/x".parse().unwrap());
        assert_eq!((u.to_string().as_str(), h), ("http://h:1/x", None));
    }

    fn base64_of(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn opaque_never_prints() {
        let o = Opaque::from("Bearer s3cret");
        assert_eq!(format!("{o:?} {o}"), "[REDACTED] [REDACTED]");
        assert_eq!(o.as_str(), "Bearer s3cret");
    }
}
