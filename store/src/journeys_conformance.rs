//! The conformance cases of journeys and the session explorer ([`Store::journeys`],
//! [`Store::session_list`], [`Store::session`], [`Store::session_events`]), run by
//! [`conformance_tests!`](crate::conformance_tests) with the others.
//!
//! The data: [`analytics_conformance::generate`] (random, seeded: reloads, path changes, custom
//! events with repeats, visits split by long pauses, several attributions) plus a hand-made
//! project whose answer is also written out here, so that the brute force itself is checked:
//! reloads, a journey started by a wildcard, a visitor with two sessions, ties broken by kind
//! and value, paths shorter than the depth, events sharing a millisecond.

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::wire::{PAGEVIEW, PAGE_EXIT, PATH_CHANGE};

use crate::analytics::explorer::{session_events, session_list, SessionCursor, SessionId, SessionListQuery};
use crate::analytics::journeys::{
    journeys, JourneyDepth, JourneyLimit, JourneyQuery, Journeys, Step, MAX_JOURNEY_DEPTH,
};
use crate::analytics::{Field, Filter, FilterOp, PagePattern};
use crate::analytics_conformance as generated;
use crate::conformance::Backend;
use crate::sessions::{testing::event, Session};
use crate::{Millis, Store};

const T0: Millis = 1_763_683_200_000; // 2025-11-21T00:00:00Z
const MIN: Millis = 60_000;
const DAY: Millis = 86_400_000;

fn pid(n: u8) -> ProjectId {
    ProjectId::from_bytes([n; 12])
}

/// Project 7: a small site whose journeys are written out in [`hand_made_answer`].
fn hand_made() -> Vec<EnrichedEvent> {
    let p = pid(7);
    let mut n = 0;
    let mut ev = |visitor: u64, name: &str, at: Millis, path: &str| {
        n += 1;
        event(p, visitor, &format!("h{n:03}"), name, T0 + at, path)
    };
    vec![
        // Visitor 1: / (reloaded) -> /pricing -> signup -> /docs/a.
        ev(1, PAGEVIEW, 0, "/"),
        ev(1, PAGE_EXIT, MIN, "/"),
        ev(1, PAGEVIEW, MIN, "/"),
        ev(1, PATH_CHANGE, 2 * MIN, "/pricing"),
        ev(1, "signup", 3 * MIN, "/pricing"),
        ev(1, PATH_CHANGE, 4 * MIN, "/docs/a"),
        // Visitor 2: / -> /pricing, then a second visit an hour later: /docs/b -> /docs/a.
        ev(2, PAGEVIEW, 0, "/"),
        ev(2, PATH_CHANGE, MIN, "/pricing"),
        ev(2, PAGEVIEW, 90 * MIN, "/docs/b"),
        ev(2, PATH_CHANGE, 91 * MIN, "/docs/a"),
        // Visitor 3: /docs/a only, and an event in the same millisecond as its page view (the
        // page view comes first).
        ev(3, "download", 10 * MIN, "/docs/a"),
        ev(3, PAGEVIEW, 10 * MIN, "/docs/a"),
        // Visitor 4: / -> signup -> / (not a reload: an event in between).
        ev(4, PAGEVIEW, 0, "/"),
        ev(4, "signup", MIN, "/"),
        ev(4, PATH_CHANGE, 2 * MIN, "/"),
        // Visitor 5: a visit that starts the next day (out of the range below).
        ev(5, PAGEVIEW, DAY + MIN, "/"),
    ]
}

fn query(project: ProjectId, start: Option<&str>, depth: u32, limit: u32, filters: Vec<Filter>) -> JourneyQuery {
    JourneyQuery {
        project,
        from: T0,
        to: T0 + 3 * DAY,
        filters,
        start: start.map(|s| PagePattern::parse(s).unwrap()),
        depth: JourneyDepth::new(depth).unwrap(),
        limit: JourneyLimit::new(limit).unwrap(),
    }
}

/// The answer of project 7 from its first step, depth 3, first day, written out by hand.
fn hand_made_answer() -> Journeys {
    use crate::analytics::journeys::{DepthCount, LinkCount, NodeCount, PathCount};
    let node = |depth, step, visitors| NodeCount { depth, step, visitors };
    let link = |depth, from, to, visitors| LinkCount {
        depth,
        from,
        to,
        visitors,
    };
    let path = |steps: Vec<Step>, visitors| PathCount { steps, visitors };
    Journeys {
        nodes: vec![
            node(1, Step::page("/"), 3),
            node(1, Step::page("/docs/a"), 1),
            node(1, Step::page("/docs/b"), 1),
            node(2, Step::page("/pricing"), 2),
            node(2, Step::event("download"), 1),
            node(2, Step::event("signup"), 1),
            node(2, Step::page("/docs/a"), 1),
            node(3, Step::page("/"), 1),
            node(3, Step::event("signup"), 1),
        ],
        links: vec![
            link(1, Step::page("/"), Step::page("/pricing"), 2),
            link(1, Step::page("/"), Step::event("signup"), 1),
            link(1, Step::page("/docs/a"), Step::event("download"), 1),
            link(1, Step::page("/docs/b"), Step::page("/docs/a"), 1),
            link(2, Step::event("signup"), Step::page("/"), 1),
            link(2, Step::page("/pricing"), Step::event("signup"), 1),
        ],
        paths: vec![
            path(vec![Step::page("/"), Step::page("/pricing")], 1),
            path(vec![Step::page("/"), Step::page("/pricing"), Step::event("signup")], 1),
            path(vec![Step::page("/"), Step::event("signup"), Step::page("/")], 1),
            path(vec![Step::page("/docs/a"), Step::event("download")], 1),
            path(vec![Step::page("/docs/b"), Step::page("/docs/a")], 1),
        ],
        depths: vec![
            DepthCount {
                depth: 1,
                visitors: 4,
                drop_off: 0,
            },
            DepthCount {
                depth: 2,
                visitors: 4,
                drop_off: 2,
            },
            DepthCount {
                depth: 3,
                visitors: 2,
                drop_off: 1,
            },
        ],
    }
    .sorted()
}

/// Every event of the suite: the generated projects 1 and 2, and project 7.
fn all_events() -> Vec<EnrichedEvent> {
    let mut events = generated::generate();
    events.extend(hand_made());
    events
}

async fn ingest_in_batches(s: &dyn Store, events: &[EnrichedEvent]) {
    for batch in events.chunks(37) {
        s.ingest(batch).await.unwrap();
    }
}

fn filter(op: FilterOp, field: Field, values: &[&str]) -> Filter {
    Filter {
        op,
        field,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn journey_cases() -> Vec<(String, JourneyQuery)> {
    let mut cases = Vec::new();
    for project in [pid(1), pid(2), pid(7)] {
        for depth in 1..=MAX_JOURNEY_DEPTH {
            cases.push((
                format!("{project} depth {depth}"),
                query(project, None, depth, 10, vec![]),
            ));
        }
        for limit in [1, 2, 3, 50] {
            cases.push((
                format!("{project} limit {limit}"),
                query(project, None, 4, limit, vec![]),
            ));
        }
        for start in ["/", "/blog/*", "/docs*", "/*a*", "/nowhere"] {
            cases.push((
                format!("{project} from {start}"),
                query(project, Some(start), 4, 5, vec![]),
            ));
        }
    }
    let filters = [
        filter(FilterOp::Is, Field::Country, &["DE", ""]),
        filter(FilterOp::IsNot, Field::Page, &["/"]),
        filter(FilterOp::Contains, Field::ExitPage, &["blog"]),
        filter(FilterOp::Matches, Field::Source, &["^(Google|Twitter)$"]),
        filter(FilterOp::Is, Field::UtmCampaign, &["launch"]),
        filter(FilterOp::Is, Field::Device, &["desktop"]),
    ];
    for f in filters {
        cases.push((format!("filter {f:?}"), query(pid(1), None, 3, 10, vec![f.clone()])));
        cases.push((
            format!("filter {f:?} from /blog/*"),
            query(pid(1), Some("/blog/*"), 5, 3, vec![f]),
        ));
    }
    let mut narrow = query(pid(1), None, 3, 10, vec![]);
    narrow.from = T0 + DAY;
    narrow.to = T0 + DAY + 6 * 3_600_000;
    cases.push(("six hours of day 2".into(), narrow));
    cases
}

pub async fn journeys_match_brute_force(b: &dyn Backend) {
    let s = b.store();
    let events = all_events();
    ingest_in_batches(&*s, &events).await;
    let sessions = crate::analytics_conformance::folded(&events);

    let mut day_one = query(pid(7), None, 3, 10, vec![]);
    day_one.to = T0 + DAY;
    assert_eq!(
        journeys(&day_one, &events, &sessions),
        hand_made_answer(),
        "the brute force"
    );
    assert_eq!(s.journeys(&day_one).await.unwrap(), hand_made_answer(), "project 7");

    let mut non_empty = 0;
    for (name, q) in journey_cases() {
        let want = journeys(&q, &events, &sessions);
        non_empty += usize::from(!want.nodes.is_empty());
        let got = s.journeys(&q).await.unwrap();
        assert_eq!(got, want, "{name}");
    }
    assert!(non_empty > 40, "the cases mostly have journeys ({non_empty})");
}

// --- the session explorer -----------------------------------------------------------------------

fn list_query(project: ProjectId, limit: usize) -> SessionListQuery {
    SessionListQuery {
        project,
        from: T0,
        to: T0 + 3 * DAY,
        filters: vec![],
        min_duration_ms: None,
        max_duration_ms: None,
        min_pageviews: None,
        max_pageviews: None,
        after: None,
        limit,
    }
}

fn ids(sessions: &[Session]) -> Vec<String> {
    sessions.iter().map(|s| s.id.clone()).collect()
}

pub async fn session_list_pages_match_brute_force(b: &dyn Backend) {
    let s = b.store();
    let events = all_events();
    ingest_in_batches(&*s, &events).await;
    // The stores' own sessions (their ids are minted at ingest): their folding is checked by the
    // sessions cases.
    let mut stored = s.sessions(&pid(1), 0, T0 + 10 * DAY).await.unwrap();
    stored.extend(s.sessions(&pid(7), 0, T0 + 10 * DAY).await.unwrap());
    assert!(stored.len() > 60);

    let mut cases: Vec<(String, SessionListQuery)> = Vec::new();
    for limit in [1, 7, 25, 100] {
        cases.push((format!("limit {limit}"), list_query(pid(1), limit)));
    }
    let mut q = list_query(pid(1), 10);
    q.filters = vec![filter(FilterOp::Is, Field::Browser, &["Chrome", "Safari"])];
    cases.push(("browser".into(), q.clone()));
    q.filters = vec![filter(FilterOp::Contains, Field::Page, &["blog"])];
    cases.push(("entry page".into(), q.clone()));
    q.filters = vec![];
    q.min_duration_ms = Some(5 * MIN as u64);
    cases.push(("min duration".into(), q.clone()));
    q.max_duration_ms = Some(20 * MIN as u64);
    cases.push(("duration between".into(), q.clone()));
    q = list_query(pid(1), 10);
    q.min_pageviews = Some(2);
    cases.push(("min pageviews".into(), q.clone()));
    q.max_pageviews = Some(3);
    cases.push(("pageviews between".into(), q.clone()));
    q = list_query(pid(1), 10);
    q.max_pageviews = Some(0);
    cases.push(("no pageviews".into(), q.clone()));
    q = list_query(pid(1), 5);
    q.from = T0 + DAY;
    q.to = T0 + 2 * DAY;
    cases.push(("day 2".into(), q));
    cases.push(("project 7".into(), list_query(pid(7), 2)));

    for (name, first) in cases {
        // Every page, following the cursor, against the brute force's pages.
        let mut q = first.clone();
        let mut seen: Vec<String> = Vec::new();
        for page in 0.. {
            let want = session_list(&q, &stored);
            let got = s.session_list(&q).await.unwrap();
            assert_eq!(ids(&got), ids(&want), "{name}, page {page}");
            assert_eq!(got, want, "{name}, page {page}: the sessions");
            seen.extend(ids(&got));
            match got.last() {
                Some(last) if got.len() == q.limit => q.after = SessionCursor::after(last),
                _ => break,
            }
        }
        let whole = session_list(
            &SessionListQuery {
                limit: usize::MAX,
                ..first.clone()
            },
            &stored,
        );
        assert_eq!(seen, ids(&whole), "{name}: the pages together are the whole list");
    }
}

pub async fn session_detail_is_the_sessions_events_in_order(b: &dyn Backend) {
    let s = b.store();
    let events = all_events();
    ingest_in_batches(&*s, &events).await;
    let stored = s.sessions(&pid(1), 0, T0 + 10 * DAY).await.unwrap();
    let mut longest = 0;
    for session in &stored {
        let id = SessionId::parse(&session.id).unwrap();
        assert_eq!(s.session(&pid(1), &id).await.unwrap().as_ref(), Some(session));
        assert_eq!(
            s.session(&pid(2), &id).await.unwrap(),
            None,
            "another project's session"
        );
        let want = session_events(session, &events, 1000);
        assert_eq!(s.session_events(session, 1000).await.unwrap(), want, "{}", session.id);
        assert_eq!(want.len() as u32, session.events, "every event of the session");
        longest = longest.max(want.len());
        if want.len() > 2 {
            assert_eq!(
                s.session_events(session, 2).await.unwrap(),
                want[..2].to_vec(),
                "truncated"
            );
        }
    }
    assert!(longest > 3);
    let unknown = SessionId::parse("0123456789abcdef01234567").unwrap();
    assert_eq!(s.session(&pid(1), &unknown).await.unwrap(), None);
}
