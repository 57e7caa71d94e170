//! The ingest log: a request's events are on disk before the collector acknowledges them, and
//! they stay there until the store has them.
//!
//! One small SQLite file in the data directory ([`FILE_NAME`]), with either store. Each accepted
//! request is one row (`seq`, its events as JSON). A dedicated thread appends whatever requests
//! are waiting in one transaction, commits with `synchronous=FULL` (the commit returns once
//! SQLite has fsynced its write-ahead log) and only then wakes those requests and hands their
//! events to the writer: under load, many requests share one fsync (group commit). The writer
//! reports the highest `seq` the store has taken ([`Writer`](super::Writer)); the next commit (or
//! an idle tick) deletes every row up to it. At start-up every row left is read back and written
//! again: the stores skip event ids they already have, so a row that was stored before a crash
//! but not yet deleted changes nothing.
//!
//! Why SQLite itself: it is already in the binary (the embedded store), its commit is durable
//! once `synchronous=FULL` returns, its own log is checksummed, so a torn write at a crash is
//! rolled back instead of misread, and deleting the stored prefix is one statement. A hand-made
//! append-only file would need all of that written and tested anew; of the crates, `redb` is
//! also durable per commit but a second storage engine to carry, `fjall` is durable only after an
//! explicit `persist` call per write, and `yaque` never fsyncs.
//!
//! The file is opened with `locking_mode=EXCLUSIVE`: a second collector process pointed at the
//! same data directory fails at start instead of replaying, and deleting, the first one's rows.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use contract::enriched::EnrichedEvent;
use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::writer::{Job, Reservation};
use crate::metrics::Metrics;

/// The log's file in the collector's data directory.
pub const FILE_NAME: &str = "ingest-log.sqlite3";

/// Events logged and not yet stored, over all requests. Past it a request is refused with 503
/// (`collector_ingest_log_full_total`) until the store catches up. It also bounds the writer's
/// memory, which holds the same events, and the replay after a crash (~3 s at the embedded
/// store's speed).
pub const MAX_LOGGED_EVENTS: usize = 100_000;

/// Bytes of logged events (their JSON) not yet stored: the log's size on disk, give or take
/// SQLite's pages. An event is ~0.5 KiB of JSON and at most a few KiB, so [`MAX_LOGGED_EVENTS`]
/// usually binds first; this one holds if events are unusually large.
pub const MAX_LOGGED_BYTES: u64 = 256 * 1024 * 1024;

/// Most bytes of requests committed together: a burst is split into commits of this size, so one
/// commit (and the requests waiting on it) is never held by megabytes that arrived after it.
const MAX_GROUP_BYTES: usize = 4 * 1024 * 1024;

/// When no request comes, stored rows are deleted this often (with traffic, every commit does it).
const IDLE_TRUNCATE_INTERVAL: Duration = Duration::from_millis(500);

/// Version of the table layout, in `PRAGMA user_version`.
const LAYOUT_VERSION: i64 = 1;

/// Events read back from the log at start-up, in log order.
pub struct Replayed {
    pub seq: u64,
    pub events: Vec<EnrichedEvent>,
    pub bytes: u64,
}

/// The open log file.
pub struct IngestLog {
    path: PathBuf,
    conn: Connection,
    /// The `seq` of the next row appended.
    next_seq: u64,
    /// Every row up to this `seq` has been deleted.
    deleted_upto: u64,
}

impl IngestLog {
    /// Opens (creating it if missing) the log in `dir` and reads back the rows left in it by
    /// the previous run. Blocking.
    pub fn open(dir: &Path) -> anyhow::Result<(Self, Vec<Replayed>)> {
        let path = dir.join(FILE_NAME);
        let conn = Connection::open(&path).with_context(|| format!("opening the ingest log {}", path.display()))?;
        configure(&conn).with_context(|| {
            format!(
                "opening the ingest log {}: is another collector using this data directory? Each \
                 collector process needs its own (--data-dir)",
                path.display()
            )
        })?;
        let replayed = read_back(&conn).with_context(|| format!("reading back the ingest log {}", path.display()))?;
        let last = replayed.last().map_or(0, |r| r.seq);
        let log = Self {
            path,
            conn,
            next_seq: last + 1,
            deleted_upto: replayed.first().map_or(last, |r| r.seq - 1),
        };
        Ok((log, replayed))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row per payload (each a JSON array of `counts[i]` events) in one durable
    /// commit, deleting the rows up to `stored_upto` in the same transaction. Returns the `seq`
    /// of the first row appended.
    fn append(&mut self, stored_upto: u64, payloads: &[(&[u8], usize)]) -> rusqlite::Result<u64> {
        let first = self.next_seq;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let deleting = stored_upto > self.deleted_upto;
        if deleting {
            tx.prepare_cached("DELETE FROM entries WHERE seq <= ?1")?
                .execute([stored_upto as i64])?;
        }
        {
            let mut insert = tx.prepare_cached("INSERT INTO entries (seq, events, payload) VALUES (?1, ?2, ?3)")?;
            for (i, (payload, count)) in payloads.iter().enumerate() {
                insert.execute(params![(first + i as u64) as i64, *count as i64, payload])?;
            }
        }
        tx.commit()?;
        self.next_seq += payloads.len() as u64;
        if deleting {
            self.deleted_upto = stored_upto;
        }
        Ok(first)
    }

    /// Deletes the rows up to `stored_upto` (in a durable commit of its own).
    pub fn truncate(&mut self, stored_upto: u64) -> rusqlite::Result<()> {
        if stored_upto > self.deleted_upto {
            self.conn
                .prepare_cached("DELETE FROM entries WHERE seq <= ?1")?
                .execute([stored_upto as i64])?;
            self.deleted_upto = stored_upto;
        }
        Ok(())
    }
}

fn configure(conn: &Connection) -> anyhow::Result<()> {
    // Before anything reads the file: the locks taken are then never released, so a second
    // process fails here (busy) instead of sharing the log.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("the file system does not support SQLite's WAL mode (journal_mode = {mode})");
    }
    // A commit returns once the log is fsynced: that is the acknowledgement's promise.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Takes the write lock now (held for good in exclusive mode) and creates the table.
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS entries (
             seq INTEGER PRIMARY KEY,
             events INTEGER NOT NULL,
             payload BLOB NOT NULL
         );
         COMMIT;",
    )?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match version {
        0 => conn.pragma_update(None, "user_version", LAYOUT_VERSION)?,
        LAYOUT_VERSION => {}
        other => bail!("the log has layout version {other}, newer than this build knows ({LAYOUT_VERSION})"),
    }
    Ok(())
}

fn read_back(conn: &Connection) -> anyhow::Result<Vec<Replayed>> {
    let mut query = conn.prepare("SELECT seq, payload FROM entries ORDER BY seq")?;
    let mut rows = query.query([])?;
    let mut replayed = Vec::new();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let payload: Vec<u8> = row.get(1)?;
        let events: Vec<EnrichedEvent> =
            serde_json::from_slice(&payload).with_context(|| format!("the events of entry {seq} do not parse"))?;
        replayed.push(Replayed {
            seq: seq as u64,
            events,
            bytes: payload.len() as u64,
        });
    }
    Ok(replayed)
}

/// A request's events on their way into the log.
pub(super) struct Append {
    pub events: Vec<EnrichedEvent>,
    /// `events` as a JSON array.
    pub payload: Vec<u8>,
    pub held: Reservation,
    /// Told whether the events are logged.
    pub done: oneshot::Sender<bool>,
}

/// Runs the group commit on a thread of its own (SQLite blocks) until every sender of `appends`
/// is gone, then returns the log so that the writer can delete what it stored last.
pub(super) fn spawn_group_commit(
    mut log: IngestLog,
    appends: Receiver<Append>,
    to_writer: mpsc::UnboundedSender<Job>,
    stored_upto: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
) -> std::io::Result<std::thread::JoinHandle<IngestLog>> {
    std::thread::Builder::new().name("ingest-log".into()).spawn(move || {
        loop {
            let first = match appends.recv_timeout(IDLE_TRUNCATE_INTERVAL) {
                Ok(append) => append,
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = log.truncate(stored_upto.load(Ordering::Acquire)) {
                        tracing::warn!(error = %e, "deleting stored entries from the ingest log failed");
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut bytes = first.payload.len();
            let mut group = vec![first];
            while bytes < MAX_GROUP_BYTES {
                match appends.try_recv() {
                    Ok(append) => {
                        bytes += append.payload.len();
                        group.push(append);
                    }
                    Err(_) => break,
                }
            }
            let started = Instant::now();
            let payloads: Vec<(&[u8], usize)> = group.iter().map(|a| (&a.payload[..], a.events.len())).collect();
            let outcome = log.append(stored_upto.load(Ordering::Acquire), &payloads);
            metrics
                .ingest_log_commit_seconds
                .observe(started.elapsed().as_secs_f64());
            match outcome {
                Ok(first_seq) => {
                    for (i, append) in group.into_iter().enumerate() {
                        // The writer is handed the events before the request is answered, so a
                        // flush that follows the answer finds them queued.
                        let _ = to_writer.send(Job::Logged {
                            seq: first_seq + i as u64,
                            events: append.events,
                            held: append.held,
                        });
                        let _ = append.done.send(true);
                    }
                }
                Err(e) => {
                    // The requests get 503 and their senders retry; nothing was acknowledged.
                    metrics.ingest_log_errors.inc();
                    tracing::error!(error = %e, requests = group.len(), "appending to the ingest log failed");
                    for append in group {
                        let _ = append.done.send(false);
                    }
                }
            }
        }
        log
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::ids::ProjectId;
    use store::sessions::testing::event;

    fn payload(ids: &[&str]) -> Vec<u8> {
        let p = ProjectId::from_bytes([1; 12]);
        let events: Vec<EnrichedEvent> = ids
            .iter()
            .map(|id| event(p, 1, id, "pageview", 1_763_683_200_000, "/"))
            .collect();
        serde_json::to_vec(&events).unwrap()
    }

    fn ids(replayed: &[Replayed]) -> Vec<(u64, Vec<String>)> {
        replayed
            .iter()
            .map(|r| (r.seq, r.events.iter().map(|e| e.id.as_str().to_owned()).collect()))
            .collect()
    }

    #[test]
    fn rows_not_yet_stored_are_read_back_in_order_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, replayed) = IngestLog::open(dir.path()).unwrap();
        assert!(replayed.is_empty());
        let (a, b, c) = (payload(&["a1", "a2"]), payload(&["b1"]), payload(&["c1"]));
        assert_eq!(log.append(0, &[(&a, 2), (&b, 1)]).unwrap(), 1);
        // The next commit deletes what the writer reported stored (seq 1).
        assert_eq!(log.append(1, &[(&c, 1)]).unwrap(), 3);
        drop(log);
        let (mut log, replayed) = IngestLog::open(dir.path()).unwrap();
        assert_eq!(
            ids(&replayed),
            vec![(2, vec!["b1".to_owned()]), (3, vec!["c1".to_owned()])]
        );
        // Numbering goes on after the rows left, and truncating by itself works too.
        assert_eq!(log.append(0, &[(&a, 2)]).unwrap(), 4);
        log.truncate(3).unwrap();
        drop(log);
        let (_, replayed) = IngestLog::open(dir.path()).unwrap();
        assert_eq!(ids(&replayed), vec![(4, vec!["a1".to_owned(), "a2".to_owned()])]);
    }

    #[test]
    fn a_second_opener_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, _) = IngestLog::open(dir.path()).unwrap();
        let error = IngestLog::open(dir.path()).err().expect("the file is taken");
        assert!(format!("{error:#}").contains("its own (--data-dir)"), "{error:#}");
    }
}
