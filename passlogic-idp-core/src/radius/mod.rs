//! RADIUS ([RFC 2865]) as a sans-IO codec: packets in, decisions and reply bytes out.
//!
//! VPN concentrators, Wi-Fi controllers and firewalls ask the IdP "is this user allowed?" over
//! RADIUS. The server's UDP task owns the socket; this module owns everything about the bytes:
//!
//! - [`packet`]: the header and attribute framing, strict [`packet::decode`] and
//!   [`packet::encode`];
//! - [`attributes`]: the attribute types we interpret, typed constructors and getters, and
//!   Reply-Message splitting for multi-line challenge text (a matrix grid);
//! - [`auth`]: User-Password hiding, Message-Authenticator, Response Authenticator,
//!   [`auth::verify_request`] (Blast-RADIUS checks included), [`auth::build_reply`] and
//!   [`auth::build_challenge`];
//! - [`dedup`]: the duplicate-request cache of RFC 5080, so a retransmission gets the same reply
//!   without re-running authentication.
//!
//! The module reads no clock (callers pass `now` to [`dedup::DuplicateCache`]), opens no socket and
//! draws no randomness of its own: a challenge's State and a client's Request Authenticator come
//! from the caller's CSPRNG. MD5 and HMAC-MD5 come from OpenSSL, the crate's only crypto backend;
//! under a FIPS provider without MD5 the functions return [`auth::AuthError::Crypto`] instead of
//! panicking. No input can make the codec panic: it never indexes packet bytes unchecked, and a
//! seeded run of 200,000 random and mutated datagrams in the tests shows it.
//!
//! # Serving one datagram
//!
//! ```
//! use passlogic_idp_core::radius::attributes::Attribute;
//! use passlogic_idp_core::radius::auth::{self, SharedSecret};
//! use passlogic_idp_core::radius::dedup::{DedupKey, DuplicateCache, Lookup};
//! use passlogic_idp_core::radius::packet::Code;
//! # let secret = SharedSecret::new(b"per-client random secret".to_vec())?;
//! # let datagram = auth::build_access_request(1, [9; 16], &[Attribute::user_name("alice")?], &secret)?;
//! # let peer = "192.0.2.10:40000";
//! # let now = time::OffsetDateTime::UNIX_EPOCH;
//! let mut cache = DuplicateCache::default();
//! // 1. Authenticate the packet; on any error, drop it silently and log why.
//! let request = auth::verify_request(&datagram, &secret, true)?;
//! // 2. Retransmission? Resend the stored reply, or drop while the first copy is in progress.
//! let key = DedupKey::for_request(peer, &request);
//! let reply = match cache.check(&key, now) {
//!     Lookup::Duplicate(reply) => reply,
//!     Lookup::InProgress => return Ok(()),
//!     Lookup::New => {
//!         // 3. Run the pipeline (password, OTP, challenge ...) and answer.
//!         let reply = auth::build_reply(&request, Code::AccessReject, &[], &secret)?;
//!         cache.store(key, reply.clone(), now);
//!         reply
//!     }
//! };
//! # assert_eq!(reply[0], 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why our own codec
//!
//! We evaluated the maintained crates on crates.io (`cargo info`, source read, November 2026)
//! against three needs: sans-IO, Message-Authenticator on every request and reply, and OpenSSL as
//! the only crypto backend.
//!
//! - **`radius` 0.4.0** (moznion/radius-rs): an async client and server; `tokio` with
//!   `features = ["full"]` is a non-optional dependency, which DESIGN.md keeps out of the core.
//!   Packets draw their Request Authenticator and User-Password salt from `rand::thread_rng()`
//!   (OS randomness inside the codec). MD5 is the `md5` crate by default (OpenSSL optional).
//!   Message-Authenticator exists only as a generated attribute accessor: nothing computes or
//!   verifies it, let alone puts it first in replies.
//! - **`radius-rust` 0.4.4** (MikhailMS/rust-radius): dictionary-file driven; MD5 and HMAC from
//!   RustCrypto (`md-5`, `hmac`), a second crypto backend; packet construction calls
//!   `thread_rng()`. It can verify a Message-Authenticator over a packet as received (correct for
//!   requests, not for replies, which RFC 3579 computes with the request's authenticator) and
//!   has no Blast-RADIUS policy (required Message-Authenticator, first in replies, Proxy-State).
//! - **`radius-parser` 0.5.0** (rusticata): a `nom` parser for traffic analysis; no encoder, no
//!   authentication.
//!
//! The protocol is small (a 20-byte header and TLVs), the security-relevant parts (HMAC placement,
//! constant-time checks, Proxy-State policy) are exactly what the crates lack, and the codec is
//! about the size of the glue an adapter would need. So we wrote it, against the RFC 2865 section
//! 7.1 vectors, and cross-check it with FreeRADIUS's `radclient` (`tests/radius_radclient.rs`).
//!
//! [RFC 2865]: https://www.rfc-editor.org/rfc/rfc2865

pub mod attributes;
pub mod auth;
pub mod dedup;
pub mod packet;

pub use attributes::{Attribute, AttributeError, AttributeType};
pub use auth::{
    build_challenge, build_reply, verify_request, verify_request_with_policy, AuthError, Password,
    RequestPolicy, SharedSecret,
};
pub use dedup::{DedupKey, DuplicateCache, Lookup};
pub use packet::{decode, encode, Code, DecodeError, EncodeError, Packet};

#[cfg(test)]
pub(crate) mod testutil {
    /// Parses the whitespace-separated hex dumps of `fixtures/radius/` (`#` starts a comment).
    pub(crate) fn hex(text: &str) -> Vec<u8> {
        let digits: String = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .flat_map(|l| l.split_whitespace())
            .collect();
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex fixture"))
            .collect()
    }
}

#[cfg(test)]
mod robustness {
    //! 200,000 hostile datagrams through `decode` and `verify_request`: nothing may panic, and
    //! whatever decodes must re-encode to the same bytes.
    use super::attributes::{Attribute, AttributeType};
    use super::auth::{self, RequestPolicy, SharedSecret};
    use super::packet::{self, MAX_PACKET_LEN};
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn valid_packets(rng: &mut ChaCha20Rng, secret: &SharedSecret) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for i in 0..16u8 {
            let auth = auth::random_authenticator(rng);
            let hidden = auth::hide_password(b"hunter2-hunter2-hunter2", secret, &auth).unwrap();
            let mut attrs = vec![
                Attribute::user_name("alice@example.com").unwrap(),
                Attribute::new(AttributeType::USER_PASSWORD, &hidden).unwrap(),
                Attribute::nas_identifier("vpn").unwrap(),
                Attribute::state(&[i; 32]).unwrap(),
            ];
            if i % 2 == 0 {
                attrs.push(Attribute::proxy_state(b"ps").unwrap());
            }
            if i % 3 == 0 {
                attrs.push(Attribute::vendor_specific(&[0, 0, 0, 9, 1, 4, 0, 0]).unwrap());
            }
            out.push(auth::build_access_request(i, auth, &attrs, secret).unwrap());
        }
        out
    }

    fn check(bytes: &[u8], secret: &SharedSecret, stats: &mut [usize; 3]) {
        match packet::decode(bytes) {
            Ok(p) => {
                stats[0] += 1;
                let again = packet::encode(&p).expect("decoded packets re-encode");
                let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                assert_eq!(again, &bytes[..len]);
            }
            Err(_) => stats[1] += 1,
        }
        let _ = auth::verify_request(bytes, secret, true);
        let proxy = RequestPolicy {
            require_message_authenticator: false,
            client_is_proxy: true,
        };
        if auth::verify_request_with_policy(bytes, secret, &proxy).is_ok() {
            stats[2] += 1;
        }
    }

    #[test]
    fn radius_robustness_200k_random_and_mutated() {
        let mut rng = ChaCha20Rng::seed_from_u64(0x5241_4449_5553);
        let secret = SharedSecret::new(b"robustness-secret".to_vec()).unwrap();
        let valid = valid_packets(&mut rng, &secret);
        let mut stats = [0usize; 3];
        for round in 0..200_000u32 {
            let base = &valid[rng.gen_range(0..valid.len())];
            let bytes: Vec<u8> = match round % 6 {
                // Pure noise of any length, including over 4096.
                0 => {
                    let mut b = vec![0u8; rng.gen_range(0..4200)];
                    rng.fill_bytes(&mut b);
                    b
                }
                // Bit flips of a valid packet.
                1 => {
                    let mut b = base.clone();
                    for _ in 0..rng.gen_range(1..=8) {
                        let i = rng.gen_range(0..b.len());
                        b[i] ^= 1 << rng.gen_range(0..8);
                    }
                    b
                }
                // Truncated datagram, or a lying Length field.
                2 => {
                    let mut b = base.clone();
                    if rng.gen() {
                        b.truncate(rng.gen_range(0..b.len()));
                    } else {
                        let len: u16 = rng.gen_range(0..=5000);
                        b[2..4].copy_from_slice(&len.to_be_bytes());
                    }
                    b
                }
                // An attribute Length octet set to 0, 1, 255 or anything.
                3 => {
                    let mut b = base.clone();
                    let mut offset = 20;
                    let target = rng.gen_range(0..6);
                    for _ in 0..target {
                        let step = usize::from(b[offset + 1]);
                        if offset + step + 2 > b.len() {
                            break;
                        }
                        offset += step;
                    }
                    b[offset + 1] = [0, 1, 255, rng.gen()][rng.gen_range(0..4)];
                    b
                }
                // A well-framed packet of random attributes (so decoding succeeds and the
                // authentication code runs on odd shapes).
                4 => {
                    let mut b = vec![
                        [1u8, 12, 4, rng.gen()][rng.gen_range(0..4)],
                        rng.gen(),
                        0,
                        0,
                    ];
                    b.extend_from_slice(&auth::random_authenticator(&mut rng));
                    while b.len() < rng.gen_range(20..MAX_PACKET_LEN) {
                        let ty = [1u8, 2, 26, 33, 80, rng.gen()][rng.gen_range(0..6)];
                        let vlen = rng.gen_range(0..=40usize);
                        b.push(ty);
                        b.push(vlen as u8 + 2);
                        b.extend((0..vlen).map(|_| rng.gen::<u8>()));
                    }
                    b.truncate(MAX_PACKET_LEN);
                    let len = b.len() as u16;
                    b[2..4].copy_from_slice(&len.to_be_bytes());
                    b
                }
                // Valid packet with random padding or appended garbage attributes.
                _ => {
                    let mut b = base.clone();
                    let extra = rng.gen_range(0..300);
                    b.extend((0..extra).map(|_| rng.gen::<u8>()));
                    if rng.gen() {
                        let len = u16::try_from(b.len().min(5000)).unwrap();
                        b[2..4].copy_from_slice(&len.to_be_bytes());
                    }
                    b
                }
            };
            check(&bytes, &secret, &mut stats);
        }
        // The run exercised both sides.
        assert!(stats[0] > 30_000, "{stats:?}");
        assert!(stats[1] > 30_000, "{stats:?}");
        assert!(stats[2] > 5_000, "{stats:?}");
        for v in &valid {
            assert!(auth::verify_request_with_policy(
                v,
                &secret,
                &RequestPolicy {
                    client_is_proxy: true,
                    ..RequestPolicy::default()
                }
            )
            .is_ok());
        }
    }
}
