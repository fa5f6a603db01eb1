//! The audit trail: every security-relevant event, in the store.

use super::Store;

/// One audit record. `detail` is JSON and must never hold a secret.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    /// UNIX seconds.
    pub at: i64,
    /// Tenant, when known.
    pub tenant_id: Option<i64>,
    /// Who acted: a user name, `cli`, `system`, or `anonymous`.
    pub actor: String,
    /// Dotted event name, e.g. `signin.failure`.
    pub event: String,
    /// What it concerned (a user name, a key id).
    pub subject: String,
    /// `success`, `failure`, or `info`.
    pub outcome: String,
    /// Extra facts as a JSON object.
    pub detail: serde_json::Value,
    /// Client address, when the event came over the network.
    pub source_ip: Option<String>,
}

impl Store {
    /// Appends an event to the audit trail.
    pub async fn audit(&self, e: &AuditEvent) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, tenant_id, actor, event, subject, outcome, detail, source_ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.at)
        .bind(e.tenant_id)
        .bind(&e.actor)
        .bind(&e.event)
        .bind(&e.subject)
        .bind(&e.outcome)
        .bind(e.detail.to_string())
        .bind(e.source_ip.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The most recent events, newest first (for the CLI and tests).
    pub async fn recent_audit(
        &self,
        limit: i64,
    ) -> anyhow::Result<Vec<(i64, String, String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT at, actor, event, subject, outcome FROM audit_events ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
