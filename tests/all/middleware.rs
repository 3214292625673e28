//! The middleware apart from its retry rules: what passes through untouched,
//! how the typed error is reached and shown, body limits, `ResendCount`, and
//! the tracing events.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use huaweicloud_errors::{
    ApiError, ErrorClass, ErrorCode, ErrorMiddleware, Reason, ResendCount, RetryBudget, RetryStats,
    StopReason,
};
use reqwest::{Method, StatusCode};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Next};
use tokio::io::AsyncWriteExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    RawServer, Recorder, answer, api, builder, client, closed_port_url, error_body, reqwest_client,
    send_err,
};

#[tokio::test]
async fn answers_below_400_pass_through_untouched() {
    let server = MockServer::start().await;
    // Success bodies shaped like error bodies: they must not be decoded either.
    let body = error_body("PAP5.0006", "concurrent modification", "r-1");
    let with_body = [200u16, 201, 202, 203, 302];
    let without_body = [204u16, 304];
    for status in with_body {
        Mock::given(path(format!("/s/{status}")))
            .respond_with(ResponseTemplate::new(status).set_body_string(body.clone()))
            .expect(1)
            .mount(&server)
            .await;
    }
    for status in without_body {
        Mock::given(path(format!("/s/{status}")))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(builder().build());

    for status in with_body.into_iter().chain(without_body) {
        let response = client
            .post(format!("{}/s/{status}", server.uri()))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{status} did not pass through: {err}"));
        assert_eq!(response.status().as_u16(), status);
        let expected = if with_body.contains(&status) {
            &body[..]
        } else {
            ""
        };
        assert_eq!(response.text().await.unwrap(), expected, "body of {status}");
    }
    server.verify().await;
}

#[tokio::test]
async fn a_success_body_is_left_streaming_for_the_caller() {
    // 2 MiB, 32 times the default body limit. The server sends the headers
    // and a first piece, then holds the rest back until the test has its
    // `Response`: `send()` can only return if the middleware did not read
    // (or start to buffer) the body.
    const FIRST: usize = 16 * 1024;
    const TOTAL: usize = 2 * 1024 * 1024;
    let release = Arc::new(tokio::sync::Notify::new());
    let held = release.clone();
    let raw = RawServer::start(move |mut stream| {
        let held = held.clone();
        async move {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {TOTAL}\r\n\r\n");
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(&[b'a'; FIRST]).await.unwrap();
            stream.flush().await.unwrap();
            held.notified().await;
            let rest = vec![b'b'; TOTAL - FIRST];
            stream.write_all(&rest).await.unwrap();
            stream.flush().await.unwrap();
        }
    })
    .await;
    let client = client(builder().build());

    let response = tokio::time::timeout(Duration::from_secs(2), client.get(raw.url("/big")).send())
        .await
        .expect("send() waited for the body: the middleware read a success body")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    release.notify_one();

    let mut stream = response.bytes_stream();
    let mut received = Vec::with_capacity(TOTAL);
    while let Some(chunk) = stream.next().await {
        received.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(received.len(), TOTAL);
    assert!(received[..FIRST].iter().all(|&b| b == b'a'));
    assert!(received[FIRST..].iter().all(|&b| b == b'b'));
    assert_eq!(raw.requests(), 1);
}

#[tokio::test]
async fn pass_through_lets_a_404_through_as_ok_and_decodes_the_rest() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v5/agencies/a1"))
        .respond_with(answer(404, "PAP5.0012"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v5/policies"))
        .respond_with(answer(409, "PAP5.0025"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .expect(1)
        .mount(&server)
        .await;
    let lenient = client(builder().pass_through(StatusCode::NOT_FOUND).build());
    let strict = client(builder().build());
    let agency = format!("{}/v5/agencies/a1", server.uri());

    let response = lenient.get(&agency).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Untouched: the caller still gets the body to read.
    assert!(response.text().await.unwrap().contains("PAP5.0012"));

    // Only 404 is let through.
    let err = send_err(lenient.post(format!("{}/v5/policies", server.uri()))).await;
    assert_eq!(api(&err).code(), Some(&ErrorCode::PolicyAlreadyExists));

    // A status let through is never retried either.
    let unavailable = client(
        builder()
            .pass_through(StatusCode::SERVICE_UNAVAILABLE)
            .build(),
    );
    let response = unavailable
        .get(format!("{}/busy", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Without the option the same 404 is an error.
    let err = send_err(strict.get(&agency)).await;
    assert_eq!(api(&err).code(), Some(&ErrorCode::NoSuchAgency));
    assert_eq!(api(&err).reason(), Reason::NotFound);
    server.verify().await;
}

#[tokio::test]
async fn from_error_finds_the_api_error_and_leaves_transport_errors_to_reqwest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(403, "PAP5.0001"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(builder().max_retries(0).build());

    let err = send_err(client.post(format!("{}/v5/agencies", server.uri()))).await;
    assert!(matches!(err, reqwest_middleware::Error::Middleware(_)));
    let api_err = ApiError::from_error(&err).expect("an error answer gives an ApiError");
    assert_eq!(api_err.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_err.code(), Some(&ErrorCode::AccessDenied));
    assert_eq!(api_err.class(), ErrorClass::Permission);
    assert_eq!(api_err.request_id(), Some("req-PAP5.0001"));

    let err = send_err(client.post(closed_port_url("/v5/agencies").await)).await;
    assert!(ApiError::from_error(&err).is_none());
    assert!(err.is_connect());
    match &err {
        reqwest_middleware::Error::Reqwest(inner) => assert!(inner.is_connect()),
        other => panic!("a connect failure should stay a reqwest error, got {other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_cut_and_still_decoded() {
    let server = MockServer::start().await;
    let small = error_body("PAP5.0011", "malformed policy document", "r-9");
    let large = format!(
        r#"{{"error_code":"PAP5.0011","error_msg":"malformed policy document","request_id":"r-9","padding":"{}"}}"#,
        "x".repeat(10_000)
    );
    Mock::given(path("/small"))
        .respond_with(ResponseTemplate::new(400).set_body_string(small.clone()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/large"))
        .respond_with(ResponseTemplate::new(400).set_body_string(large))
        .expect(1)
        .mount(&server)
        .await;
    let get = |limit: usize, route: &str| {
        let client = client(builder().body_limit(limit).build());
        let url = format!("{}{route}", server.uri());
        async move { send_err(client.get(url)).await }
    };

    // A body of exactly the limit is whole; one byte over is cut.
    let err = get(small.len(), "/small").await;
    assert!(!api(&err).body_truncated());
    assert_eq!(api(&err).code(), Some(&ErrorCode::MalformedPolicyDocument));
    let err = get(small.len() - 1, "/small").await;
    assert!(api(&err).body_truncated());

    // 256 bytes of a 10 KB body: the JSON is cut, the fields before the cut are read.
    let err = get(256, "/large").await;
    let api_err = api(&err);
    assert!(api_err.body_truncated());
    assert_eq!(api_err.code(), Some(&ErrorCode::MalformedPolicyDocument));
    assert_eq!(api_err.message(), "malformed policy document");
    assert_eq!(api_err.request_id(), Some("r-9"));
    assert_eq!(api_err.class(), ErrorClass::UserFixable);
    server.verify().await;
}

#[tokio::test]
async fn display_and_debug_show_the_answer_and_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(409).set_body_string(error_body(
            "PAP5.0006",
            "concurrent modification",
            "r-42",
        )))
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string(error_body(
            "PAP5.0010",
            "invalid marker\nINFO forged log line",
            "r-43",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(builder().build());
    let url = format!("{}/v5/agencies/a1/trust-policy", server.uri());

    let err = send_err(client.put(&url)).await;
    let api_err = api(&err);
    assert_eq!(
        api_err.to_string(),
        "409 Conflict: PAP5.0006: concurrent modification (request id r-42) after 4 attempts"
    );
    assert_eq!(api_err.stop_reason(), Some(StopReason::RetriesExhausted));
    // The middleware error shows the same line.
    assert_eq!(err.to_string(), api_err.to_string());
    let debug = format!("{api_err:?}");
    for field in [
        "status: 409",
        "code: Some(ConcurrentModification)",
        "request_id: Some(\"r-42\")",
        "class: Retryable",
        "reason: ConcurrentModification",
        "attempts: 4",
        "stop_reason: Some(RetriesExhausted)",
        "method: Some(PUT)",
        &format!("url: Some({url:?})"),
        "body_truncated: false",
    ] {
        assert!(debug.contains(field), "{field:?} missing from {debug}");
    }

    // One attempt: no "after"; a newline in the message cannot forge a log line.
    let err = send_err(client.get(&url)).await;
    assert_eq!(
        api(&err).to_string(),
        "400 Bad Request: PAP5.0010: invalid marker\\nINFO forged log line (request id r-43)"
    );
    server.verify().await;
}

#[tokio::test]
async fn resend_count_is_inserted_before_each_retry() {
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(path("/ok"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let recorder = Recorder::default();
    let client = recorder.client(builder().build());

    let err = send_err(client.get(format!("{}/busy", server.uri()))).await;
    assert_eq!(api(&err).attempts(), 4);
    assert_eq!(recorder.seen(), [None, Some(1), Some(2), Some(3)]);

    client
        .get(format!("{}/ok", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        recorder.seen(),
        [None, Some(1), Some(2), Some(3), None],
        "a new call starts again without one"
    );
    server.verify().await;
}

/// The value of `key=` in a fmt line, without quotes.
#[cfg(feature = "tracing")]
fn field<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let value = line[start..].split(' ').next()?;
    Some(value.trim_matches('"'))
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn each_failed_attempt_and_the_give_up_are_traced() {
    let (logs, _guard) = crate::support::Captured::start();
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .expect(4)
        .mount(&server)
        .await;
    let client = client(builder().build());

    let err = send_err(client.get(format!("{}/busy", server.uri()))).await;
    let api_err = api(&err);
    assert_eq!(api_err.attempts(), 4);

    let text = logs.text();
    let retrying: Vec<&str> = text.lines().filter(|l| l.contains("retrying")).collect();
    let giving_up: Vec<&str> = text.lines().filter(|l| l.contains("giving up")).collect();
    assert_eq!(retrying.len(), 3, "one event per retried attempt:\n{text}");
    assert_eq!(giving_up.len(), 1, "one event when it gives up:\n{text}");

    let ceilings_ms = [1, 2, 4];
    for (i, line) in retrying.iter().enumerate() {
        assert!(line.contains("WARN"), "{line}");
        assert_eq!(
            field(line, "attempt"),
            Some(&*(i + 1).to_string()),
            "{line}"
        );
        assert_eq!(field(line, "status"), Some("503"), "{line}");
        assert_eq!(field(line, "code"), Some("APIGW.0613"), "{line}");
        assert_eq!(field(line, "class"), Some("retryable"), "{line}");
        assert_eq!(field(line, "request_id"), Some("req-APIGW.0613"), "{line}");
        let delay: u64 = field(line, "delay_ms").unwrap().parse().unwrap();
        assert!(delay <= ceilings_ms[i], "{line}");
    }
    let last = giving_up[0];
    assert_eq!(field(last, "attempts"), Some("4"), "{last}");
    assert_eq!(field(last, "status"), Some("503"), "{last}");
    assert_eq!(field(last, "code"), Some("APIGW.0613"), "{last}");
    assert_eq!(field(last, "class"), Some("retryable"), "{last}");
    assert_eq!(field(last, "request_id"), Some("req-APIGW.0613"), "{last}");
    assert_eq!(
        field(last, "stop_reason"),
        Some("retries_exhausted"),
        "{last}"
    );
    let waited: u128 = field(last, "waited_ms").unwrap().parse().unwrap();
    assert_eq!(waited, api_err.waited().as_millis(), "{last}");
    server.verify().await;
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn a_call_not_retried_gives_one_event_and_a_success_none() {
    let (logs, _guard) = crate::support::Captured::start();
    let server = MockServer::start().await;
    Mock::given(path("/denied"))
        .respond_with(answer(403, "PAP5.0001"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/ok"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(builder().build());

    client
        .get(format!("{}/ok", server.uri()))
        .send()
        .await
        .unwrap();
    assert!(
        !logs.text().contains("huaweicloud call failed"),
        "a success is not an event:\n{}",
        logs.text()
    );

    let err = send_err(client.get(format!("{}/denied", server.uri()))).await;
    assert_eq!(api(&err).stop_reason(), Some(StopReason::NotRetryable));
    let text = logs.text();
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("huaweicloud call failed"))
        .collect();
    assert_eq!(events.len(), 1, "{text}");
    assert!(events[0].contains("giving up"), "{text}");
    assert_eq!(field(events[0], "attempts"), Some("1"));
    assert_eq!(field(events[0], "class"), Some("permission"));
    assert_eq!(field(events[0], "stop_reason"), Some("not_retryable"));
    server.verify().await;
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn a_transport_failure_is_traced_with_its_kind() {
    let (logs, _guard) = crate::support::Captured::start();
    let client = client(builder().build());

    let err = send_err(client.post(closed_port_url("/v5/agencies").await)).await;
    assert!(err.is_connect());

    let text = logs.text();
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("huaweicloud call failed"))
        .collect();
    assert_eq!(events.len(), 4, "{text}");
    for (i, line) in events[..3].iter().enumerate() {
        assert!(line.contains("retrying"), "{line}");
        assert_eq!(
            field(line, "attempt"),
            Some(&*(i + 1).to_string()),
            "{line}"
        );
        assert_eq!(field(line, "class"), Some("transport_connect"), "{line}");
        // No answer: no status, code or request id.
        assert_eq!(field(line, "status"), None, "{line}");
        assert_eq!(field(line, "code"), None, "{line}");
        assert_eq!(field(line, "request_id"), None, "{line}");
        assert!(field(line, "delay_ms").is_some(), "{line}");
    }
    assert!(events[3].contains("giving up"), "{text}");
    assert_eq!(field(events[3], "attempts"), Some("4"));
    assert_eq!(field(events[3], "stop_reason"), Some("retries_exhausted"));
}

#[test]
fn new_equals_default_and_the_builder_defaults() {
    fn contract<T: Clone + std::fmt::Debug + Default + reqwest_middleware::Middleware>() {}
    contract::<huaweicloud_errors::ErrorMiddleware>();

    let new = format!("{:?}", huaweicloud_errors::ErrorMiddleware::new());
    assert_eq!(
        new,
        format!("{:?}", huaweicloud_errors::ErrorMiddleware::default())
    );
    assert_eq!(
        new,
        format!(
            "{:?}",
            huaweicloud_errors::ErrorMiddleware::builder().build()
        )
    );
    for setting in [
        "max_retries: 3",
        "initial_backoff: 200ms",
        "max_backoff: 20s",
        "throttle_backoff: 2s",
        "retry_after_ceiling: 20s",
        "max_elapsed: Some(30s)",
        "body_limit: 65536",
        "body_read_timeout: Some(10s)",
        "available: 1000",
    ] {
        assert!(new.contains(setting), "{setting} missing from {new}");
    }
}

/// A layer that does nothing: it returns the inner future as it is.
struct NoopLayer;

impl reqwest_middleware::Middleware for NoopLayer {
    fn handle<'s, 'e, 'n, 'fut>(
        &'s self,
        req: reqwest::Request,
        extensions: &'e mut http::Extensions,
        next: Next<'n>,
    ) -> InnerFuture<'fut>
    where
        's: 'fut,
        'e: 'fut,
        'n: 'fut,
        Self: 'fut,
    {
        next.run(req, extensions)
    }
}

/// Serves `200` with a small JSON body to every request, on keep-alive
/// connections, from threads of its own (so that its allocations are not
/// counted with the client's).
fn keep_alive_server() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if stream.write_all(answer).is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}

/// A call that succeeds at once costs, beyond what a layer that does nothing
/// costs, the copy of the request kept for a retry (`Request::try_clone`,
/// four allocations for a GET) and the call's boxed future: it reads no body,
/// inserts no extension and draws no randomness.
#[test]
fn a_successful_call_allocates_only_the_retry_copy_and_its_future() {
    const CALLS: u64 = 200;
    let addr = keep_alive_server();
    let url = format!("http://{addr}/v5/agencies/a-1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let noop =
        reqwest_middleware::ClientBuilder::new(crate::support::reqwest_client().build().unwrap())
            .with(NoopLayer)
            .build();
    let ours = client(ErrorMiddleware::default());
    // The span would be recorded by the suite's global subscriber: measure
    // the call as an application without a subscriber runs it.
    #[cfg(feature = "tracing")]
    let _silent = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());

    let per_call = |client: &ClientWithMiddleware| {
        let calls = async {
            for _ in 0..CALLS {
                let response = client.get(&url).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                assert!(response.extensions().get::<RetryStats>().is_none());
                assert_eq!(response.bytes().await.unwrap().len(), 11);
            }
        };
        // Open the connection first: the counted calls reuse it.
        runtime.block_on(async {
            client
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        let ((), counts) = crate::counting::counted(|| runtime.block_on(calls));
        counts.allocations as f64 / CALLS as f64
    };
    let noop_per_call = per_call(&noop);
    let ours_per_call = per_call(&ours);
    let added = ours_per_call - noop_per_call;
    assert!(
        (1.0..=5.0).contains(&added),
        "ErrorMiddleware added {added:.2} allocations a call \
         ({ours_per_call:.2} against {noop_per_call:.2} for a layer that does nothing)"
    );
}

/// `first` once on `route`, then `then` for every later attempt.
async fn once_then(
    server: &MockServer,
    route: &str,
    first: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(path(route))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(path(route))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn retry_stats_come_only_with_a_retried_success_and_a_pass_through_on_a_retry() {
    let server = MockServer::start().await;
    once_then(
        &server,
        "/flaky",
        answer(503, "APIGW.0613"),
        ResponseTemplate::new(200),
    )
    .await;
    once_then(
        &server,
        "/gone",
        answer(503, "APIGW.0613"),
        answer(404, "PAP5.0012"),
    )
    .await;
    Mock::given(path("/ok"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let budget = RetryBudget::builder().capacity(100).build();
    let client = client(
        builder()
            .pass_through(StatusCode::NOT_FOUND)
            .retry_budget(budget.clone())
            .build(),
    );

    let ok = client
        .get(format!("{}/ok", server.uri()))
        .send()
        .await
        .unwrap();
    assert!(ok.extensions().get::<RetryStats>().is_none());

    let retried = client
        .get(format!("{}/flaky", server.uri()))
        .send()
        .await
        .unwrap();
    let stats = retried.extensions().get::<RetryStats>().copied().unwrap();
    assert_eq!(stats.attempts, 2);
    assert_eq!(
        budget.available(),
        100,
        "a retry that succeeds gives its tokens back"
    );

    // A status let through, on a retry: Ok, with the stats, tokens given back.
    let gone = client
        .get(format!("{}/gone", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(gone.extensions().get::<RetryStats>().unwrap().attempts, 2);
    assert_eq!(budget.available(), 100);
}

type InnerFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest_middleware::Result<reqwest::Response>> + Send + 'a>>;

fn as_middleware<F>(f: F) -> F
where
    F: for<'a> Fn(reqwest::Request, &'a mut http::Extensions, Next<'a>) -> InnerFuture<'a>,
{
    f
}

/// A client with `middleware` outside a layer that fails with an error of
/// its own on the attempt with resend count `fail_at`.
fn client_failing_inside(middleware: ErrorMiddleware, fail_at: u32) -> ClientWithMiddleware {
    let inner = as_middleware(move |req, extensions, next| {
        let resend = extensions.get::<ResendCount>().map_or(0, |r| r.0);
        if resend == fail_at {
            Box::pin(async {
                Err(reqwest_middleware::Error::middleware(
                    std::io::Error::other("inner layer"),
                ))
            })
        } else {
            next.run(req, extensions)
        }
    });
    ClientBuilder::new(reqwest_client().build().unwrap())
        .with(middleware)
        .with(inner)
        .build()
}

#[tokio::test]
async fn another_layers_error_is_returned_as_it_is_and_never_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .mount(&server)
        .await;
    let budget = RetryBudget::builder().capacity(100).build();
    let url = format!("{}/busy", server.uri());

    // On the first attempt: returned at once, nothing reaches the server.
    let client = client_failing_inside(builder().retry_budget(budget.clone()).build(), 0);
    let err = send_err(client.get(&url)).await;
    assert!(
        matches!(err, reqwest_middleware::Error::Middleware(_)),
        "{err:?}"
    );
    assert!(ApiError::from_error(&err).is_none());
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
    assert_eq!(budget.available(), 100, "no retry, no deposit");

    // On the retry: returned as it is, and the retry stays paid for.
    let client = client_failing_inside(builder().retry_budget(budget.clone()).build(), 1);
    let err = send_err(client.get(&url)).await;
    assert!(
        matches!(err, reqwest_middleware::Error::Middleware(_)),
        "{err:?}"
    );
    assert!(ApiError::from_error(&err).is_none());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(budget.available(), 90);
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn the_span_carries_the_final_resend_count_and_giving_up_on_a_rejection_is_debug() {
    let (logs, _guard) = crate::support::Captured::start();
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .mount(&server)
        .await;
    Mock::given(path("/denied"))
        .respond_with(answer(403, "PAP5.0001"))
        .mount(&server)
        .await;
    let client = client(builder().build());

    let err = send_err(client.get(format!("{}/busy", server.uri()))).await;
    assert_eq!(api(&err).attempts(), 4);
    let err = send_err(client.get(format!("{}/denied", server.uri()))).await;
    assert_eq!(api(&err).stop_reason(), Some(StopReason::NotRetryable));

    let text = logs.text();
    // The span's fields come before the first `}:` of a line.
    let span_of = |line: &str| line.split("}:").next().unwrap_or_default().to_owned();
    let retrying: Vec<&str> = text.lines().filter(|l| l.contains("retrying")).collect();
    let giving_up: Vec<&str> = text.lines().filter(|l| l.contains("giving up")).collect();
    assert_eq!((retrying.len(), giving_up.len()), (3, 2), "{text}");
    // Recorded once, when the call ends: a formatting subscriber prints
    // every value a span field was given.
    for line in &retrying {
        assert!(!span_of(line).contains("resend_count"), "{text}");
    }
    assert!(
        span_of(giving_up[0]).contains("http.request.resend_count=3"),
        "{text}"
    );
    assert!(giving_up[0].contains(" WARN "), "{text}");
    assert!(giving_up[1].contains("DEBUG"), "{text}");
    assert!(!span_of(giving_up[1]).contains("resend_count"), "{text}");
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn the_resend_count_is_printed_once_per_line() {
    let (logs, _guard) = crate::support::Captured::start();
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .mount(&server)
        .await;
    let client = client(builder().build());
    let err = send_err(client.get(format!("{}/busy", server.uri()))).await;
    assert_eq!(api(&err).attempts(), 4);

    let text = logs.text();
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("huaweicloud call failed"))
        .collect();
    assert_eq!(events.len(), 4, "{text}");
    for line in events {
        assert!(
            line.matches("resend_count").count() <= 1,
            "the span holds the resend count, the event does not repeat it: {line}"
        );
    }
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn a_call_that_asked_for_no_retries_gives_up_without_a_warning() {
    use huaweicloud_errors::{MaxRetries, NoRetry};

    let (logs, _guard) = crate::support::Captured::start();
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .expect(3)
        .mount(&server)
        .await;
    let client = client(builder().build());
    let url = format!("{}/busy", server.uri());

    let err = send_err(client.get(&url).with_extension(NoRetry)).await;
    assert_eq!(api(&err).stop_reason(), Some(StopReason::RetriesDisabled));
    let err = send_err(client.get(&url).with_extension(MaxRetries(0))).await;
    assert_eq!(api(&err).stop_reason(), Some(StopReason::RetriesDisabled));
    let off = crate::support::client(builder().max_retries(0).build());
    let err = send_err(off.get(&url)).await;
    assert_eq!(api(&err).stop_reason(), Some(StopReason::RetriesDisabled));

    let text = logs.text();
    let giving_up: Vec<&str> = text.lines().filter(|l| l.contains("giving up")).collect();
    assert_eq!(giving_up.len(), 3, "{text}");
    for line in giving_up {
        assert!(line.contains("DEBUG"), "no retries were asked for: {line}");
    }
    server.verify().await;
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn retry_log_level_sets_the_level_of_the_retry_and_give_up_events() {
    let (logs, _guard) = crate::support::Captured::start();
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .mount(&server)
        .await;
    Mock::given(path("/denied"))
        .respond_with(answer(403, "PAP5.0001"))
        .mount(&server)
        .await;
    let info = client(
        builder()
            .max_retries(1)
            .retry_log_level(tracing::Level::INFO)
            .build(),
    );
    let err = send_err(info.get(format!("{}/busy", server.uri()))).await;
    assert_eq!(api(&err).attempts(), 2);
    let err = send_err(info.get(format!("{}/denied", server.uri()))).await;
    assert_eq!(api(&err).attempts(), 1);
    let trace = client(
        builder()
            .max_retries(0)
            .retry_log_level(tracing::Level::TRACE)
            .build(),
    );
    send_err(trace.get(format!("{}/denied", server.uri()))).await;

    let text = logs.text();
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("huaweicloud call failed"))
        .collect();
    assert_eq!(events.len(), 4, "{text}");
    assert!(
        events[0].contains(" INFO ") && events[0].contains("retrying"),
        "{text}"
    );
    assert!(
        events[1].contains(" INFO ") && events[1].contains("giving up"),
        "{text}"
    );
    // Giving up where no retry was possible stays at DEBUG, or finer.
    assert!(events[2].contains("DEBUG"), "{text}");
    assert!(events[3].contains("TRACE"), "{text}");
}

#[tokio::test]
async fn the_resend_count_leaves_the_callers_extensions_when_the_call_ends() {
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(answer(503, "APIGW.0613"))
        .mount(&server)
        .await;
    Mock::given(path("/ok"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let recorder = Recorder::default();
    let client = recorder.client(builder().max_retries(2).build());
    let busy: reqwest::Url = format!("{}/busy", server.uri()).parse().unwrap();

    let mut extensions = http::Extensions::new();
    let request = reqwest::Request::new(Method::GET, busy.clone());
    let err = client
        .execute_with_extensions(request, &mut extensions)
        .await
        .unwrap_err();
    assert_eq!(api(&err).attempts(), 3);
    assert_eq!(
        recorder.seen(),
        [None, Some(1), Some(2)],
        "inserted for each retry"
    );
    assert_eq!(
        extensions.get::<ResendCount>(),
        None,
        "and removed at the end"
    );

    // One an outer layer put there is left as it was.
    let mut extensions = http::Extensions::new();
    extensions.insert(ResendCount(7));
    let request = reqwest::Request::new(Method::GET, busy);
    client
        .execute_with_extensions(request, &mut extensions)
        .await
        .unwrap_err();
    assert_eq!(extensions.get::<ResendCount>(), Some(&ResendCount(7)));
}

#[tokio::test]
async fn try_from_takes_the_api_error_by_value_and_gives_other_errors_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(403, "PAP5.0001"))
        .mount(&server)
        .await;
    let client = client(builder().max_retries(0).build());

    let err = send_err(client.post(format!("{}/v5/agencies", server.uri()))).await;
    let api_err = ApiError::try_from(err).expect("an error answer gives an ApiError");
    assert_eq!(api_err.code(), Some(&ErrorCode::AccessDenied));
    assert_eq!(api_err.request_id(), Some("req-PAP5.0001"));

    // Through context another layer added.
    let err = send_err(client.post(format!("{}/v5/agencies", server.uri()))).await;
    let reqwest_middleware::Error::Middleware(inner) = err else {
        panic!("an error answer is a middleware error");
    };
    let wrapped = reqwest_middleware::Error::Middleware(inner.context("while attaching"));
    let api_err = ApiError::try_from(wrapped).expect("found under the context");
    assert_eq!(api_err.status(), StatusCode::FORBIDDEN);

    // A transport error comes back as it was.
    let err = send_err(client.post(closed_port_url("/v5/agencies").await)).await;
    let back = ApiError::try_from(err).expect_err("a connect failure holds no ApiError");
    assert!(back.is_connect());
    server.verify().await;
}
