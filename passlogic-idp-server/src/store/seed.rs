//! Bulk creation of load-test users (`passlogic-idp seed-users`): a million users in minutes,
//! where one `user add` per user would take hours. Rows are inserted a thousand at a time with
//! ids chosen here, because each sealed secret's associated data names the user's id.
//! Run it while no other process creates users.

use super::{Backend, Store};

/// One user to insert: the sealed secrets are already bound to `id`.
#[derive(Clone)]
pub struct SeedUser {
    /// The id to insert (from [`Store::next_user_id`] onwards).
    pub id: i64,
    /// Sign-in name.
    pub name: String,
    /// Sealed matrix secret.
    pub matrix_secret: Vec<u8>,
    /// Sealed TOTP seed and its parameters (JSON), if any.
    pub totp: Option<(Vec<u8>, String)>,
}

impl std::fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedUser")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The first unused user id.
    pub async fn next_user_id(&self) -> anyhow::Result<i64> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(max.unwrap_or(0) + 1)
    }

    /// Inserts users (enabled, pattern already chosen), their TOTP factors and group
    /// membership in one transaction.
    pub async fn seed_users(
        &self,
        tenant_id: i64,
        group_id: Option<i64>,
        users: &[SeedUser],
        now: i64,
    ) -> anyhow::Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let overriding = match self.backend {
            Backend::Postgres => " OVERRIDING SYSTEM VALUE",
            Backend::Sqlite => "",
        };
        let mut sql = format!(
            "INSERT INTO users (id, tenant_id, name, display_name, email, enabled, is_admin, \
             must_change_pattern, matrix_secret, created_at, updated_at){overriding} VALUES "
        );
        for (i, _) in users.iter().enumerate() {
            let p = i * 5;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, $1, ${}, ${}, ${}, 1, 0, 0, ${}, $2, $2)",
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7
            ));
        }
        let mut q = sqlx::query(&sql).bind(tenant_id).bind(now);
        for u in users {
            q = q
                .bind(u.id)
                .bind(u.name.clone())
                .bind(u.name.clone())
                .bind(format!("{}@load.example", u.name))
                .bind(u.matrix_secret.clone());
        }
        q.execute(&mut *tx).await?;

        let with_totp: Vec<&SeedUser> = users.iter().filter(|u| u.totp.is_some()).collect();
        if !with_totp.is_empty() {
            let mut sql = "INSERT INTO user_factors (user_id, method, secret, verifier, params, \
                           created_at) VALUES "
                .to_owned();
            for (i, _) in with_totp.iter().enumerate() {
                let p = i * 3;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, 'totp', ${}, NULL, ${}, $1)",
                    p + 2,
                    p + 3,
                    p + 4
                ));
            }
            let mut q = sqlx::query(&sql).bind(now);
            for u in &with_totp {
                let (secret, params) = u.totp.clone().unwrap_or_default();
                q = q.bind(u.id).bind(secret).bind(params);
            }
            q.execute(&mut *tx).await?;
        }
        if let Some(g) = group_id {
            let mut sql = "INSERT INTO user_groups (user_id, group_id) VALUES ".to_owned();
            for (i, _) in users.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${}, $1)", i + 2));
            }
            let mut q = sqlx::query(&sql).bind(g);
            for u in users {
                q = q.bind(u.id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// After inserting explicit ids: moves PostgreSQL's identity sequence past them.
    pub async fn fix_user_id_sequence(&self) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))",
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }
}
