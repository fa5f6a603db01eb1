//! The server's clock: the system time plus an offset that only tests can move.

use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// Wall clock handed to the core as `now`.
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// The current time (system time plus any test offset).
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// UNIX seconds of [`Clock::now`].
    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Moves the clock forward (`serve --test-clock` only).
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
