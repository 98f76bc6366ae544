//! Configuration fetched over the network (`--config` URIs `config::source` hands over), as
//! ADOT's confmap providers do: `http://` and
//! `https://` (a GET; only 200 is a configuration: confmap/provider/internal/configurablehttpprovider)
//! and `s3://BUCKET.s3.REGION.amazonaws.com/KEY` (S3 GetObject signed with SigV4 and the default
//! credential chain: contrib confmap/provider/s3provider).
//!
//! Configuration is read before the runtime starts and again on SIGHUP from inside it, so each
//! fetch runs on its own thread with its own small runtime and is bounded by [`FETCH_TIMEOUT`].

use http_body_util::{BodyExt, Full};
use std::time::Duration;

/// How long one fetch may take (Go's providers have no timeout; a config that never arrives
/// should fail the start, not hang it).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// s3provider.go s3Pattern: bucket (3–63 of `[a-z0-9.-]`), region, and a non-empty key.
fn split_s3(uri: &str) -> Result<(String, String, String), String> {
    let pattern = r"^s3://([a-z0-9\.\-]{3,63})\.s3\.([a-z0-9\-]+)\.amazonaws\.com/.";
    let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
    let caps = re
        .captures(uri)
        .ok_or_else(|| format!("{uri:?} uri is not valid s3-url: s3 uri does not match the pattern: {pattern:?}"))?;
    let (bucket, region) = (caps[1].to_string(), caps[2].to_string());
    let after_host = &uri[caps.get(2).map(|m| m.end()).unwrap_or(0) + ".amazonaws.com".len()..];
    let path = after_host.split(['?', '#']).next().unwrap_or("");
    let key = percent_decode(path.trim_start_matches('/'));
    if key.is_empty() {
        return Err(format!("{uri:?} uri is not valid s3-url: invalid s3-uri with empty fields"));
    }
    Ok((bucket, region, key))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// S3 key path encoding: every byte but unreserved ones and `/` percent-encoded.
fn key_path(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Fetches the configuration text at `uri` (`http://`, `https://` or `s3://`): (how errors name
/// it, the text).
pub fn fetch(uri: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(String, String), String> {
    let shown = crate::secret::redact_url(uri).into_owned();
    let target = if uri.starts_with("s3:") {
        let (bucket, region, key) = split_s3(uri)?;
        // AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (the SDKs' overrides) take path-style requests;
        // AWS itself gets the virtual-hosted form the URI names.
        let url = match env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL")).filter(|v| !v.trim().is_empty())
        {
            Some(base) => format!("{}/{bucket}/{}", base.trim().trim_end_matches('/'), key_path(&key)),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/{}", key_path(&key)),
        };
        Target::S3 { url, region }
    } else {
        Target::Http(uri.to_string())
    };
    let shown2 = shown.clone();
    let run = move || -> Result<String, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        rt.block_on(async {
            tokio::time::timeout(FETCH_TIMEOUT, get(target, &shown2))
                .await
                .map_err(|_| format!("{shown2}: no answer within {FETCH_TIMEOUT:?}"))?
        })
    };
    let text = std::thread::scope(|s| s.spawn(run).join().map_err(|_| format!("{shown}: the fetch panicked"))?)?;
    Ok((shown, text))
}

enum Target {
    Http(String),
    S3 { url: String, region: String },
}

async fn get(target: Target, shown: &str) -> Result<String, String> {
    let client = crate::http_client::build(&Default::default())?;
    let (url, s3_region) = match target {
        Target::Http(u) => (u, None),
        Target::S3 { url, region } => (url, Some(region)),
    };
    let mut req = http::Request::get(&url)
        .body(Full::new(bytes::Bytes::new()))
        .map_err(|e| format!("{shown}: invalid URI: {e}"))?;
    if let Some(region) = &s3_region {
        let creds = crate::aws::CredentialsCache::lazy(region.clone(), None);
        let creds = creds.get().await.map_err(|e| format!("file in S3 failed to fetch uri {shown:?}: {e}"))?;
        crate::aws::sign::sign_request_with(
            &mut req,
            b"",
            &creds,
            region,
            "s3",
            std::time::SystemTime::now(),
            crate::aws::sign::s3_settings(),
        )
        .map_err(|e| format!("file in S3 failed to fetch uri {shown:?}: {e}"))?;
    }
    let resp = client.request(req).await.map_err(|e| {
        let what = if s3_region.is_some() { "file in S3 failed to fetch uri" } else { "unable to read the file" };
        format!("{what} {shown:?}: {}", crate::http_client::error_chain(&e))
    })?;
    let status = resp.status();
    let limit = crate::config::limits::CONFIG_BYTES as usize;
    let body = http_body_util::Limited::new(resp.into_body(), limit)
        .collect()
        .await
        .map_err(|e| format!("{shown}: reading the body: {e} (at most {limit} bytes)"))?
        .to_bytes();
    if status != http::StatusCode::OK {
        if s3_region.is_some() {
            let text = String::from_utf8_lossy(&body);
            let code = text.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("");
            return Err(format!("file in S3 failed to fetch uri {shown:?}: status {} {code}", status.as_u16()));
        }
        return Err(format!("failed to load resource from uri {shown:?}. status code: {}", status.as_u16()));
    }
    String::from_utf8(body.to_vec()).map_err(|_| format!("{shown}: the configuration is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// s3provider_test.go's URIs.
    #[test]
    fn s3_uris_as_gos_pattern() {
        let ok = split_s3("s3://doc-example-bucket.s3.us-west-2.amazonaws.com/photos/puppy.yaml").unwrap();
        assert_eq!(ok, ("doc-example-bucket".into(), "us-west-2".into(), "photos/puppy.yaml".into()));
        let enc = split_s3("s3://bucket.s3.eu-west-1.amazonaws.com/a%20b/c.yaml").unwrap();
        assert_eq!(enc.2, "a b/c.yaml");
        for bad in [
            "s3://DOC-EXAMPLE-BUCKET.s3.us-west-2.amazonaws.com/x",
            "s3://ab.s3.us-west-2.amazonaws.com/x",
            "s3://bucket.s3.us-west-2.amazonaws.com/",
            "s3://bucket.us-west-2.amazonaws.com/x",
        ] {
            let e = split_s3(bad).unwrap_err();
            assert!(e.contains("is not valid s3-url"), "{bad}: {e}");
        }
        assert_eq!(key_path("a b/c+d.yaml"), "a%20b/c%2Bd.yaml");
    }

    #[test]
    fn an_http_error_status_is_not_a_configuration() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        let e = fetch(&format!("http://127.0.0.1:{port}/c.yaml"), &|_| None).unwrap_err();
        assert!(e.contains("status code: 404"), "{e}");
    }
}
