//! Signed AuthnRequests and hostile input at the server.
//!
//! An SP registered with `--require-signed-requests`: pysaml2-signed requests are accepted by
//! HTTP-Redirect (query-string signature) and HTTP-POST (enveloped signature); unsigned,
//! signature removed, tampered (signed query and signed XML) and wrapped (XSW) requests are
//! refused. Then a hostile table against an SP that accepts unsigned requests: DTD / entity
//! expansion, deflate bomb, oversized request, ACS not in metadata, replayed ID, wrong
//! Destination, unknown issuer, stale IssueInstant end on an error page (the SP or its ACS is
//! not trusted yet); an unsatisfiable NameIDPolicy or RequestedAuthnContext from a known SP gets
//! the SAML status at its ACS. Every refusal is audited and stores nothing: no pending request,
//! no session.

mod common;
mod saml_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{Backend, Browser, Page, TestServer};
use passlogic_idp_core::saml::bindings::{deflate, percent_encode};
use saml_support::*;

const SIGNED: &str = "https://signed-sp.test.example/saml";
const PLAIN: &str = "https://plain-hostile.test.example/saml";

/// (start, end) byte span of the first element with this local name (any prefix).
fn element_span(xml: &str, local: &str) -> (usize, usize) {
    let name_of = |i: usize| {
        let rest = &xml[i + 1..];
        let end = rest.find([' ', '>', '/']).unwrap();
        &rest[..end]
    };
    let open = xml
        .match_indices('<')
        .map(|(i, _)| i)
        .find(|&i| {
            let n = name_of(i);
            n == local || n.ends_with(&format!(":{local}"))
        })
        .unwrap_or_else(|| panic!("no {local} in {xml}"));
    let close_tag = format!("</{}>", name_of(open));
    let end = open + xml[open..].find(&close_tag).unwrap() + close_tag.len();
    (open, end)
}

fn post_request(b: &Browser, xml: &str) -> Page {
    b.post_form_raw(
        "/saml/sso",
        &[
            ("SAMLRequest", &STANDARD.encode(xml.as_bytes())),
            ("RelayState", "r"),
        ],
    )
}

/// Asserts the refusal left nothing behind and was audited.
struct Ledger<'a> {
    server: &'a TestServer,
    failures: usize,
}

impl<'a> Ledger<'a> {
    fn new(server: &'a TestServer) -> Self {
        let failures = Self::count(server);
        Ledger { server, failures }
    }

    fn count(server: &TestServer) -> usize {
        audit_events(server)
            .iter()
            .filter(|l| l.starts_with("saml.sso|") && l.contains("|failure|"))
            .count()
    }

    fn refused(&mut self, p: &Page, what: &str) {
        assert_error_page(p, what);
        assert_eq!(
            count_rows(self.server, "saml_pending_requests"),
            0,
            "{what}: nothing pending"
        );
        let now = Self::count(self.server);
        assert!(now > self.failures, "{what}: audited");
        self.failures = now;
    }
}

fn signed_requests_and_hostile_input(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let dir = tempfile::tempdir().unwrap();
    let signed = PySp::new_with(
        &server,
        dir.path(),
        SIGNED,
        "signed",
        "redirect",
        false,
        &["--require-signed-requests"],
    );
    PySp::new(&server, dir.path(), PLAIN, "plain", "redirect");
    let sessions_before = count_rows(&server, "sessions");
    let fresh = server.browser(); // never signs in
    let mut ledger = Ledger::new(&server);

    // ---- signed SP --------------------------------------------------------------------------
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let sessions_signed_in = count_rows(&server, "sessions");
    let req = signed.run(&["authn-request-signed", "redirect"]);
    let url = req["url"].as_str().unwrap().to_owned();
    assert!(url.contains("&Signature="), "{url}");
    let (_, _, xml, _) = post_form(&b.get(&url), "signed Redirect request");
    let seen = signed.run(&[
        "sso-response",
        &STANDARD.encode(xml.as_bytes()),
        req["id"].as_str().unwrap(),
    ]);
    assert_eq!(seen["name_id"], "demo@demo.example", "{seen}");

    let req = signed.run(&["authn-request-signed", "post"]);
    let signed_xml = req["xml"].as_str().unwrap().to_owned();
    let id = req["id"].as_str().unwrap().to_owned();
    assert!(signed_xml.contains("Signature"), "{signed_xml}");
    let (_, _, xml, _) = post_form(&post_request(&b, &signed_xml), "signed POST request");
    assert!(xml.contains(&format!("InResponseTo=\"{id}\"")), "{xml}");

    // Unsigned.
    let p = fresh.get(&sso_path(&server, SIGNED, "_unsigned", ""));
    ledger.refused(&p, "unsigned request from an SP that signs");
    // Redirect signature removed.
    let req = signed.run(&["authn-request-signed", "redirect"]);
    let url = req["url"].as_str().unwrap();
    let stripped = url[..url.find("&SigAlg=").unwrap()].to_owned();
    ledger.refused(&fresh.get(&stripped), "query signature removed");
    // Signed query tampered (RelayState is covered by the signature).
    let tampered = url.replace("RelayState=signed-relay", "RelayState=evil-relay");
    assert_ne!(tampered, url);
    ledger.refused(&fresh.get(&tampered), "tampered signed query");
    // Enveloped signature removed / XML tampered / wrapped.
    let req = signed.run(&["authn-request-signed", "post"]);
    let sx = req["xml"].as_str().unwrap().to_owned();
    let sid = req["id"].as_str().unwrap().to_owned();
    let body = sx.trim_start();
    let body = if body.starts_with("<?xml") {
        &body[body.find("?>").unwrap() + 2..]
    } else {
        body
    };
    let (sig_start, sig_end) = element_span(body, "Signature");
    let without_sig = format!("{}{}", &body[..sig_start], &body[sig_end..]);
    ledger.refused(
        &post_request(&fresh, &without_sig),
        "enveloped signature removed",
    );
    let changed = body.replacen(&format!("ID=\"{sid}\""), &format!("ID=\"{sid}x\""), 1);
    assert_ne!(changed, body);
    ledger.refused(&post_request(&fresh, &changed), "tampered signed XML");
    let altered = body.replacen("Version=\"2.0\"", "Version=\"2.0\" ForceAuthn=\"true\"", 1);
    assert_ne!(altered, body);
    ledger.refused(
        &post_request(&fresh, &altered),
        "attribute added to signed XML",
    );
    // XSW: a new root with another ID and an evil ACS, the signed original inside it.
    let root_end = body.find('>').unwrap();
    let close = body.rfind("</").unwrap();
    let evil_root = body[..root_end]
        .replacen(&format!("ID=\"{sid}\""), "ID=\"_evil\"", 1)
        .replacen(
            "AssertionConsumerServiceURL=\"",
            "AssertionConsumerServiceURL=\"https://evil.example/acs\" X=\"",
            1,
        );
    let wrapped = format!(
        "{evil_root}>{inner}<samlp:Extensions xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{body}</samlp:Extensions>{close_tag}",
        inner = &body[root_end + 1..close],
        close_tag = &body[close..],
    );
    ledger.refused(&post_request(&fresh, &wrapped), "XSW-wrapped request");
    let moved = format!(
        "{evil_root}>{}{}{}",
        &body[root_end + 1..sig_start],
        &body[sig_end..close],
        &body[close..]
    );
    ledger.refused(
        &post_request(&fresh, &moved),
        "signature dropped, ID changed",
    );

    // ---- hostile table against an SP that accepts unsigned requests ----------------------------
    let dtd = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
        authn_request(&server, PLAIN, "_dtd", "").replace(PLAIN, &format!("{PLAIN}&b;"))
    );
    ledger.refused(
        &fresh.get(&redirect_path("/saml/sso", "SAMLRequest", &dtd, None)),
        "DTD and entity expansion",
    );
    let mut bomb_xml = authn_request(&server, PLAIN, "_bomb", "");
    bomb_xml.insert_str(
        bomb_xml.len() - "</samlp:AuthnRequest>".len(),
        &" ".repeat(4_000_000),
    );
    let bomb = STANDARD.encode(deflate(bomb_xml.as_bytes()));
    assert!(bomb.len() < 16 * 1024, "the bomb fits the query limit");
    ledger.refused(
        &fresh.get(&format!("/saml/sso?SAMLRequest={}", percent_encode(&bomb))),
        "deflate bomb",
    );
    let mut big = authn_request(&server, PLAIN, "_big", "");
    big.insert_str(
        big.len() - "</samlp:AuthnRequest>".len(),
        &"x".repeat(400_000),
    );
    ledger.refused(&post_request(&fresh, &big), "oversized request");
    ledger.refused(
        &fresh.get(&sso_path(
            &server,
            PLAIN,
            "_acs",
            " AssertionConsumerServiceURL=\"https://evil.example/acs\"",
        )),
        "ACS not in metadata",
    );
    let once = sso_path(&server, PLAIN, "_once", "");
    fresh
        .get(&once)
        .expect_see_other("/login", "first use of a request ID");
    // The first use stored a pending request; count only what the replay adds.
    let pending = count_rows(&server, "saml_pending_requests");
    let p = fresh.get(&once);
    assert_error_page(&p, "replayed request ID");
    assert_eq!(count_rows(&server, "saml_pending_requests"), pending);
    ledger.failures = Ledger::count(&server);
    let wrong_dest =
        authn_request(&server, PLAIN, "_dest", "").replace("/saml/sso\"", "/saml/elsewhere\"");
    // Destination is checked before anything is stored.
    let p = fresh.get(&redirect_path(
        "/saml/sso",
        "SAMLRequest",
        &wrong_dest,
        None,
    ));
    assert_error_page(&p, "wrong Destination");
    assert_eq!(count_rows(&server, "saml_pending_requests"), pending);
    let p = fresh.get(&sso_path(&server, "https://unknown.example/sp", "_unk", ""));
    assert_error_page(&p, "unknown issuer");
    let stale = authn_request(&server, PLAIN, "_stale", "").replace(
        &format!("IssueInstant=\"{}", &now_instant()[..4]),
        "IssueInstant=\"2001",
    );
    let p = fresh.get(&redirect_path("/saml/sso", "SAMLRequest", &stale, None));
    assert_error_page(&p, "stale IssueInstant");
    assert_eq!(count_rows(&server, "saml_pending_requests"), pending);
    assert!(Ledger::count(&server) >= ledger.failures + 3, "audited");

    // Known SP, trusted ACS, unsatisfiable policy: the SAML status goes to the ACS.
    const KERBEROS: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos";
    let policy = format!("<samlp:NameIDPolicy Format=\"{KERBEROS}\" AllowCreate=\"false\"/>");
    let xml = authn_request(&server, PLAIN, "_nip", "").replacen(
        "</saml:Issuer>",
        &format!("</saml:Issuer>{policy}"),
        1,
    );
    let (action, _, resp, _) = post_form(
        &b.get(&redirect_path("/saml/sso", "SAMLRequest", &xml, None)),
        "NameIDPolicy we cannot satisfy",
    );
    assert_eq!(action, "https://127.0.0.1:9/plain/acs");
    assert!(
        resp.contains("urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"),
        "{resp}"
    );
    let xml = authn_request(&server, PLAIN, "_rac", "").replacen(
        "</saml:Issuer>",
        "</saml:Issuer><samlp:RequestedAuthnContext Comparison=\"exact\"><saml:AuthnContextClassRef xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">urn:example:unknown-class</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>",
        1,
    );
    let (_, _, resp, _) = post_form(
        &b.get(&redirect_path("/saml/sso", "SAMLRequest", &xml, None)),
        "RequestedAuthnContext we cannot satisfy",
    );
    assert!(
        resp.contains("urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"),
        "{resp}"
    );
    assert!(!resp.contains("<saml:Assertion"), "{resp}");

    // No hostile request created a session.
    assert_eq!(count_rows(&server, "sessions"), sessions_signed_in);
    assert_eq!(sessions_signed_in, sessions_before + 1);
}

both_backends!(signed_requests_and_hostile_input);
