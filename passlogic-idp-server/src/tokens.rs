//! Random bearer tokens for cookies, and the hashes under which the store keeps them.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new 256-bit random token, base64url without padding.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The store key for a token: SHA-256, hex. A stolen database cannot be replayed as cookies.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
