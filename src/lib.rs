//! Decode, classify and safely retry Huawei Cloud IAM v5 API errors, as a
//! [`reqwest-middleware`](reqwest_middleware) layer.
//!
//! [`ErrorMiddleware`] sits in a [`ClientWithMiddleware`](reqwest_middleware::ClientWithMiddleware),
//! lets successful answers through untouched, and turns every 4xx and 5xx
//! answer into an [`ApiError`]: the body decoded (`error_code`, `error_msg`,
//! `request_id`, `encoded_authorization_message`, and every other shape
//! Huawei Cloud sends), classified as [`Retryable`](ErrorClass::Retryable),
//! [`UserFixable`](ErrorClass::UserFixable) or [`Permission`](ErrorClass::Permission)
//! from a [catalogue](ErrorCode) of every documented code, and retried when it
//! is transient and safe to repeat.
//!
//! ```
//! use huaweicloud_errors::{ApiError, ErrorClass, ErrorCode, ErrorMiddleware};
//! use reqwest_middleware::ClientBuilder;
//!
//! # async fn demo() {
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(ErrorMiddleware::default())
//!     .build();
//!
//! let url = "https://iam.myhuaweicloud.com/v5/policies/p-1/attach-agency";
//! match client.post(url).body(r#"{"agency_id":"a-1"}"#).send().await {
//!     // Concurrent modifications (PAP5.0006) were retried away.
//!     Ok(response) => println!("attached: {}", response.status()),
//!     Err(err) => match ApiError::from_error(&err) {
//!         Some(api) if api.code() == Some(&ErrorCode::AgencyAttachedPoliciesLimitExceeded) => {
//!             eprintln!("detach a policy first ({})", api.request_id().unwrap_or("-"));
//!         }
//!         Some(api) => match api.class() {
//!             ErrorClass::Permission => eprintln!("not allowed: {api}"),
//!             ErrorClass::UserFixable => eprintln!("fix the request: {api}"),
//!             _ => eprintln!("still failing after {} attempts: {api}", api.attempts()),
//!         },
//!         // Connect failures and timeouts stay reqwest errors.
//!         None => eprintln!("transport: {err}"),
//!     },
//! }
//! # }
//! ```
//!
//! # Reaching the typed error
//!
//! The middleware returns `Err(reqwest_middleware::Error::Middleware(..))`
//! holding the [`ApiError`]; [`ApiError::from_error`] is the one function that
//! reaches it (it downcasts, and looks through any context another layer
//! added), and `ApiError::try_from(err)` takes it by value. Transport errors stay [`reqwest_middleware::Error::Reqwest`], so
//! `is_timeout()` and `is_connect()` keep working. Without the middleware,
//! [`ApiError::from_response`] and [`ApiError::from_parts`] decode an answer you
//! already have.
//!
//! # Where it goes among other middleware
//!
//! Middleware runs in the order it is added. Put a tracing layer first
//! (outermost, one span for the whole call), then `ErrorMiddleware`, then
//! anything that must run again on every attempt, above all the AK/SK
//! [`Signer`](signing::Signer): a `SDK-HMAC-SHA256` signature covers
//! `X-Sdk-Date`, so each attempt must be signed afresh.
//!
//! ```
//! # #[cfg(feature = "signing")]
//! # fn demo(ak: &str, sk: &str, domain_id: &str) {
//! use huaweicloud_errors::ErrorMiddleware;
//! use huaweicloud_errors::signing::{Credentials, Signer};
//! use reqwest_middleware::ClientBuilder;
//!
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     // .with(TracingMiddleware::default())        // outermost: one span a call
//!     .with(ErrorMiddleware::default())             // decode, classify, retry
//!     .with(Signer::new(Credentials::new(ak, sk))   // innermost: signs each attempt
//!         .domain_id(domain_id))                    // X-Domain-Id, for IAM
//!     .build();
//! # let _ = client;
//! # }
//! ```
//!
//! [`Signer::from_provider`](signing::Signer::from_provider) takes its
//! credentials from the environment, the SDKs' profile file, the ECS
//! metadata service or the SDKs' chain of the three instead; a call for
//! which no credentials can be had fails before anything is sent.
//!
//! Before each retry the middleware puts [`ResendCount`] in the
//! reqwest-middleware extensions passed down the chain, where a layer inside
//! it can read OpenTelemetry's `http.request.resend_count` (absent on the
//! first attempt, which counts as 0); a response that needed retries carries
//! [`RetryStats`] in its own extensions.
//!
//! A transport error (connect, timeout, reset) is returned as the
//! `reqwest::Error` it is, so it carries no attempt count: the tracing events
//! say how many attempts it took.
//!
//! # Compared with reqwest-retry
//!
//! Use one of the two, not both: stacked, their retries multiply. Against
//! `reqwest_retry::RetryTransientMiddleware`, this layer reads the error body,
//! so it retries PAP5.0006 and AccessAnalyzer.1005 conflicts (409s that
//! reqwest-retry returns at once) and never retries a 5xx or a timeout of a
//! non-idempotent POST (which reqwest-retry does); it honours `Retry-After`;
//! it sends a request with a streaming body once instead of refusing it
//! before sending; it caps retries across calls with a [`RetryBudget`]; and
//! it returns the last error answer as an `Err` holding an [`ApiError`],
//! where reqwest-retry returns it as `Ok`.
//!
//! # Features
//!
//! - `tracing` (default): a span per call, an event per failed attempt
//!   (attempt, status, code, class, request id, delay) and one when it gives
//!   up, at WARN or the level given to
//!   `ErrorMiddlewareBuilder::retry_log_level` (giving up
//!   where no retry was possible is DEBUG). No event carries request headers.
//! - `signing` (default): the [`signing`] module, AK/SK signing
//!   (`SDK-HMAC-SHA256`, `SDK-HMAC-SM3`, `V11-HMAC-SHA256`), credentials and
//!   their providers, and the [`Signer`](signing::Signer) layer.
//! - `serde`: `Serialize` for [`ApiError`] and the catalogue's types, for
//!   services that forward errors to their own callers.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The crate docs above link to the `signing` module's items; built without
// the feature, those links have no target and show as plain text.
#![cfg_attr(not(feature = "signing"), allow(rustdoc::broken_intra_doc_links))]

mod body;
mod budget;
mod catalogue;
mod class;
mod config;
mod deadline;
mod decode;
mod error;
mod middleware;
mod retry;
mod throttle;
mod timer;

#[cfg(feature = "signing")]
pub mod signing;
pub mod sts;

pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use catalogue::{ErrorCode, UnknownCode};
pub use class::{
    Classification, Classifier, DefaultClassifier, ErrorClass, Reason, Rules,
    default_classification, status_classification,
};
pub use config::ErrorMiddlewareBuilder;
pub use deadline::{DeadlineExceeded, MaxElapsed};
pub use error::{
    ApiError, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT, ErrorDetail, MAX_DETAILS,
    MAX_FIELD_LEN, MAX_MESSAGE_LEN,
};
pub use middleware::ErrorMiddleware;
pub use retry::{
    Idempotent, MaxRetries, NoRetry, ResendCount, RetryScope, RetryStats, StopReason,
    parse_retry_after,
};
pub use throttle::{ThrottleLimit, ThrottleScope};

#[cfg(fuzzing)]
#[doc(hidden)]
pub use decode::fuzzing;

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
