//! The walk: the field rules applied to a [`Doc`]'s objects breadth-first (the top level,
//! then its `error` object before its other objects, then theirs), at any depth, with a
//! queue instead of recursion; each object is visited once.

use std::collections::VecDeque;

use reqwest::header::HeaderMap;

use super::fields::{DETAILS_KEY, ERROR_KEY, Field, Key, Level, request_id_of};
use super::json::{Doc, Value};
use super::{
    Decoded, Detail, MAX_DETAILS, MAX_MESSAGE_LEN, bounded, message_or_text, request_ids, text,
};

/// Decodes a body the [`json`](super::json) reader read into `doc`.
pub(super) fn decode<C>(
    headers: &HeaderMap,
    doc: &Doc<'_>,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Decoded<C> {
    // The top-level object, or a top-level array's first object.
    let root = if doc.is_object(0) {
        Some(0)
    } else {
        doc.entries(0).find_map(|entry| match entry.value {
            Value::Container(index) if doc.is_object(index) => Some(index),
            _ => None,
        })
    };
    let Some(root) = root else {
        return Decoded::message_only(text::raw_excerpt(body), headers);
    };

    let mut queue = VecDeque::from([root]);
    let mut coded: Option<(u32, Level<'_>)> = None;
    let mut first_message = None;
    let mut request_id = None;
    let mut encoded = None;
    let mut details = None;

    while let Some(object) = queue.pop_front() {
        let get = |key: Key| field(doc, object, key.as_str());
        if coded.is_none() || first_message.is_none() {
            let level = Level::read(get);
            first_message = first_message.or(level.message);
            if coded.is_none() && level.code.is_some() {
                coded = Some((object, level));
            }
        }
        request_id = request_id.or_else(|| request_id_of(get));
        encoded = encoded.or_else(|| get(Key::Encoded).and_then(Field::ident));
        if details.is_none() {
            if let Some(Value::Container(items)) = doc.get(object, DETAILS_KEY) {
                details = Some(read_details(doc, *items, &code_of)).filter(|d| !d.is_empty());
            }
        }
        // The first `error` object, then every other object, in the order sent.
        let children = || {
            doc.entries(object).filter_map(|entry| match entry.value {
                Value::Container(index) if doc.is_object(index) => {
                    Some((entry.key.as_deref() == Some(ERROR_KEY), index))
                }
                _ => None,
            })
        };
        let error = children().find(|(is_error, _)| *is_error).map(|(_, i)| i);
        queue.extend(error);
        queue.extend(
            children()
                .map(|(_, index)| index)
                .filter(|index| Some(*index) != error),
        );
    }

    // A body that broke off may have had a code of higher precedence after the break,
    // unless the top level is whole or its code came from `error_code`.
    let settled = |object: u32, level: &Level<'_>| {
        doc.complete
            || doc.containers.get(root as usize).is_some_and(|c| c.closed)
            || (object == root && level.code_is_final)
    };
    let (code, code_tentative, message) = match coded {
        Some((object, level)) => (
            level.code.as_deref().map(&code_of),
            !settled(object, &level),
            level.message.or(first_message),
        ),
        None => (None, false, first_message),
    };
    let (request_id, gateway_request_id) = request_ids(request_id, headers);
    Decoded {
        code,
        code_tentative,
        message: message_or_text(message, body),
        request_id,
        gateway_request_id,
        encoded_authorization_message: encoded.map(str::to_owned),
        details: details.unwrap_or_default(),
    }
}

/// The object entries of a `details` array that carry a code or a message.
fn read_details<C>(doc: &Doc<'_>, items: u32, code_of: impl Fn(&str) -> C) -> Vec<Detail<C>> {
    if doc.is_object(items) {
        return Vec::new();
    }
    doc.entries(items)
        .filter_map(|entry| match entry.value {
            Value::Container(index) if doc.is_object(index) => Some(index),
            _ => None,
        })
        .filter_map(|object| {
            let level = Level::read(|key| field(doc, object, key.as_str()));
            (level.code.is_some() || level.message.is_some()).then(|| Detail {
                code: level.code.map(|c| code_of(&c)),
                message: level
                    .message
                    .map_or_else(String::new, |m| bounded(m, MAX_MESSAGE_LEN)),
            })
        })
        .take(MAX_DETAILS)
        .collect()
}

/// The scalar under `key` in `object`: a string or a number.
fn field<'a>(doc: &'a Doc<'_>, object: u32, key: &str) -> Option<Field<'a>> {
    Field::of(doc.get(object, key)?)
}
