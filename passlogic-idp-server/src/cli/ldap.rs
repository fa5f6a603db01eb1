//! `passlogic-idp ldap-source ...` and `passlogic-idp ldap-sync NAME [--dry-run]` (see
//! `crate::ldap`).

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Context;
use crate::admin;
use crate::ldap::{plan, source, sync};

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum LdapSourceCommand {
    /// Register a directory to sync users from. Prints `ldap-source: NAME`.
    Add {
        /// A name for the source (unique), e.g. `corp-ad`.
        name: String,
        /// `ldap://host:389` or `ldaps://host:636`.
        #[arg(long)]
        url: String,
        /// DN to bind as (a read-only service account).
        #[arg(long)]
        bind_dn: String,
        /// Read the bind password from the first line of standard input (stored sealed).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Where to search.
        #[arg(long)]
        base_dn: String,
        /// LDAP filter (default `(objectClass=inetOrgPerson)`, with --ad
        /// `(&(objectCategory=person)(objectClass=user))`).
        #[arg(long)]
        filter: Option<String>,
        /// Upgrade ldap:// with StartTLS.
        #[arg(long)]
        start_tls: bool,
        /// PEM file of the CA that signed the directory's certificate (default: the system
        /// trust store); needs ldaps:// or --start-tls.
        #[arg(long)]
        tls_ca_file: Option<std::path::PathBuf>,
        /// Override one mapping, FIELD=ATTRIBUTE (repeatable): name, display_name, email,
        /// given_name, family_name, department, position, disabled, attr.KEY.
        #[arg(long = "map")]
        map: Vec<String>,
        /// Attribute listing the user's group DNs (default memberOf; `none`: no groups).
        #[arg(long)]
        group_attr: Option<String>,
        /// Active Directory preset: sAMAccountName, userPrincipalName, objectGUID as base64
        /// immutable_id, userAccountControl's ACCOUNTDISABLE bit.
        #[arg(long)]
        ad: bool,
        /// Delete users that are gone from the directory (default: disable them).
        #[arg(long)]
        delete_missing: bool,
        /// Page size of the paged search.
        #[arg(long, default_value_t = 500)]
        page_size: i64,
    },
    /// List sources, one JSON object per line (never the password).
    List,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The source's name.
    name: String,
    /// Show what would change (per-user lines) without changing anything.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run_source(ctx: &Context, command: LdapSourceCommand) -> anyhow::Result<ExitCode> {
    match command {
        LdapSourceCommand::Add {
            name,
            url,
            bind_dn,
            password_stdin: _,
            base_dn,
            filter,
            start_tls,
            tls_ca_file,
            map,
            group_attr,
            ad,
            delete_missing,
            page_size,
        } => {
            let tls_ca = match &tls_ca_file {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .map_err(|e| anyhow::anyhow!("--tls-ca-file {}: {e}", p.display()))?,
                ),
                None => None,
            };
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let new = source::NewSource {
                name: name.clone(),
                url,
                start_tls,
                tls_ca,
                bind_dn,
                base_dn,
                filter,
                map,
                group_attr,
                ad,
                delete_missing,
                page_size,
            };
            let created = source::add(
                &ctx.store,
                &ctx.keyring,
                ctx.tenant_id,
                &new,
                password,
                ctx.now,
            )
            .await?;
            anyhow::ensure!(created, "an LDAP source named {name:?} exists already");
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "ldap.source.added",
                &name,
                json!({ "url": new.url, "base_dn": new.base_dn, "ad": ad }),
            )
            .await?;
            println!("ldap-source: {name}");
            Ok(ExitCode::SUCCESS)
        }
        LdapSourceCommand::List => {
            for s in ctx.store.ldap_sources(ctx.tenant_id).await? {
                let map: serde_json::Value = serde_json::from_str(&s.attribute_map)?;
                println!(
                    "{}",
                    json!({
                        "name": s.name,
                        "url": s.url,
                        "start_tls": s.start_tls,
                        "tls_ca": s.tls_ca.is_some(),
                        "bind_dn": s.bind_dn,
                        "base_dn": s.base_dn,
                        "filter": s.filter,
                        "map": map,
                        "group_attr": s.group_attr,
                        "ad": s.active_directory,
                        "missing": s.missing,
                        "page_size": s.page_size,
                        "runs": ctx.store.ldap_run_count(s.id).await?,
                    })
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn run_sync(ctx: &Context, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let Some(src) = ctx
        .store
        .ldap_sources(ctx.tenant_id)
        .await?
        .into_iter()
        .find(|s| s.name == args.name)
    else {
        anyhow::bail!("no LDAP source named {:?}", args.name);
    };
    let holder = format!("cli-{}", std::process::id());
    let r = sync::run(
        &ctx.store,
        &ctx.keyring,
        &src,
        args.dry_run,
        "cli",
        &holder,
        ctx.now,
    )
    .await?;
    if args.dry_run {
        println!("dry-run: true");
        for c in &r.plan.changes {
            if c.action != plan::Action::Unchanged {
                println!("{}", plan::line(c));
            }
        }
    }
    let c = &r.plan.counts;
    println!("entries: {}", r.entries);
    println!("created: {}", c.created);
    println!("updated: {}", c.updated);
    println!("disabled: {}", c.disabled);
    println!("deleted: {}", c.deleted);
    println!("unchanged: {}", c.unchanged);
    println!("skipped: {}", c.skipped);
    println!("elapsed-ms: {}", r.elapsed_ms);
    Ok(ExitCode::SUCCESS)
}
