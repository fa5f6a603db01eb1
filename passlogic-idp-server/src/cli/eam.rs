//! `passlogic-idp eam ...`: register the provider as Microsoft Entra ID's external
//! authentication method and link Entra users to local users (docs/integrations/entra-eam.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::oidc::eam::EamConfig;
use passlogic_idp_core::oidc::jose::Jwks;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::eam_service::ENTRA_PROVIDER;

#[derive(Subcommand, Debug)]
pub enum EamCommand {
    /// Configure (or reconfigure) the Entra EAM profile.
    Configure {
        /// The client id Entra sends (what you enter as "Client ID" in Entra).
        #[arg(long)]
        client_id: String,
        /// The provider's Entra app registration id: the audience of Entra's id_token_hint.
        #[arg(long)]
        app_id: String,
        /// An accepted hint issuer, exact or with `{tenantid}` (repeat; default: Entra's
        /// global, US Government and China issuers with `{tenantid}`).
        #[arg(long = "issuer")]
        issuers: Vec<String>,
        /// Entra's signing keys as a JWKS file (from the tenant's keys URL).
        #[arg(long)]
        jwks: PathBuf,
        /// Link users whose `oid` + `tid` are not linked by this hint claim equal to the
        /// user name (e.g. `preferred_username`); `oid` (default) links only through
        /// `eam link`.
        #[arg(long, default_value = "oid")]
        link_claim: String,
        /// An accepted Entra tenant id (repeat; default: any tenant whose hint verifies).
        #[arg(long = "allowed-tenant")]
        allowed_tenants: Vec<String>,
        /// An accepted redirect URI (repeat; default: Entra's three endpoints).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
    },
    /// Link an Entra user (tenant id + object id) to a local user.
    Link {
        /// The local user name.
        user: String,
        /// The Entra tenant id (`tid`).
        #[arg(long)]
        tid: String,
        /// The Entra user's object id (`oid`).
        #[arg(long)]
        oid: String,
    },
    /// Print the configuration as JSON.
    Show,
}

fn check_id(what: &str, v: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic()),
        "{what} must be 1 to 200 visible ASCII characters"
    );
    Ok(())
}

pub async fn run(ctx: &Context, command: EamCommand) -> anyhow::Result<ExitCode> {
    match command {
        EamCommand::Configure {
            client_id,
            app_id,
            issuers,
            jwks,
            link_claim,
            allowed_tenants,
            redirect_uris,
        } => {
            check_id("--client-id", &client_id)?;
            check_id("--app-id", &app_id)?;
            let text = std::fs::read_to_string(&jwks)
                .map_err(|e| anyhow::anyhow!("{}: {e}", jwks.display()))?;
            let keys = Jwks::from_json(&text)
                .map_err(|e| anyhow::anyhow!("{}: not a JWKS: {e}", jwks.display()))?;
            let usable = keys.verifying_keys().len();
            anyhow::ensure!(usable > 0, "{}: no usable public key", jwks.display());
            anyhow::ensure!(
                ctx.store
                    .oidc_client(ctx.tenant_id, &client_id)
                    .await?
                    .is_none(),
                "{client_id:?} is a registered OpenID Connect client; choose another client id"
            );
            let mut config = EamConfig::new(client_id.clone(), app_id, keys);
            if !issuers.is_empty() {
                for i in &issuers {
                    anyhow::ensure!(i.starts_with("https://"), "--issuer {i:?} is not https");
                }
                config.allowed_issuers = issuers;
            }
            if !redirect_uris.is_empty() {
                config.redirect_uris = redirect_uris;
            }
            config.allowed_tenants = allowed_tenants;
            config.link_claim = (link_claim != "oid").then_some(link_claim);
            ctx.store
                .set_eam_config(ctx.tenant_id, &serde_json::to_string(&config)?, ctx.now)
                .await?;
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "oidc.eam.configured",
                &client_id,
                json!({ "keys": usable, "link_claim": config.link_claim }),
            )
            .await?;
            println!("eam: configured");
            println!("client_id: {client_id}");
            println!("keys: {usable}");
            Ok(ExitCode::SUCCESS)
        }
        EamCommand::Link { user, tid, oid } => {
            check_id("--tid", &tid)?;
            check_id("--oid", &oid)?;
            let u = ctx.user(&user).await?;
            anyhow::ensure!(
                ctx.store
                    .link_external_identity(
                        ctx.tenant_id,
                        ENTRA_PROVIDER,
                        &tid,
                        &oid,
                        u.id,
                        ctx.now
                    )
                    .await?,
                "tid {tid} oid {oid} is linked already"
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "oidc.eam.linked",
                &user,
                json!({ "tid": tid, "oid": oid }),
            )
            .await?;
            println!("linked: {user}");
            Ok(ExitCode::SUCCESS)
        }
        EamCommand::Show => {
            match ctx.store.eam_config(ctx.tenant_id).await? {
                Some(c) => println!("{c}"),
                None => anyhow::bail!("EAM is not configured (passlogic-idp eam configure)"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
