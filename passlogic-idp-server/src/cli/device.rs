//! `passlogic-idp device ...`: a user's registered browsers (device-cookie step).

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::admin;

#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// List a user's registered browsers: `ID<TAB>LABEL<TAB>CREATED<TAB>LAST-USED`.
    List { user: String },
    /// Remove one (frees a slot under the policy's device limit).
    Remove { user: String, id: String },
}

pub async fn run(ctx: &Context, command: DeviceCommand) -> anyhow::Result<ExitCode> {
    match command {
        DeviceCommand::List { user } => {
            let u = ctx.user(&user).await?;
            for d in ctx.store.devices(u.id).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    d.id, d.label, d.created_at, d.last_used_at
                );
            }
        }
        DeviceCommand::Remove { user, id } => {
            let u = ctx.user(&user).await?;
            anyhow::ensure!(
                ctx.store.delete_device(u.id, &id).await?,
                "{user:?} has no device {id:?}"
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "device.removed",
                &user,
                json!({ "device": id }),
            )
            .await?;
            println!("removed: {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
