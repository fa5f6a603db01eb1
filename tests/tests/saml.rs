//! The SAML 2.0 IdP end to end: an SP registered from a metadata file (`sp add`), an
//! AuthnRequest by HTTP-Redirect, the real matrix + TOTP sign-in of `demo-mfa`, and the
//! HTTP-POST binding page read like a browser would. The Response is verified by `xmlsec1`
//! (libxmlsec, independent of our signer) with the certificate from `/saml/metadata`; a
//! changed byte must fail. Hostile requests (unregistered ACS, unknown issuer, replayed ID)
//! end on an error page without a form. The ACS (on 127.0.0.1) is never contacted.

mod common;
mod saml_support;

use std::path::Path;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{Backend, Browser, Page, TestServer};
use passlogic_idp_core::saml::bindings::{deflate, percent_encode};
use saml_support::{assert_error_page, authn_request, between, idp_cert_pem, sign_in_mfa};
use scraper::Selector;

const SP: &str = "https://sp.test.example/saml";
const ACS: &str = "https://127.0.0.1:9/saml/acs";
const RELAY: &str = "state/1 with spaces & <odd> \"chars\" é";
const ASSERTION_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='Assertion']]";
const MFA_CLASS: &str = "https://refeds.org/profile/mfa";

// ---------------------------------------------------------------------------------------------
// helpers

fn sp_metadata(entity: &str, acs: &str) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="false" WantAssertionsSigned="true"><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    )
}

fn register_sp(server: &TestServer, entity: &str, acs: &str) {
    let file = server.data_dir().join("sp-metadata.xml");
    std::fs::write(&file, sp_metadata(entity, acs)).unwrap();
    let out = server.cli_ok(&["sp", "add", "--metadata", file.to_str().unwrap()]);
    assert!(
        out.contains(&format!("sp: {entity}")),
        "sp add printed:\n{out}"
    );
}

/// `/saml/sso?SAMLRequest=...&RelayState=...` (HTTP-Redirect binding, unsigned).
fn sso_path(server: &TestServer, issuer: &str, id: &str, extra_attrs: &str) -> String {
    let xml = authn_request(server, issuer, id, extra_attrs);
    let b64 = STANDARD.encode(deflate(xml.as_bytes()));
    format!(
        "/saml/sso?SAMLRequest={}&RelayState={}",
        percent_encode(&b64),
        percent_encode(RELAY)
    )
}

/// `POST /saml/sso` (HTTP-POST binding, unsigned).
fn sso_post(b: &Browser, server: &TestServer, id: &str) -> Page {
    let xml = authn_request(server, SP, id, "");
    b.post_form_raw(
        "/saml/sso",
        &[
            ("SAMLRequest", &STANDARD.encode(xml.as_bytes())),
            ("RelayState", RELAY),
        ],
    )
}

/// The HTTP-POST binding form: (action, SAMLResponse XML, RelayState).
fn post_form(p: &Page, what: &str) -> (String, String, Option<String>) {
    p.expect_status(200, what);
    let html = p.html();
    let form = Selector::parse("form[data-autosubmit]").unwrap();
    let form = html
        .select(&form)
        .next()
        .unwrap_or_else(|| panic!("{what}: no auto-post form: {}", p.describe()));
    let action = form.value().attr("action").unwrap().to_owned();
    let field = |name: &str| {
        let sel = Selector::parse(&format!("input[name={name}]")).unwrap();
        form.select(&sel)
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_owned))
    };
    let b64 = field("SAMLResponse").unwrap_or_else(|| panic!("{what}: no SAMLResponse"));
    let xml = String::from_utf8(STANDARD.decode(b64).expect("base64")).expect("utf-8");
    (action, xml, field("RelayState"))
}

/// xmlsec1 verification of the assertion signature with the IdP certificate as key and only
/// trust anchor.
fn xmlsec1_verify(dir: &Path, cert_pem: &str, xml: &str) -> (bool, String) {
    let cert = dir.join("idp-cert.pem");
    std::fs::write(&cert, cert_pem).unwrap();
    let file = dir.join("response.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmlsec1")
        .arg("--verify")
        .arg("--pubkey-cert-pem")
        .arg(&cert)
        .arg("--trusted-pem")
        .arg(&cert)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ])
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        ])
        .args(["--node-xpath", ASSERTION_SIG])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmlsec1 is needed (apt-get install xmlsec1): {e}"));
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && log.contains("OK"), log)
}

/// pysaml2 (an independent SAML SP library, which verifies with the xmlsec1 binary) parses and
/// validates the Response as the SP would: signature against the IdP metadata, Destination,
/// Audience, InResponseTo (outstanding request), time conditions. Prints a JSON summary.
const PYSAML2_SP: &str = r#"
import json, sys
from saml2 import BINDING_HTTP_POST
from saml2.client import Saml2Client
from saml2.config import SPConfig
idp_md, sp, acs, req_id, b64 = sys.argv[1:6]
conf = {
    "entityid": sp,
    "metadata": {"local": [idp_md]},
    "service": {"sp": {
        "endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
        "want_assertions_signed": True,
        "want_response_signed": False,
        "allow_unsolicited": False,
    }},
    "xmlsec_binary": "/usr/bin/xmlsec1",
    "accepted_time_diff": 60,
}
cfg = SPConfig()
cfg.load(conf)
client = Saml2Client(config=cfg)
resp = client.parse_authn_request_response(b64, BINDING_HTTP_POST, outstanding={req_id: "/"})
if resp is None:
    sys.exit("pysaml2 returned no response")
print(json.dumps({
    "name_id": resp.name_id.text,
    "issuer": resp.issuer(),
    "in_response_to": resp.in_response_to,
    "classes": [a[0] for a in resp.authn_info()],
}))
"#;

fn pysaml2_parse(dir: &Path, idp_metadata: &str, req_id: &str, xml: &str) -> serde_json::Value {
    let md = dir.join("idp-metadata.xml");
    std::fs::write(&md, idp_metadata).unwrap();
    let script = dir.join("pysaml2_sp.py");
    std::fs::write(&script, PYSAML2_SP).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(&md)
        .args([SP, ACS, req_id])
        .arg(STANDARD.encode(xml.as_bytes()))
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "pysaml2 (pip install pysaml2) must accept the Response:\n{text}"
    );
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
        .unwrap_or_else(|e| panic!("pysaml2 output ({e}): {text}"))
}

// ---------------------------------------------------------------------------------------------
// scenarios

fn sp_initiated_sso_verified_by_xmlsec1(backend: Backend) {
    let mut server = TestServer::start(backend, &[]);
    register_sp(&server, SP, ACS);
    let listed = server.cli_ok(&["sp", "list"]);
    assert!(
        listed.contains(&format!("\"entity_id\":\"{SP}\"")),
        "{listed}"
    );
    let dir = tempfile::tempdir().unwrap();
    let b = server.browser();

    // Metadata: entity ID and endpoints.
    let md = b.get("/saml/metadata");
    md.expect_status(200, "metadata");
    assert!(md
        .body
        .contains(&format!("entityID=\"{}\"", server.url("/saml/metadata"))));
    assert!(md
        .body
        .contains(&format!("Location=\"{}\"", server.url("/saml/sso"))));
    let cert = idp_cert_pem(&b);

    // SP-initiated, no session: through the real sign-in, back to the resumed request.
    let login = b.get(&sso_path(&server, SP, "_req-first", ""));
    let done = sign_in_mfa(&server, &b, &login, "/saml/resume?id=", 0);
    let (action, xml, relay) = post_form(&done, "resumed request");
    assert_eq!(action, ACS);
    assert_eq!(relay.as_deref(), Some(RELAY), "RelayState byte-exact");
    let csp = done.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action https://127.0.0.1:9;"), "{csp}");
    let (ok, log) = xmlsec1_verify(dir.path(), &cert, &xml);
    assert!(ok, "xmlsec1 must verify the assertion: {log}\n{xml}");
    assert!(xml.contains("InResponseTo=\"_req-first\""), "{xml}");
    assert!(xml.contains(&format!("Destination=\"{ACS}\"")), "{xml}");
    assert_eq!(between(&xml, "<saml:Audience", "</saml:Audience>"), SP);
    assert_eq!(
        between(&xml, "<saml:NameID", "</saml:NameID>"),
        "demo-mfa@demo.example"
    );
    assert!(xml.contains("Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\""));
    assert_eq!(
        between(
            &xml,
            "<saml:AuthnContextClassRef",
            "</saml:AuthnContextClassRef>"
        ),
        MFA_CLASS
    );
    assert!(xml.contains("urn:oasis:names:tc:SAML:2.0:status:Success"));

    // pysaml2, an independent SP library, accepts it too.
    let seen = pysaml2_parse(dir.path(), &md.body, "_req-first", &xml);
    assert_eq!(seen["name_id"], "demo-mfa@demo.example", "{seen}");
    assert_eq!(
        seen["issuer"],
        server.url("/saml/metadata").as_str(),
        "{seen}"
    );
    assert_eq!(seen["in_response_to"], "_req-first", "{seen}");
    assert_eq!(seen["classes"][0], MFA_CLASS, "{seen}");

    // One changed byte inside the signed assertion: xmlsec1 refuses it.
    let tampered = xml.replacen("demo-mfa@demo.example", "demo-mfb@demo.example", 1);
    assert_ne!(tampered, xml);
    let (ok, _) = xmlsec1_verify(dir.path(), &cert, &tampered);
    assert!(!ok, "xmlsec1 must refuse a changed assertion");

    // The resume URL answers once.
    let again = b.get(done.request.trim_start_matches("GET "));
    assert_error_page(&again, "resume URL used twice");

    // With the session: answered at once.
    let path = sso_path(&server, SP, "_req-second", "");
    let (_, xml2, _) = post_form(&b.get(&path), "request with a session");
    assert!(xml2.contains("InResponseTo=\"_req-second\""));
    assert!(xmlsec1_verify(dir.path(), &cert, &xml2).0);

    // The same request ID again: refused.
    assert_error_page(&b.get(&path), "replayed request ID");

    // An ACS that is not in the SP's metadata: error page, nothing posted.
    let evil = " AssertionConsumerServiceURL=\"https://127.0.0.1:9/evil\"";
    assert_error_page(
        &b.get(&sso_path(&server, SP, "_req-evil-acs", evil)),
        "unregistered ACS",
    );

    // Unknown issuer: error page.
    assert_error_page(
        &b.get(&sso_path(
            &server,
            "https://unknown.example/sp",
            "_req-unknown",
            "",
        )),
        "unknown issuer",
    );

    // IsPassive without a session: a NoPassive error Response to the ACS.
    let fresh = server.browser();
    let (action, xml3, _) = post_form(
        &fresh.get(&sso_path(
            &server,
            SP,
            "_req-passive",
            " IsPassive=\"true\"",
        )),
        "IsPassive without session",
    );
    assert_eq!(action, ACS);
    assert!(
        xml3.contains("urn:oasis:names:tc:SAML:2.0:status:NoPassive"),
        "{xml3}"
    );
    assert!(!xml3.contains("<saml:Assertion"), "{xml3}");

    // HTTP-POST binding with the session: answered at once, RelayState kept.
    let (_, xml5, relay5) = post_form(&sso_post(&b, &server, "_req-post"), "HTTP-POST request");
    assert!(xml5.contains("InResponseTo=\"_req-post\""), "{xml5}");
    assert_eq!(relay5.as_deref(), Some(RELAY));
    assert!(xmlsec1_verify(dir.path(), &cert, &xml5).0);
    // HTTP-POST without a session cookie: a top-level GET of the resume URL, then the sign-in.
    let p = sso_post(&fresh, &server, "_req-post-fresh");
    p.expect_see_other("/saml/resume", "HTTP-POST without a session");
    fresh
        .follow(&p)
        .expect_see_other("/login", "resume without a session");

    // ForceAuthn with a session: the sign-in runs again.
    b.get(&sso_path(&server, SP, "_req-force", " ForceAuthn=\"true\""))
        .expect_see_other("/login", "ForceAuthn with a session");

    // IdP-initiated: without a session through /login, with one at once.
    let init = format!(
        "/saml/idp-init?sp={}&RelayState=deep%2Flink",
        percent_encode(SP)
    );
    fresh
        .get(&init)
        .expect_see_other("/login", "IdP-initiated without a session");
    let (action, xml4, relay4) = post_form(&b.get(&init), "IdP-initiated");
    assert_eq!(action, ACS);
    assert_eq!(relay4.as_deref(), Some("deep/link"));
    assert!(!xml4.contains("InResponseTo"), "{xml4}");
    assert!(xmlsec1_verify(dir.path(), &cert, &xml4).0);
    assert_error_page(
        &b.get("/saml/idp-init?sp=https%3A%2F%2Fnobody.example"),
        "IdP-initiated for an unknown SP",
    );

    // `keys rotate-kek` re-seals the SAML key: same certificate after a restart.
    server.stop();
    let out = server.cli_ok(&["keys", "rotate-kek"]);
    assert!(out.contains("resealed: "), "{out}");
    server.start_again();
    assert_eq!(
        idp_cert_pem(&server.browser()),
        cert,
        "certificate kept across KEK rotation"
    );
}

both_backends!(sp_initiated_sso_verified_by_xmlsec1);

/// `sp add` refuses a second SP with the same entity ID and an http ACS; `--preset box`
/// applies Box's attributes while keeping the metadata's endpoints.
fn sp_cli_presets_and_refusals(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let file = server.data_dir().join("box.xml");
    std::fs::write(&file, sp_metadata("box.net", "https://127.0.0.1:9/box/acs")).unwrap();
    let path = file.to_str().unwrap();
    server.cli_ok(&["sp", "add", "--metadata", path, "--preset", "box"]);
    let dup = server.cli(&["sp", "add", "--metadata", path]);
    assert!(
        !dup.status.success(),
        "a duplicate entity ID must be refused"
    );
    let plain = server.data_dir().join("plain.xml");
    std::fs::write(
        &plain,
        sp_metadata("https://plain.example", "http://127.0.0.1:9/acs"),
    )
    .unwrap();
    let http = server.cli(&["sp", "add", "--metadata", plain.to_str().unwrap()]);
    assert!(!http.status.success(), "an http:// ACS must be refused");
    let list = server.cli_ok(&["sp", "list"]);
    let lines: Vec<serde_json::Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 1, "{list}");
    let sp = &lines[0];
    assert_eq!(sp["entity_id"], "box.net");
    assert_eq!(sp["acs"][0]["url"], "https://127.0.0.1:9/box/acs");
    let names: Vec<&str> = sp["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["email", "givenName", "sn", "memberOf"], "{sp}");
}

both_backends!(sp_cli_presets_and_refusals);
