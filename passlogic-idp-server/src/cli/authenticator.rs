//! `passlogic-idp authenticator show`: the reference authenticator on the command line. It
//! shows the current code of an authenticator-app secret plainly, or hidden in a bingo grid at
//! the user's bingo cells. Offline: it needs nothing but the secret and the clock.

use std::process::ExitCode;

use clap::Args;
use passlogic_idp_core::factor::bingo::{self, BingoPattern};
use passlogic_idp_core::factor::otp::{self, OtpAlgorithm, OtpSecret, TotpParams};

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The Base32 secret (as in the enrolment QR code).
    #[arg(long, env = "PASSLOGIC_AUTHENTICATOR_SECRET")]
    secret: String,
    /// Bingo cells (0..24, row-major on a 5x5 grid, comma-separated): show the bingo grid
    /// instead of the plain code.
    #[arg(long)]
    bingo: Option<String>,
    /// Code digits.
    #[arg(long, default_value_t = 6)]
    digits: u8,
    /// Time step in seconds.
    #[arg(long, default_value_t = 30)]
    period: u32,
    /// SHA1, SHA256 or SHA512.
    #[arg(long, default_value = "SHA1")]
    algorithm: String,
    /// Show the code for this UNIX time instead of now.
    #[arg(long)]
    at: Option<i64>,
}

pub fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let secret =
        OtpSecret::from_base32(&args.secret).map_err(|e| anyhow::anyhow!("--secret: {e}"))?;
    let params = TotpParams {
        algorithm: OtpAlgorithm::from_name(&args.algorithm)
            .ok_or_else(|| anyhow::anyhow!("unknown algorithm"))?,
        digits: args.digits,
        period_secs: args.period,
        ..TotpParams::default()
    };
    let now = match args.at {
        Some(t) => time::OffsetDateTime::from_unix_timestamp(t)?,
        None => time::OffsetDateTime::now_utc(),
    };
    let code = otp::totp_code(&secret, &params, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    match args.bingo {
        None => println!("code: {code}"),
        Some(cells) => {
            let pattern =
                BingoPattern::parse_csv(&cells).map_err(|e| anyhow::anyhow!("--bingo: {e}"))?;
            let grid = bingo::render(&code, &pattern, &mut rand::rngs::OsRng)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("bingo:");
            for row in bingo::text_rows(&grid) {
                println!("  {row}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
