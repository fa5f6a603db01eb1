//! Helpers shared by the SAML end-to-end tests (`saml_*.rs`): AuthnRequests, the HTTP-POST
//! binding form, the IdP certificate, `xmlsec1` verification and decryption, the matrix + TOTP
//! sign-in of `demo-mfa`, and reading the audit log from the store.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use passlogic_idp_core::saml::bindings::{deflate, percent_encode};
use scraper::Selector;

use std::path::PathBuf;

use crate::common::{self, Backend, Browser, Page, TestServer};

/// emailAddress NameID format.
pub const EMAIL_FMT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const SCRIPT: &str = include_str!("pysaml2_sp.py");

/// XPath of the assertion's own signature.
pub const ASSERTION_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='Assertion']]";
/// XPath of the Response's own signature.
pub const RESPONSE_SIG: &str = "//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#' and parent::*[local-name()='Response']]";

/// A TOTP code from oathtool at now + `offset` seconds.
pub fn totp(secret: &str, offset: i64) -> String {
    let at = common::now_unix() + offset;
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
        .unwrap_or_else(|e| panic!("oathtool is needed (apt-get install oathtool): {e}"));
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The value of the first `key: value` line.
pub fn line_value(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{out}"))
}

pub fn now_instant() -> String {
    passlogic_idp_core::saml::format_instant(time::OffsetDateTime::now_utc())
}

/// An unsigned AuthnRequest from `issuer` to our SSO endpoint.
pub fn authn_request(server: &TestServer, issuer: &str, id: &str, extra_attrs: &str) -> String {
    format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{dest}"{extra_attrs}><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{issuer}</saml:Issuer></samlp:AuthnRequest>"#,
        now = now_instant(),
        dest = server.url("/saml/sso"),
    )
}

/// `/saml/sso?SAMLRequest=...&RelayState=...` for an XML message (HTTP-Redirect, unsigned).
pub fn redirect_path(path: &str, field: &str, xml: &str, relay: Option<&str>) -> String {
    let b64 = STANDARD.encode(deflate(xml.as_bytes()));
    let mut p = format!("{path}?{field}={}", percent_encode(&b64));
    if let Some(r) = relay {
        p.push_str(&format!("&RelayState={}", percent_encode(r)));
    }
    p
}

/// `/saml/sso?...` for an unsigned AuthnRequest.
pub fn sso_path(server: &TestServer, issuer: &str, id: &str, extra: &str) -> String {
    redirect_path(
        "/saml/sso",
        "SAMLRequest",
        &authn_request(server, issuer, id, extra),
        Some("relay-1"),
    )
}

/// The auto-submitting HTTP-POST binding form: (action, field name, decoded XML, RelayState).
pub fn post_form(p: &Page, what: &str) -> (String, String, String, Option<String>) {
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
    let (name, b64) = match (field("SAMLResponse"), field("SAMLRequest")) {
        (Some(v), _) => ("SAMLResponse", v),
        (None, Some(v)) => ("SAMLRequest", v),
        _ => panic!("{what}: no SAMLResponse/SAMLRequest: {}", p.describe()),
    };
    let xml = String::from_utf8(STANDARD.decode(b64).expect("base64")).expect("utf-8");
    (action, name.to_owned(), xml, field("RelayState"))
}

/// The signing certificate of `/saml/metadata` as PEM.
pub fn idp_cert_pem(b: &Browser) -> String {
    let p = b.get("/saml/metadata");
    p.expect_status(200, "GET /saml/metadata");
    let start = p
        .body
        .find("<ds:X509Certificate>")
        .expect("certificate in metadata")
        + "<ds:X509Certificate>".len();
    let end = start + p.body[start..].find("</ds:X509Certificate>").unwrap();
    let b64: String = p.body[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn run_log(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// xmlsec1 verification of the signature at `xpath` with the IdP certificate as key and only
/// trust anchor.
pub fn xmlsec1_verify(dir: &Path, cert_pem: &str, xml: &str, xpath: &str) -> (bool, String) {
    let cert = dir.join("idp-cert.pem");
    std::fs::write(&cert, cert_pem).unwrap();
    let file = dir.join("signed.xml");
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
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
        ])
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse",
        ])
        .args(["--node-xpath", xpath])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmlsec1 is needed (apt-get install xmlsec1): {e}"));
    let log = run_log(&out);
    (out.status.success() && log.contains("OK"), log)
}

/// xmlsec1 decryption of the (first) EncryptedData with a private key PEM file; returns the
/// decrypted document.
pub fn xmlsec1_decrypt(dir: &Path, key_pem: &Path, xml: &str) -> String {
    let file = dir.join("encrypted.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmlsec1")
        .arg("--decrypt")
        .arg("--privkey-pem")
        .arg(key_pem)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmlsec1 is needed: {e}"));
    assert!(
        out.status.success(),
        "xmlsec1 must decrypt the assertion: {}\n{xml}",
        run_log(&out)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Text of the first element `open_prefix...>` up to `close` (exact element name).
pub fn between<'a>(xml: &'a str, open_prefix: &str, close: &str) -> &'a str {
    let i = xml
        .match_indices(open_prefix)
        .map(|(i, _)| i)
        .find(|i| matches!(xml.as_bytes().get(i + open_prefix.len()), Some(b'>' | b' ')))
        .unwrap_or_else(|| panic!("no {open_prefix} in {xml}"));
    let after = &xml[i + open_prefix.len()..];
    let gt = after.find('>').unwrap();
    let rest = &after[gt + 1..];
    &rest[..rest.find(close).unwrap()]
}

/// The opening tag of the first element `open_prefix` (for attribute checks).
pub fn open_tag<'a>(xml: &'a str, open_prefix: &str) -> &'a str {
    let i = xml
        .match_indices(open_prefix)
        .map(|(i, _)| i)
        .find(|i| matches!(xml.as_bytes().get(i + open_prefix.len()), Some(b'>' | b' ')))
        .unwrap_or_else(|| panic!("no {open_prefix} in {xml}"));
    let end = xml[i..].find('>').unwrap();
    &xml[i..=i + end]
}

/// Signs demo-mfa in (matrix + TOTP at now + `totp_offset`) from the 303 to
/// `/login?return_to=...`; returns the answer of the resumed endpoint.
pub fn sign_in_mfa(
    server: &TestServer,
    b: &Browser,
    login: &Page,
    resume_prefix: &str,
    totp_offset: i64,
) -> Page {
    login.expect_see_other("/login", "SAML request without a session");
    let form = b.follow(login);
    form.expect_status(200, "login page");
    let sel = Selector::parse("input[name=return_to]").unwrap();
    let return_to = form
        .html()
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_owned))
        .expect("return_to field");
    assert!(
        return_to.starts_with(resume_prefix),
        "return_to {return_to}"
    );
    let r = b.post_form(
        "/login",
        &[("username", "demo-mfa"), ("return_to", &return_to)],
    );
    r.expect_see_other("/login/matrix", "POST /login");
    let grid = common::GridPage::parse(b.follow(&r));
    let r = b.submit_otp(&grid.answer(&server.pattern_of("demo-mfa")));
    r.expect_see_other("/login/totp", "grid, then TOTP");
    b.follow(&r).expect_status(200, "TOTP page");
    let secret = line_value(&server.log(), "totp");
    let r = b.post_form("/login/totp", &[("otp", &totp(&secret, totp_offset))]);
    let path = resume_prefix.split('?').next().unwrap();
    r.expect_see_other(path, "back to the SAML endpoint");
    b.follow(&r)
}

pub fn assert_error_page(p: &Page, what: &str) {
    p.expect_status(400, what);
    assert_eq!(p.count("form[data-autosubmit]"), 0, "{what}: no form");
    assert!(!p.body.contains("SAMLResponse"), "{what}: {}", p.describe());
    assert_eq!(p.count("[data-saml-error]"), 1, "{what}: {}", p.describe());
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Runs `SELECT <one text column>` on the server's store.
pub fn query_strings(server: &TestServer, sql: &str) -> Vec<String> {
    use sqlx::Connection;
    block_on(async {
        match server.backend() {
            Backend::Sqlite => {
                let url = format!(
                    "sqlite://{}?mode=ro",
                    server.data_dir().join("passlogic.db").display()
                );
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
                let v: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut c).await.expect(sql);
                let _ = c.close().await;
                v
            }
            Backend::Postgres => {
                let url = server.database_url().expect("pg url").to_owned();
                let mut c = sqlx::PgConnection::connect(&url).await.expect("pg");
                let v: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut c).await.expect(sql);
                let _ = c.close().await;
                v
            }
        }
    })
}

/// Every audit event as `event|subject|outcome|detail`, oldest first.
pub fn audit_events(server: &TestServer) -> Vec<String> {
    query_strings(
        server,
        "SELECT event || '|' || subject || '|' || outcome || '|' || detail \
         FROM audit_events ORDER BY id",
    )
}

/// Row count of a table.
pub fn count_rows(server: &TestServer, table: &str) -> usize {
    query_strings(
        server,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"),
    )[0]
    .parse()
    .unwrap()
}

/// A test SP: its key pair, config file for the pysaml2 script and metadata for `sp add`.
pub struct PySp {
    pub entity: &'static str,
    /// The private key of the SP's encryption certificate (PEM file).
    pub enc_key: PathBuf,
    conf: PathBuf,
    script: PathBuf,
}

pub fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut n = X509NameBuilder::new().unwrap();
    n.append_entry_by_text("CN", name).unwrap();
    let n = n.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = openssl::bn::BigNum::from_u32(1).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&n).unwrap();
    b.set_issuer_name(&n).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = b.build();
    let (k, c) = (
        dir.join(format!("{name}.key.pem")),
        dir.join(format!("{name}.cert.pem")),
    );
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
    (k, c, STANDARD.encode(cert.to_der().unwrap()))
}

impl PySp {
    pub fn new(
        server: &TestServer,
        dir: &Path,
        entity: &'static str,
        tag: &str,
        slo_binding: &str,
    ) -> PySp {
        Self::new_with(server, dir, entity, tag, slo_binding, false, &[])
    }

    /// Like [`PySp::new`]; with `encrypt` the metadata also has an encryption certificate
    /// (pysaml2 decrypts with its key); `sp_add` are extra `sp add` flags.
    pub fn new_with(
        server: &TestServer,
        dir: &Path,
        entity: &'static str,
        tag: &str,
        slo_binding: &str,
        encrypt: bool,
        sp_add: &[&str],
    ) -> PySp {
        let (key, cert, cert_b64) = key_pair(dir, tag);
        let (enc_key, enc_cert, enc_b64) = key_pair(dir, &format!("{tag}-enc"));
        let enc_md = if encrypt {
            format!(
                r#"<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{enc_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
            )
        } else {
            String::new()
        };
        let acs = format!("https://127.0.0.1:9/{tag}/acs");
        let slo = format!("https://127.0.0.1:9/{tag}/slo");
        let binding = match slo_binding {
            "post" => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            _ => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        };
        let md = format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>{enc_md}<md:SingleLogoutService Binding="{binding}" Location="{slo}"/><md:NameIDFormat>{EMAIL_FMT}</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#
        );
        let md_file = dir.join(format!("{tag}-metadata.xml"));
        std::fs::write(&md_file, md).unwrap();
        let mut args = vec!["sp", "add", "--metadata", md_file.to_str().unwrap()];
        args.extend_from_slice(sp_add);
        server.cli_ok(&args);
        let idp_md = dir.join("idp-metadata.xml");
        if !idp_md.exists() {
            let p = server.browser().get("/saml/metadata");
            std::fs::write(&idp_md, &p.body).unwrap();
        }
        let conf = dir.join(format!("{tag}.json"));
        std::fs::write(
            &conf,
            serde_json::json!({
                "entity": entity, "acs": acs, "slo": slo, "slo_binding": slo_binding,
                "key": key, "cert": cert, "idp_md": idp_md,
                "enc_key": if encrypt { Some(&enc_key) } else { None },
                "enc_cert": enc_cert,
            })
            .to_string(),
        )
        .unwrap();
        let script = dir.join("pysaml2_sp.py");
        std::fs::write(&script, SCRIPT).unwrap();
        PySp {
            entity,
            enc_key,
            conf,
            script,
        }
    }

    pub fn run(&self, args: &[&str]) -> serde_json::Value {
        let out = Command::new("python3")
            .arg(&self.script)
            .arg(&self.conf)
            .args(args)
            .output()
            .expect("python3");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "pysaml2 SP {} {:?} failed:\n{text}",
            self.entity,
            &args[..1]
        );
        let last = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        serde_json::from_str(&last).unwrap_or_else(|e| panic!("pysaml2 output ({e}): {text}"))
    }

    /// SSO with the browser's session; pysaml2 validates the Response. Returns its summary.
    pub fn sso(&self, server: &TestServer, b: &Browser, id: &str) -> serde_json::Value {
        let (_, _, xml, _) = post_form(&b.get(&sso_path(server, self.entity, id, "")), id);
        let seen = self.run(&["sso-response", &STANDARD.encode(xml.as_bytes()), id]);
        assert_eq!(seen["in_response_to"], id, "{seen}");
        seen
    }
}
