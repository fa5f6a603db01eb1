//! Pages of a signed-in user's own account (more come with the portal): change PIN.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use axum_extra::extract::CookieJar;
use passlogic_idp_core::pipeline::Method;
use serde::Deserialize;

use super::pages::{self, AccountPinPage, Chrome};
use super::session::{current_session, to_login};
use super::{csrf, AppState};
use crate::i18n::Lang;
use crate::signin::PinChangeError;

#[derive(Deserialize)]
pub struct PinChangeForm {
    #[serde(default)]
    current_pin: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    pin_confirm: String,
    #[serde(default)]
    csrf: String,
}

async fn render(
    state: &AppState,
    user_id: i64,
    jar: CookieJar,
    lang: Lang,
    uri: &Uri,
    done: bool,
    error: Option<String>,
) -> Response {
    let has_pin = match state.signin.store.user_by_id(user_id).await {
        Ok(Some(u)) => match state.signin.enrolled(&u).await {
            Ok(m) => m.contains(&Method::Pin),
            Err(e) => return pages::internal(lang, uri, &e),
        },
        Ok(None) => false,
        Err(e) => return pages::internal(lang, uri, &e),
    };
    let (jar, token) = csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = AccountPinPage {
        chrome: Chrome::new(lang, t.change_pin_title, uri),
        t,
        csrf: token,
        has_pin,
        done,
        error,
    };
    pages::render(status, jar, &page)
}

pub async fn pin_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    match current_session(&state, &jar).await {
        Ok(Some(s)) => render(&state, s.user_id, jar, lang, &uri, false, None).await,
        Ok(None) => to_login(&uri),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

pub async fn pin_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<PinChangeForm>,
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
    let t = lang.texts();
    let ip = addr.ip().to_string();
    match state
        .signin
        .change_pin(
            session.user_id,
            &form.current_pin,
            &form.pin,
            &form.pin_confirm,
            Some(&ip),
        )
        .await
    {
        Ok(Ok(())) => render(&state, session.user_id, jar, lang, &uri, true, None).await,
        Ok(Err(e)) => {
            let msg = match e {
                PinChangeError::CurrentWrong => t.pin_current_wrong.to_owned(),
                PinChangeError::Mismatch => t.pin_mismatch.to_owned(),
                PinChangeError::Policy(r) => format!("{}: {r}", t.pin_rejected),
            };
            render(&state, session.user_id, jar, lang, &uri, false, Some(msg)).await
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}
