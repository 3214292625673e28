//! A raw HTTP/1.1 server on 127.0.0.1 that answers each attempt with the
//! fault a plan chooses for it, and records every attempt per call.
//!
//! A call is named by its `X-Call-Id` request header; the plan sees the
//! call id and the attempt number (0 for the first attempt of that call), so
//! that a seeded plan gives the same faults to the same call whatever order
//! concurrent attempts arrive in. Connections are kept alive
//! between answers that complete; faults that break the connection close it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use huaweicloud_errors::{ApiError, ErrorMiddleware, StopReason};
use reqwest::Method;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// 200 with a JSON body naming the call and the attempt.
    Ok,
    /// 409 PAP5.0006.
    ConcurrentModification,
    /// 409 AccessAnalyzer.1005.
    AnalyzerBusy,
    /// 429 APIGW.0308 without `Retry-After`.
    Throttled,
    /// 429 APIGW.0308 with `Retry-After: 0`.
    ThrottledRetryAfterZero,
    /// 503 with a load balancer's HTML page.
    Unavailable,
    /// The request is read, then the connection is reset (RST) unanswered.
    Reset,
    /// The status line and half a header, then the connection is closed.
    TruncatedHead,
    /// A 503 whose body stops half way through its `Content-Length`.
    TruncatedBody,
    /// The request is read and never answered (the connection stays open).
    Stall,
}

impl Fault {
    /// Every fault the soak injects (all but `Ok` and `Stall`).
    pub const INJECTED: [Fault; 8] = [
        Fault::ConcurrentModification,
        Fault::AnalyzerBusy,
        Fault::Throttled,
        Fault::ThrottledRetryAfterZero,
        Fault::Unavailable,
        Fault::Reset,
        Fault::TruncatedHead,
        Fault::TruncatedBody,
    ];

    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Ok => "ok",
            Fault::ConcurrentModification => "409 PAP5.0006",
            Fault::AnalyzerBusy => "409 AccessAnalyzer.1005",
            Fault::Throttled => "429 APIGW.0308",
            Fault::ThrottledRetryAfterZero => "429 APIGW.0308 + Retry-After: 0",
            Fault::Unavailable => "503",
            Fault::Reset => "connection reset",
            Fault::TruncatedHead => "truncated head",
            Fault::TruncatedBody => "truncated 503 body",
            Fault::Stall => "stall",
        }
    }

    /// Whether the answer proves the service rejected the request without
    /// acting on it, so that any method may be sent again.
    pub fn proves_rejection(self) -> bool {
        matches!(
            self,
            Fault::ConcurrentModification
                | Fault::AnalyzerBusy
                | Fault::Throttled
                | Fault::ThrottledRetryAfterZero
        )
    }

    /// Whether the middleware may send a call of this method again after
    /// this fault: rejections for every method, everything else (5xx,
    /// broken connections) only for idempotent methods.
    pub fn retryable_for(self, method: &Method) -> bool {
        match self {
            Fault::Ok => false,
            _ if self.proves_rejection() => true,
            _ => matches!(*method, Method::GET | Method::PUT | Method::DELETE),
        }
    }

    /// Whether the caller sees a transport error (no answer was decoded).
    pub fn is_transport(self) -> bool {
        matches!(self, Fault::Reset | Fault::TruncatedHead)
    }
}

/// What the plan sees of an attempt.
pub struct Head<'a> {
    pub call_id: &'a str,
    pub attempt: u32,
}

/// One attempt as the server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub body_len: usize,
    pub body_hash: u64,
    pub fault: Fault,
}

type Plan = dyn Fn(&Head<'_>) -> Fault + Send + Sync;

struct State {
    plan: Box<Plan>,
    calls: Mutex<HashMap<String, Vec<Seen>>>,
    attempts: AtomicU64,
}

/// The server; it stops accepting when dropped.
pub struct FaultServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl FaultServer {
    /// Starts a server whose answers `plan` chooses.
    pub async fn start(plan: impl Fn(&Head<'_>) -> Fault + Send + Sync + 'static) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            plan: Box::new(plan),
            calls: Mutex::new(HashMap::new()),
            attempts: AtomicU64::new(0),
        });
        let accept = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(stream, state.clone()));
                }
            }
        });
        FaultServer {
            addr,
            state,
            accept,
        }
    }

    /// A server that answers every attempt with `fault`.
    pub async fn always(fault: Fault) -> FaultServer {
        FaultServer::start(move |_| fault).await
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The attempts received so far, by every call.
    pub fn attempts(&self) -> u64 {
        self.state.attempts.load(Ordering::SeqCst)
    }

    /// The attempts of one call, in the order they arrived.
    pub fn call(&self, call_id: &str) -> Vec<Seen> {
        let calls = self.state.calls.lock().unwrap();
        calls.get(call_id).cloned().unwrap_or_default()
    }

    /// Every call's attempts.
    pub fn calls(&self) -> HashMap<String, Vec<Seen>> {
        self.state.calls.lock().unwrap().clone()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A client with `middleware` and no proxy, so that every call stays on loopback.
pub fn client(middleware: ErrorMiddleware) -> ClientWithMiddleware {
    client_with(reqwest::Client::builder(), middleware)
}

/// Like [`client`], from a `reqwest` builder (for a timeout).
pub fn client_with(
    http: reqwest::ClientBuilder,
    middleware: ErrorMiddleware,
) -> ClientWithMiddleware {
    ClientBuilder::new(http.no_proxy().build().unwrap())
        .with(middleware)
        .build()
}

/// How a call ended, as far as the tests care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A response passed through (its status).
    Response(u16),
    /// A decoded error answer.
    Api {
        status: u16,
        attempts: u32,
        stop: Option<StopReason>,
    },
    /// A transport error (no answer to decode), by kind.
    Transport(&'static str),
}

impl Outcome {
    /// The outcome of a call's result.
    pub fn of(result: &reqwest_middleware::Result<reqwest::Response>) -> Outcome {
        match result {
            Ok(response) => Outcome::Response(response.status().as_u16()),
            Err(err) => match ApiError::from_error(err) {
                Some(api) => Outcome::Api {
                    status: api.status().as_u16(),
                    attempts: api.attempts(),
                    stop: api.stop_reason(),
                },
                None => Outcome::Transport(transport_kind(err)),
            },
        }
    }
}

/// The kind of a transport error, for reports.
pub fn transport_kind(err: &reqwest_middleware::Error) -> &'static str {
    if err.is_connect() {
        "transport: connect"
    } else if err.is_timeout() {
        "transport: timeout"
    } else if err.is_body() {
        "transport: body"
    } else if err.is_request() {
        "transport: request"
    } else if err.is_middleware() {
        "middleware"
    } else {
        "transport: other"
    }
}

/// FNV-1a, so that bodies can be compared without keeping them.
pub fn body_hash(body: &[u8]) -> u64 {
    body.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Serves the requests of one connection until it closes or a fault breaks it.
async fn serve(mut stream: TcpStream, state: Arc<State>) {
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        let head_end = loop {
            if let Some(at) = find(&buf, b"\r\n\r\n") {
                break at + 4;
            }
            if buf.len() > 64 * 1024 {
                return;
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default();
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let mut content_length = 0;
        let mut call_id = String::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("x-call-id") {
                call_id = value.to_owned();
            }
        }
        while buf.len() < head_end + content_length {
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body = &buf[head_end..head_end + content_length];
        let (fault, attempt) = {
            let mut calls = state.calls.lock().unwrap();
            let seen = calls.entry(call_id.clone()).or_default();
            let attempt = u32::try_from(seen.len()).unwrap();
            let fault = (state.plan)(&Head {
                call_id: &call_id,
                attempt,
            });
            seen.push(Seen {
                method: method.clone(),
                body_len: body.len(),
                body_hash: body_hash(body),
                fault,
            });
            state.attempts.fetch_add(1, Ordering::SeqCst);
            (fault, attempt)
        };
        buf.drain(..head_end + content_length);
        let request_id = format!("{call_id}/{attempt}");
        match answer(&mut stream, fault, &call_id, attempt, &request_id).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
    }
}

/// Writes the answer `fault` calls for; `Ok(false)` when the connection is done.
async fn answer(
    stream: &mut TcpStream,
    fault: Fault,
    call_id: &str,
    attempt: u32,
    request_id: &str,
) -> std::io::Result<bool> {
    let json = |status: &str, code: &str, msg: &str, extra: &str| {
        let body =
            format!(r#"{{"error_code":"{code}","error_msg":"{msg}","request_id":"{request_id}"}}"#);
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-request-id: {request_id}\r\n{extra}content-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let response = match fault {
        Fault::Ok => {
            let body = format!(r#"{{"call_id":"{call_id}","attempt":{attempt}}}"#);
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        Fault::ConcurrentModification => {
            json("409 Conflict", "PAP5.0006", "concurrent modification", "")
        }
        Fault::AnalyzerBusy => json(
            "409 Conflict",
            "AccessAnalyzer.1005",
            "The target of the operation is currently being modified by a different request, try again later.",
            "",
        ),
        Fault::Throttled | Fault::ThrottledRetryAfterZero => json(
            "429 Too Many Requests",
            "APIGW.0308",
            "The throttling threshold has been reached: policy user over ratelimit,limit:50,time:1 minute",
            if fault == Fault::Throttled {
                ""
            } else {
                "retry-after: 0\r\n"
            },
        ),
        Fault::Unavailable => {
            let body = "<html><head><title>503 Service Temporarily Unavailable</title></head>\
                        <body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>";
            format!(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        Fault::Reset => {
            stream.set_zero_linger()?;
            return Ok(false);
        }
        Fault::TruncatedHead => {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-le").await?;
            stream.shutdown().await?;
            return Ok(false);
        }
        Fault::TruncatedBody => {
            stream
                .write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
                      content-length: 200\r\n\r\n{\"error_code\":\"APIGW.0613\",\"error_msg\":\"The IAM ser",
                )
                .await?;
            stream.shutdown().await?;
            return Ok(false);
        }
        Fault::Stall => {
            // Hold the connection until the client gives up on it.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            return Ok(false);
        }
    };
    stream.write_all(response.as_bytes()).await?;
    Ok(true)
}
