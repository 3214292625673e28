//! The crate in one run: an IAM v5-like server and an STS v5-like server on
//! 127.0.0.1 check every AK/SK signature as the API gateway does (401
//! APIGW.0301 for a bad one) and answer with the errors Huawei Cloud sends;
//! a client with `ErrorMiddleware` and, inside it, a `Signer` holding demo
//! credentials shows what each call decoded, its class, the attempts made,
//! the time waited, and the signature the gateway saw on each attempt. The
//! permission error's encoded message is decoded through the STS server.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! The servers verify a signature by signing the request they received
//! again with the crate's public `signing::sign` (the headers its
//! `SignedHeaders` names, its `X-Sdk-Date`, the secret key the gateway holds
//! for its access key) and comparing the two `Authorization` headers, after
//! checking that `X-Sdk-Date` is within 15 minutes of their clock. The
//! crate's tests check `sign` against the official SDKs' published vectors
//! and against a verifier of their own.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use huaweicloud_errors::signing::{Credentials, Signer, sign};
use huaweicloud_errors::{ApiError, ErrorMiddleware, RetryStats};
use reqwest::Method;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::json;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// The demo's access key and the secret key the gateway holds for it.
const ACCESS_KEY: &str = "HPUADEMOACCESSKEY001";
const SECRET_KEY: &str = "demo-secret-key-not-a-real-one-0123456789";
/// The account (domain) the calls are for: IAM is a global service.
const DOMAIN_ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
/// The encoded message of the permission error, as the demo IAM sends it.
const ENCODED: &str = "ZW5jb2RlZC1hdXRob3JpemF0aW9uLW1lc3NhZ2UtZXhhbXBsZQ";
/// How far `X-Sdk-Date` may be from the gateway's clock.
const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        if arg == "-h" || arg == "--help" {
            println!("usage: cargo run --example quickstart (it takes no arguments)");
            return ExitCode::SUCCESS;
        }
        eprintln!("quickstart: unexpected argument {arg:?}: it takes none");
        eprintln!("usage: cargo run --example quickstart");
        return ExitCode::from(2);
    }

    // The middleware's tracing events (one per failed attempt, one when it
    // gives up) go to standard error.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .compact()
        .init();

    let gateway = Gateway::default();
    let iam = start_iam_server(&gateway).await;
    let sts = start_sts_server(&gateway).await;
    println!("IAM v5-like server on {}", iam.uri());
    println!("STS v5-like server on {}\n", sts.uri());

    let client = signed_client(Credentials::new(ACCESS_KEY, SECRET_KEY));
    let calls = [
        (
            Method::POST,
            "/v5/policies/p-7f3a/attach-agency",
            "attach a policy while another change is in flight",
        ),
        (
            Method::GET,
            "/v5/users",
            "list users through a throttled gateway",
        ),
        (
            Method::GET,
            "/v5/agencies/a-missing",
            "show an agency that does not exist",
        ),
        (
            Method::POST,
            "/v5/agencies",
            "create an agency without the permission",
        ),
        (
            Method::POST,
            "/v5/policies",
            "create a policy while IAM is unavailable",
        ),
    ];
    for (verb, route, what) in calls {
        println!("{verb} {route}  ({what})");
        let result = send(&client, verb, &format!("{}{route}", iam.uri())).await;
        gateway.print_attempts();
        report(result, &client, &sts, &gateway).await;
    }

    println!("GET /v5/users  (signed with a wrong secret key)");
    let wrong = signed_client(Credentials::new(ACCESS_KEY, "not-the-secret-key"));
    let result = send(&wrong, Method::GET, &format!("{}/v5/users", iam.uri())).await;
    gateway.print_attempts();
    report(result, &client, &sts, &gateway).await;

    // CI runs the demo: a signature the gateway refused, other than the
    // wrong key's, is a signing bug, and fails the run.
    let rejected = gateway.rejected();
    if rejected != 1 {
        eprintln!(
            "quickstart: the gateway rejected {rejected} signatures; expected 1 (the wrong secret key's)"
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The full stack: `ErrorMiddleware` outside, `Signer` inside it, so that
/// every attempt is signed afresh.
fn signed_client(credentials: Credentials) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(
            ErrorMiddleware::builder()
                // Shorter than the defaults (200 ms, 2 s) so the demo runs in
                // about three seconds.
                .initial_backoff(Duration::from_millis(50))
                .throttle_backoff(Duration::from_millis(200))
                .build(),
        )
        .with(Signer::new(credentials).domain_id(DOMAIN_ID))
        .build()
}

async fn send(
    client: &ClientWithMiddleware,
    verb: Method,
    url: &str,
) -> reqwest_middleware::Result<reqwest::Response> {
    client
        .request(verb, url)
        .header("Content-Type", "application/json")
        .body(json!({ "agency_id": "a-1" }).to_string())
        .send()
        .await
}

async fn report(
    result: reqwest_middleware::Result<reqwest::Response>,
    client: &ClientWithMiddleware,
    sts: &MockServer,
    gateway: &Gateway,
) {
    match result {
        Ok(response) => {
            let stats = response.extensions().get::<RetryStats>().copied();
            let (attempts, waited) = stats.map_or((1, Duration::ZERO), |s| (s.attempts, s.waited));
            println!(
                "  ok: {} after {attempts} attempt(s), waited {} ms\n",
                response.status(),
                waited.as_millis()
            );
        }
        Err(err) => match ApiError::from_error(&err) {
            Some(api) => {
                explain(api);
                if let Some(decoded) = api.decode_authorization(client, &sts.uri()).await {
                    print!("  STS:      POST /v5/decode-authorization-message");
                    gateway.print_attempts_inline();
                    match decoded {
                        Ok(decoded) => print_denial(decoded.message(), decoded.json()),
                        Err(err) => println!("  could not decode it: {err}"),
                    }
                }
                println!();
            }
            None => println!("  transport error: {err}\n"),
        },
    }
}

fn explain(err: &ApiError) {
    println!("  error:    {err}");
    println!("  class:    {} (reason: {})", err.class(), err.reason());
    println!(
        "  attempts: {}, waited {} ms, stopped: {}",
        err.attempts(),
        err.waited().as_millis(),
        err.stop_reason().map_or("-", |s| s.as_str())
    );
    if let Some(remedy) = err.code().and_then(|code| code.remedy()) {
        println!("  remedy:   {remedy}");
    }
    let values = err.template_values();
    if !values.is_empty() {
        println!("  values:   {values:?}");
    }
    if let Some(encoded) = err.encoded_authorization_message() {
        println!(
            "  encoded authorization message: {} bytes, decoded with STS:",
            encoded.len()
        );
    }
}

/// Prints what the decoded message says was denied.
fn print_denial(message: &str, json: Option<&serde_json::Value>) {
    let context = json.and_then(|j| j.get("context"));
    let field = |name: &str| context.and_then(|c| c.get(name)).and_then(|v| v.as_str());
    match (field("action"), field("resource")) {
        (Some(action), Some(resource)) => {
            println!("  denied:   {action} on {resource}");
            if let Some(user) = context
                .and_then(|c| c.pointer("/principal/user_name"))
                .and_then(|v| v.as_str())
            {
                println!("  for:      {user}");
            }
        }
        _ => println!("  denied:   {message}"),
    }
    println!("  decoded message: {message}");
}

fn error_body(code: &str, msg: &str) -> serde_json::Value {
    json!({ "error_code": code, "error_msg": msg, "request_id": format!("req-{}", code.to_lowercase()) })
}

/// What the demo gateway saw of one request's signature.
struct Seen {
    date: String,
    signature: String,
    verdict: Result<(), String>,
}

/// The demo API gateway: checks the signature of every request that reaches
/// either server, and remembers what it saw for the demo to print.
#[derive(Clone, Default)]
struct Gateway {
    seen: Arc<Mutex<Vec<Seen>>>,
    rejected: Arc<Mutex<usize>>,
}

impl Gateway {
    /// Prints, and forgets, each attempt seen since the last call.
    fn print_attempts(&self) {
        let seen: Vec<Seen> = self.seen.lock().unwrap().drain(..).collect();
        self.count_rejected(&seen);
        for (n, seen) in seen.iter().enumerate() {
            println!(
                "  gateway:  attempt {}: X-Sdk-Date {}, signature {}…: {}",
                n + 1,
                seen.date,
                seen.signature,
                seen.verdict
                    .as_ref()
                    .map_or_else(|why| why.as_str(), |()| "valid"),
            );
        }
    }

    fn count_rejected(&self, seen: &[Seen]) {
        let rejected = seen.iter().filter(|s| s.verdict.is_err()).count();
        *self.rejected.lock().unwrap() += rejected;
    }

    /// How many requests the gateway has rejected (among those printed).
    fn rejected(&self) -> usize {
        *self.rejected.lock().unwrap()
    }

    /// The same, on the line already started.
    fn print_attempts_inline(&self) {
        let seen: Vec<Seen> = self.seen.lock().unwrap().drain(..).collect();
        self.count_rejected(&seen);
        for s in &seen {
            print!(
                ", signed at {} ({}…): {}",
                s.date,
                s.signature,
                s.verdict
                    .as_ref()
                    .map_or_else(|why| why.as_str(), |()| "valid")
            );
        }
        println!();
    }
}

/// Matches the requests whose signature the gateway rejects (and records
/// every request's): the gateway's rule goes before every route's.
impl Match for Gateway {
    fn matches(&self, request: &Request) -> bool {
        let verdict = verify(request);
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let authorization = header("authorization");
        let signature = authorization
            .rsplit_once("Signature=")
            .map_or("-", |(_, s)| s.get(..8).unwrap_or(s))
            .to_owned();
        let bad = verdict.is_err();
        self.seen.lock().unwrap().push(Seen {
            date: header("x-sdk-date"),
            signature,
            verdict,
        });
        bad
    }
}

/// Checks `request`'s `SDK-HMAC-SHA256` signature as the gateway does.
fn verify(request: &Request) -> Result<(), String> {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = header("authorization").ok_or("no Authorization header")?;
    let fields = authorization
        .strip_prefix("SDK-HMAC-SHA256 ")
        .ok_or("not an SDK-HMAC-SHA256 signature")?;
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
    };
    let (Some(access_key), Some(signed_headers)) = (field("Access"), field("SignedHeaders")) else {
        return Err("a malformed Authorization header".into());
    };
    if access_key != ACCESS_KEY {
        return Err(format!("unknown access key {access_key}"));
    }
    let date = header("x-sdk-date").ok_or("no X-Sdk-Date")?;
    let signed_at = parse_sdk_date(date).ok_or("a malformed X-Sdk-Date")?;
    let now = SystemTime::now();
    let skew = now
        .duration_since(signed_at)
        .unwrap_or_else(|e| e.duration());
    if skew > CLOCK_SKEW {
        return Err(format!("X-Sdk-Date {date} is more than 15 minutes off"));
    }
    if !signed_headers.split(';').any(|h| h == "x-sdk-date") {
        return Err("X-Sdk-Date is not signed".into());
    }

    // Sign the request as received again, with the headers it says it
    // signed, and compare.
    let mut again = reqwest::Request::new(request.method.clone(), request.url.clone());
    for name in signed_headers.split(';') {
        for value in request.headers.get_all(name) {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| "a malformed SignedHeaders")?;
            again.headers_mut().append(name, value.clone());
        }
    }
    *again.body_mut() = Some(request.body.clone().into());
    sign(&mut again, &Credentials::new(ACCESS_KEY, SECRET_KEY), now)
        .map_err(|e| format!("cannot be signed again: {e}"))?;
    match again.headers().get("authorization") {
        Some(expected) if expected == authorization => Ok(()),
        _ => Err("rejected, the signature does not match: 401 APIGW.0301".into()),
    }
}

/// `20261201T120000Z` as a time; `None` when it is not of that form.
fn parse_sdk_date(date: &str) -> Option<SystemTime> {
    let b = date.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| date.get(range)?.parse::<u64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    // days_from_civil).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y / 400;
    let yoe = y % 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(UNIX_EPOCH + Duration::from_secs(days * 86_400 + hh * 3_600 + mm * 60 + ss))
}

/// An IAM v5-like server behind the demo gateway: the paths and answers of
/// the real service.
async fn start_iam_server(gateway: &Gateway) -> MockServer {
    let server = MockServer::start().await;
    mount_gateway(&server, gateway).await;

    // A concurrent modification, then success: retried, even for a POST,
    // because the service rejected the change. The server asks for a
    // second's wait, so the retry's X-Sdk-Date (whole seconds) and so its
    // signature differ from the first attempt's.
    Mock::given(method("POST"))
        .and(path("/v5/policies/p-7f3a/attach-agency"))
        .respond_with(
            ResponseTemplate::new(409)
                .insert_header("Retry-After", "1")
                .set_body_json(error_body("PAP5.0006", "concurrent modification")),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v5/policies/p-7f3a/attach-agency"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .with_priority(3)
        .mount(&server)
        .await;

    // Throttled once, with Retry-After: the wait honours it.
    Mock::given(method("GET"))
        .and(path("/v5/users"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(error_body(
                    "APIGW.0308",
                    "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute",
                )),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v5/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "users": [] })))
        .with_priority(3)
        .mount(&server)
        .await;

    // User-fixable: never retried.
    Mock::given(method("GET"))
        .and(path("/v5/agencies/a-missing"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(error_body("PAP5.0012", "no such agency")),
        )
        .mount(&server)
        .await;

    // Permission: never retried; the encoded message explains the denial.
    Mock::given(method("POST"))
        .and(path("/v5/agencies"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error_code": "PAP5.0001",
            "error_msg": "access denied: iam:agencies:createAgency",
            "request_id": "req-pap5.0001",
            "encoded_authorization_message": ENCODED,
        })))
        .mount(&server)
        .await;

    // Retryable, but a POST that met a 503 may have taken effect: not retried.
    Mock::given(method("POST"))
        .and(path("/v5/policies"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(error_body("APIGW.0613", "IAM service unavailable")),
        )
        .mount(&server)
        .await;

    server
}

/// An STS v5-like server behind the same gateway: it decodes the one
/// encoded message the IAM server sends. The decoded message's fields are
/// the demo's own: the vendor does not document them.
async fn start_sts_server(gateway: &Gateway) -> MockServer {
    let server = MockServer::start().await;
    mount_gateway(&server, gateway).await;
    let decoded = json!({
        "allowed": false,
        "explicit_deny": false,
        "matched_statements": [],
        "context": {
            "principal": { "domain_id": DOMAIN_ID, "user_name": "demo-user" },
            "action": "iam:agencies:createAgency",
            "resource": format!("iam::{DOMAIN_ID}:agency:*"),
        },
    });
    Mock::given(method("POST"))
        .and(path("/v5/decode-authorization-message"))
        .and(body_json(json!({ "encoded_message": ENCODED })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "decoded_message": decoded.to_string() })),
        )
        .mount(&server)
        .await;
    server
}

/// Puts the gateway's signature check in front of every route of `server`:
/// a request it rejects gets 401 APIGW.0301.
async fn mount_gateway(server: &MockServer, gateway: &Gateway) {
    Mock::given(gateway.clone())
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "APIGW.0301",
            "Incorrect IAM authentication information: verify aksk signature fail",
        )))
        .with_priority(1)
        .mount(server)
        .await;
}
