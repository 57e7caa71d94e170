//! The session explorer in SQL: a page of sessions newest first by key, one session by id, and
//! its events in order. No index of its own: the list walks `sessions_start` (project, start)
//! backwards (SQLite sorts only the ties on start by id), a session is found by the unique
//! `id`, and its events are the project's events of its time span (`events_time`) of its
//! visitor, a span of minutes to hours.

use std::fmt::Write as _;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use store::analytics::explorer::{SessionId, SessionListQuery};
use store::sessions::Session;
use store::Result;

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;

use crate::analytics::session_filters;
use crate::codec::{self, session_id_bytes, visitor_to_sql, EVENT_COLUMNS, SESSION_SELECT};
use crate::{backend, StoreError};

fn sql_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn session_list(conn: &Connection, q: &SessionListQuery) -> Result<Vec<Session>> {
    let mut params: Vec<Value> = vec![
        Value::Blob(q.project.bytes().to_vec()),
        Value::Integer(q.from),
        Value::Integer(q.to),
    ];
    let mut sql = format!(
        "SELECT {} FROM sessions s WHERE s.project_id = ?1 AND s.start_at >= ?2 AND s.start_at < ?3",
        *SESSION_SELECT
    );
    for c in session_filters(&q.filters, &mut params) {
        let _ = write!(sql, " AND {c}");
    }
    let mut bound = |condition: &str, value: Value| {
        params.push(value);
        let _ = write!(sql, " AND {condition} ?{}", params.len());
    };
    if let Some(m) = q.min_duration_ms {
        bound("s.end_at - s.start_at >=", Value::Integer(sql_i64(m)));
    }
    if let Some(m) = q.max_duration_ms {
        bound("s.end_at - s.start_at <=", Value::Integer(sql_i64(m)));
    }
    if let Some(m) = q.min_pageviews {
        bound("s.pageviews >=", Value::Integer(i64::from(m)));
    }
    if let Some(m) = q.max_pageviews {
        bound("s.pageviews <=", Value::Integer(i64::from(m)));
    }
    if let Some(c) = &q.after {
        let id = session_id_bytes(c.id.as_str()).map_err(StoreError::backend)?;
        params.push(Value::Integer(c.start));
        params.push(Value::Blob(id.to_vec()));
        let n = params.len();
        let _ = write!(sql, " AND (s.start_at, s.id) < (?{}, ?{n})", n - 1);
    }
    params.push(Value::Integer(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    let _ = write!(sql, " ORDER BY s.start_at DESC, s.id DESC LIMIT ?{}", params.len());
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), codec::session)
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

pub(crate) fn session(conn: &Connection, project: &ProjectId, id: &SessionId) -> Result<Option<Session>> {
    let id = session_id_bytes(id.as_str()).map_err(StoreError::backend)?;
    conn.prepare_cached(&format!(
        "SELECT {} FROM sessions s WHERE id = ?1 AND project_id = ?2",
        *SESSION_SELECT
    ))
    .and_then(|mut s| s.query_row(params![id, project.bytes()], codec::session).optional())
    .map_err(backend)
}

pub(crate) fn session_events(conn: &Connection, s: &Session, limit: usize) -> Result<Vec<EnrichedEvent>> {
    // Event order: time, then page_exit before a page view before a custom event, then id
    // (`store::sessions::order_key`).
    conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events
         WHERE project_id = ?1 AND occurred_at >= ?2 AND occurred_at <= ?3 AND visitor_id = ?4
         ORDER BY occurred_at,
                  CASE name WHEN 'page_exit' THEN 0 WHEN 'pageview' THEN 1 WHEN 'path_change' THEN 1 ELSE 2 END,
                  event_id
         LIMIT ?5"
    ))
    .and_then(|mut stmt| {
        stmt.query_map(
            params![
                s.project_id.bytes(),
                s.start,
                s.end,
                visitor_to_sql(s.visitor_id),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            codec::event,
        )?
        .collect()
    })
    .map_err(backend)
}
