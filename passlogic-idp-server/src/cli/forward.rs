//! `passlogic-idp forward-auth-app ...`: web apps protected by forward authentication.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::store::ForwardAppRow;

#[derive(Subcommand, Debug)]
pub enum ForwardAppCommand {
    /// Register an app by the host name the reverse proxy serves it on. Prints
    /// `forward-auth-app: NAME` and `host: HOST`.
    Add {
        /// Name that policies list in `forward_auth_apps`.
        name: String,
        /// Host name, e.g. wiki.example.com (no scheme, no port).
        #[arg(long)]
        host: String,
    },
    /// List apps, one JSON object (`name`, `host`) per line.
    List,
}

pub async fn run(ctx: &Context, command: ForwardAppCommand) -> anyhow::Result<ExitCode> {
    match command {
        ForwardAppCommand::Add { name, host } => {
            let host = host.trim().to_ascii_lowercase();
            anyhow::ensure!(
                !name.is_empty() && name.len() <= 64,
                "the app name must be 1 to 64 characters"
            );
            let valid = !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            anyhow::ensure!(valid, "--host {host:?}: a host name without scheme or port");
            let app = ForwardAppRow {
                name: name.clone(),
                host: host.clone(),
            };
            anyhow::ensure!(
                ctx.store
                    .create_forward_app(ctx.tenant_id, &app, ctx.now)
                    .await?,
                "an app named {name:?} or for host {host:?} exists already"
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "forward_auth.app.added",
                &name,
                json!({ "host": host }),
            )
            .await?;
            println!("forward-auth-app: {name}");
            println!("host: {host}");
            Ok(ExitCode::SUCCESS)
        }
        ForwardAppCommand::List => {
            for a in ctx.store.forward_apps(ctx.tenant_id).await? {
                println!("{}", json!({ "name": a.name, "host": a.host }));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
