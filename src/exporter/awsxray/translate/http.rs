//! The `http` block, as the Go exporter's http.go `makeHTTP`: the old (`http.*`, `net.*`) and new
//! (`url.*`, `server.*`, `client.*`, `network.*`) HTTP semantic conventions, with the feature
//! gates `exporter.awsxray.*V0*`/`*V1*` at their defaults (both conventions read; the v1-only
//! `network.peer.port` and `messaging.message.body.size` not used).

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::IpAddr;

/// The attribute value of `k`.
pub(super) fn value_of<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a AnyValue> {
    attrs.iter().find(|a| a.key == k).and_then(|a| a.value.as_ref())
}

/// pcommon `Value.Str()`: the string, or "" for other types and missing values.
pub(super) fn go_str(v: Option<&AnyValue>) -> &str {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s,
        _ => "",
    }
}

/// pcommon `Value.Int()`: the integer, or 0 for other types.
pub(super) fn go_int(v: &AnyValue) -> i64 {
    match v.value {
        Some(any_value::Value::IntValue(i)) => i,
        _ => 0,
    }
}

/// Attributes makeHTTP takes out of what becomes metadata (all of them, whether or not the span
/// gets an `http` block; `client.address`/`network.peer.address` even when they are not IPs).
pub const CONSUMED: &[&str] = &[
    "http.method",
    "http.request.method",
    "http.client_ip",
    "http.user_agent",
    "user_agent.original",
    "http.status_code",
    "http.response.status_code",
    "http.url",
    "url.full",
    "http.scheme",
    "url.scheme",
    "http.host",
    "http.target",
    "http.server_name",
    "net.host.port",
    "host.name",
    "net.host.name",
    "net.peer.name",
    "net.peer.port",
    "net.peer.ip",
    "network.peer.address",
    "client.address",
    "url.path",
    "url.query",
    "server.address",
    "server.port",
];

/// A port as makeHTTP keeps it: the string, else the integer as text.
fn port_text(v: &AnyValue) -> String {
    let s = go_str(Some(v));
    if s.is_empty() {
        go_int(v).to_string()
    } else {
        s.to_string()
    }
}

/// awsxray.String: no value for an empty string.
fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

// http.go makeHTTP
pub fn block(span: &Span) -> Option<Value> {
    let mut method = None;
    let mut client_ip: Option<String> = None;
    let mut user_agent = None;
    let mut status = None;
    let mut parts: HashMap<&str, String> = HashMap::new();
    let (mut has_http, mut has_url_attrs, mut has_peer_addr) = (false, false, false);
    // An attribute without a value is pdata's empty value: `Str()` "" and `Int()` 0, as in Go.
    let empty = AnyValue { value: None };
    for a in &span.attributes {
        let v = a.value.as_ref().unwrap_or(&empty);
        let s = go_str(Some(v));
        match a.key.as_str() {
            "http.method" | "http.request.method" => {
                method = Some(s.to_string());
                has_http = true;
            }
            "http.client_ip" => {
                client_ip = nonempty(s);
                has_http = true;
            }
            "http.user_agent" | "user_agent.original" => {
                user_agent = Some(s.to_string());
                has_http = true;
            }
            "http.status_code" | "http.response.status_code" => {
                status = Some(go_int(v));
                has_http = true;
            }
            "http.url" | "url.full" => {
                parts.insert("http.url", s.to_string());
                has_http = true;
                has_url_attrs = true;
            }
            "http.scheme" | "url.scheme" => {
                parts.insert("http.scheme", s.to_string());
                has_http = true;
            }
            "http.host" | "http.server_name" => {
                parts.insert(if a.key == "http.host" { "http.host" } else { "http.server_name" }, s.to_string());
                has_http = true;
                has_url_attrs = true;
            }
            "http.target" | "url.path" | "url.query" => {
                parts.insert(key_static(&a.key), s.to_string());
                has_http = true;
            }
            "net.host.port" => {
                parts.insert("net.host.port", port_text(v));
                has_http = true;
            }
            "host.name" | "net.host.name" | "net.peer.name" | "server.address" => {
                parts.insert(key_static(&a.key), s.to_string());
                has_url_attrs = true;
            }
            "net.peer.port" | "server.port" => {
                parts.insert(key_static(&a.key), port_text(v));
            }
            "net.peer.ip" => {
                // Forwarded information (http.client_ip) wins when present.
                client_ip = client_ip.or_else(|| nonempty(s));
                parts.insert("net.peer.ip", s.to_string());
                has_url_attrs = true;
                has_peer_addr = true;
            }
            "network.peer.address" if is_ip(s) => {
                client_ip = client_ip.or_else(|| nonempty(s));
                has_url_attrs = true;
                has_peer_addr = true;
            }
            "client.address" if is_ip(s) => client_ip = Some(s.to_string()),
            _ => {}
        }
    }
    if !has_http {
        return None;
    }
    let mut req = Map::new();
    // The client address came through a proxy unless the peer address is the client.
    if !has_peer_addr && client_ip.is_some() {
        req.insert("x_forwarded_for".into(), json!(true));
    }
    // awsxray.String: empty strings are left out.
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            req.insert(k.into(), json!(v));
        }
    };
    put("method", method);
    if has_url_attrs {
        let url = if span.kind == SpanKind::Server as i32 { server_url(&parts) } else { client_url(&parts) };
        put("url", Some(url));
    }
    put("user_agent", user_agent);
    put("client_ip", client_ip);
    let mut resp = Map::new();
    if let Some(s) = status {
        resp.insert("status".into(), json!(s));
    }
    resp.insert("content_length".into(), json!(response_size(span)));
    Some(json!({"request": req, "response": resp}))
}

fn key_static(k: &str) -> &'static str {
    CONSUMED.iter().find(|c| **c == k).copied().unwrap_or("")
}

// http.go extractResponseSizeFromEvents: `messaging.message_payload_size_bytes` where
// `message.type` is RECEIVED, on the span, else on its first event that has it; else 0.
fn response_size(span: &Span) -> i64 {
    let size = |attrs: &[KeyValue]| {
        if go_str(value_of(attrs, "message.type")) == "RECEIVED" {
            value_of(attrs, "messaging.message_payload_size_bytes").map(go_int).unwrap_or(0)
        } else {
            0
        }
    };
    std::iter::once(size(&span.attributes))
        .chain(span.events.iter().map(|e| size(&e.attributes)))
        .find(|n| *n != 0)
        .unwrap_or(0)
}

fn join_url(scheme: &str, host: &str, port: &str, parts: &HashMap<&str, String>) -> String {
    let mut url = format!("{scheme}://{host}");
    let default_port = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
    if !port.is_empty() && !default_port {
        url.push(':');
        url.push_str(port);
    }
    match parts.get("http.target") {
        Some(t) => url.push_str(t),
        None => {
            url.push_str(parts.get("url.path").map(String::as_str).unwrap_or("/"));
            if let Some(q) = parts.get("url.query") {
                if !q.starts_with('?') {
                    url.push('?');
                }
                url.push_str(q);
            }
        }
    }
    url
}

// http.go constructClientURL
fn client_url(parts: &HashMap<&str, String>) -> String {
    if let Some(u) = parts.get("http.url") {
        return u.clone();
    }
    let scheme = parts.get("http.scheme").map(String::as_str).unwrap_or("http");
    let get = |k: &str| parts.get(k).map(String::as_str);
    let (host, port) = match get("http.host") {
        Some(h) => (h, ""),
        // The new conventions' `server.address` comes last; the port stays the old `net.peer.port`
        // (Go reads `network.peer.port` there only with the alpha gate
        // exporter.awsxray.EmitV1HTTPNetworkConventions on, and never `server.port`).
        None => (
            get("net.peer.name").or(get("net.peer.ip")).or(get("server.address")).unwrap_or(""),
            get("net.peer.port").unwrap_or(""),
        ),
    };
    join_url(scheme, host, port, parts)
}

// http.go constructServerURL
fn server_url(parts: &HashMap<&str, String>) -> String {
    if let Some(u) = parts.get("http.url") {
        return u.clone();
    }
    let scheme = parts.get("http.scheme").map(String::as_str).unwrap_or("http");
    let get = |k: &str| parts.get(k).map(String::as_str);
    let (host, port) = match get("http.host") {
        Some(h) => (h, ""),
        None => (
            get("http.server_name")
                .or(get("net.host.name"))
                .or(get("host.name"))
                .or(get("server.address"))
                .unwrap_or(""),
            get("net.host.port").or(get("server.port")).unwrap_or(""),
        ),
    };
    join_url(scheme, host, port, parts)
}
