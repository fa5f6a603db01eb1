//! OpenID Connect provider endpoints (being written).

use std::sync::Arc;

use axum::Router;

use super::AppState;

/// Routes under `/.well-known/openid-configuration` and `/oidc/...`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
}
