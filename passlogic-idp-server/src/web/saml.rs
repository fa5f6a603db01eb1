//! SAML 2.0 identity provider endpoints. Thin: parse the request, call
//! [`crate::saml_service::SamlService`], answer with the HTTP-POST binding page, a redirect to
//! the sign-in, or an error page.
//!
//! | route | |
//! |---|---|
//! | `GET /saml/metadata` | signed IdP metadata (entity ID = this URL) |
//! | `GET, POST /saml/sso` | AuthnRequest by HTTP-Redirect or HTTP-POST |
//! | `GET /saml/resume?id=...` | continues a request after the sign-in (once) |
//! | `GET /saml/idp-init?sp=ENTITY_ID[&RelayState=...]` | IdP-initiated (unsolicited) Response |
//! | `GET, POST /saml/slo` | single logout: an SP's LogoutRequest, or its LogoutResponse to ours |

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::CookieJar;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use passlogic_idp_core::oidc::types::{form_urlencode, parse_form};

use super::pages::{self, Chrome};
use super::{cookies, AppState};
use crate::i18n::{Lang, Texts};
use crate::saml_service::logout::SloOutcome;
use crate::saml_service::SsoOutcome;
use crate::store::SessionRow;

/// Routes under `/saml/...`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/saml/metadata", get(metadata))
        .route("/saml/sso", get(sso_get).post(sso_post))
        .route("/saml/resume", get(resume))
        .route("/saml/idp-init", get(idp_init))
        .route("/saml/slo", get(slo_get).post(slo_post))
}

#[derive(Template)]
#[template(path = "saml_error.html")]
struct SamlErrorPage {
    chrome: Chrome,
    t: &'static Texts,
    description: String,
}

#[derive(Template)]
#[template(path = "saml_post.html")]
struct PostPage {
    chrome: Chrome,
    t: &'static Texts,
    action: String,
    fields: Vec<(String, String)>,
}

fn error_page(lang: Lang, uri: &Uri, jar: CookieJar, description: &str) -> Response {
    let t = lang.texts();
    pages::render(
        StatusCode::BAD_REQUEST,
        jar,
        &SamlErrorPage {
            chrome: Chrome::new(lang, t.error_title, uri),
            t,
            description: description.to_owned(),
        },
    )
}

/// The `form-action` source for an ACS URL: its origin. `None` if it is not http(s) or holds
/// characters that cannot appear in a CSP source expression.
fn csp_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let source = format!("{scheme}://{authority}");
    (!authority.is_empty()
        && source
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'\'' | b'"')))
    .then_some(source)
}

async fn metadata(State(state): State<Arc<AppState>>, uri: Uri, headers: HeaderMap) -> Response {
    match state.saml.metadata().await {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(e) => {
            let (_, lang) = pages::language(&uri, &headers, CookieJar::new(), false);
            pages::internal(lang, &uri, &e)
        }
    }
}

async fn session_of(state: &AppState, jar: &CookieJar) -> anyhow::Result<Option<SessionRow>> {
    match jar.get(cookies::SESSION) {
        Some(c) => state.signin.session(c.value()).await,
        None => Ok(None),
    }
}

fn answer(outcome: anyhow::Result<SsoOutcome>, lang: Lang, uri: &Uri, jar: CookieJar) -> Response {
    match outcome {
        Ok(SsoOutcome::Page(reason)) => error_page(lang, uri, jar, &reason),
        Ok(SsoOutcome::Login { return_to }) => (
            jar,
            Redirect::to(&format!("/login?return_to={}", form_urlencode(&return_to))),
        )
            .into_response(),
        Ok(SsoOutcome::Redirect(to)) => (jar, Redirect::to(&to)).into_response(),
        Ok(SsoOutcome::Denied(key)) => super::access_denied(jar, lang, uri, key),
        Ok(SsoOutcome::Post(r)) => {
            let mut fields = vec![("SAMLResponse".to_owned(), STANDARD.encode(r.xml.as_bytes()))];
            if let Some(rs) = r.relay_state {
                fields.push(("RelayState".to_owned(), rs));
            }
            auto_post(lang, uri, jar, r.acs_url, fields)
        }
        Err(e) => pages::internal(lang, uri, &e),
    }
}

/// The HTTP-POST binding page: `form[data-autosubmit]` posting `fields` to `action`, with a CSP
/// whose `form-action` is the action's origin.
fn auto_post(
    lang: Lang,
    uri: &Uri,
    jar: CookieJar,
    action: String,
    fields: Vec<(String, String)>,
) -> Response {
    let Some(origin) = csp_origin(&action) else {
        return error_page(lang, uri, jar, "the ACS URL cannot receive a form");
    };
    let t = lang.texts();
    let mut res = pages::render(
        StatusCode::OK,
        jar,
        &PostPage {
            chrome: Chrome::new(lang, t.oidc_continue, uri),
            t,
            action,
            fields,
        },
    );
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action {origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Turns a single-logout step into a response (also used by the sign-out).
pub fn slo_answer(
    outcome: anyhow::Result<SloOutcome>,
    lang: Lang,
    uri: &Uri,
    jar: CookieJar,
) -> Response {
    match outcome {
        Ok(SloOutcome::Page(reason)) => error_page(lang, uri, jar, &reason),
        Ok(SloOutcome::Redirect(url)) => (jar, Redirect::to(&url)).into_response(),
        Ok(SloOutcome::Post {
            url,
            field,
            xml,
            relay_state,
        }) => {
            let mut fields = vec![(field.to_owned(), STANDARD.encode(xml.as_bytes()))];
            if let Some(rs) = relay_state {
                fields.push(("RelayState".to_owned(), rs));
            }
            auto_post(lang, uri, jar, url, fields)
        }
        Ok(SloOutcome::Done) => (jar, Redirect::to("/login")).into_response(),
        Err(e) => pages::internal(lang, uri, &e),
    }
}

async fn slo_get(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    slo(state, uri, headers, jar, query.unwrap_or_default(), false).await
}

async fn slo_post(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    body: String,
) -> Response {
    slo(state, uri, headers, jar, body, true).await
}

async fn slo(
    state: Arc<AppState>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    raw: String,
    post: bool,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let session = match session_of(&state, &jar).await {
        Ok(s) => s,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let outcome = state.saml.slo(&raw, post).await;
    // The browser's own session was among those the LogoutRequest ended: drop its cookie.
    let jar = match &session {
        Some(s) if !matches!(state.saml.session_alive(s).await, Ok(true)) => {
            jar.remove(cookies::removal(cookies::SESSION))
        }
        _ => jar,
    };
    slo_answer(outcome, lang, &uri, jar)
}

async fn sso_get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    sso(
        state,
        addr,
        uri,
        headers,
        jar,
        query.unwrap_or_default(),
        false,
    )
    .await
}

async fn sso_post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    body: String,
) -> Response {
    sso(state, addr, uri, headers, jar, body, true).await
}

async fn sso(
    state: Arc<AppState>,
    addr: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    raw: String,
    post: bool,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let session = match session_of(&state, &jar).await {
        Ok(s) => s,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let ip = super::client_ip(&state, addr, &headers).to_string();
    let outcome = state.saml.sso(&raw, post, session, Some(&ip)).await;
    answer(outcome, lang, &uri, jar)
}

async fn resume(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let params = parse_form(query.as_deref().unwrap_or("")).unwrap_or_default();
    let Some(id) = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
    else {
        return error_page(lang, &uri, jar, "missing id");
    };
    let session = match session_of(&state, &jar).await {
        Ok(s) => s,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let ip = super::client_ip(&state, addr, &headers).to_string();
    let outcome = state.saml.resume(&id, session, Some(&ip)).await;
    answer(outcome, lang, &uri, jar)
}

async fn idp_init(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let raw = query.unwrap_or_default();
    let Some(params) = parse_form(&raw) else {
        return error_page(lang, &uri, jar, "the parameters are not form-encoded");
    };
    let one = |name: &str| {
        let mut it = params.iter().filter(|(k, _)| k == name);
        match (it.next(), it.next()) {
            (Some((_, v)), None) => Ok(Some(v.clone())),
            (None, _) => Ok(None),
            _ => Err(()),
        }
    };
    let (Ok(Some(sp)), Ok(relay_state)) = (one("sp"), one("RelayState")) else {
        return error_page(lang, &uri, jar, "exactly one sp parameter is required");
    };
    let session = match session_of(&state, &jar).await {
        Ok(s) => s,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let mut kept: Vec<String> = vec![format!("sp={}", form_urlencode(&sp))];
    if let Some(r) = &relay_state {
        kept.push(format!("RelayState={}", form_urlencode(r)));
    }
    let return_to = format!("/saml/idp-init?{}", kept.join("&"));
    if return_to.len() > 2048 {
        return error_page(
            lang,
            &uri,
            jar,
            "the request is too long to resume after sign-in",
        );
    }
    let ip = super::client_ip(&state, addr, &headers).to_string();
    let outcome = state
        .saml
        .idp_initiated(&sp, relay_state, session, &return_to, Some(&ip))
        .await;
    answer(outcome, lang, &uri, jar)
}
