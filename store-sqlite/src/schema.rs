//! The schema, as numbered migrations, and the per-connection settings.
//!
//! The schema version lives in SQLite's own header field `PRAGMA user_version`: migration `i`
//! (0-based) brings a database from version `i` to `i + 1`. Migrations are append-only: a shipped
//! one is never edited, a change is a new entry, so every database on disk can be brought forward.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

/// How long a connection waits for another connection's (or process's) write lock before failing
/// with `SQLITE_BUSY`. Ingest transactions take milliseconds, so this is only reached when
/// something is badly stuck.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements kept per connection. The store has about 30 distinct statements; the
/// default cache of 16 would evict hot ones.
pub(crate) const STATEMENT_CACHE: usize = 64;

/// Version 1: everything the [`store::Store`] trait needs.
///
/// Ids are 12-byte BLOBs (half the size of hex text, in every index too), times are INTEGER ms
/// since the Unix epoch, visitor ids are the u64 bit-cast to INTEGER (SQLite has no unsigned type).
/// Fields the dashboard filters and groups on (utm, client, geo) are real columns, not JSON.
const V1: &str = r#"
CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE auth_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('login', 'api')),
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
) WITHOUT ROWID;
-- Foreign-key checks on deleting a user, and "log out everywhere".
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE projects (
    id         BLOB PRIMARY KEY NOT NULL,
    owner_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX projects_owner ON projects (owner_id, created_at);

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY NOT NULL,
    project_id   BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    key_preview  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX api_keys_project ON api_keys (project_id, created_at);

CREATE TABLE salts (
    day  INTEGER PRIMARY KEY NOT NULL,
    salt BLOB NOT NULL CHECK (length(salt) = 32)
);

-- No foreign key to projects: events are checked against their key before they get here, and a
-- per-row foreign-key lookup would cost ingest throughput for nothing.
-- A rowid table (not WITHOUT ROWID): rows are large (URLs) and arrive roughly in time order, so
-- appending by rowid keeps the table B-tree writes sequential.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY,
    project_id      BLOB NOT NULL,
    event_id        TEXT NOT NULL,
    name            TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    visitor_id      INTEGER NOT NULL,
    hostname        TEXT NOT NULL,
    path            TEXT NOT NULL,
    url             TEXT NOT NULL,
    referrer        TEXT,
    source          TEXT,
    utm_source      TEXT,
    utm_medium      TEXT,
    utm_campaign    TEXT,
    utm_term        TEXT,
    utm_content     TEXT,
    -- Compact JSON object of string values; NULL when there are none (most events).
    props           TEXT,
    duration_ms     INTEGER,
    scroll_depth    INTEGER,
    screen_width    INTEGER,
    browser         TEXT NOT NULL,
    browser_version TEXT NOT NULL,
    os              TEXT NOT NULL,
    os_version      TEXT NOT NULL,
    device          TEXT NOT NULL,
    country         TEXT,
    region          TEXT,
    city            TEXT,
    timezone        TEXT,
    colo            TEXT,
    asn             INTEGER
);
-- Idempotent ingest: an event id is stored once per project.
CREATE UNIQUE INDEX events_event_id ON events (project_id, event_id);
-- Store::events and every dashboard query over a time range.
CREATE INDEX events_time ON events (project_id, occurred_at);

CREATE TABLE sessions (
    seq             INTEGER PRIMARY KEY,
    -- 12 bytes; shown as 24 hex characters.
    id              BLOB NOT NULL UNIQUE,
    project_id      BLOB NOT NULL,
    visitor_id      INTEGER NOT NULL,
    start_at        INTEGER NOT NULL,
    end_at          INTEGER NOT NULL,
    entry_page      TEXT NOT NULL,
    exit_page       TEXT NOT NULL,
    pageviews       INTEGER NOT NULL,
    events          INTEGER NOT NULL,
    custom_events   INTEGER NOT NULL,
    engaged_ms      INTEGER NOT NULL,
    hostname        TEXT NOT NULL,
    referrer        TEXT,
    source          TEXT,
    utm_source      TEXT,
    utm_medium      TEXT,
    utm_campaign    TEXT,
    utm_term        TEXT,
    utm_content     TEXT,
    browser         TEXT NOT NULL,
    browser_version TEXT NOT NULL,
    os              TEXT NOT NULL,
    os_version      TEXT NOT NULL,
    device          TEXT NOT NULL,
    country         TEXT,
    region          TEXT,
    city            TEXT,
    timezone        TEXT,
    colo            TEXT,
    asn             INTEGER,
    screen_width    INTEGER,
    -- Folding bookkeeping, never queried: the entry and exit events' order keys
    -- (8-byte big-endian time, 1-byte rank, event id) and the sorted 64-bit digests of the
    -- events folded in (8 bytes little-endian each).
    entry_key       BLOB NOT NULL,
    exit_key        BLOB NOT NULL,
    applied         BLOB NOT NULL
);
-- Store::sessions and the dashboard: sessions that started in a time range.
CREATE INDEX sessions_start ON sessions (project_id, start_at);
-- Ingest: a visitor's sessions near the new events (sessions::window).
CREATE INDEX sessions_visitor ON sessions (project_id, visitor_id, start_at);
"#;

/// Version 2: the dashboard's pre-aggregates.
///
/// `rollups` holds one row per (bucket, dimension, value): granularity 0 = UTC hour, 1 = UTC day;
/// `dim` is `total` or a field's API name (`page`, `props.plan`); the counters of
/// `store::analytics::Counters` and the visitor sketch (`store::analytics::Sketch::to_bytes`).
/// The primary key serves the dashboard's reads (one dimension over a range of buckets); the
/// bucket index serves rebuilding one bucket and the retention sweep.
/// `rollup_dirty` lists the hours ingestion touched since their rollup was last rebuilt.
/// `events_visitor` lets the retention sweep and per-visitor reads avoid scans.
const V2: &str = r#"
CREATE TABLE rollups (
    project_id         BLOB NOT NULL,
    granularity        INTEGER NOT NULL,
    dim                TEXT NOT NULL,
    bucket             INTEGER NOT NULL,
    value              TEXT NOT NULL,
    pageviews          INTEGER NOT NULL,
    custom_events      INTEGER NOT NULL,
    exits              INTEGER NOT NULL,
    exit_duration_ms   INTEGER NOT NULL,
    scroll_count       INTEGER NOT NULL,
    scroll_sum         INTEGER NOT NULL,
    visits             INTEGER NOT NULL,
    bounces            INTEGER NOT NULL,
    visit_duration_ms  INTEGER NOT NULL,
    session_pageviews  INTEGER NOT NULL,
    visitors           BLOB NOT NULL,
    PRIMARY KEY (project_id, granularity, dim, bucket, value)
) WITHOUT ROWID;
CREATE INDEX rollups_bucket ON rollups (project_id, granularity, bucket);
CREATE INDEX rollups_age ON rollups (granularity, bucket);

CREATE TABLE rollup_dirty (
    project_id BLOB NOT NULL,
    hour       INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (project_id, hour)
) WITHOUT ROWID;
CREATE INDEX rollup_dirty_hour ON rollup_dirty (hour);

-- The retention sweep deletes by age across projects.
CREATE INDEX events_age ON events (occurred_at);
CREATE INDEX sessions_age ON sessions (start_at);
"#;

/// Version 3: each rollup row's visitor count (the sketch's estimate, and whether it is exact)
/// in columns, and a narrow index holding everything of a row but its sketch. A top-N query
/// ranks a dimension's values from this index (a few MiB where the rows with their sketches are
/// tens of MiB at 10 million events a month) and then reads the sketches of the few values that
/// can make the top (`Store::rollup_summaries`, `Store::rollups_of_values`). Existing rows get
/// their counts from their sketches (`metrics_sketch_count`, a function of this crate); a stored
/// sketch is exact up to 8193 bytes (a tag byte and 8 bytes for each of at most 1024 visitors),
/// dense beyond (a tag byte and 16384 registers).
const V3: &str = r#"
ALTER TABLE rollups ADD COLUMN visitor_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN visitors_exact INTEGER NOT NULL DEFAULT 1;
UPDATE rollups SET visitor_count = metrics_sketch_count(visitors),
                   visitors_exact = length(visitors) <= 8193;
CREATE INDEX rollups_summary ON rollups (
    project_id, granularity, dim, bucket, value,
    pageviews, custom_events, exits, exit_duration_ms, scroll_count, scroll_sum,
    visits, bounces, visit_duration_ms, session_pageviews, visitor_count, visitors_exact
);
"#;

/// Version 4: what the owners' dashboard keeps.
///
/// * `projects.domain` (a `store::Domain`, NULL when not given) and `projects.timezone` (an IANA
///   name): existing projects read back with no domain and UTC, the defaults.
/// * `share_links`: read-only links to a project's dashboard; `slug` is the public part of the
///   link's URL, unique; `password_hash` an Argon2id PHC string, NULL for a link without a
///   password. `share_links_project` lists a project's links newest first (ties by id, the
///   primary key every index of a WITHOUT ROWID table ends with) and serves the foreign key's
///   cascade.
/// * `auth_tokens_user` gives way to `auth_tokens_user_created`: listing a user's tokens newest
///   first then needs no sort, and its prefix still serves what the old index did (the foreign
///   key's checks, deleting a user's tokens of a kind).
const V4: &str = r#"
ALTER TABLE projects ADD COLUMN domain TEXT;
ALTER TABLE projects ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE share_links (
    id            BLOB PRIMARY KEY NOT NULL,
    project_id    BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug          TEXT NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX share_links_project ON share_links (project_id, created_at);

DROP INDEX auth_tokens_user;
CREATE INDEX auth_tokens_user_created ON auth_tokens (user_id, created_at);
"#;

/// Version 5: conversion goals (issue 13), in a table of their own rather than a column of
/// `projects`, so the query API can list a project's goals without reading anything else.
///
/// `kind` is `event` (`value` a custom event name) or `page` (`value` a page pattern with `*`
/// wildcards). `goals_unique` is the rule that a project has each goal once (the store answers
/// `Conflict`); `goals_created` lists a project's goals oldest first without a sort and serves
/// the foreign key's cascade.
const V_GOALS: &str = r#"
CREATE TABLE goals (
    id         BLOB PRIMARY KEY NOT NULL,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('event', 'page')),
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX goals_unique ON goals (project_id, kind, value);
CREATE INDEX goals_created ON goals (project_id, created_at);
"#;

/// Version 5 (issue 13, funnels): the dashboard's saved funnels. `steps` is the JSON list of
/// steps (`store::funnels::SavedFunnelSteps::to_json`): a funnel is always read whole, never
/// queried by step. The foreign key deletes a project's funnels with it (no entry in
/// `DELETE_PROJECT_DATA` needed: a funnel cannot outlive its project row). The index lists a
/// project's funnels oldest first (ties by id, the primary key every index of a WITHOUT ROWID
/// table ends with).
const V_FUNNELS: &str = r#"
CREATE TABLE saved_funnels (
    id         BLOB PRIMARY KEY NOT NULL,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    steps      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX saved_funnels_project ON saved_funnels (project_id, created_at);
"#;

/// Version 7 (issue 13, funnels and journeys at 10M events): each session's trail, and where a
/// day's sessions lie.
///
/// * `session_trails`: per session (`seq` is the session's), its page views and custom events
///   in order ([`crate::trail`]), kept by `store::sessions::fold` at ingest, with the session's
///   project, start and visitor: all a funnel or a journey reads of a session without filters.
///   A table of its own, not a column of `sessions`: on the flows benchmark's 10.7M-event file
///   the trails take 64,767 pages where `sessions` takes 183,844 without them, and reading the
///   1.6 million trails of 30 days took 0.49 s, against 0.83 s with the trail a column of
///   `sessions`. Deleted with their session
///   by `session_trails_delete`. Filled for the sessions already stored by [`backfill_trails`].
/// * `session_spans`: per project and UTC day of `start_at`, bounds on the `seq` of the
///   sessions that started that day: `lo` at most the least, `hi` at least the greatest, kept
///   by two triggers when a session is inserted or its start moves. A session is inserted when
///   it is first seen, so a range's sessions lie close together in `seq` order, and reading
///   them by `seq` between those bounds reads the pages in order, where fetching them one by
///   one from `sessions_start` costs about 8 times as much (3.6 s against 0.45 s for
///   `sessions`). Bounds only widen (a session that is deleted or moves to another day leaves
///   them as they were), so they stay true with no work on delete; the query still checks each
///   row's project and start.
const V_TRAILS: &str = r#"
CREATE TABLE session_trails (
    seq        INTEGER PRIMARY KEY,
    project_id BLOB NOT NULL,
    start_at   INTEGER NOT NULL,
    visitor_id INTEGER NOT NULL,
    trail      BLOB NOT NULL
);
CREATE TRIGGER session_trails_delete AFTER DELETE ON sessions BEGIN
    DELETE FROM session_trails WHERE seq = OLD.seq;
END;
CREATE TABLE session_spans (
    project_id BLOB NOT NULL,
    day        INTEGER NOT NULL,
    lo         INTEGER NOT NULL,
    hi         INTEGER NOT NULL,
    PRIMARY KEY (project_id, day)
) WITHOUT ROWID;
CREATE TRIGGER session_spans_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO session_spans (project_id, day, lo, hi)
    VALUES (NEW.project_id, NEW.start_at / 86400000, NEW.seq, NEW.seq)
    ON CONFLICT (project_id, day) DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi);
END;
CREATE TRIGGER session_spans_start AFTER UPDATE OF start_at ON sessions BEGIN
    INSERT INTO session_spans (project_id, day, lo, hi)
    VALUES (NEW.project_id, NEW.start_at / 86400000, NEW.seq, NEW.seq)
    ON CONFLICT (project_id, day) DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi);
END;
INSERT INTO session_spans (project_id, day, lo, hi)
    SELECT project_id, start_at / 86400000, min(seq), max(seq) FROM sessions GROUP BY 1, 2;
"#;

/// Version 8 (issue 12, the first filtered dashboard after a restart): `hour_digests`, an
/// hour's digest as bytes (`store::analytics::digest`'s codec), written once the hour has
/// settled and read back instead of the hour's rows: at 10.7M events, 30 days of digests took a
/// minute to build from the rows. A row is true as long as it exists: every transaction that
/// changes an hour deletes its row (see `digest`). A rowid table with the key as an index, not
/// `WITHOUT ROWID`: its rows (hundreds of KiB) are far past the size a `WITHOUT ROWID` row
/// should stay under. `hour_digests_age` serves the retention sweep.
const V_DIGESTS: &str = r#"
CREATE TABLE hour_digests (
    project_id BLOB NOT NULL,
    hour       INTEGER NOT NULL,
    body       BLOB NOT NULL
);
CREATE UNIQUE INDEX hour_digests_hour ON hour_digests (project_id, hour);
CREATE INDEX hour_digests_age ON hour_digests (hour);
"#;

/// Version 9 (issue 12, the dashboard's annotations): owners' notes on dates of a site's graph.
/// `date` is the local date as ISO text. The foreign key deletes a project's notes with it; the
/// index lists them by date without a sort (ties by creation, then by id, the primary key every
/// index of a WITHOUT ROWID table ends with) and serves the cascade.
const V_ANNOTATIONS: &str = r#"
CREATE TABLE annotations (
    id         BLOB PRIMARY KEY NOT NULL,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    date       TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX annotations_project ON annotations (project_id, date, created_at);
"#;

/// Version 10 (the dashboard's saved segments): an owner's named sets of filters of a site.
/// `filters` is the JSON list of `[operator, dimension, [values]]`
/// (`store::SegmentFilters::to_json`): a segment is always read whole, never queried by filter.
/// The foreign key deletes a project's segments with it; the index lists them oldest first
/// without a sort (ties by id, the primary key every index of a WITHOUT ROWID table ends with)
/// and serves the cascade.
const V_SEGMENTS: &str = r#"
CREATE TABLE segments (
    id         BLOB PRIMARY KEY NOT NULL,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    filters    TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX segments_project ON segments (project_id, created_at);
"#;

/// All migrations, oldest first. The schema version of a database is how many have run.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3,
    V4,
    V_GOALS,
    V_FUNNELS,
    V_TRAILS,
    V_DIGESTS,
    V_ANNOTATIONS,
    V_SEGMENTS,
];

/// The schema version `V_TRAILS` brings; [`backfill_trails`] runs when a file crosses it.
const TRAILS_VERSION: usize = 7;

/// Fills `session_trails` for the sessions stored before `V_TRAILS`: the events of each project
/// in time order (`events_time`), each finding its session through `sessions_visitor`, a
/// session written back once no later event can belong to it (its end has passed). Memory holds
/// only the sessions open at one moment. About 3 minutes for the 10.7 million events of the
/// flows benchmark's kept file, once.
fn backfill_trails(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, HashMap};
    use store::sessions::TrailStep;

    let mut read = tx.prepare(
        "SELECT e.project_id, s.seq, s.start_at, s.end_at, e.occurred_at, e.name, e.event_id, e.path, s.visitor_id \
         FROM events e CROSS JOIN sessions s INDEXED BY sessions_visitor \
           ON s.project_id = e.project_id AND s.visitor_id = e.visitor_id \
          AND s.start_at <= e.occurred_at AND e.occurred_at <= s.end_at \
         WHERE e.name != 'page_exit' \
         ORDER BY e.project_id, e.occurred_at",
    )?;
    let mut write = tx.prepare(crate::codec::UPSERT_TRAIL)?;
    // Per open session: start, visitor and steps so far.
    let mut open = HashMap::new();
    let mut ends: BinaryHeap<Reverse<(i64, i64)>> = BinaryHeap::new();
    let mut project: Vec<u8> = Vec::new();
    type Open = HashMap<i64, (i64, i64, Vec<TrailStep>)>;
    let mut flush = |seq: i64, open: &mut Open, project: &[u8]| -> rusqlite::Result<()> {
        if let Some((start, visitor, mut trail)) = open.remove(&seq) {
            trail.sort_by(|a, b| a.key.cmp(&b.key));
            write.execute(rusqlite::params![
                seq,
                project,
                start,
                visitor,
                store::trail::encode(start, &trail)
            ])?;
        }
        Ok(())
    };
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let row_project = r.get_ref(0)?.as_blob()?;
        let at: i64 = r.get(4)?;
        if row_project != project.as_slice() {
            while let Some(Reverse((_, seq))) = ends.pop() {
                flush(seq, &mut open, &project)?;
            }
            project = row_project.to_vec();
        }
        while let Some(&Reverse((end, seq))) = ends.peek() {
            if end >= at {
                break;
            }
            ends.pop();
            flush(seq, &mut open, &project)?;
        }
        let seq: i64 = r.get(1)?;
        let (name, id, path) = (
            r.get_ref(5)?.as_str()?,
            r.get_ref(6)?.as_str()?,
            r.get_ref(7)?.as_str()?,
        );
        // `None` for a page exit, which the statement leaves out.
        let Some(step) = TrailStep::from_parts(at, name, id, path) else {
            continue;
        };
        let (start, end, visitor): (i64, i64, i64) = (r.get(2)?, r.get(3)?, r.get(8)?);
        let entry = open.entry(seq).or_insert_with(|| {
            ends.push(Reverse((end, seq)));
            (start, visitor, Vec::new())
        });
        entry.2.push(step);
    }
    while let Some(Reverse((_, seq))) = ends.pop() {
        flush(seq, &mut open, &project)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("the database has schema version {found}, newer than this build knows ({known}): upgrade the collector")]
pub(crate) struct NewerSchema {
    found: usize,
    known: usize,
}

/// Settings every connection needs, the writer's and the readers'.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Set first, so that even the pragmas below wait for a lock instead of failing at once.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL: readers never block the writer nor the other way round, and a commit appends to the
    // log instead of rewriting pages in place. Persistent in the file, so setting it again is a
    // no-op.
    // The answer is the mode in force; anything but "wal" (a filesystem without shared memory)
    // is still correct, only with readers and the writer waiting on each other.
    let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    // FULL: a commit returns once the log is fsynced. The collector deletes events from its
    // ingest log as soon as `ingest` returns, so a commit that a power cut could still take back
    // (NORMAL syncs at checkpoints only) would lose acknowledged events. One fsync per commit is
    // cheap: the collector's writer commits thousands of events at a time under load.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 32 MiB of page cache (negative: KiB) keeps the hot index pages of a busy ingest in memory.
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // After a busy spell the log file keeps its high-water size; truncate it back to 64 MiB when
    // a checkpoint lets SQLite rewind it, so an idle store does not hold hundreds of MiB of log.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    crate::analytics::register_functions(conn)?;
    Ok(())
}

/// How much of the database file a read connection maps into its address space (`PRAGMA
/// mmap_size`): 1 TiB, more than any file this store holds, so the whole file. A mapped read takes
/// the page straight from the operating system's page cache; unmapped, every page a statement
/// reads is first copied into the connection's own cache (`pread`), which was a large share of a
/// funnel's or journey's time at 10M events (1.6M sessions' trails read in one statement).
///
/// * **Memory.** This reserves address space, not memory: the pages are the OS page cache, shared
///   by every connection (and the writer's reads) and given back under memory pressure. A
///   process's RSS counts the mapped pages it touched, so it looks larger than what it owns.
/// * **The ceiling.** SQLite clamps this to `SQLITE_MAX_MMAP_SIZE`, 2 GiB unless compiled with
///   more: `.cargo/config.toml` passes 1 TiB to the bundled SQLite's build (`LIBSQLITE3_FLAGS`),
///   and `read_connections_map_the_whole_file` checks that the build picked it up.
/// * **32-bit targets: off.** SQLite cuts the value to its low 31 bits there (2^40 would become
///   0), and a 4 GiB address space could not hold a large file beside the heap anyway.
/// * **An I/O error becomes a crash.** Reading a mapped page that the disk cannot deliver raises
///   SIGBUS, which ends the process, where `pread` would have failed one query with
///   `SQLITE_IOERR`. Accepted: a disk that fails reads fails the ingest's writes too, so the
///   collector is down either way; every acknowledged event is still in the ingest log, which is
///   replayed at start-up; and the file is never shortened behind SQLite's back, since only this
///   process writes it (its data directory is locked) and nothing here vacuums.
///
/// The writer and the checkpointer do not map: the writer's reads are the hot index pages of an
/// ingest, which stay in its page cache, and keeping it on `pread` means no remapping as each
/// commit grows the file.
#[cfg(target_pointer_width = "64")]
pub(crate) const READ_MMAP_BYTES: i64 = 1 << 40;
// Past SQLite's default ceiling (0x7fff0000): else `read_connections_map_the_whole_file`
// would pass on a build that missed `LIBSQLITE3_FLAGS`.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(READ_MMAP_BYTES > 0x7fff_0000);
/// See the 64-bit constant: SQLite would mangle 2^40, and the address space is too small.
#[cfg(not(target_pointer_width = "64"))]
pub(crate) const READ_MMAP_BYTES: i64 = 0;

/// Settings of a read connection, after [`configure`]'s.
pub(crate) fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    // A read connection that writes by mistake would bypass the writer's mutex.
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "mmap_size", READ_MMAP_BYTES)
}

/// Brings the schema to the newest version. Runs inside `BEGIN IMMEDIATE`, so two processes
/// opening the same new file at once migrate it once: the second waits, then sees the new version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), store::StoreError> {
    // Migrations may call this crate's SQL functions (registering again is harmless).
    crate::analytics::register_functions(conn).map_err(store::StoreError::backend)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(store::StoreError::backend)?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(store::StoreError::backend)?;
    let found = usize::try_from(found).unwrap_or(usize::MAX);
    let known = MIGRATIONS.len();
    if found > known {
        return Err(store::StoreError::backend(NewerSchema { found, known }));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(found) {
        tx.execute_batch(migration).map_err(store::StoreError::backend)?;
        if i + 1 == TRAILS_VERSION {
            backfill_trails(&tx).map_err(store::StoreError::backend)?;
        }
    }
    if found < known {
        // user_version is part of the database header, so it commits with the migration.
        tx.pragma_update(None, "user_version", known as i64)
            .map_err(store::StoreError::backend)?;
    }
    tx.commit().map_err(store::StoreError::backend)
}
