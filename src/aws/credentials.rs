//! AWS credentials from aws-config's default chain (environment, profile, web identity, ECS
//! container credentials, IMDS), optionally through an STS assumed role; cached and refreshed
//! five minutes before they expire. Never logged: `Credentials`' Debug redacts the secrets.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_types::region::Region;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Refresh this long before expiry.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Role to assume on top of the default chain (`assume_role` of sigv4auth).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssumeRole {
    pub arn: String,
    pub session_name: String,
    pub sts_region: String,
}

/// A cached credentials provider, built on first use (building the chain is async).
pub struct CredentialsCache {
    provider: tokio::sync::OnceCell<SharedCredentialsProvider>,
    source: Source,
    cached: Mutex<Option<Credentials>>,
}

enum Source {
    Chain { region: String, assume_role: Option<AssumeRole> },
    Fixed,
}

impl CredentialsCache {
    /// The default chain for `region` (through `assume_role` when given), built on first use.
    pub fn lazy(region: String, assume_role: Option<AssumeRole>) -> CredentialsCache {
        CredentialsCache {
            provider: tokio::sync::OnceCell::new(),
            source: Source::Chain { region, assume_role },
            cached: Mutex::new(None),
        }
    }

    async fn build_chain(region: &str, assume_role: Option<&AssumeRole>) -> SharedCredentialsProvider {
        let base = DefaultCredentialsChain::builder().region(Region::new(region.to_string())).build().await;
        let provider = match assume_role.filter(|a| !a.arn.is_empty()) {
            Some(a) => {
                let sts_region = if a.sts_region.is_empty() { region.to_string() } else { a.sts_region.clone() };
                let session = if a.session_name.is_empty() { "oxidot".to_string() } else { a.session_name.clone() };
                let p = AssumeRoleProvider::builder(a.arn.clone())
                    .session_name(session)
                    .region(Region::new(sts_region))
                    .build_from_provider(base)
                    .await;
                SharedCredentialsProvider::new(p)
            }
            None => SharedCredentialsProvider::new(base),
        };
        provider
    }

    /// Fixed credentials (tests).
    pub fn fixed(c: Credentials) -> CredentialsCache {
        CredentialsCache {
            provider: tokio::sync::OnceCell::new_with(Some(SharedCredentialsProvider::new(c))),
            source: Source::Fixed,
            cached: Mutex::new(None),
        }
    }

    async fn provider(&self) -> &SharedCredentialsProvider {
        self.provider
            .get_or_init(|| async {
                match &self.source {
                    Source::Chain { region, assume_role } => Self::build_chain(region, assume_role.as_ref()).await,
                    // `fixed` fills the cell at construction.
                    Source::Fixed => SharedCredentialsProvider::new(Credentials::new("", "", None, None, "empty")),
                }
            })
            .await
    }

    /// Current credentials, fetched again when missing or about to expire.
    pub async fn get(&self) -> Result<Credentials, String> {
        let mut guard = self.cached.lock().await;
        if let Some(c) = guard.as_ref() {
            let fresh = c.expiry().is_none_or(|exp| exp > SystemTime::now() + REFRESH_BEFORE);
            if fresh {
                return Ok(c.clone());
            }
        }
        // The error text from the chain names the providers tried, never secret values.
        let c = self
            .provider()
            .await
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials: {}", crate::http_client::error_chain(&e)))?;
        *guard = Some(c.clone());
        Ok(c)
    }
}
