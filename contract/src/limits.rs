//! Every limit on ingested data, in one place. The numbers follow Plausible's, which have held up
//! in production; the README lists them for site owners.

/// Largest request body accepted by `POST /api/event` and by the internal ingest endpoint.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most events in one batch. The tracker sends a handful at most; a larger batch is a bug or abuse.
pub const MAX_EVENTS_PER_BATCH: usize = 100;
/// Longest page or referrer URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest event name, in characters.
pub const MAX_EVENT_NAME_CHARS: usize = 120;
/// Most custom properties on one event.
pub const MAX_PROPS: usize = 30;
/// Longest property key, in bytes.
pub const MAX_PROP_KEY_BYTES: usize = 300;
/// Longest property value, in bytes.
pub const MAX_PROP_VALUE_BYTES: usize = 2000;
/// Longest client-chosen event id, in bytes. Ids are only compared, so 64 is plenty for a UUID
/// or a random base-36 string.
pub const MAX_EVENT_ID_BYTES: usize = 64;
/// Longest user agent kept, in bytes; longer ones are truncated, not rejected.
pub const MAX_USER_AGENT_BYTES: usize = 512;
/// Largest engaged time on a page that a `page_exit` may report: one day, in milliseconds.
pub const MAX_PAGE_DURATION_MS: u64 = 24 * 60 * 60 * 1000;
/// How far before its sending an event may have happened (client clock), in milliseconds.
/// Older events are "absurd": the tracker never holds events that long.
pub const MAX_EVENT_AGE_MS: i64 = 24 * 60 * 60 * 1000;
/// How far in the future of the receiver's clock an internal event may be stamped, in ms.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
/// How old an enriched event may be when it reaches the collector (queue delays, retries, an
/// outage of the collector), in milliseconds: 7 days.
pub const MAX_FORWARD_DELAY_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Longest region, city, time zone or data-centre name of an event's geography, in bytes (the
/// edge takes them from Cloudflare; the longest real ones are well under 100).
pub const MAX_GEO_FIELD_BYTES: usize = 200;
/// Widest screen accepted, in CSS pixels.
pub const MAX_SCREEN_WIDTH: u32 = 16_384;
/// Most events in one batch the edge forwards to the collector's internal API.
pub const MAX_FORWARD_BATCH_EVENTS: usize = 1000;
