//! Web apps protected by forward authentication, one per host name.

use super::Store;

/// A protected app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardAppRow {
    /// Name policies refer to (`AuthPolicy::forward_auth_apps`).
    pub name: String,
    /// Host name the proxy forwards for (lowercase, no port).
    pub host: String,
}

impl Store {
    /// Registers an app; `false` if the name or host is taken.
    pub async fn create_forward_app(
        &self,
        tenant_id: i64,
        app: &ForwardAppRow,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO forward_auth_apps (tenant_id, name, host, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(&app.name)
        .bind(&app.host)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The app registered for `host`, if any.
    pub async fn forward_app_by_host(
        &self,
        tenant_id: i64,
        host: &str,
    ) -> anyhow::Result<Option<ForwardAppRow>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT name, host FROM forward_auth_apps WHERE tenant_id = $1 AND host = $2",
        )
        .bind(tenant_id)
        .bind(host)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(name, host)| ForwardAppRow { name, host }))
    }

    /// The tenant's apps, by name.
    pub async fn forward_apps(&self, tenant_id: i64) -> anyhow::Result<Vec<ForwardAppRow>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, host FROM forward_auth_apps WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, host)| ForwardAppRow { name, host })
            .collect())
    }
}
