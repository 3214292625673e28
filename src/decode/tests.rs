//! The decoder's stages together, through [`decode`]: every body shape, cut bodies, the
//! bounds, the request ids, and properties over generated bodies.

use super::decode_by_walk as slow;
use super::*;
use proptest::prelude::*;
use reqwest::header::HeaderValue;

fn no_headers() -> HeaderMap {
    HeaderMap::new()
}

fn with_request_id(value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("X-Request-Id", value);
    headers
}

fn dec(body: &str) -> Decoded {
    decode(&no_headers(), body.as_bytes())
}

fn owned(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn detail(code: &str, message: &str) -> Detail {
    Detail {
        code: owned(code),
        message: message.to_owned(),
    }
}

// ----- body shapes -----

#[test]
fn the_flat_shape_takes_the_fast_path() {
    let body =
        r#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"0a1b2c"}"#;
    assert!(
        flat::decode(&no_headers(), body.as_bytes(), str::to_owned).is_some(),
        "fast path taken"
    );
    assert_eq!(
        dec(body),
        Decoded {
            code: owned("PAP5.0006"),
            message: "concurrent modification".into(),
            request_id: owned("0a1b2c"),
            ..Decoded::default()
        }
    );
}

#[test]
fn nested_error_object_with_encoded_authorization_message() {
    let body = r#"{"error":{"code":"IAM.0002","message":"denied","encoded_authorization_message":"ZW5j"}}"#;
    let decoded = dec(body);
    assert_eq!(decoded.code, owned("IAM.0002"));
    assert_eq!(decoded.message, "denied");
    assert_eq!(decoded.encoded_authorization_message, owned("ZW5j"));
}

#[test]
fn mixed_flat_and_nested() {
    // Code and message from the nested level, request id and encoded message from the top.
    let body = r#"{"request_id":"top-id","encoded_authorization_message":"ZW5j","error":{"code":"APIGW.0308","message":"throttled"}}"#;
    assert_eq!(
        dec(body),
        Decoded {
            code: owned("APIGW.0308"),
            message: "throttled".into(),
            request_id: owned("top-id"),
            encoded_authorization_message: owned("ZW5j"),
            ..Decoded::default()
        }
    );
    // The top level has a message but no code: the nested code wins, with its own message.
    let body = r#"{"error_msg":"outer","error":{"error_code":"X.1","error_msg":"inner","request_id":"deep"}}"#;
    let decoded = dec(body);
    assert_eq!(decoded.code, owned("X.1"));
    assert_eq!(decoded.message, "inner");
    assert_eq!(decoded.request_id, owned("deep"));
    // The coded level has no message: the message is filled from another level.
    let decoded = dec(r#"{"message":"outer only","error":{"code":"X.2"}}"#);
    assert_eq!(
        (decoded.code, decoded.message),
        (owned("X.2"), "outer only".into())
    );
}

#[test]
fn details_array() {
    let body = r#"{"error_code":"PAP5.0010","error_msg":"invalid","details":[{"error_code":"A.1","error_msg":"first"},{"code":"B.2","message":"second"},"ignored",{"other":1},{"error_msg":"no code"}]}"#;
    let decoded = dec(body);
    assert_eq!(decoded.code, owned("PAP5.0010"));
    assert_eq!(
        decoded.details,
        vec![
            detail("A.1", "first"),
            detail("B.2", "second"),
            Detail {
                code: None,
                message: "no code".into()
            },
        ]
    );
}

#[test]
fn details_are_capped_and_found_in_nested_levels() {
    let entries: Vec<String> = (0..40)
        .map(|n| format!(r#"{{"error_code":"C.{n}","error_msg":"m{n}"}}"#))
        .collect();
    let body = format!(
        r#"{{"error":{{"code":"X","details":[{}]}}}}"#,
        entries.join(",")
    );
    let decoded = dec(&body);
    assert_eq!(decoded.details.len(), MAX_DETAILS);
    assert_eq!(decoded.details[15], detail("C.15", "m15"));
}

#[test]
fn numeric_codes_are_integers_in_decimal() {
    assert_eq!(dec(r#"{"error":{"code":401.0}}"#).code, owned("401"));
    assert_eq!(dec(r#"{"error":{"code":-0}}"#).code, owned("0"));
    assert_eq!(
        dec(r#"{"error_code":18446744073709551615}"#).code,
        owned("18446744073709551615")
    );
    // Beyond u64 the digits are the body's, whether or not the body is complete.
    for body in [
        r#"{"error_code":123456789012345678901234,"error_msg":"m"}"#,
        r#"{"error_code":123456789012345678901234,"error_msg":"m""#,
    ] {
        let decoded = dec(body);
        assert_eq!(decoded.code, owned("123456789012345678901234"), "{body}");
        assert_eq!(decoded.message, "m", "{body}");
    }
    // Not an integer: no code.
    let decoded = dec(r#"{"error_code":4.5,"error_msg":"m"}"#);
    assert_eq!((decoded.code, decoded.message), (None, "m".into()));
    assert_eq!(dec(r#"{"error":{"code":-0,"message":"m""#).code, owned("0"));
}

#[test]
fn codes_are_trimmed_and_blank_strings_are_absent() {
    let decoded =
        dec(r#"{"error_code":"  PAP5.0006\n","error_msg":"","code":"ignored","message":"m"}"#);
    assert_eq!(
        (decoded.code, decoded.message),
        (owned("PAP5.0006"), "m".into())
    );
    let decoded = dec(r#"{"error_code":"   ","code":"  C.1 ","message":"m"}"#);
    assert_eq!(decoded.code, owned("C.1"));
}

#[test]
fn the_walk_is_breadth_first_at_any_depth() {
    let wrap = |inner: &str, levels: usize| {
        format!("{}{inner}{}", r#"{"a":"#.repeat(levels), "}".repeat(levels))
    };
    let code = r#"{"error_code":"DEEP","error_msg":"m"}"#;
    for levels in [1, 7, 8, 9, 127, 128, 129, 10_000] {
        let decoded = dec(&wrap(code, levels));
        assert_eq!(
            (decoded.code, decoded.code_tentative),
            (owned("DEEP"), false),
            "{levels}"
        );
    }
    // Breadth-first: a shallower code beats a deeper one sent first.
    let body = format!(r#"{{"a":{},"b":{{"code":"SHALLOW"}}}}"#, wrap(code, 3));
    assert_eq!(dec(&body).code, owned("SHALLOW"));
    // Siblings in the order sent, the `error` object first.
    let body = r#"{"b":{"code":"B"},"a":{"code":"A"},"error":{"code":"E"}}"#;
    assert_eq!(dec(body).code, owned("E"));
    let body = r#"{"b":{"code":"B"},"a":{"code":"A"}}"#;
    assert_eq!(dec(body).code, owned("B"));
}

#[test]
fn html_pages_keep_their_text_only() {
    let body = "\u{feff}  <!DOCTYPE html>\r\n<html>\n<head><title>502 Bad Gateway</title>\n\
        <style type=\"text/css\">body { color: red; }</style>\n\
        <SCRIPT>var s = \"<b>not shown</b>\";</SCRIPT>\n<!-- a <comment> -->\n</head>\n<body>\n\
        <center><h1>502 Bad Gateway</h1></center>\n\
        <p>The upstream &amp; proxy said: &lt;timeout&gt; &quot;x&quot; &#39;y&#39;&nbsp;z &copy; 1 < 2</p>\n\
        <hr><center>nginx</center>\n</body>\n</html>\n";
    assert_eq!(
        dec(body),
        Decoded {
            message: "502 Bad Gateway 502 Bad Gateway The upstream & proxy said: <timeout> \"x\" 'y' z &copy; 1 < 2 nginx"
                .into(),
            ..Decoded::default()
        }
    );
}

#[test]
fn huge_html_page_is_bounded() {
    let body = format!(
        "<html><body>{}</body></html>",
        "<p>word</p>".repeat(100_000)
    );
    let message = dec(&body).message;
    assert_eq!(message.len(), MAX_MESSAGE_LEN);
    assert!(message.starts_with("word word"));
    assert!(message.ends_with(TRUNCATION_MARKER));
}

#[test]
fn whitespace_only_body() {
    assert_eq!(dec(" \r\n\t \n"), Decoded::default());
}

#[test]
fn truncated_json_is_salvaged() {
    let decoded = dec(r#"{"request_id":"r-9","error_code":"PAP5.0006","error_msg":"conc"#);
    assert_eq!(decoded.code, owned("PAP5.0006"));
    assert_eq!(
        decoded.message,
        r#"{"request_id":"r-9","error_code":"PAP5.0006","error_msg":"conc"#
    );
    assert_eq!(decoded.request_id, owned("r-9"));

    let decoded = dec(
        r#"{"error_code":"PAP5.0006","error_msg":"a \"quoted\" \u00e9 word","encoded_authorization_message":"QUJ"#,
    );
    assert_eq!(decoded.code, owned("PAP5.0006"));
    assert_eq!(decoded.message, "a \"quoted\" é word");
    assert_eq!(decoded.encoded_authorization_message, None);

    let decoded = dec(r#"{"error":{"message":"Unauthorized","code":401,"title":"Unauth"#);
    assert_eq!(
        (decoded.code, decoded.message),
        (owned("401"), "Unauthorized".into())
    );
}

#[test]
fn truncated_inside_the_code_string() {
    let body = r#"{"error_code":"PAP5.00"#;
    assert_eq!(
        dec(body),
        Decoded {
            message: body.into(),
            ..Decoded::default()
        }
    );
    // A number cut at the end is not taken as a code either.
    assert_eq!(dec(r#"{"error":{"code":40"#).code, None);
}

#[test]
fn salvage_ignores_keys_inside_nested_arrays_and_values() {
    let decoded = dec(
        r#"{"details":[{"error_code":"D.1"}],"error_msg":"\"code\": \"NOPE\"","error_code":"TOP","x":"#,
    );
    assert_eq!(decoded.code, owned("TOP"));
    assert_eq!(decoded.message, r#""code": "NOPE""#);
}

#[test]
fn non_utf8_bytes() {
    let decoded = decode(&no_headers(), b"Bad \xff\xfe gateway");
    assert_eq!(decoded.message, "Bad \u{fffd}\u{fffd} gateway");
    assert_eq!(decoded.code, None);
    // Invalid bytes inside a string of a flat body: that string decodes lossily.
    let decoded = decode(
        &no_headers(),
        b"{\"error_code\":\"E.1\",\"error_msg\":\"caf\xe9\"}",
    );
    assert_eq!(decoded.code, owned("E.1"));
    assert_eq!(decoded.message, "caf\u{fffd}");
}

#[test]
fn json_string() {
    assert_eq!(
        dec(r#"  "Internal \"error\"\n" "#).message,
        "Internal \"error\""
    );
}

#[test]
fn json_array() {
    let decoded =
        dec(r#"[1, "x", {"error_code":"A.1","error_msg":"first"}, {"error_code":"B.2"}]"#);
    assert_eq!(
        (decoded.code, decoded.message),
        (owned("A.1"), "first".into())
    );
    assert_eq!(
        dec(r#" [1, "x"] "#),
        Decoded {
            message: r#"[1, "x"]"#.into(),
            ..Decoded::default()
        }
    );
}

#[test]
fn json_number() {
    assert_eq!(
        dec(" 42 "),
        Decoded {
            message: "42".into(),
            ..Decoded::default()
        }
    );
}

#[test]
fn json_null() {
    assert_eq!(
        dec("null"),
        Decoded {
            message: "null".into(),
            ..Decoded::default()
        }
    );
}

#[test]
fn deep_array_nesting() {
    let body = "[".repeat(100_000);
    let decoded = dec(&body);
    assert_eq!(decoded.code, None);
    assert_eq!(decoded.message.len(), MAX_MESSAGE_LEN);
    assert!(decoded.message.ends_with(TRUNCATION_MARKER));
    let closed = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(dec(&closed).message.starts_with("[[["));
}

#[test]
fn deep_object_nesting() {
    let body = format!(
        r#"{}{{"error_code":"DEEP","error_msg":"deep"}}{}"#,
        r#"{"a":"#.repeat(100_000),
        "}".repeat(100_000)
    );
    let decoded = dec(&body);
    // The walk finds the innermost code at any depth, without recursion.
    assert_eq!(decoded.code, owned("DEEP"));
    assert_eq!(decoded.message, "deep");
    let decoded = dec(&r#"{"a":"#.repeat(100_000));
    assert_eq!(decoded.code, None);
    assert!(decoded.message.ends_with(TRUNCATION_MARKER));
}

#[test]
fn huge_message_is_bounded() {
    let long = "m".repeat(1 << 20);
    let body = format!(r#"{{"error_code":"PAP5.0006","error_msg":"{long}"}}"#);
    let decoded = dec(&body);
    assert_eq!(decoded.code, owned("PAP5.0006"));
    assert_eq!(decoded.message.len(), MAX_MESSAGE_LEN);
    assert!(decoded.message.ends_with(TRUNCATION_MARKER));
    assert_eq!(decoded, slow(&no_headers(), body.as_bytes()));
    // The encoded authorization message is never cut.
    let body = format!(r#"{{"error_code":"X","encoded_authorization_message":"{long}"}}"#);
    assert_eq!(dec(&body).encoded_authorization_message, Some(long));
}

#[test]
fn long_code_and_request_id_are_bounded() {
    let long = "c".repeat(500);
    let decoded = dec(&format!(
        r#"{{"error_code":"{long}","request_id":"{long}"}}"#
    ));
    for field in [decoded.code.unwrap(), decoded.request_id.unwrap()] {
        assert_eq!(field.len(), MAX_FIELD_LEN);
        assert!(field.ends_with(TRUNCATION_MARKER));
    }
}

#[test]
fn request_id_from_body_beats_header() {
    let headers = with_request_id(HeaderValue::from_static("from-header"));
    let body = br#"{"error_code":"X","request_id":"from-body"}"#;
    assert_eq!(decode(&headers, body).request_id, owned("from-body"));
    let body = br#"{"error":{"code":"X","requestId":"nested-body"}}"#;
    assert_eq!(decode(&headers, body).request_id, owned("nested-body"));
}

#[test]
fn request_id_from_header_when_body_has_none() {
    let headers = with_request_id(HeaderValue::from_static(" 5f0e-header "));
    for body in [
        &br#"{"error_code":"X","request_id":""}"#[..],
        b"<html>oops</html>",
        b"",
        b"[1",
    ] {
        assert_eq!(decode(&headers, body).request_id, owned("5f0e-header"));
    }
}

#[test]
fn invalid_request_id_header_is_ignored() {
    let headers = with_request_id(HeaderValue::from_bytes(b"id-\xff\xfe").unwrap());
    assert_eq!(decode(&headers, br#"{"error_code":"X"}"#).request_id, None);
}

#[test]
fn a_cut_body_marks_a_code_that_could_be_outranked() {
    let whole = r#"{"conflicting_request":{"error_code":"PAP5.0006","error_msg":"busy"},"error_code":"PAP5.0025","error_msg":"exists"}"#;
    let decoded = dec(whole);
    assert_eq!(
        (decoded.code, decoded.code_tentative),
        (owned("PAP5.0025"), false)
    );
    assert_eq!(decoded.message, "exists");
    for cut in 0..whole.len() {
        let decoded = dec(&whole[..cut]);
        match decoded.code.as_deref() {
            // The top level's `error_code` cannot be outranked, cut or not.
            Some("PAP5.0025") => assert!(!decoded.code_tentative, "{cut}"),
            Some("PAP5.0006") => assert!(decoded.code_tentative, "{cut}"),
            None => {}
            other => panic!("{other:?} at {cut}"),
        }
    }
    // `code` or `errorCode` at the top level could still be outranked by `error_code`.
    assert!(dec(r#"{"code":"A.1","message":"m","#).code_tentative);
    assert!(dec(r#"{"errorCode":"A.1","#).code_tentative);
    assert!(!dec(r#"{"error_code":"A.1","#).code_tentative);
    // A top-level array whose first object is whole: nothing can outrank its code.
    assert!(!dec(r#"[{"error":{"code":"A.1"}},{"x":"#).code_tentative);
    // Malformed part way is read as cut there.
    let decoded = dec(r#"{"error":{"code":"A.1"} "error_code":"B.2"}"#);
    assert_eq!((decoded.code, decoded.code_tentative), (owned("A.1"), true));
}

#[test]
fn a_key_sent_twice_counts_the_first_time() {
    let decoded = dec(
        r#"{"error_code":"FIRST.1","error_code":"SECOND.2","error_msg":"one","error_msg":"two"}"#,
    );
    assert_eq!(
        (decoded.code, decoded.message),
        (owned("FIRST.1"), "one".into())
    );
    let fast = flat::decode(
        &no_headers(),
        br#"{"error_code":"A","error_code":"B"}"#,
        str::to_owned,
    );
    assert_eq!(fast.and_then(|d| d.code), owned("A"));
}

#[test]
fn without_a_message_the_body_is_the_message() {
    for body in [
        r#"{"error":"invalid_grant","error_description":"token expired"}"#,
        r#"{"error_code":"X.1","error_msg":null}"#,
        r#"{"error_code":"X.1","error_msg":{"a":1}}"#,
        r#"{"error_code":"X.1"}"#,
        r#"[{"code":"X.1"}]"#,
    ] {
        assert_eq!(dec(&format!(" {body} ")).message, body);
    }
}

#[test]
fn byte_order_marks_and_utf16() {
    let json = r#"{"error_code":"PAP5.0006","error_msg":"m"}"#;
    for body in [
        format!("\u{feff}{json}"),
        format!(" \u{feff}{json}"),
        format!("\u{feff} \u{feff}\n{json}"),
    ] {
        assert_eq!(dec(&body).code, owned("PAP5.0006"), "{body:?}");
    }
    let units: Vec<u16> = "\u{feff}"
        .encode_utf16()
        .chain(json.encode_utf16())
        .collect();
    let le: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
    let be: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    for body in [le, be] {
        let decoded = decode(&no_headers(), &body);
        assert_eq!(
            (decoded.code, decoded.message),
            (owned("PAP5.0006"), "m".into())
        );
    }
    // An odd last byte and a lone surrogate unit are U+FFFD.
    let decoded = decode(&no_headers(), b"\xff\xfeo\x00k\x00\x00\xd8!");
    assert_eq!(decoded.message, "ok\u{fffd}\u{fffd}");
}

#[test]
fn the_gateway_request_id_is_kept_beside_the_bodys() {
    let body = br#"{"error_code":"X","request_id":"svc"}"#;
    let both = decode(&with_request_id(HeaderValue::from_static(" gw ")), body);
    assert_eq!(both.request_id, owned("svc"));
    assert_eq!(both.gateway_request_id, GatewayId::Other("gw".into()));
    let same = decode(&with_request_id(HeaderValue::from_static("svc")), body);
    assert_eq!(same.gateway_request_id, GatewayId::SameAsRequestId);
    let header_only = decode(&with_request_id(HeaderValue::from_static("gw")), b"<html>");
    assert_eq!(
        (
            header_only.request_id.as_deref(),
            header_only
                .gateway_request_id
                .get(header_only.request_id.as_deref())
        ),
        (Some("gw"), Some("gw"))
    );
    assert_eq!(
        decode(&no_headers(), body).gateway_request_id,
        GatewayId::Absent
    );
}

#[test]
fn bounded_cuts_at_char_boundaries() {
    assert_eq!(bounded("short", 5), "short");
    assert_eq!(bounded("", 0), "");
    // "é" is 2 bytes, "€" is 3: every cut point inside a char moves back to its start.
    let s = "é€".repeat(20);
    for max in TRUNCATION_MARKER.len()..s.len() {
        let cut = bounded(&s, max);
        assert!(cut.len() <= max, "{max}");
        let kept = cut.strip_suffix(TRUNCATION_MARKER).unwrap();
        assert!(s.starts_with(kept));
        assert!(
            kept.len() + 3 > max - TRUNCATION_MARKER.len(),
            "longest prefix at {max}"
        );
    }
    let s = format!("aé€{}", "x".repeat(40));
    let m = TRUNCATION_MARKER.len();
    assert_eq!(bounded(&s, m + 2), format!("a{TRUNCATION_MARKER}"));
    assert_eq!(bounded(&s, m + 3), format!("aé{TRUNCATION_MARKER}"));
    assert_eq!(bounded(&s, m + 5), format!("aé{TRUNCATION_MARKER}"));
    assert_eq!(bounded(&s, m + 6), format!("aé€{TRUNCATION_MARKER}"));
    // Too small for the marker: cut without one.
    assert_eq!(bounded(&s, 2), "a");
}

// ----- properties -----

fn assert_bounds(decoded: &Decoded, body_len: usize) -> Result<(), TestCaseError> {
    prop_assert!(decoded.message.len() <= MAX_MESSAGE_LEN);
    prop_assert!(
        decoded
            .code
            .as_ref()
            .is_none_or(|c| c.len() <= MAX_FIELD_LEN)
    );
    prop_assert!(
        decoded
            .request_id
            .as_ref()
            .is_none_or(|r| r.len() <= MAX_FIELD_LEN)
    );
    prop_assert!(
        decoded
            .encoded_authorization_message
            .as_ref()
            .is_none_or(|e| e.len() <= body_len)
    );
    prop_assert!(decoded.details.len() <= MAX_DETAILS);
    for d in &decoded.details {
        prop_assert!(d.message.len() <= MAX_MESSAGE_LEN);
        prop_assert!(d.code.as_ref().is_none_or(|c| c.len() <= MAX_FIELD_LEN));
    }
    Ok(())
}

fn json_string_of(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Short, arbitrary, long (beyond the bounds) and blank text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._ -]{1,24}",
        2 => any::<String>(),
        1 => "[ \t\n]{0,3}",
        1 => prop::collection::vec(any::<char>(), 100..1200).prop_map(String::from_iter),
    ]
}

const KEYS: [&str; 16] = [
    "error_code",
    "error_msg",
    "errorCode",
    "errorMsg",
    "code",
    "message",
    "title",
    "request_id",
    "requestId",
    "encoded_authorization_message",
    "details",
    "error",
    "error",
    "details",
    "a",
    "b",
];

/// JSON-ish text: nested objects and arrays over the decoder's keys, with random values.
fn json_ish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        text().prop_map(|s| json_string_of(&s)),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("null".to_owned()),
        Just("true".to_owned()),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner.clone()), 0..8).prop_map(
                |entries| {
                    let entries: Vec<String> = entries
                        .iter()
                        .map(|(k, v)| format!("\"{k}\": {v}"))
                        .collect();
                    format!("{{{}}}", entries.join(","))
                }
            ),
            prop::collection::vec(inner, 0..8).prop_map(|items| format!("[{}]", items.join(", "))),
        ]
    })
}

/// A flat body's inputs and its text.
#[derive(Debug, Clone)]
struct Flat {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    encoded: Option<String>,
    body: String,
}

/// Flat bodies in any key order, the code under any of its keys, sometimes with `null`s,
/// padding and an extra key.
fn flat_body(extra_keys: bool) -> impl Strategy<Value = Flat> {
    let code = prop_oneof![4 => " ?[A-Z]{2,6}[0-9]?\\.[0-9]{1,4} ?", 1 => text()];
    let extra = if extra_keys {
        prop::option::of((
            prop::sample::select(vec![
                "code",
                "error",
                "details",
                "errorCode",
                "message",
                "x",
            ]),
            prop::sample::select(vec![
                r#""v""#,
                "401",
                "null",
                r#"{"code":"N.1","message":"nested"}"#,
                r#"{"request_id":"nested-id","encoded_authorization_message":"e"}"#,
                r#"[{"error_code":"D.1","error_msg":"d"}]"#,
            ]),
        ))
        .boxed()
    } else {
        Just(None).boxed()
    };
    (
        prop::option::weighted(0.9, code),
        prop::option::weighted(0.8, text()),
        prop::option::weighted(0.7, "[a-f0-9-]{1,40}"),
        prop::option::weighted(0.3, "[A-Za-z0-9+/=]{1,200}"),
        any::<bool>(),
        extra,
        "[ \n]{0,2}",
        any::<u64>(),
        // Mostly `error_code`; the others can be outranked, so a cut after them is tentative.
        prop::sample::select(vec!["error_code", "error_code", "errorCode", "code"]),
    )
        .prop_map(
            |(code, message, request_id, encoded, nulls, extra, pad, order, code_key)| {
                let mut entries = Vec::new();
                let fields = [
                    (code_key, &code),
                    ("error_msg", &message),
                    ("request_id", &request_id),
                    ("encoded_authorization_message", &encoded),
                ];
                for (key, value) in fields {
                    match value {
                        Some(v) => entries.push(format!("\"{key}\":{pad}{}", json_string_of(v))),
                        None if nulls => entries.push(format!("\"{key}\":null")),
                        None => {}
                    }
                }
                if let Some((key, value)) = extra {
                    entries.push(format!("\"{key}\":{value}"));
                }
                let len = entries.len().max(1) as u64;
                entries.rotate_left((order % len) as usize);
                if order & 1 << 40 != 0 {
                    entries.reverse();
                }
                let body = format!("{pad}{{{pad}{}}}{pad}", entries.join(&format!(",{pad}")));
                Flat {
                    code,
                    message,
                    request_id,
                    encoded,
                    body,
                }
            },
        )
}

proptest! {
    #[test]
    fn json_ish_never_panics_and_stays_bounded(json in json_ish(), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let bytes = json.as_bytes();
        let body = if truncate { &bytes[..cut.index(bytes.len() + 1)] } else { bytes };
        assert_bounds(&decode(&no_headers(), body), body.len())?;
    }

    /// Any object, whole or cut anywhere: with the fast path or without, the same answer.
    #[test]
    fn any_object_decodes_as_the_walk_decodes_it(json in json_ish(), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let bytes = json.as_bytes();
        let body = if truncate { &bytes[..cut.index(bytes.len() + 1)] } else { bytes };
        if body.first() == Some(&b'{') {
            prop_assert_eq!(decode(&no_headers(), body), slow(&no_headers(), body));
        }
    }

    #[test]
    fn fast_path_equals_slow_path(flat in flat_body(true), header in any::<bool>(), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let headers = if header { with_request_id(HeaderValue::from_static("hdr")) } else { no_headers() };
        let bytes = flat.body.as_bytes();
        let body = if truncate { &bytes[..cut.index(bytes.len() + 1)] } else { bytes };
        let slow = slow(&headers, body);
        match flat::decode(&headers, trim_start(body), str::to_owned) {
            Some(fast) => prop_assert_eq!(fast, slow),
            None => prop_assert_eq!(decode(&headers, body), slow),
        }
    }

    #[test]
    fn flat_bodies_round_trip(flat in flat_body(false)) {
        let decoded = decode(&no_headers(), flat.body.as_bytes());
        let nonblank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        let code = nonblank(&flat.code).map(|c| c.trim().to_owned());
        // An object of scalars always takes the fast path.
        prop_assert!(flat::decode(&no_headers(), trim_start(flat.body.as_bytes()), str::to_owned).is_some());
        if code.as_ref().is_none_or(|c| c.len() <= MAX_FIELD_LEN) {
            prop_assert_eq!(decoded.code, code);
        }
        // Without a message, the body's text is the message.
        let message = nonblank(&flat.message).unwrap_or_else(|| flat.body.trim().to_owned());
        if message.len() <= MAX_MESSAGE_LEN {
            prop_assert_eq!(decoded.message, message);
        } else {
            prop_assert!(decoded.message.ends_with(TRUNCATION_MARKER));
        }
        prop_assert_eq!(decoded.request_id, flat.request_id);
        prop_assert_eq!(decoded.encoded_authorization_message, flat.encoded);
    }
}

proptest! {
    #[test]
    fn trim_is_str_trim(s in "[ \t\r\n\u{3000}\u{a0}\u{85}a-z.0-9~é]{0,8}") {
        prop_assert_eq!(super::trim(&s), s.trim());
    }
}

/// A key sent twice counts the first time, even when its first value is `null`: the fast
/// path, which once took the second value after a `null`, answers as the walk does.
#[test]
fn a_key_sent_twice_after_null_counts_its_null() {
    for body in [
        r#"{"error_code":null,"error_code":"PAP5.0006","error_msg":"m"}"#,
        r#"{"error_code":"PAP5.0006","error_msg":null,"error_msg":"m"}"#,
        r#"{"error_code":"PAP5.0006","encoded_authorization_message":null,"encoded_authorization_message":"QQ"}"#,
    ] {
        let decoded = decode(&no_headers(), body.as_bytes());
        assert_eq!(decoded, slow(&no_headers(), body.as_bytes()), "{body}");
        assert_eq!(
            flat::decode(&no_headers(), body.as_bytes(), str::to_owned),
            Some(decoded),
            "{body}"
        );
    }
    let body = br#"{"error_code":null,"error_code":"PAP5.0006","error_msg":"m"}"#;
    assert_eq!(decode(&no_headers(), body).code, None);
}

proptest! {
    #[test]
    fn is_visible_ascii_is_what_to_str_accepts(
        bytes in prop::collection::vec(
            prop::sample::select(vec![b'\t', b' ', b'a', b'~', 0x7f, 0x80, 0xff, b'\n', 0]),
            0..40,
        ),
    ) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            prop_assert_eq!(super::is_visible_ascii(&bytes), value.to_str().is_ok());
        }
    }
}

/// The request ids from the body's id and the `X-Request-Id` header, in a map of one
/// header and in one of many (searched two ways), including a header equal to the body's
/// id in bytes but not visible ASCII, which is no header at all.
#[test]
fn request_ids_compare_the_header_with_the_bodys_id() {
    use super::request_ids;
    /// The body's id, the header's bytes, and the two ids expected.
    type Case<'a> = (Option<&'a str>, &'a [u8], Option<&'a str>, GatewayId);
    let same = || GatewayId::SameAsRequestId;
    let cases: [Case<'_>; 7] = [
        (Some("r-1"), b"r-1", Some("r-1"), same()),
        (Some("r-1"), b" \tr-1\t ", Some("r-1"), same()),
        (
            Some("r-1"),
            b"r-2",
            Some("r-1"),
            GatewayId::Other("r-2".into()),
        ),
        (Some("r-1"), b"   ", Some("r-1"), GatewayId::Absent),
        (
            Some("\u{e9}"),
            "\u{e9}".as_bytes(),
            Some("\u{e9}"),
            GatewayId::Absent,
        ),
        (None, b" r-2 ", Some("r-2"), same()),
        (None, b"\xff", None, GatewayId::Absent),
    ];
    for (body, header, id, gateway) in cases {
        let value = HeaderValue::from_bytes(header).unwrap();
        let small = with_request_id(value.clone());
        let mut large = HeaderMap::new();
        for n in 0..8 {
            large.insert(
                format!("x-other-{n}").parse::<HeaderName>().unwrap(),
                value.clone(),
            );
        }
        large.append("x-request-id", value.clone());
        large.append("x-request-id", HeaderValue::from_static("second"));
        for headers in [&small, &large] {
            let (request_id, gateway_request_id) = request_ids(body, headers);
            assert_eq!(request_id.as_deref(), id, "{body:?} {header:?}");
            assert_eq!(gateway_request_id, gateway, "{body:?} {header:?}");
        }
    }
    assert_eq!(
        request_ids(Some("r-1"), &no_headers()),
        (owned("r-1"), GatewayId::Absent)
    );
}

/// The fast path reads strings with the JSON reader's lexer, as the walk does: escapes
/// decoded, raw control characters kept, invalid UTF-8 and lone surrogates as U+FFFD, in
/// keys and in every value; each such body takes the fast path and answers as the walk.
#[test]
fn the_fast_path_reads_strings_as_the_walk_does() {
    let cases: [(&[u8], &str); 8] = [
        (br#""QUJD+/=""#, "QUJD+/="),
        (br#""QUJD\/+=""#, "QUJD/+="),
        (br#""QU\u004aD""#, "QUJD"),
        (b"\"QU\x01JD\"", "QU\u{1}JD"),
        (b"\"QU\xffJD\"", "QU\u{fffd}JD"),
        (br#""QU\nJD""#, "QU\nJD"),
        (br#""QU\ud800JD""#, "QU\u{fffd}JD"),
        (br#""\u00e9t\u00e9""#, "\u{e9}t\u{e9}"),
    ];
    for (value, decoded_value) in cases {
        let encoded = [
            br#"{"error_code":"PAP5.0001","encoded_authorization_message":"#.as_slice(),
            value,
            b"}",
        ]
        .concat();
        let message = [
            br#"{"error_code":"PAP5.0001","error_msg":"#.as_slice(),
            value,
            b"}",
        ]
        .concat();
        // The key `error_msg` with an escape in it is still `error_msg`.
        let escaped_key = [
            br#"{"error_code":"PAP5.0001","error\u005fmsg":"#.as_slice(),
            value,
            b"}",
        ]
        .concat();
        for body in [&encoded, &message, &escaped_key] {
            let fast = flat::decode(&no_headers(), body, str::to_owned);
            assert_eq!(
                fast.as_ref(),
                Some(&slow(&no_headers(), body)),
                "{}",
                body.escape_ascii()
            );
            let fast = fast.unwrap();
            let read = if body == &encoded {
                fast.encoded_authorization_message.unwrap_or_default()
            } else {
                fast.message
            };
            assert_eq!(read, decoded_value, "{}", body.escape_ascii());
        }
    }
}

/// What the fast path leaves to the walk: a nested value, and any object it cannot read
/// to its closing brace; each answers as the walk does.
#[test]
fn the_fast_path_leaves_containers_and_broken_objects_to_the_walk() {
    for body in [
        r#"{"error_code":"PAP5.0006","error":{"code":"X.1"}}"#,
        r#"{"error_code":"PAP5.0006","details":[]}"#,
        r#"{"error_code":"PAP5.0006","error_msg":"cut"#,
        r#"{"error_code":"PAP5.0006","error_msg":"m",}"#,
        r#"{"error_code":"PAP5.0006" "error_msg":"m"}"#,
        r#"{"error_code":"PAP5.0006","error_msg":nul}"#,
        r#"{"error_code":"PAP5.0006","error_msg":1.}"#,
        r#"{"error_code"}"#,
        r#"{error_code:"PAP5.0006"}"#,
        // Cut after a value: the code could still be outranked, which the walk marks.
        r#"{"code":"A.1""#,
        r#"{"errorCode":"A.1","message":"m""#,
        // A key is known only with its closing quote right after it.
        r#"{"codeX:"A"}"#,
    ] {
        assert_eq!(
            flat::decode(&no_headers(), body.as_bytes(), str::to_owned),
            None,
            "{body}"
        );
        assert_eq!(
            decode(&no_headers(), body.as_bytes()),
            slow(&no_headers(), body.as_bytes()),
            "{body}"
        );
    }
    // Scalars of every kind under any key, white space anywhere, and what follows the
    // closing brace (ignored, as the reader ignores it) take the fast path.
    for body in [
        "{}",
        " {\n\t\"code\" : 401 , \"title\" : \"t\" , \"x\": true, \"y\": false, \"z\": null } trailing",
        r#"{"error_code":"PAP5.0006","error":"scalar","details":"none"}"#,
    ] {
        let body = trim_start(body.as_bytes());
        let fast = flat::decode(&no_headers(), body, str::to_owned);
        assert_eq!(
            fast,
            Some(slow(&no_headers(), body)),
            "{}",
            body.escape_ascii()
        );
    }
}
