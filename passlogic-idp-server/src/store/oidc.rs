//! OpenID Connect provider state: the sealed signing key set, registered clients, authorization
//! codes, refresh-token families and access tokens.
//!
//! Single use and rotation are compare-and-set statements: a code is redeemed by
//! `UPDATE ... SET redeemed = 1 WHERE ... AND redeemed = 0` (one row for exactly one caller, on
//! any node), a refresh family advances by `UPDATE ... WHERE generation = $old AND revoked = 0`.
//! Protocol values are the core's serde types, stored as JSON in `data` columns; the columns
//! beside them are what queries filter on.

use passlogic_idp_core::oidc::jose::Jwks;
use passlogic_idp_core::oidc::types::{
    ClientId, ClientRegistration, GrantType, ResponseType, TokenEndpointAuthMethod,
};

use super::{flag, Store};

/// The sealed signing key set of a tenant and its version.
#[derive(Clone, Debug)]
pub struct SealedKeySet {
    /// Sealed JSON of the core's `SigningKeySet`.
    pub sealed: Vec<u8>,
    /// Grows on every change.
    pub version: i64,
}

/// A stored authorization code.
#[derive(Clone, Debug)]
pub struct CodeRow {
    /// The core's `CodeGrant` as JSON.
    pub data: String,
    /// Already redeemed once.
    pub redeemed: bool,
    /// Revoked after a replay.
    pub revoked: bool,
}

/// A stored refresh-token family.
#[derive(Clone, Debug)]
pub struct RefreshRow {
    /// The core's `RefreshFamily` as JSON.
    pub data: String,
    /// Revoked (reuse, logout, revocation).
    pub revoked: bool,
}

fn auth_method_name(m: TokenEndpointAuthMethod) -> &'static str {
    m.as_str()
}

/// Parses a stored `token_endpoint_auth_method` name.
pub fn parse_auth_method(s: &str) -> Option<TokenEndpointAuthMethod> {
    Some(match s {
        "client_secret_basic" => TokenEndpointAuthMethod::ClientSecretBasic,
        "client_secret_post" => TokenEndpointAuthMethod::ClientSecretPost,
        "private_key_jwt" => TokenEndpointAuthMethod::PrivateKeyJwt,
        "none" => TokenEndpointAuthMethod::None,
        _ => return None,
    })
}

type ClientTuple = (
    String,
    i64,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

fn client_from_row(r: ClientTuple) -> anyhow::Result<ClientRegistration> {
    let (
        client_id,
        is_public,
        secret_hash,
        method,
        redirects,
        post_logout,
        scopes,
        grants,
        rts,
        jwks,
    ) = r;
    let jwks = match jwks {
        Some(text) => Some(
            Jwks::from_json(&text)
                .map_err(|e| anyhow::anyhow!("client {client_id}: stored jwks: {e}"))?,
        ),
        None => None,
    };
    let token_endpoint_auth_method = parse_auth_method(&method)
        .ok_or_else(|| anyhow::anyhow!("client {client_id}: unknown auth method {method:?}"))?;
    let grant_types: Vec<GrantType> = serde_json::from_str(&grants)?;
    let response_types: Vec<ResponseType> = serde_json::from_str(&rts)?;
    Ok(ClientRegistration {
        client_id: ClientId::new(client_id),
        redirect_uris: serde_json::from_str(&redirects)?,
        post_logout_redirect_uris: serde_json::from_str(&post_logout)?,
        public: flag(is_public),
        allowed_scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        token_endpoint_auth_method,
        jwks,
        client_secret_hash: secret_hash,
        response_types,
        grant_types,
    })
}

const CLIENT_COLUMNS: &str = "client_id, is_public, secret_hash, auth_method, redirect_uris, \
     post_logout_redirect_uris, allowed_scopes, grant_types, response_types, jwks";

impl Store {
    // -- signing keys ---------------------------------------------------------------------

    /// The tenant's sealed signing key set, if one was created.
    pub async fn oidc_key_set(&self, tenant_id: i64) -> anyhow::Result<Option<SealedKeySet>> {
        let row: Option<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT sealed, version FROM oidc_signing_keys WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(sealed, version)| SealedKeySet { sealed, version }))
    }

    /// The version of the tenant's key set (cheap check before reloading).
    pub async fn oidc_key_set_version(&self, tenant_id: i64) -> anyhow::Result<Option<i64>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT version FROM oidc_signing_keys WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(v)
    }

    /// Stores the first key set; `false` if another node (or process) was first.
    pub async fn create_oidc_key_set(
        &self,
        tenant_id: i64,
        sealed: &[u8],
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO oidc_signing_keys (tenant_id, sealed, version, updated_at) \
             VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(sealed)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces the key set if it is still at `version`; `false` if someone changed it.
    pub async fn update_oidc_key_set(
        &self,
        tenant_id: i64,
        sealed: &[u8],
        version: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE oidc_signing_keys SET sealed = $2, version = version + 1, updated_at = $4 \
             WHERE tenant_id = $1 AND version = $3",
        )
        .bind(tenant_id)
        .bind(sealed)
        .bind(version)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every sealed key set (tenant, blob), for KEK rotation.
    pub async fn sealed_oidc_key_sets(&self) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
        Ok(
            sqlx::query_as("SELECT tenant_id, sealed FROM oidc_signing_keys ORDER BY tenant_id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Writes re-sealed key sets (KEK rotation), in one transaction. The version does not
    /// change: the content is the same.
    pub async fn replace_oidc_key_sets(&self, rows: &[(i64, Vec<u8>)]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (tenant_id, sealed) in rows {
            sqlx::query("UPDATE oidc_signing_keys SET sealed = $2 WHERE tenant_id = $1")
                .bind(tenant_id)
                .bind(sealed)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // -- clients --------------------------------------------------------------------------

    /// Registers a client; `false` if the id is taken.
    pub async fn create_oidc_client(
        &self,
        tenant_id: i64,
        c: &ClientRegistration,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO oidc_clients (tenant_id, client_id, is_public, secret_hash, auth_method, \
             redirect_uris, post_logout_redirect_uris, allowed_scopes, grant_types, response_types, \
             created_at, jwks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(c.client_id.as_str())
        .bind(i64::from(c.public))
        .bind(c.client_secret_hash.clone())
        .bind(auth_method_name(c.token_endpoint_auth_method))
        .bind(serde_json::to_string(&c.redirect_uris)?)
        .bind(serde_json::to_string(&c.post_logout_redirect_uris)?)
        .bind(c.allowed_scopes.join(" "))
        .bind(serde_json::to_string(&c.grant_types)?)
        .bind(serde_json::to_string(&c.response_types)?)
        .bind(now)
        .bind(c.jwks.as_ref().map(Jwks::to_json))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A registered client.
    pub async fn oidc_client(
        &self,
        tenant_id: i64,
        client_id: &str,
    ) -> anyhow::Result<Option<ClientRegistration>> {
        let row: Option<ClientTuple> = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE tenant_id = $1 AND client_id = $2"
        ))
        .bind(tenant_id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(client_from_row).transpose()
    }

    /// Every client of a tenant, by id.
    pub async fn oidc_clients(&self, tenant_id: i64) -> anyhow::Result<Vec<ClientRegistration>> {
        let rows: Vec<ClientTuple> = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE tenant_id = $1 ORDER BY client_id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(client_from_row).collect()
    }

    // -- authorization codes --------------------------------------------------------------

    /// Stores a new code grant (and drops rows past their purge time).
    pub async fn create_oidc_code(
        &self,
        tenant_id: i64,
        code_hash: &str,
        grant_id: &str,
        data: &str,
        purge_at: i64,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM oidc_codes WHERE purge_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_codes (code_hash, tenant_id, grant_id, data, purge_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(code_hash)
        .bind(tenant_id)
        .bind(grant_id)
        .bind(data)
        .bind(purge_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The code stored under `code_hash`.
    pub async fn oidc_code(
        &self,
        tenant_id: i64,
        code_hash: &str,
    ) -> anyhow::Result<Option<CodeRow>> {
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT data, redeemed, revoked FROM oidc_codes WHERE code_hash = $1 AND tenant_id = $2",
        )
        .bind(code_hash)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(data, redeemed, revoked)| CodeRow {
            data,
            redeemed: flag(redeemed),
            revoked: flag(revoked),
        }))
    }

    /// Marks a code redeemed with its new state; `true` for exactly one caller on any node.
    pub async fn redeem_oidc_code(&self, code_hash: &str, data: &str) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE oidc_codes SET redeemed = 1, data = $2 \
             WHERE code_hash = $1 AND redeemed = 0 AND revoked = 0",
        )
        .bind(code_hash)
        .bind(data)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Whether the code grant `grant_id` has been revoked (a replay was seen).
    pub async fn oidc_grant_revoked(&self, grant_id: &str) -> anyhow::Result<bool> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT revoked FROM oidc_codes WHERE grant_id = $1 AND revoked = 1",
        )
        .bind(grant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(v.is_some())
    }

    /// Revokes everything issued from a grant: the code, the refresh family with the same id
    /// and every access token. Returns how many access tokens were deleted.
    ///
    /// Deliberately three committed statements in this order, not one transaction: a
    /// redemption racing with a replay inserts its tokens and then checks
    /// [`Store::oidc_grant_revoked`]; either it sees the mark, or its tokens were committed
    /// before the mark and so before the `DELETE` below starts (which then removes them).
    pub async fn revoke_oidc_grant(&self, grant_id: &str) -> anyhow::Result<u64> {
        sqlx::query("UPDATE oidc_codes SET revoked = 1 WHERE grant_id = $1")
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        sqlx::query("UPDATE oidc_refresh_families SET revoked = 1 WHERE id = $1")
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        let r = sqlx::query("DELETE FROM oidc_access_tokens WHERE grant_id = $1")
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    // -- refresh families -----------------------------------------------------------------

    /// Stores a new refresh family.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_oidc_refresh_family(
        &self,
        tenant_id: i64,
        id: &str,
        client_id: &str,
        generation: i64,
        data: &str,
        expires_at: i64,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM oidc_refresh_families WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_refresh_families (id, tenant_id, client_id, generation, data, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(client_id)
        .bind(generation)
        .bind(data)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A refresh family.
    pub async fn oidc_refresh_family(
        &self,
        tenant_id: i64,
        id: &str,
    ) -> anyhow::Result<Option<RefreshRow>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, revoked FROM oidc_refresh_families WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(data, revoked)| RefreshRow {
            data,
            revoked: flag(revoked),
        }))
    }

    /// Advances a family from generation `old` to `new`; `true` for exactly one caller.
    pub async fn rotate_oidc_refresh_family(
        &self,
        id: &str,
        old: i64,
        new: i64,
        data: &str,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE oidc_refresh_families SET generation = $3, data = $4 \
             WHERE id = $1 AND generation = $2 AND revoked = 0",
        )
        .bind(id)
        .bind(old)
        .bind(new)
        .bind(data)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    // -- access tokens --------------------------------------------------------------------

    /// Stores an access token grant (and drops expired ones).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_oidc_access_token(
        &self,
        tenant_id: i64,
        token_hash: &str,
        client_id: &str,
        grant_id: Option<&str>,
        data: &str,
        now: i64,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM oidc_access_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_access_tokens (token_hash, tenant_id, client_id, grant_id, data, \
             issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash)
        .bind(tenant_id)
        .bind(client_id)
        .bind(grant_id.map(str::to_owned))
        .bind(data)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A live access token: (grant JSON, issued_at).
    pub async fn oidc_access_token(
        &self,
        tenant_id: i64,
        token_hash: &str,
        now: i64,
    ) -> anyhow::Result<Option<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT data, issued_at FROM oidc_access_tokens \
             WHERE token_hash = $1 AND tenant_id = $2 AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes one access token of `client_id`; `true` if it existed.
    pub async fn delete_oidc_access_token(
        &self,
        tenant_id: i64,
        token_hash: &str,
        client_id: &str,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "DELETE FROM oidc_access_tokens WHERE token_hash = $1 AND tenant_id = $2 AND client_id = $3",
        )
        .bind(token_hash)
        .bind(tenant_id)
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}

/// A pending Entra EAM request (see [`Store::create_eam_pending`]).
#[derive(Clone, Debug)]
pub struct EamPendingRow {
    /// The linked user being asked for a second factor.
    pub user_id: i64,
    /// The core's `EamRequest` as JSON.
    pub data: String,
    /// When the request arrived (a session must be at least this fresh to answer it).
    pub started_at: i64,
}

/// Entra ID external authentication method: configuration, linked identities, pending
/// requests.
impl Store {
    /// The tenant's EAM configuration (the core's `EamConfig` as JSON), if configured.
    pub async fn eam_config(&self, tenant_id: i64) -> anyhow::Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT config FROM eam_config WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Creates or replaces the tenant's EAM configuration.
    pub async fn set_eam_config(
        &self,
        tenant_id: i64,
        config: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO eam_config (tenant_id, config, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET config = $2, updated_at = $3",
        )
        .bind(tenant_id)
        .bind(config)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Links an external identity to a user; `false` if it is linked already (to anyone).
    pub async fn link_external_identity(
        &self,
        tenant_id: i64,
        provider: &str,
        issuer_key: &str,
        subject: &str,
        user_id: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO external_identities \
             (tenant_id, provider, issuer_key, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(provider)
        .bind(issuer_key)
        .bind(subject)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The user an external identity is linked to.
    pub async fn external_identity_user(
        &self,
        tenant_id: i64,
        provider: &str,
        issuer_key: &str,
        subject: &str,
    ) -> anyhow::Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM external_identities WHERE tenant_id = $1 AND provider = $2 \
             AND issuer_key = $3 AND subject = $4",
        )
        .bind(tenant_id)
        .bind(provider)
        .bind(issuer_key)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Stores a pending EAM request under `id` (a token hash); drops expired ones.
    pub async fn create_eam_pending(
        &self,
        tenant_id: i64,
        id: &str,
        row: &EamPendingRow,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM eam_pending WHERE expires_at <= $1")
            .bind(row.started_at)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO eam_pending (id, tenant_id, user_id, data, started_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(row.user_id)
        .bind(&row.data)
        .bind(row.started_at)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes) a live pending EAM request: exactly one caller gets it.
    pub async fn take_eam_pending(
        &self,
        tenant_id: i64,
        id: &str,
        now: i64,
    ) -> anyhow::Result<Option<EamPendingRow>> {
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "DELETE FROM eam_pending WHERE id = $1 AND tenant_id = $2 AND expires_at > $3 \
             RETURNING user_id, data, started_at",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(user_id, data, started_at)| EamPendingRow {
            user_id,
            data,
            started_at,
        }))
    }

    /// How many EAM requests are pending (tests and diagnostics).
    pub async fn count_eam_pending(&self, tenant_id: i64) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM eam_pending WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
