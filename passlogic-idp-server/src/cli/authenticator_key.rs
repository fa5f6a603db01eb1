//! `passlogic-idp authenticator pair` and `authenticator unlock`: the reference authenticator's
//! login-protect side. `pair` makes an ECDSA P-256 key pair here (OpenSSL), writes the private
//! key to a new file (PKCS#8 PEM, mode 0600) and registers the public key with a one-time
//! pairing code; `unlock` signs a timestamped, single-use request with that key (format in
//! [`passlogic_idp_core::factor::unlock`]) and sends it.
//!
//! Known gap: the HTTP client has no TLS yet (plain `http://` URLs only); the unlock request is
//! signed and single-use, but pairing over plain HTTP trusts the network path.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine;
use clap::Args;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use passlogic_idp_core::factor::unlock::{self, UnlockRequest};
use rand::RngCore;

#[derive(Args, Debug)]
pub struct PairArgs {
    /// The IdP's base URL.
    #[arg(long)]
    server: String,
    /// The one-time pairing code (`user pair-authenticator`).
    #[arg(long)]
    code: String,
    /// New file for the private key (must not exist).
    #[arg(long)]
    key: PathBuf,
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// The IdP's base URL.
    #[arg(long)]
    server: String,
    /// The private key file written by `authenticator pair`.
    #[arg(long)]
    key: PathBuf,
    /// Sign for this UNIX time instead of now.
    #[arg(long)]
    at: Option<i64>,
    /// Also write the JSON request sent to this file.
    #[arg(long)]
    save_request: Option<PathBuf>,
}

fn endpoint(server: &str, path: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        server.starts_with("http://") || server.starts_with("https://"),
        "--server must be an http:// or https:// URL"
    );
    Ok(format!("{}{path}", server.trim_end_matches('/')))
}

/// POSTs JSON; the parsed answer, or an error with the server's `error_description`.
async fn post(url: &str, body: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let r = reqwest::Client::new()
        .post(url)
        .timeout(std::time::Duration::from_secs(15))
        .json(body)
        .send()
        .await?;
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        anyhow::bail!(
            "{} ({}): {}",
            v["error"].as_str().unwrap_or("refused"),
            status.as_u16(),
            v["error_description"].as_str().unwrap_or("")
        );
    }
    Ok(v)
}

pub async fn pair(args: PairArgs) -> anyhow::Result<ExitCode> {
    let url = endpoint(&args.server, "/authenticator/pair")?;
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let public = String::from_utf8(key.public_key_to_pem()?)?;
    let mut file = {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(&args.key)
            .map_err(|e| anyhow::anyhow!("--key {}: {e}", args.key.display()))?
    };
    file.write_all(&key.private_key_to_pem_pkcs8()?)?;
    drop(file);
    let answer = post(
        &url,
        &serde_json::json!({ "code": args.code, "public_key": public }),
    )
    .await;
    match answer {
        Ok(v) => {
            let kid = unlock::key_id(&unlock::parse_public_key(&public)?)?;
            println!("paired: {}", v["user"].as_str().unwrap_or(""));
            println!("key-id: {kid}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&args.key);
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn unlock(args: UnlockArgs) -> anyhow::Result<ExitCode> {
    let url = endpoint(&args.server, "/authenticator/unlock")?;
    let pem = std::fs::read(&args.key)
        .map_err(|e| anyhow::anyhow!("--key {}: {e}", args.key.display()))?;
    let key = PKey::private_key_from_pem(&pem)?;
    let public = PKey::public_key_from_pem(&key.public_key_to_pem()?)?;
    let key_id = unlock::key_id(&public)?;
    let timestamp = match args.at {
        Some(t) => t,
        None => time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let mut n = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut n);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n);
    let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
    let sig =
        signer.sign_oneshot_to_vec(&UnlockRequest::signed_bytes(&key_id, timestamp, &nonce))?;
    let req = UnlockRequest {
        key_id,
        timestamp,
        nonce,
        signature: base64::engine::general_purpose::STANDARD.encode(sig),
    };
    let body = serde_json::to_value(&req)?;
    if let Some(path) = &args.save_request {
        std::fs::write(path, body.to_string())?;
    }
    match post(&url, &body).await {
        Ok(v) => {
            println!("unlocked-until: {}", v["unlocked_until"]);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
