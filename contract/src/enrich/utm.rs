//! UTM parameters from the page URL.
use serde::{Deserialize, Serialize};
use url::Url;

use crate::enriched::truncate;

/// Longest UTM value kept, in bytes; longer values are cut on a character boundary (Plausible's
/// limit: campaign names are short, and a long value is an attack or a tracking blob).
pub const MAX_UTM_VALUE_BYTES: usize = 300;

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Utm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl Utm {
    /// The `utm_*` parameters of `url`: the first occurrence of each, percent-decoded (`+` is a
    /// space), trimmed and cut to [`MAX_UTM_VALUE_BYTES`]; empty values count as absent. Parameter
    /// names are case-sensitive, as in Google Analytics. Without a `utm_source`, `source` falls
    /// back to `ref`, then `source`.
    pub fn from_url(url: &Url) -> Self {
        if url.query().is_none() {
            return Self::default();
        }
        // Per parameter: `None` until seen, then its first value (itself `None` when empty), like
        // `URLSearchParams.get`.
        let mut first: [Option<Option<String>>; PARAMS.len()] = Default::default();
        for (key, value) in url.query_pairs() {
            if let Some(i) = PARAMS.iter().position(|p| *p == key) {
                first[i].get_or_insert_with(|| clean(&value));
            }
        }
        let [source, medium, campaign, term, content, fallback @ ..] = first.map(Option::flatten);
        Self {
            source: source.or_else(|| fallback.into_iter().flatten().next()),
            medium,
            campaign,
            term,
            content,
        }
    }
}

/// The parameters read, in the order of [`Utm`]'s fields, then the stand-ins for a missing
/// `utm_source`, in order of preference: Plausible reads `ref` (Product Hunt, newsletters and
/// many sites link with `?ref=name`); `source` is the other common spelling.
const PARAMS: [&str; 7] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "ref",
    "source",
];

/// Trimmed and cut to [`MAX_UTM_VALUE_BYTES`]; `None` when nothing is left.
fn clean(value: &str) -> Option<String> {
    let value = truncate(value.trim(), MAX_UTM_VALUE_BYTES).trim_end();
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utm(url: &str) -> Utm {
        Utm::from_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn reads_all_five_parameters_decoded() {
        let u = utm("https://shop.io/?utm_source=news%20letter&utm_medium=email&utm_campaign=black+friday&utm_term=shoes&utm_content=h%C3%A9ro&x=1");
        assert_eq!(u.source.as_deref(), Some("news letter"));
        assert_eq!(u.medium.as_deref(), Some("email"));
        assert_eq!(u.campaign.as_deref(), Some("black friday"));
        assert_eq!(u.term.as_deref(), Some("shoes"));
        assert_eq!(u.content.as_deref(), Some("héro"));
        assert_eq!(utm("https://shop.io/"), Utm::default());
        assert_eq!(utm("https://shop.io/?a=1#utm_source=x"), Utm::default());
    }

    #[test]
    fn first_occurrence_counts_trimmed_and_empty_is_absent() {
        let u =
            utm("https://shop.io/?utm_source=%20first%20&utm_source=second&utm_medium=&utm_campaign=%20%20&UTM_TERM=x");
        assert_eq!(u.source.as_deref(), Some("first"));
        assert_eq!((u.medium, u.campaign, u.term), (None, None, None));
        // The first occurrence counts, even when it is empty.
        assert_eq!(utm("https://shop.io/?utm_medium=&utm_medium=email").medium, None);
        assert_eq!(
            utm("https://shop.io/?utm_source=&ref=a&ref=b").source.as_deref(),
            Some("a")
        );
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let u = utm(&format!("https://shop.io/?utm_campaign={long}"));
        let campaign = u.campaign.unwrap();
        assert_eq!(campaign.len(), 300);
        assert!(campaign.chars().all(|c| c == 'é'));
        let spaced = format!("https://shop.io/?utm_term={}+{}", "a".repeat(299), "b".repeat(10));
        assert_eq!(utm(&spaced).term.unwrap(), "a".repeat(299));
    }

    #[test]
    fn ref_and_source_stand_in_for_a_missing_utm_source() {
        assert_eq!(
            utm("https://shop.io/?ref=producthunt").source.as_deref(),
            Some("producthunt")
        );
        assert_eq!(
            utm("https://shop.io/?source=newsletter").source.as_deref(),
            Some("newsletter")
        );
        assert_eq!(
            utm("https://shop.io/?source=newsletter&ref=producthunt")
                .source
                .as_deref(),
            Some("producthunt")
        );
        assert_eq!(
            utm("https://shop.io/?ref=producthunt&utm_source=google")
                .source
                .as_deref(),
            Some("google")
        );
        assert_eq!(utm("https://shop.io/?utm_source=&ref=hn").source.as_deref(), Some("hn"));
        assert_eq!(utm("https://shop.io/?ref=hn").medium, None);
    }
}
