//! How services appear on the user portal (migration 0017): the `portal` JSON column of
//! `oidc_clients` and `saml_service_providers` (see [`crate::portal::PortalInfo`]).

use super::Store;

/// One registered service with its portal settings (JSON text, if any).
#[derive(Clone, Debug)]
pub struct PortalServiceRow {
    /// `saml` or `oidc`.
    pub kind: &'static str,
    /// The SAML entity ID or the OIDC client ID.
    pub id: String,
    /// The stored `portal` JSON, if set.
    pub portal: Option<String>,
}

impl Store {
    /// Sets the portal settings of an OIDC client; `false` if there is no such client.
    pub async fn set_oidc_client_portal(
        &self,
        tenant_id: i64,
        client_id: &str,
        portal: Option<&str>,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE oidc_clients SET portal = $1 WHERE tenant_id = $2 AND client_id = $3",
        )
        .bind(portal.map(str::to_owned))
        .bind(tenant_id)
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Sets the portal settings of a SAML SP; `false` if there is no such SP.
    pub async fn set_saml_sp_portal(
        &self,
        tenant_id: i64,
        entity_id: &str,
        portal: Option<&str>,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE saml_service_providers SET portal = $1 WHERE tenant_id = $2 AND entity_id = $3",
        )
        .bind(portal.map(str::to_owned))
        .bind(tenant_id)
        .bind(entity_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every SAML SP and OIDC client of a tenant with its portal settings, SAML first, each
    /// kind ordered by ID.
    pub async fn portal_services(&self, tenant_id: i64) -> anyhow::Result<Vec<PortalServiceRow>> {
        let saml: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT entity_id, portal FROM saml_service_providers WHERE tenant_id = $1 \
             ORDER BY entity_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        let oidc: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT client_id, portal FROM oidc_clients WHERE tenant_id = $1 ORDER BY client_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        let saml = saml.into_iter().map(|(id, portal)| PortalServiceRow {
            kind: "saml",
            id,
            portal,
        });
        let oidc = oidc.into_iter().map(|(id, portal)| PortalServiceRow {
            kind: "oidc",
            id,
            portal,
        });
        Ok(saml.chain(oidc).collect())
    }
}
