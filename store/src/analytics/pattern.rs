//! Page patterns: a path with `*` wildcards (`/docs/*`, `/blog/*/comments`), as goals and funnel
//! steps name pages. One definition ([`PagePattern::matches`]) with the translations each backend
//! needs (an anchored regular expression for MongoDB's `$regexMatch`, a `GLOB` for SQLite), so
//! every backend and the tests' brute force accept exactly the same paths.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest page pattern, bytes: the longest URL the contract accepts.
pub const MAX_PAGE_PATTERN_BYTES: usize = contract::limits::MAX_URL_BYTES;
/// Most `*` in one pattern: each one can make a match backtrack, so a handful is all a path
/// pattern needs.
pub const MAX_PAGE_PATTERN_WILDCARDS: usize = 8;

/// A page path, where `*` stands for any run of characters (none included, `/` included):
/// `/docs/*` matches `/docs/` and `/docs/a/b`, not `/docs`. Nothing else is special. Parsed
/// once ([`PagePattern::parse`]); the private field keeps every value valid.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PagePattern(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagePatternError {
    #[error("must start with '/'")]
    NoLeadingSlash,
    #[error("is longer than {MAX_PAGE_PATTERN_BYTES} bytes")]
    TooLong,
    #[error("has more than {MAX_PAGE_PATTERN_WILDCARDS} '*'")]
    TooManyWildcards,
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl PagePattern {
    pub fn parse(s: &str) -> Result<PagePattern, PagePatternError> {
        if !s.starts_with('/') {
            return Err(PagePatternError::NoLeadingSlash);
        }
        if s.len() > MAX_PAGE_PATTERN_BYTES {
            return Err(PagePatternError::TooLong);
        }
        if s.chars().filter(|&c| c == '*').count() > MAX_PAGE_PATTERN_WILDCARDS {
            return Err(PagePatternError::TooManyWildcards);
        }
        if s.chars().any(char::is_control) {
            return Err(PagePatternError::ControlCharacter);
        }
        Ok(PagePattern(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern has a wildcard (otherwise it matches one path, by equality).
    pub fn has_wildcard(&self) -> bool {
        self.0.contains('*')
    }

    /// Whether `path` matches: the reference semantics every backend implements.
    pub fn matches(&self, path: &str) -> bool {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = path.strip_prefix(first) else {
            return false;
        };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else {
            return rest.is_empty(); // no wildcard: the whole path
        };
        // Each middle part at its earliest place leaves the most room for the ones after it.
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }

    /// An anchored regular expression (Rust `regex` and MongoDB PCRE syntax alike) with the
    /// same matches.
    pub fn to_regex(&self) -> String {
        let parts: Vec<String> = self.0.split('*').map(regex::escape).collect();
        format!("^{}$", parts.join(".*"))
    }

    /// A SQLite `GLOB` pattern with the same matches: `*` stays, the characters `GLOB` treats
    /// as special (`?`, `[`) are bracketed. (GLOB is case-sensitive, as paths are.)
    pub fn to_glob(&self) -> String {
        let mut glob = String::with_capacity(self.0.len());
        for c in self.0.chars() {
            match c {
                '?' => glob.push_str("[?]"),
                '[' => glob.push_str("[[]"),
                c => glob.push(c),
            }
        }
        glob
    }
}

impl fmt::Display for PagePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PagePattern {
    type Error = PagePatternError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PagePattern::parse(&s)
    }
}

impl From<PagePattern> for String {
    fn from(p: PagePattern) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PagePattern {
        PagePattern::parse(s).unwrap()
    }

    #[test]
    fn parse_refuses_what_is_not_a_path_pattern() {
        assert_eq!(PagePattern::parse("docs"), Err(PagePatternError::NoLeadingSlash));
        assert_eq!(PagePattern::parse(""), Err(PagePatternError::NoLeadingSlash));
        assert_eq!(PagePattern::parse("/a\n"), Err(PagePatternError::ControlCharacter));
        assert_eq!(
            PagePattern::parse(&format!("/{}", "*".repeat(9))),
            Err(PagePatternError::TooManyWildcards)
        );
        assert_eq!(
            PagePattern::parse(&format!("/{}", "a".repeat(MAX_PAGE_PATTERN_BYTES))),
            Err(PagePatternError::TooLong)
        );
    }

    #[test]
    fn wildcards_match_any_run_of_characters() {
        assert!(p("/pricing").matches("/pricing"));
        assert!(!p("/pricing").matches("/pricing/"));
        assert!(p("/docs/*").matches("/docs/"));
        assert!(p("/docs/*").matches("/docs/a/b"));
        assert!(!p("/docs/*").matches("/docs"));
        assert!(p("/blog/*/comments").matches("/blog/x/y/comments"));
        assert!(!p("/blog/*/comments").matches("/blog/comments"));
        assert!(p("/*").matches("/"));
        assert!(p("/a*a").matches("/aa"));
        assert!(!p("/a*a").matches("/a"));
        assert!(p("/*x*y").matches("/yxy"));
        assert!(!p("/*x*y").matches("/yx"));
    }

    /// The regex and the glob agree with `matches` on tricky characters.
    #[test]
    fn translations_agree_with_matches() {
        let patterns = ["/a.b", "/a?b*", "/[x]*", "/*.html", "/a*a", "/(x)+", "/*x*y", "/d/*"];
        let paths = [
            "/a.b", "/axb", "/a?b", "/a?bc", "/[x]", "/[x]y", "/x", "/i.html", "/ihtml", "/aa", "/a", "/(x)+", "/yxy",
            "/d/", "/d",
        ];
        for pattern in patterns {
            let pat = p(pattern);
            let re = regex::Regex::new(&pat.to_regex()).unwrap();
            for path in paths {
                assert_eq!(re.is_match(path), pat.matches(path), "{pattern} regex on {path}");
            }
            assert!(!pat.to_glob().contains('?') || pat.to_glob().contains("[?]"));
        }
    }
}
