//! Fixed-window failure counters: key verification and anonymous sign-in failures.
use std::collections::HashMap;
use std::sync::Mutex;

/// Counts failures per key in fixed windows. Bounded: past `MAX_TRACKED` keys, new keys are
/// not tracked until old windows expire (a flood of addresses cannot exhaust memory).
pub struct FailureLimiter<K> {
    max: u32,
    window_ms: i64,
    windows: Mutex<HashMap<K, (i64, u32)>>,
}

const MAX_TRACKED: usize = 100_000;

impl<K: std::hash::Hash + Eq> FailureLimiter<K> {
    pub fn new(max: u32, window_ms: i64) -> Self {
        FailureLimiter {
            max,
            window_ms,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_limited(&self, key: &K, now: i64) -> bool {
        let Ok(w) = self.windows.lock() else {
            return false;
        };
        w.get(key)
            .is_some_and(|(start, n)| now - start < self.window_ms && *n >= self.max)
    }

    pub fn fail(&self, key: K, now: i64) {
        if let Ok(mut w) = self.windows.lock() {
            if w.len() >= MAX_TRACKED && !w.contains_key(&key) {
                w.retain(|_, (start, _)| now - *start < self.window_ms);
                if w.len() >= MAX_TRACKED {
                    return;
                }
            }
            let e = w.entry(key).or_insert((now, 0));
            if now - e.0 >= self.window_ms {
                *e = (now, 0);
            }
            e.1 += 1;
        }
    }

    pub fn forget_old(&self, now: i64) {
        if let Ok(mut w) = self.windows.lock() {
            w.retain(|_, (start, _)| now - *start < self.window_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn limiter_counts_per_ip_and_window() {
        let l = FailureLimiter::new(3, 60_000);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(!l.is_limited(&a, 1000));
            l.fail(a, 1000);
        }
        assert!(l.is_limited(&a, 1000));
        assert!(!l.is_limited(&b, 1000));
        assert!(
            !l.is_limited(&a, 61_001),
            "a new window starts after a minute"
        );
    }
}
