//! The first sign-in guides (`GET /guide/{method}`, public) and their pictures
//! (`GET /static/guide/{file}`); content in [`crate::guides`].

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::pages::{self, Chrome};
use super::AppState;
use crate::guides::{self, GuideMethod};
use crate::i18n::Texts;

/// One step as the template shows it.
struct StepView {
    title: &'static str,
    text: &'static str,
    picture: &'static str,
    alt: &'static str,
}

#[derive(Template)]
#[template(path = "guide.html")]
struct GuidePage {
    chrome: Chrome,
    t: &'static Texts,
    name: &'static str,
    summary: &'static str,
    user: Option<String>,
    guide: Option<Vec<StepView>>,
    others: Vec<(String, &'static str)>,
}

#[derive(Deserialize)]
pub struct GuideQuery {
    user: Option<String>,
}

/// `GET /guide/{method}?lang=en|ja&user=NAME`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    Path(method): Path<String>,
    Query(q): Query<GuideQuery>,
    uri: Uri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (jar, lang) = pages::language(&uri, &headers, jar, state.secure_cookies);
    let t = lang.texts();
    let found = GuideMethod::parse(&method);
    let others = GuideMethod::ALL
        .into_iter()
        .filter(|m| Some(*m) != found)
        .map(|m| {
            (
                format!("/guide/{}?lang={}", m.as_str(), lang.tag()),
                m.guide().name.get(lang),
            )
        })
        .collect();
    let page = match found {
        Some(m) => {
            let g = m.guide();
            GuidePage {
                chrome: Chrome::new(lang, t.guide_title, &uri),
                t,
                name: g.name.get(lang),
                summary: g.summary.get(lang),
                user: q
                    .user
                    .as_deref()
                    .map(guides::clean_user)
                    .filter(|u| !u.is_empty()),
                guide: Some(
                    g.steps
                        .iter()
                        .map(|s| StepView {
                            title: s.title.get(lang),
                            text: s.text.get(lang),
                            picture: s.picture,
                            alt: s.alt.get(lang),
                        })
                        .collect(),
                ),
                others,
            }
        }
        None => GuidePage {
            chrome: Chrome::new(lang, t.guide_not_found_title, &uri),
            t,
            name: "",
            summary: "",
            user: None,
            guide: None,
            others,
        },
    };
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    pages::render(status, jar, &page)
}

/// `GET /static/guide/{file}`: a compiled-in illustration.
pub async fn picture(Path(file): Path<String>) -> Response {
    match guides::picture(&file) {
        Some(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            svg,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}
