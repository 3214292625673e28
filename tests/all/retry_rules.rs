//! The retry rules against a wiremock server: what is retried for which
//! methods, how often, how long the waits are, `Retry-After`, the time limit,
//! streaming bodies and the per-request extensions. Calls are counted on the
//! server with `.expect(n)` and on the error with `attempts()`.

use std::time::{Duration, SystemTime};

use huaweicloud_errors::{
    ErrorClass, ErrorCode, Idempotent, MaxRetries, NoRetry, Reason, RetryScope, Rules, StopReason,
};
use reqwest::{Method, StatusCode};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    answer, api, assert_ended, builder, client, http_date, paused_client, send_err,
};

const IDEMPOTENT: [Method; 5] = [
    Method::GET,
    Method::HEAD,
    Method::OPTIONS,
    Method::PUT,
    Method::DELETE,
];
const NOT_IDEMPOTENT: [Method; 2] = [Method::POST, Method::PATCH];

/// Mounts `template` for `method` on `route`, expecting `calls` requests.
async fn mount(
    server: &MockServer,
    m: &Method,
    route: &str,
    template: ResponseTemplate,
    calls: u64,
) {
    Mock::given(method(m.as_str()))
        .and(path(route))
        .respond_with(template)
        .expect(calls)
        .named(format!("{m} {route}"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn concurrent_modification_is_retried_for_every_method() {
    let server = MockServer::start().await;
    let client = client(builder().without_retry_budget().build());
    // Not HEAD: its answers have no body, so no code to read.
    let methods = IDEMPOTENT
        .iter()
        .chain(&NOT_IDEMPOTENT)
        .filter(|m| **m != Method::HEAD);
    for code in ["PAP5.0006", "AccessAnalyzer.1005"] {
        for m in methods.clone() {
            let route = format!("/{code}/{m}");
            mount(&server, m, &route, answer(409, code), 4).await;
            let err = send_err(client.request(m.clone(), format!("{}{route}", server.uri()))).await;
            let api_err = api(&err);
            assert_eq!(
                api_err.reason(),
                Reason::ConcurrentModification,
                "{code} {m}"
            );
            assert_ended(
                api_err,
                4,
                StopReason::RetriesExhausted,
                &format!("{code} {m}"),
            );
        }
    }
    server.verify().await;
}

#[tokio::test]
async fn a_rejection_code_on_a_5xx_is_retried_only_for_idempotent_methods() {
    // A 5xx proves nothing about the write, whatever code its body carries:
    // a POST that met it may have taken effect.
    let server = MockServer::start().await;
    let client = client(builder().without_retry_budget().build());
    for code in ["PAP5.0006", "AccessAnalyzer.1005", "APIGW.0308"] {
        let route = format!("/5xx/{code}");
        mount(&server, &Method::POST, &route, answer(500, code), 1).await;
        mount(&server, &Method::PUT, &route, answer(500, code), 4).await;
        let err = send_err(client.post(format!("{}{route}", server.uri()))).await;
        assert_ended(api(&err), 1, StopReason::NotIdempotent, code);
        let err = send_err(client.put(format!("{}{route}", server.uri()))).await;
        assert_eq!(api(&err).attempts(), 4, "{code}");
    }
    server.verify().await;
}

#[tokio::test]
async fn throttling_is_retried_for_every_method() {
    let server = MockServer::start().await;
    let client = client(builder().without_retry_budget().build());
    let throttled = [
        ("APIGW.0308", answer(429, "APIGW.0308")),
        // Also seen with the gateway's older spelling, and with no body at all.
        ("APIG.0308", answer(429, "APIG.0308")),
        ("bare", ResponseTemplate::new(429)),
    ];
    for (name, template) in throttled {
        for m in [Method::POST, Method::PATCH, Method::GET] {
            let route = format!("/{name}/{m}");
            mount(&server, &m, &route, template.clone(), 4).await;
            let err = send_err(client.request(m.clone(), format!("{}{route}", server.uri()))).await;
            let api_err = api(&err);
            assert_eq!(api_err.reason(), Reason::Throttled, "{name} {m}");
            assert_ended(
                api_err,
                4,
                StopReason::RetriesExhausted,
                &format!("{name} {m}"),
            );
        }
    }
    server.verify().await;
}

#[tokio::test]
async fn throttling_waits_at_least_the_throttle_backoff_first() {
    // throttle_backoff is 2 ms (first wait 2 to 5 ms); other failures wait
    // at most initial_backoff, 1 ms, first.
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::POST,
        "/throttled",
        ResponseTemplate::new(429),
        10,
    )
    .await;
    mount(
        &server,
        &Method::GET,
        "/unavailable",
        ResponseTemplate::new(503),
        10,
    )
    .await;
    for seed in 0..5 {
        let client = client(builder().max_retries(1).jitter_seed(seed).build());

        let err = send_err(client.post(format!("{}/throttled", server.uri()))).await;
        let waited = api(&err).waited();
        assert_eq!(api(&err).attempts(), 2);
        assert!(
            (Duration::from_millis(2)..=Duration::from_millis(5)).contains(&waited),
            "seed {seed}: throttled first wait {waited:?}"
        );

        let err = send_err(client.get(format!("{}/unavailable", server.uri()))).await;
        let waited = api(&err).waited();
        assert_eq!(api(&err).attempts(), 2);
        assert!(
            waited <= Duration::from_millis(1),
            "seed {seed}: 503 first wait {waited:?}"
        );
    }
    server.verify().await;
}

#[tokio::test]
async fn server_errors_are_retried_only_for_idempotent_methods() {
    let server = MockServer::start().await;
    let client = client(builder().without_retry_budget().build());
    // 408 is the server timing out on the request: the same rule as 5xx.
    for status in [500u16, 502, 503, 504, 408] {
        for m in &IDEMPOTENT {
            let route = format!("/{status}/{m}");
            mount(&server, m, &route, ResponseTemplate::new(status), 4).await;
            let err = send_err(client.request(m.clone(), format!("{}{route}", server.uri()))).await;
            assert_eq!(api(&err).class(), ErrorClass::Retryable, "{status} {m}");
            assert_ended(
                api(&err),
                4,
                StopReason::RetriesExhausted,
                &format!("{status} {m}"),
            );
        }
        for m in &NOT_IDEMPOTENT {
            let route = format!("/{status}/{m}");
            mount(&server, m, &route, ResponseTemplate::new(status), 1).await;
            let err = send_err(client.request(m.clone(), format!("{}{route}", server.uri()))).await;
            assert_eq!(api(&err).class(), ErrorClass::Retryable, "{status} {m}");
            assert_ended(
                api(&err),
                1,
                StopReason::NotIdempotent,
                &format!("{status} {m}"),
            );
        }
    }
    server.verify().await;
}

#[tokio::test]
async fn the_idempotent_extension_overrides_the_method() {
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::POST,
        "/post",
        answer(503, "APIGW.0613"),
        4,
    )
    .await;
    mount(&server, &Method::PUT, "/put", answer(503, "APIGW.0613"), 1).await;
    mount(
        &server,
        &Method::DELETE,
        "/delete",
        answer(500, "APIGW.0601"),
        1,
    )
    .await;
    let client = client(builder().build());

    let err = send_err(
        client
            .post(format!("{}/post", server.uri()))
            .with_extension(Idempotent(true)),
    )
    .await;
    assert_ended(api(&err), 4, StopReason::RetriesExhausted, "/post");

    for (m, route) in [(Method::PUT, "/put"), (Method::DELETE, "/delete")] {
        let err = send_err(
            client
                .request(m.clone(), format!("{}{route}", server.uri()))
                .with_extension(Idempotent(false)),
        )
        .await;
        assert_ended(api(&err), 1, StopReason::NotIdempotent, m.as_str());
    }
    server.verify().await;
}

#[tokio::test]
async fn assume_idempotent_retries_post_unless_the_request_says_otherwise() {
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::POST,
        "/assumed",
        ResponseTemplate::new(502),
        4,
    )
    .await;
    mount(
        &server,
        &Method::POST,
        "/declined",
        ResponseTemplate::new(502),
        1,
    )
    .await;
    let client = client(builder().assume_idempotent(true).build());

    let err = send_err(client.post(format!("{}/assumed", server.uri()))).await;
    assert_eq!(api(&err).attempts(), 4);

    let err = send_err(
        client
            .post(format!("{}/declined", server.uri()))
            .with_extension(Idempotent(false)),
    )
    .await;
    assert_ended(api(&err), 1, StopReason::NotIdempotent, "/declined");
    server.verify().await;
}

#[tokio::test]
async fn user_fixable_and_permission_errors_are_never_retried() {
    let server = MockServer::start().await;
    let cases = [
        (400, "PAP5.0011", ErrorClass::UserFixable),
        (404, "PAP5.0012", ErrorClass::UserFixable),
        (409, "PAP5.0025", ErrorClass::UserFixable),
        (403, "PAP5.0001", ErrorClass::Permission),
        (401, "APIGW.0301", ErrorClass::Permission),
        (401, "APIGW.0307", ErrorClass::Permission),
        (401, "", ErrorClass::Permission),
    ];
    // Every method, and even with the call declared idempotent.
    let client = client(builder().assume_idempotent(true).build());
    for (status, code, class) in cases {
        for m in [Method::GET, Method::PUT, Method::POST] {
            let route = format!("/{status}/{code}/{m}");
            mount(&server, &m, &route, answer(status, code), 1).await;
            let err = send_err(client.request(m.clone(), format!("{}{route}", server.uri()))).await;
            assert_eq!(api(&err).class(), class, "{status} {code} {m}");
            assert_ended(
                api(&err),
                1,
                StopReason::NotRetryable,
                &format!("{status} {code} {m}"),
            );
        }
    }
    server.verify().await;
}

#[tokio::test]
async fn a_401_is_never_retried_even_when_a_classifier_calls_it_retryable() {
    let server = MockServer::start().await;
    mount(&server, &Method::GET, "/auth", answer(401, "APIGW.0301"), 1).await;
    // Control: the same classifier does make another code retryable.
    mount(&server, &Method::GET, "/ecs", answer(400, "ECS.0105"), 4).await;
    let rules = Rules::new()
        .code("APIGW.0301", Reason::Unavailable)
        .code("ECS.0105", Reason::Unavailable);
    let client = client(builder().classifier(rules).build());

    let err = send_err(client.get(format!("{}/auth", server.uri()))).await;
    let api_err = api(&err);
    assert_eq!(
        api_err.class(),
        ErrorClass::Retryable,
        "the classifier was applied"
    );
    assert_ended(api_err, 1, StopReason::NotRetryable, "");

    let err = send_err(client.get(format!("{}/ecs", server.uri()))).await;
    assert!(api(&err).code().is_some_and(|code| code == "ECS.0105"));
    assert_eq!(api(&err).attempts(), 4);
    server.verify().await;
}

#[tokio::test]
async fn max_retries_defaults_to_three_and_bounds_the_attempts() {
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::GET,
        "/default",
        ResponseTemplate::new(503),
        4,
    )
    .await;
    mount(&server, &Method::GET, "/one", ResponseTemplate::new(503), 2).await;
    mount(
        &server,
        &Method::GET,
        "/none",
        ResponseTemplate::new(503),
        1,
    )
    .await;
    let get = |middleware, route: &str| {
        let client = client(middleware);
        let url = format!("{}{route}", server.uri());
        async move { send_err(client.get(url)).await }
    };

    // The support builder leaves max_retries at its default.
    let err = get(builder().build(), "/default").await;
    assert_ended(api(&err), 4, StopReason::RetriesExhausted, "/default");

    let err = get(builder().max_retries(1).build(), "/one").await;
    assert_ended(api(&err), 2, StopReason::RetriesExhausted, "/one");

    let err = get(builder().max_retries(0).build(), "/none").await;
    assert_ended(api(&err), 1, StopReason::RetriesDisabled, "/none");
    assert_eq!(api(&err).waited(), Duration::ZERO);
    server.verify().await;
}

#[tokio::test]
async fn per_request_extensions_override_max_retries() {
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::GET,
        "/no-retry",
        ResponseTemplate::new(503),
        1,
    )
    .await;
    mount(
        &server,
        &Method::GET,
        "/zero",
        ResponseTemplate::new(503),
        1,
    )
    .await;
    mount(&server, &Method::GET, "/one", ResponseTemplate::new(503), 2).await;
    mount(
        &server,
        &Method::GET,
        "/five",
        ResponseTemplate::new(503),
        6,
    )
    .await;
    // NoRetry still decodes: the concurrent modification comes back typed.
    mount(
        &server,
        &Method::POST,
        "/conflict",
        answer(409, "PAP5.0006"),
        1,
    )
    .await;
    let client = client(builder().build());
    let url = |route: &str| format!("{}{route}", server.uri());

    let err = send_err(client.get(url("/no-retry")).with_extension(NoRetry)).await;
    assert_ended(api(&err), 1, StopReason::RetriesDisabled, "/no-retry");

    let err = send_err(client.get(url("/zero")).with_extension(MaxRetries(0))).await;
    assert_ended(api(&err), 1, StopReason::RetriesDisabled, "/zero");

    let err = send_err(client.get(url("/one")).with_extension(MaxRetries(1))).await;
    assert_ended(api(&err), 2, StopReason::RetriesExhausted, "/one");

    let err = send_err(client.get(url("/five")).with_extension(MaxRetries(5))).await;
    assert_ended(api(&err), 6, StopReason::RetriesExhausted, "/five");

    let err = send_err(client.post(url("/conflict")).with_extension(NoRetry)).await;
    assert_eq!(api(&err).code(), Some(&ErrorCode::ConcurrentModification));
    assert_eq!(api(&err).stop_reason(), Some(StopReason::RetriesDisabled));
    server.verify().await;
}

#[tokio::test]
async fn backoff_is_exponential_full_jitter_and_seeded() {
    // Waits before retries 1, 2, 3 are drawn from 0..=1 ms, 0..=2 ms, 0..=4 ms:
    // at most 7 ms in all, and more than 3 ms (three waits of a constant
    // 1 ms ceiling) for some seeds only if the ceiling grows.
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::GET,
        "/busy",
        ResponseTemplate::new(503),
        4 * 12,
    )
    .await;
    let waited = |seed: u64| {
        let client = client(builder().jitter_seed(seed).build());
        let url = format!("{}/busy", server.uri());
        async move {
            let err = send_err(client.get(url)).await;
            assert_eq!(api(&err).attempts(), 4);
            api(&err).waited()
        }
    };

    let mut all = Vec::new();
    for seed in 1..=10 {
        all.push(waited(seed).await);
    }
    assert!(
        all.iter().all(|w| *w <= Duration::from_millis(7)),
        "a wait over its ceiling: {all:?}"
    );
    assert!(
        all.iter().any(|w| *w > Duration::from_millis(3)),
        "the ceiling never grew: {all:?}"
    );
    assert!(all.windows(2).any(|p| p[0] != p[1]), "no jitter: {all:?}");
    // The same seed draws the same waits.
    assert_eq!(waited(4).await, all[3]);
    assert_eq!(waited(9).await, all[8]);
    server.verify().await;
}

#[tokio::test]
async fn max_backoff_caps_every_wait() {
    // A 10 s initial backoff capped at 1 ms: three waits of at most 1 ms.
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::GET,
        "/busy",
        ResponseTemplate::new(503),
        4,
    )
    .await;
    let middleware = builder()
        .initial_backoff(Duration::from_secs(10))
        .max_backoff(Duration::from_millis(1))
        .build();

    let err = send_err(client(middleware).get(format!("{}/busy", server.uri()))).await;
    assert_ended(api(&err), 4, StopReason::RetriesExhausted, "");
    assert!(
        api(&err).waited() <= Duration::from_millis(3),
        "{:?}",
        api(&err).waited()
    );
    server.verify().await;
}

#[tokio::test]
async fn no_wait_is_started_that_would_pass_the_time_limit() {
    // The first throttled wait is at least 1 s; with 500 ms in all, none starts.
    let server = MockServer::start().await;
    mount(
        &server,
        &Method::POST,
        "/throttled",
        ResponseTemplate::new(429),
        1,
    )
    .await;
    let middleware = builder()
        .throttle_backoff(Duration::from_secs(1))
        .max_backoff(Duration::from_secs(5))
        .max_elapsed(Some(Duration::from_millis(500)))
        .build();

    let err = send_err(client(middleware).post(format!("{}/throttled", server.uri()))).await;
    assert_ended(api(&err), 1, StopReason::TimeLimit, "");
    assert_eq!(api(&err).waited(), Duration::ZERO);
    server.verify().await;
}

// In real time: under a paused clock the call's deadline timer would fire
// while an attempt waits on the network (tokio jumps to the next timer).
#[tokio::test]
async fn the_time_limit_stops_the_wait_that_would_overrun_it() {
    // Each answer asks for 1 s; 2.5 s in all: waits end at 1 s and 2 s, the
    // third would end at 3 s, so the third answer is returned.
    let server = MockServer::start().await;
    let busy = ResponseTemplate::new(503).insert_header("Retry-After", "1");
    mount(&server, &Method::GET, "/busy", busy, 3).await;
    let middleware = builder()
        .max_elapsed(Some(Duration::from_millis(2_500)))
        .build();
    let start = tokio::time::Instant::now();

    let err = send_err(client(middleware).get(format!("{}/busy", server.uri()))).await;
    assert_ended(api(&err), 3, StopReason::TimeLimit, "");
    assert_eq!(api(&err).waited(), Duration::from_secs(2));
    assert!(
        start.elapsed() <= Duration::from_millis(2_500),
        "{:?}",
        start.elapsed()
    );
    server.verify().await;
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_the_least_wait() {
    let server = MockServer::start().await;
    let busy = ResponseTemplate::new(503).insert_header("Retry-After", "3");
    mount(&server, &Method::GET, "/busy", busy, 2).await;
    let middleware = builder().max_retries(1).body_read_timeout(None).build();

    let err = send_err(paused_client(middleware).get(format!("{}/busy", server.uri()))).await;
    let api_err = api(&err);
    assert_ended(api_err, 2, StopReason::RetriesExhausted, "");
    // 3 s, not the 1 ms backoff.
    assert_eq!(api_err.waited(), Duration::from_secs(3));
    assert_eq!(api_err.retry_after(), Some(Duration::from_secs(3)));
    server.verify().await;
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_the_least_wait() {
    let server = MockServer::start().await;
    let at = http_date(SystemTime::now() + Duration::from_secs(5));
    let busy = ResponseTemplate::new(429).insert_header("Retry-After", at.as_str());
    mount(&server, &Method::POST, "/busy", busy, 2).await;
    let middleware = builder().max_retries(1).body_read_timeout(None).build();

    let err = send_err(paused_client(middleware).post(format!("{}/busy", server.uri()))).await;
    let api_err = api(&err);
    assert_eq!(api_err.attempts(), 2);
    // The date has whole seconds; the wall clock moved on a little since.
    let waited = api_err.waited();
    assert!(
        (Duration::from_secs(3)..=Duration::from_secs(5)).contains(&waited),
        "waited {waited:?} for {at}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_retry_after_in_the_past_or_of_zero_adds_no_wait() {
    let server = MockServer::start().await;
    let past =
        ResponseTemplate::new(503).insert_header("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT");
    let zero = ResponseTemplate::new(503).insert_header("Retry-After", "0");
    mount(&server, &Method::GET, "/past", past, 4).await;
    mount(&server, &Method::GET, "/zero", zero, 4).await;
    let client = client(builder().build());

    for route in ["/past", "/zero"] {
        let err = send_err(client.get(format!("{}{route}", server.uri()))).await;
        let api_err = api(&err);
        assert_eq!(api_err.attempts(), 4, "{route}");
        assert_eq!(api_err.retry_after(), Some(Duration::ZERO), "{route}");
        // Only the backoff: at most 1 + 2 + 4 ms.
        assert!(api_err.waited() <= Duration::from_millis(7), "{route}");
    }
    server.verify().await;
}

// Paused: "at once" is then exact (no time passes at all), and a middleware
// that did wait would not hold the suite up.
#[tokio::test(start_paused = true)]
async fn a_retry_after_above_the_ceiling_returns_at_once() {
    let server = MockServer::start().await;
    let seconds = ResponseTemplate::new(503).insert_header("Retry-After", "21");
    let date =
        ResponseTemplate::new(429).insert_header("Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT");
    let custom = ResponseTemplate::new(429).insert_header("Retry-After", "3");
    mount(&server, &Method::GET, "/seconds", seconds, 1).await;
    mount(&server, &Method::POST, "/date", date, 1).await;
    mount(&server, &Method::POST, "/custom", custom, 1).await;
    // The default ceiling is 20 s.
    let default_ceiling = paused_client(builder().body_read_timeout(None).build());
    let low_ceiling = paused_client(
        builder()
            .retry_after_ceiling(Duration::from_secs(2))
            .body_read_timeout(None)
            .build(),
    );
    let start = tokio::time::Instant::now();

    let err = send_err(default_ceiling.get(format!("{}/seconds", server.uri()))).await;
    assert_ended(api(&err), 1, StopReason::RetryAfterTooLong, "/seconds");
    assert_eq!(api(&err).waited(), Duration::ZERO);
    assert_eq!(api(&err).retry_after(), Some(Duration::from_secs(21)));

    let err = send_err(default_ceiling.post(format!("{}/date", server.uri()))).await;
    assert_ended(api(&err), 1, StopReason::RetryAfterTooLong, "/date");
    assert!(api(&err).retry_after().unwrap() > Duration::from_secs(365 * 24 * 3600));

    let err = send_err(low_ceiling.post(format!("{}/custom", server.uri()))).await;
    assert_ended(api(&err), 1, StopReason::RetryAfterTooLong, "/custom");
    assert_eq!(api(&err).retry_after(), Some(Duration::from_secs(3)));

    assert_eq!(start.elapsed(), Duration::ZERO, "no wait at all");
    server.verify().await;
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_equal_to_the_ceiling_is_honoured() {
    let server = MockServer::start().await;
    let busy = ResponseTemplate::new(429).insert_header("Retry-After", "2");
    mount(&server, &Method::POST, "/busy", busy, 2).await;
    let middleware = builder()
        .max_retries(1)
        .retry_after_ceiling(Duration::from_secs(2))
        .body_read_timeout(None)
        .build();

    let err = send_err(paused_client(middleware).post(format!("{}/busy", server.uri()))).await;
    assert_eq!(api(&err).attempts(), 2);
    assert_eq!(api(&err).waited(), Duration::from_secs(2));
    server.verify().await;
}

fn streaming_body(parts: &'static [&'static str]) -> reqwest::Body {
    let chunks = parts
        .iter()
        .map(|p| Ok::<_, std::io::Error>(bytes::Bytes::from_static(p.as_bytes())));
    reqwest::Body::wrap_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn a_streaming_body_is_sent_once_and_its_error_decoded() {
    let server = MockServer::start().await;
    // Retryable for any method, so it would be retried if the body could be resent.
    mount(
        &server,
        &Method::POST,
        "/conflict",
        answer(409, "PAP5.0006"),
        1,
    )
    .await;
    mount(
        &server,
        &Method::POST,
        "/invalid",
        answer(400, "PAP5.0011"),
        1,
    )
    .await;
    mount(&server, &Method::POST, "/ok", ResponseTemplate::new(201), 1).await;
    let client = client(builder().build());
    let parts: &[&str] = &[r#"{"policy_name":"#, r#""p1"}"#];

    let err = send_err(
        client
            .post(format!("{}/conflict", server.uri()))
            .body(streaming_body(parts)),
    )
    .await;
    let api_err = api(&err);
    assert_eq!(api_err.code(), Some(&ErrorCode::ConcurrentModification));
    assert_ended(api_err, 1, StopReason::BodyNotCloneable, "");

    // Not retryable anyway: the usual reason, not the body's.
    let err = send_err(
        client
            .post(format!("{}/invalid", server.uri()))
            .body(streaming_body(parts)),
    )
    .await;
    assert_eq!(api(&err).stop_reason(), Some(StopReason::NotRetryable));

    let response = client
        .post(format!("{}/ok", server.uri()))
        .body(streaming_body(parts))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    // The server got the whole body every time.
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|r| r.body == br#"{"policy_name":"p1"}"#)
    );
    server.verify().await;
}

/// The middleware retries exactly what [`RetryScope`] says, for every
/// catalogued code on its own status and on 409, 429, 500 and 503, and for
/// bare statuses: a GET and a POST are each sent twice (one retry allowed)
/// if and only if the scope allows them. `explain` prints the same scope,
/// so it cannot drift from the middleware.
#[tokio::test]
async fn the_middleware_retries_exactly_what_retry_scope_says() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(|req: &wiremock::Request| {
            // The route is /<status>/<code>, or /<status>/- for no body.
            let mut parts = req.url.path().trim_start_matches('/').splitn(2, '/');
            let status: u16 = parts.next().unwrap().parse().unwrap();
            match parts.next().unwrap() {
                "-" => ResponseTemplate::new(status),
                code => answer(status, code),
            }
        })
        .mount(&server)
        .await;
    let no_wait = builder()
        .initial_backoff(Duration::ZERO)
        .throttle_backoff(Duration::ZERO)
        .max_retries(1)
        .without_retry_budget();
    let client = client(no_wait.build());
    let mut cases: Vec<(u16, Option<ErrorCode>)> = Vec::new();
    for code in ErrorCode::CATALOGUE {
        for status in code
            .status()
            .into_iter()
            .chain([409, 429, 500, 503].map(|s| StatusCode::from_u16(s).unwrap()))
        {
            cases.push((status.as_u16(), Some(code.clone())));
        }
    }
    for status in [400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504] {
        cases.push((status, None));
    }
    let mut seen = std::collections::HashSet::new();
    for (status, code) in cases {
        let wire = code.as_ref().map_or("-", |c| c.as_str());
        let status_code = StatusCode::from_u16(status).unwrap();
        let classification = huaweicloud_errors::default_classification(status_code, code.as_ref());
        let scope = RetryScope::of(classification, status_code);
        seen.insert(scope);
        for (m, idempotent) in [(Method::GET, true), (Method::POST, false)] {
            let url = format!("{}/{status}/{wire}", server.uri());
            let err = send_err(client.request(m.clone(), url)).await;
            let expected = if scope.allows(idempotent) { 2 } else { 1 };
            assert_eq!(
                api(&err).attempts(),
                expected,
                "{m} answered {status} {wire}: scope {scope}"
            );
        }
    }
    assert_eq!(seen.len(), 3, "every scope was exercised: {seen:?}");
}

/// A redirect loop is a permanent transport error: reqwest follows 10
/// redirects and gives up, and sending the request again would loop again.
/// So the call makes 11 requests, not 44 (a retry of each would start the
/// loop again).
#[tokio::test]
async fn a_redirect_loop_is_not_retried() {
    let client = client(builder().without_retry_budget().build());
    for m in [Method::GET, Method::POST] {
        let server = MockServer::start().await;
        Mock::given(path("/loop"))
            .respond_with(ResponseTemplate::new(307).insert_header("location", "/loop"))
            .expect(11)
            .mount(&server)
            .await;
        let err = send_err(client.request(m.clone(), format!("{}/loop", server.uri()))).await;
        assert!(err.is_redirect(), "{m}: {err:?}");
        server.verify().await;
    }
}

/// A classifier that gives an answer an authentication reason makes it a
/// permission error (the class follows from the reason), which is never
/// retried, on any status: repeated authentication failures lock the key.
#[tokio::test]
async fn an_authentication_reason_from_a_classifier_is_never_retried() {
    let server = MockServer::start().await;
    mount(&server, &Method::GET, "/auth", answer(503, "ECS.0001"), 1).await;
    let rules = Rules::new().code("ECS.0001", Reason::Authentication);
    let client = client(builder().classifier(rules).build());

    let err = send_err(client.get(format!("{}/auth", server.uri()))).await;
    let api_err = api(&err);
    assert_eq!(api_err.reason(), Reason::Authentication);
    assert_eq!(api_err.class(), ErrorClass::Permission);
    assert_ended(api_err, 1, StopReason::NotRetryable, "");
    server.verify().await;
}
