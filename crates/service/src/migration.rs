//! Moving a volume's data to another pool (Cinder's migration): a job that
//! copies the device into the target pool, verifies the copy, then moves
//! the volume there in one transaction and deletes the source device.
//! Used by `os-migrate_volume` (admin) and by a retype whose new type lives
//! in another pool (`migration_policy: on-demand`).

use std::sync::Arc;

use platter_backend::{BackendError, StorageBackend};
use platter_model::{
    Action, AuthContext, DomainError, DomainResult, JobId, JobKind, JobParams, VolumeId,
    VolumeMigrateParams, VolumeStatus, VolumeType,
};

use crate::volumes::new_job;
use crate::Platter;

const CHUNK: u64 = 1 << 20;

/// A migration's source and target backends.
type BackendPair = (Arc<dyn StorageBackend>, Arc<dyn StorageBackend>);

fn backend_err(what: &str) -> impl Fn(BackendError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Copies volume `id` from `src` to a new device of the same size in `dst`
/// (an earlier partial copy is replaced), leaving holes where the source
/// reads as zeros, then reads both back and compares them.
pub(crate) fn copy_volume(
    src: &dyn StorageBackend,
    dst: &dyn StorageBackend,
    id: &str,
) -> Result<(), String> {
    let from = src
        .open_volume(id)
        .map_err(backend_err("opening the source"))?;
    let size = from.size().map_err(backend_err("sizing the source"))?;
    if dst
        .volume_exists(id)
        .map_err(backend_err("looking for an earlier copy"))?
    {
        dst.delete_volume(id)
            .map_err(backend_err("deleting an earlier copy"))?;
    }
    dst.create_volume(id, size)
        .map_err(backend_err("creating the target"))?;
    let to = dst
        .open_volume(id)
        .map_err(backend_err("opening the target"))?;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut pos = 0;
    while pos < size {
        let n = CHUNK.min(size - pos) as usize;
        from.read_at(&mut buf[..n], pos)
            .map_err(backend_err("reading the source"))?;
        if buf[..n].iter().any(|&b| b != 0) {
            to.write_at(&buf[..n], pos)
                .map_err(backend_err("writing the target"))?;
        }
        pos += n as u64;
    }
    to.flush().map_err(backend_err("flushing the target"))?;
    // Verify: the copy reads exactly as the source.
    let mut other = vec![0u8; CHUNK as usize];
    let mut pos = 0;
    while pos < size {
        let n = CHUNK.min(size - pos) as usize;
        from.read_at(&mut buf[..n], pos)
            .map_err(backend_err("re-reading the source"))?;
        to.read_at(&mut other[..n], pos)
            .map_err(backend_err("reading the copy"))?;
        if buf[..n] != other[..n] {
            return Err(format!("the copy differs from the source at byte {pos}"));
        }
        pos += n as u64;
    }
    Ok(())
}

/// Deletes a device if it is there.
pub(crate) fn delete_if_present(b: &dyn StorageBackend, id: &str) -> Result<(), String> {
    if b.volume_exists(id)
        .map_err(backend_err("looking for the device"))?
    {
        b.delete_volume(id)
            .map_err(backend_err("deleting the device"))?;
    }
    Ok(())
}

impl Platter {
    /// Starts moving a volume's data to `target_pool`; with `new_type`,
    /// the move is a retype's (status `retyping`, the type changes with
    /// the pool), else an admin's migration (status `maintenance`).
    pub(crate) async fn start_migration(
        &self,
        v: &platter_model::Volume,
        target_pool: String,
        new_type: Option<&VolumeType>,
    ) -> DomainResult<JobId> {
        self.refuse_frozen(v).await?;
        if target_pool == v.pool {
            return Err(DomainError::invalid(format!(
                "Volume {} is already in pool {target_pool}.",
                v.id
            )));
        }
        self.backend_of(&target_pool)?;
        let during = if new_type.is_some() {
            VolumeStatus::Retyping
        } else {
            VolumeStatus::Maintenance
        };
        let job = new_job(
            JobKind::VolumeMigrate,
            &v.project_id,
            v.id.as_str(),
            JobParams::VolumeMigrate(VolumeMigrateParams {
                source_pool: v.pool.clone(),
                target_pool,
                type_id: new_type.map(|t| t.id.clone()),
                type_name: new_type.map(|t| t.name.clone()),
                restore: v.status,
                during,
                name: v.name.clone(),
                volume_type: Some(new_type.map_or(v.volume_type_name.clone(), |t| t.name.clone())),
            }),
        );
        self.store()
            .volume_begin_migrate(
                &v.id,
                during,
                new_type.map(|t| t.name.as_str()),
                &job,
                &self.quota_defaults_now(),
            )
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Admin (`os-migrate_volume`): moves an available volume's data to the
    /// pool `host` names, keeping its type.
    pub async fn volume_migrate(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        host: &str,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::VolumeMigrate)?;
        let v = self.volume_find(ctx, id).await?;
        let target = self.pool_by_host(host)?.name.clone();
        self.start_migration(&v, target, None).await
    }

    /// The backends of a migration job's two pools.
    pub(crate) fn migration_backends(
        &self,
        p: &VolumeMigrateParams,
    ) -> Result<BackendPair, String> {
        let src = self.backend_of(&p.source_pool).map_err(|e| e.to_string())?;
        let dst = self.backend_of(&p.target_pool).map_err(|e| e.to_string())?;
        Ok((src, dst))
    }
}
