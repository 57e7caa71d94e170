//! Journeys as aggregation pipelines (`Store::journeys`), with the semantics of
//! `store::analytics::journeys`. Every operator used here was checked on SecantusDB.
//!
//! 1. On `visitor_sessions`: the latest end of a session in scope (a session that started in the
//!    range may end after it), or nothing to do.
//! 2. On `events`: `$match` the project's events (but `page_exit`s) from the range's start to
//!    that end (the `{projectId, occurredAt}` index); `$group` them by visitor document
//!    (`visitorKey`), `$push`ing time, rank, id and step; `$lookup` the visitor's sessions by
//!    `_id`, keep those in scope (`$filter`: start in range, the filters), `$unwind` them: one
//!    document per session with its visitor's events, as the raw aggregations join (once per
//!    visitor, not per event).
//! 3. Per session: its events (`start <= t <= end`) in event order (`$sortArray` by time, rank,
//!    id); reloads dropped (`$reduce` carrying the previous step); the start found
//!    (`$indexOfArray` of the first page step matching the pattern's anchored regex); the journey
//!    cut to `depth + 1` steps (`$slice`).
//! 4. `$facet`: visitors per node (top `limit` per depth: `$sort`, `$push` per depth, `$slice`),
//!    per link, per whole path (top `limit`: sorted on one scalar key per step, `""` standing for
//!    no step so that a path sorts before its extensions) and per depth. Links come back grouped,
//!    all of them, and only those between shown nodes are kept here: that needs the nodes'
//!    answer, which a facet cannot read from another.

use std::collections::BTreeSet;

use mongodb::bson::{doc, Bson, Document};
use store::analytics::journeys::{
    depth_counts, JourneyQuery, Journeys, LinkCount, NodeCount, PathCount, Step, StepKind, MAX_JOURNEY_DEPTH,
};
use store::Result;

use crate::analytics::{bad, count, filter_expr, session_path};
use crate::codec::{date, oid};
use crate::MongoStore;

/// `$match` stages selecting the sessions in scope of an unwound `visitor_sessions` document.
fn scope_conditions(q: &JourneyQuery, session: &str) -> Vec<Bson> {
    let mut conditions = vec![
        Bson::Document(doc! { "$gte": [format!("{session}.start"), date(q.from)] }),
        Bson::Document(doc! { "$lt": [format!("{session}.start"), date(q.to)] }),
    ];
    for f in &q.filters {
        let value = match session_path(f.field.for_session()) {
            Some(path) => Bson::Document(doc! { "$ifNull": [format!("{session}.{path}"), ""] }),
            None => Bson::Document(doc! { "$literal": "" }),
        };
        conditions.push(filter_expr(f, value));
    }
    conditions
}

/// The latest end of a session in scope.
fn last_end_pipeline(q: &JourneyQuery) -> Vec<Document> {
    let range = doc! { "$gte": date(q.from), "$lt": date(q.to) };
    vec![
        doc! { "$match": { "projectId": oid(q.project.bytes()), "sessions": { "$elemMatch": { "start": range } } } },
        doc! { "$unwind": "$sessions" },
        doc! { "$match": { "$expr": { "$and": scope_conditions(q, "$sessions") } } },
        doc! { "$group": { "_id": Bson::Null, "end": { "$max": "$sessions.end" } } },
    ]
}

fn is_page(value: &str) -> Document {
    doc! { "$in": [value, ["pageview", "path_change"]] }
}

/// `$ifNull(input[i].field, "")`.
fn step_key(input: &str, i: u32, field: &str) -> Bson {
    Bson::Document(doc! { "$ifNull": [
        { "$getField": { "field": field, "input": { "$arrayElemAt": [input, i as i64] } } },
        "",
    ] })
}

fn journeys_pipeline(q: &JourneyQuery, last_end: mongodb::bson::DateTime) -> Vec<Document> {
    let depth = i64::from(q.depth.get());
    let limit = i64::from(q.limit.get());
    let mut projection = doc! { "_id": 0, "sessions.start": 1, "sessions.end": 1 };
    for f in &q.filters {
        if let Some(path) = session_path(f.field.for_session()) {
            projection.insert(format!("sessions.{path}"), 1);
        }
    }
    let in_session = doc! { "$and": [{ "$lte": ["$s.start", "$$e.t"] }, { "$gte": ["$s.end", "$$e.t"] }] };
    let reload = doc! { "$and": [
        { "$eq": ["$$this.k", "page"] },
        { "$eq": ["$$value.p.k", "page"] },
        { "$eq": ["$$value.p.v", "$$this.v"] },
    ] };
    let first = match &q.start {
        Some(pattern) => Bson::Document(doc! { "$indexOfArray": [
            { "$map": { "input": "$o.o", "as": "x", "in": { "$and": [
                { "$eq": ["$$x.k", "page"] },
                { "$regexMatch": { "input": "$$x.v", "regex": pattern.to_regex() } },
            ] } } },
            true,
        ] }),
        // `$literal`: a bare number in `$project` is an inclusion flag.
        None => Bson::Document(doc! { "$literal": 0_i64 }),
    };
    let mut path_sort = doc! { "n": -1 };
    let mut path_keys = Document::new();
    for i in 0..MAX_JOURNEY_DEPTH {
        path_keys.insert(format!("k{i}"), step_key("$_id", i, "k"));
        path_keys.insert(format!("v{i}"), step_key("$_id", i, "v"));
        path_sort.insert(format!("k{i}"), 1);
        path_sort.insert(format!("v{i}"), 1);
    }
    vec![
        doc! { "$match": {
            "projectId": oid(q.project.bytes()),
            "occurredAt": { "$gte": date(q.from), "$lte": last_end },
            "name": { "$ne": "page_exit" },
        } },
        doc! { "$group": {
            "_id": "$visitorKey",
            "vis": { "$first": "$visitorId" },
            "e": { "$push": {
                "t": "$occurredAt",
                "r": { "$cond": [is_page("$name"), 1, 2] },
                "i": "$_id.e",
                "k": { "$cond": [is_page("$name"), "page", "event"] },
                "v": { "$cond": [is_page("$name"), "$path", "$name"] },
            } },
        } },
        doc! { "$lookup": {
            "from": crate::VISITOR_SESSIONS,
            "localField": "_id",
            "foreignField": "_id",
            "pipeline": [{ "$project": projection }],
            "as": "vs",
        } },
        // `$getField` on the joined document: SecantusDB does not traverse arrays in paths.
        doc! { "$project": {
            "vis": 1,
            "e": 1,
            "s": { "$filter": {
                "input": { "$ifNull": [{ "$getField": { "field": "sessions", "input": { "$arrayElemAt": ["$vs", 0] } } }, []] },
                "as": "c",
                "cond": { "$and": scope_conditions(q, "$$c") },
            } },
        } },
        doc! { "$unwind": "$s" },
        doc! { "$project": {
            "vis": 1,
            "e": { "$sortArray": {
                "input": { "$filter": { "input": "$e", "as": "e", "cond": in_session } },
                "sortBy": { "t": 1, "r": 1, "i": 1 },
            } },
        } },
        doc! { "$project": {
            "vis": 1,
            "o": { "$reduce": {
                "input": "$e",
                "initialValue": { "p": Bson::Null, "o": [] },
                "in": {
                    "p": "$$this",
                    "o": { "$cond": [reload, "$$value.o", { "$concatArrays": ["$$value.o", [{ "k": "$$this.k", "v": "$$this.v" }]] }] },
                },
            } },
        } },
        doc! { "$project": { "vis": 1, "o": 1, "f": first } },
        doc! { "$match": { "f": { "$gte": 0 } } },
        doc! { "$project": { "vis": 1, "p": { "$slice": ["$o.o", "$f", depth + 1] } } },
        doc! { "$match": { "$expr": { "$gt": [{ "$size": "$p" }, 0] } } },
        doc! { "$facet": {
            "nodes": [
                { "$unwind": { "path": "$p", "includeArrayIndex": "d" } },
                { "$match": { "d": { "$lt": depth } } },
                { "$group": { "_id": { "d": "$d", "k": "$p.k", "v": "$p.v", "vis": "$vis" } } },
                { "$group": { "_id": { "d": "$_id.d", "k": "$_id.k", "v": "$_id.v" }, "n": { "$sum": 1_i64 } } },
                { "$sort": { "_id.d": 1, "n": -1, "_id.k": 1, "_id.v": 1 } },
                { "$group": { "_id": "$_id.d", "top": { "$push": { "k": "$_id.k", "v": "$_id.v", "n": "$n" } } } },
                { "$project": { "top": { "$slice": ["$top", limit] } } },
            ],
            "links": [
                { "$project": { "vis": 1, "l": { "$map": {
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
                { "$group": { "_id": { "d": "$l.d", "fk": "$l.f.k", "fv": "$l.f.v", "tk": "$l.t.k", "tv": "$l.t.v", "vis": "$vis" } } },
                { "$group": {
                    "_id": { "d": "$_id.d", "fk": "$_id.fk", "fv": "$_id.fv", "tk": "$_id.tk", "tv": "$_id.tv" },
                    "n": { "$sum": 1_i64 },
                } },
            ],
            "paths": [
                { "$group": { "_id": { "p": { "$slice": ["$p", depth] }, "vis": "$vis" } } },
                { "$group": { "_id": "$_id.p", "n": { "$sum": 1_i64 } } },
                { "$addFields": path_keys },
                { "$sort": path_sort },
                { "$limit": limit },
                { "$project": { "n": 1 } },
            ],
            "depths": [
                { "$unwind": { "path": "$p", "includeArrayIndex": "d" } },
                { "$group": { "_id": { "d": "$d", "v": "$vis" } } },
                { "$group": { "_id": "$_id.d", "n": { "$sum": 1_i64 } } },
            ],
        } },
    ]
}

fn int(b: Option<&Bson>, what: &str) -> Result<i64> {
    match b {
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Double(x)) if x.fract() == 0.0 => Ok(*x as i64),
        other => Err(bad(format!("{what} is {other:?}"))),
    }
}

/// A step from the `k` and `v` fields of `d` (with a prefix: `fk`/`fv`).
fn step(d: &Document, kind: &str, value: &str) -> Result<Step> {
    let kind = d
        .get_str(kind)
        .ok()
        .and_then(StepKind::parse)
        .ok_or_else(|| bad(format!("journey step kind in {d}")))?;
    let value = d
        .get_str(value)
        .map_err(|_| bad(format!("journey step value in {d}")))?
        .to_owned();
    Ok(Step { kind, value })
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
                step: step(node, "k", "v")?,
                visitors: count(node, "n")?,
            });
        }
    }
    let shown: BTreeSet<(u32, &Step)> = out.nodes.iter().map(|n| (n.depth, &n.step)).collect();
    let mut links = Vec::new();
    for link in docs(answer, "links")? {
        let id = link.get_document("_id").map_err(|_| bad("link _id"))?;
        let depth = depth_of(id.get("d"))?;
        let (from, to) = (step(id, "fk", "fv")?, step(id, "tk", "tv")?);
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
            .map(|s| match s {
                Bson::Document(s) => step(s, "k", "v"),
                other => Err(bad(format!("path step {other}"))),
            })
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
        let ends = self
            .aggregate_docs(&self.visitor_sessions, last_end_pipeline(q))
            .await?;
        let Some(last_end) = ends.first().and_then(|d| d.get_datetime("end").ok()).copied() else {
            return Ok(Journeys {
                depths: depth_counts(q.depth, &[]),
                ..Journeys::default()
            });
        };
        let answer = self
            .aggregate_docs(&self.events, journeys_pipeline(q, last_end))
            .await?;
        let answer = answer.first().ok_or_else(|| bad("journeys: no facet document"))?;
        decode(q, answer)
    }
}
