//! Referrer -> traffic source.
//!
//! Sources are what the dashboard groups visits by, so a referrer from `www.google.de`,
//! `google.co.uk` or the Google app must all read "Google", while an unknown site reads as its
//! host. The table below is deliberately compact (the sites that dominate real referrer lists,
//! as in Plausible's and Umami's); everything else falls back to the host, which is still useful.
//! Twitter is labelled "X (Twitter)": `t.co` links predate the rename and people look for either.
use url::Url;

/// How a referrer host is recognised.
enum Rule {
    /// The domain or any subdomain of it: `Domain("bing.com")` matches `bing.com`, `cn.bing.com`.
    Domain(&'static str),
    /// A brand registered in many country domains: `Brand("google")` matches `google.com`,
    /// `www.google.de`, `google.co.uk`, `news.google.com.au`, but not `google.example.com`.
    Brand(&'static str),
}

use Rule::{Brand, Domain};

/// Known referrers, most specific first (Gmail before Google).
const KNOWN: &[(Rule, &str)] = &[
    (Domain("mail.google.com"), "Gmail"),
    (Brand("google"), "Google"),
    (Domain("bing.com"), "Bing"),
    (Domain("duckduckgo.com"), "DuckDuckGo"),
    (Brand("yahoo"), "Yahoo"),
    (Brand("yandex"), "Yandex"),
    (Domain("ya.ru"), "Yandex"),
    (Domain("baidu.com"), "Baidu"),
    (Domain("ecosia.org"), "Ecosia"),
    (Domain("search.brave.com"), "Brave Search"),
    (Domain("facebook.com"), "Facebook"),
    (Domain("fb.com"), "Facebook"),
    (Domain("fb.me"), "Facebook"),
    (Domain("instagram.com"), "Instagram"),
    (Domain("t.co"), "X (Twitter)"),
    (Domain("twitter.com"), "X (Twitter)"),
    (Domain("x.com"), "X (Twitter)"),
    (Domain("linkedin.com"), "LinkedIn"),
    (Domain("lnkd.in"), "LinkedIn"),
    (Domain("reddit.com"), "Reddit"),
    (Domain("news.ycombinator.com"), "Hacker News"),
    (Domain("github.com"), "GitHub"),
    (Domain("youtube.com"), "YouTube"),
    (Domain("youtu.be"), "YouTube"),
    (Brand("pinterest"), "Pinterest"),
    (Domain("pin.it"), "Pinterest"),
    (Domain("tiktok.com"), "TikTok"),
    (Domain("chatgpt.com"), "ChatGPT"),
    (Domain("chat.openai.com"), "ChatGPT"),
    (Domain("perplexity.ai"), "Perplexity"),
    (Domain("wikipedia.org"), "Wikipedia"),
    (Domain("bsky.app"), "Bluesky"),
];

/// Android apps send `android-app://<package>/` as the referrer.
const KNOWN_APPS: &[(&str, &str)] = &[
    ("com.google.android.gm", "Gmail"),
    ("com.google.android.googlequicksearchbox", "Google"),
    ("com.google.android.apps.searchlite", "Google"),
    ("com.facebook.katana", "Facebook"),
    ("com.instagram.android", "Instagram"),
    ("com.twitter.android", "X (Twitter)"),
    ("com.linkedin.android", "LinkedIn"),
    ("com.reddit.frontpage", "Reddit"),
    ("com.google.android.youtube", "YouTube"),
    ("org.telegram.messenger", "Telegram"),
    ("com.slack", "Slack"),
];

/// Second-level labels under which brands register in country domains (`co.uk`, `com.au`).
const COUNTRY_SECOND_LEVELS: &[&str] = &["co", "com", "net", "org", "ne", "or", "ac", "gov", "edu"];

/// The source of a visit: `utm_source` when set, otherwise a known name for the referrer's host
/// ("Google", "Hacker News", …), otherwise the referrer's host without `www.`. `None` for direct
/// traffic and for referrers on the page's own host (internal navigation).
///
/// `page_host` is the page's host without `www.`, lower-case. Referrers that are neither
/// `http(s)` nor `android-app` (`file:`, `about:`, browser extensions) are direct traffic.
pub fn source(referrer: Option<&Url>, page_host: &str, utm_source: Option<&str>) -> Option<String> {
    if let Some(utm) = utm_source.map(str::trim).filter(|s| !s.is_empty()) {
        return Some(utm.to_owned());
    }
    let referrer = referrer?;
    // Hosts of special schemes are lower-cased by the parser; android-app package names are not.
    let host = referrer.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    match referrer.scheme() {
        "http" | "https" => {}
        "android-app" => {
            let known = KNOWN_APPS.iter().find(|(package, _)| *package == host);
            return Some(known.map_or(host, |(_, name)| name).to_owned());
        }
        _ => return None,
    }
    if host.is_empty() || host == page_host.strip_prefix("www.").unwrap_or(page_host) {
        return None;
    }
    let known = KNOWN.iter().find(|(rule, _)| rule.matches(host));
    Some(known.map_or(host, |(_, name)| name).to_owned())
}

impl Rule {
    fn matches(&self, host: &str) -> bool {
        match *self {
            Domain(domain) => is_domain_or_subdomain(host, domain),
            Brand(brand) => {
                let labels: Vec<&str> = host.split('.').collect();
                labels
                    .iter()
                    .rposition(|l| *l == brand)
                    .is_some_and(|i| match &labels[i + 1..] {
                        [_tld] => true,
                        [second, _tld] => COUNTRY_SECOND_LEVELS.contains(second),
                        _ => false,
                    })
            }
        }
    }
}

fn is_domain_or_subdomain(host: &str, domain: &str) -> bool {
    host.strip_suffix(domain)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(referrer: &str) -> Option<String> {
        source(Some(&Url::parse(referrer).unwrap()), "shop.io", None)
    }

    #[test]
    fn utm_source_wins() {
        let google = Url::parse("https://www.google.com/").unwrap();
        assert_eq!(
            source(Some(&google), "shop.io", Some("  newsletter ")).as_deref(),
            Some("newsletter")
        );
        assert_eq!(
            source(None, "shop.io", Some("Newsletter")).as_deref(),
            Some("Newsletter")
        );
        assert_eq!(source(Some(&google), "shop.io", Some("  ")).as_deref(), Some("Google"));
    }

    #[test]
    fn direct_internal_and_odd_schemes_have_no_source() {
        assert_eq!(source(None, "shop.io", None), None);
        assert_eq!(from("https://shop.io/cart"), None);
        assert_eq!(from("https://www.shop.io/cart"), None);
        assert_eq!(from("http://WWW.Shop.IO/"), None);
        assert_eq!(from("file:///home/me/page.html"), None);
        assert_eq!(from("chrome-extension://abcdef/popup.html"), None);
        assert_eq!(from("about:blank"), None);
    }

    #[test]
    fn search_engines_in_any_country() {
        for (referrer, name) in [
            ("https://www.google.com/", "Google"),
            ("https://www.google.co.uk/", "Google"),
            ("https://google.de/search?q=x", "Google"),
            ("https://www.google.com.au/", "Google"),
            ("https://news.google.com/", "Google"),
            ("https://mail.google.com/mail/u/0/", "Gmail"),
            ("https://www.bing.com/", "Bing"),
            ("https://cn.bing.com/", "Bing"),
            ("https://duckduckgo.com/", "DuckDuckGo"),
            ("https://search.yahoo.co.jp/", "Yahoo"),
            ("https://yandex.ru/", "Yandex"),
            ("https://yandex.com.tr/", "Yandex"),
            ("https://www.baidu.com/link?url=x", "Baidu"),
            ("https://www.ecosia.org/", "Ecosia"),
            ("https://search.brave.com/search?q=x", "Brave Search"),
        ] {
            assert_eq!(from(referrer).as_deref(), Some(name), "{referrer}");
        }
    }

    #[test]
    fn social_and_other_known_sites() {
        for (referrer, name) in [
            ("https://l.facebook.com/", "Facebook"),
            ("https://lm.facebook.com/l.php?u=x", "Facebook"),
            ("https://m.facebook.com/", "Facebook"),
            ("https://l.instagram.com/", "Instagram"),
            ("https://t.co/abc", "X (Twitter)"),
            ("https://x.com/someone", "X (Twitter)"),
            ("https://twitter.com/", "X (Twitter)"),
            ("https://www.linkedin.com/", "LinkedIn"),
            ("https://lnkd.in/abc", "LinkedIn"),
            ("https://old.reddit.com/r/rust", "Reddit"),
            ("https://news.ycombinator.com/item?id=1", "Hacker News"),
            ("https://github.com/org/repo", "GitHub"),
            ("https://m.youtube.com/", "YouTube"),
            ("https://youtu.be/abc", "YouTube"),
            ("https://www.pinterest.co.uk/", "Pinterest"),
            ("https://www.tiktok.com/", "TikTok"),
            ("https://chatgpt.com/", "ChatGPT"),
            ("https://chat.openai.com/", "ChatGPT"),
            ("https://www.perplexity.ai/", "Perplexity"),
            ("https://en.m.wikipedia.org/wiki/Rust", "Wikipedia"),
            ("https://bsky.app/profile/x", "Bluesky"),
        ] {
            assert_eq!(from(referrer).as_deref(), Some(name), "{referrer}");
        }
    }

    #[test]
    fn android_apps() {
        assert_eq!(from("android-app://com.google.android.gm/").as_deref(), Some("Gmail"));
        assert_eq!(
            from("android-app://com.google.android.googlequicksearchbox/https/www.google.com").as_deref(),
            Some("Google")
        );
        assert_eq!(
            from("android-app://org.Example.App/").as_deref(),
            Some("org.example.app")
        );
    }

    #[test]
    fn unknown_hosts_are_reported_as_such_and_lookalikes_are_not_matched() {
        assert_eq!(
            from("https://www.Blog.Example.com/post").as_deref(),
            Some("blog.example.com")
        );
        assert_eq!(from("https://blog.shop.io/").as_deref(), Some("blog.shop.io"));
        assert_eq!(
            from("https://google.example.com/").as_deref(),
            Some("google.example.com")
        );
        assert_eq!(from("https://notgoogle.com/").as_deref(), Some("notgoogle.com"));
        assert_eq!(from("https://mybing.com/").as_deref(), Some("mybing.com"));
        assert_eq!(from("https://ycombinator.com/").as_deref(), Some("ycombinator.com"));
        assert_eq!(from("https://next.co/").as_deref(), Some("next.co"));
        assert_eq!(from("http://192.168.1.1:8080/").as_deref(), Some("192.168.1.1"));
    }
}
