//! A loopback gateway that checks `SDK-HMAC-SHA256` signatures as the API
//! gateway does, with its own code (not the crate's canonicaliser), and the
//! calls it judges: retried through `ErrorMiddleware` and `Signer`, every
//! attempt signed afresh; a wrong secret refused with APIGW.0301, not retried.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use huaweicloud_errors::signing::{
    Credentials, CredentialsError, EnvProvider, ProfileProvider, ProviderChain, Signer,
};
use huaweicloud_errors::{ErrorCode, ErrorMiddleware};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use sha2::{Digest, Sha256};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::support::{answer, api, builder, reqwest_client};

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex HMAC-SHA256.
pub(crate) fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Authorization` header a gateway expects for `canonical_request`
/// (whose second-to-last line is the signed headers) signed at `date`.
pub(crate) fn expected_authorization(
    access_key: &str,
    secret_key: &str,
    date: &str,
    canonical_request: &str,
) -> String {
    let signed_headers = canonical_request.lines().rev().nth(1).unwrap();
    let to_sign = format!(
        "SDK-HMAC-SHA256\n{date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let signature = hmac_hex(secret_key.as_bytes(), to_sign.as_bytes());
    format!(
        "SDK-HMAC-SHA256 Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// `A-Z a-z 0-9 - _ . ~` as they are, every other byte `%XX`.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` decoded.
fn decode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(digits, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// What the gateway saw of an accepted attempt.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) date: String,
    pub(crate) signed_headers: String,
    pub(crate) signature: String,
}

/// Checks `request`'s signature against the secret of its access key, as
/// the gateway would; `Err` says why it is refused.
pub(crate) fn verify(
    request: &wiremock::Request,
    secrets: &HashMap<String, String>,
    now: SystemTime,
) -> Result<Seen, String> {
    let header = |name: &str| -> Option<String> {
        let values: Vec<&str> = request
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{fffd}"))
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let authorization = header("authorization").ok_or("no Authorization")?;
    let rest = authorization
        .strip_prefix("SDK-HMAC-SHA256 Access=")
        .ok_or("not SDK-HMAC-SHA256")?;
    let (access_key, rest) = rest
        .split_once(", SignedHeaders=")
        .ok_or("no SignedHeaders")?;
    let (signed_headers, signature) = rest.split_once(", Signature=").ok_or("no Signature")?;
    let secret = secrets.get(access_key).ok_or("unknown access key")?;

    let date = header("x-sdk-date").ok_or("no X-Sdk-Date")?;
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"x-sdk-date") || !names.contains(&"host") {
        return Err("host and x-sdk-date must be signed".into());
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    if sorted != names {
        return Err("SignedHeaders not sorted".into());
    }
    // The date, within 15 minutes of the gateway's clock.
    let at = |s: &str| -> Option<u64> {
        let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
        let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
        let (h, mi, se) = (n(9..11)?, n(11..13)?, n(13..15)?);
        // Days from civil, for years after 1970.
        let (y2, m2) = if mo <= 2 {
            (y - 1, mo + 9)
        } else {
            (y, mo - 3)
        };
        let days = 365 * y2 + y2 / 4 - y2 / 100 + y2 / 400 + (153 * m2 + 2) / 5 + d - 1 - 719_468;
        Some(days * 86_400 + h * 3600 + mi * 60 + se)
    };
    let signed_at = at(&date).ok_or("X-Sdk-Date malformed")?;
    let now = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    if signed_at.abs_diff(now) > 15 * 60 {
        return Err("X-Sdk-Date more than 15 minutes off".into());
    }

    let mut path: Vec<String> = decode(request.url.path())
        .split(|&b| b == b'/')
        .map(encode)
        .collect();
    if path.last().is_some_and(|s| !s.is_empty()) {
        path.push(String::new());
    }
    let mut pairs: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes())))
        .collect();
    let mut canonical = format!(
        "{}\n{}\n{}\n",
        request.method,
        path.join("/"),
        query.join("&")
    );
    for name in &names {
        let value = header(name).ok_or_else(|| format!("signed header {name} not sent"))?;
        canonical.push_str(&format!("{name}:{}\n", value.trim()));
    }
    let payload = match header("x-sdk-content-sha256") {
        Some(v) if v == "UNSIGNED-PAYLOAD" => v,
        _ => sha256_hex(&request.body),
    };
    canonical.push_str(&format!("\n{signed_headers}\n{payload}"));
    let want = expected_authorization(access_key, secret, &date, &canonical);
    if want != authorization {
        return Err("signature mismatch".into());
    }
    Ok(Seen {
        date,
        signed_headers: signed_headers.to_owned(),
        signature: signature.to_owned(),
    })
}

/// The gateway's 401 for a bad signature.
pub(crate) fn refused() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(serde_json::json!({
        "error_code": "APIGW.0301",
        "error_msg": "Incorrect IAM authentication information: verify aksk signature fail",
        "request_id": "req-0301"
    }))
}

/// A wiremock responder: refuses a bad signature, and answers an accepted
/// attempt `n` (0-based) with `then(n)`.
#[derive(Clone)]
pub(crate) struct Gateway {
    secrets: Arc<HashMap<String, String>>,
    then: Arc<dyn Fn(usize) -> ResponseTemplate + Send + Sync>,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    pub(crate) refusals: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// A gateway that knows one key pair.
    pub(crate) fn new(
        access_key: &str,
        secret_key: &str,
        then: impl Fn(usize) -> ResponseTemplate + Send + Sync + 'static,
    ) -> Gateway {
        Gateway {
            secrets: Arc::new(HashMap::from([(
                access_key.to_owned(),
                secret_key.to_owned(),
            )])),
            then: Arc::new(then),
            seen: Arc::default(),
            refusals: Arc::default(),
        }
    }

    /// Mounts the gateway on every path of a new server.
    pub(crate) async fn start(&self) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(self.clone())
            .mount(&server)
            .await;
        server
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn refusals(&self) -> Vec<String> {
        self.refusals.lock().unwrap().clone()
    }
}

impl Respond for Gateway {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        match verify(request, &self.secrets, SystemTime::now()) {
            Ok(seen) => {
                let mut all = self.seen.lock().unwrap();
                all.push(seen);
                (self.then)(all.len() - 1)
            }
            Err(why) => {
                self.refusals.lock().unwrap().push(why);
                refused()
            }
        }
    }
}

/// A server that must receive nothing.
pub(crate) async fn never_called() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// The `E` inside a `reqwest_middleware::Error::Middleware`.
pub(crate) fn middleware_error<E>(err: &reqwest_middleware::Error) -> &E
where
    E: std::fmt::Display + std::fmt::Debug + Send + Sync + 'static,
{
    let reqwest_middleware::Error::Middleware(inner) = err else {
        panic!("not a middleware error: {err:?}");
    };
    inner
        .downcast_ref::<E>()
        .expect("the signing layer's error")
}

const AK: &str = "AK-GATEWAY";
const SK: &str = "SK-GATEWAY-SECRET";

/// A client that retries (with the suite's tiny delays) and signs with `signer`.
pub(crate) fn signed_client(signer: Signer) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest_client().build().unwrap())
        .with(builder().build())
        .with(signer)
        .build()
}

/// A clock that moves a minute on each reading, from now.
fn minute_clock() -> impl Fn() -> SystemTime + Send + Sync + 'static {
    let start = SystemTime::now() - Duration::from_secs(5 * 60);
    let ticks = AtomicU64::new(0);
    move || start + Duration::from_secs(60 * ticks.fetch_add(1, Ordering::SeqCst))
}

#[tokio::test]
async fn every_attempt_of_a_retried_call_is_signed_afresh_and_accepted() {
    let gateway = Gateway::new(AK, SK, |n| match n {
        0 | 1 => answer(409, "PAP5.0006"),
        _ => ResponseTemplate::new(200).set_body_string("{}"),
    });
    let server = gateway.start().await;
    let client = signed_client(Signer::new(Credentials::new(AK, SK)).clock(minute_clock()));

    let response = client
        .post(format!(
            "{}/v5/policies/p-1/attach-agency?dry=false",
            server.uri()
        ))
        .header("Content-Type", "application/json")
        .body(r#"{"agency_id":"a-1"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(gateway.refusals(), Vec::<String>::new());
    let seen = gateway.seen();
    assert_eq!(seen.len(), 3, "two PAP5.0006 retried, then 200");
    for pair in seen.windows(2) {
        assert_ne!(
            pair[0].date, pair[1].date,
            "a retry carries a new X-Sdk-Date"
        );
        assert_ne!(pair[0].signature, pair[1].signature, "and a new signature");
    }
    assert_eq!(
        seen[0].signed_headers, "content-type;host;x-sdk-date",
        "every header on the request is signed"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_apigw_0301_and_not_retried() {
    let gateway = Gateway::new(AK, SK, |_| ResponseTemplate::new(200));
    let server = gateway.start().await;
    let client = signed_client(Signer::new(Credentials::new(AK, "SK-WRONG")));

    let err = client
        .get(format!("{}/v5/agencies?limit=10", server.uri()))
        .send()
        .await
        .unwrap_err();

    let api_err = api(&err);
    assert_eq!(
        api_err.code(),
        Some(&ErrorCode::ApigwIncorrectIamAuthentication)
    );
    assert_eq!(api_err.status().as_u16(), 401);
    assert_eq!(api_err.attempts(), 1);
    assert_eq!(gateway.refusals(), ["signature mismatch"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_gateway_accepts_what_the_signer_adds_and_the_real_clock() {
    let gateway = Gateway::new(AK, SK, |_| ResponseTemplate::new(200));
    let server = gateway.start().await;
    let credentials = Credentials::new(AK, SK).with_security_token("TOKEN-GATEWAY");
    let client = signed_client(Signer::new(credentials).domain_id("d-1").project_id("p-1"));

    client
        .put(format!(
            "{}/v5/agencies/a%20b%2Fc?b=2&a=x+y&a=%2B",
            server.uri()
        ))
        .header("X-Custom", "  inner  spaces ")
        .header("x_ignored", "1")
        .header("Content-Type", "application/octet-stream")
        .body(vec![0u8, 1, 2])
        .send()
        .await
        .unwrap();

    assert_eq!(gateway.refusals(), Vec::<String>::new());
    assert_eq!(
        gateway.seen()[0].signed_headers,
        "content-type;host;x-custom;x-domain-id;x-project-id;x-sdk-content-sha256;x-sdk-date;x-security-token"
    );
    let received = &server.received_requests().await.unwrap()[0];
    assert_eq!(received.headers["x-domain-id"], "d-1");
    assert_eq!(received.headers["x-project-id"], "p-1");
    assert_eq!(received.headers["x-security-token"], "TOKEN-GATEWAY");
    assert_eq!(received.headers["x-sdk-content-sha256"], "UNSIGNED-PAYLOAD");
}

#[tokio::test]
async fn a_streaming_body_is_sent_unsigned_and_accepted() {
    let gateway = Gateway::new(AK, SK, |_| ResponseTemplate::new(200));
    let server = gateway.start().await;
    let client = signed_client(Signer::new(Credentials::new(AK, SK)));
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"{\"a\":"), Ok(b"1}")];

    client
        .post(format!("{}/v5/stream", server.uri()))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();

    assert_eq!(gateway.refusals(), Vec::<String>::new());
    let received = &server.received_requests().await.unwrap()[0];
    assert_eq!(received.headers["x-sdk-content-sha256"], "UNSIGNED-PAYLOAD");
    assert_eq!(received.body, b"{\"a\":1}");
}

#[tokio::test]
async fn no_credentials_fail_the_call_before_sending_and_name_the_sources() {
    let server = never_called().await;
    let missing = std::env::temp_dir().join("huaweicloud-errors-no-such-dir/credentials");
    let chain = ProviderChain::empty()
        .with(EnvProvider::from_lookup(|_| None))
        .with(ProfileProvider::from_path(&missing));
    let client = ClientBuilder::new(reqwest_client().build().unwrap())
        .with(ErrorMiddleware::default())
        .with(Signer::from_provider(chain))
        .build();

    let err = client
        .get(format!("{}/v5/agencies", server.uri()))
        .send()
        .await
        .unwrap_err();

    assert_eq!(
        middleware_error::<CredentialsError>(&err).to_string(),
        format!(
            "no Huawei Cloud credentials: tried environment (HUAWEICLOUD_SDK_AK is not set); \
             profile file {} (not found)",
            missing.display()
        )
    );
    server.verify().await;
}

#[tokio::test]
async fn an_id_that_cannot_be_a_header_fails_the_call_before_sending() {
    let server = never_called().await;
    let client = signed_client(Signer::new(Credentials::new(AK, SK)).domain_id("d-1\r\nX: y"));

    let err = client.get(server.uri()).send().await.unwrap_err();

    assert_eq!(
        middleware_error::<huaweicloud_errors::signing::SignError>(&err).to_string(),
        "cannot sign the request: the domain id contains characters a header cannot carry"
    );
    server.verify().await;
}
