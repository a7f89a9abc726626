//! [`RbdBackend`]: Platter's storage seam over an RBD pool, named as
//! Cinder's RBD driver names things: volume `<id>` is image `volume-<id>`,
//! snapshot `<id>` is snapshot `snapshot-<id>` of its volume's image.
//!
//! The seam gives only a snapshot's id, so each snapshot has a small RADOS
//! object, `platter-snapshot.<id>`, naming its volume (written before the
//! snapshot, removed after it: an object without its snapshot is a
//! snapshot that is gone).
//!
//! Clones use clone format 2 (the cluster's `rbd_default_clone_format`
//! `auto` with `require-min-compat-client mimic` or later): no protection,
//! and a snapshot with clones can be deleted (RBD moves it to its trash
//! until the last clone goes). A volume that cannot be removed because
//! clones still hang on its snapshots is hidden as `volume-<id>.deleted`
//! and removed by a later delete once they are gone. Rollback is RBD's: it
//! rewrites every object of the image, so it costs time in proportion to
//! the volume's size (DESIGN §3's "state the cost honestly").

use std::sync::Arc;

use platter_backend::{
    BackendError, BackendResult, Capabilities, DeviceInfo, PoolStats, StorageBackend, VolumeIo,
};

use crate::{Cluster, Image, Pool, RbdError, FEATURE_LAYERING};

const EBUSY: i32 = 16;
const ENOENT: i32 = 2;
const EEXIST: i32 = 17;
const ENOTEMPTY: i32 = 39;
/// Suffix of a deleted volume kept for its clones.
const DELETED: &str = ".deleted";

fn image(volume_id: &str) -> String {
    format!("volume-{volume_id}")
}

fn snap(snapshot_id: &str) -> String {
    format!("snapshot-{snapshot_id}")
}

fn marker(snapshot_id: &str) -> String {
    format!("platter-snapshot.{snapshot_id}")
}

fn err(e: RbdError) -> BackendError {
    BackendError::Invalid(e.to_string())
}

/// A volume store in one RBD pool.
pub struct RbdBackend {
    cluster: Cluster,
    pool: Pool,
}

impl RbdBackend {
    /// Connects as client `client` (e.g. `admin`) with `ceph_conf` and uses
    /// the RBD pool `pool`.
    pub fn connect(ceph_conf: &str, client: &str, pool: &str) -> BackendResult<RbdBackend> {
        let cluster = Cluster::connect(ceph_conf, client).map_err(err)?;
        let pool = cluster.pool(pool).map_err(err)?;
        Ok(RbdBackend { cluster, pool })
    }

    fn open(&self, volume_id: &str) -> BackendResult<Image> {
        platter_backend::check_id(volume_id)?;
        self.pool
            .open(&image(volume_id), None)
            .map_err(|e| match e.errno() {
                Some(ENOENT) => BackendError::VolumeNotFound(volume_id.to_string()),
                _ => err(e),
            })
    }

    /// The volume a snapshot belongs to, if the snapshot exists.
    fn snapshot_volume(&self, snapshot_id: &str) -> BackendResult<Option<String>> {
        platter_backend::check_id(snapshot_id)?;
        let Some(bytes) = self
            .pool
            .get_object(&marker(snapshot_id), 256)
            .map_err(err)?
        else {
            return Ok(None);
        };
        let volume = String::from_utf8_lossy(&bytes).into_owned();
        let exists = match self.open(&volume) {
            Ok(img) => img
                .snapshots()
                .map_err(err)?
                .iter()
                .any(|s| s.name == snap(snapshot_id)),
            Err(BackendError::VolumeNotFound(_)) => false,
            Err(e) => return Err(e),
        };
        Ok(exists.then_some(volume))
    }

    /// Removes hidden volumes whose clones are gone.
    fn purge_deleted(&self) -> BackendResult<()> {
        for name in self.pool.list().map_err(err)? {
            if name.ends_with(DELETED) {
                if let Err(e) = self.pool.remove(&name) {
                    if !matches!(e.errno(), Some(EBUSY | ENOTEMPTY)) {
                        return Err(err(e));
                    }
                }
            }
        }
        Ok(())
    }

    fn grow(&self, volume_id: &str, size: u64) -> BackendResult<()> {
        let img = self.open(volume_id)?;
        if img.size().map_err(err)? < size {
            img.resize(size).map_err(err)?;
        }
        Ok(())
    }
}

impl StorageBackend for RbdBackend {
    fn name(&self) -> &'static str {
        "rbd"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            thin_provisioning: true,
            instant_snapshots: true,
            rollback: true,
            clone: true,
            consistent_group_snapshots: false,
        }
    }

    fn create_volume(&self, volume_id: &str, size: u64) -> BackendResult<()> {
        platter_backend::check_id(volume_id)?;
        match self.pool.create(&image(volume_id), size) {
            // A repeated create (a job re-driven) finds its image.
            Err(e) if e.errno() == Some(EEXIST) => Ok(()),
            other => other.map_err(err),
        }
    }

    fn clone_from_snapshot(
        &self,
        snapshot_id: &str,
        volume_id: &str,
        size: u64,
    ) -> BackendResult<()> {
        platter_backend::check_id(volume_id)?;
        let parent = self
            .snapshot_volume(snapshot_id)?
            .ok_or_else(|| BackendError::SnapshotNotFound(snapshot_id.to_string()))?;
        match self.pool.clone_from(
            &image(&parent),
            &snap(snapshot_id),
            &image(volume_id),
            FEATURE_LAYERING,
        ) {
            Err(e) if e.errno() == Some(EEXIST) => {}
            other => other.map_err(err)?,
        }
        self.grow(volume_id, size)
    }

    fn clone_from_volume(&self, source_id: &str, volume_id: &str, size: u64) -> BackendResult<()> {
        platter_backend::check_id(volume_id)?;
        // A snapshot of the instant, cloned, then deleted: RBD keeps it in
        // its trash while the clone needs it.
        let src = self.open(source_id)?;
        let temp = format!("clone-source-{volume_id}");
        if !src.snapshots().map_err(err)?.iter().any(|s| s.name == temp) {
            src.snap_create(&temp).map_err(err)?;
        }
        match self.pool.clone_from(
            &image(source_id),
            &temp,
            &image(volume_id),
            FEATURE_LAYERING,
        ) {
            Err(e) if e.errno() == Some(EEXIST) => {}
            other => other.map_err(err)?,
        }
        src.snap_remove(&temp).map_err(err)?;
        self.grow(volume_id, size)
    }

    fn delete_volume(&self, volume_id: &str) -> BackendResult<()> {
        platter_backend::check_id(volume_id)?;
        let name = image(volume_id);
        match self.pool.remove(&name) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(ENOENT) => {}
            // Clones still read from its (trashed) snapshots: hide it.
            Err(e) if matches!(e.errno(), Some(EBUSY | ENOTEMPTY)) => {
                let hidden = format!("{name}{DELETED}");
                self.pool.rename(&name, &hidden).map_err(err)?;
            }
            Err(e) => return Err(err(e)),
        }
        self.purge_deleted()
    }

    fn create_snapshot(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        platter_backend::check_id(snapshot_id)?;
        let img = self.open(volume_id)?;
        self.pool
            .put_object(&marker(snapshot_id), volume_id.as_bytes())
            .map_err(err)?;
        match img.snap_create(&snap(snapshot_id)) {
            Err(e) if e.errno() == Some(EEXIST) => Ok(()),
            other => other.map_err(err),
        }
    }

    fn delete_snapshot(&self, snapshot_id: &str) -> BackendResult<()> {
        if let Some(volume) = self.snapshot_volume(snapshot_id)? {
            let img = self.open(&volume)?;
            match img.snap_remove(&snap(snapshot_id)) {
                Err(e) if e.errno() != Some(ENOENT) => return Err(err(e)),
                _ => {}
            }
        }
        self.pool.remove_object(&marker(snapshot_id)).map_err(err)?;
        self.purge_deleted()
    }

    fn rollback_volume(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        let img = self.open(volume_id)?;
        if self.snapshot_volume(snapshot_id)?.as_deref() != Some(volume_id) {
            return Err(BackendError::SnapshotNotFound(snapshot_id.to_string()));
        }
        img.snap_rollback(&snap(snapshot_id)).map_err(err)
    }

    fn extend_volume(&self, volume_id: &str, new_size: u64) -> BackendResult<()> {
        let img = self.open(volume_id)?;
        let size = img.size().map_err(err)?;
        if new_size < size {
            return Err(BackendError::Invalid(format!(
                "cannot shrink volume {volume_id} from {size} to {new_size} bytes"
            )));
        }
        if new_size > size {
            img.resize(new_size).map_err(err)?;
        }
        Ok(())
    }

    fn volume_exists(&self, volume_id: &str) -> BackendResult<bool> {
        match self.open(volume_id) {
            Ok(_) => Ok(true),
            Err(BackendError::VolumeNotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn open_volume(&self, volume_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        Ok(Arc::new(RbdIo(self.open(volume_id)?)))
    }

    fn open_snapshot(&self, snapshot_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        let volume = self
            .snapshot_volume(snapshot_id)?
            .ok_or_else(|| BackendError::SnapshotNotFound(snapshot_id.to_string()))?;
        let img = self
            .pool
            .open(&image(&volume), Some(&snap(snapshot_id)))
            .map_err(err)?;
        Ok(Arc::new(RbdIo(img)))
    }

    fn pool_stats(&self) -> BackendResult<PoolStats> {
        let cap = self.cluster.capacity().map_err(err)?;
        let provisioned = self.list_volumes()?.iter().map(|d| d.size).sum::<u64>();
        Ok(PoolStats {
            total_bytes: cap.total,
            free_bytes: cap.available,
            allocated_bytes: cap.used,
            provisioned_bytes: provisioned,
        })
    }

    fn list_volumes(&self) -> BackendResult<Vec<DeviceInfo>> {
        let mut out = Vec::new();
        for name in self.pool.list().map_err(err)? {
            let Some(id) = name.strip_prefix("volume-") else {
                continue;
            };
            if id.ends_with(DELETED) {
                continue;
            }
            if let Ok(img) = self.pool.open(&name, None) {
                out.push(DeviceInfo {
                    id: id.to_string(),
                    size: img.size().map_err(err)?,
                });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn list_snapshots(&self) -> BackendResult<Vec<DeviceInfo>> {
        let mut out = Vec::new();
        for v in self.list_volumes()? {
            let img = self.open(&v.id)?;
            for s in img.snapshots().map_err(err)? {
                if let Some(id) = s.name.strip_prefix("snapshot-") {
                    out.push(DeviceInfo {
                        id: id.to_string(),
                        size: s.size,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn rename_volume(&self, from: &str, to: &str) -> BackendResult<()> {
        platter_backend::check_id(to)?;
        let (have_from, have_to) = (self.volume_exists(from)?, self.volume_exists(to)?);
        match (have_from, have_to) {
            (false, true) => return Ok(()),
            (false, false) => return Err(BackendError::VolumeNotFound(from.to_string())),
            (true, true) => {
                return Err(BackendError::Invalid(format!("volume {to} already exists")))
            }
            (true, false) => {}
        }
        // Its snapshots' markers name the new volume first, so a crash
        // between the two leaves them pointing at a name that resolves.
        let snaps = self.open(from)?.snapshots().map_err(err)?;
        self.pool.rename(&image(from), &image(to)).map_err(err)?;
        for s in snaps {
            if let Some(id) = s.name.strip_prefix("snapshot-") {
                self.pool
                    .put_object(&marker(id), to.as_bytes())
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    fn rename_snapshot(&self, from: &str, to: &str) -> BackendResult<()> {
        platter_backend::check_id(to)?;
        if let Some(volume) = self.snapshot_volume(from)? {
            if self.snapshot_volume(to)?.is_some() {
                return Err(BackendError::Invalid(format!(
                    "snapshot {to} already exists"
                )));
            }
            self.pool
                .put_object(&marker(to), volume.as_bytes())
                .map_err(err)?;
            self.open(&volume)?
                .snap_rename(&snap(from), &snap(to))
                .map_err(err)?;
            return self.pool.remove_object(&marker(from)).map_err(err);
        }
        if self.snapshot_volume(to)?.is_some() {
            return Ok(());
        }
        Err(BackendError::SnapshotNotFound(from.to_string()))
    }
}

/// I/O on an open image or snapshot.
struct RbdIo(Image);

impl VolumeIo for RbdIo {
    fn size(&self) -> BackendResult<u64> {
        self.0.size().map_err(err)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> BackendResult<()> {
        self.0.read_at(buf, offset).map_err(err)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> BackendResult<()> {
        self.0.write_at(buf, offset).map_err(err)
    }

    fn write_zeroes(&self, offset: u64, len: u64) -> BackendResult<()> {
        // librbd's discard makes the range read as zeroes.
        self.0.discard(offset, len).map_err(err)
    }

    fn trim(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.0.discard(offset, len).map_err(err)
    }

    fn flush(&self) -> BackendResult<()> {
        self.0.flush().map_err(err)
    }
}
