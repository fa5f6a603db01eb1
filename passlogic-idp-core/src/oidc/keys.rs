//! Signing-key rotation as pure data.
//!
//! A [`SigningKeySet`] holds every key that is, or will soon be, published in the JWKS. Each
//! [`ManagedKey`] has three instants:
//!
//! - `created`: from here on it is **published** ([`SigningKeySet::publishable`]), so relying
//!   parties can fetch it before any token is signed with it;
//! - `activates_at`: from here on it may **sign**; [`SigningKeySet::active`] picks the newest
//!   key whose `activates_at <= now`;
//! - `retires_at`: set when a successor is rotated in; the key stays published until then so
//!   that tokens it signed can still be verified, and is dropped by [`SigningKeySet::prune`].
//!
//! [`SigningKeySet::rotate`] implements the procedure Entra ID's EAM documentation describes
//! (research/federation.md section 2b): publish old and new keys, keep signing with the old
//! key until relying parties' caches have refreshed (Entra caches metadata and keys for 24 h;
//! the doc also says "every 2 days", hence [`RECOMMENDED_ACTIVATION_DELAY`]), then switch.
//!
//! The set is serde data the server persists (sealed: it contains private keys) and reloads;
//! nothing here reads a clock.
//!
//! ```
//! use passlogic_idp_core::oidc::jose::{Algorithm, SigningKey};
//! use passlogic_idp_core::oidc::keys::SigningKeySet;
//! use time::{Duration, OffsetDateTime};
//! # fn key(kid: &str) -> SigningKey {
//! #     let pkey = openssl::pkey::PKey::generate_ed25519().unwrap();
//! #     SigningKey::from_pkey(kid, Algorithm::EdDsa, pkey).unwrap()
//! # }
//! let t0 = OffsetDateTime::UNIX_EPOCH;
//! let mut set = SigningKeySet::new(key("k1"), t0);
//! let t1 = t0 + Duration::days(30);
//! set.rotate(key("k2"), t1, Duration::days(2), Duration::hours(1))?;
//! assert_eq!(set.active(t1).map(|k| k.kid()), Some("k1")); // k2 published, not used yet
//! assert_eq!(set.publishable(t1).len(), 2);
//! assert_eq!(set.active(t1 + Duration::days(2)).map(|k| k.kid()), Some("k2"));
//! # Ok::<(), passlogic_idp_core::oidc::error::KeyError>(())
//! ```

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::error::KeyError;
use super::jose::{Jwks, SigningKey, VerifyingKey};

/// Activation delay that outlasts Entra ID's metadata cache (24 h, "every 2 days" in places).
pub const RECOMMENDED_ACTIVATION_DELAY: Duration = Duration::days(2);

/// A signing key with its rotation schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedKey {
    /// The key.
    pub key: SigningKey,
    /// When it was added (and first published).
    #[serde(with = "time::serde::timestamp")]
    pub created: OffsetDateTime,
    /// When it may start signing.
    #[serde(with = "time::serde::timestamp")]
    pub activates_at: OffsetDateTime,
    /// When it stops being published (set on rotation).
    #[serde(with = "time::serde::timestamp::option", default)]
    pub retires_at: Option<OffsetDateTime>,
}

impl ManagedKey {
    fn published_at(&self, now: OffsetDateTime) -> bool {
        self.created <= now && self.retires_at.is_none_or(|r| now < r)
    }
}

/// The provider's signing keys (see the module docs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SigningKeySet {
    keys: Vec<ManagedKey>,
}

impl SigningKeySet {
    /// A set with one key, published and active from `now` (first start-up).
    pub fn new(key: SigningKey, now: OffsetDateTime) -> Self {
        Self {
            keys: vec![ManagedKey {
                key,
                created: now,
                activates_at: now,
                retires_at: None,
            }],
        }
    }

    /// All keys with their schedules.
    pub fn keys(&self) -> &[ManagedKey] {
        &self.keys
    }

    /// Keys to publish in the JWKS at `now`: created and not yet retired (including keys not
    /// yet active).
    pub fn publishable(&self, now: OffsetDateTime) -> Vec<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.published_at(now))
            .map(|k| &k.key)
            .collect()
    }

    /// The key to sign with at `now`: among published keys whose `activates_at <= now`, the one
    /// that activated last (ties: the one created last).
    pub fn active(&self, now: OffsetDateTime) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.published_at(now) && k.activates_at <= now)
            .max_by_key(|k| (k.activates_at, k.created))
            .map(|k| &k.key)
    }

    /// The key to sign with, or [`KeyError::NoActiveKey`].
    pub fn require_active(&self, now: OffsetDateTime) -> Result<&SigningKey, KeyError> {
        self.active(now).ok_or(KeyError::NoActiveKey)
    }

    /// The JWKS document for `now` (public keys only).
    pub fn jwks(&self, now: OffsetDateTime) -> Result<Jwks, KeyError> {
        let mut keys = Vec::new();
        for k in self.publishable(now) {
            keys.push(k.public_jwk()?);
        }
        Ok(Jwks { keys })
    }

    /// Verification keys for tokens this provider signed (e.g. an `id_token_hint` at logout).
    pub fn verifying_keys(&self, now: OffsetDateTime) -> Vec<VerifyingKey> {
        self.publishable(now)
            .into_iter()
            .map(SigningKey::verifying_key)
            .collect()
    }

    /// Adds `new_key`, published from `now` and used from `now + activation_delay`. Every key
    /// without a retirement date gets `retires_at = now + activation_delay + retain_for`:
    /// `retain_for` should be at least the lifetime of the longest-lived token it signs (ID
    /// tokens, signed access tokens) plus relying parties' cache time. Also prunes keys already
    /// retired at `now`.
    pub fn rotate(
        &mut self,
        new_key: SigningKey,
        now: OffsetDateTime,
        activation_delay: Duration,
        retain_for: Duration,
    ) -> Result<(), KeyError> {
        if self.keys.iter().any(|k| k.key.kid() == new_key.kid()) {
            return Err(KeyError::DuplicateKid(new_key.kid().to_owned()));
        }
        let activation_delay = activation_delay.max(Duration::ZERO);
        let retain_for = retain_for.max(Duration::ZERO);
        let activates_at = now + activation_delay;
        for k in &mut self.keys {
            if k.retires_at.is_none() {
                k.retires_at = Some(activates_at + retain_for);
            }
        }
        self.keys.push(ManagedKey {
            key: new_key,
            created: now,
            activates_at,
            retires_at: None,
        });
        self.prune(now);
        Ok(())
    }

    /// Drops keys whose `retires_at` has passed.
    pub fn prune(&mut self, now: OffsetDateTime) {
        self.keys.retain(|k| k.retires_at.is_none_or(|r| now < r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jose::tests::ed_key;

    #[test]
    fn rotation_schedule() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut set = SigningKeySet::new(ed_key("k1"), t0);
        assert_eq!(set.active(t0).unwrap().kid(), "k1");
        let t1 = t0 + Duration::days(10);
        set.rotate(ed_key("k2"), t1, Duration::days(2), Duration::hours(6))
            .unwrap();
        let kids = |v: Vec<&SigningKey>| v.iter().map(|k| k.kid().to_owned()).collect::<Vec<_>>();
        // Published at once, before use.
        assert_eq!(kids(set.publishable(t1)), ["k1", "k2"]);
        assert_eq!(set.active(t1).unwrap().kid(), "k1");
        assert_eq!(
            set.active(t1 + Duration::days(2) - Duration::SECOND)
                .unwrap()
                .kid(),
            "k1"
        );
        // Used after the delay; old key still published for tokens it signed.
        let t2 = t1 + Duration::days(2);
        assert_eq!(set.active(t2).unwrap().kid(), "k2");
        assert_eq!(kids(set.publishable(t2)), ["k1", "k2"]);
        assert_eq!(set.jwks(t2).unwrap().keys.len(), 2);
        // Retired after retain_for.
        let t3 = t2 + Duration::hours(6);
        assert_eq!(kids(set.publishable(t3)), ["k2"]);
        set.prune(t3);
        assert_eq!(set.keys().len(), 1);
        // Duplicate kid refused.
        assert!(matches!(
            set.rotate(ed_key("k2"), t3, Duration::ZERO, Duration::ZERO),
            Err(KeyError::DuplicateKid(_))
        ));
        // A key is not published before its creation.
        assert!(set.publishable(t0).is_empty());
        assert!(set.active(t0).is_none());
    }

    #[test]
    fn serde_round_trip() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let mut set = SigningKeySet::new(ed_key("k1"), t0);
        set.rotate(ed_key("k2"), t0, Duration::days(2), Duration::days(1))
            .unwrap();
        let json = serde_json::to_string(&set).unwrap();
        let back: SigningKeySet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.keys().len(), 2);
        assert_eq!(back.keys()[0].retires_at, set.keys()[0].retires_at);
        assert_eq!(back.active(t0).unwrap().kid(), "k1");
    }
}
