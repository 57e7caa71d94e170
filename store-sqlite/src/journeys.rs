//! Journeys in SQL (`Store::journeys`): one statement of CTEs and window functions, with the
//! semantics of `store::analytics::journeys`.
//!
//! 1. `ev`: the events (but `page_exit`s) of the sessions in scope. The events of the range are
//!    read in time order from `events_time`, and each finds its session through
//!    `sessions_visitor` (project, visitor, start), the session's scope conditions checked there.
//!    The events run from the range's start to the latest end of a session in scope, since a
//!    session that started in the range may end after it. (Driving from the sessions instead
//!    would read every event of the project in each session's time span, for want of an index
//!    on the events' visitor, which ingest would pay for on every event.)
//! 2. `steps`: a reload dropped (`LAG` over the session's events in event order), the rest
//!    numbered (`ROW_NUMBER`); materialized, like `starts`, since `starts` and `journey` both
//!    read it (inlined, its two window passes ran twice).
//! 3. `journey`: each session's steps from its start, up to `depth + 1` of them (the one past
//!    the requested depth counts the last depth's drop-off), with the next step (`LEAD`) for
//!    the links; materialized once for the four answers below.
//! 4. One `UNION ALL` of the top nodes per depth (`ROW_NUMBER` by visitors), the links between
//!    them, the top whole paths (one row per session pivoted to 12 columns, then grouped) and
//!    the visitors per depth, tagged by a `part` column.

use std::fmt::Write as _;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use store::analytics::journeys::{
    depth_counts, JourneyQuery, Journeys, LinkCount, NodeCount, PathCount, Step, StepKind, MAX_JOURNEY_DEPTH,
};
use store::Result;

use crate::analytics::session_filters;
use crate::backend;

/// Row tags of the statement's answer.
const NODE: i64 = 0;
const LINK: i64 = 1;
const PATH: i64 = 2;
const DEPTH: i64 = 3;

/// The statement and its parameters.
fn journeys_sql(q: &JourneyQuery) -> (String, Vec<Value>) {
    let mut params: Vec<Value> = vec![
        Value::Blob(q.project.bytes().to_vec()),
        Value::Integer(q.from),
        Value::Integer(q.to),
    ];
    let mut scope = String::from("s.start_at >= ?2 AND s.start_at < ?3");
    for c in session_filters(&q.filters, &mut params) {
        let _ = write!(scope, " AND {c}");
    }
    let depth = i64::from(q.depth.get());
    let limit = i64::from(q.limit.get());
    let starts = match &q.start {
        Some(pattern) => {
            params.push(Value::Text(pattern.to_glob()));
            format!(
                "SELECT sid, MIN(pos) AS p0 FROM steps WHERE is_page = 1 AND value GLOB ?{} GROUP BY sid",
                params.len()
            )
        }
        None => "SELECT sid, 1 AS p0 FROM steps WHERE pos = 1".to_owned(),
    };
    let pivot = (1..=MAX_JOURNEY_DEPTH)
        .map(|d| {
            format!(
                "MAX(CASE WHEN depth = {d} THEN is_page END) AS k{d}, MAX(CASE WHEN depth = {d} THEN value END) AS v{d}"
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let path_cols: Vec<String> = (1..=MAX_JOURNEY_DEPTH).map(|d| format!("k{d}, v{d}")).collect();
    let path_cols = path_cols.join(", ");
    // Nodes and links fill the first 2 or 4 of the 12 step columns.
    let nulls = |n: usize| vec!["NULL"; n].join(", ");
    let sql = format!(
        "WITH ev AS MATERIALIZED (
            SELECT s.seq AS sid, s.visitor_id AS vis, e.occurred_at AS t, e.event_id AS eid,
                   e.name IN ('pageview', 'path_change') AS is_page,
                   CASE WHEN e.name IN ('pageview', 'path_change') THEN e.path ELSE e.name END AS value
            -- INDEXED BY: with the range on start_at, the planner would take sessions_start and
            -- read every session of the range before each event.
            FROM events e CROSS JOIN sessions s INDEXED BY sessions_visitor
            WHERE e.project_id = ?1 AND e.occurred_at >= ?2
              AND e.occurred_at <= (SELECT MAX(s.end_at) FROM sessions s WHERE s.project_id = ?1 AND {scope})
              AND e.name != 'page_exit'
              AND s.project_id = ?1 AND s.visitor_id = e.visitor_id
              AND s.start_at <= e.occurred_at AND s.end_at >= e.occurred_at AND {scope}
         ),
         ordered AS (
            SELECT sid, vis, is_page, value, t, eid,
                   LAG(is_page) OVER w AS prev_page, LAG(value) OVER w AS prev_value
            FROM ev WINDOW w AS (PARTITION BY sid ORDER BY t, 1 - is_page, eid)
         ),
         steps AS MATERIALIZED (
            SELECT sid, vis, is_page, value,
                   ROW_NUMBER() OVER (PARTITION BY sid ORDER BY t, 1 - is_page, eid) AS pos
            FROM ordered WHERE NOT (is_page = 1 AND prev_page IS 1 AND prev_value IS value)
         ),
         starts AS MATERIALIZED ({starts}),
         journey AS MATERIALIZED (
            SELECT st.sid, st.vis, st.pos - sp.p0 + 1 AS depth, st.is_page, st.value,
                   LEAD(st.is_page) OVER n AS next_page, LEAD(st.value) OVER n AS next_value
            FROM steps st JOIN starts sp ON sp.sid = st.sid
            WHERE st.pos >= sp.p0 AND st.pos <= sp.p0 + {depth}
            WINDOW n AS (PARTITION BY st.sid ORDER BY st.pos)
         ),
         top_nodes AS MATERIALIZED (
            SELECT depth, is_page, value, visitors FROM (
                SELECT depth, is_page, value, visitors,
                       ROW_NUMBER() OVER (PARTITION BY depth ORDER BY visitors DESC, is_page, value) AS rnk
                FROM (SELECT depth, is_page, value, COUNT(DISTINCT vis) AS visitors
                      FROM journey WHERE depth <= {depth} GROUP BY depth, is_page, value)
            ) WHERE rnk <= {limit}
         ),
         per_session AS (
            SELECT vis, {pivot} FROM journey WHERE depth <= {depth} GROUP BY sid
         )
         SELECT {NODE}, depth, visitors, is_page, value, {nulls10} FROM top_nodes
         UNION ALL
         SELECT {LINK}, j.depth, COUNT(DISTINCT j.vis), j.is_page, j.value, j.next_page, j.next_value, {nulls8}
            FROM journey j
            WHERE j.depth < {depth} AND j.next_value IS NOT NULL
              AND EXISTS (SELECT 1 FROM top_nodes n
                          WHERE n.depth = j.depth AND n.is_page = j.is_page AND n.value = j.value)
              AND EXISTS (SELECT 1 FROM top_nodes n
                          WHERE n.depth = j.depth + 1 AND n.is_page = j.next_page AND n.value = j.next_value)
            GROUP BY j.depth, j.is_page, j.value, j.next_page, j.next_value
         UNION ALL
         SELECT * FROM (
            SELECT {PATH}, 0, COUNT(DISTINCT vis) AS visitors, {path_cols} FROM per_session
            GROUP BY {path_cols} ORDER BY visitors DESC, {path_cols} LIMIT {limit}
         )
         UNION ALL
         SELECT {DEPTH}, depth, COUNT(DISTINCT vis), {nulls12} FROM journey GROUP BY depth",
        nulls10 = nulls(10),
        nulls8 = nulls(8),
        nulls12 = nulls(12),
    );
    (sql, params)
}

fn step(r: &rusqlite::Row<'_>, kind_col: usize) -> rusqlite::Result<Option<Step>> {
    let is_page: Option<i64> = r.get(kind_col)?;
    let value: Option<String> = r.get(kind_col + 1)?;
    Ok(match (is_page, value) {
        (Some(is_page), Some(value)) => Some(Step {
            kind: if is_page == 1 { StepKind::Page } else { StepKind::Event },
            value,
        }),
        _ => None,
    })
}

#[derive(Debug, thiserror::Error)]
#[error("malformed journeys row: {0}")]
struct BadRow(&'static str);

pub(crate) fn journeys(conn: &Connection, q: &JourneyQuery) -> Result<Journeys> {
    let (sql, params) = journeys_sql(q);
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let mut rows = stmt.query(params_from_iter(params.iter())).map_err(backend)?;
    let mut out = Journeys::default();
    let mut reached = vec![0u64; q.depth.get() as usize + 1];
    let missing = |what| store::StoreError::backend(BadRow(what));
    while let Some(r) = rows.next().map_err(backend)? {
        let part: i64 = r.get(0).map_err(backend)?;
        let depth: i64 = r.get(1).map_err(backend)?;
        let visitors = r.get::<_, i64>(2).map_err(backend)?.max(0) as u64;
        let depth = u32::try_from(depth).map_err(|_| missing("depth"))?;
        match part {
            NODE => out.nodes.push(NodeCount {
                depth,
                step: step(r, 3).map_err(backend)?.ok_or_else(|| missing("node"))?,
                visitors,
            }),
            LINK => out.links.push(LinkCount {
                depth,
                from: step(r, 3).map_err(backend)?.ok_or_else(|| missing("link source"))?,
                to: step(r, 5).map_err(backend)?.ok_or_else(|| missing("link target"))?,
                visitors,
            }),
            PATH => {
                let mut steps = Vec::new();
                for d in 0..MAX_JOURNEY_DEPTH as usize {
                    match step(r, 3 + 2 * d).map_err(backend)? {
                        Some(s) => steps.push(s),
                        None => break,
                    }
                }
                out.paths.push(PathCount { steps, visitors });
            }
            DEPTH => {
                if let Some(slot) = (depth as usize).checked_sub(1).and_then(|i| reached.get_mut(i)) {
                    *slot = visitors;
                }
            }
            _ => return Err(missing("part")),
        }
    }
    out.depths = depth_counts(q.depth, &reached);
    Ok(out.sorted())
}
