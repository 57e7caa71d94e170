//! The vocabulary of dashboard queries that both backends answer: the fields events and sessions
//! are grouped and filtered by, the raw aggregations pushed down to the database, and the
//! pre-aggregated rollups kept up to date after ingestion.
//!
//! # What every metric counts (the same in the rollups, the raw path and the tests' ground truth)
//!
//! * *Event metrics* (`pageviews`, custom `events`, `visitors`, `time_on_page`, `scroll_depth`,
//!   conversions) count **events that occurred in the range**. An event has its own fields (page,
//!   hostname, name, props, browser, os, device, country, region, city) and, through the session
//!   it belongs to (same visitor, `start <= occurred_at <= end`), the session's fields (entry and
//!   exit page, source, referrer, utm_*).
//! * *Session metrics* (`visits`, `bounce_rate`, `visit_duration`, `views_per_visit`) count
//!   **sessions that started in the range**, grouped and filtered by the session's own fields. A
//!   session has no page of its own: [`Field::Page`] means its entry page. Event names and props
//!   are not fields of a session.
//! * A missing value (no referrer, unknown country) is the empty string, in groups and filters.

pub mod digest;
pub mod funnel;
pub mod pattern;
pub mod raw;
pub mod rollup;
pub mod sketch;
// Journeys and the session explorer (issue 13).
pub mod explorer;
pub mod journeys;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use pattern::PagePattern;
pub use raw::{EventCounters, EventGroup, Filter, FilterOp, RawQuery, SessionGroup, TimeBuckets};
pub use rollup::{
    Counters, DirtyHour, Expired, Granularity, Retention, RollupDim, RollupRow, RollupSummary, StoredRollup,
};
pub use sketch::Sketch;

/// Longest custom property key accepted in a query (the contract's own limit).
pub const MAX_PROP_KEY_BYTES: usize = contract::limits::MAX_PROP_KEY_BYTES;

/// A field of an event or a session that queries group and filter by.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum Field {
    Page,
    EntryPage,
    ExitPage,
    Hostname,
    Source,
    Referrer,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Browser,
    Os,
    Device,
    Country,
    Region,
    City,
    EventName,
    /// A custom property, by key.
    Prop(String),
}

/// Where an event finds a field's value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EventSide {
    /// A column of the event itself.
    Own,
    /// A field of the session the event belongs to.
    Session,
}

impl Field {
    /// Every field but [`Field::Prop`], in the order the API documents them.
    pub const FIXED: [Field; 18] = [
        Field::Page,
        Field::EntryPage,
        Field::ExitPage,
        Field::Hostname,
        Field::Source,
        Field::Referrer,
        Field::UtmSource,
        Field::UtmMedium,
        Field::UtmCampaign,
        Field::UtmTerm,
        Field::UtmContent,
        Field::Browser,
        Field::Os,
        Field::Device,
        Field::Country,
        Field::Region,
        Field::City,
        Field::EventName,
    ];

    /// The API name: `page`, `utm_source`, `event_name`, `props.<key>`, ...
    pub fn name(&self) -> String {
        match self {
            Field::Prop(key) => format!("props.{key}"),
            other => other.fixed_name().to_owned(),
        }
    }

    fn fixed_name(&self) -> &'static str {
        match self {
            Field::Page => "page",
            Field::EntryPage => "entry_page",
            Field::ExitPage => "exit_page",
            Field::Hostname => "hostname",
            Field::Source => "source",
            Field::Referrer => "referrer",
            Field::UtmSource => "utm_source",
            Field::UtmMedium => "utm_medium",
            Field::UtmCampaign => "utm_campaign",
            Field::UtmTerm => "utm_term",
            Field::UtmContent => "utm_content",
            Field::Browser => "browser",
            Field::Os => "os",
            Field::Device => "device",
            Field::Country => "country",
            Field::Region => "region",
            Field::City => "city",
            Field::EventName => "event_name",
            Field::Prop(_) => "props",
        }
    }

    /// Parses an API name; `None` when it names no field.
    pub fn parse(name: &str) -> Option<Field> {
        if let Some(key) = name.strip_prefix("props.") {
            let ok = !key.is_empty() && key.len() <= MAX_PROP_KEY_BYTES && contract::wire::check_prop_key(key).is_ok();
            return ok.then(|| Field::Prop(key.to_owned()));
        }
        Field::FIXED.into_iter().find(|f| f.fixed_name() == name)
    }

    /// Where an event takes this field from.
    pub fn event_side(&self) -> EventSide {
        match self {
            Field::EntryPage
            | Field::ExitPage
            | Field::Source
            | Field::Referrer
            | Field::UtmSource
            | Field::UtmMedium
            | Field::UtmCampaign
            | Field::UtmTerm
            | Field::UtmContent => EventSide::Session,
            _ => EventSide::Own,
        }
    }

    /// Whether a session has this field ([`Field::Page`] standing for its entry page).
    pub fn is_session_field(&self) -> bool {
        !matches!(self, Field::EventName | Field::Prop(_))
    }

    /// The field a session groups and filters by for this one: its entry page for `page`.
    pub fn for_session(&self) -> &Field {
        match self {
            Field::Page => &Field::EntryPage,
            other => other,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The value of `field` for an event whose session is `session` (the session is needed only for
/// [`EventSide::Session`] fields; `None` gives the empty string, as for a missing value).
pub fn event_value(field: &Field, e: &contract::enriched::EnrichedEvent, session: Option<&crate::Session>) -> String {
    if field.event_side() == EventSide::Session {
        return session.map(|s| session_value(field, s)).unwrap_or_default();
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match field {
        Field::Page => e.path.clone(),
        Field::Hostname => e.hostname.clone(),
        Field::Browser => e.client.browser.clone(),
        Field::Os => e.client.os.clone(),
        Field::Device => e.client.device.as_str().to_owned(),
        Field::Country => opt(&e.geo.country),
        Field::Region => opt(&e.geo.region),
        Field::City => opt(&e.geo.city),
        Field::EventName => e.name.clone(),
        Field::Prop(key) => e.props.get(key).cloned().unwrap_or_default(),
        _ => unreachable!("session-side fields are handled above"),
    }
}

/// The value of `field` for a session (`page` is the entry page; event names and props are empty).
pub fn session_value(field: &Field, s: &crate::Session) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match field {
        Field::Page | Field::EntryPage => s.entry_page.clone(),
        Field::ExitPage => s.exit_page.clone(),
        Field::Hostname => s.hostname.clone(),
        Field::Source => opt(&s.source),
        Field::Referrer => opt(&s.referrer),
        Field::UtmSource => opt(&s.utm.source),
        Field::UtmMedium => opt(&s.utm.medium),
        Field::UtmCampaign => opt(&s.utm.campaign),
        Field::UtmTerm => opt(&s.utm.term),
        Field::UtmContent => opt(&s.utm.content),
        Field::Browser => s.client.browser.clone(),
        Field::Os => s.client.os.clone(),
        Field::Device => s.client.device.as_str().to_owned(),
        Field::Country => opt(&s.geo.country),
        Field::Region => opt(&s.geo.region),
        Field::City => opt(&s.geo.city),
        Field::EventName | Field::Prop(_) => String::new(),
    }
}
