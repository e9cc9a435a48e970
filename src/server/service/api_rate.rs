//! The management API's request limit per token: a fixed window of one minute. Simple and
//! enough to stop a runaway script; each instance counts its own requests, so behind a load
//! balancer the effective limit is the per-instance limit times the instances a token reaches.
use std::collections::HashMap;
use std::sync::Mutex;

const WINDOW_MS: i64 = 60_000;
/// Tokens tracked at most; older windows are dropped first.
const MAX_ENTRIES: usize = 100_000;

/// Where a token stands in the current window, for the `RateLimit` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateState {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
}

pub struct ApiRateLimiter {
    limit: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl ApiRateLimiter {
    pub fn new(limit: u32) -> ApiRateLimiter {
        ApiRateLimiter {
            limit: limit.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts one request of `key` at `now_ms` and says whether it may go on.
    pub fn check(&self, key: &str, now_ms: i64) -> RateState {
        let start = now_ms - now_ms.rem_euclid(WINDOW_MS);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_ENTRIES && !windows.contains_key(key) {
            windows.retain(|_, (s, _)| *s == start);
            if windows.len() >= MAX_ENTRIES {
                windows.clear();
            }
        }
        let entry = windows.entry(key.to_string()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        RateState {
            allowed,
            limit: self.limit,
            remaining: self.limit - entry.1,
            reset_secs: ((start + WINDOW_MS - now_ms + 999) / 1000).max(1) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_its_limit_per_minute_and_others_are_not_affected() {
        let limiter = ApiRateLimiter::new(3);
        let t = 120_000 + 1_500;
        for left in [2, 1, 0] {
            let s = limiter.check("a", t);
            assert!(s.allowed);
            assert_eq!(s.remaining, left);
        }
        let refused = limiter.check("a", t + 10);
        assert!(!refused.allowed);
        assert_eq!(refused.reset_secs, 59);
        assert!(
            limiter.check("b", t).allowed,
            "another token has its own window"
        );
        assert!(
            limiter.check("a", 180_000).allowed,
            "the next minute starts afresh"
        );
    }
}
