//! The one HTTP client builder (HTTP/1.1 and HTTP/2 over TLS or plaintext) all exporters use,
//! and the shared TLS client settings (`tls:` in exporter configs).

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// `tls:` of a client; defined with the server side in `crate::tls`.
pub use crate::tls::TlsClientConfig;

pub type HttpClient =
    Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

/// An HTTP client with the exporter's `tls:` (CA or system roots, client certificate,
/// versions, `insecure_skip_verify`) for `https://` endpoints.
pub fn build(tls: &TlsClientConfig) -> Result<HttpClient, String> {
    // ALPN stays empty here: the connector builder sets it from the enabled HTTP versions.
    let cfg = tls.rustls_config(&[])?;
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(cfg).https_or_http();
    // Go: tls.Config.ServerName, the name sent (SNI) and checked instead of the URL's host.
    let builder = match tls.server_name_override.as_deref().filter(|s| !s.is_empty()) {
        Some(name) => {
            builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(tls.server_name(name)?))
        }
        None => builder,
    };
    let https = builder.enable_http1().enable_http2().wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(std::time::Duration::from_secs(90)).build(https))
}

/// Parses `Retry-After` (seconds or an HTTP date) into a delay.
pub fn retry_after(h: &http::HeaderMap) -> Option<std::time::Duration> {
    let v = h.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    when.duration_since(std::time::SystemTime::now()).ok()
}

/// Request headers from an exporter's `headers:`; errors name the header, never its value
/// (values are often credentials).
pub fn header_map(
    headers: &std::collections::BTreeMap<String, crate::secret::Opaque>,
) -> Result<http::HeaderMap, String> {
    let mut out = http::HeaderMap::new();
    for (k, v) in headers {
        let name =
            http::HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("headers: invalid header name {k:?}"))?;
        let mut val =
            http::HeaderValue::from_str(v.as_str()).map_err(|_| format!("headers: invalid value for header {k:?}"))?;
        val.set_sensitive(true);
        out.insert(name, val);
    }
    Ok(out)
}

/// An error and its sources, joined by `: ` (hyper and aws-config errors hide the cause).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
