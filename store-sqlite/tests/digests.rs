//! The in-memory digests against SQL: the conformance suite runs with digests on (the default),
//! these run the raw aggregations by SQL against the same brute force, and check that digests
//! follow every ingest, including the earlier hours of a session a late event changes.

use std::sync::Arc;

use async_trait::async_trait;
use contract::ids::ProjectId;
use store::analytics::{Field, FilterOp, RawQuery};
use store::conformance::Backend;
use store::sessions::testing::event;
use store::Store;
use store_sqlite::SqliteStore;
use tempfile::TempDir;

struct SqlOnly {
    store: Arc<SqliteStore>,
    dir: TempDir,
}

#[async_trait]
impl Backend for SqlOnly {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn twin(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open_in(self.dir.path()).expect("open twin"))
    }

    async fn create_old_shape_project(&self, _: ProjectId, _: store::UserId, _: &str, _: store::Millis) {
        unreachable!("not used by these tests")
    }
}

fn sql_only() -> SqlOnly {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in(dir.path()).expect("open store"));
    store.set_digests(false);
    SqlOnly { store, dir }
}

#[tokio::test]
async fn sql_event_aggregates_match_brute_force() {
    store::analytics_conformance::raw_event_aggregates_match_brute_force(&sql_only()).await;
}

#[tokio::test]
async fn sql_session_aggregates_match_brute_force() {
    store::analytics_conformance::raw_session_aggregates_match_brute_force(&sql_only()).await;
}

const HOUR: i64 = 3_600_000;
const MIN: i64 = 60_000;
/// 2026-11-02 10:00 UTC.
const T10: i64 = 1_793_613_600_000;

fn by_exit_page(project: ProjectId, filters: Vec<store::analytics::Filter>) -> RawQuery {
    RawQuery {
        filters,
        group: vec![Field::ExitPage],
        ..RawQuery::range(project, T10, T10 + 3 * HOUR)
    }
}

/// What both paths answer, digests first.
async fn both(
    store: &SqliteStore,
    q: &RawQuery,
) -> (Vec<store::analytics::EventGroup>, Vec<store::analytics::SessionGroup>) {
    store.set_digests(true);
    let events = store.aggregate_events(q).await.unwrap();
    let sessions = store.aggregate_sessions(q).await.unwrap();
    store.set_digests(false);
    assert_eq!(
        store.aggregate_events(q).await.unwrap(),
        events,
        "events: digests = SQL"
    );
    assert_eq!(
        store.aggregate_sessions(q).await.unwrap(),
        sessions,
        "sessions: digests = SQL"
    );
    store.set_digests(true);
    (events, sessions)
}

/// A visit from 10:50 to 12:05: its last page view changes the exit page of its earlier events,
/// at 11:15 and 11:40 in an hour that is neither the new event's nor the session's first. Their
/// digests must not survive it (nor their rollups: the same hours are marked).
#[tokio::test]
async fn digests_follow_a_late_event_into_the_earlier_hours_of_its_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let p = ProjectId::from_bytes([7; 12]);
    let q = by_exit_page(p, Vec::new());
    store
        .ingest(&[
            event(p, 1, "a1", "pageview", T10 + 50 * MIN, "/a"),
            event(p, 1, "a2", "pageview", T10 + 75 * MIN, "/a2"),
            event(p, 1, "a3", "pageview", T10 + 100 * MIN, "/b"),
        ])
        .await
        .unwrap();
    let (events, _) = both(&store, &q).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].keys.as_slice(), events[0].pageviews),
        (&["/b".to_owned()][..], 3)
    );
    assert!(store.digest_bytes() > 0, "the hours are kept");

    store
        .ingest(&[event(p, 1, "a4", "pageview", T10 + 125 * MIN, "/c")])
        .await
        .unwrap();
    let (events, sessions) = both(&store, &q).await;
    assert_eq!(events.len(), 1, "every event now exits on /c: {events:?}");
    assert_eq!(
        (events[0].keys.as_slice(), events[0].pageviews),
        (&["/c".to_owned()][..], 4)
    );
    assert_eq!((sessions.len(), sessions[0].visits, sessions[0].pageviews), (1, 1, 4));

    // A filter on an event's own field, with a value only the newest hour has.
    let only_c = by_exit_page(
        p,
        vec![store::analytics::Filter {
            op: FilterOp::Contains,
            field: Field::Page,
            values: vec!["c".into()],
        }],
    );
    let (events, sessions) = both(&store, &only_c).await;
    assert_eq!(events[0].pageviews, 1);
    assert!(sessions.is_empty(), "a session's page is its entry page, /a");
}

/// The retention sweep drops the digests of the hours it deleted.
#[tokio::test]
async fn digests_forget_what_retention_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let p = ProjectId::from_bytes([8; 12]);
    store
        .ingest(&[
            event(p, 1, "b1", "pageview", T10 + 10 * MIN, "/old"),
            event(p, 2, "b2", "pageview", T10 + 130 * MIN, "/new"),
        ])
        .await
        .unwrap();
    let q = by_exit_page(p, Vec::new());
    assert_eq!(both(&store, &q).await.0.len(), 2);
    let swept = store
        .delete_expired(&store::analytics::Retention {
            raw_before: T10 + HOUR,
            hourly_before: 0,
            daily_before: 0,
        })
        .await
        .unwrap();
    assert_eq!(swept.events, 1);
    let (events, _) = both(&store, &q).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].keys, vec!["/new".to_owned()]);
}

/// A visit of 26 hours (an event every 20 minutes): an event at its end is read with the session
/// that started more than a day before the hours read, looked up once (and kept for its other
/// events there).
#[tokio::test]
async fn an_event_of_a_session_from_the_day_before_gets_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let p = ProjectId::from_bytes([9; 12]);
    let events: Vec<_> = (0..=78)
        .map(|i| {
            event(
                p,
                3,
                &format!("c{i}"),
                "pageview",
                T10 + i * 20 * MIN,
                &format!("/p{i}"),
            )
        })
        .collect();
    for batch in events.chunks(10) {
        store.ingest(batch).await.unwrap();
    }
    let late = T10 + 26 * HOUR;
    let q = RawQuery {
        from: late - HOUR,
        to: late + HOUR,
        group: vec![Field::EntryPage, Field::ExitPage],
        ..by_exit_page(p, Vec::new())
    };
    let (events, sessions) = both(&store, &q).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].keys, vec!["/p0".to_owned(), "/p78".to_owned()]);
    assert_eq!(events[0].pageviews, 4, "at 25:00, 25:20, 25:40 and 26:00");
    assert!(sessions.is_empty(), "the session started the day before");
}

/// A project with one event in twenty between its first and last (in storage order) is read
/// through the time index, a dense one in storage order: both give what SQL gives.
#[tokio::test]
async fn sparse_and_dense_projects_read_the_same_as_sql() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let (sparse, dense) = (ProjectId::from_bytes([10; 12]), ProjectId::from_bytes([11; 12]));
    let events: Vec<_> = (0..400i64)
        .map(|i| {
            let p = if i % 20 == 0 { sparse } else { dense };
            let name = if i % 3 == 0 { "page_exit" } else { "pageview" };
            event(
                p,
                (i % 7) as u64,
                &format!("d{i}"),
                name,
                T10 + i * 20_000,
                &format!("/q{}", i % 5),
            )
        })
        .collect();
    for batch in events.chunks(25) {
        store.ingest(batch).await.unwrap();
    }
    for p in [sparse, dense] {
        let q = RawQuery {
            group: vec![Field::Page, Field::ExitPage],
            ..by_exit_page(p, Vec::new())
        };
        let (events, sessions) = both(&store, &q).await;
        let n: u64 = events.iter().map(|g| g.pageviews + g.exits).sum();
        assert_eq!(n, if p == sparse { 20 } else { 380 });
        assert!(!sessions.is_empty());
    }
}

/// Reading a project's daily rollups starts reading its digests in the background; a query
/// afterwards finds them held, and answers as SQL does.
#[tokio::test]
async fn a_dashboard_opening_reads_the_digests_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let p = ProjectId::from_bytes([12; 12]);
    let events: Vec<_> = (0..50i64)
        .map(|i| event(p, (i % 4) as u64, &format!("w{i}"), "pageview", T10 + i * 3 * MIN, "/w"))
        .collect();
    store.ingest(&events).await.unwrap();
    assert_eq!(store.digest_bytes(), 0);
    let warm = store
        .prefetch_digests(&p, T10 - 24 * HOUR, T10 + 3 * HOUR)
        .expect("started");
    assert!(
        store.prefetch_digests(&p, T10, T10 + HOUR).is_none(),
        "one warm-up per project at a time"
    );
    tokio::task::spawn_blocking(move || warm.join().unwrap()).await.unwrap();
    assert!(store.digest_bytes() > 0);
    assert_eq!(store.digest_hours_read(), 27);
    let (events, _) = both(&store, &by_exit_page(p, Vec::new())).await;
    assert_eq!(events[0].pageviews, 50);
    assert_eq!(store.digest_hours_read(), 27, "the query read no hour again");
}

/// Each group's first key and page views.
fn first_key_and_pageviews(groups: &[store::analytics::EventGroup]) -> Vec<(&str, u64)> {
    groups.iter().map(|g| (g.keys[0].as_str(), g.pageviews)).collect()
}

/// The kept digests (`hour_digests`) of `project`, by hour.
fn kept_hours(store: &SqliteStore, project: ProjectId) -> Vec<i64> {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT hour FROM hour_digests WHERE project_id = ?1 ORDER BY hour")
        .unwrap();
    stmt.query_map([project.bytes()], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// A visit from 10:40 to 11:05 and one at 12:10: three hours whose digests are kept.
async fn three_kept_hours(dir: &TempDir, p: ProjectId) -> (SqliteStore, RawQuery) {
    let store = SqliteStore::open_in(dir.path()).unwrap();
    store
        .ingest(&[
            event(p, 1, "k1", "pageview", T10 + 40 * MIN, "/a"),
            event(p, 1, "k2", "pageview", T10 + 65 * MIN, "/b"),
            event(p, 2, "k3", "pageview", T10 + 130 * MIN, "/c"),
        ])
        .await
        .unwrap();
    let q = by_exit_page(p, Vec::new());
    both(&store, &q).await;
    store.write_digests().unwrap();
    assert_eq!(kept_hours(&store, p), vec![T10, T10 + HOUR, T10 + 2 * HOUR]);
    (store, q)
}

/// After a restart the digests are read back from `hour_digests`, not from the rows, and answer
/// as SQL does; an ingest deletes the kept digest of every hour it touched, in its transaction.
#[tokio::test]
async fn kept_digests_come_back_after_a_restart_until_an_ingest_changes_their_hours() {
    let dir = tempfile::tempdir().unwrap();
    let p = ProjectId::from_bytes([13; 12]);
    let (store, q) = three_kept_hours(&dir, p).await;
    let before = both(&store, &q).await;
    drop(store);

    let store = SqliteStore::open_in(dir.path()).unwrap();
    assert_eq!(both(&store, &q).await, before);
    assert_eq!((store.digest_hours_read(), store.digest_hours_loaded()), (0, 3));

    // A late page view at 11:30 moves the first visit's exit page: its hours 10:00 and 11:00.
    store
        .ingest(&[event(p, 1, "k4", "pageview", T10 + 90 * MIN, "/d")])
        .await
        .unwrap();
    assert_eq!(kept_hours(&store, p), vec![T10 + 2 * HOUR]);
    drop(store);
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let (events, _) = both(&store, &q).await;
    assert_eq!(first_key_and_pageviews(&events), vec![("/c", 1), ("/d", 3)]);
    assert_eq!((store.digest_hours_read(), store.digest_hours_loaded()), (2, 1));
}

/// The sweep deletes the kept digests up to the end of the last session it deleted: an event
/// after the cut-off whose session went loses that session's fields.
#[tokio::test]
async fn the_retention_sweep_deletes_the_kept_digests_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let p = ProjectId::from_bytes([14; 12]);
    let (store, q) = three_kept_hours(&dir, p).await;
    store
        .delete_expired(&store::analytics::Retention {
            raw_before: T10 + HOUR,
            hourly_before: 0,
            daily_before: 0,
        })
        .await
        .unwrap();
    // The visit started at 10:40 and ended at 11:05: its 11:05 event is in the 11:00 hour.
    assert_eq!(kept_hours(&store, p), vec![T10 + 2 * HOUR]);
    drop(store);
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let (events, _) = both(&store, &q).await;
    assert_eq!(
        first_key_and_pageviews(&events),
        vec![("", 1), ("/c", 1)],
        "the 11:05 event lost its session"
    );
}

/// A kept digest that does not decode is read from the rows again, and replaced.
#[tokio::test]
async fn a_damaged_kept_digest_is_read_from_the_rows_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let p = ProjectId::from_bytes([15; 12]);
    let (store, q) = three_kept_hours(&dir, p).await;
    let before = both(&store, &q).await;
    let path = store.path().to_owned();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE hour_digests SET body = x'01ff' WHERE project_id = ?1 AND hour = ?2",
        rusqlite::params![p.bytes(), T10 + HOUR],
    )
    .unwrap();
    let store = SqliteStore::open_in(dir.path()).unwrap();
    assert_eq!(both(&store, &q).await, before);
    assert_eq!((store.digest_hours_read(), store.digest_hours_loaded()), (1, 2));
    store.write_digests().unwrap();
    let size: i64 = conn
        .query_row(
            "SELECT length(body) FROM hour_digests WHERE project_id = ?1 AND hour = ?2",
            rusqlite::params![p.bytes(), T10 + HOUR],
            |r| r.get(0),
        )
        .unwrap();
    assert!(size > 2, "replaced");
}

/// Deleting a project deletes its kept digests; an hour still receiving events is not kept.
#[tokio::test]
async fn kept_digests_go_with_their_project_and_wait_for_their_hour_to_settle() {
    let dir = tempfile::tempdir().unwrap();
    let p = ProjectId::from_bytes([16; 12]);
    let (store, _) = three_kept_hours(&dir, p).await;
    assert!(store.delete_project(&p).await.is_ok());
    assert!(kept_hours(&store, p).is_empty());

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let q = RawQuery {
        group: vec![Field::Page],
        ..RawQuery::range(p, now - 4 * HOUR, now)
    };
    store
        .ingest(&[
            event(p, 3, "n1", "pageview", now - 4 * HOUR + MIN, "/then"),
            event(p, 4, "n2", "pageview", now - MIN, "/now"),
        ])
        .await
        .unwrap();
    both(&store, &q).await;
    store.write_digests().unwrap();
    let kept = kept_hours(&store, p);
    let settled = now - 3 * HOUR;
    assert!(!kept.is_empty() && kept.iter().all(|&h| h <= settled), "{kept:?}");
}

#[tokio::test]
async fn sql_goal_aggregates_match_brute_force() {
    store::goals_conformance::raw_goal_aggregates_match_brute_force(&sql_only()).await;
}

/// When the store opens, it reads the kept digests of recent days back by itself: the first
/// query finds them in memory. (The test's hours are in the past; this reads those of the last
/// 31 days, so it keeps a visit from an hour ago.)
#[tokio::test]
async fn the_store_reads_recent_kept_digests_back_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let p = ProjectId::from_bytes([17; 12]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let first = now / HOUR * HOUR - 5 * HOUR;
    let store = SqliteStore::open_in(dir.path()).unwrap();
    store
        .ingest(&[event(p, 1, "s1", "pageview", first + MIN, "/a")])
        .await
        .unwrap();
    let q = RawQuery {
        group: vec![Field::Page],
        ..RawQuery::range(p, first, first + 2 * HOUR)
    };
    let before = both(&store, &q).await;
    store.write_digests().unwrap();
    assert_eq!(kept_hours(&store, p), vec![first, first + HOUR]);
    drop(store);

    let store = SqliteStore::open_in(dir.path()).unwrap();
    for _ in 0..200 {
        if store.digest_hours_loaded() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(store.digest_hours_loaded(), 2, "read back without a query");
    assert_eq!(both(&store, &q).await, before);
    assert_eq!((store.digest_hours_read(), store.digest_hours_loaded()), (0, 2));
}
