//! `max_elapsed` bounds the whole call, attempts included, against raw
//! `TcpListener` servers and a `reqwest::Client` with no timeout of its own
//! (as `reqwest::Client::new()` builds it): a head that drips forever ends at
//! the deadline, an attempt started close to it is cut at it, and a write cut
//! off is not sent again. Also: a POST redirected to a closed port is sent
//! once, since the first hop received it.
//!
//! The bounds on how long a call took are loose (the deadline is 300 ms, a
//! call must end within 2 s): they tell "ended at the deadline" from "ran on
//! until the test's own 10 s guard", not how precise the timer is.

use std::time::Duration;

use huaweicloud_errors::{DeadlineExceeded, MaxElapsed, StopReason};
use reqwest::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::{RawServer, builder, client, closed_port_url};

const DEADLINE: Duration = Duration::from_millis(300);

/// Ended at the deadline, not long after it.
const WITHIN: Duration = Duration::from_secs(2);

/// Sends the start of a head, then a header line every 20 ms, forever.
async fn drip_head(mut stream: TcpStream) {
    if stream.write_all(b"HTTP/1.1 200 OK\r\n").await.is_err() {
        return;
    }
    for n in 0u64.. {
        let line = format!("x-drip-{n}: .\r\n");
        if stream.write_all(line.as_bytes()).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `call` under a guard of 10 s, so that a call that never ends fails
/// the test instead of hanging it; returns its output and how long it took.
async fn timed<T>(call: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the call ran past the test's 10 s guard");
    (out, start.elapsed())
}

fn deadline_of(err: &reqwest_middleware::Error) -> &DeadlineExceeded {
    DeadlineExceeded::from_error(err)
        .unwrap_or_else(|| panic!("expected DeadlineExceeded, got {err:?}"))
}

#[tokio::test]
async fn a_head_that_drips_forever_ends_at_the_deadline_and_a_post_is_sent_once() {
    for (method, sent) in [(Method::GET, 1), (Method::POST, 1)] {
        let server = RawServer::start(drip_head).await;
        let http = client(builder().max_elapsed(Some(DEADLINE)).build());
        let (result, took) = timed(
            http.request(method.clone(), server.url("/v5/agencies"))
                .body("{}")
                .send(),
        )
        .await;
        let err = result.unwrap_err();
        let deadline = deadline_of(&err);
        assert!(took >= DEADLINE && took < WITHIN, "{method} took {took:?}");
        assert_eq!(deadline.limit(), DEADLINE);
        assert_eq!(deadline.attempts(), 1, "{method}");
        assert_eq!(deadline.stop_reason(), StopReason::TimeLimit);
        assert_eq!(server.requests(), sent, "{method} sent");
    }
}

#[tokio::test]
async fn an_attempt_started_close_to_the_deadline_is_cut_at_it() {
    // Every attempt gets a 503 after 250 ms (and the connection closed):
    // the retry, started at about 250 ms, would end at about 500 ms.
    let server = RawServer::start(|mut stream: TcpStream| async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let _ = stream
            .write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            )
            .await;
    })
    .await;
    let http = client(builder().max_elapsed(Some(DEADLINE)).build());
    let (result, took) = timed(http.get(server.url("/v5/agencies")).send()).await;
    let err = result.unwrap_err();
    let deadline = deadline_of(&err);
    assert_eq!(deadline.attempts(), 2);
    assert!(took >= DEADLINE && took < WITHIN, "took {took:?}");
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn the_per_request_deadline_overrides_the_middlewares() {
    let server = RawServer::start(drip_head).await;
    // The middleware allows 30 s; this request 300 ms.
    let http = client(builder().max_elapsed(Some(Duration::from_secs(30))).build());
    let (result, took) = timed(
        http.get(server.url("/v5/agencies"))
            .with_extension(MaxElapsed(Some(DEADLINE)))
            .send(),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(deadline_of(&err).limit(), DEADLINE);
    assert!(took < WITHIN, "took {took:?}");

    // And `MaxElapsed(None)` lifts it: the request's own reqwest timeout
    // is then all that ends the call.
    let http = client(builder().max_elapsed(Some(DEADLINE)).build());
    let (result, took) = timed(
        http.get(server.url("/v5/agencies"))
            .with_extension(MaxElapsed(None))
            .timeout(Duration::from_millis(600))
            .send(),
    )
    .await;
    let err = result.unwrap_err();
    assert!(DeadlineExceeded::from_error(&err).is_none(), "{err:?}");
    assert!(took >= Duration::from_millis(600), "took {took:?}");
}

#[tokio::test]
async fn a_shorter_request_timeout_still_applies() {
    let server = RawServer::start(drip_head).await;
    let http = client(builder().max_elapsed(Some(Duration::from_secs(5))).build());
    let (result, took) = timed(
        http.post(server.url("/v5/agencies"))
            .timeout(Duration::from_millis(100))
            .send(),
    )
    .await;
    // reqwest's own timeout error, for a write not retried.
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(took < WITHIN);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_post_redirected_to_a_closed_port_is_sent_once() {
    let target = closed_port_url("/v5/agencies").await;
    let server = RawServer::start(move |mut stream: TcpStream| {
        let target = target.clone();
        async move {
            let head = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes()).await;
        }
    })
    .await;
    let http = client(builder().build());
    let err = http
        .post(server.url("/v5/agencies"))
        .body(r#"{"agency_name":"a"}"#)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(server.requests(), 1, "the first hop got the POST");

    // A GET redirected the same way may be sent again.
    let http = client(builder().build());
    let _ = http.get(server.url("/v5/agencies")).send().await;
    assert_eq!(server.requests(), 1 + 4, "a GET is retried");
}

/// The usual redirect: to another host on the same port, from a URL that
/// names its host. The failing address is not one `localhost` resolves to,
/// so the first hop got the POST and it is not sent again.
#[tokio::test]
async fn a_post_redirected_to_another_host_on_the_same_port_is_sent_once() {
    // A closed port on the server's port of another loopback address:
    // nothing listens on 127.0.0.2 (the server binds 127.0.0.1 only).
    let server = RawServer::start(move |mut stream: TcpStream| async move {
        let port = stream.local_addr().unwrap().port();
        let head = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.2:{port}/v5/agencies\r\ncontent-length: 0\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes()).await;
    })
    .await;
    let url = server.url("/v5/agencies").replace("127.0.0.1", "localhost");
    let http = client(builder().build());
    let err = http
        .post(&url)
        .body(r#"{"agency_name":"a"}"#)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(server.requests(), 1, "the first hop got the POST");
}

/// A named host whose own address refuses the connection: nothing was sent,
/// so a POST is tried again (the name resolves to the failing address).
#[tokio::test]
async fn a_post_refused_by_its_own_named_host_is_retried() {
    let recorder = crate::support::Recorder::default();
    let url = closed_port_url("/v5/agencies")
        .await
        .replace("127.0.0.1", "localhost");
    let http = recorder.client(builder().initial_backoff(Duration::from_micros(1)).build());
    let err = http.post(&url).body("{}").send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(
        recorder.seen().len(),
        4,
        "a connect failure at the first hop is retried"
    );
}
