//! The OpenID Connect provider service: what the `/oidc/...` handlers call. Like
//! [`crate::signin`], it loads state from the store, hands it to the core
//! (`passlogic_idp_core::oidc`) with the clock and `OsRng`, stores the result and audits.
//!
//! - **Signing keys**: the core's [`SigningKeySet`] (RS256 keys with a self-signed certificate
//!   each, published as `x5c`) is stored sealed under the KEK, one row per tenant, created at
//!   first start ([`ensure_key_set`]) and rotated by `passlogic-idp keys rotate-oidc`
//!   ([`rotate_key_set`]: the new key is published at once and signs after the activation
//!   delay). Nodes compare the row's version on every use and reload when it changed.
//! - **Subject**: `sub` is the user's database id as a decimal string: stable for the life of
//!   the account, never reused, the same for every client (public subject type).
//! - **acr**: [`ACR_MFA`] when the session's `amr` contains `mfa`, else [`ACR_1FA`]. A request
//!   asking for [`ACR_MFA`] with a single-factor session steps up: a sign-in attempt for the
//!   same user over a multi-factor combination, the steps the session already proves recorded
//!   as passed (`start_step_up`); out of reach, an essential request answers
//!   `unmet_authentication_requirements`.
//! - **id_token_hint** at the authorization endpoint is verified like at logout (our keys,
//!   RS256/ES256 only, our issuer, expiry not enforced); a hint naming another user asks for a
//!   sign-in. **Implicit** `response_type=id_token` signs the ID token at once (no access
//!   token). Requests with the Entra EAM client id go to [`crate::eam_service`].
//! - **Codes** are single use through a compare-and-set in the store; a second presentation
//!   revokes the refresh family and access tokens issued from the code. **Refresh tokens**
//!   rotate on every use; replaying an old one revokes the family. **Access tokens** are
//!   opaque random values stored as SHA-256 lookup keys.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use passlogic_idp_core::oidc::authorize::{
    requested_client_id, validate_authorization_request, AuthorizationResponse,
};
use passlogic_idp_core::oidc::claims::{self, IdTokenClaims, UserAuthentication, UserProfile};
use passlogic_idp_core::oidc::client_auth::{
    assertion_audiences, authenticate_client, extract_client_auth,
};
use passlogic_idp_core::oidc::discovery::{DiscoveryConfig, ProviderMetadata};
use passlogic_idp_core::oidc::error::{AuthorizeError, ErrorCode, TokenError, TokenErrorAction};
use passlogic_idp_core::oidc::jose::{self, Algorithm, Jwks, SigningKey};
use passlogic_idp_core::oidc::keys::SigningKeySet;
use passlogic_idp_core::oidc::token::{
    self, AccessTokenGrant, CodeGrant, RefreshFamily, TokenRequest, TokenResponse,
};
use passlogic_idp_core::oidc::types::{
    encode_form, AccessToken, ClientId, ClientRegistration, GrantType, Issuer, Prompt,
    RefreshToken, ResponseType, Scopes, Subject,
};
use passlogic_idp_core::pipeline::{self, Method};
use passlogic_idp_core::seal::{Kek, Keyring};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::secrets;
use crate::signin::SignIn;
use crate::store::{SessionRow, Store};
use passlogic_idp_core::policy::directory::{ServiceKind, ServiceRef};

/// `acr` of a session whose `amr` contains `mfa`.
pub const ACR_MFA: &str = "urn:passlogic:acr:mfa";
/// `acr` of any other session.
pub const ACR_1FA: &str = "urn:passlogic:acr:1fa";
/// Refresh families expire this long after the code was redeemed.
pub const REFRESH_LIFETIME: Duration = Duration::days(30);
/// Access token lifetime.
pub const ACCESS_TOKEN_LIFETIME: Duration = token::DEFAULT_ACCESS_TOKEN_LIFETIME;
/// A code row is kept this long after issue so a replay is still recognised.
const CODE_ROW_RETENTION_SECS: i64 = 3600;
/// A sign-in started by the authorization endpoint must finish within this time.
const LOGIN_MARKER_WINDOW_SECS: i64 = 15 * 60;
/// The parameter the authorization endpoint adds to its own return URL: the time it sent the
/// user to sign in. A session authenticated at or after it satisfies `prompt=login`/`max_age`.
const LOGIN_MARKER: &str = "pl_auth_after";
/// Added to the return URL of a step-up sign-in: step up at most once per request.
const STEP_UP_MARKER: &str = "pl_step_up";
/// Longest return path the sign-in pages keep (`web::login::safe_return_to`).
const MAX_RETURN_TO: usize = 2048;
/// Default delay before a rotated-in key signs (outlasts relying parties' JWKS caches).
pub const DEFAULT_ACTIVATION_DELAY: Duration =
    passlogic_idp_core::oidc::keys::RECOMMENDED_ACTIVATION_DELAY;
/// Default time an old key stays published after its successor activates.
pub const DEFAULT_RETAIN: Duration = Duration::days(1);

/// The `acr` for a session's `amr` (documented in docs/integrations/oidc.md).
pub fn acr_for(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") {
        ACR_MFA
    } else {
        ACR_1FA
    }
}

// ---------------------------------------------------------------------------------------------
// signing keys

/// Associated data of a tenant's sealed signing key set.
pub fn key_set_aad(tenant_id: i64) -> Vec<u8> {
    format!("passlogic:oidc-signing-keys:tenant:{tenant_id}").into_bytes()
}

fn self_signed(pkey: &PKeyRef<Private>, kid: &str, now: OffsetDateTime) -> anyhow::Result<X509> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", &format!("passlogic-idp OIDC signing key {kid}"))?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(pkey)?;
    let not_before = Asn1Time::from_unix(now.unix_timestamp() - 60)?;
    let not_after = Asn1Time::from_unix((now + Duration::days(3650)).unix_timestamp())?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.sign(pkey, MessageDigest::sha256())?;
    Ok(b.build())
}

/// A new RS256 signing key (RSA 2048) with a self-signed certificate for `x5c`.
pub fn new_signing_key(now: OffsetDateTime) -> anyhow::Result<SigningKey> {
    let pkey = PKey::from_rsa(Rsa::generate(2048)?)?;
    let suffix: String = crate::tokens::new_token().chars().take(8).collect();
    let kid = format!("rs256-{}-{suffix}", now.unix_timestamp());
    let cert = self_signed(&pkey, &kid, now)?;
    Ok(SigningKey::from_pkey(kid, Algorithm::Rs256, pkey)?.with_certificates(vec![cert])?)
}

/// The tenant's key set and its version, unsealed.
pub async fn load_key_set(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
) -> anyhow::Result<Option<(i64, SigningKeySet)>> {
    let Some(row) = store.oidc_key_set(tenant_id).await? else {
        return Ok(None);
    };
    let plain = secrets::open_bytes(ring, &key_set_aad(tenant_id), &row.sealed)
        .context("opening the OIDC signing keys")?;
    let set: SigningKeySet =
        serde_json::from_slice(&plain).context("parsing the OIDC signing keys")?;
    Ok(Some((row.version, set)))
}

/// Creates the tenant's first signing key unless one exists (safe on several nodes at once).
pub async fn ensure_key_set(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    if store.oidc_key_set_version(tenant_id).await?.is_some() {
        return Ok(());
    }
    let key = new_signing_key(now)?;
    let kid = key.kid().to_owned();
    let set = SigningKeySet::new(key, now);
    let sealed = secrets::seal_bytes(ring, &key_set_aad(tenant_id), &serde_json::to_vec(&set)?);
    if store
        .create_oidc_key_set(tenant_id, &sealed, now.unix_timestamp())
        .await?
    {
        tracing::info!(%kid, "created the OIDC signing key");
    }
    Ok(())
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    /// The key signing before (and until `activates_at`).
    pub old_kid: String,
    /// The new key, published now.
    pub new_kid: String,
    /// When the new key starts signing.
    pub activates_at: OffsetDateTime,
}

/// Adds a new key: published at once, signing from `now + activation_delay`; older keys retire
/// `retain_for` after that.
pub async fn rotate_key_set(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    now: OffsetDateTime,
    activation_delay: Duration,
    retain_for: Duration,
) -> anyhow::Result<Rotation> {
    ensure_key_set(store, ring, tenant_id, now).await?;
    let (version, mut set) = load_key_set(store, ring, tenant_id)
        .await?
        .context("no OIDC signing keys")?;
    let old_kid = set
        .active(now)
        .map(|k| k.kid().to_owned())
        .unwrap_or_default();
    let key = new_signing_key(now)?;
    let new_kid = key.kid().to_owned();
    set.rotate(key, now, activation_delay, retain_for)?;
    let sealed = secrets::seal_bytes(ring, &key_set_aad(tenant_id), &serde_json::to_vec(&set)?);
    anyhow::ensure!(
        store
            .update_oidc_key_set(tenant_id, &sealed, version, now.unix_timestamp())
            .await?,
        "the OIDC signing keys changed meanwhile; run the command again"
    );
    Ok(Rotation {
        old_kid,
        new_kid,
        activates_at: now + activation_delay.max(Duration::ZERO),
    })
}

/// Re-seals every tenant's key set under `new` (KEK rotation); returns the rows to write.
pub async fn reseal_key_sets(
    store: &Store,
    ring: &Keyring,
    new: &Kek,
) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    crate::keys::reseal_rows(
        ring,
        new,
        store.sealed_oidc_key_sets().await?,
        key_set_aad,
        "OIDC signing keys of tenant",
    )
}

// ---------------------------------------------------------------------------------------------
// the service

/// What the authorization endpoint answers.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Show the provider's error page; never redirect (client or redirect URI not trusted).
    Page(AuthorizeError),
    /// Send the error to the client's redirect URI.
    Error(AuthorizeError),
    /// Sign the user in first, then come back to this local URL.
    Login {
        /// `/oidc/authorize?...` as a GET URL.
        return_to: String,
    },
    /// Deliver the code or ID token.
    Respond(AuthorizationResponse),
    /// The access policy refuses this client to the user: show the denial page for this key.
    Denied(&'static str),
    /// Step up: run the missing steps of this sign-in attempt (set it as the attempt cookie),
    /// then come back to the authorization endpoint.
    StepUp {
        /// The attempt cookie value.
        attempt_token: String,
    },
    /// An Entra ID external authentication method request ([`crate::eam_service`]).
    Eam(crate::eam_service::EamOutcome),
}

/// A refused token-endpoint request.
#[derive(Debug)]
pub struct TokenFailure {
    /// The protocol error.
    pub error: TokenError,
    /// The client tried HTTP Basic: a 401 carries `WWW-Authenticate: Basic`.
    pub basic: bool,
}

impl TokenFailure {
    fn new(error: TokenError, basic: bool) -> Self {
        TokenFailure { error, basic }
    }
}

/// What `/oidc/logout` does.
#[derive(Debug)]
pub enum LogoutOutcome {
    /// Refused: show this reason on an error page; nothing changed.
    Refused(String),
    /// Signed out; redirect here.
    Redirect(String),
    /// Signed out; show the signed-out page.
    SignedOut,
}

/// The key set with the store version it was loaded at.
type CachedKeys = (i64, Arc<SigningKeySet>);

type Outcome<T> = anyhow::Result<Result<T, TokenFailure>>;

/// The OpenID Connect provider (cheap to clone).
#[derive(Clone, Debug)]
pub struct OidcService {
    /// The sign-in service (store, keyring, clock, tenant).
    pub signin: SignIn,
    issuer: Option<Issuer>,
    cache: Arc<Mutex<Option<CachedKeys>>>,
}

impl OidcService {
    /// The provider for `public_url` (the issuer). Creates the signing key on first start.
    /// When the URL cannot be an issuer (not https, and not http on localhost/127.0.0.1) the
    /// provider is disabled and its endpoints answer 404.
    pub async fn start(signin: &SignIn, public_url: &str) -> anyhow::Result<OidcService> {
        let issuer = match Issuer::parse(public_url.trim_end_matches('/')) {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(%public_url, error = %e, "OpenID Connect is disabled: the public URL cannot be an issuer; set --public-url https://...");
                None
            }
        };
        if issuer.is_some() {
            ensure_key_set(
                &signin.store,
                &signin.keyring,
                signin.tenant_id,
                signin.clock.now(),
            )
            .await?;
        }
        Ok(OidcService {
            signin: signin.clone(),
            issuer,
            cache: Arc::new(Mutex::new(None)),
        })
    }

    /// The issuer, or `None` when the provider is disabled.
    pub fn issuer(&self) -> Option<&Issuer> {
        self.issuer.as_ref()
    }

    fn store(&self) -> &Store {
        &self.signin.store
    }

    fn tenant(&self) -> i64 {
        self.signin.tenant_id
    }

    fn now(&self) -> OffsetDateTime {
        self.signin.clock.now()
    }

    /// The current key set (reloaded when another process changed it).
    pub async fn key_set(&self) -> anyhow::Result<Arc<SigningKeySet>> {
        let version = self.store().oidc_key_set_version(self.tenant()).await?;
        if let Some(v) = version {
            if let Ok(guard) = self.cache.lock() {
                if let Some((cached, set)) = guard.as_ref() {
                    if *cached == v {
                        return Ok(set.clone());
                    }
                }
            }
        }
        let (v, set) = match load_key_set(self.store(), &self.signin.keyring, self.tenant()).await?
        {
            Some(x) => x,
            None => {
                ensure_key_set(
                    self.store(),
                    &self.signin.keyring,
                    self.tenant(),
                    self.now(),
                )
                .await?;
                load_key_set(self.store(), &self.signin.keyring, self.tenant())
                    .await?
                    .context("no OIDC signing keys")?
            }
        };
        let set = Arc::new(set);
        if let Ok(mut guard) = self.cache.lock() {
            *guard = Some((v, set.clone()));
        }
        Ok(set)
    }

    /// The discovery document.
    pub fn discovery(&self, issuer: &Issuer) -> ProviderMetadata {
        let mut config = DiscoveryConfig::new(issuer.clone());
        config.id_token_signing_algs = vec![Algorithm::Rs256];
        config.acr_values_supported = vec![ACR_MFA.to_owned(), ACR_1FA.to_owned()];
        let mut doc = config.document();
        // The core's defaults hold: code and id_token (implicit, and Entra EAM), query /
        // fragment / form_post, the four client authentication methods.
        doc.token_endpoint_auth_signing_alg_values_supported = vec!["RS256".into(), "ES256".into()];
        doc
    }

    /// The JWKS document.
    pub async fn jwks(&self) -> anyhow::Result<Jwks> {
        Ok(self.key_set().await?.jwks(self.now())?)
    }

    async fn client(&self, client_id: &str) -> anyhow::Result<Option<ClientRegistration>> {
        self.store().oidc_client(self.tenant(), client_id).await
    }

    async fn audit(
        &self,
        actor: &str,
        event: &str,
        subject: &str,
        ok: bool,
        detail: serde_json::Value,
        ip: Option<&str>,
    ) {
        let outcome = if ok { "success" } else { "failure" };
        self.signin
            .audit(
                self.signin
                    .audit_event(actor, event, subject, outcome, detail, ip),
            )
            .await;
    }

    // -- authorization endpoint -----------------------------------------------------------

    /// Handles an authorization request (`params` from the query or the form body) for the
    /// browser's session, if any.
    pub async fn authorize(
        &self,
        issuer: &Issuer,
        params: Vec<(String, String)>,
        session: Option<SessionRow>,
        ip: Option<&str>,
    ) -> anyhow::Result<AuthorizeOutcome> {
        let client_id = match requested_client_id(&params) {
            Ok(c) => c,
            Err(e) => return Ok(AuthorizeOutcome::Page(e)),
        };
        if let Some(config) = self.eam_config().await? {
            if config.client_id == client_id {
                let out = self.eam_authorize(&params, &config, ip).await?;
                return Ok(AuthorizeOutcome::Eam(out));
            }
        }
        let Some(client) = self.client(client_id.as_str()).await? else {
            return Ok(AuthorizeOutcome::Page(AuthorizeError::page(
                ErrorCode::InvalidRequest,
                "unknown client_id",
            )));
        };
        let request = match validate_authorization_request(&params, &client) {
            Ok(r) => r,
            Err(e) => {
                self.audit(
                    "anonymous",
                    "oidc.authorize",
                    client_id.as_str(),
                    false,
                    json!({ "error": e.code.as_str(), "reason": e.description }),
                    ip,
                )
                .await;
                return Ok(if e.is_redirectable() {
                    AuthorizeOutcome::Error(e)
                } else {
                    AuthorizeOutcome::Page(e)
                });
            }
        };
        let now = self.now();
        let now_s = now.unix_timestamp();
        // id_token_hint: one of our ID tokens (expiry not enforced, OIDC Core 3.1.2.1); it
        // names the user the client expects.
        let hint_sub = match &request.id_token_hint {
            None => None,
            Some(hint) => match self.verify_own_id_token(issuer, hint).await? {
                Ok(c) => Some(c.sub),
                Err(why) => {
                    self.audit(
                        "anonymous",
                        "oidc.authorize",
                        client_id.as_str(),
                        false,
                        json!({ "error": "invalid_request", "reason": why }),
                        ip,
                    )
                    .await;
                    return Ok(AuthorizeOutcome::Error(request.error(
                        ErrorCode::InvalidRequest,
                        format!("id_token_hint rejected: {why}"),
                    )));
                }
            },
        };
        // The session and its user, if usable.
        let mut current = None;
        if let Some(s) = session {
            if let Some(u) = self.store().user_by_id(s.user_id).await? {
                if u.enabled && u.tenant_id == self.tenant() {
                    current = Some((s, u));
                }
            }
        }
        let marker = params
            .iter()
            .find(|(k, _)| k == LOGIN_MARKER)
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .filter(|m| *m <= now_s && now_s - m <= LOGIN_MARKER_WINDOW_SECS);
        let fresh = |s: &SessionRow| marker.is_some_and(|m| s.auth_time >= m);
        let needs_login = match &current {
            None => true,
            Some((s, _)) if fresh(s) => false,
            Some((s, u)) => {
                request.prompt == Some(Prompt::Login)
                    || request
                        .max_age
                        .is_some_and(|max| now_s.saturating_sub(s.auth_time) > max as i64)
                    || hint_sub.as_ref().is_some_and(|h| *h != u.id.to_string())
            }
        };
        let resume_url = |params: Vec<(String, String)>| {
            let mut kept: Vec<(String, String)> = params
                .into_iter()
                .filter(|(k, _)| k != LOGIN_MARKER)
                .collect();
            kept.push((LOGIN_MARKER.to_owned(), now_s.to_string()));
            format!("/oidc/authorize?{}", encode_form(&kept))
        };
        if needs_login {
            if request.prompt == Some(Prompt::None) {
                self.audit(
                    "anonymous",
                    "oidc.authorize",
                    client_id.as_str(),
                    false,
                    json!({ "error": "login_required" }),
                    ip,
                )
                .await;
                return Ok(AuthorizeOutcome::Error(request.login_required()));
            }
            let return_to = resume_url(params);
            // The sign-in pages carry at most 2048 bytes of return path.
            if return_to.len() > MAX_RETURN_TO {
                return Ok(AuthorizeOutcome::Error(request.error(
                    ErrorCode::InvalidRequest,
                    "the authorization request is too long to resume after sign-in",
                )));
            }
            return Ok(AuthorizeOutcome::Login { return_to });
        }
        let Some((session, user)) = current else {
            return Ok(AuthorizeOutcome::Page(AuthorizeError::page(
                ErrorCode::ServerError,
                "no session",
            )));
        };
        // The hint names another user than the one who just signed in (OIDC Core 3.1.2.1).
        if hint_sub.as_ref().is_some_and(|h| *h != user.id.to_string()) {
            self.audit(
                &user.name,
                "oidc.authorize",
                client_id.as_str(),
                false,
                json!({ "error": "login_required", "reason": "id_token_hint names another user" }),
                ip,
            )
            .await;
            return Ok(AuthorizeOutcome::Error(request.error(
                ErrorCode::LoginRequired,
                "the id_token_hint names another user",
            )));
        }
        let service = ServiceRef::new(ServiceKind::OidcClient, client_id.as_str());
        if let Some(key) =
            crate::access::denial_for_session(&self.signin, &user, &session, &service, ip).await?
        {
            return Ok(AuthorizeOutcome::Denied(key));
        }
        let acr = acr_for(&session.amr);
        let requested = request.requested_acr_values();
        if !requested.is_empty() && !requested.iter().any(|a| a == acr) {
            // Step-up: multi-factor asked, single-factor session. Once per request.
            let wants_mfa = acr == ACR_1FA && requested.iter().any(|a| a == ACR_MFA);
            let stepped = params.iter().any(|(k, _)| k == STEP_UP_MARKER);
            if wants_mfa && !stepped && request.prompt != Some(Prompt::None) {
                let mut next = params.clone();
                next.push((STEP_UP_MARKER.to_owned(), "1".to_owned()));
                let return_to = resume_url(next);
                if return_to.len() <= MAX_RETURN_TO {
                    if let Some(attempt_token) =
                        self.start_step_up(&user, &session, &return_to, ip).await?
                    {
                        return Ok(AuthorizeOutcome::StepUp { attempt_token });
                    }
                }
            }
            if request.acr_is_essential() {
                let code = if request.prompt == Some(Prompt::None) && wants_mfa {
                    ErrorCode::InteractionRequired
                } else {
                    ErrorCode::UnmetAuthenticationRequirements
                };
                self.audit(
                    &user.name,
                    "oidc.authorize",
                    client_id.as_str(),
                    false,
                    json!({ "error": code.as_str(), "acr": acr, "requested": requested }),
                    ip,
                )
                .await;
                return Ok(AuthorizeOutcome::Error(
                    request.error(code, "the requested acr cannot be satisfied"),
                ));
            }
        }
        let auth = UserAuthentication {
            sub: Subject::new(user.id.to_string()),
            auth_time: OffsetDateTime::from_unix_timestamp(session.auth_time)?,
            acr: Some(acr.to_owned()),
            amr: session.amr.clone(),
        };
        if request.response_type == ResponseType::IdToken {
            // Implicit: the ID token itself, no access token (no at_hash).
            let keys = self.key_set().await?;
            let key = keys.require_active(now)?;
            let mut c: IdTokenClaims =
                claims::IdTokenParams::new(issuer, &request.client_id, &auth, now)
                    .nonce(request.nonce.as_ref())
                    .claims(key.alg());
            c.azp = Some(request.client_id.as_str().to_owned());
            let id_token = claims::sign_id_token(&c, key)?;
            self.audit(
                &user.name,
                "oidc.authorize",
                client_id.as_str(),
                true,
                json!({ "response_type": "id_token", "acr": acr }),
                ip,
            )
            .await;
            return Ok(AuthorizeOutcome::Respond(
                request.id_token_response(&id_token, issuer),
            ));
        }
        let (code, grant) = token::issue_code(
            &request,
            &auth,
            now,
            token::DEFAULT_CODE_LIFETIME,
            &mut rand::rngs::OsRng,
        );
        self.store()
            .create_oidc_code(
                self.tenant(),
                &grant.code_hash,
                &grant.grant_id,
                &serde_json::to_string(&grant)?,
                now_s + CODE_ROW_RETENTION_SECS,
                now_s,
            )
            .await?;
        self.audit(
            &user.name,
            "oidc.authorize",
            client_id.as_str(),
            true,
            json!({ "scope": request.scopes.to_string(), "acr": acr }),
            ip,
        )
        .await;
        Ok(AuthorizeOutcome::Respond(
            request.code_response(&code, issuer),
        ))
    }

    /// Verifies one of our own ID tokens (signature by a published key, RS256/ES256 only, our
    /// issuer; expiry not enforced: hints may be old). `Ok(Err(why))` when refused.
    pub async fn verify_own_id_token(
        &self,
        issuer: &Issuer,
        token: &str,
    ) -> anyhow::Result<Result<IdTokenClaims, String>> {
        let keys = self.key_set().await?;
        let verified = match jose::verify_jws(
            token,
            &keys.verifying_keys(self.now()),
            &[Algorithm::Rs256, Algorithm::Es256],
        ) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let Ok(c) = verified.claims::<IdTokenClaims>() else {
            return Ok(Err("not an ID token".to_owned()));
        };
        if c.iss != issuer.as_str() {
            return Ok(Err("issued by another provider".to_owned()));
        }
        Ok(Ok(c))
    }

    /// Starts a step-up sign-in for the signed-in `user`: an attempt over one multi-factor
    /// combination of their policy that they are enrolled in, with the leading steps the
    /// session's `amr` already proves recorded as passed, so only the missing steps remain.
    /// `None` when the user has no such combination (or cannot sign in).
    async fn start_step_up(
        &self,
        user: &crate::store::UserRow,
        session: &SessionRow,
        return_to: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Option<String>> {
        if !user.enabled || user.locked {
            return Ok(None);
        }
        let policy = self.signin.policy_for(Some(user.id)).await?;
        let enrolled = self.signin.enrolled(user).await?;
        let passed = |m: &Method| m.amr().iter().all(|a| session.amr.iter().any(|s| s == a));
        let best = pipeline::offered_combinations(&policy.combinations, &enrolled, false)
            .into_iter()
            .filter(|c| c.methods().len() >= 2)
            .map(|c| {
                let done = c.methods().iter().take_while(|m| passed(m)).count();
                let done = done.min(c.methods().len() - 1);
                (c, done)
            })
            .max_by_key(|(_, done)| *done);
        let Some((combo, done)) = best else {
            return Ok(None);
        };
        let now = self.now();
        let now_s = now.unix_timestamp();
        let token = crate::tokens::new_token();
        let id = crate::tokens::hash_token(&token);
        let mut attempt = pipeline::Attempt::new(
            id.clone(),
            vec![combo.clone()],
            now,
            Duration::seconds(LOGIN_MARKER_WINDOW_SECS),
        )
        .map_err(|e| anyhow::anyhow!("step-up attempt: {e}"))?;
        for m in &combo.methods()[..done] {
            attempt
                .record(&id, *m, now)
                .map_err(|e| anyhow::anyhow!("step-up attempt: {e}"))?;
        }
        self.store()
            .create_attempt(
                &crate::store::AttemptRow {
                    id,
                    tenant_id: self.tenant(),
                    user_id: Some(user.id),
                    login_name: user.name.clone(),
                    state: crate::store::AttemptState::Steps,
                    return_to: return_to.to_owned(),
                    expires_at: now_s + LOGIN_MARKER_WINDOW_SECS,
                    pipeline: serde_json::to_string(&attempt)?,
                    version: 0,
                },
                now_s,
            )
            .await?;
        self.audit(
            &user.name,
            "oidc.step_up",
            &user.name,
            true,
            json!({ "combination": combo.label(), "already_passed": done }),
            ip,
        )
        .await;
        Ok(Some(token))
    }

    // -- client authentication ------------------------------------------------------------

    async fn authenticate(
        &self,
        issuer: &Issuer,
        authorization: Option<&str>,
        params: &[(String, String)],
    ) -> Outcome<ClientRegistration> {
        let basic = authorization.is_some();
        let presented = match extract_client_auth(authorization, params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(TokenFailure::new(e, basic))),
        };
        let Some(client) = self.client(presented.client_id().as_str()).await? else {
            return Ok(Err(TokenFailure::new(
                TokenError::new(ErrorCode::InvalidClient, "client authentication failed"),
                basic,
            )));
        };
        let now = self.now();
        match authenticate_client(&presented, &client, &assertion_audiences(issuer), now) {
            Ok(done) => {
                if let Some(a) = done.assertion {
                    let key = format!("{}:{}", client.client_id, a.jti);
                    if !self
                        .store()
                        .use_once("oidc-assertion", &key, a.expires_at.unix_timestamp())
                        .await?
                    {
                        return Ok(Err(TokenFailure::new(
                            TokenError::new(
                                ErrorCode::InvalidClient,
                                "client assertion already used",
                            ),
                            basic,
                        )));
                    }
                }
                Ok(Ok(client))
            }
            Err(e) => Ok(Err(TokenFailure::new(e, basic))),
        }
    }

    // -- token endpoint -------------------------------------------------------------------

    /// Handles a token request.
    pub async fn token(
        &self,
        issuer: &Issuer,
        authorization: Option<&str>,
        params: &[(String, String)],
        ip: Option<&str>,
    ) -> Outcome<TokenResponse> {
        let basic = authorization.is_some();
        let client = match self.authenticate(issuer, authorization, params).await? {
            Ok(c) => c,
            Err(f) => {
                self.audit(
                    "anonymous",
                    "oidc.token",
                    "",
                    false,
                    json!({ "error": f.error.code.as_str(), "reason": f.error.description }),
                    ip,
                )
                .await;
                return Ok(Err(f));
            }
        };
        let request = match TokenRequest::parse(params) {
            Ok(r) => r,
            Err(e) => return Ok(Err(TokenFailure::new(e, basic))),
        };
        let result = match &request {
            TokenRequest::AuthorizationCode { code, .. } => {
                self.redeem(issuer, &client, &request, code.lookup_key())
                    .await?
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => {
                self.refresh(issuer, &client, refresh_token, scope.as_ref())
                    .await?
            }
            TokenRequest::ClientCredentials { scope } => {
                match token::authorize_client_credentials(&client, scope.as_ref()) {
                    Ok(scopes) => {
                        let (at, _) = self
                            .issue_access(&client.client_id, None, &scopes, None)
                            .await?;
                        Ok(TokenResponse::new(
                            &at,
                            ACCESS_TOKEN_LIFETIME,
                            None,
                            None,
                            &scopes,
                        ))
                    }
                    Err(e) => Err(e),
                }
            }
            _ => Err(TokenError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            )),
        };
        let grant = match &request {
            TokenRequest::AuthorizationCode { .. } => "authorization_code",
            TokenRequest::RefreshToken { .. } => "refresh_token",
            _ => "client_credentials",
        };
        match &result {
            Ok(_) => {
                self.audit(
                    client.client_id.as_str(),
                    "oidc.token",
                    client.client_id.as_str(),
                    true,
                    json!({ "grant_type": grant }),
                    ip,
                )
                .await
            }
            Err(e) => {
                self.audit(
                    client.client_id.as_str(),
                    "oidc.token",
                    client.client_id.as_str(),
                    false,
                    json!({ "grant_type": grant, "error": e.code.as_str(), "reason": e.description }),
                    ip,
                )
                .await
            }
        }
        Ok(result.map_err(|e| TokenFailure::new(e, basic)))
    }

    async fn issue_access(
        &self,
        client_id: &ClientId,
        user: Option<&UserAuthentication>,
        scopes: &Scopes,
        grant_id: Option<&str>,
    ) -> anyhow::Result<(AccessToken, AccessTokenGrant)> {
        let now = self.now();
        let (at, grant) = token::issue_access_token(
            client_id,
            user,
            scopes,
            grant_id,
            now,
            ACCESS_TOKEN_LIFETIME,
            &mut rand::rngs::OsRng,
        );
        self.store()
            .create_oidc_access_token(
                self.tenant(),
                &at.lookup_key(),
                client_id.as_str(),
                grant_id,
                &serde_json::to_string(&grant)?,
                now.unix_timestamp(),
                grant.expires_at.unix_timestamp(),
            )
            .await?;
        Ok((at, grant))
    }

    async fn id_token(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
        user: &UserAuthentication,
        nonce: Option<&passlogic_idp_core::oidc::types::Nonce>,
        at: &AccessToken,
    ) -> anyhow::Result<String> {
        let keys = self.key_set().await?;
        let now = self.now();
        let key = keys.require_active(now)?;
        let mut c: IdTokenClaims = claims::IdTokenParams::new(issuer, client_id, user, now)
            .nonce(nonce)
            .access_token(Some(at))
            .claims(key.alg());
        c.azp = Some(client_id.as_str().to_owned());
        Ok(claims::sign_id_token(&c, key)?)
    }

    async fn redeem(
        &self,
        issuer: &Issuer,
        client: &ClientRegistration,
        request: &TokenRequest,
        code_hash: String,
    ) -> anyhow::Result<Result<TokenResponse, TokenError>> {
        let invalid = || TokenError::new(ErrorCode::InvalidGrant, "unknown authorization code");
        let Some(row) = self.store().oidc_code(self.tenant(), &code_hash).await? else {
            return Ok(Err(invalid()));
        };
        let mut grant: CodeGrant = serde_json::from_str(&row.data)?;
        if row.revoked {
            return Ok(Err(TokenError::new(
                ErrorCode::InvalidGrant,
                "authorization code revoked",
            )));
        }
        let now = self.now();
        if let Err(e) = token::redeem_code(&mut grant, request, client, now) {
            if let TokenErrorAction::RevokeCodeGrant { grant_id } = &e.action {
                let n = self.store().revoke_oidc_grant(grant_id).await?;
                tracing::warn!(
                    revoked_access_tokens = n,
                    "authorization code replayed; grant revoked"
                );
            }
            return Ok(Err(e));
        }
        if !self
            .store()
            .redeem_oidc_code(&code_hash, &serde_json::to_string(&grant)?)
            .await?
        {
            // Someone redeemed it between our read and our write: a replay.
            self.store().revoke_oidc_grant(&grant.grant_id).await?;
            return Ok(Err(TokenError::new(
                ErrorCode::InvalidGrant,
                "authorization code already used",
            )));
        }
        let refresh = if client.grant_types.contains(&GrantType::RefreshToken) {
            let (rt, family) =
                token::start_refresh_family(&grant, now, REFRESH_LIFETIME, &mut rand::rngs::OsRng);
            self.store()
                .create_oidc_refresh_family(
                    self.tenant(),
                    &family.id,
                    family.client_id.as_str(),
                    family.current_generation as i64,
                    &serde_json::to_string(&family)?,
                    family.expires_at.unix_timestamp(),
                    now.unix_timestamp(),
                )
                .await?;
            Some(rt)
        } else {
            None
        };
        let (at, _) = self
            .issue_access(
                &client.client_id,
                Some(&grant.user),
                &grant.scopes,
                Some(&grant.grant_id),
            )
            .await?;
        // A replay that raced this redemption revoked the grant before our tokens existed.
        if self.store().oidc_grant_revoked(&grant.grant_id).await? {
            self.store().revoke_oidc_grant(&grant.grant_id).await?;
            return Ok(Err(TokenError::new(
                ErrorCode::InvalidGrant,
                "authorization code already used",
            )));
        }
        let id_token = if grant.scopes.contains("openid") {
            Some(
                self.id_token(
                    issuer,
                    &client.client_id,
                    &grant.user,
                    grant.nonce.as_ref(),
                    &at,
                )
                .await?,
            )
        } else {
            None
        };
        Ok(Ok(TokenResponse::new(
            &at,
            ACCESS_TOKEN_LIFETIME,
            refresh.as_ref(),
            id_token,
            &grant.scopes,
        )))
    }

    async fn refresh(
        &self,
        issuer: &Issuer,
        client: &ClientRegistration,
        presented: &RefreshToken,
        scope: Option<&Scopes>,
    ) -> anyhow::Result<Result<TokenResponse, TokenError>> {
        let unknown = || TokenError::new(ErrorCode::InvalidGrant, "unknown refresh token");
        let Some(family_id) = token::refresh_family_id(presented) else {
            return Ok(Err(unknown()));
        };
        let Some(row) = self
            .store()
            .oidc_refresh_family(self.tenant(), family_id)
            .await?
        else {
            return Ok(Err(unknown()));
        };
        let mut family: RefreshFamily = serde_json::from_str(&row.data)?;
        family.revoked |= row.revoked;
        let old = family.current_generation as i64;
        let now = self.now();
        let (rt, scopes) = match token::rotate_refresh(
            &mut family,
            presented,
            client,
            scope,
            now,
            &mut rand::rngs::OsRng,
        ) {
            Ok(x) => x,
            Err(e) => {
                if let TokenErrorAction::RefreshFamilyRevoked { family_id } = &e.action {
                    let n = self.store().revoke_oidc_grant(family_id).await?;
                    tracing::warn!(
                        revoked_access_tokens = n,
                        "refresh token reused; family revoked"
                    );
                }
                return Ok(Err(e));
            }
        };
        if !self
            .store()
            .rotate_oidc_refresh_family(
                &family.id,
                old,
                family.current_generation as i64,
                &serde_json::to_string(&family)?,
            )
            .await?
        {
            // Two uses of the same token at once: one of them is a copy.
            self.store().revoke_oidc_grant(&family.id).await?;
            return Ok(Err(TokenError::new(
                ErrorCode::InvalidGrant,
                "refresh token reused; the session is revoked",
            )));
        }
        let (at, _) = self
            .issue_access(
                &client.client_id,
                Some(&family.user),
                &scopes,
                Some(&family.id),
            )
            .await?;
        // A reuse that raced this rotation revoked the family before our token existed.
        let revoked = self
            .store()
            .oidc_refresh_family(self.tenant(), &family.id)
            .await?
            .is_none_or(|r| r.revoked);
        if revoked {
            self.store().revoke_oidc_grant(&family.id).await?;
            return Ok(Err(TokenError::new(
                ErrorCode::InvalidGrant,
                "refresh token reused; the session is revoked",
            )));
        }
        let id_token = if scopes.contains("openid") {
            Some(
                self.id_token(issuer, &client.client_id, &family.user, None, &at)
                    .await?,
            )
        } else {
            None
        };
        Ok(Ok(TokenResponse::new(
            &at,
            ACCESS_TOKEN_LIFETIME,
            Some(&rt),
            id_token,
            &scopes,
        )))
    }

    // -- userinfo, revocation, introspection ----------------------------------------------

    async fn live_access_token(&self, value: &str) -> anyhow::Result<Option<AccessTokenGrant>> {
        let key = AccessToken::new(value).lookup_key();
        let now = self.now();
        let Some((data, _)) = self
            .store()
            .oidc_access_token(self.tenant(), &key, now.unix_timestamp())
            .await?
        else {
            return Ok(None);
        };
        let grant: AccessTokenGrant = serde_json::from_str(&data)?;
        Ok(grant.is_active(now).then_some(grant))
    }

    async fn user_of(
        &self,
        user: &UserAuthentication,
    ) -> anyhow::Result<Option<crate::store::UserRow>> {
        let Ok(id) = user.sub.as_str().parse::<i64>() else {
            return Ok(None);
        };
        Ok(self
            .store()
            .user_by_id(id)
            .await?
            .filter(|u| u.enabled && u.tenant_id == self.tenant()))
    }

    /// The UserInfo response for a bearer access token; `None` means `invalid_token`.
    pub async fn userinfo(&self, bearer: &str) -> anyhow::Result<Option<serde_json::Value>> {
        let Some(grant) = self.live_access_token(bearer).await? else {
            return Ok(None);
        };
        let Some(auth) = grant.user.as_ref() else {
            return Ok(None);
        };
        if !grant.scopes.contains("openid") {
            return Ok(None);
        }
        let Some(user) = self.user_of(auth).await? else {
            return Ok(None);
        };
        let profile = UserProfile {
            name: Some(user.display_name.clone()),
            preferred_username: Some(user.name.clone()),
            email: user.email.clone(),
            ..UserProfile::default()
        };
        Ok(Some(claims::userinfo(&auth.sub, &grant.scopes, &profile)))
    }

    /// RFC 7009 revocation: `Ok(Ok(()))` whether or not the token existed.
    pub async fn revoke(
        &self,
        issuer: &Issuer,
        authorization: Option<&str>,
        params: &[(String, String)],
        ip: Option<&str>,
    ) -> Outcome<()> {
        let client = match self.authenticate(issuer, authorization, params).await? {
            Ok(c) => c,
            Err(f) => return Ok(Err(f)),
        };
        let Some(value) = single(params, "token") else {
            return Ok(Err(TokenFailure::new(
                TokenError::new(ErrorCode::InvalidRequest, "token is missing"),
                authorization.is_some(),
            )));
        };
        let key = AccessToken::new(value).lookup_key();
        let mut revoked = self
            .store()
            .delete_oidc_access_token(self.tenant(), &key, client.client_id.as_str())
            .await?;
        if !revoked {
            let rt = RefreshToken::new(value);
            if let Some(id) = token::refresh_family_id(&rt) {
                if let Some(row) = self.store().oidc_refresh_family(self.tenant(), id).await? {
                    let family: RefreshFamily = serde_json::from_str(&row.data)?;
                    let matches = family.client_id == client.client_id
                        && bool::from(subtle::ConstantTimeEq::ct_eq(
                            family_lookup_key(&rt).as_bytes(),
                            family.current_hash.as_bytes(),
                        ));
                    if matches {
                        self.store().revoke_oidc_grant(&family.id).await?;
                        revoked = true;
                    }
                }
            }
        }
        self.audit(
            client.client_id.as_str(),
            "oidc.revoke",
            client.client_id.as_str(),
            true,
            json!({ "revoked": revoked }),
            ip,
        )
        .await;
        Ok(Ok(()))
    }

    /// RFC 7662 introspection, for confidential clients.
    pub async fn introspect(
        &self,
        issuer: &Issuer,
        authorization: Option<&str>,
        params: &[(String, String)],
    ) -> Outcome<serde_json::Value> {
        let basic = authorization.is_some();
        let client = match self.authenticate(issuer, authorization, params).await? {
            Ok(c) => c,
            Err(f) => return Ok(Err(f)),
        };
        if client.public {
            return Ok(Err(TokenFailure::new(
                TokenError::new(
                    ErrorCode::InvalidClient,
                    "public clients may not introspect",
                ),
                basic,
            )));
        }
        let Some(value) = single(params, "token") else {
            return Ok(Err(TokenFailure::new(
                TokenError::new(ErrorCode::InvalidRequest, "token is missing"),
                basic,
            )));
        };
        let inactive = json!({ "active": false });
        if let Some(grant) = self.live_access_token(value).await? {
            let key = AccessToken::new(value).lookup_key();
            let iat = self
                .store()
                .oidc_access_token(self.tenant(), &key, self.now().unix_timestamp())
                .await?
                .map(|(_, iat)| iat);
            let mut out = json!({
                "active": true,
                "token_type": "Bearer",
                "scope": grant.scopes.to_string(),
                "client_id": grant.client_id.as_str(),
                "exp": grant.expires_at.unix_timestamp(),
                "iss": issuer.as_str(),
            });
            if let Some(iat) = iat {
                out["iat"] = iat.into();
            }
            if let Some(u) = &grant.user {
                if self.user_of(u).await?.is_none() {
                    return Ok(Ok(inactive));
                }
                out["sub"] = u.sub.as_str().into();
                out["auth_time"] = u.auth_time.unix_timestamp().into();
            }
            return Ok(Ok(out));
        }
        let rt = RefreshToken::new(value);
        if let Some(id) = token::refresh_family_id(&rt) {
            if let Some(row) = self.store().oidc_refresh_family(self.tenant(), id).await? {
                let family: RefreshFamily = serde_json::from_str(&row.data)?;
                let current = bool::from(subtle::ConstantTimeEq::ct_eq(
                    family_lookup_key(&rt).as_bytes(),
                    family.current_hash.as_bytes(),
                ));
                if current && !row.revoked && !family.revoked && self.now() < family.expires_at {
                    return Ok(Ok(json!({
                        "active": true,
                        "token_type": "refresh_token",
                        "scope": family.scopes.to_string(),
                        "client_id": family.client_id.as_str(),
                        "exp": family.expires_at.unix_timestamp(),
                        "sub": family.user.sub.as_str(),
                        "iss": issuer.as_str(),
                    })));
                }
            }
        }
        Ok(Ok(inactive))
    }

    // -- logout ---------------------------------------------------------------------------

    /// RP-initiated logout. `session_token` is the browser's session cookie, if any.
    pub async fn logout(
        &self,
        issuer: &Issuer,
        params: &[(String, String)],
        session_token: Option<&str>,
        ip: Option<&str>,
    ) -> anyhow::Result<LogoutOutcome> {
        for name in [
            "id_token_hint",
            "client_id",
            "post_logout_redirect_uri",
            "state",
        ] {
            if params.iter().filter(|(k, _)| k == name).count() > 1 {
                return Ok(LogoutOutcome::Refused(format!("{name} is repeated")));
            }
        }
        let mut client_id = single(params, "client_id").map(str::to_owned);
        if let Some(hint) = single(params, "id_token_hint") {
            let keys = self.key_set().await?;
            let verified = match jose::verify_jws(
                hint,
                &keys.verifying_keys(self.now()),
                &[Algorithm::Rs256, Algorithm::Es256],
            ) {
                Ok(v) => v,
                Err(e) => {
                    self.audit(
                        "anonymous",
                        "oidc.logout",
                        "",
                        false,
                        json!({ "reason": format!("id_token_hint: {e}") }),
                        ip,
                    )
                    .await;
                    return Ok(LogoutOutcome::Refused(format!(
                        "id_token_hint rejected: {e}"
                    )));
                }
            };
            let Ok(c) = verified.claims::<IdTokenClaims>() else {
                return Ok(LogoutOutcome::Refused(
                    "id_token_hint is not an ID token".to_owned(),
                ));
            };
            if c.iss != issuer.as_str() {
                return Ok(LogoutOutcome::Refused(
                    "id_token_hint was issued by another provider".to_owned(),
                ));
            }
            let aud = c.azp.clone().or(match &c.aud {
                claims::Audience::One(a) => Some(a.clone()),
                claims::Audience::Many(v) => v.first().cloned(),
            });
            match (&client_id, aud) {
                (Some(given), _) if !c.aud.contains(given) => {
                    return Ok(LogoutOutcome::Refused(
                        "client_id does not match the id_token_hint".to_owned(),
                    ))
                }
                (None, Some(a)) => client_id = Some(a),
                _ => {}
            }
        }
        let redirect = match single(params, "post_logout_redirect_uri") {
            None => None,
            Some(uri) => {
                let Some(id) = client_id.as_deref() else {
                    return Ok(LogoutOutcome::Refused(
                        "post_logout_redirect_uri needs id_token_hint or client_id".to_owned(),
                    ));
                };
                let Some(client) = self.client(id).await? else {
                    return Ok(LogoutOutcome::Refused("unknown client_id".to_owned()));
                };
                if !client.has_post_logout_redirect_uri(uri) {
                    self.audit(
                        "anonymous",
                        "oidc.logout",
                        id,
                        false,
                        json!({ "reason": "post_logout_redirect_uri not registered" }),
                        ip,
                    )
                    .await;
                    return Ok(LogoutOutcome::Refused(
                        "post_logout_redirect_uri is not registered for this client".to_owned(),
                    ));
                }
                let mut url = uri.to_owned();
                if let Some(state) = single(params, "state") {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str(&encode_form(&[("state".to_owned(), state.to_owned())]));
                }
                Some(url)
            }
        };
        if let Some(token) = session_token {
            self.signin.sign_out(token, ip).await?;
        }
        self.audit(
            "anonymous",
            "oidc.logout",
            client_id.as_deref().unwrap_or(""),
            true,
            json!({}),
            ip,
        )
        .await;
        Ok(match redirect {
            Some(url) => LogoutOutcome::Redirect(url),
            None => LogoutOutcome::SignedOut,
        })
    }
}

fn family_lookup_key(token: &RefreshToken) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(token.secret().as_bytes()))
}

/// A parameter present exactly once and non-empty.
pub fn single<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut it = params.iter().filter(|(k, _)| k == name);
    match (it.next(), it.next()) {
        (Some((_, v)), None) if !v.is_empty() => Some(v.as_str()),
        _ => None,
    }
}
