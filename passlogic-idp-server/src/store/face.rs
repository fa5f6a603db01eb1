//! One-time challenges of the external face verifier step, stored as SHA-256 (hex).

use super::Store;

impl Store {
    /// Stores a challenge for an attempt.
    pub async fn create_face_challenge(
        &self,
        challenge_hash: &str,
        attempt_id: &str,
        expires_at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO face_challenges (challenge_hash, attempt_id, expires_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(challenge_hash)
        .bind(attempt_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a live challenge of this attempt once: `true` for exactly one caller.
    pub async fn take_face_challenge(
        &self,
        challenge_hash: &str,
        attempt_id: &str,
        now: i64,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "DELETE FROM face_challenges \
             WHERE challenge_hash = $1 AND attempt_id = $2 AND expires_at > $3",
        )
        .bind(challenge_hash)
        .bind(attempt_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
