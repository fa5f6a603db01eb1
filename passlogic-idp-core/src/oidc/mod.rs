//! OpenID Connect provider core: documents, validation and decisions, no I/O.
//!
//! Like the rest of the crate, nothing here reads a clock, draws OS randomness or makes a
//! request: callers pass `now`, a CSPRNG, the registered client, the stored grant or key set,
//! and store what comes back. What lives where:
//!
//! | module | concern |
//! |---|---|
//! | [`types`] | newtypes for protocol values (`ClientId`, `RedirectUri`, `AuthorizationCode`, `PkceVerifier`, ...), [`types::ClientRegistration`] |
//! | [`error`] | OAuth error codes, [`error::AuthorizeError`] (redirectable or page), [`error::TokenError`], JOSE / key / EAM errors |
//! | [`jose`] | compact JWS (RS256, ES256, EdDSA) over OpenSSL with per-call algorithm allow-lists; JWK / JWKS export and import |
//! | [`keys`] | signing-key rotation as pure data: publish first, activate later, retire after tokens expire |
//! | [`discovery`] | `/.well-known/openid-configuration` |
//! | [`authorize`] | authorization request validation (exact `redirect_uri`, PKCE S256, `claims` acr, ...) |
//! | [`client_auth`] | token endpoint client authentication (`client_secret_basic`/`_post`, `private_key_jwt`, `none`) and secret hashing |
//! | [`token`] | codes, PKCE verification, refresh rotation with reuse detection, `client_credentials` |
//! | [`claims`] | ID token claims, `at_hash`, UserInfo |
//! | [`eam`] | the Microsoft Entra ID External Authentication Method profile |
//!
//! A code-flow sign-in, end to end:
//!
//! ```
//! use passlogic_idp_core::oidc::{authorize, claims, client_auth, jose, keys, token, types};
//! # use rand::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
//! let issuer = types::Issuer::parse("https://idp.example.com")?;
//! let pkey = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?)?;
//! let key_set = keys::SigningKeySet::new(jose::SigningKey::from_pkey("k1", jose::Algorithm::Rs256, pkey)?, now);
//! let secret = types::ClientSecret::generate(&mut rng);
//! let client = types::ClientRegistration::confidential(
//!     "app", vec!["https://app.example/cb".into()],
//!     client_auth::hash_client_secret(secret.secret(), &mut rng));
//! let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
//!     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
//! };
//!
//! // 1. Authorization endpoint.
//! let request = authorize::validate_authorization_request(&form(&[
//!     ("client_id", "app"), ("redirect_uri", "https://app.example/cb"),
//!     ("response_type", "code"), ("scope", "openid"), ("nonce", "n1"),
//! ]), &client)?;
//! // ... the pipeline authenticates the user ...
//! let user = claims::UserAuthentication {
//!     sub: types::Subject::new("u-1"), auth_time: now, acr: None, amr: vec!["otp".into()],
//! };
//! let (code, mut grant) = token::issue_code(&request, &user, now, token::DEFAULT_CODE_LIFETIME, &mut rng);
//! let _redirect = request.code_response(&code, &issuer).redirect_url();
//!
//! // 2. Token endpoint.
//! let body = form(&[("grant_type", "authorization_code"), ("code", code.secret()),
//!                   ("redirect_uri", "https://app.example/cb"),
//!                   ("client_id", "app"), ("client_secret", secret.secret())]);
//! let presented = client_auth::extract_client_auth(None, &body)?;
//! let mut client = client;
//! client.token_endpoint_auth_method = types::TokenEndpointAuthMethod::ClientSecretPost;
//! client_auth::authenticate_client(&presented, &client, &client_auth::assertion_audiences(&issuer), now)?;
//! token::redeem_code(&mut grant, &token::TokenRequest::parse(&body)?, &client, now)?;
//! let id_token = claims::IdTokenParams::new(&issuer, &client.client_id, &grant.user, now)
//!     .nonce(grant.nonce.as_ref())
//!     .sign(&key_set)?;
//! assert_eq!(id_token.split('.').count(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod discovery;
pub mod eam;
pub mod error;
pub mod jose;
pub mod keys;
pub mod token;
pub mod types;
