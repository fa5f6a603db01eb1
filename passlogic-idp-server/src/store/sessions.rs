//! Signed-in sessions.

use super::Store;

/// A stored session; `id` is the hash of the cookie token.
#[derive(Clone, Debug)]
pub struct SessionRow {
    /// SHA-256 (hex) of the cookie token.
    pub id: String,
    /// Tenant.
    pub tenant_id: i64,
    /// Signed-in user.
    pub user_id: i64,
    /// Authentication methods used (RFC 8176 values and ours).
    pub amr: Vec<String>,
    /// When the user authenticated (UNIX seconds).
    pub auth_time: i64,
    /// UNIX seconds after which the session is void.
    pub expires_at: i64,
}

impl Store {
    /// Records a new session.
    pub async fn create_session(&self, s: &SessionRow, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, user_id, amr, auth_time, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(s.tenant_id)
        .bind(s.user_id)
        .bind(serde_json::to_string(&s.amr)?)
        .bind(s.auth_time)
        .bind(now)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A live session of an enabled user.
    pub async fn session(&self, id: &str, now: i64) -> anyhow::Result<Option<SessionRow>> {
        let row: Option<(String, i64, i64, String, i64, i64)> = sqlx::query_as(
            "SELECT s.id, s.tenant_id, s.user_id, s.amr, s.auth_time, s.expires_at FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.expires_at > $2 AND u.enabled = 1",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some((id, tenant_id, user_id, amr, auth_time, expires_at)) => Ok(Some(SessionRow {
                id,
                tenant_id,
                user_id,
                amr: serde_json::from_str(&amr)?,
                auth_time,
                expires_at,
            })),
        }
    }

    /// Ends a session.
    pub async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of a user (pattern reset, disable).
    pub async fn delete_user_sessions(&self, user_id: i64) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
