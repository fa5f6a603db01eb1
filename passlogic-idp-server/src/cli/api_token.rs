//! `passlogic-idp api-token ...`: bearer tokens of the admin REST API.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::api::auth::{create_token, parse_scopes};

#[derive(Subcommand, Debug)]
pub enum ApiTokenCommand {
    /// Create a token; prints `api-token: TOKEN` once (it is stored only as a hash).
    Create {
        /// A name for the token (the audit trail shows changes as `api:NAME`).
        name: String,
        /// Comma-separated scopes (users:read, users:write, groups:read, groups:write,
        /// policies:read, policies:write, services:read, services:write, audit:read) or `all`.
        #[arg(long)]
        scopes: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_days: Option<i64>,
    },
    /// List tokens (names, scopes, state; never the tokens).
    List,
    /// Revoke a token.
    Revoke { name: String },
}

pub async fn run(ctx: &Context, command: ApiTokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        ApiTokenCommand::Create {
            name,
            scopes,
            expires_days,
        } => {
            let scopes = parse_scopes(&scopes)?;
            let expires_at = expires_days.map(|d| ctx.now + d * 86_400);
            let Some(token) = create_token(
                &ctx.store,
                ctx.tenant_id,
                &name,
                scopes.clone(),
                expires_at,
                ctx.now,
            )
            .await?
            else {
                anyhow::bail!("a token named {name:?} exists; revoke it or pick another name");
            };
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "api_token.created",
                &name,
                json!({ "scopes": scopes, "expires_at": expires_at }),
            )
            .await?;
            println!("api-token: {token}");
            Ok(ExitCode::SUCCESS)
        }
        ApiTokenCommand::List => {
            for t in ctx.store.api_tokens(ctx.tenant_id).await? {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(e)) if e <= ctx.now => "expired",
                    _ => "active",
                };
                println!("{}\t{}\t{}", t.name, state, t.scopes.join(","));
            }
            Ok(ExitCode::SUCCESS)
        }
        ApiTokenCommand::Revoke { name } => {
            anyhow::ensure!(
                ctx.store
                    .revoke_api_token(ctx.tenant_id, &name, ctx.now)
                    .await?,
                "no active token named {name:?}"
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "api_token.revoked",
                &name,
                json!({}),
            )
            .await?;
            println!("revoked: {name}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
