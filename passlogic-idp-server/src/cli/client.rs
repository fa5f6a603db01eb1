//! `passlogic-idp client ...`: the OpenID Connect client (relying party) registry.

use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::oidc::client_auth::hash_client_secret;
use passlogic_idp_core::oidc::jose::{Algorithm, Jwks};
use passlogic_idp_core::oidc::types::{
    ClientRegistration, ClientSecret, GrantType, ResponseType, TokenEndpointAuthMethod,
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

/// A private_key_jwt client's public keys: every key must be a usable RS256 or ES256
/// signature key without private parts.
fn client_keys(path: &std::path::Path) -> anyhow::Result<Jwks> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", path.display()))?;
    let private = value["keys"].as_array().is_some_and(|keys| {
        keys.iter()
            .any(|k| ["d", "p", "q", "k"].iter().any(|m| k.get(m).is_some()))
    });
    anyhow::ensure!(
        !private,
        "{}: contains private or symmetric key material; give the public keys only",
        path.display()
    );
    let jwks = Jwks::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a JWKS: {e}", path.display()))?;
    anyhow::ensure!(!jwks.keys.is_empty(), "{}: no keys", path.display());
    for k in &jwks.keys {
        let key = k
            .to_verifying_key()
            .map_err(|e| anyhow::anyhow!("{}: key {:?}: {e}", path.display(), k.kid))?;
        anyhow::ensure!(
            matches!(key.alg(), None | Some(Algorithm::Rs256 | Algorithm::Es256))
                && matches!(k.kty.as_str(), "RSA" | "EC"),
            "{}: key {:?}: only RS256 and ES256 keys",
            path.display(),
            k.kid
        );
    }
    Ok(jwks)
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
            // The Entra EAM client id is answered by the EAM profile; a client with the same
            // id would never be reached.
            if let Some(eam) = ctx.store.eam_config(ctx.tenant_id).await? {
                let eam: passlogic_idp_core::oidc::eam::EamConfig = serde_json::from_str(&eam)?;
                anyhow::ensure!(
                    eam.client_id.as_str() != client_id,
                    "{client_id:?} is the Entra EAM client id (eam configure)"
                );
            }
            let mut rng = rand::rngs::OsRng;
            let (mut reg, shown_secret) = if public {
                (
                    ClientRegistration::public(client_id.clone(), redirect_uris),
                    None,
                )
            } else if let Some(path) = &jwks {
                anyhow::ensure!(
                    matches!(
                        auth_method.as_str(),
                        "client_secret_basic" | "private_key_jwt"
                    ),
                    "--jwks means --auth-method private_key_jwt"
                );
                let keys = client_keys(path)?;
                let mut reg = ClientRegistration::confidential(
                    client_id.clone(),
                    redirect_uris,
                    String::new(),
                );
                reg.client_secret_hash = None;
                reg.jwks = Some(keys);
                reg.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
                reg.grant_types.push(GrantType::ClientCredentials);
                (reg, None)
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
                    "private_key_jwt" => anyhow::bail!("private_key_jwt needs --jwks FILE"),
                    other => anyhow::bail!(
                        "unsupported --auth-method {other:?} (client_secret_basic, \
                         client_secret_post or private_key_jwt)"
                    ),
                };
                reg.grant_types.push(GrantType::ClientCredentials);
                (reg, generated.then_some(secret))
            };
            if !response_types.is_empty() {
                let mut parsed = Vec::new();
                for r in &response_types {
                    let t = match r.as_str() {
                        "code" => ResponseType::Code,
                        "id_token" => ResponseType::IdToken,
                        other => anyhow::bail!(
                            "unsupported --response-type {other:?} (code or id_token)"
                        ),
                    };
                    if !parsed.contains(&t) {
                        parsed.push(t);
                    }
                }
                reg.response_types = parsed;
            }
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
                        "response_types": c.response_types.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                        "jwks_keys": c.jwks.as_ref().map(|j| j.keys.len()),
                    })
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
