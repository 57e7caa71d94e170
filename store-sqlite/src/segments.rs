//! The `segments` table (schema migration `V_SEGMENTS`): the dashboard's saved sets of filters.
//! The filters are stored as their JSON (`store::SegmentFilters::to_json`), read whole.

use contract::ids::ProjectId;
use rusqlite::{params, Connection, Row, Transaction};
use store::{Name, Result, Segment, SegmentFilters, SegmentId};

use crate::codec::{id12, invalid};
use crate::{backend, conflict_or_backend};

/// A project's segments oldest first: the `segments_project` index, no sort.
pub(crate) const SELECT_SEGMENTS_OF: &str =
    "SELECT id, project_id, name, filters, created_at FROM segments WHERE project_id = ?1 ORDER BY created_at, id";
pub(crate) const DELETE_SEGMENT: &str = "DELETE FROM segments WHERE id = ?1 AND project_id = ?2";

fn segment_from(row: &Row<'_>) -> rusqlite::Result<Segment> {
    let name: String = row.get(2)?;
    let filters: String = row.get(3)?;
    Ok(Segment {
        id: SegmentId::from_bytes(id12(row, 0, "segment id")?),
        project: ProjectId::from_bytes(id12(row, 1, "project id")?),
        name: Name::parse(&name).map_err(|_| invalid(2, "name"))?,
        filters: SegmentFilters::from_json(&filters).map_err(|_| invalid(3, "filters"))?,
        created_at: row.get(4)?,
    })
}

pub(crate) fn create(tx: &Transaction<'_>, segment: &Segment) -> Result<()> {
    tx.prepare_cached("INSERT INTO segments (id, project_id, name, filters, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
        .and_then(|mut s| {
            s.execute(params![
                segment.id.bytes(),
                segment.project.bytes(),
                segment.name.as_str(),
                segment.filters.to_json(),
                segment.created_at
            ])
        })
        .map_err(conflict_or_backend("segment"))?;
    Ok(())
}

pub(crate) fn of_project(conn: &Connection, project: &ProjectId) -> Result<Vec<Segment>> {
    conn.prepare_cached(SELECT_SEGMENTS_OF)
        .and_then(|mut s| s.query_map([project.bytes()], segment_from)?.collect())
        .map_err(backend)
}

pub(crate) fn delete(tx: &Transaction<'_>, project: &ProjectId, id: &SegmentId) -> Result<bool> {
    let n = tx
        .prepare_cached(DELETE_SEGMENT)
        .and_then(|mut s| s.execute(params![id.bytes(), project.bytes()]))
        .map_err(backend)?;
    Ok(n > 0)
}
