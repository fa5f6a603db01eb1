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

/// A PKCS#12 waiting for its one download (automatic issue at first sign-in).
#[derive(Debug)]
pub struct CertDownloadRow {
    /// Owner.
    pub user_id: i64,
    /// Hex serial.
    pub serial: String,
    /// The PKCS#12, sealed under the KEK.
    pub sealed_p12: Vec<u8>,
}

impl Store {
    /// One certificate of the tenant by hex serial.
    pub async fn client_cert(
        &self,
        tenant_id: i64,
        serial: &str,
    ) -> anyhow::Result<Option<ClientCertRow>> {
        let row: Option<(String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT serial, user_id, not_after, revoked_at FROM client_certs \
             WHERE tenant_id = $1 AND serial = $2",
        )
        .bind(tenant_id)
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| ClientCertRow {
            serial: r.0,
            user_id: r.1,
            not_after: r.2,
            revoked_at: r.3,
        }))
    }

    /// A number that changes whenever a certificate of the tenant is revoked (the TLS
    /// listener rebuilds its CRL when it changes).
    pub async fn client_cert_revocation_version(&self, tenant_id: i64) -> anyhow::Result<i64> {
        let (count, last): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(MAX(revoked_at), 0) FROM client_certs \
             WHERE tenant_id = $1 AND revoked_at IS NOT NULL",
        )
        .bind(tenant_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count.wrapping_mul(1_000_003).wrapping_add(last))
    }

    /// Keeps a certificate's one-time PKCS#12 password (sealed) for its printable sheet.
    pub async fn set_client_cert_password(
        &self,
        tenant_id: i64,
        serial: &str,
        sealed: &[u8],
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE client_certs SET sealed_password = $3 WHERE tenant_id = $1 AND serial = $2",
        )
        .bind(tenant_id)
        .bind(serial)
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (reads and clears) a certificate's sealed sheet password: at most one caller gets it.
    pub async fn take_client_cert_password(
        &self,
        tenant_id: i64,
        serial: &str,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let mut tx = self.pool.begin().await?;
        let sealed: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT sealed_password FROM client_certs WHERE tenant_id = $1 AND serial = $2",
        )
        .bind(tenant_id)
        .bind(serial)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(Some(sealed)) = sealed else {
            return Ok(None);
        };
        // The compare-and-clear decides who got it when two requests race.
        let r = sqlx::query(
            "UPDATE client_certs SET sealed_password = NULL \
             WHERE tenant_id = $1 AND serial = $2 AND sealed_password IS NOT NULL",
        )
        .bind(tenant_id)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((r.rows_affected() == 1).then_some(sealed))
    }

    /// Stores a PKCS#12 for one download.
    pub async fn add_cert_download(
        &self,
        tenant_id: i64,
        token_hash: &str,
        row: &CertDownloadRow,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO cert_downloads (token_hash, tenant_id, user_id, serial, sealed_p12, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(tenant_id)
        .bind(row.user_id)
        .bind(&row.serial)
        .bind(&row.sealed_p12)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a download once (deleted as it is read); `None` when unknown, used or expired.
    pub async fn take_cert_download(
        &self,
        tenant_id: i64,
        token_hash: &str,
        now: i64,
    ) -> anyhow::Result<Option<CertDownloadRow>> {
        let row: Option<(i64, String, Vec<u8>, i64)> = sqlx::query_as(
            "DELETE FROM cert_downloads WHERE tenant_id = $1 AND token_hash = $2 \
             RETURNING user_id, serial, sealed_p12, expires_at",
        )
        .bind(tenant_id)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .filter(|r| r.3 > now)
            .map(|(user_id, serial, sealed_p12, _)| CertDownloadRow {
                user_id,
                serial,
                sealed_p12,
            }))
    }
}

impl Store {
    /// Every sealed sheet password: (tenant, serial, blob) (KEK rotation).
    pub async fn sealed_cert_passwords(&self) -> anyhow::Result<Vec<(i64, String, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT tenant_id, serial, sealed_password FROM client_certs \
             WHERE sealed_password IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every waiting download: (token hash, tenant, serial, sealed PKCS#12) (KEK rotation).
    pub async fn sealed_cert_downloads(
        &self,
    ) -> anyhow::Result<Vec<(String, i64, String, Vec<u8>)>> {
        Ok(
            sqlx::query_as("SELECT token_hash, tenant_id, serial, sealed_p12 FROM cert_downloads")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Replaces a waiting download's sealed PKCS#12 (KEK rotation).
    pub async fn replace_cert_download(
        &self,
        token_hash: &str,
        sealed: &[u8],
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE cert_downloads SET sealed_p12 = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(sealed)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
