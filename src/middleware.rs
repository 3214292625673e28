//! [`ErrorMiddleware`]: the `reqwest-middleware` layer that turns error
//! answers into [`ApiError`]s and retries the transient ones.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Extensions;
use reqwest::{Method, Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};
use tokio::time::Instant;

use crate::budget::{RetryBudget, Sent, Withdrawal};
use crate::deadline::{DeadlineExceeded, MaxElapsed};
use crate::error::{RetryInfo, sanitize_url};
use crate::retry::{Backoff, Failure, RetryRule, is_idempotent_method, parse_retry_after};
use crate::throttle::{HostKey, Pacer, Signal, ThrottleLimit, Turn};
use crate::{
    ApiError, Classifier, DEFAULT_BODY_LIMIT, DefaultClassifier, ErrorClass, Idempotent,
    MaxRetries, NoRetry, Reason, ResendCount, RetryStats, StopReason,
};

/// The `reqwest-middleware` layer: passes successful answers through
/// untouched, decodes every 4xx and 5xx answer into an [`ApiError`], and
/// retries the transient ones safely.
///
/// A clone shares its configuration and its [`RetryBudget`] with the original.
///
/// # What is retried
///
/// | failure | retried for |
/// | --- | --- |
/// | concurrent modification (PAP5.0006, AccessAnalyzer.1005), preview not ready (AccessAnalyzer.1019), with a 4xx status | every method: the service rejected the change |
/// | throttling (429, APIGW.0308) | every method, after a longer first wait (2 to 5 s) |
/// | any of these codes with a 5xx status | idempotent calls only: a 5xx proves nothing about the write |
/// | 5xx answers, timeouts, connections broken after sending | idempotent calls only (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or declared with [`Idempotent`]) |
/// | connect failures (nothing was sent) | every method |
/// | user-fixable and permission errors, and any 401 | never |
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

#[derive(Clone)]
struct Config {
    max_retries: u32,
    backoff: Backoff,
    retry_after_ceiling: Duration,
    max_elapsed: Option<Duration>,
    body_limit: usize,
    body_read_timeout: Option<Duration>,
    pass_through: StatusSet,
    assume_idempotent: bool,
    classifier: Arc<dyn Classifier>,
    jitter_seed: Option<u64>,
    budget: Option<RetryBudget>,
    /// The turns of adaptive throttling, when it is on.
    pacer: Option<Pacer>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_retries: 3,
            backoff: Backoff {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(20),
                throttle: Duration::from_secs(2),
            },
            retry_after_ceiling: Duration::from_secs(20),
            max_elapsed: Some(Duration::from_secs(30)),
            body_limit: DEFAULT_BODY_LIMIT,
            body_read_timeout: Some(crate::DEFAULT_BODY_READ_TIMEOUT),
            pass_through: StatusSet::EMPTY,
            assume_idempotent: false,
            classifier: Arc::new(DefaultClassifier),
            jitter_seed: None,
            budget: None,
            pacer: None,
        }
    }
}

impl ErrorMiddleware {
    /// The middleware with the default settings; the same as `default()`.
    pub fn new() -> Self {
        ErrorMiddleware::builder().build()
    }

    /// A builder starting from the default settings.
    pub fn builder() -> ErrorMiddlewareBuilder {
        ErrorMiddlewareBuilder {
            config: Config::default(),
            budget: BudgetSetting::OwnBucket,
            adaptive_throttling: false,
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

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorMiddleware")
            .field("max_retries", &self.max_retries)
            .field("initial_backoff", &self.backoff.initial)
            .field("max_backoff", &self.backoff.max)
            .field("throttle_backoff", &self.backoff.throttle)
            .field("retry_after_ceiling", &self.retry_after_ceiling)
            .field("max_elapsed", &self.max_elapsed)
            .field("body_limit", &self.body_limit)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("pass_through", &self.pass_through)
            .field("assume_idempotent", &self.assume_idempotent)
            .field("classifier", &self.classifier)
            .field("jitter_seed", &self.jitter_seed)
            .field("retry_budget", &self.budget)
            .field("adaptive_throttling", &self.pacer.is_some())
            .finish()
    }
}

/// Builds an [`ErrorMiddleware`]; see its `# Default` table.
///
/// ```
/// use std::time::Duration;
/// use huaweicloud_errors::ErrorMiddleware;
/// use reqwest::StatusCode;
///
/// let middleware = ErrorMiddleware::builder()
///     .max_retries(5)
///     .initial_backoff(Duration::from_millis(100))
///     .max_backoff(Duration::from_secs(10))
///     .pass_through(StatusCode::NOT_FOUND) // an existence check wants the 404
///     .build();
/// # let _ = middleware;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ErrorMiddlewareBuilder {
    config: Config,
    budget: BudgetSetting,
    /// Made into a pacer of its own by each `build`, as the budget is.
    adaptive_throttling: bool,
}

/// The budget a builder gives the middlewares it builds.
#[derive(Debug, Clone)]
enum BudgetSetting {
    /// A new bucket for each middleware built (clones of a builder do not
    /// share one by accident).
    OwnBucket,
    Shared(RetryBudget),
    Off,
}

impl ErrorMiddlewareBuilder {
    /// Retries after the first attempt; 0 decodes errors without retrying.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.config.max_retries = retries;
        self
    }

    /// The ceiling of the first full-jitter wait; it doubles with each retry.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.config.backoff.initial = delay;
        self
    }

    /// The longest single wait.
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.config.backoff.max = delay;
        self
    }

    /// The least wait after a throttled answer (429, APIGW.0308); the first
    /// wait is drawn from this to 2.5 times this, then doubles.
    pub fn throttle_backoff(mut self, delay: Duration) -> Self {
        self.config.backoff.throttle = delay;
        self
    }

    /// The longest `Retry-After` honoured. A longer one ends the call at
    /// once, with the hint on the error ([`ApiError::retry_after`]).
    pub fn retry_after_ceiling(mut self, ceiling: Duration) -> Self {
        self.config.retry_after_ceiling = ceiling;
        self
    }

    /// The deadline of a whole call, attempts, waits and turns included,
    /// counted from the call's start; `None` for no deadline. Overridden per
    /// request by [`MaxElapsed`].
    ///
    /// No attempt runs past it: each one is bounded by the time that remains
    /// (a shorter `reqwest` timeout of the request or client still applies).
    /// The call ends at the deadline with:
    /// - the last [`ApiError`], with [`StopReason::TimeLimit`], when a wait
    ///   for the next attempt (a backoff, or a turn under
    ///   [`adaptive_throttling`](Self::adaptive_throttling)) would end past it:
    ///   then the call ends at once, before the deadline;
    /// - [`DeadlineExceeded`] when the deadline cut an attempt off, or when
    ///   the first attempt's turn would come after it.
    ///
    /// An attempt cut off may have reached the server, so it is never sent
    /// again; nor is any other, since no time is left. The body read deadline
    /// ([`body_read_timeout`](Self::body_read_timeout)) and the retry budget
    /// work within it as before.
    pub fn max_elapsed(mut self, limit: Option<Duration>) -> Self {
        self.config.max_elapsed = limit;
        self
    }

    /// How much of an error body is read and decoded; the rest is never
    /// buffered (the connection is closed instead of drained).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// How long reading an error body may take; `None` for no limit. A
    /// server that drips its error body is cut off after this, and what
    /// arrived is decoded.
    pub fn body_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.body_read_timeout = timeout;
        self
    }

    /// Lets answers with this status through as ordinary responses, undecoded
    /// and never retried (for example 404 in an existence check). Statuses
    /// below 400 always pass through.
    pub fn pass_through(mut self, status: StatusCode) -> Self {
        self.config.pass_through.insert(status);
        self
    }

    /// Treats every call as idempotent, so that 5xx answers and timeouts are
    /// retried for POST too. Only for services whose writes are all safe to
    /// repeat; prefer the per-request [`Idempotent`] extension.
    pub fn assume_idempotent(mut self, yes: bool) -> Self {
        self.config.assume_idempotent = yes;
        self
    }

    /// Classifies errors with `classifier` instead of the built-in rules
    /// (see [`Rules`](crate::Rules)).
    pub fn classifier(mut self, classifier: impl Classifier) -> Self {
        self.config.classifier = Arc::new(classifier);
        self
    }

    /// Draws the jitter from a generator seeded with `seed` afresh for each
    /// call, so that waits are reproducible in tests. Not for production:
    /// every call then waits the same, which is what jitter exists to avoid.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.config.jitter_seed = Some(seed);
        self
    }

    /// Draws retries from `budget`, which may be shared with other middlewares.
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = BudgetSetting::Shared(budget);
        self
    }

    /// Retries without a budget: only `max_retries` and the time limit bound them.
    pub fn without_retry_budget(mut self) -> Self {
        self.budget = BudgetSetting::Off;
        self
    }

    /// Paces the calls sent to a host once its gateway has throttled one
    /// (a 429, APIGW.0308), so that the callers of this middleware and its
    /// clones stay under the gateway's limit instead of each retrying on
    /// its own. Off by default.
    ///
    /// After a throttled answer, every attempt to that host (first attempts
    /// and retries alike) waits for a turn: turns come at the limit the
    /// gateway's message states (`limit:200,time:5 minute`, paced at 90% of
    /// it), spread evenly over the window, or, for a 429 that states none, at
    /// an adaptive rate (cut by 30% on each throttle, grown back on
    /// successes, as AWS's client rate limiter does). Pacing ends after a
    /// window in which nothing was throttled and no call had to wait.
    ///
    /// The state is per host (and port), shared by the middleware's clones as
    /// the retry budget is: the gateway counts its `user`, `api` and `ip`
    /// policies per endpoint, and the host is what a client can tell
    /// endpoints apart by. A call whose turn would come after its deadline
    /// ([`max_elapsed`](Self::max_elapsed)) ends at once; a call dropped
    /// while it waits gives its turn back. The time waited is
    /// [`RetryStats::paced`] on a response and [`ApiError::paced`] on an error.
    ///
    /// # When to turn it on
    ///
    /// For batch work and many concurrent callers against one account's
    /// quota (imports, sweeps, terraform-like tools): there, throttled
    /// attempts use up the quota they are waiting for. It is off by default
    /// because it makes calls wait in the client, in order, for turns the
    /// gateway might not have enforced, and because a limit learned from one
    /// call's answer is applied to every call to that host: a process making
    /// a few interactive calls gains nothing and can lose latency.
    pub fn adaptive_throttling(mut self, on: bool) -> Self {
        self.adaptive_throttling = on;
        self
    }

    /// The middleware.
    pub fn build(self) -> ErrorMiddleware {
        let mut config = self.config;
        config.budget = match self.budget {
            BudgetSetting::OwnBucket => Some(RetryBudget::new()),
            BudgetSetting::Shared(budget) => Some(budget),
            BudgetSetting::Off => None,
        };
        config.pacer = self.adaptive_throttling.then(Pacer::default);
        ErrorMiddleware {
            config: Arc::new(config),
        }
    }
}

/// A set of error statuses (400 to 599).
#[derive(Clone, Copy, PartialEq, Eq)]
struct StatusSet([u64; 4]);

impl StatusSet {
    const EMPTY: StatusSet = StatusSet([0; 4]);

    fn index(status: StatusCode) -> Option<usize> {
        let code = usize::from(status.as_u16());
        (400..600).contains(&code).then(|| code - 400)
    }

    fn insert(&mut self, status: StatusCode) {
        if let Some(i) = StatusSet::index(status) {
            self.0[i / 64] |= 1 << (i % 64);
        }
    }

    fn contains(&self, status: StatusCode) -> bool {
        StatusSet::index(status).is_some_and(|i| self.0[i / 64] & (1 << (i % 64)) != 0)
    }
}

impl fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(
                (400..600u16).filter(|&c| StatusCode::from_u16(c).is_ok_and(|s| self.contains(s))),
            )
            .finish()
    }
}

/// The outcome of one failed attempt.
enum Attempt {
    Answer(ApiError),
    Transport(reqwest::Error),
}

/// What to do after a failed attempt.
// Made once per failed attempt and matched at once: boxing the request would
// only add an allocation to every retry.
#[allow(clippy::large_enum_variant)]
enum Decision {
    Retry {
        delay: Duration,
        withdrawal: Option<Withdrawal>,
        next_request: Request,
    },
    Stop(StopReason),
}

macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::event!(tracing::Level::$level, $($arg)*);
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
                .map_or(config.max_retries, |m| m.0)
        };
        let idempotent = extensions.get::<Idempotent>().map_or_else(
            || config.assume_idempotent || is_idempotent_method(req.method()),
            |i| i.0,
        );
        let start = Instant::now();
        let limit = extensions
            .get::<MaxElapsed>()
            .map_or(config.max_elapsed, |m| m.0);
        let call = Call {
            method: req.method().clone(),
            start,
            limit,
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
            let (attempt, turn) = {
                let Some(req) = slot.take() else {
                    unreachable!("the slot holds the request until the first attempt")
                };
                // Keep a copy for the next attempt only while one may follow.
                if max_retries > 0 {
                    slot = req.try_clone();
                }
                let turn = config.pacer.as_ref().and_then(|pacer| {
                    Some(pacer.turn(HostKey::of(req.url())?, Instant::now(), call.deadline))
                });
                (next.clone().run(req, extensions), turn)
            };
            let mut paced = Duration::ZERO;
            match turn {
                None | Some(Turn::Now) => {}
                Some(Turn::At(reserved)) => {
                    let from = Instant::now();
                    // Boxed: only a paced call pays for the timer's room.
                    Box::pin(reserved.wait()).await;
                    paced = from.elapsed();
                }
                Some(Turn::TooLate) => {
                    return Err(call.deadline_exceeded(0, true, Duration::ZERO, paced));
                }
            }
            let outcome = match call.deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, attempt).await {
                    Ok(outcome) => outcome,
                    Err(_) => return Err(call.deadline_exceeded(1, false, Duration::ZERO, paced)),
                },
                None => attempt.await,
            };
            let retry = match outcome {
                Ok(response) if self.passes(response.status()) => {
                    if let Some(budget) = &config.budget {
                        budget.deposit_success();
                    }
                    let mut response = response;
                    if let Some(pacer) = &config.pacer {
                        self.pass_on(pacer, &mut response, paced);
                    }
                    return Ok(response);
                }
                outcome => Box::pin(self.retry(call, outcome, slot, extensions, next, paced)),
            };
            retry.await
        }
    }

    /// Tells the pacer that the first attempt's answer passed the gateway,
    /// and records the wait for its turn, if it waited.
    #[cold]
    fn pass_on(&self, pacer: &Pacer, response: &mut Response, paced: Duration) {
        if let Some(key) = HostKey::of(response.url()) {
            pacer.answered(key, Instant::now(), Signal::Passed);
        }
        if !paced.is_zero() {
            response.extensions_mut().insert(RetryStats {
                attempts: 1,
                waited: Duration::ZERO,
                paced,
            });
        }
    }

    /// Whether an answer with `status` goes back to the caller as it is.
    fn passes(&self, status: StatusCode) -> bool {
        status.as_u16() < 400 || self.config.pass_through.contains(status)
    }

    /// The call after its first attempt failed with `outcome`: decodes the
    /// error, and retries while the rules and the budget allow.
    async fn retry(
        &self,
        call: Call,
        mut outcome: reqwest_middleware::Result<Response>,
        mut spare: Option<Request>,
        extensions: &mut Extensions,
        next: Next<'_>,
        mut paced: Duration,
    ) -> reqwest_middleware::Result<Response> {
        let config = &*self.config;
        // Made at the first decision to retry.
        let mut rng: Option<fastrand::Rng> = None;
        let mut waited = Duration::ZERO;
        // The tokens of the retry in flight: they stay spent (even if the
        // call is dropped while the retry is in flight) unless it succeeds.
        let mut paid: Option<Sent> = None;
        let mut resend = 0u32;
        loop {
            // The server's hint on an error answer, if it gave one.
            let mut retry_after = None;
            let attempt = match outcome {
                Ok(response) => {
                    if self.passes(response.status()) {
                        // Only a retry gets here (`run` returns a first
                        // attempt that passes): its tokens go back.
                        debug_assert!(resend > 0, "a first attempt that passes never gets here");
                        if let Some(paid) = paid {
                            paid.refund();
                        }
                        let mut response = response;
                        response.extensions_mut().insert(RetryStats {
                            attempts: resend + 1,
                            waited,
                            paced,
                        });
                        if let Some(pacer) = &config.pacer {
                            if let Some(key) = HostKey::of(response.url()) {
                                pacer.answered(key, Instant::now(), Signal::Passed);
                            }
                        }
                        return Ok(response);
                    }
                    retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    // Where the answer came from, for the pacer.
                    let answered_by = config.pacer.as_ref().map(|_| response.url().clone());
                    // Boxed: inline, the state of reading an error body would
                    // be held in this future across every backoff and retry.
                    let err = Box::pin(ApiError::read(
                        response,
                        config.body_limit,
                        config.body_read_timeout,
                        &*config.classifier,
                    ))
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
                    Attempt::Answer(err)
                }
                Err(reqwest_middleware::Error::Reqwest(err)) => Attempt::Transport(err),
                // Another middleware's own error: not ours to retry.
                Err(other) => return Err(other),
            };
            // The attempt failed: a retry's tokens stay spent.
            drop(paid.take());

            let failure = failure_of(&attempt, spare.as_ref().map(Request::url));
            let decision = self.decide(Decide {
                failure,
                idempotent: call.idempotent,
                resend,
                max_retries: call.max_retries,
                spare: spare.take(),
                retry_after,
                elapsed: call.start.elapsed(),
                limit: call.limit,
                rng: &mut rng,
            });
            let (delay, withdrawal, request) = match decision {
                Decision::Retry {
                    delay,
                    withdrawal,
                    next_request,
                } => (delay, withdrawal, next_request),
                Decision::Stop(stop) => {
                    let info = RetryInfo {
                        attempts: resend + 1,
                        waited,
                        paced,
                        stop: Some(stop),
                        retry_after,
                    };
                    return Err(Self::give_up(attempt, failure, info, &call.method));
                }
            };
            // The retry's turn, at the end of the backoff or later.
            let backoff_end = Instant::now() + delay;
            let turn = config.pacer.as_ref().and_then(|pacer| {
                Some(pacer.turn(HostKey::of(request.url())?, backoff_end, call.deadline))
            });
            let reserved = match turn {
                None | Some(Turn::Now) => None,
                Some(Turn::At(reserved)) => Some(reserved),
                Some(Turn::TooLate) => {
                    let info = RetryInfo {
                        attempts: resend + 1,
                        waited,
                        paced,
                        stop: Some(StopReason::TimeLimit),
                        retry_after,
                    };
                    return Err(Self::give_up(attempt, failure, info, &call.method));
                }
            };
            event!(
                WARN,
                attempt = resend + 1,
                http.request.resend_count = resend,
                status = attempt_status(&attempt),
                code = attempt_code(&attempt),
                class = attempt_class(&attempt),
                request_id = attempt_request_id(&attempt),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "huaweicloud call failed; retrying"
            );
            drop(attempt);
            // Tokens for the retry being waited for: dropped with the call
            // during the backoff, they go back to the bucket.
            let held = withdrawal;
            match reserved {
                None => Box::pin(tokio::time::sleep_until(backoff_end)).await,
                Some(reserved) => {
                    paced =
                        paced.saturating_add(reserved.at().saturating_duration_since(backoff_end));
                    Box::pin(reserved.wait()).await;
                }
            }
            waited = waited.saturating_add(delay);
            resend += 1;

            // Absent on the first attempt, as OpenTelemetry leaves
            // `http.request.resend_count` unset there.
            extensions.insert(ResendCount(resend));
            #[cfg(feature = "tracing")]
            tracing::Span::current().record("http.request.resend_count", resend);
            spare = if resend < call.max_retries {
                request.try_clone()
            } else {
                None
            };
            // From here the retry reaches the server.
            paid = held.map(Withdrawal::send);
            let attempt = next.clone().run(request, extensions);
            outcome = match call.deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, attempt).await {
                    Ok(outcome) => outcome,
                    // Cut off, it may have reached the server: it stays paid
                    // for and is not sent again.
                    Err(_) => {
                        return Err(call.deadline_exceeded(resend + 1, false, waited, paced));
                    }
                },
                None => attempt.await,
            };
        }
    }

    /// The error the call ends with, after logging that it gave up.
    fn give_up(
        attempt: Attempt,
        failure: Failure,
        info: RetryInfo,
        method: &Method,
    ) -> reqwest_middleware::Error {
        macro_rules! gave_up {
            ($level:ident) => {
                event!(
                    $level,
                    attempts = info.attempts,
                    status = attempt_status(&attempt),
                    code = attempt_code(&attempt),
                    class = attempt_class(&attempt),
                    request_id = attempt_request_id(&attempt),
                    waited_ms = u64::try_from(info.waited.as_millis()).unwrap_or(u64::MAX),
                    stop_reason = info.stop.map(StopReason::as_str),
                    "huaweicloud call failed; giving up"
                )
            };
        }
        // A 404 or 409 the caller expects is no warning; giving up on a
        // transient failure is.
        if failure.retry_rule() == RetryRule::Never {
            gave_up!(DEBUG);
        } else {
            gave_up!(WARN);
        }
        match attempt {
            Attempt::Answer(mut err) => {
                err.set_retry(info);
                err.set_method(method.clone());
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

    fn decide(&self, d: Decide<'_>) -> Decision {
        let config = &*self.config;
        match d.failure.retry_rule() {
            RetryRule::Never => return Decision::Stop(StopReason::NotRetryable),
            RetryRule::IdempotentOnly if !d.idempotent => {
                return Decision::Stop(StopReason::NotIdempotent);
            }
            RetryRule::IdempotentOnly | RetryRule::AnyMethod => {}
        }
        if d.max_retries == 0 {
            return Decision::Stop(StopReason::RetriesDisabled);
        }
        if d.resend >= d.max_retries {
            return Decision::Stop(StopReason::RetriesExhausted);
        }
        let Some(next_request) = d.spare else {
            return Decision::Stop(StopReason::BodyNotCloneable);
        };
        if d.retry_after
            .is_some_and(|hint| hint > config.retry_after_ceiling)
        {
            return Decision::Stop(StopReason::RetryAfterTooLong);
        }
        let throttled = matches!(
            d.failure,
            Failure::Answer {
                reason: Reason::Throttled,
                ..
            }
        );
        let rng = d.rng.get_or_insert_with(|| {
            config
                .jitter_seed
                .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed)
        });
        let backoff = config.backoff.delay(d.resend, throttled, rng);
        let delay = d.retry_after.map_or(backoff, |hint| hint.max(backoff));
        if d.limit
            .is_some_and(|limit| d.elapsed.saturating_add(delay) > limit)
        {
            return Decision::Stop(StopReason::TimeLimit);
        }
        let withdrawal = match &config.budget {
            Some(budget) => {
                let after_timeout = matches!(d.failure, Failure::AfterSend { timeout: true });
                match budget.withdraw(after_timeout) {
                    Some(w) => Some(w),
                    None => return Decision::Stop(StopReason::BudgetExhausted),
                }
            }
            None => None,
        };
        Decision::Retry {
            delay,
            withdrawal,
            next_request,
        }
    }
}

/// What the retries of a call need to know of its first attempt.
struct Call {
    method: Method,
    start: Instant,
    /// The call's time limit, and the instant it ends (`None`: no limit).
    limit: Option<Duration>,
    deadline: Option<Instant>,
    max_retries: u32,
    idempotent: bool,
}

impl Call {
    /// The error of a call that reached its deadline with no answer to return.
    #[cold]
    fn deadline_exceeded(
        &self,
        attempts: u32,
        turn_after_deadline: bool,
        waited: Duration,
        paced: Duration,
    ) -> reqwest_middleware::Error {
        event!(
            WARN,
            attempts,
            turn_after_deadline,
            limit_ms = self
                .limit
                .map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)),
            "huaweicloud call reached its deadline; giving up"
        );
        reqwest_middleware::Error::middleware(DeadlineExceeded::new(
            self.limit.unwrap_or_default(),
            attempts,
            turn_after_deadline,
            waited,
            paced,
        ))
    }
}

struct Decide<'a> {
    failure: Failure,
    idempotent: bool,
    resend: u32,
    max_retries: u32,
    /// A copy of the request for the next attempt, if one could be made.
    spare: Option<Request>,
    retry_after: Option<Duration>,
    elapsed: Duration,
    limit: Option<Duration>,
    rng: &'a mut Option<fastrand::Rng>,
}

/// What went wrong on `attempt`, sent to `request_url` (when a copy of the
/// request is at hand to tell).
fn failure_of(attempt: &Attempt, request_url: Option<&reqwest::Url>) -> Failure {
    match attempt {
        Attempt::Answer(err) => Failure::Answer {
            retryable: err.class() == ErrorClass::Retryable,
            reason: err.reason(),
            authentication: err.status() == StatusCode::UNAUTHORIZED
                || err.reason() == Reason::Authentication,
            client_error: err.status().is_client_error(),
        },
        // A connect failure at a redirect's target: the first hop received
        // the request, so nothing proves it had no effect.
        Attempt::Transport(err)
            if err.is_connect() && request_url.is_some_and(|url| redirected(err, url)) =>
        {
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

/// Whether the connect failure `err` happened somewhere other than `url`:
/// at the target of a redirect, which means the first hop got the request.
///
/// reqwest reports a failure during a redirect with the URL of the request
/// as sent (its redirects run inside one `execute`), so the only trace of
/// where it happened is the address in hyper-util's `ConnectError`, a type
/// it does not export: its `Debug` form is `ConnectError("tcp connect
/// error", 127.0.0.1:8080, Os { .. })`. An address whose port differs from
/// the URL's, or an IP that differs from the URL's IP literal, is a redirect
/// target. A redirect to another host on the same port is not detected when
/// the URL names a host by name (its address is not known here); the test
/// `a_post_redirected_to_a_closed_port_is_sent_once` pins the format.
#[cold]
fn redirected(err: &reqwest::Error, url: &reqwest::Url) -> bool {
    let Some(addr) = connect_failure_addr(err) else {
        return false;
    };
    if url.port_or_known_default() != Some(addr.port()) {
        return true;
    }
    let ip_literal = url
        .host_str()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|host| host.parse::<std::net::IpAddr>().ok());
    ip_literal.is_some_and(|ip| ip != addr.ip())
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
fn attempt_status(attempt: &Attempt) -> Option<u16> {
    match attempt {
        Attempt::Answer(err) => Some(err.status().as_u16()),
        Attempt::Transport(err) => err.status().map(|s| s.as_u16()),
    }
}

#[cfg(feature = "tracing")]
fn attempt_code(attempt: &Attempt) -> Option<&str> {
    match attempt {
        Attempt::Answer(err) => err.code().map(|c| c.as_str()),
        Attempt::Transport(_) => None,
    }
}

#[cfg(feature = "tracing")]
fn attempt_class(attempt: &Attempt) -> &'static str {
    match attempt {
        Attempt::Answer(err) => err.class().as_str(),
        Attempt::Transport(err) if err.is_connect() => "transport_connect",
        Attempt::Transport(err) if err.is_timeout() => "transport_timeout",
        Attempt::Transport(_) => "transport",
    }
}

#[cfg(feature = "tracing")]
fn attempt_request_id(attempt: &Attempt) -> Option<&str> {
    match attempt {
        Attempt::Answer(err) => err.request_id(),
        Attempt::Transport(_) => None,
    }
}
