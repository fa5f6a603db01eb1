//! The user portal (docs/portal.md): `/` lists the services the user may use and links the
//! security settings; `/account/security`, `/account/pattern`, `/account/totp` and
//! `/account/bingo` change how the user signs in. The PIN (`/account/pin`, web/account.rs) and
//! devices (`/account/devices`, web/device.rs) pages are linked from here.
//!
//! Changing the pattern or the authenticator needs a sign-in within the last
//! [`crate::portal::FRESH_SIGN_IN_SECS`] (a stolen, idle session cannot replace the user's
//! secrets); older sessions get a page that sends them through the sign-in again.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use axum_extra::extract::CookieJar;
use passlogic_idp_core::factor::bingo;
use passlogic_idp_core::factor::matrix::GridSpec;
use passlogic_idp_core::factor::otp::OtpSecret;
use passlogic_idp_core::pipeline::Method;
use serde::Deserialize;

use super::pages::{self, cell_rows, rule_lines, CellView, Chrome, HomePage};
use super::session::{current_session, to_login};
use super::steps::{grouped, qr_svg};
use super::{cookies, csrf, AppState};
use crate::i18n::{Lang, Texts};
use crate::portal::{self as model, EnrolOutcome};
use crate::signin::PatternChangeError;
use crate::store::{SessionRow, UserRow};

/// The signed-in user of this request, or the response to send instead.
async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
    lang: Lang,
    uri: &Uri,
) -> Result<(SessionRow, UserRow), Response> {
    let session = match current_session(state, jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(to_login(uri)),
        Err(e) => return Err(pages::internal(lang, uri, &e)),
    };
    match state.signin.store.user_by_id(session.user_id).await {
        Ok(Some(u)) => Ok((session, u)),
        Ok(None) => Err(to_login(uri)),
        Err(e) => Err(pages::internal(lang, uri, &e)),
    }
}

/// Which factors the user has, for the settings list.
struct Enrolled {
    pin: bool,
    totp: bool,
    bingo: bool,
}

async fn enrolled(state: &AppState, user: &UserRow) -> anyhow::Result<Enrolled> {
    let m = state.signin.enrolled(user).await?;
    Ok(Enrolled {
        pin: m.contains(&Method::Pin),
        totp: m.contains(&Method::Totp),
        bingo: m.contains(&Method::Bingo),
    })
}

/// `GET /`: the portal.
pub async fn home(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let (session, user) = match signed_in(&state, &jar, lang, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ip = super::client_ip(&state, addr, &headers).to_string();
    let tiles = match model::tiles_for(&state.signin, &user, &session, Some(&ip)).await {
        Ok(t) => t,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let has = match enrolled(&state, &user).await {
        Ok(h) => h,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let auth_time = time::OffsetDateTime::from_unix_timestamp(session.auth_time)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let page = HomePage {
        chrome: Chrome::new(lang, t.portal_title, &uri),
        t,
        csrf: token,
        user: user.name,
        display_name: user.display_name,
        amr: session.amr.join(", "),
        auth_time,
        tiles,
        has_pin: has.pin,
        has_totp: has.totp,
        has_bingo: has.bingo,
    };
    pages::render(StatusCode::OK, jar, &page)
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    chrome: Chrome,
    t: &'static Texts,
    csrf: String,
    has_pin: bool,
    has_totp: bool,
    has_bingo: bool,
}

/// `GET /account/security`: the security settings.
pub async fn security(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let (_, user) = match signed_in(&state, &jar, lang, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let has = match enrolled(&state, &user).await {
        Ok(h) => h,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = SecurityPage {
        chrome: Chrome::new(lang, t.security_title, &uri),
        t,
        csrf: token,
        has_pin: has.pin,
        has_totp: has.totp,
        has_bingo: has.bingo,
    };
    pages::render(StatusCode::OK, jar, &page)
}

#[derive(Template)]
#[template(path = "fresh_needed.html")]
struct FreshNeededPage {
    chrome: Chrome,
    t: &'static Texts,
    csrf: String,
    sign_in_href: String,
}

/// 403 with a link through the sign-in and back, for a session that is not fresh.
fn fresh_needed(state: &AppState, jar: CookieJar, lang: Lang, uri: &Uri, back: &str) -> Response {
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = FreshNeededPage {
        chrome: Chrome::new(lang, t.fresh_title, uri),
        t,
        csrf: token,
        sign_in_href: format!("/login?return_to={back}"),
    };
    pages::render(StatusCode::FORBIDDEN, jar, &page)
}

// -- pattern ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "account_pattern.html")]
struct PatternPage {
    chrome: Chrome,
    t: &'static Texts,
    csrf: String,
    rows: Vec<Vec<CellView>>,
    rules: Vec<String>,
    error: Option<String>,
    done: bool,
}

#[derive(Deserialize)]
pub struct PatternForm {
    #[serde(default)]
    pattern: String,
    #[serde(default)]
    pattern_confirm: String,
    #[serde(default)]
    csrf: String,
}

fn pattern_rejection(t: &Texts, e: &PatternChangeError) -> &'static str {
    match e {
        PatternChangeError::Malformed | PatternChangeError::NoAttempt => t.rule_malformed,
        PatternChangeError::Mismatch => t.mismatch,
        PatternChangeError::SameAsInitial => t.same_as_current,
        PatternChangeError::Rule(r) => pages::rule_rejection_text(t, r),
    }
}

async fn pattern_response(
    state: &AppState,
    user: &UserRow,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    error: Option<&'static str>,
    done: bool,
) -> Response {
    let policy = match state.signin.policy_for(Some(user.id)).await {
        Ok(p) => p,
        Err(e) => return pages::internal(lang, uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = PatternPage {
        chrome: Chrome::new(lang, t.pattern_change_title, uri),
        t,
        csrf: token,
        rows: cell_rows(&policy.grid, None),
        rules: rule_lines(t, lang, &policy.pattern_rules),
        error: error.map(str::to_owned),
        done,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::render(status, jar, &page)
}

/// `GET /account/pattern`.
pub async fn pattern_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let (session, user) = match signed_in(&state, &jar, lang, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !model::is_fresh(&session, state.signin.clock.unix()) {
        return fresh_needed(&state, jar, lang, &uri, "/account/pattern");
    }
    pattern_response(&state, &user, jar, lang, &uri, None, false).await
}

/// `POST /account/pattern` (fields `pattern`, `pattern_confirm`, `csrf`).
pub async fn pattern_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<PatternForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let (session, user) = match signed_in(&state, &jar, lang, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !model::is_fresh(&session, state.signin.clock.unix()) {
        return fresh_needed(&state, jar, lang, &uri, "/account/pattern");
    }
    let ip = super::client_ip(&state, addr, &headers).to_string();
    let pattern: String = form.pattern.chars().take(1024).collect();
    let confirm: String = form.pattern_confirm.chars().take(1024).collect();
    match state
        .signin
        .change_own_pattern(&user, &pattern, &confirm, Some(&ip))
        .await
    {
        Ok(Ok(())) => pattern_response(&state, &user, jar, lang, &uri, None, true).await,
        Ok(Err(e)) => {
            let text = pattern_rejection(lang.texts(), &e);
            pattern_response(&state, &user, jar, lang, &uri, Some(text), false).await
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

// -- authenticator app and bingo --------------------------------------------------------------

#[derive(Template)]
#[template(path = "account_app.html")]
struct AppPage {
    chrome: Chrome,
    t: &'static Texts,
    csrf: String,
    bingo: bool,
    action: &'static str,
    qr_svg: String,
    secret: String,
    secret_grouped: String,
    otpauth: String,
    rows: Vec<Vec<CellView>>,
    digits: u8,
    error: Option<&'static str>,
    error_code: &'static str,
    done: bool,
}

#[derive(Deserialize)]
pub struct AppForm {
    #[serde(default)]
    otp: String,
    #[serde(default)]
    cells: String,
    #[serde(default)]
    csrf: String,
}

fn cookie_of(method: Method) -> &'static str {
    if method == Method::Bingo {
        cookies::ENROL_BINGO
    } else {
        cookies::ENROL_TOTP
    }
}

fn path_of(method: Method) -> &'static str {
    if method == Method::Bingo {
        "/account/bingo"
    } else {
        "/account/totp"
    }
}

/// The enrolment page with the pending secret of the cookie, or a new one (new cookie).
#[allow(clippy::too_many_arguments)]
async fn app_response(
    state: &AppState,
    user: &UserRow,
    method: Method,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    error: Option<(&'static str, &'static str)>,
) -> Response {
    let name = cookie_of(method);
    let pending = jar
        .get(name)
        .and_then(|c| state.signin.portal_pending_open(user, method, c.value()));
    let (secret, jar) = match pending {
        Some(s) => (s, jar),
        None => {
            let (s, value) = state.signin.portal_pending_new(user, method);
            (
                s,
                jar.add(cookies::build(name, value, state.secure_cookies)),
            )
        }
    };
    page_for_secret(state, user, method, &secret, jar, lang, uri, error).await
}

#[allow(clippy::too_many_arguments)]
async fn page_for_secret(
    state: &AppState,
    user: &UserRow,
    method: Method,
    secret: &OtpSecret,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    error: Option<(&'static str, &'static str)>,
) -> Response {
    let (otpauth, digits) = match async {
        let uri = state.signin.portal_otpauth(user, secret).await?;
        let policy = state.signin.policy_for(Some(user.id)).await?;
        anyhow::Ok((uri, policy.totp.digits))
    }
    .await
    {
        Ok(v) => v,
        Err(e) => return pages::internal(lang, uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let bingo_grid = GridSpec {
        rows: bingo::SIDE as u8,
        cols: bingo::SIDE as u8,
        block_width: bingo::SIDE as u8,
    };
    let base32 = secret.to_base32();
    let page = AppPage {
        chrome: Chrome::new(
            lang,
            if method == Method::Bingo {
                t.bingo_title
            } else {
                t.app_title
            },
            uri,
        ),
        t,
        csrf: token,
        bingo: method == Method::Bingo,
        action: path_of(method),
        qr_svg: qr_svg(&otpauth),
        secret_grouped: grouped(&base32),
        secret: base32,
        otpauth,
        rows: cell_rows(&bingo_grid, None),
        digits,
        error: error.map(|(_, m)| m),
        error_code: error.map(|(c, _)| c).unwrap_or(""),
        done: false,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::render(status, jar, &page)
}

fn done_page(state: &AppState, method: Method, jar: CookieJar, lang: Lang, uri: &Uri) -> Response {
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = AppPage {
        chrome: Chrome::new(lang, t.security_title, uri),
        t,
        csrf: token,
        bingo: method == Method::Bingo,
        action: path_of(method),
        qr_svg: String::new(),
        secret: String::new(),
        secret_grouped: String::new(),
        otpauth: String::new(),
        rows: Vec::new(),
        digits: 0,
        error: None,
        error_code: "",
        done: true,
    };
    pages::render(StatusCode::OK, jar, &page)
}

async fn app_page(
    state: Arc<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let (session, user) = match signed_in(&state, &jar, lang, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !model::is_fresh(&session, state.signin.clock.unix()) {
        return fresh_needed(&state, jar, lang, &uri, path_of(method));
    }
    app_response(&state, &user, method, jar, lang, &uri, None).await
}

async fn app_submit(
    state: Arc<AppState>,
    method: Method,
    addr: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    form: AppForm,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let (session, user) = match signed_in(&state, &jar, lang, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !model::is_fresh(&session, state.signin.clock.unix()) {
        return fresh_needed(&state, jar, lang, &uri, path_of(method));
    }
    let t = lang.texts();
    let name = cookie_of(method);
    let Some(secret) = jar
        .get(name)
        .and_then(|c| state.signin.portal_pending_open(&user, method, c.value()))
    else {
        // Expired or tampered with: a new secret, to be scanned again.
        let jar = jar.remove(cookies::removal(name));
        return app_response(
            &state,
            &user,
            method,
            jar,
            lang,
            &uri,
            Some(("enrolment-expired", t.enrol_expired)),
        )
        .await;
    };
    if method == Method::Bingo {
        let digits = match state.signin.policy_for(Some(user.id)).await {
            Ok(p) => usize::from(p.totp.digits),
            Err(e) => return pages::internal(lang, &uri, &e),
        };
        let cells: String = form.cells.chars().take(256).collect();
        if model::check_bingo_cells(&cells, digits).is_err() {
            return page_for_secret(
                &state,
                &user,
                method,
                &secret,
                jar,
                lang,
                &uri,
                Some(("bingo-cells", t.bingo_cells_wrong)),
            )
            .await;
        }
    }
    let ip = super::client_ip(&state, addr, &headers).to_string();
    let code: String = form.otp.chars().take(64).collect();
    match state
        .signin
        .portal_enrol_app(&user, method, &secret, &code, Some(&ip))
        .await
    {
        Ok(EnrolOutcome::Enrolled) => done_page(
            &state,
            method,
            jar.remove(cookies::removal(name)),
            lang,
            &uri,
        ),
        Ok(_) => {
            page_for_secret(
                &state,
                &user,
                method,
                &secret,
                jar,
                lang,
                &uri,
                Some(("code-failed", t.code_failed)),
            )
            .await
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

/// `GET /account/totp`: set up or replace the authenticator app.
pub async fn totp_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    app_page(state, Method::Totp, uri, headers, jar).await
}

/// `POST /account/totp` (fields `otp`, `csrf`).
pub async fn totp_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<AppForm>,
) -> Response {
    app_submit(state, Method::Totp, addr, uri, headers, jar, form).await
}

/// `GET /account/bingo`: set the bingo pattern (and the bingo authenticator's key).
pub async fn bingo_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    app_page(state, Method::Bingo, uri, headers, jar).await
}

/// `POST /account/bingo` (fields `cells`, `otp`, `csrf`).
pub async fn bingo_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<AppForm>,
) -> Response {
    app_submit(state, Method::Bingo, addr, uri, headers, jar, form).await
}
