//! Backups: each change one transaction.

use async_trait::async_trait;
use platter_model::{
    Backup, BackupId, BackupSource, BackupStatus, DomainError, DomainResult, Job, JobId, Metadata,
    ProjectId, VolumeId, VolumeStatus,
};

use super::backup_rows::{
    backup_from_row, begin_restore_in, cas_in, get_in, insert, json_text, set_status,
};
use super::volume_rows::{require_volume, settle};
use super::volumes::{begin_read, cas};
use super::{db_err, jobs, now_text, quotas, SqliteStore};
use crate::repo::{BackupRepo, QuotaDefaults};

#[async_trait]
impl BackupRepo for SqliteStore {
    async fn backup_begin_create(
        &self,
        b: &Backup,
        force: bool,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<VolumeStatus> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, &b.volume_id).await?;
        // A snapshot's backup holds the snapshot's size; the volume's, its own.
        let size = if b.snapshot_id.is_some() {
            b.size
        } else {
            v.size
        };
        let deltas = vec![
            ("backups".to_string(), 1),
            ("backup_gigabytes".to_string(), size),
        ];
        quotas::check(&mut tx, &b.project_id, quota, &deltas, None).await?;
        let v = if b.snapshot_id.is_some() {
            v
        } else {
            begin_read(&mut tx, &b.volume_id, force, VolumeStatus::BackingUp).await?
        };
        insert(
            &mut tx,
            &Backup {
                size,
                status: BackupStatus::Creating,
                ..b.clone()
            },
        )
        .await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v.status)
    }

    async fn backup_finish_create(
        &self,
        id: &BackupId,
        job_id: &JobId,
        object_count: i64,
        restore: VolumeStatus,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if let Some(b) = get_in(&mut tx, id).await? {
            if b.status == BackupStatus::Creating {
                match error {
                    None => {
                        sqlx::query(
                            "UPDATE backups SET status = 'available', object_count = ?, updated_at = ? WHERE id = ?",
                        )
                        .bind(object_count)
                        .bind(now_text())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    }
                    Some(e) => set_status(&mut tx, id, BackupStatus::Error, Some(e)).await?,
                }
            }
            if cas(&mut tx, &b.volume_id, &[VolumeStatus::BackingUp], restore).await? {
                settle(&mut tx, &b.volume_id).await?;
            }
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn backup_get(&self, id: &BackupId) -> DomainResult<Option<Backup>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        get_in(&mut conn, id).await
    }

    async fn backup_list(&self, project: Option<&ProjectId>) -> DomainResult<Vec<Backup>> {
        let rows = sqlx::query(
            "SELECT * FROM backups WHERE ?1 IS NULL OR project_id = ?1 ORDER BY created_at DESC, id DESC",
        )
        .bind(project.map(ProjectId::as_str))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(backup_from_row).collect()
    }

    async fn backup_begin_delete(&self, id: &BackupId, force: bool, job: &Job) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let b = get_in(&mut tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("Backup", id))?;
        let deletable = matches!(b.status, BackupStatus::Available | BackupStatus::Error)
            || (force
                && !matches!(
                    b.status,
                    BackupStatus::Creating | BackupStatus::Deleting | BackupStatus::Restoring
                ));
        if !deletable {
            return Err(DomainError::state(format!(
                "Backup status must be available or error, but current status is: {}.",
                b.status
            )));
        }
        let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM backups WHERE parent_id = ?")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if children > 0 {
            return Err(DomainError::invalid(format!(
                "Incremental backups exist for backup {id}: delete them first."
            )));
        }
        set_status(&mut tx, id, BackupStatus::Deleting, None).await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn backup_finish_delete(
        &self,
        id: &BackupId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        match error {
            None => {
                sqlx::query("DELETE FROM backups WHERE id = ?")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            Some(e) => set_status(&mut tx, id, BackupStatus::ErrorDeleting, Some(e)).await?,
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn backup_update(
        &self,
        id: &BackupId,
        name: Option<Option<String>>,
        description: Option<Option<String>>,
        metadata: Option<&Metadata>,
    ) -> DomainResult<Backup> {
        let mut tx = self.begin().await?;
        let b = get_in(&mut tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("Backup", id))?;
        sqlx::query(
            "UPDATE backups SET name = ?, description = ?, metadata = ?, updated_at = ? WHERE id = ?",
        )
        .bind(name.unwrap_or(b.name))
        .bind(description.unwrap_or(b.description))
        .bind(json_text(metadata.unwrap_or(&b.metadata)))
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let b = get_in(&mut tx, id)
            .await?
            .ok_or_else(|| DomainError::not_found("Backup", id))?;
        tx.commit().await.map_err(db_err)?;
        Ok(b)
    }

    async fn backup_cas_status(
        &self,
        id: &BackupId,
        from: &[BackupStatus],
        to: BackupStatus,
    ) -> DomainResult<bool> {
        let mut tx = self.begin().await?;
        let done = cas_in(&mut tx, id, from, to).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(done)
    }

    async fn backup_import(&self, b: &Backup) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        insert(&mut tx, b).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn backup_begin_restore(
        &self,
        id: &BackupId,
        volume_id: &VolumeId,
        job: &Job,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let b = begin_restore_in(&mut tx, id).await?;
        let v = require_volume(&mut tx, volume_id).await?;
        if v.status != VolumeStatus::Available {
            return Err(DomainError::volume_state(format!(
                "Invalid volume: Volume to be restored to must be available, but current status is: {}.",
                v.status
            )));
        }
        if v.size < b.size {
            return Err(DomainError::volume_state(format!(
                "Invalid volume: volume size {} is too small to restore backup of size {}.",
                v.size, b.size
            )));
        }
        if !cas(
            &mut tx,
            volume_id,
            &[VolumeStatus::Available],
            VolumeStatus::RestoringBackup,
        )
        .await?
        {
            return Err(DomainError::volume_state(format!(
                "Volume {volume_id} changed status concurrently."
            )));
        }
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn backup_finish_restore(
        &self,
        id: &BackupId,
        volume_id: &VolumeId,
        job_id: &JobId,
        source: Option<&BackupSource>,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        cas_in(
            &mut tx,
            id,
            &[BackupStatus::Restoring],
            BackupStatus::Available,
        )
        .await?;
        let to = if error.is_some() {
            VolumeStatus::ErrorRestoring
        } else {
            VolumeStatus::Available
        };
        if cas(&mut tx, volume_id, &[VolumeStatus::RestoringBackup], to).await? && error.is_none() {
            if let Some(src) = source {
                super::volume_rows::restore_source(&mut tx, volume_id, src).await?;
            }
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }
}
