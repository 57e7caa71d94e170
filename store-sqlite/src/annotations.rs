//! The `annotations` table (schema migration `V_ANNOTATIONS`): owners' notes on dates of a
//! site's graph. The date is stored as its ISO text (`2026-11-03`), which sorts as the dates do.

use chrono::NaiveDate;
use contract::ids::ProjectId;
use rusqlite::{params, Connection, Row, Transaction};
use store::{Annotation, AnnotationId, AnnotationText, Result};

use crate::codec::{id12, invalid};
use crate::{backend, conflict_or_backend};

/// A project's notes by date, then oldest first: the `annotations_project` index, no sort.
pub(crate) const SELECT_ANNOTATIONS_OF: &str = "SELECT id, project_id, date, text, created_at FROM annotations \
     WHERE project_id = ?1 ORDER BY date, created_at, id";
pub(crate) const DELETE_ANNOTATION: &str = "DELETE FROM annotations WHERE id = ?1 AND project_id = ?2";

fn annotation_from(row: &Row<'_>) -> rusqlite::Result<Annotation> {
    let date: String = row.get(2)?;
    let text: String = row.get(3)?;
    Ok(Annotation {
        id: AnnotationId::from_bytes(id12(row, 0, "annotation id")?),
        project: ProjectId::from_bytes(id12(row, 1, "project id")?),
        date: NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| invalid(2, "date"))?,
        text: AnnotationText::parse(&text).map_err(|_| invalid(3, "text"))?,
        created_at: row.get(4)?,
    })
}

pub(crate) fn create(tx: &Transaction<'_>, note: &Annotation) -> Result<()> {
    tx.prepare_cached("INSERT INTO annotations (id, project_id, date, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
        .and_then(|mut s| {
            s.execute(params![
                note.id.bytes(),
                note.project.bytes(),
                note.date.format("%Y-%m-%d").to_string(),
                note.text.as_str(),
                note.created_at
            ])
        })
        .map_err(conflict_or_backend("annotation"))?;
    Ok(())
}

pub(crate) fn of_project(conn: &Connection, project: &ProjectId) -> Result<Vec<Annotation>> {
    conn.prepare_cached(SELECT_ANNOTATIONS_OF)
        .and_then(|mut s| s.query_map([project.bytes()], annotation_from)?.collect())
        .map_err(backend)
}

pub(crate) fn delete(tx: &Transaction<'_>, project: &ProjectId, id: &AnnotationId) -> Result<bool> {
    let n = tx
        .prepare_cached(DELETE_ANNOTATION)
        .and_then(|mut s| s.execute(params![id.bytes(), project.bytes()]))
        .map_err(backend)?;
    Ok(n > 0)
}
