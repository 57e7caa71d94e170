//! Funnels on MongoDB: the step counts as one aggregation pipeline ([`funnel_pipeline`]) and
//! the `saved_funnels` collection.
//!
//! # The pipeline
//!
//! On `visitor_sessions` only, reading each session's trail as stored in its arrays
//! ([`crate::codec::TRAIL_STEPS`], [`crate::codec::TRAIL_AT`]), never an event:
//!
//! 1. the sessions in scope (started in the range, passing the filters) whose trail holds a step
//!    matching step 1: a session without one reaches no step and counts nowhere
//!    ([`crate::flows::sessions_in_scope`]);
//! 2. per session, the greedy scan of `store::analytics::funnel` as one field per step: the
//!    index of step k's event is the first index after step k-1's whose step matches step k
//!    (`$indexOfArray` from that index: exact names and paths are compared natively, a pattern
//!    with `*` through a `$map` of `$regexMatch`), -1 once a step is missing;
//! 3. the step events' times (`$arrayElemAt` of the times), as many as the steps reached;
//! 4. `$facet`: per visitor (its document) the most steps one of its sessions reached, counted
//!    per number of steps; and per step the deltas from the previous step, sorted, the one at
//!    `(n - 1) / 2`.
//!
//! Every operator above runs on SecantusDB as on MongoDB 6 and 7; array paths inside
//! expressions do not run there, hence `$arrayElemAt`.

use std::collections::BTreeMap;

use contract::ids::ProjectId;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Collection;
use store::analytics::funnel::{FunnelCounts, FunnelQuery, FunnelStep};
use store::funnels::{SavedFunnel, SavedFunnelSteps};
use store::ids::FunnelId;
use store::{Name, Result, StoreError};

use crate::codec::{date, oid, TRAIL_AT, TRAIL_STEPS};
use crate::flows::{sessions_in_scope, StepMatch};
use crate::{backend, MongoStore, VISITOR_SESSIONS};

/// The collection of saved funnels.
pub(crate) const SAVED_FUNNELS: &str = "saved_funnels";

fn step_match(step: &FunnelStep) -> StepMatch {
    match step {
        FunnelStep::Page(p) => StepMatch::page(p),
        FunnelStep::Event(n) => StepMatch::event(n.as_str()),
    }
}

/// On `visitor_sessions`: one document,
/// `{reach: [{_id: steps reached, c: visitors}], medians: [{_id: step index - 1, m: ms}]}`, or
/// none when no session in scope reached step 1.
pub fn funnel_pipeline(q: &FunnelQuery) -> Vec<Document> {
    let steps: Vec<StepMatch> = q.steps.as_slice().iter().map(step_match).collect();
    let mut pipeline = sessions_in_scope(
        &q.project,
        (q.from, q.to),
        &q.filters,
        steps.first(),
        &[TRAIL_STEPS, TRAIL_AT],
    );
    let trail = format!("$sessions.{TRAIL_STEPS}");
    pipeline.push(doc! { "$project": { "s": &trail, "a": format!("$sessions.{TRAIL_AT}") } });
    // `i<k>`: the index of step k's event in the trail, -1 when the session did not reach it.
    for (k, step) in steps.iter().enumerate() {
        let index = if k == 0 {
            step.index_in("$s", Bson::Int32(0))
        } else {
            let previous = format!("$i{}", k - 1);
            Bson::Document(doc! { "$cond": [
                { "$lt": [&previous, 0] },
                -1,
                step.index_in("$s", Bson::Document(doc! { "$add": [&previous, 1] })),
            ] })
        };
        pipeline.push(doc! { "$addFields": { format!("i{k}"): index } });
    }
    let reached: Vec<Bson> = (0..steps.len())
        .map(|k| Bson::Document(doc! { "$cond": [{ "$gte": [format!("$i{k}"), 0] }, 1, 0] }))
        .collect();
    let times: Vec<Bson> = (0..steps.len())
        .map(|k| Bson::Document(doc! { "$arrayElemAt": ["$a", format!("$i{k}")] }))
        .collect();
    // Every session here reached step 1 (the scope's first match), so the count is positive.
    pipeline.push(doc! { "$project": { "_id": 1, "ts": { "$slice": [times, { "$add": reached }] } } });
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
        let answer = self.aggregate_docs(&sessions, funnel_pipeline(q)).await?;
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
