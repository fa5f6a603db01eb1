//! `/api/v1/audit`: the newest audit events, with their details (who, what, before/after).

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::problem::Problem;
use super::ApiState;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<i64>,
}

/// `GET /api/v1/audit?limit=N` (1..=1000, default 100), newest first.
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, Problem> {
    caller.require("audit:read")?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request("limit: 1 to 1000"));
    }
    let rows = state
        .signin
        .store
        .audit_page(state.signin.tenant_id, limit)
        .await?;
    Ok(Json(Value::Array(
        rows.into_iter()
            .map(|e| {
                json!({
                    "at": e.at,
                    "actor": e.actor,
                    "event": e.event,
                    "subject": e.subject,
                    "outcome": e.outcome,
                    "detail": e.detail,
                    "source_ip": e.source_ip,
                })
            })
            .collect(),
    )))
}
