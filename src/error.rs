//! [`ApiError`]: one typed error for every Huawei Cloud error answer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::body::read_capped;
use crate::decode::{self, Decoded, GatewayId};
use crate::{
    Classification, Classifier, DefaultClassifier, ErrorClass, ErrorCode, Reason, StopReason,
};

/// How much of an error body [`ApiError::from_response`] reads by default: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How long [`ApiError::from_response`] reads an error body, by default: 10 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest [`ApiError::message`] kept, in bytes: 1,024. A longer message
/// is cut at a character boundary and ends with `…[truncated]`.
pub const MAX_MESSAGE_LEN: usize = decode::MAX_MESSAGE_LEN;

/// The longest [`ApiError::code`], [`ApiError::request_id`] and
/// [`ApiError::gateway_request_id`] kept, in bytes: 128. A longer value is cut
/// at a character boundary and ends with `…[truncated]`.
pub const MAX_FIELD_LEN: usize = decode::MAX_FIELD_LEN;

/// The most [`ApiError::details`] entries kept: 16.
pub const MAX_DETAILS: usize = decode::MAX_DETAILS;

const REQUEST_ID_HEADER: &str = decode::REQUEST_ID_HEADER;

/// A Huawei Cloud error answer (a 4xx or 5xx response), decoded and classified.
///
/// It carries what the service said ([`code`](ApiError::code),
/// [`message`](ApiError::message), [`request_id`](ApiError::request_id),
/// [`encoded_authorization_message`](ApiError::encoded_authorization_message)),
/// what it means ([`class`](ApiError::class), [`reason`](ApiError::reason)),
/// and, when it comes from [`ErrorMiddleware`](crate::ErrorMiddleware), how the
/// call went ([`attempts`](ApiError::attempts), [`waited`](ApiError::waited),
/// [`stop_reason`](ApiError::stop_reason)).
///
/// It never holds request headers, so credentials (`Authorization`,
/// `X-Auth-Token`, `X-Security-Token`, AK/SK signatures) cannot leak through
/// its `Display`, `Debug` or JSON form. Of the URL it keeps the scheme, host,
/// port and path: the query and any user info are dropped.
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::{ApiError, ErrorClass, ErrorCode};
/// use reqwest::StatusCode;
/// use reqwest::header::HeaderMap;
///
/// let body = br#"{"error_code":"PAP5.0001","error_msg":"access denied: iam:agencies:create",
///                 "request_id":"5c1e","encoded_authorization_message":"ZW5jb2RlZA"}"#;
/// let err = ApiError::from_parts(StatusCode::FORBIDDEN, &HeaderMap::new(), body);
///
/// assert_eq!(err.code(), Some(&ErrorCode::AccessDenied));
/// assert_eq!(err.class(), ErrorClass::Permission);
/// assert!(err.is_permission());
/// assert_eq!(err.template_values(), ["iam:agencies:create"]);
/// assert_eq!(err.encoded_authorization_message(), Some("ZW5jb2RlZA"));
/// assert_eq!(
///     err.to_string(),
///     "403 Forbidden: PAP5.0001: access denied: iam:agencies:create (request id 5c1e)"
/// );
/// ```
#[derive(Clone)]
pub struct ApiError {
    inner: Box<Inner>,
    /// Why the error body could not be read to its end (a reset, a cut-off
    /// transfer), if it could not: the error's `source()`. Behind an `Arc`
    /// so that `ApiError` is `Clone`.
    body_error: Option<Arc<reqwest::Error>>,
}

#[derive(Clone)]
struct Inner {
    status: StatusCode,
    code: Option<ErrorCode>,
    /// The wire code when it differs from `code.as_str()` (`APIG.0308`).
    code_as_sent: Option<Box<str>>,
    message: String,
    request_id: Option<String>,
    gateway_request_id: GatewayId,
    encoded_authorization_message: Option<String>,
    details: Vec<ErrorDetail>,
    classification: Classification,
    body_truncated: bool,
    retry: RetryInfo,
    method: Option<reqwest::Method>,
    url: Option<String>,
}

/// What the retry layer records on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryInfo {
    pub(crate) attempts: u32,
    pub(crate) waited: Duration,
    /// The time spent waiting for turns (adaptive throttling).
    pub(crate) paced: Duration,
    pub(crate) stop: Option<StopReason>,
    pub(crate) retry_after: Option<Duration>,
}

impl Default for RetryInfo {
    fn default() -> Self {
        RetryInfo {
            attempts: 1,
            waited: Duration::ZERO,
            paced: Duration::ZERO,
            stop: None,
            retry_after: None,
        }
    }
}

/// One entry of a `details` array that some services add to an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ErrorDetail {
    code: Option<ErrorCode>,
    message: String,
}

impl ErrorDetail {
    /// The entry's code, if it had one.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code.as_ref()
    }

    /// The entry's message (bounded like [`ApiError::message`]).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl ApiError {
    /// Decodes an error answer from its status, headers and body, and
    /// classifies it with the built-in rules. Never fails: a body that is
    /// not JSON, empty, cut short or not UTF-8 still gives an error with the
    /// status, a readable message and the `X-Request-Id` header.
    ///
    /// ```
    /// use huaweicloud_errors::{ApiError, ErrorClass};
    /// use reqwest::StatusCode;
    /// use reqwest::header::HeaderMap;
    ///
    /// let html = b"<html><head><title>502 Bad Gateway</title></head></html>";
    /// let err = ApiError::from_parts(StatusCode::BAD_GATEWAY, &HeaderMap::new(), html);
    /// assert_eq!(err.code(), None);
    /// assert_eq!(err.message(), "502 Bad Gateway");
    /// assert_eq!(err.class(), ErrorClass::Retryable);
    /// ```
    pub fn from_parts(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiError {
        ApiError::decode_with(status, headers, body, &DefaultClassifier)
    }

    /// Like [`ApiError::from_parts`], with a [`Classifier`] of your own.
    pub fn from_parts_with(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        classifier: &dyn Classifier,
    ) -> ApiError {
        ApiError::decode_with(status, headers, body, classifier)
    }

    pub(crate) fn decode_with(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        classifier: &dyn Classifier,
    ) -> ApiError {
        let Decoded {
            code,
            code_tentative,
            message,
            request_id,
            gateway_request_id,
            encoded_authorization_message,
            details,
        } = decode::decode_as(headers, body, |wire| {
            let code = ErrorCode::from_trimmed(wire);
            // A catalogued code read from another spelling has another length (`APIG.`
            // for `APIGW.`): the lookup reads the family's prefix exactly and the same
            // four digits. An unknown code keeps the wire form itself.
            let as_sent = (code.as_str().len() != wire.len()).then(|| Box::from(wire));
            (code, as_sent)
        });
        let (mut code, mut code_as_sent) = code.unzip();
        let mut classification = classifier.classify(status, code.as_ref());
        // A code read from a body cut short, where one of higher precedence could have
        // followed, never makes the error retryable: the status alone decides then.
        if code_tentative && classification.class() == ErrorClass::Retryable {
            (code, code_as_sent) = (None, None);
            classification = classifier.classify(status, None);
        }
        // Most bodies have no details: skip the conversion's setup for them.
        let details = if details.is_empty() {
            Vec::new()
        } else {
            details
                .into_iter()
                .map(|d| ErrorDetail {
                    code: d.code.map(|(code, _)| code),
                    message: d.message,
                })
                .collect()
        };
        ApiError {
            inner: Box::new(Inner {
                status,
                code,
                code_as_sent: code_as_sent.flatten(),
                message,
                request_id,
                gateway_request_id,
                encoded_authorization_message,
                details,
                classification,
                body_truncated: false,
                retry: RetryInfo::default(),
                method: None,
                url: None,
            }),
            body_error: None,
        }
    }

    /// Reads and decodes an error response: at most [`DEFAULT_BODY_LIMIT`]
    /// bytes of its body, for at most [`DEFAULT_BODY_READ_TIMEOUT`] (the rest
    /// is dropped unread), then as [`ApiError::from_parts`]. A body cut short
    /// by the network still gives an error, with the transfer error as its
    /// [`source`](std::error::Error::source).
    ///
    /// Meant for error answers; for a response of any status it decodes
    /// whatever the body holds.
    ///
    /// The deadline needs tokio's timer, so outside a tokio runtime (under
    /// `futures::executor::block_on`, say) the body is read without one, as
    /// [`Response::bytes`](reqwest::Response::bytes) reads it there.
    pub async fn from_response(response: reqwest::Response) -> ApiError {
        // Without a runtime (or its timers), `read` reads without the deadline.
        let deadline = Some(DEFAULT_BODY_READ_TIMEOUT);
        ApiError::read(response, DEFAULT_BODY_LIMIT, deadline, &DefaultClassifier).await
    }

    pub(crate) async fn read(
        response: reqwest::Response,
        body_limit: usize,
        deadline: Option<Duration>,
        classifier: &dyn Classifier,
    ) -> ApiError {
        let status = response.status();
        // Only the request id is needed from the headers: keep it alone
        // rather than copy the whole map.
        let mut headers_kept = HeaderMap::new();
        if let Some(id) = response.headers().get(REQUEST_ID_HEADER) {
            headers_kept.insert(REQUEST_ID_HEADER, id.clone());
        }
        let url = sanitized_url(response.url());
        let capped = read_capped(response, body_limit, deadline).await;
        let mut err = ApiError::decode_with(status, &headers_kept, &capped.bytes, classifier);
        err.inner.body_truncated = capped.truncated || capped.timed_out;
        err.body_error = capped.error.map(Arc::new);
        err.inner.url = Some(url);
        err
    }

    /// The typed error inside a `reqwest_middleware::Error`, if the error
    /// is an error answer decoded by [`ErrorMiddleware`](crate::ErrorMiddleware);
    /// `None` for transport errors (connect, timeout, ...), which stay the
    /// `reqwest::Error` they are.
    ///
    /// ```
    /// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) {
    /// use huaweicloud_errors::ApiError;
    ///
    /// match client.get("https://iam.myhuaweicloud.com/v5/agencies/a1").send().await {
    ///     Ok(response) => println!("{}", response.status()),
    ///     Err(err) => match ApiError::from_error(&err) {
    ///         Some(api) if api.is_user_fixable() => eprintln!("fix the request: {api}"),
    ///         Some(api) => eprintln!("{api} ({})", api.class()),
    ///         None => eprintln!("transport error: {err}"),
    ///     },
    /// }
    /// # }
    /// ```
    ///
    /// To take the error by value, use `ApiError::try_from(err)`.
    pub fn from_error(err: &reqwest_middleware::Error) -> Option<&ApiError> {
        match err {
            reqwest_middleware::Error::Middleware(err) => {
                err.chain().find_map(|e| e.downcast_ref::<ApiError>())
            }
            reqwest_middleware::Error::Reqwest(_) => None,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The error code the body carried; `None` when it carried none (an HTML
    /// page, an empty body).
    pub fn code(&self) -> Option<&ErrorCode> {
        self.inner.code.as_ref()
    }

    /// The code as the body spelled it (trimmed; an integer code in decimal):
    /// `APIG.0308` where [`code`](ApiError::code) is the catalogue's
    /// `APIGW.0308`. The same as `code().map(ErrorCode::as_str)` when the
    /// catalogue reads the code as sent.
    ///
    /// ```
    /// use huaweicloud_errors::{ApiError, ErrorCode};
    /// use reqwest::StatusCode;
    /// use reqwest::header::HeaderMap;
    ///
    /// let body = br#"{"error_code":"APIG.0308","error_msg":"throttled"}"#;
    /// let err = ApiError::from_parts(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
    /// assert_eq!(err.code(), Some(&ErrorCode::ApigwThrottled));
    /// assert_eq!(err.code().map(ErrorCode::as_str), Some("APIGW.0308"));
    /// assert_eq!(err.code_as_sent(), Some("APIG.0308"));
    /// ```
    pub fn code_as_sent(&self) -> Option<&str> {
        self.inner
            .code_as_sent
            .as_deref()
            .or_else(|| self.inner.code.as_ref().map(ErrorCode::as_str))
    }

    /// The body's `error_msg` as sent, or a readable excerpt of a body that
    /// is not JSON; at most [`MAX_MESSAGE_LEN`] bytes. When a JSON body has
    /// no message (`{"error":"invalid_grant",...}`, `"error_msg":null`), the
    /// body's own text. Empty when the body is.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The request id: the body's `request_id`, else the `X-Request-Id`
    /// response header. Quote it to Huawei Cloud support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The gateway's request id: the `X-Request-Id` response header (trimmed,
    /// visible ASCII), whatever the body says. When the body's `request_id`
    /// differs, both are real: [`request_id`](ApiError::request_id) is the
    /// service's, this one the gateway's.
    ///
    /// ```
    /// use huaweicloud_errors::ApiError;
    /// use reqwest::StatusCode;
    /// use reqwest::header::{HeaderMap, HeaderValue};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-request-id", HeaderValue::from_static("gw-7f3a"));
    /// let body = br#"{"error_code":"PAP5.0006","error_msg":"busy","request_id":"svc-91c2"}"#;
    /// let err = ApiError::from_parts(StatusCode::CONFLICT, &headers, body);
    /// assert_eq!(err.request_id(), Some("svc-91c2"));
    /// assert_eq!(err.gateway_request_id(), Some("gw-7f3a"));
    /// ```
    pub fn gateway_request_id(&self) -> Option<&str> {
        self.inner
            .gateway_request_id
            .get(self.inner.request_id.as_deref())
    }

    /// The encrypted details of a permission failure, as sent; STS's
    /// `POST /v5/decode-authorization-message` decodes it. Never cut short
    /// (within the body limit).
    pub fn encoded_authorization_message(&self) -> Option<&str> {
        self.inner.encoded_authorization_message.as_deref()
    }

    /// The entries of the body's `details` array (at most [`MAX_DETAILS`]).
    pub fn details(&self) -> &[ErrorDetail] {
        &self.inner.details
    }

    /// The values filled into the code's message template (the `%s` of
    /// `access denied: %s`); empty when the code has no template or the
    /// message does not follow it.
    pub fn template_values(&self) -> Vec<&str> {
        self.inner
            .code
            .as_ref()
            .and_then(|code| code.template_values(&self.inner.message))
            .unwrap_or_default()
    }

    /// What the caller can do about the error.
    pub fn class(&self) -> ErrorClass {
        self.inner.classification.class()
    }

    /// Why the error has its class, finer grained.
    pub fn reason(&self) -> Reason {
        self.inner.classification.reason()
    }

    /// The class and the reason together.
    pub fn classification(&self) -> Classification {
        self.inner.classification
    }

    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// Whether the request itself must change.
    pub fn is_user_fixable(&self) -> bool {
        self.class() == ErrorClass::UserFixable
    }

    /// Whether credentials or permissions are the problem.
    pub fn is_permission(&self) -> bool {
        self.class() == ErrorClass::Permission
    }

    /// How many times the request was sent: 1 when it was not retried.
    pub fn attempts(&self) -> u32 {
        self.inner.retry.attempts
    }

    /// The time spent waiting between attempts.
    pub fn waited(&self) -> Duration {
        self.inner.retry.waited
    }

    /// The time spent waiting for turns to send, under
    /// [adaptive throttling](crate::ErrorMiddlewareBuilder::adaptive_throttling);
    /// zero without it.
    pub fn paced(&self) -> Duration {
        self.inner.retry.paced
    }

    /// Why the middleware stopped retrying; `None` for an error not made by
    /// the middleware ([`ApiError::from_parts`]).
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.inner.retry.stop
    }

    /// The server's `Retry-After` hint on the last answer, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry.retry_after
    }

    /// Whether the body was longer than the limit (or slower than the read
    /// deadline) and only its start was decoded.
    pub fn body_truncated(&self) -> bool {
        self.inner.body_truncated
    }

    /// The request's method, when the error comes from the middleware.
    pub fn method(&self) -> Option<&reqwest::Method> {
        self.inner.method.as_ref()
    }

    /// The request's URL without its query and user info, when the error
    /// comes from a response.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    pub(crate) fn set_retry(&mut self, retry: RetryInfo) {
        self.inner.retry = retry;
    }

    pub(crate) fn set_method(&mut self, method: reqwest::Method) {
        self.inner.method = Some(method);
    }
}

/// The typed error inside a `reqwest_middleware::Error`, by value; the
/// error itself back when it holds none (a transport error, another layer's
/// error). Like [`ApiError::from_error`], it looks through context another
/// layer added.
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> Result<(), Box<dyn std::error::Error>> {
/// use huaweicloud_errors::ApiError;
///
/// match client.get("https://iam.myhuaweicloud.com/v5/agencies").send().await {
///     Ok(response) => println!("{}", response.status()),
///     Err(err) => match ApiError::try_from(err) {
///         Ok(api) => return Err(api.into()),
///         Err(transport) => eprintln!("transport error: {transport}"),
///     },
/// }
/// # Ok(()) }
/// ```
impl TryFrom<reqwest_middleware::Error> for ApiError {
    type Error = reqwest_middleware::Error;

    fn try_from(err: reqwest_middleware::Error) -> Result<ApiError, reqwest_middleware::Error> {
        match err {
            reqwest_middleware::Error::Middleware(err) => match err.downcast::<ApiError>() {
                Ok(api) => Ok(api),
                // Deeper in a chain of sources it can only be borrowed.
                Err(err) => match err.chain().find_map(|e| e.downcast_ref::<ApiError>()) {
                    Some(api) => Ok(api.clone()),
                    None => Err(reqwest_middleware::Error::Middleware(err)),
                },
            },
            transport => Err(transport),
        }
    }
}

/// The URL as errors show it: no user info, no query, no fragment.
pub(crate) fn sanitized_url(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    sanitize_url(&mut url);
    url.into()
}

/// Removes the user info, the query and the fragment of `url`.
pub(crate) fn sanitize_url(url: &mut reqwest::Url) {
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
}

/// Whether `c` could break a log line, reorder what a reader sees or hide
/// in it: control characters, the Unicode line and paragraph separators,
/// the bidirectional marks, overrides and isolates, the zero-width and
/// invisible format characters, the byte order mark and the interlinear
/// annotation characters.
fn is_unsafe_in_logs(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                // Invisible operators, bidi isolates, the deprecated format
                // characters, and U+2065, unassigned but as invisible.
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Writes `text` with [`is_unsafe_in_logs`] characters escaped, so that a
/// message cannot forge or disguise log lines.
fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for part in text.split_inclusive(is_unsafe_in_logs) {
        match part.char_indices().last() {
            Some((at, c)) if is_unsafe_in_logs(c) => {
                f.write_str(&part[..at])?;
                write!(f, "{}", c.escape_default())?;
            }
            _ => f.write_str(part)?,
        }
    }
    Ok(())
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(f, "{}", inner.status)?;
        if let Some(code) = &inner.code {
            f.write_str(": ")?;
            write_escaped(f, code.as_str())?;
        }
        if !inner.message.is_empty() {
            f.write_str(": ")?;
            write_escaped(f, &inner.message)?;
        }
        if let Some(id) = &inner.request_id {
            f.write_str(" (request id ")?;
            write_escaped(f, id)?;
            f.write_str(")")?;
        }
        if inner.retry.attempts > 1 {
            write!(f, " after {} attempts", inner.retry.attempts)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("ApiError");
        d.field("status", &inner.status)
            .field("code", &inner.code)
            .field("message", &inner.message)
            .field("request_id", &inner.request_id);
        if let Some(as_sent) = &inner.code_as_sent {
            d.field("code_as_sent", as_sent);
        }
        if let GatewayId::Other(id) = &inner.gateway_request_id {
            d.field("gateway_request_id", id);
        }
        d.field(
            "encoded_authorization_message_len",
            &inner
                .encoded_authorization_message
                .as_ref()
                .map(String::len),
        );
        if !inner.details.is_empty() {
            d.field("details", &inner.details);
        }
        d.field("class", &inner.classification.class())
            .field("reason", &inner.classification.reason())
            .field("attempts", &inner.retry.attempts)
            .field("waited", &inner.retry.waited)
            .field("stop_reason", &inner.retry.stop)
            .field("retry_after", &inner.retry.retry_after)
            .field("method", &inner.method)
            .field("url", &inner.url)
            .field("body_truncated", &inner.body_truncated)
            .finish()
    }
}

// Written by hand rather than derived with thiserror: its `#[source]` on an
// `Option<Arc<reqwest::Error>>` would hand out the `Arc`, and
// `source().downcast_ref::<reqwest::Error>()` would fail.
impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.body_error
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<ApiError> for reqwest_middleware::Error {
    fn from(err: ApiError) -> Self {
        reqwest_middleware::Error::middleware(err)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ApiError {
    /// The answer and its meaning: status, code, message, request id,
    /// encoded authorization message, details, class, reason, attempts,
    /// time waited (milliseconds), stop reason and Retry-After hint. The
    /// method and URL are left out, so that an error forwarded to another
    /// caller does not show your endpoints.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let inner = &self.inner;
        let mut s = serializer.serialize_struct("ApiError", 12)?;
        s.serialize_field("status", &inner.status.as_u16())?;
        s.serialize_field("code", &inner.code)?;
        s.serialize_field("message", &inner.message)?;
        s.serialize_field("request_id", &inner.request_id)?;
        s.serialize_field(
            "encoded_authorization_message",
            &inner.encoded_authorization_message,
        )?;
        s.serialize_field("details", &inner.details)?;
        s.serialize_field("class", &inner.classification.class())?;
        s.serialize_field("reason", &inner.classification.reason())?;
        s.serialize_field("attempts", &inner.retry.attempts)?;
        s.serialize_field("waited_ms", &duration_ms(inner.retry.waited))?;
        s.serialize_field("stop_reason", &inner.retry.stop)?;
        s.serialize_field("retry_after_ms", &inner.retry.retry_after.map(duration_ms))?;
        s.end()
    }
}

#[cfg(feature = "serde")]
fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
