//! Retry policy: which failures are retried, for which methods, and how long
//! to wait between attempts.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderValue;

use crate::Reason;

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
    /// The call's deadline ([`max_elapsed`](crate::ErrorMiddlewareBuilder::max_elapsed)):
    /// the next wait, for a backoff or for a turn to send, would have ended
    /// past it.
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
    /// The time spent waiting for turns to send, under
    /// [adaptive throttling](crate::ErrorMiddlewareBuilder::adaptive_throttling).
    pub paced: Duration,
}

impl RetryStats {
    /// The time spent waiting for turns to send (the same as the field).
    pub fn paced(&self) -> Duration {
        self.paced
    }
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
    /// An error answer with this classification.
    Answer {
        retryable: bool,
        reason: Reason,
        authentication: bool,
        /// A 4xx status: the server answered about the request itself. Only
        /// then does a "rejected" reason prove the request had no effect; a
        /// 5xx carrying PAP5.0006 may have done half its work.
        client_error: bool,
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
    pub(crate) fn retry_rule(self) -> RetryRule {
        match self {
            Failure::Answer {
                authentication: true,
                ..
            } => RetryRule::Never,
            Failure::Answer {
                retryable: false, ..
            } => RetryRule::Never,
            Failure::Answer {
                reason,
                client_error: true,
                ..
            } if reason.proves_rejection() => RetryRule::AnyMethod,
            Failure::Answer { .. } => RetryRule::IdempotentOnly,
            Failure::Connect => RetryRule::AnyMethod,
            Failure::AfterSend { .. } => RetryRule::IdempotentOnly,
            Failure::Permanent => RetryRule::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryRule {
    Never,
    IdempotentOnly,
    AnyMethod,
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
    fn retry_rules() {
        let answer = |retryable, reason, authentication| Failure::Answer {
            retryable,
            reason,
            authentication,
            client_error: true,
        };
        assert_eq!(
            answer(true, Reason::ConcurrentModification, false).retry_rule(),
            RetryRule::AnyMethod
        );
        assert_eq!(
            answer(true, Reason::Throttled, false).retry_rule(),
            RetryRule::AnyMethod
        );
        assert_eq!(
            answer(true, Reason::Unavailable, false).retry_rule(),
            RetryRule::IdempotentOnly
        );
        // An authentication failure is never retried, even if a custom rule calls it retryable.
        assert_eq!(
            answer(true, Reason::Unavailable, true).retry_rule(),
            RetryRule::Never
        );
        assert_eq!(
            answer(false, Reason::NotFound, false).retry_rule(),
            RetryRule::Never
        );
        // A "rejected" code on a 5xx proves nothing: idempotent calls only.
        let on_5xx = Failure::Answer {
            retryable: true,
            reason: Reason::ConcurrentModification,
            authentication: false,
            client_error: false,
        };
        assert_eq!(on_5xx.retry_rule(), RetryRule::IdempotentOnly);
        assert_eq!(Failure::Connect.retry_rule(), RetryRule::AnyMethod);
        assert_eq!(
            Failure::AfterSend { timeout: true }.retry_rule(),
            RetryRule::IdempotentOnly
        );
        assert_eq!(Failure::Permanent.retry_rule(), RetryRule::Never);
    }
}
