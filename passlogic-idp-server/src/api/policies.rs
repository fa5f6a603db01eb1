//! `/api/v1/groups`, `/api/v1/policies` (factor policies per group) and
//! `/api/v1/access-policy` (who may reach which service, from where, when).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use passlogic_idp_core::policy::engine::AccessPolicy;
use passlogic_idp_core::policy::AuthPolicy;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Caller;
use super::problem::{parse_json, Problem};
use super::{audit_change, ApiState};

/// `GET /api/v1/groups`
pub async fn list_groups(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    caller.require("groups:read")?;
    let groups = state
        .signin
        .store
        .list_groups(state.signin.tenant_id)
        .await?;
    Ok(Json(
        serde_json::to_value(groups).map_err(anyhow::Error::from)?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutGroup {
    kind: Option<String>,
    /// Policy name; JSON null clears it.
    #[serde(default, with = "serde_with_null")]
    policy: Option<Option<String>>,
    priority: Option<i64>,
}

/// Distinguishes a missing field (no change) from `null` (clear).
mod serde_with_null {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::deserialize(d)?))
    }
}

async fn group_json(state: &ApiState, name: &str) -> Result<Value, Problem> {
    let groups = state
        .signin
        .store
        .list_groups(state.signin.tenant_id)
        .await?;
    Ok(groups
        .into_iter()
        .find(|g| g.name == name)
        .map(|g| serde_json::to_value(g).unwrap_or(Value::Null))
        .unwrap_or(Value::Null))
}

/// `PUT /api/v1/groups/{name}`: creates the group or updates kind, policy, priority.
pub async fn put_group(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    caller.require("groups:write")?;
    let req: PutGroup = parse_json(&body)?;
    if let Some(k) = &req.kind {
        if !matches!(k.as_str(), "department" | "position" | "adhoc") {
            return Err(Problem::invalid("kind: department, position or adhoc"));
        }
    }
    if name.is_empty() || name.len() > 128 {
        return Err(Problem::invalid("name: 1 to 128 characters"));
    }
    let s = &state.signin;
    let policy_id = match &req.policy {
        Some(Some(p)) => {
            Some(Some(s.store.policy_id(s.tenant_id, p).await?.ok_or_else(
                || Problem::invalid(format!("no policy named {p:?}")),
            )?))
        }
        Some(None) => Some(None),
        None => None,
    };
    let before = group_json(&state, &name).await?;
    let kind = req.kind.as_deref().unwrap_or("adhoc");
    let gid = s.store.ensure_group(s.tenant_id, &name, kind).await?;
    if let Some(k) = &req.kind {
        s.store.set_group_kind(gid, k).await?;
    }
    if let Some(p) = policy_id {
        s.store.set_group_policy(gid, p).await?;
    }
    if let Some(p) = req.priority {
        s.store.set_group_priority(gid, p).await?;
    }
    let after = group_json(&state, &name).await?;
    audit_change(&state, &caller, "group.put", &name, before, after.clone()).await?;
    Ok(Json(after))
}

/// `GET /api/v1/policies`: names.
pub async fn list_policies(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<String>>, Problem> {
    caller.require("policies:read")?;
    Ok(Json(
        state
            .signin
            .store
            .policy_names(state.signin.tenant_id)
            .await?,
    ))
}

/// `GET /api/v1/policies/{name}`
pub async fn get_policy(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<AuthPolicy>, Problem> {
    caller.require("policies:read")?;
    state
        .signin
        .store
        .policy(state.signin.tenant_id, &name)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no policy named {name:?}")))
}

/// `PUT /api/v1/policies/{name}`: the whole policy (fields as in `GET`; missing fields take
/// the defaults).
pub async fn put_policy(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<AuthPolicy>, Problem> {
    caller.require("policies:write")?;
    let policy: AuthPolicy = parse_json(&body)?;
    policy.validate().map_err(Problem::invalid)?;
    let s = &state.signin;
    let before = s.store.policy(s.tenant_id, &name).await?;
    s.store.put_policy(s.tenant_id, &name, &policy).await?;
    audit_change(
        &state,
        &caller,
        "policy.put",
        &name,
        serde_json::to_value(before).map_err(anyhow::Error::from)?,
        serde_json::to_value(&policy).map_err(anyhow::Error::from)?,
    )
    .await?;
    Ok(Json(policy))
}

/// `GET /api/v1/access-policy`: 404 while none is set (every user may reach every service).
pub async fn get_access(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<AccessPolicy>, Problem> {
    caller.require("policies:read")?;
    state
        .signin
        .store
        .access_policy(state.signin.tenant_id)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("no access policy is set"))
}

/// `PUT /api/v1/access-policy`: validated by the core before it is stored.
pub async fn put_access(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<AccessPolicy>, Problem> {
    caller.require("policies:write")?;
    let policy: AccessPolicy = parse_json(&body)?;
    policy
        .validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    let s = &state.signin;
    let before = s.store.access_policy(s.tenant_id).await?;
    s.store
        .put_access_policy(s.tenant_id, &policy, s.clock.unix())
        .await?;
    audit_change(
        &state,
        &caller,
        "access_policy.put",
        "access-policy",
        serde_json::to_value(before).map_err(anyhow::Error::from)?,
        serde_json::to_value(&policy).map_err(anyhow::Error::from)?,
    )
    .await?;
    Ok(Json(policy))
}

/// `DELETE /api/v1/access-policy`: back to "every service for every user".
pub async fn delete_access(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<StatusCode, Problem> {
    caller.require("policies:write")?;
    let s = &state.signin;
    let before = s.store.access_policy(s.tenant_id).await?;
    if !s.store.delete_access_policy(s.tenant_id).await? {
        return Err(Problem::not_found("no access policy is set"));
    }
    audit_change(
        &state,
        &caller,
        "access_policy.delete",
        "access-policy",
        serde_json::to_value(before).map_err(anyhow::Error::from)?,
        Value::Null,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
