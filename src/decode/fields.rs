//! The field rules, shared by the fast path and the walk: which keys hold what, in which
//! order they are tried, and how a value found under one is kept.

use std::borrow::Cow;

use super::json::Value;
use super::{MAX_FIELD_LEN, bounded, bounded_field, trim};

/// Writes [`Key`] from one table: the variants, the key each is sent as, and the lookup
/// both ways.
macro_rules! keys {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)*) => {
        /// A key whose scalar the rules read. The fast path keeps one slot for each,
        /// found by [`Key::sent_at`] (or, for a key with an escape, [`Key::of`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Key {
            $($(#[$doc])* $variant,)*
        }

        impl Key {
            /// How many keys there are; `key as usize` is below it.
            pub(super) const COUNT: usize = [$(Key::$variant),*].len();

            /// The key as sent.
            pub(super) const fn as_str(self) -> &'static str {
                match self {
                    $(Key::$variant => $wire,)*
                }
            }

            /// The key whose text is `wire` (decoded), if the rules read it.
            pub(super) fn of(wire: &str) -> Option<Key> {
                match wire {
                    $($wire => Some(Key::$variant),)*
                    _ => None,
                }
            }

            /// The key that `rest`, the bytes after a key's opening quote, starts with,
            /// sent as it is and followed by its closing quote: read without a scan for
            /// that quote, or a check of the key's UTF-8.
            #[inline]
            pub(super) fn sent_at(rest: &[u8]) -> Option<Key> {
                $(if rest.get($wire.len()) == Some(&b'"') && rest.starts_with($wire.as_bytes()) {
                    return Some(Key::$variant);
                })*
                None
            }
        }
    };
}

keys! {
    ErrorCode => "error_code",
    ErrorCodeCamel => "errorCode",
    Code => "code",
    ErrorMsg => "error_msg",
    ErrorMsgCamel => "errorMsg",
    Message => "message",
    Title => "title",
    RequestId => "request_id",
    RequestIdCamel => "requestId",
    /// `encoded_authorization_message`.
    Encoded => "encoded_authorization_message",
}

/// Keys holding the code, in the order they are tried.
const WIRE_CODE_KEYS: [Key; 2] = [Key::ErrorCode, Key::ErrorCodeCamel];
/// Keys holding the message when the code came from [`WIRE_CODE_KEYS`] or no code was found.
const WIRE_MESSAGE_KEYS: [Key; 4] = [Key::ErrorMsg, Key::ErrorMsgCamel, Key::Message, Key::Title];
/// The code key tried when a level has none of [`WIRE_CODE_KEYS`].
const PLAIN_CODE_KEY: Key = Key::Code;
/// Keys holding the message when the code came from [`PLAIN_CODE_KEY`].
const PLAIN_MESSAGE_KEYS: [Key; 4] = [Key::Message, Key::Title, Key::ErrorMsg, Key::ErrorMsgCamel];
/// Keys holding the request id.
const REQUEST_ID_KEYS: [Key; 2] = [Key::RequestId, Key::RequestIdCamel];
/// The nested object searched before any other.
pub(super) const ERROR_KEY: &str = "error";
/// The key holding an array of details.
pub(super) const DETAILS_KEY: &str = "details";

/// A scalar found under a key: a string, or a number literal as sent.
#[derive(Clone, Copy)]
pub(super) enum Field<'a> {
    Str(&'a str),
    Num(&'a str),
}

impl<'a> Field<'a> {
    /// The scalar a value holds, if the rules read it: a string or a number (`true`,
    /// `false`, `null` and containers hold none).
    #[inline]
    pub(super) fn of(value: &'a Value<'_>) -> Option<Self> {
        match value {
            Value::Str(s) => Some(Field::Str(s)),
            Value::Num(n) => Some(Field::Num(n)),
            Value::Container(_) | Value::Literal => None,
        }
    }

    /// A code: a non-blank string (trimmed, borrowed unless cut), bounded, or an integer
    /// in decimal.
    fn code(self) -> Option<Cow<'a, str>> {
        match self {
            Field::Str(s) => nonblank(trim(s)).map(bounded_field),
            Field::Num(n) => integer_code(n).map(Cow::Owned),
        }
    }

    /// A message: a non-blank string, as sent.
    fn message(self) -> Option<&'a str> {
        match self {
            // One that starts with visible ASCII is not blank: no char to decode.
            Field::Str(s) if s.as_bytes().first().is_some_and(u8::is_ascii_graphic) => Some(s),
            Field::Str(s) if !s.trim_start().is_empty() => Some(s),
            _ => None,
        }
    }

    /// An identifier (request id, encoded message): a non-blank string, trimmed.
    pub(super) fn ident(self) -> Option<&'a str> {
        match self {
            Field::Str(s) => nonblank(trim(s)),
            Field::Num(_) => None,
        }
    }
}

/// A number literal (JSON syntax) as a code, when it is an integer: its digits as sent
/// (without leading zeros, `-0` as `0`), however many; or a fraction or exponent form of
/// an integer within ±2^53 (`401.0`, `4.01e2`), which an `f64` holds exactly. Anything
/// else is no code: `4.5` is not one, and `1.2345678901234568e23` would invent digits.
fn integer_code(literal: &str) -> Option<String> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let (negative, digits) = match literal.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, literal),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let digits = digits.trim_start_matches('0');
        return Some(match (digits.is_empty(), negative) {
            (true, _) => "0".to_owned(),
            (false, true) => bounded(&format!("-{digits}"), MAX_FIELD_LEN),
            (false, false) => bounded(digits, MAX_FIELD_LEN),
        });
    }
    let f: f64 = literal.parse().ok()?;
    // An integer within ±2^53 converts exactly.
    (f.fract() == 0.0 && f.abs() <= EXACT).then(|| (f as i64).to_string())
}

fn nonblank(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The code and message of one object level.
pub(super) struct Level<'a> {
    pub(super) code: Option<Cow<'a, str>>,
    /// The code came from `error_code`, the key nothing at the same level can outrank.
    pub(super) code_is_final: bool,
    pub(super) message: Option<&'a str>,
}

impl<'a> Level<'a> {
    /// `error_code`/`error_msg` (or camelCase); when the level has no such code, `code`/`message`
    /// (`title` as message fallback). A message without a code is kept.
    #[inline]
    pub(super) fn read(get: impl Fn(Key) -> Option<Field<'a>>) -> Self {
        let message = |keys: &[Key]| keys.iter().find_map(|k| get(*k)?.message());
        let wire = WIRE_CODE_KEYS
            .iter()
            .enumerate()
            .find_map(|(rank, k)| Some((rank, get(*k)?.code()?)));
        if let Some((rank, code)) = wire {
            Level {
                code: Some(code),
                code_is_final: rank == 0,
                message: message(&WIRE_MESSAGE_KEYS),
            }
        } else if let Some(code) = get(PLAIN_CODE_KEY).and_then(Field::code) {
            Level {
                code: Some(code),
                code_is_final: false,
                message: message(&PLAIN_MESSAGE_KEYS),
            }
        } else {
            Level {
                code: None,
                code_is_final: false,
                message: message(&WIRE_MESSAGE_KEYS),
            }
        }
    }
}

/// The level's request id.
#[inline]
pub(super) fn request_id_of<'a>(get: impl Fn(Key) -> Option<Field<'a>>) -> Option<&'a str> {
    REQUEST_ID_KEYS.iter().find_map(|k| get(*k)?.ident())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_codes_keep_the_digits_sent() {
        for (literal, code) in [
            ("401", Some("401")),
            ("-0", Some("0")),
            ("0", Some("0")),
            ("-17", Some("-17")),
            ("18446744073709551615", Some("18446744073709551615")),
            ("123456789012345678901234", Some("123456789012345678901234")),
            (
                "-123456789012345678901234",
                Some("-123456789012345678901234"),
            ),
            ("401.0", Some("401")),
            ("4.01e2", Some("401")),
            ("-0.0", Some("0")),
            ("9007199254740992.0", Some("9007199254740992")),
            ("9007199254740994.0", None),
            ("4.5", None),
            ("1e999", None),
            ("1.2345678901234568e23", None),
        ] {
            assert_eq!(integer_code(literal).as_deref(), code, "{literal}");
        }
        let long = "7".repeat(500);
        let code = integer_code(&long).unwrap();
        assert_eq!(code.len(), MAX_FIELD_LEN);
        assert!(code.starts_with("777"));
    }

    #[test]
    fn a_level_prefers_error_code_then_error_code_camel_then_code() {
        let level = |pairs: &'static [(&'static str, &'static str)]| {
            Level::read(move |key| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key.as_str())
                    .map(|(_, v)| Field::Str(v))
            })
        };
        let l = level(&[("code", "C"), ("errorCode", "B"), ("error_code", " A ")]);
        assert_eq!((l.code.as_deref(), l.code_is_final), (Some("A"), true));
        let l = level(&[("code", "C"), ("errorCode", "B"), ("message", "m")]);
        assert_eq!((l.code.as_deref(), l.code_is_final), (Some("B"), false));
        assert_eq!(l.message, Some("m"));
        let l = level(&[("code", "C"), ("title", "t"), ("error_msg", "e")]);
        assert_eq!((l.code.as_deref(), l.message), (Some("C"), Some("t")));
        let l = level(&[("error_code", " "), ("error_msg", " ")]);
        assert_eq!((l.code, l.message), (None, None));
    }
}
