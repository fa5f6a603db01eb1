//! The page a user sees when the access policy refuses a service: 403, in their language,
//! saying what happened without naming the rule (the audit trail has the explanation).

use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum_extra::extract::CookieJar;

use super::pages::{self, Chrome, NoticePage};
use crate::access::denial_message;
use crate::i18n::Lang;

/// Renders the denial for a `deny.*` (or `step_up`) message key.
pub fn access_denied(jar: CookieJar, lang: Lang, uri: &Uri, key: &str) -> Response {
    let (title, message) = denial_message(lang, key);
    let t = lang.texts();
    pages::render(
        StatusCode::FORBIDDEN,
        jar,
        &NoticePage {
            chrome: Chrome::new(lang, title, uri),
            t,
            heading: title,
            code: denial_code(key),
            message,
            link: "/",
            link_text: t.back,
        },
    )
}

/// The page's `data-error` value (a stable hook for tests and support): the key itself.
fn denial_code(key: &str) -> &'static str {
    match key {
        "deny.disabled" => "deny.disabled",
        "deny.not_yet_valid" => "deny.not_yet_valid",
        "deny.expired" => "deny.expired",
        "deny.service" => "deny.service",
        "deny.ip" => "deny.ip",
        "deny.time" => "deny.time",
        "deny.device" => "deny.device",
        "step_up" => "step_up",
        _ => "deny.policy",
    }
}
