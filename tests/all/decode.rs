//! The body decoder through the public API: `ApiError::from_parts` for every
//! body shape of `huawei-cloud-errors.md` (one table), one test for each way it
//! must never be worse than the official SDK, the request ids, template values,
//! the message bound, `Display` that cannot forge log lines,
//! `ApiError::from_response` against a real server, the JSON form, and a
//! property: no input makes decoding panic or leak raw control characters.

use huaweicloud_errors::{ApiError, ErrorClass, ErrorCode, MAX_DETAILS, MAX_MESSAGE_LEN, Reason};
use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Ends every message the decoder had to cut.
const MARKER: &str = "…[truncated]";

// `ApiError` travels across threads and tasks and into `anyhow` and
// `Box<dyn Error + Send + Sync>`.
const _: fn() = || {
    fn assert_traits<T: Send + Sync + 'static + std::error::Error>() {}
    assert_traits::<ApiError>();
};

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

fn request_id_header(id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("X-Request-Id", HeaderValue::from_str(id).unwrap());
    headers
}

fn decode(code: u16, body: impl AsRef<[u8]>) -> ApiError {
    ApiError::from_parts(status(code), &HeaderMap::new(), body.as_ref())
}

/// What an error answer must decode to.
struct Expected<'a> {
    code: Option<&'a str>,
    message: &'a str,
    request_id: Option<&'a str>,
    encoded: Option<&'a str>,
    details: &'a [(Option<&'a str>, &'a str)],
    class: ErrorClass,
    reason: Reason,
    display: &'a str,
}

impl Expected<'static> {
    /// No code, message or ids; a user-fixable invalid request.
    const DEFAULT: Expected<'static> = Expected {
        code: None,
        message: "",
        request_id: None,
        encoded: None,
        details: &[],
        class: ErrorClass::UserFixable,
        reason: Reason::InvalidRequest,
        display: "",
    };
}

#[track_caller]
fn check(err: &ApiError, expected: &Expected<'_>, what: &str) {
    assert_eq!(
        err.code().map(ErrorCode::as_str),
        expected.code,
        "{what}: code"
    );
    assert_eq!(err.message(), expected.message, "{what}: message");
    assert_eq!(err.request_id(), expected.request_id, "{what}: request id");
    assert_eq!(
        err.encoded_authorization_message(),
        expected.encoded,
        "{what}: encoded authorization message"
    );
    let details: Vec<(Option<&str>, &str)> = err
        .details()
        .iter()
        .map(|d| (d.code().map(ErrorCode::as_str), d.message()))
        .collect();
    assert_eq!(details, expected.details, "{what}: details");
    assert_eq!(
        (err.class(), err.reason()),
        (expected.class, expected.reason),
        "{what}: classification"
    );
    assert_eq!(err.to_string(), expected.display, "{what}: Display");
}

// ---------------------------------------------------------------------------------------------
// Every body shape: one table
// ---------------------------------------------------------------------------------------------

/// An error answer and what it must decode to.
struct Case {
    name: &'static str,
    status: u16,
    /// The `X-Request-Id` header, if any.
    header: Option<&'static str>,
    body: &'static [u8],
    expected: Expected<'static>,
}

const CASES: &[Case] = &[
    Case {
        name: "flat",
        status: 409,
        header: None,
        body: br#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"0a1b2c"}"#,
        expected: Expected {
            code: Some("PAP5.0006"),
            message: "concurrent modification",
            request_id: Some("0a1b2c"),
            class: ErrorClass::Retryable,
            reason: Reason::ConcurrentModification,
            display: "409 Conflict: PAP5.0006: concurrent modification (request id 0a1b2c)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "flat with an encoded authorization message, keys in another order",
        status: 403,
        header: None,
        body: br#"{"error_msg":"access denied: iam:agencies:create","error_code":"PAP5.0001",
            "request_id":"8c2f","encoded_authorization_message":"QUJD+/=ZW5jb2RlZA"}"#,
        expected: Expected {
            code: Some("PAP5.0001"),
            message: "access denied: iam:agencies:create",
            request_id: Some("8c2f"),
            encoded: Some("QUJD+/=ZW5jb2RlZA"),
            class: ErrorClass::Permission,
            reason: Reason::AccessDenied,
            display: "403 Forbidden: PAP5.0001: access denied: iam:agencies:create (request id 8c2f)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "nested error object",
        status: 401,
        header: None,
        body: br#"{"error":{"code":"APIGW.0301","message":"Incorrect IAM authentication information: decrypt token fail"}}"#,
        expected: Expected {
            code: Some("APIGW.0301"),
            message: "Incorrect IAM authentication information: decrypt token fail",
            class: ErrorClass::Permission,
            reason: Reason::Authentication,
            display: "401 Unauthorized: APIGW.0301: Incorrect IAM authentication information: decrypt token fail",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "nested error object with an encoded authorization message",
        status: 403,
        header: None,
        body: br#"{"error":{"code":"STS5.1001","message":"you are not authorized to perform this operation","encoded_authorization_message":"ZW5j"}}"#,
        expected: Expected {
            code: Some("STS5.1001"),
            message: "you are not authorized to perform this operation",
            encoded: Some("ZW5j"),
            class: ErrorClass::Permission,
            reason: Reason::AccessDenied,
            display: "403 Forbidden: STS5.1001: you are not authorized to perform this operation",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "flat and nested mixed: code from the nested object, ids from the top",
        status: 429,
        header: None,
        body: br#"{"request_id":"top-id","encoded_authorization_message":"ZW5j",
            "error":{"code":"APIGW.0308","message":"The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute"}}"#,
        expected: Expected {
            code: Some("APIGW.0308"),
            message: "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute",
            request_id: Some("top-id"),
            encoded: Some("ZW5j"),
            class: ErrorClass::Retryable,
            reason: Reason::Throttled,
            display: "429 Too Many Requests: APIGW.0308: The throttling threshold has been reached: \
                      policy user over ratelimit,limit:100,time:1 minute (request id top-id)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "a message without a code at the top, the coded level nested",
        status: 409,
        header: None,
        body: br#"{"error_msg":"outer","error":{"error_code":"AccessAnalyzer.1005","error_msg":"inner","request_id":"deep"}}"#,
        expected: Expected {
            code: Some("AccessAnalyzer.1005"),
            message: "inner",
            request_id: Some("deep"),
            class: ErrorClass::Retryable,
            reason: Reason::ConcurrentModification,
            display: "409 Conflict: AccessAnalyzer.1005: inner (request id deep)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "details",
        status: 400,
        header: None,
        body: br#"{"error_code":"PAP5.0011","error_msg":"malformed policy document","request_id":"d-1",
            "details":[{"error_code":"PAP5.0030","error_msg":"invalid path"},
                       {"code":"ECS.0001","message":"second"},
                       "not an object",
                       {"unrelated":1},
                       {"error_msg":"no code"}]}"#,
        expected: Expected {
            code: Some("PAP5.0011"),
            message: "malformed policy document",
            request_id: Some("d-1"),
            details: &[
                (Some("PAP5.0030"), "invalid path"),
                (Some("ECS.0001"), "second"),
                (None, "no code"),
            ],
            class: ErrorClass::UserFixable,
            reason: Reason::InvalidRequest,
            display: "400 Bad Request: PAP5.0011: malformed policy document (request id d-1)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "Keystone numeric code with title",
        status: 401,
        header: None,
        body: br#"{"error":{"message":"The request you have made requires authentication.","code":401,"title":"Unauthorized"}}"#,
        expected: Expected {
            code: Some("401"),
            message: "The request you have made requires authentication.",
            class: ErrorClass::Permission,
            reason: Reason::Authentication,
            display: "401 Unauthorized: 401: The request you have made requires authentication.",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "Keystone numeric code, the title as the message",
        status: 403,
        header: None,
        body: br#"{"error":{"code":403,"title":"Forbidden"}}"#,
        expected: Expected {
            code: Some("403"),
            message: "Forbidden",
            class: ErrorClass::Permission,
            reason: Reason::AccessDenied,
            display: "403 Forbidden: 403: Forbidden",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "camel case",
        status: 403,
        header: None,
        body: br#"{"errorCode":"STS5.1001","errorMsg":"you are not authorized to perform this operation","requestId":"abc"}"#,
        expected: Expected {
            code: Some("STS5.1001"),
            message: "you are not authorized to perform this operation",
            request_id: Some("abc"),
            class: ErrorClass::Permission,
            reason: Reason::AccessDenied,
            display: "403 Forbidden: STS5.1001: you are not authorized to perform this operation (request id abc)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "HTML 502 page",
        status: 502,
        header: Some("lb-7"),
        body: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
                </body>\r\n</html>\r\n",
        expected: Expected {
            message: "502 Bad Gateway 502 Bad Gateway nginx",
            request_id: Some("lb-7"),
            class: ErrorClass::Retryable,
            reason: Reason::Unavailable,
            display: "502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx (request id lb-7)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "plain text",
        status: 503,
        header: None,
        body: b" Service Unavailable\r\n",
        expected: Expected {
            message: "Service Unavailable",
            class: ErrorClass::Retryable,
            reason: Reason::Unavailable,
            display: "503 Service Unavailable: Service Unavailable",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "empty body",
        status: 500,
        header: None,
        body: b"",
        expected: Expected {
            class: ErrorClass::Retryable,
            reason: Reason::ServerError,
            display: "500 Internal Server Error",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "blank body, the request id from the header",
        status: 403,
        header: Some("e-1"),
        body: b" \n",
        expected: Expected {
            request_id: Some("e-1"),
            class: ErrorClass::Permission,
            reason: Reason::AccessDenied,
            display: "403 Forbidden (request id e-1)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "cut inside the encoded message: the complete fields before it are kept",
        status: 409,
        header: None,
        body: br#"{"request_id":"r-9","error_code":"PAP5.0006","error_msg":"concurrent modification","encoded_authorization_message":"QUJ"#,
        expected: Expected {
            code: Some("PAP5.0006"),
            message: "concurrent modification",
            request_id: Some("r-9"),
            class: ErrorClass::Retryable,
            reason: Reason::ConcurrentModification,
            display: "409 Conflict: PAP5.0006: concurrent modification (request id r-9)",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "cut inside the code: no code, the text is the message",
        status: 409,
        header: None,
        body: br#"{"error_code":"PAP5.00"#,
        expected: Expected {
            message: r#"{"error_code":"PAP5.00"#,
            class: ErrorClass::UserFixable,
            reason: Reason::Conflict,
            display: r#"409 Conflict: {"error_code":"PAP5.00"#,
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "bytes that are not UTF-8",
        status: 502,
        header: None,
        body: b"Bad \xff\xfe gateway",
        expected: Expected {
            message: "Bad \u{fffd}\u{fffd} gateway",
            class: ErrorClass::Retryable,
            reason: Reason::Unavailable,
            display: "502 Bad Gateway: Bad \u{fffd}\u{fffd} gateway",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "invalid UTF-8 inside a flat body's message",
        status: 404,
        header: None,
        body: b"{\"error_code\":\"PAP5.0012\",\"error_msg\":\"caf\xe9\"}",
        expected: Expected {
            code: Some("PAP5.0012"),
            message: "caf\u{fffd}",
            class: ErrorClass::UserFixable,
            reason: Reason::NotFound,
            display: "404 Not Found: PAP5.0012: caf\u{fffd}",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "a JSON string",
        status: 503,
        header: None,
        body: br#" "Service temporarily unavailable" "#,
        expected: Expected {
            message: "Service temporarily unavailable",
            class: ErrorClass::Retryable,
            reason: Reason::Unavailable,
            display: "503 Service Unavailable: Service temporarily unavailable",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "an array: its first object is the error",
        status: 404,
        header: None,
        body: br#"[1, {"error_code":"PAP5.0012","error_msg":"no such agency"}, {"error_code":"X.2"}]"#,
        expected: Expected {
            code: Some("PAP5.0012"),
            message: "no such agency",
            class: ErrorClass::UserFixable,
            reason: Reason::NotFound,
            display: "404 Not Found: PAP5.0012: no such agency",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "an array without an object",
        status: 500,
        header: None,
        body: b"[1, \"x\"]",
        expected: Expected {
            message: "[1, \"x\"]",
            class: ErrorClass::Retryable,
            reason: Reason::ServerError,
            display: "500 Internal Server Error: [1, \"x\"]",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "a JSON number",
        status: 500,
        header: None,
        body: b" 42 ",
        expected: Expected {
            message: "42",
            class: ErrorClass::Retryable,
            reason: Reason::ServerError,
            display: "500 Internal Server Error: 42",
            ..Expected::DEFAULT
        },
    },
    Case {
        name: "JSON null",
        status: 500,
        header: None,
        body: b"null",
        expected: Expected {
            message: "null",
            class: ErrorClass::Retryable,
            reason: Reason::ServerError,
            display: "500 Internal Server Error: null",
            ..Expected::DEFAULT
        },
    },
];

#[test]
fn every_body_shape() {
    for case in CASES {
        let headers = case.header.map_or_else(HeaderMap::new, request_id_header);
        let err = ApiError::from_parts(status(case.status), &headers, case.body);
        check(&err, &case.expected, case.name);
    }
}

#[test]
fn details_are_capped_and_found_in_nested_objects() {
    let entries: Vec<String> = (0..40)
        .map(|n| format!(r#"{{"error_code":"C.{n}","error_msg":"m{n}"}}"#))
        .collect();
    let err = decode(
        400,
        format!(
            r#"{{"error":{{"code":"X.1","message":"m","details":[{}]}}}}"#,
            entries.join(",")
        ),
    );
    assert_eq!(err.details().len(), MAX_DETAILS);
    assert_eq!(
        err.details()[15].code().map(ErrorCode::as_str),
        Some("C.15")
    );
    assert_eq!(err.details()[15].message(), "m15");
    // A detail's code is looked up in the catalogue like the error's.
    let err = decode(
        400,
        CASES.iter().find(|c| c.name == "details").unwrap().body,
    );
    assert_eq!(err.details()[0].code(), Some(&ErrorCode::InvalidPath));
}

#[test]
fn nesting_100000_deep() {
    let arrays = "[".repeat(100_000);
    let err = decode(400, &arrays);
    assert_eq!(err.code(), None);
    assert_eq!(err.message().len(), MAX_MESSAGE_LEN);
    assert!(err.message().starts_with("[[[") && err.message().ends_with(MARKER));
    let closed = format!("{arrays}{}", "]".repeat(100_000));
    assert_eq!(decode(400, &closed).message().len(), MAX_MESSAGE_LEN);

    let objects = format!(
        r#"{}{{"error_code":"PAP5.0006","error_msg":"deep"}}{}"#,
        r#"{"a":"#.repeat(100_000),
        "}".repeat(100_000)
    );
    let err = decode(409, &objects);
    assert_eq!(err.code(), Some(&ErrorCode::ConcurrentModification));
    assert_eq!(err.message(), "deep");
    assert!(err.is_retryable());
    let err = decode(400, r#"{"a":"#.repeat(100_000));
    assert_eq!(err.code(), None);
    assert!(err.message().ends_with(MARKER));
    // Display and Debug of such an error stay short.
    assert!(err.to_string().len() < MAX_MESSAGE_LEN + 100);
    assert!(format!("{err:?}").len() < 2 * MAX_MESSAGE_LEN);
}

// ---------------------------------------------------------------------------------------------
// Display: no forged log lines
// ---------------------------------------------------------------------------------------------

#[test]
fn display_escapes_control_characters() {
    let body = r#"{"error_code":"PAP5.0006",
        "error_msg":"concurrent modification\nERROR 2026-01-01T00:00:00Z forged entry\r\u001b[31m\u0085",
        "request_id":"r\u0007-1"}"#;
    let err = decode(409, body);
    // The message is kept as sent...
    assert_eq!(
        err.message(),
        "concurrent modification\nERROR 2026-01-01T00:00:00Z forged entry\r\u{1b}[31m\u{85}"
    );
    assert_eq!(err.request_id(), Some("r\u{7}-1"));
    // ...and shown escaped, on one line.
    let shown = err.to_string();
    assert_eq!(
        shown,
        "409 Conflict: PAP5.0006: concurrent modification\\nERROR 2026-01-01T00:00:00Z forged entry\
         \\r\\u{1b}[31m\\u{85} (request id r\\u{7}-1)"
    );
    assert!(!shown.chars().any(char::is_control));
    assert!(!format!("{err:?}").chars().any(char::is_control));

    // A code of control characters is escaped too.
    let err = decode(400, r#"{"error_code":"X.1\nINFO ok","error_msg":"m"}"#);
    assert_eq!(err.code(), Some(&ErrorCode::from_wire("X.1\nINFO ok")));
    assert_eq!(err.to_string(), "400 Bad Request: X.1\\nINFO ok: m");
    // And a tab in the request id header.
    let err = ApiError::from_parts(
        StatusCode::BAD_REQUEST,
        &request_id_header("a\tb"),
        b"plain",
    );
    assert_eq!(err.to_string(), "400 Bad Request: plain (request id a\\tb)");
    // Unicode line separators and bidi overrides cannot disguise a line either.
    let err = decode(
        400,
        r#"{"error_code":"X","error_msg":"a\u2028b\u202ec\u2066d"}"#,
    );
    assert_eq!(err.message(), "a\u{2028}b\u{202e}c\u{2066}d");
    assert_eq!(
        err.to_string(),
        "400 Bad Request: X: a\\u{2028}b\\u{202e}c\\u{2066}d"
    );
}

// ---------------------------------------------------------------------------------------------
// The request id
// ---------------------------------------------------------------------------------------------

#[test]
fn the_bodys_request_id_beats_the_header() {
    let headers = request_id_header("from-header");
    for body in [
        &br#"{"error_code":"PAP5.0006","request_id":"from-body"}"#[..],
        br#"{"error":{"code":"PAP5.0006","request_id":"from-body"}}"#,
        br#"{"errorCode":"PAP5.0006","requestId":"from-body"}"#,
        br#"{"error_code":"PAP5.0006","request_id":"from-body","x":"#,
    ] {
        let err = ApiError::from_parts(StatusCode::CONFLICT, &headers, body);
        assert_eq!(
            err.request_id(),
            Some("from-body"),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn the_header_gives_the_request_id_when_the_body_has_none() {
    let headers = request_id_header(" 5f0e-header ");
    for body in [
        &br#"{"error_code":"PAP5.0006","error_msg":"m"}"#[..],
        br#"{"error_code":"PAP5.0006","request_id":"  "}"#,
        br#"{"error":{"code":401,"title":"Unauthorized"}}"#,
        b"<html><body>oops</body></html>",
        b"plain text",
        b"",
        b"[1",
        b"\xff\xfe",
    ] {
        let err = ApiError::from_parts(StatusCode::CONFLICT, &headers, body);
        assert_eq!(
            err.request_id(),
            Some("5f0e-header"),
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert!(err.to_string().ends_with(" (request id 5f0e-header)"));
    }
    // A header that is not visible ASCII is not a request id.
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-request-id",
        HeaderValue::from_bytes(b"id-\xff\xfe").unwrap(),
    );
    assert_eq!(
        ApiError::from_parts(StatusCode::CONFLICT, &headers, b"").request_id(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Template values
// ---------------------------------------------------------------------------------------------

#[test]
fn template_values() {
    // `access denied: %s`
    let err = decode(
        403,
        r#"{"error_code":"PAP5.0001","error_msg":"access denied: iam:agencies:create"}"#,
    );
    assert_eq!(err.template_values(), ["iam:agencies:create"]);

    // PAP5.0027's message has no placeholder (its `%d` is in the description):
    // no values, but the message follows the template.
    let err = decode(
        409,
        r#"{"error_code":"PAP5.0027","error_msg":"policy size limit exceeded"}"#,
    );
    assert!(err.template_values().is_empty());
    assert_eq!(
        err.code().unwrap().template_values(err.message()),
        Some(vec![])
    );
    // A `%d` template: the gateway's throttling message.
    let err = decode(
        429,
        r#"{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached: policy ip over ratelimit,limit:5,time:1 minute"}"#,
    );
    assert_eq!(err.template_values(), ["ip", "5"]);

    // The page's typo `s%` stands for a value like `%s`.
    let err = decode(
        404,
        r#"{"error_code":"AccessAnalyzer.1018","error_msg":"Preview with id pv-42 cannot be found."}"#,
    );
    assert_eq!(err.template_values(), ["pv-42"]);

    // A message that does not follow the template, an unknown code, no code.
    let err = decode(403, r#"{"error_code":"PAP5.0001","error_msg":"denied"}"#);
    assert!(err.template_values().is_empty());
    assert_eq!(err.code().unwrap().template_values(err.message()), None);
    let err = decode(
        403,
        r#"{"error_code":"ECS.0001","error_msg":"access denied: x"}"#,
    );
    assert!(err.template_values().is_empty());
    assert!(decode(403, "access denied: x").template_values().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The message bound
// ---------------------------------------------------------------------------------------------

#[test]
fn long_messages_are_cut_with_a_marker() {
    assert_eq!(MAX_MESSAGE_LEN, 1024);
    let mib = 1 << 20;
    // Two-byte characters, so that the cut must find a character boundary.
    let long = "é".repeat(mib / 2);
    let bodies = [
        format!(r#"{{"error_code":"PAP5.0006","error_msg":"{long}","request_id":"big"}}"#),
        format!(r#"{{"error":{{"code":"PAP5.0006","message":"{long}"}},"request_id":"big"}}"#),
        format!("plain {long}"),
        format!("<html><body><p>{long}</p></body></html>"),
        format!(r#"{{"error_code":"PAP5.0006","error_msg":"{long}","x":"#),
    ];
    for body in &bodies {
        let err = decode(409, body);
        let message = err.message();
        assert!(message.len() <= MAX_MESSAGE_LEN, "{}", message.len());
        assert!(message.len() > MAX_MESSAGE_LEN - MARKER.len() - 2);
        let kept = message.strip_suffix(MARKER).expect("the marker");
        assert!(kept.trim_start_matches("plain ").chars().all(|c| c == 'é'));
        let shown = err.to_string();
        assert!(shown.len() < MAX_MESSAGE_LEN + 100, "{}", shown.len());
        assert!(shown.ends_with(MARKER) || shown.ends_with("(request id big)"));
        assert!(format!("{err:?}").len() < 2 * MAX_MESSAGE_LEN);
    }
    // A message of control characters: escaped, still bounded.
    let controls = "\\u0001".repeat(mib);
    let err = decode(
        400,
        format!(r#"{{"error_code":"X","error_msg":"{controls}"}}"#),
    );
    assert!(err.message().len() <= MAX_MESSAGE_LEN);
    assert!(err.to_string().len() < 7 * MAX_MESSAGE_LEN);
    // The encoded authorization message is never cut: it must stay decodable.
    let encoded = "A".repeat(10_240);
    let err = decode(
        403,
        format!(
            r#"{{"error_code":"PAP5.0001","error_msg":"access denied","encoded_authorization_message":"{encoded}"}}"#
        ),
    );
    assert_eq!(err.encoded_authorization_message(), Some(encoded.as_str()));
    assert!(format!("{err:?}").len() < 1024);
    assert!(!err.to_string().contains(&encoded[..100]));
}

// ---------------------------------------------------------------------------------------------
// From a real response
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn from_response_reads_a_real_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v5/policies/p-7f3a/attach-agency"))
        .respond_with(
            ResponseTemplate::new(409)
                .insert_header("X-Request-Id", "hdr-1")
                .set_body_raw(
                    r#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"body-1"}"#,
                    "application/json",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v5/users"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("X-Request-Id", "hdr-2")
                .set_body_raw(
                    "<html><head><title>502 Bad Gateway</title></head></html>",
                    "text/html",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;

    let client = reqwest::Client::new();
    let response = client
        .post(format!(
            "{}/v5/policies/p-7f3a/attach-agency?marker=m1&X-Auth-Token=secret",
            server.uri()
        ))
        .send()
        .await
        .unwrap();
    let err = ApiError::from_response(response).await;
    assert_eq!(err.status(), StatusCode::CONFLICT);
    assert_eq!(err.code(), Some(&ErrorCode::ConcurrentModification));
    assert_eq!(err.message(), "concurrent modification");
    assert_eq!(err.request_id(), Some("body-1"));
    assert!(err.is_retryable());
    assert!(!err.body_truncated());
    assert_eq!(err.attempts(), 1);
    // The URL is kept without its query.
    let url = format!("{}/v5/policies/p-7f3a/attach-agency", server.uri());
    assert_eq!(err.url(), Some(url.as_str()));
    assert!(!format!("{err:?}").contains("secret"));

    let response = client
        .get(format!("{}/v5/users", server.uri()))
        .send()
        .await
        .unwrap();
    let err = ApiError::from_response(response).await;
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), "502 Bad Gateway");
    assert_eq!(err.request_id(), Some("hdr-2"));
    assert_eq!(err.reason(), Reason::Unavailable);
    assert_eq!(
        err.to_string(),
        "502 Bad Gateway: 502 Bad Gateway (request id hdr-2)"
    );
}

#[tokio::test]
async fn from_response_reads_the_start_of_a_long_body() {
    let server = MockServer::start().await;
    let body = format!(
        r#"{{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"r-1","pad":"{}"}}"#,
        "x".repeat(huaweicloud_errors::DEFAULT_BODY_LIMIT * 2)
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(409).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let response = reqwest::get(format!("{}/v5/agencies", server.uri()))
        .await
        .unwrap();
    let err = ApiError::from_response(response).await;
    assert!(err.body_truncated());
    assert_eq!(err.code(), Some(&ErrorCode::ConcurrentModification));
    assert_eq!(err.message(), "concurrent modification");
    assert_eq!(err.request_id(), Some("r-1"));
}

#[cfg(feature = "serde")]
#[tokio::test]
async fn the_json_form_has_the_documented_fields_and_no_url() {
    use std::collections::BTreeSet;

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            r#"{"error_code":"PAP5.0001","error_msg":"access denied: iam:agencies:create",
                "request_id":"r-403","encoded_authorization_message":"ZW5j",
                "details":[{"error_code":"STS5.1001","error_msg":"inner"}]}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let response = reqwest::Client::new()
        .post(format!("{}/v5/agencies?token=secret", server.uri()))
        .send()
        .await
        .unwrap();
    let err = ApiError::from_response(response).await;
    assert!(err.url().is_some());

    let json = serde_json::to_value(&err).unwrap();
    let keys: BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let documented = BTreeSet::from([
        "status",
        "code",
        "message",
        "request_id",
        "encoded_authorization_message",
        "details",
        "class",
        "reason",
        "attempts",
        "waited_ms",
        "stop_reason",
        "retry_after_ms",
    ]);
    assert_eq!(keys, documented);
    assert_eq!(
        json,
        serde_json::json!({
            "status": 403,
            "code": "PAP5.0001",
            "message": "access denied: iam:agencies:create",
            "request_id": "r-403",
            "encoded_authorization_message": "ZW5j",
            "details": [{"code": "STS5.1001", "message": "inner"}],
            "class": "permission",
            "reason": "access_denied",
            "attempts": 1,
            "waited_ms": 0,
            "stop_reason": null,
            "retry_after_ms": null,
        })
    );
    let text = json.to_string();
    let host = server.uri().trim_start_matches("http://").to_owned();
    for leak in [
        "url",
        "method",
        "POST",
        "127.0.0.1",
        host.as_str(),
        "/v5/agencies",
        "secret",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// No input panics, overflows the bound or reaches Display raw
// ---------------------------------------------------------------------------------------------

/// A character, often a control character.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        1 => prop::sample::select(vec!['\n', '\r', '\t', '\0', '\u{1b}', '\u{7}', '\u{7f}', '\u{85}', '\u{9b}']),
    ]
}

/// Text with control characters (`any::<String>` has none), sometimes past the bound.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(any_char(), 0..48).prop_map(String::from_iter),
        1 => prop::collection::vec(any_char(), 1000..1400).prop_map(String::from_iter),
    ]
}

/// Error bodies: arbitrary bytes, and the known shapes filled with arbitrary
/// text (JSON escapes decode to raw control characters), whole or cut.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    let shaped = (any_text(), any_text(), any_text(), 0..5_u8).prop_map(|(code, msg, id, shape)| {
        let value = match shape {
            0 => serde_json::json!({"error_code": code, "error_msg": msg, "request_id": id}),
            1 => serde_json::json!({"error": {"code": code, "message": msg, "encoded_authorization_message": id}}),
            2 => serde_json::json!({"request_id": id, "details": [{"error_code": code, "error_msg": msg}], "error": {"code": 401, "title": msg}}),
            3 => serde_json::json!({"errorCode": code, "errorMsg": msg, "requestId": id}),
            _ => serde_json::json!([msg, {"code": code, "message": msg}]),
        };
        value.to_string().into_bytes()
    }).boxed();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        shaped.clone(),
        (shaped, any::<prop::sample::Index>()).prop_map(|(body, cut)| {
            let at = cut.index(body.len() + 1);
            body[..at].to_vec()
        }),
        any_text().prop_map(|t| format!("<html><title>{t}</title><p>{t}</p></html>").into_bytes()),
        any_text().prop_map(String::into_bytes),
    ]
}

/// Header values: arbitrary bytes (often invalid, skipped) and valid ones
/// (visible ASCII, tab, and bytes above 0x7f).
fn any_header_value() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![Just(b'\t'), 0x20_u8..0x7f, 0x80_u8..=0xff];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(valid, 0..40),
    ]
}

fn any_headers() -> impl Strategy<Value = HeaderMap> {
    let name = prop_oneof![
        2 => Just("x-request-id".to_owned()),
        1 => Just("X-Request-Id".to_owned()),
        1 => "[a-zA-Z][a-zA-Z0-9-]{0,15}",
    ];
    prop::collection::vec((name, any_header_value()), 0..4).prop_map(|pairs| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(&value),
            ) {
                headers.append(name, value);
            }
        }
        headers
    })
}

proptest! {
    #[test]
    fn from_parts_never_panics_stays_bounded_and_escapes(
        code in 400_u16..=599,
        headers in any_headers(),
        body in any_body(),
    ) {
        let status = status(code);
        let err = ApiError::from_parts(status, &headers, &body);
        prop_assert_eq!(err.status(), status);
        prop_assert!(err.message().len() <= MAX_MESSAGE_LEN);
        for detail in err.details() {
            prop_assert!(detail.message().len() <= MAX_MESSAGE_LEN);
        }
        prop_assert_eq!(err.class(), err.reason().class());
        let shown = err.to_string();
        let debug = format!("{err:?}");
        prop_assert!(shown.starts_with(&status.to_string()));
        prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
        prop_assert!(!debug.chars().any(char::is_control), "{:?}", debug);
        let _ = err.template_values();
    }
}

#[test]
fn api_error_is_clone() {
    let err = ApiError::from_parts(
        StatusCode::CONFLICT,
        &HeaderMap::new(),
        br#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"r1"}"#,
    );
    let copy = err.clone();
    assert_eq!(copy.to_string(), err.to_string());
    assert_eq!(copy.code(), Some(&ErrorCode::ConcurrentModification));
}

// ---------------------------------------------------------------------------------------------
// Never worse than the official SDK (issue 10): one test a point
// ---------------------------------------------------------------------------------------------

/// A PAP5.0025 answer that quotes the concurrent request it lost to.
const QUOTES_ANOTHER_ERROR: &str = r#"{"conflicting_request":{"error_code":"PAP5.0006","error_msg":"concurrent modification"},"error_code":"PAP5.0025","error_msg":"policy already exists"}"#;

#[test]
fn a_body_cut_short_keeps_the_top_level_answer() {
    let whole = decode(409, QUOTES_ANOTHER_ERROR);
    assert_eq!(whole.code(), Some(&ErrorCode::PolicyAlreadyExists));
    assert!(!whole.is_retryable());
    // One byte missing: the same answer, not the nested code.
    let cut = decode(409, &QUOTES_ANOTHER_ERROR[..QUOTES_ANOTHER_ERROR.len() - 1]);
    assert_eq!(cut.code(), Some(&ErrorCode::PolicyAlreadyExists));
    // Cut before the top-level code: the nested one could be outranked, and it would
    // retry a write, so the status alone decides.
    let at = QUOTES_ANOTHER_ERROR
        .find(r#","error_code":"PAP5.0025""#)
        .unwrap();
    let cut = decode(409, &QUOTES_ANOTHER_ERROR[..at]);
    assert_eq!(cut.code(), None);
    assert_eq!(
        (cut.class(), cut.reason()),
        (ErrorClass::UserFixable, Reason::Conflict)
    );
    // A cut nested code that does not retry is kept.
    let cut = decode(
        401,
        r#"{"error":{"message":"Unauthorized","code":401,"title":"Unauth"#,
    );
    assert_eq!(cut.code().map(ErrorCode::as_str), Some("401"));
}

#[test]
fn an_object_without_a_known_key_keeps_its_text() {
    let body = r#"{"error":"invalid_grant","error_description":"token expired"}"#;
    let err = decode(400, body);
    assert_eq!(err.code(), None);
    assert_eq!(err.message(), body);
    assert_eq!(err.to_string(), format!("400 Bad Request: {body}"));
}

#[test]
fn a_message_that_is_not_a_string_falls_back_on_the_text() {
    for body in [
        r#"{"error_code":"PAP5.0010","error_msg":null}"#,
        r#"{"error_code":"PAP5.0010","error_msg":42}"#,
        r#"{"error_code":"PAP5.0010","error_msg":{"text":"nested"}}"#,
    ] {
        let err = decode(400, body);
        assert_eq!(err.code(), Some(&ErrorCode::InvalidMarker), "{body}");
        assert_eq!(err.message(), body);
    }
}

#[test]
fn codes_are_found_at_any_depth() {
    for levels in [7, 8, 9, 64, 127, 128, 129, 5_000] {
        let body = format!(
            r#"{}{{"error_code":"PAP5.0006","error_msg":"deep"}}{}"#,
            r#"{"a":"#.repeat(levels),
            "}".repeat(levels)
        );
        let err = decode(409, &body);
        assert_eq!(
            err.code(),
            Some(&ErrorCode::ConcurrentModification),
            "{levels} levels"
        );
        assert_eq!(err.message(), "deep", "{levels} levels");
    }
}

#[test]
fn invalid_utf8_and_lone_surrogates_in_a_string_decode_lossily() {
    let err = decode(
        404,
        b"{\"error_code\":\"PAP5.0012\",\"error_msg\":\"caf\xe9 \\ud800 \\udc00x \\u00e9\",\"request_id\":\"r-1\"}",
    );
    assert_eq!(err.code(), Some(&ErrorCode::NoSuchAgency));
    assert_eq!(err.message(), "caf\u{fffd} \u{fffd} \u{fffd}x \u{e9}");
    assert_eq!(err.request_id(), Some("r-1"));
}

#[test]
fn integer_codes_beyond_u64_keep_their_digits() {
    for body in [
        r#"{"error_code":123456789012345678901234,"error_msg":"m"}"#,
        r#"{"error":{"code":-123456789012345678901234,"message":"m"}}"#,
    ] {
        let err = decode(400, body);
        let digits = body.split([':', ',']).find(|s| s.ends_with("234")).unwrap();
        assert_eq!(err.code().map(ErrorCode::as_str), Some(digits), "{body}");
        assert_eq!(err.message(), "m");
    }
    // Not an integer: no code rather than invented digits.
    assert_eq!(
        decode(400, r#"{"error_code":4.5,"error_msg":"m"}"#).code(),
        None
    );
}

#[test]
fn display_escapes_invisible_characters() {
    let invisible = [
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{2060}',
        '\u{2061}', '\u{2062}', '\u{2063}', '\u{2064}', '\u{FEFF}', '\u{FFF9}', '\u{FFFA}',
        '\u{FFFB}', '\u{2065}', '\u{206A}', '\u{206F}',
    ];
    for c in invisible {
        let message = format!("admin{c} logged in");
        let body = serde_json::json!({"error_code": "PAP5.0010", "error_msg": message});
        let err = decode(400, body.to_string());
        assert_eq!(err.message(), message);
        let shown = err.to_string();
        assert!(!shown.contains(c), "{:?} shown raw: {shown:?}", c);
        assert!(shown.contains(&c.escape_default().to_string()), "{shown:?}");
    }
}

#[test]
fn byte_order_marks_and_utf16_bodies_are_read() {
    let json = r#"{"error_code":"PAP5.0006","error_msg":"concurrent modification"}"#;
    let utf16 = |little: bool| -> Vec<u8> {
        "\u{feff}"
            .encode_utf16()
            .chain(json.encode_utf16())
            .flat_map(|unit| {
                if little {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                }
            })
            .collect()
    };
    let bodies: [(&str, Vec<u8>); 5] = [
        ("a BOM", format!("\u{feff}{json}").into_bytes()),
        (
            "a space before the BOM",
            format!(" \u{feff}{json}").into_bytes(),
        ),
        (
            "a doubled BOM",
            format!("\u{feff}\u{feff}{json}").into_bytes(),
        ),
        ("UTF-16LE with its BOM", utf16(true)),
        ("UTF-16BE with its BOM", utf16(false)),
    ];
    for (what, body) in bodies {
        let err = decode(409, &body);
        assert_eq!(
            err.code(),
            Some(&ErrorCode::ConcurrentModification),
            "{what}"
        );
        assert_eq!(err.message(), "concurrent modification", "{what}");
    }
}

#[test]
fn the_code_as_sent_stays_reachable() {
    let err = decode(
        429,
        r#"{"error_code":" APIG.0308 ","error_msg":"The throttling threshold has been reached: policy ip over ratelimit,limit:5,time:1 minute"}"#,
    );
    assert_eq!(err.code(), Some(&ErrorCode::ApigwThrottled));
    assert_eq!(err.code().map(ErrorCode::as_str), Some("APIGW.0308"));
    assert_eq!(err.code_as_sent(), Some("APIG.0308"));
    // The same spelling: the code itself.
    let err = decode(409, r#"{"error_code":"PAP5.0006","error_msg":"m"}"#);
    assert_eq!(err.code_as_sent(), Some("PAP5.0006"));
    assert_eq!(decode(500, "").code_as_sent(), None);
}

#[test]
fn both_request_ids_stay_reachable() {
    let body = r#"{"error_code":"PAP5.0006","error_msg":"m","request_id":"svc-1"}"#;
    let err = ApiError::from_parts(status(409), &request_id_header("gw-2"), body.as_bytes());
    assert_eq!(err.request_id(), Some("svc-1"));
    assert_eq!(err.gateway_request_id(), Some("gw-2"));
    assert_eq!(
        err.to_string(),
        "409 Conflict: PAP5.0006: m (request id svc-1)"
    );
    // One id when they agree, or when only the header has one.
    let err = ApiError::from_parts(status(409), &request_id_header("svc-1"), body.as_bytes());
    assert_eq!(
        (err.request_id(), err.gateway_request_id()),
        (Some("svc-1"), Some("svc-1"))
    );
    let err = ApiError::from_parts(status(502), &request_id_header("gw-3"), b"<html>");
    assert_eq!(
        (err.request_id(), err.gateway_request_id()),
        (Some("gw-3"), Some("gw-3"))
    );
    let err = decode(409, body);
    assert_eq!(
        (err.request_id(), err.gateway_request_id()),
        (Some("svc-1"), None)
    );
}
