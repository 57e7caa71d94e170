//! `POST /api/v1/funnel`: the request parsed and validated ([`parse_funnel`], every refusal a
//! [`QueryError`] naming the field), and the answer built from the store's counts
//! ([`funnel_result`]). Goal steps are resolved by the caller (it has the store).

use chrono_tz::Tz;
use contract::api::{FunnelResult, FunnelStep as ApiStep, FunnelStepSpec};
use contract::ids::ProjectId;
use serde_json::{Map, Value};
use store::analytics::funnel::{CustomEventName, FunnelCounts, FunnelStep, MAX_FUNNEL_STEPS, MIN_FUNNEL_STEPS};
use store::analytics::{Filter, PagePattern};
use store::{Goal, GoalKind, Millis};

use crate::range::Range;
use crate::request::{
    array_of, err, get, parse_date_range, parse_filters, parse_project_id, parse_timezone, str_of, QueryError,
};
use crate::response::round2;

/// The top-level fields of a funnel request.
pub const FUNNEL_FIELDS: [&str; 5] = ["project_id", "date_range", "timezone", "filters", "steps"];

/// A step as requested: a goal is still an id, for the caller to resolve.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StepSpec {
    Page(PagePattern),
    Event(CustomEventName),
    /// A goal id (24 hex characters); `steps[i].goal` names it in errors.
    Goal(String),
}

/// A valid funnel request.
#[derive(Clone, PartialEq, Debug)]
pub struct FunnelRequest {
    pub project: ProjectId,
    pub range: Range,
    pub timezone: Tz,
    /// Session fields only.
    pub filters: Vec<Filter>,
    /// [`MIN_FUNNEL_STEPS`] to [`MAX_FUNNEL_STEPS`].
    pub steps: Vec<StepSpec>,
}

fn check_keys(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), QueryError> {
    let mut unknown: Vec<&String> = body.keys().filter(|k| !allowed.contains(&k.as_str())).collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(first) => err(
            first.as_str(),
            format!("unknown field; a funnel request has {}", allowed.join(", ")),
        ),
    }
}

/// Parses one step (`{"page": ...}`, `{"event": ...}` or `{"goal": ...}`), `at` naming it.
pub fn parse_step(value: &Value, at: &str) -> Result<StepSpec, QueryError> {
    let shape = "an object with exactly one of page, event and goal, e.g. {\"page\": \"/pricing\"}";
    let Some(object) = value.as_object() else {
        return err(at, format!("must be {shape}"));
    };
    check_keys(object, &["page", "event", "goal"]).map_err(|e| QueryError::new(format!("{at}.{}", e.field), shape))?;
    let present: Vec<(&String, &Value)> = object.iter().filter(|(_, v)| !v.is_null()).collect();
    let [(key, value)] = present.as_slice() else {
        return err(at, format!("must be {shape}"));
    };
    let field = format!("{at}.{key}");
    match key.as_str() {
        "page" => {
            let text = str_of(value, &field, "a page path pattern such as \"/docs/*\"")?;
            PagePattern::parse(text)
                .map(StepSpec::Page)
                .map_err(|e| QueryError::new(field, e.to_string()))
        }
        "event" => {
            let text = str_of(value, &field, "a custom event name")?;
            CustomEventName::parse(text)
                .map(StepSpec::Event)
                .map_err(|why| QueryError::new(field, why))
        }
        _ => {
            let text = str_of(value, &field, "a goal id (24 hex characters)")?;
            let valid = text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid {
                return err(field, "must be a goal id (24 hex characters)");
            }
            Ok(StepSpec::Goal(text.to_ascii_lowercase()))
        }
    }
}

/// Parses a list of steps (`steps`, `at` naming it).
pub fn parse_steps(value: Option<&Value>, at: &str) -> Result<Vec<StepSpec>, QueryError> {
    let Some(value) = value else {
        return err(
            at,
            format!("is required: {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps"),
        );
    };
    let list = array_of(value, at, "a list of steps")?;
    if !(MIN_FUNNEL_STEPS..=MAX_FUNNEL_STEPS).contains(&list.len()) {
        return err(
            at,
            format!(
                "a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps, not {}",
                list.len()
            ),
        );
    }
    list.iter()
        .enumerate()
        .map(|(i, step)| parse_step(step, &format!("{at}[{i}]")))
        .collect()
}

/// Parses and validates a funnel request at `now` (which resolves relative date ranges).
pub fn parse_funnel(body: &Value, now: Millis) -> Result<FunnelRequest, QueryError> {
    let Some(body) = body.as_object() else {
        return err("body", "must be a JSON object");
    };
    check_keys(body, &FUNNEL_FIELDS)?;
    let project = parse_project_id(body)?;
    let filters = parse_filters(get(body, "filters"))?;
    for (i, f) in filters.iter().enumerate() {
        if !f.field.is_session_field() {
            return err(
                format!("filters[{i}][1]"),
                format!(
                    "{} is not a field of a visit: a funnel filters the visits it counts by their fields \
                     (page is the entry page)",
                    f.field.name()
                ),
            );
        }
    }
    let timezone = parse_timezone(get(body, "timezone"))?;
    let range = parse_date_range(body, now, timezone)?;
    let steps = parse_steps(get(body, "steps"), "steps")?;
    Ok(FunnelRequest {
        project,
        range,
        timezone,
        filters,
        steps,
    })
}

/// The store's steps and their labels: a page or event step as given, a goal step as the goal's
/// page or event step (labelled with the goal's name), found among `goals` (the project's) by
/// id. `at` names the steps in errors (`steps[1].goal`).
pub fn resolve_steps(
    specs: &[StepSpec],
    goals: &[Goal],
    at: &str,
) -> Result<(Vec<FunnelStep>, Vec<String>), QueryError> {
    let mut steps = Vec::with_capacity(specs.len());
    let mut labels = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let (step, label) = match spec {
            StepSpec::Page(p) => (FunnelStep::Page(p.clone()), p.to_string()),
            StepSpec::Event(n) => (FunnelStep::Event(n.clone()), n.as_str().to_owned()),
            StepSpec::Goal(id) => {
                let field = format!("{at}[{i}].goal");
                let goal = goals
                    .iter()
                    .find(|g| g.id.to_string() == *id)
                    .ok_or_else(|| QueryError::new(&field, format!("the project has no goal {id}")))?;
                let step = match &goal.kind {
                    GoalKind::Page(pattern) => FunnelStep::Page(pattern.clone()),
                    // Stored goals name custom events only (`GoalKind::event`), which is what
                    // an event step takes.
                    GoalKind::Event(name) => {
                        FunnelStep::Event(CustomEventName::parse(name).map_err(|why| QueryError::new(&field, why))?)
                    }
                };
                (step, goal.kind.name())
            }
        };
        steps.push(step);
        labels.push(label);
    }
    Ok((steps, labels))
}

/// The step as the API shows it in saved funnels.
pub fn step_spec_view(step: &StepSpec) -> FunnelStepSpec {
    let mut spec = FunnelStepSpec {
        page: None,
        event: None,
        goal: None,
    };
    match step {
        StepSpec::Page(p) => spec.page = Some(p.as_str().to_owned()),
        StepSpec::Event(n) => spec.event = Some(n.as_str().to_owned()),
        StepSpec::Goal(id) => spec.goal = Some(id.clone()),
    }
    spec
}

fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round2(part as f64 * 100.0 / whole as f64)
    }
}

/// The answer: `counts` (one per step) with the steps' `labels`, rates as `FunnelStep` documents.
pub fn funnel_result(counts: &FunnelCounts, labels: &[String], range: &Range, timezone: Tz) -> FunnelResult {
    let first = counts.steps.first().map_or(0, |s| s.visitors);
    let steps = counts
        .steps
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(k, (count, label))| {
            let previous = if k == 0 {
                count.visitors
            } else {
                counts.steps[k - 1].visitors
            };
            let drop_off = previous.saturating_sub(count.visitors);
            ApiStep {
                label: label.clone(),
                visitors: count.visitors,
                conversion_rate: if k == 0 { 100.0 } else { percent(count.visitors, first) },
                drop_off,
                drop_off_rate: if k == 0 { 0.0 } else { percent(drop_off, previous) },
                median_ms_from_previous: if k == 0 { None } else { count.median_ms_from_previous },
            }
        })
        .collect();
    FunnelResult {
        steps,
        date_range: vec![rfc3339(range.from), rfc3339(range.to)],
        timezone: timezone.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use store::analytics::funnel::FunnelStepCount;

    const NOW: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    fn body() -> Value {
        json!({
            "project_id": "0123456789abcdef01234567",
            "date_range": "7d",
            "steps": [{"page": "/"}, {"event": "signup"}, {"goal": "ABCDEF0123456789abcdef01"}],
        })
    }

    fn refusal(mutate: impl FnOnce(&mut Value)) -> QueryError {
        let mut b = body();
        mutate(&mut b);
        parse_funnel(&b, NOW).expect_err("refused")
    }

    #[test]
    fn a_valid_request_parses() {
        let r = parse_funnel(&body(), NOW).unwrap();
        assert_eq!(r.steps.len(), 3);
        assert_eq!(r.steps[2], StepSpec::Goal("abcdef0123456789abcdef01".into()));
        assert_eq!(r.timezone, Tz::UTC);
    }

    #[test]
    fn every_refusal_names_its_field() {
        type Mutation = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|b| b["steps"] = json!([{"page": "/"}])), "steps"),
            (Box::new(|b| b["steps"] = json!(vec![json!({"page": "/"}); 9])), "steps"),
            (
                Box::new(|b| b["steps"][1] = json!({"page": "/", "event": "x"})),
                "steps[1]",
            ),
            (Box::new(|b| b["steps"][1] = json!({})), "steps[1]"),
            (Box::new(|b| b["steps"][1] = json!("signup")), "steps[1]"),
            (
                Box::new(|b| b["steps"][0] = json!({"page": "pricing"})),
                "steps[0].page",
            ),
            (
                Box::new(|b| b["steps"][1] = json!({"event": "pageview"})),
                "steps[1].event",
            ),
            (Box::new(|b| b["steps"][1] = json!({"event": 3})), "steps[1].event"),
            (Box::new(|b| b["steps"][2] = json!({"goal": "nope"})), "steps[2].goal"),
            (Box::new(|b| b["steps"][2] = json!({"goals": "x"})), "steps[2].goals"),
            (
                Box::new(|b| b["filters"] = json!([["is", "event_name", ["x"]]])),
                "filters[0][1]",
            ),
            (
                Box::new(|b| b["filters"] = json!([["is", "props.plan", ["x"]]])),
                "filters[0][1]",
            ),
            (Box::new(|b| b["date_range"] = json!("forever")), "date_range"),
            (Box::new(|b| b["timezone"] = json!("Mars/Olympus")), "timezone"),
            (Box::new(|b| b["metrics"] = json!(["visitors"])), "metrics"),
            (Box::new(|b| drop(b.as_object_mut().unwrap().remove("steps"))), "steps"),
            (
                Box::new(|b| drop(b.as_object_mut().unwrap().remove("project_id"))),
                "project_id",
            ),
        ];
        for (mutate, field) in cases {
            let e = refusal(mutate);
            assert_eq!(e.field, field, "{e}");
        }
    }

    #[test]
    fn rates_follow_the_documented_definitions() {
        let counts = FunnelCounts {
            steps: vec![
                FunnelStepCount {
                    visitors: 3,
                    median_ms_from_previous: None,
                },
                FunnelStepCount {
                    visitors: 2,
                    median_ms_from_previous: Some(1_500),
                },
                FunnelStepCount {
                    visitors: 0,
                    median_ms_from_previous: None,
                },
                FunnelStepCount {
                    visitors: 0,
                    median_ms_from_previous: None,
                },
            ],
        };
        let labels: Vec<String> = ["/", "/pricing", "signup", "paid"].map(String::from).to_vec();
        let range = crate::range::resolve(&json!("7d"), NOW, Tz::UTC).unwrap();
        let r = funnel_result(&counts, &labels, &range, Tz::UTC);
        let rates: Vec<(u64, f64, u64, f64)> = r
            .steps
            .iter()
            .map(|s| (s.visitors, s.conversion_rate, s.drop_off, s.drop_off_rate))
            .collect();
        assert_eq!(
            rates,
            vec![
                (3, 100.0, 0, 0.0),
                (2, 66.67, 1, 33.33),
                (0, 0.0, 2, 100.0),
                (0, 0.0, 0, 0.0)
            ]
        );
        assert_eq!(r.steps[1].median_ms_from_previous, Some(1_500));
        // "7d" ends with today.
        assert_eq!(
            r.date_range,
            vec!["2025-12-26T00:00:00.000Z", "2026-01-02T00:00:00.000Z"]
        );
    }
}
