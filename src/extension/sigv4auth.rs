//! The `sigv4auth` extension: signs exporter requests with AWS SigV4 (Go: sigv4authextension).
//! Exporters name it in `auth: {authenticator: sigv4auth}`.

pub mod factory;

use crate::aws::credentials::AssumeRole;
use crate::aws::{CredentialsCache, Signer};
use crate::config::ConfigError;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SigV4AuthConfig {
    pub region: String,
    pub service: String,
    pub assume_role: AssumeRoleConfig,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AssumeRoleConfig {
    pub arn: String,
    pub session_name: String,
    pub sts_region: String,
}

impl SigV4AuthConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        if !self.assume_role.arn.is_empty() && !self.assume_role.arn.starts_with("arn:") {
            errs.push(ConfigError::new(
                format!("{base}::assume_role::arn"),
                "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
            ));
        }
        errs
    }

    /// A signer for requests to `endpoint`: service and region come from the config, else from
    /// the endpoint's host (`aps-workspaces.<region>.amazonaws.com` → aps), else the region
    /// from `AWS_REGION`/`AWS_DEFAULT_REGION`.
    pub fn signer(&self, endpoint: &str) -> Result<Signer, String> {
        let host = endpoint.parse::<http::Uri>().ok().and_then(|u| u.host().map(str::to_string)).unwrap_or_default();
        let (svc, reg) = crate::aws::infer_service_and_region(&host);
        // Go's signing round tripper warns and signs with whatever it has (an empty scope part)
        // rather than refusing to start: ADOT's AMP configs set only `region`, and a
        // remote write endpoint that is not AMP's (a local Prometheus) must still run.
        let region = Some(self.region.clone()).filter(|r| !r.is_empty()).or(reg).or_else(crate::aws::env_region);
        let service = Some(self.service.clone()).filter(|s| !s.is_empty()).or(svc);
        if region.is_none() || service.is_none() {
            tracing::warn!(endpoint = %host, region = region.as_deref().unwrap_or(""), service = service.as_deref().unwrap_or(""),
                "sigv4auth: unable to infer region and/or service from the URL; set `region` and `service` in the configuration");
        }
        let (region, service) = (region.unwrap_or_default(), service.unwrap_or_default());
        let role = AssumeRole {
            arn: self.assume_role.arn.clone(),
            session_name: self.assume_role.session_name.clone(),
            sts_region: self.assume_role.sts_region.clone(),
        };
        let creds = Arc::new(CredentialsCache::lazy(region.clone(), (!role.arn.is_empty()).then_some(role)));
        Ok(Signer::new(region, service, creds))
    }
}
