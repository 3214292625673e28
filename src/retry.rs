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
/// | status 401, whatever its reason | [`Never`](RetryScope::Never) |
/// | a class other than [`Retryable`](ErrorClass::Retryable) (an authentication reason is a permission error) | [`Never`](RetryScope::Never) |
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
    /// (see the table above). A 401 is never retried, even when a custom
    /// classifier gives it a retryable reason: repeated authentication
    /// failures lock the access key.
    pub const fn of(classification: Classification, status: StatusCode) -> RetryScope {
        // The class follows from the reason, so an authentication reason
        // is never retryable; a 401 is not retried whatever its reason.
        let reason = classification.reason();
        if status.as_u16() == 401 || !matches!(classification.class(), ErrorClass::Retryable) {
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
    /// The tokio runtime has no timers (it was built without
    /// `enable_time`), so the middleware cannot wait before a retry: the
    /// error is returned instead. Error bodies are then read without
    /// [`body_read_timeout`](crate::ErrorMiddlewareBuilder::body_read_timeout).
    TimersDisabled,
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
            StopReason::TimersDisabled => "timers_disabled",
        }
    }
}

crate::class::serialize_as_str!(StopReason, RetryScope);

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
/// missing `ResendCount` as 0. When the call returns, the middleware takes
/// its `ResendCount` out of the extensions again (one an outer layer had put
/// there is put back), so the caller's extensions are left as they were.
/// (A call dropped while a retry is in flight leaves it there.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResendCount(pub u32);

/// How a call that succeeded after retries (or after waiting for a turn
/// under adaptive throttling) went, in the response's extensions
/// (`response.extensions().get::<RetryStats>()`). Absent when the first
/// attempt succeeded at once, so that the common path allocates nothing.
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// use huaweicloud_errors::RetryStats;
///
/// let response = client.get("https://iam.myhuaweicloud.com/v5/agencies").send().await?;
/// let attempts = response.extensions().get::<RetryStats>().map_or(1, |s| s.attempts());
/// # let _ = attempts; Ok(()) }
/// ```
///
/// It is `#[non_exhaustive]`, so that what a call records can grow: read it
/// with the methods (the fields stay public for reading, as before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryStats {
    /// How many times the request was sent (2 or more; 1 when the call
    /// only waited for a turn).
    pub attempts: u32,
    /// The time spent waiting between attempts.
    pub waited: Duration,
    /// The time spent waiting for turns to send, under
    /// [adaptive throttling](crate::ErrorMiddlewareBuilder::adaptive_throttling).
    pub paced: Duration,
}

impl RetryStats {
    /// Stats for a call sent `attempts` times that waited `waited` in
    /// backoffs and `paced` for turns.
    pub(crate) const fn new(attempts: u32, waited: Duration, paced: Duration) -> Self {
        RetryStats {
            attempts,
            waited,
            paced,
        }
    }

    /// The time spent waiting for turns to send, under
    /// [adaptive throttling](crate::ErrorMiddlewareBuilder::adaptive_throttling).
    pub const fn paced(&self) -> Duration {
        self.paced
    }

    /// How many times the request was sent (2 or more).
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The time spent waiting between attempts.
    pub const fn waited(&self) -> Duration {
        self.waited
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

    /// Whether the request may have reached the server (an answer, a
    /// timeout, a reset: anything but a failure to connect). A request that
    /// may have been received is resent only within [`RetryScope::IdempotentOnly`]
    /// or wider.
    // For the whole-call deadline, which must not resend a cut-off write.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) const fn may_have_been_sent(self) -> bool {
        !matches!(self, Failure::Connect)
    }

    /// Whether the attempt timed out, which costs a retry twice the tokens.
    pub(crate) const fn timed_out(self) -> bool {
        matches!(self, Failure::AfterSend { timeout: true })
    }

    /// Whether the gateway throttled the attempt (429, APIGW.0308).
    pub(crate) const fn throttled(self) -> bool {
        matches!(
            self,
            Failure::Answer {
                classification, ..
            } if matches!(classification.reason(), Reason::Throttled)
        )
    }
}

/// The limits a middleware puts on retries: its settings, as the decision
/// reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt, unless the request overrides it.
    pub(crate) max_retries: u32,
    pub(crate) backoff: Backoff,
    /// The longest `Retry-After` honoured.
    pub(crate) retry_after_ceiling: Duration,
    /// The longest a call may take across its attempts and waits.
    pub(crate) max_elapsed: Option<Duration>,
}

/// Where a call stands when an attempt has failed: what the decision needs
/// to know besides the failure itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryState {
    /// Whether the call is idempotent (by method, extension or setting).
    pub(crate) idempotent: bool,
    /// The retries this call may make (the setting or the request's override).
    pub(crate) max_retries: u32,
    /// The retries made so far (0 after the first attempt).
    pub(crate) retries: u32,
    /// Whether a copy of the request is at hand to send again.
    pub(crate) resendable: bool,
    /// The server's `Retry-After`, if its answer had one.
    pub(crate) retry_after: Option<Duration>,
    /// The time since the call started.
    pub(crate) elapsed: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait this long, then send the request again.
    Retry { delay: Duration },
    /// Return the error, for this reason.
    Stop(StopReason),
}

impl RetryPolicy {
    /// The retry decision, a pure function of its inputs (the jitter comes
    /// from `rng`). The checks, in order, each ending the call with its
    /// [`StopReason`]:
    ///
    /// 1. the failure's [`RetryScope`] must allow the call
    ///    (`NotRetryable`, `NotIdempotent`);
    /// 2. retries must be allowed at all (`RetriesDisabled`) and some left
    ///    (`RetriesExhausted`);
    /// 3. there must be a copy of the request to send (`BodyNotCloneable`);
    /// 4. a `Retry-After` must be within the ceiling (`RetryAfterTooLong`);
    /// 5. the wait, the backoff or the `Retry-After` if longer, must end
    ///    within `max_elapsed` of the start (`TimeLimit`).
    ///
    /// The retry budget is not consulted here: taking tokens is the one step
    /// with an effect, and the loop takes them after this says "retry".
    pub(crate) fn decide(
        &self,
        failure: Failure,
        state: RetryState,
        rng: &mut fastrand::Rng,
    ) -> Decision {
        match failure.scope() {
            RetryScope::Never => return Decision::Stop(StopReason::NotRetryable),
            scope if !scope.allows(state.idempotent) => {
                return Decision::Stop(StopReason::NotIdempotent);
            }
            _ => {}
        }
        if state.max_retries == 0 {
            return Decision::Stop(StopReason::RetriesDisabled);
        }
        if state.retries >= state.max_retries {
            return Decision::Stop(StopReason::RetriesExhausted);
        }
        if !state.resendable {
            return Decision::Stop(StopReason::BodyNotCloneable);
        }
        if state
            .retry_after
            .is_some_and(|hint| hint > self.retry_after_ceiling)
        {
            return Decision::Stop(StopReason::RetryAfterTooLong);
        }
        let backoff = self.backoff.delay(state.retries, failure.throttled(), rng);
        let delay = state.retry_after.map_or(backoff, |hint| hint.max(backoff));
        if self
            .max_elapsed
            .is_some_and(|limit| state.elapsed.saturating_add(delay) > limit)
        {
            return Decision::Stop(StopReason::TimeLimit);
        }
        Decision::Retry { delay }
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
        // (reason, status, scope)
        let cases = [
            (ConcurrentModification, 409, AnyMethod),
            (NotReady, 400, AnyMethod),
            (Throttled, 429, AnyMethod),
            (Unavailable, 503, IdempotentOnly),
            (ServerError, 500, IdempotentOnly),
            (Timeout, 408, IdempotentOnly),
            // A "rejected" code on a 5xx proves nothing: idempotent calls only.
            (ConcurrentModification, 500, IdempotentOnly),
            (Throttled, 503, IdempotentOnly),
            (NotFound, 404, Never),
            (AccessDenied, 403, Never),
            (Authentication, 401, Never),
            // An authentication reason is a permission error on any status.
            (Authentication, 400, Never),
            (Authentication, 503, Never),
            // A 401 is never retried, whatever reason a classifier gives it.
            (Unavailable, 401, Never),
            (Throttled, 401, Never),
            (ConcurrentModification, 401, Never),
        ];
        for (reason, status, scope) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            let classification = Classification::from_reason(reason);
            assert_eq!(
                RetryScope::of(classification, status),
                scope,
                "{reason} {status}"
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

    /// The decision, one row a case: the failure, where the call stands,
    /// and what the policy says. The backoff is zero here, so that the
    /// delay a row expects is exact: 0, or its `Retry-After`.
    #[test]
    fn decide_table() {
        use Decision::{Retry, Stop};
        use StopReason::*;

        let policy = RetryPolicy {
            max_retries: 3,
            backoff: Backoff {
                initial: Duration::ZERO,
                max: Duration::from_secs(20),
                throttle: Duration::ZERO,
            },
            retry_after_ceiling: Duration::from_secs(20),
            max_elapsed: Some(Duration::from_secs(30)),
        };
        let state = RetryState {
            idempotent: true,
            max_retries: 3,
            retries: 0,
            resendable: true,
            retry_after: None,
            elapsed: Duration::ZERO,
        };
        let answer = |reason: Reason, status: u16| Failure::Answer {
            classification: Classification::from_reason(reason),
            status: StatusCode::from_u16(status).unwrap(),
        };
        let secs = Duration::from_secs;
        let retry = |delay| Retry { delay };
        let post = RetryState {
            idempotent: false,
            ..state
        };
        let cases: Vec<(&str, Failure, RetryState, Decision)> = vec![
            (
                "503 on a GET",
                answer(Reason::Unavailable, 503),
                state,
                retry(Duration::ZERO),
            ),
            (
                "503 on a POST",
                answer(Reason::Unavailable, 503),
                post,
                Stop(NotIdempotent),
            ),
            (
                "409 PAP5.0006 on a POST",
                answer(Reason::ConcurrentModification, 409),
                post,
                retry(Duration::ZERO),
            ),
            (
                "404",
                answer(Reason::NotFound, 404),
                state,
                Stop(NotRetryable),
            ),
            (
                "connect failure on a POST",
                Failure::Connect,
                post,
                retry(Duration::ZERO),
            ),
            (
                "timeout on a POST",
                Failure::AfterSend { timeout: true },
                post,
                Stop(NotIdempotent),
            ),
            (
                "redirect loop",
                Failure::Permanent,
                state,
                Stop(NotRetryable),
            ),
            (
                "retries off",
                answer(Reason::Unavailable, 503),
                RetryState {
                    max_retries: 0,
                    ..state
                },
                Stop(RetriesDisabled),
            ),
            // A failure the rules never retry says so, even with retries off.
            (
                "404 with retries off",
                answer(Reason::NotFound, 404),
                RetryState {
                    max_retries: 0,
                    ..state
                },
                Stop(NotRetryable),
            ),
            (
                "last retry used",
                answer(Reason::Unavailable, 503),
                RetryState {
                    retries: 3,
                    ..state
                },
                Stop(RetriesExhausted),
            ),
            (
                "one retry left",
                answer(Reason::Unavailable, 503),
                RetryState {
                    retries: 2,
                    ..state
                },
                retry(Duration::ZERO),
            ),
            (
                "streaming body",
                answer(Reason::Unavailable, 503),
                RetryState {
                    resendable: false,
                    ..state
                },
                Stop(BodyNotCloneable),
            ),
            (
                "Retry-After honoured",
                answer(Reason::Throttled, 429),
                RetryState {
                    retry_after: Some(secs(7)),
                    ..state
                },
                retry(secs(7)),
            ),
            (
                "Retry-After at the ceiling",
                answer(Reason::Throttled, 429),
                RetryState {
                    retry_after: Some(secs(20)),
                    ..state
                },
                retry(secs(20)),
            ),
            (
                "Retry-After above the ceiling",
                answer(Reason::Throttled, 429),
                RetryState {
                    retry_after: Some(secs(21)),
                    ..state
                },
                Stop(RetryAfterTooLong),
            ),
            (
                "wait ends at the time limit",
                answer(Reason::Throttled, 429),
                RetryState {
                    retry_after: Some(secs(5)),
                    elapsed: secs(25),
                    ..state
                },
                retry(secs(5)),
            ),
            (
                "wait would pass the time limit",
                answer(Reason::Throttled, 429),
                RetryState {
                    retry_after: Some(secs(5)),
                    elapsed: Duration::from_millis(25_001),
                    ..state
                },
                Stop(TimeLimit),
            ),
        ];
        for (name, failure, state, expected) in cases {
            let mut rng = fastrand::Rng::with_seed(1);
            assert_eq!(policy.decide(failure, state, &mut rng), expected, "{name}");
        }

        // No time limit: any wait is allowed.
        let unlimited = RetryPolicy {
            max_elapsed: None,
            ..policy
        };
        let late = RetryState {
            retry_after: Some(secs(20)),
            elapsed: secs(3600),
            ..state
        };
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(
            unlimited.decide(answer(Reason::Throttled, 429), late, &mut rng),
            retry(secs(20))
        );
    }

    #[test]
    fn decide_draws_the_backoff_and_keeps_the_longer_of_it_and_retry_after() {
        let policy = RetryPolicy {
            max_retries: 3,
            backoff: Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_secs(20),
                throttle: Duration::from_secs(2),
            },
            retry_after_ceiling: Duration::from_secs(20),
            max_elapsed: None,
        };
        let state = RetryState {
            idempotent: true,
            max_retries: 3,
            retries: 1,
            resendable: true,
            retry_after: None,
            elapsed: Duration::ZERO,
        };
        let failure = |reason| Failure::Answer {
            classification: Classification::from_reason(reason),
            status: StatusCode::SERVICE_UNAVAILABLE,
        };
        for seed in 0..50 {
            let drawn = |f, s| match policy.decide(f, s, &mut fastrand::Rng::with_seed(seed)) {
                Decision::Retry { delay } => delay,
                Decision::Stop(stop) => panic!("stopped: {stop}"),
            };
            let expected = policy
                .backoff
                .delay(1, false, &mut fastrand::Rng::with_seed(seed));
            assert_eq!(drawn(failure(Reason::Unavailable), state), expected);
            // Throttled: the throttle schedule (4 to 10 s at the second retry).
            let throttled = drawn(failure(Reason::Throttled), state);
            assert!((Duration::from_secs(4)..=Duration::from_secs(10)).contains(&throttled));
            // A Retry-After shorter than the backoff does not shorten it.
            let hinted = RetryState {
                retry_after: Some(Duration::from_secs(1)),
                ..state
            };
            assert_eq!(drawn(failure(Reason::Throttled), hinted), throttled);
        }
    }

    #[test]
    fn only_a_connect_failure_proves_nothing_was_sent() {
        let answer = Failure::Answer {
            classification: Classification::from_reason(Reason::Unavailable),
            status: StatusCode::SERVICE_UNAVAILABLE,
        };
        assert!(answer.may_have_been_sent());
        assert!(Failure::AfterSend { timeout: true }.may_have_been_sent());
        assert!(Failure::AfterSend { timeout: false }.may_have_been_sent());
        assert!(Failure::Permanent.may_have_been_sent());
        assert!(!Failure::Connect.may_have_been_sent());
        assert!(Failure::AfterSend { timeout: true }.timed_out());
        assert!(!Failure::AfterSend { timeout: false }.timed_out());
        assert!(!answer.throttled());
    }
}
