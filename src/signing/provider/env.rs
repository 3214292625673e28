//! The official SDKs' environment variables.

use std::fmt;
use std::sync::{Arc, OnceLock};

use super::{CredentialsFuture, CredentialsProvider, load_once};
use crate::signing::credentials::Credentials;
use crate::signing::error::CredentialsError;

/// The access key.
pub(crate) const AK: &str = "HUAWEICLOUD_SDK_AK";
/// The secret key.
pub(crate) const SK: &str = "HUAWEICLOUD_SDK_SK";
/// The security token of temporary credentials.
pub(crate) const SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";
/// The project id (regional services).
pub(crate) const PROJECT_ID: &str = "HUAWEICLOUD_SDK_PROJECT_ID";
/// The domain id (global services).
pub(crate) const DOMAIN_ID: &str = "HUAWEICLOUD_SDK_DOMAIN_ID";

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Credentials from `HUAWEICLOUD_SDK_AK` and `HUAWEICLOUD_SDK_SK`, with
/// `HUAWEICLOUD_SDK_SECURITY_TOKEN`, `HUAWEICLOUD_SDK_PROJECT_ID` and
/// `HUAWEICLOUD_SDK_DOMAIN_ID` when set (an empty variable counts as unset).
///
/// As a provider it reads the variables until they give credentials, then
/// keeps those, as the SDKs read them once.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use huaweicloud_errors::signing::EnvProvider;
///
/// let vars = HashMap::from([("HUAWEICLOUD_SDK_AK", "AK"), ("HUAWEICLOUD_SDK_SK", "SK")]);
/// let env = EnvProvider::from_lookup(move |name| vars.get(name).map(|v| v.to_string()));
/// assert_eq!(env.load().unwrap().access_key(), "AK");
///
/// let empty = EnvProvider::from_lookup(|_| None);
/// assert!(empty.load().unwrap_err().to_string().contains("HUAWEICLOUD_SDK_AK is not set"));
/// ```
#[derive(Clone)]
pub struct EnvProvider {
    lookup: Arc<Lookup>,
    cached: Arc<OnceLock<Credentials>>,
}

impl EnvProvider {
    /// Reads the process environment.
    pub fn new() -> EnvProvider {
        EnvProvider::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` instead (a map in tests, a config
    /// layer of your own).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> EnvProvider {
        EnvProvider {
            lookup: Arc::new(lookup),
            cached: Arc::new(OnceLock::new()),
        }
    }

    /// Reads the variables now.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        let var = |name: &str| (self.lookup)(name).filter(|v| !v.is_empty());
        let missing =
            |name: &str| CredentialsError::new("environment", format!("{name} is not set"));
        let access_key = var(AK).ok_or_else(|| missing(AK))?;
        let secret_key = var(SK).ok_or_else(|| missing(SK))?;
        let mut credentials = Credentials::new(access_key, secret_key);
        if let Some(token) = var(SECURITY_TOKEN) {
            credentials = credentials.with_security_token(token);
        }
        if let Some(project_id) = var(PROJECT_ID) {
            credentials = credentials.with_project_id(project_id);
        }
        if let Some(domain_id) = var(DOMAIN_ID) {
            credentials = credentials.with_domain_id(domain_id);
        }
        Ok(credentials)
    }

    /// The variable `name` as `lookup` gives it (the profile provider reads
    /// `HUAWEICLOUD_SDK_CREDENTIALS_FILE` and `HOME` through it).
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }
}

impl Default for EnvProvider {
    fn default() -> EnvProvider {
        EnvProvider::new()
    }
}

impl fmt::Debug for EnvProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvProvider")
            .field("cached", &self.cached.get())
            .finish_non_exhaustive()
    }
}

impl CredentialsProvider for EnvProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        load_once(&self.cached, || self.load())
    }
}
