//! The sign-in service: what the web handlers (and later RADIUS) call. It loads state, hands it
//! to the core with `now` and randomness, stores the result, and audits every decision.
//!
//! A sign-in is an attempt row whose `pipeline` column holds the core's
//! [`passlogic_idp_core::pipeline::Attempt`]. Every step goes: check the step is the one due,
//! reserve a lockout slot, verify with the core, record the step (compare-and-set on the
//! attempt's version), then ask [`SignIn::next`] where to go. Only `next` opens a session, and
//! only when the pipeline says every step passed.

use std::sync::Arc;

use anyhow::Context;
use passlogic_idp_core::factor::matrix::{
    self, MatrixChallenge, MatrixFailure, MatrixSecret, Pattern, PatternRejection,
};
use passlogic_idp_core::pipeline::{self, Method};
use passlogic_idp_core::policy::AuthPolicy;
use passlogic_idp_core::seal::Keyring;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::factors;
use crate::secrets;
use crate::store::{AttemptRow, AttemptState, AuditEvent, SessionRow, Store, UserRow};
use crate::tokens::{hash_token, new_token};

/// How long a sign-in may take from the user ID to the last step.
const ATTEMPT_LIFETIME_SECS: i64 = 15 * 60;
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
    /// Bounds concurrent Argon2id PIN hashes (each takes ~19 MiB), so a burst cannot exhaust
    /// memory: excess requests wait.
    pub pin_hashing: Arc<Semaphore>,
}

/// Where a sign-in goes next.
#[derive(Debug)]
pub enum Next {
    /// Show this step.
    Step(Method),
    /// Several combinations are offered: let the user choose.
    Choose,
    /// Initial pattern accepted: the user must choose their own now.
    PatternChange,
    /// The due step's factor is not enrolled yet: enrol it (self-enrolment).
    Enrol(Method),
    /// Signed in.
    Done {
        /// Token for the session cookie.
        session_token: String,
        /// Local path to continue to.
        return_to: String,
    },
    /// The sign-in cannot continue (say why on a page); the attempt is gone.
    Refused(Refusal),
    /// The attempt is gone or expired: start over.
    Restart,
}

/// Why a sign-in is refused outright.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The user has no factor combination the policy allows, and cannot enrol one here.
    NoUsableCombination,
    /// A hardware token is required but none is assigned.
    TokenNotAssigned,
}

/// The result of answering a step.
#[derive(Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step passed and is recorded; ask [`SignIn::next`].
    Passed,
    /// Any failure. Deliberately carries no reason: the page must not tell an unknown user
    /// from a wrong answer or a locked account (the reason is in the audit trail).
    Failed,
    /// Not the step that is due: nothing was checked or changed.
    OutOfOrder,
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
    /// A service over a store and keyring.
    pub fn new(store: Store, keyring: Keyring, clock: Arc<Clock>, tenant_id: i64) -> SignIn {
        let permits = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        SignIn {
            store,
            keyring: Arc::new(keyring),
            clock,
            tenant_id,
            pin_hashing: Arc::new(Semaphore::new(permits)),
        }
    }

    pub(crate) fn audit_event(
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

    pub(crate) async fn audit(&self, e: AuditEvent) {
        tracing::info!(event = %e.event, subject = %e.subject, outcome = %e.outcome, detail = %e.detail, "audit");
        if let Err(err) = self.store.audit(&e).await {
            tracing::error!(error = %err, "could not write the audit trail");
        }
    }

    pub(crate) async fn fail(
        &self,
        attempt: &AttemptRow,
        method: Method,
        reason: &str,
        extra: serde_json::Value,
        ip: Option<&str>,
    ) -> StepOutcome {
        let mut detail = json!({ "reason": reason, "step": method.as_str() });
        if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        self.audit(self.audit_event(
            "anonymous",
            "signin.failure",
            &attempt.login_name,
            "failure",
            detail,
            ip,
        ))
        .await;
        StepOutcome::Failed
    }

    /// The methods a user is enrolled in.
    pub async fn enrolled(&self, user: &UserRow) -> anyhow::Result<Vec<Method>> {
        let mut out = Vec::new();
        if user.matrix_secret.is_some() {
            out.push(Method::Matrix);
        }
        for f in self.store.factors(user.id).await? {
            if let Some(m) = Method::parse(&f.method) {
                out.push(m);
            }
        }
        if self.store.token_of_user(user.id).await?.is_some() {
            out.push(Method::HardwareToken);
        }
        if self.store.authenticator_key_of(user.id).await?.is_some() {
            out.push(Method::LoginProtect);
        }
        // A certificate of the private CA that is neither revoked nor past its end (crate::client_cert).
        let now = self.clock.unix();
        if self
            .store
            .client_certs(self.tenant_id, Some(user.id))
            .await?
            .iter()
            .any(|c| c.revoked_at.is_none() && c.not_after > now)
        {
            out.push(Method::ClientCertificate);
        }
        // Passkeys (WebAuthn): enrolled once the user registered one (crate::passkeys).
        if !self.store.passkeys(user.id).await?.is_empty() {
            out.push(Method::Passkey);
        }
        Ok(out)
    }

    /// The policy that applies to a user (or the tenant default for unknown IDs).
    pub async fn policy_for(&self, user_id: Option<i64>) -> anyhow::Result<AuthPolicy> {
        self.store.effective_policy(self.tenant_id, user_id).await
    }

    /// Starts a sign-in for whatever user ID was typed. Unknown IDs get an attempt over the
    /// tenant's first combination, so the next page looks the same. Returns the attempt token
    /// for the cookie.
    pub async fn start(
        &self,
        login_name: &str,
        return_to: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<String> {
        let now = self.clock.now();
        let user = self.store.user_by_name(self.tenant_id, login_name).await?;
        let policy = self.policy_for(user.as_ref().map(|u| u.id)).await?;
        let offered = match &user {
            Some(u) => {
                let mut enrolled = self.enrolled(u).await?;
                // Every user can take the device-cookie step: it recognises the browser or
                // registers it within the policy's limit (crate::devices).
                enrolled.push(Method::DeviceCookie);
                // The external face verifier knows its users (crate::face).
                enrolled.push(Method::Biometric);
                // Every user can take the client-certificate step: it checks the presented
                // certificate against the store, or issues one (crate::client_cert).
                if !enrolled.contains(&Method::ClientCertificate) {
                    enrolled.push(Method::ClientCertificate);
                }
                pipeline::offered_combinations(
                    &policy.combinations,
                    &enrolled,
                    policy.self_enrolment,
                )
            }
            None => policy.combinations.iter().take(1).cloned().collect(),
        };
        let token = new_token();
        let id = hash_token(&token);
        // An empty offer is stored as an attempt without pipeline; `next` refuses it.
        let pipeline = match pipeline::Attempt::new(
            id.clone(),
            offered,
            now,
            time::Duration::seconds(ATTEMPT_LIFETIME_SECS),
        ) {
            Ok(p) => serde_json::to_string(&p)?,
            Err(_) => String::new(),
        };
        self.store
            .create_attempt(
                &AttemptRow {
                    id,
                    tenant_id: self.tenant_id,
                    user_id: user.as_ref().map(|u| u.id),
                    login_name: login_name.to_owned(),
                    state: AttemptState::Steps,
                    return_to: return_to.to_owned(),
                    expires_at: now.unix_timestamp() + ATTEMPT_LIFETIME_SECS,
                    pipeline,
                    version: 0,
                },
                now.unix_timestamp(),
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

    fn pipeline_of(attempt: &AttemptRow) -> Option<pipeline::Attempt> {
        serde_json::from_str(&attempt.pipeline).ok()
    }

    pub(crate) async fn user_of(&self, attempt: &AttemptRow) -> anyhow::Result<Option<UserRow>> {
        match attempt.user_id {
            Some(id) => self.store.user_by_id(id).await,
            None => Ok(None),
        }
    }

    /// Where the attempt goes now. Opens the session when every step passed.
    pub async fn next(&self, attempt: &AttemptRow, ip: Option<&str>) -> anyhow::Result<Next> {
        if attempt.state == AttemptState::PatternChange {
            return Ok(Next::PatternChange);
        }
        let now = self.clock.now();
        let Some(mut p) = Self::pipeline_of(attempt) else {
            self.store.finish_attempt(&attempt.id).await?;
            self.audit(self.audit_event(
                "anonymous",
                "signin.refused",
                &attempt.login_name,
                "failure",
                json!({ "reason": "no_usable_combination" }),
                ip,
            ))
            .await;
            return Ok(Next::Refused(Refusal::NoUsableCombination));
        };
        let step = match p.next_step(now) {
            Ok(s) => s,
            Err(pipeline::PipelineError::NotChosen) => return Ok(Next::Choose),
            Err(_) => return Ok(Next::Restart),
        };
        if let Some(method) = step {
            let Some(user) = self.user_of(attempt).await? else {
                return Ok(Next::Step(method));
            };
            if matches!(
                method,
                Method::DeviceCookie | Method::Biometric | Method::ClientCertificate
            ) || self.enrolled(&user).await?.contains(&method)
            {
                return Ok(Next::Step(method));
            }
            let policy = self.policy_for(Some(user.id)).await?;
            let enrollable = matches!(method, Method::Totp | Method::Bingo | Method::Pin);
            if policy.self_enrolment && enrollable && !p.done().is_empty() {
                return Ok(Next::Enrol(method));
            }
            self.store.finish_attempt(&attempt.id).await?;
            let refusal = if method == Method::HardwareToken {
                Refusal::TokenNotAssigned
            } else {
                Refusal::NoUsableCombination
            };
            self.audit(self.audit_event(
                &user.name,
                "signin.refused",
                &user.name,
                "failure",
                json!({ "reason": format!("{refusal:?}"), "step": method.as_str() }),
                ip,
            ))
            .await;
            return Ok(Next::Refused(refusal));
        }
        // Every step passed: finish once (the attempt row is deleted by exactly one caller).
        let Some(user_id) = attempt.user_id else {
            return Ok(Next::Restart);
        };
        let ctx = match p.finish(&attempt.id, now) {
            Ok(c) => c,
            Err(_) => return Ok(Next::Restart),
        };
        if !self.store.finish_attempt(&attempt.id).await? {
            return Ok(Next::Restart);
        }
        let policy = self.policy_for(Some(user_id)).await?;
        let token = new_token();
        self.store
            .create_session(
                &SessionRow {
                    id: hash_token(&token),
                    tenant_id: self.tenant_id,
                    user_id,
                    amr: ctx.amr.clone(),
                    auth_time: ctx.auth_time,
                    expires_at: ctx.auth_time + policy.session_lifetime_secs,
                },
                now.unix_timestamp(),
            )
            .await?;
        self.audit(self.audit_event(
            &attempt.login_name,
            "signin.success",
            &attempt.login_name,
            "success",
            json!({ "amr": ctx.amr, "methods": ctx.methods, "level": ctx.level }),
            ip,
        ))
        .await;
        Ok(Next::Done {
            session_token: token,
            return_to: attempt.return_to.clone(),
        })
    }

    /// Chooses one of the offered combinations (before the first step).
    pub async fn choose(&self, attempt: &AttemptRow, index: usize) -> anyhow::Result<bool> {
        let Some(mut p) = Self::pipeline_of(attempt) else {
            return Ok(false);
        };
        if p.choose(index, self.clock.now()).is_err() {
            return Ok(false);
        }
        self.store
            .update_pipeline(&attempt.id, attempt.version, &serde_json::to_string(&p)?)
            .await
    }

    /// The offered combinations (for the choice page).
    pub fn offered(attempt: &AttemptRow) -> Vec<pipeline::Combination> {
        Self::pipeline_of(attempt)
            .map(|p| p.offered().to_vec())
            .unwrap_or_default()
    }

    /// The step due now, if the pipeline has one.
    pub fn due(&self, attempt: &AttemptRow) -> Option<Method> {
        if attempt.state != AttemptState::Steps {
            return None;
        }
        Self::pipeline_of(attempt).and_then(|p| p.next_step(self.clock.now()).ok().flatten())
    }

    /// The step after the due one (PIN + code in one field).
    pub fn after_due(&self, attempt: &AttemptRow) -> Option<Method> {
        Self::pipeline_of(attempt).and_then(|p| p.step_after_next(self.clock.now()).ok().flatten())
    }

    /// Records passed steps; `false` when a concurrent request changed the attempt first.
    pub(crate) async fn record(
        &self,
        attempt: &AttemptRow,
        methods: &[Method],
    ) -> anyhow::Result<bool> {
        let Some(mut p) = Self::pipeline_of(attempt) else {
            return Ok(false);
        };
        let now = self.clock.now();
        for m in methods {
            if p.record(&attempt.id, *m, now).is_err() {
                return Ok(false);
            }
        }
        self.store
            .update_pipeline(&attempt.id, attempt.version, &serde_json::to_string(&p)?)
            .await
    }

    /// Shows a grid: a new one every time, replacing (voiding) the previous one. `None` when the
    /// attempt ended meanwhile.
    pub async fn issue_grid(
        &self,
        attempt: &AttemptRow,
    ) -> anyhow::Result<Option<MatrixChallenge>> {
        let policy = self.policy_for(attempt.user_id).await?;
        let challenge = matrix::start(
            &policy.grid,
            &mut rand::rngs::OsRng,
            self.clock.now(),
            policy.grid_ttl(),
        );
        let data = serde_json::to_string(&challenge)?;
        let stored = self
            .store
            .put_challenge(
                &attempt.id,
                GRID,
                &data,
                challenge.expires_at.unix_timestamp(),
            )
            .await?;
        Ok(stored.then_some(challenge))
    }

    /// Checks an answer to the attempt's live grid. The grid is consumed whatever the result.
    pub async fn answer_grid(
        &self,
        attempt: &AttemptRow,
        otp: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<StepOutcome> {
        let now = self.clock.now();
        let Some(data) = self.store.take_challenge(&attempt.id, GRID).await? else {
            return Ok(self
                .fail(attempt, Method::Matrix, "no_live_grid", json!({}), ip)
                .await);
        };
        let challenge: MatrixChallenge = serde_json::from_str(&data).context("stored grid")?;
        if self.due(attempt) != Some(Method::Matrix) {
            matrix::finish_unknown(challenge, otp, now);
            self.audit(self.audit_event(
                "anonymous",
                "signin.out_of_order",
                &attempt.login_name,
                "failure",
                json!({ "step": "matrix" }),
                ip,
            ))
            .await;
            return Ok(StepOutcome::OutOfOrder);
        }
        let Some(user) = self.user_of(attempt).await? else {
            matrix::finish_unknown(challenge, otp, now);
            return Ok(self
                .fail(attempt, Method::Matrix, "unknown_user", json!({}), ip)
                .await);
        };
        let policy = self.policy_for(Some(user.id)).await?;
        let Some(count) = self
            .store
            .reserve_answer_slot(user.id, policy.lockout_threshold, now.unix_timestamp())
            .await?
        else {
            matrix::finish_unknown(challenge, otp, now);
            let reason = refusal_reason(&user, now.unix_timestamp());
            return Ok(self
                .fail(attempt, Method::Matrix, reason, json!({}), ip)
                .await);
        };
        let Some(blob) = user.matrix_secret.as_deref() else {
            matrix::finish_unknown(challenge, otp, now);
            return Ok(self
                .fail(attempt, Method::Matrix, "no_pattern", json!({}), ip)
                .await);
        };
        let secret = secrets::open_matrix(&self.keyring, user.tenant_id, user.id, blob)?;
        match matrix::finish(challenge, &secret, policy.phrase_position, otp, now) {
            Ok(()) => {
                self.store.clear_failures(user.id).await?;
                if !self.record(attempt, &[Method::Matrix]).await? {
                    return Ok(self
                        .fail(attempt, Method::Matrix, "concurrent_change", json!({}), ip)
                        .await);
                }
                if user.must_change_pattern {
                    self.store
                        .advance_attempt(
                            &attempt.id,
                            AttemptState::Steps,
                            AttemptState::PatternChange,
                        )
                        .await?;
                    self.audit(self.audit_event(
                        &user.name,
                        "signin.initial_pattern",
                        &user.name,
                        "success",
                        json!({}),
                        ip,
                    ))
                    .await;
                }
                Ok(StepOutcome::Passed)
            }
            Err(failure) => {
                let reason = match failure {
                    MatrixFailure::Expired => "expired_grid",
                    MatrixFailure::WrongAnswer => "wrong_answer",
                };
                let outcome = self
                    .fail(
                        attempt,
                        Method::Matrix,
                        reason,
                        json!({ "failed_attempts": count }),
                        ip,
                    )
                    .await;
                self.note_lock(&user, count, &policy, ip).await;
                Ok(outcome)
            }
        }
    }

    async fn note_lock(&self, user: &UserRow, count: i64, policy: &AuthPolicy, ip: Option<&str>) {
        if count >= i64::from(policy.lockout_threshold) {
            self.audit(self.audit_event(
                "system",
                "user.locked",
                &user.name,
                "info",
                json!({ "failed_attempts": count }),
                ip,
            ))
            .await;
        }
    }

    /// Checks the answer to a code step (PIN, TOTP, bingo, hardware token), or to a PIN step
    /// followed by a code step in one field when the policy says so.
    pub async fn answer_code(
        &self,
        attempt: &AttemptRow,
        method: Method,
        otp: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<StepOutcome> {
        if self.due(attempt) != Some(method) {
            self.audit(self.audit_event(
                "anonymous",
                "signin.out_of_order",
                &attempt.login_name,
                "failure",
                json!({ "step": method.as_str() }),
                ip,
            ))
            .await;
            return Ok(StepOutcome::OutOfOrder);
        }
        let Some(user) = self.user_of(attempt).await? else {
            factors::dummy_work(self, method).await;
            return Ok(self
                .fail(attempt, method, "unknown_user", json!({}), ip)
                .await);
        };
        let policy = self.policy_for(Some(user.id)).await?;
        let now = self.clock.now();
        let Some(count) = self
            .store
            .reserve_answer_slot(user.id, policy.lockout_threshold, now.unix_timestamp())
            .await?
        else {
            factors::dummy_work(self, method).await;
            let reason = refusal_reason(&user, now.unix_timestamp());
            return Ok(self.fail(attempt, method, reason, json!({}), ip).await);
        };
        let mut steps = vec![method];
        let verdict = match (method, self.combined_second(attempt, &policy)) {
            (Method::Pin, Some(second)) => {
                let digits = factors::code_digits(self, &user, second, &policy).await?;
                let split = otp.trim().len().checked_sub(digits);
                match split.filter(|s| *s > 0 && otp.trim().is_char_boundary(*s)) {
                    Some(s) => {
                        let (pin, code) = otp.trim().split_at(s);
                        steps.push(second);
                        let pin_ok =
                            factors::verify(self, &user, Method::Pin, pin, &policy).await?;
                        let code_ok = factors::verify(self, &user, second, code, &policy).await?;
                        match (pin_ok, code_ok) {
                            (Ok(()), Ok(())) => Ok(()),
                            (Err(r), _) | (_, Err(r)) => Err(r),
                        }
                    }
                    None => Err("malformed"),
                }
            }
            _ => factors::verify(self, &user, method, otp, &policy).await?,
        };
        match verdict {
            Ok(()) => {
                self.store.clear_failures(user.id).await?;
                if !self.record(attempt, &steps).await? {
                    return Ok(self
                        .fail(attempt, method, "concurrent_change", json!({}), ip)
                        .await);
                }
                Ok(StepOutcome::Passed)
            }
            Err(reason) => {
                let outcome = self
                    .fail(
                        attempt,
                        method,
                        reason,
                        json!({ "failed_attempts": count }),
                        ip,
                    )
                    .await;
                self.note_lock(&user, count, &policy, ip).await;
                Ok(outcome)
            }
        }
    }

    /// With `pin_with_code_in_one_field`, the code step answered together with a due PIN step.
    pub fn combined_second(&self, attempt: &AttemptRow, policy: &AuthPolicy) -> Option<Method> {
        if !policy.pin_with_code_in_one_field || self.due(attempt) != Some(Method::Pin) {
            return None;
        }
        self.after_due(attempt)
            .filter(|m| matches!(m, Method::Totp | Method::Bingo | Method::HardwareToken))
    }

    /// Self-enrolment of an authenticator app (TOTP or bingo) during sign-in: returns the
    /// secret (Base32) and its `otpauth://` URI; the same pending secret until confirmed.
    pub async fn enrol_app_start(
        &self,
        attempt: &AttemptRow,
        method: Method,
    ) -> anyhow::Result<Option<(String, String)>> {
        let Some(user) = self.user_of(attempt).await? else {
            return Ok(None);
        };
        if self.due(attempt) != Some(method) || self.enrolled(&user).await?.contains(&method) {
            return Ok(None);
        }
        factors::enrolment_start(self, attempt, &user, method).await
    }

    /// Confirms a pending authenticator enrolment with a code; passing it passes the step.
    pub async fn enrol_app_finish(
        &self,
        attempt: &AttemptRow,
        method: Method,
        code: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<StepOutcome> {
        let Some(user) = self.user_of(attempt).await? else {
            return Ok(StepOutcome::Failed);
        };
        if self.due(attempt) != Some(method) || self.enrolled(&user).await?.contains(&method) {
            return Ok(StepOutcome::OutOfOrder);
        }
        if !factors::enrolment_finish(self, attempt, &user, method, code).await? {
            return Ok(self
                .fail(attempt, method, "enrolment_code_wrong", json!({}), ip)
                .await);
        }
        self.audit(self.audit_event(
            &user.name,
            "factor.enrolled",
            &user.name,
            "success",
            json!({ "method": method.as_str() }),
            ip,
        ))
        .await;
        if !self.record(attempt, &[method]).await? {
            return Ok(StepOutcome::Failed);
        }
        Ok(StepOutcome::Passed)
    }

    /// Self-enrolment of a PIN during sign-in; `Err(reason)` for a PIN the policy refuses.
    pub async fn enrol_pin(
        &self,
        attempt: &AttemptRow,
        pin: &str,
        confirm: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<StepOutcome, String>> {
        let Some(user) = self.user_of(attempt).await? else {
            return Ok(Ok(StepOutcome::Failed));
        };
        if self.due(attempt) != Some(Method::Pin)
            || self.enrolled(&user).await?.contains(&Method::Pin)
        {
            return Ok(Ok(StepOutcome::OutOfOrder));
        }
        if pin != confirm {
            return Ok(Err("mismatch".into()));
        }
        let policy = self.policy_for(Some(user.id)).await?;
        if let Err(r) = policy.pin.check(pin) {
            return Ok(Err(r.to_string()));
        }
        factors::set_pin(self, &user, pin).await?;
        self.audit(self.audit_event(
            &user.name,
            "factor.enrolled",
            &user.name,
            "success",
            json!({ "method": "pin" }),
            ip,
        ))
        .await;
        if !self.record(attempt, &[Method::Pin]).await? {
            return Ok(Ok(StepOutcome::Failed));
        }
        Ok(Ok(StepOutcome::Passed))
    }

    /// The policy that applies to the attempt's user (for the pattern page's rules).
    pub async fn attempt_policy(&self, attempt: &AttemptRow) -> anyhow::Result<AuthPolicy> {
        self.policy_for(attempt.user_id).await
    }

    /// Sets the user's own pattern after an initial-pattern sign-in; the sign-in then goes on
    /// with [`SignIn::next`].
    pub async fn change_initial_pattern(
        &self,
        attempt: &AttemptRow,
        pattern: &str,
        confirm: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<(), PatternChangeError>> {
        if attempt.state != AttemptState::PatternChange {
            return Ok(Err(PatternChangeError::NoAttempt));
        }
        let Some(user) = self.user_of(attempt).await? else {
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
        if !self
            .store
            .advance_attempt(
                &attempt.id,
                AttemptState::PatternChange,
                AttemptState::Steps,
            )
            .await?
        {
            return Ok(Err(PatternChangeError::NoAttempt));
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
        Ok(Ok(()))
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

/// Why a PIN change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PinChangeError {
    /// The current PIN was wrong (counted toward the lockout) or the account is locked.
    CurrentWrong,
    /// The two new PINs differ.
    Mismatch,
    /// The new PIN breaks the policy (the reason).
    Policy(String),
}

impl SignIn {
    /// Changes (or first sets) a signed-in user's PIN. A wrong current PIN counts as a failed
    /// answer, exactly like at sign-in, so this page is no side door for guessing.
    pub async fn change_pin(
        &self,
        user_id: i64,
        current: &str,
        new: &str,
        confirm: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<(), PinChangeError>> {
        let Some(user) = self.store.user_by_id(user_id).await? else {
            return Ok(Err(PinChangeError::CurrentWrong));
        };
        let policy = self.policy_for(Some(user.id)).await?;
        if self.enrolled(&user).await?.contains(&Method::Pin) {
            let now = self.clock.unix();
            if self
                .store
                .reserve_answer_slot(user.id, policy.lockout_threshold, now)
                .await?
                .is_none()
            {
                return Ok(Err(PinChangeError::CurrentWrong));
            }
            if factors::verify(self, &user, Method::Pin, current, &policy)
                .await?
                .is_err()
            {
                self.audit(self.audit_event(
                    &user.name,
                    "pin.change_failed",
                    &user.name,
                    "failure",
                    json!({ "reason": "wrong_current_pin" }),
                    ip,
                ))
                .await;
                return Ok(Err(PinChangeError::CurrentWrong));
            }
            self.store.clear_failures(user.id).await?;
        }
        if new != confirm {
            return Ok(Err(PinChangeError::Mismatch));
        }
        if let Err(r) = policy.pin.check(new) {
            return Ok(Err(PinChangeError::Policy(r.to_string())));
        }
        factors::set_pin(self, &user, new).await?;
        self.audit(self.audit_event(
            &user.name,
            "pin.changed",
            &user.name,
            "success",
            json!({}),
            ip,
        ))
        .await;
        Ok(Ok(()))
    }
}

/// Why a user got no answer slot (for the audit trail only; the page says the same either way).
fn refusal_reason(user: &UserRow, now: i64) -> &'static str {
    if !user.enabled {
        "disabled"
    } else if user.valid_from.is_some_and(|f| now < f) {
        "not_yet_valid"
    } else if user.valid_until.is_some_and(|u| now >= u) {
        "expired"
    } else {
        "locked"
    }
}
