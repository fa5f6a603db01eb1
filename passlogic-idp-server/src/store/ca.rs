//! The private CA's row (certificate, sealed key, counters) and the issued client certificates.

use super::Store;

/// An issued client certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertRow {
    /// Hex serial number.
    pub serial: String,
    /// Owner.
    pub user_id: i64,
    /// UNIX seconds.
    pub not_after: i64,
    /// UNIX seconds, when revoked.
    pub revoked_at: Option<i64>,
}

impl Store {
    /// The tenant's CA: certificate PEM and sealed key.
    pub async fn cert_authority(
        &self,
        tenant_id: i64,
    ) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        Ok(
            sqlx::query_as(
                "SELECT cert_pem, sealed_key FROM cert_authorities WHERE tenant_id = $1",
            )
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?,
        )
    }

    /// Stores a new CA unless the tenant has one; `false` when it had.
    pub async fn create_cert_authority(
        &self,
        tenant_id: i64,
        cert_pem: &str,
        sealed_key: &[u8],
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO cert_authorities (tenant_id, cert_pem, sealed_key, next_serial, crl_number, created_at) \
             VALUES ($1, $2, $3, 2, 0, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(cert_pem)
        .bind(sealed_key)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Takes the next counter value (`next_serial` or `crl_number`) atomically.
    pub async fn next_ca_counter(&self, tenant_id: i64, serial: bool) -> anyhow::Result<i64> {
        let sql = if serial {
            "UPDATE cert_authorities SET next_serial = next_serial + 1 WHERE tenant_id = $1 \
             RETURNING next_serial - 1"
        } else {
            "UPDATE cert_authorities SET crl_number = crl_number + 1 WHERE tenant_id = $1 \
             RETURNING crl_number"
        };
        Ok(sqlx::query_scalar(sql)
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Records an issued certificate.
    pub async fn add_client_cert(
        &self,
        tenant_id: i64,
        row: &ClientCertRow,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO client_certs (serial, tenant_id, user_id, not_after, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&row.serial)
        .bind(tenant_id)
        .bind(row.user_id)
        .bind(row.not_after)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes a certificate of the tenant; `false` when unknown or already revoked.
    pub async fn revoke_client_cert(
        &self,
        tenant_id: i64,
        serial: &str,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE client_certs SET revoked_at = $3 \
             WHERE tenant_id = $1 AND serial = $2 AND revoked_at IS NULL",
        )
        .bind(tenant_id)
        .bind(serial)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The tenant's certificates (all users, or one), oldest first.
    pub async fn client_certs(
        &self,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> anyhow::Result<Vec<ClientCertRow>> {
        let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT serial, user_id, not_after, revoked_at FROM client_certs \
             WHERE tenant_id = $1 AND ($2 = 0 OR user_id = $2) ORDER BY created_at, serial",
        )
        .bind(tenant_id)
        .bind(user_id.unwrap_or(0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ClientCertRow {
                serial: r.0,
                user_id: r.1,
                not_after: r.2,
                revoked_at: r.3,
            })
            .collect())
    }

    /// Every tenant's sealed CA key (KEK rotation).
    pub async fn sealed_ca_keys(&self) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
        Ok(
            sqlx::query_as("SELECT tenant_id, sealed_key FROM cert_authorities")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Replaces resealed CA keys.
    pub async fn replace_ca_keys(&self, rows: &[(i64, Vec<u8>)]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (tenant_id, sealed) in rows {
            sqlx::query("UPDATE cert_authorities SET sealed_key = $2 WHERE tenant_id = $1")
                .bind(tenant_id)
                .bind(sealed)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
