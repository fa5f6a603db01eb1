//! PIN codes: the policy a new PIN must meet and Argon2id hashing of stored PINs.
//!
//! A PIN is a knowledge factor combined with a token (TOTP + PIN, bingo + PIN, hardware token +
//! PIN) or used as a second knowledge element. PINs are stored only as Argon2id PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), which carry their own parameters, so the
//! parameters can be raised later: [`needs_rehash`] tells the caller to re-hash on the next
//! successful sign-in.
//!
//! Cost: every [`hash_pin`] and [`verify_pin`] call allocates `m_kib` KiB of memory (19 MiB with
//! the defaults) and runs for tens of milliseconds. The server bounds how many run at once.
//!
//! ```
//! use passlogic_idp_core::factor::pin::{self, Argon2Params, PinPolicy};
//! # use rand::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! PinPolicy::default().check("4711")?;
//! let params = Argon2Params { m_kib: 64, t: 1, p: 1 }; // cheap, for the example only
//! let phc = pin::hash_pin("4711", &params, &mut rng)?;
//! assert!(pin::verify_pin("4711", &phc)?);
//! assert!(!pin::verify_pin("4712", &phc)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

/// Largest memory cost (KiB) accepted from a stored PHC string: 1 GiB. A larger value is
/// treated as malformed rather than allocated.
pub const MAX_M_KIB: u32 = 1024 * 1024;

/// Largest time cost accepted from a stored PHC string.
pub const MAX_T: u32 = 64;

/// Largest parallelism accepted from a stored PHC string.
pub const MAX_P: u32 = 16;

/// Length of the random salt drawn for every hash, in bytes.
pub const SALT_LEN: usize = 16;

/// Rules a new PIN must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PinPolicy {
    /// Fewest characters (default 4).
    pub min_len: usize,
    /// Most characters (default 16).
    pub max_len: usize,
    /// Whether only the digits 0-9 are allowed (default true).
    pub digits_only: bool,
}

impl Default for PinPolicy {
    fn default() -> Self {
        Self {
            min_len: 4,
            max_len: 16,
            digits_only: true,
        }
    }
}

/// Why a PIN does not meet the [`PinPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinRejection {
    /// Fewer characters than the policy's minimum.
    #[error("the PIN must have at least {min} characters")]
    TooShort {
        /// The policy's minimum length.
        min: usize,
    },
    /// More characters than the policy's maximum.
    #[error("the PIN must have at most {max} characters")]
    TooLong {
        /// The policy's maximum length.
        max: usize,
    },
    /// The policy allows only the digits 0-9.
    #[error("the PIN may contain only the digits 0-9")]
    NotDigits,
    /// The PIN contains a control character (never allowed).
    #[error("the PIN contains a control character")]
    ControlCharacter,
}

impl PinPolicy {
    /// Checks a candidate PIN; lengths count characters, not bytes.
    pub fn check(&self, pin: &str) -> Result<(), PinRejection> {
        let len = pin.chars().count();
        if len < self.min_len {
            return Err(PinRejection::TooShort { min: self.min_len });
        }
        if len > self.max_len {
            return Err(PinRejection::TooLong { max: self.max_len });
        }
        if self.digits_only && !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinRejection::NotDigits);
        }
        if pin.chars().any(char::is_control) {
            return Err(PinRejection::ControlCharacter);
        }
        Ok(())
    }
}

/// Argon2id cost parameters for new PIN hashes.
///
/// The default is the OWASP Password Storage Cheat Sheet minimum for Argon2id. The cheat sheet
/// lists these equivalent configurations (each with parallelism 1), trading memory for passes:
///
/// | memory `m_kib`   | passes `t` |
/// |------------------|-----------:|
/// | 47104 (46 MiB)   | 1          |
/// | 19456 (19 MiB)   | 2          |
/// | 12288 (12 MiB)   | 3          |
/// | 9216 (9 MiB)     | 4          |
/// | 7168 (7 MiB)     | 5          |
///
/// Each hash or verification allocates `m_kib` KiB for its duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory cost in KiB (default 19456 = 19 MiB).
    pub m_kib: u32,
    /// Time cost: number of passes (default 2).
    pub t: u32,
    /// Parallelism: number of lanes (default 1).
    pub p: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

/// Why hashing or verifying a PIN failed (as opposed to the PIN being wrong).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// The Argon2 parameters are out of range (e.g. memory below 8 KiB per lane).
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    /// The stored hash is not an Argon2id PHC string this module accepts.
    #[error("malformed PIN hash: {0}")]
    MalformedHash(String),
    /// Hashing failed inside the Argon2 implementation.
    #[error("PIN hashing failed: {0}")]
    Hash(String),
}

fn argon2_for(params: &Argon2Params) -> Result<Argon2<'static>, PinError> {
    let params = Params::new(params.m_kib, params.t, params.p, None)
        .map_err(|e| PinError::Params(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a PIN with Argon2id under `params` and a fresh 16-byte salt from `rng`, returning the
/// PHC string to store. The PIN is not checked against a policy here; call [`PinPolicy::check`]
/// first.
pub fn hash_pin(
    pin: &str,
    params: &Argon2Params,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<String, PinError> {
    let argon2 = argon2_for(params)?;
    let mut salt_bytes = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| PinError::Hash(e.to_string()))?;
    argon2
        .hash_password(pin.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

/// Parses a stored PHC string, accepting only Argon2id with bounded costs.
fn parse_phc(phc: &str) -> Result<(PasswordHash<'_>, Params), PinError> {
    let hash = PasswordHash::new(phc).map_err(|e| PinError::MalformedHash(e.to_string()))?;
    if hash.algorithm != Algorithm::Argon2id.ident() {
        return Err(PinError::MalformedHash(format!(
            "algorithm {} is not argon2id",
            hash.algorithm
        )));
    }
    if hash.hash.is_none() || hash.salt.is_none() {
        return Err(PinError::MalformedHash("missing salt or hash".into()));
    }
    let params = Params::try_from(&hash).map_err(|e| PinError::MalformedHash(e.to_string()))?;
    if params.m_cost() > MAX_M_KIB || params.t_cost() > MAX_T || params.p_cost() > MAX_P {
        return Err(PinError::MalformedHash(
            "cost parameters out of bounds".into(),
        ));
    }
    Ok((hash, params))
}

/// Checks a PIN against a stored PHC string. `Ok(false)` means a wrong PIN; `Err` means the
/// stored hash is unusable. The comparison inside Argon2 is constant time.
pub fn verify_pin(pin: &str, phc: &str) -> Result<bool, PinError> {
    let (hash, _) = parse_phc(phc)?;
    match Argon2::default().verify_password(pin.as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PinError::MalformedHash(e.to_string())),
    }
}

/// Whether a stored hash should be replaced (after the next successful [`verify_pin`]) because
/// it is not Argon2id v1.3 under exactly `params`, or cannot be parsed.
pub fn needs_rehash(phc: &str, params: &Argon2Params) -> bool {
    let Ok((hash, stored)) = parse_phc(phc) else {
        return true;
    };
    hash.version != Some(Version::V0x13.into())
        || stored.m_cost() != params.m_kib
        || stored.t_cost() != params.t
        || stored.p_cost() != params.p
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const CHEAP: Argon2Params = Argon2Params {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(42)
    }

    #[test]
    fn round_trip_and_wrong_pin() {
        let phc = hash_pin("123456", &CHEAP, &mut rng()).expect("hash");
        assert!(verify_pin("123456", &phc).expect("verify"));
        assert!(!verify_pin("123457", &phc).expect("verify"));
        assert!(!verify_pin("", &phc).expect("verify"));
    }

    #[test]
    fn salts_differ_between_hashes() {
        let mut rng = rng();
        let a = hash_pin("1234", &CHEAP, &mut rng).expect("hash");
        let b = hash_pin("1234", &CHEAP, &mut rng).expect("hash");
        assert_ne!(a, b);
    }

    #[test]
    fn params_are_encoded_in_the_phc_string() {
        let params = Argon2Params {
            m_kib: 128,
            t: 3,
            p: 2,
        };
        let phc = hash_pin("0000", &params, &mut rng()).expect("hash");
        assert!(
            phc.starts_with("$argon2id$v=19$m=128,t=3,p=2$"),
            "unexpected PHC string {phc}"
        );
        assert!(!needs_rehash(&phc, &params));
        assert!(needs_rehash(&phc, &CHEAP));
        assert!(needs_rehash("garbage", &params));
    }

    #[test]
    fn default_params_owasp_minimum() {
        let params = Argon2Params::default();
        assert_eq!((params.m_kib, params.t, params.p), (19_456, 2, 1));
        let phc = hash_pin("2468", &params, &mut rng()).expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_pin("2468", &phc).expect("verify"));
        assert!(!needs_rehash(&phc, &params));
    }

    #[test]
    fn malformed_phc_rejected() {
        let good = hash_pin("1234", &CHEAP, &mut rng()).expect("hash");
        let argon2i = good.replacen("$argon2id$", "$argon2i$", 1);
        let huge = good.replacen("m=64", "m=4194304", 1);
        let no_hash = good
            .rsplit_once('$')
            .map(|(head, _)| head.to_string())
            .expect("split");
        for bad in [
            "",
            "not a hash",
            "$argon2id$v=19$m=64,t=1,p=1$",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
            argon2i.as_str(),
            huge.as_str(),
            no_hash.as_str(),
        ] {
            assert!(
                matches!(verify_pin("1234", bad), Err(PinError::MalformedHash(_))),
                "{bad:?} was not rejected"
            );
        }
    }

    #[test]
    fn invalid_params_rejected() {
        let bad = Argon2Params {
            m_kib: 1,
            t: 1,
            p: 1,
        };
        assert!(matches!(
            hash_pin("1234", &bad, &mut rng()),
            Err(PinError::Params(_))
        ));
    }

    #[test]
    fn policy_cases() {
        let policy = PinPolicy::default();
        assert_eq!(policy.check("1234"), Ok(()));
        assert_eq!(policy.check("123"), Err(PinRejection::TooShort { min: 4 }));
        assert_eq!(
            policy.check("12345678901234567"),
            Err(PinRejection::TooLong { max: 16 })
        );
        assert_eq!(policy.check("12a4"), Err(PinRejection::NotDigits));
        assert_eq!(policy.check("１２３４"), Err(PinRejection::NotDigits));
        let letters = PinPolicy {
            digits_only: false,
            min_len: 6,
            max_len: 8,
        };
        assert_eq!(letters.check("abc-12"), Ok(()));
        assert_eq!(
            letters.check("abc\n12"),
            Err(PinRejection::ControlCharacter)
        );
        assert_eq!(
            letters.check("abc12"),
            Err(PinRejection::TooShort { min: 6 })
        );
        let parsed: PinPolicy = serde_json::from_str("{}").expect("json");
        assert_eq!(parsed, PinPolicy::default());
    }
}
