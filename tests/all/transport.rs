//! Transport faults from a raw `TcpListener`: a connection dropped after the
//! request was read, an answer cut short, a port nothing listens on, a server
//! that never answers. Failures after sending are retried for idempotent
//! calls only; a connect failure, where nothing was sent, for every method.

use std::time::Duration;

use huaweicloud_errors::{ApiError, ErrorClass, ErrorMiddlewareBuilder, Idempotent, StopReason};
use reqwest::{Method, StatusCode};
use reqwest_middleware::ClientWithMiddleware;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{
    RawServer, Recorder, api, assert_ended, builder, closed_port_url, reqwest_client,
};

/// Drops the connection as soon as the request has been read.
async fn reset(stream: TcpStream) {
    drop(stream);
}

/// Never answers, and keeps the connection open.
async fn silent(stream: TcpStream) {
    std::future::pending::<()>().await;
    drop(stream);
}

/// Sends a head promising 100 bytes of body, 10 of them, and closes.
async fn truncated(status: u16, mut stream: TcpStream) {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(br#"{"error_co"#).await.unwrap();
    stream.flush().await.unwrap();
}

/// A client over `inner` with the support middleware, adjusted by
/// `configure`, and a recorder inside it that counts the attempts.
fn recorded(
    inner: reqwest::Client,
    configure: fn(ErrorMiddlewareBuilder) -> ErrorMiddlewareBuilder,
) -> (Recorder, ClientWithMiddleware) {
    let recorder = Recorder::default();
    let client = recorder.client_with(inner, configure(builder()).build());
    (recorder, client)
}

#[tokio::test]
async fn a_connection_dropped_after_the_request_is_retried_for_idempotent_methods_only() {
    for (m, sent) in [
        (Method::GET, 4),
        (Method::PUT, 4),
        (Method::POST, 1),
        (Method::PATCH, 1),
    ] {
        let server = RawServer::start(reset).await;
        let (recorder, client) = recorded(reqwest_client().build().unwrap(), |b| b);

        let err = client
            .request(m.clone(), server.url("/v5/agencies"))
            .body("{}")
            .send()
            .await
            .expect_err("the server answered nothing");
        assert!(ApiError::from_error(&err).is_none(), "{m}: {err:?}");
        assert!(!err.is_connect(), "{m}: the connection was made: {err:?}");
        assert!(err.is_request() || err.is_body(), "{m}: {err:?}");
        assert_eq!(server.requests(), sent, "{m}: requests the server read");
        assert_eq!(recorder.seen().len(), sent, "{m}: attempts");
    }
}

#[tokio::test]
async fn a_post_declared_idempotent_is_retried_after_a_dropped_connection() {
    let server = RawServer::start(reset).await;
    let (recorder, client) = recorded(reqwest_client().build().unwrap(), |b| b);

    let err = client
        .post(server.url("/v5/policies/p1/attach-agency"))
        .body("{}")
        .with_extension(Idempotent(true))
        .send()
        .await
        .unwrap_err();
    assert!(ApiError::from_error(&err).is_none());
    assert_eq!(server.requests(), 4);
    assert_eq!(recorder.seen(), [None, Some(1), Some(2), Some(3)]);
}

#[tokio::test]
async fn a_success_cut_short_passes_through_and_fails_when_read() {
    let server = RawServer::start(|stream| truncated(200, stream)).await;
    let (_, client) = recorded(reqwest_client().build().unwrap(), |b| b);

    let response = client.get(server.url("/v5/agencies")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let err = response.bytes().await.expect_err("10 of 100 bytes");
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_error_answer_cut_short_is_decoded_and_retried_by_its_status() {
    for (m, sent, stop) in [
        (Method::GET, 4, StopReason::RetriesExhausted),
        (Method::POST, 1, StopReason::NotIdempotent),
    ] {
        let server = RawServer::start(|stream| truncated(503, stream)).await;
        let (_, client) = recorded(reqwest_client().build().unwrap(), |b| b);

        let err = client
            .request(m.clone(), server.url("/v5/agencies"))
            .send()
            .await
            .unwrap_err();
        let api_err = api(&err);
        assert_eq!(api_err.status(), StatusCode::SERVICE_UNAVAILABLE, "{m}");
        assert_eq!(api_err.class(), ErrorClass::Retryable, "{m}");
        assert_ended(api_err, sent, stop, m.as_str());
        // What arrived is kept, and the transfer error is the source.
        assert!(api_err.message().contains("error_co"), "{m}: {api_err:?}");
        let source = std::error::Error::source(api_err).expect("the transfer error");
        assert!(source.is::<reqwest::Error>(), "{m}: {source:?}");
        assert_eq!(server.requests(), sent as usize, "{m}");
    }
}

#[tokio::test]
async fn a_connect_failure_is_retried_for_post() {
    let url = closed_port_url("/v5/agencies").await;
    let (recorder, client) = recorded(reqwest_client().build().unwrap(), |b| b);

    let err = client.post(&url).body("{}").send().await.unwrap_err();
    assert!(ApiError::from_error(&err).is_none());
    assert!(err.is_connect(), "{err:?}");
    match &err {
        reqwest_middleware::Error::Reqwest(inner) => assert!(inner.is_connect()),
        other => panic!("expected a reqwest error, got {other:?}"),
    }
    assert_eq!(recorder.seen(), [None, Some(1), Some(2), Some(3)]);
}

#[tokio::test]
async fn a_client_timeout_is_retried_for_get_and_not_for_post() {
    let timeout = Duration::from_millis(50);
    for (m, sent) in [(Method::GET, 2), (Method::POST, 1)] {
        let server = RawServer::start(silent).await;
        let inner = reqwest_client().timeout(timeout).build().unwrap();
        let (recorder, client) = recorded(inner, |b| b.max_retries(1));

        let started = std::time::Instant::now();
        let err = client
            .request(m.clone(), server.url("/v5/agencies"))
            .body("{}")
            .send()
            .await
            .unwrap_err();
        assert!(ApiError::from_error(&err).is_none(), "{m}");
        assert!(err.is_timeout(), "{m}: {err:?}");
        match &err {
            reqwest_middleware::Error::Reqwest(inner) => assert!(inner.is_timeout()),
            other => panic!("expected a reqwest error, got {other:?}"),
        }
        assert_eq!(server.requests(), sent, "{m}: requests the server read");
        assert_eq!(recorder.seen().len(), sent, "{m}: attempts");
        assert!(started.elapsed() >= timeout * sent as u32, "{m}");
    }
}

/// The URL a transport error shows keeps no query and no fragment, and an
/// error answer's URL no fragment either (what follows `#` may be an OAuth
/// token in a redirect URI, or anything else the caller put there).
#[tokio::test]
async fn error_urls_keep_no_fragment() {
    let client = crate::support::client(builder().max_retries(0).build());
    let url = closed_port_url("/v5/agencies?marker=m#access_token=secret").await;
    let err = client.get(&url).send().await.unwrap_err();
    assert!(err.is_connect());
    let shown = err.url().expect("a connect failure names its URL").as_str();
    assert!(!shown.contains('#') && !shown.contains("secret"), "{shown}");
    assert!(!format!("{err} {err:?}").contains("secret"), "{err:?}");

    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(crate::support::answer(404, "PAP5.0021"))
        .mount(&server)
        .await;
    let url = format!("{}/v5/users#access_token=secret", server.uri());
    let err = client.get(&url).send().await.unwrap_err();
    let shown = api(&err).url().expect("an error answer keeps its URL");
    assert!(!shown.contains('#') && !shown.contains("secret"), "{shown}");
}
