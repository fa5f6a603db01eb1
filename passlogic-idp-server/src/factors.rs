//! Server glue for the code factors (PIN, authenticator app, bingo, hardware tokens): load the
//! sealed or hashed secret, call the core verifier, and enforce single use in the shared store.

use std::sync::OnceLock;

use base64::Engine;
use passlogic_idp_core::factor::otp::{
    self, HotpState, OtpAlgorithm, OtpFailure, OtpSecret, TotpParams,
};
use passlogic_idp_core::factor::pin::{self, Argon2Params};
use passlogic_idp_core::pipeline::Method;
use passlogic_idp_core::policy::AuthPolicy;

use crate::secrets;
use crate::signin::SignIn;
use passlogic_idp_core::seal::Keyring;

use crate::store::{AttemptRow, FactorRow, Store, UserRow};

/// Verdict of one factor check: `Err` carries the audit reason.
pub type Verdict = Result<(), &'static str>;

fn otp_reason(e: OtpFailure) -> &'static str {
    match e {
        OtpFailure::Replayed => "replayed_code",
        OtpFailure::Malformed => "malformed_code",
        OtpFailure::Wrong => "wrong_code",
        _ => "code_error",
    }
}

async fn factor(svc: &SignIn, user: &UserRow, method: Method) -> anyhow::Result<Option<FactorRow>> {
    Ok(svc
        .store
        .factors(user.id)
        .await?
        .into_iter()
        .find(|f| f.method == method.as_str()))
}

/// Runs an Argon2id verification off the async threads, bounded by the semaphore.
async fn verify_pin_bounded(svc: &SignIn, pin: &str, phc: String) -> anyhow::Result<bool> {
    let _permit = svc.pin_hashing.acquire().await?;
    let pin = pin.to_owned();
    let ok = tokio::task::spawn_blocking(move || pin::verify_pin(&pin, &phc)).await??;
    Ok(ok)
}

fn dummy_phc() -> &'static str {
    static PHC: OnceLock<String> = OnceLock::new();
    PHC.get_or_init(|| {
        pin::hash_pin(
            "not-a-pin",
            &Argon2Params::default(),
            &mut rand::rngs::OsRng,
        )
        .unwrap_or_default()
    })
}

/// The work a real check of `method` would do, for unknown or locked users (uniform timing).
pub async fn dummy_work(svc: &SignIn, method: Method) {
    if method == Method::Pin {
        let _ = verify_pin_bounded(svc, "0000", dummy_phc().to_owned()).await;
    }
}

/// How many digits the code of `method` has for this user.
pub async fn code_digits(
    svc: &SignIn,
    user: &UserRow,
    method: Method,
    policy: &AuthPolicy,
) -> anyhow::Result<usize> {
    Ok(match method {
        Method::HardwareToken => svc
            .store
            .token_of_user(user.id)
            .await?
            .map(|t| t.digits as usize)
            .unwrap_or(6),
        _ => match factor(svc, user, method).await? {
            Some(f) => serde_json::from_str::<TotpParams>(&f.params)
                .map(|p| p.digits as usize)
                .unwrap_or(6),
            None => policy.totp.digits as usize,
        },
    })
}

pub(crate) fn totp_replay_expiry(step: u64, params: &TotpParams) -> i64 {
    let end = (step + u64::from(params.skew_steps) + 2) * u64::from(params.period_secs);
    i64::try_from(end).unwrap_or(i64::MAX)
}

/// Checks one factor's answer for a user.
pub async fn verify(
    svc: &SignIn,
    user: &UserRow,
    method: Method,
    answer: &str,
    policy: &AuthPolicy,
) -> anyhow::Result<Verdict> {
    let now = svc.clock.now();
    match method {
        Method::Pin => {
            let Some(f) = factor(svc, user, method).await? else {
                return Ok(Err("not_enrolled"));
            };
            let Some(phc) = f.verifier else {
                return Ok(Err("not_enrolled"));
            };
            Ok(if verify_pin_bounded(svc, answer, phc).await? {
                Ok(())
            } else {
                Err("wrong_pin")
            })
        }
        Method::Totp | Method::Bingo => {
            let Some(f) = factor(svc, user, method).await? else {
                return Ok(Err("not_enrolled"));
            };
            let Some(blob) = f.secret else {
                return Ok(Err("not_enrolled"));
            };
            let params: TotpParams = serde_json::from_str(&f.params)?;
            let aad = secrets::user_aad(method.as_str(), user.tenant_id, user.id);
            let secret = OtpSecret::from_bytes(secrets::open_bytes(&svc.keyring, &aad, &blob)?);
            match otp::totp_verify(&secret, &params, answer, now, None) {
                Ok(step) => {
                    let key = format!("{}:{step}", user.id);
                    if svc
                        .store
                        .use_once(method.as_str(), &key, totp_replay_expiry(step, &params))
                        .await?
                    {
                        Ok(Ok(()))
                    } else {
                        Ok(Err("replayed_code"))
                    }
                }
                Err(e) => Ok(Err(otp_reason(e))),
            }
        }
        Method::HardwareToken => {
            let Some(t) = svc.store.token_of_user(user.id).await? else {
                return Ok(Err("not_enrolled"));
            };
            let secret = OtpSecret::from_bytes(secrets::open_bytes(
                &svc.keyring,
                &secrets::token_aad(t.tenant_id, &t.serial),
                &t.secret,
            )?);
            let alg = OtpAlgorithm::from_name(&t.algorithm).unwrap_or_default();
            let digits = u8::try_from(t.digits).unwrap_or(6);
            if t.kind == "hotp" {
                let state = HotpState {
                    counter: u64::try_from(t.counter).unwrap_or(0),
                };
                match otp::hotp_verify(&secret, alg, digits, answer, &state, policy.hotp_look_ahead)
                {
                    Ok(next) => {
                        let next = i64::try_from(next).unwrap_or(i64::MAX);
                        if svc
                            .store
                            .advance_hotp_counter(t.id, t.counter, next)
                            .await?
                        {
                            Ok(Ok(()))
                        } else {
                            Ok(Err("replayed_code"))
                        }
                    }
                    Err(e) => Ok(Err(otp_reason(e))),
                }
            } else {
                let params = TotpParams {
                    algorithm: alg,
                    digits,
                    period_secs: u32::try_from(t.period).unwrap_or(30),
                    skew_steps: policy.totp.skew_steps,
                };
                match otp::totp_verify(&secret, &params, answer, now, None) {
                    Ok(step) => {
                        let key = format!("{}:{step}", t.serial);
                        if svc
                            .store
                            .use_once("hardware_token", &key, totp_replay_expiry(step, &params))
                            .await?
                        {
                            Ok(Ok(()))
                        } else {
                            Ok(Err("replayed_code"))
                        }
                    }
                    Err(e) => Ok(Err(otp_reason(e))),
                }
            }
        }
        _ => Ok(Err("method_not_supported_here")),
    }
}

/// Stores a new authenticator-app seed (sealed) for a user, as TOTP or bingo.
pub async fn enrol_app(
    store: &Store,
    ring: &Keyring,
    now: i64,
    user: &UserRow,
    method: Method,
    secret: &OtpSecret,
    params: &TotpParams,
) -> anyhow::Result<()> {
    let aad = secrets::user_aad(method.as_str(), user.tenant_id, user.id);
    let row = FactorRow {
        method: method.as_str().to_owned(),
        secret: Some(secrets::seal_bytes(ring, &aad, secret.as_bytes())),
        verifier: None,
        params: serde_json::to_string(params)?,
    };
    store.put_factor(user.id, &row, now).await
}

/// Hashes and stores a user's PIN.
pub async fn set_pin(svc: &SignIn, user: &UserRow, pin: &str) -> anyhow::Result<()> {
    let _permit = svc.pin_hashing.acquire().await?;
    let pin = pin.to_owned();
    let phc = tokio::task::spawn_blocking(move || {
        pin::hash_pin(&pin, &Argon2Params::default(), &mut rand::rngs::OsRng)
    })
    .await??;
    let row = FactorRow {
        method: "pin".into(),
        secret: None,
        verifier: Some(phc),
        params: "{}".into(),
    };
    svc.store.put_factor(user.id, &row, svc.clock.unix()).await
}

fn pending_kind(method: Method) -> String {
    format!("enrol:{}", method.as_str())
}

/// Issuer name shown in authenticator apps.
pub const ISSUER: &str = "PassLogic IdP";

/// Starts (or resumes) a self-enrolment: the pending seed is kept sealed as the attempt's
/// challenge until a correct code confirms it.
pub async fn enrolment_start(
    svc: &SignIn,
    attempt: &AttemptRow,
    user: &UserRow,
    method: Method,
) -> anyhow::Result<Option<(String, String)>> {
    let policy = svc.policy_for(Some(user.id)).await?;
    let aad = secrets::user_aad(method.as_str(), user.tenant_id, user.id);
    let kind = pending_kind(method);
    let secret = match svc.store.challenge(&attempt.id, &kind).await? {
        Some(data) => {
            let blob = base64::engine::general_purpose::STANDARD.decode(data)?;
            OtpSecret::from_bytes(secrets::open_bytes(&svc.keyring, &aad, &blob)?)
        }
        None => {
            let s = OtpSecret::generate(&mut rand::rngs::OsRng, OtpSecret::DEFAULT_LEN);
            let sealed = secrets::seal_bytes(&svc.keyring, &aad, s.as_bytes());
            let data = base64::engine::general_purpose::STANDARD.encode(sealed);
            if !svc
                .store
                .put_challenge(&attempt.id, &kind, &data, attempt.expires_at)
                .await?
            {
                return Ok(None);
            }
            s
        }
    };
    let uri = otp::otpauth_uri(ISSUER, &user.name, &secret, &policy.totp);
    Ok(Some((secret.to_base32(), uri)))
}

/// Confirms a pending enrolment with a code from the app; `false` when the code is wrong.
pub async fn enrolment_finish(
    svc: &SignIn,
    attempt: &AttemptRow,
    user: &UserRow,
    method: Method,
    code: &str,
) -> anyhow::Result<bool> {
    let policy = svc.policy_for(Some(user.id)).await?;
    let aad = secrets::user_aad(method.as_str(), user.tenant_id, user.id);
    let kind = pending_kind(method);
    let Some(data) = svc.store.challenge(&attempt.id, &kind).await? else {
        return Ok(false);
    };
    let blob = base64::engine::general_purpose::STANDARD.decode(data)?;
    let secret = OtpSecret::from_bytes(secrets::open_bytes(&svc.keyring, &aad, &blob)?);
    let Ok(step) = otp::totp_verify(&secret, &policy.totp, code, svc.clock.now(), None) else {
        return Ok(false);
    };
    if svc
        .store
        .take_challenge(&attempt.id, &kind)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    svc.store
        .use_once(
            method.as_str(),
            &format!("{}:{step}", user.id),
            totp_replay_expiry(step, &policy.totp),
        )
        .await?;
    enrol_app(
        &svc.store,
        &svc.keyring,
        svc.clock.unix(),
        user,
        method,
        &secret,
        &policy.totp,
    )
    .await?;
    Ok(true)
}
