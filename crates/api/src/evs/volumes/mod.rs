//! `cloudvolumes`: create (v2.1, v2, v3), list, show, update, delete,
//! extend (single and batch), unsubscribe, retype and QoS, one file per
//! concern.

mod actions;
mod create;
mod parse;
mod read;

pub use actions::*;
pub use create::*;
pub use read::*;
