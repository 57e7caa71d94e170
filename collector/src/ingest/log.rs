//! The ingest log: a request's events are on disk before the collector acknowledges them, and
//! they stay there until the store has them.
//!
//! A few small SQLite files in the data directory ([`LANES`] lanes, `ingest-log-<lane>.sqlite3`),
//! with either store. Each accepted request is one row (`seq`, its events as JSON). Each lane has
//! a thread that takes whatever requests are waiting, appends them in one transaction, commits
//! with `synchronous=FULL` (the commit returns once SQLite has fsynced its write-ahead log) and
//! only then wakes those requests and hands their events to the writer: under load, many
//! requests share one fsync (group commit). While one lane waits for its fsync, the next lane
//! already takes the requests that arrive meanwhile, so a request waits for about one fsync
//! instead of the rest of someone else's and then its own. The writer reports, per lane, the
//! highest `seq` the store has taken ([`Writer`](super::Writer)); the lane's next commit (or an
//! idle tick) deletes every row up to it. At start-up every row left is read back and written
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
//! The files are opened with `locking_mode=EXCLUSIVE`: a second collector process pointed at the
//! same data directory fails at start instead of replaying, and deleting, the first one's rows.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use contract::enriched::EnrichedEvent;
use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::writer::{Job, Reservation};
use crate::metrics::Metrics;

/// Lanes of the log: files, each with its own group-commit thread, committing at the same time.
/// On the 2-core test machine (an fsync takes ~3-4 ms) a model of the log (SQLite commits fed a
/// request every ms) waited p99 18-21 ms with one lane, 12 ms with two, 7 ms with three; the
/// collector's `POST /api/event` at 1,000 req/s went from p99 12 ms (one lane) to 9-10 ms.
pub const LANES: usize = 3;

/// The file of a lane in the collector's data directory.
pub fn file_name(lane: usize) -> String {
    format!("ingest-log-{lane}.sqlite3")
}

/// Events logged and not yet stored, over all requests. Past it a request is refused with 503
/// (`collector_ingest_log_full_total`) until the store catches up. It also bounds the writer's
/// memory, which holds the same events, and the replay after a crash (~2 s at the embedded
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

/// Where a request's events are in the log.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EntryId {
    pub lane: usize,
    pub seq: u64,
}

/// Events read back from the log at start-up, in log order within each lane.
pub struct Replayed {
    pub entry: EntryId,
    pub events: Vec<EnrichedEvent>,
    pub bytes: u64,
}

/// The open log: its lanes.
pub struct IngestLog {
    dir: PathBuf,
    lanes: Vec<Lane>,
}

impl IngestLog {
    /// Opens (creating them if missing) the log's files in `dir` and reads back the rows left in
    /// them by the previous run. Blocking.
    pub fn open(dir: &Path) -> anyhow::Result<(Self, Vec<Replayed>)> {
        // A lane a build with more lanes left behind is opened too, so that its rows are stored.
        let mut count = LANES;
        while dir.join(file_name(count)).exists() {
            count += 1;
        }
        let mut lanes = Vec::with_capacity(count);
        let mut replayed = Vec::new();
        for lane in 0..count {
            let (opened, rows) = Lane::open(dir, lane)?;
            lanes.push(opened);
            replayed.extend(rows);
        }
        Ok((
            Self {
                dir: dir.to_owned(),
                lanes,
            },
            replayed,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }
}

/// What the writer has stored, per lane: every entry up to this `seq`.
pub(super) struct Stored(Vec<AtomicU64>);

impl Stored {
    pub fn new(lanes: usize) -> Self {
        Self((0..lanes).map(|_| AtomicU64::new(0)).collect())
    }

    pub fn mark(&self, entry: EntryId) {
        self.0[entry.lane].fetch_max(entry.seq, Ordering::AcqRel);
    }

    fn upto(&self, lane: usize) -> u64 {
        self.0[lane].load(Ordering::Acquire)
    }
}

/// One file of the log.
pub(super) struct Lane {
    index: usize,
    conn: Connection,
    /// The `seq` of the next row appended.
    next_seq: u64,
    /// Every row up to this `seq` has been deleted.
    deleted_upto: u64,
}

impl Lane {
    fn open(dir: &Path, index: usize) -> anyhow::Result<(Self, Vec<Replayed>)> {
        let path = dir.join(file_name(index));
        let conn = Connection::open(&path).with_context(|| format!("opening the ingest log {}", path.display()))?;
        configure(&conn).with_context(|| {
            format!(
                "opening the ingest log {}: is another collector using this data directory? Each \
                 collector process needs its own (--data-dir)",
                path.display()
            )
        })?;
        let replayed =
            read_back(&conn, index).with_context(|| format!("reading back the ingest log {}", path.display()))?;
        let last = replayed.last().map_or(0, |r| r.entry.seq);
        let lane = Self {
            index,
            conn,
            next_seq: last + 1,
            // Row seqs start at 1, so "deleted up to 0" holds for a fresh file.
            deleted_upto: replayed.first().map_or(last, |r| r.entry.seq - 1),
        };
        Ok((lane, replayed))
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

    /// Deletes the rows the writer has stored (in a durable commit of its own).
    pub(super) fn truncate_stored(&mut self, stored: &Stored) -> rusqlite::Result<()> {
        self.truncate(stored.upto(self.index))
    }

    /// Deletes the rows up to `stored_upto` (in a durable commit of its own).
    fn truncate(&mut self, stored_upto: u64) -> rusqlite::Result<()> {
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

fn read_back(conn: &Connection, lane: usize) -> anyhow::Result<Vec<Replayed>> {
    let mut query = conn.prepare("SELECT seq, payload FROM entries ORDER BY seq")?;
    let mut rows = query.query([])?;
    let mut replayed = Vec::new();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let payload: Vec<u8> = row.get(1)?;
        let events: Vec<EnrichedEvent> =
            serde_json::from_slice(&payload).with_context(|| format!("the events of entry {seq} do not parse"))?;
        replayed.push(Replayed {
            entry: EntryId { lane, seq: seq as u64 },
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

/// Runs the group commit, one thread per lane, until every sender of `appends` is gone; the
/// threads then return their lanes, so that the writer can delete what it stored last.
pub(super) fn spawn_group_commit(
    log: IngestLog,
    appends: Receiver<Append>,
    to_writer: mpsc::UnboundedSender<Job>,
    stored: Arc<Stored>,
    metrics: Arc<Metrics>,
) -> std::io::Result<Vec<std::thread::JoinHandle<Lane>>> {
    // The lanes take turns at the receiver: the one holding it waits for the next request while
    // the others commit.
    let appends = Arc::new(Mutex::new(appends));
    log.lanes
        .into_iter()
        .map(|lane| {
            let (appends, to_writer, stored, metrics) =
                (appends.clone(), to_writer.clone(), stored.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("ingest-log-{}", lane.index))
                .spawn(move || run_lane(lane, &appends, &to_writer, &stored, &metrics))
        })
        .collect()
}

/// The requests waiting, up to [`MAX_GROUP_BYTES`], once one comes; `Err` when the senders are
/// gone, `Ok(empty)` after [`IDLE_TRUNCATE_INTERVAL`] without any.
fn next_group(appends: &Mutex<Receiver<Append>>) -> Result<Vec<Append>, ()> {
    let appends = appends.lock().unwrap_or_else(PoisonError::into_inner);
    let first = match appends.recv_timeout(IDLE_TRUNCATE_INTERVAL) {
        Ok(append) => append,
        Err(RecvTimeoutError::Timeout) => return Ok(Vec::new()),
        Err(RecvTimeoutError::Disconnected) => return Err(()),
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
    Ok(group)
}

fn run_lane(
    mut lane: Lane,
    appends: &Mutex<Receiver<Append>>,
    to_writer: &mpsc::UnboundedSender<Job>,
    stored: &Stored,
    metrics: &Metrics,
) -> Lane {
    while let Ok(group) = next_group(appends) {
        if group.is_empty() {
            if let Err(e) = lane.truncate(stored.upto(lane.index)) {
                tracing::warn!(error = %e, "deleting stored entries from the ingest log failed");
            }
            continue;
        }
        let started = Instant::now();
        let payloads: Vec<(&[u8], usize)> = group.iter().map(|a| (&a.payload[..], a.events.len())).collect();
        let outcome = lane.append(stored.upto(lane.index), &payloads);
        metrics
            .ingest_log_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok(first_seq) => {
                for (i, append) in group.into_iter().enumerate() {
                    // The writer is handed the events before the request is answered, so a flush
                    // that follows the answer finds them queued.
                    let _ = to_writer.send(Job::Logged {
                        entry: EntryId {
                            lane: lane.index,
                            seq: first_seq + i as u64,
                        },
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
    lane
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
            .map(|r| (r.entry.seq, r.events.iter().map(|e| e.id.as_str().to_owned()).collect()))
            .collect()
    }

    #[test]
    fn rows_not_yet_stored_are_read_back_in_order_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, replayed) = Lane::open(dir.path(), 1).unwrap();
        assert!(replayed.is_empty());
        let (a, b, c) = (payload(&["a1", "a2"]), payload(&["b1"]), payload(&["c1"]));
        assert_eq!(log.append(0, &[(&a, 2), (&b, 1)]).unwrap(), 1);
        // The next commit deletes what the writer reported stored (seq 1).
        assert_eq!(log.append(1, &[(&c, 1)]).unwrap(), 3);
        drop(log);
        let (mut log, replayed) = Lane::open(dir.path(), 1).unwrap();
        assert!(replayed.iter().all(|r| r.entry.lane == 1));
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
    fn lanes_left_by_a_build_with_more_lanes_are_read_back_too() {
        let dir = tempfile::tempdir().unwrap();
        let (mut extra, _) = Lane::open(dir.path(), LANES).unwrap();
        extra.append(0, &[(&payload(&["x1"]), 1)]).unwrap();
        drop(extra);
        let (log, replayed) = IngestLog::open(dir.path()).unwrap();
        assert_eq!(log.lanes(), LANES + 1);
        assert_eq!(
            replayed.iter().map(|r| r.entry).collect::<Vec<_>>(),
            vec![EntryId { lane: LANES, seq: 1 }]
        );
    }

    #[test]
    fn a_second_opener_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, _) = IngestLog::open(dir.path()).unwrap();
        let error = IngestLog::open(dir.path()).err().expect("the file is taken");
        assert!(format!("{error:#}").contains("its own (--data-dir)"), "{error:#}");
    }
}
