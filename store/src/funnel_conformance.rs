//! The conformance cases of funnels ([`Store::funnel`] and the saved funnels), run by
//! [`conformance_tests!`](crate::conformance_tests) with the others.
//!
//! Funnels are checked against [`brute_force`] on the analytics suite's generated data
//! ([`crate::analytics_conformance::generate`]: page views, path changes, exits and `signup`,
//! `purchase` and `download` events of two projects whose visitor ids coincide), plus visits made
//! for the edge cases: a page view, a path change and two custom events in one millisecond (the
//! order key decides), a session that starts just before the range's end and reaches its steps
//! after it, and one that starts before the range and is out of scope.

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;

use crate::analytics::funnel::{brute_force, CustomEventName, FunnelQuery, FunnelStep, FunnelSteps};
use crate::analytics::rollup::DAY_MS;
use crate::analytics::{Field, Filter, FilterOp, PagePattern};
use crate::analytics_conformance::generate;
use crate::conformance::Backend;
use crate::funnels::{SavedFunnel, SavedFunnelStep, SavedFunnelSteps};
use crate::ids::FunnelId;
use crate::sessions::testing::event;
use crate::{Millis, Name, Project, Store, TimeZoneName, User, UserId};

const T0: Millis = 1_763_683_200_000; // the analytics suite's first day
const MIN: Millis = 60_000;

fn pid(n: u8) -> ProjectId {
    ProjectId::from_bytes([n; 12])
}

/// The edge-case visits (project 1, visitors the generated data does not have).
fn edge_cases() -> Vec<EnrichedEvent> {
    let p = pid(1);
    let noon = T0 + 12 * 60 * MIN;
    let mut out = vec![
        // One millisecond: the path change (rank 1) comes before both custom events (rank 2),
        // which come in id order ("t0" before "tB"); the page view "tA" before all.
        event(p, 901, "tA", "pageview", noon, "/"),
        event(p, 901, "tB", "signup", noon + 1_000, "/"),
        event(p, 901, "t0", "purchase", noon + 1_000, "/"),
        event(p, 901, "tZ", "path_change", noon + 1_000, "/pricing"),
        event(p, 901, "tC", "path_change", noon + 9_000, "/"),
        // Starts 2 minutes before the end of day 2 (the range of some queries), goes on after it.
        event(p, 902, "uA", "pageview", T0 + 2 * DAY_MS - 2 * MIN, "/"),
        event(p, 902, "uB", "path_change", T0 + 2 * DAY_MS + 3 * MIN, "/pricing"),
        event(p, 902, "uC", "signup", T0 + 2 * DAY_MS + 4 * MIN, "/pricing"),
        // Starts 5 minutes before the first day: out of the range of every query starting at T0.
        event(p, 903, "vA", "pageview", T0 - 5 * MIN, "/"),
        event(p, 903, "vB", "path_change", T0 + 5 * MIN, "/pricing"),
        event(p, 903, "vC", "signup", T0 + 6 * MIN, "/pricing"),
    ];
    // A visitor repeating the whole flow in two sessions of one day: counted once.
    for (i, start) in [T0 + 3 * 60 * MIN, T0 + 6 * 60 * MIN].into_iter().enumerate() {
        out.push(event(p, 904, &format!("w{i}a"), "pageview", start, "/"));
        out.push(event(p, 904, &format!("w{i}b"), "path_change", start + MIN, "/pricing"));
        out.push(event(p, 904, &format!("w{i}c"), "signup", start + 3 * MIN, "/pricing"));
    }
    out
}

fn page(p: &str) -> FunnelStep {
    FunnelStep::Page(PagePattern::parse(p).expect("page pattern"))
}

fn custom(n: &str) -> FunnelStep {
    FunnelStep::Event(CustomEventName::parse(n).expect("event name"))
}

fn filter(op: FilterOp, field: Field, values: &[&str]) -> Filter {
    Filter {
        op,
        field,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn funnel(project: ProjectId, from: Millis, to: Millis, filters: Vec<Filter>, steps: Vec<FunnelStep>) -> FunnelQuery {
    FunnelQuery {
        project,
        from,
        to,
        filters,
        steps: FunnelSteps::new(steps).expect("2 to 8 steps"),
    }
}

fn cases() -> Vec<(&'static str, FunnelQuery)> {
    let (p, all) = (pid(1), T0 + 3 * DAY_MS + DAY_MS);
    vec![
        (
            "home then pricing",
            funnel(p, T0, all, vec![], vec![page("/"), page("/pricing")]),
        ),
        (
            "any page, signup, purchase",
            funnel(
                p,
                T0,
                all,
                vec![],
                vec![page("/*"), custom("signup"), custom("purchase")],
            ),
        ),
        (
            "a pattern three times",
            funnel(
                p,
                T0,
                all,
                vec![],
                vec![page("/blog/*"), page("/blog/*"), page("/blog/*")],
            ),
        ),
        (
            "pricing then signup in one millisecond",
            funnel(p, T0, all, vec![], vec![page("/pricing"), custom("signup")]),
        ),
        (
            "a custom event before a page in the same millisecond",
            funnel(
                p,
                T0,
                all,
                vec![],
                vec![custom("purchase"), custom("signup"), page("/")],
            ),
        ),
        (
            "two days: a session going on past the end counts whole",
            funnel(
                p,
                T0,
                T0 + 2 * DAY_MS,
                vec![],
                vec![page("/"), page("/pricing"), custom("signup")],
            ),
        ),
        (
            "the second day",
            funnel(p, T0 + DAY_MS, T0 + 2 * DAY_MS, vec![], vec![page("/*"), page("/docs")]),
        ),
        (
            "session filters",
            funnel(
                p,
                T0,
                all,
                vec![
                    filter(FilterOp::Is, Field::Country, &["DE", "FR"]),
                    filter(FilterOp::IsNot, Field::Browser, &["Safari"]),
                ],
                vec![page("/*"), custom("download")],
            ),
        ),
        (
            "page means the entry page; contains and matches",
            funnel(
                p,
                T0,
                all,
                vec![
                    filter(FilterOp::Is, Field::Page, &["/", "/pricing", "/blog/a"]),
                    filter(FilterOp::Contains, Field::Source, &["oo", "itt"]),
                    filter(FilterOp::Matches, Field::Referrer, &["^https://"]),
                ],
                vec![page("/*"), page("/*")],
            ),
        ),
        (
            "eight steps",
            funnel(
                p,
                T0,
                all,
                vec![filter(FilterOp::IsNot, Field::ExitPage, &["/docs"])],
                vec![
                    page("/*"),
                    page("/*"),
                    page("/*"),
                    page("/b*"),
                    page("/*"),
                    custom("signup"),
                    page("/*"),
                    page("/*"),
                ],
            ),
        ),
        (
            "the other project (same visitor ids)",
            funnel(pid(2), T0, all, vec![], vec![page("/*"), page("/*")]),
        ),
        (
            "a project without data",
            funnel(pid(3), T0, all, vec![], vec![page("/"), custom("signup")]),
        ),
        (
            "an empty range",
            funnel(p, T0 - DAY_MS, T0 - MIN * 10, vec![], vec![page("/"), page("/pricing")]),
        ),
    ]
}

pub async fn funnels_match_brute_force(b: &dyn Backend) {
    let s = b.store();
    let mut events = generate();
    events.extend(edge_cases());
    for chunk in events.chunks(97) {
        s.ingest(chunk).await.expect("ingest");
    }
    let sessions = crate::analytics_conformance::folded(&events);
    let mut nonzero = 0;
    for (name, q) in cases() {
        let want = brute_force(&q, &events, &sessions);
        let got = s.funnel(&q).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
        nonzero += usize::from(want.steps.last().is_some_and(|l| l.visitors > 0));
    }
    assert!(nonzero >= 6, "most cases reach their last step: {nonzero}");
    // The made-up cases really are what they claim: the same-millisecond order decides.
    let same_ms = brute_force(&cases()[3].1, &events, &sessions);
    assert!(same_ms.steps[1].median_ms_from_previous.is_some());
}

async fn project(s: &dyn Store, n: u8) -> ProjectId {
    let owner = UserId::from_bytes([n; 12]);
    s.create_user(&User {
        id: owner,
        email: crate::Email::parse(&format!("funnels{n}@example.com")).expect("email"),
        password_hash: "x".into(),
        created_at: T0,
    })
    .await
    .expect("user");
    let id = pid(n);
    s.create_project(&Project {
        id,
        owner,
        name: Name::parse("Funnels").expect("name"),
        domain: None,
        timezone: TimeZoneName::utc(),
        created_at: T0,
    })
    .await
    .expect("project");
    id
}

fn saved(id: u8, project: ProjectId, name: &str, created_at: Millis) -> SavedFunnel {
    let steps = vec![
        SavedFunnelStep::Page(PagePattern::parse("/docs/*").expect("pattern")),
        SavedFunnelStep::Event(CustomEventName::parse("signup").expect("name")),
        SavedFunnelStep::Goal("0123456789abcdef01234567".into()),
    ];
    SavedFunnel {
        id: FunnelId::from_bytes([id; 12]),
        project,
        name: Name::parse(name).expect("name"),
        steps: SavedFunnelSteps::new(steps).expect("steps"),
        created_at,
    }
}

pub async fn saved_funnels_round_trip_and_go_with_their_project(b: &dyn Backend) {
    let s = b.store();
    let (p, q) = (project(&*s, 11).await, project(&*s, 12).await);
    let (first, second, theirs) = (
        saved(1, p, "Sign-up", T0 + 2),
        saved(2, p, "Docs to sign-up ü", T0 + 1),
        saved(3, q, "Other", T0),
    );
    for f in [&first, &second, &theirs] {
        s.create_saved_funnel(f).await.expect("create");
    }
    assert!(matches!(
        s.create_saved_funnel(&first).await,
        Err(crate::StoreError::Conflict(_))
    ));
    assert_eq!(
        s.saved_funnels_of(&p).await.unwrap(),
        vec![second.clone(), first.clone()],
        "oldest first"
    );
    assert_eq!(s.saved_funnels_of(&q).await.unwrap(), vec![theirs.clone()]);
    // Another project's id does not delete it.
    assert!(!s.delete_saved_funnel(&p, &theirs.id).await.unwrap());
    assert!(s.delete_saved_funnel(&p, &first.id).await.unwrap());
    assert!(!s.delete_saved_funnel(&p, &first.id).await.unwrap());
    assert_eq!(s.saved_funnels_of(&p).await.unwrap(), vec![second]);
    assert!(s.delete_project(&p).await.unwrap());
    assert_eq!(s.saved_funnels_of(&p).await.unwrap(), vec![]);
    assert_eq!(s.saved_funnels_of(&q).await.unwrap(), vec![theirs]);
}
