//! Where credentials come from: the trait, the sources the official SDKs
//! read, and the chain that tries them in the SDKs' order.

mod chain;
mod env;
mod metadata;
mod profile;

use std::future::Future;
use std::pin::Pin;

pub use chain::ProviderChain;
pub use env::EnvProvider;
pub use metadata::{DEFAULT_METADATA_ENDPOINT, MetadataProvider};
pub use profile::ProfileProvider;

use super::credentials::Credentials;
use super::error::CredentialsError;

/// The future of [`CredentialsProvider::credentials`].
pub type CredentialsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Credentials, CredentialsError>> + Send + 'a>>;

/// A source of credentials, asked before every signed attempt; a provider
/// caches what is costly to get (a file read, a metadata fetch).
///
/// [`Signer::from_provider`](super::Signer::from_provider) takes any: the
/// module's [`EnvProvider`], [`ProfileProvider`], [`MetadataProvider`],
/// [`ProviderChain`], fixed [`Credentials`], or one of your own.
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::signing::{
///     Credentials, CredentialsError, CredentialsFuture, CredentialsProvider,
/// };
///
/// /// Credentials from a vault of your own.
/// #[derive(Debug)]
/// struct Vault;
///
/// impl CredentialsProvider for Vault {
///     fn credentials(&self) -> CredentialsFuture<'_> {
///         Box::pin(async { Ok(Credentials::new("AK", "SK")) })
///     }
/// }
/// ```
pub trait CredentialsProvider: std::fmt::Debug + Send + Sync + 'static {
    /// The credentials to sign the next attempt with, or why there are none.
    fn credentials(&self) -> CredentialsFuture<'_>;
}

/// What [`EnvProvider`] and [`ProfileProvider`] answer: the credentials
/// `cache` holds, or else those `load` gives, kept in `cache` once it gives some.
pub(crate) fn load_once(
    cache: &std::sync::OnceLock<Credentials>,
    load: impl FnOnce() -> Result<Credentials, CredentialsError>,
) -> CredentialsFuture<'static> {
    let result = match cache.get() {
        Some(credentials) => Ok(credentials.clone()),
        None => load().map(|credentials| cache.get_or_init(|| credentials).clone()),
    };
    Box::pin(std::future::ready(result))
}

/// Fixed credentials are their own provider.
impl CredentialsProvider for Credentials {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(std::future::ready(Ok(self.clone())))
    }
}
