//! The `goals` table (schema migration `V_GOALS`): a project's conversion goals.
//!
//! A goal is stored as its kind (`event` or `page`) and value (the event name or the page
//! pattern); the unique index on (project, kind, value) is the "same goal twice" rule.

use contract::ids::ProjectId;
use rusqlite::types::Type;
use rusqlite::{params, Connection, Row, Transaction};
use store::{Goal, GoalId, GoalKind, Result};

use crate::{backend, conflict_or_backend};

pub(crate) const GOAL_COLUMNS: &str = "id, project_id, kind, value, created_at";

/// A project's goals, oldest first: the `goals_created` index, no sort.
pub(crate) const SELECT_GOALS_OF: &str =
    "SELECT id, project_id, kind, value, created_at FROM goals WHERE project_id = ?1 ORDER BY created_at, id";
pub(crate) const DELETE_GOAL: &str = "DELETE FROM goals WHERE id = ?1 AND project_id = ?2";

/// The stored (kind, value) of a goal.
fn kind_value(kind: &GoalKind) -> (&'static str, &str) {
    match kind {
        GoalKind::Event(name) => ("event", name),
        GoalKind::Page(pattern) => ("page", pattern.as_str()),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("malformed goal row: {0}")]
struct BadGoal(&'static str);

fn goal_from(row: &Row<'_>) -> rusqlite::Result<Goal> {
    let invalid = |col: usize, what: &'static str| {
        rusqlite::Error::FromSqlConversionFailure(col, Type::Blob, Box::new(BadGoal(what)))
    };
    let id12 = |col: usize, what: &'static str| -> rusqlite::Result<[u8; 12]> {
        row.get_ref(col)?.as_blob()?.try_into().map_err(|_| invalid(col, what))
    };
    let kind: String = row.get(2)?;
    let value: String = row.get(3)?;
    let kind = match kind.as_str() {
        "event" => GoalKind::event(&value).map_err(|_| invalid(3, "event name"))?,
        "page" => GoalKind::page(&value).map_err(|_| invalid(3, "page pattern"))?,
        _ => return Err(invalid(2, "kind")),
    };
    Ok(Goal {
        id: GoalId::from_bytes(id12(0, "goal id")?),
        project: ProjectId::from_bytes(id12(1, "project id")?),
        kind,
        created_at: row.get(4)?,
    })
}

pub(crate) fn create(tx: &Transaction<'_>, goal: &Goal) -> Result<()> {
    let (kind, value) = kind_value(&goal.kind);
    tx.prepare_cached(&format!(
        "INSERT INTO goals ({GOAL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            goal.id.bytes(),
            goal.project.bytes(),
            kind,
            value,
            goal.created_at
        ])
    })
    .map_err(conflict_or_backend("goal"))?;
    Ok(())
}

pub(crate) fn of_project(conn: &Connection, project: &ProjectId) -> Result<Vec<Goal>> {
    conn.prepare_cached(SELECT_GOALS_OF)
        .and_then(|mut s| s.query_map([project.bytes()], goal_from)?.collect())
        .map_err(backend)
}

pub(crate) fn delete(tx: &Transaction<'_>, project: &ProjectId, id: &GoalId) -> Result<bool> {
    let n = tx
        .prepare_cached(DELETE_GOAL)
        .and_then(|mut s| s.execute(params![id.bytes(), project.bytes()]))
        .map_err(backend)?;
    Ok(n > 0)
}
