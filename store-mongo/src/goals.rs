//! The `goals` collection: a project's conversion goals, one document each: `_id` (ObjectId),
//! `projectId`, `kind` (`event` or `page`), `value` (the event name or the page pattern) and
//! `createdAt`. `{projectId, kind, value}` unique is the "same goal twice" rule (a `Conflict`);
//! `{projectId, createdAt}` lists a project's goals oldest first.

use contract::ids::ProjectId;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use store::{Goal, GoalId, GoalKind, Result, StoreError};

use crate::codec::{date, oid};
use crate::{backend, MongoStore};

/// Name of the collection.
pub(crate) const GOALS: &str = "goals";

#[derive(Debug, thiserror::Error)]
#[error("malformed goals document: {0}")]
struct BadGoal(String);

fn collection(db: &Database) -> Collection<Document> {
    db.collection(GOALS)
}

/// Creates the collection's indexes (idempotent, like every index of the store).
pub(crate) async fn create_indexes(db: &Database) -> Result<()> {
    let unique = IndexOptions::builder().unique(true).build();
    let models = vec![
        IndexModel::builder()
            .keys(doc! { "projectId": 1, "kind": 1, "value": 1 })
            .options(unique)
            .build(),
        IndexModel::builder()
            .keys(doc! { "projectId": 1, "createdAt": 1 })
            .build(),
    ];
    collection(db).create_indexes(models).await.map_err(backend)?;
    Ok(())
}

fn goal_doc(goal: &Goal) -> Document {
    let (kind, value) = match &goal.kind {
        GoalKind::Event(name) => ("event", name.as_str()),
        GoalKind::Page(pattern) => ("page", pattern.as_str()),
    };
    doc! {
        "_id": oid(goal.id.bytes()),
        "projectId": oid(goal.project.bytes()),
        "kind": kind,
        "value": value,
        "createdAt": date(goal.created_at),
    }
}

fn goal_from(d: &Document) -> Result<Goal> {
    let bad = |what: &str| StoreError::backend(BadGoal(format!("{what} in {d}")));
    let id = d.get_object_id("_id").map_err(|_| bad("_id"))?;
    let project = d.get_object_id("projectId").map_err(|_| bad("projectId"))?;
    let value = d.get_str("value").map_err(|_| bad("value"))?;
    let kind = match d.get_str("kind").map_err(|_| bad("kind"))? {
        "event" => GoalKind::event(value).map_err(|_| bad("event name"))?,
        "page" => GoalKind::page(value).map_err(|_| bad("page pattern"))?,
        _ => return Err(bad("kind")),
    };
    let created_at = match d.get("createdAt") {
        Some(Bson::DateTime(t)) => t.timestamp_millis(),
        _ => return Err(bad("createdAt")),
    };
    Ok(Goal {
        id: GoalId::from_bytes(id.bytes()),
        project: ProjectId::from_bytes(project.bytes()),
        kind,
        created_at,
    })
}

impl MongoStore {
    pub(crate) async fn create_goal_impl(&self, goal: &Goal) -> Result<()> {
        self.insert_unique(&collection(&self.db), goal_doc(goal), "goal").await
    }

    pub(crate) async fn goals_of_impl(&self, project: &ProjectId) -> Result<Vec<Goal>> {
        use futures_util::TryStreamExt;
        let docs: Vec<Document> = collection(&self.db)
            .find(doc! { "projectId": oid(project.bytes()) })
            .sort(doc! { "createdAt": 1, "_id": 1 })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter().map(goal_from).collect()
    }

    pub(crate) async fn delete_goal_impl(&self, project: &ProjectId, id: &GoalId) -> Result<bool> {
        let result = collection(&self.db)
            .delete_one(doc! { "_id": oid(id.bytes()), "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(result.deleted_count == 1)
    }

    /// Deletes every goal of a project (part of deleting the project).
    pub(crate) async fn delete_goals_of(&self, project: &ProjectId) -> Result<()> {
        collection(&self.db)
            .delete_many(doc! { "projectId": oid(project.bytes()) })
            .await
            .map_err(backend)?;
        Ok(())
    }
}
