//! Stylesheet and script, compiled into the binary.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/pattern.js");
const AUTOSUBMIT_JS: &str = include_str!("../../static/autosubmit.js");
const AUTHENTICATOR_HTML: &str = include_str!("../../static/authenticator.html");
const AUTHENTICATOR_JS: &str = include_str!("../../static/authenticator.js");

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}

/// Submits the page's form on load (OIDC form_post and SAML HTTP-POST responses), so those
/// pages need no inline script under the strict CSP.
pub async fn autosubmit_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        AUTOSUBMIT_JS,
    )
}

/// The offline reference authenticator page (`GET /authenticator`).
pub async fn authenticator_page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        AUTHENTICATOR_HTML,
    )
}

/// Its script (TOTP with WebCrypto, bingo rendering).
pub async fn authenticator_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        AUTHENTICATOR_JS,
    )
}

// Passkeys (WebAuthn).
const PASSKEY_JS: &str = include_str!("../../static/passkey.js");

/// The passkey pages' script (navigator.credentials.create/get).
pub async fn passkey_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PASSKEY_JS,
    )
}
