//! Backups: each change one transaction.

use async_trait::async_trait;
use platter_model::{
    Backup, BackupId, BackupStatus, DomainError, DomainResult, Job, JobId, ProjectId, VolumeStatus,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::volume_rows::{require_volume, settle};
use super::volumes::{begin_read, cas};
use super::{db_err, jobs, now_text, opt_str, parse_enum, quotas, RowExt, SqliteStore};
use crate::repo::{BackupRepo, QuotaDefaults};

fn backup_from_row(r: &SqliteRow) -> DomainResult<Backup> {
    Ok(Backup {
        id: r.id("id"),
        project_id: r.id("project_id"),
        user_id: r.id("user_id"),
        volume_id: r.id("volume_id"),
        name: r.get("name"),
        description: r.get("description"),
        status: parse_enum(r.get::<&str, _>("status"))?,
        size: r.get("size"),
        availability_zone: r.get("availability_zone"),
        parent_id: r.id_opt("parent_id"),
        object_count: r.get("object_count"),
        fail_reason: r.get("fail_reason"),
        created_at: r.ts("created_at")?,
        updated_at: r.ts_opt("updated_at")?,
    })
}

async fn get_in(conn: &mut SqliteConnection, id: &BackupId) -> DomainResult<Option<Backup>> {
    let row = sqlx::query("SELECT * FROM backups WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(backup_from_row).transpose()
}

async fn set_status(
    conn: &mut SqliteConnection,
    id: &BackupId,
    status: BackupStatus,
    fail_reason: Option<&str>,
) -> DomainResult<()> {
    sqlx::query("UPDATE backups SET status = ?, fail_reason = ?, updated_at = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(fail_reason)
        .bind(now_text())
        .bind(id.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

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
        let deltas = vec![
            ("backups".to_string(), 1),
            ("backup_gigabytes".to_string(), v.size),
        ];
        quotas::check(&mut tx, &b.project_id, quota, &deltas, None).await?;
        let v = begin_read(&mut tx, &b.volume_id, force, VolumeStatus::BackingUp).await?;
        sqlx::query(
            "INSERT INTO backups (id, project_id, user_id, volume_id, name, description, status, size, \
             availability_zone, parent_id, object_count, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, 'creating', ?, ?, ?, 0, ?)",
        )
        .bind(b.id.as_str())
        .bind(b.project_id.as_str())
        .bind(b.user_id.as_str())
        .bind(b.volume_id.as_str())
        .bind(&b.name)
        .bind(&b.description)
        .bind(v.size)
        .bind(&b.availability_zone)
        .bind(opt_str(&b.parent_id))
        .bind(b.created_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
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
}
