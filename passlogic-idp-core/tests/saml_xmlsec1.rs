//! Our signed SAML Responses, per SaaS preset, checked by an independent implementation: the
//! `xmlsec1` command line (libxml2 + xmlsec). Requires `/usr/bin/xmlsec1` (Debian package
//! `xmlsec1`); if it is missing these tests FAIL.
//!
//! The IdP certificate is given both as the verification key (`--pubkey-cert-pem`) and as the
//! only trust anchor (`--trusted-pem`), without `--insecure`: xmlsec1 then accepts the
//! signature only when it verifies with a key it trusts (the KeyInfo certificate we ship must
//! chain to that anchor). A different key must fail, and so must any change to signed content.
//! The Salesforce fixture encrypts the assertion: xmlsec1 decrypts it with the fixture's
//! private key (AES-256-GCM, RSA-OAEP) and then verifies the decrypted assertion's signature.

#[path = "saml_common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use passlogic_idp_core::saml::response::{build_response, AssertionInput, ResponseTarget};
use passlogic_idp_core::saml::sp::DataEncryption;

const ASSERTION_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='Assertion']]";
const RESPONSE_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='Response']]";

fn xmlsec1() -> Command {
    match Command::new("xmlsec1").arg("--version").output() {
        Ok(out) if out.status.success() => Command::new("xmlsec1"),
        other => panic!(
            "xmlsec1 is required for the SAML interop tests: install the Debian package `xmlsec1` \
             (apt-get install xmlsec1); got {other:?}"
        ),
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("passlogic-saml-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Dir(p)
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).expect("write");
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run xmlsec1");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn verify(dir: &Dir, cert_pem: &Path, xml: &str, xpath: &str) -> (bool, String) {
    let file = dir.write("verify.xml", xml.as_bytes());
    let mut cmd = xmlsec1();
    cmd.arg("--verify")
        .arg("--pubkey-cert-pem")
        .arg(cert_pem)
        .arg("--trusted-pem")
        .arg(cert_pem)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ])
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        ])
        .args(["--node-xpath", xpath])
        .arg(&file);
    let (ok, log) = run(&mut cmd);
    (ok && log.contains("OK"), log)
}

fn decrypt(dir: &Dir, key_pem: &Path, xml: &str) -> (bool, String) {
    let file = dir.write("encrypted.xml", xml.as_bytes());
    let out = dir.0.join("decrypted.xml");
    let mut cmd = xmlsec1();
    cmd.arg("--decrypt")
        .arg("--privkey-pem")
        .arg(key_pem)
        .arg("--output")
        .arg(&out)
        .arg(&file);
    let (ok, log) = run(&mut cmd);
    if !ok {
        return (false, log);
    }
    (
        true,
        std::fs::read_to_string(out).expect("decrypted output"),
    )
}

fn tamper(xml: &str, from: &str) -> String {
    let t = xml.replacen(from, &format!("{from}x"), 1);
    assert_ne!(t, xml, "tamper target {from} not found");
    t
}

#[test]
fn saml_xmlsec1_verifies_signed_responses_for_every_preset() {
    let dir = Dir::new("presets");
    let (key, cert) = idp_key();
    let cert_pem = dir.write("idp.pem", &cert.to_pem().unwrap());
    let (_, other) = idp_key();
    let other_pem = dir.write("other.pem", &other.to_pem().unwrap());
    let sf_key = fixtures().join("keys/salesforce-encryption.key.pem");
    for name in FIXTURE_SPS {
        let e = expectations(name);
        let sp = registered(name);
        let target = ResponseTarget {
            acs_url: e.acs.clone(),
            in_response_to: Some("_req42".into()),
            relay_state: None,
        };
        let input = AssertionInput {
            principal: &alice(),
            authn_context: &mfa(),
            authn_class: None,
            session_index: "_sess1".into(),
            session_not_on_or_after: None,
        };
        let out = build_response(&idp(), &key, &sp, &target, &input, now(), &mut rng()).unwrap();
        let mut xml = out.xml.clone();
        if e.encrypted {
            let (ok, dec) = decrypt(&dir, &sf_key, &xml);
            assert!(
                ok,
                "{name}: xmlsec1 could not decrypt our EncryptedAssertion:\n{dec}"
            );
            assert!(dec.contains("<saml:Assertion "), "{name}: {dec}");
            xml = dec;
            // AES-256-CBC too.
            let mut cbc = sp.clone();
            cbc.encryption = DataEncryption::Aes256Cbc;
            let out =
                build_response(&idp(), &key, &cbc, &target, &input, now(), &mut rng()).unwrap();
            let (ok, dec) = decrypt(&dir, &sf_key, &out.xml);
            assert!(
                ok && dec.contains("<saml:Assertion "),
                "{name} (CBC): {dec}"
            );
        }
        let xpaths: &[&str] = match e.sign.as_str() {
            "assertion" => &[ASSERTION_SIG],
            "both" => &[ASSERTION_SIG, RESPONSE_SIG],
            _ => &[RESPONSE_SIG],
        };
        for xpath in xpaths {
            let (ok, log) = verify(&dir, &cert_pem, &xml, xpath);
            assert!(
                ok,
                "{name}: xmlsec1 rejected our signature ({xpath}):\n{log}\n{xml}"
            );
            for target in [
                format!(">{}<", e.name_id_value_for_alice),
                format!("<saml:Audience>{}", e.audience),
                "<saml:AuthnContextClassRef>".to_owned(),
            ] {
                let bad = tamper(&xml, &target);
                let (ok, log) = verify(&dir, &cert_pem, &bad, xpath);
                assert!(!ok, "{name}: xmlsec1 accepted tampered {target}:\n{log}");
            }
            let (ok, log) = verify(&dir, &other_pem, &xml, xpath);
            assert!(
                !ok,
                "{name}: xmlsec1 accepted a signature with an untrusted key:\n{log}"
            );
        }
        if e.sign == "assertion" {
            assert_eq!(xml.matches("<ds:Signature ").count(), 1, "{name}");
        }
    }
}

/// An AuthnRequest signed by xmlsec1 the way Entra signs (RSA-SHA1, SHA-1 digest, exc-c14n,
/// KeyInfo with only a KeyName) is accepted for the Entra preset with the registered
/// certificate, and refused when SHA-1 is not allowed or the key is another one.
#[test]
fn saml_xmlsec1_signed_sha1_authn_request_from_entra_is_verified() {
    use passlogic_idp_core::saml::authn_request::validate_authn_request;
    use passlogic_idp_core::saml::bindings::InboundMessage;
    use passlogic_idp_core::saml::{MessageLimits, SamlError, ServiceProvider};

    let dir = Dir::new("entra-sha1");
    let template = format!(
        concat!(
            "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "ID=\"id8d7c2a6b-1f0e-4c47-9d8a-3a2c5e6f7a81\" Version=\"2.0\" ",
            "IssueInstant=\"2026-11-26T07:59:40Z\" Destination=\"{dest}\">",
            "<Issuer xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\">urn:federation:MicrosoftOnline</Issuer>",
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>",
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/>",
            "<ds:Reference URI=\"#id8d7c2a6b-1f0e-4c47-9d8a-3a2c5e6f7a81\"><ds:Transforms>",
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>",
            "<ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>",
            "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>",
            "<ds:SignatureValue></ds:SignatureValue>",
            "<ds:KeyInfo><ds:KeyName>MicrosoftOnline</ds:KeyName></ds:KeyInfo></ds:Signature>",
            "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\"/>",
            "</samlp:AuthnRequest>"
        ),
        dest = SSO_POST
    );
    let tpl = dir.write("tpl.xml", template.as_bytes());
    let out = dir.0.join("signed.xml");
    let key = fixtures().join("keys/entra-request-signing.key.pem");
    let mut cmd = xmlsec1();
    cmd.arg("--sign")
        .arg("--privkey-pem")
        .arg(&key)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
        ])
        .arg("--output")
        .arg(&out)
        .arg(&tpl);
    let (ok, log) = run(&mut cmd);
    assert!(ok, "xmlsec1 --sign failed:\n{log}");
    let signed = std::fs::read_to_string(&out).unwrap();
    let msg = InboundMessage::from_post_form(
        &base64_std(signed.as_bytes()),
        None,
        &MessageLimits::default(),
    )
    .unwrap();
    let entra = registered("microsoft-entra");
    let r = validate_authn_request(&msg, &idp(), &vec![entra.clone()], now()).unwrap();
    assert!(r.signed);
    assert_eq!(r.acs.url, "https://login.microsoftonline.com/login.srf");
    assert_eq!(r.id, "id8d7c2a6b-1f0e-4c47-9d8a-3a2c5e6f7a81");
    let mut no_sha1 = entra.clone();
    no_sha1.allow_sha1_inbound = false;
    assert!(matches!(
        validate_authn_request(&msg, &idp(), &vec![no_sha1], now()),
        Err(SamlError::SignatureInvalid(_))
    ));
    let mut other_key = ServiceProvider::microsoft_entra();
    other_key.signing_certs = vec![fixture_cert_b64("salesforce-request-signing")];
    assert!(matches!(
        validate_authn_request(&msg, &idp(), &vec![other_key], now()),
        Err(SamlError::SignatureInvalid(_))
    ));
}
