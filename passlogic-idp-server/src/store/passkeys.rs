//! Passkeys (WebAuthn credentials) and their single-use challenges.

use super::Store;

/// A registered passkey.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PasskeyRow {
    /// Random public identifier (for lists and removal).
    pub id: String,
    /// The authenticator's credential ID, Base64url.
    pub credential_id: String,
    /// The owner.
    #[serde(skip)]
    pub user_id: i64,
    /// COSE_Key bytes.
    #[serde(skip)]
    pub public_key: Vec<u8>,
    /// COSE algorithm.
    pub alg: i64,
    /// Last signature counter seen.
    pub sign_count: i64,
    /// Backup eligible (synced passkey).
    pub backup_eligible: bool,
    /// Backed up at the last use.
    pub backup_state: bool,
    /// Authenticator model (hex; zero without attestation).
    pub aaguid: String,
    /// Reported transports, comma-separated.
    pub transports: String,
    /// The user's name for it.
    pub label: String,
    /// UNIX seconds.
    pub created_at: i64,
    /// UNIX seconds of the last sign-in with it.
    pub last_used_at: i64,
}

type Raw = (
    String,
    String,
    i64,
    Vec<u8>,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    i64,
);

const COLUMNS: &str = "id, credential_id, user_id, public_key, alg, sign_count, backup_eligible, \
                       backup_state, aaguid, transports, label, created_at, last_used_at";

fn row(r: Raw) -> PasskeyRow {
    PasskeyRow {
        id: r.0,
        credential_id: r.1,
        user_id: r.2,
        public_key: r.3,
        alg: r.4,
        sign_count: r.5,
        backup_eligible: super::flag(r.6),
        backup_state: super::flag(r.7),
        aaguid: r.8,
        transports: r.9,
        label: r.10,
        created_at: r.11,
        last_used_at: r.12,
    }
}

impl Store {
    /// Stores a new passkey. `Ok(false)`: that credential ID is registered already (to anyone).
    pub async fn insert_passkey(&self, tenant_id: i64, p: &PasskeyRow) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO passkeys (id, credential_id, tenant_id, user_id, public_key, alg, \
             sign_count, backup_eligible, backup_state, aaguid, transports, label, created_at, \
             last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (credential_id) DO NOTHING",
        )
        .bind(&p.id)
        .bind(&p.credential_id)
        .bind(tenant_id)
        .bind(p.user_id)
        .bind(&p.public_key)
        .bind(p.alg)
        .bind(p.sign_count)
        .bind(i64::from(p.backup_eligible))
        .bind(i64::from(p.backup_state))
        .bind(&p.aaguid)
        .bind(&p.transports)
        .bind(&p.label)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A user's passkeys, oldest first.
    pub async fn passkeys(&self, user_id: i64) -> anyhow::Result<Vec<PasskeyRow>> {
        let rows: Vec<Raw> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(row).collect())
    }

    /// The passkey with this credential ID (Base64url), whoever owns it.
    pub async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> anyhow::Result<Option<PasskeyRow>> {
        let r: Option<Raw> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(row))
    }

    /// Records a use: the new counter by compare-and-set on the old one, so two concurrent
    /// assertions cannot both move it. `Ok(false)`: the counter changed meanwhile.
    pub async fn use_passkey(
        &self,
        id: &str,
        old_count: i64,
        new_count: i64,
        backup_state: bool,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE passkeys SET sign_count = $3, backup_state = $4, last_used_at = $5 \
             WHERE id = $1 AND sign_count = $2",
        )
        .bind(id)
        .bind(old_count)
        .bind(new_count)
        .bind(i64::from(backup_state))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes one of a user's passkeys. `Ok(false)`: no such passkey of that user.
    pub async fn delete_passkey(&self, user_id: i64, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores an issued challenge (SHA-256 hex) for a purpose and owner.
    pub async fn create_passkey_challenge(
        &self,
        challenge_hash: &str,
        purpose: &str,
        owner: &str,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO passkey_challenges (challenge_hash, purpose, owner, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(challenge_hash)
        .bind(purpose)
        .bind(owner)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a live challenge of this purpose and owner once: `true` for exactly one caller,
    /// on any node.
    pub async fn take_passkey_challenge(
        &self,
        challenge_hash: &str,
        purpose: &str,
        owner: &str,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "DELETE FROM passkey_challenges \
             WHERE challenge_hash = $1 AND purpose = $2 AND owner = $3 AND expires_at > $4",
        )
        .bind(challenge_hash)
        .bind(purpose)
        .bind(owner)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
