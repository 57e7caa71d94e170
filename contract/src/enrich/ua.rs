//! User agent -> browser, OS and device type.
//!
//! # Why hand-written, and not `woothee` (or `uaparser`)
//!
//! This runs in the Cloudflare Worker, whose whole bundle must stay under 300 KB gzipped. Measured
//! on a wasm32-unknown-unknown cdylib built with `opt-level = "z"`, fat LTO and `panic = "abort"`,
//! calling `woothee::parser::Parser::parse` added about 885 KB raw / 288 KB gzipped over the same
//! crate without it: `woothee` pulls in `regex` with Unicode tables and compiles ~60 regexes on
//! first use (a cold-start cost in every Worker isolate). `uaparser` is heavier still (a YAML
//! database and hundreds of regexes). Functionally `woothee` also reports iPads and Android tablets
//! as "smartphone". An analytics dashboard needs a dozen browsers and seven OSes, which a few
//! `contains`/`find` calls over known tokens identify correctly, in a few KB of code and
//! without allocation beyond the returned strings.
//!
//! # Vocabulary
//!
//! Names are a small stable vocabulary (they are stored and grouped on):
//!
//! * browsers: [`CHROME`], [`SAFARI`], [`FIREFOX`], [`EDGE`], [`OPERA`], [`SAMSUNG_INTERNET`],
//!   [`VIVALDI`], [`YANDEX_BROWSER`], [`UC_BROWSER`], [`DUCKDUCKGO`], [`CHROMIUM`],
//!   [`ANDROID_WEBVIEW`], [`FACEBOOK`], [`INSTAGRAM`], [`INTERNET_EXPLORER`], [`UNKNOWN`].
//!   Chrome, Firefox, Edge and Opera on iOS (`CriOS`, `FxiOS`, `EdgiOS`, `OPiOS`) are reported
//!   under their brand: the OS column already tells iOS apart.
//! * OSes: [`WINDOWS`], [`MACOS`], [`IOS`], [`IPADOS`], [`ANDROID`], [`LINUX`], [`CHROMEOS`],
//!   [`UNKNOWN`].
//!
//! # What a user agent cannot tell (documented limits)
//!
//! * Windows 11 sends `Windows NT 10.0`, like Windows 10: both are reported as "10". Telling them
//!   apart needs the `Sec-CH-UA-Platform-Version` client hint.
//! * macOS: Safari, Chrome and Firefox freeze the version at 10.15(.7), so every macOS 11+ reports
//!   "10.15". Versions are reported as sent ("10.15" for 10.x, the major version for 11+).
//! * iPadOS 13+ Safari asks for desktop sites by default and sends a Mac user agent. A Mac screen
//!   is never narrower than 992 CSS px, so a "Macintosh" UA with a narrower screen is counted as a
//!   tablet (the OS stays "macOS": that is what the UA claims).
//! * iOS 26 Safari freezes the OS version at 18.6 and sends its real version in `Version/`; when
//!   the UA says iOS 18 and Safari 26+, the Safari version is used as the OS version.
//! * Chrome's reduced user agent sends `Android 10; K`: the Android version is "10" for all
//!   Chrome-based browsers on Android 10+.
//! * ChromeOS's platform version in the UA is frozen and is not a release number: empty.
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    #[default]
    Other,
}

impl Device {
    pub fn as_str(&self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Other => "other",
        }
    }

    /// The device a screen this wide (CSS px) most likely belongs to, with Plausible's breakpoints:
    /// below 576 a phone, below 992 a tablet, else a desktop.
    pub fn from_screen_width(width: u32) -> Device {
        match width {
            0 => Device::Other,
            1..=575 => Device::Mobile,
            576..=991 => Device::Tablet,
            _ => Device::Desktop,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ClientInfo {
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    pub device: Device,
}

/// Browser or OS that could not be identified.
pub const UNKNOWN: &str = "Unknown";
pub const CHROME: &str = "Chrome";
pub const SAFARI: &str = "Safari";
pub const FIREFOX: &str = "Firefox";
pub const EDGE: &str = "Edge";
pub const OPERA: &str = "Opera";
pub const SAMSUNG_INTERNET: &str = "Samsung Internet";
pub const VIVALDI: &str = "Vivaldi";
pub const YANDEX_BROWSER: &str = "Yandex Browser";
pub const UC_BROWSER: &str = "UC Browser";
pub const DUCKDUCKGO: &str = "DuckDuckGo";
pub const CHROMIUM: &str = "Chromium";
/// An app's embedded Chrome WebView on Android (`; wv)`).
pub const ANDROID_WEBVIEW: &str = "Android WebView";
/// Facebook's and Instagram's in-app browsers: a large share of mobile social traffic, which
/// would otherwise show up as a Safari or WebView without a version.
pub const FACEBOOK: &str = "Facebook";
pub const INSTAGRAM: &str = "Instagram";
pub const INTERNET_EXPLORER: &str = "Internet Explorer";

pub const WINDOWS: &str = "Windows";
pub const MACOS: &str = "macOS";
pub const IOS: &str = "iOS";
pub const IPADOS: &str = "iPadOS";
pub const ANDROID: &str = "Android";
pub const LINUX: &str = "Linux";
pub const CHROMEOS: &str = "ChromeOS";

/// Browser, OS and device of a user agent; `screen_width` (CSS px) breaks ties for the device.
///
/// Unknown browsers and OSes are [`UNKNOWN`] with an empty version; the device is then guessed
/// from the screen width alone, or [`Device::Other`] without one.
pub fn parse_user_agent(ua: &str, screen_width: Option<u32>) -> ClientInfo {
    let (browser, browser_version) = browser(ua);
    let (os, mut os_version) = os(ua);
    // iOS 26 Safari freezes "iPhone OS 18_6" and sends its real version in `Version/`.
    let frozen_ios = matches!(os, IOS | IPADOS) && os_version == "18" && browser == SAFARI;
    if frozen_ios && browser_version.parse::<u32>().is_ok_and(|v| v >= 26) {
        os_version = browser_version.clone();
    }
    ClientInfo {
        browser: browser.to_owned(),
        browser_version,
        os: os.to_owned(),
        os_version,
        device: device(ua, os, screen_width),
    }
}

/// Browser tokens, most specific first: Chromium-based browsers also send `Chrome/` and
/// `Safari/`, and browsers on iOS also send `Safari/` or `Version/`.
const BROWSER_TOKENS: &[(&str, &str)] = &[
    ("FBAV/", FACEBOOK),
    ("FBAN/", FACEBOOK),
    ("Instagram ", INSTAGRAM),
    ("EdgiOS/", EDGE),
    ("EdgA/", EDGE),
    ("Edg/", EDGE),
    ("Edge/", EDGE),
    ("OPR/", OPERA),
    ("OPiOS/", OPERA),
    ("OPT/", OPERA),
    ("SamsungBrowser/", SAMSUNG_INTERNET),
    ("YaBrowser/", YANDEX_BROWSER),
    ("Vivaldi/", VIVALDI),
    ("UCBrowser/", UC_BROWSER),
    ("DuckDuckGo/", DUCKDUCKGO),
    ("Ddg/", DUCKDUCKGO),
    ("FxiOS/", FIREFOX),
    ("Firefox/", FIREFOX),
    ("CriOS/", CHROME),
    ("Chromium/", CHROMIUM),
];

fn browser(ua: &str) -> (&'static str, String) {
    for &(token, name) in BROWSER_TOKENS {
        if let Some(version) = version_after(ua, token) {
            return (name, version);
        }
    }
    if let Some(version) = version_after(ua, "Chrome/") {
        // Android WebViews add "; wv)" to the platform; the "Version/4.0" form is older WebViews.
        let webview = ua.contains("; wv)") || (ua.contains("Android") && ua.contains("Version/"));
        return (if webview { ANDROID_WEBVIEW } else { CHROME }, version);
    }
    if ua.starts_with("Opera/") || ua.contains("Opera ") {
        let version = version_after(ua, "Version/").or_else(|| version_after(ua, "Opera/"));
        return (OPERA, version.unwrap_or_default());
    }
    if let Some(version) = version_after(ua, "MSIE ") {
        return (INTERNET_EXPLORER, version);
    }
    if ua.contains("Trident/") {
        return (INTERNET_EXPLORER, version_after(ua, "rv:").unwrap_or_default());
    }
    // Safari, and WKWebViews on Apple platforms that send no browser token at all.
    let apple = ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") || ua.contains("Macintosh");
    if ua.contains("AppleWebKit/") && (ua.contains("Safari/") || apple) {
        return (SAFARI, version_after(ua, "Version/").unwrap_or_default());
    }
    (UNKNOWN, String::new())
}

fn os(ua: &str) -> (&'static str, String) {
    if ua.contains("iPad") {
        return (IPADOS, version_after(ua, "CPU OS ").unwrap_or_default());
    }
    if ua.contains("iPhone") || ua.contains("iPod") {
        return (
            IOS,
            version_after(ua, "iPhone OS ")
                .or_else(|| version_after(ua, "CPU OS "))
                .unwrap_or_default(),
        );
    }
    if ua.contains("CrOS ") {
        return (CHROMEOS, String::new());
    }
    if ua.contains("Android") {
        return (ANDROID, version_after(ua, "Android ").unwrap_or_default());
    }
    if ua.contains("Windows") {
        let version = match ua.find("Windows NT ").map(|i| &ua[i + "Windows NT ".len()..]) {
            Some(v) if v.starts_with("10.0") => "10",
            Some(v) if v.starts_with("6.3") => "8.1",
            Some(v) if v.starts_with("6.2") => "8",
            Some(v) if v.starts_with("6.1") => "7",
            Some(v) if v.starts_with("6.0") => "Vista",
            Some(v) if v.starts_with("5.1") || v.starts_with("5.2") => "XP",
            _ => "",
        };
        return (WINDOWS, version.to_owned());
    }
    if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        return (MACOS, macos_version(ua));
    }
    if ua.contains("Linux") || ua.contains("X11") {
        return (LINUX, String::new());
    }
    (UNKNOWN, String::new())
}

/// "10.15" for `Mac OS X 10_15_7` (10.x minors were the releases), "14" for `Mac OS X 14_1`.
fn macos_version(ua: &str) -> String {
    let Some(start) = ua.find("Mac OS X ").map(|i| i + "Mac OS X ".len()) else {
        return String::new();
    };
    let mut parts = ua[start..]
        .split(['_', '.'])
        .map(|p| p.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""));
    match (parts.next(), parts.next()) {
        (Some("10"), Some(minor)) if !minor.is_empty() => format!("10.{minor}"),
        (Some(major), _) if !major.is_empty() => major.to_owned(),
        _ => String::new(),
    }
}

fn device(ua: &str, os: &str, screen_width: Option<u32>) -> Device {
    let by_width = screen_width
        .map(Device::from_screen_width)
        .filter(|d| *d != Device::Other);
    match os {
        IOS => Device::Mobile,
        IPADOS => Device::Tablet,
        // Phones send "Mobile"; tablets don't. A phone asking for the desktop site drops it too,
        // but its screen is narrow.
        ANDROID if ua.contains("Mobile") => Device::Mobile,
        ANDROID => match by_width {
            Some(Device::Mobile) => Device::Mobile,
            _ => Device::Tablet,
        },
        // "Request desktop site" on phones and iPads sends a desktop UA; no desktop screen is
        // narrower than 992 px, so a narrow screen wins.
        WINDOWS | MACOS | LINUX | CHROMEOS => match by_width {
            Some(d @ (Device::Mobile | Device::Tablet)) => d,
            _ => Device::Desktop,
        },
        _ if ua.contains("Tablet") => Device::Tablet,
        _ if ua.contains("Mobile") => Device::Mobile,
        _ => by_width.unwrap_or(Device::Other),
    }
}

/// The major version right after `token` (`"Chrome/"` in `"Chrome/120.0.1"` -> `"120"`), if the
/// token is there and followed by a digit.
fn version_after(ua: &str, token: &str) -> Option<String> {
    let rest = &ua[ua.find(token)? + token.len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(ua: &str, width: Option<u32>) -> (String, String, String, String, Device) {
        let c = parse_user_agent(ua, width);
        (c.browser, c.browser_version, c.os, c.os_version, c.device)
    }

    #[track_caller]
    fn check(ua: &str, width: Option<u32>, expected: (&str, &str, &str, &str, Device)) {
        let (b, bv, o, ov, d) = parse(ua, width);
        assert_eq!((b.as_str(), bv.as_str(), o.as_str(), ov.as_str(), d), expected, "{ua}");
    }

    use Device::*;

    #[test]
    fn desktop_browsers() {
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Some(1920), (CHROME, "131", WINDOWS, "10", Desktop));
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", None, (EDGE, "131", WINDOWS, "10", Desktop));
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0", None, (OPERA, "116", WINDOWS, "10", Desktop));
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            None,
            (FIREFOX, "133", WINDOWS, "10", Desktop),
        );
        check("Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36", None, (CHROME, "109", WINDOWS, "7", Desktop));
        check("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", Some(1512), (SAFARI, "18", MACOS, "10.15", Desktop));
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
            None,
            (FIREFOX, "133", MACOS, "10.15", Desktop),
        );
        check("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18", None, (VIVALDI, "7", MACOS, "10.15", Desktop));
        check(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            None,
            (CHROME, "131", LINUX, "", Desktop),
        );
        check(
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            None,
            (FIREFOX, "133", LINUX, "", Desktop),
        );
        check("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", None, (CHROME, "131", CHROMEOS, "", Desktop));
        check(
            "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko",
            None,
            (INTERNET_EXPLORER, "11", WINDOWS, "10", Desktop),
        );
    }

    #[test]
    fn apple_mobile_browsers() {
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", Some(390), (SAFARI, "17", IOS, "17", Mobile));
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Mobile/15E148 Safari/604.1", None, (SAFARI, "26", IOS, "26", Mobile));
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", None, (CHROME, "131", IOS, "17", Mobile));
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/132.0 Mobile/15E148 Safari/605.1.15", None, (FIREFOX, "132", IOS, "18", Mobile));
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15", None, (EDGE, "131", IOS, "17", Mobile));
        check("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", Some(820), (SAFARI, "17", IPADOS, "17", Tablet));
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/480.0.0.45.108;FBBV/641447408;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/80]", None, (FACEBOOK, "480", IOS, "17", Mobile));
        // Old iPhones' in-app WKWebView: no browser token.
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", None, (SAFARI, "", IOS, "16", Mobile));
    }

    #[test]
    fn android_browsers() {
        check("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", Some(412), (CHROME, "131", ANDROID, "10", Mobile));
        check("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", None, (SAMSUNG_INTERNET, "26", ANDROID, "14", Mobile));
        check(
            "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
            None,
            (FIREFOX, "133", ANDROID, "14", Mobile),
        );
        check("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", None, (EDGE, "131", ANDROID, "10", Mobile));
        check("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0", None, (OPERA, "86", ANDROID, "10", Mobile));
        check("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Some(800), (CHROME, "131", ANDROID, "13", Tablet));
        check("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36", None, (ANDROID_WEBVIEW, "127", ANDROID, "14", Mobile));
        check("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36 Instagram 346.0.0.34.95 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 8; shiba; shiba; en_US; 634108168)", None, (INSTAGRAM, "346", ANDROID, "14", Mobile));
        // A Cubot phone is not a bot, and its UA parses like any other Android phone.
        check("Mozilla/5.0 (Linux; Android 12; CUBOT P80) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", None, (CHROME, "131", ANDROID, "12", Mobile));
    }

    #[test]
    fn screen_width_settles_ambiguous_user_agents() {
        // Android tablet UA ("Mobile" missing), but a phone-sized screen: a phone in desktop mode.
        check("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Some(360), (CHROME, "131", ANDROID, "13", Mobile));
        // iPadOS Safari sends a Mac UA by default; Macs have no 820 px screens.
        let mac_safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15";
        assert_eq!(parse_user_agent(mac_safari, Some(820)).device, Tablet);
        assert_eq!(parse_user_agent(mac_safari, Some(1440)).device, Desktop);
        assert_eq!(parse_user_agent(mac_safari, None).device, Desktop);
        // Explicit mobile UAs win over the width.
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";
        assert_eq!(parse_user_agent(iphone, Some(1200)).device, Mobile);
        assert_eq!(Device::from_screen_width(575), Mobile);
        assert_eq!(Device::from_screen_width(576), Tablet);
        assert_eq!(Device::from_screen_width(992), Desktop);
    }

    #[test]
    fn unknown_and_empty_user_agents() {
        check("", None, (UNKNOWN, "", UNKNOWN, "", Other));
        check("", Some(1280), (UNKNOWN, "", UNKNOWN, "", Desktop));
        check("SomeApp/1.0", Some(400), (UNKNOWN, "", UNKNOWN, "", Mobile));
        check(
            "Mozilla/5.0 (Mobile; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
            None,
            (FIREFOX, "48", UNKNOWN, "", Mobile),
        );
        // Truncated tokens do not panic or invent versions.
        check(
            "Mozilla/5.0 (Windows NT 10.0) Chrome/",
            None,
            (UNKNOWN, "", WINDOWS, "10", Desktop),
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X ",
            None,
            (UNKNOWN, "", MACOS, "", Desktop),
        );
    }
}
