//! LDAP sources: validating and registering one (its bind password sealed under the KEK with
//! associated data naming the source), opening the password for a sync, and re-sealing the
//! passwords when the KEK rotates.

use passlogic_idp_core::seal::{Kek, Keyring};

use super::mapping::{self, AttributeMap};
use crate::secrets;
use crate::store::{LdapSourceRow, Store};

/// Associated data of a source's sealed bind password.
pub fn password_aad(tenant_id: i64, source_id: i64) -> Vec<u8> {
    format!("passlogic:ldap-bind:tenant:{tenant_id}:source:{source_id}").into_bytes()
}

/// A source as the administrator describes it.
#[derive(Debug, Clone)]
pub struct NewSource {
    /// Name (unique per tenant).
    pub name: String,
    /// `ldap://` or `ldaps://` URL.
    pub url: String,
    /// StartTLS on an ldap:// URL.
    pub start_tls: bool,
    /// PEM of the CA to trust for TLS instead of the system store.
    pub tls_ca: Option<String>,
    /// Bind DN.
    pub bind_dn: String,
    /// Base DN.
    pub base_dn: String,
    /// Filter (default: the preset's).
    pub filter: Option<String>,
    /// `FIELD=ATTRIBUTE` overrides of the preset mapping.
    pub map: Vec<String>,
    /// Group attribute (default `memberOf`; `none` for no group sync).
    pub group_attr: Option<String>,
    /// Active Directory preset.
    pub ad: bool,
    /// Delete users gone from the directory instead of disabling them.
    pub delete_missing: bool,
    /// Paged search page size.
    pub page_size: i64,
}

/// Default filter for OpenLDAP.
pub const OPENLDAP_FILTER: &str = "(objectClass=inetOrgPerson)";
/// Default filter for Active Directory: user accounts, not computers.
pub const AD_FILTER: &str = "(&(objectCategory=person)(objectClass=user))";

/// Validates the settings and the URL; returns the row to store (without the password).
pub fn validate(tenant_id: i64, s: &NewSource) -> anyhow::Result<LdapSourceRow> {
    let url = url::Url::parse(&s.url).map_err(|e| anyhow::anyhow!("--url {}: {e}", s.url))?;
    match url.scheme() {
        "ldap" => {}
        "ldaps" => anyhow::ensure!(
            !s.start_tls,
            "--start-tls is for ldap:// URLs (ldaps:// is TLS from the start)"
        ),
        other => anyhow::bail!(
            "--url {}: scheme {other:?} (use ldap:// or ldaps://)",
            s.url
        ),
    }
    anyhow::ensure!(url.host_str().is_some(), "--url {}: no host", s.url);
    if let Some(pem) = &s.tls_ca {
        anyhow::ensure!(
            s.start_tls || url.scheme() == "ldaps",
            "--tls-ca-file needs ldaps:// or --start-tls"
        );
        native_tls::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| anyhow::anyhow!("--tls-ca-file: not a PEM certificate: {e}"))?;
    }
    anyhow::ensure!(!s.name.trim().is_empty(), "the source needs a name");
    anyhow::ensure!(!s.base_dn.trim().is_empty(), "--base-dn must not be empty");
    anyhow::ensure!(
        (1..=10_000).contains(&s.page_size),
        "--page-size must be between 1 and 10000"
    );
    let preset = if s.ad {
        mapping::ad_defaults()
    } else {
        mapping::openldap_defaults()
    };
    let map: AttributeMap = mapping::with_overrides(preset, &s.map)?;
    let filter = s
        .filter
        .clone()
        .unwrap_or_else(|| if s.ad { AD_FILTER } else { OPENLDAP_FILTER }.to_owned());
    anyhow::ensure!(
        filter.starts_with('(') && filter.ends_with(')'),
        "--filter {filter}: an LDAP filter is parenthesised, e.g. (objectClass=person)"
    );
    let group_attr = match s.group_attr.as_deref() {
        None => Some("memberOf".to_owned()),
        Some("none") => None,
        Some(g) => Some(g.to_owned()),
    };
    Ok(LdapSourceRow {
        id: 0,
        tenant_id,
        name: s.name.clone(),
        url: s.url.clone(),
        start_tls: s.start_tls,
        tls_ca: s.tls_ca.clone(),
        bind_dn: s.bind_dn.clone(),
        sealed_password: Vec::new(),
        base_dn: s.base_dn.clone(),
        filter,
        attribute_map: serde_json::to_string(&map)?,
        group_attr,
        active_directory: s.ad,
        missing: if s.delete_missing {
            "delete"
        } else {
            "disable"
        }
        .to_owned(),
        page_size: s.page_size,
    })
}

/// Registers a source; `Ok(false)` when the name is taken.
pub async fn add(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    s: &NewSource,
    password: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let row = validate(tenant_id, s)?;
    anyhow::ensure!(!password.is_empty(), "the bind password is empty");
    let id = store
        .create_ldap_source(
            &row,
            |id| secrets::seal_bytes(ring, &password_aad(tenant_id, id), password.as_bytes()),
            now,
        )
        .await?;
    Ok(id.is_some())
}

/// Opens a source's bind password.
pub fn password(ring: &Keyring, s: &LdapSourceRow) -> anyhow::Result<String> {
    let plain = secrets::open_bytes(ring, &password_aad(s.tenant_id, s.id), &s.sealed_password)?;
    String::from_utf8(plain).map_err(|_| anyhow::anyhow!("ldap source {}: bad password", s.name))
}

/// The mapping stored with a source.
pub fn attribute_map(s: &LdapSourceRow) -> anyhow::Result<AttributeMap> {
    serde_json::from_str(&s.attribute_map)
        .map_err(|e| anyhow::anyhow!("ldap source {}: stored mapping: {e}", s.name))
}

/// Re-seals every source's bind password under `new` (KEK rotation).
pub async fn reseal_all(
    store: &Store,
    ring: &Keyring,
    new: &Kek,
) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let sources = store.all_ldap_sources().await?;
    let tenants: std::collections::HashMap<i64, i64> =
        sources.iter().map(|s| (s.id, s.tenant_id)).collect();
    let rows = sources
        .into_iter()
        .map(|s| (s.id, s.sealed_password))
        .collect();
    crate::keys::reseal_rows(
        ring,
        new,
        rows,
        |id| password_aad(tenants.get(&id).copied().unwrap_or_default(), id),
        "ldap source",
    )
}
