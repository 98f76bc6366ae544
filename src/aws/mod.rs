//! AWS: credentials (the aws-config default chain, cached) and SigV4 signing, shared by the
//! `sigv4auth` extension and the X-Ray exporter.

pub mod credentials;
pub mod ecs_metadata;
pub mod sign;

pub use credentials::CredentialsCache;
pub use sign::Signer;

/// The region from the environment, as the AWS SDKs read it.
pub fn env_region() -> Option<String> {
    std::env::var("AWS_REGION").ok().or_else(|| std::env::var("AWS_DEFAULT_REGION").ok()).filter(|r| !r.is_empty())
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
