//! The three classes of error, the finer reasons behind them, and the rules
//! that map a status and a code to both.
//!
//! The built-in rules are [`default_classification`]: the catalogue's reason for
//! a known code, else [`status_classification`] on the HTTP status. A
//! [`Classifier`] can replace them for some codes and defer to them for the rest.

use std::collections::HashMap;
use std::fmt;

use reqwest::StatusCode;

use crate::ErrorCode;

/// `Serialize` for enums with an `as_str()`: each name is written once, in
/// `as_str()`, and JSON reads the same name as logs and `Display`.
macro_rules! serialize_as_str {
    ($($ty:ty),* $(,)?) => {$(
        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    )*};
}
pub(crate) use serialize_as_str;

serialize_as_str!(ErrorClass, Reason);

/// What a caller can do about an error.
///
/// Every [`ApiError`](crate::ApiError) has exactly one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient: the same request may succeed later (concurrent modification,
    /// throttling, service unavailable, server error).
    Retryable,
    /// The request itself is wrong (invalid value, missing resource, quota
    /// reached): change it before sending it again.
    UserFixable,
    /// The caller is not allowed or not authenticated (401, 403, a suspended
    /// account): fix the credentials or the permissions, never retry blindly.
    Permission,
}

impl ErrorClass {
    /// The class's name in snake case, as it appears in logs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Retryable => "retryable",
            ErrorClass::UserFixable => "user_fixable",
            ErrorClass::Permission => "permission",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an error has its class: finer than [`ErrorClass`], and what the retry
/// layer reads to choose whether and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Another request was changing the same resource; the change was rejected
    /// without effect (PAP5.0006, AccessAnalyzer.1005). Retryable for every method.
    ConcurrentModification,
    /// The resource is not ready yet (a preview still running); the request was
    /// rejected without effect. Retryable for every method.
    NotReady,
    /// Rejected by rate limiting before reaching the service (429, APIGW.0308).
    /// Retryable for every method, after a longer first delay.
    Throttled,
    /// The service or its backend is unavailable (502, 503, 504, APIGW.0613).
    /// Retryable for idempotent calls.
    Unavailable,
    /// The service failed internally (500 and other 5xx). Retryable for idempotent calls.
    ServerError,
    /// The server timed out waiting for the request (408). Retryable for idempotent calls.
    Timeout,
    /// Authentication failed (401, APIGW.030x). Never retried: repeated failures
    /// lock the access key.
    Authentication,
    /// The caller is authenticated but not allowed (403, PAP5.0001, STS5.1001).
    AccessDenied,
    /// The account or app is suspended, restricted or frozen.
    AccountRestricted,
    /// The request is malformed or has an invalid value.
    InvalidRequest,
    /// The resource named by the request does not exist.
    NotFound,
    /// The resource to create already exists.
    AlreadyExists,
    /// A quota or size limit was reached.
    LimitExceeded,
    /// The resource's state conflicts with the request (other than a
    /// concurrent modification).
    Conflict,
    /// A client error the rules know nothing more about.
    ClientError,
}

impl Reason {
    /// The class this reason belongs to.
    pub const fn class(self) -> ErrorClass {
        match self {
            Reason::ConcurrentModification
            | Reason::NotReady
            | Reason::Throttled
            | Reason::Unavailable
            | Reason::ServerError
            | Reason::Timeout => ErrorClass::Retryable,
            Reason::Authentication | Reason::AccessDenied | Reason::AccountRestricted => {
                ErrorClass::Permission
            }
            Reason::InvalidRequest
            | Reason::NotFound
            | Reason::AlreadyExists
            | Reason::LimitExceeded
            | Reason::Conflict
            | Reason::ClientError => ErrorClass::UserFixable,
        }
    }

    /// Whether the server rejected the request before acting on it, so that
    /// sending it again cannot duplicate a write (conflicts, not-ready, throttling).
    pub const fn proves_rejection(self) -> bool {
        matches!(
            self,
            Reason::ConcurrentModification | Reason::NotReady | Reason::Throttled
        )
    }

    /// The reason's name in snake case, as it appears in logs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::ConcurrentModification => "concurrent_modification",
            Reason::NotReady => "not_ready",
            Reason::Throttled => "throttled",
            Reason::Unavailable => "unavailable",
            Reason::ServerError => "server_error",
            Reason::Timeout => "timeout",
            Reason::Authentication => "authentication",
            Reason::AccessDenied => "access_denied",
            Reason::AccountRestricted => "account_restricted",
            Reason::InvalidRequest => "invalid_request",
            Reason::NotFound => "not_found",
            Reason::AlreadyExists => "already_exists",
            Reason::LimitExceeded => "limit_exceeded",
            Reason::Conflict => "conflict",
            Reason::ClientError => "client_error",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A class together with the reason for it. The class follows from the
/// reason ([`Reason::class`]), so the two cannot contradict each other: a
/// classifier that wants an error retried picks a retryable reason
/// (`Reason::Unavailable`, `Reason::ConcurrentModification`, ...).
///
/// ```
/// use huaweicloud_errors::{Classification, ErrorClass, Reason};
///
/// let c = Classification::from_reason(Reason::NotReady);
/// assert_eq!((c.class(), c.reason()), (ErrorClass::Retryable, Reason::NotReady));
/// // An authentication failure is a permission error, whoever classifies it.
/// assert_eq!(Classification::from(Reason::Authentication).class(), ErrorClass::Permission);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Classification {
    reason: Reason,
}

impl Classification {
    /// The classification for `reason`, with the class it implies.
    pub const fn from_reason(reason: Reason) -> Self {
        Classification { reason }
    }

    /// What the caller can do: the class of the reason.
    pub const fn class(self) -> ErrorClass {
        self.reason.class()
    }

    /// Why, finer grained.
    pub const fn reason(self) -> Reason {
        self.reason
    }
}

impl fmt::Debug for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classification")
            .field("class", &self.class())
            .field("reason", &self.reason)
            .finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Classification {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Classification", 2)?;
        s.serialize_field("class", &self.class())?;
        s.serialize_field("reason", &self.reason)?;
        s.end()
    }
}

impl From<Reason> for Classification {
    fn from(reason: Reason) -> Self {
        Classification::from_reason(reason)
    }
}

/// The built-in rule for a status alone, used for codes the catalogue does
/// not know and for gateway codes whose status varies (APIGW.0201):
///
/// | status | reason | class |
/// | --- | --- | --- |
/// | 408 | `Timeout` | retryable |
/// | 429 | `Throttled` | retryable |
/// | 502, 503, 504 | `Unavailable` | retryable |
/// | other 5xx | `ServerError` | retryable |
/// | 401 | `Authentication` | permission |
/// | 403 | `AccessDenied` | permission |
/// | 404 | `NotFound` | user-fixable |
/// | 409 | `Conflict` | user-fixable |
/// | 400, 405, 411, 413, 414, 415, 422, 431, 494 | `InvalidRequest` | user-fixable |
/// | anything else | `ClientError` | user-fixable |
///
/// ```
/// use huaweicloud_errors::{status_classification, ErrorClass, Reason};
/// use reqwest::StatusCode;
///
/// let c = status_classification(StatusCode::TOO_MANY_REQUESTS);
/// assert_eq!((c.class(), c.reason()), (ErrorClass::Retryable, Reason::Throttled));
/// ```
pub const fn status_classification(status: StatusCode) -> Classification {
    let reason = match status.as_u16() {
        408 => Reason::Timeout,
        429 => Reason::Throttled,
        502..=504 => Reason::Unavailable,
        500..=599 => Reason::ServerError,
        401 => Reason::Authentication,
        403 => Reason::AccessDenied,
        404 => Reason::NotFound,
        409 => Reason::Conflict,
        400 | 405 | 411 | 413 | 414 | 415 | 422 | 431 | 494 => Reason::InvalidRequest,
        _ => Reason::ClientError,
    };
    Classification::from_reason(reason)
}

/// The built-in rules: the catalogue's reason for a known code
/// ([`ErrorCode::reason`]), else [`status_classification`].
///
/// ```
/// use huaweicloud_errors::{default_classification, ErrorClass, ErrorCode, Reason};
/// use reqwest::StatusCode;
///
/// let code = ErrorCode::from_wire("PAP5.0006");
/// let c = default_classification(StatusCode::CONFLICT, Some(&code));
/// assert_eq!((c.class(), c.reason()), (ErrorClass::Retryable, Reason::ConcurrentModification));
///
/// // An unknown code falls back on the status.
/// let other = ErrorCode::from_wire("ECS.0001");
/// let c = default_classification(StatusCode::CONFLICT, Some(&other));
/// assert_eq!(c.class(), ErrorClass::UserFixable);
/// ```
pub fn default_classification(status: StatusCode, code: Option<&ErrorCode>) -> Classification {
    match code.and_then(ErrorCode::reason) {
        Some(reason) => Classification::from_reason(reason),
        None => status_classification(status),
    }
}

/// Decides the class of an error. Implement it to teach the middleware codes
/// of other Huawei Cloud services, and call [`default_classification`] for
/// the rest; or use [`Rules`], which does exactly that from a table.
pub trait Classifier: fmt::Debug + Send + Sync + 'static {
    /// The classification of an error answer with this status and code.
    fn classify(&self, status: StatusCode, code: Option<&ErrorCode>) -> Classification;
}

/// The built-in rules as a [`Classifier`]: [`default_classification`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefaultClassifier;

impl Classifier for DefaultClassifier {
    fn classify(&self, status: StatusCode, code: Option<&ErrorCode>) -> Classification {
        default_classification(status, code)
    }
}

/// A table of per-code overrides on top of the built-in rules.
///
/// Codes are matched by their wire form (`ErrorCode::as_str`), so a code of
/// another service (`"ECS.0105"`) and a catalogued one (`"AccessAnalyzer.1024"`)
/// are overridden the same way.
///
/// ```
/// use huaweicloud_errors::{Classifier, ErrorClass, ErrorCode, Reason, Rules};
/// use reqwest::StatusCode;
///
/// let rules = Rules::new()
///     .code("ECS.0105", Reason::ConcurrentModification)
///     .code("AccessAnalyzer.1024", Reason::NotReady);
///
/// let c = rules.classify(StatusCode::CONFLICT, Some(&ErrorCode::from_wire("ECS.0105")));
/// assert_eq!(c.class(), ErrorClass::Retryable);
/// // Everything else follows the built-in rules.
/// let c = rules.classify(StatusCode::FORBIDDEN, None);
/// assert_eq!(c.class(), ErrorClass::Permission);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Rules {
    codes: HashMap<String, Classification>,
}

impl Rules {
    /// An empty table: the built-in rules alone.
    pub fn new() -> Self {
        Rules::default()
    }

    /// Classifies `code` (wire form) with `classification` (a [`Reason`]
    /// or a whole [`Classification`]), replacing any earlier entry.
    pub fn code(mut self, code: &str, classification: impl Into<Classification>) -> Self {
        let wire = ErrorCode::from_wire(code).as_str().to_owned();
        self.codes.insert(wire, classification.into());
        self
    }
}

impl Classifier for Rules {
    fn classify(&self, status: StatusCode, code: Option<&ErrorCode>) -> Classification {
        code.and_then(|c| self.codes.get(c.as_str()).copied())
            .unwrap_or_else(|| default_classification(status, code))
    }
}
