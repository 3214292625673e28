//! A lenient JSON reader: reads a body that starts with `{` or `[` into a flat tree of
//! containers and entries, with an explicit stack instead of recursion, in one pass.
//!
//! Lenient where the Python SDK's `json.loads` is lenient or where a lossy reading is
//! better than none: invalid UTF-8 and invalid escapes (lone surrogates included) become
//! U+FFFD, raw control characters in strings are kept, number literals are kept as sent
//! (never rounded through an `f64`), and what follows the top-level value is ignored.
//! Where the body breaks off (it ends, or a byte does not fit the grammar), reading stops
//! and the tree holds every entry completed before that point: a string or number cut
//! short is not an entry.

use std::borrow::Cow;

/// No entry: the end of a container's list.
const NONE: u32 = u32::MAX;

/// A value under a key (or in an array).
pub(super) enum Value<'a> {
    Str(Cow<'a, str>),
    /// A number literal, as sent.
    Num(&'a str),
    /// An object or array: its index in [`Doc::containers`].
    Container(u32),
    /// `true`, `false` or `null`.
    Literal,
}

/// One member of an object, or one element of an array (without a key).
pub(super) struct Entry<'a> {
    pub(super) key: Option<Cow<'a, str>>,
    pub(super) value: Value<'a>,
    /// The container's next entry, or [`NONE`].
    next: u32,
}

/// An object or an array.
pub(super) struct Container {
    pub(super) is_object: bool,
    /// Whether its closing bracket was read.
    pub(super) closed: bool,
    first: u32,
}

/// The tree read from a body: container 0 is the top-level value.
pub(super) struct Doc<'a> {
    pub(super) containers: Vec<Container>,
    entries: Vec<Entry<'a>>,
    /// Whether the top-level value was read to its end.
    pub(super) complete: bool,
}

impl<'a> Doc<'a> {
    /// The entries of container `index`, in the order sent.
    pub(super) fn entries(&self, index: u32) -> impl Iterator<Item = &Entry<'a>> {
        let first = self
            .containers
            .get(index as usize)
            .map_or(NONE, |container| container.first);
        std::iter::successors(self.entries.get(first as usize), |entry| {
            self.entries.get(entry.next as usize)
        })
    }

    /// The first value under `key` in object `index` (a key sent twice counts the first time).
    pub(super) fn get(&self, index: u32, key: &str) -> Option<&Value<'a>> {
        self.entries(index)
            .find(|entry| entry.key.as_deref() == Some(key))
            .map(|entry| &entry.value)
    }

    /// Whether `index` is an object.
    pub(super) fn is_object(&self, index: u32) -> bool {
        self.containers
            .get(index as usize)
            .is_some_and(|container| container.is_object)
    }

    /// Appends an entry to the open container `open`.
    fn push(&mut self, open: &mut Open, key: Option<Cow<'a, str>>, value: Value<'a>) {
        let at = u32::try_from(self.entries.len()).unwrap_or(NONE);
        self.entries.push(Entry {
            key,
            value,
            next: NONE,
        });
        match self.entries.get_mut(open.last as usize) {
            Some(last) => last.next = at,
            None => {
                if let Some(container) = self.containers.get_mut(open.container as usize) {
                    container.first = at;
                }
            }
        }
        open.last = at;
    }

    /// Starts a container, a child of `parent` (none for the top level).
    fn open(
        &mut self,
        parent: Option<&mut Open>,
        key: Option<Cow<'a, str>>,
        is_object: bool,
    ) -> Open {
        let index = u32::try_from(self.containers.len()).unwrap_or(NONE);
        self.containers.push(Container {
            is_object,
            closed: false,
            first: NONE,
        });
        if let Some(parent) = parent {
            self.push(parent, key, Value::Container(index));
        }
        Open {
            container: index,
            last: NONE,
            is_object,
        }
    }
}

/// A container being read.
struct Open {
    container: u32,
    last: u32,
    is_object: bool,
}

/// What the reader expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (after `:` or `,` in an array, or at the start).
    Value,
    /// A value or `]` (after `[`).
    ValueOrClose,
    /// A key or `}` (after `{`).
    KeyOrClose,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the closing bracket, after a value.
    CommaOrClose,
}

/// Reads `body` (which starts with `{` or `[`) as far as it is JSON.
pub(super) fn read(body: &[u8]) -> Doc<'_> {
    // Containers and entries both grow with the body; a rough first guess saves regrowing.
    let mut doc = Doc {
        containers: Vec::with_capacity(4),
        entries: Vec::with_capacity(8),
        complete: false,
    };
    let mut stack: Vec<Open> = Vec::new();
    let mut expect = Expect::Value;
    let mut key: Option<Cow<'_, str>> = None;
    let mut i = 0;
    loop {
        i = skip_ws(body, i);
        let Some(&byte) = body.get(i) else { break };
        match expect {
            Expect::KeyOrClose | Expect::Key => {
                if byte == b'}' && expect == Expect::KeyOrClose {
                    i += 1;
                    if close(&mut doc, &mut stack) {
                        break;
                    }
                    expect = Expect::CommaOrClose;
                } else if byte == b'"' {
                    let Some((s, end)) = string(body, i) else {
                        break;
                    };
                    key = Some(s);
                    i = end;
                    expect = Expect::Colon;
                } else {
                    break;
                }
            }
            Expect::Colon => {
                if byte != b':' {
                    break;
                }
                i += 1;
                expect = Expect::Value;
            }
            Expect::CommaOrClose => {
                let Some(top) = stack.last() else { break };
                match (byte, top.is_object) {
                    (b',', true) => expect = Expect::Key,
                    (b',', false) => expect = Expect::Value,
                    (b'}', true) | (b']', false) => {
                        if close(&mut doc, &mut stack) {
                            break;
                        }
                    }
                    _ => break,
                }
                i += 1;
            }
            Expect::Value | Expect::ValueOrClose => {
                if byte == b']' && expect == Expect::ValueOrClose {
                    i += 1;
                    if close(&mut doc, &mut stack) {
                        break;
                    }
                    expect = Expect::CommaOrClose;
                    continue;
                }
                if byte == b'{' || byte == b'[' {
                    let is_object = byte == b'{';
                    let open = doc.open(stack.last_mut(), key.take(), is_object);
                    stack.push(open);
                    i += 1;
                    expect = if is_object {
                        Expect::KeyOrClose
                    } else {
                        Expect::ValueOrClose
                    };
                    continue;
                }
                let Some((value, end)) = scalar(body, i) else {
                    break;
                };
                i = end;
                // A scalar before any container: not a body this reader is given.
                let Some(open) = stack.last_mut() else { break };
                doc.push(open, key.take(), value);
                expect = Expect::CommaOrClose;
            }
        }
    }
    doc
}

/// Closes the innermost open container; `true` when that was the top level.
fn close(doc: &mut Doc<'_>, stack: &mut Vec<Open>) -> bool {
    if let Some(open) = stack.pop() {
        if let Some(container) = doc.containers.get_mut(open.container as usize) {
            container.closed = true;
        }
    }
    let done = stack.is_empty();
    doc.complete = done;
    done
}

/// The scalar value starting at `i` (a string, a number, `true`, `false` or `null`) and
/// the index after it; `None` when no complete scalar starts there (a container starts
/// there, or the body breaks off or does not fit the grammar).
pub(super) fn scalar(body: &[u8], i: usize) -> Option<(Value<'_>, usize)> {
    match body.get(i)? {
        b'"' => string(body, i).map(|(s, end)| (Value::Str(s), end)),
        b'-' | b'0'..=b'9' => number(body, i).map(|(n, end)| (Value::Num(n), end)),
        &first @ (b't' | b'f' | b'n') => {
            let word: &[u8] = match first {
                b't' => b"true",
                b'f' => b"false",
                _ => b"null",
            };
            let end = i + word.len();
            (body.get(i..end)? == word).then_some((Value::Literal, end))
        }
        _ => None,
    }
}

/// The index of the first byte at or after `i` that is not JSON white space.
pub(super) fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while matches!(body.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// The number literal starting at `start` and the index after it, if it is complete
/// (followed by a byte that may follow a value).
fn number(body: &[u8], start: usize) -> Option<(&str, usize)> {
    let digits = |from: usize| {
        body.get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut end = start + usize::from(body.get(start) == Some(&b'-'));
    let int = digits(end);
    if int == 0 {
        return None;
    }
    end += int;
    if body.get(end) == Some(&b'.') {
        let frac = digits(end + 1);
        if frac == 0 {
            return None;
        }
        end += 1 + frac;
    }
    if matches!(body.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(body.get(end + 1), Some(b'+' | b'-')));
        let exp = digits(end + 1 + sign);
        if exp == 0 {
            return None;
        }
        end += 1 + sign + exp;
    }
    match body.get(end) {
        Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') => {
            let literal = std::str::from_utf8(body.get(start..end)?).ok()?;
            Some((literal, end))
        }
        _ => None,
    }
}

/// The string literal opening at `open`, decoded, and the index after its closing quote;
/// `None` when it is not closed.
pub(super) fn string(body: &[u8], open: usize) -> Option<(Cow<'_, str>, usize)> {
    let (raw, escaped, end) = raw_string(body, open)?;
    let text = if escaped {
        Cow::Owned(unescape(raw))
    } else {
        // `from_utf8` checks many bytes at a time, `from_utf8_lossy` one char at a time.
        match std::str::from_utf8(raw) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(raw),
        }
    };
    Some((text, end))
}

/// The string literal opening at `open` as sent: its contents between the quotes, whether
/// they hold an escape, and the index after its closing quote; `None` when it is not
/// closed.
pub(super) fn raw_string(body: &[u8], open: usize) -> Option<(&[u8], bool, usize)> {
    let start = open + 1;
    let mut i = start;
    let mut escaped = false;
    loop {
        i += memchr::memchr2(b'"', b'\\', body.get(i..)?)?;
        if body.get(i) == Some(&b'"') {
            break;
        }
        escaped = true;
        i += 2;
    }
    Some((body.get(start..i)?, escaped, i + 1))
}

/// The contents of a string literal with its escapes decoded; an invalid escape (a lone
/// surrogate, `\x`, a short `\u`) becomes U+FFFD, and so do bytes that are not UTF-8.
pub(super) fn unescape(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.iter().position(|&b| b == b'\\') {
        out.push_str(&String::from_utf8_lossy(rest.get(..at).unwrap_or_default()));
        let escape = rest.get(at + 1).copied();
        rest = rest.get(at + 2..).unwrap_or_default();
        let c = match escape {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => match hex4(rest) {
                Some(high @ 0xD800..=0xDBFF) => {
                    rest = rest.get(4..).unwrap_or_default();
                    let low = rest
                        .strip_prefix(b"\\u")
                        .and_then(hex4)
                        .filter(|low| (0xDC00..=0xDFFF).contains(low));
                    match low {
                        Some(low) => {
                            rest = rest.get(6..).unwrap_or_default();
                            let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                            char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
                        }
                        None => char::REPLACEMENT_CHARACTER,
                    }
                }
                Some(unit) => {
                    rest = rest.get(4..).unwrap_or_default();
                    char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
                None => char::REPLACEMENT_CHARACTER,
            },
            _ => char::REPLACEMENT_CHARACTER,
        };
        out.push(c);
    }
    out.push_str(&String::from_utf8_lossy(rest));
    out
}

/// Four hex digits at the start of `bytes`.
fn hex4(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.get(..4)?;
    let text = std::str::from_utf8(digits).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(doc: &Doc<'_>, index: u32) -> Vec<String> {
        doc.entries(index)
            .map(|e| e.key.as_deref().unwrap_or("-").to_owned())
            .collect()
    }

    #[test]
    fn reads_objects_and_arrays_in_order() {
        let doc = read(br#"{"b": 1, "a": {"x": [1, "s", null, {"y": true}]}, "b": 2.5e3}"#);
        assert!(doc.complete);
        assert_eq!(keys(&doc, 0), ["b", "a", "b"]);
        assert!(matches!(doc.get(0, "b"), Some(Value::Num("1"))));
        let Some(Value::Container(a)) = doc.get(0, "a") else {
            panic!("a")
        };
        let Some(Value::Container(x)) = doc.get(*a, "x") else {
            panic!("x")
        };
        assert!(!doc.is_object(*x));
        assert_eq!(doc.entries(*x).count(), 4);
    }

    #[test]
    fn a_cut_body_keeps_what_was_complete() {
        let doc = read(br#"{"a":"done","b":{"c":"cu"#);
        assert!(!doc.complete);
        assert_eq!(keys(&doc, 0), ["a", "b"]);
        assert_eq!(doc.entries(1).count(), 0);
        assert!(!doc.containers[0].closed);
        // A number is complete only once something follows it.
        let doc = read(br#"{"code":40"#);
        assert!(doc.get(0, "code").is_none());
        let doc = read(br#"{"code":401}"#);
        assert!(doc.complete && doc.containers[0].closed);
        // A syntax error ends the reading as a cut does.
        let doc = read(br#"{"a":"x" "b":"y"}"#);
        assert!(!doc.complete);
        assert_eq!(keys(&doc, 0), ["a"]);
    }

    #[test]
    fn strings_are_decoded_lossily() {
        let s = |literal: &[u8]| string(literal, 0).map(|(s, _)| s.into_owned());
        assert_eq!(s(br#""plain""#).as_deref(), Some("plain"));
        assert_eq!(
            s(br#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#).as_deref(),
            Some("a\"b\\c/d\n\u{e9}\u{1f600}")
        );
        assert_eq!(s(br#""\ud800x""#).as_deref(), Some("\u{fffd}x"));
        assert_eq!(s(br#""\udc00""#).as_deref(), Some("\u{fffd}"));
        assert_eq!(s(br#""\ud800\u0041""#).as_deref(), Some("\u{fffd}A"));
        assert_eq!(s(br#""\x\u12""#).as_deref(), Some("\u{fffd}\u{fffd}12"));
        assert_eq!(s(b"\"caf\xe9\"").as_deref(), Some("caf\u{fffd}"));
        assert_eq!(s(b"\"caf\xe9\\n\"").as_deref(), Some("caf\u{fffd}\n"));
        assert_eq!(s(br#""open"#), None);
        assert_eq!(s(br#""ends in \"#), None);
    }

    #[test]
    fn numbers_are_kept_as_sent() {
        for literal in [
            "0",
            "-0",
            "401",
            "4.5",
            "1e999",
            "-1.5E+3",
            "123456789012345678901234",
        ] {
            let body = format!("[{literal}]");
            let doc = read(body.as_bytes());
            let first = doc.entries(0).next().map(|e| &e.value);
            assert!(
                matches!(first, Some(Value::Num(n)) if *n == literal),
                "{literal}"
            );
        }
        for bad in ["-", "1.", "1e", "1e+", ".5"] {
            let body = format!("[{bad}]");
            assert_eq!(read(body.as_bytes()).entries(0).count(), 0, "{bad}");
        }
    }

    #[test]
    fn depth_costs_no_stack() {
        let depth = 200_000;
        let body = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        let doc = read(body.as_bytes());
        assert!(doc.complete);
        assert_eq!(doc.containers.len(), depth);
    }
}
