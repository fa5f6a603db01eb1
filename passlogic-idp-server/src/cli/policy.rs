//! `passlogic-idp policy ...` and `group ...`: per-group authentication policies.

use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::pipeline::{Combination, Method};
use passlogic_idp_core::policy::AuthPolicy;
use serde_json::json;

use super::Context;
use crate::admin;

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Create or replace a policy. Starts from the defaults (or --file JSON) and applies flags.
    Put {
        name: String,
        /// A JSON policy (fields as in `policy show`).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// Allowed factor combinations, comma-separated, steps joined by `+`,
        /// e.g. `matrix+totp,totp+pin,hardware_token+pin`.
        #[arg(long)]
        combinations: Option<String>,
        /// Take `PIN` + code in one field when a PIN step precedes a code step.
        #[arg(long)]
        pin_with_code: bool,
        /// Refuse users who lack a factor instead of letting them enrol it while signing in.
        #[arg(long)]
        no_self_enrolment: bool,
        /// Failed answers before the account locks.
        #[arg(long)]
        lockout: Option<u32>,
        /// Client certificates: issue one at the `client_certificate` step to a user who has
        /// never had one (download page with a one-time password).
        #[arg(long)]
        cert_auto_issue: bool,
    },
    /// Print a policy as JSON.
    Show { name: String },
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// Create a group (or update its policy and priority).
    Add {
        name: String,
        /// department, position or adhoc.
        #[arg(long, default_value = "adhoc")]
        kind: String,
        /// Policy of the group's members.
        #[arg(long)]
        policy: Option<String>,
        /// Lower wins when a user is in several groups with policies.
        #[arg(long)]
        priority: Option<i64>,
    },
    /// Put a user into a group.
    AddUser { group: String, user: String },
}

/// Parses `matrix+totp,totp+pin`.
pub fn parse_combinations(text: &str) -> anyhow::Result<Vec<Combination>> {
    text.split(',')
        .map(|c| {
            let methods = c
                .split('+')
                .map(|m| {
                    Method::parse(m.trim()).ok_or_else(|| anyhow::anyhow!("unknown method {m:?}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Combination::new(methods)
                .ok_or_else(|| anyhow::anyhow!("{c:?}: 1 to 4 distinct methods"))
        })
        .collect()
}

pub async fn run_policy(ctx: &Context, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Put {
            name,
            file,
            combinations,
            pin_with_code,
            no_self_enrolment,
            lockout,
            cert_auto_issue,
        } => {
            let mut policy = match file {
                Some(f) => serde_json::from_slice(&std::fs::read(&f)?)?,
                None => AuthPolicy::default(),
            };
            if let Some(c) = combinations {
                policy.combinations = parse_combinations(&c)?;
            }
            if pin_with_code {
                policy.pin_with_code_in_one_field = true;
            }
            if no_self_enrolment {
                policy.self_enrolment = false;
            }
            if let Some(n) = lockout {
                policy.lockout_threshold = n;
            }
            if cert_auto_issue {
                policy.cert_auto_issue = true;
            }
            policy
                .validate()
                .map_err(|e| anyhow::anyhow!("policy {name}: {e}"))?;
            ctx.store.put_policy(ctx.tenant_id, &name, &policy).await?;
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "policy.put",
                &name,
                serde_json::to_value(&policy)?,
            )
            .await?;
            println!("policy: {name}");
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Show { name } => {
            let policy = ctx
                .store
                .policy(ctx.tenant_id, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no policy named {name:?}"))?;
            println!("{}", serde_json::to_string_pretty(&policy)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn run_group(ctx: &Context, command: GroupCommand) -> anyhow::Result<ExitCode> {
    match command {
        GroupCommand::Add {
            name,
            kind,
            policy,
            priority,
        } => {
            anyhow::ensure!(
                matches!(kind.as_str(), "department" | "position" | "adhoc"),
                "kind must be department, position or adhoc"
            );
            let gid = ctx.store.ensure_group(ctx.tenant_id, &name, &kind).await?;
            if let Some(p) = &policy {
                let pid = ctx
                    .store
                    .policy_id(ctx.tenant_id, p)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no policy named {p:?}"))?;
                ctx.store.set_group_policy(gid, Some(pid)).await?;
            }
            if let Some(prio) = priority {
                ctx.store.set_group_priority(gid, prio).await?;
            }
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "group.put",
                &name,
                json!({ "kind": kind, "policy": policy }),
            )
            .await?;
            println!("group: {name}");
            Ok(ExitCode::SUCCESS)
        }
        GroupCommand::AddUser { group, user } => {
            let u = ctx.user(&user).await?;
            let gid = ctx
                .store
                .group_id(ctx.tenant_id, &group)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no group named {group:?}"))?;
            ctx.store.add_to_group(u.id, gid).await?;
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "group.member_added",
                &user,
                json!({ "group": group }),
            )
            .await?;
            println!("member: {user} -> {group}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
