//! The example SP (`examples/saml-sp`, built here as `saml-sp-under-test`) and a pysaml2 SP
//! against the real server: each completes SP-initiated and IdP-initiated SSO through the
//! matrix + TOTP sign-in of `demo-mfa`, then single logout across both (started by the example
//! SP, and by our own sign-out). The example SP registers from the metadata it prints
//! (`sp add --metadata FILE --allow-http-loopback`) and shows what it verified on its home page.

mod common;
mod saml_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{Backend, Browser, Page, TestServer};
use saml_support::*;
use scraper::Selector;

const PY: &str = "https://py-sp.test.example/saml";
const MFA_CLASS: &str = "https://refeds.org/profile/mfa";

/// The running example SP; killed on drop.
struct ExampleSp {
    child: Child,
    base: String,
    entity: String,
}

impl Drop for ExampleSp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ExampleSp {
    fn start(server: &TestServer, metadata_out: &std::path::Path) -> ExampleSp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_saml-sp-under-test"))
            .args(["--idp-metadata", &server.url("/saml/metadata")])
            .args(["--listen", "127.0.0.1:0"])
            .arg("--metadata-out")
            .arg(metadata_out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the example SP");
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let (mut base, mut entity) = (None, None);
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(e) = line.strip_prefix("entity-id: ") {
                entity = Some(e.to_owned());
            }
            if let Some(b) = line.strip_prefix("ready: ") {
                base = Some(b.to_owned());
                break;
            }
        }
        // Keep draining stdout so the SP never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ExampleSp {
            child,
            base: base.expect("the example SP printed no ready: line"),
            entity: entity.expect("no entity-id: line"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn attr_text(p: &Page, selector: &str) -> String {
    let sel = Selector::parse(selector).unwrap();
    p.html()
        .select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no {selector}: {}", p.describe()))
        .text()
        .collect::<String>()
}

/// POSTs the auto-post form of `p` to the example SP's ACS like a browser; returns the SP's
/// home page after its 303.
fn deliver_to_example(b: &Browser, sp: &ExampleSp, p: &Page) -> Page {
    let (action, field, xml, relay) = post_form(p, "Response to the example SP");
    assert_eq!(action, sp.url("/acs"));
    let b64 = STANDARD.encode(xml.as_bytes());
    let mut fields = vec![(field.as_str(), b64.as_str())];
    if let Some(r) = relay.as_deref() {
        fields.push(("RelayState", r));
    }
    let r = b.post_form_raw(&action, &fields);
    assert_eq!(r.status.as_u16(), 303, "ACS: {}", r.describe());
    let home = b.get(&sp.url("/"));
    home.expect_status(200, "example SP home");
    home
}

fn example_sp_and_pysaml2_sso_and_slo(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let dir = tempfile::tempdir().unwrap();
    let md_file = dir.path().join("example-sp.xml");
    let sp = ExampleSp::start(&server, &md_file);
    // Registered from the metadata the example printed; http on loopback needs the flag.
    let refused = server.cli(&["sp", "add", "--metadata", md_file.to_str().unwrap()]);
    assert!(!refused.status.success(), "http ACS without the flag");
    let out = server.cli_ok(&[
        "sp",
        "add",
        "--metadata",
        md_file.to_str().unwrap(),
        "--allow-http-loopback",
    ]);
    assert!(out.contains(&format!("sp: {}", sp.entity)), "{out}");
    let py = PySp::new(&server, dir.path(), PY, "py", "redirect");

    // ---- example SP, SP-initiated, through matrix + TOTP ------------------------------------
    let b = server.browser();
    let r = b.get(&sp.url("/login"));
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    let to_idp = r.location().unwrap();
    assert!(to_idp.starts_with("/saml/sso?SAMLRequest="), "{to_idp}");
    let login = b.get(&to_idp);
    let done = sign_in_mfa(&server, &b, &login, "/saml/resume?id=", 0);
    let home = deliver_to_example(&b, &sp, &done);
    assert_eq!(attr_text(&home, "[data-name-id]"), "demo-mfa@demo.example");
    assert_eq!(
        attr_text(&home, "[data-name-id-format]"),
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    );
    assert_eq!(attr_text(&home, "[data-authn-context]"), MFA_CLASS);
    assert!(attr_text(&home, "[data-in-response-to]").starts_with('_'));

    // ---- example SP, IdP-initiated ------------------------------------------------------------
    let init = format!(
        "/saml/idp-init?sp={}",
        passlogic_idp_core::saml::bindings::percent_encode(&sp.entity)
    );
    let home = deliver_to_example(&b, &sp, &b.get(&init));
    assert_eq!(attr_text(&home, "[data-in-response-to]"), "(IdP-initiated)");
    assert_eq!(attr_text(&home, "[data-authn-context]"), MFA_CLASS);

    // A Response replayed to the example SP: refused (its request ID is used up).
    let (_, _, xml, _) = post_form(
        &b.get(&sso_path(&server, &sp.entity, "_never-sent", "")),
        "unsolicited InResponseTo",
    );
    let r = b.post_form_raw(
        &sp.url("/acs"),
        &[("SAMLResponse", &STANDARD.encode(xml.as_bytes()))],
    );
    r.expect_status(400, "a Response to a request the SP never sent");

    // ---- pysaml2, SP-initiated, through matrix + TOTP (its own TOTP time step) ----------------
    server.advance_clock(30);
    let c = server.browser();
    let req = py.run(&["authn-request"]);
    let login = c.get(req["url"].as_str().unwrap());
    let done = sign_in_mfa(&server, &c, &login, "/saml/resume?id=", 30);
    let (_, _, xml, relay) = post_form(&done, "Response to pysaml2");
    assert_eq!(relay.as_deref(), Some("py-relay"));
    let seen = py.run(&[
        "sso-response",
        &STANDARD.encode(xml.as_bytes()),
        req["id"].as_str().unwrap(),
    ]);
    assert_eq!(seen["name_id"], "demo-mfa@demo.example", "{seen}");
    assert_eq!(seen["classes"][0], MFA_CLASS, "{seen}");
    // pysaml2, IdP-initiated.
    let (_, _, xml, _) = post_form(
        &c.get(&format!(
            "/saml/idp-init?sp={}",
            passlogic_idp_core::saml::bindings::percent_encode(PY)
        )),
        "IdP-initiated to pysaml2",
    );
    let seen = py.run(&["sso-response", &STANDARD.encode(xml.as_bytes()), "-"]);
    assert_eq!(seen["in_response_to"], serde_json::Value::Null, "{seen}");

    // ---- single logout started by the example SP (b: example SP + pysaml2) -------------------
    py.sso(&server, &b, "_py-b");
    let r = b.get(&sp.url("/logout"));
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    let r = b.get(&r.location().unwrap());
    assert!(b.session_json().is_none(), "the IdP session ended");
    assert_eq!(r.status.as_u16(), 303, "to pysaml2: {}", r.describe());
    let handled = py.run(&["handle-logout-request", "redirect", &r.location().unwrap()]);
    assert_eq!(handled["name_id"], "demo-mfa@demo.example");
    let r = b.get(handled["url"].as_str().unwrap());
    assert_eq!(
        r.status.as_u16(),
        303,
        "back to the example SP: {}",
        r.describe()
    );
    let to_sp = r.location().unwrap();
    assert!(to_sp.starts_with(&sp.url("/slo?SAMLResponse=")), "{to_sp}");
    let bye = b.get(&to_sp);
    bye.expect_status(200, "example SP verified our LogoutResponse");
    assert_eq!(bye.count("[data-logged-out]"), 1, "{}", bye.describe());
    assert!(bye
        .body
        .contains("urn:oasis:names:tc:SAML:2.0:status:Success"));
    assert_eq!(b.get(&sp.url("/")).count("[data-signed-out]"), 1);

    // ---- IdP-initiated logout (c: pysaml2 + example SP) ---------------------------------------
    deliver_to_example(
        &c,
        &sp,
        &c.get(&sp.url("/login"))
            .pipe(|r| c.get(&r.location().unwrap())),
    );
    c.get("/").expect_status(200, "home page (csrf)");
    let r = c.post_form("/logout", &[]);
    assert!(c.session_json().is_none(), "signed out");
    // pysaml2 first (entity IDs in reverse order), then the example SP.
    let handled = py.run(&["handle-logout-request", "redirect", &r.location().unwrap()]);
    let r = c.get(handled["url"].as_str().unwrap());
    let to_sp = r.location().unwrap();
    assert!(to_sp.starts_with(&sp.url("/slo?SAMLRequest=")), "{to_sp}");
    let r = c.get(&to_sp);
    assert_eq!(
        r.status.as_u16(),
        303,
        "example SP answers: {}",
        r.describe()
    );
    let r = c.get(&r.location().unwrap());
    r.expect_see_other("/login", "logout chain finished");
    assert_eq!(c.get(&sp.url("/")).count("[data-signed-out]"), 1);
    let audit = audit_events(&server);
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with("saml.slo|idp-initiated|success|")
                && l.contains(&sp.entity)
                && l.contains(PY)),
        "{audit:#?}"
    );
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for Page {}

both_backends!(example_sp_and_pysaml2_sso_and_slo);
