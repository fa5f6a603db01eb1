//! Round trips and the hostile corpus for the strict verifier (security.md 1.2 and rules 1-2).

#[path = "xmldsig_common.rs"]
mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::Signer;
use passlogic_idp_core::xmldsig::{
    self, c14n, Limits, Placement, SignatureAlgorithm, Verified, VerifyPolicy, XmlDsigError,
};

const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENV: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

fn strict() -> VerifyPolicy {
    VerifyPolicy::default()
}

fn verify(xml: &str, keys: &[PKey<Public>]) -> Result<Verified, XmlDsigError> {
    xmldsig::verify_enveloped(xml, keys, &strict(), &Limits::default())
}

fn sign_assertion(xml: &str, key: &PKey<Private>, alg: SignatureAlgorithm) -> String {
    xmldsig::sign_enveloped(
        xml,
        "_assert1",
        key,
        None,
        alg,
        Placement::after_saml_issuer(),
    )
    .expect("sign")
}

/// Byte offset just after the `n`-th (0-based) occurrence of `pat`.
fn after_nth(xml: &str, pat: &str, n: usize) -> usize {
    xml.match_indices(pat)
        .nth(n)
        .map(|(i, _)| i + pat.len())
        .expect("pattern")
}

/// A hand-made Signature with arbitrary algorithms, Reference URI and transforms, signed with
/// `key` and inserted at byte `at`. `digest_over` are the bytes the DigestValue covers.
#[allow(clippy::too_many_arguments)]
fn craft(
    xml: &str,
    at: usize,
    digest_over: &[u8],
    sig_alg: &str,
    md_sig: MessageDigest,
    digest_alg: &str,
    md_digest: MessageDigest,
    ref_uri: &str,
    transforms: &str,
    key: &PKey<Private>,
) -> String {
    let dv = STANDARD.encode(openssl::hash::hash(md_digest, digest_over).expect("hash"));
    let si = format!(
        r#"<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC}"/><ds:SignatureMethod Algorithm="{sig_alg}"/><ds:Reference URI="{ref_uri}"><ds:Transforms>{transforms}</ds:Transforms><ds:DigestMethod Algorithm="{digest_alg}"/><ds:DigestValue>{dv}</ds:DigestValue></ds:Reference></ds:SignedInfo>"#
    );
    let standalone = si.replacen(
        "<ds:SignedInfo>",
        &format!("<ds:SignedInfo xmlns:ds=\"{DS}\">"),
        1,
    );
    let canonical = c14n::canonicalize(&standalone, None, &[], &Limits::default()).expect("c14n");
    let mut signer = Signer::new(md_sig, key).expect("signer");
    signer.update(&canonical).expect("update");
    let sv = STANDARD.encode(signer.sign_to_vec().expect("sign"));
    let sig = format!(
        r#"<ds:Signature xmlns:ds="{DS}">{si}<ds:SignatureValue>{sv}</ds:SignatureValue></ds:Signature>"#
    );
    format!("{}{sig}{}", &xml[..at], &xml[at..])
}

fn std_transforms() -> String {
    format!(r#"<ds:Transform Algorithm="{ENV}"/><ds:Transform Algorithm="{EXC}"/>"#)
}

/// Canonical bytes of the element with `id` in an unsigned document.
fn canon(xml: &str, id: &str) -> Vec<u8> {
    c14n::canonicalize(xml, Some(id), &[], &Limits::default()).expect("c14n")
}

#[test]
fn xmldsig_round_trips_every_algorithm_and_placement() {
    let rsa = rsa_key();
    let ec = ec_key();
    let doc = saml_response("alice@example.com");
    for (alg, key) in [
        (SignatureAlgorithm::RsaSha256, &rsa),
        (SignatureAlgorithm::RsaSha512, &rsa),
        (SignatureAlgorithm::EcdsaSha256, &ec),
    ] {
        let signed = sign_assertion(&doc, key, alg);
        assert!(signed.contains(alg.uri()) && signed.contains(alg.digest_uri()));
        let v = verify(&signed, &[public(key)]).expect("verifies");
        assert_eq!(
            (v.id(), v.local_name(), v.namespace()),
            ("_assert1", "Assertion", Some(SAML))
        );
        assert_eq!(v.canonical(), canon(&doc, "_assert1").as_slice());
        assert_eq!(v.key_index(), 0);
    }
    // Mismatched key types are refused at signing time.
    assert_eq!(
        xmldsig::sign_enveloped(
            &doc,
            "_assert1",
            &rsa,
            None,
            SignatureAlgorithm::EcdsaSha256,
            Placement::FirstChild
        )
        .unwrap_err(),
        XmlDsigError::KeyMismatch
    );
    // FirstChild on a self-closing element, with a certificate in KeyInfo.
    let cert = self_signed(&rsa, "idp").to_der().expect("der");
    let tiny = r#"<x:Thing xmlns:x="urn:x" ID="t1" a="1"/>"#;
    let signed = xmldsig::sign_enveloped(
        tiny,
        "t1",
        &rsa,
        Some(&cert),
        SignatureAlgorithm::RsaSha256,
        Placement::FirstChild,
    )
    .expect("sign");
    assert!(signed.starts_with(r#"<x:Thing xmlns:x="urn:x" ID="t1" a="1"><ds:Signature"#));
    assert!(signed.contains("<ds:X509Certificate>"));
    let v = verify(&signed, &[public(&rsa)]).expect("verifies");
    assert_eq!(
        v.canonical_str(),
        r#"<x:Thing xmlns:x="urn:x" ID="t1" a="1"></x:Thing>"#
    );
    // Placement after an element that is not the first child is refused.
    assert_eq!(
        xmldsig::sign_enveloped(
            &doc,
            "_resp1",
            &rsa,
            None,
            SignatureAlgorithm::RsaSha256,
            Placement::AfterFirstChild {
                local_name: "Status".into(),
                ns: Some(SAMLP.into())
            }
        )
        .unwrap_err(),
        XmlDsigError::PlacementNotFound
    );
    assert_eq!(
        xmldsig::sign_enveloped(
            &doc,
            "_nope",
            &rsa,
            None,
            SignatureAlgorithm::RsaSha256,
            Placement::FirstChild
        )
        .unwrap_err(),
        XmlDsigError::IdNotFound("_nope".into())
    );
}

#[test]
fn xmldsig_response_and_assertion_both_signed() {
    let key = rsa_key();
    let pk = [public(&key)];
    let doc = saml_response("alice@example.com");
    let once = sign_assertion(&doc, &key, SignatureAlgorithm::RsaSha256);
    let both = xmldsig::sign_enveloped(
        &once,
        "_resp1",
        &key,
        None,
        SignatureAlgorithm::RsaSha256,
        Placement::after_saml_issuer(),
    )
    .expect("sign response");
    // Two signatures: refused by default.
    assert_eq!(
        verify(&both, &pk).unwrap_err(),
        XmlDsigError::MultipleSignatures
    );
    let lax = VerifyPolicy {
        allow_other_signatures: true,
        ..VerifyPolicy::default()
    };
    let outer = xmldsig::verify_enveloped(&both, &pk, &lax, &Limits::default()).expect("response");
    assert_eq!(outer.id(), "_resp1");
    // The Response's signed bytes include the Assertion's Signature.
    assert!(outer.canonical_str().contains("<ds:Signature"));
    let inner = xmldsig::verify_enveloped_at(&both, "_assert1", &pk, &lax, &Limits::default())
        .expect("assertion");
    assert_eq!(inner.id(), "_assert1");
    assert!(!inner.canonical_str().contains("<ds:Signature"));
    assert_eq!(
        xmldsig::verify_enveloped_at(&both, "_assert1", &pk, &strict(), &Limits::default())
            .unwrap_err(),
        XmlDsigError::MultipleSignatures
    );
    // Signing the same element twice is refused.
    assert!(xmldsig::sign_enveloped(
        &once,
        "_assert1",
        &key,
        None,
        SignatureAlgorithm::RsaSha256,
        Placement::FirstChild
    )
    .is_err());
}

#[test]
fn xmldsig_signature_removed_is_refused() {
    let key = rsa_key();
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    let start = signed.find("<ds:Signature").unwrap();
    let end = after_nth(&signed, "</ds:Signature>", 0);
    let stripped = format!("{}{}", &signed[..start], &signed[end..]);
    assert_eq!(
        verify(&stripped, &[public(&key)]).unwrap_err(),
        XmlDsigError::NoSignature
    );
}

#[test]
fn xmldsig_wrong_key_refused_and_key_index_reported() {
    let key = rsa_key();
    let other = rsa_key();
    let ec = ec_key();
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    assert_eq!(
        verify(&signed, &[public(&other)]).unwrap_err(),
        XmlDsigError::SignatureInvalid
    );
    assert_eq!(
        verify(&signed, &[public(&ec)]).unwrap_err(),
        XmlDsigError::SignatureInvalid
    );
    assert_eq!(
        verify(&signed, &[]).unwrap_err(),
        XmlDsigError::NoTrustedKeys
    );
    let v = verify(&signed, &[public(&other), public(&ec), public(&key)]).expect("third key");
    assert_eq!(v.key_index(), 2);
}

#[test]
fn xmldsig_every_single_byte_change_in_the_signed_element_is_refused() {
    let key = rsa_key();
    let pk = [public(&key)];
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    assert!(verify(&signed, &pk).is_ok());
    let start = signed.find("<saml:Assertion").unwrap();
    let end = after_nth(&signed, "</saml:Assertion>", 0);
    let original = verify(&signed, &pk).unwrap();
    let mut bytes = signed.clone().into_bytes();
    let mut changed_but_accepted = Vec::new();
    let mut invisible = 0;
    for i in start..end {
        let orig = bytes[i];
        bytes[i] = orig ^ 0x01;
        if let Ok(s) = std::str::from_utf8(&bytes) {
            if let Ok(v) = verify(s, &pk) {
                // Only changes that canonicalisation erases may pass, e.g. renaming the
                // Assertion's redundant `xmlns:saml` (the Response declares it too).
                if v.canonical() == original.canonical() {
                    invisible += 1;
                } else {
                    changed_but_accepted.push((i, orig as char));
                }
            }
        }
        bytes[i] = orig;
    }
    assert!(
        changed_but_accepted.is_empty(),
        "changes accepted at {changed_but_accepted:?}"
    );
    assert!(invisible <= 4, "{invisible} c14n-invisible changes");
    // Without the redundant declaration nothing at all passes.
    let doc = saml_response("alice@example.com").replacen(
        &format!("<saml:Assertion xmlns:saml=\"{SAML}\""),
        "<saml:Assertion",
        1,
    );
    let signed = sign_assertion(&doc, &key, SignatureAlgorithm::RsaSha256);
    let start = signed.find("<saml:Assertion").unwrap();
    let end = after_nth(&signed, "</saml:Assertion>", 0);
    let mut bytes = signed.clone().into_bytes();
    for i in start..end {
        let orig = bytes[i];
        bytes[i] = orig ^ 0x01;
        if let Ok(s) = std::str::from_utf8(&bytes) {
            assert!(
                verify(s, &pk).is_err(),
                "byte {i} ({:?}) changed and accepted",
                orig as char
            );
        }
        bytes[i] = orig;
    }
}

#[test]
fn xmldsig_comment_injection_does_not_truncate_the_signed_value() {
    let key = rsa_key();
    let signed = sign_assertion(
        &saml_response("admin@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    let injected = signed.replacen(">admin@example.com<", ">admin<!---->@example.com<", 1);
    assert_ne!(injected, signed);
    // Comments are outside the signed node set: the signature still verifies...
    let v = verify(&injected, &[public(&key)]).expect("still verifies");
    // ...but what the consumer reads is what was signed: the whole value, no comment.
    assert!(v
        .canonical_str()
        .contains(">admin@example.com</saml:NameID>"));
    assert!(!v.canonical_str().contains("<!--"));
    // A consumer that walks Verified's bytes sees one text node with the full value.
    let at = v.canonical_str().find("<saml:NameID").unwrap();
    let text = &v.canonical_str()[at..];
    let text = &text[text.find('>').unwrap() + 1..text.find("</saml:NameID>").unwrap()];
    assert_eq!(text, "admin@example.com");
    // And changing the value around the comment fails.
    let changed = signed.replacen(">admin@example.com<", ">admin<!---->@example.com.evil<", 1);
    assert_eq!(
        verify(&changed, &[public(&key)]).unwrap_err(),
        XmlDsigError::DigestMismatch
    );
}

#[test]
fn xmldsig_xsw_duplicate_id_is_refused() {
    let key = rsa_key();
    let pk = [public(&key)];
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    let genuine_start = signed.find("<saml:Assertion").unwrap();
    let genuine_end = after_nth(&signed, "</saml:Assertion>", 0);
    let genuine = &signed[genuine_start..genuine_end];
    let forged = assertion("_assert1", "admin@example.com");
    // XSW3: unsigned forged Assertion with the same ID before the genuine one.
    let xsw3 = signed.replacen("<saml:Assertion", &format!("{forged}<saml:Assertion"), 1);
    assert_eq!(
        verify(&xsw3, &pk).unwrap_err(),
        XmlDsigError::DuplicateId("_assert1".into())
    );
    // XSW7-like: the genuine Assertion moved under samlp:Extensions, the forged one in its place.
    let xsw7 = signed.replacen(
        genuine,
        &format!("<samlp:Extensions>{genuine}</samlp:Extensions>{forged}"),
        1,
    );
    assert_eq!(
        verify(&xsw7, &pk).unwrap_err(),
        XmlDsigError::DuplicateId("_assert1".into())
    );
    // Same, the clone in an un-namespaced Extensions, and using Id instead of ID.
    let forged_id = forged.replacen("ID=\"_assert1\"", "Id=\"_assert1\"", 1);
    let xsw7b = signed.replacen(
        genuine,
        &format!("{forged_id}<Extensions xmlns=\"\">{genuine}</Extensions>"),
        1,
    );
    assert_eq!(
        verify(&xsw7b, &pk).unwrap_err(),
        XmlDsigError::DuplicateId("_assert1".into())
    );
    // XSW4: forged Assertion wrapping the genuine one.
    let wrap = forged.replacen(
        "</saml:Assertion>",
        &format!("{genuine}</saml:Assertion>"),
        1,
    );
    let xsw4 = signed.replacen(genuine, &wrap, 1);
    assert_eq!(
        verify(&xsw4, &pk).unwrap_err(),
        XmlDsigError::DuplicateId("_assert1".into())
    );
}

#[test]
fn xmldsig_xsw_without_duplicate_id_only_exposes_the_signed_element() {
    let key = rsa_key();
    let pk = [public(&key)];
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    let genuine_start = signed.find("<saml:Assertion").unwrap();
    let genuine_end = after_nth(&signed, "</saml:Assertion>", 0);
    let genuine = &signed[genuine_start..genuine_end];
    let forged = assertion("_evil", "admin@example.com");
    let moved = signed.replacen(
        genuine,
        &format!("<samlp:Extensions>{genuine}</samlp:Extensions>{forged}"),
        1,
    );
    // The one signature still verifies, but Verified names and holds the genuine element only.
    let v = verify(&moved, &pk).expect("genuine signature");
    assert_eq!(v.id(), "_assert1");
    assert!(v.canonical_str().contains("alice@example.com"));
    assert!(!v.canonical_str().contains("admin@example.com"));
    // Asking for the forged element's signature finds none.
    assert_eq!(
        xmldsig::verify_enveloped_at(&moved, "_evil", &pk, &strict(), &Limits::default())
            .unwrap_err(),
        XmlDsigError::NoSignature
    );
}

#[test]
fn xmldsig_signature_must_be_a_child_of_the_element_it_references() {
    let key = rsa_key();
    let pk = [public(&key)];
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    let s = signed.find("<ds:Signature").unwrap();
    let e = after_nth(&signed, "</ds:Signature>", 0);
    let sig = &signed[s..e];
    let without = format!("{}{}", &signed[..s], &signed[e..]);
    // Move the Assertion's Signature up under the Response, after its Issuer.
    let at = after_nth(&without, "</saml:Issuer>", 0);
    let moved = format!("{}{sig}{}", &without[..at], &without[at..]);
    assert_eq!(
        verify(&moved, &pk).unwrap_err(),
        XmlDsigError::ReferenceMismatch
    );
    // A signature in the Assertion that references the Response (properly signed by the key).
    let doc = saml_response("alice@example.com");
    let at = after_nth(&doc, "</saml:Issuer>", 1);
    let crafted = craft(
        &doc,
        at,
        &canon(&doc, "_resp1"),
        RSA_SHA256,
        MessageDigest::sha256(),
        SHA256,
        MessageDigest::sha256(),
        "#_resp1",
        &std_transforms(),
        &key,
    );
    assert_eq!(
        verify(&crafted, &pk).unwrap_err(),
        XmlDsigError::ReferenceMismatch
    );
}

#[test]
fn xmldsig_two_signatures_are_refused() {
    let key = rsa_key();
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    let s = signed.find("<ds:Signature").unwrap();
    let e = after_nth(&signed, "</ds:Signature>", 0);
    let doubled = format!("{}{}{}", &signed[..e], &signed[s..e], &signed[e..]);
    assert_eq!(
        verify(&doubled, &[public(&key)]).unwrap_err(),
        XmlDsigError::MultipleSignatures
    );
    // Two References in one SignedInfo.
    let r0 = signed.find("<ds:Reference").unwrap();
    let r1 = after_nth(&signed, "</ds:Reference>", 0);
    let two_refs = format!("{}{}{}", &signed[..r1], &signed[r0..r1], &signed[r1..]);
    assert_eq!(
        verify(&two_refs, &[public(&key)]).unwrap_err(),
        XmlDsigError::BadStructure("exactly one Reference is allowed")
    );
}

#[test]
fn xmldsig_empty_or_external_reference_uri_is_refused() {
    let key = rsa_key();
    let pk = [public(&key)];
    let doc = saml_response("alice@example.com");
    let at = after_nth(&doc, "</saml:Issuer>", 1);
    let digest_over = canon(&doc, "_assert1");
    for uri in [
        "",
        "https://evil.example/doc.xml#_assert1",
        "#xpointer(id('_assert1'))",
        "#_ASSERT1",
    ] {
        let crafted = craft(
            &doc,
            at,
            &digest_over,
            RSA_SHA256,
            MessageDigest::sha256(),
            SHA256,
            MessageDigest::sha256(),
            uri,
            &std_transforms(),
            &key,
        );
        assert_eq!(
            verify(&crafted, &pk).unwrap_err(),
            XmlDsigError::ReferenceMismatch,
            "URI {uri:?}"
        );
    }
    // The crafting helper itself produces acceptable signatures.
    let ok = craft(
        &doc,
        at,
        &digest_over,
        RSA_SHA256,
        MessageDigest::sha256(),
        SHA256,
        MessageDigest::sha256(),
        "#_assert1",
        &std_transforms(),
        &key,
    );
    assert!(verify(&ok, &pk).is_ok());
}

#[test]
fn xmldsig_sha1_refused_by_default_and_allowed_by_policy() {
    let key = rsa_key();
    let pk = [public(&key)];
    let doc = saml_response("alice@example.com");
    let at = after_nth(&doc, "</saml:Issuer>", 1);
    let d = canon(&doc, "_assert1");
    let sha1 = craft(
        &doc,
        at,
        &d,
        RSA_SHA1,
        MessageDigest::sha1(),
        SHA1,
        MessageDigest::sha1(),
        "#_assert1",
        &std_transforms(),
        &key,
    );
    assert_eq!(
        verify(&sha1, &pk).unwrap_err(),
        XmlDsigError::AlgorithmNotAllowed(RSA_SHA1.into())
    );
    let sha1_digest = craft(
        &doc,
        at,
        &d,
        RSA_SHA256,
        MessageDigest::sha256(),
        SHA1,
        MessageDigest::sha1(),
        "#_assert1",
        &std_transforms(),
        &key,
    );
    assert_eq!(
        verify(&sha1_digest, &pk).unwrap_err(),
        XmlDsigError::AlgorithmNotAllowed(SHA1.into())
    );
    let allow = VerifyPolicy {
        allow_sha1: true,
        ..VerifyPolicy::default()
    };
    assert!(xmldsig::verify_enveloped(&sha1, &pk, &allow, &Limits::default()).is_ok());
    // HMAC keyed with anything is never accepted.
    let hmac = sha1.replace(
        RSA_SHA1,
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
    );
    assert!(matches!(
        verify(&hmac, &pk),
        Err(XmlDsigError::AlgorithmNotAllowed(_))
    ));
    let dsa = sha1.replace(RSA_SHA1, "http://www.w3.org/2009/xmldsig11#dsa-sha256");
    assert!(matches!(
        verify(&dsa, &pk),
        Err(XmlDsigError::AlgorithmNotAllowed(_))
    ));
}

#[test]
fn xmldsig_transform_abuse_is_refused() {
    let key = rsa_key();
    let pk = [public(&key)];
    let doc = saml_response("alice@example.com");
    let at = after_nth(&doc, "</saml:Issuer>", 1);
    let d = canon(&doc, "_assert1");
    let go = |t: &str| {
        craft(
            &doc,
            at,
            &d,
            RSA_SHA256,
            MessageDigest::sha256(),
            SHA256,
            MessageDigest::sha256(),
            "#_assert1",
            t,
            &key,
        )
    };
    let xslt = format!(
        r#"<ds:Transform Algorithm="{ENV}"/><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document('http://canary.example/')"/></xsl:template></xsl:stylesheet></ds:Transform>"#
    );
    assert!(matches!(
        verify(&go(&xslt), &pk),
        Err(XmlDsigError::TransformNotAllowed(_))
    ));
    let with_comments = format!(
        r#"<ds:Transform Algorithm="{ENV}"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#
    );
    assert!(matches!(
        verify(&go(&with_comments), &pk),
        Err(XmlDsigError::TransformNotAllowed(_))
    ));
    let inclusive = format!(
        r#"<ds:Transform Algorithm="{ENV}"/><ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#
    );
    assert!(matches!(
        verify(&go(&inclusive), &pk),
        Err(XmlDsigError::TransformNotAllowed(_))
    ));
    let only_env = format!(r#"<ds:Transform Algorithm="{ENV}"/>"#);
    assert!(matches!(
        verify(&go(&only_env), &pk),
        Err(XmlDsigError::BadStructure(_))
    ));
    let thrice = format!("{}<ds:Transform Algorithm=\"{EXC}\"/>", std_transforms());
    assert!(matches!(
        verify(&go(&thrice), &pk),
        Err(XmlDsigError::BadStructure(_))
    ));
    // The InclusiveNamespaces parameter is accepted.
    let incl = format!(
        r#"<ds:Transform Algorithm="{ENV}"/><ds:Transform Algorithm="{EXC}"><ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="xs"/></ds:Transform>"#
    );
    assert!(verify(&go(&incl), &pk).is_ok());
    // A CanonicalizationMethod other than exc-c14n.
    let signed = sign_assertion(&doc, &key, SignatureAlgorithm::RsaSha256);
    let bad_cm = signed.replacen(
        &format!("<ds:CanonicalizationMethod Algorithm=\"{EXC}\"/>"),
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
        1,
    );
    assert!(matches!(
        verify(&bad_cm, &pk),
        Err(XmlDsigError::TransformNotAllowed(_))
    ));
}

#[test]
fn xmldsig_object_and_other_extra_structure_refused() {
    let key = rsa_key();
    let pk = [public(&key)];
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    // XSW8 shape: a clean copy hidden in ds:Object.
    let with_object = signed.replacen(
        "</ds:SignatureValue>",
        "</ds:SignatureValue><ds:Object><saml:Assertion ID=\"_copy\"/></ds:Object>",
        1,
    );
    assert!(matches!(
        verify(&with_object, &pk),
        Err(XmlDsigError::BadStructure(_))
    ));
    // Empty SignatureValue.
    let sv0 = signed.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let sv1 = signed.find("</ds:SignatureValue>").unwrap();
    let empty = format!("{}{}", &signed[..sv0], &signed[sv1..]);
    assert!(verify(&empty, &pk).is_err());
    // Garbage base64.
    let garbage = format!("{}!!!!{}", &signed[..sv0], &signed[sv1..]);
    assert_eq!(
        verify(&garbage, &pk).unwrap_err(),
        XmlDsigError::BadBase64("SignatureValue")
    );
}

#[test]
fn xmldsig_keyinfo_is_never_trusted() {
    let idp = rsa_key();
    let attacker = rsa_key();
    let attacker_cert = self_signed(&attacker, "idp").to_der().unwrap();
    let forged = xmldsig::sign_enveloped(
        &saml_response("admin@example.com"),
        "_assert1",
        &attacker,
        Some(&attacker_cert),
        SignatureAlgorithm::RsaSha256,
        Placement::after_saml_issuer(),
    )
    .unwrap();
    assert_eq!(
        verify(&forged, &[public(&idp)]).unwrap_err(),
        XmlDsigError::SignatureInvalid
    );
    // And a genuine signature without KeyInfo is accepted.
    let genuine = sign_assertion(
        &saml_response("alice@example.com"),
        &idp,
        SignatureAlgorithm::RsaSha256,
    );
    assert!(!genuine.contains("KeyInfo"));
    assert!(verify(&genuine, &[public(&idp)]).is_ok());
}

#[test]
fn xmldsig_hostile_intake_is_refused() {
    let key = rsa_key();
    let pk = [public(&key)];
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    // DOCTYPE, even harmless.
    let body = signed.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let with_doctype = format!("<!DOCTYPE samlp:Response>\n{body}");
    assert_eq!(
        verify(&with_doctype, &pk).unwrap_err(),
        XmlDsigError::Doctype
    );
    // Billion laughs.
    let mut lol =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        lol.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    lol.push_str("]>\n<lolz>&lol9;</lolz>");
    assert_eq!(verify(&lol, &pk).unwrap_err(), XmlDsigError::Doctype);
    // External entity.
    let xxe = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
    assert_eq!(verify(xxe, &pk).unwrap_err(), XmlDsigError::Doctype);
    // Undeclared entity without a DOCTYPE.
    assert!(matches!(
        verify("<r>&x;</r>", &pk),
        Err(XmlDsigError::Malformed { .. })
    ));
    // Oversize.
    let padding = " ".repeat(256 * 1024);
    let big = signed.replacen("<saml:Issuer>", &format!("{padding}<saml:Issuer>"), 1);
    assert_eq!(
        verify(&big, &pk).unwrap_err(),
        XmlDsigError::TooLarge { limit: 256 * 1024 }
    );
    // Deep nesting and attribute floods.
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert_eq!(
        verify(&deep, &pk).unwrap_err(),
        XmlDsigError::TooDeep { limit: 64 }
    );
    let attrs: String = (0..1000).map(|i| format!(" a{i}=\"x\"")).collect();
    assert_eq!(
        verify(&format!("<r{attrs}/>"), &pk).unwrap_err(),
        XmlDsigError::TooManyAttributes { limit: 64 }
    );
    // Caller limits are honoured.
    let tight = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    assert_eq!(
        xmldsig::verify_enveloped(&signed, &pk, &strict(), &tight).unwrap_err(),
        XmlDsigError::TooLarge { limit: 1000 }
    );
    // Truncated input.
    assert!(matches!(
        verify(&signed[..signed.len() / 2], &pk),
        Err(XmlDsigError::Malformed { .. })
    ));
}

#[test]
fn xmldsig_c14n_edge_cases_are_accepted() {
    // Attribute order, quote style, whitespace in tags, <a/> vs <a></a>, character
    // references: all erased by canonicalisation, so the signature still verifies.
    let key = rsa_key();
    let doc = saml_response("alice@example.com");
    let signed = sign_assertion(&doc, &key, SignatureAlgorithm::RsaSha256);
    let variant = signed
        .replacen(
            r#"<saml:SubjectConfirmationData NotOnOrAfter="2026-11-26T08:05:00Z" Recipient="https://sp.example.com/acs" InResponseTo="_req1"/>"#,
            r#"<saml:SubjectConfirmationData   InResponseTo='_req1' Recipient="https://sp.example.com/acs"
               NotOnOrAfter="2026-11-26T08:05:00Z" ></saml:SubjectConfirmationData >"#,
            1,
        )
        .replacen(">alice@example.com<", ">&#97;lice&#x40;example.com<", 1);
    assert_ne!(variant, signed);
    let v = verify(&variant, &[public(&key)]).expect("equivalent document verifies");
    assert!(v.canonical_str().contains(">alice@example.com<"));
}

#[test]
fn xmldsig_redirect_binding_signature() {
    let key = rsa_key();
    let other = rsa_key();
    let pk = [public(&other), public(&key)];
    let signed_part = b"SAMLRequest=fZJNT8MwDIbv%2FIoq9zZpt8JJ2lEiaYhBQJIAPLTSSSkUm%2Fc%3D&RelayState=abc&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256";
    let sig = |md: MessageDigest, data: &[u8]| {
        let mut s = Signer::new(md, &key).unwrap();
        s.update(data).unwrap();
        STANDARD.encode(s.sign_to_vec().unwrap())
    };
    let good = sig(MessageDigest::sha256(), signed_part);
    assert_eq!(
        xmldsig::verify_detached_redirect(signed_part, RSA_SHA256, &good, &pk, &strict()),
        Ok(1)
    );
    let mut tampered = signed_part.to_vec();
    tampered[20] ^= 1;
    assert_eq!(
        xmldsig::verify_detached_redirect(&tampered, RSA_SHA256, &good, &pk, &strict()),
        Err(XmlDsigError::SignatureInvalid)
    );
    let sha1 = sig(MessageDigest::sha1(), signed_part);
    assert!(matches!(
        xmldsig::verify_detached_redirect(signed_part, RSA_SHA1, &sha1, &pk, &strict()),
        Err(XmlDsigError::AlgorithmNotAllowed(_))
    ));
    let allow = VerifyPolicy {
        allow_sha1: true,
        ..VerifyPolicy::default()
    };
    assert_eq!(
        xmldsig::verify_detached_redirect(signed_part, RSA_SHA1, &sha1, &pk, &allow),
        Ok(1)
    );
    assert_eq!(
        xmldsig::verify_detached_redirect(signed_part, RSA_SHA256, "not base64!", &pk, &strict()),
        Err(XmlDsigError::BadBase64("Signature"))
    );
    assert_eq!(
        xmldsig::verify_detached_redirect(
            signed_part,
            RSA_SHA256,
            &good,
            &[public(&other)],
            &strict()
        ),
        Err(XmlDsigError::SignatureInvalid)
    );
}

#[test]
fn xmldsig_ecdsa_values_are_raw_r_s() {
    let key = ec_key();
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::EcdsaSha256,
    );
    let s0 = signed.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let s1 = signed.find("</ds:SignatureValue>").unwrap();
    assert_eq!(STANDARD.decode(&signed[s0..s1]).unwrap().len(), 64);
}

#[test]
fn xmldsig_namespace_expansion_is_bounded() {
    // Exclusive c14n re-renders an inherited declaration on every sibling that uses it: a
    // 100 KB namespace URI used by 20,000 siblings would canonicalise to gigabytes.
    let uri = format!("urn:{}", "x".repeat(100_000));
    let xml = format!(
        "<r xmlns:p=\"{uri}\"><q>{}</q></r>",
        "<p:a/>".repeat(20_000)
    );
    assert_eq!(
        c14n::canonicalize(&xml, None, &[], &Limits::default()).unwrap_err(),
        XmlDsigError::CanonicalTooLarge {
            limit: 4 * 256 * 1024
        }
    );
}

#[test]
fn xmldsig_static_xmlsec1_vector_verifies() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/xmldsig");
    let xml = std::fs::read_to_string(dir.join("xmlsec1-signed-response.xml")).unwrap();
    let pem = std::fs::read(dir.join("xmlsec1-signed-response.cert.pem")).unwrap();
    let key = openssl::x509::X509::from_pem(&pem)
        .unwrap()
        .public_key()
        .unwrap();
    let pk = [key];
    let lax = VerifyPolicy {
        allow_other_signatures: true,
        ..VerifyPolicy::default()
    };
    let limits = Limits::default();
    let response = xmldsig::verify_enveloped(&xml, &pk, &lax, &limits).unwrap();
    assert_eq!(
        (response.id(), response.local_name()),
        ("_resp9", "Response")
    );
    let assertion = xmldsig::verify_enveloped_at(&xml, "_assert9", &pk, &lax, &limits).unwrap();
    assert_eq!(assertion.local_name(), "Assertion");
    // The Assertion's signature uses PrefixList="xs": xs is rendered on the Assertion.
    assert!(assertion.canonical_str().starts_with(
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:xs="
    ));
    assert!(assertion.canonical_str().contains(">admins &amp; friends<"));
    assert_eq!(
        verify(&xml, &pk).unwrap_err(),
        XmlDsigError::MultipleSignatures
    );
    let tampered = xml.replacen("admins &amp; friends", "admins &amp; friendz", 1);
    assert_eq!(
        xmldsig::verify_enveloped_at(&tampered, "_assert9", &pk, &lax, &limits).unwrap_err(),
        XmlDsigError::DigestMismatch
    );
    assert_eq!(
        xmldsig::verify_enveloped(&tampered, &pk, &lax, &limits).unwrap_err(),
        XmlDsigError::DigestMismatch
    );
}

#[test]
fn xmldsig_truncations_and_depth_caps_never_panic() {
    let key = rsa_key();
    let pk = [public(&key)];
    let signed = sign_assertion(
        &saml_response("alice@example.com"),
        &key,
        SignatureAlgorithm::RsaSha256,
    );
    for end in 0..signed.len() {
        if let Some(prefix) = signed.get(..end).filter(|_| end < signed.trim_end().len()) {
            assert!(
                verify(prefix, &pk).is_err(),
                "prefix of {end} bytes accepted"
            );
        }
        if let (Some(a), Some(b)) = (signed.get(..end), signed.get(end + 1..)) {
            // Deleting any one byte: no panic, whatever the outcome.
            let _ = verify(&format!("{a}{b}"), &pk);
        }
    }
    // Caller depth limits above 256 act as 256 (canonicalisation recurses per level).
    let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
    let lax = Limits {
        max_depth: 100_000,
        ..Limits::default()
    };
    assert_eq!(
        c14n::canonicalize(&deep(257), None, &[], &lax).unwrap_err(),
        XmlDsigError::TooDeep { limit: 256 }
    );
    assert_eq!(
        c14n::canonicalize(&deep(256), None, &[], &lax).unwrap(),
        deep(256).into_bytes()
    );
}

#[test]
fn xmldsig_xsw1_xsw2_on_a_signed_response() {
    let key = rsa_key();
    let pk = [public(&key)];
    let doc = saml_response("alice@example.com");
    let signed = xmldsig::sign_enveloped(
        &doc,
        "_resp1",
        &key,
        None,
        SignatureAlgorithm::RsaSha256,
        Placement::after_saml_issuer(),
    )
    .unwrap();
    let r0 = signed.find("<samlp:Response").unwrap();
    let r1 = after_nth(&signed, "</samlp:Response>", 0);
    let genuine = &signed[r0..r1];
    let s0 = genuine.find("<ds:Signature").unwrap();
    let s1 = after_nth(genuine, "</ds:Signature>", 0);
    let sig = &genuine[s0..s1];
    let unsigned_genuine = format!("{}{}", &genuine[..s0], &genuine[s1..]);
    let evil =
        saml_response("admin@example.com")[r0..].replacen("ID=\"_resp1\"", "ID=\"_evil\"", 1);
    let evil = &evil[..after_nth(&evil, "</samlp:Response>", 0)];
    let prolog = &signed[..r0];
    // XSW1: the genuine Response inside the copied Signature (as an Object).
    let sig_with_genuine = sig.replacen(
        "</ds:Signature>",
        &format!("<ds:Object>{unsigned_genuine}</ds:Object></ds:Signature>"),
        1,
    );
    let at = after_nth(evil, "</saml:Issuer>", 0);
    let xsw1 = format!("{prolog}{}{sig_with_genuine}{}", &evil[..at], &evil[at..]);
    assert!(verify(&xsw1, &pk).is_err());
    // XSW2: the genuine Response as a sibling right before the copied Signature.
    let xsw2 = format!(
        "{prolog}{}{unsigned_genuine}{sig}{}",
        &evil[..at],
        &evil[at..]
    );
    assert_eq!(
        verify(&xsw2, &pk).unwrap_err(),
        XmlDsigError::ReferenceMismatch
    );
    // Same with the forged root reusing the genuine ID: duplicate.
    let xsw2_same_id = xsw2.replacen("ID=\"_evil\"", "ID=\"_resp1\"", 1);
    assert_eq!(
        verify(&xsw2_same_id, &pk).unwrap_err(),
        XmlDsigError::DuplicateId("_resp1".into())
    );
}
