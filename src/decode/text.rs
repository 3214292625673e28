//! Bodies that are not a JSON object or array: HTML pages, plain text, a JSON string or
//! number, bytes that are not UTF-8. Each becomes a bounded, readable message.

use std::borrow::Cow;

use reqwest::header::HeaderMap;

use super::{Decoded, MAX_MESSAGE_LEN, bounded, json};

/// Decodes a body (trimmed at its start) that does not start with `{` or `[`.
pub(super) fn decode<C>(headers: &HeaderMap, body: &[u8]) -> Decoded<C> {
    let message = if body.first() == Some(&b'"') {
        json_string(body).unwrap_or_else(|| raw_excerpt(body))
    } else if body.first() == Some(&b'<') {
        html_excerpt(&lossy(body))
    } else {
        raw_excerpt(body)
    };
    Decoded::message_only(message, headers)
}

/// A body that is one JSON string: its contents, trimmed and bounded.
fn json_string(body: &[u8]) -> Option<String> {
    let (text, end) = json::string(body, 0)?;
    body.get(end..)?
        .trim_ascii()
        .is_empty()
        .then(|| bounded(text.trim(), MAX_MESSAGE_LEN))
}

/// The trimmed body text (lossily decoded), bounded.
pub(super) fn raw_excerpt(body: &[u8]) -> String {
    bounded(lossy(body).trim(), MAX_MESSAGE_LEN)
}

/// `String::from_utf8_lossy`, with the faster check of `str::from_utf8` first: most
/// bodies are valid UTF-8.
fn lossy(body: &[u8]) -> Cow<'_, str> {
    std::str::from_utf8(body).map_or_else(|_| String::from_utf8_lossy(body), Cow::Borrowed)
}

/// The readable text of an HTML page: `<script>`/`<style>` contents, comments and tags dropped,
/// the common entities decoded, whitespace runs collapsed to one space, trimmed and bounded.
fn html_excerpt(html: &str) -> String {
    let bytes = html.as_bytes();
    // Sized once: the excerpt is never longer than the page, nor (but for its last char)
    // than the bound.
    let mut out = String::with_capacity(html.len().min(MAX_MESSAGE_LEN + 4));
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
    if out.len() <= MAX_MESSAGE_LEN {
        out
    } else {
        bounded(&out, MAX_MESSAGE_LEN)
    }
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
    let tag_end = find_byte(bytes, open, b'>').map_or(bytes.len(), |at| at + 1);
    let raw_text_close: &[u8] = if name.eq_ignore_ascii_case(b"script") {
        b"</script"
    } else if name.eq_ignore_ascii_case(b"style") {
        b"</style"
    } else {
        return tag_end;
    };
    match find(bytes, tag_end, raw_text_close) {
        Some(close) => find_byte(bytes, close, b'>').map_or(bytes.len(), |at| at + 1),
        None => bytes.len(),
    }
}

/// The first index at or after `from` of `byte`.
fn find_byte(bytes: &[u8], from: usize, byte: u8) -> Option<usize> {
    let at = bytes.get(from..)?.iter().position(|&b| b == byte)?;
    Some(from + at)
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
