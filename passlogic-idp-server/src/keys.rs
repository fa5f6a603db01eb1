//! The key-encryption key (KEK) on disk, and its rotation.
//!
//! The KEK lives in its own file (default `DATA_DIR/kek`, mode 0600, base64 of 32 random bytes),
//! never in the database, so a database dump or backup alone reveals no secret. Rotation writes
//! the new key to `kek.next` first, re-seals every secret in one transaction, then renames
//! `kek.next` over `kek`. If it is interrupted, both files are loaded at start-up (every blob
//! names the key that sealed it) and running `keys rotate-kek` again finishes the job.
//!
//! Running servers take up a rotation without a restart: [`KekFile::watch`] re-reads the files
//! every [`WATCH_INTERVAL`] and swaps the keys in ([`Keyring::replace_with`]): while `kek.next`
//! exists they open blobs sealed under it, once it replaces `kek` they seal under it (and still
//! open blobs under the old key in memory). A node may seal a secret under the old key in the
//! moment before it notices the swap, so `rotate` waits a settling time (`--settle-secs`, default
//! 5 s) after installing the new key and re-seals once more the rows still under the old one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use passlogic_idp_core::seal::{self, Kek, Keyring};

use crate::secrets;
use crate::store::Store;

/// How often a running server looks at the key files.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Where the KEK file is.
#[derive(Clone, Debug)]
pub struct KekFile {
    path: PathBuf,
}

impl KekFile {
    /// The KEK at `path`.
    pub fn new(path: PathBuf) -> Self {
        KekFile { path }
    }

    fn next_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".next");
        PathBuf::from(p)
    }

    /// Loads the keyring, creating a new random KEK when none exists yet.
    pub fn load_or_create(&self) -> anyhow::Result<Keyring> {
        if !self.path.exists() {
            let kek = Kek::generate(&mut rand::rngs::OsRng);
            write_key(&self.path, &kek)?;
            tracing::info!(kek_id = %kek.id(), path = %self.path.display(), "created a new key-encryption key");
        }
        let mut ring = Keyring::new(read_key(&self.path)?);
        let next = self.next_path();
        if next.exists() {
            tracing::warn!("an interrupted key rotation left {}; run `passlogic-idp keys rotate-kek` to finish it", next.display());
            ring = ring.with_previous(read_key(&next)?);
        }
        Ok(ring)
    }

    /// Re-seals every stored secret under a new KEK and makes it the current one.
    /// Returns (old id, new id, number of secrets re-sealed).
    pub async fn rotate(
        &self,
        store: &Store,
        settle: Duration,
    ) -> anyhow::Result<(String, String, usize)> {
        let old = read_key(&self.path).context("reading the current key-encryption key")?;
        let next_path = self.next_path();
        let new = if next_path.exists() {
            read_key(&next_path)?
        } else {
            let k = Kek::generate(&mut rand::rngs::OsRng);
            write_key(&next_path, &k)?;
            k
        };
        let old_id = old.id().to_string();
        let new_id = new.id().to_string();
        let ring = Keyring::new(old).with_previous(read_key(&next_path)?);
        // Running servers open blobs under the new key from their next look at the files on.
        tokio::time::sleep(settle).await;
        let mut count = reseal_all(store, &ring, &new).await?;
        std::fs::rename(&next_path, &self.path).context("installing the new key-encryption key")?;
        // Rows a running server sealed under the old key before it took up the new one.
        tokio::time::sleep(settle).await;
        count += reseal_all(store, &ring, &new).await?;
        Ok((old_id, new_id, count))
    }

    /// Loads the key files as they are now, without creating anything; `None` when there is no
    /// key file.
    fn load(&self) -> anyhow::Result<Option<Keyring>> {
        if !self.path.exists() {
            return Ok(None);
        }
        let mut ring = Keyring::new(read_key(&self.path)?);
        let next = self.next_path();
        if next.exists() {
            ring = ring.with_previous(read_key(&next)?);
        }
        Ok(Some(ring))
    }

    /// Re-reads the key files every [`WATCH_INTERVAL`] and swaps changed keys into `ring` (a
    /// server's task; never returns).
    pub async fn watch(self, ring: Arc<Keyring>) {
        let mut seen = ring.ids();
        loop {
            tokio::time::sleep(WATCH_INTERVAL).await;
            match self.load() {
                Ok(Some(loaded)) => {
                    let ids = loaded.ids();
                    if ids != seen {
                        ring.replace_with(loaded);
                        tracing::info!(current = %ids[0], "took up the rotated key-encryption key files");
                        seen = ids;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "cannot read the key-encryption key files")
                }
            }
        }
    }
}

/// Re-seals every stored secret not yet under `new`; returns how many.
async fn reseal_all(store: &Store, ring: &Keyring, new: &Kek) -> anyhow::Result<usize> {
    {
        let mut resealed = Vec::new();
        for (user_id, tenant_id, blob) in store.sealed_matrix_secrets().await? {
            if seal::sealed_with(&blob) == Some(new.id()) {
                continue;
            }
            let aad = secrets::matrix_aad(tenant_id, user_id);
            let fresh =
                seal::reseal(ring, new, &aad, &blob, &mut rand::rngs::OsRng).map_err(|e| {
                    anyhow::anyhow!("user {user_id}: cannot open the sealed secret: {e}")
                })?;
            resealed.push((user_id, fresh));
        }
        let mut factor_rows = Vec::new();
        for (kind, key, tenant_id, owner, blob) in store.sealed_factor_secrets().await? {
            if seal::sealed_with(&blob) == Some(new.id()) {
                continue;
            }
            let aad = if kind == "factor" {
                secrets::user_aad(&key, tenant_id, owner)
            } else {
                secrets::token_aad(tenant_id, &key)
            };
            let fresh = seal::reseal(ring, new, &aad, &blob, &mut rand::rngs::OsRng)
                .map_err(|e| anyhow::anyhow!("{kind} {key}: cannot open the sealed secret: {e}"))?;
            factor_rows.push((kind, key, owner, fresh));
        }
        let oidc_rows = crate::oidc_service::reseal_key_sets(store, ring, new).await?;
        let saml_rows = crate::saml_service::reseal_signing_keys(store, ring, new).await?;
        let radius_rows = crate::radius::clients::reseal_all(store, ring, new).await?;
        let ca_rows = reseal_rows(
            ring,
            new,
            store.sealed_ca_keys().await?,
            crate::ca::ca_key_aad,
            "CA key of tenant",
        )?;
        let ldap_rows = crate::ldap::source::reseal_all(store, ring, new).await?;
        let cert_rows = crate::client_cert::reseal_all(store, ring, new).await?;
        store.replace_matrix_secrets(&resealed).await?;
        store.replace_factor_secrets(&factor_rows).await?;
        store.replace_oidc_key_sets(&oidc_rows).await?;
        store.replace_saml_signing_keys(&saml_rows).await?;
        store.replace_radius_secrets(&radius_rows).await?;
        store.replace_ca_keys(&ca_rows).await?;
        store.replace_ldap_passwords(&ldap_rows).await?;
        let cert_count = crate::client_cert::store_resealed(store, &cert_rows).await?;
        Ok(resealed.len()
            + factor_rows.len()
            + oidc_rows.len()
            + saml_rows.len()
            + radius_rows.len()
            + ca_rows.len()
            + ldap_rows.len()
            + cert_count)
    }
}

fn read_key(path: &Path) -> anyhow::Result<Kek> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key-encryption key {}", path.display()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .with_context(|| format!("{} is not base64", path.display()))?;
    Kek::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn write_key(path: &Path, kek: &Kek) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    let text = base64::engine::general_purpose::STANDARD.encode(kek.expose_bytes());
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(())
}

/// Re-seals `(owner id, blob)` rows under `new`, skipping those already sealed with it; `aad`
/// gives each row's associated data and `what` names the rows in errors. Shared by every kind of
/// sealed row that key rotation visits.
pub fn reseal_rows(
    ring: &Keyring,
    new: &Kek,
    rows: Vec<(i64, Vec<u8>)>,
    aad: impl Fn(i64) -> Vec<u8>,
    what: &str,
) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let mut out = Vec::new();
    for (id, blob) in rows {
        if seal::sealed_with(&blob) == Some(new.id()) {
            continue;
        }
        let fresh = seal::reseal(ring, new, &aad(id), &blob, &mut rand::rngs::OsRng)
            .map_err(|e| anyhow::anyhow!("{what} {id}: {e}"))?;
        out.push((id, fresh));
    }
    Ok(out)
}
