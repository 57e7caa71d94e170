//! The `segments` collection: the dashboard's saved sets of filters, one document each: `_id`
//! (ObjectId), `projectId`, `name`, `filters` (an array of `[operator, dimension, [values]]`
//! arrays, as the query API takes them) and `createdAt`. `{projectId, createdAt}` lists a
//! project's segments oldest first.

use contract::ids::ProjectId;
use mongodb::bson::{doc, Bson, Document};
use mongodb::{Collection, Database, IndexModel};
use store::{Name, Result, Segment, SegmentFilter, SegmentFilters, SegmentId, StoreError};

use crate::codec::{date, oid};
use crate::{backend, MongoStore};

/// Name of the collection.
pub(crate) const SEGMENTS: &str = "segments";

#[derive(Debug, thiserror::Error)]
#[error("malformed segments document: {0}")]
struct BadSegment(String);

fn collection(db: &Database) -> Collection<Document> {
    db.collection(SEGMENTS)
}

/// Creates the collection's index (idempotent, like every index of the store).
pub(crate) async fn create_indexes(db: &Database) -> Result<()> {
    let model = IndexModel::builder()
        .keys(doc! { "projectId": 1, "createdAt": 1 })
        .build();
    collection(db).create_index(model).await.map_err(backend)?;
    Ok(())
}

fn segment_doc(segment: &Segment) -> Result<Document> {
    let filters = mongodb::bson::to_bson(segment.filters.as_slice()).map_err(StoreError::backend)?;
    Ok(doc! {
        "_id": oid(segment.id.bytes()),
        "projectId": oid(segment.project.bytes()),
        "name": segment.name.as_str(),
        "filters": filters,
        "createdAt": date(segment.created_at),
    })
}

fn segment_from(d: &Document) -> Result<Segment> {
    let bad = |what: &str| StoreError::backend(BadSegment(format!("{what} in {d}")));
    let id = d.get_object_id("_id").map_err(|_| bad("_id"))?;
    let project = d.get_object_id("projectId").map_err(|_| bad("projectId"))?;
    let name = d.get_str("name").map_err(|_| bad("name"))?;
    let filters: Vec<SegmentFilter> =
        mongodb::bson::from_bson(d.get("filters").cloned().unwrap_or(Bson::Null)).map_err(|_| bad("filters"))?;
    let created_at = match d.get("createdAt") {
        Some(Bson::DateTime(t)) => t.timestamp_millis(),
        _ => return Err(bad("createdAt")),
    };
    Ok(Segment {
        id: SegmentId::from_bytes(id.bytes()),
        project: ProjectId::from_bytes(project.bytes()),
        name: Name::parse(name).map_err(|_| bad("name"))?,
        filters: SegmentFilters::new(filters).map_err(|_| bad("filters"))?,
        created_at,
    })
}

impl MongoStore {
    pub(crate) async fn create_segment_impl(&self, segment: &Segment) -> Result<()> {
        self.insert_unique(&collection(&self.db), segment_doc(segment)?, "segment")
            .await
    }

    pub(crate) async fn segments_of_impl(&self, project: &ProjectId) -> Result<Vec<Segment>> {
        use futures_util::TryStreamExt;
        let docs: Vec<Document> = collection(&self.db)
            .find(doc! { "projectId": oid(project.bytes()) })
            .sort(doc! { "createdAt": 1, "_id": 1 })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter().map(segment_from).collect()
    }

    pub(crate) async fn delete_segment_impl(&self, project: &ProjectId, id: &SegmentId) -> Result<bool> {
        let result = collection(&self.db)
            .delete_one(doc! { "_id": oid(id.bytes()), "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(result.deleted_count == 1)
    }

    /// Deletes every segment of a project (part of deleting the project).
    pub(crate) async fn delete_segments_of(&self, project: &ProjectId) -> Result<()> {
        collection(&self.db)
            .delete_many(doc! { "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(())
    }
}
