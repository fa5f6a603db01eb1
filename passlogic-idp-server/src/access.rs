//! The access check every SSO path makes before it issues anything (a SAML response, an OIDC
//! code or token, a RADIUS Access-Accept, a forward-auth 200): it gathers the facts (the user's
//! directory entry and groups, the service, the client address, the time, the session) and asks
//! the core's pure [`engine::decide`] under the tenant's stored access policy.
//!
//! Without a stored access policy every signed-in user may reach every registered service (the
//! factor policy of their group still decides how they sign in): a fresh install works before
//! an administrator writes rules. Every denial and step-up is audited with the engine's
//! explanation; the user sees [`denial_message`] in their language.

use std::net::IpAddr;

use passlogic_idp_core::pipeline::{Combination, Method};
use passlogic_idp_core::policy::directory::{
    DeviceFacts, GroupRef, ServiceRef, SessionFacts, UserFacts,
};
use passlogic_idp_core::policy::engine::{self, AccessRequest, Decision};
use serde_json::json;

use crate::i18n::Lang;
use crate::signin::SignIn;
use crate::store::{AuditEvent, SessionRow, UserRow};

/// What the caller does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Issue.
    Allow,
    /// The session lacks a step one of these combinations needs.
    StepUp {
        /// Combinations that would satisfy the policy.
        needed: Vec<Combination>,
    },
    /// Refuse; show [`denial_message`] for `message_key`.
    Deny {
        /// `deny.*` key of the core's `Decision::user_message_key`.
        message_key: &'static str,
    },
}

/// What the caller knows about the request besides the user and the service.
#[derive(Clone, Debug)]
pub struct Request {
    /// The client address (see [`crate::web::client_ip`]).
    pub source: IpAddr,
    /// The signed-in session's methods and auth time, if any.
    pub session: Option<(Vec<Method>, i64)>,
    /// Registered device / client certificate facts.
    pub device: DeviceFacts,
}

/// The engine's facts about a stored user.
pub async fn user_facts(signin: &SignIn, user: &UserRow) -> anyhow::Result<UserFacts> {
    let mut facts = UserFacts::new(user.name.clone());
    facts.enabled = user.enabled;
    let at = |t: Option<i64>| t.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
    facts.valid_from = at(user.valid_from);
    facts.valid_until = at(user.valid_until);
    facts.department = user.department.clone();
    facts.position = user.position.clone();
    facts.attributes = user.attributes.clone();
    facts.groups = signin
        .store
        .user_group_priorities(user.id)
        .await?
        .into_iter()
        .map(|(name, priority)| GroupRef {
            name,
            priority: i32::try_from(priority).unwrap_or(i32::MAX),
        })
        .collect();
    Ok(facts)
}

/// Decides whether `user` may reach `service` now, and audits refusals.
pub async fn check(
    signin: &SignIn,
    user: &UserRow,
    service: &ServiceRef,
    request: &Request,
) -> anyhow::Result<Verdict> {
    let (verdict, why) = evaluate(signin, user, service, request).await?;
    if let Some((key, explanation)) = why {
        audit(signin, user, service, request, key, &explanation).await?;
    }
    Ok(verdict)
}

/// The decision of [`check`] without its audit: the verdict, and for a refusal or step-up the
/// message key and the engine's explanation.
async fn evaluate(
    signin: &SignIn,
    user: &UserRow,
    service: &ServiceRef,
    request: &Request,
) -> anyhow::Result<(Verdict, Option<(&'static str, String)>)> {
    let Some(policy) = signin.store.access_policy(signin.tenant_id).await? else {
        // No access policy: every service, but the account rules still hold.
        let now = signin.clock.unix();
        let refused = if !user.enabled {
            Some(("deny.disabled", "denied: the account is disabled"))
        } else if user.valid_from.is_some_and(|f| now < f) {
            Some(("deny.not_yet_valid", "denied: the account is not valid yet"))
        } else if user.valid_until.is_some_and(|u| now >= u) {
            Some(("deny.expired", "denied: the account has expired"))
        } else {
            None
        };
        return Ok(match refused {
            None => (Verdict::Allow, None),
            Some((key, why)) => (
                Verdict::Deny { message_key: key },
                Some((key, why.to_owned())),
            ),
        });
    };
    let facts = user_facts(signin, user).await?;
    let session = request
        .session
        .as_ref()
        .map(|(methods, auth_time)| SessionFacts {
            methods: methods.clone(),
            auth_time: *auth_time,
        });
    let decision = engine::decide(
        &AccessRequest {
            user: &facts,
            service,
            source: request.source,
            now: signin.clock.now(),
            device: &request.device,
            session: session.as_ref(),
        },
        &policy,
    );
    let verdict = match &decision {
        Decision::Allow { .. } => return Ok((Verdict::Allow, None)),
        Decision::StepUp { needed, .. } => Verdict::StepUp {
            needed: needed.clone(),
        },
        Decision::Deny { .. } => Verdict::Deny {
            message_key: decision.user_message_key(),
        },
    };
    Ok((
        verdict,
        Some((decision.user_message_key(), decision.explain())),
    ))
}

async fn audit(
    signin: &SignIn,
    user: &UserRow,
    service: &ServiceRef,
    request: &Request,
    key: &str,
    explanation: &str,
) -> anyhow::Result<()> {
    let (event, outcome) = if key == "step_up" {
        ("access.step_up", "info")
    } else {
        ("access.denied", "failure")
    };
    signin
        .store
        .audit(&AuditEvent {
            at: signin.clock.unix(),
            tenant_id: Some(signin.tenant_id),
            actor: user.name.clone(),
            event: event.to_owned(),
            subject: service.to_string(),
            outcome: outcome.to_owned(),
            detail: json!({ "reason": key, "explanation": explanation }),
            source_ip: Some(request.source.to_string()),
        })
        .await
}

/// Title and message of the denial page for a `deny.*` key, in the user's language. The
/// message says what happened and whom to ask, never which rule matched (that is in the audit
/// trail for the administrator).
pub fn denial_message(lang: Lang, key: &str) -> (&'static str, &'static str) {
    let ja = matches!(lang, Lang::Ja);
    let title = if ja {
        "アクセスできません"
    } else {
        "Access denied"
    };
    let message = match (key, ja) {
        ("deny.disabled", false) => "Your account is disabled. Ask your administrator.",
        ("deny.disabled", true) => "アカウントが無効です。管理者にお問い合わせください。",
        ("deny.not_yet_valid", false) => "Your account is not valid yet.",
        ("deny.not_yet_valid", true) => "アカウントの有効期間はまだ始まっていません。",
        ("deny.expired", false) => "Your account has expired. Ask your administrator.",
        ("deny.expired", true) => {
            "アカウントの有効期限が切れています。管理者にお問い合わせください。"
        }
        ("deny.service", false) => "You are not allowed to use this service.",
        ("deny.service", true) => "このサービスの利用は許可されていません。",
        ("deny.ip", false) => "This service cannot be used from your current network.",
        ("deny.ip", true) => "現在のネットワークからはこのサービスを利用できません。",
        ("deny.time", false) => "This service cannot be used at this time.",
        ("deny.time", true) => "この時間帯はこのサービスを利用できません。",
        ("deny.device", false) => "This service needs a registered device.",
        ("deny.device", true) => "このサービスには登録済みの端末が必要です。",
        ("step_up", false) => "This service needs a stronger sign-in than your account allows.",
        ("step_up", true) => "このサービスにはより強い認証が必要です。",
        (_, false) => "Access to this service is not allowed. Ask your administrator.",
        (_, true) => "このサービスへのアクセスは許可されていません。管理者にお問い合わせください。",
    };
    (title, message)
}

/// The SSO paths' check for a signed-in session: `Some(message key)` when the user may not
/// reach `service` with this session (denied, or a step the session lacks). The session's
/// methods come from its `amr`; a session opened with the device-cookie (client-certificate)
/// step counts as made on a registered device (with a client certificate), since its cookie
/// is bound to that browser. `ip`: the client address as text (unparseable: unspecified, which
/// no allow-list contains).
pub async fn denial_for_session(
    signin: &SignIn,
    user: &UserRow,
    session: &SessionRow,
    service: &ServiceRef,
    ip: Option<&str>,
) -> anyhow::Result<Option<&'static str>> {
    let request = session_request(session, ip);
    Ok(match check(signin, user, service, &request).await? {
        Verdict::Allow => None,
        Verdict::StepUp { .. } => Some("step_up"),
        Verdict::Deny { message_key } => Some(message_key),
    })
}

/// The portal's question (see `crate::portal`): may `user` use `service` with this session,
/// now or after a step-up? The same engine decision as [`denial_for_session`], without the
/// audit: listing the portal is not a request for the service.
pub async fn visible(
    signin: &SignIn,
    user: &UserRow,
    session: &SessionRow,
    service: &ServiceRef,
    ip: Option<&str>,
) -> anyhow::Result<bool> {
    let request = session_request(session, ip);
    let (verdict, _) = evaluate(signin, user, service, &request).await?;
    Ok(!matches!(verdict, Verdict::Deny { .. }))
}

/// The access request of a signed-in session.
fn session_request(session: &SessionRow, ip: Option<&str>) -> Request {
    let methods = crate::saml_service::methods_from_amr(&session.amr);
    let device = DeviceFacts {
        registered_device: methods.contains(&Method::DeviceCookie),
        client_certificate: methods.contains(&Method::ClientCertificate),
    };
    Request {
        source: ip
            .and_then(|i| i.parse().ok())
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        session: Some((methods, session.auth_time)),
        device,
    }
}
