//! The rollup cache: rollup rows read from the database, kept in memory per (project,
//! granularity, dimension, bucket) and served again while the bucket's revision is unchanged.
//!
//! Why: a MongoDB-wire server spends tens of microseconds per document it reads (SecantusDB on
//! this project's 2-core machines: ~25 µs), and a 30-day dashboard reads tens of thousands of
//! rollup rows (a `page` top list alone ranks ~26k row summaries). Rollups of closed hours and
//! days change only when the rollup worker rebuilds them, so a dashboard opened again would read
//! the same rows again: the seeds' "cache heavy queries, replace stale entries when events land".
//!
//! Validity rests on `rollup_revs`, one document per (project, granularity, bucket) holding a
//! random revision:
//! * every rebuild of a bucket ([`crate::MongoStore`]'s `replace_rollups`) writes the bucket's
//!   rows, *then* sets a fresh revision;
//! * a read takes its buckets' revisions *first*, then reads the rows of the buckets whose cached
//!   revision differs, and caches them under the revision it read.
//!
//! So rows cached under a revision are at least as new as the rebuild that set it. A rebuild
//! landing between a read's two steps leaves the rows it wrote cached under the older revision,
//! which the next read finds replaced. Another collector's rebuilds are seen the same way: the
//! revisions live in the database, nothing is broadcast between processes.
//!
//! A bucket without a revision (rows written before revisions existed, or a bucket never built)
//! is read through and given one with `$setOnInsert`, which never overwrites a rebuild's, so the
//! next read can cache it.
//!
//! A read of many buckets (a heatmap reads 720 hours) would still read as many revisions. So each
//! project also has a revision, set anew after every bucket's: a read takes it first, and when
//! it is the one under which the span's bucket revisions were read before, those are reused
//! without reading them again. Ordered as the bucket revisions are, the same argument holds.
//!
//! Memory is bounded by [`ROLLUP_CACHE_MAX_BYTES`]: past it, the least recently used buckets are
//! dropped until a quarter of the budget is free again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use contract::ids::ProjectId;
use store::analytics::rollup::{Granularity, RollupSummary, StoredRollup};
use store::Millis;

/// Memory the rollup cache may hold, in bytes (an estimate: sketches, values and a fixed cost per
/// row). 256 MiB holds the rows of ~16k hourly buckets of `total` (16 KiB sketches each), or a
/// year of daily summaries of a site with 500 pages.
pub const ROLLUP_CACHE_MAX_BYTES: usize = 256 << 20;

/// Estimated bytes per cached row beyond its sketch and value (counters, bucket, allocations).
const ROW_OVERHEAD_BYTES: usize = 160;

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct BucketKey {
    pub project: ProjectId,
    pub granularity: Granularity,
    /// The dimension's key ([`store::analytics::rollup::RollupDim::key`]).
    pub dim: String,
    pub bucket: Millis,
}

/// What is cached of one bucket's rows of one dimension, all read under one revision.
#[derive(Default)]
struct Entry {
    rev: i64,
    last_used: u64,
    bytes: usize,
    /// Every row, when they were all read.
    rows: Option<Arc<Vec<StoredRollup>>>,
    /// Every row's summary, when they were all read without sketches.
    summaries: Option<Arc<Vec<RollupSummary>>>,
    /// Rows looked up by value; `None` when the bucket has no row with that value.
    values: HashMap<String, Option<StoredRollup>>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<BucketKey, Entry>,
    bytes: usize,
    clock: u64,
    spans: HashMap<SpanKey, (i64, Arc<HashMap<Millis, i64>>)>,
}

/// A span of buckets read at once: (project, granularity, from, to).
pub(crate) type SpanKey = (ProjectId, Granularity, Millis, Millis);

/// Spans whose bucket revisions are remembered (a few per dashboard query; more are dropped all
/// at once, to be read again).
pub const MAX_REMEMBERED_SPANS: usize = 4096;

/// Hits and misses since the store connected, counted per bucket read.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RollupCacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Bytes held now (an estimate, see [`ROLLUP_CACHE_MAX_BYTES`]).
    pub bytes: usize,
}

pub(crate) struct RollupCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for RollupCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollupCache").field("stats", &self.stats()).finish()
    }
}

fn row_bytes(r: &StoredRollup) -> usize {
    ROW_OVERHEAD_BYTES + r.row.value.len() + r.row.visitors.heap_bytes()
}

fn summary_bytes(s: &RollupSummary) -> usize {
    ROW_OVERHEAD_BYTES + s.value.len()
}

impl RollupCache {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> RollupCacheStats {
        RollupCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.lock().bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a wrong byte count: keep serving.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `f` on the entry of `key` if it was read under `rev`, marking it used.
    fn with_entry<T>(&self, key: &BucketKey, rev: i64, f: impl FnOnce(&Entry) -> Option<T>) -> Option<T> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(key).filter(|e| e.rev == rev)?;
        entry.last_used = now;
        f(entry)
    }

    /// The bucket revisions of a span, if read while the project's revision was `project_rev`.
    pub fn span_revs(&self, span: &SpanKey, project_rev: i64) -> Option<Arc<HashMap<Millis, i64>>> {
        let inner = self.lock();
        let (rev, revs) = inner.spans.get(span)?;
        (*rev == project_rev).then(|| revs.clone())
    }

    /// Remembers the bucket revisions of a span, read while the project's revision was
    /// `project_rev` (read before them).
    pub fn put_span_revs(&self, span: SpanKey, project_rev: i64, revs: Arc<HashMap<Millis, i64>>) {
        let mut inner = self.lock();
        if inner.spans.len() >= MAX_REMEMBERED_SPANS {
            inner.spans.clear();
        }
        inner.spans.insert(span, (project_rev, revs));
    }

    /// Drops everything cached of `project`: it was deleted, with its rows and revisions.
    pub fn forget_project(&self, project: &ProjectId) {
        let mut inner = self.lock();
        let mut freed = 0;
        inner.entries.retain(|key, entry| {
            let keep = key.project != *project;
            if !keep {
                freed += entry.bytes;
            }
            keep
        });
        inner.bytes -= freed;
        inner.spans.retain(|(p, ..), _| p != project);
    }

    /// Every row of the bucket, if cached under `rev`.
    pub fn rows(&self, key: &BucketKey, rev: i64) -> Option<Arc<Vec<StoredRollup>>> {
        let found = self.with_entry(key, rev, |e| e.rows.clone());
        self.count(found.is_some());
        found
    }

    /// Every row's summary, if cached under `rev` (or every row, which says as much).
    pub fn summaries(&self, key: &BucketKey, rev: i64) -> Option<Vec<RollupSummary>> {
        let found = self.with_entry(key, rev, |e| match (&e.summaries, &e.rows) {
            (Some(s), _) => Some(s.as_ref().clone()),
            (None, Some(rows)) => Some(rows.iter().map(RollupSummary::of).collect()),
            (None, None) => None,
        });
        self.count(found.is_some());
        found
    }

    /// The rows of `values` cached under `rev`, and the values not known to the cache.
    pub fn values(&self, key: &BucketKey, rev: i64, values: &[String]) -> (Vec<StoredRollup>, Vec<String>) {
        let found = self.with_entry(key, rev, |e| {
            if let Some(rows) = &e.rows {
                let rows = rows.iter().filter(|r| values.contains(&r.row.value)).cloned().collect();
                return Some((rows, Vec::new()));
            }
            let mut rows = Vec::new();
            let mut unknown = Vec::new();
            for v in values {
                match e.values.get(v) {
                    Some(Some(row)) => rows.push(row.clone()),
                    Some(None) => {}
                    None => unknown.push(v.clone()),
                }
            }
            Some((rows, unknown))
        });
        let (rows, unknown) = found.unwrap_or_else(|| (Vec::new(), values.to_vec()));
        self.count(unknown.is_empty());
        (rows, unknown)
    }

    /// Applies `f` to the entry of `key` for `rev` (replacing an entry of another revision), then
    /// evicts if over budget.
    fn update(&self, key: BucketKey, rev: i64, f: impl FnOnce(&mut Entry)) {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.entry(key).or_default();
        let before = entry.bytes;
        if entry.rev != rev {
            *entry = Entry {
                rev,
                ..Entry::default()
            };
        }
        entry.last_used = now;
        f(entry);
        entry.bytes = entry_bytes(entry);
        let after = entry.bytes;
        inner.bytes = inner.bytes - before + after;
        if inner.bytes > self.max_bytes {
            evict(&mut inner, self.max_bytes - self.max_bytes / 4);
        }
    }

    /// Caches every row of the bucket (`rows` may be empty: the bucket has none).
    pub fn put_rows(&self, key: BucketKey, rev: i64, rows: Vec<StoredRollup>) {
        self.update(key, rev, |e| {
            // Whole rows make the partial views redundant.
            e.summaries = None;
            e.values.clear();
            e.rows = Some(Arc::new(rows));
        });
    }

    /// Caches every row's summary of the bucket.
    pub fn put_summaries(&self, key: BucketKey, rev: i64, summaries: Vec<RollupSummary>) {
        self.update(key, rev, |e| {
            if e.rows.is_none() {
                e.summaries = Some(Arc::new(summaries));
            }
        });
    }

    /// Caches the rows found for `asked` values (those not found have no row in the bucket).
    pub fn put_values(&self, key: BucketKey, rev: i64, asked: &[String], found: Vec<StoredRollup>) {
        self.update(key, rev, |e| {
            if e.rows.is_some() {
                return;
            }
            for v in asked {
                e.values.entry(v.clone()).or_insert(None);
            }
            for r in found {
                e.values.insert(r.row.value.clone(), Some(r));
            }
        });
    }
}

fn entry_bytes(e: &Entry) -> usize {
    let rows = e.rows.as_ref().map_or(0, |rows| rows.iter().map(row_bytes).sum());
    let summaries = e.summaries.as_ref().map_or(0, |s| s.iter().map(summary_bytes).sum());
    let values: usize = e
        .values
        .iter()
        .map(|(v, r)| v.len() + r.as_ref().map_or(ROW_OVERHEAD_BYTES, row_bytes))
        .sum();
    rows + summaries + values
}

/// Drops the least recently used entries until at most `target` bytes are held.
fn evict(inner: &mut Inner, target: usize) {
    let mut by_age: Vec<(u64, BucketKey)> = inner.entries.iter().map(|(k, e)| (e.last_used, k.clone())).collect();
    by_age.sort_unstable_by_key(|(used, _)| *used);
    for (_, key) in by_age {
        if inner.bytes <= target {
            break;
        }
        if let Some(e) = inner.entries.remove(&key) {
            inner.bytes -= e.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::analytics::{Counters, RollupDim, RollupRow, Sketch};

    fn key(bucket: Millis) -> BucketKey {
        BucketKey {
            project: ProjectId::from_bytes([1; 12]),
            granularity: Granularity::Hour,
            dim: "page".into(),
            bucket,
        }
    }

    fn rows(bucket: Millis, values: &[&str]) -> Vec<StoredRollup> {
        values
            .iter()
            .map(|v| StoredRollup {
                bucket,
                row: RollupRow {
                    dim: RollupDim::Total,
                    value: (*v).to_owned(),
                    counters: Counters::default(),
                    visitors: Sketch::new(),
                },
            })
            .collect()
    }

    #[test]
    fn an_entry_serves_only_its_revision_and_whole_rows_answer_every_kind_of_read() {
        let c = RollupCache::new(1 << 20);
        c.put_rows(key(0), 5, rows(0, &["/a", "/b"]));
        assert!(c.rows(&key(0), 6).is_none());
        assert_eq!(c.rows(&key(0), 5).unwrap().len(), 2);
        assert_eq!(c.summaries(&key(0), 5).unwrap().len(), 2);
        let (found, unknown) = c.values(&key(0), 5, &["/b".into(), "/c".into()]);
        assert_eq!((found.len(), unknown.len()), (1, 0), "whole rows know /c is absent");
        // A new revision replaces the entry, bytes included.
        c.put_values(key(0), 7, &["/a".into(), "/c".into()], rows(0, &["/a"]));
        let (found, unknown) = c.values(&key(0), 7, &["/a".into(), "/b".into(), "/c".into()]);
        assert_eq!((found.len(), unknown), (1, vec!["/b".to_owned()]));
        assert!(c.summaries(&key(0), 7).is_none());
        assert_eq!(
            c.stats().bytes,
            2 * ROW_OVERHEAD_BYTES + 6,
            "values and rows, with a fixed cost each"
        );
    }

    #[test]
    fn forgetting_a_project_drops_its_buckets_and_spans_only() {
        let c = RollupCache::new(1 << 20);
        let other = BucketKey {
            project: ProjectId::from_bytes([2; 12]),
            ..key(0)
        };
        c.put_rows(key(0), 1, rows(0, &["/a"]));
        c.put_rows(other.clone(), 1, rows(0, &["/b"]));
        let span = |p: ProjectId| (p, Granularity::Hour, 0, 1);
        c.put_span_revs(span(key(0).project), 9, Arc::default());
        c.put_span_revs(span(other.project), 9, Arc::default());
        let both = c.stats().bytes;
        c.forget_project(&key(0).project);
        assert!(c.rows(&key(0), 1).is_none());
        assert!(c.span_revs(&span(key(0).project), 9).is_none());
        assert!(c.rows(&other, 1).is_some());
        assert!(c.span_revs(&span(other.project), 9).is_some());
        assert_eq!(c.stats().bytes, both / 2);
    }

    #[test]
    fn past_its_budget_the_least_recently_used_buckets_go() {
        let c = RollupCache::new(10 * ROW_OVERHEAD_BYTES);
        for b in 0..8 {
            c.put_rows(key(b), 1, rows(b, &["/x"]));
        }
        assert!(c.rows(&key(0), 1).is_some(), "bucket 0 used last now");
        for b in 8..11 {
            c.put_rows(key(b), 1, rows(b, &["/x"]));
        }
        let kept: Vec<Millis> = (0..11).filter(|&b| c.rows(&key(b), 1).is_some()).collect();
        assert!(c.stats().bytes <= 10 * ROW_OVERHEAD_BYTES);
        assert!(kept.contains(&0) && kept.contains(&10), "{kept:?}");
        assert!(!kept.contains(&1), "{kept:?}");
    }
}
