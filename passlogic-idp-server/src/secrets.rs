//! Sealing and opening the per-user factor secrets, with the associated data that binds each
//! blob to its row (a blob copied to another user's row does not open).

use passlogic_idp_core::factor::matrix::MatrixSecret;
use passlogic_idp_core::seal::{self, Keyring};

/// Associated data for a user's matrix secret.
pub fn matrix_aad(tenant_id: i64, user_id: i64) -> Vec<u8> {
    format!("passlogic:matrix:tenant:{tenant_id}:user:{user_id}").into_bytes()
}

/// Seals a matrix secret under the current KEK.
pub fn seal_matrix(ring: &Keyring, tenant_id: i64, user_id: i64, secret: &MatrixSecret) -> Vec<u8> {
    seal::seal(
        ring.current(),
        &matrix_aad(tenant_id, user_id),
        &secret.to_bytes(),
        &mut rand::rngs::OsRng,
    )
}

/// Opens a user's sealed matrix secret.
pub fn open_matrix(
    ring: &Keyring,
    tenant_id: i64,
    user_id: i64,
    blob: &[u8],
) -> anyhow::Result<MatrixSecret> {
    let plain = seal::open(ring, &matrix_aad(tenant_id, user_id), blob)
        .map_err(|e| anyhow::anyhow!("cannot open the matrix secret of user {user_id}: {e}"))?;
    MatrixSecret::from_bytes(&plain)
        .map_err(|e| anyhow::anyhow!("matrix secret of user {user_id}: {e}"))
}
