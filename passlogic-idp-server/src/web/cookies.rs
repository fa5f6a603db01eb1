//! Cookie names and flags in one place.

use axum_extra::extract::cookie::{Cookie, SameSite};

/// Double-submit CSRF token.
pub const CSRF: &str = "pl_csrf";
/// Sign-in in progress.
pub const ATTEMPT: &str = "pl_attempt";
/// Signed-in session.
pub const SESSION: &str = "pl_session";
/// Chosen page language.
pub const LANG: &str = "pl_lang";

/// A host-only, `HttpOnly`, `SameSite=Lax` cookie for the whole site; `Secure` over https.
pub fn build(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// A cookie that deletes `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build((name, "")).path("/").build()
}
