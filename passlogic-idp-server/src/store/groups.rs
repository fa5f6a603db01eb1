//! Listing groups and policies, and group membership removal: what the admin API and the
//! access check read beyond the sign-in's own queries in `directory`.

use super::Store;

/// A group as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupRow {
    /// Unique per tenant.
    pub name: String,
    /// `department`, `position` or `adhoc`.
    pub kind: String,
    /// Name of the group's factor policy, if any.
    pub policy: Option<String>,
    /// Lower wins when a user's groups disagree.
    pub priority: i64,
    /// Number of members.
    pub members: i64,
}

impl Store {
    /// Every group of a tenant, by name.
    pub async fn list_groups(&self, tenant_id: i64) -> anyhow::Result<Vec<GroupRow>> {
        let rows: Vec<(String, String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT g.name, g.kind, p.name, g.priority, \
             (SELECT COUNT(*) FROM user_groups ug WHERE ug.group_id = g.id) \
             FROM groups g LEFT JOIN policies p ON p.id = g.policy_id \
             WHERE g.tenant_id = $1 ORDER BY g.name",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, kind, policy, priority, members)| GroupRow {
                name,
                kind,
                policy,
                priority,
                members,
            })
            .collect())
    }

    /// Sets a group's kind.
    pub async fn set_group_kind(&self, group_id: i64, kind: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE groups SET kind = $2 WHERE id = $1")
            .bind(group_id)
            .bind(kind)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Names of every policy of a tenant, sorted.
    pub async fn policy_names(&self, tenant_id: i64) -> anyhow::Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM policies WHERE tenant_id = $1 ORDER BY name")
                .bind(tenant_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Takes a user out of a group. `Ok(false)`: they were not in it.
    pub async fn remove_from_group(&self, user_id: i64, group_id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM user_groups WHERE user_id = $1 AND group_id = $2")
            .bind(user_id)
            .bind(group_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A user's groups with their priorities (the access policy's precedence input).
    pub async fn user_group_priorities(&self, user_id: i64) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT g.name, g.priority FROM user_groups ug JOIN groups g ON g.id = ug.group_id \
             WHERE ug.user_id = $1 ORDER BY g.priority, g.name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
