//! Packet authentication: User-Password hiding, Message-Authenticator, Response Authenticator,
//! and the two entry points a RADIUS server needs, [`verify_request`] and [`build_reply`].
//!
//! - **User-Password** ([RFC 2865] section 5.2): the password, NUL-padded to a multiple of 16
//!   bytes (at most 128), XORed with an MD5 chain: `b1 = MD5(S + RA)`, `c1 = p1 ^ b1`,
//!   `bi = MD5(S + c(i-1))`. See [`hide_password`] and [`unhide_password`].
//! - **Message-Authenticator** ([RFC 3579] section 3.2, [RFC 2869] section 5.14): HMAC-MD5, keyed
//!   with the shared secret, over the whole packet with the attribute's 16 bytes zeroed. In a
//!   request the header carries the Request Authenticator; in a reply the HMAC is computed with the
//!   *request's* authenticator in the header position, before the Response Authenticator is
//!   filled in.
//! - **Response Authenticator** (RFC 2865 section 3):
//!   `MD5(Code + Identifier + Length + Request Authenticator + Attributes + Secret)`.
//!
//! Blast-RADIUS (CVE-2024-3596) forges a reply by an MD5 chosen-prefix collision that hides the
//! attacker's garbage in a Proxy-State attribute. The defences here follow `research/security.md`
//! rule 7: [`verify_request`] refuses a request without Message-Authenticator (unless the caller
//! explicitly turns that off for a legacy client), always refuses a wrong or repeated one, and
//! refuses Proxy-State from a client that is not a proxy; [`build_reply`] puts
//! Message-Authenticator *first* in every reply, so the MD5 state after the attacker-controlled
//! prefix already covers an HMAC the attacker cannot compute.
//!
//! Every comparison of authenticators is constant time. Every failure means: discard the packet
//! silently (RFC 2865 section 3) and log why.
//!
//! ```
//! use passlogic_idp_core::radius::attributes::Attribute;
//! use passlogic_idp_core::radius::auth::{self, SharedSecret};
//! use passlogic_idp_core::radius::packet::Code;
//! let secret = SharedSecret::new(b"a long random per-client secret".to_vec())?;
//!
//! // What a NAS sends (built with our own client helper here).
//! let request_auth = [7u8; 16];
//! let hidden = auth::hide_password(b"correct horse", &secret, &request_auth)?;
//! let attrs = [
//!     Attribute::user_name("alice")?,
//!     Attribute::new(passlogic_idp_core::radius::attributes::AttributeType::USER_PASSWORD, &hidden)?,
//! ];
//! let datagram = auth::build_access_request(42, request_auth, &attrs, &secret)?;
//!
//! // Server side: decode + authenticate, read the password, answer.
//! let request = auth::verify_request(&datagram, &secret, true)?;
//! let password = auth::unhide_password(
//!     request.user_password_hidden()?.unwrap_or_default(),
//!     &secret,
//!     &request.authenticator,
//! )?;
//! assert_eq!(password.expose(), b"correct horse");
//! let reply = auth::build_reply(&request, Code::AccessAccept, &[], &secret)?;
//! assert_eq!(reply[20], 80); // Message-Authenticator is the first attribute.
//! auth::verify_reply(&reply, &request, &secret, true)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 2865]: https://www.rfc-editor.org/rfc/rfc2865
//! [RFC 2869]: https://www.rfc-editor.org/rfc/rfc2869
//! [RFC 3579]: https://www.rfc-editor.org/rfc/rfc3579

use core::fmt;

use openssl::error::ErrorStack;
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use rand::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;

use super::attributes::{reply_message_lines, Attribute, AttributeError, AttributeType};
use super::packet::{self, Code, DecodeError, EncodeError, Packet, AUTHENTICATOR_LEN, HEADER_LEN};

/// Longest password User-Password can carry (RFC 2865 section 5.2).
pub const MAX_PASSWORD_LEN: usize = 128;

/// The secret shared between this server and one RADIUS client.
///
/// `Debug` prints `SharedSecret([redacted])`; there is no `PartialEq`. RFC 2865 forbids an empty
/// secret; the admin UI should insist on a long random one per client.
#[derive(Clone)]
pub struct SharedSecret(Vec<u8>);

impl SharedSecret {
    /// Wraps a secret, refusing an empty one.
    pub fn new(secret: Vec<u8>) -> Result<Self, AuthError> {
        if secret.is_empty() {
            return Err(AuthError::EmptySecret);
        }
        Ok(Self(secret))
    }

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret([redacted])")
    }
}

/// A recovered User-Password. `Debug` prints `Password([redacted])`; compare it in constant time
/// (or hand it to the password verifier) and drop it.
#[derive(Clone)]
pub struct Password(Vec<u8>);

impl Password {
    /// The password's bytes (trailing NUL padding removed).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Why a packet fails authentication or cannot be built. For received packets every variant
/// means: discard silently, log the reason.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The datagram is not a well-formed RADIUS packet.
    #[error("malformed packet: {0}")]
    Decode(#[from] DecodeError),
    /// The packet to build would exceed 4096 bytes.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// An attribute is malformed or repeated where it may appear once.
    #[error("bad attribute: {0}")]
    Attribute(#[from] AttributeError),
    /// The packet's code is not one this function handles (requests: Access-Request and
    /// Status-Server; replies: Access-Accept, Access-Reject, Access-Challenge).
    #[error("unsupported code {0:?}")]
    UnsupportedCode(Code),
    /// No Message-Authenticator where one is required (policy, or always for Status-Server).
    #[error("Message-Authenticator missing (required, Blast-RADIUS mitigation)")]
    MissingMessageAuthenticator,
    /// Message-Authenticator present but wrong, repeated, or not 16 bytes.
    #[error("Message-Authenticator invalid")]
    BadMessageAuthenticator,
    /// Proxy-State in a request from a client that is not configured as a proxy.
    #[error("Proxy-State from a client that is not a proxy")]
    ProxyStateFromNonProxy,
    /// A reply's Response Authenticator does not match.
    #[error("Response Authenticator invalid")]
    BadResponseAuthenticator,
    /// A reply's Identifier does not match the request's.
    #[error("reply identifier {got} does not match request identifier {expected}")]
    IdentifierMismatch {
        /// The request's identifier.
        expected: u8,
        /// The reply's identifier.
        got: u8,
    },
    /// A password longer than 128 bytes cannot be hidden.
    #[error("password of {len} bytes exceeds 128")]
    PasswordTooLong {
        /// The password's length.
        len: usize,
    },
    /// A hidden User-Password whose length is not a multiple of 16 in 16..=128.
    #[error("hidden User-Password has invalid length {len}")]
    BadHiddenPassword {
        /// The value's length.
        len: usize,
    },
    /// An empty shared secret.
    #[error("the shared secret is empty")]
    EmptySecret,
    /// OpenSSL failed (e.g. MD5 unavailable under a FIPS provider).
    #[error("openssl: {0}")]
    Crypto(#[from] ErrorStack),
}

/// What [`verify_request_with_policy`] demands of a request, per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPolicy {
    /// Refuse Access-Requests without Message-Authenticator. Default `true` (Blast-RADIUS);
    /// switch off only for a legacy NAS that cannot send it, and plan its replacement.
    pub require_message_authenticator: bool,
    /// The client is a RADIUS proxy, so Proxy-State is legitimate. Default `false`: Proxy-State
    /// from a NAS is refused (FreeRADIUS `limit_proxy_state`).
    pub client_is_proxy: bool,
}

impl Default for RequestPolicy {
    fn default() -> Self {
        Self {
            require_message_authenticator: true,
            client_is_proxy: false,
        }
    }
}

fn md5(parts: &[&[u8]]) -> Result<[u8; 16], ErrorStack> {
    let mut hasher = Hasher::new(MessageDigest::md5())?;
    for part in parts {
        hasher.update(part)?;
    }
    let digest = hasher.finish()?;
    let mut out = [0u8; 16];
    // An MD5 digest is 16 bytes; `zip` keeps this total even if it were not.
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    Ok(out)
}

fn hmac_md5(key: &[u8], data: &[u8]) -> Result<[u8; 16], ErrorStack> {
    let pkey = PKey::hmac(key)?;
    let mut signer = Signer::new(MessageDigest::md5(), &pkey)?;
    signer.update(data)?;
    let mac = signer.sign_to_vec()?;
    let mut out = [0u8; 16];
    for (o, m) in out.iter_mut().zip(mac.iter()) {
        *o = *m;
    }
    Ok(out)
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Draws a Request Authenticator (16 unpredictable bytes) from the caller's CSPRNG.
pub fn random_authenticator<R: RngCore + CryptoRng>(rng: &mut R) -> [u8; AUTHENTICATOR_LEN] {
    let mut out = [0u8; AUTHENTICATOR_LEN];
    rng.fill_bytes(&mut out);
    out
}

/// Hides a password for the User-Password attribute (RFC 2865 section 5.2).
pub fn hide_password(
    password: &[u8],
    secret: &SharedSecret,
    request_authenticator: &[u8; AUTHENTICATOR_LEN],
) -> Result<Vec<u8>, AuthError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(AuthError::PasswordTooLong {
            len: password.len(),
        });
    }
    let padded_len = password.len().div_ceil(16).max(1) * 16;
    let mut out = password.to_vec();
    out.resize(padded_len, 0);
    let mut previous: [u8; 16] = *request_authenticator;
    for block in out.chunks_mut(16) {
        let b = md5(&[secret.expose(), &previous])?;
        for (c, k) in block.iter_mut().zip(b.iter()) {
            *c ^= k;
        }
        for (p, c) in previous.iter_mut().zip(block.iter()) {
            *p = *c;
        }
    }
    Ok(out)
}

/// Recovers a password from a User-Password value (RFC 2865 section 5.2), stripping the trailing
/// NUL padding.
pub fn unhide_password(
    hidden: &[u8],
    secret: &SharedSecret,
    request_authenticator: &[u8; AUTHENTICATOR_LEN],
) -> Result<Password, AuthError> {
    if hidden.is_empty() || hidden.len() > MAX_PASSWORD_LEN || hidden.len() % 16 != 0 {
        return Err(AuthError::BadHiddenPassword { len: hidden.len() });
    }
    let mut out = Vec::with_capacity(hidden.len());
    let mut previous: &[u8] = request_authenticator;
    for block in hidden.chunks(16) {
        let b = md5(&[secret.expose(), previous])?;
        out.extend(block.iter().zip(b.iter()).map(|(c, k)| c ^ k));
        previous = block;
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(Password(out))
}

/// Offset in the packet of the value of the single Message-Authenticator, `Ok(None)` if absent.
fn message_authenticator_offset(packet: &Packet) -> Result<Option<usize>, AuthError> {
    let mut offset = HEADER_LEN;
    let mut found = None;
    for attribute in &packet.attributes {
        if attribute.attr_type() == AttributeType::MESSAGE_AUTHENTICATOR {
            if found.is_some() || attribute.value().len() != 16 {
                return Err(AuthError::BadMessageAuthenticator);
            }
            found = Some(offset + 2);
        }
        offset += attribute.encoded_len();
    }
    Ok(found)
}

/// HMAC-MD5 of `bytes` with the 16 bytes at `ma_offset` zeroed and, if given, the header's
/// authenticator replaced by `header_authenticator`.
fn compute_message_authenticator(
    bytes: &[u8],
    ma_offset: usize,
    header_authenticator: Option<&[u8; AUTHENTICATOR_LEN]>,
    secret: &SharedSecret,
) -> Result<[u8; 16], AuthError> {
    let mut copy = bytes.to_vec();
    let value = copy
        .get_mut(ma_offset..ma_offset + 16)
        .ok_or(AuthError::BadMessageAuthenticator)?;
    value.fill(0);
    if let Some(auth) = header_authenticator {
        copy.get_mut(4..HEADER_LEN)
            .ok_or(AuthError::BadMessageAuthenticator)?
            .copy_from_slice(auth);
    }
    Ok(hmac_md5(secret.expose(), &copy)?)
}

/// The Response Authenticator of a reply (RFC 2865 section 3): MD5 over the reply with the
/// request's authenticator in the header position, followed by the secret. `reply` is the whole
/// reply as encoded; whatever its Authenticator field holds is ignored.
pub fn response_authenticator(
    reply: &[u8],
    request_authenticator: &[u8; AUTHENTICATOR_LEN],
    secret: &SharedSecret,
) -> Result<[u8; AUTHENTICATOR_LEN], AuthError> {
    let head = reply
        .get(..4)
        .ok_or(DecodeError::TooShort { len: reply.len() })?;
    let attributes = reply
        .get(HEADER_LEN..)
        .ok_or(DecodeError::TooShort { len: reply.len() })?;
    Ok(md5(&[
        head,
        request_authenticator,
        attributes,
        secret.expose(),
    ])?)
}

/// Decodes and authenticates a request from a NAS that is not a proxy.
///
/// `require_message_authenticator` should be `true` (the Blast-RADIUS default); any Proxy-State
/// is refused. See [`verify_request_with_policy`] for a proxy client.
pub fn verify_request(
    packet_bytes: &[u8],
    secret: &SharedSecret,
    require_message_authenticator: bool,
) -> Result<Packet, AuthError> {
    verify_request_with_policy(
        packet_bytes,
        secret,
        &RequestPolicy {
            require_message_authenticator,
            client_is_proxy: false,
        },
    )
}

/// Decodes and authenticates an Access-Request or Status-Server datagram.
///
/// Refuses: malformed packets, other codes (Accounting-Request belongs on the accounting port and
/// is not handled here), a Message-Authenticator that is wrong, repeated or not 16 bytes (always),
/// a missing Message-Authenticator when `policy.require_message_authenticator` (and always for
/// Status-Server, RFC 5997), and Proxy-State unless `policy.client_is_proxy`.
///
/// The Identifier and Request Authenticator of the returned packet key the duplicate cache
/// ([`crate::radius::dedup`]); verify first, so forged packets never reach the cache.
pub fn verify_request_with_policy(
    packet_bytes: &[u8],
    secret: &SharedSecret,
    policy: &RequestPolicy,
) -> Result<Packet, AuthError> {
    let request = packet::decode(packet_bytes)?;
    if !matches!(request.code, Code::AccessRequest | Code::StatusServer) {
        return Err(AuthError::UnsupportedCode(request.code));
    }
    let bytes = packet::framed(packet_bytes)?;
    match message_authenticator_offset(&request)? {
        Some(offset) => {
            let expected = compute_message_authenticator(bytes, offset, None, secret)?;
            let received = bytes
                .get(offset..offset + 16)
                .ok_or(AuthError::BadMessageAuthenticator)?;
            if !ct_eq(&expected, received) {
                return Err(AuthError::BadMessageAuthenticator);
            }
        }
        None => {
            if policy.require_message_authenticator || request.code == Code::StatusServer {
                return Err(AuthError::MissingMessageAuthenticator);
            }
        }
    }
    if !policy.client_is_proxy && request.count(AttributeType::PROXY_STATE) > 0 {
        return Err(AuthError::ProxyStateFromNonProxy);
    }
    Ok(request)
}

/// Builds a signed reply to `request`: Message-Authenticator first, then `attributes`, then the
/// request's Proxy-State attributes copied in order (RFC 2865 section 5.33), with the Response
/// Authenticator computed last.
///
/// `code` must be a reply code (Access-Accept, -Reject or -Challenge; Access-Accept answers
/// Status-Server). Any Message-Authenticator or Proxy-State in `attributes` is ignored: this
/// function owns both.
pub fn build_reply(
    request: &Packet,
    code: Code,
    attributes: &[Attribute],
    secret: &SharedSecret,
) -> Result<Vec<u8>, AuthError> {
    if !matches!(
        code,
        Code::AccessAccept | Code::AccessReject | Code::AccessChallenge
    ) {
        return Err(AuthError::UnsupportedCode(code));
    }
    if !request.code.is_request() {
        return Err(AuthError::UnsupportedCode(request.code));
    }
    let owned = |a: &&Attribute| {
        a.attr_type() != AttributeType::MESSAGE_AUTHENTICATOR
            && a.attr_type() != AttributeType::PROXY_STATE
    };
    let mut all = Vec::with_capacity(attributes.len() + 1);
    all.push(Attribute::new(
        AttributeType::MESSAGE_AUTHENTICATOR,
        &[0; 16],
    )?);
    all.extend(attributes.iter().filter(owned).cloned());
    all.extend(request.all(AttributeType::PROXY_STATE).cloned());
    let reply = Packet {
        code,
        identifier: request.identifier,
        authenticator: request.authenticator,
        attributes: all,
    };
    let mut bytes = packet::encode(&reply)?;
    let ma_offset = HEADER_LEN + 2;
    let mac = compute_message_authenticator(&bytes, ma_offset, None, secret)?;
    bytes
        .get_mut(ma_offset..ma_offset + 16)
        .ok_or(AuthError::BadMessageAuthenticator)?
        .copy_from_slice(&mac);
    let response = response_authenticator(&bytes, &request.authenticator, secret)?;
    bytes
        .get_mut(4..HEADER_LEN)
        .ok_or(AuthError::BadResponseAuthenticator)?
        .copy_from_slice(&response);
    Ok(bytes)
}

/// Builds an Access-Challenge: `State` (caller-supplied random bytes, 1..=253, to be stored
/// single-use and matched in the next request), then `message` as Reply-Message lines (see
/// [`reply_message_lines`]; empty text adds none), then `extra` (e.g. a Session-Timeout, which in
/// a challenge bounds how long the NAS waits for the user's answer).
pub fn build_challenge(
    request: &Packet,
    state: &[u8],
    message: &str,
    extra: &[Attribute],
    secret: &SharedSecret,
) -> Result<Vec<u8>, AuthError> {
    let mut attributes = vec![Attribute::state(state)?];
    if !message.is_empty() {
        attributes.extend(reply_message_lines(message)?);
    }
    attributes.extend(
        extra
            .iter()
            .filter(|a| a.attr_type() != AttributeType::STATE)
            .cloned(),
    );
    build_reply(request, Code::AccessChallenge, &attributes, secret)
}

/// Builds an Access-Request with Message-Authenticator first (client side: tests, proxying). The
/// caller draws `request_authenticator` with [`random_authenticator`] and hides any password with
/// it first.
pub fn build_access_request(
    identifier: u8,
    request_authenticator: [u8; AUTHENTICATOR_LEN],
    attributes: &[Attribute],
    secret: &SharedSecret,
) -> Result<Vec<u8>, AuthError> {
    let mut all = Vec::with_capacity(attributes.len() + 1);
    all.push(Attribute::new(
        AttributeType::MESSAGE_AUTHENTICATOR,
        &[0; 16],
    )?);
    all.extend(
        attributes
            .iter()
            .filter(|a| a.attr_type() != AttributeType::MESSAGE_AUTHENTICATOR)
            .cloned(),
    );
    let request = Packet {
        code: Code::AccessRequest,
        identifier,
        authenticator: request_authenticator,
        attributes: all,
    };
    let mut bytes = packet::encode(&request)?;
    let ma_offset = HEADER_LEN + 2;
    let mac = compute_message_authenticator(&bytes, ma_offset, None, secret)?;
    bytes
        .get_mut(ma_offset..ma_offset + 16)
        .ok_or(AuthError::BadMessageAuthenticator)?
        .copy_from_slice(&mac);
    Ok(bytes)
}

/// Decodes and authenticates a reply to `request` (client side): Identifier, Response
/// Authenticator, and Message-Authenticator (required when `require_message_authenticator`,
/// verified whenever present).
pub fn verify_reply(
    reply_bytes: &[u8],
    request: &Packet,
    secret: &SharedSecret,
    require_message_authenticator: bool,
) -> Result<Packet, AuthError> {
    let reply = packet::decode(reply_bytes)?;
    if !matches!(
        reply.code,
        Code::AccessAccept | Code::AccessReject | Code::AccessChallenge
    ) {
        return Err(AuthError::UnsupportedCode(reply.code));
    }
    if reply.identifier != request.identifier {
        return Err(AuthError::IdentifierMismatch {
            expected: request.identifier,
            got: reply.identifier,
        });
    }
    let bytes = packet::framed(reply_bytes)?;
    let expected = response_authenticator(bytes, &request.authenticator, secret)?;
    if !ct_eq(&expected, &reply.authenticator) {
        return Err(AuthError::BadResponseAuthenticator);
    }
    match message_authenticator_offset(&reply)? {
        Some(offset) => {
            let expected =
                compute_message_authenticator(bytes, offset, Some(&request.authenticator), secret)?;
            let received = bytes
                .get(offset..offset + 16)
                .ok_or(AuthError::BadMessageAuthenticator)?;
            if !ct_eq(&expected, received) {
                return Err(AuthError::BadMessageAuthenticator);
            }
        }
        None if require_message_authenticator => {
            return Err(AuthError::MissingMessageAuthenticator)
        }
        None => {}
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::testutil::hex;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    const REQUEST: &str = include_str!("../../../fixtures/radius/rfc2865-7.1-access-request.hex");
    const ACCEPT: &str = include_str!("../../../fixtures/radius/rfc2865-7.1-access-accept.hex");

    fn secret() -> SharedSecret {
        SharedSecret::new(b"xyzzy5461".to_vec()).unwrap()
    }

    fn signed_request(rng: &mut ChaCha20Rng, extra: &[Attribute]) -> (Vec<u8>, [u8; 16]) {
        let auth = random_authenticator(rng);
        let hidden = hide_password(b"arctangent", &secret(), &auth).unwrap();
        let mut attrs = vec![
            Attribute::user_name("nemo").unwrap(),
            Attribute::new(AttributeType::USER_PASSWORD, &hidden).unwrap(),
            Attribute::nas_identifier("nas-1").unwrap(),
        ];
        attrs.extend_from_slice(extra);
        (
            build_access_request(9, auth, &attrs, &secret()).unwrap(),
            auth,
        )
    }

    #[test]
    fn radius_rfc2865_7_1_request_password_and_accept() {
        let bytes = hex(REQUEST);
        // The example predates Message-Authenticator: refused by default, accepted when the
        // caller relaxes the policy for a legacy NAS.
        assert!(matches!(
            verify_request(&bytes, &secret(), true),
            Err(AuthError::MissingMessageAuthenticator)
        ));
        let request = verify_request(&bytes, &secret(), false).unwrap();
        let hidden = request.user_password_hidden().unwrap().unwrap();
        assert_eq!(hidden.len(), 16);
        let password = unhide_password(hidden, &secret(), &request.authenticator).unwrap();
        assert_eq!(password.expose(), b"arctangent");
        assert_eq!(
            hide_password(b"arctangent", &secret(), &request.authenticator).unwrap(),
            hidden
        );
        assert_eq!(format!("{password:?}"), "Password([redacted])");

        let accept_bytes = hex(ACCEPT);
        assert_eq!(accept_bytes.len(), 38);
        let expected: [u8; 16] = accept_bytes[4..20].try_into().unwrap();
        assert_eq!(
            response_authenticator(&accept_bytes, &request.authenticator, &secret()).unwrap(),
            expected
        );
        let accept = verify_reply(&accept_bytes, &request, &secret(), false).unwrap();
        assert_eq!(accept.code, Code::AccessAccept);
        assert!(matches!(
            verify_reply(&accept_bytes, &request, &secret(), true),
            Err(AuthError::MissingMessageAuthenticator)
        ));
        let wrong = SharedSecret::new(b"xyzzy5462".to_vec()).unwrap();
        assert!(matches!(
            verify_reply(&accept_bytes, &request, &wrong, false),
            Err(AuthError::BadResponseAuthenticator)
        ));
    }

    #[test]
    fn radius_password_hiding_lengths() {
        let auth = [0x42; 16];
        for len in [0usize, 1, 15, 16, 17, 31, 32, 100, 128] {
            let pw: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let hidden = hide_password(&pw, &secret(), &auth).unwrap();
            assert_eq!(hidden.len(), len.div_ceil(16).max(1) * 16, "len {len}");
            let back = unhide_password(&hidden, &secret(), &auth).unwrap();
            assert_eq!(back.expose(), pw.as_slice());
        }
        assert!(matches!(
            hide_password(&[b'x'; 129], &secret(), &auth),
            Err(AuthError::PasswordTooLong { len: 129 })
        ));
        for bad in [0usize, 15, 17, 144] {
            assert!(matches!(
                unhide_password(&vec![1; bad], &secret(), &auth),
                Err(AuthError::BadHiddenPassword { .. })
            ));
        }
    }

    #[test]
    fn radius_message_authenticator_round_trip_and_tampering() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (bytes, auth) = signed_request(&mut rng, &[]);
        let request = verify_request(&bytes, &secret(), true).unwrap();
        assert_eq!(request.authenticator, auth);
        assert_eq!(
            request.attributes[0].attr_type(),
            AttributeType::MESSAGE_AUTHENTICATOR
        );

        // Flipping any single bit anywhere (header, MA, attributes) is refused.
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut t = bytes.clone();
                t[i] ^= 1 << bit;
                assert!(
                    verify_request(&t, &secret(), true).is_err(),
                    "bit {bit} of byte {i}"
                );
            }
        }
        // Wrong secret.
        let wrong = SharedSecret::new(b"other".to_vec()).unwrap();
        assert!(matches!(
            verify_request(&bytes, &wrong, true),
            Err(AuthError::BadMessageAuthenticator)
        ));
        // A bad Message-Authenticator is refused even when not required.
        let mut t = bytes.clone();
        t[30] ^= 1;
        assert!(matches!(
            verify_request(&t, &secret(), false),
            Err(AuthError::BadMessageAuthenticator)
        ));
        // Two Message-Authenticators: refused.
        let mut p = packet::decode(&bytes).unwrap();
        p.attributes.push(p.attributes[0].clone());
        let twice = packet::encode(&p).unwrap();
        assert!(matches!(
            verify_request(&twice, &secret(), false),
            Err(AuthError::BadMessageAuthenticator)
        ));
        // Trailing padding is ignored, both by the decoder and the HMAC.
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0xEE; 7]);
        assert_eq!(verify_request(&padded, &secret(), true).unwrap(), request);
    }

    #[test]
    fn radius_message_authenticator_anywhere_in_request() {
        // A NAS may put Message-Authenticator last; the HMAC covers it wherever it is.
        let auth = [3u8; 16];
        let mut p = Packet {
            code: Code::AccessRequest,
            identifier: 4,
            authenticator: auth,
            attributes: vec![
                Attribute::user_name("bob").unwrap(),
                Attribute::new(AttributeType::MESSAGE_AUTHENTICATOR, &[0; 16]).unwrap(),
            ],
        };
        let zeroed = packet::encode(&p).unwrap();
        let mac = hmac_md5(secret().expose(), &zeroed).unwrap();
        p.attributes[1] = Attribute::new(AttributeType::MESSAGE_AUTHENTICATOR, &mac).unwrap();
        let bytes = packet::encode(&p).unwrap();
        assert!(verify_request(&bytes, &secret(), true).is_ok());
    }

    #[test]
    fn radius_missing_message_authenticator_refused_when_required() {
        let p = Packet {
            code: Code::AccessRequest,
            identifier: 1,
            authenticator: [5; 16],
            attributes: vec![Attribute::user_name("alice").unwrap()],
        };
        let bytes = packet::encode(&p).unwrap();
        assert!(matches!(
            verify_request(&bytes, &secret(), true),
            Err(AuthError::MissingMessageAuthenticator)
        ));
        assert!(verify_request(&bytes, &secret(), false).is_ok());
        assert!(matches!(
            verify_request_with_policy(&bytes, &secret(), &RequestPolicy::default()),
            Err(AuthError::MissingMessageAuthenticator)
        ));
        // Status-Server always needs one (RFC 5997).
        let status = Packet {
            code: Code::StatusServer,
            ..p.clone()
        };
        assert!(matches!(
            verify_request(&packet::encode(&status).unwrap(), &secret(), false),
            Err(AuthError::MissingMessageAuthenticator)
        ));
        // Not a request we handle.
        let acct = Packet {
            code: Code::AccountingRequest,
            ..p
        };
        assert!(matches!(
            verify_request(&packet::encode(&acct).unwrap(), &secret(), false),
            Err(AuthError::UnsupportedCode(Code::AccountingRequest))
        ));
    }

    #[test]
    fn radius_proxy_state_policy_and_echo() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let ps1 = Attribute::proxy_state(b"hop-1").unwrap();
        let ps2 = Attribute::proxy_state(b"hop-2").unwrap();
        let (bytes, _) = signed_request(&mut rng, &[ps1.clone(), ps2.clone()]);
        // A NAS (non-proxy) sending Proxy-State: refused, even with a valid Message-Authenticator.
        assert!(matches!(
            verify_request(&bytes, &secret(), true),
            Err(AuthError::ProxyStateFromNonProxy)
        ));
        let proxy = RequestPolicy {
            client_is_proxy: true,
            ..RequestPolicy::default()
        };
        let request = verify_request_with_policy(&bytes, &secret(), &proxy).unwrap();
        // The reply echoes Proxy-State in order, after our attributes; a caller's own
        // Proxy-State or Message-Authenticator is ignored.
        let bogus_ma = Attribute::new(AttributeType::MESSAGE_AUTHENTICATOR, &[9; 16]).unwrap();
        let reply = build_reply(
            &request,
            Code::AccessReject,
            &[
                bogus_ma,
                Attribute::proxy_state(b"mine").unwrap(),
                Attribute::reply_message("no").unwrap(),
            ],
            &secret(),
        )
        .unwrap();
        let reply = verify_reply(&reply, &request, &secret(), true).unwrap();
        let types: Vec<_> = reply.attributes.iter().map(Attribute::attr_type).collect();
        assert_eq!(
            types,
            [
                AttributeType::MESSAGE_AUTHENTICATOR,
                AttributeType::REPLY_MESSAGE,
                AttributeType::PROXY_STATE,
                AttributeType::PROXY_STATE
            ]
        );
        assert_eq!(
            reply.proxy_states().collect::<Vec<_>>(),
            [b"hop-1", b"hop-2"]
        );
    }

    #[test]
    fn radius_reply_has_message_authenticator_first_and_verifies() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (bytes, _) = signed_request(&mut rng, &[]);
        let request = verify_request(&bytes, &secret(), true).unwrap();
        for code in [
            Code::AccessAccept,
            Code::AccessReject,
            Code::AccessChallenge,
        ] {
            let reply = build_reply(
                &request,
                code,
                &[
                    Attribute::class(b"tenant-1").unwrap(),
                    Attribute::session_timeout(600),
                ],
                &secret(),
            )
            .unwrap();
            assert_eq!(reply[0], code.to_u8());
            assert_eq!(reply[1], request.identifier);
            assert_eq!(&reply[20..22], &[80, 18]);
            let decoded = verify_reply(&reply, &request, &secret(), true).unwrap();
            assert_eq!(decoded.classes().collect::<Vec<_>>(), [b"tenant-1"]);

            // Tampering with the reply breaks the Response Authenticator.
            let mut t = reply.clone();
            let last = t.len() - 1;
            t[last] ^= 1;
            assert!(matches!(
                verify_reply(&t, &request, &secret(), true),
                Err(AuthError::BadResponseAuthenticator)
            ));
            // Message-Authenticator was computed with the request authenticator in the header
            // (RFC 3579): recompute it independently.
            let mut copy = reply.clone();
            copy[4..20].copy_from_slice(&request.authenticator);
            copy[22..38].fill(0);
            assert_eq!(hmac_md5(secret().expose(), &copy).unwrap(), reply[22..38]);
        }
        // Wrong request identifier.
        let reply = build_reply(&request, Code::AccessAccept, &[], &secret()).unwrap();
        let other = Packet {
            identifier: request.identifier.wrapping_add(1),
            ..request.clone()
        };
        assert!(matches!(
            verify_reply(&reply, &other, &secret(), true),
            Err(AuthError::IdentifierMismatch { .. })
        ));
        // Reply codes only.
        assert!(matches!(
            build_reply(&request, Code::AccessRequest, &[], &secret()),
            Err(AuthError::UnsupportedCode(Code::AccessRequest))
        ));
    }

    #[test]
    fn radius_challenge_with_state_and_grid() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let (bytes, _) = signed_request(&mut rng, &[]);
        let request = verify_request(&bytes, &secret(), true).unwrap();
        let state: [u8; 32] = rng.gen();
        let grid: String = (0..8)
            .map(|r| format!("{r}  {}\n", "7 3 9 1 0 4 ".repeat(8)))
            .collect();
        let reply = build_challenge(
            &request,
            &state,
            &grid,
            &[Attribute::session_timeout(120)],
            &secret(),
        )
        .unwrap();
        let reply = verify_reply(&reply, &request, &secret(), true).unwrap();
        assert_eq!(reply.code, Code::AccessChallenge);
        assert_eq!(
            reply.attributes[0].attr_type(),
            AttributeType::MESSAGE_AUTHENTICATOR
        );
        assert_eq!(reply.state().unwrap(), Some(&state[..]));
        assert_eq!(reply.session_timeout().unwrap(), Some(120));
        let text: Vec<u8> = reply.reply_messages().flatten().copied().collect();
        assert_eq!(text, grid.as_bytes());
        assert_eq!(reply.reply_messages().count(), 8);
        assert!(build_challenge(&request, &[], "x", &[], &secret()).is_err());
    }

    #[test]
    fn radius_secret_is_redacted_and_non_empty() {
        assert!(matches!(
            SharedSecret::new(Vec::new()),
            Err(AuthError::EmptySecret)
        ));
        assert_eq!(format!("{:?}", secret()), "SharedSecret([redacted])");
    }
}
