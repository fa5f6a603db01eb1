//! `passlogic-idp seed-users`: load-test users in bulk (benchmarks only; see
//! docs/performance.md). Every seeded user has the same known pattern and, with `--totp`, the
//! same authenticator-app secret, printed once, so that a load generator can sign them in.

use std::process::ExitCode;

use clap::Args;
use passlogic_idp_core::factor::matrix::{MatrixSecret, Pattern};
use passlogic_idp_core::factor::otp::{OtpSecret, TotpParams};
use passlogic_idp_core::pipeline::Method;

use super::Context;
use crate::secrets;
use crate::store::SeedUser;

/// The pattern of every seeded user (valid under the default rules of the 4x12 grid).
const PATTERN: [u16; 6] = [0, 13, 26, 39, 16, 31];
const BATCH: usize = 1000;

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// How many users to create (`PREFIX0` .. `PREFIX{N-1}`).
    #[arg(long)]
    count: usize,
    /// Name prefix.
    #[arg(long, default_value = "load")]
    prefix: String,
    /// Put the users in this group (created if missing).
    #[arg(long)]
    group: Option<String>,
    /// Also enrol an authenticator app (one shared secret, printed as `totp:`).
    #[arg(long)]
    totp: bool,
}

pub async fn run(ctx: &Context, args: SeedArgs) -> anyhow::Result<ExitCode> {
    let group_id = match &args.group {
        Some(g) => Some(ctx.store.ensure_group(ctx.tenant_id, g, "adhoc").await?),
        None => None,
    };
    let totp = args
        .totp
        .then(|| OtpSecret::generate(&mut rand::rngs::OsRng, OtpSecret::DEFAULT_LEN));
    let params = serde_json::to_string(&TotpParams::default())?;
    let secret = MatrixSecret {
        pattern: Pattern::new(PATTERN.to_vec()),
        phrase: None,
    };
    let started = std::time::Instant::now();
    let mut next = ctx.store.next_user_id().await?;
    let mut done = 0;
    while done < args.count {
        let n = BATCH.min(args.count - done);
        let batch: Vec<SeedUser> = (0..n)
            .map(|i| {
                let id = next + i as i64;
                SeedUser {
                    id,
                    name: format!("{}{}", args.prefix, done + i),
                    matrix_secret: secrets::seal_matrix(&ctx.keyring, ctx.tenant_id, id, &secret),
                    totp: totp.as_ref().map(|t| {
                        let aad = secrets::user_aad(Method::Totp.as_str(), ctx.tenant_id, id);
                        (
                            secrets::seal_bytes(&ctx.keyring, &aad, t.as_bytes()),
                            params.clone(),
                        )
                    }),
                }
            })
            .collect();
        ctx.store
            .seed_users(ctx.tenant_id, group_id, &batch, ctx.now)
            .await?;
        next += n as i64;
        done += n;
    }
    ctx.store.fix_user_id_sequence().await?;
    let csv: Vec<String> = PATTERN.iter().map(u16::to_string).collect();
    println!("seeded: {}", args.count);
    println!(
        "names: {}0 .. {}{}",
        args.prefix,
        args.prefix,
        args.count.saturating_sub(1)
    );
    println!("pattern: {}", csv.join(","));
    if let Some(t) = totp {
        println!("totp: {}", t.to_base32());
    }
    println!("seconds: {:.1}", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
