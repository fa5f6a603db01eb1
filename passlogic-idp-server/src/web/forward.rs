//! `GET /auth/forward` (asked by the reverse proxy for every request to a protected app) and
//! `GET /auth/start?rd=URL` (where a browser without a session is sent to sign in and come
//! back). The decisions are in [`crate::forward_auth`]; this module only speaks HTTP:
//!
//! - `/auth/forward`: 200 with the identity headers for a session allowed to open the app;
//!   403 when the policy denies it; no session: 401 for nginx (`X-Original-URL` present; nginx
//!   redirects through its `error_page`) or a 302 to `/auth/start?rd=ORIGINAL` for Traefik and
//!   Caddy; 400 when the original URL is missing or outside the configured domains.
//! - `/auth/start`: 400 for an `rd` outside the configured domains (no open redirect); signed
//!   in: 302 to `rd`; else 303 to `/login` with a return path back here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use passlogic_idp_core::policy::directory::{ServiceKind, ServiceRef};
use serde_json::json;

use super::session::current_session;
use super::AppState;
use crate::forward_auth::{self, Access};

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => text(StatusCode::BAD_REQUEST, "bad return address\n"),
    }
}

fn internal(e: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "forward authentication failed");
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

pub async fn forward(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let cfg = &state.forward;
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let nginx = headers.contains_key("x-original-url");
    let Some(original) = forward_auth::original_url(get) else {
        return text(
            StatusCode::BAD_REQUEST,
            "missing X-Original-URL or X-Forwarded-Host\n",
        );
    };
    let Some(url) = cfg.allowed_url(&original) else {
        return text(
            StatusCode::BAD_REQUEST,
            "the original URL is not under a configured forward-auth domain\n",
        );
    };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let unauthenticated = || {
        if nginx {
            text(StatusCode::UNAUTHORIZED, "sign in first\n")
        } else {
            found(&format!(
                "{}/auth/start?rd={}",
                cfg.public_url,
                forward_auth::encode(url.as_str())
            ))
        }
    };
    let session = match current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return unauthenticated(),
        Err(e) => return internal(&e),
    };
    let signin = &state.signin;
    let user = match signin.store.user_by_id(session.user_id).await {
        Ok(Some(u)) if u.enabled => u,
        Ok(_) => return unauthenticated(),
        Err(e) => return internal(&e),
    };
    let checked = async {
        let policy = signin.policy_for(Some(user.id)).await?;
        let app = signin
            .store
            .forward_app_by_host(signin.tenant_id, &host)
            .await?;
        let groups = signin.store.user_groups(user.id).await?;
        let mut access = forward_auth::authorize(&policy, app.as_ref());
        // Then the tenant's access policy, as for every service (`forward_auth_app:NAME`),
        // with the browser's address as the trusted proxy (nginx) reports it.
        if let (Access::Allow, Some(app)) = (&access, &app) {
            let service = ServiceRef::new(ServiceKind::ForwardAuthApp, app.name.clone());
            let ip = super::client_ip(&state, addr, &headers).to_string();
            if let Some(key) =
                crate::access::denial_for_session(signin, &user, &session, &service, Some(&ip))
                    .await?
            {
                access = Access::Deny(key);
            }
        }
        anyhow::Ok((access, groups))
    };
    let (access, groups) = match checked.await {
        Ok(r) => r,
        Err(e) => return internal(&e),
    };
    if let Access::Deny(reason) = access {
        signin
            .audit(signin.audit_event(
                &user.name,
                "forward_auth.denied",
                &user.name,
                "failure",
                json!({ "host": host, "reason": reason }),
                Some(&addr.ip().to_string()),
            ))
            .await;
        return text(StatusCode::FORBIDDEN, "access denied\n");
    }
    let mut res = text(StatusCode::OK, "ok\n");
    let values = [
        (&cfg.user_header, Some(user.name.clone())),
        (&cfg.email_header, user.email.clone()),
        (&cfg.groups_header, Some(groups.join(","))),
    ];
    for (name, value) in values {
        let (Ok(name), Some(value)) = (HeaderName::from_bytes(name.as_bytes()), value) else {
            continue;
        };
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            res.headers_mut().insert(name, v);
        }
    }
    res
}

pub async fn start(State(state): State<Arc<AppState>>, uri: Uri, jar: CookieJar) -> Response {
    let cfg = &state.forward;
    let rd = uri.query().and_then(forward_auth::rd_param);
    let Some(url) = rd.as_deref().and_then(|r| cfg.allowed_url(r)) else {
        return text(
            StatusCode::BAD_REQUEST,
            "This return address is not allowed: it is not under a domain this sign-in \
             service protects.\n",
        );
    };
    match current_session(&state, &jar).await {
        Ok(Some(_)) => found(url.as_str()),
        Ok(None) => {
            let back = format!("/auth/start?rd={}", forward_auth::encode(url.as_str()));
            Redirect::to(&format!("/login?return_to={}", forward_auth::encode(&back)))
                .into_response()
        }
        Err(e) => internal(&e),
    }
}
