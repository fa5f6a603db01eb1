//! The token endpoint's state: authorization codes and their grants, PKCE, refresh-token
//! families, `client_credentials` ([RFC 6749] sections 4.1, 4.4, 6; [RFC 7636]; [RFC 9700]
//! section 4.14).
//!
//! All of it is pure state the caller stores:
//!
//! - [`issue_code`] returns the code (256 random bits, sent once to the client) and a
//!   [`CodeGrant`] to store under [`AuthorizationCode::lookup_key`]. [`redeem_code`] checks the
//!   grant against the token request and marks it redeemed; the caller must store that change
//!   with an atomic compare-and-set (two server nodes must not both redeem one code). A second
//!   presentation is refused with [`TokenErrorAction::RevokeCodeGrant`] so the caller revokes
//!   what the first one produced (RFC 6749 section 4.1.2).
//! - Refresh tokens rotate on every use. A [`RefreshFamily`] remembers the current generation;
//!   presenting an older one means a token was copied, so the whole family is revoked
//!   ([`TokenErrorAction::RefreshFamilyRevoked`], RFC 9700 section 4.14.2).
//!
//! ```
//! use passlogic_idp_core::oidc::token::verify_pkce;
//! use passlogic_idp_core::oidc::types::{PkceChallenge, PkceVerifier};
//! // RFC 7636 appendix B.
//! let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
//! let challenge = PkceChallenge::new("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
//! assert!(verify_pkce(&verifier, &challenge));
//! ```
//!
//! [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
//! [RFC 9700]: https://www.rfc-editor.org/rfc/rfc9700

use core::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::authorize::ValidatedAuthorizationRequest;
use super::claims::UserAuthentication;
use super::error::{ErrorCode, TokenError, TokenErrorAction};
use super::types::{
    lookup_key, random_token, AccessToken, AuthorizationCode, ClientId, ClientRegistration,
    GrantType, Nonce, PkceChallenge, PkceVerifier, RedirectUri, RefreshToken, Scopes,
};

/// Default authorization code lifetime: 60 seconds.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::seconds(60);

/// Default access token lifetime: 10 minutes.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(10);

/// Checks a PKCE verifier against an S256 challenge: the verifier must be 43 to 128 characters
/// of the unreserved set, and base64url(SHA-256(verifier)) must equal the challenge (compared
/// in constant time).
pub fn verify_pkce(verifier: &PkceVerifier, challenge: &PkceChallenge) -> bool {
    if !verifier.is_well_formed() {
        return false;
    }
    let computed = PkceChallenge::s256(verifier);
    bool::from(
        computed
            .as_str()
            .as_bytes()
            .ct_eq(challenge.as_str().as_bytes()),
    )
}

/// What an authorization code stands for. Stored by the caller under the code's lookup key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// Random id of this grant; also the id of the refresh family started from it.
    pub grant_id: String,
    /// Lookup key of the code (base64url SHA-256), re-checked at redemption.
    pub code_hash: String,
    /// The client the code was issued to.
    pub client_id: ClientId,
    /// The redirect URI of the authorization request.
    pub redirect_uri: RedirectUri,
    /// The user and how they authenticated.
    pub user: UserAuthentication,
    /// The authorization request's nonce.
    pub nonce: Option<Nonce>,
    /// The PKCE challenge, if one was sent.
    pub code_challenge: Option<PkceChallenge>,
    /// Granted scopes.
    pub scopes: Scopes,
    /// When the code expires.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    /// When the code was redeemed; `Some` makes any further use a replay.
    #[serde(with = "time::serde::timestamp::option", default)]
    pub redeemed_at: Option<OffsetDateTime>,
}

/// Issues an authorization code for a validated `code` request and an authenticated user.
pub fn issue_code(
    request: &ValidatedAuthorizationRequest,
    user: &UserAuthentication,
    now: OffsetDateTime,
    lifetime: Duration,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> (AuthorizationCode, CodeGrant) {
    let code = AuthorizationCode::generate(rng);
    let grant = CodeGrant {
        grant_id: random_token(rng),
        code_hash: code.lookup_key(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        user: user.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        scopes: request.scopes.clone(),
        expires_at: now + lifetime,
        redeemed_at: None,
    };
    (code, grant)
}

/// A parsed token request (the grant part; client authentication is
/// [`crate::oidc::client_auth`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenRequest {
    /// `grant_type=authorization_code`.
    AuthorizationCode {
        /// The code.
        code: AuthorizationCode,
        /// `redirect_uri`, required because authorization requests always carry one.
        redirect_uri: Option<String>,
        /// `code_verifier`.
        code_verifier: Option<PkceVerifier>,
    },
    /// `grant_type=refresh_token`.
    RefreshToken {
        /// The refresh token.
        refresh_token: RefreshToken,
        /// A narrower scope, if requested.
        scope: Option<Scopes>,
    },
    /// `grant_type=client_credentials`.
    ClientCredentials {
        /// Requested scope.
        scope: Option<Scopes>,
    },
}

impl TokenRequest {
    /// Parses the form parameters of a token request. Repeated parameters are
    /// `invalid_request`; unknown grant types `unsupported_grant_type`.
    pub fn parse(params: &[(String, String)]) -> Result<Self, TokenError> {
        let one = |name: &str| -> Result<Option<&str>, TokenError> {
            let mut it = params.iter().filter(|(k, _)| k == name);
            let first = it.next();
            if it.next().is_some() {
                return Err(TokenError::invalid_request(format!("{name} is repeated")));
            }
            Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
        };
        let scope = |v: Option<&str>| -> Result<Option<Scopes>, TokenError> {
            v.map(|s| {
                Scopes::parse(s)
                    .ok_or_else(|| TokenError::new(ErrorCode::InvalidScope, "malformed scope"))
            })
            .transpose()
        };
        match one("grant_type")? {
            None => Err(TokenError::invalid_request("grant_type is missing")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: AuthorizationCode::new(
                    one("code")?.ok_or_else(|| TokenError::invalid_request("code is missing"))?,
                ),
                redirect_uri: one("redirect_uri")?.map(str::to_owned),
                code_verifier: one("code_verifier")?.map(PkceVerifier::new),
            }),
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: RefreshToken::new(
                    one("refresh_token")?
                        .ok_or_else(|| TokenError::invalid_request("refresh_token is missing"))?,
                ),
                scope: scope(one("scope")?)?,
            }),
            Some("client_credentials") => Ok(Self::ClientCredentials {
                scope: scope(one("scope")?)?,
            }),
            Some(_) => Err(TokenError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            )),
        }
    }
}

fn require_grant_type(client: &ClientRegistration, grant: GrantType) -> Result<(), TokenError> {
    if client.grant_types.contains(&grant) {
        Ok(())
    } else {
        Err(TokenError::new(
            ErrorCode::UnauthorizedClient,
            format!("the client may not use grant_type {}", grant.as_str()),
        ))
    }
}

/// Redeems an authorization code. `grant` is what the caller found under the presented
/// code's lookup key, `client` the client authenticated for this request.
///
/// Checks, in order: the code matches the grant; not already redeemed (else `invalid_grant`
/// with [`TokenErrorAction::RevokeCodeGrant`]); the client may use the grant type; same client;
/// not expired; `redirect_uri` present and identical; PKCE (a verifier is required iff a
/// challenge was sent, RFC 9700 section 4.8.2). On success `grant.redeemed_at` is set: store
/// it atomically before answering.
pub fn redeem_code(
    grant: &mut CodeGrant,
    request: &TokenRequest,
    client: &ClientRegistration,
    now: OffsetDateTime,
) -> Result<(), TokenError> {
    let TokenRequest::AuthorizationCode {
        code,
        redirect_uri,
        code_verifier,
    } = request
    else {
        return Err(TokenError::invalid_request(
            "not an authorization_code request",
        ));
    };
    let presented = lookup_key(code.secret());
    if !bool::from(presented.as_bytes().ct_eq(grant.code_hash.as_bytes())) {
        return Err(TokenError::invalid_grant("unknown authorization code"));
    }
    if grant.redeemed_at.is_some() {
        return Err(TokenError {
            code: ErrorCode::InvalidGrant,
            description: "authorization code already used".to_owned(),
            action: TokenErrorAction::RevokeCodeGrant {
                grant_id: grant.grant_id.clone(),
            },
        });
    }
    require_grant_type(client, GrantType::AuthorizationCode)?;
    if grant.client_id != client.client_id {
        return Err(TokenError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if now >= grant.expires_at {
        return Err(TokenError::invalid_grant("authorization code expired"));
    }
    match redirect_uri {
        None => return Err(TokenError::invalid_request("redirect_uri is missing")),
        Some(uri) if uri != grant.redirect_uri.as_str() => {
            return Err(TokenError::invalid_grant("redirect_uri does not match"))
        }
        Some(_) => {}
    }
    match (&grant.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) => {
            if !verify_pkce(verifier, challenge) {
                return Err(TokenError::invalid_grant("PKCE verification failed"));
            }
        }
        (Some(_), None) => return Err(TokenError::invalid_grant("code_verifier is missing")),
        (None, Some(_)) => {
            return Err(TokenError::invalid_grant(
                "code_verifier sent but no code_challenge was",
            ))
        }
        (None, None) => {
            if client.public {
                return Err(TokenError::invalid_grant("PKCE is required"));
            }
        }
    }
    grant.redeemed_at = Some(now);
    Ok(())
}

/// A chain of rotating refresh tokens from one authorization. Presenting any generation but
/// the current one revokes the chain.
///
/// Token format: `{family id}.{generation}.{43 random characters}`; only the current token's
/// lookup key is stored. An older generation cannot be checked against a stored hash, so any
/// token naming this family with an older generation revokes it: family ids are 256-bit random
/// values that appear only inside refresh tokens, so knowing one means holding a copied token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    /// Family id (the [`CodeGrant::grant_id`] it came from).
    pub id: String,
    /// The client it belongs to.
    pub client_id: ClientId,
    /// The user and original authentication.
    pub user: UserAuthentication,
    /// Scopes granted (refreshes may narrow, never widen).
    pub scopes: Scopes,
    /// Generation of the current token (starts at 0).
    pub current_generation: u64,
    /// Lookup key of the current token.
    pub current_hash: String,
    /// Revoked (reuse detected, logout, admin action).
    pub revoked: bool,
    /// Absolute expiry of the family.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

/// Starts a refresh family from a redeemed code grant; returns the first token.
pub fn start_refresh_family(
    grant: &CodeGrant,
    now: OffsetDateTime,
    lifetime: Duration,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> (RefreshToken, RefreshFamily) {
    let token = refresh_token_value(&grant.grant_id, 0, rng);
    let family = RefreshFamily {
        id: grant.grant_id.clone(),
        client_id: grant.client_id.clone(),
        user: grant.user.clone(),
        scopes: grant.scopes.clone(),
        current_generation: 0,
        current_hash: lookup_key(token.secret()),
        revoked: false,
        expires_at: now + lifetime,
    };
    (token, family)
}

fn refresh_token_value(
    family_id: &str,
    generation: u64,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> RefreshToken {
    RefreshToken::new(format!("{family_id}.{generation}.{}", random_token(rng)))
}

/// The family id inside a refresh token, for the caller's lookup. `None` if malformed.
pub fn refresh_family_id(token: &RefreshToken) -> Option<&str> {
    parse_refresh(token).map(|(id, _, _)| id)
}

fn parse_refresh(token: &RefreshToken) -> Option<(&str, u64, &str)> {
    let mut it = token.secret().split('.');
    let (Some(id), Some(generation), Some(rand), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return None;
    };
    if id.is_empty() || rand.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((id, generation.parse().ok()?, rand))
}

/// Exchanges the presented refresh token for the next one and returns it with the effective
/// scopes. Older generation: the family is marked revoked (store it!) and `invalid_grant`
/// with [`TokenErrorAction::RefreshFamilyRevoked`] is returned.
pub fn rotate_refresh(
    family: &mut RefreshFamily,
    presented: &RefreshToken,
    client: &ClientRegistration,
    requested_scope: Option<&Scopes>,
    now: OffsetDateTime,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<(RefreshToken, Scopes), TokenError> {
    let Some((id, generation, _)) = parse_refresh(presented) else {
        return Err(TokenError::invalid_grant("malformed refresh token"));
    };
    if id != family.id {
        return Err(TokenError::invalid_grant("unknown refresh token"));
    }
    if family.revoked {
        return Err(TokenError::invalid_grant("refresh token revoked"));
    }
    if generation < family.current_generation {
        family.revoked = true;
        return Err(TokenError {
            code: ErrorCode::InvalidGrant,
            description: "refresh token reused; the session is revoked".to_owned(),
            action: TokenErrorAction::RefreshFamilyRevoked {
                family_id: family.id.clone(),
            },
        });
    }
    let hash = lookup_key(presented.secret());
    if generation > family.current_generation
        || !bool::from(hash.as_bytes().ct_eq(family.current_hash.as_bytes()))
    {
        return Err(TokenError::invalid_grant("unknown refresh token"));
    }
    require_grant_type(client, GrantType::RefreshToken)?;
    if client.client_id != family.client_id {
        return Err(TokenError::invalid_grant(
            "the refresh token belongs to another client",
        ));
    }
    if now >= family.expires_at {
        return Err(TokenError::invalid_grant("refresh token expired"));
    }
    let scopes = match requested_scope {
        Some(s) if !s.is_subset_of(&family.scopes) => {
            return Err(TokenError::new(
                ErrorCode::InvalidScope,
                "scope exceeds the original grant",
            ))
        }
        Some(s) if !s.is_empty() => s.clone(),
        _ => family.scopes.clone(),
    };
    let next = family.current_generation + 1;
    let token = refresh_token_value(&family.id, next, rng);
    family.current_generation = next;
    family.current_hash = lookup_key(token.secret());
    Ok((token, scopes))
}

/// Authorizes a `client_credentials` request: confidential clients registered for the grant
/// only (`unauthorized_client` otherwise); requested scopes must be allowed and may not be
/// user scopes (`openid`, `offline_access`).
pub fn authorize_client_credentials(
    client: &ClientRegistration,
    requested: Option<&Scopes>,
) -> Result<Scopes, TokenError> {
    if client.public {
        return Err(TokenError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    require_grant_type(client, GrantType::ClientCredentials)?;
    let scopes = requested.cloned().unwrap_or_default();
    if scopes.contains("openid") || scopes.contains("offline_access") {
        return Err(TokenError::new(
            ErrorCode::InvalidScope,
            "user scopes are not available without a user",
        ));
    }
    if !scopes.all_in(&client.allowed_scopes) {
        return Err(TokenError::new(
            ErrorCode::InvalidScope,
            "a requested scope is not allowed for this client",
        ));
    }
    Ok(scopes)
}

/// What an opaque access token grants; stored by the caller under
/// [`AccessToken::lookup_key`] for UserInfo and introspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenGrant {
    /// The client.
    pub client_id: ClientId,
    /// The user (`None` for `client_credentials`).
    pub user: Option<UserAuthentication>,
    /// Scopes.
    pub scopes: Scopes,
    /// The refresh family / code grant it came from, for revocation.
    pub grant_id: Option<String>,
    /// Expiry.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

impl AccessTokenGrant {
    /// Whether the token is usable at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

/// Issues an opaque access token.
pub fn issue_access_token(
    client_id: &ClientId,
    user: Option<&UserAuthentication>,
    scopes: &Scopes,
    grant_id: Option<&str>,
    now: OffsetDateTime,
    lifetime: Duration,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> (AccessToken, AccessTokenGrant) {
    (
        AccessToken::generate(rng),
        AccessTokenGrant {
            client_id: client_id.clone(),
            user: user.cloned(),
            scopes: scopes.clone(),
            grant_id: grant_id.map(str::to_owned),
            expires_at: now + lifetime,
        },
    )
}

/// A successful token response (RFC 6749 section 5.1). `Debug` hides the tokens.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The next refresh token, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, for `openid` requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The granted scope.
    pub scope: String,
}

impl TokenResponse {
    /// Builds the response.
    pub fn new(
        access_token: &AccessToken,
        lifetime: Duration,
        refresh_token: Option<&RefreshToken>,
        id_token: Option<String>,
        scopes: &Scopes,
    ) -> Self {
        Self {
            access_token: access_token.secret().to_owned(),
            token_type: "Bearer",
            expires_in: lifetime.whole_seconds(),
            refresh_token: refresh_token.map(|t| t.secret().to_owned()),
            id_token,
            scope: scopes.to_string(),
        }
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::authorize::validate_authorization_request;
    use crate::oidc::types::Subject;
    use rand::SeedableRng;

    const CB: &str = "https://app.example.com/cb";

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(9)
    }

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    fn user() -> UserAuthentication {
        UserAuthentication {
            sub: Subject::new("u1"),
            auth_time: t0(),
            acr: None,
            amr: vec!["pwd".into(), "otp".into()],
        }
    }

    fn public_client() -> ClientRegistration {
        ClientRegistration::public("spa", vec![CB.to_owned()])
    }

    fn confidential() -> ClientRegistration {
        ClientRegistration::confidential("app", vec![CB.to_owned()], "h".into())
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn grant_for(
        client: &ClientRegistration,
        verifier: Option<&PkceVerifier>,
    ) -> (AuthorizationCode, CodeGrant) {
        let challenge = verifier.map(PkceChallenge::s256);
        let mut p = vec![
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("scope", "openid"),
        ];
        if let Some(c) = &challenge {
            p.push(("code_challenge", c.as_str()));
            p.push(("code_challenge_method", "S256"));
        }
        let req = validate_authorization_request(&pairs(&p), client).unwrap();
        issue_code(&req, &user(), t0(), DEFAULT_CODE_LIFETIME, &mut rng())
    }

    fn code_request(
        code: &AuthorizationCode,
        uri: Option<&str>,
        verifier: Option<&str>,
    ) -> TokenRequest {
        let mut p = vec![
            ("grant_type", "authorization_code"),
            ("code", code.secret()),
        ];
        if let Some(u) = uri {
            p.push(("redirect_uri", u));
        }
        if let Some(v) = verifier {
            p.push(("code_verifier", v));
        }
        TokenRequest::parse(&pairs(&p)).unwrap()
    }

    #[test]
    fn pkce_rfc7636_vector_and_format() {
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let c = PkceChallenge::new("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(verify_pkce(&v, &c));
        assert!(!verify_pkce(
            &PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"),
            &c
        ));
        // Too short, too long, bad characters: refused even if the hash matched.
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{}+", "a".repeat(43)),
        ] {
            let v = PkceVerifier::new(bad);
            assert!(!verify_pkce(&v, &PkceChallenge::s256(&v)));
        }
        let v = PkceVerifier::new("~._-".repeat(32));
        assert!(verify_pkce(&v, &PkceChallenge::s256(&v)));
    }

    type RedeemCase<'a> = (Option<&'a str>, Option<&'a str>, Result<(), ErrorCode>);

    #[test]
    fn code_redemption_pkce_table() {
        let good = PkceVerifier::new("G".repeat(50));
        let client = public_client();
        let (code, grant) = grant_for(&client, Some(&good));
        let cases: &[RedeemCase] = &[
            (Some(CB), Some(good.secret()), Ok(())),
            (Some(CB), None, Err(ErrorCode::InvalidGrant)), // verifier missing
            (
                Some(CB),
                Some(&"H".repeat(50)),
                Err(ErrorCode::InvalidGrant),
            ), // wrong verifier
            (Some(CB), Some("short"), Err(ErrorCode::InvalidGrant)), // malformed
            (
                Some("https://app.example.com/cb/"),
                Some(good.secret()),
                Err(ErrorCode::InvalidGrant),
            ),
            (None, Some(good.secret()), Err(ErrorCode::InvalidRequest)),
        ];
        for (uri, verifier, want) in cases {
            let mut g = grant.clone();
            let r = redeem_code(&mut g, &code_request(&code, *uri, *verifier), &client, t0());
            assert_eq!(r.map_err(|e| e.code), *want, "{uri:?} {verifier:?}");
            assert_eq!(g.redeemed_at.is_some(), want.is_ok());
        }
        // Verifier sent though no challenge was (downgrade).
        let conf = confidential();
        let (code, mut grant) = grant_for(&conf, None);
        let r = redeem_code(
            &mut grant,
            &code_request(&code, Some(CB), Some(good.secret())),
            &conf,
            t0(),
        );
        assert_eq!(r.unwrap_err().code, ErrorCode::InvalidGrant);
        redeem_code(
            &mut grant,
            &code_request(&code, Some(CB), None),
            &conf,
            t0(),
        )
        .unwrap();
    }

    #[test]
    fn code_replay_expiry_and_client_binding() {
        let client = confidential();
        let (code, mut grant) = grant_for(&client, None);
        let req = code_request(&code, Some(CB), None);
        // Expired.
        let mut g = grant.clone();
        let e = redeem_code(&mut g, &req, &client, t0() + DEFAULT_CODE_LIFETIME).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        // Another client.
        let mut other = confidential();
        other.client_id = ClientId::new("other");
        let e = redeem_code(&mut grant.clone(), &req, &other, t0()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        // A different code against this grant.
        let wrong = code_request(&AuthorizationCode::new("nope"), Some(CB), None);
        assert_eq!(
            redeem_code(&mut grant.clone(), &wrong, &client, t0())
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
        // First use succeeds, second is a replay that asks for revocation.
        redeem_code(&mut grant, &req, &client, t0()).unwrap();
        let stored = serde_json::to_string(&grant).unwrap();
        let mut reloaded: CodeGrant = serde_json::from_str(&stored).unwrap();
        let e =
            redeem_code(&mut reloaded, &req, &client, t0() + Duration::seconds(30)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        assert_eq!(
            e.action,
            TokenErrorAction::RevokeCodeGrant {
                grant_id: grant.grant_id.clone()
            }
        );
        // A client not registered for the grant type.
        let mut no_code = confidential();
        no_code.grant_types = vec![GrantType::ClientCredentials];
        let (code, mut grant) = grant_for(&no_code, None);
        let e = redeem_code(
            &mut grant,
            &code_request(&code, Some(CB), None),
            &no_code,
            t0(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::UnauthorizedClient);
    }

    #[test]
    fn token_request_parsing() {
        let e = TokenRequest::parse(&pairs(&[("grant_type", "password")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
        let e = TokenRequest::parse(&pairs(&[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e = TokenRequest::parse(&pairs(&[
            ("grant_type", "authorization_code"),
            ("code", "a"),
            ("code", "b"),
        ]))
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e = TokenRequest::parse(&pairs(&[("grant_type", "authorization_code")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let r = TokenRequest::parse(&pairs(&[
            ("grant_type", "authorization_code"),
            ("code", "sekrit"),
        ]))
        .unwrap();
        assert!(!format!("{r:?}").contains("sekrit"));
    }

    #[test]
    fn refresh_rotation_and_reuse_revokes_family() {
        let client = confidential();
        let (code, mut grant) = grant_for(&client, None);
        redeem_code(
            &mut grant,
            &code_request(&code, Some(CB), None),
            &client,
            t0(),
        )
        .unwrap();
        let mut r = rng();
        let (rt0, mut family) = start_refresh_family(&grant, t0(), Duration::days(30), &mut r);
        assert_eq!(refresh_family_id(&rt0), Some(family.id.as_str()));
        let (rt1, scopes) = rotate_refresh(&mut family, &rt0, &client, None, t0(), &mut r).unwrap();
        assert_eq!(scopes.to_string(), "openid");
        assert_eq!(family.current_generation, 1);
        let (rt2, _) = rotate_refresh(&mut family, &rt1, &client, None, t0(), &mut r).unwrap();
        // A forged current-generation token is refused without revoking.
        let forged = RefreshToken::new(format!("{}.2.{}", family.id, "A".repeat(43)));
        assert_eq!(
            rotate_refresh(&mut family, &forged, &client, None, t0(), &mut r)
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
        assert!(!family.revoked);
        // Replaying rt0 (stolen copy) revokes everything.
        let e = rotate_refresh(&mut family, &rt0, &client, None, t0(), &mut r).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        assert_eq!(
            e.action,
            TokenErrorAction::RefreshFamilyRevoked {
                family_id: family.id.clone()
            }
        );
        assert!(family.revoked);
        // Even the legitimate latest token is now dead.
        let e = rotate_refresh(&mut family, &rt2, &client, None, t0(), &mut r).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
    }

    #[test]
    fn refresh_scope_client_and_expiry() {
        let mut client = confidential();
        client.allowed_scopes.push("profile".into());
        let (_, grant) = grant_for(&client, None);
        let mut r = rng();
        let (rt, mut family) = start_refresh_family(&grant, t0(), Duration::days(1), &mut r);
        let wider = Scopes::parse("openid profile").unwrap();
        let e = rotate_refresh(
            &mut family.clone(),
            &rt,
            &client,
            Some(&wider),
            t0(),
            &mut r,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidScope);
        let mut other = client.clone();
        other.client_id = ClientId::new("other");
        let e = rotate_refresh(&mut family.clone(), &rt, &other, None, t0(), &mut r).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        let e = rotate_refresh(
            &mut family.clone(),
            &rt,
            &client,
            None,
            t0() + Duration::days(1),
            &mut r,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        assert!(rotate_refresh(
            &mut family,
            &RefreshToken::new("garbage"),
            &client,
            None,
            t0(),
            &mut r
        )
        .is_err());
        assert!(!family.revoked);
    }

    #[test]
    fn client_credentials_rules() {
        let mut conf = confidential();
        conf.grant_types.push(GrantType::ClientCredentials);
        conf.allowed_scopes.push("api.read".into());
        let s = Scopes::parse("api.read").unwrap();
        assert_eq!(authorize_client_credentials(&conf, Some(&s)).unwrap(), s);
        let openid = Scopes::parse("openid").unwrap();
        assert_eq!(
            authorize_client_credentials(&conf, Some(&openid))
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        let admin = Scopes::parse("admin").unwrap();
        assert_eq!(
            authorize_client_credentials(&conf, Some(&admin))
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        let mut public = public_client();
        public.grant_types.push(GrantType::ClientCredentials);
        assert_eq!(
            authorize_client_credentials(&public, None)
                .unwrap_err()
                .code,
            ErrorCode::UnauthorizedClient
        );
        assert_eq!(
            authorize_client_credentials(&confidential(), None)
                .unwrap_err()
                .code,
            ErrorCode::UnauthorizedClient
        );
    }

    #[test]
    fn token_response_json_and_debug() {
        let mut r = rng();
        let at = AccessToken::generate(&mut r);
        let resp = TokenResponse::new(
            &at,
            DEFAULT_ACCESS_TOKEN_LIFETIME,
            None,
            Some("x.y.z".into()),
            &Scopes::parse("openid").unwrap(),
        );
        let json = serde_json::to_value(&resp).unwrap();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 600);
        assert!(json.get("refresh_token").is_none());
        assert!(!format!("{resp:?}").contains(at.secret()));
        let (_, g) = issue_access_token(
            &ClientId::new("app"),
            None,
            &Scopes::default(),
            None,
            t0(),
            Duration::minutes(1),
            &mut r,
        );
        assert!(g.is_active(t0()) && !g.is_active(t0() + Duration::minutes(1)));
    }
}
