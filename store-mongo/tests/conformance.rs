//! The backend-independent conformance suite, plus MongoDB-specific checks, against the test
//! server (`store_mongo::testing`).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use contract::ids::ProjectId;
use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{doc, DateTime, Document};
use store::conformance::Backend;
use store::{Millis, Store, UserId};
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

    /// A document without `domain` and `timezone`, as builds before them wrote.
    async fn create_old_shape_project(&self, id: ProjectId, owner: UserId, name: &str, created_at: Millis) {
        self.store
            .database()
            .collection::<Document>("projects")
            .insert_one(doc! {
                "_id": ObjectId::from_bytes(id.bytes()),
                "ownerUserId": ObjectId::from_bytes(owner.bytes()),
                "name": name,
                "createdAt": DateTime::from_millis(created_at),
            })
            .await
            .expect("insert a project of the old shape");
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
            "share_links",
            &[
                (doc! { "slug": 1 }, true),
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
            &[
                (doc! { "projectId": 1, "sessions.start": 1 }, false),
                (doc! { "projectId": 1, "sessions.id": 1 }, false),
            ],
        ),
        (
            "goals",
            &[
                (doc! { "projectId": 1, "kind": 1, "value": 1 }, true),
                (doc! { "projectId": 1, "createdAt": 1 }, false),
            ],
        ),
        ("saved_funnels", &[(doc! { "projectId": 1, "createdAt": 1 }, false)]),
        ("segments", &[(doc! { "projectId": 1, "createdAt": 1 }, false)]),
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

/// `first_event_at` runs on every "all time" dashboard query: it must read one key of the
/// (project, time) index and no event, however many events the project has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_event_is_one_index_key_and_no_document() {
    use store::sessions::testing::event;
    let m = mongo().await;
    let p = ProjectId::from_bytes([1; 12]);
    let events: Vec<_> = (0..200_i64)
        .map(|i| {
            event(
                p,
                i as u64 % 7,
                &format!("e{i}"),
                "pageview",
                1_763_683_200_000 - i * 1_000,
                "/",
            )
        })
        .collect();
    m.store.ingest(&events).await.unwrap();
    assert_eq!(
        m.store.first_event_at(&p).await.unwrap(),
        Some(1_763_683_200_000 - 199_000)
    );
    let explain = doc! {
        "explain": store_mongo::analytics::first_event_command(&p),
        "verbosity": "executionStats",
    };
    let reply = m.store.database().run_command(explain).await.unwrap();
    let stats = reply.get_document("executionStats").unwrap();
    let number = |key: &str| match stats.get(key) {
        Some(mongodb::bson::Bson::Int32(n)) => i64::from(*n),
        Some(mongodb::bson::Bson::Int64(n)) => *n,
        other => panic!("{key}: {other:?} in {stats}"),
    };
    assert_eq!(number("totalDocsExamined"), 0, "{reply}");
    assert_eq!(number("totalKeysExamined"), 1, "{reply}");
    assert!(
        reply.to_string().contains("projectId_1_occurredAt_-1"),
        "the (project, time) index: {reply}"
    );
}

/// Another collector process's rollup cache hears nothing of a deleted project: the bucket
/// revisions its rows were cached under are gone, so it reads the (deleted) rows again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_serves_no_cached_rollup_of_a_deleted_project() {
    use store::analytics::{rollup, Granularity, RollupDim};
    use store::sessions::testing::event;
    const T0: Millis = 1_763_683_200_000;
    let m = mongo().await;
    let other = MongoStore::connect(TestServer::shared().uri(), Some(&m.db))
        .await
        .unwrap();
    let p = ProjectId::from_bytes([4; 12]);
    let events = vec![
        event(p, 1, "a", "pageview", T0, "/"),
        event(p, 2, "b", "pageview", T0 + 1, "/x"),
    ];
    m.store.ingest(&events).await.unwrap();
    let sessions = m.store.sessions(&p, T0, T0 + 3_600_000).await.unwrap();
    let rows = rollup::build(&events, &sessions, T0, T0 + 3_600_000);
    m.store.replace_rollups(&p, Granularity::Hour, T0, &rows).await.unwrap();
    let read = || async {
        other
            .rollups(&p, Granularity::Hour, T0, T0 + 3_600_000, Some(&RollupDim::Total))
            .await
            .unwrap()
    };
    // Twice: the second read is served from the other process's cache.
    assert_eq!(read().await.len(), 1);
    assert_eq!(read().await.len(), 1);
    assert!(other.rollup_cache_stats().hits > 0, "{:?}", other.rollup_cache_stats());
    m.store.delete_project(&p).await.unwrap();
    assert_eq!(read().await, vec![]);
}

/// "Stored" means journaled by a majority unless the connection string says otherwise, and the
/// commands built by hand carry the same concern as the driver's own writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_wait_for_a_journaled_majority_unless_the_uri_sets_a_write_concern() {
    let server = TestServer::shared();
    let store = MongoStore::connect(server.uri(), Some(&fresh_db_name())).await.unwrap();
    assert_eq!(
        store.write_concern(),
        &doc! {"w": "majority", "j": true, "wtimeout": 10_000_i64}
    );
    let uri = server.uri().replacen("/?", "/?w=1&", 1);
    let store = MongoStore::connect(&uri, Some(&fresh_db_name())).await.unwrap();
    assert_eq!(store.write_concern(), &doc! {"w": 1_i64});
}
