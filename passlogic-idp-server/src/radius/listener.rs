//! The UDP task: receive a datagram, find its client, authenticate it, deduplicate, answer.
//!
//! Every datagram is handled in its own task (a PIN check may wait for an Argon2id permit).
//! Nothing is answered unless the packet came from a registered address and authenticates with
//! that client's shared secret (RFC 2865 section 3: silently discard); both refusals are audited
//! (`radius.unknown_client`, `radius.dropped` with the reason). A retransmission (same source
//! address and port, Identifier and Request Authenticator, RFC 5080) gets the stored reply bytes
//! without re-checking anything, so it is counted once; one still being processed is dropped.
//!
//! Refusals are audited at most once a minute per source address and event (the rest go to
//! the debug log), so a flood of junk datagrams cannot flood the audit trail. At most
//! [`MAX_IN_FLIGHT`] datagrams are handled at once; beyond that they are dropped unanswered (the
//! NAS retransmits), so a flood cannot queue unbounded work.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use passlogic_idp_core::radius::auth::{self, RequestPolicy};
use passlogic_idp_core::radius::dedup::{DedupKey, DuplicateCache, Lookup};
use passlogic_idp_core::radius::packet::{Code, MAX_PACKET_LEN};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use super::clients;
use super::service::RadiusService;

/// Datagrams handled concurrently, at most.
pub const MAX_IN_FLIGHT: usize = 256;

/// The RADIUS listener's shared state.
#[derive(Debug)]
pub struct Listener {
    socket: UdpSocket,
    service: RadiusService,
    cache: Mutex<DuplicateCache>,
    refusals: Mutex<RefusalLog>,
    in_flight: Arc<Semaphore>,
}

/// When each (source address, event) refusal was last audited.
#[derive(Debug, Default)]
struct RefusalLog {
    seen: HashMap<(IpAddr, &'static str), OffsetDateTime>,
}

impl RefusalLog {
    const QUIET: Duration = Duration::minutes(1);
    const MAX_ENTRIES: usize = 4096;

    /// Whether this refusal should be audited now (and remember that it was).
    fn should_audit(&mut self, ip: IpAddr, event: &'static str, now: OffsetDateTime) -> bool {
        if self.seen.len() >= Self::MAX_ENTRIES {
            self.seen.retain(|_, t| now - *t < Self::QUIET);
            if self.seen.len() >= Self::MAX_ENTRIES {
                self.seen.clear();
            }
        }
        match self.seen.get(&(ip, event)) {
            Some(t) if now - *t < Self::QUIET => false,
            _ => {
                self.seen.insert((ip, event), now);
                true
            }
        }
    }
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
            refusals: Mutex::new(RefusalLog::default()),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
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
            let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "RADIUS datagram dropped: {MAX_IN_FLIGHT} in flight");
                continue;
            };
            let datagram = buf[..n].to_vec();
            let this = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = this.handle(&datagram, peer).await {
                    tracing::error!(error = %format!("{e:#}"), %peer, "RADIUS request failed");
                }
            });
        }
    }

    async fn refused(&self, event: &'static str, detail: serde_json::Value, peer: SocketAddr) {
        let signin = &self.service.signin;
        let audit = self
            .refusals
            .lock()
            .map(|mut r| r.should_audit(peer.ip(), event, signin.clock.now()))
            .unwrap_or(true);
        if !audit {
            tracing::debug!(%peer, event, %detail, "RADIUS datagram refused (audited already)");
            return;
        }
        signin
            .audit(signin.audit_event(
                "anonymous",
                event,
                &peer.ip().to_string(),
                "failure",
                detail,
                Some(&peer.ip().to_string()),
            ))
            .await;
    }

    async fn handle(&self, datagram: &[u8], peer: SocketAddr) -> anyhow::Result<()> {
        let signin = &self.service.signin;
        let all = signin.store.radius_clients(signin.tenant_id).await?;
        let Some(client) = clients::find_client(&all, peer.ip()) else {
            self.refused("radius.unknown_client", json!({}), peer).await;
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
                self.refused("radius.dropped", detail, peer).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_refusals_audited_once_a_minute_per_source() {
        let mut log = RefusalLog::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(log.should_audit(a, "radius.dropped", t0));
        assert!(!log.should_audit(a, "radius.dropped", t0 + Duration::seconds(59)));
        assert!(log.should_audit(a, "radius.unknown_client", t0));
        assert!(log.should_audit(b, "radius.dropped", t0));
        assert!(log.should_audit(a, "radius.dropped", t0 + Duration::seconds(60)));
        for i in 0..10_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            log.should_audit(ip, "radius.dropped", t0 + Duration::seconds(120));
            assert!(log.seen.len() <= RefusalLog::MAX_ENTRIES);
        }
    }
}
