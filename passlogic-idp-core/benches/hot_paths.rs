//! Hot paths of the core, each beside the raw OpenSSL operation it is bounded by, measured in
//! the same run so results read as ratios (docs/performance.md; `scripts/bench-report` prints
//! them). Run: `cargo bench -p passlogic-idp-core --bench hot_paths`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use passlogic_idp_core::factor::matrix::{self, GridSpec, MatrixSecret, Pattern, PhrasePosition};
use passlogic_idp_core::factor::otp::{self, OtpSecret, TotpParams};
use passlogic_idp_core::oidc::jose::{sign_claims, Algorithm, SigningKey};
use passlogic_idp_core::xmldsig::{self, Placement, SignatureAlgorithm};
use rand::SeedableRng;

const ASSERTION: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2026-11-26T09:00:00Z" Destination="https://sp.example.com/acs" InResponseTo="_req1"><saml:Issuer>https://idp.example.jp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-11-26T09:00:00Z"><saml:Issuer>https://idp.example.jp</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">hanako.yamada@example.ac.jp</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="_req1" NotOnOrAfter="2026-11-26T09:05:00Z" Recipient="https://sp.example.com/acs"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="2026-11-26T08:59:30Z" NotOnOrAfter="2026-11-26T09:05:00Z"><saml:AudienceRestriction><saml:Audience>https://sp.example.com</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="2026-11-26T09:00:00Z" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>http://schemas.microsoft.com/claims/multipleauthn</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="IDPEmail"><saml:AttributeValue>hanako.yamada@example.ac.jp</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#;

fn references(c: &mut Criterion) {
    let rsa = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve"))
            .expect("ec"),
    )
    .expect("pkey");
    let data = [7u8; 64];
    let mut g = c.benchmark_group("reference");
    g.bench_function("openssl_rsa2048_sha256_sign", |b| {
        b.iter(|| {
            let mut s = Signer::new(MessageDigest::sha256(), &rsa).expect("signer");
            s.update(black_box(&data)).expect("update");
            s.sign_to_vec().expect("sign")
        })
    });
    g.bench_function("openssl_ecdsa_p256_sha256_sign", |b| {
        b.iter(|| {
            let mut s = Signer::new(MessageDigest::sha256(), &ec).expect("signer");
            s.update(black_box(&data)).expect("update");
            s.sign_to_vec().expect("sign")
        })
    });
    g.finish();
}

fn matrix_paths(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let spec = GridSpec::default();
    let secret = MatrixSecret {
        pattern: Pattern::new(vec![0, 13, 26, 39, 16, 31]),
        phrase: None,
    };
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let mut g = c.benchmark_group("matrix");
    g.bench_function("generate_grid_4x12", |b| {
        b.iter(|| matrix::generate_grid(black_box(&spec), &mut rng))
    });
    g.bench_function("start_and_finish", |b| {
        b.iter(|| {
            let ch = matrix::start(&spec, &mut rng, now, matrix::DEFAULT_TTL);
            let answer =
                matrix::expected_answer(&ch.grid, &secret, PhrasePosition::Before).expect("answer");
            matrix::finish(ch, &secret, PhrasePosition::Before, black_box(&answer), now)
                .expect("finish")
        })
    });
    g.finish();
}

fn totp_paths(c: &mut Criterion) {
    let secret = OtpSecret::from_bytes(b"12345678901234567890".to_vec());
    let params = TotpParams::default();
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
    let code = otp::totp_code(&secret, &params, now).expect("code");
    let mut g = c.benchmark_group("totp");
    g.bench_function("verify_skew1", |b| {
        b.iter(|| otp::totp_verify(&secret, &params, black_box(&code), now, None).expect("verify"))
    });
    g.finish();
}

fn token_paths(c: &mut Criterion) {
    let rsa = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve"))
            .expect("ec"),
    )
    .expect("pkey");
    let rs = SigningKey::from_pkey("k1", Algorithm::Rs256, rsa.clone()).expect("key");
    let es = SigningKey::from_pkey("k2", Algorithm::Es256, ec).expect("key");
    let claims = serde_json::json!({
        "iss": "https://idp.example.jp", "sub": "1042", "aud": "portal", "exp": 1_800_000_300i64,
        "iat": 1_800_000_000i64, "auth_time": 1_800_000_000i64, "nonce": "n-0S6_WzA2Mj",
        "acr": "urn:passlogic:acr:mfa", "amr": ["matrix", "otp", "swk", "mfa"]
    });
    let mut g = c.benchmark_group("oidc");
    g.bench_function("id_token_rs256", |b| {
        b.iter(|| sign_claims(black_box(&claims), &rs).expect("sign"))
    });
    g.bench_function("id_token_es256", |b| {
        b.iter(|| sign_claims(black_box(&claims), &es).expect("sign"))
    });
    g.finish();

    let mut g = c.benchmark_group("saml");
    g.bench_function("c14n_and_sign_assertion_rsa2048", |b| {
        b.iter(|| {
            xmldsig::sign_enveloped(
                black_box(ASSERTION),
                "_a1",
                &rsa,
                None,
                SignatureAlgorithm::RsaSha256,
                Placement::after_saml_issuer(),
            )
            .expect("sign")
        })
    });
    g.finish();
}

criterion_group!(benches, references, matrix_paths, totp_paths, token_paths);
criterion_main!(benches);
