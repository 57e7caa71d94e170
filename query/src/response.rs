//! The answer to a query and its JSON and CSV renderings.

use serde::{Serialize, Serializer};

use crate::csv::{text_cell, write_line};

/// One cell: a count, a rounded float, a text (a dimension value or time label), or nothing.
#[derive(Clone, PartialEq, Debug)]
pub enum Value {
    Int(u64),
    Float(f64),
    Text(String),
    Null,
}

impl Serialize for Value {
    /// Untagged: a JSON number, string or null (a non-finite float is null).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int(n) => s.serialize_u64(*n),
            Value::Float(x) if x.is_finite() => s.serialize_f64(*x),
            Value::Text(t) => s.serialize_str(t),
            Value::Float(_) | Value::Null => s.serialize_none(),
        }
    }
}

/// A row of the comparison period, matched to a row of the range.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ComparisonValues {
    /// The comparison row's own dimension values (for time dimensions, the earlier period's labels).
    #[cfg_attr(feature = "ts", ts(type = "Array<number | string | null>"))]
    pub dimensions: Vec<Value>,
    #[cfg_attr(feature = "ts", ts(type = "Array<number | string | null>"))]
    pub metrics: Vec<Value>,
    /// Per metric, the [`percent_change`] from the comparison value to the current one; `None`
    /// (null) when the previous value is 0.
    pub change: Vec<Option<f64>>,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Row {
    /// One value per dimension column (two for the heatmap: weekday, hour).
    #[cfg_attr(feature = "ts", ts(type = "Array<number | string | null>"))]
    pub dimensions: Vec<Value>,
    /// One value per metric, in the requested order.
    #[cfg_attr(feature = "ts", ts(type = "Array<number | string | null>"))]
    pub metrics: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub comparison: Option<ComparisonValues>,
}

/// The metrics over the whole range (with the filters, without the dimensions).
#[derive(Clone, PartialEq, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Totals {
    #[cfg_attr(feature = "ts", ts(type = "Array<number | string | null>"))]
    pub metrics: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub comparison: Option<ComparisonValues>,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Meta {
    /// The range as local ISO wall times, `[from, to)`: `["2026-01-05T00:00:00", "2026-01-12T00:00:00"]`.
    pub date_range: [String; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub comparison_date_range: Option<[String; 2]>,
    /// The IANA name of the time zone.
    pub timezone: String,
    /// Where the numbers came from: `"rollup"`, `"raw"` or `"rollup+raw"`.
    #[cfg_attr(feature = "ts", ts(type = "\"rollup\" | \"raw\" | \"rollup+raw\""))]
    pub source: &'static str,
    /// Whether `visitors` are exact counts (false when merged from approximate sketches).
    pub visitors_exact: bool,
    pub took_ms: f64,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueryResult {
    /// The dimension columns (the heatmap gives `weekday`, `hour`), then the metric names.
    pub columns: Vec<String>,
    pub results: Vec<Row>,
    pub totals: Totals,
    pub meta: Meta,
}

/// Rounds to 2 decimals: how every float metric and change is reported.
pub fn round2(x: f64) -> f64 {
    if x.is_finite() {
        (x * 100.0).round() / 100.0
    } else {
        x
    }
}

/// The change from `previous` to `current` in percent, rounded to 2 decimals; `None` when
/// `previous` is 0 (no meaningful percentage).
pub fn percent_change(current: f64, previous: f64) -> Option<f64> {
    (previous != 0.0).then(|| round2((current - previous) / previous * 100.0))
}

/// The CSV text of a cell: numbers as numbers, text neutralised ([`crate::csv::text_cell`]).
fn cell_text(value: &Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Float(x) if x.is_finite() => x.to_string(),
        Value::Float(_) | Value::Null => String::new(),
        Value::Text(t) => crate::csv::text_cell(t).into_owned(),
    }
}

fn float_text(x: Option<f64>) -> String {
    x.filter(|x| x.is_finite()).map(|x| x.to_string()).unwrap_or_default()
}

impl QueryResult {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn has_comparison(&self) -> bool {
        self.totals.comparison.is_some() || self.results.iter().any(|r| r.comparison.is_some())
    }

    /// RFC 4180 CSV (CRLF line ends), safe to open in a spreadsheet ([`crate::csv`]). The header
    /// is [`QueryResult::columns`], then, when the query compares, `<metric>_previous` and
    /// `<metric>_change` for each metric. A last row holds the totals, with `Total` in the first
    /// dimension column (no such row without dimensions: the single row already is the total).
    /// Null is an empty cell.
    pub fn to_csv(&self) -> String {
        let metric_count = self.totals.metrics.len();
        let dim_columns = self.columns.len().saturating_sub(metric_count);
        let metric_names = &self.columns[dim_columns..];
        let compare = self.has_comparison();
        let mut out = String::new();

        // Column names can hold a prop key, which whoever sends events chose.
        let mut header: Vec<String> = self.columns.iter().map(|c| text_cell(c).into_owned()).collect();
        if compare {
            for name in metric_names {
                header.push(text_cell(&format!("{name}_previous")).into_owned());
                header.push(text_cell(&format!("{name}_change")).into_owned());
            }
        }
        write_line(&mut out, &header);

        let comparison_cells = |cells: &mut Vec<String>, cmp: Option<&ComparisonValues>| {
            if !compare {
                return;
            }
            for i in 0..metric_count {
                let previous = cmp.and_then(|c| c.metrics.get(i)).map(cell_text).unwrap_or_default();
                let change = float_text(cmp.and_then(|c| c.change.get(i).copied().flatten()));
                cells.push(previous);
                cells.push(change);
            }
        };
        for row in &self.results {
            let mut cells: Vec<String> = row.dimensions.iter().chain(&row.metrics).map(cell_text).collect();
            comparison_cells(&mut cells, row.comparison.as_ref());
            write_line(&mut out, &cells);
        }
        if dim_columns > 0 {
            let mut cells = vec!["Total".to_owned()];
            cells.resize(dim_columns, String::new());
            cells.extend(self.totals.metrics.iter().map(cell_text));
            comparison_cells(&mut cells, self.totals.comparison.as_ref());
            write_line(&mut out, &cells);
        }
        out
    }
}
