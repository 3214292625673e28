//! Retry policy: which failures are retried, for which methods, and how long
//! to wait between attempts.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};

use crate::{Classification, ErrorClass, Reason};

/// For which calls a failure may be retried: the one rule the middleware
/// applies, public so that tools (the `explain` example, a dashboard) say
/// exactly what it does.
///
/// For an error answer it is [`RetryScope::of`] its classification and
/// status:
///
/// | the answer | scope |
/// | --- | --- |
/// | status 401, or reason [`Authentication`](Reason::Authentication), whatever the class | [`Never`](RetryScope::Never) |
/// | class other than [`Retryable`](ErrorClass::Retryable) | [`Never`](RetryScope::Never) |
/// | a reason that [proves the request was rejected](Reason::proves_rejection) (concurrent modification, not ready, throttled) with a 4xx status | [`AnyMethod`](RetryScope::AnyMethod) |
/// | any other retryable answer (a 5xx, a 408, a rejection reason on a 5xx) | [`IdempotentOnly`](RetryScope::IdempotentOnly) |
///
/// For a transport failure the middleware uses: a connect failure (nothing
/// was sent) [`AnyMethod`](RetryScope::AnyMethod); a timeout, a reset or a
/// cut-off answer (it may have reached the server)
/// [`IdempotentOnly`](RetryScope::IdempotentOnly); anything else (a bad URL,
/// a redirect loop) [`Never`](RetryScope::Never).
///
/// A call within the scope is still retried only while `max_retries`, the
/// time limit, `Retry-After`'s ceiling and the retry budget allow
/// ([`StopReason`] says which one ended it).
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::{Reason, RetryScope, status_classification, Classification};
/// use reqwest::StatusCode;
///
/// let conflict = Classification::from_reason(Reason::ConcurrentModification);
/// assert_eq!(RetryScope::of(conflict, StatusCode::CONFLICT), RetryScope::AnyMethod);
/// // The same code on a 5xx proves nothing about the write.
/// assert_eq!(
///     RetryScope::of(conflict, StatusCode::INTERNAL_SERVER_ERROR),
///     RetryScope::IdempotentOnly
/// );
/// let denied = status_classification(StatusCode::FORBIDDEN);
/// assert_eq!(RetryScope::of(denied, StatusCode::FORBIDDEN), RetryScope::Never);
/// assert!(!RetryScope::IdempotentOnly.allows(false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryScope {
    /// Never retried, whatever the method.
    Never,
    /// Retried only for idempotent calls (GET, HEAD, OPTIONS, TRACE, PUT,
    /// DELETE, a call marked [`Idempotent(true)`](Idempotent), or every call
    /// with `assume_idempotent`): the request may have taken effect.
    IdempotentOnly,
    /// Retried for every method: the server did not act on the request.
    AnyMethod,
}

impl RetryScope {
    /// The scope of an error answer with this classification and status
    /// (see the table above). A 401 or an authentication reason is never
    /// retried, even when a custom classifier calls it retryable: repeated
    /// authentication failures lock the access key.
    pub const fn of(classification: Classification, status: StatusCode) -> RetryScope {
        let reason = classification.reason;
        if status.as_u16() == 401 || matches!(reason, Reason::Authentication) {
            return RetryScope::Never;
        }
        if !matches!(classification.class, ErrorClass::Retryable) {
            return RetryScope::Never;
        }
        if reason.proves_rejection() && matches!(status.as_u16(), 400..=499) {
            RetryScope::AnyMethod
        } else {
            RetryScope::IdempotentOnly
        }
    }

    /// Whether a call that is (`true`) or is not (`false`) idempotent may be
    /// retried within this scope.
    pub const fn allows(self, idempotent: bool) -> bool {
        match self {
            RetryScope::Never => false,
            RetryScope::IdempotentOnly => idempotent,
            RetryScope::AnyMethod => true,
        }
    }

    /// The scope's name in snake case, as it appears in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            RetryScope::Never => "never",
            RetryScope::IdempotentOnly => "idempotent_only",
            RetryScope::AnyMethod => "any_method",
        }
    }
}

impl fmt::Display for RetryScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the middleware stopped retrying and returned the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum StopReason {
    /// The error is not retryable (user-fixable, permission-related, or an
    /// authentication failure).
    NotRetryable,
    /// The error is retryable only for idempotent calls, and this call is not
    /// one (a POST that failed with a 5xx may have taken effect).
    NotIdempotent,
    /// Retries are turned off, for the middleware or for this request.
    RetriesDisabled,
    /// Every retry allowed by `max_retries` was used.
    RetriesExhausted,
    /// The next wait would have passed the total time limit.
    TimeLimit,
    /// The server's `Retry-After` asked for a longer wait than the ceiling.
    RetryAfterTooLong,
    /// The request's body is a stream and cannot be sent again.
    BodyNotCloneable,
    /// The shared retry budget was empty.
    BudgetExhausted,
}

impl StopReason {
    /// The reason's name in snake case, as it appears in logs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            StopReason::NotRetryable => "not_retryable",
            StopReason::NotIdempotent => "not_idempotent",
            StopReason::RetriesDisabled => "retries_disabled",
            StopReason::RetriesExhausted => "retries_exhausted",
            StopReason::TimeLimit => "time_limit",
            StopReason::RetryAfterTooLong => "retry_after_too_long",
            StopReason::BodyNotCloneable => "body_not_cloneable",
            StopReason::BudgetExhausted => "budget_exhausted",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-request override, set as a request extension: retry this call at most
/// this many times (0: send it once), whatever the middleware's `max_retries`.
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// use huaweicloud_errors::MaxRetries;
///
/// client
///     .get("https://iam.myhuaweicloud.com/v5/agencies")
///     .with_extension(MaxRetries(5))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRetries(pub u32);

/// Per-request override, set as a request extension: never retry this call
/// (its error is still decoded). The same as `MaxRetries(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoRetry;

/// Per-request override, set as a request extension: whether this call is
/// idempotent, whatever its method says.
///
/// `Idempotent(true)` lets a POST that is safe to repeat (a lookup, a write
/// with a client token) be retried after a 5xx or a timeout;
/// `Idempotent(false)` keeps a PUT or DELETE that is not safe to repeat from
/// being retried after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idempotent(pub bool);

/// The number of times the current request has been sent again, as
/// OpenTelemetry's `http.request.resend_count`.
///
/// The middleware inserts it into the request's extensions before each
/// retry (1 before the first retry, 2 before the second, ...), so a tracing
/// middleware placed after (inside) it can record it. It is absent on the
/// first attempt, where OpenTelemetry leaves the attribute unset: read a
/// missing `ResendCount` as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResendCount(pub u32);

/// How a call that succeeded after retries went, in the response's
/// extensions (`response.extensions().get::<RetryStats>()`). Absent when the
/// first attempt succeeded, so that the common path allocates nothing.
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// use huaweicloud_errors::RetryStats;
///
/// let response = client.get("https://iam.myhuaweicloud.com/v5/agencies").send().await?;
/// let attempts = response.extensions().get::<RetryStats>().map_or(1, |s| s.attempts);
/// # let _ = attempts; Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryStats {
    /// How many times the request was sent (2 or more).
    pub attempts: u32,
    /// The time spent waiting between attempts.
    pub waited: Duration,
}

/// Whether a method is idempotent by definition (RFC 9110): GET, HEAD,
/// OPTIONS, TRACE, PUT and DELETE.
pub(crate) fn is_idempotent_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// What went wrong on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An error answer with this classification and status.
    Answer {
        classification: Classification,
        status: StatusCode,
    },
    /// The connection could not be made: nothing was sent.
    Connect,
    /// The request may have reached the server (timeout, reset, cut-off answer).
    AfterSend { timeout: bool },
    /// Anything else (a bad URL, a redirect loop): sending again cannot help.
    Permanent,
}

impl Failure {
    /// Whether a retry is allowed at all, and for which calls.
    pub(crate) const fn scope(self) -> RetryScope {
        match self {
            Failure::Answer {
                classification,
                status,
            } => RetryScope::of(classification, status),
            Failure::Connect => RetryScope::AnyMethod,
            Failure::AfterSend { .. } => RetryScope::IdempotentOnly,
            Failure::Permanent => RetryScope::Never,
        }
    }

    /// Whether the gateway throttled the attempt (429, APIGW.0308).
    pub(crate) const fn throttled(self) -> bool {
        matches!(
            self,
            Failure::Answer {
                classification: Classification {
                    reason: Reason::Throttled,
                    ..
                },
                ..
            }
        )
    }
}

/// The backoff schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
    pub(crate) throttle: Duration,
}

impl Backoff {
    /// The wait before retry number `retry` (0 for the first retry).
    ///
    /// Throttled answers wait `throttle * 2^retry` to `2.5 * throttle * 2^retry`
    /// (2 to 5 s for the first retry by default, as the gateway's FAQ advises);
    /// every other failure waits a full-jitter draw from
    /// `0 ..= initial * 2^retry`. Both are capped at `max`.
    pub(crate) fn delay(&self, retry: u32, throttled: bool, rng: &mut fastrand::Rng) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        if throttled {
            let low = self.throttle.saturating_mul(factor).min(self.max);
            let high = low.saturating_mul(5) / 2;
            low + jitter(high.min(self.max).saturating_sub(low), rng)
        } else {
            jitter(self.initial.saturating_mul(factor).min(self.max), rng)
        }
    }
}

/// A uniform draw from `0 ..= ceiling`, at nanosecond resolution.
fn jitter(ceiling: Duration, rng: &mut fastrand::Rng) -> Duration {
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.u64(0..=nanos))
}

/// Reads a `Retry-After` value: delta seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2026 07:28:00 GMT`), relative to `now`. A date in the past
/// means no wait. `None` for anything else.
pub fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "a very long time".
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(20),
            throttle: Duration::from_secs(2),
        }
    }

    #[test]
    fn full_jitter_stays_under_the_exponential_ceiling() {
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 0..40 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(2u32.saturating_pow(retry.min(31)))
                .min(Duration::from_secs(20));
            for _ in 0..100 {
                assert!(backoff().delay(retry, false, &mut rng) <= ceiling);
            }
        }
    }

    #[test]
    fn seeded_jitter_is_reproducible() {
        let draw = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..5)
                .map(|r| backoff().delay(r, false, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
    }

    #[test]
    fn throttled_waits_two_to_five_seconds_first_then_doubles() {
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..1000 {
            let first = backoff().delay(0, true, &mut rng);
            assert!((Duration::from_secs(2)..=Duration::from_secs(5)).contains(&first));
            let second = backoff().delay(1, true, &mut rng);
            assert!((Duration::from_secs(4)..=Duration::from_secs(10)).contains(&second));
            let capped = backoff().delay(10, true, &mut rng);
            assert_eq!(capped, Duration::from_secs(20));
        }
    }

    #[test]
    fn zero_backoff_is_zero() {
        let zero = Backoff {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            throttle: Duration::ZERO,
        };
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(zero.delay(3, false, &mut rng), Duration::ZERO);
        assert_eq!(zero.delay(3, true, &mut rng), Duration::ZERO);
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 29 Nov 2026 10:00:00 GMT").unwrap();
        let parse = |s: &str| parse_retry_after(&HeaderValue::from_str(s).unwrap(), now);
        assert_eq!(parse("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse("Sun, 29 Nov 2026 10:00:07 GMT"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse("Sun, 29 Nov 2026 09:59:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("1.5"), None);
        assert_eq!(parse("soon"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn retry_scopes() {
        use Reason::*;
        use RetryScope::*;
        let custom = |class, reason| Classification { class, reason };
        let cases = [
            // (classification, status, scope)
            (
                Classification::from_reason(ConcurrentModification),
                409,
                AnyMethod,
            ),
            (Classification::from_reason(NotReady), 400, AnyMethod),
            (Classification::from_reason(Throttled), 429, AnyMethod),
            (
                Classification::from_reason(Unavailable),
                503,
                IdempotentOnly,
            ),
            (
                Classification::from_reason(ServerError),
                500,
                IdempotentOnly,
            ),
            (Classification::from_reason(Timeout), 408, IdempotentOnly),
            // A "rejected" code on a 5xx proves nothing: idempotent calls only.
            (
                Classification::from_reason(ConcurrentModification),
                500,
                IdempotentOnly,
            ),
            (Classification::from_reason(Throttled), 503, IdempotentOnly),
            (Classification::from_reason(NotFound), 404, Never),
            (Classification::from_reason(AccessDenied), 403, Never),
            (Classification::from_reason(Authentication), 401, Never),
            // An authentication failure is never retried, even if a custom
            // rule calls it retryable, and a 401 never whatever its reason.
            (custom(ErrorClass::Retryable, Authentication), 400, Never),
            (custom(ErrorClass::Retryable, Unavailable), 401, Never),
            (custom(ErrorClass::Retryable, Throttled), 401, Never),
            // The class decides: a retryable reason with another class is not retried.
            (custom(ErrorClass::UserFixable, Throttled), 429, Never),
        ];
        for (classification, status, scope) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(
                RetryScope::of(classification, status),
                scope,
                "{classification:?} {status}"
            );
        }
        assert_eq!(Failure::Connect.scope(), AnyMethod);
        assert_eq!(Failure::AfterSend { timeout: true }.scope(), IdempotentOnly);
        assert_eq!(
            Failure::AfterSend { timeout: false }.scope(),
            IdempotentOnly
        );
        assert_eq!(Failure::Permanent.scope(), Never);
    }

    #[test]
    fn scopes_allow() {
        assert!(!RetryScope::Never.allows(true));
        assert!(!RetryScope::Never.allows(false));
        assert!(RetryScope::IdempotentOnly.allows(true));
        assert!(!RetryScope::IdempotentOnly.allows(false));
        assert!(RetryScope::AnyMethod.allows(true));
        assert!(RetryScope::AnyMethod.allows(false));
    }
}
