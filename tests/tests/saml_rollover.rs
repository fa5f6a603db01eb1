//! SAML signing-certificate rollover: `keys rotate-saml` publishes the next certificate in the
//! metadata at once (a running server re-reads its keys within a minute) while the current key
//! keeps signing; after the activation delay the new key signs and the old certificate stays
//! published. xmlsec1 verifies each Response with exactly the certificate expected to sign it
//! and refuses it with the other.

mod common;
mod saml_support;

use common::{Backend, Browser, TestServer};
use saml_support::*;

const SP: &str = "https://rollover-sp.test.example/saml";

fn certs(b: &Browser) -> Vec<String> {
    let body = b.get("/saml/metadata").body;
    body.split("<md:KeyDescriptor use=\"signing\">")
        .skip(1)
        .map(|kd| between(kd, "<ds:X509Certificate", "</ds:X509Certificate>").to_owned())
        .collect()
}

fn pem(b64: &str) -> String {
    let mut p = String::from("-----BEGIN CERTIFICATE-----\n");
    for c in b64.as_bytes().chunks(64) {
        p.push_str(std::str::from_utf8(c).unwrap());
        p.push('\n');
    }
    p.push_str("-----END CERTIFICATE-----\n");
    p
}

fn saml_key_rollover(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let dir = tempfile::tempdir().unwrap();
    PySp::new(&server, dir.path(), SP, "roll", "redirect");
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let before = certs(&b);
    assert_eq!(before.len(), 1);
    let old = pem(&before[0]);

    let out = server.cli_ok(&["keys", "rotate-saml", "--activation-delay-secs", "3600"]);
    let active_from: i64 = line_value(&out, "active-from").parse().unwrap();
    assert!(out.contains("rotated-saml: "), "{out}");
    assert!(active_from >= common::now_unix() + 3500, "{out}");

    // Past the key cache: both published, the old one first and still signing.
    server.advance_clock(61);
    let during = certs(&b);
    assert_eq!(during.len(), 2, "next certificate published: {during:?}");
    assert_eq!(during[0], before[0]);
    let new = pem(&during[1]);
    let (_, _, xml, _) = post_form(&b.get(&sso_path(&server, SP, "_before", "")), "before");
    assert!(xmlsec1_verify(dir.path(), &old, &xml, ASSERTION_SIG).0);
    assert!(!xmlsec1_verify(dir.path(), &new, &xml, ASSERTION_SIG).0);

    // After the activation: the new key signs, the old certificate stays published.
    server.advance_clock(3600);
    let after = certs(&b);
    assert_eq!(after, vec![during[1].clone(), during[0].clone()]);
    // (IdP-initiated: the server's clock is an hour ahead of any request we could build.)
    let init = format!(
        "/saml/idp-init?sp={}",
        passlogic_idp_core::saml::bindings::percent_encode(SP)
    );
    let (_, _, xml, _) = post_form(&b.get(&init), "after");
    let (ok, log) = xmlsec1_verify(dir.path(), &new, &xml, ASSERTION_SIG);
    assert!(ok, "the new key signs: {log}");
    assert!(!xmlsec1_verify(dir.path(), &old, &xml, ASSERTION_SIG).0);
    // The metadata itself is signed by the active key.
    let md = b.get("/saml/metadata").body;
    let md_sig = "//*[local-name()='Signature' and parent::*[local-name()='EntityDescriptor']]";
    let file = dir.path().join("md.xml");
    std::fs::write(&file, &md).unwrap();
    let cert_file = dir.path().join("new.pem");
    std::fs::write(&cert_file, &new).unwrap();
    let o = std::process::Command::new("xmlsec1")
        .arg("--verify")
        .arg("--pubkey-cert-pem")
        .arg(&cert_file)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
        ])
        .args(["--node-xpath", md_sig])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "metadata signed by the new key: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let audit = audit_events(&server);
    assert!(
        audit.iter().any(|l| l.starts_with("saml.keys.rotated|")),
        "{audit:#?}"
    );
}

both_backends!(saml_key_rollover);
