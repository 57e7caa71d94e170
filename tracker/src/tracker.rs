//! The tracker's state machine: which events a page's life produces, with which fields, batched
//! into one request per browser event.
//!
//! The JS loader forwards raw browser facts (a URL after `pushState`, `visibilitychange`, a
//! scroll position, a click on a link, a call of `pixel()`); everything that decides what is sent
//! is here and tested natively. Every entry point ends by sending what it produced as one request
//! (`page_exit` + `path_change` of a navigation travel together), through [`Env::send`].

use contract::ids::{mint_event_id, MINTED_ID_RANDOM_BYTES};
use contract::limits::{
    MAX_EVENT_NAME_CHARS, MAX_PROPS, MAX_PROP_KEY_BYTES, MAX_PROP_VALUE_BYTES, MAX_SCREEN_WIDTH, MAX_URL_BYTES,
};
#[cfg(doc)]
use contract::wire::check_prop_key;
use contract::wire::{fields, PAGEVIEW, PAGE_EXIT, PATH_CHANGE};

use crate::engage::Engagement;
use crate::json::Buf;
use crate::url::{self, Link};

/// What the tracker needs from the browser.
pub trait Env {
    /// `Date.now()`: stamps events (`t`) and requests (`st`).
    fn wall(&mut self) -> f64;
    /// `performance.now()`: measures engaged time (monotonic).
    fn mono(&mut self) -> f64;
    /// `crypto.getRandomValues`: event ids.
    fn random(&mut self, bytes: &mut [u8]);
    /// Sends one request body (`sendBeacon`, else `fetch` with `keepalive`).
    fn send(&mut self, body: &[u8]);
}

/// `configure` flags (script attributes and browser facts).
pub mod flag {
    /// `data-hash`: the fragment is part of the route.
    pub const HASH: u32 = 1;
    /// `data-allow-local`: count localhost, `file:` and automated browsers too.
    pub const ALLOW_LOCAL: u32 = 2;
    /// `navigator.webdriver` is set.
    pub const WEBDRIVER: u32 = 4;
    /// `data-respect-dnt`: honour Do Not Track and Global Privacy Control.
    pub const RESPECT_DNT: u32 = 8;
    /// The browser sends DNT or GPC.
    pub const DNT: u32 = 16;
    /// `data-outbound`: count clicks on links to other hosts.
    pub const OUTBOUND: u32 = 32;
    /// `data-downloads`: count clicks on links to files.
    pub const DOWNLOADS: u32 = 64;
}

/// `pageview` flags.
pub mod view {
    /// The page is hidden (opened in a background tab, prerendered).
    pub const HIDDEN: u32 = 1;
    /// Restored from the back/forward cache.
    pub const RESTORED: u32 = 2;
}

/// Custom event sent for a click on a link to another host (`data-outbound`), with `url`.
pub const OUTBOUND_CLICK: &str = "outbound_click";
/// Custom event sent for a click on a link to a file (`data-downloads`), with `url`.
pub const FILE_DOWNLOAD: &str = "file_download";

/// Longest ingestion key kept, bytes; real keys are 44 characters.
const KEY_MAX: usize = 64;
/// [`KEY_MAX`] bytes as a JSON string, even if all escaped.
const KEY_CAP: usize = KEY_MAX * 6 + 2;
/// A URL of [`MAX_URL_BYTES`] as a JSON string, even if every byte needed a `\u00XX` escape.
const URL_CAP: usize = MAX_URL_BYTES * 6 + 2;
/// Longest route (path and fragment, UTF-16 units) compared to deduplicate navigations.
pub const ROUTE_CAP: usize = 4 * 1024;
/// One request. `sendBeacon` and `keepalive` take 64 KiB at most.
pub const OUT_CAP: usize = 60 * 1024;

pub struct Tracker {
    live: bool,
    flags: u32,
    /// No page view was sent yet in this document: the next one carries the referrer and UTM.
    first: bool,
    /// A page view was sent (navigations before it are ignored).
    viewed: bool,
    width: u32,
    key: Buf<KEY_CAP>,
    /// The current page's URL as sent, a JSON string.
    url: Buf<URL_CAP>,
    route: [u16; ROUTE_CAP],
    route_len: usize,
    engage: Engagement,
    /// The request being built: `{"e":[` and the events so far.
    out: Buf<OUT_CAP>,
    events: usize,
    /// The open custom event: where it started in `out`, and its properties so far.
    custom: Option<(usize, usize)>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
    pub const fn new() -> Self {
        Self {
            live: false,
            flags: 0,
            first: true,
            viewed: false,
            width: 0,
            key: Buf::new(),
            url: Buf::new(),
            route: [0; ROUTE_CAP],
            route_len: 0,
            engage: Engagement::idle(),
            out: Buf::new(),
            events: 0,
            custom: None,
        }
    }

    /// Whether this page is counted at all, and the settings. `href` is `location.href`.
    /// Nothing is sent afterwards when this answers `false`.
    pub fn configure(&mut self, key: &[u16], href: &[u16], flags: u32) -> bool {
        let dnt = flags & flag::RESPECT_DNT != 0 && flags & flag::DNT != 0;
        let local = flags & flag::ALLOW_LOCAL == 0 && (flags & flag::WEBDRIVER != 0 || url::is_local(href));
        if key.is_empty() || dnt || local {
            return false;
        }
        self.key.clear();
        self.key.string(key, KEY_MAX);
        self.flags = flags;
        self.live = true;
        true
    }

    fn hash_mode(&self) -> bool {
        self.flags & flag::HASH != 0
    }

    /// A page view: on load, or when the page is restored from the back/forward cache.
    pub fn pageview(&mut self, env: &mut impl Env, href: &[u16], referrer: &[u16], width: u32, view: u32) {
        if !self.live {
            return;
        }
        self.width = width;
        self.set_page(href, !self.first);
        self.engage = Engagement::start(env.mono(), view & view::HIDDEN == 0);
        let mark = self.begin(env, PAGEVIEW);
        if self.first && !referrer.is_empty() && view & view::RESTORED == 0 {
            self.out.field(fields::REFERRER);
            self.out.string(referrer, MAX_URL_BYTES);
        }
        self.screen_width();
        self.end(mark);
        self.first = false;
        self.viewed = true;
        self.flush(env);
    }

    /// The URL may have changed (`pushState`, `replaceState`, `popstate`, `hashchange`): when the
    /// route did, the page left gets its `page_exit` and the new one a `path_change`, in one
    /// request. Several browser events for one navigation (`popstate` and `hashchange` for a hash
    /// link, a `replaceState` of the same path) give one `path_change`.
    pub fn navigate(&mut self, env: &mut impl Env, href: &[u16]) {
        if !self.live || !self.viewed || self.same_route(href) {
            return;
        }
        let now = env.mono();
        self.exit(env, now);
        let visible = self.engage.is_visible();
        self.set_page(href, true);
        self.engage = Engagement::start(now, visible);
        let mark = self.begin(env, PATH_CHANGE);
        self.screen_width();
        self.end(mark);
        self.flush(env);
    }

    /// `visibilitychange`, and `pagehide` (as hidden): hiding ends a stretch of engaged time and
    /// reports it with a `page_exit`; showing starts the next.
    pub fn visibility(&mut self, env: &mut impl Env, hidden: bool) {
        if !self.live || !self.viewed {
            return;
        }
        let now = env.mono();
        if hidden {
            self.engage.hide(now);
            self.exit(env, now);
            self.flush(env);
        } else {
            self.engage.show(now);
        }
    }

    /// The visitor has seen the page down to `bottom` of `height` CSS pixels.
    pub fn scrolled(&mut self, bottom: u32, height: u32) {
        self.engage.scrolled(bottom, height);
    }

    /// Starts a custom event (`pixel(name, props)`); its properties follow with [`Tracker::prop`]
    /// and [`Tracker::end_custom`] sends it. A name the collector would refuse (empty, longer
    /// than 120 characters, control characters) is dropped here.
    pub fn custom(&mut self, env: &mut impl Env, name: &[u16]) -> bool {
        self.custom = None;
        let name = trim(name);
        let chars = name.iter().filter(|&&c| !(0xdc00..0xe000).contains(&c)).count();
        let control = name.iter().any(|&c| c < 0x20 || (0x7f..0xa0).contains(&c));
        if !self.live || chars == 0 || chars > MAX_EVENT_NAME_CHARS || control {
            return false;
        }
        let mark = self.begin_event(env);
        self.out.field(fields::NAME);
        self.out.string(name, usize::MAX);
        self.common_fields();
        self.out.field(fields::PROPS);
        self.out.byte(b'{');
        self.custom = Some((mark, 0));
        true
    }

    /// A property of the open custom event. Keys the collector would refuse are skipped, values
    /// are cut to [`MAX_PROP_VALUE_BYTES`], and properties past [`MAX_PROPS`] are dropped.
    pub fn prop(&mut self, key: &[u16], value: &[u16]) {
        let Some((mark, count)) = self.custom else { return };
        if count >= MAX_PROPS || !valid_prop_key(key) {
            return;
        }
        let before = self.out.len();
        if count > 0 {
            self.out.byte(b',');
        }
        self.out.string(key, MAX_PROP_KEY_BYTES);
        self.out.byte(b':');
        self.out.string(value, MAX_PROP_VALUE_BYTES);
        if self.out.full() {
            self.out.truncate(before);
        } else {
            self.custom = Some((mark, count + 1));
        }
    }

    /// Closes and sends the open custom event.
    pub fn end_custom(&mut self, env: &mut impl Env) {
        if let Some((mark, _)) = self.custom.take() {
            self.out.byte(b'}');
            self.end(mark);
            self.flush(env);
        }
    }

    /// A click on a link to `href` from the page `page` (`location.href`): an `outbound_click`
    /// or `file_download` event with the link's `url`, when enabled.
    pub fn link(&mut self, env: &mut impl Env, href: &[u16], page: &[u16]) {
        let name = match url::link(href, page) {
            Link::Download if self.flags & flag::DOWNLOADS != 0 => FILE_DOWNLOAD,
            Link::Outbound if self.flags & flag::OUTBOUND != 0 => OUTBOUND_CLICK,
            _ => return,
        };
        let name: [u16; 16] = ascii16(name);
        let len = name.iter().position(|&c| c == 0).unwrap_or(16);
        if self.custom(env, &name[..len]) {
            self.prop(&ascii16::<3>("url"), href);
            self.end_custom(env);
        }
    }

    fn same_route(&self, href: &[u16]) -> bool {
        let (path, fragment) = url::route(href, self.hash_mode());
        let stored = &self.route[..self.route_len];
        stored.len() == (path.len() + fragment.len()).min(ROUTE_CAP)
            && stored.iter().eq(path.iter().chain(fragment).take(ROUTE_CAP))
    }

    /// Makes `href` the current page: its route (for deduplication) and its URL as sent.
    fn set_page(&mut self, href: &[u16], strip_utm: bool) {
        let (path, fragment) = url::route(href, self.hash_mode());
        self.route_len = 0;
        for &c in path.iter().chain(fragment).take(ROUTE_CAP) {
            self.route[self.route_len] = c;
            self.route_len += 1;
        }
        let mut scratch = [0u16; MAX_URL_BYTES];
        let len = url::page_url(href, self.hash_mode(), strip_utm, &mut scratch);
        self.url.clear();
        self.url.string(&scratch[..len], MAX_URL_BYTES);
    }

    /// A `page_exit` for the current page view, when it has engaged time to report.
    fn exit(&mut self, env: &mut impl Env, now: f64) {
        if let Some((ms, scroll)) = self.engage.report(now) {
            let mark = self.begin(env, PAGE_EXIT);
            self.out.field(fields::DURATION);
            self.out.num(ms);
            self.out.field(fields::SCROLL);
            self.out.num(scroll as u64);
            self.end(mark);
        }
    }

    /// Opens an event with a built-in name, id, time and the page URL.
    fn begin(&mut self, env: &mut impl Env, name: &str) -> usize {
        let mark = self.begin_event(env);
        self.out.field(fields::NAME);
        self.out.byte(b'"');
        self.out.raw(name.as_bytes());
        self.out.byte(b'"');
        self.common_fields();
        mark
    }

    /// `{"e":[` before the first event or `,` between events, then `{"id":"…","t":…`. Answers
    /// where the event starts, to roll back to if it does not fit.
    fn begin_event(&mut self, env: &mut impl Env) -> usize {
        let mark = self.out.len();
        if self.events == 0 {
            self.out.raw(b"{\"");
            self.out.raw(fields::EVENTS.as_bytes());
            self.out.raw(b"\":[");
        } else {
            self.out.byte(b',');
        }
        self.out.raw(b"{\"");
        self.out.raw(fields::ID.as_bytes());
        self.out.raw(b"\":\"");
        let now = env.wall() as u64;
        self.out.raw(&event_id(env, now));
        self.out.byte(b'"');
        self.out.field(fields::TIME);
        self.out.num(now);
        mark
    }

    fn common_fields(&mut self) {
        self.out.field(fields::URL);
        // The URL is kept as a JSON string: appended as is.
        let (out, url) = (&mut self.out, &self.url);
        out.raw(url.as_bytes());
    }

    fn screen_width(&mut self) {
        if (1..=MAX_SCREEN_WIDTH).contains(&self.width) {
            self.out.field(fields::SCREEN_WIDTH);
            self.out.num(self.width as u64);
        }
    }

    fn end(&mut self, mark: usize) {
        self.out.byte(b'}');
        if self.out.full() {
            self.out.truncate(mark);
        } else {
            self.events += 1;
        }
    }

    /// Sends the events built so far as one request: `{"e":[…],"k":"…","st":…}`.
    fn flush(&mut self, env: &mut impl Env) {
        if self.events > 0 {
            let end = self.out.len();
            self.out.byte(b']');
            self.out.field(fields::KEY);
            let (out, key) = (&mut self.out, &self.key);
            out.raw(key.as_bytes());
            self.out.field(fields::SENT_AT);
            self.out.num(env.wall() as u64);
            self.out.byte(b'}');
            if self.out.full() {
                // No room for the envelope: drop the last event rather than everything.
                self.out.truncate(end);
            } else {
                env.send(self.out.as_bytes());
            }
        }
        self.out.clear();
        self.events = 0;
    }
}

/// An event id: 16 characters of `A-Za-z0-9_-`, the time then 54 random bits
/// ([`contract::ids::mint_event_id`]: ids that grow with time are cheap for the stores' dedupe
/// index).
fn event_id(env: &mut impl Env, now: u64) -> [u8; 16] {
    let mut random = [0u8; MINTED_ID_RANDOM_BYTES];
    env.random(&mut random);
    mint_event_id(now, random)
}

fn is_space(c: u16) -> bool {
    c <= 0x20
}

/// ASCII white space off both ends. The collector trims Unicode white space too (`str::trim`);
/// a name of only such exotic spaces is refused there, alone, without harm to its batch.
fn trim(s: &[u16]) -> &[u16] {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|&c| !is_space(c)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// The collector's [`check_prop_key`], on UTF-16 (no transcoding, no `str` searching in the
/// wasm; a unit test holds the two to the same answers): not empty, at most
/// [`MAX_PROP_KEY_BYTES`] in UTF-8, no leading `$`, no `.` or NUL.
fn valid_prop_key(key: &[u16]) -> bool {
    let utf8_len: usize = key
        .iter()
        .map(|&c| {
            if c < 0x80 {
                1
            } else if c < 0x800 || (0xd800..0xe000).contains(&c) {
                2
            } else {
                3
            }
        })
        .sum();
    !key.is_empty()
        && utf8_len <= MAX_PROP_KEY_BYTES
        && key[0] != b'$' as u16
        && !key.iter().any(|&c| c == b'.' as u16 || c == 0)
}

/// An ASCII constant as UTF-16, zero-padded.
fn ascii16<const N: usize>(s: &str) -> [u16; N] {
    let mut out = [0u16; N];
    for (o, b) in out.iter_mut().zip(s.bytes()) {
        *o = b as u16;
    }
    out
}

#[cfg(test)]
mod tests;
