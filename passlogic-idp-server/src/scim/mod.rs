//! SCIM 2.0 service provider (RFC 7643 / 7644) under `/scim/v2` on the user-facing listener:
//! `/Users`, `/Groups` (list with `filter` / `startIndex` / `count`, get, POST, PUT, PATCH,
//! DELETE), `/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`. Bearer tokens per
//! provisioning client (`scim-token create NAME`: an admin-API token named `scim:NAME` with
//! the single scope `scim`, stored hashed). Errors in SCIM's format with `scimType`.
//!
//! Filters ([`filter`]) and PATCH ([`patch`]) work on the resources' JSON; [`resource`] maps
//! them to the directory. DELETE of a user deactivates it (sessions ended) and it stays
//! visible with `active: false`, unless `serve --scim-delete-users` makes it remove the user
//! (factors, sessions, memberships go with it); DELETE of a group deletes it.
//!
//! Known gaps: lists are filtered in memory (every user of the tenant is loaded per list
//! request: fine for tens of thousands, not millions); no `sortBy`, ETags, `/Bulk` or `/Me`;
//! `attributes` / `excludedAttributes` work on top-level attributes (and sub-attributes for
//! exclusion); an e-mail's `type` is not stored; users created over SCIM get a sealed random
//! initial pattern that nobody sees — hand it out with `user reset-pattern`.

pub mod filter;
pub mod patch;
pub mod resource;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::admin;
use crate::signin::SignIn;
use crate::store::{NewUser, UserRow};
use crate::tokens::hash_token;
use resource::{UserInput, EXTERNAL_ID_KEY};

/// The scope a SCIM token carries (and admin tokens do not).
pub const SCOPE: &str = "scim";
/// Prefix of a SCIM token's name in the API token table.
pub const TOKEN_NAME_PREFIX: &str = "scim:";

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const CONTENT_TYPE: &str = "application/scim+json";
/// Largest page.
const MAX_COUNT: usize = 1000;

/// State of the SCIM routes.
#[derive(Clone, Debug)]
pub struct ScimState {
    /// Store, keys, clock, tenant.
    pub signin: SignIn,
    /// `PUBLIC_URL/scim/v2`, for `meta.location`.
    pub base: String,
    /// DELETE removes users (`serve --scim-delete-users`) instead of deactivating them.
    pub delete_users: bool,
}

/// A SCIM error response.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
    fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
}

impl From<anyhow::Error> for ScimError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{e:#}"), "scim request failed");
        ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
    }
}

impl From<(&'static str, String)> for ScimError {
    fn from((t, d): (&'static str, String)) -> Self {
        ScimError::bad(t, d)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        scim_json(self.status, &body)
    }
}

fn scim_json(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        v.to_string(),
    )
        .into_response()
}

type Res = Result<Response, ScimError>;

/// The authenticated provisioning client.
struct Client {
    actor: String,
}

async fn authenticate(s: &ScimState, headers: &HeaderMap) -> Result<Client, ScimError> {
    let unauthorized = |d: &str| ScimError::new(StatusCode::UNAUTHORIZED, None, d);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("send Authorization: Bearer <SCIM token>"))?;
    let row = s.signin.store.api_token_by_hash(&hash_token(token)).await?;
    let now = s.signin.clock.unix();
    match row {
        Some(r)
            if r.tenant_id == s.signin.tenant_id
                && r.revoked_at.is_none()
                && r.expires_at.is_none_or(|e| now < e)
                && r.scopes.iter().any(|x| x == SCOPE) =>
        {
            Ok(Client {
                actor: format!("scim:{}", r.name.trim_start_matches(TOKEN_NAME_PREFIX)),
            })
        }
        _ => Err(unauthorized(
            "the SCIM token is unknown, revoked or expired",
        )),
    }
}

fn body_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))
}

fn parse_id(id: &str, what: &str) -> Result<i64, ScimError> {
    id.parse()
        .map_err(|_| ScimError::not_found(format!("no {what} with id {id:?}")))
}

// ---------------------------------------------------------------------------------------------
// Listing

/// A query parameter, by case-insensitive name.
fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.iter()
        .find(|(x, _)| x.eq_ignore_ascii_case(k))
        .map(|(_, v)| v.as_str())
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) to a resource: top-level
/// attributes (and sub-attributes for exclusion); `id`, `schemas` and `meta` always stay.
fn project(mut v: Value, q: &HashMap<String, String>) -> Value {
    let list = |k: &str| -> Vec<Vec<String>> {
        param(q, k)
            .map(|a| {
                a.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(filter::path_segments)
                    .collect()
            })
            .unwrap_or_default()
    };
    let Some(m) = v.as_object_mut() else {
        return v;
    };
    let wanted = list("attributes");
    if !wanted.is_empty() {
        m.retain(|k, _| {
            let k = k.to_ascii_lowercase();
            matches!(k.as_str(), "id" | "schemas" | "meta")
                || wanted.iter().any(|w| w.first() == Some(&k))
        });
    }
    for ex in list("excludedAttributes") {
        let Some(first) = ex.first() else { continue };
        if matches!(first.as_str(), "id" | "schemas" | "meta") {
            continue;
        }
        let key = m.keys().find(|x| x.eq_ignore_ascii_case(first)).cloned();
        if let Some(key) = key {
            match ex.get(1) {
                None => {
                    m.remove(&key);
                }
                Some(sub) => {
                    if let Some(o) = m.get_mut(&key).and_then(Value::as_object_mut) {
                        o.retain(|x, _| !x.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
    }
    v
}

/// Applies `filter`, `startIndex`, `count` to rendered resources.
fn list_response(all: Vec<Value>, q: &HashMap<String, String>) -> Res {
    let get = |k: &str| param(q, k);
    let matched: Vec<Value> = match get("filter").filter(|f| !f.trim().is_empty()) {
        Some(f) => {
            let parsed = filter::parse(f).map_err(|e| ScimError::bad("invalidFilter", e))?;
            all.into_iter()
                .filter(|r| filter::matches(&parsed, r))
                .collect()
        }
        None => all,
    };
    let number = |k: &str, default: usize| -> Result<usize, ScimError> {
        match get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .map(|n| n.max(0) as usize)
                .map_err(|_| ScimError::bad("invalidValue", format!("{k} must be an integer"))),
        }
    };
    let start = number("startIndex", 1)?.max(1);
    let count = number("count", 100)?.min(MAX_COUNT);
    let total = matched.len();
    let page: Vec<Value> = matched
        .into_iter()
        .skip(start - 1)
        .take(count)
        .map(|r| project(r, q))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    ))
}

/// Every user's groups as (group id, name), by user id.
async fn user_groups(s: &ScimState) -> anyhow::Result<HashMap<i64, Vec<(i64, String)>>> {
    let names: HashMap<i64, String> = s
        .signin
        .store
        .group_ids_and_names(s.signin.tenant_id)
        .await?
        .into_iter()
        .collect();
    let mut out: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for (gid, uid, _) in s.signin.store.group_memberships(s.signin.tenant_id).await? {
        if let Some(n) = names.get(&gid) {
            out.entry(uid).or_default().push((gid, n.clone()));
        }
    }
    Ok(out)
}

async fn list_users(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    authenticate(&s, &headers).await?;
    let groups = user_groups(&s).await?;
    let mut users = s.signin.store.list_users(s.signin.tenant_id).await?;
    users.sort_by_key(|u| u.id);
    let all = users
        .iter()
        .map(|u| {
            let g = groups.get(&u.id).map(Vec::as_slice).unwrap_or(&[]);
            resource::user_json(u, g, &s.base)
        })
        .collect();
    list_response(all, &q)
}

async fn load_user(s: &ScimState, id: &str) -> Result<UserRow, ScimError> {
    let n = parse_id(id, "user")?;
    match s.signin.store.user_by_id(n).await? {
        Some(u) if u.tenant_id == s.signin.tenant_id => Ok(u),
        _ => Err(ScimError::not_found(format!("no user with id {id:?}"))),
    }
}

async fn render_user(s: &ScimState, u: &UserRow) -> anyhow::Result<Value> {
    let groups = user_groups(s).await?;
    let g = groups.get(&u.id).map(Vec::as_slice).unwrap_or(&[]);
    Ok(resource::user_json(u, g, &s.base))
}

async fn get_user(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    authenticate(&s, &headers).await?;
    let u = load_user(&s, &id).await?;
    Ok(scim_json(
        StatusCode::OK,
        &project(render_user(&s, &u).await?, &q),
    ))
}

/// The body of `POST /.search` (RFC 7644 §3.4.3) as query parameters.
fn search_params(body: &Bytes) -> Result<HashMap<String, String>, ScimError> {
    let v = body_json(body)?;
    let obj = v
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "the body must be an object"))?;
    let mut q = HashMap::new();
    for (k, x) in obj {
        let text = match x {
            Value::String(t) => t.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        q.insert(k.clone(), text);
    }
    Ok(q)
}

async fn search_users(State(s): State<ScimState>, headers: HeaderMap, body: Bytes) -> Res {
    let q = search_params(&body)?;
    list_users(State(s), headers, Query(q)).await
}

/// `POST /.search` at the root: users and groups together.
async fn search_all(State(s): State<ScimState>, headers: HeaderMap, body: Bytes) -> Res {
    authenticate(&s, &headers).await?;
    let q = search_params(&body)?;
    let groups = user_groups(&s).await?;
    let mut users = s.signin.store.list_users(s.signin.tenant_id).await?;
    users.sort_by_key(|u| u.id);
    let mut all: Vec<Value> = users
        .iter()
        .map(|u| {
            let g = groups.get(&u.id).map(Vec::as_slice).unwrap_or(&[]);
            resource::user_json(u, g, &s.base)
        })
        .collect();
    all.extend(groups_rendered(&s).await?.into_iter().map(|(_, v)| v));
    list_response(all, &q)
}

async fn search_groups(State(s): State<ScimState>, headers: HeaderMap, body: Bytes) -> Res {
    let q = search_params(&body)?;
    list_groups(State(s), headers, Query(q)).await
}

// ---------------------------------------------------------------------------------------------
// Writing users

/// Stores `input` on an existing user (rename, directory, display name, enabled).
async fn save_user(s: &ScimState, u: &UserRow, input: &UserInput) -> Result<(), ScimError> {
    let store = &s.signin.store;
    let now = s.signin.clock.unix();
    if input.user_name != u.name && !store.rename_user(u.id, &input.user_name, now).await? {
        return Err(ScimError::conflict(format!(
            "userName {:?} is taken",
            input.user_name
        )));
    }
    let mut d = u.directory();
    d.email = input.email.clone();
    d.given_name = input.given_name.clone();
    d.family_name = input.family_name.clone();
    d.department = input.department.clone();
    d.position = input.title.clone();
    match &input.external_id {
        Some(x) => d.attributes.insert(EXTERNAL_ID_KEY.to_owned(), x.clone()),
        None => d.attributes.remove(EXTERNAL_ID_KEY),
    };
    store.update_user_directory(u.id, &d, now).await?;
    let display = input
        .display_name
        .clone()
        .unwrap_or_else(|| input.user_name.clone());
    if display != u.display_name {
        store.set_display_name(u.id, &display, now).await?;
    }
    if input.active != u.enabled {
        store.set_enabled(u.id, input.active, now).await?;
        if !input.active {
            store.delete_user_sessions(u.id).await?;
        }
    }
    Ok(())
}

async fn audit(
    s: &ScimState,
    c: &Client,
    event: &str,
    subject: &str,
    detail: Value,
) -> anyhow::Result<()> {
    admin::audit(
        &s.signin.store,
        s.signin.clock.unix(),
        s.signin.tenant_id,
        &c.actor,
        event,
        subject,
        detail,
    )
    .await
}

async fn create_user(State(s): State<ScimState>, headers: HeaderMap, body: Bytes) -> Res {
    let c = authenticate(&s, &headers).await?;
    let input = resource::user_input(&body_json(&body)?)?;
    let store = &s.signin.store;
    if store
        .user_by_name(s.signin.tenant_id, &input.user_name)
        .await?
        .is_some()
    {
        return Err(ScimError::conflict(format!(
            "a user named {:?} exists",
            input.user_name
        )));
    }
    let new = NewUser {
        tenant_id: s.signin.tenant_id,
        name: input.user_name.clone(),
        display_name: input
            .display_name
            .clone()
            .unwrap_or_else(|| input.user_name.clone()),
        email: input.email.clone(),
        is_admin: false,
    };
    let now = s.signin.clock.unix();
    // The initial pattern is sealed; its notice is dropped here (see the module docs).
    let Some(issued) = admin::add_user(store, &s.signin.keyring, &new, None, &c.actor, now).await?
    else {
        return Err(ScimError::conflict(format!(
            "a user named {:?} exists",
            input.user_name
        )));
    };
    let u = load_user(&s, &issued.user_id.to_string()).await?;
    save_user(&s, &u, &input).await?;
    let u = load_user(&s, &issued.user_id.to_string()).await?;
    let v = render_user(&s, &u).await?;
    let mut r = scim_json(StatusCode::CREATED, &v);
    if let Ok(loc) = format!("{}/Users/{}", s.base, u.id).parse() {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

async fn replace_user(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let c = authenticate(&s, &headers).await?;
    let u = load_user(&s, &id).await?;
    let input = resource::user_input(&body_json(&body)?)?;
    save_user(&s, &u, &input).await?;
    audit(
        &s,
        &c,
        "user.updated",
        &input.user_name,
        json!({ "via": "scim put" }),
    )
    .await?;
    let u = load_user(&s, &id).await?;
    Ok(scim_json(StatusCode::OK, &render_user(&s, &u).await?))
}

async fn patch_user(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let c = authenticate(&s, &headers).await?;
    let u = load_user(&s, &id).await?;
    let mut doc = render_user(&s, &u).await?;
    patch::apply(&mut doc, &body_json(&body)?)?;
    let input = resource::user_input(&doc)?;
    save_user(&s, &u, &input).await?;
    audit(
        &s,
        &c,
        "user.updated",
        &input.user_name,
        json!({ "via": "scim patch" }),
    )
    .await?;
    let u = load_user(&s, &id).await?;
    Ok(scim_json(StatusCode::OK, &render_user(&s, &u).await?))
}

async fn delete_user(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Res {
    let c = authenticate(&s, &headers).await?;
    let u = load_user(&s, &id).await?;
    let store = &s.signin.store;
    if s.delete_users {
        store.delete_user(s.signin.tenant_id, u.id).await?;
        audit(
            &s,
            &c,
            "user.deleted",
            &u.name,
            json!({ "via": "scim delete" }),
        )
        .await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    store
        .set_enabled(u.id, false, s.signin.clock.unix())
        .await?;
    store.delete_user_sessions(u.id).await?;
    audit(
        &s,
        &c,
        "user.disabled",
        &u.name,
        json!({ "via": "scim delete" }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// Groups

async fn groups_rendered(s: &ScimState) -> anyhow::Result<Vec<(i64, Value)>> {
    let mut members: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for (gid, uid, uname) in s.signin.store.group_memberships(s.signin.tenant_id).await? {
        members.entry(gid).or_default().push((uid, uname));
    }
    let mut groups = s
        .signin
        .store
        .group_ids_and_names(s.signin.tenant_id)
        .await?;
    groups.sort_by_key(|(id, _)| *id);
    let external: HashMap<i64, String> = s
        .signin
        .store
        .group_external_ids(s.signin.tenant_id)
        .await?
        .into_iter()
        .collect();
    Ok(groups
        .into_iter()
        .map(|(id, name)| {
            let m = members.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            let x = external.get(&id).map(String::as_str);
            (id, resource::group_json(id, &name, x, m, &s.base))
        })
        .collect())
}

async fn load_group(s: &ScimState, id: &str) -> Result<(i64, Value), ScimError> {
    let n = parse_id(id, "group")?;
    groups_rendered(s)
        .await?
        .into_iter()
        .find(|(gid, _)| *gid == n)
        .ok_or_else(|| ScimError::not_found(format!("no group with id {id:?}")))
}

async fn list_groups(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    authenticate(&s, &headers).await?;
    let all = groups_rendered(&s)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    list_response(all, &q)
}

async fn get_group(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    authenticate(&s, &headers).await?;
    Ok(scim_json(
        StatusCode::OK,
        &project(load_group(&s, &id).await?.1, &q),
    ))
}

/// Checks every member id is a user of the tenant.
async fn check_members(s: &ScimState, ids: &[i64]) -> Result<(), ScimError> {
    for id in ids {
        match s.signin.store.user_by_id(*id).await? {
            Some(u) if u.tenant_id == s.signin.tenant_id => {}
            _ => {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("member {id} is not a user"),
                ))
            }
        }
    }
    Ok(())
}

/// Stores a group's name, externalId and members (none when not given: PUT and PATCH both
/// describe the whole group here).
async fn save_group(
    s: &ScimState,
    id: i64,
    old_name: &str,
    input: &resource::GroupInput,
) -> Result<(), ScimError> {
    let store = &s.signin.store;
    let members = input.members.clone().unwrap_or_default();
    check_members(s, &members).await?;
    let name = &input.name;
    if name != old_name && !store.rename_group(s.signin.tenant_id, id, name).await? {
        return Err(ScimError::conflict(format!(
            "a group named {name:?} exists"
        )));
    }
    store
        .set_group_external_id(s.signin.tenant_id, id, input.external_id.as_deref())
        .await?;
    store.set_group_members(id, &members).await?;
    Ok(())
}

async fn create_group(State(s): State<ScimState>, headers: HeaderMap, body: Bytes) -> Res {
    let c = authenticate(&s, &headers).await?;
    let input = resource::group_input(&body_json(&body)?)?;
    let (name, members) = (input.name.clone(), input.members.clone());
    let store = &s.signin.store;
    if store.group_id(s.signin.tenant_id, &name).await?.is_some() {
        return Err(ScimError::conflict(format!(
            "a group named {name:?} exists"
        )));
    }
    if let Some(m) = &members {
        check_members(&s, m).await?;
    }
    let id = store
        .ensure_group(s.signin.tenant_id, &name, "adhoc")
        .await?;
    if let Some(m) = &members {
        store.set_group_members(id, m).await?;
    }
    store
        .set_group_external_id(s.signin.tenant_id, id, input.external_id.as_deref())
        .await?;
    audit(&s, &c, "group.created", &name, json!({ "via": "scim" })).await?;
    let (_, v) = load_group(&s, &id.to_string()).await?;
    let mut r = scim_json(StatusCode::CREATED, &v);
    if let Ok(loc) = format!("{}/Groups/{id}", s.base).parse() {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

async fn replace_group(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let c = authenticate(&s, &headers).await?;
    let (gid, old) = load_group(&s, &id).await?;
    let input = resource::group_input(&body_json(&body)?)?;
    let old_name = old["displayName"].as_str().unwrap_or_default().to_owned();
    // PUT replaces: no members given means none.
    save_group(&s, gid, &old_name, &input).await?;
    audit(
        &s,
        &c,
        "group.updated",
        &input.name,
        json!({ "via": "scim put" }),
    )
    .await?;
    Ok(scim_json(StatusCode::OK, &load_group(&s, &id).await?.1))
}

async fn patch_group(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let c = authenticate(&s, &headers).await?;
    let (gid, mut doc) = load_group(&s, &id).await?;
    let old_name = doc["displayName"].as_str().unwrap_or_default().to_owned();
    patch::apply(&mut doc, &body_json(&body)?)?;
    let input = resource::group_input(&doc)?;
    save_group(&s, gid, &old_name, &input).await?;
    audit(
        &s,
        &c,
        "group.updated",
        &input.name,
        json!({ "via": "scim patch" }),
    )
    .await?;
    Ok(scim_json(StatusCode::OK, &load_group(&s, &id).await?.1))
}

async fn delete_group(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Res {
    let c = authenticate(&s, &headers).await?;
    let (gid, doc) = load_group(&s, &id).await?;
    s.signin.store.delete_group(s.signin.tenant_id, gid).await?;
    let name = doc["displayName"].as_str().unwrap_or_default();
    audit(
        &s,
        &c,
        "group.deleted",
        name,
        json!({ "via": "scim delete" }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// Discovery

async fn service_provider_config(State(s): State<ScimState>, headers: HeaderMap) -> Res {
    authenticate(&s, &headers).await?;
    Ok(scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&s.base),
    ))
}

async fn schemas(State(s): State<ScimState>, headers: HeaderMap) -> Res {
    authenticate(&s, &headers).await?;
    let all = discovery::schemas(&s.base);
    list_response(all, &HashMap::new())
}

async fn schema(State(s): State<ScimState>, headers: HeaderMap, Path(id): Path<String>) -> Res {
    authenticate(&s, &headers).await?;
    discovery::schemas(&s.base)
        .into_iter()
        .find(|v| v["id"] == id)
        .map(|v| scim_json(StatusCode::OK, &v))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))
}

async fn resource_types(State(s): State<ScimState>, headers: HeaderMap) -> Res {
    authenticate(&s, &headers).await?;
    list_response(discovery::resource_types(&s.base), &HashMap::new())
}

async fn resource_type(
    State(s): State<ScimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Res {
    authenticate(&s, &headers).await?;
    discovery::resource_types(&s.base)
        .into_iter()
        .find(|v| v["id"] == id)
        .map(|v| scim_json(StatusCode::OK, &v))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {id:?}")))
}

async fn not_found(State(s): State<ScimState>, headers: HeaderMap) -> Res {
    authenticate(&s, &headers).await?;
    Err(ScimError::not_found("no such SCIM endpoint"))
}

pub mod discovery;

/// The SCIM routes, to merge into the user-facing router.
pub fn router(state: ScimState) -> Router {
    let scim = Router::new()
        .route("/Users", get(list_users).post(create_user))
        .route("/.search", axum::routing::post(search_all))
        .route("/Users/.search", axum::routing::post(search_users))
        .route("/Groups/.search", axum::routing::post(search_groups))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .fallback(not_found)
        .with_state(state);
    Router::new().nest("/scim/v2", scim)
}
