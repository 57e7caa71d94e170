//! What the tracker needs to know about a URL, read from `location.href` (always absolute and
//! normalised by the browser) as UTF-16: scheme, host, path, query and fragment ranges, whether the
//! page is local, the route used to deduplicate navigations, the URL as sent (fragment only in
//! hash mode, `utm_*` only on the landing view) and what a clicked link is.

/// Index ranges of the parts of an absolute URL. `path` runs from the end of the authority to the
/// first `?` or `#`; `query` excludes the `?`, `fragment` the `#`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    pub scheme: (usize, usize),
    pub host: (usize, usize),
    pub path: (usize, usize),
    pub query: Option<(usize, usize)>,
    pub fragment: Option<(usize, usize)>,
}

const fn u(c: char) -> u16 {
    c as u16
}

fn find(s: &[u16], from: usize, stop: &[u16]) -> usize {
    s[from..]
        .iter()
        .position(|c| stop.contains(c))
        .map_or(s.len(), |i| from + i)
}

/// Splits an absolute URL. Anything without `scheme:` gives an empty scheme.
pub fn parts(s: &[u16]) -> Parts {
    let colon = s.iter().position(|&c| c == u(':'));
    let scheme_char = |&c: &u16| c < 128 && ((c as u8).is_ascii_alphanumeric() || b"+-.".contains(&(c as u8)));
    let scheme_end = colon.filter(|&i| i > 0 && s[..i].iter().all(scheme_char));
    let (scheme, mut at) = match scheme_end {
        Some(i) => ((0, i), i + 1),
        None => ((0, 0), 0),
    };
    let mut host = (at, at);
    if s[at..].starts_with(&[u('/'), u('/')]) {
        at += 2;
        let end = find(s, at, &[u('/'), u('?'), u('#')]);
        // Drop user info and port; keep an IPv6 literal's brackets.
        let start = s[at..end].iter().rposition(|&c| c == u('@')).map_or(at, |i| at + i + 1);
        let bracket = s[start..end]
            .iter()
            .rposition(|&c| c == u(']'))
            .map_or(start, |i| start + i);
        let host_end = s[bracket..end]
            .iter()
            .position(|&c| c == u(':'))
            .map_or(end, |i| bracket + i);
        host = (start, host_end);
        at = end;
    }
    let path_end = find(s, at, &[u('?'), u('#')]);
    let path = (at, path_end);
    let hash = find(s, path_end, &[u('#')]);
    let query = (path_end < s.len() && s[path_end] == u('?')).then_some((path_end + 1, hash));
    let fragment = (hash < s.len()).then_some((hash + 1, s.len()));
    Parts {
        scheme,
        host,
        path,
        query,
        fragment,
    }
}

fn eq_ascii_lower(a: &[u16], b: &str) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.bytes())
            .all(|(&x, y)| x < 128 && (x as u8).to_ascii_lowercase() == y)
}

fn slice(s: &[u16], r: (usize, usize)) -> &[u16] {
    &s[r.0..r.1]
}

pub fn is_http(s: &[u16], p: &Parts) -> bool {
    let scheme = slice(s, p.scheme);
    eq_ascii_lower(scheme, "http") || eq_ascii_lower(scheme, "https")
}

/// A page that is not on the public web: not `http(s)` (`file:`, extensions, `about:`), or on
/// `localhost`, a `*.localhost` name, a loopback or unspecified address.
pub fn is_local(s: &[u16]) -> bool {
    let p = parts(s);
    let host = slice(s, p.host);
    let ends_with =
        |suffix: &str| host.len() >= suffix.len() && eq_ascii_lower(&host[host.len() - suffix.len()..], suffix);
    let starts_with = |prefix: &str| host.len() >= prefix.len() && eq_ascii_lower(&host[..prefix.len()], prefix);
    !is_http(s, &p)
        || host.is_empty()
        || eq_ascii_lower(host, "localhost")
        || ends_with(".localhost")
        || starts_with("127.")
        || eq_ascii_lower(host, "[::1]")
        || eq_ascii_lower(host, "0.0.0.0")
}

/// The route of a page, which decides whether a navigation is a new page view: the path, plus the
/// fragment in hash mode. The query never counts (filters, pagination, tracking parameters).
pub fn route(s: &[u16], hash_mode: bool) -> (&[u16], &[u16]) {
    let p = parts(s);
    let fragment = match p.fragment {
        Some(f) if hash_mode => slice(s, f),
        _ => &[],
    };
    (slice(s, p.path), fragment)
}

fn is_utm(param: &[u16]) -> bool {
    param.len() >= 4 && eq_ascii_lower(&param[..4], "utm_")
}

/// Writes the URL as it is sent into `out` (UTF-16, at most `out.len()` units) and returns its
/// length: without the fragment unless in hash mode, and without `utm_*` query parameters when
/// `strip_utm` (only the view a visitor landed on carries the campaign).
pub fn page_url(s: &[u16], hash_mode: bool, strip_utm: bool, out: &mut [u16]) -> usize {
    let p = parts(s);
    let mut n = 0;
    let mut push = |part: &[u16], n: &mut usize| {
        let take = part.len().min(out.len() - *n);
        out[*n..*n + take].copy_from_slice(&part[..take]);
        *n += take;
    };
    push(&s[..p.path.1], &mut n);
    if let Some(q) = p.query {
        let mut first = true;
        for param in slice(s, q).split(|&c| c == u('&')) {
            if param.is_empty() || (strip_utm && is_utm(param)) {
                continue;
            }
            let sep = [if first { u('?') } else { u('&') }];
            push(&sep, &mut n);
            push(param, &mut n);
            first = false;
        }
    }
    if let Some(f) = p.fragment.filter(|_| hash_mode) {
        push(&s[f.0 - 1..f.1], &mut n);
    }
    n
}

/// What a click on a link to `href` is, on the page `page`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// A file to download (by its extension), wherever it is.
    Download,
    /// A page on another host.
    Outbound,
    Internal,
}

/// Extensions counted as downloads, as Plausible's default list.
const DOWNLOADS: &[&str] = &[
    "pdf", "xlsx", "docx", "txt", "rtf", "csv", "exe", "key", "pps", "ppt", "pptx", "7z", "pkg", "rar", "gz", "zip",
    "avi", "mov", "mp4", "mpeg", "wmv", "midi", "mp3", "wav", "wma", "dmg", "iso", "msi",
];

pub fn link(href: &[u16], page: &[u16]) -> Link {
    let p = parts(href);
    if !is_http(href, &p) {
        return Link::Internal;
    }
    let path = slice(href, p.path);
    let file = path.rsplit(|&c| c == u('/')).next().unwrap_or(&[]);
    if let Some(dot) = file.iter().rposition(|&c| c == u('.')) {
        let ext = &file[dot + 1..];
        if DOWNLOADS.iter().any(|d| eq_ascii_lower(ext, d)) {
            return Link::Download;
        }
    }
    let page_host = slice(page, parts(page).host);
    let host = slice(href, p.host);
    let same = host.len() == page_host.len()
        && host
            .iter()
            .zip(page_host)
            .all(|(&a, &b)| a == b || (a < 128 && b < 128 && (a as u8).eq_ignore_ascii_case(&(b as u8))));
    if same {
        Link::Internal
    } else {
        Link::Outbound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn s(u: &[u16]) -> String {
        String::from_utf16(u).unwrap()
    }

    #[test]
    fn splits_urls() {
        let url = w("https://user:pw@www.Example.com:8443/a/b?x=1&y=2#/route");
        let p = parts(&url);
        assert_eq!(s(slice(&url, p.scheme)), "https");
        assert_eq!(s(slice(&url, p.host)), "www.Example.com");
        assert_eq!(s(slice(&url, p.path)), "/a/b");
        assert_eq!(s(slice(&url, p.query.unwrap())), "x=1&y=2");
        assert_eq!(s(slice(&url, p.fragment.unwrap())), "/route");
        let v6 = w("http://[::1]:8080/");
        assert_eq!(s(slice(&v6, parts(&v6).host)), "[::1]");
        let file = w("file:///home/me/index.html");
        let p = parts(&file);
        assert_eq!(
            (
                s(slice(&file, p.scheme)),
                s(slice(&file, p.host)),
                s(slice(&file, p.path))
            ),
            ("file".into(), "".into(), "/home/me/index.html".into())
        );
        let bare = w("https://example.com");
        assert_eq!(parts(&bare).path, (19, 19));
        assert_eq!(parts(&bare).query, None);
    }

    #[test]
    fn local_pages() {
        for local in [
            "file:///index.html",
            "http://localhost:3000/",
            "http://LOCALHOST/",
            "http://app.localhost/",
            "http://127.0.0.1:8080/x",
            "http://[::1]/",
            "http://0.0.0.0/",
            "chrome-extension://abc/page.html",
            "about:blank",
        ] {
            assert!(is_local(&w(local)), "{local}");
        }
        for public in [
            "https://example.com/",
            "http://192.168.1.10/",
            "https://localhost.example.com/",
            "https://x.org/127.0.0.1",
        ] {
            assert!(!is_local(&w(public)), "{public}");
        }
    }

    #[test]
    fn routes_ignore_the_query_and_anchors_unless_hash_mode() {
        let a = w("https://x.org/a?page=2#top");
        let (p, f) = route(&a, false);
        assert_eq!((s(p), s(f)), ("/a".into(), "".into()));
        let b = w("https://x.org/#/settings?tab=1");
        let (p, f) = route(&b, true);
        assert_eq!((s(p), s(f)), ("/".into(), "/settings?tab=1".into()));
    }

    fn url(href: &str, hash: bool, strip: bool) -> String {
        let mut out = [0u16; 200];
        let n = page_url(&w(href), hash, strip, &mut out);
        s(&out[..n])
    }

    #[test]
    fn urls_as_sent() {
        let href = "https://x.org/p?utm_source=news&a=1&UTM_campaign=x&&b=2#/r";
        assert_eq!(
            url(href, false, false),
            "https://x.org/p?utm_source=news&a=1&UTM_campaign=x&b=2"
        );
        assert_eq!(url(href, false, true), "https://x.org/p?a=1&b=2");
        assert_eq!(url(href, true, true), "https://x.org/p?a=1&b=2#/r");
        assert_eq!(url("https://x.org/?utm_source=a", true, true), "https://x.org/");
        assert_eq!(url("https://x.org/#", true, false), "https://x.org/#");
        let mut small = [0u16; 5];
        assert_eq!(page_url(&w("https://x.org/"), false, false, &mut small), 5);
    }

    #[test]
    fn links() {
        let page = w("https://www.example.com/docs");
        assert_eq!(link(&w("https://other.org/"), &page), Link::Outbound);
        assert_eq!(link(&w("https://WWW.example.com/pricing"), &page), Link::Internal);
        assert_eq!(link(&w("https://www.example.com:8443/x"), &page), Link::Internal);
        assert_eq!(
            link(&w("https://cdn.example.com/report.PDF?v=2"), &page),
            Link::Download
        );
        assert_eq!(
            link(&w("https://www.example.com/files/a.tar.gz"), &page),
            Link::Download
        );
        assert_eq!(link(&w("mailto:hi@example.com"), &page), Link::Internal);
        assert_eq!(link(&w("javascript:void(0)"), &page), Link::Internal);
        assert_eq!(link(&w("https://www.example.com/v1.2/"), &page), Link::Internal);
    }
}
