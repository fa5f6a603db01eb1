//! One-time-use records shared by every node.

use super::Store;

impl Store {
    /// Marks `(kind, key)` as used until `expires_at`; `true` for the first caller only, on any
    /// node (the primary key decides). Used for OTP time steps, authorization codes, request IDs.
    pub async fn use_once(&self, kind: &str, key: &str, expires_at: i64) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO used_once (kind, key, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(kind)
        .bind(key)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
