//! Decoding and classifying typical error bodies with `ApiError::from_parts`, against
//! the floor of `serde_json::from_slice` into a plain three-`String` struct, and the
//! catalogue lookup `ErrorCode::from_wire` of known and unknown codes.
//!
//! ```text
//! cargo bench --bench decode
//! ```
//!
//! The binary installs a counting global allocator: before measuring, it prints the
//! allocations each case makes per call, and asserts that looking up a catalogued code
//! allocates nothing. After criterion's groups, a side-by-side pass
//! (`decode/side_by_side`, see `support/side_by_side.rs`) gives the medians and the
//! ratios to the floor in one markdown table.
//!
//! `--calls CASE N` decodes one case `N` times and nothing else (the cases are
//! `floor_serde_struct` and the `decode/` ones), for `benches/instructions.sh decode` to
//! count its instructions under callgrind.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/side_by_side.rs"]
mod side_by_side;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use huaweicloud_errors::{ApiError, ErrorClass, ErrorCode};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;

use counting_alloc::allocations_per_call;

/// The floor: the flat body into a plain struct, every field an owned `String`.
#[derive(Deserialize)]
#[allow(dead_code)] // read only through `black_box`
struct Plain {
    error_code: String,
    error_msg: String,
    request_id: String,
}

const FLAT: &str = r#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"0b2c8a5e3f0d4e6f9a1b2c3d4e5f6a7b"}"#;

const NESTED: &str = r#"{"error":{"code":"APIGW.0308","message":"The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 minute","request_id":"0b2c8a5e3f0d4e6f9a1b2c3d4e5f6a7b"}}"#;

const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// PAP5.0001 with a 1 KiB `encoded_authorization_message`.
fn access_denied() -> String {
    let encoded: String = (0..1024)
        .map(|i| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64] as char
        })
        .collect();
    format!(
        r#"{{"error_code":"PAP5.0001","error_msg":"access denied: iam:agencies:create","request_id":"0b2c8a5e3f0d4e6f9a1b2c3d4e5f6a7b","encoded_authorization_message":"{encoded}"}}"#
    )
}

struct Case {
    name: &'static str,
    status: StatusCode,
    body: Vec<u8>,
    class: ErrorClass,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "flat_pap5_0006",
            status: StatusCode::CONFLICT,
            body: FLAT.into(),
            class: ErrorClass::Retryable,
        },
        Case {
            name: "pap5_0001_encoded_1kib",
            status: StatusCode::FORBIDDEN,
            body: access_denied().into_bytes(),
            class: ErrorClass::Permission,
        },
        Case {
            name: "nested_error_object",
            status: StatusCode::TOO_MANY_REQUESTS,
            body: NESTED.into(),
            class: ErrorClass::Retryable,
        },
        Case {
            name: "html_502",
            status: StatusCode::BAD_GATEWAY,
            body: HTML_502.into(),
            class: ErrorClass::Retryable,
        },
    ]
}

/// Wire codes looked up: the first and last rows of the table, a gateway code under its
/// older `APIG.` spelling, one with surrounding white space, and codes outside the table.
const KNOWN: [&str; 4] = ["PAP5.0010", "APIGW.0802", "APIG.0308", " PAP5.0006 "];
const UNKNOWN: [&str; 2] = ["ECS.0105", "APIG.9999"];

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-request-id",
        HeaderValue::from_static("0b2c8a5e3f0d4e6f9a1b2c3d4e5f6a7b"),
    );
    headers
}

/// Prints allocations per call for every case, and proves the known-code lookup free of them.
fn report_allocations() {
    let headers = headers();
    eprintln!("allocations per call:");
    eprintln!(
        "  {:<34} {:>5.1}",
        "floor (serde_json, 3 Strings)",
        allocations_per_call(1000, || serde_json::from_slice::<Plain>(FLAT.as_bytes()))
    );
    for case in cases() {
        let per_call = allocations_per_call(1000, || {
            ApiError::from_parts(case.status, &headers, &case.body)
        });
        eprintln!("  from_parts/{:<23} {per_call:>5.1}", case.name);
    }
    for wire in KNOWN {
        let per_call = allocations_per_call(1000, || ErrorCode::from_wire(wire));
        eprintln!("  from_wire({:<22}) {per_call:>5.1}", format!("{wire:?}"));
        assert_eq!(per_call, 0.0, "looking up {wire:?} allocates");
    }
    for wire in UNKNOWN {
        let per_call = allocations_per_call(1000, || ErrorCode::from_wire(wire));
        eprintln!("  from_wire({:<22}) {per_call:>5.1}", format!("{wire:?}"));
    }
}

fn decode(c: &mut Criterion) {
    report_allocations();
    let headers = headers();

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("floor_serde_struct", |b| {
        b.iter(|| serde_json::from_slice::<Plain>(black_box(FLAT.as_bytes())).unwrap());
    });
    for case in cases() {
        let err = ApiError::from_parts(case.status, &headers, &case.body);
        assert_eq!(err.class(), case.class, "{}", case.name);
        group.bench_function(case.name, |b| {
            b.iter(|| ApiError::from_parts(case.status, &headers, black_box(&case.body)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("from_wire");
    for (name, wire) in [
        ("known_first_row", KNOWN[0]),
        ("known_last_row", KNOWN[1]),
        ("known_apig_alias", KNOWN[2]),
        ("unknown", UNKNOWN[0]),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| ErrorCode::from_wire(black_box(wire)));
        });
    }
    group.finish();

    if side_by_side::wanted("decode/side_by_side") {
        let cases = cases();
        let names: Vec<&str> = std::iter::once("floor_serde_struct")
            .chain(cases.iter().map(|case| case.name))
            .collect();
        side_by_side::compare("decode", &names, 200, |i| {
            const CALLS: u32 = 2_000;
            match i.checked_sub(1).map(|i| &cases[i]) {
                None => {
                    for _ in 0..CALLS {
                        let body = black_box(FLAT.as_bytes());
                        black_box(serde_json::from_slice::<Plain>(body).unwrap());
                    }
                }
                Some(case) => {
                    for _ in 0..CALLS {
                        let body = black_box(&case.body);
                        black_box(ApiError::from_parts(case.status, &headers, body));
                    }
                }
            }
            CALLS
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(100)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = decode
}

/// `--calls CASE N`: decodes one case `N` times, outside criterion, and exits: a fixed
/// amount of work for an instruction counter.
fn calls_mode() -> Option<(String, u32)> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--calls")?;
    let name = args.get(at + 1)?.clone();
    let calls = args
        .get(at + 2)?
        .parse()
        .expect("--calls CASE N: N is a number");
    Some((name, calls))
}

fn main() {
    if let Some((name, calls)) = calls_mode() {
        let headers = headers();
        if name == "floor_serde_struct" {
            for _ in 0..calls {
                let body = black_box(FLAT.as_bytes());
                black_box(serde_json::from_slice::<Plain>(body).unwrap());
            }
            return;
        }
        let cases = cases();
        let Some(case) = cases.iter().find(|case| case.name == name) else {
            let names: Vec<&str> = cases.iter().map(|case| case.name).collect();
            panic!("--calls: unknown case {name:?}; the cases are floor_serde_struct, {names:?}");
        };
        for _ in 0..calls {
            let body = black_box(&case.body);
            black_box(ApiError::from_parts(case.status, &headers, body));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
