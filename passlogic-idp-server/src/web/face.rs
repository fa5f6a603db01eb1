//! The biometric step over HTTP: `GET /login/biometric` hands the browser to the external face
//! verifier, `GET /login/biometric/callback` takes its signed verdict. The decisions are in
//! [`crate::face`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use passlogic_idp_core::factor::face::Verdict;
use passlogic_idp_core::pipeline::Method;

use super::login::{continue_after_step, current_attempt, go_next, ip};
use super::pages::{self, Chrome, NoticePage};
use super::{cookies, AppState};
use crate::face::{FaceOutcome, FaceStart, HttpFaceVerifier};
use crate::i18n::Lang;

fn refusal(lang: Lang, jar: CookieJar, uri: &Uri, code: &'static str) -> Response {
    let t = lang.texts();
    let message = match (code, lang) {
        ("face-no-match", Lang::En) => "Face verification did not match. Sign in again.",
        ("face-no-match", Lang::Ja) => "顔認証が一致しませんでした。もう一度サインインしてください。",
        ("face-verifier-unavailable", Lang::En) => {
            "Face verification is not available now. Try again later or ask your administrator."
        }
        ("face-verifier-unavailable", Lang::Ja) => {
            "現在、顔認証を利用できません。しばらくしてから再度お試しいただくか、管理者にお問い合わせください。"
        }
        (_, Lang::En) => "The face verification result was not accepted. Sign in again.",
        (_, Lang::Ja) => "顔認証の結果を受け付けられませんでした。もう一度サインインしてください。",
    };
    let page = NoticePage {
        chrome: Chrome::new(lang, t.error_title, uri),
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

/// `GET /login/biometric`: `303` to the verifier.
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
    if state.signin.due(&attempt) != Some(Method::Biometric) {
        return go_next(&state, &attempt, jar, lang, &uri, &ip).await;
    }
    let (verifier, callback): (Option<&HttpFaceVerifier>, &str) = match &state.face {
        Some(f) => (Some(&f.verifier), &f.callback_url),
        None => (None, ""),
    };
    match state
        .signin
        .start_face(&attempt, verifier, callback, Some(&ip))
        .await
    {
        Ok(FaceStart::Redirect(url)) => (jar, Redirect::to(&url)).into_response(),
        Ok(FaceStart::OutOfOrder) => go_next(&state, &attempt, jar, lang, &uri, &ip).await,
        Ok(FaceStart::Unavailable) => refusal(lang, jar, &uri, "face-verifier-unavailable"),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

/// `GET /login/biometric/callback?challenge&user&verdict&issued_at&signature`.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    verdict: Result<Query<Verdict>, QueryRejection>,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let attempt = match current_attempt(&state, &jar).await {
        Ok(Some(a)) => a,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let ip = ip(&addr);
    let (Ok(Query(verdict)), Some(face)) = (verdict, &state.face) else {
        return refusal(lang, jar, &uri, "face-verdict-refused");
    };
    match state
        .signin
        .answer_face(&attempt, &face.verifier_key(), &verdict, Some(&ip))
        .await
    {
        Ok(FaceOutcome::Passed | FaceOutcome::OutOfOrder) => {
            continue_after_step(&state, jar, lang, &uri, &ip).await
        }
        Ok(FaceOutcome::NoMatch) => refusal(lang, jar, &uri, "face-no-match"),
        Ok(FaceOutcome::Refused) => refusal(lang, jar, &uri, "face-verdict-refused"),
        Err(e) => pages::internal(lang, &uri, &e),
    }
}
