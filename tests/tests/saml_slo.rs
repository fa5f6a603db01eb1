//! Single logout end to end with two pysaml2 service providers (an independent SAML library
//! that signs and verifies with xmlsec1): A speaks HTTP-POST at its SingleLogoutService, B
//! HTTP-Redirect. Both get an assertion in one session.
//!
//! - SP-initiated: pysaml2 A sends a signed LogoutRequest; we end the session, send B a signed
//!   LogoutRequest (pysaml2 B verifies and answers), and answer A with a signed LogoutResponse
//!   that pysaml2 A and xmlsec1 accept. The same LogoutRequest again is refused.
//! - IdP-initiated: our sign-out (`POST /logout`) logs out of B, then A, then ends at `/login`.

mod common;
mod saml_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{Backend, TestServer};
use saml_support::*;

const A: &str = "https://sp-a.test.example/saml";
const B: &str = "https://sp-b.test.example/saml";
const LOGOUT_RESPONSE_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='LogoutResponse']]";
const LOGOUT_REQUEST_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='LogoutRequest']]";

fn single_logout_across_two_sps(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let dir = tempfile::tempdir().unwrap();
    let a = PySp::new(&server, dir.path(), A, "spa", "post");
    let bsp = PySp::new(&server, dir.path(), B, "spb", "redirect");
    let cert = idp_cert_pem(&server.browser());
    let md = server.browser().get("/saml/metadata").body;
    assert!(
        md.contains(&format!(
            "SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{}\"",
            server.url("/saml/slo")
        )),
        "{md}"
    );

    // ---- SP-initiated, from A (HTTP-POST) -------------------------------------------------
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let seen_a = a.sso(&server, &b, "_a1");
    let seen_b = bsp.sso(&server, &b, "_b1");
    assert_eq!(seen_a["name_id"], "demo@demo.example");
    let si_a = seen_a["session_index"].as_str().unwrap().to_owned();
    let si_b = seen_b["session_index"].as_str().unwrap().to_owned();
    assert_ne!(si_a, si_b);
    assert_eq!(count_rows(&server, "saml_session_sps"), 2);

    let req = a.run(&[
        "logout-request",
        "demo@demo.example",
        EMAIL_FMT,
        &si_a,
        "post",
    ]);
    let a_req_id = req["id"].as_str().unwrap().to_owned();
    let saml_request = req["SAMLRequest"].as_str().unwrap().to_owned();
    let r = b.post_form_raw(
        "/saml/slo",
        &[("SAMLRequest", &saml_request), ("RelayState", "rs-a")],
    );
    // Our session is over at once; B is next (HTTP-Redirect, signed query).
    assert!(b.session_json().is_none(), "the session must be ended");
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    let to_b = r.location().unwrap();
    assert!(
        to_b.starts_with("https://127.0.0.1:9/spb/slo?SAMLRequest="),
        "{to_b}"
    );
    assert!(to_b.contains("&Signature="), "{to_b}");
    let handled = bsp.run(&["handle-logout-request", "redirect", &to_b]);
    assert_eq!(handled["name_id"], "demo@demo.example", "{handled}");
    assert_eq!(handled["session_indexes"][0], si_b.as_str(), "{handled}");
    assert_eq!(handled["issuer"], server.url("/saml/metadata").as_str());
    // B's LogoutResponse comes back; A gets our signed LogoutResponse by HTTP-POST.
    let back = b.get(handled["url"].as_str().unwrap());
    let (action, field, xml, relay) = post_form(&back, "LogoutResponse to A");
    assert_eq!(action, "https://127.0.0.1:9/spa/slo");
    assert_eq!(field, "SAMLResponse");
    assert_eq!(relay.as_deref(), Some("rs-a"), "RelayState kept");
    assert!(
        xml.contains(&format!("InResponseTo=\"{a_req_id}\"")),
        "{xml}"
    );
    let (ok, log) = xmlsec1_verify(dir.path(), &cert, &xml, LOGOUT_RESPONSE_SIG);
    assert!(ok, "xmlsec1 must verify the LogoutResponse: {log}\n{xml}");
    let tampered = xml.replacen("status:Success", "status:Requester", 1);
    assert!(!xmlsec1_verify(dir.path(), &cert, &tampered, LOGOUT_RESPONSE_SIG).0);
    let checked = a.run(&[
        "logout-response-check",
        "post",
        &STANDARD.encode(xml.as_bytes()),
    ]);
    assert_eq!(checked["in_response_to"], a_req_id.as_str(), "{checked}");
    assert_eq!(
        checked["status"], "urn:oasis:names:tc:SAML:2.0:status:Success",
        "{checked}"
    );
    assert_eq!(checked["sub_status"], serde_json::Value::Null, "{checked}");
    assert_eq!(count_rows(&server, "saml_session_sps"), 0);
    assert_eq!(count_rows(&server, "saml_logouts"), 0);
    // B's LogoutResponse again: its logout is over, refused.
    // (The page's language links repeat the query, so only the markers are checked.)
    let again = b.get(handled["url"].as_str().unwrap());
    again.expect_status(400, "replayed LogoutResponse");
    assert_eq!(again.count("[data-saml-error]"), 1, "{}", again.describe());
    assert_eq!(again.count("form[data-autosubmit]"), 0);

    // The same LogoutRequest again: refused, audited.
    let again = b.post_form_raw("/saml/slo", &[("SAMLRequest", &saml_request)]);
    assert_error_page(&again, "replayed LogoutRequest");
    // An unsigned LogoutRequest (the SP's settings require a signature): refused.
    let unsigned = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_unsigned" Version="2.0" IssueInstant="{}" Destination="{}"><saml:Issuer>{A}</saml:Issuer><saml:NameID>demo@demo.example</saml:NameID></samlp:LogoutRequest>"#,
        now_instant(),
        server.url("/saml/slo")
    );
    let p = b.get(&redirect_path("/saml/slo", "SAMLRequest", &unsigned, None));
    assert_error_page(&p, "unsigned LogoutRequest");
    let audit = audit_events(&server);
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with("saml.slo|") && l.contains("replayed")),
        "{audit:#?}"
    );

    // A signed LogoutRequest for another Destination: refused, the session stays.
    let d = server.browser();
    d.sign_in("demo", &server.pattern_of("demo"), "/");
    let seen = a.sso(&server, &d, "_a-dest");
    let wrong = a.run(&[
        "logout-request",
        "demo@demo.example",
        EMAIL_FMT,
        seen["session_index"].as_str().unwrap(),
        "post",
        "https://elsewhere.example/saml/slo",
    ]);
    let p = d.post_form_raw(
        "/saml/slo",
        &[("SAMLRequest", wrong["SAMLRequest"].as_str().unwrap())],
    );
    assert_error_page(&p, "LogoutRequest for another Destination");
    assert!(d.session_json().is_some(), "nothing ended");
    assert_eq!(count_rows(&server, "saml_session_sps"), 1);

    // ---- IdP-initiated: our sign-out -----------------------------------------------------
    let c = server.browser();
    c.sign_in("demo", &server.pattern_of("demo"), "/");
    let seen_a = a.sso(&server, &c, "_a2");
    let seen_b = bsp.sso(&server, &c, "_b2");
    c.get("/").expect_status(200, "home page (csrf)");
    let r = c.post_form("/logout", &[]);
    assert!(c.session_json().is_none(), "signed out");
    // B first (entity IDs in reverse order), by HTTP-Redirect.
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    let to_b = r.location().unwrap();
    let handled = bsp.run(&["handle-logout-request", "redirect", &to_b]);
    assert_eq!(handled["session_indexes"][0], seen_b["session_index"]);
    // Then A, by an auto-POST page; pysaml2 A verifies the enveloped signature.
    let page = c.get(handled["url"].as_str().unwrap());
    let (action, field, xml_req, _) = post_form(&page, "LogoutRequest to A");
    assert_eq!(action, "https://127.0.0.1:9/spa/slo");
    assert_eq!(field, "SAMLRequest");
    let (ok, log) = xmlsec1_verify(dir.path(), &cert, &xml_req, LOGOUT_REQUEST_SIG);
    assert!(ok, "xmlsec1 must verify our LogoutRequest: {log}");
    let handled = a.run(&[
        "handle-logout-request",
        "post",
        &STANDARD.encode(xml_req.as_bytes()),
    ]);
    assert_eq!(handled["session_indexes"][0], seen_a["session_index"]);
    let done = c.post_form_raw(
        "/saml/slo",
        &[("SAMLResponse", handled["SAMLResponse"].as_str().unwrap())],
    );
    done.expect_see_other("/login", "logout chain finished");
    assert_eq!(count_rows(&server, "saml_logouts"), 0);
    let audit = audit_events(&server);
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with("saml.slo|idp-initiated|success|") && l.contains(A)),
        "{audit:#?}"
    );
}

both_backends!(single_logout_across_two_sps);
