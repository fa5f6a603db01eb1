//! Duplicate detection ([RFC 5080] section 2.2.2): a NAS that gets no answer in time retransmits
//! the same request (same source, Identifier and Request Authenticator). The server must answer it
//! with the reply it already sent, not run authentication again: a second run would consume a
//! one-time password twice, count a second failure, or issue a second challenge.
//!
//! [`DuplicateCache`] is pure state owned by the server's RADIUS task (one per listener). It is
//! bounded in entries and in time: an entry lives [`DuplicateCache::lifetime`] (default 30 s,
//! longer than any NAS's retransmission schedule) and, when the cache is full, the oldest entry
//! goes first.
//!
//! Use it *after* [`crate::radius::auth::verify_request`], so forged packets never create entries:
//!
//! ```
//! use passlogic_idp_core::radius::dedup::{DedupKey, DuplicateCache, Lookup};
//! let mut cache = DuplicateCache::new(10_000, time::Duration::seconds(30));
//! let now = time::OffsetDateTime::UNIX_EPOCH;
//! let key = DedupKey::new("192.0.2.7:50123", 17, [1; 16]);
//! assert_eq!(cache.check(&key, now), Lookup::New);          // authenticate, then:
//! assert_eq!(cache.check(&key, now), Lookup::InProgress);   // retransmitted meanwhile: drop
//! cache.store(key.clone(), vec![2, 17, 0, 20], now);
//! assert_eq!(cache.check(&key, now), Lookup::Duplicate(vec![2, 17, 0, 20])); // resend as is
//! ```
//!
//! [RFC 5080]: https://www.rfc-editor.org/rfc/rfc5080

use std::collections::{HashMap, VecDeque};

use time::{Duration, OffsetDateTime};

use super::packet::{Packet, AUTHENTICATOR_LEN};

/// Default entry lifetime: 30 seconds.
pub const DEFAULT_LIFETIME: Duration = Duration::seconds(30);

/// Default bound on the number of entries.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// What identifies one request: the client's address as the server renders it (e.g.
/// `"192.0.2.7:50123"`; include the port, NASes use several), the Identifier and the Request
/// Authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey {
    /// The client's source address.
    pub client: String,
    /// The request's Identifier.
    pub identifier: u8,
    /// The request's Request Authenticator.
    pub authenticator: [u8; AUTHENTICATOR_LEN],
}

impl DedupKey {
    /// A key from its parts.
    pub fn new(
        client: impl Into<String>,
        identifier: u8,
        authenticator: [u8; AUTHENTICATOR_LEN],
    ) -> Self {
        Self {
            client: client.into(),
            identifier,
            authenticator,
        }
    }

    /// The key of a verified request from `client`.
    pub fn for_request(client: impl Into<String>, request: &Packet) -> Self {
        Self::new(client, request.identifier, request.authenticator)
    }
}

/// The answer of [`DuplicateCache::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// First sight (or the earlier entry expired): process it, then [`DuplicateCache::store`]
    /// the reply, or [`DuplicateCache::forget`] it if the request is dropped without a reply.
    New,
    /// A retransmission of a request still being processed: drop it silently.
    InProgress,
    /// A retransmission of an answered request: send these reply bytes again, unchanged.
    Duplicate(Vec<u8>),
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    expires: OffsetDateTime,
    reply: Option<Vec<u8>>,
}

/// A bounded, time-limited map from [`DedupKey`] to the reply sent.
#[derive(Debug)]
pub struct DuplicateCache {
    entries: HashMap<DedupKey, Entry>,
    /// Keys in insertion order with the sequence number of their insertion; a key re-inserted
    /// later leaves a stale element here, skipped (and bounded) by `evict`.
    order: VecDeque<(u64, DedupKey)>,
    next_seq: u64,
    capacity: usize,
    lifetime: Duration,
}

impl Default for DuplicateCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_LIFETIME)
    }
}

impl DuplicateCache {
    /// An empty cache holding at most `capacity` entries (at least 1) for `lifetime` each.
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            capacity: capacity.max(1),
            lifetime,
        }
    }

    /// The entry lifetime.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The bound on entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of live or not yet purged entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Looks `key` up. An unknown or expired key is recorded as in progress and reported
    /// [`Lookup::New`]; a key in progress gives [`Lookup::InProgress`]; an answered one its reply.
    pub fn check(&mut self, key: &DedupKey, now: OffsetDateTime) -> Lookup {
        self.purge_expired(now);
        if let Some(entry) = self.entries.get(key) {
            if now < entry.expires {
                return match &entry.reply {
                    Some(reply) => Lookup::Duplicate(reply.clone()),
                    None => Lookup::InProgress,
                };
            }
        }
        self.insert(key.clone(), None, now);
        Lookup::New
    }

    /// Records the reply sent for `key`; retransmissions within the lifetime (counted from now)
    /// get exactly these bytes.
    pub fn store(&mut self, key: DedupKey, reply: Vec<u8>, now: OffsetDateTime) {
        self.purge_expired(now);
        self.insert(key, Some(reply), now);
    }

    /// Drops `key` (a request discarded without a reply), so a retransmission is processed anew.
    pub fn forget(&mut self, key: &DedupKey) {
        self.entries.remove(key);
    }

    fn insert(&mut self, key: DedupKey, reply: Option<Vec<u8>>, now: OffsetDateTime) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.order.push_back((seq, key.clone()));
        self.entries.insert(
            key,
            Entry {
                seq,
                expires: now.saturating_add(self.lifetime),
                reply,
            },
        );
        // Oldest first until within bounds; stale order elements are bounded too.
        while self.entries.len() > self.capacity
            || self.order.len() > self.capacity.saturating_mul(2).saturating_add(1)
        {
            if !self.pop_oldest() {
                break;
            }
        }
    }

    /// Removes the front of `order` and its entry if that element is still current.
    fn pop_oldest(&mut self) -> bool {
        let Some((seq, key)) = self.order.pop_front() else {
            return false;
        };
        if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
            self.entries.remove(&key);
        }
        true
    }

    fn purge_expired(&mut self, now: OffsetDateTime) {
        while let Some((seq, key)) = self.order.front() {
            let remove = match self.entries.get(key) {
                // Stale element: the key was re-inserted later or forgotten.
                Some(e) if e.seq != *seq => true,
                None => true,
                Some(e) => now >= e.expires,
            };
            if !remove {
                break;
            }
            self.pop_oldest();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> DedupKey {
        let mut auth = [0u8; 16];
        auth[..4].copy_from_slice(&n.to_be_bytes());
        DedupKey::new("10.0.0.1:1812", (n % 256) as u8, auth)
    }

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(s)
    }

    #[test]
    fn radius_dedup_new_in_progress_duplicate() {
        let mut c = DuplicateCache::default();
        assert_eq!(c.check(&key(1), t(0)), Lookup::New);
        assert_eq!(c.check(&key(1), t(1)), Lookup::InProgress);
        c.store(key(1), b"reply".to_vec(), t(1));
        assert_eq!(c.check(&key(1), t(2)), Lookup::Duplicate(b"reply".to_vec()));
        // Another key part differs: new.
        let mut other = key(1);
        other.client = "10.0.0.2:1812".into();
        assert_eq!(c.check(&other, t(2)), Lookup::New);
        let mut other = key(1);
        other.identifier ^= 1;
        assert_eq!(c.check(&other, t(2)), Lookup::New);
        let mut other = key(1);
        other.authenticator[15] ^= 1;
        assert_eq!(c.check(&other, t(2)), Lookup::New);
        // Forget: processed anew.
        c.forget(&other);
        assert_eq!(c.check(&other, t(3)), Lookup::New);
    }

    #[test]
    fn radius_dedup_entries_expire() {
        let mut c = DuplicateCache::new(100, Duration::seconds(30));
        assert_eq!(c.check(&key(1), t(0)), Lookup::New);
        c.store(key(1), vec![1], t(0));
        assert_eq!(c.check(&key(1), t(29)), Lookup::Duplicate(vec![1]));
        assert_eq!(c.check(&key(1), t(30)), Lookup::New);
        assert_eq!(c.len(), 1);
        // Expired entries are purged on the next call.
        for n in 2..50 {
            c.check(&key(n), t(31));
        }
        assert_eq!(c.len(), 49);
        c.check(&key(999), t(100));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn radius_dedup_bounded() {
        let mut c = DuplicateCache::new(64, Duration::seconds(30));
        for n in 0..10_000u32 {
            let now = t(0);
            assert_eq!(c.check(&key(n), now), Lookup::New);
            c.store(key(n), n.to_be_bytes().to_vec(), now);
            assert!(c.len() <= 64);
            assert!(c.order.len() <= 2 * 64 + 1);
        }
        // The newest 64 survive, the oldest were evicted.
        assert_eq!(
            c.check(&key(9_999), t(1)),
            Lookup::Duplicate(9_999u32.to_be_bytes().to_vec())
        );
        assert_eq!(c.check(&key(0), t(1)), Lookup::New);
        assert_eq!(DuplicateCache::new(0, DEFAULT_LIFETIME).capacity(), 1);
    }

    #[test]
    fn radius_dedup_key_from_packet() {
        let p = Packet {
            code: crate::radius::packet::Code::AccessRequest,
            identifier: 7,
            authenticator: [9; 16],
            attributes: Vec::new(),
        };
        assert_eq!(
            DedupKey::for_request("h:1", &p),
            DedupKey::new("h:1", 7, [9; 16])
        );
    }
}
