//! The `passlogic-idp` command line (clap). Flags and printed lines are a published interface:
//! see docs/testability.md before changing any.

mod access;
mod api_token;
mod authenticator;
mod authenticator_key;
mod cert;
mod client;
mod device;
// Passkeys (WebAuthn).
mod eam;
mod forward;
mod ldap;
mod passkey;
mod policy;
mod radius;
mod scim_token;
mod seed;
mod sp;
mod token;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use passlogic_idp_core::seal::Keyring;

use crate::admin;
use crate::clock::Clock;
use crate::config::{FileConfig, StoreArgs, StoreSettings};
use crate::server::{self, ServeOptions};
use crate::signin::SignIn;
use crate::store::{Store, UserRow};

#[derive(Parser, Debug)]
#[command(
    name = "passlogic-idp",
    version,
    about = "SAML 2.0 / OpenID Connect identity provider with matrix one-time passwords"
)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the IdP.
    Serve {
        /// Address of the user-facing listener (port 0 picks a free port).
        #[arg(long, env = "PASSLOGIC_LISTEN")]
        listen: Option<String>,
        /// Public base URL (https://... makes cookies Secure).
        #[arg(long, env = "PASSLOGIC_PUBLIC_URL")]
        public_url: Option<String>,
        /// Demo mode: demo tenant and users with printed patterns; data in a temporary
        /// directory unless --data-dir is given. Never for production.
        #[arg(long)]
        demo: bool,
        /// Tests only: adds POST /_test/clock to move the server clock forward.
        #[arg(long, hide = true)]
        test_clock: bool,
        /// UDP address of the RADIUS server, e.g. 0.0.0.0:1812 (default: no RADIUS). With
        /// --demo, also registers a demo RADIUS client for 127.0.0.1 and prints its secret.
        #[arg(long, env = "PASSLOGIC_RADIUS_LISTEN")]
        radius_listen: Option<String>,
        /// Parent domain of web apps behind forward authentication (GET /auth/forward);
        /// repeatable. Return URLs (`rd=`) outside these domains are refused.
        #[arg(long = "forward-auth-domain")]
        forward_auth_domains: Vec<String>,
        /// Domain attribute of the session cookie, e.g. example.com, so the apps of
        /// forward authentication under it receive it (default: host-only).
        #[arg(long, env = "PASSLOGIC_COOKIE_DOMAIN")]
        cookie_domain: Option<String>,
        /// Names of the identity headers of /auth/forward, as USER,EMAIL,GROUPS
        /// (default Remote-User,Remote-Email,Remote-Groups).
        #[arg(long)]
        forward_auth_headers: Option<String>,
        /// Address of the admin REST API listener (default: the user listener's host, its
        /// port + 1; port 0 when the user listener's port is 0). `off` disables it.
        #[arg(long, env = "PASSLOGIC_ADMIN_LISTEN")]
        admin_listen: Option<String>,
        /// A reverse proxy (address or CIDR) whose X-Forwarded-For / Forwarded headers are
        /// believed for the client address. Repeatable. Without it, headers are ignored.
        #[arg(long = "trusted-proxy")]
        trusted_proxies: Vec<String>,
        /// Sync every LDAP source every SECS seconds (default: off). Safe on several nodes: a
        /// lease row per source lets one node at a time sync it.
        #[arg(long, env = "PASSLOGIC_LDAP_SYNC_INTERVAL")]
        ldap_sync_interval: Option<u64>,
        /// Base URL (http://) of the external face verifier of the `biometric` step
        /// (contract: docs/integrations/face-verifier.md).
        #[arg(long, requires = "face_verifier_secret_file")]
        face_verifier_url: Option<String>,
        /// File holding the face verifier's shared credential (at least 16 bytes).
        #[arg(long, requires = "face_verifier_url")]
        face_verifier_secret_file: Option<PathBuf>,
        /// Watch this directory for `*.csv` user imports (scheduled CSV drops); each is
        /// applied whole or not at all, then moved to done/ or failed/ with a report.
        #[arg(long)]
        csv_drop_dir: Option<PathBuf>,
        /// Seconds between scans of --csv-drop-dir.
        #[arg(long, default_value_t = 60)]
        csv_drop_interval: u64,
        /// SCIM DELETE of a user removes it (default: deactivates it).
        #[arg(long)]
        scim_delete_users: bool,
        #[command(flatten)]
        tls: crate::tls::TlsArgs,
    },
    /// SCIM provisioning client tokens.
    ScimToken {
        #[command(subcommand)]
        command: scim_token::ScimTokenCommand,
    },
    /// Admin REST API tokens.
    ApiToken {
        #[command(subcommand)]
        command: api_token::ApiTokenCommand,
    },
    /// Benchmarks only: create many users with one known pattern (and TOTP secret).
    SeedUsers(seed::SeedArgs),
    /// Client certificates of the private CA (PKCS#12, revocation, CRL).
    Cert {
        #[command(subcommand)]
        command: cert::CertCommand,
    },
    /// Registered browsers (device-cookie step).
    Device {
        #[command(subcommand)]
        command: device::DeviceCommand,
    },
    /// Passkeys (WebAuthn) of the passkey step.
    Passkey {
        #[command(subcommand)]
        command: passkey::PasskeyCommand,
    },
    /// The access policy: who may reach which service, from where, when.
    AccessPolicy {
        #[command(subcommand)]
        command: access::AccessPolicyCommand,
    },
    /// Manage users and their factors.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Hardware tokens: import seeds, assign to users.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Authentication policies (factor combinations, lockout...).
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// Groups and their policies.
    Group {
        #[command(subcommand)]
        command: policy::GroupCommand,
    },
    /// Manage keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// OpenID Connect clients (relying parties).
    Client {
        #[command(subcommand)]
        command: client::ClientCommand,
    },
    /// Microsoft Entra ID external authentication method (EAM).
    Eam {
        #[command(subcommand)]
        command: eam::EamCommand,
    },
    /// SAML service providers.
    Sp {
        #[command(subcommand)]
        command: sp::SpCommand,
    },
    /// RADIUS clients (VPN gateways, firewalls...) allowed to ask the RADIUS server.
    RadiusClient {
        #[command(subcommand)]
        command: radius::RadiusClientCommand,
    },
    /// Web apps behind forward authentication (nginx auth_request, Traefik, Caddy).
    ForwardAuthApp {
        #[command(subcommand)]
        command: forward::ForwardAppCommand,
    },
    /// LDAP / Active Directory sources to sync users from.
    LdapSource {
        #[command(subcommand)]
        command: ldap::LdapSourceCommand,
    },
    /// Sync users and groups from an LDAP source now (or --dry-run to see the changes).
    LdapSync(ldap::SyncArgs),
    /// The reference authenticator (offline).
    Authenticator {
        #[command(subcommand)]
        command: AuthenticatorCommand,
    },
}

#[derive(Subcommand, Debug)]
#[allow(clippy::enum_variant_names)] // the subcommand names (rotate-...) are the CLI contract
enum KeysCommand {
    /// Re-seal every stored secret under a new key-encryption key.
    RotateKek {
        /// Seconds to let running servers take up each key change (they look every 2 s);
        /// 0 when no server runs on these key files.
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
    },
    /// Add a new OpenID Connect signing key: published at once, signing after the delay.
    RotateOidc {
        /// Seconds before the new key signs (default 2 days: relying parties' JWKS caches).
        #[arg(long, default_value_t = 172_800)]
        activation_delay_secs: i64,
        /// Seconds the old key stays published after the new one activates (default 1 day).
        #[arg(long, default_value_t = 86_400)]
        retain_secs: i64,
    },
    /// Start a SAML signing-key rollover: the next certificate is published in the metadata at
    /// once and signs after the delay (the previous one stays published until the next
    /// rotation).
    RotateSaml {
        /// Seconds before the new key signs (default 7 days: SPs that take the certificate by
        /// hand need time).
        #[arg(long, default_value_t = crate::saml_service::DEFAULT_ACTIVATION_DELAY_SECS)]
        activation_delay_secs: i64,
    },
}

#[derive(Subcommand, Debug)]
enum AuthenticatorCommand {
    /// Show the current code, plainly or as a bingo grid.
    Show(authenticator::ShowArgs),
    /// Login protect: make a key pair here and pair it with a one-time pairing code.
    Pair(authenticator_key::PairArgs),
    /// Login protect: send a signed unlock request that opens the sign-in window.
    Unlock(authenticator_key::UnlockArgs),
}

/// What the administrative commands work with.
struct Context {
    store: Store,
    keyring: Arc<Keyring>,
    tenant_id: i64,
    now: i64,
    signin: SignIn,
}

impl Context {
    async fn open(settings: &StoreSettings) -> anyhow::Result<Context> {
        let store = settings.open_store().await?;
        let clock = Arc::new(Clock::default());
        let now = clock.unix();
        let tenant_id =
            server::resolve_tenant(&store, settings.tenant.as_deref(), now, true).await?;
        let keyring = settings.kek().load_or_create()?;
        let signin = SignIn::new(store.clone(), keyring, clock, tenant_id);
        Ok(Context {
            store,
            keyring: signin.keyring.clone(),
            tenant_id,
            now,
            signin,
        })
    }

    async fn user(&self, name: &str) -> anyhow::Result<UserRow> {
        self.store
            .user_by_name(self.tenant_id, name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no user named {name:?}"))
    }
}

/// Entry point of the `passlogic-idp` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn demo_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "passlogic-demo-{}",
        crate::tokens::new_token().get(..10).unwrap_or("x")
    ))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(cli.store.config.as_deref())?;
    let settings = |default_dir: PathBuf| StoreSettings::resolve(&cli.store, &file, default_dir);
    let code = match cli.command {
        Command::Serve {
            listen,
            public_url,
            demo,
            test_clock,
            admin_listen,
            trusted_proxies,
            radius_listen,
            forward_auth_domains,
            cookie_domain,
            forward_auth_headers,
            face_verifier_url,
            face_verifier_secret_file,
            csv_drop_dir,
            csv_drop_interval,
            scim_delete_users,
            ldap_sync_interval,
            tls,
        } => {
            let default_dir = if demo {
                demo_dir()
            } else {
                PathBuf::from("passlogic-data")
            };
            let listen = listen
                .or(file.listen.clone())
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
            let admin_listen = match admin_listen.as_deref() {
                Some("off") => None,
                Some(a) => Some(a.to_owned()),
                None => Some(server::default_admin_listen(&listen)?),
            };
            let trusted_proxies = trusted_proxies
                .iter()
                .map(|p| {
                    p.parse()
                        .map_err(|e| anyhow::anyhow!("--trusted-proxy {p}: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let options = ServeOptions {
                listen,
                admin_listen,
                trusted_proxies,
                public_url: public_url.or(file.public_url.clone()),
                demo,
                test_clock,
                radius_listen,
                forward_auth_domains,
                cookie_domain,
                forward_auth_headers,
                face_verifier: face_verifier_url.zip(face_verifier_secret_file),
                csv_drop_dir,
                csv_drop_interval,
                scim_delete_users,
                ldap_sync_interval,
                tls,
            };
            server::serve(settings(default_dir), options).await?;
            ExitCode::SUCCESS
        }
        Command::Authenticator {
            command: AuthenticatorCommand::Show(args),
        } => authenticator::run(args)?,
        Command::Authenticator {
            command: AuthenticatorCommand::Pair(args),
        } => authenticator_key::pair(args).await?,
        Command::Authenticator {
            command: AuthenticatorCommand::Unlock(args),
        } => authenticator_key::unlock(args).await?,
        Command::Keys {
            command: KeysCommand::RotateKek { settle_secs },
        } => {
            let settings = settings(PathBuf::from("passlogic-data"));
            let store = settings.open_store().await?;
            let settle = std::time::Duration::from_secs(settle_secs);
            let (old, new, count) = settings.kek().rotate(&store, settle).await?;
            let now = Clock::default().unix();
            for tenant in store.tenant_ids().await? {
                admin::audit(
                    &store,
                    now,
                    tenant,
                    "cli",
                    "kek.rotated",
                    &new,
                    serde_json::json!({ "old": old, "resealed": count }),
                )
                .await?;
            }
            store.close().await;
            println!("rotated: {old} -> {new}");
            println!("resealed: {count}");
            ExitCode::SUCCESS
        }
        Command::Keys {
            command:
                KeysCommand::RotateOidc {
                    activation_delay_secs,
                    retain_secs,
                },
        } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let r = crate::oidc_service::rotate_key_set(
                &ctx.store,
                &ctx.keyring,
                ctx.tenant_id,
                time::OffsetDateTime::from_unix_timestamp(ctx.now)?,
                time::Duration::seconds(activation_delay_secs),
                time::Duration::seconds(retain_secs),
            )
            .await?;
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "oidc.keys.rotated",
                &r.new_kid,
                serde_json::json!({ "old": r.old_kid, "activates_at": r.activates_at.unix_timestamp() }),
            )
            .await?;
            ctx.store.close().await;
            println!("rotated-oidc: {} -> {}", r.old_kid, r.new_kid);
            println!("active-from: {}", r.activates_at.unix_timestamp());
            ExitCode::SUCCESS
        }
        Command::Keys {
            command: KeysCommand::RotateSaml {
                activation_delay_secs,
            },
        } => {
            anyhow::ensure!(
                activation_delay_secs >= 0,
                "--activation-delay-secs must not be negative"
            );
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let r = crate::saml_service::rotate_signing_key(
                &ctx.store,
                &ctx.keyring,
                ctx.tenant_id,
                time::OffsetDateTime::from_unix_timestamp(ctx.now)?,
                time::Duration::seconds(activation_delay_secs),
            )
            .await?;
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "saml.keys.rotated",
                &r.new,
                serde_json::json!({ "old": r.old, "active_from": r.active_from }),
            )
            .await?;
            ctx.store.close().await;
            println!("rotated-saml: {} -> {}", r.old, r.new);
            println!("active-from: {}", r.active_from);
            ExitCode::SUCCESS
        }
        Command::Client { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = client::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::Eam { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = eam::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::RadiusClient { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = radius::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::LdapSource { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = ldap::run_source(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::LdapSync(args) => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = ldap::run_sync(&ctx, args).await?;
            ctx.store.close().await;
            code
        }
        Command::ForwardAuthApp { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = forward::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::Sp { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = sp::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::User { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = user::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::Token { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = token::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::Policy { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = policy::run_policy(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::ScimToken { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = scim_token::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::ApiToken { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = api_token::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::SeedUsers(args) => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = seed::run(&ctx, args).await?;
            ctx.store.close().await;
            code
        }
        Command::Cert { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = cert::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::Device { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = device::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::Passkey { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = passkey::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::AccessPolicy { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = access::run(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
        Command::Group { command } => {
            let ctx = Context::open(&settings(PathBuf::from("passlogic-data"))).await?;
            let code = policy::run_group(&ctx, command).await?;
            ctx.store.close().await;
            code
        }
    };
    Ok(code)
}

// Shared with the admin console (groups & policies, services).
pub use policy::parse_combinations;
pub use sp::fetch_metadata;
