//! `/api/v1/services`: the services users reach through us (SAML SPs, OIDC clients), as the
//! access policy names them (`saml_sp:ENTITY_ID`, `oidc_client:CLIENT_ID`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::problem::{parse_json, Problem};
use super::{audit_change, ApiState};
use crate::registry::{register_client, register_sp, NewClient, SpOptions};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewClientBody {
    client_id: String,
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    public: bool,
    secret: Option<String>,
    auth_method: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    response_types: Vec<String>,
    /// Public keys (a JWKS object) for `private_key_jwt`.
    jwks: Option<Value>,
}

/// `POST /api/v1/services/oidc-clients`: 201 with the generated secret, shown this once.
pub async fn add_oidc_client(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    caller.require("services:write")?;
    let b: NewClientBody = parse_json(&body)?;
    let new = NewClient {
        client_id: b.client_id,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        secret: b.secret,
        jwks: b.jwks.map(|j| j.to_string()),
        response_types: b.response_types,
        public: b.public,
        auth_method: b.auth_method.unwrap_or_default(),
        scopes: b.scopes,
    };
    let s = &state.signin;
    let registered = match register_client(&s.store, s.tenant_id, new, s.clock.unix()).await? {
        Ok(r) => r,
        Err(reason) if reason.contains("exists already") => return Err(Problem::conflict(reason)),
        Err(reason) => return Err(Problem::invalid(reason)),
    };
    let reg = &registered.registration;
    let after = json!({
        "service": format!("oidc_client:{}", reg.client_id),
        "client_id": reg.client_id.as_str(),
        "type": if reg.public { "public" } else { "confidential" },
        "token_endpoint_auth_method": reg.token_endpoint_auth_method.as_str(),
        "redirect_uris": reg.redirect_uris,
    });
    audit_change(
        &state,
        &caller,
        "oidc.client.added",
        reg.client_id.as_str(),
        Value::Null,
        after.clone(),
    )
    .await?;
    let mut out = after;
    if let (Some(o), Some(secret)) = (out.as_object_mut(), registered.shown_secret) {
        o.insert("client_secret".into(), Value::String(secret));
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// `POST /api/v1/services/saml-sps`: registers an SP from its metadata (options as `sp add`).
pub async fn add_saml_sp(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    caller.require("services:write")?;
    // `metadata` plus the options of `sp add` (unknown fields refused by SpOptions).
    let mut fields: serde_json::Map<String, Value> = parse_json(&body)?;
    let metadata = match fields.remove("metadata") {
        Some(Value::String(m)) => m,
        _ => {
            return Err(Problem::bad_request(
                "metadata: the SP's metadata XML as a string",
            ))
        }
    };
    let options: SpOptions = serde_json::from_value(Value::Object(fields))
        .map_err(|e| Problem::bad_request(format!("request body: {e}")))?;
    let s = &state.signin;
    let sp = match register_sp(
        &s.store,
        s.tenant_id,
        &metadata,
        "metadata",
        &options,
        s.clock.unix(),
    )
    .await?
    {
        Ok(sp) => sp,
        Err(reason) if reason.contains("exists already") => return Err(Problem::conflict(reason)),
        Err(reason) => return Err(Problem::invalid(reason)),
    };
    let after = json!({
        "service": format!("saml_sp:{}", sp.entity_id),
        "entity_id": sp.entity_id,
        "acs": sp.acs.iter().map(|a| a.url.clone()).collect::<Vec<_>>(),
        "name_id_format": sp.name_id_format,
        "encrypted": sp.encryption_cert.is_some(),
    });
    audit_change(
        &state,
        &caller,
        "saml.sp.added",
        &sp.entity_id,
        Value::Null,
        after.clone(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(after)))
}
