//! The canonical request's parts: URI, query, headers. One function a rule.

use percent_encoding::{
    AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode, utf8_percent_encode,
};

/// Every byte but `A-Z a-z 0-9 - _ . ~` is written `%XX` (upper-case hex).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Appends `text` percent-encoded to `out`.
fn encode_into(out: &mut String, text: &str) {
    out.extend(utf8_percent_encode(text, ENCODE));
}

/// Decodes `%XX` escapes (and, in a query, `+` as a space). A sequence that is
/// not UTF-8 once decoded is kept as it was written. Text with nothing to
/// decode (most keys and values) is borrowed, not copied.
fn decode(text: &str, plus_is_space: bool) -> std::borrow::Cow<'_, str> {
    if !text.contains('%') && (!plus_is_space || !text.contains('+')) {
        return std::borrow::Cow::Borrowed(text);
    }
    let spaced;
    let text = if plus_is_space && text.contains('+') {
        spaced = text.replace('+', " ");
        &*spaced
    } else {
        text
    };
    match percent_decode_str(text).decode_utf8() {
        Ok(decoded) => std::borrow::Cow::Owned(decoded.into_owned()),
        Err(_) => std::borrow::Cow::Owned(text.to_owned()),
    }
}

/// The canonical URI: the path decoded, split on `/`, each segment
/// percent-encoded, and a `/` at the end (`/v5/agencies` signs as
/// `/v5/agencies/`, an empty path as `/`, and `a%20b%2Fc` as `a%20b/c`, as
/// the Python SDK signs a path parameter `a b/c`).
pub(crate) fn uri(path: &str, out: &mut String) {
    let start = out.len();
    let decoded: std::borrow::Cow<'_, [u8]> = percent_decode_str(path).into();
    for (i, segment) in decoded.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(percent_encode(segment, ENCODE));
    }
    if !out[start..].starts_with('/') {
        out.insert(start, '/');
    }
    if !out.ends_with('/') {
        out.push('/');
    }
}

/// The canonical query: pairs decoded (`+` and `%20` both a space), sorted by
/// key then value, each re-encoded as `key=value` and joined by `&`; a key
/// without a value is `key=`.
pub(crate) fn query(query: Option<&str>, out: &mut String) {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return;
    };
    let mut pairs: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key, true), decode(value, true))
        })
        .collect();
    pairs.sort_unstable();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(out, key);
        out.push('=');
        encode_into(out, value);
    }
}

/// Whether a header is signed: every header but those whose name has a `_`
/// (the SDKs skip them) and `Authorization` itself.
pub(crate) fn is_signed_header(lower_name: &str) -> bool {
    !lower_name.contains('_') && lower_name != "authorization"
}

/// A header value as signed: spaces and tabs trimmed at both ends, inner ones kept.
pub(crate) fn trim(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// Whether a `Content-Type` makes the SDKs send `UNSIGNED-PAYLOAD`: present
/// and neither `application/json` nor `application/bson` (parameters such
/// as `;charset=UTF-8` allowed).
pub(crate) fn is_unsigned_content_type(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
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
    }

    #[test]
    fn json_and_bson_are_signed_other_content_types_are_not() {
        assert!(!is_unsigned_content_type("application/json"));
        assert!(!is_unsigned_content_type("Application/JSON; charset=UTF-8"));
        assert!(!is_unsigned_content_type("application/bson"));
        assert!(is_unsigned_content_type("application/octet-stream"));
        assert!(is_unsigned_content_type("text/plain"));
    }

    proptest! {
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
