//! `passlogic-idp passkey ...`: a user's passkeys (WebAuthn credentials of the passkey step).
//! Registration needs the user's authenticator, so it happens at `/account/passkeys` only.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::admin;

#[derive(Subcommand, Debug)]
pub enum PasskeyCommand {
    /// List a user's passkeys: `ID<TAB>LABEL<TAB>CREATED<TAB>LAST-USED<TAB>SIGN-COUNT<TAB>synced|device-bound`.
    List { user: String },
    /// Remove one (the user can no longer sign in with it).
    Remove { user: String, id: String },
}

pub async fn run(ctx: &Context, command: PasskeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PasskeyCommand::List { user } => {
            let u = ctx.user(&user).await?;
            for p in ctx.store.passkeys(u.id).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    p.id,
                    p.label,
                    p.created_at,
                    p.last_used_at,
                    p.sign_count,
                    if p.backup_eligible {
                        "synced"
                    } else {
                        "device-bound"
                    }
                );
            }
        }
        PasskeyCommand::Remove { user, id } => {
            let u = ctx.user(&user).await?;
            anyhow::ensure!(
                ctx.store.delete_passkey(u.id, &id).await?,
                "{user:?} has no passkey {id:?}"
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "passkey.removed",
                &user,
                json!({ "passkey": id }),
            )
            .await?;
            println!("removed: {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
