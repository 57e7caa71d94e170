//! The digests ([`store::analytics::digest`]) of the SQLite store: built from the file one UTC
//! hour at a time, the first time a raw aggregation needs that hour, and kept in memory until an
//! ingest touches the hour again.
//!
//! An hour's digest is read with the same SQL expressions as the raw aggregations
//! ([`analytics::field_sql`]), so it holds exactly what they would read. It stays valid while
//! the hour's *generation* is unchanged: every ingest, after it commits, gives each hour it
//! touched a new generation (those of [`touched_hours`]: its events' hours and every hour of their
//! sessions, whose entry and exit pages its events carry). A digest is kept only if its hour's
//! generation did not move while it was read, so a digest never holds less than what was
//! committed before its read began. Deletions (retention, a project) drop the digests.
//!
//! **Kept on disk.** Each hour read from the rows is also written to `hour_digests` as bytes
//! ([`HourDigest::encode`]) once it has *settled* ([`SETTLED_AFTER_MS`]), and read back from there
//! the next time the hour is needed, by this process or the next: after a restart, the digests
//! of 30 days of 10.7M events come back in seconds instead of the minute their rows take. A row
//! of `hour_digests` is true as long as it exists: every transaction that changes what an hour's
//! digest holds deletes the hour's row itself (an ingest, for the hours it touched; the
//! retention sweep; a project's deletion), and a digest is written only under the writer's lock
//! and only if its hour's generation has not moved since its read began (see
//! [`Digests::write_some`]).
//!
//! Memory: 471 MiB for 10.7M events and their 1.58M sessions (measured by the dashboard
//! benchmark, [`HourDigest::bytes`]), at most [`DIGEST_BUDGET_BYTES`] in all; past it, new hours
//! are used by the query that read them but not kept.

use std::collections::{BTreeSet, HashMap};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError, RwLock, Weak};

use contract::ids::ProjectId;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use store::analytics::digest::{
    self, Dictionaries, EventFacts, EventKind, HourBuilder, HourDigest, Interned, SessionFacts, FIELDS,
};
use store::analytics::rollup::{hour_of, HOUR_MS};
use store::analytics::{EventGroup, EventSide, Field, RawQuery, SessionGroup};
use store::{Millis, Result};

use crate::analytics::{field_sql, Table};
use crate::backend;
use crate::flows::SPARSE_SCAN_RATIO;

/// Most memory the digests of all projects may hold, bytes: 10 million events and their
/// sessions take about 500 MB.
pub const DIGEST_BUDGET_BYTES: usize = 1 << 30;

/// Longest range answered from digests, in hours (400 days); longer ones ("all time" on an old
/// project) are read by SQL.
pub const MAX_DIGEST_HOURS: i64 = 400 * 24;

/// How long after its end an hour is written to `hour_digests`: until then it still receives
/// events (a visit's last page views, its page exits), each of which would delete it again.
pub const SETTLED_AFTER_MS: Millis = 2 * HOUR_MS;

/// Most bytes of digests written in one transaction: the writer's lock is held for the
/// write, and ingestion waits behind it (8 MiB: about 10 hours of a 10-million-event month).
const WRITE_CHUNK_BYTES: usize = 8 << 20;

/// The digests of every project, shared by the store's connections.
#[derive(Default)]
pub(crate) struct Digests {
    /// Set, raw aggregations read SQL and nothing is read ahead (tests and benchmarks time SQL).
    disabled: AtomicBool,
    projects: Mutex<HashMap<ProjectId, Arc<ProjectDigests>>>,
    /// Bytes of the digests kept.
    bytes: AtomicUsize,
    /// Source of generations: each touch takes a new one.
    clock: AtomicU64,
    /// Hours read from the file so far, for tests and figures.
    hours_read: AtomicU64,
    /// Hours read back from `hour_digests` so far, for tests and figures.
    hours_loaded: AtomicU64,
    /// Projects a background thread is reading ([`Digests::warm`]).
    warming: Mutex<BTreeSet<ProjectId>>,
    /// Bounds the counts running at once ([`Digests::answer`]).
    counting: Permits,
    /// Digests read from the rows and settled, not yet in `hour_digests`.
    unwritten: Mutex<Vec<Unwritten>>,
    /// Set while a thread writes `unwritten` ([`Digests::start_writing`]).
    writing: AtomicBool,
    /// Held by [`Digests::write_some`] from taking a chunk to its commit, so that one who finds
    /// nothing left knows every digest taken before is written.
    write: Mutex<()>,
}

/// A digest waiting to be written, with what its read saw: it is written only if they are still
/// what the project holds.
struct Unwritten {
    project: ProjectId,
    owner: Weak<ProjectDigests>,
    generation: u64,
    sweeps: u64,
    digest: Arc<HourDigest>,
}

#[derive(Default)]
struct ProjectDigests {
    /// Held while reading hours from the file, so that concurrent queries (a dashboard's panels)
    /// read each hour once.
    build: Mutex<()>,
    /// Queries waiting for `build`: the background reader lets them go first (a mutex is not
    /// fair, and the reader takes it again right after each day).
    waiting: AtomicUsize,
    dicts: RwLock<Dictionaries>,
    hours: Mutex<Hours>,
    /// Bumped whenever a hour of the project changes (an ingest, a sweep).
    epoch: AtomicU64,
    memo: Mutex<Memo>,
}

/// Answers already given since the project's last change: a click on a row sends every panel's
/// query at once, and each asks for the same filtered totals (the engine's `whole` aggregation)
/// beside its own groups, so these are counted once.
#[derive(Default)]
struct Memo {
    epoch: u64,
    answers: HashMap<String, Arc<Mutex<Option<Answer>>>>,
}

#[derive(Clone)]
enum Answer {
    Events(Vec<EventGroup>),
    Sessions(Vec<SessionGroup>),
}

/// Most answers a project's memo holds; past it the memo starts over.
const MEMO_ENTRIES: usize = 64;

/// Counting permits: a count is all processor and memory bandwidth, so more counts at once than
/// cores would only finish each later (a dashboard shows its panels as they come). One per core.
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Default for Permits {
    fn default() -> Permits {
        Permits {
            free: Mutex::new(std::thread::available_parallelism().map_or(1, usize::from)),
            freed: Condvar::new(),
        }
    }
}

impl Permits {
    /// Waits for a permit, given back when the guard drops.
    fn take(&self) -> Permit<'_> {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Permit(self)
    }
}

struct Permit<'a>(&'a Permits);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.freed.notify_one();
    }
}

/// Fewest visitor codes a project's dictionaries hold before [`stale_visitors`] looks at them.
const MIN_STALE_VISITOR_CODES: usize = if cfg!(test) { 2 } else { 1 << 16 };

/// Whether a dictionary of `codes` visitors has stale ones for digests of `rows` events and
/// sessions: every visitor in use has a row, so past `rows` codes some are stale (at about ten
/// rows a visitor, most are by then). Read again, the same digests give at most `rows` codes, so
/// a project is never dropped twice for the same digests; and the dictionary (about 22 bytes a
/// visitor) stays within half of what the digests hold (about 42 bytes a row).
fn stale_visitors(codes: usize, rows: usize) -> bool {
    codes > MIN_STALE_VISITOR_CODES && codes > rows
}

/// Who reads hours from the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    Query,
    Background,
    /// In the background, the kept digests only ([`Digests::warm`] after a restart).
    Kept,
}

/// Most hours a query reads without taking the project's `build` lock: the recent hours of a
/// realtime view, which must not wait behind a day being read (reading them twice costs little).
const UNLOCKED_HOURS: usize = 2;

/// How long the background reader pauses while queries wait for `build`.
const YIELD_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Default)]
struct Hours {
    /// An hour's current generation; 0 until an ingest touches it.
    generation: HashMap<Millis, u64>,
    kept: HashMap<Millis, (u64, Arc<HourDigest>)>,
    /// How many retention sweeps ran: a digest read across one is not kept.
    sweeps: u64,
}

impl Hours {
    fn generation(&self, hour: Millis) -> u64 {
        self.generation.get(&hour).copied().unwrap_or(0)
    }

    /// The kept digest of `hour` if still current.
    fn current(&self, hour: Millis) -> Option<Arc<HourDigest>> {
        self.kept
            .get(&hour)
            .filter(|(g, _)| *g == self.generation(hour))
            .map(|(_, d)| d.clone())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Digests {
    fn project(&self, project: &ProjectId) -> Arc<ProjectDigests> {
        lock(&self.projects).entry(*project).or_default().clone()
    }

    /// After an ingest committed: these hours of `project` changed.
    pub(crate) fn touched(&self, project: &ProjectId, hours: impl IntoIterator<Item = Millis>) {
        let Some(p) = lock(&self.projects).get(project).cloned() else {
            return; // Nothing kept, nothing stale: a later read sees the commit.
        };
        let mut state = lock(&p.hours);
        p.epoch.fetch_add(1, Ordering::SeqCst);
        for hour in hours {
            let generation = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
            state.generation.insert(hour, generation);
            if let Some((_, d)) = state.kept.remove(&hour) {
                self.bytes.fetch_sub(d.bytes(), Ordering::Relaxed);
            }
        }
    }

    /// After the retention sweep deleted what is older than `before` (the end of the last
    /// session it deleted, or its cut-off if later: an event after the cut-off loses its session's
    /// fields with the session), under the writer's lock: drops the digests of the hours it
    /// reached, and keeps or writes none read across the sweep.
    pub(crate) fn forget_before(&self, before: Millis) {
        let projects: Vec<Arc<ProjectDigests>> = lock(&self.projects).values().cloned().collect();
        for p in projects {
            let mut state = lock(&p.hours);
            state.sweeps += 1;
            p.epoch.fetch_add(1, Ordering::SeqCst);
            let gone: Vec<Millis> = state.kept.keys().copied().filter(|&h| h < before).collect();
            for h in gone {
                if let Some((_, d)) = state.kept.remove(&h) {
                    self.bytes.fetch_sub(d.bytes(), Ordering::Relaxed);
                }
            }
        }
    }

    /// Drops every digest (after a deletion, under the writer's lock). A read under way keeps
    /// what it holds but stores it in the dropped set, which nothing reads or writes again.
    pub(crate) fn clear(&self) {
        lock(&self.projects).clear();
        self.bytes.store(0, Ordering::Relaxed);
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.disabled.store(!enabled, Ordering::Relaxed);
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.disabled.load(Ordering::Relaxed)
    }

    /// Whether every hour of `[from, to)` of `project` is held and current: nothing to read ahead.
    pub(crate) fn all_held(&self, project: &ProjectId, from: Millis, to: Millis) -> bool {
        let Some(p) = lock(&self.projects).get(project).cloned() else {
            return false;
        };
        let state = lock(&p.hours);
        (hour_of(from)..to)
            .step_by(HOUR_MS as usize)
            .all(|h| state.current(h).is_some())
    }

    /// Forgets the answers memoised so far (benchmarks time the counting, not the memo).
    pub(crate) fn forget_answers(&self) {
        for p in lock(&self.projects).values() {
            p.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Whether a warm-up of `project` may start (none is under way); it must then end with
    /// [`Digests::warmed`].
    pub(crate) fn start_warming(&self, project: &ProjectId) -> bool {
        lock(&self.warming).insert(*project)
    }

    pub(crate) fn warmed(&self, project: &ProjectId) {
        lock(&self.warming).remove(project);
    }

    /// Bytes held, for the figures.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn hours_read(&self) -> u64 {
        self.hours_read.load(Ordering::Relaxed)
    }

    pub(crate) fn hours_loaded(&self) -> u64 {
        self.hours_loaded.load(Ordering::Relaxed)
    }

    /// Whether a thread may start writing the unwritten digests (there are some and none is at
    /// it); it must then end with [`Digests::written`].
    pub(crate) fn start_writing(&self) -> bool {
        !lock(&self.unwritten).is_empty() && !self.writing.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn written(&self) {
        self.writing.store(false, Ordering::SeqCst);
    }

    /// Writes up to [`WRITE_CHUNK_BYTES`] of the unwritten digests in one transaction of the
    /// writer; answers whether any are left. The check that a digest is still current and its
    /// write happen under the writer's lock, which every change of an hour holds from its commit
    /// to its [`Digests::touched`] (or sweep, or deletion): so no digest older than a committed
    /// change is written after that change deleted the hour's row.
    pub(crate) fn write_some(&self, writer: &Mutex<Connection>) -> Result<bool> {
        let _one_at_a_time = lock(&self.write);
        let chunk: Vec<Unwritten> = {
            let mut all = lock(&self.unwritten);
            let mut bytes = 0;
            let n = all
                .iter()
                .take_while(|u| {
                    bytes += u.digest.bytes();
                    bytes <= WRITE_CHUNK_BYTES
                })
                .count()
                .max(1)
                .min(all.len());
            all.drain(..n).collect()
        };
        // Encoded before the lock is taken: ingestion waits only for the writes.
        let encoded: Vec<(&Unwritten, Vec<u8>)> = chunk
            .iter()
            .filter_map(|u| {
                let p = u.owner.upgrade()?;
                let dicts = p.dicts.read().unwrap_or_else(PoisonError::into_inner);
                Some((u, u.digest.encode(&dicts)))
            })
            .collect();
        if !encoded.is_empty() {
            let mut conn = lock(writer);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            {
                let mut put = tx.prepare_cached(PUT_DIGEST_SQL).map_err(backend)?;
                for (u, bytes) in &encoded {
                    if self.still_current(u) {
                        put.execute(params![u.project.bytes(), u.digest.hour(), bytes])
                            .map_err(backend)?;
                    }
                }
            }
            tx.commit().map_err(backend)?;
        }
        Ok(!lock(&self.unwritten).is_empty())
    }

    /// Whether `u` still holds what its project holds: same project digests (not dropped since),
    /// same generation of its hour, no sweep since.
    fn still_current(&self, u: &Unwritten) -> bool {
        let Some(p) = lock(&self.projects).get(&u.project).cloned() else {
            return false;
        };
        if !std::ptr::eq(Arc::as_ptr(&p), u.owner.as_ptr()) {
            return false;
        }
        let state = lock(&p.hours);
        state.generation(u.digest.hour()) == u.generation && state.sweeps == u.sweeps
    }

    /// The event aggregation from digests, reading the hours not yet held on a connection of
    /// `connect` (taken only then); `None` when digests cannot answer `q`.
    pub(crate) fn events<C: Deref<Target = Connection>>(
        &self,
        connect: impl FnOnce() -> Result<C>,
        q: &RawQuery,
    ) -> Result<Option<Vec<EventGroup>>> {
        let answer = self.answer(connect, q, "events", |dicts, hours| {
            Answer::Events(digest::aggregate_events(dicts, hours, q))
        })?;
        Ok(answer.map(|a| match a {
            Answer::Events(groups) => groups,
            Answer::Sessions(_) => unreachable!("memo keys name their kind"),
        }))
    }

    /// The session aggregation from digests (as [`Digests::events`]); `None` when digests cannot
    /// answer `q`.
    pub(crate) fn sessions<C: Deref<Target = Connection>>(
        &self,
        connect: impl FnOnce() -> Result<C>,
        q: &RawQuery,
    ) -> Result<Option<Vec<SessionGroup>>> {
        let answer = self.answer(connect, q, "sessions", |dicts, hours| {
            Answer::Sessions(digest::aggregate_sessions(dicts, hours, q))
        })?;
        Ok(answer.map(|a| match a {
            Answer::Sessions(groups) => groups,
            Answer::Events(_) => unreachable!("memo keys name their kind"),
        }))
    }

    /// `count` over the digests of `q`'s hours, or the same answer given since the project last
    /// changed. Two queries asking the same at once count it once: the second waits for the first,
    /// holding neither a connection nor a counting permit ([`Digests::counting`]), so that a
    /// dashboard's panels, which all ask for the same totals, keep both cores counting.
    fn answer<C: Deref<Target = Connection>>(
        &self,
        connect: impl FnOnce() -> Result<C>,
        q: &RawQuery,
        kind: &str,
        count: impl FnOnce(&Dictionaries, &[&HourDigest]) -> Answer,
    ) -> Result<Option<Answer>> {
        if !self.enabled() || !digest::supports(q) || q.from >= q.to {
            return Ok(None);
        }
        if (q.to - hour_of(q.from)) / HOUR_MS > MAX_DIGEST_HOURS {
            return Ok(None);
        }
        let p = self.project(&q.project);
        // Taken before the hours are: the answer then holds at least what this epoch saw.
        let epoch = p.epoch.load(Ordering::SeqCst);
        let slot = {
            let mut memo = lock(&p.memo);
            if memo.epoch != epoch || memo.answers.len() >= MEMO_ENTRIES {
                *memo = Memo {
                    epoch,
                    answers: HashMap::new(),
                };
            }
            memo.answers.entry(format!("{kind} {q:?}")).or_default().clone()
        };
        let mut slot = lock(&slot);
        if let Some(answer) = &*slot {
            return Ok(Some(answer.clone()));
        }
        let held = self.ready(connect, &p, q)?;
        let hours: Vec<&HourDigest> = held.iter().map(|d| &**d).collect();
        let _permit = self.counting.take();
        let dicts = p.dicts.read().unwrap_or_else(PoisonError::into_inner);
        let answer = count(&dicts, &hours);
        *slot = Some(answer.clone());
        Ok(Some(answer))
    }

    /// The digests of every hour `q` reads (a range [`Digests::answer`] accepts), current ones from
    /// memory and the others from the file.
    fn ready<C: Deref<Target = Connection>>(
        &self,
        connect: impl FnOnce() -> Result<C>,
        p: &Arc<ProjectDigests>,
        q: &RawQuery,
    ) -> Result<Vec<Arc<HourDigest>>> {
        let mut held = Vec::new();
        let mut missing = Vec::new();
        {
            let state = lock(&p.hours);
            for h in (hour_of(q.from)..q.to).step_by(HOUR_MS as usize) {
                match state.current(h) {
                    Some(d) => held.push(d),
                    None => missing.push(h),
                }
            }
        }
        if !missing.is_empty() {
            held.extend(self.fill(&*connect()?, p, &q.project, missing, Reader::Query)?);
        }
        Ok(held)
    }

    /// The digests of `hours` (ascending): those current in memory, the others read from the
    /// file (and kept), all while holding the project's `build` lock (except a query's few).
    fn fill(
        &self,
        conn: &Connection,
        p: &Arc<ProjectDigests>,
        project: &ProjectId,
        hours: Vec<Millis>,
        reader: Reader,
    ) -> Result<Vec<Arc<HourDigest>>> {
        let mut held = Vec::with_capacity(hours.len());
        let build = match reader {
            Reader::Query if hours.len() <= UNLOCKED_HOURS => None,
            Reader::Query => {
                p.waiting.fetch_add(1, Ordering::SeqCst);
                let guard = lock(&p.build);
                p.waiting.fetch_sub(1, Ordering::SeqCst);
                Some(guard)
            }
            Reader::Background | Reader::Kept => {
                while p.waiting.load(Ordering::SeqCst) > 0 {
                    std::thread::sleep(YIELD_PAUSE);
                }
                Some(lock(&p.build))
            }
        };
        // Another query may have read some while this one waited for `build`; the rest is read in
        // runs of consecutive hours, each read once for all its hours.
        let mut runs: Vec<Vec<Millis>> = Vec::new();
        // Each hour's generation and the sweeps count when its read began.
        let mut captured: HashMap<Millis, (u64, u64)> = HashMap::new();
        {
            let state = lock(&p.hours);
            for h in hours {
                if let Some(d) = state.current(h) {
                    held.push(d);
                    continue;
                }
                captured.insert(h, (state.generation(h), state.sweeps));
                match runs.last_mut() {
                    Some(run) if run.last() == Some(&(h - HOUR_MS)) && run.len() < RUN_HOURS => run.push(h),
                    _ => runs.push(vec![h]),
                }
            }
        }
        let settled = crate::now_ms() - HOUR_MS - SETTLED_AFTER_MS;
        for run in runs {
            // Those kept in `hour_digests` first, then the others from the rows.
            let mut read: Vec<(HourDigest, bool)> = load_hours(conn, project, run[0], run.len(), &p.dicts)?
                .into_iter()
                .map(|d| (d, false))
                .collect();
            self.hours_loaded.fetch_add(read.len() as u64, Ordering::Relaxed);
            let loaded: BTreeSet<Millis> = read.iter().map(|(d, _)| d.hour()).collect();
            let mut rest: Vec<Vec<Millis>> = Vec::new();
            for &h in run.iter().filter(|h| !loaded.contains(h)) {
                match rest.last_mut() {
                    Some(r) if r.last() == Some(&(h - HOUR_MS)) => r.push(h),
                    _ => rest.push(vec![h]),
                }
            }
            // Reading back the kept digests only, the others wait for a query or a dashboard.
            if reader != Reader::Kept {
                for r in rest {
                    let fresh = read_hours(conn, project, r[0], r.len(), &p.dicts)?;
                    self.hours_read.fetch_add(fresh.len() as u64, Ordering::Relaxed);
                    read.extend(fresh.into_iter().map(|d| (d, true)));
                }
            }
            let mut state = lock(&p.hours);
            let mut unwritten = Vec::new();
            for (d, fresh) in read {
                let h = d.hour();
                let d = Arc::new(d);
                let fits = self.bytes.load(Ordering::Relaxed) + d.bytes() <= DIGEST_BUDGET_BYTES;
                let (generation, sweeps) = captured[&h];
                if (state.generation(h), state.sweeps) == (generation, sweeps) {
                    if fits {
                        self.bytes.fetch_add(d.bytes(), Ordering::Relaxed);
                        if let Some((_, old)) = state.kept.insert(h, (generation, d.clone())) {
                            self.bytes.fetch_sub(old.bytes(), Ordering::Relaxed);
                        }
                    }
                    if fresh && h <= settled {
                        unwritten.push(Unwritten {
                            project: *project,
                            owner: Arc::downgrade(p),
                            generation,
                            sweeps,
                            digest: d.clone(),
                        });
                    }
                }
                held.push(d);
            }
            drop(state);
            lock(&self.unwritten).extend(unwritten);
        }
        self.forget_if_stale(project, p);
        drop(build);
        Ok(held)
    }

    /// Drops the digests and dictionaries of `project` (`p`) once its visitors' dictionary holds
    /// visitors no digest it holds still has ([`stale_visitors`]): visitor ids change
    /// every day, and the codes of days whose hours are gone (past retention, or touched and not
    /// read again) would otherwise pile up for as long as the process lives. The next query reads
    /// the project's hours back (from `hour_digests`, about a second a month at 10M events)
    /// into fresh dictionaries; queries under way keep what they hold.
    fn forget_if_stale(&self, project: &ProjectId, p: &Arc<ProjectDigests>) {
        let codes = p.dicts.read().unwrap_or_else(PoisonError::into_inner).visitors().len();
        let mut projects = lock(&self.projects);
        if !projects.get(project).is_some_and(|current| Arc::ptr_eq(current, p)) {
            return;
        }
        let state = lock(&p.hours);
        let rows: usize = state.kept.values().map(|(_, d)| d.events() + d.sessions()).sum();
        if !stale_visitors(codes, rows) {
            return;
        }
        let bytes: usize = state.kept.values().map(|(_, d)| d.bytes()).sum();
        drop(state);
        projects.remove(project);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// How many visitors the dictionaries of `project` hold (0 for none), for tests.
    #[cfg(test)]
    pub(crate) fn visitor_codes(&self, project: &ProjectId) -> usize {
        lock(&self.projects).get(project).map_or(0, |p| {
            p.dicts.read().unwrap_or_else(PoisonError::into_inner).visitors().len()
        })
    }

    /// Reads the hours of `[from, to)` of `project` not held yet (with `kept_only`, only those
    /// kept in `hour_digests`), a day at a time, letting queries in between, for as long as
    /// `digests` still gives the digests (the store lives): what the store does in the background
    /// when a project's dashboard opens, so that its first filter finds the digests ready, and
    /// for the kept digests when it opens.
    pub(crate) fn warm(
        digests: impl Fn() -> Option<Arc<Self>>,
        conn: &Connection,
        project: &ProjectId,
        (from, to): (Millis, Millis),
        kept_only: bool,
    ) -> Result<()> {
        let reader = if kept_only { Reader::Kept } else { Reader::Background };
        let hours: Vec<Millis> = (hour_of(from)..to).step_by(HOUR_MS as usize).collect();
        for day in hours.chunks(RUN_HOURS) {
            let Some(this) = digests() else {
                return Ok(()); // The store is gone.
            };
            let p = this.project(project);
            let missing: Vec<Millis> = {
                let state = lock(&p.hours);
                day.iter().copied().filter(|&h| state.current(h).is_none()).collect()
            };
            if !missing.is_empty() {
                this.fill(conn, &p, project, missing, reader)?;
            }
        }
        Ok(())
    }
}

/// The projects with kept digests (a covering read of `hour_digests_hour`).
pub(crate) const KEPT_PROJECTS_SQL: &str = "SELECT DISTINCT project_id FROM hour_digests";

/// The projects with digests in `hour_digests`.
pub(crate) fn kept_projects(conn: &Connection) -> Result<Vec<ProjectId>> {
    let mut stmt = conn.prepare_cached(KEPT_PROJECTS_SQL).map_err(backend)?;
    let ids = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<Vec<u8>>>>()
        .map_err(backend)?;
    Ok(ids
        .into_iter()
        .filter_map(|id| <[u8; 12]>::try_from(id).ok().map(ProjectId::from_bytes))
        .collect())
}

/// Writes an hour's digest ([`Digests::write_some`]).
const PUT_DIGEST_SQL: &str = "INSERT INTO hour_digests (project_id, hour, body) VALUES (?1, ?2, ?3) \
     ON CONFLICT (project_id, hour) DO UPDATE SET body = excluded.body";

/// The kept digests of a run of hours (`hour_digests_hour`).
pub(crate) const KEPT_DIGESTS_SQL: &str =
    "SELECT body FROM hour_digests WHERE project_id = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour";

/// Deletes one hour's kept digest.
pub(crate) const FORGET_KEPT_SQL: &str = "DELETE FROM hour_digests WHERE project_id = ?1 AND hour = ?2";

/// Deletes the kept digests of the hours an ingest touched, inside its transaction: what makes a
/// row of `hour_digests` true for as long as it exists.
pub(crate) fn forget_kept(tx: &Transaction<'_>, project: &ProjectId, hours: &BTreeSet<Millis>) -> Result<()> {
    let mut forget = tx.prepare_cached(FORGET_KEPT_SQL).map_err(backend)?;
    for h in hours {
        forget.execute(params![project.bytes(), h]).map_err(backend)?;
    }
    Ok(())
}

/// The digests kept in `hour_digests` for `count` hours of `project` from `first` on. A row that
/// does not decode (written by another format, damaged) is left out: its hour is read from the
/// rows again, and the new digest replaces it.
///
/// Only interning the hours' values needs the project's dictionaries (briefly, for all the hours
/// at once); the columns, nearly all of the work, are read on up to [`READ_BACK_THREADS`]
/// threads.
fn load_hours(
    conn: &Connection,
    project: &ProjectId,
    first: Millis,
    count: usize,
    dicts: &RwLock<Dictionaries>,
) -> Result<Vec<HourDigest>> {
    let mut stmt = conn.prepare_cached(KEPT_DIGESTS_SQL).map_err(backend)?;
    let mut rows = stmt
        .query(params![project.bytes(), first, first + count as Millis * HOUR_MS])
        .map_err(backend)?;
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    while let Some(r) = rows.next().map_err(backend)? {
        bodies.push(r.get_ref(0).and_then(|v| Ok(v.as_blob()?.to_vec())).map_err(backend)?);
    }
    let mut interned: Vec<Interned<'_>> = {
        let mut dicts = dicts.write().unwrap_or_else(PoisonError::into_inner);
        bodies
            .iter()
            .filter_map(|b| HourDigest::intern(b, &mut dicts).ok())
            .collect()
    };
    Ok(read_columns(&mut interned))
}

/// Most threads reading the columns of kept digests back at once ([`load_hours`]). Reading a
/// month of 10 million events back is about half a gigabyte of columns; a query waiting for it
/// (the first dashboard with goals after a restart) has nothing better for the cores to do.
const READ_BACK_THREADS: usize = 4;

/// The digests of `interned`, in the same order, each read on one of up to [`READ_BACK_THREADS`]
/// threads (those that fail their checks left out).
fn read_columns(interned: &mut [Interned<'_>]) -> Vec<HourDigest> {
    let read =
        |part: &mut [Interned<'_>]| -> Vec<HourDigest> { part.iter_mut().filter_map(|i| i.columns().ok()).collect() };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = READ_BACK_THREADS.min(cores).min(interned.len());
    if threads <= 1 {
        return read(interned);
    }
    let size = interned.len().div_ceil(threads);
    let mut parts = interned.chunks_mut(size);
    let here = parts.next().unwrap_or_default();
    std::thread::scope(|s| {
        let others: Vec<_> = parts.map(|part| s.spawn(move || read(part))).collect();
        let mut out = read(here);
        for other in others {
            out.extend(other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        out
    })
}

/// Most hours read at once: a day, so that the sessions held while reading (those of the run) stay
/// a day's worth.
const RUN_HOURS: usize = 24;

/// The SQL expressions of every fixed field, as `table` reads them.
fn field_columns(table: Table) -> Vec<String> {
    let mut params = Vec::new();
    let fields: Vec<String> = Field::FIXED
        .iter()
        .map(|f| field_sql(f, table, &mut params).0)
        .collect();
    debug_assert!(params.is_empty(), "fixed fields take no parameters");
    fields
}

/// A run's events, without their sessions: their own fields only (the session-side columns are
/// filled from the sessions read beside them).
static EVENTS_SQL: LazyLock<String> = LazyLock::new(|| {
    let own: Vec<String> = Field::FIXED
        .iter()
        .zip(field_columns(Table::Events))
        .map(|(f, sql)| {
            if f.event_side() == EventSide::Own {
                sql
            } else {
                "NULL".to_owned()
            }
        })
        .collect();
    format!(
        "SELECT e.occurred_at, e.visitor_id, e.name, e.duration_ms, e.scroll_depth, {} \
         FROM events e WHERE e.project_id = ?1 AND e.occurred_at >= ?2 AND e.occurred_at < ?3",
        own.join(", ")
    )
});

/// The same events read in storage order between `seq` bounds (`?4`, `?5`), for a run whose
/// events are dense there (as in `flows`). NOT INDEXED: the planner would take `events_time`,
/// which costs a table look-up per event where this reads the pages in order (measured: the first
/// filtered dashboard over 30 days of 10.7M events, which reads them all, went from 84 s to 67 s).
static EVENTS_IN_ORDER_SQL: LazyLock<String> = LazyLock::new(|| {
    EVENTS_SQL.replace(
        "FROM events e WHERE",
        "FROM events e NOT INDEXED WHERE e.seq BETWEEN ?4 AND ?5 AND",
    )
});

/// The `seq` bounds and the number of a run's events (a covering read of `events_time`).
const EVENT_BOUNDS_SQL: &str = "SELECT min(e.seq), max(e.seq), count(*) FROM events e \
     WHERE e.project_id = ?1 AND e.occurred_at >= ?2 AND e.occurred_at < ?3";

const SESSION_FIXED: &str = "s.start_at, s.visitor_id, s.pageviews, s.custom_events, s.end_at";

/// Sessions that started in a range, with every field as a session has it.
static SESSIONS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SESSION_FIXED}, {} FROM sessions s WHERE s.project_id = ?1 AND s.start_at >= ?2 AND s.start_at < ?3",
        field_columns(Table::Sessions).join(", ")
    )
});

/// The session of one event that started before its run: the raw aggregations' join, alone.
static SESSION_OF_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SESSION_FIXED}, {} FROM sessions s WHERE s.project_id = ?1 AND s.visitor_id = ?2 \
         AND s.start_at <= ?3 AND s.end_at >= ?3",
        field_columns(Table::Sessions).join(", ")
    )
});

/// The codes of a row's field columns, from column `first` on (a NULL reads as the empty value,
/// as the raw aggregations' `COALESCE` has it).
fn codes(row: &rusqlite::Row<'_>, first: usize, dicts: &mut Dictionaries) -> rusqlite::Result<[u32; FIELDS]> {
    let mut out = [0u32; FIELDS];
    for (i, code) in out.iter_mut().enumerate() {
        let value = match row.get_ref(first + i)? {
            ValueRef::Text(t) => std::str::from_utf8(t).map_err(|e| rusqlite::Error::Utf8Error(first + i, e))?,
            _ => "",
        };
        *code = dicts.field_mut(i).code(value);
    }
    Ok(out)
}

/// A session row: its facts and its end.
fn session_row(r: &rusqlite::Row<'_>, dicts: &mut Dictionaries) -> rusqlite::Result<(SessionFacts, Millis)> {
    let count =
        |i: usize| -> rusqlite::Result<u32> { Ok(u32::try_from(r.get::<_, i64>(i)?.max(0)).unwrap_or(u32::MAX)) };
    let start: Millis = r.get(0)?;
    let end: Millis = r.get(4)?;
    let facts = SessionFacts {
        start,
        visitor: r.get(1)?,
        pageviews: count(2)?,
        custom_events: count(3)?,
        duration_ms: end - start,
        codes: codes(r, 5, dicts)?,
    };
    Ok((facts, end))
}

/// Where an event takes each field: its own column, or its session's.
static SESSION_SIDE: LazyLock<[bool; FIELDS]> =
    LazyLock::new(|| std::array::from_fn(|i| Field::FIXED[i].event_side() == EventSide::Session));

/// Reads `count` consecutive hours of `project` from `first` on: the sessions that started in the
/// run (indexed by visitor), then the run's events, each given the session-side fields of the
/// session spanning its time, as the raw aggregations' join does. A session that started before
/// the run is looked up when the first of its visitor's events needs it, and kept for the others:
/// a few hundred look-ups where reading the day before the run read tens of thousands of sessions
/// (the first dashboard after a restart, which reads the last hours from the rows, spent 1 to 4 s
/// there at 10M events).
fn read_hours(
    conn: &Connection,
    project: &ProjectId,
    first: Millis,
    count: usize,
    dicts: &RwLock<Dictionaries>,
) -> Result<Vec<HourDigest>> {
    let end = first + count as Millis * HOUR_MS;
    let mut builders: Vec<HourBuilder> = (0..count)
        .map(|i| HourBuilder::new(first + i as Millis * HOUR_MS))
        .collect();
    let mut dicts = dicts.write().unwrap_or_else(PoisonError::into_inner);
    // Per visitor, its sessions' spans and codes, by start (a visitor's sessions never overlap).
    let mut spans: HashMap<i64, Vec<(Millis, Millis, [u32; FIELDS])>> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(&SESSIONS_SQL).map_err(backend)?;
        let mut rows = stmt.query(params![project.bytes(), first, end]).map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let (facts, session_end) = session_row(r, &mut dicts).map_err(backend)?;
            spans
                .entry(facts.visitor)
                .or_default()
                .push((facts.start, session_end, facts.codes));
            builders[((facts.start - first) / HOUR_MS) as usize].session(facts);
        }
    }
    for list in spans.values_mut() {
        list.sort_unstable_by_key(|(start, _, _)| *start);
    }
    let (lo, hi, n): (Option<i64>, Option<i64>, i64) = conn
        .prepare_cached(EVENT_BOUNDS_SQL)
        .and_then(|mut s| {
            s.query_row(params![project.bytes(), first, end], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })
        .map_err(backend)?;
    let mut alone = conn.prepare_cached(&SESSION_OF_SQL).map_err(backend)?;
    let (mut events, dense) = match (lo, hi) {
        (Some(lo), Some(hi)) if hi - lo < SPARSE_SCAN_RATIO * n => (
            conn.prepare_cached(&EVENTS_IN_ORDER_SQL).map_err(backend)?,
            Some((lo, hi)),
        ),
        _ => (conn.prepare_cached(&EVENTS_SQL).map_err(backend)?, None),
    };
    let mut rows = match dense {
        Some((lo, hi)) => events.query(params![project.bytes(), first, end, lo, hi]),
        None => events.query(params![project.bytes(), first, end]),
    }
    .map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let at: Millis = r.get(0).map_err(backend)?;
        let visitor: i64 = r.get(1).map_err(backend)?;
        let kind = EventKind::of(r.get_ref(2).and_then(|v| Ok(v.as_str()?)).map_err(backend)?);
        let duration: Option<i64> = r.get(3).map_err(backend)?;
        let scroll: Option<i64> = r.get(4).map_err(backend)?;
        let mut codes = codes(r, 5, &mut dicts).map_err(backend)?;
        let known = spans.get(&visitor).and_then(|list| {
            let i = list.partition_point(|(start, _, _)| *start <= at);
            (i > 0 && list[i - 1].1 >= at).then(|| list[i - 1].2)
        });
        let session = match known {
            Some(codes) => Some(codes),
            // Not among the sessions read: one that started before the run, if any, kept for the
            // visitor's next events (a visitor's sessions never overlap, so it is the only one
            // spanning `at` and it sorts before the run's own).
            None => {
                let before = alone
                    .query_row(params![project.bytes(), visitor, at], |r| {
                        let (facts, end) = session_row(r, &mut dicts)?;
                        Ok((facts.start, end, facts.codes))
                    })
                    .optional()
                    .map_err(backend)?;
                if let Some(span) = before {
                    let list = spans.entry(visitor).or_default();
                    let i = list.partition_point(|(start, _, _)| *start < span.0);
                    list.insert(i, span);
                }
                before.map(|(_, _, codes)| codes)
            }
        };
        for (i, code) in codes.iter_mut().enumerate() {
            if SESSION_SIDE[i] {
                *code = match &session {
                    Some(s) => s[i],
                    None => dicts.field_mut(i).code(""),
                };
            }
        }
        builders[((at - first) / HOUR_MS) as usize].event(EventFacts {
            at,
            visitor,
            kind,
            // The contract bounds an exit's duration at 24 hours and its depth at 100.
            duration_ms: if kind == EventKind::Exit {
                u32::try_from(duration.unwrap_or(0).max(0)).unwrap_or(u32::MAX)
            } else {
                0
            },
            scroll_depth: if kind == EventKind::Exit {
                scroll.and_then(|s| u8::try_from(s).ok())
            } else {
                None
            },
            codes,
        });
    }
    Ok(builders.into_iter().map(|b| b.finish(&mut dicts)).collect())
}
