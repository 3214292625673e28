//! The whole-call deadline: the per-request override [`MaxElapsed`], and the
//! error a call ends with when the deadline passes before any answer can be
//! returned, [`DeadlineExceeded`].

use std::fmt;
use std::time::Duration;

use crate::StopReason;

/// Per-request override, set as a request extension: this call's deadline
/// (`Some`), or none (`None`), whatever the middleware's
/// [`max_elapsed`](crate::ErrorMiddlewareBuilder::max_elapsed).
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// use std::time::Duration;
/// use huaweicloud_errors::MaxElapsed;
///
/// client
///     .get("https://iam.myhuaweicloud.com/v5/agencies")
///     .with_extension(MaxElapsed(Some(Duration::from_secs(2))))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxElapsed(pub Option<Duration>);

/// The call's deadline passed with no answer to return: an attempt was cut
/// off at it, or the call's turn to send (under
/// [adaptive throttling](crate::ErrorMiddlewareBuilder::adaptive_throttling))
/// would have come after it.
///
/// It reaches the caller as `reqwest_middleware::Error::Middleware`; get it
/// back with [`DeadlineExceeded::from_error`]. When an earlier attempt had an
/// error answer and the deadline ends the call between attempts, the call
/// ends with that [`ApiError`](crate::ApiError) instead, with
/// [`StopReason::TimeLimit`].
///
/// An attempt cut off may have reached the server: a write (POST, PATCH) cut
/// off is never sent again, whatever the deadline leaves.
///
/// # Examples
///
/// ```
/// # async fn demo(client: reqwest_middleware::ClientWithMiddleware) {
/// use huaweicloud_errors::DeadlineExceeded;
///
/// match client.get("https://iam.myhuaweicloud.com/v5/agencies").send().await {
///     Ok(response) => println!("{}", response.status()),
///     Err(err) => match DeadlineExceeded::from_error(&err) {
///         Some(late) => eprintln!("gave up: {late}"),
///         None => eprintln!("failed: {err}"),
///     },
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineExceeded {
    limit: Duration,
    attempts: u32,
    turn_after_deadline: bool,
    waited: Duration,
    paced: Duration,
}

impl DeadlineExceeded {
    pub(crate) fn new(
        limit: Duration,
        attempts: u32,
        turn_after_deadline: bool,
        waited: Duration,
        paced: Duration,
    ) -> Self {
        DeadlineExceeded {
            limit,
            attempts,
            turn_after_deadline,
            waited,
            paced,
        }
    }

    /// The `DeadlineExceeded` inside `err`, if that is how the call ended.
    pub fn from_error(err: &reqwest_middleware::Error) -> Option<&DeadlineExceeded> {
        match err {
            reqwest_middleware::Error::Middleware(inner) => inner.downcast_ref(),
            reqwest_middleware::Error::Reqwest(_) => None,
        }
    }

    /// The deadline: the time the call was allowed in all.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The attempts sent, counting the one cut off (0 when the first
    /// attempt's turn would have come too late).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the call ended because its turn to send would have come after
    /// the deadline; the last try was then not sent.
    pub fn turn_after_deadline(&self) -> bool {
        self.turn_after_deadline
    }

    /// The time spent in backoff between attempts.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The time spent waiting for turns to send (adaptive throttling).
    pub fn paced(&self) -> Duration {
        self.paced
    }

    /// Always [`StopReason::TimeLimit`], as on an `ApiError` that the
    /// deadline ended.
    pub fn stop_reason(&self) -> StopReason {
        StopReason::TimeLimit
    }
}

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.turn_after_deadline {
            write!(
                f,
                "call deadline of {:?} reached: the gateway is throttling and the next turn to send comes after it ({} attempts sent)",
                self.limit, self.attempts
            )
        } else {
            write!(
                f,
                "call deadline of {:?} reached during attempt {}",
                self.limit, self.attempts
            )
        }
    }
}

impl std::error::Error for DeadlineExceeded {}
