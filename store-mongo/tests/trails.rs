//! The trail migration (`store_mongo::trails`): session documents written in the older shapes
//! (a `store::trail` binary, no trail at all, a trail missing steps) answer the same funnels and
//! journeys once the store opened them again.

use contract::ids::ProjectId;
use contract::wire::{PAGEVIEW, PAGE_EXIT, PATH_CHANGE};
use futures_util::TryStreamExt;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, Bson, Document};
use store::analytics::funnel::{self, CustomEventName, FunnelQuery, FunnelStep, FunnelSteps};
use store::analytics::journeys::{self, JourneyDepth, JourneyLimit, JourneyQuery};
use store::analytics::PagePattern;
use store::sessions::testing::event;
use store::{Millis, Store};
use store_mongo::codec;
use store_mongo::testing::TestServer;
use store_mongo::trails::{TrailMigration, MIGRATIONS, TRAIL_ARRAYS_MARK};
use store_mongo::MongoStore;

const T0: Millis = 1_763_683_200_000;
const MIN: Millis = 60_000;
const DAY: Millis = 24 * 60 * MIN;

fn events(p: ProjectId) -> Vec<contract::enriched::EnrichedEvent> {
    let mut out = Vec::new();
    // Visitors 1 to 6: / -> /pricing (reloaded by some) -> signup, dropping out at different
    // steps; visitor 3 also comes back three hours later for a second session.
    for v in 1..=6u64 {
        let at = T0 + v as Millis * 7 * MIN;
        out.push(event(p, v, &format!("a{v}"), PAGEVIEW, at, "/"));
        if v >= 2 {
            out.push(event(p, v, &format!("b{v}"), PATH_CHANGE, at + MIN, "/pricing"));
        }
        if v % 2 == 0 {
            out.push(event(p, v, &format!("c{v}"), PAGEVIEW, at + 2 * MIN, "/pricing"));
        }
        if v >= 4 {
            out.push(event(
                p,
                v,
                &format!("d{v}"),
                "signup",
                at + 3 * MIN + v as Millis,
                "/pricing",
            ));
        }
        out.push(event(p, v, &format!("x{v}"), PAGE_EXIT, at + 4 * MIN, "/pricing"));
    }
    let later = T0 + 3 * 60 * MIN;
    out.push(event(p, 3, "e3", PAGEVIEW, later, "/docs/a"));
    out.push(event(p, 3, "f3", "download", later + MIN, "/docs/a"));
    out.push(event(p, 3, "g3", PATH_CHANGE, later + 2 * MIN, "/pricing"));
    out.push(event(p, 3, "h3", "signup", later + 2 * MIN, "/pricing"));
    out
}

fn funnel_query(p: ProjectId) -> FunnelQuery {
    let page = |s: &str| FunnelStep::Page(PagePattern::parse(s).unwrap());
    FunnelQuery {
        project: p,
        from: T0,
        to: T0 + DAY,
        filters: vec![],
        steps: FunnelSteps::new(vec![
            page("/*"),
            page("/pricing"),
            FunnelStep::Event(CustomEventName::parse("signup").unwrap()),
        ])
        .unwrap(),
    }
}

fn journey_query(p: ProjectId, start: Option<&str>) -> JourneyQuery {
    JourneyQuery {
        project: p,
        from: T0,
        to: T0 + DAY,
        filters: vec![],
        start: start.map(|s| PagePattern::parse(s).unwrap()),
        depth: JourneyDepth::new(4).unwrap(),
        limit: JourneyLimit::new(10).unwrap(),
    }
}

/// Rewrites every session of the project's documents in an older shape, chosen per visitor:
/// the binary trail (visitors 1 and 4), no trail at all (2, 3 and 5), the binary of a trail
/// missing its last step (6).
async fn age(s: &MongoStore) {
    let collection = s.database().collection::<Document>("visitor_sessions");
    let docs: Vec<Document> = collection.find(doc! {}).await.unwrap().try_collect().await.unwrap();
    assert_eq!(docs.len(), 6);
    for mut d in docs {
        let visitor = codec::visitor_from(&d).unwrap();
        let old: Vec<Bson> = visitor
            .sessions
            .iter()
            .map(|session| {
                let mut sd = codec::session_doc(session);
                for key in [codec::TRAIL_STEPS, codec::TRAIL_AT, codec::TRAIL_IDS] {
                    sd.remove(key);
                }
                let trail = match visitor.visitor_id.0 {
                    1 | 4 => Some(&session.trail[..]),
                    6 => Some(&session.trail[..session.trail.len() - 1]),
                    _ => None,
                };
                if let Some(trail) = trail {
                    let bytes = store::trail::encode(session.start, trail);
                    sd.insert(
                        codec::OLD_TRAIL,
                        Binary {
                            subtype: BinarySubtype::Generic,
                            bytes,
                        },
                    );
                }
                Bson::Document(sd)
            })
            .collect();
        d.insert("sessions", old);
        collection
            .replace_one(doc! { "_id": d.get_str("_id").unwrap() }, d.clone())
            .await
            .unwrap();
    }
    s.database()
        .collection::<Document>(MIGRATIONS)
        .delete_one(doc! { "_id": TRAIL_ARRAYS_MARK })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_stored_in_older_shapes_answer_the_same_funnels_and_journeys_once_migrated() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([41; 12]);
    let events = events(p);
    s.ingest(&events).await.unwrap();
    let sessions = s.sessions(&p, T0, T0 + DAY).await.unwrap();
    let funnel_want = funnel::brute_force(&funnel_query(p), &events, &sessions);
    assert_eq!(
        funnel_want.steps.iter().map(|c| c.visitors).collect::<Vec<_>>(),
        vec![6, 5, 4],
        "the data covers every drop-off"
    );
    assert_eq!(s.funnel(&funnel_query(p)).await.unwrap(), funnel_want);
    let starts = [None, Some("/pricing"), Some("/docs/*")];
    let journeys_want: Vec<_> = starts
        .iter()
        .map(|start| journeys::journeys(&journey_query(p, *start), &events, &sessions))
        .collect();

    age(&s).await;
    // In the old shapes, no pipeline sees a trail: the data is what the migration must fix.
    let before = s.funnel(&funnel_query(p)).await.unwrap();
    assert_eq!(before.steps[0].visitors, 0);

    let reopened = MongoStore::connect(TestServer::shared().uri(), Some(s.database().name()))
        .await
        .unwrap();
    assert_eq!(reopened.funnel(&funnel_query(p)).await.unwrap(), funnel_want);
    for (start, want) in starts.iter().zip(&journeys_want) {
        assert_eq!(
            &reopened.journeys(&journey_query(p, *start)).await.unwrap(),
            want,
            "from {start:?}"
        );
    }
    // The sessions read back exactly as folded, trails included, and no session keeps the old
    // binary.
    assert_eq!(reopened.sessions(&p, T0, T0 + DAY).await.unwrap(), sessions);
    let docs: Vec<Document> = reopened
        .database()
        .collection::<Document>("visitor_sessions")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    for d in &docs {
        for session in d.get_array("sessions").unwrap() {
            let session = session.as_document().unwrap();
            assert!(codec::has_trail_arrays(session), "{d}");
            assert!(!session.contains_key(codec::OLD_TRAIL), "{d}");
        }
    }
    // The mark is written: opening again migrates nothing.
    assert_eq!(reopened.migrate_trails().await.unwrap(), TrailMigration::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_counts_what_it_rewrote_and_what_it_rebuilt() {
    let s = TestServer::shared().fresh_store().await;
    let p = ProjectId::from_bytes([42; 12]);
    s.ingest(&events(p)).await.unwrap();
    age(&s).await;
    // Visitors 1 and 4 kept complete binaries; the four others are rebuilt from the events.
    assert_eq!(
        s.migrate_trails().await.unwrap(),
        TrailMigration {
            rewritten: 2,
            rebuilt: 4
        }
    );
}
