//! AK/SK request signing for Huawei Cloud APIs (IAM v5 among them):
//! `SDK-HMAC-SHA256` as the official SDKs and the vendor's signing guide
//! compute it, the `SDK-HMAC-SM3` and derived-key `V11-HMAC-SHA256`
//! variants, the SDKs' credential sources, and the [`Signer`] layer.
//!
//! - [`sign`] and [`sign_with`] sign one `reqwest::Request` at a given time.
//! - [`Signer`] signs every attempt of a call at the current time; it goes
//!   inside [`ErrorMiddleware`](crate::ErrorMiddleware).
//! - [`Credentials`] are an AK/SK pair, with a security token when temporary.
//! - Providers: [`EnvProvider`] (`HUAWEICLOUD_SDK_AK`, ...), [`ProfileProvider`]
//!   (`~/.huaweicloud/credentials`), [`MetadataProvider`] (the ECS metadata
//!   service), and [`ProviderChain`], the SDKs' chain of the three.
//!
//! ```
//! use huaweicloud_errors::ErrorMiddleware;
//! use huaweicloud_errors::signing::{ProviderChain, Signer};
//! use reqwest_middleware::ClientBuilder;
//!
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(ErrorMiddleware::default())
//!     .with(Signer::from_provider(ProviderChain::new()).domain_id("d-0123"))
//!     .build();
//! # let _ = client;
//! ```
//!
//! Requires the `signing` feature (on by default).

mod algorithm;
mod canonical;
mod credentials;
mod date;
mod error;
mod provider;
mod sign;
mod signer;

pub use algorithm::Algorithm;
pub use credentials::Credentials;
pub use error::{CredentialsError, SignError};
pub use provider::{
    CredentialsFuture, CredentialsProvider, DEFAULT_METADATA_ENDPOINT, EnvProvider,
    MetadataProvider, ProfileProvider, ProviderChain,
};

pub use sign::{sign, sign_with};
pub use signer::Signer;
