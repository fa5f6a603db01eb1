//! The client's address: the socket peer, unless the peer is a configured trusted proxy
//! (`serve --trusted-proxy`); then the rightmost untrusted hop of `X-Forwarded-For` (or
//! `Forwarded`), decided by the core's `policy::ip::client_ip`. Headers from any other peer
//! are ignored, so a client cannot claim an address.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use passlogic_idp_core::policy::ip;

use super::AppState;

/// The address the access policy and the audit trail see.
pub fn client_ip(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    ip::client_ip(
        peer.ip(),
        get("x-forwarded-for"),
        get("forwarded"),
        &state.trusted_proxies,
    )
}
