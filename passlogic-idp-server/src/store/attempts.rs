//! Sign-in attempts and their single live challenge.

use super::Store;

/// Where a sign-in attempt stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptState {
    /// Walking through the pipeline's steps.
    Steps,
    /// The initial pattern was right; the user must now choose their own before a session.
    PatternChange,
}

impl AttemptState {
    fn as_str(self) -> &'static str {
        match self {
            AttemptState::Steps => "steps",
            AttemptState::PatternChange => "pattern_change",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "steps" => Some(AttemptState::Steps),
            "pattern_change" => Some(AttemptState::PatternChange),
            _ => None,
        }
    }
}

/// A stored attempt. `id` is the hash of the cookie token, never the token itself.
#[derive(Clone, Debug)]
pub struct AttemptRow {
    /// SHA-256 (hex) of the cookie token.
    pub id: String,
    /// Tenant the attempt belongs to.
    pub tenant_id: i64,
    /// The user, or `None` for an unknown sign-in name (which still gets a grid).
    pub user_id: Option<i64>,
    /// What was typed as the user ID (audit only).
    pub login_name: String,
    /// Progress.
    pub state: AttemptState,
    /// Local path to continue to after sign-in.
    pub return_to: String,
    /// UNIX seconds after which the attempt is void.
    pub expires_at: i64,
    /// The core's `pipeline::Attempt`, as JSON.
    pub pipeline: String,
    /// Bumped by every change of `pipeline` (optimistic concurrency).
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct RawAttempt {
    id: String,
    tenant_id: i64,
    user_id: Option<i64>,
    login_name: String,
    state: String,
    return_to: String,
    expires_at: i64,
    pipeline: Option<String>,
    version: i64,
}

impl Store {
    /// Records a new attempt.
    pub async fn create_attempt(&self, a: &AttemptRow, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO attempts (id, tenant_id, user_id, login_name, state, return_to, created_at, expires_at, pipeline) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&a.id)
        .bind(a.tenant_id)
        .bind(a.user_id)
        .bind(&a.login_name)
        .bind(a.state.as_str())
        .bind(&a.return_to)
        .bind(now)
        .bind(a.expires_at)
        .bind(&a.pipeline)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A live (unexpired) attempt by id.
    pub async fn attempt(&self, id: &str, now: i64) -> anyhow::Result<Option<AttemptRow>> {
        let raw: Option<RawAttempt> = sqlx::query_as(
            "SELECT id, tenant_id, user_id, login_name, state, return_to, expires_at, pipeline, version \
             FROM attempts WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(raw.and_then(|r| {
            Some(AttemptRow {
                state: AttemptState::parse(&r.state)?,
                id: r.id,
                tenant_id: r.tenant_id,
                user_id: r.user_id,
                login_name: r.login_name,
                return_to: r.return_to,
                expires_at: r.expires_at,
                pipeline: r.pipeline.unwrap_or_default(),
                version: r.version,
            })
        }))
    }

    /// Moves an attempt from one state to another; `false` if it was not in `from` (a
    /// concurrent request already moved it).
    pub async fn advance_attempt(
        &self,
        id: &str,
        from: AttemptState,
        to: AttemptState,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query("UPDATE attempts SET state = $3 WHERE id = $1 AND state = $2")
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Stores a changed pipeline if nobody changed the attempt since `version` was read;
    /// `false` means a concurrent request won and this change must be dropped.
    pub async fn update_pipeline(
        &self,
        id: &str,
        version: i64,
        pipeline: &str,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query("UPDATE attempts SET pipeline = $3, version = version + 1 WHERE id = $1 AND version = $2")
            .bind(id)
            .bind(version)
            .bind(pipeline)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Ends an attempt; `true` only for the one caller that actually deleted it, so a finished
    /// attempt can complete a sign-in once.
    pub async fn finish_attempt(&self, id: &str) -> anyhow::Result<bool> {
        let r = sqlx::query("DELETE FROM attempts WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces the attempt's live challenge (a new grid voids the previous one); `false` when
    /// the attempt no longer exists (finished or expired meanwhile).
    pub async fn put_challenge(
        &self,
        attempt_id: &str,
        kind: &str,
        data: &str,
        expires_at: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "INSERT INTO challenges (attempt_id, kind, data, expires_at) \
             SELECT id, $2, $3, $4 FROM attempts WHERE id = $1 \
             ON CONFLICT (attempt_id) DO UPDATE SET kind = excluded.kind, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(attempt_id)
        .bind(kind)
        .bind(data)
        .bind(expires_at)
        .execute(&self.pool)
        .await;
        match r {
            Ok(r) => Ok(r.rows_affected() == 1),
            // The attempt was deleted by a concurrent request between this statement's read of
            // `attempts` and its foreign-key check (PostgreSQL, READ COMMITTED): it is gone.
            // Decided by looking, not by the error's kind, which drivers report differently.
            Err(e) => {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT 1 FROM attempts WHERE id = $1")
                        .bind(attempt_id)
                        .fetch_optional(&self.pool)
                        .await?;
                match exists {
                    None => Ok(false),
                    Some(_) => Err(e.into()),
                }
            }
        }
    }

    /// Removes and returns the attempt's challenge of `kind`: of two concurrent callers exactly
    /// one gets it. Expiry is left to the factor's own check.
    pub async fn take_challenge(
        &self,
        attempt_id: &str,
        kind: &str,
    ) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM challenges WHERE attempt_id = $1 AND kind = $2 RETURNING data",
        )
        .bind(attempt_id)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?)
    }
}

impl Store {
    /// Reads the attempt's challenge of `kind` without consuming it (pending enrolments).
    pub async fn challenge(&self, attempt_id: &str, kind: &str) -> anyhow::Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT data FROM challenges WHERE attempt_id = $1 AND kind = $2")
                .bind(attempt_id)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
