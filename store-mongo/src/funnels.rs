//! Funnels on MongoDB: the step counts as aggregation pipelines ([`scope_end_pipeline`],
//! [`funnel_pipeline`]) and the `saved_funnels` collection.
//!
//! # The pipelines
//!
//! First, on `visitor_sessions`, the latest end of a session in scope (started in the range,
//! passing the filters): a session that started in the range may go on after it, so that is how
//! far the events are read. Then, on `events`:
//!
//! 1. `$match` the project, `occurredAt` from the range's start to that end, and any step (page
//!    views by path regex, custom events by name): the `{projectId, occurredAt}` index;
//! 2. `$project` per event its time, rank (0 for a page view, 1 for a custom event:
//!    `store::sessions::order_key`'s order among the events a step can match), event id and one
//!    flag per step;
//! 3. `$group` by `visitorKey`, `$lookup` the visitor's `visitor_sessions` document by `_id`,
//!    `$unwind` its sessions, keep those in scope (range, then the filters);
//! 4. per session, its events (`start <= t <= end`) sorted in event order (`$sortArray`), then one
//!    `$reduce` over them: the greedy scan of `store::analytics::funnel` (take each event that
//!    matches the step awaited), giving the step events' times;
//! 5. `$facet`: per visitor the most steps one of its sessions reached, counted per number of
//!    steps; and per step the deltas from the previous step, sorted, the one at `(n - 1) / 2`.
//!
//! Measured on SecantusDB: every operator above runs there (`$sortArray`, `$reduce`, `$facet`,
//! `$lookup` with a pipeline); array paths inside expressions do not, hence `$arrayElemAt`.

use std::collections::BTreeMap;

use contract::ids::ProjectId;
use contract::wire::{PAGEVIEW, PATH_CHANGE};
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Collection;
use store::analytics::funnel::{FunnelCounts, FunnelQuery, FunnelStep};
use store::funnels::{SavedFunnel, SavedFunnelSteps};
use store::ids::FunnelId;
use store::{Millis, Name, Result, StoreError};

use crate::analytics::{filter_expr, match_all, session_path, session_value_expr};
use crate::codec::{date, oid};
use crate::{backend, MongoStore, VISITOR_SESSIONS};

/// The collection of saved funnels.
pub(crate) const SAVED_FUNNELS: &str = "saved_funnels";

/// The stages that keep the unwound `sessions` in scope: started in the range, passing the
/// filters.
fn scope_stages(q: &FunnelQuery) -> Vec<Document> {
    let range = doc! { "$gte": date(q.from), "$lt": date(q.to) };
    let mut stages = vec![doc! { "$match": { "sessions.start": range } }];
    stages.extend(match_all(
        q.filters
            .iter()
            .map(|f| filter_expr(f, session_value_expr(&f.field)))
            .collect(),
    ));
    stages
}

/// What the scope stages read of a session besides its bounds.
fn scope_projection(q: &FunnelQuery, extra: Document) -> Document {
    let mut projection = doc! { "_id": 0, "sessions.start": 1, "sessions.end": 1 };
    for path in q.filters.iter().filter_map(|f| session_path(&f.field)) {
        projection.insert(format!("sessions.{path}"), 1);
    }
    projection.extend(extra);
    projection
}

/// On `visitor_sessions`: `{hi: <latest end of a session in scope>}`, no document when there is
/// no session in scope.
pub fn scope_end_pipeline(q: &FunnelQuery) -> Vec<Document> {
    let range = doc! { "$gte": date(q.from), "$lt": date(q.to) };
    let mut pipeline = vec![
        doc! { "$match": { "projectId": oid(q.project.bytes()), "sessions": { "$elemMatch": { "start": range } } } },
        doc! { "$project": scope_projection(q, Document::new()) },
        doc! { "$unwind": "$sessions" },
    ];
    pipeline.extend(scope_stages(q));
    pipeline.push(doc! { "$group": { "_id": Bson::Null, "hi": { "$max": "$sessions.end" } } });
    pipeline
}

fn is_page_view(name: &str) -> Document {
    doc! { "$in": [name, [PAGEVIEW, PATH_CHANGE]] }
}

/// On `events`, with `hi` the latest end of a session in scope: one document,
/// `{reach: [{_id: steps reached, c: visitors}], medians: [{_id: step index - 1, m: ms}]}`.
pub fn funnel_pipeline(q: &FunnelQuery, hi: Millis) -> Vec<Document> {
    let steps = q.steps.as_slice();
    let any: Vec<Document> = steps
        .iter()
        .map(|step| match step {
            FunnelStep::Page(p) => doc! {
                "name": { "$in": [PAGEVIEW, PATH_CHANGE] },
                "path": { "$regex": p.to_regex() },
            },
            FunnelStep::Event(n) => doc! { "name": n.as_str() },
        })
        .collect();
    let flags: Vec<Bson> = steps
        .iter()
        .map(|step| {
            Bson::Document(match step {
                FunnelStep::Page(p) => doc! { "$and": [
                    is_page_view("$name"),
                    { "$regexMatch": { "input": "$path", "regex": p.to_regex() } },
                ] },
                FunnelStep::Event(n) => doc! { "$eq": ["$name", n.as_str()] },
            })
        })
        .collect();
    let in_session = doc! { "$and": [
        { "$lte": ["$sessions.start", "$$e.t"] },
        { "$gte": ["$sessions.end", "$$e.t"] },
    ] };
    let awaited = doc! { "$size": "$$value" };
    // The greedy scan: the event is the awaited step's when its flag for that step is set.
    let scan = doc! { "$reduce": {
        "input": { "$sortArray": {
            "input": { "$filter": { "input": "$e", "as": "e", "cond": in_session } },
            "sortBy": { "t": 1, "r": 1, "id": 1 },
        } },
        "initialValue": [],
        "in": { "$cond": [
            { "$and": [
                { "$lt": [awaited.clone(), steps.len() as i64] },
                { "$arrayElemAt": ["$$this.m", awaited] },
            ] },
            { "$concatArrays": ["$$value", [{ "$toLong": "$$this.t" }]] },
            "$$value",
        ] },
    } };
    let mut pipeline = vec![
        doc! { "$match": {
            "projectId": oid(q.project.bytes()),
            "occurredAt": { "$gte": date(q.from), "$lte": date(hi) },
            "$or": any,
        } },
        doc! { "$project": {
            "_id": 0,
            "k": "$visitorKey",
            "t": "$occurredAt",
            "r": { "$cond": [is_page_view("$name"), 0_i32, 1_i32] },
            "id": "$_id.e",
            "m": flags,
        } },
        doc! { "$group": { "_id": "$k", "e": { "$push": { "t": "$t", "r": "$r", "id": "$id", "m": "$m" } } } },
        doc! { "$lookup": {
            "from": VISITOR_SESSIONS,
            "localField": "_id",
            "foreignField": "_id",
            "pipeline": [{ "$project": scope_projection(q, Document::new()) }],
            "as": "vs",
        } },
        // `$getField` on the joined document rather than the path `$vs.sessions`: SecantusDB
        // does not traverse arrays in expression paths.
        doc! { "$project": {
            "e": 1,
            "sessions": { "$ifNull": [{ "$getField": { "field": "sessions", "input": { "$arrayElemAt": ["$vs", 0] } } }, []] },
        } },
        doc! { "$unwind": "$sessions" },
    ];
    pipeline.extend(scope_stages(q));
    pipeline.push(doc! { "$project": { "_id": 1, "ts": scan } });
    let deltas = doc! { "$map": {
        "input": { "$range": [1, { "$size": "$ts" }] },
        "as": "i",
        "in": { "$subtract": [
            { "$arrayElemAt": ["$ts", "$$i"] },
            { "$arrayElemAt": ["$ts", { "$subtract": ["$$i", 1] }] },
        ] },
    } };
    pipeline.push(doc! { "$facet": {
        "reach": [
            { "$group": { "_id": "$_id", "n": { "$max": { "$size": "$ts" } } } },
            { "$group": { "_id": "$n", "c": { "$sum": 1_i64 } } },
        ],
        "medians": [
            { "$project": { "_id": 0, "d": deltas } },
            { "$unwind": { "path": "$d", "includeArrayIndex": "i" } },
            { "$group": { "_id": "$i", "ds": { "$push": "$d" } } },
            { "$project": { "m": { "$arrayElemAt": [
                { "$sortArray": { "input": "$ds", "sortBy": 1 } },
                { "$toInt": { "$floor": { "$divide": [{ "$subtract": [{ "$size": "$ds" }, 1] }, 2] } } },
            ] } } },
        ],
    } });
    pipeline
}

/// An integer of a result document, whatever BSON integer or double type the server chose.
fn int(d: &Document, key: &str) -> Result<i64> {
    match d.get(key) {
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Double(x)) if x.fract() == 0.0 => Ok(*x as i64),
        other => Err(StoreError::backend(BadAnswer(format!("{key}: {other:?}")))),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unexpected funnel answer from the server: {0}")]
struct BadAnswer(String);

impl MongoStore {
    pub(crate) async fn funnel_impl(&self, q: &FunnelQuery) -> Result<FunnelCounts> {
        let steps = q.steps.len();
        let sessions = self.database().collection::<Document>(VISITOR_SESSIONS);
        let bound = self.aggregate_docs(&sessions, scope_end_pipeline(q)).await?;
        let hi = match bound.first().and_then(|d| d.get_datetime("hi").ok()) {
            Some(hi) => hi.timestamp_millis(),
            None => return Ok(FunnelCounts::from_best_reach(steps, [], &BTreeMap::new())),
        };
        let events = self.database().collection::<Document>(crate::EVENTS);
        let answer = self.aggregate_docs(&events, funnel_pipeline(q, hi)).await?;
        let Some(answer) = answer.first() else {
            return Ok(FunnelCounts::from_best_reach(steps, [], &BTreeMap::new()));
        };
        let list = |key: &str| -> Result<Vec<Document>> {
            let array = answer
                .get_array(key)
                .map_err(|_| StoreError::backend(BadAnswer(format!("no {key}"))))?;
            Ok(array.iter().filter_map(|b| b.as_document().cloned()).collect())
        };
        let mut reach = Vec::new();
        for d in list("reach")? {
            let n = usize::try_from(int(&d, "_id")?).unwrap_or(0);
            let c = usize::try_from(int(&d, "c")?).unwrap_or(0);
            reach.extend(std::iter::repeat_n(n, c));
        }
        let mut medians = BTreeMap::new();
        for d in list("medians")? {
            let step = usize::try_from(int(&d, "_id")?).unwrap_or(0) + 1;
            medians.insert(step, u64::try_from(int(&d, "m")?).unwrap_or(0));
        }
        Ok(FunnelCounts::from_best_reach(steps, reach, &medians))
    }

    fn saved_funnels(&self) -> Collection<Document> {
        self.database().collection(SAVED_FUNNELS)
    }

    pub(crate) async fn create_saved_funnel_impl(&self, f: &SavedFunnel) -> Result<()> {
        let steps = mongodb::bson::to_bson(f.steps.as_slice()).map_err(StoreError::backend)?;
        let d = doc! {
            "_id": oid(f.id.bytes()),
            "projectId": oid(f.project.bytes()),
            "name": f.name.as_str(),
            "steps": steps,
            "createdAt": date(f.created_at),
        };
        self.insert_unique(&self.saved_funnels(), d, "saved funnel").await
    }

    pub(crate) async fn saved_funnels_of_impl(&self, project: &ProjectId) -> Result<Vec<SavedFunnel>> {
        let docs: Vec<Document> = self
            .saved_funnels()
            .find(doc! { "projectId": oid(project.bytes()) })
            .sort(doc! { "createdAt": 1, "_id": 1 })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter().map(saved_funnel).collect()
    }

    pub(crate) async fn delete_saved_funnel_impl(&self, project: &ProjectId, id: &FunnelId) -> Result<bool> {
        let result = self
            .saved_funnels()
            .delete_one(doc! { "_id": oid(id.bytes()), "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(result.deleted_count == 1)
    }

    /// The `{projectId, createdAt}` index: a project's funnels oldest first, and deleting them
    /// with the project.
    pub(crate) async fn create_funnel_indexes(&self) -> Result<()> {
        let index = mongodb::IndexModel::builder()
            .keys(doc! { "projectId": 1, "createdAt": 1 })
            .build();
        self.saved_funnels().create_index(index).await.map_err(backend)?;
        Ok(())
    }

    pub(crate) async fn delete_funnels_of(&self, project: &ProjectId) -> Result<()> {
        self.saved_funnels()
            .delete_many(doc! { "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn saved_funnel(d: &Document) -> Result<SavedFunnel> {
    let bad = |what: &str| StoreError::backend(BadAnswer(format!("saved funnel: invalid {what}")));
    let steps: Vec<store::funnels::SavedFunnelStep> =
        mongodb::bson::from_bson(d.get("steps").cloned().unwrap_or(Bson::Null)).map_err(|_| bad("steps"))?;
    Ok(SavedFunnel {
        id: FunnelId::from_bytes(d.get_object_id("_id").map_err(|_| bad("_id"))?.bytes()),
        project: ProjectId::from_bytes(d.get_object_id("projectId").map_err(|_| bad("projectId"))?.bytes()),
        name: Name::parse(d.get_str("name").map_err(|_| bad("name"))?).map_err(|_| bad("name"))?,
        steps: SavedFunnelSteps::new(steps).map_err(|_| bad("steps"))?,
        created_at: d
            .get_datetime("createdAt")
            .map_err(|_| bad("createdAt"))?
            .timestamp_millis(),
    })
}
