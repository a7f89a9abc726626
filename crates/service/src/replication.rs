//! Replicated volumes (Cinder's replication v1, seed 000's
//! `os-promote-replica` and `os-reenable-replica`).
//!
//! A volume of a type whose `replication_enabled` extra spec is
//! `<is> True` keeps a replica: a device of the same id in a second pool
//! (chosen at placement). Its create job makes the replica from the
//! primary (`replication_status` copying, then active). While active, the
//! data path writes every request to both devices ([`platter_backend::Mirror`]),
//! and extends and reverts keep the replica equal. Promoting swaps the
//! two pools: the replica becomes the primary and replication stops
//! (inactive; the old primary is stale). Re-enabling copies the primary
//! over the stale replica again (copying, then active).

use std::sync::Arc;

use platter_backend::StorageBackend;
use platter_model::{
    Action, AuthContext, DomainResult, JobId, JobKind, JobParams, ReplicationStatus, Volume,
    VolumeId, VolumeReplicaParams,
};

use crate::migration::{copy_volume, delete_if_present};
use crate::volumes::new_job;
use crate::Platter;

/// Makes `replica` hold the primary's bytes for volume `id`: an empty
/// device of `size` bytes when the primary is known to be blank, else a
/// verified copy. An earlier partial replica is replaced.
pub(crate) fn sync_replica(
    primary: &dyn StorageBackend,
    replica: &dyn StorageBackend,
    id: &str,
    blank_size: Option<u64>,
) -> Result<(), String> {
    match blank_size {
        Some(size) => {
            delete_if_present(replica, id)?;
            replica
                .create_volume(id, size)
                .map_err(|e| format!("creating the replica: {e}"))
        }
        None => copy_volume(primary, replica, id),
    }
}

impl Platter {
    /// The backend of a volume's replica, if it has one.
    pub(crate) fn replica_backend(
        &self,
        v: &Volume,
    ) -> Result<Option<Arc<dyn StorageBackend>>, String> {
        v.replica_pool
            .as_deref()
            .map(|pool| self.backend_of(pool).map_err(|e| e.to_string()))
            .transpose()
    }

    /// A volume's row, for a job step.
    async fn volume_row(&self, id: &VolumeId) -> Result<Option<Volume>, String> {
        self.store().volume_get(id).await.map_err(|e| e.to_string())
    }

    /// Admin (`os-promote-replica`): the volume's in-sync replica becomes
    /// its primary. The volume must be available, detached, without
    /// snapshots, and its replication active.
    pub async fn volume_promote_replica(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
    ) -> DomainResult<Volume> {
        self.authorize(ctx, Action::VolumePromoteReplica)?;
        self.volume_find(ctx, id).await?;
        let v = self.store().volume_promote_replica(id).await?;
        tracing::info!(volume = %id, pool = %v.pool, "replica promoted");
        Ok(v)
    }

    /// Admin (`os-reenable-replica`): makes the replica again from the
    /// primary. The volume must be available and its replication inactive
    /// (after a promote) or error; it is in `maintenance` meanwhile.
    pub async fn volume_reenable_replica(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::VolumeReenableReplica)?;
        let v = self.volume_find(ctx, id).await?;
        let job = new_job(
            JobKind::VolumeReenableReplica,
            &v.project_id,
            v.id.as_str(),
            JobParams::VolumeReenableReplica(VolumeReplicaParams { restore: v.status }),
        );
        self.store().volume_begin_reenable_replica(id, &job).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// The `SyncReplica` step: makes the replica of a volume whose
    /// replication is `copying` (a no-op for any other volume). `blank`
    /// says the primary was just created empty.
    pub(crate) async fn run_sync_replica(&self, id: &VolumeId, blank: bool) -> Result<(), String> {
        let Some(v) = self.volume_row(id).await? else {
            return Ok(());
        };
        if v.replication_status != ReplicationStatus::Copying {
            return Ok(());
        }
        let Some(replica) = self.replica_backend(&v)? else {
            return Ok(());
        };
        let primary = self.backend_of(&v.pool).map_err(|e| e.to_string())?;
        let blank_size = blank.then(|| (v.size.max(0) as u64).saturating_mul(platter_model::GIB));
        let id = v.id.to_string();
        tokio::task::spawn_blocking(move || sync_replica(&*primary, &*replica, &id, blank_size))
            .await
            .map_err(|e| format!("replica task failed: {e}"))?
    }

    /// Undoes `SyncReplica`: deletes the replica's device (a failed copy's,
    /// or a failed create's). A volume whose replica is in sync keeps it.
    pub(crate) async fn undo_sync_replica(&self, id: &VolumeId) -> Result<(), String> {
        let Some(v) = self.volume_row(id).await? else {
            return Ok(());
        };
        if v.replication_status == ReplicationStatus::Active {
            return Ok(());
        }
        let Some(replica) = self.replica_backend(&v)? else {
            return Ok(());
        };
        let id = v.id.to_string();
        tokio::task::spawn_blocking(move || delete_if_present(&*replica, &id))
            .await
            .map_err(|e| format!("undo task failed: {e}"))?
    }

    /// Before a volume's device changes outside the data path (a revert):
    /// if its replica is meant to be in sync, replication becomes
    /// `copying`, so a replica that is about to differ is never promoted.
    /// Whether the replica must then be made again
    /// ([`Platter::end_replica_resync`]).
    pub(crate) async fn begin_replica_resync(&self, id: &VolumeId) -> Result<bool, String> {
        let in_sync = [ReplicationStatus::Active, ReplicationStatus::Copying];
        self.store()
            .volume_cas_replication(id, &in_sync, ReplicationStatus::Copying)
            .await
            .map_err(|e| e.to_string())
    }

    /// After the change: copies the primary over the replica; replication
    /// is `active` again, or `error` if the copy failed.
    pub(crate) async fn end_replica_resync(&self, id: &VolumeId) -> Result<(), String> {
        let copied = self.run_sync_replica(id, false).await;
        let to = if copied.is_ok() {
            ReplicationStatus::Active
        } else {
            ReplicationStatus::Error
        };
        self.store()
            .volume_cas_replication(id, &[ReplicationStatus::Copying], to)
            .await
            .map_err(|e| e.to_string())?;
        copied
    }
}
