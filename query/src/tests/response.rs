use serde_json::json;

use crate::response::*;

fn meta(comparison: bool) -> Meta {
    Meta {
        date_range: ["2026-01-05T00:00:00".into(), "2026-01-12T00:00:00".into()],
        comparison_date_range: comparison.then(|| ["2025-12-29T00:00:00".into(), "2026-01-05T00:00:00".into()]),
        timezone: "Europe/Paris".into(),
        source: "rollup",
        visitors_exact: true,
        took_ms: 1.25,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn plain() -> QueryResult {
    QueryResult {
        columns: vec!["page".into(), "visitors".into(), "bounce_rate".into()],
        results: vec![
            Row {
                dimensions: vec![text("/a")],
                metrics: vec![Value::Int(10), Value::Float(12.5)],
                comparison: None,
            },
            Row {
                dimensions: vec![text("/b")],
                metrics: vec![Value::Int(3), Value::Null],
                comparison: None,
            },
        ],
        totals: Totals {
            metrics: vec![Value::Int(13), Value::Float(40.0)],
            comparison: None,
        },
        meta: meta(false),
    }
}

fn compared() -> QueryResult {
    let cmp = |prev: u64, change: Option<f64>| ComparisonValues {
        dimensions: vec![text("2025-12-29")],
        metrics: vec![Value::Int(prev)],
        change: vec![change],
    };
    QueryResult {
        columns: vec!["time:day".into(), "visitors".into()],
        results: vec![
            Row {
                dimensions: vec![text("2026-01-05")],
                metrics: vec![Value::Int(5)],
                comparison: Some(cmp(4, Some(25.0))),
            },
            Row {
                dimensions: vec![text("2026-01-06")],
                metrics: vec![Value::Int(2)],
                comparison: Some(cmp(0, None)),
            },
        ],
        totals: Totals {
            metrics: vec![Value::Int(7)],
            comparison: Some(cmp(4, Some(75.0))),
        },
        meta: meta(true),
    }
}

#[test]
fn json_shape_without_comparison() {
    assert_eq!(
        plain().to_json(),
        json!({
            "columns": ["page", "visitors", "bounce_rate"],
            "results": [
                {"dimensions": ["/a"], "metrics": [10, 12.5]},
                {"dimensions": ["/b"], "metrics": [3, null]},
            ],
            "totals": {"metrics": [13, 40.0]},
            "meta": {
                "date_range": ["2026-01-05T00:00:00", "2026-01-12T00:00:00"],
                "timezone": "Europe/Paris",
                "source": "rollup",
                "visitors_exact": true,
                "took_ms": 1.25,
            },
        })
    );
}

#[test]
fn json_shape_with_comparison() {
    let v = compared().to_json();
    assert_eq!(
        v["results"][0],
        json!({
            "dimensions": ["2026-01-05"],
            "metrics": [5],
            "comparison": {"dimensions": ["2025-12-29"], "metrics": [4], "change": [25.0]},
        })
    );
    assert_eq!(v["results"][1]["comparison"]["change"], json!([null]));
    assert_eq!(v["totals"]["comparison"]["change"], json!([75.0]));
    assert_eq!(
        v["meta"]["comparison_date_range"],
        json!(["2025-12-29T00:00:00", "2026-01-05T00:00:00"])
    );
    // Integers stay integers, non-finite floats become null.
    assert!(v["results"][0]["metrics"][0].is_u64());
    assert_eq!(serde_json::to_value(Value::Float(f64::NAN)).unwrap(), json!(null));
    assert_eq!(serde_json::to_value(Value::Float(0.5)).unwrap(), json!(0.5));
    assert_eq!(serde_json::to_value(Value::Null).unwrap(), json!(null));
}

#[test]
fn csv_plain() {
    assert_eq!(
        plain().to_csv(),
        "page,visitors,bounce_rate\r\n/a,10,12.5\r\n/b,3,\r\nTotal,13,40\r\n"
    );
}

#[test]
fn csv_with_comparison() {
    assert_eq!(
        compared().to_csv(),
        "time:day,visitors,visitors_previous,visitors_change\r\n\
         2026-01-05,5,4,25\r\n\
         2026-01-06,2,0,\r\n\
         Total,7,4,75\r\n"
    );
}

#[test]
fn csv_without_dimensions_has_no_total_row() {
    let r = QueryResult {
        columns: vec!["visitors".into(), "visit_duration".into()],
        results: vec![Row {
            dimensions: vec![],
            metrics: vec![Value::Int(7), Value::Float(61.33)],
            comparison: None,
        }],
        totals: Totals {
            metrics: vec![Value::Int(7), Value::Float(61.33)],
            comparison: None,
        },
        meta: meta(false),
    };
    assert_eq!(r.to_csv(), "visitors,visit_duration\r\n7,61.33\r\n");
}

#[test]
fn csv_total_row_fills_every_dimension_column() {
    let r = QueryResult {
        columns: vec!["weekday".into(), "hour".into(), "source".into(), "visitors".into()],
        results: vec![Row {
            dimensions: vec![Value::Int(1), Value::Int(9), text("Google")],
            metrics: vec![Value::Int(2)],
            comparison: None,
        }],
        totals: Totals {
            metrics: vec![Value::Int(2)],
            comparison: None,
        },
        meta: meta(false),
    };
    assert_eq!(
        r.to_csv(),
        "weekday,hour,source,visitors\r\n1,9,Google,2\r\nTotal,,,2\r\n"
    );
}

#[test]
fn csv_quotes_and_guards_cells() {
    let cells = [
        ("/a,b", "\"/a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("line\nbreak", "\"line\nbreak\""),
        ("cr\rhere", "\"cr\rhere\""),
        ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "\"'\tx\""),
        ("\rx", "\"'\rx\""),
        ("\n=1", "\"'\n=1\""),
        (" =1+1", "' =1+1"),
        ("\u{a0}@x", "'\u{a0}@x"),
        ("＝1+1", "'＝1+1"),
        ("＋1", "'＋1"),
        ("－1", "'－1"),
        ("＠x", "'＠x"),
        // A spreadsheet in a decimal-comma locale splits on `;`: quoted, it cannot.
        ("a;=1+1", "\"a;=1+1\""),
        ("a;b", "\"a;b\""),
        ("a=b", "a=b"),
        ("1-2", "1-2"),
        ("", ""),
    ];
    for (input, expected) in cells {
        let r = QueryResult {
            columns: vec!["page".into(), "scroll_depth".into()],
            results: vec![Row {
                dimensions: vec![text(input)],
                metrics: vec![Value::Float(-12.5)],
                comparison: None,
            }],
            totals: Totals {
                metrics: vec![Value::Null],
                comparison: None,
            },
            meta: meta(false),
        };
        let csv = r.to_csv();
        let row = csv
            .strip_prefix("page,scroll_depth\r\n")
            .unwrap()
            .strip_suffix("\r\nTotal,\r\n")
            .unwrap();
        // Negative numbers are numbers, never guarded.
        assert_eq!(row, format!("{expected},-12.5"), "{input:?}");
    }
}

#[test]
fn rounding_and_change() {
    assert_eq!(round2(1.0 / 3.0), 0.33);
    assert_eq!(round2(2.0 / 3.0), 0.67);
    assert_eq!(round2(12.345_6), 12.35);
    assert_eq!(round2(-1.005_1), -1.01);
    assert_eq!(round2(40.0), 40.0);
    assert!(round2(f64::NAN).is_nan());
    assert_eq!(percent_change(5.0, 4.0), Some(25.0));
    assert_eq!(percent_change(1.0, 3.0), Some(-66.67));
    assert_eq!(percent_change(0.0, 4.0), Some(-100.0));
    assert_eq!(percent_change(4.0, 0.0), None);
    assert_eq!(percent_change(0.0, 0.0), None);
}

#[test]
fn csv_neutralises_column_names_and_leaves_numbers_alone() {
    let r = QueryResult {
        columns: vec!["props.=1+1".into(), "props.a;b".into(), "visitors".into()],
        results: vec![Row {
            dimensions: vec![text("-1"), text("x")],
            metrics: vec![Value::Int(3)],
            comparison: Some(ComparisonValues {
                dimensions: vec![text("-1"), text("x")],
                metrics: vec![Value::Int(9)],
                change: vec![Some(-66.67)],
            }),
        }],
        totals: Totals {
            metrics: vec![Value::Float(-0.5)],
            comparison: Some(ComparisonValues {
                dimensions: vec![],
                metrics: vec![Value::Int(9)],
                change: vec![Some(-66.67)],
            }),
        },
        meta: meta(true),
    };
    assert_eq!(
        r.to_csv(),
        "props.=1+1,\"props.a;b\",visitors,visitors_previous,visitors_change\r\n\
         '-1,x,3,9,-66.67\r\n\
         Total,,-0.5,9,-66.67\r\n"
    );
}
