//! The fast path: the common flat shape, `{"error_code","error_msg","request_id"
//! [,"encoded_authorization_message"]}`, borrowed straight from the body by serde.

use std::borrow::Cow;

use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::fields::{ENCODED_KEY, Field, Level, request_id_of};
use super::{Decoded, message_or_text, request_ids};

/// The flat shape and nothing else: any other key (`error`, `details`, `code`, `errorCode`, or
/// one holding a nested object the walk would search), a key sent twice, or a string that is
/// not valid (invalid UTF-8, a lone surrogate) fails it and sends the body to the walk.
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

/// Decodes the flat shape of a body that starts with `{`; `None` sends the body to the
/// walk, which gives the same result for every body this accepts.
pub(super) fn decode<C>(
    headers: &HeaderMap,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Option<Decoded<C>> {
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
    let (request_id, gateway_request_id) = request_ids(request_id_of(get), headers);
    Some(Decoded {
        code: Some(code),
        code_tentative: false,
        message: message_or_text(level.message, body),
        request_id,
        gateway_request_id,
        encoded_authorization_message: get(ENCODED_KEY).and_then(Field::ident).map(str::to_owned),
        details: Vec::new(),
    })
}
