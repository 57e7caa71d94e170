//! The session explorer as pipelines: a page of sessions newest first by key (on
//! `visitor_sessions`, the `{projectId, sessions.start}` index), one session by id (the
//! `{projectId, sessions.id}` index, [`sessions_by_id`]), and its events in event order (on
//! `events`, the `{projectId, occurredAt}` index over the session's span, then its visitor).

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use mongodb::bson::{doc, Bson, Document};
use store::analytics::explorer::{SessionId, SessionListQuery};
use store::sessions::Session;
use store::{Result, StoreError};

use contract::enrich::VisitorId;

use crate::analytics::{filter_expr, session_value_expr};
use crate::codec::{self, date, oid, visitor_i64};
use crate::{decoded, MongoStore};

/// The index that finds a session by id: without it, a session's page would read every visitor
/// document of the project. What ingest pays: one more multikey entry per session, written when
/// a session is created or merged (its id changes only then); an update that extends a session
/// leaves the entry as it is.
pub(crate) fn sessions_by_id() -> Document {
    doc! { "projectId": 1, "sessions.id": 1 }
}

/// The session list's first window of start times, from the range's end (or the cursor's
/// session) back: an hour holds a page of sessions on any site busy enough for it to matter.
const FIRST_WINDOW_MS: i64 = 3_600_000;
/// How much wider each next window is.
const WINDOW_GROWTH: i64 = 4;

fn u64_bson(n: u64) -> Bson {
    Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX))
}

fn list_pipeline(q: &SessionListQuery) -> Vec<Document> {
    let range = doc! { "$gte": date(q.from), "$lt": date(q.to) };
    let mut conditions: Vec<Bson> = q
        .filters
        .iter()
        .map(|f| filter_expr(f, session_value_expr(&f.field)))
        .collect();
    let duration =
        || Bson::Document(doc! { "$subtract": [{ "$toLong": "$sessions.end" }, { "$toLong": "$sessions.start" }] });
    if let Some(m) = q.min_duration_ms {
        conditions.push(Bson::Document(doc! { "$gte": [duration(), u64_bson(m)] }));
    }
    if let Some(m) = q.max_duration_ms {
        conditions.push(Bson::Document(doc! { "$lte": [duration(), u64_bson(m)] }));
    }
    if let Some(m) = q.min_pageviews {
        conditions.push(Bson::Document(doc! { "$gte": ["$sessions.pageviews", i64::from(m)] }));
    }
    if let Some(m) = q.max_pageviews {
        conditions.push(Bson::Document(doc! { "$lte": ["$sessions.pageviews", i64::from(m)] }));
    }
    if let Some(c) = &q.after {
        conditions.push(Bson::Document(doc! { "$or": [
            { "$lt": ["$sessions.start", date(c.start)] },
            { "$and": [{ "$eq": ["$sessions.start", date(c.start)] }, { "$lt": ["$sessions.id", c.id.as_str()] }] },
        ] }));
    }
    let mut pipeline = vec![
        doc! { "$match": { "projectId": oid(q.project.bytes()), "sessions": { "$elemMatch": { "start": range.clone() } } } },
        doc! { "$project": { "_id": 0, "visitorId": 1, "sessions": 1 } },
        doc! { "$unwind": "$sessions" },
        doc! { "$match": { "sessions.start": range } },
    ];
    if !conditions.is_empty() {
        pipeline.push(doc! { "$match": { "$expr": { "$and": conditions } } });
    }
    pipeline.push(doc! { "$sort": { "sessions.start": -1, "sessions.id": -1 } });
    pipeline.push(doc! { "$limit": i64::try_from(q.limit).unwrap_or(i64::MAX) });
    pipeline
}

fn session_of(d: &Document, project: ProjectId) -> Result<Session> {
    let visitor = VisitorId(d.get_i64("visitorId").map_err(StoreError::backend)? as u64);
    let session = d.get_document("sessions").map_err(StoreError::backend)?;
    decoded(codec::session_from(session, project, visitor))
}

impl MongoStore {
    /// Newest first, through windows of start times that widen from the newest end
    /// ([`FIRST_WINDOW_MS`], then [`WINDOW_GROWTH`] times wider each): a page needs the newest few
    /// dozen sessions, and sorting every session of a month to find them is linear in the
    /// month's sessions (on the test server, 0.64 s at 100k events). The windows are disjoint
    /// and descending, so their answers concatenate in order; at most a third more than the
    /// whole range is read when the filters leave too few sessions.
    pub(crate) async fn session_list_impl(&self, q: &SessionListQuery) -> Result<Vec<Session>> {
        let mut found = Vec::new();
        // A cursor's session and those after it start no later than it (ties are the
        // pipeline's to order by id).
        let mut hi = match &q.after {
            Some(c) => q.to.min(c.start.saturating_add(1)),
            None => q.to,
        };
        let mut width = FIRST_WINDOW_MS;
        while found.len() < q.limit && hi > q.from {
            let lo = q.from.max(hi.saturating_sub(width));
            let window = SessionListQuery {
                from: lo,
                to: hi,
                limit: q.limit - found.len(),
                ..q.clone()
            };
            let docs = self
                .aggregate_docs(&self.visitor_sessions, list_pipeline(&window))
                .await?;
            for d in &docs {
                found.push(session_of(d, q.project)?);
            }
            hi = lo;
            width = width.saturating_mul(WINDOW_GROWTH);
        }
        Ok(found)
    }

    pub(crate) async fn session_impl(&self, project: &ProjectId, id: &SessionId) -> Result<Option<Session>> {
        let pipeline = vec![
            doc! { "$match": { "projectId": oid(project.bytes()), "sessions.id": id.as_str() } },
            doc! { "$project": { "_id": 0, "visitorId": 1, "sessions": 1 } },
            doc! { "$unwind": "$sessions" },
            doc! { "$match": { "sessions.id": id.as_str() } },
            doc! { "$limit": 1_i64 },
        ];
        let docs = self.aggregate_docs(&self.visitor_sessions, pipeline).await?;
        docs.first().map(|d| session_of(d, *project)).transpose()
    }

    pub(crate) async fn session_events_impl(&self, s: &Session, limit: usize) -> Result<Vec<EnrichedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rank = doc! { "$switch": {
            "branches": [
                { "case": { "$eq": ["$name", "page_exit"] }, "then": 0 },
                { "case": { "$in": ["$name", ["pageview", "path_change"]] }, "then": 1 },
            ],
            "default": 2,
        } };
        let pipeline = vec![
            doc! { "$match": {
                "projectId": oid(s.project_id.bytes()),
                "occurredAt": { "$gte": date(s.start), "$lte": date(s.end) },
                "visitorId": visitor_i64(s.visitor_id),
            } },
            doc! { "$addFields": { "rank_": rank } },
            doc! { "$sort": { "occurredAt": 1, "rank_": 1, "_id.e": 1 } },
            doc! { "$limit": i64::try_from(limit).unwrap_or(i64::MAX) },
            doc! { "$project": { "rank_": 0 } },
        ];
        let docs = self.aggregate_docs(&self.events, pipeline).await?;
        docs.iter().map(|d| decoded(codec::event_from(d))).collect()
    }
}
