//! CSRF protection by double submit: a random token in the `pl_csrf` cookie must come back in
//! the form's `csrf` field. A cross-site form cannot read the cookie, and `SameSite=Lax` keeps
//! the browser from sending it on a cross-site POST at all.

use axum_extra::extract::CookieJar;
use subtle::ConstantTimeEq;

use super::cookies;
use crate::tokens::new_token;

/// The jar's CSRF token, minting one (and adding its cookie) when missing.
pub fn ensure(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(c) = jar.get(cookies::CSRF) {
        if !c.value().is_empty() {
            let v = c.value().to_owned();
            return (jar, v);
        }
    }
    let token = new_token();
    let jar = jar.add(cookies::build(cookies::CSRF, token.clone(), secure));
    (jar, token)
}

/// Whether the submitted field matches the cookie (constant time).
pub fn valid(jar: &CookieJar, submitted: &str) -> bool {
    match jar.get(cookies::CSRF) {
        Some(c) if !c.value().is_empty() && !submitted.is_empty() => {
            bool::from(c.value().as_bytes().ct_eq(submitted.as_bytes()))
        }
        _ => false,
    }
}
