//! The one-time migration that gives every stored session its trail as arrays
//! ([`codec::TRAIL_STEPS`]), the form funnels and journeys walk in their pipelines.
//!
//! Sessions written before it hold their trail as `store::trail` bytes ([`codec::OLD_TRAIL`]),
//! or, written before trails existed, none at all. [`MongoStore::connect`] runs
//! [`MongoStore::migrate_trails`] unless the `migrations` collection says it ran:
//!
//! 1. every `visitor_sessions` document with a session lacking the arrays is read; a session
//!    whose trail is complete (one step per page view and custom event it counted: the trail's
//!    invariant) is rewritten as it is, the others are noted;
//! 2. for the noted documents, per project, the events from their first session's start to their
//!    last session's end are read once in time order (the `{projectId, occurredAt}` index),
//!    `page_exit`s left out; a document is rewritten once the read has passed its last end, so
//!    memory holds the steps of the documents still open, as SQLite's `schema::backfill_trails`
//!    does;
//! 3. the mark is written.
//!
//! Every rewrite is a compare-and-set on the document's `rev` (and bumps it, so an ingest that
//! read the document before loses its race and re-folds): a lost race reads the document again.
//! Every session written by this version carries the arrays, so a document whose sessions all
//! do needs nothing more.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use contract::ids::ProjectId;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use store::sessions::{Session, TrailStep};
use store::{Millis, Result, StoreError};

use crate::codec::{self, date, oid};
use crate::{backend, decoded, MongoStore, MAX_COMMAND_BYTES};

/// The collection of migration marks: `{_id: <name>, at: <date>}` once a migration completed.
pub const MIGRATIONS: &str = "migrations";

/// The mark of this migration in [`MIGRATIONS`].
pub const TRAIL_ARRAYS_MARK: &str = "trail-arrays";

/// How many times one document is re-read after losing its compare-and-set to an ingest before
/// the migration gives up (and the store does not open): ingests of one visitor are rare enough
/// that losing this often means something else keeps rewriting it.
const MAX_REWRITE_ATTEMPTS: usize = 20;

/// What the migration did: for the log and the tests.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct TrailMigration {
    /// Documents rewritten with their stored trails.
    pub rewritten: u64,
    /// Documents whose trails were rebuilt from the events.
    pub rebuilt: u64,
}

/// Whether a session's trail holds all its steps: `fold` adds one step per page view and custom
/// event it counts.
fn is_complete(s: &Session) -> bool {
    s.trail.len() as u64 >= u64::from(s.pageviews) + u64::from(s.custom_events)
}

/// A document whose trails come from the events: its id and the span of its sessions.
struct Noted {
    id: String,
    first_start: Millis,
    last_end: Millis,
}

#[derive(Debug, thiserror::Error)]
#[error("trail migration: document {0} kept changing under the rewrite")]
struct KeptChanging(String);

/// The update statement rewriting a document's sessions if it is still at `rev`.
fn rewrite_statement(id: &str, rev: i64, sessions: &[Session]) -> Document {
    doc! {
        "q": { "_id": id, "rev": rev },
        "u": { "$set": { "sessions": codec::sessions_bson(sessions), "rev": rev + 1 } },
    }
}

/// Adds the steps of `steps` that fall in an incomplete session to its trail.
fn fill(sessions: &mut [Session], steps: &[TrailStep]) {
    for s in sessions.iter_mut().filter(|s| !is_complete(s)) {
        s.trail.extend(
            steps
                .iter()
                .filter(|t| s.start <= t.key.at && t.key.at <= s.end)
                .cloned(),
        );
        s.trail.sort_by(|a, b| a.key.cmp(&b.key));
        s.trail.dedup_by(|a, b| a.key == b.key);
    }
}

impl MongoStore {
    /// Runs the migration unless its mark says it ran (see the module documentation).
    pub async fn migrate_trails(&self) -> Result<TrailMigration> {
        let marks = self.db.collection::<Document>(MIGRATIONS);
        let mark = marks
            .find_one(doc! { "_id": TRAIL_ARRAYS_MARK })
            .await
            .map_err(backend)?;
        if mark.is_some() {
            return Ok(TrailMigration::default());
        }
        let mut done = TrailMigration::default();
        let filter = doc! { "sessions": { "$elemMatch": { codec::TRAIL_STEPS: { "$exists": false } } } };
        let mut cursor = self.visitor_sessions.find(filter).await.map_err(backend)?;
        let mut statements = Vec::new();
        let mut ids = Vec::new();
        let mut statement_bytes = 0;
        let mut noted: BTreeMap<ProjectId, Vec<Noted>> = BTreeMap::new();
        while let Some(d) = cursor.try_next().await.map_err(backend)? {
            let visitor = decoded(codec::visitor_from(&d))?;
            let id = d
                .get_str("_id")
                .map_err(|_| bad("a visitor document's _id"))?
                .to_owned();
            if visitor.sessions.iter().all(is_complete) {
                statement_bytes += 256 + 2 * mongodb::bson::to_vec(&d).map_err(StoreError::backend)?.len();
                statements.push(rewrite_statement(&id, visitor.rev, &visitor.sessions));
                ids.push(id);
                if statement_bytes >= MAX_COMMAND_BYTES {
                    done.rewritten += self
                        .rewrite_all(std::mem::take(&mut statements), std::mem::take(&mut ids))
                        .await?;
                    statement_bytes = 0;
                }
            } else if let (Some(first), Some(last)) = (
                visitor.sessions.iter().map(|s| s.start).min(),
                visitor.sessions.iter().map(|s| s.end).max(),
            ) {
                noted.entry(visitor.project_id).or_default().push(Noted {
                    id,
                    first_start: first,
                    last_end: last,
                });
            }
        }
        done.rewritten += self.rewrite_all(statements, ids).await?;
        for (project, docs) in noted {
            done.rebuilt += self.rebuild_from_events(project, docs).await?;
        }
        marks
            .update_one(
                doc! { "_id": TRAIL_ARRAYS_MARK },
                doc! { "$set": { "at": mongodb::bson::DateTime::now() } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        Ok(done)
    }

    /// Sends the rewrites as multi-statement `update` commands (one round trip for many
    /// documents); the documents of a command that did not match them all are checked one by
    /// one. Returns how many documents it rewrote or found rewritten.
    async fn rewrite_all(&self, statements: Vec<Document>, ids: Vec<String>) -> Result<u64> {
        if statements.is_empty() {
            return Ok(0);
        }
        let count = statements.len() as u64;
        let command = doc! {
            "update": self.visitor_sessions.name(),
            "updates": statements,
            "ordered": false,
            "writeConcern": self.write_concern.clone(),
        };
        let reply = self.db.run_command(command).await.map_err(backend)?;
        let matched = match reply.get("n") {
            Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
            Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        if matched < count {
            for id in &ids {
                self.rewrite_one(id, &[]).await?;
            }
        }
        Ok(count)
    }

    /// Rewrites one document with `steps` added to its incomplete sessions, re-reading it after
    /// each lost race. A document gone (its project deleted) or already in the new form is done.
    async fn rewrite_one(&self, id: &str, steps: &[TrailStep]) -> Result<()> {
        for _ in 0..MAX_REWRITE_ATTEMPTS {
            let Some(d) = self
                .visitor_sessions
                .find_one(doc! { "_id": id })
                .await
                .map_err(backend)?
            else {
                return Ok(());
            };
            let all_arrays = d
                .get_array("sessions")
                .map(|s| s.iter().all(|s| s.as_document().is_some_and(codec::has_trail_arrays)))
                .unwrap_or(false);
            if all_arrays {
                return Ok(());
            }
            let mut visitor = decoded(codec::visitor_from(&d))?;
            fill(&mut visitor.sessions, steps);
            let statement = rewrite_statement(id, visitor.rev, &visitor.sessions);
            let result = self
                .visitor_sessions
                .update_one(
                    statement.get_document("q").map_err(StoreError::backend)?.clone(),
                    statement.get_document("u").map_err(StoreError::backend)?.clone(),
                )
                .await
                .map_err(backend)?;
            if result.matched_count == 1 {
                return Ok(());
            }
        }
        Err(StoreError::backend(KeptChanging(id.to_owned())))
    }

    /// Rebuilds the trails of one project's noted documents from its events (step 2 of the
    /// module documentation). Returns how many documents it rewrote.
    async fn rebuild_from_events(&self, project: ProjectId, docs: Vec<Noted>) -> Result<u64> {
        let (Some(from), Some(to)) = (
            docs.iter().map(|n| n.first_start).min(),
            docs.iter().map(|n| n.last_end).max(),
        ) else {
            return Ok(0);
        };
        let mut ends: BinaryHeap<Reverse<(Millis, String)>> =
            docs.iter().map(|n| Reverse((n.last_end, n.id.clone()))).collect();
        let mut open: HashMap<String, Vec<TrailStep>> = docs.into_iter().map(|n| (n.id, Vec::new())).collect();
        let filter = doc! {
            "projectId": oid(project.bytes()),
            "occurredAt": { "$gte": date(from), "$lte": date(to) },
            "name": { "$ne": contract::wire::PAGE_EXIT },
        };
        let mut events = self
            .events
            .find(filter)
            .sort(doc! { "occurredAt": 1 })
            .projection(doc! { "visitorKey": 1, "occurredAt": 1, "name": 1, "path": 1, "_id.e": 1 })
            .await
            .map_err(backend)?;
        let mut rewritten = 0;
        while let Some(e) = events.try_next().await.map_err(backend)? {
            let at = e
                .get_datetime("occurredAt")
                .map_err(|_| bad("an event's occurredAt"))?
                .timestamp_millis();
            while let Some(Reverse((end, _))) = ends.peek() {
                if *end >= at {
                    break;
                }
                let Some(Reverse((_, id))) = ends.pop() else { break };
                let steps = open.remove(&id).unwrap_or_default();
                self.rewrite_one(&id, &steps).await?;
                rewritten += 1;
            }
            let Some(steps) = e.get_str("visitorKey").ok().and_then(|k| open.get_mut(k)) else {
                continue;
            };
            let id = e
                .get_document("_id")
                .and_then(|k| k.get_str("e"))
                .map_err(|_| bad("an event's _id"))?;
            let (name, path) = (
                e.get_str("name").unwrap_or_default(),
                e.get_str("path").unwrap_or_default(),
            );
            steps.extend(TrailStep::from_parts(at, name, id, path));
        }
        while let Some(Reverse((_, id))) = ends.pop() {
            let steps = open.remove(&id).unwrap_or_default();
            self.rewrite_one(&id, &steps).await?;
            rewritten += 1;
        }
        Ok(rewritten)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("trail migration: unreadable {0}")]
struct Unreadable(&'static str);

fn bad(what: &'static str) -> StoreError {
    StoreError::backend(Unreadable(what))
}
