//! `passlogic-idp cert`: the private CA's client certificates (see [`crate::ca`]).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::Context;

#[derive(Subcommand, Debug)]
pub enum CertCommand {
    /// Issue a client certificate for a user as a password-protected PKCS#12 file; prints
    /// `serial: HEX`. The password is read from standard input (one line). With --email, the
    /// PKCS#12 is e-mailed to the user instead, under a random password that is printed
    /// (`password: ...`) and kept sealed for the printable sheet (`cert sheet`).
    Issue {
        user: String,
        /// The PKCS#12 file to write (must not exist). Required without --email.
        #[arg(long, required_unless_present = "email")]
        out: Option<PathBuf>,
        /// Read the PKCS#12 password from standard input (required without --email).
        #[arg(long, required_unless_present = "email")]
        password_stdin: bool,
        /// E-mail the PKCS#12 to the user's address over SMTP (--smtp-url, --smtp-from).
        #[arg(long)]
        email: bool,
        /// SMTP server, smtp://HOST:PORT (with --email).
        #[arg(long, env = "PASSLOGIC_SMTP_URL", requires = "email")]
        smtp_url: Option<String>,
        /// Sender address (with --email).
        #[arg(long, env = "PASSLOGIC_SMTP_FROM", requires = "email")]
        smtp_from: Option<String>,
    },
    /// Write the printable sheet (HTML) of a user's certificate; the one-time password is on
    /// it the first time only. Prints `sheet: FILE`.
    Sheet {
        user: String,
        serial: String,
        /// The HTML file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a certificate by serial (hex); prints `revoked: HEX`.
    Revoke { serial: String },
    /// List certificates: `SERIAL<TAB>USER<TAB>NOT_AFTER<TAB>active|revoked`.
    List { user: Option<String> },
    /// Write the current CRL (PEM).
    Crl {
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the CA certificate (PEM), creating the CA at first use.
    Ca {
        #[arg(long)]
        out: PathBuf,
    },
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub async fn run(ctx: &Context, command: CertCommand) -> anyhow::Result<ExitCode> {
    match command {
        CertCommand::Issue {
            user,
            out,
            password_stdin,
            email,
            smtp_url,
            smtp_from,
        } => {
            let u = ctx.user(&user).await?;
            if let Some(out) = &out {
                if out.exists() {
                    eprintln!("error: --out {} exists", out.display());
                    return Ok(ExitCode::FAILURE);
                }
            }
            let mail = if email {
                let (Some(url), Some(from)) = (smtp_url, smtp_from) else {
                    eprintln!("error: --email needs --smtp-url and --smtp-from");
                    return Ok(ExitCode::FAILURE);
                };
                if u.email.as_deref().is_none_or(str::is_empty) {
                    eprintln!("error: user {user} has no e-mail address");
                    return Ok(ExitCode::FAILURE);
                }
                Some(crate::mail::MailSettings::from_flags(&url, &from)?)
            } else {
                None
            };
            let password = if password_stdin {
                let mut password = String::new();
                std::io::stdin().read_to_string(&mut password)?;
                let password = password.lines().next().unwrap_or("").to_owned();
                if password.len() < 8 {
                    eprintln!("error: the PKCS#12 password needs at least 8 characters");
                    return Ok(ExitCode::FAILURE);
                }
                password
            } else {
                crate::client_cert::new_p12_password()
            };
            let issued = ctx.signin.issue_client_cert(&u, &password, "cli").await?;
            if let Some(out) = &out {
                let mut o = std::fs::OpenOptions::new();
                o.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
                let mut file = o
                    .open(out)
                    .map_err(|e| anyhow::anyhow!("--out {}: {e}", out.display()))?;
                std::io::Write::write_all(&mut file, &issued.pkcs12)?;
            }
            println!("serial: {}", issued.serial);
            if let Some(settings) = mail {
                ctx.signin
                    .keep_sheet_password(&issued.serial, &password)
                    .await?;
                let sent = crate::client_cert::email_certificate(&settings, &u, &issued).await;
                let outcome = if sent.is_ok() { "success" } else { "failure" };
                ctx.signin
                    .audit(ctx.signin.audit_event(
                        "cli",
                        "cert.emailed",
                        &u.name,
                        outcome,
                        serde_json::json!({ "serial": issued.serial }),
                        None,
                    ))
                    .await;
                sent?;
                println!("emailed: {}", u.email.as_deref().unwrap_or_default());
                if !password_stdin {
                    println!("password: {password}");
                }
            }
        }
        CertCommand::Revoke { serial } => {
            if ctx.signin.revoke_client_cert(&serial, "cli").await? {
                println!("revoked: {}", serial.trim().to_ascii_lowercase());
            } else {
                eprintln!("error: no active certificate with serial {serial}");
                return Ok(ExitCode::FAILURE);
            }
        }
        CertCommand::List { user } => {
            let uid = match &user {
                Some(n) => Some(ctx.user(n).await?.id),
                None => None,
            };
            for c in ctx.store.client_certs(ctx.tenant_id, uid).await? {
                let name = ctx
                    .store
                    .user_by_id(c.user_id)
                    .await?
                    .map(|u| u.name)
                    .unwrap_or_default();
                let status = if c.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!("{}\t{name}\t{}\t{status}", c.serial, c.not_after);
            }
        }
        CertCommand::Crl { out } => {
            let der = ctx.signin.client_crl().await?;
            std::fs::write(&out, pem("X509 CRL", &der))?;
            println!("crl: {}", out.display());
        }
        CertCommand::Sheet { user, serial, out } => {
            let u = ctx.user(&user).await?;
            if out.exists() {
                eprintln!("error: --out {} exists", out.display());
                return Ok(ExitCode::FAILURE);
            }
            let Some(facts) = ctx.signin.cert_sheet(&u, &serial, "cli").await? else {
                eprintln!("error: {user} has no certificate {serial}");
                return Ok(ExitCode::FAILURE);
            };
            let (html, _) = crate::client_cert::render_sheet(&facts)?;
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut file = o
                .open(&out)
                .map_err(|e| anyhow::anyhow!("--out {}: {e}", out.display()))?;
            std::io::Write::write_all(&mut file, html.as_bytes())?;
            println!("sheet: {}", out.display());
        }
        CertCommand::Ca { out } => {
            let (cert, _) = ctx.signin.cert_authority().await?;
            std::fs::write(&out, cert.to_pem()?)?;
            println!("ca: {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
