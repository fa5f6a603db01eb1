//! Pages for the steps after (or instead of) the grid: choosing a combination, code steps
//! (PIN, authenticator app, bingo, hardware token) and self-enrolment during sign-in.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use passlogic_idp_core::pipeline::Method;
use serde::Deserialize;

use super::login::{continue_after_step, current_attempt, go_next, ip};
use super::pages::{self, ChoosePage, Chrome, EnrolAppPage, EnrolPinPage, StepPage};
use super::{csrf, AppState};
use crate::i18n::{method_name, Lang};
use crate::signin::{SignIn, StepOutcome};
use crate::store::AttemptRow;

const MAX_FIELD: usize = 256;

#[derive(Deserialize)]
pub struct ChooseForm {
    #[serde(default)]
    combination: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct OtpForm {
    #[serde(default)]
    otp: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_confirm: String,
    #[serde(default)]
    csrf: String,
}

/// Code steps served by this module (the grid has its own page).
fn code_method(name: &str) -> Option<Method> {
    Method::parse(name).filter(|m| {
        matches!(
            m,
            Method::Pin | Method::Totp | Method::Bingo | Method::HardwareToken
        )
    })
}

/// The live attempt; without one a page (GET) goes back to /login and an answer (POST) gets 401.
async fn with_attempt(
    state: &AppState,
    jar: &CookieJar,
    lang: Lang,
    uri: &Uri,
    posting: bool,
) -> Result<AttemptRow, Response> {
    match current_attempt(state, jar).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) if posting => Err(pages::attempt_gone(jar.clone(), lang, uri)),
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(pages::internal(lang, uri, &e)),
    }
}

pub async fn choose_page(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let attempt = match with_attempt(&state, &jar, lang, &uri, false).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let offered = SignIn::offered(&attempt);
    if state.signin.due(&attempt).is_some() || offered.len() < 2 {
        return go_next(&state, &attempt, jar, lang, &uri, &ip(&addr)).await;
    }
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let choices = offered
        .iter()
        .map(|c| {
            c.methods()
                .iter()
                .map(|m| method_name(t, *m))
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect();
    let page = ChoosePage {
        chrome: Chrome::new(lang, t.choose_title, &uri),
        t,
        csrf: token,
        choices,
    };
    pages::render(StatusCode::OK, jar, &page)
}

pub async fn choose_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<ChooseForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let attempt = match with_attempt(&state, &jar, lang, &uri, true).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Ok(index) = form.combination.trim().parse::<usize>() {
        if let Err(e) = state.signin.choose(&attempt, index).await {
            return pages::internal(lang, &uri, &e);
        }
    }
    continue_after_step(&state, jar, lang, &uri, &ip(&addr)).await
}

async fn step_response(
    state: &AppState,
    attempt: &AttemptRow,
    method: Method,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    failed: bool,
) -> Response {
    let policy = match state.signin.attempt_policy(attempt).await {
        Ok(p) => p,
        Err(e) => return pages::internal(lang, uri, &e),
    };
    let combined = state.signin.combined_second(attempt, &policy).is_some();
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let (title, help) = match method {
        Method::Pin if combined => (t.step_pin_title, t.step_pin_code_help),
        Method::Pin => (t.step_pin_title, t.step_pin_help),
        Method::Totp => (t.step_totp_title, t.step_totp_help),
        Method::Bingo => (t.step_bingo_title, t.step_bingo_help),
        _ => (t.step_token_title, t.step_token_help),
    };
    let page = StepPage {
        chrome: Chrome::new(lang, title, uri),
        t,
        csrf: token,
        title,
        help,
        label: if method == Method::Pin {
            t.pin_label
        } else {
            t.code_label
        },
        action: format!("/login/{}", method.as_str()),
        failed,
        secret_field: method == Method::Pin,
        numeric: method != Method::Pin || policy.pin.digits_only,
        eam_cancel: attempt
            .return_to
            .starts_with("/oidc/eam/resume")
            .then_some(match lang {
                Lang::En => "Cancel and return to Microsoft",
                Lang::Ja => "キャンセルして Microsoft に戻る",
            }),
    };
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    pages::render(status, jar, &page)
}

pub async fn code_page(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(step): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let attempt = match with_attempt(&state, &jar, lang, &uri, false).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match code_method(&step) {
        Some(m) if state.signin.due(&attempt) == Some(m) => {
            step_response(&state, &attempt, m, jar, lang, &uri, false).await
        }
        _ => go_next(&state, &attempt, jar, lang, &uri, &ip(&addr)).await,
    }
}

pub async fn code_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(step): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<OtpForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let attempt = match with_attempt(&state, &jar, lang, &uri, true).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(method) = code_method(&step) else {
        return pages::out_of_order(jar, lang, &uri);
    };
    let otp: String = form.otp.chars().take(MAX_FIELD).collect();
    let ip = ip(&addr);
    match state
        .signin
        .answer_code(&attempt, method, &otp, Some(&ip))
        .await
    {
        Ok(StepOutcome::Passed) => continue_after_step(&state, jar, lang, &uri, &ip).await,
        Ok(StepOutcome::Failed) => {
            step_response(&state, &attempt, method, jar, lang, &uri, true).await
        }
        Ok(StepOutcome::OutOfOrder) => pages::out_of_order(jar, lang, &uri),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

pub(super) fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}

pub(super) fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn enrol_app_response(
    state: &AppState,
    attempt: &AttemptRow,
    method: Method,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    failed: bool,
) -> Option<Response> {
    let started = match state.signin.enrol_app_start(attempt, method).await {
        Ok(s) => s,
        Err(e) => return Some(pages::internal(lang, uri, &e)),
    };
    let (secret, otpauth) = started?;
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = EnrolAppPage {
        chrome: Chrome::new(lang, t.enrol_app_title, uri),
        t,
        csrf: token,
        action: format!("/enrol/{}", method.as_str()),
        bingo: method == Method::Bingo,
        qr_svg: qr_svg(&otpauth),
        secret_grouped: grouped(&secret),
        secret,
        uri: otpauth,
        failed,
    };
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    Some(pages::render(status, jar, &page))
}

fn enrol_pin_response(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    error: Option<String>,
) -> Response {
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = EnrolPinPage {
        chrome: Chrome::new(lang, t.enrol_pin_title, uri),
        t,
        csrf: token,
        error,
    };
    pages::render(status, jar, &page)
}

pub async fn enrol_page(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(step): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    enrol_page_for(state, addr, step, uri, headers, jar).await
}

pub async fn enrol_page_pin(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    enrol_page_for(state, addr, "pin".to_owned(), uri, headers, jar).await
}

async fn enrol_page_for(
    state: Arc<AppState>,
    addr: SocketAddr,
    step: String,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let attempt = match with_attempt(&state, &jar, lang, &uri, false).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match Method::parse(&step) {
        Some(m @ (Method::Totp | Method::Bingo)) => {
            let jar2 = jar.clone();
            match enrol_app_response(&state, &attempt, m, jar, lang, &uri, false).await {
                Some(r) => r,
                None => go_next(&state, &attempt, jar2, lang, &uri, &ip(&addr)).await,
            }
        }
        Some(Method::Pin) if state.signin.due(&attempt) == Some(Method::Pin) => {
            match state.signin.next(&attempt, Some(&ip(&addr))).await {
                Ok(crate::signin::Next::Enrol(Method::Pin)) => {
                    enrol_pin_response(&state, jar, lang, &uri, None)
                }
                _ => go_next(&state, &attempt, jar, lang, &uri, &ip(&addr)).await,
            }
        }
        _ => go_next(&state, &attempt, jar, lang, &uri, &ip(&addr)).await,
    }
}

pub async fn enrol_app_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(step): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<OtpForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let attempt = match with_attempt(&state, &jar, lang, &uri, true).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ip = ip(&addr);
    let method = match Method::parse(&step) {
        Some(m @ (Method::Totp | Method::Bingo)) => m,
        _ => return pages::out_of_order(jar, lang, &uri),
    };
    let code: String = form.otp.chars().take(MAX_FIELD).collect();
    match state
        .signin
        .enrol_app_finish(&attempt, method, &code, Some(&ip))
        .await
    {
        Ok(StepOutcome::Passed) => continue_after_step(&state, jar, lang, &uri, &ip).await,
        Ok(StepOutcome::Failed) => {
            let jar2 = jar.clone();
            match enrol_app_response(&state, &attempt, method, jar, lang, &uri, true).await {
                Some(r) => r,
                None => go_next(&state, &attempt, jar2, lang, &uri, &ip).await,
            }
        }
        Ok(StepOutcome::OutOfOrder) => pages::out_of_order(jar, lang, &uri),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

pub async fn enrol_pin_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<PinForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let attempt = match with_attempt(&state, &jar, lang, &uri, true).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ip = ip(&addr);
    let t = lang.texts();
    match state
        .signin
        .enrol_pin(&attempt, &form.pin, &form.pin_confirm, Some(&ip))
        .await
    {
        Ok(Ok(StepOutcome::Passed)) => continue_after_step(&state, jar, lang, &uri, &ip).await,
        Ok(Ok(StepOutcome::Failed)) => Redirect::to("/login").into_response(),
        Ok(Ok(StepOutcome::OutOfOrder)) => pages::out_of_order(jar, lang, &uri),
        Ok(Err(reason)) if reason == "mismatch" => {
            enrol_pin_response(&state, jar, lang, &uri, Some(t.pin_mismatch.to_owned()))
        }
        Ok(Err(reason)) => enrol_pin_response(
            &state,
            jar,
            lang,
            &uri,
            Some(format!("{}: {reason}", t.pin_rejected)),
        ),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}
