//! Enrichment shared by the edge and the collector's direct endpoint, so both compute the same
//! fields, and the same visitor id, for the same request.

pub mod bot;
pub mod source;
pub mod ua;
pub mod utm;
pub mod visitor;

pub use ua::{ClientInfo, Device};
pub use utm::Utm;
pub use visitor::{DailySalt, VisitorId};
