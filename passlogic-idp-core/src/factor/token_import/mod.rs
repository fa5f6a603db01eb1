//! Import of hardware token seeds (OATH HOTP/TOTP key fobs and cards).
//!
//! Vendors ship seed files with their tokens. Two formats are read here, both into
//! [`TokenSeed`] values the server then seals and stores:
//!
//! - [`csv`]: a simple CSV file with hexadecimal (Base16) or Base32 seeds, see [`parse_csv`];
//! - [`pskc`]: Portable Symmetric Key Container files (RFC 6030), plain or encrypted with a
//!   pre-shared key or a password, see [`parse_pskc`].
//!
//! Both parsers are pure: they take bytes (and keys) and return seeds or an [`ImportError`] that
//! names the row or key package at fault. Inputs are bounded to [`MAX_INPUT_LEN`] bytes, and every
//! seed must be at least [`MIN_SECRET_LEN`] bytes (RFC 4226 requires 128-bit secrets).

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::factor::otp::{OtpAlgorithm, OtpSecret};

pub mod csv;
pub mod pskc;

pub use self::csv::parse_csv;
pub use self::pskc::parse_pskc;

/// Largest import file accepted, in bytes (10 MiB).
pub const MAX_INPUT_LEN: usize = 10 * 1024 * 1024;

/// Shortest seed accepted, in bytes: 16 (128 bits, the RFC 4226 minimum).
pub const MIN_SECRET_LEN: usize = 16;

/// Longest seed accepted, in bytes.
pub const MAX_SECRET_LEN: usize = 128;

/// How a token counts: events (HOTP) or time (TOTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Event-based token (RFC 4226) and its current counter.
    Hotp {
        /// The counter value the token will use next.
        counter: u64,
    },
    /// Time-based token (RFC 6238) and its time step.
    Totp {
        /// Time step in seconds (usually 30 or 60).
        period_secs: u32,
    },
}

/// One imported token: serial number, seed and OTP parameters. `Debug` redacts the seed.
#[derive(Debug, Clone)]
pub struct TokenSeed {
    /// The serial number printed on the token (or, for PSKC files without one, the key's Id).
    pub serial: String,
    /// The shared secret (seed) in binary form.
    pub secret: OtpSecret,
    /// HOTP or TOTP, with the counter or period.
    pub kind: TokenKind,
    /// HMAC hash function.
    pub algorithm: OtpAlgorithm,
    /// Number of code digits (6..=8).
    pub digits: u8,
}

/// Why an import file was refused. Nothing is imported from a refused file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The input exceeds [`MAX_INPUT_LEN`].
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The file holds no token.
    #[error("the file holds no token")]
    Empty,
    /// A CSV row or header is wrong. Rows count from 1; the header is row 1.
    #[error("row {row}, field `{field}`: {reason}")]
    Csv {
        /// The 1-based row number (header = 1).
        row: usize,
        /// The column name at fault.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A serial number appears twice in a CSV file.
    #[error("row {row}: serial {serial:?} already appears in row {first_row}")]
    DuplicateSerial {
        /// The row repeating the serial.
        row: usize,
        /// The row where the serial first appears.
        first_row: usize,
        /// The repeated serial number.
        serial: String,
    },
    /// The XML document declares a DOCTYPE, which is never accepted.
    #[error("XML documents with a DOCTYPE are refused")]
    Doctype,
    /// The document is not well-formed XML, or not a PSKC KeyContainer.
    #[error("malformed PSKC document: {0}")]
    Xml(String),
    /// A PSKC key package is incomplete or uses something unsupported.
    #[error("key package {package}: {reason}")]
    Pskc {
        /// The 1-based position of the KeyPackage in the document.
        package: usize,
        /// What is wrong.
        reason: String,
    },
    /// The document is encrypted and the needed password or pre-shared key was not supplied, or
    /// its encryption set-up is unsupported.
    #[error("encryption: {0}")]
    Encryption(String),
    /// Decryption failed: wrong password or pre-shared key, or corrupted data.
    #[error("decryption of {what} failed: wrong password or key, or corrupted data")]
    Decrypt {
        /// What was being decrypted (`MACKey`, `key package 2 Secret`, ...).
        what: String,
    },
    /// A ValueMAC does not match: the file was altered or the key is wrong.
    #[error("key package {package}: the MAC does not match (altered file or wrong key)")]
    MacMismatch {
        /// The 1-based position of the KeyPackage in the document.
        package: usize,
    },
}

/// Checks a seed's length against [`MIN_SECRET_LEN`]..=[`MAX_SECRET_LEN`].
pub(crate) fn check_secret_len(secret: &OtpSecret) -> Result<(), String> {
    if secret.len() < MIN_SECRET_LEN {
        Err(format!(
            "the seed has {} bytes, fewer than the {MIN_SECRET_LEN} (128 bits) required",
            secret.len()
        ))
    } else if secret.len() > MAX_SECRET_LEN {
        Err(format!(
            "the seed has {} bytes, more than {MAX_SECRET_LEN}",
            secret.len()
        ))
    } else {
        Ok(())
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hotp { counter } => write!(f, "HOTP (counter {counter})"),
            Self::Totp { period_secs } => write!(f, "TOTP ({period_secs} s)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_seed_debug_redacts_secret() {
        let seed = TokenSeed {
            serial: "A1".into(),
            secret: OtpSecret::from_bytes(*b"12345678901234567890"),
            kind: TokenKind::Hotp { counter: 0 },
            algorithm: OtpAlgorithm::Sha1,
            digits: 6,
        };
        let dbg = format!("{seed:?}");
        assert!(dbg.contains("[redacted]") && dbg.contains("A1"), "{dbg}");
        assert!(!dbg.contains("49, 50"));
    }
}
