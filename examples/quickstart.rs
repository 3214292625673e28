//! The crate in one run: an IAM v5-like server on 127.0.0.1 answers with the
//! errors Huawei Cloud sends, and a client with `ErrorMiddleware` shows what
//! each call decoded, its class, the attempts made and the time waited.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::time::Duration;

use huaweicloud_errors::{ApiError, ErrorMiddleware, RetryStats};
use reqwest::Method;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() {
    // The middleware's tracing events (one per failed attempt, one when it
    // gives up) go to standard error.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .compact()
        .init();

    let iam = start_iam_server().await;
    println!("IAM v5-like server on {}\n", iam.uri());

    let client: ClientWithMiddleware = ClientBuilder::new(reqwest::Client::new())
        .with(
            ErrorMiddleware::builder()
                // Shorter than the defaults (200 ms, 2 s) so the demo runs in
                // about a second.
                .initial_backoff(Duration::from_millis(50))
                .throttle_backoff(Duration::from_millis(200))
                .build(),
        )
        .build();

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
        let result = client
            .request(verb, format!("{}{route}", iam.uri()))
            .header("X-Auth-Token", "secret-token-never-printed")
            .header("Content-Type", "application/json")
            .body(json!({ "agency_id": "a-1" }).to_string())
            .send()
            .await;
        match result {
            Ok(response) => {
                let stats = response.extensions().get::<RetryStats>().copied();
                let (attempts, waited) =
                    stats.map_or((1, Duration::ZERO), |s| (s.attempts, s.waited));
                println!(
                    "  ok: {} after {attempts} attempt(s), waited {} ms\n",
                    response.status(),
                    waited.as_millis()
                );
            }
            Err(err) => match ApiError::from_error(&err) {
                Some(api) => explain(api),
                None => println!("  transport error: {err}\n"),
            },
        }
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
    if let Some(code) = err.code() {
        if let Some(remedy) = code.remedy() {
            println!("  remedy:   {remedy}");
        }
    }
    let values = err.template_values();
    if !values.is_empty() {
        println!("  values:   {values:?}");
    }
    if let Some(encoded) = err.encoded_authorization_message() {
        println!(
            "  encoded authorization message: {} bytes (decode it with STS: POST /v5/decode-authorization-message)",
            encoded.len()
        );
    }
    println!();
}

fn error_body(code: &str, msg: &str) -> serde_json::Value {
    json!({ "error_code": code, "error_msg": msg, "request_id": format!("req-{}", code.to_lowercase()) })
}

/// An IAM v5-like server: the paths and answers of the real service.
async fn start_iam_server() -> MockServer {
    let server = MockServer::start().await;

    // Two concurrent modifications, then success: retried, even for a POST,
    // because the service rejected the change.
    Mock::given(method("POST"))
        .and(path("/v5/policies/p-7f3a/attach-agency"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(error_body("PAP5.0006", "concurrent modification")),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v5/policies/p-7f3a/attach-agency"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .with_priority(2)
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
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v5/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "users": [] })))
        .with_priority(2)
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
            "encoded_authorization_message": "ZW5jb2RlZC1hdXRob3JpemF0aW9uLW1lc3NhZ2UtZXhhbXBsZQ",
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
