//! A loopback API Gateway with a fixed-window rate limit: at most `limit`
//! calls in each `window` (counted from the gateway's start, as Huawei's
//! gateway counts), answering the rest with 429 APIGW.0308 and the limit in
//! its message, as the real gateway does.
//!
//! Shared by the tests (`mod gateway` in `tests/all/main.rs`) and the
//! throttling benchmark (`examples/throttle_bench.rs`, through `#[path]`), so
//! both measure against the same server. It uses tokio's clock, so tests
//! under `tokio::time::pause` see windows of virtual time.

// The benchmark uses only part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the gateway answered in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Calls let through (200).
    pub passed: u32,
    /// Calls throttled (429 APIGW.0308).
    pub throttled: u32,
}

/// The gateway; it stops when dropped.
pub struct Gateway {
    addr: SocketAddr,
    limit: u32,
    windows: Arc<Mutex<Vec<Window>>>,
    task: JoinHandle<()>,
}

/// The unit the gateway's message names for `window`, and the count of it.
fn time_text(window: Duration) -> String {
    let secs = window.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} day", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{} hour", s / 3_600),
        s if s >= 60 && s % 60 == 0 => format!("{} minute", s / 60),
        s => format!("{} second", s.max(1)),
    }
}

impl Gateway {
    /// A gateway on 127.0.0.1 allowing `limit` calls every `window` (whole
    /// seconds), for every path and method.
    pub async fn start(limit: u32, window: Duration) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let windows = Arc::new(Mutex::new(Vec::new()));
        let message = format!(
            "The throttling threshold has been reached: policy user over ratelimit,limit:{limit},time:{}",
            time_text(window)
        );
        let body: Arc<str> = format!(
            r#"{{"error_code":"APIGW.0308","error_msg":"{message}","request_id":"gw-throttled"}}"#
        )
        .into();
        let start = Instant::now();
        let task = tokio::spawn({
            let windows = windows.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let counter = Counter {
                        windows: windows.clone(),
                        limit,
                        window,
                        start,
                    };
                    tokio::spawn(serve(stream, counter, body.clone()));
                }
            }
        });
        Gateway {
            addr,
            limit,
            windows,
            task,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The calls allowed in each window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// What was answered in each window so far, from the first.
    pub fn windows(&self) -> Vec<Window> {
        self.windows.lock().unwrap().clone()
    }

    /// Passed and throttled calls over all windows.
    pub fn totals(&self) -> Window {
        self.windows()
            .iter()
            .fold(Window::default(), |sum, w| Window {
                passed: sum.passed + w.passed,
                throttled: sum.throttled + w.throttled,
            })
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Counter {
    windows: Arc<Mutex<Vec<Window>>>,
    limit: u32,
    window: Duration,
    start: Instant,
}

impl Counter {
    /// Counts a call arriving now; whether it is within the limit.
    fn admit(&self) -> bool {
        let index = (Instant::now().duration_since(self.start).as_nanos()
            / self.window.as_nanos().max(1)) as usize;
        let mut windows = self.windows.lock().unwrap();
        if windows.len() <= index {
            windows.resize(index + 1, Window::default());
        }
        let w = &mut windows[index];
        if w.passed < self.limit {
            w.passed += 1;
            true
        } else {
            w.throttled += 1;
            false
        }
    }
}

/// Serves one keep-alive connection until the client closes it.
async fn serve(mut stream: TcpStream, counter: Counter, throttled: Arc<str>) {
    let mut buf = Vec::new();
    while read_request(&mut stream, &mut buf).await {
        let answer = if counter.admit() {
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
                .to_string()
        } else {
            format!(
                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nx-request-id: gw-throttled\r\ncontent-length: {}\r\n\r\n{throttled}",
                throttled.len()
            )
        };
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one request from `stream` (its head, then a `Content-Length`
/// body), with `buf` holding what was read past the previous one; false if
/// the connection ended first. Also the raw servers' reader (`support.rs`).
pub async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    buf.drain(..head_end + length);
    true
}
