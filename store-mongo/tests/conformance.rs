//! The backend-independent conformance suite, plus MongoDB-specific checks, against the test
//! server (`store_mongo::testing`).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};
use store::conformance::Backend;
use store::Store;
use store_mongo::testing::{fresh_db_name, TestServer};
use store_mongo::MongoStore;

struct Mongo {
    store: Arc<MongoStore>,
    db: String,
}

#[async_trait]
impl Backend for Mongo {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// A new `Client` (own pool, own connections) on the same database: what a second collector
    /// process would have.
    async fn twin(&self) -> Arc<dyn Store> {
        Arc::new(
            MongoStore::connect(TestServer::shared().uri(), Some(&self.db))
                .await
                .expect("connect the twin"),
        )
    }
}

async fn mongo() -> Mongo {
    let server = TestServer::shared();
    server.check_alive();
    let db = fresh_db_name();
    let store = MongoStore::connect(server.uri(), Some(&db))
        .await
        .expect("connect to the test server");
    Mongo {
        store: Arc::new(store),
        db,
    }
}

store::conformance_tests!(mongo());

/// Key patterns of a collection's indexes, with whether each is unique.
async fn indexes(store: &MongoStore, collection: &str) -> BTreeSet<(String, bool)> {
    let models: Vec<mongodb::IndexModel> = store
        .database()
        .collection::<Document>(collection)
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    models
        .into_iter()
        .map(|m| {
            let unique = m.options.as_ref().and_then(|o| o.unique).unwrap_or(false);
            (m.keys.to_string(), unique)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_exist_and_creating_them_again_is_harmless() {
    let m = mongo().await;
    // Start-up on an existing database must not fail or duplicate anything.
    m.store.create_indexes().await.unwrap();
    let again = MongoStore::connect(TestServer::shared().uri(), Some(&m.db))
        .await
        .unwrap();
    let expected: &[(&str, &[(Document, bool)])] = &[
        ("users", &[(doc! { "email": 1 }, true)]),
        (
            "auth_tokens",
            &[(doc! { "userId": 1 }, false), (doc! { "expiresAt": 1 }, false)],
        ),
        (
            "projects",
            &[
                (doc! { "createdAt": -1 }, false),
                (doc! { "ownerUserId": 1, "createdAt": -1 }, false),
            ],
        ),
        (
            "api_keys",
            &[
                (doc! { "keyHash": 1 }, true),
                (doc! { "projectId": 1, "createdAt": -1 }, false),
            ],
        ),
        (
            "events",
            &[
                (doc! { "projectId": 1, "occurredAt": -1 }, false),
                (doc! { "projectId": 1, "name": 1, "occurredAt": -1 }, false),
            ],
        ),
        (
            "visitor_sessions",
            &[(doc! { "projectId": 1, "sessions.start": 1 }, false)],
        ),
        (
            "rollups",
            &[
                (doc! { "projectId": 1, "g": 1, "d": 1, "b": 1 }, false),
                (doc! { "projectId": 1, "g": 1, "b": 1 }, false),
            ],
        ),
        ("rollup_dirty", &[(doc! { "hour": 1 }, false)]),
    ];
    for (collection, wanted) in expected {
        let found = indexes(&again, collection).await;
        for (keys, unique) in *wanted {
            assert!(
                found.contains(&(keys.to_string(), *unique)),
                "{collection}: no index {keys} (unique: {unique}) in {found:?}"
            );
        }
        // _id plus exactly ours: nothing created twice under another name.
        assert_eq!(found.len(), wanted.len() + 1, "{collection}: {found:?}");
    }
    // The TTL index really is one (expired login tokens are deleted by the server).
    let tokens: Vec<mongodb::IndexModel> = again
        .database()
        .collection::<Document>("auth_tokens")
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let ttl = tokens
        .iter()
        .find(|m| m.keys == doc! { "expiresAt": 1 })
        .and_then(|m| m.options.as_ref()?.expire_after);
    assert_eq!(ttl, Some(std::time::Duration::ZERO));
}
