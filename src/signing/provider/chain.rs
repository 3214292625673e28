//! The default credential chain, in the official SDKs' order.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{
    CredentialsFuture, CredentialsProvider, EnvProvider, MetadataProvider, ProfileProvider,
};
use crate::signing::error::CredentialsError;

/// Tries providers in order and signs with the first that gives credentials;
/// when none does, the error lists every source tried and why each failed.
///
/// Once a provider has given credentials it is asked first on later attempts.
///
/// # Default
///
/// [`new`](Self::new) (and `Default`) is the Go SDK's chain, which the Java
/// and Python SDKs extend: [`EnvProvider`], then [`ProfileProvider`], then
/// [`MetadataProvider`]. (Their pod-identity source, last in Java and
/// Python, is not offered.)
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::signing::{EnvProvider, ProfileProvider, ProviderChain, Signer};
///
/// let signer = Signer::from_provider(ProviderChain::new());
///
/// // A chain of your own: a lookup of your own, then a file.
/// let chain = ProviderChain::empty()
///     .with(EnvProvider::from_lookup(|_| None))
///     .with(ProfileProvider::from_path("/etc/myapp/huaweicloud-credentials"));
/// # let _ = (signer, chain);
/// ```
#[derive(Clone)]
pub struct ProviderChain {
    providers: Arc<[Arc<dyn CredentialsProvider>]>,
    last_good: Arc<AtomicUsize>,
}

impl ProviderChain {
    /// The SDKs' chain: environment, profile file, ECS metadata.
    pub fn new() -> ProviderChain {
        ProviderChain::empty()
            .with(EnvProvider::new())
            .with(ProfileProvider::new())
            .with(MetadataProvider::new())
    }

    /// A chain with no provider yet, for [`with`](Self::with).
    pub fn empty() -> ProviderChain {
        ProviderChain {
            providers: Arc::new([]),
            last_good: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Adds `provider`, tried after those already in the chain.
    pub fn with(self, provider: impl CredentialsProvider) -> ProviderChain {
        let mut providers: Vec<_> = self.providers.iter().cloned().collect();
        providers.push(Arc::new(provider));
        ProviderChain {
            providers: providers.into(),
            last_good: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Default for ProviderChain {
    fn default() -> ProviderChain {
        ProviderChain::new()
    }
}

impl fmt::Debug for ProviderChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderChain")
            .field("providers", &self.providers)
            .finish()
    }
}

impl CredentialsProvider for ProviderChain {
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move {
            let first = self.last_good.load(Ordering::Relaxed);
            if let Some(provider) = self.providers.get(first) {
                if first > 0 {
                    if let Ok(credentials) = provider.credentials().await {
                        return Ok(credentials);
                    }
                }
            }
            let mut errors = Vec::with_capacity(self.providers.len());
            for (i, provider) in self.providers.iter().enumerate() {
                match provider.credentials().await {
                    Ok(credentials) => {
                        self.last_good.store(i, Ordering::Relaxed);
                        return Ok(credentials);
                    }
                    Err(err) => errors.push(err),
                }
            }
            Err(CredentialsError::all(errors))
        })
    }
}
