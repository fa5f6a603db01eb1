//! Registered browsers (device cookies): the cookie token is stored as its SHA-256 only.

use super::Store;

/// A registered device as users and administrators see it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceRow {
    /// Random public identifier (not the cookie token).
    pub id: String,
    /// The owner.
    #[serde(skip)]
    pub user_id: i64,
    /// Browser summary from the User-Agent at registration.
    pub label: String,
    /// UNIX seconds.
    pub created_at: i64,
    /// UNIX seconds of the last sign-in that presented it.
    pub last_used_at: i64,
}

type Raw = (String, i64, String, i64, i64);

fn row(r: Raw) -> DeviceRow {
    DeviceRow {
        id: r.0,
        user_id: r.1,
        label: r.2,
        created_at: r.3,
        last_used_at: r.4,
    }
}

/// What registering a device did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Stored.
    Registered,
    /// The user has `limit` devices already; nothing stored.
    LimitReached,
}

impl Store {
    /// Registers a device for a user unless they have `limit` already. The user's row is
    /// locked first (a no-op update inside the transaction), so parallel registrations of one
    /// user are serialised and the limit holds.
    #[allow(clippy::too_many_arguments)]
    pub async fn register_device(
        &self,
        tenant_id: i64,
        user_id: i64,
        id: &str,
        token_hash: &str,
        label: &str,
        limit: u32,
        now: i64,
    ) -> anyhow::Result<Registration> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        if count >= i64::from(limit) {
            tx.rollback().await?;
            return Ok(Registration::LimitReached);
        }
        sqlx::query(
            "INSERT INTO devices (id, token_hash, tenant_id, user_id, label, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(tenant_id)
        .bind(user_id)
        .bind(label)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Registration::Registered)
    }

    /// The device whose cookie token hashes to this, if registered.
    pub async fn device_by_token(&self, token_hash: &str) -> anyhow::Result<Option<DeviceRow>> {
        let r: Option<Raw> = sqlx::query_as(
            "SELECT id, user_id, label, created_at, last_used_at FROM devices WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(row))
    }

    /// Records a use of a device.
    pub async fn touch_device(&self, id: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE devices SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A user's devices, oldest first.
    pub async fn devices(&self, user_id: i64) -> anyhow::Result<Vec<DeviceRow>> {
        let rows: Vec<Raw> = sqlx::query_as(
            "SELECT id, user_id, label, created_at, last_used_at FROM devices \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(row).collect())
    }

    /// Removes one of a user's devices. `Ok(false)`: no such device of that user.
    pub async fn delete_device(&self, user_id: i64, id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM devices WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
