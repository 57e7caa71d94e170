//! Conversion goals: what counts as a conversion on a site. A goal is a custom event by name, or
//! page views of a [`PagePattern`]. [`GoalKind::completed_by`] is the one definition of which
//! events complete a goal: both backends' aggregations and the tests' brute force implement it.

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::wire::{EventName, PAGEVIEW, PATH_CHANGE};
use serde::{Deserialize, Serialize};

use crate::analytics::pattern::{PagePattern, PagePatternError};
use crate::{GoalId, Millis};

/// Most goals one project may have. The `goal` dimension answers a row per goal and the
/// aggregation behind it tests every event against every goal, so the count bounds that work; a
/// hundred is far more than a site's dashboard can show.
pub const MAX_GOALS_PER_PROJECT: usize = 100;

/// What the name of a page goal starts with: `Visit /docs/*`.
pub const PAGE_GOAL_PREFIX: &str = "Visit ";

/// What completes a goal.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum GoalKind {
    /// An event with this name (stored goals name custom events only, see [`GoalKind::event`]).
    Event(String),
    /// A page view (`pageview` or `path_change`) whose path matches the pattern.
    Page(PagePattern),
}

/// Why a goal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoalError {
    #[error("{0}")]
    EventName(String),
    #[error("{0:?} is a page view, not a custom event: make a page goal instead")]
    BuiltInEvent(String),
    #[error(transparent)]
    Page(#[from] PagePatternError),
}

impl GoalKind {
    /// A custom event goal: a valid event name (trimmed) that is not one of the built-in events
    /// (`pageview`, `path_change`, `page_exit`): page views are page goals.
    pub fn event(name: &str) -> Result<GoalKind, GoalError> {
        match EventName::parse(name) {
            Ok(EventName::Custom(name)) => Ok(GoalKind::Event(name)),
            Ok(built_in) => Err(GoalError::BuiltInEvent(built_in.as_str().to_owned())),
            Err(e) => Err(GoalError::EventName(e.to_string())),
        }
    }

    /// A page goal of a pattern (`/pricing`, `/docs/*`).
    pub fn page(pattern: &str) -> Result<GoalKind, GoalError> {
        Ok(GoalKind::Page(PagePattern::parse(pattern)?))
    }

    /// What the API and the dashboard call the goal, and what `["is", "goal", [name]]` filters
    /// by: the event name, or `Visit <pattern>`.
    pub fn name(&self) -> String {
        match self {
            GoalKind::Event(name) => name.clone(),
            GoalKind::Page(pattern) => format!("{PAGE_GOAL_PREFIX}{pattern}"),
        }
    }

    /// Whether `e` completes the goal: the reference semantics every backend implements.
    pub fn completed_by(&self, e: &EnrichedEvent) -> bool {
        match self {
            GoalKind::Event(name) => e.name == *name,
            GoalKind::Page(pattern) => is_page_view(&e.name) && pattern.matches(&e.path),
        }
    }
}

/// Whether an event name is a page view (`pageview` or an SPA `path_change`).
pub fn is_page_view(name: &str) -> bool {
    name == PAGEVIEW || name == PATH_CHANGE
}

/// A goal of a project. A project has each goal (kind and value) at most once.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Goal {
    pub id: GoalId,
    pub project: ProjectId,
    pub kind: GoalKind,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_goals_are_custom_event_names() {
        assert_eq!(GoalKind::event(" Signup ").unwrap(), GoalKind::Event("Signup".into()));
        assert_eq!(GoalKind::event("signup").unwrap().name(), "signup");
        assert!(matches!(GoalKind::event("pageview"), Err(GoalError::BuiltInEvent(_))));
        assert!(matches!(GoalKind::event("page_exit"), Err(GoalError::BuiltInEvent(_))));
        assert!(matches!(GoalKind::event(""), Err(GoalError::EventName(_))));
        assert!(matches!(
            GoalKind::event(&"x".repeat(121)),
            Err(GoalError::EventName(_))
        ));
    }

    #[test]
    fn page_goals_are_named_after_their_pattern() {
        let goal = GoalKind::page("/docs/*").unwrap();
        assert_eq!(goal.name(), "Visit /docs/*");
        assert!(matches!(GoalKind::page("docs"), Err(GoalError::Page(_))));
    }

    #[test]
    fn page_goals_are_completed_by_page_views_only() {
        let mut e = crate::sessions::testing::event(ProjectId::from_bytes([1; 12]), 1, "a", "pageview", 0, "/docs/a");
        let docs = GoalKind::page("/docs/*").unwrap();
        assert!(docs.completed_by(&e));
        e.name = "path_change".into();
        assert!(docs.completed_by(&e));
        e.name = "page_exit".into();
        assert!(!docs.completed_by(&e), "leaving a page does not visit it");
        e.name = "signup".into();
        assert!(!docs.completed_by(&e));
        assert!(GoalKind::Event("signup".into()).completed_by(&e));
        e.path = "/docs".into();
        e.name = "pageview".into();
        assert!(!docs.completed_by(&e));
    }
}
