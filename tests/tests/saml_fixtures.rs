//! The four SaaS service providers of `fixtures/sp/` (both Google profiles) registered with
//! `sp add --metadata FILE --preset P` on the real server, answered for `demo-mfa` after the
//! matrix + TOTP sign-in with NameID and attributes taken from the directory (`user set
//! --attr ...`). Each Response must carry exactly that SP's NameID (format and value),
//! attributes, audience, Destination/Recipient, AuthnContextClassRef and signature placement,
//! and pass `xmlsec1` (Salesforce's assertion is encrypted: xmlsec1 decrypts it with the
//! fixture's test key first). A user without the NameID attribute gets InvalidNameIDPolicy,
//! audited.

mod common;
mod saml_support;

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{Backend, TestServer};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use passlogic_idp_core::saml::bindings::{deflate, percent_encode};
use saml_support::*;

const IMMUTABLE_ID: &str = "AbC.2BdEf==";
const UPN: &str = "demo-mfa@contoso.example";
const FEDERATION_ID: &str = "demo-mfa.fed";
const EMAIL: &str = "demo-mfa@demo.example";
const SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sp")
}

fn fixture(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// (Name, values) of every Attribute of the (decrypted) assertion, in order.
fn attributes(xml: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for part in xml.split("<saml:Attribute Name=\"").skip(1) {
        let name = part[..part.find('"').unwrap()].to_owned();
        let body = &part[..part.find("</saml:Attribute>").unwrap()];
        let values = body
            .split("<saml:AttributeValue>")
            .skip(1)
            .map(|v| v[..v.find("</saml:AttributeValue>").unwrap()].to_owned())
            .collect();
        out.push((name, values));
    }
    out
}

/// A Redirect-binding AuthnRequest signed with a PEM key (query-string signature, RSA-SHA256).
fn signed_sso_path(xml: &str, relay: &str, key_pem: &[u8]) -> String {
    let b64 = STANDARD.encode(deflate(xml.as_bytes()));
    let signed = format!(
        "SAMLRequest={}&RelayState={}&SigAlg={}",
        percent_encode(&b64),
        percent_encode(relay),
        percent_encode(SHA256)
    );
    let key = PKey::private_key_from_pem(key_pem).unwrap();
    let mut s = Signer::new(MessageDigest::sha256(), &key).unwrap();
    s.update(signed.as_bytes()).unwrap();
    let sig = STANDARD.encode(s.sign_to_vec().unwrap());
    format!("/saml/sso?{signed}&Signature={}", percent_encode(&sig))
}

struct Expect {
    fixture: &'static str,
    preset: &'static str,
    name_id: &'static str,
    attributes: Vec<(&'static str, Vec<&'static str>)>,
}

fn saas_fixture_responses(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    for (file, preset) in [
        ("microsoft-entra", "entra"),
        ("google-workspace-legacy", "google"),
        ("google-workspace-profile", "google"),
        ("salesforce", "salesforce"),
        ("box", "box"),
    ] {
        let md = fixtures().join(format!("{file}.xml"));
        let out = server.cli_ok(&[
            "sp",
            "add",
            "--metadata",
            md.to_str().unwrap(),
            "--preset",
            preset,
        ]);
        let f = fixture(file);
        assert!(out.contains(&format!("sp: {}", f["entity_id"].as_str().unwrap())));
    }
    // The directory attributes the presets name.
    let shown: serde_json::Value = serde_json::from_str(
        server
            .cli_ok(&[
                "user",
                "set",
                "demo-mfa",
                "--attr",
                &format!("immutable_id={IMMUTABLE_ID}"),
                "--attr",
                &format!("upn={UPN}"),
                "--attr",
                &format!("federation_id={FEDERATION_ID}"),
                "--department",
                "Sales",
            ])
            .trim(),
    )
    .unwrap();
    assert_eq!(shown["attributes"]["immutable_id"], IMMUTABLE_ID, "{shown}");
    let show = server.user_show("demo-mfa");
    assert_eq!(show["given_name"], "Demo", "{show}");
    assert_eq!(show["family_name"], "MFA User", "{show}");
    assert_eq!(show["department"], "Sales", "{show}");
    assert_eq!(show["attributes"]["upn"], UPN, "{show}");

    let expectations = [
        Expect {
            fixture: "microsoft-entra",
            preset: "entra",
            name_id: IMMUTABLE_ID,
            attributes: vec![("IDPEmail", vec![UPN])],
        },
        Expect {
            fixture: "google-workspace-legacy",
            preset: "google",
            name_id: EMAIL,
            attributes: vec![],
        },
        Expect {
            fixture: "google-workspace-profile",
            preset: "google",
            name_id: EMAIL,
            attributes: vec![],
        },
        Expect {
            fixture: "salesforce",
            preset: "salesforce",
            name_id: FEDERATION_ID,
            attributes: vec![],
        },
        Expect {
            fixture: "box",
            preset: "box",
            name_id: EMAIL,
            attributes: vec![
                ("email", vec![EMAIL]),
                ("givenName", vec!["Demo"]),
                ("sn", vec!["MFA User"]),
                ("memberOf", vec!["mfa"]),
            ],
        },
    ];

    let dir = tempfile::tempdir().unwrap();
    let b = server.browser();
    let cert = idp_cert_pem(&b);
    let sf_key = std::fs::read(fixtures().join("keys/salesforce-request-signing.key.pem")).unwrap();
    let sf_dec = fixtures().join("keys/salesforce-encryption.key.pem");
    for (i, e) in expectations.iter().enumerate() {
        let f = fixture(e.fixture);
        let what = format!("{} ({})", e.fixture, e.preset);
        let entity = f["entity_id"].as_str().unwrap();
        let acs = f["acs"].as_str().unwrap();
        let id = format!("_fixture-{i}");
        let xml = authn_request(&server, entity, &id, "");
        let path = if f["want_authn_requests_signed"] == true {
            signed_sso_path(&xml, "relay-1", &sf_key)
        } else {
            redirect_path("/saml/sso", "SAMLRequest", &xml, Some("relay-1"))
        };
        let first = b.get(&path);
        let page = if i == 0 {
            sign_in_mfa(&server, &b, &first, "/saml/resume?id=", 0)
        } else {
            first
        };
        let (action, field, response, relay) = post_form(&page, &what);
        assert_eq!(field, "SAMLResponse");
        assert_eq!(action, acs, "{what}: the ACS of the fixture");
        assert_eq!(relay.as_deref(), Some("relay-1"));
        assert!(
            response.contains("urn:oasis:names:tc:SAML:2.0:status:Success"),
            "{what}: {response}"
        );
        assert!(
            open_tag(&response, "<samlp:Response").contains(&format!("Destination=\"{acs}\"")),
            "{what}: Destination"
        );
        let sign = f["sign"].as_str().unwrap();
        // The Response signature (Google: both) is over the document as sent.
        let (resp_signed, log) = xmlsec1_verify(dir.path(), &cert, &response, RESPONSE_SIG);
        assert_eq!(
            resp_signed,
            sign == "both",
            "{what}: Response signature ({sign}): {log}"
        );
        let assertion_doc = if f["encrypted"] == true {
            assert!(response.contains("<saml:EncryptedAssertion"), "{what}");
            assert!(
                !response.contains("<saml:NameID"),
                "{what}: plaintext NameID"
            );
            xmlsec1_decrypt(dir.path(), &sf_dec, &response)
        } else {
            assert!(!response.contains("EncryptedAssertion"), "{what}");
            response.clone()
        };
        let (ok, log) = xmlsec1_verify(dir.path(), &cert, &assertion_doc, ASSERTION_SIG);
        assert!(
            ok,
            "{what}: xmlsec1 must verify the assertion: {log}\n{assertion_doc}"
        );
        let tampered = assertion_doc.replacen(e.name_id, "someone-else", 1);
        assert!(
            !xmlsec1_verify(dir.path(), &cert, &tampered, ASSERTION_SIG).0,
            "{what}: a changed NameID must fail"
        );
        let name_id_tag = open_tag(&assertion_doc, "<saml:NameID");
        assert!(
            name_id_tag.contains(&format!(
                "Format=\"{}\"",
                f["name_id_format"].as_str().unwrap()
            )),
            "{what}: {name_id_tag}"
        );
        assert_eq!(
            between(&assertion_doc, "<saml:NameID", "</saml:NameID>"),
            e.name_id,
            "{what}"
        );
        let want: Vec<(String, Vec<String>)> = e
            .attributes
            .iter()
            .map(|(n, v)| (n.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(attributes(&assertion_doc), want, "{what}: attributes");
        assert_eq!(
            between(&assertion_doc, "<saml:Audience", "</saml:Audience>"),
            f["audience"].as_str().unwrap(),
            "{what}"
        );
        assert!(
            open_tag(&assertion_doc, "<saml:SubjectConfirmationData")
                .contains(&format!("Recipient=\"{acs}\"")),
            "{what}: Recipient"
        );
        assert!(
            open_tag(&assertion_doc, "<saml:SubjectConfirmationData")
                .contains(&format!("InResponseTo=\"{id}\"")),
            "{what}: InResponseTo"
        );
        assert_eq!(
            between(
                &assertion_doc,
                "<saml:AuthnContextClassRef",
                "</saml:AuthnContextClassRef>"
            ),
            f["authn_context_mfa"].as_str().unwrap(),
            "{what}: class after matrix + TOTP"
        );
        assert_eq!(
            assertion_doc.contains("AuthenticatingAuthority"),
            f["authenticating_authority"] == true,
            "{what}: AuthenticatingAuthority"
        );
    }
    let entra_class = between(
        &{
            let (_, _, x, _) = post_form(
                &b.get(&sso_path(
                    &server,
                    "urn:federation:MicrosoftOnline",
                    "_e2",
                    "",
                )),
                "Entra again",
            );
            x
        },
        "<saml:AuthnContextClassRef",
        "</saml:AuthnContextClassRef>",
    )
    .to_owned();
    assert_eq!(
        entra_class,
        "http://schemas.microsoft.com/claims/multipleauthn"
    );

    // A user without the attribute the NameID comes from: InvalidNameIDPolicy to the ACS,
    // audited. (`demo` signs in with the matrix alone.)
    server.cli_ok(&["user", "set", "demo", "--attr", "immutable_id="]);
    assert_eq!(
        server.user_show("demo")["attributes"]["immutable_id"],
        serde_json::Value::Null,
        "`--attr KEY=` removes the attribute"
    );
    let other = server.browser();
    other.sign_in("demo", &server.pattern_of("demo"), "/");
    let (action, _, xml, _) = post_form(
        &other.get(&sso_path(
            &server,
            "urn:federation:MicrosoftOnline",
            "_no-immutable",
            "",
        )),
        "Entra for a user without immutable_id",
    );
    assert_eq!(action, "https://login.microsoftonline.com/login.srf");
    assert!(
        xml.contains("urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"),
        "{xml}"
    );
    assert!(!xml.contains("<saml:Assertion"), "{xml}");
    let audit = audit_events(&server);
    assert!(
        audit.iter().any(
            |l| l.starts_with("saml.sso|urn:federation:MicrosoftOnline|failure|")
                && l.contains("_no-immutable")
        ),
        "{audit:#?}"
    );
    // One-factor sign-in: Entra gets PasswordProtectedTransport, not multipleauthn.
    let (_, _, single, _) = post_form(
        &other.get(&sso_path(&server, "box.net", "_single", "")),
        "Box single factor",
    );
    assert_eq!(
        between(
            &single,
            "<saml:AuthnContextClassRef",
            "</saml:AuthnContextClassRef>"
        ),
        fixture("box")["authn_context_single"].as_str().unwrap()
    );
}

both_backends!(saas_fixture_responses);
