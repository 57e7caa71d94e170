//! The enriched event: what the edge forwards to the collector's `POST /internal/v1/ingest`, and
//! what the collector's own `POST /api/event` builds before storing. Built only by [`enrich`], so
//! both paths agree field by field.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::enrich::utm::{Utm, MAX_UTM_VALUE_BYTES};
use crate::enrich::{bot, source, ua, visitor, ClientInfo, DailySalt, VisitorId};
use crate::ids::{EventId, ProjectId, MINTED_ID_RANDOM_BYTES};
use crate::limits::*;
use crate::wire::{check_prop_key, Event, EventName};

/// Where a request came from, as far as the receiving server can tell. The raw IP is used for the
/// visitor id and nothing else: it is not part of [`EnrichedEvent`].
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// Server clock when the request arrived, ms since the Unix epoch.
    pub received_at: i64,
    pub ip: String,
    pub user_agent: String,
    pub geo: Geo,
    /// Cloudflare Bot Management score (1 = bot … 99 = human), when the zone has it.
    pub bot_score: Option<u8>,
    /// Cloudflare's verified-bot flag, when known.
    pub verified_bot: bool,
}

/// Geography, from Cloudflare's `request.cf` at the edge (or a trusted proxy's headers).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Geo {
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// IANA time zone of the visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Cloudflare data centre that received the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
}

/// Cloudflare bot scores at or below this are treated as bots.
pub const BOT_SCORE_THRESHOLD: u8 = 29;

/// One event ready to store.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct EnrichedEvent {
    pub id: EventId,
    pub project_id: ProjectId,
    pub name: String,
    /// When it happened, server clock, ms since the Unix epoch.
    pub occurred_at: i64,
    /// When the first server (edge or collector) received it, ms since the Unix epoch.
    pub received_at: i64,
    /// Page host without `www.`.
    pub hostname: String,
    /// Page path (with a `#/route` for hash-routed apps).
    pub path: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub utm: Utm,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scroll_depth: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_width: Option<u32>,
    pub visitor_id: VisitorId,
    #[serde(default)]
    pub client: ClientInfo,
    #[serde(default)]
    pub geo: Geo,
}

/// Why an event is not stored although it was valid.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum Dropped {
    #[error("sent by a bot")]
    Bot,
}

/// Enriches one valid event. `random_id` is called only when the event came without an id.
pub fn enrich(
    event: Event,
    project_id: ProjectId,
    ctx: &RequestContext,
    salt: &DailySalt,
    webdriver: bool,
    random_id: impl FnOnce() -> [u8; MINTED_ID_RANDOM_BYTES],
) -> Result<EnrichedEvent, Dropped> {
    let user_agent = truncate(&ctx.user_agent, MAX_USER_AGENT_BYTES);
    let is_bot = webdriver
        || ctx.verified_bot
        || ctx.bot_score.is_some_and(|s| s <= BOT_SCORE_THRESHOLD)
        || bot::is_bot_user_agent(user_agent);
    if is_bot {
        return Err(Dropped::Bot);
    }
    let url = event.url.url();
    let utm = Utm::from_url(url);
    let source = source::source(
        event.referrer.as_ref().map(|r| r.url()),
        event.url.hostname(),
        utm.source.as_deref(),
    );
    let (duration_ms, scroll_depth) = match event.name {
        EventName::PageExit => (event.engagement.duration_ms, event.engagement.scroll_depth),
        _ => (None, None),
    };
    let occurred_at = ctx.received_at.saturating_sub(event.age_ms);
    Ok(EnrichedEvent {
        id: event.id.unwrap_or_else(|| EventId::minted(occurred_at, random_id())),
        project_id,
        name: event.name.as_str().to_owned(),
        occurred_at,
        received_at: ctx.received_at,
        hostname: event.url.hostname().to_owned(),
        path: event.url.path(),
        url: url.as_str().to_owned(),
        referrer: event.referrer.map(|r| r.url().as_str().to_owned()),
        source,
        utm,
        props: event.props.into_map(),
        duration_ms,
        scroll_depth,
        screen_width: event.screen_width,
        visitor_id: visitor::visitor_id(salt, &project_id.to_string(), &ctx.ip, user_agent),
        client: ua::parse_user_agent(user_agent, event.screen_width),
        geo: ctx.geo.clone(),
    })
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Why the collector refuses an enriched event forwarded by the edge.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum InvalidEnrichedEvent {
    #[error("{0} is longer than allowed")]
    TooLong(&'static str),
    #[error("name: {0}")]
    Name(&'static str),
    #[error("props: {0}")]
    Props(String),
    #[error("occurred_at is more than 5 minutes in the future")]
    Future,
    #[error("occurred_at is more than 7 days in the past")]
    TooOld,
    #[error("received_at: {0}")]
    ReceivedAt(&'static str),
    #[error("scroll_depth: must be 0 to 100")]
    Scroll,
    #[error("duration_ms: at most {MAX_PAGE_DURATION_MS} (24 hours)")]
    Duration,
    #[error("screen_width: 1 to {MAX_SCREEN_WIDTH}")]
    ScreenWidth,
    #[error("{0}: only page_exit events have it")]
    OnlyOnPageExit(&'static str),
    #[error("geo.country: two upper-case letters (ISO 3166-1 alpha-2)")]
    Country,
}

impl EnrichedEvent {
    /// Re-checks the limits on an event that crossed a process boundary. The edge is trusted
    /// (requests are signed) but a bug there must not put unbounded data into the store.
    pub fn check(&self, now_ms: i64) -> Result<(), InvalidEnrichedEvent> {
        EventName::parse(&self.name).map_err(|e| match e {
            crate::wire::EventError::Name(why) => InvalidEnrichedEvent::Name(why),
            _ => InvalidEnrichedEvent::Name("invalid"),
        })?;
        for (field, value, max) in [
            ("url", self.url.as_str(), MAX_URL_BYTES),
            ("path", self.path.as_str(), MAX_URL_BYTES),
            ("hostname", self.hostname.as_str(), MAX_URL_BYTES),
            ("referrer", self.referrer.as_deref().unwrap_or(""), MAX_URL_BYTES),
            ("source", self.source.as_deref().unwrap_or(""), MAX_URL_BYTES),
        ] {
            if value.len() > max {
                return Err(InvalidEnrichedEvent::TooLong(field));
            }
        }
        if self.props.len() > MAX_PROPS {
            return Err(InvalidEnrichedEvent::Props(format!("more than {MAX_PROPS} properties")));
        }
        for (key, value) in &self.props {
            check_prop_key(key).map_err(|why| InvalidEnrichedEvent::Props(format!("key {key:?} {why}")))?;
            if value.len() > MAX_PROP_VALUE_BYTES {
                return Err(InvalidEnrichedEvent::Props(format!("value of {key:?} is too long")));
            }
        }
        for (field, value, max) in [
            ("utm.source", self.utm.source.as_deref(), MAX_UTM_VALUE_BYTES),
            ("utm.medium", self.utm.medium.as_deref(), MAX_UTM_VALUE_BYTES),
            ("utm.campaign", self.utm.campaign.as_deref(), MAX_UTM_VALUE_BYTES),
            ("utm.term", self.utm.term.as_deref(), MAX_UTM_VALUE_BYTES),
            ("utm.content", self.utm.content.as_deref(), MAX_UTM_VALUE_BYTES),
            (
                "client.browser",
                Some(self.client.browser.as_str()),
                MAX_USER_AGENT_BYTES,
            ),
            (
                "client.browser_version",
                Some(self.client.browser_version.as_str()),
                MAX_USER_AGENT_BYTES,
            ),
            ("client.os", Some(self.client.os.as_str()), MAX_USER_AGENT_BYTES),
            (
                "client.os_version",
                Some(self.client.os_version.as_str()),
                MAX_USER_AGENT_BYTES,
            ),
            ("geo.region", self.geo.region.as_deref(), MAX_GEO_FIELD_BYTES),
            ("geo.city", self.geo.city.as_deref(), MAX_GEO_FIELD_BYTES),
            ("geo.timezone", self.geo.timezone.as_deref(), MAX_GEO_FIELD_BYTES),
            ("geo.colo", self.geo.colo.as_deref(), MAX_GEO_FIELD_BYTES),
        ] {
            if value.is_some_and(|v| v.len() > max) {
                return Err(InvalidEnrichedEvent::TooLong(field));
            }
        }
        let country_ok = |c: &String| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase());
        if self.geo.country.as_ref().is_some_and(|c| !country_ok(c)) {
            return Err(InvalidEnrichedEvent::Country);
        }
        // The times: the edge dates an event by its own clock (`received_at`), at most a day
        // before; it then reaches this collector within the forwarding delay. Every bound below
        // is checked without arithmetic on the sent values, which may be anything an i64 holds.
        if self.received_at > now_ms + MAX_CLOCK_SKEW_MS {
            return Err(InvalidEnrichedEvent::ReceivedAt("more than 5 minutes in the future"));
        }
        if self.received_at < now_ms - MAX_FORWARD_DELAY_MS {
            return Err(InvalidEnrichedEvent::ReceivedAt("more than 7 days in the past"));
        }
        if self.occurred_at > now_ms + MAX_CLOCK_SKEW_MS {
            return Err(InvalidEnrichedEvent::Future);
        }
        if self.occurred_at < now_ms - MAX_FORWARD_DELAY_MS {
            return Err(InvalidEnrichedEvent::TooOld);
        }
        // Both are now within a few days of `now_ms`: their difference cannot overflow.
        let age = self.received_at - self.occurred_at;
        if age < 0 {
            return Err(InvalidEnrichedEvent::ReceivedAt("before occurred_at"));
        }
        if age > MAX_EVENT_AGE_MS {
            return Err(InvalidEnrichedEvent::ReceivedAt("more than a day after occurred_at"));
        }
        let page_exit = self.name == crate::wire::PAGE_EXIT;
        if let Some(duration) = self.duration_ms {
            if !page_exit {
                return Err(InvalidEnrichedEvent::OnlyOnPageExit("duration_ms"));
            }
            if duration > MAX_PAGE_DURATION_MS {
                return Err(InvalidEnrichedEvent::Duration);
            }
        }
        if let Some(scroll) = self.scroll_depth {
            if !page_exit {
                return Err(InvalidEnrichedEvent::OnlyOnPageExit("scroll_depth"));
            }
            if scroll > 100 {
                return Err(InvalidEnrichedEvent::Scroll);
            }
        }
        if self.screen_width.is_some_and(|w| !(1..=MAX_SCREEN_WIDTH).contains(&w)) {
            return Err(InvalidEnrichedEvent::ScreenWidth);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_event;
    use serde_json::json;

    fn ctx() -> RequestContext {
        RequestContext {
            received_at: 1_763_740_800_000,
            ip: "203.0.113.7".into(),
            user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15".into(),
            geo: Geo { country: Some("DE".into()), ..Geo::default() },
            ..RequestContext::default()
        }
    }

    fn project() -> ProjectId {
        ProjectId::parse("65f0a1b2c3d4e5f601234567").unwrap()
    }

    #[test]
    fn enrich_dates_by_the_server_clock_and_keeps_page_fields() {
        let event = parse_event(&json!({"n": "page_exit", "u": "https://www.shop.io/cart#top", "t": 1_000, "d": 30_000, "s": 60, "id": "abc"}), Some(3_000)).unwrap();
        let e = enrich(
            event,
            project(),
            &ctx(),
            &DailySalt::from_bytes([7; 32]),
            false,
            || unreachable!(),
        )
        .unwrap();
        assert_eq!(e.occurred_at, ctx().received_at - 2_000);
        assert_eq!((e.hostname.as_str(), e.path.as_str()), ("shop.io", "/cart"));
        assert_eq!((e.duration_ms, e.scroll_depth), (Some(30_000), Some(60)));
        assert_eq!(e.id.as_str(), "abc");
        assert_eq!(e.geo.country.as_deref(), Some("DE"));
        let round_trip: EnrichedEvent = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(round_trip, e);
        assert_eq!(e.check(ctx().received_at), Ok(()));
    }

    #[test]
    fn enrich_drops_automated_visits_and_fills_missing_ids() {
        let event = parse_event(&json!({"n": "pageview", "u": "https://shop.io/"}), None).unwrap();
        let salt = DailySalt::from_bytes([7; 32]);
        assert_eq!(
            enrich(event.clone(), project(), &ctx(), &salt, true, || [0; 9]),
            Err(Dropped::Bot)
        );
        let scored = RequestContext {
            bot_score: Some(5),
            ..ctx()
        };
        assert_eq!(
            enrich(event.clone(), project(), &scored, &salt, false, || [0; 9]),
            Err(Dropped::Bot)
        );
        let e = enrich(event, project(), &ctx(), &salt, false, || [0xcd; 9]).unwrap();
        assert_eq!(e.id, EventId::minted(e.occurred_at, [0xcd; 9]));
    }

    #[test]
    fn check_refuses_what_the_wire_would_refuse() {
        let event = parse_event(&json!({"n": "pageview", "u": "https://shop.io/"}), None).unwrap();
        let mut e = enrich(event, project(), &ctx(), &DailySalt::from_bytes([7; 32]), false, || {
            [1; 9]
        })
        .unwrap();
        let now = ctx().received_at;
        e.props.insert("$where".into(), "1".into());
        assert!(matches!(e.check(now), Err(InvalidEnrichedEvent::Props(_))));
        e.props.clear();
        e.occurred_at = now + 10 * 60_000;
        assert_eq!(e.check(now), Err(InvalidEnrichedEvent::Future));
        e.occurred_at = now - 8 * 24 * 3_600_000;
        assert_eq!(e.check(now), Err(InvalidEnrichedEvent::TooOld));
    }

    #[test]
    fn check_range_checks_every_number_of_a_forwarded_event() {
        let now = ctx().received_at;
        let exit = parse_event(
            &json!({"n": "page_exit", "u": "https://shop.io/", "d": 5_000, "s": 40, "w": 1280}),
            None,
        )
        .unwrap();
        let valid = enrich(exit, project(), &ctx(), &DailySalt::from_bytes([7; 32]), false, || {
            [1; 9]
        })
        .unwrap();
        assert_eq!(valid.check(now), Ok(()));
        let refused = |tweak: &dyn Fn(&mut EnrichedEvent)| {
            let mut e = valid.clone();
            tweak(&mut e);
            e.check(now).unwrap_err()
        };
        use InvalidEnrichedEvent as E;
        assert_eq!(refused(&|e| e.duration_ms = Some(u64::MAX)), E::Duration);
        assert_eq!(
            refused(&|e| e.duration_ms = Some(MAX_PAGE_DURATION_MS + 1)),
            E::Duration
        );
        assert_eq!(refused(&|e| e.screen_width = Some(0)), E::ScreenWidth);
        assert_eq!(refused(&|e| e.screen_width = Some(u32::MAX)), E::ScreenWidth);
        assert_eq!(refused(&|e| e.scroll_depth = Some(255)), E::Scroll);
        assert_eq!(
            refused(&|e| e.name = "pageview".into()),
            E::OnlyOnPageExit("duration_ms")
        );
        assert_eq!(
            refused(&|e| {
                e.name = "pageview".into();
                e.duration_ms = None;
            }),
            E::OnlyOnPageExit("scroll_depth")
        );
        // Times anywhere an i64 reaches, without overflowing.
        for received_at in [i64::MIN, i64::MAX, now + 10 * 60_000, now - 8 * 24 * 3_600_000] {
            assert!(
                matches!(refused(&|e| e.received_at = received_at), E::ReceivedAt(_)),
                "{received_at}"
            );
        }
        assert_eq!(refused(&|e| e.occurred_at = i64::MIN), E::TooOld);
        assert_eq!(refused(&|e| e.occurred_at = i64::MAX), E::Future);
        assert_eq!(
            refused(&|e| e.occurred_at = e.received_at + 1),
            E::ReceivedAt("before occurred_at")
        );
        assert_eq!(
            refused(&|e| e.occurred_at = e.received_at - MAX_EVENT_AGE_MS - 1),
            E::ReceivedAt("more than a day after occurred_at")
        );
        // Text fields the edge derives are bounded too.
        assert_eq!(
            refused(&|e| e.utm.campaign = Some("c".repeat(301))),
            E::TooLong("utm.campaign")
        );
        assert_eq!(refused(&|e| e.client.os = "o".repeat(513)), E::TooLong("client.os"));
        assert_eq!(refused(&|e| e.geo.city = Some("c".repeat(201))), E::TooLong("geo.city"));
        assert_eq!(refused(&|e| e.geo.country = Some("de".into())), E::Country);
        assert_eq!(refused(&|e| e.geo.country = Some("DEU".into())), E::Country);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
