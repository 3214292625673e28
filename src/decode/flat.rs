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
/// one holding a nested object the walk would search), a key sent twice (even after a
/// `null`), a key with escapes, a value that is not a valid string or `null` (invalid
/// UTF-8, a lone surrogate, a number), or an encoded message whose escapes decode to a
/// control character fails it and sends the body to the walk.
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

/// `encoded_authorization_message`, a kilobyte or more of base64: a string or `null`,
/// read by serde_json as raw bytes (it finds the closing quote with `memchr`) and checked
/// here as serde_json checks a string (valid UTF-8, no control character), which is
/// faster on a long value than serde_json's own scan for control characters. A value
/// whose escapes decode to a control character (`\n`) fails it too, as the decoded bytes
/// no longer tell an escaped one from a raw one; base64 has none.
struct MaybeLongStr<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for MaybeLongStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Cow<'de, str>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_bytes<E: de::Error>(self, b: &'de [u8]) -> Result<Self::Value, E> {
                json_str(b).map(Cow::Borrowed)
            }

            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Self::Value, E> {
                json_str(b).map(|s| Cow::Owned(s.to_owned()))
            }
        }
        struct BytesOrNull;
        impl<'de> Visitor<'de> for BytesOrNull {
            type Value = MaybeLongStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or null")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeLongStr(None))
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_bytes(Bytes).map(|s| MaybeLongStr(Some(s)))
            }
        }
        deserializer.deserialize_option(BytesOrNull)
    }
}

/// The contents of a JSON string as serde_json would accept them: UTF-8 without a control
/// character. The control characters are looked for without a branch a byte, so that the
/// compiler can test many bytes at once.
fn json_str<E: de::Error>(bytes: &[u8]) -> Result<&str, E> {
    let control = bytes.iter().fold(false, |found, &b| found | (b < 0x20));
    match std::str::from_utf8(bytes) {
        Ok(s) if !control => Ok(s),
        _ => Err(de::Error::custom("")),
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
                // Keys as raw bytes: a key is one of these four or fails the shape, so
                // a key with escapes, control characters or invalid UTF-8 fails it without
                // serde_json checking its UTF-8.
                const ERROR_CODE: &[u8] = Key::ErrorCode.as_str().as_bytes();
                const ERROR_MSG: &[u8] = Key::ErrorMsg.as_str().as_bytes();
                const REQUEST_ID: &[u8] = Key::RequestId.as_str().as_bytes();
                const ENCODED: &[u8] = Key::Encoded.as_str().as_bytes();
                // One bit a key seen, null or not: a key sent twice fails the shape (the
                // walk counts the first, even when it is null).
                let mut seen = 0u8;
                while let Some(key) = map.next_key::<&'de [u8]>()? {
                    let (bit, slot) = match key {
                        ERROR_CODE => (1, &mut flat.error_code),
                        ERROR_MSG => (2, &mut flat.error_msg),
                        REQUEST_ID => (4, &mut flat.request_id),
                        ENCODED => (8, &mut flat.encoded_authorization_message),
                        _ => return Err(de::Error::custom("")),
                    };
                    if seen & bit != 0 {
                        return Err(de::Error::custom(""));
                    }
                    seen |= bit;
                    *slot = if bit == 8 {
                        map.next_value::<MaybeLongStr<'de>>()?.0
                    } else {
                        map.next_value::<MaybeStr<'de>>()?.0
                    };
                }
                Ok(flat)
            }
        }
        deserializer.deserialize_map(Flat)
    }
}

/// Decodes the flat shape of a body that starts with `{`; `None` sends the body to the
/// walk, which gives the same result for every body this accepts.
///
/// Inlined, so that its answer is written where the caller's goes rather than copied there.
#[inline(always)]
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
