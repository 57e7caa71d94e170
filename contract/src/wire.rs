//! What a site sends to `POST /api/event`, and its parsing.
//!
//! The body is JSON (sent as `text/plain` by `navigator.sendBeacon`, so no CORS preflight, or as
//! `application/json`). Field names are one or two letters because every byte of a beacon counts;
//! each also has a long alias for people writing requests by hand.
//!
//! Single event — the envelope fields and the event's fields in one object:
//!
//! ```json
//! {"k":"mtr_…","n":"pageview","u":"https://example.com/pricing?utm_source=news","r":"https://www.google.com/","id":"l7x0a1","w":1440}
//! ```
//!
//! Batch — the envelope with `e`, a list of events:
//!
//! ```json
//! {"k":"mtr_…","st":1763740800500,"e":[
//!   {"n":"page_exit","u":"https://example.com/a","id":"l7x0a2","t":1763740800400,"d":5300,"s":80},
//!   {"n":"path_change","u":"https://example.com/b","id":"l7x0a3","t":1763740800450}]}
//! ```
//!
//! | field | alias | on | meaning |
//! |---|---|---|---|
//! | `k` | `key` | envelope | the project's ingestion key, `mtr_…` (required) |
//! | `st` | `sent_at` | envelope | client clock when the request was sent, ms since the Unix epoch |
//! | `b` | `webdriver` | envelope | `true` when `navigator.webdriver` is set: the visit is automated |
//! | `e` | `events` | envelope | the events of a batch, 1 to [`MAX_EVENTS_PER_BATCH`] |
//! | `n` | `name` | event | `pageview`, `path_change`, `page_exit` or a custom name (required) |
//! | `u` | `url` | event | the page's absolute `http(s)` URL (required) |
//! | `r` | `referrer` | event | `document.referrer`, absolute URL; empty or absent for none |
//! | `p` | `props` | event | flat map of custom properties: string, number or boolean values |
//! | `id` | | event | client-chosen event id for deduplication of retries; best minted with [`crate::ids::mint_event_id`] (time first: cheap for the stores' dedupe index) |
//! | `t` | `time` | event | client clock when the event happened, ms since the Unix epoch |
//! | `d` | `duration` | `page_exit` | engaged time on the page, ms (paused while hidden) |
//! | `s` | `scroll` | `page_exit` | deepest scroll, percent of the page, 0 to 100 |
//! | `w` | `screen_width` | event | `screen.width`, CSS pixels |
//!
//! When both `st` and `t` are given, the event happened `st - t` ms before the request was
//! received; so the server's clock dates every event and a wrong client clock does not matter.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use url::Url;

use crate::ids::{EventId, InvalidEventId};
use crate::limits::*;

/// The page view sent on load and on restore from the back/forward cache.
pub const PAGEVIEW: &str = "pageview";
/// A single-page app changed its path (History API, back/forward, or hash in hash mode).
pub const PATH_CHANGE: &str = "path_change";
/// The visitor left a page (tab hidden or closed, or before a `path_change`).
pub const PAGE_EXIT: &str = "page_exit";

/// The short wire names of every field, shared with the tracker (which writes them by hand, byte by
/// byte) so the two sides cannot drift apart. The long aliases are only for people writing
/// requests by hand; the tracker never sends them.
pub mod fields {
    /// Envelope: the ingestion key.
    pub const KEY: &str = "k";
    /// Envelope: client clock when the request was sent.
    pub const SENT_AT: &str = "st";
    /// Envelope: `navigator.webdriver` was set.
    pub const WEBDRIVER: &str = "b";
    /// Envelope: the events of a batch.
    pub const EVENTS: &str = "e";
    /// Event name.
    pub const NAME: &str = "n";
    /// Page URL.
    pub const URL: &str = "u";
    /// Referrer.
    pub const REFERRER: &str = "r";
    /// Custom properties.
    pub const PROPS: &str = "p";
    /// Client event id.
    pub const ID: &str = "id";
    /// Client clock when the event happened.
    pub const TIME: &str = "t";
    /// `page_exit`: engaged time, ms. The tracker reports the time since the previous
    /// `page_exit` of the same page view (a tab hidden, shown again, then left sends two), so
    /// sessions can add them up.
    pub const DURATION: &str = "d";
    /// `page_exit`: deepest scroll, percent.
    pub const SCROLL: &str = "s";
    /// Screen width, CSS pixels.
    pub const SCREEN_WIDTH: &str = "w";
}

/// An event's name, parsed: the three built-in names or a custom one.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum EventName {
    Pageview,
    PathChange,
    PageExit,
    Custom(String),
}

impl EventName {
    /// 1 to [`MAX_EVENT_NAME_CHARS`] characters, no control characters, trimmed.
    pub fn parse(s: &str) -> Result<Self, EventError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(EventError::Name("must not be empty"));
        }
        if s.chars().count() > MAX_EVENT_NAME_CHARS {
            return Err(EventError::Name("longer than 120 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(EventError::Name("contains a control character"));
        }
        Ok(match s {
            PAGEVIEW => Self::Pageview,
            PATH_CHANGE => Self::PathChange,
            PAGE_EXIT => Self::PageExit,
            other => Self::Custom(other.to_owned()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Pageview => PAGEVIEW,
            Self::PathChange => PATH_CHANGE,
            Self::PageExit => PAGE_EXIT,
            Self::Custom(name) => name,
        }
    }

    /// Page views and SPA path changes both count as a page view.
    pub fn is_page_view(&self) -> bool {
        matches!(self, Self::Pageview | Self::PathChange)
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An absolute `http`/`https` URL with a host, at most [`MAX_URL_BYTES`] long.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PageUrl(Url);

impl PageUrl {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() > MAX_URL_BYTES {
            return Err("longer than 2048 bytes");
        }
        let url = Url::parse(s).map_err(|_| "not an absolute URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("not an http or https URL");
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host");
        }
        Ok(Self(url))
    }
    pub fn url(&self) -> &Url {
        &self.0
    }
    /// Host without a leading `www.`, lower-case.
    pub fn hostname(&self) -> &str {
        let host = self.0.host_str().unwrap_or_default();
        host.strip_prefix("www.").unwrap_or(host)
    }
    /// The path. A fragment that starts with `/` (`/#/settings`) is a hash-routed app's route and
    /// stays part of the path; any other fragment is an anchor and is dropped.
    pub fn path(&self) -> String {
        let path = self.0.path();
        match self.0.fragment() {
            Some(fragment) if fragment.starts_with('/') => format!("{path}#{fragment}"),
            _ => path.to_owned(),
        }
    }
}

/// A referrer: any absolute URL of at most [`MAX_URL_BYTES`] (apps send `android-app://…`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Referrer(Url);

impl Referrer {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() > MAX_URL_BYTES {
            return Err("longer than 2048 bytes");
        }
        Url::parse(s).map(Self).map_err(|_| "not an absolute URL")
    }
    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// Custom properties: at most [`MAX_PROPS`] string values under keys that are safe as MongoDB
/// field names (no leading `$`, no `.`, no NUL), sorted by key.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Props(BTreeMap<String, String>);

impl Props {
    pub fn parse(map: &Map<String, Value>) -> Result<Self, EventError> {
        if map.len() > MAX_PROPS {
            return Err(EventError::Props(format!("more than {MAX_PROPS} properties")));
        }
        let mut props = BTreeMap::new();
        for (key, value) in map {
            check_prop_key(key).map_err(|why| EventError::Props(format!("key {key:?} {why}")))?;
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(EventError::Props(format!(
                        "value of {key:?} is not a string, number or boolean"
                    )))
                }
            };
            if value.len() > MAX_PROP_VALUE_BYTES {
                return Err(EventError::Props(format!(
                    "value of {key:?} is longer than {MAX_PROP_VALUE_BYTES} bytes"
                )));
            }
            props.insert(key.clone(), value);
        }
        Ok(Self(props))
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }
}

/// Why a property key is refused, if it is. Shared with the internal ingest path, which
/// re-checks what the edge forwards.
pub fn check_prop_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        Err("is empty")
    } else if key.len() > MAX_PROP_KEY_BYTES {
        Err("is longer than 300 bytes")
    } else if key.starts_with('$') {
        Err("starts with '$'")
    } else if key.contains('.') {
        Err("contains '.'")
    } else if key.contains('\0') {
        Err("contains NUL")
    } else {
        Ok(())
    }
}

/// What a `page_exit` reports about the page it leaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Engagement {
    /// Engaged time on the page in ms, at most [`MAX_PAGE_DURATION_MS`].
    pub duration_ms: Option<u64>,
    /// Deepest scroll in percent, 0 to 100.
    pub scroll_depth: Option<u8>,
}

/// One valid event as the site sent it, before enrichment.
#[derive(Clone, PartialEq, Debug)]
pub struct Event {
    pub id: Option<EventId>,
    pub name: EventName,
    pub url: PageUrl,
    pub referrer: Option<Referrer>,
    pub props: Props,
    /// How many ms before the request was sent the event happened (0 when unknown).
    pub age_ms: i64,
    pub engagement: Engagement,
    pub screen_width: Option<u32>,
}

/// Why one event was refused. The message names the field.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EventError {
    #[error("event is not a JSON object")]
    NotAnObject,
    #[error("missing field {0:?}")]
    Missing(&'static str),
    #[error("field {0:?} has the wrong type: expected {1}")]
    Type(&'static str, &'static str),
    #[error("name: {0}")]
    Name(&'static str),
    #[error("url: {0}")]
    Url(&'static str),
    #[error("referrer: {0}")]
    Referrer(&'static str),
    #[error("props: {0}")]
    Props(String),
    #[error("id: {0}")]
    Id(InvalidEventId),
    #[error("time: {0}")]
    Time(&'static str),
    #[error("{0} is only allowed on page_exit events")]
    OnlyOnPageExit(&'static str),
    #[error("duration: more than a day")]
    Duration,
    #[error("scroll: must be 0 to 100")]
    Scroll,
    #[error("screen_width: must be 1 to {MAX_SCREEN_WIDTH}")]
    ScreenWidth,
}

/// Why a whole request was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the body is empty")]
    Empty,
    #[error("the body is not valid UTF-8")]
    NotUtf8,
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    #[error("the body must be a JSON object")]
    NotAnObject,
    #[error("missing the API key (field \"k\")")]
    MissingKey,
    #[error("field {0:?} has the wrong type: expected {1}")]
    Type(&'static str, &'static str),
    #[error("the batch is empty")]
    NoEvents,
    #[error("the batch has {0} events; at most {MAX_EVENTS_PER_BATCH} are allowed")]
    TooManyEvents(usize),
}

/// A parsed request: the key as sent (checked by the caller, who knows the store), whether the
/// browser is automated, and each event parsed or refused, in order.
#[derive(Debug)]
pub struct Submission {
    pub key: String,
    pub webdriver: bool,
    pub events: Vec<Result<Event, EventError>>,
}

/// Parses a `POST /api/event` body.
pub fn parse_body(body: &[u8]) -> Result<Submission, BodyError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| BodyError::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(BodyError::Empty);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| BodyError::Json(e.to_string()))?;
    let Value::Object(mut envelope) = value else {
        return Err(BodyError::NotAnObject);
    };
    let key = match take(&mut envelope, fields::KEY, "key") {
        Some(Value::String(k)) => k,
        Some(_) => return Err(BodyError::Type(fields::KEY, "a string")),
        None => return Err(BodyError::MissingKey),
    };
    let sent_at = match take(&mut envelope, fields::SENT_AT, "sent_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or(BodyError::Type(fields::SENT_AT, "an integer (ms since the epoch)"))?,
        ),
    };
    let webdriver = match take(&mut envelope, fields::WEBDRIVER, "webdriver") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(_) => return Err(BodyError::Type(fields::WEBDRIVER, "a boolean")),
    };
    let events: Vec<Value> = match take(&mut envelope, fields::EVENTS, "events") {
        Some(Value::Array(events)) => {
            if events.is_empty() {
                return Err(BodyError::NoEvents);
            }
            if events.len() > MAX_EVENTS_PER_BATCH {
                return Err(BodyError::TooManyEvents(events.len()));
            }
            events
        }
        Some(_) => return Err(BodyError::Type(fields::EVENTS, "an array of events")),
        None => vec![Value::Object(envelope)],
    };
    let events = events.iter().map(|e| parse_event(e, sent_at)).collect();
    Ok(Submission { key, webdriver, events })
}

/// Removes a field given by its short name or its long alias.
fn take(map: &mut Map<String, Value>, short: &str, long: &str) -> Option<Value> {
    map.remove(short).or_else(|| map.remove(long))
}

fn get<'a>(map: &'a Map<String, Value>, short: &str, long: &str) -> Option<&'a Value> {
    map.get(short).or_else(|| map.get(long)).filter(|v| !v.is_null())
}

fn get_str<'a>(map: &'a Map<String, Value>, short: &'static str, long: &str) -> Result<Option<&'a str>, EventError> {
    match get(map, short, long) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EventError::Type(short, "a string")),
    }
}

fn get_u64(map: &Map<String, Value>, short: &'static str, long: &str) -> Result<Option<u64>, EventError> {
    match get(map, short, long) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| *f >= 0.0 && f.is_finite())
                    .map(|f| f.round() as u64)
            })
            .map(Some)
            .ok_or(EventError::Type(short, "a non-negative number")),
    }
}

/// Parses one event of a request whose envelope said it was sent at `sent_at` (client clock).
pub fn parse_event(value: &Value, sent_at: Option<i64>) -> Result<Event, EventError> {
    let Value::Object(map) = value else {
        return Err(EventError::NotAnObject);
    };
    let name = EventName::parse(get_str(map, fields::NAME, "name")?.ok_or(EventError::Missing(fields::NAME))?)?;
    let url = PageUrl::parse(get_str(map, fields::URL, "url")?.ok_or(EventError::Missing(fields::URL))?)
        .map_err(EventError::Url)?;
    let referrer = match get_str(map, fields::REFERRER, "referrer")? {
        None => None,
        Some(r) if r.trim().is_empty() => None,
        Some(r) => Some(Referrer::parse(r.trim()).map_err(EventError::Referrer)?),
    };
    let props = match get(map, fields::PROPS, "props") {
        None => Props::default(),
        Some(Value::Object(p)) => Props::parse(p)?,
        Some(_) => return Err(EventError::Type(fields::PROPS, "an object")),
    };
    let id = get_str(map, fields::ID, "id")?
        .map(EventId::parse)
        .transpose()
        .map_err(EventError::Id)?;
    let time = match get(map, fields::TIME, "time") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or(EventError::Type(fields::TIME, "an integer (ms since the epoch)"))?,
        ),
    };
    let age_ms = match (time, sent_at) {
        (Some(t), Some(sent)) => {
            // Both are whatever the client sent: their difference may not fit an i64.
            let age = i128::from(sent) - i128::from(t);
            // A little tolerance: the clock is read twice and may be coarsened by the browser.
            if age < -1_000 {
                return Err(EventError::Time("later than the request's sent_at"));
            }
            if age > i128::from(MAX_EVENT_AGE_MS) {
                return Err(EventError::Time("more than a day before the request was sent"));
            }
            i64::try_from(age.max(0)).expect("0 to MAX_EVENT_AGE_MS")
        }
        _ => 0,
    };
    let duration_ms = get_u64(map, fields::DURATION, "duration")?;
    let scroll = get_u64(map, fields::SCROLL, "scroll")?;
    if name != EventName::PageExit {
        if duration_ms.is_some() {
            return Err(EventError::OnlyOnPageExit("duration"));
        }
        if scroll.is_some() {
            return Err(EventError::OnlyOnPageExit("scroll"));
        }
    }
    if duration_ms.is_some_and(|d| d > MAX_PAGE_DURATION_MS) {
        return Err(EventError::Duration);
    }
    if scroll.is_some_and(|s| s > 100) {
        return Err(EventError::Scroll);
    }
    let screen_width = match get_u64(map, fields::SCREEN_WIDTH, "screen_width")? {
        None => None,
        Some(w) if (1..=MAX_SCREEN_WIDTH as u64).contains(&w) => Some(w as u32),
        Some(_) => return Err(EventError::ScreenWidth),
    };
    Ok(Event {
        id,
        name,
        url,
        referrer,
        props,
        age_ms,
        engagement: Engagement {
            duration_ms,
            scroll_depth: scroll.map(|s| s as u8),
        },
        screen_width,
    })
}

/// The answer to an accepted `POST /api/event` (or GIF): `202 {"accepted":n,"dropped":bots,"rejected":[…]}`,
/// the same from the collector and from the edge.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Accepted {
    /// Valid events taken (stored now, or already stored by an earlier try).
    pub accepted: usize,
    /// Valid events not stored because a bot sent them.
    pub dropped: usize,
    /// Invalid events, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<crate::internal::RejectedEvent>,
}

/// Whether a `POST /api/event` content type is accepted: `text/plain` (what `sendBeacon` sends),
/// `application/json`, or none. The error names the refused type.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), String> {
    let Some(value) = content_type else { return Ok(()) };
    let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if matches!(mime.as_str(), "text/plain" | "application/json" | "") {
        Ok(())
    } else {
        Err(format!("content type {mime:?}: send application/json or text/plain"))
    }
}

/// The body of a `GET /api/event.gif?k=…&n=…&u=…&r=…&id=…&w=…` request, as both the collector
/// and the edge build it: `n` defaults to `pageview`, `u` to the `Referer` (the page showing the image).
pub fn gif_body(query: &str, referer: Option<&str>) -> Vec<u8> {
    let mut event = Map::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = match name.as_ref() {
            "w" => value
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::String(value.into_owned())),
            "k" | "n" | "u" | "r" | "id" => Value::String(value.into_owned()),
            _ => continue,
        };
        event.insert(name.into_owned(), value);
    }
    event.entry("n").or_insert_with(|| Value::String(PAGEVIEW.into()));
    if !event.contains_key("u") {
        if let Some(page) = referer {
            event.insert("u".into(), Value::String(page.to_owned()));
        }
    }
    serde_json::to_vec(&Value::Object(event)).expect("serializable")
}

/// A transparent 1x1 GIF: the answer of `GET /api/event.gif`.
pub const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "mtr_0000000000000000000000000000000000000000";

    fn parse(v: Value) -> Result<Submission, BodyError> {
        parse_body(v.to_string().as_bytes())
    }

    #[test]
    fn parses_a_single_event_with_long_or_short_names() {
        let short = parse(json!({"k": KEY, "n": "pageview", "u": "https://www.example.com/a?x=1", "r": "https://google.com/", "id": "e1", "w": 1280})).unwrap();
        let long = parse(json!({"key": KEY, "name": "pageview", "url": "https://www.example.com/a?x=1", "referrer": "https://google.com/", "id": "e1", "screen_width": 1280})).unwrap();
        let (a, b) = (short.events[0].as_ref().unwrap(), long.events[0].as_ref().unwrap());
        assert_eq!(a, b);
        assert_eq!(short.key, KEY);
        assert_eq!(a.name, EventName::Pageview);
        assert_eq!(a.url.hostname(), "example.com");
        assert_eq!(a.url.path(), "/a");
        assert_eq!(a.screen_width, Some(1280));
    }

    #[test]
    fn batch_keeps_valid_events_and_reports_the_rest_in_order() {
        let s = parse(json!({"k": KEY, "st": 10_000, "e": [
            {"n": "page_exit", "u": "https://x.org/", "t": 9_000, "d": 4200, "s": 75},
            {"n": "signup", "u": "ftp://x.org/"},
            {"n": "signup", "u": "https://x.org/", "p": {"$set": "x"}},
            {"n": "signup", "u": "https://x.org/", "p": {"plan": "pro", "seats": 3, "trial": true}},
        ]}))
        .unwrap();
        let e0 = s.events[0].as_ref().unwrap();
        assert_eq!(e0.age_ms, 1_000);
        assert_eq!(
            e0.engagement,
            Engagement {
                duration_ms: Some(4200),
                scroll_depth: Some(75)
            }
        );
        assert_eq!(s.events[1], Err(EventError::Url("not an http or https URL")));
        assert_eq!(
            s.events[2].as_ref().unwrap_err().to_string(),
            "props: key \"$set\" starts with '$'"
        );
        let props: Vec<_> = s.events[3]
            .as_ref()
            .unwrap()
            .props
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(props, ["plan=pro", "seats=3", "trial=true"]);
    }

    #[test]
    fn refuses_bad_bodies_with_a_reason() {
        assert_eq!(parse_body(b"").unwrap_err(), BodyError::Empty);
        assert_eq!(parse_body(&[0xff, 0xfe]).unwrap_err(), BodyError::NotUtf8);
        assert!(matches!(parse_body(b"{\"k\":").unwrap_err(), BodyError::Json(_)));
        assert_eq!(parse_body(b"[]").unwrap_err(), BodyError::NotAnObject);
        assert_eq!(parse(json!({"n": "pageview"})).unwrap_err(), BodyError::MissingKey);
        assert_eq!(parse(json!({"k": KEY, "e": []})).unwrap_err(), BodyError::NoEvents);
        let many: Vec<Value> = (0..101).map(|_| json!({"n": "x", "u": "https://x.org/"})).collect();
        assert_eq!(
            parse(json!({"k": KEY, "e": many})).unwrap_err(),
            BodyError::TooManyEvents(101)
        );
        assert_eq!(
            parse_body(&vec![b' '; MAX_BODY_BYTES + 1]).unwrap_err(),
            BodyError::TooLarge
        );
    }

    #[test]
    fn refuses_bad_fields() {
        let one = |e: Value| parse_event(&e, Some(100_000_000)).unwrap_err().to_string();
        assert_eq!(one(json!({"u": "https://x.org/"})), "missing field \"n\"");
        assert_eq!(one(json!({"n": "", "u": "https://x.org/"})), "name: must not be empty");
        assert_eq!(
            one(json!({"n": "x".repeat(121), "u": "https://x.org/"})),
            "name: longer than 120 characters"
        );
        assert_eq!(
            one(json!({"n": "x", "u": format!("https://x.org/{}", "a".repeat(2048))})),
            "url: longer than 2048 bytes"
        );
        assert_eq!(one(json!({"n": "x", "u": "/relative"})), "url: not an absolute URL");
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "p": {"a.b": "1"}})),
            "props: key \"a.b\" contains '.'"
        );
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "p": {"a": {"b": 1}}})),
            "props: value of \"a\" is not a string, number or boolean"
        );
        let too_many: Map<String, Value> = (0..31).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "p": too_many})),
            "props: more than 30 properties"
        );
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "d": 5})),
            "duration is only allowed on page_exit events"
        );
        assert_eq!(
            one(json!({"n": "page_exit", "u": "https://x.org/", "s": 101})),
            "scroll: must be 0 to 100"
        );
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "t": 1})),
            "time: more than a day before the request was sent"
        );
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "t": 200_000_000})),
            "time: later than the request's sent_at"
        );
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "id": "no spaces"}))
                .split(':')
                .next(),
            Some("id")
        );
        assert_eq!(
            one(json!({"n": "x", "u": "https://x.org/", "w": 0})),
            "screen_width: must be 1 to 16384"
        );
    }

    #[test]
    fn numbers_at_the_ends_of_their_types_are_refused_without_overflow() {
        let at = |sent: i64, t: i64| {
            parse_event(&json!({"n": "x", "u": "https://x.org/", "t": t}), Some(sent))
                .map(|e| e.age_ms)
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            at(i64::MAX, i64::MIN),
            Err("time: more than a day before the request was sent".into())
        );
        assert_eq!(
            at(i64::MIN, i64::MAX),
            Err("time: later than the request's sent_at".into())
        );
        assert_eq!(at(i64::MAX, i64::MAX - 5), Ok(5));
        assert_eq!(at(i64::MIN + 5, i64::MIN), Ok(5));
        let one = |e: Value| parse_event(&e, None).unwrap_err().to_string();
        for (field, value, error) in [
            ("w", json!(u64::MAX), "screen_width: must be 1 to 16384"),
            ("w", json!(1e300), "screen_width: must be 1 to 16384"),
            (
                "w",
                json!(-1),
                "field \"w\" has the wrong type: expected a non-negative number",
            ),
            ("d", json!(u64::MAX), "duration: more than a day"),
            ("d", json!(1e300), "duration: more than a day"),
            ("s", json!(u64::MAX), "scroll: must be 0 to 100"),
        ] {
            let mut event = json!({"n": "page_exit", "u": "https://x.org/"});
            event[field] = value;
            assert_eq!(one(event), error, "{field}");
        }
    }

    #[test]
    fn hash_routing_keeps_the_route_in_the_path() {
        let url = PageUrl::parse("https://app.example.com/#/settings/profile").unwrap();
        assert_eq!(url.path(), "/#/settings/profile");
        let anchor = PageUrl::parse("https://example.com/docs#install").unwrap();
        assert_eq!(anchor.path(), "/docs");
    }
}
