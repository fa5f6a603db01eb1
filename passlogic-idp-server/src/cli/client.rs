//! `passlogic-idp client ...`: the OpenID Connect client (relying party) registry.

use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::oidc::client_auth::hash_client_secret;
use passlogic_idp_core::oidc::types::{
    ClientRegistration, ClientSecret, GrantType, TokenEndpointAuthMethod,
};
use serde_json::json;

use super::Context;
use crate::admin;

/// Scopes a client may request unless `--scope` says otherwise.
const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Register a client. Confidential clients without --secret get a generated secret,
    /// printed once as `client_secret: ...`.
    Add {
        /// The client identifier.
        #[arg(long)]
        client_id: String,
        /// A redirect URI (exact match; repeat for several).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (exact match; repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The client secret (confidential clients); generated when omitted.
        #[arg(long, conflicts_with = "public")]
        secret: Option<String>,
        /// A public client (no secret, PKCE required).
        #[arg(long)]
        public: bool,
        /// Token endpoint authentication of a confidential client: `client_secret_basic`
        /// (default) or `client_secret_post`.
        #[arg(long, default_value = "client_secret_basic", conflicts_with = "public")]
        auth_method: String,
        /// An allowed scope (repeat; default: openid profile email offline_access).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// List clients, one JSON object per line.
    List,
}

fn check_uri(uri: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !uri.is_empty()
            && !uri.contains('#')
            && uri.contains(':')
            && !uri.bytes().any(|b| b <= 0x20 || b >= 0x7f),
        "{uri:?} is not an absolute URI without fragment"
    );
    Ok(())
}

pub async fn run(ctx: &Context, command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Add {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            secret,
            public,
            auth_method,
            scopes,
        } => {
            anyhow::ensure!(
                !client_id.is_empty()
                    && client_id.len() <= 200
                    && client_id.bytes().all(|b| b.is_ascii_graphic()),
                "the client id must be 1 to 200 visible ASCII characters"
            );
            for u in redirect_uris.iter().chain(&post_logout_redirect_uris) {
                check_uri(u)?;
            }
            let mut rng = rand::rngs::OsRng;
            let (mut reg, shown_secret) = if public {
                (
                    ClientRegistration::public(client_id.clone(), redirect_uris),
                    None,
                )
            } else {
                let generated = secret.is_none();
                let secret =
                    secret.unwrap_or_else(|| ClientSecret::generate(&mut rng).secret().to_owned());
                let mut reg = ClientRegistration::confidential(
                    client_id.clone(),
                    redirect_uris,
                    hash_client_secret(&secret, &mut rng),
                );
                reg.token_endpoint_auth_method = match auth_method.as_str() {
                    "client_secret_basic" => TokenEndpointAuthMethod::ClientSecretBasic,
                    "client_secret_post" => TokenEndpointAuthMethod::ClientSecretPost,
                    other => anyhow::bail!(
                        "unsupported --auth-method {other:?} (client_secret_basic or client_secret_post)"
                    ),
                };
                reg.grant_types.push(GrantType::ClientCredentials);
                (reg, generated.then_some(secret))
            };
            reg.post_logout_redirect_uris = post_logout_redirect_uris;
            reg.allowed_scopes = if scopes.is_empty() {
                DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
            } else {
                scopes
            };
            anyhow::ensure!(
                ctx.store
                    .create_oidc_client(ctx.tenant_id, &reg, ctx.now)
                    .await?,
                "a client with id {client_id:?} exists already"
            );
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "oidc.client.added",
                &client_id,
                json!({ "public": public }),
            )
            .await?;
            println!("client: {client_id}");
            println!("type: {}", if public { "public" } else { "confidential" });
            println!(
                "token_endpoint_auth_method: {}",
                reg.token_endpoint_auth_method.as_str()
            );
            if let Some(s) = shown_secret {
                println!("client_secret: {s}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::List => {
            for c in ctx.store.oidc_clients(ctx.tenant_id).await? {
                println!(
                    "{}",
                    json!({
                        "client_id": c.client_id.as_str(),
                        "type": if c.public { "public" } else { "confidential" },
                        "token_endpoint_auth_method": c.token_endpoint_auth_method.as_str(),
                        "redirect_uris": c.redirect_uris,
                        "post_logout_redirect_uris": c.post_logout_redirect_uris,
                        "allowed_scopes": c.allowed_scopes,
                        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                    })
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
