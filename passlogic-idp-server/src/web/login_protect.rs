//! Login protect over HTTP: the step page (`/login/login_protect`, no input: the user's unlock
//! window is the answer) and the authenticator's JSON endpoints `POST /authenticator/pair` and
//! `POST /authenticator/unlock`. The decisions are in [`crate::login_protect`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use passlogic_idp_core::factor::unlock::{UnlockError, UnlockRequest};
use passlogic_idp_core::pipeline::Method;
use serde::Deserialize;
use serde_json::json;

use super::login::{continue_after_step, current_attempt, go_next, ip};
use super::pages::{self, Chrome, NoticePage};
use super::{cookies, AppState};
use crate::i18n::Lang;
use crate::login_protect::{LoginProtectOutcome, PairOutcome, UnlockOutcome};

fn locked_message(lang: Lang) -> &'static str {
    match lang {
        Lang::En => {
            "Sign-in is locked for your account. Unlock it with your authenticator app \
             (passlogic-idp authenticator unlock), then sign in again within a minute."
        }
        Lang::Ja => {
            "このアカウントのサインインはロックされています。認証アプリでロックを解除してから、\
             1 分以内にもう一度サインインしてください。"
        }
    }
}

/// `GET /login/login_protect`: passes while the user's unlock window is open.
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
    if state.signin.due(&attempt) != Some(Method::LoginProtect) {
        return go_next(&state, &attempt, jar, lang, &uri, &ip).await;
    }
    match state.signin.answer_login_protect(&attempt, Some(&ip)).await {
        Ok(LoginProtectOutcome::Passed | LoginProtectOutcome::OutOfOrder) => {
            continue_after_step(&state, jar, lang, &uri, &ip).await
        }
        Ok(LoginProtectOutcome::Locked) => {
            let t = lang.texts();
            let page = NoticePage {
                chrome: Chrome::new(lang, t.error_title, &uri),
                t,
                heading: t.error_title,
                code: "login-protect-locked",
                message: locked_message(lang),
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

fn error(status: StatusCode, code: &str, detail: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "error_description": detail })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct PairBody {
    code: String,
    public_key: String,
}

/// `POST /authenticator/pair` `{"code", "public_key"}` → `{"user"}`.
pub async fn pair(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let Ok(b) = serde_json::from_slice::<PairBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected JSON with code and public_key",
        );
    };
    let ip = ip(&addr);
    match state
        .signin
        .pair_authenticator(&b.code, &b.public_key, Some(&ip))
        .await
    {
        Ok(PairOutcome::Paired(user)) => Json(json!({ "user": user })).into_response(),
        Ok(PairOutcome::BadCode) => error(
            StatusCode::BAD_REQUEST,
            "invalid_code",
            "unknown, expired or used pairing code",
        ),
        Ok(PairOutcome::BadKey(e)) => error(StatusCode::BAD_REQUEST, "invalid_key", &e.to_string()),
        Err(e) => {
            tracing::error!("pairing: {e:#}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "")
        }
    }
}

/// `POST /authenticator/unlock` (an [`UnlockRequest`] as JSON) → `{"unlocked_until"}`.
pub async fn unlock(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let Ok(req) = serde_json::from_slice::<UnlockRequest>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected JSON with key_id, timestamp, nonce and signature",
        );
    };
    let ip = ip(&addr);
    match state.signin.unlock(&req, Some(&ip)).await {
        Ok(UnlockOutcome::Opened(until)) => {
            Json(json!({ "unlocked_until": until })).into_response()
        }
        Ok(UnlockOutcome::Replayed) => error(
            StatusCode::CONFLICT,
            "replayed",
            "this unlock request was used before",
        ),
        Ok(UnlockOutcome::Refused(e @ (UnlockError::Malformed(_) | UnlockError::Stale))) => {
            error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string())
        }
        Ok(UnlockOutcome::Refused(e)) => error(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            &e.to_string(),
        ),
        Err(e) => {
            tracing::error!("unlock: {e:#}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "")
        }
    }
}
