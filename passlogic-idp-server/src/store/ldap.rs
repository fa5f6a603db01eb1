//! LDAP sync state: the sources (bind password sealed), the links between a source and the
//! users it owns, the run log, the per-source lease, and applying one sync's changes in a
//! single transaction (all or nothing). The statements here repeat a few of `directory`'s on
//! purpose: those run on the pool, these must run inside the sync's transaction.

use std::collections::HashMap;

use super::{flag, Store};
use crate::store::UserDirectory;

/// A configured LDAP source.
#[derive(Clone, Debug)]
pub struct LdapSourceRow {
    /// Database id (associated data of the sealed password).
    pub id: i64,
    /// Owning tenant.
    pub tenant_id: i64,
    /// Administrator's name for the source (unique per tenant).
    pub name: String,
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade an ldap:// connection with StartTLS.
    pub start_tls: bool,
    /// PEM of the CA to trust for TLS (`None`: the system trust store).
    pub tls_ca: Option<String>,
    /// DN to bind as.
    pub bind_dn: String,
    /// Bind password sealed under the KEK.
    pub sealed_password: Vec<u8>,
    /// Search base.
    pub base_dn: String,
    /// Search filter.
    pub filter: String,
    /// Field -> attribute mapping (JSON object).
    pub attribute_map: String,
    /// Attribute holding group DNs (`memberOf`), if groups are synced.
    pub group_attr: Option<String>,
    /// Active Directory preset (objectGUID, userAccountControl).
    pub active_directory: bool,
    /// `disable` or `delete`: what happens to users no longer in the directory.
    pub missing: String,
    /// Page size of the paged search.
    pub page_size: i64,
}

/// A user the source owns: (user id, DN, groups the source put them in).
#[derive(Clone, Debug)]
pub struct LdapLink {
    /// The user.
    pub user_id: i64,
    /// The entry's DN at the last sync.
    pub dn: String,
    /// Groups set by the source.
    pub groups: Vec<String>,
}

/// A user to create (`user_id: None`) or update, as the sync wants it.
#[derive(Clone, Debug)]
pub struct LdapUserWrite {
    /// Existing user, or `None` to create one.
    pub user_id: Option<i64>,
    /// Sign-in name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Directory data (replaces the stored data).
    pub directory: UserDirectory,
    /// Whether sign-in is allowed.
    pub enabled: bool,
    /// The entry's DN.
    pub dn: String,
    /// Groups to join (created if missing, kind `adhoc`).
    pub join: Vec<String>,
    /// Groups to leave.
    pub leave: Vec<String>,
    /// Every group the source puts the user in now.
    pub groups: Vec<String>,
}

/// One change of a sync.
#[derive(Clone, Debug)]
pub enum LdapWrite {
    /// Create or update.
    Upsert(Box<LdapUserWrite>),
    /// Disable (the user stays linked).
    Disable(i64),
    /// Delete the user (only when the source says so).
    Delete(i64),
}

/// The counts and report of a finished run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LdapRunCounts {
    /// Users created.
    pub created: i64,
    /// Users updated.
    pub updated: i64,
    /// Users disabled.
    pub disabled: i64,
    /// Users deleted.
    pub deleted: i64,
    /// Users unchanged.
    pub unchanged: i64,
    /// Entries skipped (no sign-in name, a local user of that name...).
    pub skipped: i64,
}

type SourceTuple = (
    i64,
    i64,
    String,
    String,
    i64,
    Option<String>,
    String,
    Vec<u8>,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    i64,
);

const SOURCE_COLUMNS: &str =
    "id, tenant_id, name, url, start_tls, tls_ca, bind_dn, sealed_password, \
     base_dn, filter, attribute_map, group_attr, active_directory, missing, page_size";

fn source_row(t: SourceTuple) -> LdapSourceRow {
    LdapSourceRow {
        id: t.0,
        tenant_id: t.1,
        name: t.2,
        url: t.3,
        start_tls: flag(t.4),
        tls_ca: t.5,
        bind_dn: t.6,
        sealed_password: t.7,
        base_dn: t.8,
        filter: t.9,
        attribute_map: t.10,
        group_attr: t.11,
        active_directory: flag(t.12),
        missing: t.13,
        page_size: t.14,
    }
}

impl Store {
    /// Adds a source with a placeholder password, then stores the password sealed by `seal`
    /// (its associated data names the new id); `None` when the name is taken.
    pub async fn create_ldap_source(
        &self,
        s: &LdapSourceRow,
        seal: impl FnOnce(i64) -> Vec<u8>,
        now: i64,
    ) -> anyhow::Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO ldap_sources (tenant_id, name, url, start_tls, bind_dn, \
             sealed_password, base_dn, filter, attribute_map, group_attr, active_directory, \
             missing, page_size, created_at, tls_ca) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (tenant_id, name) DO NOTHING \
             RETURNING id",
        )
        .bind(s.tenant_id)
        .bind(&s.name)
        .bind(&s.url)
        .bind(i64::from(s.start_tls))
        .bind(&s.bind_dn)
        .bind(Vec::<u8>::new())
        .bind(&s.base_dn)
        .bind(&s.filter)
        .bind(&s.attribute_map)
        .bind(s.group_attr.clone())
        .bind(i64::from(s.active_directory))
        .bind(&s.missing)
        .bind(s.page_size)
        .bind(now)
        .bind(s.tls_ca.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        sqlx::query("UPDATE ldap_sources SET sealed_password = $2 WHERE id = $1")
            .bind(id)
            .bind(seal(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// The tenant's sources, by name.
    pub async fn ldap_sources(&self, tenant_id: i64) -> anyhow::Result<Vec<LdapSourceRow>> {
        let sql =
            format!("SELECT {SOURCE_COLUMNS} FROM ldap_sources WHERE tenant_id = $1 ORDER BY name");
        let rows: Vec<SourceTuple> = sqlx::query_as(&sql)
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(source_row).collect())
    }

    /// Every source of every tenant (the schedule, KEK rotation).
    pub async fn all_ldap_sources(&self) -> anyhow::Result<Vec<LdapSourceRow>> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM ldap_sources ORDER BY id");
        let rows: Vec<SourceTuple> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(source_row).collect())
    }

    /// Replaces re-sealed bind passwords in one transaction.
    pub async fn replace_ldap_passwords(&self, rows: &[(i64, Vec<u8>)]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (id, blob) in rows {
            sqlx::query("UPDATE ldap_sources SET sealed_password = $2 WHERE id = $1")
                .bind(*id)
                .bind(blob.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The users a source owns.
    pub async fn ldap_links(&self, source_id: i64) -> anyhow::Result<Vec<LdapLink>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT user_id, dn, groups FROM ldap_links WHERE source_id = $1 ORDER BY user_id",
        )
        .bind(source_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, dn, groups)| LdapLink {
                user_id,
                dn,
                groups: serde_json::from_str(&groups).unwrap_or_default(),
            })
            .collect())
    }

    /// Ids of users linked to any source (another source's users are not taken over).
    pub async fn ldap_linked_user_ids(&self) -> anyhow::Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT user_id, source_id FROM ldap_links")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Applies a sync's writes in one transaction. `seal(user_id)` gives a new user's sealed
    /// initial matrix secret. Returns the ids of created users, in order.
    pub async fn apply_ldap_sync(
        &self,
        tenant_id: i64,
        source_id: i64,
        writes: &[LdapWrite],
        seal: &(dyn Fn(i64) -> Vec<u8> + Sync),
        now: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let mut group_ids: HashMap<String, i64> = HashMap::new();
        for w in writes {
            match w {
                LdapWrite::Disable(id) => {
                    sqlx::query("UPDATE users SET enabled = 0, updated_at = $2 WHERE id = $1")
                        .bind(*id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                LdapWrite::Delete(id) => {
                    sqlx::query("DELETE FROM users WHERE id = $1")
                        .bind(*id)
                        .execute(&mut *tx)
                        .await?;
                }
                LdapWrite::Upsert(u) => {
                    let id = match u.user_id {
                        Some(id) => id,
                        None => {
                            let id: i64 = sqlx::query_scalar(
                                "INSERT INTO users (tenant_id, name, display_name, created_at, \
                                 updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                            )
                            .bind(tenant_id)
                            .bind(&u.name)
                            .bind(&u.display_name)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await?;
                            sqlx::query(
                                "UPDATE users SET matrix_secret = $2, must_change_pattern = 1 \
                                 WHERE id = $1",
                            )
                            .bind(id)
                            .bind(seal(id))
                            .execute(&mut *tx)
                            .await?;
                            id
                        }
                    };
                    let d = &u.directory;
                    sqlx::query(
                        "UPDATE users SET display_name = $2, email = $3, given_name = $4, \
                         family_name = $5, department = $6, position = $7, attributes = $8, \
                         enabled = $9, updated_at = $10 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(&u.display_name)
                    .bind(d.email.clone())
                    .bind(d.given_name.clone())
                    .bind(d.family_name.clone())
                    .bind(d.department.clone())
                    .bind(d.position.clone())
                    .bind(serde_json::to_string(&d.attributes)?)
                    .bind(i64::from(u.enabled))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    for g in &u.join {
                        let gid = match group_ids.get(g) {
                            Some(gid) => *gid,
                            None => {
                                sqlx::query(
                                    "INSERT INTO groups (tenant_id, name, kind) \
                                     VALUES ($1, $2, 'adhoc') ON CONFLICT (tenant_id, name) \
                                     DO NOTHING",
                                )
                                .bind(tenant_id)
                                .bind(g)
                                .execute(&mut *tx)
                                .await?;
                                let gid: i64 = sqlx::query_scalar(
                                    "SELECT id FROM groups WHERE tenant_id = $1 AND name = $2",
                                )
                                .bind(tenant_id)
                                .bind(g)
                                .fetch_one(&mut *tx)
                                .await?;
                                group_ids.insert(g.clone(), gid);
                                gid
                            }
                        };
                        sqlx::query(
                            "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(id)
                        .bind(gid)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for g in &u.leave {
                        sqlx::query(
                            "DELETE FROM user_groups WHERE user_id = $1 AND group_id IN \
                             (SELECT id FROM groups WHERE tenant_id = $2 AND name = $3)",
                        )
                        .bind(id)
                        .bind(tenant_id)
                        .bind(g)
                        .execute(&mut *tx)
                        .await?;
                    }
                    sqlx::query(
                        "INSERT INTO ldap_links (user_id, source_id, dn, groups, synced_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
                         dn = excluded.dn, groups = excluded.groups, synced_at = excluded.synced_at",
                    )
                    .bind(id)
                    .bind(source_id)
                    .bind(&u.dn)
                    .bind(serde_json::to_string(&u.groups)?)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Logs a run.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_ldap_run(
        &self,
        source_id: i64,
        started_at: i64,
        finished_at: i64,
        dry_run: bool,
        outcome: &str,
        c: &LdapRunCounts,
        report: &serde_json::Value,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO ldap_sync_runs (source_id, started_at, finished_at, dry_run, outcome, \
             created, updated, disabled, deleted, unchanged, skipped, report) VALUES ($1, $2, \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(source_id)
        .bind(started_at)
        .bind(finished_at)
        .bind(i64::from(dry_run))
        .bind(outcome)
        .bind(c.created)
        .bind(c.updated)
        .bind(c.disabled)
        .bind(c.deleted)
        .bind(c.unchanged)
        .bind(c.skipped)
        .bind(report.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Number of logged runs of a source (tests, `ldap-source list`).
    pub async fn ldap_run_count(&self, source_id: i64) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM ldap_sync_runs WHERE source_id = $1")
                .bind(source_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Takes the source's lease for `holder` until `until`; `false` when another holder has an
    /// unexpired lease. One statement, so two nodes cannot both win.
    pub async fn take_ldap_lease(
        &self,
        source_id: i64,
        holder: &str,
        now: i64,
        until: i64,
    ) -> anyhow::Result<bool> {
        let won: Option<String> = sqlx::query_scalar(
            "INSERT INTO ldap_sync_leases (source_id, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (source_id) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE ldap_sync_leases.expires_at <= $4 OR ldap_sync_leases.holder = $2 \
             RETURNING holder",
        )
        .bind(source_id)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(won.is_some())
    }

    /// Gives the lease back.
    pub async fn release_ldap_lease(&self, source_id: i64, holder: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM ldap_sync_leases WHERE source_id = $1 AND holder = $2")
            .bind(source_id)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
