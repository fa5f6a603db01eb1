//! The external face verifier: the contract between the IdP and a face-recognition service,
//! sans-IO. The server implements [`FaceVerifier`] with an HTTP adapter; the verdict check is
//! here.
//!
//! 1. The IdP makes a one-time [`VerificationRequest`]: a random challenge bound to the
//!    sign-in attempt, the user reference (login name) and the callback URL, and asks the
//!    verifier (with its credential) to start; the verifier answers with the URL to send the
//!    browser to.
//! 2. The verifier checks the face and redirects the browser to the callback with a
//!    [`Verdict`]: challenge, user, `match` or `no_match`, issue time, and an HMAC-SHA256 (hex)
//!    under the shared credential over [`Verdict::signed_bytes`]:
//!    `passlogic-idp face verdict v1\n<challenge>\n<user>\n<verdict>\n<issued_at>\n`.
//! 3. [`check_verdict`] accepts only a correctly signed, fresh verdict for the expected
//!    challenge and user. Single use of the challenge is the caller's job (stored, taken once).
//!
//! Known gaps: one shared credential for both directions (no key rollover); no liveness or
//! confidence score in the verdict, the verifier decides.

use std::future::Future;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};

/// How old a verdict may be (and how far in the future), in seconds.
pub const MAX_VERDICT_AGE_SECS: i64 = 300;

/// What the IdP sends the verifier to start a verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationRequest {
    /// One-time random challenge (Base64url), bound to the sign-in attempt.
    pub challenge: String,
    /// The user reference: the login name.
    pub user: String,
    /// Where the verifier sends the browser back with the verdict (query parameters).
    pub callback_url: String,
}

/// The verifier's answer to a start request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedVerification {
    /// Where to send the browser.
    pub url: String,
}

/// The verifier's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The face is the user's.
    Match,
    /// It is not (or no face).
    NoMatch,
}

/// The verdict as the browser brings it back (callback query parameters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The challenge of the request.
    pub challenge: String,
    /// The user reference of the request.
    pub user: String,
    /// `match` or `no_match`.
    pub verdict: String,
    /// UNIX seconds when the verifier decided.
    pub issued_at: i64,
    /// Hex HMAC-SHA256 under the shared credential.
    pub signature: String,
}

/// Why a verdict was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    /// Not a verdict for this attempt's challenge or user.
    #[error("the verdict is for another challenge or user")]
    WrongChallenge,
    /// The signature does not verify.
    #[error("the verdict's signature does not verify")]
    BadSignature,
    /// Too old or from the future.
    #[error("the verdict is too old")]
    Stale,
    /// Unknown verdict value.
    #[error("unknown verdict value")]
    Malformed,
}

/// Why the verifier could not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("face verifier unavailable: {0}")]
pub struct VerifierError(pub String);

/// A face verifier the sign-in hands the browser to. The server's HTTP adapter implements it;
/// tests may implement it in memory.
pub trait FaceVerifier {
    /// Starts a verification; the answer says where to send the browser.
    fn start(
        &self,
        request: &VerificationRequest,
    ) -> impl Future<Output = Result<StartedVerification, VerifierError>> + Send;

    /// The shared credential the verdicts are signed with.
    fn verdict_key(&self) -> &[u8];
}

impl Verdict {
    /// The bytes the verifier signs.
    pub fn signed_bytes(challenge: &str, user: &str, verdict: &str, issued_at: i64) -> Vec<u8> {
        format!("passlogic-idp face verdict v1\n{challenge}\n{user}\n{verdict}\n{issued_at}\n")
            .into_bytes()
    }
}

/// HMAC-SHA256 of `msg` under `key`, hex.
pub fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    let compute = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let k = PKey::hmac(key)?;
        let mut s = Signer::new(MessageDigest::sha256(), &k)?;
        s.sign_oneshot_to_vec(msg)
    };
    compute()
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a verdict for the expected challenge and user at `now`; the decision when it is
/// genuine. Signature compared in constant time.
pub fn check_verdict(
    key: &[u8],
    verdict: &Verdict,
    challenge: &str,
    user: &str,
    now: i64,
) -> Result<Decision, VerdictError> {
    let msg = Verdict::signed_bytes(
        &verdict.challenge,
        &verdict.user,
        &verdict.verdict,
        verdict.issued_at,
    );
    let expected = hmac_hex(key, &msg);
    let given = verdict.signature.to_ascii_lowercase();
    let same =
        expected.len() == given.len() && openssl::memcmp::eq(expected.as_bytes(), given.as_bytes());
    if key.is_empty() || !same {
        return Err(VerdictError::BadSignature);
    }
    // memcmp::eq needs equal lengths; the length of a challenge is not secret.
    let challenge_ok = verdict.challenge.len() == challenge.len()
        && openssl::memcmp::eq(verdict.challenge.as_bytes(), challenge.as_bytes());
    if !challenge_ok || verdict.user != user {
        return Err(VerdictError::WrongChallenge);
    }
    if (now - verdict.issued_at).abs() > MAX_VERDICT_AGE_SECS {
        return Err(VerdictError::Stale);
    }
    match verdict.verdict.as_str() {
        "match" => Ok(Decision::Match),
        "no_match" => Ok(Decision::NoMatch),
        _ => Err(VerdictError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"shared-credential-of-the-verifier";

    fn verdict(v: &str, at: i64) -> Verdict {
        Verdict {
            challenge: "ch1".into(),
            user: "demo".into(),
            verdict: v.into(),
            issued_at: at,
            signature: hmac_hex(KEY, &Verdict::signed_bytes("ch1", "demo", v, at)),
        }
    }

    #[test]
    fn genuine_verdicts() {
        assert_eq!(
            check_verdict(KEY, &verdict("match", 100), "ch1", "demo", 100),
            Ok(Decision::Match)
        );
        assert_eq!(
            check_verdict(KEY, &verdict("no_match", 100), "ch1", "demo", 100),
            Ok(Decision::NoMatch)
        );
        let mut upper = verdict("match", 100);
        upper.signature = upper.signature.to_uppercase();
        assert_eq!(
            check_verdict(KEY, &upper, "ch1", "demo", 100),
            Ok(Decision::Match)
        );
    }

    #[test]
    fn forged_or_misdirected_refused() {
        let mut v = verdict("no_match", 100);
        v.verdict = "match".into();
        assert_eq!(
            check_verdict(KEY, &v, "ch1", "demo", 100),
            Err(VerdictError::BadSignature)
        );
        assert_eq!(
            check_verdict(b"other", &verdict("match", 100), "ch1", "demo", 100),
            Err(VerdictError::BadSignature)
        );
        assert_eq!(
            check_verdict(b"", &verdict("match", 100), "ch1", "demo", 100),
            Err(VerdictError::BadSignature)
        );
        assert_eq!(
            check_verdict(KEY, &verdict("match", 100), "ch2", "demo", 100),
            Err(VerdictError::WrongChallenge)
        );
        assert_eq!(
            check_verdict(KEY, &verdict("match", 100), "ch1", "admin", 100),
            Err(VerdictError::WrongChallenge)
        );
        assert_eq!(
            check_verdict(KEY, &verdict("match", 100), "ch1", "demo", 401),
            Err(VerdictError::Stale)
        );
        assert_eq!(
            check_verdict(KEY, &verdict("maybe", 100), "ch1", "demo", 100),
            Err(VerdictError::Malformed)
        );
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
