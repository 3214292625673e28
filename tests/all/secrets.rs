//! Credentials sent with a request never reach the error or the logs: not
//! the `Authorization`, `X-Auth-Token` or `X-Security-Token` headers, not the
//! URL's user info or query.

use huaweicloud_errors::ApiError;
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::{RawServer, answer, api, builder, client};

const SIGNATURE: &str = "SIGNATURE-c0ffee";
const ACCESS_KEY: &str = "AKSECRET0001";
const TOKEN: &str = "MIIToken-SECRET-0002";
const SECURITY_TOKEN: &str = "gQpSTS-SECRET-0003";
const USER: &str = "user-SECRET-0004";
const PASSWORD: &str = "password-SECRET-0005";
const QUERY: &str = "QUERY-SECRET-0006";

fn authorization() -> String {
    format!(
        "SDK-HMAC-SHA256 Access={ACCESS_KEY}, SignedHeaders=host;x-sdk-date, Signature={SIGNATURE}"
    )
}

/// Panics if any secret appears in `text`.
fn assert_no_secret(what: &str, text: &str) {
    for secret in [
        SIGNATURE,
        ACCESS_KEY,
        TOKEN,
        SECURITY_TOKEN,
        USER,
        PASSWORD,
        QUERY,
    ] {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// Every way a caller may print the error.
fn assert_error_shows_no_secret(err: &reqwest_middleware::Error) {
    let api_err = api(err);
    assert_no_secret("ApiError Display", &api_err.to_string());
    assert_no_secret("ApiError Debug", &format!("{api_err:?}"));
    assert_no_secret("ApiError {:#?}", &format!("{api_err:#?}"));
    assert_no_secret("the error's Display", &err.to_string());
    // anyhow's Debug prints the whole source chain.
    assert_no_secret("the error's Debug", &format!("{err:?}"));
    let mut source = std::error::Error::source(api_err);
    while let Some(cause) = source {
        assert_no_secret("a source's Display", &cause.to_string());
        assert_no_secret("a source's Debug", &format!("{cause:?}"));
        source = cause.source();
    }
}

/// A request carrying every kind of credential to `route` on `base`.
fn signed(
    client: &reqwest_middleware::ClientWithMiddleware,
    m: Method,
    base: &str,
    route: &str,
) -> reqwest_middleware::RequestBuilder {
    client
        .request(m, format!("{base}{route}?marker={QUERY}&limit=10"))
        .header(AUTHORIZATION, authorization())
        .header("X-Auth-Token", TOKEN)
        .header("X-Security-Token", SECURITY_TOKEN)
}

#[tokio::test]
async fn request_credentials_never_appear_in_the_error() {
    let server = MockServer::start().await;
    for (m, status, code, calls) in [
        ("GET", 503, "APIGW.0613", 4),
        ("POST", 403, "PAP5.0001", 1),
        ("PUT", 401, "APIGW.0301", 1),
    ] {
        Mock::given(method(m))
            .and(path("/v5/agencies"))
            .respond_with(answer(status, code))
            .expect(calls)
            .mount(&server)
            .await;
    }
    let client = client(builder().build());

    for m in [Method::GET, Method::POST, Method::PUT] {
        let err = signed(&client, m.clone(), &server.uri(), "/v5/agencies")
            .send()
            .await
            .unwrap_err();
        assert!(api(&err).code().is_some(), "{m}: the answer was decoded");
        assert_eq!(
            api(&err).url(),
            Some(&*format!("{}/v5/agencies", server.uri())),
            "{m}"
        );
        assert_error_shows_no_secret(&err);
    }
    // The credentials were surely sent, with every attempt.
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 6);
    for request in &received {
        let sent = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(sent("authorization"), Some(&*authorization()));
        assert_eq!(sent("x-auth-token"), Some(TOKEN));
        assert_eq!(sent("x-security-token"), Some(SECURITY_TOKEN));
        assert_eq!(
            request.url.query(),
            Some(&*format!("marker={QUERY}&limit=10"))
        );
    }
    server.verify().await;
}

#[tokio::test]
async fn the_url_loses_its_user_info_and_query() {
    let server = MockServer::start().await;
    Mock::given(path("/v5/users"))
        .respond_with(answer(404, "PAP5.0021"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(builder().build());
    let port = server.address().port();
    // Built by hand: reqwest's request builders would move the user info
    // into an Authorization header before the middleware sees the URL.
    let url = format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}/v5/users?marker={QUERY}#frag");
    let request = reqwest::Request::new(Method::GET, url.parse().unwrap());

    let err = client.execute(request).await.unwrap_err();
    let api_err = api(&err);
    assert_eq!(
        api_err.url(),
        Some(&*format!("http://127.0.0.1:{port}/v5/users"))
    );
    assert_error_shows_no_secret(&err);
    server.verify().await;
}

#[tokio::test]
async fn an_error_body_cut_by_the_network_does_not_bring_the_url_back() {
    // The body read fails part way: the transfer error, kept as the source,
    // must not carry the full URL either.
    let server = RawServer::start(|mut stream| async move {
        use tokio::io::AsyncWriteExt;
        let head = "HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
            .write_all(br#"{"error_code":"PAP5.0001""#)
            .await
            .unwrap();
    })
    .await;
    let client = client(builder().build());

    let err = signed(&client, Method::GET, &server.url(""), "/v5/agencies")
        .send()
        .await
        .unwrap_err();
    let api_err = api(&err);
    assert!(std::error::Error::source(api_err).is_some(), "{api_err:?}");
    assert!(ApiError::from_error(&err).is_some());
    assert_error_shows_no_secret(&err);
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn request_credentials_never_appear_in_tracing_events() {
    let (logs, _guard) = crate::support::Captured::start();
    let server = MockServer::start().await;
    Mock::given(path("/v5/agencies"))
        .respond_with(answer(503, "APIGW.0613").insert_header("X-Request-Id", "req-header"))
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(path("/v5/users"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(builder().build());

    let err = signed(&client, Method::GET, &server.uri(), "/v5/agencies")
        .send()
        .await
        .unwrap_err();
    assert_eq!(api(&err).attempts(), 4);
    signed(&client, Method::GET, &server.uri(), "/v5/users")
        .send()
        .await
        .unwrap();

    let text = logs.text();
    let ours = text
        .lines()
        .filter(|l| l.contains("huaweicloud call failed"))
        .count();
    assert_eq!(ours, 4, "the capture works:\n{text}");
    // Every event captured, at every level and from every crate.
    assert_no_secret("the tracing events", &text);
}

#[tokio::test]
async fn transport_errors_drop_the_query_and_user_info_too() {
    // Connect failures stay reqwest errors (so is_connect() works), whose
    // Display and Debug show the URL: the middleware strips it first.
    let url = crate::support::closed_port_url("/v5/agencies").await;
    let url = url.replacen("http://", &format!("http://{USER}:{PASSWORD}@"), 1);
    let client = client(builder().max_retries(1).build());
    let err = client
        .get(format!("{url}?marker={QUERY}"))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(ApiError::from_error(&err).is_none());
    assert_no_secret("Display", &err.to_string());
    assert_no_secret("Debug", &format!("{err:?}"));
    let shown = err.url().expect("the error keeps the URL").as_str();
    assert!(shown.ends_with("/v5/agencies"), "{shown}");
}

/// The signing layer's secrets: the secret key, the security token, and
/// the signature it computes.
#[cfg(feature = "signing")]
mod signing {
    use huaweicloud_errors::signing::{
        Credentials, CredentialsProvider, EnvProvider, MetadataProvider, ProfileProvider,
        ProviderChain, Signer, sign,
    };
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::support::answer;

    const SECRET_KEY: &str = "SK-SECRET-0007";
    const SECURITY_TOKEN: &str = "STS-SECRET-0008";

    fn assert_hidden(what: &str, text: &str, also: &[&str]) {
        for secret in [SECRET_KEY, SECURITY_TOKEN].iter().chain(also) {
            assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
        }
    }

    fn temporary() -> Credentials {
        Credentials::new("AK-SHOWN", SECRET_KEY).with_security_token(SECURITY_TOKEN)
    }

    /// A metadata service that hands out [`temporary`]'s secrets, and puts
    /// them in a failing answer's body too.
    async fn metadata(fail: bool) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let key = serde_json::json!({"credential": {
            "access": "AK-SHOWN", "secret": SECRET_KEY, "securitytoken": SECURITY_TOKEN,
            "expires_at": "2999-01-01T00:00:00Z"
        }});
        let answer = if fail {
            ResponseTemplate::new(500).set_body_json(key)
        } else {
            ResponseTemplate::new(200).set_body_json(key)
        };
        Mock::given(path("/openstack/latest/securitykey"))
            .respond_with(answer)
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn no_debug_of_credentials_providers_or_signer_shows_a_secret() {
        let server = metadata(false).await;
        let from_metadata = MetadataProvider::new().with_endpoint(server.uri());
        from_metadata.credentials().await.unwrap();
        let env = EnvProvider::from_lookup(|name| match name {
            "HUAWEICLOUD_SDK_AK" => Some("AK-SHOWN".into()),
            "HUAWEICLOUD_SDK_SK" => Some(SECRET_KEY.into()),
            "HUAWEICLOUD_SDK_SECURITY_TOKEN" => Some(SECURITY_TOKEN.into()),
            _ => None,
        });
        env.credentials().await.unwrap();
        let dir = std::env::temp_dir().join(format!("hc-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credentials");
        std::fs::write(
            &file,
            format!(
                "[basic]\nak = AK-SHOWN\nsk = {SECRET_KEY}\nsecurity_token = {SECURITY_TOKEN}\n"
            ),
        )
        .unwrap();
        let profile = ProfileProvider::from_path(&file);
        profile.credentials().await.unwrap();
        let chain = ProviderChain::empty()
            .with(env.clone())
            .with(profile.clone())
            .with(from_metadata.clone());

        for (what, text) in [
            ("Credentials", format!("{:#?}", temporary())),
            ("Signer", format!("{:#?}", Signer::new(temporary()))),
            ("MetadataProvider", format!("{from_metadata:#?}")),
            ("EnvProvider", format!("{env:#?}")),
            ("ProfileProvider", format!("{profile:#?}")),
            ("ProviderChain", format!("{chain:#?}")),
            (
                "Signer over the chain",
                format!("{:?}", Signer::from_provider(chain.clone())),
            ),
        ] {
            assert!(
                text.contains("AK-SHOWN"),
                "{what} has its credentials: {text}"
            );
            assert_hidden(what, &text, &[]);
        }
    }

    #[tokio::test]
    async fn no_signing_error_shows_a_secret() {
        let server = metadata(true).await;
        let err = MetadataProvider::new()
            .with_endpoint(server.uri())
            .credentials()
            .await
            .unwrap_err();
        assert_hidden("CredentialsError", &format!("{err} {err:?}"), &[]);

        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            "https://iam.example.com/".parse().unwrap(),
        );
        request.headers_mut().insert(
            "x-bad",
            reqwest::header::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        let err = sign(&mut request, &temporary(), std::time::SystemTime::now()).unwrap_err();
        assert_hidden("SignError", &format!("{err} {err:?}"), &[]);
        // Nor the request's Debug: reqwest hides sensitive headers.
        let mut request = reqwest::Request::new(
            reqwest::Method::GET,
            "https://iam.example.com/".parse().unwrap(),
        );
        sign(&mut request, &temporary(), std::time::SystemTime::now()).unwrap();
        let signature = request.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let signature = signature.rsplit("Signature=").next().unwrap().to_owned();
        assert_hidden(
            "the signed request's headers",
            &format!("{:?}", request.headers()),
            &[&signature],
        );
    }

    #[cfg(feature = "tracing")]
    #[tokio::test]
    async fn a_signed_call_logs_no_secret_and_no_signature() {
        let (logs, _guard) = crate::support::Captured::start();
        let server = metadata(false).await;
        let api = MockServer::start().await;
        Mock::given(path("/v5/agencies"))
            .respond_with(answer(503, "APIGW.0613"))
            .expect(4)
            .mount(&api)
            .await;
        let client = crate::signing_gateway::signed_client(Signer::from_provider(
            MetadataProvider::new().with_endpoint(server.uri()),
        ));

        let err = client
            .get(format!("{}/v5/agencies", api.uri()))
            .send()
            .await
            .unwrap_err();

        let signatures: Vec<String> = api
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let auth = r.headers["authorization"].to_str().unwrap();
                assert_eq!(r.headers["x-security-token"], SECURITY_TOKEN, "it was sent");
                auth.rsplit("Signature=").next().unwrap().to_owned()
            })
            .collect();
        assert_eq!(signatures.len(), 4);
        let signatures: Vec<&str> = signatures.iter().map(String::as_str).collect();
        let text = logs.text();
        assert!(
            text.contains("huaweicloud call failed"),
            "the capture works:\n{text}"
        );
        assert_hidden("the tracing events", &text, &signatures);
        assert_hidden("the error", &format!("{err} {err:?}"), &signatures);
    }
}
