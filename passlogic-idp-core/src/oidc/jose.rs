//! JSON Web Signature (compact serialisation, [RFC 7515]) and JSON Web Keys ([RFC 7517]),
//! restricted to what the provider needs: RS256, ES256 and EdDSA (Ed25519).
//!
//! # Why our own JWS
//!
//! The core needs a sans-IO, OpenSSL-backed JWS with an explicit algorithm allow-list at every
//! call site. `jsonwebtoken` brings `ring` as a second crypto backend (DESIGN.md asks for one:
//! OpenSSL) and supports HS* algorithms keyed from caller-supplied bytes, which invites the
//! classic key-confusion bug (an HS256 token "signed" with an RSA public key's bytes, [RFC 8725]
//! section 2.1). The subset we need is small enough to audit in one file:
//!
//! - `alg: none` and every `HS*` algorithm are refused before anything else
//!   ([`JoseError::AlgorithmRefused`]); there is no HMAC code path at all.
//! - Each [`verify_jws`] call names its allowed algorithms; anything else fails.
//! - Keys come only from the caller (configuration or a fetched JWKS), never from the token's
//!   `jwk`, `jku`, `x5u` or `x5c` headers, which are ignored.
//! - The algorithm must fit the key's type (RSA ≥ 2048 bits for RS256, P-256 for ES256, Ed25519
//!   for EdDSA), and a key's own `alg`, when set, must equal the header's.
//! - Any `crit` header is refused: we implement no extension ([RFC 7515] section 4.1.11).
//! - ES256 signatures are the raw 64-byte `r || s` of [RFC 7518] section 3.4, converted to and
//!   from OpenSSL's DER form here.
//!
//! OpenSSL draws its own randomness for ECDSA nonces and RSA blinding; that is the one
//! exception to "no randomness not handed in", and it cannot be moved out of the backend.
//!
//! ```
//! use passlogic_idp_core::oidc::jose::{self, Algorithm, SigningKey};
//! use openssl::{ec::{EcGroup, EcKey}, nid::Nid, pkey::PKey};
//! let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
//! let pkey = PKey::from_ec_key(EcKey::generate(&group)?)?;
//! let key = SigningKey::from_pkey("k1", Algorithm::Es256, pkey)?;
//! let token = jose::sign_claims(&serde_json::json!({"sub": "alice"}), &key)?;
//! let verified = jose::verify_jws(&token, &[key.verifying_key()], &[Algorithm::Es256])?;
//! assert_eq!(verified.claims_json()?["sub"], "alice");
//! // The same token is refused where only RS256 is allowed.
//! assert!(jose::verify_jws(&token, &[key.verifying_key()], &[Algorithm::Rs256]).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 7515]: https://www.rfc-editor.org/rfc/rfc7515
//! [RFC 7517]: https://www.rfc-editor.org/rfc/rfc7517
//! [RFC 7518]: https://www.rfc-editor.org/rfc/rfc7518
//! [RFC 8725]: https://www.rfc-editor.org/rfc/rfc8725

use core::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use super::error::JoseError;

/// Largest compact JWS accepted for verification, in bytes (64 KiB). Entra's hints and client
/// assertions are a few KiB.
pub const MAX_JWS_LEN: usize = 64 * 1024;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// A JWS algorithm this implementation supports. HMAC and `none` are deliberately absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// EdDSA with Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Algorithm {
    /// The JOSE name: `RS256`, `ES256` or `EdDSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Classifies a JOSE `alg` name: `Ok` for supported ones, [`JoseError::AlgorithmRefused`]
    /// for `none` and `HS*` (any case), [`JoseError::UnsupportedAlgorithm`] otherwise.
    pub fn from_name(name: &str) -> Result<Self, JoseError> {
        match name {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            n if n.eq_ignore_ascii_case("none") || n.to_ascii_uppercase().starts_with("HS") => {
                Err(JoseError::AlgorithmRefused(truncate(n)))
            }
            n => Err(JoseError::UnsupportedAlgorithm(truncate(n))),
        }
    }

    /// Checks that `key` is of the type this algorithm needs.
    fn check_key<T: HasPublic>(self, key: &PKeyRef<T>) -> Result<(), JoseError> {
        let ok = match self {
            Self::Rs256 => key.id() == Id::RSA && key.bits() >= MIN_RSA_BITS,
            Self::Es256 => {
                key.id() == Id::EC
                    && key
                        .ec_key()
                        .ok()
                        .and_then(|ec| ec.group().curve_name())
                        .is_some_and(|n| n == Nid::X9_62_PRIME256V1)
            }
            Self::EdDsa => key.id() == Id::ED25519,
        };
        if ok {
            Ok(())
        } else {
            Err(JoseError::KeyMismatch)
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

/// A private signing key with its `kid`, algorithm and optional certificate chain (published
/// as `x5c`, which Entra EAM requires). `Debug` hides the key; there is no `PartialEq`.
///
/// Its serde form (`kid`, `alg`, PKCS#8 PEM, certificate PEMs) contains the private key:
/// seal it ([`crate::seal`]) before storing.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pkey: PKey<Private>,
    certificates: Vec<X509>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key", &"[redacted]")
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

impl SigningKey {
    /// Wraps an OpenSSL private key; fails with [`JoseError::KeyMismatch`] if its type does not
    /// fit `alg`.
    pub fn from_pkey(
        kid: impl Into<String>,
        alg: Algorithm,
        pkey: PKey<Private>,
    ) -> Result<Self, JoseError> {
        alg.check_key(&pkey)?;
        Ok(Self {
            kid: kid.into(),
            alg,
            pkey,
            certificates: Vec::new(),
        })
    }

    /// Loads a PEM private key (PKCS#8 or traditional).
    pub fn from_pem(kid: impl Into<String>, alg: Algorithm, pem: &[u8]) -> Result<Self, JoseError> {
        let pkey = PKey::private_key_from_pem(pem).map_err(|_| JoseError::Crypto)?;
        Self::from_pkey(kid, alg, pkey)
    }

    /// Attaches a certificate chain (leaf first). The leaf must certify this key.
    pub fn with_certificates(mut self, chain: Vec<X509>) -> Result<Self, JoseError> {
        if let Some(leaf) = chain.first() {
            let cert_key = leaf.public_key().map_err(|_| JoseError::Crypto)?;
            if !cert_key.public_eq(&self.pkey) {
                return Err(JoseError::CertificateMismatch);
            }
        }
        self.certificates = chain;
        Ok(self)
    }

    /// Attaches a certificate chain from concatenated PEM certificates (leaf first).
    pub fn with_certificate_pem(self, pem: &[u8]) -> Result<Self, JoseError> {
        let chain = X509::stack_from_pem(pem).map_err(|_| JoseError::Crypto)?;
        self.with_certificates(chain)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Whether a certificate chain is attached.
    pub fn has_certificate(&self) -> bool {
        !self.certificates.is_empty()
    }

    /// The private key as PKCS#8 PEM (for sealing and storing).
    pub fn private_key_pem(&self) -> Result<Vec<u8>, JoseError> {
        self.pkey
            .private_key_to_pem_pkcs8()
            .map_err(|_| JoseError::Crypto)
    }

    /// The matching public key, for verifying our own tokens.
    pub fn verifying_key(&self) -> VerifyingKey {
        // Re-encoding a key we hold cannot fail for the supported types; fall back to a key
        // that will never verify rather than panic.
        let pkey = self
            .pkey
            .public_key_to_der()
            .ok()
            .and_then(|der| PKey::public_key_from_der(&der).ok());
        VerifyingKey {
            kid: Some(self.kid.clone()),
            alg: Some(self.alg),
            pkey,
        }
    }

    /// The public JWK: `kty`, key parameters, `kid`, `use: sig`, `alg`, and `x5c` when a
    /// certificate chain is attached.
    pub fn public_jwk(&self) -> Result<Jwk, JoseError> {
        let mut jwk = Jwk {
            kty: String::new(),
            use_: Some("sig".to_owned()),
            alg: Some(self.alg.as_str().to_owned()),
            kid: Some(self.kid.clone()),
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
            x5c: None,
        };
        match self.alg {
            Algorithm::Rs256 => {
                let rsa = self.pkey.rsa().map_err(|_| JoseError::Crypto)?;
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(URL_SAFE_NO_PAD.encode(rsa.n().to_vec()));
                jwk.e = Some(URL_SAFE_NO_PAD.encode(rsa.e().to_vec()));
            }
            Algorithm::Es256 => {
                let ec = self.pkey.ec_key().map_err(|_| JoseError::Crypto)?;
                let mut ctx = BigNumContext::new().map_err(|_| JoseError::Crypto)?;
                let mut x = BigNum::new().map_err(|_| JoseError::Crypto)?;
                let mut y = BigNum::new().map_err(|_| JoseError::Crypto)?;
                ec.public_key()
                    .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                    .map_err(|_| JoseError::Crypto)?;
                jwk.kty = "EC".to_owned();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(URL_SAFE_NO_PAD.encode(pad32(&x)?));
                jwk.y = Some(URL_SAFE_NO_PAD.encode(pad32(&y)?));
            }
            Algorithm::EdDsa => {
                let raw = self.pkey.raw_public_key().map_err(|_| JoseError::Crypto)?;
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(URL_SAFE_NO_PAD.encode(raw));
            }
        }
        if !self.certificates.is_empty() {
            let mut x5c = Vec::with_capacity(self.certificates.len());
            for cert in &self.certificates {
                x5c.push(STANDARD.encode(cert.to_der().map_err(|_| JoseError::Crypto)?));
            }
            jwk.x5c = Some(x5c);
        }
        Ok(jwk)
    }
}

fn pad32(n: &BigNum) -> Result<Vec<u8>, JoseError> {
    n.to_vec_padded(32).map_err(|_| JoseError::Crypto)
}

#[derive(Serialize, Deserialize)]
struct SigningKeyRepr {
    kid: String,
    alg: Algorithm,
    private_key_pem: String,
    #[serde(default)]
    certificate_chain_pem: Vec<String>,
}

impl Serialize for SigningKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let pem = self.private_key_pem().map_err(S::Error::custom)?;
        let mut chain = Vec::with_capacity(self.certificates.len());
        for cert in &self.certificates {
            let pem = cert.to_pem().map_err(S::Error::custom)?;
            chain.push(String::from_utf8(pem).map_err(S::Error::custom)?);
        }
        SigningKeyRepr {
            kid: self.kid.clone(),
            alg: self.alg,
            private_key_pem: String::from_utf8(pem).map_err(S::Error::custom)?,
            certificate_chain_pem: chain,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SigningKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let repr = SigningKeyRepr::deserialize(deserializer)?;
        let key = SigningKey::from_pem(repr.kid, repr.alg, repr.private_key_pem.as_bytes())
            .map_err(D::Error::custom)?;
        let mut chain = Vec::with_capacity(repr.certificate_chain_pem.len());
        for pem in &repr.certificate_chain_pem {
            chain.push(X509::from_pem(pem.as_bytes()).map_err(D::Error::custom)?);
        }
        key.with_certificates(chain).map_err(D::Error::custom)
    }
}

/// A public key for verification, with the `kid` and `alg` it was published under (either
/// may be absent).
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    /// `None` only for a key that could not be re-encoded; it never verifies anything.
    pkey: Option<PKey<Public>>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("type", &self.pkey.as_ref().map(|k| k.id()))
            .finish()
    }
}

impl VerifyingKey {
    /// Wraps an OpenSSL public key.
    pub fn from_pkey(kid: Option<String>, alg: Option<Algorithm>, pkey: PKey<Public>) -> Self {
        Self {
            kid,
            alg,
            pkey: Some(pkey),
        }
    }

    /// Loads a PEM `SubjectPublicKeyInfo` public key.
    pub fn from_public_pem(
        kid: Option<String>,
        alg: Option<Algorithm>,
        pem: &[u8],
    ) -> Result<Self, JoseError> {
        let pkey = PKey::public_key_from_pem(pem).map_err(|_| JoseError::Crypto)?;
        Ok(Self::from_pkey(kid, alg, pkey))
    }

    /// The key id, if published with one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the key is restricted to, if published with one.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }
}

/// The protected header of a verified JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    /// The algorithm (already checked against the allow-list and the key).
    pub alg: Algorithm,
    /// The key id, if present.
    pub kid: Option<String>,
    /// The media type, if present (e.g. `JWT`).
    pub typ: Option<String>,
}

/// A JWS whose signature verified.
#[derive(Debug, Clone)]
pub struct VerifiedJws {
    header: JwsHeader,
    payload: Vec<u8>,
}

impl VerifiedJws {
    /// The protected header.
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The verified payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload as a JSON object (JWT claims).
    pub fn claims_json(&self) -> Result<serde_json::Map<String, serde_json::Value>, JoseError> {
        serde_json::from_slice(&self.payload).map_err(|e| JoseError::InvalidClaims(e.to_string()))
    }

    /// The payload deserialised as `T`.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, JoseError> {
        serde_json::from_slice(&self.payload).map_err(|e| JoseError::InvalidClaims(e.to_string()))
    }
}

/// Signs `payload` as a compact JWS with header `{"alg", "kid", "typ"}` (`typ` omitted when
/// `None`).
pub fn sign_jws(payload: &[u8], key: &SigningKey, typ: Option<&str>) -> Result<String, JoseError> {
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), key.alg.as_str().into());
    header.insert("kid".into(), key.kid.clone().into());
    if let Some(typ) = typ {
        header.insert("typ".into(), typ.into());
    }
    let header = serde_json::to_vec(&header).map_err(|_| JoseError::Crypto)?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = sign_raw(key.alg, &key.pkey, signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Serialises `claims` to JSON and signs them as a JWT (`typ: JWT`).
pub fn sign_claims<T: Serialize + ?Sized>(
    claims: &T,
    key: &SigningKey,
) -> Result<String, JoseError> {
    let payload =
        serde_json::to_vec(claims).map_err(|e| JoseError::InvalidClaims(e.to_string()))?;
    sign_jws(&payload, key, Some("JWT"))
}

/// Produces the JWS signature bytes over `data` (for ES256: raw `r || s`, 64 bytes).
pub(crate) fn sign_raw(
    alg: Algorithm,
    pkey: &PKeyRef<Private>,
    data: &[u8],
) -> Result<Vec<u8>, JoseError> {
    alg.check_key(pkey)?;
    let err = |_| JoseError::Crypto;
    match alg {
        Algorithm::Rs256 => {
            let mut signer = Signer::new(MessageDigest::sha256(), pkey).map_err(err)?;
            signer.set_rsa_padding(Padding::PKCS1).map_err(err)?;
            signer.update(data).map_err(err)?;
            signer.sign_to_vec().map_err(err)
        }
        Algorithm::Es256 => {
            let mut signer = Signer::new(MessageDigest::sha256(), pkey).map_err(err)?;
            signer.update(data).map_err(err)?;
            let der = signer.sign_to_vec().map_err(err)?;
            let sig = EcdsaSig::from_der(&der).map_err(err)?;
            let mut raw = pad32(&sig.r().to_owned().map_err(err)?)?;
            raw.extend(pad32(&sig.s().to_owned().map_err(err)?)?);
            Ok(raw)
        }
        Algorithm::EdDsa => {
            let mut signer = Signer::new_without_digest(pkey).map_err(err)?;
            signer.sign_oneshot_to_vec(data).map_err(err)
        }
    }
}

/// Verifies JWS signature bytes; any backend error counts as a bad signature.
fn verify_raw(alg: Algorithm, pkey: &PKeyRef<Public>, data: &[u8], sig: &[u8]) -> bool {
    let result = (|| -> Result<bool, openssl::error::ErrorStack> {
        match alg {
            Algorithm::Rs256 => {
                if sig.len() != pkey.size() {
                    return Ok(false);
                }
                let mut v = Verifier::new(MessageDigest::sha256(), pkey)?;
                v.set_rsa_padding(Padding::PKCS1)?;
                v.update(data)?;
                v.verify(sig)
            }
            Algorithm::Es256 => {
                if sig.len() != 64 {
                    return Ok(false);
                }
                let r = BigNum::from_slice(&sig[..32])?;
                let s = BigNum::from_slice(&sig[32..])?;
                let der = EcdsaSig::from_private_components(r, s)?.to_der()?;
                let mut v = Verifier::new(MessageDigest::sha256(), pkey)?;
                v.update(data)?;
                v.verify(&der)
            }
            Algorithm::EdDsa => {
                if sig.len() != 64 {
                    return Ok(false);
                }
                let mut v = Verifier::new_without_digest(pkey)?;
                v.verify_oneshot(sig, data)
            }
        }
    })();
    result.unwrap_or(false)
}

struct Parts<'a> {
    header: serde_json::Map<String, serde_json::Value>,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, JoseError> {
    if token.len() > MAX_JWS_LEN {
        return Err(JoseError::TooLarge);
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(JoseError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| JoseError::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header_bytes).map_err(|_| JoseError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| JoseError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JoseError::Malformed)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    Ok(Parts {
        header,
        signing_input,
        payload,
        signature,
    })
}

/// Verifies a compact JWS against `keys`, accepting only algorithms in `allowed`.
///
/// Order of checks: size and shape; `alg` (refused: `none`, `HS*`; unknown; not allowed);
/// `crit` (refused); key selection by `kid` (a token with a `kid` matches keys with that `kid`
/// and keys published without one; a token without one tries every key); key type against `alg`; signature. Claims such as
/// `exp` are the caller's business.
pub fn verify_jws(
    token: &str,
    keys: &[VerifyingKey],
    allowed: &[Algorithm],
) -> Result<VerifiedJws, JoseError> {
    let parts = split(token)?;
    let alg_name = parts
        .header
        .get("alg")
        .and_then(|v| v.as_str())
        .ok_or(JoseError::Malformed)?;
    let alg = Algorithm::from_name(alg_name)?;
    if !allowed.contains(&alg) {
        return Err(JoseError::AlgorithmNotAllowed(alg.as_str().to_owned()));
    }
    if parts.header.contains_key("crit") {
        return Err(JoseError::UnsupportedCritical);
    }
    let kid = match parts.header.get("kid") {
        None => None,
        Some(serde_json::Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(JoseError::Malformed),
    };
    let typ = match parts.header.get("typ") {
        None => None,
        Some(serde_json::Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(JoseError::Malformed),
    };
    let by_kid: Vec<&VerifyingKey> = keys
        .iter()
        .filter(|k| match &kid {
            // A published key without a `kid` stays a candidate for any token.
            Some(want) => k.kid.as_deref().is_none_or(|have| have == want),
            None => true,
        })
        .collect();
    if by_kid.is_empty() {
        return Err(JoseError::UnknownKey);
    }
    let usable: Vec<&PKey<Public>> = by_kid
        .iter()
        .filter(|k| k.alg.is_none_or(|a| a == alg))
        .filter_map(|k| k.pkey.as_ref())
        .filter(|pkey| alg.check_key(pkey).is_ok())
        .collect();
    if usable.is_empty() {
        return Err(JoseError::KeyMismatch);
    }
    let ok = usable
        .iter()
        .any(|pkey| verify_raw(alg, pkey, parts.signing_input.as_bytes(), &parts.signature));
    if !ok {
        return Err(JoseError::BadSignature);
    }
    Ok(VerifiedJws {
        header: JwsHeader { alg, kid, typ },
        payload: parts.payload,
    })
}

/// Decodes a JWT's claims WITHOUT verifying anything, e.g. to read a client assertion's `iss`
/// and find the client whose keys will then verify it. Never trust the result otherwise.
pub fn peek_unverified_claims(
    token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, JoseError> {
    let parts = split(token)?;
    serde_json::from_slice(&parts.payload).map_err(|e| JoseError::InvalidClaims(e.to_string()))
}

/// A JSON Web Key (public parameters only; private members in input are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `OKP` (others are refused on import).
    pub kty: String,
    /// Intended use; only `sig` (or absent) is accepted on import.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The algorithm the key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Curve: `P-256` or `Ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate or the Ed25519 public key (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Certificate chain, standard base64 DER, leaf first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
}

fn b64url_field(v: &Option<String>, what: &'static str) -> Result<Vec<u8>, JoseError> {
    let v = v.as_deref().ok_or(JoseError::UnusableKey(what))?;
    URL_SAFE_NO_PAD
        .decode(v)
        .map_err(|_| JoseError::UnusableKey(what))
}

impl Jwk {
    /// Turns the JWK into a verification key. Refuses symmetric (`oct`) keys, `use` other than
    /// `sig`, `alg` values that are refused or unsupported, RSA under 2048 bits, curves other
    /// than P-256 and Ed25519, and an `x5c` leaf whose key differs from the parameters.
    pub fn to_verifying_key(&self) -> Result<VerifyingKey, JoseError> {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(JoseError::UnusableKey("use is not sig"));
        }
        let alg = match &self.alg {
            Some(name) => Some(Algorithm::from_name(name)?),
            None => None,
        };
        let crypto = |_| JoseError::UnusableKey("invalid key parameters");
        let pkey: PKey<Public> = match self.kty.as_str() {
            "RSA" => {
                let n = BigNum::from_slice(&b64url_field(&self.n, "missing or bad n")?)
                    .map_err(crypto)?;
                let e = BigNum::from_slice(&b64url_field(&self.e, "missing or bad e")?)
                    .map_err(crypto)?;
                let rsa = Rsa::from_public_components(n, e).map_err(crypto)?;
                PKey::from_rsa(rsa).map_err(crypto)?
            }
            "EC" => {
                if self.crv.as_deref() != Some("P-256") {
                    return Err(JoseError::UnusableKey("unsupported curve"));
                }
                let x = b64url_field(&self.x, "missing or bad x")?;
                let y = b64url_field(&self.y, "missing or bad y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::UnusableKey("bad coordinate length"));
                }
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(crypto)?;
                let x = BigNum::from_slice(&x).map_err(crypto)?;
                let y = BigNum::from_slice(&y).map_err(crypto)?;
                let ec =
                    EcKey::from_public_key_affine_coordinates(&group, &x, &y).map_err(crypto)?;
                ec.check_key().map_err(crypto)?;
                PKey::from_ec_key(ec).map_err(crypto)?
            }
            "OKP" => {
                if self.crv.as_deref() != Some("Ed25519") {
                    return Err(JoseError::UnusableKey("unsupported curve"));
                }
                let x = b64url_field(&self.x, "missing or bad x")?;
                if x.len() != 32 {
                    return Err(JoseError::UnusableKey("bad key length"));
                }
                PKey::public_key_from_raw_bytes(&x, Id::ED25519).map_err(crypto)?
            }
            "oct" => return Err(JoseError::UnusableKey("symmetric keys are never accepted")),
            _ => return Err(JoseError::UnusableKey("unsupported kty")),
        };
        if let Some(alg) = alg {
            alg.check_key(&pkey)?;
        } else if pkey.id() == Id::RSA && pkey.bits() < MIN_RSA_BITS {
            return Err(JoseError::KeyMismatch);
        }
        if let Some(leaf) = self.x5c.as_ref().and_then(|c| c.first()) {
            let der = STANDARD
                .decode(leaf)
                .map_err(|_| JoseError::UnusableKey("bad x5c"))?;
            let cert = X509::from_der(&der).map_err(|_| JoseError::UnusableKey("bad x5c"))?;
            let cert_key = cert
                .public_key()
                .map_err(|_| JoseError::UnusableKey("bad x5c"))?;
            if !cert_key.public_eq(&pkey) {
                return Err(JoseError::CertificateMismatch);
            }
        }
        Ok(VerifyingKey {
            kid: self.kid.clone(),
            alg,
            pkey: Some(pkey),
        })
    }
}

/// A JWK Set document (`{"keys": [...]}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS JSON document (e.g. Entra's `discovery/v2.0/keys` or a client's JWKS).
    pub fn from_json(json: &str) -> Result<Self, JoseError> {
        serde_json::from_str(json).map_err(|e| JoseError::InvalidClaims(e.to_string()))
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and vectors cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| "{\"keys\":[]}".to_owned())
    }

    /// The keys usable for signature verification. Keys that cannot be used (encryption keys,
    /// symmetric keys, unsupported types, broken parameters) are skipped so that one odd entry
    /// does not disable the rest.
    pub fn verifying_keys(&self) -> Vec<VerifyingKey> {
        self.keys
            .iter()
            .filter_map(|k| k.to_verifying_key().ok())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use openssl::rsa::Rsa;
    use std::process::Command;

    pub(crate) fn rsa_key(kid: &str) -> SigningKey {
        let pkey = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        SigningKey::from_pkey(kid, Algorithm::Rs256, pkey).unwrap()
    }

    pub(crate) fn ec_key(kid: &str) -> SigningKey {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let pkey = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        SigningKey::from_pkey(kid, Algorithm::Es256, pkey).unwrap()
    }

    pub(crate) fn ed_key(kid: &str) -> SigningKey {
        SigningKey::from_pkey(kid, Algorithm::EdDsa, PKey::generate_ed25519().unwrap()).unwrap()
    }

    pub(crate) fn self_signed(key: &SigningKey) -> X509 {
        use openssl::x509::{X509NameBuilder, X509};
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "passlogic test").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key.pkey).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::from_unix(1_700_000_000).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::from_unix(2_000_000_000).unwrap())
            .unwrap();
        b.sign(&key.pkey, MessageDigest::sha256()).unwrap();
        b.build()
    }

    const ALL: &[Algorithm] = &[Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa];

    fn b64(data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(data)
    }

    #[test]
    fn round_trips_all_algorithms() {
        for key in [rsa_key("r"), ec_key("e"), ed_key("d")] {
            let token = sign_claims(&serde_json::json!({"sub": "alice"}), &key).unwrap();
            let v = verify_jws(&token, &[key.verifying_key()], ALL).unwrap();
            assert_eq!(v.header().alg, key.alg());
            assert_eq!(v.header().kid.as_deref(), Some(key.kid()));
            assert_eq!(v.claims_json().unwrap()["sub"], "alice");
            // Via the published JWK too.
            let jwks = Jwks {
                keys: vec![key.public_jwk().unwrap()],
            };
            let jwks = Jwks::from_json(&jwks.to_json()).unwrap();
            assert_eq!(jwks.verifying_keys().len(), 1);
            verify_jws(&token, &jwks.verifying_keys(), ALL).unwrap();
        }
    }

    #[test]
    fn es256_signature_is_raw_64_bytes() {
        let key = ec_key("e");
        let token = sign_jws(b"x", &key, None).unwrap();
        let sig = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();
        assert_eq!(sig.len(), 64);
    }

    /// Independent verification by the `openssl` command line (a second implementation).
    fn openssl_cli_verify(key: &SigningKey, token: &str) {
        let (input, sig_b64) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig_b64).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "passlogic-oidc-jose-{}-{}",
            std::process::id(),
            key.kid()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let pub_pem = dir.join("pub.pem");
        let data = dir.join("data");
        let sig_file = dir.join("sig.bin");
        std::fs::write(&pub_pem, key.pkey.public_key_to_pem().unwrap()).unwrap();
        std::fs::write(&data, input).unwrap();
        let sig_bytes = match key.alg() {
            // openssl dgst wants the DER (ASN.1 SEQUENCE of r, s) form.
            Algorithm::Es256 => {
                let r = BigNum::from_slice(&sig[..32]).unwrap();
                let s = BigNum::from_slice(&sig[32..]).unwrap();
                EcdsaSig::from_private_components(r, s)
                    .unwrap()
                    .to_der()
                    .unwrap()
            }
            _ => sig.clone(),
        };
        std::fs::write(&sig_file, &sig_bytes).unwrap();
        let output = match key.alg() {
            Algorithm::EdDsa => Command::new("openssl")
                .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
                .arg(&pub_pem)
                .arg("-rawin")
                .arg("-in")
                .arg(&data)
                .arg("-sigfile")
                .arg(&sig_file)
                .output(),
            _ => Command::new("openssl")
                .args(["dgst", "-sha256", "-verify"])
                .arg(&pub_pem)
                .arg("-signature")
                .arg(&sig_file)
                .arg(&data)
                .output(),
        };
        let _ = std::fs::remove_dir_all(&dir);
        match output {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("openssl command not found; skipping independent verification");
            }
            Err(e) => panic!("running openssl: {e}"),
            Ok(out) => {
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success() && stdout.contains("Verified"),
                    "openssl refused our {} signature: {stdout} {}",
                    key.alg(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    #[test]
    fn openssl_cli_verifies_rs256_es256_eddsa() {
        for key in [rsa_key("cli-r"), ec_key("cli-e"), ed_key("cli-d")] {
            let token = sign_claims(&serde_json::json!({"iss": "x"}), &key).unwrap();
            openssl_cli_verify(&key, &token);
        }
    }

    #[test]
    fn alg_none_refused() {
        let key = rsa_key("r");
        for alg in ["none", "None", "NONE"] {
            let token = format!(
                "{}.{}.",
                b64(format!(r#"{{"alg":"{alg}","kid":"r"}}"#).as_bytes()),
                b64(br#"{"sub":"x"}"#)
            );
            assert!(matches!(
                verify_jws(&token, &[key.verifying_key()], ALL),
                Err(JoseError::AlgorithmRefused(_))
            ));
        }
    }

    #[test]
    fn hs256_keyed_with_rsa_public_key_refused() {
        let key = rsa_key("r");
        let public_pem = key.pkey.public_key_to_pem().unwrap();
        let input = format!(
            "{}.{}",
            b64(br#"{"alg":"HS256","kid":"r"}"#),
            b64(br#"{"sub":"admin"}"#)
        );
        let hmac_key = PKey::hmac(&public_pem).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &hmac_key).unwrap();
        signer.update(input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64(&signer.sign_to_vec().unwrap()));
        for allowed in [ALL, &[Algorithm::Rs256][..]] {
            assert!(matches!(
                verify_jws(&token, &[key.verifying_key()], allowed),
                Err(JoseError::AlgorithmRefused(_))
            ));
        }
        // HS384/HS512 too, and `oct` JWKs never become keys.
        assert!(Algorithm::from_name("HS512").is_err());
        let oct = Jwk {
            kty: "oct".into(),
            use_: None,
            alg: Some("HS256".into()),
            kid: None,
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
            x5c: None,
        };
        assert!(oct.to_verifying_key().is_err());
    }

    #[test]
    fn alg_key_mismatch_refused() {
        let rsa = rsa_key("k");
        let ec = ec_key("k");
        // An ES256 token whose kid names an RSA key.
        let token = sign_claims(&serde_json::json!({}), &ec).unwrap();
        let rsa_only = VerifyingKey {
            kid: Some("k".into()),
            alg: None,
            pkey: rsa.verifying_key().pkey,
        };
        assert_eq!(
            verify_jws(&token, &[rsa_only], ALL).unwrap_err(),
            JoseError::KeyMismatch
        );
        // A key published for RS256 is not used for EdDSA even if types were to fit.
        let ed = ed_key("k");
        let token = sign_claims(&serde_json::json!({}), &ed).unwrap();
        let mislabelled = VerifyingKey {
            kid: Some("k".into()),
            alg: Some(Algorithm::Rs256),
            pkey: ed.verifying_key().pkey,
        };
        assert_eq!(
            verify_jws(&token, &[mislabelled], ALL).unwrap_err(),
            JoseError::KeyMismatch
        );
        // Signing refuses a mismatched key type outright.
        assert!(SigningKey::from_pkey("x", Algorithm::Es256, rsa.pkey.clone()).is_err());
    }

    #[test]
    fn small_rsa_refused() {
        let pkey = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        assert_eq!(
            SigningKey::from_pkey("s", Algorithm::Rs256, pkey).unwrap_err(),
            JoseError::KeyMismatch
        );
    }

    #[test]
    fn wrong_kid_and_wrong_key_refused() {
        let a = rsa_key("a");
        let b = rsa_key("b");
        let token = sign_claims(&serde_json::json!({}), &a).unwrap();
        assert_eq!(
            verify_jws(&token, &[b.verifying_key()], ALL).unwrap_err(),
            JoseError::UnknownKey
        );
        // Same kid, different key material.
        let b_as_a = VerifyingKey {
            kid: Some("a".into()),
            alg: None,
            pkey: b.verifying_key().pkey,
        };
        assert_eq!(
            verify_jws(&token, &[b_as_a], ALL).unwrap_err(),
            JoseError::BadSignature
        );
        assert_eq!(
            verify_jws(&token, &[], ALL).unwrap_err(),
            JoseError::UnknownKey
        );
    }

    #[test]
    fn tampered_payload_and_signature_refused() {
        for key in [rsa_key("r"), ec_key("e"), ed_key("d")] {
            let token = sign_claims(&serde_json::json!({"sub": "alice"}), &key).unwrap();
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            parts[1] = b64(br#"{"sub":"mallory"}"#);
            let tampered = parts.join(".");
            assert_eq!(
                verify_jws(&tampered, &[key.verifying_key()], ALL).unwrap_err(),
                JoseError::BadSignature
            );
            let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
            sig[5] ^= 1;
            let token_parts: Vec<&str> = token.split('.').collect();
            let bad_sig = format!("{}.{}.{}", token_parts[0], token_parts[1], b64(&sig));
            assert_eq!(
                verify_jws(&bad_sig, &[key.verifying_key()], ALL).unwrap_err(),
                JoseError::BadSignature
            );
        }
    }

    #[test]
    fn allow_list_crit_and_shape() {
        let key = ec_key("e");
        let token = sign_claims(&serde_json::json!({}), &key).unwrap();
        assert!(matches!(
            verify_jws(&token, &[key.verifying_key()], &[Algorithm::Rs256]),
            Err(JoseError::AlgorithmNotAllowed(_))
        ));
        // crit: sign a header carrying it with the real key; still refused.
        let input = format!(
            "{}.{}",
            b64(br#"{"alg":"ES256","kid":"e","crit":["exp"],"exp":1}"#),
            b64(b"{}")
        );
        let sig = sign_raw(Algorithm::Es256, &key.pkey, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64(&sig));
        assert_eq!(
            verify_jws(&token, &[key.verifying_key()], ALL).unwrap_err(),
            JoseError::UnsupportedCritical
        );
        for bad in ["", "a.b", "a.b.c.d.e", "!!.e30.", "e30.e30.e30"] {
            assert!(
                verify_jws(bad, &[key.verifying_key()], ALL).is_err(),
                "{bad}"
            );
        }
        let big = "a".repeat(MAX_JWS_LEN + 1);
        assert_eq!(verify_jws(&big, &[], ALL).unwrap_err(), JoseError::TooLarge);
        assert!(matches!(
            Algorithm::from_name("PS256"),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn garbage_and_mutations_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let key = ec_key("e");
        let keys = [key.verifying_key(), rsa_key("r").verifying_key()];
        let alphabet = b"eyJ.abcAQ_-=+/%{}\":,0";
        for _ in 0..3000 {
            let len = rng.gen_range(0..120);
            let s: String = (0..len)
                .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
                .collect();
            assert!(verify_jws(&s, &keys, ALL).is_err());
            let _ = peek_unverified_claims(&s);
            let _ = crate::oidc::types::parse_form(&s);
        }
        let token = sign_claims(&serde_json::json!({"sub": "alice"}), &key).unwrap();
        for _ in 0..500 {
            let mut bytes = token.clone().into_bytes();
            let i = rng.gen_range(0..bytes.len());
            let c = alphabet[rng.gen_range(0..alphabet.len())];
            if bytes[i] == c {
                continue;
            }
            bytes[i] = c;
            let mutated = String::from_utf8(bytes).unwrap();
            // Base64url has slack bits in the last character, so a few mutations decode to the
            // same bytes; everything else must fail.
            if let Ok(v) = verify_jws(&mutated, &keys, ALL) {
                assert_eq!(v.claims_json().unwrap()["sub"], "alice");
            }
        }
    }

    #[test]
    fn jwk_export_with_x5c_and_import_checks() {
        let key = rsa_key("r1");
        let cert = self_signed(&key);
        let key = key.with_certificates(vec![cert]).unwrap();
        let jwk = key.public_jwk().unwrap();
        assert_eq!(jwk.kty, "RSA");
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert_eq!(jwk.alg.as_deref(), Some("RS256"));
        assert_eq!(jwk.e.as_deref(), Some("AQAB"));
        assert_eq!(jwk.x5c.as_ref().map(Vec::len), Some(1));
        let json = serde_json::to_value(&jwk).unwrap();
        assert_eq!(json["use"], "sig");
        assert!(json.get("d").is_none());
        jwk.to_verifying_key().unwrap();
        // x5c of another key: refused.
        let other = rsa_key("o");
        let mut forged = jwk.clone();
        forged.x5c = Some(vec![STANDARD.encode(self_signed(&other).to_der().unwrap())]);
        assert_eq!(
            forged.to_verifying_key().unwrap_err(),
            JoseError::CertificateMismatch
        );
        // A certificate for another key cannot be attached.
        assert!(rsa_key("z")
            .with_certificates(vec![self_signed(&other)])
            .is_err());
        // Encryption keys are skipped by the set.
        let mut enc = jwk.clone();
        enc.use_ = Some("enc".into());
        let set = Jwks {
            keys: vec![enc, jwk],
        };
        assert_eq!(set.verifying_keys().len(), 1);
    }

    #[test]
    fn signing_key_serde_round_trip_and_redaction() {
        let key = rsa_key("r1");
        let key = key
            .clone()
            .with_certificates(vec![self_signed(&key)])
            .unwrap();
        let json = serde_json::to_string(&key).unwrap();
        let back: SigningKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back.kid(), "r1");
        assert!(back.has_certificate());
        let token = sign_claims(&serde_json::json!({}), &back).unwrap();
        verify_jws(&token, &[key.verifying_key()], ALL).unwrap();
        let dbg = format!("{key:?}");
        assert!(
            dbg.contains("[redacted]") && !dbg.contains("PRIVATE"),
            "{dbg}"
        );
    }
}
