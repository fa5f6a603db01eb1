//! Login protect: the reference authenticator's pairing, its signed unlock requests, and the
//! sign-in step that passes only while the user's unlock window is open.
//!
//! Pairing: an administrator (`user pair-authenticator NAME`) or the signed-in user
//! (`/account/authenticator`) gets a one-time pairing code (stored as its SHA-256, 10 minutes).
//! `passlogic-idp authenticator pair --server URL --code CODE --key FILE` makes a P-256 key pair
//! on the device, keeps the private key in FILE and sends the code with the public key to
//! `POST /authenticator/pair`; the code is taken once and the key registered for its user (one
//! key per user: pairing again replaces it and closes the window).
//!
//! Unlock: `POST /authenticator/unlock` with a request signed as
//! [`passlogic_idp_core::factor::unlock`] describes. A valid, fresh, first-seen request (its
//! nonce goes to the used-once table) opens the window for the policy's
//! `login_protect_window_secs`. The login-protect step consumes the window (one unlock, one
//! sign-in); outside it the sign-in is refused with a message to unlock first. A refused step
//! is not a guess and does not count toward the lockout.
//!
//! Known gaps: no user-facing list of paired keys or un-pairing (pair again to replace); the
//! unlock endpoint answers JSON only.

use passlogic_idp_core::factor::unlock::{self, UnlockError, UnlockRequest};
use passlogic_idp_core::pipeline::Method;
use rand::RngCore;
use serde_json::json;

use crate::signin::SignIn;
use crate::store::{AttemptRow, UserRow};
use crate::tokens::hash_token;

/// Lifetime of a pairing code.
pub const PAIRING_CODE_TTL_SECS: i64 = 600;

/// What pairing did.
#[derive(Debug, PartialEq, Eq)]
pub enum PairOutcome {
    /// Registered for this user (login name).
    Paired(String),
    /// Unknown, expired or used pairing code.
    BadCode,
    /// Not a P-256 public key.
    BadKey(UnlockError),
}

/// What an unlock request did.
#[derive(Debug, PartialEq, Eq)]
pub enum UnlockOutcome {
    /// The window is open until this UNIX time.
    Opened(i64),
    /// Shape, age or signature wrong, or no such key: nothing changed.
    Refused(UnlockError),
    /// The request was used before.
    Replayed,
}

/// What the login-protect step did.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginProtectOutcome {
    /// The window was open; it is closed now and the step is recorded.
    Passed,
    /// No open window (or no paired key): refused, the attempt is over.
    Locked,
    /// Not the due step: nothing happened.
    OutOfOrder,
}

/// A pairing code: 12 characters of Crockford-style Base32 in groups of four.
fn new_pairing_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ0123456789";
    let mut b = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let chars: Vec<char> = b
        .iter()
        .map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Normalises a typed pairing code (case, spaces) before hashing.
fn normalise_code(code: &str) -> String {
    code.trim().to_ascii_uppercase().replace(' ', "")
}

impl SignIn {
    /// A fresh one-time pairing code for a user (shown once; stored hashed).
    pub async fn pairing_code(&self, user: &UserRow, actor: &str) -> anyhow::Result<String> {
        let code = new_pairing_code();
        let now = self.clock.unix();
        self.store
            .create_pairing(
                self.tenant_id,
                user.id,
                &hash_token(&code),
                now + PAIRING_CODE_TTL_SECS,
            )
            .await?;
        self.audit(self.audit_event(
            actor,
            "authenticator.pairing_code",
            &user.name,
            "success",
            json!({}),
            None,
        ))
        .await;
        Ok(code)
    }

    /// Pairs a public key (PEM) with the user of a pairing code.
    pub async fn pair_authenticator(
        &self,
        code: &str,
        public_key_pem: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<PairOutcome> {
        // Check the key first: a bad key does not burn the code.
        let key_id = match unlock::parse_public_key(public_key_pem).and_then(|k| unlock::key_id(&k))
        {
            Ok(k) => k,
            Err(e) => return Ok(PairOutcome::BadKey(e)),
        };
        let now = self.clock.unix();
        let code_hash = hash_token(&normalise_code(code));
        let Some(user_id) = self
            .store
            .take_pairing(self.tenant_id, &code_hash, now)
            .await?
        else {
            self.audit(self.audit_event(
                "anonymous",
                "authenticator.paired",
                "",
                "failure",
                json!({ "reason": "bad_code" }),
                ip,
            ))
            .await;
            return Ok(PairOutcome::BadCode);
        };
        let Some(user) = self.store.user_by_id(user_id).await? else {
            return Ok(PairOutcome::BadCode);
        };
        self.store
            .put_authenticator_key(self.tenant_id, user.id, &key_id, public_key_pem.trim(), now)
            .await?;
        self.audit(self.audit_event(
            &user.name,
            "authenticator.paired",
            &user.name,
            "success",
            json!({ "key_id": key_id }),
            ip,
        ))
        .await;
        Ok(PairOutcome::Paired(user.name))
    }

    /// Checks an unlock request and opens the user's window.
    pub async fn unlock(
        &self,
        req: &UnlockRequest,
        ip: Option<&str>,
    ) -> anyhow::Result<UnlockOutcome> {
        if let Err(e) = req.check_shape() {
            return Ok(UnlockOutcome::Refused(e));
        }
        let now = self.clock.unix();
        let key = self
            .store
            .authenticator_key(self.tenant_id, &req.key_id.to_ascii_lowercase())
            .await?;
        let checked = match &key {
            Some(k) => unlock::verify(req, &k.public_key, now),
            None => Err(UnlockError::BadSignature),
        };
        let key = match (key, checked) {
            (Some(k), Ok(())) => k,
            (k, verdict) => {
                let e = verdict.err().unwrap_or(UnlockError::BadSignature);
                let subject = match k {
                    Some(k) => self.store.user_by_id(k.user_id).await?.map(|u| u.name),
                    None => None,
                };
                self.audit(self.audit_event(
                    "anonymous",
                    "authenticator.unlock",
                    subject.as_deref().unwrap_or(""),
                    "failure",
                    json!({ "reason": e.to_string() }),
                    ip,
                ))
                .await;
                return Ok(UnlockOutcome::Refused(e));
            }
        };
        let subject = self
            .store
            .user_by_id(key.user_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let once_key = format!("{}:{}", req.key_id.to_ascii_lowercase(), req.nonce);
        if !self
            .store
            .use_once("unlock", &once_key, req.replay_horizon())
            .await?
        {
            self.audit(self.audit_event(
                &subject,
                "authenticator.unlock",
                &subject,
                "failure",
                json!({ "reason": "replayed" }),
                ip,
            ))
            .await;
            return Ok(UnlockOutcome::Replayed);
        }
        let policy = self.policy_for(Some(key.user_id)).await?;
        let until = now + policy.login_protect_window_secs;
        self.store.open_unlock_window(key.user_id, until).await?;
        self.audit(self.audit_event(
            &subject,
            "authenticator.unlock",
            &subject,
            "success",
            json!({ "until": until }),
            ip,
        ))
        .await;
        Ok(UnlockOutcome::Opened(until))
    }

    /// Takes the login-protect step: passes (and closes the window) only while it is open.
    pub async fn answer_login_protect(
        &self,
        attempt: &AttemptRow,
        ip: Option<&str>,
    ) -> anyhow::Result<LoginProtectOutcome> {
        if self.due(attempt) != Some(Method::LoginProtect) {
            return Ok(LoginProtectOutcome::OutOfOrder);
        }
        let now = self.clock.unix();
        let opened = match attempt.user_id {
            Some(uid) => self.store.consume_unlock_window(uid, now).await?,
            None => false,
        };
        if opened {
            if self.record(attempt, &[Method::LoginProtect]).await? {
                return Ok(LoginProtectOutcome::Passed);
            }
            return Ok(LoginProtectOutcome::OutOfOrder);
        }
        self.fail(attempt, Method::LoginProtect, "not_unlocked", json!({}), ip)
            .await;
        self.store.finish_attempt(&attempt.id).await?;
        Ok(LoginProtectOutcome::Locked)
    }
}

#[cfg(test)]
mod tests {
    use super::{new_pairing_code, normalise_code};

    #[test]
    fn pairing_codes() {
        let c = new_pairing_code();
        assert_eq!(c.len(), 14, "{c}");
        assert_eq!(c.matches('-').count(), 2);
        assert_ne!(c, new_pairing_code());
        assert_eq!(normalise_code(&format!(" {} ", c.to_lowercase())), c);
    }
}
