//! Bearer API tokens with scopes. A token is 256 random bits shown once; the store keeps its
//! SHA-256, so the lookup is by hash (no secret comparison happens in Rust, hence no timing
//! side channel) and a stolen database holds no usable token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::problem::Problem;
use super::ApiState;
use crate::store::{ApiTokenRow, Store};
use crate::tokens::{hash_token, new_token};

/// Every scope a token can carry.
pub const SCOPES: &[&str] = &[
    "users:read",
    "users:write",
    "groups:read",
    "groups:write",
    "policies:read",
    "policies:write",
    "services:read",
    "services:write",
    "audit:read",
];

/// Prefix of every API token (helps secret scanners recognise a leaked one).
const TOKEN_PREFIX: &str = "plat_";

/// Parses `users:read,users:write` (or `all`) into known scopes.
pub fn parse_scopes(text: &str) -> anyhow::Result<Vec<String>> {
    if text.trim() == "all" {
        return Ok(SCOPES.iter().map(|s| (*s).to_owned()).collect());
    }
    let mut out = Vec::new();
    for s in text
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        anyhow::ensure!(
            SCOPES.contains(&s),
            "unknown scope {s:?}; known: {} (or all)",
            SCOPES.join(", ")
        );
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    anyhow::ensure!(!out.is_empty(), "give at least one scope");
    Ok(out)
}

/// Creates a token; returns it (the only time it exists outside the caller's hands).
/// `Ok(None)`: the name is taken.
pub async fn create_token(
    store: &Store,
    tenant_id: i64,
    name: &str,
    scopes: Vec<String>,
    expires_at: Option<i64>,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let token = format!("{TOKEN_PREFIX}{}", new_token());
    let row = ApiTokenRow {
        tenant_id,
        name: name.to_owned(),
        scopes,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    Ok(store
        .create_api_token(&row, &hash_token(&token))
        .await?
        .then_some(token))
}

/// The authenticated caller of an admin API request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name; audited as `api:NAME`.
    pub name: String,
    scopes: Vec<String>,
}

impl Caller {
    /// The audit trail's actor.
    pub fn actor(&self) -> String {
        format!("api:{}", self.name)
    }

    /// 403 unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "Insufficient scope",
                format!("this token lacks the scope {scope}"),
            ))
        }
    }
}

fn unauthorized(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, Problem> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("send Authorization: Bearer <API token>"))?;
        let row = state
            .signin
            .store
            .api_token_by_hash(&hash_token(token))
            .await?;
        let now = state.signin.clock.unix();
        match row {
            Some(r)
                if r.tenant_id == state.signin.tenant_id
                    && r.revoked_at.is_none()
                    && r.expires_at.is_none_or(|e| now < e) =>
            {
                Ok(Caller {
                    name: r.name,
                    scopes: r.scopes,
                })
            }
            _ => Err(unauthorized("the API token is unknown, revoked or expired")),
        }
    }
}
