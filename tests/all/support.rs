//! Shared helpers: a middleware with tiny, seeded delays; Huawei error bodies;
//! a recording inner middleware; a raw `TcpListener` server for transport
//! faults; an HTTP-date formatter; and (with `tracing`) an event capture.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use huaweicloud_errors::{
    ApiError, ErrorMiddleware, ErrorMiddlewareBuilder, ResendCount, StopReason,
};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Next, RequestBuilder};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wiremock::ResponseTemplate;

/// The builder every test starts from: default rules, but delays of a few
/// milliseconds (first wait at most 1 ms, throttled 2 to 5 ms, none over 5 ms)
/// and a fixed jitter seed, so no test waits for real and every run draws the
/// same waits; and no call deadline (tests of the deadline set one), since
/// under a paused clock its timer would fire while an attempt waits on the
/// network.
pub(crate) fn builder() -> ErrorMiddlewareBuilder {
    ErrorMiddleware::builder()
        .max_elapsed(None)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .throttle_backoff(Duration::from_millis(2))
        .jitter_seed(7)
}

/// A plain reqwest client: no proxy, so loopback traffic goes straight to the
/// test server. Every client of the suite is built from it.
pub(crate) fn reqwest_client() -> reqwest::ClientBuilder {
    install_tracing_baseline();
    reqwest::Client::builder().no_proxy()
}

/// Installs a silent global subscriber once: before any client is built, and
/// before any capture starts.
///
/// Without it the tracing tests are flaky: while exactly one dispatcher
/// exists (the capture of one test), tracing-core works out a callsite's
/// interest from the default of whichever thread hits that callsite first. A
/// test without a capture hitting the middleware's `warn!` first caches
/// "never", and the capturing test loses its events. With a global
/// subscriber that is interested in everything, no callsite is ever cached
/// as "never"; each event still goes to its own thread's default.
fn install_tracing_baseline() {
    #[cfg(feature = "tracing")]
    {
        use tracing_subscriber::util::SubscriberInitExt;
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // If a test set a global subscriber already, that one stands.
            let _ = tracing_subscriber::registry().try_init();
        });
    }
}

/// A client with `middleware` as its only layer.
pub(crate) fn client(middleware: ErrorMiddleware) -> ClientWithMiddleware {
    client_with(reqwest_client().build().unwrap(), middleware)
}

/// A client over `inner` with `middleware` as its only layer.
pub(crate) fn client_with(
    inner: reqwest::Client,
    middleware: ErrorMiddleware,
) -> ClientWithMiddleware {
    ClientBuilder::new(inner).with(middleware).build()
}

/// A client for tests run with `tokio::time::pause`: the connection pool's
/// idle timer is off, so the paused clock only moves for the middleware's own
/// waits (an idle timer would let it jump 90 s while a request is in flight).
/// Pair it with `.body_read_timeout(None)` and `.max_elapsed(None)` on the
/// middleware for the same reason: with the clock paused, tokio jumps to the
/// next timer whenever every task waits on the network, so a body read
/// deadline or a call deadline would fire in the middle of an exchange.
pub(crate) fn paused_client(middleware: ErrorMiddleware) -> ClientWithMiddleware {
    let inner = reqwest_client().pool_idle_timeout(None).build().unwrap();
    client_with(inner, middleware)
}

/// A Huawei Cloud error body in the common flat shape.
pub(crate) fn error_body(code: &str, message: &str, request_id: &str) -> String {
    format!(
        r#"{{"error_code":{},"error_msg":{},"request_id":{}}}"#,
        json_string(code),
        json_string(message),
        json_string(request_id)
    )
}

/// An error answer: `status` with a flat Huawei body carrying `code`, and the
/// request id `req-<code>`.
pub(crate) fn answer(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        error_body(code, "something went wrong", &format!("req-{code}")),
        "application/json",
    )
}

/// `text` as a JSON string literal.
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sends the request and returns its error; panics on a response.
pub(crate) async fn send_err(request: RequestBuilder) -> reqwest_middleware::Error {
    match request.send().await {
        Ok(response) => panic!("expected an error, got {}", response.status()),
        Err(err) => err,
    }
}

/// The `ApiError` inside `err`; panics when it is a transport error.
pub(crate) fn api(err: &reqwest_middleware::Error) -> &ApiError {
    ApiError::from_error(err).unwrap_or_else(|| panic!("expected an ApiError, got {err:?}"))
}

/// Asserts that the call behind `err` ended after `attempts` attempts, for
/// `stop`; `ctx` (the case under test, or `""`) goes into the failure message.
#[track_caller]
pub(crate) fn assert_ended(err: &ApiError, attempts: u32, stop: StopReason, ctx: &str) {
    assert_eq!(err.attempts(), attempts, "attempts of {ctx:?}");
    assert_eq!(err.stop_reason(), Some(stop), "stop reason of {ctx:?}");
}

/// An inner middleware (placed after `ErrorMiddleware`) that records the
/// `ResendCount` it finds in the extensions of each attempt it sees.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    seen: Arc<Mutex<Vec<Option<u32>>>>,
}

type Attempt<'a> = Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>>;

/// Makes the compiler give a closure the higher-ranked signature that
/// `reqwest_middleware` implements `Middleware` for.
fn as_middleware<F>(f: F) -> F
where
    F: for<'a> Fn(Request, &'a mut http::Extensions, Next<'a>) -> Attempt<'a>,
{
    f
}

impl Recorder {
    /// A client whose stack is `middleware`, then this recorder.
    pub(crate) fn client(&self, middleware: ErrorMiddleware) -> ClientWithMiddleware {
        self.client_with(reqwest_client().build().unwrap(), middleware)
    }

    /// The same over a reqwest client of your own.
    pub(crate) fn client_with(
        &self,
        inner: reqwest::Client,
        middleware: ErrorMiddleware,
    ) -> ClientWithMiddleware {
        let seen = self.seen.clone();
        let record = as_middleware(move |req, extensions, next| {
            let resend = extensions.get::<ResendCount>().map(|r| r.0);
            seen.lock().unwrap().push(resend);
            next.run(req, extensions)
        });
        ClientBuilder::new(inner)
            .with(middleware)
            .with(record)
            .build()
    }

    /// The `ResendCount` of every attempt, in order (`None` where there was none).
    pub(crate) fn seen(&self) -> Vec<Option<u32>> {
        self.seen.lock().unwrap().clone()
    }
}

/// A raw HTTP/1.1 server on loopback: it reads each request's head and body,
/// counts it, then hands the connection to a handler that misbehaves as the
/// test needs (drops it, cuts the answer short, never answers).
pub(crate) struct RawServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RawServer {
    pub(crate) async fn start<F, Fut>(handler: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let counted = counted.clone();
                let handler = handler.clone();
                tokio::spawn(async move {
                    if read_request(&mut stream).await {
                        counted.fetch_add(1, Ordering::SeqCst);
                        handler(stream).await;
                    }
                });
            }
        });
        RawServer {
            addr,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests read in full so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head, then a `Content-Length` body); false if the
/// connection ended first.
async fn read_request(stream: &mut TcpStream) -> bool {
    crate::gateway::read_request(stream, &mut Vec::new()).await
}

/// A request head read a byte at a time from a blocking stream (a raw server on
/// plain threads), up to its blank line; `None` when the stream ends or fails
/// first. The tests that use it send no request body.
pub(crate) fn read_request_head(stream: &mut impl std::io::Read) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(head)
}

/// A loopback address nothing listens on: a port bound, then released.
pub(crate) async fn closed_port_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{path}")
}

/// `at` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form of
/// `Retry-After` dates.
pub(crate) fn http_date(at: SystemTime) -> String {
    httpdate::fmt_http_date(at)
}

/// Everything a fmt subscriber wrote while it was the thread's default.
#[cfg(feature = "tracing")]
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

#[cfg(feature = "tracing")]
impl Captured {
    /// Sets a fmt subscriber (every level, no colours) writing into the
    /// returned buffer as this thread's default, until the guard is dropped.
    /// Use it in a current-thread test, where the middleware runs on this thread.
    pub(crate) fn start() -> (Captured, impl Sized) {
        use tracing_subscriber::util::SubscriberInitExt;

        install_tracing_baseline();
        let captured = Captured::default();
        let writer = captured.clone();
        let guard = tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .set_default();
        (captured, guard)
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[cfg(feature = "tracing")]
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn http_date_matches_the_rfc_example() {
    // RFC 9110's example date, 784111777 seconds after the epoch.
    let at = UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(http_date(at), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    // A leap day.
    let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
    assert_eq!(http_date(leap), "Tue, 29 Feb 2000 00:00:00 GMT");
}

#[test]
fn json_string_escapes_quotes_and_controls() {
    assert_eq!(json_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    assert_eq!(json_string("x\ny"), r#""x\u000ay""#);
}
