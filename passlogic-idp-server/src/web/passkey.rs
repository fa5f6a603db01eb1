//! Passkeys over HTTP: the sign-in step (`GET/POST /login/passkey`) and the signed-in user's
//! passkey page (`/account/passkeys`, register and remove). The browser side is
//! `static/passkey.js`; the decisions are in [`crate::passkeys`].

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use passlogic_idp_core::pipeline::Method;
use serde::Deserialize;

use super::login::{continue_after_step, current_attempt, go_next, ip};
use super::pages::{self, Chrome, NoticePage};
use super::session::{current_session, to_login};
use super::{cookies, csrf, AppState};
use crate::i18n::{Lang, Texts};
use crate::passkeys::{PasskeyOutcome, RegisterError};

#[derive(Template)]
#[template(path = "passkey_step.html")]
struct StepPage {
    chrome: Chrome,
    t: &'static Texts,
    csrf: String,
    options: String,
}

/// `GET /login/passkey`: the page that asks the browser for the passkey.
pub async fn step_page(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let attempt = match current_attempt(&state, &jar).await {
        Ok(Some(a)) => a,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let options = match state
        .signin
        .passkey_login_options(&state.passkey_rp, &attempt)
        .await
    {
        Ok(Some(o)) => o,
        Ok(None) => return go_next(&state, &attempt, jar, lang, &uri, &ip(&addr)).await,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = StepPage {
        chrome: Chrome::new(lang, t.passkey_step_title, &uri),
        t,
        csrf: token,
        options: options.to_string(),
    };
    pages::render(StatusCode::OK, jar, &page)
}

/// The fields of the passkey forms.
#[derive(Deserialize)]
pub struct CredentialForm {
    #[serde(default)]
    credential: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login/passkey` (`credential` = AuthenticationResponseJSON, `csrf`).
pub async fn step_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<CredentialForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let attempt = match current_attempt(&state, &jar).await {
        Ok(Some(a)) => a,
        Ok(None) => return pages::attempt_gone(jar, lang, &uri),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    if state.signin.due(&attempt) != Some(Method::Passkey) {
        return pages::out_of_order(jar, lang, &uri);
    }
    let ip = ip(&addr);
    match state
        .signin
        .answer_passkey(&state.passkey_rp, &attempt, &form.credential, Some(&ip))
        .await
    {
        Ok(PasskeyOutcome::Passed) => continue_after_step(&state, jar, lang, &uri, &ip).await,
        Ok(PasskeyOutcome::OutOfOrder) => pages::out_of_order(jar, lang, &uri),
        Ok(PasskeyOutcome::Refused(code)) => {
            let t = lang.texts();
            let page = NoticePage {
                chrome: Chrome::new(lang, t.error_title, &uri),
                t,
                heading: t.error_title,
                code: refusal_code(code),
                message: t.passkey_refused,
                link: "/login",
                link_text: t.back_to_sign_in,
            };
            pages::render(
                StatusCode::FORBIDDEN,
                jar.remove(cookies::removal(cookies::ATTEMPT)),
                &page,
            )
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

/// `data-error` of a refused step: `passkey-refused` for every reason (the precise reason is
/// in the audit trail), so the page tells an attacker nothing.
fn refusal_code(_code: &'static str) -> &'static str {
    "passkey-refused"
}

struct PasskeyLine {
    id: String,
    label: String,
    created: String,
    last_used: String,
    synced: bool,
}

#[derive(Template)]
#[template(path = "passkeys.html")]
struct PasskeysPage {
    chrome: Chrome,
    t: &'static Texts,
    csrf: String,
    options: String,
    passkeys: Vec<PasskeyLine>,
    status: &'static str,
    error: Option<&'static str>,
}

fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

async fn render_page(
    state: &AppState,
    user_id: i64,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    status: &'static str,
    error: Option<&'static str>,
) -> Response {
    let s = &state.signin;
    let user = match s.store.user_by_id(user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return to_login(uri),
        Err(e) => return pages::internal(lang, uri, &e),
    };
    let (options, passkeys) = match (
        s.passkey_registration_options(&state.passkey_rp, &user)
            .await,
        s.store.passkeys(user_id).await,
    ) {
        (Ok(o), Ok(p)) => (o, p),
        (Err(e), _) | (_, Err(e)) => return pages::internal(lang, uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = PasskeysPage {
        chrome: Chrome::new(lang, t.passkey_page_title, uri),
        t,
        csrf: token,
        options: options.to_string(),
        passkeys: passkeys
            .into_iter()
            .map(|p| PasskeyLine {
                id: p.id,
                label: p.label,
                created: when(p.created_at),
                last_used: when(p.last_used_at),
                synced: p.backup_eligible,
            })
            .collect(),
        status,
        error,
    };
    let code = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::render(code, jar, &page)
}

/// `GET /account/passkeys`
pub async fn list_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    match current_session(&state, &jar).await {
        Ok(Some(s)) => render_page(&state, s.user_id, jar, lang, &uri, "", None).await,
        Ok(None) => to_login(&uri),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

/// `POST /account/passkeys/register` (`credential` = RegistrationResponseJSON, `label`,
/// `csrf`).
pub async fn register(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<CredentialForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_login(&uri),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let s = &state.signin;
    let user = match s.store.user_by_id(session.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return to_login(&uri),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let ip = ip(&addr);
    match s
        .register_passkey(
            &state.passkey_rp,
            &user,
            &form.credential,
            &form.label,
            Some(&ip),
        )
        .await
    {
        Ok(Ok(_)) => render_page(&state, user.id, jar, lang, &uri, "added", None).await,
        Ok(Err(RegisterError::Refused(code))) => {
            render_page(&state, user.id, jar, lang, &uri, "", Some(code)).await
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /account/passkeys/remove` (`id`, `csrf`): removes one of the user's own passkeys.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<RemoveForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_login(&uri),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let s = &state.signin;
    let removed = match s.store.delete_passkey(session.user_id, &form.id).await {
        Ok(r) => r,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    if removed {
        let name = match s.store.user_by_id(session.user_id).await {
            Ok(u) => u.map(|u| u.name).unwrap_or_default(),
            Err(e) => return pages::internal(lang, &uri, &e),
        };
        s.audit(s.audit_event(
            &name,
            "passkey.removed",
            &name,
            "success",
            serde_json::json!({ "passkey": form.id, "by": "user" }),
            Some(&ip(&addr)),
        ))
        .await;
    }
    let status = if removed { "removed" } else { "" };
    render_page(&state, session.user_id, jar, lang, &uri, status, None).await
}
