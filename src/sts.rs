//! STS v5's `decode-authorization-message`: what a permission error's
//! [`encoded_authorization_message`](ApiError::encoded_authorization_message)
//! says, decoded by the service.
//!
//! [`decode_authorization_message`] sends
//! `POST {endpoint}/v5/decode-authorization-message` with
//! `{"encoded_message": ...}` through the caller's client, so the call is
//! signed and retried by the client's own layers like any other, and returns
//! the [`DecodedAuthorization`]. [`ApiError::decode_authorization`] does the
//! same for an error that carries an encoded message. The caller needs the
//! permission `sts::decodeAuthorizationMessage`.
//!
//! # Examples
//!
//! ```no_run
//! use huaweicloud_errors::{ApiError, ErrorMiddleware};
//! use reqwest_middleware::ClientBuilder;
//!
//! # async fn demo() {
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(ErrorMiddleware::default())
//!     // .with(Signer::new(credentials)): STS v5 takes AK/SK signatures too.
//!     .build();
//!
//! let url = "https://iam.myhuaweicloud.com/v5/agencies";
//! let err = client.post(url).body("{}").send().await.unwrap_err();
//! if let Some(api) = ApiError::from_error(&err) {
//!     let sts = "https://sts.cn-north-4.myhuaweicloud.com";
//!     match api.decode_authorization(&client, sts).await {
//!         Some(Ok(decoded)) => eprintln!("denied: {}", decoded.message()),
//!         Some(Err(err)) => eprintln!("could not decode the denial: {err}"),
//!         None => eprintln!("{api}"),
//!     }
//! }
//! # }
//! ```

use std::fmt;

use reqwest_middleware::ClientWithMiddleware;
use serde::Deserialize;

use crate::ApiError;
use crate::body::read_capped;
use crate::error::DEFAULT_BODY_READ_TIMEOUT;

/// The path of the operation, after the endpoint.
const PATH: &str = "/v5/decode-authorization-message";

/// The most of a successful answer's body read: 128 KiB. The decoded
/// message is at most 10,240 characters, which even written entirely as
/// `\uXXXX` escapes (60 KiB) fits twice over; a longer body is an error,
/// and the rest of it is never read.
pub const MAX_ANSWER_LEN: usize = 128 * 1024;

/// Asks STS to decode `encoded`, the
/// [`encoded_authorization_message`](ApiError::encoded_authorization_message)
/// of a permission error, and returns what it says.
///
/// `endpoint` is the STS endpoint's base URL, such as
/// `https://sts.cn-north-4.myhuaweicloud.com` (a trailing `/` is ignored);
/// the call is `POST {endpoint}/v5/decode-authorization-message` with the
/// JSON body `{"encoded_message": encoded}`, sent through `client`, so that
/// its layers (the `signing` feature's `Signer`, an
/// [`ErrorMiddleware`](crate::ErrorMiddleware)) sign and retry it.
///
/// # Errors
///
/// - A refusal (400, 403, 500, ...) is the decoded [`ApiError`], reached with
///   [`ApiError::from_error`]: the one the client's `ErrorMiddleware` made,
///   or, for a client without one, the answer decoded here with
///   [`ApiError::from_response`].
/// - A 2xx answer that is not `{"decoded_message": "..."}`, or is longer than
///   [`MAX_ANSWER_LEN`], or does not arrive within
///   [`DEFAULT_BODY_READ_TIMEOUT`], is a [`MalformedAnswer`] inside
///   [`reqwest_middleware::Error::Middleware`].
/// - Transport errors (an endpoint that is not a URL, connect, timeout, a
///   body cut short) stay [`reqwest_middleware::Error::Reqwest`].
pub async fn decode_authorization_message(
    client: &ClientWithMiddleware,
    endpoint: &str,
    encoded: &str,
) -> Result<DecodedAuthorization, reqwest_middleware::Error> {
    let url = format!("{}{PATH}", endpoint.trim_end_matches('/'));
    let body = serde_json::json!({ "encoded_message": encoded }).to_string();
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(ApiError::from_response(response).await.into());
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_ANSWER_LEN as u64)
    {
        return Err(MalformedAnswer::new(Problem::TooLong).into());
    }
    let capped = read_capped(response, MAX_ANSWER_LEN, Some(DEFAULT_BODY_READ_TIMEOUT)).await;
    if let Some(err) = capped.error {
        // A body error from reqwest carries no URL, so no query to hide.
        return Err(err.into());
    }
    if capped.truncated {
        return Err(MalformedAnswer::new(Problem::TooLong).into());
    }
    if capped.timed_out {
        return Err(MalformedAnswer::new(Problem::TimedOut).into());
    }
    Ok(DecodedAuthorization::parse(&capped.bytes)?)
}

impl ApiError {
    /// Decodes this error's
    /// [`encoded_authorization_message`](ApiError::encoded_authorization_message)
    /// with [`decode_authorization_message`] through `client` at the STS
    /// `endpoint`; `None` when the error carries no encoded message.
    pub async fn decode_authorization(
        &self,
        client: &ClientWithMiddleware,
        endpoint: &str,
    ) -> Option<Result<DecodedAuthorization, reqwest_middleware::Error>> {
        let encoded = self.encoded_authorization_message()?;
        Some(decode_authorization_message(client, endpoint, encoded).await)
    }
}

/// What STS decoded from an encoded authorization message: the
/// `decoded_message` as returned, and, when that text is a JSON document, the
/// document parsed.
///
/// The vendor does not document the decoded message's fields, so they are
/// not typed here: read them from [`json`](DecodedAuthorization::json).
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::sts::DecodedAuthorization;
///
/// let body = br#"{"decoded_message":"{\"allowed\":false,\"action\":\"iam:agencies:createAgency\"}"}"#;
/// let decoded = DecodedAuthorization::parse(body)?;
/// assert_eq!(decoded.message(), r#"{"allowed":false,"action":"iam:agencies:createAgency"}"#);
/// let json = decoded.json().expect("the message is JSON");
/// assert_eq!(json["action"], "iam:agencies:createAgency");
///
/// let plain = DecodedAuthorization::parse(br#"{"decoded_message":"not allowed"}"#)?;
/// assert_eq!(plain.message(), "not allowed");
/// assert!(plain.json().is_none());
/// # Ok::<(), huaweicloud_errors::sts::MalformedAnswer>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAuthorization {
    message: String,
    json: Option<serde_json::Value>,
}

/// The answer's shape: other fields are ignored.
#[derive(Deserialize)]
struct Answer {
    decoded_message: String,
}

impl DecodedAuthorization {
    /// Parses the body of a successful answer, `{"decoded_message": "..."}`
    /// (other fields are ignored), for a caller who made the call another
    /// way. Never panics; any other body is a [`MalformedAnswer`].
    pub fn parse(body: &[u8]) -> Result<DecodedAuthorization, MalformedAnswer> {
        // serde would read a struct from an array too: `["text"]` is not
        // an answer.
        if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(MalformedAnswer::new(Problem::NoMessage));
        }
        let answer: Answer = serde_json::from_slice(body).map_err(|err| {
            MalformedAnswer::new(if err.is_data() {
                Problem::NoMessage
            } else {
                Problem::NotJson {
                    line: err.line(),
                    column: err.column(),
                }
            })
        })?;
        // Only an object or an array counts as a JSON message: a bare word
        // or number is the text it is.
        let json = serde_json::from_str::<serde_json::Value>(&answer.decoded_message)
            .ok()
            .filter(|value| value.is_object() || value.is_array());
        Ok(DecodedAuthorization {
            message: answer.decoded_message,
            json,
        })
    }

    /// The `decoded_message`, exactly as returned.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The decoded message parsed, when it is a JSON object or array;
    /// `None` for any other text.
    pub fn json(&self) -> Option<&serde_json::Value> {
        self.json.as_ref()
    }

    /// The decoded message, taken out.
    pub fn into_message(self) -> String {
        self.message
    }
}

/// A successful (2xx) STS answer that could not be read as a decoded
/// message: not the JSON `{"decoded_message": "..."}`, longer than
/// [`MAX_ANSWER_LEN`], or slower than [`DEFAULT_BODY_READ_TIMEOUT`].
///
/// Its text names the problem and never quotes the body.
#[derive(Debug)]
pub struct MalformedAnswer {
    problem: Problem,
}

/// Kept apart from `serde_json::Error`, whose text can quote the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    NotJson { line: usize, column: usize },
    NoMessage,
    TooLong,
    TimedOut,
}

impl MalformedAnswer {
    fn new(problem: Problem) -> MalformedAnswer {
        MalformedAnswer { problem }
    }

    /// Whether the answer was longer than [`MAX_ANSWER_LEN`] (and was not
    /// read past it).
    pub fn is_too_long(&self) -> bool {
        matches!(self.problem, Problem::TooLong)
    }
}

impl fmt::Display for MalformedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("STS decode-authorization-message answered success with ")?;
        match &self.problem {
            Problem::NotJson { line, column } => {
                write!(f, "a body that is not JSON (line {line}, column {column})")
            }
            Problem::NoMessage => f.write_str("a JSON body without a string \"decoded_message\""),
            Problem::TooLong => write!(f, "a body longer than {MAX_ANSWER_LEN} bytes"),
            Problem::TimedOut => write!(
                f,
                "a body that did not arrive within {} s",
                DEFAULT_BODY_READ_TIMEOUT.as_secs()
            ),
        }
    }
}

impl std::error::Error for MalformedAnswer {}

impl From<MalformedAnswer> for reqwest_middleware::Error {
    fn from(err: MalformedAnswer) -> Self {
        reqwest_middleware::Error::middleware(err)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any decoded message, however escaped, comes back as it was sent,
        /// beside any other fields.
        #[test]
        fn a_written_answer_parses_back(message in any::<String>(), extra in any::<u32>()) {
            let body = serde_json::json!({ "request_id": extra, "decoded_message": message }).to_string();
            let decoded = DecodedAuthorization::parse(body.as_bytes()).unwrap();
            prop_assert_eq!(decoded.message(), message.as_str());
        }

        /// A JSON document as the message is given parsed, equal to itself.
        #[test]
        fn a_json_message_is_parsed(keys in proptest::collection::btree_map("[a-z]{1,8}", any::<i64>(), 0..8)) {
            let inner = serde_json::to_value(&keys).unwrap();
            let body = serde_json::json!({ "decoded_message": inner.to_string() }).to_string();
            let decoded = DecodedAuthorization::parse(body.as_bytes()).unwrap();
            prop_assert_eq!(decoded.json(), Some(&inner));
        }

        /// Arbitrary text never panics, and an error never quotes it.
        #[test]
        fn arbitrary_bodies_never_panic(body in "[\\PC\"{}:]{0,64}QUOTED[\\PC\"{}:]{0,64}") {
            for candidate in [body.clone(), format!("\"{body}\""), format!(r#"{{"decoded_message":1,"{body}":2}}"#)] {
                if let Err(err) = DecodedAuthorization::parse(candidate.as_bytes()) {
                    prop_assert!(!err.to_string().contains("QUOTED"), "{}", err);
                }
            }
        }

        /// Arbitrary bytes never panic.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = DecodedAuthorization::parse(&body);
        }

        /// Near misses of the answer's shape are errors, not panics.
        #[test]
        fn mangled_answers_are_errors(message in "[a-z]{0,16}", cut in 0usize..40) {
            let body = serde_json::json!({ "decoded_message": message }).to_string();
            let cut = cut.min(body.len().saturating_sub(1));
            prop_assert!(DecodedAuthorization::parse(&body.as_bytes()[..cut]).is_err());
        }
    }

    #[test]
    fn a_missing_or_mistyped_message_is_an_error() {
        let not_json = |line, column| Problem::NotJson { line, column };
        for (body, problem) in [
            (&br#"{}"#[..], Problem::NoMessage),
            (br#"{"decoded_message":null}"#, Problem::NoMessage),
            (br#"{"decoded_message":42}"#, Problem::NoMessage),
            (
                br#"{"decoded_message":{"allowed":false}}"#,
                Problem::NoMessage,
            ),
            (br#" ["decoded_message"]"#, Problem::NoMessage),
            (br#""decoded_message""#, Problem::NoMessage),
            (b"", not_json(1, 0)),
            (b"<html>OK</html>", not_json(1, 1)),
            (b"{\"decoded_message\":\"cut", not_json(1, 23)),
        ] {
            let err = DecodedAuthorization::parse(body).unwrap_err();
            assert_eq!(
                err.problem,
                problem,
                "{}: {err}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn bare_json_scalars_stay_text() {
        for message in ["42", "true", "\"quoted\"", "null"] {
            let body = serde_json::json!({ "decoded_message": message }).to_string();
            let decoded = DecodedAuthorization::parse(body.as_bytes()).unwrap();
            assert_eq!(decoded.message(), message);
            assert_eq!(decoded.json(), None, "{message}");
        }
    }
}
