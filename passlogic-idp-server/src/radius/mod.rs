//! The RADIUS server (RFC 2865): VPN gateways, firewalls and Wi-Fi controllers ask us over UDP
//! whether a user may in. The bytes (decoding, Message-Authenticator, response authenticators,
//! duplicate cache) are the core's `passlogic_idp_core::radius`; this module holds the I/O and
//! the decisions' wiring:
//!
//! - [`clients`]: the registry of RADIUS clients (source CIDR, shared secret sealed under the KEK)
//!   and the demo client of `serve --demo --radius-listen`;
//! - [`listener`]: the UDP socket task: unknown source -> audited and ignored; bad packet (wrong
//!   shared secret, missing Message-Authenticator) -> audited and dropped; retransmission ->
//!   the same reply bytes again without re-checking anything;
//! - [`service`]: one Access-Request through the sign-in service ([`crate::signin::SignIn`]),
//!   so the lockout counter, step pipeline and audit trail are those of the web sign-in.
//!
//! Known gaps (not done yet): only PAP (no CHAP, MS-CHAPv2 or EAP); no RADIUS accounting; no
//! RadSec (RADIUS over TLS); the access-policy engine (group, source, time rules of
//! `policy::engine`) is not consulted for RADIUS yet, only the group's `AuthPolicy`; clients
//! cannot be RADIUS proxies (Proxy-State is refused); several offered factor combinations are
//! not offered as a choice (the first is taken); a factor that is not enrolled cannot be
//! enrolled over RADIUS (Access-Reject).

pub mod clients;
pub mod listener;
pub mod service;
