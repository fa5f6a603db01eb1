//! SAML 2.0 identity provider: AuthnRequest / LogoutRequest in; Response, Assertion, metadata
//! and LogoutRequest / LogoutResponse out; the HTTP-Redirect and HTTP-POST bindings.
//!
//! Everything is sans-IO. The server hands in the raw query string or form value, the
//! registered [`ServiceProvider`]s, `now` and a cryptographic random source, and gets back typed
//! values (or a typed [`SamlError`] that says which SAML StatusCode applies and whether a
//! response may be sent to the SP at all).
//!
//! # Flow (SP-initiated Web Browser SSO)
//!
//! 1. [`bindings::InboundMessage::from_redirect_query`] (GET) or
//!    [`bindings::InboundMessage::from_post_form`] (POST) decodes the message under hard size
//!    caps (no inflate for POST; inflate with an output cap for Redirect).
//! 2. [`authn_request::validate_authn_request`] parses it with the strict XML reader of
//!    [`crate::xmldsig`] (no DOCTYPE, bounded), finds the registered SP by Issuer, verifies the
//!    signature (enveloped for POST, query string for Redirect) and resolves the ACS by exact
//!    match. Any error here means "show an error page": nothing is sent to an unverified URL.
//!    The returned [`authn_request::AuthnRequest::id`] must be recorded single-use by the server.
//! 3. [`authn_request::AuthnRequest::decide`] says whether an existing session may be used or a
//!    (stronger) sign-in must run; [`authn_request::AuthnRequest::name_id_format`] and
//!    [`authn_request::AuthnRequest::authn_context_class`] check NameIDPolicy and
//!    RequestedAuthnContext. Their errors may be answered with an error Response to the ACS
//!    ([`SamlError::may_respond_to_acs`], [`response::build_error_response`]).
//! 4. [`response::build_response`] produces the signed (and optionally encrypted) Response;
//!    [`bindings::post_form_html`] wraps it in an HTML form.
//!
//! Signatures are made and checked by [`crate::xmldsig`]; keys of SPs come only from their
//! settings or metadata, never from KeyInfo.
//!
//! ```
//! use passlogic_idp_core::pipeline::{AuthnContext, Method};
//! use passlogic_idp_core::saml::authn_request::{validate_authn_request, Decision};
//! use passlogic_idp_core::saml::bindings::{deflate, percent_encode, InboundMessage};
//! use passlogic_idp_core::saml::response::{build_response, AssertionInput, ResponseTarget};
//! use passlogic_idp_core::saml::{IdpSettings, MessageLimits, Principal, ServiceProvider, SigningKey};
//! # use base64::Engine as _;
//! # use rand::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! # let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?)?;
//! # let mut name = openssl::x509::X509NameBuilder::new()?;
//! # name.append_entry_by_text("CN", "idp.example.org")?;
//! # let name = name.build();
//! # let mut b = openssl::x509::X509Builder::new()?;
//! # b.set_version(2)?;
//! # b.set_subject_name(&name)?;
//! # b.set_issuer_name(&name)?;
//! # b.set_pubkey(&key)?;
//! # let (nb, na) = (openssl::asn1::Asn1Time::days_from_now(0)?, openssl::asn1::Asn1Time::days_from_now(30)?);
//! # b.set_not_before(&nb)?;
//! # b.set_not_after(&na)?;
//! # b.sign(&key, openssl::hash::MessageDigest::sha256())?;
//! # let cert_der = b.build().to_der()?;
//! let idp = IdpSettings {
//!     entity_id: "https://idp.example.org/saml".into(),
//!     sso_redirect_url: "https://idp.example.org/saml/sso".into(),
//!     sso_post_url: "https://idp.example.org/saml/sso".into(),
//!     slo_redirect_url: None,
//!     slo_post_url: None,
//!     want_authn_requests_signed: false,
//!     limits: MessageLimits::default(),
//! };
//! let sps = vec![ServiceProvider::box_com()];
//! let now = time::macros::datetime!(2026-11-26 08:00:00 UTC);
//!
//! // Box sends an AuthnRequest by HTTP-Redirect (the server passes the raw query string).
//! let request = r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_b1" Version="2.0" IssueInstant="2026-11-26T07:59:58Z" Destination="https://idp.example.org/saml/sso"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">box.net</saml:Issuer></samlp:AuthnRequest>"#;
//! let b64 = base64::engine::general_purpose::STANDARD.encode(deflate(request.as_bytes()));
//! let query = format!("SAMLRequest={}&RelayState=xyz", percent_encode(&b64));
//! let msg = InboundMessage::from_redirect_query(&query, &idp.limits)?;
//! let req = validate_authn_request(&msg, &idp, &sps, now)?; // Err => error page
//! // The server records req.id single-use, then runs (or reuses) the sign-in.
//! let sp = &sps[0];
//! assert_eq!(req.decide(sp, None)?, Decision::Authenticate { min_level: None });
//! let ctx = AuthnContext::from_methods(vec![Method::Matrix, Method::Totp], now.unix_timestamp());
//! let class = req.authn_context_class(sp, &ctx)?;
//! let user = Principal {
//!     user_id: "u1".into(),
//!     user_name: "alice".into(),
//!     email: Some("alice@example.com".into()),
//!     ..Principal::default()
//! };
//! let input = AssertionInput {
//!     principal: &user,
//!     authn_context: &ctx,
//!     authn_class: Some(class),
//!     session_index: "_s1".into(),
//!     session_not_on_or_after: None,
//! };
//! let signing = SigningKey { key, cert_der };
//! let target = ResponseTarget::for_request(&req);
//! let response = build_response(&idp, &signing, sp, &target, &input, now, &mut rng)?;
//! assert_eq!(response.acs_url, "https://sso.services.box.net/sp/ACS.saml2");
//! assert!(response.xml.contains("InResponseTo=\"_b1\""));
//! let page = response.post_form_html(); // plain form; the server adds its nonce'd script
//! assert!(page.contains("name=\"RelayState\" value=\"xyz\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod authn_request;
pub mod bindings;
pub mod error;
pub mod logout;
pub mod metadata;
pub mod response;
pub mod sp;

// The strict XML reader of the xmldsig module: the SAML code reads messages with exactly the
// parser the signature verifier uses (no parser differential).
use crate::xmldsig::parse as xml;
use crate::xmldsig::Limits as XmlLimits;

pub use error::{SamlError, StatusCode, SubStatus};
pub use sp::{
    AcsEndpoint, AttributeRelease, AttributeSource, AuthnContextMapping, Binding, Endpoint,
    NameIdSource, Principal, ServiceProvider, SignWhat,
};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::pkey::{PKey, Private};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use xml::{Document, NodeId};

/// SAML 2.0 assertion namespace.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 protocol namespace.
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 metadata namespace.
pub const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XMLDSig namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// NameID format URIs.
pub mod nameid_format {
    /// `urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified`
    pub const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
    /// `urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`
    pub const EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
    /// `urn:oasis:names:tc:SAML:2.0:nameid-format:persistent`
    pub const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    /// `urn:oasis:names:tc:SAML:2.0:nameid-format:transient`
    pub const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
}

/// AuthnContextClassRef URIs used by the presets.
pub mod authn_class {
    /// Password over TLS (single factor).
    pub const PASSWORD_PROTECTED_TRANSPORT: &str =
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
    /// Plain password.
    pub const PASSWORD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password";
    /// Unspecified.
    pub const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";
    /// Microsoft Entra's "MFA was done by the federated IdP" class.
    pub const MICROSOFT_MULTIPLE_AUTHN: &str = "http://schemas.microsoft.com/claims/multipleauthn";
    /// REFEDS MFA profile.
    pub const REFEDS_MFA: &str = "https://refeds.org/profile/mfa";
}

/// Size and freshness limits applied to inbound messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageLimits {
    /// Longest accepted raw (URL-encoded) `SAMLRequest`/`SAMLResponse` query value, checked
    /// before decoding (default 16 KiB).
    pub max_redirect_value: usize,
    /// Longest accepted HTTP-POST form value (base64), checked before decoding (default 256 KiB).
    pub max_post_value: usize,
    /// Largest inflated Redirect message (default 64 KiB); inflation stops there.
    pub max_inflated: usize,
    /// Longest accepted RelayState in bytes (default 1024; the spec's 80 is not enforced).
    pub max_relay_state: usize,
    /// Largest accepted SP metadata document (default 1 MiB).
    pub max_metadata: usize,
    /// Allowed clock difference for IssueInstant / NotOnOrAfter checks (default 180 s).
    pub clock_skew_seconds: i64,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_redirect_value: 16 * 1024,
            max_post_value: 256 * 1024,
            max_inflated: 64 * 1024,
            max_relay_state: 1024,
            max_metadata: 1024 * 1024,
            clock_skew_seconds: 180,
        }
    }
}

impl MessageLimits {
    pub(crate) fn skew(&self) -> Duration {
        Duration::seconds(self.clock_skew_seconds.clamp(0, 86_400))
    }
}

/// Our own IdP's identity and endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpSettings {
    /// Our entity ID (the Issuer of everything we send).
    pub entity_id: String,
    /// SingleSignOnService URL for HTTP-Redirect (AuthnRequest Destination must equal it).
    pub sso_redirect_url: String,
    /// SingleSignOnService URL for HTTP-POST.
    pub sso_post_url: String,
    /// SingleLogoutService URL for HTTP-Redirect.
    pub slo_redirect_url: Option<String>,
    /// SingleLogoutService URL for HTTP-POST.
    pub slo_post_url: Option<String>,
    /// Published in metadata as `WantAuthnRequestsSigned`; when true every SP's requests must
    /// be signed, whatever its own setting.
    #[serde(default)]
    pub want_authn_requests_signed: bool,
    /// Inbound limits.
    #[serde(default)]
    pub limits: MessageLimits,
}

impl IdpSettings {
    /// The SSO URL for a binding.
    pub fn sso_url(&self, binding: Binding) -> &str {
        match binding {
            Binding::HttpRedirect => &self.sso_redirect_url,
            Binding::HttpPost => &self.sso_post_url,
        }
    }

    /// The SLO URL for a binding, if configured.
    pub fn slo_url(&self, binding: Binding) -> Option<&str> {
        match binding {
            Binding::HttpRedirect => self.slo_redirect_url.as_deref(),
            Binding::HttpPost => self.slo_post_url.as_deref(),
        }
    }
}

/// Our signing key and its certificate (DER).
pub struct SigningKey {
    /// The private key (RSA; RSA-SHA256 is used).
    pub key: PKey<Private>,
    /// The certificate, DER; put into KeyInfo and metadata.
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key", &"[redacted]")
            .field("cert_der_len", &self.cert_der.len())
            .finish()
    }
}

/// A lookup of registered SPs by entity ID.
pub trait SpDirectory {
    /// The SP registered with this exact entity ID.
    fn service_provider(&self, entity_id: &str) -> Option<&ServiceProvider>;
}

impl SpDirectory for [ServiceProvider] {
    fn service_provider(&self, entity_id: &str) -> Option<&ServiceProvider> {
        self.iter().find(|s| s.entity_id == entity_id)
    }
}

impl SpDirectory for Vec<ServiceProvider> {
    fn service_provider(&self, entity_id: &str) -> Option<&ServiceProvider> {
        self.as_slice().service_provider(entity_id)
    }
}

impl SpDirectory for std::collections::HashMap<String, ServiceProvider> {
    fn service_provider(&self, entity_id: &str) -> Option<&ServiceProvider> {
        self.get(entity_id)
    }
}

impl SpDirectory for ServiceProvider {
    fn service_provider(&self, entity_id: &str) -> Option<&ServiceProvider> {
        (self.entity_id == entity_id).then_some(self)
    }
}

/// A fresh message ID: `_` followed by 40 lower-case hex digits (160 random bits).
pub fn new_id<R: RngCore + CryptoRng>(rng: &mut R) -> String {
    let mut b = [0u8; 20];
    rng.fill_bytes(&mut b);
    let mut s = String::with_capacity(41);
    s.push('_');
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// `xs:dateTime` in UTC with second precision, e.g. `2026-11-26T08:00:00Z`.
pub fn format_instant(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Parse an `xs:dateTime` with an explicit offset (SAML requires UTC `Z`).
pub(crate) fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).ok()
}

/// Whether `id` is an acceptable SAML ID: an NCName made of ASCII letters, digits, `_`, `-`,
/// `.`, starting with a letter or `_`, at most 256 bytes.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && id.len() <= 256
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Escape text / attribute content for XML output.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\r' => o.push_str("&#13;"),
            '\n' => o.push_str("&#10;"),
            '\t' => o.push_str("&#9;"),
            _ => o.push(c),
        }
    }
    o
}

/// Base64 of bytes (standard alphabet, no line breaks).
pub(crate) fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decode base64 ignoring ASCII whitespace (line-wrapped values are common).
pub(crate) fn b64_decode_lenient(s: &str) -> Option<Vec<u8>> {
    let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(clean).ok()
}

// ---- small DOM helpers over the strict reader ----

pub(crate) fn parse_xml(xml: &str, max_bytes: usize) -> Result<Document, SamlError> {
    xml::parse(
        xml,
        &XmlLimits {
            max_bytes,
            ..XmlLimits::default()
        },
    )
    .map_err(SamlError::Xml)
}

pub(crate) fn root_is(doc: &Document, ns: &str, local: &str) -> bool {
    doc.element(doc.root).is_some_and(|e| e.is(ns, local))
}

pub(crate) fn attr<'d>(doc: &'d Document, id: NodeId, name: &str) -> Option<&'d str> {
    doc.element(id).and_then(|e| e.attr(name))
}

pub(crate) fn children(doc: &Document, id: NodeId, ns: &str, local: &str) -> Vec<NodeId> {
    doc.child_elements(id)
        .into_iter()
        .filter(|(_, e)| e.is(ns, local))
        .map(|(i, _)| i)
        .collect()
}

pub(crate) fn child(doc: &Document, id: NodeId, ns: &str, local: &str) -> Option<NodeId> {
    children(doc, id, ns, local).into_iter().next()
}

/// The element's text (all text children joined, comments skipped); `None` when it has
/// element children.
pub(crate) fn text(doc: &Document, id: NodeId) -> Option<String> {
    doc.simple_text(id)
}

/// Whether any `ds:Signature` element exists anywhere in the document.
pub(crate) fn has_signature(doc: &Document) -> bool {
    doc.elements().any(|(_, e)| e.is(NS_DS, "Signature"))
}

/// A boolean XML attribute (`true`/`1` or `false`/`0`).
pub(crate) fn xml_bool(v: Option<&str>) -> Result<Option<bool>, ()> {
    match v.map(str::trim) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(()),
    }
}
