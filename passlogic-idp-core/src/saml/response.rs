//! Building the SAML Response (and error Responses).
//!
//! Shape of a success Response (SAML core 2.3.3 / 3.3.3, profiles 4.1.4.2):
//! `samlp:Response` (fresh `_`+40-hex ID, IssueInstant, Destination = ACS, InResponseTo unless
//! IdP-initiated) → `saml:Issuer`, `samlp:Status` Success, then one `saml:Assertion` (or
//! `saml:EncryptedAssertion`) with Issuer, Subject (NameID in the SP's format; bearer
//! SubjectConfirmation with InResponseTo, Recipient = ACS, NotOnOrAfter, no NotBefore),
//! Conditions (NotBefore = now − skew, NotOnOrAfter, AudienceRestriction), AuthnStatement
//! (AuthnInstant = the sign-in time, SessionIndex, optional SessionNotOnOrAfter,
//! AuthnContextClassRef, AuthenticatingAuthority only unless the SP omits it) and an
//! AttributeStatement when attributes are released.
//!
//! Signatures are RSA-SHA256 enveloped, placed after the Issuer, with the certificate in
//! KeyInfo; with [`SignWhat::Both`] the Assertion is signed first and the
//! Response signature then covers the signed Assertion.
//!
//! Encryption (when the SP has an encryption certificate): the signed Assertion is encrypted
//! with AES-256-GCM (`http://www.w3.org/2009/xmlenc11#aes256-gcm`; or AES-256-CBC per SP) under
//! a fresh key, transported with RSA-OAEP (`http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p`,
//! MGF1 and digest SHA-1, which is what most SPs expect) to the SP's certificate key.

use openssl::rsa::Padding;
use openssl::symm::{self, Cipher};
use rand::{CryptoRng, RngCore};
use time::OffsetDateTime;

use super::authn_request::AuthnRequest;
use super::bindings::{post_form_html, SamlField};
use super::sp::{cert_from_b64, DataEncryption};
use super::{
    b64, esc, format_instant, new_id, IdpSettings, Principal, SamlError, ServiceProvider, SignWhat,
    SigningKey, StatusCode, SubStatus, NS_ASSERTION, NS_PROTOCOL,
};
use crate::pipeline::AuthnContext;
use crate::xmldsig::{self, Placement, SignatureAlgorithm};

/// Where a Response goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseTarget {
    /// The verified ACS URL (Destination and Recipient).
    pub acs_url: String,
    /// The request ID, `None` for IdP-initiated.
    pub in_response_to: Option<String>,
    /// RelayState to send back unchanged.
    pub relay_state: Option<String>,
}

impl ResponseTarget {
    /// Answer a validated request.
    pub fn for_request(req: &AuthnRequest) -> ResponseTarget {
        ResponseTarget {
            acs_url: req.acs.url.clone(),
            in_response_to: Some(req.id.clone()),
            relay_state: req.relay_state.clone(),
        }
    }

    /// An unsolicited (IdP-initiated) Response to the SP's default ACS.
    pub fn idp_initiated(
        sp: &ServiceProvider,
        relay_state: Option<String>,
    ) -> Result<ResponseTarget, SamlError> {
        let acs = sp.default_acs().ok_or(SamlError::AcsNotRegistered)?;
        Ok(ResponseTarget {
            acs_url: acs.url.clone(),
            in_response_to: None,
            relay_state,
        })
    }
}

/// What the assertion says about the user and the sign-in.
#[derive(Debug, Clone)]
pub struct AssertionInput<'a> {
    /// The user.
    pub principal: &'a Principal,
    /// The completed sign-in (AuthnInstant = `auth_time`).
    pub authn_context: &'a AuthnContext,
    /// The AuthnContextClassRef to assert (from
    /// [`AuthnRequest::authn_context_class`]); `None` uses the SP's mapping.
    pub authn_class: Option<String>,
    /// SessionIndex (the server's session handle for this SP; needed for SLO).
    pub session_index: String,
    /// Optional SessionNotOnOrAfter.
    pub session_not_on_or_after: Option<OffsetDateTime>,
}

/// A built Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedResponse {
    /// The Response XML.
    pub xml: String,
    /// The Response ID.
    pub response_id: String,
    /// The Assertion ID (absent in error Responses).
    pub assertion_id: Option<String>,
    /// Where to POST it.
    pub acs_url: String,
    /// RelayState to POST along.
    pub relay_state: Option<String>,
}

impl IssuedResponse {
    /// The HTTP-POST form page (see [`post_form_html`]).
    pub fn post_form_html(&self) -> String {
        post_form_html(
            &self.acs_url,
            SamlField::Response,
            &self.xml,
            self.relay_state.as_deref(),
        )
    }
}

fn crypto_err(e: impl std::fmt::Display) -> SamlError {
    SamlError::Crypto(e.to_string())
}

fn sign(xml: &str, id: &str, key: &SigningKey) -> Result<String, SamlError> {
    xmldsig::sign_enveloped(
        xml,
        id,
        &key.key,
        Some(&key.cert_der),
        SignatureAlgorithm::RsaSha256,
        Placement::after_saml_issuer(),
    )
    .map_err(crypto_err)
}

fn response_xml(
    idp: &IdpSettings,
    id: &str,
    target: &ResponseTarget,
    now: OffsetDateTime,
    status: &str,
    inner: &str,
) -> String {
    let irt = target
        .in_response_to
        .as_deref()
        .map(|i| format!(" InResponseTo=\"{}\"", esc(i)))
        .unwrap_or_default();
    format!(
        concat!(
            "<samlp:Response xmlns:samlp=\"{p}\" xmlns:saml=\"{a}\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"{now}\" Destination=\"{dest}\"{irt}>",
            "<saml:Issuer>{iss}</saml:Issuer>{status}{inner}</samlp:Response>"
        ),
        p = NS_PROTOCOL,
        a = NS_ASSERTION,
        id = id,
        now = format_instant(now),
        dest = esc(&target.acs_url),
        irt = irt,
        iss = esc(&idp.entity_id),
        status = status,
        inner = inner,
    )
}

/// Build the signed (and, per SP, encrypted) success Response.
///
/// Errors: [`SamlError::InvalidNameIdPolicy`] when the user has no value for the SP's NameID
/// source (may be answered with [`build_error_response`]); crypto errors.
pub fn build_response<R: RngCore + CryptoRng>(
    idp: &IdpSettings,
    key: &SigningKey,
    sp: &ServiceProvider,
    target: &ResponseTarget,
    input: &AssertionInput<'_>,
    now: OffsetDateTime,
    rng: &mut R,
) -> Result<IssuedResponse, SamlError> {
    let response_id = new_id(rng);
    let assertion_id = new_id(rng);
    let name_id = input
        .principal
        .name_id(&sp.name_id_source)
        .ok_or(SamlError::InvalidNameIdPolicy)?;
    let lifetime = time::Duration::seconds(sp.assertion_lifetime_seconds.clamp(30, 86_400));
    let not_on_or_after = format_instant(now + lifetime);
    let irt = target
        .in_response_to
        .as_deref()
        .map(|i| format!(" InResponseTo=\"{}\"", esc(i)))
        .unwrap_or_default();
    let class = input
        .authn_class
        .clone()
        .unwrap_or_else(|| sp.authn_context_for(input.authn_context));
    let authority = if sp.omit_authenticating_authority {
        String::new()
    } else {
        format!(
            "<saml:AuthenticatingAuthority>{}</saml:AuthenticatingAuthority>",
            esc(&idp.entity_id)
        )
    };
    let auth_instant = OffsetDateTime::from_unix_timestamp(input.authn_context.auth_time)
        .map_err(|_| SamlError::Config("auth_time out of range"))?;
    let session_noa = input
        .session_not_on_or_after
        .map(|t| format!(" SessionNotOnOrAfter=\"{}\"", format_instant(t)))
        .unwrap_or_default();
    let mut attributes = String::new();
    for a in &sp.attributes {
        let values = input.principal.values(&a.source);
        if values.is_empty() {
            continue;
        }
        attributes.push_str(&format!("<saml:Attribute Name=\"{}\"", esc(&a.name)));
        if let Some(f) = &a.name_format {
            attributes.push_str(&format!(" NameFormat=\"{}\"", esc(f)));
        }
        attributes.push('>');
        for v in values {
            attributes.push_str(&format!(
                "<saml:AttributeValue>{}</saml:AttributeValue>",
                esc(&v)
            ));
        }
        attributes.push_str("</saml:Attribute>");
    }
    let attribute_statement = if attributes.is_empty() {
        String::new()
    } else {
        format!("<saml:AttributeStatement>{attributes}</saml:AttributeStatement>")
    };
    let assertion = format!(
        concat!(
            "<saml:Assertion xmlns:saml=\"{a}\" ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{now}\">",
            "<saml:Issuer>{iss}</saml:Issuer>",
            "<saml:Subject><saml:NameID Format=\"{fmt}\">{nid}</saml:NameID>",
            "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">",
            "<saml:SubjectConfirmationData{irt} NotOnOrAfter=\"{noa}\" Recipient=\"{acs}\"/>",
            "</saml:SubjectConfirmation></saml:Subject>",
            "<saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\">",
            "<saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction>",
            "</saml:Conditions>",
            "<saml:AuthnStatement AuthnInstant=\"{ai}\" SessionIndex=\"{si}\"{snoa}>",
            "<saml:AuthnContext><saml:AuthnContextClassRef>{class}</saml:AuthnContextClassRef>",
            "{authority}</saml:AuthnContext></saml:AuthnStatement>",
            "{attrs}</saml:Assertion>"
        ),
        a = NS_ASSERTION,
        aid = assertion_id,
        now = format_instant(now),
        iss = esc(&idp.entity_id),
        fmt = esc(&sp.name_id_format),
        nid = esc(&name_id),
        irt = irt,
        noa = not_on_or_after,
        acs = esc(&target.acs_url),
        nb = format_instant(now - idp.limits.skew()),
        aud = esc(sp.audience()),
        ai = format_instant(auth_instant),
        si = esc(&input.session_index),
        snoa = session_noa,
        class = esc(&class),
        authority = authority,
        attrs = attribute_statement,
    );
    let assertion = match sp.sign {
        SignWhat::Assertion | SignWhat::Both => sign(&assertion, &assertion_id, key)?,
        SignWhat::Response => assertion,
    };
    let inner = match &sp.encryption_cert {
        Some(cert) => encrypt_assertion(&assertion, cert, sp.encryption, rng)?,
        None => assertion,
    };
    let status = format!(
        "<samlp:Status><samlp:StatusCode Value=\"{}\"/></samlp:Status>",
        StatusCode::Success.uri()
    );
    let xml = response_xml(idp, &response_id, target, now, &status, &inner);
    let xml = match sp.sign {
        SignWhat::Response | SignWhat::Both => sign(&xml, &response_id, key)?,
        SignWhat::Assertion => xml,
    };
    Ok(IssuedResponse {
        xml,
        response_id,
        assertion_id: Some(assertion_id),
        acs_url: target.acs_url.clone(),
        relay_state: target.relay_state.clone(),
    })
}

/// Build a signed error Response (no assertion) with the status of `error` and an optional
/// StatusMessage. Only for errors with [`SamlError::may_respond_to_acs`] and a verified target.
pub fn build_error_response<R: RngCore + CryptoRng>(
    idp: &IdpSettings,
    key: &SigningKey,
    target: &ResponseTarget,
    error: &SamlError,
    message: Option<&str>,
    now: OffsetDateTime,
    rng: &mut R,
) -> Result<IssuedResponse, SamlError> {
    let (code, sub) = error.status();
    build_status_response(idp, key, target, code, sub, message, now, rng)
}

/// Build a signed Response carrying only a Status (top level, optional second level, optional
/// message).
#[allow(clippy::too_many_arguments)]
pub fn build_status_response<R: RngCore + CryptoRng>(
    idp: &IdpSettings,
    key: &SigningKey,
    target: &ResponseTarget,
    code: StatusCode,
    sub: Option<SubStatus>,
    message: Option<&str>,
    now: OffsetDateTime,
    rng: &mut R,
) -> Result<IssuedResponse, SamlError> {
    let response_id = new_id(rng);
    let status = status_xml(code, sub, message);
    let xml = response_xml(idp, &response_id, target, now, &status, "");
    let xml = sign(&xml, &response_id, key)?;
    Ok(IssuedResponse {
        xml,
        response_id,
        assertion_id: None,
        acs_url: target.acs_url.clone(),
        relay_state: target.relay_state.clone(),
    })
}

pub(crate) fn status_xml(
    code: StatusCode,
    sub: Option<SubStatus>,
    message: Option<&str>,
) -> String {
    let inner = sub
        .map(|s| format!("<samlp:StatusCode Value=\"{}\"/>", s.uri()))
        .unwrap_or_default();
    let code_xml = if inner.is_empty() {
        format!("<samlp:StatusCode Value=\"{}\"/>", code.uri())
    } else {
        format!(
            "<samlp:StatusCode Value=\"{}\">{inner}</samlp:StatusCode>",
            code.uri()
        )
    };
    let msg = message
        .map(|m| format!("<samlp:StatusMessage>{}</samlp:StatusMessage>", esc(m)))
        .unwrap_or_default();
    format!("<samlp:Status>{code_xml}{msg}</samlp:Status>")
}

/// XML Encryption namespace.
pub const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// AES-256-GCM data encryption URI.
pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
/// AES-256-CBC data encryption URI.
pub const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
/// RSA-OAEP (MGF1 with SHA-1) key transport URI.
pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";

/// Encrypt a (signed) Assertion into a `saml:EncryptedAssertion` for the certificate `cert_b64`.
pub fn encrypt_assertion<R: RngCore + CryptoRng>(
    assertion: &str,
    cert_b64: &str,
    alg: DataEncryption,
    rng: &mut R,
) -> Result<String, SamlError> {
    let cert = cert_from_b64(cert_b64)?;
    let rsa = cert
        .public_key()
        .and_then(|k| k.rsa())
        .map_err(|_| SamlError::BadCertificate("encryption certificate is not RSA"))?;
    let mut cek = [0u8; 32];
    rng.fill_bytes(&mut cek);
    let (alg_uri, cipher_value) = match alg {
        DataEncryption::Aes256Gcm => {
            let mut iv = [0u8; 12];
            rng.fill_bytes(&mut iv);
            let mut tag = [0u8; 16];
            let ct = symm::encrypt_aead(
                Cipher::aes_256_gcm(),
                &cek,
                Some(&iv),
                &[],
                assertion.as_bytes(),
                &mut tag,
            )
            .map_err(crypto_err)?;
            let mut out = iv.to_vec();
            out.extend_from_slice(&ct);
            out.extend_from_slice(&tag);
            (AES256_GCM, out)
        }
        DataEncryption::Aes256Cbc => {
            let mut iv = [0u8; 16];
            rng.fill_bytes(&mut iv);
            let ct = symm::encrypt(Cipher::aes_256_cbc(), &cek, Some(&iv), assertion.as_bytes())
                .map_err(crypto_err)?;
            let mut out = iv.to_vec();
            out.extend_from_slice(&ct);
            (AES256_CBC, out)
        }
    };
    let mut ek = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_encrypt(&cek, &mut ek, Padding::PKCS1_OAEP)
        .map_err(crypto_err)?;
    ek.truncate(n);
    Ok(format!(
        concat!(
            "<saml:EncryptedAssertion xmlns:saml=\"{a}\">",
            "<xenc:EncryptedData xmlns:xenc=\"{x}\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\">",
            "<xenc:EncryptionMethod Algorithm=\"{alg}\"/>",
            "<ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
            "<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"{kt}\">",
            "<ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>",
            "</xenc:EncryptionMethod>",
            "<xenc:CipherData><xenc:CipherValue>{ek}</xenc:CipherValue></xenc:CipherData>",
            "</xenc:EncryptedKey></ds:KeyInfo>",
            "<xenc:CipherData><xenc:CipherValue>{cv}</xenc:CipherValue></xenc:CipherData>",
            "</xenc:EncryptedData></saml:EncryptedAssertion>"
        ),
        a = NS_ASSERTION,
        x = NS_XENC,
        alg = alg_uri,
        kt = RSA_OAEP_MGF1P,
        ek = b64(&ek),
        cv = b64(&cipher_value),
    ))
}
