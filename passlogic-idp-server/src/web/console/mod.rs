//! The admin console: server-rendered pages on the admin listener (`serve --admin-listen`),
//! beside the REST API. Administrators sign in through the same step pipeline as everyone (the
//! admin listener also serves the sign-in pages), and every console page then requires a session
//! of an enabled user with the administrator flag ([`Admin`]). Every form carries the CSRF token;
//! every change is audited with the actor `console:LOGIN-NAME`.
//!
//! One module per section; [`layout`] holds the chrome every page shares (header menu, language
//! switch, sign-out).

mod directory;
mod hw_tokens;
mod import;
pub mod layout;
mod users;
// Groups & policies, services, audit log, first sign-in guides.
mod audit;
mod certs;
mod groups;
mod guides;
mod services;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::CookieJar;

use super::pages::{self, Chrome, ErrorPage};
use super::session::{current_session, to_login};
use super::{client_ip, csrf, AppState};
use crate::i18n::Lang;
use crate::store::UserRow;

/// A request from a signed-in administrator: who, in which language, with the CSRF token the
/// page's forms carry.
pub struct Admin {
    /// The administrator.
    pub user: UserRow,
    /// Page language.
    pub lang: Lang,
    /// Cookies to send back (language and CSRF cookies may have been added).
    pub jar: CookieJar,
    /// The CSRF token for this page's forms.
    pub csrf: String,
    /// The request URI (language switch, return paths).
    pub uri: Uri,
    /// The client's address (as [`client_ip`] sees it), for the audit log.
    pub ip: String,
}

impl Admin {
    /// The audit actor of changes made through the console.
    pub fn actor(&self) -> String {
        format!("console:{}", self.user.name)
    }

    /// Whether a submitted form's CSRF field matches the cookie.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        csrf::valid(&self.jar, submitted)
    }

    /// The 403 page for a form without the right CSRF token.
    pub fn forbidden(self) -> Response {
        pages::forbidden(self.jar, self.lang, &self.uri)
    }

    /// The 500 page (the cause is logged, not shown).
    pub fn internal(&self, e: &anyhow::Error) -> Response {
        pages::internal(self.lang, &self.uri, e)
    }
}

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let uri = parts.uri.clone();
        let jar = CookieJar::from_headers(&parts.headers);
        let (jar, lang) = pages::language(&uri, &parts.headers, jar, state.secure_cookies);
        let session = match current_session(state, &jar).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_login(&uri)),
            Err(e) => return Err(pages::internal(lang, &uri, &e)),
        };
        let user = match state.signin.store.user_by_id(session.user_id).await {
            Ok(Some(u)) => u,
            Ok(None) => return Err(to_login(&uri)),
            Err(e) => return Err(pages::internal(lang, &uri, &e)),
        };
        if !user.is_admin || !user.enabled || user.tenant_id != state.signin.tenant_id {
            let t = lang.texts();
            return Err(pages::render(
                StatusCode::FORBIDDEN,
                jar,
                &ErrorPage {
                    chrome: Chrome::new(lang, t.error_title, &uri),
                    t,
                    message: lang.console().not_admin,
                },
            ));
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        let ip = match peer {
            Some(addr) => client_ip(state, addr, &parts.headers).to_string(),
            None => String::new(),
        };
        let (jar, csrf) = csrf::ensure(jar, state.secure_cookies);
        Ok(Admin {
            user,
            lang,
            jar,
            csrf,
            uri,
            ip,
        })
    }
}

/// The console's routes (merged into the admin listener's router).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console", get(users::dashboard))
        .route("/console/", get(|| async { Redirect::to("/console") }))
        .route("/console/users", get(users::list).post(users::create))
        .route("/console/users/new", get(users::new_page))
        .route(
            "/console/users/{name}",
            get(users::show).post(users::update),
        )
        .route("/console/users/{name}/action", post(users::action))
        .route("/console/users/{name}/groups", post(users::groups))
        .route("/console/users/{name}/certificates", post(certs::issue))
        .route(
            "/console/users/{name}/certificates/{serial}/revoke",
            post(certs::revoke),
        )
        .route(
            "/console/users/{name}/certificates/{serial}/sheet",
            get(certs::sheet),
        )
        // Groups & policies, services, audit log, first sign-in guides.
        .route("/console/groups", get(groups::list).post(groups::create))
        .route("/console/groups/{name}", post(groups::update))
        .route("/console/policies", get(groups::policies_index))
        .route(
            "/console/policies/{name}",
            get(groups::policy_show).post(groups::policy_save),
        )
        .route(
            "/console/access-policy",
            get(groups::access_show).post(groups::access_save),
        )
        .route("/console/services", get(services::list))
        .route("/console/services/saml", post(services::add_saml))
        .route("/console/services/oidc", post(services::add_oidc))
        .route("/console/audit", get(audit::list))
        .route("/console/audit.csv", get(audit::export))
        .route("/console/guides", get(guides::page))
        // CSV import, hardware tokens, directory sync (web/console/import.rs, hw_tokens.rs,
        // directory.rs). Only the upload route takes large bodies.
        .route(
            "/console/import",
            get(import::form)
                .post(import::upload)
                .layer(axum::extract::DefaultBodyLimit::max(import::MAX_UPLOAD)),
        )
        .route("/console/import/{id}", get(import::show))
        .route("/console/import/{id}/apply", post(import::apply))
        .route("/console/import/{id}/errors.csv", get(import::errors_csv))
        .route("/console/import/{id}/report.csv", get(import::report_csv))
        .route("/console/tokens", get(hw_tokens::list))
        .route("/console/tokens/import", post(hw_tokens::import))
        .route("/console/tokens/assign", post(hw_tokens::assign))
        .route("/console/directory", get(directory::list))
        .route("/console/directory/{name}/run", post(directory::run))
}
