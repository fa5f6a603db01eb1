//! `/api/v1/users/{name}/certificates`: client certificates of the private CA for the admin
//! console (download from the admin side, e-mail, printable sheet, revocation). See
//! [`crate::client_cert`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::problem::{parse_json, Problem};
use super::{audit_change, ApiState};
use crate::store::UserRow;

async fn load(state: &ApiState, name: &str) -> Result<UserRow, Problem> {
    state
        .signin
        .store
        .user_by_name(state.signin.tenant_id, name)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no user named {name:?}")))
}

async fn list_json(state: &ApiState, u: &UserRow) -> Result<Value, Problem> {
    let s = &state.signin;
    let certs = s.store.client_certs(s.tenant_id, Some(u.id)).await?;
    Ok(Value::Array(
        certs
            .into_iter()
            .map(|c| {
                json!({
                    "serial": c.serial,
                    "not_after": c.not_after,
                    "status": if c.revoked_at.is_some() { "revoked" } else { "active" },
                    "revoked_at": c.revoked_at,
                })
            })
            .collect(),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    /// Also e-mail the PKCS#12 to the user's address (the password goes on the sheet).
    #[serde(default)]
    email: bool,
}

/// `POST /api/v1/users/{name}/certificates`: 201 with the serial, the PKCS#12 (base64) and its
/// password, shown this once.
pub async fn issue(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.require("users:write")?;
    let req: IssueRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IssueRequest::default()
    } else {
        parse_json(&body)?
    };
    let u = load(&state, &name).await?;
    let mail = if req.email {
        let Some(settings) = crate::mail::MailSettings::for_serve() else {
            return Err(Problem::conflict(
                "e-mail delivery is not configured (serve --smtp-url and --smtp-from)",
            ));
        };
        if u.email.as_deref().is_none_or(str::is_empty) {
            return Err(Problem::invalid(format!(
                "user {name:?} has no e-mail address"
            )));
        }
        Some(settings)
    } else {
        None
    };
    let s = &state.signin;
    let before = list_json(&state, &u).await?;
    let (issued, password) = s
        .issue_for_distribution(&u, &caller.actor(), req.email)
        .await?;
    let emailed = match mail {
        Some(settings) => {
            if let Err(e) = crate::client_cert::email_certificate(settings, &u, &issued).await {
                tracing::warn!(error = %format!("{e:#}"), "e-mailing a certificate failed");
                s.audit(s.audit_event(
                    &caller.actor(),
                    "cert.emailed",
                    &u.name,
                    "failure",
                    json!({ "serial": issued.serial, "error": format!("{e:#}") }),
                    None,
                ))
                .await;
                false
            } else {
                s.audit(s.audit_event(
                    &caller.actor(),
                    "cert.emailed",
                    &u.name,
                    "success",
                    json!({ "serial": issued.serial }),
                    None,
                ))
                .await;
                true
            }
        }
        None => false,
    };
    let after = list_json(&state, &u).await?;
    audit_change(&state, &caller, "cert.issued", &name, before, after).await?;
    let row = s
        .store
        .client_cert(s.tenant_id, &issued.serial)
        .await?
        .ok_or_else(|| anyhow::anyhow!("issued certificate vanished"))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "serial": issued.serial,
            "not_after": row.not_after,
            "pkcs12": base64::engine::general_purpose::STANDARD.encode(&issued.pkcs12),
            "password": password,
            "emailed": emailed,
            "email_requested": req.email,
        })),
    )
        .into_response())
}

/// `GET /api/v1/users/{name}/certificates`
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    caller.require("users:read")?;
    let u = load(&state, &name).await?;
    Ok(Json(list_json(&state, &u).await?))
}

/// `DELETE /api/v1/users/{name}/certificates/{serial}`: revokes.
pub async fn revoke(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, serial)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.require("users:write")?;
    let u = load(&state, &name).await?;
    let s = &state.signin;
    let serial = serial.trim().to_ascii_lowercase();
    let owned = s
        .store
        .client_cert(s.tenant_id, &serial)
        .await?
        .is_some_and(|c| c.user_id == u.id && c.revoked_at.is_none());
    if !owned {
        return Err(Problem::not_found(format!(
            "{name:?} has no active certificate {serial:?}"
        )));
    }
    let before = list_json(&state, &u).await?;
    if !s.revoke_client_cert(&serial, &caller.actor()).await? {
        return Err(Problem::not_found(format!(
            "{name:?} has no active certificate {serial:?}"
        )));
    }
    let after = list_json(&state, &u).await?;
    audit_change(&state, &caller, "cert.revoked", &name, before, after).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/users/{name}/certificates/{serial}/sheet`: the printable sheet (HTML); the
/// one-time password is on it the first time only.
pub async fn sheet(
    State(state): State<ApiState>,
    caller: Caller,
    Path((name, serial)): Path<(String, String)>,
) -> Result<Response, Problem> {
    caller.require("users:write")?;
    let u = load(&state, &name).await?;
    let Some(facts) = state
        .signin
        .cert_sheet(&u, &serial, &caller.actor())
        .await?
    else {
        return Err(Problem::not_found(format!(
            "{name:?} has no certificate {serial:?}"
        )));
    };
    let (html, csp) = crate::client_cert::render_sheet(&facts)?;
    let mut res = (StatusCode::OK, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}
