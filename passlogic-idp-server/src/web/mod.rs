//! The user-facing HTTP listener: routes, shared state and security headers. Handlers stay thin:
//! they parse the request, call [`crate::signin::SignIn`], and render.

mod account;
mod assets;
mod client_cert;
mod client_ip;
mod console;
mod cookies;
mod csrf;
mod denied;
mod device;
mod face;
mod forward;
mod guide;
mod login;
mod login_protect;
mod oidc;
mod pages;
mod passkey;
mod portal;
mod saml;
mod session;
mod steps;
mod test_clock;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::signin::SignIn;
pub use client_ip::client_ip;
pub use denied::access_denied;

/// Everything a handler needs.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The sign-in service.
    pub signin: SignIn,
    /// Cookies get `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// The OpenID Connect provider.
    pub oidc: crate::oidc_service::OidcService,
    /// The SAML 2.0 identity provider.
    pub saml: crate::saml_service::SamlService,
    /// Proxies whose forwarding headers are believed (see [`client_ip`]).
    pub trusted_proxies: Arc<Vec<passlogic_idp_core::policy::ip::Cidr>>,
    /// Forward authentication settings (`/auth/forward`, `/auth/start`).
    pub forward: Arc<crate::forward_auth::ForwardAuthConfig>,
    /// The external face verifier (`serve --face-verifier-url`), if configured.
    pub face: Option<Arc<crate::face::FaceSetup>>,
    /// Passkeys: the WebAuthn relying party (RP ID = host of the public URL).
    pub passkey_rp: Arc<passlogic_idp_core::factor::webauthn::RelyingParty>,
}

/// Sets the parent domain of the session cookie (`serve --cookie-domain`), once at start-up.
pub fn set_session_cookie_domain(domain: &str) {
    cookies::set_session_domain(domain);
}

/// Sets the header a trusted proxy passes the client certificate in
/// (`serve --client-cert-header`), once at start-up.
pub fn set_client_cert_header(name: &str) -> anyhow::Result<()> {
    client_cert::set_client_cert_header(name)
}

/// Options of the router that are not state.
#[derive(Clone, Copy, Debug, Default)]
pub struct RouterOptions {
    /// Adds `POST /_test/clock` (tests only).
    pub test_clock: bool,
}

/// Builds the user-facing router.
pub fn router(state: AppState, options: RouterOptions) -> Router {
    let mut app = user_routes();
    if options.test_clock {
        app = app.route("/_test/clock", post(test_clock::advance));
    }
    app.layer(middleware::from_fn(security_headers))
        .with_state(Arc::new(state))
}

/// The admin listener's pages: the console and, so administrators sign in there with MFA like
/// anyone, every user page (sign-in steps, enrolment, the portal). The REST API is merged in
/// beside it by the server.
pub fn admin_router(state: AppState, options: RouterOptions) -> Router {
    let mut app = user_routes().merge(console::routes());
    if options.test_clock {
        app = app.route("/_test/clock", post(test_clock::advance));
    }
    app.layer(middleware::from_fn(security_headers))
        .with_state(Arc::new(state))
}

/// Every route of the user-facing listener.
fn user_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(portal::home))
        .route("/healthz", get(session::healthz))
        .route("/session", get(session::session_json))
        .route("/logout", post(session::logout))
        .route("/login", get(login::login_page).post(login::login_submit))
        .route(
            "/login/matrix",
            get(login::grid_page).post(login::grid_submit),
        )
        .route(
            "/pattern/setup",
            get(login::pattern_page).post(login::pattern_submit),
        )
        .route(
            "/login/choose",
            get(steps::choose_page).post(steps::choose_submit),
        )
        .route("/login/device_cookie", get(device::step))
        .route("/account/devices", get(device::list_page))
        .route("/account/devices/remove", post(device::remove))
        .route("/login/login_protect", get(login_protect::step))
        .route("/login/biometric", get(face::step))
        .route("/login/biometric/callback", get(face::callback))
        .route("/login/client_certificate", get(client_cert::step))
        .route("/account/certificates", get(client_cert::account_page))
        .route(
            "/login/client_certificate/download",
            get(client_cert::download),
        )
        // Passkeys (WebAuthn).
        .route(
            "/login/passkey",
            get(passkey::step_page).post(passkey::step_submit),
        )
        .route("/account/passkeys", get(passkey::list_page))
        .route("/account/passkeys/register", post(passkey::register))
        .route("/account/passkeys/remove", post(passkey::remove))
        .route("/static/passkey.js", get(assets::passkey_js))
        .route("/authenticator/pair", post(login_protect::pair))
        .route("/authenticator/unlock", post(login_protect::unlock))
        .route(
            "/login/{step}",
            get(steps::code_page).post(steps::code_submit),
        )
        .route(
            "/enrol/pin",
            get(steps::enrol_page_pin).post(steps::enrol_pin_submit),
        )
        .route(
            "/enrol/{step}",
            get(steps::enrol_page).post(steps::enrol_app_submit),
        )
        .route("/static/app.css", get(assets::css))
        .route("/static/pattern.js", get(assets::js))
        .route("/static/autosubmit.js", get(assets::autosubmit_js))
        .route(
            "/account/pin",
            get(account::pin_page).post(account::pin_submit),
        )
        // Any method: nginx's auth_request subrequest keeps the original request's method.
        .route("/auth/forward", axum::routing::any(forward::forward))
        .route("/auth/start", get(forward::start))
        .route("/authenticator", get(assets::authenticator_page))
        .route("/static/authenticator.js", get(assets::authenticator_js))
        // The user portal and the first sign-in guides (docs/portal.md).
        .route("/account/security", get(portal::security))
        .route(
            "/account/pattern",
            get(portal::pattern_page).post(portal::pattern_submit),
        )
        .route(
            "/account/totp",
            get(portal::totp_page).post(portal::totp_submit),
        )
        .route(
            "/account/bingo",
            get(portal::bingo_page).post(portal::bingo_submit),
        )
        .route("/guide/{method}", get(guide::page))
        .route("/static/guide/{file}", get(guide::picture))
        .merge(oidc::routes())
        .merge(saml::routes())
}

/// Strict CSP and friends on every response; pages are never cached.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A handler may set its own policy (a form POSTed to a relying party or SAML SP needs
    // `form-action` for that origin); every other response gets the strict default.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
