//! AWS: credentials (the aws-config default chain, cached) and SigV4 signing, shared by the
//! `sigv4auth` extension, the X-Ray exporter and receiver; the X-Ray attribute names both share.

pub mod credentials;
pub mod ecs_metadata;
pub mod sign;
pub mod xray;

pub use credentials::CredentialsCache;
pub use sign::Signer;

/// The region from the environment, as the AWS SDKs read it.
pub fn env_region() -> Option<String> {
    std::env::var("AWS_REGION").ok().or_else(|| std::env::var("AWS_DEFAULT_REGION").ok()).filter(|r| !r.is_empty())
}

/// The SDKs' endpoint override for a service: `AWS_ENDPOINT_URL_<SERVICE>` (e.g.
/// `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`), then `AWS_ENDPOINT_URL`; without a trailing `/`.
pub fn env_endpoint(service_env: &str) -> Option<String> {
    [format!("AWS_ENDPOINT_URL_{service_env}"), "AWS_ENDPOINT_URL".to_string()]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .find(|v| !v.is_empty())
}

/// Service and region from an AWS endpoint host: `aps-workspaces.us-east-1.amazonaws.com` →
/// (`aps`, `us-east-1`); `xray.eu-west-1.amazonaws.com` → (`xray`, `eu-west-1`).
pub fn infer_service_and_region(host: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() < 4 || !host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn") {
        return (None, None);
    }
    let service = match parts[0] {
        "aps-workspaces" | "aps" => "aps",
        s if s.starts_with("search-") => "es",
        s => s,
    };
    (Some(service.to_string()), Some(parts[1].to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn infers_from_endpoints() {
        let f = super::infer_service_and_region;
        assert_eq!(f("aps-workspaces.us-east-1.amazonaws.com"), (Some("aps".into()), Some("us-east-1".into())));
        assert_eq!(f("xray.eu-west-1.amazonaws.com"), (Some("xray".into()), Some("eu-west-1".into())));
        assert_eq!(f("prometheus:9090"), (None, None));
    }
}
