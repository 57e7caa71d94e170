//! Funnels on SQLite: the step counts as one SQL statement ([`funnel_sql`]), and the saved
//! funnels' table (schema migration `V_FUNNELS`).
//!
//! # The statement
//!
//! 1. `scope`: the sessions in scope (started in the range, passing the filters), from the
//!    `sessions_start` index;
//! 2. `hits`: the events that match any step, each with its session (same visitor,
//!    `start <= t <= end`, in scope) and one flag per step. Events are read once from the
//!    `events_time` index, from the range's start to the latest end of a session in `scope` (a
//!    session that started in the range may go on after it), and each looks its session up in the
//!    `sessions_visitor` index. (Joining `scope` instead made SQLite scan the events' range once per
//!    session: 30 s at a million events. `CROSS JOIN` keeps the events outside and `INDEXED BY`
//!    the visitor's index inside whatever the planner's statistics say: with none, it scanned the
//!    range's sessions per event instead.)
//! 3. `f1` .. `fN`: per session, the step's event: the first hit of step 1; then the first hit
//!    of step k whose order key `(t, rank, event id)` is past step k-1's (`row_number()` over the
//!    session's candidates in event order). Rank is 0 for page views and 1 for custom events,
//!    `store::sessions::order_key`'s order among the events a step can match. Each `fk` is
//!    materialized: it is read by the next step and twice by the answer, and inlined SQLite
//!    computed the steps before it again for every reference (4.7 s instead of 2.2 s for a
//!    4-step funnel over a million events);
//! 4. per step, `COUNT(DISTINCT visitor)` and the lower median of `t(k) - t(k-1)` (the sorted
//!    deltas' row at `(n - 1) / 2`).

use std::fmt::Write as _;

use contract::ids::ProjectId;
use contract::wire::{PAGEVIEW, PATH_CHANGE};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row, Transaction};
use store::analytics::funnel::{FunnelCounts, FunnelQuery, FunnelStep, FunnelStepCount};
use store::funnels::{SavedFunnel, SavedFunnelSteps};
use store::ids::FunnelId;
use store::{Name, Result};

use crate::analytics::session_filters;
use crate::backend;

/// The statement of [`store::Store::funnel`] and its parameters: one row per step, `(visitors,
/// median or NULL)`, in step order.
pub(crate) fn funnel_sql(q: &FunnelQuery) -> (String, Vec<Value>) {
    let mut params: Vec<Value> = vec![
        Value::Blob(q.project.bytes().to_vec()),
        Value::Integer(q.from),
        Value::Integer(q.to),
    ];
    let mut scope_where = String::from("s.project_id = ?1 AND s.start_at >= ?2 AND s.start_at < ?3");
    for c in session_filters(&q.filters, &mut params) {
        let _ = write!(scope_where, " AND {c}");
    }
    let steps = q.steps.as_slice();
    let mut flags: Vec<String> = Vec::with_capacity(steps.len());
    for step in steps {
        flags.push(match step {
            FunnelStep::Page(pattern) => {
                params.push(Value::Text(pattern.to_glob()));
                format!(
                    "(e.name IN ('{PAGEVIEW}', '{PATH_CHANGE}') AND e.path GLOB ?{})",
                    params.len()
                )
            }
            FunnelStep::Event(name) => {
                params.push(Value::Text(name.as_str().to_owned()));
                format!("(e.name = ?{})", params.len())
            }
        });
    }
    let flag_columns: Vec<String> = flags
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{f} AS m{}", i + 1))
        .collect();
    let mut sql = format!(
        "WITH scope AS MATERIALIZED ( \
           SELECT s.end_at AS hi FROM sessions s \
           WHERE {scope_where}), \
         hits AS MATERIALIZED ( \
           SELECT s.seq AS sid, s.visitor_id AS vid, e.occurred_at AS t, \
                  e.name NOT IN ('{PAGEVIEW}', '{PATH_CHANGE}') AS r, e.event_id AS id, {flag_columns} \
           FROM events e CROSS JOIN sessions s INDEXED BY sessions_visitor ON s.project_id = e.project_id AND s.visitor_id = e.visitor_id \
             AND s.start_at <= e.occurred_at AND e.occurred_at <= s.end_at AND {scope_where} \
           WHERE e.project_id = ?1 AND e.occurred_at >= ?2 AND e.occurred_at <= (SELECT max(hi) FROM scope) \
             AND ({any})), \
         f1 AS MATERIALIZED ( \
           SELECT sid, vid, t, r, id, NULL AS d FROM ( \
             SELECT sid, vid, t, r, id, row_number() OVER (PARTITION BY sid ORDER BY t, r, id) AS n \
             FROM hits WHERE m1) WHERE n = 1)",
        flag_columns = flag_columns.join(", "),
        any = flags.join(" OR "),
    );
    for k in 2..=steps.len() {
        let _ = write!(
            sql,
            ", f{k} AS MATERIALIZED ( \
               SELECT sid, vid, t, r, id, d FROM ( \
                 SELECT h.sid, h.vid, h.t, h.r, h.id, h.t - p.t AS d, \
                        row_number() OVER (PARTITION BY h.sid ORDER BY h.t, h.r, h.id) AS n \
                 FROM hits h JOIN f{prev} p ON p.sid = h.sid \
                 WHERE h.m{k} AND (h.t, h.r, h.id) > (p.t, p.r, p.id)) WHERE n = 1)",
            prev = k - 1
        );
    }
    let per_step: Vec<String> = (1..=steps.len())
        .map(|k| {
            let median = if k == 1 {
                "NULL".to_owned()
            } else {
                format!("(SELECT d FROM f{k} ORDER BY d LIMIT 1 OFFSET ((SELECT count(*) FROM f{k}) - 1) / 2)")
            };
            format!("SELECT {k}, (SELECT count(DISTINCT vid) FROM f{k}), {median}")
        })
        .collect();
    let _ = write!(sql, " {} ORDER BY 1", per_step.join(" UNION ALL "));
    (sql, params)
}

pub(crate) fn funnel(conn: &Connection, q: &FunnelQuery) -> Result<FunnelCounts> {
    let (sql, params) = funnel_sql(q);
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let steps = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok(FunnelStepCount {
                visitors: r.get::<_, i64>(1)?.max(0) as u64,
                median_ms_from_previous: r.get::<_, Option<i64>>(2)?.map(|d| d.max(0) as u64),
            })
        })
        .map_err(backend)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(FunnelCounts { steps })
}

// --- saved funnels -------------------------------------------------------------------------------

pub(crate) const SAVED_FUNNEL_COLUMNS: &str = "id, project_id, name, steps, created_at";

pub(crate) const SELECT_SAVED_FUNNELS: &str =
    "SELECT id, project_id, name, steps, created_at FROM saved_funnels WHERE project_id = ?1 ORDER BY created_at, id";

pub(crate) const DELETE_SAVED_FUNNEL: &str = "DELETE FROM saved_funnels WHERE project_id = ?1 AND id = ?2";

#[derive(Debug, thiserror::Error)]
#[error("stored saved funnel {0} is invalid")]
struct InvalidFunnel(&'static str);

fn invalid(col: usize, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(InvalidFunnel(what)))
}

fn id12(row: &Row<'_>, col: usize, what: &'static str) -> rusqlite::Result<[u8; 12]> {
    row.get_ref(col)?.as_blob()?.try_into().map_err(|_| invalid(col, what))
}

fn saved_funnel(row: &Row<'_>) -> rusqlite::Result<SavedFunnel> {
    let name: String = row.get(2)?;
    let steps: String = row.get(3)?;
    Ok(SavedFunnel {
        id: FunnelId::from_bytes(id12(row, 0, "id")?),
        project: ProjectId::from_bytes(id12(row, 1, "project id")?),
        name: Name::parse(&name).map_err(|_| invalid(2, "name"))?,
        steps: SavedFunnelSteps::from_json(&steps).map_err(|_| invalid(3, "steps"))?,
        created_at: row.get(4)?,
    })
}

pub(crate) fn create_saved_funnel(tx: &Transaction<'_>, f: &SavedFunnel) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO saved_funnels ({SAVED_FUNNEL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            f.id.bytes(),
            f.project.bytes(),
            f.name.as_str(),
            f.steps.to_json(),
            f.created_at
        ])
    })
    .map_err(crate::conflict_or_backend("saved funnel"))?;
    Ok(())
}

pub(crate) fn saved_funnels_of(conn: &Connection, project: &ProjectId) -> Result<Vec<SavedFunnel>> {
    conn.prepare_cached(SELECT_SAVED_FUNNELS)
        .and_then(|mut s| s.query_map([project.bytes()], saved_funnel)?.collect())
        .map_err(backend)
}

pub(crate) fn delete_saved_funnel(tx: &Transaction<'_>, project: &ProjectId, id: &FunnelId) -> Result<bool> {
    let n = tx
        .prepare_cached(DELETE_SAVED_FUNNEL)
        .and_then(|mut s| s.execute(params![project.bytes(), id.bytes()]))
        .map_err(backend)?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::analytics::funnel::{CustomEventName, FunnelSteps};
    use store::analytics::{Field, Filter, FilterOp, PagePattern};

    /// The events of the range are read once, each looking its session up by index: never a
    /// scan of the range per session (what joining the materialized scope made SQLite do).
    #[test]
    fn events_are_read_once_and_sessions_looked_up_by_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let q = FunnelQuery {
            project: ProjectId::from_bytes([1; 12]),
            from: 0,
            to: 1,
            filters: vec![Filter {
                op: FilterOp::Matches,
                field: Field::Source,
                values: vec!["^G".into()],
            }],
            steps: FunnelSteps::new(vec![
                FunnelStep::Page(PagePattern::parse("/").unwrap()),
                FunnelStep::Event(CustomEventName::parse("signup").unwrap()),
            ])
            .unwrap(),
        };
        let (sql, params) = funnel_sql(&q);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(params_from_iter(params.iter()), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let at = |needle: &str| plan.iter().position(|step| step.contains(needle));
        let events = at("SEARCH e USING INDEX events_time").expect("events by time");
        let sessions = at("SEARCH s USING INDEX sessions_visitor").expect("each event's session by index");
        assert!(events < sessions, "events outside, sessions inside: {plan:#?}");
        assert!(
            !plan
                .iter()
                .any(|step| step.starts_with("SCAN e") || step.starts_with("SCAN s ")),
            "{plan:#?}"
        );
    }
}
