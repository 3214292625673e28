//! `ApiError::from_parts` on any body (the input), under a few statuses, with and without
//! an `X-Request-Id` header: no panic, every field bounded, a `Display` that cannot forge
//! or hide in a log line, the built-in classification, the same answer twice, and a body
//! cut short never retryable when the whole body is not (unless its status alone is);
//! and, inside the decoder, the fast path answering every body it takes as the walk does.
//!
//! The input is the body alone, so that the seed corpus is `tests/data/fuzz/corpus/decode/`
//! as it is.

#![no_main]

use huaweicloud_errors::{
    ApiError, ErrorClass, MAX_DETAILS, MAX_FIELD_LEN, MAX_MESSAGE_LEN, default_classification,
    status_classification,
};
use libfuzzer_sys::fuzz_target;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

/// Bodies up to this long are also cut at every offset.
const CUT_EVERY_OFFSET: usize = 512;

fuzz_target!(|body: &[u8]| {
    let mut with_id = HeaderMap::new();
    with_id.insert("x-request-id", HeaderValue::from_static("gw-5c1e"));
    let statuses = [
        StatusCode::CONFLICT,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::BAD_GATEWAY,
    ];
    for (status, headers) in statuses
        .into_iter()
        .zip([HeaderMap::new(), with_id.clone(), with_id])
    {
        huaweicloud_errors::fuzzing::check_fast_path(&headers, body);
        let err = ApiError::from_parts(status, &headers, body);
        check(&err, status);
        let again = ApiError::from_parts(status, &headers, body);
        assert_eq!(
            format!("{err:?}"),
            format!("{again:?}"),
            "not deterministic"
        );
        if headers.is_empty() {
            assert_eq!(err.gateway_request_id(), None);
        } else {
            assert_eq!(err.gateway_request_id(), Some("gw-5c1e"));
        }

        if body.len() <= CUT_EVERY_OFFSET && status == StatusCode::CONFLICT {
            let status_retries = status_classification(status).class() == ErrorClass::Retryable;
            for cut in 0..body.len() {
                huaweicloud_errors::fuzzing::check_fast_path(&headers, &body[..cut]);
                let part = ApiError::from_parts(status, &headers, &body[..cut]);
                check(&part, status);
                assert!(
                    !part.is_retryable() || err.is_retryable() || status_retries,
                    "cut at {cut}: {part:?}, whole: {err:?}"
                );
            }
        }
    }
});

fn check(err: &ApiError, status: StatusCode) {
    assert_eq!(err.status(), status);
    assert!(err.message().len() <= MAX_MESSAGE_LEN);
    for field in [
        err.code_as_sent(),
        err.request_id(),
        err.gateway_request_id(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            !field.is_empty() && field.len() <= MAX_FIELD_LEN,
            "{field:?}"
        );
    }
    if let Some(code) = err.code() {
        assert!(code.as_str().len() <= MAX_FIELD_LEN);
    }
    assert!(err.details().len() <= MAX_DETAILS);
    for detail in err.details() {
        assert!(detail.message().len() <= MAX_MESSAGE_LEN);
    }
    assert_eq!(
        err.classification(),
        default_classification(status, err.code())
    );
    let shown = err.to_string();
    assert!(
        !shown.chars().any(|c| c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')),
        "{shown:?}"
    );
}
