//! Per-SP settings ([`ServiceProvider`]), the user data an assertion is built from
//! ([`Principal`]), and presets for Microsoft 365 / Entra, Google Workspace, Salesforce and Box.
//!
//! The presets reproduce `research/federation.md` and the fixtures in `fixtures/sp/` (the tests
//! check that each preset equals its fixture settings file).

use std::collections::BTreeMap;

use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use serde::{Deserialize, Serialize};

use super::{authn_class, nameid_format, SamlError};
use crate::pipeline::{AssuranceLevel, AuthnContext};

/// The SAML bindings this IdP speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Binding {
    /// `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect`
    #[serde(rename = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect")]
    HttpRedirect,
    /// `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST`
    #[serde(rename = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")]
    HttpPost,
}

impl Binding {
    /// The binding URI.
    pub fn uri(self) -> &'static str {
        match self {
            Binding::HttpRedirect => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            Binding::HttpPost => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
        }
    }

    /// Parses a binding URI (exact match); other bindings (Artifact, SOAP, PAOS) give `None`.
    pub fn from_uri(uri: &str) -> Option<Binding> {
        match uri {
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" => Some(Binding::HttpRedirect),
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" => Some(Binding::HttpPost),
            _ => None,
        }
    }
}

/// An AssertionConsumerService endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcsEndpoint {
    /// Location (compared byte for byte with a requested AssertionConsumerServiceURL).
    pub url: String,
    /// Binding of the endpoint (responses are only sent to HTTP-POST endpoints).
    pub binding: Binding,
    /// `index`.
    pub index: u16,
    /// `isDefault`.
    #[serde(default)]
    pub is_default: bool,
}

/// A SingleLogoutService endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Location (requests go here).
    pub url: String,
    /// ResponseLocation (responses go here when set).
    #[serde(default)]
    pub response_url: Option<String>,
    /// Binding.
    pub binding: Binding,
}

/// Which elements of a Response are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignWhat {
    /// Only the Response (the assertion is covered by the Response signature).
    Response,
    /// Only the Assertion (Entra, Salesforce, Box).
    Assertion,
    /// The Assertion, then the Response around the signed Assertion (Google).
    Both,
}

/// Where the NameID value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameIdSource {
    /// [`Principal::email`].
    Email,
    /// [`Principal::user_name`].
    UserName,
    /// The first value of [`Principal::attributes`]`[name]` (e.g. Entra's ImmutableID,
    /// Salesforce's Federation ID).
    ExternalId(String),
    /// [`Principal::persistent_id`] (an opaque, per-SP value; see [`pairwise_id`]).
    Persistent,
}

/// Where an attribute value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeSource {
    /// E-mail address.
    Email,
    /// User name.
    UserName,
    /// Given name.
    GivenName,
    /// Surname.
    Surname,
    /// Display name.
    DisplayName,
    /// Group names (multi-valued).
    Groups,
    /// All values of [`Principal::attributes`]`[name]`.
    External(String),
    /// A fixed value.
    Constant(String),
}

/// One attribute released to the SP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeRelease {
    /// Attribute `Name`, exactly as the SP expects it.
    pub name: String,
    /// `NameFormat` (omitted when `None`).
    #[serde(default)]
    pub name_format: Option<String>,
    /// Value source.
    pub source: AttributeSource,
}

/// AuthnContextClassRef per achieved assurance level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthnContextMapping {
    /// Class for one factor.
    pub single: String,
    /// Class for multi-factor.
    pub multi: String,
    /// Class for multi-factor with a hardware-bound factor.
    pub multi_hardware: String,
}

impl Default for AuthnContextMapping {
    fn default() -> Self {
        AuthnContextMapping {
            single: authn_class::PASSWORD_PROTECTED_TRANSPORT.to_owned(),
            multi: authn_class::REFEDS_MFA.to_owned(),
            multi_hardware: authn_class::REFEDS_MFA.to_owned(),
        }
    }
}

impl AuthnContextMapping {
    /// The class for a level.
    pub fn for_level(&self, level: AssuranceLevel) -> &str {
        match level {
            AssuranceLevel::Single => &self.single,
            AssuranceLevel::Multi => &self.multi,
            AssuranceLevel::MultiHardware => &self.multi_hardware,
        }
    }
}

/// Assertion encryption algorithm (data encryption; the key is RSA-OAEP-MGF1P with SHA-1 to
/// the SP's encryption certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataEncryption {
    /// `http://www.w3.org/2009/xmlenc11#aes256-gcm` (default).
    #[default]
    Aes256Gcm,
    /// `http://www.w3.org/2001/04/xmlenc#aes256-cbc` (for SPs without GCM support).
    Aes256Cbc,
}

fn default_true() -> bool {
    true
}
fn default_assertion_lifetime() -> i64 {
    300
}

/// Everything the IdP knows about one SAML SP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceProvider {
    /// The SP's entity ID (the Issuer of its requests; the Audience by default).
    pub entity_id: String,
    /// Registered ACS endpoints.
    pub acs: Vec<AcsEndpoint>,
    /// Registered SingleLogoutService endpoints.
    #[serde(default)]
    pub slo: Vec<Endpoint>,
    /// Certificates (base64 DER) whose keys may sign the SP's requests.
    #[serde(default)]
    pub signing_certs: Vec<String>,
    /// Certificate (base64 DER) to encrypt assertions to; encryption is on when set.
    #[serde(default)]
    pub encryption_cert: Option<String>,
    /// Data encryption algorithm when encrypting.
    #[serde(default)]
    pub encryption: DataEncryption,
    /// AuthnRequests must be signed.
    #[serde(default)]
    pub want_authn_requests_signed: bool,
    /// LogoutRequests must be signed (default true: an unauthenticated logout is refused).
    #[serde(default = "default_true")]
    pub want_logout_requests_signed: bool,
    /// What to sign in Responses.
    pub sign: SignWhat,
    /// The NameID Format we issue (pinned, not negotiated).
    pub name_id_format: String,
    /// Where the NameID value comes from.
    pub name_id_source: NameIdSource,
    /// Attributes to release (an empty list omits the AttributeStatement).
    #[serde(default)]
    pub attributes: Vec<AttributeRelease>,
    /// AuthnContextClassRef per level.
    #[serde(default)]
    pub authn_context: AuthnContextMapping,
    /// Never emit `saml:AuthenticatingAuthority` (Microsoft rejects it: AADSTS500132).
    #[serde(default)]
    pub omit_authenticating_authority: bool,
    /// Accept RSA-SHA1 / SHA-1 signatures on inbound requests (Entra's signed requests).
    #[serde(default)]
    pub allow_sha1_inbound: bool,
    /// Lifetime in seconds of the assertion (Conditions NotOnOrAfter and
    /// SubjectConfirmationData NotOnOrAfter); default 300.
    #[serde(default = "default_assertion_lifetime")]
    pub assertion_lifetime_seconds: i64,
    /// Audience to use instead of `entity_id`.
    #[serde(default)]
    pub audience: Option<String>,
    /// Accept `http://` ACS URLs on the loopback interface (`127.0.0.1`, `[::1]`,
    /// `localhost`), for an SP running on the same machine (demos, `examples/saml-sp`, tests).
    /// Off by default; never serialised when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http_loopback_acs: bool,
}

/// Whether `url` is `http://` to a loopback host (with a port or path after it).
fn is_http_loopback(url: &str) -> bool {
    ["http://127.0.0.1", "http://[::1]", "http://localhost"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        })
}

impl ServiceProvider {
    /// A minimal SP: one POST ACS, e-mail NameID, assertion signed, nothing else.
    pub fn new(entity_id: &str, acs_url: &str) -> ServiceProvider {
        ServiceProvider {
            entity_id: entity_id.to_owned(),
            acs: vec![AcsEndpoint {
                url: acs_url.to_owned(),
                binding: Binding::HttpPost,
                index: 0,
                is_default: true,
            }],
            slo: Vec::new(),
            signing_certs: Vec::new(),
            encryption_cert: None,
            encryption: DataEncryption::default(),
            want_authn_requests_signed: false,
            want_logout_requests_signed: true,
            sign: SignWhat::Assertion,
            name_id_format: nameid_format::EMAIL.to_owned(),
            name_id_source: NameIdSource::Email,
            attributes: Vec::new(),
            authn_context: AuthnContextMapping::default(),
            omit_authenticating_authority: false,
            allow_sha1_inbound: false,
            assertion_lifetime_seconds: default_assertion_lifetime(),
            audience: None,
            allow_http_loopback_acs: false,
        }
    }

    /// Check the settings before registering them: a non-empty entity ID, at least one
    /// HTTP-POST ACS with an `https://` URL (plain `http://` is refused, except on the loopback
    /// interface with `allow_http_loopback_acs`), unique ACS indexes,
    /// readable certificates (an RSA encryption certificate), a lifetime of 30 s to 24 h, and
    /// `want_authn_requests_signed` only with a signing certificate.
    pub fn validate(&self) -> Result<(), SamlError> {
        let bad = SamlError::Config;
        if self.entity_id.trim().is_empty() {
            return Err(bad("empty entity ID"));
        }
        if !self.acs.iter().any(|a| a.binding == Binding::HttpPost) {
            return Err(bad("no HTTP-POST AssertionConsumerService"));
        }
        let acceptable = |u: &str| {
            u.starts_with("https://") || (self.allow_http_loopback_acs && is_http_loopback(u))
        };
        if self.acs.iter().any(|a| !acceptable(&a.url)) {
            return Err(bad("AssertionConsumerService URLs must be https"));
        }
        for (i, a) in self.acs.iter().enumerate() {
            if self.acs.iter().skip(i + 1).any(|b| b.index == a.index) {
                return Err(bad("duplicate ACS index"));
            }
        }
        self.signing_keys()?;
        if self.want_authn_requests_signed && self.signing_certs.is_empty() {
            return Err(bad("signed requests wanted but no signing certificate"));
        }
        if let Some(c) = &self.encryption_cert {
            cert_from_b64(c)?
                .public_key()
                .and_then(|k| k.rsa())
                .map_err(|_| SamlError::BadCertificate("encryption certificate is not RSA"))?;
        }
        if !(30..=86_400).contains(&self.assertion_lifetime_seconds) {
            return Err(bad("assertion lifetime must be 30 s to 24 h"));
        }
        Ok(())
    }

    /// The Audience we put into assertions.
    pub fn audience(&self) -> &str {
        self.audience.as_deref().unwrap_or(&self.entity_id)
    }

    /// The AuthnContextClassRef for a completed sign-in, per this SP's mapping (e.g.
    /// PasswordProtectedTransport for one factor; for Entra
    /// `http://schemas.microsoft.com/claims/multipleauthn` when the level is at least Multi).
    pub fn authn_context_for(&self, ctx: &AuthnContext) -> String {
        self.authn_context.for_level(ctx.level).to_owned()
    }

    /// The public keys of [`ServiceProvider::signing_certs`].
    pub fn signing_keys(&self) -> Result<Vec<PKey<Public>>, SamlError> {
        self.signing_certs
            .iter()
            .map(|c| {
                cert_from_b64(c)?
                    .public_key()
                    .map_err(|_| SamlError::BadCertificate("no public key"))
            })
            .collect()
    }

    /// The ACS endpoint used when a request names none: the HTTP-POST endpoint marked
    /// `is_default`, else the first HTTP-POST endpoint.
    pub fn default_acs(&self) -> Option<&AcsEndpoint> {
        let post = || self.acs.iter().filter(|a| a.binding == Binding::HttpPost);
        post().find(|a| a.is_default).or_else(|| post().next())
    }

    /// Microsoft 365 / Entra ID domain federation (`urn:federation:MicrosoftOnline`): persistent
    /// NameID from the `immutable_id` attribute, `IDPEmail` = UPN (`upn` attribute, falling
    /// back to nothing), assertion signed, `multipleauthn` after MFA, no AuthenticatingAuthority,
    /// SHA-1 accepted on inbound (Entra's optional request signing uses RSA-SHA1). Requests are
    /// not required to be signed (off by default at Entra); add Entra's certificate and set
    /// `want_authn_requests_signed` when `isSignedAuthenticationRequestRequired` is on.
    pub fn microsoft_entra() -> ServiceProvider {
        let mut sp = ServiceProvider::new(
            "urn:federation:MicrosoftOnline",
            "https://login.microsoftonline.com/login.srf",
        );
        sp.name_id_format = nameid_format::PERSISTENT.to_owned();
        sp.name_id_source = NameIdSource::ExternalId("immutable_id".to_owned());
        sp.attributes = vec![AttributeRelease {
            name: "IDPEmail".to_owned(),
            name_format: None,
            source: AttributeSource::External("upn".to_owned()),
        }];
        sp.authn_context = AuthnContextMapping {
            single: authn_class::PASSWORD_PROTECTED_TRANSPORT.to_owned(),
            multi: authn_class::MICROSOFT_MULTIPLE_AUTHN.to_owned(),
            multi_hardware: authn_class::MICROSOFT_MULTIPLE_AUTHN.to_owned(),
        };
        sp.omit_authenticating_authority = true;
        sp.allow_sha1_inbound = true;
        sp.want_logout_requests_signed = false;
        sp.slo = vec![Endpoint {
            url: "https://login.microsoftonline.com/login.srf".to_owned(),
            response_url: None,
            binding: Binding::HttpRedirect,
        }];
        sp
    }

    /// Google Workspace, legacy organisation SSO profile: entity `google.com` (or
    /// `google.com/a/<domain>` with `domain_specific_issuer`), ACS
    /// `https://www.google.com/a/<domain>/acs` (default; `https://accounts.google.com/a/<domain>/acs`
    /// registered as index 1), e-mail NameID, Response and Assertion signed,
    /// no attributes, no SLO.
    pub fn google_workspace(primary_domain: &str, domain_specific_issuer: bool) -> ServiceProvider {
        let entity = if domain_specific_issuer {
            format!("google.com/a/{primary_domain}")
        } else {
            "google.com".to_owned()
        };
        let mut sp = ServiceProvider::new(
            &entity,
            &format!("https://www.google.com/a/{primary_domain}/acs"),
        );
        // Google's requests name their ACS; the accounts.google.com form is accepted too [G1].
        sp.acs.push(AcsEndpoint {
            url: format!("https://accounts.google.com/a/{primary_domain}/acs"),
            binding: Binding::HttpPost,
            index: 1,
            is_default: false,
        });
        sp.sign = SignWhat::Both;
        sp
    }

    /// Google Workspace "SSO profile" (new style): entity
    /// `https://accounts.google.com/samlrp/metadata?rpid=<id>`, ACS
    /// `https://accounts.google.com/samlrp/acs?rpid=<id>`; otherwise like
    /// [`ServiceProvider::google_workspace`].
    pub fn google_workspace_profile(rpid: &str) -> ServiceProvider {
        let mut sp = ServiceProvider::new(
            &format!("https://accounts.google.com/samlrp/metadata?rpid={rpid}"),
            &format!("https://accounts.google.com/samlrp/acs?rpid={rpid}"),
        );
        sp.sign = SignWhat::Both;
        sp
    }

    /// Salesforce My Domain `https://<sub>.my.salesforce.com` (entity and ACS): NameID =
    /// Federation ID (`federation_id` attribute, unspecified format), assertion signed,
    /// requests signed (RSA-SHA1 or RSA-SHA256 accepted), SLO by POST to `/services/auth/sp/saml2/logout`.
    /// Register the request-signing certificate from Salesforce's SP metadata.
    pub fn salesforce(my_domain: &str) -> ServiceProvider {
        let base = format!("https://{my_domain}.my.salesforce.com");
        let mut sp = ServiceProvider::new(&base, &base);
        sp.name_id_format = nameid_format::UNSPECIFIED.to_owned();
        sp.name_id_source = NameIdSource::ExternalId("federation_id".to_owned());
        sp.want_authn_requests_signed = true;
        sp.allow_sha1_inbound = true;
        sp.slo = vec![Endpoint {
            url: format!("{base}/services/auth/sp/saml2/logout"),
            response_url: None,
            binding: Binding::HttpPost,
        }];
        sp
    }

    /// Box (`box.net`, ACS `https://sso.services.box.net/sp/ACS.saml2`): e-mail NameID in
    /// emailAddress format, attributes `email`, `givenName`, `sn`, `memberOf`, assertion signed.
    pub fn box_com() -> ServiceProvider {
        let mut sp = ServiceProvider::new("box.net", "https://sso.services.box.net/sp/ACS.saml2");
        sp.attributes = vec![
            release("email", AttributeSource::Email),
            release("givenName", AttributeSource::GivenName),
            release("sn", AttributeSource::Surname),
            release("memberOf", AttributeSource::Groups),
        ];
        sp
    }
}

fn release(name: &str, source: AttributeSource) -> AttributeRelease {
    AttributeRelease {
        name: name.to_owned(),
        name_format: None,
        source,
    }
}

/// Read a base64 DER certificate (whitespace ignored).
pub(crate) fn cert_from_b64(b64: &str) -> Result<X509, SamlError> {
    let der = super::b64_decode_lenient(b64).ok_or(SamlError::BadCertificate("bad base64"))?;
    X509::from_der(&der).map_err(|_| SamlError::BadCertificate("not an X.509 certificate"))
}

/// The user an assertion is about, as the server loaded it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Stable internal user ID.
    pub user_id: String,
    /// Sign-in name.
    pub user_name: String,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Surname.
    #[serde(default)]
    pub surname: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Opaque persistent ID for this SP (see [`pairwise_id`]).
    #[serde(default)]
    pub persistent_id: Option<String>,
    /// Further attributes by name (e.g. `immutable_id`, `upn`, `federation_id`).
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl Principal {
    /// Values of an attribute source (empty when the user has none).
    pub fn values(&self, source: &AttributeSource) -> Vec<String> {
        let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
        match source {
            AttributeSource::Email => one(&self.email),
            AttributeSource::UserName => vec![self.user_name.clone()],
            AttributeSource::GivenName => one(&self.given_name),
            AttributeSource::Surname => one(&self.surname),
            AttributeSource::DisplayName => one(&self.display_name),
            AttributeSource::Groups => self.groups.clone(),
            AttributeSource::External(n) => self.attributes.get(n).cloned().unwrap_or_default(),
            AttributeSource::Constant(v) => vec![v.clone()],
        }
    }

    /// The NameID value for a source; `None` when the user has no such value.
    pub fn name_id(&self, source: &NameIdSource) -> Option<String> {
        let v = match source {
            NameIdSource::Email => self.email.clone(),
            NameIdSource::UserName => Some(self.user_name.clone()),
            NameIdSource::ExternalId(n) => self.attributes.get(n).and_then(|v| v.first().cloned()),
            NameIdSource::Persistent => self.persistent_id.clone(),
        };
        v.filter(|s| !s.is_empty())
    }
}

/// A pairwise persistent identifier: lower-case hex of HMAC-SHA256(`secret`,
/// `user_id` NUL `sp_entity_id`). The same user gets unrelated values at different SPs, and
/// without the secret nobody can link them.
pub fn pairwise_id(secret: &[u8], user_id: &str, sp_entity_id: &str) -> Result<String, SamlError> {
    use openssl::hash::MessageDigest;
    use openssl::sign::Signer;
    let key = PKey::hmac(secret).map_err(|e| SamlError::Crypto(e.to_string()))?;
    let mut s =
        Signer::new(MessageDigest::sha256(), &key).map_err(|e| SamlError::Crypto(e.to_string()))?;
    let mut msg = Vec::new();
    msg.extend_from_slice(user_id.as_bytes());
    msg.push(0);
    msg.extend_from_slice(sp_entity_id.as_bytes());
    s.update(&msg)
        .map_err(|e| SamlError::Crypto(e.to_string()))?;
    let mac = s
        .sign_to_vec()
        .map_err(|e| SamlError::Crypto(e.to_string()))?;
    Ok(mac.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod loopback_tests {
    use super::*;

    #[test]
    fn http_acs_only_on_loopback_and_only_when_allowed() {
        let mut sp = ServiceProvider::new("urn:sp", "http://127.0.0.1:8081/acs");
        assert!(sp.validate().is_err(), "http refused by default");
        sp.allow_http_loopback_acs = true;
        assert!(sp.validate().is_ok());
        for bad in [
            "http://127.0.0.1.evil.example/acs",
            "http://localhost.evil.example/acs",
            "http://10.0.0.1/acs",
        ] {
            sp.acs[0].url = bad.to_owned();
            assert!(sp.validate().is_err(), "{bad}");
        }
        sp.acs[0].url = "http://localhost:9/acs".to_owned();
        assert!(sp.validate().is_ok());
        let json = serde_json::to_string(&ServiceProvider::box_com()).unwrap();
        assert!(
            !json.contains("allow_http_loopback_acs"),
            "not serialised when off"
        );
    }
}
