//! The device-cookie sign-in step (`/login/device_cookie`, no input: the browser's `pl_device`
//! cookie is the answer) and the user's own device list (`/account/devices`). The decisions
//! are in [`crate::devices`].

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::login::{continue_after_step, current_attempt, go_next, ip};
use super::pages::{self, Chrome, NoticePage};
use super::session::{current_session, to_login};
use super::{cookies, csrf, AppState};
use crate::devices::{label_from_user_agent, DeviceOutcome, DEVICE_COOKIE_MAX_AGE_SECS};
use crate::i18n::{Lang, Texts};
use passlogic_idp_core::pipeline::Method;

/// The registered-device cookie.
pub const DEVICE: &str = "pl_device";

/// This page's texts (kept beside the page; both languages have every field by construction).
#[derive(Debug)]
pub struct DeviceTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub none: &'static str,
    pub browser: &'static str,
    pub registered: &'static str,
    pub last_used: &'static str,
    pub remove: &'static str,
    pub removed: &'static str,
    pub this_browser: &'static str,
    pub limit_reached: &'static str,
    pub not_registered: &'static str,
}

const EN: DeviceTexts = DeviceTexts {
    title: "Registered browsers",
    intro: "Browsers that count as your device when you sign in.",
    none: "No browser is registered yet.",
    browser: "Browser",
    registered: "Registered",
    last_used: "Last used",
    remove: "Remove",
    removed: "The browser was removed.",
    this_browser: "this browser",
    limit_reached: "This browser is not registered, and your account already has the most \
                    registered browsers allowed. Remove one under Registered browsers, or ask \
                    your administrator.",
    not_registered: "This browser is not registered for your account. Sign in from a \
                     registered browser, or ask your administrator.",
};

const JA: DeviceTexts = DeviceTexts {
    title: "登録済みブラウザー",
    intro: "サインイン時にあなたの端末として認められるブラウザーです。",
    none: "登録済みのブラウザーはまだありません。",
    browser: "ブラウザー",
    registered: "登録日時",
    last_used: "最終利用",
    remove: "削除",
    removed: "ブラウザーを削除しました。",
    this_browser: "このブラウザー",
    limit_reached:
        "このブラウザーは登録されていません。登録できるブラウザー数の上限に達しています。\
                    登録済みブラウザーから削除するか、管理者にお問い合わせください。",
    not_registered:
        "このブラウザーはあなたのアカウントに登録されていません。登録済みのブラウザーから\
                     サインインするか、管理者にお問い合わせください。",
};

fn texts(lang: Lang) -> &'static DeviceTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

fn device_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((DEVICE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(DEVICE_COOKIE_MAX_AGE_SECS))
        .build()
}

/// `GET /login/device_cookie`: takes the step with the browser's cookie and moves on.
pub async fn step(
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
    let ip = ip(&addr);
    if state.signin.due(&attempt) != Some(Method::DeviceCookie) {
        return go_next(&state, &attempt, jar, lang, &uri, &ip).await;
    }
    let presented = jar.get(DEVICE).map(|c| c.value().to_owned());
    let label = label_from_user_agent(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let outcome = state
        .signin
        .answer_device(&attempt, presented.as_deref(), &label, Some(&ip))
        .await;
    let d = texts(lang);
    let t = lang.texts();
    let (code, message) = match outcome {
        Ok(DeviceOutcome::Passed(new)) => {
            let jar = match new {
                Some(token) => jar.add(device_cookie(token, state.secure_cookies)),
                None => jar,
            };
            return continue_after_step(&state, jar, lang, &uri, &ip).await;
        }
        Ok(DeviceOutcome::OutOfOrder) => {
            return continue_after_step(&state, jar, lang, &uri, &ip).await
        }
        Ok(DeviceOutcome::LimitReached) => ("device-limit-reached", d.limit_reached),
        Ok(DeviceOutcome::NotRegistered | DeviceOutcome::Failed) => {
            ("device-not-registered", d.not_registered)
        }
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let page = NoticePage {
        chrome: Chrome::new(lang, t.error_title, &uri),
        t,
        heading: t.error_title,
        code,
        message,
        link: "/login",
        link_text: t.back_to_sign_in,
    };
    pages::render(
        StatusCode::FORBIDDEN,
        jar.remove(cookies::removal(cookies::ATTEMPT)),
        &page,
    )
}

struct DeviceLine {
    id: String,
    label: String,
    created: String,
    last_used: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    chrome: Chrome,
    t: &'static Texts,
    d: &'static DeviceTexts,
    csrf: String,
    devices: Vec<DeviceLine>,
    limit: u32,
    removed: bool,
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

async fn render_devices(
    state: &AppState,
    user_id: i64,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    removed: bool,
) -> Response {
    let current = jar
        .get(DEVICE)
        .map(|c| crate::tokens::hash_token(c.value()));
    let current_id = match &current {
        Some(h) => match state.signin.store.device_by_token(h).await {
            Ok(d) => d.map(|d| d.id),
            Err(e) => return pages::internal(lang, uri, &e),
        },
        None => None,
    };
    let (devices, policy) = match (
        state.signin.store.devices(user_id).await,
        state.signin.policy_for(Some(user_id)).await,
    ) {
        (Ok(d), Ok(p)) => (d, p),
        (Err(e), _) | (_, Err(e)) => return pages::internal(lang, uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let d = texts(lang);
    let page = DevicesPage {
        chrome: Chrome::new(lang, d.title, uri),
        t: lang.texts(),
        d,
        csrf: token,
        devices: devices
            .into_iter()
            .map(|dev| DeviceLine {
                current: current_id.as_deref() == Some(dev.id.as_str()),
                id: dev.id,
                label: dev.label,
                created: when(dev.created_at),
                last_used: when(dev.last_used_at),
            })
            .collect(),
        limit: policy.device_limit,
        removed,
    };
    pages::render(StatusCode::OK, jar, &page)
}

/// `GET /account/devices`
pub async fn list_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    match current_session(&state, &jar).await {
        Ok(Some(s)) => render_devices(&state, s.user_id, jar, lang, &uri, false).await,
        Ok(None) => to_login(&uri),
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

/// `POST /account/devices/remove`: removes one of the signed-in user's own devices.
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
    let removed = match s.store.delete_device(session.user_id, &form.id).await {
        Ok(r) => r,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    if removed {
        let name = match s.store.user_by_id(session.user_id).await {
            Ok(u) => u.map(|u| u.name).unwrap_or_default(),
            Err(e) => return pages::internal(lang, &uri, &e),
        };
        let ip = ip(&addr);
        s.audit(s.audit_event(
            &name,
            "device.removed",
            &name,
            "success",
            serde_json::json!({ "device": form.id, "by": "user" }),
            Some(&ip),
        ))
        .await;
    }
    render_devices(&state, session.user_id, jar, lang, &uri, removed).await
}
