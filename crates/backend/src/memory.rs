//! Volumes in memory: for fuzzing and tests of the layers above the
//! backend. Snapshots are copies; nothing is durable.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::{
    check_id, BackendError, BackendResult, Capabilities, DeviceInfo, PoolStats, StorageBackend,
    VolumeIo,
};

type Bytes = Arc<RwLock<Vec<u8>>>;

#[derive(Default)]
pub struct MemoryBackend {
    volumes: RwLock<HashMap<String, Bytes>>,
    snapshots: RwLock<HashMap<String, Bytes>>,
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }
}

fn get(map: &RwLock<HashMap<String, Bytes>>, id: &str) -> Option<Bytes> {
    map.read()
        .unwrap_or_else(|p| p.into_inner())
        .get(id)
        .cloned()
}

fn list(map: &RwLock<HashMap<String, Bytes>>) -> Vec<DeviceInfo> {
    let mut out: Vec<DeviceInfo> = map
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(id, b)| DeviceInfo {
            id: id.clone(),
            size: b.read().unwrap_or_else(|p| p.into_inner()).len() as u64,
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Moves `from` to `to` in one map, under its lock (so atomically);
/// `missing` is the error when neither is there.
fn rename(
    map: &RwLock<HashMap<String, Bytes>>,
    from: &str,
    to: &str,
    missing: BackendError,
) -> BackendResult<()> {
    check_id(from)?;
    check_id(to)?;
    let mut m = map.write().unwrap_or_else(|p| p.into_inner());
    match (m.contains_key(from), m.contains_key(to)) {
        (true, false) => {
            if let Some(b) = m.remove(from) {
                m.insert(to.to_string(), b);
            }
            Ok(())
        }
        (false, true) => Ok(()),
        (true, true) if from == to => Ok(()),
        (true, true) => Err(BackendError::Invalid(format!(
            "cannot rename {from} to {to}: {to} exists"
        ))),
        (false, false) => Err(missing),
    }
}

fn copy(b: &Bytes) -> Vec<u8> {
    b.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl StorageBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            thin_provisioning: false,
            instant_snapshots: false,
            rollback: true,
            clone: true,
            consistent_group_snapshots: true,
        }
    }
    fn create_volume(&self, volume_id: &str, size: u64) -> BackendResult<()> {
        check_id(volume_id)?;
        let mut v = self.volumes.write().unwrap_or_else(|p| p.into_inner());
        v.entry(volume_id.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(vec![0u8; size as usize])));
        Ok(())
    }
    fn clone_from_snapshot(
        &self,
        snapshot_id: &str,
        volume_id: &str,
        size: u64,
    ) -> BackendResult<()> {
        let src = get(&self.snapshots, snapshot_id)
            .ok_or_else(|| BackendError::SnapshotNotFound(snapshot_id.into()))?;
        let mut data = copy(&src);
        data.resize(size.max(data.len() as u64) as usize, 0);
        self.volumes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(volume_id.into(), Arc::new(RwLock::new(data)));
        Ok(())
    }
    fn clone_from_volume(&self, source_id: &str, volume_id: &str, size: u64) -> BackendResult<()> {
        let src = get(&self.volumes, source_id)
            .ok_or_else(|| BackendError::VolumeNotFound(source_id.into()))?;
        let mut data = copy(&src);
        data.resize(size.max(data.len() as u64) as usize, 0);
        self.volumes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(volume_id.into(), Arc::new(RwLock::new(data)));
        Ok(())
    }
    fn delete_volume(&self, volume_id: &str) -> BackendResult<()> {
        self.volumes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(volume_id);
        Ok(())
    }
    fn create_snapshot(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        let src = get(&self.volumes, volume_id)
            .ok_or_else(|| BackendError::VolumeNotFound(volume_id.into()))?;
        let data = copy(&src);
        self.snapshots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(snapshot_id.into(), Arc::new(RwLock::new(data)));
        Ok(())
    }
    /// Holds every member's lock (writes take it exclusively) while the
    /// copies are made.
    fn create_group_snapshot(&self, members: &[(String, String)]) -> BackendResult<()> {
        let mut sources = Vec::with_capacity(members.len());
        for (volume_id, snapshot_id) in members {
            let src = get(&self.volumes, volume_id)
                .ok_or_else(|| BackendError::VolumeNotFound(volume_id.clone()))?;
            sources.push((volume_id.as_str(), snapshot_id.as_str(), src));
        }
        // One lock per volume, taken in id order.
        let mut order: Vec<usize> = (0..sources.len()).collect();
        order.sort_by_key(|&i| sources[i].0);
        order.dedup_by_key(|i| sources[*i].0);
        let guards: Vec<_> = order
            .iter()
            .map(|&i| sources[i].2.read().unwrap_or_else(|p| p.into_inner()))
            .collect();
        let mut snaps = self.snapshots.write().unwrap_or_else(|p| p.into_inner());
        for (volume_id, snapshot_id, _) in &sources {
            let k = order
                .iter()
                .position(|&i| sources[i].0 == *volume_id)
                .unwrap_or(0);
            snaps.insert(
                snapshot_id.to_string(),
                Arc::new(RwLock::new((*guards[k]).clone())),
            );
        }
        Ok(())
    }
    fn delete_snapshot(&self, snapshot_id: &str) -> BackendResult<()> {
        self.snapshots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(snapshot_id);
        Ok(())
    }
    fn rollback_volume(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        let snap = get(&self.snapshots, snapshot_id)
            .ok_or_else(|| BackendError::SnapshotNotFound(snapshot_id.into()))?;
        let vol = get(&self.volumes, volume_id)
            .ok_or_else(|| BackendError::VolumeNotFound(volume_id.into()))?;
        let mut data = copy(&snap);
        let mut v = vol.write().unwrap_or_else(|p| p.into_inner());
        data.resize(v.len(), 0);
        *v = data;
        Ok(())
    }
    fn extend_volume(&self, volume_id: &str, new_size: u64) -> BackendResult<()> {
        let vol = get(&self.volumes, volume_id)
            .ok_or_else(|| BackendError::VolumeNotFound(volume_id.into()))?;
        let mut v = vol.write().unwrap_or_else(|p| p.into_inner());
        if (new_size as usize) < v.len() {
            return Err(BackendError::Invalid("cannot shrink".into()));
        }
        v.resize(new_size as usize, 0);
        Ok(())
    }
    fn volume_exists(&self, volume_id: &str) -> BackendResult<bool> {
        Ok(get(&self.volumes, volume_id).is_some())
    }
    fn open_volume(&self, volume_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        let b = get(&self.volumes, volume_id)
            .ok_or_else(|| BackendError::VolumeNotFound(volume_id.into()))?;
        Ok(Arc::new(MemoryIo {
            bytes: b,
            writable: true,
        }))
    }
    fn open_snapshot(&self, snapshot_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        let b = get(&self.snapshots, snapshot_id)
            .ok_or_else(|| BackendError::SnapshotNotFound(snapshot_id.into()))?;
        Ok(Arc::new(MemoryIo {
            bytes: b,
            writable: false,
        }))
    }
    fn pool_stats(&self) -> BackendResult<PoolStats> {
        Ok(PoolStats::default())
    }
    fn list_volumes(&self) -> BackendResult<Vec<DeviceInfo>> {
        Ok(list(&self.volumes))
    }
    fn list_snapshots(&self) -> BackendResult<Vec<DeviceInfo>> {
        Ok(list(&self.snapshots))
    }
    fn rename_volume(&self, from: &str, to: &str) -> BackendResult<()> {
        let missing = BackendError::VolumeNotFound(from.to_string());
        rename(&self.volumes, from, to, missing)
    }
    fn rename_snapshot(&self, from: &str, to: &str) -> BackendResult<()> {
        let missing = BackendError::SnapshotNotFound(from.to_string());
        rename(&self.snapshots, from, to, missing)
    }
}

struct MemoryIo {
    bytes: Bytes,
    writable: bool,
}

impl MemoryIo {
    fn range(len: usize, offset: u64, n: u64) -> BackendResult<std::ops::Range<usize>> {
        match offset.checked_add(n) {
            Some(end) if end <= len as u64 => Ok(offset as usize..end as usize),
            _ => Err(BackendError::Invalid("out of range".into())),
        }
    }
    fn check_writable(&self) -> BackendResult<()> {
        if self.writable {
            Ok(())
        } else {
            Err(BackendError::Invalid("read-only".into()))
        }
    }
}

impl VolumeIo for MemoryIo {
    fn size(&self) -> BackendResult<u64> {
        Ok(self.bytes.read().unwrap_or_else(|p| p.into_inner()).len() as u64)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> BackendResult<()> {
        let b = self.bytes.read().unwrap_or_else(|p| p.into_inner());
        let r = Self::range(b.len(), offset, buf.len() as u64)?;
        buf.copy_from_slice(&b[r]);
        Ok(())
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> BackendResult<()> {
        self.check_writable()?;
        let mut b = self.bytes.write().unwrap_or_else(|p| p.into_inner());
        let r = Self::range(b.len(), offset, buf.len() as u64)?;
        b[r].copy_from_slice(buf);
        Ok(())
    }
    fn write_zeroes(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.check_writable()?;
        let mut b = self.bytes.write().unwrap_or_else(|p| p.into_inner());
        let r = Self::range(b.len(), offset, len)?;
        b[r].fill(0);
        Ok(())
    }
    fn trim(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.write_zeroes(offset, len)
    }
    fn flush(&self) -> BackendResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_listed_with_their_sizes() {
        let b = MemoryBackend::new();
        b.create_volume("v2", 8192).unwrap();
        b.create_volume("v1", 4096).unwrap();
        b.create_snapshot("v1", "s1").unwrap();
        let ids = |l: Vec<DeviceInfo>| l.into_iter().map(|d| (d.id, d.size)).collect::<Vec<_>>();
        assert_eq!(
            ids(b.list_volumes().unwrap()),
            [("v1".to_string(), 4096), ("v2".to_string(), 8192)]
        );
        assert_eq!(ids(b.list_snapshots().unwrap()), [("s1".to_string(), 4096)]);
    }

    #[test]
    fn renames_keep_the_bytes_and_are_idempotent() {
        let b = MemoryBackend::new();
        b.create_volume("old", 4096).unwrap();
        b.open_volume("old").unwrap().write_at(b"keep", 10).unwrap();
        b.rename_volume("old", "new").unwrap();
        b.rename_volume("old", "new").unwrap();
        assert!(!b.volume_exists("old").unwrap());
        let mut buf = [0u8; 4];
        b.open_volume("new").unwrap().read_at(&mut buf, 10).unwrap();
        assert_eq!(&buf, b"keep");
        b.create_volume("other", 4096).unwrap();
        assert!(matches!(
            b.rename_volume("new", "other"),
            Err(BackendError::Invalid(_))
        ));
        assert!(matches!(
            b.rename_volume("gone", "nowhere"),
            Err(BackendError::VolumeNotFound(_))
        ));

        b.create_snapshot("new", "s1").unwrap();
        b.rename_snapshot("s1", "s2").unwrap();
        b.rename_snapshot("s1", "s2").unwrap();
        assert!(b.open_snapshot("s1").is_err());
        b.open_snapshot("s2")
            .unwrap()
            .read_at(&mut buf, 10)
            .unwrap();
        assert_eq!(&buf, b"keep");
        assert!(matches!(
            b.rename_snapshot("s9", "s8"),
            Err(BackendError::SnapshotNotFound(_))
        ));
    }
}
