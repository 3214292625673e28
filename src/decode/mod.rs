//! The body decoder: turns a Huawei Cloud error response body into its code, message,
//! request ids and details.
//!
//! One stage a file:
//!
//! | stage | file | what it does |
//! | --- | --- | --- |
//! | entry | `mod.rs` | drops white space and byte order marks, reads UTF-16, picks a stage |
//! | field rules | [`fields`] | which keys hold the code, the message, the request id; how a value is kept |
//! | fast path | [`flat`] | an object of scalars (the common flat shape), read by the JSON reader's lexer without a tree |
//! | JSON reader | [`json`] | any other JSON, whole or cut short, read without recursion into a flat tree |
//! | walk | [`walk`] | the field rules applied to the tree's objects, breadth-first |
//! | text | [`text`] | HTML pages, plain text, JSON strings and numbers |
//!
//! # The rules
//!
//! The code is the first one found breadth-first: the top level, then its `error` object,
//! then its other objects in the order sent, then their children, at any depth. At one
//! level, `error_code` beats `errorCode`, which beats `code`; a key sent twice counts the
//! first time. The message is the coded level's (`error_msg`, `errorMsg`, `message`,
//! `title`), else the first message found at any level, else the body's own text
//! (trimmed and bounded). The request id is the first `request_id` (or `requestId`)
//! found, else the `X-Request-Id` header; the header is kept on its own too (see
//! [`GatewayId`]). `encoded_authorization_message` and `details` are read at any level.
//!
//! # A body cut short
//!
//! JSON that breaks off (cut by the body limit or the network, or malformed part way) is
//! read up to the break with the same rules, so what a whole body would answer from its
//! top level a cut one answers the same way. Where the cut leaves it open whether a code
//! of higher precedence would have followed (the code came from below the top level, or
//! from `code` or `errorCode` while the top level is still open), the code is marked
//! [`Decoded::code_tentative`]: [`ApiError`](crate::ApiError) then drops it if it would
//! make the error retryable and classifies by the status alone. A cut body is weaker
//! evidence, and of the two possible answers this is the one that does not retry a write:
//! `{"conflicting_request":{"error_code":"PAP5.0006"},"error_code":"PAP5.0025"` cut before
//! its last code is not taken for a concurrent modification.
//!
//! # Where this differs from the official Python SDK
//!
//! Compared with huaweicloudsdkcore 3.1.219 (what most users would otherwise use):
//!
//! | | Python SDK | this crate | why |
//! | --- | --- | --- | --- |
//! | keys | `error_code` and `error_msg` (or `errorCode`/`errorMsg`, or `code`/`message`) together at one level | a code alone is enough; its message may come from another level, `title` too | Keystone-style bodies have `code` and `title`; a code without a message still classifies |
//! | order | depth-first, the last match wins | breadth-first, the first match wins, a key sent twice counts once (the first time) | the top level is the service's own answer, a nested object may quote another error; a cut body cannot change a first match |
//! | depth | recursion without limit | any depth, no recursion, linear time | a deep body cannot exhaust the stack or the CPU |
//! | request id | the `X-Request-Id` header only | the body's `request_id` first, the header kept as well | when they differ both are real (the service's and the gateway's) |
//! | `details`, arrays | not read | `details` at any level, a top-level array's first object | services that integrate IAM v5 send `details` |
//! | no code | the HTTP status becomes the code | no code; the classification falls back on the status | a status is not a code: `status()` has it |
//! | cut JSON | the raw text | read up to the cut, by the same rules | the code usually comes before the cut |
//! | not JSON | the raw text | HTML reduced to its text; other text as sent | a 502 page reads as "502 Bad Gateway" |
//!
//! Both keep the body's text as the message when no message key is found, decode invalid
//! UTF-8 and lone surrogate escapes lossily (U+FFFD), and keep integer codes exactly.
//!
//! Every string kept is bounded, nothing recurses, and time and allocation stay within
//! `O(body.len())`.

use std::borrow::Cow;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

mod fields;
mod flat;
mod json;
mod text;
mod walk;

#[cfg(test)]
mod tests;

/// What the cargo-fuzz targets check inside the decoder; built only with `--cfg fuzzing`,
/// which cargo-fuzz sets.
#[cfg(fuzzing)]
pub mod fuzzing {
    use reqwest::header::HeaderMap;

    /// Panics when the fast path takes `body` and answers otherwise than the walk would.
    pub fn check_fast_path(headers: &HeaderMap, body: &[u8]) {
        let trimmed = super::trim_start(body);
        if let Some(fast) = super::flat::decode(headers, trimmed, str::to_owned) {
            let walk = super::decode_by_walk(headers, body);
            assert_eq!(fast, walk, "the fast path and the walk differ");
        }
    }
}

/// A body decoded by the walk alone, without the fast path: the answer the fast path must
/// give for every body it takes.
#[cfg(any(test, fuzzing))]
fn decode_by_walk(headers: &HeaderMap, body: &[u8]) -> Decoded {
    let body = trim_start(body);
    walk::decode(headers, &json::read(body), body, str::to_owned)
}

/// Longest `message` kept, in bytes; longer ones are cut at a char boundary and end with TRUNCATION_MARKER.
pub(crate) const MAX_MESSAGE_LEN: usize = 1024;
/// Longest code / request id kept (bytes); longer values are cut the same way.
pub(crate) const MAX_FIELD_LEN: usize = 128;
/// At most this many `details` entries are kept.
pub(crate) const MAX_DETAILS: usize = 16;
/// Ends every value that [`bounded`] had to cut.
pub(crate) const TRUNCATION_MARKER: &str = "…[truncated]";
/// The response header that carries the gateway's request id.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] parsed once: looking a header up by a `&str` parses the name first.
static REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
/// A UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The byte order marks of UTF-16, little- and big-endian.
const UTF16_LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16_BE_BOM: &[u8] = b"\xFE\xFF";

/// What [`decode_as`] found in an error response; `C` is what each wire code became.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Decoded<C = String> {
    /// Wire code as found, trimmed; an integer code in decimal, its digits as sent (`"401"`).
    pub(crate) code: Option<C>,
    /// The body broke off where a code of higher precedence than [`code`](Self::code)
    /// could still have followed (see the module docs).
    pub(crate) code_tentative: bool,
    /// The coded level's message, else the first message found, else the body's text (bounded).
    pub(crate) message: String,
    /// The body's `request_id`, else the `X-Request-Id` response header.
    pub(crate) request_id: Option<String>,
    /// The `X-Request-Id` response header, relative to [`request_id`](Self::request_id).
    pub(crate) gateway_request_id: GatewayId,
    /// Not cut to [`MAX_MESSAGE_LEN`] (it must stay decodable), only bounded by the body itself.
    pub(crate) encoded_authorization_message: Option<String>,
    /// Entries of the first `details` array found, at most [`MAX_DETAILS`].
    pub(crate) details: Vec<Detail<C>>,
}

/// The gateway's request id (the `X-Request-Id` header), kept without a second copy when
/// it is the request id already.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum GatewayId {
    /// No usable `X-Request-Id` header (absent, blank, or not visible ASCII).
    #[default]
    Absent,
    /// The header is [`Decoded::request_id`]: the body had none, or the same.
    SameAsRequestId,
    /// The header differs from the body's `request_id` (trimmed, bounded).
    Other(String),
}

impl GatewayId {
    /// The gateway's id, given the request id it is relative to.
    pub(crate) fn get<'a>(&'a self, request_id: Option<&'a str>) -> Option<&'a str> {
        match self {
            GatewayId::Absent => None,
            GatewayId::SameAsRequestId => request_id,
            GatewayId::Other(id) => Some(id),
        }
    }
}

/// One entry of a `details` array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Detail<C = String> {
    /// The entry's code, trimmed and bounded like [`Decoded::code`].
    pub(crate) code: Option<C>,
    /// The entry's message, bounded like [`Decoded::message`]; `""` when it has none.
    pub(crate) message: String,
}

/// Decodes an error response body; `headers` supply the request id when the body has none.
/// Each wire code found is handed to `code_of`, borrowed from the body where it can be, so
/// that a caller that looks the code up need not own it first.
///
/// Never panics, never recurses, time and allocation bounded by O(body.len()).
pub(crate) fn decode_as<C>(
    headers: &HeaderMap,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Decoded<C> {
    if let Some(text) = utf16_to_utf8(body) {
        return decode_utf8(headers, &text, &code_of);
    }
    decode_utf8(headers, body, &code_of)
}

/// [`decode_as`] keeping the codes as strings.
#[cfg(test)]
pub(crate) fn decode(headers: &HeaderMap, body: &[u8]) -> Decoded {
    decode_as(headers, body, str::to_owned)
}

/// Decodes a body that is not UTF-16, by the stage its first byte calls for.
fn decode_utf8<C>(headers: &HeaderMap, body: &[u8], code_of: &impl Fn(&str) -> C) -> Decoded<C> {
    let body = trim_start(body);
    match body.first() {
        Some(b'{') => match flat::decode(headers, body, code_of) {
            Some(decoded) => decoded,
            None => walk::decode(headers, &json::read(body), body, code_of),
        },
        Some(b'[') => walk::decode(headers, &json::read(body), body, code_of),
        _ => text::decode(headers, body),
    }
}

/// `body` without the white space and UTF-8 byte order marks before it (a proxy may add
/// either, or both, or a second mark).
fn trim_start(mut body: &[u8]) -> &[u8] {
    loop {
        body = body.trim_ascii_start();
        match body.strip_prefix(BOM) {
            Some(rest) => body = rest,
            None => return body,
        }
    }
}

/// A body that starts with a UTF-16 byte order mark, as UTF-8 (invalid units and an odd
/// last byte become U+FFFD).
fn utf16_to_utf8(body: &[u8]) -> Option<Vec<u8>> {
    let (units, little): (&[u8], bool) = if let Some(rest) = body.strip_prefix(UTF16_LE_BOM) {
        (rest, true)
    } else {
        (body.strip_prefix(UTF16_BE_BOM)?, false)
    };
    let pairs = units.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    let mut text: String = char::decode_utf16(pairs)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    if units.len() % 2 == 1 {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    Some(text.into_bytes())
}

impl<C> Decoded<C> {
    /// A body without a code: only a message, and the request id from the headers.
    fn message_only(message: String, headers: &HeaderMap) -> Self {
        let (request_id, gateway_request_id) = request_ids(None, headers);
        Decoded {
            code: None,
            code_tentative: false,
            message,
            request_id,
            gateway_request_id,
            encoded_authorization_message: None,
            details: Vec::new(),
        }
    }
}

/// Cuts `s` to at most `max` bytes (marker included) at a char boundary, appending TRUNCATION_MARKER when cut.
///
/// When `max` is too small to hold the marker, `s` is cut to `max` bytes without one.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let (keep, marker) = match max.checked_sub(TRUNCATION_MARKER.len()) {
        Some(keep) => (keep, TRUNCATION_MARKER),
        None => (max, ""),
    };
    let mut cut = keep;
    while !s.is_char_boundary(cut) {
        cut -= 1; // index 0 is always a boundary
    }
    let mut out = String::with_capacity(cut + marker.len());
    out.push_str(s.get(..cut).unwrap_or_default());
    out.push_str(marker);
    out
}

/// `s.trim()`, without decoding a char when `s` starts and ends with visible ASCII, as
/// nearly every code and id does.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// `s` bounded to [`MAX_FIELD_LEN`], borrowed when it fits.
fn bounded_field(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_FIELD_LEN {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(bounded(s, MAX_FIELD_LEN))
    }
}

/// The message found, else the body's own text; bounded.
fn message_or_text(message: Option<&str>, body: &[u8]) -> String {
    match message {
        Some(message) => bounded(message, MAX_MESSAGE_LEN),
        None => text::raw_excerpt(body),
    }
}

/// The first `X-Request-Id` header. A map of a few entries (the middleware passes one
/// holding only this header) is searched in order, cheaper than hashing the name.
fn request_id_header(headers: &HeaderMap) -> Option<&HeaderValue> {
    if headers.keys_len() <= 4 {
        headers
            .iter()
            .find_map(|(name, value)| (*name == REQUEST_ID).then_some(value))
    } else {
        headers.get(&REQUEST_ID)
    }
}

/// What [`HeaderValue::to_str`] accepts (visible ASCII and tabs), tested without a branch
/// a byte.
fn is_visible_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| {
        ok & ((b' '..=b'~').contains(&b) | (b == b'\t'))
    })
}

/// The request id (the body's, else a visible-ASCII `X-Request-Id` header) and the
/// gateway's (the header), trimmed and bounded.
#[inline]
fn request_ids(from_body: Option<&str>, headers: &HeaderMap) -> (Option<String>, GatewayId) {
    let header = request_id_header(headers);
    // The usual case, the same id in the body and the header: compared as bytes, and the
    // header checked without a branch a byte, rather than read as a string first (for
    // visible ASCII, `trim_ascii` trims what `str::trim` would).
    if let (Some(body), Some(header)) = (from_body, header) {
        let raw = header.as_bytes();
        if raw.trim_ascii() == body.as_bytes() && is_visible_ascii(raw) {
            return (
                Some(bounded(body, MAX_FIELD_LEN)),
                GatewayId::SameAsRequestId,
            );
        }
    }
    let header = header
        .and_then(|value| value.to_str().ok())
        .map(trim)
        .filter(|id| !id.is_empty());
    match (from_body, header) {
        (Some(body), Some(header)) if body != header => (
            Some(bounded(body, MAX_FIELD_LEN)),
            GatewayId::Other(bounded(header, MAX_FIELD_LEN)),
        ),
        (Some(id), Some(_)) | (None, Some(id)) => {
            (Some(bounded(id, MAX_FIELD_LEN)), GatewayId::SameAsRequestId)
        }
        (Some(body), None) => (Some(bounded(body, MAX_FIELD_LEN)), GatewayId::Absent),
        (None, None) => (None, GatewayId::Absent),
    }
}
