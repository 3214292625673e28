//! tokio's timers, where the runtime has them.
//!
//! `tokio::time::sleep` panics on a runtime built without the time driver
//! (`Builder::new_current_thread().enable_io()`, no `enable_time`) and
//! outside a runtime, and tokio has no public way to ask whether timers are
//! enabled. Bare reqwest works there (it sets no timer unless given a
//! timeout), so the middleware must too: every timer it sets comes from
//! [`sleep`], which gives `None` where tokio has none, and the caller does
//! without (an error body is read without its deadline; a retry that would
//! have to wait is not made: [`StopReason::TimersDisabled`](crate::StopReason::TimersDisabled)).
//!
//! The only way to find out is to try: [`sleep`] catches the panic of the
//! first timer set on such a runtime (tokio panics before it changes any
//! state), so tokio's message is printed once by the panic hook, and
//! remembers the runtime, so that later calls on it set no timer at all.
//! Built with `panic = "abort"`, a panic cannot be caught: there the timer
//! is set as before, and a runtime without timers aborts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

/// The runtimes found to have no timers (a few at most: a process rarely
/// builds more than one runtime without them).
static TIMERLESS: Mutex<Vec<Id>> = Mutex::new(Vec::new());

/// Whether [`TIMERLESS`] holds any runtime.
static ANY_TIMERLESS: AtomicBool = AtomicBool::new(false);

/// How many runtimes [`TIMERLESS`] remembers; past that, a new one is found
/// out again on each call (and tokio's message printed again).
const REMEMBERED: usize = 16;

/// A `tokio::time::sleep(delay)`, or `None` outside a tokio runtime and on a
/// runtime without the time driver.
pub(crate) fn sleep(delay: Duration) -> Option<Sleep> {
    // As tokio does for a delay past what an `Instant` holds: 30 years.
    let now = Instant::now();
    let at = now
        .checked_add(delay)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
    sleep_until(at)
}

/// A `tokio::time::sleep_until(deadline)`, or `None` where [`sleep`] gives
/// none. (The whole-call deadline is an instant: this spares every call a
/// second reading of the clock.)
pub(crate) fn sleep_until(deadline: Instant) -> Option<Sleep> {
    let runtime = Handle::try_current().ok()?.id();
    // Every call sets a timer (its deadline): the lock is taken only once a
    // runtime without timers has been seen.
    let known = |timerless: &Vec<Id>| timerless.contains(&runtime);
    if ANY_TIMERLESS.load(Ordering::Relaxed) && TIMERLESS.lock().is_ok_and(|t| known(&t)) {
        return None;
    }
    probe(deadline, runtime)
}

#[cfg(panic = "unwind")]
fn probe(deadline: Instant, runtime: Id) -> Option<Sleep> {
    match std::panic::catch_unwind(|| tokio::time::sleep_until(deadline)) {
        Ok(sleep) => Some(sleep),
        Err(_) => {
            if let Ok(mut timerless) = TIMERLESS.lock() {
                if timerless.len() < REMEMBERED && !timerless.contains(&runtime) {
                    timerless.push(runtime);
                    ANY_TIMERLESS.store(true, Ordering::Relaxed);
                }
            }
            None
        }
    }
}

#[cfg(not(panic = "unwind"))]
fn probe(deadline: Instant, _runtime: Id) -> Option<Sleep> {
    Some(tokio::time::sleep_until(deadline))
}

/// Runs `future` until it ends, or until `deadline` passes (`true` when it
/// did). Without timers, or with no deadline, it runs to its end.
pub(crate) async fn with_deadline<F: Future<Output = ()>>(
    deadline: Option<Duration>,
    future: F,
) -> bool {
    let Some(timer) = deadline.and_then(sleep) else {
        future.await;
        return false;
    };
    let mut future = std::pin::pin!(future);
    let mut timer = std::pin::pin!(timer);
    std::future::poll_fn(|cx| {
        if future.as_mut().poll(cx).is_ready() {
            std::task::Poll::Ready(false)
        } else if timer.as_mut().poll(cx).is_ready() {
            std::task::Poll::Ready(true)
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}
