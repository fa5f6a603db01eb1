//! The built-in TLS listener (`serve --tls-listen ADDR --tls-cert PEM --tls-key PEM`): the same
//! user router over HTTPS, asking for an optional client certificate.
//!
//! rustls with the `ring` provider (`aws-lc-rs` would want cmake and, on some targets, bindgen).
//! The client verifier is rustls' `WebPkiClientVerifier` with the tenant's CA as the only root
//! and its current CRL, `allow_unauthenticated()` so that pages without the certificate step
//! still work. A presented certificate that does not chain to our CA, is expired, revoked or not
//! for client authentication fails the handshake. The CRL is rebuilt when a revocation shows up
//! in the store ([`crate::store::Store::client_cert_revocation_version`], checked every
//! [`CRL_CHECK_SECS`] seconds) and at least daily; new connections get the new configuration.
//! The step itself checks revocation in the store too, so connections opened before the
//! refresh cannot pass with a revoked certificate either.
//!
//! Connections are served by hyper's HTTP/1.1 server (hyper-util glue) so that each request can
//! carry the connection's verified leaf certificate as a [`PeerCertificate`] extension and the
//! peer address as axum's `ConnectInfo`.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tower::ServiceExt;

use crate::client_cert::PeerCertificate;
use crate::signin::SignIn;

/// How often the listener looks for new revocations.
pub const CRL_CHECK_SECS: u64 = 2;
/// The CRL is rebuilt at least this often even without revocations (its nextUpdate is 7 days).
const CRL_MAX_AGE_SECS: u64 = 86_400;
/// A TLS handshake that takes longer is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's own certificate chain and key, read once at start.
#[derive(Debug)]
struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key_pkcs8: Vec<u8>,
}

fn load_identity(cert: &Path, key: &Path) -> anyhow::Result<ServerIdentity> {
    let pem = std::fs::read(cert).with_context(|| format!("--tls-cert {}", cert.display()))?;
    let chain = openssl::x509::X509::stack_from_pem(&pem)
        .with_context(|| format!("--tls-cert {}: not PEM certificates", cert.display()))?
        .iter()
        .map(|c| c.to_der().map(CertificateDer::from))
        .collect::<Result<Vec<_>, _>>()?;
    anyhow::ensure!(
        !chain.is_empty(),
        "--tls-cert {}: no certificate",
        cert.display()
    );
    let pem = std::fs::read(key).with_context(|| format!("--tls-key {}", key.display()))?;
    let key_pkcs8 = openssl::pkey::PKey::private_key_from_pem(&pem)
        .with_context(|| format!("--tls-key {}: not a PEM private key", key.display()))?
        .private_key_to_pkcs8()?;
    Ok(ServerIdentity { chain, key_pkcs8 })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration with the CA and CRL of this moment.
async fn build_config(signin: &SignIn, id: &ServerIdentity) -> anyhow::Result<Arc<ServerConfig>> {
    let (ca, _) = signin.cert_authority().await?;
    let crl = signin.client_crl().await?;
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.to_der()?))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .with_crls(vec![CertificateRevocationListDer::from(crl)])
        .allow_unauthenticated()
        .build()?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            id.chain.clone(),
            PrivateKeyDer::Pkcs8(id.key_pkcs8.clone().into()),
        )
        .context("the TLS certificate and key do not fit together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Binds the TLS listener, prints `tls-listening: IP:PORT`, and serves `app` in the
/// background.
pub async fn start(
    addr: &str,
    cert: &Path,
    key: &Path,
    signin: SignIn,
    app: Router,
) -> anyhow::Result<()> {
    let id = load_identity(cert, key)?;
    let config = Arc::new(RwLock::new(build_config(&signin, &id).await?));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the TLS listener {addr}"))?;
    println!("tls-listening: {}", listener.local_addr()?);

    // The CRL refresher.
    let refresh = config.clone();
    tokio::spawn(async move {
        let mut version = signin
            .store
            .client_cert_revocation_version(signin.tenant_id)
            .await
            .ok();
        let mut built = std::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(CRL_CHECK_SECS));
        loop {
            tick.tick().await;
            let now = signin
                .store
                .client_cert_revocation_version(signin.tenant_id)
                .await
                .ok();
            if now == version && built.elapsed() < Duration::from_secs(CRL_MAX_AGE_SECS) {
                continue;
            }
            match build_config(&signin, &id).await {
                Ok(c) => {
                    if let Ok(mut w) = refresh.write() {
                        *w = c;
                    }
                    version = now;
                    built = std::time::Instant::now();
                    tracing::info!("TLS listener: client CRL refreshed");
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "TLS listener: CRL refresh failed")
                }
            }
        }
    });

    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "TLS listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let current = match config.read() {
                Ok(c) => c.clone(),
                Err(_) => continue,
            };
            let app = app.clone();
            tokio::spawn(async move {
                let acceptor = tokio_rustls::TlsAcceptor::from(current);
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::info!(%peer, error = %e, "TLS handshake refused");
                        return;
                    }
                    Err(_) => return,
                };
                let leaf = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.as_ref().to_vec());
                let cert = PeerCertificate(leaf);
                let service = hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut()
                            .insert(axum::extract::ConnectInfo(peer));
                        req.extensions_mut().insert(cert.clone());
                        app.clone().oneshot(req)
                    },
                );
                // A client that never finishes its request headers is dropped (slowloris).
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(tls), service)
                    .with_upgrades()
                    .await
                {
                    tracing::debug!(%peer, error = %e, "TLS connection ended with an error");
                }
            });
        }
    });
    Ok(())
}

/// What `serve` takes for the TLS listener and the proxy header.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Address of the built-in HTTPS listener (port 0 picks a free port); it asks for an
    /// optional client certificate from the private CA. Needs --tls-cert and --tls-key.
    #[arg(long, env = "PASSLOGIC_TLS_LISTEN", requires_all = ["tls_cert", "tls_key"])]
    pub tls_listen: Option<String>,
    /// The HTTPS listener's certificate chain (PEM, leaf first).
    #[arg(long, env = "PASSLOGIC_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The HTTPS listener's private key (PEM).
    #[arg(long, env = "PASSLOGIC_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Header in which a reverse proxy passes the client certificate (URL-encoded PEM, as
    /// nginx's `$ssl_client_escaped_cert`), e.g. X-Client-Cert. Believed only from a
    /// --trusted-proxy peer; from anyone else it is ignored (and audited).
    #[arg(long, env = "PASSLOGIC_CLIENT_CERT_HEADER")]
    pub client_cert_header: Option<String>,
    /// SMTP server for e-mailed certificates, smtp://HOST:PORT (plain SMTP: a local relay).
    #[arg(long, env = "PASSLOGIC_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender address of e-mailed certificates.
    #[arg(long, env = "PASSLOGIC_SMTP_FROM")]
    pub smtp_from: Option<String>,
}
