//! One-time passwords: HOTP ([RFC 4226]) and TOTP ([RFC 6238]).
//!
//! These serve the software token (any standard authenticator app, enrolled with an
//! [`otpauth_uri`]), the bingo display (which hides a TOTP code, see
//! [`crate::factor::bingo`]) and hardware tokens (seeds imported by
//! [`crate::factor::token_import`]).
//!
//! Everything is pure: the caller passes `now`, the stored state (the last used TOTP step, the
//! HOTP counter) and stores what the verifiers return. Single use of a TOTP step across server
//! nodes is enforced by the server's shared store (a unique insert of `(user, step)`); the
//! `last_used_step` check in [`totp_verify`] is the in-core guard.
//!
//! ```
//! use passlogic_idp_core::factor::otp::{self, OtpAlgorithm, OtpSecret, TotpParams};
//! let secret = OtpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
//! let now = time::OffsetDateTime::from_unix_timestamp(59)?;
//! let params = TotpParams { digits: 8, ..TotpParams::default() };
//! assert_eq!(otp::totp_code(&secret, &params, now)?, "94287082");
//! let step = otp::totp_verify(&secret, &params, "94287082", now, None)?;
//! // Store `step`; the same code is refused from now on.
//! assert!(otp::totp_verify(&secret, &params, "94287082", now, Some(step)).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 4226]: https://www.rfc-editor.org/rfc/rfc4226
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238

use core::fmt;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Largest HOTP look-ahead window [`hotp_verify`] honours (larger requests are capped).
pub const MAX_LOOK_AHEAD: u64 = 1_000;

/// Largest HOTP resynchronisation window [`hotp_resync`] honours (larger requests are capped).
pub const MAX_RESYNC_WINDOW: u64 = 10_000;

/// Largest TOTP drift window, in steps either side of now, that [`TotpParams::validate`] accepts.
pub const MAX_SKEW_STEPS: u32 = 10;

/// The HMAC hash function of an OTP generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OtpAlgorithm {
    /// HMAC-SHA-1, the RFC 4226 default and what nearly every token and app uses.
    #[default]
    Sha1,
    /// HMAC-SHA-256 (RFC 6238).
    Sha256,
    /// HMAC-SHA-512 (RFC 6238).
    Sha512,
}

impl OtpAlgorithm {
    /// The name used in `otpauth://` URIs and import files: `SHA1`, `SHA256` or `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Parses a hash name case-insensitively: `SHA1`, `SHA-1`, `HMAC-SHA1`, `SHA256`, ...
    pub fn from_name(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        let bare = upper
            .strip_prefix("HMAC-")
            .unwrap_or(&upper)
            .replace('-', "");
        match bare.as_str() {
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            Self::Sha1 => MessageDigest::sha1(),
            Self::Sha256 => MessageDigest::sha256(),
            Self::Sha512 => MessageDigest::sha512(),
        }
    }
}

impl fmt::Display for OtpAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an OTP operation failed. Verification failures say only what the caller may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtpFailure {
    /// The submitted code is not a string of the expected number of decimal digits.
    #[error("the code is not a string of the expected number of digits")]
    Malformed,
    /// The code matches no acceptable step or counter.
    #[error("the code is wrong")]
    Wrong,
    /// The code matches a TOTP step that was already used.
    #[error("the code was already used")]
    Replayed,
    /// The parameters are out of range (digits outside 6..=8, period outside 1..=300, skew too large).
    #[error("invalid OTP parameters")]
    InvalidParams,
    /// The HMAC backend (OpenSSL) failed, e.g. on an empty secret.
    #[error("the HMAC computation failed")]
    Crypto,
}

/// Why a secret could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretParseError {
    /// The input holds no secret bytes.
    #[error("the secret is empty")]
    Empty,
    /// The input is not valid Base32 (RFC 4648).
    #[error("the secret is not valid Base32")]
    InvalidBase32,
    /// The input is not valid hexadecimal (Base16).
    #[error("the secret is not valid hexadecimal")]
    InvalidHex,
}

/// A shared OTP secret (seed). Its `Debug` output is `[redacted]`; it has no `PartialEq`.
#[derive(Clone)]
pub struct OtpSecret(Vec<u8>);

impl fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpSecret([redacted])")
    }
}

impl OtpSecret {
    /// Length of secrets made by [`OtpSecret::generate`] when no other need applies: 20 bytes
    /// (160 bits), the RFC 4226 recommendation.
    pub const DEFAULT_LEN: usize = 20;

    /// Wraps raw secret bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Draws a new random secret of `len` bytes (use [`OtpSecret::DEFAULT_LEN`]) from `rng`.
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng), len: usize) -> Self {
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Decodes Base32 (RFC 4648): case-insensitive, padding optional, spaces and hyphens ignored.
    pub fn from_base32(text: &str) -> Result<Self, SecretParseError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let cleaned = cleaned.trim_end_matches('=');
        if cleaned.is_empty() {
            return Err(SecretParseError::Empty);
        }
        data_encoding::BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map(Self)
            .map_err(|_| SecretParseError::InvalidBase32)
    }

    /// Decodes hexadecimal (Base16), either case, whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Self, SecretParseError> {
        let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if cleaned.is_empty() {
            return Err(SecretParseError::Empty);
        }
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(cleaned.as_bytes())
            .map(Self)
            .map_err(|_| SecretParseError::InvalidHex)
    }

    /// Encodes as unpadded upper-case Base32, the form authenticator apps expect.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// Encodes as lower-case hexadecimal (Base16), the canonical export form.
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }

    /// The raw secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length of the secret in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn hmac(alg: OtpAlgorithm, key: &[u8], msg: &[u8]) -> Result<Vec<u8>, OtpFailure> {
    let pkey = PKey::hmac(key).map_err(|_| OtpFailure::Crypto)?;
    let mut signer = Signer::new(alg.digest(), &pkey).map_err(|_| OtpFailure::Crypto)?;
    signer.update(msg).map_err(|_| OtpFailure::Crypto)?;
    signer.sign_to_vec().map_err(|_| OtpFailure::Crypto)
}

fn check_digits(digits: u8) -> Result<(), OtpFailure> {
    if (6..=8).contains(&digits) {
        Ok(())
    } else {
        Err(OtpFailure::InvalidParams)
    }
}

/// Computes the HOTP value (RFC 4226 section 5.3, dynamic truncation) for `counter`, as a
/// zero-padded string of `digits` (6..=8) decimal digits.
pub fn hotp(
    secret: &OtpSecret,
    alg: OtpAlgorithm,
    counter: u64,
    digits: u8,
) -> Result<String, OtpFailure> {
    check_digits(digits)?;
    let mac = hmac(alg, secret.as_bytes(), &counter.to_be_bytes())?;
    let last = mac.last().ok_or(OtpFailure::Crypto)?;
    let offset = usize::from(last & 0x0f);
    let window = mac.get(offset..offset + 4).ok_or(OtpFailure::Crypto)?;
    let bin = (u32::from(window[0] & 0x7f) << 24)
        | (u32::from(window[1]) << 16)
        | (u32::from(window[2]) << 8)
        | u32::from(window[3]);
    let value = bin % 10u32.pow(u32::from(digits));
    Ok(format!("{value:0width$}", width = usize::from(digits)))
}

/// Strips the spaces users type ("123 456") and checks the code is exactly `digits` digits.
fn normalize_code(code: &str, digits: u8) -> Result<String, OtpFailure> {
    let cleaned: String = code.chars().filter(|c| *c != ' ').collect();
    if cleaned.len() != usize::from(digits) || !cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OtpFailure::Malformed);
    }
    Ok(cleaned)
}

fn code_matches(expected: &str, submitted: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// TOTP parameters of one user's token or app (RFC 6238).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TotpParams {
    /// HMAC hash function (default SHA-1).
    pub algorithm: OtpAlgorithm,
    /// Number of code digits, 6..=8 (default 6).
    pub digits: u8,
    /// Time step in seconds, 1..=300; 30 or 60 in practice (default 30).
    pub period_secs: u32,
    /// Clock drift window: steps accepted either side of the current one (default 1, at most
    /// [`MAX_SKEW_STEPS`]).
    pub skew_steps: u32,
}

impl Default for TotpParams {
    fn default() -> Self {
        Self {
            algorithm: OtpAlgorithm::Sha1,
            digits: 6,
            period_secs: 30,
            skew_steps: 1,
        }
    }
}

impl TotpParams {
    /// Checks digits (6..=8), period (1..=300 seconds) and skew (at most [`MAX_SKEW_STEPS`]).
    pub fn validate(&self) -> Result<(), OtpFailure> {
        check_digits(self.digits)?;
        if !(1..=300).contains(&self.period_secs) || self.skew_steps > MAX_SKEW_STEPS {
            return Err(OtpFailure::InvalidParams);
        }
        Ok(())
    }
}

/// The TOTP time step containing `now`: Unix seconds divided by `period_secs`. Instants before
/// 1970 and a zero period give step 0.
pub fn totp_step(now: OffsetDateTime, period_secs: u32) -> u64 {
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    secs.checked_div(u64::from(period_secs)).unwrap_or(0)
}

/// The TOTP code shown at `now` (what an authenticator app displays).
pub fn totp_code(
    secret: &OtpSecret,
    params: &TotpParams,
    now: OffsetDateTime,
) -> Result<String, OtpFailure> {
    params.validate()?;
    hotp(
        secret,
        params.algorithm,
        totp_step(now, params.period_secs),
        params.digits,
    )
}

/// Verifies a TOTP code at `now`, accepting the steps `now - skew ..= now + skew`.
///
/// A step at or below `last_used_step` is refused as [`OtpFailure::Replayed`]. On success returns
/// the matched step, which the caller stores as the new `last_used_step` (and records in its
/// shared single-use store). Every candidate step is computed and compared in constant time.
pub fn totp_verify(
    secret: &OtpSecret,
    params: &TotpParams,
    code: &str,
    now: OffsetDateTime,
    last_used_step: Option<u64>,
) -> Result<u64, OtpFailure> {
    params.validate()?;
    let code = normalize_code(code, params.digits)?;
    let current = totp_step(now, params.period_secs);
    let skew = u64::from(params.skew_steps);
    let mut fresh: Option<u64> = None;
    let mut replayed = false;
    for step in current.saturating_sub(skew)..=current.saturating_add(skew) {
        let expected = hotp(secret, params.algorithm, step, params.digits)?;
        if code_matches(&expected, &code) {
            if last_used_step.is_some_and(|used| step <= used) {
                replayed = true;
            } else if fresh.is_none() {
                fresh = Some(step);
            }
        }
    }
    match fresh {
        Some(step) => Ok(step),
        None if replayed => Err(OtpFailure::Replayed),
        None => Err(OtpFailure::Wrong),
    }
}

/// Stored state of an HOTP (counter-based) token: the next counter value expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HotpState {
    /// The lowest counter value still acceptable.
    pub counter: u64,
}

/// Verifies an HOTP code against counters `state.counter ..= state.counter + look_ahead`
/// (look-ahead capped at [`MAX_LOOK_AHEAD`]). Counters below `state.counter` are never accepted.
///
/// On success returns the new counter to store: the matched counter plus one.
pub fn hotp_verify(
    secret: &OtpSecret,
    alg: OtpAlgorithm,
    digits: u8,
    code: &str,
    state: &HotpState,
    look_ahead: u64,
) -> Result<u64, OtpFailure> {
    check_digits(digits)?;
    let code = normalize_code(code, digits)?;
    let last = state.counter.saturating_add(look_ahead.min(MAX_LOOK_AHEAD));
    let mut matched: Option<u64> = None;
    for counter in state.counter..=last {
        let expected = hotp(secret, alg, counter, digits)?;
        if code_matches(&expected, &code) && matched.is_none() {
            matched = Some(counter);
        }
    }
    let counter = matched.ok_or(OtpFailure::Wrong)?;
    counter.checked_add(1).ok_or(OtpFailure::Wrong)
}

/// Resynchronises a drifted HOTP token from two consecutive codes the user reads off it.
///
/// Searches counters `state.counter ..= state.counter + resync_window` (window capped at
/// [`MAX_RESYNC_WINDOW`]; 100 is typical) for a counter `c` where `code1` matches `c` and `code2`
/// matches `c + 1`. On success returns the new counter to store, `c + 2`.
#[allow(clippy::too_many_arguments)]
pub fn hotp_resync(
    secret: &OtpSecret,
    alg: OtpAlgorithm,
    digits: u8,
    code1: &str,
    code2: &str,
    state: &HotpState,
    resync_window: u64,
) -> Result<u64, OtpFailure> {
    check_digits(digits)?;
    let code1 = normalize_code(code1, digits)?;
    let code2 = normalize_code(code2, digits)?;
    let last = state
        .counter
        .saturating_add(resync_window.min(MAX_RESYNC_WINDOW));
    let mut previous_matched = false;
    let mut found: Option<u64> = None;
    for counter in state.counter..=last.saturating_add(1) {
        let expected = hotp(secret, alg, counter, digits)?;
        if previous_matched && code_matches(&expected, &code2) && found.is_none() {
            found = Some(counter);
        }
        previous_matched = counter <= last && code_matches(&expected, &code1);
    }
    let second = found.ok_or(OtpFailure::Wrong)?;
    second.checked_add(1).ok_or(OtpFailure::Wrong)
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Key URI (`otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30`)
/// that authenticator apps read from a QR code. Label and issuer are percent-encoded.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &OtpSecret, params: &TotpParams) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm={alg}&digits={digits}&period={period}",
        account = percent_encode(account),
        secret = secret.to_base32(),
        alg = params.algorithm.as_str(),
        digits = params.digits,
        period = params.period_secs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4226_SECRET: &[u8] = b"12345678901234567890";

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).expect("valid timestamp")
    }

    fn secret() -> OtpSecret {
        OtpSecret::from_bytes(RFC4226_SECRET)
    }

    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, want) in expected.iter().enumerate() {
            let got = hotp(&secret(), OtpAlgorithm::Sha1, counter as u64, 6).expect("hotp");
            assert_eq!(&got, want, "counter {counter}");
        }
    }

    #[test]
    fn rfc6238_appendix_b() {
        let sha1 = OtpSecret::from_bytes(*b"12345678901234567890");
        let sha256 = OtpSecret::from_bytes(*b"12345678901234567890123456789012");
        let sha512 = OtpSecret::from_bytes(
            *b"1234567890123456789012345678901234567890123456789012345678901234",
        );
        assert_eq!((sha1.len(), sha256.len(), sha512.len()), (20, 32, 64));
        let vectors: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (secs, c1, c256, c512) in vectors {
            for (key, alg, want) in [
                (&sha1, OtpAlgorithm::Sha1, c1),
                (&sha256, OtpAlgorithm::Sha256, c256),
                (&sha512, OtpAlgorithm::Sha512, c512),
            ] {
                let params = TotpParams {
                    algorithm: alg,
                    digits: 8,
                    period_secs: 30,
                    skew_steps: 0,
                };
                assert_eq!(
                    totp_code(key, &params, at(secs)).expect("code"),
                    want,
                    "{alg} at {secs}"
                );
                let step = totp_verify(key, &params, want, at(secs), None).expect("verify");
                assert_eq!(step, secs as u64 / 30);
            }
        }
    }

    #[test]
    fn totp_step_edges() {
        assert_eq!(totp_step(at(0), 30), 0);
        assert_eq!(totp_step(at(29), 30), 0);
        assert_eq!(totp_step(at(30), 30), 1);
        assert_eq!(totp_step(at(-5), 30), 0);
        assert_eq!(totp_step(at(100), 0), 0);
        assert_eq!(totp_step(at(120), 60), 2);
    }

    #[test]
    fn totp_skew_window_edges() {
        let params = TotpParams::default();
        let now = at(1_000_000_020); // step 33_333_334 starts at 1_000_000_020
        let current = totp_step(now, 30);
        let code_at = |step: u64| hotp(&secret(), OtpAlgorithm::Sha1, step, 6).expect("hotp");
        assert_eq!(
            totp_verify(&secret(), &params, &code_at(current - 1), now, None),
            Ok(current - 1)
        );
        assert_eq!(
            totp_verify(&secret(), &params, &code_at(current + 1), now, None),
            Ok(current + 1)
        );
        for outside in [current - 2, current + 2] {
            let code = code_at(outside);
            // Guard against an accidental collision with an in-window step.
            let collides = (current - 1..=current + 1).any(|s| code_at(s) == code);
            if !collides {
                assert_eq!(
                    totp_verify(&secret(), &params, &code, now, None),
                    Err(OtpFailure::Wrong)
                );
            }
        }
        let strict = TotpParams {
            skew_steps: 0,
            ..params
        };
        assert_eq!(
            totp_verify(&secret(), &strict, &code_at(current - 1), now, None),
            Err(OtpFailure::Wrong)
        );
        // The last second of a step still belongs to it.
        let end = at(1_000_000_020 + 29);
        assert_eq!(
            totp_verify(&secret(), &strict, &code_at(current), end, None),
            Ok(current)
        );
    }

    #[test]
    fn totp_replay_refused() {
        let params = TotpParams::default();
        let now = at(1_700_000_000);
        let code = totp_code(&secret(), &params, now).expect("code");
        let step = totp_verify(&secret(), &params, &code, now, None).expect("first use");
        assert_eq!(
            totp_verify(&secret(), &params, &code, now, Some(step)),
            Err(OtpFailure::Replayed)
        );
        // A later step is still fine after an earlier one was used.
        let later = now + time::Duration::seconds(30);
        let next = totp_code(&secret(), &params, later).expect("code");
        assert_eq!(
            totp_verify(&secret(), &params, &next, later, Some(step)),
            Ok(step + 1)
        );
        // A code from a step before the last used one is refused even inside the window.
        let previous = hotp(&secret(), OtpAlgorithm::Sha1, step - 1, 6).expect("hotp");
        assert_eq!(
            totp_verify(&secret(), &params, &previous, now, Some(step)),
            Err(OtpFailure::Replayed)
        );
    }

    #[test]
    fn totp_malformed_and_params() {
        let params = TotpParams::default();
        let now = at(1_700_000_000);
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                totp_verify(&secret(), &params, bad, now, None),
                Err(OtpFailure::Malformed),
                "{bad:?}"
            );
        }
        let code = totp_code(&secret(), &params, now).expect("code");
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(totp_verify(&secret(), &params, &spaced, now, None).is_ok());
        for bad in [
            TotpParams {
                digits: 5,
                ..params
            },
            TotpParams {
                digits: 9,
                ..params
            },
            TotpParams {
                period_secs: 0,
                ..params
            },
            TotpParams {
                period_secs: 301,
                ..params
            },
            TotpParams {
                skew_steps: MAX_SKEW_STEPS + 1,
                ..params
            },
        ] {
            assert_eq!(
                totp_verify(&secret(), &bad, &code, now, None),
                Err(OtpFailure::InvalidParams)
            );
        }
        assert!(TotpParams {
            period_secs: 60,
            ..params
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn totp_params_serde_defaults() {
        let params: TotpParams = serde_json::from_str("{}").expect("json");
        assert_eq!(params, TotpParams::default());
        let json = serde_json::to_string(&TotpParams {
            algorithm: OtpAlgorithm::Sha256,
            ..TotpParams::default()
        })
        .expect("json");
        assert!(json.contains("\"SHA256\""), "{json}");
    }

    #[test]
    fn hotp_look_ahead() {
        let state = HotpState { counter: 3 };
        let code5 = hotp(&secret(), OtpAlgorithm::Sha1, 5, 6).expect("hotp");
        assert_eq!(
            hotp_verify(&secret(), OtpAlgorithm::Sha1, 6, &code5, &state, 5),
            Ok(6)
        );
        assert_eq!(
            hotp_verify(&secret(), OtpAlgorithm::Sha1, 6, &code5, &state, 1),
            Err(OtpFailure::Wrong)
        );
        let code3 = hotp(&secret(), OtpAlgorithm::Sha1, 3, 6).expect("hotp");
        assert_eq!(
            hotp_verify(&secret(), OtpAlgorithm::Sha1, 6, &code3, &state, 0),
            Ok(4)
        );
    }

    #[test]
    fn hotp_behind_counter_refused() {
        let state = HotpState { counter: 5 };
        for behind in 0..5 {
            let code = hotp(&secret(), OtpAlgorithm::Sha1, behind, 6).expect("hotp");
            assert_eq!(
                hotp_verify(&secret(), OtpAlgorithm::Sha1, 6, &code, &state, 10),
                Err(OtpFailure::Wrong),
                "counter {behind}"
            );
        }
        // Using a code advances the counter, so the same code fails the second time.
        let code = hotp(&secret(), OtpAlgorithm::Sha1, 5, 6).expect("hotp");
        let next = hotp_verify(&secret(), OtpAlgorithm::Sha1, 6, &code, &state, 10).expect("ok");
        assert_eq!(
            hotp_verify(
                &secret(),
                OtpAlgorithm::Sha1,
                6,
                &code,
                &HotpState { counter: next },
                10
            ),
            Err(OtpFailure::Wrong)
        );
    }

    #[test]
    fn hotp_resync_two_consecutive_codes() {
        let state = HotpState { counter: 0 };
        let code = |c: u64| hotp(&secret(), OtpAlgorithm::Sha1, c, 6).expect("hotp");
        assert_eq!(
            hotp_resync(
                &secret(),
                OtpAlgorithm::Sha1,
                6,
                &code(57),
                &code(58),
                &state,
                100
            ),
            Ok(59)
        );
        // Not consecutive.
        assert_eq!(
            hotp_resync(
                &secret(),
                OtpAlgorithm::Sha1,
                6,
                &code(57),
                &code(59),
                &state,
                100
            ),
            Err(OtpFailure::Wrong)
        );
        // Outside the window.
        assert_eq!(
            hotp_resync(
                &secret(),
                OtpAlgorithm::Sha1,
                6,
                &code(150),
                &code(151),
                &state,
                100
            ),
            Err(OtpFailure::Wrong)
        );
        // The first code at the window's last counter, the second just past it, is accepted.
        assert_eq!(
            hotp_resync(
                &secret(),
                OtpAlgorithm::Sha1,
                6,
                &code(100),
                &code(101),
                &state,
                100
            ),
            Ok(102)
        );
    }

    #[test]
    fn base32_round_trips() {
        let s = OtpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").expect("b32");
        assert_eq!(s.as_bytes(), RFC4226_SECRET);
        assert_eq!(s.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let lower = OtpSecret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").expect("b32");
        assert_eq!(lower.as_bytes(), RFC4226_SECRET);
        // 10 bytes: 16 characters, no padding needed; 5 bytes with and without padding.
        let padded = OtpSecret::from_base32("MZXW6YQ=").expect("padded");
        let bare = OtpSecret::from_base32("mzxw6yq").expect("bare");
        assert_eq!(padded.as_bytes(), b"foob");
        assert_eq!(bare.as_bytes(), b"foob");
        assert_eq!(bare.to_base32(), "MZXW6YQ");
        assert_eq!(
            OtpSecret::from_base32("").err(),
            Some(SecretParseError::Empty)
        );
        assert_eq!(
            OtpSecret::from_base32("GEZD1!").err(),
            Some(SecretParseError::InvalidBase32)
        );
        let hex = OtpSecret::from_hex("3132333435363738393031323334353637383930").expect("hex");
        assert_eq!(hex.as_bytes(), RFC4226_SECRET);
        assert_eq!(hex.to_hex(), "3132333435363738393031323334353637383930");
        assert!(OtpSecret::from_hex("ABCDEF").is_ok());
        assert_eq!(
            OtpSecret::from_hex("abc").err(),
            Some(SecretParseError::InvalidHex)
        );
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for len in [10, 20, 32, 64] {
            let g = OtpSecret::generate(&mut rng, len);
            assert_eq!(g.len(), len);
            let back = OtpSecret::from_base32(&g.to_base32()).expect("round trip");
            assert_eq!(back.as_bytes(), g.as_bytes());
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let dbg = format!("{:?}", secret());
        assert!(dbg.contains("[redacted]"));
        assert!(!dbg.contains("49"));
    }

    #[test]
    fn otpauth_uri_format() {
        let uri = otpauth_uri(
            "ACME Co",
            "alice@example.com",
            &secret(),
            &TotpParams::default(),
        );
        assert_eq!(
            uri,
            "otpauth://totp/ACME%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
        let params = TotpParams {
            algorithm: OtpAlgorithm::Sha512,
            digits: 8,
            period_secs: 60,
            skew_steps: 1,
        };
        let uri = otpauth_uri("a:b&c", "山田", &secret(), &params);
        assert!(uri.starts_with("otpauth://totp/a%3Ab%26c:%E5%B1%B1%E7%94%B0?"));
        assert!(uri.ends_with("&issuer=a%3Ab%26c&algorithm=SHA512&digits=8&period=60"));
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(OtpAlgorithm::from_name("sha1"), Some(OtpAlgorithm::Sha1));
        assert_eq!(
            OtpAlgorithm::from_name("HMAC-SHA256"),
            Some(OtpAlgorithm::Sha256)
        );
        assert_eq!(
            OtpAlgorithm::from_name("SHA-512"),
            Some(OtpAlgorithm::Sha512)
        );
        assert_eq!(OtpAlgorithm::from_name("MD5"), None);
        assert_eq!(OtpAlgorithm::default(), OtpAlgorithm::Sha1);
    }
}
