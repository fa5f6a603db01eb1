//! Authorization request validation ([RFC 6749] section 4.1.1, [OIDC Core] section 3.1.2).
//!
//! The server extracts `client_id` with [`requested_client_id`], loads that client's
//! [`ClientRegistration`] (an unknown client is a page error, [`AuthorizeError::page`]) and calls
//! [`validate_authorization_request`] with the raw query or form pairs. The result is either a
//! [`ValidatedAuthorizationRequest`] to keep in the sign-in attempt, or an [`AuthorizeError`].
//!
//! Rules (research/security.md 1.3 and 4.3):
//!
//! - Until `client_id` and `redirect_uri` are both valid, every error is a **page error**:
//!   nothing is ever sent to an unverified URI (no open redirector).
//! - `redirect_uri` is required and must equal a registered URI **byte for byte**: no prefix
//!   match, no case folding, no trailing-slash, port, query or fragment tolerance.
//! - Every parameter may appear at most once (RFC 6749 section 3.1); empty values count as
//!   absent (section 3.1).
//! - `response_type` is `code` or `id_token`; `response_mode` defaults to `query` for `code` and
//!   `fragment` for `id_token`; `query` is refused for `id_token` (no tokens in query strings).
//! - `nonce` is required for `id_token` (OIDC Core 3.2.2.1).
//! - PKCE: only `S256`; `plain` (and a challenge without a method, which means `plain`) is
//!   refused; a challenge is required from public clients using `code`.
//! - `request` and `request_uri` are refused (`request_not_supported`,
//!   `request_uri_not_supported`): no request objects, no fetching URLs (SSRF).
//! - `id_token_hint` is kept raw: the server verifies it against its own keys.
//!
//! ```
//! use passlogic_idp_core::oidc::authorize::{validate_authorization_request, requested_client_id};
//! use passlogic_idp_core::oidc::types::{ClientRegistration, ResponseMode};
//! let client = ClientRegistration::confidential(
//!     "app", vec!["https://app.example/cb".into()], "stored-hash".into());
//! let params: Vec<(String, String)> = [
//!     ("client_id", "app"), ("redirect_uri", "https://app.example/cb"),
//!     ("response_type", "code"), ("scope", "openid"), ("state", "xyz"),
//! ].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
//! assert_eq!(requested_client_id(&params)?.as_str(), "app");
//! let req = validate_authorization_request(&params, &client)?;
//! assert_eq!(req.response_mode, ResponseMode::Query);
//! # Ok::<(), passlogic_idp_core::oidc::error::AuthorizeError>(())
//! ```
//!
//! [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
//! [OIDC Core]: https://openid.net/specs/openid-connect-core-1_0.html

use serde::{Deserialize, Serialize};

use super::error::{append_params, AuthorizeError, ErrorCode, ErrorRedirect};
use super::jose::MAX_JWS_LEN;
use super::types::{
    AuthorizationCode, ClientId, ClientRegistration, Issuer, Nonce, PkceChallenge, Prompt,
    RedirectUri, ResponseMode, ResponseType, Scope, Scopes, State,
};

/// Largest accepted parameter value in bytes (except `id_token_hint`, bounded by
/// [`MAX_JWS_LEN`]). Generous enough for the 8 KiB `state` conformance test.
pub const MAX_PARAM_LEN: usize = 16 * 1024;

/// A claim request from the `claims` parameter (OIDC Core section 5.5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestedClaim {
    /// `essential: true` was given.
    pub essential: bool,
    /// The requested values (`value` and `values` merged, in order).
    pub values: Vec<String>,
}

/// An authorization request that passed validation. Keep it with the sign-in attempt; it is
/// serde data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedAuthorizationRequest {
    /// The client.
    pub client_id: ClientId,
    /// The registered redirect URI the request named.
    pub redirect_uri: RedirectUri,
    /// `code` or `id_token`.
    pub response_type: ResponseType,
    /// Requested or default response mode.
    pub response_mode: ResponseMode,
    /// Requested scopes (all allowed for the client).
    pub scopes: Scopes,
    /// The client's `state`, echoed back.
    pub state: Option<State>,
    /// The `nonce` (always present for `id_token`).
    pub nonce: Option<Nonce>,
    /// The S256 PKCE challenge (code flow).
    pub code_challenge: Option<PkceChallenge>,
    /// `prompt=none` or `prompt=login` (other values are ignored).
    pub prompt: Option<Prompt>,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
    /// `acr_values`, in order.
    pub acr_values: Vec<String>,
    /// `claims.id_token.acr`, if requested.
    pub claims_acr: Option<RequestedClaim>,
    /// `claims.id_token.amr`, if requested.
    pub claims_amr: Option<RequestedClaim>,
    /// The raw `id_token_hint`, NOT verified here.
    pub id_token_hint: Option<String>,
    /// `login_hint`, as sent.
    pub login_hint: Option<String>,
}

impl ValidatedAuthorizationRequest {
    /// The requested `acr` values: those from the `claims` parameter first, then
    /// `acr_values`, without duplicates.
    pub fn requested_acr_values(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let from_claims = self.claims_acr.iter().flat_map(|c| c.values.iter());
        for v in from_claims.chain(self.acr_values.iter()) {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        out
    }

    /// Whether an `acr` value was requested as essential (the server must then fail rather
    /// than issue another `acr`).
    pub fn acr_is_essential(&self) -> bool {
        self.claims_acr.as_ref().is_some_and(|c| c.essential)
    }

    /// A redirectable error for this request, e.g. `login_required` after `prompt=none`, or
    /// `access_denied`.
    pub fn error(&self, code: ErrorCode, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError {
            code,
            description: description.into(),
            redirect: Some(ErrorRedirect {
                redirect_uri: self.redirect_uri.clone(),
                response_mode: self.response_mode,
                state: self.state.clone(),
            }),
        }
    }

    /// `login_required`: `prompt=none` was asked but there is no usable session.
    pub fn login_required(&self) -> AuthorizeError {
        self.error(ErrorCode::LoginRequired, "the user is not signed in")
    }

    /// The successful code-flow response: `code`, `state` (if sent), `iss` (RFC 9207).
    pub fn code_response(
        &self,
        code: &AuthorizationCode,
        issuer: &Issuer,
    ) -> AuthorizationResponse {
        self.response(vec![("code".to_owned(), code.secret().to_owned())], issuer)
    }

    /// The successful `id_token` response: `id_token`, `state` (if sent), `iss`.
    pub fn id_token_response(&self, id_token: &str, issuer: &Issuer) -> AuthorizationResponse {
        self.response(vec![("id_token".to_owned(), id_token.to_owned())], issuer)
    }

    fn response(
        &self,
        mut params: Vec<(String, String)>,
        issuer: &Issuer,
    ) -> AuthorizationResponse {
        if let Some(state) = &self.state {
            params.push(("state".to_owned(), state.as_str().to_owned()));
        }
        params.push(("iss".to_owned(), issuer.as_str().to_owned()));
        AuthorizationResponse {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            params,
        }
    }
}

/// A successful authorization response, to deliver per `response_mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// The validated redirect URI.
    pub redirect_uri: RedirectUri,
    /// Delivery mode.
    pub response_mode: ResponseMode,
    /// The parameters (contain the code or token: do not log them).
    pub params: Vec<(String, String)>,
}

impl AuthorizationResponse {
    /// The URL to redirect to for `query` and `fragment`; `None` for `form_post` (render an
    /// auto-submitting form of [`Self::params`] to [`Self::redirect_uri`] instead).
    pub fn redirect_url(&self) -> Option<String> {
        append_params(self.redirect_uri.as_str(), self.response_mode, &self.params)
    }
}

struct Params<'a>(&'a [(String, String)]);

/// A parameter value: absent, present once, or repeated.
enum One<'a> {
    Absent,
    Value(&'a str),
    Repeated,
}

impl<'a> Params<'a> {
    fn one(&self, name: &str) -> One<'a> {
        let mut found = None;
        for (k, v) in self.0 {
            if k == name {
                if found.is_some() {
                    return One::Repeated;
                }
                found = Some(v.as_str());
            }
        }
        match found {
            Some(v) if !v.is_empty() => One::Value(v),
            _ => One::Absent,
        }
    }
}

/// Reads `client_id` (exactly once) so the server can load the client. Errors are page errors.
pub fn requested_client_id(params: &[(String, String)]) -> Result<ClientId, AuthorizeError> {
    match Params(params).one("client_id") {
        One::Value(v) if v.len() <= MAX_PARAM_LEN => Ok(ClientId::new(v)),
        One::Value(_) => Err(AuthorizeError::page(
            ErrorCode::InvalidRequest,
            "client_id is too long",
        )),
        One::Absent => Err(AuthorizeError::page(
            ErrorCode::InvalidRequest,
            "client_id is missing",
        )),
        One::Repeated => Err(AuthorizeError::page(
            ErrorCode::InvalidRequest,
            "client_id is repeated",
        )),
    }
}

fn parse_response_type(value: &str) -> Result<ResponseType, ErrorCode> {
    match value {
        "code" => Ok(ResponseType::Code),
        "id_token" => Ok(ResponseType::IdToken),
        _ => Err(ErrorCode::UnsupportedResponseType),
    }
}

/// Validates an authorization request for the already loaded `client` (see module docs).
pub fn validate_authorization_request(
    params: &[(String, String)],
    client: &ClientRegistration,
) -> Result<ValidatedAuthorizationRequest, AuthorizeError> {
    let p = Params(params);
    let page = |d: &str| AuthorizeError::page(ErrorCode::InvalidRequest, d);

    // 1. client_id and redirect_uri: page errors only.
    let client_id = requested_client_id(params)?;
    if client_id != client.client_id {
        return Err(page("client_id does not match the client"));
    }
    let redirect_uri = match p.one("redirect_uri") {
        One::Value(v) if client.has_redirect_uri(v) => RedirectUri::new(v),
        One::Value(_) => return Err(page("redirect_uri is not registered for this client")),
        One::Absent => return Err(page("redirect_uri is missing")),
        One::Repeated => return Err(page("redirect_uri is repeated")),
    };

    // 2. From here errors go back to the client. Work out how to deliver them first.
    let response_type = match p.one("response_type") {
        One::Value(v) => Some(parse_response_type(v)),
        _ => None,
    };
    let requested_mode = match p.one("response_mode") {
        One::Value(v) => ResponseMode::from_name(v),
        _ => None,
    };
    let (state, state_repeated) = match p.one("state") {
        One::Value(v) if v.len() <= MAX_PARAM_LEN => (Some(State::new(v)), false),
        One::Value(_) => (None, true),
        One::Absent => (None, false),
        One::Repeated => (None, true),
    };
    let error_mode = match (requested_mode, response_type) {
        (Some(ResponseMode::Query), Some(Ok(ResponseType::IdToken))) => ResponseMode::Fragment,
        (Some(mode), _) => mode,
        (None, Some(Ok(rt))) => rt.default_mode(),
        (None, _) => ResponseMode::Query,
    };
    let redirect = ErrorRedirect {
        redirect_uri: redirect_uri.clone(),
        response_mode: error_mode,
        state: state.clone(),
    };
    let err = |code: ErrorCode, d: &str| AuthorizeError {
        code,
        description: d.to_owned(),
        redirect: Some(redirect.clone()),
    };
    if state_repeated {
        return Err(err(
            ErrorCode::InvalidRequest,
            "state is repeated or too long",
        ));
    }
    for (k, v) in params {
        let limit = if k == "id_token_hint" {
            MAX_JWS_LEN
        } else {
            MAX_PARAM_LEN
        };
        if v.len() > limit {
            return Err(err(ErrorCode::InvalidRequest, "a parameter is too long"));
        }
    }
    let single = |name: &str| -> Result<Option<&str>, AuthorizeError> {
        match p.one(name) {
            One::Value(v) => Ok(Some(v)),
            One::Absent => Ok(None),
            One::Repeated => Err(err(
                ErrorCode::InvalidRequest,
                &format!("{name} is repeated"),
            )),
        }
    };

    // 3. Unsupported request objects.
    if single("request")?.is_some() {
        return Err(err(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if single("request_uri")?.is_some() {
        return Err(err(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }

    // 4. response_type and response_mode.
    let response_type = match single("response_type")? {
        None => return Err(err(ErrorCode::InvalidRequest, "response_type is missing")),
        Some(v) => parse_response_type(v)
            .map_err(|code| err(code, "only response_type code or id_token is supported"))?,
    };
    if !client.response_types.contains(&response_type) {
        return Err(err(
            ErrorCode::UnauthorizedClient,
            "the client may not use this response_type",
        ));
    }
    let response_mode = match single("response_mode")? {
        None => response_type.default_mode(),
        Some(v) => match ResponseMode::from_name(v) {
            None => return Err(err(ErrorCode::InvalidRequest, "unsupported response_mode")),
            Some(ResponseMode::Query) if response_type == ResponseType::IdToken => {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "response_mode query is not allowed for id_token",
                ))
            }
            Some(mode) => mode,
        },
    };

    // 5. scope.
    let scopes = match single("scope")? {
        None => return Err(err(ErrorCode::InvalidScope, "scope is missing")),
        Some(v) => {
            Scopes::parse(v).ok_or_else(|| err(ErrorCode::InvalidScope, "malformed scope"))?
        }
    };
    if scopes.is_empty() {
        return Err(err(ErrorCode::InvalidScope, "scope is missing"));
    }
    if !scopes.all_in(&client.allowed_scopes) {
        return Err(err(
            ErrorCode::InvalidScope,
            "a requested scope is not allowed for this client",
        ));
    }
    if response_type == ResponseType::IdToken && !scopes.contains(Scope::openid().as_str()) {
        return Err(err(
            ErrorCode::InvalidScope,
            "response_type id_token requires the openid scope",
        ));
    }

    // 6. nonce.
    let nonce = single("nonce")?.map(Nonce::new);
    if response_type == ResponseType::IdToken && nonce.is_none() {
        return Err(err(
            ErrorCode::InvalidRequest,
            "nonce is required for response_type id_token",
        ));
    }

    // 7. PKCE.
    let method = single("code_challenge_method")?;
    let challenge = single("code_challenge")?;
    let code_challenge = match (challenge, method) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(err(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ))
        }
        (Some(_), None) | (Some(_), Some("plain")) => {
            return Err(err(
                ErrorCode::InvalidRequest,
                "PKCE method plain is not allowed; use S256",
            ))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(err(
                ErrorCode::InvalidRequest,
                "unsupported code_challenge_method; use S256",
            ))
        }
        (Some(c), Some(_)) => {
            if !PkceChallenge::is_well_formed(c) {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "code_challenge must be 43 base64url characters",
                ));
            }
            Some(PkceChallenge::new(c))
        }
    };
    let code_challenge = match response_type {
        ResponseType::Code => {
            if client.public && code_challenge.is_none() {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "PKCE (code_challenge with S256) is required for public clients",
                ));
            }
            code_challenge
        }
        // No code is issued; a challenge would bind nothing.
        ResponseType::IdToken => None,
    };

    // 8. prompt, max_age, acr_values, claims, hints.
    let prompt = match single("prompt")? {
        None => None,
        Some(v) => {
            let values: Vec<&str> = v.split(' ').filter(|s| !s.is_empty()).collect();
            if values.contains(&"none") && values.len() > 1 {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "prompt none cannot be combined with other values",
                ));
            }
            if values.contains(&"none") {
                Some(Prompt::None)
            } else if values.contains(&"login") {
                Some(Prompt::Login)
            } else {
                None
            }
        }
    };
    let max_age = match single("max_age")? {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            err(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })?),
    };
    let acr_values: Vec<String> = single("acr_values")?
        .map(|v| {
            v.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let (claims_acr, claims_amr) = match single("claims")? {
        None => (None, None),
        Some(v) => {
            let json: serde_json::Value = serde_json::from_str(v)
                .map_err(|_| err(ErrorCode::InvalidRequest, "claims is not valid JSON"))?;
            if !json.is_object() {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "claims must be a JSON object",
                ));
            }
            let acr =
                requested_claim(&json, "acr").map_err(|d| err(ErrorCode::InvalidRequest, d))?;
            let amr =
                requested_claim(&json, "amr").map_err(|d| err(ErrorCode::InvalidRequest, d))?;
            (acr, amr)
        }
    };
    let id_token_hint = single("id_token_hint")?.map(str::to_owned);
    let login_hint = single("login_hint")?.map(str::to_owned);

    Ok(ValidatedAuthorizationRequest {
        client_id,
        redirect_uri,
        response_type,
        response_mode,
        scopes,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        acr_values,
        claims_acr,
        claims_amr,
        id_token_hint,
        login_hint,
    })
}

/// Reads `claims.id_token.<name>` of a `claims` parameter (OIDC Core 5.5.1): `null` (a plain
/// request) or an object with optional `essential`, `value` and `values`.
pub(crate) fn requested_claim(
    claims: &serde_json::Value,
    name: &str,
) -> Result<Option<RequestedClaim>, &'static str> {
    let Some(id_token) = claims.get("id_token") else {
        return Ok(None);
    };
    if !id_token.is_object() {
        return Err("claims.id_token must be an object");
    }
    let Some(entry) = id_token.get(name) else {
        return Ok(None);
    };
    if entry.is_null() {
        return Ok(Some(RequestedClaim::default()));
    }
    let Some(obj) = entry.as_object() else {
        return Err("a claim request must be null or an object");
    };
    let essential = match obj.get("essential") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err("essential must be a boolean"),
    };
    let mut values = Vec::new();
    match obj.get("value") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(s)) => values.push(s.clone()),
        Some(_) => return Err("claim value must be a string"),
    }
    match obj.get("values") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Array(a)) => {
            for v in a {
                let s = v.as_str().ok_or("claim values must be strings")?;
                if !values.iter().any(|x| x == s) {
                    values.push(s.to_owned());
                }
            }
        }
        Some(_) => return Err("claim values must be an array"),
    }
    Ok(Some(RequestedClaim { essential, values }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::types::PkceVerifier;

    const CB: &str = "https://app.example.com/cb";

    fn client() -> ClientRegistration {
        let mut c = ClientRegistration::confidential("app", vec![CB.to_owned()], "h".to_owned());
        c.allowed_scopes = vec!["openid".into(), "profile".into()];
        c.response_types = vec![ResponseType::Code, ResponseType::IdToken];
        c
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn base() -> Vec<(String, String)> {
        params(&[
            ("client_id", "app"),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "st"),
        ])
    }

    fn with(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p = base();
        for (k, v) in extra {
            p.retain(|(pk, _)| pk != k);
            p.push(((*k).to_owned(), (*v).to_owned()));
        }
        p
    }

    fn code_of(r: Result<ValidatedAuthorizationRequest, AuthorizeError>) -> (ErrorCode, bool) {
        let e = r.unwrap_err();
        (e.code, e.is_redirectable())
    }

    #[test]
    fn happy_code_flow() {
        let r = validate_authorization_request(&base(), &client()).unwrap();
        assert_eq!(r.response_type, ResponseType::Code);
        assert_eq!(r.response_mode, ResponseMode::Query);
        assert_eq!(r.state.as_ref().unwrap().as_str(), "st");
        let issuer = Issuer::parse("https://idp.example.com").unwrap();
        let code = AuthorizationCode::new("c0de");
        let url = r.code_response(&code, &issuer).redirect_url().unwrap();
        assert_eq!(
            url,
            "https://app.example.com/cb?code=c0de&state=st&iss=https%3A%2F%2Fidp.example.com"
        );
    }

    #[test]
    fn redirect_uri_exact_match_table() {
        let mut c = client();
        c.redirect_uris
            .push("https://app.example.com/cb2?x=1".into());
        let cases: &[(&str, bool)] = &[
            (CB, true),
            ("https://app.example.com/cb2?x=1", true),
            ("https://app.example.com/cb/", false), // trailing slash
            ("https://app.example.com/cb/evil", false), // prefix
            ("https://app.example.com/c", false),   // shorter
            ("https://APP.example.com/cb", false),  // host case
            ("https://app.example.com/CB", false),  // path case
            ("HTTPS://app.example.com/cb", false),  // scheme case
            ("https://app.example.com/cb?x=1", false), // query added
            ("https://app.example.com/cb2?x=2", false), // query changed
            ("https://app.example.com/cb2", false), // query removed
            ("https://app.example.com/cb#frag", false), // fragment
            ("https://app.example.com:443/cb", false), // explicit port
            ("https://app.example.com/./cb", false), // dot segment
            ("https://app.example.com%2Fcb", false), // encoding
            ("https://app.example.com.evil.net/cb", false), // look-alike host
            ("http://app.example.com/cb", false),   // scheme downgrade
        ];
        for (uri, ok) in cases {
            let r = validate_authorization_request(&with(&[("redirect_uri", uri)]), &c);
            assert_eq!(r.is_ok(), *ok, "{uri}");
            if let Err(e) = r {
                assert!(!e.is_redirectable(), "{uri} must not be redirected to");
            }
        }
        // Missing, repeated, or wrong client: page errors.
        let mut missing = base();
        missing.retain(|(k, _)| k != "redirect_uri");
        assert_eq!(
            code_of(validate_authorization_request(&missing, &c)),
            (ErrorCode::InvalidRequest, false)
        );
        let mut dup = base();
        dup.push(("redirect_uri".into(), CB.into()));
        assert_eq!(
            code_of(validate_authorization_request(&dup, &c)),
            (ErrorCode::InvalidRequest, false)
        );
        let other = with(&[("client_id", "other")]);
        assert_eq!(
            code_of(validate_authorization_request(&other, &c)),
            (ErrorCode::InvalidRequest, false)
        );
    }

    #[test]
    fn redirectable_errors_carry_state_and_mode() {
        let e = validate_authorization_request(&with(&[("response_type", "token")]), &client())
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedResponseType);
        let issuer = Issuer::parse("https://idp.example.com").unwrap();
        let url = e.redirect_url(&issuer).unwrap();
        assert!(url.starts_with("https://app.example.com/cb?error=unsupported_response_type"));
        assert!(url.contains("state=st"));
        assert!(url.contains("iss="));
        // id_token errors use the fragment.
        let e = validate_authorization_request(&with(&[("response_type", "id_token")]), &client())
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest); // nonce missing
        assert!(e
            .redirect_url(&issuer)
            .unwrap()
            .contains("#error=invalid_request"));
    }

    #[test]
    fn parameter_table() {
        let c = client();
        let cases: &[(&[(&str, &str)], ErrorCode)] = &[
            (
                &[("response_type", "code id_token")],
                ErrorCode::UnsupportedResponseType,
            ),
            (
                &[("response_type", "id_token token")],
                ErrorCode::UnsupportedResponseType,
            ),
            (
                &[("response_mode", "web_message")],
                ErrorCode::InvalidRequest,
            ),
            (&[("scope", "openid admin")], ErrorCode::InvalidScope),
            (&[("scope", "op\"enid")], ErrorCode::InvalidScope),
            (
                &[
                    ("response_type", "id_token"),
                    ("nonce", "n"),
                    ("scope", "profile"),
                ],
                ErrorCode::InvalidScope,
            ),
            (
                &[
                    ("response_type", "id_token"),
                    ("nonce", "n"),
                    ("response_mode", "query"),
                ],
                ErrorCode::InvalidRequest,
            ),
            (&[("prompt", "none login")], ErrorCode::InvalidRequest),
            (&[("max_age", "-1")], ErrorCode::InvalidRequest),
            (&[("claims", "{not json")], ErrorCode::InvalidRequest),
            (
                &[("claims", r#"{"id_token":{"acr":{"values":"x"}}}"#)],
                ErrorCode::InvalidRequest,
            ),
            (&[("request", "eyJ...")], ErrorCode::RequestNotSupported),
            (
                &[("request_uri", "https://evil/x")],
                ErrorCode::RequestUriNotSupported,
            ),
        ];
        for (extra, code) in cases {
            let e = validate_authorization_request(&with(extra), &c).unwrap_err();
            assert_eq!(e.code, *code, "{extra:?}");
            assert!(e.is_redirectable(), "{extra:?}");
        }
        let mut no_rt = base();
        no_rt.retain(|(k, _)| k != "response_type");
        assert_eq!(
            code_of(validate_authorization_request(&no_rt, &c)),
            (ErrorCode::InvalidRequest, true)
        );
        let mut dup_state = base();
        dup_state.push(("state".into(), "other".into()));
        let e = validate_authorization_request(&dup_state, &c).unwrap_err();
        assert!(e.is_redirectable() && e.redirect.unwrap().state.is_none());
        // A client without id_token permission.
        let mut code_only = client();
        code_only.response_types = vec![ResponseType::Code];
        let e = validate_authorization_request(
            &with(&[("response_type", "id_token"), ("nonce", "n")]),
            &code_only,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::UnauthorizedClient);
    }

    type PkceCase<'a> = (&'a [(&'a str, &'a str)], Option<ErrorCode>);

    #[test]
    fn pkce_table() {
        let verifier = PkceVerifier::new("a".repeat(43));
        let good = PkceChallenge::s256(&verifier);
        let mut public = ClientRegistration::public("app", vec![CB.to_owned()]);
        public.allowed_scopes = vec!["openid".into()];
        let cases: &[PkceCase] = &[
            (&[], Some(ErrorCode::InvalidRequest)), // missing for public
            (
                &[("code_challenge", good.as_str())],
                Some(ErrorCode::InvalidRequest),
            ), // implicit plain
            (
                &[
                    ("code_challenge", good.as_str()),
                    ("code_challenge_method", "plain"),
                ],
                Some(ErrorCode::InvalidRequest),
            ),
            (
                &[
                    ("code_challenge", good.as_str()),
                    ("code_challenge_method", "S512"),
                ],
                Some(ErrorCode::InvalidRequest),
            ),
            (
                &[
                    ("code_challenge", "short"),
                    ("code_challenge_method", "S256"),
                ],
                Some(ErrorCode::InvalidRequest),
            ),
            (
                &[("code_challenge_method", "S256")],
                Some(ErrorCode::InvalidRequest),
            ),
            (
                &[
                    ("code_challenge", good.as_str()),
                    ("code_challenge_method", "S256"),
                ],
                None,
            ),
        ];
        for (extra, want) in cases {
            let r = validate_authorization_request(&with(extra), &public);
            match want {
                None => assert_eq!(r.unwrap().code_challenge.as_ref(), Some(&good)),
                Some(code) => assert_eq!(r.unwrap_err().code, *code, "{extra:?}"),
            }
        }
        // Confidential clients may omit PKCE.
        assert!(validate_authorization_request(&base(), &client())
            .unwrap()
            .code_challenge
            .is_none());
    }

    #[test]
    fn implicit_with_claims_and_hints() {
        let r = validate_authorization_request(
            &with(&[
                ("response_type", "id_token"),
                ("response_mode", "form_post"),
                ("nonce", "n-1"),
                ("prompt", "login consent"),
                ("max_age", "300"),
                ("acr_values", "possession  knowledge"),
                ("claims", r#"{"id_token":{"acr":{"essential":true,"values":["possessionorinherence"]},"amr":{"values":["otp","fido"]}}}"#),
                ("id_token_hint", "a.b.c"),
                ("login_hint", "alice@example.com"),
                ("client-request-id", "ignored"),
            ]),
            &client(),
        )
        .unwrap();
        assert_eq!(r.response_mode, ResponseMode::FormPost);
        assert_eq!(r.prompt, Some(Prompt::Login));
        assert_eq!(r.max_age, Some(300));
        assert!(r.acr_is_essential());
        assert_eq!(
            r.requested_acr_values(),
            ["possessionorinherence", "possession", "knowledge"]
        );
        assert_eq!(r.claims_amr.as_ref().unwrap().values, ["otp", "fido"]);
        assert_eq!(r.id_token_hint.as_deref(), Some("a.b.c"));
        let issuer = Issuer::parse("https://idp.example.com").unwrap();
        let resp = r.id_token_response("tok", &issuer);
        assert!(resp.redirect_url().is_none());
        assert_eq!(resp.params[0], ("id_token".to_owned(), "tok".to_owned()));
        // Fragment is the id_token default.
        let r = validate_authorization_request(
            &with(&[("response_type", "id_token"), ("nonce", "n")]),
            &client(),
        )
        .unwrap();
        assert_eq!(r.response_mode, ResponseMode::Fragment);
        assert_eq!(r.login_required().code, ErrorCode::LoginRequired);
        assert!(r.login_required().is_redirectable());
        // prompt=none
        let r = validate_authorization_request(&with(&[("prompt", "none")]), &client()).unwrap();
        assert_eq!(r.prompt, Some(Prompt::None));
    }

    #[test]
    fn random_parameters_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let names = [
            "client_id",
            "redirect_uri",
            "response_type",
            "response_mode",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "prompt",
            "max_age",
            "acr_values",
            "claims",
            "id_token_hint",
            "request",
        ];
        let values = [
            "",
            "app",
            CB,
            "code",
            "id_token",
            "query",
            "form_post",
            "openid",
            "none login",
            "S256",
            "plain",
            "{\"id_token\":{\"acr\":null}}",
            "{\"id_token\":5}",
            "-1",
            "é\u{0}",
        ];
        for _ in 0..3000 {
            let mut p = base();
            for _ in 0..rng.gen_range(0..6) {
                p.push((
                    names[rng.gen_range(0..names.len())].to_owned(),
                    values[rng.gen_range(0..values.len())].to_owned(),
                ));
            }
            if rng.gen_bool(0.3) {
                let i = rng.gen_range(0..p.len());
                p.remove(i);
            }
            if let Err(e) = validate_authorization_request(&p, &client()) {
                if let Some(r) = &e.redirect {
                    assert_eq!(r.redirect_uri.as_str(), CB);
                }
            }
        }
    }

    #[test]
    fn empty_values_count_as_absent() {
        let r = validate_authorization_request(&with(&[("state", ""), ("nonce", "")]), &client())
            .unwrap();
        assert!(r.state.is_none() && r.nonce.is_none());
    }
}
