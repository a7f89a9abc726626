//! Attachments (the volume status they imply is settled by
//! `volume_rows::settle`).
//!
//! Every change to a volume's attachments runs in one transaction that
//! also settles the volume's status from the attachments it has left
//! (`available`, `reserved`, `attaching`, `in-use`), so racing attach,
//! detach and delete requests cannot leave the two disagreeing.

use async_trait::async_trait;
use platter_model::{
    AttachMode, Attachment, AttachmentId, AttachmentStatus, DomainError, DomainResult, Volume,
    VolumeId, VolumeStatus,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::page::PageSql;
use super::volume_rows::{attachment_from_row, require_volume, set_status, settle};
use super::{db_err, now_text, SqliteStore};
use crate::repo::{AttachmentQuery, AttachmentRepo, NewAttachment};

async fn require(conn: &mut SqliteConnection, id: &AttachmentId) -> DomainResult<Attachment> {
    let row = sqlx::query("SELECT * FROM attachments WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match row {
        Some(r) => attachment_from_row(&r),
        None => Err(DomainError::not_found("Attachment", id)),
    }
}

/// Statuses a volume may gain an attachment in.
const ATTACHABLE: &[VolumeStatus] = &[
    VolumeStatus::Available,
    VolumeStatus::Reserved,
    VolumeStatus::Attaching,
    VolumeStatus::InUse,
];

pub(crate) fn check_attachable(v: &Volume, mode: AttachMode) -> DomainResult<()> {
    if !ATTACHABLE.contains(&v.status) {
        return Err(DomainError::volume_state(format!(
            "Volume {} status must be available or in-use (multiattach) to attach, but it is {}.",
            v.id, v.status
        )));
    }
    if !v.multiattach && !v.attachments.is_empty() {
        return Err(DomainError::volume_state(format!(
            "Volume {} is already reserved or attached and is not multiattach.",
            v.id
        )));
    }
    if v.readonly && mode == AttachMode::ReadWrite {
        return Err(DomainError::invalid(format!(
            "Invalid attach mode 'rw' for volume {}: the volume is read-only.",
            v.id
        )));
    }
    Ok(())
}

pub(crate) async fn insert(conn: &mut SqliteConnection, a: &NewAttachment) -> DomainResult<()> {
    let now = now_text();
    let attached_at = (a.status == AttachmentStatus::Attached).then(|| now.clone());
    sqlx::query(
        "INSERT INTO attachments (id, volume_id, project_id, instance_uuid, connector, host, mountpoint, \
         attach_mode, status, export_name, created_at, updated_at, attached_at, detached_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)",
    )
    .bind(a.id.as_str())
    .bind(a.volume_id.as_str())
    .bind(a.project_id.as_str())
    .bind(&a.instance_uuid)
    .bind(a.connector.as_ref().map(|c| c.to_string()))
    .bind(&a.host)
    .bind(&a.mountpoint)
    .bind(a.mode.as_str())
    .bind(a.status.as_str())
    .bind(&a.export_name)
    .bind(&now)
    .bind(&attached_at)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl AttachmentRepo for SqliteStore {
    async fn attachment_get(&self, id: &AttachmentId) -> DomainResult<Option<Attachment>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        match require(&mut conn, id).await {
            Ok(a) => Ok(Some(a)),
            Err(DomainError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn attachment_list(&self, q: &AttachmentQuery) -> DomainResult<Vec<Attachment>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT a.* FROM attachments a WHERE 1=1");
        if let Some(p) = &q.project_id {
            qb.push(" AND a.project_id = ").push_bind(p.to_string());
        }
        if let Some(v) = &q.volume_id {
            qb.push(" AND a.volume_id = ").push_bind(v.to_string());
        }
        if let Some(i) = &q.instance_uuid {
            qb.push(" AND a.instance_uuid = ").push_bind(i.clone());
        }
        if let Some(s) = &q.status {
            qb.push(" AND a.status = ").push_bind(s.clone());
        }
        q.page.push_marker(&mut qb, "attachments", "a");
        q.page.push_order_and_limit(&mut qb, "a");
        let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
        rows.iter().map(attachment_from_row).collect()
    }

    /// Attachments that hold an export: republished at start.
    async fn attachment_list_exported(&self) -> DomainResult<Vec<Attachment>> {
        let rows = sqlx::query("SELECT * FROM attachments WHERE export_name IS NOT NULL")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(attachment_from_row).collect()
    }

    /// Creates an attachment (reserved, or attaching with a connector) if
    /// the volume may take one; the volume's status follows.
    async fn attachment_create(&self, a: &NewAttachment) -> DomainResult<Attachment> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, &a.volume_id).await?;
        check_attachable(&v, a.mode)?;
        insert(&mut tx, a).await?;
        settle(&mut tx, &a.volume_id).await?;
        let out = require(&mut tx, &a.id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    /// Gives an attachment its connector and export (status `attaching`),
    /// keeping an export it already has.
    async fn attachment_connect(
        &self,
        id: &AttachmentId,
        connector: &serde_json::Value,
        host: Option<&str>,
        export_name: &str,
    ) -> DomainResult<Attachment> {
        let mut tx = self.begin().await?;
        let a = require(&mut tx, id).await?;
        let status = match a.status {
            AttachmentStatus::Reserved | AttachmentStatus::Attaching => AttachmentStatus::Attaching,
            AttachmentStatus::Attached => AttachmentStatus::Attached,
            other => {
                return Err(DomainError::attachment_state(format!(
                    "attachment {id} is {other} and cannot be connected."
                )))
            }
        };
        sqlx::query(
            "UPDATE attachments SET connector = ?, host = COALESCE(?, host), status = ?, \
             export_name = COALESCE(export_name, ?), updated_at = ? WHERE id = ?",
        )
        .bind(connector.to_string())
        .bind(host)
        .bind(status.as_str())
        .bind(export_name)
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        settle(&mut tx, &a.volume_id).await?;
        let out = require(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    /// Marks an attachment attached (Cinder's `os-complete`, or legacy
    /// `os-attach`), filling in what the caller knows.
    async fn attachment_mark_attached(
        &self,
        id: &AttachmentId,
        instance_uuid: Option<&str>,
        mountpoint: Option<&str>,
        host: Option<&str>,
    ) -> DomainResult<Attachment> {
        let mut tx = self.begin().await?;
        let a = require(&mut tx, id).await?;
        if !matches!(
            a.status,
            AttachmentStatus::Reserved | AttachmentStatus::Attaching | AttachmentStatus::Attached
        ) {
            return Err(DomainError::attachment_state(format!(
                "attachment {id} is {} and cannot be completed.",
                a.status
            )));
        }
        sqlx::query(
            "UPDATE attachments SET status = 'attached', instance_uuid = COALESCE(?, instance_uuid), \
             mountpoint = COALESCE(?, mountpoint), host = COALESCE(?, host), \
             attached_at = COALESCE(attached_at, ?), updated_at = ? WHERE id = ?",
        )
        .bind(instance_uuid)
        .bind(mountpoint)
        .bind(host)
        .bind(now_text())
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        settle(&mut tx, &a.volume_id).await?;
        let out = require(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    /// Drops an attachment's export (legacy `os-terminate_connection`); an
    /// attachment that was never attached goes with it.
    async fn attachment_disconnect(&self, id: &AttachmentId) -> DomainResult<Attachment> {
        let mut tx = self.begin().await?;
        let a = require(&mut tx, id).await?;
        if a.status == AttachmentStatus::Attached {
            sqlx::query("UPDATE attachments SET export_name = NULL, connector = NULL, updated_at = ? WHERE id = ?")
                .bind(now_text())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        } else {
            sqlx::query("DELETE FROM attachments WHERE id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        settle(&mut tx, &a.volume_id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(a)
    }

    /// Deletes an attachment; the volume's status follows. Returns it.
    async fn attachment_delete(&self, id: &AttachmentId) -> DomainResult<Attachment> {
        let mut tx = self.begin().await?;
        let a = require(&mut tx, id).await?;
        sqlx::query("DELETE FROM attachments WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        settle(&mut tx, &a.volume_id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(a)
    }

    /// Deletes every attachment of a volume matching `filter`; returns them.
    async fn attachment_delete_where(
        &self,
        volume_id: &VolumeId,
        filter: &(dyn for<'a> Fn(&'a Attachment) -> bool + Send + Sync),
    ) -> DomainResult<Vec<Attachment>> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, volume_id).await?;
        let gone: Vec<Attachment> = v.attachments.into_iter().filter(|a| filter(a)).collect();
        for a in &gone {
            sqlx::query("DELETE FROM attachments WHERE id = ?")
                .bind(a.id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        settle(&mut tx, volume_id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(gone)
    }

    /// Compare-and-swap of an attached volume between `in-use` and
    /// `detaching` (legacy `os-begin_detaching` / `os-roll_detaching`).
    async fn volume_detaching(&self, volume_id: &VolumeId, begin: bool) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, volume_id).await?;
        let (from, to) = if begin {
            (VolumeStatus::InUse, VolumeStatus::Detaching)
        } else {
            (VolumeStatus::Detaching, VolumeStatus::InUse)
        };
        if v.status != from {
            return Err(DomainError::volume_state(format!(
                "Volume {volume_id} status must be {from}, but it is {}.",
                v.status
            )));
        }
        set_status(&mut tx, volume_id, to).await?;
        settle(&mut tx, volume_id).await?;
        tx.commit().await.map_err(db_err)
    }
}
