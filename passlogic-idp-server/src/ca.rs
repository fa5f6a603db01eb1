//! The private certificate authority of a tenant: created on first use (ECDSA P-256, its key
//! sealed under the KEK like every secret), client certificates per user handed out as
//! password-protected PKCS#12 (the user's private key is never stored), revocation and the CRL.
//! The documents are built by [`passlogic_idp_core::ca`].
//!
//! The sign-in step, the TLS listener, the proxy header and the distribution (download page,
//! e-mail, printable sheet, admin API) live in [`crate::client_cert`] and [`crate::tls`].

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use passlogic_idp_core::ca::{self, Revoked};
use rand::RngCore;
use serde_json::json;

use crate::secrets;
use crate::signin::SignIn;
use crate::store::{ClientCertRow, UserRow};

/// Client certificate lifetime.
pub const CLIENT_CERT_DAYS: i64 = 365;
/// The CRL's `nextUpdate`: 7 days after it is made.
pub const CRL_NEXT_UPDATE_SECS: i64 = 7 * 86_400;

/// The AAD of a tenant's sealed CA key.
pub fn ca_key_aad(tenant_id: i64) -> Vec<u8> {
    format!("passlogic-idp ca key {tenant_id}").into_bytes()
}

/// A serial: 8 random bytes (positive) then the counter, hex.
fn serial(counter: i64) -> Vec<u8> {
    let mut b = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[0] &= 0x7f;
    b[0] |= 0x01;
    let mut v = b.to_vec();
    v.extend(counter.to_be_bytes());
    v
}

/// An issued certificate as PKCS#12.
#[derive(Debug)]
pub struct Issued {
    /// Hex serial.
    pub serial: String,
    /// The bundle.
    pub pkcs12: Vec<u8>,
}

impl SignIn {
    /// The tenant's CA (certificate and key), created at first use.
    pub async fn cert_authority(&self) -> anyhow::Result<(X509, PKey<Private>)> {
        let aad = ca_key_aad(self.tenant_id);
        if self.store.cert_authority(self.tenant_id).await?.is_none() {
            let key = ca::new_p256_key()?;
            let cert = ca::ca_certificate(
                &key,
                &format!("passlogic-idp client CA (tenant {})", self.tenant_id),
                &serial(1),
                self.clock.unix(),
            )?;
            let sealed = secrets::seal_bytes(&self.keyring, &aad, &key.private_key_to_der()?);
            let pem = String::from_utf8(cert.to_pem()?)?;
            if self
                .store
                .create_cert_authority(self.tenant_id, &pem, &sealed, self.clock.unix())
                .await?
            {
                self.audit(self.audit_event("cli", "ca.created", "", "success", json!({}), None))
                    .await;
            }
        }
        let (pem, sealed) = self
            .store
            .cert_authority(self.tenant_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no CA"))?;
        let key = PKey::private_key_from_der(&secrets::open_bytes(&self.keyring, &aad, &sealed)?)?;
        Ok((X509::from_pem(pem.as_bytes())?, key))
    }

    /// Issues a client certificate for a user as a PKCS#12 under `password`.
    pub async fn issue_client_cert(
        &self,
        user: &UserRow,
        password: &str,
        actor: &str,
    ) -> anyhow::Result<Issued> {
        let (ca_cert, ca_key) = self.cert_authority().await?;
        let now = self.clock.unix();
        let counter = self.store.next_ca_counter(self.tenant_id, true).await?;
        let serial = serial(counter);
        let user_key = ca::new_p256_key()?;
        let cert = ca::client_certificate(
            &ca_cert,
            &ca_key,
            &user.name,
            &user_key,
            &serial,
            now,
            CLIENT_CERT_DAYS,
        )?;
        let pkcs12 = ca::pkcs12(&user.name, &user_key, &cert, &ca_cert, password)?;
        let hex_serial = hex::encode(&serial);
        self.store
            .add_client_cert(
                self.tenant_id,
                &ClientCertRow {
                    serial: hex_serial.clone(),
                    user_id: user.id,
                    not_after: now + CLIENT_CERT_DAYS * 86_400,
                    revoked_at: None,
                },
                now,
            )
            .await?;
        self.audit(self.audit_event(
            actor,
            "cert.issued",
            &user.name,
            "success",
            json!({ "serial": hex_serial }),
            None,
        ))
        .await;
        Ok(Issued {
            serial: hex_serial,
            pkcs12,
        })
    }

    /// Revokes a certificate by hex serial; `false` when unknown or already revoked.
    pub async fn revoke_client_cert(&self, serial: &str, actor: &str) -> anyhow::Result<bool> {
        let serial = serial.trim().to_ascii_lowercase();
        let done = self
            .store
            .revoke_client_cert(self.tenant_id, &serial, self.clock.unix())
            .await?;
        if done {
            self.audit(self.audit_event(
                actor,
                "cert.revoked",
                "",
                "success",
                json!({ "serial": serial }),
                None,
            ))
            .await;
        }
        Ok(done)
    }

    /// The current CRL (DER), with a new CRL number.
    pub async fn client_crl(&self) -> anyhow::Result<Vec<u8>> {
        let (ca_cert, ca_key) = self.cert_authority().await?;
        let revoked: Vec<Revoked> = self
            .store
            .client_certs(self.tenant_id, None)
            .await?
            .into_iter()
            .filter_map(|c| {
                Some(Revoked {
                    serial: hex::decode(&c.serial).ok()?,
                    at: c.revoked_at?,
                })
            })
            .collect();
        let number = self.store.next_ca_counter(self.tenant_id, false).await?;
        Ok(ca::crl_der(
            &ca_cert,
            &ca_key,
            &revoked,
            u64::try_from(number).unwrap_or(0),
            self.clock.unix(),
            CRL_NEXT_UPDATE_SECS,
        )?)
    }
}
