//! The engine as Platter's storage backend: volumes are devices named
//! `v:<id>`, snapshots read-only devices named `s:<id>`.

use std::sync::Arc;

use platter_backend::{
    check_id, BackendError, BackendResult, Capabilities, PoolStats, StorageBackend, VolumeIo,
};

use crate::io::engine_to_backend;
use crate::pool::Pool;
use crate::EngineError;

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
}
