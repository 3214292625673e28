//! Signing a typical IAM v5 GET (2 query parameters, 4 headers) and a POST
//! with a 1 KiB JSON body, three ways side by side:
//!
//! - the floor: the hashing no signer can skip, one SHA-256 of the canonical
//!   request and one HMAC of the string to sign (and, for the POST, the
//!   SHA-256 of the body, in a second floor row), with the canonical request
//!   written out beforehand;
//! - the floor and the two headers every signer that signs a request in
//!   place writes, `X-Sdk-Date` and `Authorization`, as header values of
//!   their own (what `sign(&mut Request, ..)` cannot skip either);
//! - this crate's `signing::sign` (SDK-HMAC-SHA256);
//! - `aws-sigv4` signing the same requests (SigV4: four more HMACs to derive
//!   its key), applied to an `http::Request`.
//!
//! Each case signs a fresh copy of the unsigned request; making the copy is
//! outside the timing (criterion's `iter_batched_ref`, and a copy made before
//! the clock starts in the side-by-side rounds). Before measuring, the floor's
//! signature is checked against the one `sign` wrote, so the floor does the
//! same work.
//!
//! A side-by-side round signs 50 fresh copies a case. With thousands a
//! round (`SIGNING_BENCH_BATCH=2000`, this bench's first setting), the
//! allocator hands the freed round's memory back to the kernel between
//! rounds, and the headers the signers add land on fresh pages: the kernel's
//! page faults then cost the signers (not the floor, which allocates
//! nothing) 0.6 to 0.85 µs a signature that no real caller pays.
//!
//! ```text
//! cd benches/signing && cargo bench                   # criterion groups, then the side-by-side tables
//! cd benches/signing && cargo bench -- side_by_side   # the side-by-side tables alone
//! cd benches/signing && SIGNING_BENCH_BATCH=2000 cargo bench -- side_by_side
//! ```

#[path = "../../support/side_by_side.rs"]
#[allow(dead_code)] // its `compare`: this bench prints a table of its own, with aws-sigv4's column
mod side_by_side;

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SigningParams, SigningSettings, sign as aws_sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::{BatchSize, Criterion, criterion_group};
use hmac::{Hmac, Mac};
use huaweicloud_errors::signing::{Credentials, sign};
use sha2::{Digest, Sha256};
use side_by_side::{human, median, thread_cpu_time, wanted};

const AK: &str = "HPUABENCHACCESSKEY01";
const SK: &str = "benchSecretKeyForSigning0123456789abcdef";
/// 2026-12-01T12:00:00Z.
const AT_SECS: u64 = 1_796_126_400;
const DATE: &str = "20261201T120000Z";
const HOST: &str = "iam.myhuaweicloud.com";
const DOMAIN_ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const USER_AGENT: &str = "huaweicloud-errors-bench/0.1";

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(AT_SECS)
}

/// One request to sign, in the forms each signer takes.
struct Case {
    name: &'static str,
    method: &'static str,
    /// The path as the canonical request writes it.
    canonical_path: &'static str,
    path_and_query: &'static str,
    canonical_query: &'static str,
    body: Vec<u8>,
}

impl Case {
    fn get() -> Case {
        Case {
            name: "GET /v5/users?limit=50&marker=…",
            method: "GET",
            canonical_path: "/v5/users/",
            path_and_query: "/v5/users?marker=u-0042&limit=50",
            canonical_query: "limit=50&marker=u-0042",
            body: Vec::new(),
        }
    }

    fn post() -> Case {
        // A policy document of exactly 1 KiB.
        let mut body = String::from(
            r#"{"policy_name":"bench-policy","description":"bench","policy_document":"{\"Version\":\"5.0\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:agencies:listAgencies\"],\"Resource\":[\"*\"]}]}","padding":""#,
        );
        while body.len() < 1024 - 2 {
            body.push('x');
        }
        body.push_str("\"}");
        assert_eq!(body.len(), 1024);
        Case {
            name: "POST /v5/policies, 1 KiB JSON",
            method: "POST",
            canonical_path: "/v5/policies/",
            path_and_query: "/v5/policies",
            canonical_query: "",
            body: body.into_bytes(),
        }
    }

    fn url(&self) -> String {
        format!("https://{HOST}{}", self.path_and_query)
    }

    /// The 4 headers every request carries before signing.
    fn headers(&self) -> [(&'static str, &'static str); 4] {
        [
            ("accept", "application/json"),
            ("content-type", "application/json;charset=UTF-8"),
            ("user-agent", USER_AGENT),
            ("x-domain-id", DOMAIN_ID),
        ]
    }

    /// The unsigned request, for this crate's `sign`.
    fn reqwest(&self) -> reqwest::Request {
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut request = reqwest::Request::new(method, self.url().parse().unwrap());
        for (name, value) in self.headers() {
            request
                .headers_mut()
                .insert(name, reqwest::header::HeaderValue::from_static(value));
        }
        if !self.body.is_empty() {
            *request.body_mut() = Some(self.body.clone().into());
        }
        request
    }

    /// The unsigned request, for aws-sigv4.
    fn http(&self) -> http::Request<Vec<u8>> {
        let mut builder = http::Request::builder().method(self.method).uri(self.url());
        for (name, value) in self.headers() {
            builder = builder.header(name, value);
        }
        builder.body(self.body.clone()).unwrap()
    }

    /// The canonical request `sign` builds, written out.
    /// The headers `sign` signs, sorted by name: the 4, `host` and `x-sdk-date`.
    fn signed_headers(&self) -> Vec<(&'static str, &'static str)> {
        let mut headers = self.headers().to_vec();
        headers.push(("host", HOST));
        headers.push(("x-sdk-date", DATE));
        headers.sort();
        headers
    }

    /// `SignedHeaders`, the signed headers' names joined by `;`.
    fn signed_header_names(&self) -> String {
        let names: Vec<&str> = self.signed_headers().iter().map(|(n, _)| *n).collect();
        names.join(";")
    }

    fn canonical_request(&self) -> String {
        let lines: String = self
            .signed_headers()
            .iter()
            .map(|(n, v)| format!("{n}:{v}\n"))
            .collect();
        format!(
            "{}\n{}\n{}\n{lines}\n{}\n{}",
            self.method,
            self.canonical_path,
            self.canonical_query,
            self.signed_header_names(),
            hex(&Sha256::digest(&self.body)),
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The floor: SHA-256 of the canonical request, then the HMAC of the string
/// to sign; with `body`, the SHA-256 of the body first.
fn floor(canonical: &str, body: Option<&[u8]>) -> String {
    if let Some(body) = body {
        black_box(Sha256::digest(body));
    }
    let digest = hex(&Sha256::digest(canonical.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(SK.as_bytes()).unwrap();
    mac.update(b"SDK-HMAC-SHA256\n");
    mac.update(DATE.as_bytes());
    mac.update(b"\n");
    mac.update(digest.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The floor, and the two headers every in-place signer writes: the
/// request's `X-Sdk-Date` and its `Authorization` (with the floor's
/// signature), as header values of their own.
fn floor_and_headers(request: &mut reqwest::Request, canonical: &str, signed_headers: &str) {
    let signature = floor(canonical, None);
    let headers = request.headers_mut();
    headers.insert(
        "x-sdk-date",
        // Owning its bytes, as a date written at signing time does.
        reqwest::header::HeaderValue::from_bytes(DATE.as_bytes()).unwrap(),
    );
    let parts = [
        "SDK-HMAC-SHA256 Access=",
        AK,
        ", SignedHeaders=",
        signed_headers,
        ", Signature=",
        &signature,
    ];
    // At its exact length, so that the header value takes it over whole.
    let mut authorization = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        authorization.push_str(part);
    }
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::try_from(authorization).unwrap(),
    );
}

fn ours(request: &mut reqwest::Request, credentials: &Credentials) {
    sign(request, credentials, at()).unwrap();
}

fn aws(request: &mut http::Request<Vec<u8>>, identity: &Identity) {
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(identity)
        .region("cn-north-4")
        .name("iam")
        .time(at())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.to_str().unwrap())),
        SignableBody::Bytes(request.body()),
    )
    .unwrap();
    let (instructions, _signature) = aws_sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(request);
}

fn aws_identity() -> Identity {
    AwsCredentials::new(AK, SK, None, None, "bench").into()
}

/// Checks that the floor computes the signature `sign` writes.
fn check_floor(case: &Case, credentials: &Credentials) {
    let mut request = case.reqwest();
    ours(&mut request, credentials);
    let authorization = request.headers()["authorization"].to_str().unwrap();
    let expected = floor(&case.canonical_request(), None);
    assert!(
        authorization.ends_with(&format!("Signature={expected}")),
        "{}: the floor's canonical request differs from sign's:\n{}\n{authorization}",
        case.name,
        case.canonical_request()
    );
}

fn criterion_groups(c: &mut Criterion) {
    let credentials = Credentials::new(AK, SK);
    let identity = aws_identity();
    for case in [Case::get(), Case::post()] {
        check_floor(&case, &credentials);
        let canonical = case.canonical_request();
        let mut group = c.benchmark_group(case.name);
        group.bench_function("floor", |b| b.iter(|| floor(black_box(&canonical), None)));
        if !case.body.is_empty() {
            group.bench_function("floor + body SHA-256", |b| {
                b.iter(|| floor(black_box(&canonical), Some(&case.body)))
            });
        }
        let unsigned = case.reqwest();
        group.bench_function("huaweicloud-errors sign", |b| {
            b.iter_batched_ref(
                || unsigned.try_clone().unwrap(),
                |request| ours(request, &credentials),
                BatchSize::SmallInput,
            )
        });
        let unsigned = case.http();
        group.bench_function("aws-sigv4", |b| {
            b.iter_batched_ref(
                || unsigned.clone(),
                |request| aws(request, &identity),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

/// What one case of a side-by-side round signs.
enum Batch {
    Floor(Option<Vec<u8>>),
    FloorAndHeaders(Vec<reqwest::Request>),
    Ours(Vec<reqwest::Request>),
    Aws(Vec<http::Request<Vec<u8>>>),
}

/// The cases of one request, taking turns round after round (the first case
/// of a round rotating), so that a change of load on the machine reaches
/// every case alike; each round signs `batch_size` fresh copies a case, made
/// before its clock starts. Prints the medians over the rounds of the
/// wall-clock time and the thread's CPU time a signature, and their ratios
/// to the floor and to aws-sigv4.
fn side_by_side_tables() {
    // Fresh copies a round signs, 50 unless `SIGNING_BENCH_BATCH` says;
    // 300,000 signatures a case whatever the batch.
    let batch_size: usize = std::env::var("SIGNING_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .filter(|&b| b > 0)
        .unwrap_or(50);
    let rounds = 300_000 / batch_size;
    let credentials = Credentials::new(AK, SK);
    let identity = aws_identity();
    for case in [Case::get(), Case::post()] {
        check_floor(&case, &credentials);
        let canonical = case.canonical_request();
        let mut names = vec!["floor: SHA-256 of the canonical request + HMAC"];
        if !case.body.is_empty() {
            names.push("floor + SHA-256 of the body");
        }
        names.extend([
            "floor + writing X-Sdk-Date and Authorization",
            "huaweicloud-errors `sign`",
            "aws-sigv4",
        ]);
        let signed_headers = case.signed_header_names();
        let unsigned = case.reqwest();
        let unsigned_http = case.http();
        let copies = || {
            (0..batch_size)
                .map(|_| unsigned.try_clone().unwrap())
                .collect()
        };
        let prepare = |i: usize| match names[i] {
            "huaweicloud-errors `sign`" => Batch::Ours(copies()),
            "aws-sigv4" => Batch::Aws((0..batch_size).map(|_| unsigned_http.clone()).collect()),
            "floor + writing X-Sdk-Date and Authorization" => Batch::FloorAndHeaders(copies()),
            _ if i == 0 => Batch::Floor(None),
            _ => Batch::Floor(Some(case.body.clone())),
        };
        let mut wall = vec![Vec::with_capacity(rounds); names.len()];
        let mut cpu = vec![Vec::with_capacity(rounds); names.len()];
        for round in 0..rounds {
            for turn in 0..names.len() {
                let i = (round + turn) % names.len();
                let mut batch = prepare(i);
                let (start, start_cpu) = (Instant::now(), thread_cpu_time());
                match &mut batch {
                    Batch::Floor(body) => {
                        for _ in 0..batch_size {
                            black_box(floor(black_box(&canonical), body.as_deref()));
                        }
                    }
                    Batch::FloorAndHeaders(requests) => {
                        for request in requests.iter_mut() {
                            floor_and_headers(request, black_box(&canonical), &signed_headers);
                        }
                    }
                    Batch::Ours(requests) => {
                        for request in requests.iter_mut() {
                            ours(request, &credentials);
                        }
                    }
                    Batch::Aws(requests) => {
                        for request in requests.iter_mut() {
                            aws(request, &identity);
                        }
                    }
                }
                wall[i].push(start.elapsed().as_secs_f64() / batch_size as f64);
                cpu[i].push((thread_cpu_time() - start_cpu) / batch_size as f64);
                drop(black_box(batch));
            }
        }
        let wall: Vec<f64> = wall.iter_mut().map(|s| median(s)).collect();
        let cpu: Vec<f64> = cpu.iter_mut().map(|s| median(s)).collect();
        let aws_at = names.len() - 1;
        println!(
            "\n{}: medians of {rounds} rounds of {batch_size}, side by side\n",
            case.name
        );
        println!("| case | wall | CPU | CPU / floor | CPU / aws-sigv4 |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        for (i, name) in names.iter().enumerate() {
            println!(
                "| {name} | {} | {} | {:.2} | {:.2} |",
                human(wall[i]),
                human(cpu[i]),
                cpu[i] / cpu[0],
                cpu[i] / cpu[aws_at],
            );
        }
        println!();
    }
}

criterion_group!(benches, criterion_groups);

fn main() {
    if wanted("side_by_side") {
        side_by_side_tables();
    }
    // Criterion's own filter: `-- side_by_side` selects none of its groups.
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
