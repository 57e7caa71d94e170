//! The collector's MongoDB backend: [`MongoStore`], the [`store::Store`] trait on the official
//! `mongodb` driver.
//!
//! # Data model
//!
//! Field names are camelCase, ids of projects, users and keys (12 bytes) are ObjectIds, times are
//! BSON Dates. Optional fields are absent rather than null. Every index is created, idempotently,
//! by [`MongoStore::connect`].
//!
//! | collection         | `_id`                     | other indexes                                                    |
//! |--------------------|---------------------------|------------------------------------------------------------------|
//! | `users`            | ObjectId                  | `{email: 1}` unique                                              |
//! | `auth_tokens`      | token hash (hex string)   | `{userId: 1}`, `{expiresAt: 1}` TTL (expireAfterSeconds 0)       |
//! | `projects`         | ObjectId                  | `{createdAt: -1}`, `{ownerUserId: 1, createdAt: -1}`             |
//! | `api_keys`         | ObjectId                  | `{keyHash: 1}` unique, `{projectId: 1, createdAt: -1}`           |
//! | `share_links`      | ObjectId                  | `{slug: 1}` unique, `{projectId: 1, createdAt: -1}`              |
//! | `goals`            | ObjectId                  | `{projectId: 1, kind: 1, value: 1}` unique, `{projectId: 1, createdAt: 1}` |
//! | `salts`            | day number (Int64)        | –                                                                |
//! | `events`           | `{p: projectId, e: eventId}` | `{projectId: 1, occurredAt: -1}`, `{projectId: 1, name: 1, occurredAt: -1}` |
//! | `visitor_sessions` | `"<projectId hex>:<visitorId hex>"` | `{projectId: 1, "sessions.start": 1}`, `{projectId: 1, "sessions.id": 1}` |
//! | `rollups`          | `"<projectId hex>:<g>:<bucket ms>:<dim len>:<dim>:<value>"` | `{projectId: 1, g: 1, d: 1, b: 1}`, `{projectId: 1, g: 1, b: 1}` |
//! | `rollup_dirty`     | `"<projectId hex>:<hour ms>"` | `{hour: 1}`                                                  |
//! | `rollup_revs`      | `"<projectId hex>:<g>:<bucket ms>"` | `{projectId: 1, g: 1, b: 1}`                           |
//! | `saved_funnels`    | ObjectId                  | `{projectId: 1, createdAt: 1}`                                   |
//! | `annotations`      | ObjectId                  | `{projectId: 1, date: 1, createdAt: 1}`                          |
//! | `segments`         | ObjectId                  | `{projectId: 1, createdAt: 1}`                                   |
//! | `migrations`       | the migration's name      | –                                                                |
//!
//! * `events` holds every [`EnrichedEvent`] field (`props` as a sub-document, `utm`, `client` and
//!   `geo` as sub-documents, `visitorId` as the Int64 with the visitor hash's bits). Its `_id` is
//!   the compound `{p, e}` rather than a fresh ObjectId because an event is identified by
//!   (project, client-chosen event id) anyway: the mandatory unique `_id` index then *is* the
//!   de-duplication rule, and every insert maintains one unique B-tree fewer than with an
//!   ObjectId `_id` plus a unique `{projectId, eventId}` index (ingest is the write-heavy path).
//!   `projectId` is kept as a top-level field too, because the query indexes lead with it. The
//!   seed's `metadata.referrer` and `visitorId/sessionId` indexes are not created: sessions live
//!   in `visitor_sessions`, and referrer reports read sessions, so those indexes would only slow
//!   ingest down. Each event also carries `visitorKey`, the `_id` of its visitor's
//!   `visitor_sessions` document, so that the dashboard's pipelines join an event to its session
//!   with an `_id` equality `$lookup` (events stored before it existed join no session).
//! * `projects` holds `ownerUserId`, `name`, `domain` (absent when the owner gave none),
//!   `timezone` (an IANA name) and `createdAt`. Projects stored before `domain` and `timezone`
//!   existed lack both and read back with no domain and UTC; no migration rewrites them.
//! * `share_links` holds `projectId`, `slug` (the public part of the link's URL, unique), `label`,
//!   `passwordHash` (absent for a link without a password) and `createdAt`.
//! * `goals` holds a project's conversion goals: `projectId`, `kind` (`event` or `page`), `value`
//!   (the event name or the page pattern) and `createdAt` (see [`goals`]).
//! * `auth_tokens.expiresAt` carries a TTL index so that MongoDB deletes expired logins by itself;
//!   reads still check the expiry, since the TTL monitor only runs once a minute.
//! * `visitor_sessions` holds, per (project, visitor), all of that visitor's sessions as an array
//!   of sub-documents (start/end as Dates, entry/exit page, counts, engaged time, attribution and
//!   client fields flat for the dashboard's `$unwind`/`$group`, the trail as three parallel
//!   arrays `trailSteps`/`trailAt`/`trailIds`, see [`codec::TRAIL_STEPS`]), plus a revision
//!   `rev`. Its `_id` is a string rather than the compound `{p, v}` because SecantusDB scans the
//!   collection for equality on an embedded-document `_id` (see [`codec::visitor_key`]);
//!   `projectId` and `visitorId` are top-level fields for queries. A visitor id is a hash under a
//!   *daily* salt, so one document covers at most one day of one visitor and stays small
//!   (MongoDB's limit is 16 MiB per document; a session costs ~0.5 KiB plus ~14 bytes per event
//!   and about 50 more per page view or custom event, its trail step).
//! * `rollups` holds one document per [`store::analytics::RollupRow`]: `projectId`, `g` (the
//!   granularity's code: 0 hour, 1 day), `d` (the dimension's key: `total`, `page`,
//!   `props.plan`), `b` (the bucket's start, a Date), `v` (the value), the counters as Int64
//!   (`pageviews`, `customEvents`, `exits`, `exitDurationMs`, `scrollCount`, `scrollSum`,
//!   `visits`, `bounces`, `visitDurationMs`, `sessionPageviews`), `sketch` (Binary,
//!   [`store::analytics::Sketch::to_bytes`]) and the sketch's summary: `n` (its visitor count,
//!   Int64) and `x` (whether that count is exact). The `_id` is deterministic (see
//!   [`codec::rollup_key`]), so replacing a bucket upserts its rows in place, then deletes the
//!   bucket's other rows: a reader never finds a rebuilt bucket empty. `{projectId, g, d, b}`
//!   serves reads of one dimension, `{projectId, g, b}` reads of all dimensions of a range and the
//!   replacement's look-up of a bucket's rows. A top list ranks a dimension's values on the rows
//!   read without `sketch` (most of a row's bytes), then reads the sketches of its candidates by
//!   `_id`; rows written before `n` and `x` existed are summarised from their sketches.
//! * `rollup_revs` holds one document per rollup bucket: `projectId`, `g`, `b` and `rev`, a random
//!   Int64 set anew after every rebuild of the bucket; and one per project (`_id` the project's
//!   hex id, only `rev`), set anew after each of its buckets'. They keep [`cache`] (rows already
//!   read, kept in memory per bucket) correct across processes: a read takes the revisions, then
//!   reads only the buckets whose revision changed since it cached them.
//! * `rollup_dirty` holds the hours whose rollups are stale: `projectId`, `hour` (Date), `version`
//!   (Int64, `$inc`-ed by every ingest that touches the hour, all marks of a batch in one `update`
//!   command, after the sessions are written) and `epoch` (a random Int64 set when the mark is
//!   created). A [`store::analytics::DirtyHour`]'s version is `epoch << 32 | version`: clearing
//!   deletes the mark only if both still match, so a worker holding an old mark cannot delete a
//!   new mark created after the old one was cleared (a bare counter would restart at 1).
//!   `{hour: 1}` serves the oldest-first listing and the retention sweep.
//! * `saved_funnels` holds `projectId`, `name`, `steps` (an array of `{page}`, `{event}` or
//!   `{goal}` documents) and `createdAt`; funnels themselves are pipelines too (see [`funnels`]).
//! * `annotations` holds owners' notes on dates of a site's graph: `projectId`, `date` (ISO text),
//!   `text` and `createdAt` (see [`annotations`]).
//! * `segments` holds the dashboard's saved sets of filters: `projectId`, `name`, `filters` (an
//!   array of `[operator, dimension, [values]]` arrays) and `createdAt` (see [`segments`]).
//! * The dashboard's raw aggregations are pipelines on `events` (joined to `visitor_sessions` only
//!   when a session-side field is grouped or filtered) and on `visitor_sessions`: see [`analytics`].
//! * Deleting a project ([`Store::delete_project`]) deletes, in this order, its keys (so ingestion
//!   stops accepting its events once the collectors' key caches expire), share links, events,
//!   visitor documents, dirty marks (by `projectId`, which no index leads with: the collection
//!   only holds the hours waiting for a rebuild), rollups, then rollup revisions (bucket and project
//!   documents; after the rows, as the retention sweep does), saved funnels, goals, annotations,
//!   segments and this process's cached rollups, and the project document last: a failure part of
//!   the way leaves the project visible to its owner, who can delete it again. There are no
//!   transactions, so this is not atomic; another process's rollup cache needs no message, since
//!   the bucket revisions its entries were read under are gone and new ones are random.
//! * `first_event_at` reads one key of `{projectId: 1, occurredAt: -1}` and no document (see
//!   [`analytics::first_event_command`]).
//! * The retention sweep ([`Store::delete_expired`]) deletes events by `occurredAt`, rollups (then
//!   their revisions) by `g`/`b` without a `projectId` (no index leads with those: it runs rarely and reads every
//!   project anyway), pulls old sessions out of their visitor documents with `rev` incremented
//!   (so a concurrent ingest's compare-and-set fails and re-reads) and deletes visitor documents
//!   left without sessions. Its session count is exact unless sessions older than the cut-off
//!   are written while it runs.
//!
//! # Sessions under concurrency
//!
//! Sessions are computed by the pure [`store::sessions::fold`], never by database operators:
//! a late event can merge two sessions or move an entry page, which no `$inc`/`$min` upsert can
//! express, and both backends must produce exactly the sessions `fold` gives serially. The
//! difficulty is that two collector processes may ingest events of one visitor at the same time.
//! So each ingest, per visitor, does an optimistic read-fold-write:
//!
//! 1. read the documents of all visitors of the batch in one `$in` query on `_id` (while the
//!    events are being inserted: the read does not depend on it);
//! 2. fold the batch's events into each visitor's sessions in memory;
//! 3. write each changed visitor with a compare-and-set on `rev`: the statement
//!    `{q: {_id, rev: r}, u: {$set: {sessions, rev: r + 1, …}}, upsert: true}`, where `r = 0`
//!    stands for "no document yet". If another writer got there first, the filter matches nothing
//!    and the upsert's insert of an existing `_id` fails with a duplicate-key error: a lost race;
//! 4. the visitors that lost re-read (again one `$in` query for all of them), fold again and retry,
//!    up to [`MAX_FOLD_ATTEMPTS`] times, after a small random backoff so that two losers do not
//!    collide again in lock-step.
//!
//! The statements of all visitors of a batch go to the server as *one* multi-statement `update`
//! command (unordered), not as one `update_one`/`insert_one` round trip each: on SecantusDB the
//! per-visitor round trips capped ingest at ~1.8k events/s (a batch of 100 events touches ~60
//! visitors), one command doubled that. The `update` command takes many statements on every
//! MongoDB version (unlike `bulkWrite`, 8.0+, which we may not use), and it reports a failed
//! statement by its index, which is exactly what tells the losers apart. The driver has no API
//! for it, hence `run_command`.
//!
//! A single-document update is atomic in MongoDB, so the winner's write is never half-applied and
//! the loser never overwrites it: the sessions always equal `fold` of some serial order of the
//! batches, and `fold` is order-independent. This needs neither transactions (optional on the
//! servers we run on, and a replica set on real MongoDB) nor locks that a crashed collector could
//! leave behind. A lost race costs one more read and write of that visitor only. Races are rare
//! between collector processes (they would have to hold the same visitor's events at the same
//! moment); concurrent ingests *within* one process do collide whenever neighbouring batches
//! share visitors ([`MongoStore::lost_races`] counts them): correct, but wasted work that a
//! per-process group commit of session writes could remove.
//!
//! # What "stored" means
//!
//! Every write waits for the write concern `{w: "majority", j: true}` (unless the connection
//! string sets `w` or `journal` itself, which then wins): MongoDB answers once a majority of
//! the replica set has the write in its on-disk journal, so neither a crash of the server nor
//! the loss of a minority of members can take it back. The collector deletes events from its
//! ingest log once `Store::ingest` has returned, so this is what makes an acknowledged event
//! safe from then on. The client's default covers the driver's own writes (`insert_many`, …);
//! the commands this crate builds by hand (the multi-statement `update`s) carry the same
//! concern explicitly ([`MongoStore::write_concern`]), since `run_command` adds none, and a
//! `writeConcernError` in their reply fails the write (and the collector retries it).
//! [`WRITE_CONCERN_TIMEOUT`] bounds the wait when too few members are up.
//!
//! Ingest first stores the events (`insert_many`, unordered, duplicate keys counted as
//! duplicates), then folds *all* events of the batch, duplicates included. `fold` skips events a
//! session already holds, so re-folding is harmless, and a batch retried after a crash between the
//! two steps heals the sessions it had not reached.

pub mod analytics;
mod annotations;
pub mod cache;
pub mod codec;
mod explorer;
mod flows;
pub mod funnels;
mod goals;
mod journeys;
mod segments;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trails;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use contract::enrich::VisitorId;
use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::keys::KeyHash;
use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{Acknowledgment, ClientOptions, IndexOptions, ReturnDocument, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};
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

pub use cache::{RollupCacheStats, ROLLUP_CACHE_MAX_BYTES};
use codec::{date, oid, visitor_i64, visitor_key};

/// Database used when neither the URI nor the caller names one.
pub const DEFAULT_DB: &str = "metrics";

/// How many times one visitor's sessions are re-read and re-folded after losing a write race
/// before the ingest gives up (the batch can then be retried as a whole: it is idempotent).
pub const MAX_FOLD_ATTEMPTS: u32 = 20;

/// Single-document writes of one call in flight at once (`touch_keys`). Above the driver's default
/// pool (10 connections) more would only queue for a connection.
const MAX_CONCURRENT_WRITES: usize = 10;

/// Bytes of compare-and-set statements per `update` command: well under the 16 MiB command limit
/// (statement sizes are estimates, see [`cas_statement`]).
const MAX_COMMAND_BYTES: usize = 4 << 20;

/// Name of the collection of visitors' sessions (the dashboard's `$lookup`s name it).
const VISITOR_SESSIONS: &str = "visitor_sessions";

/// Name of the collection of events (commands sent with `run_command` name it).
const EVENTS: &str = "events";

/// How long a write waits for a majority of the replica set to journal it before it fails (and
/// the collector retries it): see "What "stored" means" above.
pub const WRITE_CONCERN_TIMEOUT: Duration = Duration::from_secs(10);

/// The write concern every write uses unless the connection string sets one.
pub fn durable_write_concern() -> WriteConcern {
    WriteConcern::builder()
        .w(Acknowledgment::Majority)
        .journal(true)
        .w_timeout(WRITE_CONCERN_TIMEOUT)
        .build()
}

/// `concern` as the `writeConcern` field of a command.
fn write_concern_doc(concern: &WriteConcern) -> Document {
    let mut d = Document::new();
    match &concern.w {
        Some(Acknowledgment::Nodes(n)) => {
            d.insert("w", i64::from(*n));
        }
        Some(Acknowledgment::Majority) => {
            d.insert("w", "majority");
        }
        Some(Acknowledgment::Custom(tag)) => {
            d.insert("w", tag.as_str());
        }
        _ => {}
    }
    if let Some(j) = concern.journal {
        d.insert("j", j);
    }
    if let Some(t) = concern.w_timeout {
        d.insert("wtimeout", i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
    }
    d
}

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// The events index that leads with (project, time): `Store::events`, the dashboard's time ranges
/// and `Store::first_event_at` read it.
fn events_by_time() -> Document {
    doc! { "projectId": 1, "occurredAt": -1 }
}

/// A MongoDB-backed [`Store`]. Cheap to clone: clones share one driver `Client` (and its pool).
#[derive(Clone, Debug)]
pub struct MongoStore {
    client: Client,
    db: Database,
    users: Collection<Document>,
    auth_tokens: Collection<Document>,
    projects: Collection<Document>,
    api_keys: Collection<Document>,
    share_links: Collection<Document>,
    salts: Collection<Document>,
    events: Collection<Document>,
    visitor_sessions: Collection<Document>,
    rollups: Collection<Document>,
    rollup_dirty: Collection<Document>,
    rollup_revs: Collection<Document>,
    /// Rollup rows already read, served again while their bucket's revision holds.
    rollup_cache: Arc<cache::RollupCache>,
    /// Session writes lost to another writer (and retried): a contention gauge for metrics.
    lost_races: Arc<AtomicU64>,
    /// The `writeConcern` of the commands built by hand: the client's.
    write_concern: Document,
}

/// A visitor's sessions could not be written because other writers kept winning the race.
#[derive(Debug, thiserror::Error)]
#[error("sessions of visitor {visitor:?} in project {project} still contended after {attempts} attempts")]
struct Contended {
    project: ProjectId,
    visitor: VisitorId,
    attempts: u32,
}

fn backend(e: MongoError) -> StoreError {
    StoreError::backend(e)
}

fn decoded<T>(r: codec::Decoded<T>) -> Result<T> {
    r.map_err(StoreError::backend)
}

/// Whether the error is a duplicate key, whichever way the server reported it (a write error is
/// what MongoDB sends; a command error is accepted too for wire-compatible servers).
fn is_duplicate_key(e: &MongoError) -> bool {
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(im) => {
            im.write_concern_error.is_none()
                && im
                    .write_errors
                    .as_ref()
                    .is_some_and(|w| !w.is_empty() && w.iter().all(|w| w.code == DUPLICATE_KEY))
        }
        _ => false,
    }
}

/// Per project: the sessions of the visitors an ingest folded (as stored afterwards) and the
/// starts of the sessions it merged away, what [`store::analytics::rollup::touched_hours`] needs.
type Folds = BTreeMap<ProjectId, (Vec<Session>, Vec<Millis>)>;

/// One visitor of an ingest batch whose sessions are still to be written.
struct Pending<'a> {
    id: String,
    project: ProjectId,
    visitor: VisitorId,
    events: Vec<&'a EnrichedEvent>,
}

/// The events of a batch grouped by visitor.
fn pending_of(events: &[EnrichedEvent]) -> Vec<Pending<'_>> {
    let mut by_visitor: BTreeMap<(ProjectId, VisitorId), Vec<&EnrichedEvent>> = BTreeMap::new();
    for e in events {
        by_visitor.entry((e.project_id, e.visitor_id)).or_default().push(e);
    }
    by_visitor
        .into_iter()
        .map(|((project, visitor), events)| Pending {
            id: visitor_key(&project, visitor),
            project,
            visitor,
            events,
        })
        .collect()
}

/// The compare-and-set of one visitor's document as an `update` statement, with its estimated
/// size: replace the sessions if the document is still at `rev`.
///
/// `upsert: true` makes one statement serve both cases. Document at `rev`: updated. No document
/// and `rev` 0: inserted. Otherwise (another writer got there first) the filter matches nothing,
/// the upsert tries to insert a second document with the same `_id`, and the server refuses it
/// with a duplicate-key error *for this statement's index*: the lost race is reported exactly.
/// (MongoDB's own retry of duplicate-key upserts does not apply: the filter has a field, `rev`,
/// outside the unique index, and the update changes it.)
fn cas_statement(p: &Pending, rev: i64, sessions: &[Session], now: Millis) -> (Document, usize) {
    // A trail step is three array elements (`codec::TRAIL_STEPS`): a few bytes of type, index
    // and length each, its time, its id and its value.
    let trail = |s: &Session| {
        s.trail
            .iter()
            .map(|t| 32 + t.key.id.len() + t.value.len())
            .sum::<usize>()
    };
    let bytes = 256
        + sessions
            .iter()
            .map(|s| 2048 + 16 * s.applied.len() + trail(s))
            .sum::<usize>();
    let statement = doc! {
        "q": { "_id": &p.id, "rev": rev },
        "u": { "$set": {
            "projectId": oid(p.project.bytes()),
            "visitorId": visitor_i64(p.visitor),
            "rev": rev + 1,
            "sessions": codec::sessions_bson(sessions),
            "updatedAt": date(now),
        } },
        "upsert": true,
    };
    (statement, bytes)
}

/// A write the server refused for another reason than a lost race.
#[derive(Debug, thiserror::Error)]
#[error("session write failed: {0}")]
struct WriteRefused(String);

/// Indices of the statements of an `update` command's reply that failed with a duplicate key
/// (lost races); any other failure is an error.
fn lost_statements(reply: &Document) -> Result<Vec<usize>> {
    if let Ok(wce) = reply.get_document("writeConcernError") {
        return Err(StoreError::backend(WriteRefused(format!("write concern: {wce}"))));
    }
    let Ok(errors) = reply.get_array("writeErrors") else {
        return Ok(Vec::new());
    };
    let mut lost = Vec::with_capacity(errors.len());
    for error in errors {
        let Bson::Document(error) = error else {
            return Err(StoreError::backend(WriteRefused(format!("{error}"))));
        };
        let code = match error.get("code") {
            Some(Bson::Int32(c)) => i64::from(*c),
            Some(Bson::Int64(c)) => *c,
            _ => -1,
        };
        let index = match error.get("index") {
            Some(Bson::Int32(i)) => usize::try_from(*i).ok(),
            Some(Bson::Int64(i)) => usize::try_from(*i).ok(),
            _ => None,
        };
        match index {
            Some(index) if code == i64::from(DUPLICATE_KEY) => lost.push(index),
            _ => return Err(StoreError::backend(WriteRefused(error.to_string()))),
        }
    }
    Ok(lost)
}

fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The URI's database wins (it is what an operator configured), then the caller's, then the default.
fn database_name(options: &ClientOptions, db_name: Option<&str>) -> String {
    options
        .default_database
        .clone()
        .or_else(|| db_name.map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_DB.to_owned())
}

fn index(keys: Document) -> IndexModel {
    IndexModel::builder().keys(keys).build()
}

fn index_with(keys: Document, options: IndexOptions) -> IndexModel {
    IndexModel::builder().keys(keys).options(options).build()
}

impl MongoStore {
    /// Connects and creates the indexes. The database is the one in the URI's path if any, else
    /// `db_name`, else [`DEFAULT_DB`].
    pub async fn connect(uri: &str, db_name: Option<&str>) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri).await.map_err(backend)?;
        if options.app_name.is_none() {
            options.app_name = Some("metrics-collector".into());
        }
        let concern = match options.write_concern.take() {
            Some(given) if given.w.is_some() || given.journal.is_some() => given,
            _ => durable_write_concern(),
        };
        let write_concern = write_concern_doc(&concern);
        options.write_concern = Some(concern);
        let name = database_name(&options, db_name);
        let client = Client::with_options(options).map_err(backend)?;
        let db = client.database(&name);
        let store = Self {
            users: db.collection("users"),
            auth_tokens: db.collection("auth_tokens"),
            projects: db.collection("projects"),
            api_keys: db.collection("api_keys"),
            share_links: db.collection("share_links"),
            salts: db.collection("salts"),
            events: db.collection(EVENTS),
            visitor_sessions: db.collection(VISITOR_SESSIONS),
            rollups: db.collection("rollups"),
            rollup_dirty: db.collection("rollup_dirty"),
            rollup_revs: db.collection("rollup_revs"),
            rollup_cache: Arc::new(cache::RollupCache::new(cache::ROLLUP_CACHE_MAX_BYTES)),
            client,
            db,
            lost_races: Arc::default(),
            write_concern,
        };
        store.create_indexes().await?;
        store.migrate_trails().await?;
        Ok(store)
    }

    /// The `writeConcern` every write of this store waits for (see "What "stored" means").
    pub fn write_concern(&self) -> &Document {
        &self.write_concern
    }

    /// The database this store works in (for tests, tools and the dashboard's aggregations).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// How many per-visitor session writes lost a compare-and-set race (and were re-folded)
    /// since this store connected. Rising steadily means many writers share visitors.
    pub fn lost_races(&self) -> u64 {
        self.lost_races.load(Ordering::Relaxed)
    }

    /// The rollup cache's hits and misses (per bucket read) and size.
    pub fn rollup_cache_stats(&self) -> RollupCacheStats {
        self.rollup_cache.stats()
    }

    /// The driver client (shared by clones of this store).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates every index of the data model. Idempotent: MongoDB treats re-creating an identical
    /// index as a no-op, so every collector process runs this at start-up.
    pub async fn create_indexes(&self) -> Result<()> {
        let unique = || IndexOptions::builder().unique(true).build();
        // Expired tokens are deleted by MongoDB's TTL monitor; tokens without `expiresAt` never.
        let ttl = IndexOptions::builder().expire_after(Duration::ZERO).build();
        let plan: [(&Collection<Document>, Vec<IndexModel>); 10] = [
            (&self.users, vec![index_with(doc! { "email": 1 }, unique())]),
            (
                &self.auth_tokens,
                vec![index(doc! { "userId": 1 }), index_with(doc! { "expiresAt": 1 }, ttl)],
            ),
            (
                &self.projects,
                vec![
                    index(doc! { "createdAt": -1 }),
                    index(doc! { "ownerUserId": 1, "createdAt": -1 }),
                ],
            ),
            (
                &self.api_keys,
                vec![
                    index_with(doc! { "keyHash": 1 }, unique()),
                    index(doc! { "projectId": 1, "createdAt": -1 }),
                ],
            ),
            (
                &self.share_links,
                vec![
                    index_with(doc! { "slug": 1 }, unique()),
                    index(doc! { "projectId": 1, "createdAt": -1 }),
                ],
            ),
            (
                &self.events,
                vec![
                    index(events_by_time()),
                    index(doc! { "projectId": 1, "name": 1, "occurredAt": -1 }),
                ],
            ),
            (
                &self.visitor_sessions,
                vec![index(doc! { "projectId": 1, "sessions.start": 1 })],
            ),
            (
                &self.rollups,
                vec![
                    index(doc! { "projectId": 1, "g": 1, "d": 1, "b": 1 }),
                    index(doc! { "projectId": 1, "g": 1, "b": 1 }),
                ],
            ),
            (&self.rollup_dirty, vec![index(doc! { "hour": 1 })]),
            (&self.rollup_revs, vec![index(doc! { "projectId": 1, "g": 1, "b": 1 })]),
        ];
        for (collection, models) in plan {
            collection.create_indexes(models).await.map_err(backend)?;
        }
        goals::create_indexes(&self.db).await?;
        annotations::create_indexes(&self.db).await?;
        segments::create_indexes(&self.db).await?;
        self.create_funnel_indexes().await?;
        // The session explorer's look-up by id (see `explorer::sessions_by_id` for its cost).
        self.visitor_sessions
            .create_index(index(explorer::sessions_by_id()))
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Step 1 of ingest: stores the events not stored before.
    /// Step 1 of ingest: inserts the events, skipping ids already stored. Returns the indexes
    /// (in `events`) of those skipped.
    async fn store_events(&self, events: &[EnrichedEvent]) -> Result<Vec<usize>> {
        let docs: Vec<Document> = events.iter().map(codec::event_doc).collect();
        // Unordered: a duplicate in the middle must not stop the events after it.
        match self.events.insert_many(docs).ordered(false).await {
            Ok(_) => Ok(Vec::new()),
            Err(e) => match &*e.kind {
                ErrorKind::InsertMany(im) if im.write_concern_error.is_none() => match &im.write_errors {
                    Some(errors) if errors.iter().all(|w| w.code == DUPLICATE_KEY) => {
                        Ok(errors.iter().map(|w| w.index).collect())
                    }
                    _ => Err(backend(e)),
                },
                _ => Err(backend(e)),
            },
        }
    }

    /// The batch as stored: each event whose id was already stored replaced by the stored one
    /// (`duplicates` are their indexes), so that a replay with other fields or from another
    /// visitor folds what is stored, changing nothing, while a plain retry still heals sessions a
    /// crashed attempt did not finish.
    async fn as_stored(&self, events: &[EnrichedEvent], duplicates: &[usize]) -> Result<Vec<EnrichedEvent>> {
        let keys: Vec<Bson> = duplicates
            .iter()
            .map(|&i| Bson::Document(codec::event_key(&events[i].project_id, &events[i].id)))
            .collect();
        let mut stored: HashMap<(ProjectId, String), EnrichedEvent> = HashMap::with_capacity(keys.len());
        let mut cursor = self
            .events
            .find(doc! { "_id": { "$in": keys } })
            .await
            .map_err(backend)?;
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let e = decoded(codec::event_from(&d))?;
            stored.insert((e.project_id, e.id.as_str().to_owned()), e);
        }
        let duplicates: HashSet<usize> = duplicates.iter().copied().collect();
        Ok(events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                if !duplicates.contains(&i) {
                    return Some(e.clone());
                }
                // Missing only if deleted since (its project, or retention): nothing to fold.
                stored.get(&(e.project_id, e.id.as_str().to_owned())).cloned()
            })
            .collect())
    }

    /// Steps 2 and 3 of ingest: folds `events` (grouped in `pending`, whose documents are `read`)
    /// into their visitors' sessions, then marks the hours whose rollups changed.
    async fn fold_and_mark(
        &self,
        events: &[EnrichedEvent],
        pending: Vec<Pending<'_>>,
        read: HashMap<String, codec::VisitorDoc>,
    ) -> Result<()> {
        let folds = self.fold_sessions(pending, read).await?;
        // Marked once the sessions are written: a rollup worker that clears a mark has then
        // rebuilt from data that includes this batch, or sees the mark's version change.
        let mut hours = BTreeSet::new();
        for (project, (sessions, removed)) in folds {
            let mine = events.iter().filter(|e| e.project_id == project);
            let touched = store::analytics::rollup::touched_hours(mine, &sessions, &removed);
            hours.extend(touched.into_iter().map(|hour| (project, hour)));
        }
        self.mark_dirty(&hours).await
    }

    /// The `visitor_sessions` documents of these visitors, in one query.
    async fn read_visitors(&self, pending: &[Pending<'_>]) -> Result<HashMap<String, codec::VisitorDoc>> {
        let ids: Vec<Bson> = pending.iter().map(|p| Bson::String(p.id.clone())).collect();
        let mut cursor = self
            .visitor_sessions
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(backend)?;
        let mut found = HashMap::with_capacity(pending.len());
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let v = decoded(codec::visitor_from(&d))?;
            found.insert(visitor_key(&v.project_id, v.visitor_id), v);
        }
        Ok(found)
    }

    /// Step 2 of ingest: folds every event of the batch into its visitor's sessions, with one
    /// compare-and-set per visitor, retrying the visitors that lost a race. Returns, by project,
    /// the folded visitors' sessions as now stored and the starts of sessions merged away.
    async fn fold_sessions(
        &self,
        mut pending: Vec<Pending<'_>>,
        mut read: HashMap<String, codec::VisitorDoc>,
    ) -> Result<Folds> {
        let mut out = Folds::new();
        for attempt in 0..MAX_FOLD_ATTEMPTS {
            if attempt > 0 {
                // Random, growing a little per attempt: two writers that just collided should not
                // re-read and write again at the same instant.
                let cap = 1u64 << attempt.min(5);
                tokio::time::sleep(Duration::from_millis(rand::random_range(0..=cap))).await;
                read = self.read_visitors(&pending).await?;
            }
            let now = now_ms();
            let mut statements = Vec::with_capacity(pending.len());
            let mut writers = Vec::with_capacity(pending.len());
            for p in pending {
                let (rev, stored) = match read.remove(&p.id) {
                    Some(v) => (v.rev, v.sessions),
                    // No document yet: rev 0 stands for "absent" (a written document has rev >= 1).
                    None => (0, Vec::new()),
                };
                let starts = analytics::starts_by_id(&stored);
                let folded = sessions::fold(stored, &p.events, &mut || contract::encode_hex(&store::ids::mint(now)));
                if folded.folded == 0 {
                    // Every event is already in (a retried batch, or another writer folded them,
                    // or our own write of the previous attempt did after all). Its hours are
                    // still marked: the earlier attempt may have died before marking them.
                    out.entry(p.project).or_default().0.extend(folded.sessions);
                    continue;
                }
                let removed: Vec<Millis> = folded.removed.iter().filter_map(|id| starts.get(id).copied()).collect();
                statements.push(cas_statement(&p, rev, &folded.sessions, now));
                writers.push((p, folded.sessions, removed));
            }
            if statements.is_empty() {
                return Ok(out);
            }
            let lost = self.run_cas(statements).await?;
            self.lost_races.fetch_add(lost.len() as u64, Ordering::Relaxed);
            pending = Vec::with_capacity(lost.len());
            for (i, (p, sessions, removed)) in writers.into_iter().enumerate() {
                if lost.contains(&i) {
                    pending.push(p);
                } else {
                    let (all, starts) = out.entry(p.project).or_default();
                    all.extend(sessions);
                    starts.extend(removed);
                }
            }
            if pending.is_empty() {
                return Ok(out);
            }
        }
        let p = &pending[0];
        Err(StoreError::backend(Contended {
            project: p.project,
            visitor: p.visitor,
            attempts: MAX_FOLD_ATTEMPTS,
        }))
    }

    /// Sends compare-and-set statements as multi-statement `update` commands and returns the
    /// indices of those that lost their race.
    ///
    /// One command for all visitors of a batch, not one `update_one` each: measured on
    /// SecantusDB, one round trip per visitor capped ingest at ~1.8k events/s (batches of 100
    /// events touch ~60 visitors), whatever the concurrency. The plain `update` command takes
    /// many statements on every MongoDB version (unlike `bulkWrite`, 8.0+), and reports a
    /// failed statement by its index, which is what tells the losers apart.
    async fn run_cas(&self, statements: Vec<(Document, usize)>) -> Result<BTreeSet<usize>> {
        let mut lost = BTreeSet::new();
        let mut offset = 0;
        let mut chunk: Vec<Document> = Vec::new();
        let mut chunk_bytes = 0;
        let total = statements.len();
        for (i, (statement, bytes)) in statements.into_iter().enumerate() {
            chunk_bytes += bytes;
            chunk.push(statement);
            if chunk_bytes >= MAX_COMMAND_BYTES || i + 1 == total {
                let sent = std::mem::take(&mut chunk);
                let count = sent.len();
                let command = doc! {
                    "update": self.visitor_sessions.name(),
                    "updates": sent,
                    "ordered": false,
                    "writeConcern": self.write_concern.clone(),
                };
                let reply = self.db.run_command(command).await.map_err(backend)?;
                for index in lost_statements(&reply)? {
                    lost.insert(offset + index);
                }
                offset += count;
                chunk_bytes = 0;
            }
        }
        Ok(lost)
    }

    async fn find_all<T>(
        &self,
        collection: &Collection<Document>,
        filter: Document,
        sort: Document,
        decode: fn(&Document) -> codec::Decoded<T>,
    ) -> Result<Vec<T>> {
        let docs: Vec<Document> = collection
            .find(filter)
            .sort(sort)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter().map(|d| decoded(decode(d))).collect()
    }

    async fn find_one<T>(
        &self,
        collection: &Collection<Document>,
        filter: Document,
        decode: fn(&Document) -> codec::Decoded<T>,
    ) -> Result<Option<T>> {
        let found = collection.find_one(filter).await.map_err(backend)?;
        found.as_ref().map(|d| decoded(decode(d))).transpose()
    }

    async fn insert_unique(&self, collection: &Collection<Document>, doc: Document, what: &'static str) -> Result<()> {
        match collection.insert_one(doc).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::Conflict(what)),
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl Store for MongoStore {
    fn backend_name(&self) -> &'static str {
        "mongodb"
    }

    async fn health(&self) -> Result<()> {
        self.db.run_command(doc! { "ping": 1 }).await.map_err(backend)?;
        Ok(())
    }

    // --- owners ------------------------------------------------------------------------------

    async fn create_user(&self, user: &User) -> Result<()> {
        self.insert_unique(&self.users, codec::user_doc(user), "email").await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.find_one(&self.users, doc! { "email": email.as_str() }, codec::user_from)
            .await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        self.find_one(&self.users, doc! { "_id": oid(id.bytes()) }, codec::user_from)
            .await
    }

    async fn update_password(&self, user: &UserId, password_hash: &str) -> Result<bool> {
        let result = self
            .users
            .update_one(
                doc! { "_id": oid(user.bytes()) },
                doc! { "$set": { "passwordHash": password_hash } },
            )
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }

    // --- login sessions and bearer tokens ----------------------------------------------------

    async fn create_auth_token(&self, token: &AuthToken) -> Result<()> {
        self.insert_unique(&self.auth_tokens, codec::token_doc(token), "auth token")
            .await
    }

    async fn auth_token(&self, token_hash: &str, now: Millis) -> Result<Option<AuthToken>> {
        // Checked here, not only by the TTL index: its monitor deletes up to a minute late.
        let token = self
            .find_one(&self.auth_tokens, doc! { "_id": token_hash }, codec::token_from)
            .await?;
        Ok(token.filter(|t| t.expires_at.is_none_or(|at| now < at)))
    }

    async fn delete_auth_token(&self, token_hash: &str) -> Result<()> {
        self.auth_tokens
            .delete_one(doc! { "_id": token_hash })
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn auth_tokens_of(&self, user: &UserId) -> Result<Vec<AuthToken>> {
        // A user has a handful of tokens (expired logins are deleted by the TTL index): the
        // {userId} index finds them, sorting them in memory is free.
        self.find_all(
            &self.auth_tokens,
            doc! { "userId": oid(user.bytes()) },
            doc! { "createdAt": -1, "_id": -1 },
            codec::token_from,
        )
        .await
    }

    async fn delete_auth_tokens_of(&self, user: &UserId, kind: TokenKind, except_hash: Option<&str>) -> Result<u64> {
        let mut filter = doc! { "userId": oid(user.bytes()), "kind": kind.as_str() };
        if let Some(hash) = except_hash {
            filter.insert("_id", doc! { "$ne": hash });
        }
        let result = self.auth_tokens.delete_many(filter).await.map_err(backend)?;
        Ok(result.deleted_count)
    }

    // --- projects and keys -------------------------------------------------------------------

    async fn create_project(&self, project: &Project) -> Result<()> {
        self.insert_unique(&self.projects, codec::project_doc(project), "project")
            .await
    }

    async fn project(&self, id: &ProjectId) -> Result<Option<Project>> {
        self.find_one(&self.projects, doc! { "_id": oid(id.bytes()) }, codec::project_from)
            .await
    }

    async fn projects_of(&self, owner: &UserId) -> Result<Vec<Project>> {
        // `_id` breaks ties of equal creation times so the order is stable between calls.
        let filter = doc! { "ownerUserId": oid(owner.bytes()) };
        self.find_all(
            &self.projects,
            filter,
            doc! { "createdAt": -1, "_id": -1 },
            codec::project_from,
        )
        .await
    }

    async fn update_project(&self, project: &Project) -> Result<bool> {
        let result = self
            .projects
            .update_one(doc! { "_id": oid(project.id.bytes()) }, codec::project_update(project))
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }

    async fn delete_project(&self, id: &ProjectId) -> Result<bool> {
        // The order is explained in the crate documentation: keys first, the project last.
        let project = oid(id.bytes());
        let of_project = doc! { "projectId": project };
        for collection in [
            &self.api_keys,
            &self.share_links,
            &self.events,
            &self.visitor_sessions,
            &self.rollup_dirty,
            &self.rollups,
            &self.rollup_revs,
        ] {
            collection.delete_many(of_project.clone()).await.map_err(backend)?;
        }
        self.delete_funnels_of(id).await?;
        // The project's own revision document has no `projectId`, only its `_id`.
        self.rollup_revs
            .delete_one(doc! { "_id": codec::project_rev_key(id) })
            .await
            .map_err(backend)?;
        self.delete_goals_of(id).await?;
        self.delete_annotations_of(id).await?;
        self.delete_segments_of(id).await?;
        self.rollup_cache.forget_project(id);
        let result = self
            .projects
            .delete_one(doc! { "_id": project })
            .await
            .map_err(backend)?;
        Ok(result.deleted_count == 1)
    }

    async fn create_key(&self, key: &KeyRecord) -> Result<()> {
        self.insert_unique(&self.api_keys, codec::key_doc(key), "api key").await
    }

    async fn key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        self.find_one(&self.api_keys, doc! { "_id": oid(id.bytes()) }, codec::key_from)
            .await
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>> {
        self.find_one(&self.api_keys, doc! { "keyHash": hash.as_str() }, codec::key_from)
            .await
    }

    async fn keys_of(&self, project: &ProjectId) -> Result<Vec<KeyRecord>> {
        let filter = doc! { "projectId": oid(project.bytes()) };
        self.find_all(
            &self.api_keys,
            filter,
            doc! { "createdAt": -1, "_id": -1 },
            codec::key_from,
        )
        .await
    }

    async fn revoke_key(&self, id: &KeyId, at: Millis) -> Result<bool> {
        // The filter makes the first revocation time stick (`revokedAt: null` also matches an
        // absent field); a second call matches nothing and only has to tell whether the key exists.
        let filter = doc! { "_id": oid(id.bytes()), "revokedAt": Bson::Null };
        let result = self
            .api_keys
            .update_one(filter, doc! { "$set": { "revokedAt": date(at) } })
            .await
            .map_err(backend)?;
        if result.matched_count == 1 {
            return Ok(true);
        }
        let exists = self
            .api_keys
            .count_documents(doc! { "_id": oid(id.bytes()) })
            .limit(1)
            .await
            .map_err(backend)?;
        Ok(exists > 0)
    }

    async fn touch_keys(&self, used: &[(KeyId, Millis)]) -> Result<()> {
        // One update per key with its latest time; `$max` never lowers lastUsedAt, also when
        // two collectors touch the same key concurrently.
        let mut latest: HashMap<KeyId, Millis> = HashMap::new();
        for &(id, at) in used {
            latest.entry(id).and_modify(|t| *t = (*t).max(at)).or_insert(at);
        }
        let updates = latest.into_iter().map(|(id, at)| async move {
            let update = doc! { "$max": { "lastUsedAt": date(at) } };
            self.api_keys
                .update_one(doc! { "_id": oid(id.bytes()) }, update)
                .await
                .map(drop)
                .map_err(backend)
        });
        futures_util::stream::iter(updates)
            .buffer_unordered(MAX_CONCURRENT_WRITES)
            .try_collect::<()>()
            .await
    }

    // --- share links -------------------------------------------------------------------------

    async fn create_share_link(&self, link: &ShareLink) -> Result<()> {
        self.insert_unique(&self.share_links, codec::share_doc(link), "share link")
            .await
    }

    async fn share_links_of(&self, project: &ProjectId) -> Result<Vec<ShareLink>> {
        self.find_all(
            &self.share_links,
            doc! { "projectId": oid(project.bytes()) },
            doc! { "createdAt": -1, "_id": -1 },
            codec::share_from,
        )
        .await
    }

    async fn share_link_by_slug(&self, slug: &ShareSlug) -> Result<Option<ShareLink>> {
        self.find_one(&self.share_links, doc! { "slug": slug.as_str() }, codec::share_from)
            .await
    }

    async fn delete_share_link(&self, id: &ShareId) -> Result<bool> {
        let result = self
            .share_links
            .delete_one(doc! { "_id": oid(id.bytes()) })
            .await
            .map_err(backend)?;
        Ok(result.deleted_count == 1)
    }

    // --- daily visitor salts -----------------------------------------------------------------

    async fn salt_for_day(&self, day: i64, candidate: [u8; 32]) -> Result<[u8; 32]> {
        let update = doc! { "$setOnInsert": { "salt": codec::salt_binary(candidate), "createdAt": date(now_ms()) } };
        // Two concurrent upserts of one new `_id` can both try the insert; the loser gets a
        // duplicate-key error (older MongoDB does not retry it itself), and a second try then
        // finds the winner's salt.
        for _ in 0..2 {
            let result = self
                .salts
                .find_one_and_update(doc! { "_id": day }, update.clone())
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Ok(Some(d)) => return decoded(codec::salt_from(&d)),
                Ok(None) => break,
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(backend(e)),
            }
        }
        // Unreachable on a conforming server (an upsert returning `After` always returns a doc).
        let found = self.salts.find_one(doc! { "_id": day }).await.map_err(backend)?;
        match found {
            Some(d) => decoded(codec::salt_from(&d)),
            None => Err(StoreError::backend(std::io::Error::other(
                "salt upsert returned no document",
            ))),
        }
    }

    async fn delete_salts_before(&self, day: i64) -> Result<u64> {
        let result = self
            .salts
            .delete_many(doc! { "_id": { "$lt": day } })
            .await
            .map_err(backend)?;
        Ok(result.deleted_count)
    }

    // --- events and sessions -----------------------------------------------------------------

    async fn ingest(&self, events: &[EnrichedEvent]) -> Result<IngestReport> {
        if events.is_empty() {
            return Ok(IngestReport::default());
        }
        // Reading the sessions does not depend on storing the events: both in one round trip's
        // time. Sessions are only written once the events are stored.
        let pending = pending_of(events);
        let (duplicates, read) =
            futures_util::future::join(self.store_events(events), self.read_visitors(&pending)).await;
        let duplicates = duplicates?;
        let report = IngestReport {
            stored: events.len() - duplicates.len(),
            duplicates: duplicates.len(),
        };
        if !duplicates.is_empty() {
            // Rare (retries, replays): fold the batch as stored, re-reading its visitors.
            let events = self.as_stored(events, &duplicates).await?;
            let pending = pending_of(&events);
            let read = self.read_visitors(&pending).await?;
            self.fold_and_mark(&events, pending, read).await?;
            return Ok(report);
        }
        self.fold_and_mark(events, pending, read?).await?;
        Ok(report)
    }

    async fn events(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<EnrichedEvent>> {
        let filter = doc! { "projectId": oid(project.bytes()), "occurredAt": { "$gte": date(from), "$lt": date(to) } };
        // Sorting by time alone lets the {projectId, occurredAt} index deliver the order (no
        // blocking in-memory sort on the server); ties, rare, are ordered by id here.
        let mut events = self
            .find_all(&self.events, filter, doc! { "occurredAt": 1 }, codec::event_from)
            .await?;
        events.sort_by(|a, b| (a.occurred_at, a.id.as_str()).cmp(&(b.occurred_at, b.id.as_str())));
        Ok(events)
    }

    async fn sessions(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<Session>> {
        let range = doc! { "$gte": date(from), "$lt": date(to) };
        let pipeline = vec![
            // `$elemMatch` so that one and the same session satisfies both bounds (and the
            // {projectId, sessions.start} index gets a bounded range).
            doc! { "$match": { "projectId": oid(project.bytes()), "sessions": { "$elemMatch": { "start": range.clone() } } } },
            doc! { "$unwind": "$sessions" },
            doc! { "$match": { "sessions.start": range } },
            doc! { "$sort": { "sessions.start": 1, "visitorId": 1 } },
            doc! { "$project": { "_id": 0, "visitorId": 1, "sessions": 1 } },
        ];
        let docs: Vec<Document> = self
            .visitor_sessions
            .aggregate(pipeline)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        let mut out = Vec::with_capacity(docs.len());
        for d in &docs {
            let visitor = VisitorId(d.get_i64("visitorId").map_err(StoreError::backend)? as u64);
            let session = d.get_document("sessions").map_err(StoreError::backend)?;
            out.push(decoded(codec::session_from(session, *project, visitor))?);
        }
        // The server sorted visitors as signed Int64; the trait orders them as u64 (half of all
        // visitor hashes differ), so ties are re-ordered here. Stable and nearly sorted: cheap.
        out.sort_by_key(|s| (s.start, s.visitor_id));
        Ok(out)
    }

    async fn first_event_at(&self, project: &ProjectId) -> Result<Option<Millis>> {
        self.first_event_at_impl(project).await
    }

    // --- dashboard queries -------------------------------------------------------------------

    async fn aggregate_events(&self, q: &RawQuery) -> Result<Vec<EventGroup>> {
        self.aggregate_events_impl(q).await
    }

    async fn aggregate_sessions(&self, q: &RawQuery) -> Result<Vec<SessionGroup>> {
        self.aggregate_sessions_impl(q).await
    }

    async fn sessions_of_visitors(&self, project: &ProjectId, visitors: &[VisitorId]) -> Result<Vec<Session>> {
        self.sessions_of_visitors_impl(project, visitors).await
    }

    // --- rollups -----------------------------------------------------------------------------

    async fn dirty_hours(&self, limit: usize) -> Result<Vec<DirtyHour>> {
        self.dirty_hours_impl(limit).await
    }

    async fn clear_dirty(&self, mark: &DirtyHour) -> Result<bool> {
        self.clear_dirty_impl(mark).await
    }

    async fn replace_rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        bucket: Millis,
        rows: &[RollupRow],
    ) -> Result<()> {
        self.replace_rollups_impl(project, granularity, bucket, rows).await
    }

    async fn rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: Option<&RollupDim>,
    ) -> Result<Vec<StoredRollup>> {
        self.rollups_impl(project, granularity, from, to, dim).await
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
        self.rollup_summaries_impl(project, granularity, from, to, dim).await
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
        self.rollups_of_values_impl(project, granularity, from, to, dim, values)
            .await
    }

    // --- goals -------------------------------------------------------------------------------

    async fn create_goal(&self, goal: &Goal) -> Result<()> {
        self.create_goal_impl(goal).await
    }

    async fn goals_of(&self, project: &ProjectId) -> Result<Vec<Goal>> {
        self.goals_of_impl(project).await
    }

    async fn delete_goal(&self, project: &ProjectId, id: &GoalId) -> Result<bool> {
        self.delete_goal_impl(project, id).await
    }

    // --- annotations -------------------------------------------------------------------------

    async fn create_annotation(&self, annotation: &Annotation) -> Result<()> {
        self.create_annotation_impl(annotation).await
    }

    async fn annotations_of(&self, project: &ProjectId) -> Result<Vec<Annotation>> {
        self.annotations_of_impl(project).await
    }

    async fn delete_annotation(&self, project: &ProjectId, id: &AnnotationId) -> Result<bool> {
        self.delete_annotation_impl(project, id).await
    }

    // --- segments ----------------------------------------------------------------------------

    async fn create_segment(&self, segment: &Segment) -> Result<()> {
        self.create_segment_impl(segment).await
    }

    async fn segments_of(&self, project: &ProjectId) -> Result<Vec<Segment>> {
        self.segments_of_impl(project).await
    }

    async fn delete_segment(&self, project: &ProjectId, id: &SegmentId) -> Result<bool> {
        self.delete_segment_impl(project, id).await
    }

    // --- funnels -----------------------------------------------------------------------------

    async fn funnel(
        &self,
        q: &store::analytics::funnel::FunnelQuery,
    ) -> Result<store::analytics::funnel::FunnelCounts> {
        self.funnel_impl(q).await
    }

    async fn create_saved_funnel(&self, funnel: &store::funnels::SavedFunnel) -> Result<()> {
        self.create_saved_funnel_impl(funnel).await
    }

    async fn saved_funnels_of(&self, project: &ProjectId) -> Result<Vec<store::funnels::SavedFunnel>> {
        self.saved_funnels_of_impl(project).await
    }

    async fn delete_saved_funnel(&self, project: &ProjectId, id: &store::ids::FunnelId) -> Result<bool> {
        self.delete_saved_funnel_impl(project, id).await
    }

    // --- journeys and the session explorer ---------------------------------------------------

    async fn journeys(
        &self,
        q: &store::analytics::journeys::JourneyQuery,
    ) -> Result<store::analytics::journeys::Journeys> {
        self.journeys_impl(q).await
    }

    async fn session_list(&self, q: &store::analytics::explorer::SessionListQuery) -> Result<Vec<Session>> {
        self.session_list_impl(q).await
    }

    async fn session(
        &self,
        project: &ProjectId,
        id: &store::analytics::explorer::SessionId,
    ) -> Result<Option<Session>> {
        self.session_impl(project, id).await
    }

    async fn session_events(&self, session: &Session, limit: usize) -> Result<Vec<EnrichedEvent>> {
        self.session_events_impl(session, limit).await
    }

    async fn delete_expired(&self, retention: &Retention) -> Result<Expired> {
        self.delete_expired_impl(retention).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_database_comes_from_the_uri_then_the_argument_then_the_default() {
        // Parsing only: no server is contacted.
        let name = |uri: &'static str, arg: Option<&'static str>| async move {
            database_name(&ClientOptions::parse(uri).await.unwrap(), arg)
        };
        assert_eq!(
            name("mongodb://127.0.0.1:1/analytics?directConnection=true", Some("arg")).await,
            "analytics"
        );
        assert_eq!(
            name("mongodb://127.0.0.1:1/?directConnection=true", Some("arg")).await,
            "arg"
        );
        assert_eq!(name("mongodb://127.0.0.1:1", None).await, DEFAULT_DB);
    }
}
