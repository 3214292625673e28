//! `Signer`: the reqwest-middleware layer that signs every attempt.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use http::Extensions;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use super::algorithm::Algorithm;
use super::credentials::Credentials;
use super::error::{SignError, SignErrorKind};
use super::provider::CredentialsProvider;
use super::sign::sign_with;

/// Signs each request at the current time, with credentials from a
/// provider asked on every attempt (providers cache).
///
/// Put it inside (after) [`ErrorMiddleware`](crate::ErrorMiddleware), so
/// that every retry is signed afresh with its own `X-Sdk-Date`. It adds
/// `X-Domain-Id` (global services such as IAM) and `X-Project-Id` (regional
/// services) when set here or carried by the credentials, both signed.
///
/// When the provider has no credentials, or the request cannot be signed,
/// the call fails before anything is sent, with
/// `reqwest_middleware::Error::Middleware` holding a
/// [`CredentialsError`](super::CredentialsError) (which says which sources
/// were tried) or a [`SignError`](super::SignError). `Debug` shows no secret.
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::ErrorMiddleware;
/// use huaweicloud_errors::signing::{Credentials, Signer};
/// use reqwest_middleware::ClientBuilder;
///
/// let signer = Signer::new(Credentials::new("AK", "SK")).domain_id("d-0123");
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(ErrorMiddleware::default()) // decodes and retries
///     .with(signer)                     // signs each attempt
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone, Debug)]
pub struct Signer {
    provider: Arc<dyn CredentialsProvider>,
    domain_id: Option<Arc<str>>,
    project_id: Option<Arc<str>>,
    algorithm: Algorithm,
    clock: Clock,
}

/// The time each attempt is signed at.
#[derive(Clone)]
struct Clock(Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>);

impl Clock {
    fn now(&self) -> SystemTime {
        match &self.0 {
            Some(clock) => clock(),
            None => SystemTime::now(),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "custom"
        } else {
            "SystemTime::now"
        })
    }
}

impl Signer {
    /// Signs with fixed credentials.
    pub fn new(credentials: Credentials) -> Signer {
        Signer::from_provider(credentials)
    }

    /// Signs with whatever `provider` gives on each attempt: an
    /// [`EnvProvider`](super::EnvProvider), [`ProfileProvider`](super::ProfileProvider),
    /// [`MetadataProvider`](super::MetadataProvider), [`ProviderChain`](super::ProviderChain)
    /// or your own.
    pub fn from_provider(provider: impl CredentialsProvider) -> Signer {
        Signer {
            provider: Arc::new(provider),
            domain_id: None,
            project_id: None,
            algorithm: Algorithm::default(),
            clock: Clock(None),
        }
    }

    /// Sends and signs `X-Domain-Id: domain_id` (global services such as IAM).
    ///
    /// An id that cannot be a header value (a line break) fails each call
    /// with a [`SignError`](super::SignError) before sending.
    pub fn domain_id(mut self, domain_id: impl Into<String>) -> Signer {
        self.domain_id = Some(domain_id.into().into());
        self
    }

    /// Sends and signs `X-Project-Id: project_id` (regional services).
    ///
    /// An id that cannot be a header value fails each call with a
    /// [`SignError`](super::SignError) before sending.
    pub fn project_id(mut self, project_id: impl Into<String>) -> Signer {
        self.project_id = Some(project_id.into().into());
        self
    }

    /// Signs with `algorithm` instead of `SDK-HMAC-SHA256`.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Signer {
        self.algorithm = algorithm;
        self
    }

    /// Signs each attempt at the time `clock` gives instead of
    /// `SystemTime::now()`: for a host whose clock is known to be off (the
    /// gateway refuses a signature more than 15 minutes from its own time),
    /// or for tests.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Signer {
        self.clock = Clock(Some(Arc::new(clock)));
        self
    }

    async fn sign(&self, request: &mut Request) -> reqwest_middleware::Result<()> {
        let credentials = self
            .provider
            .credentials()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let ids = [
            (
                "x-domain-id",
                "domain id",
                self.domain_id.as_deref(),
                credentials.domain_id(),
            ),
            (
                "x-project-id",
                "project id",
                self.project_id.as_deref(),
                credentials.project_id(),
            ),
        ];
        for (name, what, ours, theirs) in ids {
            if let Some(id) = ours.or(theirs) {
                let value = HeaderValue::from_str(id).map_err(|_| {
                    reqwest_middleware::Error::middleware(SignError::new(
                        SignErrorKind::InvalidHeaderValue(what),
                    ))
                })?;
                request
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        sign_with(request, &credentials, self.clock.now(), &self.algorithm)
            .map_err(reqwest_middleware::Error::middleware)
    }
}

/// The future of one signed attempt.
type AttemptFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>>;

impl Middleware for Signer {
    fn handle<'s, 'e, 'n, 'fut>(
        &'s self,
        mut req: Request,
        extensions: &'e mut Extensions,
        next: Next<'n>,
    ) -> AttemptFuture<'fut>
    where
        's: 'fut,
        'e: 'fut,
        'n: 'fut,
        Self: 'fut,
    {
        Box::pin(async move {
            self.sign(&mut req).await?;
            next.run(req, extensions).await
        })
    }
}
