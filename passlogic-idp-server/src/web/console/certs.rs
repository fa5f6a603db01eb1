//! Client certificates from the console (issue #8's "download from the admin console"): issue a
//! certificate for a user (the password is shown once, the PKCS#12 downloads once within ten
//! minutes through the same single-use link as the first-sign-in issue), print its sheet, revoke.
//! The CA work is `client_cert.rs` / `ca.rs`, shared with the admin API and the CLI.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::layout::{texts, ConsoleChrome, Section};
use super::users::enc;
use super::Admin;
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::web::pages::render;
use crate::web::AppState;

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "console/cert_issued.html")]
struct IssuedPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    user: String,
    user_path: String,
    serial: String,
    password: String,
    download: String,
}

async fn user(state: &AppState, name: &str) -> anyhow::Result<Option<crate::store::UserRow>> {
    state
        .signin
        .store
        .user_by_name(state.signin.tenant_id, name)
        .await
}

/// `POST /console/users/{name}/certificates`: issues one and shows its password once.
pub async fn issue(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let u = match user(&state, &name).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such user\n").into_response(),
        Err(e) => return admin.internal(&e),
    };
    let s = &state.signin;
    let done = async {
        let (issued, password) = s.issue_for_distribution(&u, &admin.actor(), true).await?;
        let token = s.offer_download(u.id, &issued).await?;
        Ok::<_, anyhow::Error>((issued.serial, password, token))
    }
    .await;
    let (serial, password, token) = match done {
        Ok(d) => d,
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let page = IssuedPage {
        chrome: ConsoleChrome::new(&admin, Section::Users, c.ct_issued_title),
        t,
        c,
        user_path: enc(&u.name),
        user: u.name,
        serial,
        password,
        download: format!("/login/client_certificate/download?token={token}"),
    };
    render(StatusCode::OK, admin.jar, &page)
}

/// `POST /console/users/{name}/certificates/{serial}/revoke`
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path((name, serial)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let s = &state.signin;
    let done = async {
        let Some(u) = user(&state, &name).await? else {
            return Ok(false);
        };
        let mine = s
            .store
            .client_certs(s.tenant_id, Some(u.id))
            .await?
            .iter()
            .any(|c| c.serial == serial && c.revoked_at.is_none());
        Ok::<_, anyhow::Error>(mine && s.revoke_client_cert(&serial, &admin.actor()).await?)
    }
    .await;
    match done {
        Ok(true) => Redirect::to(&format!("/console/users/{}?saved=1", enc(&name))).into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            "no such active certificate of that user\n",
        )
            .into_response(),
        Err(e) => admin.internal(&e),
    }
}

/// `GET /console/users/{name}/certificates/{serial}/sheet`: the printable sheet (the password is
/// on it the first time only).
pub async fn sheet(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path((name, serial)): Path<(String, String)>,
) -> Response {
    let s = &state.signin;
    let facts = async {
        let Some(u) = user(&state, &name).await? else {
            return Ok(None);
        };
        s.cert_sheet(&u, &serial, &admin.actor()).await
    }
    .await;
    let facts = match facts {
        Ok(Some(f)) => f,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, "no such certificate of that user\n").into_response()
        }
        Err(e) => return admin.internal(&e),
    };
    let (html, csp) = match crate::client_cert::render_sheet(&facts) {
        Ok(r) => r,
        Err(e) => return admin.internal(&e),
    };
    let mut res = (StatusCode::OK, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}
