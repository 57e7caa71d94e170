//! Journeys as one aggregation pipeline (`Store::journeys`), with the semantics of
//! `store::analytics::journeys`. Every operator used here was checked on SecantusDB.
//!
//! 1. On `visitor_sessions` only: the sessions in scope (started in the range, passing the
//!    filters; with a start pattern, only those whose trail holds a matching page view), each
//!    with its trail's steps as stored ([`crate::codec::TRAIL_STEPS`]: one string per step, its
//!    kind's prefix then its path or name, in event order). No event is read.
//! 2. Per session: reloads dropped (a page step equal to the step before it, found by index with
//!    `$filter` over `$range`: one comparison per step, no array rebuilt per step); the start
//!    found (the first page step matching the pattern, `$indexOfArray`); the journey cut to
//!    `depth + 1` steps (`$slice`).
//! 3. `$facet`: visitors per node (top `limit` per depth: `$sort`, `$push` per depth, `$slice`),
//!    per link, per whole path (top `limit`: sorted on one key per step, `""` standing for no
//!    step so that a path sorts before its extensions) and per depth. A step's string sorts by
//!    kind then value (`"e..."` before `"p..."`), the ties' order. Links come back grouped, all
//!    of them, and only those between shown nodes are kept here: that needs the nodes' answer,
//!    which a facet cannot read from another.

use std::collections::BTreeSet;

use mongodb::bson::{doc, Bson, Document};
use store::analytics::journeys::{
    depth_counts, JourneyQuery, Journeys, LinkCount, NodeCount, PathCount, Step, StepKind, MAX_JOURNEY_DEPTH,
};
use store::Result;

use crate::analytics::{bad, count};
use crate::codec::{EVENT_PREFIX, PAGE_PREFIX, TRAIL_STEPS};
use crate::flows::{sessions_in_scope, StepMatch};
use crate::MongoStore;

/// `$ifNull(input[i], "")`.
fn step_key(input: &str, i: u32) -> Bson {
    Bson::Document(doc! { "$ifNull": [{ "$arrayElemAt": [input, i as i64] }, ""] })
}

fn journeys_pipeline(q: &JourneyQuery) -> Vec<Document> {
    let depth = i64::from(q.depth.get());
    let limit = i64::from(q.limit.get());
    let start = q.start.as_ref().map(StepMatch::page);
    let mut pipeline = sessions_in_scope(&q.project, (q.from, q.to), &q.filters, start.as_ref(), &[TRAIL_STEPS]);
    let step_at = |i: Bson| Bson::Document(doc! { "$arrayElemAt": ["$s", i] });
    let this = step_at(Bson::String("$$i".into()));
    let previous = step_at(Bson::Document(doc! { "$subtract": ["$$i", 1] }));
    // A reload: a page step (every `"p..."` sorts at or after `"p"`, every `"e..."` before it)
    // equal to the step before it.
    let reload = doc! { "$and": [
        { "$gt": ["$$i", 0] },
        { "$gte": [this.clone(), PAGE_PREFIX] },
        { "$eq": [this.clone(), previous] },
    ] };
    let first = match &start {
        Some(start) => start.index_in("$o", Bson::Int32(0)),
        // `$literal`: a bare number in `$project` is an inclusion flag.
        None => Bson::Document(doc! { "$literal": 0_i64 }),
    };
    let mut path_sort = doc! { "n": -1 };
    let mut path_keys = Document::new();
    for i in 0..MAX_JOURNEY_DEPTH {
        path_keys.insert(format!("s{i}"), step_key("$_id", i));
        path_sort.insert(format!("s{i}"), 1);
    }
    pipeline.extend([
        doc! { "$project": { "s": format!("$sessions.{TRAIL_STEPS}") } },
        doc! { "$project": { "o": { "$map": {
            "input": { "$filter": {
                "input": { "$range": [0, { "$size": "$s" }] },
                "as": "i",
                "cond": { "$not": [reload] },
            } },
            "as": "i",
            "in": this,
        } } } },
        doc! { "$project": { "o": 1, "f": first } },
        doc! { "$match": { "f": { "$gte": 0 } } },
        doc! { "$project": { "p": { "$slice": ["$o", "$f", depth + 1] } } },
        doc! { "$match": { "$expr": { "$gt": [{ "$size": "$p" }, 0] } } },
        // `_id` is the visitor's document: distinct `_id`s are distinct visitors.
        doc! { "$facet": {
            "nodes": [
                { "$unwind": { "path": "$p", "includeArrayIndex": "d" } },
                { "$match": { "d": { "$lt": depth } } },
                { "$group": { "_id": { "d": "$d", "s": "$p", "vis": "$_id" } } },
                { "$group": { "_id": { "d": "$_id.d", "s": "$_id.s" }, "n": { "$sum": 1_i64 } } },
                { "$sort": { "_id.d": 1, "n": -1, "_id.s": 1 } },
                { "$group": { "_id": "$_id.d", "top": { "$push": { "s": "$_id.s", "n": "$n" } } } },
                { "$project": { "top": { "$slice": ["$top", limit] } } },
            ],
            "links": [
                { "$project": { "l": { "$map": {
                    "input": { "$range": [0, { "$max": [0, { "$subtract": [{ "$size": "$p" }, 1] }] }] },
                    "as": "i",
                    "in": {
                        "d": "$$i",
                        "f": { "$arrayElemAt": ["$p", "$$i"] },
                        "t": { "$arrayElemAt": ["$p", { "$add": ["$$i", 1] }] },
                    },
                } } } },
                { "$unwind": "$l" },
                { "$match": { "l.d": { "$lt": depth - 1 } } },
                { "$group": { "_id": { "d": "$l.d", "f": "$l.f", "t": "$l.t", "vis": "$_id" } } },
                { "$group": {
                    "_id": { "d": "$_id.d", "f": "$_id.f", "t": "$_id.t" },
                    "n": { "$sum": 1_i64 },
                } },
            ],
            "paths": [
                { "$group": { "_id": { "p": { "$slice": ["$p", depth] }, "vis": "$_id" } } },
                { "$group": { "_id": "$_id.p", "n": { "$sum": 1_i64 } } },
                { "$addFields": path_keys },
                { "$sort": path_sort },
                { "$limit": limit },
                { "$project": { "n": 1 } },
            ],
            "depths": [
                { "$unwind": { "path": "$p", "includeArrayIndex": "d" } },
                { "$group": { "_id": { "d": "$d", "v": "$_id" } } },
                { "$group": { "_id": "$_id.d", "n": { "$sum": 1_i64 } } },
            ],
        } },
    ]);
    pipeline
}

fn int(b: Option<&Bson>, what: &str) -> Result<i64> {
    match b {
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Double(x)) if x.fract() == 0.0 => Ok(*x as i64),
        other => Err(bad(format!("{what} is {other:?}"))),
    }
}

/// A step from its stored string (see [`crate::codec::TRAIL_STEPS`]).
fn step_of(b: Option<&Bson>) -> Result<Step> {
    let s = match b {
        Some(Bson::String(s)) => s,
        other => return Err(bad(format!("journey step {other:?}"))),
    };
    if let Some(path) = s.strip_prefix(PAGE_PREFIX) {
        Ok(Step {
            kind: StepKind::Page,
            value: path.to_owned(),
        })
    } else if let Some(name) = s.strip_prefix(EVENT_PREFIX) {
        Ok(Step {
            kind: StepKind::Event,
            value: name.to_owned(),
        })
    } else {
        Err(bad(format!("journey step {s:?} without its kind")))
    }
}

fn docs<'a>(d: &'a Document, key: &str) -> Result<impl Iterator<Item = &'a Document>> {
    let list = d.get_array(key).map_err(|_| bad(format!("journeys facet {key}")))?;
    Ok(list.iter().filter_map(Bson::as_document))
}

/// Depth (1-based) from a 0-based array index.
fn depth_of(b: Option<&Bson>) -> Result<u32> {
    let i = int(b, "journey depth")?;
    u32::try_from(i + 1).map_err(|_| bad(format!("journey depth {i}")))
}

fn decode(q: &JourneyQuery, answer: &Document) -> Result<Journeys> {
    let mut out = Journeys::default();
    for per_depth in docs(answer, "nodes")? {
        let depth = depth_of(per_depth.get("_id"))?;
        for node in docs(per_depth, "top")? {
            out.nodes.push(NodeCount {
                depth,
                step: step_of(node.get("s"))?,
                visitors: count(node, "n")?,
            });
        }
    }
    let shown: BTreeSet<(u32, &Step)> = out.nodes.iter().map(|n| (n.depth, &n.step)).collect();
    let mut links = Vec::new();
    for link in docs(answer, "links")? {
        let id = link.get_document("_id").map_err(|_| bad("link _id"))?;
        let depth = depth_of(id.get("d"))?;
        let (from, to) = (step_of(id.get("f"))?, step_of(id.get("t"))?);
        if shown.contains(&(depth, &from)) && shown.contains(&(depth + 1, &to)) {
            links.push(LinkCount {
                depth,
                from,
                to,
                visitors: count(link, "n")?,
            });
        }
    }
    out.links = links;
    for path in docs(answer, "paths")? {
        let steps = path
            .get_array("_id")
            .map_err(|_| bad("path _id"))?
            .iter()
            .map(|s| step_of(Some(s)))
            .collect::<Result<Vec<Step>>>()?;
        out.paths.push(PathCount {
            steps,
            visitors: count(path, "n")?,
        });
    }
    let mut reached = vec![0u64; q.depth.get() as usize + 1];
    for d in docs(answer, "depths")? {
        let depth = depth_of(d.get("_id"))? as usize;
        if let Some(slot) = reached.get_mut(depth - 1) {
            *slot = count(d, "n")?;
        }
    }
    out.depths = depth_counts(q.depth, &reached);
    Ok(out.sorted())
}

impl MongoStore {
    pub(crate) async fn journeys_impl(&self, q: &JourneyQuery) -> Result<Journeys> {
        let answer = self
            .aggregate_docs(&self.visitor_sessions, journeys_pipeline(q))
            .await?;
        match answer.first() {
            Some(answer) => decode(q, answer),
            // A facet answers one document even for no input; no document is no journey.
            None => Ok(Journeys {
                depths: depth_counts(q.depth, &[]),
                ..Journeys::default()
            }),
        }
    }
}
