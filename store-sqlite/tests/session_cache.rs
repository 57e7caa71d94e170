//! The session cache (`store_sqlite::session_cache`) never folds into sessions the file no longer
//! holds: not after another handle on the file wrote them, nor after the retention sweep.

use contract::ids::ProjectId;
use store::analytics::Retention;
use store::sessions::testing::event;
use store::Store;
use store_sqlite::session_cache::SessionCacheStats;
use store_sqlite::SqliteStore;

const T0: i64 = 1_763_683_200_000;
const MIN: i64 = 60_000;

fn project() -> ProjectId {
    ProjectId::from_bytes([4; 12])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_continued_by_another_handle_on_the_file_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (
        SqliteStore::open_in(dir.path()).unwrap(),
        SqliteStore::open_in(dir.path()).unwrap(),
    );
    let visit = |n: i64, path: &str| event(project(), 9, &format!("v{n}"), "pageview", T0 + n * MIN, path);

    first.ingest(&[visit(0, "/")]).await.unwrap();
    // The same visit goes on through another process on the same file.
    second.ingest(&[visit(1, "/pricing")]).await.unwrap();
    first.ingest(&[visit(2, "/signup")]).await.unwrap();

    let sessions = first.sessions(&project(), T0 - MIN, T0 + 60 * MIN).await.unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let s = &sessions[0];
    assert_eq!((s.pageviews, s.events), (3, 3), "the second handle's page view is kept");
    assert_eq!((s.entry_page.as_str(), s.exit_page.as_str()), ("/", "/signup"));
    // Both of the first handle's batches read the visitor from the file: the second saw the other
    // handle's commit and did not trust what it had cached.
    assert_eq!(
        first.session_cache_stats(),
        SessionCacheStats {
            hits: 0,
            misses: 2,
            visitors: 1,
            bytes: first.session_cache_stats().bytes
        }
    );

    // Alone on the file, the next batches of the visit come from the cache.
    first.ingest(&[visit(3, "/docs")]).await.unwrap();
    first.ingest(&[visit(4, "/docs/api")]).await.unwrap();
    assert_eq!(first.session_cache_stats().hits, 2);
    let sessions = second.sessions(&project(), T0 - MIN, T0 + 60 * MIN).await.unwrap();
    assert_eq!((sessions.len(), sessions[0].pageviews), (1, 5));
    assert_eq!(sessions[0].exit_page, "/docs/api");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_swept_by_retention_is_not_folded_into() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let visit = |n: i64, path: &str| event(project(), 9, &format!("v{n}"), "pageview", T0 + n * MIN, path);

    store.ingest(&[visit(0, "/")]).await.unwrap();
    let expired = store
        .delete_expired(&Retention {
            raw_before: T0 + 1,
            hourly_before: 0,
            daily_before: 0,
        })
        .await
        .unwrap();
    assert_eq!((expired.events, expired.sessions), (1, 1));
    // Within 30 minutes of the swept event: a cache that still held its session would continue
    // (and rewrite) it.
    store.ingest(&[visit(5, "/pricing")]).await.unwrap();

    let sessions = store.sessions(&project(), T0 - 60 * MIN, T0 + 60 * MIN).await.unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!((sessions[0].start, sessions[0].events), (T0 + 5 * MIN, 1));
    assert_eq!(sessions[0].entry_page, "/pricing");
}
