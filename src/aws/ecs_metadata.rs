//! The ECS task metadata endpoint for components that read it at run time (the
//! awsecscontainermetrics receiver): its v4 variable and a bounded GET (Go:
//! internal/aws/ecsutil endpoints.GetTMEV4FromEnv and clientImpl.Get). The resource detector
//! has its own copy of these rules (v4 then v3, detector-specific errors).

use crate::translate::gojson::quote;
use tokio::time::Instant;

/// ecsutil/endpoints TaskMetadataEndpointV4EnvVar.
pub const V4_ENV: &str = "ECS_CONTAINER_METADATA_URI_V4";

/// GetTMEV4FromEnv's validation: trimmed, non-empty, an absolute URI or an absolute path
/// (url.ParseRequestURI).
pub fn v4_endpoint(value: Option<String>) -> Option<String> {
    let v = value?.trim().to_string();
    let scheme_ok = v.split_once(':').is_some_and(|(s, _)| {
        let mut c = s.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic())
            && c.all(|ch| ch.is_ascii_alphanumeric() || "+-.".contains(ch))
    });
    (!v.is_empty() && (v.starts_with('/') || scheme_ok)).then_some(v)
}

/// The largest metadata document read (the agent's are a few KiB).
const MAX_BODY: usize = 4 << 20;

/// clientImpl.Get: GET `url`; a status other than 200 is an error; all by `deadline`.
pub async fn get(
    client: &crate::http_client::HttpClient,
    url: &str,
    deadline: Instant,
) -> Result<bytes::Bytes, String> {
    use http_body_util::BodyExt;
    let uri: http::Uri = url.parse().map_err(|e| format!("parse {}: {e}", quote(url)))?;
    let req = http::Request::get(uri)
        .header("Content-Type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .map_err(|e| e.to_string())?;
    let exceeded = || format!("Get {}: context deadline exceeded", quote(url));
    let resp = tokio::time::timeout_at(deadline, client.request(req))
        .await
        .map_err(|_| exceeded())?
        .map_err(|e| format!("Get {}: {}", quote(url), crate::http_client::error_chain(&e)))?;
    let status = resp.status();
    let body = tokio::time::timeout_at(deadline, http_body_util::Limited::new(resp.into_body(), MAX_BODY).collect())
        .await
        .map_err(|_| exceeded())?
        .map_err(|e| format!("failed to read response body {e}"))?
        .to_bytes();
    if status != http::StatusCode::OK {
        let text = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
        return Err(format!("request GET {url} failed - {}", quote(text.trim_end())));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_endpoint_is_validated_as_go() {
        assert_eq!(
            v4_endpoint(Some(" http://169.254.170.2/v4/x ".into())).as_deref(),
            Some("http://169.254.170.2/v4/x")
        );
        assert_eq!(v4_endpoint(Some("endpoint".into())), None);
        assert_eq!(v4_endpoint(Some("  ".into())), None);
        assert_eq!(v4_endpoint(None), None);
    }
}
