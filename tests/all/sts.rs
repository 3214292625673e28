//! `sts::decode_authorization_message` against loopback servers: the request
//! it sends, a refusal as an `ApiError` (with and without `ErrorMiddleware`),
//! plain-text and JSON decoded messages, malformed and endless answers, and
//! no credential of the request in any error it returns.

use std::time::Duration;

use huaweicloud_errors::sts::{
    DecodedAuthorization, MAX_ANSWER_LEN, MalformedAnswer, decode_authorization_message,
};
use huaweicloud_errors::{ApiError, ErrorCode, ErrorMiddleware};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Next};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RawServer, answer, api, builder, client, reqwest_client};

const PATH: &str = "/v5/decode-authorization-message";
const ENCODED: &str = "ZW5jb2RlZC1hdXRob3JpemF0aW9uLW1lc3NhZ2U";

/// A 200 answer carrying `message` as the decoded message.
fn decoded(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "decoded_message": message }))
}

/// A client without `ErrorMiddleware`: error answers reach the function as
/// responses.
fn bare_client() -> ClientWithMiddleware {
    ClientBuilder::new(reqwest_client().build().unwrap()).build()
}

/// The `MalformedAnswer` inside `err`; panics on any other error.
fn malformed(err: &reqwest_middleware::Error) -> &MalformedAnswer {
    match err {
        reqwest_middleware::Error::Middleware(inner) => inner
            .downcast_ref::<MalformedAnswer>()
            .unwrap_or_else(|| panic!("expected a MalformedAnswer, got {err:?}")),
        reqwest_middleware::Error::Reqwest(_) => panic!("expected a MalformedAnswer, got {err:?}"),
    }
}

#[tokio::test]
async fn sends_the_encoded_message_as_json_and_returns_the_decoded_one() {
    let server = MockServer::start().await;
    let message = r#"{"allowed":false,"context":{"action":"iam:agencies:createAgency"}}"#;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "encoded_message": ENCODED })))
        .respond_with(decoded(message))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(builder().build());

    let got = decode_authorization_message(&client, &server.uri(), ENCODED)
        .await
        .unwrap();
    assert_eq!(got.message(), message);
    let parsed = got.json().expect("the decoded message is JSON");
    assert_eq!(parsed["context"]["action"], "iam:agencies:createAgency");
    assert_eq!(parsed["allowed"], false);

    // A trailing slash on the endpoint is not doubled.
    let again = decode_authorization_message(&client, &format!("{}/", server.uri()), ENCODED)
        .await
        .unwrap();
    assert_eq!(again, got);
}

#[tokio::test]
async fn a_plain_text_message_is_kept_as_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(decoded(
            "User: iam-user-1 is not authorized to perform: iam:agencies:createAgency",
        ))
        .mount(&server)
        .await;

    let got = decode_authorization_message(&client(builder().build()), &server.uri(), ENCODED)
        .await
        .unwrap();
    assert_eq!(
        got.message(),
        "User: iam-user-1 is not authorized to perform: iam:agencies:createAgency"
    );
    assert_eq!(got.json(), None);
    assert_eq!(got.into_message().len(), 72);
}

#[tokio::test]
async fn a_refusal_is_the_decoded_api_error_through_error_middleware() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(answer(400, "STS5.1301"))
        .expect(1)
        .mount(&server)
        .await;

    let err = decode_authorization_message(&client(builder().build()), &server.uri(), "x")
        .await
        .unwrap_err();
    let api = api(&err);
    assert_eq!(api.code(), Some(&ErrorCode::StsMalformedEncodedMessage));
    assert_eq!(api.request_id(), Some("req-STS5.1301"));
    // Made by the middleware, so it knows the method.
    assert_eq!(api.method(), Some(&reqwest::Method::POST));
}

#[tokio::test]
async fn a_refusal_is_an_api_error_without_error_middleware_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(answer(403, "STS5.1001"))
        .expect(1)
        .mount(&server)
        .await;

    let err = decode_authorization_message(&bare_client(), &server.uri(), ENCODED)
        .await
        .unwrap_err();
    let api = api(&err);
    assert_eq!(api.status(), 403);
    assert_eq!(api.code(), Some(&ErrorCode::StsNotAuthorized));
    assert!(api.is_permission());
    assert_eq!(api.url(), Some(format!("{}{PATH}", server.uri()).as_str()));
}

#[tokio::test]
async fn the_call_is_retried_by_the_clients_own_middleware() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(answer(429, "APIGW.0308"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(decoded("denied"))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;

    let got = decode_authorization_message(&client(builder().build()), &server.uri(), ENCODED)
        .await
        .unwrap();
    assert_eq!(got.message(), "denied");
}

#[tokio::test]
async fn a_malformed_success_is_a_clear_error() {
    let server = MockServer::start().await;
    for (route, body, says) in [
        ("/html", "<html>OK</html>", "not JSON (line 1, column 1)"),
        (
            "/number",
            r#"{"decoded_message":7}"#,
            "without a string \"decoded_message\"",
        ),
        ("/empty", "", "not JSON"),
        ("/other", r#"{"allowed":false}"#, "without a string"),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("{route}{PATH}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
        let endpoint = format!("{}{route}", server.uri());
        for client in [client(builder().build()), bare_client()] {
            let err = decode_authorization_message(&client, &endpoint, ENCODED)
                .await
                .unwrap_err();
            let text = malformed(&err).to_string();
            assert!(text.contains(says), "{route}: {text}");
            assert!(
                text.starts_with("STS decode-authorization-message answered success with"),
                "{text}"
            );
            assert!(ApiError::from_error(&err).is_none(), "{route}");
        }
    }
}

#[tokio::test]
async fn a_long_answer_is_refused_by_its_length() {
    let server = MockServer::start().await;
    let long = "d".repeat(MAX_ANSWER_LEN);
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(decoded(&long))
        .mount(&server)
        .await;
    let err = decode_authorization_message(&bare_client(), &server.uri(), ENCODED)
        .await
        .unwrap_err();
    assert!(malformed(&err).is_too_long(), "{err}");
    assert!(
        err.to_string().contains("longer than 131072 bytes"),
        "{err}"
    );

    // One that fits, written with escapes, is read whole.
    let escaped = "\"".repeat(10_240);
    let body = json!({ "decoded_message": escaped }).to_string();
    assert!(body.len() < MAX_ANSWER_LEN);
    let fits = DecodedAuthorization::parse(body.as_bytes()).unwrap();
    assert_eq!(fits.message().len(), 10_240);
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_limit() {
    // A chunked 200 that never ends: without a length to refuse it by, the
    // read must stop at the limit.
    let server = RawServer::start(|mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 4096, "d".repeat(4096));
        let start = "{\"decoded_message\":\"";
        let first = format!("{:x}\r\n{start}\r\n", start.len());
        let _ = stream.write_all(first.as_bytes()).await;
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;

    let client = bare_client();
    let endpoint = server.url("");
    let call = decode_authorization_message(&client, &endpoint, ENCODED);
    let err = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .expect("the read stops at the limit")
        .unwrap_err();
    assert!(malformed(&err).is_too_long(), "{err}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_api_error_decodes_its_own_encoded_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v5/agencies"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error_code": "PAP5.0001",
            "error_msg": "access denied: iam:agencies:createAgency",
            "encoded_authorization_message": ENCODED,
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/sts{PATH}")))
        .and(body_json(json!({ "encoded_message": ENCODED })))
        .respond_with(decoded("denied: iam:agencies:createAgency"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(builder().build());
    let sts = format!("{}/sts", server.uri());

    let err = client
        .post(format!("{}/v5/agencies", server.uri()))
        .send()
        .await
        .unwrap_err();
    let got = api(&err)
        .decode_authorization(&client, &sts)
        .await
        .expect("the error carries an encoded message")
        .unwrap();
    assert_eq!(got.message(), "denied: iam:agencies:createAgency");

    // Nothing to decode: nothing is sent.
    let plain = ApiError::from_parts(
        reqwest::StatusCode::FORBIDDEN,
        &reqwest::header::HeaderMap::new(),
        br#"{"error_code":"PAP5.0001","error_msg":"access denied"}"#,
    );
    assert!(plain.decode_authorization(&client, &sts).await.is_none());
}

#[tokio::test]
async fn an_endpoint_that_is_not_a_url_is_a_transport_error() {
    let err = decode_authorization_message(&bare_client(), "sts.example", ENCODED)
        .await
        .unwrap_err();
    assert!(
        matches!(err, reqwest_middleware::Error::Reqwest(ref e) if e.is_builder()),
        "{err:?}"
    );
}

mod secrets {
    //! Credentials the client's layers put on the STS request reach no
    //! error the call returns.

    use std::pin::Pin;

    use super::*;

    const SECRET_KEY: &str = "SK-SECRET-0101";
    const SECURITY_TOKEN: &str = "gQpSTS-SECRET-0102";
    const SIGNATURE: &str = "SIGNATURE-SECRET-0103";

    type Attempt<'a> =
        Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>>;

    /// Gives the closure the higher-ranked signature that
    /// `reqwest_middleware` implements `Middleware` for.
    fn as_middleware<F>(f: F) -> F
    where
        F: for<'a> Fn(Request, &'a mut http::Extensions, Next<'a>) -> Attempt<'a>,
    {
        f
    }

    /// A client whose innermost layer adds an `Authorization` header, an
    /// `X-Security-Token` and a query holding a secret key, as a careless
    /// signer might.
    fn signing_client(error_middleware: Option<ErrorMiddleware>) -> ClientWithMiddleware {
        let sign = as_middleware(|mut request: Request, extensions, next| {
            let headers = request.headers_mut();
            let authorization =
                format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={SIGNATURE}");
            headers.insert("authorization", authorization.parse().unwrap());
            headers.insert("x-security-token", SECURITY_TOKEN.parse().unwrap());
            let query = format!("sk={SECRET_KEY}");
            request.url_mut().set_query(Some(&query));
            next.run(request, extensions)
        });
        let mut stack = ClientBuilder::new(reqwest_client().build().unwrap());
        if let Some(middleware) = error_middleware {
            stack = stack.with(middleware);
        }
        stack.with(sign).build()
    }

    fn assert_shows_no_secret(what: &str, err: &reqwest_middleware::Error) {
        assert_shows_none_of(what, err, &[SECRET_KEY, SECURITY_TOKEN, SIGNATURE]);
    }

    /// Panics if `err`, its `Debug` or any of its sources shows any of `secrets`.
    fn assert_shows_none_of(what: &str, err: &reqwest_middleware::Error, secrets: &[&str]) {
        let mut texts = vec![err.to_string(), format!("{err:?}"), format!("{err:#?}")];
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            texts.push(cause.to_string());
            texts.push(format!("{cause:?}"));
            source = cause.source();
        }
        for text in texts {
            for secret in secrets {
                assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
            }
        }
    }

    #[tokio::test]
    async fn no_error_of_the_call_shows_a_credential() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/refused{PATH}")))
            .and(header("x-security-token", SECURITY_TOKEN))
            .respond_with(answer(403, "STS5.1001"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/malformed{PATH}")))
            .and(header("x-security-token", SECURITY_TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>OK</html>"))
            .mount(&server)
            .await;

        for layers in [Some(builder().build()), None] {
            let with_middleware = layers.is_some();
            let client = signing_client(layers);
            for route in ["refused", "malformed"] {
                let endpoint = format!("{}/{route}", server.uri());
                let err = decode_authorization_message(&client, &endpoint, ENCODED)
                    .await
                    .unwrap_err();
                assert_shows_no_secret(
                    &format!("{route}, ErrorMiddleware: {with_middleware}"),
                    &err,
                );
                // The layer ran: the mocks matched on its header.
                match route {
                    "refused" => assert_eq!(api(&err).status(), 403),
                    _ => assert!(!malformed(&err).is_too_long()),
                }
            }
        }
    }

    /// A success whose body is cut short is the transport error it is (not
    /// a malformed answer), and shows nothing a layer added to the request.
    #[tokio::test]
    async fn a_cut_short_answer_is_a_transport_error_showing_no_secret() {
        let server = RawServer::start(|mut stream| async move {
            let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"decoded_message\":\"cut";
            let _ = stream.write_all(answer.as_bytes()).await;
        })
        .await;

        for layers in [Some(builder().build()), None] {
            let err =
                decode_authorization_message(&signing_client(layers), &server.url(""), ENCODED)
                    .await
                    .unwrap_err();
            assert_shows_no_secret("a cut-short answer", &err);
            assert!(
                matches!(err, reqwest_middleware::Error::Reqwest(ref e) if e.is_body() || e.is_decode()),
                "{err:?}"
            );
        }
    }

    /// The same with the crate's own `Signer`: the secret key, the security
    /// token and the `Authorization` header it wrote (read back from what the
    /// server received) appear in no error of the call.
    #[cfg(feature = "signing")]
    #[tokio::test]
    async fn no_error_shows_what_the_signer_sent() {
        use huaweicloud_errors::signing::{Credentials, Signer};

        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/refused{PATH}")))
            .respond_with(answer(403, "STS5.1001"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/malformed{PATH}")))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>OK</html>"))
            .mount(&server)
            .await;
        let credentials =
            Credentials::new("AK-0104", SECRET_KEY).with_security_token(SECURITY_TOKEN);

        for with_middleware in [true, false] {
            let mut stack = ClientBuilder::new(reqwest_client().build().unwrap());
            if with_middleware {
                stack = stack.with(builder().build());
            }
            let client = stack.with(Signer::new(credentials.clone())).build();
            for route in ["refused", "malformed"] {
                let endpoint = format!("{}/{route}", server.uri());
                let err = decode_authorization_message(&client, &endpoint, ENCODED)
                    .await
                    .unwrap_err();
                let received = server.received_requests().await.unwrap();
                let sent = received.last().unwrap();
                assert_eq!(sent.headers["x-security-token"], SECURITY_TOKEN);
                let authorization = sent.headers["authorization"].to_str().unwrap();
                let signature = authorization.rsplit_once("Signature=").unwrap().1;
                let what = format!("{route}, ErrorMiddleware: {with_middleware}");
                assert_shows_no_secret(&what, &err);
                assert_shows_none_of(&what, &err, &[authorization, signature]);
            }
        }
    }
}
