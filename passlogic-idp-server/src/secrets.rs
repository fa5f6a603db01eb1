//! Sealing and opening the per-user factor secrets, with associated data that binds each blob
//! to its row: a blob copied to another user's row (or another token) does not open.

use passlogic_idp_core::factor::matrix::MatrixSecret;
use passlogic_idp_core::seal::{self, Keyring};

/// Associated data for a secret of `kind` (`matrix`, `totp`, `bingo`) owned by a user.
pub fn user_aad(kind: &str, tenant_id: i64, user_id: i64) -> Vec<u8> {
    format!("passlogic:{kind}:tenant:{tenant_id}:user:{user_id}").into_bytes()
}

/// Associated data for a hardware token's seed.
pub fn token_aad(tenant_id: i64, serial: &str) -> Vec<u8> {
    format!("passlogic:token:tenant:{tenant_id}:serial:{serial}").into_bytes()
}

/// Associated data for a user's matrix secret.
pub fn matrix_aad(tenant_id: i64, user_id: i64) -> Vec<u8> {
    user_aad("matrix", tenant_id, user_id)
}

/// Seals bytes under the current KEK.
pub fn seal_bytes(ring: &Keyring, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    seal::seal(&ring.current(), aad, plain, &mut rand::rngs::OsRng)
}

/// Opens sealed bytes.
pub fn open_bytes(ring: &Keyring, aad: &[u8], blob: &[u8]) -> anyhow::Result<Vec<u8>> {
    seal::open(ring, aad, blob).map_err(|e| anyhow::anyhow!("cannot open a sealed secret: {e}"))
}

/// Seals a matrix secret under the current KEK.
pub fn seal_matrix(ring: &Keyring, tenant_id: i64, user_id: i64, secret: &MatrixSecret) -> Vec<u8> {
    seal_bytes(ring, &matrix_aad(tenant_id, user_id), &secret.to_bytes())
}

/// Opens a user's sealed matrix secret.
pub fn open_matrix(
    ring: &Keyring,
    tenant_id: i64,
    user_id: i64,
    blob: &[u8],
) -> anyhow::Result<MatrixSecret> {
    let plain = open_bytes(ring, &matrix_aad(tenant_id, user_id), blob)?;
    MatrixSecret::from_bytes(&plain)
        .map_err(|e| anyhow::anyhow!("matrix secret of user {user_id}: {e}"))
}
