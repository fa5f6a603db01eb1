//! SAML IdP protocol tests: every rejection of the AuthnRequest / LogoutRequest intake, the
//! bindings, metadata, and the Response structure per SaaS preset (fixtures in `fixtures/sp/`).

#[path = "saml_common.rs"]
mod common;

use common::*;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use passlogic_idp_core::saml::authn_request::{validate_authn_request, Comparison, Decision};
use passlogic_idp_core::saml::bindings::{
    deflate, percent_encode, redirect_url, InboundMessage, SamlField,
};
use passlogic_idp_core::saml::logout::{
    build_logout_request, build_logout_response, validate_logout_request, LogoutStatus,
    LogoutSubject, Outbound,
};
use passlogic_idp_core::saml::metadata::{idp_metadata, parse_sp_metadata};
use passlogic_idp_core::saml::response::{
    build_error_response, build_response, AssertionInput, ResponseTarget,
};
use passlogic_idp_core::saml::{
    authn_class, nameid_format, MessageLimits, SamlError, ServiceProvider, SigningKey, StatusCode,
    SubStatus,
};
use passlogic_idp_core::xmldsig::{
    self, Placement, SignatureAlgorithm, VerifyPolicy, XmlDsigError,
};

const SF: &str = "https://example.my.salesforce.com";

fn sps() -> Vec<ServiceProvider> {
    FIXTURE_SPS.iter().map(|n| registered(n)).collect()
}

struct Req {
    issuer: String,
    id: String,
    instant: String,
    destination: Option<String>,
    acs_url: Option<String>,
    acs_index: Option<String>,
    protocol_binding: Option<String>,
    attrs: String,
    inner: String,
}

impl Req {
    fn new(issuer: &str, destination: &str) -> Req {
        Req {
            issuer: issuer.into(),
            id: "_req0123456789abcdef".into(),
            instant: "2026-11-26T07:59:30Z".into(),
            destination: Some(destination.into()),
            acs_url: None,
            acs_index: None,
            protocol_binding: None,
            attrs: String::new(),
            inner: String::new(),
        }
    }

    fn xml(&self) -> String {
        let opt = |n: &str, v: &Option<String>| {
            v.as_ref()
                .map(|v| format!(" {n}=\"{v}\""))
                .unwrap_or_default()
        };
        format!(
            concat!(
                "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
                "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" ",
                "IssueInstant=\"{instant}\"{dest}{acs}{idx}{pb}{attrs}>",
                "<saml:Issuer>{issuer}</saml:Issuer>{inner}</samlp:AuthnRequest>"
            ),
            id = self.id,
            instant = self.instant,
            dest = opt("Destination", &self.destination),
            acs = opt("AssertionConsumerServiceURL", &self.acs_url),
            idx = opt("AssertionConsumerServiceIndex", &self.acs_index),
            pb = opt("ProtocolBinding", &self.protocol_binding),
            attrs = self.attrs,
            issuer = self.issuer,
            inner = self.inner,
        )
    }
}

fn post(xml: &str, relay: Option<&str>) -> Result<InboundMessage, SamlError> {
    InboundMessage::from_post_form(
        &base64_std(xml.as_bytes()),
        relay,
        &MessageLimits::default(),
    )
}

fn redirect_query(xml: &str, relay: Option<&str>) -> String {
    let mut q = format!(
        "SAMLRequest={}",
        percent_encode(&base64_std(&deflate(xml.as_bytes())))
    );
    if let Some(r) = relay {
        q.push_str("&RelayState=");
        q.push_str(&percent_encode(r));
    }
    q
}

fn redirect(xml: &str, relay: Option<&str>) -> Result<InboundMessage, SamlError> {
    InboundMessage::from_redirect_query(&redirect_query(xml, relay), &MessageLimits::default())
}

fn sign_query(q: &str, key: &PKey<Private>, alg: &str, md: MessageDigest) -> String {
    let signed = format!("{q}&SigAlg={}", percent_encode(alg));
    let mut s = Signer::new(md, key).unwrap();
    s.update(signed.as_bytes()).unwrap();
    let sig = s.sign_to_vec().unwrap();
    format!("{signed}&Signature={}", percent_encode(&base64_std(&sig)))
}

fn sign_xml(xml: &str, id: &str, key: &PKey<Private>) -> String {
    xmldsig::sign_enveloped(
        xml,
        id,
        key,
        None,
        SignatureAlgorithm::RsaSha256,
        Placement::after_saml_issuer(),
    )
    .unwrap()
}

fn validate(
    msg: &InboundMessage,
) -> Result<passlogic_idp_core::saml::authn_request::AuthnRequest, SamlError> {
    validate_authn_request(msg, &idp(), &sps(), now())
}

fn box_req() -> Req {
    Req::new("box.net", SSO_REDIRECT)
}

fn sf_signed_post(req: &Req) -> String {
    sign_xml(
        &req.xml(),
        &req.id,
        &fixture_key("salesforce-request-signing"),
    )
}

// ---------------------------------------------------------------- happy paths

#[test]
fn saml_box_redirect_unsigned_is_accepted() {
    let msg = redirect(&box_req().xml(), Some("https://app.box.com/folder/0")).unwrap();
    let r = validate(&msg).unwrap();
    assert_eq!(r.issuer, "box.net");
    assert_eq!(r.acs.url, "https://sso.services.box.net/sp/ACS.saml2");
    assert_eq!(r.id, "_req0123456789abcdef");
    assert_eq!(
        r.relay_state.as_deref(),
        Some("https://app.box.com/folder/0")
    );
    assert!(!r.signed);
    let sp = ServiceProvider::box_com();
    assert_eq!(
        r.decide(&sp, None).unwrap(),
        Decision::Authenticate { min_level: None }
    );
    assert_eq!(
        r.decide(&sp, Some(&single_factor())).unwrap(),
        Decision::UseSession
    );
}

#[test]
fn saml_salesforce_signed_post_is_accepted() {
    let mut req = Req::new(SF, SSO_POST);
    req.acs_url = Some(SF.into());
    let msg = post(&sf_signed_post(&req), Some("/home")).unwrap();
    let r = validate(&msg).unwrap();
    assert!(r.signed);
    assert_eq!(r.acs.url, SF);
}

#[test]
fn saml_salesforce_signed_redirect_sha256_and_sha1_accepted() {
    let key = fixture_key("salesforce-request-signing");
    let req = Req::new(SF, SSO_REDIRECT);
    for (alg, md) in [
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            MessageDigest::sha256(),
        ),
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            MessageDigest::sha1(),
        ),
    ] {
        let q = sign_query(&redirect_query(&req.xml(), Some("rs")), &key, alg, md);
        let msg = InboundMessage::from_redirect_query(&q, &MessageLimits::default()).unwrap();
        let r = validate(&msg).unwrap();
        assert!(r.signed, "{alg}");
    }
    // SHA-1 refused for an SP that does not allow it (Box with a key registered).
    let mut sp = ServiceProvider::box_com();
    sp.signing_certs = vec![fixture_cert_b64("salesforce-request-signing")];
    let q = sign_query(
        &redirect_query(&box_req().xml(), None),
        &key,
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        MessageDigest::sha1(),
    );
    let msg = InboundMessage::from_redirect_query(&q, &MessageLimits::default()).unwrap();
    assert!(matches!(
        validate_authn_request(&msg, &idp(), &vec![sp], now()),
        Err(SamlError::SignatureInvalid(_))
    ));
}

#[test]
fn saml_redirect_signature_checked_over_raw_bytes_lowercase_escapes() {
    // The SP percent-encodes with lower-case hex: the signed bytes are the raw query.
    let key = fixture_key("salesforce-request-signing");
    let req = Req::new(SF, SSO_REDIRECT);
    let q = redirect_query(&req.xml(), Some("a/b c"));
    let lower: String = {
        let mut out = String::new();
        let mut chars = q.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '%' {
                for _ in 0..2 {
                    if let Some(h) = chars.next() {
                        out.push(h.to_ascii_lowercase());
                    }
                }
            }
        }
        out
    };
    assert_ne!(lower, q);
    let signed = sign_query(
        &lower,
        &key,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        MessageDigest::sha256(),
    );
    let msg = InboundMessage::from_redirect_query(&signed, &MessageLimits::default()).unwrap();
    let r = validate(&msg).unwrap();
    assert_eq!(r.relay_state.as_deref(), Some("a/b c"));
    // Changing the RelayState breaks the signature.
    let tampered = signed.replace("RelayState=a", "RelayState=b");
    let msg = InboundMessage::from_redirect_query(&tampered, &MessageLimits::default()).unwrap();
    assert!(matches!(
        validate(&msg),
        Err(SamlError::SignatureInvalid(_))
    ));
}

#[test]
fn saml_relay_state_kept_exactly_and_bounded() {
    let odd = "  \"><script>alert(1)</script>\u{e9}  ";
    let r = validate(&redirect(&box_req().xml(), Some(odd)).unwrap()).unwrap();
    assert_eq!(r.relay_state.as_deref(), Some(odd));
    let long300 = "x".repeat(300);
    assert!(redirect(&box_req().xml(), Some(&long300)).is_ok());
    let too_long = "x".repeat(1025);
    assert_eq!(
        redirect(&box_req().xml(), Some(&too_long)),
        Err(SamlError::RelayStateTooLong { limit: 1024 })
    );
    assert_eq!(
        post(&box_req().xml(), Some(&too_long)),
        Err(SamlError::RelayStateTooLong { limit: 1024 })
    );
}

// ---------------------------------------------------------------- rejections

fn assert_page(r: Result<impl std::fmt::Debug, SamlError>, want: fn(&SamlError) -> bool) {
    match r {
        Err(e) => {
            assert!(want(&e), "unexpected error {e:?}");
            assert!(!e.may_respond_to_acs(), "{e:?} must end in an error page");
        }
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

#[test]
fn saml_reject_unknown_issuer() {
    let mut req = Req::new("https://attacker.example", SSO_REDIRECT);
    req.acs_url = Some("https://attacker.example/acs".into());
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::UnknownIssuer(_))
    });
    let e = validate(&redirect(&req.xml(), None).unwrap()).unwrap_err();
    assert_eq!(
        e.status(),
        (StatusCode::Requester, Some(SubStatus::RequestDenied))
    );
}

#[test]
fn saml_reject_acs_not_registered_and_look_alikes() {
    let good = "https://sso.services.box.net/sp/ACS.saml2";
    for bad in [
        "https://attacker.example/acs",
        "https://sso.services.box.net/sp/ACS.saml2x",
        "https://sso.services.box.net.attacker.example/sp/ACS.saml2",
        "https://sso.services.box.net@attacker.example/sp/ACS.saml2",
        "https://sso.services.box.net/sp/../ACS.saml2",
        "https://sso.services.box.net/sp/ACS.saml2?x=1",
        "http://sso.services.box.net/sp/ACS.saml2",
        "https://sso.services.box.net:8443/sp/ACS.saml2",
        "https://sso.services.box.net/SP/ACS.saml2",
        "https://sso.services.box.net/sp/ACS.saml2#f",
        "https://sso.services.box.net/sp%2FACS.saml2",
        "https://sso.services.box.net/sp/ACS.saml2 ",
        "javascript:alert(1)",
        "https://login.microsoftonline.com/login.srf",
    ] {
        let mut req = box_req();
        req.acs_url = Some(bad.replace('&', "&amp;"));
        assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
            matches!(e, SamlError::AcsNotRegistered)
        });
    }
    let mut req = box_req();
    req.acs_url = Some(good.into());
    assert!(validate(&redirect(&req.xml(), None).unwrap()).is_ok());
    // Index: known, unknown, and URL + index together.
    req.acs_url = None;
    req.acs_index = Some("0".into());
    assert!(validate(&redirect(&req.xml(), None).unwrap()).is_ok());
    req.acs_index = Some("7".into());
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::AcsNotRegistered)
    });
    req.acs_index = Some("0".into());
    req.acs_url = Some(good.into());
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::AcsNotRegistered)
    });
}

#[test]
fn saml_reject_binding_mismatch() {
    let mut req = box_req();
    req.protocol_binding = Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect".into());
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::UnsupportedBinding)
    });
    // ACS registered only with the Redirect binding.
    let mut sp = ServiceProvider::box_com();
    sp.acs[0].binding = passlogic_idp_core::saml::Binding::HttpRedirect;
    let mut req = box_req();
    req.acs_url = Some("https://sso.services.box.net/sp/ACS.saml2".into());
    let msg = redirect(&req.xml(), None).unwrap();
    assert_page(
        validate_authn_request(&msg, &idp(), &vec![sp], now()),
        |e| matches!(e, SamlError::UnsupportedBinding),
    );
    let e = SamlError::UnsupportedBinding;
    assert_eq!(
        e.status(),
        (StatusCode::Requester, Some(SubStatus::UnsupportedBinding))
    );
}

#[test]
fn saml_reject_wrong_destination() {
    // Destination of the other binding, another IdP, missing on a signed request.
    let req = Req::new("box.net", SSO_POST);
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::WrongDestination)
    });
    let req = Req::new("box.net", "https://other-idp.example/sso");
    assert_page(validate(&post(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::WrongDestination)
    });
    let mut req = Req::new(SF, SSO_POST);
    req.destination = None;
    assert_page(validate(&post(&sf_signed_post(&req), None).unwrap()), |e| {
        matches!(e, SamlError::WrongDestination)
    });
    // Unsigned without Destination is fine.
    let mut req = box_req();
    req.destination = None;
    assert!(validate(&redirect(&req.xml(), None).unwrap()).is_ok());
}

#[test]
fn saml_reject_stale_and_future_issue_instant() {
    for instant in [
        "2026-11-26T06:59:59Z",
        "2026-11-26T07:56:59Z",
        "2026-11-26T08:03:01Z",
        "2026-11-26T09:00:00Z",
    ] {
        let mut req = box_req();
        req.instant = instant.into();
        assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
            matches!(e, SamlError::Stale)
        });
    }
    for instant in ["2026-11-26T07:57:01Z", "2026-11-26T08:02:59Z"] {
        let mut req = box_req();
        req.instant = instant.into();
        assert!(validate(&redirect(&req.xml(), None).unwrap()).is_ok());
    }
    let mut req = box_req();
    req.instant = "yesterday".into();
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::Malformed(_))
    });
}

#[test]
fn saml_reject_malformed_id_and_version() {
    for id in [
        "1abc",
        "a b",
        "",
        "_a:b",
        "_x\u{e9}",
        &format!("_{}", "a".repeat(300)),
    ] {
        let mut req = box_req();
        req.id = id.into();
        assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
            matches!(e, SamlError::BadId | SamlError::Xml(_))
        });
    }
    let xml = box_req()
        .xml()
        .replace("Version=\"2.0\"", "Version=\"3.0\"");
    let e = validate(&redirect(&xml, None).unwrap()).unwrap_err();
    assert_eq!(e, SamlError::VersionMismatch);
    assert_eq!(e.status().0, StatusCode::VersionMismatch);
}

#[test]
fn saml_reject_doctype_and_entity_expansion() {
    let body = box_req().xml();
    let laughs = format!(
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
        body.replace("box.net</saml:Issuer>", "box.net&b;</saml:Issuer>")
    );
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        body.replace("box.net</saml:Issuer>", "&x;</saml:Issuer>")
    );
    for doc in [laughs, xxe] {
        for msg in [redirect(&doc, None).unwrap(), post(&doc, None).unwrap()] {
            assert_page(validate(&msg), |e| {
                matches!(e, SamlError::Xml(XmlDsigError::Doctype))
            });
        }
    }
    // An undeclared entity without DOCTYPE is malformed, not expanded.
    let e = body.replace("box.net</saml:Issuer>", "&x;</saml:Issuer>");
    assert_page(validate(&post(&e, None).unwrap()), |e| {
        matches!(e, SamlError::Xml(XmlDsigError::Malformed { .. }))
    });
}

#[test]
fn saml_reject_deflate_bomb_and_oversize() {
    // 1 MiB of zeros deflates to about 1 KiB: refused once inflation passes 64 KiB.
    let bomb = deflate(&vec![b' '; 1024 * 1024]);
    assert!(bomb.len() < 4096, "{}", bomb.len());
    let q = format!("SAMLRequest={}", percent_encode(&base64_std(&bomb)));
    assert_eq!(
        InboundMessage::from_redirect_query(&q, &MessageLimits::default()),
        Err(SamlError::InflateTooLarge { limit: 64 * 1024 })
    );
    // A query value over 16 KiB is refused before decoding.
    let q = format!("SAMLRequest={}", "A".repeat(16 * 1024 + 1));
    assert_eq!(
        InboundMessage::from_redirect_query(&q, &MessageLimits::default()),
        Err(SamlError::TooLarge { limit: 16 * 1024 })
    );
    // A POST value over the limit is refused before decoding; POST is never inflated.
    let big = "A".repeat(256 * 1024 + 4);
    assert_eq!(
        InboundMessage::from_post_form(&big, None, &MessageLimits::default()),
        Err(SamlError::TooLarge { limit: 256 * 1024 })
    );
    let deflated_post = base64_std(&deflate(box_req().xml().as_bytes()));
    let msg = InboundMessage::from_post_form(&deflated_post, None, &MessageLimits::default());
    assert!(msg.is_err() || validate(&msg.unwrap()).is_err());
}

#[test]
fn saml_reject_encoding_and_parameter_pollution() {
    let q = redirect_query(&box_req().xml(), None);
    let twice = format!("{q}&{q}");
    assert!(matches!(
        InboundMessage::from_redirect_query(&twice, &MessageLimits::default()),
        Err(SamlError::Encoding(_))
    ));
    assert!(matches!(
        InboundMessage::from_redirect_query("SAMLRequest=%%%", &MessageLimits::default()),
        Err(SamlError::Encoding(_))
    ));
    assert!(matches!(
        InboundMessage::from_redirect_query(
            "SAMLRequest=bm90IGRlZmxhdGU%3D",
            &MessageLimits::default()
        ),
        Err(SamlError::Encoding(_))
    ));
    assert!(matches!(
        InboundMessage::from_post_body("SAMLRequest=a&SAMLRequest=b", &MessageLimits::default()),
        Err(SamlError::Encoding(_))
    ));
    // A Response posted to the SSO endpoint.
    let resp = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>";
    assert_page(validate(&post(resp, None).unwrap()), |e| {
        matches!(e, SamlError::WrongMessage(_))
    });
    // Signature without SigAlg.
    let q = format!("{}&Signature=AAAA", redirect_query(&box_req().xml(), None));
    assert!(InboundMessage::from_redirect_query(&q, &MessageLimits::default()).is_err());
}

#[test]
fn saml_reject_signature_required_but_absent() {
    let req = Req::new(SF, SSO_POST);
    assert_page(validate(&post(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::SignatureRequired)
    });
    let req = Req::new(SF, SSO_REDIRECT);
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::SignatureRequired)
    });
    // IdP-wide WantAuthnRequestsSigned applies to every SP.
    let mut i = idp();
    i.want_authn_requests_signed = true;
    let msg = redirect(&box_req().xml(), None).unwrap();
    assert_page(validate_authn_request(&msg, &i, &sps(), now()), |e| {
        matches!(e, SamlError::SignatureRequired)
    });
}

#[test]
fn saml_reject_present_signature_that_fails_even_if_not_required() {
    // Box does not require signatures but has a key registered: a bad one is still refused.
    let mut sp = ServiceProvider::box_com();
    sp.signing_certs = vec![fixture_cert_b64("salesforce-request-signing")];
    let mut req = Req::new("box.net", SSO_POST);
    req.id = "_boxreq1".into();
    let attacker = rsa_key();
    let signed = sign_xml(&req.xml(), &req.id, &attacker);
    let msg = post(&signed, None).unwrap();
    assert_page(
        validate_authn_request(&msg, &idp(), &vec![sp.clone()], now()),
        |e| matches!(e, SamlError::SignatureInvalid(_)),
    );
    // No key registered at all: a present signature cannot be checked -> refused.
    let msg = post(&signed, None).unwrap();
    assert_page(
        validate_authn_request(&msg, &idp(), &vec![ServiceProvider::box_com()], now()),
        |e| matches!(e, SamlError::NoSpKey),
    );
    // Tampered after signing.
    let good = sign_xml(
        &req.xml(),
        &req.id,
        &fixture_key("salesforce-request-signing"),
    );
    let tampered = good.replace(
        "IssueInstant=\"2026-11-26T07:59:30Z\"",
        "IssueInstant=\"2026-11-26T07:59:31Z\"",
    );
    let msg = post(&tampered, None).unwrap();
    assert_page(
        validate_authn_request(&msg, &idp(), &vec![sp], now()),
        |e| matches!(e, SamlError::SignatureInvalid(_)),
    );
}

#[test]
fn saml_reject_signature_wrapping_on_signed_post() {
    let key = fixture_key("salesforce-request-signing");
    let mut genuine = Req::new(SF, SSO_POST);
    genuine.acs_url = Some(SF.into());
    let signed = sf_signed_post(&genuine);
    let evil_acs = "https://attacker.example/acs";
    // XSW: forged root (attacker ACS, same ID) wrapping the genuine signed request in Extensions.
    let forged_same_id = format!(
        concat!(
            "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"2026-11-26T07:59:30Z\" Destination=\"{d}\" AssertionConsumerServiceURL=\"{a}\">",
            "<saml:Issuer>{sf}</saml:Issuer><samlp:Extensions>{inner}</samlp:Extensions></samlp:AuthnRequest>"
        ),
        id = genuine.id,
        d = SSO_POST,
        a = evil_acs,
        sf = SF,
        inner = signed,
    );
    // Same with another ID on the forged root.
    let forged_other_id =
        forged_same_id.replacen(&format!("ID=\"{}\"", genuine.id), "ID=\"_evil\"", 1);
    // Signature moved: the genuine signature placed under a forged root.
    let sig_start = signed.find("<ds:Signature").unwrap();
    let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &signed[sig_start..sig_end];
    let moved = {
        let mut r = Req::new(SF, SSO_POST);
        r.acs_url = Some(evil_acs.into());
        r.xml()
            .replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1)
    };
    // Attacker's own key.
    let attacker_signed = {
        let mut r = Req::new(SF, SSO_POST);
        r.acs_url = Some(evil_acs.into());
        sign_xml(&r.xml(), &r.id, &rsa_key())
    };
    // Genuine copy inside ds:Object of the forged request's signature.
    let in_object = {
        let mut r = Req::new(SF, SSO_POST);
        r.acs_url = Some(evil_acs.into());
        r.id = "_evil2".into();
        let s = sign_xml(&r.xml(), &r.id, &key);
        s.replacen(
            "</ds:Signature>",
            &format!("<ds:Object>{signed}</ds:Object></ds:Signature>"),
            1,
        )
    };
    for (name, doc) in [
        ("same id", forged_same_id),
        ("other id", forged_other_id),
        ("moved", moved),
        ("attacker key", attacker_signed),
        ("object", in_object),
    ] {
        let r = validate(&post(&doc, None).unwrap());
        assert!(
            matches!(
                r,
                Err(SamlError::SignatureInvalid(_)) | Err(SamlError::AcsNotRegistered)
            ),
            "{name}: {r:?}"
        );
        if let Ok(v) = &r {
            assert_ne!(v.acs.url, evil_acs, "{name}");
        }
    }
}

#[test]
fn saml_comment_inside_signed_value_reads_full_value() {
    let mut req = Req::new(SF, SSO_POST);
    req.acs_url = Some(SF.into());
    let signed = sf_signed_post(&req);
    // Inserting a comment after signing keeps the signature valid (c14n drops comments); the
    // issuer must still be read as the whole string, not the text before the comment.
    let commented = signed.replacen(
        "<saml:Issuer>https://example.my",
        "<saml:Issuer>https://example.my<!-- x -->",
        1,
    );
    assert_ne!(commented, signed);
    let r = validate(&post(&commented, None).unwrap()).unwrap();
    assert_eq!(r.issuer, SF);
    // A comment in an unsigned request: same reading.
    let xml = box_req().xml().replacen(">box.net<", ">box<!---->.net<", 1);
    assert_eq!(
        validate(&redirect(&xml, None).unwrap()).unwrap().issuer,
        "box.net"
    );
}

// ---------------------------------------------------------------- decisions

fn rac(comparison: &str, classes: &[&str]) -> String {
    let refs: String = classes
        .iter()
        .map(|c| format!("<saml:AuthnContextClassRef>{c}</saml:AuthnContextClassRef>"))
        .collect();
    format!("<samlp:RequestedAuthnContext Comparison=\"{comparison}\">{refs}</samlp:RequestedAuthnContext>")
}

fn entra_req(inner: String, attrs: &str) -> passlogic_idp_core::saml::authn_request::AuthnRequest {
    let mut req = Req::new("urn:federation:MicrosoftOnline", SSO_POST);
    req.inner = inner;
    req.attrs = attrs.into();
    validate(&post(&req.xml(), None).unwrap()).unwrap()
}

#[test]
fn saml_requested_authn_context_we_cannot_satisfy_is_no_authn_context() {
    let sp = ServiceProvider::microsoft_entra();
    let r = entra_req(rac("exact", &["urn:example:unknown-class"]), "");
    assert_eq!(
        r.requested_authn_context.as_ref().unwrap().comparison,
        Comparison::Exact
    );
    let e = r.decide(&sp, None).unwrap_err();
    assert_eq!(e, SamlError::NoAuthnContext);
    assert!(e.may_respond_to_acs());
    assert_eq!(
        e.status(),
        (StatusCode::Requester, Some(SubStatus::NoAuthnContext))
    );
    // MFA required, session has one factor: authenticate with min level Multi, and a
    // single-factor result cannot be asserted.
    let r = entra_req(rac("minimum", &[authn_class::MICROSOFT_MULTIPLE_AUTHN]), "");
    assert_eq!(
        r.decide(&sp, Some(&single_factor())).unwrap(),
        Decision::Authenticate {
            min_level: Some(passlogic_idp_core::pipeline::AssuranceLevel::Multi)
        }
    );
    assert_eq!(
        r.authn_context_class(&sp, &single_factor()),
        Err(SamlError::NoAuthnContext)
    );
    assert_eq!(
        r.authn_context_class(&sp, &mfa()).unwrap(),
        authn_class::MICROSOFT_MULTIPLE_AUTHN
    );
    // minimum PPT after MFA: Entra gets multipleauthn.
    let r = entra_req(
        rac("minimum", &[authn_class::PASSWORD_PROTECTED_TRANSPORT]),
        "",
    );
    assert_eq!(
        r.authn_context_class(&sp, &mfa()).unwrap(),
        authn_class::MICROSOFT_MULTIPLE_AUTHN
    );
    // better than MFA cannot be met by the Entra mapping (multi_hardware is the same class).
    let r = entra_req(rac("better", &[authn_class::MICROSOFT_MULTIPLE_AUTHN]), "");
    assert_eq!(
        r.decide(&sp, None),
        Ok(Decision::Authenticate {
            min_level: Some(passlogic_idp_core::pipeline::AssuranceLevel::MultiHardware)
        })
    );
    // maximum PPT after MFA: PPT is asserted.
    let r = entra_req(
        rac("maximum", &[authn_class::PASSWORD_PROTECTED_TRANSPORT]),
        "",
    );
    assert_eq!(
        r.authn_context_class(&sp, &mfa()).unwrap(),
        authn_class::PASSWORD_PROTECTED_TRANSPORT
    );
}

#[test]
fn saml_is_passive_without_session_is_no_passive() {
    let sp = ServiceProvider::microsoft_entra();
    let r = entra_req(String::new(), " IsPassive=\"true\"");
    let e = r.decide(&sp, None).unwrap_err();
    assert_eq!(e, SamlError::NoPassive);
    assert!(e.may_respond_to_acs());
    assert_eq!(
        e.status(),
        (StatusCode::Responder, Some(SubStatus::NoPassive))
    );
    assert_eq!(
        r.decide(&sp, Some(&single_factor())).unwrap(),
        Decision::UseSession
    );
    // ForceAuthn + IsPassive -> NoPassive; ForceAuthn alone -> authenticate again.
    let r = entra_req(String::new(), " IsPassive=\"true\" ForceAuthn=\"true\"");
    assert_eq!(r.decide(&sp, Some(&mfa())), Err(SamlError::NoPassive));
    let r = entra_req(String::new(), " ForceAuthn=\"true\"");
    assert_eq!(
        r.decide(&sp, Some(&mfa())).unwrap(),
        Decision::Authenticate { min_level: None }
    );
}

#[test]
fn saml_name_id_policy_and_requested_subject() {
    let sp = ServiceProvider::microsoft_entra();
    let ok = entra_req(
        format!(
            "<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"true\"/>",
            nameid_format::PERSISTENT
        ),
        "",
    );
    assert_eq!(ok.name_id_format(&sp).unwrap(), nameid_format::PERSISTENT);
    let bad = entra_req(
        format!(
            "<samlp:NameIDPolicy Format=\"{}\"/>",
            nameid_format::TRANSIENT
        ),
        "",
    );
    let e = bad.decide(&sp, None).unwrap_err();
    assert_eq!(e, SamlError::InvalidNameIdPolicy);
    assert!(e.may_respond_to_acs());
    let other_sp = entra_req(
        "<samlp:NameIDPolicy SPNameQualifier=\"box.net\"/>".into(),
        "",
    );
    assert_eq!(
        other_sp.decide(&sp, None),
        Err(SamlError::InvalidNameIdPolicy)
    );
    let subj = entra_req(
        "<saml:Subject><saml:NameID>admin@example.com</saml:NameID></saml:Subject>".into(),
        "",
    );
    assert!(matches!(
        subj.decide(&sp, None),
        Err(SamlError::RequestUnsupported(_))
    ));
}

// ---------------------------------------------------------------- responses per preset

fn count(h: &str, n: &str) -> usize {
    h.matches(n).count()
}

#[test]
fn saml_fixture_presets_match_settings_files() {
    for name in FIXTURE_SPS {
        let e = expectations(name);
        let sp = registered(name);
        if std::env::var_os("SAML_REGENERATE_FIXTURES").is_some() {
            let path = fixtures().join(format!("{name}.json"));
            let mut v: serde_json::Value =
                serde_json::from_str(&fixture(&format!("{name}.json"))).unwrap();
            v["settings"] = serde_json::to_value(&sp).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
            continue;
        }
        assert_eq!(
            e.settings.as_ref(),
            Some(&sp),
            "{name}: preset differs from settings file"
        );
        assert_eq!(sp.entity_id, e.entity_id, "{name}");
        assert_eq!(sp.audience(), e.audience, "{name}");
        assert_eq!(sp.name_id_format, e.name_id_format, "{name}");
        assert_eq!(
            sp.want_authn_requests_signed, e.want_authn_requests_signed,
            "{name}"
        );
        assert_eq!(
            sp.authn_context_for(&single_factor()),
            e.authn_context_single,
            "{name}"
        );
        assert_eq!(sp.authn_context_for(&mfa()), e.authn_context_mfa, "{name}");
        // The metadata import agrees on entity, ACS and request signing.
        let md = parse_sp_metadata(&fixture(&e.metadata), &MessageLimits::default()).unwrap();
        assert_eq!(md.entity_id, e.entity_id, "{name}");
        assert_eq!(md.default_acs().unwrap().url, e.acs, "{name}");
        assert_eq!(
            md.want_authn_requests_signed, e.want_authn_requests_signed,
            "{name}"
        );
        assert_eq!(md.acs, sp.acs, "{name}: ACS list");
        sp.validate().unwrap();
        assert_eq!(md.slo, sp.slo, "{name}: SLO list");
    }
}

#[test]
fn saml_response_structure_per_preset() {
    let (key, cert) = idp_key();
    let trusted = [cert.public_key().unwrap()];
    for name in FIXTURE_SPS {
        let e = expectations(name);
        let sp = registered(name);
        for (ctx, class) in [
            (single_factor(), &e.authn_context_single),
            (mfa(), &e.authn_context_mfa),
        ] {
            let target = ResponseTarget {
                acs_url: e.acs.clone(),
                in_response_to: Some("_req42".into()),
                relay_state: Some("rs".into()),
            };
            let input = AssertionInput {
                principal: &alice(),
                authn_context: &ctx,
                authn_class: None,
                session_index: "_sess1".into(),
                session_not_on_or_after: None,
            };
            let out =
                build_response(&idp(), &key, &sp, &target, &input, now(), &mut rng()).unwrap();
            let x = &out.xml;
            assert!(
                out.response_id.starts_with('_') && out.response_id.len() == 41,
                "{name}"
            );
            assert!(x.contains(&format!("Destination=\"{}\"", e.acs)), "{name}");
            assert!(x.contains("InResponseTo=\"_req42\""), "{name}");
            assert!(
                x.contains("urn:oasis:names:tc:SAML:2.0:status:Success"),
                "{name}"
            );
            if e.encrypted {
                assert!(x.contains("<saml:EncryptedAssertion"), "{name}");
                assert!(
                    !x.contains("<saml:Assertion "),
                    "{name}: plaintext assertion leaked"
                );
                assert!(
                    x.contains("http://www.w3.org/2009/xmlenc11#aes256-gcm"),
                    "{name}"
                );
                continue;
            }
            let nid = format!(
                "<saml:NameID Format=\"{}\">{}</saml:NameID>",
                e.name_id_format, e.name_id_value_for_alice
            );
            assert!(x.contains(&nid), "{name}: {x}");
            assert!(
                x.contains(&format!("<saml:Audience>{}</saml:Audience>", e.audience)),
                "{name}"
            );
            assert!(x.contains(&format!("Recipient=\"{}\"", e.acs)), "{name}");
            assert!(
                x.contains(&format!(
                    "<saml:AuthnContextClassRef>{class}</saml:AuthnContextClassRef>"
                )),
                "{name}"
            );
            assert_eq!(
                x.contains("AuthenticatingAuthority"),
                e.authenticating_authority,
                "{name}"
            );
            assert!(x.contains("SessionIndex=\"_sess1\""), "{name}");
            assert!(x.contains("NotBefore=\"2026-11-26T07:57:00Z\""), "{name}");
            assert!(
                x.contains("NotOnOrAfter=\"2026-11-26T08:05:00Z\""),
                "{name}"
            );
            assert!(
                x.contains("AuthnInstant=\"2026-11-26T07:59:30Z\""),
                "{name}"
            );
            let sc = &x[x.find("<saml:SubjectConfirmationData").unwrap()..];
            let sc = &sc[..sc.find("/>").unwrap()];
            assert!(
                !sc.contains("NotBefore"),
                "{name}: NotBefore on SubjectConfirmationData"
            );
            if e.attributes.is_empty() {
                assert!(!x.contains("AttributeStatement"), "{name}");
            }
            for (attr, values) in &e.attributes {
                let vals: String = values
                    .iter()
                    .map(|v| format!("<saml:AttributeValue>{v}</saml:AttributeValue>"))
                    .collect();
                assert!(
                    x.contains(&format!(
                        "<saml:Attribute Name=\"{attr}\">{vals}</saml:Attribute>"
                    )),
                    "{name}: {attr}"
                );
            }
            // Signature placement.
            let policy = VerifyPolicy {
                allow_sha1: false,
                allow_other_signatures: true,
            };
            let lim = xmldsig::Limits::default();
            let aid = out.assertion_id.as_deref().unwrap();
            let sigs = count(x, "<ds:Signature ");
            match e.sign.as_str() {
                "assertion" => {
                    assert_eq!(sigs, 1, "{name}");
                    xmldsig::verify_enveloped_at(x, aid, &trusted, &policy, &lim).unwrap();
                    // The signature follows the Assertion's Issuer.
                    assert!(
                        x.contains(&format!("{IDP}</saml:Issuer><ds:Signature ")),
                        "{name}"
                    );
                }
                "both" => {
                    assert_eq!(sigs, 2, "{name}");
                    xmldsig::verify_enveloped_at(x, aid, &trusted, &policy, &lim).unwrap();
                    xmldsig::verify_enveloped_at(x, &out.response_id, &trusted, &policy, &lim)
                        .unwrap();
                }
                other => panic!("{other}"),
            }
            assert!(
                x.contains("<ds:X509Certificate>"),
                "{name}: certificate in KeyInfo"
            );
        }
    }
}

#[test]
fn saml_response_idp_initiated_and_error_response() {
    let (key, cert) = idp_key();
    let sp = ServiceProvider::box_com();
    let target = ResponseTarget::idp_initiated(&sp, None).unwrap();
    let input = AssertionInput {
        principal: &alice(),
        authn_context: &single_factor(),
        authn_class: None,
        session_index: "_s".into(),
        session_not_on_or_after: Some(now() + time::Duration::hours(8)),
    };
    let out = build_response(&idp(), &key, &sp, &target, &input, now(), &mut rng()).unwrap();
    assert!(!out.xml.contains("InResponseTo"));
    assert!(out
        .xml
        .contains("SessionNotOnOrAfter=\"2026-11-26T16:00:00Z\""));
    let html = out.post_form_html();
    assert!(html.contains("action=\"https://sso.services.box.net/sp/ACS.saml2\""));
    assert!(!html.contains("<script"));
    // Error response: NoPassive, signed Response, no assertion.
    let t = ResponseTarget {
        acs_url: "https://sso.services.box.net/sp/ACS.saml2".into(),
        in_response_to: Some("_r1".into()),
        relay_state: Some("\"><script>x</script>".into()),
    };
    let err = build_error_response(
        &idp(),
        &key,
        &t,
        &SamlError::NoPassive,
        Some("no session"),
        now(),
        &mut rng(),
    )
    .unwrap();
    assert!(err.xml.contains("<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:NoPassive\"/></samlp:StatusCode>"));
    assert!(!err.xml.contains("Assertion"));
    xmldsig::verify_enveloped(
        &err.xml,
        &[cert.public_key().unwrap()],
        &VerifyPolicy::default(),
        &xmldsig::Limits::default(),
    )
    .unwrap();
    let html = err.post_form_html();
    assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
    // A user without the NameID source value.
    let mut p = alice();
    p.email = None;
    let input = AssertionInput {
        principal: &p,
        ..input
    };
    assert_eq!(
        build_response(&idp(), &key, &sp, &target, &input, now(), &mut rng()).unwrap_err(),
        SamlError::InvalidNameIdPolicy
    );
}

// ---------------------------------------------------------------- metadata

#[test]
fn saml_idp_metadata_rollover_and_signed() {
    let (key, cert) = idp_key();
    let (next, _) = idp_key();
    let mut i = idp();
    i.want_authn_requests_signed = true;
    let md = idp_metadata(
        &i,
        &[&key.cert_der, &next.cert_der],
        None,
        Some(&key),
        &mut rng(),
    )
    .unwrap();
    assert_eq!(count(&md, "<md:KeyDescriptor use=\"signing\">"), 2);
    assert!(md.contains("WantAuthnRequestsSigned=\"true\""));
    assert!(md.contains(&format!("<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{SSO_REDIRECT}\"/>")));
    assert!(md.contains(&format!("<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{SSO_POST}\"/>")));
    assert!(md.contains(&format!("Location=\"{SLO_REDIRECT}\"")));
    assert!(md.contains(nameid_format::PERSISTENT));
    let v = xmldsig::verify_enveloped(
        &md,
        &[cert.public_key().unwrap()],
        &VerifyPolicy::default(),
        &xmldsig::Limits::default(),
    )
    .unwrap();
    assert_eq!(v.local_name(), "EntityDescriptor");
}

#[test]
fn saml_sp_metadata_import() {
    let md = parse_sp_metadata(&fixture("salesforce.xml"), &MessageLimits::default()).unwrap();
    assert_eq!(md.entity_id, SF);
    assert_eq!(
        md.signing_certs,
        vec![fixture_cert_b64("salesforce-request-signing")]
    );
    assert_eq!(
        md.encryption_cert,
        Some(fixture_cert_b64("salesforce-encryption"))
    );
    assert!(md.want_authn_requests_signed);
    assert_eq!(md.slo[0].url, format!("{SF}/services/auth/sp/saml2/logout"));
    assert_eq!(md.name_id_format, nameid_format::UNSPECIFIED);
    let bx = parse_sp_metadata(&fixture("box.xml"), &MessageLimits::default()).unwrap();
    assert_eq!(bx.name_id_format, nameid_format::EMAIL);
    assert_eq!(
        bx.name_id_source,
        passlogic_idp_core::saml::NameIdSource::Email
    );
    // DOCTYPE, oversize, no SP descriptor.
    let dt = format!(
        "<!DOCTYPE x [<!ENTITY e \"e\">]>{}",
        fixture("box.xml").split_once("-->").unwrap().1
    );
    assert_eq!(
        parse_sp_metadata(&dt, &MessageLimits::default()),
        Err(SamlError::Xml(XmlDsigError::Doctype))
    );
    let huge = format!("{}<!--{}-->", fixture("box.xml"), "x".repeat(1024 * 1024));
    assert!(matches!(
        parse_sp_metadata(&huge, &MessageLimits::default()),
        Err(SamlError::TooLarge { .. })
    ));
    let idp_md = idp_metadata(&idp(), &[], None, None, &mut rng()).unwrap();
    assert!(matches!(
        parse_sp_metadata(&idp_md, &MessageLimits::default()),
        Err(SamlError::Metadata(_))
    ));
    // EntitiesDescriptor: the entity with an SPSSODescriptor.
    let body = fixture("box.xml");
    let body = body.split_once("-->").unwrap().1;
    let many = format!("<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}{}</md:EntitiesDescriptor>", idp_md, body.trim());
    assert_eq!(
        parse_sp_metadata(&many, &MessageLimits::default())
            .unwrap()
            .entity_id,
        "box.net"
    );
}

// ---------------------------------------------------------------- logout

fn logout_request_xml(issuer: &str, dest: &str, id: &str) -> String {
    format!(
        concat!(
            "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"2026-11-26T07:59:50Z\" Destination=\"{dest}\">",
            "<saml:Issuer>{issuer}</saml:Issuer>",
            "<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">alice.fed</saml:NameID>",
            "<samlp:SessionIndex>_sess1</samlp:SessionIndex></samlp:LogoutRequest>"
        ),
        id = id,
        dest = dest,
        issuer = issuer,
    )
}

#[test]
fn saml_logout_request_intake() {
    let key = fixture_key("salesforce-request-signing");
    let xml = logout_request_xml(SF, SLO_POST, "_lo1");
    // Unsigned from an SP that must sign: refused.
    let msg = post(&xml, None).unwrap();
    assert!(matches!(
        validate_logout_request(&msg, &idp(), &sps(), now()),
        Err(SamlError::SignatureRequired)
    ));
    // Signed POST: accepted.
    let signed = sign_xml(&xml, "_lo1", &key);
    let r = validate_logout_request(&post(&signed, Some("rs")).unwrap(), &idp(), &sps(), now())
        .unwrap();
    assert_eq!(r.name_id, "alice.fed");
    assert_eq!(r.session_indexes, vec!["_sess1".to_owned()]);
    assert!(r.signed);
    // Attacker-signed: refused. Wrong destination: refused. Unknown issuer: refused.
    let forged = sign_xml(&xml, "_lo1", &rsa_key());
    assert!(matches!(
        validate_logout_request(&post(&forged, None).unwrap(), &idp(), &sps(), now()),
        Err(SamlError::SignatureInvalid(_))
    ));
    let wrong = sign_xml(
        &logout_request_xml(SF, "https://other.example/slo", "_lo2"),
        "_lo2",
        &key,
    );
    assert_eq!(
        validate_logout_request(&post(&wrong, None).unwrap(), &idp(), &sps(), now()),
        Err(SamlError::WrongDestination)
    );
    let unknown = logout_request_xml("https://nobody.example", SLO_POST, "_lo3");
    assert!(matches!(
        validate_logout_request(&post(&unknown, None).unwrap(), &idp(), &sps(), now()),
        Err(SamlError::UnknownIssuer(_))
    ));
    // Signed Redirect: accepted.
    let sk = SigningKey {
        key,
        cert_der: Vec::new(),
    };
    let url = redirect_url(
        SLO_REDIRECT,
        SamlField::Request,
        &logout_request_xml(SF, SLO_REDIRECT, "_lo4"),
        Some("x y"),
        Some(&sk),
    )
    .unwrap();
    let q = url.split_once('?').unwrap().1;
    let msg = InboundMessage::from_redirect_query(q, &MessageLimits::default()).unwrap();
    let r = validate_logout_request(&msg, &idp(), &sps(), now()).unwrap();
    assert_eq!(r.relay_state.as_deref(), Some("x y"));
    // Responses and requests out.
    let (idp_key, cert) = idp_key();
    let sp = registered("salesforce");
    let resp = build_logout_response(
        &idp(),
        &idp_key,
        &sp,
        &r,
        LogoutStatus::PartialLogout,
        now(),
        &mut rng(),
    )
    .unwrap();
    match resp {
        Outbound::Post { xml, url, html, .. } => {
            assert_eq!(url, format!("{SF}/services/auth/sp/saml2/logout"));
            assert!(xml.contains("InResponseTo=\"_lo4\""));
            assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:status:PartialLogout"));
            assert!(html.contains("name=\"RelayState\" value=\"x y\""));
            xmldsig::verify_enveloped(
                &xml,
                &[cert.public_key().unwrap()],
                &VerifyPolicy::default(),
                &xmldsig::Limits::default(),
            )
            .unwrap();
        }
        other => panic!("{other:?}"),
    }
    let entra = ServiceProvider::microsoft_entra();
    let subject = LogoutSubject {
        name_id: "AbC.2BdEf==".into(),
        name_id_format: nameid_format::PERSISTENT.into(),
        session_index: Some("_sess9".into()),
    };
    match build_logout_request(&idp(), &idp_key, &entra, &subject, now(), &mut rng()).unwrap() {
        Outbound::Redirect { url, .. } => {
            assert!(url.starts_with("https://login.microsoftonline.com/login.srf?SAMLRequest="));
            assert!(url.contains("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature="));
            // Our own intake decodes and verifies it (as if Entra were an IdP at that URL).
            let q = url.split_once('?').unwrap().1;
            let msg = InboundMessage::from_redirect_query(q, &MessageLimits::default()).unwrap();
            let rs = msg.redirect_signature.clone().unwrap();
            xmldsig::verify_detached_redirect(
                rs.signed_part.as_bytes(),
                &rs.sig_alg,
                &rs.signature,
                &[cert.public_key().unwrap()],
                &VerifyPolicy::default(),
            )
            .unwrap();
            assert!(msg
                .xml
                .contains("<samlp:SessionIndex>_sess9</samlp:SessionIndex>"));
        }
        other => panic!("{other:?}"),
    }
    let _ = Comparison::Exact;
    let _ = Outbound::Redirect {
        url: String::new(),
        id: String::new(),
    };
}

// ---------------------------------------------------------------- robustness

#[test]
fn saml_mutated_and_random_input_never_panics() {
    use rand::{Rng, RngCore};
    let mut r = rng();
    let mut req = Req::new(SF, SSO_POST);
    req.acs_url = Some(SF.into());
    req.inner = rac("minimum", &[authn_class::PASSWORD_PROTECTED_TRANSPORT]);
    let signed = sf_signed_post(&req);
    let all = sps();
    for _ in 0..1500 {
        let mut bytes = signed.clone().into_bytes();
        for _ in 0..r.gen_range(1..4) {
            let i = r.gen_range(0..bytes.len());
            bytes[i] = r.gen_range(0x20..0x7f);
        }
        if let Ok(s) = String::from_utf8(bytes) {
            if let Ok(msg) = post(&s, None) {
                if let Ok(v) = validate_authn_request(&msg, &idp(), &all, now()) {
                    // Whatever survives still points at the registered ACS.
                    assert_eq!(v.acs.url, SF);
                }
                let _ = validate_logout_request(&msg, &idp(), &all, now());
            }
        }
        let mut junk = vec![0u8; r.gen_range(0..300)];
        r.fill_bytes(&mut junk);
        let q = format!(
            "SAMLRequest={}&RelayState=%zz",
            percent_encode(&base64_std(&junk))
        );
        let _ = InboundMessage::from_redirect_query(&q, &MessageLimits::default());
        if let Ok(m) =
            InboundMessage::from_post_form(&base64_std(&junk), None, &MessageLimits::default())
        {
            let _ = validate_authn_request(&m, &idp(), &all, now());
        }
        let _ = parse_sp_metadata(&String::from_utf8_lossy(&junk), &MessageLimits::default());
    }
}

#[test]
fn saml_logout_response_from_sp() {
    use passlogic_idp_core::saml::logout::validate_logout_response;
    let key = fixture_key("salesforce-request-signing");
    let resp = |irt: &str, sub: &str| {
        format!(
            concat!(
                "<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
                "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_lr1\" Version=\"2.0\" ",
                "IssueInstant=\"2026-11-26T08:00:10Z\" Destination=\"{d}\" InResponseTo=\"{irt}\">",
                "<saml:Issuer>{sf}</saml:Issuer><samlp:Status>",
                "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\">{sub}</samlp:StatusCode>",
                "</samlp:Status></samlp:LogoutResponse>"
            ),
            d = SLO_POST,
            irt = irt,
            sf = SF,
            sub = sub,
        )
    };
    let msg = |xml: &str| {
        InboundMessage::from_post_field(
            SamlField::Response,
            &base64_std(xml.as_bytes()),
            Some("rs"),
            &MessageLimits::default(),
        )
        .unwrap()
    };
    let ok = sign_xml(&resp("_ours1", ""), "_lr1", &key);
    let r = validate_logout_response(&msg(&ok), &idp(), &sps(), "_ours1", now()).unwrap();
    assert!(r.success);
    assert_eq!(r.relay_state.as_deref(), Some("rs"));
    let partial = sign_xml(
        &resp(
            "_ours1",
            "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:PartialLogout\"/>",
        ),
        "_lr1",
        &key,
    );
    let r = validate_logout_response(&msg(&partial), &idp(), &sps(), "_ours1", now()).unwrap();
    assert!(!r.success);
    assert!(matches!(
        validate_logout_response(&msg(&ok), &idp(), &sps(), "_other", now()),
        Err(SamlError::Malformed(_))
    ));
    assert_eq!(
        validate_logout_response(&msg(&resp("_ours1", "")), &idp(), &sps(), "_ours1", now()),
        Err(SamlError::SignatureRequired)
    );
    // A LogoutResponse is not a LogoutRequest and vice versa.
    assert!(matches!(
        validate_logout_request(&msg(&ok), &idp(), &sps(), now()),
        Err(SamlError::WrongMessage(_))
    ));
}

#[test]
fn saml_reject_hmac_keyed_with_public_certificate() {
    // SimpleSAMLphp 201802-01 / CVE-2018-7644: HMAC "signature" keyed with the SP's public cert.
    let cert_der = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(fixture_cert_b64("salesforce-request-signing"))
            .unwrap()
    };
    let hmac_key = PKey::hmac(&cert_der).unwrap();
    let q = redirect_query(&Req::new(SF, SSO_REDIRECT).xml(), None);
    let q = sign_query(
        &q,
        &hmac_key,
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        MessageDigest::sha1(),
    );
    let msg = InboundMessage::from_redirect_query(&q, &MessageLimits::default()).unwrap();
    assert_page(validate(&msg), |e| {
        matches!(e, SamlError::SignatureInvalid(_))
    });
}

#[test]
fn saml_google_sp_initiated_with_either_acs_form() {
    for acs in [
        "https://www.google.com/a/example.com/acs",
        "https://accounts.google.com/a/example.com/acs",
    ] {
        let mut req = Req::new("google.com", SSO_REDIRECT);
        req.acs_url = Some(acs.into());
        req.attrs = " ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"".into();
        let r =
            validate(&redirect(&req.xml(), Some("https://mail.google.com/a/example.com")).unwrap())
                .unwrap();
        assert_eq!(r.acs.url, acs);
        assert_eq!(ResponseTarget::for_request(&r).acs_url, acs);
    }
    let mut req = Req::new("google.com", SSO_REDIRECT);
    req.acs_url = Some("https://www.google.com/a/other.example/acs".into());
    assert_page(validate(&redirect(&req.xml(), None).unwrap()), |e| {
        matches!(e, SamlError::AcsNotRegistered)
    });
}

#[test]
fn saml_service_provider_validate() {
    let mut sp = ServiceProvider::box_com();
    sp.validate().unwrap();
    sp.acs[0].url = "http://sso.services.box.net/sp/ACS.saml2".into();
    assert!(sp.validate().is_err());
    let mut sp = ServiceProvider::salesforce("example");
    assert!(
        sp.validate().is_err(),
        "signed requests without certificate"
    );
    sp.signing_certs = vec!["bm90IGEgY2VydA==".into()];
    assert!(matches!(sp.validate(), Err(SamlError::BadCertificate(_))));
}
