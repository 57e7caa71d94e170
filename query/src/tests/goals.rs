use serde_json::{json, Value};
use store::analytics::FilterOp;
use store::{Goal, GoalId, GoalKind};

use super::*;
use crate::goals::{resolve, GoalFilter, GoalRef};
use crate::request::*;

const NOW: Millis = 1_772_982_000_000; // 2026-03-08T15:00:00Z

fn body(pairs: &[(&str, Value)]) -> Value {
    let mut body = json!({ "project_id": PROJECT, "metrics": ["visitors"], "date_range": "7d" });
    for (key, value) in pairs {
        body[*key] = value.clone();
    }
    body
}

fn ok(pairs: &[(&str, Value)]) -> Query {
    let body = body(pairs);
    parse_query(&body, NOW).unwrap_or_else(|e| panic!("{body}: {e}"))
}

fn refused(pairs: &[(&str, Value)]) -> QueryError {
    let body = body(pairs);
    match parse_query(&body, NOW) {
        Ok(q) => panic!("{body} was accepted: {q:?}"),
        Err(e) => e,
    }
}

fn goals() -> Vec<Goal> {
    let project = contract::ids::ProjectId::parse(PROJECT).unwrap();
    let goal = |n: u8, kind: GoalKind| Goal {
        id: GoalId::from_bytes([n; 12]),
        project,
        kind,
        created_at: i64::from(n),
    };
    vec![
        goal(1, GoalKind::event("signup").unwrap()),
        goal(2, GoalKind::page("/docs/*").unwrap()),
        goal(3, GoalKind::page("/pricing").unwrap()),
    ]
}

#[test]
fn the_goal_is_an_event_a_page_or_a_stored_goal() {
    let cr = ("metrics", json!(["conversion_rate"]));
    let event = GoalRef::Kind(GoalKind::Event("signup".into()));
    assert_eq!(ok(&[cr.clone(), ("goal", json!("signup"))]).goal, Some(event.clone()));
    assert_eq!(
        ok(&[cr.clone(), ("goal", json!({"event": "signup"}))]).goal,
        Some(event)
    );
    assert_eq!(
        ok(&[cr.clone(), ("goal", json!({"page": "/docs/*"}))]).goal,
        Some(GoalRef::Kind(GoalKind::page("/docs/*").unwrap()))
    );
    let id = "020202020202020202020202";
    let q = ok(&[cr.clone(), ("goal", json!({ "id": id }))]);
    assert_eq!(q.goal, Some(GoalRef::Id(GoalId::parse(id).unwrap())));
    assert!(q.needs_project_goals());
    assert_eq!(
        resolve(&q, &goals()).unwrap().conversion,
        Some(GoalKind::page("/docs/*").unwrap())
    );
    let e = resolve(&q, &goals()[..1]).unwrap_err();
    assert_eq!(e.field, "goal.id");

    for (goal, field) in [
        (json!({"page": "docs"}), "goal.page"),
        (json!({"id": "xyz"}), "goal.id"),
        (json!({"event": ""}), "goal.event"),
        (json!({"event": "a", "page": "/"}), "goal"),
        (json!({"url": "/"}), "goal"),
        (json!({}), "goal"),
        (json!(7), "goal"),
    ] {
        assert_eq!(refused(&[cr.clone(), ("goal", goal.clone())]).field, field, "{goal}");
    }
}

#[test]
fn goal_filters_keep_the_named_goals_or_the_others() {
    let q = ok(&[(
        "filters",
        json!([
            ["is", "country", ["FR"]],
            ["is", "goal", ["signup", "Visit /docs/*"]],
            ["is_not", "goal", ["signup"]]
        ]),
    )]);
    assert_eq!(q.filters.len(), 1);
    assert_eq!(
        q.goal_filters,
        vec![
            GoalFilter {
                at: 1,
                op: FilterOp::Is,
                names: vec!["signup".into(), "Visit /docs/*".into()]
            },
            GoalFilter {
                at: 2,
                op: FilterOp::IsNot,
                names: vec!["signup".into()]
            },
        ]
    );
    let plan = resolve(&q, &goals()).unwrap();
    let g = goals();
    assert_eq!(
        plan.filters,
        vec![
            vec![g[0].kind.clone(), g[1].kind.clone()],
            vec![g[1].kind.clone(), g[2].kind.clone()]
        ]
    );
    assert!(plan.rows.is_empty(), "no goal dimension");

    let q = ok(&[(
        "filters",
        json!([["is", "page", ["/"]], ["is", "goal", ["signup", "Nope"]]]),
    )]);
    let e = resolve(&q, &goals()).unwrap_err();
    assert_eq!(e.field, "filters[1][2][1]");
    assert!(e.message.contains("signup, Visit /docs/*, Visit /pricing"), "{e}");
    assert!(resolve(&q, &[]).unwrap_err().message.contains("none yet"));

    let e = refused(&[("filters", json!([["contains", "goal", ["sign"]]]))]);
    assert_eq!(e.field, "filters[0][0]");
    let e = refused(&[
        ("metrics", json!(["visitors", "bounce_rate"])),
        ("filters", json!([["is", "page", ["/"]], ["is", "goal", ["signup"]]])),
    ]);
    assert_eq!(e.field, "filters[1][1]");
    // A field filter after a goal filter is named by its index in the request.
    let e = refused(&[
        ("metrics", json!(["visits"])),
        (
            "filters",
            json!([["is", "goal", ["signup"]], ["is", "event_name", ["x"]]]),
        ),
    ]);
    assert_eq!(e.field, "filters[1][1]");
    let e = refused(&[
        ("metrics", json!(["visits"])),
        ("filters", json!([["is", "page", ["/"]], ["is", "event_name", ["x"]]])),
    ]);
    assert_eq!(e.field, "filters[1][1]");
}

#[test]
fn the_goal_dimension_has_a_row_per_goal_and_goal_metrics() {
    let q = ok(&[
        ("metrics", json!(["visitors", "events", "conversion_rate"])),
        ("dimensions", json!(["goal"])),
        ("filters", json!([["is_not", "goal", ["Visit /pricing"]]])),
    ]);
    assert_eq!(q.columns(), ["goal", "visitors", "events", "conversion_rate"]);
    assert_eq!(q.limit, usize::MAX, "every goal");
    let plan = resolve(&q, &goals()).unwrap();
    let names: Vec<&str> = plan.rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["signup", "Visit /docs/*"],
        "the filter picks the rows, oldest first"
    );
    assert_eq!(plan.conversion, None);

    let q = ok(&[("dimensions", json!(["source", "goal", "time:day"]))]);
    assert_eq!(q.columns(), ["source", "goal", "time:day", "visitors"]);
    assert_eq!(q.limit, DEFAULT_LIMIT);

    let e = refused(&[
        ("dimensions", json!(["goal"])),
        ("metrics", json!(["visitors", "pageviews"])),
    ]);
    assert_eq!(e.field, "metrics[1]");
    let e = refused(&[
        ("dimensions", json!(["goal"])),
        ("metrics", json!(["conversion_rate"])),
        ("goal", json!("signup")),
    ]);
    assert_eq!(e.field, "goal");
    let e = refused(&[("dimensions", json!(["goal", "goal"]))]);
    assert_eq!(e.field, "dimensions[1]");
}
