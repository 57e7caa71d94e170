//! The saved funnels' table (schema migration `V_FUNNELS`). Funnels themselves are computed by
//! [`crate::flows`].

use contract::ids::ProjectId;
use rusqlite::{params, Connection, Row, Transaction};
use store::funnels::{SavedFunnel, SavedFunnelSteps};
use store::ids::FunnelId;
use store::{Name, Result};

use crate::backend;

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
