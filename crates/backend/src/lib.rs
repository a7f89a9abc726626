//! The seam between Platter's control plane and its data.
//!
//! [`StorageBackend`] is what the job runner calls to create, clone, snapshot,
//! extend and delete volumes; [`VolumeIo`] is what the data path (NBD, import,
//! export) reads and writes through. Methods are blocking: callers on an async
//! runtime run them on a blocking thread.
//!
//! Every mutating method is idempotent, because durable jobs re-run a step
//! after a crash: creating what exists already, or deleting what is gone, is
//! success.

mod datapath;
mod memory;
mod mirror;
mod registry;
mod sparse_file;
mod unavailable;

use std::sync::Arc;

pub use datapath::{DataPath, DataPathEndpoint, ExportSpec, IoDirection, Qos};
pub use memory::MemoryBackend;
pub use mirror::Mirror;
pub use registry::{BackendPool, BackendRegistry, DEFAULT_POOL, HOST};
pub use sparse_file::SparseFileBackend;
pub use unavailable::Unavailable;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("volume {0} does not exist in the backend")]
    VolumeNotFound(String),
    #[error("snapshot {0} does not exist in the backend")]
    SnapshotNotFound(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Stored bytes do not match their checksum: never returned as data.
    #[error("checksum mismatch in {object} at offset {offset}")]
    Checksum { object: String, offset: u64 },
    #[error("I/O error on {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl BackendError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        BackendError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type BackendResult<T> = Result<T, BackendError>;

/// Capacity of a backend's pool, for capacity and quota views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Bytes the pool could hold in all.
    pub total_bytes: u64,
    /// Bytes still free.
    pub free_bytes: u64,
    /// Bytes actually allocated to volumes and snapshots.
    pub allocated_bytes: u64,
    /// Sum of the provisioned sizes of all volumes.
    pub provisioned_bytes: u64,
}

/// What a backend can do, declared by each backend and shown in the
/// capacity views (Cinder's pool capabilities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Volumes take space only as data is written.
    pub thin_provisioning: bool,
    /// Snapshots cost O(1), whatever the volume holds.
    pub instant_snapshots: bool,
    /// [`StorageBackend::rollback_volume`] is supported.
    pub rollback: bool,
    /// Volumes can be cloned from volumes and snapshots.
    pub clone: bool,
    /// [`StorageBackend::create_group_snapshot`] snapshots several volumes
    /// at one point in time (else it takes a single volume only).
    pub consistent_group_snapshots: bool,
}

/// One device a backend holds, as listed for management (Cinder's
/// manageable volumes and snapshots): the id it is known by and its size
/// in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub id: String,
    pub size: u64,
}

/// A data store for volumes and snapshots. Sizes are in bytes.
pub trait StorageBackend: Send + Sync + 'static {
    /// A short name for logs and capacity views (`sparse-file`, `local`, `rbd`).
    fn name(&self) -> &'static str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Creates an empty volume that reads as zeros.
    fn create_volume(&self, volume_id: &str, size: u64) -> BackendResult<()>;

    /// Creates a volume holding exactly the snapshot's bytes, then grown to `size`.
    fn clone_from_snapshot(
        &self,
        snapshot_id: &str,
        volume_id: &str,
        size: u64,
    ) -> BackendResult<()>;

    /// Creates a volume holding exactly the source volume's bytes at this
    /// moment, then grown to `size`.
    fn clone_from_volume(&self, source_id: &str, volume_id: &str, size: u64) -> BackendResult<()>;

    /// Deletes a volume and frees its space. Deleting a missing volume succeeds.
    fn delete_volume(&self, volume_id: &str) -> BackendResult<()>;

    /// Takes an immutable point-in-time snapshot of a volume.
    fn create_snapshot(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()>;

    /// Deletes a snapshot. Deleting a missing snapshot succeeds.
    fn delete_snapshot(&self, snapshot_id: &str) -> BackendResult<()>;

    /// Snapshots several volumes of this backend at one point in time: for
    /// each `(volume_id, snapshot_id)`, what [`StorageBackend::create_snapshot`]
    /// does, under one write barrier, so that no write is acknowledged to
    /// one member after its cut and before another member's. Every write
    /// that completed before the call is in its volume's snapshot; none
    /// that started after it is in any.
    ///
    /// Idempotent for a set: if every snapshot exists, nothing is done; if
    /// only some do (a crash in the middle), they are taken again, all
    /// together, so a set never mixes two instants.
    ///
    /// The default is for backends that have no such barrier: one member is
    /// just a snapshot; several are refused rather than taken one after the
    /// other at different instants. Backends that override it declare
    /// [`Capabilities::consistent_group_snapshots`].
    fn create_group_snapshot(&self, members: &[(String, String)]) -> BackendResult<()> {
        match members {
            [] => Ok(()),
            [(volume_id, snapshot_id)] => self.create_snapshot(volume_id, snapshot_id),
            _ => Err(BackendError::Invalid(format!(
                "the {} backend cannot snapshot {} volumes at one point in time",
                self.name(),
                members.len()
            ))),
        }
    }

    /// Makes the volume's content the snapshot's (sizes: the volume keeps its own).
    fn rollback_volume(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()>;

    /// Grows a volume, keeping its data. Shrinking is refused; growing to the
    /// current size succeeds (idempotent).
    fn extend_volume(&self, volume_id: &str, new_size: u64) -> BackendResult<()>;

    /// Whether the volume exists in the backend.
    fn volume_exists(&self, volume_id: &str) -> BackendResult<bool>;

    /// Opens a volume for I/O.
    fn open_volume(&self, volume_id: &str) -> BackendResult<Arc<dyn VolumeIo>>;

    /// Opens a snapshot read-only.
    fn open_snapshot(&self, snapshot_id: &str) -> BackendResult<Arc<dyn VolumeIo>>;

    fn pool_stats(&self) -> BackendResult<PoolStats>;

    /// Every volume device the backend holds, tracked or not, sorted by id.
    fn list_volumes(&self) -> BackendResult<Vec<DeviceInfo>>;

    /// Every snapshot device the backend holds, sorted by id.
    fn list_snapshots(&self) -> BackendResult<Vec<DeviceInfo>>;

    /// Gives the volume device `from` the id `to`, keeping its bytes (what
    /// managing an existing volume under a new id does). Atomic: after a
    /// crash the device has one of the two names, never both or neither.
    /// Idempotent: when `to` exists and `from` does not, the rename is done.
    /// Renaming onto an existing device is refused; a missing `from` (and
    /// `to`) is [`BackendError::VolumeNotFound`].
    fn rename_volume(&self, from: &str, to: &str) -> BackendResult<()>;

    /// [`StorageBackend::rename_volume`] for a snapshot device
    /// ([`BackendError::SnapshotNotFound`] when neither exists).
    fn rename_snapshot(&self, from: &str, to: &str) -> BackendResult<()>;

    /// The byte ranges `(offset, len)` of snapshot `snapshot_id` that may
    /// differ from the earlier snapshot `base_id` of the same volume (an
    /// incremental backup reads only these), in order; `None` when the
    /// backend cannot tell (then everything may differ). The default
    /// cannot tell.
    fn changed_ranges(
        &self,
        _base_id: &str,
        _snapshot_id: &str,
    ) -> BackendResult<Option<Vec<(u64, u64)>>> {
        Ok(None)
    }
}

/// Block I/O on one open volume or snapshot. Safe to share across threads.
pub trait VolumeIo: Send + Sync {
    fn size(&self) -> BackendResult<u64>;
    fn read_at(&self, buf: &mut [u8], offset: u64) -> BackendResult<()>;
    fn write_at(&self, buf: &[u8], offset: u64) -> BackendResult<()>;
    /// Makes the range read as zeros.
    fn write_zeroes(&self, offset: u64, len: u64) -> BackendResult<()>;
    /// Discards the range: it reads as zeros afterwards and its space may be freed.
    fn trim(&self, offset: u64, len: u64) -> BackendResult<()>;
    /// Makes every acknowledged write durable.
    fn flush(&self) -> BackendResult<()>;

    /// Which parts of `offset..offset+len` hold data (`true`) or read as
    /// zeros without storage (`false`), as runs of `(length, allocated)`.
    /// The default says everything is allocated.
    fn allocation(&self, _offset: u64, len: u64) -> BackendResult<Vec<(u64, bool)>> {
        Ok(vec![(len, true)])
    }

    /// Makes the range read as zeros *and* stay allocated (NBD's NO_HOLE).
    /// The default writes zero bytes.
    fn write_zeroes_allocated(&self, offset: u64, len: u64) -> BackendResult<()> {
        const CHUNK: u64 = 1 << 20;
        let zeros = vec![0u8; CHUNK.min(len) as usize];
        let mut pos = offset;
        while pos < offset + len {
            let n = CHUNK.min(offset + len - pos);
            self.write_at(&zeros[..n as usize], pos)?;
            pos += n;
        }
        Ok(())
    }
}

/// Total and available bytes of the filesystem holding `path`.
pub fn fs_capacity(path: &std::path::Path) -> BackendResult<(u64, u64)> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| BackendError::Invalid("path contains NUL".into()))?;
    // SAFETY: statvfs fills the zeroed struct; the path is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(BackendError::io(
            path.display().to_string(),
            std::io::Error::last_os_error(),
        ));
    }
    let frsize = st.f_frsize as u64;
    Ok((st.f_blocks as u64 * frsize, st.f_bavail as u64 * frsize))
}

/// Ids become file and object names: only UUID-like ids are accepted.
pub fn check_id(id: &str) -> BackendResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(BackendError::Invalid(format!("bad object id {id:?}")))
    }
}
