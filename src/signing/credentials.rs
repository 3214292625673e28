//! The credentials a request is signed with.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use super::algorithm::{Hash, KeyedMac};
use super::error::CredentialsError;
use super::provider::EnvProvider;

/// An access key (AK), its secret key (SK), and for temporary credentials a
/// security token; optionally the project or domain id the SDKs send with them.
///
/// Cheap to clone (the strings are shared). `Debug` shows the access key and
/// whether a security token is present, never the secret key or the token.
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::signing::Credentials;
///
/// let permanent = Credentials::new("QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7**********");
/// let temporary = Credentials::new("AK-TEMP", "SK-TEMP").with_security_token("gQpjbi1ub3J0aC0...");
/// assert!(temporary.security_token().is_some());
/// assert!(!format!("{permanent:?}").contains("MFyfvK41"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    access_key: String,
    secret_key: String,
    security_token: Option<String>,
    project_id: Option<String>,
    domain_id: Option<String>,
    expires_at: Option<SystemTime>,
    /// The HMACs keyed with `secret_key`, made when first signed with:
    /// keying hashes two blocks, a third of a signature's hashing.
    sha256_mac: OnceLock<KeyedMac>,
    sm3_mac: OnceLock<KeyedMac>,
}

impl Credentials {
    /// Permanent credentials: an access key and its secret key.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Credentials {
        Credentials {
            inner: Arc::new(Inner {
                access_key: access_key.into(),
                secret_key: secret_key.into(),
                security_token: None,
                project_id: None,
                domain_id: None,
                expires_at: None,
                sha256_mac: OnceLock::new(),
                sm3_mac: OnceLock::new(),
            }),
        }
    }

    /// Temporary credentials: adds the security token that is sent, signed,
    /// as `X-Security-Token`.
    pub fn with_security_token(self, security_token: impl Into<String>) -> Credentials {
        self.map(|inner| inner.security_token = Some(security_token.into()))
    }

    /// Adds the project id that [`Signer`](super::Signer) sends as
    /// `X-Project-Id` (regional services) unless the signer names its own.
    pub fn with_project_id(self, project_id: impl Into<String>) -> Credentials {
        self.map(|inner| inner.project_id = Some(project_id.into()))
    }

    /// Adds the domain (account) id that [`Signer`](super::Signer) sends as
    /// `X-Domain-Id` (global services such as IAM) unless the signer names its own.
    pub fn with_domain_id(self, domain_id: impl Into<String>) -> Credentials {
        self.map(|inner| inner.domain_id = Some(domain_id.into()))
    }

    /// Marks the credentials as temporary, valid until `expires_at`; providers
    /// that cache them fetch new ones before then.
    pub fn with_expiry(self, expires_at: SystemTime) -> Credentials {
        self.map(|inner| inner.expires_at = Some(expires_at))
    }

    /// The official SDKs' environment variables: `HUAWEICLOUD_SDK_AK`,
    /// `HUAWEICLOUD_SDK_SK`, and if set `HUAWEICLOUD_SDK_SECURITY_TOKEN`,
    /// `HUAWEICLOUD_SDK_PROJECT_ID` and `HUAWEICLOUD_SDK_DOMAIN_ID`.
    ///
    /// The error says which variable is missing. [`EnvProvider`] does the
    /// same as a provider, and can read from a lookup of your own.
    pub fn from_env() -> Result<Credentials, CredentialsError> {
        EnvProvider::new().load()
    }

    /// The access key (AK).
    pub fn access_key(&self) -> &str {
        &self.inner.access_key
    }

    /// The secret key (SK). Keep it out of logs.
    pub fn secret_key(&self) -> &str {
        &self.inner.secret_key
    }

    /// The security token of temporary credentials. Keep it out of logs.
    pub fn security_token(&self) -> Option<&str> {
        self.inner.security_token.as_deref()
    }

    /// The project id, if the credentials carry one.
    pub fn project_id(&self) -> Option<&str> {
        self.inner.project_id.as_deref()
    }

    /// The domain id, if the credentials carry one.
    pub fn domain_id(&self) -> Option<&str> {
        self.inner.domain_id.as_deref()
    }

    /// When temporary credentials expire; `None` for permanent ones.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at
    }

    /// An HMAC of `hash` keyed with the secret key, ready to feed (the
    /// keying is done once per `Credentials` and hash, then copied).
    pub(crate) fn keyed_mac(&self, hash: Hash) -> KeyedMac {
        let cell = match hash {
            Hash::Sha256 => &self.inner.sha256_mac,
            Hash::Sm3 => &self.inner.sm3_mac,
        };
        cell.get_or_init(|| KeyedMac::new(hash, self.inner.secret_key.as_bytes()))
            .clone()
    }

    /// A copy with `change` made. (No change touches the secret key, so the
    /// keyed HMACs carried over stay right.)
    fn map(mut self, change: impl FnOnce(&mut Inner)) -> Credentials {
        change(Arc::make_mut(&mut self.inner));
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Credentials")
            .field("access_key", &inner.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "security_token",
                &inner.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("project_id", &inner.project_id)
            .field("domain_id", &inner.domain_id)
            .field("expires_at", &inner.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_the_secret_key_nor_the_token() {
        let credentials =
            Credentials::new("AK-SHOWN", "SK-HIDDEN-1").with_security_token("TOKEN-HIDDEN-2");
        for text in [format!("{credentials:?}"), format!("{credentials:#?}")] {
            assert!(text.contains("AK-SHOWN"), "{text}");
            assert!(!text.contains("SK-HIDDEN-1"), "{text}");
            assert!(!text.contains("TOKEN-HIDDEN-2"), "{text}");
        }
    }

    #[test]
    fn builders_change_only_the_copy_they_are_given() {
        let permanent = Credentials::new("AK", "SK");
        let temporary = permanent
            .clone()
            .with_security_token("T")
            .with_domain_id("d");
        assert_eq!(permanent.security_token(), None);
        assert_eq!(temporary.security_token(), Some("T"));
        assert_eq!(temporary.domain_id(), Some("d"));
        assert_eq!(temporary.secret_key(), "SK");
    }
}
