//! Single logout: LogoutRequest in (from an SP), LogoutRequest out (to the other SPs of the
//! session), LogoutResponse out, and the other SPs' LogoutResponses in
//! ([`validate_logout_response`], to decide between Success and PartialLogout).
//!
//! [`validate_logout_request`]: the Issuer must be a registered SP; the signature is required
//! when the SP's `want_logout_requests_signed` is set (the default: an unauthenticated
//! LogoutRequest could end anyone's session) and must verify whenever present; Version, ID,
//! IssueInstant (skew window), NotOnOrAfter and Destination (our SLO URL for the binding) are
//! checked. The server must then check that the NameID and SessionIndex belong to a session
//! of that SP before ending anything, and record the ID single-use.
//!
//! Outbound messages go by HTTP-Redirect (query signature RSA-SHA256) or HTTP-POST (enveloped
//! signature), per the SP's first SingleLogoutService endpoint of the preferred binding.

use rand::{CryptoRng, RngCore};
use time::OffsetDateTime;

use super::authn_request::{authenticate, check_header, issuer_of, max_xml, Authenticated};
use super::bindings::{post_form_html, redirect_url, InboundMessage, SamlField};
use super::response::status_xml;
use super::{
    attr, child, children, esc, format_instant, new_id, parse_instant, parse_xml, root_is, text,
    Binding, Endpoint, IdpSettings, SamlError, ServiceProvider, SigningKey, SpDirectory,
    StatusCode, SubStatus, NS_ASSERTION, NS_PROTOCOL,
};
use crate::xmldsig::{self, Placement, SignatureAlgorithm};

/// A validated LogoutRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Request ID (InResponseTo of our LogoutResponse; record single-use).
    pub id: String,
    /// The SP entity ID.
    pub issuer: String,
    /// The NameID value of the user to log out.
    pub name_id: String,
    /// Its Format, if given.
    pub name_id_format: Option<String>,
    /// SessionIndex values (empty: all sessions of that NameID at this SP).
    pub session_indexes: Vec<String>,
    /// RelayState exactly as received.
    pub relay_state: Option<String>,
    /// The binding it arrived with.
    pub binding: Binding,
    /// Whether it was signed (and verified).
    pub signed: bool,
}

/// A message ready to send through the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// Redirect the browser to this URL (HTTP-Redirect binding, signed query).
    Redirect {
        /// The full URL.
        url: String,
        /// The message ID.
        id: String,
    },
    /// Serve this HTML page (HTTP-POST binding, enveloped signature).
    Post {
        /// The endpoint.
        url: String,
        /// The form page.
        html: String,
        /// The signed XML.
        xml: String,
        /// The message ID.
        id: String,
    },
}

/// Outcome reported in a LogoutResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutStatus {
    /// All session participants were logged out.
    Success,
    /// Some could not be logged out (Success with second-level PartialLogout).
    PartialLogout,
}

/// Decode, authenticate and validate a LogoutRequest from an SP.
pub fn validate_logout_request<D: SpDirectory + ?Sized>(
    msg: &InboundMessage,
    idp: &IdpSettings,
    sps: &D,
    now: OffsetDateTime,
) -> Result<LogoutRequest, SamlError> {
    if msg.field != SamlField::Request {
        return Err(SamlError::WrongMessage("expected SAMLRequest"));
    }
    let max = max_xml(idp);
    let doc = parse_xml(&msg.xml, max)?;
    if !root_is(&doc, NS_PROTOCOL, "LogoutRequest") {
        return Err(SamlError::WrongMessage("not a LogoutRequest"));
    }
    let claimed = issuer_of(&doc)?;
    let sp = sps
        .service_provider(&claimed)
        .ok_or_else(|| SamlError::UnknownIssuer(claimed.clone()))?;
    let Authenticated { doc, signed } = authenticate(
        msg,
        doc,
        "LogoutRequest",
        sp,
        sp.want_logout_requests_signed,
        max,
    )?;
    if issuer_of(&doc)? != claimed {
        return Err(SamlError::SignatureInvalid("issuer changed".into()));
    }
    let expected = idp
        .slo_url(msg.binding)
        .ok_or(SamlError::Config("no SingleLogoutService for this binding"))?;
    let header = check_header(&doc, Some(expected), signed, idp, now)?;
    let root = doc.root;
    if let Some(noa) = attr(&doc, root, "NotOnOrAfter") {
        let t = parse_instant(noa).ok_or(SamlError::Malformed("bad NotOnOrAfter"))?;
        if now >= t + idp.limits.skew() {
            return Err(SamlError::Stale);
        }
    }
    if child(&doc, root, NS_ASSERTION, "EncryptedID").is_some() {
        return Err(SamlError::RequestUnsupported("EncryptedID"));
    }
    let nid = child(&doc, root, NS_ASSERTION, "NameID").ok_or(SamlError::Malformed("no NameID"))?;
    let name_id = text(&doc, nid).ok_or(SamlError::Malformed("bad NameID"))?;
    let session_indexes = children(&doc, root, NS_PROTOCOL, "SessionIndex")
        .into_iter()
        .map(|s| text(&doc, s).ok_or(SamlError::Malformed("bad SessionIndex")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LogoutRequest {
        id: header.id,
        issuer: claimed,
        name_id,
        name_id_format: attr(&doc, nid, "Format").map(str::to_owned),
        session_indexes,
        relay_state: msg.relay_state.clone(),
        binding: msg.binding,
        signed,
    })
}

fn pick_endpoint(sp: &ServiceProvider, prefer: Option<Binding>) -> Result<&Endpoint, SamlError> {
    prefer
        .and_then(|b| sp.slo.iter().find(|e| e.binding == b))
        .or_else(|| sp.slo.first())
        .ok_or(SamlError::Config("the SP has no SingleLogoutService"))
}

fn send(
    url: &str,
    field: SamlField,
    binding: Binding,
    xml: String,
    id: String,
    relay_state: Option<&str>,
    key: &SigningKey,
) -> Result<Outbound, SamlError> {
    match binding {
        Binding::HttpRedirect => Ok(Outbound::Redirect {
            url: redirect_url(url, field, &xml, relay_state, Some(key))?,
            id,
        }),
        Binding::HttpPost => {
            let signed = xmldsig::sign_enveloped(
                &xml,
                &id,
                &key.key,
                Some(&key.cert_der),
                SignatureAlgorithm::RsaSha256,
                Placement::after_saml_issuer(),
            )
            .map_err(|e| SamlError::Crypto(e.to_string()))?;
            Ok(Outbound::Post {
                url: url.to_owned(),
                html: post_form_html(url, field, &signed, relay_state),
                xml: signed,
                id,
            })
        }
    }
}

/// What a LogoutRequest to another SP names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutSubject {
    /// The NameID value we issued to that SP.
    pub name_id: String,
    /// Its format.
    pub name_id_format: String,
    /// The SessionIndex we issued to that SP.
    pub session_index: Option<String>,
}

/// Build a signed LogoutRequest to `sp` (another participant of the session), valid for five
/// minutes, by its SingleLogoutService (HTTP-Redirect preferred).
pub fn build_logout_request<R: RngCore + CryptoRng>(
    idp: &IdpSettings,
    key: &SigningKey,
    sp: &ServiceProvider,
    subject: &LogoutSubject,
    now: OffsetDateTime,
    rng: &mut R,
) -> Result<Outbound, SamlError> {
    let ep = pick_endpoint(sp, Some(Binding::HttpRedirect))?;
    let id = new_id(rng);
    let si = subject
        .session_index
        .as_deref()
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", esc(s)))
        .unwrap_or_default();
    let xml = format!(
        concat!(
            "<samlp:LogoutRequest xmlns:samlp=\"{p}\" xmlns:saml=\"{a}\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"{now}\" Destination=\"{dest}\" NotOnOrAfter=\"{noa}\">",
            "<saml:Issuer>{iss}</saml:Issuer>",
            "<saml:NameID Format=\"{fmt}\">{nid}</saml:NameID>{si}</samlp:LogoutRequest>"
        ),
        p = NS_PROTOCOL,
        a = NS_ASSERTION,
        id = id,
        now = format_instant(now),
        dest = esc(&ep.url),
        noa = format_instant(now + time::Duration::minutes(5)),
        iss = esc(&idp.entity_id),
        fmt = esc(&subject.name_id_format),
        nid = esc(&subject.name_id),
        si = si,
    );
    send(&ep.url, SamlField::Request, ep.binding, xml, id, None, key)
}

/// Build the signed LogoutResponse to a validated LogoutRequest from `sp`, sent to its
/// SingleLogoutService ResponseLocation (or Location), same binding as the request when the SP
/// has one, with the request's RelayState.
#[allow(clippy::too_many_arguments)]
pub fn build_logout_response<R: RngCore + CryptoRng>(
    idp: &IdpSettings,
    key: &SigningKey,
    sp: &ServiceProvider,
    request: &LogoutRequest,
    status: LogoutStatus,
    now: OffsetDateTime,
    rng: &mut R,
) -> Result<Outbound, SamlError> {
    let ep = pick_endpoint(sp, Some(request.binding))?;
    let url = ep.response_url.as_deref().unwrap_or(&ep.url);
    let id = new_id(rng);
    let sub = match status {
        LogoutStatus::Success => None,
        LogoutStatus::PartialLogout => Some(SubStatus::PartialLogout),
    };
    let xml = format!(
        concat!(
            "<samlp:LogoutResponse xmlns:samlp=\"{p}\" xmlns:saml=\"{a}\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"{now}\" Destination=\"{dest}\" InResponseTo=\"{irt}\">",
            "<saml:Issuer>{iss}</saml:Issuer>{status}</samlp:LogoutResponse>"
        ),
        p = NS_PROTOCOL,
        a = NS_ASSERTION,
        id = id,
        now = format_instant(now),
        dest = esc(url),
        irt = esc(&request.id),
        iss = esc(&idp.entity_id),
        status = status_xml(StatusCode::Success, sub, None),
    );
    send(
        url,
        SamlField::Response,
        ep.binding,
        xml,
        id,
        request.relay_state.as_deref(),
        key,
    )
}

/// A validated LogoutResponse from an SP we sent a LogoutRequest to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutResponse {
    /// The SP entity ID.
    pub issuer: String,
    /// The ID of our LogoutRequest it answers.
    pub in_response_to: String,
    /// Top-level status URI.
    pub status: String,
    /// Second-level status URI, if any.
    pub sub_status: Option<String>,
    /// Whether the SP reports success (top-level Success without PartialLogout).
    pub success: bool,
    /// RelayState exactly as received.
    pub relay_state: Option<String>,
}

/// Decode, authenticate and validate a LogoutResponse answering our LogoutRequest
/// `expected_in_response_to` (the ID from [`Outbound`]). The signature rules are those of
/// [`validate_logout_request`] (required when the SP's `want_logout_requests_signed` is set);
/// Destination must be our SLO URL for the binding.
pub fn validate_logout_response<D: SpDirectory + ?Sized>(
    msg: &InboundMessage,
    idp: &IdpSettings,
    sps: &D,
    expected_in_response_to: &str,
    now: OffsetDateTime,
) -> Result<LogoutResponse, SamlError> {
    if msg.field != SamlField::Response {
        return Err(SamlError::WrongMessage("expected SAMLResponse"));
    }
    let max = max_xml(idp);
    let doc = parse_xml(&msg.xml, max)?;
    if !root_is(&doc, NS_PROTOCOL, "LogoutResponse") {
        return Err(SamlError::WrongMessage("not a LogoutResponse"));
    }
    let claimed = issuer_of(&doc)?;
    let sp = sps
        .service_provider(&claimed)
        .ok_or_else(|| SamlError::UnknownIssuer(claimed.clone()))?;
    let Authenticated { doc, signed } = authenticate(
        msg,
        doc,
        "LogoutResponse",
        sp,
        sp.want_logout_requests_signed,
        max,
    )?;
    if issuer_of(&doc)? != claimed {
        return Err(SamlError::SignatureInvalid("issuer changed".into()));
    }
    let expected = idp
        .slo_url(msg.binding)
        .ok_or(SamlError::Config("no SingleLogoutService for this binding"))?;
    check_header(&doc, Some(expected), signed, idp, now)?;
    let root = doc.root;
    let irt = attr(&doc, root, "InResponseTo").unwrap_or_default();
    if irt != expected_in_response_to {
        return Err(SamlError::Malformed(
            "InResponseTo does not match our LogoutRequest",
        ));
    }
    let st = child(&doc, root, NS_PROTOCOL, "Status").ok_or(SamlError::Malformed("no Status"))?;
    let code =
        child(&doc, st, NS_PROTOCOL, "StatusCode").ok_or(SamlError::Malformed("no StatusCode"))?;
    let status = attr(&doc, code, "Value")
        .ok_or(SamlError::Malformed("no StatusCode Value"))?
        .to_owned();
    let sub_status = child(&doc, code, NS_PROTOCOL, "StatusCode")
        .and_then(|c| attr(&doc, c, "Value"))
        .map(str::to_owned);
    let success = status == StatusCode::Success.uri()
        && sub_status.as_deref() != Some(SubStatus::PartialLogout.uri());
    Ok(LogoutResponse {
        issuer: claimed,
        in_response_to: irt.to_owned(),
        status,
        sub_status,
        success,
        relay_state: msg.relay_state.clone(),
    })
}

/// Peek at the InResponseTo of an inbound LogoutResponse without validating anything (to find
/// the logout in progress it answers). The value is unauthenticated: use it only as a lookup
/// key; [`validate_logout_response`] then checks it against the expected ID.
pub fn peek_in_response_to(msg: &InboundMessage, idp: &IdpSettings) -> Result<String, SamlError> {
    if msg.field != SamlField::Response {
        return Err(SamlError::WrongMessage("expected SAMLResponse"));
    }
    let doc = parse_xml(&msg.xml, max_xml(idp))?;
    if !root_is(&doc, NS_PROTOCOL, "LogoutResponse") {
        return Err(SamlError::WrongMessage("not a LogoutResponse"));
    }
    attr(&doc, doc.root, "InResponseTo")
        .map(str::to_owned)
        .ok_or(SamlError::Malformed("no InResponseTo"))
}
