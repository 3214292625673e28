//! Properties of the decoder and the `Retry-After` parser over generated inputs, seeded
//! from the committed corpus (`tests/data/fuzz/corpus/`): proptest mutates the corpus
//! files (byte edits, tokens the decoder looks at, cuts, splices, repeats, wrapping) and
//! checks what holds for every input: no panic, every field bounded, a `Display` that
//! cannot forge or hide in a log line, the built-in classification, the same answer
//! twice, the same answer for valid JSON re-serialised, and a body cut short never
//! retryable where the whole body is not.
//!
//! Coverage-guided fuzzing of the same entry points is in `fuzz/` (cargo-fuzz, nightly);
//! its findings join the corpus, so that every `cargo test` runs them.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use huaweicloud_errors::{
    ApiError, ErrorClass, MAX_DETAILS, MAX_FIELD_LEN, MAX_MESSAGE_LEN, default_classification,
    parse_retry_after, status_classification,
};
use proptest::prelude::*;
use proptest::sample::Index;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

/// The files of one corpus (`decode` or `retry_after`), sorted by name, read once.
fn corpus(name: &str) -> &'static [(String, Vec<u8>)] {
    static DECODE: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    static RETRY_AFTER: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    let cell = if name == "decode" {
        &DECODE
    } else {
        &RETRY_AFTER
    };
    cell.get_or_init(|| read_corpus(name))
}

fn read_corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz/corpus")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
}

/// Enough cases to reach every kind of edit, few enough for a 2-core CI.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ----- inputs -----

/// Tokens that steer edits towards what the decoder and the parser look at.
const TOKENS: &[&[u8]] = &[
    br#""error_code":"#,
    br#""error_msg":"#,
    br#""code":"#,
    br#""message":"#,
    br#""request_id":"#,
    br#""encoded_authorization_message":"#,
    br#""details":["#,
    br#""error":{"#,
    br#"{"error_code":"PAP5.0006","error_msg":"concurrent modification"}"#,
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\\",
    b"\\ud800",
    b"\\ud83d\\ude00",
    b"null",
    b"-0",
    b"123456789012345678901234567890",
    b"<script>",
    b"<!--",
    b"&amp;",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xff",
    b"\xe2\x80\x8b",
    b"\r\n",
    b"APIG.0308",
    b"GMT",
    b"Sun, 06 Nov 1994 08:49:37 GMT",
    b"18446744073709551616",
];

/// One edit of an input.
#[derive(Debug, Clone)]
enum Edit {
    Byte(Index, u8),
    Insert(Index, Vec<u8>),
    Token(Index, Index),
    Delete(Index, usize),
    Cut(Index),
    Splice(Index, Index, Index),
    Repeat(Index, usize, usize),
    Wrap(u8, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => (any::<Index>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(at, token)| Edit::Token(at, token)),
        1 => (any::<Index>(), 1..64_usize).prop_map(|(at, len)| Edit::Delete(at, len)),
        2 => any::<Index>().prop_map(Edit::Cut),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(cut, other, from)| Edit::Splice(cut, other, from)),
        1 => (any::<Index>(), 1..16_usize, prop_oneof![1..8_usize, 100..2_000_usize])
            .prop_map(|(at, len, times)| Edit::Repeat(at, len, times)),
        1 => (0..3_u8, prop_oneof![1..4_usize, 100..300_usize])
            .prop_map(|(how, times)| Edit::Wrap(how, times)),
    ]
}

/// Applies `edits` to a corpus file.
fn mutated(corpus: &[(String, Vec<u8>)], pick: Index, edits: &[Edit]) -> Vec<u8> {
    let mut input = pick.get(corpus).1.clone();
    for edit in edits {
        let at = |i: &Index, input: &[u8]| i.index(input.len() + 1);
        match edit {
            Edit::Byte(i, b) if !input.is_empty() => {
                let at = i.index(input.len());
                input[at] = *b;
            }
            Edit::Byte(..) => {}
            Edit::Insert(i, bytes) => {
                let at = at(i, &input);
                input.splice(at..at, bytes.iter().copied());
            }
            Edit::Token(i, token) => {
                let at = at(i, &input);
                input.splice(at..at, token.get(TOKENS).iter().copied());
            }
            Edit::Delete(i, len) => {
                let from = at(i, &input);
                let to = (from + len).min(input.len());
                input.drain(from..to);
            }
            Edit::Cut(i) => input.truncate(at(i, &input)),
            Edit::Splice(cut, other, from) => {
                let other = &other.get(corpus).1;
                input.truncate(at(cut, &input));
                input.extend_from_slice(&other[from.index(other.len() + 1)..]);
            }
            Edit::Repeat(i, len, times) => {
                let from = at(i, &input);
                let to = (from + len).min(input.len());
                let piece = input[from..to].repeat(*times);
                input.splice(to..to, piece);
            }
            Edit::Wrap(how, times) => {
                let (open, close): (&[u8], &[u8]) = match how {
                    0 => (br#"{"error":"#, b"}"),
                    1 => (br#"{"a":"#, b"}"),
                    _ => (b"[", b"]"),
                };
                let mut wrapped = open.repeat(*times);
                wrapped.append(&mut input);
                wrapped.extend(close.repeat(*times));
                input = wrapped;
            }
        }
    }
    input
}

/// Mostly the statuses Huawei Cloud sends, sometimes any error status.
fn any_status() -> impl Strategy<Value = StatusCode> {
    let common = prop::sample::select(vec![
        400_u16, 401, 403, 404, 405, 409, 413, 429, 500, 502, 503, 504,
    ]);
    prop_oneof![3 => common, 1 => 400_u16..600].prop_map(|code| StatusCode::from_u16(code).unwrap())
}

/// No, one or two `X-Request-Id` values: an id, arbitrary valid bytes, a token padded.
fn any_headers() -> impl Strategy<Value = HeaderMap> {
    let value = prop_oneof![
        Just(b"5c1e2f7a9b3d4c6e8a0b2d4f6a8c0e2b".to_vec()),
        prop::collection::vec(
            prop_oneof![Just(b'\t'), 0x20_u8..0x7f, 0x80_u8..=0xff],
            0..300
        ),
        any::<Index>().prop_map(|t| {
            let token = t.get(TOKENS);
            [&b"  "[..], token, b"\t"].concat()
        }),
    ];
    prop::collection::vec(value, 0..=2).prop_map(|values| {
        let mut headers = HeaderMap::new();
        for value in values {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                headers.append("x-request-id", value);
            }
        }
        headers
    })
}

// ----- the decoder's properties -----

/// The properties of one decoded error answer.
fn check_decode(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<(), TestCaseError> {
    let err = ApiError::from_parts(status, headers, body);
    prop_assert_eq!(err.status(), status);

    // Every field is bounded.
    prop_assert!(err.message().len() <= MAX_MESSAGE_LEN);
    for field in [
        err.code().map(|c| c.as_str()),
        err.code_as_sent(),
        err.request_id(),
        err.gateway_request_id(),
    ]
    .into_iter()
    .flatten()
    {
        prop_assert!(
            !field.is_empty() && field.len() <= MAX_FIELD_LEN && field.trim() == field,
            "{:?}",
            field
        );
    }
    prop_assert!(err.details().len() <= MAX_DETAILS);
    for detail in err.details() {
        prop_assert!(detail.message().len() <= MAX_MESSAGE_LEN);
        prop_assert!(
            detail
                .code()
                .is_none_or(|c| c.as_str().len() <= MAX_FIELD_LEN)
        );
    }
    if let Some(encoded) = err.encoded_authorization_message() {
        // UTF-16 bodies grow by half when read as UTF-8.
        prop_assert!(encoded.len() <= 2 * body.len());
    }

    // The classification is the built-in rules' for the status and code.
    prop_assert_eq!(
        err.classification(),
        default_classification(status, err.code())
    );
    prop_assert_eq!(err.class(), err.reason().class());
    for value in err.template_values() {
        prop_assert!(err.message().contains(value));
    }

    // What is shown cannot forge or hide in a log line.
    let shown = err.to_string();
    prop_assert!(shown.starts_with(status.as_str()));
    prop_assert!(
        !shown.chars().any(|c| c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')),
        "{:?}",
        shown
    );
    let debug = format!("{err:?}");
    prop_assert!(!debug.chars().any(char::is_control));

    // The gateway's id is the header's.
    let header = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty());
    match header {
        Some(id) if id.len() <= MAX_FIELD_LEN => {
            prop_assert_eq!(err.gateway_request_id(), Some(id))
        }
        Some(_) => prop_assert!(err.gateway_request_id().is_some()),
        None => prop_assert_eq!(err.gateway_request_id(), None),
    }
    if err.gateway_request_id().is_some() {
        prop_assert!(err.request_id().is_some());
    }

    // The same input decodes the same way.
    let again = ApiError::from_parts(status, headers, body);
    prop_assert_eq!(format!("{again:?}"), debug.clone());

    // Valid JSON decodes the same re-serialised (the fast path agrees with the walk, and
    // formatting does not matter) when the decoder reads the value rather than its text.
    let text = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) {
        let keys_once = !has_duplicate_keys(text);
        let read_as_value = match &value {
            serde_json::Value::Object(_) => true,
            serde_json::Value::Array(items) => items.iter().any(serde_json::Value::is_object),
            _ => false,
        };
        // A message that is the body's own text (whole or cut) changes with its formatting,
        // and an integer beyond 64 bits comes back from serde_json as a float (which is no
        // code): neither says anything about the decoder.
        let whole = String::from_utf8_lossy(text);
        let message = err.message();
        let message_is_text = whole
            .trim()
            .starts_with(message.strip_suffix("…[truncated]").unwrap_or(message));
        if read_as_value && keys_once && !message_is_text && numbers_survive(&value) {
            let compact = serde_json::to_vec(&value).unwrap();
            let other = ApiError::from_parts(status, headers, &compact);
            prop_assert_eq!(format!("{other:?}"), debug);
        }
    }
    Ok(())
}

/// Whether every number of `value` is written back as it was read: serde_json reads an
/// integer beyond 64 bits as a float, whose digits differ.
fn numbers_survive(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.fract() != 0.0 || f.abs() < 9.0e15)
        }
        serde_json::Value::Array(items) => items.iter().all(numbers_survive),
        serde_json::Value::Object(map) => map.values().all(numbers_survive),
        _ => true,
    }
}

/// Whether a JSON text may send a key twice (serde_json keeps the last, the decoder the
/// first), judged by the tree: some object has fewer keys than members.
fn has_duplicate_keys(text: &[u8]) -> bool {
    let value: serde_json::Value = match serde_json::from_slice(text) {
        Ok(value) => value,
        Err(_) => return false,
    };
    fn keys(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Object(map) => map.len() + map.values().map(keys).sum::<usize>(),
            serde_json::Value::Array(items) => items.iter().map(keys).sum(),
            _ => 0,
        }
    }
    let colons_outside_strings = {
        let (mut n, mut in_string, mut escaped) = (0, false, false);
        for &b in text {
            match (in_string, escaped, b) {
                (true, true, _) => escaped = false,
                (true, false, b'\\') => escaped = true,
                (true, false, b'"') => in_string = false,
                (false, _, b'"') => in_string = true,
                (false, _, b':') => n += 1,
                _ => {}
            }
        }
        n
    };
    colons_outside_strings != keys(&value)
}

proptest! {
    #![proptest_config(config(400))]

    /// Every corpus file, edited, under any status and `X-Request-Id`.
    #[test]
    fn the_decoder_keeps_every_property(
        pick in any::<Index>(),
        edits in prop::collection::vec(edit(), 0..5),
        status in any_status(),
        headers in any_headers(),
    ) {
        let body = mutated(corpus("decode"), pick, &edits);
        check_decode(status, &headers, &body)?;
    }

    /// Arbitrary bytes.
    #[test]
    fn arbitrary_bytes_keep_every_property(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        status in any_status(),
        headers in any_headers(),
    ) {
        check_decode(status, &headers, &body)?;
    }
}

// ----- a body cut short -----

/// Error bodies whose codes sit at different levels: the answer of the whole body is the
/// top level's, and a cut may leave only a nested one.
fn layered_body() -> impl Strategy<Value = String> {
    let code = prop::sample::select(vec![
        "PAP5.0006",
        "PAP5.0025",
        "PAP5.0010",
        "APIGW.0308",
        "APIG.0308",
        "AccessAnalyzer.1005",
        "PAP5.0001",
        "STS5.1001",
        "ECS.0001",
    ]);
    let level = (
        code.clone(),
        0..4_u8,
        prop::sample::select(vec!["error_code", "errorCode", "code"]),
    );
    (
        prop::collection::vec(level, 1..4),
        prop::sample::select(vec!["error", "conflicting_request", "cause", "details"]),
        any::<bool>(),
    )
        .prop_map(|(levels, nest_key, top_last)| {
            // The innermost level first, each wrapped by the next.
            let mut body = String::new();
            for (depth, (code, shape, key)) in levels.iter().enumerate() {
                let fields = match shape {
                    0 => format!(r#""{key}":"{code}","error_msg":"level {depth}""#),
                    1 => format!(
                        r#""{key}":"{code}","message":"level {depth}","request_id":"r{depth}""#
                    ),
                    2 => format!(r#""error_msg":"level {depth}","{key}":"{code}""#),
                    _ => format!(r#""{key}":"{code}""#),
                };
                body = match (body.is_empty(), top_last, nest_key) {
                    (true, _, _) => format!("{{{fields}}}"),
                    (false, _, "details") => format!(r#"{{"details":[{body}],{fields}}}"#),
                    (false, true, _) => format!(r#"{{"{nest_key}":{body},{fields}}}"#),
                    (false, false, _) => format!(r#"{{{fields},"{nest_key}":{body}}}"#),
                };
            }
            body
        })
}

/// Whole bodies to cut: the layered ones and the corpus files.
fn whole_body() -> impl Strategy<Value = Vec<u8>> {
    // Cutting at every offset costs the square of the length: the short files only.
    let files: Vec<Vec<u8>> = corpus("decode")
        .iter()
        .filter(|(_, body)| body.len() <= 512)
        .map(|(_, body)| body.clone())
        .collect();
    prop_oneof![
        3 => layered_body().prop_map(String::into_bytes),
        1 => prop::sample::select(files),
    ]
}

proptest! {
    #![proptest_config(config(100))]

    /// Cut at every byte offset, a body is never retryable when the whole body is not,
    /// unless its status alone is: a POST is never sent again because a body was cut.
    #[test]
    fn a_cut_body_is_never_retryable_when_the_whole_is_not(
        body in whole_body(),
        status in prop::sample::select(vec![400_u16, 403, 404, 409, 429, 500, 503]),
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        let headers = HeaderMap::new();
        let whole = ApiError::from_parts(status, &headers, &body);
        let status_alone = status_classification(status).class() == ErrorClass::Retryable;
        for cut in 0..body.len() {
            let part = ApiError::from_parts(status, &headers, &body[..cut]);
            prop_assert!(
                !part.is_retryable() || whole.is_retryable() || status_alone,
                "cut at {} of {:?}: {:?}, whole {:?}",
                cut,
                String::from_utf8_lossy(&body),
                part,
                whole
            );
        }
    }
}

// ----- Retry-After -----

/// The properties of one `Retry-After` value, read at `now`.
fn check_retry_after(bytes: &[u8], now: SystemTime) -> Result<(), TestCaseError> {
    let Ok(value) = HeaderValue::from_bytes(bytes) else {
        // No HTTP parser hands such a value over.
        return Ok(());
    };
    let got = parse_retry_after(&value, now);
    let Ok(text) = value.to_str() else {
        prop_assert_eq!(got, None);
        return Ok(());
    };
    let text = text.trim_matches([' ', '\t']);
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text.parse::<u64>().unwrap_or(u64::MAX);
        prop_assert_eq!(got, Some(Duration::from_secs(secs)));
        return Ok(());
    }
    let wanted = httpdate::parse_http_date(text)
        .ok()
        .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO));
    prop_assert_eq!(got, wanted, "{:?}", text);
    Ok(())
}

/// The three HTTP date forms of `at` (RFC 850 only for 1970 to 2069, which its two-digit
/// year reads back as).
fn date_forms(at: SystemTime) -> Vec<String> {
    let imf = httpdate::fmt_http_date(at); // "Sun, 06 Nov 1994 08:49:37 GMT"
    let parts: Vec<&str> = imf.split([',', ' ']).filter(|s| !s.is_empty()).collect();
    let [weekday, day, month, year, time, _gmt] = parts[..] else {
        panic!("unexpected format {imf}");
    };
    let long_weekday = match weekday {
        "Mon" => "Monday",
        "Tue" => "Tuesday",
        "Wed" => "Wednesday",
        "Thu" => "Thursday",
        "Fri" => "Friday",
        "Sat" => "Saturday",
        _ => "Sunday",
    };
    let mut forms = vec![imf.clone()];
    if (1970..2070).contains(&year.parse::<u32>().unwrap()) {
        forms.push(format!(
            "{long_weekday}, {day}-{month}-{} {time} GMT",
            &year[2..]
        ));
    }
    let day: u32 = day.parse().unwrap();
    forms.push(format!("{weekday} {month} {day:>2} {time} {year}"));
    forms
}

proptest! {
    #![proptest_config(config(400))]

    /// Every corpus file, edited.
    #[test]
    fn retry_after_keeps_every_property(
        pick in any::<Index>(),
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        let value = mutated(corpus("retry_after"), pick, &edits);
        check_retry_after(&value, SystemTime::now())?;
    }

    /// A date within 30 years either side of now, in each form, padded, reads back as the
    /// time until it; and any number of seconds, even beyond u64, as that many (saturating).
    #[test]
    fn retry_after_reads_every_date_form_and_any_number(
        offset in 0..60 * 365 * 86_400_u64,
        pad in (0..3_usize, 0..2_usize),
        digits in "[0-9]{1,25}",
    ) {
        let now = SystemTime::now();
        let now_secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let at = UNIX_EPOCH + Duration::from_secs(now_secs - 30 * 365 * 86_400 + offset);
        let wanted = Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        for form in date_forms(at) {
            let padded = format!("{}{form}{}", " ".repeat(pad.0), "\t".repeat(pad.1));
            let got = parse_retry_after(&HeaderValue::from_str(&padded).unwrap(), now);
            prop_assert_eq!(got, wanted, "{:?}", padded);
        }
        let got = parse_retry_after(&HeaderValue::from_str(&digits).unwrap(), now);
        let secs = digits.parse::<u64>().unwrap_or(u64::MAX);
        prop_assert_eq!(got, Some(Duration::from_secs(secs)));
    }
}

// ----- the corpus itself -----

/// Every corpus file keeps every property, under a few statuses.
#[test]
fn every_corpus_file_keeps_every_property() {
    for (name, body) in corpus("decode") {
        for status in [400, 409, 429, 502] {
            let status = StatusCode::from_u16(status).unwrap();
            if let Err(failure) = check_decode(status, &HeaderMap::new(), body) {
                panic!("{name} at {status}: {failure}");
            }
        }
    }
    for (name, value) in corpus("retry_after") {
        if let Err(failure) = check_retry_after(value, SystemTime::now()) {
            panic!("{name}: {failure}");
        }
    }
}

/// The corpus holds what its file names say: it keeps real bodies real.
#[test]
fn the_corpus_decodes_as_named() {
    let corpus = corpus("decode");
    let code_of = |name: &str| {
        let (_, body) = corpus
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no corpus file {name}"));
        ApiError::from_parts(StatusCode::CONFLICT, &HeaderMap::new(), body)
            .code()
            .map(|code| code.as_str().to_owned())
    };
    let known = [
        ("flat_pap5_0006.json", Some("PAP5.0006")),
        ("camel_case.json", Some("PAP5.0006")),
        ("bom_flat.json", Some("PAP5.0006")),
        ("truncated_in_message.json", Some("PAP5.0006")),
        ("apig_old_spelling.json", Some("APIGW.0308")),
        ("flat_analyzer_busy.json", Some("AccessAnalyzer.1005")),
        ("keystone_numeric.json", Some("401")),
        ("deep_object_nesting.json", Some("DEEP.1")),
        (
            "integer_beyond_u64_code.json",
            Some("123456789012345678901234"),
        ),
        ("html_502.html", None),
        ("empty.bin", None),
    ];
    for (name, code) in known {
        assert_eq!(code_of(name).as_deref(), code, "{name}");
    }
}

/// Adversarial shapes at 64 KiB and at 1 MiB: sixteen times the bytes must cost well under
/// 256 times the time (what quadratic work would cost). A timing, so not in `cargo test`:
///
/// ```text
/// cargo test --release --test all decode_time_grows_linearly -- --ignored --nocapture
/// ```
#[test]
#[ignore = "timing: run with --release"]
fn decode_time_grows_linearly() {
    let shapes: [(&str, &[u8]); 15] = [
        ("unclosed tags", b"<a "),
        ("script openers", b"<script>"),
        ("comment openers", b"<!--"),
        ("entities", b"&amp;&"),
        ("quotes", b"\""),
        ("keys without values", br#"{"error_code" "#),
        ("key value pairs", br#"{"error_code":"x","#),
        ("unclosed objects", br#"{"a":"#),
        ("closed objects", br#"{"a":{"b":1},"c":"#),
        ("error chain", br#"{"error":"#),
        ("arrays", b"["),
        ("escapes", br#"["\"\\\ud800","#),
        (
            "details",
            br#"{"details":[{"code":"D","message":"m"}],"a":"#,
        ),
        ("numbers", br#"{"code":1234567890,"a":"#),
        ("invalid utf-8", b"\xff\xfe<"),
    ];
    let time = |body: &[u8]| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let err = ApiError::from_parts(StatusCode::BAD_GATEWAY, &HeaderMap::new(), body);
                std::hint::black_box(err);
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    for (name, unit) in shapes {
        let body = |len: usize| unit.repeat(len / unit.len());
        let small = time(&body(64 * 1024));
        let large = time(&body(1024 * 1024));
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
        println!("{name}: 64 KiB {small:.2?}, 1 MiB {large:.2?} (x{ratio:.1})");
        assert!(ratio < 64.0, "{name}: x{ratio:.1} for 16 times the bytes");
    }
}
