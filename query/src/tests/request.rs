use serde_json::{json, Value};
use store::analytics::{Field, Filter, FilterOp};

use super::*;
use crate::goals::GoalRef;
use crate::range::{Compare, LIVE_WINDOW_MS};
use crate::request::*;
use store::GoalKind;

const NOW: &str = "2026-03-08T15:00:00Z";

fn base() -> Value {
    json!({ "project_id": PROJECT, "metrics": ["visitors"], "date_range": "7d" })
}

/// `base()` with `key` set (or removed when `value` is null).
fn with(pairs: &[(&str, Value)]) -> Value {
    let mut body = base();
    for (key, value) in pairs {
        let obj = body.as_object_mut().unwrap();
        if value.is_null() {
            obj.remove(*key);
        } else {
            obj.insert((*key).to_owned(), value.clone());
        }
    }
    body
}

fn parse(body: &Value) -> Result<Query, QueryError> {
    parse_query(body, ms(NOW))
}

fn ok(pairs: &[(&str, Value)]) -> Query {
    let body = with(pairs);
    parse(&body).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// The field a refused request names.
fn field_of(pairs: &[(&str, Value)]) -> String {
    let body = with(pairs);
    match parse(&body) {
        Ok(q) => panic!("{body} was accepted: {q:?}"),
        Err(e) => {
            assert!(!e.message.is_empty());
            e.field
        }
    }
}

#[test]
fn defaults() {
    let q = ok(&[]);
    assert_eq!(q.project.to_string(), PROJECT);
    assert_eq!(q.metrics, vec![Metric::Visitors]);
    assert!(q.dimensions.is_empty() && q.filters.is_empty());
    assert_eq!(q.timezone, UTC);
    assert_eq!(q.order_by, vec![(OrderKey::Metric(Metric::Visitors), Direction::Desc)]);
    assert_eq!(q.limit, DEFAULT_LIMIT);
    assert_eq!((q.compare, &q.comparison_range, &q.goal), (None, &None, &None));
    assert_eq!(
        (q.range.from, q.range.to),
        (ms("2026-03-02T00:00:00Z"), ms("2026-03-09T00:00:00Z"))
    );
    assert_eq!(q.columns(), ["visitors"]);

    // With a time dimension, time ascending; else the first metric descending.
    let q = ok(&[
        ("dimensions", json!(["page", "time:week"])),
        ("metrics", json!(["pageviews", "visitors"])),
    ]);
    assert_eq!(q.order_by, vec![(OrderKey::Dimension(1), Direction::Asc)]);
    let q = ok(&[("dimensions", json!(["heatmap"]))]);
    assert_eq!(q.order_by, vec![(OrderKey::Dimension(0), Direction::Asc)]);
    assert_eq!(q.columns(), ["weekday", "hour", "visitors"]);
    let q = ok(&[
        ("dimensions", json!(["source"])),
        ("metrics", json!(["pageviews", "visitors"])),
    ]);
    assert_eq!(q.order_by, vec![(OrderKey::Metric(Metric::Pageviews), Direction::Desc)]);
    // null is the same as absent.
    assert_eq!(
        ok(&[("limit", json!(null)), ("filters", json!(null))]).limit,
        DEFAULT_LIMIT
    );
    let mut body = base();
    body["timezone"] = Value::Null;
    assert_eq!(parse(&body).unwrap().timezone, UTC);
}

#[test]
fn a_full_request() {
    let q = ok(&[
        ("metrics", json!(["visitors", "conversion_rate", "time_on_page"])),
        ("dimensions", json!(["visit:source", "time:day"])),
        (
            "filters",
            json!([["is", "event:page", ["/a", "/b"]], ["matches", "props.plan", ["^pro"]]]),
        ),
        ("date_range", json!(["2026-01-01", "2026-01-31"])),
        ("timezone", json!("Asia/Kolkata")),
        ("order_by", json!([["conversion_rate", "desc"], ["source", "asc"]])),
        ("limit", json!(10_000)),
        ("compare", json!("year_over_year")),
        ("goal", json!("Signup")),
    ]);
    assert_eq!(
        q.metrics,
        vec![Metric::Visitors, Metric::ConversionRate, Metric::TimeOnPage]
    );
    assert_eq!(
        q.dimensions,
        vec![Dimension::Field(Field::Source), Dimension::Time(TimeUnit::Day)]
    );
    assert_eq!(
        q.filters,
        vec![
            Filter {
                op: FilterOp::Is,
                field: Field::Page,
                values: vec!["/a".into(), "/b".into()]
            },
            Filter {
                op: FilterOp::Matches,
                field: Field::Prop("plan".into()),
                values: vec!["^pro".into()]
            },
        ]
    );
    assert_eq!(q.timezone, KOLKATA);
    assert_eq!(q.range.from, ms("2026-01-01T00:00:00+05:30"));
    assert_eq!(
        q.order_by,
        vec![
            (OrderKey::Metric(Metric::ConversionRate), Direction::Desc),
            (OrderKey::Dimension(0), Direction::Asc)
        ]
    );
    assert_eq!(q.limit, 10_000);
    assert_eq!(q.compare, Some(Compare::YearOverYear));
    let c = q.comparison_range.as_ref().unwrap();
    assert_eq!(
        (c.from, c.to),
        (ms("2025-01-01T00:00:00+05:30"), ms("2025-02-01T00:00:00+05:30"))
    );
    assert_eq!(q.goal, Some(GoalRef::Kind(GoalKind::Event("Signup".into()))));
    assert_eq!(q.time_dimension(), Some((1, &Dimension::Time(TimeUnit::Day))));
    assert_eq!(
        q.columns(),
        ["source", "time:day", "visitors", "conversion_rate", "time_on_page"]
    );

    let q = ok(&[
        ("compare", json!("previous_period")),
        ("date_range", json!("day")),
        ("timezone", json!("America/New_York")),
    ]);
    let c = q.comparison_range.unwrap();
    assert_eq!(
        (c.from, c.to),
        (ms("2026-03-07T00:00:00-05:00"), ms("2026-03-08T00:00:00-05:00"))
    );
}

#[test]
fn metric_names_round_trip() {
    let names = [
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "visit_duration",
        "time_on_page",
        "scroll_depth",
        "events",
        "conversion_rate",
        "live_visitors",
    ];
    assert_eq!(Metric::ALL.map(|m| m.name()), names);
    for m in Metric::ALL {
        assert_eq!(Metric::parse(m.name()), Some(m));
    }
    assert_eq!(Metric::parse("Visitors"), None);
    let session: Vec<_> = Metric::ALL.into_iter().filter(Metric::is_session_metric).collect();
    assert_eq!(
        session,
        [
            Metric::Visits,
            Metric::ViewsPerVisit,
            Metric::BounceRate,
            Metric::VisitDuration
        ]
    );
    let ints: Vec<_> = Metric::ALL.into_iter().filter(Metric::is_integer).collect();
    assert_eq!(
        ints,
        [
            Metric::Visitors,
            Metric::Visits,
            Metric::Pageviews,
            Metric::Events,
            Metric::LiveVisitors
        ]
    );
}

#[test]
fn dimension_names_and_aliases() {
    let cases = [
        ("page", "page"),
        ("event:page", "page"),
        ("entry_page", "entry_page"),
        ("visit:entry_page", "entry_page"),
        ("visit:exit_page", "exit_page"),
        ("event:hostname", "hostname"),
        ("visit:source", "source"),
        ("visit:referrer", "referrer"),
        ("visit:utm_source", "utm_source"),
        ("visit:utm_medium", "utm_medium"),
        ("visit:utm_campaign", "utm_campaign"),
        ("visit:utm_term", "utm_term"),
        ("visit:utm_content", "utm_content"),
        ("visit:browser", "browser"),
        ("visit:os", "os"),
        ("visit:device", "device"),
        ("visit:country", "country"),
        ("visit:region", "region"),
        ("visit:city", "city"),
        ("event:name", "event_name"),
        ("name", "event_name"),
        ("event_name", "event_name"),
        ("props.plan", "props.plan"),
        ("event:props:plan", "props.plan"),
        ("time", "time:day"),
        ("time:hour", "time:hour"),
        ("time:day", "time:day"),
        ("time:week", "time:week"),
        ("time:month", "time:month"),
        ("heatmap", "heatmap"),
    ];
    for (input, canonical) in cases {
        let d = Dimension::parse(input).unwrap_or_else(|| panic!("{input}"));
        assert_eq!(d.name(), canonical, "{input}");
        assert_eq!(Dimension::parse(canonical), Some(d));
    }
    for f in Field::FIXED {
        assert_eq!(Dimension::parse(&f.name()), Some(Dimension::Field(f)));
    }
    for bad in [
        "visit:page",
        "event:source",
        "time:year",
        "props.",
        "props.a.b",
        "event:props:",
        "Page",
        "hour",
    ] {
        assert_eq!(Dimension::parse(bad), None, "{bad}");
    }
    assert_eq!(Dimension::Heatmap.columns(), ["weekday", "hour"]);
    // Aliases work in filters and order_by too.
    let q = ok(&[
        ("dimensions", json!(["event:name"])),
        (
            "filters",
            json!([
                ["is_not", "visit:country", ["FR"]],
                ["contains", "event:props:plan", ["pro"]]
            ]),
        ),
        ("order_by", json!([["name", "asc"]])),
    ]);
    assert_eq!(q.filters[0].field, Field::Country);
    assert_eq!(q.filters[0].op, FilterOp::IsNot);
    assert_eq!(q.filters[1].field, Field::Prop("plan".into()));
    assert_eq!(q.filters[1].op, FilterOp::Contains);
    assert_eq!(q.order_by, vec![(OrderKey::Dimension(0), Direction::Asc)]);
}

#[test]
fn top_level_errors() {
    assert_eq!(parse(&json!([1])).unwrap_err().field, "body");
    assert_eq!(parse(&json!("x")).unwrap_err().field, "body");
    let e = parse(&with(&[("dimension", json!(["page"]))])).unwrap_err();
    assert_eq!(e.field, "dimension");
    assert!(e.message.contains("did you mean \"dimensions\""), "{e}");
    let e = parse(&with(&[("zzz", json!(1)), ("aaa", json!(1))])).unwrap_err();
    assert_eq!(e.field, "aaa");
    assert!(e.message.contains("\"zzz\""), "{e}");
    assert_eq!(e.to_string(), format!("aaa: {}", e.message));
    assert_eq!(e.to_json(), json!({ "error": e.to_string(), "field": "aaa" }));

    assert_eq!(field_of(&[("project_id", json!(null))]), "project_id");
    assert_eq!(field_of(&[("project_id", json!("0123"))]), "project_id");
    assert_eq!(field_of(&[("project_id", json!(12))]), "project_id");
    assert_eq!(field_of(&[("date_range", json!(null))]), "date_range");
    assert_eq!(field_of(&[("date_range", json!("week"))]), "date_range");
    assert_eq!(
        field_of(&[("date_range", json!(["2026-01-02", "2026-01-01"]))]),
        "date_range"
    );
    assert_eq!(field_of(&[("timezone", json!("Mars/Olympus_Mons"))]), "timezone");
    assert_eq!(field_of(&[("timezone", json!("europe/paris"))]), "timezone");
    assert_eq!(field_of(&[("timezone", json!(5))]), "timezone");
    for limit in [json!(0), json!(10_001), json!("10"), json!(1.5), json!(-1)] {
        assert_eq!(field_of(&[("limit", limit)]), "limit");
    }
    assert_eq!(field_of(&[("compare", json!("last_year"))]), "compare");
    assert_eq!(field_of(&[("compare", json!(true))]), "compare");
    assert_eq!(field_of(&[("compare", json!(["2026-01-02", "2026-01-01"]))]), "compare");
    assert_eq!(field_of(&[("compare", json!(["2026-01-01"]))]), "compare");
    assert_eq!(field_of(&[("match_day_of_week", json!(true))]), "match_day_of_week");
    assert_eq!(
        field_of(&[
            ("compare", json!("previous_period")),
            ("match_day_of_week", json!("yes"))
        ]),
        "match_day_of_week"
    );
    assert_eq!(
        field_of(&[
            ("compare", json!(["2026-01-01", "2026-01-31"])),
            ("match_day_of_week", json!(true))
        ]),
        "match_day_of_week"
    );
}

#[test]
fn comparison_options() {
    // A custom range, in the request's time zone, of any length.
    let q = ok(&[
        ("compare", json!(["2025-12-01", "2025-12-10"])),
        ("date_range", json!(["2026-01-01", "2026-01-31"])),
        ("timezone", json!("Asia/Kolkata")),
    ]);
    assert_eq!(q.compare.map(|c| c.name()), Some("custom"));
    let c = q.comparison_range.unwrap();
    assert_eq!(
        (c.from, c.to),
        (ms("2025-12-01T00:00:00+05:30"), ms("2025-12-11T00:00:00+05:30"))
    );
    // Matching the day of week: 31 days compare with the 31 days five weeks earlier.
    let q = ok(&[
        ("compare", json!("previous_period")),
        ("match_day_of_week", json!(true)),
        ("date_range", json!(["2026-01-01", "2026-01-31"])),
    ]);
    assert!(q.match_day_of_week);
    assert_eq!(q.comparison_range.unwrap().iso()[0], "2025-11-27T00:00:00");
    // false is allowed anywhere (a client that always sends the flag).
    let q = ok(&[("match_day_of_week", json!(false))]);
    assert!(!q.match_day_of_week && q.comparison_range.is_none());
}

#[test]
fn metric_errors() {
    assert_eq!(field_of(&[("metrics", json!(null))]), "metrics");
    assert_eq!(field_of(&[("metrics", json!("visitors"))]), "metrics");
    assert_eq!(field_of(&[("metrics", json!([]))]), "metrics");
    assert_eq!(field_of(&[("metrics", json!(vec!["visitors"; 12]))]), "metrics");
    assert_eq!(field_of(&[("metrics", json!(["visitors", "views"]))]), "metrics[1]");
    assert_eq!(
        field_of(&[("metrics", json!(["visitors", "pageviews", "visitors"]))]),
        "metrics[2]"
    );
    assert_eq!(field_of(&[("metrics", json!([1]))]), "metrics[0]");
    let e = parse(&with(&[("metrics", json!(["visitors", "pagviews"]))])).unwrap_err();
    assert!(e.message.contains("did you mean \"pageviews\""), "{e}");
    // Every metric at once is within the limit (with what conversion_rate needs, without live).
    let all: Vec<&str> = Metric::ALL
        .iter()
        .map(|m| m.name())
        .filter(|n| *n != "live_visitors")
        .collect();
    assert_eq!(
        ok(&[("metrics", json!(all)), ("goal", json!("Signup"))]).metrics.len(),
        10
    );
}

#[test]
fn dimension_errors() {
    assert_eq!(field_of(&[("dimensions", json!("page"))]), "dimensions");
    assert_eq!(
        field_of(&[("dimensions", json!(["page", "source", "os", "city"]))]),
        "dimensions"
    );
    assert_eq!(field_of(&[("dimensions", json!(["page", "pgae"]))]), "dimensions[1]");
    assert_eq!(
        field_of(&[("dimensions", json!(["page", "event:page"]))]),
        "dimensions[1]"
    );
    assert_eq!(
        field_of(&[("dimensions", json!(["time", "os", "time:day"]))]),
        "dimensions[2]"
    );
    assert_eq!(
        field_of(&[("dimensions", json!(["time:day", "heatmap"]))]),
        "dimensions[1]"
    );
    assert_eq!(
        field_of(&[("dimensions", json!(["time:day", "time:hour"]))]),
        "dimensions[1]"
    );
    assert_eq!(field_of(&[("dimensions", json!(["props.a.b"]))]), "dimensions[0]");
    assert_eq!(field_of(&[("dimensions", json!([{}]))]), "dimensions[0]");
    assert_eq!(
        ok(&[("dimensions", json!(["page", "source", "time:hour"]))])
            .dimensions
            .len(),
        3
    );
}

#[test]
fn filter_errors() {
    let f = |filters: Value| field_of(&[("filters", filters)]);
    assert_eq!(f(json!({"page": "/"})), "filters");
    assert_eq!(f(json!(vec![json!(["is", "page", ["/"]]); 21])), "filters");
    assert_eq!(f(json!(["is", "page", ["/"]])), "filters[0]");
    assert_eq!(f(json!([["is", "page"]])), "filters[0]");
    assert_eq!(
        f(json!([["is", "page", ["/"]], ["equals", "page", ["/"]]])),
        "filters[1][0]"
    );
    assert_eq!(f(json!([[1, "page", ["/"]]])), "filters[0][0]");
    assert_eq!(f(json!([["is", "nope", ["/"]]])), "filters[0][1]");
    assert_eq!(f(json!([["is", "time", ["2026-01-01"]]])), "filters[0][1]");
    assert_eq!(f(json!([["is", "heatmap", ["1"]]])), "filters[0][1]");
    assert_eq!(f(json!([["is", "page", "/"]])), "filters[0][2]");
    assert_eq!(f(json!([["is", "page", []]])), "filters[0][2]");
    assert_eq!(f(json!([["is", "page", vec!["/"; 101]]])), "filters[0][2]");
    assert_eq!(f(json!([["is", "page", ["/", 3]]])), "filters[0][2][1]");
    assert_eq!(f(json!([["contains", "page", ["x".repeat(2049)]]])), "filters[0][2][0]");
    let e = parse(&with(&[(
        "filters",
        json!([["matches", "page", ["^/ok", "(unclosed"]]]),
    )]))
    .unwrap_err();
    assert_eq!(e.field, "filters[0][2][1]");
    assert!(
        e.message.contains("regular expression") && e.message.contains("unclosed"),
        "{e}"
    );
    assert_eq!(f(json!([["matches", "page", ["a".repeat(1001)]]])), "filters[0][2][0]");
    // Limits themselves are fine; an empty value matches a missing one.
    let q = ok(&[(
        "filters",
        json!([["is", "country", [""]], ["contains", "page", ["x".repeat(2048)]]]),
    )]);
    assert_eq!(q.filters[0].values, [""]);
    assert_eq!(
        ok(&[("filters", json!(vec![json!(["is", "page", vec!["/"; 100]]); 20]))])
            .filters
            .len(),
        20
    );
}

/// `check_filters` holds a list of filters alone to the query's rules, with the same errors.
#[test]
fn filters_are_checked_alone_as_in_a_query() {
    for filters in [
        json!([["is", "country", ["DE"]], ["is", "utm_medium", ["cpc"]]]),
        json!([["is_not", "goal", ["Signup"]], ["matches", "page", ["^/docs/"]]]),
        json!([["is", "props.plan", ["", "pro"]]]),
        json!([]),
    ] {
        assert_eq!(check_filters(&filters), Ok(()), "{filters}");
    }
    for filters in [
        json!({"page": "/"}),
        json!(vec![json!(["is", "page", ["/"]]); 21]),
        json!([["equals", "page", ["/"]]]),
        json!([["is", "nope", ["/"]]]),
        json!([["is", "time", ["2026-01-01"]]]),
        json!([["matches", "page", ["(unclosed"]]]),
        json!([["contains", "goal", ["Signup"]]]),
        json!([["is", "page", []]]),
    ] {
        let alone = check_filters(&filters).unwrap_err();
        let in_a_query = parse(&with(&[("filters", filters.clone())])).unwrap_err();
        assert_eq!(alone, in_a_query, "{filters}");
    }
    assert_eq!(
        check_filters(&json!([["is", "page", ["/"]], ["equals", "page", ["/"]]]))
            .unwrap_err()
            .field,
        "filters[1][0]"
    );
}

#[test]
fn order_by_errors() {
    let f = |order: Value| field_of(&[("order_by", order), ("dimensions", json!(["page"]))]);
    assert_eq!(f(json!("visitors")), "order_by");
    assert_eq!(f(json!([])), "order_by");
    assert_eq!(f(json!(["visitors", "desc"])), "order_by[0]");
    assert_eq!(f(json!([["visitors"]])), "order_by[0]");
    assert_eq!(f(json!([["pageviews", "desc"]])), "order_by[0][0]");
    assert_eq!(f(json!([["visitors", "desc"], ["source", "asc"]])), "order_by[1][0]");
    assert_eq!(f(json!([["visitors", "up"]])), "order_by[0][1]");
    assert_eq!(f(json!([["visitors", "desc"], ["visitors", "asc"]])), "order_by[1][0]");
    assert_eq!(f(json!([["page", "desc"], ["event:page", "asc"]])), "order_by[1][0]");
    let q = ok(&[
        ("order_by", json!([["event:page", "desc"], ["visitors", "asc"]])),
        ("dimensions", json!(["page"])),
    ]);
    assert_eq!(
        q.order_by,
        vec![
            (OrderKey::Dimension(0), Direction::Desc),
            (OrderKey::Metric(Metric::Visitors), Direction::Asc)
        ]
    );
}

#[test]
fn goal_and_conversion_rate_go_together() {
    let e = parse(&with(&[("metrics", json!(["visitors", "conversion_rate"]))])).unwrap_err();
    assert_eq!(e.field, "goal");
    assert!(e.message.contains("conversion_rate"), "{e}");
    assert_eq!(field_of(&[("goal", json!("Signup"))]), "goal");
    let cr = ("metrics", json!(["conversion_rate"]));
    assert_eq!(field_of(&[cr.clone(), ("goal", json!(""))]), "goal");
    assert_eq!(field_of(&[cr.clone(), ("goal", json!("x".repeat(121)))]), "goal");
    assert_eq!(field_of(&[cr.clone(), ("goal", json!(["Signup"]))]), "goal");
    let long = "é".repeat(120);
    assert_eq!(
        ok(&[cr, ("goal", json!(long))]).goal,
        Some(GoalRef::Kind(GoalKind::Event(long)))
    );
}

#[test]
fn live_visitors_stand_alone() {
    let live = ("metrics", json!(["live_visitors"]));
    let q = ok(&[live.clone(), ("date_range", json!(null))]);
    assert_eq!((q.range.from, q.range.to), (ms(NOW) - LIVE_WINDOW_MS, ms(NOW)));
    // A date_range is validated but the window stays the last five minutes.
    let q = ok(&[live.clone(), ("date_range", json!("12mo"))]);
    assert_eq!(q.range.to - q.range.from, LIVE_WINDOW_MS);
    assert_eq!(
        field_of(&[live.clone(), ("date_range", json!("forever"))]),
        "date_range"
    );
    let e = parse(&with(&[("metrics", json!(["visitors", "live_visitors"]))])).unwrap_err();
    assert_eq!(e.field, "metrics[1]");
    assert!(
        e.message.contains("last 5 minutes") && e.message.contains("alone"),
        "{e}"
    );
    assert_eq!(field_of(&[live.clone(), ("dimensions", json!(["page"]))]), "dimensions");
    assert_eq!(
        field_of(&[live.clone(), ("compare", json!("previous_period"))]),
        "compare"
    );
    assert_eq!(
        ok(&[live, ("filters", json!([["is", "page", ["/"]]]))]).filters.len(),
        1
    );
}

#[test]
fn session_metrics_have_no_event_names_or_props() {
    let e = parse(&with(&[
        ("metrics", json!(["visitors", "visits"])),
        ("dimensions", json!(["page", "event:name"])),
    ]))
    .unwrap_err();
    assert_eq!(e.field, "dimensions[1]");
    for word in [
        "visits",
        "sessions",
        "no event name or props",
        "events",
        "visitors",
        "conversion_rate",
    ] {
        assert!(e.message.contains(word), "{word}: {e}");
    }
    let with_session = |metric: &str, pairs: &[(&str, Value)]| {
        let mut all = vec![("metrics", json!([metric]))];
        all.extend(pairs.iter().cloned());
        field_of(&all)
    };
    for metric in ["visits", "bounce_rate", "visit_duration", "views_per_visit"] {
        assert_eq!(
            with_session(metric, &[("dimensions", json!(["props.plan"]))]),
            "dimensions[0]"
        );
        assert_eq!(
            with_session(
                metric,
                &[("filters", json!([["is", "page", ["/"]], ["is", "name", ["x"]]]))]
            ),
            "filters[1][1]"
        );
        assert_eq!(
            with_session(metric, &[("filters", json!([["is", "event:props:plan", ["pro"]]]))]),
            "filters[0][1]"
        );
    }
    // Session fields are fine with session metrics; event metrics take any field.
    ok(&[
        ("metrics", json!(["visits", "bounce_rate"])),
        ("dimensions", json!(["page", "source", "country"])),
    ]);
    ok(&[
        ("metrics", json!(["time_on_page", "scroll_depth"])),
        ("dimensions", json!(["event_name", "props.plan"])),
    ]);
    ok(&[
        ("metrics", json!(["events", "visitors", "pageviews"])),
        ("filters", json!([["is", "event_name", ["x"]]])),
    ]);
}

#[test]
fn minutes_only_over_a_day_at_most() {
    let q = ok(&[
        ("dimensions", json!(["time:minute"])),
        ("date_range", json!(["2026-01-05T09:00:00Z", "2026-01-05T09:30:00Z"])),
    ]);
    assert_eq!(q.dimensions, [Dimension::Time(TimeUnit::Minute)]);
    assert_eq!(
        field_of(&[
            ("dimensions", json!(["page", "time:minute"])),
            ("date_range", json!("7d"))
        ]),
        "dimensions[1]"
    );
}
