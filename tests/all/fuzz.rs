//! Fuzzing on the stable toolchain: a seeded, structure-aware mutator over the
//! committed seed corpus (`tests/data/fuzz/corpus/decode/`, `tests/data/fuzz/corpus/retry_after/`)
//! feeds the decoder ([`ApiError::from_parts`], with arbitrary statuses and
//! `X-Request-Id` bytes) and the `Retry-After` parser, and checks properties
//! that hold for every input: no panic, every field bounded, a `Display` that
//! cannot forge log lines, classification consistent with the built-in rules,
//! the same result for the same input, and (for valid JSON) the same result
//! for the body re-serialised.
//!
//! `cargo test` runs every corpus file and a few thousand mutations. The
//! million-case runs are on demand:
//!
//! ```text
//! FUZZ_CASES=1000000 cargo test --release --test all fuzz:: -- --ignored --nocapture
//! ```
//!
//! `FUZZ_SEED` picks another sequence of cases; a failure prints the input.
//! The same command runs `decode_time_grows_linearly`, which times
//! adversarial shapes at 64 KiB and 1 MiB.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use huaweicloud_errors::{
    ApiError, ErrorCode, MAX_MESSAGE_LEN, default_classification, parse_retry_after,
};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

/// The longest code and request id kept (the decoder's private bound).
const MAX_FIELD_LEN: usize = 128;
/// The most `details` entries kept.
const MAX_DETAILS: usize = 16;
/// The longest input the mutator makes.
const MAX_INPUT: usize = 256 * 1024;

/// The files of one corpus, sorted by name.
fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
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

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An input, printable whatever its bytes.
fn shown(bytes: &[u8]) -> String {
    let text = bytes.escape_ascii().to_string();
    if text.len() > 4_000 {
        format!("{}… ({} bytes)", &text[..4_000], bytes.len())
    } else {
        text
    }
}

// ----- the mutator -----

/// Tokens that steer mutations towards what the decoder and parser look at.
const DICTIONARY: &[&[u8]] = &[
    br#""error_code":"#,
    br#""error_msg":"#,
    br#""errorCode":"#,
    br#""errorMsg":"#,
    br#""code":"#,
    br#""message":"#,
    br#""title":"#,
    br#""request_id":"#,
    br#""requestId":"#,
    br#""encoded_authorization_message":"#,
    br#""details":["#,
    br#""error":{"#,
    br#"{"error_code":"PAP5.0006","error_msg":"concurrent modification"}"#,
    br#"{"code":401,"message":"m","title":"Unauthorized"}"#,
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00",
    b"\\ud83d\\ude00",
    b"\\u001b",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"-",
    b"123456789012345678901234567890",
    b"<html>",
    b"<script>",
    b"</script>",
    b"<style>",
    b"<!--",
    b"-->",
    b"<",
    b">",
    b"&amp;",
    b"&#39;",
    b"&nbsp;",
    b"&",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"\r\n",
    b"\x00",
    b"\x7f",
    b"PAP5.0006",
    b"APIG.0308",
    b"APIGW.0308",
    b"AccessAnalyzer.1001",
    b"%s",
    b"s%",
    b"%d",
    b"access denied: ",
    b"Analyzer with id ",
    b" cannot be found.",
    b"GMT",
    b", ",
    b"Sun",
    b"Nov",
    b"-Nov-",
    b"1994",
    b"9999",
    b"00:00:00",
    b"23:59:60",
    b"18446744073709551615",
    b"18446744073709551616",
    b"  ",
    b"\t",
];

struct Mutator {
    rng: fastrand::Rng,
    corpus: Vec<Vec<u8>>,
}

impl Mutator {
    fn new(seed: u64, corpus: &[(String, Vec<u8>)]) -> Mutator {
        Mutator {
            rng: fastrand::Rng::with_seed(seed),
            corpus: corpus.iter().map(|(_, bytes)| bytes.clone()).collect(),
        }
    }

    fn token(&mut self) -> &'static [u8] {
        DICTIONARY[self.rng.usize(..DICTIONARY.len())]
    }

    fn pick(&mut self) -> Vec<u8> {
        self.corpus[self.rng.usize(..self.corpus.len())].clone()
    }

    /// A position in `input`, ends included.
    fn at(&mut self, input: &[u8]) -> usize {
        self.rng.usize(..=input.len())
    }

    /// A corpus entry with one to five mutations.
    fn next(&mut self) -> Vec<u8> {
        let mut input = self.pick();
        for _ in 0..self.rng.usize(1..=5) {
            self.mutate(&mut input);
        }
        input.truncate(MAX_INPUT);
        input
    }

    fn mutate(&mut self, input: &mut Vec<u8>) {
        let rng = &mut self.rng;
        match rng.u8(0..12) {
            // Overwrite a byte.
            0 if !input.is_empty() => {
                let at = rng.usize(..input.len());
                input[at] = rng.u8(..);
            }
            // Insert random bytes.
            1 => {
                let at = rng.usize(..=input.len());
                let bytes: Vec<u8> = (0..rng.usize(1..16)).map(|_| rng.u8(..)).collect();
                input.splice(at..at, bytes);
            }
            // Delete a range.
            2 if !input.is_empty() => {
                let from = rng.usize(..input.len());
                let to = (from + rng.usize(1..=64)).min(input.len());
                input.drain(from..to);
            }
            // Cut short.
            3 => {
                let at = rng.usize(..=input.len());
                input.truncate(at);
            }
            // Insert a token.
            4 | 5 => {
                let token = self.token();
                let at = self.at(input);
                input.splice(at..at, token.iter().copied());
            }
            // Replace a range with a token.
            6 if !input.is_empty() => {
                let token = self.token();
                let from = self.rng.usize(..input.len());
                let to = (from + self.rng.usize(1..=16)).min(input.len());
                input.splice(from..to, token.iter().copied());
            }
            // Splice: this input's start, another's end.
            7 => {
                let other = self.pick();
                let cut = self.at(input);
                let from = self.at(&other);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            // Repeat a range (deep nesting, long values).
            8 if !input.is_empty() => {
                let from = self.rng.usize(..input.len());
                let to = (from + self.rng.usize(1..=16)).min(input.len());
                let most = if self.rng.bool() { 8 } else { 4_000 };
                let times = self.rng.usize(1..=most);
                let piece = input[from..to].repeat(times);
                input.splice(to..to, piece);
            }
            // Replace the contents of a string literal: long, escaped or empty.
            9 => {
                let quotes: Vec<usize> = input
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'"')
                    .map(|(i, _)| i)
                    .collect();
                if quotes.len() >= 2 {
                    let i = self.rng.usize(..quotes.len() - 1);
                    let (open, close) = (quotes[i] + 1, quotes[i + 1]);
                    let contents: Vec<u8> = match self.rng.u8(0..4) {
                        0 => Vec::new(),
                        1 => "é€x".repeat(self.rng.usize(1..2_000)).into_bytes(),
                        2 => b" \t\r\n".repeat(self.rng.usize(1..4)),
                        _ => self.token().to_vec(),
                    };
                    input.splice(open..close, contents);
                }
            }
            // Wrap in an object or an array.
            10 => {
                let (open, close): (&[u8], &[u8]) = match self.rng.u8(0..3) {
                    0 => (br#"{"error":"#, b"}"),
                    1 => (br#"{"a":"#, b"}"),
                    _ => (b"[", b"]"),
                };
                let most = if self.rng.bool() { 4 } else { 200 };
                let times = self.rng.usize(1..=most);
                let mut wrapped = open.repeat(times);
                wrapped.append(input);
                wrapped.extend(close.repeat(times));
                *input = wrapped;
            }
            // Pad with white space.
            _ => {
                let pad = [b' ', b'\t', b'\r', b'\n'][self.rng.usize(..4)];
                let at = if self.rng.bool() { 0 } else { input.len() };
                input.splice(at..at, std::iter::repeat_n(pad, self.rng.usize(1..4)));
            }
        }
    }

    /// A status: mostly the ones Huawei Cloud sends, sometimes any valid one.
    fn status(&mut self) -> StatusCode {
        const COMMON: [u16; 12] = [400, 401, 403, 404, 405, 409, 413, 429, 500, 502, 503, 504];
        let code = match self.rng.u8(0..10) {
            0..=6 => COMMON[self.rng.usize(..COMMON.len())],
            7 | 8 => self.rng.u16(400..600),
            _ => self.rng.u16(100..1000),
        };
        StatusCode::from_u16(code).unwrap()
    }

    /// Headers with no, one or two `X-Request-Id` values of arbitrary bytes
    /// (as far as a header value can hold them: HTTP parsers reject control
    /// bytes other than tab, and so does `HeaderValue`).
    fn headers(&mut self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for _ in 0..self.rng.usize(0..=2) {
            let mut bytes: Vec<u8> = match self.rng.u8(0..4) {
                0 => b"5c1e2f7a9b3d4c6e8a0b2d4f6a8c0e2b".to_vec(),
                1 => (0..self.rng.usize(0..300))
                    .map(|_| self.rng.u8(..))
                    .collect(),
                2 => {
                    let mut id = vec![b' '; self.rng.usize(0..3)];
                    id.extend(self.token());
                    id.extend(vec![b'\t'; self.rng.usize(0..3)]);
                    id
                }
                _ => (0..self.rng.usize(0..40))
                    .map(|_| self.rng.u8(0x80..=0xff))
                    .collect(),
            };
            bytes.retain(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
            headers.append("x-request-id", HeaderValue::from_bytes(&bytes).unwrap());
        }
        if self.rng.u8(0..4) == 0 {
            headers.insert("retry-after", HeaderValue::from_static("1"));
        }
        headers
    }
}

// ----- properties -----

/// What a run found.
#[derive(Debug, Default)]
struct Findings {
    cases: u64,
    failures: Vec<String>,
    took: Duration,
    slowest: Duration,
    /// The slowest input (for a body: with its status and headers).
    slowest_input: Vec<u8>,
}

impl Findings {
    fn record(&mut self, took: Duration, input: &[u8], result: Result<(), String>) {
        self.cases += 1;
        if took > self.slowest {
            self.slowest = took;
            self.slowest_input = input.to_vec();
        }
        if let Err(failure) = result {
            if self.failures.len() < 10 {
                self.failures.push(failure);
            }
        }
    }

    fn assert_clean(&self, what: &str) {
        assert!(
            self.failures.is_empty(),
            "{what}: {} failing cases of {}, the first:\n{}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n\n")
        );
    }
}

macro_rules! ensure {
    ($cond:expr, $($what:tt)*) => {
        if !$cond {
            return Err(format!($($what)*));
        }
    };
}

fn decode(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<ApiError, String> {
    catch_unwind(AssertUnwindSafe(|| {
        ApiError::from_parts(status, headers, body)
    }))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        format!("panicked: {message}")
    })
}

/// The properties of one decoded error answer.
fn check_decode(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let err = decode(status, headers, body)?;
    ensure!(
        err.status() == status,
        "status {} became {}",
        status,
        err.status()
    );

    // Every field is bounded.
    ensure!(
        err.message().len() <= MAX_MESSAGE_LEN,
        "message of {} bytes",
        err.message().len()
    );
    if let Some(code) = err.code() {
        let wire = code.as_str();
        ensure!(
            !wire.is_empty() && wire.len() <= MAX_FIELD_LEN && wire.trim() == wire,
            "code {wire:?}"
        );
    }
    if let Some(id) = err.request_id() {
        ensure!(
            !id.is_empty() && id.len() <= MAX_FIELD_LEN && id.trim() == id,
            "request id {id:?}"
        );
    }
    ensure!(
        err.details().len() <= MAX_DETAILS,
        "{} details",
        err.details().len()
    );
    for detail in err.details() {
        ensure!(
            detail.message().len() <= MAX_MESSAGE_LEN
                && detail
                    .code()
                    .is_none_or(|c| c.as_str().len() <= MAX_FIELD_LEN),
            "detail {detail:?}"
        );
    }
    if let Some(encoded) = err.encoded_authorization_message() {
        ensure!(
            encoded.len() <= body.len(),
            "encoded message of {} bytes from a {}-byte body",
            encoded.len(),
            body.len()
        );
    }

    // The classification is the built-in rules' for the status and code.
    ensure!(
        err.classification() == default_classification(status, err.code()),
        "classified {:?}",
        err.classification()
    );
    ensure!(
        err.class() == err.reason().class(),
        "class and reason disagree"
    );
    ensure!(
        err.is_retryable() as u8 + err.is_user_fixable() as u8 + err.is_permission() as u8 == 1,
        "not exactly one class"
    );

    // The template's values are pieces of the message.
    for value in err.template_values() {
        ensure!(err.message().contains(value), "template value {value:?}");
    }

    // What is shown cannot forge a log line.
    let display = err.to_string();
    ensure!(
        !display.chars().any(char::is_control),
        "control character in {display:?}"
    );
    ensure!(display.starts_with(status.as_str()), "display {display:?}");
    let debug = format!("{err:?}");
    ensure!(!debug.is_empty(), "empty Debug");
    #[cfg(feature = "serde")]
    {
        let json = serde_json::to_value(&err).map_err(|e| format!("serialise: {e}"))?;
        ensure!(
            json["status"] == status.as_u16(),
            "serialised status {}",
            json["status"]
        );
    }

    // A request id from the header when the body cannot hold one.
    let header = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty());
    let body_may_hold_id = body.windows(7).any(|w| w == b"request") || body.contains(&b'\\');
    if !body_may_hold_id {
        match header {
            Some(id) if id.len() <= MAX_FIELD_LEN => ensure!(
                err.request_id() == Some(id),
                "request id {:?}, header {id:?}",
                err.request_id()
            ),
            Some(_) => ensure!(err.request_id().is_some(), "long header id lost"),
            None => ensure!(err.request_id().is_none(), "request id from nowhere"),
        }
    }

    // The same input decodes the same way.
    let again = decode(status, headers, body)?;
    ensure!(format!("{again:?}") == debug, "not deterministic");

    // Valid JSON decodes the same re-serialised (the fast path for the flat
    // shape agrees with the general one, and formatting does not matter),
    // when the decoder reads the value rather than quoting the raw text.
    let text = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) {
        let structured = match &value {
            serde_json::Value::Object(_) => true,
            serde_json::Value::Array(items) => items.iter().any(serde_json::Value::is_object),
            _ => false,
        };
        if structured {
            let compact = serde_json::to_vec(&value).unwrap();
            let other = decode(status, headers, &compact)?;
            ensure!(
                format!("{other:?}") == debug,
                "re-serialised {} decodes as {other:?}, not {debug}",
                shown(&compact)
            );
        }
    }
    Ok(())
}

/// The properties of one `Retry-After` value, read at `now`.
fn check_retry_after(bytes: &[u8], now: SystemTime) -> Result<(), String> {
    let Ok(value) = HeaderValue::from_bytes(bytes) else {
        // No HTTP parser hands such a value over.
        return Ok(());
    };
    let got = catch_unwind(|| parse_retry_after(&value, now)).map_err(|_| "panicked".to_owned())?;
    let Ok(text) = value.to_str() else {
        ensure!(
            got.is_none(),
            "{got:?} from a value that is not visible ASCII"
        );
        return Ok(());
    };
    let text = text.trim_matches([' ', '\t']);
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text.parse::<u64>().unwrap_or(u64::MAX);
        ensure!(
            got == Some(Duration::from_secs(secs)),
            "{got:?} for delta seconds {text:?}"
        );
        return Ok(());
    }
    match httpdate::parse_http_date(text) {
        Ok(at) => {
            let wanted = at.duration_since(now).unwrap_or(Duration::ZERO);
            ensure!(
                got == Some(wanted),
                "{got:?} for the date {text:?}, {wanted:?} wanted"
            );
        }
        Err(_) => ensure!(got.is_none(), "{got:?} for {text:?}"),
    }
    Ok(())
}

/// Dates written in the three HTTP forms, at a random second within 30
/// years of `now`: each must read back as the time until it (or none).
fn check_generated_date(rng: &mut fastrand::Rng, now: SystemTime) -> Result<(), String> {
    let now_secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let at_secs = now_secs - 30 * 365 * 86_400 + rng.u64(..60 * 365 * 86_400);
    let at = UNIX_EPOCH + Duration::from_secs(at_secs);
    let wanted = Some(at.duration_since(now).unwrap_or(Duration::ZERO));
    let imf = httpdate::fmt_http_date(at); // "Sun, 06 Nov 1994 08:49:37 GMT"
    let [weekday, day, month, year, time, _gmt] = imf
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()[..]
    else {
        return Err(format!("unexpected format {imf}"));
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
    // RFC 850's two-digit years read as 1970 to 2069.
    let year_number: u32 = year.parse().unwrap();
    if (1970..2070).contains(&year_number) {
        forms.push(format!(
            "{long_weekday}, {day}-{month}-{} {time} GMT",
            &year[2..]
        ));
    }
    let day_number: u32 = day.parse().unwrap();
    forms.push(format!("{weekday} {month} {day_number:>2} {time} {year}"));
    for form in forms {
        let padded = format!(
            "{}{form}{}",
            " ".repeat(rng.usize(0..3)),
            "\t".repeat(rng.usize(0..2))
        );
        let got = parse_retry_after(&HeaderValue::from_str(&padded).unwrap(), now);
        ensure!(got == wanted, "{got:?} for {padded:?}, {wanted:?} wanted");
    }
    // And a number of seconds, possibly beyond u64.
    let digits: String = (0..rng.usize(1..=25))
        .map(|_| char::from(b'0' + rng.u8(0..10)))
        .collect();
    let got = parse_retry_after(&HeaderValue::from_str(&digits).unwrap(), now);
    let secs = digits.parse::<u64>().unwrap_or(u64::MAX);
    ensure!(
        got == Some(Duration::from_secs(secs)),
        "{got:?} for {digits}"
    );
    Ok(())
}

// ----- runs -----

/// Every corpus file with a few statuses and headers, then `cases` mutations.
fn fuzz_decode(cases: u64, seed: u64) -> Findings {
    let corpus = corpus("decode");
    let mut mutator = Mutator::new(seed, &corpus);
    let mut findings = Findings::default();
    let start = Instant::now();
    let mut run = |status: StatusCode, headers: &HeaderMap, body: &[u8], name: &str| {
        let t = Instant::now();
        let result = check_decode(status, headers, body).map_err(|failure| {
            format!(
                "{name}: {failure}\n  status {status}, headers {headers:?}\n  body {}",
                shown(body)
            )
        });
        findings.record(t.elapsed(), body, result);
    };
    for (name, body) in &corpus {
        for _ in 0..4 {
            let (status, headers) = (mutator.status(), mutator.headers());
            run(status, &headers, body, name);
        }
    }
    for _ in 0..cases {
        let body = mutator.next();
        let (status, headers) = (mutator.status(), mutator.headers());
        run(status, &headers, &body, "mutation");
    }
    findings.took = start.elapsed();
    findings
}

/// Every corpus file, `cases` mutations, and `cases / 10` generated dates.
fn fuzz_retry_after(cases: u64, seed: u64) -> Findings {
    let corpus = corpus("retry_after");
    let mut mutator = Mutator::new(seed, &corpus);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xda7e);
    let now = SystemTime::now();
    let mut findings = Findings::default();
    let start = Instant::now();
    let inputs = corpus
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.clone()))
        .chain((0..cases).map(|_| ("mutation", mutator.next())));
    for (name, bytes) in inputs {
        let t = Instant::now();
        let result = check_retry_after(&bytes, now)
            .map_err(|failure| format!("{name}: {failure}\n  value {}", shown(&bytes)));
        findings.record(t.elapsed(), &bytes, result);
    }
    for _ in 0..cases / 10 {
        let t = Instant::now();
        let result = check_generated_date(&mut rng, now);
        findings.record(t.elapsed(), b"(generated date)", result);
    }
    findings.took = start.elapsed();
    findings
}

#[test]
fn the_decode_corpus_and_mutations_keep_every_property() {
    let findings = fuzz_decode(env_or("FUZZ_CASES", 2_000), env_or("FUZZ_SEED", 1));
    findings.assert_clean("decode");
    assert!(findings.cases >= 2_000 + 4 * 40);
}

#[test]
fn the_retry_after_corpus_and_mutations_keep_every_property() {
    let findings = fuzz_retry_after(env_or("FUZZ_CASES", 3_000), env_or("FUZZ_SEED", 1));
    findings.assert_clean("retry-after");
    assert!(findings.cases >= 3_000);
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
            .cloned()
    };
    let known = [
        (
            "flat_pap5_0006.json",
            Some(ErrorCode::ConcurrentModification),
        ),
        ("camel_case.json", Some(ErrorCode::ConcurrentModification)),
        ("bom_flat.json", Some(ErrorCode::ConcurrentModification)),
        (
            "truncated_in_message.json",
            Some(ErrorCode::ConcurrentModification),
        ),
        ("apig_old_spelling.json", Some(ErrorCode::ApigwThrottled)),
        (
            "flat_analyzer_busy.json",
            Some(ErrorCode::AnalyzerConcurrentModification),
        ),
        ("keystone_numeric.json", Some(ErrorCode::from_wire("401"))),
        (
            "deep_object_nesting.json",
            Some(ErrorCode::from_wire("DEEP.1")),
        ),
        ("html_502.html", None),
        ("empty.bin", None),
    ];
    for (name, code) in known {
        assert_eq!(code_of(name), code, "{name}");
    }
}

/// Prints a run's figures, with the slowest case timed again (the best of
/// 20 runs), which tells a slow input from a pause of the machine.
fn report(what: &str, findings: &Findings, again: impl Fn(&[u8])) {
    let input = &findings.slowest_input;
    let best = (0..20)
        .map(|_| {
            let t = Instant::now();
            again(input);
            t.elapsed()
        })
        .min()
        .unwrap();
    println!(
        "{what}: {} cases in {:.1?} ({:.0} cases/s); {} failures; slowest case {:.2?} \
         ({} bytes, {best:.2?} when timed again)",
        findings.cases,
        findings.took,
        findings.cases as f64 / findings.took.as_secs_f64(),
        findings.failures.len(),
        findings.slowest,
        input.len(),
    );
}

#[test]
#[ignore = "long: FUZZ_CASES=1000000, with --release"]
fn decode_long() {
    let findings = fuzz_decode(env_or("FUZZ_CASES", 1_000_000), env_or("FUZZ_SEED", 1));
    report("decode", &findings, |body| {
        check_decode(StatusCode::CONFLICT, &HeaderMap::new(), body).ok();
    });
    findings.assert_clean("decode");
}

#[test]
#[ignore = "long: FUZZ_CASES=1000000, with --release"]
fn retry_after_long() {
    let findings = fuzz_retry_after(env_or("FUZZ_CASES", 1_000_000), env_or("FUZZ_SEED", 1));
    report("retry-after", &findings, |value| {
        check_retry_after(value, SystemTime::now()).ok();
    });
    findings.assert_clean("retry-after");
}

/// Adversarial shapes at 64 KiB and at 1 MiB: sixteen times the bytes must
/// cost well under 256 times the time (what quadratic work would cost).
#[test]
#[ignore = "timing: run with --release"]
fn decode_time_grows_linearly() {
    let shapes: [(&str, &[u8]); 14] = [
        ("unclosed tags", b"<a "),
        ("script openers", b"<script>"),
        ("comment openers", b"<!--"),
        ("entities", b"&amp;&"),
        ("quotes", b"\""),
        ("keys without values", br#""error_code" "#),
        ("key value pairs", br#""error_code":"x","#),
        ("unclosed objects", br#"{"a":"#),
        ("error chain", br#"{"error":"#),
        ("arrays", b"["),
        ("escapes", br#""\"\\"#),
        (
            "details",
            br#"{"details":[{"code":"D","message":"m"}],"a":"#,
        ),
        ("numbers", br#""code":1234567890,"#),
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
