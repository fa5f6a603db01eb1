//! Newtypes for the protocol values of OAuth 2.0 and OpenID Connect, the closed enums the
//! provider understands, and the registered client ([`ClientRegistration`]).
//!
//! Two families of newtype:
//!
//! - **Public values** ([`ClientId`], [`RedirectUri`], [`State`], [`Nonce`], [`Scope`],
//!   [`Subject`], [`PkceChallenge`], [`Issuer`]) derive `PartialEq`, `Debug` and serde. They
//!   travel in front-channel URLs anyway.
//! - **Secrets** ([`AuthorizationCode`], [`AccessToken`], [`RefreshToken`], [`PkceVerifier`],
//!   [`ClientSecret`]) print `Name([redacted])` in `Debug`, do not derive `PartialEq` (use
//!   `ct_eq`, constant time) and are not `Serialize`: whoever puts one on the wire does so
//!   explicitly with `secret()`. Generated bearer values carry 256 bits from the caller's
//!   CSPRNG; store them by [`AuthorizationCode::lookup_key`] (a SHA-256 digest), never raw.

use core::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::InvalidIssuer;
use super::jose::Jwks;

macro_rules! public_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value as received or configured.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the inner string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

macro_rules! secret_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value as received or loaded.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself, for the one place that must send or hash it.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Constant-time equality (no early exit on the first differing byte).
            pub fn ct_eq(&self, other: &Self) -> bool {
                bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

macro_rules! generated_bearer {
    ($name:ident) => {
        impl $name {
            /// Draws a fresh value: 32 bytes (256 bits) from `rng`, base64url without padding
            /// (43 characters).
            pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
                Self(random_token(rng))
            }

            /// The key to store this value under: base64url(SHA-256(value)). A leaked table of
            /// lookup keys yields no usable value.
            pub fn lookup_key(&self) -> String {
                lookup_key(&self.0)
            }
        }
    };
}

public_value!(
    /// An OAuth 2.0 client identifier (RFC 6749 section 2.2).
    ClientId
);
public_value!(
    /// A redirection endpoint URI (RFC 6749 section 3.1.2), compared by exact string equality.
    RedirectUri
);
public_value!(
    /// The client's opaque `state`, echoed back exactly (RFC 6749 section 4.1.1).
    State
);
public_value!(
    /// The OpenID Connect `nonce`, copied into the ID token (OIDC Core section 3.1.2.1).
    Nonce
);
public_value!(
    /// One scope token (RFC 6749 section 3.3), e.g. `openid`.
    Scope
);
public_value!(
    /// The subject identifier (`sub`) of an end user.
    Subject
);
public_value!(
    /// A PKCE `code_challenge` (RFC 7636): base64url(SHA-256(verifier)), always 43 characters,
    /// since only `S256` is accepted.
    PkceChallenge
);

secret_value!(
    /// An authorization code (RFC 6749 section 4.1.2): single use, short-lived.
    AuthorizationCode
);
generated_bearer!(AuthorizationCode);
secret_value!(
    /// An opaque bearer access token (RFC 6750).
    AccessToken
);
generated_bearer!(AccessToken);
secret_value!(
    /// A refresh token (RFC 6749 section 1.5), see [`crate::oidc::token::RefreshFamily`].
    RefreshToken
);
secret_value!(
    /// A PKCE `code_verifier` (RFC 7636 section 4.1).
    PkceVerifier
);
secret_value!(
    /// A client secret as presented at the token endpoint; stored only as a hash
    /// ([`crate::oidc::client_auth::hash_client_secret`]).
    ClientSecret
);
generated_bearer!(ClientSecret);

impl PkceChallenge {
    /// The S256 challenge for `verifier`: base64url(SHA-256(verifier)).
    pub fn s256(verifier: &PkceVerifier) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.secret().as_bytes())))
    }

    /// Whether `value` has the shape of an S256 challenge: exactly 43 base64url characters.
    pub fn is_well_formed(value: &str) -> bool {
        value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

impl PkceVerifier {
    /// Draws a verifier with 256 bits of entropy (43 characters), for clients and tests.
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
        Self(random_token(rng))
    }

    /// Whether the verifier meets RFC 7636 section 4.1: 43 to 128 characters of
    /// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
    pub fn is_well_formed(&self) -> bool {
        (43..=128).contains(&self.0.len())
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    }
}

impl Scope {
    /// The `openid` scope that makes a request an OpenID Connect request.
    pub fn openid() -> Self {
        Self("openid".to_owned())
    }

    /// Whether `token` is a valid scope token: one or more of `%x21 / %x23-5B / %x5D-7E`.
    pub fn is_valid_token(token: &str) -> bool {
        !token.is_empty()
            && token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    }
}

/// A set of scopes in request order, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Parses a space-delimited `scope` parameter. `None` if a token has characters RFC 6749
    /// section 3.3 forbids. Repeated tokens are kept once; empty input gives an empty set.
    pub fn parse(value: &str) -> Option<Self> {
        let mut out: Vec<Scope> = Vec::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !Scope::is_valid_token(token) {
                return None;
            }
            if !out.iter().any(|s| s.as_str() == token) {
                out.push(Scope::new(token));
            }
        }
        Some(Self(out))
    }

    /// Builds a set from tokens (duplicates dropped, no validation).
    pub fn from_tokens<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<Scope> = Vec::new();
        for t in tokens {
            let s = Scope::new(t);
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Self(out)
    }

    /// Whether the set contains `scope`.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    /// Whether every scope here is also in `other`.
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s.as_str()))
    }

    /// Whether every scope here is in `allowed`.
    pub fn all_in(&self, allowed: &[String]) -> bool {
        self.0
            .iter()
            .all(|s| allowed.iter().any(|a| a == s.as_str()))
    }

    /// The scopes in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Scopes {
    /// The space-delimited form used in `scope` parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

/// The provider's issuer identifier: an `https` URL (or `http` on `localhost`/`127.0.0.1` for
/// development) with no query, no fragment and no trailing slash, so that `{issuer}/oidc/...`
/// endpoint URLs are well formed and `iss` comparisons are exact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Issuer(String);

impl Issuer {
    /// Validates an issuer URL. Never derive it from request headers (`Host`,
    /// `X-Forwarded-*`): it comes from configuration.
    pub fn parse(value: &str) -> Result<Self, InvalidIssuer> {
        let rest = if let Some(rest) = value.strip_prefix("https://") {
            rest
        } else if let Some(rest) = value.strip_prefix("http://") {
            let host = rest.split(['/', ':']).next().unwrap_or("");
            if host != "localhost" && host != "127.0.0.1" {
                return Err(InvalidIssuer::NotHttps);
            }
            rest
        } else {
            return Err(InvalidIssuer::NotHttps);
        };
        let host = rest.split(['/', ':']).next().unwrap_or("");
        if host.is_empty() {
            return Err(InvalidIssuer::NoHost);
        }
        if value.contains(['?', '#']) {
            return Err(InvalidIssuer::QueryOrFragment);
        }
        if value.ends_with('/') {
            return Err(InvalidIssuer::TrailingSlash);
        }
        if value
            .bytes()
            .any(|b| b <= 0x20 || b >= 0x7f || b == b'@' || b == b'\\')
        {
            return Err(InvalidIssuer::InvalidCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The issuer URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{issuer}{path}`, for endpoint URLs (`path` starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }
}

impl TryFrom<String> for Issuer {
    type Error = InvalidIssuer;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Issuer> for String {
    fn from(value: Issuer) -> Self {
        value.0
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `response_type` values the provider supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// `code`: the authorization code flow.
    Code,
    /// `id_token`: the implicit flow returning only an ID token (what Entra EAM uses).
    IdToken,
}

impl ResponseType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::IdToken => "id_token",
        }
    }

    /// The default response mode: `query` for `code`, `fragment` for `id_token`.
    pub fn default_mode(self) -> ResponseMode {
        match self {
            Self::Code => ResponseMode::Query,
            Self::IdToken => ResponseMode::Fragment,
        }
    }
}

/// How authorization response parameters reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the redirect URI's query string.
    Query,
    /// In the redirect URI's fragment.
    Fragment,
    /// As an auto-submitting HTML form POSTed to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }

    /// Parses a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 section 2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body.
    ClientSecretPost,
    /// A JWT signed with the client's key (RFC 7523, OIDC Core section 9).
    PrivateKeyJwt,
    /// No authentication: a public client (must use PKCE).
    None,
}

impl TokenEndpointAuthMethod {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
}

/// The grant types the token endpoint knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// `authorization_code`.
    AuthorizationCode,
    /// `implicit` (front channel only; listed for discovery and registration).
    Implicit,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials` (confidential clients only).
    ClientCredentials,
}

impl GrantType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

/// The `prompt` value the provider acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// `none`: no UI; fail with `login_required` if there is no session.
    None,
    /// `login`: re-authenticate even with a session.
    Login,
}

/// A registered client (relying party), as the server loads it from its store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistration {
    /// The client identifier.
    pub client_id: ClientId,
    /// Registered redirect URIs, matched by exact string comparison.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs, matched by exact string comparison.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret, no key): PKCE is mandatory, no `client_credentials`.
    pub public: bool,
    /// Scopes the client may request.
    pub allowed_scopes: Vec<String>,
    /// The one authentication method accepted at the token endpoint.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The client's public keys, for `private_key_jwt`.
    #[serde(default)]
    pub jwks: Option<Jwks>,
    /// The stored hash of the client secret (from
    /// [`crate::oidc::client_auth::hash_client_secret`]) for the `client_secret_*` methods.
    #[serde(default)]
    pub client_secret_hash: Option<String>,
    /// Response types the client may use.
    pub response_types: Vec<ResponseType>,
    /// Grant types the client may use at the token endpoint.
    pub grant_types: Vec<GrantType>,
}

impl ClientRegistration {
    /// A confidential code-flow client using `client_secret_basic`, with scope `openid` and the
    /// `authorization_code` and `refresh_token` grants.
    pub fn confidential(
        client_id: impl Into<String>,
        redirect_uris: Vec<String>,
        client_secret_hash: String,
    ) -> Self {
        Self {
            client_id: ClientId::new(client_id),
            redirect_uris,
            post_logout_redirect_uris: Vec::new(),
            public: false,
            allowed_scopes: vec!["openid".to_owned()],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            jwks: None,
            client_secret_hash: Some(client_secret_hash),
            response_types: vec![ResponseType::Code],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        }
    }

    /// A public code-flow client (auth method `none`, PKCE required), scope `openid`.
    pub fn public(client_id: impl Into<String>, redirect_uris: Vec<String>) -> Self {
        Self {
            client_id: ClientId::new(client_id),
            redirect_uris,
            post_logout_redirect_uris: Vec::new(),
            public: true,
            allowed_scopes: vec!["openid".to_owned()],
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            jwks: None,
            client_secret_hash: None,
            response_types: vec![ResponseType::Code],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        }
    }

    /// Whether `uri` is one of the registered redirect URIs (exact string match: no prefix
    /// match, no case folding, no normalisation of slashes, ports, queries or fragments).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether `uri` is a registered post-logout redirect URI (exact string match).
    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }
}

pub(crate) fn random_token(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn lookup_key(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Percent-encodes `value` for `application/x-www-form-urlencoded` (space as `+`, everything
/// but `*-._` and alphanumerics escaped).
pub fn form_urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
    out
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space). `None` on a
/// broken `%` escape or a result that is not UTF-8.
pub fn form_urldecode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_val(*bytes.get(i + 1)?)?;
                let lo = hex_val(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses an `application/x-www-form-urlencoded` body into ordered pairs (duplicates kept so
/// that validators can refuse them). `None` if a component does not decode.
pub fn parse_form(body: &str) -> Option<Vec<(String, String)>> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((form_urldecode(k)?, form_urldecode(v)?))
        })
        .collect()
}

/// Encodes pairs as an `application/x-www-form-urlencoded` string.
pub fn encode_form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_urlencode(k), form_urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn secrets_are_redacted() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let code = AuthorizationCode::generate(&mut rng);
        assert_eq!(format!("{code:?}"), "AuthorizationCode([redacted])");
        assert_eq!(code.secret().len(), 43);
        assert!(code.ct_eq(&AuthorizationCode::new(code.secret())));
        assert_ne!(code.lookup_key(), code.secret());
        assert_eq!(
            format!("{:?}", PkceVerifier::new("x")),
            "PkceVerifier([redacted])"
        );
    }

    #[test]
    fn issuer_rules() {
        assert!(Issuer::parse("https://idp.example.com").is_ok());
        assert!(Issuer::parse("https://idp.example.com/tenant1").is_ok());
        assert!(Issuer::parse("http://localhost:8080").is_ok());
        assert_eq!(
            Issuer::parse("http://idp.example.com"),
            Err(InvalidIssuer::NotHttps)
        );
        assert_eq!(
            Issuer::parse("https://idp.example.com/"),
            Err(InvalidIssuer::TrailingSlash)
        );
        assert_eq!(
            Issuer::parse("https://idp.example.com?a=b"),
            Err(InvalidIssuer::QueryOrFragment)
        );
        assert_eq!(Issuer::parse("https://"), Err(InvalidIssuer::NoHost));
        assert_eq!(
            Issuer::parse("https://user@idp.example.com"),
            Err(InvalidIssuer::InvalidCharacter)
        );
        assert_eq!(
            Issuer::parse("http://localhost.evil.example"),
            Err(InvalidIssuer::NotHttps)
        );
    }

    #[test]
    fn scopes_parse() {
        let s = Scopes::parse("openid  profile openid").unwrap();
        assert_eq!(s.to_string(), "openid profile");
        assert!(Scopes::parse("open\"id").is_none());
        assert!(Scopes::parse("a\\b").is_none());
    }

    #[test]
    fn form_round_trip() {
        let pairs = vec![
            ("a b".to_owned(), "x+y=z&%".to_owned()),
            ("k".to_owned(), "é".to_owned()),
        ];
        assert_eq!(parse_form(&encode_form(&pairs)).unwrap(), pairs);
        assert!(form_urldecode("%zz").is_none());
        assert!(form_urldecode("%4").is_none());
    }
}
