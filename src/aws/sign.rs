//! SigV4 signing of HTTP requests over the exact bytes sent (aws-sigv4).

use super::CredentialsCache;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign as sigv4_sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::sync::Arc;
use std::time::SystemTime;

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignError {
    /// The credential chain gave none (the text names the providers tried, never a secret).
    #[error("{0}")]
    Credentials(String),
    /// aws-sigv4 refused the parameters or the request.
    #[error("sigv4: {0}")]
    Signing(String),
}

/// Signs requests for one service and region with cached credentials.
pub struct Signer {
    pub region: String,
    pub service: String,
    credentials: Arc<CredentialsCache>,
}

impl Signer {
    pub fn new(region: String, service: String, credentials: Arc<CredentialsCache>) -> Signer {
        Signer { region, service, credentials }
    }

    /// Adds `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token`) to `req` for `body`.
    pub async fn sign<B>(&self, req: &mut http::Request<B>, body: &[u8]) -> Result<(), SignError> {
        let creds = self.credentials.get().await.map_err(SignError::Credentials)?;
        sign_request(req, body, &creds, &self.region, &self.service, SystemTime::now())
    }
}

/// Signs `req` at `time`: a pure function of its inputs (tested against AWS's vectors).
pub fn sign_request<B>(
    req: &mut http::Request<B>,
    body: &[u8],
    creds: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), SignError> {
    sign_request_with(req, body, creds, region, service, time, SigningSettings::default())
}

/// S3's signing rules: the payload hash sent as `x-amz-content-sha256` (S3 requires it), the
/// path encoded once and not normalized.
pub fn s3_settings() -> SigningSettings {
    use aws_sigv4::http_request::{PayloadChecksumKind, PercentEncodingMode, UriPathNormalizationMode};
    let mut s = SigningSettings::default();
    s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    s.percent_encoding_mode = PercentEncodingMode::Single;
    s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s
}

/// [`sign_request`] with explicit settings (S3 needs [`s3_settings`]).
pub fn sign_request_with<B>(
    req: &mut http::Request<B>,
    body: &[u8],
    creds: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<(), SignError> {
    let signing = |e: &dyn std::fmt::Display| SignError::Signing(e.to_string());
    let identity: Identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| signing(&e))?
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(&str, &str)> =
        req.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
    let signable = SignableRequest::new(req.method().as_str(), uri, headers.into_iter(), SignableBody::Bytes(body))
        .map_err(|e| signing(&e))?;
    let (instructions, _) = sigv4_sign(signable, &params).map_err(|e| signing(&e))?.into_parts();
    let (new_headers, _) = instructions.into_parts();
    for h in new_headers {
        let mut v = http::HeaderValue::from_str(h.value())
            .map_err(|_| SignError::Signing(format!("invalid {} value", h.name())))?;
        v.set_sensitive(h.sensitive());
        req.headers_mut().insert(h.name(), v);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
