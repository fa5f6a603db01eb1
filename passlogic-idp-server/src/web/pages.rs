//! Page templates (askama, compiled in) and what every page shares: language, title, the
//! language switch link.

use askama::Template;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use passlogic_idp_core::factor::matrix::{Grid, GridSpec, PatternRules};

use super::cookies;
use crate::i18n::{Lang, Texts};
use crate::signin::Refusal;

/// Chrome shared by every page.
pub struct Chrome {
    pub lang: &'static str,
    pub title: &'static str,
    pub switch_href: String,
}

/// Language of this request: `?lang=`, then the `pl_lang` cookie, then `Accept-Language`.
/// Returns the jar with the cookie set when `?lang=` chose one.
pub fn language(uri: &Uri, headers: &HeaderMap, jar: CookieJar, secure: bool) -> (CookieJar, Lang) {
    let from_query = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("lang="))
            .and_then(Lang::parse)
    });
    if let Some(lang) = from_query {
        let jar = jar.add(cookies::build(cookies::LANG, lang.tag().to_owned(), secure));
        return (jar, lang);
    }
    if let Some(lang) = jar.get(cookies::LANG).and_then(|c| Lang::parse(c.value())) {
        return (jar, lang);
    }
    let header = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (jar, Lang::from_accept_language(header))
}

impl Chrome {
    pub fn new(lang: Lang, title: &'static str, uri: &Uri) -> Chrome {
        let other = lang.texts().other_lang_code;
        let kept: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
            .collect();
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        Chrome {
            lang: lang.tag(),
            title,
            switch_href: format!("{}?{query}lang={other}", uri.path()),
        }
    }
}

/// One grid cell as the templates show it.
pub struct CellView {
    pub index: u16,
    pub digit: String,
    pub block_start: bool,
}

/// Rows of cells; `grid` supplies digits (sign-in) or `None` (pattern picker).
pub fn cell_rows(spec: &GridSpec, grid: Option<&Grid>) -> Vec<Vec<CellView>> {
    let cols = u16::from(spec.cols);
    let bw = u16::from(spec.block_width.max(1));
    (0..u16::from(spec.rows))
        .map(|r| {
            (0..cols)
                .map(|c| {
                    let index = r * cols + c;
                    CellView {
                        index,
                        digit: grid
                            .and_then(|g| g.digit(index))
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        block_start: c > 0 && c % bw == 0,
                    }
                })
                .collect()
        })
        .collect()
}

/// The message for a pattern that `rule` refuses (first sign-in and the portal's change page).
pub fn rule_rejection_text(
    t: &Texts,
    rule: &passlogic_idp_core::factor::matrix::PatternRejection,
) -> &'static str {
    use passlogic_idp_core::factor::matrix::PatternRejection;
    match rule {
        PatternRejection::TooShort { .. } => t.rule_too_short,
        PatternRejection::TooLong { .. } => t.rule_too_long,
        PatternRejection::CellOutOfRange { .. } => t.rule_out_of_range,
        PatternRejection::SingleStroke => t.rule_single_stroke,
        PatternRejection::BlockUnused { .. } => t.rule_block_unused,
        PatternRejection::StraightLine => t.rule_straight_line,
    }
}

/// Human-readable rules of a pattern policy.
pub fn rule_lines(t: &Texts, lang: Lang, rules: &PatternRules) -> Vec<String> {
    let mut out = vec![match lang {
        Lang::En => format!(
            "{} to {} cells; a cell may be used more than once.",
            rules.min_len, rules.max_len
        ),
        Lang::Ja => format!(
            "{}〜{}マス。同じマスを複数回使えます。",
            rules.min_len, rules.max_len
        ),
    }];
    if rules.forbid_single_stroke {
        out.push(t.rule_single_stroke.to_owned());
    }
    if rules.require_every_block {
        out.push(t.rule_block_unused.to_owned());
    }
    if rules.forbid_straight_line {
        out.push(t.rule_straight_line.to_owned());
    }
    out
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub return_to: String,
}

#[derive(Template)]
#[template(path = "matrix.html")]
pub struct MatrixPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub rows: Vec<Vec<CellView>>,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "pattern_setup.html")]
pub struct PatternSetupPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub rows: Vec<Vec<CellView>>,
    pub rules: Vec<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub user: String,
    pub display_name: String,
    pub amr: String,
    pub auth_time: String,
    /// The portal's service tiles.
    pub tiles: Vec<crate::portal::Tile>,
    pub has_pin: bool,
    pub has_totp: bool,
    pub has_bingo: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub message: &'static str,
}

/// Renders a page with a status; a template error becomes a plain 500.
pub fn render<T: Template>(status: StatusCode, jar: CookieJar, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, jar, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The 403 page for a missing or wrong CSRF token.
pub fn forbidden(jar: CookieJar, lang: Lang, uri: &Uri) -> Response {
    let t = lang.texts();
    render(
        StatusCode::FORBIDDEN,
        jar,
        &ErrorPage {
            chrome: Chrome::new(lang, t.error_title, uri),
            t,
            message: t.error_forbidden,
        },
    )
}

/// The 500 page; the cause goes to the log only.
pub fn internal(lang: Lang, uri: &Uri, err: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{err:#}"), "request failed");
    let t = lang.texts();
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        CookieJar::new(),
        &ErrorPage {
            chrome: Chrome::new(lang, t.error_title, uri),
            t,
            message: t.error_internal,
        },
    )
}

#[derive(Template)]
#[template(path = "choose.html")]
pub struct ChoosePage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub choices: Vec<String>,
}

#[derive(Template)]
#[template(path = "step.html")]
pub struct StepPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub title: &'static str,
    pub help: &'static str,
    pub label: &'static str,
    pub action: String,
    pub failed: bool,
    pub secret_field: bool,
    pub numeric: bool,
    /// An Entra EAM sign-in: offer to cancel (Entra then gets `access_denied`); the label.
    pub eam_cancel: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "enrol_app.html")]
pub struct EnrolAppPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub action: String,
    pub bingo: bool,
    pub qr_svg: String,
    pub secret: String,
    pub secret_grouped: String,
    pub uri: String,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "enrol_pin.html")]
pub struct EnrolPinPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub heading: &'static str,
    pub code: &'static str,
    pub message: &'static str,
    pub link: &'static str,
    pub link_text: &'static str,
}

/// 409: a step's form posted while another step is due. Nothing was checked or changed.
pub fn out_of_order(jar: CookieJar, lang: Lang, uri: &Uri) -> Response {
    let t = lang.texts();
    let page = NoticePage {
        chrome: Chrome::new(lang, t.error_title, uri),
        t,
        heading: t.error_title,
        code: "out-of-order",
        message: t.out_of_order,
        link: "/login/matrix",
        link_text: t.continue_sign_in,
    };
    render(StatusCode::CONFLICT, jar, &page)
}

/// 403: the sign-in cannot continue, with what the user should do.
pub fn refused(jar: CookieJar, lang: Lang, uri: &Uri, why: Refusal) -> Response {
    let t = lang.texts();
    let (code, message) = match why {
        Refusal::NoUsableCombination => ("no-usable-combination", t.refused_no_combination),
        Refusal::TokenNotAssigned => ("token-not-assigned", t.refused_no_token),
    };
    let page = NoticePage {
        chrome: Chrome::new(lang, t.error_title, uri),
        t,
        heading: t.error_title,
        code,
        message,
        link: "/login",
        link_text: t.back_to_sign_in,
    };
    render(StatusCode::FORBIDDEN, jar, &page)
}

/// 401: an answer arrived for a sign-in that has ended (finished, expired, or never started).
pub fn attempt_gone(jar: CookieJar, lang: Lang, uri: &Uri) -> Response {
    let t = lang.texts();
    let page = NoticePage {
        chrome: Chrome::new(lang, t.error_title, uri),
        t,
        heading: t.error_title,
        code: "attempt-ended",
        message: t.attempt_ended,
        link: "/login",
        link_text: t.back_to_sign_in,
    };
    render(StatusCode::UNAUTHORIZED, jar, &page)
}

#[derive(Template)]
#[template(path = "account_pin.html")]
pub struct AccountPinPage {
    pub chrome: Chrome,
    pub t: &'static Texts,
    pub csrf: String,
    pub has_pin: bool,
    pub done: bool,
    pub error: Option<String>,
}
