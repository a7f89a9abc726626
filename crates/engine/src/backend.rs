//! The engine as Platter's storage backend: volumes are devices named
//! `v:<id>`, snapshots read-only devices named `s:<id>`.

use std::sync::Arc;

use platter_backend::{
    check_id, BackendError, BackendResult, Capabilities, DeviceInfo, PoolStats, StorageBackend,
    VolumeIo,
};

use crate::io::engine_to_backend;
use crate::pool::Pool;
use crate::{EngineError, BLOCK};

fn volume(id: &str) -> BackendResult<String> {
    check_id(id)?;
    Ok(format!("v:{id}"))
}

fn snapshot(id: &str) -> BackendResult<String> {
    check_id(id)?;
    Ok(format!("s:{id}"))
}

/// Maps "no such device" to the backend's volume or snapshot error.
fn missing(e: EngineError, is_snapshot: bool, id: &str) -> BackendError {
    match e {
        EngineError::NoDevice(_) if is_snapshot => BackendError::SnapshotNotFound(id.to_string()),
        EngineError::NoDevice(_) => BackendError::VolumeNotFound(id.to_string()),
        other => engine_to_backend(other),
    }
}

impl Pool {
    /// The devices whose names start with `prefix`, by the id after it.
    fn devices_with(&self, prefix: &str) -> Vec<DeviceInfo> {
        self.device_names()
            .into_iter()
            .filter_map(|name| {
                let id = name.strip_prefix(prefix)?.to_string();
                let size = self.device_size(&name).ok()?;
                Some(DeviceInfo { id, size })
            })
            .collect()
    }

    /// The backend's idempotent rename over [`Pool::rename`].
    fn rename_idempotent(
        &self,
        from: &str,
        to: &str,
        is_snapshot: bool,
        id: &str,
    ) -> BackendResult<()> {
        match self.rename(from, to) {
            Ok(()) => Ok(()),
            // Done before (a step run again).
            Err(EngineError::Exists(_)) if !self.exists(from) => Ok(()),
            Err(EngineError::Exists(_)) => Err(BackendError::Invalid(format!(
                "cannot rename {from} to {to}: {to} exists"
            ))),
            Err(EngineError::NoDevice(_)) if self.exists(to) => Ok(()),
            Err(e) => Err(missing(e, is_snapshot, id)),
        }
    }
}

impl StorageBackend for Pool {
    fn name(&self) -> &'static str {
        "engine"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            thin_provisioning: true,
            instant_snapshots: true,
            rollback: true,
            clone: true,
            consistent_group_snapshots: true,
        }
    }

    fn create_volume(&self, volume_id: &str, size: u64) -> BackendResult<()> {
        match self.create(&volume(volume_id)?, size, false, None) {
            Ok(()) | Err(EngineError::Exists(_)) => Ok(()),
            Err(e) => Err(engine_to_backend(e)),
        }
    }

    fn clone_from_snapshot(
        &self,
        snapshot_id: &str,
        volume_id: &str,
        size: u64,
    ) -> BackendResult<()> {
        let src = snapshot(snapshot_id)?;
        match self.create(&volume(volume_id)?, size, false, Some(&src)) {
            Ok(()) | Err(EngineError::Exists(_)) => Ok(()),
            Err(e) => Err(missing(e, true, snapshot_id)),
        }
    }

    fn clone_from_volume(&self, source_id: &str, volume_id: &str, size: u64) -> BackendResult<()> {
        let src = volume(source_id)?;
        match self.create(&volume(volume_id)?, size, false, Some(&src)) {
            Ok(()) | Err(EngineError::Exists(_)) => Ok(()),
            Err(e) => Err(missing(e, false, source_id)),
        }
    }

    fn delete_volume(&self, volume_id: &str) -> BackendResult<()> {
        match self.delete(&volume(volume_id)?) {
            Ok(()) | Err(EngineError::NoDevice(_)) => Ok(()),
            Err(e) => Err(engine_to_backend(e)),
        }
    }

    fn create_snapshot(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        let src = volume(volume_id)?;
        let size = self
            .device_size(&src)
            .map_err(|e| missing(e, false, volume_id))?;
        match self.create(&snapshot(snapshot_id)?, size, true, Some(&src)) {
            Ok(()) | Err(EngineError::Exists(_)) => Ok(()),
            Err(e) => Err(missing(e, false, volume_id)),
        }
    }

    /// One barrier for the set: [`Pool::snapshot_many`].
    fn create_group_snapshot(&self, members: &[(String, String)]) -> BackendResult<()> {
        let mut names = Vec::with_capacity(members.len());
        for (volume_id, snapshot_id) in members {
            names.push((snapshot(snapshot_id)?, volume(volume_id)?));
        }
        let items: Vec<(&str, &str)> = names
            .iter()
            .map(|(s, v)| (s.as_str(), v.as_str()))
            .collect();
        self.snapshot_many(&items).map_err(|e| match e {
            EngineError::NoDevice(name) => {
                BackendError::VolumeNotFound(name.trim_start_matches("v:").to_string())
            }
            other => engine_to_backend(other),
        })
    }

    fn delete_snapshot(&self, snapshot_id: &str) -> BackendResult<()> {
        match self.delete(&snapshot(snapshot_id)?) {
            Ok(()) | Err(EngineError::NoDevice(_)) => Ok(()),
            Err(e) => Err(engine_to_backend(e)),
        }
    }

    fn rollback_volume(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        let snap = snapshot(snapshot_id)?;
        if !self.exists(&snap) {
            return Err(BackendError::SnapshotNotFound(snapshot_id.to_string()));
        }
        self.rollback(&volume(volume_id)?, &snap)
            .map_err(|e| missing(e, false, volume_id))
    }

    fn extend_volume(&self, volume_id: &str, new_size: u64) -> BackendResult<()> {
        self.resize(&volume(volume_id)?, new_size)
            .map_err(|e| missing(e, false, volume_id))
    }

    /// The engine knows: the blocks whose mapping differs between the two
    /// trees (shared subtrees skipped), [`Pool::changed_blocks`].
    fn changed_ranges(
        &self,
        base_id: &str,
        snapshot_id: &str,
    ) -> BackendResult<Option<Vec<(u64, u64)>>> {
        let (base, snap) = (snapshot(base_id)?, snapshot(snapshot_id)?);
        for (name, id) in [(&base, base_id), (&snap, snapshot_id)] {
            if !self.exists(name) {
                return Err(BackendError::SnapshotNotFound(id.to_string()));
            }
        }
        let runs = self
            .changed_blocks(&base, &snap)
            .map_err(|e| missing(e, true, snapshot_id))?;
        Ok(Some(
            runs.into_iter()
                .map(|(first, count)| (first * BLOCK, count * BLOCK))
                .collect(),
        ))
    }

    fn volume_exists(&self, volume_id: &str) -> BackendResult<bool> {
        Ok(self.exists(&volume(volume_id)?))
    }

    fn open_volume(&self, volume_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        let io = self
            .open_device(&volume(volume_id)?)
            .map_err(|e| missing(e, false, volume_id))?;
        Ok(Arc::new(io))
    }

    fn open_snapshot(&self, snapshot_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        let io = self
            .open_device(&snapshot(snapshot_id)?)
            .map_err(|e| missing(e, true, snapshot_id))?;
        Ok(Arc::new(io))
    }

    fn pool_stats(&self) -> BackendResult<PoolStats> {
        let (allocated, _) = self.usage();
        let provisioned = self
            .device_names()
            .iter()
            .filter(|n| n.starts_with("v:"))
            .filter_map(|n| self.device_size(n).ok())
            .sum();
        let (total_bytes, free_bytes) = platter_backend::fs_capacity(self.dir())?;
        Ok(PoolStats {
            total_bytes,
            free_bytes,
            allocated_bytes: allocated,
            provisioned_bytes: provisioned,
        })
    }

    fn list_volumes(&self) -> BackendResult<Vec<DeviceInfo>> {
        Ok(self.devices_with("v:"))
    }

    fn list_snapshots(&self) -> BackendResult<Vec<DeviceInfo>> {
        Ok(self.devices_with("s:"))
    }

    fn rename_volume(&self, from: &str, to: &str) -> BackendResult<()> {
        self.rename_idempotent(&volume(from)?, &volume(to)?, false, from)
    }

    fn rename_snapshot(&self, from: &str, to: &str) -> BackendResult<()> {
        self.rename_idempotent(&snapshot(from)?, &snapshot(to)?, true, from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PoolOptions;

    const MIB: u64 = 1 << 20;

    fn pool(dir: &std::path::Path) -> Pool {
        Pool::open(
            dir,
            PoolOptions {
                background_commit: None,
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn read(io: &dyn VolumeIo, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        io.read_at(&mut buf, offset).unwrap();
        buf
    }

    #[test]
    fn volumes_and_snapshots_are_listed_by_id_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let p = pool(dir.path());
        p.create_volume("b", 2 * MIB).unwrap();
        p.create_volume("a", MIB).unwrap();
        p.create_snapshot("a", "s").unwrap();
        let pairs = |l: Vec<DeviceInfo>| l.into_iter().map(|d| (d.id, d.size)).collect::<Vec<_>>();
        assert_eq!(
            pairs(p.list_volumes().unwrap()),
            [("a".to_string(), MIB), ("b".to_string(), 2 * MIB)]
        );
        assert_eq!(pairs(p.list_snapshots().unwrap()), [("s".to_string(), MIB)]);
    }

    #[test]
    fn renamed_devices_keep_their_bytes_across_a_crash_and_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let p = pool(dir.path());
        p.create_volume("old", MIB).unwrap();
        let io = p.open_volume("old").unwrap();
        io.write_at(&[7u8; 4096], 8192).unwrap();
        io.flush().unwrap();
        p.create_snapshot("old", "s1").unwrap();
        p.rename_volume("old", "new").unwrap();
        p.rename_volume("old", "new").unwrap();
        p.rename_snapshot("s1", "s2").unwrap();
        // A handle opened before the rename still writes the device.
        io.write_at(&[9u8; 4096], 0).unwrap();
        io.flush().unwrap();
        drop(io);
        // A crash: no checkpoint, the journal alone holds the renames.
        drop(p);
        let p = pool(dir.path());
        assert!(!p.volume_exists("old").unwrap());
        let v = p.open_volume("new").unwrap();
        assert_eq!(read(&*v, 8192, 4096), vec![7u8; 4096]);
        assert_eq!(read(&*v, 0, 4096), vec![9u8; 4096]);
        assert_eq!(
            read(&*p.open_snapshot("s2").unwrap(), 8192, 4096),
            vec![7u8; 4096]
        );
        assert!(p.open_snapshot("s1").is_err());
        // From a checkpoint too.
        p.close().unwrap();
        drop((v, p));
        let p = pool(dir.path());
        assert_eq!(
            read(&*p.open_volume("new").unwrap(), 8192, 4096),
            vec![7u8; 4096]
        );
        assert_eq!(p.device_names(), ["s:s2", "v:new"]);
        assert!(p.scrub().unwrap().errors.is_empty());
    }

    #[test]
    fn renames_onto_a_device_or_of_nothing_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = pool(dir.path());
        p.create_volume("a", MIB).unwrap();
        p.create_volume("b", MIB).unwrap();
        assert!(matches!(
            p.rename_volume("a", "b"),
            Err(BackendError::Invalid(_))
        ));
        assert!(matches!(
            p.rename_volume("x", "y"),
            Err(BackendError::VolumeNotFound(_))
        ));
        assert!(matches!(
            p.rename_snapshot("x", "y"),
            Err(BackendError::SnapshotNotFound(_))
        ));
        assert!(matches!(
            p.rename_volume("a", "../b"),
            Err(BackendError::Invalid(_))
        ));
        assert_eq!(p.device_names(), ["v:a", "v:b"]);
    }
}
