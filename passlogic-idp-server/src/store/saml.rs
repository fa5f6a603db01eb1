//! SAML 2.0 identity provider state: the sealed signing key, registered service providers,
//! AuthnRequests waiting for a sign-in to finish, the SPs that got an assertion in a session
//! (for single logout) and front-channel logouts in progress.
//!
//! SP settings are the core's `ServiceProvider` as JSON. A pending request is consumed once by
//! `DELETE ... RETURNING` (one caller wins, on any node).

use passlogic_idp_core::saml::ServiceProvider;

use super::Store;

impl Store {
    // -- signing key ----------------------------------------------------------------------

    /// The tenant's sealed SAML signing key, if one was created.
    pub async fn saml_signing_key(&self, tenant_id: i64) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT sealed FROM saml_signing_keys WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores the first signing key; `false` if another node (or process) was first.
    pub async fn create_saml_signing_key(
        &self,
        tenant_id: i64,
        sealed: &[u8],
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO saml_signing_keys (tenant_id, sealed, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(sealed)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every sealed SAML signing key (tenant, blob), for KEK rotation.
    pub async fn sealed_saml_signing_keys(&self) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
        Ok(
            sqlx::query_as("SELECT tenant_id, sealed FROM saml_signing_keys ORDER BY tenant_id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Writes re-sealed signing keys (KEK rotation), in one transaction.
    pub async fn replace_saml_signing_keys(&self, rows: &[(i64, Vec<u8>)]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (tenant_id, sealed) in rows {
            sqlx::query("UPDATE saml_signing_keys SET sealed = $2 WHERE tenant_id = $1")
                .bind(tenant_id)
                .bind(sealed)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // -- service providers ----------------------------------------------------------------

    /// Registers an SP; `false` if its entity ID is taken.
    pub async fn create_saml_sp(
        &self,
        tenant_id: i64,
        sp: &ServiceProvider,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO saml_service_providers (tenant_id, entity_id, settings, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(&sp.entity_id)
        .bind(serde_json::to_string(sp)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The SP registered under exactly this entity ID.
    pub async fn saml_sp(
        &self,
        tenant_id: i64,
        entity_id: &str,
    ) -> anyhow::Result<Option<ServiceProvider>> {
        let row: Option<String> = sqlx::query_scalar(
            "SELECT settings FROM saml_service_providers WHERE tenant_id = $1 AND entity_id = $2",
        )
        .bind(tenant_id)
        .bind(entity_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|s| serde_json::from_str(&s).map_err(anyhow::Error::from))
            .transpose()
    }

    /// Every registered SP, by entity ID.
    pub async fn saml_sps(&self, tenant_id: i64) -> anyhow::Result<Vec<ServiceProvider>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT settings FROM saml_service_providers WHERE tenant_id = $1 ORDER BY entity_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|s| serde_json::from_str(s).map_err(anyhow::Error::from))
            .collect()
    }

    // -- pending requests -----------------------------------------------------------------

    /// Keeps a validated request until the sign-in finishes.
    pub async fn put_saml_pending(
        &self,
        id: &str,
        tenant_id: i64,
        data: &str,
        now: i64,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO saml_pending_requests (id, tenant_id, data, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(data)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A live pending request (data, created_at) without consuming it.
    pub async fn saml_pending(
        &self,
        id: &str,
        tenant_id: i64,
        now: i64,
    ) -> anyhow::Result<Option<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT data, created_at FROM saml_pending_requests \
             WHERE id = $1 AND tenant_id = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Consumes a pending request: `Some(data)` for exactly one caller.
    pub async fn take_saml_pending(
        &self,
        id: &str,
        tenant_id: i64,
        now: i64,
    ) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM saml_pending_requests WHERE id = $1 AND tenant_id = $2 AND expires_at > $3 \
             RETURNING data",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    // -- single logout --------------------------------------------------------------------

    /// Records that `sp.entity_id` got an assertion in session `session_id` (the latest
    /// NameID and SessionIndex win).
    pub async fn put_saml_session_sp(
        &self,
        tenant_id: i64,
        sp: &SamlSessionSp,
        now: i64,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO saml_session_sps (session_id, tenant_id, entity_id, name_id, \
             name_id_format, session_index, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (session_id, entity_id) DO UPDATE SET name_id = excluded.name_id, \
             name_id_format = excluded.name_id_format, session_index = excluded.session_index, \
             expires_at = excluded.expires_at",
        )
        .bind(&sp.session_id)
        .bind(tenant_id)
        .bind(&sp.entity_id)
        .bind(&sp.name_id)
        .bind(&sp.name_id_format)
        .bind(&sp.session_index)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The SPs of a session, by entity ID.
    pub async fn saml_session_sps(
        &self,
        tenant_id: i64,
        session_id: &str,
    ) -> anyhow::Result<Vec<SamlSessionSp>> {
        Ok(sqlx::query_as(
            "SELECT session_id, entity_id, name_id, name_id_format, session_index \
             FROM saml_session_sps WHERE tenant_id = $1 AND session_id = $2 ORDER BY entity_id",
        )
        .bind(tenant_id)
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The sessions in which `entity_id` got an assertion for `name_id` (live rows only).
    pub async fn saml_sessions_for(
        &self,
        tenant_id: i64,
        entity_id: &str,
        name_id: &str,
        now: i64,
    ) -> anyhow::Result<Vec<SamlSessionSp>> {
        Ok(sqlx::query_as(
            "SELECT session_id, entity_id, name_id, name_id_format, session_index \
             FROM saml_session_sps WHERE tenant_id = $1 AND entity_id = $2 AND name_id = $3 \
             AND expires_at > $4 ORDER BY session_id",
        )
        .bind(tenant_id)
        .bind(entity_id)
        .bind(name_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Forgets the SPs of a session (it has been logged out).
    pub async fn delete_saml_session_sps(
        &self,
        tenant_id: i64,
        session_id: &str,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM saml_session_sps WHERE tenant_id = $1 AND session_id = $2")
            .bind(tenant_id)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Keeps a logout in progress under `id` (the ID of the LogoutRequest we sent last).
    pub async fn put_saml_logout(
        &self,
        id: &str,
        tenant_id: i64,
        data: &str,
        now: i64,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO saml_logouts (id, tenant_id, data, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(data)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Consumes a logout in progress: `Some(data)` for exactly one caller.
    pub async fn take_saml_logout(
        &self,
        id: &str,
        tenant_id: i64,
        now: i64,
    ) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM saml_logouts WHERE id = $1 AND tenant_id = $2 AND expires_at > $3 \
             RETURNING data",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// An SP that got an assertion in a session: what a LogoutRequest to it must name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct SamlSessionSp {
    /// `sessions.id` (SHA-256 of the cookie token).
    pub session_id: String,
    /// The SP.
    pub entity_id: String,
    /// The NameID value we issued.
    pub name_id: String,
    /// Its Format.
    pub name_id_format: String,
    /// The SessionIndex we issued.
    pub session_index: String,
}
