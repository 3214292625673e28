//! `sign` and `sign_with` through the public API: every published vector
//! that signs `host` (the Go SDK's, which do not, are checked in the crate's
//! unit tests with exactly the headers they sign), then one test a
//! canonicalisation rule, each against a canonical request written out by
//! hand and signed by the test's own HMAC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use huaweicloud_errors::signing::{Algorithm, Credentials, sign, sign_with};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Request};

use crate::signing_gateway::{expected_authorization, sha256_hex};

const VECTORS: &str = include_str!("../data/signing-vectors.json");

/// 2020-06-08T02:39:00Z, the Python vectors' date.
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_591_583_940)
}
const DATE: &str = "20200608T023900Z";
const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn request(method: Method, url: &str) -> Request {
    Request::new(method, url.parse().unwrap())
}

fn header(request: &Request, name: &str) -> String {
    request.headers()[name].to_str().unwrap().to_owned()
}

/// Signs `request` with AK/SK at [`t0`] and checks its `Authorization`
/// against `canonical`, signed independently.
fn assert_signs_as(mut request: Request, credentials: &Credentials, canonical: &str) -> Request {
    sign(&mut request, credentials, t0()).unwrap();
    let date = header(&request, "x-sdk-date");
    assert_eq!(
        header(&request, "authorization"),
        expected_authorization(
            credentials.access_key(),
            credentials.secret_key(),
            &date,
            canonical
        ),
        "canonical request:\n{canonical}"
    );
    request
}

fn keys() -> Credentials {
    Credentials::new("AK", "SK")
}

#[test]
fn every_published_vector_that_signs_host_signs_as_published_through_sign_with() {
    let all: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let mut checked = 0;
    for v in all["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let headers = v["signed_header_values"].as_object().unwrap();
        if !headers.contains_key("host") {
            assert!(name.starts_with("go-"), "{name}");
            continue;
        }
        let method: Method = v["method"].as_str().unwrap().parse().unwrap();
        let mut request = request(method, v["url"].as_str().unwrap());
        for (name, value) in headers {
            if name != "host" {
                request.headers_mut().insert(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
                );
            }
        }
        let body = v["body"].as_str().unwrap();
        if !body.is_empty() {
            *request.body_mut() = Some(body.to_owned().into());
        }
        let algorithm = match v["algorithm"].as_str().unwrap() {
            "SDK-HMAC-SHA256" => Algorithm::HmacSha256,
            "SDK-HMAC-SM3" => Algorithm::HmacSm3,
            _ => Algorithm::DerivedHmacSha256 {
                region: v["region"].as_str().unwrap().into(),
                service: v["service"].as_str().unwrap().into(),
            },
        };
        let credentials = Credentials::new(
            v["access_key"].as_str().unwrap(),
            v["secret_key"].as_str().unwrap(),
        );
        // A time far from the vector's: the X-Sdk-Date on the request wins.
        sign_with(&mut request, &credentials, SystemTime::now(), &algorithm).unwrap();
        assert_eq!(
            header(&request, "authorization"),
            v["authorization"].as_str().unwrap(),
            "{name}"
        );
        if algorithm == Algorithm::HmacSha256 {
            assert!(sign(&mut request.try_clone().unwrap(), &credentials, t0()).is_ok());
        }
        checked += 1;
    }
    assert_eq!(checked, 13, "19 vectors, 6 of them Go's");
}

#[test]
fn sign_sets_x_sdk_date_from_the_given_time() {
    let request = assert_signs_as(
        request(Method::GET, "https://iam.example.com/v5/agencies"),
        &keys(),
        &format!(
            "GET\n/v5/agencies/\n\nhost:iam.example.com\nx-sdk-date:{DATE}\n\nhost;x-sdk-date\n{EMPTY}"
        ),
    );
    assert_eq!(header(&request, "x-sdk-date"), DATE);
}

#[test]
fn an_x_sdk_date_already_on_the_request_is_used() {
    let mut r = request(Method::GET, "https://iam.example.com/");
    r.headers_mut()
        .insert("x-sdk-date", HeaderValue::from_static("20261201T120000Z"));
    let r = assert_signs_as(
        r,
        &keys(),
        &format!(
            "GET\n/\n\nhost:iam.example.com\nx-sdk-date:20261201T120000Z\n\nhost;x-sdk-date\n{EMPTY}"
        ),
    );
    assert_eq!(header(&r, "x-sdk-date"), "20261201T120000Z");
}

#[test]
fn the_canonical_uri_ends_in_a_slash_the_request_need_not() {
    let r = assert_signs_as(
        request(Method::GET, "https://iam.example.com/v5/agencies"),
        &keys(),
        &format!(
            "GET\n/v5/agencies/\n\nhost:iam.example.com\nx-sdk-date:{DATE}\n\nhost;x-sdk-date\n{EMPTY}"
        ),
    );
    assert_eq!(r.url().path(), "/v5/agencies");
    assert_signs_as(
        request(Method::GET, "https://iam.example.com/v5/agencies/"),
        &keys(),
        &format!(
            "GET\n/v5/agencies/\n\nhost:iam.example.com\nx-sdk-date:{DATE}\n\nhost;x-sdk-date\n{EMPTY}"
        ),
    );
}

#[test]
fn path_segments_are_decoded_then_each_encoded() {
    let r = assert_signs_as(
        request(
            Method::GET,
            "https://iam.example.com/v5/agencies/a%20b%2Fc:d",
        ),
        &keys(),
        &format!(
            "GET\n/v5/agencies/a%20b/c%3Ad/\n\nhost:iam.example.com\nx-sdk-date:{DATE}\n\nhost;x-sdk-date\n{EMPTY}"
        ),
    );
    assert_eq!(
        r.url().path(),
        "/v5/agencies/a%20b%2Fc:d",
        "the wire path is kept"
    );
}

#[test]
fn the_query_is_sorted_and_encoded_however_it_was_written() {
    let canonical = format!(
        "GET\n/v5/agencies/\na=&limit=10&marker=x%20y%2Bz&marker=~%2A\nhost:iam.example.com\n\
         x-sdk-date:{DATE}\n\nhost;x-sdk-date\n{EMPTY}"
    );
    for query in [
        "limit=10&marker=x%20y%2Bz&marker=~%2A&a=",
        "marker=%7E*&marker=x+y%2bz&a&limit=10",
    ] {
        assert_signs_as(
            request(
                Method::GET,
                &format!("https://iam.example.com/v5/agencies?{query}"),
            ),
            &keys(),
            &canonical,
        );
    }
}

#[test]
fn host_comes_from_the_url_with_a_port_only_when_not_the_default() {
    for (url, host) in [
        ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
        ("https://iam.example.com:443/x", "iam.example.com"),
        ("http://iam.example.com:443/x", "iam.example.com:443"),
        ("http://[::1]:9000/x", "[::1]:9000"),
    ] {
        assert_signs_as(
            request(Method::GET, url),
            &keys(),
            &format!("GET\n/x/\n\nhost:{host}\nx-sdk-date:{DATE}\n\nhost;x-sdk-date\n{EMPTY}"),
        );
    }
}

#[test]
fn a_host_header_on_the_request_is_signed_instead() {
    let mut r = request(Method::GET, "http://127.0.0.1:8080/x");
    r.headers_mut()
        .insert("host", HeaderValue::from_static("iam.example.com"));
    assert_signs_as(
        r,
        &keys(),
        &format!("GET\n/x/\n\nhost:iam.example.com\nx-sdk-date:{DATE}\n\nhost;x-sdk-date\n{EMPTY}"),
    );
}

#[test]
fn headers_are_lower_cased_sorted_trimmed_and_names_with_underscores_skipped() {
    let mut r = request(Method::GET, "https://iam.example.com/");
    let h = r.headers_mut();
    h.insert("Zeta", HeaderValue::from_static("  a  b \t"));
    h.insert("Alpha", HeaderValue::from_static("1"));
    h.insert("x_not_signed", HeaderValue::from_static("2"));
    let r = assert_signs_as(
        r,
        &keys(),
        &format!(
            "GET\n/\n\nalpha:1\nhost:iam.example.com\nx-sdk-date:{DATE}\nzeta:a  b\n\nalpha;host;x-sdk-date;zeta\n{EMPTY}"
        ),
    );
    assert_eq!(header(&r, "x_not_signed"), "2", "still sent");
}

#[test]
fn a_json_body_is_hashed() {
    let mut r = request(Method::POST, "https://iam.example.com/v5/agencies");
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    *r.body_mut() = Some(r#"{"name":"a"}"#.into());
    let r = assert_signs_as(
        r,
        &keys(),
        &format!(
            "POST\n/v5/agencies/\n\ncontent-type:application/json;charset=UTF-8\nhost:iam.example.com\n\
             x-sdk-date:{DATE}\n\ncontent-type;host;x-sdk-date\n{}",
            sha256_hex(br#"{"name":"a"}"#)
        ),
    );
    assert!(r.headers().get("x-sdk-content-sha256").is_none());
}

#[test]
fn a_non_json_body_is_sent_as_unsigned_payload() {
    let mut r = request(Method::PUT, "https://obs.example.com/o");
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    *r.body_mut() = Some(vec![1u8, 2, 3].into());
    let r = assert_signs_as(
        r,
        &keys(),
        &format!(
            "PUT\n/o/\n\ncontent-type:application/octet-stream\nhost:obs.example.com\n\
             x-sdk-content-sha256:UNSIGNED-PAYLOAD\nx-sdk-date:{DATE}\n\n\
             content-type;host;x-sdk-content-sha256;x-sdk-date\nUNSIGNED-PAYLOAD"
        ),
    );
    assert_eq!(header(&r, "x-sdk-content-sha256"), "UNSIGNED-PAYLOAD");
}

#[test]
fn a_streaming_body_is_sent_as_unsigned_payload() {
    let mut r = request(Method::POST, "https://iam.example.com/v5/x");
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"{}")];
    *r.body_mut() = Some(reqwest::Body::wrap_stream(futures::stream::iter(chunks)));
    assert_signs_as(
        r,
        &keys(),
        &format!(
            "POST\n/v5/x/\n\nhost:iam.example.com\nx-sdk-content-sha256:UNSIGNED-PAYLOAD\n\
             x-sdk-date:{DATE}\n\nhost;x-sdk-content-sha256;x-sdk-date\nUNSIGNED-PAYLOAD"
        ),
    );
}

#[test]
fn sm3_marks_an_unsigned_payload_with_its_own_header() {
    let mut r = request(Method::PUT, "https://obs.example.com/o");
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    sign_with(&mut r, &keys(), t0(), &Algorithm::HmacSm3).unwrap();
    assert_eq!(header(&r, "x-sdk-content-sm3"), "UNSIGNED-PAYLOAD");
    assert!(r.headers().get("x-sdk-content-sha256").is_none());
    assert!(
        header(&r, "authorization")
            .contains("SignedHeaders=content-type;host;x-sdk-content-sm3;x-sdk-date,")
    );
}

#[test]
fn temporary_credentials_send_and_sign_their_security_token() {
    let credentials = keys().with_security_token("TOKEN-1");
    let r = assert_signs_as(
        request(Method::GET, "https://iam.example.com/"),
        &credentials,
        &format!(
            "GET\n/\n\nhost:iam.example.com\nx-sdk-date:{DATE}\nx-security-token:TOKEN-1\n\n\
             host;x-sdk-date;x-security-token\n{EMPTY}"
        ),
    );
    assert_eq!(header(&r, "x-security-token"), "TOKEN-1");
    assert!(r.headers()["x-security-token"].is_sensitive());
    assert!(r.headers()["authorization"].is_sensitive());
}

#[test]
fn signing_twice_replaces_the_authorization_instead_of_signing_it() {
    let mut r = request(Method::GET, "https://iam.example.com/");
    sign(&mut r, &keys(), t0()).unwrap();
    let first = header(&r, "authorization");
    sign(&mut r, &keys(), SystemTime::now()).unwrap();
    assert_eq!(
        header(&r, "authorization"),
        first,
        "same X-Sdk-Date, same signature"
    );
}

#[test]
fn what_cannot_be_signed_is_a_sign_error_not_a_panic() {
    let mut not_text = request(Method::GET, "https://iam.example.com/");
    not_text
        .headers_mut()
        .insert("x-bin", HeaderValue::from_bytes(b"\xff\xfe").unwrap());
    let err = sign(&mut not_text, &keys(), t0()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot sign the request: the value of header `x-bin` is not text"
    );
    assert!(not_text.headers().get("authorization").is_none());

    let mut r = request(Method::GET, "https://iam.example.com/");
    let err = sign(&mut r, &keys(), UNIX_EPOCH - Duration::from_secs(1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot sign the request: the clock is before 1970"
    );

    let mut r = request(Method::GET, "https://iam.example.com/");
    r.headers_mut()
        .insert("x-sdk-date", HeaderValue::from_static("2026-12-01 12:00"));
    assert!(
        sign(&mut r, &keys(), t0())
            .unwrap_err()
            .to_string()
            .contains("X-Sdk-Date")
    );

    let mut r = request(Method::GET, "https://iam.example.com/");
    let bad = Credentials::new("AK\nX", "SK");
    assert!(sign(&mut r, &bad, t0()).is_err());
    let bad_token = keys().with_security_token("T\r\n");
    assert!(sign(&mut r, &bad_token, t0()).is_err());

    fn is_send_sync_static<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    is_send_sync_static(&err);
}
