//! The sign-in pages: user ID, grid, and the first-sign-in pattern choice.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::CookieJar;
use passlogic_idp_core::pipeline::Method;
use serde::Deserialize;

use super::pages::{self, cell_rows, rule_lines, Chrome, LoginPage, MatrixPage, PatternSetupPage};
use super::{cookies, csrf, AppState};
use crate::i18n::{Lang, Texts};
use crate::signin::{Next, PatternChangeError, StepOutcome};
use crate::store::{AttemptRow, AttemptState};

const MAX_FIELD: usize = 1024;

/// A `return_to` value we will redirect to: a local absolute path only (no scheme, no
/// protocol-relative `//host`, no backslash tricks), else `/`.
pub fn safe_return_to(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 2048
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    return_to: String,
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
pub struct PatternForm {
    #[serde(default)]
    pattern: String,
    #[serde(default)]
    pattern_confirm: String,
    #[serde(default)]
    csrf: String,
}

pub fn ip(addr: &SocketAddr) -> String {
    addr.ip().to_string()
}

pub async fn login_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<LoginQuery>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = LoginPage {
        chrome: Chrome::new(lang, t.sign_in_title, &uri),
        t,
        csrf: token,
        return_to: safe_return_to(q.return_to.as_deref()),
    };
    pages::render(StatusCode::OK, jar, &page)
}

pub async fn login_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let username = form.username.trim();
    if username.is_empty() || username.len() > MAX_FIELD {
        return Redirect::to("/login").into_response();
    }
    let return_to = safe_return_to(Some(&form.return_to));
    match state
        .signin
        .start(username, &return_to, Some(&ip(&addr)))
        .await
    {
        Ok(token) => {
            let attempt = state.signin.attempt(&token).await;
            let jar = jar.add(cookies::build(
                cookies::ATTEMPT,
                token,
                state.secure_cookies,
            ));
            match attempt {
                Ok(Some(a)) => go_next(&state, &a, jar, lang, &uri, &ip(&addr)).await,
                Ok(None) => Redirect::to("/login").into_response(),
                Err(e) => pages::internal(lang, &uri, &e),
            }
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

pub async fn current_attempt(
    state: &AppState,
    jar: &CookieJar,
) -> anyhow::Result<Option<AttemptRow>> {
    match jar.get(cookies::ATTEMPT) {
        Some(c) => state.signin.attempt(c.value()).await,
        None => Ok(None),
    }
}

async fn grid_response(
    state: &AppState,
    attempt: &AttemptRow,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    failed: bool,
) -> Response {
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let challenge = match state.signin.issue_grid(attempt).await {
        Ok(Some(c)) => c,
        Ok(None) => return pages::attempt_gone(jar, lang, uri),
        Err(e) => return pages::internal(lang, uri, &e),
    };
    let t = lang.texts();
    let page = MatrixPage {
        chrome: Chrome::new(lang, t.grid_title, uri),
        t,
        csrf: token,
        rows: cell_rows(challenge.grid.spec(), Some(&challenge.grid)),
        failed,
    };
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    pages::render(status, jar, &page)
}

pub async fn grid_page(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    match current_attempt(&state, &jar).await {
        Ok(Some(a)) if state.signin.due(&a) == Some(Method::Matrix) => {
            grid_response(&state, &a, jar, lang, &uri, false).await
        }
        Ok(Some(a)) => go_next(&state, &a, jar, lang, &uri, &ip(&addr)).await,
        Ok(None) => Redirect::to("/login").into_response(),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

pub async fn grid_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<OtpForm>,
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
    let otp: String = form.otp.chars().take(MAX_FIELD).collect();
    let ip = ip(&addr);
    match state.signin.answer_grid(&attempt, &otp, Some(&ip)).await {
        Ok(StepOutcome::Passed) => continue_after_step(&state, jar, lang, &uri, &ip).await,
        Ok(StepOutcome::Failed) => grid_response(&state, &attempt, jar, lang, &uri, true).await,
        Ok(StepOutcome::OutOfOrder) => pages::out_of_order(jar, lang, &uri),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

fn signed_in(state: &AppState, jar: CookieJar, session_token: String, return_to: &str) -> Response {
    let jar = jar
        .remove(cookies::removal(cookies::ATTEMPT))
        .add(cookies::build(
            cookies::SESSION,
            session_token,
            state.secure_cookies,
        ));
    (jar, Redirect::to(return_to)).into_response()
}

/// After a passed step: reload the attempt (the step changed it) and go wherever it goes next.
pub async fn continue_after_step(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    ip: &str,
) -> Response {
    match current_attempt(state, &jar).await {
        Ok(Some(a)) => go_next(state, &a, jar, lang, uri, ip).await,
        Ok(None) => Redirect::to("/login").into_response(),
        Err(e) => pages::internal(lang, uri, &e),
    }
}

/// Sends the browser wherever the attempt goes next (the only place a session is opened).
pub async fn go_next(
    state: &AppState,
    attempt: &AttemptRow,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    ip: &str,
) -> Response {
    let ip = (!ip.is_empty()).then_some(ip);
    match state.signin.next(attempt, ip).await {
        Ok(Next::Step(Method::Matrix)) => (jar, Redirect::to("/login/matrix")).into_response(),
        Ok(Next::Step(m)) => (jar, Redirect::to(&format!("/login/{}", m.as_str()))).into_response(),
        Ok(Next::Choose) => (jar, Redirect::to("/login/choose")).into_response(),
        Ok(Next::PatternChange) => (jar, Redirect::to("/pattern/setup")).into_response(),
        Ok(Next::Enrol(m)) => {
            (jar, Redirect::to(&format!("/enrol/{}", m.as_str()))).into_response()
        }
        Ok(Next::Done {
            session_token,
            return_to,
        }) => signed_in(state, jar, session_token, &return_to),
        Ok(Next::Refused(r)) => {
            pages::refused(jar.remove(cookies::removal(cookies::ATTEMPT)), lang, uri, r)
        }
        Ok(Next::Restart) => (
            jar.remove(cookies::removal(cookies::ATTEMPT)),
            Redirect::to("/login"),
        )
            .into_response(),
        Err(e) => pages::internal(lang, uri, &e),
    }
}

fn rejection_text(t: &Texts, e: &PatternChangeError) -> &'static str {
    match e {
        PatternChangeError::Malformed | PatternChangeError::NoAttempt => t.rule_malformed,
        PatternChangeError::Mismatch => t.mismatch,
        PatternChangeError::SameAsInitial => t.same_as_initial,
        PatternChangeError::Rule(r) => pages::rule_rejection_text(t, r),
    }
}

async fn pattern_response(
    state: &AppState,
    attempt: &AttemptRow,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    error: Option<&'static str>,
) -> Response {
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let policy = match state.signin.attempt_policy(attempt).await {
        Ok(p) => p,
        Err(e) => return pages::internal(lang, uri, &e),
    };
    let t = lang.texts();
    let page = PatternSetupPage {
        chrome: Chrome::new(lang, t.setup_title, uri),
        t,
        csrf: token,
        rows: cell_rows(&policy.grid, None),
        rules: rule_lines(t, lang, &policy.pattern_rules),
        error: error.map(str::to_owned),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages::render(status, jar, &page)
}

pub async fn pattern_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    match current_attempt(&state, &jar).await {
        Ok(Some(a)) if a.state == AttemptState::PatternChange => {
            pattern_response(&state, &a, jar, lang, &uri, None).await
        }
        Ok(_) => Redirect::to("/login").into_response(),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

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
    let attempt = match current_attempt(&state, &jar).await {
        Ok(Some(a)) if a.state == AttemptState::PatternChange => a,
        Ok(_) => return Redirect::to("/login").into_response(),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let result = state
        .signin
        .change_initial_pattern(
            &attempt,
            &form.pattern,
            &form.pattern_confirm,
            Some(&ip(&addr)),
        )
        .await;
    match result {
        Ok(Ok(())) => continue_after_step(&state, jar, lang, &uri, &ip(&addr)).await,
        Ok(Err(PatternChangeError::NoAttempt)) => Redirect::to("/login").into_response(),
        Ok(Err(e)) => {
            let text = rejection_text(lang.texts(), &e);
            pattern_response(&state, &attempt, jar, lang, &uri, Some(text)).await
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn return_to_is_local_only() {
        assert_eq!(safe_return_to(Some("/portal?x=1")), "/portal?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "portal",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
