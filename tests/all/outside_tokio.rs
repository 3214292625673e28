//! `ApiError::from_response` polled by an executor that is not tokio's
//! (`futures::executor::block_on`), where `Response::bytes()` works: the
//! server and the connection run on a tokio runtime of their own, the body
//! is read on the test's thread, outside it.

use huaweicloud_errors::{ApiError, ErrorCode};
use reqwest::StatusCode;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::reqwest_client;

#[test]
fn from_response_reads_the_body_outside_a_tokio_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_server, response) = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path("/v5/agencies/a-1"))
            .respond_with(ResponseTemplate::new(409).set_body_raw(
                r#"{"error_code":"PAP5.0006","error_msg":"concurrent modification","request_id":"r-1"}"#,
                "application/json",
            ))
            .expect(1)
            .mount(&server)
            .await;
        let client = reqwest_client().build().unwrap();
        let url = format!("{}/v5/agencies/a-1", server.uri());
        let response = client.put(url).send().await.unwrap();
        (server, response)
    });
    assert!(tokio::runtime::Handle::try_current().is_err());

    let err = futures::executor::block_on(ApiError::from_response(response));
    assert_eq!(err.status(), StatusCode::CONFLICT);
    assert_eq!(err.code(), Some(&ErrorCode::ConcurrentModification));
    assert_eq!(err.message(), "concurrent modification");
    assert_eq!(err.request_id(), Some("r-1"));
    assert!(!err.body_truncated());
    assert!(std::error::Error::source(&err).is_none());
}
