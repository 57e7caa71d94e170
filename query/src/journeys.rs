//! The requests of journeys (`POST /api/v1/journeys`, a JSON body) and of the session explorer
//! (`GET /api/v1/projects/{id}/sessions`, a query string), parsed into the store's queries.
//! Refusals name the offending field like the query API's ([`QueryError`]).

use std::collections::BTreeMap;

use chrono_tz::Tz;
use contract::ids::ProjectId;
use serde_json::{Map, Value};
use store::analytics::explorer::{SessionCursor, SessionListQuery, DEFAULT_SESSION_PAGE, MAX_SESSION_PAGE};
use store::analytics::journeys::{
    JourneyDepth, JourneyLimit, JourneyQuery, DEFAULT_JOURNEY_DEPTH, DEFAULT_JOURNEY_LIMIT, MAX_JOURNEY_DEPTH,
    MAX_JOURNEY_LIMIT,
};
use store::analytics::{Filter, PagePattern};
use store::Millis;

use crate::request::{err, get, parse_date_range, parse_filters, parse_project_id, parse_timezone, str_of, QueryError};
use crate::Range;

/// The fields of a journeys request.
pub const JOURNEY_FIELDS: [&str; 7] = [
    "project_id",
    "date_range",
    "timezone",
    "filters",
    "start",
    "depth",
    "limit",
];
/// The parameters of a session list request.
pub const SESSION_LIST_PARAMS: [&str; 9] = [
    "date_range",
    "timezone",
    "filters",
    "min_duration_ms",
    "max_duration_ms",
    "min_pageviews",
    "max_pageviews",
    "limit",
    "cursor",
];

/// A journeys request: the store's query, and the resolved range and zone the answer echoes.
#[derive(Clone, Debug)]
pub struct JourneyRequest {
    pub query: JourneyQuery,
    pub range: Range,
    pub timezone: Tz,
}

/// A session list request.
#[derive(Clone, Debug)]
pub struct SessionListRequest {
    /// Its `limit` is the page size asked for (the route reads one more).
    pub query: SessionListQuery,
    pub range: Range,
    pub timezone: Tz,
}

fn check_keys(body: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), QueryError> {
    let mut unknown: Vec<&String> = body.keys().filter(|k| !known.contains(&k.as_str())).collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(first) => err(
            first.as_str(),
            format!("unknown {what}; expected one of {}", known.join(", ")),
        ),
    }
}

/// Journeys and sessions are sessions: filters on an event's own name or props cannot apply.
fn session_filters(filters: Vec<Filter>) -> Result<Vec<Filter>, QueryError> {
    if let Some(i) = filters.iter().position(|f| !f.field.is_session_field()) {
        return err(
            format!("filters[{i}][1]"),
            format!(
                "{} is not a field of a session (journeys and sessions filter by session fields: entry and exit \
                 page, source, referrer, utm_*, browser, os, device, country, region, city, hostname)",
                filters[i].field
            ),
        );
    }
    Ok(filters)
}

fn integer_in(value: &Value, field: &str, min: u64, max: u64) -> Result<u64, QueryError> {
    match value.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => err(field, format!("must be an integer from {min} to {max}")),
    }
}

/// Parses a journeys request body at `now`.
pub fn parse_journeys(body: &Value, now: Millis) -> Result<JourneyRequest, QueryError> {
    let Some(body) = body.as_object() else {
        return err("body", "must be a JSON object");
    };
    check_keys(body, &JOURNEY_FIELDS, "field")?;
    let project = parse_project_id(body)?;
    let filters = session_filters(parse_filters(get(body, "filters"))?)?;
    let timezone = parse_timezone(get(body, "timezone"))?;
    let range = parse_date_range(body, now, timezone)?;
    let start = match get(body, "start") {
        None => None,
        Some(v) => {
            let text = str_of(
                v,
                "start",
                "a page path, * matching any run of characters (\"/docs/*\")",
            )?;
            Some(PagePattern::parse(text).map_err(|e| QueryError::new("start", e.to_string()))?)
        }
    };
    let depth = match get(body, "depth") {
        None => DEFAULT_JOURNEY_DEPTH,
        Some(v) => integer_in(v, "depth", 1, u64::from(MAX_JOURNEY_DEPTH))? as u32,
    };
    let limit = match get(body, "limit") {
        None => DEFAULT_JOURNEY_LIMIT,
        Some(v) => integer_in(v, "limit", 1, u64::from(MAX_JOURNEY_LIMIT))? as u32,
    };
    let query = JourneyQuery {
        project,
        from: range.from,
        to: range.to,
        filters,
        start,
        depth: JourneyDepth::new(depth).expect("checked above"),
        limit: JourneyLimit::new(limit).expect("checked above"),
    };
    Ok(JourneyRequest { query, range, timezone })
}

fn number_param(params: &BTreeMap<String, String>, name: &str, max: u64) -> Result<Option<u64>, QueryError> {
    let Some(text) = params.get(name) else { return Ok(None) };
    match text.parse::<u64>() {
        Ok(n) if n <= max => Ok(Some(n)),
        _ => err(name, format!("must be an integer from 0 to {max}, got {text:?}")),
    }
}

/// Parses the query string of a session list of `project` at `now`. `date_range` is a range name
/// (`7d`) or two dates or instants separated by a comma; `filters` the query API's JSON.
pub fn parse_session_list(
    project: ProjectId,
    params: &BTreeMap<String, String>,
    now: Millis,
) -> Result<SessionListRequest, QueryError> {
    let mut body = Map::new();
    for (key, text) in params {
        if !SESSION_LIST_PARAMS.contains(&key.as_str()) {
            return err(
                key.as_str(),
                format!("unknown parameter; expected one of {}", SESSION_LIST_PARAMS.join(", ")),
            );
        }
        let value = match key.as_str() {
            "date_range" => match text.split_once(',') {
                Some((a, b)) => Value::Array(vec![Value::String(a.into()), Value::String(b.into())]),
                None => Value::String(text.clone()),
            },
            "filters" => serde_json::from_str(text)
                .map_err(|e| QueryError::new("filters", format!("must be JSON (the query API's filters): {e}")))?,
            _ => Value::String(text.clone()),
        };
        body.insert(key.clone(), value);
    }
    let filters = session_filters(parse_filters(get(&body, "filters"))?)?;
    let timezone = parse_timezone(get(&body, "timezone"))?;
    let range = parse_date_range(&body, now, timezone)?;
    let day_ms = 86_400_000 * crate::request::MAX_RANGE_DAYS as u64;
    let min_duration_ms = number_param(params, "min_duration_ms", day_ms)?;
    let max_duration_ms = number_param(params, "max_duration_ms", day_ms)?;
    let min_pageviews = number_param(params, "min_pageviews", u64::from(u32::MAX))?.map(|n| n as u32);
    let max_pageviews = number_param(params, "max_pageviews", u64::from(u32::MAX))?.map(|n| n as u32);
    let limit = match params.get("limit") {
        None => DEFAULT_SESSION_PAGE,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_SESSION_PAGE).contains(&n) => n,
            _ => {
                return err(
                    "limit",
                    format!("must be an integer from 1 to {MAX_SESSION_PAGE}, got {text:?}"),
                )
            }
        },
    };
    let after = match params.get("cursor") {
        None => None,
        Some(text) => Some(SessionCursor::decode(text).ok_or_else(|| {
            QueryError::new(
                "cursor",
                "is not a cursor of this list: pass next_cursor of the previous page as it is",
            )
        })?),
    };
    let query = SessionListQuery {
        project,
        from: range.from,
        to: range.to,
        filters,
        min_duration_ms,
        max_duration_ms,
        min_pageviews,
        max_pageviews,
        after,
        limit,
    };
    Ok(SessionListRequest { query, range, timezone })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Millis = 1_763_683_200_000;
    const PROJECT: &str = "65f0a1b2c3d4e5f601234567";

    fn field_of(body: Value) -> String {
        parse_journeys(&body, NOW).unwrap_err().field
    }

    #[test]
    fn journeys_defaults_and_refusals() {
        let ok = parse_journeys(&json!({"project_id": PROJECT, "date_range": "7d"}), NOW).unwrap();
        assert_eq!((ok.query.depth.get(), ok.query.limit.get()), (3, 10));
        assert_eq!(ok.query.start, None);
        let base = || json!({"project_id": PROJECT, "date_range": "7d"});
        let with = |k: &str, v: Value| {
            let mut b = base();
            b[k] = v;
            b
        };
        assert_eq!(field_of(with("depth", json!(7))), "depth");
        assert_eq!(field_of(with("depth", json!(0))), "depth");
        assert_eq!(field_of(with("limit", json!(51))), "limit");
        assert_eq!(field_of(with("start", json!("docs"))), "start");
        assert_eq!(field_of(with("nope", json!(1))), "nope");
        assert_eq!(
            field_of(with("filters", json!([["is", "event_name", ["x"]]]))),
            "filters[0][1]"
        );
        assert_eq!(field_of(with("date_range", json!("forever"))), "date_range");
        assert_eq!(field_of(json!({"date_range": "7d"})), "project_id");
        let deep = parse_journeys(&with("start", json!("/docs/*")), NOW).unwrap();
        assert_eq!(deep.query.start.unwrap().as_str(), "/docs/*");
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn session_list_parameters() {
        let p = ProjectId::parse(PROJECT).unwrap();
        let ok = parse_session_list(
            p,
            &params(&[
                ("date_range", "2025-11-01,2025-11-20"),
                ("filters", r#"[["is","country",["FR"]]]"#),
                ("min_pageviews", "2"),
                ("limit", "5"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(ok.query.limit, 5);
        assert_eq!(ok.query.min_pageviews, Some(2));
        assert_eq!(ok.query.filters.len(), 1);
        let field = |pairs: &[(&str, &str)]| parse_session_list(p, &params(pairs), NOW).unwrap_err().field;
        assert_eq!(field(&[("date_range", "7d"), ("limit", "101")]), "limit");
        assert_eq!(field(&[("date_range", "7d"), ("cursor", "abc")]), "cursor");
        assert_eq!(
            field(&[("date_range", "7d"), ("min_duration_ms", "-1")]),
            "min_duration_ms"
        );
        assert_eq!(field(&[("date_range", "7d"), ("filters", "[")]), "filters");
        assert_eq!(
            field(&[("date_range", "7d"), ("filters", r#"[["is","props.x",["1"]]]"#)]),
            "filters[0][1]"
        );
        assert_eq!(field(&[("date_range", "7d"), ("sort", "x")]), "sort");
        assert_eq!(field(&[]), "date_range");
    }
}
