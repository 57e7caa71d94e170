//! Unit tests of the crate, one file per module.

mod goals;
mod range;
mod request;
mod response;
mod time;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use store::Millis;

pub const PROJECT: &str = "0123456789abcdef01234567";
pub const NY: Tz = chrono_tz::America::New_York;
pub const KOLKATA: Tz = chrono_tz::Asia::Kolkata;
pub const UTC: Tz = chrono_tz::UTC;

/// An RFC 3339 instant in ms.
pub fn ms(s: &str) -> Millis {
    chrono::DateTime::parse_from_rfc3339(s).expect(s).timestamp_millis()
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect(s)
}

pub fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").expect(s)
}

pub const HOUR: Millis = 3_600_000;
