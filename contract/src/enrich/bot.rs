//! Bot detection from the user agent.
//!
//! Runs on every event, so it is a handful of substring searches over the user agent lower-cased
//! once (ASCII only, one allocation of at most [`MAX_USER_AGENT_BYTES`](crate::limits)): no regex
//! to compile, nothing to initialise in a cold Worker. It complements, not replaces, Cloudflare's
//! bot score and verified-bot flag and the tracker's `navigator.webdriver` check
//! ([`crate::enriched::enrich`] combines them); the UA parser ([`super::ua`]) is hand-written and
//! has no crawler list of its own, so the list lives here.
//!
//! False positives cost real visitors, so every needle is something no browser sends. The one
//! generic needle, `bot`, must end a word (`Googlebot/2.1`, `AdsBot-Google`, `Slackbot 1.0`) and
//! is ignored inside `cubot` (a phone brand: `CUBOT P80`); `Abbott` or `Botanic` don't match.

/// Shortest user agent taken for a browser. Real browsers send 60+ bytes; `curl`-like tools
/// configured to hide, and scanners, often send nothing or a bare `Mozilla/5.0`.
pub const MIN_BROWSER_UA_BYTES: usize = 20;

/// Lower-case substrings that only automated clients send.
const NEEDLES: &[&str] = &[
    // Crawlers whose names don't end in "bot", and generic words.
    "crawl",
    "spider",
    "slurp",
    "archiver",
    "fetcher",
    "preview",
    "scanner",
    "monitor",
    "uptime",
    "-google",
    "google-",
    "mediapartners",
    "chatgpt-user",
    "claude-",
    "anthropic-ai",
    "perplexity-user",
    "meta-external",
    "facebookexternalhit",
    "facebookcatalog",
    "whatsapp",
    "embedly",
    "iframely",
    "cardyb",
    "mastodon/",
    "http.rb",
    "pingdom",
    "statuscake",
    "site24x7",
    "datadog",
    "gtmetrix",
    "ptst/",
    // Headless and automated browsers.
    "headless",
    "phantomjs",
    "slimerjs",
    "lighthouse",
    "puppeteer",
    "playwright",
    "selenium",
    "cypress/",
    // HTTP libraries and command-line tools.
    "curl/",
    "wget/",
    "python-",
    "python/",
    "go-http-client",
    "okhttp",
    "axios/",
    "node-fetch",
    "node.js",
    "undici",
    "java/",
    "apache-httpclient",
    "libwww",
    "lwp::",
    "httpie",
    "scrapy",
    "aiohttp",
    "httpx",
    "guzzlehttp",
    "ruby",
    "postmanruntime",
    "insomnia",
    "deno/",
    "bun/",
    "zgrab",
    "masscan",
    "nmap",
    "nuclei",
    // Bots put a contact URL in their UA ("+http://www.google.com/bot.html"); browsers never do.
    "http://",
    "https://",
];

/// True for crawlers, link-preview fetchers, monitoring, headless browsers, HTTP libraries and
/// empty or implausibly short user agents.
pub fn is_bot_user_agent(ua: &str) -> bool {
    let ua = ua.trim();
    if ua.len() < MIN_BROWSER_UA_BYTES {
        return true;
    }
    let lower = ua.to_ascii_lowercase();
    NEEDLES.iter().any(|needle| lower.contains(needle)) || has_bot_word(&lower)
}

/// `bot` at the end of a word, except in `cubot`.
fn has_bot_word(lower: &str) -> bool {
    lower.match_indices("bot").any(|(i, _)| {
        let ends_word = !lower[i + 3..].starts_with(|c: char| c.is_ascii_alphabetic());
        ends_word && !lower[..i].ends_with("cu")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSERS: &[&str] = &[
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 12; CUBOT P80) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 9; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/480.0.0.45.108;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5]",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36 Instagram 346.0.0.34.95 Android",
    ];

    const BOTS: &[&str] = &[
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1) Chrome/131.0.6778.69 Safari/537.36",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp)",
        "Mozilla/5.0 (compatible; YandexBot/3.0)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0)",
        "AdsBot-Google (+http://www.google.com/adsbot.html)",
        "Mediapartners-Google",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0)",
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Chrome-Lighthouse",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "Python-urllib/3.12",
        "Go-http-client/2.0",
        "okhttp/4.12.0",
        "axios/1.7.7",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "Java/17.0.2",
        "libwww-perl/6.72",
        "HTTPie/3.2.2",
        "Scrapy/2.11.2 (+https://scrapy.org)",
        "Python/3.12 aiohttp/3.10.10",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "WhatsApp/2.23.20.0",
        "TelegramBot (like TwitterBot)",
        "Twitterbot/1.0",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "Mozilla/5.0 (compatible; StatusCake)",
        "",
        "   ",
        "Mozilla/5.0",
        "-",
    ];

    #[test]
    fn flags_bots_tools_and_empty_user_agents() {
        for ua in BOTS {
            assert!(is_bot_user_agent(ua), "not flagged: {ua:?}");
        }
    }

    #[test]
    fn lets_real_browsers_through() {
        for ua in BROWSERS {
            assert!(!is_bot_user_agent(ua), "flagged: {ua:?}");
        }
    }

    #[test]
    fn bot_must_end_a_word() {
        assert!(has_bot_word("mozilla/5.0 (compatible; foobot)"));
        assert!(has_bot_word("robot"));
        assert!(!has_bot_word("cubot p80"));
        assert!(!has_bot_word("abbott botanic"));
    }
}
