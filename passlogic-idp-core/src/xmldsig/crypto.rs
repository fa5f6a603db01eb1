//! Algorithm URIs, the allow-list, and the OpenSSL calls.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::sign::{Signer, Verifier};

use super::{VerifyPolicy, XmlDsigError};

pub(crate) const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub(crate) const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub(crate) const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
pub(crate) const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
pub(crate) const ECDSA_SHA1: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1";
pub(crate) const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub(crate) const ECDSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
pub(crate) const ECDSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";

pub(crate) const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub(crate) const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub(crate) const SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
pub(crate) const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

/// Hash functions in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn md(self) -> MessageDigest {
        match self {
            Hash::Sha1 => MessageDigest::sha1(),
            Hash::Sha256 => MessageDigest::sha256(),
            Hash::Sha384 => MessageDigest::sha384(),
            Hash::Sha512 => MessageDigest::sha512(),
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Result<Vec<u8>, XmlDsigError> {
        openssl::hash::hash(self.md(), data)
            .map(|d| d.to_vec())
            .map_err(|e| XmlDsigError::Crypto(e.to_string()))
    }
}

/// Public-key families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    Ecdsa,
}

/// Look a SignatureMethod / SigAlg URI up in the allow-list.
pub(crate) fn signature_method(
    uri: &str,
    policy: &VerifyPolicy,
) -> Result<(KeyKind, Hash), XmlDsigError> {
    let found = match uri {
        RSA_SHA256 => (KeyKind::Rsa, Hash::Sha256),
        RSA_SHA384 => (KeyKind::Rsa, Hash::Sha384),
        RSA_SHA512 => (KeyKind::Rsa, Hash::Sha512),
        ECDSA_SHA256 => (KeyKind::Ecdsa, Hash::Sha256),
        ECDSA_SHA384 => (KeyKind::Ecdsa, Hash::Sha384),
        ECDSA_SHA512 => (KeyKind::Ecdsa, Hash::Sha512),
        RSA_SHA1 if policy.allow_sha1 => (KeyKind::Rsa, Hash::Sha1),
        ECDSA_SHA1 if policy.allow_sha1 => (KeyKind::Ecdsa, Hash::Sha1),
        _ => return Err(XmlDsigError::AlgorithmNotAllowed(uri.to_owned())),
    };
    Ok(found)
}

/// Look a DigestMethod URI up in the allow-list.
pub(crate) fn digest_method(uri: &str, policy: &VerifyPolicy) -> Result<Hash, XmlDsigError> {
    match uri {
        SHA256 => Ok(Hash::Sha256),
        SHA384 => Ok(Hash::Sha384),
        SHA512 => Ok(Hash::Sha512),
        SHA1 if policy.allow_sha1 => Ok(Hash::Sha1),
        _ => Err(XmlDsigError::AlgorithmNotAllowed(uri.to_owned())),
    }
}

fn crypto_err(e: openssl::error::ErrorStack) -> XmlDsigError {
    XmlDsigError::Crypto(e.to_string())
}

/// Sign `data`; ECDSA (P-256 keys only) values come back as raw `r || s` (XMLDSig form).
pub(crate) fn sign(
    key: &PKey<Private>,
    kind: KeyKind,
    hash: Hash,
    data: &[u8],
) -> Result<Vec<u8>, XmlDsigError> {
    match kind {
        KeyKind::Rsa => {
            if key.id() != Id::RSA {
                return Err(XmlDsigError::KeyMismatch);
            }
            let mut signer = Signer::new(hash.md(), key).map_err(crypto_err)?;
            signer.update(data).map_err(crypto_err)?;
            signer.sign_to_vec().map_err(crypto_err)
        }
        KeyKind::Ecdsa => {
            if key.id() != Id::EC {
                return Err(XmlDsigError::KeyMismatch);
            }
            let ec = key.ec_key().map_err(crypto_err)?;
            if ec.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
                return Err(XmlDsigError::KeyMismatch);
            }
            let n = field_len(key).ok_or(XmlDsigError::KeyMismatch)?;
            let mut signer = Signer::new(hash.md(), key).map_err(crypto_err)?;
            signer.update(data).map_err(crypto_err)?;
            let der = signer.sign_to_vec().map_err(crypto_err)?;
            let sig = EcdsaSig::from_der(&der).map_err(crypto_err)?;
            let width = i32::try_from(n).map_err(|_| XmlDsigError::KeyMismatch)?;
            let mut raw = sig.r().to_vec_padded(width).map_err(crypto_err)?;
            raw.extend(sig.s().to_vec_padded(width).map_err(crypto_err)?);
            Ok(raw)
        }
    }
}

/// Byte length of the field of an EC key.
fn field_len<T: HasPublic>(key: &PKeyRef<T>) -> Option<usize> {
    let ec = key.ec_key().ok()?;
    let bits = usize::try_from(ec.group().degree()).ok()?;
    Some(bits.div_ceil(8))
}

/// The index of the first trusted key under which `sig` is a valid signature of `data`.
/// OpenSSL errors count as "does not verify" for that key, never as success.
pub(crate) fn verify_any(
    trusted: &[PKey<Public>],
    kind: KeyKind,
    hash: Hash,
    data: &[u8],
    sig: &[u8],
) -> Option<usize> {
    trusted
        .iter()
        .position(|key| verify_one(key, kind, hash, data, sig) == Some(true))
}

fn verify_one(
    key: &PKey<Public>,
    kind: KeyKind,
    hash: Hash,
    data: &[u8],
    sig: &[u8],
) -> Option<bool> {
    let der;
    let sig = match kind {
        KeyKind::Rsa => {
            if key.id() != Id::RSA {
                return None;
            }
            sig
        }
        KeyKind::Ecdsa => {
            if key.id() != Id::EC {
                return None;
            }
            let n = field_len(key)?;
            if n == 0 || sig.len() != 2 * n {
                return None;
            }
            let (r, s) = sig.split_at(n);
            let r = BigNum::from_slice(r).ok()?;
            let s = BigNum::from_slice(s).ok()?;
            der = EcdsaSig::from_private_components(r, s)
                .ok()?
                .to_der()
                .ok()?;
            &der
        }
    };
    let mut verifier = Verifier::new(hash.md(), key).ok()?;
    verifier.update(data).ok()?;
    verifier.verify(sig).ok()
}
