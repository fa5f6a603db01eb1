//! Reading a directory: connect (ldap://, ldap:// + StartTLS, or ldaps://), simple bind, and a
//! subtree search with the Simple Paged Results control (RFC 2696), so directories larger than
//! the server's size limit (AD: 1000, often 500 on OpenLDAP) are read whole.

use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use super::mapping::DirEntry;

/// Where and how to search.
#[derive(Debug)]
pub struct Query<'a> {
    /// Server URL.
    pub url: &'a str,
    /// StartTLS.
    pub start_tls: bool,
    /// PEM of the CA to trust (`None`: the system trust store).
    pub tls_ca: Option<&'a str>,
    /// Bind DN.
    pub bind_dn: &'a str,
    /// Bind password.
    pub password: &'a str,
    /// Base DN.
    pub base_dn: &'a str,
    /// Filter.
    pub filter: &'a str,
    /// Attributes to return.
    pub attributes: Vec<String>,
    /// Page size.
    pub page_size: i32,
}

/// Every entry the search returns, attribute names lower-cased.
pub async fn search(q: Query<'_>) -> anyhow::Result<Vec<DirEntry>> {
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(Duration::from_secs(15))
        .set_starttls(q.start_tls);
    if let Some(pem) = q.tls_ca {
        let ca = native_tls::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| anyhow::anyhow!("the source's TLS CA: {e}"))?;
        let connector = native_tls::TlsConnector::builder()
            .add_root_certificate(ca)
            .build()
            .map_err(|e| anyhow::anyhow!("TLS settings: {e}"))?;
        settings = settings.set_connector(connector);
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, q.url)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {}: {e}", q.url))?;
    ldap3::drive!(conn);
    ldap.simple_bind(q.bind_dn, q.password)
        .await
        .and_then(|r| r.success())
        .map_err(|e| anyhow::anyhow!("binding to {} as {}: {e}", q.url, q.bind_dn))?;
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(q.page_size)),
    ];
    let mut stream = ldap
        .streaming_search_with(adapters, q.base_dn, Scope::Subtree, q.filter, q.attributes)
        .await
        .map_err(|e| anyhow::anyhow!("searching {}: {e}", q.base_dn))?;
    let mut out = Vec::new();
    while let Some(entry) = stream
        .next()
        .await
        .map_err(|e| anyhow::anyhow!("reading the search results: {e}"))?
    {
        let e = SearchEntry::construct(entry);
        out.push(DirEntry {
            dn: e.dn,
            attrs: e
                .attrs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            bin_attrs: e
                .bin_attrs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        });
    }
    stream
        .finish()
        .await
        .success()
        .map_err(|e| anyhow::anyhow!("search of {} ended with: {e}", q.base_dn))?;
    let _ = ldap.unbind().await;
    Ok(out)
}
