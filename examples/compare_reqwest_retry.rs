//! The same failures through reqwest-retry's `RetryTransientMiddleware` and
//! through this crate's `ErrorMiddleware`, against a loopback server that
//! counts the attempts it receives. Prints a markdown table.
//!
//! ```text
//! cargo run --release --example compare_reqwest_retry [-- --calls 1000]
//! ```
//!
//! Both retry up to 3 times with waits of microseconds. The server answers
//! GET with 503 and POST with 409 PAP5.0006 (concurrent modification), either
//! always (an outage) or on each call's first attempt only (a blip).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use huaweicloud_errors::{ApiError, ErrorMiddleware};
use reqwest::Method;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Failing {
    /// Every attempt fails.
    Always,
    /// Each call's first attempt fails, the next succeeds.
    FirstAttempt,
}

struct Server {
    addr: SocketAddr,
    attempts: Arc<AtomicU64>,
}

/// A keep-alive HTTP/1.1 server: GET gets 503, POST gets 409 PAP5.0006,
/// as `failing` says; otherwise 200.
async fn start(failing: Failing) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let attempts = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    tokio::spawn({
        let attempts = attempts.clone();
        async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, failing, attempts.clone(), seen.clone()));
            }
        }
    });
    Server { addr, attempts }
}

async fn serve(
    mut stream: TcpStream,
    failing: Failing,
    attempts: Arc<AtomicU64>,
    seen: Arc<Mutex<HashSet<String>>>,
) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
        };
        let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap_or(0));
        let call = header("x-call-id").unwrap_or_default();
        while buf.len() < head_end + length {
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        buf.drain(..head_end + length);
        attempts.fetch_add(1, Ordering::Relaxed);
        let first = seen.lock().unwrap().insert(call);
        let fail = failing == Failing::Always || first;
        let (status, body) = match (fail, head.starts_with("post")) {
            (false, _) => ("200 OK", r#"{"ok":true}"#),
            (true, false) => (
                "503 Service Unavailable",
                "<html>503 Service Unavailable</html>",
            ),
            (true, true) => (
                "409 Conflict",
                r#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"r"}"#,
            ),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn reqwest_retry_client() -> ClientWithMiddleware {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_micros(10), Duration::from_micros(100))
        .build_with_max_retries(3);
    ClientBuilder::new(http())
        .with(RetryTransientMiddleware::new_with_policy(policy))
        .build()
}

fn this_crate(budget: bool) -> ClientWithMiddleware {
    let builder = ErrorMiddleware::builder()
        .max_retries(3)
        .initial_backoff(Duration::from_micros(10))
        .max_backoff(Duration::from_micros(100))
        .jitter_seed(1);
    let builder = if budget {
        builder
    } else {
        builder.without_retry_budget()
    };
    ClientBuilder::new(http()).with(builder.build()).build()
}

/// `calls` calls, 16 in flight; the attempts the server received, and the
/// outcomes by kind.
async fn run(
    client: &ClientWithMiddleware,
    failing: Failing,
    method: &Method,
    calls: usize,
) -> (u64, BTreeMap<String, usize>, Duration) {
    let server = start(failing).await;
    let url = format!("http://{}/v5/policies", server.addr);
    let start = Instant::now();
    let outcomes: Vec<String> = futures::stream::iter(0..calls)
        .map(|i| {
            let mut request = client
                .request(method.clone(), &url)
                .header("x-call-id", i.to_string());
            if *method == Method::POST {
                request = request.body(r#"{"policy_name":"p"}"#);
            }
            async move {
                match request.send().await {
                    Ok(response) => format!("Ok({})", response.status().as_u16()),
                    Err(err) => match ApiError::from_error(&err) {
                        Some(api) => format!(
                            "Err({}, {})",
                            api.status().as_u16(),
                            api.stop_reason().map_or("-", |s| s.as_str())
                        ),
                        None => format!("Err({err})"),
                    },
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let took = start.elapsed();
    let mut by_kind = BTreeMap::new();
    for outcome in outcomes {
        *by_kind.entry(outcome).or_default() += 1;
    }
    (server.attempts.load(Ordering::Relaxed), by_kind, took)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut calls = 1_000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--calls" => calls = args.next().and_then(|v| v.parse().ok()).expect("--calls N"),
            other => panic!("unknown argument {other}; use --calls N"),
        }
    }

    println!("{calls} calls each, 16 in flight, at most 3 retries a call.\n");
    println!("| failure | client | attempts | attempts a call | outcomes | time |");
    println!("| --- | --- | ---: | ---: | --- | ---: |");
    let scenarios = [
        ("GET, always 503", Failing::Always, Method::GET),
        ("POST, always 409 PAP5.0006", Failing::Always, Method::POST),
        (
            "GET, 503 on the first attempt",
            Failing::FirstAttempt,
            Method::GET,
        ),
        (
            "POST, 409 PAP5.0006 on the first attempt",
            Failing::FirstAttempt,
            Method::POST,
        ),
    ];
    for (name, failing, method) in scenarios {
        let clients = [
            ("reqwest-retry 0.9", reqwest_retry_client()),
            ("huaweicloud-errors", this_crate(true)),
            ("huaweicloud-errors, no budget", this_crate(false)),
        ];
        for (label, client) in clients {
            let (attempts, outcomes, took) = run(&client, failing, &method, calls).await;
            let outcomes = outcomes
                .iter()
                .map(|(kind, n)| format!("{n} × {kind}"))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "| {name} | {label} | {attempts} | {:.2} | {outcomes} | {took:.0?} |",
                attempts as f64 / calls as f64
            );
        }
    }
}
