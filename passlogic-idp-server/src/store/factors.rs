//! Enrolled factors per user, and imported hardware tokens.

use super::Store;

/// One enrolled factor of a user.
#[derive(Clone, sqlx::FromRow)]
pub struct FactorRow {
    /// `pipeline::Method::as_str` of the factor.
    pub method: String,
    /// Sealed seed (TOTP, bingo), if the factor has one.
    pub secret: Option<Vec<u8>>,
    /// Argon2id PHC string (PIN), if the factor has one.
    pub verifier: Option<String>,
    /// Factor parameters as JSON (e.g. TOTP digits and period).
    pub params: String,
}

impl std::fmt::Debug for FactorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactorRow")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// One hardware token as stored.
#[derive(Clone)]
pub struct TokenRow {
    /// Database id.
    pub id: i64,
    /// Tenant.
    pub tenant_id: i64,
    /// Serial number.
    pub serial: String,
    /// `hotp` or `totp`.
    pub kind: String,
    /// Sealed seed.
    pub secret: Vec<u8>,
    /// `SHA1`, `SHA256`, `SHA512`.
    pub algorithm: String,
    /// Code digits.
    pub digits: i64,
    /// TOTP period (0 for HOTP).
    pub period: i64,
    /// HOTP counter (next expected), 0 for TOTP.
    pub counter: i64,
    /// Assigned user.
    pub user_id: Option<i64>,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("serial", &self.serial)
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct RawToken {
    id: i64,
    tenant_id: i64,
    serial: String,
    kind: String,
    secret: Vec<u8>,
    algorithm: String,
    digits: i64,
    period: i64,
    counter: i64,
    user_id: Option<i64>,
}

impl From<RawToken> for TokenRow {
    fn from(r: RawToken) -> Self {
        TokenRow {
            id: r.id,
            tenant_id: r.tenant_id,
            serial: r.serial,
            kind: r.kind,
            secret: r.secret,
            algorithm: r.algorithm,
            digits: r.digits,
            period: r.period,
            counter: r.counter,
            user_id: r.user_id,
        }
    }
}

const TOKEN_COLUMNS: &str =
    "id, tenant_id, serial, kind, secret, algorithm, digits, period, counter, user_id";

/// A token to import; the id is assigned by the store and the seed is sealed by the caller
/// (its associated data names the serial, not the id).
#[derive(Clone)]
pub struct NewToken {
    /// Serial number.
    pub serial: String,
    /// `hotp` or `totp`.
    pub kind: String,
    /// Sealed seed.
    pub secret: Vec<u8>,
    /// Algorithm name.
    pub algorithm: String,
    /// Digits.
    pub digits: i64,
    /// TOTP period or 0.
    pub period: i64,
    /// HOTP counter or 0.
    pub counter: i64,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The user's enrolled factors (matrix is on the user row, not here).
    pub async fn factors(&self, user_id: i64) -> anyhow::Result<Vec<FactorRow>> {
        Ok(sqlx::query_as("SELECT method, secret, verifier, params FROM user_factors WHERE user_id = $1 ORDER BY method")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Enrols (or replaces) a factor.
    pub async fn put_factor(&self, user_id: i64, f: &FactorRow, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO user_factors (user_id, method, secret, verifier, params, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, method) DO UPDATE SET \
             secret = excluded.secret, verifier = excluded.verifier, params = excluded.params, \
             created_at = excluded.created_at",
        )
        .bind(user_id)
        .bind(&f.method)
        .bind(f.secret.clone())
        .bind(f.verifier.clone())
        .bind(&f.params)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes an enrolled factor; `true` if there was one.
    pub async fn delete_factor(&self, user_id: i64, method: &str) -> anyhow::Result<bool> {
        let r = sqlx::query("DELETE FROM user_factors WHERE user_id = $1 AND method = $2")
            .bind(user_id)
            .bind(method)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Imports tokens in one transaction: all or none (a duplicate serial fails the lot).
    pub async fn insert_tokens(
        &self,
        tenant_id: i64,
        tokens: &[NewToken],
        now: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for t in tokens {
            let r = sqlx::query(
                "INSERT INTO hardware_tokens (tenant_id, serial, kind, secret, algorithm, digits, period, counter, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, serial) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(&t.serial)
            .bind(&t.kind)
            .bind(t.secret.clone())
            .bind(&t.algorithm)
            .bind(t.digits)
            .bind(t.period)
            .bind(t.counter)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            anyhow::ensure!(
                r.rows_affected() == 1,
                "token serial {:?} is already imported; nothing was imported",
                t.serial
            );
        }
        tx.commit().await?;
        Ok(())
    }

    /// A token by serial.
    pub async fn token_by_serial(
        &self,
        tenant_id: i64,
        serial: &str,
    ) -> anyhow::Result<Option<TokenRow>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM hardware_tokens WHERE tenant_id = $1 AND serial = $2"
        );
        let raw: Option<RawToken> = sqlx::query_as(&sql)
            .bind(tenant_id)
            .bind(serial)
            .fetch_optional(&self.pool)
            .await?;
        Ok(raw.map(TokenRow::from))
    }

    /// The token assigned to a user.
    pub async fn token_of_user(&self, user_id: i64) -> anyhow::Result<Option<TokenRow>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM hardware_tokens WHERE user_id = $1");
        let raw: Option<RawToken> = sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(raw.map(TokenRow::from))
    }

    /// All tokens of a tenant.
    pub async fn list_tokens(&self, tenant_id: i64) -> anyhow::Result<Vec<TokenRow>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM hardware_tokens WHERE tenant_id = $1 ORDER BY serial"
        );
        let raw: Vec<RawToken> = sqlx::query_as(&sql)
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(raw.into_iter().map(TokenRow::from).collect())
    }

    /// Assigns a token to a user (or unassigns with `None`). Fails if the user already has one.
    pub async fn assign_token(&self, token_id: i64, user_id: Option<i64>) -> anyhow::Result<()> {
        sqlx::query("UPDATE hardware_tokens SET user_id = $2 WHERE id = $1")
            .bind(token_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves an HOTP counter forward only if it still holds `from`: of two concurrent codes,
    /// one wins. Never moves it backwards.
    pub async fn advance_hotp_counter(
        &self,
        token_id: i64,
        from: i64,
        to: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE hardware_tokens SET counter = $3 WHERE id = $1 AND counter = $2 AND $3 > $2",
        )
        .bind(token_id)
        .bind(from)
        .bind(to)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every sealed factor and token seed, for key rotation: (kind, row key, tenant, owner, blob)
    /// where kind is `factor` (owner = user id, key = method) or `token` (key = serial).
    pub async fn sealed_factor_secrets(
        &self,
    ) -> anyhow::Result<Vec<(String, String, i64, i64, Vec<u8>)>> {
        let mut out: Vec<(String, String, i64, i64, Vec<u8>)> = Vec::new();
        let factors: Vec<(String, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT f.method, u.tenant_id, f.user_id, f.secret FROM user_factors f JOIN users u ON u.id = f.user_id \
             WHERE f.secret IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        out.extend(
            factors
                .into_iter()
                .map(|(m, t, u, s)| ("factor".to_owned(), m, t, u, s)),
        );
        let tokens: Vec<(String, i64, i64, Vec<u8>)> =
            sqlx::query_as("SELECT serial, tenant_id, id, secret FROM hardware_tokens")
                .fetch_all(&self.pool)
                .await?;
        out.extend(
            tokens
                .into_iter()
                .map(|(s, t, id, b)| ("token".to_owned(), s, t, id, b)),
        );
        Ok(out)
    }

    /// Writes re-sealed factor and token seeds in one transaction.
    pub async fn replace_factor_secrets(
        &self,
        rows: &[(String, String, i64, Vec<u8>)],
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (kind, key, owner, blob) in rows {
            let sql = if kind == "factor" {
                "UPDATE user_factors SET secret = $3 WHERE user_id = $1 AND method = $2"
            } else {
                "UPDATE hardware_tokens SET secret = $3 WHERE id = $1 AND serial = $2"
            };
            sqlx::query(sql)
                .bind(*owner)
                .bind(key)
                .bind(blob.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
