//! The behaviour every [`Store`] backend must have, as tests. A backend runs them all with
//! [`conformance_tests!`](crate::conformance_tests):
//!
//! ```ignore
//! store::conformance_tests!(my_backend());   // an async fn returning impl Backend
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use contract::enrich::{ClientInfo, Device, Utm, VisitorId};
use contract::enriched::{EnrichedEvent, Geo};
use contract::ids::ProjectId;
use contract::keys::{ApiKey, KeyPreview};

use crate::analytics::rollup::{self, DirtyHour, Granularity, RollupDim, StoredRollup, DAY_MS, HOUR_MS};
use crate::sessions::{fold, testing::event, Session};
use crate::*;

/// A fresh, empty store of one backend, kept alive (with whatever server or folder it needs) for
/// as long as the value lives.
#[async_trait]
pub trait Backend: Send + Sync {
    fn store(&self) -> Arc<dyn Store>;
    /// A second, independent handle on the same data: what another collector process would have.
    async fn twin(&self) -> Arc<dyn Store>;
    /// Stores a project the way builds before domains and time zones did, with neither: a row
    /// from before the migration that added them, a document without the fields.
    async fn create_old_shape_project(&self, id: ProjectId, owner: UserId, name: &str, created_at: Millis);
}

/// Generates one `#[tokio::test]` per conformance case, each on a fresh backend from `$make`
/// (an expression whose value is a future of a [`Backend`]).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make; conformance;
            users, auth_tokens, projects_are_scoped_to_owners, keys, salts,
            ingest_round_trips_every_field, retried_batches_are_stored_once,
            sessions_match_folding_whatever_the_batching, projects_do_not_see_each_other,
            concurrent_writers_on_one_visitor_agree, passwords_are_replaced,
            a_users_tokens_are_listed_and_signed_out, projects_are_updated_in_place,
            projects_stored_without_domain_or_time_zone_read_back_with_defaults, share_links,
            first_event_at_is_the_earliest_stored_event, deleting_a_project_removes_everything_of_it,
            a_replayed_id_changes_nothing);
        $crate::conformance_tests!(@cases $make; analytics_conformance;
            the_generated_data_covers_the_cases, raw_event_aggregates_match_brute_force,
            raw_session_aggregates_match_brute_force, replace_rollups_replaces_exactly_one_bucket,
            ingest_marks_touched_hours_and_clearing_checks_the_version,
            sessions_of_visitors_returns_theirs_only, delete_expired_removes_exactly_the_older_data);
        $crate::conformance_tests!(@cases $make; goals_conformance;
            goals_are_created_listed_and_deleted, deleting_a_project_deletes_its_goals,
            raw_goal_aggregates_match_brute_force);
        $crate::conformance_tests!(@cases $make; annotations_conformance;
            annotations_are_created_listed_and_deleted, deleting_a_project_deletes_its_annotations);
        $crate::conformance_tests!(@cases $make; segments_conformance;
            segments_are_created_listed_and_deleted, deleting_a_project_deletes_its_segments);
        $crate::conformance_tests!(@cases $make; funnel_conformance;
            funnels_match_brute_force, saved_funnels_round_trip_and_go_with_their_project);
        $crate::conformance_tests!(@cases $make; journeys_conformance;
            journeys_match_brute_force, session_list_pages_match_brute_force,
            session_detail_is_the_sessions_events_in_order);
    };
    (@cases $make:expr; $module:ident; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let backend = $make.await;
                $crate::$module::$case(&backend).await;
            }
        )*
    };
}

pub(crate) const T0: Millis = 1_763_683_200_000; // 2025-11-21T00:00:00Z
pub(crate) const MIN: Millis = 60_000;

/// A user of [`T0`] (the other cases' owners too).
pub(crate) fn user(email: &str) -> User {
    User {
        id: UserId::new(T0),
        email: Email::parse(email).unwrap(),
        password_hash: "$argon2id$test".into(),
        created_at: T0,
    }
}

/// A UTC project without a domain, made at `at`.
pub(crate) fn project(owner: &User, name: &str, at: Millis) -> Project {
    Project {
        id: ids::new_project_id(at),
        owner: owner.id,
        name: Name::parse(name).unwrap(),
        domain: None,
        timezone: TimeZoneName::utc(),
        created_at: at,
    }
}

fn share_link(project: &Project, label: &str, at: Millis, password_hash: Option<&str>) -> ShareLink {
    ShareLink {
        id: ShareId::new(at),
        project_id: project.id,
        slug: ShareSlug::random(),
        label: Name::parse(label).unwrap(),
        password_hash: password_hash.map(str::to_owned),
        created_at: at,
    }
}

fn token(user: &User, hash: char, kind: TokenKind, at: Millis, expires_at: Option<Millis>) -> AuthToken {
    AuthToken {
        token_hash: hash.to_string().repeat(64),
        user_id: user.id,
        kind,
        label: format!("{kind:?} {hash}"),
        created_at: at,
        expires_at,
    }
}

fn key_record(project: &Project, label: &str, at: Millis) -> (ApiKey, KeyRecord) {
    let key = ApiKey::from_random(rand::random());
    let record = KeyRecord {
        id: KeyId::new(at),
        project_id: project.id,
        label: Name::parse(label).unwrap(),
        key_hash: key.hash("pepper"),
        key_preview: key.preview(),
        created_at: at,
        last_used_at: None,
        revoked_at: None,
    };
    (key, record)
}

pub async fn users(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    assert_eq!(
        s.user_by_email(&Email::parse("ADA@example.com").unwrap())
            .await
            .unwrap(),
        Some(ada.clone())
    );
    assert_eq!(s.user_by_id(&ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(
        s.user_by_email(&Email::parse("bob@example.com").unwrap())
            .await
            .unwrap(),
        None
    );
    let again = User {
        id: UserId::new(T0),
        ..ada
    };
    assert!(matches!(s.create_user(&again).await, Err(StoreError::Conflict(_))));
    s.health().await.unwrap();
}

pub async fn auth_tokens(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let login = AuthToken {
        token_hash: "a".repeat(64),
        user_id: ada.id,
        kind: TokenKind::Login,
        label: "browser".into(),
        created_at: T0,
        expires_at: Some(T0 + 60 * MIN),
    };
    let api = AuthToken {
        token_hash: "b".repeat(64),
        user_id: ada.id,
        kind: TokenKind::Api,
        label: "ci".into(),
        created_at: T0,
        expires_at: None,
    };
    s.create_auth_token(&login).await.unwrap();
    s.create_auth_token(&api).await.unwrap();
    assert_eq!(
        s.auth_token(&login.token_hash, T0 + MIN).await.unwrap(),
        Some(login.clone())
    );
    assert_eq!(
        s.auth_token(&login.token_hash, T0 + 61 * MIN).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        s.auth_token(&api.token_hash, T0 + 1_000_000 * MIN).await.unwrap(),
        Some(api.clone())
    );
    s.delete_auth_token(&api.token_hash).await.unwrap();
    assert_eq!(s.auth_token(&api.token_hash, T0).await.unwrap(), None);
    assert_eq!(s.auth_token(&"c".repeat(64), T0).await.unwrap(), None);
}

pub async fn projects_are_scoped_to_owners(b: &dyn Backend) {
    let s = b.store();
    let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
    s.create_user(&ada).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let blog = project(&ada, "Blog", T0);
    let shop = project(&ada, "Shop", T0 + MIN);
    let bobs = project(&bob, "Bob's", T0);
    for p in [&blog, &shop, &bobs] {
        s.create_project(p).await.unwrap();
    }
    assert_eq!(s.projects_of(&ada.id).await.unwrap(), vec![shop.clone(), blog.clone()]);
    assert_eq!(s.projects_of(&bob.id).await.unwrap(), vec![bobs.clone()]);
    assert_eq!(s.project(&blog.id).await.unwrap(), Some(blog));
    assert_eq!(s.project(&ids::new_project_id(T0)).await.unwrap(), None);
}

pub async fn keys(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let blog = project(&ada, "Blog", T0);
    s.create_project(&blog).await.unwrap();
    let (key1, prod) = key_record(&blog, "Production", T0);
    let (_, staging) = key_record(&blog, "Staging", T0 + MIN);
    s.create_key(&prod).await.unwrap();
    s.create_key(&staging).await.unwrap();
    assert_eq!(s.key_by_hash(&key1.hash("pepper")).await.unwrap(), Some(prod.clone()));
    assert_eq!(s.key(&prod.id).await.unwrap(), Some(prod.clone()));
    assert_eq!(s.keys_of(&blog.id).await.unwrap(), vec![staging.clone(), prod.clone()]);
    assert_eq!(
        s.key_by_hash(&ApiKey::from_random([9; 20]).hash("pepper"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(prod.key_preview, key1.preview());
    assert_eq!(
        KeyPreview::from_stored(prod.key_preview.as_str().to_owned()),
        prod.key_preview
    );

    // lastUsedAt only moves forward.
    s.touch_keys(&[(prod.id, T0 + 5 * MIN)]).await.unwrap();
    s.touch_keys(&[(prod.id, T0 + 2 * MIN), (staging.id, T0 + 3 * MIN)])
        .await
        .unwrap();
    assert_eq!(s.key(&prod.id).await.unwrap().unwrap().last_used_at, Some(T0 + 5 * MIN));
    assert_eq!(
        s.key(&staging.id).await.unwrap().unwrap().last_used_at,
        Some(T0 + 3 * MIN)
    );

    // Revoking is idempotent and keeps the first time.
    assert!(s.revoke_key(&prod.id, T0 + 10 * MIN).await.unwrap());
    assert!(s.revoke_key(&prod.id, T0 + 20 * MIN).await.unwrap());
    assert_eq!(
        s.key_by_hash(&key1.hash("pepper")).await.unwrap().unwrap().revoked_at,
        Some(T0 + 10 * MIN)
    );
    assert!(!s.revoke_key(&KeyId::new(T0), T0).await.unwrap());
}

pub async fn salts(b: &dyn Backend) {
    let s = b.store();
    let day = T0 / 86_400_000;
    assert_eq!(s.salt_for_day(day, [1; 32]).await.unwrap(), [1; 32]);
    assert_eq!(
        s.salt_for_day(day, [2; 32]).await.unwrap(),
        [1; 32],
        "the first salt of a day stays"
    );
    let twin = b.twin().await;
    assert_eq!(twin.salt_for_day(day, [3; 32]).await.unwrap(), [1; 32]);
    assert_eq!(s.salt_for_day(day - 1, [4; 32]).await.unwrap(), [4; 32]);
    assert_eq!(s.salt_for_day(day - 2, [5; 32]).await.unwrap(), [5; 32]);
    assert_eq!(s.delete_salts_before(day - 1).await.unwrap(), 1);
    assert_eq!(
        s.salt_for_day(day - 2, [6; 32]).await.unwrap(),
        [6; 32],
        "a deleted salt is gone"
    );
    assert_eq!(s.salt_for_day(day - 1, [7; 32]).await.unwrap(), [4; 32]);
}

fn pid(n: u8) -> ProjectId {
    ProjectId::from_bytes([n; 12])
}

/// An event with every optional field set.
fn rich_event() -> EnrichedEvent {
    let mut e = event(pid(1), 42, "rich-1", "page_exit", T0 + 5 * MIN, "/pricing");
    e.received_at = T0 + 5 * MIN + 250;
    e.url = "https://example.com/pricing?utm_source=news&utm_medium=email".into();
    e.referrer = Some("https://news.ycombinator.com/item?id=1".into());
    e.source = Some("Hacker News".into());
    e.utm = Utm {
        source: Some("news".into()),
        medium: Some("email".into()),
        campaign: Some("launch".into()),
        term: Some("t".into()),
        content: Some("c".into()),
    };
    e.props = BTreeMap::from([
        ("plan".to_owned(), "pro".to_owned()),
        ("seats".to_owned(), "3".to_owned()),
    ]);
    e.duration_ms = Some(12_345);
    e.scroll_depth = Some(80);
    e.screen_width = Some(390);
    e.client = ClientInfo {
        browser: "Safari".into(),
        browser_version: "17".into(),
        os: "iOS".into(),
        os_version: "17".into(),
        device: Device::Mobile,
    };
    e.geo = Geo {
        country: Some("DE".into()),
        region: Some("BE".into()),
        city: Some("Berlin".into()),
        timezone: Some("Europe/Berlin".into()),
        colo: Some("FRA".into()),
        asn: Some(3320),
    };
    e
}

pub async fn ingest_round_trips_every_field(b: &dyn Backend) {
    let s = b.store();
    let rich = rich_event();
    let plain = event(pid(1), 42, "plain-1", "pageview", T0, "/");
    let report = s.ingest(&[rich.clone(), plain.clone()]).await.unwrap();
    assert_eq!(
        report,
        IngestReport {
            stored: 2,
            duplicates: 0
        }
    );
    let stored = s.events(&pid(1), T0, T0 + 60 * MIN).await.unwrap();
    assert_eq!(
        stored,
        vec![plain.clone(), rich.clone()],
        "oldest first, every field intact"
    );
    assert_eq!(
        s.events(&pid(1), T0 + 1, T0 + 5 * MIN).await.unwrap(),
        vec![],
        "[from, to) bounds"
    );
    let sessions = s.sessions(&pid(1), T0, T0 + 60 * MIN).await.unwrap();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(
        (session.start, session.end, session.pageviews, session.events),
        (T0, T0 + 5 * MIN, 1, 2)
    );
    assert_eq!(
        (session.entry_page.as_str(), session.exit_page.as_str()),
        ("/", "/pricing")
    );
    assert_eq!(session.engaged_ms, 12_345);
}

pub async fn retried_batches_are_stored_once(b: &dyn Backend) {
    let s = b.store();
    let batch: Vec<EnrichedEvent> = (0..10)
        .map(|i| event(pid(1), 7, &format!("r{i}"), "pageview", T0 + i * MIN, "/p"))
        .collect();
    assert_eq!(
        s.ingest(&batch).await.unwrap(),
        IngestReport {
            stored: 10,
            duplicates: 0
        }
    );
    let sessions = s.sessions(&pid(1), T0, T0 + 60 * MIN).await.unwrap();
    assert_eq!(
        s.ingest(&batch).await.unwrap(),
        IngestReport {
            stored: 0,
            duplicates: 10
        }
    );
    // A batch overlapping the first: 5 old events, 5 new ones.
    let overlap: Vec<EnrichedEvent> = (5..15)
        .map(|i| event(pid(1), 7, &format!("r{i}"), "pageview", T0 + i * MIN, "/p"))
        .collect();
    assert_eq!(
        s.ingest(&overlap).await.unwrap(),
        IngestReport {
            stored: 5,
            duplicates: 5
        }
    );
    assert_eq!(s.events(&pid(1), T0, T0 + 60 * MIN).await.unwrap().len(), 15);
    let after = s.sessions(&pid(1), T0, T0 + 60 * MIN).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].pageviews, after[0].events), (15, 15));
    assert_eq!(after[0].id, sessions[0].id);
    // The same event id in another project is another event.
    assert_eq!(
        s.ingest(&[event(pid(2), 7, "r0", "pageview", T0, "/p")])
            .await
            .unwrap()
            .stored,
        1
    );
}

/// An id already stored, sent again with other fields and from another visitor (a replay, or a
/// forged id), changes nothing: no event, no session, no dirty mark on the hour it claims. A plain retry
/// of the stored event still folds it (heals a session a crashed attempt left unfinished).
pub async fn a_replayed_id_changes_nothing(b: &dyn Backend) {
    let s = b.store();
    let first = event(pid(1), 7, "once", "pageview", T0, "/p");
    s.ingest(std::slice::from_ref(&first)).await.unwrap();
    let events = s.events(&pid(1), T0 - DAY_MS, T0 + DAY_MS).await.unwrap();
    let sessions = s.sessions(&pid(1), T0 - DAY_MS, T0 + DAY_MS).await.unwrap();
    // Clear the marks of the first ingest, to see what the replay marks.
    for mark in s.dirty_hours(100).await.unwrap() {
        s.clear_dirty(&mark).await.unwrap();
    }
    let replay = event(pid(1), 8, "once", "signup", T0 + 9 * HOUR_MS, "/elsewhere");
    // In a batch with a new event of the replaying visitor, and twice.
    let fresh = event(pid(1), 8, "new", "pageview", T0 + 5 * HOUR_MS + MIN, "/q");
    let report = s.ingest(&[replay.clone(), fresh.clone(), replay]).await.unwrap();
    assert_eq!(
        report,
        IngestReport {
            stored: 1,
            duplicates: 2
        }
    );
    let mut want_events = events.clone();
    want_events.extend(
        s.events(&pid(1), fresh.occurred_at, fresh.occurred_at + 1)
            .await
            .unwrap(),
    );
    assert_eq!(s.events(&pid(1), T0 - DAY_MS, T0 + DAY_MS).await.unwrap(), want_events);
    let after = s.sessions(&pid(1), T0 - DAY_MS, T0 + DAY_MS).await.unwrap();
    let of = |v: u64| {
        after
            .iter()
            .filter(|x| x.visitor_id == VisitorId(v))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(of(7), sessions, "the stored event's session is untouched");
    let eights = of(8);
    assert_eq!(eights.len(), 1, "{eights:?}");
    assert_eq!(
        (eights[0].pageviews, eights[0].events, eights[0].start),
        (1, 1, fresh.occurred_at)
    );
    // The stored event's hour may be marked again (its rebuild gives the same rows); the hour
    // the replay claimed must not be.
    let marked: Vec<Millis> = s.dirty_hours(100).await.unwrap().iter().map(|m| m.hour).collect();
    assert!(marked.contains(&rollup::hour_of(fresh.occurred_at)), "{marked:?}");
    assert!(!marked.contains(&(T0 + 9 * HOUR_MS)), "{marked:?}");
}

/// Two visitors, several visits each, some bridged by late events.
fn visits() -> Vec<EnrichedEvent> {
    let mut events = Vec::new();
    for visitor in [1u64, 2] {
        for (i, minute) in [0, 3, 10, 45, 50, 100, 70, 130, 131, 200].into_iter().enumerate() {
            let name = match i % 4 {
                0 => "pageview",
                1 => "path_change",
                2 => "page_exit",
                _ => "signup",
            };
            events.push(event(
                pid(1),
                visitor,
                &format!("v{visitor}e{i}"),
                name,
                T0 + minute * MIN,
                &format!("/p{}", i % 3),
            ));
        }
    }
    events
}

fn comparable(sessions: Vec<Session>) -> Vec<Session> {
    // Ids depend on arrival order; everything else must not.
    sessions
        .into_iter()
        .map(|s| Session { id: String::new(), ..s })
        .collect()
}

/// The sessions of `events` as one serial fold per visitor gives them (ids blanked).
fn expected_sessions(events: &[EnrichedEvent]) -> Vec<Session> {
    let visitors: std::collections::BTreeSet<VisitorId> = events.iter().map(|e| e.visitor_id).collect();
    let mut next = 0;
    let mut all = Vec::new();
    for visitor in visitors {
        let mine: Vec<&EnrichedEvent> = events.iter().filter(|e| e.visitor_id == visitor).collect();
        // Ids must be unique: the fold tells sessions apart by id.
        all.extend(
            fold(vec![], &mine, &mut || {
                next += 1;
                format!("expected-{next}")
            })
            .sessions,
        );
    }
    all.sort_by_key(|s| (s.start, s.visitor_id));
    comparable(all)
}

pub async fn sessions_match_folding_whatever_the_batching(b: &dyn Backend) {
    let s = b.store();
    let mut events = visits();
    let expected = expected_sessions(&events);
    // Newest first, in batches of three: every batch arrives out of order and after its future.
    events.reverse();
    for batch in events.chunks(3) {
        s.ingest(batch).await.unwrap();
    }
    let got = s.sessions(&pid(1), T0 - 60 * MIN, T0 + 600 * MIN).await.unwrap();
    assert_eq!(comparable(got), expected);
    let some = s.sessions(&pid(1), T0 + 100 * MIN, T0 + 600 * MIN).await.unwrap();
    assert!(
        some.iter().all(|s| s.start >= T0 + 100 * MIN),
        "sessions are selected by start"
    );
}

pub async fn projects_do_not_see_each_other(b: &dyn Backend) {
    let s = b.store();
    s.ingest(&[event(pid(1), 1, "a", "pageview", T0, "/one")])
        .await
        .unwrap();
    s.ingest(&[event(pid(2), 1, "b", "pageview", T0 + MIN, "/two")])
        .await
        .unwrap();
    let one = s.sessions(&pid(1), T0, T0 + 60 * MIN).await.unwrap();
    assert_eq!(one.len(), 1, "same visitor id in two projects: two visitors");
    assert_eq!(one[0].entry_page, "/one");
    assert_eq!(s.events(&pid(2), T0, T0 + 60 * MIN).await.unwrap().len(), 1);
}

pub async fn concurrent_writers_on_one_visitor_agree(b: &dyn Backend) {
    let (first, second) = (b.store(), b.twin().await);
    let events: Vec<EnrichedEvent> = (0..120)
        .map(|i| {
            // One long visit with the events shuffled between the writers, plus late bridges.
            let minute = (i * 7) % 120;
            event(
                pid(1),
                9,
                &format!("c{i}"),
                if i % 5 == 0 { "page_exit" } else { "pageview" },
                T0 + minute * MIN / 2,
                &format!("/c{}", i % 4),
            )
        })
        .collect();
    let expected = expected_sessions(&events);
    let (odd, even): (Vec<_>, Vec<_>) = events.iter().cloned().enumerate().partition(|(i, _)| i % 2 == 1);
    let odd: Vec<EnrichedEvent> = odd.into_iter().map(|(_, e)| e).collect();
    let even: Vec<EnrichedEvent> = even.into_iter().map(|(_, e)| e).collect();
    // Both writers also retry part of the other's work.
    let run = |store: Arc<dyn Store>, mine: Vec<EnrichedEvent>, theirs: Vec<EnrichedEvent>| async move {
        for (chunk, retry) in mine.chunks(4).zip(theirs.chunks(4)) {
            store.ingest(chunk).await.unwrap();
            store.ingest(&retry[..1]).await.unwrap();
        }
    };
    let a = tokio::spawn(run(first.clone(), odd.clone(), even.clone()));
    let b2 = tokio::spawn(run(second.clone(), even, odd));
    a.await.unwrap();
    b2.await.unwrap();
    assert_eq!(first.events(&pid(1), T0, T0 + 600 * MIN).await.unwrap().len(), 120);
    let got = second.sessions(&pid(1), T0 - 60 * MIN, T0 + 600 * MIN).await.unwrap();
    assert_eq!(comparable(got), expected);
}

pub async fn passwords_are_replaced(b: &dyn Backend) {
    let s = b.store();
    let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
    s.create_user(&ada).await.unwrap();
    s.create_user(&bob).await.unwrap();
    assert!(s.update_password(&ada.id, "$argon2id$new").await.unwrap());
    let changed = User {
        password_hash: "$argon2id$new".into(),
        ..ada.clone()
    };
    assert_eq!(s.user_by_id(&ada.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(s.user_by_email(&ada.email).await.unwrap(), Some(changed));
    assert_eq!(
        s.user_by_id(&bob.id).await.unwrap(),
        Some(bob),
        "other users keep theirs"
    );
    assert!(!s.update_password(&UserId::new(T0), "$argon2id$x").await.unwrap());
    assert_eq!(
        s.user_by_id(&UserId::new(T0)).await.unwrap(),
        None,
        "no user is created"
    );
}

pub async fn a_users_tokens_are_listed_and_signed_out(b: &dyn Backend) {
    let s = b.store();
    let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
    s.create_user(&ada).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let api = token(&ada, 'a', TokenKind::Api, T0, None);
    let expired = token(&ada, 'b', TokenKind::Login, T0 + MIN, Some(T0 + 2 * MIN));
    let phone = token(&ada, 'c', TokenKind::Login, T0 + 2 * MIN, Some(T0 + 600 * MIN));
    let current = token(&ada, 'd', TokenKind::Login, T0 + 3 * MIN, Some(T0 + 600 * MIN));
    let bobs = token(&bob, 'e', TokenKind::Login, T0 + 4 * MIN, Some(T0 + 600 * MIN));
    for t in [&phone, &bobs, &api, &current, &expired] {
        s.create_auth_token(t).await.unwrap();
    }
    assert_eq!(
        s.auth_tokens_of(&ada.id).await.unwrap(),
        vec![current.clone(), phone.clone(), expired.clone(), api.clone()],
        "newest first, every kind, expired ones too"
    );
    assert_eq!(s.auth_tokens_of(&bob.id).await.unwrap(), vec![bobs.clone()]);
    assert_eq!(s.auth_tokens_of(&UserId::new(T0)).await.unwrap(), vec![]);

    // "Sign out my other sessions": the current login, API tokens and other users' stay.
    assert_eq!(
        s.delete_auth_tokens_of(&ada.id, TokenKind::Login, Some(&current.token_hash))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.auth_tokens_of(&ada.id).await.unwrap(),
        vec![current.clone(), api.clone()]
    );
    assert_eq!(s.auth_token(&phone.token_hash, T0 + 3 * MIN).await.unwrap(), None);
    assert_eq!(
        s.auth_token(&current.token_hash, T0 + 3 * MIN).await.unwrap(),
        Some(current.clone())
    );
    assert_eq!(s.auth_tokens_of(&bob.id).await.unwrap(), vec![bobs.clone()]);
    assert_eq!(
        s.delete_auth_tokens_of(&ada.id, TokenKind::Login, Some(&current.token_hash))
            .await
            .unwrap(),
        0,
        "nothing left to delete"
    );
    // Without an exception: every token of the kind.
    assert_eq!(s.delete_auth_tokens_of(&ada.id, TokenKind::Api, None).await.unwrap(), 1);
    assert_eq!(s.auth_tokens_of(&ada.id).await.unwrap(), vec![current.clone()]);
    // The exception only spares a token of that kind (and that user).
    assert_eq!(
        s.delete_auth_tokens_of(&ada.id, TokenKind::Login, Some(&bobs.token_hash))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.auth_tokens_of(&ada.id).await.unwrap(), vec![]);
    assert_eq!(s.auth_tokens_of(&bob.id).await.unwrap(), vec![bobs]);
    assert_eq!(
        s.delete_auth_tokens_of(&UserId::new(T0), TokenKind::Login, None)
            .await
            .unwrap(),
        0
    );
}

pub async fn projects_are_updated_in_place(b: &dyn Backend) {
    let s = b.store();
    let (ada, bob) = (user("ada@example.com"), user("bob@example.com"));
    s.create_user(&ada).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let blog = Project {
        domain: Some(Domain::parse("blog.example.com").unwrap()),
        timezone: TimeZoneName::parse("Europe/Berlin").unwrap(),
        ..project(&ada, "Blog", T0)
    };
    let shop = project(&ada, "Shop", T0 + MIN);
    s.create_project(&blog).await.unwrap();
    s.create_project(&shop).await.unwrap();
    assert_eq!(
        s.project(&blog.id).await.unwrap(),
        Some(blog.clone()),
        "domain and time zone read back"
    );
    assert_eq!(s.project(&shop.id).await.unwrap(), Some(shop.clone()));

    let changed = Project {
        name: Name::parse("Blog (new)").unwrap(),
        domain: Some(Domain::parse("example.org").unwrap()),
        timezone: TimeZoneName::parse("America/New_York").unwrap(),
        owner: bob.id,
        created_at: T0 + 99 * MIN,
        ..blog.clone()
    };
    assert!(s.update_project(&changed).await.unwrap());
    let expected = Project {
        owner: ada.id,
        created_at: T0,
        ..changed.clone()
    };
    assert_eq!(
        s.project(&blog.id).await.unwrap(),
        Some(expected.clone()),
        "owner and creation time never change"
    );
    assert_eq!(
        s.projects_of(&ada.id).await.unwrap(),
        vec![shop.clone(), expected.clone()]
    );
    assert_eq!(s.projects_of(&bob.id).await.unwrap(), vec![]);

    let cleared = Project {
        domain: None,
        ..expected.clone()
    };
    assert!(s.update_project(&cleared).await.unwrap());
    assert_eq!(
        s.project(&blog.id).await.unwrap(),
        Some(cleared.clone()),
        "a domain can be removed"
    );
    assert!(
        s.update_project(&cleared).await.unwrap(),
        "an update that changes nothing still finds the project"
    );
    assert_eq!(
        s.project(&shop.id).await.unwrap(),
        Some(shop),
        "other projects are untouched"
    );

    let ghost = project(&ada, "Ghost", T0);
    assert!(!s.update_project(&ghost).await.unwrap());
    assert_eq!(s.project(&ghost.id).await.unwrap(), None, "updating creates nothing");
}

pub async fn projects_stored_without_domain_or_time_zone_read_back_with_defaults(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let id = ids::new_project_id(T0);
    b.create_old_shape_project(id, ada.id, "Old", T0).await;
    let old = Project {
        id,
        owner: ada.id,
        name: Name::parse("Old").unwrap(),
        domain: None,
        timezone: TimeZoneName::utc(),
        created_at: T0,
    };
    assert_eq!(s.project(&id).await.unwrap(), Some(old.clone()));
    assert_eq!(s.projects_of(&ada.id).await.unwrap(), vec![old.clone()]);
    let updated = Project {
        domain: Some(Domain::parse("old.example.com").unwrap()),
        timezone: TimeZoneName::parse("Asia/Tokyo").unwrap(),
        ..old
    };
    assert!(s.update_project(&updated).await.unwrap());
    assert_eq!(s.project(&id).await.unwrap(), Some(updated));
}

pub async fn share_links(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let (blog, shop) = (project(&ada, "Blog", T0), project(&ada, "Shop", T0));
    s.create_project(&blog).await.unwrap();
    s.create_project(&shop).await.unwrap();
    let public = share_link(&blog, "Public", T0, None);
    let team = share_link(&blog, "Team", T0 + 2 * MIN, Some("$argon2id$team"));
    let press = share_link(&blog, "Press", T0 + MIN, None);
    let shops = share_link(&shop, "Shop", T0, None);
    for link in [&public, &team, &press, &shops] {
        s.create_share_link(link).await.unwrap();
    }
    assert_eq!(
        s.share_links_of(&blog.id).await.unwrap(),
        vec![team.clone(), press.clone(), public.clone()],
        "newest first"
    );
    assert_eq!(s.share_links_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    assert_eq!(s.share_links_of(&ids::new_project_id(T0)).await.unwrap(), vec![]);
    assert_eq!(
        s.share_link_by_slug(&team.slug).await.unwrap(),
        Some(team.clone()),
        "the password hash reads back"
    );
    assert_eq!(s.share_link_by_slug(&public.slug).await.unwrap(), Some(public.clone()));
    assert_eq!(s.share_link_by_slug(&ShareSlug::random()).await.unwrap(), None);

    // A slug is unique across all projects.
    let clash = ShareLink {
        id: ShareId::new(T0),
        project_id: shop.id,
        ..team.clone()
    };
    assert!(matches!(
        s.create_share_link(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.share_links_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    assert_eq!(s.share_link_by_slug(&team.slug).await.unwrap(), Some(team.clone()));

    assert!(s.delete_share_link(&press.id).await.unwrap());
    assert!(!s.delete_share_link(&press.id).await.unwrap());
    assert!(!s.delete_share_link(&ShareId::new(T0)).await.unwrap());
    assert_eq!(s.share_link_by_slug(&press.slug).await.unwrap(), None);
    assert_eq!(
        s.share_links_of(&blog.id).await.unwrap(),
        vec![team.clone(), public.clone()]
    );
    assert_eq!(s.share_links_of(&shop.id).await.unwrap(), vec![shops]);
}

pub async fn first_event_at_is_the_earliest_stored_event(b: &dyn Backend) {
    let s = b.store();
    assert_eq!(s.first_event_at(&pid(1)).await.unwrap(), None, "no event yet");
    s.ingest(&[
        event(pid(1), 1, "b", "pageview", T0 + 5 * MIN, "/"),
        event(pid(1), 2, "a", "pageview", T0 + 2 * MIN, "/"),
        event(pid(2), 1, "c", "pageview", T0 - 60 * MIN, "/"),
    ])
    .await
    .unwrap();
    s.ingest(&[event(pid(1), 1, "d", "page_exit", T0 + 90 * MIN, "/")])
        .await
        .unwrap();
    assert_eq!(s.first_event_at(&pid(1)).await.unwrap(), Some(T0 + 2 * MIN));
    assert_eq!(s.first_event_at(&pid(2)).await.unwrap(), Some(T0 - 60 * MIN));
    // A late event from before: it is the first now.
    s.ingest(&[event(pid(1), 3, "e", "signup", T0 - 3 * MIN, "/")])
        .await
        .unwrap();
    assert_eq!(s.first_event_at(&pid(1)).await.unwrap(), Some(T0 - 3 * MIN));
    assert_eq!(s.first_event_at(&pid(3)).await.unwrap(), None);
}

/// Everything the store answers about one project (and its key and share link), to compare
/// before and after something that must not touch it.
async fn everything_of(s: &dyn Store, p: &Project, key: &KeyRecord, link: &ShareLink) -> String {
    let (from, to) = (T0 - DAY_MS, T0 + 2 * DAY_MS);
    let mut rollups: Vec<StoredRollup> = Vec::new();
    for g in [Granularity::Hour, Granularity::Day] {
        rollups.extend(s.rollups(&p.id, g, from, to, None).await.unwrap());
        rollups.extend(s.rollups(&p.id, g, from, to, Some(&RollupDim::Total)).await.unwrap());
    }
    let marks: Vec<DirtyHour> = s
        .dirty_hours(100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.project == p.id)
        .collect();
    format!(
        "{:#?}",
        (
            s.project(&p.id).await.unwrap(),
            s.keys_of(&p.id).await.unwrap(),
            s.key_by_hash(&key.key_hash).await.unwrap(),
            s.share_links_of(&p.id).await.unwrap(),
            s.share_link_by_slug(&link.slug).await.unwrap(),
            s.events(&p.id, from, to).await.unwrap(),
            s.sessions(&p.id, from, to).await.unwrap(),
            s.first_event_at(&p.id).await.unwrap(),
            rollups,
            marks,
        )
    )
}

pub async fn deleting_a_project_removes_everything_of_it(b: &dyn Backend) {
    let s = b.store();
    let ada = user("ada@example.com");
    s.create_user(&ada).await.unwrap();
    let (doomed, kept) = (project(&ada, "Doomed", T0), project(&ada, "Kept", T0 + MIN));
    let mut keys = Vec::new();
    let mut links = Vec::new();
    for p in [&doomed, &kept] {
        s.create_project(p).await.unwrap();
        let (_, key) = key_record(p, "Production", T0);
        s.create_key(&key).await.unwrap();
        keys.push(key);
        let link = share_link(p, "Public", T0, None);
        s.create_share_link(&link).await.unwrap();
        links.push(link);
        // The same visitor and event ids in both projects: only the project tells them apart.
        let visit: Vec<EnrichedEvent> = (0..4)
            .map(|i| event(p.id, 7, &format!("e{i}"), "pageview", T0 + i * 5 * MIN, "/"))
            .collect();
        s.ingest(&visit).await.unwrap();
        // Rollups from what is stored, read once so that a backend caching them has them cached.
        let events = s.events(&p.id, T0, T0 + DAY_MS).await.unwrap();
        let sessions = s.sessions(&p.id, T0, T0 + DAY_MS).await.unwrap();
        for (g, len) in [(Granularity::Hour, HOUR_MS), (Granularity::Day, DAY_MS)] {
            let rows = rollup::build(&events, &sessions, T0, T0 + len);
            s.replace_rollups(&p.id, g, T0, &rows).await.unwrap();
            assert!(!s
                .rollups(&p.id, g, T0, T0 + len, Some(&RollupDim::Total))
                .await
                .unwrap()
                .is_empty());
            assert!(!s
                .rollup_summaries(&p.id, g, T0, T0 + len, &RollupDim::Total)
                .await
                .unwrap()
                .is_empty());
        }
    }
    let (doomed_key, kept_key) = (&keys[0], &keys[1]);
    let (doomed_link, kept_link) = (&links[0], &links[1]);
    assert!(s
        .dirty_hours(100_000)
        .await
        .unwrap()
        .iter()
        .any(|m| m.project == doomed.id));
    let kept_before = everything_of(&*s, &kept, kept_key, kept_link).await;

    assert!(s.delete_project(&doomed.id).await.unwrap());

    let (from, to) = (T0 - DAY_MS, T0 + 2 * DAY_MS);
    assert_eq!(s.project(&doomed.id).await.unwrap(), None);
    assert_eq!(s.projects_of(&ada.id).await.unwrap(), vec![kept.clone()]);
    assert_eq!(s.keys_of(&doomed.id).await.unwrap(), vec![]);
    assert_eq!(s.key(&doomed_key.id).await.unwrap(), None);
    assert_eq!(s.key_by_hash(&doomed_key.key_hash).await.unwrap(), None);
    assert_eq!(s.share_links_of(&doomed.id).await.unwrap(), vec![]);
    assert_eq!(s.share_link_by_slug(&doomed_link.slug).await.unwrap(), None);
    assert_eq!(s.events(&doomed.id, from, to).await.unwrap(), vec![]);
    assert_eq!(s.sessions(&doomed.id, from, to).await.unwrap(), vec![]);
    assert_eq!(
        s.sessions_of_visitors(&doomed.id, &[VisitorId(7)]).await.unwrap(),
        vec![]
    );
    assert_eq!(s.first_event_at(&doomed.id).await.unwrap(), None);
    for g in [Granularity::Hour, Granularity::Day] {
        assert_eq!(s.rollups(&doomed.id, g, from, to, None).await.unwrap(), vec![]);
        assert_eq!(
            s.rollups(&doomed.id, g, from, to, Some(&RollupDim::Total))
                .await
                .unwrap(),
            vec![],
            "{g:?}: no cached rollup is served either"
        );
        assert!(s
            .rollup_summaries(&doomed.id, g, from, to, &RollupDim::Total)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            s.rollups_of_values(&doomed.id, g, from, to, &RollupDim::Total, &[String::new()])
                .await
                .unwrap(),
            vec![]
        );
    }
    assert!(
        s.dirty_hours(100_000)
            .await
            .unwrap()
            .iter()
            .all(|m| m.project != doomed.id),
        "no rebuild is left to do for it"
    );
    assert_eq!(
        everything_of(&*s, &kept, kept_key, kept_link).await,
        kept_before,
        "the other project is untouched"
    );
    assert!(!s.delete_project(&doomed.id).await.unwrap(), "already gone");
    assert!(!s.delete_project(&ids::new_project_id(T0)).await.unwrap());

    // Events for the old id again (a straggler from a queue): its event ids are free again, and
    // the visitor's old visit does not come back to absorb them.
    let again = [
        event(doomed.id, 7, "e0", "pageview", T0 + 2 * MIN, "/again"),
        event(doomed.id, 7, "late", "pageview", T0 + 6 * MIN, "/late"),
    ];
    assert_eq!(s.ingest(&again).await.unwrap().stored, 2);
    assert_eq!(
        comparable(s.sessions(&doomed.id, from, to).await.unwrap()),
        expected_sessions(&again)
    );
    assert_eq!(s.events(&doomed.id, from, to).await.unwrap().len(), 2);
    assert_eq!(everything_of(&*s, &kept, kept_key, kept_link).await, kept_before);
}
