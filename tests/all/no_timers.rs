//! A tokio runtime built without the time driver
//! (`Builder::new_current_thread().enable_io()`): bare reqwest works there,
//! and so must the middleware. Error answers are decoded (their bodies read
//! without the read deadline), and a call that would have to wait before a
//! retry ends with `StopReason::TimersDisabled` instead of panicking.

use std::io::Write;
use std::net::SocketAddr;

use huaweicloud_errors::{ApiError, ErrorCode, ErrorMiddleware, StopReason};
use reqwest_middleware::ClientBuilder;

use crate::support::read_request_head;

/// A loopback server on plain threads (it needs no runtime): `/busy`
/// answers 503 APIGW.0613, `/missing` 404 PAP5.0021, anything else 200.
fn server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let Some(head) = read_request_head(&mut stream) else {
                    return;
                };
                let head = String::from_utf8_lossy(&head);
                let (status, body) = if head.starts_with("GET /busy") {
                    (
                        "503 Service Unavailable",
                        r#"{"error_code":"APIGW.0613","error_msg":"busy"}"#,
                    )
                } else if head.starts_with("GET /missing") {
                    (
                        "404 Not Found",
                        r#"{"error_code":"PAP5.0021","error_msg":"no such user"}"#,
                    )
                } else {
                    ("200 OK", "{}")
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    addr
}

#[test]
fn without_timers_errors_are_decoded_and_the_call_ends_instead_of_panicking() {
    let addr = server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    runtime.block_on(async {
        let inner = reqwest::Client::builder().no_proxy().build().unwrap();
        let client = ClientBuilder::new(inner)
            .with(ErrorMiddleware::default())
            .build();

        let ok = client
            .get(format!("http://{addr}/ok"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);

        // Twice: the first finds out that the runtime has no timers, the
        // second already knows.
        for _ in 0..2 {
            let err = client
                .get(format!("http://{addr}/busy"))
                .send()
                .await
                .unwrap_err();
            let api = ApiError::from_error(&err).expect("the answer was decoded");
            assert_eq!(api.status(), 503);
            assert!(api.code().is_some_and(|c| c == "APIGW.0613"), "{api}");
            assert_eq!(api.message(), "busy");
            assert_eq!(api.attempts(), 1);
            assert_eq!(api.stop_reason(), Some(StopReason::TimersDisabled));
        }

        // An error never retried ends as it always does.
        let err = client
            .get(format!("http://{addr}/missing"))
            .send()
            .await
            .unwrap_err();
        let api = ApiError::from_error(&err).expect("the answer was decoded");
        assert_eq!(api.code(), Some(&ErrorCode::NoSuchUser), "{api}");
        assert_eq!(api.stop_reason(), Some(StopReason::NotRetryable));
    });
}

/// With timers, the same runtime flavour retries as usual: finding out that
/// one runtime has none does not turn timers off for the others.
#[test]
fn a_runtime_with_timers_still_retries() {
    let addr = server();
    let timerless = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let timed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = || {
        let inner = reqwest::Client::builder().no_proxy().build().unwrap();
        let middleware = ErrorMiddleware::builder()
            .initial_backoff(std::time::Duration::from_millis(1))
            .max_retries(1)
            .build();
        ClientBuilder::new(inner).with(middleware).build()
    };
    let busy = format!("http://{addr}/busy");
    let err = timerless.block_on(client().get(&busy).send()).unwrap_err();
    assert_eq!(
        ApiError::from_error(&err).unwrap().stop_reason(),
        Some(StopReason::TimersDisabled)
    );
    let err = timed.block_on(client().get(&busy).send()).unwrap_err();
    let api = ApiError::from_error(&err).unwrap();
    assert_eq!(api.attempts(), 2);
    assert_eq!(api.stop_reason(), Some(StopReason::RetriesExhausted));
}
