//! The `passlogic-idp` command line (clap). Flags and printed lines are a published interface:
//! see docs/testability.md before changing any.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::admin;
use crate::clock::Clock;
use crate::config::{FileConfig, StoreArgs, StoreSettings};
use crate::server::{self, ServeOptions};
use crate::store::NewUser;

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
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user with a random initial pattern; prints the notice to hand over.
    Add {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Put the user in this group (created if missing).
        #[arg(long)]
        group: Option<String>,
        /// Make the user a tenant administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one user as JSON.
    Show { name: String },
    /// Refuse sign-in for a user (and end their sessions).
    Disable { name: String },
    /// Allow sign-in again.
    Enable { name: String },
    /// Clear the failed-answer counter and the lock.
    Unlock { name: String },
    /// New random initial pattern, changed at next sign-in; prints the notice.
    ResetPattern { name: String },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Re-seal every stored secret under a new key-encryption key.
    RotateKek,
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
    match cli.command {
        Command::Serve {
            listen,
            public_url,
            demo,
            test_clock,
        } => {
            let default_dir = if demo {
                demo_dir()
            } else {
                PathBuf::from("passlogic-data")
            };
            let settings = StoreSettings::resolve(&cli.store, &file, default_dir);
            let options = ServeOptions {
                listen: listen
                    .or(file.listen.clone())
                    .unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
                public_url: public_url.or(file.public_url.clone()),
                demo,
                test_clock,
            };
            server::serve(settings, options).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => {
            let settings =
                StoreSettings::resolve(&cli.store, &file, PathBuf::from("passlogic-data"));
            user_command(&settings, command).await
        }
        Command::Keys {
            command: KeysCommand::RotateKek,
        } => {
            let settings =
                StoreSettings::resolve(&cli.store, &file, PathBuf::from("passlogic-data"));
            let store = settings.open_store().await?;
            let (old, new, count) = settings.kek().rotate(&store).await?;
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
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_issued(name: &str, issued: &admin::Issued) {
    println!("user: {name}");
    println!("initial-pattern: {}", issued.pattern.to_csv());
    println!("notice:");
    for line in issued.notice.lines() {
        println!("  {line}");
    }
}

async fn user_command(settings: &StoreSettings, command: UserCommand) -> anyhow::Result<ExitCode> {
    let store = settings.open_store().await?;
    let now = Clock::default().unix();
    let tenant_id = server::resolve_tenant(&store, settings.tenant.as_deref(), now, true).await?;
    let ring = settings.kek().load_or_create()?;
    let find = |name: String| {
        let store = store.clone();
        async move {
            store
                .user_by_name(tenant_id, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user named {name:?}"))
        }
    };
    let code = match command {
        UserCommand::Add {
            name,
            display_name,
            email,
            group,
            admin: is_admin,
        } => {
            let new = NewUser {
                tenant_id,
                display_name: display_name.unwrap_or_else(|| name.clone()),
                name: name.clone(),
                email,
                is_admin,
            };
            match admin::add_user(&store, &ring, &new, group.as_deref(), "cli", now).await? {
                Some(issued) => {
                    print_issued(&name, &issued);
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("error: a user named {name:?} already exists");
                    ExitCode::FAILURE
                }
            }
        }
        UserCommand::List { json } => {
            for u in store.list_users(tenant_id).await? {
                if json {
                    println!("{}", admin::user_json(&store, &u).await?);
                } else {
                    let status = if !u.enabled {
                        "disabled"
                    } else if u.locked {
                        "locked"
                    } else {
                        "active"
                    };
                    println!("{}\t{}\t{}", u.name, status, u.display_name);
                }
            }
            ExitCode::SUCCESS
        }
        UserCommand::Show { name } => {
            let u = find(name).await?;
            println!("{}", admin::user_json(&store, &u).await?);
            ExitCode::SUCCESS
        }
        UserCommand::Disable { name } => {
            let u = find(name).await?;
            store.set_enabled(u.id, false, now).await?;
            store.delete_user_sessions(u.id).await?;
            admin::audit(
                &store,
                now,
                tenant_id,
                "cli",
                "user.disabled",
                &u.name,
                serde_json::json!({}),
            )
            .await?;
            println!("disabled: {}", u.name);
            ExitCode::SUCCESS
        }
        UserCommand::Enable { name } => {
            let u = find(name).await?;
            store.set_enabled(u.id, true, now).await?;
            admin::audit(
                &store,
                now,
                tenant_id,
                "cli",
                "user.enabled",
                &u.name,
                serde_json::json!({}),
            )
            .await?;
            println!("enabled: {}", u.name);
            ExitCode::SUCCESS
        }
        UserCommand::Unlock { name } => {
            let u = find(name).await?;
            store.unlock(u.id, now).await?;
            admin::audit(
                &store,
                now,
                tenant_id,
                "cli",
                "user.unlocked",
                &u.name,
                serde_json::json!({}),
            )
            .await?;
            println!("unlocked: {}", u.name);
            ExitCode::SUCCESS
        }
        UserCommand::ResetPattern { name } => {
            let u = find(name).await?;
            let issued = admin::reset_pattern(&store, &ring, &u, "cli", now).await?;
            print_issued(&u.name, &issued);
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}
