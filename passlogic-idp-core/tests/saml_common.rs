//! Helpers shared by the SAML integration tests (included with `#[path]`); no tests here.
#![allow(dead_code)]

use std::path::PathBuf;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use passlogic_idp_core::pipeline::{AuthnContext, Method};
use passlogic_idp_core::saml::sp::DataEncryption;
use passlogic_idp_core::saml::{
    IdpSettings, MessageLimits, Principal, ServiceProvider, SigningKey,
};
use rand::SeedableRng;
use serde::Deserialize;
use time::OffsetDateTime;

pub const IDP: &str = "https://idp.example.org/saml";
pub const SSO_REDIRECT: &str = "https://idp.example.org/saml/sso/redirect";
pub const SSO_POST: &str = "https://idp.example.org/saml/sso/post";
pub const SLO_REDIRECT: &str = "https://idp.example.org/saml/slo/redirect";
pub const SLO_POST: &str = "https://idp.example.org/saml/slo/post";

pub fn idp() -> IdpSettings {
    IdpSettings {
        entity_id: IDP.into(),
        sso_redirect_url: SSO_REDIRECT.into(),
        sso_post_url: SSO_POST.into(),
        slo_redirect_url: Some(SLO_REDIRECT.into()),
        slo_post_url: Some(SLO_POST.into()),
        want_authn_requests_signed: false,
        limits: MessageLimits::default(),
    }
}

pub fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-26 08:00:00 UTC)
}

pub fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sp")
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).expect("fixture")
}

pub fn fixture_key(name: &str) -> PKey<Private> {
    PKey::private_key_from_pem(fixture(&format!("keys/{name}.key.pem")).as_bytes()).expect("key")
}

pub fn fixture_cert_b64(name: &str) -> String {
    let c = X509::from_pem(fixture(&format!("keys/{name}.cert.pem")).as_bytes()).expect("cert");
    base64_std(&c.to_der().expect("der"))
}

pub fn base64_std(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey")
}

pub fn self_signed(key: &PKey<Private>, cn: &str) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("version");
    let serial = BigNum::from_u32(7)
        .expect("bn")
        .to_asn1_integer()
        .expect("serial");
    b.set_serial_number(&serial).expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(&name).expect("issuer");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("t"))
        .expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(365).expect("t"))
        .expect("na");
    b.sign(key, MessageDigest::sha256()).expect("sign");
    b.build()
}

pub fn idp_key() -> (SigningKey, X509) {
    let key = rsa_key();
    let cert = self_signed(&key, "idp.example.org");
    (
        SigningKey {
            key,
            cert_der: cert.to_der().expect("der"),
        },
        cert,
    )
}

pub fn alice() -> Principal {
    let mut p = Principal {
        user_id: "u-1001".into(),
        user_name: "alice".into(),
        email: Some("alice@example.com".into()),
        given_name: Some("Alice".into()),
        surname: Some("Liddell".into()),
        display_name: Some("Alice Liddell".into()),
        groups: vec!["staff".into(), "admins".into()],
        persistent_id: Some("p-7f3a".into()),
        ..Principal::default()
    };
    p.attributes
        .insert("immutable_id".into(), vec!["AbC.2BdEf==".into()]);
    p.attributes
        .insert("upn".into(), vec!["alice@example.com".into()]);
    p.attributes
        .insert("federation_id".into(), vec!["alice.fed".into()]);
    p
}

pub fn single_factor() -> AuthnContext {
    AuthnContext::from_methods(vec![Method::Matrix], now().unix_timestamp() - 30)
}

pub fn mfa() -> AuthnContext {
    AuthnContext::from_methods(
        vec![Method::Matrix, Method::Totp],
        now().unix_timestamp() - 30,
    )
}

/// The expectations file of one SP fixture (`fixtures/sp/<name>.json`).
#[derive(Debug, Deserialize)]
pub struct Expectations {
    pub preset: String,
    pub metadata: String,
    pub entity_id: String,
    pub audience: String,
    pub acs: String,
    pub name_id_format: String,
    pub name_id_value_for_alice: String,
    pub attributes: Vec<(String, Vec<String>)>,
    pub sign: String,
    pub authn_context_single: String,
    pub authn_context_mfa: String,
    pub authenticating_authority: bool,
    pub want_authn_requests_signed: bool,
    pub encrypted: bool,
    pub settings: Option<ServiceProvider>,
}

pub fn expectations(name: &str) -> Expectations {
    serde_json::from_str(&fixture(&format!("{name}.json"))).expect("expectations json")
}

pub const FIXTURE_SPS: [&str; 5] = [
    "microsoft-entra",
    "google-workspace-legacy",
    "google-workspace-profile",
    "salesforce",
    "box",
];

pub fn preset(name: &str) -> ServiceProvider {
    match name {
        "microsoft_entra" => ServiceProvider::microsoft_entra(),
        "google_workspace" => ServiceProvider::google_workspace("example.com", false),
        "google_workspace_profile" => ServiceProvider::google_workspace_profile("03abc1d2e3f4g5h"),
        "salesforce" => ServiceProvider::salesforce("example"),
        "box_com" => ServiceProvider::box_com(),
        other => panic!("unknown preset {other}"),
    }
}

/// The SP as the server would register it: the preset plus the certificates from the
/// fixture metadata.
pub fn registered(name: &str) -> ServiceProvider {
    let e = expectations(name);
    let md = passlogic_idp_core::saml::metadata::parse_sp_metadata(
        &fixture(&e.metadata),
        &MessageLimits::default(),
    )
    .expect("metadata");
    let mut sp = preset(&e.preset);
    sp.signing_certs = md.signing_certs;
    sp.encryption_cert = md.encryption_cert;
    sp.encryption = DataEncryption::Aes256Gcm;
    sp
}
