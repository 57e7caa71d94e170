//! A session's trail ([`crate::sessions::Session::trail`]) as SQLite keeps it
//! (`session_trails.trail`; MongoDB's session documents held it as this binary before they held
//! arrays a pipeline can read, and its migration reads it back): one record per step, in event
//! order,
//!
//! ```text
//! varint(at - previous at) rank varint(id length) id varint(value length) value
//! ```
//!
//! where the first step's "previous at" is the session's start (no step is earlier). A step is
//! about 30 bytes where the same step as JSON would be about 70: funnels and journeys scan the
//! trails of every session in a range, so their size is most of those queries' cost.

use crate::sessions::{EventKey, TrailStep};
use crate::Millis;

/// One decoded step, borrowing from the stored bytes: what the query functions read without
/// allocating per step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StepRef<'a> {
    pub at: Millis,
    pub rank: u8,
    pub id: &'a [u8],
    pub value: &'a [u8],
}

#[derive(Debug, thiserror::Error)]
#[error("malformed stored trail")]
pub struct BadTrail;

pub fn encode(start: Millis, trail: &[TrailStep]) -> Vec<u8> {
    let mut out = Vec::with_capacity(trail.iter().map(|s| 4 + s.key.id.len() + s.value.len()).sum());
    let mut previous = start;
    for step in trail {
        // A trail is sorted and starts at or after the session's start; `max` keeps a record
        // that broke that rule decodable instead of wrapping.
        put_varint(&mut out, (step.key.at - previous).max(0) as u64);
        previous = previous.max(step.key.at);
        out.push(step.key.rank);
        put_varint(&mut out, step.key.id.len() as u64);
        out.extend_from_slice(step.key.id.as_bytes());
        put_varint(&mut out, step.value.len() as u64);
        out.extend_from_slice(step.value.as_bytes());
    }
    out
}

pub fn decode(start: Millis, bytes: &[u8]) -> Result<Vec<TrailStep>, BadTrail> {
    steps(start, bytes)
        .map(|s| {
            let s = s?;
            Ok(TrailStep {
                key: EventKey {
                    at: s.at,
                    rank: s.rank,
                    id: std::str::from_utf8(s.id).map_err(|_| BadTrail)?.to_owned(),
                },
                value: std::str::from_utf8(s.value).map_err(|_| BadTrail)?.to_owned(),
            })
        })
        .collect()
}

/// The steps of a stored trail, in order.
pub fn steps(start: Millis, bytes: &[u8]) -> Steps<'_> {
    Steps {
        bytes,
        at: start,
        failed: false,
    }
}

pub struct Steps<'a> {
    bytes: &'a [u8],
    at: Millis,
    failed: bool,
}

impl<'a> Iterator for Steps<'a> {
    type Item = Result<StepRef<'a>, BadTrail>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.bytes.is_empty() || self.failed {
            return None;
        }
        let step = self.read();
        self.failed = step.is_none();
        Some(step.ok_or(BadTrail))
    }
}

impl<'a> Steps<'a> {
    fn read(&mut self) -> Option<StepRef<'a>> {
        let delta = i64::try_from(self.varint()?).ok()?;
        self.at = self.at.checked_add(delta)?;
        let (&rank, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        let id = self.take()?;
        let value = self.take()?;
        Some(StepRef {
            at: self.at,
            rank,
            id,
            value,
        })
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        for (i, &b) in self.bytes.iter().enumerate().take(10) {
            n |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                return Some(n);
            }
        }
        None
    }

    fn take(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.bytes.len() {
            return None;
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(taken)
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::{EVENT_RANK, PAGE_RANK};

    fn step(at: Millis, rank: u8, id: &str, value: &str) -> TrailStep {
        TrailStep {
            key: EventKey {
                at,
                rank,
                id: id.to_owned(),
            },
            value: value.to_owned(),
        }
    }

    #[test]
    fn round_trips_and_stays_small() {
        let start = 1_763_683_200_000;
        let trail = vec![
            step(start, PAGE_RANK, "0MZtq1Vx3kAbCdEf", "/"),
            step(start + 1, EVENT_RANK, "0MZtq1Vx3kAbCdEg", "signup"),
            step(start + 1, EVENT_RANK, "0MZtq1Vx3kAbCdEh", "signup"),
            step(start + 45 * 60_000, PAGE_RANK, "x", &"/long".repeat(100)),
        ];
        let bytes = encode(start, &trail);
        assert_eq!(decode(start, &bytes).unwrap(), trail);
        assert!(bytes.len() < 3 * 30 + 520, "{}", bytes.len());
        assert_eq!(decode(start, &[]).unwrap(), vec![]);
    }

    #[test]
    fn a_truncated_or_corrupt_trail_is_an_error_not_a_panic() {
        let start = 0;
        let bytes = encode(start, &[step(5, PAGE_RANK, "a", "/pricing")]);
        for cut in 1..bytes.len() {
            assert!(decode(start, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(start, &[0xff; 11]).is_err());
    }
}
