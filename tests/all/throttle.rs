//! Adaptive throttling against the loopback gateway of `gateway.rs` (20
//! calls a second, fixed windows, 429 APIGW.0308 with the limit in its
//! message), under `tokio::time::pause`: the gateway's windows and the
//! pacer's turns are virtual time, so the counts are exact, not timings.
//!
//! The middleware here has no time limit (`max_elapsed(None)`): with the
//! clock paused, tokio jumps to the next timer whenever every task waits on
//! the network, and a deadline timer would then cut attempts in flight.

use std::time::Duration;

use futures::future::join_all;
use huaweicloud_errors::{
    DeadlineExceeded, ErrorCode, ErrorMiddleware, MaxElapsed, RetryStats, ThrottleLimit,
    ThrottleScope,
};
use reqwest_middleware::ClientWithMiddleware;

use crate::gateway::{Gateway, Window};
use crate::support::{api, builder, paused_client};

const LIMIT: u32 = 20;
const WINDOW: Duration = Duration::from_secs(1);

fn middleware(adaptive: bool) -> ErrorMiddleware {
    builder()
        .max_elapsed(None)
        .body_read_timeout(None)
        .adaptive_throttling(adaptive)
        .build()
}

/// `callers` concurrent callers, each making `calls` calls one after another.
async fn burst(client: &ClientWithMiddleware, url: &str, callers: usize, calls: usize) {
    join_all((0..callers).map(|_| async {
        for _ in 0..calls {
            let _ = client.get(url).send().await;
        }
    }))
    .await;
}

fn throttled_after_first(windows: &[Window]) -> u32 {
    windows.iter().skip(1).map(|w| w.throttled).sum()
}

#[tokio::test(start_paused = true)]
async fn the_gateway_throttles_past_its_limit_and_says_the_limit() {
    let gateway = Gateway::start(LIMIT, WINDOW).await;
    let client = paused_client(builder().max_retries(0).body_read_timeout(None).build());
    let url = gateway.url("/v5/agencies");
    let results = join_all((0..30).map(|_| client.get(&url).send())).await;
    assert_eq!(
        gateway.windows(),
        [Window {
            passed: 20,
            throttled: 10
        }]
    );
    let throttled: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(throttled.len(), 10);
    let err = api(throttled[0]);
    assert_eq!(err.code(), Some(&ErrorCode::ApigwThrottled));
    let limit = ThrottleLimit::parse(err.message()).unwrap();
    assert_eq!(
        (limit.limit(), limit.window(), limit.scope()),
        (LIMIT, WINDOW, Some(ThrottleScope::User))
    );
}

#[tokio::test(start_paused = true)]
async fn with_adaptive_throttling_a_burst_stays_under_the_limit_after_the_first_window() {
    // Without it, 48 callers keep throwing attempts at the gateway: most
    // are throttled (here all in the first second, as the test's backoff is
    // a few milliseconds).
    let gateway = Gateway::start(LIMIT, WINDOW).await;
    let client = paused_client(middleware(false));
    burst(&client, &gateway.url("/v5/agencies"), 48, 4).await;
    let unpaced = gateway.totals();
    assert!(unpaced.throttled > 4 * unpaced.passed, "{unpaced:?}");

    // With it, the first window is over the limit (48 calls at once), and
    // then no window is.
    let gateway = Gateway::start(LIMIT, WINDOW).await;
    let client = paused_client(middleware(true));
    burst(&client, &gateway.url("/v5/agencies"), 48, 4).await;
    let windows = gateway.windows();
    assert_eq!(throttled_after_first(&windows), 0, "{windows:?}");
    assert!(
        gateway.totals().throttled < unpaced.throttled / 4,
        "{windows:?}"
    );
    assert!(windows.len() > 5, "the calls were spread out: {windows:?}");
    // Every window after the first is near the pacer's 18 a second.
    let passed = gateway.totals().passed;
    assert!(passed >= 48 * 4 - 20, "most calls got through: {passed}");
}

#[tokio::test(start_paused = true)]
async fn pacing_is_per_host_and_shared_by_clones() {
    let throttling = Gateway::start(LIMIT, WINDOW).await;
    let other = Gateway::start(1_000, WINDOW).await;
    let original = middleware(true);
    let client = paused_client(original.clone());
    let clone_client = paused_client(original);
    // 30 calls at once: the gateway throttles 10, and pacing starts.
    burst(&client, &throttling.url("/"), 30, 1).await;
    assert!(throttling.totals().throttled > 0);

    // The clone waits its turn at the throttling host...
    let start = tokio::time::Instant::now();
    burst(&clone_client, &throttling.url("/"), 10, 1).await;
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );

    // ...but not at another host.
    let start = tokio::time::Instant::now();
    burst(&clone_client, &other.url("/"), 30, 1).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(other.totals().passed, 30);
}

#[tokio::test(start_paused = true)]
async fn a_call_whose_turn_comes_after_its_deadline_ends_at_once_unsent() {
    let gateway = Gateway::start(LIMIT, WINDOW).await;
    let client = paused_client(middleware(true));
    let url = gateway.url("/v5/agencies");
    burst(&client, &url, 30, 1).await;
    let sent_before = gateway.totals();

    // 40 calls at once, each with 500 ms: turns come every 1/18 s, so only
    // the first 10 or so fit.
    let results = join_all((0..40).map(|_| {
        client
            .get(&url)
            .with_extension(MaxElapsed(Some(Duration::from_millis(500))))
            .send()
    }))
    .await;
    let too_late: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter_map(DeadlineExceeded::from_error)
        .filter(|d| d.turn_after_deadline())
        .collect();
    assert!(too_late.len() >= 25, "{} refused", too_late.len());
    let sent = gateway.totals().passed + gateway.totals().throttled
        - sent_before.passed
        - sent_before.throttled;
    assert!(
        sent as usize <= 40 - too_late.len(),
        "a refused call was not sent: {sent} sent, {} refused",
        too_late.len()
    );
    for d in &too_late {
        assert_eq!(d.attempts(), 0, "nothing was sent");
    }
}

#[tokio::test(start_paused = true)]
async fn the_wait_for_a_turn_is_in_retry_stats() {
    let gateway = Gateway::start(LIMIT, WINDOW).await;
    let client = paused_client(middleware(true));
    let url = gateway.url("/v5/agencies");
    burst(&client, &url, 25, 1).await;
    // Pacing is on; these wait their turns one after another.
    let responses = join_all((0..5).map(|_| client.get(&url).send())).await;
    let paced: Vec<Duration> = responses
        .into_iter()
        .map(|r| {
            let r = r.unwrap();
            r.extensions()
                .get::<RetryStats>()
                .map_or(Duration::ZERO, |s| s.paced())
        })
        .collect();
    assert!(paced.iter().any(|p| *p > Duration::ZERO), "{paced:?}");
}

#[cfg(feature = "tracing")]
#[test]
fn pacing_start_is_an_event_with_the_limit_window_and_scope() {
    let (captured, _guard) = crate::support::Captured::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let gateway = Gateway::start(LIMIT, WINDOW).await;
        let client = paused_client(middleware(true));
        burst(&client, &gateway.url("/"), 25, 1).await;
    });
    let text = captured.text();
    let line = text
        .lines()
        .find(|l| l.contains("pacing calls to this host"))
        .unwrap_or_else(|| panic!("no pacing event in {text}"));
    assert!(line.contains("limit=20"), "{line}");
    assert!(line.contains("window_ms=1000"), "{line}");
    assert!(line.contains("scope=\"user\""), "{line}");
}

#[tokio::test(start_paused = true)]
async fn a_call_that_times_out_waiting_gives_its_turn_to_the_next_caller() {
    // One call a second: the second call is throttled, and pacing starts
    // with a turn every 1/0.9 s.
    let gateway = Gateway::start(1, WINDOW).await;
    let client = paused_client(
        builder()
            .max_retries(0)
            .max_elapsed(None)
            .body_read_timeout(None)
            .adaptive_throttling(true)
            .build(),
    );
    let url = gateway.url("/v5/agencies");
    burst(&client, &url, 2, 1).await;
    assert_eq!(gateway.totals().throttled, 1);

    let t0 = tokio::time::Instant::now();
    let turn = Duration::from_secs(1).div_f64(0.9);
    // Polled in this order, they take the turns at 0, 1 and 2 intervals.
    let a = client.get(&url).send();
    let b = tokio::time::timeout(Duration::from_millis(400), client.get(&url).send());
    let c = client.get(&url).send();
    // Started after `b` gave up, `d` gets b's turn, not the one after c's.
    let d = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = client.get(&url).send().await;
        t0.elapsed()
    };
    let (_, b, _, d_done) = tokio::join!(a, b, c, d);
    assert!(b.is_err(), "b timed out waiting for its turn");
    assert!(
        d_done >= turn && d_done < turn * 2,
        "d was sent at {d_done:?}"
    );
}
