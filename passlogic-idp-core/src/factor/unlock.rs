//! Login protect: the signed unlock request of the reference authenticator, sans-IO.
//!
//! A paired authenticator holds an ECDSA P-256 private key; the server holds its public key
//! (SubjectPublicKeyInfo PEM) under a key ID, the hex SHA-256 of the public key's DER. To open
//! the sign-in window the authenticator sends an [`UnlockRequest`]: key ID, UNIX timestamp and
//! a random nonce, signed (ECDSA with SHA-256, DER signature, Base64) over
//! [`UnlockRequest::signed_bytes`]:
//!
//! ```text
//! passlogic-idp unlock v1\n<key_id>\n<timestamp>\n<nonce>\n
//! ```
//!
//! [`verify`] checks the shape, the timestamp against `now` (at most [`MAX_SKEW_SECS`] either
//! way) and the signature. Single use is the caller's job: it stores `(key_id, nonce)` in its
//! used-once table until [`UnlockRequest::replay_horizon`] and refuses a second use.
//!
//! Known gaps: one key per user; no key attestation (any P-256 key paired with a valid pairing
//! code is accepted); the app's own biometric gate before signing is the app's business.

use base64::Engine;
use openssl::ec::EcKey;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::sign::Verifier;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How far the request's timestamp may be from the server's clock, either way.
pub const MAX_SKEW_SECS: i64 = 120;

/// The signed-string prefix (domain separation and version).
const PREFIX: &str = "passlogic-idp unlock v1";

/// The unlock request as sent (JSON body of `POST /authenticator/unlock`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    /// Hex SHA-256 of the paired public key's DER ([`key_id`]).
    pub key_id: String,
    /// UNIX seconds when the request was made.
    pub timestamp: i64,
    /// 16 to 64 characters of `[A-Za-z0-9_-]`, random per request.
    pub nonce: String,
    /// Base64 (standard) of the DER ECDSA signature over [`UnlockRequest::signed_bytes`].
    pub signature: String,
}

/// Why an unlock request or public key was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnlockError {
    /// A field has the wrong shape.
    #[error("malformed unlock request: {0}")]
    Malformed(&'static str),
    /// The timestamp is too far from the server's clock.
    #[error("the unlock request is too old or from the future")]
    Stale,
    /// The signature does not verify under the paired key.
    #[error("the unlock request's signature does not verify")]
    BadSignature,
    /// Not a P-256 public key in PEM.
    #[error("not an ECDSA P-256 public key: {0}")]
    BadKey(&'static str),
}

impl UnlockRequest {
    /// The bytes the authenticator signs.
    pub fn signed_bytes(key_id: &str, timestamp: i64, nonce: &str) -> Vec<u8> {
        format!("{PREFIX}\n{key_id}\n{timestamp}\n{nonce}\n").into_bytes()
    }

    /// Until when the nonce must be remembered: no later request with it can be fresh.
    pub fn replay_horizon(&self) -> i64 {
        self.timestamp.saturating_add(MAX_SKEW_SECS + 1)
    }

    /// Checks the field shapes (no key needed).
    pub fn check_shape(&self) -> Result<(), UnlockError> {
        if self.key_id.len() != 64 || !self.key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(UnlockError::Malformed("key_id must be 64 hex digits"));
        }
        let nonce_ok = (16..=64).contains(&self.nonce.len())
            && self
                .nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !nonce_ok {
            return Err(UnlockError::Malformed("nonce must be 16-64 of A-Za-z0-9_-"));
        }
        if self.signature.is_empty() || self.signature.len() > 200 {
            return Err(UnlockError::Malformed("signature"));
        }
        Ok(())
    }
}

/// Parses and checks a paired public key: PEM SubjectPublicKeyInfo of a P-256 key.
pub fn parse_public_key(pem: &str) -> Result<PKey<Public>, UnlockError> {
    if pem.len() > 4096 {
        return Err(UnlockError::BadKey("too long"));
    }
    let key = PKey::public_key_from_pem(pem.as_bytes()).map_err(|_| UnlockError::BadKey("PEM"))?;
    let ec: EcKey<Public> = key.ec_key().map_err(|_| UnlockError::BadKey("not EC"))?;
    if ec.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
        return Err(UnlockError::BadKey("not P-256"));
    }
    ec.check_key()
        .map_err(|_| UnlockError::BadKey("invalid point"))?;
    Ok(key)
}

/// The key ID of a public key: hex SHA-256 of its DER SubjectPublicKeyInfo.
pub fn key_id(key: &PKey<Public>) -> Result<String, UnlockError> {
    let der = key
        .public_key_to_der()
        .map_err(|_| UnlockError::BadKey("DER"))?;
    Ok(hex_lower(&Sha256::digest(der)))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Verifies an unlock request against the paired public key (PEM) at `now` (UNIX seconds).
/// The caller has looked the key up by `req.key_id`; this checks it matches, too.
pub fn verify(req: &UnlockRequest, public_key_pem: &str, now: i64) -> Result<(), UnlockError> {
    req.check_shape()?;
    if (now - req.timestamp).abs() > MAX_SKEW_SECS {
        return Err(UnlockError::Stale);
    }
    let key = parse_public_key(public_key_pem)?;
    if key_id(&key)? != req.key_id.to_ascii_lowercase() {
        return Err(UnlockError::BadSignature);
    }
    let sig = base64::engine::general_purpose::STANDARD
        .decode(&req.signature)
        .map_err(|_| UnlockError::Malformed("signature is not Base64"))?;
    let mut v =
        Verifier::new(MessageDigest::sha256(), &key).map_err(|_| UnlockError::BadSignature)?;
    let msg = UnlockRequest::signed_bytes(&req.key_id, req.timestamp, &req.nonce);
    match v.verify_oneshot(&sig, &msg) {
        Ok(true) => Ok(()),
        _ => Err(UnlockError::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::EcGroup;
    use openssl::pkey::Private;
    use openssl::sign::Signer;

    fn keypair() -> (PKey<Private>, String) {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let pem = String::from_utf8(key.public_key_to_pem().unwrap()).unwrap();
        (key, pem)
    }

    fn request(key: &PKey<Private>, pem: &str, ts: i64, nonce: &str) -> UnlockRequest {
        let kid = key_id(&parse_public_key(pem).unwrap()).unwrap();
        let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
        let sig = s
            .sign_oneshot_to_vec(&UnlockRequest::signed_bytes(&kid, ts, nonce))
            .unwrap();
        UnlockRequest {
            key_id: kid,
            timestamp: ts,
            nonce: nonce.into(),
            signature: base64::engine::general_purpose::STANDARD.encode(sig),
        }
    }

    #[test]
    fn valid_request_verifies() {
        let (k, pem) = keypair();
        let r = request(&k, &pem, 1000, "abcdefghijklmnop");
        assert_eq!(verify(&r, &pem, 1000), Ok(()));
        assert_eq!(verify(&r, &pem, 1000 + MAX_SKEW_SECS), Ok(()));
        assert_eq!(r.replay_horizon(), 1000 + MAX_SKEW_SECS + 1);
    }

    #[test]
    fn stale_and_future_refused() {
        let (k, pem) = keypair();
        let r = request(&k, &pem, 1000, "abcdefghijklmnop");
        assert_eq!(
            verify(&r, &pem, 1000 + MAX_SKEW_SECS + 1),
            Err(UnlockError::Stale)
        );
        assert_eq!(
            verify(&r, &pem, 1000 - MAX_SKEW_SECS - 1),
            Err(UnlockError::Stale)
        );
    }

    #[test]
    fn other_key_or_changed_field_refused() {
        let (k, pem) = keypair();
        let (k2, pem2) = keypair();
        let r = request(&k2, &pem2, 1000, "abcdefghijklmnop");
        // Signed by another key, claiming this key's ID.
        let mut forged = r.clone();
        forged.key_id = key_id(&parse_public_key(&pem).unwrap()).unwrap();
        assert_eq!(verify(&forged, &pem, 1000), Err(UnlockError::BadSignature));
        // Checked against a key other than the one it names.
        assert_eq!(verify(&r, &pem, 1000), Err(UnlockError::BadSignature));
        // A changed nonce or timestamp breaks the signature.
        let good = request(&k, &pem, 1000, "abcdefghijklmnop");
        let mut n = good.clone();
        n.nonce = "abcdefghijklmnoq".into();
        assert_eq!(verify(&n, &pem, 1000), Err(UnlockError::BadSignature));
        let mut t = good;
        t.timestamp = 1001;
        assert_eq!(verify(&t, &pem, 1000), Err(UnlockError::BadSignature));
    }

    #[test]
    fn shapes_and_keys_checked() {
        let (k, pem) = keypair();
        let mut r = request(&k, &pem, 1000, "abcdefghijklmnop");
        r.nonce = "short".into();
        assert!(matches!(
            verify(&r, &pem, 1000),
            Err(UnlockError::Malformed(_))
        ));
        let mut r = request(&k, &pem, 1000, "abcdefghijklmnop");
        r.signature = "!!!".into();
        assert!(matches!(
            verify(&r, &pem, 1000),
            Err(UnlockError::Malformed(_))
        ));
        assert!(matches!(
            parse_public_key("not a key"),
            Err(UnlockError::BadKey(_))
        ));
        let group = EcGroup::from_curve_name(Nid::SECP384R1).unwrap();
        let p384 = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let p384 = String::from_utf8(p384.public_key_to_pem().unwrap()).unwrap();
        assert_eq!(
            parse_public_key(&p384).err(),
            Some(UnlockError::BadKey("not P-256"))
        );
    }
}
