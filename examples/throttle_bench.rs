//! Throttling benchmark: 48 concurrent callers, each making calls one after
//! another for several seconds, against a loopback API Gateway that allows
//! 20 calls a second in fixed one-second windows and answers the rest with
//! 429 APIGW.0308 (`limit:20,time:1 second`). Prints a markdown table.
//!
//! ```text
//! cargo run --release --example throttle_bench [-- --seconds 10]
//! ```
//!
//! For each client it reports, over the windows after the first two (and
//! before the last, partial one): the share of the attempts the gateway
//! received that it throttled, and the goodput (calls let through a window)
//! as a share of the limit. The gateway is the tests' own
//! (`tests/all/gateway.rs`).

#[path = "../tests/all/gateway.rs"]
mod gateway;

use std::time::Duration;

use gateway::{Gateway, Window};
use huaweicloud_errors::ErrorMiddleware;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use tokio::time::Instant;

const CALLERS: usize = 48;
const LIMIT: u32 = 20;
const WINDOW: Duration = Duration::from_secs(1);

fn inner() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The clients compared, by name.
fn clients() -> Vec<(&'static str, ClientWithMiddleware)> {
    let retry_policy = ExponentialBackoff::builder().build_with_max_retries(3);
    vec![
        (
            "huaweicloud-errors, default settings",
            ClientBuilder::new(inner())
                .with(ErrorMiddleware::builder().build())
                .build(),
        ),
        (
            "huaweicloud-errors, `adaptive_throttling(true)`",
            ClientBuilder::new(inner())
                .with(ErrorMiddleware::builder().adaptive_throttling(true).build())
                .build(),
        ),
        (
            "reqwest-retry 0.9, 3 retries",
            ClientBuilder::new(inner())
                .with(RetryTransientMiddleware::new_with_policy(retry_policy))
                .build(),
        ),
    ]
}

/// What one run measured.
struct Run {
    /// Windows measured (after the first two, before the last).
    windows: usize,
    measured: Window,
    calls_ok: u64,
    calls_failed: u64,
}

async fn run(client: ClientWithMiddleware, seconds: u64) -> Run {
    let gateway = Gateway::start(LIMIT, WINDOW).await;
    let url = gateway.url("/v5/agencies");
    let end = Instant::now() + Duration::from_secs(seconds);
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, 0u64);
                // A call still running at the end is dropped, uncounted.
                while let Ok(result) = tokio::time::timeout_at(end, client.get(&url).send()).await {
                    match result {
                        Ok(response) if response.status().is_success() => ok += 1,
                        _ => failed += 1,
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut calls_ok, mut calls_failed) = (0, 0);
    for caller in callers {
        let (ok, failed) = caller.await.unwrap();
        calls_ok += ok;
        calls_failed += failed;
    }
    // Only the windows that ended before the run did (callers still in
    // their last call add to later ones).
    let whole = usize::try_from(seconds).unwrap_or(usize::MAX);
    let windows = gateway.windows();
    if std::env::var_os("THROTTLE_BENCH_WINDOWS").is_some() {
        eprintln!("{windows:?}");
    }
    let measured_windows = windows.get(2..whole.min(windows.len())).unwrap_or(&[]);
    let measured = measured_windows
        .iter()
        .fold(Window::default(), |sum, w| Window {
            passed: sum.passed + w.passed,
            throttled: sum.throttled + w.throttled,
        });
    Run {
        windows: measured_windows.len(),
        measured,
        calls_ok,
        calls_failed,
    }
}

#[tokio::main]
async fn main() {
    let mut seconds = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&s| s >= 4)
                    .unwrap_or_else(|| {
                        eprintln!("--seconds takes a whole number, at least 4");
                        std::process::exit(2)
                    })
            }
            other => {
                eprintln!("unknown argument {other:?}; use --seconds N");
                std::process::exit(2)
            }
        }
    }
    println!(
        "{CALLERS} callers, {seconds} s, a gateway allowing {LIMIT} calls a second; \
         windows 3 to {seconds}\n"
    );
    println!("| client | attempts throttled | goodput (share of the limit) | calls ok / failed |");
    println!("| --- | --: | --: | --: |");
    for (name, client) in clients() {
        let run = run(client, seconds).await;
        let attempts = run.measured.passed + run.measured.throttled;
        let throttled = f64::from(run.measured.throttled) / f64::from(attempts.max(1));
        let goodput =
            f64::from(run.measured.passed) / (f64::from(LIMIT) * run.windows.max(1) as f64);
        println!(
            "| {name} | {:.1}% | {:.1}% | {} / {} |",
            throttled * 100.0,
            goodput * 100.0,
            run.calls_ok,
            run.calls_failed
        );
    }
}
