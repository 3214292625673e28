//! Temporary credentials from the ECS metadata service, cached and refreshed
//! before they expire by one fetch however many calls wait for them.

use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use serde_json::Value;

use super::{CredentialsFuture, CredentialsProvider};
use crate::signing::credentials::Credentials;
use crate::signing::date::parse_rfc3339;
use crate::signing::error::CredentialsError;

/// The ECS metadata address.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://169.254.169.254";
/// How long before expiry the SDKs fetch new credentials.
const REFRESH_BEFORE: Duration = Duration::from_secs(40 * 60);
/// The SDKs' timeout for a metadata request.
const TIMEOUT: Duration = Duration::from_secs(3);
/// The most of a metadata answer read; a security key is well under 8 KiB.
const BODY_LIMIT: usize = 64 * 1024;
/// The 401 body that means no agency is attached, so a new session token
/// would not help.
const NO_AGENCY: &str = "Please configure Cloud Service Agency first";

/// Temporary credentials of the ECS instance's agency, from its metadata
/// service: `PUT /meta-data/latest/api/token` for a session token (skipped
/// on a 404, 405 or 503, as the SDKs do), then
/// `GET /openstack/latest/securitykey`.
///
/// The credentials are cached; once less than 40 minutes of them remain (as
/// in the SDKs) the next call fetches new ones, and calls that ask meanwhile
/// wait for that one fetch instead of making their own. Calls read a fresh
/// cached key without waiting on any lock but a short read lock. When a
/// refresh fails, credentials that have not yet expired are still used.
///
/// Clones share the cache.
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::signing::{MetadataProvider, Signer};
///
/// // On an ECS instance with an agency attached:
/// let signer = Signer::from_provider(MetadataProvider::new()).domain_id("d-0123");
/// // Elsewhere (tests) the address can be changed:
/// let local = MetadataProvider::new().with_endpoint("http://127.0.0.1:8080");
/// # let _ = (signer, local);
/// ```
#[derive(Clone)]
pub struct MetadataProvider {
    endpoint: Arc<str>,
    refresh_before: Duration,
    timeout: Duration,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    client: OnceLock<reqwest::Client>,
    cached: RwLock<Option<Credentials>>,
    /// Held by the one fetch in flight; holds the last failure and when it
    /// happened, which the calls that waited for that fetch return too.
    refresh: tokio::sync::Mutex<Option<(Instant, CredentialsError)>>,
}

impl MetadataProvider {
    /// The ECS metadata service at [`DEFAULT_METADATA_ENDPOINT`].
    pub fn new() -> MetadataProvider {
        MetadataProvider {
            endpoint: DEFAULT_METADATA_ENDPOINT.into(),
            refresh_before: REFRESH_BEFORE,
            timeout: TIMEOUT,
            state: Arc::default(),
        }
    }

    /// The metadata service at `endpoint` (`http://host:port`), for tests
    /// and proxies.
    pub fn with_endpoint(self, endpoint: impl Into<String>) -> MetadataProvider {
        let endpoint = endpoint.into();
        MetadataProvider {
            endpoint: endpoint.trim_end_matches('/').into(),
            state: Arc::default(),
            ..self
        }
    }

    /// Fetches new credentials once less than `margin` of the cached ones
    /// remains (default 40 minutes).
    pub fn with_refresh_before(self, margin: Duration) -> MetadataProvider {
        MetadataProvider {
            refresh_before: margin,
            ..self
        }
    }

    /// The timeout of each metadata request (default 3 seconds).
    pub fn with_timeout(self, timeout: Duration) -> MetadataProvider {
        MetadataProvider {
            timeout,
            state: Arc::default(),
            ..self
        }
    }

    /// The metadata service's address.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The cached credentials if more than the refresh margin of them remains.
    fn fresh(&self) -> Option<Credentials> {
        self.cached_for_more_than(self.refresh_before)
    }

    /// The cached credentials if they have not expired.
    fn unexpired(&self) -> Option<Credentials> {
        self.cached_for_more_than(Duration::ZERO)
    }

    fn cached_for_more_than(&self, margin: Duration) -> Option<Credentials> {
        let cached = self
            .state
            .cached
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let credentials = cached.as_ref()?;
        let left = credentials
            .expires_at()?
            .duration_since(SystemTime::now())
            .ok()?;
        (left > margin).then(|| credentials.clone())
    }

    fn error(&self, reason: impl Into<String>) -> CredentialsError {
        CredentialsError::new(format!("ECS metadata at {}", self.endpoint), reason)
    }

    async fn refresh(&self) -> Result<Credentials, CredentialsError> {
        let asked = Instant::now();
        let mut last_failure = self.state.refresh.lock().await;
        // Another call may have fetched while this one waited.
        if let Some(credentials) = self.fresh() {
            return Ok(credentials);
        }
        if let Some((at, err)) = &*last_failure {
            if *at >= asked {
                return self.unexpired().ok_or_else(|| err.clone());
            }
        }
        match self.fetch().await {
            Ok(credentials) => {
                *self
                    .state
                    .cached
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(credentials.clone());
                *last_failure = None;
                Ok(credentials)
            }
            Err(err) => {
                *last_failure = Some((Instant::now(), err.clone()));
                self.unexpired().ok_or(err)
            }
        }
    }

    fn client(&self) -> Result<&reqwest::Client, CredentialsError> {
        if let Some(client) = self.state.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .no_proxy()
            .build()
            .map_err(|err| self.error(format!("cannot build an HTTP client: {err}")))?;
        Ok(self.state.client.get_or_init(|| client))
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let client = self.client()?;
        let mut token = self.session_token(client).await?;
        let mut retried = false;
        loop {
            let mut request = client.get(format!("{}/openstack/latest/securitykey", self.endpoint));
            if let Some(token) = &token {
                request = request.header("X-Metadata-Token", token);
            }
            let response = request.send().await.map_err(|err| self.transport(&err))?;
            let status = response.status();
            let body = self.body(response).await?;
            if status == StatusCode::UNAUTHORIZED && !retried {
                if String::from_utf8_lossy(&body).contains(NO_AGENCY) {
                    return Err(self.error(
                        "the instance has no cloud service agency (401): attach one to the ECS",
                    ));
                }
                // The session token expired: fetch a new one, once.
                retried = true;
                token = self.session_token(client).await?;
                continue;
            }
            if !status.is_success() {
                return Err(self.error(format!(
                    "GET /openstack/latest/securitykey answered {status}"
                )));
            }
            return parse_security_key(&body).map_err(|reason| self.error(reason));
        }
    }

    /// A session token, or `None` where the service has none to give.
    async fn session_token(
        &self,
        client: &reqwest::Client,
    ) -> Result<Option<String>, CredentialsError> {
        let response = client
            .put(format!("{}/meta-data/latest/api/token", self.endpoint))
            .header("X-Metadata-Token-Ttl-Seconds", "21600")
            .send()
            .await
            .map_err(|err| self.transport(&err))?;
        let status = response.status();
        if matches!(status.as_u16(), 404 | 405 | 503) {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(self.error(format!("PUT /meta-data/latest/api/token answered {status}")));
        }
        let body = self.body(response).await?;
        let token =
            String::from_utf8(body).map_err(|_| self.error("the session token is not text"))?;
        Ok(Some(token.trim().to_owned()))
    }

    /// The body, at most [`BODY_LIMIT`] bytes of it.
    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, CredentialsError> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| self.transport(&err))? {
            if body.len() + chunk.len() > BODY_LIMIT {
                return Err(self.error(format!("an answer longer than {BODY_LIMIT} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, err: &reqwest::Error) -> CredentialsError {
        if err.is_timeout() {
            self.error(format!("no answer within {:?}", self.timeout))
        } else if err.is_connect() {
            self.error("cannot connect")
        } else {
            self.error(format!("request failed: {}", err.without_url_ref()))
        }
    }
}

/// A helper so a `&reqwest::Error` prints without its URL.
trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "…");
        }
        text
    }
}

/// The credentials of a `securitykey` answer, or why there are none. The
/// reason never quotes the answer.
pub(crate) fn parse_security_key(body: &[u8]) -> Result<Credentials, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "the security key is not JSON".to_owned())?;
    let credential = value
        .get("credential")
        .or_else(|| value.get("credentials"))
        .filter(|c| c.is_object())
        .ok_or("the security key has no `credential` object")?;
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| credential.get(*name)?.as_str())
            .filter(|v| !v.is_empty())
    };
    let access_key =
        field(&["access", "access_key", "accessKey"]).ok_or("the security key has no `access`")?;
    let secret_key =
        field(&["secret", "secret_key", "secretKey"]).ok_or("the security key has no `secret`")?;
    let token = field(&["securitytoken", "security_token", "securityToken"])
        .ok_or("the security key has no `securitytoken`")?;
    let expires = field(&["expires_at", "expiresAt", "expiration"])
        .ok_or("the security key has no `expires_at`")?;
    let expires_at =
        parse_rfc3339(expires).ok_or("the security key's `expires_at` is not an RFC 3339 time")?;
    Ok(Credentials::new(access_key, secret_key)
        .with_security_token(token)
        .with_expiry(expires_at))
}

impl Default for MetadataProvider {
    fn default() -> MetadataProvider {
        MetadataProvider::new()
    }
}

impl fmt::Debug for MetadataProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataProvider")
            .field("endpoint", &self.endpoint)
            .field("refresh_before", &self.refresh_before)
            .field("timeout", &self.timeout)
            .field(
                "cached",
                &*self
                    .state
                    .cached
                    .read()
                    .unwrap_or_else(PoisonError::into_inner),
            )
            .finish()
    }
}

impl CredentialsProvider for MetadataProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        match self.fresh() {
            Some(credentials) => Box::pin(std::future::ready(Ok(credentials))),
            None => Box::pin(self.refresh()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_spelling_the_sdks_accept_is_read() {
        for body in [
            r#"{"credential":{"access":"A","secret":"S","securitytoken":"T","expires_at":"2026-12-01T20:00:00.000000Z"}}"#,
            r#"{"credentials":{"accessKey":"A","secretKey":"S","securityToken":"T","expiresAt":"2026-12-01T20:00:00Z"}}"#,
            r#"{"credential":{"access_key":"A","secret_key":"S","security_token":"T","expiration":"2026-12-02T04:00:00+08:00"}}"#,
        ] {
            let credentials = parse_security_key(body.as_bytes()).unwrap();
            assert_eq!(credentials.access_key(), "A", "{body}");
            assert_eq!(credentials.secret_key(), "S");
            assert_eq!(credentials.security_token(), Some("T"));
            assert_eq!(
                credentials.expires_at(),
                Some(std::time::UNIX_EPOCH + Duration::from_secs(1_796_155_200))
            );
        }
    }

    #[test]
    fn a_bad_answer_names_what_is_missing_and_quotes_nothing() {
        for (body, want) in [
            ("SECRET-X", "the security key is not JSON"),
            (
                r#"{"other":1}"#,
                "the security key has no `credential` object",
            ),
            (
                r#"{"credential":{"access":"A","secret":"SECRET-X","securitytoken":"T"}}"#,
                "the security key has no `expires_at`",
            ),
            (
                r#"{"credential":{"access":"A","secret":"SECRET-X","securitytoken":"T","expires_at":"soon"}}"#,
                "the security key's `expires_at` is not an RFC 3339 time",
            ),
        ] {
            assert_eq!(parse_security_key(body.as_bytes()).unwrap_err(), want);
        }
    }

    proptest! {
        #[test]
        fn any_answer_gives_credentials_or_a_reason(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_security_key(&body);
        }
    }
}
