//! `passlogic-idp sp ...`: the SAML service provider registry.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use passlogic_idp_core::saml::metadata::parse_sp_metadata;
use passlogic_idp_core::saml::{MessageLimits, ServiceProvider};
use serde_json::json;

use super::Context;
use crate::admin;

/// SaaS presets: what the SP expects beyond its metadata (NameID, attributes, signing...).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Preset {
    /// Microsoft 365 / Entra ID domain federation.
    Entra,
    /// Google Workspace.
    Google,
    /// Salesforce.
    Salesforce,
    /// Box.
    Box,
}

#[derive(Subcommand, Debug)]
pub enum SpCommand {
    /// Register a service provider from its SAML metadata. Without --preset: NameID format
    /// from the metadata (emailAddress when listed), the e-mail address as value, the
    /// assertion signed.
    Add {
        /// The SP's metadata (EntityDescriptor XML).
        #[arg(long)]
        metadata: PathBuf,
        /// Apply a SaaS preset's NameID, attributes, signing and AuthnContext settings.
        #[arg(long, value_enum)]
        preset: Option<Preset>,
    },
    /// List service providers, one JSON object (the stored settings) per line.
    List,
}

/// Endpoints and keys from the metadata; behaviour from the preset.
fn apply_preset(mut sp: ServiceProvider, preset: Preset) -> ServiceProvider {
    let p = match preset {
        Preset::Entra => ServiceProvider::microsoft_entra(),
        Preset::Google => ServiceProvider::google_workspace("example.com", false),
        Preset::Salesforce => ServiceProvider::salesforce("example"),
        Preset::Box => ServiceProvider::box_com(),
    };
    sp.sign = p.sign;
    sp.name_id_format = p.name_id_format;
    sp.name_id_source = p.name_id_source;
    sp.attributes = p.attributes;
    sp.authn_context = p.authn_context;
    sp.omit_authenticating_authority = p.omit_authenticating_authority;
    sp.allow_sha1_inbound = p.allow_sha1_inbound;
    sp.want_authn_requests_signed |= p.want_authn_requests_signed;
    sp.want_logout_requests_signed = p.want_logout_requests_signed;
    sp
}

pub async fn run(ctx: &Context, command: SpCommand) -> anyhow::Result<ExitCode> {
    match command {
        SpCommand::Add { metadata, preset } => {
            let xml = std::fs::read_to_string(&metadata)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", metadata.display()))?;
            let mut sp = parse_sp_metadata(&xml, &MessageLimits::default())
                .map_err(|e| anyhow::anyhow!("{}: {e}", metadata.display()))?;
            if let Some(p) = preset {
                sp = apply_preset(sp, p);
            }
            sp.validate()
                .map_err(|e| anyhow::anyhow!("the service provider cannot be registered: {e}"))?;
            anyhow::ensure!(
                ctx.store
                    .create_saml_sp(ctx.tenant_id, &sp, ctx.now)
                    .await?,
                "a service provider with entity ID {:?} exists already",
                sp.entity_id
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "saml.sp.added",
                &sp.entity_id,
                json!({ "preset": preset.map(|p| format!("{p:?}").to_lowercase()) }),
            )
            .await?;
            println!("sp: {}", sp.entity_id);
            for a in &sp.acs {
                println!("acs: {}", a.url);
            }
            println!("name_id_format: {}", sp.name_id_format);
            Ok(ExitCode::SUCCESS)
        }
        SpCommand::List => {
            for sp in ctx.store.saml_sps(ctx.tenant_id).await? {
                println!("{}", serde_json::to_string(&sp)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
