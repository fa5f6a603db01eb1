//! Storage behind the console's CSV import, hardware-token and directory pages: uploads kept
//! between a dry run and its apply (migration 0015), a page of hardware tokens with their
//! users' names, and the last runs of an LDAP source.

use super::Store;

/// An uploaded import file waiting for its apply.
#[derive(Clone)]
pub struct ImportUpload {
    /// Tenant.
    pub tenant_id: i64,
    /// The administrator who uploaded it (only they may apply it).
    pub admin_id: i64,
    /// Upload time.
    pub created_at: i64,
    /// When it stops being usable.
    pub expires_at: i64,
    /// The uploaded file's name (display only).
    pub file_name: String,
    /// SHA-256 (hex) of `content`, checked again before the apply.
    pub sha256: String,
    /// Options chosen at upload (JSON).
    pub options: String,
    /// The file.
    pub content: Vec<u8>,
}

/// One row of the token list.
#[derive(Clone, Debug)]
pub struct TokenListRow {
    /// Serial number.
    pub serial: String,
    /// `hotp` or `totp`.
    pub kind: String,
    /// Code digits.
    pub digits: i64,
    /// The assigned user's sign-in name.
    pub user: Option<String>,
}

/// One logged LDAP sync run.
#[derive(Clone, Debug)]
pub struct LdapRunRow {
    /// Start time.
    pub started_at: i64,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// `success` or `failure`.
    pub outcome: String,
    /// Counts.
    pub created: i64,
    /// Counts.
    pub updated: i64,
    /// Counts.
    pub disabled: i64,
    /// Counts.
    pub deleted: i64,
    /// Counts.
    pub unchanged: i64,
}

impl std::fmt::Debug for ImportUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportUpload")
            .field("file_name", &self.file_name)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

type RunTuple = (i64, i64, String, i64, i64, i64, i64, i64);
type UploadTuple = (i64, i64, i64, i64, String, String, String, Vec<u8>);

impl Store {
    /// Stores an upload under the hash of its id; expired uploads of every tenant are dropped
    /// on the way (cheap: indexed by expiry).
    pub async fn put_import_upload(&self, id_hash: &str, u: &ImportUpload) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM import_uploads WHERE expires_at <= $1")
            .bind(u.created_at)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO import_uploads (id_hash, tenant_id, admin_id, created_at, expires_at, \
             file_name, sha256, options, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id_hash)
        .bind(u.tenant_id)
        .bind(u.admin_id)
        .bind(u.created_at)
        .bind(u.expires_at)
        .bind(u.file_name.clone())
        .bind(u.sha256.clone())
        .bind(u.options.clone())
        .bind(u.content.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The upload with this id hash, if it exists (expired or not: the caller decides).
    pub async fn import_upload(&self, id_hash: &str) -> anyhow::Result<Option<ImportUpload>> {
        let row: Option<UploadTuple> = sqlx::query_as(
            "SELECT tenant_id, admin_id, created_at, expires_at, file_name, sha256, options, \
             content FROM import_uploads WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(tenant_id, admin_id, created_at, expires_at, file_name, sha256, options, content)| {
                ImportUpload {
                    tenant_id,
                    admin_id,
                    created_at,
                    expires_at,
                    file_name,
                    sha256,
                    options,
                    content,
                }
            },
        ))
    }

    /// Deletes an upload; `false` when it was already gone (another apply won).
    pub async fn take_import_upload(&self, id_hash: &str) -> anyhow::Result<bool> {
        let r = sqlx::query("DELETE FROM import_uploads WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Up to `limit` tokens of a tenant after `after` (serial order), with user names.
    pub async fn tokens_page(
        &self,
        tenant_id: i64,
        after: Option<&str>,
        limit: i64,
    ) -> anyhow::Result<Vec<TokenListRow>> {
        let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT t.serial, t.kind, t.digits, u.name FROM hardware_tokens t \
             LEFT JOIN users u ON u.id = t.user_id \
             WHERE t.tenant_id = $1 AND t.serial > $2 ORDER BY t.serial LIMIT $3",
        )
        .bind(tenant_id)
        .bind(after.unwrap_or("").to_owned())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(serial, kind, digits, user)| TokenListRow {
                serial,
                kind,
                digits,
                user,
            })
            .collect())
    }

    /// Number of tokens of a tenant.
    pub async fn token_count(&self, tenant_id: i64) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM hardware_tokens WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The last `limit` runs of an LDAP source, newest first.
    pub async fn ldap_last_runs(
        &self,
        source_id: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<LdapRunRow>> {
        let rows: Vec<RunTuple> = sqlx::query_as(
            "SELECT started_at, dry_run, outcome, created, updated, disabled, deleted, \
             unchanged FROM ldap_sync_runs WHERE source_id = $1 \
             ORDER BY started_at DESC, id DESC LIMIT $2",
        )
        .bind(source_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(started_at, dry_run, outcome, created, updated, disabled, deleted, unchanged)| {
                    LdapRunRow {
                        started_at,
                        dry_run: dry_run != 0,
                        outcome,
                        created,
                        updated,
                        disabled,
                        deleted,
                        unchanged,
                    }
                },
            )
            .collect())
    }
}
