//! The success path side by side: bare `reqwest::Client`, `ClientWithMiddleware`
//! without middleware, with `ErrorMiddleware::default()`, and with reqwest-retry's
//! `RetryTransientMiddleware` (exponential backoff, 3 retries), one call at a time and
//! 64 calls in flight, against one loopback HTTP/1.1 keep-alive server started here.
//!
//! Two reference layers show what any layer costs before it does any work:
//! `noop_layer` hands the request on and returns the inner future as it is (the least a
//! `reqwest-middleware` layer can cost), and `clone_and_forward` boxes its own future
//! and keeps a `Request::try_clone` copy until the answer arrives (the least a layer
//! that can retry can cost).
//!
//! ```text
//! cargo bench --bench success_path
//! ```
//!
//! The server is a few lines over a raw `TcpListener` (no routing, no matching). It runs
//! on the clients' current-thread runtime, on the benchmark's thread: a call costs the
//! CPU work of both ends and nothing else. With the server on a thread of its own, each
//! call would also wait for a sleeping core to wake up, which on a virtual machine takes
//! from a few microseconds to about a hundred depending on what else runs, and that
//! noise would swamp the differences measured here. Every call reads the body to the end.
//!
//! Before measuring, it prints the allocations each client makes per call (counted by a
//! global allocator wrapping `System`), and those of
//! `reqwest::Request::try_clone`, the copy `ErrorMiddleware` keeps to retry with; the
//! `request/try_clone` group times that copy.
//!
//! `--calls CASE N [IN_FLIGHT]` makes a fixed number of calls and nothing else, for
//! `benches/instructions.sh` to count their instructions under callgrind.
//!
//! After criterion's groups, a side-by-side pass (`success/side_by_side`, see
//! `support/side_by_side.rs`) gives the medians and ratios in one markdown table.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/side_by_side.rs"]
mod side_by_side;

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use futures::future::join_all;
use http::Extensions;
use huaweicloud_errors::ErrorMiddleware;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

use counting_alloc::allocations_per_call;

/// What every call receives: a small JSON document, as an IAM v5 `GET` returns.
const BODY: &str = r#"{"agency":{"agency_id":"a-7f3a","agency_name":"ops-admin","urn":"iam::0123456789:agency:ops-admin","max_session_duration":3600}}"#;

/// Calls in flight in the concurrent benchmarks.
const IN_FLIGHT: usize = 64;

fn response() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

/// Starts the server on `rt` and returns its address.
fn start_server(rt: &Runtime) -> SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    std_listener.set_nonblocking(true).expect("non-blocking");
    let addr = std_listener.local_addr().expect("local address");
    let response: &'static [u8] = response().leak();
    rt.spawn(async move {
        let listener = TcpListener::from_std(std_listener).expect("listener");
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            tokio::spawn(serve_connection(socket, response));
        }
    });
    addr
}

/// Answers every request on the connection with `response`, until the client closes it.
async fn serve_connection(mut socket: TcpStream, response: &'static [u8]) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        // Read one request head, then its body if it announces one.
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match socket.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let request_end = head_end + content_length(&buf[..head_end]);
        while buf.len() < request_end {
            match socket.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        buf.drain(..request_end);
        if socket.write_all(response).await.is_err() {
            return;
        }
    }
}

fn content_length(head: &[u8]) -> usize {
    std::str::from_utf8(head)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// A layer that does nothing: the inner future is returned as it is.
struct NoopLayer;

/// A layer that does what every retrying layer must: it boxes its own future
/// and keeps a copy of the request until the answer arrives.
struct CloneAndForward;

type CallFuture<'a> = std::pin::Pin<
    Box<dyn Future<Output = reqwest_middleware::Result<reqwest::Response>> + Send + 'a>,
>;

impl Middleware for NoopLayer {
    fn handle<'s, 'e, 'n, 'fut>(
        &'s self,
        req: reqwest::Request,
        extensions: &'e mut Extensions,
        next: Next<'n>,
    ) -> CallFuture<'fut>
    where
        's: 'fut,
        'e: 'fut,
        'n: 'fut,
        Self: 'fut,
    {
        next.run(req, extensions)
    }
}

impl Middleware for CloneAndForward {
    fn handle<'s, 'e, 'n, 'fut>(
        &'s self,
        req: reqwest::Request,
        extensions: &'e mut Extensions,
        next: Next<'n>,
    ) -> CallFuture<'fut>
    where
        's: 'fut,
        'e: 'fut,
        'n: 'fut,
        Self: 'fut,
    {
        let spare = req.try_clone();
        let attempt = next.run(req, extensions);
        Box::pin(async move {
            let answer = attempt.await;
            drop(black_box(spare));
            answer
        })
    }
}

/// The clients compared.
struct Clients {
    bare: reqwest::Client,
    no_middleware: ClientWithMiddleware,
    noop_layer: ClientWithMiddleware,
    clone_and_forward: ClientWithMiddleware,
    error_middleware: ClientWithMiddleware,
    reqwest_retry: ClientWithMiddleware,
}

impl Clients {
    fn new() -> Self {
        Clients {
            bare: bare_client(),
            no_middleware: ClientBuilder::new(bare_client()).build(),
            noop_layer: ClientBuilder::new(bare_client()).with(NoopLayer).build(),
            clone_and_forward: ClientBuilder::new(bare_client())
                .with(CloneAndForward)
                .build(),
            error_middleware: ClientBuilder::new(bare_client())
                .with(ErrorMiddleware::default())
                .build(),
            reqwest_retry: ClientBuilder::new(bare_client())
                .with(RetryTransientMiddleware::new_with_policy(
                    ExponentialBackoff::builder().build_with_max_retries(3),
                ))
                .build(),
        }
    }
}

async fn call_bare(client: &reqwest::Client, url: &str) -> usize {
    let response = client.get(url).send().await.expect("bare call");
    assert!(response.status().is_success());
    response.bytes().await.expect("bare body").len()
}

async fn call_with(client: &ClientWithMiddleware, url: &str) -> usize {
    let response = client.get(url).send().await.expect("middleware call");
    assert!(response.status().is_success());
    response.bytes().await.expect("middleware body").len()
}

/// Which client a benchmark drives.
#[derive(Clone, Copy)]
enum Which {
    Bare,
    NoMiddleware,
    NoopLayer,
    CloneAndForward,
    ErrorMiddleware,
    ReqwestRetry,
}

impl Which {
    const ALL: [(Which, &'static str); 6] = [
        (Which::Bare, "reqwest"),
        (Which::NoMiddleware, "middleware_none"),
        (Which::NoopLayer, "noop_layer"),
        (Which::CloneAndForward, "clone_and_forward"),
        (Which::ErrorMiddleware, "error_middleware"),
        (Which::ReqwestRetry, "reqwest_retry"),
    ];

    async fn call(self, clients: &Clients, url: &str) -> usize {
        match self {
            Which::Bare => call_bare(&clients.bare, url).await,
            Which::NoMiddleware => call_with(&clients.no_middleware, url).await,
            Which::NoopLayer => call_with(&clients.noop_layer, url).await,
            Which::CloneAndForward => call_with(&clients.clone_and_forward, url).await,
            Which::ErrorMiddleware => call_with(&clients.error_middleware, url).await,
            Which::ReqwestRetry => call_with(&clients.reqwest_retry, url).await,
        }
    }
}

/// The one runtime, for the server and the clients.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn success_path(c: &mut Criterion) {
    let rt = runtime();
    let addr = start_server(&rt);
    let url = format!("http://{addr}/v5/agencies/a-7f3a");
    let clients = Clients::new();

    // Open the connections once (64 per client), so that no benchmark pays for connecting.
    rt.block_on(async {
        for (which, _) in Which::ALL {
            join_all((0..IN_FLIGHT).map(|_| which.call(&clients, &url))).await;
        }
    });

    // The server allocates nothing per call: the counts are the clients'.
    eprintln!("allocations per call:");
    for (which, name) in Which::ALL {
        let per_call = allocations_per_call(1_000, || rt.block_on(which.call(&clients, &url)));
        eprintln!("  {name:<30} {per_call:>5.1}");
    }
    // The copy `ErrorMiddleware` keeps of each request while a retry may follow.
    let get = reqwest::Request::new(reqwest::Method::GET, url.parse().expect("url"));
    let mut post = reqwest::Request::new(reqwest::Method::POST, url.parse().expect("url"));
    *post.body_mut() = Some(bytes::Bytes::from(vec![b' '; 1024]).into());
    let requests = [("get", get), ("post_1kib_body", post)];
    for (name, request) in &requests {
        let per_call = allocations_per_call(1_000, || request.try_clone());
        eprintln!("  Request::try_clone ({name:<14}) {per_call:>5.1}");
    }
    let mut group = c.benchmark_group("request/try_clone");
    for (name, request) in &requests {
        group.bench_function(*name, |b| b.iter(|| black_box(request).try_clone()));
    }
    group.finish();

    let mut group = c.benchmark_group("success/sequential");
    group.throughput(Throughput::Elements(1));
    for (which, name) in Which::ALL {
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(which.call(&clients, &url).await) });
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("success/in_flight_{IN_FLIGHT}"));
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    // An iteration is 64 calls (about 2 ms): fewer samples fit the measurement time.
    group.sample_size(50);
    for (which, name) in Which::ALL {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let calls = (0..IN_FLIGHT).map(|_| which.call(&clients, &url));
                black_box(join_all(calls).await)
            });
        });
    }
    group.finish();

    if side_by_side::wanted("success/side_by_side") {
        let names = Which::ALL.map(|(_, name)| name);
        side_by_side::compare("success/sequential", &names, 150, |case| {
            const CALLS: u32 = 100;
            let which = Which::ALL[case].0;
            rt.block_on(async {
                for _ in 0..CALLS {
                    black_box(which.call(&clients, &url).await);
                }
            });
            CALLS
        });
        let title = format!("success/in_flight_{IN_FLIGHT} (per call)");
        side_by_side::compare(&title, &names, 150, |case| {
            const BATCHES: u32 = 4;
            let which = Which::ALL[case].0;
            rt.block_on(async {
                for _ in 0..BATCHES {
                    let calls = (0..IN_FLIGHT).map(|_| which.call(&clients, &url));
                    black_box(join_all(calls).await);
                }
            });
            BATCHES * IN_FLIGHT as u32
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(100)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));
    targets = success_path
}
/// `--calls CASE N [IN_FLIGHT]`: makes `N` calls with one client (after opening its
/// connections), outside criterion, and exits: a fixed amount of work for an
/// instruction counter. `benches/instructions.sh` runs it under callgrind.
fn calls_mode() -> Option<(Which, u32, usize)> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--calls")?;
    let name = args.get(at + 1)?;
    let Some(&(which, _)) = Which::ALL.iter().find(|(_, n)| n == name) else {
        let names = Which::ALL.map(|(_, n)| n).join(", ");
        panic!("--calls: unknown case {name:?}; the cases are {names}");
    };
    let calls = args
        .get(at + 2)?
        .parse()
        .expect("--calls CASE N: N is a number");
    let in_flight = args
        .get(at + 3)
        .map_or(1, |n| n.parse().expect("IN_FLIGHT"));
    Some((which, calls, in_flight))
}

fn main() {
    if let Some((which, calls, in_flight)) = calls_mode() {
        let rt = runtime();
        let addr = start_server(&rt);
        let url = format!("http://{addr}/v5/agencies/a-7f3a");
        let clients = Clients::new();
        rt.block_on(async {
            join_all((0..IN_FLIGHT).map(|_| which.call(&clients, &url))).await;
            for _ in 0..calls as usize / in_flight {
                join_all((0..in_flight).map(|_| which.call(&clients, &url))).await;
            }
        });
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
