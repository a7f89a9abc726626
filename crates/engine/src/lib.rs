//! Platter's local block engine.
//!
//! A pool is a directory holding one data file of 4 KiB blocks, a metadata
//! checkpoint and a journal. Every device (volume or snapshot) is a
//! copy-on-write radix tree mapping virtual blocks to physical blocks with
//! their CRC-32C; snapshots and clones share trees, so they cost O(1).
//! Writes never overwrite a block another device or the last durable state
//! may still need: data goes to a free block, then the mapping changes
//! (journal first). See `docs/ENGINE.md` for the format and the reasoning.

mod backend;
mod checkpoint;
mod device;
mod io;
mod journal;
mod metrics;
mod pool;
mod refs;
mod scrub;
mod tree;

pub use io::DeviceIo;
pub use pool::{Pool, PoolOptions};
pub use scrub::{ScrubError, ScrubReport};

/// Bytes per block: the unit of mapping, allocation and checksums.
pub const BLOCK: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("device {0} does not exist")]
    NoDevice(String),
    #[error("device {0} already exists")]
    Exists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("checksum mismatch in {device} at offset {offset} (physical block {pblock})")]
    Checksum {
        device: String,
        offset: u64,
        pblock: u64,
    },
    #[error("I/O error on {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;
