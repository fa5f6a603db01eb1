//! Client certificates as a sign-in step (`client_certificate`) and their distribution.
//!
//! The certificate reaches the step either from the built-in TLS listener (`serve
//! --tls-listen`, [`crate::tls`]: the handshake already checked it against our CA and CRL, the
//! leaf DER rides along as a [`PeerCertificate`] request extension) or from a reverse proxy's
//! header (`serve --client-cert-header`, believed only from a `--trusted-proxy` peer). Either
//! way [`SignIn::check_client_cert`] checks it again the same way: it chains to this tenant's
//! CA, is inside its validity (by the server clock), carries clientAuth, its serial is one we
//! issued and have not revoked (the store, not a CRL, so a revocation counts at once), and the
//! serial belongs to the user signing in (a certificate with the right CN but another serial
//! is refused).
//!
//! Distribution (the four ways of the product): automatic issue at first sign-in (policy
//! `cert_auto_issue`: a one-time password on the page and a single-use download link), by
//! e-mail ([`crate::mail`]; the password goes on the printable sheet instead), the printable
//! sheet ([`SignIn::cert_sheet`]), and download through the admin API.
//!
//! `amr`: a PKCS#12 imported into a browser or OS key store is a software-protected key, so the
//! step adds `swk` (RFC 8176) beside our own `x509`.

use std::time::Duration;

use passlogic_idp_core::pipeline::Method;
use rand::RngCore;
use rustls::pki_types::{CertificateDer, UnixTime};
use serde_json::json;

use crate::ca::Issued;
use crate::secrets;
use crate::signin::SignIn;
use crate::store::{AttemptRow, CertDownloadRow, ClientCertRow, UserRow};
use crate::tokens::{hash_token, new_token};

/// The verified leaf certificate (DER) of a TLS connection, if the client sent one; set on
/// every request of the built-in TLS listener.
#[derive(Clone, Debug, Default)]
pub struct PeerCertificate(pub Option<Vec<u8>>);

/// How long the download link of an automatically issued certificate works.
pub const DOWNLOAD_TTL_SECS: i64 = 600;

/// The DER of the id-kp-clientAuth OID (1.3.6.1.5.5.7.3.2).
const EKU_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/// Why a certificate does not pass the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRefusal {
    /// No certificate came with the request.
    Missing,
    /// Not from our CA, malformed, not for client authentication, or a serial we never issued.
    Untrusted,
    /// Outside its validity.
    Expired,
    /// Revoked.
    Revoked,
    /// Valid, but another user's.
    OtherUser,
}

impl CertRefusal {
    /// The page's `data-error` code.
    pub fn code(self) -> &'static str {
        match self {
            CertRefusal::Missing => "cert-missing",
            CertRefusal::Untrusted => "cert-untrusted",
            CertRefusal::Expired => "cert-expired",
            CertRefusal::Revoked => "cert-revoked",
            CertRefusal::OtherUser => "cert-other-user",
        }
    }

    /// The audit reason.
    pub fn reason(self) -> &'static str {
        match self {
            CertRefusal::Missing => "no_certificate",
            CertRefusal::Untrusted => "untrusted_certificate",
            CertRefusal::Expired => "expired_certificate",
            CertRefusal::Revoked => "revoked_certificate",
            CertRefusal::OtherUser => "other_users_certificate",
        }
    }
}

/// What the client-certificate step did.
#[derive(Debug)]
pub enum CertStepOutcome {
    /// The certificate is the user's and valid: the step is recorded.
    Passed,
    /// Refused; the attempt is over.
    Refused(CertRefusal),
    /// The user had no certificate and the policy issues one: the attempt is over (the user
    /// installs the certificate and signs in again with it).
    AutoIssued {
        /// Hex serial.
        serial: String,
        /// The one-time PKCS#12 password, shown once on the page.
        password: String,
        /// The single-use download token.
        token: String,
    },
    /// Not the due step: nothing happened.
    OutOfOrder,
}

/// A random PKCS#12 password: 16 characters of an unambiguous 32-letter alphabet (80 bits) in
/// groups of four. 256 is a multiple of 32, so the modulo does not bias.
pub fn new_p12_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ0123456789";
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let chars: Vec<char> = b
        .iter()
        .map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The hex serial of a certificate (DER), as stored in `client_certs`.
pub fn serial_of(der: &[u8]) -> Option<String> {
    let cert = openssl::x509::X509::from_der(der).ok()?;
    let bn = cert.serial_number().to_bn().ok()?;
    Some(hex::encode(bn.to_vec()))
}

/// A certificate from a proxy header: URL-encoded PEM (nginx `$ssl_client_escaped_cert`) or
/// plain PEM; `None` when it is not one certificate.
pub fn parse_header_cert(value: &str) -> Option<Vec<u8>> {
    let decoded = percent_encoding::percent_decode_str(value.trim())
        .decode_utf8()
        .ok()?;
    let cert = openssl::x509::X509::from_pem(decoded.as_bytes()).ok()?;
    cert.to_der().ok()
}

fn sheet_password_aad(tenant_id: i64, serial: &str) -> Vec<u8> {
    format!("passlogic-idp cert sheet password tenant:{tenant_id} serial:{serial}").into_bytes()
}

fn download_aad(tenant_id: i64, serial: &str) -> Vec<u8> {
    format!("passlogic-idp cert download tenant:{tenant_id} serial:{serial}").into_bytes()
}

/// The printable sheet's facts.
#[derive(Debug)]
pub struct SheetFacts {
    /// Login name.
    pub user: String,
    /// Display name.
    pub display_name: String,
    /// Hex serial.
    pub serial: String,
    /// Validity, UNIX seconds.
    pub not_before: i64,
    /// Validity, UNIX seconds.
    pub not_after: i64,
    /// The one-time password, when it has not been printed before.
    pub password: Option<String>,
    /// Revoked.
    pub revoked: bool,
}

impl SignIn {
    /// Checks a presented certificate (DER) against the CA, the clock and the store.
    pub async fn check_client_cert(
        &self,
        der: &[u8],
    ) -> anyhow::Result<Result<ClientCertRow, CertRefusal>> {
        let Some((ca_pem, _)) = self.store.cert_authority(self.tenant_id).await? else {
            return Ok(Err(CertRefusal::Untrusted));
        };
        let ca_der = openssl::x509::X509::from_pem(ca_pem.as_bytes())?.to_der()?;
        let ca_der = CertificateDer::from(ca_der);
        let anchor = webpki::anchor_from_trusted_cert(&ca_der)
            .map_err(|e| anyhow::anyhow!("the CA certificate: {e}"))?;
        let leaf = CertificateDer::from(der.to_vec());
        let Ok(ee) = webpki::EndEntityCert::try_from(&leaf) else {
            return Ok(Err(CertRefusal::Untrusted));
        };
        let anchors = [anchor];
        let now = UnixTime::since_unix_epoch(Duration::from_secs(
            u64::try_from(self.clock.unix()).unwrap_or(0),
        ));
        // webpki (the verifier rustls uses for the TLS listener) with our clock: chain to the
        // tenant's CA, validity, the clientAuth purpose. Revocation is read from the store.
        let usage = webpki::KeyUsage::required(EKU_CLIENT_AUTH);
        let verified = ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &[],
            now,
            usage,
            None,
            None,
        );
        match verified {
            Ok(_) => {}
            Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {
                return Ok(Err(CertRefusal::Expired))
            }
            Err(_) => return Ok(Err(CertRefusal::Untrusted)),
        }
        let Some(serial) = serial_of(der) else {
            return Ok(Err(CertRefusal::Untrusted));
        };
        let Some(row) = self.store.client_cert(self.tenant_id, &serial).await? else {
            return Ok(Err(CertRefusal::Untrusted));
        };
        if row.revoked_at.is_some() {
            return Ok(Err(CertRefusal::Revoked));
        }
        Ok(Ok(row))
    }

    /// Takes the client-certificate step with the certificate the request carried, if any.
    pub async fn answer_client_certificate(
        &self,
        attempt: &AttemptRow,
        presented: Option<&[u8]>,
        ip: Option<&str>,
    ) -> anyhow::Result<CertStepOutcome> {
        if self.due(attempt) != Some(Method::ClientCertificate) {
            return Ok(CertStepOutcome::OutOfOrder);
        }
        let refusal = match presented {
            None => CertRefusal::Missing,
            Some(der) => match self.check_client_cert(der).await? {
                Ok(row) if Some(row.user_id) == attempt.user_id => {
                    if !self.record(attempt, &[Method::ClientCertificate]).await? {
                        return Ok(CertStepOutcome::OutOfOrder);
                    }
                    self.audit(self.audit_event(
                        &attempt.login_name,
                        "cert.step_passed",
                        &attempt.login_name,
                        "success",
                        json!({ "serial": row.serial }),
                        ip,
                    ))
                    .await;
                    return Ok(CertStepOutcome::Passed);
                }
                Ok(_) => CertRefusal::OtherUser,
                Err(r) => r,
            },
        };
        let serial = presented.and_then(serial_of);
        if refusal == CertRefusal::Missing {
            if let Some(out) = self.auto_issue(attempt, ip).await? {
                return Ok(out);
            }
        }
        self.fail(
            attempt,
            Method::ClientCertificate,
            refusal.reason(),
            json!({ "serial": serial }),
            ip,
        )
        .await;
        self.store.finish_attempt(&attempt.id).await?;
        Ok(CertStepOutcome::Refused(refusal))
    }

    /// Automatic issue at first sign-in: only when the policy says so and the user has never
    /// had a certificate (a revoked certificate is not replaced by whoever knows the password).
    async fn auto_issue(
        &self,
        attempt: &AttemptRow,
        ip: Option<&str>,
    ) -> anyhow::Result<Option<CertStepOutcome>> {
        let Some(user) = self.user_of(attempt).await? else {
            return Ok(None);
        };
        if !self.policy_for(Some(user.id)).await?.cert_auto_issue
            || !self
                .store
                .client_certs(self.tenant_id, Some(user.id))
                .await?
                .is_empty()
        {
            return Ok(None);
        }
        // End the attempt first: a second request of the same attempt cannot issue twice.
        if !self.store.finish_attempt(&attempt.id).await? {
            return Ok(None);
        }
        let password = new_p12_password();
        let issued = self
            .issue_client_cert(&user, &password, "auto-issue")
            .await?;
        let token = self.offer_download(user.id, &issued).await?;
        self.audit(self.audit_event(
            &user.name,
            "cert.auto_issued",
            &user.name,
            "success",
            json!({ "serial": issued.serial }),
            ip,
        ))
        .await;
        Ok(Some(CertStepOutcome::AutoIssued {
            serial: issued.serial,
            password,
            token,
        }))
    }

    /// Keeps `issued` sealed for one download within [`DOWNLOAD_TTL_SECS`]; returns the token of
    /// the link (`/login/client_certificate/download?token=...`, stored hashed).
    pub async fn offer_download(&self, user_id: i64, issued: &Issued) -> anyhow::Result<String> {
        let token = new_token();
        let now = self.clock.unix();
        let sealed = secrets::seal_bytes(
            &self.keyring,
            &download_aad(self.tenant_id, &issued.serial),
            &issued.pkcs12,
        );
        self.store
            .add_cert_download(
                self.tenant_id,
                &hash_token(&token),
                &CertDownloadRow {
                    user_id,
                    serial: issued.serial.clone(),
                    sealed_p12: sealed,
                },
                now + DOWNLOAD_TTL_SECS,
            )
            .await?;
        Ok(token)
    }

    /// The one download of an issued certificate: (serial, PKCS#12).
    pub async fn take_cert_download(
        &self,
        token: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        let now = self.clock.unix();
        let Some(row) = self
            .store
            .take_cert_download(self.tenant_id, &hash_token(token), now)
            .await?
        else {
            self.audit(self.audit_event(
                "anonymous",
                "cert.downloaded",
                "",
                "failure",
                json!({ "reason": "unknown_used_or_expired" }),
                ip,
            ))
            .await;
            return Ok(None);
        };
        let p12 = secrets::open_bytes(
            &self.keyring,
            &download_aad(self.tenant_id, &row.serial),
            &row.sealed_p12,
        )?;
        let name = self
            .store
            .user_by_id(row.user_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        self.audit(self.audit_event(
            &name,
            "cert.downloaded",
            &name,
            "success",
            json!({ "serial": row.serial }),
            ip,
        ))
        .await;
        Ok(Some((row.serial, p12)))
    }

    /// Issues a certificate under a fresh random password for hand-out (admin API, e-mail);
    /// with `for_sheet` the password is also kept sealed until the sheet is printed once.
    pub async fn issue_for_distribution(
        &self,
        user: &UserRow,
        actor: &str,
        for_sheet: bool,
    ) -> anyhow::Result<(Issued, String)> {
        let password = new_p12_password();
        let issued = self.issue_client_cert(user, &password, actor).await?;
        if for_sheet {
            self.keep_sheet_password(&issued.serial, &password).await?;
        }
        Ok((issued, password))
    }

    /// Keeps a certificate's password sealed for its printable sheet.
    pub async fn keep_sheet_password(&self, serial: &str, password: &str) -> anyhow::Result<()> {
        let sealed = secrets::seal_bytes(
            &self.keyring,
            &sheet_password_aad(self.tenant_id, serial),
            password.as_bytes(),
        );
        self.store
            .set_client_cert_password(self.tenant_id, serial, &sealed)
            .await
    }

    /// The printable sheet of a user's certificate; the password is on it the first time only.
    /// `None`: no such certificate of that user.
    pub async fn cert_sheet(
        &self,
        user: &UserRow,
        serial: &str,
        actor: &str,
    ) -> anyhow::Result<Option<SheetFacts>> {
        let serial = serial.trim().to_ascii_lowercase();
        let Some(row) = self.store.client_cert(self.tenant_id, &serial).await? else {
            return Ok(None);
        };
        if row.user_id != user.id {
            return Ok(None);
        }
        let password = match self
            .store
            .take_client_cert_password(self.tenant_id, &serial)
            .await?
        {
            Some(sealed) => Some(String::from_utf8(secrets::open_bytes(
                &self.keyring,
                &sheet_password_aad(self.tenant_id, &serial),
                &sealed,
            )?)?),
            None => None,
        };
        self.audit(self.audit_event(
            actor,
            "cert.sheet_printed",
            &user.name,
            "success",
            json!({ "serial": serial, "with_password": password.is_some() }),
            None,
        ))
        .await;
        Ok(Some(SheetFacts {
            user: user.name.clone(),
            display_name: user.display_name.clone(),
            serial,
            // As the core's CA writes it: 60 s before the issue, for clock skew.
            not_before: row.not_after - crate::ca::CLIENT_CERT_DAYS * 86_400 - 60,
            not_after: row.not_after,
            password,
            revoked: row.revoked_at.is_some(),
        }))
    }
}

/// The sheet's print stylesheet, inline so the page prints on its own; allowed by its hash in
/// the page's Content-Security-Policy (no `unsafe-inline`).
const SHEET_CSS: &str = "body{font-family:sans-serif;max-width:42em;margin:2em auto;color:#111}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #444;padding:.4em;text-align:left;\
vertical-align:top}th{width:40%;background:#f2f2f2}code.password{font-size:1.4em;letter-spacing:.1em}\
@media print{body{margin:0;max-width:none}h1{font-size:16pt}@page{margin:15mm}}";

#[derive(askama::Template)]
#[template(path = "cert_sheet.html")]
struct SheetPage<'a> {
    f: &'a SheetFacts,
    css: &'static str,
    not_before: String,
    not_after: String,
}

fn date(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

/// The printable sheet as HTML, and the Content-Security-Policy to serve it with.
pub fn render_sheet(f: &SheetFacts) -> anyhow::Result<(String, String)> {
    use base64::Engine;
    use sha2::Digest;
    let html = askama::Template::render(&SheetPage {
        f,
        css: SHEET_CSS,
        not_before: date(f.not_before),
        not_after: date(f.not_after),
    })?;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SHEET_CSS));
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'none'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    Ok((html, csp))
}

/// E-mails a freshly issued certificate to the user's address.
pub async fn email_certificate(
    settings: &crate::mail::MailSettings,
    user: &UserRow,
    issued: &Issued,
) -> anyhow::Result<()> {
    let to = user
        .email
        .as_deref()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| anyhow::anyhow!("user {} has no e-mail address", user.name))?;
    crate::mail::send_certificate(settings, to, &user.name, &issued.serial, &issued.pkcs12).await
}

/// Sheet passwords and waiting downloads re-sealed under a new KEK, not stored yet.
#[derive(Debug, Default)]
pub struct Resealed {
    passwords: Vec<(i64, String, Vec<u8>)>,
    downloads: Vec<(String, Vec<u8>)>,
}

/// `keys rotate-kek`: re-seals the sheet passwords and waiting downloads under `new`.
pub async fn reseal_all(
    store: &crate::store::Store,
    ring: &passlogic_idp_core::seal::Keyring,
    new: &passlogic_idp_core::seal::Kek,
) -> anyhow::Result<Resealed> {
    use passlogic_idp_core::seal;
    let mut out = Resealed::default();
    for (tenant_id, serial, blob) in store.sealed_cert_passwords().await? {
        if seal::sealed_with(&blob) == Some(new.id()) {
            continue;
        }
        let fresh = seal::reseal(
            ring,
            new,
            &sheet_password_aad(tenant_id, &serial),
            &blob,
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| anyhow::anyhow!("sheet password of certificate {serial}: {e}"))?;
        out.passwords.push((tenant_id, serial, fresh));
    }
    for (token_hash, tenant_id, serial, blob) in store.sealed_cert_downloads().await? {
        if seal::sealed_with(&blob) == Some(new.id()) {
            continue;
        }
        let fresh = seal::reseal(
            ring,
            new,
            &download_aad(tenant_id, &serial),
            &blob,
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| anyhow::anyhow!("download of certificate {serial}: {e}"))?;
        out.downloads.push((token_hash, fresh));
    }
    Ok(out)
}

/// Stores what [`reseal_all`] made; returns how many values.
pub async fn store_resealed(store: &crate::store::Store, rows: &Resealed) -> anyhow::Result<usize> {
    for (tenant_id, serial, blob) in &rows.passwords {
        store
            .set_client_cert_password(*tenant_id, serial, blob)
            .await?;
    }
    for (token_hash, blob) in &rows.downloads {
        store.replace_cert_download(token_hash, blob).await?;
    }
    Ok(rows.passwords.len() + rows.downloads.len())
}

#[cfg(test)]
mod tests {
    use super::{new_p12_password, parse_header_cert};

    #[test]
    fn passwords_are_random_and_grouped() {
        let p = new_p12_password();
        assert_eq!(p.len(), 19, "{p}");
        assert_eq!(p.matches('-').count(), 3);
        assert_ne!(p, new_p12_password());
    }

    #[test]
    fn header_values_that_are_not_a_certificate_are_refused() {
        assert!(parse_header_cert("").is_none());
        assert!(parse_header_cert("%ZZ").is_none());
        assert!(parse_header_cert("-----BEGIN CERTIFICATE-----%0Agarbage").is_none());
    }
}
