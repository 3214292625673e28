//! The fast path: the common flat shape, `{"error_code","error_msg","request_id"
//! [,"encoded_authorization_message"]}`, borrowed straight from the body by serde.

use std::borrow::Cow;
use std::fmt;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::fields::{Field, Key, Level, request_id_of};
use super::{Decoded, message_or_text, request_ids};

/// The flat shape and nothing else: any other key (`error`, `details`, `code`, `errorCode`, or
/// one holding a nested object the walk would search), a key sent twice, a key with escapes,
/// or a value that is not a valid string or `null` (invalid UTF-8, a lone surrogate, a
/// number) fails it and sends the body to the walk.
#[derive(Default)]
struct FlatBody<'a> {
    error_code: Option<Cow<'a, str>>,
    error_msg: Option<Cow<'a, str>>,
    request_id: Option<Cow<'a, str>>,
    encoded_authorization_message: Option<Cow<'a, str>>,
}

/// A string or `null`, borrowed from the body unless it has escapes; read with one call
/// into serde_json (`Option<Cow<str>>` goes through `Option`, a newtype and `Cow`'s
/// visitor, and does not borrow).
struct MaybeStr<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrOrNull;
        impl<'de> Visitor<'de> for StrOrNull {
            type Value = MaybeStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or null")
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Borrowed(s))))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(s.to_owned()))))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
        }
        deserializer.deserialize_any(StrOrNull)
    }
}

/// Written by hand rather than derived with `deny_unknown_fields`, whose error for another
/// key formats a message listing the expected ones: the walk does not need to know why.
impl<'de> Deserialize<'de> for FlatBody<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Flat;
        impl<'de> Visitor<'de> for Flat {
            type Value = FlatBody<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the flat error shape")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut flat = FlatBody::default();
                while let Some(key) = map.next_key::<&'de str>()? {
                    const ERROR_CODE: &str = Key::ErrorCode.as_str();
                    const ERROR_MSG: &str = Key::ErrorMsg.as_str();
                    const REQUEST_ID: &str = Key::RequestId.as_str();
                    const ENCODED: &str = Key::Encoded.as_str();
                    let slot = match key {
                        ERROR_CODE => &mut flat.error_code,
                        ERROR_MSG => &mut flat.error_msg,
                        REQUEST_ID => &mut flat.request_id,
                        ENCODED => &mut flat.encoded_authorization_message,
                        _ => return Err(de::Error::custom("")),
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(""));
                    }
                    *slot = map.next_value::<MaybeStr<'de>>()?.0;
                }
                Ok(flat)
            }
        }
        deserializer.deserialize_map(Flat)
    }
}

/// Decodes the flat shape of a body that starts with `{`; `None` sends the body to the
/// walk, which gives the same result for every body this accepts.
pub(super) fn decode<C>(
    headers: &HeaderMap,
    body: &[u8],
    code_of: impl Fn(&str) -> C,
) -> Option<Decoded<C>> {
    let flat: FlatBody<'_> = serde_json::from_slice(body).ok()?;
    let get = |key: Key| {
        let value = match key {
            Key::ErrorCode => &flat.error_code,
            Key::ErrorMsg => &flat.error_msg,
            Key::RequestId => &flat.request_id,
            Key::Encoded => &flat.encoded_authorization_message,
            _ => return None,
        };
        value.as_deref().map(Field::Str)
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
        encoded_authorization_message: get(Key::Encoded).and_then(Field::ident).map(str::to_owned),
        details: Vec::new(),
    })
}
