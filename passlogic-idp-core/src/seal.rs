//! Authenticated encryption of secrets at rest (matrix patterns, OTP seeds, private keys) under
//! a key-encryption key ([`Kek`]), with OpenSSL's AES-256-GCM.
//!
//! # Blob layout
//!
//! ```text
//! b"PLS1" (4) | KEK id (8) | nonce (12) | ciphertext (len of plaintext) | GCM tag (16)
//! ```
//!
//! - The KEK id ([`KekId`]) is the first 8 bytes of `SHA-256("passlogic-kek-id" || key)`; it lets
//!   [`open`] pick the right key from a [`Keyring`] during key rotation, and reveals nothing
//!   useful about the key.
//! - The nonce is 12 fresh random bytes from the caller's CSPRNG for every blob. Random GCM
//!   nonces are safe for about 2^32 blobs under one key; rotate the KEK long before that.
//! - The header (magic, id, nonce) is covered by the tag because [`open`] decrypts with the
//!   key the id names: a changed id names another (or no) key, a changed nonce or ciphertext
//!   fails the tag.
//! - The AAD (additional authenticated data) is a caller-chosen context, e.g.
//!   `b"matrix:tenant:1:user:42"`. It is not stored in the blob but must be given again to
//!   [`open`]; it binds a blob to its owner so blobs cannot be swapped between rows (Alice's
//!   sealed pattern copied into Bob's row will not open as Bob's).
//!
//! ```
//! use passlogic_idp_core::seal::{self, Kek, Keyring};
//! # use rand::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let old = Kek::generate(&mut rng);
//! let blob = seal::seal(&old, b"matrix:tenant:1:user:42", b"secret", &mut rng);
//!
//! // Rotation: a new current key, the old one still accepted for opening.
//! let new = Kek::generate(&mut rng);
//! let new_id = new.id();
//! let ring = Keyring::new(new).with_previous(old);
//! assert_eq!(seal::open(&ring, b"matrix:tenant:1:user:42", &blob)?, b"secret");
//! let blob = seal::reseal(&ring, &ring.current(), b"matrix:tenant:1:user:42", &blob, &mut rng)?;
//! assert_eq!(seal::sealed_with(&blob), Some(new_id));
//! # Ok::<(), seal::SealError>(())
//! ```

use core::fmt;
use std::sync::Arc;

use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// Length of a key-encryption key in bytes (AES-256).
pub const KEK_LEN: usize = 32;

/// Magic prefix of every sealed blob (format version 1).
pub const MAGIC: &[u8; 4] = b"PLS1";
/// Length of the KEK id in a blob.
pub const ID_LEN: usize = 8;
/// Length of the GCM nonce in a blob.
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag at the end of a blob.
pub const TAG_LEN: usize = 16;
/// Length of the header before the ciphertext: magic, id, nonce.
const HEADER_LEN: usize = MAGIC.len() + ID_LEN + NONCE_LEN;
/// Shortest possible blob (empty plaintext).
pub const MIN_BLOB_LEN: usize = HEADER_LEN + TAG_LEN;

/// A key-encryption key. `Debug` prints `Kek(id=<hex id>)` only; no `PartialEq`.
///
/// The key bytes are overwritten when the value is dropped (best effort: without `unsafe`
/// the compiler is not strictly prevented from eliding it, and copies made elsewhere, e.g. by
/// OpenSSL or the caller, are not covered).
pub struct Kek {
    key: [u8; KEK_LEN],
    id: KekId,
}

impl Kek {
    /// Wraps raw key bytes; they must be exactly [`KEK_LEN`] (32) bytes long.
    pub fn from_bytes(b: &[u8]) -> Result<Kek, SealError> {
        let key: [u8; KEK_LEN] = b.try_into().map_err(|_| SealError::BadKeyLength)?;
        Ok(Kek::from_array(key))
    }

    fn from_array(key: [u8; KEK_LEN]) -> Kek {
        let mut h = Sha256::new();
        h.update(b"passlogic-kek-id");
        h.update(key);
        let digest = h.finalize();
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        Kek { key, id: KekId(id) }
    }

    /// Draws a fresh random key from the caller's CSPRNG.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Kek {
        let mut key = [0u8; KEK_LEN];
        rng.fill_bytes(&mut key);
        Kek::from_array(key)
    }

    /// The key's id, as written into blobs it seals.
    pub fn id(&self) -> KekId {
        self.id
    }

    /// The raw key, for writing it to configuration or a key store. Handle with care.
    pub fn expose_bytes(&self) -> &[u8; KEK_LEN] {
        &self.key
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek(id={})", self.id)
    }
}

impl Drop for Kek {
    fn drop(&mut self) {
        self.key = [0u8; KEK_LEN];
        core::hint::black_box(&self.key);
    }
}

/// Identifies a [`Kek`]: the first 8 bytes of SHA-256("passlogic-kek-id" || key). Displays as
/// 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct KekId(pub [u8; 8]);

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The current key plus older keys still accepted for opening.
///
/// [`seal`] callers use [`Keyring::current`]; [`open`] accepts blobs sealed under any key in
/// the ring. After re-sealing every blob with [`reseal`], drop the old keys.
pub struct Keyring {
    // Behind a lock so a running server can take up a rotated key file without a restart
    // ([`Keyring::replace_with`]); readers clone an `Arc` and never hold the lock while they
    // encrypt. No I/O here: the server reads the file and hands the keys in.
    keys: std::sync::RwLock<Arc<Keys>>,
}

struct Keys {
    current: Arc<Kek>,
    previous: Vec<Arc<Kek>>,
}

impl Keyring {
    /// A ring holding only `current`.
    pub fn new(current: Kek) -> Keyring {
        Keyring {
            keys: std::sync::RwLock::new(Arc::new(Keys {
                current: Arc::new(current),
                previous: Vec::new(),
            })),
        }
    }

    /// Adds an older key, accepted for opening only.
    pub fn with_previous(self, old: Kek) -> Keyring {
        let keys = self.snapshot();
        let mut previous = keys.previous.clone();
        previous.push(Arc::new(old));
        Keyring {
            keys: std::sync::RwLock::new(Arc::new(Keys {
                current: keys.current.clone(),
                previous,
            })),
        }
    }

    fn snapshot(&self) -> Arc<Keys> {
        // A panic while holding the write lock cannot leave a half-written value (the write is
        // one `Arc` assignment), so a poisoned lock still holds a usable key set.
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key new blobs are sealed with.
    pub fn current(&self) -> Arc<Kek> {
        self.snapshot().current.clone()
    }

    /// The key with id `id`, current or previous.
    pub fn get(&self, id: KekId) -> Option<Arc<Kek>> {
        let keys = self.snapshot();
        core::iter::once(&keys.current)
            .chain(&keys.previous)
            .find(|k| k.id == id)
            .cloned()
    }

    /// The ids of every key held, current first.
    pub fn ids(&self) -> Vec<KekId> {
        let keys = self.snapshot();
        core::iter::once(&keys.current)
            .chain(&keys.previous)
            .map(|k| k.id)
            .collect()
    }

    /// Takes up the keys of `other` (e.g. the key file re-read after `keys rotate-kek` on
    /// another process). Keys of this ring that `other` lacks stay accepted for opening, so a
    /// blob sealed a moment before the swap still opens.
    pub fn replace_with(&self, other: Keyring) {
        let new = other.snapshot();
        let old = self.snapshot();
        let mut previous = new.previous.clone();
        for k in core::iter::once(&old.current).chain(&old.previous) {
            if k.id != new.current.id && !previous.iter().any(|p| p.id == k.id) {
                previous.push(k.clone());
            }
        }
        let keys = Arc::new(Keys {
            current: new.current.clone(),
            previous,
        });
        match self.keys.write() {
            Ok(mut k) => *k = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.snapshot();
        f.debug_struct("Keyring")
            .field("current", &keys.current)
            .field("previous", &keys.previous)
            .finish()
    }
}

/// Why a blob could not be opened or a key was refused.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// A key-encryption key must be exactly 32 bytes.
    #[error("a key-encryption key must be exactly {KEK_LEN} bytes")]
    BadKeyLength,
    /// The blob is too short, lacks the `PLS1` prefix, or could not be produced.
    #[error("sealed blob is malformed")]
    Malformed,
    /// The blob was sealed under a key the keyring does not hold.
    #[error("sealed blob uses unknown key {0}")]
    UnknownKey(KekId),
    /// Authentication failed: the blob was altered, or the AAD (owner context) is wrong.
    #[error("sealed blob failed authentication (tampered or wrong context)")]
    Tampered,
}

/// Encrypts and authenticates `plaintext` under `kek`, bound to `aad`, with a fresh random
/// nonce. See the [module docs](self) for the blob layout.
///
/// AES-256-GCM with a 32-byte key and 12-byte nonce cannot fail on any input; should the
/// OpenSSL library itself fail (a broken installation), the result is empty, which [`open`]
/// refuses as [`SealError::Malformed`] and [`reseal`] reports as such. Use [`try_seal`] to get
/// that as an error directly.
pub fn seal(
    kek: &Kek,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Vec<u8> {
    try_seal(kek, aad, plaintext, rng).unwrap_or_default()
}

/// Like [`seal`], but reports an OpenSSL failure as [`SealError::Malformed`] instead of
/// returning an empty blob.
pub fn try_seal(
    kek: &Kek,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut tag = [0u8; TAG_LEN];
    let ciphertext = encrypt_aead(
        Cipher::aes_256_gcm(),
        &kek.key,
        Some(&nonce),
        aad,
        plaintext,
        &mut tag,
    )
    .map_err(|_| SealError::Malformed)?;
    let mut blob = Vec::with_capacity(MIN_BLOB_LEN + ciphertext.len());
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&kek.id.0);
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ciphertext);
    blob.extend_from_slice(&tag);
    Ok(blob)
}

/// The parts of a `PLS1` blob.
struct Parts<'a> {
    id: KekId,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

/// Splits a blob into its parts, or `None` if it is not a `PLS1` blob.
fn split(blob: &[u8]) -> Option<Parts<'_>> {
    if blob.len() < MIN_BLOB_LEN || !blob.starts_with(MAGIC) {
        return None;
    }
    let (header, rest) = blob.split_at(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let id: [u8; ID_LEN] = header[MAGIC.len()..MAGIC.len() + ID_LEN].try_into().ok()?;
    Some(Parts {
        id: KekId(id),
        nonce: &header[MAGIC.len() + ID_LEN..],
        ciphertext,
        tag,
    })
}

/// Checks and decrypts a blob sealed under any key of `keyring` (picked by the id in the
/// blob) with the same `aad`.
///
/// Errors: [`SealError::Malformed`] (not a `PLS1` blob or too short),
/// [`SealError::UnknownKey`] (the key is not in the ring), [`SealError::Tampered`] (any
/// altered byte, or a different `aad`).
pub fn open(keyring: &Keyring, aad: &[u8], blob: &[u8]) -> Result<Vec<u8>, SealError> {
    let parts = split(blob).ok_or(SealError::Malformed)?;
    let kek = keyring
        .get(parts.id)
        .ok_or(SealError::UnknownKey(parts.id))?;
    decrypt_aead(
        Cipher::aes_256_gcm(),
        &kek.key,
        Some(parts.nonce),
        aad,
        parts.ciphertext,
        parts.tag,
    )
    .map_err(|_| SealError::Tampered)
}

/// The id of the key a blob claims to be sealed with (unauthenticated until [`open`]
/// succeeds), or `None` if it is not a `PLS1` blob. Useful to find blobs still to re-seal.
pub fn sealed_with(blob: &[u8]) -> Option<KekId> {
    split(blob).map(|parts| parts.id)
}

/// Opens `blob` with `keyring` and seals the plaintext again under `new` with the same `aad`
/// and a fresh nonce: the step of KEK rotation run over every stored blob.
pub fn reseal(
    keyring: &Keyring,
    new: &Kek,
    aad: &[u8],
    blob: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>, SealError> {
    let plaintext = open(keyring, aad, blob)?;
    try_seal(new, aad, &plaintext, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const AAD: &[u8] = b"matrix:tenant:1:user:42";

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(42)
    }

    #[test]
    fn round_trip_and_layout() {
        let mut rng = rng();
        let kek = Kek::generate(&mut rng);
        let id = kek.id();
        let ring = Keyring::new(kek);
        for plaintext in [
            &b""[..],
            b"x",
            b"a longer secret pattern 0,5,10,13",
            &[0u8; 1000],
        ] {
            let blob = seal(&ring.current(), AAD, plaintext, &mut rng);
            assert_eq!(blob.len(), MIN_BLOB_LEN + plaintext.len());
            assert_eq!(&blob[..4], b"PLS1");
            assert_eq!(&blob[4..12], &id.0);
            assert_eq!(sealed_with(&blob), Some(id));
            assert_eq!(open(&ring, AAD, &blob).unwrap(), plaintext);
            if !plaintext.is_empty() {
                assert!(!blob.windows(plaintext.len()).any(|w| w == plaintext));
            }
        }
        // Fresh nonce each time.
        let a = seal(&ring.current(), AAD, b"same", &mut rng);
        let b = seal(&ring.current(), AAD, b"same", &mut rng);
        assert_ne!(a, b);
    }

    #[test]
    fn any_tampered_byte_is_refused() {
        let mut rng = rng();
        let ring = Keyring::new(Kek::generate(&mut rng));
        let blob = seal(&ring.current(), AAD, b"0,5,10,13,30,47", &mut rng);
        for i in 0..blob.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = blob.clone();
                bad[i] ^= bit;
                let err = open(&ring, AAD, &bad).unwrap_err();
                match i {
                    0..=3 => assert!(matches!(err, SealError::Malformed), "{i}: {err:?}"),
                    4..=11 => assert!(matches!(err, SealError::UnknownKey(_)), "{i}: {err:?}"),
                    _ => assert!(matches!(err, SealError::Tampered), "{i}: {err:?}"),
                }
            }
        }
        // Truncated or extended blobs.
        let mut longer = blob.clone();
        longer.push(0);
        assert!(matches!(
            open(&ring, AAD, &longer),
            Err(SealError::Tampered)
        ));
        assert!(matches!(
            open(&ring, AAD, &blob[..blob.len() - 1]),
            Err(SealError::Tampered)
        ));
        for n in 0..MIN_BLOB_LEN {
            assert!(
                matches!(open(&ring, AAD, &blob[..n]), Err(SealError::Malformed)),
                "{n}"
            );
            assert_eq!(sealed_with(&blob[..n]), None);
        }
    }

    #[test]
    fn wrong_aad_is_refused() {
        let mut rng = rng();
        let ring = Keyring::new(Kek::generate(&mut rng));
        let blob = seal(&ring.current(), AAD, b"secret", &mut rng);
        for aad in [
            &b"matrix:tenant:1:user:43"[..],
            b"",
            b"matrix:tenant:1:user:42 ",
        ] {
            assert!(matches!(open(&ring, aad, &blob), Err(SealError::Tampered)));
        }
    }

    #[test]
    fn unknown_key() {
        let mut rng = rng();
        let a = Kek::generate(&mut rng);
        let b = Kek::generate(&mut rng);
        let a_id = a.id();
        let blob = seal(&a, AAD, b"secret", &mut rng);
        let ring = Keyring::new(b);
        match open(&ring, AAD, &blob) {
            Err(SealError::UnknownKey(id)) => assert_eq!(id, a_id),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rotation() {
        let mut rng = rng();
        let old = Kek::generate(&mut rng);
        let old_bytes = *old.expose_bytes();
        let old_id = old.id();
        let blob = seal(&old, AAD, b"secret", &mut rng);

        let new = Kek::generate(&mut rng);
        let new_id = new.id();
        assert_ne!(old_id, new_id);
        let ring = Keyring::new(new).with_previous(old);
        assert_eq!(open(&ring, AAD, &blob).unwrap(), b"secret");
        assert_eq!(ring.get(old_id).map(|k| k.id()), Some(old_id));
        assert_eq!(ring.get(new_id).map(|k| k.id()), Some(new_id));
        assert!(ring.get(KekId([0; 8])).is_none());

        let resealed = reseal(&ring, &ring.current(), AAD, &blob, &mut rng).unwrap();
        assert_eq!(sealed_with(&resealed), Some(new_id));
        // Only the new key is needed now.
        let new_only = Keyring::new(Kek::from_bytes(ring.current().expose_bytes()).unwrap());
        assert_eq!(open(&new_only, AAD, &resealed).unwrap(), b"secret");
        assert!(
            matches!(open(&new_only, AAD, &blob), Err(SealError::UnknownKey(id)) if id == old_id)
        );
        // Reseal keeps the AAD binding and refuses bad input.
        assert!(matches!(
            reseal(&ring, &ring.current(), b"other", &blob, &mut rng),
            Err(SealError::Tampered)
        ));
        assert!(matches!(
            reseal(&new_only, &ring.current(), AAD, &blob, &mut rng),
            Err(SealError::UnknownKey(_))
        ));
        // Keys restored from bytes keep their id.
        assert_eq!(Kek::from_bytes(&old_bytes).unwrap().id(), old_id);
    }

    #[test]
    fn key_lengths_and_ids() {
        for n in [0usize, 16, 31, 33, 64] {
            assert!(matches!(
                Kek::from_bytes(&vec![7u8; n]),
                Err(SealError::BadKeyLength)
            ));
        }
        let k = Kek::from_bytes(&[0u8; 32]).unwrap();
        let mut h = Sha256::new();
        h.update(b"passlogic-kek-id");
        h.update([0u8; 32]);
        let d = h.finalize();
        assert_eq!(k.id().0, d[..8]);
        let hex = k.id().to_string();
        assert_eq!(hex.len(), 16);
        assert!(hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(
            KekId([0xab, 0, 1, 0xff, 0x10, 2, 3, 4]).to_string(),
            "ab0001ff10020304"
        );
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let bytes: [u8; 32] = core::array::from_fn(|i| 0xa0 + i as u8);
        let k = Kek::from_bytes(&bytes).unwrap();
        let s = format!("{k:?}");
        assert_eq!(s, format!("Kek(id={})", k.id()));
        let ring = Keyring::new(k).with_previous(Kek::from_bytes(&[0x5a; 32]).unwrap());
        let s = format!("{ring:?} {:#?}", ring.current());
        for b in bytes.iter().chain(&[0x5a]) {
            assert!(!s.contains(&format!("{b}, ")), "{s}");
            assert!(
                !s.to_lowercase()
                    .contains(&format!("{b:02x}{:02x}", b.wrapping_add(1))),
                "{s}"
            );
        }
        assert!(!s.contains("90, 90"));
        let err = format!(
            "{:?} {}",
            SealError::BadKeyLength,
            SealError::UnknownKey(ring.current().id())
        );
        assert!(err.contains(&ring.current().id().to_string()));
    }

    #[test]
    fn replace_with_takes_up_new_keys_and_keeps_old_ones_for_opening() {
        let mut rng = rng();
        let old = Kek::generate(&mut rng);
        let old_id = old.id();
        let ring = Keyring::new(old);
        let before = seal(&ring.current(), AAD, b"sealed before", &mut rng);
        let next = Kek::generate(&mut rng);
        let next_id = next.id();
        // Phase 1: the new key appears as an opening key; sealing still uses the old one.
        let file = Keyring::new(Kek::from_bytes(ring.current().expose_bytes()).unwrap())
            .with_previous(Kek::from_bytes(next.expose_bytes()).unwrap());
        ring.replace_with(file);
        assert_eq!(ring.current().id(), old_id);
        assert_eq!(ring.ids(), vec![old_id, next_id]);
        let by_rotation = seal(&next, AAD, b"resealed", &mut rng);
        assert_eq!(open(&ring, AAD, &by_rotation).unwrap(), b"resealed");
        // Phase 2: the new key is current; the old one still opens what was sealed under it.
        ring.replace_with(Keyring::new(next));
        assert_eq!(ring.current().id(), next_id);
        assert_eq!(ring.ids(), vec![next_id, old_id]);
        assert_eq!(open(&ring, AAD, &before).unwrap(), b"sealed before");
        let after = seal(&ring.current(), AAD, b"after", &mut rng);
        assert_eq!(sealed_with(&after), Some(next_id));
    }
}
