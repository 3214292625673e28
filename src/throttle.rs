//! Adaptive throttling: the limit API Gateway publishes in its APIGW.0308
//! message ([`ThrottleLimit`]), and the per-host pacer that keeps a client
//! under it.
//!
//! # The pacer
//!
//! After a throttled answer (429), the middleware paces the calls it sends to
//! that host: every attempt, first or retry, takes a *turn* first. Turns are
//! a schedule, not a bucket: each sender reserves the next slot,
//! `next = max(now, next) + window / limit`, so the sends are spread evenly
//! over the window instead of bursting at its start. The rate is the
//! gateway's published limit (90% of it, see [`PUBLISHED_SHARE`]) when its
//! message says one, and otherwise an adaptive rate found as AWS's client
//! rate limiter finds it (CUBIC: cut to 70% on a throttle, grown back along a
//! cubic curve on successes).
//!
//! Pacing stops when the gateway has stopped mattering: after a whole window
//! (one second for an adaptive rate) in which no answer was throttled and no
//! caller had to wait for its turn. A caller that gave up its turn (dropped,
//! timed out) gives the slot back to the next caller.
//!
//! The state sits behind one `std::sync::Mutex`, held only for a few
//! arithmetic steps and never across an `.await`; waits are
//! `tokio::time::sleep_until`, so there is no background task, and
//! `tokio::time::pause` makes tests exact.
//!
//! # Why per host
//!
//! The gateway's `user`, `api` and `ip` policies count calls at one endpoint
//! (one region's service): IAM in one region and ECS in another do not share
//! a quota. The host (with its port) is the finest thing a client can tell
//! those endpoints apart by; it cannot see which API or which policy a given
//! path falls under before the gateway says so. Pacing a host paces every
//! API behind it, which is what the `user` and `ip` policies count anyway.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// Which of the gateway's throttling policies an APIGW.0308 answer names:
/// whose calls the limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThrottleScope {
    /// `policy user`: the calls of one user (account or IAM user).
    User,
    /// `policy api`: the calls of everyone to one API.
    Api,
    /// `policy ip`: the calls from one source address.
    Ip,
}

impl ThrottleScope {
    /// The policy's name as the gateway writes it: `user`, `api` or `ip`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ThrottleScope::User => "user",
            ThrottleScope::Api => "api",
            ThrottleScope::Ip => "ip",
        }
    }
}

impl fmt::Display for ThrottleScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limit API Gateway states in an APIGW.0308 (429) message: at most
/// [`limit`](Self::limit) calls every [`window`](Self::window).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use huaweicloud_errors::{ThrottleLimit, ThrottleScope};
///
/// let message = "The throttling threshold has been reached: \
///                policy user over ratelimit,limit:200,time:5 minute";
/// let limit = ThrottleLimit::parse(message).unwrap();
/// assert_eq!(limit.limit(), 200);
/// assert_eq!(limit.window(), Duration::from_secs(300));
/// assert_eq!(limit.scope(), Some(ThrottleScope::User));
///
/// assert_eq!(ThrottleLimit::parse("Too many requests"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleLimit {
    limit: u32,
    window: Duration,
    scope: Option<ThrottleScope>,
}

impl ThrottleLimit {
    /// A limit of `limit` calls every `window`, or `None` if either is zero.
    pub const fn new(limit: u32, window: Duration, scope: Option<ThrottleScope>) -> Option<Self> {
        if limit == 0 || window.is_zero() {
            return None;
        }
        Some(ThrottleLimit {
            limit,
            window,
            scope,
        })
    }

    /// Reads the limit from a gateway message such as `policy user over
    /// ratelimit,limit:200,time:5 minute`.
    ///
    /// Tolerant of case, of spaces around `:` (or `=`), and of plural or
    /// short units (`second`, `seconds`, `sec`, `s`; `minute`, `min`, `m`;
    /// `hour`, `h`; `day`, `d`). The policy is optional. `None` when there is
    /// no `limit` and `time` with a positive count and a known unit, or when
    /// the window overflows. Never panics.
    pub fn parse(message: &str) -> Option<Self> {
        let text = message.to_ascii_lowercase();
        let limit = u32::try_from(number_after(&text, "limit")?.0).ok()?;
        let (count, rest) = number_after(&text, "time")?;
        let unit = unit_seconds(first_word(rest))?;
        let window = Duration::from_secs(count.checked_mul(unit)?);
        let scope = word_after(&text, "policy").and_then(|word| match word {
            "user" => Some(ThrottleScope::User),
            "api" => Some(ThrottleScope::Api),
            "ip" => Some(ThrottleScope::Ip),
            _ => None,
        });
        ThrottleLimit::new(limit, window, scope)
    }

    /// The calls allowed in each window.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The window the limit counts over.
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// Whose calls the limit counts, when the message says.
    pub const fn scope(&self) -> Option<ThrottleScope> {
        self.scope
    }

    /// The time between two sends at `share` of this limit.
    fn interval(&self, share: f64) -> Duration {
        self.window
            .div_f64(f64::from(self.limit) * share)
            .max(Duration::from_nanos(1))
    }
}

impl fmt::Display for ThrottleLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} calls every {:?}", self.limit, self.window)?;
        if let Some(scope) = self.scope {
            write!(f, " (policy {scope})")?;
        }
        Ok(())
    }
}

/// The positions where `key` starts a word (the byte before is not a letter,
/// so `ratelimit` is not `limit`).
fn word_starts<'t>(text: &'t str, key: &'t str) -> impl Iterator<Item = usize> + 't {
    text.match_indices(key)
        .map(|(at, _)| at)
        .filter(move |&at| at == 0 || !text.as_bytes()[at - 1].is_ascii_alphabetic())
}

/// The number after the first `key :` (or `key =`) in `text`, and the text
/// after the number.
fn number_after<'t>(text: &'t str, key: &str) -> Option<(u64, &'t str)> {
    word_starts(text, key).find_map(|at| {
        let rest = text[at + key.len()..].trim_start();
        let rest = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix('='))?
            .trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number = rest[..digits].parse().ok()?;
        Some((number, &rest[digits..]))
    })
}

/// The word after the first `key` in `text`.
fn word_after<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    word_starts(text, key)
        .map(|at| first_word(&text[at + key.len()..]))
        .find(|word| !word.is_empty())
}

/// The letters at the start of `text`, after any spaces.
fn first_word(text: &str) -> &str {
    let text = text.trim_start();
    let letters = text.bytes().take_while(u8::is_ascii_alphabetic).count();
    &text[..letters]
}

fn unit_seconds(unit: &str) -> Option<u64> {
    match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => Some(1),
        "m" | "min" | "mins" | "minute" | "minutes" => Some(60),
        "h" | "hour" | "hours" => Some(3_600),
        "d" | "day" | "days" => Some(86_400),
        _ => None,
    }
}

/// The share of a published limit the pacer sends at. Below 1 so that
/// timer and network jitter never push one call too many into a window of
/// the gateway's; the rest of the quota is headroom for other clients of the
/// same account.
pub(crate) const PUBLISHED_SHARE: f64 = 0.9;

/// AWS's client rate limiter's constants: the cut on a throttle, the
/// cubic's scale, and the lowest rate it paces at (calls a second).
const CUBIC_BETA: f64 = 0.7;
const CUBIC_SCALE: f64 = 0.4;
const MIN_RATE: f64 = 0.5;
/// The send rate is measured in buckets of this length, smoothed.
const MEASURE_BUCKET: Duration = Duration::from_millis(500);
const MEASURE_SMOOTHING: f64 = 0.8;
/// How long an adaptive pacing must go without a throttle or a wait to end.
const ADAPTIVE_QUIET: Duration = Duration::from_secs(1);
/// The hosts tracked at once; past it the quietest one is forgotten.
const MAX_HOSTS: usize = 64;
/// The turns given back and not yet taken again, kept per host.
const MAX_FREED: usize = 1_024;

/// A host and port, as the pacer tells endpoints apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostKey<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
}

impl<'a> HostKey<'a> {
    /// The host of `url`, if it has one.
    pub(crate) fn of(url: &'a reqwest::Url) -> Option<Self> {
        Some(HostKey {
            host: url.host_str()?,
            port: url.port_or_known_default().unwrap_or(0),
        })
    }
}

/// What an attempt's answer tells the pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A 429: the gateway throttled the call, with the limit if it said one.
    Throttled(Option<ThrottleLimit>),
    /// Any other answer: the gateway let the call through.
    Passed,
}

/// Per-host pacing state, shared by clones (the middleware's clones share it
/// as they share the retry budget).
#[derive(Clone, Default)]
pub(crate) struct Pacer {
    hosts: Arc<Mutex<Vec<HostState>>>,
    /// The least quiet time that ends pacing (see [`Pacer::new`]).
    quiet_floor: Duration,
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paced = self.lock().iter().filter(|h| h.pacing.is_some()).count();
        f.debug_struct("Pacer")
            .field("paced_hosts", &paced)
            .finish()
    }
}

/// The outcome of asking for a turn.
#[derive(Debug)]
pub(crate) enum Turn {
    /// Send now.
    Now,
    /// Send at the reserved slot: wait for it with [`Reserved::wait`].
    At(Reserved),
    /// The turn would come after the call's deadline: nothing was reserved.
    TooLate,
}

impl Pacer {
    /// A pacer whose pacing lasts at least `quiet_floor` past the last
    /// throttle, wait or booked turn: the longest a throttled call waits
    /// before its retry, so that pacing does not end while the callers it
    /// paces are all in their backoff, to return at once.
    pub(crate) fn new(quiet_floor: Duration) -> Self {
        Pacer {
            hosts: Arc::default(),
            quiet_floor,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<HostState>> {
        // The state is plain numbers, each step leaves it consistent: a
        // panic elsewhere while it was held does not spoil it.
        self.hosts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the next turn to send to `key` at or after `now`, unless it
    /// would come after `deadline`.
    pub(crate) fn turn(&self, key: HostKey<'_>, now: Instant, deadline: Option<Instant>) -> Turn {
        let mut hosts = self.lock();
        let state = host_state(&mut hosts, key, now);
        let Some(pacing) = &mut state.pacing else {
            state.measure.record(now);
            return Turn::Now;
        };
        // Quiet: no throttle, no wait, and no turn booked, for a window.
        let busy_until = pacing.last_busy.max(pacing.next);
        if now.saturating_duration_since(busy_until) >= pacing.quiet().max(self.quiet_floor) {
            pacing_event(key, pacing, false);
            state.pacing = None;
            state.measure.record(now);
            return Turn::Now;
        }
        pacing.freed.retain(|&slot| slot >= now);
        let freed = pacing
            .freed
            .iter()
            .enumerate()
            .min_by_key(|&(_, slot)| *slot)
            .map(|(i, &slot)| (i, slot));
        let scheduled = pacing.next.max(now);
        let slot = freed.map_or(scheduled, |(_, slot)| slot.min(scheduled));
        if deadline.is_some_and(|deadline| slot > deadline) {
            return Turn::TooLate;
        }
        match freed {
            Some((i, freed_slot)) if freed_slot == slot => {
                pacing.freed.swap_remove(i);
            }
            _ => pacing.next = scheduled + pacing.interval,
        }
        state.measure.record(slot);
        if slot <= now {
            return Turn::Now;
        }
        pacing.last_busy = now;
        Turn::At(Reserved {
            hosts: self.hosts.clone(),
            host: key.host.into(),
            port: key.port,
            slot,
            used: false,
        })
    }

    /// Tells the pacer how an attempt sent to `key` was answered at `now`.
    pub(crate) fn answered(&self, key: HostKey<'_>, now: Instant, signal: Signal) {
        let mut hosts = self.lock();
        let state = host_state(&mut hosts, key, now);
        match signal {
            Signal::Throttled(limit) => state.throttled(key, now, limit),
            Signal::Passed => state.passed(now),
        }
    }

    /// Whether calls to `key` are paced now (for tests).
    #[cfg(test)]
    fn is_pacing(&self, key: HostKey<'_>) -> bool {
        self.lock().iter().any(|h| h.is(key) && h.pacing.is_some())
    }
}

/// The entry for `key`, made if missing (forgetting the quietest host when
/// the table is full).
fn host_state<'h>(
    hosts: &'h mut Vec<HostState>,
    key: HostKey<'_>,
    now: Instant,
) -> &'h mut HostState {
    if let Some(i) = hosts.iter().position(|h| h.is(key)) {
        return &mut hosts[i];
    }
    if hosts.len() >= MAX_HOSTS {
        let quietest = hosts
            .iter()
            .enumerate()
            .min_by_key(|(_, h)| (h.pacing.is_some(), h.measure.last_send))
            .map_or(0, |(i, _)| i);
        hosts.swap_remove(quietest);
    }
    hosts.push(HostState {
        host: key.host.into(),
        port: key.port,
        measure: Measure::new(now),
        pacing: None,
    });
    let last = hosts.len() - 1;
    &mut hosts[last]
}

/// A turn reserved for a later slot. Dropped before its slot came (the call
/// was dropped or timed out while waiting), it gives the slot back.
pub(crate) struct Reserved {
    hosts: Arc<Mutex<Vec<HostState>>>,
    host: Box<str>,
    port: u16,
    slot: Instant,
    used: bool,
}

impl fmt::Debug for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserved")
            .field("host", &self.host)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl Reserved {
    /// When the turn comes.
    #[cfg(test)]
    pub(crate) fn at(&self) -> Instant {
        self.slot
    }

    /// Waits until the turn comes, and returns how long that took; from then
    /// the slot is used.
    pub(crate) async fn wait(mut self) -> Duration {
        let from = Instant::now();
        // Without timers (see `timer`), no wait: the turn is taken at once.
        if let Some(sleep) = crate::timer::sleep_until(self.slot) {
            sleep.await;
        }
        self.used = true;
        from.elapsed()
    }

    /// Marks the turn used without waiting for it.
    #[cfg(test)]
    fn keep(mut self) {
        self.used = true;
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if self.used {
            return;
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let key = HostKey {
            host: &self.host,
            port: self.port,
        };
        let Some(pacing) = hosts
            .iter_mut()
            .find(|h| h.is(key))
            .and_then(|h| h.pacing.as_mut())
        else {
            return;
        };
        pacing.give_back(self.slot);
    }
}

struct HostState {
    host: Box<str>,
    port: u16,
    measure: Measure,
    pacing: Option<Pacing>,
}

impl HostState {
    fn is(&self, key: HostKey<'_>) -> bool {
        self.port == key.port && *self.host == *key.host
    }

    fn throttled(&mut self, key: HostKey<'_>, now: Instant, limit: Option<ThrottleLimit>) {
        let measured = self.measure.rate(now);
        let (rate, source) = match (limit, self.pacing.as_ref().map(|p| p.source)) {
            (Some(limit), _) => (
                f64::from(limit.limit) * PUBLISHED_SHARE / limit.window.as_secs_f64(),
                Source::Published(limit),
            ),
            // An adaptive rate already in force: cut it again.
            (None, Some(Source::Adaptive(cubic))) => {
                let cubic = Cubic::after_throttle(cubic.rate.min(measured.max(MIN_RATE)), now);
                (cubic.rate, Source::Adaptive(cubic))
            }
            // A published limit in force: a 429 without one (another proxy?)
            // does not override it.
            (None, Some(published @ Source::Published(limit))) => (
                f64::from(limit.limit) * PUBLISHED_SHARE / limit.window.as_secs_f64(),
                published,
            ),
            (None, None) => {
                let cubic = Cubic::after_throttle(measured.max(MIN_RATE), now);
                (cubic.rate, Source::Adaptive(cubic))
            }
        };
        let interval = match source {
            Source::Published(limit) => limit.interval(PUBLISHED_SHARE),
            Source::Adaptive(_) => interval_of(rate),
        };
        match &mut self.pacing {
            Some(pacing) => {
                pacing.source = source;
                pacing.interval = interval;
                pacing.last_busy = now;
            }
            None => {
                let pacing = Pacing {
                    source,
                    interval,
                    next: now,
                    last_busy: now,
                    freed: Vec::new(),
                };
                pacing_event(key, &pacing, true);
                self.pacing = Some(pacing);
            }
        }
    }

    fn passed(&mut self, now: Instant) {
        let measured = self.measure.rate(now);
        if let Some(Pacing {
            source: Source::Adaptive(cubic),
            interval,
            ..
        }) = &mut self.pacing
        {
            cubic.grow(now, measured);
            *interval = interval_of(cubic.rate);
        }
    }
}

/// The smoothed rate of sends to one host, as AWS's limiter measures it.
struct Measure {
    bucket_start: Instant,
    bucket_sends: u32,
    smoothed: f64,
    last_send: Instant,
}

impl Measure {
    fn new(now: Instant) -> Self {
        Measure {
            bucket_start: now,
            bucket_sends: 0,
            smoothed: 0.0,
            last_send: now,
        }
    }

    fn record(&mut self, at: Instant) {
        self.bucket_sends = self.bucket_sends.saturating_add(1);
        self.last_send = self.last_send.max(at);
        let elapsed = at.saturating_duration_since(self.bucket_start);
        if elapsed >= MEASURE_BUCKET {
            let rate = f64::from(self.bucket_sends) / elapsed.as_secs_f64();
            self.smoothed = if self.smoothed == 0.0 {
                rate
            } else {
                MEASURE_SMOOTHING * rate + (1.0 - MEASURE_SMOOTHING) * self.smoothed
            };
            self.bucket_start = at;
            self.bucket_sends = 0;
        }
    }

    /// Sends a second: the smoothed rate, or the current bucket's before a
    /// bucket has been completed.
    fn rate(&self, now: Instant) -> f64 {
        if self.smoothed > 0.0 {
            return self.smoothed;
        }
        let elapsed = now
            .saturating_duration_since(self.bucket_start)
            .max(MEASURE_BUCKET);
        f64::from(self.bucket_sends) / elapsed.as_secs_f64()
    }
}

struct Pacing {
    source: Source,
    /// The time between two turns.
    interval: Duration,
    /// The slot the next turn gets, unless a freed one comes first.
    next: Instant,
    /// The last throttle, or the last turn that had to wait.
    last_busy: Instant,
    /// Slots given back by calls that did not use them.
    freed: Vec<Instant>,
}

impl Pacing {
    /// How long pacing lasts without a throttle or a wait.
    fn quiet(&self) -> Duration {
        match self.source {
            Source::Published(limit) => limit.window,
            Source::Adaptive(_) => ADAPTIVE_QUIET.max(self.interval.saturating_mul(2)),
        }
    }

    fn give_back(&mut self, slot: Instant) {
        if slot + self.interval == self.next {
            // The last turn handed out: the schedule steps back, and so on
            // through any turns given back just before it.
            self.next = slot;
            while let Some(i) = self
                .freed
                .iter()
                .position(|&freed| freed + self.interval == self.next)
            {
                self.next = self.freed.swap_remove(i);
            }
        } else if self.freed.len() < MAX_FREED {
            self.freed.push(slot);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// The gateway's published limit.
    Published(ThrottleLimit),
    /// No limit known: a rate found by CUBIC.
    Adaptive(Cubic),
}

/// AWS's CUBIC rate: after a throttle the rate is cut to `BETA` of the rate
/// in force (`w_max`), then follows `C * (t - K)^3 + w_max`, so it climbs
/// back to `w_max` in `K` seconds and probes beyond it after.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cubic {
    w_max: f64,
    k: f64,
    since: Instant,
    rate: f64,
}

impl Cubic {
    fn after_throttle(rate_in_force: f64, now: Instant) -> Self {
        let w_max = rate_in_force.max(MIN_RATE);
        Cubic {
            w_max,
            k: (w_max * (1.0 - CUBIC_BETA) / CUBIC_SCALE).cbrt(),
            since: now,
            rate: (w_max * CUBIC_BETA).max(MIN_RATE),
        }
    }

    /// The rate after a success at `now`, at most twice the measured rate.
    fn grow(&mut self, now: Instant, measured: f64) {
        let t = now.saturating_duration_since(self.since).as_secs_f64();
        let cubic = CUBIC_SCALE * (t - self.k).powi(3) + self.w_max;
        let cap = if measured > 0.0 {
            2.0 * measured
        } else {
            cubic
        };
        self.rate = cubic.min(cap).max(MIN_RATE);
    }
}

fn interval_of(rate: f64) -> Duration {
    // Rates are at least MIN_RATE: the interval is at most 2 s.
    Duration::from_secs_f64(1.0 / rate.max(MIN_RATE))
}

#[cfg(feature = "tracing")]
fn pacing_event(key: HostKey<'_>, pacing: &Pacing, starts: bool) {
    let (limit, window_ms, scope) = match pacing.source {
        Source::Published(limit) => (
            Some(limit.limit),
            Some(u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX)),
            limit.scope.map(ThrottleScope::as_str),
        ),
        Source::Adaptive(_) => (None, None, None),
    };
    let interval_us = u64::try_from(pacing.interval.as_micros()).unwrap_or(u64::MAX);
    if starts {
        tracing::info!(
            host = key.host,
            port = key.port,
            limit,
            window_ms,
            scope,
            interval_us,
            "huaweicloud gateway throttled; pacing calls to this host"
        );
    } else {
        tracing::info!(
            host = key.host,
            port = key.port,
            limit,
            window_ms,
            scope,
            "huaweicloud gateway no longer throttling; pacing ends"
        );
    }
}

#[cfg(not(feature = "tracing"))]
fn pacing_event(_: HostKey<'_>, _: &Pacing, _: bool) {}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: HostKey<'static> = HostKey {
        host: "iam.example.com",
        port: 443,
    };

    fn per_second(limit: u32) -> Option<ThrottleLimit> {
        ThrottleLimit::new(limit, Duration::from_secs(1), Some(ThrottleScope::User))
    }

    fn slot(turn: Turn) -> Option<Instant> {
        match turn {
            Turn::Now => None,
            Turn::At(reserved) => {
                let at = reserved.at();
                reserved.keep();
                Some(at)
            }
            Turn::TooLate => panic!("too late"),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_the_gateway_message() {
        /// A message, and the limit, window (seconds) and scope read from it.
        type Case = (&'static str, Option<(u32, u64, Option<ThrottleScope>)>);
        let cases: &[Case] = &[
            (
                "The throttling threshold has been reached: policy user over ratelimit,limit:200,time:5 minute",
                Some((200, 300, Some(ThrottleScope::User))),
            ),
            (
                "policy api over ratelimit,limit:20,time:1 second",
                Some((20, 1, Some(ThrottleScope::Api))),
            ),
            (
                "Policy IP over ratelimit, LIMIT : 7 , TIME = 2 Hours",
                Some((7, 7_200, Some(ThrottleScope::Ip))),
            ),
            ("limit:1,time:1 day", Some((1, 86_400, None))),
            (
                "policy robot over ratelimit,limit:3,time:4s",
                Some((3, 4, None)),
            ),
            ("limit:5,time:10min", Some((5, 600, None))),
            // Missing or bad parts.
            ("The throttling threshold has been reached", None),
            ("ratelimit:200,time:5 minute", None),
            ("limit:200", None),
            ("limit:0,time:1 second", None),
            ("limit:5,time:0 second", None),
            ("limit:5,time:1 fortnight", None),
            ("limit:5,time:minute", None),
            ("limit:99999999999,time:1 second", None),
            ("limit:1,time:99999999999999999 day", None),
            ("", None),
        ];
        for &(message, expected) in cases {
            let got =
                ThrottleLimit::parse(message).map(|l| (l.limit(), l.window().as_secs(), l.scope()));
            assert_eq!(got, expected, "{message:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(message in "\\PC{0,120}") {
            let _ = ThrottleLimit::parse(&message);
        }

        #[test]
        fn parse_reads_any_well_formed_message(
            limit in 1u32..1_000_000,
            count in 1u64..1_000,
            unit in proptest::sample::select(vec![("second", 1u64), ("minute", 60), ("hour", 3_600), ("day", 86_400)]),
            policy in proptest::sample::select(vec!["user", "api", "ip"]),
            upper in proptest::bool::ANY,
            spaces in " {0,2}",
        ) {
            let message = format!(
                "The throttling threshold has been reached: policy {policy} over ratelimit,limit{spaces}:{spaces}{limit},time{spaces}:{spaces}{count} {}",
                unit.0
            );
            let message = if upper { message.to_uppercase() } else { message };
            let parsed = ThrottleLimit::parse(&message).unwrap();
            proptest::prop_assert_eq!(parsed.limit(), limit);
            proptest::prop_assert_eq!(parsed.window(), Duration::from_secs(count * unit.1));
            proptest::prop_assert_eq!(parsed.scope().map(ThrottleScope::as_str), Some(policy));
        }
    }

    #[test]
    fn no_pacing_before_a_throttle() {
        let pacer = Pacer::default();
        let now = Instant::now();
        for _ in 0..100 {
            assert!(matches!(pacer.turn(KEY, now, None), Turn::Now));
        }
        assert!(!pacer.is_pacing(KEY));
    }

    #[test]
    fn a_published_limit_spreads_turns_over_the_window() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(20)));
        assert!(pacer.is_pacing(KEY));
        // 20 a second at 90%: one turn every 1/18 s.
        let interval = Duration::from_secs(1).div_f64(18.0);
        assert_eq!(
            slot(pacer.turn(KEY, t0, None)),
            None,
            "the first turn is now"
        );
        for n in 1..36u32 {
            assert_eq!(slot(pacer.turn(KEY, t0, None)), Some(t0 + interval * n));
        }
        // Another host is not paced.
        let other = HostKey {
            host: "sts.example.com",
            port: 443,
        };
        assert!(matches!(pacer.turn(other, t0, None), Turn::Now));
    }

    #[test]
    fn a_turn_after_the_deadline_is_refused_and_reserves_nothing() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(10)));
        let interval = Duration::from_secs(1).div_f64(9.0);
        assert_eq!(slot(pacer.turn(KEY, t0, None)), None);
        let turn = pacer.turn(KEY, t0, Some(t0 + interval / 2));
        assert!(matches!(turn, Turn::TooLate), "{turn:?}");
        // Just in time is in time.
        let turn = pacer.turn(KEY, t0, Some(t0 + interval));
        assert_eq!(slot(turn), Some(t0 + interval));
        // The refused call took nothing: the next caller gets the slot after.
        assert_eq!(slot(pacer.turn(KEY, t0, None)), Some(t0 + interval * 2));
    }

    #[test]
    fn a_dropped_turn_goes_to_the_next_caller() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(10)));
        let interval = Duration::from_secs(1).div_f64(9.0);
        let _first = pacer.turn(KEY, t0, None);
        let second = pacer.turn(KEY, t0, None);
        let third = pacer.turn(KEY, t0, None);
        let (Turn::At(second), Turn::At(third)) = (second, third) else {
            panic!("expected reservations");
        };
        assert_eq!(second.at(), t0 + interval);
        assert_eq!(third.at(), t0 + interval * 2);
        // The middle one is dropped: its slot is the next caller's.
        drop(second);
        assert_eq!(slot(pacer.turn(KEY, t0, None)), Some(t0 + interval));
        // The last one is dropped: the schedule steps back.
        drop(third);
        assert_eq!(slot(pacer.turn(KEY, t0, None)), Some(t0 + interval * 2));
        assert_eq!(slot(pacer.turn(KEY, t0, None)), Some(t0 + interval * 3));
    }

    #[test]
    fn pacing_ends_after_a_quiet_window() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(10)));
        // A turn at 500 ms books the schedule until 500 ms + 1/9 s.
        assert!(matches!(pacer.turn(KEY, t0 + ms(500), None), Turn::Now));
        assert!(pacer.is_pacing(KEY), "half a window is not quiet enough");
        assert!(matches!(pacer.turn(KEY, t0 + ms(1_500), None), Turn::Now));
        assert!(
            pacer.is_pacing(KEY),
            "a window since the throttle, but not since the last booking"
        );
        // A whole window since the last booked turn: pacing ends.
        assert!(matches!(pacer.turn(KEY, t0 + ms(2_612), None), Turn::Now));
        assert!(!pacer.is_pacing(KEY));
    }

    #[test]
    fn pacing_outlasts_the_quiet_floor() {
        // Throttled callers wait up to 5 s before their retries: pacing must
        // still be on when they come back, though the window is 1 s.
        let pacer = Pacer::new(Duration::from_secs(5));
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(10)));
        assert!(matches!(pacer.turn(KEY, t0 + ms(4_000), None), Turn::Now));
        assert!(pacer.is_pacing(KEY), "within the floor");
        assert!(matches!(pacer.turn(KEY, t0 + ms(9_200), None), Turn::Now));
        assert!(!pacer.is_pacing(KEY), "5 s after the last booked turn");
    }

    #[test]
    fn waiting_callers_keep_pacing_on() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(10)));
        // Demand above the limit: each turn waits, so the window never goes quiet.
        for step in 0..30u64 {
            let now = t0 + ms(100 * step);
            let _ = slot(pacer.turn(KEY, now, None));
            let _ = slot(pacer.turn(KEY, now, None));
        }
        assert!(pacer.is_pacing(KEY));
    }

    #[test]
    fn a_throttle_without_a_limit_cuts_the_measured_rate_and_grows_back() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        // 100 sends a second for two seconds, then a bare 429.
        for n in 0..200u32 {
            let _ = pacer.turn(KEY, t0 + ms(10) * n, None);
        }
        let t1 = t0 + ms(2_000);
        pacer.answered(KEY, t1, Signal::Throttled(None));
        let rate = |p: &Pacer| {
            p.lock()
                .iter()
                .find(|h| h.is(KEY))
                .and_then(|h| h.pacing.as_ref())
                .map(|p| 1.0 / p.interval.as_secs_f64())
                .unwrap()
        };
        let cut = rate(&pacer);
        assert!((65.0..75.0).contains(&cut), "70% of ~100/s, got {cut}");
        // A second throttle cuts again.
        pacer.answered(KEY, t1, Signal::Throttled(None));
        let cut_again = rate(&pacer);
        assert!(cut_again < cut * 0.75, "{cut_again} after {cut}");
        // Successes grow it back along the cubic.
        pacer.answered(KEY, t1 + ms(100), Signal::Passed);
        let early = rate(&pacer);
        pacer.answered(KEY, t1 + ms(3_000), Signal::Passed);
        let later = rate(&pacer);
        assert!(
            early >= cut_again * 0.99 && later > early,
            "{cut_again} {early} {later}"
        );
    }

    #[test]
    fn a_bare_429_does_not_override_a_published_limit() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(10)));
        pacer.answered(KEY, t0, Signal::Throttled(None));
        let interval = Duration::from_secs(1).div_f64(9.0);
        let _ = pacer.turn(KEY, t0, None);
        assert_eq!(slot(pacer.turn(KEY, t0, None)), Some(t0 + interval));
    }

    #[test]
    fn the_host_table_is_bounded() {
        let pacer = Pacer::default();
        let now = Instant::now();
        let names: Vec<String> = (0..MAX_HOSTS * 3)
            .map(|i| format!("h{i}.example.com"))
            .collect();
        for name in &names {
            let _ = pacer.turn(
                HostKey {
                    host: name,
                    port: 443,
                },
                now,
                None,
            );
        }
        assert_eq!(pacer.lock().len(), MAX_HOSTS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_call_timed_out_frees_its_turn() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        pacer.answered(KEY, t0, Signal::Throttled(per_second(10)));
        let interval = Duration::from_secs(1).div_f64(9.0);
        let _ = pacer.turn(KEY, t0, None);
        let Turn::At(waiting) = pacer.turn(KEY, t0, None) else {
            panic!("expected a reservation")
        };
        assert_eq!(waiting.at(), t0 + interval);
        let timed_out = tokio::time::timeout(interval / 2, waiting.wait()).await;
        assert!(timed_out.is_err());
        // Its slot, still ahead, goes to the next caller.
        assert_eq!(
            slot(pacer.turn(KEY, Instant::now(), None)),
            Some(t0 + interval)
        );
        // A turn that was waited for is used: nothing is given back.
        let Turn::At(used) = pacer.turn(KEY, Instant::now(), None) else {
            panic!("expected a reservation")
        };
        used.wait().await;
        // Tokio's timer rounds up to the millisecond.
        let woke = Instant::now() - t0;
        assert!(
            woke >= interval * 2 && woke <= interval * 2 + ms(1),
            "{woke:?}"
        );
        assert_eq!(
            slot(pacer.turn(KEY, Instant::now(), None)),
            Some(t0 + interval * 3)
        );
    }
}
