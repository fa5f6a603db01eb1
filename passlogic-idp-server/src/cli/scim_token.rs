//! `passlogic-idp scim-token ...`: bearer tokens of SCIM provisioning clients (Entra ID...).
//! Each is an admin-API token named `scim:NAME` whose only scope is `scim`, so it reaches
//! `/scim/v2` and nothing of the admin API; stored as a hash like every API token.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::api::auth::create_token;
use crate::scim::{SCOPE, TOKEN_NAME_PREFIX};

#[derive(Subcommand, Debug)]
pub enum ScimTokenCommand {
    /// Create a token; prints `scim-token: TOKEN` once (it is stored only as a hash).
    Create {
        /// The provisioning client's name (audited as `scim:NAME`).
        name: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_days: Option<i64>,
    },
    /// Revoke a token.
    Revoke { name: String },
}

pub async fn run(ctx: &Context, command: ScimTokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        ScimTokenCommand::Create { name, expires_days } => {
            anyhow::ensure!(
                crate::provisioning::csv::valid_name(&name),
                "a token name is 1-128 letters, digits, - _ . or @"
            );
            let full = format!("{TOKEN_NAME_PREFIX}{name}");
            let expires_at = expires_days.map(|d| ctx.now + d * 86_400);
            let Some(token) = create_token(
                &ctx.store,
                ctx.tenant_id,
                &full,
                vec![SCOPE.to_owned()],
                expires_at,
                ctx.now,
            )
            .await?
            else {
                anyhow::bail!("a SCIM token named {name:?} exists; revoke it or pick another name");
            };
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "scim_token.created",
                &full,
                json!({ "expires_at": expires_at }),
            )
            .await?;
            println!("scim-token: {token}");
        }
        ScimTokenCommand::Revoke { name } => {
            let full = format!("{TOKEN_NAME_PREFIX}{name}");
            anyhow::ensure!(
                ctx.store
                    .revoke_api_token(ctx.tenant_id, &full, ctx.now)
                    .await?,
                "no active SCIM token named {name:?}"
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "scim_token.revoked",
                &full,
                json!({}),
            )
            .await?;
            println!("revoked: {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
