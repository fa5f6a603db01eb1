//! The console's first sign-in guides: choose a method, optionally a user and a language, and
//! get the URL of the step-by-step guide page (`guides::guide_url`) to paste into a welcome
//! e-mail. A GET form: nothing changes, so there is nothing to audit or protect with CSRF.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::layout::{texts, ConsoleChrome, Section};
use super::Admin;
use crate::guides::{guide_url, GuideMethod, MAX_USER};
use crate::i18n::console::ConsoleTexts;
use crate::i18n::{Lang, Texts};
use crate::web::pages::render;
use crate::web::AppState;

/// The form. The language field is `guide_lang` because `lang` switches the console's own
/// language.
#[derive(Deserialize, Default)]
pub struct GuideQuery {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    user: String,
    #[serde(default)]
    guide_lang: String,
}

#[derive(Template)]
#[template(path = "console/guides.html")]
struct GuidesPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    methods: Vec<(&'static str, &'static str)>,
    method: String,
    user: String,
    guide_lang: String,
    url: Option<String>,
    error: Option<&'static str>,
}

fn method_label(c: &'static ConsoleTexts, m: &str) -> &'static str {
    match m {
        "matrix" => c.gd_matrix,
        "pin" => c.gd_pin,
        "totp" => c.gd_totp,
        "bingo" => c.gd_bingo,
        "hardware_token" => c.gd_hardware_token,
        "client_certificate" => c.gd_client_certificate,
        "device_cookie" => c.gd_device_cookie,
        "login_protect" => c.gd_login_protect,
        "passkey" => c.gd_passkey,
        _ => c.gd_biometric,
    }
}

/// `GET /console/guides?method=&user=&guide_lang=`
pub async fn page(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(q): Query<GuideQuery>,
) -> Response {
    let (t, c) = texts(&admin);
    let guide_lang = match q.guide_lang.as_str() {
        "en" | "ja" => q.guide_lang.clone(),
        _ => match admin.lang {
            Lang::Ja => "ja".to_owned(),
            _ => "en".to_owned(),
        },
    };
    let user = q.user.trim().to_owned();
    let (url, error) = match q.method.as_deref() {
        None => (None, None),
        Some(m) if GuideMethod::parse(m).is_none() => (None, Some(c.gd_err_method)),
        Some(_) if user.chars().count() > MAX_USER || user.chars().any(char::is_control) => {
            (None, Some(c.gd_err_user))
        }
        Some(m) => match GuideMethod::parse(m) {
            Some(method) => (
                Some(guide_url(
                    &state.forward.public_url,
                    method,
                    Lang::parse(&guide_lang).unwrap_or(Lang::En),
                    Some(user.as_str()).filter(|u| !u.is_empty()),
                )),
                None,
            ),
            None => (None, Some(c.gd_err_method)),
        },
    };
    let page = GuidesPage {
        chrome: ConsoleChrome::new(&admin, Section::Guides, c.gd_title),
        t,
        c,
        methods: GuideMethod::ALL
            .iter()
            .map(|m| (m.as_str(), method_label(c, m.as_str())))
            .collect(),
        method: q.method.unwrap_or_default(),
        user,
        guide_lang,
        url,
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(status, admin.jar, &page)
}
