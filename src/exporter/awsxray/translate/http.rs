//! The `http` block from the old (`http.*`, `net.*`) and new (`url.*`, `server.*`, `client.*`)
//! HTTP semantic conventions.

use super::{int_attr, str_attr};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use serde_json::{json, Map, Value};

/// Attributes this block consumes (kept out of annotations and metadata).
pub const CONSUMED: &[&str] = &[
    "http.method",
    "http.request.method",
    "http.url",
    "url.full",
    "http.target",
    "url.path",
    "url.query",
    "http.scheme",
    "url.scheme",
    "http.host",
    "http.server_name",
    "server.address",
    "net.host.name",
    "net.host.port",
    "server.port",
    "http.client_ip",
    "client.address",
    "net.peer.ip",
    "net.peer.port",
    "http.user_agent",
    "user_agent.original",
    "http.status_code",
    "http.response.status_code",
    "http.response_content_length",
    "http.response.body.size",
];

fn first<'a>(a: &'a [opentelemetry_proto::tonic::common::v1::KeyValue], keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| str_attr(a, k))
}

/// The HTTP status code of a span, from either convention.
pub fn status_code(span: &Span) -> Option<i64> {
    int_attr(&span.attributes, "http.status_code").or_else(|| int_attr(&span.attributes, "http.response.status_code"))
}

pub fn block(span: &Span) -> Option<Value> {
    let a = &span.attributes;
    let mut req = Map::new();
    let mut resp = Map::new();
    if let Some(m) = first(a, &["http.method", "http.request.method"]) {
        req.insert("method".into(), json!(m));
    }
    if let Some(ip) = first(a, &["http.client_ip", "client.address"]) {
        req.insert("client_ip".into(), json!(ip));
        req.insert("x_forwarded_for".into(), json!(true));
    } else if let Some(ip) = str_attr(a, "net.peer.ip") {
        req.insert("client_ip".into(), json!(ip));
    }
    if let Some(ua) = first(a, &["http.user_agent", "user_agent.original"]) {
        req.insert("user_agent".into(), json!(ua));
    }
    let url = first(a, &["http.url", "url.full"]).map(str::to_string).or_else(|| construct_url(span));
    if let Some(u) = url {
        req.insert("url".into(), json!(u));
    }
    if let Some(s) = status_code(span) {
        resp.insert("status".into(), json!(s));
    }
    if let Some(n) = int_attr(a, "http.response_content_length").or_else(|| int_attr(a, "http.response.body.size")) {
        resp.insert("content_length".into(), json!(n));
    }
    if req.is_empty() && resp.is_empty() {
        return None;
    }
    let mut h = Map::new();
    if !req.is_empty() {
        h.insert("request".into(), Value::Object(req));
    }
    if !resp.is_empty() {
        h.insert("response".into(), Value::Object(resp));
    }
    Some(Value::Object(h))
}

/// `scheme://host[:port]target` when the span has no full URL: servers name their own host,
/// clients the peer.
fn construct_url(span: &Span) -> Option<String> {
    let a = &span.attributes;
    let server = span.kind == SpanKind::Server as i32;
    let scheme = first(a, &["http.scheme", "url.scheme"]).unwrap_or("http");
    let host = if server {
        first(a, &["http.host", "http.server_name", "net.host.name", "server.address"])
    } else {
        first(a, &["http.host", "net.peer.name", "server.address"])
    }?;
    let port = if server {
        int_attr(a, "net.host.port").or_else(|| int_attr(a, "server.port"))
    } else {
        int_attr(a, "net.peer.port").or_else(|| int_attr(a, "server.port"))
    };
    let target = match str_attr(a, "http.target") {
        Some(t) => t.to_string(),
        None => {
            let path = str_attr(a, "url.path").unwrap_or("");
            match str_attr(a, "url.query").filter(|q| !q.is_empty()) {
                Some(q) => format!("{path}?{q}"),
                None => path.to_string(),
            }
        }
    };
    let default_port = (scheme == "http" && port == Some(80)) || (scheme == "https" && port == Some(443));
    let port = match port {
        Some(p) if !default_port && !host.contains(':') => format!(":{p}"),
        _ => String::new(),
    };
    Some(format!("{scheme}://{host}{port}{target}"))
}
