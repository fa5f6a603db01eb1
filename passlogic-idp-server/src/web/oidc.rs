//! OpenID Connect provider endpoints. Thin: parse the request, call
//! [`crate::oidc_service::OidcService`], answer in the protocol's form (redirects, an
//! auto-submitting form, JSON with `Cache-Control: no-store`, or the provider's error page).
//!
//! | route | |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | discovery ([`ProviderMetadata`](passlogic_idp_core::oidc::discovery::ProviderMetadata)) |
//! | `GET /oidc/jwks` | published signing keys (with `x5c`) |
//! | `GET, POST /oidc/authorize` | authorization code flow (query, fragment, form_post) |
//! | `POST /oidc/token` | `authorization_code` + PKCE, `refresh_token`, `client_credentials` |
//! | `GET, POST /oidc/userinfo` | claims for a Bearer access token |
//! | `POST /oidc/revoke` | RFC 7009 |
//! | `POST /oidc/introspect` | RFC 7662 |
//! | `GET, POST /oidc/logout` | RP-initiated logout |
//! | `GET /oidc/eam/resume` | Entra EAM: answer Entra after the second-factor steps ([`crate::eam_service`]) |
//! | `POST /oidc/eam/cancel` | Entra EAM: the user cancels the attempt in progress (`access_denied`) |

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use passlogic_idp_core::oidc::error::{AuthorizeError, TokenError};
use passlogic_idp_core::oidc::types::{parse_form, Issuer};
use serde_json::json;

use super::pages::{self, Chrome};
use super::{cookies, AppState};
use crate::eam_service::EamOutcome;
use crate::i18n::{Lang, Texts};
use crate::oidc_service::{AuthorizeOutcome, LogoutOutcome, TokenFailure};

/// Routes under `/.well-known/openid-configuration` and `/oidc/...`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize_get).post(authorize_post))
        .route("/oidc/token", post(token))
        .route("/oidc/userinfo", get(userinfo_get).post(userinfo_post))
        .route("/oidc/revoke", post(revoke))
        .route("/oidc/introspect", post(introspect))
        .route("/oidc/logout", get(logout_get).post(logout_post))
        .route("/oidc/eam/resume", get(eam_resume))
        .route("/oidc/eam/cancel", post(eam_cancel))
}

#[derive(Template)]
#[template(path = "oidc_error.html")]
struct OidcErrorPage {
    chrome: Chrome,
    t: &'static Texts,
    code: String,
    description: String,
}

#[derive(Template)]
#[template(path = "oidc_form_post.html")]
struct FormPostPage {
    chrome: Chrome,
    t: &'static Texts,
    action: String,
    fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "oidc_signed_out.html")]
struct SignedOutPage {
    chrome: Chrome,
    t: &'static Texts,
}

fn disabled() -> Response {
    (
        StatusCode::NOT_FOUND,
        "OpenID Connect is disabled: the public URL cannot be an issuer\n",
    )
        .into_response()
}

fn issuer(state: &AppState) -> Option<Issuer> {
    state.oidc.issuer().cloned()
}

fn ip(addr: &SocketAddr) -> String {
    addr.ip().to_string()
}

fn json_no_store(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

fn server_error_json(err: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{err:#}"), "OIDC request failed");
    json_no_store(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({ "error": "server_error", "error_description": "internal error" }),
    )
}

fn token_error(f: &TokenFailure) -> Response {
    let status = StatusCode::from_u16(f.error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = json_no_store(status, f.error.to_json());
    if status == StatusCode::UNAUTHORIZED && f.basic {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"passlogic-idp\""),
        );
    }
    res
}

fn params_of(raw: &str) -> Option<Vec<(String, String)>> {
    parse_form(raw)
}

fn error_page(
    lang: Lang,
    uri: &Uri,
    jar: CookieJar,
    status: StatusCode,
    code: &str,
    description: &str,
) -> Response {
    let t = lang.texts();
    pages::render(
        status,
        jar,
        &OidcErrorPage {
            chrome: Chrome::new(lang, t.error_title, uri),
            t,
            code: code.to_owned(),
            description: description.to_owned(),
        },
    )
}

/// The `form-action` source for a redirect URI: its origin for http(s), its scheme otherwise.
/// `None` if it contains characters that cannot appear in a CSP source expression.
fn csp_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let source = match rest.strip_prefix("//") {
        Some(after) if scheme == "http" || scheme == "https" => {
            let authority = after.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{authority}")
        }
        _ => format!("{scheme}:"),
    };
    source
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'\'' | b'"'))
        .then_some(source)
}

fn form_post(
    lang: Lang,
    uri: &Uri,
    jar: CookieJar,
    action: &str,
    fields: Vec<(String, String)>,
) -> Response {
    let Some(source) = csp_source(action) else {
        return error_page(
            lang,
            uri,
            jar,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the redirect URI cannot receive a form_post response",
        );
    };
    let t = lang.texts();
    let mut res = pages::render(
        StatusCode::OK,
        jar,
        &FormPostPage {
            chrome: Chrome::new(lang, t.oidc_continue, uri),
            t,
            action: action.to_owned(),
            fields,
        },
    );
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action {source}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

fn deliver_error(
    issuer: &Issuer,
    e: &AuthorizeError,
    lang: Lang,
    uri: &Uri,
    jar: CookieJar,
) -> Response {
    match (e.redirect.as_ref(), e.redirect_url(issuer)) {
        (_, Some(url)) => (jar, Redirect::to(&url)).into_response(),
        (Some(r), None) => form_post(
            lang,
            uri,
            jar,
            r.redirect_uri.as_str(),
            e.response_params(issuer).unwrap_or_default(),
        ),
        (None, None) => error_page(
            lang,
            uri,
            jar,
            StatusCode::BAD_REQUEST,
            e.code.as_str(),
            &e.description,
        ),
    }
}

// -- discovery and keys -------------------------------------------------------------------

async fn discovery(State(state): State<Arc<AppState>>) -> Response {
    let Some(issuer) = issuer(&state) else {
        return disabled();
    };
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.oidc.discovery(&issuer).to_json()),
    )
        .into_response()
}

async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    if issuer(&state).is_none() {
        return disabled();
    }
    match state.oidc.jwks().await {
        Ok(set) => ([(header::CACHE_CONTROL, "public, max-age=300")], Json(set)).into_response(),
        Err(e) => server_error_json(&e),
    }
}

// -- authorization ------------------------------------------------------------------------

async fn authorize_get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(state, addr, uri, headers, jar, query.unwrap_or_default()).await
}

async fn authorize_post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    body: String,
) -> Response {
    authorize(state, addr, uri, headers, jar, body).await
}

async fn authorize(
    state: Arc<AppState>,
    addr: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    raw: String,
) -> Response {
    let Some(issuer) = issuer(&state) else {
        return disabled();
    };
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let Some(params) = params_of(&raw) else {
        return error_page(
            lang,
            &uri,
            jar,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request parameters are not form-encoded",
        );
    };
    let session = match jar.get(cookies::SESSION) {
        Some(c) => match state.signin.session(c.value()).await {
            Ok(s) => s,
            Err(e) => return pages::internal(lang, &uri, &e),
        },
        None => None,
    };
    let ip = super::client_ip(&state, addr, &headers).to_string();
    match state
        .oidc
        .authorize(&issuer, params, session, Some(&ip))
        .await
    {
        Ok(AuthorizeOutcome::Page(e)) => error_page(
            lang,
            &uri,
            jar,
            StatusCode::BAD_REQUEST,
            e.code.as_str(),
            &e.description,
        ),
        Ok(AuthorizeOutcome::Error(e)) => deliver_error(&issuer, &e, lang, &uri, jar),
        Ok(AuthorizeOutcome::Login { return_to }) => {
            let encoded = passlogic_idp_core::oidc::types::form_urlencode(&return_to);
            (jar, Redirect::to(&format!("/login?return_to={encoded}"))).into_response()
        }
        Ok(AuthorizeOutcome::Denied(key)) => super::access_denied(jar, lang, &uri, key),
        Ok(AuthorizeOutcome::Respond(r)) => match r.redirect_url() {
            Some(url) => (jar, Redirect::to(&url)).into_response(),
            None => form_post(lang, &uri, jar, r.redirect_uri.as_str(), r.params),
        },
        Ok(AuthorizeOutcome::Eam(out)) => eam_answer(&state, out, lang, &uri, jar, &ip).await,
        Ok(AuthorizeOutcome::StepUp { attempt_token }) => {
            run_attempt(&state, attempt_token, lang, &uri, jar, &ip).await
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

// -- Entra external authentication method ---------------------------------------------------

async fn eam_answer(
    state: &AppState,
    out: EamOutcome,
    lang: Lang,
    uri: &Uri,
    jar: CookieJar,
    ip: &str,
) -> Response {
    match out {
        EamOutcome::Page(why) => error_page(
            lang,
            uri,
            jar,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &why,
        ),
        EamOutcome::FormPost { action, fields } => form_post(lang, uri, jar, &action, fields),
        EamOutcome::SignIn { attempt_token } => {
            run_attempt(state, attempt_token, lang, uri, jar, ip).await
        }
    }
}

/// Sets a sign-in attempt the service started (EAM, step-up) as the attempt cookie and sends
/// the browser to its first due step.
async fn run_attempt(
    state: &AppState,
    attempt_token: String,
    lang: Lang,
    uri: &Uri,
    jar: CookieJar,
    ip: &str,
) -> Response {
    let attempt = state.signin.attempt(&attempt_token).await;
    let jar = jar.add(cookies::build(
        cookies::ATTEMPT,
        attempt_token,
        state.secure_cookies,
    ));
    match attempt {
        Ok(Some(a)) => super::login::go_next(state, &a, jar, lang, uri, ip).await,
        Ok(None) => pages::attempt_gone(jar, lang, uri),
        Err(e) => pages::internal(lang, uri, &e),
    }
}

async fn eam_resume(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(issuer) = issuer(&state) else {
        return disabled();
    };
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let params = params_of(&query.unwrap_or_default()).unwrap_or_default();
    let token = jar.get(cookies::SESSION).map(|c| c.value().to_owned());
    let session = match &token {
        Some(t) => match state.signin.session(t).await {
            Ok(s) => s,
            Err(e) => return pages::internal(lang, &uri, &e),
        },
        None => None,
    };
    let ip = ip(&addr);
    let out = match state
        .oidc
        .eam_resume(&issuer, &params, session.as_ref(), Some(&ip))
        .await
    {
        Ok(o) => o,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    // The EAM sign-in's session served this one answer: end it.
    let jar = match (&out, token) {
        (EamOutcome::FormPost { .. }, Some(t)) if session.is_some() => {
            if let Err(e) = state.signin.sign_out(&t, Some(&ip)).await {
                return pages::internal(lang, &uri, &e);
            }
            jar.remove(cookies::removal(cookies::SESSION))
        }
        _ => jar,
    };
    eam_answer(&state, out, lang, &uri, jar, &ip).await
}

async fn eam_cancel(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    body: String,
) -> Response {
    if issuer(&state).is_none() {
        return disabled();
    }
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let form = params_of(&body).unwrap_or_default();
    let csrf = crate::oidc_service::single(&form, "csrf").unwrap_or("");
    if !super::csrf::valid(&jar, csrf) {
        return pages::forbidden(jar, lang, &uri);
    }
    let ip = ip(&addr);
    // The attempt in progress says which EAM request it serves (its return URL).
    let attempt = match super::login::current_attempt(&state, &jar).await {
        Ok(a) => a,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let pending = attempt.as_ref().and_then(|a| {
        a.return_to
            .strip_prefix(crate::eam_service::RESUME_PATH)
            .and_then(|q| q.strip_prefix('?'))
            .and_then(params_of)
    });
    let (Some(attempt), Some(pending)) = (attempt, pending) else {
        return pages::attempt_gone(jar, lang, &uri);
    };
    if let Err(e) = state.signin.store.finish_attempt(&attempt.id).await {
        return pages::internal(lang, &uri, &e);
    }
    match state.oidc.eam_cancel(&pending, Some(&ip)).await {
        Ok(out) => {
            let jar = jar.remove(cookies::removal(cookies::ATTEMPT));
            eam_answer(&state, out, lang, &uri, jar, &ip).await
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

// -- token, revocation, introspection -------------------------------------------------------

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn bad_body() -> Response {
    json_no_store(
        StatusCode::BAD_REQUEST,
        TokenError::new(
            passlogic_idp_core::oidc::error::ErrorCode::InvalidRequest,
            "the body is not application/x-www-form-urlencoded",
        )
        .to_json(),
    )
}

async fn token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Some(issuer) = issuer(&state) else {
        return disabled();
    };
    let Some(params) = params_of(&body) else {
        return bad_body();
    };
    let auth = authorization(&headers);
    match state
        .oidc
        .token(&issuer, auth.as_deref(), &params, Some(&ip(&addr)))
        .await
    {
        Ok(Ok(resp)) => match serde_json::to_value(&resp) {
            Ok(v) => json_no_store(StatusCode::OK, v),
            Err(e) => server_error_json(&e.into()),
        },
        Ok(Err(f)) => token_error(&f),
        Err(e) => server_error_json(&e),
    }
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Some(issuer) = issuer(&state) else {
        return disabled();
    };
    let Some(params) = params_of(&body) else {
        return bad_body();
    };
    let auth = authorization(&headers);
    match state
        .oidc
        .revoke(&issuer, auth.as_deref(), &params, Some(&ip(&addr)))
        .await
    {
        Ok(Ok(())) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], "").into_response(),
        Ok(Err(f)) => token_error(&f),
        Err(e) => server_error_json(&e),
    }
}

async fn introspect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Some(issuer) = issuer(&state) else {
        return disabled();
    };
    let Some(params) = params_of(&body) else {
        return bad_body();
    };
    let auth = authorization(&headers);
    match state
        .oidc
        .introspect(&issuer, auth.as_deref(), &params)
        .await
    {
        Ok(Ok(v)) => json_no_store(StatusCode::OK, v),
        Ok(Err(f)) => token_error(&f),
        Err(e) => server_error_json(&e),
    }
}

// -- userinfo -------------------------------------------------------------------------------

fn bearer_error(code: &str) -> Response {
    let mut res = json_no_store(StatusCode::UNAUTHORIZED, json!({ "error": code }));
    let value = if code == "invalid_request" {
        "Bearer realm=\"passlogic-idp\"".to_owned()
    } else {
        format!("Bearer realm=\"passlogic-idp\", error=\"{code}\"")
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

async fn userinfo(state: Arc<AppState>, bearer: Option<String>) -> Response {
    if issuer(&state).is_none() {
        return disabled();
    }
    let Some(token) = bearer else {
        return bearer_error("invalid_request");
    };
    match state.oidc.userinfo(&token).await {
        Ok(Some(v)) => json_no_store(StatusCode::OK, v),
        Ok(None) => bearer_error("invalid_token"),
        Err(e) => server_error_json(&e),
    }
}

fn bearer_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

async fn userinfo_get(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    userinfo(state, bearer_of(&headers)).await
}

async fn userinfo_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let from_body = params_of(&body)
        .and_then(|p| crate::oidc_service::single(&p, "access_token").map(str::to_owned));
    userinfo(state, bearer_of(&headers).or(from_body)).await
}

// -- logout -----------------------------------------------------------------------------------

async fn logout_get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    logout(state, addr, uri, headers, jar, query.unwrap_or_default()).await
}

async fn logout_post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    body: String,
) -> Response {
    logout(state, addr, uri, headers, jar, body).await
}

async fn logout(
    state: Arc<AppState>,
    addr: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    raw: String,
) -> Response {
    let Some(issuer) = issuer(&state) else {
        return disabled();
    };
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let Some(params) = params_of(&raw) else {
        return error_page(
            lang,
            &uri,
            jar,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request parameters are not form-encoded",
        );
    };
    let session = jar.get(cookies::SESSION).map(|c| c.value().to_owned());
    match state
        .oidc
        .logout(&issuer, &params, session.as_deref(), Some(&ip(&addr)))
        .await
    {
        Ok(LogoutOutcome::Refused(why)) => error_page(
            lang,
            &uri,
            jar,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &why,
        ),
        Ok(LogoutOutcome::Redirect(url)) => {
            let jar = jar.remove(cookies::removal(cookies::SESSION));
            (jar, Redirect::to(&url)).into_response()
        }
        Ok(LogoutOutcome::SignedOut) => {
            let jar = jar.remove(cookies::removal(cookies::SESSION));
            let t = lang.texts();
            pages::render(
                StatusCode::OK,
                jar,
                &SignedOutPage {
                    chrome: Chrome::new(lang, t.oidc_signed_out_title, &uri),
                    t,
                },
            )
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::csp_source;

    #[test]
    fn csp_sources() {
        assert_eq!(
            csp_source("https://rp.example:8443/cb?x=1").as_deref(),
            Some("https://rp.example:8443")
        );
        assert_eq!(
            csp_source("com.example.app:/cb").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(csp_source("https://a.example;/cb"), None);
        assert_eq!(csp_source("no-colon"), None);
    }
}
