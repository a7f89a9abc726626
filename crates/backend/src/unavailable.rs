//! A backend that refuses everything: for tools that need the service's
//! metadata but not its data (identity administration while the server owns
//! the storage pool).

use std::sync::Arc;

use crate::{
    BackendError, BackendResult, Capabilities, DeviceInfo, PoolStats, StorageBackend, VolumeIo,
};

pub struct Unavailable(pub &'static str);

impl Unavailable {
    fn refuse<T>(&self) -> BackendResult<T> {
        Err(BackendError::Invalid(self.0.to_string()))
    }
}

impl StorageBackend for Unavailable {
    fn name(&self) -> &'static str {
        "unavailable"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    fn create_volume(&self, _: &str, _: u64) -> BackendResult<()> {
        self.refuse()
    }
    fn clone_from_snapshot(&self, _: &str, _: &str, _: u64) -> BackendResult<()> {
        self.refuse()
    }
    fn clone_from_volume(&self, _: &str, _: &str, _: u64) -> BackendResult<()> {
        self.refuse()
    }
    fn delete_volume(&self, _: &str) -> BackendResult<()> {
        self.refuse()
    }
    fn create_snapshot(&self, _: &str, _: &str) -> BackendResult<()> {
        self.refuse()
    }
    fn delete_snapshot(&self, _: &str) -> BackendResult<()> {
        self.refuse()
    }
    fn rollback_volume(&self, _: &str, _: &str) -> BackendResult<()> {
        self.refuse()
    }
    fn extend_volume(&self, _: &str, _: u64) -> BackendResult<()> {
        self.refuse()
    }
    fn volume_exists(&self, _: &str) -> BackendResult<bool> {
        self.refuse()
    }
    fn open_volume(&self, _: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        self.refuse()
    }
    fn open_snapshot(&self, _: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        self.refuse()
    }
    fn pool_stats(&self) -> BackendResult<PoolStats> {
        self.refuse()
    }
    fn list_volumes(&self) -> BackendResult<Vec<DeviceInfo>> {
        self.refuse()
    }
    fn list_snapshots(&self) -> BackendResult<Vec<DeviceInfo>> {
        self.refuse()
    }
    fn rename_volume(&self, _: &str, _: &str) -> BackendResult<()> {
        self.refuse()
    }
    fn rename_snapshot(&self, _: &str, _: &str) -> BackendResult<()> {
        self.refuse()
    }
}
