//! Backup rows: reading, inserting and moving their status inside a
//! caller's transaction (shared by the backup and volume repositories).

use platter_model::{Backup, BackupId, BackupStatus, DomainError, DomainResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{db_err, now_text, opt_str, parse_enum, RowExt};

pub(crate) fn backup_from_row(r: &SqliteRow) -> DomainResult<Backup> {
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

pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// Inserts a backup row as `b` has it.
pub(crate) async fn insert(conn: &mut SqliteConnection, b: &Backup) -> DomainResult<()> {
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
pub(crate) async fn cas_in(
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

pub(crate) async fn get_in(
    conn: &mut SqliteConnection,
    id: &BackupId,
) -> DomainResult<Option<Backup>> {
    let row = sqlx::query("SELECT * FROM backups WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(backup_from_row).transpose()
}

pub(crate) async fn set_status(
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
