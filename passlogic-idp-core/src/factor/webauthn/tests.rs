//! A software authenticator (OpenSSL P-256) plays the browser and authenticator.

use super::*;
use openssl::ec::EcKey;
use openssl::pkey::Private;
use openssl::sign::Signer;
use rand::SeedableRng;

const ORIGIN: &str = "https://idp.example.com";

fn rp() -> RelyingParty {
    RelyingParty::from_public_url("https://idp.example.com/", "Example").unwrap()
}

struct Soft {
    key: EcKey<Private>,
    cred_id: Vec<u8>,
    counter: u32,
    rp_id: String,
    origin: String,
    flags: u8,
}

impl Soft {
    fn new() -> Soft {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        Soft {
            key: EcKey::generate(&group).unwrap(),
            cred_id: vec![7u8; 16],
            counter: 0,
            rp_id: "idp.example.com".into(),
            origin: ORIGIN.into(),
            flags: FLAG_UP | FLAG_UV,
        }
    }

    fn public_cose(&self) -> Vec<u8> {
        let public = EcKey::from_public_key(self.key.group(), self.key.public_key()).unwrap();
        cose_es256_key(&public).unwrap()
    }

    fn client_data(&self, kind: &str, challenge: &[u8]) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": b64url(challenge),
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    fn auth_data(&self, attested: bool) -> Vec<u8> {
        let mut d = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        d.push(self.flags | if attested { FLAG_AT } else { 0 });
        d.extend_from_slice(&self.counter.to_be_bytes());
        if attested {
            d.extend_from_slice(&[0u8; 16]);
            d.extend_from_slice(&(self.cred_id.len() as u16).to_be_bytes());
            d.extend_from_slice(&self.cred_id);
            d.extend_from_slice(&self.public_cose());
        }
        d
    }

    fn sign(&self, auth: &[u8], client: &[u8]) -> Vec<u8> {
        let pkey = PKey::from_ec_key(self.key.clone()).unwrap();
        let mut s = Signer::new(MessageDigest::sha256(), &pkey).unwrap();
        s.update(auth).unwrap();
        s.update(&Sha256::digest(client)).unwrap();
        s.sign_to_vec().unwrap()
    }

    fn register(&self, challenge: &[u8], packed_self: bool) -> RegistrationResponse {
        let client = self.client_data("webauthn.create", challenge);
        let auth = self.auth_data(true);
        let stmt = if packed_self {
            vec![
                (Value::Text("alg".into()), Value::Integer(ES256.into())),
                (
                    Value::Text("sig".into()),
                    Value::Bytes(self.sign(&auth, &client)),
                ),
            ]
        } else {
            vec![]
        };
        let obj = Value::Map(vec![
            (
                Value::Text("fmt".into()),
                Value::Text(if packed_self { "packed" } else { "none" }.into()),
            ),
            (Value::Text("attStmt".into()), Value::Map(stmt)),
            (Value::Text("authData".into()), Value::Bytes(auth)),
        ]);
        let mut att = Vec::new();
        coset::cbor::ser::into_writer(&obj, &mut att).unwrap();
        RegistrationResponse {
            id: b64url(&self.cred_id),
            raw_id: b64url(&self.cred_id),
            kind: "public-key".into(),
            response: AttestationResponse {
                client_data_json: b64url(&client),
                attestation_object: b64url(&att),
                transports: vec!["internal".into()],
            },
        }
    }

    fn assert(&mut self, challenge: &[u8]) -> AuthenticationResponse {
        self.counter += 1;
        let client = self.client_data("webauthn.get", challenge);
        let auth = self.auth_data(false);
        AuthenticationResponse {
            id: b64url(&self.cred_id),
            raw_id: b64url(&self.cred_id),
            kind: "public-key".into(),
            response: AssertionResponse {
                client_data_json: b64url(&client),
                authenticator_data: b64url(&auth),
                signature: b64url(&self.sign(&auth, &client)),
                user_handle: Some(b64url(b"user-1")),
            },
        }
    }
}

fn challenge() -> Vec<u8> {
    new_challenge(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1))
}

fn registered(soft: &Soft) -> NewCredential {
    verify_registration(&rp(), &challenge(), &soft.register(&challenge(), false)).unwrap()
}

fn stored<'a>(c: &'a NewCredential, count: u32) -> StoredCredential<'a> {
    StoredCredential {
        credential_id: &c.credential_id,
        public_key: &c.public_key,
        sign_count: count,
        backup_eligible: c.backup_eligible,
        user_handle: b"user-1",
    }
}

#[test]
fn rp_from_public_url() {
    let rp = RelyingParty::from_public_url("http://localhost:8080/x", "n").unwrap();
    assert_eq!(rp.id(), "localhost");
    assert_eq!(rp.origins(), ["http://localhost:8080"]);
    let rp = RelyingParty::from_public_url("https://IdP.Example.com", "n").unwrap();
    assert_eq!(rp.id(), "idp.example.com");
    assert_eq!(rp.origins(), ["https://idp.example.com"]);
    assert!(RelyingParty::from_public_url("ftp://x", "n").is_none());
    assert!(RelyingParty::from_public_url("https://", "n").is_none());
}

#[test]
fn registration_none_and_packed_self() {
    let soft = Soft::new();
    let c = registered(&soft);
    assert_eq!(c.credential_id, soft.cred_id);
    assert_eq!(c.alg, ES256);
    assert_eq!(c.attestation_format, "none");
    assert_eq!(c.transports, ["internal"]);
    let c = verify_registration(&rp(), &challenge(), &soft.register(&challenge(), true)).unwrap();
    assert_eq!(c.attestation_format, "packed");
}

#[test]
fn registration_refusals() {
    let rp = rp();
    let ch = challenge();
    let mut soft = Soft::new();
    assert_eq!(
        verify_registration(&rp, &[0u8; 32], &soft.register(&ch, false)),
        Err(WebauthnError::ChallengeMismatch)
    );
    soft.flags = FLAG_UP;
    assert_eq!(
        verify_registration(&rp, &ch, &soft.register(&ch, false)),
        Err(WebauthnError::UserNotVerified)
    );
    soft.flags = FLAG_UV;
    assert_eq!(
        verify_registration(&rp, &ch, &soft.register(&ch, false)),
        Err(WebauthnError::UserNotPresent)
    );
    soft.flags = FLAG_UP | FLAG_UV | FLAG_BS;
    assert_eq!(
        verify_registration(&rp, &ch, &soft.register(&ch, false)),
        Err(WebauthnError::BackupFlags)
    );
    let mut soft = Soft::new();
    soft.origin = "https://evil.example.com".into();
    assert!(matches!(
        verify_registration(&rp, &ch, &soft.register(&ch, false)),
        Err(WebauthnError::OriginMismatch(_))
    ));
    let mut soft = Soft::new();
    soft.rp_id = "evil.example.com".into();
    assert_eq!(
        verify_registration(&rp, &ch, &soft.register(&ch, false)),
        Err(WebauthnError::RpIdMismatch)
    );
    // An assertion-type client data in a registration.
    let soft = Soft::new();
    let mut r = soft.register(&ch, false);
    r.response.client_data_json = b64url(&soft.client_data("webauthn.get", &ch));
    assert_eq!(
        verify_registration(&rp, &ch, &r),
        Err(WebauthnError::WrongType)
    );
    // rawId of another credential.
    let mut r = soft.register(&ch, false);
    r.id = b64url(b"other");
    r.raw_id = b64url(b"other");
    assert_eq!(
        verify_registration(&rp, &ch, &r),
        Err(WebauthnError::CredentialMismatch)
    );
    // Packed self attestation with a signature by another key.
    let other = Soft::new();
    let mut r = soft.register(&ch, true);
    let forged = other.register(&ch, true);
    let att = from_b64url(&r.response.attestation_object).unwrap();
    let fatt = from_b64url(&forged.response.attestation_object).unwrap();
    // Swap in the other key's signature: same authData layout except the key, so rebuild.
    let Value::Map(mut m) = coset::cbor::de::from_reader::<Value, _>(att.as_slice()).unwrap()
    else {
        panic!()
    };
    let Value::Map(fm) = coset::cbor::de::from_reader::<Value, _>(fatt.as_slice()).unwrap() else {
        panic!()
    };
    m[1].1 = fm[1].1.clone();
    let mut out = Vec::new();
    coset::cbor::ser::into_writer(&Value::Map(m), &mut out).unwrap();
    r.response.attestation_object = b64url(&out);
    assert_eq!(
        verify_registration(&rp, &ch, &r),
        Err(WebauthnError::BadSignature)
    );
    // Garbage never panics.
    let mut r = soft.register(&ch, false);
    r.response.attestation_object = b64url(&[0xa3, 0x63, 0x66]);
    assert!(matches!(
        verify_registration(&rp, &ch, &r),
        Err(WebauthnError::Malformed(_))
    ));
    r.response.client_data_json = "!!".into();
    assert!(matches!(
        verify_registration(&rp, &ch, &r),
        Err(WebauthnError::Malformed(_))
    ));
}

#[test]
fn authentication_and_refusals() {
    let rp = rp();
    let ch = challenge();
    let mut soft = Soft::new();
    let cred = registered(&soft);
    let a = soft.assert(&ch);
    let ok = verify_authentication(&rp, &ch, &stored(&cred, 0), &a).unwrap();
    assert_eq!(ok.sign_count, 1);
    // The same assertion again: the counter did not grow.
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 1), &a),
        Err(WebauthnError::CounterRegressed { stored: 1, got: 1 })
    );
    // Counter going backwards.
    let a = soft.assert(&ch);
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 9), &a),
        Err(WebauthnError::CounterRegressed { stored: 9, got: 2 })
    );
    // Zero counters both sides (authenticators without a counter) are fine.
    let zero = Soft::new();
    let zc = registered(&zero);
    let a = {
        let client = zero.client_data("webauthn.get", &ch);
        let auth = zero.auth_data(false);
        AuthenticationResponse {
            id: b64url(&zero.cred_id),
            raw_id: b64url(&zero.cred_id),
            kind: "public-key".into(),
            response: AssertionResponse {
                client_data_json: b64url(&client),
                authenticator_data: b64url(&auth),
                signature: b64url(&zero.sign(&auth, &client)),
                user_handle: None,
            },
        }
    };
    assert!(verify_authentication(&rp, &ch, &stored(&zc, 0), &a).is_ok());
    // Wrong challenge, wrong origin, wrong RP ID, no UV, other key, other user handle.
    let a = soft.assert(&ch);
    assert_eq!(
        verify_authentication(&rp, &[1u8; 32], &stored(&cred, 0), &a),
        Err(WebauthnError::ChallengeMismatch)
    );
    soft.origin = "http://idp.example.com".into();
    assert!(matches!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &soft.assert(&ch)),
        Err(WebauthnError::OriginMismatch(_))
    ));
    soft.origin = ORIGIN.into();
    soft.rp_id = "example.com".into();
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &soft.assert(&ch)),
        Err(WebauthnError::RpIdMismatch)
    );
    soft.rp_id = "idp.example.com".into();
    soft.flags = FLAG_UP;
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &soft.assert(&ch)),
        Err(WebauthnError::UserNotVerified)
    );
    soft.flags = FLAG_UP | FLAG_UV;
    let mut thief = Soft::new();
    thief.cred_id = soft.cred_id.clone();
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &thief.assert(&ch)),
        Err(WebauthnError::BadSignature)
    );
    let mut a = soft.assert(&ch);
    a.response.user_handle = Some(b64url(b"user-2"));
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &a),
        Err(WebauthnError::UserHandleMismatch)
    );
    let mut a = soft.assert(&ch);
    a.raw_id = b64url(b"x");
    a.id = b64url(b"x");
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &a),
        Err(WebauthnError::CredentialMismatch)
    );
    let mut a = soft.assert(&ch);
    a.response.signature = b64url(b"not DER");
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &a),
        Err(WebauthnError::BadSignature)
    );
    // A cross-origin iframe.
    let mut a = soft.assert(&ch);
    let client = serde_json::to_vec(&json!({"type": "webauthn.get", "challenge": b64url(&ch),
        "origin": ORIGIN, "crossOrigin": true}))
    .unwrap();
    a.response.client_data_json = b64url(&client);
    assert_eq!(
        verify_authentication(&rp, &ch, &stored(&cred, 0), &a),
        Err(WebauthnError::CrossOrigin)
    );
}

#[test]
fn authenticator_data_parsing() {
    let soft = Soft::new();
    let d = soft.auth_data(true);
    let ad = AuthenticatorData::parse(&d).unwrap();
    assert_eq!(ad.attested.unwrap().public_key, soft.public_cose());
    // Trailing bytes without the extension flag, truncation, nonsense: refused, no panic.
    let mut t = d.clone();
    t.push(0);
    assert!(AuthenticatorData::parse(&t).is_err());
    for n in 0..d.len() {
        assert!(AuthenticatorData::parse(&d[..n]).is_err(), "{n}");
    }
    // Extensions after the key are accepted with the ED flag.
    let mut e = d.clone();
    e[32] |= FLAG_ED;
    e.extend_from_slice(&[0xa1, 0x63, b'a', b'b', b'c', 0xf5]);
    assert!(AuthenticatorData::parse(&e).is_ok());
}

/// An assertion signed by a key of another algorithm (RS256, EdDSA), stored as COSE.
fn other_alg_assertion(cose: Vec<u8>, sign: impl Fn(&[u8]) -> Vec<u8>) -> Result<Assertion> {
    let soft = Soft::new();
    let ch = challenge();
    let client = soft.client_data("webauthn.get", &ch);
    let mut auth = Sha256::digest(b"idp.example.com").to_vec();
    auth.push(FLAG_UP | FLAG_UV);
    auth.extend_from_slice(&1u32.to_be_bytes());
    let mut msg = auth.clone();
    msg.extend_from_slice(&Sha256::digest(&client));
    let a = AuthenticationResponse {
        id: b64url(&soft.cred_id),
        raw_id: b64url(&soft.cred_id),
        kind: "public-key".into(),
        response: AssertionResponse {
            client_data_json: b64url(&client),
            authenticator_data: b64url(&auth),
            signature: b64url(&sign(&msg)),
            user_handle: None,
        },
    };
    let stored = StoredCredential {
        credential_id: &soft.cred_id,
        public_key: &cose,
        sign_count: 0,
        backup_eligible: false,
        user_handle: b"user-1",
    };
    verify_authentication(&rp(), &ch, &stored, &a)
}

#[test]
fn rs256_and_eddsa_keys() {
    // RS256, 2048 bits.
    let rsa = Rsa::generate(2048).unwrap();
    let mut cose = coset::CoseKeyBuilder::new()
        .param(-1, Value::Bytes(rsa.n().to_vec()))
        .param(-2, Value::Bytes(rsa.e().to_vec()))
        .algorithm(iana::Algorithm::RS256)
        .build();
    cose.kty = KeyType::Assigned(iana::KeyType::RSA);
    let pkey = PKey::from_rsa(rsa).unwrap();
    let sign = |m: &[u8]| {
        let mut s = Signer::new(MessageDigest::sha256(), &pkey).unwrap();
        s.sign_oneshot_to_vec(m).unwrap()
    };
    assert!(other_alg_assertion(cose.clone().to_vec().unwrap(), sign).is_ok());
    assert_eq!(
        other_alg_assertion(cose.to_vec().unwrap(), |m| {
            let mut s = sign(m);
            s[0] ^= 1;
            s
        }),
        Err(WebauthnError::BadSignature)
    );
    // A 1024-bit RSA key is refused.
    let small = Rsa::generate(1024).unwrap();
    let mut weak = coset::CoseKeyBuilder::new()
        .param(-1, Value::Bytes(small.n().to_vec()))
        .param(-2, Value::Bytes(small.e().to_vec()))
        .algorithm(iana::Algorithm::RS256)
        .build();
    weak.kty = KeyType::Assigned(iana::KeyType::RSA);
    assert_eq!(
        other_alg_assertion(weak.to_vec().unwrap(), |_| vec![0]),
        Err(WebauthnError::UnsupportedAlgorithm)
    );
    // EdDSA (Ed25519).
    let ed = PKey::generate_ed25519().unwrap();
    let cose = coset::CoseKeyBuilder::new_okp_key()
        .param(-1, Value::from(iana::EllipticCurve::Ed25519 as u64))
        .param(-2, Value::Bytes(ed.raw_public_key().unwrap()))
        .algorithm(iana::Algorithm::EdDSA)
        .build()
        .to_vec()
        .unwrap();
    let sign = |m: &[u8]| {
        let mut s = Signer::new_without_digest(&ed).unwrap();
        s.sign_oneshot_to_vec(m).unwrap()
    };
    assert!(other_alg_assertion(cose, sign).is_ok());
    // An ES256 key on another curve or an unknown algorithm: refused.
    let p384 = EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
    p384.public_key()
        .affine_coordinates(p384.group(), &mut x, &mut y, &mut ctx)
        .unwrap();
    let cose =
        coset::CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_384, x.to_vec(), y.to_vec())
            .algorithm(iana::Algorithm::ES256)
            .build()
            .to_vec()
            .unwrap();
    assert_eq!(
        other_alg_assertion(cose, |_| vec![0]),
        Err(WebauthnError::UnsupportedAlgorithm)
    );
}
