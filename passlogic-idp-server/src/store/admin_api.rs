//! Admin API tokens (stored as SHA-256 hashes of the bearer token) and the tenant's access
//! policy (the core's `policy::engine::AccessPolicy` as JSON).

use passlogic_idp_core::policy::engine::AccessPolicy;

use super::{AuditEvent, Store};

/// An API token as stored: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// Owning tenant.
    pub tenant_id: i64,
    /// Name given at creation (the audit trail's actor is `api:NAME`).
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// UNIX seconds.
    pub created_at: i64,
    /// UNIX seconds; `None`: no expiry.
    pub expires_at: Option<i64>,
    /// UNIX seconds, once revoked.
    pub revoked_at: Option<i64>,
}

type RawToken = (i64, String, String, i64, Option<i64>, Option<i64>);

fn token_row(r: RawToken) -> ApiTokenRow {
    ApiTokenRow {
        tenant_id: r.0,
        name: r.1,
        scopes: r.2.split_whitespace().map(str::to_owned).collect(),
        created_at: r.3,
        expires_at: r.4,
        revoked_at: r.5,
    }
}

const TOKEN_COLUMNS: &str = "tenant_id, name, scopes, created_at, expires_at, revoked_at";

impl Store {
    /// Records a new token under its hash. `Ok(false)`: the name is taken.
    pub async fn create_api_token(
        &self,
        row: &ApiTokenRow,
        token_hash: &str,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (tenant_id, name, token_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(row.tenant_id)
        .bind(&row.name)
        .bind(token_hash)
        .bind(row.scopes.join(" "))
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The token whose hash this is, revoked or not (the caller decides).
    pub async fn api_token_by_hash(&self, token_hash: &str) -> anyhow::Result<Option<ApiTokenRow>> {
        let row: Option<RawToken> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(token_row))
    }

    /// Every token of a tenant, by name.
    pub async fn api_tokens(&self, tenant_id: i64) -> anyhow::Result<Vec<ApiTokenRow>> {
        let rows: Vec<RawToken> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(token_row).collect())
    }

    /// Revokes a token by name. `Ok(false)`: no such live token.
    pub async fn revoke_api_token(
        &self,
        tenant_id: i64,
        name: &str,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE tenant_id = $2 AND name = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The tenant's access policy; `None` when none was ever set.
    pub async fn access_policy(&self, tenant_id: i64) -> anyhow::Result<Option<AccessPolicy>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT settings FROM access_policies WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(s,)| serde_json::from_str(&s).map_err(anyhow::Error::from))
            .transpose()
    }

    /// Replaces the tenant's access policy (validated by the caller).
    pub async fn put_access_policy(
        &self,
        tenant_id: i64,
        policy: &AccessPolicy,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO access_policies (tenant_id, settings, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET settings = $2, updated_at = $3",
        )
        .bind(tenant_id)
        .bind(serde_json::to_string(policy)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the tenant's access policy (back to "every service for every user").
    pub async fn delete_access_policy(&self, tenant_id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM access_policies WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest audit events of a tenant, with details, newest first.
    pub async fn audit_page(&self, tenant_id: i64, limit: i64) -> anyhow::Result<Vec<AuditEvent>> {
        type Raw = (i64, String, String, String, String, String, Option<String>);
        let rows: Vec<Raw> = sqlx::query_as(
            "SELECT at, actor, event, subject, outcome, detail, source_ip FROM audit_events \
             WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(tenant_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEvent {
                at: r.0,
                tenant_id: Some(tenant_id),
                actor: r.1,
                event: r.2,
                subject: r.3,
                outcome: r.4,
                detail: serde_json::from_str(&r.5).unwrap_or(serde_json::Value::Null),
                source_ip: r.6,
            })
            .collect())
    }

    /// Deletes a token by name (the demo replaces its token at every start).
    pub async fn delete_api_token(&self, tenant_id: i64, name: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM api_tokens WHERE tenant_id = $1 AND name = $2")
            .bind(tenant_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
