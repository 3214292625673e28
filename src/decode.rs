//! The body decoder: turns a Huawei Cloud error response body into its code, message, request id and details.
//!
//! JSON objects are read the way the official SDKs read them (`error_code`/`error_msg`, then
//! `code`/`message`, then nested objects, breadth-first and depth-limited). Anything else
//! (truncated JSON, HTML pages, plain text, bytes that are not UTF-8) becomes a bounded,
//! readable message. Every string kept is bounded, nothing recurses without a limit, and
//! allocation stays within `O(body.len())`.

use std::borrow::Cow;
use std::collections::VecDeque;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// Longest `message` kept, in bytes; longer ones are cut at a char boundary and end with TRUNCATION_MARKER.
pub(crate) const MAX_MESSAGE_LEN: usize = 1024;
/// Longest code / request id kept (bytes); longer values are cut the same way.
pub(crate) const MAX_FIELD_LEN: usize = 128;
/// At most this many `details` entries are kept.
pub(crate) const MAX_DETAILS: usize = 16;
/// Ends every value that [`bounded`] had to cut.
pub(crate) const TRUNCATION_MARKER: &str = "…[truncated]";

/// Object levels searched, the top level included.
const MAX_DEPTH: usize = 8;
/// The response header that carries the request id.
const REQUEST_ID_HEADER: &str = "x-request-id";
/// A UTF-8 byte order mark, dropped before anything else.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Keys holding the code, in the order they are tried (the official SDKs' order).
const WIRE_CODE_KEYS: [&str; 2] = ["error_code", "errorCode"];
/// Keys holding the message when the code came from [`WIRE_CODE_KEYS`] or no code was found.
const WIRE_MESSAGE_KEYS: [&str; 4] = ["error_msg", "errorMsg", "message", "title"];
/// The code key tried when a level has none of [`WIRE_CODE_KEYS`].
const PLAIN_CODE_KEY: &str = "code";
/// Keys holding the message when the code came from [`PLAIN_CODE_KEY`].
const PLAIN_MESSAGE_KEYS: [&str; 4] = ["message", "title", "error_msg", "errorMsg"];
/// Keys holding the request id.
const REQUEST_ID_KEYS: [&str; 2] = ["request_id", "requestId"];
/// The key holding the encoded authorization message.
const ENCODED_KEY: &str = "encoded_authorization_message";
/// The nested object searched before any other.
const ERROR_KEY: &str = "error";
/// The key holding an array of [`Detail`]s.
const DETAILS_KEY: &str = "details";

/// What [`decode_as`] found in an error response; `C` is what each wire code became.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Decoded<C = String> {
    /// Wire code as found, trimmed; an integer code rendered in decimal (`"401"`).
    pub(crate) code: Option<C>,
    /// `error_msg` as sent (bounded), or a readable excerpt of a non-JSON body; `""` when nothing.
    pub(crate) message: String,
    /// The body's `request_id`, else the `X-Request-Id` response header.
    pub(crate) request_id: Option<String>,
    /// Not cut to [`MAX_MESSAGE_LEN`] (it must stay decodable), only bounded by the body itself.
    pub(crate) encoded_authorization_message: Option<String>,
    /// Entries of the first `details` array found, at most [`MAX_DETAILS`].
    pub(crate) details: Vec<Detail<C>>,
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
/// Each wire code found is handed to `code_of`, borrowed from the body when the fast path
/// takes it, so that a caller that looks the code up need not own it first.
///
/// Never panics, never recurses without bound, allocation bounded by O(body.len()).
pub(crate) fn decode_as<C>(
    headers: &HeaderMap,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Decoded<C> {
    let body = body.strip_prefix(BOM).unwrap_or(body);
    decode_flat(headers, body, &code_of).unwrap_or_else(|| decode_slow(headers, body, &code_of))
}

/// [`decode_as`] keeping the codes as strings.
#[cfg(test)]
pub(crate) fn decode(headers: &HeaderMap, body: &[u8]) -> Decoded {
    decode_as(headers, body, str::to_owned)
}

impl<C> Decoded<C> {
    /// A body without a code: only a message, and the request id from the headers.
    fn message_only(message: String, headers: &HeaderMap) -> Self {
        Decoded {
            code: None,
            message,
            request_id: finish_request_id(None, headers),
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

// ---------------------------------------------------------------------------------------------
// Reading one object level (shared by the fast path, the `Value` walk and the salvage scanner)
// ---------------------------------------------------------------------------------------------

/// A scalar found under a key.
#[derive(Clone, Copy)]
enum Field<'a> {
    Str(&'a str),
    Num(&'a Number),
}

impl<'a> Field<'a> {
    fn of(value: Option<&'a Value>) -> Option<Self> {
        match value? {
            Value::String(s) => Some(Field::Str(s)),
            Value::Number(n) => Some(Field::Num(n)),
            _ => None,
        }
    }

    /// A code: a non-blank string (trimmed, borrowed unless cut), bounded, or
    /// an integer in decimal.
    fn code(self) -> Option<Cow<'a, str>> {
        match self {
            Field::Str(s) => nonblank(s.trim()).map(|s| match s.len() {
                len if len <= MAX_FIELD_LEN => Cow::Borrowed(s),
                _ => Cow::Owned(bounded(s, MAX_FIELD_LEN)),
            }),
            Field::Num(n) => integer_code(n).map(Cow::Owned),
        }
    }

    /// A message: a non-blank string, as sent.
    fn message(self) -> Option<&'a str> {
        match self {
            Field::Str(s) if !s.trim().is_empty() => Some(s),
            _ => None,
        }
    }

    /// An identifier (request id, encoded message): a non-blank string, trimmed.
    fn ident(self) -> Option<&'a str> {
        match self {
            Field::Str(s) => nonblank(s.trim()),
            Field::Num(_) => None,
        }
    }
}

/// A number's value in decimal when it is an integer that `serde_json` holds exactly: an `i64`
/// or a `u64`, or a float with an integer value within ±2^53 (`401.0`, `-0`). Anything else is
/// no code: serde_json reads larger integers as floats, and their digits would not be the
/// body's (`123456789012345678901234` would become `1.2345678901234568e23`).
fn integer_code(n: &Number) -> Option<String> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    let f = n.as_f64()?;
    // An integer within ±2^53 converts exactly.
    (f.fract() == 0.0 && f.abs() <= EXACT).then(|| (f as i64).to_string())
}

/// An integer literal found by the salvage scanner, as [`integer_code`] renders it.
fn integer_literal(digits: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(digits).ok()?;
    let number = match text.parse::<i64>() {
        Ok(i) => Number::from(i),
        Err(_) => Number::from(text.parse::<u64>().ok()?),
    };
    integer_code(&number)
}

fn nonblank(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The code and message of one object level.
struct Level<'a> {
    code: Option<Cow<'a, str>>,
    message: Option<&'a str>,
}

impl<'a> Level<'a> {
    /// `error_code`/`error_msg` (or camelCase); when the level has no such code, `code`/`message`
    /// (`title` as message fallback). A message without a code is kept.
    fn read(get: impl Fn(&str) -> Option<Field<'a>>) -> Self {
        let message = |keys: &[&str]| keys.iter().find_map(|k| get(k)?.message());
        if let Some(code) = WIRE_CODE_KEYS.iter().find_map(|k| get(k)?.code()) {
            Level {
                code: Some(code),
                message: message(&WIRE_MESSAGE_KEYS),
            }
        } else if let Some(code) = get(PLAIN_CODE_KEY).and_then(Field::code) {
            Level {
                code: Some(code),
                message: message(&PLAIN_MESSAGE_KEYS),
            }
        } else {
            Level {
                code: None,
                message: message(&WIRE_MESSAGE_KEYS),
            }
        }
    }
}

fn request_id_of<'a>(get: impl Fn(&str) -> Option<Field<'a>>) -> Option<&'a str> {
    REQUEST_ID_KEYS.iter().find_map(|k| get(k)?.ident())
}

/// The body's request id, else a visible-ASCII `X-Request-Id` header; trimmed and bounded.
fn finish_request_id(from_body: Option<&str>, headers: &HeaderMap) -> Option<String> {
    from_body
        .or_else(|| {
            let header = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?;
            nonblank(header.trim())
        })
        .map(|id| bounded(id, MAX_FIELD_LEN))
}

fn bounded_message(message: Option<&str>) -> String {
    message.map_or_else(String::new, |m| bounded(m, MAX_MESSAGE_LEN))
}

// ---------------------------------------------------------------------------------------------
// Fast path: the common flat shape, borrowed straight from the body
// ---------------------------------------------------------------------------------------------

/// The flat shape and nothing else: any other key (`error`, `details`, `code`, `errorCode`, or
/// one holding a nested object the slow path would search) fails it and sends the body down the
/// slow path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatBody<'a> {
    #[serde(borrow)]
    error_code: Option<BorrowedStr<'a>>,
    #[serde(borrow)]
    error_msg: Option<BorrowedStr<'a>>,
    #[serde(borrow)]
    request_id: Option<BorrowedStr<'a>>,
    #[serde(borrow)]
    encoded_authorization_message: Option<BorrowedStr<'a>>,
}

/// A string borrowed from the body unless it has escapes (serde does not borrow an
/// `Option<Cow<str>>` directly, only a `Cow<str>` field).
#[derive(Deserialize)]
struct BorrowedStr<'a>(#[serde(borrow)] Cow<'a, str>);

/// Decodes the flat shape; `None` sends the body down the slow path, which gives the same
/// result for every body this accepts.
fn decode_flat<C>(
    headers: &HeaderMap,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Option<Decoded<C>> {
    // A derived struct also accepts a JSON array (positionally); only objects belong here.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let flat: FlatBody<'_> = serde_json::from_slice(body).ok()?;
    let get = |key: &str| {
        let value = match key {
            "error_code" => &flat.error_code,
            "error_msg" => &flat.error_msg,
            "request_id" => &flat.request_id,
            ENCODED_KEY => &flat.encoded_authorization_message,
            _ => return None,
        };
        value.as_ref().map(|s| Field::Str(&s.0))
    };
    let level = Level::read(get);
    let code = code_of(&level.code?);
    Some(Decoded {
        code: Some(code),
        message: bounded_message(level.message),
        request_id: finish_request_id(request_id_of(get), headers),
        encoded_authorization_message: get(ENCODED_KEY).and_then(Field::ident).map(str::to_owned),
        details: Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// Slow path: any JSON value, then anything that is not JSON
// ---------------------------------------------------------------------------------------------

fn decode_slow<C>(headers: &HeaderMap, body: &[u8], code_of: impl Fn(&str) -> C) -> Decoded<C> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => decode_value(headers, &value, body, code_of),
        // Not JSON, truncated JSON, or nested deeper than serde_json's recursion limit.
        Err(_) => decode_text(headers, body, code_of),
    }
}

fn decode_value<C>(
    headers: &HeaderMap,
    value: &Value,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Decoded<C> {
    let message = match value {
        Value::Object(map) => return decode_object(headers, map, code_of),
        Value::Array(items) => match items.iter().find_map(Value::as_object) {
            Some(map) => return decode_object(headers, map, code_of),
            None => raw_excerpt(body),
        },
        Value::String(s) => bounded(s.trim(), MAX_MESSAGE_LEN),
        Value::Number(_) | Value::Bool(_) | Value::Null => raw_excerpt(body),
    };
    Decoded::message_only(message, headers)
}

/// Walks the object levels breadth-first (the `error` child before its siblings), at most
/// [`MAX_DEPTH`] levels deep, without recursion.
fn decode_object<C>(
    headers: &HeaderMap,
    top: &Map<String, Value>,
    code_of: impl Fn(&str) -> C,
) -> Decoded<C> {
    let mut queue = VecDeque::from([(top, 1)]);
    let mut coded: Option<Level<'_>> = None;
    let mut first_message = None;
    let mut request_id = None;
    let mut encoded = None;
    let mut details = None;

    while let Some((map, depth)) = queue.pop_front() {
        let get = |key: &str| Field::of(map.get(key));
        if coded.is_none() || first_message.is_none() {
            let level = Level::read(get);
            first_message = first_message.or(level.message);
            if coded.is_none() && level.code.is_some() {
                coded = Some(level);
            }
        }
        request_id = request_id.or_else(|| request_id_of(get));
        encoded = encoded.or_else(|| get(ENCODED_KEY).and_then(Field::ident));
        if details.is_none() {
            if let Some(Value::Array(items)) = map.get(DETAILS_KEY) {
                details = Some(read_details(items, &code_of)).filter(|d| !d.is_empty());
            }
        }
        if depth < MAX_DEPTH {
            let error = map.get(ERROR_KEY).and_then(Value::as_object);
            let others = map
                .iter()
                .filter(|(key, _)| *key != ERROR_KEY)
                .filter_map(|(_, value)| value.as_object());
            queue.extend(
                error
                    .into_iter()
                    .chain(others)
                    .map(|child| (child, depth + 1)),
            );
        }
    }

    let (code, message) = match coded {
        Some(level) => (
            level.code.map(|c| code_of(&c)),
            level.message.or(first_message),
        ),
        None => (None, first_message),
    };
    Decoded {
        code,
        message: bounded_message(message),
        request_id: finish_request_id(request_id, headers),
        encoded_authorization_message: encoded.map(str::to_owned),
        details: details.unwrap_or_default(),
    }
}

/// The object entries of a `details` array that carry a code or a message.
fn read_details<C>(items: &[Value], code_of: impl Fn(&str) -> C) -> Vec<Detail<C>> {
    items
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|entry| {
            let level = Level::read(|key| Field::of(entry.get(key)));
            (level.code.is_some() || level.message.is_some()).then(|| Detail {
                code: level.code.map(|c| code_of(&c)),
                message: bounded_message(level.message),
            })
        })
        .take(MAX_DETAILS)
        .collect()
}

/// A body serde_json could not parse: salvaged JSON, an HTML excerpt or plain text.
fn decode_text<C>(headers: &HeaderMap, body: &[u8], code_of: impl Fn(&str) -> C) -> Decoded<C> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.starts_with('<') {
        return Decoded::message_only(html_excerpt(text), headers);
    }
    if !text.starts_with(['{', '[']) {
        return Decoded::message_only(bounded(text, MAX_MESSAGE_LEN), headers);
    }
    let salvaged = Salvaged::scan(body);
    let get = |key: &str| salvaged.get(key).map(Field::Str);
    let level = Level::read(get);
    Decoded {
        code: level.code.map(|c| code_of(&c)),
        message: level.message.map_or_else(
            || bounded(text, MAX_MESSAGE_LEN),
            |m| bounded(m, MAX_MESSAGE_LEN),
        ),
        request_id: finish_request_id(request_id_of(get), headers),
        encoded_authorization_message: get(ENCODED_KEY).and_then(Field::ident).map(str::to_owned),
        details: Vec::new(),
    }
}

/// The trimmed body text (lossily decoded), bounded.
fn raw_excerpt(body: &[u8]) -> String {
    bounded(String::from_utf8_lossy(body).trim(), MAX_MESSAGE_LEN)
}

// ---------------------------------------------------------------------------------------------
// Salvage scanner for JSON that serde_json rejected
// ---------------------------------------------------------------------------------------------

/// Keys the salvage scanner keeps, first occurrence of each.
const SALVAGE_KEYS: [&str; 10] = [
    "error_code",
    "errorCode",
    "code",
    "error_msg",
    "errorMsg",
    "message",
    "title",
    "request_id",
    "requestId",
    ENCODED_KEY,
];
/// How many of [`SALVAGE_KEYS`] (from the start) may hold a bare number.
const SALVAGE_NUMERIC_KEYS: usize = 3;

/// Values of [`SALVAGE_KEYS`] found by a linear scan of (possibly truncated) JSON.
struct Salvaged {
    slots: [Option<String>; SALVAGE_KEYS.len()],
}

impl Salvaged {
    fn get(&self, key: &str) -> Option<&str> {
        let slot = SALVAGE_KEYS.iter().position(|k| *k == key)?;
        self.slots[slot].as_deref()
    }

    /// Finds `"key": "complete string literal"` (or a complete integer for a code key) outside
    /// nested arrays. Works on bytes, iteratively: no recursion, whatever the nesting.
    fn scan(body: &[u8]) -> Self {
        let mut slots: [Option<String>; SALVAGE_KEYS.len()] = Default::default();
        let top_is_array = body.trim_ascii_start().first() == Some(&b'[');
        let base_arrays = usize::from(top_is_array);
        let mut arrays = 0_usize;
        let mut i = 0;
        while let Some(&byte) = body.get(i) {
            match byte {
                b'[' => arrays += 1,
                b']' => arrays = arrays.saturating_sub(1),
                b'"' => {
                    let Some(end) = string_end(body, i) else {
                        break;
                    };
                    let key = body.get(i + 1..end).unwrap_or_default();
                    i = end + 1;
                    let colon = skip_ws(body, i);
                    if body.get(colon) != Some(&b':') {
                        continue;
                    }
                    let start = skip_ws(body, colon + 1);
                    let slot = if arrays == base_arrays {
                        SALVAGE_KEYS.iter().position(|k| k.as_bytes() == key)
                    } else {
                        None
                    };
                    match body.get(start) {
                        Some(b'"') => {
                            let Some(end) = string_end(body, start) else {
                                break;
                            };
                            if let Some(slot) = slot {
                                if slots[slot].is_none() {
                                    let literal = body.get(start..=end).unwrap_or_default();
                                    slots[slot] = serde_json::from_slice::<String>(literal).ok();
                                }
                            }
                            i = end + 1;
                        }
                        Some(b'-' | b'0'..=b'9') => {
                            let digits = body
                                .get(start + 1..)
                                .unwrap_or_default()
                                .iter()
                                .take_while(|b| b.is_ascii_digit())
                                .count();
                            let end = start + 1 + digits;
                            let complete = matches!(
                                body.get(end),
                                Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                            );
                            if let Some(slot) = slot.filter(|&s| s < SALVAGE_NUMERIC_KEYS) {
                                let number = body.get(start..end).unwrap_or_default();
                                if complete && slots[slot].is_none() {
                                    slots[slot] = integer_literal(number);
                                }
                            }
                            i = end;
                        }
                        _ => i = start,
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        Salvaged { slots }
    }
}

/// The index of the quote closing the string literal that opens at `open`, if complete.
fn string_end(body: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        match body.get(i)? {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while matches!(body.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

// ---------------------------------------------------------------------------------------------
// HTML excerpt
// ---------------------------------------------------------------------------------------------

/// The readable text of an HTML page: `<script>`/`<style>` contents, comments and tags dropped,
/// the common entities decoded, whitespace runs collapsed to one space, trimmed and bounded.
fn html_excerpt(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::new();
    let mut space = false;
    let mut i = 0;
    // Stop once the excerpt is surely longer than the bound: what follows can only add.
    while out.len() <= MAX_MESSAGE_LEN {
        let Some(rest) = html.get(i..) else { break };
        let Some(c) = rest.chars().next() else { break };
        if c == '<' && starts_tag(bytes.get(i + 1)) {
            space = true;
            i = skip_tag(bytes, i);
            continue;
        }
        let (c, len) = if c == '&' {
            decode_entity(rest).unwrap_or(('&', 1))
        } else {
            (c, c.len_utf8())
        };
        i += len;
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    bounded(&out, MAX_MESSAGE_LEN)
}

fn starts_tag(next: Option<&u8>) -> bool {
    next.is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?'))
}

/// The index just past the tag (or comment, or `<script>`/`<style>` element) opening at `open`.
fn skip_tag(bytes: &[u8], open: usize) -> usize {
    let rest = bytes.get(open..).unwrap_or_default();
    if rest.starts_with(b"<!--") {
        return find(bytes, open + 4, b"-->").map_or(bytes.len(), |at| at + 3);
    }
    let name_len = rest
        .iter()
        .skip(1)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let name = rest.get(1..1 + name_len).unwrap_or_default();
    let tag_end = find(bytes, open, b">").map_or(bytes.len(), |at| at + 1);
    let raw_text_close: &[u8] = if name.eq_ignore_ascii_case(b"script") {
        b"</script"
    } else if name.eq_ignore_ascii_case(b"style") {
        b"</style"
    } else {
        return tag_end;
    };
    match find(bytes, tag_end, raw_text_close) {
        Some(close) => find(bytes, close, b">").map_or(bytes.len(), |at| at + 1),
        None => bytes.len(),
    }
}

/// The first index at or after `from` where `needle` starts, ASCII case-insensitively.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
        .map(|at| from + at)
}

fn decode_entity(rest: &str) -> Option<(char, usize)> {
    const ENTITIES: [(&str, char); 6] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
        ("&nbsp;", ' '),
    ];
    ENTITIES
        .iter()
        .find(|(entity, _)| rest.starts_with(entity))
        .map(|&(entity, c)| (c, entity.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    fn no_headers() -> HeaderMap {
        HeaderMap::new()
    }

    fn with_request_id(value: HeaderValue) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("X-Request-Id", value);
        headers
    }

    fn dec(body: &str) -> Decoded {
        decode(&no_headers(), body.as_bytes())
    }

    fn owned(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    fn detail(code: &str, message: &str) -> Detail {
        Detail {
            code: owned(code),
            message: message.to_owned(),
        }
    }

    // ----- body shapes -----

    #[test]
    fn flat() {
        let body = r#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"0a1b2c"}"#;
        assert!(
            decode_flat(&no_headers(), body.as_bytes(), str::to_owned).is_some(),
            "fast path taken"
        );
        assert_eq!(
            dec(body),
            Decoded {
                code: owned("PAP5.0006"),
                message: "concurrent modification".into(),
                request_id: owned("0a1b2c"),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn flat_with_encoded_authorization_message() {
        let body = r#"{"error_code":"PAP5.0001","error_msg":"no permission","request_id":"r1","encoded_authorization_message":"QUJD+/="}"#;
        assert_eq!(
            dec(body),
            Decoded {
                code: owned("PAP5.0001"),
                message: "no permission".into(),
                request_id: owned("r1"),
                encoded_authorization_message: owned("QUJD+/="),
                details: vec![],
            }
        );
    }

    #[test]
    fn nested_error_object() {
        let body = r#"{"error":{"code":"IAM.0001","message":"Bad request"}}"#;
        assert_eq!(
            dec(body),
            Decoded {
                code: owned("IAM.0001"),
                message: "Bad request".into(),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn nested_error_object_with_encoded_authorization_message() {
        let body = r#"{"error":{"code":"IAM.0002","message":"denied","encoded_authorization_message":"ZW5j"}}"#;
        let decoded = dec(body);
        assert_eq!(decoded.code, owned("IAM.0002"));
        assert_eq!(decoded.message, "denied");
        assert_eq!(decoded.encoded_authorization_message, owned("ZW5j"));
    }

    #[test]
    fn mixed_flat_and_nested() {
        // Code and message from the nested level, request id and encoded message from the top.
        let body = r#"{"request_id":"top-id","encoded_authorization_message":"ZW5j","error":{"code":"APIGW.0308","message":"throttled"}}"#;
        assert_eq!(
            dec(body),
            Decoded {
                code: owned("APIGW.0308"),
                message: "throttled".into(),
                request_id: owned("top-id"),
                encoded_authorization_message: owned("ZW5j"),
                details: vec![],
            }
        );
        // The top level has a message but no code: the nested code wins, with its own message.
        let body = r#"{"error_msg":"outer","error":{"error_code":"X.1","error_msg":"inner","request_id":"deep"}}"#;
        let decoded = dec(body);
        assert_eq!(decoded.code, owned("X.1"));
        assert_eq!(decoded.message, "inner");
        assert_eq!(decoded.request_id, owned("deep"));
        // The coded level has no message: the message is filled from another level.
        let decoded = dec(r#"{"message":"outer only","error":{"code":"X.2"}}"#);
        assert_eq!(
            (decoded.code, decoded.message),
            (owned("X.2"), "outer only".into())
        );
    }

    #[test]
    fn details_array() {
        let body = r#"{"error_code":"PAP5.0010","error_msg":"invalid","details":[{"error_code":"A.1","error_msg":"first"},{"code":"B.2","message":"second"},"ignored",{"other":1},{"error_msg":"no code"}]}"#;
        let decoded = dec(body);
        assert_eq!(decoded.code, owned("PAP5.0010"));
        assert_eq!(
            decoded.details,
            vec![
                detail("A.1", "first"),
                detail("B.2", "second"),
                Detail {
                    code: None,
                    message: "no code".into()
                },
            ]
        );
    }

    #[test]
    fn details_are_capped_and_found_in_nested_levels() {
        let entries: Vec<String> = (0..40)
            .map(|n| format!(r#"{{"error_code":"C.{n}","error_msg":"m{n}"}}"#))
            .collect();
        let body = format!(
            r#"{{"error":{{"code":"X","details":[{}]}}}}"#,
            entries.join(",")
        );
        let decoded = dec(&body);
        assert_eq!(decoded.details.len(), MAX_DETAILS);
        assert_eq!(decoded.details[15], detail("C.15", "m15"));
    }

    #[test]
    fn numeric_codes_are_integers_in_decimal() {
        assert_eq!(dec(r#"{"error":{"code":401.0}}"#).code, owned("401"));
        assert_eq!(dec(r#"{"error":{"code":-0}}"#).code, owned("0"));
        assert_eq!(
            dec(r#"{"error_code":18446744073709551615}"#).code,
            owned("18446744073709551615")
        );
        // Beyond u64 serde_json keeps only a float's digits: no code rather than wrong digits,
        // and the same whether or not the body is complete.
        for body in [
            r#"{"error_code":123456789012345678901234,"error_msg":"m"}"#,
            r#"{"error_code":123456789012345678901234,"error_msg":"m""#,
            r#"{"error_code":4.5,"error_msg":"m"}"#,
        ] {
            let decoded = dec(body);
            assert_eq!(decoded.code, None, "{body}");
            assert_eq!(decoded.message, "m", "{body}");
        }
        assert_eq!(dec(r#"{"error":{"code":-0,"message":"m""#).code, owned("0"));
    }

    #[test]
    fn numeric_code_with_title() {
        let body = r#"{"error":{"message":"The request you have made requires authentication.","code":401,"title":"Unauthorized"}}"#;
        let decoded = dec(body);
        assert_eq!(decoded.code, owned("401"));
        assert_eq!(
            decoded.message,
            "The request you have made requires authentication."
        );
        // Without `message`, `title` is the message.
        let decoded = dec(r#"{"error":{"code":403,"title":"Forbidden"}}"#);
        assert_eq!(
            (decoded.code, decoded.message),
            (owned("403"), "Forbidden".into())
        );
    }

    #[test]
    fn camel_case() {
        let decoded = dec(r#"{"errorCode":"STS5.0001","errorMsg":"expired","requestId":"abc"}"#);
        assert_eq!(
            decoded,
            Decoded {
                code: owned("STS5.0001"),
                message: "expired".into(),
                request_id: owned("abc"),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn codes_are_trimmed_and_blank_strings_are_absent() {
        let decoded =
            dec(r#"{"error_code":"  PAP5.0006\n","error_msg":"","code":"ignored","message":"m"}"#);
        assert_eq!(
            (decoded.code, decoded.message),
            (owned("PAP5.0006"), "m".into())
        );
        let decoded = dec(r#"{"error_code":"   ","code":"  C.1 ","message":"m"}"#);
        assert_eq!(decoded.code, owned("C.1"));
    }

    #[test]
    fn nesting_below_the_depth_limit_is_not_searched() {
        let wrap = |inner: &str, levels: usize| {
            format!("{}{inner}{}", r#"{"a":"#.repeat(levels), "}".repeat(levels))
        };
        let code = r#"{"error_code":"DEEP","error_msg":"m"}"#;
        assert_eq!(dec(&wrap(code, MAX_DEPTH - 1)).code, owned("DEEP"));
        assert_eq!(dec(&wrap(code, MAX_DEPTH)), Decoded::default());
    }

    #[test]
    fn html_502_page() {
        let body = "\u{feff}  <!DOCTYPE html>\r\n<html>\n<head><title>502 Bad Gateway</title>\n\
            <style type=\"text/css\">body { color: red; }</style>\n\
            <SCRIPT>var s = \"<b>not shown</b>\";</SCRIPT>\n<!-- a <comment> -->\n</head>\n<body>\n\
            <center><h1>502 Bad Gateway</h1></center>\n\
            <p>The upstream &amp; proxy said: &lt;timeout&gt; &quot;x&quot; &#39;y&#39;&nbsp;z &copy; 1 < 2</p>\n\
            <hr><center>nginx</center>\n</body>\n</html>\n";
        assert_eq!(
            dec(body),
            Decoded {
                message: "502 Bad Gateway 502 Bad Gateway The upstream & proxy said: <timeout> \"x\" 'y' z &copy; 1 < 2 nginx"
                    .into(),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn huge_html_page_is_bounded() {
        let body = format!(
            "<html><body>{}</body></html>",
            "<p>word</p>".repeat(100_000)
        );
        let message = dec(&body).message;
        assert_eq!(message.len(), MAX_MESSAGE_LEN);
        assert!(message.starts_with("word word"));
        assert!(message.ends_with(TRUNCATION_MARKER));
    }

    #[test]
    fn plain_text() {
        assert_eq!(
            dec("  \n Service Unavailable\r\n"),
            Decoded {
                message: "Service Unavailable".into(),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn empty_body() {
        assert_eq!(dec(""), Decoded::default());
    }

    #[test]
    fn whitespace_only_body() {
        assert_eq!(dec(" \r\n\t \n"), Decoded::default());
    }

    #[test]
    fn truncated_json_is_salvaged() {
        let decoded = dec(r#"{"request_id":"r-9","error_code":"PAP5.0006","error_msg":"conc"#);
        assert_eq!(decoded.code, owned("PAP5.0006"));
        assert_eq!(
            decoded.message,
            r#"{"request_id":"r-9","error_code":"PAP5.0006","error_msg":"conc"#
        );
        assert_eq!(decoded.request_id, owned("r-9"));

        let decoded = dec(
            r#"{"error_code":"PAP5.0006","error_msg":"a \"quoted\" \u00e9 word","encoded_authorization_message":"QUJ"#,
        );
        assert_eq!(decoded.code, owned("PAP5.0006"));
        assert_eq!(decoded.message, "a \"quoted\" é word");
        assert_eq!(decoded.encoded_authorization_message, None);

        let decoded = dec(r#"{"error":{"message":"Unauthorized","code":401,"title":"Unauth"#);
        assert_eq!(
            (decoded.code, decoded.message),
            (owned("401"), "Unauthorized".into())
        );
    }

    #[test]
    fn truncated_inside_the_code_string() {
        let body = r#"{"error_code":"PAP5.00"#;
        assert_eq!(
            dec(body),
            Decoded {
                message: body.into(),
                ..Decoded::default()
            }
        );
        // A number cut at the end is not taken as a code either.
        assert_eq!(dec(r#"{"error":{"code":40"#).code, None);
    }

    #[test]
    fn salvage_ignores_keys_inside_nested_arrays_and_values() {
        let decoded = dec(
            r#"{"details":[{"error_code":"D.1"}],"error_msg":"\"code\": \"NOPE\"","error_code":"TOP","x":"#,
        );
        assert_eq!(decoded.code, owned("TOP"));
        assert_eq!(decoded.message, r#""code": "NOPE""#);
    }

    #[test]
    fn non_utf8_bytes() {
        let decoded = decode(&no_headers(), b"Bad \xff\xfe gateway");
        assert_eq!(decoded.message, "Bad \u{fffd}\u{fffd} gateway");
        assert_eq!(decoded.code, None);
        // Invalid bytes inside an otherwise valid flat body: salvage keeps the valid strings.
        let decoded = decode(
            &no_headers(),
            b"{\"error_code\":\"E.1\",\"error_msg\":\"caf\xe9\"}",
        );
        assert_eq!(decoded.code, owned("E.1"));
        assert_eq!(
            decoded.message,
            "{\"error_code\":\"E.1\",\"error_msg\":\"caf\u{fffd}\"}"
        );
    }

    #[test]
    fn json_string() {
        assert_eq!(
            dec(r#"  "Internal \"error\"\n" "#).message,
            "Internal \"error\""
        );
    }

    #[test]
    fn json_array() {
        let decoded =
            dec(r#"[1, "x", {"error_code":"A.1","error_msg":"first"}, {"error_code":"B.2"}]"#);
        assert_eq!(
            (decoded.code, decoded.message),
            (owned("A.1"), "first".into())
        );
        assert_eq!(
            dec(r#" [1, "x"] "#),
            Decoded {
                message: r#"[1, "x"]"#.into(),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn json_number() {
        assert_eq!(
            dec(" 42 "),
            Decoded {
                message: "42".into(),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn json_null() {
        assert_eq!(
            dec("null"),
            Decoded {
                message: "null".into(),
                ..Decoded::default()
            }
        );
    }

    #[test]
    fn deep_array_nesting() {
        let body = "[".repeat(100_000);
        let decoded = dec(&body);
        assert_eq!(decoded.code, None);
        assert_eq!(decoded.message.len(), MAX_MESSAGE_LEN);
        assert!(decoded.message.ends_with(TRUNCATION_MARKER));
        let closed = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(dec(&closed).message.starts_with("[[["));
    }

    #[test]
    fn deep_object_nesting() {
        let body = format!(
            r#"{}{{"error_code":"DEEP","error_msg":"deep"}}{}"#,
            r#"{"a":"#.repeat(100_000),
            "}".repeat(100_000)
        );
        let decoded = dec(&body);
        // Salvage finds the innermost code: the scanner ignores object nesting, not depth.
        assert_eq!(decoded.code, owned("DEEP"));
        assert_eq!(decoded.message, "deep");
        let decoded = dec(&r#"{"a":"#.repeat(100_000));
        assert_eq!(decoded.code, None);
        assert!(decoded.message.ends_with(TRUNCATION_MARKER));
    }

    #[test]
    fn huge_message_is_bounded() {
        let long = "m".repeat(1 << 20);
        let body = format!(r#"{{"error_code":"PAP5.0006","error_msg":"{long}"}}"#);
        let decoded = dec(&body);
        assert_eq!(decoded.code, owned("PAP5.0006"));
        assert_eq!(decoded.message.len(), MAX_MESSAGE_LEN);
        assert!(decoded.message.ends_with(TRUNCATION_MARKER));
        assert_eq!(
            decoded,
            decode_slow(&no_headers(), body.as_bytes(), str::to_owned)
        );
        // The encoded authorization message is never cut.
        let body = format!(r#"{{"error_code":"X","encoded_authorization_message":"{long}"}}"#);
        assert_eq!(dec(&body).encoded_authorization_message, Some(long));
    }

    #[test]
    fn long_code_and_request_id_are_bounded() {
        let long = "c".repeat(500);
        let decoded = dec(&format!(
            r#"{{"error_code":"{long}","request_id":"{long}"}}"#
        ));
        for field in [decoded.code.unwrap(), decoded.request_id.unwrap()] {
            assert_eq!(field.len(), MAX_FIELD_LEN);
            assert!(field.ends_with(TRUNCATION_MARKER));
        }
    }

    #[test]
    fn request_id_from_body_beats_header() {
        let headers = with_request_id(HeaderValue::from_static("from-header"));
        let body = br#"{"error_code":"X","request_id":"from-body"}"#;
        assert_eq!(decode(&headers, body).request_id, owned("from-body"));
        let body = br#"{"error":{"code":"X","requestId":"nested-body"}}"#;
        assert_eq!(decode(&headers, body).request_id, owned("nested-body"));
    }

    #[test]
    fn request_id_from_header_when_body_has_none() {
        let headers = with_request_id(HeaderValue::from_static(" 5f0e-header "));
        for body in [
            &br#"{"error_code":"X","request_id":""}"#[..],
            b"<html>oops</html>",
            b"",
            b"[1",
        ] {
            assert_eq!(decode(&headers, body).request_id, owned("5f0e-header"));
        }
    }

    #[test]
    fn invalid_request_id_header_is_ignored() {
        let headers = with_request_id(HeaderValue::from_bytes(b"id-\xff\xfe").unwrap());
        assert_eq!(decode(&headers, br#"{"error_code":"X"}"#).request_id, None);
    }

    #[test]
    fn bounded_cuts_at_char_boundaries() {
        assert_eq!(bounded("short", 5), "short");
        assert_eq!(bounded("", 0), "");
        // "é" is 2 bytes, "€" is 3: every cut point inside a char moves back to its start.
        let s = "é€".repeat(20);
        for max in TRUNCATION_MARKER.len()..s.len() {
            let cut = bounded(&s, max);
            assert!(cut.len() <= max, "{max}");
            let kept = cut.strip_suffix(TRUNCATION_MARKER).unwrap();
            assert!(s.starts_with(kept));
            assert!(
                kept.len() + 3 > max - TRUNCATION_MARKER.len(),
                "longest prefix at {max}"
            );
        }
        let s = format!("aé€{}", "x".repeat(40));
        let m = TRUNCATION_MARKER.len();
        assert_eq!(bounded(&s, m + 2), format!("a{TRUNCATION_MARKER}"));
        assert_eq!(bounded(&s, m + 3), format!("aé{TRUNCATION_MARKER}"));
        assert_eq!(bounded(&s, m + 5), format!("aé{TRUNCATION_MARKER}"));
        assert_eq!(bounded(&s, m + 6), format!("aé€{TRUNCATION_MARKER}"));
        // Too small for the marker: cut without one.
        assert_eq!(bounded(&s, 2), "a");
    }

    // ----- properties -----

    fn assert_bounds(decoded: &Decoded, body_len: usize) -> Result<(), TestCaseError> {
        prop_assert!(decoded.message.len() <= MAX_MESSAGE_LEN);
        prop_assert!(
            decoded
                .code
                .as_ref()
                .is_none_or(|c| c.len() <= MAX_FIELD_LEN)
        );
        prop_assert!(
            decoded
                .request_id
                .as_ref()
                .is_none_or(|r| r.len() <= MAX_FIELD_LEN)
        );
        prop_assert!(
            decoded
                .encoded_authorization_message
                .as_ref()
                .is_none_or(|e| e.len() <= body_len)
        );
        prop_assert!(decoded.details.len() <= MAX_DETAILS);
        for d in &decoded.details {
            prop_assert!(d.message.len() <= MAX_MESSAGE_LEN);
            prop_assert!(d.code.as_ref().is_none_or(|c| c.len() <= MAX_FIELD_LEN));
        }
        Ok(())
    }

    fn json_string_of(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    /// Short, arbitrary, long (beyond the bounds) and blank text.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[A-Za-z0-9._ -]{1,24}",
            2 => any::<String>(),
            1 => "[ \t\n]{0,3}",
            1 => prop::collection::vec(any::<char>(), 100..1200).prop_map(String::from_iter),
        ]
    }

    const KEYS: [&str; 16] = [
        "error_code",
        "error_msg",
        "errorCode",
        "errorMsg",
        "code",
        "message",
        "title",
        "request_id",
        "requestId",
        "encoded_authorization_message",
        "details",
        "error",
        "error",
        "details",
        "a",
        "b",
    ];

    /// JSON-ish text: nested objects and arrays over the decoder's keys, with random values.
    fn json_ish() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            text().prop_map(|s| json_string_of(&s)),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
            Just("null".to_owned()),
            Just("true".to_owned()),
        ];
        leaf.prop_recursive(6, 96, 8, |inner| {
            prop_oneof![
                prop::collection::vec((prop::sample::select(&KEYS[..]), inner.clone()), 0..8)
                    .prop_map(|entries| {
                        let entries: Vec<String> = entries
                            .iter()
                            .map(|(k, v)| format!("\"{k}\": {v}"))
                            .collect();
                        format!("{{{}}}", entries.join(","))
                    }),
                prop::collection::vec(inner, 0..8)
                    .prop_map(|items| format!("[{}]", items.join(", "))),
            ]
        })
    }

    /// A flat body's inputs and its text.
    #[derive(Debug, Clone)]
    struct Flat {
        code: Option<String>,
        message: Option<String>,
        request_id: Option<String>,
        encoded: Option<String>,
        body: String,
    }

    /// Flat bodies in any key order, sometimes with `null`s, padding and an extra key.
    fn flat_body(extra_keys: bool) -> impl Strategy<Value = Flat> {
        let code = prop_oneof![4 => " ?[A-Z]{2,6}[0-9]?\\.[0-9]{1,4} ?", 1 => text()];
        let extra = if extra_keys {
            prop::option::of((
                prop::sample::select(vec![
                    "code",
                    "error",
                    "details",
                    "errorCode",
                    "message",
                    "x",
                ]),
                prop::sample::select(vec![
                    r#""v""#,
                    "401",
                    "null",
                    r#"{"code":"N.1","message":"nested"}"#,
                    r#"{"request_id":"nested-id","encoded_authorization_message":"e"}"#,
                    r#"[{"error_code":"D.1","error_msg":"d"}]"#,
                ]),
            ))
            .boxed()
        } else {
            Just(None).boxed()
        };
        (
            prop::option::weighted(0.9, code),
            prop::option::weighted(0.8, text()),
            prop::option::weighted(0.7, "[a-f0-9-]{1,40}"),
            prop::option::weighted(0.3, "[A-Za-z0-9+/=]{1,200}"),
            any::<bool>(),
            extra,
            "[ \n]{0,2}",
            any::<u64>(),
        )
            .prop_map(
                |(code, message, request_id, encoded, nulls, extra, pad, order)| {
                    let mut entries = Vec::new();
                    let fields = [
                        ("error_code", &code),
                        ("error_msg", &message),
                        ("request_id", &request_id),
                        ("encoded_authorization_message", &encoded),
                    ];
                    for (key, value) in fields {
                        match value {
                            Some(v) => {
                                entries.push(format!("\"{key}\":{pad}{}", json_string_of(v)))
                            }
                            None if nulls => entries.push(format!("\"{key}\":null")),
                            None => {}
                        }
                    }
                    if let Some((key, value)) = extra {
                        entries.push(format!("\"{key}\":{value}"));
                    }
                    let len = entries.len().max(1) as u64;
                    entries.rotate_left((order % len) as usize);
                    if order & 1 << 40 != 0 {
                        entries.reverse();
                    }
                    let body = format!("{pad}{{{pad}{}}}{pad}", entries.join(&format!(",{pad}")));
                    Flat {
                        code,
                        message,
                        request_id,
                        encoded,
                        body,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_stay_bounded(body in prop::collection::vec(any::<u8>(), 0..4096)) {
            assert_bounds(&decode(&no_headers(), &body), body.len())?;
        }

        #[test]
        fn json_ish_never_panics_and_stays_bounded(json in json_ish(), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
            let bytes = json.as_bytes();
            let body = if truncate { &bytes[..cut.index(bytes.len() + 1)] } else { bytes };
            assert_bounds(&decode(&no_headers(), body), body.len())?;
        }

        #[test]
        fn fast_path_equals_slow_path(flat in flat_body(true), header in any::<bool>()) {
            let headers = if header { with_request_id(HeaderValue::from_static("hdr")) } else { no_headers() };
            let body = flat.body.as_bytes();
            let slow = decode_slow(&headers, body, str::to_owned);
            match decode_flat(&headers, body, str::to_owned) {
                Some(fast) => prop_assert_eq!(fast, slow),
                None => prop_assert_eq!(decode(&headers, body), slow),
            }
        }

        #[test]
        fn flat_bodies_round_trip(flat in flat_body(false)) {
            let decoded = decode(&no_headers(), flat.body.as_bytes());
            let nonblank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
            let code = nonblank(&flat.code).map(|c| c.trim().to_owned());
            prop_assert_eq!(decode_flat(&no_headers(), flat.body.as_bytes(), str::to_owned).is_some(), code.is_some());
            if code.as_ref().is_none_or(|c| c.len() <= MAX_FIELD_LEN) {
                prop_assert_eq!(decoded.code, code);
            }
            let message = nonblank(&flat.message).unwrap_or_default();
            if message.len() <= MAX_MESSAGE_LEN {
                prop_assert_eq!(decoded.message, message);
            } else {
                prop_assert!(decoded.message.ends_with(TRUNCATION_MARKER));
            }
            prop_assert_eq!(decoded.request_id, flat.request_id);
            prop_assert_eq!(decoded.encoded_authorization_message, flat.encoded);
        }
    }
}
