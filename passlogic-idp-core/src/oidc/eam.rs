//! The Microsoft Entra ID External Authentication Method (EAM) profile: the provider acts as
//! the second factor Entra calls during a Conditional Access "require MFA" sign-in
//! (research/federation.md section 2; Microsoft's "external method provider reference" \[E1\]).
//!
//! The flow is an OIDC implicit request (`response_type=id_token`, `response_mode=form_post`)
//! POSTed by the browser:
//!
//! 1. [`validate_eam_request`] parses the form (`redirect_uri`, or `redirect_url` as the doc's
//!    table names it: both are accepted), checks `client_id` and the redirect URI against
//!    [`EamConfig`] (page errors until both are good), and verifies the `id_token_hint` Entra
//!    signed ([`validate_id_token_hint`]): signature (RS256, Entra's JWKS), issuer and audience
//!    fully, expiry deliberately not.
//! 2. The server authenticates the user it linked to the hint's `oid` + `tid` (Microsoft's
//!    advice; or, when [`EamConfig::link_claim`] is set, the user named by that claim, given in
//!    [`EntraHint::link_value`]) with one PassLogic factor, within Entra's ~10 minute window.
//! 3. [`EamRequest::respond`] builds and signs the id_token: `sub` = the hint's `sub`, the
//!    request's `nonce`, exactly one `acr` chosen from the requested values
//!    ([`select_acr`]), `amr` a one-element array. Or, on failure, [`EamRequest::deny`] gives
//!    the `error=access_denied` form values.
//!
//! Signing uses the key set's active key, which must be RS256 with a certificate: Entra only
//! supports RS256 and requires `x5c` on every JWK.
//!
//! ```no_run
//! # use passlogic_idp_core::oidc::eam::{self, EamConfig};
//! # use passlogic_idp_core::oidc::types::{parse_form, Issuer};
//! # fn demo(config: &EamConfig, body: &str, keys: &passlogic_idp_core::oidc::keys::SigningKeySet,
//! #         now: time::OffsetDateTime) -> Result<(), Box<dyn std::error::Error>> {
//! let params = parse_form(body).ok_or("bad form")?;
//! let request = eam::validate_eam_request(&params, config)?;
//! // ... authenticate request.hint.oid / request.hint.tid's linked user with an OTP ...
//! let issuer = Issuer::parse("https://idp.example.com")?;
//! let response = request.respond(&issuer, "otp", keys, now, time::Duration::minutes(5))?;
//! // POST response.form_values to response.redirect_uri.
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::authorize::requested_claim;
use super::claims::{Audience, IdTokenClaims};
use super::discovery::EAM_ACR_VALUES;
use super::error::{EamError, EamErrorKind, ErrorRedirect, KeyError};
use super::jose::{self, Algorithm, Jwks};
use super::keys::SigningKeySet;
use super::types::{ClientId, Issuer, Nonce, RedirectUri, ResponseMode, State};

/// The redirect URIs Entra uses (global, US Government, China clouds).
pub const ENTRA_REDIRECT_URIS: &[&str] = &[
    "https://login.microsoftonline.com/common/federation/externalauthprovider",
    "https://login.microsoftonline.us/common/federation/externalauthprovider",
    "https://login.partner.microsoftonline.cn/common/federation/externalauthprovider",
];

/// Entra v2 issuer templates; `{tenantid}` is replaced by the hint's `tid` before an exact
/// comparison.
pub const ENTRA_ISSUER_TEMPLATES: &[&str] = &[
    "https://login.microsoftonline.com/{tenantid}/v2.0",
    "https://login.microsoftonline.us/{tenantid}/v2.0",
    "https://login.partner.microsoftonline.cn/{tenantid}/v2.0",
];

/// `amr` values Entra maps to the possession factor type.
pub const POSSESSION_AMR: &[&str] = &["fido", "hwk", "otp", "pop", "sc", "sms", "swk", "tel"];

/// `amr` values Entra maps to the inherence factor type.
pub const INHERENCE_AMR: &[&str] = &["face", "fpt", "iris", "retina", "vbm"];

/// How the provider is registered with Entra.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EamConfig {
    /// The client id the provider issued to Entra (entered in "Add external method").
    pub client_id: ClientId,
    /// Accepted redirect URIs (default: [`ENTRA_REDIRECT_URIS`]), exact match.
    pub redirect_uris: Vec<String>,
    /// Accepted hint issuers, exact or with `{tenantid}` (default: [`ENTRA_ISSUER_TEMPLATES`]).
    pub allowed_issuers: Vec<String>,
    /// Accepted tenants (`tid`); empty means any tenant whose hint verifies.
    pub allowed_tenants: Vec<String>,
    /// Accepted hint audiences: the provider's Entra app registration id (configurable
    /// because the docs and samples disagree, research/federation.md 2d).
    pub expected_audiences: Vec<String>,
    /// Entra's signing keys (from `https://login.microsoftonline.com/common/discovery/v2.0/keys`
    /// or the tenant's keys URL), fetched and cached by the server.
    pub entra_keys: Jwks,
    /// The hint claim that names the local user when it is not linked by `oid` + `tid`
    /// (e.g. `preferred_username`): its value is copied to [`EntraHint::link_value`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_claim: Option<String>,
}

impl EamConfig {
    /// A configuration with Microsoft's default redirect URIs and issuers.
    pub fn new(client_id: impl Into<String>, app_id: impl Into<String>, entra_keys: Jwks) -> Self {
        Self {
            client_id: ClientId::new(client_id),
            redirect_uris: ENTRA_REDIRECT_URIS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            allowed_issuers: ENTRA_ISSUER_TEMPLATES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            allowed_tenants: Vec::new(),
            expected_audiences: vec![app_id.into()],
            entra_keys,
            link_claim: None,
        }
    }
}

/// What a verified `id_token_hint` says about the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntraHint {
    /// `sub` (pairwise per app): copied into the response.
    pub sub: String,
    /// `oid`: the user's object id; link accounts with `oid` + `tid`.
    pub oid: String,
    /// `tid`: the tenant id.
    pub tid: String,
    /// `preferred_username`, if present.
    pub preferred_username: Option<String>,
    /// `name`, if present.
    pub name: Option<String>,
    /// `iss` (already checked).
    pub iss: String,
    /// The value of [`EamConfig::link_claim`] in the hint, when configured and a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_value: Option<String>,
}

/// A validated EAM request. Serde data: keep it with the sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EamRequest {
    /// The client id Entra sent (equal to the configured one).
    pub client_id: ClientId,
    /// The validated redirect URI.
    pub redirect_uri: RedirectUri,
    /// The nonce to return.
    pub nonce: Nonce,
    /// The state to return, if sent.
    pub state: Option<State>,
    /// The requested `acr` values (`claims.id_token.acr.values`), in order.
    pub requested_acr: Vec<String>,
    /// The acceptable `amr` values (`claims.id_token.amr.values`), in order.
    pub requested_amr: Vec<String>,
    /// The verified hint.
    pub hint: EntraHint,
    /// Entra's `client-request-id` (a GUID): log it for support cases.
    pub client_request_id: Option<String>,
}

/// The successful answer: POST `form_values` to `redirect_uri` (auto-submitting form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EamResponse {
    /// Entra's redirect URI.
    pub redirect_uri: RedirectUri,
    /// `id_token` and, if one was sent, `state`.
    pub form_values: Vec<(String, String)>,
    /// The claims that were signed (for the audit log).
    pub claims: IdTokenClaims,
}

fn one<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ()> {
    let mut it = params.iter().filter(|(k, _)| k == name);
    let first = it.next();
    if it.next().is_some() {
        return Err(());
    }
    Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
}

fn page(kind: EamErrorKind) -> EamError {
    EamError {
        kind,
        redirect: None,
    }
}

/// Validates Entra's form-POSTed authorization request (see module docs). Unknown parameters
/// are ignored, as Entra asks.
pub fn validate_eam_request(
    params: &[(String, String)],
    config: &EamConfig,
) -> Result<EamRequest, EamError> {
    let invalid = |d| page(EamErrorKind::InvalidRequest(d));
    let client_id = one(params, "client_id")
        .map_err(|_| invalid("client_id is repeated"))?
        .ok_or_else(|| invalid("client_id is missing"))?;
    if client_id != config.client_id.as_str() {
        return Err(page(EamErrorKind::UnknownClient));
    }
    // The reference's parameter table says `redirect_url`, its example `redirect_uri`.
    let uri = one(params, "redirect_uri").map_err(|_| invalid("redirect_uri is repeated"))?;
    let url = one(params, "redirect_url").map_err(|_| invalid("redirect_url is repeated"))?;
    let redirect = match (uri, url) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid("redirect_uri and redirect_url differ"))
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => return Err(invalid("redirect_uri is missing")),
    };
    if !config.redirect_uris.iter().any(|r| r == redirect) {
        return Err(page(EamErrorKind::RedirectNotAllowed));
    }
    let redirect_uri = RedirectUri::new(redirect);
    let state_result = one(params, "state");
    let state = state_result.ok().flatten().map(State::new);
    let deny = |kind| EamError {
        kind,
        redirect: Some(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            response_mode: ResponseMode::FormPost,
            state: state.clone(),
        }),
    };
    let bad = |d| deny(EamErrorKind::InvalidRequest(d));
    if state_result.is_err() {
        return Err(bad("state is repeated"));
    }
    let get = |name, repeated| one(params, name).map_err(|_| bad(repeated));

    if get("response_type", "response_type is repeated")? != Some("id_token") {
        return Err(bad("response_type must be id_token"));
    }
    match get("response_mode", "response_mode is repeated")? {
        None | Some("form_post") => {}
        Some(_) => return Err(bad("response_mode must be form_post")),
    }
    let scope = get("scope", "scope is repeated")?.unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(bad("scope must include openid"));
    }
    let nonce = get("nonce", "nonce is repeated")?.ok_or_else(|| bad("nonce is missing"))?;
    let hint = get("id_token_hint", "id_token_hint is repeated")?
        .ok_or_else(|| bad("id_token_hint is missing"))?;
    let (requested_acr, requested_amr) = match get("claims", "claims is repeated")? {
        None => (Vec::new(), Vec::new()),
        Some(text) => {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|_| bad("claims is not valid JSON"))?;
            let acr = requested_claim(&json, "acr").map_err(bad)?;
            let amr = requested_claim(&json, "amr").map_err(bad)?;
            (
                acr.map(|c| c.values).unwrap_or_default(),
                amr.map(|c| c.values).unwrap_or_default(),
            )
        }
    };
    let client_request_id =
        get("client-request-id", "client-request-id is repeated")?.map(str::to_owned);
    let hint = validate_id_token_hint(hint, config).map_err(deny)?;
    Ok(EamRequest {
        client_id: config.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        nonce: Nonce::new(nonce),
        state: state.clone(),
        requested_acr,
        requested_amr,
        hint,
        client_request_id,
    })
}

fn is_tenant_id(tid: &str) -> bool {
    !tid.is_empty()
        && tid.len() <= 64
        && tid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Verifies Entra's `id_token_hint`: RS256 signature by a key of `config.entra_keys`, `iss`
/// one of `config.allowed_issuers` (with the hint's own `tid` substituted for `{tenantid}`),
/// the tenant allowed, `aud` one of `config.expected_audiences`; `sub`, `oid` and `tid`
/// present.
///
/// `exp` (and `nbf`) are deliberately **not** enforced: Entra issues the hint already expired
/// on purpose, and Microsoft's reference says to validate it fully except for its lifetime
/// (research/federation.md 2d, \[E1\] with the 2024 "validate fully" note \[E3\]; generic OIDC
/// libraries that insist on `exp` reject every genuine hint \[E7\]). The hint proves who Entra
/// is asking about; freshness comes from Entra's own nonce/state round trip, which it checks
/// on the response.
pub fn validate_id_token_hint(hint: &str, config: &EamConfig) -> Result<EntraHint, EamErrorKind> {
    let verified = jose::verify_jws(
        hint,
        &config.entra_keys.verifying_keys(),
        &[Algorithm::Rs256],
    )
    .map_err(EamErrorKind::HintSignature)?;
    let claims = verified
        .claims_json()
        .map_err(EamErrorKind::HintSignature)?;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let tid = text("tid").ok_or(EamErrorKind::HintClaimMissing("tid"))?;
    let iss = text("iss").ok_or(EamErrorKind::HintIssuer)?;
    let issuer_ok = is_tenant_id(tid)
        && config.allowed_issuers.iter().any(|allowed| {
            if allowed.contains("{tenantid}") {
                allowed.replace("{tenantid}", tid) == iss
            } else {
                allowed == iss
            }
        });
    if !issuer_ok {
        return Err(EamErrorKind::HintIssuer);
    }
    if !config.allowed_tenants.is_empty() && !config.allowed_tenants.iter().any(|t| t == tid) {
        return Err(EamErrorKind::HintIssuer);
    }
    let aud_ok = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => config.expected_audiences.contains(a),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str())
            .any(|a| config.expected_audiences.iter().any(|e| e == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(EamErrorKind::HintAudience);
    }
    Ok(EntraHint {
        sub: text("sub")
            .ok_or(EamErrorKind::HintClaimMissing("sub"))?
            .to_owned(),
        oid: text("oid")
            .ok_or(EamErrorKind::HintClaimMissing("oid"))?
            .to_owned(),
        tid: tid.to_owned(),
        preferred_username: text("preferred_username").map(str::to_owned),
        name: text("name").map(str::to_owned),
        iss: iss.to_owned(),
        link_value: config
            .link_claim
            .as_deref()
            .and_then(text)
            .map(str::to_owned),
    })
}

/// The Entra factor type (`possession` or `inherence`) of an `amr` value.
pub fn factor_type(amr: &str) -> Option<&'static str> {
    if POSSESSION_AMR.contains(&amr) {
        Some("possession")
    } else if INHERENCE_AMR.contains(&amr) {
        Some("inherence")
    } else {
        None
    }
}

/// Chooses the single `acr` to return: the first requested value that is a known EAM `acr`
/// and includes the factor type of `amr` (e.g. `otp` is possession, which satisfies
/// `possessionorinherence`). With no requested values, the factor type itself. The method must
/// also be among the requested `amr` values when Entra listed any.
pub fn select_acr(
    requested_acr: &[String],
    requested_amr: &[String],
    amr: &str,
) -> Result<String, EamErrorKind> {
    let factor = factor_type(amr).ok_or(EamErrorKind::AmrNotAcceptable)?;
    if !requested_amr.is_empty() && !requested_amr.iter().any(|a| a == amr) {
        return Err(EamErrorKind::AmrNotAcceptable);
    }
    if requested_acr.is_empty() {
        return Ok(factor.to_owned());
    }
    requested_acr
        .iter()
        .find(|acr| EAM_ACR_VALUES.contains(&acr.as_str()) && acr.contains(factor))
        .cloned()
        .ok_or(EamErrorKind::AcrNotSatisfiable)
}

impl EamRequest {
    /// The failure answer: form values `error=access_denied`, a description and `state`.
    pub fn deny(&self, kind: EamErrorKind) -> EamError {
        EamError {
            kind,
            redirect: Some(ErrorRedirect {
                redirect_uri: self.redirect_uri.clone(),
                response_mode: ResponseMode::FormPost,
                state: self.state.clone(),
            }),
        }
    }

    /// The response id_token claims for a user who passed the method `amr` (e.g. `otp`):
    /// `iss`, `sub` = the hint's `sub`, `aud` = the client id, `exp`, `iat`, `nonce`, exactly
    /// one `acr` ([`select_acr`]) and `amr: [amr]`.
    pub fn response_claims(
        &self,
        issuer: &Issuer,
        amr: &str,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<IdTokenClaims, EamError> {
        let acr =
            select_acr(&self.requested_acr, &self.requested_amr, amr).map_err(|k| self.deny(k))?;
        Ok(IdTokenClaims {
            iss: issuer.as_str().to_owned(),
            sub: self.hint.sub.clone(),
            aud: Audience::One(self.client_id.as_str().to_owned()),
            exp: (now + lifetime).unix_timestamp(),
            iat: now.unix_timestamp(),
            auth_time: None,
            nonce: Some(self.nonce.as_str().to_owned()),
            acr: Some(acr),
            amr: Some(vec![amr.to_owned()]),
            azp: None,
            at_hash: None,
            extra: serde_json::Map::new(),
        })
    }

    /// Builds and signs the response with the active key (RS256 with a certificate, else
    /// [`KeyError::Unsuitable`]).
    pub fn respond(
        &self,
        issuer: &Issuer,
        amr: &str,
        keys: &SigningKeySet,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<EamResponse, EamRespondError> {
        let claims = self.response_claims(issuer, amr, now, lifetime)?;
        let key = keys.require_active(now)?;
        if key.alg() != Algorithm::Rs256 {
            return Err(KeyError::Unsuitable("Entra accepts RS256 only").into());
        }
        if !key.has_certificate() {
            return Err(KeyError::Unsuitable("Entra requires x5c on every JWK").into());
        }
        let id_token = jose::sign_claims(&claims, key).map_err(KeyError::from)?;
        let mut form_values = vec![("id_token".to_owned(), id_token)];
        if let Some(state) = &self.state {
            form_values.push(("state".to_owned(), state.as_str().to_owned()));
        }
        Ok(EamResponse {
            redirect_uri: self.redirect_uri.clone(),
            form_values,
            claims,
        })
    }
}

/// Why [`EamRequest::respond`] failed: the request cannot be satisfied (answer with the
/// error's form values), or the provider's keys are unusable (a server fault: answer
/// `temporarily_unavailable` or show an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EamRespondError {
    /// The request cannot be satisfied with this method.
    #[error(transparent)]
    Request(#[from] EamError),
    /// No suitable signing key.
    #[error(transparent)]
    Key(#[from] KeyError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jose::tests::{ec_key, rsa_key, self_signed};
    use crate::oidc::jose::{verify_jws, SigningKey};
    use crate::oidc::types::parse_form;

    const APP_ID: &str = "bbbbbbbb-0000-4000-8000-000000000002";
    const CLIENT: &str = "passlogic-eam-test-client";
    const TID: &str = "aaaaaaaa-0000-4000-8000-000000000001";

    fn fixture(name: &str) -> String {
        let path = format!("{}/../fixtures/oidc/eam/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn entra_key() -> SigningKey {
        SigningKey::from_pem(
            "TEST-ONLY-entra-kid-1",
            Algorithm::Rs256,
            fixture("entra-test-only-key.pem").as_bytes(),
        )
        .unwrap()
    }

    fn config() -> EamConfig {
        EamConfig::new(
            CLIENT,
            APP_ID,
            Jwks::from_json(&fixture("entra-jwks.json")).unwrap(),
        )
    }

    fn request_params() -> Vec<(String, String)> {
        parse_form(fixture("entra-request.form").trim()).unwrap()
    }

    fn hint_claims() -> serde_json::Value {
        serde_json::from_str(&fixture("entra-id-token-hint-claims.json")).unwrap()
    }

    fn with_hint(hint: &str) -> Vec<(String, String)> {
        let mut p = request_params();
        for (k, v) in &mut p {
            if k == "id_token_hint" {
                *v = hint.to_owned();
            }
        }
        p
    }

    fn our_keys(now: OffsetDateTime) -> (SigningKey, SigningKeySet) {
        let key = rsa_key("idp-1");
        let key = key
            .clone()
            .with_certificates(vec![self_signed(&key)])
            .unwrap();
        (key.clone(), SigningKeySet::new(key, now))
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_225_300).unwrap()
    }

    #[test]
    fn fixture_request_to_expected_response() {
        let req = validate_eam_request(&request_params(), &config()).unwrap();
        assert_eq!(req.hint.sub, hint_claims()["sub"]);
        assert_eq!(req.hint.oid, "cccccccc-0000-4000-8000-000000000003");
        assert_eq!(req.hint.tid, TID);
        assert_eq!(
            req.hint.preferred_username.as_deref(),
            Some("test.user@contoso.example")
        );
        assert_eq!(
            req.client_request_id.as_deref(),
            Some("dddddddd-0000-4000-8000-000000000004")
        );
        assert_eq!(req.requested_acr, ["possessionorinherence"]);
        assert_eq!(req.requested_amr.len(), 13);

        let issuer = Issuer::parse("https://idp.example.test").unwrap();
        let (key, keys) = our_keys(now());
        let resp = req
            .respond(&issuer, "otp", &keys, now(), Duration::seconds(300))
            .unwrap();
        assert_eq!(resp.redirect_uri.as_str(), ENTRA_REDIRECT_URIS[0]);
        assert_eq!(resp.form_values.len(), 2);
        assert_eq!(resp.form_values[0].0, "id_token");
        assert_eq!(
            resp.form_values[1],
            (
                "state".to_owned(),
                "AwABEgEAAAADAOz_BQD0_TEST_STATE".to_owned()
            )
        );
        let token = &resp.form_values[0].1;
        let verified = verify_jws(token, &[key.verifying_key()], &[Algorithm::Rs256]).unwrap();
        assert_eq!(verified.header().kid.as_deref(), Some("idp-1"));
        let got = serde_json::Value::Object(verified.claims_json().unwrap());
        let expected: serde_json::Value =
            serde_json::from_str(&fixture("expected-response-claims.json")).unwrap();
        assert_eq!(got, expected, "response claims must be exactly the fixture");
        assert_eq!(got["amr"].as_array().unwrap().len(), 1);
        // The JWKS we publish carries x5c, as Entra requires.
        let jwks = keys.jwks(now()).unwrap();
        assert!(jwks.keys.iter().all(|k| k.x5c.is_some()));
    }

    #[test]
    fn fixture_hint_matches_claims_file_and_is_expired() {
        let v = verify_jws(
            &request_params()
                .iter()
                .find(|(k, _)| k == "id_token_hint")
                .unwrap()
                .1,
            &config().entra_keys.verifying_keys(),
            &[Algorithm::Rs256],
        )
        .unwrap();
        let claims = serde_json::Value::Object(v.claims_json().unwrap());
        assert_eq!(claims, hint_claims());
        // Expired before "now": accepted anyway (see validate_id_token_hint).
        assert!(claims["exp"].as_i64().unwrap() < now().unix_timestamp());
    }

    fn sign_hint(key: &SigningKey, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut claims = hint_claims();
        edit(&mut claims);
        jose::sign_claims(&claims, key).unwrap()
    }

    #[test]
    fn hint_refusals() {
        let cfg = config();
        let cases: Vec<(&str, String, EamErrorKind)> = vec![
            (
                "wrong key, same kid",
                sign_hint(
                    &SigningKey::from_pkey(
                        "TEST-ONLY-entra-kid-1",
                        Algorithm::Rs256,
                        openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap())
                            .unwrap(),
                    )
                    .unwrap(),
                    |_| {},
                ),
                EamErrorKind::HintSignature(jose::JoseError::BadSignature),
            ),
            (
                "unknown kid",
                sign_hint(&rsa_key("other-kid"), |_| {}),
                EamErrorKind::HintSignature(jose::JoseError::UnknownKey),
            ),
            (
                "ES256 not allowed",
                sign_hint(&ec_key("TEST-ONLY-entra-kid-1"), |_| {}),
                EamErrorKind::HintSignature(jose::JoseError::AlgorithmNotAllowed("ES256".into())),
            ),
            (
                "other issuer",
                sign_hint(&entra_key(), |c| {
                    c["iss"] = "https://evil.example/v2.0".into()
                }),
                EamErrorKind::HintIssuer,
            ),
            (
                "issuer of another tenant than tid",
                sign_hint(&entra_key(), |c| {
                    c["iss"] = "https://login.microsoftonline.com/ffffffff-0000-4000-8000-000000000009/v2.0".into()
                }),
                EamErrorKind::HintIssuer,
            ),
            (
                "v1 issuer",
                sign_hint(&entra_key(), |c| {
                    c["iss"] = format!("https://sts.windows.net/{TID}/").into()
                }),
                EamErrorKind::HintIssuer,
            ),
            (
                "wrong audience",
                sign_hint(&entra_key(), |c| {
                    c["aud"] = "00000003-0000-0000-c000-000000000000".into()
                }),
                EamErrorKind::HintAudience,
            ),
            (
                "no oid",
                sign_hint(&entra_key(), |c| {
                    c.as_object_mut().unwrap().remove("oid");
                }),
                EamErrorKind::HintClaimMissing("oid"),
            ),
        ];
        for (what, hint, kind) in cases {
            let e = validate_eam_request(&with_hint(&hint), &cfg).unwrap_err();
            assert_eq!(e.kind, kind, "{what}");
            let form = e
                .form_values()
                .expect("redirectable after redirect_uri check");
            assert_eq!(form[0], ("error".to_owned(), "access_denied".to_owned()));
            assert_eq!(form.last().unwrap().0, "state");
        }
        // alg none.
        let b64 = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        };
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","kid":"TEST-ONLY-entra-kid-1"}"#),
            b64(&hint_claims().to_string())
        );
        assert!(matches!(
            validate_eam_request(&with_hint(&none), &cfg)
                .unwrap_err()
                .kind,
            EamErrorKind::HintSignature(jose::JoseError::AlgorithmRefused(_))
        ));
        // Restricting tenants.
        let mut only_other = cfg.clone();
        only_other.allowed_tenants = vec!["someone-else".into()];
        assert_eq!(
            validate_eam_request(&request_params(), &only_other)
                .unwrap_err()
                .kind,
            EamErrorKind::HintIssuer
        );
        // Audience is configurable.
        let mut other_aud = cfg.clone();
        other_aud.expected_audiences = vec![CLIENT.into()];
        assert_eq!(
            validate_eam_request(&request_params(), &other_aud)
                .unwrap_err()
                .kind,
            EamErrorKind::HintAudience
        );
    }

    #[test]
    fn expired_hint_accepted_and_redirect_url_alias() {
        let hint = sign_hint(&entra_key(), |c| {
            c["exp"] = 1_000_000_000.into();
            c["nbf"] = 999_999_000.into();
        });
        let mut params = with_hint(&hint);
        for (k, _) in &mut params {
            if k == "redirect_uri" {
                *k = "redirect_url".into();
            }
        }
        let req = validate_eam_request(&params, &config()).unwrap();
        assert_eq!(req.redirect_uri.as_str(), ENTRA_REDIRECT_URIS[0]);
    }

    #[test]
    fn page_errors_before_redirect_is_trusted() {
        let cfg = config();
        let edit = |name: &str, value: Option<&str>| {
            let mut p = request_params();
            p.retain(|(k, _)| k != name);
            if let Some(v) = value {
                p.push((name.to_owned(), v.to_owned()));
            }
            p
        };
        for (params, kind) in [
            (
                edit("client_id", Some("other")),
                EamErrorKind::UnknownClient,
            ),
            (
                edit("client_id", None),
                EamErrorKind::InvalidRequest("client_id is missing"),
            ),
            (
                edit("redirect_uri", Some("https://evil.example/cb")),
                EamErrorKind::RedirectNotAllowed,
            ),
            (
                edit(
                    "redirect_uri",
                    Some(
                        "https://login.microsoftonline.com/common/federation/externalauthprovider/",
                    ),
                ),
                EamErrorKind::RedirectNotAllowed,
            ),
            (
                edit("redirect_uri", None),
                EamErrorKind::InvalidRequest("redirect_uri is missing"),
            ),
        ] {
            let e = validate_eam_request(&params, &cfg).unwrap_err();
            assert_eq!(e.kind, kind);
            assert!(e.form_values().is_none());
        }
        // Both names, different values.
        let mut p = request_params();
        p.push(("redirect_url".into(), ENTRA_REDIRECT_URIS[1].into()));
        assert!(validate_eam_request(&p, &cfg)
            .unwrap_err()
            .form_values()
            .is_none());
        // After the redirect is trusted: access_denied with state.
        for (name, value) in [
            ("nonce", None),
            ("response_type", Some("code")),
            ("response_mode", Some("query")),
            ("scope", Some("profile")),
            ("id_token_hint", None),
            ("claims", Some("{")),
        ] {
            let e = validate_eam_request(&edit(name, value), &cfg).unwrap_err();
            assert!(matches!(e.kind, EamErrorKind::InvalidRequest(_)), "{name}");
            assert!(e.form_values().is_some(), "{name}");
        }
    }

    #[test]
    fn acr_selection() {
        let req = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            select_acr(&req(&["possessionorinherence"]), &[], "otp").unwrap(),
            "possessionorinherence"
        );
        assert_eq!(
            select_acr(&req(&["knowledge", "knowledgeorpossession"]), &[], "otp").unwrap(),
            "knowledgeorpossession"
        );
        assert_eq!(
            select_acr(&req(&["inherence"]), &[], "otp").unwrap_err(),
            EamErrorKind::AcrNotSatisfiable
        );
        assert_eq!(
            select_acr(&req(&["possessionorinherence"]), &[], "face").unwrap(),
            "possessionorinherence"
        );
        assert_eq!(
            select_acr(&req(&["possession"]), &[], "pwd").unwrap_err(),
            EamErrorKind::AmrNotAcceptable
        );
        assert_eq!(
            select_acr(&req(&["possession"]), &req(&["fido"]), "otp").unwrap_err(),
            EamErrorKind::AmrNotAcceptable
        );
        assert_eq!(select_acr(&[], &[], "otp").unwrap(), "possession");
        // Deny keeps state and the redirect.
        let r = validate_eam_request(&request_params(), &config()).unwrap();
        let e = r.deny(EamErrorKind::AccessDenied);
        assert_eq!(e.form_values().unwrap()[0].1, "access_denied");
        let e = r
            .response_claims(
                &Issuer::parse("https://idp.example.test").unwrap(),
                "pwd",
                now(),
                Duration::minutes(5),
            )
            .unwrap_err();
        assert!(e.form_values().is_some());
    }

    #[test]
    fn respond_requires_rs256_with_certificate() {
        let req = validate_eam_request(&request_params(), &config()).unwrap();
        let issuer = Issuer::parse("https://idp.example.test").unwrap();
        let no_cert = SigningKeySet::new(rsa_key("k"), now());
        assert!(matches!(
            req.respond(&issuer, "otp", &no_cert, now(), Duration::minutes(5)),
            Err(EamRespondError::Key(KeyError::Unsuitable(_)))
        ));
        let ec = SigningKeySet::new(ec_key("k"), now());
        assert!(matches!(
            req.respond(&issuer, "otp", &ec, now(), Duration::minutes(5)),
            Err(EamRespondError::Key(KeyError::Unsuitable(_)))
        ));
    }
}
