//! Annotations: an owner's notes on dates of a site's graph ("launched the new pricing page").
//! A note belongs to a local date of the site's time zone, so it stays on its day whatever
//! interval or time zone the graph is read in.

use chrono::NaiveDate;
use contract::ids::ProjectId;

use crate::{AnnotationId, Millis};

/// Most annotations one project may have. The dashboard reads them all with each graph, so
/// this bounds that read; a note a day for almost three years is far more than a graph shows.
pub const MAX_ANNOTATIONS_PER_PROJECT: usize = 1000;
/// Longest note, in characters: a line under a graph, not a document.
pub const MAX_ANNOTATION_CHARS: usize = 200;
/// The dates a note may have: those a query's range may cover.
const FIRST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
const END_DATE: NaiveDate = NaiveDate::from_ymd_opt(2100, 1, 1).expect("a valid date");

/// Why a note's text or date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    #[error("is empty: write what happened that day")]
    Empty,
    #[error("has {0} characters; at most {MAX_ANNOTATION_CHARS} are allowed")]
    TooLong(usize),
    #[error("contains a control character (a note is one line of text)")]
    Control,
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    NotADate(String),
    #[error("must lie between {FIRST_DATE} and {END_DATE}")]
    OutOfRange,
}

/// A note's text: trimmed, one line, 1 to [`MAX_ANNOTATION_CHARS`] characters.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AnnotationText(String);

impl AnnotationText {
    pub fn parse(text: &str) -> Result<AnnotationText, AnnotationError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AnnotationError::Empty);
        }
        let chars = text.chars().count();
        if chars > MAX_ANNOTATION_CHARS {
            return Err(AnnotationError::TooLong(chars));
        }
        if text.chars().any(char::is_control) {
            return Err(AnnotationError::Control);
        }
        Ok(AnnotationText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The local date a note is on (`2026-11-03`), between 2000 and 2099 like a query's range.
pub fn parse_annotation_date(s: &str) -> Result<NaiveDate, AnnotationError> {
    let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| AnnotationError::NotADate(s.to_owned()))?;
    if date < FIRST_DATE || date >= END_DATE {
        return Err(AnnotationError::OutOfRange);
    }
    Ok(date)
}

/// A note on one local date of a project's graph.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Annotation {
    pub id: AnnotationId,
    pub project: ProjectId,
    pub date: NaiveDate,
    pub text: AnnotationText,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_one_trimmed_line_of_bounded_length() {
        assert_eq!(AnnotationText::parse("  Launched v2 ").unwrap().as_str(), "Launched v2");
        assert_eq!(AnnotationText::parse(" \t "), Err(AnnotationError::Empty));
        assert_eq!(AnnotationText::parse("a\nb"), Err(AnnotationError::Control));
        let longest = "é".repeat(MAX_ANNOTATION_CHARS);
        assert!(AnnotationText::parse(&longest).is_ok(), "characters, not bytes");
        assert_eq!(
            AnnotationText::parse(&format!("{longest}x")),
            Err(AnnotationError::TooLong(MAX_ANNOTATION_CHARS + 1))
        );
    }

    #[test]
    fn dates_are_calendar_dates_of_the_query_range() {
        assert_eq!(
            parse_annotation_date("2026-11-03").unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()
        );
        assert!(matches!(
            parse_annotation_date("2026-02-30"),
            Err(AnnotationError::NotADate(_))
        ));
        assert!(matches!(
            parse_annotation_date("3 Nov"),
            Err(AnnotationError::NotADate(_))
        ));
        assert_eq!(parse_annotation_date("1999-12-31"), Err(AnnotationError::OutOfRange));
        assert_eq!(parse_annotation_date("2100-01-01"), Err(AnnotationError::OutOfRange));
    }
}
