//! `passlogic-idp access-policy ...`: the tenant's access policy (who may reach which service,
//! from where, when), as JSON; the same document as `PUT /api/v1/access-policy`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::policy::engine::AccessPolicy;

use super::Context;
use crate::admin;

#[derive(Subcommand, Debug)]
pub enum AccessPolicyCommand {
    /// Replace the access policy with a JSON file (validated first).
    Put { file: PathBuf },
    /// Print the access policy.
    Show,
    /// Remove it: every signed-in user may reach every service again.
    Clear,
}

pub async fn run(ctx: &Context, command: AccessPolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccessPolicyCommand::Put { file } => {
            let text = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let policy: AccessPolicy = serde_json::from_slice(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            policy
                .validate()
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let before = ctx.store.access_policy(ctx.tenant_id).await?;
            ctx.store
                .put_access_policy(ctx.tenant_id, &policy, ctx.now)
                .await?;
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "access_policy.put",
                "access-policy",
                serde_json::json!({ "before": before, "after": policy }),
            )
            .await?;
            println!("access-policy: set");
        }
        AccessPolicyCommand::Show => match ctx.store.access_policy(ctx.tenant_id).await? {
            Some(p) => println!("{}", serde_json::to_string_pretty(&p)?),
            None => println!("access-policy: none (every user may reach every service)"),
        },
        AccessPolicyCommand::Clear => {
            let before = ctx.store.access_policy(ctx.tenant_id).await?;
            ctx.store.delete_access_policy(ctx.tenant_id).await?;
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "access_policy.delete",
                "access-policy",
                serde_json::json!({ "before": before, "after": null }),
            )
            .await?;
            println!("access-policy: cleared");
        }
    }
    Ok(ExitCode::SUCCESS)
}
