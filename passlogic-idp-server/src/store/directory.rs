//! Tenants, policies, groups and users, with the users' directory attributes (names,
//! department, position, validity, external IDs such as `immutable_id` / `upn` /
//! `federation_id` in the `attributes` JSON object).
//!
//! Known gap: `valid_from` / `valid_until` are stored and shown but not yet enforced at sign-in.

use std::collections::BTreeMap;

use anyhow::Context;
use passlogic_idp_core::policy::AuthPolicy;

use super::{flag, Store};

/// A user as stored. `matrix_secret` is the sealed blob (never plain text).
#[derive(Clone)]
pub struct UserRow {
    /// Database id.
    pub id: i64,
    /// Owning tenant.
    pub tenant_id: i64,
    /// Sign-in name (unique per tenant).
    pub name: String,
    /// Name shown on pages.
    pub display_name: String,
    /// E-mail address, if known.
    pub email: Option<String>,
    /// Whether sign-in is allowed at all.
    pub enabled: bool,
    /// Administrators of the tenant.
    pub is_admin: bool,
    /// Failed answers counted toward the lockout threshold.
    pub failed_attempts: i64,
    /// Locked until an administrator unlocks.
    pub locked: bool,
    /// The stored pattern is an initial one: the next sign-in must set a new one.
    pub must_change_pattern: bool,
    /// Sealed [`passlogic_idp_core::factor::matrix::MatrixSecret`].
    pub matrix_secret: Option<Vec<u8>>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Position (job title).
    pub position: Option<String>,
    /// Account valid from (UNIX seconds).
    pub valid_from: Option<i64>,
    /// Account valid until (UNIX seconds).
    pub valid_until: Option<i64>,
    /// External IDs (`immutable_id`, `upn`, `federation_id`) and custom attributes.
    pub attributes: BTreeMap<String, String>,
}

/// The editable directory data of a user (what `user set` and the admin API change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDirectory {
    /// E-mail address.
    pub email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Valid from (UNIX seconds).
    pub valid_from: Option<i64>,
    /// Valid until (UNIX seconds).
    pub valid_until: Option<i64>,
    /// External IDs and custom attributes.
    pub attributes: BTreeMap<String, String>,
}

impl UserRow {
    /// The row's directory data.
    pub fn directory(&self) -> UserDirectory {
        UserDirectory {
            email: self.email.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            department: self.department.clone(),
            position: self.position.clone(),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            attributes: self.attributes.clone(),
        }
    }
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RawUser {
    id: i64,
    tenant_id: i64,
    name: String,
    display_name: String,
    email: Option<String>,
    enabled: i64,
    is_admin: i64,
    failed_attempts: i64,
    locked_at: Option<i64>,
    must_change_pattern: i64,
    matrix_secret: Option<Vec<u8>>,
    given_name: Option<String>,
    family_name: Option<String>,
    department: Option<String>,
    position: Option<String>,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    attributes: String,
}

impl From<RawUser> for UserRow {
    fn from(r: RawUser) -> Self {
        UserRow {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            display_name: r.display_name,
            email: r.email,
            enabled: flag(r.enabled),
            is_admin: flag(r.is_admin),
            failed_attempts: r.failed_attempts,
            locked: r.locked_at.is_some(),
            must_change_pattern: flag(r.must_change_pattern),
            matrix_secret: r.matrix_secret,
            given_name: r.given_name,
            family_name: r.family_name,
            department: r.department,
            position: r.position,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            // Written only by `update_user_directory` (always a JSON object); a hand-edited
            // broken value reads as no attributes rather than locking the user out.
            attributes: serde_json::from_str(&r.attributes).unwrap_or_default(),
        }
    }
}

pub(super) const USER_COLUMNS: &str =
    "id, tenant_id, name, display_name, email, enabled, is_admin, \
     failed_attempts, locked_at, must_change_pattern, matrix_secret, given_name, family_name, \
     department, position, valid_from, valid_until, attributes";

/// What it takes to create a user; the sealed secret is set afterwards because its
/// associated data names the user's id.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Owning tenant.
    pub tenant_id: i64,
    /// Sign-in name.
    pub name: String,
    /// Name shown on pages.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Tenant administrator.
    pub is_admin: bool,
}

impl Store {
    /// Returns the id of tenant `name`, creating it if needed.
    pub async fn ensure_tenant(
        &self,
        name: &str,
        display_name: &str,
        now: i64,
    ) -> anyhow::Result<i64> {
        sqlx::query(
            "INSERT INTO tenants (name, display_name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(display_name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.tenant_id(name)
            .await?
            .context("tenant vanished right after creation")
    }

    /// Looks a tenant up by name.
    pub async fn tenant_id(&self, name: &str) -> anyhow::Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Creates or replaces the named policy of a tenant.
    pub async fn put_policy(
        &self,
        tenant_id: i64,
        name: &str,
        policy: &AuthPolicy,
    ) -> anyhow::Result<i64> {
        let settings = serde_json::to_string(policy)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policies (tenant_id, name, settings) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET settings = excluded.settings RETURNING id",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(settings)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// The policy that governs a user's sign-in: the policy of the user's group with the lowest
    /// `priority` number (ties: lowest group id) that has one, else the tenant's `default`
    /// policy, else the built-in defaults.
    pub async fn effective_policy(
        &self,
        tenant_id: i64,
        user_id: Option<i64>,
    ) -> anyhow::Result<AuthPolicy> {
        let mut settings: Option<String> = None;
        if let Some(uid) = user_id {
            settings = sqlx::query_scalar(
                "SELECT p.settings FROM user_groups ug \
                 JOIN groups g ON g.id = ug.group_id \
                 JOIN policies p ON p.id = g.policy_id \
                 WHERE ug.user_id = $1 ORDER BY g.priority, g.id LIMIT 1",
            )
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        }
        if settings.is_none() {
            settings = sqlx::query_scalar(
                "SELECT settings FROM policies WHERE tenant_id = $1 AND name = 'default'",
            )
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        }
        match settings {
            Some(s) => serde_json::from_str(&s).context("stored policy is not valid JSON"),
            None => Ok(AuthPolicy::default()),
        }
    }

    /// Returns the id of group `name`, creating it (kind `department`, `position` or `adhoc`).
    pub async fn ensure_group(
        &self,
        tenant_id: i64,
        name: &str,
        kind: &str,
    ) -> anyhow::Result<i64> {
        sqlx::query(
            "INSERT INTO groups (tenant_id, name, kind) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(kind)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT id FROM groups WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Puts a user into a group (idempotent).
    pub async fn add_to_group(&self, user_id: i64, group_id: i64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(group_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Names of a user's groups, sorted.
    pub async fn user_groups(&self, user_id: i64) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id \
             WHERE ug.user_id = $1 ORDER BY g.name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Creates a user without a secret; returns `None` when the name is taken.
    pub async fn create_user(&self, user: &NewUser, now: i64) -> anyhow::Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (tenant_id, name, display_name, email, is_admin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id",
        )
        .bind(user.tenant_id)
        .bind(&user.name)
        .bind(&user.display_name)
        .bind(user.email.clone())
        .bind(i64::from(user.is_admin))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }

    /// Replaces a user's directory data (e-mail, names, department, position, validity,
    /// attributes); `false` when no such user.
    pub async fn update_user_directory(
        &self,
        user_id: i64,
        d: &UserDirectory,
        now: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE users SET email = $2, given_name = $3, family_name = $4, department = $5, \
             position = $6, valid_from = $7, valid_until = $8, attributes = $9, updated_at = $10 \
             WHERE id = $1",
        )
        .bind(user_id)
        .bind(d.email.clone())
        .bind(d.given_name.clone())
        .bind(d.family_name.clone())
        .bind(d.department.clone())
        .bind(d.position.clone())
        .bind(d.valid_from)
        .bind(d.valid_until)
        .bind(serde_json::to_string(&d.attributes)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Changes the name shown on pages.
    pub async fn set_display_name(&self, user_id: i64, name: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Looks a user up by sign-in name.
    pub async fn user_by_name(
        &self,
        tenant_id: i64,
        name: &str,
    ) -> anyhow::Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND name = $2");
        let raw: Option<RawUser> = sqlx::query_as(&sql)
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(raw.map(UserRow::from))
    }

    /// Looks a user up by id.
    pub async fn user_by_id(&self, id: i64) -> anyhow::Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let raw: Option<RawUser> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(raw.map(UserRow::from))
    }

    /// All users of a tenant, by name.
    pub async fn list_users(&self, tenant_id: i64) -> anyhow::Result<Vec<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY name");
        let raw: Vec<RawUser> = sqlx::query_as(&sql)
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(raw.into_iter().map(UserRow::from).collect())
    }

    /// Enables or disables sign-in; `false` when no such user.
    pub async fn set_enabled(&self, user_id: i64, enabled: bool, now: i64) -> anyhow::Result<bool> {
        let r = sqlx::query("UPDATE users SET enabled = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(i64::from(enabled))
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Clears the failure counter and the lock.
    pub async fn unlock(&self, user_id: i64, now: i64) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE users SET failed_attempts = 0, locked_at = NULL, updated_at = $2 WHERE id = $1",
        )
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Stores a freshly sealed matrix secret.
    pub async fn set_matrix_secret(
        &self,
        user_id: i64,
        sealed: &[u8],
        must_change: bool,
        now: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE users SET matrix_secret = $2, must_change_pattern = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(user_id)
        .bind(sealed.to_vec())
        .bind(i64::from(must_change))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts one answer against the lockout threshold *before* it is checked, in one atomic
    /// statement: returns the new count, or `None` when the user is locked, disabled or at the
    /// threshold already (then the answer must not be checked at all). Parallel answers can
    /// therefore never get more than `threshold` checks. The answer that reaches the threshold
    /// also sets the lock; a correct answer hands its slot back with [`Store::clear_failures`].
    /// A disabled user, or one outside their validity period (`valid_from` inclusive,
    /// `valid_until` exclusive), gets no slot: every factor refuses them.
    pub async fn reserve_answer_slot(
        &self,
        user_id: i64,
        threshold: u32,
        now: i64,
    ) -> anyhow::Result<Option<i64>> {
        let threshold = i64::from(threshold);
        Ok(sqlx::query_scalar(
            "UPDATE users SET failed_attempts = failed_attempts + 1, \
               locked_at = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_at END \
             WHERE id = $1 AND enabled = 1 AND locked_at IS NULL AND failed_attempts < $2 \
               AND (valid_from IS NULL OR valid_from <= $3) \
               AND (valid_until IS NULL OR valid_until > $3) \
             RETURNING failed_attempts",
        )
        .bind(user_id)
        .bind(threshold)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// After a correct answer: the reserved slot is given back and the counter cleared.
    pub async fn clear_failures(&self, user_id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE users SET failed_attempts = 0, locked_at = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One sealed matrix secret, if any (the start-up check of the configured KEK: reading
    /// them all would cost seconds and memory with a million users).
    pub async fn any_sealed_matrix_secret(&self) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "SELECT matrix_secret FROM users WHERE matrix_secret IS NOT NULL LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every sealed secret, for key rotation: (user id, tenant id, blob).
    pub async fn sealed_matrix_secrets(&self) -> anyhow::Result<Vec<(i64, i64, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT id, tenant_id, matrix_secret FROM users WHERE matrix_secret IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replaces many sealed secrets in one transaction (all or nothing).
    pub async fn replace_matrix_secrets(&self, resealed: &[(i64, Vec<u8>)]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for (id, blob) in resealed {
            sqlx::query("UPDATE users SET matrix_secret = $2 WHERE id = $1")
                .bind(*id)
                .bind(blob.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Ids of all tenants.
    pub async fn tenant_ids(&self) -> anyhow::Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM tenants ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }
}

impl Store {
    /// Assigns (or clears) the policy of a group.
    pub async fn set_group_policy(
        &self,
        group_id: i64,
        policy_id: Option<i64>,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE groups SET policy_id = $2 WHERE id = $1")
            .bind(group_id)
            .bind(policy_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Store {
    /// A named policy of a tenant.
    pub async fn policy(&self, tenant_id: i64, name: &str) -> anyhow::Result<Option<AuthPolicy>> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT settings FROM policies WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        s.map(|s| serde_json::from_str(&s).context("stored policy is not valid JSON"))
            .transpose()
    }

    /// The id of a named policy.
    pub async fn policy_id(&self, tenant_id: i64, name: &str) -> anyhow::Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM policies WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The id of a named group.
    pub async fn group_id(&self, tenant_id: i64, name: &str) -> anyhow::Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM groups WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Sets a group's priority (lower wins when a user's groups have different policies).
    pub async fn set_group_priority(&self, group_id: i64, priority: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE groups SET priority = $2 WHERE id = $1")
            .bind(group_id)
            .bind(priority)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
