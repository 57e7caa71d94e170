//! Saved funnels: a project's named step lists, kept for the dashboard (`SavedFunnel`). The
//! funnel computation itself is [`crate::analytics::funnel`].

use contract::ids::ProjectId;
use serde::{Deserialize, Serialize};

use crate::analytics::funnel::{CustomEventName, MAX_FUNNEL_STEPS, MIN_FUNNEL_STEPS};
use crate::analytics::PagePattern;
use crate::ids::FunnelId;
use crate::{Millis, Name};

/// Most saved funnels per project: a dashboard lists them all, and a hundred is more than a
/// site's owners can keep apart.
pub const MAX_SAVED_FUNNELS_PER_PROJECT: usize = 100;

/// A step as saved: a page pattern, a custom event, or a goal of the project by id (resolved
/// when the funnel runs, so editing the goals list changes the funnels that name them).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavedFunnelStep {
    Page(PagePattern),
    Event(CustomEventName),
    /// A goal id, 24 hex characters (checked by the caller against the project's goals).
    Goal(String),
}

/// The steps of a saved funnel: [`MIN_FUNNEL_STEPS`] to [`MAX_FUNNEL_STEPS`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(try_from = "Vec<SavedFunnelStep>", into = "Vec<SavedFunnelStep>")]
pub struct SavedFunnelSteps(Vec<SavedFunnelStep>);

impl SavedFunnelSteps {
    pub fn new(steps: Vec<SavedFunnelStep>) -> Result<Self, String> {
        if !(MIN_FUNNEL_STEPS..=MAX_FUNNEL_STEPS).contains(&steps.len()) {
            return Err(format!(
                "a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps, not {}",
                steps.len()
            ));
        }
        Ok(Self(steps))
    }

    pub fn as_slice(&self) -> &[SavedFunnelStep] {
        &self.0
    }

    /// The steps as JSON (`[{"page": "/"}, {"event": "signup"}, {"goal": "<id>"}]`), the form
    /// both stores keep them in.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("steps serialize")
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

impl TryFrom<Vec<SavedFunnelStep>> for SavedFunnelSteps {
    type Error = String;
    fn try_from(steps: Vec<SavedFunnelStep>) -> Result<Self, String> {
        Self::new(steps)
    }
}

impl From<SavedFunnelSteps> for Vec<SavedFunnelStep> {
    fn from(s: SavedFunnelSteps) -> Self {
        s.0
    }
}

/// A funnel saved for a project's dashboard.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SavedFunnel {
    pub id: FunnelId,
    pub project: ProjectId,
    /// 1 to 100 characters ([`Name`]).
    pub name: Name,
    pub steps: SavedFunnelSteps,
    pub created_at: Millis,
}
