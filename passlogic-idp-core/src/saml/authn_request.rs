//! AuthnRequest intake: parse, authenticate and validate against the registered SP, then decide
//! how to serve it.
//!
//! [`validate_authn_request`] is strict and fails closed; every error it returns means "error
//! page, send nothing" ([`SamlError::may_respond_to_acs`] is false for all of them). Checks, in
//! order: message kind and size, strict XML (no DOCTYPE), root `samlp:AuthnRequest`, Issuer
//! registered, signature (a signature that is present must verify even when not required;
//! enveloped signatures are only accepted with HTTP-POST, query signatures only with
//! HTTP-Redirect), then — read only from the signed bytes when signed — Version, ID (NCName,
//! at most 256 bytes; the server must enforce single use), IssueInstant within the skew window,
//! Destination (equal to our SSO URL for the binding; required when signed), and the ACS:
//! `AssertionConsumerServiceURL` (exact string match) or `AssertionConsumerServiceIndex` (not
//! both), HTTP-POST only, or the SP's default ACS.
//!
//! The methods of [`AuthnRequest`] then check what may be answered with an error Response to
//! the (verified) ACS: NameIDPolicy ([`SamlError::InvalidNameIdPolicy`]), RequestedAuthnContext
//! ([`SamlError::NoAuthnContext`]), IsPassive ([`SamlError::NoPassive`]), a requested Subject
//! ([`SamlError::RequestUnsupported`]).

use time::OffsetDateTime;

use super::bindings::{InboundMessage, SamlField};
use super::xml::{Document, NodeId};
use super::{
    attr, authn_class, child, children, has_signature, is_valid_id, nameid_format, parse_instant,
    parse_xml, root_is, text, xml_bool, AcsEndpoint, Binding, IdpSettings, SamlError,
    ServiceProvider, SpDirectory, NS_ASSERTION, NS_PROTOCOL,
};
use crate::pipeline::{AssuranceLevel, AuthnContext};
use crate::xmldsig::{self, VerifyPolicy};

/// `NameIDPolicy` of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameIdPolicy {
    /// Requested Format.
    pub format: Option<String>,
    /// AllowCreate.
    pub allow_create: Option<bool>,
    /// SPNameQualifier.
    pub sp_name_qualifier: Option<String>,
}

/// `RequestedAuthnContext/@Comparison`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Comparison {
    /// `exact` (the default).
    #[default]
    Exact,
    /// `minimum`.
    Minimum,
    /// `better`.
    Better,
    /// `maximum`.
    Maximum,
}

/// `RequestedAuthnContext` of a request (class references only; DeclRefs are not supported
/// and count as unknown).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestedAuthnContext {
    /// Comparison.
    pub comparison: Comparison,
    /// AuthnContextClassRef values in order.
    pub classes: Vec<String>,
}

/// A validated AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// The request ID (becomes InResponseTo). The server must record it single-use.
    pub id: String,
    /// The SP entity ID (Issuer), registered.
    pub issuer: String,
    /// IssueInstant.
    pub issue_instant: OffsetDateTime,
    /// Destination, if present (then equal to our SSO URL).
    pub destination: Option<String>,
    /// The binding the request came with.
    pub binding: Binding,
    /// The verified ACS to answer to (always HTTP-POST).
    pub acs: AcsEndpoint,
    /// RelayState exactly as received.
    pub relay_state: Option<String>,
    /// ForceAuthn.
    pub force_authn: bool,
    /// IsPassive.
    pub is_passive: bool,
    /// NameIDPolicy.
    pub name_id_policy: Option<NameIdPolicy>,
    /// RequestedAuthnContext.
    pub requested_authn_context: Option<RequestedAuthnContext>,
    /// `Subject/NameID` if the request names a subject (not supported: see
    /// [`AuthnRequest::decide`]).
    pub requested_subject: Option<String>,
    /// Whether the request carried a (verified) signature.
    pub signed: bool,
}

/// What the server should do with a valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The existing session satisfies the request: issue a Response now.
    UseSession,
    /// Run a sign-in (again, or stronger) reaching at least `min_level` (when given).
    Authenticate {
        /// The lowest assurance level that satisfies the RequestedAuthnContext.
        min_level: Option<AssuranceLevel>,
    },
}

/// Peek at the Issuer of an inbound request without validating anything (to load the SP from
/// the store before calling [`validate_authn_request`] or the logout intake). The value is
/// unauthenticated: use it only as a lookup key.
pub fn peek_issuer(msg: &InboundMessage, idp: &IdpSettings) -> Result<String, SamlError> {
    let doc = parse_xml(&msg.xml, max_xml(idp))?;
    issuer_of(&doc)
}

pub(crate) fn max_xml(idp: &IdpSettings) -> usize {
    idp.limits.max_inflated.max(idp.limits.max_post_value)
}

pub(crate) fn issuer_of(doc: &Document) -> Result<String, SamlError> {
    let i =
        child(doc, doc.root, NS_ASSERTION, "Issuer").ok_or(SamlError::Malformed("no Issuer"))?;
    let v = text(doc, i).ok_or(SamlError::Malformed("bad Issuer"))?;
    let v = v.trim();
    if v.is_empty() {
        return Err(SamlError::Malformed("empty Issuer"));
    }
    Ok(v.to_owned())
}

/// The result of authenticating an inbound protocol message: the document to read (the signed
/// bytes when signed) and whether it was signed.
pub(crate) struct Authenticated {
    pub doc: Document,
    pub signed: bool,
}

/// Check the signature of a request message (AuthnRequest or LogoutRequest) from `sp`.
pub(crate) fn authenticate(
    msg: &InboundMessage,
    doc: Document,
    root_local: &'static str,
    sp: &ServiceProvider,
    required: bool,
    max_bytes: usize,
) -> Result<Authenticated, SamlError> {
    let policy = VerifyPolicy {
        allow_sha1: sp.allow_sha1_inbound,
        allow_other_signatures: false,
    };
    let embedded = has_signature(&doc);
    match msg.binding {
        Binding::HttpPost => {
            if msg.redirect_signature.is_some() {
                return Err(SamlError::SignatureInvalid(
                    "query signature with POST".into(),
                ));
            }
            if !embedded {
                return if required {
                    Err(SamlError::SignatureRequired)
                } else {
                    Ok(Authenticated { doc, signed: false })
                };
            }
            let keys = sp.signing_keys()?;
            if keys.is_empty() {
                return Err(SamlError::NoSpKey);
            }
            let limits = xmldsig::Limits {
                max_bytes,
                ..xmldsig::Limits::default()
            };
            let v = xmldsig::verify_enveloped(&msg.xml, &keys, &policy, &limits)
                .map_err(|e| SamlError::SignatureInvalid(e.to_string()))?;
            let root_id = attr(&doc, doc.root, "ID").unwrap_or_default();
            if v.local_name() != root_local
                || v.namespace() != Some(NS_PROTOCOL)
                || v.id() != root_id
            {
                return Err(SamlError::SignatureInvalid(
                    "the signature does not cover the whole message".into(),
                ));
            }
            // From here on only the signed bytes are read.
            let signed_doc = parse_xml(v.canonical_str(), max_bytes.saturating_mul(4))?;
            Ok(Authenticated {
                doc: signed_doc,
                signed: true,
            })
        }
        Binding::HttpRedirect => {
            if embedded {
                return Err(SamlError::SignatureInvalid(
                    "enveloped signature not allowed with HTTP-Redirect".into(),
                ));
            }
            match &msg.redirect_signature {
                None if required => Err(SamlError::SignatureRequired),
                None => Ok(Authenticated { doc, signed: false }),
                Some(rs) => {
                    let keys = sp.signing_keys()?;
                    if keys.is_empty() {
                        return Err(SamlError::NoSpKey);
                    }
                    xmldsig::verify_detached_redirect(
                        rs.signed_part.as_bytes(),
                        &rs.sig_alg,
                        &rs.signature,
                        &keys,
                        &policy,
                    )
                    .map_err(|e| SamlError::SignatureInvalid(e.to_string()))?;
                    Ok(Authenticated { doc, signed: true })
                }
            }
        }
    }
}

/// Version, ID, IssueInstant and Destination of a request message.
pub(crate) struct Header {
    pub id: String,
    pub issue_instant: OffsetDateTime,
    pub destination: Option<String>,
}

pub(crate) fn check_header(
    doc: &Document,
    expected_destination: Option<&str>,
    signed: bool,
    idp: &IdpSettings,
    now: OffsetDateTime,
) -> Result<Header, SamlError> {
    let root = doc.root;
    if attr(doc, root, "Version") != Some("2.0") {
        return Err(SamlError::VersionMismatch);
    }
    let id = attr(doc, root, "ID").ok_or(SamlError::BadId)?;
    if !is_valid_id(id) {
        return Err(SamlError::BadId);
    }
    let instant = attr(doc, root, "IssueInstant")
        .and_then(parse_instant)
        .ok_or(SamlError::Malformed("bad IssueInstant"))?;
    let skew = idp.limits.skew();
    if instant > now + skew || instant < now - skew {
        return Err(SamlError::Stale);
    }
    let destination = attr(doc, root, "Destination").map(str::to_owned);
    match (&destination, expected_destination) {
        (Some(d), Some(e)) if d == e => {}
        (Some(_), _) => return Err(SamlError::WrongDestination),
        (None, _) if signed => return Err(SamlError::WrongDestination),
        (None, _) => {}
    }
    Ok(Header {
        id: id.to_owned(),
        issue_instant: instant,
        destination,
    })
}

/// Decode, authenticate and validate an AuthnRequest against the registered SPs.
///
/// Every error means: show an error page, send nothing to the SP.
pub fn validate_authn_request<D: SpDirectory + ?Sized>(
    msg: &InboundMessage,
    idp: &IdpSettings,
    sps: &D,
    now: OffsetDateTime,
) -> Result<AuthnRequest, SamlError> {
    if msg.field != SamlField::Request {
        return Err(SamlError::WrongMessage("expected SAMLRequest"));
    }
    let max = max_xml(idp);
    let doc = parse_xml(&msg.xml, max)?;
    if !root_is(&doc, NS_PROTOCOL, "AuthnRequest") {
        return Err(SamlError::WrongMessage("not an AuthnRequest"));
    }
    let claimed = issuer_of(&doc)?;
    let sp = sps
        .service_provider(&claimed)
        .ok_or_else(|| SamlError::UnknownIssuer(claimed.clone()))?;
    let required = sp.want_authn_requests_signed || idp.want_authn_requests_signed;
    let Authenticated { doc, signed } = authenticate(msg, doc, "AuthnRequest", sp, required, max)?;
    if issuer_of(&doc)? != claimed {
        return Err(SamlError::SignatureInvalid("issuer changed".into()));
    }
    let header = check_header(&doc, Some(idp.sso_url(msg.binding)), signed, idp, now)?;
    let root = doc.root;
    let acs = resolve_acs(&doc, root, sp)?;
    let flag = |name: &str| {
        xml_bool(attr(&doc, root, name))
            .map(|b| b.unwrap_or(false))
            .map_err(|()| SamlError::Malformed("bad boolean attribute"))
    };
    let force_authn = flag("ForceAuthn")?;
    let is_passive = flag("IsPassive")?;
    let name_id_policy = match child(&doc, root, NS_PROTOCOL, "NameIDPolicy") {
        None => None,
        Some(p) => Some(NameIdPolicy {
            format: attr(&doc, p, "Format").map(str::to_owned),
            allow_create: xml_bool(attr(&doc, p, "AllowCreate"))
                .map_err(|()| SamlError::Malformed("bad AllowCreate"))?,
            sp_name_qualifier: attr(&doc, p, "SPNameQualifier").map(str::to_owned),
        }),
    };
    let requested_authn_context = match child(&doc, root, NS_PROTOCOL, "RequestedAuthnContext") {
        None => None,
        Some(r) => {
            let comparison = match attr(&doc, r, "Comparison") {
                None | Some("exact") => Comparison::Exact,
                Some("minimum") => Comparison::Minimum,
                Some("better") => Comparison::Better,
                Some("maximum") => Comparison::Maximum,
                Some(_) => return Err(SamlError::Malformed("bad Comparison")),
            };
            let mut classes = Vec::new();
            for c in children(&doc, r, NS_ASSERTION, "AuthnContextClassRef") {
                let v = text(&doc, c).ok_or(SamlError::Malformed("bad AuthnContextClassRef"))?;
                classes.push(v.trim().to_owned());
            }
            Some(RequestedAuthnContext {
                comparison,
                classes,
            })
        }
    };
    let requested_subject = child(&doc, root, NS_ASSERTION, "Subject").map(|s| {
        child(&doc, s, NS_ASSERTION, "NameID")
            .and_then(|n| text(&doc, n))
            .unwrap_or_default()
    });
    Ok(AuthnRequest {
        id: header.id,
        issuer: claimed,
        issue_instant: header.issue_instant,
        destination: header.destination,
        binding: msg.binding,
        acs,
        relay_state: msg.relay_state.clone(),
        force_authn,
        is_passive,
        name_id_policy,
        requested_authn_context,
        requested_subject,
        signed,
    })
}

fn resolve_acs(
    doc: &Document,
    root: NodeId,
    sp: &ServiceProvider,
) -> Result<AcsEndpoint, SamlError> {
    if let Some(b) = attr(doc, root, "ProtocolBinding") {
        if b != Binding::HttpPost.uri() {
            return Err(SamlError::UnsupportedBinding);
        }
    }
    let url = attr(doc, root, "AssertionConsumerServiceURL");
    let index = attr(doc, root, "AssertionConsumerServiceIndex");
    let found = match (url, index) {
        (Some(_), Some(_)) => return Err(SamlError::AcsNotRegistered),
        (Some(u), None) => {
            let same: Vec<&AcsEndpoint> = sp.acs.iter().filter(|a| a.url == u).collect();
            if same.is_empty() {
                return Err(SamlError::AcsNotRegistered);
            }
            same.into_iter()
                .find(|a| a.binding == Binding::HttpPost)
                .ok_or(SamlError::UnsupportedBinding)?
        }
        (None, Some(i)) => {
            let i: u16 = i.parse().map_err(|_| SamlError::AcsNotRegistered)?;
            let a = sp
                .acs
                .iter()
                .find(|a| a.index == i)
                .ok_or(SamlError::AcsNotRegistered)?;
            if a.binding != Binding::HttpPost {
                return Err(SamlError::UnsupportedBinding);
            }
            a
        }
        (None, None) => sp.default_acs().ok_or(SamlError::AcsNotRegistered)?,
    };
    Ok(found.clone())
}

fn level_rank(l: AssuranceLevel) -> u8 {
    match l {
        AssuranceLevel::Single => 1,
        AssuranceLevel::Multi => 2,
        AssuranceLevel::MultiHardware => 3,
    }
}

fn rank_level(r: u8) -> Option<AssuranceLevel> {
    match r {
        0 | 1 => Some(AssuranceLevel::Single),
        2 => Some(AssuranceLevel::Multi),
        3 => Some(AssuranceLevel::MultiHardware),
        _ => None,
    }
}

/// The strength of a class for this SP: the lowest level its mapping yields it for, else a
/// built-in table (password classes = 1, REFEDS MFA and Microsoft multipleauthn = 2).
fn class_rank(sp: &ServiceProvider, class: &str) -> Option<u8> {
    for l in [
        AssuranceLevel::Single,
        AssuranceLevel::Multi,
        AssuranceLevel::MultiHardware,
    ] {
        if sp.authn_context.for_level(l) == class {
            return Some(level_rank(l));
        }
    }
    match class {
        authn_class::PASSWORD_PROTECTED_TRANSPORT
        | authn_class::PASSWORD
        | authn_class::UNSPECIFIED => Some(1),
        authn_class::REFEDS_MFA | authn_class::MICROSOFT_MULTIPLE_AUTHN => Some(2),
        _ => None,
    }
}

impl AuthnRequest {
    /// The NameID format to issue: the SP's pinned format. A NameIDPolicy asking for another
    /// format (other than `unspecified`), or an SPNameQualifier other than the SP's entity ID
    /// or audience, is [`SamlError::InvalidNameIdPolicy`]. AllowCreate is accepted either way
    /// (our identifiers exist before the request).
    pub fn name_id_format<'s>(&self, sp: &'s ServiceProvider) -> Result<&'s str, SamlError> {
        if let Some(p) = &self.name_id_policy {
            if let Some(f) = &p.format {
                if f != nameid_format::UNSPECIFIED && *f != sp.name_id_format {
                    return Err(SamlError::InvalidNameIdPolicy);
                }
            }
            if let Some(q) = &p.sp_name_qualifier {
                if *q != sp.entity_id && q != sp.audience() {
                    return Err(SamlError::InvalidNameIdPolicy);
                }
            }
        }
        Ok(&sp.name_id_format)
    }

    /// The lowest assurance level that satisfies the RequestedAuthnContext (`None`: any).
    /// [`SamlError::NoAuthnContext`] when no level can (only unknown classes, or `better` than
    /// the strongest level).
    pub fn required_level(
        &self,
        sp: &ServiceProvider,
    ) -> Result<Option<AssuranceLevel>, SamlError> {
        let Some(rac) = &self.requested_authn_context else {
            return Ok(None);
        };
        let ranks: Vec<u8> = rac
            .classes
            .iter()
            .filter_map(|c| class_rank(sp, c))
            .collect();
        let (min, max) = match (ranks.iter().min(), ranks.iter().max()) {
            (Some(a), Some(b)) => (*a, *b),
            _ => return Err(SamlError::NoAuthnContext),
        };
        let need = match rac.comparison {
            Comparison::Exact | Comparison::Minimum => min,
            Comparison::Better => max.saturating_add(1),
            Comparison::Maximum => 1,
        };
        rank_level(need).map(Some).ok_or(SamlError::NoAuthnContext)
    }

    /// The AuthnContextClassRef to assert for a completed sign-in `ctx`, honouring the
    /// RequestedAuthnContext:
    /// - none: the SP's mapping for the achieved level;
    /// - `exact`: the first requested class we can truthfully assert (its strength at most the
    ///   achieved level);
    /// - `minimum`: the mapping for the achieved level if it is at least as strong as one
    ///   requested class;
    /// - `better`: the mapping if stronger than every known requested class;
    /// - `maximum`: the strongest requested class not above the achieved level.
    ///
    /// Otherwise [`SamlError::NoAuthnContext`].
    pub fn authn_context_class(
        &self,
        sp: &ServiceProvider,
        ctx: &AuthnContext,
    ) -> Result<String, SamlError> {
        let achieved = level_rank(ctx.level);
        let mapped = sp.authn_context_for(ctx);
        let Some(rac) = &self.requested_authn_context else {
            return Ok(mapped);
        };
        let known: Vec<(&String, u8)> = rac
            .classes
            .iter()
            .filter_map(|c| class_rank(sp, c).map(|r| (c, r)))
            .collect();
        let pick = match rac.comparison {
            Comparison::Exact => known
                .iter()
                .find(|(_, r)| *r <= achieved)
                .map(|(c, _)| (*c).clone()),
            Comparison::Minimum => known.iter().any(|(_, r)| *r <= achieved).then_some(mapped),
            Comparison::Better => {
                let max = known.iter().map(|(_, r)| *r).max();
                max.filter(|m| achieved > *m).map(|_| mapped)
            }
            Comparison::Maximum => known
                .iter()
                .filter(|(_, r)| *r <= achieved)
                .max_by_key(|(_, r)| *r)
                .map(|(c, _)| (*c).clone()),
        };
        pick.ok_or(SamlError::NoAuthnContext)
    }

    /// What to do with the request given the current session (if any); `sp` must be the SP
    /// of [`AuthnRequest::issuer`] ([`SamlError::Config`] otherwise):
    /// - a requested Subject → [`SamlError::RequestUnsupported`];
    /// - NameIDPolicy not servable → [`SamlError::InvalidNameIdPolicy`];
    /// - RequestedAuthnContext unsatisfiable at any level → [`SamlError::NoAuthnContext`];
    /// - ForceAuthn, no session, or a session too weak: [`Decision::Authenticate`], or
    ///   [`SamlError::NoPassive`] when IsPassive;
    /// - else [`Decision::UseSession`].
    ///
    /// All these errors may be answered with an error Response to the ACS.
    pub fn decide(
        &self,
        sp: &ServiceProvider,
        session: Option<&AuthnContext>,
    ) -> Result<Decision, SamlError> {
        if sp.entity_id != self.issuer {
            return Err(SamlError::Config(
                "the SP passed is not the request's issuer",
            ));
        }
        if self.requested_subject.is_some() {
            return Err(SamlError::RequestUnsupported("Subject in AuthnRequest"));
        }
        self.name_id_format(sp)?;
        let min_level = self.required_level(sp)?;
        let usable = !self.force_authn
            && session.is_some_and(|ctx| self.authn_context_class(sp, ctx).is_ok());
        if usable {
            Ok(Decision::UseSession)
        } else if self.is_passive {
            Err(SamlError::NoPassive)
        } else {
            Ok(Decision::Authenticate { min_level })
        }
    }
}
