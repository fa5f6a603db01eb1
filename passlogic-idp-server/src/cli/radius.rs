//! `passlogic-idp radius-client ...`: the RADIUS client registry (see `crate::radius::clients`).

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::radius::clients;

#[derive(Subcommand, Debug)]
pub enum RadiusClientCommand {
    /// Register a RADIUS client (NAS). Prints `radius-client: NAME`, `address: CIDR` and, with
    /// --generate, `secret: SECRET` (shown once; stored sealed).
    Add {
        /// A name for the client (unique), e.g. `vpn-gw1`.
        name: String,
        /// Source addresses it sends from: an address or CIDR (`192.0.2.10`, `10.1.0.0/24`).
        #[arg(long)]
        address: String,
        /// The shared secret (at least 16 characters). Prefer --generate: a command line can
        /// be seen by other local users.
        #[arg(
            long,
            conflicts_with = "generate",
            required_unless_present = "generate"
        )]
        secret: Option<String>,
        /// Generate a random shared secret and print it once.
        #[arg(long)]
        generate: bool,
        /// Legacy clients only: accept Access-Requests without Message-Authenticator
        /// (weakens the Blast-RADIUS defence, CVE-2024-3596).
        #[arg(long)]
        no_message_authenticator: bool,
    },
    /// List clients, one JSON object per line (`name`, `address`,
    /// `require_message_authenticator`; never the secret).
    List,
}

pub async fn run(ctx: &Context, command: RadiusClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        RadiusClientCommand::Add {
            name,
            address,
            secret,
            generate,
            no_message_authenticator,
        } => {
            let (secret, generated) = match secret {
                Some(s) if !generate => (s, false),
                _ => (clients::generate_secret(), true),
            };
            let created = clients::register(
                &ctx.store,
                &ctx.keyring,
                ctx.tenant_id,
                &name,
                &address,
                &secret,
                !no_message_authenticator,
                ctx.now,
            )
            .await?;
            anyhow::ensure!(created, "a RADIUS client named {name:?} exists already");
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "radius.client.added",
                &name,
                json!({ "address": address, "require_message_authenticator": !no_message_authenticator }),
            )
            .await?;
            let stored = ctx
                .store
                .radius_clients(ctx.tenant_id)
                .await?
                .into_iter()
                .find(|c| c.name == name)
                .ok_or_else(|| anyhow::anyhow!("the new client vanished"))?;
            println!("radius-client: {name}");
            println!("address: {}", stored.address);
            if generated {
                println!("secret: {secret}");
            }
            Ok(ExitCode::SUCCESS)
        }
        RadiusClientCommand::List => {
            for c in ctx.store.radius_clients(ctx.tenant_id).await? {
                let line = json!({
                    "name": c.name,
                    "address": c.address,
                    "require_message_authenticator": c.require_message_authenticator,
                });
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
