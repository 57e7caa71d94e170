//! The query API against an independently computed ground truth, on both stores.
//!
//! A seeded generator makes a realistic dataset (visitors in several countries, visits crossing
//! midnight, custom events with props), which is ingested in shuffled batches through
//! `Store::ingest`, and the rollups are rebuilt as the collector's worker does. Then each query
//! is answered by the engine twice (rollups where it can, and forced raw) and compared with the
//! numbers computed here by brute force: plain loops over the generated events and the sessions
//! `store::sessions::fold` makes of them, with local times from `chrono-tz` directly. Counts must
//! match exactly (the dataset stays under the sketch's exact limit), averages to the cent.
//! The same queries then run on SQLite and on MongoDB and must give identical answers.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Timelike};
use chrono_tz::Tz;
use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use query::dataset::{generate, Shape};
use query::engine::{self, EngineOptions};
use query::goals::GoalRef;
use query::{parse_query, Dimension, Metric, Query, TimeUnit, Value};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value as Json};
use store::analytics::{event_value, session_value, Field, FilterOp};
use store::sessions::Session;
use store::{Goal, GoalId, GoalKind, Millis, Store};

/// 2026-03-26T00:00:00Z: the data spans the end of March, so Europe/Berlin changes to summer
/// time (2026-03-29) inside it.
const T0: Millis = 1_774_483_200_000;
const NOW: Millis = T0 + 6 * 86_400_000;

fn project() -> ProjectId {
    ProjectId::parse("65f0a1b2c3d4e5f601234567").unwrap()
}

fn dataset() -> Vec<EnrichedEvent> {
    let shape = Shape {
        project: project(),
        seed: 7,
        start: T0,
        days: 5,
        visitors: 120,
        visits_per_visitor: 2.5,
        pages: 25,
    };
    let mut all = Vec::new();
    generate(&shape, 1000, |b| all.extend(b));
    // Visits across midnight: UTC (23:50 -> 00:20 on 03-27/28) and Berlin's (22:40 -> 23:20 UTC,
    // local 23:40 -> 00:20 on 03-26/27), each a page view, an exit, a path change and an exit.
    let template = all[0].clone();
    for (n, (start, visitor)) in [
        (T0 + 86_400_000 + 23 * 3_600_000 + 50 * 60_000, 901u64),
        (T0 + 22 * 3_600_000 + 40 * 60_000, 902),
    ]
    .into_iter()
    .enumerate()
    {
        let at = |min: i64| start + min * 60_000;
        let mut e = |i: usize, name: &str, t: Millis, path: &str| {
            let mut e = template.clone();
            e.id = contract::ids::EventId::parse(&format!("midnight-{n}-{i}")).unwrap();
            e.name = name.to_owned();
            e.occurred_at = t;
            e.received_at = t;
            e.path = path.to_owned();
            e.visitor_id = contract::enrich::VisitorId(visitor);
            e.duration_ms = (name == "page_exit").then_some(600_000);
            e.scroll_depth = (name == "page_exit").then_some(50);
            all.push(e);
        };
        e(0, "pageview", at(0), "/late");
        e(1, "page_exit", at(15), "/late");
        e(2, "path_change", at(15), "/later");
        e(3, "page_exit", at(30), "/later");
    }
    all
}

/// The project's goals: custom events, a page, pages under a wildcard and a pattern matching
/// `/blog` and the posts under it. Fixed ids, so the queries can name them.
fn goals() -> Vec<Goal> {
    let goal = |n: u8, kind: GoalKind| Goal {
        id: GoalId::from_bytes([n; 12]),
        project: project(),
        kind,
        created_at: T0 + i64::from(n),
    };
    vec![
        goal(1, GoalKind::event("signup").unwrap()),
        goal(2, GoalKind::page("/pricing").unwrap()),
        goal(3, GoalKind::page("/docs/*").unwrap()),
        goal(4, GoalKind::event("signup_click").unwrap()),
        goal(5, GoalKind::page("/blog*").unwrap()),
        goal(6, GoalKind::page("/nowhere/*").unwrap()),
    ]
}

async fn load(store: &dyn Store, events: &[EnrichedEvent]) {
    // Goals belong to a project record (events need none).
    let owner = store::User {
        id: store::UserId::new(T0),
        email: store::Email::parse("owner@example.com").unwrap(),
        password_hash: "$argon2id$test".into(),
        created_at: T0,
    };
    store.create_user(&owner).await.unwrap();
    let site = store::Project {
        id: project(),
        owner: owner.id,
        name: store::Name::parse("Ground truth").unwrap(),
        domain: None,
        timezone: store::TimeZoneName::utc(),
        created_at: T0,
    };
    store.create_project(&site).await.unwrap();
    for goal in goals() {
        store.create_goal(&goal).await.unwrap();
    }
    let mut shuffled = events.to_vec();
    shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(11));
    for chunk in shuffled.chunks(97) {
        store.ingest(chunk).await.unwrap();
    }
    while engine::rebuild_dirty(store, 64, i64::MIN).await.unwrap() > 0 {}
}

// --- brute force -------------------------------------------------------------------------------

fn local(tz: Tz, t: Millis) -> chrono::NaiveDateTime {
    DateTime::from_timestamp_millis(t)
        .unwrap()
        .with_timezone(&tz)
        .naive_local()
}

/// The label of an instant in a time dimension, computed from its local wall time.
fn time_label(d: &Dimension, tz: Tz, t: Millis) -> Vec<String> {
    let l = local(tz, t);
    match d {
        Dimension::Time(TimeUnit::Minute) => vec![l.format("%Y-%m-%d %H:%M").to_string()],
        Dimension::Time(TimeUnit::Hour) => vec![l.format("%Y-%m-%d %H:00").to_string()],
        Dimension::Time(TimeUnit::Day) => vec![l.format("%Y-%m-%d").to_string()],
        Dimension::Time(TimeUnit::Week) => {
            let monday = l.date() - Duration::days(i64::from(l.weekday().num_days_from_monday()));
            vec![monday.format("%Y-%m-%d").to_string()]
        }
        Dimension::Time(TimeUnit::Month) => vec![l.format("%Y-%m").to_string()],
        Dimension::Heatmap => vec![
            (l.weekday().num_days_from_monday() + 1).to_string(),
            l.hour().to_string(),
        ],
        Dimension::Field(_) | Dimension::Goal => unreachable!(),
    }
}

#[derive(Default, Debug, Clone)]
struct Truth {
    pageviews: u64,
    custom: u64,
    exits: u64,
    exit_ms: u64,
    scroll_n: u64,
    scroll_sum: u64,
    visitors: BTreeSet<u64>,
    converted: BTreeSet<u64>,
    /// By goal: all visitors of the row's group, over whom `visitors` converted.
    all_visitors: Option<BTreeSet<u64>>,
    visits: u64,
    bounces: u64,
    duration_ms: u64,
    session_pageviews: u64,
}

fn ratio(num: f64, den: u64, scale: f64) -> Option<f64> {
    (den > 0).then(|| query::round2(num / den as f64 * scale))
}

impl Truth {
    fn metric(&self, m: Metric) -> Option<f64> {
        match m {
            Metric::Visitors | Metric::LiveVisitors => Some(self.visitors.len() as f64),
            Metric::Visits => Some(self.visits as f64),
            Metric::Pageviews => Some(self.pageviews as f64),
            Metric::Events => Some(self.custom as f64),
            Metric::ViewsPerVisit => ratio(self.session_pageviews as f64, self.visits, 1.0),
            Metric::BounceRate => ratio(self.bounces as f64, self.visits, 100.0),
            Metric::VisitDuration => ratio(self.duration_ms as f64, self.visits, 0.001),
            Metric::TimeOnPage => ratio(self.exit_ms as f64, self.exits, 0.001),
            Metric::ScrollDepth => ratio(self.scroll_sum as f64, self.scroll_n, 1.0),
            Metric::ConversionRate => match &self.all_visitors {
                Some(all) => ratio(self.visitors.len() as f64, all.len() as u64, 100.0),
                None => ratio(self.converted.len() as f64, self.visitors.len() as u64, 100.0),
            },
        }
    }
}

/// The goals a goal filter keeps: the project's named in it (`is`) or not (`is_not`).
fn kept_goals(f: &query::goals::GoalFilter) -> Vec<GoalKind> {
    goals()
        .into_iter()
        .map(|g| g.kind)
        .filter(|k| f.names.contains(&k.name()) == (f.op == FilterOp::Is))
        .collect()
}

/// Whether `e` passes the query's goal filters: it completes one of each filter's goals.
fn goal_filters_keep(q: &Query, e: &EnrichedEvent) -> bool {
    q.goal_filters
        .iter()
        .all(|f| kept_goals(f).iter().any(|g| g.completed_by(e)))
}

/// The goal `conversion_rate` counts.
fn conversion_goal(q: &Query) -> Option<GoalKind> {
    match q.goal.as_ref()? {
        GoalRef::Kind(kind) => Some(kind.clone()),
        GoalRef::Id(id) => goals().into_iter().find(|g| g.id == *id).map(|g| g.kind),
    }
}

/// Expected rows (keyed by their dimension values as text) and totals.
fn brute_force(q: &Query, events: &[EnrichedEvent], sessions: &[Session]) -> (BTreeMap<Vec<String>, Truth>, Truth) {
    if q.dimensions.contains(&Dimension::Goal) {
        return brute_force_by_goal(q, events, sessions);
    }
    let (from, to) = (q.range.from, q.range.to);
    let mut by_visitor: HashMap<u64, Vec<&Session>> = HashMap::new();
    for s in sessions {
        by_visitor.entry(s.visitor_id.0).or_default().push(s);
    }
    let session_of = |e: &EnrichedEvent| {
        by_visitor.get(&e.visitor_id.0).and_then(|l| {
            l.iter()
                .find(|s| s.start <= e.occurred_at && e.occurred_at <= s.end)
                .copied()
        })
    };
    let mut rows: BTreeMap<Vec<String>, Truth> = BTreeMap::new();
    let mut totals = Truth::default();
    let goal = conversion_goal(q);
    for e in events.iter().filter(|e| from <= e.occurred_at && e.occurred_at < to) {
        let s = session_of(e);
        if !q.filters.iter().all(|f| f.accepts(&event_value(&f.field, e, s))) || !goal_filters_keep(q, e) {
            continue;
        }
        let mut key = Vec::new();
        let mut skip = false;
        for d in &q.dimensions {
            match d {
                Dimension::Field(f) => {
                    if let Field::Prop(k) = f {
                        skip |= !e.props.contains_key(k);
                    }
                    key.push(event_value(f, e, s));
                }
                time => key.extend(time_label(time, q.timezone, e.occurred_at)),
            }
        }
        let count = |t: &mut Truth| {
            match e.name.as_str() {
                "pageview" | "path_change" => t.pageviews += 1,
                "page_exit" => {
                    t.exits += 1;
                    t.exit_ms += e.duration_ms.unwrap_or(0);
                    if let Some(d) = e.scroll_depth {
                        t.scroll_n += 1;
                        t.scroll_sum += u64::from(d);
                    }
                }
                _ => t.custom += 1,
            }
            t.visitors.insert(e.visitor_id.0);
            if goal.as_ref().is_some_and(|g| g.completed_by(e)) {
                t.converted.insert(e.visitor_id.0);
            }
        };
        count(&mut totals);
        if !skip && !q.dimensions.is_empty() {
            count(rows.entry(key).or_default());
        }
    }
    // Session metrics make rows of their own (a session-only row has no event); only when asked.
    let session_rows = q.has_session_metric();
    for s in sessions
        .iter()
        .filter(|s| session_rows && from <= s.start && s.start < to)
    {
        if !q
            .filters
            .iter()
            .all(|f| f.accepts(&session_value(f.field.for_session(), s)))
        {
            continue;
        }
        let mut key = Vec::new();
        for d in &q.dimensions {
            match d {
                Dimension::Field(f) => key.push(session_value(f.for_session(), s)),
                time => key.extend(time_label(time, q.timezone, s.start)),
            }
        }
        let count = |t: &mut Truth| {
            t.visits += 1;
            t.bounces += u64::from(s.is_bounce());
            t.duration_ms += u64::try_from(s.end - s.start).unwrap();
            t.session_pageviews += u64::from(s.pageviews);
        };
        count(&mut totals);
        if !q.dimensions.is_empty() {
            count(rows.entry(key).or_default());
        }
    }
    if q.dimensions.is_empty() {
        // Without dimensions the one row is the totals (docs/query-api.md).
        rows.insert(Vec::new(), totals.clone());
    }
    (rows, totals)
}

/// By the goal dimension: a row per goal the goal filters keep (in every time bucket when there
/// is no field dimension), counting its completions (`events`) and their visitors, over the
/// visitors of the same group.
fn brute_force_by_goal(
    q: &Query,
    events: &[EnrichedEvent],
    sessions: &[Session],
) -> (BTreeMap<Vec<String>, Truth>, Truth) {
    let (from, to) = (q.range.from, q.range.to);
    let shown: Vec<GoalKind> = goals()
        .into_iter()
        .map(|g| g.kind)
        .filter(|k| q.goal_filters.iter().all(|f| kept_goals(f).contains(k)))
        .collect();
    let session_of = |e: &EnrichedEvent| {
        sessions
            .iter()
            .find(|s| s.visitor_id == e.visitor_id && s.start <= e.occurred_at && e.occurred_at <= s.end)
    };
    // Per group of the other dimensions: its visitors, and per goal its completions.
    let mut all: BTreeMap<Vec<String>, BTreeSet<u64>> = BTreeMap::new();
    let mut rows: BTreeMap<Vec<String>, Truth> = BTreeMap::new();
    let mut totals = Truth {
        all_visitors: Some(BTreeSet::new()),
        ..Truth::default()
    };
    let key_with = |others: &[String], goal: &str| -> Vec<String> {
        let mut key = Vec::new();
        let mut rest = others.iter();
        for d in &q.dimensions {
            match d {
                Dimension::Goal => key.push(goal.to_owned()),
                Dimension::Heatmap => key.extend(rest.by_ref().take(2).cloned()),
                _ => key.extend(rest.next().cloned()),
            }
        }
        key
    };
    for e in events.iter().filter(|e| from <= e.occurred_at && e.occurred_at < to) {
        let s = session_of(e);
        if !q.filters.iter().all(|f| f.accepts(&event_value(&f.field, e, s))) {
            continue;
        }
        let mut others = Vec::new();
        let mut skip = false;
        for d in &q.dimensions {
            match d {
                Dimension::Goal => {}
                Dimension::Field(f) => {
                    if let Field::Prop(k) = f {
                        skip |= !e.props.contains_key(k);
                    }
                    others.push(event_value(f, e, s));
                }
                time => others.extend(time_label(time, q.timezone, e.occurred_at)),
            }
        }
        totals.all_visitors.as_mut().unwrap().insert(e.visitor_id.0);
        if skip {
            continue;
        }
        all.entry(others.clone()).or_default().insert(e.visitor_id.0);
        let completed: Vec<&GoalKind> = shown.iter().filter(|g| g.completed_by(e)).collect();
        if !completed.is_empty() {
            totals.custom += 1;
            totals.visitors.insert(e.visitor_id.0);
        }
        for goal in completed {
            let row = rows.entry(key_with(&others, &goal.name())).or_default();
            row.custom += 1;
            row.visitors.insert(e.visitor_id.0);
        }
    }
    // Every goal in every group with visitors, completed or not.
    let no_fields = !q.dimensions.iter().any(|d| matches!(d, Dimension::Field(_)));
    for (others, visitors) in &all {
        for goal in &shown {
            let key = key_with(others, &goal.name());
            if no_fields || rows.contains_key(&key) {
                rows.entry(key).or_default().all_visitors = Some(visitors.clone());
            }
        }
    }
    (rows, totals)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(t) => t.clone(),
        Value::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

/// What the queries are made of: the project, all metrics, the event metrics, the whole range.
fn vocabulary() -> (String, Json, Json, Json) {
    let all_metrics = json!([
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "visit_duration",
        "time_on_page",
        "scroll_depth",
        "events"
    ]);
    let event_metrics = json!(["visitors", "pageviews", "events", "time_on_page", "scroll_depth"]);
    (
        project().to_string(),
        all_metrics,
        event_metrics,
        json!(["2026-03-26", "2026-03-30"]),
    )
}

/// The queries: every metric, every dimension kind, filters, time zones with whole and
/// half-hour offsets (the latter fall back to raw), and ranges cut at day boundaries.
fn queries() -> Vec<serde_json::Value> {
    let (p, all_metrics, event_metrics, range) = vocabulary();
    let mut qs = vec![
        json!({"project_id": p, "metrics": all_metrics, "date_range": range}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": ["2026-03-27", "2026-03-28"], "timezone": "America/New_York"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "timezone": "Asia/Kolkata"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "dimensions": ["time:day"], "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "dimensions": ["time:day"], "timezone": "Asia/Kathmandu"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "dimensions": ["time:hour"], "timezone": "America/New_York"}),
        // The realtime view's per-minute chart: 45 minutes, a half-hour time zone.
        json!({"project_id": p, "metrics": all_metrics, "date_range": ["2026-03-28T17:40:30Z", "2026-03-28T18:25:30Z"], "dimensions": ["time:minute"], "timezone": "Asia/Kolkata"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "dimensions": ["time:week"]}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "dimensions": ["time:month"], "timezone": "Asia/Tokyo"}),
        json!({"project_id": p, "metrics": ["visitors", "pageviews", "visits"], "date_range": range, "dimensions": ["heatmap"], "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": ["visitors", "conversion_rate"], "goal": "signup", "date_range": range}),
        json!({"project_id": p, "metrics": ["visitors", "conversion_rate"], "goal": "signup", "date_range": range, "dimensions": ["time:day"]}),
        json!({"project_id": p, "metrics": ["visitors", "conversion_rate"], "goal": "signup", "date_range": range, "dimensions": ["source"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "dimensions": ["event_name"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "dimensions": ["props.plan"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "dimensions": ["page", "country"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "filters": [["is", "event_name", ["signup_click"]]], "dimensions": ["props.plan"]}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["is", "source", ["Google"]]], "dimensions": ["page"]}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["contains", "page", ["/blog"]], ["is_not", "country", ["US"]]]}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["matches", "page", ["^/docs/page-[0-9]+$"]]], "dimensions": ["time:day"], "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["is", "country", [""]]]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "filters": [["is_not", "props.plan", ["pro"]]], "dimensions": ["event_name"]}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": ["2026-03-27T10:30:00Z", "2026-03-28T05:15:00Z"]}),
    ];
    qs.extend(goal_queries());
    qs.extend(filtered_from_rollups());
    // Top lists: the rollup path reads the sketches of only the values that can make the top
    // (see `run_all`, which holds them to the raw path's rows).
    for (field, metrics, order, limit) in [
        ("page", json!(["visitors", "pageviews", "bounce_rate"]), Json::Null, 3),
        ("page", json!(["pageviews", "visitors"]), Json::Null, 5),
        (
            "source",
            json!(["bounce_rate", "visitors"]),
            json!([["bounce_rate", "asc"]]),
            2,
        ),
        (
            "country",
            json!(["visits", "visitors"]),
            json!([["visits", "desc"], ["country", "asc"]]),
            1,
        ),
        ("browser", json!(["visitors"]), json!([["visitors", "asc"]]), 2),
        ("entry_page", json!(["visitors", "visit_duration"]), Json::Null, 4),
    ] {
        let mut q =
            json!({"project_id": p, "metrics": metrics, "date_range": range, "dimensions": [field], "limit": limit});
        if !order.is_null() {
            q["order_by"] = order;
        }
        qs.push(q);
    }
    for field in [
        "page",
        "entry_page",
        "exit_page",
        "hostname",
        "source",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "browser",
        "os",
        "device",
        "country",
        "region",
        "city",
    ] {
        qs.push(
            json!({"project_id": p, "metrics": all_metrics, "date_range": range, "dimensions": [field], "limit": 1000}),
        );
    }
    qs
}

/// Checks one answer against the brute force; returns the rows as comparable text.
fn check(
    label: &str,
    q: &Query,
    result: &query::QueryResult,
    events: &[EnrichedEvent],
    sessions: &[Session],
) -> Vec<String> {
    let (rows, totals) = brute_force(q, events, sessions);
    let close = |what: String, got: Option<f64>, want: Option<f64>| match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!((g - w).abs() < 0.011, "{label}: {what}: got {g}, want {w}"),
        // An empty bucket may report 0 where there is nothing to average.
        (Some(g), None) | (None, Some(g)) => assert!(g == 0.0, "{label}: {what}: got {got:?}, want {want:?}"),
    };
    for (i, m) in q.metrics.iter().enumerate() {
        close(
            format!("totals {}", m.name()),
            number(&result.totals.metrics[i]),
            totals.metric(*m),
        );
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for row in &result.results {
        let key: Vec<String> = row.dimensions.iter().map(text).collect();
        let want = rows.get(&key);
        for (i, m) in q.metrics.iter().enumerate() {
            let expected = want.and_then(|t| t.metric(*m));
            let got = number(&row.metrics[i]);
            match want {
                Some(_) => close(format!("{key:?} {}", m.name()), got, expected),
                None => assert!(
                    got.is_none_or(|g| g == 0.0),
                    "{label}: row {key:?} is not in the ground truth but has {} = {got:?}",
                    m.name()
                ),
            }
        }
        seen.insert(key.clone());
        out.push(format!("{key:?} {:?}", row.metrics));
    }
    let limit_hit = result.results.len() >= q.limit;
    if !limit_hit {
        for key in rows.keys() {
            assert!(seen.contains(key), "{label}: row {key:?} is missing");
        }
    }
    out
}

/// Page goals, goals by id, goal filters and the goal dimension: always answered from raw
/// aggregations, so each runs twice on the same path.
fn goal_queries() -> Vec<serde_json::Value> {
    let (p, _, event_metrics, range) = vocabulary();
    let conversion = json!(["visitors", "conversion_rate"]);
    let by_goal = json!(["visitors", "events", "conversion_rate"]);
    let docs = json!({"page": "/docs/*"});
    let click = json!({"id": GoalId::from_bytes([4; 12]).to_string()});
    vec![
        json!({"project_id": p, "metrics": conversion, "goal": docs, "date_range": range}),
        json!({"project_id": p, "metrics": conversion, "goal": {"page": "/pricing"}, "date_range": range, "dimensions": ["time:day"], "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": conversion, "goal": {"page": "/blog*"}, "date_range": range, "dimensions": ["source"]}),
        json!({"project_id": p, "metrics": conversion, "goal": click, "date_range": range, "dimensions": ["country"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "filters": [["is", "goal", ["Visit /docs/*", "signup"]]], "dimensions": ["page"], "limit": 1000}),
        json!({"project_id": p, "metrics": ["visitors", "pageviews", "events", "conversion_rate"], "goal": "signup", "date_range": range, "filters": [["is_not", "goal", ["signup_click", "Visit /pricing"]], ["is", "device", ["desktop", "mobile"]]]}),
        json!({"project_id": p, "metrics": by_goal, "date_range": range, "dimensions": ["goal"]}),
        json!({"project_id": p, "metrics": by_goal, "date_range": range, "dimensions": ["goal", "time:day"], "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": by_goal, "date_range": range, "dimensions": ["source", "goal"], "filters": [["is_not", "country", ["US"]]], "limit": 1000}),
        json!({"project_id": p, "metrics": ["events", "visitors"], "date_range": range, "dimensions": ["goal"], "filters": [["is_not", "goal", ["Visit /pricing"]]], "order_by": [["goal", "asc"]]}),
    ]
}

/// Filters on one field with no other field dimension (a click on a dashboard row): the rollup
/// path applies them (`run_all` checks it did).
fn filtered_from_rollups() -> Vec<serde_json::Value> {
    let (p, all_metrics, event_metrics, range) = vocabulary();
    vec![
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["is", "country", ["DE"]]]}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["is", "country", ["DE", "FR", "XX"]]], "dimensions": ["time:day"], "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": ["visitors", "pageviews", "visits"], "date_range": range, "filters": [["is_not", "browser", ["Chrome"]]], "dimensions": ["heatmap"], "timezone": "Europe/Berlin"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["contains", "page", ["/docs"]]], "dimensions": ["page"], "limit": 3}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["matches", "source", ["^(Google|Bing)$"]]], "dimensions": ["time:hour"], "timezone": "America/New_York"}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["contains", "page", ["/blog"]], ["is_not", "page", ["/blog"]]], "dimensions": ["page"], "limit": 1000}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["is", "entry_page", ["/", "/pricing"]], ["matches", "entry_page", ["^/$"]]]}),
        json!({"project_id": p, "metrics": all_metrics, "date_range": range, "filters": [["is", "utm_source", [""]]], "dimensions": ["utm_source"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "filters": [["is", "event_name", ["signup"]]], "dimensions": ["time:day"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "filters": [["is_not", "event_name", ["pageview", "page_exit"]]], "dimensions": ["event_name"]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "filters": [["is", "props.plan", ["pro", "team"]]]}),
        json!({"project_id": p, "metrics": event_metrics, "date_range": range, "filters": [["matches", "props.plan", ["^t"]]], "dimensions": ["props.plan"]}),
    ]
}

async fn run_all(store: Arc<dyn Store>, events: &[EnrichedEvent], sessions: &[Session]) -> Vec<Vec<String>> {
    let mut answers = Vec::new();
    let mut from_rollups = 0;
    let filtered = filtered_from_rollups();
    let by_goal = goal_queries();
    for body in queries() {
        let q = parse_query(&body, NOW).unwrap_or_else(|e| panic!("{body}: {e:?}"));
        let mut sources = BTreeSet::new();
        for force_raw in [false, true] {
            let opts = EngineOptions {
                force_raw,
                ..EngineOptions::default()
            };
            let result = engine::run(&*store, &q, &opts).await.unwrap();
            sources.insert(result.meta.source);
            from_rollups += usize::from(result.meta.source == "rollup");
            assert!(!force_raw || result.meta.source == "raw", "{body}");
            assert!(
                force_raw || result.meta.source == "rollup" || !filtered.contains(&body),
                "a filter on one field is applied from the rollups: {body}"
            );
            assert!(
                result.meta.visitors_exact,
                "{body}: the dataset is under the sketch's exact limit"
            );
            if by_goal.contains(&body) {
                let first = number(&result.totals.metrics[0]);
                assert!(first.is_some_and(|n| n > 0.0), "{body}: the goal queries have data");
                assert!(result.results.len() > 1 || q.dimensions.is_empty(), "{body}: rows");
            }
            let label = format!("{} force_raw={force_raw} {body}", store.backend_name());
            answers.push(check(&label, &q, &result, events, sessions));
        }
        if q.limit < 100 {
            let (raw, rolled) = (&answers[answers.len() - 1], &answers[answers.len() - 2]);
            assert_eq!(rolled, raw, "a top list from rollups is the raw path's: {body}");
        }
    }
    // Most queries have no filter and whole-hour zones: the rollup path is what was checked.
    assert!(
        from_rollups >= 25,
        "only {from_rollups} queries were answered from rollups"
    );
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_match_the_ground_truth_and_each_other() {
    let events = dataset();
    assert!(events.len() > 1200, "a dataset of some size: {}", events.len());
    let sessions = common::sessions_of(&events);
    assert!(
        sessions.iter().any(|s| s.start / 86_400_000 != s.end / 86_400_000),
        "the dataset has sessions crossing UTC midnight"
    );

    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(store_sqlite::SqliteStore::open_in(dir.path()).unwrap());
    load(&*sqlite, &events).await;
    let on_sqlite = run_all(sqlite, &events, &sessions).await;

    let server = store_mongo::testing::TestServer::shared();
    let mongo: Arc<dyn Store> = Arc::new(
        store_mongo::MongoStore::connect(server.uri(), Some(&store_mongo::testing::fresh_db_name()))
            .await
            .unwrap(),
    );
    load(&*mongo, &events).await;
    let on_mongo = run_all(mongo, &events, &sessions).await;
    assert_eq!(on_sqlite, on_mongo, "SQLite and MongoDB answer alike");
}

/// Daily total page views of the UTC day starting at `day`, and hourly ones of the hour at `hour`.
async fn rolled_pageviews(store: &dyn Store, g: store::analytics::Granularity, bucket: Millis) -> Option<u64> {
    let rows = store
        .rollups(
            &project(),
            g,
            bucket,
            bucket + 1,
            Some(&store::analytics::RollupDim::Total),
        )
        .await
        .unwrap();
    rows.first().map(|r| r.row.counters.pageviews)
}

/// A day that holds the retention cut-off keeps the daily rollup built when all its hours were
/// there: late events in its kept hours rebuild those hours, never the day from what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_day_holding_the_retention_cut_off_keeps_its_rollup() {
    use store::analytics::{Granularity, Retention};
    const HOUR: Millis = 3_600_000;
    let events = dataset();
    let dir = tempfile::tempdir().unwrap();
    let store = store_sqlite::SqliteStore::open_in(dir.path()).unwrap();
    load(&store, &events).await;

    let day = T0 + 86_400_000;
    let whole_day = events
        .iter()
        .filter(|e| {
            (day..day + 86_400_000).contains(&e.occurred_at) && matches!(e.name.as_str(), "pageview" | "path_change")
        })
        .count() as u64;
    assert_eq!(rolled_pageviews(&store, Granularity::Day, day).await, Some(whole_day));

    let cut = day + 12 * HOUR;
    store
        .delete_expired(&Retention {
            raw_before: cut,
            hourly_before: cut,
            daily_before: i64::MIN,
        })
        .await
        .unwrap();
    let kept_hour = day + 18 * HOUR;
    let before = rolled_pageviews(&store, Granularity::Hour, kept_hour)
        .await
        .unwrap_or(0);
    let expired_hour = day + 3 * HOUR;
    let late = |id: &str, at: Millis| {
        let mut e = events[0].clone();
        e.id = contract::ids::EventId::parse(id).unwrap();
        e.name = "pageview".into();
        e.occurred_at = at;
        e.received_at = NOW;
        e.visitor_id = contract::enrich::VisitorId(777);
        e
    };
    store
        .ingest(&[
            late("late-kept", kept_hour + 60_000),
            late("late-expired", expired_hour + 60_000),
        ])
        .await
        .unwrap();
    while engine::rebuild_dirty(&store, 64, cut).await.unwrap() > 0 {}

    assert_eq!(
        rolled_pageviews(&store, Granularity::Hour, kept_hour).await,
        Some(before + 1),
        "the kept hour counts the late event"
    );
    assert_eq!(
        rolled_pageviews(&store, Granularity::Hour, expired_hour).await,
        None,
        "an expired hour is not rebuilt"
    );
    assert_eq!(
        rolled_pageviews(&store, Granularity::Day, day).await,
        Some(whole_day),
        "the day is not rebuilt from its remaining hours"
    );
    assert!(store.dirty_hours(10).await.unwrap().is_empty(), "every mark is cleared");
}
