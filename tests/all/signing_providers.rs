//! Where credentials come from: the environment and the profile file read
//! through injected lookups and temp files (no process-wide state), the ECS
//! metadata service on a loopback server, and the chain of the three.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use huaweicloud_errors::signing::{
    Credentials, CredentialsError, CredentialsProvider, EnvProvider, MetadataProvider,
    ProfileProvider, ProviderChain, Signer,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::signing_gateway::{Gateway, middleware_error, never_called, signed_client};

fn lookup(vars: &[(&'static str, &'static str)]) -> EnvProvider {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    EnvProvider::from_lookup(move |name| vars.get(name).map(|v| (*v).to_owned()))
}

/// A file of its own for each test, in a fresh directory.
fn temp_file(test: &str, text: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("huaweicloud-errors-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("credentials");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_environment_gives_every_sdk_variable() {
    let credentials = lookup(&[
        ("HUAWEICLOUD_SDK_AK", "AK"),
        ("HUAWEICLOUD_SDK_SK", "SK"),
        ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "TOKEN"),
        ("HUAWEICLOUD_SDK_PROJECT_ID", "p-1"),
        ("HUAWEICLOUD_SDK_DOMAIN_ID", "d-1"),
    ])
    .load()
    .unwrap();
    assert_eq!(credentials.access_key(), "AK");
    assert_eq!(credentials.secret_key(), "SK");
    assert_eq!(credentials.security_token(), Some("TOKEN"));
    assert_eq!(credentials.project_id(), Some("p-1"));
    assert_eq!(credentials.domain_id(), Some("d-1"));
    // The contract's entry point reads the process environment.
    let _: Result<Credentials, CredentialsError> = Credentials::from_env();
}

#[test]
fn the_environment_names_the_missing_variable_and_empty_counts_as_unset() {
    let err = lookup(&[("HUAWEICLOUD_SDK_AK", "AK")]).load().unwrap_err();
    assert_eq!(
        err.to_string(),
        "no Huawei Cloud credentials: tried environment (HUAWEICLOUD_SDK_SK is not set)"
    );
    let err = lookup(&[("HUAWEICLOUD_SDK_AK", ""), ("HUAWEICLOUD_SDK_SK", "SK")])
        .load()
        .unwrap_err();
    assert!(
        err.to_string().contains("HUAWEICLOUD_SDK_AK is not set"),
        "{err}"
    );
}

#[test]
fn the_profile_file_is_found_by_its_variable_or_in_home() {
    let file = temp_file("by-variable", "[basic]\nak = AK-FILE\nsk = SK-FILE\n");
    let path: &'static str = Box::leak(file.display().to_string().into_boxed_str());
    let by_variable =
        ProfileProvider::from_env(lookup(&[("HUAWEICLOUD_SDK_CREDENTIALS_FILE", path)]));
    assert_eq!(by_variable.path(), Some(file.clone()));
    assert_eq!(by_variable.load().unwrap().access_key(), "AK-FILE");

    let home_file = temp_file("home", "");
    let home = home_file.parent().unwrap();
    std::fs::create_dir_all(home.join(".huaweicloud")).unwrap();
    std::fs::write(
        home.join(".huaweicloud/credentials"),
        "[global]\nak = AK-HOME\nsk = SK-HOME\ndomain_id = d-home\n",
    )
    .unwrap();
    let home: &'static str = Box::leak(home.display().to_string().into_boxed_str());
    let in_home = ProfileProvider::from_env(lookup(&[("HOME", home)]));
    let credentials = in_home.load().unwrap();
    assert_eq!(credentials.access_key(), "AK-HOME");
    assert_eq!(credentials.domain_id(), Some("d-home"));
}

#[tokio::test]
async fn the_profile_provider_keeps_what_the_file_gave() {
    let file = temp_file("cached", "[basic]\nak = AK-1\nsk = SK-1\n");
    let provider = ProfileProvider::from_path(&file);
    assert_eq!(provider.credentials().await.unwrap().access_key(), "AK-1");
    std::fs::remove_file(&file).unwrap();
    assert_eq!(provider.credentials().await.unwrap().access_key(), "AK-1");
    assert!(
        provider
            .load()
            .unwrap_err()
            .to_string()
            .contains("not found")
    );
}

#[tokio::test]
async fn the_chain_takes_the_first_source_that_has_credentials() {
    let file = temp_file("chain", "[basic]\nak = AK-PROFILE\nsk = SK\n");
    let chain = ProviderChain::empty()
        .with(lookup(&[]))
        .with(ProfileProvider::from_path(&file))
        .with(MetadataProvider::new().with_endpoint("http://127.0.0.1:9"));
    assert_eq!(
        chain.credentials().await.unwrap().access_key(),
        "AK-PROFILE"
    );

    let env_first = ProviderChain::empty()
        .with(lookup(&[
            ("HUAWEICLOUD_SDK_AK", "AK-ENV"),
            ("HUAWEICLOUD_SDK_SK", "SK"),
        ]))
        .with(ProfileProvider::from_path(&file));
    assert_eq!(
        env_first.credentials().await.unwrap().access_key(),
        "AK-ENV"
    );
}

#[tokio::test]
async fn the_chain_error_lists_every_source_in_the_sdks_order() {
    let metadata = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&metadata)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&metadata)
        .await;
    let missing = std::env::temp_dir().join("huaweicloud-errors-none/credentials");
    let chain = ProviderChain::empty()
        .with(lookup(&[]))
        .with(ProfileProvider::from_path(&missing))
        .with(MetadataProvider::new().with_endpoint(metadata.uri()));

    let err = chain.credentials().await.unwrap_err();
    assert_eq!(
        err.sources().collect::<Vec<_>>(),
        [
            "environment".to_owned(),
            format!("profile file {}", missing.display()),
            format!("ECS metadata at {}", metadata.uri()),
        ]
    );
    assert!(
        err.to_string()
            .ends_with("(GET /openstack/latest/securitykey answered 404 Not Found)"),
        "{err}"
    );
}

/// A `securitykey` answer for `access` that expires `valid` from now.
fn security_key(access: &str, valid: Duration) -> ResponseTemplate {
    let expires = SystemTime::now() + valid;
    let secs = expires
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // RFC 3339 by hand: days from 1970 to a civil date.
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let expires_at = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000000Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    );
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "credential": {
            "access": access,
            "secret": format!("SK-OF-{access}"),
            "securitytoken": format!("TOKEN-OF-{access}"),
            "expires_at": expires_at,
        }
    }))
}

const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);

async fn session_token(server: &MockServer, token: &str, calls: u64) {
    Mock::given(method("PUT"))
        .and(path("/meta-data/latest/api/token"))
        .and(header("X-Metadata-Token-Ttl-Seconds", "21600"))
        .respond_with(ResponseTemplate::new(200).set_body_string(token))
        .expect(calls)
        .mount(server)
        .await;
}

#[tokio::test]
async fn twenty_concurrent_calls_fetch_the_temporary_key_once() {
    let metadata = MockServer::start().await;
    session_token(&metadata, "session-1", 1).await;
    Mock::given(method("GET"))
        .and(path("/openstack/latest/securitykey"))
        .and(header("X-Metadata-Token", "session-1"))
        // Slow enough that all twenty calls wait on the one fetch.
        .respond_with(security_key("AK-TEMP", SIX_HOURS).set_delay(Duration::from_millis(100)))
        .expect(1)
        .mount(&metadata)
        .await;
    let gateway = Gateway::new("AK-TEMP", "SK-OF-AK-TEMP", |_| ResponseTemplate::new(200));
    let api = gateway.start().await;
    let client = signed_client(Signer::from_provider(
        MetadataProvider::new().with_endpoint(metadata.uri()),
    ));

    let calls = (0..20).map(|i| {
        client
            .get(format!("{}/v5/agencies?n={i}", api.uri()))
            .send()
    });
    for response in futures::future::join_all(calls).await {
        assert_eq!(response.unwrap().status(), 200);
    }

    assert_eq!(gateway.refusals(), Vec::<String>::new());
    let seen = gateway.seen();
    assert_eq!(seen.len(), 20);
    assert!(
        seen.iter()
            .all(|s| s.signed_headers.contains("x-security-token"))
    );
    for request in api.received_requests().await.unwrap() {
        assert_eq!(request.headers["x-security-token"], "TOKEN-OF-AK-TEMP");
    }
    metadata.verify().await;
}

#[tokio::test]
async fn a_key_within_40_minutes_of_expiry_is_refreshed_then_cached() {
    let metadata = MockServer::start().await;
    session_token(&metadata, "s", 2).await;
    Mock::given(path("/openstack/latest/securitykey"))
        .respond_with(security_key("AK-SOON", Duration::from_secs(30 * 60)))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&metadata)
        .await;
    Mock::given(path("/openstack/latest/securitykey"))
        .respond_with(security_key("AK-NEXT", SIX_HOURS))
        .expect(1)
        .with_priority(2)
        .mount(&metadata)
        .await;
    let provider = MetadataProvider::new().with_endpoint(metadata.uri());

    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(
            provider
                .credentials()
                .await
                .unwrap()
                .access_key()
                .to_owned(),
        );
    }
    assert_eq!(keys, ["AK-SOON", "AK-NEXT", "AK-NEXT"]);
    metadata.verify().await;
}

#[tokio::test]
async fn a_failed_refresh_keeps_a_key_that_has_not_expired() {
    let metadata = MockServer::start().await;
    session_token(&metadata, "s", 2).await;
    Mock::given(path("/openstack/latest/securitykey"))
        .respond_with(security_key("AK-SOON", Duration::from_secs(30 * 60)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&metadata)
        .await;
    Mock::given(path("/openstack/latest/securitykey"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .with_priority(2)
        .mount(&metadata)
        .await;
    let provider = MetadataProvider::new().with_endpoint(metadata.uri());

    assert_eq!(
        provider.credentials().await.unwrap().access_key(),
        "AK-SOON"
    );
    assert_eq!(
        provider.credentials().await.unwrap().access_key(),
        "AK-SOON"
    );
    metadata.verify().await;
}

#[tokio::test]
async fn a_failing_metadata_service_fails_the_call_with_a_clear_error_and_sends_nothing() {
    let metadata = MockServer::start().await;
    session_token(&metadata, "s", 1).await;
    Mock::given(path("/openstack/latest/securitykey"))
        .respond_with(ResponseTemplate::new(500).set_body_string("SECRET-IN-BODY"))
        .expect(1)
        .mount(&metadata)
        .await;
    let api = never_called().await;
    let client = signed_client(Signer::from_provider(
        MetadataProvider::new().with_endpoint(metadata.uri()),
    ));

    let err = client
        .get(format!("{}/v5/agencies", api.uri()))
        .send()
        .await
        .unwrap_err();

    assert_eq!(
        middleware_error::<CredentialsError>(&err).to_string(),
        format!(
            "no Huawei Cloud credentials: tried ECS metadata at {} \
             (GET /openstack/latest/securitykey answered 500 Internal Server Error)",
            metadata.uri()
        )
    );
    assert!(!format!("{err:?}").contains("SECRET-IN-BODY"));
    api.verify().await;
    metadata.verify().await;
}

#[tokio::test]
async fn without_a_session_token_service_the_key_is_fetched_without_one() {
    let metadata = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&metadata)
        .await;
    Mock::given(path("/openstack/latest/securitykey"))
        .and(|request: &wiremock::Request| !request.headers.contains_key("x-metadata-token"))
        .respond_with(security_key("AK-NO-SESSION", SIX_HOURS))
        .expect(1)
        .mount(&metadata)
        .await;
    let provider = MetadataProvider::new().with_endpoint(metadata.uri());
    assert_eq!(
        provider.credentials().await.unwrap().access_key(),
        "AK-NO-SESSION"
    );
    metadata.verify().await;
}

#[tokio::test]
async fn an_expired_session_token_is_fetched_again_once() {
    let metadata = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_string("old"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&metadata)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_string("new"))
        .expect(1)
        .with_priority(2)
        .mount(&metadata)
        .await;
    Mock::given(path("/openstack/latest/securitykey"))
        .and(header("X-Metadata-Token", "old"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&metadata)
        .await;
    Mock::given(path("/openstack/latest/securitykey"))
        .and(header("X-Metadata-Token", "new"))
        .respond_with(security_key("AK-AFTER-401", SIX_HOURS))
        .expect(1)
        .mount(&metadata)
        .await;
    let provider = MetadataProvider::new().with_endpoint(metadata.uri());
    assert_eq!(
        provider.credentials().await.unwrap().access_key(),
        "AK-AFTER-401"
    );
    metadata.verify().await;
}

#[tokio::test]
async fn an_instance_without_an_agency_says_so_without_asking_again() {
    let metadata = MockServer::start().await;
    session_token(&metadata, "s", 1).await;
    Mock::given(path("/openstack/latest/securitykey"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string("Please configure Cloud Service Agency first"),
        )
        .expect(1)
        .mount(&metadata)
        .await;
    let provider = MetadataProvider::new().with_endpoint(metadata.uri());
    let err = provider.credentials().await.unwrap_err();
    assert!(err.to_string().contains("no cloud service agency"), "{err}");
    metadata.verify().await;
}

#[tokio::test]
async fn an_unreachable_metadata_service_is_named() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let err = MetadataProvider::new()
        .with_endpoint(&endpoint)
        .credentials()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no Huawei Cloud credentials: tried ECS metadata at {endpoint} (cannot connect)")
    );
}
