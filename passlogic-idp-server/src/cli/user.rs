//! `passlogic-idp user ...`: users, their directory attributes (`--given-name`, `--attr
//! KEY=VALUE`, ...) and their factors.

use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::factor::otp::{self, OtpSecret};
use passlogic_idp_core::pipeline::Method;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::factors;
use crate::store::{NewUser, UserDirectory};

/// Directory flags shared by `user add` and `user set`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct DirectoryArgs {
    /// E-mail address (`user set`: an empty value clears it).
    #[arg(long)]
    email: Option<String>,
    /// Given name.
    #[arg(long)]
    given_name: Option<String>,
    /// Family name.
    #[arg(long)]
    family_name: Option<String>,
    /// Department.
    #[arg(long)]
    department: Option<String>,
    /// Position (job title).
    #[arg(long)]
    position: Option<String>,
    /// Valid from (UNIX seconds; `user set`: 0 clears).
    #[arg(long)]
    valid_from: Option<i64>,
    /// Valid until (UNIX seconds; `user set`: 0 clears).
    #[arg(long)]
    valid_until: Option<i64>,
    /// An external ID or custom attribute, e.g. `immutable_id=...`, `upn=...`,
    /// `federation_id=...` (repeatable); `KEY=` removes it.
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    attr: Vec<String>,
}

/// Longest accepted directory value (bytes).
const MAX_VALUE: usize = 1024;

fn text(v: &str, what: &str) -> anyhow::Result<Option<String>> {
    anyhow::ensure!(
        v.len() <= MAX_VALUE,
        "{what} is longer than {MAX_VALUE} bytes"
    );
    anyhow::ensure!(
        !v.chars().any(char::is_control),
        "{what} contains control characters"
    );
    Ok((!v.is_empty()).then(|| v.to_owned()))
}

/// An attribute key: 1 to 64 ASCII letters, digits, `_`, `-`, `.` or `:`.
fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

impl DirectoryArgs {
    /// Whether any flag was given.
    fn any(&self) -> bool {
        self.email.is_some()
            || self.given_name.is_some()
            || self.family_name.is_some()
            || self.department.is_some()
            || self.position.is_some()
            || self.valid_from.is_some()
            || self.valid_until.is_some()
            || !self.attr.is_empty()
    }

    /// Applies the flags to `d`; checks everything before changing anything.
    pub fn apply(&self, d: &mut UserDirectory) -> anyhow::Result<()> {
        let mut next = d.clone();
        let set = |slot: &mut Option<String>, v: &Option<String>, what: &str| {
            if let Some(v) = v {
                *slot = text(v, what)?;
            }
            anyhow::Ok(())
        };
        set(&mut next.email, &self.email, "--email")?;
        set(&mut next.given_name, &self.given_name, "--given-name")?;
        set(&mut next.family_name, &self.family_name, "--family-name")?;
        set(&mut next.department, &self.department, "--department")?;
        set(&mut next.position, &self.position, "--position")?;
        if let Some(t) = self.valid_from {
            next.valid_from = (t != 0).then_some(t);
        }
        if let Some(t) = self.valid_until {
            next.valid_until = (t != 0).then_some(t);
        }
        for a in &self.attr {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--attr {a:?}: expected KEY=VALUE"))?;
            anyhow::ensure!(
                valid_key(k),
                "--attr {k:?}: a key is 1-64 letters, digits, _ - . or :"
            );
            match text(v, "--attr value")? {
                Some(v) => next.attributes.insert(k.to_owned(), v),
                None => next.attributes.remove(k),
            };
        }
        if let (Some(f), Some(u)) = (next.valid_from, next.valid_until) {
            anyhow::ensure!(f < u, "valid-from must be before valid-until");
        }
        *d = next;
        Ok(())
    }
}

/// The directory part of `user show`.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user with a random initial pattern; prints the notice to hand over.
    Add {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        directory: DirectoryArgs,
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
    /// Change a user's directory attributes (e-mail, names, department, position, validity,
    /// external IDs); prints the user as JSON.
    Set {
        name: String,
        /// Name shown on pages.
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        directory: DirectoryArgs,
    },
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
    /// Login protect: print a one-time pairing code (10 minutes) for the user's authenticator
    /// (`authenticator pair --code`).
    PairAuthenticator { name: String },
    /// Import users from a CSV file (docs/provisioning-csv.md): all rows or none.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        /// Show the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// utf-8 or shift_jis (default: detected).
        #[arg(long)]
        encoding: Option<String>,
        /// Write the rejected rows here as CSV (line,name,error).
        #[arg(long)]
        errors: Option<std::path::PathBuf>,
        /// Write the new users' initial-pattern notices here (mode 0600).
        #[arg(long)]
        notices: Option<std::path::PathBuf>,
    },
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
            directory,
            group,
            admin: is_admin,
        } => {
            let mut dir = UserDirectory::default();
            directory.apply(&mut dir)?;
            let new = NewUser {
                tenant_id,
                display_name: display_name.unwrap_or_else(|| name.clone()),
                name: name.clone(),
                email: dir.email.clone(),
                is_admin,
            };
            match admin::add_user(store, &ctx.keyring, &new, group.as_deref(), "cli", now).await? {
                Some(issued) => {
                    if directory.any() {
                        let u = ctx.user(&name).await?;
                        store.update_user_directory(u.id, &dir, now).await?;
                    }
                    print_issued(&name, &issued)
                }
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
        UserCommand::Set {
            name,
            display_name,
            directory,
        } => {
            let u = ctx.user(&name).await?;
            let mut dir = u.directory();
            directory.apply(&mut dir)?;
            if let Some(d) = display_name {
                let d = text(&d, "--display-name")?
                    .ok_or_else(|| anyhow::anyhow!("--display-name must not be empty"))?;
                store.set_display_name(u.id, &d, now).await?;
            }
            store.update_user_directory(u.id, &dir, now).await?;
            let changed: Vec<&str> = directory
                .attr
                .iter()
                .filter_map(|a| a.split_once('=').map(|(k, _)| k))
                .collect();
            admin::audit(
                store,
                now,
                tenant_id,
                "cli",
                "user.updated",
                &u.name,
                json!({ "attributes": changed }),
            )
            .await?;
            let u = ctx.user(&name).await?;
            println!("{}", admin::user_json(store, &u).await?);
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
        UserCommand::PairAuthenticator { name } => {
            let u = ctx.user(&name).await?;
            let code = ctx.signin.pairing_code(&u, "cli").await?;
            println!("pairing-code: {code}");
            println!(
                "expires-in: {}",
                crate::login_protect::PAIRING_CODE_TTL_SECS
            );
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
        UserCommand::Import {
            file,
            dry_run,
            encoding,
            errors,
            notices,
        } => return import(ctx, &file, dry_run, encoding, errors, notices).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// `user import`: plan, print, apply (or not), write the errors / notices files.
async fn import(
    ctx: &Context,
    file: &std::path::Path,
    dry_run: bool,
    encoding: Option<String>,
    errors: Option<std::path::PathBuf>,
    notices: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    use crate::provisioning::import::{self, ImportOptions};
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let options = ImportOptions {
        dry_run,
        encoding: encoding.as_deref().map(str::parse).transpose()?,
        want_notices: notices.is_some(),
        actor: "cli".to_owned(),
        source: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..ImportOptions::default()
    };
    let started = std::time::Instant::now();
    let report = import::run(
        &ctx.store,
        &ctx.keyring,
        ctx.tenant_id,
        &bytes,
        &options,
        ctx.now,
    )
    .await?;
    print!("{}", report.text());
    println!("elapsed-ms: {}", started.elapsed().as_millis());
    if let Some(path) = errors {
        std::fs::write(&path, report.plan.errors_csv())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    if let (Some(path), Some(text)) = (notices, &report.notices) {
        write_private(&path, text)?;
        println!("notices: {}", path.display());
    }
    Ok(if report.plan.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes a file readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
