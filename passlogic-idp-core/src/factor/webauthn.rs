//! Passkeys (WebAuthn Level 2/3 relying-party verification), sans-IO.
//!
//! # Why our own verification over `coset` + `openssl`
//!
//! We evaluated the maintained relying-party crates that we may use (never `webauthn-rs*` or
//! anything from kanidm, whose maintainers ask AI-assisted projects to stay away):
//!
//! - `webauthn_rp` (0.2/0.3, MIT OR Apache-2.0, maintained in 2025-26, pure Rust): does both
//!   ceremonies with UV, backup flags and counters, but its ceremony state reads the clock
//!   itself (`Instant::now` / `SystemTime::now`) and draws challenges from its own
//!   `rand::random()`: the core may not read a clock or take randomness it is not handed. It
//!   also brings a second crypto stack (`p256`, `p384`, `ed25519-dalek`, `rsa`) beside OpenSSL,
//!   the project's single crypto backend.
//! - `passkey-types` (1Password): the JSON/CTAP types only, no verification.
//! - `coset` (Google, Apache-2.0): COSE structures only.
//!
//! So this module follows the specification's verification steps (§7.1 "Registering a New
//! Credential", §7.2 "Verifying an Authentication Assertion") itself, with `coset` for the
//! COSE_Key (and its `ciborium` for CBOR) and OpenSSL for the signatures (ES256, RS256,
//! EdDSA). The caller hands in the expected challenge (random, stored single-use by the
//! server) and the stored credential; nothing here reads a clock or draws randomness except
//! [`new_challenge`], which takes the caller's RNG.
//!
//! Policy built in: user verification is **required** (a response without the UV flag is
//! refused), user presence too; attestation formats `none` and `packed` (self attestation, or
//! a certificate whose signature is checked but whose chain is not judged: we request
//! attestation `none` and do not use attestation for trust); cross-origin (iframe) responses
//! are refused; a non-zero signature counter must grow.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use coset::cbor::value::Value;
use coset::{iana, CborSerializable, CoseKey, KeyType, Label, RegisteredLabelWithPrivate};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use openssl::x509::X509;
use rand::{CryptoRng, RngCore};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// COSE algorithm ES256 (ECDSA P-256 with SHA-256).
pub const ES256: i64 = -7;
/// COSE algorithm RS256 (RSASSA-PKCS1-v1_5 with SHA-256).
pub const RS256: i64 = -257;
/// COSE algorithm EdDSA (Ed25519).
pub const EDDSA: i64 = -8;
/// The algorithms we accept, in order of preference (as `pubKeyCredParams`).
pub const ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];
/// Bytes of a challenge.
pub const CHALLENGE_LEN: usize = 32;
/// Longest credential ID the specification allows.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;
/// Longest Base64url field we decode (a response is a few KiB at most).
const MAX_FIELD_LEN: usize = 64 * 1024;

/// Why a response was refused. Nothing was stored or changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebauthnError {
    /// Not decodable, or a required part is missing or out of bounds.
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    /// The credential type is not `public-key`, or the client data type is not the
    /// ceremony's.
    #[error("wrong credential or ceremony type")]
    WrongType,
    /// The client data's challenge is not the one issued.
    #[error("the challenge does not match")]
    ChallengeMismatch,
    /// The client data's origin is not this relying party's.
    #[error("origin {0:?} is not allowed")]
    OriginMismatch(String),
    /// Made in a cross-origin iframe.
    #[error("cross-origin responses are not accepted")]
    CrossOrigin,
    /// The authenticator data is for another RP ID.
    #[error("the RP ID hash does not match")]
    RpIdMismatch,
    /// The user-present flag is missing.
    #[error("user presence flag missing")]
    UserNotPresent,
    /// The user-verified flag is missing (we require user verification).
    #[error("user verification flag missing")]
    UserNotVerified,
    /// The backup-state flag is set without backup eligibility, or eligibility changed.
    #[error("inconsistent backup flags")]
    BackupFlags,
    /// A key type or algorithm we do not accept.
    #[error("unsupported key or algorithm")]
    UnsupportedAlgorithm,
    /// An attestation format we do not accept.
    #[error("unsupported attestation format {0:?}")]
    UnsupportedAttestation(String),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The response is for another credential than the one expected.
    #[error("the response is for another credential")]
    CredentialMismatch,
    /// The user handle is not the credential owner's.
    #[error("the user handle does not match")]
    UserHandleMismatch,
    /// The signature counter did not grow (a cloned authenticator, or a replay).
    #[error("signature counter went from {stored} to {got}")]
    CounterRegressed {
        /// The stored value.
        stored: u32,
        /// The value in the response.
        got: u32,
    },
}

impl WebauthnError {
    /// A short stable code for the audit trail and error pages.
    pub fn code(&self) -> &'static str {
        match self {
            WebauthnError::Malformed(_) => "malformed",
            WebauthnError::WrongType => "wrong_type",
            WebauthnError::ChallengeMismatch => "challenge_mismatch",
            WebauthnError::OriginMismatch(_) => "origin_mismatch",
            WebauthnError::CrossOrigin => "cross_origin",
            WebauthnError::RpIdMismatch => "rp_id_mismatch",
            WebauthnError::UserNotPresent => "user_not_present",
            WebauthnError::UserNotVerified => "user_not_verified",
            WebauthnError::BackupFlags => "backup_flags",
            WebauthnError::UnsupportedAlgorithm => "unsupported_algorithm",
            WebauthnError::UnsupportedAttestation(_) => "unsupported_attestation",
            WebauthnError::BadSignature => "bad_signature",
            WebauthnError::CredentialMismatch => "credential_mismatch",
            WebauthnError::UserHandleMismatch => "user_handle_mismatch",
            WebauthnError::CounterRegressed { .. } => "counter_regressed",
        }
    }
}

type Result<T> = std::result::Result<T, WebauthnError>;

/// The relying party: its RP ID (a host name, no port) and the origins it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    id: String,
    name: String,
    origins: Vec<String>,
}

impl RelyingParty {
    /// An RP with an explicit ID, display name and accepted origins (`scheme://host[:port]`).
    pub fn new(id: &str, name: &str, origins: Vec<String>) -> RelyingParty {
        RelyingParty {
            id: id.to_ascii_lowercase(),
            name: name.to_owned(),
            origins: origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// The RP of a public URL: RP ID = its host, the one accepted origin = its origin.
    /// `None` for a URL that is not `http(s)://host...`.
    pub fn from_public_url(public_url: &str, name: &str) -> Option<RelyingParty> {
        let (scheme, rest) = public_url.split_once("://")?;
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let authority = rest.split(['/', '?', '#']).next()?;
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split(']').next()?
        } else {
            authority.split(':').next()?
        };
        if host.is_empty() {
            return None;
        }
        Some(RelyingParty::new(
            host,
            name,
            vec![format!("{scheme}://{authority}")],
        ))
    }

    /// The RP ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The accepted origins.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }
}

/// A fresh random challenge.
pub fn new_challenge(rng: &mut (impl RngCore + CryptoRng)) -> Vec<u8> {
    let mut c = vec![0u8; CHALLENGE_LEN];
    rng.fill_bytes(&mut c);
    c
}

/// Base64url without padding (the encoding of every binary field in the JSON forms).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes Base64url, with or without padding.
pub fn from_b64url(s: &str) -> Option<Vec<u8>> {
    if s.len() > MAX_FIELD_LEN {
        return None;
    }
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

fn field(s: &str, what: &'static str) -> Result<Vec<u8>> {
    from_b64url(s).ok_or(WebauthnError::Malformed(what))
}

/// The user as the authenticator stores it with a discoverable credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEntity<'a> {
    /// Opaque user handle (at most 64 bytes, no personal data).
    pub handle: &'a [u8],
    /// Login name.
    pub name: &'a str,
    /// Display name.
    pub display_name: &'a str,
}

/// `PublicKeyCredentialCreationOptions` in its JSON form (WebAuthn Level 3
/// `PublicKeyCredentialCreationOptionsJSON`: binary fields Base64url), for
/// `navigator.credentials.create` after decoding. User verification and a discoverable
/// credential are required; attestation `none`; `exclude` lists the user's credential IDs.
pub fn creation_options(
    rp: &RelyingParty,
    user: &UserEntity<'_>,
    challenge: &[u8],
    exclude: &[Vec<u8>],
    timeout_ms: u64,
) -> serde_json::Value {
    json!({
        "rp": { "id": rp.id, "name": rp.name },
        "user": {
            "id": b64url(user.handle),
            "name": user.name,
            "displayName": user.display_name,
        },
        "challenge": b64url(challenge),
        "pubKeyCredParams": ALGORITHMS
            .iter()
            .map(|a| json!({ "type": "public-key", "alg": a }))
            .collect::<Vec<_>>(),
        "timeout": timeout_ms,
        "excludeCredentials": exclude
            .iter()
            .map(|id| json!({ "type": "public-key", "id": b64url(id) }))
            .collect::<Vec<_>>(),
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": "required",
        },
        "attestation": "none",
    })
}

/// `PublicKeyCredentialRequestOptions` in its JSON form, for `navigator.credentials.get`:
/// the user's credentials in `allowCredentials`, user verification required.
pub fn request_options(
    rp: &RelyingParty,
    challenge: &[u8],
    allow: &[Vec<u8>],
    timeout_ms: u64,
) -> serde_json::Value {
    json!({
        "rpId": rp.id,
        "challenge": b64url(challenge),
        "timeout": timeout_ms,
        "allowCredentials": allow
            .iter()
            .map(|id| json!({ "type": "public-key", "id": b64url(id) }))
            .collect::<Vec<_>>(),
        "userVerification": "required",
    })
}

/// A registration response (`RegistrationResponseJSON`, what `PublicKeyCredential.toJSON()`
/// gives after `create`). Unknown fields are ignored.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponse {
    /// Credential ID, Base64url.
    pub id: String,
    /// The same, Base64url.
    pub raw_id: String,
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator's answer.
    pub response: AttestationResponse,
}

/// The `response` member of a [`RegistrationResponse`].
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationResponse {
    /// Base64url client data JSON.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// Base64url CBOR attestation object.
    pub attestation_object: String,
    /// Transports the authenticator reported (hints for later `allowCredentials`).
    #[serde(default)]
    pub transports: Vec<String>,
}

/// An authentication response (`AuthenticationResponseJSON`, after `get`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponse {
    /// Credential ID, Base64url.
    pub id: String,
    /// The same, Base64url.
    pub raw_id: String,
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authenticator's answer.
    pub response: AssertionResponse,
}

/// The `response` member of an [`AuthenticationResponse`].
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponse {
    /// Base64url client data JSON.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// Base64url authenticator data.
    pub authenticator_data: String,
    /// Base64url signature.
    pub signature: String,
    /// Base64url user handle (discoverable credentials), if any.
    #[serde(default)]
    pub user_handle: Option<String>,
}

impl AuthenticationResponse {
    /// The credential ID (decoded `rawId`, which must equal `id`).
    pub fn credential_id(&self) -> Result<Vec<u8>> {
        credential_id(&self.id, &self.raw_id, &self.kind)
    }

    /// The challenge the client signed (to find the stored, single-use challenge).
    pub fn challenge(&self) -> Result<Vec<u8>> {
        client_data(&self.response.client_data_json).map(|(c, _)| c.challenge)
    }
}

impl RegistrationResponse {
    /// The challenge the client signed (to find the stored, single-use challenge).
    pub fn challenge(&self) -> Result<Vec<u8>> {
        client_data(&self.response.client_data_json).map(|(c, _)| c.challenge)
    }
}

fn credential_id(id: &str, raw_id: &str, kind: &str) -> Result<Vec<u8>> {
    if kind != "public-key" {
        return Err(WebauthnError::WrongType);
    }
    let raw = field(raw_id, "rawId")?;
    if field(id, "id")? != raw {
        return Err(WebauthnError::Malformed("id and rawId differ"));
    }
    if raw.is_empty() || raw.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(WebauthnError::Malformed("credential ID length"));
    }
    Ok(raw)
}

struct ClientData {
    kind: String,
    challenge: Vec<u8>,
    origin: String,
    cross_origin: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientDataJson {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(default)]
    cross_origin: Option<bool>,
}

/// Parses clientDataJSON; returns it and its SHA-256.
fn client_data(b64: &str) -> Result<(ClientData, [u8; 32])> {
    let bytes = field(b64, "clientDataJSON")?;
    let c: ClientDataJson =
        serde_json::from_slice(&bytes).map_err(|_| WebauthnError::Malformed("clientDataJSON"))?;
    let challenge = field(&c.challenge, "challenge")?;
    Ok((
        ClientData {
            kind: c.kind,
            challenge,
            origin: c.origin,
            cross_origin: c.cross_origin.unwrap_or(false),
        },
        Sha256::digest(&bytes).into(),
    ))
}

fn check_client_data(
    rp: &RelyingParty,
    c: &ClientData,
    kind: &str,
    expected_challenge: &[u8],
) -> Result<()> {
    if c.kind != kind {
        return Err(WebauthnError::WrongType);
    }
    // Not secret (it was sent to the browser), but compared in constant time all the same.
    use subtle::ConstantTimeEq as _;
    if !bool::from(c.challenge.ct_eq(expected_challenge)) {
        return Err(WebauthnError::ChallengeMismatch);
    }
    if !rp.origins.contains(&c.origin) {
        return Err(WebauthnError::OriginMismatch(
            c.origin.chars().take(200).collect(),
        ));
    }
    if c.cross_origin {
        return Err(WebauthnError::CrossOrigin);
    }
    Ok(())
}

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// Parsed authenticator data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// Flag bits.
    pub flags: u8,
    /// Signature counter.
    pub sign_count: u32,
    /// Attested credential data (registration).
    pub attested: Option<AttestedCredential>,
}

/// The attested credential data of a registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedCredential {
    /// Authenticator model (zero for attestation `none`).
    pub aaguid: [u8; 16],
    /// Credential ID.
    pub credential_id: Vec<u8>,
    /// The COSE_Key bytes as the authenticator sent them.
    pub public_key: Vec<u8>,
}

impl AuthenticatorData {
    /// Parses authenticator data (§6.1), refusing trailing bytes.
    pub fn parse(data: &[u8]) -> Result<AuthenticatorData> {
        const BAD: WebauthnError = WebauthnError::Malformed("authenticator data");
        if data.len() < 37 {
            return Err(BAD);
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&data[..32]);
        let flags = data[32];
        let sign_count = u32::from_be_bytes([data[33], data[34], data[35], data[36]]);
        let mut rest = &data[37..];
        let attested = if flags & FLAG_AT != 0 {
            if rest.len() < 18 {
                return Err(BAD);
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&rest[..16]);
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            rest = &rest[18..];
            if len == 0 || len > MAX_CREDENTIAL_ID_LEN || rest.len() < len {
                return Err(BAD);
            }
            let credential_id = rest[..len].to_vec();
            rest = &rest[len..];
            let before = rest;
            let _: Value = coset::cbor::de::from_reader(&mut rest).map_err(|_| BAD)?;
            let public_key = before[..before.len() - rest.len()].to_vec();
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key,
            })
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let _: Value = coset::cbor::de::from_reader(&mut rest).map_err(|_| BAD)?;
        }
        if !rest.is_empty() {
            return Err(BAD);
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    /// User present.
    pub fn user_present(&self) -> bool {
        self.flags & FLAG_UP != 0
    }
    /// User verified.
    pub fn user_verified(&self) -> bool {
        self.flags & FLAG_UV != 0
    }
    /// Backup eligible (a synced passkey may be).
    pub fn backup_eligible(&self) -> bool {
        self.flags & FLAG_BE != 0
    }
    /// Backed up.
    pub fn backup_state(&self) -> bool {
        self.flags & FLAG_BS != 0
    }
}

fn check_auth_data(rp: &RelyingParty, ad: &AuthenticatorData) -> Result<()> {
    let expected: [u8; 32] = Sha256::digest(rp.id.as_bytes()).into();
    if ad.rp_id_hash != expected {
        return Err(WebauthnError::RpIdMismatch);
    }
    if !ad.user_present() {
        return Err(WebauthnError::UserNotPresent);
    }
    if !ad.user_verified() {
        return Err(WebauthnError::UserNotVerified);
    }
    if ad.backup_state() && !ad.backup_eligible() {
        return Err(WebauthnError::BackupFlags);
    }
    Ok(())
}

/// A public key we can verify with.
enum Key {
    Ec(PKey<Public>),
    Rsa(PKey<Public>),
    Ed(PKey<Public>),
}

fn int_param(key: &CoseKey, label: i64) -> Option<&Value> {
    key.params
        .iter()
        .find(|(l, _)| *l == Label::Int(label))
        .map(|(_, v)| v)
}

fn bytes_param(key: &CoseKey, label: i64) -> Option<&[u8]> {
    match int_param(key, label)? {
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

fn int_value(v: &Value) -> Option<i128> {
    match v {
        Value::Integer(i) => Some(i128::from(*i)),
        _ => None,
    }
}

/// Reads a COSE_Key (EC2 P-256 + ES256, RSA + RS256, OKP Ed25519 + EdDSA) into an OpenSSL
/// key; returns it with its COSE algorithm.
fn parse_key(cose: &[u8]) -> Result<(Key, i64)> {
    const UNSUPPORTED: WebauthnError = WebauthnError::UnsupportedAlgorithm;
    let key = CoseKey::from_slice(cose).map_err(|_| WebauthnError::Malformed("COSE key"))?;
    let alg = match &key.alg {
        Some(RegisteredLabelWithPrivate::Assigned(a)) => *a as i64,
        _ => return Err(UNSUPPORTED),
    };
    let openssl_err = |_| WebauthnError::Malformed("public key");
    match (&key.kty, alg) {
        (KeyType::Assigned(iana::KeyType::EC2), ES256) => {
            let crv = int_param(&key, -1).and_then(int_value);
            if crv != Some(iana::EllipticCurve::P_256 as i128) {
                return Err(UNSUPPORTED);
            }
            let (Some(x), Some(y)) = (bytes_param(&key, -2), bytes_param(&key, -3)) else {
                return Err(WebauthnError::Malformed("EC2 key coordinates"));
            };
            if x.len() != 32 || y.len() != 32 {
                return Err(WebauthnError::Malformed("EC2 key coordinates"));
            }
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(openssl_err)?;
            let x: BigNum = BigNum::from_slice(x).map_err(openssl_err)?;
            let y: BigNum = BigNum::from_slice(y).map_err(openssl_err)?;
            let ec =
                EcKey::from_public_key_affine_coordinates(&group, &x, &y).map_err(openssl_err)?;
            ec.check_key().map_err(openssl_err)?;
            Ok((Key::Ec(PKey::from_ec_key(ec).map_err(openssl_err)?), alg))
        }
        (KeyType::Assigned(iana::KeyType::RSA), RS256) => {
            let (Some(n), Some(e)) = (bytes_param(&key, -1), bytes_param(&key, -2)) else {
                return Err(WebauthnError::Malformed("RSA key"));
            };
            let rsa = Rsa::from_public_components(
                BigNum::from_slice(n).map_err(openssl_err)?,
                BigNum::from_slice(e).map_err(openssl_err)?,
            )
            .map_err(openssl_err)?;
            if rsa.size() < 256 {
                return Err(UNSUPPORTED);
            }
            Ok((Key::Rsa(PKey::from_rsa(rsa).map_err(openssl_err)?), alg))
        }
        (KeyType::Assigned(iana::KeyType::OKP), EDDSA) => {
            let crv = int_param(&key, -1).and_then(int_value);
            if crv != Some(iana::EllipticCurve::Ed25519 as i128) {
                return Err(UNSUPPORTED);
            }
            let x = bytes_param(&key, -2).ok_or(WebauthnError::Malformed("OKP key"))?;
            let pkey = PKey::public_key_from_raw_bytes(x, Id::ED25519).map_err(openssl_err)?;
            Ok((Key::Ed(pkey), alg))
        }
        _ => Err(UNSUPPORTED),
    }
}

/// Verifies `sig` over `authenticator data || SHA-256(clientDataJSON)`.
fn verify_signature(key: &Key, auth_data: &[u8], client_hash: &[u8], sig: &[u8]) -> Result<()> {
    let mut msg = Vec::with_capacity(auth_data.len() + client_hash.len());
    msg.extend_from_slice(auth_data);
    msg.extend_from_slice(client_hash);
    let ok = match key {
        Key::Ec(k) | Key::Rsa(k) => Verifier::new(MessageDigest::sha256(), k)
            .and_then(|mut v| v.verify_oneshot(sig, &msg))
            .unwrap_or(false),
        Key::Ed(k) => Verifier::new_without_digest(k)
            .and_then(|mut v| v.verify_oneshot(sig, &msg))
            .unwrap_or(false),
    };
    if ok {
        Ok(())
    } else {
        Err(WebauthnError::BadSignature)
    }
}

/// A verified new credential, to store for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCredential {
    /// Credential ID.
    pub credential_id: Vec<u8>,
    /// COSE_Key bytes.
    pub public_key: Vec<u8>,
    /// COSE algorithm.
    pub alg: i64,
    /// Initial signature counter.
    pub sign_count: u32,
    /// Backup eligible (synced passkey).
    pub backup_eligible: bool,
    /// Backed up now.
    pub backup_state: bool,
    /// Authenticator model (zero without attestation).
    pub aaguid: [u8; 16],
    /// `none` or `packed`.
    pub attestation_format: String,
    /// Reported transports (at most 8, each at most 32 characters).
    pub transports: Vec<String>,
}

fn map_get<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
        .map(|(_, v)| v)
}

/// Verifies a registration response against the challenge issued for it (§7.1).
pub fn verify_registration(
    rp: &RelyingParty,
    expected_challenge: &[u8],
    response: &RegistrationResponse,
) -> Result<NewCredential> {
    let raw_id = credential_id(&response.id, &response.raw_id, &response.kind)?;
    let (c, client_hash) = client_data(&response.response.client_data_json)?;
    check_client_data(rp, &c, "webauthn.create", expected_challenge)?;
    let att = field(&response.response.attestation_object, "attestationObject")?;
    let Value::Map(obj) = coset::cbor::de::from_reader::<Value, _>(att.as_slice())
        .map_err(|_| WebauthnError::Malformed("attestationObject"))?
    else {
        return Err(WebauthnError::Malformed("attestationObject"));
    };
    let (Some(Value::Text(fmt)), Some(Value::Map(stmt)), Some(Value::Bytes(auth_bytes))) = (
        map_get(&obj, "fmt"),
        map_get(&obj, "attStmt"),
        map_get(&obj, "authData"),
    ) else {
        return Err(WebauthnError::Malformed("attestationObject members"));
    };
    let ad = AuthenticatorData::parse(auth_bytes)?;
    check_auth_data(rp, &ad)?;
    let Some(cred) = &ad.attested else {
        return Err(WebauthnError::Malformed("no attested credential data"));
    };
    if cred.credential_id != raw_id {
        return Err(WebauthnError::CredentialMismatch);
    }
    let (key, alg) = parse_key(&cred.public_key)?;
    match fmt.as_str() {
        "none" => {
            if !stmt.is_empty() {
                return Err(WebauthnError::Malformed("attStmt of format none"));
            }
        }
        "packed" => {
            let (Some(a), Some(Value::Bytes(sig))) = (map_get(stmt, "alg"), map_get(stmt, "sig"))
            else {
                return Err(WebauthnError::Malformed("packed attStmt"));
            };
            let stmt_alg = int_value(a).ok_or(WebauthnError::Malformed("packed alg"))?;
            match map_get(stmt, "x5c") {
                None => {
                    // Self attestation: signed by the credential key itself.
                    if stmt_alg != i128::from(alg) {
                        return Err(WebauthnError::UnsupportedAlgorithm);
                    }
                    verify_signature(&key, auth_bytes, &client_hash, sig)?;
                }
                Some(Value::Array(certs)) => {
                    // Basic attestation: the signature is checked with the certificate's key;
                    // the chain is not judged (we ask for `none` and take no trust from it).
                    let Some(Value::Bytes(der)) = certs.first() else {
                        return Err(WebauthnError::Malformed("packed x5c"));
                    };
                    let cert =
                        X509::from_der(der).map_err(|_| WebauthnError::Malformed("packed x5c"))?;
                    let pk = cert
                        .public_key()
                        .map_err(|_| WebauthnError::Malformed("packed x5c"))?;
                    let k = match (stmt_alg, pk.id()) {
                        (a, Id::EC) if a == i128::from(ES256) => Key::Ec(pk),
                        (a, Id::RSA) if a == i128::from(RS256) => Key::Rsa(pk),
                        (a, Id::ED25519) if a == i128::from(EDDSA) => Key::Ed(pk),
                        _ => return Err(WebauthnError::UnsupportedAlgorithm),
                    };
                    verify_signature(&k, auth_bytes, &client_hash, sig)?;
                }
                Some(_) => return Err(WebauthnError::Malformed("packed x5c")),
            }
        }
        other => {
            return Err(WebauthnError::UnsupportedAttestation(
                other.chars().take(32).collect(),
            ))
        }
    }
    Ok(NewCredential {
        credential_id: raw_id,
        public_key: cred.public_key.clone(),
        alg,
        sign_count: ad.sign_count,
        backup_eligible: ad.backup_eligible(),
        backup_state: ad.backup_state(),
        aaguid: cred.aaguid,
        attestation_format: fmt.clone(),
        transports: response
            .response
            .transports
            .iter()
            .take(8)
            .map(|t| t.chars().take(32).collect())
            .collect(),
    })
}

/// A stored credential, as the assertion check needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential<'a> {
    /// Credential ID.
    pub credential_id: &'a [u8],
    /// COSE_Key bytes.
    pub public_key: &'a [u8],
    /// The last signature counter seen.
    pub sign_count: u32,
    /// Backup eligibility at registration.
    pub backup_eligible: bool,
    /// The owner's user handle.
    pub user_handle: &'a [u8],
}

/// What a verified assertion changes in the stored credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    /// The new signature counter to store.
    pub sign_count: u32,
    /// Backed up now.
    pub backup_state: bool,
}

/// Verifies an authentication assertion for a stored credential against the challenge issued
/// for it (§7.2). The caller found `stored` by the response's credential ID and checked that
/// it belongs to the user signing in.
pub fn verify_authentication(
    rp: &RelyingParty,
    expected_challenge: &[u8],
    stored: &StoredCredential<'_>,
    response: &AuthenticationResponse,
) -> Result<Assertion> {
    let raw_id = response.credential_id()?;
    if raw_id != stored.credential_id {
        return Err(WebauthnError::CredentialMismatch);
    }
    if let Some(h) = &response.response.user_handle {
        if !h.is_empty() && field(h, "userHandle")? != stored.user_handle {
            return Err(WebauthnError::UserHandleMismatch);
        }
    }
    let (c, client_hash) = client_data(&response.response.client_data_json)?;
    check_client_data(rp, &c, "webauthn.get", expected_challenge)?;
    let auth_bytes = field(&response.response.authenticator_data, "authenticatorData")?;
    let ad = AuthenticatorData::parse(&auth_bytes)?;
    check_auth_data(rp, &ad)?;
    if ad.backup_eligible() != stored.backup_eligible {
        return Err(WebauthnError::BackupFlags);
    }
    let sig = field(&response.response.signature, "signature")?;
    let (key, _) = parse_key(stored.public_key)?;
    verify_signature(&key, &auth_bytes, &client_hash, &sig)?;
    if (ad.sign_count != 0 || stored.sign_count != 0) && ad.sign_count <= stored.sign_count {
        return Err(WebauthnError::CounterRegressed {
            stored: stored.sign_count,
            got: ad.sign_count,
        });
    }
    Ok(Assertion {
        sign_count: ad.sign_count,
        backup_state: ad.backup_state(),
    })
}

/// Encodes an EC P-256 public key as a COSE_Key (ES256). For tests and tools that play the
/// authenticator.
pub fn cose_es256_key(key: &EcKey<Public>) -> Option<Vec<u8>> {
    let group = key.group();
    let mut x = BigNum::new().ok()?;
    let mut y = BigNum::new().ok()?;
    let mut ctx = BigNumContext::new().ok()?;
    key.public_key()
        .affine_coordinates(group, &mut x, &mut y, &mut ctx)
        .ok()?;
    let k = coset::CoseKeyBuilder::new_ec2_pub_key(
        iana::EllipticCurve::P_256,
        x.to_vec_padded(32).ok()?,
        y.to_vec_padded(32).ok()?,
    )
    .algorithm(iana::Algorithm::ES256)
    .build();
    k.to_vec().ok()
}

#[cfg(test)]
mod tests;
