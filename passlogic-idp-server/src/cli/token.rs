//! `passlogic-idp token ...`: import hardware-token seeds, assign tokens to users.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::factor::otp::{self, HotpState, OtpAlgorithm, OtpSecret};
use passlogic_idp_core::factor::token_import::{self, TokenSeed};

/// How far ahead `token resync` searches for the two codes.
const RESYNC_WINDOW: u64 = 1_000;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::secrets;
use crate::store::NewToken;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Import seeds from a CSV file (serial,seed,algorithm,digits,period,counter,encoding) or a
    /// PSKC (RFC 6030) file. All or nothing.
    Import {
        /// CSV file (seeds in Base16 or Base32).
        #[arg(long, conflicts_with = "pskc")]
        csv: Option<PathBuf>,
        /// PSKC XML file.
        #[arg(long)]
        pskc: Option<PathBuf>,
        /// Read the PSKC password (PBKDF2-protected files) from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Pre-shared AES key of the PSKC file, hex.
        #[arg(long)]
        preshared_key_hex: Option<String>,
    },
    /// Assign a token to a user (a user has at most one token).
    Assign { serial: String, user: String },
    /// Take a token away from its user.
    Unassign { serial: String },
    /// List tokens (serial, kind, assigned user).
    List,
    /// Resynchronise a drifted HOTP token from two consecutive codes it shows.
    Resync {
        serial: String,
        code1: String,
        code2: String,
    },
}

fn seal_seed(ctx: &Context, seed: &TokenSeed) -> NewToken {
    crate::hw_tokens::seal_seed(&ctx.keyring, ctx.tenant_id, seed)
}

pub async fn run(ctx: &Context, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = &ctx.store;
    match command {
        TokenCommand::Import {
            csv,
            pskc,
            password_stdin,
            preshared_key_hex,
        } => {
            let seeds = match (csv, pskc) {
                (Some(path), None) => token_import::parse_csv(&std::fs::read(&path)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                (None, Some(path)) => {
                    let password = if password_stdin {
                        let mut line = String::new();
                        std::io::stdin().read_line(&mut line)?;
                        Some(line.trim_end_matches(['\r', '\n']).to_owned())
                    } else {
                        None
                    };
                    let key = preshared_key_hex.as_deref().map(hex::decode).transpose()?;
                    token_import::parse_pskc(
                        &std::fs::read(&path)?,
                        password.as_deref(),
                        key.as_deref(),
                    )
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                }
                _ => anyhow::bail!("give exactly one of --csv FILE or --pskc FILE"),
            };
            let rows: Vec<NewToken> = seeds.iter().map(|s| seal_seed(ctx, s)).collect();
            store.insert_tokens(ctx.tenant_id, &rows, ctx.now).await?;
            let serials: Vec<&str> = seeds.iter().map(|s| s.serial.as_str()).collect();
            admin::audit(
                store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "token.imported",
                "tokens",
                json!({ "serials": serials }),
            )
            .await?;
            println!("imported: {}", rows.len());
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Assign { serial, user } => {
            let token = store
                .token_by_serial(ctx.tenant_id, &serial)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no token with serial {serial:?}"))?;
            let u = ctx.user(&user).await?;
            if let Some(other) = token.user_id.filter(|id| *id != u.id) {
                anyhow::bail!(
                    "token {serial} is assigned to another user (id {other}); unassign it first"
                );
            }
            if store
                .token_of_user(u.id)
                .await?
                .is_some_and(|t| t.id != token.id)
            {
                anyhow::bail!("user {user} already has a token; unassign it first");
            }
            store.assign_token(token.id, Some(u.id)).await?;
            admin::audit(
                store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "token.assigned",
                &user,
                json!({ "serial": serial }),
            )
            .await?;
            println!("assigned: {serial} -> {user}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Unassign { serial } => {
            let token = store
                .token_by_serial(ctx.tenant_id, &serial)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no token with serial {serial:?}"))?;
            store.assign_token(token.id, None).await?;
            admin::audit(
                store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "token.unassigned",
                &serial,
                json!({}),
            )
            .await?;
            println!("unassigned: {serial}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Resync {
            serial,
            code1,
            code2,
        } => {
            let token = store
                .token_by_serial(ctx.tenant_id, &serial)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no token with serial {serial:?}"))?;
            anyhow::ensure!(
                token.kind == "hotp",
                "only event-based (HOTP) tokens need resynchronisation"
            );
            let aad = secrets::token_aad(token.tenant_id, &token.serial);
            let secret =
                OtpSecret::from_bytes(secrets::open_bytes(&ctx.keyring, &aad, &token.secret)?);
            let alg = OtpAlgorithm::from_name(&token.algorithm).unwrap_or_default();
            let digits = u8::try_from(token.digits).unwrap_or(6);
            let state = HotpState {
                counter: u64::try_from(token.counter).unwrap_or(0),
            };
            let resync =
                otp::hotp_resync(&secret, alg, digits, &code1, &code2, &state, RESYNC_WINDOW);
            let next = resync.map_err(|e| {
                anyhow::anyhow!("codes not consecutive within {RESYNC_WINDOW}: {e}")
            })?;
            let next = i64::try_from(next)?;
            anyhow::ensure!(
                store
                    .advance_hotp_counter(token.id, token.counter, next)
                    .await?,
                "the token was used meanwhile; try again"
            );
            admin::audit(
                store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "token.resynced",
                &serial,
                json!({ "counter": next }),
            )
            .await?;
            println!("resynced: {serial} counter {next}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List => {
            for t in store.list_tokens(ctx.tenant_id).await? {
                let user = match t.user_id {
                    Some(id) => store
                        .user_by_id(id)
                        .await?
                        .map(|u| u.name)
                        .unwrap_or_default(),
                    None => "-".to_owned(),
                };
                println!("{}\t{}\t{}\t{}", t.serial, t.kind, t.digits, user);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
