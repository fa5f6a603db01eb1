//! The SAML 2.0 identity provider service: what the `/saml/...` handlers call. Like
//! [`crate::oidc_service`], it loads state from the store, hands it to the core
//! (`passlogic_idp_core::saml`) with the clock and `OsRng`, stores the result and audits.
//!
//! - **Signing key**: one RSA-2048 key per tenant with a self-signed certificate (10 years),
//!   created at first start and stored sealed under the KEK (re-sealed by `keys rotate-kek`).
//!   The same sealed blob holds the secret of pairwise persistent NameIDs and, during a
//!   rollover ([`rotate_signing_key`], `keys rotate-saml`), the next key with its activation
//!   time. Servers re-read the blob every [`KEY_CACHE_SECS`].
//! - **Entity ID** `{public_url}/saml/metadata`; SSO `{public_url}/saml/sso` (Redirect and POST);
//!   SLO `{public_url}/saml/slo` (Redirect and POST; see [`logout`]).
//! - **Requests**: decoded and validated by the core against the registered SP; the request ID
//!   is recorded single use (`used_once`, kind `saml-request`). A request that needs a sign-in
//!   is kept server-side under a random id and resumed once by `/saml/resume?id=...`.
//! - **AuthnContext** comes from the session's `amr` and `auth_time`.
//! - **NameID and attributes** come from the user's directory columns and `attributes` object
//!   ([`directory_attributes`]); a user without the SP's NameID source gets InvalidNameIDPolicy.
//! - **SessionIndex** is stable per session and SP ([`session_index`]); each Response records
//!   its SP for single logout.
//!
//! Known gaps: the directory's `valid_from` / `valid_until` are not checked here (nor at
//! sign-in yet); one issuer per tenant (Entra tenants with several federated top-level domains
//! need one issuer each).

pub mod logout;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use passlogic_idp_core::pipeline::{AuthnContext, Method};
use passlogic_idp_core::saml::authn_request::{
    peek_issuer, validate_authn_request, AuthnRequest, Comparison, Decision, NameIdPolicy,
    RequestedAuthnContext,
};
use passlogic_idp_core::saml::bindings::InboundMessage;
use passlogic_idp_core::saml::metadata::idp_metadata;
use passlogic_idp_core::saml::response::{
    build_error_response, build_response, AssertionInput, IssuedResponse, ResponseTarget,
};
use passlogic_idp_core::saml::sp::pairwise_id;
use passlogic_idp_core::saml::{
    AcsEndpoint, Binding, IdpSettings, MessageLimits, Principal, SamlError, ServiceProvider,
    SigningKey,
};
use passlogic_idp_core::seal::{Kek, Keyring};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::access;
use crate::secrets;
use crate::signin::SignIn;
use crate::store::{SessionRow, Store, UserRow};
use passlogic_idp_core::policy::directory::{ServiceKind, ServiceRef};

/// A running server re-reads its signing keys this often (a rotation by the CLI shows up).
pub const KEY_CACHE_SECS: i64 = 60;
/// Default delay before a rotated-in SAML key signs (SPs re-read metadata rarely; many need the
/// new certificate entered by hand).
pub const DEFAULT_ACTIVATION_DELAY_SECS: i64 = 7 * 24 * 3600;
/// A request waiting for the sign-in is kept this long.
const PENDING_LIFETIME_SECS: i64 = 30 * 60;
/// A request ID stays recorded this long after its IssueInstant (far beyond the accepted skew).
const REQUEST_ID_RETENTION_SECS: i64 = 3600;

// ---------------------------------------------------------------------------------------------
// signing key

/// Associated data of a tenant's sealed SAML signing key.
pub fn key_aad(tenant_id: i64) -> Vec<u8> {
    format!("passlogic:saml-signing-key:tenant:{tenant_id}").into_bytes()
}

/// What is sealed: the private key, its certificate, the pairwise-ID secret and, during a
/// rollover (`keys rotate-saml`), the next key with the time it starts signing.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    key_pem: String,
    cert_der: String,
    pairwise_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<NextKey>,
}

/// The key of a rollover: published in metadata at once, signing from `active_from`.
#[derive(Serialize, Deserialize)]
struct NextKey {
    key_pem: String,
    cert_der: String,
    active_from: i64,
}

/// The IdP's signing key, certificate and pairwise-ID secret, unsealed.
pub struct IdpKey {
    /// Key and certificate for the core (before a rollover's activation time).
    pub signing: SigningKey,
    /// The rollover key and the UNIX time it starts signing.
    next: Option<(SigningKey, i64)>,
    pairwise_secret: Vec<u8>,
}

impl IdpKey {
    /// The key that signs at `now`: the rollover key once active, else the current one.
    pub fn signing_at(&self, now: i64) -> &SigningKey {
        match &self.next {
            Some((k, from)) if now >= *from => k,
            _ => &self.signing,
        }
    }

    /// The certificates to publish at `now`: the signing one first, then the other one of a
    /// rollover (the next before activation, the previous after it).
    pub fn published_at(&self, now: i64) -> Vec<&[u8]> {
        let active = self.signing_at(now);
        let mut out = vec![active.cert_der.as_slice()];
        for k in [Some(&self.signing), self.next.as_ref().map(|(k, _)| k)]
            .into_iter()
            .flatten()
        {
            if k.cert_der != active.cert_der {
                out.push(k.cert_der.as_slice());
            }
        }
        out
    }
}

impl std::fmt::Debug for IdpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpKey")
            .field("signing", &self.signing)
            .finish_non_exhaustive()
    }
}

fn self_signed(pkey: &PKeyRef<Private>, cn: &str, now: OffsetDateTime) -> anyhow::Result<X509> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", cn)?;
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

fn new_stored_key(now: OffsetDateTime) -> anyhow::Result<StoredKey> {
    let pkey = PKey::from_rsa(Rsa::generate(2048)?)?;
    let cert = self_signed(
        &pkey,
        &format!("passlogic-idp SAML signing key {}", now.unix_timestamp()),
        now,
    )?;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    Ok(StoredKey {
        key_pem: String::from_utf8(pkey.private_key_to_pem_pkcs8()?)?,
        cert_der: STANDARD.encode(cert.to_der()?),
        pairwise_secret: STANDARD.encode(secret),
        next: None,
    })
}

fn unstored(s: &StoredKey) -> anyhow::Result<IdpKey> {
    let next = match &s.next {
        Some(n) => Some((
            SigningKey {
                key: PKey::private_key_from_pem(n.key_pem.as_bytes())?,
                cert_der: STANDARD.decode(&n.cert_der)?,
            },
            n.active_from,
        )),
        None => None,
    };
    Ok(IdpKey {
        signing: SigningKey {
            key: PKey::private_key_from_pem(s.key_pem.as_bytes())?,
            cert_der: STANDARD.decode(&s.cert_der)?,
        },
        next,
        pairwise_secret: STANDARD.decode(&s.pairwise_secret)?,
    })
}

/// Short fingerprint of a certificate (first 16 hex digits of its SHA-256).
pub fn cert_fingerprint(der: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(der)[..8])
}

/// What `keys rotate-saml` did.
#[derive(Debug)]
pub struct SamlRotation {
    /// Fingerprint of the certificate signing until the activation.
    pub old: String,
    /// Fingerprint of the new certificate.
    pub new: String,
    /// When the new key starts signing (UNIX seconds).
    pub active_from: i64,
}

/// Starts a signing-key rollover: a new key and certificate, published in the metadata at once
/// (after the running servers' key cache, at most [`KEY_CACHE_SECS`]) and signing from
/// `now + delay`. A previous rollover key that is active already becomes the current key
/// first; one still pending is replaced. The pairwise-ID secret is kept.
pub async fn rotate_signing_key(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    now: OffsetDateTime,
    delay: Duration,
) -> anyhow::Result<SamlRotation> {
    let blob = store
        .saml_signing_key(tenant_id)
        .await?
        .context("no SAML signing key yet: start the server once")?;
    let plain = secrets::open_bytes(ring, &key_aad(tenant_id), &blob)
        .context("opening the SAML signing key")?;
    let mut stored: StoredKey = serde_json::from_slice(&plain)?;
    if let Some(n) = stored.next.take() {
        if n.active_from <= now.unix_timestamp() {
            stored.key_pem = n.key_pem;
            stored.cert_der = n.cert_der;
        }
    }
    let fresh = new_stored_key(now)?;
    let active_from = (now + delay).unix_timestamp();
    let rotation = SamlRotation {
        old: cert_fingerprint(&STANDARD.decode(&stored.cert_der)?),
        new: cert_fingerprint(&STANDARD.decode(&fresh.cert_der)?),
        active_from,
    };
    stored.next = Some(NextKey {
        key_pem: fresh.key_pem,
        cert_der: fresh.cert_der,
        active_from,
    });
    let sealed = secrets::seal_bytes(ring, &key_aad(tenant_id), &serde_json::to_vec(&stored)?);
    store
        .replace_saml_signing_keys(&[(tenant_id, sealed)])
        .await?;
    Ok(rotation)
}

/// The tenant's signing key, unsealed.
pub async fn load_signing_key(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
) -> anyhow::Result<Option<IdpKey>> {
    let Some(blob) = store.saml_signing_key(tenant_id).await? else {
        return Ok(None);
    };
    let plain = secrets::open_bytes(ring, &key_aad(tenant_id), &blob)
        .context("opening the SAML signing key")?;
    let stored: StoredKey =
        serde_json::from_slice(&plain).context("parsing the SAML signing key")?;
    Ok(Some(unstored(&stored)?))
}

/// The tenant's signing key, created first when there is none (safe on several nodes).
pub async fn ensure_signing_key(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    now: OffsetDateTime,
) -> anyhow::Result<IdpKey> {
    if let Some(k) = load_signing_key(store, ring, tenant_id).await? {
        return Ok(k);
    }
    let stored = new_stored_key(now)?;
    let sealed = secrets::seal_bytes(ring, &key_aad(tenant_id), &serde_json::to_vec(&stored)?);
    if store
        .create_saml_signing_key(tenant_id, &sealed, now.unix_timestamp())
        .await?
    {
        tracing::info!("created the SAML signing key and certificate");
    }
    load_signing_key(store, ring, tenant_id)
        .await?
        .context("no SAML signing key")
}

/// Re-seals every tenant's SAML signing key under `new` (KEK rotation); returns the rows.
pub async fn reseal_signing_keys(
    store: &Store,
    ring: &Keyring,
    new: &Kek,
) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    crate::keys::reseal_rows(
        ring,
        new,
        store.sealed_saml_signing_keys().await?,
        key_aad,
        "SAML signing key of tenant",
    )
}

/// Our IdP settings for a public base URL.
pub fn idp_settings(public_url: &str) -> IdpSettings {
    let base = public_url.trim_end_matches('/');
    IdpSettings {
        entity_id: format!("{base}/saml/metadata"),
        sso_redirect_url: format!("{base}/saml/sso"),
        sso_post_url: format!("{base}/saml/sso"),
        slo_redirect_url: Some(format!("{base}/saml/slo")),
        slo_post_url: Some(format!("{base}/saml/slo")),
        want_authn_requests_signed: false,
        limits: MessageLimits::default(),
    }
}

// ---------------------------------------------------------------------------------------------
// pending requests (a validated AuthnRequest as JSON)

#[derive(Serialize, Deserialize)]
struct Pending {
    id: String,
    issuer: String,
    issue_instant: i64,
    destination: Option<String>,
    binding: Binding,
    acs: AcsEndpoint,
    relay_state: Option<String>,
    force_authn: bool,
    is_passive: bool,
    name_id_policy: Option<(Option<String>, Option<bool>, Option<String>)>,
    requested_authn_context: Option<(String, Vec<String>)>,
    requested_subject: Option<String>,
    signed: bool,
}

fn comparison_name(c: Comparison) -> &'static str {
    match c {
        Comparison::Exact => "exact",
        Comparison::Minimum => "minimum",
        Comparison::Better => "better",
        Comparison::Maximum => "maximum",
    }
}

fn comparison_of(s: &str) -> Comparison {
    match s {
        "minimum" => Comparison::Minimum,
        "better" => Comparison::Better,
        "maximum" => Comparison::Maximum,
        _ => Comparison::Exact,
    }
}

impl Pending {
    fn of(r: &AuthnRequest) -> Pending {
        Pending {
            id: r.id.clone(),
            issuer: r.issuer.clone(),
            issue_instant: r.issue_instant.unix_timestamp(),
            destination: r.destination.clone(),
            binding: r.binding,
            acs: r.acs.clone(),
            relay_state: r.relay_state.clone(),
            force_authn: r.force_authn,
            is_passive: r.is_passive,
            name_id_policy: r.name_id_policy.as_ref().map(|p| {
                (
                    p.format.clone(),
                    p.allow_create,
                    p.sp_name_qualifier.clone(),
                )
            }),
            requested_authn_context: r
                .requested_authn_context
                .as_ref()
                .map(|c| (comparison_name(c.comparison).to_owned(), c.classes.clone())),
            requested_subject: r.requested_subject.clone(),
            signed: r.signed,
        }
    }

    fn request(self) -> anyhow::Result<AuthnRequest> {
        Ok(AuthnRequest {
            id: self.id,
            issuer: self.issuer,
            issue_instant: OffsetDateTime::from_unix_timestamp(self.issue_instant)?,
            destination: self.destination,
            binding: self.binding,
            acs: self.acs,
            relay_state: self.relay_state,
            force_authn: self.force_authn,
            is_passive: self.is_passive,
            name_id_policy: self
                .name_id_policy
                .map(|(format, allow_create, q)| NameIdPolicy {
                    format,
                    allow_create,
                    sp_name_qualifier: q,
                }),
            requested_authn_context: self.requested_authn_context.map(|(c, classes)| {
                RequestedAuthnContext {
                    comparison: comparison_of(&c),
                    classes,
                }
            }),
            requested_subject: self.requested_subject,
            signed: self.signed,
        })
    }
}

/// The methods behind a session's `amr` values (the inverse of `Method::amr`).
pub fn methods_from_amr(amr: &[String]) -> Vec<Method> {
    let has = |v: &str| amr.iter().any(|a| a == v);
    let mut out = Vec::new();
    if has("matrix") {
        out.push(Method::Matrix);
    }
    if has("pin") {
        out.push(Method::Pin);
    }
    if has("bingo") {
        out.push(Method::Bingo);
    } else if has("otp") && has("hwk") {
        out.push(Method::HardwareToken);
    } else if has("otp") {
        out.push(Method::Totp);
    }
    if has("user") && has("hwk") {
        out.push(Method::Passkey);
    }
    if has("device") {
        out.push(Method::DeviceCookie);
    }
    if has("x509") {
        out.push(Method::ClientCertificate);
    }
    if has("unlock") {
        out.push(Method::LoginProtect);
    }
    if has("face") {
        out.push(Method::Biometric);
    }
    out
}

/// The values an SP's NameID source or attribute release can name by key: the user's
/// `attributes` (external IDs such as `immutable_id`, `upn`, `federation_id`, and custom ones),
/// plus `department` and `position` from the directory (an attribute of the same name wins).
pub fn directory_attributes(u: &UserRow) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = u
        .attributes
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), vec![v.clone()]))
        .collect();
    for (k, v) in [("department", &u.department), ("position", &u.position)] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            out.entry(k.to_owned()).or_insert_with(|| vec![v.clone()]);
        }
    }
    out
}

/// The SessionIndex of session `session_id` at one SP: stable for the session's lifetime (every
/// assertion to that SP in the session carries the same value, so a LogoutRequest naming any of
/// them finds the session), different per SP (SPs cannot link it), and not the session id or
/// anything that leads back to the cookie: `_` + hex SHA-256 of a label, the session id and the
/// entity ID.
pub fn session_index(session_id: &str, entity_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"passlogic:saml-session-index\0");
    h.update(session_id.as_bytes());
    h.update(b"\0");
    h.update(entity_id.as_bytes());
    format!("_{}", hex::encode(&h.finalize()[..20]))
}

/// The core's AuthnContext for a session.
pub fn authn_context_of(s: &SessionRow) -> AuthnContext {
    AuthnContext::from_methods(methods_from_amr(&s.amr), s.auth_time)
}

// ---------------------------------------------------------------------------------------------
// the service

/// What the SSO endpoints answer.
#[derive(Debug)]
pub enum SsoOutcome {
    /// Show an error page (400); nothing goes to the SP.
    Page(String),
    /// Sign in first, then come back to this local URL.
    Login {
        /// The local URL that resumes the request.
        return_to: String,
    },
    /// Go to this local URL first (a top-level GET, so the session cookie is sent).
    Redirect(String),
    /// POST this Response (success or error) to the SP's ACS.
    Post(IssuedResponse),
    /// The access policy refuses this SP to the user: show the denial page for this key.
    Denied(&'static str),
}

enum Plan {
    Login,
    Respond(String),
    Error(SamlError),
}

type Current = (SessionRow, UserRow);

/// The SAML 2.0 identity provider (cheap to clone).
#[derive(Clone, Debug)]
pub struct SamlService {
    /// The sign-in service (store, keyring, clock, tenant).
    pub signin: SignIn,
    idp: Arc<IdpSettings>,
    key: Arc<std::sync::Mutex<(Arc<IdpKey>, i64)>>,
}

impl SamlService {
    /// The IdP for `public_url`; creates the signing key and certificate on first start.
    pub async fn start(signin: &SignIn, public_url: &str) -> anyhow::Result<SamlService> {
        let key = ensure_signing_key(
            &signin.store,
            &signin.keyring,
            signin.tenant_id,
            signin.clock.now(),
        )
        .await?;
        Ok(SamlService {
            signin: signin.clone(),
            idp: Arc::new(idp_settings(public_url)),
            key: Arc::new(std::sync::Mutex::new((
                Arc::new(key),
                signin.clock.now().unix_timestamp(),
            ))),
        })
    }

    /// The signing keys, re-read from the store every [`KEY_CACHE_SECS`].
    pub(crate) async fn key(&self) -> anyhow::Result<Arc<IdpKey>> {
        let now = self.now().unix_timestamp();
        let cached = {
            let g = self
                .key
                .lock()
                .map_err(|_| anyhow::anyhow!("key cache poisoned"))?;
            (now - g.1 < KEY_CACHE_SECS && now >= g.1).then(|| g.0.clone())
        };
        if let Some(k) = cached {
            return Ok(k);
        }
        let k = Arc::new(
            load_signing_key(self.store(), &self.signin.keyring, self.tenant())
                .await?
                .context("the SAML signing key disappeared")?,
        );
        if let Ok(mut g) = self.key.lock() {
            *g = (k.clone(), now);
        }
        Ok(k)
    }

    /// Our settings (entity ID, endpoints).
    pub fn idp(&self) -> &IdpSettings {
        &self.idp
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

    async fn audit(
        &self,
        actor: &str,
        subject: &str,
        ok: bool,
        detail: serde_json::Value,
        ip: Option<&str>,
    ) {
        let outcome = if ok { "success" } else { "failure" };
        self.signin
            .audit(
                self.signin
                    .audit_event(actor, "saml.sso", subject, outcome, detail, ip),
            )
            .await;
    }

    /// The signed IdP metadata: the signing certificate, and during a rollover the other one.
    pub async fn metadata(&self) -> anyhow::Result<String> {
        let key = self.key().await?;
        let now = self.now().unix_timestamp();
        Ok(idp_metadata(
            &self.idp,
            &key.published_at(now),
            None,
            Some(key.signing_at(now)),
            &mut rand::rngs::OsRng,
        )?)
    }

    async fn current(&self, session: Option<SessionRow>) -> anyhow::Result<Option<Current>> {
        let Some(s) = session else {
            return Ok(None);
        };
        Ok(self
            .store()
            .user_by_id(s.user_id)
            .await?
            .filter(|u| u.enabled && u.tenant_id == self.tenant())
            .map(|u| (s, u)))
    }

    async fn refuse(&self, issuer: &str, e: &SamlError, ip: Option<&str>) -> SsoOutcome {
        self.audit(
            "anonymous",
            issuer,
            false,
            json!({ "error": e.to_string() }),
            ip,
        )
        .await;
        SsoOutcome::Page(e.to_string())
    }

    /// Handles an AuthnRequest: `raw` is the query string (HTTP-Redirect) or the form body
    /// (HTTP-POST).
    pub async fn sso(
        &self,
        raw: &str,
        post: bool,
        session: Option<SessionRow>,
        ip: Option<&str>,
    ) -> anyhow::Result<SsoOutcome> {
        let limits = &self.idp.limits;
        let decoded = if post {
            InboundMessage::from_post_body(raw, limits)
        } else {
            InboundMessage::from_redirect_query(raw, limits)
        };
        let msg = match decoded {
            Ok(m) => m,
            Err(e) => return Ok(self.refuse("-", &e, ip).await),
        };
        let issuer = match peek_issuer(&msg, &self.idp) {
            Ok(i) => i,
            Err(e) => return Ok(self.refuse("-", &e, ip).await),
        };
        let sps: Vec<ServiceProvider> = self
            .store()
            .saml_sp(self.tenant(), &issuer)
            .await?
            .into_iter()
            .collect();
        let now = self.now();
        let req = match validate_authn_request(&msg, &self.idp, &sps, now) {
            Ok(r) => r,
            Err(e) => return Ok(self.refuse(&issuer, &e, ip).await),
        };
        let sp = sps.first().context("validated SP")?;
        let expires = req.issue_instant.max(now).unix_timestamp() + REQUEST_ID_RETENTION_SECS;
        if !self
            .store()
            .use_once(
                "saml-request",
                &format!("{}\n{}", req.issuer, req.id),
                expires,
            )
            .await?
        {
            self.audit(
                "anonymous",
                &issuer,
                false,
                json!({ "error": "replayed request ID", "id": req.id }),
                ip,
            )
            .await;
            return Ok(SsoOutcome::Page(
                "this sign-in request was already used".to_owned(),
            ));
        }
        let current = self.current(session).await?;
        // A cross-site POST does not carry the SameSite=Lax session cookie: decide after a
        // top-level GET of the resume URL instead.
        let defer = post && current.is_none();
        let plan = if defer {
            Plan::Login
        } else {
            self.plan(&req, sp, current.as_ref(), None)
        };
        match plan {
            Plan::Login => {
                let id = crate::tokens::new_token();
                let data = serde_json::to_string(&Pending::of(&req))?;
                let now_s = now.unix_timestamp();
                self.store()
                    .put_saml_pending(
                        &id,
                        self.tenant(),
                        &data,
                        now_s,
                        now_s + PENDING_LIFETIME_SECS,
                    )
                    .await?;
                let return_to = format!("/saml/resume?id={id}");
                Ok(if defer {
                    SsoOutcome::Redirect(return_to)
                } else {
                    SsoOutcome::Login { return_to }
                })
            }
            Plan::Respond(class) => {
                let Some((s, u)) = current else {
                    anyhow::bail!("no session");
                };
                self.respond(
                    sp,
                    ResponseTarget::for_request(&req),
                    &s,
                    &u,
                    Some(class),
                    ip,
                )
                .await
            }
            Plan::Error(e) => {
                self.error_response(sp, ResponseTarget::for_request(&req), &e, ip)
                    .await
            }
        }
    }

    /// Resumes a request kept by [`SamlService::sso`] after the sign-in.
    pub async fn resume(
        &self,
        id: &str,
        session: Option<SessionRow>,
        ip: Option<&str>,
    ) -> anyhow::Result<SsoOutcome> {
        let now_s = self.now().unix_timestamp();
        let Some((data, created_at)) = self.store().saml_pending(id, self.tenant(), now_s).await?
        else {
            return Ok(SsoOutcome::Page(
                "unknown, expired or already answered sign-in request".to_owned(),
            ));
        };
        let pending: Pending = serde_json::from_str(&data)?;
        let req = pending.request()?;
        let Some(sp) = self.store().saml_sp(self.tenant(), &req.issuer).await? else {
            return Ok(SsoOutcome::Page(
                "the service provider is no longer registered".to_owned(),
            ));
        };
        if !sp.acs.contains(&req.acs) {
            return Ok(SsoOutcome::Page(
                "the AssertionConsumerService is no longer registered".to_owned(),
            ));
        }
        let current = self.current(session).await?;
        let plan = self.plan(&req, &sp, current.as_ref(), Some(created_at));
        if let Plan::Login = plan {
            return Ok(SsoOutcome::Login {
                return_to: format!("/saml/resume?id={id}"),
            });
        }
        if self
            .store()
            .take_saml_pending(id, self.tenant(), now_s)
            .await?
            .is_none()
        {
            return Ok(SsoOutcome::Page(
                "unknown, expired or already answered sign-in request".to_owned(),
            ));
        }
        let target = ResponseTarget::for_request(&req);
        match plan {
            Plan::Respond(class) => {
                let Some((s, u)) = current else {
                    anyhow::bail!("no session");
                };
                self.respond(&sp, target, &s, &u, Some(class), ip).await
            }
            Plan::Error(e) => self.error_response(&sp, target, &e, ip).await,
            Plan::Login => anyhow::bail!("unreachable"),
        }
    }

    /// IdP-initiated SSO to the SP's default ACS. `return_to` is the local URL of this request
    /// (to come back after the sign-in).
    pub async fn idp_initiated(
        &self,
        entity_id: &str,
        relay_state: Option<String>,
        session: Option<SessionRow>,
        return_to: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<SsoOutcome> {
        let Some(sp) = self.store().saml_sp(self.tenant(), entity_id).await? else {
            return Ok(SsoOutcome::Page("unknown service provider".to_owned()));
        };
        if relay_state
            .as_ref()
            .is_some_and(|r| r.len() > self.idp.limits.max_relay_state)
        {
            return Ok(SsoOutcome::Page("RelayState too long".to_owned()));
        }
        let Some((s, u)) = self.current(session).await? else {
            return Ok(SsoOutcome::Login {
                return_to: return_to.to_owned(),
            });
        };
        let target = match ResponseTarget::idp_initiated(&sp, relay_state) {
            Ok(t) => t,
            Err(e) => return Ok(SsoOutcome::Page(e.to_string())),
        };
        self.respond(&sp, target, &s, &u, None, ip).await
    }

    fn plan(
        &self,
        req: &AuthnRequest,
        sp: &ServiceProvider,
        current: Option<&Current>,
        fresh_after: Option<i64>,
    ) -> Plan {
        let ctx = current.map(|(s, _)| authn_context_of(s));
        let fresh = fresh_after.is_some_and(|t| current.is_some_and(|(s, _)| s.auth_time >= t));
        let mut effective = req.clone();
        if fresh {
            // The sign-in ran for this request: ForceAuthn is satisfied.
            effective.force_authn = false;
        }
        match effective.decide(sp, ctx.as_ref()) {
            Err(e) => Plan::Error(e),
            Ok(Decision::Authenticate { .. }) if fresh => Plan::Error(SamlError::NoAuthnContext),
            Ok(Decision::Authenticate { .. }) => Plan::Login,
            Ok(Decision::UseSession) => {
                match ctx.as_ref().map(|c| effective.authn_context_class(sp, c)) {
                    Some(Ok(class)) => Plan::Respond(class),
                    Some(Err(e)) => Plan::Error(e),
                    None => Plan::Login,
                }
            }
        }
    }

    async fn principal(&self, sp: &ServiceProvider, u: &UserRow) -> anyhow::Result<Principal> {
        let user_id = u.id.to_string();
        Ok(Principal {
            persistent_id: pairwise_id(&self.key().await?.pairwise_secret, &user_id, &sp.entity_id)
                .ok(),
            user_id,
            user_name: u.name.clone(),
            email: u.email.clone(),
            given_name: u.given_name.clone(),
            surname: u.family_name.clone(),
            display_name: Some(u.display_name.clone()),
            groups: self.store().user_groups(u.id).await?,
            attributes: directory_attributes(u),
        })
    }

    async fn respond(
        &self,
        sp: &ServiceProvider,
        target: ResponseTarget,
        s: &SessionRow,
        u: &UserRow,
        class: Option<String>,
        ip: Option<&str>,
    ) -> anyhow::Result<SsoOutcome> {
        let service = ServiceRef::new(ServiceKind::SamlSp, sp.entity_id.clone());
        if let Some(key) = access::denial_for_session(&self.signin, u, s, &service, ip).await? {
            return Ok(SsoOutcome::Denied(key));
        }
        let ctx = authn_context_of(s);
        let principal = self.principal(sp, u).await?;
        let mut rng = rand::rngs::OsRng;
        let input = AssertionInput {
            principal: &principal,
            authn_context: &ctx,
            authn_class: class,
            session_index: session_index(&s.id, &sp.entity_id),
            session_not_on_or_after: OffsetDateTime::from_unix_timestamp(s.expires_at).ok(),
        };
        match build_response(
            &self.idp,
            self.key().await?.signing_at(self.now().unix_timestamp()),
            sp,
            &target,
            &input,
            self.now(),
            &mut rng,
        ) {
            Ok(r) => {
                if let Some(name_id) = principal.name_id(&sp.name_id_source) {
                    self.record_participant(s, sp, &name_id, &input.session_index)
                        .await?;
                }
                self.audit(
                    &u.name,
                    &sp.entity_id,
                    true,
                    json!({
                        "in_response_to": target.in_response_to,
                        "response_id": r.response_id,
                        "acs": r.acs_url,
                    }),
                    ip,
                )
                .await;
                Ok(SsoOutcome::Post(r))
            }
            Err(e) if e.may_respond_to_acs() => self.error_response(sp, target, &e, ip).await,
            Err(e) => Err(anyhow::anyhow!("building the SAML Response: {e}")),
        }
    }

    async fn error_response(
        &self,
        sp: &ServiceProvider,
        target: ResponseTarget,
        e: &SamlError,
        ip: Option<&str>,
    ) -> anyhow::Result<SsoOutcome> {
        self.audit(
            "anonymous",
            &sp.entity_id,
            false,
            json!({ "error": e.to_string(), "in_response_to": target.in_response_to }),
            ip,
        )
        .await;
        let r = build_error_response(
            &self.idp,
            self.key().await?.signing_at(self.now().unix_timestamp()),
            &target,
            e,
            None,
            self.now(),
            &mut rand::rngs::OsRng,
        )?;
        Ok(SsoOutcome::Post(r))
    }
}
