//! `/api/v1/services`: the services users reach through us (SAML SPs, OIDC clients), as the
//! access policy names them (`saml_sp:ENTITY_ID`, `oidc_client:CLIENT_ID`).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::auth::Caller;
use super::problem::Problem;
use super::ApiState;

/// `GET /api/v1/services`
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>, Problem> {
    caller.require("services:read")?;
    let s = &state.signin;
    let mut out = Vec::new();
    for sp in s.store.saml_sps(s.tenant_id).await? {
        out.push(json!({
            "service": format!("saml_sp:{}", sp.entity_id),
            "kind": "saml_sp",
            "id": sp.entity_id,
            "acs": sp.acs.iter().map(|a| a.url.clone()).collect::<Vec<_>>(),
            "name_id_format": sp.name_id_format,
        }));
    }
    for c in s.store.oidc_clients(s.tenant_id).await? {
        // The registration minus its secret hash.
        out.push(json!({
            "service": format!("oidc_client:{}", c.client_id),
            "kind": "oidc_client",
            "id": c.client_id.to_string(),
            "redirect_uris": c.redirect_uris,
            "public": c.public,
        }));
    }
    Ok(Json(Value::Array(out)))
}
