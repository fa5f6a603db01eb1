//! `passlogic-idp client ...`: the OpenID Connect client (relying party) registry.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::portal::{check_display_name, check_login_url, PortalInfo};
use crate::registry::{register_client, NewClient, RegisteredClient};

/// Scopes a client may request unless `--scope` says otherwise.
// Parsed once per run: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
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
        #[arg(long, conflicts_with_all = ["public", "jwks"])]
        secret: Option<String>,
        /// The client's public keys (JWKS file, RS256 or ES256): the client authenticates with
        /// `private_key_jwt` and has no secret.
        #[arg(long, conflicts_with = "public")]
        jwks: Option<std::path::PathBuf>,
        /// A response type the client may use: `code` (default) or `id_token` (implicit;
        /// repeat for both).
        #[arg(long = "response-type")]
        response_types: Vec<String>,
        /// A public client (no secret, PKCE required).
        #[arg(long)]
        public: bool,
        /// Token endpoint authentication of a confidential client: `client_secret_basic`
        /// (default), `client_secret_post`, or `private_key_jwt` (implied by --jwks).
        #[arg(long, default_value = "client_secret_basic", conflicts_with = "public")]
        auth_method: String,
        /// An allowed scope (repeat; default: openid profile email offline_access).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The client's login URL (OIDC `initiate_login_uri`): a page of the client that
        /// starts a sign-in. Clients with one get a tile on the user portal.
        #[arg(long, value_name = "URL")]
        login_url: Option<String>,
        /// The name on the user portal's tile (default: the client ID).
        #[arg(long, value_name = "TEXT")]
        display_name: Option<String>,
    },
    /// List clients, one JSON object per line.
    List,
}

pub async fn run(ctx: &Context, command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Add {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            secret,
            jwks,
            response_types,
            public,
            auth_method,
            scopes,
            login_url,
            display_name,
        } => {
            let portal = portal_info(login_url.as_deref(), display_name.as_deref())?;
            let jwks = match &jwks {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                ),
                None => None,
            };
            let new = NewClient {
                client_id: client_id.clone(),
                redirect_uris,
                post_logout_redirect_uris,
                secret,
                jwks,
                response_types,
                public,
                auth_method,
                scopes,
            };
            let RegisteredClient {
                registration: reg,
                shown_secret,
            } = match register_client(&ctx.store, ctx.tenant_id, new, ctx.now).await? {
                Ok(r) => r,
                Err(reason) => anyhow::bail!(reason),
            };
            if let Some(json) = portal.to_column() {
                ctx.store
                    .set_oidc_client_portal(ctx.tenant_id, &client_id, Some(&json))
                    .await?;
            }
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "oidc.client.added",
                &client_id,
                json!({ "public": public, "portal": portal }),
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
                        "response_types": c.response_types.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                        "jwks_keys": c.jwks.as_ref().map(|j| j.keys.len()),
                    })
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Checks the portal flags of `client add` / `sp add`.
pub(super) fn portal_info(
    login_url: Option<&str>,
    display_name: Option<&str>,
) -> anyhow::Result<PortalInfo> {
    Ok(PortalInfo {
        login_url: login_url
            .map(check_login_url)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--login-url: {e}"))?,
        display_name: display_name
            .map(check_display_name)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--display-name: {e}"))?,
    })
}
