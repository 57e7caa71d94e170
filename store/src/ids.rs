//! Ids of the collector's own records. Twelve bytes shown as 24 hex characters, minted like a
//! MongoDB ObjectId (4 bytes of seconds, 8 random bytes) so they sort roughly by creation and look
//! the same in both backends.

use contract::ids::ProjectId;
use std::fmt;

/// Twelve fresh bytes: the time in seconds, big-endian, then 8 random bytes.
pub fn mint(now_ms: crate::Millis) -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&((now_ms / 1000) as u32).to_be_bytes());
    bytes[4..].copy_from_slice(&rand::random::<[u8; 8]>());
    bytes
}

/// A new project id.
pub fn new_project_id(now_ms: crate::Millis) -> ProjectId {
    ProjectId::from_bytes(mint(now_ms))
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 12]);

        impl $name {
            pub fn new(now_ms: crate::Millis) -> Self {
                Self(mint(now_ms))
            }
            /// 24 hex characters, or `None`.
            pub fn parse(s: &str) -> Option<Self> {
                if s.len() != 24 {
                    return None;
                }
                contract::decode_hex(s)?.try_into().ok().map(Self)
            }
            pub fn from_bytes(bytes: [u8; 12]) -> Self {
                Self(bytes)
            }
            pub fn bytes(&self) -> [u8; 12] {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&contract::encode_hex(&self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

hex_id!(
    /// A saved funnel of a project.
    FunnelId
);
hex_id!(
    /// An owner account.
    UserId
);
hex_id!(
    /// An ingestion key's record (not the key itself).
    KeyId
);
hex_id!(
    /// A share link's record (the link's URL carries its [`crate::ShareSlug`], not this id).
    ShareId
);
hex_id!(
    /// A conversion goal of a project ([`crate::Goal`]).
    GoalId
);
hex_id!(
    /// A note on a date of a project's graph ([`crate::Annotation`]).
    AnnotationId
);
hex_id!(
    /// A saved set of dashboard filters of a project ([`crate::Segment`]).
    SegmentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_start_with_the_time() {
        let id = UserId::new(1_700_000_000_000);
        assert_eq!(UserId::parse(&id.to_string()), Some(id));
        assert_eq!(&id.to_string()[..8], format!("{:08x}", 1_700_000_000u32));
        assert_ne!(UserId::new(0), UserId::new(0));
        assert_eq!(KeyId::parse("xyz"), None);
        let share = ShareId::new(1_700_000_000_000);
        assert_eq!(ShareId::parse(&share.to_string()), Some(share));
    }
}
