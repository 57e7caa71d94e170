//! Saved segments: a project's named sets of dashboard filters ("Paid traffic from Germany" =
//! `[["is", "country", ["DE"]], ["is", "utm_medium", ["cpc"]]]`), kept for the dashboard, which
//! applies one by copying its filters into its URL. Queries never read them.

use contract::ids::ProjectId;
use serde::{Deserialize, Serialize};

use crate::ids::SegmentId;
use crate::{Millis, Name};

/// Most segments per project: a dashboard lists them all in one menu, and a hundred is more
/// than a site's owners can keep apart.
pub const MAX_SEGMENTS_PER_PROJECT: usize = 100;
/// Most filters in one segment: the query API's limit on a query's filters
/// (`query::request::MAX_FILTERS`, which this crate cannot name; `query` asserts at compile
/// time that the two are equal), so every segment applies.
pub const MAX_SEGMENT_FILTERS: usize = 20;

/// A filter as saved: `(operator, dimension, values)`, the `[operator, dimension, [values]]` the
/// query API takes (`["is", "country", ["DE"]]`). Checked against the query API's rules by the
/// caller (`query::check_filters`), kept here as written.
pub type SegmentFilter = (String, String, Vec<String>);

/// The filters of a segment: 1 to [`MAX_SEGMENT_FILTERS`], in the owner's order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(try_from = "Vec<SegmentFilter>", into = "Vec<SegmentFilter>")]
pub struct SegmentFilters(Vec<SegmentFilter>);

impl SegmentFilters {
    pub fn new(filters: Vec<SegmentFilter>) -> Result<Self, String> {
        if !(1..=MAX_SEGMENT_FILTERS).contains(&filters.len()) {
            return Err(format!(
                "a segment has 1 to {MAX_SEGMENT_FILTERS} filters, not {}",
                filters.len()
            ));
        }
        Ok(Self(filters))
    }

    pub fn as_slice(&self) -> &[SegmentFilter] {
        &self.0
    }

    /// The filters as JSON (`[["is", "country", ["DE"]]]`), the form the SQLite store keeps
    /// them in.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("filters serialize")
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

impl TryFrom<Vec<SegmentFilter>> for SegmentFilters {
    type Error = String;
    fn try_from(filters: Vec<SegmentFilter>) -> Result<Self, String> {
        Self::new(filters)
    }
}

impl From<SegmentFilters> for Vec<SegmentFilter> {
    fn from(s: SegmentFilters) -> Self {
        s.0
    }
}

/// A named set of filters saved for a project's dashboard.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Segment {
    pub id: SegmentId,
    pub project: ProjectId,
    /// 1 to 100 characters ([`Name`]); unique in its project regardless of case (the caller's
    /// rule, like the count).
    pub name: Name,
    pub filters: SegmentFilters,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(op: &str, dimension: &str, values: &[&str]) -> SegmentFilter {
        (
            op.to_owned(),
            dimension.to_owned(),
            values.iter().map(|v| v.to_string()).collect(),
        )
    }

    #[test]
    fn a_segment_has_one_to_the_most_filters() {
        assert!(SegmentFilters::new(vec![]).is_err());
        let one = SegmentFilters::new(vec![filter("is", "country", &["DE"])]).unwrap();
        assert_eq!(one.as_slice(), &[filter("is", "country", &["DE"])]);
        let most = vec![filter("is", "page", &["/"]); MAX_SEGMENT_FILTERS];
        assert!(SegmentFilters::new(most.clone()).is_ok());
        let mut over = most;
        over.push(filter("is", "page", &["/"]));
        assert_eq!(
            SegmentFilters::new(over),
            Err(format!(
                "a segment has 1 to 20 filters, not {}",
                MAX_SEGMENT_FILTERS + 1
            ))
        );
    }

    #[test]
    fn filters_round_trip_through_the_query_apis_json() {
        let filters = SegmentFilters::new(vec![
            filter("is", "country", &["DE", "AT"]),
            filter("matches", "page", &["^/docs/ü\"x"]),
            filter("is", "goal", &["Signup"]),
        ])
        .unwrap();
        let json = filters.to_json();
        assert_eq!(
            json,
            r#"[["is","country",["DE","AT"]],["matches","page",["^/docs/ü\"x"]],["is","goal",["Signup"]]]"#
        );
        assert_eq!(SegmentFilters::from_json(&json), Ok(filters));
        assert!(
            SegmentFilters::from_json("[]").is_err(),
            "the count is checked on the way in"
        );
        assert!(SegmentFilters::from_json(r#"[["is","country"]]"#).is_err());
        assert!(SegmentFilters::from_json(r#"{"is": "country"}"#).is_err());
    }
}
