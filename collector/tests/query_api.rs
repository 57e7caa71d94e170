//! The dashboard query API over HTTP (`router(state).oneshot`), on the embedded store: auth and
//! project scoping, answers from fresh rollups, CSV, the `/api/stats` shortcut, and 400s that name
//! the bad field. The numbers themselves are checked against a brute-force ground truth, on both
//! stores, in `query/tests/ground_truth.rs`.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::TestApp;
use serde_json::{json, Value};

async fn with_three_pageviews() -> TestApp {
    let app = TestApp::new().await;
    for (id, path) in [("q1", "/"), ("q2", "/pricing"), ("q3", "/pricing")] {
        let body = json!({"k": app.key, "n": "pageview", "u": format!("https://example.com{path}"), "id": id,
            "r": "https://www.google.com/"});
        assert_eq!(app.beacon(body.to_string()).await.status, StatusCode::ACCEPTED);
    }
    app.settle().await;
    app
}

/// `POST /api/v1/query` with `body`, asking for CSV.
async fn csv_query(app: &TestApp, body: &Value) -> common::Answer {
    app.send(
        Request::post("/api/v1/query")
            .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "text/csv")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

fn query_body(app: &TestApp, extra: Value) -> Value {
    let mut q = json!({"project_id": app.project_id, "metrics": ["visitors", "pageviews", "visits", "bounce_rate"],
        "date_range": "day"});
    q.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    q
}

#[tokio::test]
async fn owners_query_their_projects_from_rollups() {
    let app = with_three_pageviews().await;
    let answer = app
        .call(
            Method::POST,
            "/api/v1/query",
            Some(query_body(&app, json!({}))),
            Some(&app.token),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let v = answer.json();
    assert_eq!(v["totals"]["metrics"], json!([1, 3, 1, 0.0]), "{v}");
    assert_eq!(v["meta"]["source"], "rollup");
    assert_eq!(v["columns"], json!(["visitors", "pageviews", "visits", "bounce_rate"]));

    let by_page = app
        .call(
            Method::POST,
            "/api/v1/query",
            Some(query_body(
                &app,
                json!({"dimensions": ["page"], "metrics": ["pageviews", "visitors"]}),
            )),
            Some(&app.token),
        )
        .await
        .json();
    assert_eq!(
        by_page["results"][0],
        json!({"dimensions": ["/pricing"], "metrics": [2, 1]}),
        "{by_page}"
    );
    assert_eq!(by_page["results"][1], json!({"dimensions": ["/"], "metrics": [1, 1]}));

    let by_source = app
        .call(
            Method::POST,
            "/api/v1/query",
            Some(query_body(
                &app,
                json!({"dimensions": ["source"], "compare": "previous_period"}),
            )),
            Some(&app.token),
        )
        .await
        .json();
    assert_eq!(by_source["results"][0]["dimensions"], json!(["Google"]), "{by_source}");
    assert_eq!(by_source["results"][0]["comparison"]["metrics"], json!([0, 0, 0, null]));
}

/// A custom comparison range of one day against a week by day: the first day compares with it,
/// the six others have no comparison (not zeros); the day of week can be matched instead.
#[tokio::test]
async fn a_custom_comparison_range_and_matching_the_day_of_week() {
    let app = with_three_pageviews().await;
    let today = chrono::Utc::now().date_naive();
    let week_by_day = |compare: Value| json!({"dimensions": ["time:day"], "metrics": ["pageviews"], "date_range": "7d", "compare": compare});
    let today_s = today.to_string();
    let answer = app
        .call(
            Method::POST,
            "/api/v1/query",
            Some(query_body(&app, week_by_day(json!([today_s, today_s])))),
            Some(&app.token),
        )
        .await
        .json();
    let rows = answer["results"].as_array().unwrap();
    assert_eq!(rows.len(), 7, "{answer}");
    assert_eq!(rows[0]["comparison"]["dimensions"], json!([today_s]), "{answer}");
    assert_eq!(rows[0]["comparison"]["metrics"], json!([3]));
    assert!(rows[1..].iter().all(|r| r.get("comparison").is_none()), "{answer}");
    assert_eq!(answer["totals"]["comparison"]["metrics"], json!([3]));
    assert_eq!(
        answer["meta"]["comparison_date_range"],
        json!([
            format!("{today_s}T00:00:00"),
            format!("{}T00:00:00", today.succ_opt().unwrap())
        ])
    );

    let mut matched = query_body(&app, json!({"compare": "year_over_year", "match_day_of_week": true}));
    let answer = app
        .call(Method::POST, "/api/v1/query", Some(matched.clone()), Some(&app.token))
        .await
        .json();
    let weeks_back = today - chrono::Duration::days(364);
    assert_eq!(
        answer["meta"]["comparison_date_range"][0],
        format!("{weeks_back}T00:00:00"),
        "{answer}"
    );
    matched["compare"] = json!([today_s, today_s]);
    let refused = app
        .call(Method::POST, "/api/v1/query", Some(matched), Some(&app.token))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["field"], "match_day_of_week");
}

#[tokio::test]
async fn csv_export_of_any_query() {
    let app = with_three_pageviews().await;
    let answer = csv_query(
        &app,
        &query_body(&app, json!({"dimensions": ["page"], "metrics": ["pageviews"]})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = String::from_utf8(answer.body).unwrap();
    assert_eq!(text, "page,pageviews\r\n/pricing,2\r\n/,1\r\nTotal,3\r\n");
}

#[tokio::test]
async fn bad_queries_get_a_400_naming_the_field() {
    let app = TestApp::new().await;
    for (body, field) in [
        (
            query_body(&app, json!({"metrics": ["visitors", "pageveiws"]})),
            "metrics[1]",
        ),
        (query_body(&app, json!({"date_range": "forever"})), "date_range"),
        (query_body(&app, json!({"timezone": "Mars/Olympus"})), "timezone"),
        (
            query_body(&app, json!({"filters": [["matches", "page", ["(unclosed"]]]})),
            "filters[0][2][0]",
        ),
        (
            query_body(&app, json!({"dimensions": ["event_name"], "metrics": ["bounce_rate"]})),
            "dimensions[0]",
        ),
    ] {
        let answer = app
            .call(Method::POST, "/api/v1/query", Some(body.clone()), Some(&app.token))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let v = answer.json();
        assert_eq!(v["field"], field, "{v}");
        assert!(v["error"].as_str().unwrap().starts_with(field), "{v}");
    }
}

#[tokio::test]
async fn queries_are_scoped_to_the_owner() {
    let app = TestApp::new().await;
    let body = query_body(&app, json!({}));
    assert_eq!(
        app.call(Method::POST, "/api/v1/query", Some(body.clone()), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let stranger = app.owner("stranger@example.com").await;
    let answer = app
        .call(Method::POST, "/api/v1/query", Some(body), Some(&stranger))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let stats = app
        .call(
            Method::GET,
            &format!("/api/stats?site_id={}&date=2026-01-15", app.project_id),
            None,
            Some(&stranger),
        )
        .await;
    assert_eq!(stats.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_daily_stats_shortcut() {
    let app = with_three_pageviews().await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let uri = format!("/api/stats?site_id={}&date={today}", app.project_id);
    let answer = app.call(Method::GET, &uri, None, Some(&app.token)).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.json(),
        json!({"success": true, "data": {"site_id": app.project_id, "date": today, "total_views": 3,
            "unique_users_count": 1, "top_paths": [{"path": "/pricing", "views": 2}, {"path": "/", "views": 1}]}})
    );
    let bad = app
        .call(
            Method::GET,
            &format!("/api/stats?site_id={}&date=15-01-2026", app.project_id),
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["field"], "date");
}

/// The JSON example that follows `heading` in docs/query-api.md.
fn docs_example(heading: &str) -> Value {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/query-api.md")).unwrap();
    let section = docs
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("no {heading:?} in the docs"));
    let block = section
        .split("```json")
        .nth(1)
        .expect("a JSON example")
        .split("```")
        .next()
        .unwrap();
    serde_json::from_str(block).unwrap_or_else(|e| panic!("the docs' example under {heading:?}: {e}"))
}

/// The same keys, recursively, and the same kinds of values (the numbers themselves differ).
fn same_shape(docs: &Value, real: &Value, path: &str) {
    match (docs, real) {
        (Value::Object(d), Value::Object(r)) => {
            let dk: Vec<_> = d.keys().collect();
            let rk: Vec<_> = r.keys().collect();
            assert_eq!(dk, rk, "keys at {path}");
            for (k, v) in d {
                same_shape(v, &r[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(d), Value::Array(r)) => {
            if let (Some(d), Some(r)) = (d.first(), r.first()) {
                same_shape(d, r, &format!("{path}[0]"));
            }
        }
        (d, r) => assert_eq!(
            std::mem::discriminant(d),
            std::mem::discriminant(r),
            "kind at {path}: docs {d}, answer {r}"
        ),
    }
}

#[tokio::test]
async fn the_daily_stats_answer_has_the_documented_shape() {
    let app = with_three_pageviews().await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let uri = format!("/api/stats?site_id={}&date={today}", app.project_id);
    let answer = app.call(Method::GET, &uri, None, Some(&app.token)).await.json();
    same_shape(&docs_example("## Shortcut: one day's summary"), &answer, "");
}

#[tokio::test]
async fn a_query_without_dimensions_has_one_row_of_totals_in_json_and_csv() {
    let app = with_three_pageviews().await;
    let body = query_body(&app, json!({"compare": "previous_period"}));
    let answer = app
        .call(Method::POST, "/api/v1/query", Some(body.clone()), Some(&app.token))
        .await
        .json();
    assert_eq!(answer["results"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["results"][0]["metrics"], answer["totals"]["metrics"]);
    assert_eq!(answer["results"][0]["dimensions"], json!([]));
    assert_eq!(answer["results"][0]["comparison"], answer["totals"]["comparison"]);
    let csv = csv_query(&app, &body).await;
    let text = String::from_utf8(csv.body).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("1,3,1,0"), "{text}");
}

#[tokio::test]
async fn a_heatmap_is_whole_by_default() {
    let app = with_three_pageviews().await;
    let rows = |extra: Value| {
        let body = query_body(&app, extra);
        let app = &app;
        async move {
            let answer = app
                .call(Method::POST, "/api/v1/query", Some(body), Some(&app.token))
                .await;
            answer.json()["results"].as_array().unwrap().len()
        }
    };
    let heatmap = json!({"metrics": ["visitors"], "dimensions": ["heatmap"], "date_range": "7d"});
    assert_eq!(rows(heatmap.clone()).await, 168, "every weekday x hour cell");
    let hours = json!({"metrics": ["visitors"], "dimensions": ["time:hour"], "date_range": "7d"});
    assert_eq!(rows(hours).await, 7 * 24, "every hour of the week");
    let mut limited = heatmap;
    limited["limit"] = json!(5);
    assert_eq!(rows(limited).await, 5, "an explicit limit still cuts");
}

/// Splits CSV text into rows of fields on `separator`, as a spreadsheet does: a quoted field may
/// hold separators and line breaks (`""` is a quote), and whatever follows its closing quote up to
/// the next separator is appended, as spreadsheets do.
fn spreadsheet_fields(text: &str, separator: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut at_field_start) = (false, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            c if c == separator => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    rows
}

/// Whether a spreadsheet would read a cell as a formula: it starts (maybe after whitespace) with
/// `=`, `+`, `-`, `@`, tab, CR, LF or their full-width forms, and is not a plain number.
fn reads_as_formula(cell: &str) -> bool {
    let starts = ['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠'];
    let formula = cell.starts_with(starts) || cell.trim_start().starts_with(starts);
    formula && cell.trim().parse::<f64>().is_err()
}

/// A fixed-offset zone in which now is about 06:00, so that 12 hours ago was yesterday.
fn zone_where_it_is_morning(now_ms: i64) -> String {
    let utc_hour = (now_ms / 3_600_000).rem_euclid(24);
    let offset = match (6 - utc_hour).rem_euclid(24) {
        o if o > 12 => o - 24,
        o => o,
    };
    match offset {
        0 => "UTC".to_owned(),
        // Etc/GMT-5 is five hours ahead of UTC (the POSIX sign).
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

/// Prop values, event names and UTM sources are chosen by whoever sends events; the CSV export
/// must not let any of them run as a formula, in a spreadsheet that splits on commas or on
/// semicolons (decimal-comma locales); numbers, negative changes included, stay numbers.
#[tokio::test]
async fn csv_cells_cannot_become_formulas_in_any_spreadsheet_locale() {
    let app = TestApp::new().await;
    let hostile = [
        "=1+1",
        "+SUM(1;2)",
        "-2+3",
        "@SUM(A1)",
        " =1+1",
        "\t=1+1",
        "x;=HYPERLINK(\"http://evil.example\")",
        "y,=1+1",
        "＝1+1",
        "q\";=cmd|' /C calc'!A0",
    ];
    let now = collector::now_ms();
    let timezone = zone_where_it_is_morning(now);
    // Today one visitor per value, yesterday two: every change is -50 %.
    let mut sent = 0;
    for (day, visitors, t) in [("today", 1, now), ("yesterday", 2, now - 12 * 3_600_000)] {
        for (i, value) in hostile.iter().enumerate() {
            for v in 0..visitors {
                sent += 1;
                let body = json!({"k": app.key, "n": value.trim(), "u": format!("https://example.com/?utm_source={}", urlencode(value)),
                    "p": {"plan": value}, "t": t, "st": now, "id": format!("{day}-{i}-{v}")});
                let answer = app
                    .send(
                        Request::post("/api/event")
                            .header(header::CONTENT_TYPE, "text/plain")
                            .header(header::USER_AGENT, common::FIREFOX)
                            .header("x-forwarded-for", format!("198.51.100.{}", i * 2 + v))
                            .body(Body::from(body.to_string()))
                            .unwrap(),
                    )
                    .await;
                assert_eq!(
                    answer.status,
                    StatusCode::ACCEPTED,
                    "{}",
                    String::from_utf8_lossy(&answer.body)
                );
            }
        }
    }
    assert_eq!(app.stored_events().await.len(), sent);
    app.settle().await;
    for dimension in ["props.plan", "event_name", "source"] {
        let query = json!({"project_id": app.project_id, "metrics": ["visitors"], "dimensions": [dimension],
            "date_range": "day", "timezone": timezone, "compare": "previous_period"});
        let answer = csv_query(&app, &query).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let text = String::from_utf8(answer.body).unwrap();
        let rows = spreadsheet_fields(&text, ',');
        // Event names and sources are trimmed, so some values meet; props are kept as sent.
        let distinct: std::collections::HashSet<&str> = hostile.iter().map(|h| h.trim()).collect();
        let expected_rows = if dimension == "props.plan" {
            hostile.len()
        } else {
            distinct.len()
        };
        assert_eq!(
            rows.len(),
            2 + expected_rows,
            "{dimension}: header, a row per value, totals:\n{text}"
        );
        assert_eq!(rows[0], [dimension, "visitors", "visitors_previous", "visitors_change"]);
        for row in &rows[1..] {
            assert_eq!(row.len(), 4, "{dimension}: {row:?}");
            // The value reads back as it was sent, a `'` before it when it would be a formula.
            let value = row[0].strip_prefix('\'').unwrap_or(&row[0]);
            assert!(
                row[0] == "Total" || hostile.iter().any(|h| h.trim() == value.trim()),
                "{dimension}: {row:?}"
            );
            // Negative changes are numbers, not neutralised text.
            assert_eq!(row[3], "-50", "{dimension}: {row:?}");
        }
        for separator in [',', ';'] {
            for field in spreadsheet_fields(&text, separator).iter().flatten() {
                assert!(
                    !reads_as_formula(field),
                    "{dimension}, split on {separator:?}: {field:?} in\n{text}"
                );
            }
        }
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
