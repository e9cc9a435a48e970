//! The time session rules are judged by. Tests move it forward instead of sleeping through
//! timeouts; in production it is the system clock (the offset stays zero).
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Unix seconds now.
    pub fn now_secs(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Unix milliseconds now.
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.offset_secs.load(Ordering::Relaxed) * 1000
    }

    /// Moves this instance's clock forward (tests only).
    pub fn advance(&self, by: Duration) {
        self.offset_secs
            .fetch_add(by.as_secs() as i64, Ordering::Relaxed);
    }
}
