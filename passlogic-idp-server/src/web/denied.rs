//! The page a user sees when the access policy refuses a service: 403, in their language,
//! saying what happened without naming the rule (the audit trail has the explanation).

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum_extra::extract::CookieJar;

use super::pages::{self, Chrome, ErrorPage};
use crate::access::denial_message;

/// Renders the denial for a `deny.*` (or `step_up`) message key.
pub fn access_denied(
    uri: &Uri,
    headers: &HeaderMap,
    jar: CookieJar,
    secure: bool,
    key: &str,
) -> Response {
    let (jar, lang) = pages::language(uri, headers, jar, secure);
    let (title, message) = denial_message(lang, key);
    pages::render(
        StatusCode::FORBIDDEN,
        jar,
        &ErrorPage {
            chrome: Chrome::new(lang, title, uri),
            t: lang.texts(),
            message,
        },
    )
}
