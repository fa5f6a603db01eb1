//! The external face verifier step (`biometric`): the HTTP adapter of
//! [`passlogic_idp_core::factor::face::FaceVerifier`] and the sign-in service methods.
//!
//! Configured with `serve --face-verifier-url URL --face-verifier-secret-file FILE`. At the
//! step the IdP stores a one-time challenge bound to the attempt (hashed, 5 minutes), asks the
//! verifier to start (`POST URL/v1/verifications`, `Authorization: Bearer CREDENTIAL`, JSON
//! [`VerificationRequest`]) and sends the browser to the URL it answers. The verifier sends the
//! browser back to `/login/biometric/callback` with an HMAC-signed verdict, accepted once for
//! that attempt's challenge. The contract is in docs/integrations/face-verifier.md.
//!
//! Known gaps: the HTTP client has no TLS yet (`http://` verifiers only, e.g. on localhost or
//! a private network); one credential per server, not per tenant; any refused verdict ends
//! the attempt but does not count toward the lockout.

use passlogic_idp_core::factor::face::{
    self, Decision, FaceVerifier, StartedVerification, Verdict, VerificationRequest, VerifierError,
};
use passlogic_idp_core::pipeline::Method;
use serde_json::json;

use crate::signin::SignIn;
use crate::store::AttemptRow;
use crate::tokens::{hash_token, new_token};

/// How long a challenge waits for its verdict.
pub const CHALLENGE_TTL_SECS: i64 = 300;

/// The HTTP adapter: a verifier service at a URL with a shared credential.
#[derive(Clone)]
pub struct HttpFaceVerifier {
    url: String,
    credential: Vec<u8>,
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpFaceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFaceVerifier")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpFaceVerifier {
    /// An adapter for the verifier at `url` (http://...) with the credential (at least 16
    /// bytes).
    pub fn new(url: &str, credential: Vec<u8>) -> anyhow::Result<HttpFaceVerifier> {
        anyhow::ensure!(
            url.starts_with("http://"),
            "--face-verifier-url: only http:// URLs for now"
        );
        anyhow::ensure!(
            credential.len() >= 16,
            "the face verifier credential needs at least 16 bytes"
        );
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HttpFaceVerifier {
            url: url.trim_end_matches('/').to_owned(),
            credential,
            client,
        })
    }
}

impl FaceVerifier for HttpFaceVerifier {
    async fn start(
        &self,
        request: &VerificationRequest,
    ) -> Result<StartedVerification, VerifierError> {
        let bearer = String::from_utf8_lossy(&self.credential).into_owned();
        let r = self
            .client
            .post(format!("{}/v1/verifications", self.url))
            .bearer_auth(bearer)
            .json(request)
            .send()
            .await
            .map_err(|e| VerifierError(e.without_url().to_string()))?;
        if !r.status().is_success() {
            return Err(VerifierError(format!("status {}", r.status().as_u16())));
        }
        let started: StartedVerification = r
            .json()
            .await
            .map_err(|_| VerifierError("answer is not the expected JSON".into()))?;
        if !(started.url.starts_with("http://") || started.url.starts_with("https://")) {
            return Err(VerifierError("answer URL is not http(s)".into()));
        }
        Ok(started)
    }

    fn verdict_key(&self) -> &[u8] {
        &self.credential
    }
}

/// What starting the step did.
#[derive(Debug, PartialEq, Eq)]
pub enum FaceStart {
    /// Send the browser here.
    Redirect(String),
    /// Not the due step.
    OutOfOrder,
    /// No verifier configured, or it failed: the attempt is over.
    Unavailable,
}

/// What a verdict did.
#[derive(Debug, PartialEq, Eq)]
pub enum FaceOutcome {
    /// A genuine `match`: the step is recorded.
    Passed,
    /// A genuine `no_match`: the attempt is over.
    NoMatch,
    /// Forged, replayed, stale or misdirected verdict: the attempt is over.
    Refused,
    /// Not the due step.
    OutOfOrder,
}

impl SignIn {
    /// Starts the biometric step: stores a challenge and asks the verifier where to go.
    pub async fn start_face<V: FaceVerifier + Sync>(
        &self,
        attempt: &AttemptRow,
        verifier: Option<&V>,
        callback_url: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<FaceStart> {
        if self.due(attempt) != Some(Method::Biometric) {
            return Ok(FaceStart::OutOfOrder);
        }
        let reason = match verifier {
            None => "face_verifier_not_configured".to_owned(),
            Some(v) => {
                let challenge = new_token();
                self.store
                    .create_face_challenge(
                        &hash_token(&challenge),
                        &attempt.id,
                        self.clock.unix() + CHALLENGE_TTL_SECS,
                    )
                    .await?;
                let req = VerificationRequest {
                    challenge,
                    user: attempt.login_name.clone(),
                    callback_url: callback_url.to_owned(),
                };
                match v.start(&req).await {
                    Ok(s) => return Ok(FaceStart::Redirect(s.url)),
                    Err(e) => e.to_string(),
                }
            }
        };
        tracing::warn!(%reason, "face verifier step unavailable");
        self.fail(attempt, Method::Biometric, &reason, json!({}), ip)
            .await;
        self.store.finish_attempt(&attempt.id).await?;
        Ok(FaceStart::Unavailable)
    }

    /// Takes the verifier's verdict for the attempt's biometric step.
    pub async fn answer_face(
        &self,
        attempt: &AttemptRow,
        key: &[u8],
        verdict: &Verdict,
        ip: Option<&str>,
    ) -> anyhow::Result<FaceOutcome> {
        if self.due(attempt) != Some(Method::Biometric) {
            return Ok(FaceOutcome::OutOfOrder);
        }
        let now = self.clock.unix();
        // Signature and user first (a forged verdict takes nothing), then the challenge once.
        let checked =
            face::check_verdict(key, verdict, &verdict.challenge, &attempt.login_name, now);
        let (outcome, reason) = match checked {
            Err(e) => (FaceOutcome::Refused, e.to_string()),
            Ok(decision) => {
                let fresh = self
                    .store
                    .take_face_challenge(&hash_token(&verdict.challenge), &attempt.id, now)
                    .await?;
                match (fresh, decision) {
                    (false, _) => (
                        FaceOutcome::Refused,
                        "challenge unknown, used or expired".into(),
                    ),
                    (true, Decision::NoMatch) => (FaceOutcome::NoMatch, "no_match".into()),
                    (true, Decision::Match) => {
                        if self.record(attempt, &[Method::Biometric]).await? {
                            return Ok(FaceOutcome::Passed);
                        }
                        return Ok(FaceOutcome::OutOfOrder);
                    }
                }
            }
        };
        self.fail(
            attempt,
            Method::Biometric,
            "face_verdict",
            json!({ "detail": reason }),
            ip,
        )
        .await;
        self.store.finish_attempt(&attempt.id).await?;
        Ok(outcome)
    }
}

/// The configured verifier and this server's callback URL.
#[derive(Debug)]
pub struct FaceSetup {
    /// The adapter.
    pub verifier: HttpFaceVerifier,
    /// `PUBLIC_URL/login/biometric/callback`.
    pub callback_url: String,
}

impl FaceSetup {
    /// From `serve` flags: the verifier URL and the file holding the credential (trimmed).
    pub fn from_flags(
        url: &str,
        secret_file: &std::path::Path,
        public_url: &str,
    ) -> anyhow::Result<FaceSetup> {
        let secret = std::fs::read_to_string(secret_file).map_err(|e| {
            anyhow::anyhow!("--face-verifier-secret-file {}: {e}", secret_file.display())
        })?;
        Ok(FaceSetup {
            verifier: HttpFaceVerifier::new(url, secret.trim().as_bytes().to_vec())?,
            callback_url: format!(
                "{}/login/biometric/callback",
                public_url.trim_end_matches('/')
            ),
        })
    }
}

impl FaceSetup {
    /// The verdicts' HMAC key.
    pub fn verifier_key(&self) -> Vec<u8> {
        self.verifier.verdict_key().to_vec()
    }
}
