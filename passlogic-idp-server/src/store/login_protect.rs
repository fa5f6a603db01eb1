//! Login protect storage: one-time pairing codes (hashed), paired authenticator public keys
//! and each user's unlock window.

use super::Store;

/// A paired authenticator key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatorKeyRow {
    /// The owner.
    pub user_id: i64,
    /// Tenant of the owner.
    pub tenant_id: i64,
    /// Hex SHA-256 of the public key's DER.
    pub key_id: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key: String,
    /// UNIX seconds until which the login-protect step passes (0: closed).
    pub unlocked_until: i64,
}

impl Store {
    /// Stores a pairing code (its hash) for a user, replacing none: codes are random.
    pub async fn create_pairing(
        &self,
        tenant_id: i64,
        user_id: i64,
        code_hash: &str,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO authenticator_pairings (code_hash, tenant_id, user_id, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(code_hash)
        .bind(tenant_id)
        .bind(user_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a live pairing code once: deletes it and returns its user; `None` when unknown,
    /// expired or already taken (by anyone, on any node: the DELETE decides).
    pub async fn take_pairing(
        &self,
        tenant_id: i64,
        code_hash: &str,
        now: i64,
    ) -> anyhow::Result<Option<i64>> {
        let user: Option<(i64, i64)> = sqlx::query_as(
            "SELECT user_id, expires_at FROM authenticator_pairings \
             WHERE code_hash = $1 AND tenant_id = $2",
        )
        .bind(code_hash)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((user_id, expires_at)) = user else {
            return Ok(None);
        };
        let done = sqlx::query("DELETE FROM authenticator_pairings WHERE code_hash = $1")
            .bind(code_hash)
            .execute(&self.pool)
            .await?;
        Ok((done.rows_affected() == 1 && expires_at > now).then_some(user_id))
    }

    /// Registers (or replaces) a user's authenticator key; the window starts closed.
    pub async fn put_authenticator_key(
        &self,
        tenant_id: i64,
        user_id: i64,
        key_id: &str,
        public_key: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM authenticator_keys WHERE user_id = $1 OR key_id = $2")
            .bind(user_id)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO authenticator_keys \
             (user_id, tenant_id, key_id, public_key, created_at, unlocked_until) \
             VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(user_id)
        .bind(tenant_id)
        .bind(key_id)
        .bind(public_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The key with this key ID in a tenant.
    pub async fn authenticator_key(
        &self,
        tenant_id: i64,
        key_id: &str,
    ) -> anyhow::Result<Option<AuthenticatorKeyRow>> {
        self.authenticator_key_where("key_id = $1 AND tenant_id = $2", key_id, tenant_id)
            .await
    }

    /// A user's paired key.
    pub async fn authenticator_key_of(
        &self,
        user_id: i64,
    ) -> anyhow::Result<Option<AuthenticatorKeyRow>> {
        let r: Option<(i64, i64, String, String, i64)> = sqlx::query_as(
            "SELECT user_id, tenant_id, key_id, public_key, unlocked_until \
             FROM authenticator_keys WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(row))
    }

    async fn authenticator_key_where(
        &self,
        cond: &str,
        key_id: &str,
        tenant_id: i64,
    ) -> anyhow::Result<Option<AuthenticatorKeyRow>> {
        let sql = format!(
            "SELECT user_id, tenant_id, key_id, public_key, unlocked_until \
             FROM authenticator_keys WHERE {cond}"
        );
        let r: Option<(i64, i64, String, String, i64)> = sqlx::query_as(&sql)
            .bind(key_id)
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(row))
    }

    /// Opens a user's window until `until`.
    pub async fn open_unlock_window(&self, user_id: i64, until: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE authenticator_keys SET unlocked_until = $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Consumes an open window: `true` for exactly one caller while it is open at `now`.
    pub async fn consume_unlock_window(&self, user_id: i64, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE authenticator_keys SET unlocked_until = 0 \
             WHERE user_id = $1 AND unlocked_until > $2",
        )
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn row(r: (i64, i64, String, String, i64)) -> AuthenticatorKeyRow {
    AuthenticatorKeyRow {
        user_id: r.0,
        tenant_id: r.1,
        key_id: r.2,
        public_key: r.3,
        unlocked_until: r.4,
    }
}
