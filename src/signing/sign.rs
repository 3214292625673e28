//! `sign` and `sign_with`: a request's canonical form, its string to sign,
//! and the `Authorization` header.

use std::borrow::Cow;
use std::time::SystemTime;

use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, Entry, HOST, HeaderMap, HeaderName, HeaderValue,
};
use smallvec::SmallVec;

use super::algorithm::{Algorithm, Hex, KeyedMac, derived_key};
use super::canonical::{self, HashSink, Sink};
use super::credentials::Credentials;
use super::date::{SdkDate, is_sdk_date, sdk_date};
use super::error::{SignError, SignErrorKind};

/// The payload hash of a body the signature does not cover.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

// Header names as constants: a look-up by `&str` parses the name every time.
const X_SDK_DATE: HeaderName = HeaderName::from_static("x-sdk-date");
const X_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-security-token");

/// Signs `request` with `SDK-HMAC-SHA256` at `time`, as the official Python
/// SDK and the vendor's signing guide do: sets `X-Sdk-Date` (unless the
/// request has one), `X-Security-Token` (for temporary credentials), and
/// `Authorization`.
///
/// Every header on the request is signed (names with a `_` excepted), and
/// `host` from the URL unless the request has a `Host` header. The body is
/// hashed with SHA-256; a body of a `Content-Type` other than JSON, or a
/// streaming body, is sent as `UNSIGNED-PAYLOAD` with
/// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, as the SDKs do.
///
/// Errors (a header value that is not text, a clock before 1970, a malformed
/// `X-Sdk-Date`) are a [`SignError`]; the request may then carry some of the
/// headers above but no `Authorization`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use huaweicloud_errors::signing::{Credentials, sign};
///
/// let credentials = Credentials::new("AccessKey", "SecretKey");
/// let mut request = reqwest::Request::new(
///     reqwest::Method::GET,
///     "https://service.endpoint.myhuaweicloud.com/resources?size=1".parse().unwrap(),
/// );
/// let time = UNIX_EPOCH + Duration::from_secs(1_591_583_940); // 2020-06-08T02:39:00Z
/// sign(&mut request, &credentials, time).unwrap();
/// assert_eq!(request.headers()["x-sdk-date"], "20200608T023900Z");
/// assert_eq!(
///     request.headers()["authorization"],
///     "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, \
///      Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
/// );
/// ```
pub fn sign(
    request: &mut reqwest::Request,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<(), SignError> {
    sign_with(request, credentials, time, &Algorithm::HmacSha256)
}

/// Signs `request` as [`sign`] does, with `algorithm`: `SDK-HMAC-SM3` (SM3
/// for the hashes and the HMAC, `X-Sdk-Content-Sm3` for an unsigned
/// payload) or the derived-key `V11-HMAC-SHA256`.
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use huaweicloud_errors::signing::{Algorithm, Credentials, sign_with};
///
/// let mut request = reqwest::Request::new(
///     reqwest::Method::GET,
///     "https://iam.example.com/v5/agencies".parse().unwrap(),
/// );
/// let v11 = Algorithm::DerivedHmacSha256 { region: "cn-north-4".into(), service: "iam".into() };
/// sign_with(&mut request, &Credentials::new("AK", "SK"), SystemTime::now(), &v11).unwrap();
/// let authorization = request.headers()["authorization"].to_str().unwrap();
/// assert!(authorization.starts_with("V11-HMAC-SHA256 Credential=AK/"));
/// ```
pub fn sign_with(
    request: &mut reqwest::Request,
    credentials: &Credentials,
    time: SystemTime,
    algorithm: &Algorithm,
) -> Result<(), SignError> {
    let hash = algorithm.hash();
    let date = date_header(request.headers_mut(), time)?;
    if let Some(token) = credentials.security_token() {
        let mut value = header_value(token, "security token")?;
        value.set_sensitive(true);
        request.headers_mut().insert(X_SECURITY_TOKEN, value);
    }
    let body_hash;
    let payload_hash = if is_unsigned_payload(request)? {
        request.headers_mut().insert(
            HeaderName::from_static(hash.content_header()),
            HeaderValue::from_static(UNSIGNED_PAYLOAD),
        );
        UNSIGNED_PAYLOAD
    } else {
        let body = request
            .body()
            .and_then(|b| b.as_bytes())
            .unwrap_or_default();
        body_hash = hash.hex_digest(&[body]);
        &*body_hash
    };

    let url = request.url();
    // Values are borrowed from the request, trimmed; only a header sent more
    // than once needs a new string, its values joined by `,`.
    let mut signed = SignedHeaders::new();
    let mut has_host = false;
    // `HeaderMap::iter` yields a name once a value, a name's values one after
    // the other: a repeat of the last name pushed is another of its values.
    for (name, value) in request.headers() {
        has_host |= *name == HOST;
        let name = name.as_str();
        if !canonical::is_signed_header(name) {
            continue;
        }
        let value = canonical::trim(text(name, value)?);
        match signed.last_mut() {
            Some((last, joined)) if *last == name => {
                let joined = joined.to_mut();
                joined.push(',');
                joined.push_str(value);
            }
            _ => signed.push((name, Cow::Borrowed(value))),
        }
    }
    if !has_host {
        let name = url
            .host_str()
            .ok_or(SignError::new(SignErrorKind::NoHost))?;
        signed.push((
            "host",
            match url.port() {
                Some(port) => Cow::Owned(format!("{name}:{port}")),
                None => Cow::Borrowed(name),
            },
        ));
    }
    // Compared byte by byte inline: names are short, and differ early.
    signed.sort_unstable_by(|a, b| a.0.bytes().cmp(b.0.bytes()));

    let mut canonical = HashSink::new(hash);
    canonical_request(
        request.method().as_str(),
        url.path(),
        url.query(),
        &signed,
        payload_hash,
        &mut canonical,
    );
    let authorization = authorization(algorithm, credentials, &date, &canonical.finish(), &signed)?;
    // `SmallVec` (unlike `Vec`) holds its borrow of the headers until dropped.
    drop(signed);
    // From the buffer itself, not a copy of it.
    let mut value = HeaderValue::try_from(authorization)
        .map_err(|_| SignError::new(SignErrorKind::InvalidHeaderValue("access key")))?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

/// The headers a signature covers, by name, with their values as signed; a
/// request has a handful, kept on the stack.
type SignedHeaders<'r> = SmallVec<[(&'r str, Cow<'r, str>); 12]>;

/// The request's `X-Sdk-Date`, or `time` written there when it has none.
fn date_header(headers: &mut HeaderMap, time: SystemTime) -> Result<SdkDate, SignError> {
    match headers.entry(X_SDK_DATE) {
        Entry::Occupied(date) => SdkDate::parse(text("x-sdk-date", date.get())?)
            .ok_or(SignError::new(SignErrorKind::BadSdkDate)),
        Entry::Vacant(slot) => {
            let date = sdk_date(time)?;
            slot.insert(header_value(&date, "date")?);
            Ok(date)
        }
    }
}

/// Whether the body is sent as `UNSIGNED-PAYLOAD`, as the SDKs do for a
/// streaming body or a `Content-Type` other than JSON.
fn is_unsigned_payload(request: &reqwest::Request) -> Result<bool, SignError> {
    if request.body().is_some_and(|b| b.as_bytes().is_none()) {
        return Ok(true);
    }
    match request.headers().get(CONTENT_TYPE) {
        Some(value) => Ok(canonical::is_unsigned_content_type(text(
            "content-type",
            value,
        )?)),
        None => Ok(false),
    }
}

/// A header's value as text.
fn text<'v>(name: &str, value: &'v HeaderValue) -> Result<&'v str, SignError> {
    // Visible ASCII (nearly every value) is checked by a plain loop; only
    // the rest goes through UTF-8 validation.
    value
        .to_str()
        .or_else(|_| std::str::from_utf8(value.as_bytes()))
        .map_err(|_| SignError::new(SignErrorKind::HeaderNotText(name.to_owned())))
}

fn header_value(text: &str, what: &'static str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(text).map_err(|_| SignError::new(SignErrorKind::InvalidHeaderValue(what)))
}

/// Writes `Method \n URI \n Query \n Headers \n \n SignedHeaders \n PayloadHash`
/// to `out`, with `headers` lower-cased, trimmed and sorted by name.
pub(crate) fn canonical_request<V: AsRef<str>>(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(&str, V)],
    payload_hash: &str,
    out: &mut impl Sink,
) {
    out.put(method);
    out.put_byte(b'\n');
    canonical::uri(path, out);
    out.put_byte(b'\n');
    canonical::query(query, out);
    out.put_byte(b'\n');
    for (name, value) in headers {
        out.put(name);
        out.put_byte(b':');
        out.put(value.as_ref());
        out.put_byte(b'\n');
    }
    out.put_byte(b'\n');
    signed_header_names(headers, out);
    out.put_byte(b'\n');
    out.put(payload_hash);
}

/// `name;name;...`, the names of `headers`.
fn signed_header_names<V>(headers: &[(&str, V)], out: &mut impl Sink) {
    for (i, (name, _)) in headers.iter().enumerate() {
        if i > 0 {
            out.put_byte(b';');
        }
        out.put(name);
    }
}

/// The length of [`signed_header_names`].
fn signed_header_names_len<V>(headers: &[(&str, V)]) -> usize {
    headers
        .iter()
        .map(|(name, _)| name.len() + 1)
        .sum::<usize>()
        .saturating_sub(1)
}

/// The string to sign of `canonical_request` at `date` (`YYYYMMDDTHHMMSSZ`).
#[cfg(test)]
pub(crate) fn string_to_sign(algorithm: &Algorithm, date: &str, canonical_request: &str) -> String {
    let info = v11_info(algorithm, date);
    let hash = hash_of(algorithm, canonical_request);
    String::from_utf8(string_to_sign_parts(algorithm, date, info.as_deref(), &hash).concat())
        .unwrap_or_default()
}

/// The string to sign in its pieces, `Algorithm \n Date \n [Info \n] Hash`,
/// to feed the HMAC one by one rather than join them first. (Without
/// `info`, its two pieces are empty.)
fn string_to_sign_parts<'a>(
    algorithm: &Algorithm,
    date: &'a str,
    info: Option<&'a str>,
    hash: &'a Hex,
) -> [&'a [u8]; 7] {
    let (info, info_end): (&[u8], &[u8]) = match info {
        Some(info) => (info.as_bytes(), b"\n"),
        None => (b"", b""),
    };
    let name = algorithm.name().as_bytes();
    [
        name,
        b"\n",
        date.as_bytes(),
        b"\n",
        info,
        info_end,
        hash.as_bytes(),
    ]
}

/// The V11 scope `YYYYMMDD/region/service`; `None` for the other algorithms.
fn v11_info(algorithm: &Algorithm, date: &str) -> Option<String> {
    match algorithm {
        Algorithm::DerivedHmacSha256 { region, service } => Some(format!(
            "{}/{region}/{service}",
            date.get(..8).unwrap_or(date)
        )),
        _ => None,
    }
}

/// The `Authorization` header of the canonical request hashed as
/// `canonical_hash`, written to a buffer of exactly its length (so that the
/// header value takes it over without a copy).
pub(crate) fn authorization<V>(
    algorithm: &Algorithm,
    credentials: &Credentials,
    date: &str,
    canonical_hash: &Hex,
    headers: &[(&str, V)],
) -> Result<Vec<u8>, SignError> {
    if !is_sdk_date(date) {
        return Err(SignError::new(SignErrorKind::BadSdkDate));
    }
    let info = v11_info(algorithm, date);
    let parts = string_to_sign_parts(algorithm, date, info.as_deref(), canonical_hash);
    let access_key = credentials.access_key();
    let (credential, scope, signature) = match &info {
        Some(info) => {
            let key = derived_key(access_key, credentials.secret_key(), info);
            let mac = KeyedMac::new(algorithm.hash(), key.as_bytes());
            (" Credential=", Some(info.as_str()), mac.hex(&parts))
        }
        None => (
            " Access=",
            None,
            credentials.keyed_mac(algorithm.hash()).hex(&parts),
        ),
    };
    const SIGNED_HEADERS: &str = ", SignedHeaders=";
    const SIGNATURE: &str = ", Signature=";
    let len = algorithm.name().len()
        + credential.len()
        + access_key.len()
        + scope.map_or(0, |scope| 1 + scope.len())
        + SIGNED_HEADERS.len()
        + signed_header_names_len(headers)
        + SIGNATURE.len()
        + signature.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(algorithm.name().as_bytes());
    out.extend_from_slice(credential.as_bytes());
    out.extend_from_slice(access_key.as_bytes());
    if let Some(scope) = scope {
        out.push(b'/');
        out.extend_from_slice(scope.as_bytes());
    }
    out.extend_from_slice(SIGNED_HEADERS.as_bytes());
    signed_header_names(headers, &mut out);
    out.extend_from_slice(SIGNATURE.as_bytes());
    out.extend_from_slice(signature.as_bytes());
    Ok(out)
}

/// The canonical request as text.
#[cfg(test)]
pub(crate) fn canonical_text<V: AsRef<str>>(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(&str, V)],
    payload_hash: &str,
) -> String {
    let mut out = String::new();
    canonical_request(method, path, query, headers, payload_hash, &mut out);
    out
}

/// The hash of a canonical request, as [`authorization`] takes it.
#[cfg(test)]
pub(crate) fn hash_of(algorithm: &Algorithm, canonical_request: &str) -> Hex {
    algorithm.hash().hex_digest(&[canonical_request.as_bytes()])
}

#[cfg(test)]
mod vectors {
    //! Every published vector, through the canonical request, the string to
    //! sign and the `Authorization` header, with exactly the headers its
    //! source signed (the Go SDK signs no `host`; the public `sign` always
    //! does, so the integration tests check the others through `sign`).

    use super::*;

    fn algorithm(v: &serde_json::Value) -> Algorithm {
        match v["algorithm"].as_str().unwrap() {
            "SDK-HMAC-SHA256" => Algorithm::HmacSha256,
            "SDK-HMAC-SM3" => Algorithm::HmacSm3,
            "V11-HMAC-SHA256" => Algorithm::DerivedHmacSha256 {
                region: v["region"].as_str().unwrap().into(),
                service: v["service"].as_str().unwrap().into(),
            },
            other => panic!("unknown algorithm {other}"),
        }
    }

    #[test]
    fn every_published_vector_signs_as_published() {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/signing-vectors.json")).unwrap();
        let vectors = all["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 19);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let url: reqwest::Url = v["url"].as_str().unwrap().parse().unwrap();
            let headers: Vec<(&str, &str)> = v["signed_header_values"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect();
            let algorithm = algorithm(v);
            let body = v["body"].as_str().unwrap();
            let canonical = canonical_text(
                v["method"].as_str().unwrap(),
                url.path(),
                url.query(),
                &headers,
                &algorithm.hash().hex_digest(&[body.as_bytes()]),
            );
            assert_eq!(
                canonical,
                v["canonical_request"].as_str().unwrap(),
                "{name}"
            );
            let date = v["x_sdk_date"].as_str().unwrap();
            assert_eq!(
                string_to_sign(&algorithm, date, &canonical),
                v["string_to_sign"].as_str().unwrap(),
                "{name}"
            );
            let credentials = Credentials::new(
                v["access_key"].as_str().unwrap(),
                v["secret_key"].as_str().unwrap(),
            );
            assert_eq!(
                authorization(
                    &algorithm,
                    &credentials,
                    date,
                    &hash_of(&algorithm, &canonical),
                    &headers
                )
                .unwrap(),
                v["authorization"].as_str().unwrap().as_bytes(),
                "{name}"
            );
        }
    }
}

#[cfg(test)]
mod repeated_headers {
    use super::*;

    #[test]
    fn a_header_sent_twice_signs_once_with_its_values_joined_by_a_comma() {
        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            "https://iam.example.com/v5/users".parse().unwrap(),
        );
        let headers = request.headers_mut();
        headers.append("x-b", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("a"));
        headers.append("x-b", HeaderValue::from_static(" 2 "));
        headers.insert(X_SDK_DATE, HeaderValue::from_static("20200608T023900Z"));
        let credentials = Credentials::new("AK", "SK");
        sign(&mut request, &credentials, SystemTime::now()).unwrap();

        let want_headers = [
            ("host", "iam.example.com"),
            ("x-a", "a"),
            ("x-b", "1,2"),
            ("x-sdk-date", "20200608T023900Z"),
        ];
        let canonical = canonical_text(
            "GET",
            "/v5/users",
            None,
            &want_headers,
            &Algorithm::HmacSha256.hash().hex_digest(&[]),
        );
        let want = authorization(
            &Algorithm::HmacSha256,
            &credentials,
            "20200608T023900Z",
            &hash_of(&Algorithm::HmacSha256, &canonical),
            &want_headers,
        )
        .unwrap();
        assert_eq!(request.headers()[AUTHORIZATION].as_bytes(), want);
    }
}

#[cfg(test)]
mod keyed_mac_cache {
    use super::*;

    fn authorization_of(credentials: &Credentials, algorithm: &Algorithm) -> HeaderValue {
        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            "https://iam.example.com/v5/users?limit=1".parse().unwrap(),
        );
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_591_583_940);
        sign_with(&mut request, credentials, time, algorithm).unwrap();
        request.headers()[AUTHORIZATION].clone()
    }

    #[test]
    fn one_credentials_signs_with_each_hash_as_fresh_ones_do() {
        let shared = Credentials::new("AK", "SK");
        for algorithm in [
            Algorithm::HmacSha256,
            Algorithm::HmacSm3,
            Algorithm::HmacSha256,
            Algorithm::HmacSm3,
        ] {
            let fresh = Credentials::new("AK", "SK");
            assert_eq!(
                authorization_of(&shared, &algorithm),
                authorization_of(&fresh, &algorithm),
                "{algorithm:?}"
            );
        }
    }

    #[test]
    fn a_copy_with_other_fields_keeps_signing_with_the_same_secret() {
        let first = Credentials::new("AK", "SK");
        let before = authorization_of(&first, &Algorithm::HmacSha256);
        // The copy carries the keyed HMAC made above.
        let copy = first.with_domain_id("d-1");
        assert_eq!(authorization_of(&copy, &Algorithm::HmacSha256), before);
        let other_secret = Credentials::new("AK", "SK2");
        assert_ne!(
            authorization_of(&other_secret, &Algorithm::HmacSha256),
            before
        );
    }
}
