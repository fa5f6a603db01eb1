//! Microsoft Entra ID's external authentication method (EAM) on the server: Entra form-POSTs
//! an implicit `id_token` request to `/oidc/authorize` with the configured EAM `client_id`;
//! this module answers it through the normal sign-in pipeline.
//!
//! 1. [`OidcService::eam_authorize`] validates the request with the core
//!    ([`passlogic_idp_core::oidc::eam::validate_eam_request`]: hint signature, issuer and
//!    audience; expiry deliberately not), finds the linked user (`external_identities` by
//!    `tid` + `oid`, else the configured link claim equal to a user name), and starts a sign-in
//!    attempt for that user over the *second-factor* steps of the user's policy (the
//!    possession / inherence methods of each combination the user is enrolled in; Entra did
//!    the first factor). No user-ID page. The request waits in `eam_pending` under the hash of
//!    a random handle that the attempt's return URL carries.
//! 2. The step pages run as for any sign-in; on success the attempt opens a session and
//!    returns to `/oidc/eam/resume?id=HANDLE`.
//! 3. [`OidcService::eam_resume`] takes the pending request (single use), checks that the
//!    session is the linked user's and at least as fresh as the request, picks the one `amr`
//!    value of the method used, and signs the RS256 `id_token` (`sub` = the hint's `sub`,
//!    the request's `nonce`, exactly one requested `acr`). The web layer form-POSTs it to
//!    Entra and ends the session: an EAM sign-in leaves no session at this provider.
//!
//! Any refusal (unlinked or disabled or locked user, no second factor, cancel, a session that
//! does not match) answers `error=access_denied` to Entra's redirect URI; requests whose
//! `client_id` or redirect URI are wrong get an error page instead.
//!
//! Known gaps: the step pages have no "cancel" button yet (the cancel endpoint exists:
//! `POST /oidc/eam/cancel`); Entra's keys are configured from a file (`eam configure
//! --jwks`), not fetched from Microsoft's keys URL.

use passlogic_idp_core::oidc::eam::{
    validate_eam_request, EamConfig, EamRequest, EamRespondError, INHERENCE_AMR, POSSESSION_AMR,
};
use passlogic_idp_core::oidc::error::{EamError, EamErrorKind};
use passlogic_idp_core::oidc::types::{form_urlencode, Issuer};
use passlogic_idp_core::pipeline::{self, Category, Combination, Method};
use serde_json::json;
use time::Duration;

use crate::oidc_service::{single, OidcService};
use crate::store::{AttemptRow, AttemptState, EamPendingRow, SessionRow};
use crate::tokens::{hash_token, new_token};

/// The `provider` of Entra identities in `external_identities`.
pub const ENTRA_PROVIDER: &str = "entra";
/// Entra waits about ten minutes for the answer.
const PENDING_LIFETIME_SECS: i64 = 10 * 60;
/// The sign-in attempt's lifetime (as for any sign-in).
const ATTEMPT_LIFETIME_SECS: i64 = 15 * 60;
/// Lifetime of the returned id_token.
const ID_TOKEN_LIFETIME: Duration = Duration::minutes(5);
/// Where the attempt returns (`?id=HANDLE`).
pub const RESUME_PATH: &str = "/oidc/eam/resume";

/// What to answer an EAM request with.
#[derive(Debug)]
pub enum EamOutcome {
    /// Show an error page (the request cannot be answered to Entra).
    Page(String),
    /// POST these fields to `action` (Entra's redirect URI) with an auto-submitting form.
    FormPost {
        /// Entra's redirect URI.
        action: String,
        /// `id_token` + `state`, or `error` + `error_description` + `state`.
        fields: Vec<(String, String)>,
    },
    /// Run the second-factor steps: set this attempt token as the attempt cookie and go where
    /// the attempt goes.
    SignIn {
        /// The attempt cookie value.
        attempt_token: String,
    },
}

fn refusal(e: &EamError) -> EamOutcome {
    match (&e.redirect, e.form_values()) {
        (Some(r), Some(fields)) => EamOutcome::FormPost {
            action: r.redirect_uri.as_str().to_owned(),
            fields,
        },
        _ => EamOutcome::Page(e.kind.to_string()),
    }
}

/// The Entra `amr` value for a method (`None`: Entra has no value for it, or it is knowledge).
pub fn entra_amr(method: Method) -> Option<&'static str> {
    Some(match method {
        Method::Totp | Method::Bingo | Method::HardwareToken => "otp",
        Method::Passkey => "fido",
        Method::ClientCertificate => "sc",
        Method::DeviceCookie | Method::LoginProtect => "swk",
        Method::Biometric => "face",
        _ => return None,
    })
}

/// The second-factor combinations for an EAM sign-in: of each policy combination, its
/// non-knowledge steps that Entra can name, when the user is enrolled in all of them.
pub fn second_factor_combinations(policy: &[Combination], enrolled: &[Method]) -> Vec<Combination> {
    let mut out: Vec<Combination> = Vec::new();
    for c in policy {
        let steps: Vec<Method> = c
            .methods()
            .iter()
            .copied()
            .filter(|m| m.category() != Category::Knowledge && entra_amr(*m).is_some())
            .collect();
        if steps.is_empty() || !steps.iter().all(|m| enrolled.contains(m)) {
            continue;
        }
        if let Some(c) = Combination::new(steps) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// The one `amr` value to return for a session's `amr`: the first that Entra knows and, when
/// Entra listed acceptable values, one of them.
pub fn pick_amr(session_amr: &[String], requested: &[String]) -> Option<String> {
    session_amr
        .iter()
        .filter(|a| POSSESSION_AMR.contains(&a.as_str()) || INHERENCE_AMR.contains(&a.as_str()))
        .find(|a| requested.is_empty() || requested.contains(a))
        .cloned()
}

impl OidcService {
    /// The tenant's EAM configuration, if `passlogic-idp eam configure` ran.
    pub async fn eam_config(&self) -> anyhow::Result<Option<EamConfig>> {
        let Some(text) = self.signin.store.eam_config(self.signin.tenant_id).await? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_str(&text)?))
    }

    async fn eam_audit(
        &self,
        subject: &str,
        ok: bool,
        detail: serde_json::Value,
        ip: Option<&str>,
    ) {
        let outcome = if ok { "success" } else { "failure" };
        self.signin
            .audit(
                self.signin
                    .audit_event("entra", "oidc.eam", subject, outcome, detail, ip),
            )
            .await;
    }

    /// Validates an EAM request and starts the linked user's second-factor sign-in.
    pub async fn eam_authorize(
        &self,
        params: &[(String, String)],
        config: &EamConfig,
        ip: Option<&str>,
    ) -> anyhow::Result<EamOutcome> {
        let request = match validate_eam_request(params, config) {
            Ok(r) => r,
            Err(e) => {
                self.eam_audit("", false, json!({ "reason": e.kind.to_string() }), ip)
                    .await;
                return Ok(refusal(&e));
            }
        };
        let hint = &request.hint;
        let deny = |why: &str| {
            let reason = json!({
                "reason": why, "tid": hint.tid, "oid": hint.oid,
                "client_request_id": request.client_request_id,
            });
            (reason, refusal(&request.deny(EamErrorKind::AccessDenied)))
        };
        let store = &self.signin.store;
        let tenant = self.signin.tenant_id;
        let mut user_id = store
            .external_identity_user(tenant, ENTRA_PROVIDER, &hint.tid, &hint.oid)
            .await?;
        if user_id.is_none() {
            if let Some(name) = &hint.link_value {
                user_id = store.user_by_name(tenant, name).await?.map(|u| u.id);
            }
        }
        let user = match user_id {
            Some(id) => store.user_by_id(id).await?,
            None => None,
        };
        let Some(user) = user.filter(|u| u.tenant_id == tenant) else {
            let (reason, out) = deny("no linked user");
            self.eam_audit("", false, reason, ip).await;
            return Ok(out);
        };
        if !user.enabled || user.locked {
            let (reason, out) = deny(if user.locked { "locked" } else { "disabled" });
            self.eam_audit(&user.name, false, reason, ip).await;
            return Ok(out);
        }
        let policy = self.signin.policy_for(Some(user.id)).await?;
        let enrolled = self.signin.enrolled(&user).await?;
        let combos = second_factor_combinations(&policy.combinations, &enrolled);
        if combos.is_empty() {
            let (reason, out) = deny("no second factor the policy allows");
            self.eam_audit(&user.name, false, reason, ip).await;
            return Ok(out);
        }
        let now = self.signin.clock.now();
        let now_s = now.unix_timestamp();
        let handle = new_token();
        store
            .create_eam_pending(
                tenant,
                &hash_token(&handle),
                &EamPendingRow {
                    user_id: user.id,
                    data: serde_json::to_string(&request)?,
                    started_at: now_s,
                },
                now_s + PENDING_LIFETIME_SECS,
            )
            .await?;
        let token = new_token();
        let id = hash_token(&token);
        let attempt = pipeline::Attempt::new(
            id.clone(),
            combos,
            now,
            Duration::seconds(ATTEMPT_LIFETIME_SECS),
        )
        .map_err(|e| anyhow::anyhow!("EAM attempt: {e}"))?;
        store
            .create_attempt(
                &AttemptRow {
                    id,
                    tenant_id: tenant,
                    user_id: Some(user.id),
                    login_name: user.name.clone(),
                    state: AttemptState::Steps,
                    return_to: format!("{RESUME_PATH}?id={}", form_urlencode(&handle)),
                    expires_at: now_s + ATTEMPT_LIFETIME_SECS,
                    pipeline: serde_json::to_string(&attempt)?,
                    version: 0,
                },
                now_s,
            )
            .await?;
        self.eam_audit(
            &user.name,
            true,
            json!({ "step": "started", "tid": hint.tid, "oid": hint.oid,
                    "client_request_id": request.client_request_id }),
            ip,
        )
        .await;
        Ok(EamOutcome::SignIn {
            attempt_token: token,
        })
    }

    async fn take_pending(
        &self,
        params: &[(String, String)],
    ) -> anyhow::Result<Option<(EamPendingRow, EamRequest)>> {
        let Some(handle) = single(params, "id") else {
            return Ok(None);
        };
        let Some(row) = self
            .signin
            .store
            .take_eam_pending(
                self.signin.tenant_id,
                &hash_token(handle),
                self.signin.clock.unix(),
            )
            .await?
        else {
            return Ok(None);
        };
        let request: EamRequest = serde_json::from_str(&row.data)?;
        Ok(Some((row, request)))
    }

    /// Answers a pending EAM request after the sign-in (`params`: `id=HANDLE`) for the
    /// browser's session.
    pub async fn eam_resume(
        &self,
        issuer: &Issuer,
        params: &[(String, String)],
        session: Option<&SessionRow>,
        ip: Option<&str>,
    ) -> anyhow::Result<EamOutcome> {
        let Some((row, request)) = self.take_pending(params).await? else {
            return Ok(EamOutcome::Page(
                "this external authentication request is unknown, answered or expired".into(),
            ));
        };
        let subject = request.hint.oid.clone();
        let fresh = session.filter(|s| s.user_id == row.user_id && s.auth_time >= row.started_at);
        let Some(session) = fresh else {
            self.eam_audit(
                &subject,
                false,
                json!({ "reason": "no matching session" }),
                ip,
            )
            .await;
            return Ok(refusal(&request.deny(EamErrorKind::AccessDenied)));
        };
        let Some(amr) = pick_amr(&session.amr, &request.requested_amr) else {
            self.eam_audit(
                &subject,
                false,
                json!({ "reason": "amr not acceptable" }),
                ip,
            )
            .await;
            return Ok(refusal(&request.deny(EamErrorKind::AmrNotAcceptable)));
        };
        // The access policy governs Entra like any other client (service
        // `oidc_client:EAM_CLIENT_ID`): a refusal is Entra's `access_denied`.
        if let Some(user) = self.signin.store.user_by_id(row.user_id).await? {
            let service = passlogic_idp_core::policy::directory::ServiceRef::new(
                passlogic_idp_core::policy::directory::ServiceKind::OidcClient,
                request.client_id.as_str(),
            );
            if let Some(key) =
                crate::access::denial_for_session(&self.signin, &user, session, &service, ip)
                    .await?
            {
                self.eam_audit(&subject, false, json!({ "reason": key }), ip)
                    .await;
                return Ok(refusal(&request.deny(EamErrorKind::AccessDenied)));
            }
        }
        let keys = self.key_set().await?;
        let now = self.signin.clock.now();
        match request.respond(issuer, &amr, &keys, now, ID_TOKEN_LIFETIME) {
            Ok(r) => {
                self.eam_audit(
                    &subject,
                    true,
                    json!({ "acr": r.claims.acr, "amr": [amr],
                            "client_request_id": request.client_request_id }),
                    ip,
                )
                .await;
                Ok(EamOutcome::FormPost {
                    action: r.redirect_uri.as_str().to_owned(),
                    fields: r.form_values,
                })
            }
            Err(EamRespondError::Request(e)) => {
                self.eam_audit(&subject, false, json!({ "reason": e.kind.to_string() }), ip)
                    .await;
                Ok(refusal(&e))
            }
            Err(EamRespondError::Key(k)) => Err(anyhow::anyhow!("EAM signing key: {k}")),
            Err(e) => Err(anyhow::anyhow!("EAM answer: {e}")),
        }
    }

    /// The user cancelled: answers `access_denied` (`params`: `id=HANDLE`).
    pub async fn eam_cancel(
        &self,
        params: &[(String, String)],
        ip: Option<&str>,
    ) -> anyhow::Result<EamOutcome> {
        let Some((_, request)) = self.take_pending(params).await? else {
            return Ok(EamOutcome::Page(
                "this external authentication request is unknown, answered or expired".into(),
            ));
        };
        self.eam_audit(
            &request.hint.oid,
            false,
            json!({ "reason": "cancelled" }),
            ip,
        )
        .await;
        Ok(refusal(&request.deny(EamErrorKind::AccessDenied)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_factor_steps_of_the_policy() {
        let c = |m: Vec<Method>| Combination::new(m).unwrap();
        let policy = vec![
            c(vec![Method::Matrix, Method::Totp]),
            c(vec![Method::Matrix]),
            c(vec![Method::Pin, Method::HardwareToken]),
        ];
        assert_eq!(
            second_factor_combinations(&policy, &[Method::Matrix, Method::Totp]),
            vec![c(vec![Method::Totp])]
        );
        assert!(second_factor_combinations(&policy, &[Method::Matrix]).is_empty());
    }

    #[test]
    fn one_amr_value() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(pick_amr(&s(&["otp", "swk"]), &[]).as_deref(), Some("otp"));
        assert_eq!(
            pick_amr(&s(&["otp", "swk"]), &s(&["swk"])).as_deref(),
            Some("swk")
        );
        assert_eq!(pick_amr(&s(&["matrix"]), &[]), None);
    }
}
