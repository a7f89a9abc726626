//! Backups: each change one transaction.

use async_trait::async_trait;
use platter_model::{
    Backup, BackupId, BackupSource, BackupStatus, DomainError, DomainResult, Job, JobId, Metadata,
    ProjectId, VolumeId, VolumeStatus,
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
        snapshot_id: r.id_opt("snapshot_id"),
        metadata: json_col(r, "metadata")?,
        data_timestamp: match r.ts_opt("data_timestamp")? {
            Some(t) => t,
            None => r.ts("created_at")?,
        },
        source: json_col(r, "volume_source")?,
    })
}

fn json_col<T: serde::de::DeserializeOwned>(r: &SqliteRow, col: &str) -> DomainResult<T> {
    serde_json::from_str(r.get::<&str, _>(col))
        .map_err(|e| DomainError::Internal(format!("backup {col}: {e}")))
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// Inserts a backup row as `b` has it.
async fn insert(conn: &mut SqliteConnection, b: &Backup) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO backups (id, project_id, user_id, volume_id, name, description, status, size, \
         availability_zone, parent_id, object_count, fail_reason, created_at, snapshot_id, metadata, \
         data_timestamp, volume_source) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(b.id.as_str())
    .bind(b.project_id.as_str())
    .bind(b.user_id.as_str())
    .bind(b.volume_id.as_str())
    .bind(&b.name)
    .bind(&b.description)
    .bind(b.status.as_str())
    .bind(b.size)
    .bind(&b.availability_zone)
    .bind(opt_str(&b.parent_id))
    .bind(b.object_count)
    .bind(&b.fail_reason)
    .bind(b.created_at.to_string())
    .bind(opt_str(&b.snapshot_id))
    .bind(json_text(&b.metadata))
    .bind(b.data_timestamp.to_string())
    .bind(json_text(&b.source))
    .execute(conn)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            DomainError::invalid(format!("Backup {} already exists.", b.id))
        }
        e => db_err(e),
    })?;
    Ok(())
}

/// Sets a backup's status if it is one of `from`; returns whether it was.
async fn cas_in(
    conn: &mut SqliteConnection,
    id: &BackupId,
    from: &[BackupStatus],
    to: BackupStatus,
) -> DomainResult<bool> {
    let mut n = 0;
    for f in from {
        n += sqlx::query(
            "UPDATE backups SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
        )
        .bind(to.as_str())
        .bind(now_text())
        .bind(id.as_str())
        .bind(f.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?
        .rows_affected();
    }
    Ok(n > 0)
}

/// Moves a backup a restore reads from `available` to `restoring`
/// (inside the caller's transaction); refused otherwise.
pub(crate) async fn begin_restore_in(
    conn: &mut SqliteConnection,
    id: &BackupId,
) -> DomainResult<Backup> {
    let b = get_in(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("Backup", id))?;
    if !cas_in(
        conn,
        id,
        &[BackupStatus::Available],
        BackupStatus::Restoring,
    )
    .await?
    {
        return Err(DomainError::invalid(format!(
            "Invalid backup: Backup status must be available, but current status is: {}.",
            b.status
        )));
    }
    Ok(b)
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
