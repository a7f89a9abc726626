//! Replicated volumes: each change is one transaction.

use async_trait::async_trait;
use platter_model::{
    DomainError, DomainResult, Job, JobId, ReplicationStatus, Volume, VolumeId, VolumeStatus,
};
use sqlx::SqliteConnection;

use super::volume_rows::{require_volume, set_column, settle, snapshot_count};
use super::volumes::{cas, cas_column};
use super::{db_err, jobs, now_text, SqliteStore};
use crate::repo::ReplicaRepo;

/// A replicated volume that is `available`, or why it is not.
async fn require_replicated(conn: &mut SqliteConnection, id: &VolumeId) -> DomainResult<Volume> {
    let v = require_volume(conn, id).await?;
    if v.replication_status == ReplicationStatus::Disabled || v.replica_pool.is_none() {
        return Err(DomainError::invalid(format!(
            "Volume {id} is not replicated: its type ({}) has no replication_enabled.",
            v.volume_type_name
        )));
    }
    if v.status != VolumeStatus::Available || !v.attachments.is_empty() {
        return Err(DomainError::volume_state(format!(
            "Volume status for volume {id} must be available, but current status is: {}.",
            v.status
        )));
    }
    Ok(v)
}

async fn set_replication(
    conn: &mut SqliteConnection,
    id: &VolumeId,
    status: ReplicationStatus,
) -> DomainResult<()> {
    set_column(conn, id, "replication_status", status.as_str()).await
}

#[async_trait]
impl ReplicaRepo for SqliteStore {
    async fn volume_promote_replica(&self, id: &VolumeId) -> DomainResult<Volume> {
        let mut tx = self.begin().await?;
        let v = require_replicated(&mut tx, id).await?;
        if v.replication_status != ReplicationStatus::Active {
            return Err(DomainError::volume_state(format!(
                "Replication status for volume {id} must be active to promote its replica, but current status is: {}.",
                v.replication_status
            )));
        }
        let snapshots = snapshot_count(&mut tx, id).await?;
        if snapshots > 0 {
            return Err(DomainError::volume_state(format!(
                "Volume {id} has {snapshots} snapshots in its primary's pool; a volume with snapshots cannot promote its replica."
            )));
        }
        sqlx::query(
            "UPDATE volumes SET pool = replica_pool, replica_pool = pool, \
             replication_status = 'inactive', updated_at = ? WHERE id = ?",
        )
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let v = require_volume(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v)
    }

    async fn volume_begin_reenable_replica(
        &self,
        id: &VolumeId,
        job: &Job,
    ) -> DomainResult<VolumeStatus> {
        let mut tx = self.begin().await?;
        let v = require_replicated(&mut tx, id).await?;
        if !matches!(
            v.replication_status,
            ReplicationStatus::Inactive | ReplicationStatus::Error
        ) {
            return Err(DomainError::volume_state(format!(
                "Replication status for volume {id} must be inactive or error to re-enable it, but current status is: {}.",
                v.replication_status
            )));
        }
        if !cas(&mut tx, id, &[v.status], VolumeStatus::Maintenance).await? {
            return Err(DomainError::volume_state(format!(
                "Volume {id} changed status concurrently."
            )));
        }
        set_replication(&mut tx, id, ReplicationStatus::Copying).await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v.status)
    }

    async fn volume_finish_reenable_replica(
        &self,
        id: &VolumeId,
        job_id: &JobId,
        restore: VolumeStatus,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        if v.status == VolumeStatus::Maintenance {
            let to = if error.is_none() {
                ReplicationStatus::Active
            } else {
                ReplicationStatus::Error
            };
            set_replication(&mut tx, id, to).await?;
            if cas(&mut tx, id, &[VolumeStatus::Maintenance], restore).await? {
                settle(&mut tx, id).await?;
            }
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn volume_cas_replication(
        &self,
        id: &VolumeId,
        from: &[ReplicationStatus],
        to: ReplicationStatus,
    ) -> DomainResult<bool> {
        let mut tx = self.begin().await?;
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let done = cas_column(&mut tx, id, "replication_status", &from, to.as_str()).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(done)
    }
}
