//! Why a SAML message was refused, the SAML StatusCode that says so, and whether the answer may
//! go to the SP's ACS or must be an error page.

use crate::xmldsig::XmlDsigError;

/// Top-level SAML status codes (SAML core 3.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCode {
    /// `urn:oasis:names:tc:SAML:2.0:status:Success`
    Success,
    /// `urn:oasis:names:tc:SAML:2.0:status:Requester`
    Requester,
    /// `urn:oasis:names:tc:SAML:2.0:status:Responder`
    Responder,
    /// `urn:oasis:names:tc:SAML:2.0:status:VersionMismatch`
    VersionMismatch,
}

impl StatusCode {
    /// The URI.
    pub fn uri(self) -> &'static str {
        match self {
            StatusCode::Success => "urn:oasis:names:tc:SAML:2.0:status:Success",
            StatusCode::Requester => "urn:oasis:names:tc:SAML:2.0:status:Requester",
            StatusCode::Responder => "urn:oasis:names:tc:SAML:2.0:status:Responder",
            StatusCode::VersionMismatch => "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch",
        }
    }
}

/// Second-level status codes used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubStatus {
    /// The request is not supported (e.g. it names a Subject).
    RequestUnsupported,
    /// The requested authentication context cannot be satisfied.
    NoAuthnContext,
    /// IsPassive was set but the user must interact.
    NoPassive,
    /// The requested binding is not supported.
    UnsupportedBinding,
    /// The request was refused (policy).
    RequestDenied,
    /// The requested NameID format / qualifier cannot be served.
    InvalidNameIdPolicy,
    /// Authentication failed.
    AuthnFailed,
    /// Logout succeeded only partly.
    PartialLogout,
}

impl SubStatus {
    /// The URI.
    pub fn uri(self) -> &'static str {
        match self {
            SubStatus::RequestUnsupported => {
                "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"
            }
            SubStatus::NoAuthnContext => "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext",
            SubStatus::NoPassive => "urn:oasis:names:tc:SAML:2.0:status:NoPassive",
            SubStatus::UnsupportedBinding => {
                "urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding"
            }
            SubStatus::RequestDenied => "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
            SubStatus::InvalidNameIdPolicy => {
                "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
            }
            SubStatus::AuthnFailed => "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
            SubStatus::PartialLogout => "urn:oasis:names:tc:SAML:2.0:status:PartialLogout",
        }
    }
}

/// Every reason a SAML message is refused or cannot be served.
///
/// [`SamlError::status`] gives the SAML status; [`SamlError::may_respond_to_acs`] says whether
/// an error Response may be POSTed to the SP's ACS (only when the issuer and the ACS were
/// already verified) or the server must show an error page and send nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SamlError {
    // ---- transport / encoding: error page ----
    /// The raw message is larger than the limit (checked before decoding).
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Inflating the Redirect message went past the output cap (a DEFLATE bomb or a huge
    /// message).
    #[error("inflated message larger than {limit} bytes")]
    InflateTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The binding's encoding is broken (URL encoding, base64, DEFLATE, UTF-8, missing or
    /// repeated parameters).
    #[error("bad binding encoding: {0}")]
    Encoding(&'static str),
    /// RelayState longer than the configured limit.
    #[error("RelayState longer than {limit} bytes")]
    RelayStateTooLong {
        /// The limit.
        limit: usize,
    },
    /// The XML reader refused the document (DOCTYPE, malformed, too deep, too large...).
    #[error("XML refused: {0}")]
    Xml(XmlDsigError),
    /// The document is not the expected message (wrong root element or namespace).
    #[error("unexpected message: {0}")]
    WrongMessage(&'static str),
    /// A required element or attribute is missing or malformed.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// `Version` is not `2.0`.
    #[error("SAML version not supported")]
    VersionMismatch,
    /// The message ID is missing or not an acceptable NCName.
    #[error("bad message ID")]
    BadId,
    /// IssueInstant is outside the allowed window (stale or in the future), or the message
    /// expired (NotOnOrAfter).
    #[error("message is stale or from the future")]
    Stale,
    /// The Issuer is not a registered SP.
    #[error("unknown issuer {0:?}")]
    UnknownIssuer(String),
    /// The Destination does not equal our endpoint for this binding (or is missing on a signed
    /// message).
    #[error("wrong or missing Destination")]
    WrongDestination,
    /// The requested ACS (URL or index) is not registered for the SP, or both URL and index
    /// were given.
    #[error("AssertionConsumerService not registered for this SP")]
    AcsNotRegistered,
    /// The requested response binding is not one we answer with, or does not match the
    /// registered endpoint.
    #[error("unsupported or mismatching binding")]
    UnsupportedBinding,
    /// A signature is required but absent.
    #[error("signature required but absent")]
    SignatureRequired,
    /// A signature is present but does not verify (or signs something else than the message).
    #[error("signature invalid: {0}")]
    SignatureInvalid(String),
    /// The SP has no usable key to check its signatures with.
    #[error("no signing certificate registered for the SP")]
    NoSpKey,
    /// Certificate or key data could not be read.
    #[error("bad certificate: {0}")]
    BadCertificate(&'static str),
    /// Metadata does not describe an SP we can use.
    #[error("metadata not usable: {0}")]
    Metadata(&'static str),
    /// Something about our own configuration (missing SLO endpoint, bad key) prevents the
    /// operation.
    #[error("configuration: {0}")]
    Config(&'static str),
    /// Signing or encryption failed.
    #[error("crypto error: {0}")]
    Crypto(String),

    // ---- after the SP and ACS are verified: an error Response may be sent ----
    /// The NameIDPolicy asks for a format (or SPNameQualifier) we do not issue for this SP.
    #[error("NameIDPolicy cannot be satisfied")]
    InvalidNameIdPolicy,
    /// The RequestedAuthnContext cannot be satisfied.
    #[error("requested authentication context cannot be satisfied")]
    NoAuthnContext,
    /// IsPassive, but the user would have to interact.
    #[error("passive authentication not possible")]
    NoPassive,
    /// A feature of the request is not supported (e.g. a requested Subject).
    #[error("request not supported: {0}")]
    RequestUnsupported(&'static str),
    /// The request is refused by policy.
    #[error("request denied")]
    RequestDenied,
    /// Authentication failed or was cancelled.
    #[error("authentication failed")]
    AuthnFailed,
}

impl SamlError {
    /// The SAML status (top level, optional second level) for this error.
    pub fn status(&self) -> (StatusCode, Option<SubStatus>) {
        use SamlError::*;
        match self {
            VersionMismatch => (StatusCode::VersionMismatch, None),
            UnsupportedBinding => (StatusCode::Requester, Some(SubStatus::UnsupportedBinding)),
            InvalidNameIdPolicy => (StatusCode::Requester, Some(SubStatus::InvalidNameIdPolicy)),
            NoAuthnContext => (StatusCode::Requester, Some(SubStatus::NoAuthnContext)),
            NoPassive => (StatusCode::Responder, Some(SubStatus::NoPassive)),
            RequestUnsupported(_) => (StatusCode::Responder, Some(SubStatus::RequestUnsupported)),
            AuthnFailed => (StatusCode::Responder, Some(SubStatus::AuthnFailed)),
            RequestDenied | UnknownIssuer(_) | AcsNotRegistered | SignatureRequired
            | SignatureInvalid(_) | NoSpKey => {
                (StatusCode::Requester, Some(SubStatus::RequestDenied))
            }
            Config(_) | Crypto(_) => (StatusCode::Responder, None),
            _ => (StatusCode::Requester, None),
        }
    }

    /// Whether an error Response may be sent to the ACS of the request: only for errors that
    /// arise after the Issuer, the signature and the ACS were verified. All other errors must
    /// end in an error page; nothing is sent to a URL taken from an unverified request.
    pub fn may_respond_to_acs(&self) -> bool {
        matches!(
            self,
            SamlError::InvalidNameIdPolicy
                | SamlError::NoAuthnContext
                | SamlError::NoPassive
                | SamlError::RequestUnsupported(_)
                | SamlError::RequestDenied
                | SamlError::AuthnFailed
        )
    }
}

impl From<XmlDsigError> for SamlError {
    fn from(e: XmlDsigError) -> Self {
        SamlError::Xml(e)
    }
}
