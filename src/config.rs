//! The middleware's settings and [`ErrorMiddlewareBuilder`], which sets them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::budget::RetryBudget;
use crate::middleware::ErrorMiddleware;
use crate::retry::{Backoff, RetryPolicy};
use crate::throttle::Pacer;
use crate::{Classifier, DEFAULT_BODY_LIMIT, DefaultClassifier};

/// What an [`ErrorMiddleware`] was built with; shared by its clones.
#[derive(Clone)]
pub(crate) struct Config {
    /// The limits the retry decision applies.
    pub(crate) policy: RetryPolicy,
    pub(crate) body_limit: usize,
    pub(crate) body_read_timeout: Option<Duration>,
    pub(crate) pass_through: StatusSet,
    pub(crate) assume_idempotent: bool,
    pub(crate) classifier: Arc<dyn Classifier>,
    pub(crate) jitter_seed: Option<u64>,
    pub(crate) budget: Option<RetryBudget>,
    /// The turns of adaptive throttling, when it is on.
    pub(crate) pacer: Option<Pacer>,
    /// The level of the retry and give-up events.
    #[cfg(feature = "tracing")]
    pub(crate) log_level: tracing::Level,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: RetryPolicy {
                max_retries: 3,
                backoff: Backoff {
                    initial: Duration::from_millis(200),
                    max: Duration::from_secs(20),
                    throttle: Duration::from_secs(2),
                },
                retry_after_ceiling: Duration::from_secs(20),
                max_elapsed: Some(Duration::from_secs(30)),
            },
            body_limit: DEFAULT_BODY_LIMIT,
            body_read_timeout: Some(crate::DEFAULT_BODY_READ_TIMEOUT),
            pass_through: StatusSet::EMPTY,
            assume_idempotent: false,
            classifier: Arc::new(DefaultClassifier),
            jitter_seed: None,
            budget: None,
            pacer: None,
            #[cfg(feature = "tracing")]
            log_level: tracing::Level::WARN,
        }
    }
}

impl Config {
    /// Whether an answer with `status` goes back to the caller as it is.
    pub(crate) fn passes(&self, status: StatusCode) -> bool {
        status.as_u16() < 400 || self.pass_through.contains(status)
    }

    /// The jitter generator for one call's retries.
    pub(crate) fn rng(&self) -> fastrand::Rng {
        self.jitter_seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = &self.policy;
        let mut f = f.debug_struct("ErrorMiddleware");
        f.field("max_retries", &policy.max_retries)
            .field("initial_backoff", &policy.backoff.initial)
            .field("max_backoff", &policy.backoff.max)
            .field("throttle_backoff", &policy.backoff.throttle)
            .field("retry_after_ceiling", &policy.retry_after_ceiling)
            .field("max_elapsed", &policy.max_elapsed)
            .field("body_limit", &self.body_limit)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("pass_through", &self.pass_through)
            .field("assume_idempotent", &self.assume_idempotent)
            .field("classifier", &self.classifier)
            .field("jitter_seed", &self.jitter_seed)
            .field("retry_budget", &self.budget)
            .field("adaptive_throttling", &self.pacer.is_some());
        #[cfg(feature = "tracing")]
        f.field("retry_log_level", &self.log_level);
        f.finish()
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
    /// A builder with the default settings.
    pub(crate) fn new() -> Self {
        ErrorMiddlewareBuilder {
            config: Config::default(),
            budget: BudgetSetting::OwnBucket,
            adaptive_throttling: false,
        }
    }

    /// Retries after the first attempt; 0 decodes errors without retrying.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.config.policy.max_retries = retries;
        self
    }

    /// The ceiling of the first full-jitter wait; it doubles with each retry.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.config.policy.backoff.initial = delay;
        self
    }

    /// The longest single wait.
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.config.policy.backoff.max = delay;
        self
    }

    /// The least wait after a throttled answer (429, APIGW.0308); the first
    /// wait is drawn from this to 2.5 times this, then doubles.
    pub fn throttle_backoff(mut self, delay: Duration) -> Self {
        self.config.policy.backoff.throttle = delay;
        self
    }

    /// The longest `Retry-After` honoured. A longer one ends the call at
    /// once, with the hint on the error ([`ApiError::retry_after`](crate::ApiError::retry_after)).
    pub fn retry_after_ceiling(mut self, ceiling: Duration) -> Self {
        self.config.policy.retry_after_ceiling = ceiling;
        self
    }

    /// The deadline of a whole call, attempts, waits and turns included,
    /// counted from the call's start; `None` for no deadline. Overridden per
    /// request by [`MaxElapsed`](crate::MaxElapsed).
    ///
    /// No attempt runs past it: each one is bounded by the time that remains
    /// (a shorter `reqwest` timeout of the request or client still applies).
    /// The call ends at the deadline with:
    /// - the last [`ApiError`](crate::ApiError), with [`StopReason::TimeLimit`](crate::StopReason::TimeLimit), when a wait
    ///   for the next attempt (a backoff, or a turn under
    ///   [`adaptive_throttling`](Self::adaptive_throttling)) would end past it:
    ///   then the call ends at once, before the deadline;
    /// - [`DeadlineExceeded`](crate::DeadlineExceeded) when the deadline cut an attempt off, or when
    ///   the first attempt's turn would come after it.
    ///
    /// An attempt cut off may have reached the server, so it is never sent
    /// again; nor is any other, since no time is left. The body read deadline
    /// ([`body_read_timeout`](Self::body_read_timeout)) and the retry budget
    /// work within it as before. On a runtime without tokio's time driver
    /// there is no timer to cut an attempt with: attempts then run to their
    /// end, as without a deadline.
    pub fn max_elapsed(mut self, limit: Option<Duration>) -> Self {
        self.config.policy.max_elapsed = limit;
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
    /// repeat; prefer the per-request [`Idempotent`](crate::Idempotent) extension.
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

    /// The level of the events logged before a retry and when a call gives
    /// up on a failure that could have been retried (a limit stopped it);
    /// WARN by default. Giving up where a retry was never possible (a failure
    /// the rules never retry, or a request with [`NoRetry`](crate::NoRetry),
    /// [`MaxRetries(0)`](crate::MaxRetries) or `max_retries(0)`) is logged at
    /// DEBUG, or at this level if it is finer (`TRACE`).
    ///
    /// ```
    /// use huaweicloud_errors::ErrorMiddleware;
    ///
    /// // Retries are routine here: keep them out of the warnings.
    /// let middleware = ErrorMiddleware::builder()
    ///     .retry_log_level(tracing::Level::INFO)
    ///     .build();
    /// # let _ = middleware;
    /// ```
    #[cfg(feature = "tracing")]
    pub fn retry_log_level(mut self, level: tracing::Level) -> Self {
        self.config.log_level = level;
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
    /// [`RetryStats::paced`](crate::RetryStats::paced) on a response and [`ApiError::paced`](crate::ApiError::paced) on an error.
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
        // Pacing outlasts the longest first wait after a throttle (2.5 times
        // `throttle_backoff`), so that it holds while throttled calls wait.
        let quiet_floor = config.policy.backoff.throttle.saturating_mul(5) / 2;
        config.pacer = self
            .adaptive_throttling
            .then(|| Pacer::new(quiet_floor.min(config.policy.backoff.max)));
        ErrorMiddleware::from_config(config)
    }
}

/// A set of error statuses (400 to 599).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusSet([u64; 4]);

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

    pub(crate) fn contains(&self, status: StatusCode) -> bool {
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
