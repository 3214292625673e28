//! The canonical request's parts: URI, query, headers. One function a rule.

use std::borrow::Cow;

use percent_encoding::{
    AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode, utf8_percent_encode,
};
use smallvec::SmallVec;

use super::algorithm::{Hash, Hasher, Hex};

/// Every byte but `A-Z a-z 0-9 - _ . ~` is written `%XX` (upper-case hex).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where a canonical request (or the `Authorization` header) is written: its
/// hash when signing ([`HashSink`]), a buffer, or a `String` when a test
/// reads it.
pub(crate) trait Sink {
    /// Appends `text`.
    fn put(&mut self, text: &str);
    /// Appends one ASCII byte, a separator.
    fn put_byte(&mut self, byte: u8);
}

impl Sink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }

    fn put_byte(&mut self, byte: u8) {
        self.push(char::from(byte));
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }

    fn put_byte(&mut self, byte: u8) {
        self.push(byte);
    }
}

/// The hash of what is written, through a buffer on the stack: pieces are
/// copied there and hashed a bufferful at a time (a typical request's whole
/// canonical form at once), so signing needs neither a string on the heap
/// nor a call into the hash for every piece.
pub(crate) struct HashSink {
    buffer: [u8; 512],
    len: usize,
    hasher: Hasher,
}

impl HashSink {
    /// An empty sink hashing with `hash`.
    pub(crate) fn new(hash: Hash) -> HashSink {
        HashSink {
            buffer: [0; 512],
            len: 0,
            hasher: Hasher::new(hash),
        }
    }

    fn flush(&mut self) {
        self.hasher.update(&self.buffer[..self.len]);
        self.len = 0;
    }

    /// The lower-case hex hash of everything written.
    pub(crate) fn finish(mut self) -> Hex {
        self.flush();
        self.hasher.hex()
    }
}

impl Sink for HashSink {
    fn put(&mut self, text: &str) {
        let bytes = text.as_bytes();
        if self.buffer.len() - self.len < bytes.len() {
            self.flush();
            if bytes.len() > self.buffer.len() {
                self.hasher.update(bytes);
                return;
            }
        }
        let end = self.len + bytes.len();
        self.buffer[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }

    fn put_byte(&mut self, byte: u8) {
        if self.len == self.buffer.len() {
            self.flush();
        }
        self.buffer[self.len] = byte;
        self.len += 1;
    }
}

/// Whether `byte` is written as it is: `A-Z a-z 0-9 - _ . ~`, the bytes
/// [`ENCODE`] leaves out (a test checks the two agree on every byte).
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// Appends `text` percent-encoded to `out`.
fn encode_into(out: &mut impl Sink, text: &str) {
    // Most keys and values need no escape: written in one piece.
    if text.bytes().all(is_unreserved) {
        out.put(text);
        return;
    }
    for chunk in utf8_percent_encode(text, ENCODE) {
        out.put(chunk);
    }
}

/// Decodes a query part's `%XX` escapes and `+` (a space). A sequence that is
/// not UTF-8 once decoded is kept as it was written. Text with nothing to
/// decode (most keys and values) is borrowed, not copied.
fn decode(text: &str) -> Cow<'_, str> {
    let mut escaped = false;
    let mut plus = false;
    for b in text.bytes() {
        escaped |= b == b'%';
        plus |= b == b'+';
    }
    if !escaped && !plus {
        return Cow::Borrowed(text);
    }
    let spaced;
    let text = if plus {
        spaced = text.replace('+', " ");
        &*spaced
    } else {
        text
    };
    match percent_decode_str(text).decode_utf8() {
        Ok(decoded) => Cow::Owned(decoded.into_owned()),
        Err(_) => Cow::Owned(text.to_owned()),
    }
}

/// The canonical URI: the path decoded, split on `/`, each segment
/// percent-encoded, and a `/` at the end (`/v5/agencies` signs as
/// `/v5/agencies/`, an empty path as `/`, and `a%20b%2Fc` as `a%20b/c`, as
/// the Python SDK signs a path parameter `a b/c`).
pub(crate) fn uri(path: &str, out: &mut impl Sink) {
    // A path of unreserved bytes and `/` alone (most paths) decodes and
    // encodes to itself: written as it is, with the slashes it lacks.
    if path.bytes().all(|b| b == b'/' || is_unreserved(b)) {
        if !path.starts_with('/') {
            out.put_byte(b'/');
        }
        out.put(path);
        if !path.is_empty() && !path.ends_with('/') {
            out.put_byte(b'/');
        }
        return;
    }
    uri_decoded(path, out);
}

/// [`uri`] for a path with bytes to decode or encode.
fn uri_decoded(path: &str, out: &mut impl Sink) {
    let decoded: Cow<'_, [u8]> = percent_decode_str(path).into();
    // A `/` is written only between segments, so the output starts and ends
    // with one exactly where the decoded path does.
    if decoded.first() != Some(&b'/') {
        out.put_byte(b'/');
        if decoded.is_empty() {
            return;
        }
    }
    for (i, segment) in decoded.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.put_byte(b'/');
        }
        for chunk in percent_encode(segment, ENCODE) {
            out.put(chunk);
        }
    }
    if decoded.last() != Some(&b'/') {
        out.put_byte(b'/');
    }
}

/// The canonical query: pairs decoded (`+` and `%20` both a space), sorted by
/// key then value, each re-encoded as `key=value` and joined by `&`; a key
/// without a value is `key=`.
pub(crate) fn query(query: Option<&str>, out: &mut impl Sink) {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return;
    };
    // Most queries have no escape and no `+`: their pairs are borrowed as
    // they are, with no look at each for something to decode.
    let plain = !query.bytes().any(|b| b == b'%' || b == b'+');
    write_query(query, plain, out);
}

/// `text` split at every `separator` (ASCII), looked for byte by byte: the
/// query's parts are a few bytes long, too short for `str::split`'s search
/// to pay for itself.
fn split_ascii(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|b| b == separator) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// [`query`] of a non-empty query, whose pairs are decoded unless `plain`.
fn write_query(query: &str, plain: bool, out: &mut impl Sink) {
    if plain {
        write_pairs(query, |text| text, out);
    } else {
        write_pairs(query, decode, out);
    }
}

/// The query's pairs, each part as `read` gives it (borrowed, or decoded),
/// sorted and written; most queries have a few, kept on the stack.
fn write_pairs<'q, S: AsRef<str>>(
    query: &'q str,
    read: impl Fn(&'q str) -> S,
    out: &mut impl Sink,
) {
    let mut pairs: SmallVec<[(S, S); 8]> = SmallVec::new();
    for pair in split_ascii(query, b'&').filter(|pair| !pair.is_empty()) {
        let (key, value) = match pair.bytes().position(|b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, ""),
        };
        pairs.push((read(key), read(value)));
    }
    // By key, then value, byte by byte inline: the parts are short.
    fn bytes<S: AsRef<str>>(part: &S) -> std::slice::Iter<'_, u8> {
        part.as_ref().as_bytes().iter()
    }
    pairs.sort_unstable_by(|a, b| {
        bytes(&a.0)
            .cmp(bytes(&b.0))
            .then_with(|| bytes(&a.1).cmp(bytes(&b.1)))
    });
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.put_byte(b'&');
        }
        encode_into(out, key.as_ref());
        out.put_byte(b'=');
        encode_into(out, value.as_ref());
    }
}

/// Whether a header is signed: every header but those whose name has a `_`
/// (the SDKs skip them) and `Authorization` itself.
pub(crate) fn is_signed_header(lower_name: &str) -> bool {
    !lower_name.as_bytes().contains(&b'_') && lower_name != "authorization"
}

/// A header value as signed: spaces and tabs trimmed at both ends, inner ones kept.
pub(crate) fn trim(value: &str) -> &str {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = value.as_bytes();
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |last| last + 1);
    // Both ends are next to an ASCII byte: char boundaries.
    value.get(start..end).unwrap_or_default()
}

/// Whether a `Content-Type` makes the SDKs send `UNSIGNED-PAYLOAD`: present
/// and neither `application/json` nor `application/bson` (parameters such
/// as `;charset=UTF-8` allowed).
pub(crate) fn is_unsigned_content_type(content_type: &str) -> bool {
    let media = content_type
        .split_once(';')
        .map_or(content_type, |(media, _)| media)
        .trim();
    !media.eq_ignore_ascii_case("application/json")
        && !media.eq_ignore_ascii_case("application/bson")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canonical_uri(path: &str) -> String {
        let mut out = String::new();
        uri(path, &mut out);
        out
    }

    fn canonical_query(q: &str) -> String {
        let mut out = String::new();
        query(Some(q), &mut out);
        out
    }

    #[test]
    fn the_uri_gets_a_trailing_slash_once() {
        assert_eq!(canonical_uri("/v5/agencies"), "/v5/agencies/");
        assert_eq!(canonical_uri("/v5/agencies/"), "/v5/agencies/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn uri_segments_are_decoded_then_encoded_so_an_escaped_slash_splits() {
        // As the Python SDK signs a path parameter `a b/c`.
        assert_eq!(
            canonical_uri("/v5/agencies/a%20b%2Fc"),
            "/v5/agencies/a%20b/c/"
        );
        assert_eq!(canonical_uri("/v5/%E4%B8%AD"), "/v5/%E4%B8%AD/");
        assert_eq!(canonical_uri("/a:b@c"), "/a%3Ab%40c/");
        assert_eq!(canonical_uri("/a-b_c.d~e"), "/a-b_c.d~e/");
    }

    #[test]
    fn the_query_is_sorted_and_encoded_however_it_was_written() {
        let want = "limit=10&marker=a%20b&name=x%2By";
        for q in [
            "limit=10&marker=a%20b&name=x%2By",
            "marker=a+b&name=x%2by&limit=10",
            "name=x%2By&limit=10&marker=a%20b",
        ] {
            assert_eq!(canonical_query(q), want, "{q}");
        }
    }

    #[test]
    fn repeated_keys_keep_every_value_sorted_and_bare_keys_get_an_equals() {
        assert_eq!(canonical_query("b=2&a&b=1&&c="), "a=&b=1&b=2&c=");
    }

    #[test]
    fn only_unreserved_characters_stay_unencoded() {
        assert_eq!(
            canonical_query("k=A-Za-z0-9_.~!*'()%2F%3F%E4%B8%AD"),
            "k=A-Za-z0-9_.~%21%2A%27%28%29%2F%3F%E4%B8%AD"
        );
    }

    #[test]
    fn names_with_an_underscore_and_authorization_are_not_signed() {
        assert!(is_signed_header("x-sdk-date"));
        assert!(is_signed_header("content-type"));
        assert!(!is_signed_header("x_custom"));
        assert!(!is_signed_header("authorization"));
    }

    #[test]
    fn values_are_trimmed_but_inner_spaces_kept() {
        assert_eq!(trim("  a  b \t"), "a  b");
        assert_eq!(trim("\t é \t"), "é");
        assert_eq!(trim(" \t "), "");
        assert_eq!(trim(""), "");
    }

    #[test]
    fn splitting_keeps_every_part_as_str_split_does() {
        for text in ["", "&", "a", "a&b", "&a&&b&", "é&ü"] {
            assert_eq!(
                split_ascii(text, b'&').collect::<Vec<_>>(),
                text.split('&').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn json_and_bson_are_signed_other_content_types_are_not() {
        assert!(!is_unsigned_content_type("application/json"));
        assert!(!is_unsigned_content_type("Application/JSON; charset=UTF-8"));
        assert!(!is_unsigned_content_type("application/bson"));
        assert!(is_unsigned_content_type("application/octet-stream"));
        assert!(is_unsigned_content_type("text/plain"));
    }

    #[test]
    fn unreserved_bytes_are_exactly_those_the_encoding_leaves() {
        for byte in 0..=u8::MAX {
            let encoded: String = percent_encode(&[byte], ENCODE).collect();
            assert_eq!(is_unreserved(byte), encoded.len() == 1, "{byte:#04x}");
        }
    }

    proptest! {
        #[test]
        fn the_shortcut_for_plain_paths_signs_as_the_general_rule(
            path in "([a-z0-9/._~-]{1,4}|[ -~]|\\PC){0,6}"
        ) {
            let mut general = String::new();
            uri_decoded(&path, &mut general);
            prop_assert_eq!(canonical_uri(&path), general);
        }

        #[test]
        fn the_shortcut_for_plain_queries_signs_as_the_general_rule(
            q in "([a-z0-9=&._~-]{1,4}|[ -~]|\\PC){1,8}"
        ) {
            let mut general = String::new();
            write_query(&q, false, &mut general);
            prop_assert_eq!(canonical_query(&q), general);
        }

        #[test]
        fn a_query_signs_the_same_in_any_order(
            mut pairs in proptest::collection::vec(("[a-z%+ 0-9]{0,6}", "\\PC{0,6}"), 0..6)
        ) {
            let write = |pairs: &[(String, String)]| {
                let mut q = String::new();
                for (k, v) in pairs {
                    if !q.is_empty() {
                        q.push('&');
                    }
                    q.extend(utf8_percent_encode(k, ENCODE));
                    q.push('=');
                    q.extend(utf8_percent_encode(v, ENCODE));
                }
                canonical_query(&q)
            };
            let first = write(&pairs);
            pairs.reverse();
            prop_assert_eq!(write(&pairs), first);
        }

        #[test]
        fn the_canonical_uri_ends_in_a_slash_and_never_panics(path in "\\PC{0,30}") {
            let uri = canonical_uri(&path);
            prop_assert!(uri.starts_with('/') && uri.ends_with('/'));
        }

        #[test]
        fn canonical_queries_never_panic(q in "[a-z=&%+0-9A-F\\PC]{0,30}") {
            let _ = canonical_query(&q);
        }
    }
}
