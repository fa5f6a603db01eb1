//! # passlogic-idp-core
//!
//! The sans-IO heart of passlogic-idp: every authentication factor, sealed secrets, and (in later
//! modules) the step pipeline, SAML and OpenID Connect documents.
//!
//! This crate performs no I/O of its own. It opens no socket or file, reads no clock and draws no
//! randomness it was not handed: callers pass `now` (a [`time::OffsetDateTime`]) and a
//! cryptographically secure random source (`rand::RngCore + rand::CryptoRng`) into every function
//! that needs them, and store whatever state the functions return. That keeps the core
//! deterministic under test and embeddable in any runtime.
//!
//! ```
//! use passlogic_idp_core::factor::matrix::{self, GridSpec};
//! # use rand::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let now = time::OffsetDateTime::UNIX_EPOCH;
//! let challenge = matrix::start(&GridSpec::default(), &mut rng, now, time::Duration::minutes(5));
//! assert_eq!(challenge.grid.digits().len(), 48);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ca;
pub mod factor;
pub mod oidc;
pub mod pipeline;
pub mod policy;
pub mod radius;
pub mod saml;
pub mod seal;
pub mod xmldsig;
