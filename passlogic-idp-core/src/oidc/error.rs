//! Error types of the OpenID Connect provider.
//!
//! Protocol errors carry the OAuth 2.0 / OIDC error code ([`ErrorCode`]) and a description the
//! client may see; they never contain secrets. [`AuthorizeError`] also says *where* the error
//! may go: back to the client's redirect URI (only once `client_id` and `redirect_uri` are
//! known good, RFC 6749 section 4.1.2.1) or onto the provider's own error page, so the
//! authorization endpoint never becomes an open redirector.

use serde::Serialize;

use super::types::{encode_form, Issuer, RedirectUri, ResponseMode, State};

/// An OAuth 2.0 / OpenID Connect error code (RFC 6749 sections 4.1.2.1, 5.2; OIDC Core 3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: missing, invalid or repeated parameter.
    InvalidRequest,
    /// `unauthorized_client`: the client may not use this response or grant type.
    UnauthorizedClient,
    /// `access_denied`: the user or the provider refused.
    AccessDenied,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_scope`: unknown, malformed or not allowed scope.
    InvalidScope,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `interaction_required` (`prompt=none` but the user must act).
    InteractionRequired,
    /// `login_required` (`prompt=none` without a session).
    LoginRequired,
    /// `consent_required`.
    ConsentRequired,
    /// `request_not_supported`: a `request` object was sent.
    RequestNotSupported,
    /// `request_uri_not_supported`: a `request_uri` was sent.
    RequestUriNotSupported,
    /// `invalid_client`: client authentication failed (token endpoint).
    InvalidClient,
    /// `invalid_grant`: bad, expired, used or foreign code or refresh token.
    InvalidGrant,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unmet_authentication_requirements` (OpenID Connect Core Unmet Authentication
    /// Requirements 1.0): an essential `acr` cannot be satisfied.
    UnmetAuthenticationRequirements,
}

impl ErrorCode {
    /// The wire name, e.g. `invalid_request`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InteractionRequired => "interaction_required",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a redirectable authorization error goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The validated (registered) redirect URI.
    pub redirect_uri: RedirectUri,
    /// How to deliver the parameters.
    pub response_mode: ResponseMode,
    /// The request's `state`, echoed back when it was sent.
    pub state: Option<State>,
}

/// A refused authorization request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct AuthorizeError {
    /// The error code.
    pub code: ErrorCode,
    /// A human-readable description (ASCII, safe to show to the client).
    pub description: String,
    /// `Some` when the error may be sent to the client's redirect URI; `None` means it must be
    /// shown on the provider's error page and never redirected.
    pub redirect: Option<ErrorRedirect>,
}

impl AuthorizeError {
    /// An error for the provider's own error page (client or redirect URI not trusted).
    pub fn page(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            redirect: None,
        }
    }

    /// Whether the error may be returned to the client's redirect URI.
    pub fn is_redirectable(&self) -> bool {
        self.redirect.is_some()
    }

    /// The response parameters for a redirectable error: `error`, `error_description`,
    /// `state` (if one was sent) and `iss` (RFC 9207, mix-up defence). `None` for page errors.
    pub fn response_params(&self, issuer: &Issuer) -> Option<Vec<(String, String)>> {
        let redirect = self.redirect.as_ref()?;
        let mut params = vec![
            ("error".to_owned(), self.code.as_str().to_owned()),
            ("error_description".to_owned(), self.description.clone()),
        ];
        if let Some(state) = &redirect.state {
            params.push(("state".to_owned(), state.as_str().to_owned()));
        }
        params.push(("iss".to_owned(), issuer.as_str().to_owned()));
        Some(params)
    }

    /// For `query` and `fragment` modes, the full redirect URL carrying the error. `None` for
    /// page errors and for `form_post` (render a form from [`Self::response_params`] instead).
    pub fn redirect_url(&self, issuer: &Issuer) -> Option<String> {
        let redirect = self.redirect.as_ref()?;
        let params = self.response_params(issuer)?;
        append_params(
            redirect.redirect_uri.as_str(),
            redirect.response_mode,
            &params,
        )
    }
}

/// Appends response parameters to `uri` for `query` (after `?` or `&`) or `fragment` (after
/// `#`) delivery. `None` for `form_post`.
pub(crate) fn append_params(
    uri: &str,
    mode: ResponseMode,
    params: &[(String, String)],
) -> Option<String> {
    let encoded = encode_form(params);
    match mode {
        ResponseMode::Query => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            Some(format!("{uri}{sep}{encoded}"))
        }
        ResponseMode::Fragment => Some(format!("{uri}#{encoded}")),
        ResponseMode::FormPost => None,
    }
}

/// What a token-endpoint error implies beyond the response, for the caller to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenErrorAction {
    /// Nothing beyond the error response.
    None,
    /// An authorization code was presented again: revoke every token issued from it (RFC 6749
    /// section 4.1.2), i.e. the refresh family with this id and its access tokens.
    RevokeCodeGrant {
        /// The grant id (also the id of the refresh family started from it).
        grant_id: String,
    },
    /// An old refresh token was replayed: the family has been marked revoked; store it and
    /// revoke its access tokens.
    RefreshFamilyRevoked {
        /// The family id.
        family_id: String,
    },
}

/// A refused token request (RFC 6749 section 5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct TokenError {
    /// The error code.
    pub code: ErrorCode,
    /// A description for `error_description`.
    pub description: String,
    /// What the caller must do besides answering.
    pub action: TokenErrorAction,
}

impl TokenError {
    /// An error without side action.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            action: TokenErrorAction::None,
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// The HTTP status: 401 for `invalid_client` (with a `WWW-Authenticate` header when the
    /// client used HTTP Basic), 400 otherwise.
    pub fn http_status(&self) -> u16 {
        if self.code == ErrorCode::InvalidClient {
            401
        } else {
            400
        }
    }

    /// The JSON body: `{"error": ..., "error_description": ...}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        })
    }
}

/// Why an issuer URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidIssuer {
    /// Not `https` (plain `http` is allowed for `localhost` only).
    #[error("the issuer must be an https URL")]
    NotHttps,
    /// No host.
    #[error("the issuer has no host")]
    NoHost,
    /// Has a query or fragment (OIDC Discovery section 3 forbids them).
    #[error("the issuer must not have a query or fragment")]
    QueryOrFragment,
    /// Ends with `/`.
    #[error("the issuer must not end with a slash")]
    TrailingSlash,
    /// Whitespace, control or non-ASCII characters, `@` (user info) or a backslash.
    #[error("the issuer contains an invalid character")]
    InvalidCharacter,
}

/// Why a JWS or JWK operation failed. Verification failures are all final: the caller must
/// reject the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Not three base64url parts, bad base64url, bad JSON or a non-object header.
    #[error("malformed JWS")]
    Malformed,
    /// Larger than [`crate::oidc::jose::MAX_JWS_LEN`].
    #[error("JWS too large")]
    TooLarge,
    /// `alg: none` or an HMAC algorithm: never accepted.
    #[error("algorithm {0} is never accepted")]
    AlgorithmRefused(String),
    /// An algorithm this implementation does not know.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A known algorithm outside this call site's allow-list.
    #[error("algorithm {0} is not allowed here")]
    AlgorithmNotAllowed(String),
    /// A `crit` header parameter (no extension is understood).
    #[error("critical header extension not understood")]
    UnsupportedCritical,
    /// No key with the token's `kid` (or no keys at all).
    #[error("no key matches the token's key id")]
    UnknownKey,
    /// The key's type does not fit the algorithm (e.g. an RSA key for ES256), or the key is
    /// too weak (RSA under 2048 bits).
    #[error("the key does not match the algorithm")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A JWK that cannot be used for verification (symmetric, `use` other than `sig`, bad
    /// parameters, unsupported curve).
    #[error("unusable JWK: {0}")]
    UnusableKey(&'static str),
    /// The JWK's `x5c` certificate holds a different key than its parameters.
    #[error("x5c certificate does not match the key")]
    CertificateMismatch,
    /// The claims are not the expected JSON.
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
    /// OpenSSL failed (key load, signing).
    #[error("crypto backend error")]
    Crypto,
}

/// Why a key-set operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The set already holds a key with this `kid`.
    #[error("duplicate key id {0}")]
    DuplicateKid(String),
    /// No key is active at the given time.
    #[error("no active signing key")]
    NoActiveKey,
    /// The active key cannot be used here (e.g. EAM needs RS256 with a certificate).
    #[error("the active key is unsuitable: {0}")]
    Unsuitable(&'static str),
    /// Signing failed.
    #[error(transparent)]
    Jose(#[from] JoseError),
}

/// Why an Entra ID External Authentication Method request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct EamError {
    /// What went wrong.
    pub kind: EamErrorKind,
    /// Where the `error=access_denied` answer may be POSTed: `Some` only once `client_id` and
    /// the redirect URI were validated. `None` means: show an error page.
    pub redirect: Option<ErrorRedirect>,
}

impl EamError {
    /// The form values to POST to Entra's redirect URI: `error=access_denied`, a description
    /// and `state` if one was sent. `None` for page errors.
    pub fn form_values(&self) -> Option<Vec<(String, String)>> {
        let redirect = self.redirect.as_ref()?;
        let mut v = vec![
            (
                "error".to_owned(),
                ErrorCode::AccessDenied.as_str().to_owned(),
            ),
            ("error_description".to_owned(), self.kind.to_string()),
        ];
        if let Some(state) = &redirect.state {
            v.push(("state".to_owned(), state.as_str().to_owned()));
        }
        Some(v)
    }
}

/// The reason for an [`EamError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EamErrorKind {
    /// A required parameter is missing or repeated, or a value is malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// `client_id` is not the one configured for Entra.
    #[error("unknown client_id")]
    UnknownClient,
    /// The redirect URI is not one of the allowed Entra endpoints.
    #[error("redirect URI not allowed")]
    RedirectNotAllowed,
    /// The `id_token_hint` signature or structure is bad.
    #[error("id_token_hint rejected: {0}")]
    HintSignature(JoseError),
    /// The hint's `iss` is not an allowed Entra issuer.
    #[error("id_token_hint issuer not allowed")]
    HintIssuer,
    /// The hint's `aud` is not the expected audience.
    #[error("id_token_hint audience not allowed")]
    HintAudience,
    /// The hint lacks `sub`, `oid` or `tid`.
    #[error("id_token_hint lacks {0}")]
    HintClaimMissing(&'static str),
    /// None of the requested `acr` values can be satisfied by the method used.
    #[error("no requested acr value is satisfied")]
    AcrNotSatisfiable,
    /// The method's `amr` value is not one Entra accepts or requested.
    #[error("amr value not acceptable")]
    AmrNotAcceptable,
    /// The user failed or abandoned authentication.
    #[error("authentication failed")]
    AccessDenied,
}
