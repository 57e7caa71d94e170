//! The embedded SQLite backend of the collector's [`Store`]: the default, so that a newcomer runs
//! the collector with `--data-dir` and no database server. Everything lives in one file,
//! `metrics.sqlite3`, that survives restarts.
//!
//! Design, and why:
//!
//! * **WAL journal, `synchronous=FULL`.** Readers (the dashboard, key look-ups on every ingest
//!   request) never wait for the writer and the writer never waits for them; a commit appends to
//!   the log and returns once the log is fsynced, so a committed batch survives a power cut. It
//!   must: the collector deletes events from its ingest log once they are committed here. The
//!   fsync is one per batch of up to thousands of events (the collector's group commit).
//! * **One writer connection behind a mutex, plus a small pool of read connections.** SQLite
//!   allows one writer at a time per file anyway; queueing writers on a mutex is cheaper than
//!   letting them collide on the file lock. Every write runs in `BEGIN IMMEDIATE`, which takes the
//!   file's write lock up front, so a second handle or process on the same file (a second
//!   collector, or the conformance suite's `twin`) waits its turn (`busy_timeout`) instead of
//!   failing half-way through a read-then-write transaction.
//! * **`spawn_blocking`.** SQLite calls block; they run on Tokio's blocking pool, never on the
//!   async workers that serve requests.
//! * **Checkpoints on a thread of their own.** Copying the log back into the database (and its
//!   fsyncs) would otherwise stall an ingest every few batches (see `Checkpointer`).
//! * **Versioned schema.** Migrations are numbered and recorded in `PRAGMA user_version`, applied
//!   on open inside one immediate transaction; a file from a newer build is refused, not misread.
//! * **Ingest is one transaction per batch**: insert the events, skipping ids the project already
//!   has, then fold *every* event of the batch (duplicates included, so a retry heals sessions that
//!   a crashed attempt did not finish) into its visitor's sessions with [`store::sessions::fold`],
//!   the same pure function the MongoDB backend uses. Statements are prepared once per connection
//!   and cached. Throughput is measured by `benches/ingest.rs`.
//! * **Recent visitors' sessions stay in memory** ([`session_cache`]): folding reads them from
//!   there instead of the file, and the cache is emptied whenever another connection committed.

mod analytics;
mod annotations;
mod codec;
mod digest;
mod explorer;
mod flows;
mod funnels;
mod goals;
mod schema;
mod segments;
pub mod session_cache;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::c_int;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use contract::enrich::VisitorId;
use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::keys::KeyHash;
use rusqlite::wal::CheckpointMode;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, MAIN_DB};
use store::analytics::rollup::touched_hours;
use store::analytics::{
    DirtyHour, EventGroup, Expired, Granularity, RawQuery, Retention, RollupDim, RollupRow, RollupSummary,
    SessionGroup, StoredRollup,
};
use store::sessions::{self, Session};
use store::{Annotation, AnnotationId, Goal, GoalId, Segment, SegmentId};
use store::{
    AuthToken, Email, IngestReport, KeyId, KeyRecord, Millis, Project, Result, ShareId, ShareLink, ShareSlug, Store,
    StoreError, TokenKind, User, UserId,
};

use session_cache::{SessionCache, SessionCacheStats, VisitorKey};

use codec::{
    visitor_to_sql, EVENT_COLUMNS, KEY_COLUMNS, PROJECT_COLUMNS, SESSION_SELECT, SHARE_COLUMNS, TOKEN_COLUMNS,
    USER_COLUMNS,
};

/// The database file inside the collector's data directory.
pub const FILE_NAME: &str = "metrics.sqlite3";

/// Read connections for short look-ups (keys, logins, sessions, projects). Two cover the
/// per-request look-ups of a small machine without idling many handles.
const READERS: usize = 2;
/// Read connections for the dashboard's raw aggregations, funnels, journeys and session lists,
/// apart from [`READERS`]: two long queries at once can hold both, and sign-ins and key look-ups
/// still find theirs.
const ANALYSTS: usize = 2;
/// Read connections for rollup reads only, apart from [`ANALYSTS`]: a rollup read is a few
/// milliseconds of index range, and a dashboard's unfiltered panels are all rollup reads, so they
/// must not queue behind a raw aggregation that holds an analyst for a second or more (the goals
/// panel reading the kept digests back after a restart held both analysts for a second, and every
/// other panel of the first dashboard waited for it).
const ROLLUP_READERS: usize = 2;
/// How long the background read of a project's digests waits before it starts
/// ([`SqliteStore::prefetch_digests`]): about a dashboard's first load, which would otherwise
/// share the 2 cores of a small machine with it (measured in headless Chromium: the first load
/// of a 10.7M-event dashboard took 2.9 s beside it, 1.5 s with this delay).
const PREFETCH_DELAY: Duration = Duration::from_secs(2);
/// How many days of kept digests the store reads back when it opens: a 30-day dashboard's, in
/// any time zone.
const LOAD_KEPT_DAYS: i64 = 31;
/// How often (in SQLite virtual machine steps) a running aggregation checks its time budget.
const BUDGET_CHECK_STEPS: c_int = 10_000;

/// The SQLite [`Store`]. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Shared with the checkpointer, which takes it for the tail of each checkpoint.
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Connections of the analytics reads ([`ANALYSTS`]).
    analysts: Vec<Mutex<Connection>>,
    next_analyst: AtomicUsize,
    /// Connections of the rollup reads ([`ROLLUP_READERS`]).
    rollup_readers: Vec<Mutex<Connection>>,
    next_rollup_reader: AtomicUsize,
    /// Longest an analytics read may run, ms ([`store::ANALYTICS_TIME_BUDGET`] unless set).
    analytics_budget_ms: AtomicU64,
    /// Set by the writer's WAL hook when the log has grown past [`CHECKPOINT_AT`] frames.
    wal_is_long: Arc<AtomicBool>,
    checkpointer: Option<Checkpointer>,
    /// The last dirty-mark version handed out; see [`Inner::next_mark_version`].
    mark_clock: AtomicI64,
    /// Locked only while holding `writer`, which keeps it in step with the committed sessions.
    sessions: Mutex<SessionCache>,
    /// Hours of events and sessions as columns in memory, for the raw aggregations.
    digests: Arc<digest::Digests>,
}

impl Inner {
    /// The body of [`SqliteStore::write`], on the calling thread.
    fn write_now<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.write_now_then(f, |_| {})
    }

    /// [`Inner::write_now`], then `then` after the commit, still under the writer's lock: where a
    /// change tells the digests (see `digest`'s kept digests).
    fn write_now_then<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>, then: impl FnOnce(&T)) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::backend)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::backend)?;
        then(&out);
        drop(conn);
        self.nudge_checkpointer();
        Ok(out)
    }

    /// Writes the digests read since the last write to `hour_digests`, on a thread of its own,
    /// unless one is at it already.
    fn write_digests_later(self: &Arc<Self>) {
        if !self.digests.start_writing() {
            return;
        }
        // The thread holds the store only while writing a chunk: dropping the store stops it.
        let weak = Arc::downgrade(self);
        let started = std::thread::Builder::new()
            .name("digest-writer".into())
            .spawn(move || loop {
                let Some(inner) = weak.upgrade() else { return };
                // Best effort: an hour not written is read from the rows again next time.
                let more = inner.digests.write_some(&inner.writer).unwrap_or(false);
                inner.nudge_checkpointer();
                if !more {
                    inner.digests.written();
                    return;
                }
            });
        if started.is_err() {
            self.digests.written();
        }
    }

    /// The body of [`Store::ingest`], on the calling thread: [`ingest`] in one immediate
    /// transaction, with the session cache checked before and updated after the commit.
    fn ingest_now(&self, events: &[EnrichedEvent], now: Millis) -> Result<IngestReport> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::backend)?;
        let mut cache = lock_cache(&self.sessions);
        let data_version: i64 = tx
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut q| q.query_row([], |r| r.get(0)))
            .map_err(StoreError::backend)?;
        cache.validate(data_version);
        // The version is taken under the writer's lock, so versions also increase in commit order.
        let (report, committed_sessions, touched) = ingest(&tx, events, now, self.next_mark_version(), &mut cache)?;
        if let Err(e) = tx.commit() {
            cache.clear();
            return Err(StoreError::backend(e));
        }
        // After the commit: a digest read from now on sees it (see `digest`).
        for (project, hours) in touched {
            self.digests.touched(&project, hours);
        }
        for (visitor, sessions) in committed_sessions {
            cache.put(visitor, sessions);
        }
        drop(cache);
        drop(conn);
        self.nudge_checkpointer();
        Ok(report)
    }

    fn nudge_checkpointer(&self) {
        if self.wal_is_long.load(Ordering::Relaxed) {
            if let Some(c) = &self.checkpointer {
                // Full channel: a checkpoint is already due.
                let _ = c.nudge.try_send(());
            }
        }
    }

    /// A dirty-mark version greater than every one handed out before, by this process or (through
    /// the seed read at open) stored by an earlier one. Close to the current time in ms, but
    /// strictly increasing even when two ingests fall in the same millisecond: a worker holding the
    /// version of a mark cleared since must never match a newer mark of the same hour.
    fn next_mark_version(&self) -> Millis {
        let now = now_ms();
        let previous = self
            .mark_clock
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)))
            .unwrap_or_else(|last| last);
        now.max(previous + 1)
    }
}

/// WAL frames (pages) after which the background thread copies the log back into the database:
/// 64 MiB of 4 KiB pages. SQLite's default, 1000 frames checkpointed by the committing thread,
/// stalls an ingest batch every few batches (a batch writes ~200 pages: its events' random places
/// in the event-id index, its visitors' session rows). Measured on the ingest bench: 1000 frames
/// 12k events/s, 4096 17k, 16384 19.5k.
const CHECKPOINT_AT: i32 = 16_384;

/// WAL frames after which the writer checkpoints by itself, right after a commit: only reached if
/// the background thread cannot keep up, and bounds the log at ~256 MiB.
const CHECKPOINT_BACKSTOP: i32 = 65_536;

/// A thread with its own connection that checkpoints when nudged, so that copying the log into the
/// database, and its fsyncs, run beside the writer instead of inside an ingest.
///
/// A `PASSIVE` checkpoint running beside a busy writer never catches up with it: by the time it
/// has copied the log, new commits have been appended, and SQLite only rewinds the log to its start
/// when a write transaction begins on a fully copied log. So each round is two steps: the bulk of
/// the log without any lock, then the few frames committed meanwhile on the writer connection,
/// holding the writer's mutex for that short moment. The next commit then rewinds the log.
struct Checkpointer {
    nudge: SyncSender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path, writer: Arc<Mutex<Connection>>) -> rusqlite::Result<Self> {
        let conn = open_connection(path)?;
        // Capacity 1: nudges while a checkpoint runs collapse into one more round.
        let (nudge, nudged) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Ends when the store drops the sender.
                while nudged.recv().is_ok() {
                    // A failure (another handle on the file checkpointing, a disk error) leaves the
                    // log to the next round or, at worst, to the writer's backstop.
                    let _ = conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE);
                    let _ = lock(&writer).wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE);
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self {
            nudge,
            thread: Some(thread),
        })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Stop the checkpointer before the connections close, so that the last connection to
        // close (which checkpoints and removes the log) is one of ours and the thread is gone
        // when the store is.
        if let Some(mut c) = self.checkpointer.take() {
            drop(c.nudge);
            if let Some(thread) = c.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    schema::configure(&conn)?;
    Ok(conn)
}

/// A read connection: the look-ups', the analytics' and the digests' background reader's.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open_connection(path)?;
    schema::configure_reader(&conn)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` and brings its schema up to date.
    ///
    /// Blocking: call it at start-up, or from `spawn_blocking`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = Connection::open(path).map_err(StoreError::backend)?;
        schema::configure(&writer).map_err(StoreError::backend)?;
        schema::migrate(&mut writer)?;
        let read_only = |n: usize| {
            (0..n)
                .map(|_| open_reader(path).map(Mutex::new))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(StoreError::backend)
        };
        let readers = read_only(READERS)?;
        let analysts = read_only(ANALYSTS)?;
        let rollup_readers = read_only(ROLLUP_READERS)?;
        let wal_is_long = Arc::new(AtomicBool::new(false));
        let flag = wal_is_long.clone();
        // Replaces SQLite's automatic checkpoint (itself a WAL hook) on the writer: see
        // CHECKPOINT_AT.
        writer
            .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, frames: c_int| {
                flag.store(frames >= CHECKPOINT_AT, Ordering::Relaxed);
                if frames >= CHECKPOINT_BACKSTOP {
                    // Never an error from here: the hook runs after the commit, and an error would
                    // report a committed transaction as failed.
                    let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
                }
                Ok(())
            }))
            .map_err(StoreError::backend)?;
        let last_mark: Millis = writer
            .query_row("SELECT coalesce(max(version), 0) FROM rollup_dirty", [], |r| r.get(0))
            .map_err(StoreError::backend)?;
        let writer = Arc::new(Mutex::new(writer));
        let checkpointer = Checkpointer::start(path, writer.clone()).map_err(StoreError::backend)?;
        let store = Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer,
                readers,
                next_reader: AtomicUsize::new(0),
                analysts,
                next_analyst: AtomicUsize::new(0),
                rollup_readers,
                next_rollup_reader: AtomicUsize::new(0),
                analytics_budget_ms: AtomicU64::new(store::ANALYTICS_TIME_BUDGET.as_millis() as u64),
                wal_is_long,
                checkpointer: Some(checkpointer),
                mark_clock: AtomicI64::new(last_mark),
                sessions: Mutex::new(SessionCache::default()),
                digests: Arc::default(),
            }),
        };
        store.load_kept_digests();
        Ok(store)
    }

    /// Reads back, on a thread of its own from the moment the store opens, the digests of the last
    /// [`LOAD_KEPT_DAYS`] days kept in `hour_digests` for every project (within
    /// [`digest::DIGEST_BUDGET_BYTES`]): after a restart the first dashboard with a filter or
    /// goals finds them in memory (10.7M events: seconds from `hour_digests`, where building them
    /// from the rows took a minute). Best effort: a query reads what this did not. At once, not
    /// after a pause: the first dashboard after a restart waits for these digests (its goals
    /// panel), and each moment of head start shortens that wait (it came after 0.7-1.05 s instead
    /// of 1.0-1.7 s at 8.45M events, run in turn with a one-second pause).
    fn load_kept_digests(&self) {
        let (weak, path) = (Arc::downgrade(&self.inner), self.inner.path.clone());
        let _ = std::thread::Builder::new().name("kept-digests".into()).spawn(move || {
            let Ok(conn) = open_reader(&path) else {
                return;
            };
            let Ok(projects) = digest::kept_projects(&conn) else {
                return;
            };
            let to = now_ms();
            let from = to - LOAD_KEPT_DAYS * 24 * store::analytics::rollup::HOUR_MS;
            for project in projects {
                let digests = || {
                    weak.upgrade()
                        .map(|inner| inner.digests.clone())
                        .filter(|d| d.enabled())
                };
                let _ = digest::Digests::warm(digests, &conn, &project, (from, to), true);
            }
        });
    }

    /// Opens `dir/metrics.sqlite3`, creating `dir` if needed: what the collector's `--data-dir`
    /// points at.
    pub fn open_in(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        Self::open(&dir.join(FILE_NAME))
    }

    /// Sets the longest an analytics read may run before it is cancelled with
    /// [`StoreError::TimedOut`] (tests; the default is [`store::ANALYTICS_TIME_BUDGET`]).
    pub fn set_analytics_budget(&self, budget: Duration) {
        let ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
        self.inner.analytics_budget_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether raw aggregations read the in-memory digests (on by default). Off, they read the
    /// file with SQL: tests compare the two, benchmarks time either.
    pub fn set_digests(&self, enabled: bool) {
        self.inner.digests.set_enabled(enabled);
    }

    /// Bytes the digests hold.
    pub fn digest_bytes(&self) -> usize {
        self.inner.digests.bytes()
    }

    /// Forgets the digests' memoised answers, so that the next queries count again (for
    /// benchmarks: a repeated query is otherwise answered from the memo).
    pub fn forget_digest_answers(&self) {
        self.inner.digests.forget_answers();
    }

    /// Hours of digests read from the rows since the store opened.
    pub fn digest_hours_read(&self) -> u64 {
        self.inner.digests.hours_read()
    }

    /// Hours of digests read back from `hour_digests` since the store opened.
    pub fn digest_hours_loaded(&self) -> u64 {
        self.inner.digests.hours_loaded()
    }

    /// Reads the digests of `[from, to)` of `project` on a thread of its own with its own
    /// connection, unless one is already at it for this project: called when a dashboard reads a
    /// project's daily rollups, so that a click on a row, which needs digests, finds them ready
    /// (reading 30 days of 10 million events takes about a minute). Answers the thread, if started.
    pub fn prefetch_digests(&self, project: &ProjectId, from: Millis, to: Millis) -> Option<JoinHandle<()>> {
        let digests = &self.inner.digests;
        let from = from.max(to - digest::MAX_DIGEST_HOURS * store::analytics::rollup::HOUR_MS);
        // Held already (every dashboard load asks): no thread, no connection.
        if !digests.enabled() || from >= to || digests.all_held(project, from, to) || !digests.start_warming(project) {
            return None;
        }
        // The thread holds the store only while reading a day: dropping the store stops it.
        let (weak, path, project) = (Arc::downgrade(&self.inner), self.inner.path.clone(), *project);
        let started = std::thread::Builder::new().name("digests".into()).spawn(move || {
            // The dashboard that asked is loading: let its own queries go first.
            std::thread::sleep(PREFETCH_DELAY);
            // Best effort: a query reads what this did not.
            if let Ok(conn) = open_reader(&path) {
                let digests = || weak.upgrade().map(|inner| inner.digests.clone());
                let _ = digest::Digests::warm(digests, &conn, &project, (from, to), false);
            }
            if let Some(inner) = weak.upgrade() {
                inner.digests.warmed(&project);
                inner.write_digests_later();
            }
        });
        match started {
            Ok(thread) => Some(thread),
            Err(_) => {
                digests.warmed(&project);
                None
            }
        }
    }

    /// Writes to `hour_digests` every digest read from the rows and not written yet, now, on
    /// this thread (tests and benchmarks; the store does it on a thread of its own after the
    /// queries that read them).
    pub fn write_digests(&self) -> Result<()> {
        while self.inner.digests.write_some(&self.inner.writer)? {}
        Ok(())
    }

    /// How the session cache has fared since the store opened.
    pub fn session_cache_stats(&self) -> SessionCacheStats {
        lock_cache(&self.inner.sessions).stats()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version of the file (`PRAGMA user_version`).
    pub async fn schema_version(&self) -> Result<i64> {
        self.read(|c| {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(StoreError::backend)
        })
        .await
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer connection, off the async
    /// runtime. The transaction commits if `f` succeeds and rolls back otherwise.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || inner.write_now(f)).await
    }

    /// [`SqliteStore::write`] with `then` run after the commit under the writer's lock
    /// ([`Inner::write_now_then`]).
    async fn write_then<T, F, G>(&self, f: F, then: G) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        G: FnOnce(&T) + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || inner.write_now_then(f, then)).await
    }

    /// Runs an aggregation on an analytics connection ([`ANALYSTS`]), off the async runtime,
    /// within the analytics time budget: past it SQLite interrupts the statement and the read
    /// fails with [`StoreError::TimedOut`], so an abandoned query does not hold the connection.
    async fn analyze<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.analyze_on(Pool::Analysts, f).await
    }

    /// [`SqliteStore::analyze`] for a rollup read, on a connection of its own ([`ROLLUP_READERS`]).
    async fn read_rollups<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.analyze_on(Pool::RollupReaders, f).await
    }

    async fn analyze_on<T, F>(&self, pool: Pool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || inner.analyze_now(pool, |connect| f(&*connect()?))).await
    }

    /// A raw aggregation (`sql`, or `digests` first if they can answer it) on the analysts'
    /// budget: the digests take a connection only for hours they do not hold yet.
    async fn aggregate<T, D, S>(&self, digests: D, sql: S) -> Result<T>
    where
        T: Send + 'static,
        D: for<'a, 'b> FnOnce(&'a digest::Digests, &'b dyn Fn() -> Result<Analyst<'a>>) -> Result<Option<T>>
            + Send
            + 'static,
        S: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        let out = blocking(move || {
            inner.analyze_now(Pool::Analysts, |connect| match digests(&inner.digests, connect)? {
                Some(answer) => Ok(answer),
                None => sql(&*connect()?),
            })
        })
        .await;
        self.inner.write_digests_later();
        out
    }

    /// Runs `f` on a read connection, off the async runtime. Under WAL it sees every transaction
    /// committed before it started, so a read after an awaited write sees that write.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || f(&inner.reader())).await
    }
}

/// Which connections an analytics read takes.
#[derive(Clone, Copy)]
enum Pool {
    Analysts,
    RollupReaders,
}

impl Inner {
    fn reader(&self) -> MutexGuard<'_, Connection> {
        pick(&self.readers, &self.next_reader)
    }

    /// Runs `f` within the analytics time budget, giving it connections of `pool` on demand:
    /// past the deadline SQLite interrupts the statement and `f` fails with
    /// [`StoreError::TimedOut`], so an abandoned query does not hold a connection.
    fn analyze_now<'a, T>(
        &'a self,
        pool: Pool,
        f: impl FnOnce(&dyn Fn() -> Result<Analyst<'a>>) -> Result<T>,
    ) -> Result<T> {
        let budget = Duration::from_millis(self.analytics_budget_ms.load(Ordering::Relaxed));
        let deadline = Instant::now() + budget;
        let connect = || -> Result<Analyst<'a>> {
            let mut conn = match pool {
                Pool::Analysts => pick(&self.analysts, &self.next_analyst),
                Pool::RollupReaders => pick(&self.rollup_readers, &self.next_rollup_reader),
            };
            conn.progress_handler(BUDGET_CHECK_STEPS, Some(move || Instant::now() >= deadline))
                .map_err(StoreError::backend)?;
            Ok(Analyst(conn))
        };
        f(&connect).map_err(|e| {
            if interrupted(&e) {
                StoreError::TimedOut(budget)
            } else {
                e
            }
        })
    }
}

/// An analytics connection whose statements stop at a deadline ([`Inner::analyze_now`]).
struct Analyst<'a>(MutexGuard<'a, Connection>);

impl Deref for Analyst<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl Drop for Analyst<'_> {
    fn drop(&mut self) {
        // Only analytics reads use these connections, and each sets its own deadline first.
        let _ = self.0.progress_handler(0, None::<fn() -> bool>);
    }
}

/// A free connection of `pool`, or else the next one in turn (and wait for it).
fn pick<'a>(pool: &'a [Mutex<Connection>], next: &AtomicUsize) -> MutexGuard<'a, Connection> {
    for r in pool {
        match r.try_lock() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(TryLockError::WouldBlock) => {}
        }
    }
    let i = next.fetch_add(1, Ordering::Relaxed) % pool.len();
    lock(&pool[i])
}

/// Whether `e` is SQLite's answer to an interrupted statement (the progress handler's doing).
fn interrupted(e: &StoreError) -> bool {
    let StoreError::Backend(inner) = e else { return false };
    inner
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        .is_some_and(|code| code == rusqlite::ErrorCode::OperationInterrupted)
}

/// A panic while a connection was held leaves nothing half-done that SQLite has not already
/// undone (an open transaction rolls back when its guard drops), so a poisoned lock is usable.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A panic in the middle of an ingest may have left the cache's bookkeeping half-done: start over.
fn lock_cache(m: &Mutex<SessionCache>) -> MutexGuard<'_, SessionCache> {
    m.lock().unwrap_or_else(|poisoned| {
        let mut cache = poisoned.into_inner();
        cache.clear();
        cache
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(StoreError::backend)?
}

/// A broken uniqueness rule is the caller's [`StoreError::Conflict`]; anything else is the
/// backend's failure.
fn conflict_or_backend(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| {
        let unique = e.sqlite_error().is_some_and(|f| {
            f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        });
        if unique {
            StoreError::Conflict(what)
        } else {
            StoreError::backend(e)
        }
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

pub(crate) fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

// --- SQL used on the hot path, built once from the column lists ---------------------------------

static SELECT_EVENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE project_id = ?1 AND occurred_at >= ?2 AND occurred_at < ?3 \
         ORDER BY occurred_at, event_id"
    )
});

/// One stored event by its id: what a replayed id is folded as.
static SELECT_EVENT_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {EVENT_COLUMNS} FROM events WHERE project_id = ?1 AND event_id = ?2"));

/// All of a visitor's sessions, for the session cache: visitor ids change daily, so this is a day's
/// visits at most.
static SELECT_VISITOR: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM sessions s WHERE project_id = ?1 AND visitor_id = ?2 ORDER BY start_at",
        *SESSION_SELECT
    )
});

static SELECT_SESSIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM sessions s WHERE project_id = ?1 AND start_at >= ?2 AND start_at < ?3 \
         ORDER BY start_at",
        *SESSION_SELECT
    )
});

const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = ?1";

/// What [`Store::delete_project`] deletes besides the project's row, each by an index leading
/// with the project. Keys and share links would go by the foreign keys' cascade too; deleting them
/// here keeps the list complete in one place.
const DELETE_PROJECT_DATA: [&str; 9] = [
    "DELETE FROM api_keys WHERE project_id = ?1",
    "DELETE FROM share_links WHERE project_id = ?1",
    "DELETE FROM goals WHERE project_id = ?1",
    "DELETE FROM events WHERE project_id = ?1",
    "DELETE FROM sessions WHERE project_id = ?1",
    "DELETE FROM session_spans WHERE project_id = ?1",
    "DELETE FROM rollups WHERE project_id = ?1",
    "DELETE FROM rollup_dirty WHERE project_id = ?1",
    "DELETE FROM hour_digests WHERE project_id = ?1",
];

/// The end of the last session the retention sweep deletes (those that started before `?1`).
const SWEPT_SESSIONS_END: &str = "SELECT coalesce(max(end_at), 0) FROM sessions WHERE start_at < ?1";

/// The kept digests of the hours before `?1`.
const SWEEP_DIGESTS: &str = "DELETE FROM hour_digests WHERE hour < ?1";

/// The project's earliest event, from the `events_time` index (its first entry for the project).
const FIRST_EVENT_AT: &str = "SELECT occurred_at FROM events WHERE project_id = ?1 ORDER BY occurred_at LIMIT 1";

/// Each visitor of a batch with its complete sessions after the batch, for the session cache.
type CommittedSessions = Vec<(VisitorKey, Vec<Session>)>;

/// The hours an ingest touched, per project ([`touched_hours`]).
type Touched = BTreeMap<ProjectId, BTreeSet<Millis>>;

/// The body of [`Store::ingest`], inside the caller's immediate transaction. Answers, besides the
/// report, the complete sessions of every visitor of the batch, for the cache once committed, and
/// the hours it touched.
fn ingest(
    tx: &Transaction<'_>,
    events: &[EnrichedEvent],
    now: Millis,
    mark_version: Millis,
    cache: &mut SessionCache,
) -> Result<(IngestReport, CommittedSessions, Touched)> {
    let (mut inserted, mut skipped): (Vec<&EnrichedEvent>, Vec<&EnrichedEvent>) = (Vec::new(), Vec::new());
    {
        let mut insert = tx.prepare_cached(&codec::INSERT_EVENT).map_err(backend)?;
        for e in events {
            match codec::insert_event(&mut insert, e).map_err(backend)? {
                0 => skipped.push(e),
                _ => inserted.push(e),
            }
        }
    }
    let stored = inserted.len();
    // An id already stored folds as stored, not as sent: a replay with other fields or from
    // another visitor then changes nothing (no session, no dirty hour of its own). Missing only
    // if deleted since (retention, its project): nothing to fold.
    let mut as_stored: Vec<EnrichedEvent> = Vec::with_capacity(skipped.len());
    if !skipped.is_empty() {
        let mut select = tx.prepare_cached(&SELECT_EVENT_BY_ID).map_err(backend)?;
        for e in skipped {
            let found = select
                .query_row(params![e.project_id.bytes(), e.id.as_str()], codec::event)
                .optional()
                .map_err(backend)?;
            as_stored.extend(found);
        }
    }

    // Every event of the batch, stored now or before: folding skips what a session already holds
    // (an id twice in one batch too), and re-folding an event whose session update was lost (a
    // crash elsewhere, a bug since fixed) repairs the session. Ordered by project and visitor so
    // the index pages are visited in order.
    let mut visitors: BTreeMap<(ProjectId, VisitorId), Vec<&EnrichedEvent>> = BTreeMap::new();
    for e in inserted.into_iter().chain(&as_stored) {
        visitors.entry((e.project_id, e.visitor_id)).or_default().push(e);
    }
    let mut load = tx.prepare_cached(&SELECT_VISITOR).map_err(backend)?;
    let mut upsert = tx.prepare_cached(&codec::UPSERT_SESSION).map_err(backend)?;
    let mut update = tx.prepare_cached(&codec::UPDATE_SESSION).map_err(backend)?;
    let mut delete = tx.prepare_cached(DELETE_SESSION).map_err(backend)?;
    let mut trail = tx.prepare_cached(codec::UPSERT_TRAIL).map_err(backend)?;
    let mut mint = || contract::encode_hex(&store::ids::mint(now));
    let mut dirty: BTreeMap<ProjectId, BTreeSet<Millis>> = BTreeMap::new();
    let mut committed_sessions = Vec::with_capacity(visitors.len());
    for ((project, visitor), mine) in &visitors {
        let all = match cache.take(&(*project, *visitor)) {
            Some(all) => all,
            None => load
                .query_map(params![project.bytes(), visitor_to_sql(*visitor)], codec::session)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Session>>>())
                .map_err(backend)?,
        };
        // fold needs the sessions in sessions::window and leaves the others as they are: all of
        // them go in, and come out as the visitor's complete set again.
        // Each stored session's start and trail length: a trail only ever gains steps, so one whose
        // length and start did not change (a batch of page exits) needs no write.
        let stored_starts: Vec<(String, Millis, usize)> =
            all.iter().map(|s| (s.id.clone(), s.start, s.trail.len())).collect();
        let folded = sessions::fold(all, mine, &mut mint);
        let removed_starts: Vec<Millis> = stored_starts
            .iter()
            .filter(|(id, _, _)| folded.removed.contains(id))
            .map(|(_, start, _)| *start)
            .collect();
        dirty.entry(*project).or_default().extend(touched_hours(
            mine.iter().copied(),
            &folded.sessions,
            &removed_starts,
        ));
        for id in &folded.removed {
            let id = codec::session_id_bytes(id).map_err(StoreError::backend)?;
            delete.execute([id]).map_err(backend)?;
        }
        for s in folded.sessions.iter().filter(|s| folded.changed.contains(&s.id)) {
            let stored = stored_starts.iter().find(|(id, _, _)| *id == s.id);
            let start_kept = stored.is_some_and(|(_, start, _)| *start == s.start);
            let trail_kept = start_kept && stored.is_some_and(|(_, _, len)| *len == s.trail.len());
            let statement = if start_kept { &mut update } else { &mut upsert };
            codec::write_session(statement, (!trail_kept).then_some(&mut *trail), s)?;
        }
        committed_sessions.push(((*project, *visitor), folded.sessions));
    }
    for (project, hours) in &dirty {
        analytics::mark_dirty(tx, project, hours, mark_version)?;
        digest::forget_kept(tx, project, hours)?;
    }
    let report = IngestReport {
        stored,
        duplicates: events.len() - stored,
    };
    Ok((report, committed_sessions, dirty))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn health(&self) -> Result<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    // --- owners ---------------------------------------------------------------------------------

    async fn create_user(&self, user: &User) -> Result<()> {
        let user = user.clone();
        self.write(move |tx| {
            tx.prepare_cached(&format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4)"))
                .and_then(|mut s| {
                    s.execute(params![
                        user.id.bytes(),
                        user.email.as_str(),
                        user.password_hash,
                        user.created_at
                    ])
                })
                .map_err(conflict_or_backend("email"))?;
            Ok(())
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let email = email.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"))
                .and_then(|mut s| s.query_row([email], codec::user).optional())
                .map_err(backend)
        })
        .await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        let id = id.bytes();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], codec::user).optional())
                .map_err(backend)
        })
        .await
    }

    async fn update_password(&self, user: &UserId, password_hash: &str) -> Result<bool> {
        let (id, hash) = (user.bytes(), password_hash.to_owned());
        self.write(move |tx| {
            let n = tx
                .prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, hash]))
                .map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    // --- login sessions and bearer tokens -------------------------------------------------------

    async fn create_auth_token(&self, token: &AuthToken) -> Result<()> {
        let t = token.clone();
        self.write(move |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO auth_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    t.token_hash,
                    t.user_id.bytes(),
                    t.kind.as_str(),
                    t.label,
                    t.created_at,
                    t.expires_at
                ])
            })
            .map_err(conflict_or_backend("auth token"))?;
            Ok(())
        })
        .await
    }

    async fn auth_token(&self, token_hash: &str, now: Millis) -> Result<Option<AuthToken>> {
        let hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM auth_tokens WHERE token_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)"
            ))
            .and_then(|mut s| s.query_row(params![hash, now], codec::auth_token).optional())
            .map_err(backend)
        })
        .await
    }

    async fn delete_auth_token(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM auth_tokens WHERE token_hash = ?1")
                .and_then(|mut s| s.execute([hash]))
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn auth_tokens_of(&self, user: &UserId) -> Result<Vec<AuthToken>> {
        let id = user.bytes();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM auth_tokens WHERE user_id = ?1 ORDER BY created_at DESC, token_hash DESC"
            ))
            .and_then(|mut s| s.query_map([id], codec::auth_token)?.collect())
            .map_err(backend)
        })
        .await
    }

    async fn delete_auth_tokens_of(&self, user: &UserId, kind: TokenKind, except_hash: Option<&str>) -> Result<u64> {
        let (id, except) = (user.bytes(), except_hash.map(str::to_owned));
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "DELETE FROM auth_tokens WHERE user_id = ?1 AND kind = ?2 AND (?3 IS NULL OR token_hash <> ?3)",
                )
                .and_then(|mut s| s.execute(params![id, kind.as_str(), except]))
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
    }

    // --- projects and keys ----------------------------------------------------------------------

    async fn create_project(&self, project: &Project) -> Result<()> {
        let p = project.clone();
        self.write(move |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO projects ({PROJECT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    p.id.bytes(),
                    p.owner.bytes(),
                    p.name.as_str(),
                    p.created_at,
                    p.domain.as_ref().map(|d| d.as_str()),
                    p.timezone.as_str()
                ])
            })
            .map_err(conflict_or_backend("project"))?;
            Ok(())
        })
        .await
    }

    async fn project(&self, id: &ProjectId) -> Result<Option<Project>> {
        let id = id.bytes();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], codec::project).optional())
                .map_err(backend)
        })
        .await
    }

    async fn projects_of(&self, owner: &UserId) -> Result<Vec<Project>> {
        let owner = owner.bytes();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {PROJECT_COLUMNS} FROM projects WHERE owner_id = ?1 ORDER BY created_at DESC, id DESC"
            ))
            .and_then(|mut s| s.query_map([owner], codec::project)?.collect())
            .map_err(backend)
        })
        .await
    }

    async fn update_project(&self, project: &Project) -> Result<bool> {
        let p = project.clone();
        self.write(move |tx| {
            // SQLite counts a matched row as changed even when its values stay the same, so the
            // count tells whether the project exists.
            let n = tx
                .prepare_cached("UPDATE projects SET name = ?2, domain = ?3, timezone = ?4 WHERE id = ?1")
                .and_then(|mut s| {
                    s.execute(params![
                        p.id.bytes(),
                        p.name.as_str(),
                        p.domain.as_ref().map(|d| d.as_str()),
                        p.timezone.as_str()
                    ])
                })
                .map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn delete_project(&self, id: &ProjectId) -> Result<bool> {
        let project = *id;
        let inner = self.inner.clone();
        // One transaction: the project and all of its data go together or not at all. It holds
        // the write lock for as long as deleting the project's events takes (ingest waits).
        let digests = self.inner.digests.clone();
        self.write_then(
            move |tx| {
                let id = project.bytes();
                for sql in DELETE_PROJECT_DATA {
                    tx.prepare_cached(sql)
                        .and_then(|mut s| s.execute([id]))
                        .map_err(backend)?;
                }
                let n = tx
                    .prepare_cached("DELETE FROM projects WHERE id = ?1")
                    .and_then(|mut s| s.execute([id]))
                    .map_err(backend)?;
                // Under the writer's lock, so no ingest sees the cache between the deletion and this:
                // a cached visitor would otherwise bring its deleted sessions back with its next event.
                // Dropped before the commit is harmless: a visitor not cached is read from the file.
                lock_cache(&inner.sessions).forget_project(&project);
                Ok(n > 0)
            },
            // After the commit, so that no digest read before it is kept or written after it.
            move |_| digests.clear(),
        )
        .await
    }

    async fn create_key(&self, key: &KeyRecord) -> Result<()> {
        let k = key.clone();
        self.write(move |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    k.id.bytes(),
                    k.project_id.bytes(),
                    k.label.as_str(),
                    k.key_hash.as_str(),
                    k.key_preview.as_str(),
                    k.created_at,
                    k.last_used_at,
                    k.revoked_at
                ])
            })
            .map_err(conflict_or_backend("key"))?;
            Ok(())
        })
        .await
    }

    async fn key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        let id = id.bytes();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], codec::key).optional())
                .map_err(backend)
        })
        .await
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>> {
        let hash = hash.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"))
                .and_then(|mut s| s.query_row([hash], codec::key).optional())
                .map_err(backend)
        })
        .await
    }

    async fn keys_of(&self, project: &ProjectId) -> Result<Vec<KeyRecord>> {
        let project = project.bytes();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE project_id = ?1 ORDER BY created_at DESC, id DESC"
            ))
            .and_then(|mut s| s.query_map([project], codec::key)?.collect())
            .map_err(backend)
        })
        .await
    }

    async fn revoke_key(&self, id: &KeyId, at: Millis) -> Result<bool> {
        let id = id.bytes();
        self.write(move |tx| {
            // coalesce keeps the first revocation time; the row still counts as changed, so the
            // count tells whether the key exists.
            let n = tx
                .prepare_cached("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, at]))
                .map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn touch_keys(&self, used: &[(KeyId, Millis)]) -> Result<()> {
        if used.is_empty() {
            return Ok(());
        }
        let used = used.to_vec();
        self.write(move |tx| {
            // max() in SQL, not a read-then-write in Rust: raising is then correct whatever
            // another process wrote since, and needs one statement per key.
            let mut s = tx
                .prepare_cached("UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?2), ?2) WHERE id = ?1")
                .map_err(backend)?;
            for (id, at) in used {
                s.execute(params![id.bytes(), at]).map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    // --- share links ----------------------------------------------------------------------------

    async fn create_share_link(&self, link: &ShareLink) -> Result<()> {
        let l = link.clone();
        self.write(move |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO share_links ({SHARE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    l.id.bytes(),
                    l.project_id.bytes(),
                    l.slug.as_str(),
                    l.label.as_str(),
                    l.password_hash,
                    l.created_at
                ])
            })
            .map_err(conflict_or_backend("share link"))?;
            Ok(())
        })
        .await
    }

    async fn share_links_of(&self, project: &ProjectId) -> Result<Vec<ShareLink>> {
        let project = project.bytes();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SHARE_COLUMNS} FROM share_links WHERE project_id = ?1 ORDER BY created_at DESC, id DESC"
            ))
            .and_then(|mut s| s.query_map([project], codec::share_link)?.collect())
            .map_err(backend)
        })
        .await
    }

    async fn share_link_by_slug(&self, slug: &ShareSlug) -> Result<Option<ShareLink>> {
        let slug = slug.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {SHARE_COLUMNS} FROM share_links WHERE slug = ?1"))
                .and_then(|mut s| s.query_row([slug], codec::share_link).optional())
                .map_err(backend)
        })
        .await
    }

    async fn delete_share_link(&self, id: &ShareId) -> Result<bool> {
        let id = id.bytes();
        self.write(move |tx| {
            let n = tx
                .prepare_cached("DELETE FROM share_links WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    // --- daily visitor salts --------------------------------------------------------------------

    async fn salt_for_day(&self, day: i64, candidate: [u8; 32]) -> Result<[u8; 32]> {
        self.write(move |tx| {
            // Insert-if-absent then read, in one immediate transaction: whichever handle or
            // process gets the write lock first decides the day's salt for everyone.
            tx.prepare_cached("INSERT INTO salts (day, salt) VALUES (?1, ?2) ON CONFLICT (day) DO NOTHING")
                .and_then(|mut s| s.execute(params![day, candidate]))
                .map_err(backend)?;
            let salt: Vec<u8> = tx
                .prepare_cached("SELECT salt FROM salts WHERE day = ?1")
                .and_then(|mut s| s.query_row([day], |r| r.get(0)))
                .map_err(backend)?;
            salt.try_into().map_err(|_| StoreError::backend(codec::Invalid("salt")))
        })
        .await
    }

    async fn delete_salts_before(&self, day: i64) -> Result<u64> {
        self.write(move |tx| {
            let n = tx
                .prepare_cached("DELETE FROM salts WHERE day < ?1")
                .and_then(|mut s| s.execute([day]))
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
    }

    // --- events and sessions --------------------------------------------------------------------

    async fn ingest(&self, events: &[EnrichedEvent]) -> Result<IngestReport> {
        if events.is_empty() {
            return Ok(IngestReport::default());
        }
        let now = now_ms();
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_threaded {
            // Written from this thread, the batch needs no copy for a blocking thread: copying
            // (and later freeing) its thousands of small strings took ~5% of the ingest bench's
            // profile. `block_in_place` first hands this worker's other tasks to another worker.
            let inner = &self.inner;
            return tokio::task::block_in_place(|| inner.ingest_now(events, now));
        }
        let events = events.to_vec();
        let inner = self.inner.clone();
        blocking(move || inner.ingest_now(&events, now)).await
    }

    async fn events(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<EnrichedEvent>> {
        let project = project.bytes();
        self.read(move |c| {
            c.prepare_cached(&SELECT_EVENTS)
                .and_then(|mut s| s.query_map(params![project, from, to], codec::event)?.collect())
                .map_err(backend)
        })
        .await
    }

    async fn sessions(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<Session>> {
        let project = project.bytes();
        let mut sessions: Vec<Session> = self
            .read(move |c| {
                c.prepare_cached(&SELECT_SESSIONS)
                    .and_then(|mut s| s.query_map(params![project, from, to], codec::session)?.collect())
                    .map_err(backend)
            })
            .await?;
        // Ties by visitor as an unsigned number: the stored bit-cast i64 would put visitor ids of
        // 2^63 and above first. The rows come sorted by start, so this only reorders ties.
        sessions.sort_by_key(|s| (s.start, s.visitor_id));
        Ok(sessions)
    }

    async fn first_event_at(&self, project: &ProjectId) -> Result<Option<Millis>> {
        let project = project.bytes();
        self.read(move |c| {
            c.prepare_cached(FIRST_EVENT_AT)
                .and_then(|mut s| s.query_row([project], |r| r.get(0)).optional())
                .map_err(backend)
        })
        .await
    }

    async fn aggregate_events(&self, q: &RawQuery) -> Result<Vec<EventGroup>> {
        let q = Arc::new(q.clone());
        let q2 = q.clone();
        self.aggregate(
            move |digests, connect| digests.events(connect, &q),
            move |c| analytics::aggregate_events(c, &q2),
        )
        .await
    }

    async fn aggregate_sessions(&self, q: &RawQuery) -> Result<Vec<SessionGroup>> {
        let q = Arc::new(q.clone());
        let q2 = q.clone();
        self.aggregate(
            move |digests, connect| digests.sessions(connect, &q),
            move |c| analytics::aggregate_sessions(c, &q2),
        )
        .await
    }

    async fn sessions_of_visitors(&self, project: &ProjectId, visitors: &[VisitorId]) -> Result<Vec<Session>> {
        let project = *project;
        let visitors = visitors.to_vec();
        self.read(move |c| {
            let mut out: Vec<Session> = Vec::new();
            // SQLite's default limit is 32766 parameters; chunks keep far below it.
            for chunk in visitors.chunks(500) {
                let sql = format!(
                    "SELECT {} FROM sessions s WHERE project_id = ?1 AND visitor_id IN ({})",
                    *SESSION_SELECT,
                    analytics::placeholders(2, chunk.len())
                );
                let params = analytics::visitor_params(&project, chunk);
                let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params.iter()), codec::session)
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Session>>>())
                    .map_err(backend)?;
                out.extend(rows);
            }
            out.sort_by_key(|s| (s.visitor_id, s.start));
            Ok(out)
        })
        .await
    }

    async fn dirty_hours(&self, limit: usize) -> Result<Vec<DirtyHour>> {
        self.read(move |c| analytics::dirty_hours(c, limit)).await
    }

    async fn clear_dirty(&self, mark: &DirtyHour) -> Result<bool> {
        let mark = mark.clone();
        self.write(move |tx| analytics::clear_dirty(tx, &mark)).await
    }

    async fn replace_rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        bucket: Millis,
        rows: &[RollupRow],
    ) -> Result<()> {
        let project = *project;
        let rows = rows.to_vec();
        self.write(move |tx| analytics::replace_rollups(tx, &project, granularity, bucket, &rows))
            .await
    }

    async fn rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: Option<&RollupDim>,
    ) -> Result<Vec<StoredRollup>> {
        let project = *project;
        let dim = dim.cloned();
        if granularity == Granularity::Day {
            // A dashboard is open: its filters will want the digests.
            self.prefetch_digests(&project, from, to);
        }
        self.read_rollups(move |c| analytics::rollups(c, &project, granularity, from, to, dim.as_ref()))
            .await
    }

    fn reads_summaries_cheaply(&self) -> bool {
        true
    }

    async fn rollup_summaries(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: &RollupDim,
    ) -> Result<Vec<RollupSummary>> {
        let (project, dim) = (*project, dim.clone());
        if granularity == Granularity::Day {
            self.prefetch_digests(&project, from, to);
        }
        self.read_rollups(move |c| analytics::rollup_summaries(c, &project, granularity, from, to, &dim))
            .await
    }

    async fn rollups_of_values(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: &RollupDim,
        values: &[String],
    ) -> Result<Vec<StoredRollup>> {
        let (project, dim, values) = (*project, dim.clone(), values.to_vec());
        self.read_rollups(move |c| analytics::rollups_of_values(c, &project, granularity, from, to, &dim, &values))
            .await
    }

    // --- goals -----------------------------------------------------------------------------------

    async fn create_goal(&self, goal: &Goal) -> Result<()> {
        let goal = goal.clone();
        self.write(move |tx| goals::create(tx, &goal)).await
    }

    async fn goals_of(&self, project: &ProjectId) -> Result<Vec<Goal>> {
        let project = *project;
        self.read(move |c| goals::of_project(c, &project)).await
    }

    async fn delete_goal(&self, project: &ProjectId, id: &GoalId) -> Result<bool> {
        let (project, id) = (*project, *id);
        self.write(move |tx| goals::delete(tx, &project, &id)).await
    }

    // --- annotations -------------------------------------------------------------------------

    async fn create_annotation(&self, annotation: &Annotation) -> Result<()> {
        let note = annotation.clone();
        self.write(move |tx| annotations::create(tx, &note)).await
    }

    async fn annotations_of(&self, project: &ProjectId) -> Result<Vec<Annotation>> {
        let project = *project;
        self.read(move |c| annotations::of_project(c, &project)).await
    }

    async fn delete_annotation(&self, project: &ProjectId, id: &AnnotationId) -> Result<bool> {
        let (project, id) = (*project, *id);
        self.write(move |tx| annotations::delete(tx, &project, &id)).await
    }

    // --- segments ----------------------------------------------------------------------------

    async fn create_segment(&self, segment: &Segment) -> Result<()> {
        let segment = segment.clone();
        self.write(move |tx| segments::create(tx, &segment)).await
    }

    async fn segments_of(&self, project: &ProjectId) -> Result<Vec<Segment>> {
        let project = *project;
        self.read(move |c| segments::of_project(c, &project)).await
    }

    async fn delete_segment(&self, project: &ProjectId, id: &SegmentId) -> Result<bool> {
        let (project, id) = (*project, *id);
        self.write(move |tx| segments::delete(tx, &project, &id)).await
    }

    // --- funnels -----------------------------------------------------------------------------

    async fn funnel(
        &self,
        q: &store::analytics::funnel::FunnelQuery,
    ) -> Result<store::analytics::funnel::FunnelCounts> {
        let q = q.clone();
        self.analyze(move |c| flows::funnel(c, &q)).await
    }

    async fn create_saved_funnel(&self, funnel: &store::funnels::SavedFunnel) -> Result<()> {
        let funnel = funnel.clone();
        self.write(move |tx| funnels::create_saved_funnel(tx, &funnel)).await
    }

    async fn saved_funnels_of(&self, project: &ProjectId) -> Result<Vec<store::funnels::SavedFunnel>> {
        let project = *project;
        self.read(move |c| funnels::saved_funnels_of(c, &project)).await
    }

    async fn delete_saved_funnel(&self, project: &ProjectId, id: &store::ids::FunnelId) -> Result<bool> {
        let (project, id) = (*project, *id);
        self.write(move |tx| funnels::delete_saved_funnel(tx, &project, &id))
            .await
    }

    // --- journeys and the session explorer ---------------------------------------------------

    async fn journeys(
        &self,
        q: &store::analytics::journeys::JourneyQuery,
    ) -> Result<store::analytics::journeys::Journeys> {
        let q = q.clone();
        self.analyze(move |c| flows::journeys(c, &q)).await
    }

    async fn session_list(&self, q: &store::analytics::explorer::SessionListQuery) -> Result<Vec<Session>> {
        let q = q.clone();
        self.analyze(move |c| explorer::session_list(c, &q)).await
    }

    async fn session(
        &self,
        project: &ProjectId,
        id: &store::analytics::explorer::SessionId,
    ) -> Result<Option<Session>> {
        let (project, id) = (*project, id.clone());
        self.read(move |c| explorer::session(c, &project, &id)).await
    }

    async fn session_events(&self, session: &Session, limit: usize) -> Result<Vec<EnrichedEvent>> {
        let session = session.clone();
        self.analyze(move |c| explorer::session_events(c, &session, limit))
            .await
    }

    async fn delete_expired(&self, r: &Retention) -> Result<Expired> {
        let r = *r;
        let inner = self.inner.clone();
        let digests = self.inner.digests.clone();
        let (expired, _) = self
            .write_then(
                move |tx| {
                    let run = |sql: &str, at: Millis| tx.execute(sql, [at]).map_err(backend);
                    // An event after the cut-off whose session goes loses that session's fields, so
                    // the digests go up to the end of the last session deleted.
                    let reach: Millis = tx
                        .query_row(SWEPT_SESSIONS_END, [r.raw_before], |row| row.get(0))
                        .map_err(backend)?;
                    let reach = reach.max(r.raw_before);
                    run(SWEEP_DIGESTS, reach)?;
                    let events = run("DELETE FROM events WHERE occurred_at < ?1", r.raw_before)?;
                    let sessions = run("DELETE FROM sessions WHERE start_at < ?1", r.raw_before)?;
                    // The days wholly before the cut-off: their sessions are all gone.
                    run("DELETE FROM session_spans WHERE day < ?1 / 86400000", r.raw_before)?;
                    // Under the writer's lock, so no ingest folds into a swept session meanwhile.
                    lock_cache(&inner.sessions).clear();
                    run("DELETE FROM rollup_dirty WHERE hour < ?1", r.raw_before)?;
                    let hourly = tx
                        .execute(
                            "DELETE FROM rollups WHERE granularity = ?1 AND bucket < ?2",
                            params![Granularity::Hour.code(), r.hourly_before],
                        )
                        .map_err(backend)?;
                    let daily = tx
                        .execute(
                            "DELETE FROM rollups WHERE granularity = ?1 AND bucket < ?2",
                            params![Granularity::Day.code(), r.daily_before],
                        )
                        .map_err(backend)?;
                    let expired = Expired {
                        events: events as u64,
                        sessions: sessions as u64,
                        rollups: (hourly + daily) as u64,
                    };
                    Ok((expired, reach))
                },
                // After the commit, under the writer's lock: see `digest`'s kept digests.
                move |(expired, reach)| {
                    if expired.events > 0 || expired.sessions > 0 {
                        digests.forget_before(*reach);
                    }
                },
            )
            .await?;
        Ok(expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{Name, TimeZoneName};

    /// Visitors of hours no longer held (touched and not read again) do not pile up in the
    /// project's dictionaries: once they outnumber the rows held, the project starts over, and
    /// its answers stay exact.
    #[tokio::test]
    async fn stale_visitor_codes_make_a_project_start_over() {
        use store::sessions::testing::event;
        const T: Millis = 1_793_613_600_000;
        const H: Millis = 3_600_000;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        let p = ProjectId::from_bytes([9; 12]);
        let visit = |v: u64, at: Millis| event(p, v, &format!("r{v}"), "pageview", at, "/a");
        store
            .ingest(&[visit(1, T + 60_000), visit(2, T + 120_000), visit(3, T + 180_000)])
            .await
            .unwrap();
        let first_hour = RawQuery::range(p, T, T + H);
        assert_eq!(store.aggregate_events(&first_hour).await.unwrap()[0].visitors, 3);
        let digests = &store.inner.digests;
        assert_eq!(digests.visitor_codes(&p), 3);
        // A late event touches the first hour: its digest goes, its three visitors' codes stay.
        store
            .ingest(&[event(p, 1, "r1-late", "pageview", T + 240_000, "/b")])
            .await
            .unwrap();
        let second_hour = RawQuery::range(p, T + H, T + 2 * H);
        store.ingest(&[visit(4, T + H + 60_000)]).await.unwrap();
        assert_eq!(store.aggregate_events(&second_hour).await.unwrap()[0].visitors, 1);
        // Four codes for the two rows held (an event and its session): started over.
        assert_eq!(digests.visitor_codes(&p), 0);
        let both = RawQuery::range(p, T, T + 2 * H);
        let answer = store.aggregate_events(&both).await.unwrap();
        assert_eq!((answer[0].visitors, answer[0].pageviews), (4, 5));
        assert_eq!(digests.visitor_codes(&p), 4, "read again, only the visitors held");
    }

    /// Hours the digests hold are counted without a connection: a filtered dashboard's panels
    /// keep counting while long reads (funnels, a cold hour's rows) hold every analyst.
    #[tokio::test]
    async fn held_digests_answer_while_every_analyst_is_busy() {
        use store::analytics::{Field, Filter, FilterOp};
        use store::sessions::testing::event;
        const T: Millis = 1_793_613_600_000;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        let p = ProjectId::from_bytes([9; 12]);
        store
            .ingest(&[
                event(p, 1, "r1", "pageview", T + 10 * 60_000, "/a"),
                event(p, 2, "r2", "pageview", T + 20 * 60_000, "/b"),
            ])
            .await
            .unwrap();
        let q = RawQuery::range(p, T, T + 3_600_000);
        assert_eq!(store.aggregate_events(&q).await.unwrap()[0].pageviews, 2, "read once");
        let busy: Vec<MutexGuard<'_, Connection>> = store.inner.analysts.iter().map(lock).collect();
        let filtered = RawQuery {
            filters: vec![Filter {
                op: FilterOp::Is,
                field: Field::Page,
                values: vec!["/b".into()],
            }],
            ..q
        };
        let answer = tokio::time::timeout(Duration::from_secs(10), store.aggregate_events(&filtered))
            .await
            .expect("answered without an analyst")
            .unwrap();
        assert_eq!((answer[0].pageviews, answer[0].visitors), (1, 1));
        drop(busy);
    }

    /// A digest read before an ingest that changes its hour is not written after it: the check
    /// that it is still current runs under the writer's lock ([`digest::Digests::write_some`]).
    #[tokio::test]
    async fn a_digest_read_before_an_ingest_is_not_written_after_it() {
        use store::sessions::testing::event;
        const T: Millis = 1_793_613_600_000;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        let p = ProjectId::from_bytes([9; 12]);
        store
            .ingest(&[event(p, 1, "r1", "pageview", T + 10 * 60_000, "/a")])
            .await
            .unwrap();
        let conn = open_connection(store.path()).unwrap();
        let q = RawQuery::range(p, T, T + 3_600_000);
        // Straight from the digests: the store's own query would start writing them at once.
        assert!(store.inner.digests.events(|| Ok(&conn), &q).unwrap().is_some());
        store
            .ingest(&[event(p, 1, "r2", "pageview", T + 20 * 60_000, "/b")])
            .await
            .unwrap();
        store.write_digests().unwrap();
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM hour_digests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 0, "the digest without r2 is not kept");
        // Read again, it is.
        assert!(store.inner.digests.events(|| Ok(&conn), &q).unwrap().is_some());
        store.write_digests().unwrap();
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM hour_digests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1);
    }

    /// A file at version 3, made by the shipped migrations themselves (not rebuilt by hand from
    /// the newest schema), opens, migrates, and reads its projects with no domain and UTC.
    #[tokio::test]
    async fn a_version_3_file_reads_its_projects_with_no_domain_and_utc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.sqlite3");
        let owner = UserId::new(1_763_683_200_000);
        let project = ProjectId::from_bytes([5; 12]);
        {
            let conn = Connection::open(&path).unwrap();
            analytics::register_functions(&conn).unwrap();
            for migration in &schema::MIGRATIONS[..3] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, 'ada@example.com', 'x', 1)",
                [owner.bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO projects (id, owner_id, name, created_at) VALUES (?1, ?2, 'Blog', 2)",
                params![project.bytes(), owner.bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO auth_tokens (token_hash, user_id, kind, label, created_at) VALUES ('t', ?1, 'login', '', 3)",
                [owner.bytes()],
            )
            .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().await.unwrap(), schema::MIGRATIONS.len() as i64);
        let blog = Project {
            id: project,
            owner,
            name: Name::parse("Blog").unwrap(),
            domain: None,
            timezone: TimeZoneName::utc(),
            created_at: 2,
        };
        assert_eq!(s.project(&project).await.unwrap(), Some(blog.clone()));
        assert_eq!(s.projects_of(&owner).await.unwrap(), vec![blog]);
        assert_eq!(s.share_links_of(&project).await.unwrap(), vec![]);
        assert_eq!(
            s.auth_tokens_of(&owner).await.unwrap().len(),
            1,
            "tokens survive the index swap"
        );
    }

    /// Every read connection maps the whole file ([`schema::READ_MMAP_BYTES`]) and the writer
    /// maps nothing. SQLite answers the limit in force, clamped to `SQLITE_MAX_MMAP_SIZE`: a build
    /// that missed `.cargo/config.toml`'s `LIBSQLITE3_FLAGS` answers 2 GiB here and fails.
    #[test]
    fn read_connections_map_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_in(dir.path()).unwrap();
        let mmap_size = |conn: &Connection| -> i64 { conn.query_row("PRAGMA mmap_size", [], |r| r.get(0)).unwrap() };
        let inner = &s.inner;
        for conn in inner.readers.iter().chain(&inner.analysts).chain(&inner.rollup_readers) {
            assert_eq!(mmap_size(&lock(conn)), schema::READ_MMAP_BYTES);
        }
        assert_eq!(mmap_size(&lock(&inner.writer)), 0);
    }

    /// An analytics read past its budget is interrupted and reported as timed out, and the
    /// connection serves the next read normally.
    #[tokio::test]
    async fn an_analytics_read_past_its_budget_is_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_in(dir.path()).unwrap();
        s.set_analytics_budget(Duration::from_millis(50));
        let started = Instant::now();
        // Counts forever: only the interrupt ends it.
        let endless = s
            .analyze(|c| {
                c.query_row(
                    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(backend)
            })
            .await;
        assert!(
            matches!(endless, Err(StoreError::TimedOut(b)) if b == Duration::from_millis(50)),
            "{endless:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "cancelled, not run to the end"
        );
        for _ in 0..ANALYSTS {
            let q = RawQuery::range(ProjectId::from_bytes([1; 12]), 0, 1);
            s.aggregate_events(&q).await.expect("the connections still work");
        }
    }

    /// Every query of the trait is answered from an index, never by scanning a table: the
    /// difference between milliseconds and seconds once the events table holds millions of rows.
    #[test]
    fn every_query_uses_an_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let queries = [
            SELECT_EVENTS.to_string(),
            SELECT_EVENT_BY_ID.to_string(),
            SELECT_VISITOR.to_string(),
            SELECT_SESSIONS.to_string(),
            DELETE_SESSION.to_string(),
            codec::UPDATE_SESSION.to_string(),
            format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
            format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            format!("SELECT {TOKEN_COLUMNS} FROM auth_tokens WHERE token_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)"),
            format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE owner_id = ?1 ORDER BY created_at DESC, id DESC"),
            format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE project_id = ?1 ORDER BY created_at DESC, id DESC"),
            format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"),
            "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?2), ?2) WHERE id = ?1".to_string(),
            "SELECT salt FROM salts WHERE day = ?1".to_string(),
            analytics::SELECT_SUMMARIES.to_string(),
            "UPDATE users SET password_hash = ?2 WHERE id = ?1".to_string(),
            format!("SELECT {TOKEN_COLUMNS} FROM auth_tokens WHERE user_id = ?1 ORDER BY created_at DESC, token_hash DESC"),
            "DELETE FROM auth_tokens WHERE user_id = ?1 AND kind = ?2 AND (?3 IS NULL OR token_hash <> ?3)".to_string(),
            "UPDATE projects SET name = ?2, domain = ?3, timezone = ?4 WHERE id = ?1".to_string(),
            "DELETE FROM projects WHERE id = ?1".to_string(),
            format!("SELECT {SHARE_COLUMNS} FROM share_links WHERE project_id = ?1 ORDER BY created_at DESC, id DESC"),
            format!("SELECT {SHARE_COLUMNS} FROM share_links WHERE slug = ?1"),
            "DELETE FROM share_links WHERE id = ?1".to_string(),
            FIRST_EVENT_AT.to_string(),
            goals::SELECT_GOALS_OF.to_string(),
            goals::DELETE_GOAL.to_string(),
            annotations::SELECT_ANNOTATIONS_OF.to_string(),
            annotations::DELETE_ANNOTATION.to_string(),
            segments::SELECT_SEGMENTS_OF.to_string(),
            segments::DELETE_SEGMENT.to_string(),
            funnels::SELECT_SAVED_FUNNELS.to_string(),
            funnels::DELETE_SAVED_FUNNEL.to_string(),
            digest::KEPT_DIGESTS_SQL.to_string(),
            digest::FORGET_KEPT_SQL.to_string(),
            digest::KEPT_PROJECTS_SQL.to_string(),
            SWEPT_SESSIONS_END.to_string(),
            SWEEP_DIGESTS.to_string(),
        ];
        let queries = queries.into_iter().chain(DELETE_PROJECT_DATA.map(str::to_owned));
        for sql in queries {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let nulls = rusqlite::params_from_iter(std::iter::repeat_n(rusqlite::types::Null, stmt.parameter_count()));
            let plan: Vec<String> = stmt
                .query_map(nulls, |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(!plan.is_empty(), "{sql}");
            for step in &plan {
                // A sort of the rows of one timestamp by id is fine; a sort of the whole result is not.
                // A correlated subquery's own steps follow its heading.
                let indexed = step.contains("USING")
                    || step.starts_with("USE TEMP B-TREE FOR LAST TERM")
                    || step.starts_with("CORRELATED SCALAR SUBQUERY");
                assert!(indexed, "{sql}: {step}");
            }
        }
        // The top-N ranking reads no sketch: its index covers the query.
        let plan: String = conn
            .query_row(
                &format!("EXPLAIN QUERY PLAN {}", analytics::SELECT_SUMMARIES),
                rusqlite::params![rusqlite::types::Null, 0, "page", 0, 1],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("COVERING INDEX rollups_summary"), "{plan}");
        // The first event is the index's first entry for the project: no sort, no table row.
        let plan: String = conn
            .query_row(
                &format!("EXPLAIN QUERY PLAN {FIRST_EVENT_AT}"),
                [rusqlite::types::Null],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("COVERING INDEX events_time"), "{plan}");
    }
}
