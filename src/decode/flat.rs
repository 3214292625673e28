//! The fast path: a top-level object whose values are all scalars (strings, numbers,
//! `true`, `false`, `null`), the flat shape IAM v5 sends:
//! `{"error_code","error_msg","request_id"[,"encoded_authorization_message"]}`.
//!
//! It is read with the [`json`](super::json) reader's own lexer, straight into one slot a
//! [`Key`], without building a tree; the field rules then read the slots as the walk
//! reads a tree's top level. Same lexer, same rules, same answer: a body this accepts
//! decodes as the walk would decode it. A nested object or array, or a body that breaks
//! off or leaves the grammar before its closing `}`, goes to the walk.

use reqwest::header::HeaderMap;

use super::fields::{Field, Key, Level, request_id_of};
use super::json::{self, Value};
use super::{Decoded, message_or_text, request_ids};

/// The value of each key the rules read, the first time it was sent (a key sent twice
/// counts the first time, even when that was `null`).
type Slots<'a> = [Option<Value<'a>>; Key::COUNT];

/// Decodes a body (white space and byte order marks already dropped) as one object of
/// scalars; `None` sends the body to the walk.
///
/// Inlined, so that its answer is written where the caller's goes rather than copied there.
#[inline(always)]
pub(super) fn decode<C>(
    headers: &HeaderMap,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Option<Decoded<C>> {
    let slots = read(body)?;
    let get = |key: Key| slots.get(key as usize)?.as_ref().and_then(Field::of);
    let level = Level::read(get);
    let (request_id, gateway_request_id) = request_ids(request_id_of(get), headers);
    Some(Decoded {
        code: level.code.as_deref().map(code_of),
        // The object was read to its closing `}`: nothing after it can outrank its code.
        code_tentative: false,
        message: message_or_text(level.message, body),
        request_id,
        gateway_request_id,
        encoded_authorization_message: get(Key::Encoded).and_then(Field::ident).map(str::to_owned),
        details: Vec::new(),
    })
}

/// Reads `body` as the JSON reader does, up to the top-level object's closing `}` (what
/// follows is ignored, as the reader ignores it); `None` when `body` does not start with
/// `{`, when a value is an object or an array, or when the body ends or leaves the
/// grammar (a missing `:` or `,`, a trailing comma, a bad literal) before that `}`.
#[inline]
fn read(body: &[u8]) -> Option<Slots<'_>> {
    if body.first() != Some(&b'{') {
        return None;
    }
    let mut slots = Slots::default();
    let mut i = json::skip_ws(body, 1);
    if body.get(i) == Some(&b'}') {
        return Some(slots);
    }
    loop {
        if body.get(i) != Some(&b'"') {
            return None;
        }
        let (key, end) = key(body, i)?;
        i = json::skip_ws(body, end);
        if body.get(i) != Some(&b':') {
            return None;
        }
        let (value, end) = json::scalar(body, json::skip_ws(body, i + 1))?;
        if let Some(slot) = key.and_then(|key| slots.get_mut(key as usize)) {
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        i = json::skip_ws(body, end);
        match body.get(i) {
            Some(b',') => i = json::skip_ws(body, i + 1),
            Some(b'}') => return Some(slots),
            _ => return None,
        }
    }
}

/// The key whose string opens at `open`, if the rules read it, and the index after its
/// closing quote; `None` when the string is not closed.
#[inline]
fn key(body: &[u8], open: usize) -> Option<(Option<Key>, usize)> {
    if let Some(key) = Key::sent_at(body.get(open + 1..)?) {
        return Some((Some(key), open + key.as_str().len() + 2));
    }
    // Any other key the rules read has an escape in it (`error\u005fcode`).
    let (raw, escaped, end) = json::raw_string(body, open)?;
    let key = escaped.then(|| Key::of(&json::unescape(raw))).flatten();
    Some((key, end))
}
