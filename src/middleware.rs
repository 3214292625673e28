//! [`ErrorMiddleware`]: the `reqwest-middleware` layer that turns error
//! answers into [`ApiError`]s and retries the transient ones.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use http::Extensions;
use reqwest::{Method, Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};
use tokio::time::Instant;

#[cfg(feature = "tracing")]
use crate::RetryScope;
use crate::budget::{RetryBudget, Sent, Withdrawal};
use crate::config::Config;
use crate::deadline::{DeadlineExceeded, MaxElapsed};
use crate::error::{RetryInfo, sanitize_url};
use crate::retry::{
    Decision, Failure, RetryPolicy, RetryState, is_idempotent_method, parse_retry_after,
};
use crate::throttle::{HostKey, Pacer, Signal, ThrottleLimit, Turn};
use crate::timer;
use crate::{
    ApiError, ErrorMiddlewareBuilder, Idempotent, MaxRetries, NoRetry, ResendCount, RetryStats,
    StopReason,
};

/// The `reqwest-middleware` layer: passes successful answers through
/// untouched, decodes every 4xx and 5xx answer into an [`ApiError`], and
/// retries the transient ones safely.
///
/// A clone shares its configuration and its [`RetryBudget`] with the original.
///
/// # What is retried
///
/// Transient failures, for the calls it is safe to repeat: [`RetryScope`](crate::RetryScope)
/// holds the rule and its table (a concurrent modification on a 4xx or a
/// throttled answer for every method; a 5xx, a timeout or a broken
/// connection for idempotent calls only; a connect failure for every method, unless it happened at a redirect's target;
/// user-fixable and permission errors and any 401 never). A throttled answer
/// waits longer first (2 to 5 s). The limits below, `Retry-After` and the
/// [`RetryBudget`] bound the retries; [`StopReason`] says which one ended a
/// call.
///
/// # Default
///
/// | setting | default |
/// | --- | --- |
/// | [`max_retries`](ErrorMiddlewareBuilder::max_retries) | 3 (so 4 attempts at most) |
/// | [`initial_backoff`](ErrorMiddlewareBuilder::initial_backoff) | 200 ms (full jitter: the first wait is drawn from 0 to 200 ms, then doubles) |
/// | [`max_backoff`](ErrorMiddlewareBuilder::max_backoff) | 20 s |
/// | [`throttle_backoff`](ErrorMiddlewareBuilder::throttle_backoff) | 2 s (the first wait after a throttled answer is 2 to 5 s) |
/// | [`retry_after_ceiling`](ErrorMiddlewareBuilder::retry_after_ceiling) | 20 s |
/// | [`max_elapsed`](ErrorMiddlewareBuilder::max_elapsed) | 30 s |
/// | [`body_limit`](ErrorMiddlewareBuilder::body_limit) | 64 KiB |
/// | [`body_read_timeout`](ErrorMiddlewareBuilder::body_read_timeout) | 10 s ([`DEFAULT_BODY_READ_TIMEOUT`](crate::DEFAULT_BODY_READ_TIMEOUT)) |
/// | [`retry_budget`](ErrorMiddlewareBuilder::retry_budget) | [`RetryBudget::new()`], one per middleware |
/// | `retry_log_level` (with `tracing`) | WARN |
/// | [`adaptive_throttling`](ErrorMiddlewareBuilder::adaptive_throttling) | off |
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::ErrorMiddleware;
/// use reqwest_middleware::ClientBuilder;
///
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(ErrorMiddleware::default())
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone)]
pub struct ErrorMiddleware {
    config: Arc<Config>,
}

impl ErrorMiddleware {
    /// The middleware with the default settings; the same as `default()`.
    pub fn new() -> Self {
        ErrorMiddleware::builder().build()
    }

    /// A builder starting from the default settings.
    pub fn builder() -> ErrorMiddlewareBuilder {
        ErrorMiddlewareBuilder::new()
    }

    pub(crate) fn from_config(config: Config) -> Self {
        ErrorMiddleware {
            config: Arc::new(config),
        }
    }

    /// The retry budget this middleware draws on, if it has one.
    pub fn retry_budget(&self) -> Option<&RetryBudget> {
        self.config.budget.as_ref()
    }
}

impl Default for ErrorMiddleware {
    fn default() -> Self {
        ErrorMiddleware::new()
    }
}

impl fmt::Debug for ErrorMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

/// An event at a level chosen at run time (`tracing`'s macros want a
/// constant one, so this expands one callsite a level).
macro_rules! event {
    ($level:expr, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        match $level {
            tracing::Level::ERROR => tracing::event!(tracing::Level::ERROR, $($arg)*),
            tracing::Level::WARN => tracing::event!(tracing::Level::WARN, $($arg)*),
            tracing::Level::INFO => tracing::event!(tracing::Level::INFO, $($arg)*),
            tracing::Level::DEBUG => tracing::event!(tracing::Level::DEBUG, $($arg)*),
            tracing::Level::TRACE => tracing::event!(tracing::Level::TRACE, $($arg)*),
        }
    };
}

/// The future of one call through the middleware.
type CallFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>>;

// Written out rather than with `#[async_trait]`: its future would hold the
// request again (as the argument and as a local of the async block) around
// the future of `run`, and every call boxes and moves that future.
impl Middleware for ErrorMiddleware {
    fn handle<'s, 'e, 'n, 'fut>(
        &'s self,
        req: Request,
        extensions: &'e mut Extensions,
        next: Next<'n>,
    ) -> CallFuture<'fut>
    where
        's: 'fut,
        'e: 'fut,
        'n: 'fut,
        Self: 'fut,
    {
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = tracing::info_span!(
                "huaweicloud_errors.call",
                http.request.method = %req.method(),
                url.path = %req.url().path(),
                http.request.resend_count = tracing::field::Empty,
            );
            if span.is_disabled() {
                // No subscriber wants it: skip entering and leaving it on
                // every poll.
                Box::pin(self.run(req, extensions, next))
            } else {
                Box::pin(self.run(req, extensions, next).instrument(span))
            }
        }
        #[cfg(not(feature = "tracing"))]
        {
            Box::pin(self.run(req, extensions, next))
        }
    }
}

impl ErrorMiddleware {
    /// The call. The setup runs before the future is made; the future holds
    /// only the first attempt and what its retries need to know of it, so
    /// that every call's future stays small. Retries run in a second future,
    /// [`retry`](Self::retry), boxed only when the first attempt fails.
    fn run<'a>(
        &'a self,
        req: Request,
        extensions: &'a mut Extensions,
        next: Next<'a>,
    ) -> impl Future<Output = reqwest_middleware::Result<Response>> + Send + 'a {
        let config = &*self.config;
        let max_retries = if extensions.get::<NoRetry>().is_some() {
            0
        } else {
            extensions
                .get::<MaxRetries>()
                .map_or(config.policy.max_retries, |m| m.0)
        };
        let idempotent = extensions.get::<Idempotent>().map_or_else(
            || config.assume_idempotent || is_idempotent_method(req.method()),
            |i| i.0,
        );
        let start = Instant::now();
        let limit = extensions
            .get::<MaxElapsed>()
            .map_or(config.policy.max_elapsed, |m| m.0);
        let call = Call {
            method: req.method().clone(),
            start,
            deadline: limit.and_then(|limit| start.checked_add(limit)),
            max_retries,
            idempotent,
        };
        // One slot, so that the future holds one request: the request until
        // the first attempt takes it, then the copy kept for a retry.
        let mut slot = Some(req);
        async move {
            // In blocks of their own, so that neither the request nor the
            // answer takes room in the future across the `.await`s below.
            let (attempt, turn_wait) = {
                let Some(req) = slot.take() else {
                    unreachable!("the slot holds the request until the first attempt")
                };
                // Keep a copy for the next attempt only while one may follow.
                if max_retries > 0 {
                    slot = req.try_clone();
                }
                // Under adaptive throttling, the call's turn to send.
                let turn = config.pacer.as_ref().and_then(|pacer| {
                    Some(pacer.turn(HostKey::of(req.url())?, Instant::now(), call.deadline))
                });
                let wait = match turn {
                    None | Some(Turn::Now) => None,
                    // Boxed: only a paced call pays for the timer's room.
                    Some(Turn::At(reserved)) => Some(Box::pin(reserved.wait())),
                    Some(Turn::TooLate) => {
                        return Err(call.deadline_exceeded(Progress::default(), true));
                    }
                };
                (next.clone().run(req, extensions), wait)
            };
            let paced = match turn_wait {
                Some(wait) => wait.await,
                None => Duration::ZERO,
            };
            let Some(outcome) = within(call.deadline, attempt).await else {
                let progress = Progress {
                    paced,
                    ..Progress::default()
                };
                return Err(call.deadline_exceeded(progress, false));
            };
            let retry = match outcome {
                Ok(response) if config.passes(response.status()) => {
                    if let Some(budget) = &config.budget {
                        budget.deposit_success();
                    }
                    let mut response = response;
                    if let Some(pacer) = &config.pacer {
                        passed(pacer, &mut response, paced);
                    }
                    return Ok(response);
                }
                outcome => Box::pin(self.retry(call, outcome, slot, extensions, next, paced)),
            };
            retry.await
        }
    }

    /// The call after its first attempt failed with `outcome`: the retry
    /// loop, after which the caller's extensions hold the [`ResendCount`]
    /// they held before the call (none, unless an outer layer put one).
    async fn retry(
        &self,
        call: Call,
        outcome: reqwest_middleware::Result<Response>,
        spare: Option<Request>,
        extensions: &mut Extensions,
        next: Next<'_>,
        paced: Duration,
    ) -> reqwest_middleware::Result<Response> {
        let outer = extensions.remove::<ResendCount>();
        let result = self
            .retry_loop(call, outcome, spare, extensions, next, paced)
            .await;
        match outer {
            Some(count) => extensions.insert(count),
            None => extensions.remove::<ResendCount>(),
        };
        result
    }

    /// Decodes each failed attempt, and retries while the rules, the limits
    /// and the budget allow. Each turn of the loop runs five steps:
    ///
    /// 1. read the outcome: an answer that passes ends the call, an error
    ///    answer is decoded;
    /// 2. decide ([`RetryPolicy::decide`](crate::retry::RetryPolicy::decide)):
    ///    retry after a delay, or stop with a [`StopReason`];
    /// 3. pay for the retry from the [`RetryBudget`](crate::RetryBudget);
    /// 4. wait for the turn: the backoff, and under adaptive throttling the
    ///    host's next free turn if it comes later;
    /// 5. send the request again, within the call's deadline.
    async fn retry_loop(
        &self,
        call: Call,
        mut outcome: reqwest_middleware::Result<Response>,
        mut spare: Option<Request>,
        extensions: &mut Extensions,
        next: Next<'_>,
        paced: Duration,
    ) -> reqwest_middleware::Result<Response> {
        let config = &*self.config;
        // The call's own time limit (a request's `MaxElapsed` overrides it).
        let policy = RetryPolicy {
            max_elapsed: call.limit(),
            ..config.policy
        };
        let mut rng = config.rng();
        let mut progress = Progress {
            paced,
            ..Progress::default()
        };
        // The tokens of the retry in flight: they stay spent (even if the
        // call is dropped while the retry is in flight) unless it succeeds.
        let mut paid: Option<Sent> = None;
        loop {
            // 1. Read the outcome.
            let (attempt, retry_after) = match outcome {
                Ok(response) if config.passes(response.status()) => {
                    // Only a retry gets here (`run` returns a first attempt
                    // that passes): its tokens go back.
                    debug_assert!(progress.retries > 0, "a first attempt that passes");
                    if let Some(paid) = paid {
                        paid.refund();
                    }
                    progress.record_in_span();
                    let mut response = progress.stamp(response);
                    if let Some(pacer) = &config.pacer {
                        passed(pacer, &mut response, Duration::ZERO);
                    }
                    return Ok(response);
                }
                // Boxed: inline, the state of reading an error body would be
                // held in this future across every backoff and retry.
                Ok(response) => Box::pin(self.decode(response)).await,
                Err(reqwest_middleware::Error::Reqwest(err)) => (Attempt::Transport(err), None),
                // Another middleware's own error: not ours to retry.
                Err(other) => return Err(other),
            };
            // The attempt failed: a retry's tokens stay spent.
            drop(paid.take());

            // 2. Decide.
            let redirected = attempt
                .redirected(spare.as_ref().map(Request::url), call.idempotent)
                .await;
            let failure = attempt.failure(redirected);
            let state = RetryState {
                idempotent: call.idempotent,
                max_retries: call.max_retries,
                retries: progress.retries,
                resendable: spare.is_some(),
                retry_after,
                elapsed: call.start.elapsed(),
            };
            let decision = policy.decide(failure, state, &mut rng);

            // 3. Pay for the retry, and set the timer of its wait; either
            // can stop the call. Dropped with the call during the wait, the
            // tokens go back: the retry was never sent.
            let ready = match decision {
                Decision::Retry { delay } => self
                    .withdraw(failure)
                    .and_then(|tokens| Ok((delay, tokens, timer_for(delay)?))),
                Decision::Stop(reason) => Err(reason),
            };
            let (delay, withdrawal, timer) = match ready {
                Ok(ready) => ready,
                Err(reason) => {
                    return Err(self.give_up(
                        attempt,
                        failure,
                        &call,
                        progress,
                        reason,
                        retry_after,
                    ));
                }
            };

            // 4. Wait for the turn: the backoff, then (under adaptive
            // throttling) the host's next free turn, taken when the backoff
            // ends, as every sender takes its turn when it is ready to send.
            let Some(request) = spare.take() else {
                unreachable!("the decision to retry checked that a copy is at hand")
            };
            self.log_retry(&attempt, progress, delay);
            if let Some(timer) = timer {
                timer.await;
            }
            progress.waited = progress.waited.saturating_add(delay);
            match self.turn(&request, call.deadline) {
                Ok(None) => {}
                Ok(Some(reserved)) => {
                    let paced = Box::pin(reserved.wait()).await;
                    progress.paced = progress.paced.saturating_add(paced);
                }
                // The turn would come past the deadline: the call ends with
                // this attempt's error, and the tokens go back.
                Err(reason) => {
                    drop(withdrawal);
                    return Err(self.give_up(
                        attempt,
                        failure,
                        &call,
                        progress,
                        reason,
                        retry_after,
                    ));
                }
            }
            drop(attempt);
            progress.retries += 1;

            // 5. Send again.
            spare = if progress.retries < call.max_retries {
                request.try_clone()
            } else {
                None
            };
            // Absent on the first attempt, as OpenTelemetry leaves
            // `http.request.resend_count` unset there.
            extensions.insert(ResendCount(progress.retries));
            // From here the retry reaches the server.
            paid = withdrawal.map(Withdrawal::send);
            let attempt = next.clone().run(request, extensions);
            let Some(next_outcome) = within(call.deadline, attempt).await else {
                // Cut off, it may have reached the server: it stays paid for,
                // and no time is left to send anything again.
                return Err(call.deadline_exceeded(progress, false));
            };
            outcome = next_outcome;
        }
    }

    /// Step 4 under adaptive throttling: the retry's turn; `None` to send
    /// now, and [`StopReason::TimeLimit`] when the turn would come past
    /// `deadline`.
    fn turn(
        &self,
        request: &Request,
        deadline: Option<Instant>,
    ) -> Result<Option<crate::throttle::Reserved>, StopReason> {
        let Some(pacer) = &self.config.pacer else {
            return Ok(None);
        };
        let Some(key) = HostKey::of(request.url()) else {
            return Ok(None);
        };
        match pacer.turn(key, Instant::now(), deadline) {
            Turn::Now => Ok(None),
            Turn::At(reserved) => Ok(Some(reserved)),
            Turn::TooLate => Err(StopReason::TimeLimit),
        }
    }

    /// Step 3: the retry's tokens, if the middleware has a budget;
    /// [`StopReason::BudgetExhausted`] when it cannot pay for them.
    fn withdraw(&self, failure: Failure) -> Result<Option<Withdrawal>, StopReason> {
        match &self.config.budget {
            None => Ok(None),
            Some(budget) => budget
                .withdraw(failure.timed_out())
                .map(Some)
                .ok_or(StopReason::BudgetExhausted),
        }
    }

    /// Step 1 for an error answer: its `Retry-After` and its body, decoded;
    /// under adaptive throttling, the pacer told whether it was throttled.
    async fn decode(&self, response: Response) -> (Attempt, Option<Duration>) {
        let config = &*self.config;
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        // Where the answer came from, for the pacer.
        let answered_by = config.pacer.as_ref().map(|_| response.url().clone());
        let err = ApiError::read(
            response,
            config.body_limit,
            config.body_read_timeout,
            &*config.classifier,
        )
        .await;
        if let (Some(pacer), Some(url)) = (&config.pacer, &answered_by) {
            if let Some(key) = HostKey::of(url) {
                let signal = if err.status() == StatusCode::TOO_MANY_REQUESTS {
                    Signal::Throttled(ThrottleLimit::parse(err.message()))
                } else {
                    Signal::Passed
                };
                pacer.answered(key, Instant::now(), signal);
            }
        }
        (Attempt::Answer(err), retry_after)
    }

    /// The event before a retry's wait.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn log_retry(&self, attempt: &Attempt, progress: Progress, delay: Duration) {
        // The event says which attempt failed; the span gets
        // `http.request.resend_count` when the call ends.
        event!(
            self.config.log_level,
            attempt = progress.retries + 1,
            status = attempt.status(),
            code = attempt.code(),
            class = attempt.class(),
            request_id = attempt.request_id(),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "huaweicloud call failed; retrying"
        );
    }

    /// The error the call ends with, after logging that it gave up.
    ///
    /// Giving up is logged at the configured level (WARN by default) when
    /// the failure could have been retried and a limit stopped it; at DEBUG
    /// (or the configured level if finer) when retrying was never on the
    /// table: a failure the rules never retry (a 404 or 409 the caller
    /// expects), or a call whose retries are turned off.
    fn give_up(
        &self,
        attempt: Attempt,
        failure: Failure,
        call: &Call,
        progress: Progress,
        reason: StopReason,
        retry_after: Option<Duration>,
    ) -> reqwest_middleware::Error {
        let info = progress.ended(reason, retry_after);
        progress.record_in_span();
        #[cfg(feature = "tracing")]
        {
            let expected = failure.scope() == RetryScope::Never
                || info.stop == Some(StopReason::RetriesDisabled);
            let level = if expected {
                self.config.log_level.max(tracing::Level::DEBUG)
            } else {
                self.config.log_level
            };
            event!(
                level,
                attempts = info.attempts,
                status = attempt.status(),
                code = attempt.code(),
                class = attempt.class(),
                request_id = attempt.request_id(),
                waited_ms = u64::try_from(info.waited.as_millis()).unwrap_or(u64::MAX),
                stop_reason = info.stop.map(StopReason::as_str),
                "huaweicloud call failed; giving up"
            );
        }
        #[cfg(not(feature = "tracing"))]
        let _ = failure;
        match attempt {
            Attempt::Answer(mut err) => {
                err.set_retry(info);
                err.set_method(call.method.clone());
                err.into()
            }
            Attempt::Transport(mut err) => {
                // reqwest shows the whole URL; keep the query and user info
                // out of it, as ApiError does.
                if let Some(url) = err.url_mut() {
                    sanitize_url(url);
                }
                err.into()
            }
        }
    }
}

/// Runs `attempt` until `deadline`; `None` if the deadline came first. The
/// request's own reqwest timeout, inside `attempt`, still applies when it is
/// shorter. On a runtime without timers (see `timer`) the attempt runs to
/// its end.
async fn within<F: Future + Unpin>(deadline: Option<Instant>, mut attempt: F) -> Option<F::Output> {
    // Pinned where it is made: one timer in the future, not a copy a step.
    let mut timer = std::pin::pin!(deadline.and_then(timer::sleep_until));
    if timer.is_none() {
        return Some(attempt.await);
    }
    // The attempt first: an answer that is ready at the deadline is kept.
    std::future::poll_fn(|cx| {
        if let Poll::Ready(outcome) = Pin::new(&mut attempt).poll(cx) {
            return Poll::Ready(Some(outcome));
        }
        match timer.as_mut().as_pin_mut().map(|timer| timer.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

/// Tells the pacer that an answer passed the gateway, and records on a
/// first attempt's response (`paced` > 0) the wait for its turn.
#[cold]
fn passed(pacer: &Pacer, response: &mut Response, paced: Duration) {
    if let Some(key) = HostKey::of(response.url()) {
        pacer.answered(key, Instant::now(), Signal::Passed);
    }
    if !paced.is_zero() {
        response
            .extensions_mut()
            .insert(RetryStats::new(1, Duration::ZERO, paced));
    }
}

/// The timer of a wait of `delay` before a retry: none for no wait, and
/// [`StopReason::TimersDisabled`] on a runtime without timers (see `timer`).
fn timer_for(delay: Duration) -> Result<Option<Pin<Box<tokio::time::Sleep>>>, StopReason> {
    if delay.is_zero() {
        return Ok(None);
    }
    timer::sleep(delay)
        .map(|sleep| Some(Box::pin(sleep)))
        .ok_or(StopReason::TimersDisabled)
}

/// What the retries of a call need to know of its first attempt.
struct Call {
    method: Method,
    start: Instant,
    /// The instant the call's time limit ends (`None`: no limit).
    deadline: Option<Instant>,
    max_retries: u32,
    idempotent: bool,
}

impl Call {
    /// The call's time limit (`None`: no limit).
    fn limit(&self) -> Option<Duration> {
        self.deadline.map(|deadline| deadline - self.start)
    }

    /// The error of a call that reached its deadline with no answer to
    /// return: an attempt cut off (the one after those in `progress`), or
    /// a turn that would have come too late.
    #[cold]
    fn deadline_exceeded(
        &self,
        progress: Progress,
        turn_after_deadline: bool,
    ) -> reqwest_middleware::Error {
        // The attempts sent: those before, and the one cut off.
        let attempts = progress.retries + u32::from(!turn_after_deadline);
        #[cfg(feature = "tracing")]
        tracing::warn!(
            attempts,
            turn_after_deadline,
            limit_ms = self
                .limit()
                .map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
            "huaweicloud call reached its deadline; giving up"
        );
        reqwest_middleware::Error::middleware(DeadlineExceeded::new(
            self.limit().unwrap_or_default(),
            attempts,
            turn_after_deadline,
            progress.waited,
            progress.paced,
        ))
    }
}

/// How far the retries of a call have come.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// The retries sent so far.
    retries: u32,
    /// The time spent waiting between attempts.
    waited: Duration,
    /// The time spent waiting for turns, beyond the backoff.
    paced: Duration,
}

impl Progress {
    /// What the error of a call that stopped here records.
    fn ended(self, stop: StopReason, retry_after: Option<Duration>) -> RetryInfo {
        RetryInfo {
            attempts: self.retries + 1,
            waited: self.waited,
            paced: self.paced,
            stop: Some(stop),
            retry_after,
        }
    }

    /// Records the resends in the call's span, as OpenTelemetry's
    /// `http.request.resend_count`: once, when the call ends, since a
    /// formatting subscriber prints every value a field was given (absent
    /// when the first attempt was the last, as OpenTelemetry leaves it unset).
    fn record_in_span(self) {
        #[cfg(feature = "tracing")]
        if self.retries > 0 {
            tracing::Span::current().record("http.request.resend_count", self.retries);
        }
    }

    /// A response that needed retries, with its [`RetryStats`].
    fn stamp(self, mut response: Response) -> Response {
        response.extensions_mut().insert(RetryStats::new(
            self.retries + 1,
            self.waited,
            self.paced,
        ));
        response
    }
}

/// The outcome of one failed attempt.
enum Attempt {
    Answer(ApiError),
    Transport(reqwest::Error),
}

impl Attempt {
    /// What went wrong, as far as retrying is concerned; `redirected` is
    /// what [`redirected`](Attempt::redirected) found.
    fn failure(&self, redirected: bool) -> Failure {
        match self {
            Attempt::Answer(err) => Failure::Answer {
                classification: err.classification(),
                status: err.status(),
            },
            // A connect failure at a redirect's target: the first hop
            // received the request, so nothing proves it had no effect.
            Attempt::Transport(err) if err.is_connect() && redirected => {
                Failure::AfterSend { timeout: false }
            }
            Attempt::Transport(err) if err.is_connect() => Failure::Connect,
            Attempt::Transport(err) if err.is_timeout() => Failure::AfterSend { timeout: true },
            Attempt::Transport(err) if err.is_request() || err.is_body() => {
                Failure::AfterSend { timeout: false }
            }
            Attempt::Transport(_) => Failure::Permanent,
        }
    }
}

/// Where a connect failure happened, as far as the middleware can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectAt {
    /// At the URL's own host: nothing was sent.
    FirstHop,
    /// At the target of a redirect: the first hop received the request.
    Redirect,
    /// At this address on the URL's port, whose host is a name: a first hop
    /// if the name resolves to it, else a redirect to another host.
    Named(std::net::SocketAddr),
}

/// Where the connect failure `err` happened: at `url` itself, or at the
/// target of a redirect, which means the first hop got the request.
///
/// reqwest reports a failure during a redirect with the URL of the request
/// as sent (its redirects run inside one `execute`), so the only trace of
/// where it happened is the address in hyper-util's `ConnectError`, a type
/// it does not export: its `Debug` form is `ConnectError("tcp connect
/// error", 127.0.0.1:8080, Os { .. })`. An address whose port differs from
/// the URL's, or an IP that differs from the URL's IP literal, is a redirect
/// target; on the same port of a URL that names its host, the name decides
/// ([`first_hop_of`]). The tests `a_post_redirected_to_a_closed_port_is_sent_once`
/// and `a_post_redirected_to_another_host_on_the_same_port_is_sent_once` pin
/// the format.
#[cold]
fn connect_failure_at(err: &reqwest::Error, url: &reqwest::Url) -> ConnectAt {
    let Some(addr) = connect_failure_addr(err) else {
        // No address (a DNS failure, say): nothing was connected to.
        return ConnectAt::FirstHop;
    };
    if url.port_or_known_default() != Some(addr.port()) {
        return ConnectAt::Redirect;
    }
    let Some(host) = url.host_str() else {
        return ConnectAt::Redirect;
    };
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(ip) if ip == addr.ip() => ConnectAt::FirstHop,
        Ok(_) => ConnectAt::Redirect,
        Err(_) => ConnectAt::Named(addr),
    }
}

/// Whether `host` (on `addr`'s port) resolves to `addr`: then a connect
/// failure there was at the first hop. Asked only for a write that failed to
/// connect on the port of a URL naming its host; a lookup that fails, or
/// takes longer than [`NAME_LOOKUP_LIMIT`], counts as a redirect, so that
/// the doubt never sends a write twice.
#[cold]
async fn first_hop_of(host: &str, addr: std::net::SocketAddr) -> bool {
    let lookup = tokio::net::lookup_host((host, addr.port()));
    let mut found = false;
    let finished = crate::timer::with_deadline(Some(NAME_LOOKUP_LIMIT), async {
        if let Ok(mut addrs) = lookup.await {
            found = addrs.any(|a| a.ip() == addr.ip());
        }
    })
    .await;
    !finished && found
}

/// How long [`first_hop_of`] waits for the resolver.
const NAME_LOOKUP_LIMIT: Duration = Duration::from_secs(1);

impl Attempt {
    /// Whether this attempt failed to connect at a redirect's target, so
    /// that the first hop received the request; `request_url` is where it
    /// was sent, when a copy of the request is at hand (without one there is
    /// no retry to decide on). A failure on the port of a URL that names its
    /// host is settled by looking the name up ([`first_hop_of`]), for a write
    /// only: an idempotent call is retried either way.
    async fn redirected(&self, request_url: Option<&reqwest::Url>, idempotent: bool) -> bool {
        let (Attempt::Transport(err), Some(url)) = (self, request_url) else {
            return false;
        };
        if !err.is_connect() {
            return false;
        }
        match (connect_failure_at(err, url), url.host_str()) {
            (ConnectAt::FirstHop, _) => false,
            (ConnectAt::Redirect, _) => true,
            (ConnectAt::Named(_), _) if idempotent => false,
            (ConnectAt::Named(addr), Some(host)) => !first_hop_of(host, addr).await,
            (ConnectAt::Named(_), None) => true,
        }
    }
}

/// The address in the `ConnectError` among the sources of `err`, if any.
fn connect_failure_addr(err: &reqwest::Error) -> Option<std::net::SocketAddr> {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        // Only the sources are formatted: the reqwest error itself shows the
        // URL, query included.
        let text = format!("{e:?}");
        if let Some(rest) = text.strip_prefix("ConnectError(\"") {
            // Past the message's closing quote: `", <addr>, <cause>)`.
            let (_, after) = rest.split_once("\", ")?;
            let addr = after.split([',', ')']).next()?;
            return addr.trim().parse().ok();
        }
        source = e.source();
    }
    None
}

#[cfg(feature = "tracing")]
impl Attempt {
    fn status(&self) -> Option<u16> {
        match self {
            Attempt::Answer(err) => Some(err.status().as_u16()),
            Attempt::Transport(err) => err.status().map(|s| s.as_u16()),
        }
    }

    fn code(&self) -> Option<&str> {
        match self {
            Attempt::Answer(err) => err.code().map(|c| c.as_str()),
            Attempt::Transport(_) => None,
        }
    }

    fn class(&self) -> &'static str {
        match self {
            Attempt::Answer(err) => err.class().as_str(),
            Attempt::Transport(err) if err.is_connect() => "transport_connect",
            Attempt::Transport(err) if err.is_timeout() => "transport_timeout",
            Attempt::Transport(_) => "transport",
        }
    }

    fn request_id(&self) -> Option<&str> {
        match self {
            Attempt::Answer(err) => err.request_id(),
            Attempt::Transport(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use reqwest_middleware::ClientBuilder;

    use super::*;

    /// A layer around an [`ErrorMiddleware`] that notes the size of the
    /// future each call is made of, then runs it.
    struct Probe {
        inner: ErrorMiddleware,
        /// The sizes of `run`'s future and of the future `handle` boxes.
        sizes: Arc<Mutex<Option<(usize, usize)>>>,
    }

    impl Middleware for Probe {
        fn handle<'s, 'e, 'n, 'fut>(
            &'s self,
            req: Request,
            extensions: &'e mut Extensions,
            next: Next<'n>,
        ) -> CallFuture<'fut>
        where
            's: 'fut,
            'e: 'fut,
            'n: 'fut,
            Self: 'fut,
        {
            let run = std::mem::size_of_val(&self.inner.run(
                req.try_clone().unwrap(),
                extensions,
                next.clone(),
            ));
            let boxed = self.inner.handle(req, extensions, next);
            *self.sizes.lock().unwrap() = Some((run, std::mem::size_of_val(&*boxed)));
            boxed
        }
    }

    /// Every call boxes and moves its future, so its size is a cost of the
    /// success path: it is 608 bytes, and must not grow unnoticed. (Retries
    /// run in a second future, boxed only when the first attempt fails.)
    /// It was 384 before the whole-call deadline: the first attempt now runs
    /// under the deadline's timer (a `tokio::time::Sleep`, 112 bytes), which
    /// sits in the future with the state of racing it against the attempt;
    /// held inline, it costs a larger box instead of a second allocation
    /// per call. The
    /// wait for a turn under adaptive throttling is boxed, so it adds only
    /// a pointer.
    #[tokio::test]
    async fn the_call_future_is_at_most_608_bytes() {
        let sizes = Arc::new(Mutex::new(None));
        let probe = Probe {
            inner: ErrorMiddleware::builder().max_retries(0).build(),
            sizes: sizes.clone(),
        };
        let client = ClientBuilder::new(reqwest::Client::new())
            .with(probe)
            .build();
        // Nothing listens on port 1: the call fails at once, after the
        // futures were measured.
        let _ = client.get("http://127.0.0.1:1/").send().await;
        let (run, boxed) = sizes.lock().unwrap().expect("the probe saw the call");
        assert!(run <= 608, "the call future is {run} bytes");
        // With `tracing`, an enabled span adds itself around it.
        assert!(boxed <= run + 64, "the boxed future is {boxed} bytes");
        eprintln!("call future: {run} bytes, boxed: {boxed} bytes");
    }
}
