//! Fixed-window failure counts, the one limiter behind every "too many
//! failures" answer: failed token requests (per client address, and per
//! client_id from one address) and failed sign-ins (per client address).
//!
//! Only failures count, and memory is bounded: at most `capacity` keys are
//! tracked, the oldest windows forgotten first.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// Fixed-window failure counts for keys of type `K`.
#[derive(Debug)]
pub struct FailureLimiter<K> {
    max_failures: u32,
    window_seconds: i64,
    capacity: usize,
    windows: Mutex<HashMap<K, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: i64,
    failures: u32,
}

impl<K: Hash + Eq + Copy> FailureLimiter<K> {
    /// At most `max_failures` failures per key in each `window_seconds`
    /// (0 failures disables the limit); at most `capacity` keys tracked.
    pub fn new(max_failures: u32, window_seconds: u64, capacity: usize) -> Self {
        Self {
            max_failures,
            window_seconds: i64::try_from(window_seconds.max(1)).unwrap_or(i64::MAX),
            capacity,
            windows: Mutex::default(),
        }
    }

    /// `Some(seconds to wait)` when `key` has used up its failures at `now`
    /// (unix seconds).
    pub fn retry_after(&self, key: K, now: i64) -> Option<u64> {
        if self.max_failures == 0 {
            return None;
        }
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.get(&key)?;
        let ends = window.started.saturating_add(self.window_seconds);
        (window.failures >= self.max_failures && now < ends)
            .then(|| u64::try_from(ends - now).unwrap_or(1).max(1))
    }

    /// Counts a failure of `key` at `now`.
    pub fn record_failure(&self, key: K, now: i64) {
        if self.max_failures == 0 {
            return;
        }
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= self.capacity && !windows.contains_key(&key) {
            let horizon = now - self.window_seconds;
            windows.retain(|_, w| w.started > horizon);
            if windows.len() >= self.capacity {
                // Still full of live windows: forget one rather than grow.
                let victim = windows.keys().next().copied();
                if let Some(victim) = victim {
                    windows.remove(&victim);
                }
            }
        }
        let window = windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= window.started.saturating_add(self.window_seconds) {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_limited_after_its_failures_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, 60, 100);
        for _ in 0..2 {
            limiter.record_failure(1, 1_000);
        }
        assert_eq!(limiter.retry_after(1, 1_000), None);
        limiter.record_failure(1, 1_010);
        assert_eq!(limiter.retry_after(1, 1_010), Some(50));
        assert_eq!(limiter.retry_after(2, 1_010), None);
        assert_eq!(limiter.retry_after(1, 1_060), None);
        limiter.record_failure(1, 1_060);
        assert_eq!(limiter.retry_after(1, 1_060), None);
    }

    #[test]
    fn zero_failures_means_no_limit() {
        let limiter = FailureLimiter::new(0, 60, 100);
        for _ in 0..100 {
            limiter.record_failure(1, 0);
        }
        assert_eq!(limiter.retry_after(1, 0), None);
    }

    #[test]
    fn tracked_keys_stay_within_capacity() {
        let limiter = FailureLimiter::new(3, 60, 10);
        for key in 0..1_000 {
            limiter.record_failure(key, 0);
        }
        assert!(limiter.windows.lock().unwrap().len() <= 10);
    }
}
