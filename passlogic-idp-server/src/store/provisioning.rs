//! Bulk provisioning writes (CSV import and drops): loading a tenant's memberships and group
//! policies in one query each, and applying a whole import in ONE transaction with batched
//! multi-row statements, so a bad row (or a crash) leaves nothing half-applied and 100,000
//! rows take seconds, not minutes.

use std::collections::{BTreeMap, HashMap};

use sqlx::{Any, Transaction};

use super::Store;

/// A user to create in bulk (its sealed secret is made by the caller once its id is known).
#[derive(Clone, Debug)]
pub struct BulkUser {
    /// Sign-in name.
    pub name: String,
    /// Name shown on pages.
    pub display_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Sign-in allowed.
    pub enabled: bool,
    /// External IDs and custom attributes.
    pub attributes: BTreeMap<String, String>,
    /// Exact memberships.
    pub groups: Vec<String>,
}

/// An existing user's new state; `groups: None` keeps the memberships.
#[derive(Clone, Debug)]
pub struct BulkUpdate {
    /// Database id.
    pub id: i64,
    /// The state after (name unchanged).
    pub user: BulkUser,
    /// Replace the memberships with `user.groups`.
    pub set_groups: bool,
}

/// Rows per multi-row statement (12 binds each stays well under both engines' limits).
const CHUNK: usize = 500;
/// Users per INSERT on SQLite: there the 12-column statement costs more than linearly in its
/// size (measured: 100,000 users took 16 s in chunks of 500, 7.7 s in chunks of 100, 2.3 s in
/// chunks of 50, debug build), so it gets its own smaller chunk. PostgreSQL keeps [`CHUNK`]
/// (fewer round trips; smaller chunks measured no faster there).
const SQLITE_USER_CHUNK: usize = 50;

impl Store {
    /// Every (user id, group name) pair of a tenant.
    pub async fn tenant_memberships(&self, tenant_id: i64) -> anyhow::Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT ug.user_id, g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id \
             WHERE g.tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Groups of a tenant that carry a policy: name to (priority, id, policy JSON).
    pub async fn group_policy_settings(
        &self,
        tenant_id: i64,
    ) -> anyhow::Result<HashMap<String, (i64, i64, String)>> {
        let rows: Vec<(String, i64, i64, String)> = sqlx::query_as(
            "SELECT g.name, g.priority, g.id, p.settings FROM groups g \
             JOIN policies p ON p.id = g.policy_id WHERE g.tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(n, pr, id, s)| (n, (pr, id, s)))
            .collect())
    }

    /// Applies an import in one transaction: creates (then seals each new user's secret with
    /// `seal(id, name)`), updates, memberships. Nothing is stored when any step fails.
    pub async fn apply_bulk(
        &self,
        tenant_id: i64,
        creates: &[BulkUser],
        updates: &[BulkUpdate],
        mut seal: impl FnMut(i64, &str) -> anyhow::Result<Vec<u8>>,
        now: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let group_ids = ensure_groups(&mut tx, tenant_id, creates, updates).await?;

        // Users, many per INSERT; RETURNING gives the ids by name (order is not promised).
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(creates.len());
        let user_chunk = if self.backend == super::Backend::Sqlite {
            SQLITE_USER_CHUNK
        } else {
            CHUNK
        };
        for chunk in creates.chunks(user_chunk) {
            let mut sql = String::from(
                "INSERT INTO users (tenant_id, name, display_name, email, given_name, \
                 family_name, department, position, enabled, attributes, created_at, \
                 updated_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 12;
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for j in 1..=12 {
                    if j > 1 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", b + j));
                }
                sql.push(')');
            }
            sql.push_str(" RETURNING id, name");
            let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
            for u in chunk {
                q = q
                    .bind(tenant_id)
                    .bind(u.name.clone())
                    .bind(u.display_name.clone())
                    .bind(u.email.clone())
                    .bind(u.given_name.clone())
                    .bind(u.family_name.clone())
                    .bind(u.department.clone())
                    .bind(u.position.clone())
                    .bind(i64::from(u.enabled))
                    .bind(serde_json::to_string(&u.attributes)?)
                    .bind(now)
                    .bind(now);
            }
            for (id, name) in q.fetch_all(&mut *tx).await? {
                ids.insert(name, id);
            }
        }

        // Sealed initial secrets, many per UPDATE ... FROM (VALUES ...).
        for chunk in creates.chunks(CHUNK) {
            let mut sql = String::from("UPDATE users SET matrix_secret = v.column2 FROM (VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
            }
            sql.push_str(") AS v WHERE users.id = v.column1");
            let mut q = sqlx::query(&sql);
            for u in chunk {
                let id = *ids
                    .get(&u.name)
                    .ok_or_else(|| anyhow::anyhow!("user {} was not inserted", u.name))?;
                q = q.bind(id).bind(seal(id, &u.name)?);
            }
            q.execute(&mut *tx).await?;
        }

        let mut pairs: Vec<(i64, i64)> = Vec::new();
        for u in creates {
            for g in &u.groups {
                pairs.push((ids[&u.name], group_ids[g]));
            }
        }
        // Updates one statement each: a batched UPDATE ... FROM (VALUES ...) measured slower
        // on SQLite (no index use on the VALUES join) and barely faster on PostgreSQL.
        for up in updates {
            let u = &up.user;
            sqlx::query(
                "UPDATE users SET display_name = $2, email = $3, given_name = $4, \
                 family_name = $5, department = $6, position = $7, enabled = $8, \
                 attributes = $9, updated_at = $10 WHERE id = $1 AND tenant_id = $11",
            )
            .bind(up.id)
            .bind(u.display_name.clone())
            .bind(u.email.clone())
            .bind(u.given_name.clone())
            .bind(u.family_name.clone())
            .bind(u.department.clone())
            .bind(u.position.clone())
            .bind(i64::from(u.enabled))
            .bind(serde_json::to_string(&u.attributes)?)
            .bind(now)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        }
        // Disabled users lose their sessions; changed memberships are replaced.
        let disabled: Vec<i64> = updates
            .iter()
            .filter(|u| !u.user.enabled)
            .map(|u| u.id)
            .collect();
        delete_in(&mut tx, "DELETE FROM sessions WHERE user_id IN ", &disabled).await?;
        let regrouped: Vec<i64> = updates
            .iter()
            .filter(|u| u.set_groups)
            .map(|u| u.id)
            .collect();
        delete_in(
            &mut tx,
            "DELETE FROM user_groups WHERE user_id IN ",
            &regrouped,
        )
        .await?;
        for up in updates.iter().filter(|u| u.set_groups) {
            for g in &up.user.groups {
                pairs.push((up.id, group_ids[g]));
            }
        }
        for chunk in pairs.chunks(CHUNK) {
            let mut sql = String::from("INSERT INTO user_groups (user_id, group_id) VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            let mut q = sqlx::query(&sql);
            for (u, g) in chunk {
                q = q.bind(*u).bind(*g);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Runs `sql` followed by `($1, $2, ...)` over `ids`, in chunks.
async fn delete_in(tx: &mut Transaction<'_, Any>, sql: &str, ids: &[i64]) -> anyhow::Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let text = format!("{sql}({})", list.join(","));
        let mut q = sqlx::query(&text);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Creates the groups the import names (kind `adhoc`) and returns every group's id by name.
async fn ensure_groups(
    tx: &mut Transaction<'_, Any>,
    tenant_id: i64,
    creates: &[BulkUser],
    updates: &[BulkUpdate],
) -> anyhow::Result<HashMap<String, i64>> {
    let mut names: Vec<&String> = creates
        .iter()
        .flat_map(|u| &u.groups)
        .chain(updates.iter().flat_map(|u| &u.user.groups))
        .collect();
    names.sort();
    names.dedup();
    for chunk in names.chunks(CHUNK) {
        let mut sql = String::from("INSERT INTO groups (tenant_id, name, kind) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("($1, ${}, 'adhoc')", i + 2));
        }
        sql.push_str(" ON CONFLICT (tenant_id, name) DO NOTHING");
        let mut q = sqlx::query(&sql).bind(tenant_id);
        for n in chunk {
            q = q.bind((*n).clone());
        }
        q.execute(&mut **tx).await?;
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, id FROM groups WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().collect())
}
