//! The signed-in side: the home page, `GET /session`, sign-out, and the health check.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::json;

use super::pages;
use super::{cookies, csrf, AppState};
use crate::saml_service::logout::SloOutcome;
use crate::store::SessionRow;

pub async fn current_session(
    state: &AppState,
    jar: &CookieJar,
) -> anyhow::Result<Option<SessionRow>> {
    match jar.get(cookies::SESSION) {
        Some(c) => state.signin.session(c.value()).await,
        None => Ok(None),
    }
}

/// Where a protected page sends a visitor without a session.
pub fn to_login(uri: &Uri) -> Response {
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let encoded: String = target
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    Redirect::to(&format!("/login?return_to={encoded}")).into_response()
}

pub async fn session_json(State(state): State<Arc<AppState>>, jar: CookieJar) -> Response {
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": "unauthenticated" })),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "session lookup failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "internal" })),
            )
                .into_response();
        }
    };
    match state.signin.store.user_by_id(session.user_id).await {
        Ok(Some(u)) => {
            Json(json!({ "user": u.name, "amr": session.amr, "auth_time": session.auth_time }))
                .into_response()
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "unauthenticated" })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "user lookup failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "internal" })),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    if !csrf::valid(&jar, &form.csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    // Single logout: the SAML SPs of this session are logged out after it ends.
    let saml_sps = match current_session(&state, &jar).await {
        Ok(Some(s)) => state.saml.logout_session(&s).await,
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    if let Some(c) = jar.get(cookies::SESSION) {
        if let Err(e) = state
            .signin
            .sign_out(c.value(), Some(&addr.ip().to_string()))
            .await
        {
            return pages::internal(lang, &uri, &e);
        }
    }
    let jar = jar.remove(cookies::removal(cookies::SESSION));
    match saml_sps {
        Ok(None) => (jar, Redirect::to("/login")).into_response(),
        other => super::saml::slo_answer(
            other.map(|o| o.unwrap_or(SloOutcome::Done)),
            lang,
            &uri,
            jar,
        ),
    }
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    match state.signin.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n"),
    }
}
