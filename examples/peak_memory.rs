//! Peak memory of 1 GiB bodies, with and without `ErrorMiddleware`.
//!
//! A loopback server streams 1 GiB bodies from one 64 KiB buffer (the body is never
//! materialised on either side). Each scenario runs in a process of its own, which
//! reports its peak resident set size (`VmHWM` in `/proc/self/status`):
//!
//! ```text
//! cargo run --release --example peak_memory -- all        # every scenario, one table
//! cargo run --release --example peak_memory -- <scenario> # one scenario, in this process
//! ```
//!
//! | scenario | what it does |
//! | --- | --- |
//! | `baseline` | starts the server and a client, makes one call with a small body |
//! | `bare_stream` | streams a 1 GiB 200 body with a bare `reqwest::Client` (`chunk()` loop, discarding) |
//! | `middleware_stream` | the same through `ClientWithMiddleware` + `ErrorMiddleware::default()` |
//! | `middleware_error` | a 1 GiB 500 body through the middleware (GET: retried, then returned as `ApiError`) |
//! | `bare_bytes` | for reference: the 1 GiB 200 body read with `bytes()`, which holds it all |

use std::net::SocketAddr;
use std::process::Command;
use std::time::Instant;

use huaweicloud_errors::{ApiError, ErrorMiddleware};
use reqwest_middleware::ClientBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The size of the large bodies: 1 GiB.
const BODY_LEN: u64 = 1 << 30;
/// The server writes the body in chunks of this size, all from one buffer.
const CHUNK: usize = 64 * 1024;

const SCENARIOS: [(&str, &str); 5] = [
    ("baseline", "server and client started, one small call"),
    (
        "bare_stream",
        "1 GiB 200 body, bare reqwest, `chunk()` loop",
    ),
    (
        "middleware_stream",
        "1 GiB 200 body, `ErrorMiddleware`, `chunk()` loop",
    ),
    ("middleware_error", "1 GiB 500 body, `ErrorMiddleware`"),
    (
        "bare_bytes",
        "1 GiB 200 body, bare reqwest, `bytes()` (reference)",
    ),
];

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if arg == "all" {
        run_all();
    } else if SCENARIOS.iter().any(|(name, _)| *name == arg) {
        let report = run_scenario(&arg);
        // The parent reads this line.
        println!(
            "{} {} {} {}",
            report.peak_kib, report.bytes, report.millis, report.note
        );
    } else {
        let names: Vec<&str> = SCENARIOS.iter().map(|(name, _)| *name).collect();
        eprintln!("usage: peak_memory [all | {}]", names.join(" | "));
        std::process::exit(2);
    }
}

/// Runs every scenario in a child process and prints the table.
fn run_all() {
    let exe = std::env::current_exe().expect("current executable");
    let mut rows = Vec::new();
    for (name, description) in SCENARIOS {
        eprintln!("running {name} ...");
        let out = Command::new(&exe)
            .arg(name)
            .output()
            .expect("child process");
        assert!(
            out.status.success(),
            "{name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).expect("UTF-8 report");
        let mut fields = line.trim().splitn(4, ' ');
        let mut next = || fields.next().expect("report field").to_owned();
        let (peak_kib, bytes, millis, note) = (next(), next(), next(), next());
        let peak_kib: u64 = peak_kib.parse().expect("peak");
        rows.push((name, description, peak_kib, bytes, millis, note));
    }
    let baseline = rows[0].2;
    println!();
    println!("| scenario | peak RSS (VmHWM) | over baseline | body bytes read | time | outcome |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for (name, description, peak_kib, bytes, millis, note) in rows {
        let bytes: u64 = bytes.parse().expect("bytes");
        let bytes = match bytes {
            0 => "-".to_owned(),
            BODY_LEN => "1 GiB".to_owned(),
            n => format!("{n} B"),
        };
        println!(
            "| `{name}`: {description} | {} | {} | {bytes} | {millis} ms | {note} |",
            mib(peak_kib),
            mib(peak_kib.saturating_sub(baseline)),
        );
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

struct Report {
    peak_kib: u64,
    bytes: u64,
    millis: u128,
    note: String,
}

fn run_scenario(name: &str) -> Report {
    let addr = start_server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let bare = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let with_middleware = ClientBuilder::new(bare.clone())
        .with(ErrorMiddleware::default())
        .build();
    let start = Instant::now();
    let (bytes, note) = rt.block_on(async {
        match name {
            "baseline" => {
                let body = bare
                    .get(format!("http://{addr}/small"))
                    .send()
                    .await
                    .expect("call")
                    .bytes()
                    .await
                    .expect("body");
                (body.len() as u64, "200".to_owned())
            }
            "bare_stream" => {
                let response = bare
                    .get(format!("http://{addr}/ok"))
                    .send()
                    .await
                    .expect("call");
                (drain(response).await, "200, streamed".to_owned())
            }
            "middleware_stream" => {
                let response = with_middleware
                    .get(format!("http://{addr}/ok"))
                    .send()
                    .await
                    .expect("call");
                (drain(response).await, "200, streamed".to_owned())
            }
            "middleware_error" => {
                let err = with_middleware
                    .get(format!("http://{addr}/error"))
                    .send()
                    .await
                    .expect_err("a 500 answer");
                let api = ApiError::from_error(&err).expect("an ApiError");
                let note = format!(
                    "ApiError {}, {} attempts, body truncated: {}",
                    api.status().as_u16(),
                    api.attempts(),
                    api.body_truncated()
                );
                (0, note) // the middleware reads at most its body_limit (64 KiB) an attempt
            }
            "bare_bytes" => {
                let body = bare
                    .get(format!("http://{addr}/ok"))
                    .send()
                    .await
                    .expect("call")
                    .bytes()
                    .await
                    .expect("body");
                (body.len() as u64, "200, held in memory".to_owned())
            }
            _ => unreachable!("checked by main"),
        }
    });
    let millis = start.elapsed().as_millis();
    if name.ends_with("stream") || name == "bare_bytes" {
        assert_eq!(bytes, BODY_LEN, "the whole body arrives");
    }
    Report {
        peak_kib: peak_rss_kib(),
        bytes,
        millis,
        note,
    }
}

/// Reads the body chunk by chunk, keeping none of it.
async fn drain(mut response: reqwest::Response) -> u64 {
    assert!(response.status().is_success());
    let mut total = 0;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        total += chunk.len() as u64;
    }
    total
}

/// The process's peak resident set size, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Starts the streaming server on its own thread.
fn start_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).expect("listener");
            loop {
                if let Ok((socket, _)) = listener.accept().await {
                    tokio::spawn(serve(socket));
                }
            }
        });
    });
    addr
}

/// Answers the requests on one connection: `/ok` with a 1 GiB 200 body, `/error` with a
/// 1 GiB 500 body (the start of a JSON error without a code, so that the decoder has
/// something to read and the error is retryable), anything else with a small 200 body.
async fn serve(mut socket: TcpStream) {
    static FILL: [u8; CHUNK] = [b' '; CHUNK];
    let mut buf = Vec::with_capacity(4096);
    loop {
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match socket.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        let (status, prefix, len): (&str, &[u8], u64) = match path {
            "/ok" => ("200 OK", b"", BODY_LEN),
            "/error" => ("500 Internal Server Error", br#"{"error_msg":"#, BODY_LEN),
            _ => ("200 OK", br#"{"ok":true}"#, 11),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
        );
        if socket.write_all(head.as_bytes()).await.is_err()
            || socket.write_all(prefix).await.is_err()
        {
            return;
        }
        let mut left = len - prefix.len() as u64;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            if socket.write_all(&FILL[..n]).await.is_err() {
                return; // the client stopped reading
            }
            left -= n as u64;
        }
    }
}
