//! Dashboard queries on SQLite: the raw aggregations as SQL (with two functions of ours for
//! regular expressions and time buckets), the rollup tables and the dirty-hour marks.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use contract::enrich::VisitorId;
use contract::ids::ProjectId;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection, Transaction};
use store::analytics::raw::compile_regex;
use store::analytics::{
    Counters, DirtyHour, EventGroup, Field, Filter, FilterOp, Granularity, RawQuery, RollupDim, RollupRow,
    RollupSummary, SessionGroup, Sketch, StoredRollup,
};
use store::{GoalKind, Millis, Result};

use crate::backend;
use crate::codec::visitor_to_sql;

/// Registers `metrics_regexp(pattern, text)` and `metrics_bucket(t, bounds, labels)` on a
/// connection. Both are deterministic, so SQLite may evaluate them once per distinct input.
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("metrics_regexp", 2, flags, regexp)?;
    conn.create_scalar_function("metrics_bucket", 3, flags, bucket)?;
    conn.create_scalar_function("metrics_sketch_count", 1, flags, sketch_count)?;
    crate::flows::register(conn)
}

/// `metrics_sketch_count(sketch)`: the visitors a stored sketch counts (schema migration 3).
fn sketch_count(ctx: &Context<'_>) -> rusqlite::Result<i64> {
    let bytes = ctx.get_raw(0).as_blob()?;
    let sketch = Sketch::from_bytes(bytes).map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
    Ok(i64::try_from(sketch.estimate()).unwrap_or(i64::MAX))
}

/// `metrics_regexp(pattern, text)`: whether `text` matches. The compiled pattern is cached per
/// statement (SQLite's auxiliary data on the constant argument), so it compiles once per query.
fn regexp(ctx: &Context<'_>) -> rusqlite::Result<bool> {
    let re = ctx.get_or_create_aux(
        0,
        |v| -> Result<regex::Regex, Box<dyn std::error::Error + Send + Sync>> {
            let pattern = v.as_str()?;
            Ok(compile_regex(pattern)?)
        },
    )?;
    Ok(match ctx.get_raw(1) {
        ValueRef::Text(t) => re.is_match(&String::from_utf8_lossy(t)),
        _ => false,
    })
}

/// `metrics_bucket(t, bounds, labels)`: the label (from `labels`, little-endian i64s) of the
/// bucket holding `t` between `bounds` (little-endian i64s, one more than labels), or NULL.
/// Binary search: the same rule as `TimeBuckets::label_of`.
fn bucket(ctx: &Context<'_>) -> rusqlite::Result<Option<i64>> {
    let t: i64 = ctx.get(0)?;
    let (ValueRef::Blob(bounds), ValueRef::Blob(labels)) = (ctx.get_raw(1), ctx.get_raw(2)) else {
        return Ok(None);
    };
    let at = |blob: &[u8], i: usize| i64::from_le_bytes(blob[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let n = bounds.len() / 8;
    if n < 2 || labels.len() / 8 != n - 1 {
        return Ok(None);
    }
    // partition_point: the first bound > t.
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if at(bounds, mid) <= t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok((lo > 0 && lo < n).then(|| at(labels, lo - 1)))
}

fn le_blob(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Which table a raw aggregation reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Events,
    Sessions,
}

/// SQL expression of a field's value (never NULL), and whether it needs the event's session.
pub(crate) fn field_sql(field: &Field, table: Table, params: &mut Vec<Value>) -> (String, bool) {
    let coalesce = |col: &str| format!("COALESCE({col}, '')");
    match table {
        Table::Events => {
            let own = |col: &str| format!("e.{col}");
            match field {
                Field::Page => (own("path"), false),
                Field::Hostname => (own("hostname"), false),
                Field::Browser => (own("browser"), false),
                Field::Os => (own("os"), false),
                Field::Device => (own("device"), false),
                Field::Country => (coalesce("e.country"), false),
                Field::Region => (coalesce("e.region"), false),
                Field::City => (coalesce("e.city"), false),
                Field::EventName => (own("name"), false),
                Field::Prop(key) => {
                    params.push(Value::Text(prop_path(key)));
                    (format!("COALESCE(json_extract(e.props, ?{}), '')", params.len()), false)
                }
                session_side => {
                    let (col, _) = field_sql(session_side, Table::Sessions, params);
                    (format!("COALESCE({col}, '')"), true)
                }
            }
        }
        Table::Sessions => {
            let col = match field.for_session() {
                Field::EntryPage => "s.entry_page".to_owned(),
                Field::ExitPage => "s.exit_page".to_owned(),
                Field::Hostname => "s.hostname".to_owned(),
                Field::Source => coalesce("s.source"),
                Field::Referrer => coalesce("s.referrer"),
                Field::UtmSource => coalesce("s.utm_source"),
                Field::UtmMedium => coalesce("s.utm_medium"),
                Field::UtmCampaign => coalesce("s.utm_campaign"),
                Field::UtmTerm => coalesce("s.utm_term"),
                Field::UtmContent => coalesce("s.utm_content"),
                Field::Browser => "s.browser".to_owned(),
                Field::Os => "s.os".to_owned(),
                Field::Device => "s.device".to_owned(),
                Field::Country => coalesce("s.country"),
                Field::Region => coalesce("s.region"),
                Field::City => coalesce("s.city"),
                // Not fields of a session (the engine refuses such queries): the empty value.
                Field::Page | Field::EventName | Field::Prop(_) => "''".to_owned(),
            };
            (col, false)
        }
    }
}

/// JSON path of a prop key: `$."key"`. Keys never contain `.` (the contract refuses them);
/// SQLite reads a quoted label with JSON string escapes, so `\` and `"` inside are escaped.
fn prop_path(key: &str) -> String {
    format!("$.\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Whether the event `e` completes `goal` ([`store::GoalKind::completed_by`]), as SQL: a page
/// pattern as a `GLOB` (the same matches, see `PagePattern::to_glob`).
fn completes(goal: &GoalKind, params: &mut Vec<Value>) -> String {
    match goal {
        GoalKind::Event(name) => {
            params.push(Value::Text(name.clone()));
            format!("e.name = ?{}", params.len())
        }
        GoalKind::Page(pattern) => {
            params.push(Value::Text(pattern.to_glob()));
            format!(
                "(e.name IN ('pageview', 'path_change') AND e.path GLOB ?{})",
                params.len()
            )
        }
    }
}

/// The goal parts of an event aggregation: a condition per goal filter, and with
/// [`RawQuery::by_goal`] the goal index as the first key and the `WITH goal(i, name, glob)` table
/// of the goals (returned, to put before the `SELECT`; empty without `by_goal`), one row per goal
/// with its event name or its page pattern's `GLOB`.
fn goal_sql(q: &RawQuery, params: &mut Vec<Value>, keys: &mut Vec<String>, conditions: &mut Vec<String>) -> String {
    for any_of in &q.goal_filters {
        let alternatives: Vec<String> = any_of.iter().map(|g| completes(g, params)).collect();
        conditions.push(if alternatives.is_empty() {
            "0".to_owned()
        } else {
            format!("({})", alternatives.join(" OR "))
        });
    }
    if q.by_goal.is_empty() {
        return String::new();
    }
    let mut rows: Vec<String> = Vec::with_capacity(q.by_goal.len());
    // Only events that can complete one of the goals: their names, and page views if any goal is
    // a page.
    let mut candidates: Vec<String> = Vec::new();
    for (i, goal) in q.by_goal.iter().enumerate() {
        match goal {
            GoalKind::Event(name) => {
                params.push(Value::Text(name.clone()));
                let p = params.len();
                rows.push(format!("({i}, ?{p}, NULL)"));
                candidates.push(format!("?{p}"));
            }
            GoalKind::Page(pattern) => {
                params.push(Value::Text(pattern.to_glob()));
                rows.push(format!("({i}, NULL, ?{})", params.len()));
                if !candidates.iter().any(|c| c.starts_with('\'')) {
                    candidates.extend(["'pageview'".to_owned(), "'path_change'".to_owned()]);
                }
            }
        }
    }
    conditions.push(format!("e.name IN ({})", candidates.join(", ")));
    conditions.push(
        "(e.name = g.name OR (g.glob IS NOT NULL AND e.name IN ('pageview', 'path_change') AND e.path GLOB g.glob))"
            .to_owned(),
    );
    keys.push("CAST(g.i AS TEXT)".to_owned());
    format!("WITH goal(i, name, glob) AS (VALUES {}) ", rows.join(", "))
}

/// The SQL condition of `filter` on the value expression `sql`, its values appended to `params`.
fn filter_condition(filter: &Filter, sql: &str, params: &mut Vec<Value>) -> String {
    let mut alternatives: Vec<String> = Vec::new();
    for v in &filter.values {
        params.push(Value::Text(v.clone()));
        let p = params.len();
        alternatives.push(match filter.op {
            FilterOp::Is | FilterOp::IsNot => format!("?{p}"),
            FilterOp::Contains => format!("instr({sql}, ?{p}) > 0"),
            FilterOp::Matches => format!("metrics_regexp(?{p}, {sql})"),
        });
    }
    match filter.op {
        FilterOp::Is => format!("{sql} IN ({})", alternatives.join(", ")),
        FilterOp::IsNot => format!("{sql} NOT IN ({})", alternatives.join(", ")),
        FilterOp::Contains | FilterOp::Matches => format!("({})", alternatives.join(" OR ")),
    }
}

/// The conditions of filters on session fields, on the sessions table aliased `s` (funnels,
/// journeys and the session explorer), their values appended to `params`.
pub(crate) fn session_filters(filters: &[Filter], params: &mut Vec<Value>) -> Vec<String> {
    filters
        .iter()
        .map(|filter| {
            let (sql, _) = field_sql(&filter.field, Table::Sessions, params);
            filter_condition(filter, &sql, params)
        })
        .collect()
}

/// Events `e` with their session `s`: the same visitor's session spanning the event's time
/// (sessions of a visitor never overlap), looked up per event by the `sessions_visitor` index.
pub(crate) const EVENT_SESSION_JOIN: &str = "events e LEFT JOIN sessions s ON s.project_id = e.project_id \
     AND s.visitor_id = e.visitor_id AND s.start_at <= e.occurred_at AND s.end_at >= e.occurred_at";

/// The `SELECT ... GROUP BY` of a raw aggregation, its parameters, and the number of key columns.
fn raw_sql(q: &RawQuery, table: Table) -> (String, Vec<Value>) {
    let mut params: Vec<Value> = vec![
        Value::Blob(q.project.bytes().to_vec()),
        Value::Integer(q.from),
        Value::Integer(q.to),
    ];
    let (alias, time_col) = match table {
        Table::Events => ("e", "e.occurred_at"),
        Table::Sessions => ("s", "s.start_at"),
    };
    let mut join = false;
    let mut keys: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut with_goals = String::new();
    if table == Table::Events {
        with_goals = goal_sql(q, &mut params, &mut keys, &mut conditions);
    }
    for f in &q.group {
        let (sql, needs) = field_sql(f, table, &mut params);
        join |= needs;
        if let (Field::Prop(key), Table::Events) = (f, table) {
            params.push(Value::Text(prop_path(key)));
            conditions.push(format!("json_extract(e.props, ?{}) IS NOT NULL", params.len()));
        }
        keys.push(sql);
    }
    for filter in &q.filters {
        let (sql, needs) = field_sql(&filter.field, table, &mut params);
        join |= needs;
        conditions.push(filter_condition(filter, &sql, &mut params));
    }
    let bucket = match &q.time {
        Some(t) => {
            params.push(Value::Blob(le_blob(&t.bounds)));
            params.push(Value::Blob(le_blob(&t.labels)));
            let n = params.len();
            let expr = format!("metrics_bucket({time_col}, ?{}, ?{n})", n - 1);
            conditions.push(format!("{expr} IS NOT NULL"));
            expr
        }
        None => "NULL".to_owned(),
    };
    let mut select = String::new();
    for k in &keys {
        let _ = write!(select, "{k}, ");
    }
    let _ = write!(select, "{bucket}, ");
    match table {
        Table::Events => {
            let goal = match &q.goal {
                Some(goal) => completes(goal, &mut params),
                None => "0".to_owned(),
            };
            let _ = write!(
                select,
                "SUM(e.name IN ('pageview', 'path_change')), \
                 SUM(e.name NOT IN ('pageview', 'path_change', 'page_exit')), \
                 SUM(e.name = 'page_exit'), \
                 SUM(CASE WHEN e.name = 'page_exit' THEN COALESCE(e.duration_ms, 0) ELSE 0 END), \
                 SUM(e.name = 'page_exit' AND e.scroll_depth IS NOT NULL), \
                 SUM(CASE WHEN e.name = 'page_exit' THEN COALESCE(e.scroll_depth, 0) ELSE 0 END), \
                 COUNT(DISTINCT e.visitor_id), \
                 COUNT(DISTINCT CASE WHEN {goal} THEN e.visitor_id END)"
            );
        }
        Table::Sessions => {
            select.push_str(
                "COUNT(*), SUM(s.pageviews <= 1 AND s.custom_events = 0), SUM(s.end_at - s.start_at), \
                 SUM(s.pageviews), COUNT(DISTINCT s.visitor_id)",
            );
        }
    }
    let mut from = match (table, join) {
        (Table::Events, false) => "events e".to_owned(),
        (Table::Events, true) => EVENT_SESSION_JOIN.to_owned(),
        (Table::Sessions, _) => "sessions s".to_owned(),
    };
    if !with_goals.is_empty() {
        // CROSS JOIN: the events stay the outer loop (SQLite never reorders it), each tested
        // against the few goals, rather than one pass over the range per goal.
        from.push_str(" CROSS JOIN goal g");
    }
    let mut sql = format!(
        "{with_goals}SELECT {select} FROM {from} WHERE {alias}.project_id = ?1 AND {time_col} >= ?2 AND {time_col} < ?3"
    );
    for c in &conditions {
        let _ = write!(sql, " AND {c}");
    }
    let group_cols = keys.len() + 1;
    let list: Vec<String> = (1..=group_cols).map(|i| i.to_string()).collect();
    let _ = write!(sql, " GROUP BY {}", list.join(", "));
    (sql, params)
}

fn u(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(row.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
}

pub(crate) fn aggregate_events(conn: &Connection, q: &RawQuery) -> Result<Vec<EventGroup>> {
    let (sql, params) = raw_sql(q, Table::Events);
    let n = q.group.len() + usize::from(!q.by_goal.is_empty());
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok(EventGroup {
                keys: (0..n).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?,
                bucket: r.get(n)?,
                pageviews: u(r, n + 1)?,
                custom_events: u(r, n + 2)?,
                exits: u(r, n + 3)?,
                exit_duration_ms: u(r, n + 4)?,
                scroll_count: u(r, n + 5)?,
                scroll_sum: u(r, n + 6)?,
                visitors: u(r, n + 7)?,
                converted: u(r, n + 8)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

pub(crate) fn aggregate_sessions(conn: &Connection, q: &RawQuery) -> Result<Vec<SessionGroup>> {
    let (sql, params) = raw_sql(q, Table::Sessions);
    let n = q.group.len();
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok(SessionGroup {
                keys: (0..n).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?,
                bucket: r.get(n)?,
                visits: u(r, n + 1)?,
                bounces: u(r, n + 2)?,
                duration_ms: u(r, n + 3)?,
                pageviews: u(r, n + 4)?,
                visitors: u(r, n + 5)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

// --- rollups ------------------------------------------------------------------------------------

const ROLLUP_COLUMNS: &str = "bucket, dim, value, pageviews, custom_events, exits, exit_duration_ms, scroll_count, \
     scroll_sum, visits, bounces, visit_duration_ms, session_pageviews, visitors";

fn rollup_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRollup> {
    let dim: String = r.get(1)?;
    let invalid = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("rollups: invalid {what}").into(),
        )
    };
    let dim = RollupDim::parse_key(&dim).ok_or_else(|| invalid("dim"))?;
    let sketch = Sketch::from_bytes(r.get_ref(13)?.as_blob()?).map_err(|_| invalid("visitor sketch"))?;
    Ok(StoredRollup {
        bucket: r.get(0)?,
        row: RollupRow {
            dim,
            value: r.get(2)?,
            counters: counters_from(r, 3)?,
            visitors: sketch,
        },
    })
}

fn sql_u64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn replace_rollups(
    tx: &Transaction<'_>,
    project: &ProjectId,
    granularity: Granularity,
    bucket: Millis,
    rows: &[RollupRow],
) -> Result<()> {
    let p = project.bytes();
    let g = granularity.code();
    tx.prepare_cached("DELETE FROM rollups WHERE project_id = ?1 AND granularity = ?2 AND bucket = ?3")
        .and_then(|mut s| s.execute(params![p, g, bucket]))
        .map_err(backend)?;
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT INTO rollups (project_id, granularity, {ROLLUP_COLUMNS}, visitor_count, visitors_exact) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        ))
        .map_err(backend)?;
    for r in rows {
        let c = &r.counters;
        insert
            .execute(params![
                p,
                g,
                bucket,
                r.dim.key(),
                r.value,
                sql_u64(c.pageviews),
                sql_u64(c.custom_events),
                sql_u64(c.exits),
                sql_u64(c.exit_duration_ms),
                sql_u64(c.scroll_count),
                sql_u64(c.scroll_sum),
                sql_u64(c.visits),
                sql_u64(c.bounces),
                sql_u64(c.visit_duration_ms),
                sql_u64(c.session_pageviews),
                r.visitors.to_bytes(),
                sql_u64(r.visitors.estimate()),
                r.visitors.is_exact(),
            ])
            .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn rollups(
    conn: &Connection,
    project: &ProjectId,
    granularity: Granularity,
    from: Millis,
    to: Millis,
    dim: Option<&RollupDim>,
) -> Result<Vec<StoredRollup>> {
    let p = project.bytes();
    let g = granularity.code();
    let rows = match dim {
        Some(dim) => conn
            .prepare_cached(&format!(
                "SELECT {ROLLUP_COLUMNS} FROM rollups \
                 WHERE project_id = ?1 AND granularity = ?2 AND dim = ?3 AND bucket >= ?4 AND bucket < ?5"
            ))
            .and_then(|mut s| s.query_map(params![p, g, dim.key(), from, to], rollup_from)?.collect()),
        None => conn
            .prepare_cached(&format!(
                "SELECT {ROLLUP_COLUMNS} FROM rollups \
                 WHERE project_id = ?1 AND granularity = ?2 AND bucket >= ?3 AND bucket < ?4"
            ))
            .and_then(|mut s| s.query_map(params![p, g, from, to], rollup_from)?.collect()),
    };
    rows.map_err(backend)
}

fn counters_from(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Counters> {
    Ok(Counters {
        pageviews: u(r, first)?,
        custom_events: u(r, first + 1)?,
        exits: u(r, first + 2)?,
        exit_duration_ms: u(r, first + 3)?,
        scroll_count: u(r, first + 4)?,
        scroll_sum: u(r, first + 5)?,
        visits: u(r, first + 6)?,
        bounces: u(r, first + 7)?,
        visit_duration_ms: u(r, first + 8)?,
        session_pageviews: u(r, first + 9)?,
    })
}

/// Answered from the `rollups_summary` index alone (it covers every column named), never from
/// the table's rows with their sketches.
pub(crate) const SELECT_SUMMARIES: &str = "SELECT bucket, value, pageviews, custom_events, exits, exit_duration_ms, \
     scroll_count, scroll_sum, visits, bounces, visit_duration_ms, session_pageviews, visitor_count, visitors_exact \
     FROM rollups INDEXED BY rollups_summary \
     WHERE project_id = ?1 AND granularity = ?2 AND dim = ?3 AND bucket >= ?4 AND bucket < ?5";

pub(crate) fn rollup_summaries(
    conn: &Connection,
    project: &ProjectId,
    granularity: Granularity,
    from: Millis,
    to: Millis,
    dim: &RollupDim,
) -> Result<Vec<RollupSummary>> {
    conn.prepare_cached(SELECT_SUMMARIES)
        .and_then(|mut s| {
            s.query_map(params![project.bytes(), granularity.code(), dim.key(), from, to], |r| {
                Ok(RollupSummary {
                    bucket: r.get(0)?,
                    value: r.get(1)?,
                    counters: counters_from(r, 2)?,
                    visitors: u(r, 12)?,
                    visitors_exact: r.get(13)?,
                })
            })?
            .collect()
        })
        .map_err(backend)
}

/// Values per statement of [`rollups_of_values`], and most buckets listed in one (past it, the
/// statement scans the bucket range instead): well under SQLite's parameter limit.
const VALUES_PER_STATEMENT: usize = 500;
const MAX_LISTED_BUCKETS: usize = 1000;

pub(crate) fn rollups_of_values(
    conn: &Connection,
    project: &ProjectId,
    granularity: Granularity,
    from: Millis,
    to: Millis,
    dim: &RollupDim,
    values: &[String],
) -> Result<Vec<StoredRollup>> {
    // Listing the buckets as well as the values makes both `IN`s key look-ups: SQLite seeks each
    // (bucket, value) pair in the primary key instead of reading every row of every bucket.
    let buckets = granularity.buckets_in(from, to, MAX_LISTED_BUCKETS);
    let mut out = Vec::new();
    for chunk in values.chunks(VALUES_PER_STATEMENT) {
        let mut params: Vec<Value> = vec![
            Value::Blob(project.bytes().to_vec()),
            Value::Integer(granularity.code()),
            Value::Text(dim.key()),
        ];
        let bucket_sql = if let Some(buckets) = &buckets {
            params.extend(buckets.iter().map(|b| Value::Integer(*b)));
            format!("bucket IN ({})", placeholders(4, buckets.len()))
        } else {
            params.extend([Value::Integer(from), Value::Integer(to)]);
            "bucket >= ?4 AND bucket < ?5".to_owned()
        };
        let first_value = params.len() + 1;
        params.extend(chunk.iter().map(|v| Value::Text(v.clone())));
        let sql = format!(
            "SELECT {ROLLUP_COLUMNS} FROM rollups \
             WHERE project_id = ?1 AND granularity = ?2 AND dim = ?3 AND {bucket_sql} AND value IN ({})",
            placeholders(first_value, chunk.len())
        );
        let rows: rusqlite::Result<Vec<StoredRollup>> = conn
            .prepare(&sql)
            .and_then(|mut s| s.query_map(params_from_iter(params), rollup_from)?.collect());
        out.extend(rows.map_err(backend)?);
    }
    Ok(out)
}

// --- dirty hours ---------------------------------------------------------------------------------

/// Marks hours of a project for rebuilding, inside the ingest transaction, with `version` from the
/// store's strictly increasing mark clock, not a per-row counter restarting at 1: a worker still
/// holding the version of a mark cleared since must not match (and so delete) a newer mark.
pub(crate) fn mark_dirty(
    tx: &Transaction<'_>,
    project: &ProjectId,
    hours: &BTreeSet<Millis>,
    version: Millis,
) -> Result<()> {
    let mut mark = tx
        .prepare_cached(
            "INSERT INTO rollup_dirty (project_id, hour, version) VALUES (?1, ?2, ?3) \
             ON CONFLICT (project_id, hour) DO UPDATE SET version = ?3",
        )
        .map_err(backend)?;
    for h in hours {
        mark.execute(params![project.bytes(), h, version]).map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn dirty_hours(conn: &Connection, limit: usize) -> Result<Vec<DirtyHour>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached("SELECT project_id, hour, version FROM rollup_dirty ORDER BY hour LIMIT ?1")
        .and_then(|mut s| {
            s.query_map([limit], |r| {
                let p: Vec<u8> = r.get(0)?;
                let p: [u8; 12] = p.try_into().map_err(|_| {
                    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, "project id".into())
                })?;
                Ok(DirtyHour {
                    project: ProjectId::from_bytes(p),
                    hour: r.get(1)?,
                    version: r.get(2)?,
                })
            })?
            .collect()
        })
        .map_err(backend)
}

pub(crate) fn clear_dirty(tx: &Transaction<'_>, mark: &DirtyHour) -> Result<bool> {
    let n = tx
        .prepare_cached("DELETE FROM rollup_dirty WHERE project_id = ?1 AND hour = ?2 AND version = ?3")
        .and_then(|mut s| s.execute(params![mark.project.bytes(), mark.hour, mark.version]))
        .map_err(backend)?;
    Ok(n > 0)
}

/// `?n, ?n+1, ...` for `count` parameters starting at `first`.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn visitor_params(project: &ProjectId, visitors: &[VisitorId]) -> Vec<ToSqlOutput<'static>> {
    let mut out: Vec<ToSqlOutput<'static>> = vec![ToSqlOutput::Owned(Value::Blob(project.bytes().to_vec()))];
    out.extend(
        visitors
            .iter()
            .map(|v| ToSqlOutput::Owned(Value::Integer(visitor_to_sql(*v)))),
    );
    out
}
