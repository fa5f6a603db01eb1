//! The admin console's user list: search, filters and keyset paging, so a page of a
//! 100,000-user directory costs one indexed range scan (`UNIQUE (tenant_id, name)`) rather than
//! an OFFSET over everything before it.

use super::directory::{RawUser, USER_COLUMNS};
use super::{Store, UserRow};

/// Which users a status filter keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    /// Sign-in allowed.
    Enabled,
    /// Disabled by an administrator or a sync.
    Disabled,
    /// Locked after too many failed answers.
    Locked,
    /// Still holds an initial pattern (has not signed in yet).
    Initial,
}

impl UserStatus {
    /// Parses the query-string value (`enabled`, `disabled`, `locked`, `initial`).
    pub fn parse(s: &str) -> Option<UserStatus> {
        match s {
            "enabled" => Some(UserStatus::Enabled),
            "disabled" => Some(UserStatus::Disabled),
            "locked" => Some(UserStatus::Locked),
            "initial" => Some(UserStatus::Initial),
            _ => None,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            UserStatus::Enabled => " AND enabled = 1",
            UserStatus::Disabled => " AND enabled = 0",
            UserStatus::Locked => " AND locked_at IS NOT NULL",
            UserStatus::Initial => " AND must_change_pattern = 1",
        }
    }
}

/// A search of the user list.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    /// Case-insensitive text matched against the start of the login name and e-mail address
    /// and anywhere in the display name.
    pub text: Option<String>,
    /// Only members of this group (by id).
    pub group_id: Option<i64>,
    /// Only users in this state.
    pub status: Option<UserStatus>,
    /// Keyset paging: only names after this one.
    pub after: Option<String>,
}

/// `%` and `_` in user text match themselves.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl UserQuery {
    /// The WHERE clause after `tenant_id = $1`, with binds from `$2` on.
    fn filter(&self, with_after: bool) -> (String, Vec<String>, Option<i64>) {
        let mut sql = String::new();
        let mut texts = Vec::new();
        let mut n = 2;
        if let Some(t) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let e = like_escape(t);
            sql.push_str(&format!(
                " AND (LOWER(name) LIKE ${a} ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE ${a} ESCAPE '\\' \
                 OR LOWER(display_name) LIKE ${b} ESCAPE '\\')",
                a = n,
                b = n + 1
            ));
            texts.push(format!("{e}%"));
            texts.push(format!("%{e}%"));
            n += 2;
        }
        if let Some(s) = self.status {
            sql.push_str(s.sql());
        }
        if with_after {
            if let Some(a) = &self.after {
                sql.push_str(&format!(" AND name > ${n}"));
                texts.push(a.clone());
                n += 1;
            }
        }
        let group = self.group_id.inspect(|_| {
            sql.push_str(&format!(
                " AND id IN (SELECT user_id FROM user_groups WHERE group_id = ${n})"
            ));
        });
        (sql, texts, group)
    }
}

impl Store {
    /// One page of users matching `q`, by name; `limit` rows at most.
    pub async fn search_users(
        &self,
        tenant_id: i64,
        q: &UserQuery,
        limit: i64,
    ) -> anyhow::Result<Vec<UserRow>> {
        let (filter, texts, group) = q.filter(true);
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1{filter} ORDER BY name LIMIT {limit}"
        );
        let mut query = sqlx::query_as::<_, RawUser>(&sql).bind(tenant_id);
        for t in texts {
            query = query.bind(t);
        }
        if let Some(g) = group {
            query = query.bind(g);
        }
        let raw = query.fetch_all(&self.pool).await?;
        Ok(raw.into_iter().map(UserRow::from).collect())
    }

    /// How many users match `q` (ignoring its paging position).
    pub async fn count_users(&self, tenant_id: i64, q: &UserQuery) -> anyhow::Result<i64> {
        let (filter, texts, group) = q.filter(false);
        let sql = format!("SELECT COUNT(*) FROM users WHERE tenant_id = $1{filter}");
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(tenant_id);
        for t in texts {
            query = query.bind(t);
        }
        if let Some(g) = group {
            query = query.bind(g);
        }
        Ok(query.fetch_one(&self.pool).await?)
    }
}
