//! The `annotations` collection: owners' notes on dates of a site's graph, one document each:
//! `_id` (ObjectId), `projectId`, `date` (the local date as ISO text, which sorts as the dates
//! do), `text` and `createdAt`. `{projectId, date, createdAt}` lists a project's notes in order.

use chrono::NaiveDate;
use contract::ids::ProjectId;
use mongodb::bson::{doc, Bson, Document};
use mongodb::{Collection, Database, IndexModel};
use store::{Annotation, AnnotationId, AnnotationText, Result, StoreError};

use crate::codec::{date, oid};
use crate::{backend, MongoStore};

/// Name of the collection.
pub(crate) const ANNOTATIONS: &str = "annotations";

#[derive(Debug, thiserror::Error)]
#[error("malformed annotations document: {0}")]
struct BadAnnotation(String);

fn collection(db: &Database) -> Collection<Document> {
    db.collection(ANNOTATIONS)
}

/// Creates the collection's index (idempotent, like every index of the store).
pub(crate) async fn create_indexes(db: &Database) -> Result<()> {
    let model = IndexModel::builder()
        .keys(doc! { "projectId": 1, "date": 1, "createdAt": 1 })
        .build();
    collection(db).create_index(model).await.map_err(backend)?;
    Ok(())
}

fn annotation_doc(note: &Annotation) -> Document {
    doc! {
        "_id": oid(note.id.bytes()),
        "projectId": oid(note.project.bytes()),
        "date": note.date.format("%Y-%m-%d").to_string(),
        "text": note.text.as_str(),
        "createdAt": date(note.created_at),
    }
}

fn annotation_from(d: &Document) -> Result<Annotation> {
    let bad = |what: &str| StoreError::backend(BadAnnotation(format!("{what} in {d}")));
    let id = d.get_object_id("_id").map_err(|_| bad("_id"))?;
    let project = d.get_object_id("projectId").map_err(|_| bad("projectId"))?;
    let day = d.get_str("date").map_err(|_| bad("date"))?;
    let text = d.get_str("text").map_err(|_| bad("text"))?;
    let created_at = match d.get("createdAt") {
        Some(Bson::DateTime(t)) => t.timestamp_millis(),
        _ => return Err(bad("createdAt")),
    };
    Ok(Annotation {
        id: AnnotationId::from_bytes(id.bytes()),
        project: ProjectId::from_bytes(project.bytes()),
        date: NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad("date"))?,
        text: AnnotationText::parse(text).map_err(|_| bad("text"))?,
        created_at,
    })
}

impl MongoStore {
    pub(crate) async fn create_annotation_impl(&self, note: &Annotation) -> Result<()> {
        self.insert_unique(&collection(&self.db), annotation_doc(note), "annotation")
            .await
    }

    pub(crate) async fn annotations_of_impl(&self, project: &ProjectId) -> Result<Vec<Annotation>> {
        use futures_util::TryStreamExt;
        let docs: Vec<Document> = collection(&self.db)
            .find(doc! { "projectId": oid(project.bytes()) })
            .sort(doc! { "date": 1, "createdAt": 1, "_id": 1 })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter().map(annotation_from).collect()
    }

    pub(crate) async fn delete_annotation_impl(&self, project: &ProjectId, id: &AnnotationId) -> Result<bool> {
        let result = collection(&self.db)
            .delete_one(doc! { "_id": oid(id.bytes()), "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(result.deleted_count == 1)
    }

    /// Deletes every note of a project (part of deleting the project).
    pub(crate) async fn delete_annotations_of(&self, project: &ProjectId) -> Result<()> {
        collection(&self.db)
            .delete_many(doc! { "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(())
    }
}
