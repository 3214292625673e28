//! Fault-injection soak: thousands of GET, PUT, POST and DELETE calls against
//! a loopback server that fails a share of attempts with PAP5.0006,
//! AccessAnalyzer.1005, 429 APIGW.0308 (with and without `Retry-After: 0`),
//! 503, connection resets and truncated answers.
//!
//! Each attempt's fault is drawn from a generator seeded with the run's seed,
//! the call and the attempt number, so a call meets the same faults whatever
//! order concurrent attempts arrive in, and its outcome can be predicted. The
//! soak checks that every call ends; that a call is sent again only after a
//! failure retryable for its method (a POST only after one that proves the
//! change was rejected); that a call whose failures were all retryable and at
//! most `max_retries` succeeds; that every attempt carries the same body
//! bytes; and that the retries keep to the budget.
//!
//! `cargo test` runs a short soak. The long one is on demand:
//!
//! ```text
//! SOAK_CALLS=100000 SOAK_CONCURRENCY=64 SOAK_FAULT_SHARE=0.3 \
//!   cargo test --release --test all soak::long -- --ignored --nocapture
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use futures::StreamExt;
use huaweicloud_errors::{ApiError, ErrorMiddleware, StopReason};
use reqwest::Method;
use reqwest_middleware::ClientWithMiddleware;
use tokio::time::Instant;

use crate::fault_server::{Fault, FaultServer, body_hash, client_with, transport_kind};

/// What a soak runs.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub calls: u64,
    pub concurrency: usize,
    /// The share of attempts that fail, from 0 to 1.
    pub fault_share: f64,
    pub seed: u64,
    pub max_retries: u32,
}

impl SoakConfig {
    /// `default`, with each field overridden by its `SOAK_*` variable if set.
    fn from_env(default: SoakConfig) -> SoakConfig {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{name}={v} does not parse"))
                })
                .unwrap_or(default)
        }
        SoakConfig {
            calls: var("SOAK_CALLS", default.calls),
            concurrency: var("SOAK_CONCURRENCY", default.concurrency),
            fault_share: var("SOAK_FAULT_SHARE", default.fault_share),
            seed: var("SOAK_SEED", default.seed),
            max_retries: var("SOAK_MAX_RETRIES", default.max_retries),
        }
    }
}

/// The figures of a soak.
#[derive(Debug, Default)]
pub struct SoakReport {
    pub calls: u64,
    pub calls_by_method: BTreeMap<String, u64>,
    pub attempts: u64,
    pub injected: BTreeMap<&'static str, u64>,
    pub successes: u64,
    /// Failed calls by status and stop reason, or by transport error kind.
    pub failures: BTreeMap<String, u64>,
    /// Calls that ended early because the budget was empty.
    pub cut_by_budget: u64,
    /// Retries that failed (each kept its tokens) and first-attempt successes
    /// (each deposited one).
    pub failed_retries: u64,
    pub first_attempt_successes: u64,
    pub budget_left: u32,
    pub took: Duration,
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_second = self.calls as f64 / self.took.as_secs_f64();
        writeln!(
            f,
            "calls: {} in {:.2?} ({per_second:.0} calls/s); by method: {:?}",
            self.calls, self.took, self.calls_by_method
        )?;
        writeln!(
            f,
            "attempts: {} ({:.3} a call); failed retries: {}; first-attempt successes: {}; budget left: {}",
            self.attempts,
            self.attempts as f64 / self.calls as f64,
            self.failed_retries,
            self.first_attempt_successes,
            self.budget_left
        )?;
        let injected: u64 = self.injected.values().sum();
        writeln!(f, "injected faults: {injected}")?;
        for (kind, n) in &self.injected {
            writeln!(f, "  {kind}: {n}")?;
        }
        writeln!(f, "successes: {}", self.successes)?;
        writeln!(
            f,
            "failures: {} (cut short by the budget: {})",
            self.calls - self.successes,
            self.cut_by_budget
        )?;
        for (kind, n) in &self.failures {
            writeln!(f, "  {kind}: {n}")?;
        }
        Ok(())
    }
}

/// splitmix64's finaliser: spreads a seed's bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The fault injected into attempt `attempt` of call `call`.
fn fault_of(config: &SoakConfig, call: u64, attempt: u32) -> Fault {
    let mut rng = fastrand::Rng::with_seed(mix(config.seed ^ mix(call) ^ mix(!u64::from(attempt))));
    if rng.f64() < config.fault_share {
        Fault::INJECTED[rng.usize(..Fault::INJECTED.len())]
    } else {
        Fault::Ok
    }
}

/// A call's method, path and body.
fn request_of(config: &SoakConfig, call: u64) -> (Method, String, Vec<u8>) {
    let mut rng = fastrand::Rng::with_seed(mix(config.seed ^ mix(call) ^ 0x50a4));
    let len = rng.usize(0..=2048);
    let payload: String = std::iter::repeat_with(|| rng.alphanumeric())
        .take(len)
        .collect();
    match rng.u8(0..20) {
        0..=5 => (Method::GET, format!("/v5/agencies/a{call}"), Vec::new()),
        6..=9 => (
            Method::PUT,
            format!("/v5/agencies/a{call}"),
            format!(r#"{{"agency":{{"description":"{payload}"}}}}"#).into_bytes(),
        ),
        10..=16 => (
            Method::POST,
            "/v5/policies".to_owned(),
            format!(r#"{{"policy_name":"p{call}","policy_document":"{payload}"}}"#).into_bytes(),
        ),
        _ => (Method::DELETE, format!("/v5/agencies/a{call}"), Vec::new()),
    }
}

/// How a call is expected to end, if the budget does not cut it short.
struct Expected {
    /// The faults of its attempts, in order (`Ok` last if it succeeds).
    faults: Vec<Fault>,
    stop: Option<StopReason>,
}

fn expected(config: &SoakConfig, call: u64, method: &Method) -> Expected {
    let mut faults = Vec::new();
    for attempt in 0..=config.max_retries {
        let fault = fault_of(config, call, attempt);
        faults.push(fault);
        let stop = if fault == Fault::Ok {
            None
        } else if !fault.retryable_for(method) {
            Some(StopReason::NotIdempotent)
        } else if attempt == config.max_retries {
            Some(StopReason::RetriesExhausted)
        } else {
            continue;
        };
        return Expected { faults, stop };
    }
    unreachable!("the last attempt always stops")
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ended {
    /// 200, from the attempt the answer names.
    Success {
        attempt: u32,
    },
    Api {
        status: u16,
        attempts: u32,
        stop: Option<StopReason>,
    },
    Transport(&'static str),
    /// A 200 whose body is not the one the server sends for this call.
    WrongAnswer(String),
    /// The call did not end within [`CALL_LIMIT`].
    TimedOut,
}

/// Longer than any call can take with the soak's microsecond backoffs.
const CALL_LIMIT: Duration = Duration::from_secs(10);

async fn run_call(
    client: &ClientWithMiddleware,
    base: &str,
    config: &SoakConfig,
    call: u64,
) -> Ended {
    let (method, path, body) = request_of(config, call);
    let mut request = client
        .request(method, format!("{base}{path}"))
        .header("x-call-id", call.to_string());
    if !body.is_empty() {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let sent = async {
        match request.send().await {
            Ok(response) => {
                let text = response.text().await.unwrap_or_else(|e| e.to_string());
                let prefix = format!(r#"{{"call_id":"{call}","attempt":"#);
                match text
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix('}'))
                    .and_then(|n| n.parse().ok())
                {
                    Some(attempt) => Ended::Success { attempt },
                    None => Ended::WrongAnswer(text),
                }
            }
            Err(err) => match ApiError::from_error(&err) {
                Some(api) => Ended::Api {
                    status: api.status().as_u16(),
                    attempts: api.attempts(),
                    stop: api.stop_reason(),
                },
                None => Ended::Transport(transport_kind(&err)),
            },
        }
    };
    tokio::time::timeout(CALL_LIMIT, sent)
        .await
        .unwrap_or(Ended::TimedOut)
}

fn status_of(fault: Fault) -> u16 {
    match fault {
        Fault::ConcurrentModification | Fault::AnalyzerBusy => 409,
        Fault::Throttled | Fault::ThrottledRetryAfterZero => 429,
        Fault::Unavailable | Fault::TruncatedBody => 503,
        _ => 0,
    }
}

/// Runs a soak, checks every call against the rules, and returns its figures.
/// Panics with the first violations found.
pub async fn soak(config: &SoakConfig) -> SoakReport {
    let server = FaultServer::start({
        let config = config.clone();
        move |head| {
            fault_of(
                &config,
                head.call_id.parse().unwrap_or(u64::MAX),
                head.attempt,
            )
        }
    })
    .await;
    let middleware = ErrorMiddleware::builder()
        .max_retries(config.max_retries)
        .initial_backoff(Duration::from_micros(10))
        .max_backoff(Duration::from_micros(200))
        .throttle_backoff(Duration::from_micros(20))
        .jitter_seed(config.seed)
        .build();
    let budget = middleware.retry_budget().unwrap().clone();
    let capacity = u64::from(budget.capacity());
    let client = client_with(
        reqwest::Client::builder().pool_max_idle_per_host(config.concurrency),
        middleware,
    );
    let base = server.url("");

    let start = Instant::now();
    let ended: Vec<(u64, Ended)> = futures::stream::iter(0..config.calls)
        .map(|call| {
            let (client, base) = (&client, &base);
            async move { (call, run_call(client, base, config, call).await) }
        })
        .buffer_unordered(config.concurrency)
        .collect()
        .await;
    let took = start.elapsed();

    let calls = server.calls();
    let mut report = SoakReport {
        calls: config.calls,
        attempts: server.attempts(),
        budget_left: budget.available(),
        took,
        ..SoakReport::default()
    };
    let mut violations = Vec::new();
    let mut recorded_attempts = 0;
    for (call, ended) in ended {
        let (method, _, body) = request_of(config, call);
        *report
            .calls_by_method
            .entry(method.to_string())
            .or_default() += 1;
        let seen = calls.get(&call.to_string()).cloned().unwrap_or_default();
        recorded_attempts += seen.len() as u64;
        let mut violation = |what: String| {
            violations.push(format!(
                "call {call} ({method}): {what}; seen {seen:?}; ended {ended:?}"
            ))
        };

        if seen.is_empty() {
            violation("never reached the server".into());
            continue;
        }
        for attempt in &seen {
            if attempt.fault != Fault::Ok {
                *report.injected.entry(attempt.fault.as_str()).or_default() += 1;
            }
            if attempt.method != method
                || attempt.body_len != body.len()
                || attempt.body_hash != body_hash(&body)
            {
                violation("an attempt's body differs from the call's".into());
            }
        }
        // Sent again only after a failure retryable for its method.
        for before_resend in &seen[..seen.len() - 1] {
            if !before_resend.fault.retryable_for(&method) {
                violation(format!("sent again after {}", before_resend.fault.as_str()));
            }
        }
        report.failed_retries += seen[1..].iter().filter(|a| a.fault != Fault::Ok).count() as u64;
        if seen[0].fault == Fault::Ok {
            report.first_attempt_successes += 1;
        }

        let expected = expected(config, call, &method);
        let n = seen.len();
        let last = seen[n - 1].fault;
        if n > expected.faults.len() {
            violation(format!("{n} attempts, {} expected", expected.faults.len()));
            continue;
        }
        let cut_short = n < expected.faults.len();
        let wanted = if cut_short {
            // The budget was empty when the retry was due: the error of the
            // last attempt, at once.
            report.cut_by_budget += 1;
            if !last.retryable_for(&method) || n > config.max_retries as usize {
                violation("stopped early without cause".into());
            }
            if last.is_transport() {
                None
            } else {
                Some(Ended::Api {
                    status: status_of(last),
                    attempts: n as u32,
                    stop: Some(StopReason::BudgetExhausted),
                })
            }
        } else if expected.stop.is_none() {
            Some(Ended::Success {
                attempt: n as u32 - 1,
            })
        } else if last.is_transport() {
            None
        } else {
            Some(Ended::Api {
                status: status_of(last),
                attempts: n as u32,
                stop: expected.stop,
            })
        };
        match (&wanted, &ended) {
            (Some(wanted), ended) if wanted != ended => {
                violation(format!("expected {wanted:?}"));
            }
            (None, Ended::Transport(_)) | (Some(_), _) => {}
            (None, _) => violation("expected a transport error".into()),
        }

        match &ended {
            Ended::Success { .. } => report.successes += 1,
            Ended::Api { status, stop, .. } => {
                let stop = stop.map_or("none", StopReason::as_str);
                *report
                    .failures
                    .entry(format!("{status} {stop}"))
                    .or_default() += 1;
            }
            Ended::Transport(kind) => {
                let kind = format!("{kind} after {}", last.as_str());
                *report.failures.entry(kind).or_default() += 1;
            }
            Ended::WrongAnswer(_) => {
                *report.failures.entry("wrong answer".into()).or_default() += 1
            }
            Ended::TimedOut => *report.failures.entry("timed out".into()).or_default() += 1,
        }
    }

    if recorded_attempts != report.attempts {
        violations.push(format!(
            "{} attempts received, {recorded_attempts} recorded for calls",
            report.attempts
        ));
    }
    // Each failed retry kept its 10 tokens; only the bucket and the
    // first-attempt successes paid for them.
    let spent = 10 * report.failed_retries + u64::from(report.budget_left);
    if spent > capacity + report.first_attempt_successes {
        violations.push(format!(
            "{} failed retries and {} tokens left, from {capacity} tokens and {} deposits",
            report.failed_retries, report.budget_left, report.first_attempt_successes
        ));
    }
    assert!(
        violations.is_empty(),
        "{} violations, the first:\n{}\n\n{report}",
        violations.len(),
        violations
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_soak_of_2000_calls() {
    let config = SoakConfig {
        calls: 2_000,
        concurrency: 32,
        fault_share: 0.2,
        seed: 2026,
        max_retries: 3,
    };
    let report = soak(&config).await;
    // The mix is real: every method and every fault kind occurred.
    assert_eq!(report.calls_by_method.len(), 4, "{report}");
    assert_eq!(report.injected.len(), Fault::INJECTED.len(), "{report}");
    // At this fault share the bucket never runs dry, so every outcome is the
    // predicted one.
    assert_eq!(report.cut_by_budget, 0, "{report}");
    assert!(report.successes > 1_800, "{report}");
    assert!(report.took < Duration::from_secs(30), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_total_outage_under_the_fault_mix_keeps_to_the_budget() {
    let config = SoakConfig {
        calls: 500,
        concurrency: 32,
        fault_share: 1.0,
        seed: 7,
        max_retries: 3,
    };
    let report = soak(&config).await;
    assert_eq!(report.successes, 0);
    // Nothing deposits, so the 1,000 tokens pay for 100 retries at most.
    assert!(report.attempts <= 600, "{report}");
    assert_eq!(report.failed_retries, 100, "{report}");
    assert!(report.cut_by_budget > 0, "{report}");
}

/// The long soak, on demand; see the module docs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: run with --ignored --release"]
async fn long() {
    let config = SoakConfig::from_env(SoakConfig {
        calls: 100_000,
        concurrency: 64,
        fault_share: 0.3,
        seed: 1,
        max_retries: 3,
    });
    println!("soak: {config:?}");
    let report = soak(&config).await;
    println!("{report}");
}
