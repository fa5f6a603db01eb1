//! Interop with the `xmlsec1` command line (an independent XMLDSig implementation over
//! libxml2/xmlsec): our signatures must verify there, tampered ones must not, and xmlsec1's
//! signatures must verify with our verifier.
//!
//! Requires `/usr/bin/xmlsec1` (Debian package `xmlsec1`); if it is missing the tests FAIL.

#[path = "xmldsig_common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use openssl::pkey::{PKey, Private};
use passlogic_idp_core::xmldsig::{
    self, c14n, Limits, Placement, SignatureAlgorithm, VerifyPolicy,
};

const ASSERTION_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='Assertion']]";
const RESPONSE_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='Response']]";

fn xmlsec1() -> Command {
    let ok = Command::new("xmlsec1").arg("--version").output();
    match ok {
        Ok(out) if out.status.success() => Command::new("xmlsec1"),
        other => panic!(
            "xmlsec1 is required for the interop tests: install the Debian package `xmlsec1` \
             (apt-get install xmlsec1); got {other:?}"
        ),
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p =
            std::env::temp_dir().join(format!("passlogic-xmldsig-{}-{name}", std::process::id()));
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

struct Keys {
    key: PKey<Private>,
    key_pem: PathBuf,
    cert_pem: PathBuf,
    cert_der: Vec<u8>,
}

fn keys(dir: &Dir, key: PKey<Private>, tag: &str) -> Keys {
    let cert = self_signed(&key, "idp.example.org");
    Keys {
        key_pem: dir.write(
            &format!("{tag}-key.pem"),
            &key.private_key_to_pem_pkcs8().unwrap(),
        ),
        cert_pem: dir.write(&format!("{tag}-cert.pem"), &cert.to_pem().unwrap()),
        cert_der: cert.to_der().unwrap(),
        key,
    }
}

fn id_attrs(cmd: &mut Command) -> &mut Command {
    cmd.args(["--id-attr:ID", &format!("{SAML}:Assertion")])
        .args(["--id-attr:ID", &format!("{SAMLP}:Response")])
}

/// Run `xmlsec1 --verify` on `xml` for the Signature `xpath` selects.
fn xmlsec_verify(dir: &Dir, cert_pem: &Path, xml: &str, xpath: &str) -> (bool, String) {
    let file = dir.write("verify.xml", xml.as_bytes());
    let mut cmd = xmlsec1();
    cmd.arg("--verify")
        .arg("--pubkey-cert-pem")
        .arg(cert_pem)
        // The certificate is self-signed and only carries the key: do not chain-validate it.
        .arg("--insecure");
    id_attrs(&mut cmd).args(["--node-xpath", xpath]).arg(&file);
    let out = cmd.output().expect("run xmlsec1");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && log.contains("OK"), log)
}

/// Flip one byte of the NameID text (signed by both the Assertion and the Response signature).
fn tamper(xml: &str) -> String {
    let t = xml.replacen(">alice@example.com<", ">alicf@example.com<", 1);
    assert_ne!(t, xml);
    t
}

fn check_ours_with_xmlsec(alg: SignatureAlgorithm, key: PKey<Private>, tag: &str) {
    let dir = Dir::new(tag);
    let k = keys(&dir, key, tag);
    let other = keys(&dir, rsa_key(), "other");
    let doc = saml_response("alice@example.com");
    // With the certificate in KeyInfo (as we ship) and without it. xmlsec1 prefers a KeyInfo
    // certificate over --pubkey-cert-pem under --insecure, so the key binding (wrong key must
    // fail) is checked on the documents without KeyInfo.
    for with_cert in [true, false] {
        let cert = with_cert.then_some(k.cert_der.as_slice());
        let sign = |xml: &str, id: &str| {
            xmldsig::sign_enveloped(xml, id, &k.key, cert, alg, Placement::after_saml_issuer())
                .expect("sign")
        };
        let assertion_signed = sign(&doc, "_assert1");
        let response_signed = sign(&doc, "_resp1");
        let both = sign(&assertion_signed, "_resp1");
        for (what, xml, xpath) in [
            ("assertion", &assertion_signed, ASSERTION_SIG),
            ("response", &response_signed, RESPONSE_SIG),
            ("both/assertion", &both, ASSERTION_SIG),
            ("both/response", &both, RESPONSE_SIG),
        ] {
            let what = format!("{tag} {what} (KeyInfo: {with_cert})");
            let (ok, log) = xmlsec_verify(&dir, &k.cert_pem, xml, xpath);
            assert!(ok, "{what}: xmlsec1 rejected our signature:\n{log}\n{xml}");
            let (ok, log) = xmlsec_verify(&dir, &k.cert_pem, &tamper(xml), xpath);
            assert!(!ok, "{what}: xmlsec1 accepted a tampered document:\n{log}");
            if !with_cert {
                let (ok, log) = xmlsec_verify(&dir, &other.cert_pem, xml, xpath);
                assert!(!ok, "{what}: xmlsec1 accepted the wrong key:\n{log}");
            }
        }
    }
}

#[test]
fn xmldsig_our_rsa_sha256_signatures_verify_in_xmlsec1() {
    check_ours_with_xmlsec(SignatureAlgorithm::RsaSha256, rsa_key(), "rsa256");
}

#[test]
fn xmldsig_our_rsa_sha512_signatures_verify_in_xmlsec1() {
    check_ours_with_xmlsec(SignatureAlgorithm::RsaSha512, rsa_key(), "rsa512");
}

#[test]
fn xmldsig_our_ecdsa_p256_signatures_verify_in_xmlsec1() {
    check_ours_with_xmlsec(SignatureAlgorithm::EcdsaSha256, ec_key(), "ec256");
}

/// An xmlsec1 signing template (empty DigestValue and SignatureValue).
fn template(sig_alg: &str, digest_alg: &str, id: &str, inclusive: Option<&str>) -> String {
    let exc = "http://www.w3.org/2001/10/xml-exc-c14n#";
    let params = inclusive
        .map(|p| format!(r#"<ec:InclusiveNamespaces xmlns:ec="{exc}" PrefixList="{p}"/>"#))
        .unwrap_or_default();
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="{exc}"/>
<ds:SignatureMethod Algorithm="{sig_alg}"/>
<ds:Reference URI="#{id}">
<ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
<ds:Transform Algorithm="{exc}">{params}</ds:Transform>
</ds:Transforms>
<ds:DigestMethod Algorithm="{digest_alg}"/>
<ds:DigestValue></ds:DigestValue>
</ds:Reference>
</ds:SignedInfo>
<ds:SignatureValue/>
<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>
</ds:Signature>"##
    )
}

fn xmlsec_sign(dir: &Dir, key_pem: &Path, cert_pem: &Path, tmpl: &str, xpath: &str) -> String {
    let input = dir.write("tmpl.xml", tmpl.as_bytes());
    let output = dir.0.join("signed.xml");
    let mut cmd = xmlsec1();
    cmd.arg("--sign").arg("--privkey-pem").arg(format!(
        "{},{}",
        key_pem.display(),
        cert_pem.display()
    ));
    id_attrs(&mut cmd)
        .args(["--node-xpath", xpath])
        .arg("--output")
        .arg(&output)
        .arg(&input);
    let out = cmd.output().expect("run xmlsec1");
    assert!(
        out.status.success(),
        "xmlsec1 --sign failed: {}{}\n{tmpl}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(output).expect("signed output")
}

fn insert_after_issuer(xml: &str, nth: usize, what: &str) -> String {
    let pat = "</saml:Issuer>";
    let at = xml
        .match_indices(pat)
        .nth(nth)
        .map(|(i, _)| i + pat.len())
        .expect("issuer");
    format!("{}{what}{}", &xml[..at], &xml[at..])
}

#[test]
fn xmldsig_xmlsec1_signatures_verify_with_ours() {
    let dir = Dir::new("reverse");
    let rsa = keys(&dir, rsa_key(), "rsa");
    let ec = keys(&dir, ec_key(), "ec");
    let rsa256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    let rsa512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
    let ecdsa256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
    let sha256 = "http://www.w3.org/2001/04/xmlenc#sha256";
    let sha512 = "http://www.w3.org/2001/04/xmlenc#sha512";
    let doc = saml_response("alice@example.com");
    let strict = VerifyPolicy::default();
    let lax = VerifyPolicy {
        allow_other_signatures: true,
        ..VerifyPolicy::default()
    };
    let limits = Limits::default();

    for (k, sig_alg, digest_alg) in [
        (&rsa, rsa256, sha256),
        (&rsa, rsa512, sha512),
        (&ec, ecdsa256, sha256),
    ] {
        let public = [public(&k.key)];
        // Assertion only.
        let t = insert_after_issuer(&doc, 1, &template(sig_alg, digest_alg, "_assert1", None));
        let signed = xmlsec_sign(&dir, &k.key_pem, &k.cert_pem, &t, ASSERTION_SIG);
        let v = xmldsig::verify_enveloped(&signed, &public, &strict, &limits).unwrap_or_else(|e| {
            panic!("{sig_alg}: ours rejected xmlsec1's assertion signature: {e}\n{signed}")
        });
        assert_eq!(v.id(), "_assert1");
        assert!(xmldsig::verify_enveloped(&tamper(&signed), &public, &strict, &limits).is_err());

        // Response only.
        let t = insert_after_issuer(&doc, 0, &template(sig_alg, digest_alg, "_resp1", None));
        let signed = xmlsec_sign(&dir, &k.key_pem, &k.cert_pem, &t, RESPONSE_SIG);
        let v = xmldsig::verify_enveloped(&signed, &public, &strict, &limits).unwrap_or_else(|e| {
            panic!("{sig_alg}: ours rejected xmlsec1's response signature: {e}\n{signed}")
        });
        assert_eq!(v.id(), "_resp1");
        assert!(xmldsig::verify_enveloped(&tamper(&signed), &public, &strict, &limits).is_err());

        // Both: the Assertion first, then the Response over it.
        let t = insert_after_issuer(&doc, 1, &template(sig_alg, digest_alg, "_assert1", None));
        let t = insert_after_issuer(&t, 0, &template(sig_alg, digest_alg, "_resp1", None));
        let once = xmlsec_sign(&dir, &k.key_pem, &k.cert_pem, &t, ASSERTION_SIG);
        let both = xmlsec_sign(&dir, &k.key_pem, &k.cert_pem, &once, RESPONSE_SIG);
        assert_eq!(
            xmldsig::verify_enveloped(&both, &public, &lax, &limits)
                .unwrap()
                .id(),
            "_resp1"
        );
        assert_eq!(
            xmldsig::verify_enveloped_at(&both, "_assert1", &public, &lax, &limits)
                .unwrap()
                .id(),
            "_assert1"
        );
        assert!(xmldsig::verify_enveloped(&tamper(&both), &public, &lax, &limits).is_err());
        assert!(
            xmldsig::verify_enveloped_at(&tamper(&both), "_assert1", &public, &lax, &limits)
                .is_err()
        );
    }
}

#[test]
fn xmldsig_xmlsec1_inclusive_namespaces_including_default() {
    // The InclusiveNamespaces PrefixList, with the `#default` token that the lxml oracle cannot
    // check, against xmlsec1: a default-namespace Assertion with an xsi:type QName value.
    let dir = Dir::new("inclusive");
    let k = keys(&dir, rsa_key(), "rsa");
    let doc = format!(
        r#"<Response xmlns="{SAMLP}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_r" Version="2.0">
  <saml:Assertion xmlns:saml="{SAML}" ID="_a" Version="2.0">
    <saml:Issuer>https://idp.example.org</saml:Issuer>
    <saml:AttributeStatement><saml:Attribute Name="mail"><saml:AttributeValue xsi:type="xs:string">alice@example.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
  </saml:Assertion>
</Response>"#
    );
    // The lists below change the canonical form (so xmlsec1 and we must agree on them).
    let plain = c14n::canonicalize(&doc, Some("_a"), &[], &Limits::default()).unwrap();
    for list in [&["#default"][..], &["xs"][..]] {
        assert_ne!(
            plain,
            c14n::canonicalize(&doc, Some("_a"), list, &Limits::default()).unwrap()
        );
    }
    let public = [public(&k.key)];
    for list in ["#default xs xsi", "xs", "#default"] {
        let tmpl = doc.replacen(
            "</saml:Issuer>",
            &format!(
                "</saml:Issuer>{}",
                template(
                    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                    "http://www.w3.org/2001/04/xmlenc#sha256",
                    "_a",
                    Some(list)
                )
            ),
            1,
        );
        let signed = xmlsec_sign(&dir, &k.key_pem, &k.cert_pem, &tmpl, ASSERTION_SIG);
        let v = xmldsig::verify_enveloped(
            &signed,
            &public,
            &VerifyPolicy::default(),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("PrefixList {list:?}: {e}\n{signed}"));
        assert_eq!(v.id(), "_a");
        assert!(xmldsig::verify_enveloped(
            &tamper(&signed),
            &public,
            &VerifyPolicy::default(),
            &Limits::default()
        )
        .is_err());
    }
}
