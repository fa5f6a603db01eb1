//! The sign-in service: what the web handlers (and later RADIUS) call. It loads state, hands it
//! to the core with `now` and randomness, stores the result, and audits every decision.

use std::sync::Arc;

use anyhow::Context;
use passlogic_idp_core::factor::matrix::{
    self, MatrixChallenge, MatrixFailure, MatrixSecret, Pattern, PatternRejection,
};
use passlogic_idp_core::policy::AuthPolicy;
use passlogic_idp_core::seal::Keyring;
use serde_json::json;

use crate::clock::Clock;
use crate::secrets;
use crate::store::{AttemptRow, AttemptState, AuditEvent, SessionRow, Store};
use crate::tokens::{hash_token, new_token};

/// How long a sign-in may take from the user ID to the last step.
const ATTEMPT_LIFETIME_SECS: i64 = 15 * 60;
/// The `amr` value of the grid pattern (RFC 8176 has none; documented in docs/testability.md).
pub const AMR_MATRIX: &str = "matrix";
const GRID: &str = "matrix";

/// Shared state of the sign-in service.
#[derive(Clone, Debug)]
pub struct SignIn {
    /// The database.
    pub store: Store,
    /// Key-encryption keys for sealed secrets.
    pub keyring: Arc<Keyring>,
    /// The clock handed to the core.
    pub clock: Arc<Clock>,
    /// The tenant this listener serves.
    pub tenant_id: i64,
}

/// What answering a grid led to.
#[derive(Debug)]
pub enum AnswerOutcome {
    /// Signed in: set this session token as a cookie and continue to `return_to`.
    SignedIn {
        session_token: String,
        return_to: String,
    },
    /// Right answer with an initial pattern: the user must choose a pattern now.
    MustChangePattern,
    /// Any failure. Deliberately carries no reason: the page must not tell an unknown user
    /// from a wrong answer or a locked account (the reason is in the audit trail).
    Failed,
}

/// Why a new pattern was refused.
#[derive(Debug)]
pub enum PatternChangeError {
    /// Not a comma-separated list of cell numbers.
    Malformed,
    /// The two entries differ.
    Mismatch,
    /// Same as the initial pattern.
    SameAsInitial,
    /// A policy rule was broken.
    Rule(PatternRejection),
    /// The attempt is gone (expired, finished elsewhere).
    NoAttempt,
}

impl SignIn {
    fn audit_event(
        &self,
        actor: &str,
        event: &str,
        subject: &str,
        outcome: &str,
        detail: serde_json::Value,
        ip: Option<&str>,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.unix(),
            tenant_id: Some(self.tenant_id),
            actor: actor.to_owned(),
            event: event.to_owned(),
            subject: subject.to_owned(),
            outcome: outcome.to_owned(),
            detail,
            source_ip: ip.map(str::to_owned),
        }
    }

    async fn audit(&self, e: AuditEvent) {
        tracing::info!(event = %e.event, subject = %e.subject, outcome = %e.outcome, detail = %e.detail, "audit");
        if let Err(err) = self.store.audit(&e).await {
            tracing::error!(error = %err, "could not write the audit trail");
        }
    }

    /// Starts a sign-in for whatever user ID was typed. Unknown IDs get an attempt too, so the
    /// next page looks the same. Returns the attempt token for the cookie.
    pub async fn start(
        &self,
        login_name: &str,
        return_to: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<String> {
        let now = self.clock.unix();
        let user = self.store.user_by_name(self.tenant_id, login_name).await?;
        let token = new_token();
        self.store
            .create_attempt(
                &AttemptRow {
                    id: hash_token(&token),
                    tenant_id: self.tenant_id,
                    user_id: user.as_ref().map(|u| u.id),
                    login_name: login_name.to_owned(),
                    state: AttemptState::Matrix,
                    return_to: return_to.to_owned(),
                    expires_at: now + ATTEMPT_LIFETIME_SECS,
                },
                now,
            )
            .await?;
        self.audit(self.audit_event(
            "anonymous",
            "signin.start",
            login_name,
            "info",
            json!({ "known_user": user.is_some() }),
            ip,
        ))
        .await;
        Ok(token)
    }

    /// The live attempt behind a cookie token.
    pub async fn attempt(&self, token: &str) -> anyhow::Result<Option<AttemptRow>> {
        let a = self
            .store
            .attempt(&hash_token(token), self.clock.unix())
            .await?;
        Ok(a.filter(|a| a.tenant_id == self.tenant_id))
    }

    async fn policy_for(&self, user_id: Option<i64>) -> anyhow::Result<AuthPolicy> {
        self.store.effective_policy(self.tenant_id, user_id).await
    }

    /// Shows a grid: a new one every time, replacing (voiding) the previous one.
    pub async fn issue_grid(&self, attempt: &AttemptRow) -> anyhow::Result<MatrixChallenge> {
        let policy = self.policy_for(attempt.user_id).await?;
        let challenge = matrix::start(
            &policy.grid,
            &mut rand::rngs::OsRng,
            self.clock.now(),
            policy.grid_ttl(),
        );
        let data = serde_json::to_string(&challenge)?;
        self.store
            .put_challenge(
                &attempt.id,
                GRID,
                &data,
                challenge.expires_at.unix_timestamp(),
            )
            .await?;
        Ok(challenge)
    }

    /// Checks an answer to the attempt's live grid. The grid is consumed whatever the result.
    pub async fn answer_grid(
        &self,
        attempt: &AttemptRow,
        otp: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<AnswerOutcome> {
        let now = self.clock.now();
        let name = attempt.login_name.as_str();
        let fail = |reason: &str| {
            self.audit_event(
                "anonymous",
                "signin.failure",
                name,
                "failure",
                json!({ "reason": reason }),
                ip,
            )
        };

        let Some(data) = self.store.take_challenge(&attempt.id, GRID).await? else {
            self.audit(fail("no_live_grid")).await;
            return Ok(AnswerOutcome::Failed);
        };
        let challenge: MatrixChallenge = serde_json::from_str(&data).context("stored grid")?;
        let user = match attempt.user_id {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        let Some(user) = user else {
            matrix::finish_unknown(challenge, otp, now);
            self.audit(fail("unknown_user")).await;
            return Ok(AnswerOutcome::Failed);
        };
        let policy = self.policy_for(Some(user.id)).await?;
        let Some(count) = self
            .store
            .reserve_answer_slot(user.id, policy.lockout_threshold, now.unix_timestamp())
            .await?
        else {
            matrix::finish_unknown(challenge, otp, now);
            let reason = if user.enabled { "locked" } else { "disabled" };
            self.audit(fail(reason)).await;
            return Ok(AnswerOutcome::Failed);
        };
        let Some(blob) = user.matrix_secret.as_deref() else {
            matrix::finish_unknown(challenge, otp, now);
            self.audit(fail("no_pattern")).await;
            return Ok(AnswerOutcome::Failed);
        };
        let secret = secrets::open_matrix(&self.keyring, user.tenant_id, user.id, blob)?;
        match matrix::finish(challenge, &secret, policy.phrase_position, otp, now) {
            Ok(()) => {
                self.store.clear_failures(user.id).await?;
                if user.must_change_pattern {
                    if !self
                        .store
                        .advance_attempt(
                            &attempt.id,
                            AttemptState::Matrix,
                            AttemptState::PatternChange,
                        )
                        .await?
                    {
                        return Ok(AnswerOutcome::Failed);
                    }
                    self.audit(self.audit_event(
                        name,
                        "signin.initial_pattern",
                        name,
                        "success",
                        json!({}),
                        ip,
                    ))
                    .await;
                    return Ok(AnswerOutcome::MustChangePattern);
                }
                self.complete(attempt, user.id, ip).await
            }
            Err(failure) => {
                let reason = match failure {
                    MatrixFailure::Expired => "expired_grid",
                    MatrixFailure::WrongAnswer => "wrong_answer",
                };
                self.audit(self.audit_event(
                    "anonymous",
                    "signin.failure",
                    name,
                    "failure",
                    json!({ "reason": reason, "failed_attempts": count }),
                    ip,
                ))
                .await;
                if count >= i64::from(policy.lockout_threshold) {
                    self.audit(self.audit_event(
                        "system",
                        "user.locked",
                        name,
                        "info",
                        json!({ "failed_attempts": count }),
                        ip,
                    ))
                    .await;
                }
                Ok(AnswerOutcome::Failed)
            }
        }
    }

    /// Ends the attempt and opens a session; only one concurrent caller can finish an attempt.
    async fn complete(
        &self,
        attempt: &AttemptRow,
        user_id: i64,
        ip: Option<&str>,
    ) -> anyhow::Result<AnswerOutcome> {
        if !self.store.finish_attempt(&attempt.id).await? {
            return Ok(AnswerOutcome::Failed);
        }
        let policy = self.policy_for(Some(user_id)).await?;
        let now = self.clock.unix();
        let token = new_token();
        self.store
            .create_session(
                &SessionRow {
                    id: hash_token(&token),
                    tenant_id: self.tenant_id,
                    user_id,
                    amr: vec![AMR_MATRIX.to_owned()],
                    auth_time: now,
                    expires_at: now + policy.session_lifetime_secs,
                },
                now,
            )
            .await?;
        self.audit(self.audit_event(
            &attempt.login_name,
            "signin.success",
            &attempt.login_name,
            "success",
            json!({ "amr": [AMR_MATRIX] }),
            ip,
        ))
        .await;
        Ok(AnswerOutcome::SignedIn {
            session_token: token,
            return_to: attempt.return_to.clone(),
        })
    }

    /// The policy that applies to the attempt's user (for the pattern page's rules).
    pub async fn attempt_policy(&self, attempt: &AttemptRow) -> anyhow::Result<AuthPolicy> {
        self.policy_for(attempt.user_id).await
    }

    /// Sets the user's own pattern after an initial-pattern sign-in, then signs them in.
    pub async fn change_initial_pattern(
        &self,
        attempt: &AttemptRow,
        pattern: &str,
        confirm: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<AnswerOutcome, PatternChangeError>> {
        if attempt.state != AttemptState::PatternChange {
            return Ok(Err(PatternChangeError::NoAttempt));
        }
        let Some(user) = (match attempt.user_id {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        }) else {
            return Ok(Err(PatternChangeError::NoAttempt));
        };
        let (Ok(new), Ok(again)) = (Pattern::parse_csv(pattern), Pattern::parse_csv(confirm))
        else {
            return Ok(Err(PatternChangeError::Malformed));
        };
        if new.cells() != again.cells() {
            return Ok(Err(PatternChangeError::Mismatch));
        }
        let policy = self.policy_for(Some(user.id)).await?;
        if let Err(rule) = policy.pattern_rules.check(&policy.grid, &new) {
            return Ok(Err(PatternChangeError::Rule(rule)));
        }
        let blob = user
            .matrix_secret
            .as_deref()
            .context("user without a pattern in pattern change")?;
        let old = secrets::open_matrix(&self.keyring, user.tenant_id, user.id, blob)?;
        if old.pattern.cells() == new.cells() {
            return Ok(Err(PatternChangeError::SameAsInitial));
        }
        let secret = MatrixSecret {
            pattern: new,
            phrase: old.phrase,
        };
        let sealed = secrets::seal_matrix(&self.keyring, user.tenant_id, user.id, &secret);
        self.store
            .set_matrix_secret(user.id, &sealed, false, self.clock.unix())
            .await?;
        self.audit(self.audit_event(
            &user.name,
            "pattern.changed",
            &user.name,
            "success",
            json!({ "initial": true }),
            ip,
        ))
        .await;
        Ok(Ok(self.complete(attempt, user.id, ip).await?))
    }

    /// The live session behind a cookie token.
    pub async fn session(&self, token: &str) -> anyhow::Result<Option<SessionRow>> {
        let s = self
            .store
            .session(&hash_token(token), self.clock.unix())
            .await?;
        Ok(s.filter(|s| s.tenant_id == self.tenant_id))
    }

    /// Signs out.
    pub async fn sign_out(&self, token: &str, ip: Option<&str>) -> anyhow::Result<()> {
        if let Some(s) = self.session(token).await? {
            self.store.delete_session(&s.id).await?;
            let name = self
                .store
                .user_by_id(s.user_id)
                .await?
                .map(|u| u.name)
                .unwrap_or_default();
            self.audit(self.audit_event(&name, "session.logout", &name, "success", json!({}), ip))
                .await;
        }
        Ok(())
    }
}
