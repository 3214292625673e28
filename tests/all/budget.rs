//! The retry budget, through the middleware: an outage multiplies the load by
//! at most 1.2 with 3 retries allowed, recovery is immediate, first attempts
//! are never held back, the bucket is shared by clones and between
//! middlewares, timeouts cost double, and a call dropped during its backoff
//! gives its tokens back. Attempts are counted by the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use huaweicloud_errors::{ErrorMiddleware, ErrorMiddlewareBuilder, RetryBudget, StopReason};
use reqwest::Method;
use reqwest_middleware::ClientWithMiddleware;
use tokio::time::Instant;

use crate::fault_server::{Fault, FaultServer, Outcome, client, client_with};
use crate::support::assert_ended;

/// Waits of microseconds, so that thousands of retries take no time.
fn fast() -> ErrorMiddlewareBuilder {
    ErrorMiddleware::builder()
        .initial_backoff(Duration::from_micros(10))
        .max_backoff(Duration::from_micros(100))
        .throttle_backoff(Duration::from_micros(10))
        .jitter_seed(7)
}

async fn call(client: &ClientWithMiddleware, method: Method, url: &str, id: &str) -> Outcome {
    let mut request = client.request(method.clone(), url).header("x-call-id", id);
    if method == Method::POST {
        request = request.body(r#"{"agency":{"name":"ops"}}"#);
    }
    Outcome::of(&request.send().await)
}

/// `calls` calls of `method`, 16 in flight; outcomes in call order.
async fn send_many(
    client: &ClientWithMiddleware,
    method: &Method,
    url: &str,
    first_id: usize,
    calls: usize,
) -> Vec<Outcome> {
    futures::stream::iter(first_id..first_id + calls)
        .map(|i| {
            let method = method.clone();
            async move { call(client, method, url, &i.to_string()).await }
        })
        .buffered(16)
        .collect()
        .await
}

fn attempts_of(outcome: &Outcome) -> u32 {
    match outcome {
        Outcome::Api { attempts, .. } => *attempts,
        other => panic!("expected a decoded error, got {other:?}"),
    }
}

/// 1,000 calls against a service that is down, then 100 once it is back.
async fn outage_then_recovery(method: Method, down_fault: Fault, status: u16) {
    let down = Arc::new(AtomicBool::new(true));
    let server = FaultServer::start({
        let down = down.clone();
        move |_| {
            if down.load(Ordering::SeqCst) {
                down_fault
            } else {
                Fault::Ok
            }
        }
    })
    .await;
    let middleware = fast().max_retries(3).build();
    let budget = middleware.retry_budget().unwrap().clone();
    let client = client(middleware);
    let url = server.url("/v5/agencies");

    let outcomes = send_many(&client, &method, &url, 0, 1_000).await;
    let attempts = server.attempts();
    assert!(attempts <= 1_200, "{attempts} attempts for 1,000 calls");
    // The default bucket (1,000 tokens, 10 a retry) pays for exactly 100
    // retries, and no call succeeds to refill it.
    assert_eq!(attempts, 1_100);
    assert_eq!(budget.available(), 0);
    let retries: u32 = outcomes.iter().map(|o| attempts_of(o) - 1).sum();
    assert_eq!(u64::from(retries), attempts - 1_000);
    for outcome in &outcomes {
        let Outcome::Api {
            status: got,
            attempts,
            stop,
        } = outcome
        else {
            unreachable!()
        };
        assert_eq!(*got, status);
        match stop {
            Some(StopReason::RetriesExhausted) => assert_eq!(*attempts, 4),
            Some(StopReason::BudgetExhausted) => assert!(*attempts < 4),
            other => panic!("unexpected stop reason {other:?}"),
        }
    }
    let held_back = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Api { attempts: 1, .. }))
        .count();
    assert!(held_back >= 900, "{held_back} calls sent once");

    // Back up: every call succeeds at its first attempt, and refills the bucket.
    down.store(false, Ordering::SeqCst);
    let outcomes = send_many(&client, &method, &url, 1_000, 100).await;
    assert!(outcomes.iter().all(|o| *o == Outcome::Response(200)));
    assert_eq!(server.attempts(), 1_100 + 100);
    assert_eq!(budget.available(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_outage_of_503_makes_at_most_1_1_attempts_a_call() {
    outage_then_recovery(Method::GET, Fault::Unavailable, 503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_outage_of_pap5_0006_makes_at_most_1_1_attempts_a_call() {
    outage_then_recovery(Method::POST, Fault::ConcurrentModification, 409).await;
}

#[tokio::test]
async fn an_empty_bucket_never_holds_back_a_first_attempt_and_fails_at_once() {
    let server = FaultServer::always(Fault::Throttled).await;
    let budget = RetryBudget::builder().capacity(0).build();
    // Any retry of a throttled call would wait at least 10 s.
    let middleware = ErrorMiddleware::builder()
        .throttle_backoff(Duration::from_secs(10))
        .max_backoff(Duration::from_secs(30))
        .retry_budget(budget.clone())
        .build();
    let client = client(middleware);
    let url = server.url("/v5/agencies");
    let start = Instant::now();
    for i in 0..20 {
        let result = client
            .post(&url)
            .header("x-call-id", i.to_string())
            .body("{}")
            .send()
            .await;
        let err = result.unwrap_err();
        let api = huaweicloud_errors::ApiError::from_error(&err).unwrap();
        assert_ended(api, 1, StopReason::BudgetExhausted, &format!("call {i}"));
        assert_eq!(api.waited(), Duration::ZERO);
    }
    assert_eq!(server.attempts(), 20);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(budget.available(), 0);
}

#[tokio::test]
async fn the_bucket_is_shared_by_clones_and_between_middlewares() {
    let server = FaultServer::always(Fault::ConcurrentModification).await;
    let url = server.url("/v5/policies");
    let budget = RetryBudget::builder().capacity(30).build();
    let iam = fast().max_retries(3).retry_budget(budget.clone()).build();
    let iam_clone = iam.clone();
    let sts = fast().max_retries(5).retry_budget(budget.clone()).build();

    // Three retries take the 30 tokens.
    let outcome = call(&client(iam), Method::POST, &url, "iam").await;
    assert_eq!(
        outcome,
        Outcome::Api {
            status: 409,
            attempts: 4,
            stop: Some(StopReason::RetriesExhausted)
        }
    );
    assert_eq!(budget.available(), 0);
    assert_eq!(iam_clone.retry_budget().unwrap().available(), 0);

    let held_back = Outcome::Api {
        status: 409,
        attempts: 1,
        stop: Some(StopReason::BudgetExhausted),
    };
    let clone_outcome = call(&client(iam_clone), Method::POST, &url, "clone").await;
    assert_eq!(clone_outcome, held_back);
    let sts_outcome = call(&client(sts), Method::POST, &url, "sts").await;
    assert_eq!(sts_outcome, held_back);
    assert_eq!(server.attempts(), 6);

    // Neither a middleware of its own bucket nor one without a bucket is
    // limited by this one.
    let exhausted = Outcome::Api {
        status: 409,
        attempts: 4,
        stop: Some(StopReason::RetriesExhausted),
    };
    let own = fast().max_retries(3).build();
    assert_eq!(own.retry_budget().unwrap().available(), 1_000);
    assert_eq!(
        call(&client(own), Method::POST, &url, "own").await,
        exhausted
    );
    let free = fast().max_retries(3).without_retry_budget().build();
    assert!(free.retry_budget().is_none());
    assert_eq!(
        call(&client(free), Method::POST, &url, "free").await,
        exhausted
    );
    assert_eq!(server.attempts(), 14);
    assert_eq!(budget.available(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_budget_every_call_retries_up_to_max_retries() {
    let server = FaultServer::always(Fault::Unavailable).await;
    let url = server.url("/v5/agencies");
    let free = client(fast().max_retries(3).without_retry_budget().build());
    let outcomes = send_many(&free, &Method::GET, &url, 0, 100).await;
    assert!(outcomes.iter().all(|o| *o
        == Outcome::Api {
            status: 503,
            attempts: 4,
            stop: Some(StopReason::RetriesExhausted)
        }));
    assert_eq!(server.attempts(), 400);

    // The same outage with the default bucket: 100 retries in all.
    let budgeted = client(fast().max_retries(3).build());
    send_many(&budgeted, &Method::GET, &url, 100, 100).await;
    assert_eq!(server.attempts(), 400 + 200);
}

#[tokio::test]
async fn a_timeout_costs_twice_a_retry() {
    let server = FaultServer::always(Fault::Stall).await;
    let budget = RetryBudget::builder().capacity(30).build();
    let middleware = fast().max_retries(3).retry_budget(budget.clone()).build();
    let client = client_with(
        reqwest::Client::builder().timeout(Duration::from_millis(50)),
        middleware,
    );
    let err = client
        .get(server.url("/v5/agencies/a1"))
        .header("x-call-id", "slow")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // 30 tokens pay for one retry after a timeout (20), not for a second.
    assert_eq!(server.attempts(), 2);
    assert_eq!(budget.available(), 10);
}

#[tokio::test]
async fn a_retry_that_succeeds_refunds_and_a_first_attempt_success_deposits() {
    let server = FaultServer::start(|head| match (head.call_id, head.attempt) {
        ("a", _) | ("b", 0) => Fault::ConcurrentModification,
        _ => Fault::Ok,
    })
    .await;
    let url = server.url("/v5/policies");
    let budget = RetryBudget::builder().capacity(100).build();
    let client = client(fast().max_retries(2).retry_budget(budget.clone()).build());

    let failed = call(&client, Method::POST, &url, "a").await;
    assert!(matches!(failed, Outcome::Api { attempts: 3, .. }));
    assert_eq!(budget.available(), 80);
    // Its retry succeeds: the 10 tokens it took come back.
    assert_eq!(
        call(&client, Method::POST, &url, "b").await,
        Outcome::Response(200)
    );
    assert_eq!(server.call("b").len(), 2);
    assert_eq!(budget.available(), 80);
    // First-attempt successes put back a token each.
    for id in ["c", "d"] {
        assert_eq!(
            call(&client, Method::POST, &url, id).await,
            Outcome::Response(200)
        );
    }
    assert_eq!(budget.available(), 82);
}

#[tokio::test]
async fn dropping_a_call_during_its_backoff_gives_its_tokens_back() {
    let server = FaultServer::always(Fault::ConcurrentModification).await;
    let url = server.url("/v5/policies");
    let budget = RetryBudget::new();
    // The seeded full-jitter draw from 0..=10 s is 7.7 s here.
    let middleware = ErrorMiddleware::builder()
        .initial_backoff(Duration::from_secs(10))
        .max_backoff(Duration::from_secs(10))
        .jitter_seed(7)
        .retry_budget(budget.clone())
        .build();
    let client = client(middleware);
    let before = budget.available();

    let mut call = Box::pin(
        client
            .post(&url)
            .header("x-call-id", "dropped")
            .body("{}")
            .send(),
    );
    // Drive the call until the retry is decided and its tokens are held.
    let deadline = Instant::now() + Duration::from_secs(5);
    while budget.available() == before {
        assert!(Instant::now() < deadline, "the first attempt never failed");
        tokio::select! {
            result = &mut call => panic!("the call ended during its backoff: {result:?}"),
            () = tokio::time::sleep(Duration::from_millis(1)) => {}
        }
    }
    assert_eq!(budget.available(), before - 10);
    assert_eq!(server.attempts(), 1);
    drop(call);
    assert_eq!(budget.available(), before);

    // The same through a timeout: it ends the call long before the backoff would.
    let start = Instant::now();
    let timed_out = tokio::time::timeout(
        Duration::from_millis(100),
        client
            .post(&url)
            .header("x-call-id", "timed-out")
            .body("{}")
            .send(),
    )
    .await;
    assert!(timed_out.is_err());
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(budget.available(), before);

    // Nothing more reaches the server once the calls are gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.call("dropped").len(), 1);
    assert_eq!(server.call("timed-out").len(), 1);
    assert_eq!(server.attempts(), 2);
}

#[tokio::test]
async fn a_call_dropped_while_its_retry_is_in_flight_leaves_the_retry_paid_for() {
    // An overloaded service: the first attempt fails fast, retries hang.
    let server = FaultServer::start(|head| match head.attempt {
        0 => Fault::Unavailable,
        _ => Fault::Stall,
    })
    .await;
    let url = server.url("/v5/agencies");
    let budget = RetryBudget::builder().capacity(30).build();
    let client = client(fast().max_retries(3).retry_budget(budget.clone()).build());

    // Callers give up after 100 ms, while the retries hang; two waves of ten.
    let mut outcomes: Vec<Option<Outcome>> = Vec::new();
    for wave in 0..2 {
        let calls = futures::stream::iter(wave * 10..wave * 10 + 10)
            .map(|i| {
                let (client, url) = (&client, &url);
                async move {
                    let id = i.to_string();
                    let call = call(client, Method::GET, url, &id);
                    tokio::time::timeout(Duration::from_millis(100), call)
                        .await
                        .ok()
                }
            })
            .buffer_unordered(10);
        outcomes.extend(calls.collect::<Vec<_>>().await);
    }

    // The retries reached the server, so they stay paid for: three of them
    // empty the bucket, and every other call fails at once, in the second
    // wave too.
    assert_eq!(server.attempts(), 20 + 3);
    assert_eq!(budget.available(), 0);
    assert_eq!(outcomes.iter().filter(|o| o.is_none()).count(), 3);
    let held_back = Outcome::Api {
        status: 503,
        attempts: 1,
        stop: Some(StopReason::BudgetExhausted),
    };
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Some(held_back.clone()))
            .count(),
        17
    );
}

#[tokio::test]
async fn each_middleware_built_gets_its_own_default_bucket() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let builder = ErrorMiddleware::builder()
        .max_retries(1_000)
        .max_elapsed(None)
        .initial_backoff(Duration::ZERO)
        .max_backoff(Duration::ZERO);
    let a = builder.clone().build();
    let b = builder.build();

    // One call drains a's bucket (100 retries of 10 tokens)...
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(a.clone())
        .build();
    let err = client.get(server.uri()).send().await.unwrap_err();
    let err = huaweicloud_errors::ApiError::from_error(&err).unwrap();
    assert_ended(err, 101, StopReason::BudgetExhausted, "");
    assert_eq!(a.retry_budget().unwrap().available(), 0);
    // ...and leaves b's alone: clones of a builder do not share a bucket
    // unless given one.
    assert_eq!(b.retry_budget().unwrap().available(), 1_000);
    assert!(
        ErrorMiddleware::builder()
            .without_retry_budget()
            .build()
            .retry_budget()
            .is_none()
    );
}

#[tokio::test]
async fn a_status_let_through_at_the_first_attempt_counts_as_a_success() {
    let server = wiremock::MockServer::start().await;
    for (route, status, code) in [("/busy", 503, "APIGW.0613"), ("/gone", 404, "PAP5.0012")] {
        wiremock::Mock::given(wiremock::matchers::path(route))
            .respond_with(crate::support::answer(status, code))
            .mount(&server)
            .await;
    }
    let budget = RetryBudget::builder().capacity(100).build();
    let client = client(
        crate::support::builder()
            .max_retries(1)
            .pass_through(reqwest::StatusCode::NOT_FOUND)
            .retry_budget(budget.clone())
            .build(),
    );
    let err = crate::support::send_err(client.get(format!("{}/busy", server.uri()))).await;
    assert_ended(
        crate::support::api(&err),
        2,
        StopReason::RetriesExhausted,
        "/busy",
    );
    assert_eq!(budget.available(), 90);
    let gone = client
        .get(format!("{}/gone", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), reqwest::StatusCode::NOT_FOUND);
    assert_eq!(
        budget.available(),
        91,
        "a first-attempt success adds a token"
    );
}
