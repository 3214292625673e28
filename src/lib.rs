//! Decode, classify and safely retry Huawei Cloud IAM v5 API errors.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
mod budget;
mod catalogue;
mod class;
mod decode;
mod error;
mod middleware;
mod retry;

pub use budget::RetryBudget;
pub use catalogue::ErrorCode;
pub use class::{
    Classification, Classifier, DefaultClassifier, ErrorClass, Reason, Rules,
    default_classification, status_classification,
};
pub use error::{ApiError, DEFAULT_BODY_LIMIT, ErrorDetail, MAX_MESSAGE_LEN};
pub use middleware::{ErrorMiddleware, ErrorMiddlewareBuilder};
pub use retry::{
    Idempotent, MaxRetries, NoRetry, ResendCount, RetryStats, StopReason, parse_retry_after,
};
