//! Cookie names and flags in one place.
//!
//! The session cookie may be shared with the apps behind forward authentication: with
//! `serve --cookie-domain DOMAIN` it carries `Domain=DOMAIN` (set once at start-up with
//! [`set_session_domain`]), so the browser sends it to every host under DOMAIN and the reverse
//! proxy can pass it to `GET /auth/forward`. Every other cookie stays host-only.

use std::sync::OnceLock;

use axum_extra::extract::cookie::{Cookie, SameSite};

/// Double-submit CSRF token.
pub const CSRF: &str = "pl_csrf";
/// Sign-in in progress.
pub const ATTEMPT: &str = "pl_attempt";
/// Signed-in session.
pub const SESSION: &str = "pl_session";
/// Chosen page language.
pub const LANG: &str = "pl_lang";

static SESSION_DOMAIN: OnceLock<String> = OnceLock::new();

/// Sets the parent domain of the session cookie (once, at start-up); `false` if already set.
pub fn set_session_domain(domain: &str) -> bool {
    SESSION_DOMAIN
        .set(domain.trim().trim_start_matches('.').to_ascii_lowercase())
        .is_ok()
}

fn domain_of(name: &str) -> Option<&'static str> {
    (name == SESSION)
        .then(|| SESSION_DOMAIN.get().map(String::as_str))
        .flatten()
}

/// An `HttpOnly`, `SameSite=Lax` cookie for the whole site; `Secure` over https. Host-only,
/// except the session cookie when a cookie domain is configured.
pub fn build(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build();
    if let Some(d) = domain_of(name) {
        c.set_domain(d);
    }
    c
}

/// A cookie that deletes `name` (with the same domain it was set with).
pub fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::build((name, "")).path("/").build();
    if let Some(d) = domain_of(name) {
        c.set_domain(d);
    }
    c
}

/// A pending authenticator-app enrolment of the portal (sealed secret, see `crate::portal`).
pub const ENROL_TOTP: &str = "pl_enrol_totp";
/// A pending bingo enrolment of the portal.
pub const ENROL_BINGO: &str = "pl_enrol_bingo";
