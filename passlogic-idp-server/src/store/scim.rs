//! What the SCIM endpoint needs beyond the directory queries: groups by id with their members,
//! renaming users and groups, replacing a group's members in one transaction, deleting a group.

use super::Store;

impl Store {
    /// Every group of a tenant as (id, name), by name.
    pub async fn group_ids_and_names(&self, tenant_id: i64) -> anyhow::Result<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT id, name FROM groups WHERE tenant_id = $1 ORDER BY name")
                .bind(tenant_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The SCIM `externalId` of every group that has one, as (group id, external id).
    pub async fn group_external_ids(&self, tenant_id: i64) -> anyhow::Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, external_id FROM groups WHERE tenant_id = $1 \
             AND external_id IS NOT NULL",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets (or clears) a group's SCIM `externalId`.
    pub async fn set_group_external_id(
        &self,
        tenant_id: i64,
        id: i64,
        external_id: Option<&str>,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE groups SET external_id = $3 WHERE id = $2 AND tenant_id = $1")
            .bind(tenant_id)
            .bind(id)
            .bind(external_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every membership of a tenant as (group id, user id, user name).
    pub async fn group_memberships(
        &self,
        tenant_id: i64,
    ) -> anyhow::Result<Vec<(i64, i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT ug.group_id, u.id, u.name FROM user_groups ug \
             JOIN users u ON u.id = ug.user_id WHERE u.tenant_id = $1 ORDER BY u.name",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Changes a user's sign-in name; `false` when the name is taken.
    pub async fn rename_user(&self, user_id: i64, name: &str, now: i64) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE users SET name = $2, updated_at = $3 WHERE id = $1 AND NOT EXISTS \
             (SELECT 1 FROM users o WHERE o.tenant_id = users.tenant_id AND o.name = $2 \
              AND o.id <> $1)",
        )
        .bind(user_id)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Renames a group; `false` when the name is taken.
    pub async fn rename_group(&self, tenant_id: i64, id: i64, name: &str) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE groups SET name = $3 WHERE id = $2 AND tenant_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM groups o WHERE o.tenant_id = $1 AND o.name = $3 AND o.id <> $2)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces a group's members (all or nothing).
    pub async fn set_group_members(&self, group_id: i64, user_ids: &[i64]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM user_groups WHERE group_id = $1")
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        for u in user_ids {
            sqlx::query(
                "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(*u)
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a group (its memberships go with it); `false` when no such group.
    pub async fn delete_group(&self, tenant_id: i64, id: i64) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM user_groups WHERE group_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("DELETE FROM groups WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    /// Deletes a user of the tenant (factors, sessions, memberships cascade); `false` when no
    /// such user.
    pub async fn delete_user(&self, tenant_id: i64, user_id: i64) -> anyhow::Result<bool> {
        let r = sqlx::query("DELETE FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(user_id)
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
