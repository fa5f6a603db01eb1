//! The client-certificate sign-in step (`/login/client_certificate`, no input: the TLS
//! connection's certificate, or a trusted proxy's header, is the answer) and the single-use
//! download of an automatically issued certificate (`/login/client_certificate/download`).
//! The decisions are in [`crate::client_cert`].

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use axum_extra::extract::CookieJar;
use passlogic_idp_core::pipeline::Method;
use serde::Deserialize;
use serde_json::json;

use super::login::{continue_after_step, current_attempt, go_next, ip};
use super::pages::{self, Chrome, NoticePage};
use super::{cookies, AppState};
use crate::client_cert::{parse_header_cert, CertRefusal, CertStepOutcome, PeerCertificate};
use crate::i18n::Texts;

static CLIENT_CERT_HEADER: OnceLock<axum::http::HeaderName> = OnceLock::new();

/// Sets the proxy's client-certificate header name (`serve --client-cert-header`), once.
pub fn set_client_cert_header(name: &str) -> anyhow::Result<()> {
    let name = axum::http::HeaderName::try_from(name.trim())
        .map_err(|e| anyhow::anyhow!("--client-cert-header {name}: {e}"))?;
    let _ = CLIENT_CERT_HEADER.set(name);
    Ok(())
}

fn refusal_text(t: &'static Texts, r: CertRefusal) -> &'static str {
    match r {
        CertRefusal::Missing => t.cert_missing,
        CertRefusal::Untrusted => t.cert_untrusted,
        CertRefusal::Expired => t.cert_expired,
        CertRefusal::Revoked => t.cert_revoked,
        CertRefusal::OtherUser => t.cert_other_user,
    }
}

#[derive(Template)]
#[template(path = "cert_issued.html")]
struct IssuedPage {
    chrome: Chrome,
    t: &'static Texts,
    serial: String,
    password: String,
    download: String,
}

/// The certificate a request carries: the TLS connection's, else the configured proxy header
/// when the socket peer is a trusted proxy. A header from anyone else is ignored and audited.
async fn presented_certificate(
    state: &AppState,
    tls: Option<&PeerCertificate>,
    peer: &SocketAddr,
    headers: &HeaderMap,
    login_name: &str,
) -> Option<Vec<u8>> {
    if let Some(der) = tls.and_then(|c| c.0.clone()) {
        return Some(der);
    }
    let name = CLIENT_CERT_HEADER.get()?;
    let value = headers.get(name)?;
    if !passlogic_idp_core::policy::ip::any_contains(&state.trusted_proxies, peer.ip()) {
        let s = &state.signin;
        s.audit(s.audit_event(
            "anonymous",
            "cert.header_ignored",
            login_name,
            "failure",
            json!({ "reason": "untrusted_peer", "header": name.as_str() }),
            Some(&peer.ip().to_string()),
        ))
        .await;
        return None;
    }
    // An empty header is no certificate (the proxy had none to pass). A header that is present
    // but not a certificate counts as an untrusted certificate, not as none: hand the step
    // bytes that fail verification.
    if value.as_bytes().iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(
        value
            .to_str()
            .ok()
            .and_then(parse_header_cert)
            .unwrap_or_default(),
    )
}

/// `GET /login/client_certificate`: takes the step with the presented certificate.
pub async fn step(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    tls: Option<Extension<PeerCertificate>>,
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
    if state.signin.due(&attempt) != Some(Method::ClientCertificate) {
        return go_next(&state, &attempt, jar, lang, &uri, &ip).await;
    }
    let presented = presented_certificate(
        &state,
        tls.as_ref().map(|e| &e.0),
        &addr,
        &headers,
        &attempt.login_name,
    )
    .await;
    let outcome = state
        .signin
        .answer_client_certificate(&attempt, presented.as_deref(), Some(&ip))
        .await;
    let t = lang.texts();
    match outcome {
        Ok(CertStepOutcome::Passed | CertStepOutcome::OutOfOrder) => {
            continue_after_step(&state, jar, lang, &uri, &ip).await
        }
        Ok(CertStepOutcome::Refused(r)) => {
            let page = NoticePage {
                chrome: Chrome::new(lang, t.error_title, &uri),
                t,
                heading: t.error_title,
                code: r.code(),
                message: refusal_text(t, r),
                link: "/login",
                link_text: t.back_to_sign_in,
            };
            pages::render(
                StatusCode::FORBIDDEN,
                jar.remove(cookies::removal(cookies::ATTEMPT)),
                &page,
            )
        }
        Ok(CertStepOutcome::AutoIssued {
            serial,
            password,
            token,
        }) => {
            let page = IssuedPage {
                chrome: Chrome::new(lang, t.cert_issued_title, &uri),
                t,
                serial,
                password,
                download: format!("/login/client_certificate/download?token={token}"),
            };
            pages::render(
                StatusCode::OK,
                jar.remove(cookies::removal(cookies::ATTEMPT)),
                &page,
            )
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

#[derive(Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    token: String,
}

/// `GET /login/client_certificate/download?token=...`: the PKCS#12, once.
pub async fn download(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(q): Query<DownloadQuery>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let ip = ip(&addr);
    match state.signin.take_cert_download(&q.token, Some(&ip)).await {
        Ok(Some((serial, p12))) => {
            let mut res = (StatusCode::OK, p12).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pkcs12"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{serial}.p12\""))
            {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Ok(None) => {
            let t = lang.texts();
            let page = NoticePage {
                chrome: Chrome::new(lang, t.error_title, &uri),
                t,
                heading: t.error_title,
                code: "cert-download-gone",
                message: t.cert_download_gone,
                link: "/login",
                link_text: t.back_to_sign_in,
            };
            pages::render(StatusCode::GONE, jar, &page)
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}

#[derive(Template)]
#[template(path = "account_certificates.html")]
struct AccountCertificatesPage {
    chrome: Chrome,
    t: &'static Texts,
    csrf: String,
    /// (serial, valid until, active)
    certs: Vec<(String, String, bool)>,
}

/// `GET /account/certificates`: the signed-in user's own certificates (read only: issuing and
/// revoking are the administrator's, by the console, the API or the CLI).
pub async fn account_page(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let session = match super::session::current_session(&state, &jar).await {
        Ok(Some(s)) => s,
        Ok(None) => return super::session::to_login(&uri),
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let certs = match state
        .signin
        .store
        .client_certs(state.signin.tenant_id, Some(session.user_id))
        .await
    {
        Ok(c) => c,
        Err(e) => return pages::internal(lang, &uri, &e),
    };
    let now = state.signin.clock.unix();
    let (jar, csrf) = super::csrf::ensure(jar, state.secure_cookies);
    let t = lang.texts();
    let page = AccountCertificatesPage {
        chrome: Chrome::new(lang, t.sec_certs, &uri),
        t,
        csrf,
        certs: certs
            .into_iter()
            .map(|c| {
                let until = time::OffsetDateTime::from_unix_timestamp(c.not_after)
                    .map(|d| d.date().to_string())
                    .unwrap_or_default();
                (c.serial, until, c.revoked_at.is_none() && c.not_after > now)
            })
            .collect(),
    };
    pages::render(StatusCode::OK, jar, &page)
}
