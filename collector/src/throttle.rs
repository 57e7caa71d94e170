//! Throttling of password guesses and sign-ups, in memory and bounded.
//!
//! Each [`Limiter`] counts attempts per key (an account's email, a share link, a client address)
//! in fixed windows: a key that has used its allowance waits for its window to end (a 429 with
//! `Retry-After`). The map of keys is bounded ([`MAX_TRACKED_KEYS`]): when it is full, expired
//! windows are dropped, then the oldest window. Filling it with live windows takes that many
//! distinct keys within one window, which the per-client limits make take thousands of
//! addresses. The counts are per collector process (several collectors each allow the limit).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins per account (by email, known or not) per [`LOGIN_WINDOW`]. Ten mistakes are
/// more than a person makes; a guesser gets 40 guesses an hour. Anyone can use up an account's
/// allowance (the price of stopping distributed guessing): its owner then waits out the window.
pub const LOGIN_FAILURES_PER_ACCOUNT: u32 = 10;
/// Failed password checks (logins and share-link unlocks, any account or link) per client address
/// per [`LOGIN_WINDOW`]: one address trying many accounts.
pub const PASSWORD_FAILURES_PER_CLIENT: u32 = 30;
/// Failed unlocks of one share link per [`LOGIN_WINDOW`], from anywhere.
pub const UNLOCK_FAILURES_PER_LINK: u32 = 20;
/// The window of the password-guess limits.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Sign-up attempts per client address per [`SIGNUP_WINDOW`] (each one hashes a password, and an
/// open sign-up must not become an account factory).
pub const SIGNUPS_PER_CLIENT: u32 = 10;
/// The window of the sign-up limit.
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(3600);
/// Keys each limiter remembers at most (about 100 bytes each: a few MB per limiter).
pub const MAX_TRACKED_KEYS: usize = 65_536;
/// IPv6 clients are counted by their /64 (one subscriber's network), which they can fill with
/// addresses at will.
const IPV6_CLIENT_PREFIX_BITS: u32 = 64;

/// Attempts in the current window of one key.
#[derive(Clone, Copy, Debug)]
struct Window {
    started: Instant,
    attempts: u32,
}

/// Counts attempts per key in fixed windows; at most `capacity` keys.
#[derive(Debug)]
pub struct Limiter {
    limit: u32,
    window: Duration,
    capacity: usize,
    windows: Mutex<HashMap<String, Window>>,
}

impl Limiter {
    pub fn new(limit: u32, window: Duration, capacity: usize) -> Self {
        Self {
            limit,
            window,
            capacity: capacity.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for `key`, or refuses it with the time left until its window ends when
    /// the key has used its allowance.
    pub fn acquire(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = windows.get_mut(key) {
            let ends = w.started + self.window;
            if now >= ends {
                *w = Window {
                    started: now,
                    attempts: 1,
                };
                return Ok(());
            }
            if w.attempts >= self.limit {
                return Err(ends - now);
            }
            w.attempts += 1;
            return Ok(());
        }
        if windows.len() >= self.capacity {
            self.make_room(&mut windows, now);
        }
        windows.insert(
            key.to_owned(),
            Window {
                started: now,
                attempts: 1,
            },
        );
        Ok(())
    }

    /// Gives back an attempt that turned out not to count (a login that succeeded).
    pub fn refund(&self, key: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = windows.get_mut(key) {
            w.attempts = w.attempts.saturating_sub(1);
        }
    }

    /// Forgets `key` (its owner proved who they are).
    pub fn reset(&self, key: &str) {
        self.windows.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// Keys remembered now.
    pub fn tracked(&self) -> usize {
        self.windows.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn make_room(&self, windows: &mut HashMap<String, Window>, now: Instant) {
        windows.retain(|_, w| now < w.started + self.window);
        while windows.len() >= self.capacity {
            let Some(oldest) = windows.iter().min_by_key(|(_, w)| w.started).map(|(k, _)| k.clone()) else {
                break;
            };
            windows.remove(&oldest);
        }
    }
}

/// The limiters of a collector.
#[derive(Debug)]
pub struct Throttles {
    pub login_failures_by_account: Limiter,
    pub password_failures_by_client: Limiter,
    pub unlock_failures_by_link: Limiter,
    pub signups_by_client: Limiter,
}

impl Default for Throttles {
    fn default() -> Self {
        Self {
            login_failures_by_account: Limiter::new(LOGIN_FAILURES_PER_ACCOUNT, LOGIN_WINDOW, MAX_TRACKED_KEYS),
            password_failures_by_client: Limiter::new(PASSWORD_FAILURES_PER_CLIENT, LOGIN_WINDOW, MAX_TRACKED_KEYS),
            unlock_failures_by_link: Limiter::new(UNLOCK_FAILURES_PER_LINK, LOGIN_WINDOW, MAX_TRACKED_KEYS),
            signups_by_client: Limiter::new(SIGNUPS_PER_CLIENT, SIGNUP_WINDOW, MAX_TRACKED_KEYS),
        }
    }
}

/// A password check that may go ahead: one attempt is counted against the client and the target
/// (account or link) until [`Guess::succeeded`] gives the client's back and clears the target.
pub struct Guess<'a> {
    client: (&'a Limiter, String),
    target: Option<(&'a Limiter, String)>,
}

impl<'a> Guess<'a> {
    /// Counts a password check by `client` against `target`, or refuses it with the wait.
    pub fn start(
        client: (&'a Limiter, String),
        target: Option<(&'a Limiter, String)>,
        now: Instant,
    ) -> Result<Self, Duration> {
        client.0.acquire(&client.1, now)?;
        if let Some((limiter, key)) = &target {
            if let Err(wait) = limiter.acquire(key, now) {
                client.0.refund(&client.1);
                return Err(wait);
            }
        }
        Ok(Self { client, target })
    }

    /// The check could not be made (the store failed): nothing is counted.
    pub fn cancel(self) {
        self.client.0.refund(&self.client.1);
        if let Some((limiter, key)) = self.target {
            limiter.refund(&key);
        }
    }

    /// The password was right: the attempt was no guess.
    pub fn succeeded(self) {
        self.client.0.refund(&self.client.1);
        if let Some((limiter, key)) = self.target {
            limiter.reset(&key);
        }
    }
}

/// The key a client address is counted under: the address, or an IPv6 address's /64. Text that
/// is no address (a proxy header's junk) is counted as it is.
pub fn client_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            let bits = u128::from(v6) & (u128::MAX << (128 - IPV6_CLIENT_PREFIX_BITS));
            format!("{}/{IPV6_CLIENT_PREFIX_BITS}", std::net::Ipv6Addr::from(bits))
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// Whole seconds to announce in `Retry-After` for a wait (rounded up, at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_key_gets_its_allowance_per_window() {
        let limiter = Limiter::new(3, MIN, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.acquire("a", t0).is_ok());
        }
        assert_eq!(
            limiter.acquire("a", t0 + Duration::from_secs(20)),
            Err(Duration::from_secs(40))
        );
        assert!(limiter.acquire("b", t0).is_ok(), "other keys are counted apart");
        assert!(limiter.acquire("a", t0 + MIN).is_ok(), "a new window");
        limiter.refund("a");
        limiter.refund("a");
        assert!(limiter.acquire("a", t0 + MIN).is_ok());
        limiter.reset("a");
        for _ in 0..3 {
            assert!(limiter.acquire("a", t0 + MIN).is_ok());
        }
        assert!(limiter.acquire("a", t0 + MIN).is_err());
    }

    #[test]
    fn memory_is_bounded_by_dropping_expired_then_oldest_windows() {
        let limiter = Limiter::new(1, MIN, 4);
        let t0 = Instant::now();
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            limiter.acquire(key, t0 + Duration::from_secs(i as u64)).unwrap();
        }
        assert_eq!(limiter.tracked(), 4);
        // Full of live windows: the oldest ("a") goes.
        limiter.acquire("e", t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(limiter.tracked(), 4);
        assert!(
            limiter.acquire("b", t0 + Duration::from_secs(10)).is_err(),
            "b is remembered"
        );
        assert!(
            limiter.acquire("a", t0 + Duration::from_secs(11)).is_ok(),
            "a was forgotten"
        );
        // Later, every window but the newest has expired: they all go at once.
        let later = t0 + MIN + Duration::from_secs(10);
        for i in 0..1000 {
            limiter
                .acquire(&format!("k{i}"), later + Duration::from_millis(i))
                .unwrap();
            assert!(limiter.tracked() <= 4);
        }
    }

    #[test]
    fn a_guess_counts_against_client_and_target_and_success_gives_it_back() {
        let clients = Limiter::new(2, MIN, 100);
        let accounts = Limiter::new(5, MIN, 100);
        let now = Instant::now();
        let guess =
            |account: &str| Guess::start((&clients, "1.2.3.4".into()), Some((&accounts, account.to_owned())), now);
        guess("x").unwrap().succeeded();
        guess("x").unwrap();
        guess("y").unwrap();
        assert!(guess("z").is_err(), "the client has used its two failures");
        // The refused guess did not count against "z".
        for _ in 0..5 {
            accounts.acquire("z", now).unwrap();
        }
    }

    #[test]
    fn clients_are_keyed_by_address_and_ipv6_by_its_64() {
        assert_eq!(client_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(client_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:bbbb::7"), client_key("2001:db8:1:2:aaaa::1"));
        assert_ne!(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
        assert_eq!(client_key("junk"), "junk");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
