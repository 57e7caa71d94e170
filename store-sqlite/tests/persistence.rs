//! What only an on-disk backend has to show: data outlives the process that wrote it, and the
//! schema is versioned.

use std::collections::BTreeMap;

use contract::enrich::VisitorId;
use contract::ids::ProjectId;
use store::sessions::testing::event;
use store::{ids, Email, IngestReport, Name, Project, Store, TimeZoneName, User, UserId};
use store_sqlite::{SqliteStore, FILE_NAME};

const T0: i64 = 1_763_683_200_000;
const MIN: i64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let ada = User {
        id: UserId::new(T0),
        email: Email::parse("ada@example.com").unwrap(),
        password_hash: "$argon2id$x".into(),
        created_at: T0,
    };
    let blog = Project {
        id: ids::new_project_id(T0),
        owner: ada.id,
        name: Name::parse("Blog").unwrap(),
        domain: None,
        timezone: TimeZoneName::utc(),
        created_at: T0,
    };
    let mut rich = event(blog.id, u64::MAX, "late", "signup", T0 + 2 * MIN, "/x");
    rich.props = BTreeMap::from([("k".to_owned(), "v \"quoted\" ü".to_owned())]);
    rich.duration_ms = Some(u64::MAX);
    let events = vec![event(blog.id, u64::MAX, "first", "pageview", T0, "/"), rich];
    let (sessions_before, day_salt) = {
        let s = SqliteStore::open_in(&data_dir).unwrap();
        assert_eq!(s.path(), data_dir.join(FILE_NAME));
        s.create_user(&ada).await.unwrap();
        s.create_project(&blog).await.unwrap();
        assert_eq!(
            s.ingest(&events).await.unwrap(),
            IngestReport {
                stored: 2,
                duplicates: 0
            }
        );
        let salt = s.salt_for_day(1, [7; 32]).await.unwrap();
        (s.sessions(&blog.id, T0, T0 + 60 * MIN).await.unwrap(), salt)
        // Dropped here: every connection closes and WAL is checkpointed into the file.
    };
    assert_eq!(sessions_before.len(), 1);
    assert_eq!(sessions_before[0].visitor_id, VisitorId(u64::MAX));

    let s = SqliteStore::open_in(&data_dir).unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 10);
    assert_eq!(s.user_by_email(&ada.email).await.unwrap(), Some(ada.clone()));
    assert_eq!(s.projects_of(&ada.id).await.unwrap(), vec![blog.clone()]);
    assert_eq!(s.events(&blog.id, T0, T0 + 60 * MIN).await.unwrap(), events);
    assert_eq!(s.sessions(&blog.id, T0, T0 + 60 * MIN).await.unwrap(), sessions_before);
    assert_eq!(s.salt_for_day(1, [9; 32]).await.unwrap(), day_salt);
    // Still idempotent after a restart: a retry of the batch stores nothing and changes nothing.
    assert_eq!(
        s.ingest(&events).await.unwrap(),
        IngestReport {
            stored: 0,
            duplicates: 2
        }
    );
    assert_eq!(s.sessions(&blog.id, T0, T0 + 60 * MIN).await.unwrap(), sessions_before);
}

#[tokio::test]
async fn ties_between_visitors_are_ordered_as_unsigned_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_in(dir.path()).unwrap();
    let p = ProjectId::from_bytes([3; 12]);
    let high = 1u64 << 63;
    s.ingest(&[
        event(p, high, "h", "pageview", T0, "/"),
        event(p, 5, "l", "pageview", T0, "/"),
    ])
    .await
    .unwrap();
    let visitors: Vec<VisitorId> = s
        .sessions(&p, T0, T0 + 1)
        .await
        .unwrap()
        .iter()
        .map(|s| s.visitor_id)
        .collect();
    assert_eq!(visitors, vec![VisitorId(5), VisitorId(high)]);
}

#[tokio::test]
async fn a_file_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.sqlite3");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(SqliteStore::open(&path).is_err());
}

/// Migration 3 gives the rollup rows of an older file their visitor counts, from their sketches.
/// (A version-3 file's projects are checked in the crate's unit tests, on a file made by the
/// shipped migrations.)
#[tokio::test]
async fn migrating_to_version_3_counts_the_visitors_of_existing_rollups() {
    use store::analytics::{Counters, Granularity, RollupDim, RollupRow, Sketch};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite3");
    let project = ProjectId::parse("65f0a1b2c3d4e5f601234567").unwrap();
    let row = |value: &str, visitors: u64| {
        let mut sketch = Sketch::new();
        (0..visitors).for_each(|v| sketch.insert(v));
        RollupRow {
            dim: RollupDim::Total,
            value: value.into(),
            counters: Counters::default(),
            visitors: sketch,
        }
    };
    let rows = [row("exact", 700), row("dense", 5_000), row("none", 0)];
    {
        let s = SqliteStore::open(&path).unwrap();
        s.replace_rollups(&project, Granularity::Day, T0, &rows).await.unwrap();
    }
    // Back to what a version-2 file holds: versions 10 to 4 undone, then version 3.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DROP TABLE segments; DROP TABLE annotations; DROP TABLE hour_digests; \
             DROP TRIGGER session_spans_insert; DROP TRIGGER session_spans_start; DROP TABLE session_spans; \
             DROP TRIGGER session_trails_delete; DROP TABLE session_trails; \
             DROP TABLE saved_funnels; DROP TABLE goals; \
             DROP TABLE share_links; DROP INDEX auth_tokens_user_created; \
             CREATE INDEX auth_tokens_user ON auth_tokens (user_id); \
             ALTER TABLE projects DROP COLUMN domain; ALTER TABLE projects DROP COLUMN timezone; \
             DROP INDEX rollups_summary; ALTER TABLE rollups DROP COLUMN visitor_count; \
             ALTER TABLE rollups DROP COLUMN visitors_exact; PRAGMA user_version = 2;",
        )
        .unwrap();
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 10, "and on to the newest");
    let mut got = s
        .rollup_summaries(&project, Granularity::Day, T0, T0 + 1, &RollupDim::Total)
        .await
        .unwrap();
    got.sort_by(|a, b| a.value.cmp(&b.value));
    let counts: Vec<(&str, u64, bool)> = got
        .iter()
        .map(|r| (r.value.as_str(), r.visitors, r.visitors_exact))
        .collect();
    assert_eq!(
        counts,
        [
            ("dense", rows[1].visitors.estimate(), false),
            ("exact", 700, true),
            ("none", 0, true)
        ]
    );
}

/// Migration 7 gives the sessions of an older file their trails, as folding would have, and
/// bounds on where each day's sessions lie; funnels and journeys then read them.
#[tokio::test]
async fn migrating_to_version_7_fills_the_trails_of_existing_sessions() {
    use store::analytics::funnel::{CustomEventName, FunnelQuery, FunnelStep, FunnelSteps};
    use store::analytics::PagePattern;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.sqlite3");
    let (a, b) = (
        ProjectId::parse("65f0a1b2c3d4e5f601234567").unwrap(),
        ProjectId::parse("65f0a1b2c3d4e5f601234568").unwrap(),
    );
    let mut events = Vec::new();
    for (p, visitor) in [(a, 1), (a, 2), (b, 1)] {
        let at = |m: i64| T0 + m * MIN + visitor as i64;
        events.extend([
            event(p, visitor, &format!("v{visitor}{p}1"), "pageview", at(0), "/"),
            event(p, visitor, &format!("v{visitor}{p}2"), "page_exit", at(1), "/"),
            event(p, visitor, &format!("v{visitor}{p}3"), "path_change", at(1), "/pricing"),
            event(p, visitor, &format!("v{visitor}{p}4"), "signup", at(2), "/pricing"),
            // 40 minutes later: a second session.
            event(p, visitor, &format!("v{visitor}{p}5"), "pageview", at(42), "/docs"),
        ]);
    }
    let before = {
        let s = SqliteStore::open(&path).unwrap();
        s.ingest(&events).await.unwrap();
        let mut all = s.sessions(&a, T0, T0 + 60 * MIN).await.unwrap();
        all.extend(s.sessions(&b, T0, T0 + 60 * MIN).await.unwrap());
        all
    };
    assert_eq!(before.len(), 6);
    assert_eq!(before[0].trail.len(), 3, "{:?}", before[0].trail);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DROP TABLE segments; DROP TABLE annotations; DROP TABLE hour_digests; \
             DROP TRIGGER session_spans_insert; DROP TRIGGER session_spans_start; DROP TABLE session_spans; \
             DROP TRIGGER session_trails_delete; DROP TABLE session_trails; PRAGMA user_version = 6;",
        )
        .unwrap();
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 10);
    let mut after = s.sessions(&a, T0, T0 + 60 * MIN).await.unwrap();
    after.extend(s.sessions(&b, T0, T0 + 60 * MIN).await.unwrap());
    assert_eq!(after, before);
    let q = FunnelQuery {
        project: a,
        from: T0,
        to: T0 + 60 * MIN,
        filters: vec![],
        steps: FunnelSteps::new(vec![
            FunnelStep::Page(PagePattern::parse("/").unwrap()),
            FunnelStep::Page(PagePattern::parse("/pri*").unwrap()),
            FunnelStep::Event(CustomEventName::parse("signup").unwrap()),
        ])
        .unwrap(),
    };
    let counts = s.funnel(&q).await.unwrap();
    let visitors: Vec<u64> = counts.steps.iter().map(|c| c.visitors).collect();
    assert_eq!(visitors, vec![2, 2, 2]);
    assert_eq!(counts.steps[1].median_ms_from_previous, Some(MIN as u64));
}
