//! Passkeys (WebAuthn, the `passkey` step): registration by a signed-in user and the sign-in
//! step. The verification is the core's [`passlogic_idp_core::factor::webauthn`] (see there
//! why it is our own over `coset` + OpenSSL rather than a relying-party crate); this module
//! stores credentials and challenges and audits.
//!
//! - RP ID = the host of the public URL (`serve --public-url`), the one accepted origin = its
//!   origin. Browsers refuse an IP address as RP ID: use a host name (`localhost` in tests).
//! - Challenges: 32 random bytes, stored as SHA-256 with their purpose and owner (the signed-in
//!   user for registration, the sign-in attempt for the step), 5 minutes, taken once by
//!   `DELETE` (so two nodes cannot both accept one).
//! - User verification is required in both ceremonies; credentials are discoverable.
//! - The step's request options carry no `allowCredentials`: the authenticator offers the
//!   user's passkeys itself, and the options look the same for every user ID (no
//!   enumeration). The server then checks that the credential belongs to the attempt's user.
//! - A refused assertion ends the attempt (like the other steps without a typed answer) and is
//!   audited; it does not count toward the lockout (a passkey cannot be guessed).

use passlogic_idp_core::factor::webauthn::{
    self, AuthenticationResponse, RegistrationResponse, RelyingParty, StoredCredential, UserEntity,
    WebauthnError,
};
use passlogic_idp_core::pipeline::Method;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::signin::SignIn;
use crate::store::{AttemptRow, PasskeyRow, UserRow};

/// How long a challenge may be answered.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// The browser's ceremony timeout (ms).
const TIMEOUT_MS: u64 = 120_000;
/// Longest credential JSON accepted from a form.
pub const MAX_CREDENTIAL_JSON: usize = 64 * 1024;
const REGISTER: &str = "register";
const LOGIN: &str = "login";

/// The user handle given to authenticators: 16 bytes derived from tenant and user ids (no
/// personal data, the same for all of a user's passkeys).
pub fn user_handle(tenant_id: i64, user_id: i64) -> Vec<u8> {
    Sha256::digest(format!("passlogic-idp passkey user\n{tenant_id}\n{user_id}\n").as_bytes())[..16]
        .to_vec()
}

fn challenge_hash(challenge: &[u8]) -> String {
    hex::encode(Sha256::digest(challenge))
}

fn new_id() -> String {
    let mut b = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// What the passkey step did.
#[derive(Debug, PartialEq, Eq)]
pub enum PasskeyOutcome {
    /// Verified and recorded.
    Passed,
    /// Refused (the code is for the audit trail and the page); the attempt is over.
    Refused(&'static str),
    /// Not the due step, or the attempt changed concurrently: nothing happened.
    OutOfOrder,
}

/// Why a registration was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The response did not verify (code of [`WebauthnError::code`] or ours).
    Refused(&'static str),
}

fn refuse_code(e: &WebauthnError) -> &'static str {
    e.code()
}

impl SignIn {
    /// Request options for the passkey step (a new single-use challenge bound to the attempt);
    /// `None` when the passkey step is not due.
    pub async fn passkey_login_options(
        &self,
        rp: &RelyingParty,
        attempt: &AttemptRow,
    ) -> anyhow::Result<Option<serde_json::Value>> {
        if self.due(attempt) != Some(Method::Passkey) {
            return Ok(None);
        }
        let challenge = webauthn::new_challenge(&mut rand::rngs::OsRng);
        self.store
            .create_passkey_challenge(
                &challenge_hash(&challenge),
                LOGIN,
                &attempt.id,
                self.clock.unix() + CHALLENGE_TTL_SECS,
            )
            .await?;
        Ok(Some(webauthn::request_options(
            rp,
            &challenge,
            &[],
            TIMEOUT_MS,
        )))
    }

    /// Takes the passkey step with the browser's `AuthenticationResponseJSON`.
    pub async fn answer_passkey(
        &self,
        rp: &RelyingParty,
        attempt: &AttemptRow,
        credential_json: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<PasskeyOutcome> {
        if self.due(attempt) != Some(Method::Passkey) {
            return Ok(PasskeyOutcome::OutOfOrder);
        }
        let (code, detail) = match self.check_assertion(rp, attempt, credential_json).await? {
            Ok(None) => return Ok(PasskeyOutcome::OutOfOrder),
            Ok(Some(passkey_id)) => {
                if self.record(attempt, &[Method::Passkey]).await? {
                    self.audit(self.audit_event(
                        &attempt.login_name,
                        "passkey.used",
                        &attempt.login_name,
                        "success",
                        json!({ "passkey": passkey_id }),
                        ip,
                    ))
                    .await;
                    return Ok(PasskeyOutcome::Passed);
                }
                return Ok(PasskeyOutcome::OutOfOrder);
            }
            Err(r) => r,
        };
        self.fail(attempt, Method::Passkey, code, detail, ip).await;
        self.store.finish_attempt(&attempt.id).await?;
        Ok(PasskeyOutcome::Refused(code))
    }

    /// `Ok(Ok(Some(passkey id)))` verified and counted; `Ok(Ok(None))` the counter moved
    /// concurrently; `Ok(Err((code, detail)))` refused.
    #[allow(clippy::type_complexity)]
    async fn check_assertion(
        &self,
        rp: &RelyingParty,
        attempt: &AttemptRow,
        credential_json: &str,
    ) -> anyhow::Result<Result<Option<String>, (&'static str, serde_json::Value)>> {
        if credential_json.len() > MAX_CREDENTIAL_JSON {
            return Ok(Err(("malformed", json!({}))));
        }
        let Ok(resp) = serde_json::from_str::<AuthenticationResponse>(credential_json) else {
            return Ok(Err(("malformed", json!({}))));
        };
        let (challenge, raw_id) = match (resp.challenge(), resp.credential_id()) {
            (Ok(c), Ok(r)) => (c, r),
            (Err(e), _) | (_, Err(e)) => return Ok(Err((refuse_code(&e), json!({})))),
        };
        let now = self.clock.unix();
        if !self
            .store
            .take_passkey_challenge(&challenge_hash(&challenge), LOGIN, &attempt.id, now)
            .await?
        {
            return Ok(Err(("challenge_unknown", json!({}))));
        }
        let cred_b64 = webauthn::b64url(&raw_id);
        let Some(row) = self.store.passkey_by_credential(&cred_b64).await? else {
            return Ok(Err(("unknown_credential", json!({}))));
        };
        if attempt.user_id != Some(row.user_id) {
            return Ok(Err((
                "credential_of_another_user",
                json!({ "passkey": row.id }),
            )));
        }
        let handle = user_handle(self.tenant_id, row.user_id);
        let stored = StoredCredential {
            credential_id: &raw_id,
            public_key: &row.public_key,
            sign_count: u32::try_from(row.sign_count).unwrap_or(u32::MAX),
            backup_eligible: row.backup_eligible,
            user_handle: &handle,
        };
        match webauthn::verify_authentication(rp, &challenge, &stored, &resp) {
            Err(e) => Ok(Err((
                refuse_code(&e),
                json!({ "passkey": row.id, "detail": e.to_string() }),
            ))),
            Ok(a) => {
                if self
                    .store
                    .use_passkey(
                        &row.id,
                        row.sign_count,
                        i64::from(a.sign_count),
                        a.backup_state,
                        now,
                    )
                    .await?
                {
                    Ok(Ok(Some(row.id)))
                } else {
                    Ok(Err(("counter_race", json!({ "passkey": row.id }))))
                }
            }
        }
    }

    /// Creation options for a signed-in user (a new single-use challenge bound to the user).
    pub async fn passkey_registration_options(
        &self,
        rp: &RelyingParty,
        user: &UserRow,
    ) -> anyhow::Result<serde_json::Value> {
        let challenge = webauthn::new_challenge(&mut rand::rngs::OsRng);
        self.store
            .create_passkey_challenge(
                &challenge_hash(&challenge),
                REGISTER,
                &user.id.to_string(),
                self.clock.unix() + CHALLENGE_TTL_SECS,
            )
            .await?;
        let exclude: Vec<Vec<u8>> = self
            .store
            .passkeys(user.id)
            .await?
            .iter()
            .filter_map(|p| webauthn::from_b64url(&p.credential_id))
            .collect();
        let handle = user_handle(self.tenant_id, user.id);
        let display = if user.display_name.is_empty() {
            &user.name
        } else {
            &user.display_name
        };
        Ok(webauthn::creation_options(
            rp,
            &UserEntity {
                handle: &handle,
                name: &user.name,
                display_name: display,
            },
            &challenge,
            &exclude,
            TIMEOUT_MS,
        ))
    }

    /// Verifies and stores a new passkey for a signed-in user.
    pub async fn register_passkey(
        &self,
        rp: &RelyingParty,
        user: &UserRow,
        credential_json: &str,
        label: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<PasskeyRow, RegisterError>> {
        let result = self
            .verify_new_passkey(rp, user, credential_json, label)
            .await?;
        match &result {
            Ok(row) => {
                self.audit(self.audit_event(
                    &user.name,
                    "passkey.registered",
                    &user.name,
                    "success",
                    json!({ "passkey": row.id, "label": row.label, "alg": row.alg,
                            "backup_eligible": row.backup_eligible }),
                    ip,
                ))
                .await
            }
            Err(RegisterError::Refused(code)) => {
                self.audit(self.audit_event(
                    &user.name,
                    "passkey.registration_failed",
                    &user.name,
                    "failure",
                    json!({ "reason": code }),
                    ip,
                ))
                .await
            }
        }
        Ok(result)
    }

    async fn verify_new_passkey(
        &self,
        rp: &RelyingParty,
        user: &UserRow,
        credential_json: &str,
        label: &str,
    ) -> anyhow::Result<Result<PasskeyRow, RegisterError>> {
        let refused = |c: &'static str| Ok(Err(RegisterError::Refused(c)));
        if credential_json.len() > MAX_CREDENTIAL_JSON {
            return refused("malformed");
        }
        let Ok(resp) = serde_json::from_str::<RegistrationResponse>(credential_json) else {
            return refused("malformed");
        };
        let challenge = match resp.challenge() {
            Ok(c) => c,
            Err(e) => return refused(refuse_code(&e)),
        };
        let now = self.clock.unix();
        if !self
            .store
            .take_passkey_challenge(
                &challenge_hash(&challenge),
                REGISTER,
                &user.id.to_string(),
                now,
            )
            .await?
        {
            return refused("challenge_unknown");
        }
        let cred = match webauthn::verify_registration(rp, &challenge, &resp) {
            Ok(c) => c,
            Err(e) => return refused(refuse_code(&e)),
        };
        let label: String = label.trim().chars().take(64).collect();
        let row = PasskeyRow {
            id: new_id(),
            credential_id: webauthn::b64url(&cred.credential_id),
            user_id: user.id,
            public_key: cred.public_key,
            alg: cred.alg,
            sign_count: i64::from(cred.sign_count),
            backup_eligible: cred.backup_eligible,
            backup_state: cred.backup_state,
            aaguid: hex::encode(cred.aaguid),
            transports: cred.transports.join(","),
            label: if label.is_empty() {
                "Passkey".to_owned()
            } else {
                label
            },
            created_at: now,
            last_used_at: now,
        };
        if !self.store.insert_passkey(self.tenant_id, &row).await? {
            return refused("already_registered");
        }
        Ok(Ok(row))
    }
}

/// The relying party of a public URL (RP ID = its host, origin = its origin).
pub fn relying_party(public_url: &str) -> anyhow::Result<RelyingParty> {
    RelyingParty::from_public_url(public_url, "PassLogic IdP")
        .ok_or_else(|| anyhow::anyhow!("passkeys: the public URL {public_url:?} has no host"))
}
