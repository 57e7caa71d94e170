//! The conformance cases of goals ([`Store::create_goal`], [`Store::goals_of`],
//! [`Store::delete_goal`], goals deleted with their project) and of the raw aggregations' goal
//! parts (page goals' conversions, goal filters, grouping by goal), run by
//! [`conformance_tests!`](crate::conformance_tests) with the others.

use contract::ids::ProjectId;

use crate::analytics::rollup::DAY_MS;
use crate::analytics::{EventCounters, Field, FilterOp, RawQuery, TimeBuckets};
use crate::analytics_conformance::{expected_events, folded, generate, ingest_shuffled, T0};
use crate::conformance::Backend;
use crate::*;

const MIN: Millis = 60_000;

fn owner() -> User {
    User {
        id: UserId::new(T0),
        email: Email::parse("ada@example.com").unwrap(),
        password_hash: "$argon2id$test".into(),
        created_at: T0,
    }
}

fn project(owner: &User, name: &str) -> Project {
    Project {
        id: ids::new_project_id(T0),
        owner: owner.id,
        name: Name::parse(name).unwrap(),
        domain: None,
        timezone: TimeZoneName::utc(),
        created_at: T0,
    }
}

fn goal(project: &Project, kind: GoalKind, at: Millis) -> Goal {
    Goal {
        id: GoalId::new(at),
        project: project.id,
        kind,
        created_at: at,
    }
}

fn event_goal(name: &str) -> GoalKind {
    GoalKind::event(name).unwrap()
}

fn page_goal(pattern: &str) -> GoalKind {
    GoalKind::page(pattern).unwrap()
}

/// Goals are listed oldest first per project, refused twice in one project, and deleted only
/// through their own project.
pub async fn goals_are_created_listed_and_deleted(b: &dyn Backend) {
    let s = b.store();
    let ada = owner();
    s.create_user(&ada).await.unwrap();
    let (blog, shop) = (project(&ada, "Blog"), project(&ada, "Shop"));
    s.create_project(&blog).await.unwrap();
    s.create_project(&shop).await.unwrap();
    assert_eq!(s.goals_of(&blog.id).await.unwrap(), vec![]);

    let signup = goal(&blog, event_goal("signup"), T0 + 2 * MIN);
    let docs = goal(&blog, page_goal("/docs/*"), T0);
    let pricing = goal(&blog, page_goal("/pricing"), T0 + MIN);
    // Same time as `signup`: listed after or before it by id.
    let tie = goal(&blog, page_goal("/signup"), T0 + 2 * MIN);
    let shops = goal(&shop, event_goal("signup"), T0);
    for g in [&signup, &docs, &pricing, &tie, &shops] {
        s.create_goal(g).await.unwrap();
    }
    let mut tied = vec![signup.clone(), tie.clone()];
    tied.sort_by_key(|g| g.id);
    let mut want = vec![docs.clone(), pricing.clone()];
    want.extend(tied);
    assert_eq!(s.goals_of(&blog.id).await.unwrap(), want, "oldest first, ties by id");
    assert_eq!(s.goals_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    assert_eq!(s.goals_of(&ids::new_project_id(T0)).await.unwrap(), vec![]);

    // The same goal twice in one project is a conflict; the same value as another kind is not.
    let again = goal(&blog, page_goal("/docs/*"), T0 + 9 * MIN);
    assert!(matches!(s.create_goal(&again).await, Err(StoreError::Conflict(_))));
    let event_named_like_a_path = goal(&blog, GoalKind::Event("/pricing".into()), T0 + 6 * MIN);
    s.create_goal(&event_named_like_a_path).await.unwrap();
    assert_eq!(s.goals_of(&blog.id).await.unwrap().len(), 5);

    // A goal is deleted through its own project only.
    assert!(!s.delete_goal(&shop.id, &docs.id).await.unwrap());
    assert!(s.delete_goal(&blog.id, &docs.id).await.unwrap());
    assert!(!s.delete_goal(&blog.id, &docs.id).await.unwrap());
    assert!(!s.delete_goal(&blog.id, &GoalId::new(T0)).await.unwrap());
    let left = s.goals_of(&blog.id).await.unwrap();
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&docs));
    assert_eq!(s.goals_of(&shop.id).await.unwrap(), vec![shops.clone()]);
    // Deleted, it can be added again.
    s.create_goal(&again).await.unwrap();
    assert_eq!(s.goals_of(&blog.id).await.unwrap().last(), Some(&again));
}

/// Deleting a project deletes its goals, and only its goals.
pub async fn deleting_a_project_deletes_its_goals(b: &dyn Backend) {
    let s = b.store();
    let ada = owner();
    s.create_user(&ada).await.unwrap();
    let (doomed, kept) = (project(&ada, "Doomed"), project(&ada, "Kept"));
    s.create_project(&doomed).await.unwrap();
    s.create_project(&kept).await.unwrap();
    let doomed_goal = goal(&doomed, event_goal("signup"), T0);
    let kept_goal = goal(&kept, event_goal("signup"), T0);
    s.create_goal(&doomed_goal).await.unwrap();
    s.create_goal(&kept_goal).await.unwrap();
    assert!(s.delete_project(&doomed.id).await.unwrap());
    assert_eq!(s.goals_of(&doomed.id).await.unwrap(), vec![]);
    assert!(!s.delete_goal(&doomed.id, &doomed_goal.id).await.unwrap());
    assert_eq!(s.goals_of(&kept.id).await.unwrap(), vec![kept_goal]);
}

fn pid(n: u8) -> ProjectId {
    ProjectId::from_bytes([n; 12])
}

/// Raw event aggregations with page goals, goal filters and grouping by goal equal the brute
/// force (the generated data has page views of every page and the custom events `signup`,
/// `purchase` and `download`).
pub async fn raw_goal_aggregates_match_brute_force(b: &dyn Backend) {
    let s = b.store();
    let events = generate();
    ingest_shuffled(&*s, &events, 3).await;
    let sessions = folded(&events);
    let all = || RawQuery {
        project: pid(1),
        from: T0 - DAY_MS,
        to: T0 + 4 * DAY_MS,
        filters: vec![],
        group: vec![],
        time: None,
        goal: None,
        goal_filters: vec![],
        by_goal: vec![],
        counters: EventCounters::All,
    };
    let with = |f: &dyn Fn(&mut RawQuery)| {
        let mut q = all();
        f(&mut q);
        q
    };
    let days = TimeBuckets {
        bounds: (0..=3).map(|d| T0 + d * DAY_MS).collect(),
        labels: vec![20_000, 20_001, 20_002],
    };
    let source_filter = |op, values: &[&str]| crate::analytics::Filter {
        op,
        field: Field::Source,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    // Every kind of goal: an event, one page, a wildcard matching several, a pattern with
    // characters GLOB and regular expressions treat as special, one nobody reaches.
    let every_goal = vec![
        event_goal("signup"),
        page_goal("/pricing"),
        page_goal("/blog/*"),
        page_goal("/blog/a*"),
        page_goal("/docs?[x].*"),
        event_goal("nothing"),
        page_goal("/*"),
    ];
    let cases: Vec<(&str, RawQuery)> = vec![
        ("page goal", with(&|q| q.goal = Some(page_goal("/pricing")))),
        (
            "wildcard page goal x source",
            with(&|q| {
                q.goal = Some(page_goal("/blog/*"));
                q.group = vec![Field::Source];
            }),
        ),
        (
            "page goal x day buckets x page",
            with(&|q| {
                q.goal = Some(page_goal("/blog/a*"));
                q.time = Some(days.clone());
                q.group = vec![Field::Page];
            }),
        ),
        (
            "page goal nobody reaches",
            with(&|q| q.goal = Some(page_goal("/docs?[x].*"))),
        ),
        (
            "is goal (event)",
            with(&|q| q.goal_filters = vec![vec![event_goal("signup")]]),
        ),
        (
            "is goal (page or event) x event name",
            with(&|q| {
                q.goal_filters = vec![vec![page_goal("/blog/*"), event_goal("purchase")]];
                q.group = vec![Field::EventName];
            }),
        ),
        (
            "two goal filters and a session-side filter",
            with(&|q| {
                q.goal_filters = vec![
                    vec![page_goal("/blog/*")],
                    vec![page_goal("/blog/a*"), page_goal("/docs")],
                ];
                q.filters = vec![source_filter(FilterOp::IsNot, &["Google"])];
                q.group = vec![Field::Page];
            }),
        ),
        (
            "an empty goal filter keeps nothing",
            with(&|q| q.goal_filters = vec![vec![]]),
        ),
        ("by goal", with(&|q| q.by_goal = every_goal.clone())),
        (
            "by goal x source, with a goal",
            with(&|q| {
                q.by_goal = every_goal.clone();
                q.group = vec![Field::Source];
                q.goal = Some(event_goal("signup"));
            }),
        ),
        (
            "by goal x day buckets, filtered",
            with(&|q| {
                q.by_goal = every_goal.clone();
                q.time = Some(days.clone());
                q.filters = vec![source_filter(FilterOp::Is, &["Google", ""])];
            }),
        ),
        (
            "by goal under a goal filter",
            with(&|q| {
                q.by_goal = every_goal.clone();
                q.goal_filters = vec![vec![page_goal("/blog/*")]];
            }),
        ),
    ];
    let mut nonempty = 0;
    for (name, q) in &cases {
        let mut got = s.aggregate_events(q).await.unwrap();
        got.sort_by(|a, b| (&a.keys, a.bucket).cmp(&(&b.keys, b.bucket)));
        let want = expected_events(q, &events, &sessions);
        nonempty += usize::from(want.iter().any(|g| g.visitors > 0));
        assert_eq!(got, want, "aggregate_events, case {name:?}: {q:?}");
    }
    assert!(nonempty >= cases.len() - 2, "the cases must have data: {nonempty}");
    // Page goals convert somebody, and not everybody.
    let q = with(&|q| q.goal = Some(page_goal("/pricing")));
    let total = &expected_events(&q, &events, &sessions)[0];
    assert!(0 < total.converted && total.converted < total.visitors, "{total:?}");
    // Sessions ignore goals: their aggregation equals the one without.
    let plain = s.aggregate_sessions(&all()).await.unwrap();
    let with_goals = s
        .aggregate_sessions(&with(&|q| {
            q.goal = Some(page_goal("/pricing"));
            q.by_goal = every_goal.clone();
        }))
        .await
        .unwrap();
    assert_eq!(with_goals, plain);
}
