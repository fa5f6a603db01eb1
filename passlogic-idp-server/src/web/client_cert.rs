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
use crate::i18n::{Lang, Texts};

static CLIENT_CERT_HEADER: OnceLock<axum::http::HeaderName> = OnceLock::new();

/// Sets the proxy's client-certificate header name (`serve --client-cert-header`), once.
pub fn set_client_cert_header(name: &str) -> anyhow::Result<()> {
    let name = axum::http::HeaderName::try_from(name.trim())
        .map_err(|e| anyhow::anyhow!("--client-cert-header {name}: {e}"))?;
    let _ = CLIENT_CERT_HEADER.set(name);
    Ok(())
}

/// This step's texts (kept beside the page; both languages have every field by construction).
#[derive(Debug)]
pub struct CertTexts {
    pub missing: &'static str,
    pub untrusted: &'static str,
    pub expired: &'static str,
    pub revoked: &'static str,
    pub other_user: &'static str,
    pub issued_title: &'static str,
    pub issued_intro: &'static str,
    pub serial: &'static str,
    pub password: &'static str,
    pub password_once: &'static str,
    pub download: &'static str,
    pub step_install: &'static str,
    pub step_again: &'static str,
    pub download_gone: &'static str,
}

const EN: CertTexts = CertTexts {
    missing: "No client certificate was presented. Sign in from a device where your \
              certificate is installed, and choose it when the browser asks.",
    untrusted: "The client certificate was not issued by this service (or is not for signing \
                in). Use the certificate your administrator gave you.",
    expired: "Your client certificate has expired (or is not valid yet). Ask your administrator \
              for a new one.",
    revoked: "Your client certificate has been revoked. Ask your administrator for a new one.",
    other_user: "This client certificate belongs to another user. Sign in with your own \
                 certificate.",
    issued_title: "Your client certificate",
    issued_intro: "This account signs in with a client certificate, and one has just been \
                   issued for you. Download it and install it on this device.",
    serial: "Serial number",
    password: "Password of the file",
    password_once: "Write the password down now: it is shown only this once, and the download \
                    works once within 10 minutes.",
    download: "Download the certificate (.p12)",
    step_install: "Open the downloaded file and install it (Windows: Certificate Import Wizard; \
                   macOS: Keychain; Firefox: Settings, View Certificates, Import), typing the \
                   password above.",
    step_again: "Sign in again and choose the certificate when the browser asks.",
    download_gone: "This download link was used before, has expired, or is unknown. Ask your \
                    administrator for a certificate.",
};

const JA: CertTexts = CertTexts {
    missing: "クライアント証明書が提示されませんでした。証明書をインストールした端末からサインインし、\
              ブラウザーが尋ねたら証明書を選んでください。",
    untrusted: "このクライアント証明書は本サービスが発行したもの (またはサインイン用) ではありません。\
                管理者から受け取った証明書を使ってください。",
    expired: "クライアント証明書の有効期限が切れています (またはまだ有効ではありません)。\
              管理者に新しい証明書を依頼してください。",
    revoked: "クライアント証明書は失効しています。管理者に新しい証明書を依頼してください。",
    other_user: "このクライアント証明書は別のユーザーのものです。ご自分の証明書でサインインしてください。",
    issued_title: "クライアント証明書",
    issued_intro: "このアカウントはクライアント証明書でサインインします。証明書を発行しました。\
                   ダウンロードしてこの端末にインストールしてください。",
    serial: "シリアル番号",
    password: "ファイルのパスワード",
    password_once: "パスワードを今すぐ控えてください。表示は一度だけで、ダウンロードは 10 分以内に一度だけ可能です。",
    download: "証明書 (.p12) をダウンロード",
    step_install: "ダウンロードしたファイルを開いてインストールし (Windows: 証明書のインポート ウィザード、\
                   macOS: キーチェーン、Firefox: 設定 → 証明書を表示 → インポート)、上記のパスワードを入力します。",
    step_again: "もう一度サインインし、ブラウザーが尋ねたら証明書を選びます。",
    download_gone: "このダウンロード リンクは使用済み、期限切れ、または不明です。管理者に証明書を依頼してください。",
};

fn texts(lang: Lang) -> &'static CertTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

fn refusal_text(c: &'static CertTexts, r: CertRefusal) -> &'static str {
    match r {
        CertRefusal::Missing => c.missing,
        CertRefusal::Untrusted => c.untrusted,
        CertRefusal::Expired => c.expired,
        CertRefusal::Revoked => c.revoked,
        CertRefusal::OtherUser => c.other_user,
    }
}

#[derive(Template)]
#[template(path = "cert_issued.html")]
struct IssuedPage {
    chrome: Chrome,
    t: &'static Texts,
    c: &'static CertTexts,
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
    // A header that is present but not a certificate counts as an untrusted certificate,
    // not as none: hand the step bytes that fail verification.
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
    let c = texts(lang);
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
                message: refusal_text(c, r),
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
                chrome: Chrome::new(lang, c.issued_title, &uri),
                t,
                c,
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
                message: texts(lang).download_gone,
                link: "/login",
                link_text: t.back_to_sign_in,
            };
            pages::render(StatusCode::GONE, jar, &page)
        }
        Err(e) => pages::internal(lang, &uri, &e),
    }
}
