//! The admin console's audit log: filters (event prefix, actor, subject, outcome, time range)
//! and keyset paging on the id, newest first, so a page of a large trail costs one backward
//! range scan of `audit_events_tenant_id` (migration 0016), or of the actor / subject index
//! when that filter is set, rather than an OFFSET over everything newer.

use super::Store;

/// A search of the audit trail. Empty strings mean "any".
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Events whose name starts with this (`user.` matches `user.created`, `user.updated`).
    pub event_prefix: String,
    /// Exactly this actor (`console:admin`, `cli`, `api:TOKEN`...).
    pub actor: String,
    /// Exactly this subject (a user name, an entity ID...).
    pub subject: String,
    /// `success`, `failure` or `info`.
    pub outcome: String,
    /// From this UNIX second (inclusive).
    pub from: Option<i64>,
    /// Before this UNIX second (exclusive).
    pub until: Option<i64>,
    /// Keyset paging: only events older than this id.
    pub before_id: Option<i64>,
}

/// One event as the console shows and exports it.
#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub subject: String,
    pub outcome: String,
    /// The JSON text as stored.
    pub detail: String,
    pub source_ip: Option<String>,
}

/// `%`, `_` and `\` in the prefix match themselves.
fn like_prefix(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

enum Bind {
    Text(String),
    Int(i64),
}

impl Store {
    /// Up to `limit` events of `tenant_id` matching `q`, newest first.
    pub async fn search_audit(
        &self,
        tenant_id: i64,
        q: &AuditQuery,
        limit: i64,
    ) -> anyhow::Result<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT id, at, actor, event, subject, outcome, detail, source_ip FROM audit_events \
             WHERE tenant_id = $1",
        );
        let mut binds: Vec<Bind> = Vec::new();
        let mut push = |sql: &mut String, clause: &str, b: Bind| {
            binds.push(b);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len() + 1)));
        };
        if !q.event_prefix.is_empty() {
            push(
                &mut sql,
                " AND event LIKE ? ESCAPE '\\'",
                Bind::Text(like_prefix(&q.event_prefix)),
            );
        }
        if !q.actor.is_empty() {
            push(&mut sql, " AND actor = ?", Bind::Text(q.actor.clone()));
        }
        if !q.subject.is_empty() {
            push(&mut sql, " AND subject = ?", Bind::Text(q.subject.clone()));
        }
        if !q.outcome.is_empty() {
            push(&mut sql, " AND outcome = ?", Bind::Text(q.outcome.clone()));
        }
        if let Some(f) = q.from {
            push(&mut sql, " AND at >= ?", Bind::Int(f));
        }
        if let Some(u) = q.until {
            push(&mut sql, " AND at < ?", Bind::Int(u));
        }
        if let Some(b) = q.before_id {
            push(&mut sql, " AND id < ?", Bind::Int(b));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit.max(1)));
        type Raw = (
            i64,
            i64,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
        );
        let mut query = sqlx::query_as::<_, Raw>(&sql).bind(tenant_id);
        for b in binds {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Int(i) => query.bind(i),
            };
        }
        Ok(query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| AuditRow {
                id: r.0,
                at: r.1,
                actor: r.2,
                event: r.3,
                subject: r.4,
                outcome: r.5,
                detail: r.6,
                source_ip: r.7,
            })
            .collect())
    }
}
