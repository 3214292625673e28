//! The catalogue: every documented IAM v5 error code (PAP5.*, STS5.*,
//! AccessAnalyzer.*) and the API Gateway codes (APIGW.*) any IAM call can
//! return, each written once in the table at the bottom of this file.
//!
//! The [`ErrorCode`] enum, [`ErrorCode::from_wire`], the accessors and
//! [`ErrorCode::CATALOGUE`] are all generated from that table, and so are the
//! lookup's keys: each row's wire form read as a number at compile time
//! (`wire_key`), so that finding a code compares integers, not strings.
//!
//! Sources: the IAM v5 rows are the vendor's error-code page (updated
//! 2025-12-24), copied verbatim (status, message template, description and
//! the "Measure" column as the remedy); `tests/data/iam-v5-error-codes.txt`
//! holds that page and a test checks every row against it. The gateway rows
//! come from the API Gateway's error-code documentation: their description is
//! the documented meaning, their remedy is ours.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use reqwest::StatusCode;

use crate::Reason;

macro_rules! opt {
    (_) => {
        None
    };
    ($value:expr) => {
        Some($value)
    };
}

macro_rules! reason {
    (_) => {
        None
    };
    ($reason:ident) => {
        Some(Reason::$reason)
    };
}

macro_rules! catalogue {
    ($(
        $variant:ident = $wire:literal, $status:tt, $reason:tt,
            $template:tt,
            $description:literal,
            $remedy:literal;
    )*) => {
        /// An error code sent by Huawei Cloud: one variant per catalogued code,
        /// and [`ErrorCode::Other`] for every other code, kept as sent.
        ///
        /// Each variant's documentation gives its wire form, status and
        /// description; [`ErrorCode::from_wire`] and [`ErrorCode::as_str`]
        /// convert to and from the wire form.
        ///
        /// # Examples
        ///
        /// ```
        /// use huaweicloud_errors::{ErrorClass, ErrorCode};
        /// use reqwest::StatusCode;
        ///
        /// let code = ErrorCode::from_wire("PAP5.0006");
        /// assert_eq!(code, ErrorCode::ConcurrentModification);
        /// assert_eq!(code.as_str(), "PAP5.0006");
        /// assert_eq!(code.status(), Some(StatusCode::CONFLICT));
        /// assert_eq!(code.message_template(), Some("concurrent modification"));
        /// assert_eq!(code.remedy(), Some("Try again later."));
        /// assert_eq!(code.class(), Some(ErrorClass::Retryable));
        ///
        /// // The gateway's older spelling is the same code.
        /// assert_eq!(ErrorCode::from_wire("APIG.0308"), ErrorCode::ApigwThrottled);
        ///
        /// // Codes of other services are kept as sent.
        /// let other: ErrorCode = "ECS.0105".parse().unwrap();
        /// assert!(other == "ECS.0105" && !other.is_known());
        /// assert_eq!(other.to_string(), "ECS.0105");
        /// assert_eq!(other.description(), None);
        /// ```
        ///
        /// # Comparing codes
        ///
        /// Codes are equal when their wire forms are, read as
        /// [`ErrorCode::from_wire`] reads them (an [`Other`](ErrorCode::Other)
        /// never holds a catalogued code: its payload, [`UnknownCode`], is
        /// made only by `from_wire`), and a code equals its wire form as a
        /// string. To test for a code the catalogue may not know
        /// yet, compare it with its wire form: `code == "ECS.0105"` gives the
        /// same answer before and after the code is catalogued, where a match
        /// on `Other` would stop matching.
        ///
        /// ```
        /// use huaweicloud_errors::ErrorCode;
        ///
        /// let code = ErrorCode::from_wire("PAP5.0006");
        /// assert!(code == "PAP5.0006");
        /// assert!(ErrorCode::from_wire("ECS.0105") == "ECS.0105");
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $wire, "`: ", $description)]
                $variant,
            )*
            /// A code the catalogue does not know, as sent (trimmed).
            ///
            /// Do not match on its text: a code caught here today may be
            /// catalogued, and get a variant of its own, in a minor release.
            /// Compare with the wire form instead (`code == "ECS.0105"`),
            /// which gives the same answer before and after.
            Other(UnknownCode),
        }

        impl ErrorCode {
            /// Every catalogued code, in table order (IAM v5 as the vendor
            /// lists them, then the API Gateway's).
            pub const CATALOGUE: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code for a wire string; never fails. Surrounding white
            /// space is ignored, and the gateway's `APIG.` spelling is read as
            /// `APIGW.`. Allocates only for codes outside the catalogue.
            pub fn from_wire(wire: &str) -> ErrorCode {
                Self::from_trimmed(wire.trim())
            }

            /// [`ErrorCode::from_wire`] of a wire form already trimmed.
            pub(crate) fn from_trimmed(wire: &str) -> ErrorCode {
                Self::lookup_canonical(wire)
                    .unwrap_or_else(|| ErrorCode::Other(UnknownCode(wire.into())))
            }

            /// The catalogued code for a trimmed wire form, in either gateway
            /// spelling: its [`wire_key`] matched against every row's, so that
            /// a lookup compares a few integers, not strings.
            fn lookup_canonical(wire: &str) -> Option<ErrorCode> {
                /// Each row's key, named after its variant; `wire_key`
                /// is evaluated at compile time, and fails the build for a
                /// row it cannot read.
                #[allow(non_upper_case_globals)]
                mod key {
                    $(
                        pub(super) const $variant: u32 = match super::wire_key($wire) {
                            Some(key) => key,
                            None => panic!(concat!("catalogue: no wire_key for ", $wire)),
                        };
                    )*
                }
                match wire_key(wire)? {
                    $(key::$variant => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }


            /// The wire form, e.g. `"PAP5.0006"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                    ErrorCode::Other(wire) => wire.as_str(),
                }
            }

            /// The documented HTTP status; `None` for codes outside the
            /// catalogue and for gateway codes sent with several statuses.
            pub fn status(&self) -> Option<StatusCode> {
                let status: Option<u16> = match self {
                    $(ErrorCode::$variant => opt!($status),)*
                    ErrorCode::Other(_) => None,
                };
                status.and_then(|s| StatusCode::from_u16(s).ok())
            }

            /// The message the service sends, as documented, with its
            /// placeholders (`%s`, `%d`, and the page's own typo `s%` in
            /// AccessAnalyzer.1018); see [`ErrorCode::template_values`].
            pub fn message_template(&self) -> Option<&'static str> {
                match self {
                    $(ErrorCode::$variant => opt!($template),)*
                    ErrorCode::Other(_) => None,
                }
            }

            /// What the code means, as documented.
            pub fn description(&self) -> Option<&'static str> {
                match self {
                    $(ErrorCode::$variant => Some($description),)*
                    ErrorCode::Other(_) => None,
                }
            }

            /// What to do about it (the vendor's "Measure" column).
            pub fn remedy(&self) -> Option<&'static str> {
                match self {
                    $(ErrorCode::$variant => Some($remedy),)*
                    ErrorCode::Other(_) => None,
                }
            }

            /// The built-in reason for this code; `None` for codes outside
            /// the catalogue and for gateway codes whose meaning depends on
            /// the status (APIGW.0201), which are classified by status.
            pub fn reason(&self) -> Option<Reason> {
                match self {
                    $(ErrorCode::$variant => reason!($reason),)*
                    ErrorCode::Other(_) => None,
                }
            }
        }
    };
}

/// A wire form as one integer, the family's number times 10,000 plus the
/// code's: `PAP5.0006` is 6 and `APIGW.0308` 30,308, as is `APIG.0308`, the
/// gateway's older spelling. `None` for any other shape (a family the
/// catalogue does not have, not exactly 4 digits), which no row has.
const fn wire_key(wire: &str) -> Option<u32> {
    let bytes = wire.as_bytes();
    let Some(at) = bytes.len().checked_sub(4) else {
        return None;
    };
    let (family, digits) = bytes.split_at(at);
    let family: u32 = match family {
        b"PAP5." => 0,
        b"STS5." => 1,
        b"AccessAnalyzer." => 2,
        b"APIGW." | b"APIG." => 3,
        _ => return None,
    };
    let mut number = 0;
    let mut i = 0;
    while i < digits.len() {
        let digit = digits[i].wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        number = number * 10 + digit as u32;
        i += 1;
    }
    Some(family * 10_000 + number)
}

impl ErrorCode {
    /// The built-in class of this code, where the code alone decides it
    /// (see [`ErrorCode::reason`]).
    pub fn class(&self) -> Option<crate::ErrorClass> {
        self.reason().map(Reason::class)
    }

    /// Whether this code is in the catalogue.
    pub fn is_known(&self) -> bool {
        !matches!(self, ErrorCode::Other(_))
    }

    /// The values the service filled into the message template, in order:
    /// for PAP5.0001 (`access denied: %s`) and the message
    /// `access denied: iam:agencies:create`, `["iam:agencies:create"]`.
    ///
    /// `None` when the code has no template or the message does not follow it.
    ///
    /// ```
    /// use huaweicloud_errors::ErrorCode;
    ///
    /// let code = ErrorCode::AnalyzerNotFound; // "Analyzer with id %s cannot be found."
    /// assert_eq!(
    ///     code.template_values("Analyzer with id az-42 cannot be found."),
    ///     Some(vec!["az-42"]),
    /// );
    /// assert_eq!(code.template_values("something else"), None);
    /// ```
    pub fn template_values<'m>(&self, message: &'m str) -> Option<Vec<&'m str>> {
        match_template(self.message_template()?, message)
    }
}

/// Matches `message` against `template`, whose placeholders are `%s`, `%d`
/// and `s%`; returns the text that stands in each placeholder.
fn match_template<'m>(template: &str, message: &'m str) -> Option<Vec<&'m str>> {
    let mut literals = Vec::new();
    let mut rest = template;
    loop {
        let next = ["%s", "%d", "s%"].iter().filter_map(|p| rest.find(p)).min();
        match next {
            Some(at) => {
                literals.push(&rest[..at]);
                rest = &rest[at + 2..];
            }
            None => {
                literals.push(rest);
                break;
            }
        }
    }
    let (first, between) = literals.split_first()?;
    let (last, middle) = between
        .split_last()
        .map_or((None, &[][..]), |(l, m)| (Some(*l), m));
    let mut text = message.strip_prefix(first)?;
    let Some(last) = last else {
        // No placeholder: the message must be the template itself.
        return text.is_empty().then(Vec::new);
    };
    text = text.strip_suffix(last)?;
    let mut values = Vec::with_capacity(middle.len() + 1);
    for literal in middle {
        let at = text.find(literal)?;
        values.push(&text[..at]);
        text = &text[at + literal.len()..];
    }
    values.push(text);
    Some(values)
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::from_wire(s))
    }
}

/// Compares a code with a wire form, read as [`ErrorCode::from_wire`] reads
/// it: the way to test for any code, catalogued or not, that keeps its
/// answer when the catalogue grows.
///
/// ```
/// use huaweicloud_errors::ErrorCode;
///
/// assert!(ErrorCode::ConcurrentModification == "PAP5.0006");
/// assert!(ErrorCode::ApigwThrottled == "APIG.0308");
/// assert!(ErrorCode::from_wire("ECS.0105") == "ECS.0105");
/// assert!(ErrorCode::from_wire("ECS.0105") != "ECS.0106");
/// ```
impl PartialEq<str> for ErrorCode {
    fn eq(&self, wire: &str) -> bool {
        match ErrorCode::lookup_canonical(wire.trim()) {
            Some(known) => *self == known,
            None => matches!(self, ErrorCode::Other(other) if other.as_str() == wire.trim()),
        }
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, wire: &&str) -> bool {
        *self == **wire
    }
}

impl PartialEq<ErrorCode> for str {
    fn eq(&self, code: &ErrorCode) -> bool {
        *code == *self
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, code: &ErrorCode) -> bool {
        *code == **self
    }
}

/// A code the catalogue does not know, as sent (trimmed): the payload of
/// [`ErrorCode::Other`].
///
/// Opaque, and made only by [`ErrorCode::from_wire`] (and its `FromStr` and
/// `From<&str>`), so it never holds a catalogued code: `ErrorCode`'s
/// equality can then stay structural and still agree with the wire form.
/// Read it with [`as_str`](UnknownCode::as_str) (or through `Deref<Target =
/// str>`), and compare it with a string.
///
/// ```
/// use huaweicloud_errors::ErrorCode;
///
/// let code = ErrorCode::from_wire(" ECS.0105 ");
/// let ErrorCode::Other(unknown) = &code else { unreachable!() };
/// assert_eq!(unknown.as_str(), "ECS.0105");
/// assert!(*unknown == "ECS.0105");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownCode(Box<str>);

impl UnknownCode {
    /// The code as sent, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for UnknownCode {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for UnknownCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for UnknownCode {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for UnknownCode {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl From<&str> for ErrorCode {
    fn from(wire: &str) -> Self {
        ErrorCode::from_wire(wire)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// One row a code:
//     Variant = "wire code", status, reason,
//         "message template",
//         "description",
//         "remedy";
// `_` for a status the gateway does not fix, a reason left to the status, or
// a template the gateway does not document. The class follows from the
// reason (`Reason::class`).
catalogue! {
    // IAM v5, verbatim from the vendor's page, in its order.
    InvalidMarker = "PAP5.0010", 400, InvalidRequest,
        "invalid marker",
        "Invalid marker.",
        "Check the value of the marker field.";
    MalformedPolicyDocument = "PAP5.0011", 400, InvalidRequest,
        "malformed policy document",
        "Incorrect identity policy or trust policy.",
        "Check the value of the policy document field.";
    InvalidAgencyName = "PAP5.0029", 400, InvalidRequest,
        "invalid agency name",
        "Invalid trust agency name.",
        "Check the value of the agency name field.";
    InvalidPath = "PAP5.0030", 400, InvalidRequest,
        "invalid path",
        "Invalid path.",
        "Check the value of the path field.";
    DuplicateKey = "PAP5.0033", 400, InvalidRequest,
        "duplicate key",
        "Duplicate key value.",
        "Check the request or contact technical support.";
    TagNonCompliant = "PAP5.0036", 400, InvalidRequest,
        "tag non-compliant",
        "The tag value conflicts with preset tag policies.",
        "Check the request or contact technical support.";
    OnlyTrustAgencies = "PAP5.0038", 400, InvalidRequest,
        "This operation is only supported by v5 agencies",
        "This operation is only supported by trust agencies.",
        "Check the request or contact technical support.";
    // judgement: the caller's identity is wrong for the call (not an IAM user); fixed by calling with other credentials, not by editing the request
    InvalidCaller = "PAP5.0040", 400, AccessDenied,
        "invalid caller",
        "Invalid caller.",
        "Check whether the caller is the IAM user.";
    InvalidSerialNumber = "PAP5.0041", 400, InvalidRequest,
        "invalid serial number",
        "Invalid serial number.",
        "Check the value of the serial number field.";
    MissingUserProfileHeader = "PAP5.0046", 400, InvalidRequest,
        "missing header `x-user-profile`",
        "The x-user-profile is missing in the request header.",
        "Check the request or contact technical support.";
    AccessDenied = "PAP5.0001", 403, AccessDenied,
        "access denied: %s",
        "Access denied.",
        "Check whether this operation is allowed.";
    NoSuchAgency = "PAP5.0012", 404, NotFound,
        "no such agency",
        "Agency or trust agency not found.",
        "Check the request or contact technical support.";
    NoSuchAuthorizationSchema = "PAP5.0014", 404, NotFound,
        "no such authorization schema",
        "Authorization summary not found.",
        "Check the request or contact technical support.";
    NoSuchDeletionTask = "PAP5.0015", 404, NotFound,
        "no such deletion task",
        "Deletion task not found.",
        "Check the request or contact technical support.";
    NoSuchGroup = "PAP5.0016", 404, NotFound,
        "no such group",
        "User group not found.",
        "Check the request or contact technical support.";
    NoSuchPolicy = "PAP5.0018", 404, NotFound,
        "no such policy",
        "Identity policy not found.",
        "Check the request or contact technical support.";
    NoSuchPolicyAttachment = "PAP5.0019", 404, NotFound,
        "no such policy attachment",
        "Identity policy attachment record not found.",
        "Check the request or contact technical support.";
    NoSuchPolicyVersion = "PAP5.0020", 404, NotFound,
        "no such policy version",
        "Identity policy version not found.",
        "Check the request or contact technical support.";
    NoSuchUser = "PAP5.0021", 404, NotFound,
        "no such user",
        "IAM user not found.",
        "Check the request or contact technical support.";
    NoSuchServiceLinkedAgency = "PAP5.0022", 404, NotFound,
        "no such service linked agency",
        "Service-linked agency not found.",
        "Check the request or contact technical support.";
    NoSuchServicePrincipal = "PAP5.0023", 404, NotFound,
        "no such service principal",
        "Service principal not found.",
        "Check the request or contact technical support.";
    NoSuchDomain = "PAP5.0034", 404, NotFound,
        "no such domain",
        "Tenant not found.",
        "Check the request or contact technical support.";
    ResourceTagNotFound = "PAP5.0037", 404, NotFound,
        "Resource tag not found",
        "Resource tag not found.",
        "Check the request or contact technical support.";
    AgencyAttachedPoliciesLimitExceeded = "PAP5.0003", 409, LimitExceeded,
        "attached policies per agency limit exceeded",
        "Maximum identity policy attachments reached for a single agency or trust agency.",
        "Detach unnecessary identity policies from the agency or trust agency.";
    GroupAttachedPoliciesLimitExceeded = "PAP5.0004", 409, LimitExceeded,
        "attached policies per group limit exceeded",
        "Maximum identity policy attachments reached for a user group.",
        "Detach unnecessary identity policies from the user group.";
    UserAttachedPoliciesLimitExceeded = "PAP5.0005", 409, LimitExceeded,
        "attached policies per user limit exceeded",
        "Maximum identity policy attachments reached for an IAM user.",
        "Detach unnecessary identity policies from the IAM user.";
    ConcurrentModification = "PAP5.0006", 409, ConcurrentModification,
        "concurrent modification",
        "Concurrent modifications.",
        "Try again later.";
    DeleteConflict = "PAP5.0007", 409, Conflict,
        "delete conflict: %s",
        "Conflict exists and deletion failed.",
        "Resolve the conflict.";
    PoliciesLimitExceeded = "PAP5.0024", 409, LimitExceeded,
        "policies limit exceeded",
        "Maximum custom identity policies reached.",
        "Delete unnecessary custom identity policies.";
    PolicyAlreadyExists = "PAP5.0025", 409, AlreadyExists,
        "policy already exists",
        "Identity policy already exists.",
        "Check the request or contact technical support.";
    PolicyAttachmentAlreadyExists = "PAP5.0026", 409, AlreadyExists,
        "policy attachment already exists",
        "Identity policy already attached.",
        "Check the request or contact technical support.";
    PolicySizeLimitExceeded = "PAP5.0027", 409, LimitExceeded,
        "policy size limit exceeded",
        "Maximum number of bytes %d of an identity policy or trust policy reached (excluding blank characters).",
        "Simplify the identity policy or trust policy.";
    PolicyVersionsLimitExceeded = "PAP5.0028", 409, LimitExceeded,
        "versions per policy limit exceeded",
        "Maximum versions reached for an identity policy.",
        "Delete unnecessary identity policy versions.";
    AgencyAlreadyExists = "PAP5.0031", 409, AlreadyExists,
        "agency already exists",
        "The agency or trust agency already exists.",
        "Check the request or contact technical support.";
    TagsLimitExceeded = "PAP5.0035", 409, LimitExceeded,
        "tags limit exceeded",
        "Maximum tags reached.",
        "Check the request or contact technical support.";
    MfaDeviceAlreadyExists = "PAP5.0039", 409, AlreadyExists,
        "mfa device already exists",
        "The virtual MFA device already exists.",
        "Check the request or contact technical support.";
    UserAlreadyExists = "PAP5.0042", 409, AlreadyExists,
        "user already exists",
        "The IAM user already exists.",
        "Check the request or contact technical support.";
    GroupAlreadyExists = "PAP5.0043", 409, AlreadyExists,
        "group already exists",
        "The user group already exists.",
        "Check the request or contact technical support.";
    UserAlreadyInGroup = "PAP5.0044", 409, AlreadyExists,
        "user already in group",
        "The IAM user already exists in the user group.",
        "Check the request.";
    LoginProfileAlreadyExists = "PAP5.0045", 409, AlreadyExists,
        "login profile already exists",
        "The login information already exists.",
        "Check the request or contact technical support.";
    StsNotAuthorized = "STS5.1001", 403, AccessDenied,
        "you are not authorized to perform this operation",
        "The request is rejected due to insufficient permissions.",
        "Check whether you have required permissions.";
    StsDurationExceedsMaxSession = "STS5.1102", 400, InvalidRequest,
        "the duration seconds exceed the max session duration",
        "The session duration in the request exceeds the maximum session duration.",
        "Set the request session duration less than 3600 seconds.";
    StsMalformedEncodedMessage = "STS5.1301", 400, InvalidRequest,
        "the encoded message is malformed or invalid",
        "The encoding format is incorrect or invalid.",
        "Specify the correct encoding format information.";
    AnalyzerNotFound = "AccessAnalyzer.1001", 404, NotFound,
        "Analyzer with id %s cannot be found.",
        "Analyzer with ID \"%s\" not found.",
        "Check whether the analyzer ID is correct.";
    AnalyzerInvalidMarker = "AccessAnalyzer.1002", 400, InvalidRequest,
        "The marker is invalid.",
        "Invalid pagination marker.",
        "Check whether the pagination marker is correct.";
    AnalyzerResourceTagsLimitExceeded = "AccessAnalyzer.1003", 400, LimitExceeded,
        "The number of tags attached to a resource has exceeded the maximum limit.",
        "The maximum number of tags attached to resources has been reached.",
        "Check the number of tags according to the returned error message.";
    AnalyzerFindingNotFound = "AccessAnalyzer.1004", 404, NotFound,
        "Finding with id %s cannot be found.",
        "Analysis findings with ID \"%s\" not found.",
        "Contact technical support for specific causes.";
    AnalyzerConcurrentModification = "AccessAnalyzer.1005", 409, ConcurrentModification,
        "The target of the operation is currently being modified by a different request, try again later.",
        "The object is being modified by another request. Try again later.",
        "Try again later.";
    AnalyzerArchiveRuleNotFound = "AccessAnalyzer.1006", 404, NotFound,
        "Archive rule with id %s cannot be found.",
        "Archive rule with ID \"%s\" not found.",
        "Contact technical support for specific causes.";
    AnalyzerInvalidFindingFilter = "AccessAnalyzer.1007", 400, InvalidRequest,
        "The finding filter with key %s is invalid.",
        "Invalid search criterion \"%s\" for the findings.",
        "Enter valid search criteria.";
    AnalyzerInvalidUpdateFindingsRequest = "AccessAnalyzer.1008", 400, InvalidRequest,
        "The request of the update findings operation is invalid.",
        "Invalid request for updating the findings.",
        "Contact technical support for specific causes.";
    AnalyzerForbidden = "AccessAnalyzer.1009", 403, AccessDenied,
        "The request is forbidden: %s.",
        "Access denied \"%s\".",
        "Contact technical support for specific causes.";
    AnalyzerInvalidResourceUrn = "AccessAnalyzer.1010", 400, InvalidRequest,
        "The resource urn %s is invalid.",
        "Invalid resource URN \"%s\".",
        "Enter a correct resource URN.";
    AnalyzerInvalidResourceOwnerAccount = "AccessAnalyzer.1011", 400, InvalidRequest,
        "The resource owner account %s is invalid.",
        "Invalid resource owner account \"%s\".",
        "Enter a correct account.";
    AnalyzerAccountAnalyzersLimitExceeded = "AccessAnalyzer.1012", 400, LimitExceeded,
        "The number of analyzers for account has exceeded the maximum limit.",
        "The maximum number of account-level analyzers has been reached.",
        "Check the number of analyzers according to the returned error message.";
    AnalyzerMissingParameter = "AccessAnalyzer.1013", 400, InvalidRequest,
        "Missing %s parameter in the request.",
        "Parameter \"%s\" is missing in the request.",
        "Check the request parameter according to the returned error message.";
    AnalyzerArchiveRulesLimitExceeded = "AccessAnalyzer.1014", 400, LimitExceeded,
        "The number of archive rules of an analyzer has exceeded the maximum limit.",
        "The maximum number of archive rules for the analyzer has been reached.",
        "Check the number of archive rules according to the returned error message.";
    AnalyzerInvalidPolicyResourceType = "AccessAnalyzer.1015", 400, InvalidRequest,
        "Invalid resource type in the request.",
        "Invalid resource type of the policy in the request parameters.",
        "Enter a correct resource type for the policy.";
    AnalyzerArchiveRuleAlreadyExists = "AccessAnalyzer.1016", 400, AlreadyExists,
        "Existing an archive rule with same name.",
        "An archive rule with the same name already exists.",
        "Check the archive rule according to the returned error message.";
    AnalyzerTagKeyAlreadyExists = "AccessAnalyzer.1017", 400, AlreadyExists,
        "Existing an analyzer tag with same key.",
        "The key of the tag attached to the resource already exists.",
        "Check the tag key according to the returned error message.";
    AnalyzerPreviewNotFound = "AccessAnalyzer.1018", 404, NotFound,
        "Preview with id s% cannot be found.",
        "Preview with ID \"%s\" not found.",
        "Check the preview ID according to the returned error message.";
    // judgement: the preview is still running; the request was rejected without effect and succeeds once it completes
    AnalyzerPreviewNotCompleted = "AccessAnalyzer.1019", 409, NotReady,
        "Preview with id %s does not have a completed status.",
        "Preview with ID \"%s\" is not completed.",
        "Check the preview ID according to the returned error message.";
    AnalyzerOnlyOneResourceConfiguration = "AccessAnalyzer.1020", 400, InvalidRequest,
        "Only support one resource configuration.",
        "Only one resource configuration item is supported.",
        "Check the resource configuration item according to the returned error message.";
    AnalyzerUnsupportedResourceType = "AccessAnalyzer.1021", 400, InvalidRequest,
        "The resource type %s is not supported yet.",
        "Resource type \"%s\" is not supported.",
        "Check the resource type according to the returned error message.";
    AnalyzerOrganizationAnalyzersLimitExceeded = "AccessAnalyzer.1022", 400, LimitExceeded,
        "The number of analyzers for organization has exceeded the maximum limit.",
        "The maximum number of organization-level analyzers has been reached.",
        "Check the number of organization-level analyzers according to the returned error message.";
    // judgement: only the organisation's management account or a delegated administrator may do this; a question of who calls
    AnalyzerOrganizationAdminOnly = "AccessAnalyzer.1023", 400, AccessDenied,
        "Only management account or delegated administrator can create organization analyzer.",
        "Only the organization administrator and delegated administrator can create organization-level analyzers.",
        "Check the required permissions according to the returned error message.";
    // judgement: most analyzer states (failed, disabled) do not change by waiting; override the class if you know yours will
    AnalyzerInvalidState = "AccessAnalyzer.1024", 409, Conflict,
        "Analyzer is %s.",
        "The analyzer status is %s.",
        "Check the analyzer status according to the returned error message.";
    AnalyzerUnsupportedAnalyzerType = "AccessAnalyzer.1025", 400, InvalidRequest,
        "The analyzer type %s is invalid.",
        "Analyzer \"%s\" does not support this operation.",
        "Check the access analysis preview function according to the returned error message.";
    AnalyzerMissingRequestParameter = "AccessAnalyzer.1026", 400, InvalidRequest,
        "Missing %s parameter in the request.",
        "Parameter \"%s\" is missing in the request.",
        "Check the request parameter according to the returned error message.";
    // judgement: a frozen account is lifted by its owner or billing, not by a different request
    AnalyzerAccountSuspended = "AccessAnalyzer.1027", 400, AccountRestricted,
        "The account has been suspended %s.",
        "The account \"%s\" has been frozen.",
        "Check the account status according to the returned error message.";
    // judgement: a restricted account is lifted by its owner or billing, not by a different request
    AnalyzerAccountRestricted = "AccessAnalyzer.1028", 400, AccountRestricted,
        "The account has been restricted %s.",
        "The account \"%s\" has been restricted.",
        "Check the account status according to the returned error message.";
    AnalyzerNoNewAccessCheckFailed = "AccessAnalyzer.1031", 400, InvalidRequest,
        "Please check no new access error: %s.",
        "Check whether there is new access error \"%s\".",
        "Check the policy according to the returned error message.";
    AnalyzerNoNewAccessCheckOnDeny = "AccessAnalyzer.1032", 400, InvalidRequest,
        "Please don't check no new access error on the deny statement.",
        "A policy with only deny statements cannot be used to check for new access.",
        "Check the policy according to the returned error message.";

    // API Gateway: any IAM call can also return these.
    ApigwApiNotFound = "APIGW.0101", 404, NotFound, _,
        "The API does not exist or has not been published.",
        "Check the endpoint, the path and the method.";
    ApigwBackendNotFound = "APIGW.0103", 404, NotFound, _,
        "The backend does not exist.",
        "Check the endpoint and the path, or contact technical support.";
    // 400 bad request, 413 body over 12 MB, 414 URI too large, 494 headers
    // too large, 502 backend unavailable, 504 backend timeout: classified by
    // the status sent with it.
    ApigwBadRequest = "APIGW.0201", _, _, _,
        "Bad request, request too large, or backend unavailable or timed out (the status tells which).",
        "For 4xx, fix the request (bodies at most 12 MB); for 502 and 504, try again later.";
    ApigwIncorrectIamAuthentication = "APIGW.0301", 401, Authentication, _,
        "Incorrect IAM authentication information.",
        "Check the token or the AK/SK signature; do not retry: five failures lock an access key for 5 minutes.";
    ApigwIamUserNotAuthorized = "APIGW.0302", 403, AccessDenied, _,
        "The IAM user is not authorized to access the API.",
        "Grant the IAM user access to the API.";
    ApigwAppAuthenticationFailed = "APIGW.0303", 401, Authentication, _,
        "App authentication failed.",
        "Check the app's key and secret or its signature.";
    ApigwAppNotAuthorized = "APIGW.0304", 403, AccessDenied, _,
        "The app is not authorized to access the API.",
        "Authorize the app for the API.";
    ApigwAuthenticationFailed = "APIGW.0305", 401, Authentication, _,
        "Authentication failed.",
        "Check the credentials sent with the request.";
    ApigwApiAccessDenied = "APIGW.0306", 403, AccessDenied, _,
        "Access to the API is denied.",
        "Check the API's access control policies.";
    ApigwTokenMustBeUpdated = "APIGW.0307", 401, Authentication, _,
        "The token must be updated.",
        "Obtain a new token and send the request with it.";
    ApigwThrottled = "APIGW.0308", 429, Throttled,
        "The throttling threshold has been reached: policy %s over ratelimit,limit:%d,time:1 minute",
        "The throttling threshold has been reached (per user, API or IP address).",
        "Try again after 2 to 5 seconds, and lower the request rate.";
    ApigwProjectUnavailable = "APIGW.0310", 403, AccessDenied, _,
        "The project is unavailable.",
        "Check that the project exists and is enabled.";
    ApigwDebugAuthenticationFailed = "APIGW.0311", 401, Authentication, _,
        "Debugging authentication failed.",
        "Check the credentials sent with the request.";
    ApigwIpDenied = "APIGW.0401", 403, AccessDenied, _,
        "The client IP address is denied.",
        "Check the API's IP address access control.";
    ApigwIpAclDenied = "APIGW.0402", 403, AccessDenied, _,
        "The client IP address is denied by an access control list.",
        "Check the API's IP address access control.";
    ApigwBackendIpDenied = "APIGW.0404", 403, AccessDenied, _,
        "Access to the backend IP address is denied.",
        "Contact technical support.";
    ApigwAppQuotaExhausted = "APIGW.0501", 405, LimitExceeded, _,
        "The app's quota has been used up.",
        "Wait for the quota period to reset, or raise the app's quota.";
    // judgement: a frozen app is unfrozen by its owner, not by another request
    ApigwAppFrozen = "APIGW.0502", 405, AccountRestricted, _,
        "The app has been frozen.",
        "Ask the app's owner to unfreeze it.";
    ApigwInternal0601 = "APIGW.0601", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwInternal0605 = "APIGW.0605", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwInternal0606 = "APIGW.0606", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwInternal0608 = "APIGW.0608", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwInternal0609 = "APIGW.0609", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwNoBackendAvailable = "APIGW.0610", 502, Unavailable, _,
        "No backend is available.",
        "Try again later.";
    ApigwInternal0611 = "APIGW.0611", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwInternal0612 = "APIGW.0612", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwIamUnavailable = "APIGW.0613", 503, Unavailable, _,
        "The IAM service is unavailable.",
        "Try again later.";
    ApigwInternal0705 = "APIGW.0705", 500, ServerError, _,
        "Internal gateway error.",
        "Try again later, or contact technical support.";
    ApigwRegionUnavailable = "APIGW.0801", 403, AccessDenied, _,
        "The region is not available to the service.",
        "Call the service in a region where it is available.";
    ApigwRegionForbidden = "APIGW.0802", 403, AccessDenied, _,
        "The IAM user is forbidden in this region.",
        "Ask an administrator to allow the user in this region.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matching() {
        assert_eq!(
            match_template("access denied: %s", "access denied: x:y"),
            Some(vec!["x:y"])
        );
        assert_eq!(
            match_template("Analyzer is %s.", "Analyzer is failed."),
            Some(vec!["failed"])
        );
        assert_eq!(
            match_template("a %s b %d c", "a one b 2 c"),
            Some(vec!["one", "2"])
        );
        assert_eq!(
            match_template(
                "Preview with id s% cannot be found.",
                "Preview with id p-1 cannot be found."
            ),
            Some(vec!["p-1"])
        );
        assert_eq!(match_template("no values", "no values"), Some(vec![]));
        assert_eq!(match_template("no values", "other"), None);
        assert_eq!(match_template("x %s y", "x "), None);
        assert_eq!(match_template("%s", ""), Some(vec![""]));
    }

    /// The lookup by [`wire_key`] finds exactly the rows whose wire form is the
    /// string looked up (or its `APIG.` spelling): every number of every family,
    /// and strings one edit away from a row's.
    #[test]
    fn the_keyed_lookup_agrees_with_the_table() {
        let by_string = |wire: &str| {
            let canonical = match wire.strip_prefix("APIG.") {
                Some(number) => format!("APIGW.{number}"),
                None => wire.to_owned(),
            };
            ErrorCode::CATALOGUE
                .iter()
                .find(|code| code.as_str() == canonical)
                .cloned()
        };
        let mut found = 0;
        for family in [
            "PAP5.",
            "STS5.",
            "AccessAnalyzer.",
            "APIGW.",
            "APIG.",
            "ECS.",
        ] {
            for number in 0..10_000 {
                let wire = format!("{family}{number:04}");
                let code = ErrorCode::lookup_canonical(&wire);
                assert_eq!(code, by_string(&wire), "{wire}");
                // The decoder tells a code's other spelling by its length alone.
                if let Some(code) = &code {
                    assert_eq!(code.as_str() == wire, code.as_str().len() == wire.len());
                }
                found += usize::from(code.is_some());
            }
        }
        let gateway = ErrorCode::CATALOGUE
            .iter()
            .filter(|code| code.as_str().starts_with("APIGW."))
            .count();
        assert_eq!(found, ErrorCode::CATALOGUE.len() + gateway);
        for code in ErrorCode::CATALOGUE {
            let wire = code.as_str();
            let (family, number) = wire.split_at(wire.len() - 4);
            for near in [
                format!("{family}{}", &number[1..]),
                format!("{family}0{number}"),
                format!("{family}{number}0"),
                format!("{family}+{}", &number[1..]),
                format!("{family}{}a", &number[..3]),
                format!("{}{number}", family.to_lowercase()),
                format!("{}:{number}", &family[..family.len() - 1]),
                format!("X{wire}"),
                wire[1..].to_owned(),
                format!("{wire} "),
            ] {
                assert_eq!(ErrorCode::lookup_canonical(&near), None, "{near}");
            }
        }
        for short in ["", "0", "0006", ".0006", "P.0006"] {
            assert_eq!(ErrorCode::lookup_canonical(short), None, "{short:?}");
        }
    }

    #[test]
    fn gateway_spelling_does_not_reach_other_families() {
        assert_eq!(ErrorCode::from_wire("APIG.0308"), ErrorCode::ApigwThrottled);
        assert_eq!(
            ErrorCode::from_wire(" APIGW.0613 "),
            ErrorCode::ApigwIamUnavailable
        );
        assert_eq!(
            ErrorCode::from_wire("APIG.0308.PAP5.0006"),
            ErrorCode::from_wire("APIG.0308.PAP5.0006")
        );
        assert_eq!(
            ErrorCode::from_wire("APIG.9999"),
            ErrorCode::from_wire("APIG.9999")
        );
    }
}
