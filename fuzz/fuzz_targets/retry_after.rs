//! `parse_retry_after` on any header value: no panic; a value of digits is that many
//! seconds (saturating); an HTTP date is the time until it; anything else is no hint.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use huaweicloud_errors::parse_retry_after;
use libfuzzer_sys::fuzz_target;
use reqwest::header::HeaderValue;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    // A fixed "now" (2026-11-29 10:00:00 UTC), so that a finding replays.
    let now = UNIX_EPOCH + Duration::from_secs(1_795_946_400);
    let got = parse_retry_after(&value, now);
    let Ok(text) = value.to_str() else {
        assert_eq!(got, None, "a hint from a value that is not visible ASCII");
        return;
    };
    let text = text.trim_matches([' ', '\t']);
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text.parse::<u64>().unwrap_or(u64::MAX);
        assert_eq!(got, Some(Duration::from_secs(secs)), "{text:?}");
    } else {
        // An HTTP date (any of its three forms) is the time until it; anything else, none.
        let wanted = httpdate::parse_http_date(text)
            .ok()
            .map(|at: SystemTime| at.duration_since(now).unwrap_or(Duration::ZERO));
        assert_eq!(got, wanted, "{text:?}");
    }
});
