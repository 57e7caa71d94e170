use super::*;
use contract::wire::parse_body;
use serde_json::{json, Value};

const KEY: &str = "mtr_0123456789abcdef0123456789abcdef01234567";

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// A browser: a clock we move by hand, counting random bytes, and the requests sent.
#[derive(Default)]
struct Browser {
    wall: f64,
    mono: f64,
    seed: u64,
    sent: Vec<Value>,
}

impl Browser {
    fn new() -> Self {
        Self {
            wall: 1_763_740_800_000.0,
            seed: 0x9e37_79b9_7f4a_7c15,
            ..Default::default()
        }
    }
    fn wait(&mut self, ms: f64) {
        self.wall += ms;
        self.mono += ms;
    }
    /// The events of every request since the last call, one `Vec` per request.
    fn requests(&mut self) -> Vec<Vec<Value>> {
        self.sent
            .drain(..)
            .map(|r| r["e"].as_array().unwrap().clone())
            .collect()
    }
    /// `name path` of every event since the last call, flattened.
    fn names(&mut self) -> Vec<String> {
        self.requests()
            .into_iter()
            .flatten()
            .map(|e| format!("{} {}", e["n"].as_str().unwrap(), e["u"].as_str().unwrap()))
            .collect()
    }
}

impl Env for Browser {
    fn wall(&mut self) -> f64 {
        self.wall
    }
    fn mono(&mut self) -> f64 {
        self.mono
    }
    fn random(&mut self, bytes: &mut [u8]) {
        for b in bytes {
            // xorshift64: deterministic, and distinct ids as long as it does not cycle.
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            *b = self.seed as u8;
        }
    }
    fn send(&mut self, body: &[u8]) {
        // Every request must pass the collector's own parser, every event included.
        let submission = parse_body(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
        assert_eq!(submission.key, KEY);
        assert!(!submission.webdriver);
        for event in &submission.events {
            assert!(event.is_ok(), "{event:?} in {}", String::from_utf8_lossy(body));
        }
        self.sent.push(serde_json::from_slice(body).unwrap());
    }
}

fn tracker(href: &str, flags: u32) -> Tracker {
    let mut t = Tracker::new();
    assert!(t.configure(&w(KEY), &w(href), flags));
    t
}

fn custom(t: &mut Tracker, b: &mut Browser, name: &str, props: &[(&str, &str)]) -> bool {
    if !t.custom(b, &w(name)) {
        return false;
    }
    for (k, v) in props {
        t.prop(&w(k), &w(v));
    }
    t.end_custom(b);
    true
}

#[test]
fn first_view_carries_referrer_utm_and_screen_width() {
    let mut b = Browser::new();
    let href = "https://shop.example/?utm_source=news&utm_campaign=launch&x=1#top";
    let mut t = tracker(href, 0);
    t.pageview(&mut b, &w(href), &w("https://www.google.com/"), 1440, 0);
    let body = b.sent[0].clone();
    assert_eq!(body["k"], KEY);
    assert_eq!(body["st"], json!(1_763_740_800_000u64));
    let events = b.requests().remove(0);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["n"], "pageview");
    // The anchor is dropped outside hash mode; the campaign stays on the landing view.
    assert_eq!(e["u"], "https://shop.example/?utm_source=news&utm_campaign=launch&x=1");
    assert_eq!(e["r"], "https://www.google.com/");
    assert_eq!(e["w"], 1440);
    assert_eq!(e["t"], json!(1_763_740_800_000u64));
    assert_eq!(e["id"].as_str().unwrap().len(), 16);
    assert!(e.get("d").is_none() && e.get("s").is_none());
}

#[test]
fn spa_navigation_sends_exit_and_path_change_together_once() {
    let mut b = Browser::new();
    let mut t = tracker("https://app.example/?utm_source=x", 0);
    t.pageview(
        &mut b,
        &w("https://app.example/?utm_source=x"),
        &w("https://ref.example/"),
        1280,
        0,
    );
    b.requests();
    t.scrolled(900, 3000);
    b.wait(1_500.0);
    t.navigate(&mut b, &w("https://app.example/pricing?utm_source=x"));
    // The router calls replaceState with the same path, and a query change: no new view.
    t.navigate(&mut b, &w("https://app.example/pricing?utm_source=x"));
    t.navigate(&mut b, &w("https://app.example/pricing?plan=pro#faq"));
    let requests = b.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (exit, change) = (&requests[0][0], &requests[0][1]);
    assert_eq!(exit["n"], "page_exit");
    assert_eq!(exit["u"], "https://app.example/?utm_source=x");
    assert_eq!(exit["d"], 1_500);
    assert_eq!(exit["s"], 30);
    assert_eq!(change["n"], "path_change");
    // Later views do not repeat the campaign or the referrer.
    assert_eq!(change["u"], "https://app.example/pricing");
    assert!(change.get("r").is_none());
    assert_eq!(change["w"], 1280);
    assert_ne!(exit["id"], change["id"]);

    b.wait(700.0);
    t.navigate(&mut b, &w("https://app.example/"));
    let events = b.requests().remove(0);
    assert_eq!(events[0]["u"], "https://app.example/pricing");
    assert_eq!(events[0]["d"], 700);
    assert_eq!(events[0]["s"], 0, "scroll depth starts again on a new page");
    assert_eq!(events[1]["u"], "https://app.example/");
}

#[test]
fn hash_mode_counts_routes_in_the_fragment_once() {
    let mut b = Browser::new();
    let href = "https://app.example/#/";
    let mut t = tracker(href, flag::HASH);
    t.pageview(&mut b, &w(href), &[], 800, 0);
    b.wait(10.0);
    // A hash link fires popstate and hashchange: one navigation.
    t.navigate(&mut b, &w("https://app.example/#/settings"));
    t.navigate(&mut b, &w("https://app.example/#/settings"));
    assert_eq!(
        b.names(),
        [
            "pageview https://app.example/#/",
            "page_exit https://app.example/#/",
            "path_change https://app.example/#/settings"
        ]
    );

    // Outside hash mode, fragments are anchors.
    let mut t = tracker(href, 0);
    t.pageview(&mut b, &w("https://app.example/docs"), &[], 800, 0);
    t.navigate(&mut b, &w("https://app.example/docs#install"));
    assert_eq!(b.names(), ["pageview https://app.example/docs"]);
}

#[test]
fn hiding_and_closing_give_one_exit_per_visible_stretch() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/a", 0);
    t.pageview(&mut b, &w("https://x.example/a"), &[], 0, 0);
    b.wait(2_000.0);
    t.visibility(&mut b, true);
    b.wait(60_000.0); // hidden: not engaged
    t.visibility(&mut b, false);
    b.wait(500.0);
    t.visibility(&mut b, true); // closing: visibilitychange hidden ...
    t.visibility(&mut b, true); // ... then pagehide
    let requests = b.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1][0]["d"], 2_000);
    assert_eq!(requests[2][0]["d"], 500);
    assert!(requests[0][0].get("w").is_none(), "no screen width when unknown");
}

#[test]
fn a_navigation_while_hidden_reports_no_empty_exit() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/a", 0);
    t.pageview(&mut b, &w("https://x.example/a"), &[], 0, 0);
    b.wait(100.0);
    t.visibility(&mut b, true);
    t.navigate(&mut b, &w("https://x.example/b"));
    assert_eq!(
        b.names()[1..],
        ["page_exit https://x.example/a", "path_change https://x.example/b"]
    );
    t.visibility(&mut b, true);
    assert!(b.names().is_empty(), "the new page was never visible");
}

#[test]
fn back_forward_cache_restore_is_a_new_view_without_referrer() {
    let mut b = Browser::new();
    let href = "https://x.example/a?utm_source=mail";
    let mut t = tracker(href, 0);
    t.pageview(&mut b, &w(href), &w("https://mail.example/"), 1024, 0);
    b.wait(300.0);
    t.visibility(&mut b, true); // pagehide (persisted)
    b.wait(10_000.0);
    t.pageview(&mut b, &w(href), &w("https://mail.example/"), 1024, view::RESTORED);
    b.wait(200.0);
    t.visibility(&mut b, true);
    let events: Vec<Value> = b.requests().into_iter().flatten().collect();
    assert_eq!(events.len(), 4);
    assert_eq!(events[2]["n"], "pageview");
    assert!(events[2].get("r").is_none());
    assert_eq!(events[2]["u"], "https://x.example/a");
    assert_eq!(events[3]["d"], 200);
}

#[test]
fn background_tab_view_counts_time_only_once_seen() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/", 0);
    t.pageview(&mut b, &w("https://x.example/"), &[], 0, view::HIDDEN);
    b.wait(5_000.0);
    t.visibility(&mut b, false);
    b.wait(250.0);
    t.visibility(&mut b, true);
    let events: Vec<Value> = b.requests().into_iter().flatten().collect();
    assert_eq!(events[1]["d"], 250);
}

#[test]
fn custom_events_with_props() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/", 0);
    t.pageview(&mut b, &w("https://x.example/pricing?utm_medium=cpc"), &[], 0, 0);
    b.requests();
    assert!(custom(
        &mut t,
        &mut b,
        "  signup ",
        &[("plan", "pro"), ("seats", "3"), ("note", "a \"quoted\"\nline – ✓")]
    ));
    let e = b.requests().remove(0).remove(0);
    assert_eq!(e["n"], "signup");
    assert_eq!(e["u"], "https://x.example/pricing?utm_medium=cpc");
    assert_eq!(
        e["p"],
        json!({"plan": "pro", "seats": "3", "note": "a \"quoted\"\nline – ✓"})
    );

    // Names and keys the collector would refuse never leave the browser.
    assert!(!custom(&mut t, &mut b, "", &[]));
    assert!(!custom(&mut t, &mut b, " \t", &[]));
    assert!(!custom(&mut t, &mut b, "a\u{1}b", &[]));
    assert!(!custom(&mut t, &mut b, &"x".repeat(121), &[]));
    assert!(custom(&mut t, &mut b, &"é".repeat(120), &[]));
    let long_value = "v".repeat(5000);
    let many: Vec<(String, String)> = (0..40).map(|i| (format!("k{i}"), i.to_string())).collect();
    let mut props: Vec<(&str, &str)> = vec![
        ("$set", "x"),
        ("a.b", "x"),
        ("", "x"),
        ("ok\0", "x"),
        ("long", &long_value),
    ];
    props.extend(many.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert!(custom(&mut t, &mut b, "many", &props));
    let events: Vec<Value> = b.requests().into_iter().flatten().collect();
    let p = events[1]["p"].as_object().unwrap();
    assert_eq!(p.len(), MAX_PROPS);
    assert_eq!(p["long"].as_str().unwrap().len(), MAX_PROP_VALUE_BYTES);
    assert!(p.contains_key("k28") && !p.contains_key("k29"));
}

#[test]
fn a_prop_without_an_open_event_is_ignored() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/", 0);
    t.prop(&w("a"), &w("b"));
    t.end_custom(&mut b);
    assert!(b.sent.is_empty());
}

#[test]
fn outbound_and_download_clicks_when_enabled() {
    let mut b = Browser::new();
    let page = w("https://www.example.com/docs");
    let mut t = tracker("https://www.example.com/docs", flag::OUTBOUND | flag::DOWNLOADS);
    t.pageview(&mut b, &page, &[], 0, 0);
    b.requests();
    t.link(&mut b, &w("https://github.com/x/y"), &page);
    t.link(&mut b, &w("https://www.example.com/files/report.pdf"), &page);
    t.link(&mut b, &w("https://www.example.com/pricing"), &page);
    let events: Vec<Value> = b.requests().into_iter().flatten().collect();
    assert_eq!(events.len(), 2);
    assert_eq!(
        (&events[0]["n"], &events[0]["p"]),
        (&json!("outbound_click"), &json!({"url": "https://github.com/x/y"}))
    );
    assert_eq!(
        (&events[1]["n"], &events[1]["p"]),
        (
            &json!("file_download"),
            &json!({"url": "https://www.example.com/files/report.pdf"})
        )
    );
    assert_eq!(events[1]["u"], "https://www.example.com/docs");

    let mut off = tracker("https://www.example.com/docs", 0);
    off.pageview(&mut b, &page, &[], 0, 0);
    b.requests();
    off.link(&mut b, &w("https://github.com/x/y"), &page);
    off.link(&mut b, &w("https://www.example.com/a.zip"), &page);
    assert!(b.sent.is_empty());
}

#[test]
fn pages_not_counted() {
    let key = w(KEY);
    let public = w("https://example.com/");
    let local = w("http://localhost:3000/");
    let file = w("file:///tmp/index.html");
    let configure = |key: &[u16], href: &[u16], flags: u32| Tracker::new().configure(key, href, flags);
    assert!(configure(&key, &public, 0));
    assert!(!configure(&[], &public, 0), "no key");
    assert!(!configure(&key, &local, 0));
    assert!(!configure(&key, &file, 0));
    assert!(!configure(&key, &public, flag::WEBDRIVER));
    assert!(configure(&key, &local, flag::ALLOW_LOCAL));
    assert!(configure(&key, &public, flag::WEBDRIVER | flag::ALLOW_LOCAL));
    assert!(
        configure(&key, &public, flag::DNT),
        "DNT is only honoured when asked to"
    );
    assert!(!configure(&key, &public, flag::DNT | flag::RESPECT_DNT));
    assert!(configure(&key, &public, flag::RESPECT_DNT));

    // Not configured: nothing is ever sent.
    let mut b = Browser::new();
    let mut t = Tracker::new();
    t.pageview(&mut b, &public, &[], 0, 0);
    t.navigate(&mut b, &w("https://example.com/x"));
    t.visibility(&mut b, true);
    custom(&mut t, &mut b, "x", &[]);
    assert!(b.sent.is_empty());
}

#[test]
fn navigation_before_the_first_view_is_ignored() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/", 0);
    t.navigate(&mut b, &w("https://x.example/b"));
    t.visibility(&mut b, true);
    assert!(b.sent.is_empty());
}

#[test]
fn long_and_odd_urls_stay_valid() {
    let mut b = Browser::new();
    let long = format!("https://x.example/{}?q={}", "a".repeat(1500), "b".repeat(1500));
    let mut t = tracker(&long, 0);
    t.pageview(
        &mut b,
        &w(&long),
        &w(&format!("https://r.example/{}", "c".repeat(3000))),
        0,
        0,
    );
    let e = b.requests().remove(0).remove(0);
    assert_eq!(e["u"].as_str().unwrap().len(), MAX_URL_BYTES);
    assert_eq!(e["r"].as_str().unwrap().len(), MAX_URL_BYTES);
    let odd = "https://x.example/caf\u{e9}/\"q\"\\";
    t.navigate(&mut b, &w(odd));
    assert_eq!(b.requests().remove(0)[1]["u"], odd);
}

#[test]
fn event_ids_are_distinct_well_formed_and_grow_with_time() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/", 0);
    t.pageview(&mut b, &w("https://x.example/"), &[], 0, 0);
    for i in 0..20 {
        b.wall += 1_000.0;
        t.navigate(&mut b, &w(&format!("https://x.example/{i}")));
    }
    let sent: Vec<String> = b
        .requests()
        .into_iter()
        .flatten()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    // Each navigation's `page_exit` and `path_change` share a millisecond: only later
    // navigations' ids must sort after earlier ones (the stores' dedupe index appends them).
    assert!(sent.windows(3).step_by(2).all(|w| w[0] < w[2]), "{sent:?}");
    let ids: std::collections::BTreeSet<String> = sent.into_iter().collect();
    assert_eq!(ids.len(), 41);
    assert!(ids
        .iter()
        .all(|id| id.len() == 16 && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')));
}

#[test]
fn an_event_that_does_not_fit_is_dropped_whole() {
    let mut b = Browser::new();
    let mut t = tracker("https://x.example/", 0);
    t.pageview(&mut b, &w("https://x.example/"), &[], 0, 0);
    b.requests();
    // 30 values of 2000 bytes of control characters: 6 bytes each escaped, far beyond a request.
    let value = "\u{1}".repeat(2000);
    let props: Vec<(String, &str)> = (0..30).map(|i| (format!("k{i}"), value.as_str())).collect();
    let props: Vec<(&str, &str)> = props.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert!(custom(&mut t, &mut b, "big", &props));
    let e = b.requests().remove(0).remove(0);
    let p = e["p"].as_object().unwrap();
    assert!(!p.is_empty() && p.len() < 30, "the properties that fit are kept");
    assert!(b.sent.is_empty());
}

#[test]
fn prop_key_check_agrees_with_the_collector() {
    let long = "k".repeat(300);
    let too_long = "k".repeat(301);
    let wide = "é".repeat(150);
    let too_wide = "€".repeat(101);
    let emoji = "😀".repeat(75);
    let too_many_emoji = "😀".repeat(76);
    for key in [
        "plan",
        "",
        "$set",
        "a$",
        "a.b",
        "nul\0",
        "ünï",
        &long,
        &too_long,
        &wide,
        &too_wide,
        &emoji,
        &too_many_emoji,
    ] {
        assert_eq!(
            valid_prop_key(&w(key)),
            contract::wire::check_prop_key(key).is_ok(),
            "{key:?}"
        );
    }
}
