//! Encrypted assertions at the server: an SP whose metadata has an encryption certificate gets
//! `saml:EncryptedAssertion` (AES-256-GCM by default, AES-256-CBC with `sp add --encryption
//! aes256-cbc`; the key by RSA-OAEP to its certificate). pysaml2 decrypts and validates the
//! Response as that SP; xmlsec1 decrypts it with the SP's key and then verifies the assertion
//! signature with the IdP certificate. `--no-encryption` keeps the assertion in clear.

mod common;
mod saml_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{Backend, TestServer};
use saml_support::*;

const GCM: &str = "https://gcm-sp.test.example/saml";
const CBC: &str = "https://cbc-sp.test.example/saml";
const PLAIN: &str = "https://plain-sp.test.example/saml";

fn encrypted_assertions_decrypted_by_pysaml2_and_xmlsec1(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let dir = tempfile::tempdir().unwrap();
    let gcm = PySp::new_with(&server, dir.path(), GCM, "gcm", "redirect", true, &[]);
    let cbc = PySp::new_with(
        &server,
        dir.path(),
        CBC,
        "cbc",
        "redirect",
        true,
        &["--encryption", "aes256-cbc"],
    );
    let plain = PySp::new_with(
        &server,
        dir.path(),
        PLAIN,
        "plain",
        "redirect",
        true,
        &["--no-encryption"],
    );
    let cert = idp_cert_pem(&server.browser());
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    for (sp, alg) in [
        (&gcm, Some("http://www.w3.org/2009/xmlenc11#aes256-gcm")),
        (&cbc, Some("http://www.w3.org/2001/04/xmlenc#aes256-cbc")),
        (&plain, None),
    ] {
        let id = format!("_enc-{}", sp.entity.len());
        let what = sp.entity;
        let (_, _, xml, _) = post_form(&b.get(&sso_path(&server, sp.entity, &id, "")), what);
        match alg {
            Some(alg) => {
                assert!(xml.contains("<saml:EncryptedAssertion"), "{what}: {xml}");
                assert!(
                    !xml.contains("demo@demo.example"),
                    "{what}: plaintext leaked"
                );
                assert!(
                    xml.contains(&format!("Algorithm=\"{alg}\"")),
                    "{what}: {xml}"
                );
                assert!(
                    xml.contains("http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"),
                    "{what}: RSA-OAEP key transport"
                );
                let clear = xmlsec1_decrypt(dir.path(), &sp.enc_key, &xml);
                assert_eq!(
                    between(&clear, "<saml:NameID", "</saml:NameID>"),
                    "demo@demo.example"
                );
                let (ok, log) = xmlsec1_verify(dir.path(), &cert, &clear, ASSERTION_SIG);
                assert!(ok, "{what}: decrypted assertion signature: {log}");
                // Another key cannot decrypt it.
                let out = std::process::Command::new("xmlsec1")
                    .arg("--decrypt")
                    .arg("--privkey-pem")
                    .arg(&gcm.enc_key)
                    .arg(dir.path().join("encrypted.xml"))
                    .output()
                    .unwrap();
                if sp.entity != GCM {
                    assert!(!out.status.success(), "{what}: decrypted with a wrong key");
                }
            }
            None => {
                assert!(!xml.contains("EncryptedAssertion"), "{what}");
                assert!(xml.contains("demo@demo.example"), "{what}");
            }
        }
        let seen = sp.run(&["sso-response", &STANDARD.encode(xml.as_bytes()), &id]);
        assert_eq!(seen["name_id"], "demo@demo.example", "{what}: {seen}");
        assert_eq!(seen["in_response_to"], id.as_str(), "{what}: {seen}");
    }
}

both_backends!(encrypted_assertions_decrypted_by_pysaml2_and_xmlsec1);
