//! `/api/v1/users`: list, show, create (with a printed-once initial pattern), enable/disable,
//! unlock, reset the pattern, group membership.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::problem::{parse_json, Problem};
use super::{audit_change, ApiState};
use crate::admin;
use crate::store::{NewUser, UserRow};

async fn load(state: &ApiState, name: &str) -> Result<UserRow, Problem> {
    state
        .signin
        .store
        .user_by_name(state.signin.tenant_id, name)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no user named {name:?}")))
}

async fn show(state: &ApiState, u: &UserRow) -> Result<Value, Problem> {
    Ok(admin::user_json(&state.signin.store, u).await?)
}

/// `GET /api/v1/users`
pub async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>, Problem> {
    caller.require("users:read")?;
    let mut out = Vec::new();
    for u in state
        .signin
        .store
        .list_users(state.signin.tenant_id)
        .await?
    {
        out.push(show(&state, &u).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/users/{name}`
pub async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    caller.require("users:read")?;
    let u = load(&state, &name).await?;
    Ok(Json(show(&state, &u).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    name: String,
    display_name: Option<String>,
    email: Option<String>,
    group: Option<String>,
    #[serde(default)]
    admin: bool,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

fn issued_json(user: Value, issued: &admin::Issued) -> Value {
    json!({
        "user": user,
        "initial_pattern": issued.pattern.to_csv(),
        "notice": issued.notice,
    })
}

/// `POST /api/v1/users`: 201 with the user and their initial pattern (shown once).
pub async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<impl IntoResponse, Problem> {
    caller.require("users:write")?;
    let req: CreateUser = parse_json(&body)?;
    if !valid_name(&req.name) {
        return Err(Problem::invalid(
            "name: 1 to 128 letters, digits, '-', '_', '.' or '@'",
        ));
    }
    let s = &state.signin;
    let new = NewUser {
        tenant_id: s.tenant_id,
        display_name: req.display_name.unwrap_or_else(|| req.name.clone()),
        name: req.name,
        email: req.email,
        is_admin: req.admin,
    };
    let Some(issued) = admin::add_user(
        &s.store,
        &s.keyring,
        &new,
        req.group.as_deref(),
        &caller.actor(),
        s.clock.unix(),
    )
    .await?
    else {
        return Err(Problem::conflict(format!(
            "a user named {:?} exists",
            new.name
        )));
    };
    let u = load(&state, &new.name).await?;
    let after = show(&state, &u).await?;
    audit_change(
        &state,
        &caller,
        "user.create",
        &new.name,
        Value::Null,
        after.clone(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(issued_json(after, &issued))))
}

/// A field that may be absent (unchanged), `null` (cleared) or a value.
fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchUser {
    enabled: Option<bool>,
    display_name: Option<String>,
    #[serde(default, deserialize_with = "some")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    department: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    position: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    valid_from: Option<Option<i64>>,
    #[serde(default, deserialize_with = "some")]
    valid_until: Option<Option<i64>>,
    /// Replaces the whole attribute map (external IDs such as `immutable_id`, custom keys).
    attributes: Option<std::collections::BTreeMap<String, String>>,
}

/// `PATCH /api/v1/users/{name}`: `enabled` (disabling ends the user's sessions), display
/// name and the directory fields (`null` clears one).
pub async fn patch(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    caller.require("users:write")?;
    let req: PatchUser = parse_json(&body)?;
    let u = load(&state, &name).await?;
    let before = show(&state, &u).await?;
    let s = &state.signin;
    if let (Some(f), Some(u_)) = (req.valid_from.flatten(), req.valid_until.flatten()) {
        if f >= u_ {
            return Err(Problem::invalid("valid_from must be before valid_until"));
        }
    }
    if req
        .display_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(Problem::invalid("display_name must not be empty"));
    }
    let mut dir = u.directory();
    let before_dir = dir.clone();
    if let Some(v) = req.email {
        dir.email = v;
    }
    if let Some(v) = req.given_name {
        dir.given_name = v;
    }
    if let Some(v) = req.family_name {
        dir.family_name = v;
    }
    if let Some(v) = req.department {
        dir.department = v;
    }
    if let Some(v) = req.position {
        dir.position = v;
    }
    if let Some(v) = req.valid_from {
        dir.valid_from = v;
    }
    if let Some(v) = req.valid_until {
        dir.valid_until = v;
    }
    if let Some(v) = req.attributes {
        dir.attributes = v;
    }
    if dir != before_dir {
        s.store
            .update_user_directory(u.id, &dir, s.clock.unix())
            .await?;
    }
    if let Some(n) = &req.display_name {
        s.store
            .set_display_name(u.id, n.trim(), s.clock.unix())
            .await?;
    }
    if let Some(enabled) = req.enabled {
        s.store.set_enabled(u.id, enabled, s.clock.unix()).await?;
        if !enabled {
            s.store.delete_user_sessions(u.id).await?;
        }
    }
    let after = show(&state, &load(&state, &name).await?).await?;
    audit_change(&state, &caller, "user.update", &name, before, after.clone()).await?;
    Ok(Json(after))
}

/// `POST /api/v1/users/{name}/unlock`
pub async fn unlock(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    caller.require("users:write")?;
    let u = load(&state, &name).await?;
    let before = show(&state, &u).await?;
    state
        .signin
        .store
        .unlock(u.id, state.signin.clock.unix())
        .await?;
    let after = show(&state, &load(&state, &name).await?).await?;
    audit_change(&state, &caller, "user.unlock", &name, before, after.clone()).await?;
    Ok(Json(after))
}

/// `POST /api/v1/users/{name}/reset-pattern`: a new initial pattern (shown once); sessions end.
pub async fn reset_pattern(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    caller.require("users:write")?;
    let u = load(&state, &name).await?;
    let s = &state.signin;
    let issued =
        admin::reset_pattern(&s.store, &s.keyring, &u, &caller.actor(), s.clock.unix()).await?;
    let after = show(&state, &load(&state, &name).await?).await?;
    Ok(Json(issued_json(after, &issued)))
}

/// `PUT /api/v1/users/{name}/groups/{group}`: membership (the group must exist).
pub async fn join_group(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, group)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    membership(state, caller, name, group, true).await
}

/// `DELETE /api/v1/users/{name}/groups/{group}`
pub async fn leave_group(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, group)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    membership(state, caller, name, group, false).await
}

async fn membership(
    state: ApiState,
    caller: Caller,
    name: String,
    group: String,
    join: bool,
) -> Result<Json<Value>, Problem> {
    caller.require("users:write")?;
    let u = load(&state, &name).await?;
    let s = &state.signin;
    let gid = s
        .store
        .group_id(s.tenant_id, &group)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no group named {group:?}")))?;
    let before = show(&state, &u).await?;
    if join {
        s.store.add_to_group(u.id, gid).await?;
    } else if !s.store.remove_from_group(u.id, gid).await? {
        return Err(Problem::not_found(format!("{name:?} is not in {group:?}")));
    }
    let after = show(&state, &u).await?;
    let event = if join {
        "user.group.join"
    } else {
        "user.group.leave"
    };
    audit_change(&state, &caller, event, &name, before, after.clone()).await?;
    Ok(Json(after))
}

/// `GET /api/v1/users/{name}/devices`
pub async fn devices(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    caller.require("users:read")?;
    let u = load(&state, &name).await?;
    let list = state.signin.store.devices(u.id).await?;
    Ok(Json(
        serde_json::to_value(list).map_err(anyhow::Error::from)?,
    ))
}

/// `DELETE /api/v1/users/{name}/devices/{id}`
pub async fn remove_device(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.require("users:write")?;
    let u = load(&state, &name).await?;
    let s = &state.signin;
    let before = serde_json::to_value(s.store.devices(u.id).await?).map_err(anyhow::Error::from)?;
    if !s.store.delete_device(u.id, &id).await? {
        return Err(Problem::not_found(format!("{name:?} has no device {id:?}")));
    }
    let after = serde_json::to_value(s.store.devices(u.id).await?).map_err(anyhow::Error::from)?;
    audit_change(&state, &caller, "device.removed", &name, before, after).await?;
    Ok(StatusCode::NO_CONTENT)
}

// Passkeys (WebAuthn).

/// `GET /api/v1/users/{name}/passkeys`
pub async fn passkeys(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    caller.require("users:read")?;
    let u = load(&state, &name).await?;
    let list = state.signin.store.passkeys(u.id).await?;
    Ok(Json(
        serde_json::to_value(list).map_err(anyhow::Error::from)?,
    ))
}

/// `DELETE /api/v1/users/{name}/passkeys/{id}`
pub async fn remove_passkey(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.require("users:write")?;
    let u = load(&state, &name).await?;
    let s = &state.signin;
    let before =
        serde_json::to_value(s.store.passkeys(u.id).await?).map_err(anyhow::Error::from)?;
    if !s.store.delete_passkey(u.id, &id).await? {
        return Err(Problem::not_found(format!(
            "{name:?} has no passkey {id:?}"
        )));
    }
    let after = serde_json::to_value(s.store.passkeys(u.id).await?).map_err(anyhow::Error::from)?;
    audit_change(&state, &caller, "passkey.removed", &name, before, after).await?;
    Ok(StatusCode::NO_CONTENT)
}
