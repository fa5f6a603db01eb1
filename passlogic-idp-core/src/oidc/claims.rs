//! ID token claims ([OIDC Core] section 2), `at_hash` (section 3.1.3.6 / 3.2.2.9) and the
//! UserInfo document (section 5.3).
//!
//! `acr` and `amr` come from the caller: the step pipeline's authentication context says which
//! methods were used and what assurance they reach ([`UserAuthentication`]). Nothing here
//! decides them.
//!
//! ```
//! use passlogic_idp_core::oidc::claims::{IdTokenParams, UserAuthentication};
//! use passlogic_idp_core::oidc::jose::Algorithm;
//! use passlogic_idp_core::oidc::types::{ClientId, Issuer, Nonce, Subject};
//! let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
//! let user = UserAuthentication {
//!     sub: Subject::new("u-42"), auth_time: now, acr: Some("possession".into()),
//!     amr: vec!["otp".into()],
//! };
//! let issuer = Issuer::parse("https://idp.example.com")?;
//! let client = ClientId::new("app");
//! let nonce = Nonce::new("n-0S6");
//! let claims = IdTokenParams::new(&issuer, &client, &user, now).nonce(Some(&nonce)).claims(Algorithm::Rs256);
//! assert_eq!(claims.exp, 1_700_000_300);
//! assert_eq!(claims.amr.as_deref(), Some(&["otp".to_owned()][..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [OIDC Core]: https://openid.net/specs/openid-connect-core-1_0.html

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use time::{Duration, OffsetDateTime};

use super::error::KeyError;
use super::jose::{self, Algorithm, SigningKey};
use super::keys::SigningKeySet;
use super::types::{AccessToken, ClientId, Issuer, Nonce, Scopes, Subject};

/// Default ID token lifetime: 5 minutes (it is consumed at once by the relying party).
pub const DEFAULT_ID_TOKEN_LIFETIME: Duration = Duration::minutes(5);

/// Who signed in, when and how; from the pipeline's authentication context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAuthentication {
    /// The subject identifier.
    pub sub: Subject,
    /// When the user authenticated.
    #[serde(with = "time::serde::timestamp")]
    pub auth_time: OffsetDateTime,
    /// The authentication context class reached, if any.
    pub acr: Option<String>,
    /// The methods used (RFC 8176 values, e.g. `otp`, `pwd`, `hwk`).
    pub amr: Vec<String>,
}

/// The `aud` claim: one string or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialised as a string.
    One(String),
    /// Several audiences, serialised as an array.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `value` is (one of) the audience(s).
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(a) => a == value,
            Self::Many(v) => v.iter().any(|a| a == value),
        }
    }
}

/// ID token claims. Optional members are omitted when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience (the client id, plus any extra audiences).
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Time of authentication, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The request's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Authentication context class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// Authorized party: the client id, set when there are several audiences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Access token hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Further claims (profile claims for responses without an access token).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The `at_hash` of an access token for a signing algorithm: base64url of the left half of
/// the hash the JWS algorithm uses: SHA-256 for RS256 and ES256; SHA-512 for EdDSA with
/// Ed25519 (OIDC Core errata set 2, which ties the hash to the curve).
pub fn at_hash(access_token: &AccessToken, alg: Algorithm) -> String {
    let bytes = access_token.secret().as_bytes();
    match alg {
        Algorithm::Rs256 | Algorithm::Es256 => {
            let h = Sha256::digest(bytes);
            URL_SAFE_NO_PAD.encode(&h[..16])
        }
        Algorithm::EdDsa => {
            let h = Sha512::digest(bytes);
            URL_SAFE_NO_PAD.encode(&h[..32])
        }
    }
}

/// Inputs of an ID token, with a small builder.
#[derive(Debug, Clone)]
pub struct IdTokenParams<'a> {
    issuer: &'a Issuer,
    client_id: &'a ClientId,
    user: &'a UserAuthentication,
    now: OffsetDateTime,
    lifetime: Duration,
    nonce: Option<&'a Nonce>,
    access_token: Option<&'a AccessToken>,
    extra_audiences: Vec<String>,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl<'a> IdTokenParams<'a> {
    /// An ID token for `client_id` about `user`, issued at `now`, living
    /// [`DEFAULT_ID_TOKEN_LIFETIME`].
    pub fn new(
        issuer: &'a Issuer,
        client_id: &'a ClientId,
        user: &'a UserAuthentication,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            issuer,
            client_id,
            user,
            now,
            lifetime: DEFAULT_ID_TOKEN_LIFETIME,
            nonce: None,
            access_token: None,
            extra_audiences: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }

    /// Sets the lifetime.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets the nonce (from the authorization request; required for implicit responses).
    pub fn nonce(mut self, nonce: Option<&'a Nonce>) -> Self {
        self.nonce = nonce;
        self
    }

    /// The access token issued alongside: adds `at_hash`.
    pub fn access_token(mut self, token: Option<&'a AccessToken>) -> Self {
        self.access_token = token;
        self
    }

    /// Extra audiences: `aud` becomes an array and `azp` is set to the client id.
    pub fn extra_audiences(mut self, audiences: Vec<String>) -> Self {
        self.extra_audiences = audiences;
        self
    }

    /// Extra claims (e.g. [`profile_claims`] when no access token is issued). Registered
    /// claim names in `extra` are ignored: the typed members win.
    pub fn extra_claims(mut self, extra: serde_json::Map<String, serde_json::Value>) -> Self {
        self.extra = extra;
        self
    }

    /// The claims for a token signed with `alg`.
    pub fn claims(&self, alg: Algorithm) -> IdTokenClaims {
        let (aud, azp) = if self.extra_audiences.is_empty() {
            (Audience::One(self.client_id.as_str().to_owned()), None)
        } else {
            let mut all = vec![self.client_id.as_str().to_owned()];
            for a in &self.extra_audiences {
                if !all.contains(a) {
                    all.push(a.clone());
                }
            }
            (
                Audience::Many(all),
                Some(self.client_id.as_str().to_owned()),
            )
        };
        let mut extra = self.extra.clone();
        for reserved in [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "azp",
            "at_hash",
        ] {
            extra.remove(reserved);
        }
        IdTokenClaims {
            iss: self.issuer.as_str().to_owned(),
            sub: self.user.sub.as_str().to_owned(),
            aud,
            exp: (self.now + self.lifetime).unix_timestamp(),
            iat: self.now.unix_timestamp(),
            auth_time: Some(self.user.auth_time.unix_timestamp()),
            nonce: self.nonce.map(|n| n.as_str().to_owned()),
            acr: self.user.acr.clone(),
            amr: if self.user.amr.is_empty() {
                None
            } else {
                Some(self.user.amr.clone())
            },
            azp,
            at_hash: self.access_token.map(|t| at_hash(t, alg)),
            extra,
        }
    }

    /// Builds the claims for the key set's active key at `now` and signs them.
    pub fn sign(&self, keys: &SigningKeySet) -> Result<String, KeyError> {
        let key = keys.require_active(self.now)?;
        Ok(sign_id_token(&self.claims(key.alg()), key)?)
    }
}

/// Signs ID token claims with `key` (header `typ: JWT`, `kid`, `alg`).
pub fn sign_id_token(claims: &IdTokenClaims, key: &SigningKey) -> Result<String, jose::JoseError> {
    jose::sign_claims(claims, key)
}

/// Profile attributes the directory holds for a user.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserProfile {
    /// Full name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Login name.
    pub preferred_username: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether the address was verified.
    pub email_verified: Option<bool>,
}

/// The claims `scopes` release from `profile`: `profile` gives the name claims and
/// `preferred_username`; `email` gives `email` and `email_verified` (OIDC Core 5.4).
pub fn profile_claims(
    scopes: &Scopes,
    profile: &UserProfile,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), v.clone().into());
        }
    };
    if scopes.contains("profile") {
        put("name", &profile.name);
        put("given_name", &profile.given_name);
        put("family_name", &profile.family_name);
        put("preferred_username", &profile.preferred_username);
    }
    if scopes.contains("email") {
        put("email", &profile.email);
        if let Some(v) = profile.email_verified {
            out.insert("email_verified".to_owned(), v.into());
        }
    }
    out
}

/// The UserInfo response: `sub` plus the claims the scopes release.
pub fn userinfo(sub: &Subject, scopes: &Scopes, profile: &UserProfile) -> serde_json::Value {
    let mut out = profile_claims(scopes, profile);
    out.insert("sub".to_owned(), sub.as_str().into());
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jose::tests::{ec_key, ed_key, rsa_key};
    use crate::oidc::jose::verify_jws;

    fn user(now: OffsetDateTime) -> UserAuthentication {
        UserAuthentication {
            sub: Subject::new("u1"),
            auth_time: now - Duration::seconds(30),
            acr: Some("possession".into()),
            amr: vec!["otp".into()],
        }
    }

    #[test]
    fn at_hash_known_answer() {
        // Expected values computed independently with Python's hashlib:
        // base64url(sha256(token)[:16]) and base64url(sha512(token)[:32]).
        let t = AccessToken::new("jHkWEdUXMU1BwAsC4vtUsZwnNMEbV3pRfwX7ZSfxZjo");
        assert_eq!(at_hash(&t, Algorithm::Rs256), "GvPtFhu9GGJlnJ-AY-UzyA");
        assert_eq!(at_hash(&t, Algorithm::Es256), "GvPtFhu9GGJlnJ-AY-UzyA");
        assert_eq!(
            at_hash(&t, Algorithm::EdDsa),
            "Eqw-_E9RCCbtnMw-r_6JDrmsk3zJlrsJtOydPeatVYw"
        );
    }

    #[test]
    fn claims_shape_and_signature() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let issuer = Issuer::parse("https://idp.example.com").unwrap();
        let client = ClientId::new("app");
        let u = user(now);
        let nonce = Nonce::new("n1");
        let at = AccessToken::new("tok");
        for key in [rsa_key("r"), ec_key("e"), ed_key("d")] {
            let set = SigningKeySet::new(key.clone(), now);
            let p = IdTokenParams::new(&issuer, &client, &u, now)
                .nonce(Some(&nonce))
                .access_token(Some(&at));
            let token = p.sign(&set).unwrap();
            let v = verify_jws(&token, &[key.verifying_key()], &[key.alg()]).unwrap();
            let json = v.claims_json().unwrap();
            assert_eq!(json["iss"], "https://idp.example.com");
            assert_eq!(json["aud"], "app");
            assert_eq!(json["sub"], "u1");
            assert_eq!(json["nonce"], "n1");
            assert_eq!(json["acr"], "possession");
            assert_eq!(json["amr"], serde_json::json!(["otp"]));
            assert_eq!(json["exp"], 1_700_000_300);
            assert_eq!(json["auth_time"], 1_699_999_970);
            assert_eq!(json["at_hash"], at_hash(&at, key.alg()));
            assert!(json.get("azp").is_none());
        }
    }

    #[test]
    fn azp_with_extra_audience_and_reserved_extra_ignored() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let issuer = Issuer::parse("https://idp.example.com").unwrap();
        let client = ClientId::new("app");
        let u = user(now);
        let mut extra = serde_json::Map::new();
        extra.insert("sub".into(), "evil".into());
        extra.insert("name".into(), "Alice".into());
        let c = IdTokenParams::new(&issuer, &client, &u, now)
            .extra_audiences(vec!["api".into()])
            .extra_claims(extra)
            .claims(Algorithm::Rs256);
        assert_eq!(c.aud, Audience::Many(vec!["app".into(), "api".into()]));
        assert_eq!(c.azp.as_deref(), Some("app"));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["sub"], "u1");
        assert_eq!(json["name"], "Alice");
    }

    #[test]
    fn userinfo_by_scope() {
        let profile = UserProfile {
            name: Some("Alice A".into()),
            preferred_username: Some("alice".into()),
            email: Some("a@example.com".into()),
            email_verified: Some(true),
            ..UserProfile::default()
        };
        let sub = Subject::new("u1");
        assert_eq!(
            userinfo(&sub, &Scopes::parse("openid").unwrap(), &profile),
            serde_json::json!({"sub": "u1"})
        );
        assert_eq!(
            userinfo(&sub, &Scopes::parse("openid email").unwrap(), &profile),
            serde_json::json!({"sub": "u1", "email": "a@example.com", "email_verified": true})
        );
        let all = userinfo(&sub, &Scopes::parse("openid profile").unwrap(), &profile);
        assert_eq!(all["preferred_username"], "alice");
        assert!(all.get("email").is_none());
    }
}
