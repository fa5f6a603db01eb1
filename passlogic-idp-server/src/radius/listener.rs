//! The UDP task: receive a datagram, find its client, authenticate it, deduplicate, answer.
//!
//! Every datagram is handled in its own task (a PIN check may wait for an Argon2id permit).
//! Nothing is answered unless the packet came from a registered address and authenticates with
//! that client's shared secret (RFC 2865 section 3: silently discard); both refusals are audited
//! (`radius.unknown_client`, `radius.dropped` with the reason). A retransmission (same source
//! address and port, Identifier and Request Authenticator, RFC 5080) gets the stored reply bytes
//! without re-checking anything, so it is counted once; one still being processed is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use passlogic_idp_core::radius::auth::{self, RequestPolicy};
use passlogic_idp_core::radius::dedup::{DedupKey, DuplicateCache, Lookup};
use passlogic_idp_core::radius::packet::{Code, MAX_PACKET_LEN};
use serde_json::json;
use tokio::net::UdpSocket;

use super::clients;
use super::service::RadiusService;

/// The RADIUS listener's shared state.
#[derive(Debug)]
pub struct Listener {
    socket: UdpSocket,
    service: RadiusService,
    cache: Mutex<DuplicateCache>,
}

impl Listener {
    /// Binds `addr` (UDP).
    pub async fn bind(addr: &str, service: RadiusService) -> anyhow::Result<Arc<Listener>> {
        let socket = UdpSocket::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("binding RADIUS on {addr}: {e}"))?;
        Ok(Arc::new(Listener {
            socket,
            service,
            cache: Mutex::new(DuplicateCache::default()),
        }))
    }

    /// The bound address.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    /// Serves until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let mut buf = vec![0u8; MAX_PACKET_LEN + 1];
        loop {
            let (n, peer) = match self.socket.recv_from(&mut buf).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "RADIUS receive failed");
                    continue;
                }
            };
            let datagram = buf[..n].to_vec();
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.handle(&datagram, peer).await {
                    tracing::error!(error = %format!("{e:#}"), %peer, "RADIUS request failed");
                }
            });
        }
    }

    async fn audit(&self, event: &str, outcome: &str, detail: serde_json::Value, peer: SocketAddr) {
        let signin = &self.service.signin;
        signin
            .audit(signin.audit_event(
                "anonymous",
                event,
                &peer.ip().to_string(),
                outcome,
                detail,
                Some(&peer.ip().to_string()),
            ))
            .await;
    }

    async fn handle(&self, datagram: &[u8], peer: SocketAddr) -> anyhow::Result<()> {
        let signin = &self.service.signin;
        let all = signin.store.radius_clients(signin.tenant_id).await?;
        let Some(client) = clients::find_client(&all, peer.ip()) else {
            self.audit("radius.unknown_client", "failure", json!({}), peer)
                .await;
            return Ok(());
        };
        let secret = clients::open_secret(&signin.keyring, client)?;
        let policy = RequestPolicy {
            require_message_authenticator: client.require_message_authenticator,
            client_is_proxy: false,
        };
        let request = match auth::verify_request_with_policy(datagram, &secret, &policy) {
            Ok(r) => r,
            Err(e) => {
                let detail = json!({ "client": client.name, "reason": e.to_string() });
                self.audit("radius.dropped", "failure", detail, peer).await;
                return Ok(());
            }
        };
        let key = DedupKey::for_request(peer.to_string(), &request);
        let now = signin.clock.now();
        let lookup = self
            .cache
            .lock()
            .map_err(|_| anyhow::anyhow!("duplicate cache poisoned"))?
            .check(&key, now);
        match lookup {
            Lookup::Duplicate(reply) => {
                tracing::info!(%peer, id = request.identifier, "RADIUS retransmission answered");
                self.socket.send_to(&reply, peer).await?;
                return Ok(());
            }
            Lookup::InProgress => return Ok(()),
            Lookup::New => {}
        }
        let reply = if request.code == Code::StatusServer {
            // RFC 5997: a Status-Server is answered with an Access-Accept, without attributes.
            auth::build_reply(&request, Code::AccessAccept, &[], &secret)
                .map_err(|e| anyhow::anyhow!("{e}"))
        } else {
            self.service
                .answer(&request, &secret, client, peer.ip())
                .await
        };
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                if let Ok(mut c) = self.cache.lock() {
                    c.forget(&key);
                }
                return Err(e);
            }
        };
        if let Ok(mut c) = self.cache.lock() {
            c.store(key, reply.clone(), signin.clock.now());
        }
        self.socket.send_to(&reply, peer).await?;
        Ok(())
    }
}
