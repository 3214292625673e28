//! Error bodies are bounded in time and in memory: a server that drips its
//! error body is cut off at `body_read_timeout`, and a server that streams a
//! 1 GiB error body costs the caller the body limit, not the gigabyte. Both
//! are checked from the server's side too: it sees the connection closed
//! long before it has sent everything.
//!
//! The servers are blocking `std::net` servers on their own threads, so that
//! the client's allocations can be counted on the test's thread alone.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use huaweicloud_errors::{ApiError, ErrorCode, ErrorMiddleware, NoRetry, StopReason};
use reqwest_middleware::RequestBuilder;

use crate::counting::counted;
use crate::fault_server::client;
use crate::support::{assert_ended, read_request_head};

// ----- counting the client's allocations -----

/// Runs `future` to completion on a current-thread runtime (so that the
/// client, its connection task and the middleware all run on this thread)
/// and returns its output with the bytes allocated on this thread meanwhile:
/// an upper bound of what the call held in memory at any time.
fn allocated_during<T>(future: impl Future<Output = T>) -> (T, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (output, counts) = counted(|| runtime.block_on(future));
    (output, counts.bytes)
}

/// Sends `request` (with [`allocated_during`]) and returns the error it ends
/// in, the time the call took and the bytes it allocated on this thread.
fn send_err_counted(request: RequestBuilder) -> (reqwest_middleware::Error, Duration, u64) {
    let start = Instant::now();
    let (result, allocated) = allocated_during(request.send());
    let took = start.elapsed();
    (result.unwrap_err(), took, allocated)
}

// ----- servers -----

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// What a server saw of one connection.
#[derive(Debug)]
struct Sent {
    /// Body bytes written before the connection closed (or all of them).
    body_bytes: u64,
    /// How writing ended: `None` when everything was sent.
    error: Option<io::ErrorKind>,
    /// From the head being written to the end.
    took: Duration,
}

impl Sent {
    /// Whether the client closed the connection before the body ended.
    fn closed_by_client(&self) -> bool {
        matches!(
            self.error,
            Some(
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
            )
        )
    }
}

/// Serves `connections` connections, one thread each, with `respond`.
fn serve(
    connections: usize,
    respond: impl Fn(&mut TcpStream) -> Sent + Send + Sync + Copy + 'static,
) -> (SocketAddr, JoinHandle<Vec<Sent>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let handlers: Vec<_> = (0..connections)
            .map(|_| {
                let (mut stream, _) = listener.accept().unwrap();
                thread::spawn(move || {
                    // A client that never closes fails the test, not hangs it.
                    stream
                        .set_write_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    read_request_head(&mut stream);
                    respond(&mut stream)
                })
            })
            .collect();
        handlers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    (addr, server)
}

const DRIP_BODY: &[u8] = br#"{"error_code":"APIGW.0601","error_msg":"Internal gateway error: the backend did not answer in time, and this message arrives one byte at a time, twenty milliseconds apart after the first burst, so that all of it would take well over five seconds to arrive in full, which no caller should have to wait for.","request_id":"drip-body-id"}"#;
/// The head of [`DRIP_BODY`] up to its message, sent at once.
const DRIP_BURST: usize = 41;
const DRIP_EVERY: Duration = Duration::from_millis(20);

/// A 500 whose body arrives a byte at a time after a first burst.
fn drip(stream: &mut TcpStream) -> Sent {
    let start = Instant::now();
    let head = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n\
         x-request-id: drip-header-id\r\ncontent-length: {}\r\n\r\n",
        DRIP_BODY.len()
    );
    let mut sent = 0;
    let mut write = |bytes: &[u8], sent: &mut u64| -> io::Result<()> {
        stream.write_all(bytes)?;
        stream.flush()?;
        *sent += bytes.len() as u64;
        Ok(())
    };
    let result = (|| {
        write(head.as_bytes(), &mut 0)?;
        write(&DRIP_BODY[..DRIP_BURST], &mut sent)?;
        for byte in DRIP_BODY[DRIP_BURST..].chunks(1) {
            thread::sleep(DRIP_EVERY);
            write(byte, &mut sent)?;
        }
        Ok(())
    })();
    Sent {
        body_bytes: sent,
        error: result.err().map(|e: io::Error| e.kind()),
        took: start.elapsed(),
    }
}

/// The start of the huge body: a complete code, then a message that never ends.
const HUGE_PREFIX: &[u8] = br#"{"error_code":"APIGW.0601","error_msg":"Internal gateway error: "#;
const BLOCK: usize = 64 * 1024;

/// A 500 with a 1 GiB body, written in 64 KiB blocks from two buffers (the
/// body is never in memory), framed by `Content-Length` or chunked.
fn huge(stream: &mut TcpStream, chunked: bool) -> Sent {
    let start = Instant::now();
    let framing = if chunked {
        "transfer-encoding: chunked".to_owned()
    } else {
        format!("content-length: {GIB}")
    };
    let head = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n{framing}\r\n\r\n"
    );
    let mut first = vec![b'x'; BLOCK];
    first[..HUGE_PREFIX.len()].copy_from_slice(HUGE_PREFIX);
    let filler = vec![b'x'; BLOCK];
    let chunk_head = format!("{BLOCK:x}\r\n");
    let mut sent = 0;
    let result = (|| {
        stream.write_all(head.as_bytes())?;
        while sent < GIB {
            let block = if sent == 0 { &first } else { &filler };
            if chunked {
                stream.write_all(chunk_head.as_bytes())?;
                stream.write_all(block)?;
                stream.write_all(b"\r\n")?;
            } else {
                stream.write_all(block)?;
            }
            sent += BLOCK as u64;
        }
        if chunked {
            stream.write_all(b"0\r\n\r\n")?;
        }
        Ok(())
    })();
    Sent {
        body_bytes: sent,
        error: result.err().map(|e: io::Error| e.kind()),
        took: start.elapsed(),
    }
}

// ----- tests -----

#[test]
fn a_dripping_error_body_is_cut_off_at_the_read_timeout() {
    let (addr, server) = serve(1, drip);
    let client = client(
        ErrorMiddleware::builder()
            .body_read_timeout(Some(Duration::from_millis(100)))
            .build(),
    );
    let (err, took, _) = send_err_counted(
        client
            .get(format!("http://{addr}/v5/agencies"))
            .with_extension(NoRetry),
    );
    let api = ApiError::from_error(&err).unwrap();

    // The whole body would take over 5 s; the call ends after about 100 ms.
    let full_drip = DRIP_EVERY * (DRIP_BODY.len() - DRIP_BURST) as u32;
    assert!(full_drip > Duration::from_secs(5));
    assert!(took < Duration::from_secs(1), "the call took {took:?}");
    // What arrived is decoded: the burst holds the code, not the message.
    assert!(api.body_truncated());
    assert_eq!(api.code(), Some(&ErrorCode::ApigwInternal0601));
    assert!(api.message().starts_with(r#"{"error_code":"APIGW.0601""#));
    assert_eq!(api.request_id(), Some("drip-header-id"));
    assert_eq!(api.stop_reason(), Some(StopReason::RetriesDisabled));

    // The server saw the connection closed a few bytes into the drip.
    let sent = server.join().unwrap().remove(0);
    assert!(sent.closed_by_client(), "{sent:?}");
    assert!(
        sent.body_bytes < DRIP_BURST as u64 + 30,
        "{} of {} bytes sent",
        sent.body_bytes,
        DRIP_BODY.len()
    );
    assert!(sent.took < Duration::from_secs(2), "{sent:?}");
}

#[test]
fn each_attempt_of_a_retried_call_gets_its_own_read_timeout() {
    let (addr, server) = serve(3, drip);
    let client = client(
        ErrorMiddleware::builder()
            .max_retries(2)
            .initial_backoff(Duration::from_micros(10))
            .jitter_seed(1)
            .body_read_timeout(Some(Duration::from_millis(100)))
            .build(),
    );
    let (err, took, _) = send_err_counted(client.get(format!("http://{addr}/v5/agencies")));
    let api = ApiError::from_error(&err).unwrap();
    assert_ended(api, 3, StopReason::RetriesExhausted, "");
    assert!(api.body_truncated());
    // Three reads of about 100 ms each, not three drips of 5 s.
    assert!(took < Duration::from_secs(2), "the call took {took:?}");
    let sent = server.join().unwrap();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(Sent::closed_by_client), "{sent:?}");
}

fn huge_error_body_costs_the_body_limit(chunked: bool) {
    const LIMIT: usize = 64 * 1024;
    let (addr, server) = serve(1, move |stream| huge(stream, chunked));
    let client = client(
        ErrorMiddleware::builder()
            .body_limit(LIMIT)
            .body_read_timeout(Some(Duration::from_secs(5)))
            .build(),
    );
    let (err, took, allocated) = send_err_counted(
        client
            .get(format!("http://{addr}/v5/agencies"))
            .with_extension(NoRetry),
    );
    let api = ApiError::from_error(&err).unwrap();
    assert!(api.body_truncated());
    assert_eq!(api.code(), Some(&ErrorCode::ApigwInternal0601));
    assert!(api.message().len() <= huaweicloud_errors::MAX_MESSAGE_LEN);
    assert!(took < Duration::from_secs(5), "the call took {took:?}");
    // The call, its connection and the decoder allocated a few body limits'
    // worth on this thread, not the gigabyte.
    assert!(
        allocated < 16 * LIMIT as u64,
        "{allocated} bytes allocated for a {LIMIT}-byte limit"
    );

    let sent = server.join().unwrap().remove(0);
    assert!(sent.closed_by_client(), "{sent:?}");
    assert!(
        sent.body_bytes < 64 * MIB,
        "{} MiB sent before the connection closed",
        sent.body_bytes / MIB
    );
}

#[test]
fn a_1_gib_error_body_with_content_length_costs_the_body_limit() {
    huge_error_body_costs_the_body_limit(false);
}

#[test]
fn a_1_gib_chunked_error_body_costs_the_body_limit() {
    huge_error_body_costs_the_body_limit(true);
}
