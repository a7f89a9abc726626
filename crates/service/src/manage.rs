//! Cinder's manage and unmanage: a volume or snapshot leaves Platter while
//! its device stays in the pool, and an existing device of a pool becomes
//! a new volume or snapshot.
//!
//! Unmanaging is one store transaction (only rows change). Managing is a
//! job: the request's transaction records the new row (`creating`), its
//! quota and the job; the job renames the device to the new id
//! ([`StorageBackend::rename_volume`]), so every later backend call finds
//! it by the volume's id as usual, and a crash at any point resumes or
//! undoes the rename.

use std::sync::Arc;

use platter_backend::{BackendPool, DeviceInfo, StorageBackend};
use platter_model::{
    check_metadata, Action, AuthContext, CreateRule, DomainError, DomainResult, JobId, JobKind,
    JobParams, Metadata, Snapshot, SnapshotId, SnapshotManageParams, Volume, VolumeId,
    VolumeManageParams, DEFAULT_ENTERPRISE_PROJECT, GIB,
};
use platter_store::{NewSnapshot, NewVolume, TrackedDevice};

use crate::volumes::{new_job, refuse_order_id};
use crate::Platter;

/// A request to manage an existing volume device, in domain terms.
#[derive(Debug, Clone, Default)]
pub struct VolumeManage {
    /// The pool, as `os-vol-host-attr:host` shows it
    /// (`platter@<backend>#<pool>`; `platter@<backend>` if it has one pool).
    pub host: String,
    /// The device's id in the pool (the id of the volume it was).
    pub device_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Type id or name; `None` is the default type.
    pub volume_type: Option<String>,
    pub availability_zone: Option<String>,
    pub bootable: bool,
    pub metadata: Metadata,
}

/// A request to manage an existing snapshot device of a volume.
#[derive(Debug, Clone)]
pub struct SnapshotManage {
    pub volume_id: VolumeId,
    /// The device's id in the volume's pool (the id of the snapshot it was).
    pub device_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
}

/// A device of a pool, as the manageable lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManageableDevice {
    /// The device's id in the pool.
    pub device_id: String,
    /// Its size, rounded up to whole GiB.
    pub size_gib: i64,
    /// Who has the device, if anyone (then it is not safe to manage).
    pub tracked: Option<TrackedDevice>,
}

/// Bytes to whole GiB, rounded up.
fn gib_up(bytes: u64) -> i64 {
    bytes.div_ceil(GIB) as i64
}

async fn blocking<T, F>(backend: &Arc<dyn StorageBackend>, f: F) -> DomainResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn StorageBackend) -> platter_backend::BackendResult<T> + Send + 'static,
{
    let backend = backend.clone();
    tokio::task::spawn_blocking(move || f(backend.as_ref()))
        .await
        .map_err(|e| DomainError::Internal(format!("backend task failed: {e}")))?
        .map_err(|e| DomainError::Backend(e.to_string()))
}

fn find(devices: Vec<DeviceInfo>, id: &str) -> Option<DeviceInfo> {
    devices.into_iter().find(|d| d.id == id)
}

impl Platter {
    /// The pool a Cinder host names: `platter@<pool>#<pool>` exactly (what
    /// `os-vol-host-attr:host` shows), a pool's bare name, or
    /// `platter@<pool>` when that backend has a single pool. Not found is a
    /// `Service`, as upstream's host lookup says.
    pub fn pool_by_host(&self, host: &str) -> DomainResult<&BackendPool> {
        let pools = self.pools();
        if let Some(p) = pools.iter().find(|p| p.host() == host || p.name == host) {
            return Ok(p);
        }
        let mut of_host = pools
            .iter()
            .filter(|p| p.host().split_once('#').map(|(h, _)| h) == Some(host));
        match (of_host.next(), of_host.next()) {
            (Some(p), None) => Ok(p),
            (Some(_), Some(_)) => Err(DomainError::invalid(format!(
                "host {host} has several pools; name one as {host}#<pool>."
            ))),
            (None, _) => Err(DomainError::not_found("Service", host)),
        }
    }

    /// Admin: the volume leaves Platter (its row, metadata and quota
    /// usage), its device stays in the pool to be managed again. One
    /// transaction: `available` or `error`, detached, no snapshots.
    pub async fn volume_unmanage(&self, ctx: &AuthContext, id: &VolumeId) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeUnmanage)?;
        let v = self.volume_find(ctx, id).await?;
        if let Some(order) = v.order_id() {
            return Err(DomainError::volume_state(format!(
                "Volume {id} is yearly/monthly (order {order}) and cannot be unmanaged."
            )));
        }
        self.store().volume_unmanage(id).await?;
        tracing::info!(volume = %id, pool = %v.pool, "volume unmanaged; its device stays in the pool");
        Ok(())
    }

    /// Admin: the snapshot leaves Platter, its device stays.
    pub async fn snapshot_unmanage(&self, ctx: &AuthContext, id: &SnapshotId) -> DomainResult<()> {
        self.authorize(ctx, Action::SnapshotUnmanage)?;
        self.snapshot_find(ctx, id).await?;
        self.store().snapshot_unmanage(id).await?;
        tracing::info!(snapshot = %id, "snapshot unmanaged; its device stays in the pool");
        Ok(())
    }

    /// Admin: the volume devices of a pool, and who has each.
    pub async fn manageable_volumes(
        &self,
        ctx: &AuthContext,
        host: &str,
    ) -> DomainResult<Vec<ManageableDevice>> {
        self.authorize(ctx, Action::VolumeManageableList)?;
        let pool = self.pool_by_host(host)?;
        let devices = blocking(&pool.backend, |b| b.list_volumes()).await?;
        // An image's devices are the image service's, a backup's snapshot
        // the backup's: not Cinder's to manage.
        let devices: Vec<_> = devices
            .into_iter()
            .filter(|d| !platter_model::is_image_device(&d.id) && !d.id.starts_with("bk-"))
            .collect();
        let ids: Vec<String> = devices.iter().map(|d| d.id.clone()).collect();
        let mut tracked = self.store().volume_devices_tracked(&ids).await?;
        Ok(devices
            .into_iter()
            .map(|d| ManageableDevice {
                size_gib: gib_up(d.size),
                tracked: tracked.remove(&d.id),
                device_id: d.id,
            })
            .collect())
    }

    /// Admin: the snapshot devices of a pool, and who has each.
    pub async fn manageable_snapshots(
        &self,
        ctx: &AuthContext,
        host: &str,
    ) -> DomainResult<Vec<ManageableDevice>> {
        self.authorize(ctx, Action::SnapshotManageableList)?;
        let pool = self.pool_by_host(host)?;
        let devices = blocking(&pool.backend, |b| b.list_snapshots()).await?;
        // An image's devices are the image service's, a backup's snapshot
        // the backup's: not Cinder's to manage.
        let devices: Vec<_> = devices
            .into_iter()
            .filter(|d| !platter_model::is_image_device(&d.id) && !d.id.starts_with("bk-"))
            .collect();
        let ids: Vec<String> = devices.iter().map(|d| d.id.clone()).collect();
        let mut tracked = self.store().snapshot_devices_tracked(&ids).await?;
        Ok(devices
            .into_iter()
            .map(|d| ManageableDevice {
                size_gib: gib_up(d.size),
                tracked: tracked.remove(&d.id),
                device_id: d.id,
            })
            .collect())
    }

    /// Admin: an existing volume device of a pool becomes a new volume of
    /// the caller's project, its size the device's rounded up to whole
    /// GiB. The row (`creating`), its quota and the job that adopts the
    /// device are one transaction; the volume is `available` when the job
    /// has renamed the device to the new id. Returns the volume and the
    /// job's id.
    pub async fn volume_manage(
        &self,
        ctx: &AuthContext,
        req: VolumeManage,
    ) -> DomainResult<(Volume, JobId)> {
        self.authorize(ctx, Action::VolumeManage)?;
        check_metadata(&req.metadata)?;
        refuse_order_id(&req.metadata)?;
        let pool = self.pool_by_host(&req.host)?;
        let vtype = match &req.volume_type {
            Some(t) => self.volume_type_usable(ctx, t).await?,
            None => self.volume_type_default_for(&ctx.project_id).await?,
        };
        if vtype.encrypted {
            return Err(DomainError::InvalidState {
                resource: "volume type",
                message: format!(
                    "Volume type {} is encrypted; Platter has no key manager and does not manage encrypted volumes.",
                    vtype.name
                ),
            });
        }
        if let Some(named) = self.pool_of_type(&vtype).filter(|n| *n != pool.name) {
            return Err(DomainError::invalid(format!(
                "volume type {} places volumes in pool {named}, not in {}.",
                vtype.name, req.host
            )));
        }
        let zones = &self.config().availability_zones;
        let az = match &req.availability_zone {
            Some(az) if zones.contains(az) => az.clone(),
            Some(az) => {
                return Err(DomainError::InvalidCreate(CreateRule::UnknownZone {
                    zone: az.clone(),
                }))
            }
            None => zones.first().cloned().unwrap_or_else(|| "nova".into()),
        };
        let devices = blocking(&pool.backend, |b| b.list_volumes()).await?;
        let device = find(devices, &req.device_id)
            .ok_or_else(|| DomainError::not_found("Volume device", req.device_id.as_str()))?;
        let size = gib_up(device.size).max(1);
        let id = VolumeId::new();
        let source = VolumeId::from(req.device_id.as_str());
        let job = new_job(
            JobKind::VolumeManage,
            &ctx.project_id,
            id.as_str(),
            JobParams::VolumeManage(VolumeManageParams {
                source_id: source.clone(),
                size_gib: size,
                name: req.name.clone(),
                volume_type: Some(vtype.name.clone()),
            }),
        );
        let new = NewVolume {
            id,
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            name: req.name,
            description: req.description,
            size,
            availability_zone: az,
            volume_type_id: vtype.id.clone(),
            volume_type_name: vtype.name.clone(),
            bootable: req.bootable,
            multiattach: false,
            group_id: None,
            snapshot_id: None,
            source_volid: None,
            metadata: req.metadata,
            iops: None,
            throughput: None,
            enterprise_project_id: DEFAULT_ENTERPRISE_PROJECT.to_string(),
            tags: Metadata::new(),
            pool: pool.name.clone(),
            order: None,
            replica_pool: None,
            image_metadata: Metadata::new(),
        };
        let volume = self
            .store()
            .volume_manage(&new, &source, &job, &self.quota_defaults_now())
            .await?;
        tracing::info!(volume = %volume.id, device = %source, pool = %volume.pool, "managing an existing volume device");
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((volume, job_id))
    }

    /// Admin: an existing snapshot device in a volume's pool becomes a new
    /// snapshot of that volume (Platter cannot tell which volume a device
    /// was taken of: it trusts the caller, as upstream's drivers do).
    /// Returns the snapshot and the job's id.
    pub async fn snapshot_manage(
        &self,
        ctx: &AuthContext,
        req: SnapshotManage,
    ) -> DomainResult<(Snapshot, JobId)> {
        self.authorize(ctx, Action::SnapshotManage)?;
        check_metadata(&req.metadata)?;
        let v = self.volume_find(ctx, &req.volume_id).await?;
        let backend = self.backend_of(&v.pool)?;
        let devices = blocking(&backend, |b| b.list_snapshots()).await?;
        let device = find(devices, &req.device_id)
            .ok_or_else(|| DomainError::not_found("Snapshot device", req.device_id.as_str()))?;
        let size = gib_up(device.size).max(1);
        let id = SnapshotId::new();
        let source = SnapshotId::from(req.device_id.as_str());
        let job = new_job(
            JobKind::SnapshotManage,
            &v.project_id,
            id.as_str(),
            JobParams::SnapshotManage(SnapshotManageParams {
                source_id: source.clone(),
                volume_id: v.id.clone(),
            }),
        );
        let new = NewSnapshot {
            id,
            project_id: v.project_id.clone(),
            user_id: ctx.user_id.clone(),
            volume_id: v.id.clone(),
            name: req.name,
            description: req.description,
            metadata: req.metadata,
            force: true,
            enterprise_project_id: None,
            tags: Metadata::new(),
            instant_access: false,
        };
        let snapshot = self
            .store()
            .snapshot_manage(&new, size, &source, &job, &self.quota_defaults_now())
            .await?;
        tracing::info!(snapshot = %snapshot.id, device = %source, volume = %v.id, "managing an existing snapshot device");
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((snapshot, job_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_whole_gib() {
        assert_eq!(gib_up(0), 0);
        assert_eq!(gib_up(1), 1);
        assert_eq!(gib_up(GIB), 1);
        assert_eq!(gib_up(GIB + 4096), 2);
        assert_eq!(gib_up(3 * GIB), 3);
    }
}
