//! `passlogic-idp user ...`.

use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::factor::otp::{self, OtpSecret};
use passlogic_idp_core::pipeline::Method;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::factors;
use crate::store::NewUser;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
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
    /// Enrol an authenticator app for a user; prints `totp: SECRET` and the otpauth URI once.
    EnrolApp {
        name: String,
        /// Enrol it as the bingo display method instead of the plain code.
        #[arg(long)]
        bingo: bool,
    },
    /// Set a user's PIN, read from standard input (one line).
    SetPin { name: String },
    /// Remove an enrolled factor (totp, bingo, pin).
    RemoveFactor { name: String, method: String },
}

fn print_issued(name: &str, issued: &admin::Issued) {
    println!("user: {name}");
    println!("initial-pattern: {}", issued.pattern.to_csv());
    println!("notice:");
    for line in issued.notice.lines() {
        println!("  {line}");
    }
}

pub async fn run(ctx: &Context, command: UserCommand) -> anyhow::Result<ExitCode> {
    let (store, now, tenant_id) = (&ctx.store, ctx.now, ctx.tenant_id);
    match command {
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
            match admin::add_user(store, &ctx.keyring, &new, group.as_deref(), "cli", now).await? {
                Some(issued) => print_issued(&name, &issued),
                None => {
                    eprintln!("error: a user named {name:?} already exists");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        UserCommand::List { json } => {
            for u in store.list_users(tenant_id).await? {
                if json {
                    println!("{}", admin::user_json(store, &u).await?);
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
        }
        UserCommand::Show { name } => {
            let u = ctx.user(&name).await?;
            let mut v = admin::user_json(store, &u).await?;
            let methods: Vec<&str> = ctx
                .signin
                .enrolled(&u)
                .await?
                .into_iter()
                .map(Method::as_str)
                .collect();
            if let Some(o) = v.as_object_mut() {
                o.insert("methods".into(), json!(methods));
            }
            println!("{v}");
        }
        UserCommand::Disable { name } => {
            let u = ctx.user(&name).await?;
            store.set_enabled(u.id, false, now).await?;
            store.delete_user_sessions(u.id).await?;
            admin::audit(
                store,
                now,
                tenant_id,
                "cli",
                "user.disabled",
                &u.name,
                json!({}),
            )
            .await?;
            println!("disabled: {}", u.name);
        }
        UserCommand::Enable { name } => {
            let u = ctx.user(&name).await?;
            store.set_enabled(u.id, true, now).await?;
            admin::audit(
                store,
                now,
                tenant_id,
                "cli",
                "user.enabled",
                &u.name,
                json!({}),
            )
            .await?;
            println!("enabled: {}", u.name);
        }
        UserCommand::Unlock { name } => {
            let u = ctx.user(&name).await?;
            store.unlock(u.id, now).await?;
            admin::audit(
                store,
                now,
                tenant_id,
                "cli",
                "user.unlocked",
                &u.name,
                json!({}),
            )
            .await?;
            println!("unlocked: {}", u.name);
        }
        UserCommand::ResetPattern { name } => {
            let u = ctx.user(&name).await?;
            let issued = admin::reset_pattern(store, &ctx.keyring, &u, "cli", now).await?;
            print_issued(&u.name, &issued);
        }
        UserCommand::EnrolApp { name, bingo } => {
            let u = ctx.user(&name).await?;
            let method = if bingo { Method::Bingo } else { Method::Totp };
            let policy = ctx.signin.policy_for(Some(u.id)).await?;
            let secret = OtpSecret::generate(&mut rand::rngs::OsRng, OtpSecret::DEFAULT_LEN);
            factors::enrol_app(store, &ctx.keyring, now, &u, method, &secret, &policy.totp).await?;
            admin::audit(
                store,
                now,
                tenant_id,
                "cli",
                "factor.enrolled",
                &u.name,
                json!({ "method": method.as_str() }),
            )
            .await?;
            println!("user: {}", u.name);
            println!("totp: {}", secret.to_base32());
            println!(
                "otpauth: {}",
                otp::otpauth_uri(factors::ISSUER, &u.name, &secret, &policy.totp)
            );
        }
        UserCommand::SetPin { name } => {
            let u = ctx.user(&name).await?;
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let pin = line.trim_end_matches(['\r', '\n']);
            let policy = ctx.signin.policy_for(Some(u.id)).await?;
            policy.pin.check(pin).map_err(|e| anyhow::anyhow!("{e}"))?;
            factors::set_pin(&ctx.signin, &u, pin).await?;
            admin::audit(
                store,
                now,
                tenant_id,
                "cli",
                "factor.enrolled",
                &u.name,
                json!({ "method": "pin" }),
            )
            .await?;
            println!("pin set: {}", u.name);
        }
        UserCommand::RemoveFactor { name, method } => {
            let u = ctx.user(&name).await?;
            let removed = store.delete_factor(u.id, &method).await?;
            anyhow::ensure!(removed, "{name} has no {method} factor");
            admin::audit(
                store,
                now,
                tenant_id,
                "cli",
                "factor.removed",
                &u.name,
                json!({ "method": method }),
            )
            .await?;
            println!("removed: {method}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
