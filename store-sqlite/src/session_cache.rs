//! Recently active visitors' sessions, as last committed, so that ingest folds new events into
//! them without reading them back from the file.
//!
//! Reading a visitor's sessions (an index look-up, then decoding ~37 columns and the `applied`
//! digests) was a fifth of an ingest batch's time; most events belong to visitors seen in the
//! last minutes, whose sessions this process wrote itself.
//!
//! Correctness rests on three rules, all enforced by the writer connection's lock:
//! * an entry is a visitor's **complete** set of stored sessions (never a window of it), so any
//!   window can be answered by filtering;
//! * ingest takes an entry out before folding and puts the new set back only **after its
//!   transaction committed**: a rolled-back batch leaves no trace here;
//! * the cache is emptied when anything else may have changed sessions: another connection's
//!   commit (`PRAGMA data_version` moved: a second process on the file, a repair by hand) or this
//!   store's own retention sweep; deleting a project drops that project's visitors.

use std::collections::HashMap;
use std::mem::size_of;

use contract::enrich::VisitorId;
use contract::ids::ProjectId;
use store::sessions::Session;

/// Upper bound on the memory the cache holds (estimated from the sessions' sizes). Past it, the
/// least recently used visitors are dropped until a quarter of it is free. A visitor takes 1 to
/// 2.5 KiB (the ingest bench's, with ~40 events a day, take 2.5), so 64 MiB holds the 25,000 to
/// 60,000 visitors last active: those of the last half hour on a busy site. A visitor that fell
/// out is read back from the file, as before the cache.
pub const SESSION_CACHE_MAX_BYTES: usize = 64 << 20;

pub(crate) type VisitorKey = (ProjectId, VisitorId);

#[derive(Default)]
pub(crate) struct SessionCache {
    /// The writer connection's `PRAGMA data_version` when the entries were last known valid.
    data_version: Option<i64>,
    visitors: HashMap<VisitorKey, Entry>,
    bytes: usize,
    /// Advances on every use; an entry remembers when it was last used.
    clock: u64,
    hits: u64,
    misses: u64,
}

struct Entry {
    sessions: Vec<Session>,
    bytes: usize,
    used: u64,
}

/// Hit and miss counts, for the bench and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionCacheStats {
    pub hits: u64,
    pub misses: u64,
    pub visitors: usize,
    pub bytes: usize,
}

impl SessionCache {
    /// Called inside each ingest transaction, after its write lock is held: no other connection
    /// can commit until it ends, so a version equal to the last one seen means nobody else wrote.
    pub(crate) fn validate(&mut self, data_version: i64) {
        if self.data_version != Some(data_version) {
            self.clear();
            self.data_version = Some(data_version);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.visitors.clear();
        self.bytes = 0;
    }

    /// Drops every visitor of `project`, whose sessions were just deleted.
    pub(crate) fn forget_project(&mut self, project: &ProjectId) {
        let mut freed = 0;
        self.visitors.retain(|(p, _), entry| {
            let keep = p != project;
            if !keep {
                freed += entry.bytes;
            }
            keep
        });
        self.bytes -= freed;
    }

    /// Takes the visitor's complete set of sessions out, if cached.
    pub(crate) fn take(&mut self, key: &VisitorKey) -> Option<Vec<Session>> {
        match self.visitors.remove(key) {
            Some(entry) => {
                self.hits += 1;
                self.bytes -= entry.bytes;
                Some(entry.sessions)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Puts back a visitor's complete set of sessions, as committed.
    pub(crate) fn put(&mut self, key: VisitorKey, sessions: Vec<Session>) {
        self.clock += 1;
        let bytes = size_of::<(VisitorKey, Entry)>() + sessions.iter().map(session_bytes).sum::<usize>();
        let entry = Entry {
            sessions,
            bytes,
            used: self.clock,
        };
        self.bytes += bytes;
        if let Some(old) = self.visitors.insert(key, entry) {
            self.bytes -= old.bytes;
        }
        if self.bytes > SESSION_CACHE_MAX_BYTES {
            self.evict(SESSION_CACHE_MAX_BYTES / 4 * 3);
        }
    }

    /// Drops the least recently used visitors until at most `target` bytes are held.
    fn evict(&mut self, target: usize) {
        let mut by_age: Vec<(u64, VisitorKey)> = self.visitors.iter().map(|(k, e)| (e.used, *k)).collect();
        by_age.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in by_age {
            if self.bytes <= target {
                break;
            }
            if let Some(old) = self.visitors.remove(&key) {
                self.bytes -= old.bytes;
            }
        }
    }

    pub(crate) fn stats(&self) -> SessionCacheStats {
        SessionCacheStats {
            hits: self.hits,
            misses: self.misses,
            visitors: self.visitors.len(),
            bytes: self.bytes,
        }
    }
}

/// What one session holds on the heap and inline, roughly: its strings and digests.
fn session_bytes(s: &Session) -> usize {
    let strings = [
        Some(&s.id),
        Some(&s.entry_page),
        Some(&s.entry_key.id),
        Some(&s.exit_page),
        Some(&s.exit_key.id),
        Some(&s.hostname),
        s.referrer.as_ref(),
        s.source.as_ref(),
        s.utm.source.as_ref(),
        s.utm.medium.as_ref(),
        s.utm.campaign.as_ref(),
        s.utm.term.as_ref(),
        s.utm.content.as_ref(),
        Some(&s.client.browser),
        Some(&s.client.browser_version),
        Some(&s.client.os),
        Some(&s.client.os_version),
        s.geo.country.as_ref(),
        s.geo.region.as_ref(),
        s.geo.city.as_ref(),
        s.geo.timezone.as_ref(),
        s.geo.colo.as_ref(),
    ];
    size_of::<Session>() + strings.iter().flatten().map(|s| s.capacity()).sum::<usize>() + s.applied.capacity() * 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::sessions::testing::event;

    fn key(v: u64) -> VisitorKey {
        (ProjectId::from_bytes([1; 12]), VisitorId(v))
    }

    fn sessions_of(v: u64) -> Vec<Session> {
        let e = event(key(v).0, v, &format!("e{v}"), "pageview", 1_000, "/");
        store::sessions::fold(Vec::new(), &[&e], &mut || format!("{v:024x}")).sessions
    }

    #[test]
    fn a_taken_entry_is_gone_until_put_back() {
        let mut c = SessionCache::default();
        c.validate(1);
        assert!(c.take(&key(1)).is_none());
        c.put(key(1), sessions_of(1));
        let bytes = c.stats().bytes;
        assert!(bytes > size_of::<Session>());
        let taken = c.take(&key(1)).expect("cached");
        assert_eq!(taken, sessions_of(1));
        // Taken out: a batch that then fails leaves the visitor uncached, not stale.
        assert!(c.take(&key(1)).is_none());
        assert_eq!(
            c.stats(),
            SessionCacheStats {
                hits: 1,
                misses: 2,
                visitors: 0,
                bytes: 0
            }
        );
    }

    #[test]
    fn forgetting_a_project_drops_only_its_visitors() {
        let mut c = SessionCache::default();
        c.validate(1);
        let other = ProjectId::from_bytes([2; 12]);
        c.put(key(1), sessions_of(1));
        c.put(key(2), sessions_of(2));
        c.put((other, VisitorId(1)), sessions_of(1));
        let one = c.stats().bytes / 3;
        c.forget_project(&key(1).0);
        assert_eq!((c.stats().visitors, c.stats().bytes), (1, one));
        assert!(c.take(&key(1)).is_none());
        assert!(c.take(&(other, VisitorId(1))).is_some());
    }

    #[test]
    fn another_connections_commit_empties_it() {
        let mut c = SessionCache::default();
        c.validate(7);
        c.put(key(1), sessions_of(1));
        c.validate(7);
        assert!(c.take(&key(1)).is_some());
        c.put(key(1), sessions_of(1));
        c.validate(8);
        assert!(c.take(&key(1)).is_none());
        assert_eq!(c.stats().bytes, 0);
    }

    #[test]
    fn the_least_recently_used_go_first_past_the_budget() {
        let mut c = SessionCache::default();
        c.validate(1);
        let one = {
            c.put(key(0), sessions_of(0));
            c.stats().bytes
        };
        // Fill to just under the budget: nothing is evicted.
        let mut v = 1;
        while c.stats().bytes + 2 * one < SESSION_CACHE_MAX_BYTES {
            c.put(key(v), sessions_of(v));
            v += 1;
        }
        assert_eq!(c.stats().visitors as u64, v);
        // Visitor 0 is used again: the oldest is now visitor 1.
        let s = c.take(&key(0)).unwrap();
        c.put(key(0), s);
        c.put(key(u64::MAX), sessions_of(u64::MAX));
        c.put(key(u64::MAX - 1), sessions_of(u64::MAX - 1));
        let stats = c.stats();
        assert!(stats.bytes <= SESSION_CACHE_MAX_BYTES / 4 * 3, "{stats:?}");
        assert!(c.take(&key(1)).is_none());
        assert!(c.take(&key(0)).is_some());
        assert!(c.take(&key(u64::MAX)).is_some());
    }
}
