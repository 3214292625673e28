//! Why a request could not be signed, and why no credentials could be had.

use std::fmt;
use std::sync::Arc;

/// A request that could not be signed. Nothing was sent.
///
/// The message names the header or the value at fault, never a header's value
/// or a secret.
#[derive(Clone, Debug)]
pub struct SignError {
    kind: SignErrorKind,
}

#[derive(Clone, Debug)]
pub(crate) enum SignErrorKind {
    /// A header value that is not UTF-8 text.
    HeaderNotText(String),
    /// The clock is before 1970.
    ClockBeforeEpoch,
    /// The clock is past year 9999.
    ClockOutOfRange,
    /// An `X-Sdk-Date` on the request that is not `YYYYMMDDTHHMMSSZ`.
    BadSdkDate,
    /// The URL has no host to sign.
    NoHost,
    /// A value the signature puts in a header is not a valid header value.
    InvalidHeaderValue(&'static str),
}

impl SignError {
    pub(crate) fn new(kind: SignErrorKind) -> SignError {
        SignError { kind }
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot sign the request: ")?;
        match &self.kind {
            SignErrorKind::HeaderNotText(name) => {
                write!(f, "the value of header `{name}` is not text")
            }
            SignErrorKind::ClockBeforeEpoch => f.write_str("the clock is before 1970"),
            SignErrorKind::ClockOutOfRange => f.write_str("the clock is past the year 9999"),
            SignErrorKind::BadSdkDate => {
                f.write_str("the request's X-Sdk-Date is not of the form YYYYMMDDTHHMMSSZ")
            }
            SignErrorKind::NoHost => f.write_str("the URL has no host"),
            SignErrorKind::InvalidHeaderValue(what) => {
                write!(f, "the {what} contains characters a header cannot carry")
            }
        }
    }
}

impl std::error::Error for SignError {}

/// No credentials could be had. Returned by the providers, and by
/// [`Signer`](super::Signer) (inside `reqwest_middleware::Error::Middleware`)
/// before anything is sent.
///
/// It lists every source tried and why each gave nothing, for example
/// `no Huawei Cloud credentials: tried environment (HUAWEICLOUD_SDK_AK is not
/// set); profile file /root/.huaweicloud/credentials (not found); ECS metadata
/// at http://169.254.169.254 (cannot connect)`. It never carries a secret.
#[derive(Clone, Debug)]
pub struct CredentialsError {
    tried: Arc<[Tried]>,
}

#[derive(Clone, Debug)]
struct Tried {
    source: String,
    reason: String,
}

impl CredentialsError {
    /// `source` could not give credentials, for `reason`.
    pub(crate) fn new(source: impl Into<String>, reason: impl Into<String>) -> CredentialsError {
        CredentialsError {
            tried: Arc::new([Tried {
                source: source.into(),
                reason: reason.into(),
            }]),
        }
    }

    /// Every source of `errors`, in order.
    pub(crate) fn all(errors: impl IntoIterator<Item = CredentialsError>) -> CredentialsError {
        CredentialsError {
            tried: errors
                .into_iter()
                .flat_map(|e| e.tried.iter().cloned().collect::<Vec<_>>())
                .collect(),
        }
    }

    /// The sources tried, in order (for example `environment`, or `profile
    /// file /root/.huaweicloud/credentials`).
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.tried.iter().map(|t| &*t.source)
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no Huawei Cloud credentials: ")?;
        if self.tried.is_empty() {
            return f.write_str("no source to try");
        }
        f.write_str("tried ")?;
        for (i, tried) in self.tried.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} ({})", tried.source, tried.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for CredentialsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_error_lists_every_source_in_order() {
        let err = CredentialsError::all([
            CredentialsError::new("environment", "HUAWEICLOUD_SDK_AK is not set"),
            CredentialsError::new("profile file /p", "not found"),
        ]);
        assert_eq!(
            err.to_string(),
            "no Huawei Cloud credentials: tried environment (HUAWEICLOUD_SDK_AK is not set); \
             profile file /p (not found)"
        );
        assert_eq!(
            err.sources().collect::<Vec<_>>(),
            ["environment", "profile file /p"]
        );
    }
}
