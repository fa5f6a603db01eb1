//! RADIUS server state: the registered clients (NAS) with their sealed shared secrets, and the
//! single-use Access-Challenge `State` values (stored as SHA-256, never as sent).

use super::{flag, Store};

/// A registered RADIUS client.
#[derive(Clone, Debug)]
pub struct RadiusClientRow {
    /// Tenant whose users the client authenticates.
    pub tenant_id: i64,
    /// Administrator's name for the client (unique per tenant).
    pub name: String,
    /// Source addresses the client sends from, as a CIDR (`192.0.2.10/32`).
    pub address: String,
    /// The shared secret, sealed under the KEK (see `crate::radius::clients`).
    pub sealed_secret: Vec<u8>,
    /// Refuse Access-Requests without Message-Authenticator (default; Blast-RADIUS).
    pub require_message_authenticator: bool,
}

/// A pending Access-Challenge: which attempt its State continues, for which client and user.
#[derive(Clone, Debug)]
pub struct RadiusStateRow {
    /// The attempt's id (hash of its token).
    pub attempt_id: String,
    /// The client the challenge was sent to.
    pub client_name: String,
    /// The User-Name of the request that got the challenge.
    pub login_name: String,
}

type ClientTuple = (i64, String, String, Vec<u8>, i64);

impl Store {
    /// Registers a client; `false` if the name is taken.
    pub async fn create_radius_client(
        &self,
        c: &RadiusClientRow,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO radius_clients (tenant_id, name, address, sealed_secret, \
             require_message_authenticator, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING",
        )
        .bind(c.tenant_id)
        .bind(&c.name)
        .bind(&c.address)
        .bind(&c.sealed_secret)
        .bind(i64::from(c.require_message_authenticator))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The tenant's clients, by name.
    pub async fn radius_clients(&self, tenant_id: i64) -> anyhow::Result<Vec<RadiusClientRow>> {
        let rows: Vec<ClientTuple> = sqlx::query_as(
            "SELECT tenant_id, name, address, sealed_secret, require_message_authenticator \
             FROM radius_clients WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(tenant_id, name, address, sealed_secret, req)| RadiusClientRow {
                    tenant_id,
                    name,
                    address,
                    sealed_secret,
                    require_message_authenticator: flag(req),
                },
            )
            .collect())
    }

    /// Every client of every tenant (KEK rotation).
    pub async fn all_radius_clients(&self) -> anyhow::Result<Vec<RadiusClientRow>> {
        let mut out = Vec::new();
        for t in self.tenant_ids().await? {
            out.extend(self.radius_clients(t).await?);
        }
        Ok(out)
    }

    /// Writes re-sealed client secrets `(tenant, name, blob)` (KEK rotation), in one transaction.
    pub async fn replace_radius_secrets(
        &self,
        rows: &[(i64, String, Vec<u8>)],
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (tenant_id, name, sealed) in rows {
            sqlx::query(
                "UPDATE radius_clients SET sealed_secret = $3 WHERE tenant_id = $1 AND name = $2",
            )
            .bind(tenant_id)
            .bind(name)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a challenge's State (by hash).
    pub async fn put_radius_state(
        &self,
        state_hash: &str,
        tenant_id: i64,
        row: &RadiusStateRow,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO radius_states (state_hash, tenant_id, attempt_id, client_name, \
             login_name, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(state_hash)
        .bind(tenant_id)
        .bind(&row.attempt_id)
        .bind(&row.client_name)
        .bind(&row.login_name)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns a live State: of two concurrent callers exactly one gets it.
    pub async fn take_radius_state(
        &self,
        state_hash: &str,
        tenant_id: i64,
        now: i64,
    ) -> anyhow::Result<Option<RadiusStateRow>> {
        let row: Option<(String, String, String, i64)> = sqlx::query_as(
            "DELETE FROM radius_states WHERE state_hash = $1 AND tenant_id = $2 \
             RETURNING attempt_id, client_name, login_name, expires_at",
        )
        .bind(state_hash)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .filter(|r| r.3 > now)
            .map(|(attempt_id, client_name, login_name, _)| RadiusStateRow {
                attempt_id,
                client_name,
                login_name,
            }))
    }
}
