//! Per-key and per-IP rate limits: token buckets in the isolate's memory.
//!
//! Each bucket holds up to `per_minute` tokens and refills at `per_minute` a minute; a request
//! takes one. They are per isolate (Cloudflare runs several per data centre), which is what makes
//! them free and instant: they stop a single client hammering one edge location. The limits are
//! [`crate::config::DEFAULT_IP_PER_MINUTE`] and [`crate::config::DEFAULT_KEY_PER_MINUTE`]
//! (vars `RATE_LIMIT_IP_PER_MINUTE`, `RATE_LIMIT_KEY_PER_MINUTE`). The IP limit is checked before
//! the key is looked up, so floods of random keys cannot reach the collector faster than it.

use std::collections::HashMap;

/// Most buckets kept per limiter; past it, full buckets are dropped (they carry no state).
pub const MAX_BUCKETS: usize = 50_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: HashMap<String, (f64, i64)>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `who` at `now_ms`; `Err(seconds)` until one is available.
    pub fn check(&mut self, who: &str, now_ms: i64) -> Result<(), u32> {
        let rate_per_ms = self.per_minute / 60_000.0;
        if self.buckets.len() >= MAX_BUCKETS && !self.buckets.contains_key(who) {
            let capacity = self.per_minute;
            self.buckets
                .retain(|_, (tokens, last)| *tokens + (now_ms - *last).max(0) as f64 * rate_per_ms < capacity);
            if self.buckets.len() >= MAX_BUCKETS {
                self.buckets.clear();
            }
        }
        let (tokens, last) = self.buckets.entry(who.to_owned()).or_insert((self.per_minute, now_ms));
        let elapsed = (now_ms - *last).max(0) as f64;
        *tokens = (*tokens + elapsed * rate_per_ms).min(self.per_minute);
        *last = now_ms.max(*last);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait_ms = (1.0 - *tokens) / rate_per_ms;
            Err((wait_ms / 1000.0).ceil() as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refills() {
        let mut limiter = RateLimiter::new(3);
        assert!(limiter.check("ip", 0).is_ok());
        assert!(limiter.check("ip", 0).is_ok());
        assert!(limiter.check("ip", 0).is_ok());
        assert_eq!(limiter.check("ip", 0), Err(20));
        assert!(limiter.check("other", 0).is_ok());
        assert!(limiter.check("ip", 20_000).is_ok());
        assert!(limiter.check("ip", 20_000).is_err());
    }

    #[test]
    fn memory_is_bounded() {
        let mut limiter = RateLimiter::new(1);
        for i in 0..MAX_BUCKETS + 10 {
            let _ = limiter.check(&i.to_string(), 0);
        }
        assert!(limiter.buckets.len() <= MAX_BUCKETS);
    }
}
