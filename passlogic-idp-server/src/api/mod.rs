//! The admin REST API, on its own listener (`serve --admin-listen`), separate from the user
//! pages so it can be kept off the public network. Bearer tokens with scopes
//! ([`auth`]), RFC 9457 problem details on every error ([`problem`]), every change audited
//! with the actor (`api:TOKEN-NAME`) and the state before and after ([`audit_change`]).
//! The OpenAPI 3.1 document (`openapi.json`, served at `/openapi.json`) is the contract; the
//! tests check every operation in it is routed and that it validates.
//!
//! Not yet here: updating or removing a registered service, and the user list's paging and
//! filters (the admin console's needs).

pub mod audit;
pub mod auth;
pub mod certificates;
pub mod policies;
pub mod problem;
pub mod services;
pub mod users;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};

use crate::signin::SignIn;
use crate::store::AuditEvent;
use problem::Problem;

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// State of the admin listener.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// Store, keys, clock and tenant.
    pub signin: SignIn,
}

/// Audits a change made through the API.
pub async fn audit_change(
    state: &ApiState,
    caller: &auth::Caller,
    event: &str,
    subject: &str,
    before: Value,
    after: Value,
) -> Result<(), Problem> {
    let s = &state.signin;
    s.store
        .audit(&AuditEvent {
            at: s.clock.unix(),
            tenant_id: Some(s.tenant_id),
            actor: caller.actor(),
            event: event.to_owned(),
            subject: subject.to_owned(),
            outcome: "success".to_owned(),
            detail: json!({ "before": before, "after": after }),
            source_ip: None,
        })
        .await?;
    Ok(())
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn not_found() -> Problem {
    Problem::not_found("no such API endpoint; see /openapi.json")
}

/// The admin listener's router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{name}", get(users::get).patch(users::patch))
        .route("/api/v1/users/{name}/unlock", post(users::unlock))
        .route(
            "/api/v1/users/{name}/reset-pattern",
            post(users::reset_pattern),
        )
        .route(
            "/api/v1/users/{name}/groups/{group}",
            put(users::join_group).delete(users::leave_group),
        )
        .route("/api/v1/users/{name}/devices", get(users::devices))
        .route(
            "/api/v1/users/{name}/devices/{id}",
            axum::routing::delete(users::remove_device),
        )
        // Passkeys (WebAuthn).
        .route("/api/v1/users/{name}/passkeys", get(users::passkeys))
        .route(
            "/api/v1/users/{name}/passkeys/{id}",
            axum::routing::delete(users::remove_passkey),
        )
        .route("/api/v1/groups", get(policies::list_groups))
        .route("/api/v1/groups/{name}", put(policies::put_group))
        .route("/api/v1/policies", get(policies::list_policies))
        .route(
            "/api/v1/policies/{name}",
            get(policies::get_policy).put(policies::put_policy),
        )
        .route(
            "/api/v1/access-policy",
            get(policies::get_access)
                .put(policies::put_access)
                .delete(policies::delete_access),
        )
        .route("/api/v1/services", get(services::list))
        .route(
            "/api/v1/services/oidc-clients",
            post(services::add_oidc_client),
        )
        .route("/api/v1/services/saml-sps", post(services::add_saml_sp))
        .route("/api/v1/audit", get(audit::list))
        .route(
            "/api/v1/users/{name}/certificates",
            get(certificates::list).post(certificates::issue),
        )
        .route(
            "/api/v1/users/{name}/certificates/{serial}",
            axum::routing::delete(certificates::revoke),
        )
        .route(
            "/api/v1/users/{name}/certificates/{serial}/sheet",
            get(certificates::sheet),
        )
        .fallback(not_found)
        .with_state(state)
}
