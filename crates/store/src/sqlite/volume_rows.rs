//! Volume rows as the other modules read them (with their metadata, tags
//! and attachments), and the status a volume's attachments imply: shared by
//! volumes, attachments and snapshots.

use std::collections::HashMap;

use platter_model::{
    Attachment, AttachmentStatus, DomainError, DomainResult, Metadata, ReplicationStatus, Volume,
    VolumeId, VolumeStatus,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::metadata::{self, MetaTable};
use super::{db_err, now_text, opt_str, parse_enum, RowExt};
use crate::repo::NewVolume;

pub(crate) const SELECT_VOLUME: &str =
    "SELECT v.*, t.name AS type_name FROM volumes v JOIN volume_types t ON t.id = v.volume_type_id";

pub(crate) fn volume_from_row(r: &SqliteRow) -> DomainResult<Volume> {
    Ok(Volume {
        id: r.id("id"),
        project_id: r.id("project_id"),
        user_id: r.id("user_id"),
        name: r.get("name"),
        description: r.get("description"),
        size: r.get("size"),
        status: parse_enum(&r.get::<String, _>("status"))?,
        availability_zone: r.get("availability_zone"),
        volume_type_id: r.id("volume_type_id"),
        volume_type_name: r.get("type_name"),
        bootable: r.get::<i64, _>("bootable") != 0,
        multiattach: r.get::<i64, _>("multiattach") != 0,
        readonly: r.get::<i64, _>("readonly") != 0,
        snapshot_id: r.id_opt("snapshot_id"),
        source_volid: r.id_opt("source_volid"),
        metadata: Metadata::new(),
        created_at: r.ts("created_at")?,
        updated_at: r.ts_opt("updated_at")?,
        iops: r.get("iops"),
        throughput: r.get("throughput"),
        attachments: Vec::new(),
        enterprise_project_id: r.get("enterprise_project_id"),
        tags: Metadata::new(),
        image_metadata: Metadata::new(),
        pool: r.get("pool"),
        order: r.id_opt("order_id"),
        migration_status: r
            .get::<Option<String>, _>("migration_status")
            .map(|s| parse_enum(&s))
            .transpose()?,
        group_id: r.id_opt("group_id"),
        replication_status: parse_enum(&r.get::<String, _>("replication_status"))?,
        replica_pool: r.get("replica_pool"),
    })
}

/// Inserts a new volume row (`creating`) with its metadata and tags,
/// inside the caller's transaction.
pub(crate) async fn insert_volume(conn: &mut SqliteConnection, v: &NewVolume) -> DomainResult<()> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO volumes (id, project_id, user_id, name, description, size, status, availability_zone, \
         volume_type_id, bootable, multiattach, readonly, snapshot_id, source_volid, created_at, updated_at, \
         iops, throughput, enterprise_project_id, pool, order_id, group_id, replication_status, replica_pool) \
         VALUES (?, ?, ?, ?, ?, ?, 'creating', ?, ?, ?, ?, 0, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(v.id.as_str())
    .bind(v.project_id.as_str())
    .bind(v.user_id.as_str())
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.size)
    .bind(&v.availability_zone)
    .bind(v.volume_type_id.as_str())
    .bind(v.bootable as i64)
    .bind(v.multiattach as i64)
    .bind(opt_str(&v.snapshot_id))
    .bind(opt_str(&v.source_volid))
    .bind(&now)
    .bind(v.iops)
    .bind(v.throughput)
    .bind(&v.enterprise_project_id)
    .bind(&v.pool)
    .bind(opt_str(&v.order))
    .bind(opt_str(&v.group_id))
    .bind(if v.replica_pool.is_some() {
        ReplicationStatus::Copying
    } else {
        ReplicationStatus::Disabled
    }
    .as_str())
    .bind(&v.replica_pool)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    metadata::upsert(conn, MetaTable::Volume, v.id.as_str(), &v.metadata).await?;
    metadata::upsert(conn, MetaTable::VolumeTags, v.id.as_str(), &v.tags).await?;
    metadata::upsert(
        conn,
        MetaTable::VolumeImage,
        v.id.as_str(),
        &v.image_metadata,
    )
    .await?;
    // A copy keeps what its source knew of its image (Cinder copies the
    // glance metadata): a clone its volume's, a volume from a snapshot the
    // snapshot's volume's.
    let source = match (&v.source_volid, &v.snapshot_id) {
        (Some(src), _) => Some(src.to_string()),
        (None, Some(snap)) => sqlx::query_scalar("SELECT volume_id FROM snapshots WHERE id = ?")
            .bind(snap.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?,
        (None, None) => None,
    };
    if let Some(src) = source {
        sqlx::query(
            "INSERT INTO volume_image_metadata (volume_id, key, value) \
             SELECT ?, key, value FROM volume_image_metadata WHERE volume_id = ?",
        )
        .bind(v.id.as_str())
        .bind(src)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) fn attachment_from_row(r: &SqliteRow) -> DomainResult<Attachment> {
    let connector: Option<String> = r.get("connector");
    Ok(Attachment {
        id: r.id("id"),
        volume_id: r.id("volume_id"),
        project_id: r.id("project_id"),
        instance_uuid: r.get("instance_uuid"),
        connector: connector.and_then(|c| serde_json::from_str(&c).ok()),
        host: r.get("host"),
        mountpoint: r.get("mountpoint"),
        attach_mode: parse_enum(&r.get::<String, _>("attach_mode"))?,
        status: parse_enum(&r.get::<String, _>("status"))?,
        export_name: r.get("export_name"),
        created_at: r.ts("created_at")?,
        attached_at: r.ts_opt("attached_at")?,
        detached_at: r.ts_opt("detached_at")?,
    })
}

/// The attachments of every volume in `ids`, oldest first.
pub(crate) async fn load_for(
    conn: &mut SqliteConnection,
    ids: &[&str],
) -> DomainResult<HashMap<VolumeId, Vec<Attachment>>> {
    let mut out: HashMap<VolumeId, Vec<Attachment>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM attachments WHERE volume_id IN (");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(id.to_string());
    }
    qb.push(") ORDER BY created_at, id");
    for r in qb.build().fetch_all(&mut *conn).await.map_err(db_err)? {
        let a = attachment_from_row(&r)?;
        out.entry(a.volume_id.clone()).or_default().push(a);
    }
    Ok(out)
}

/// Fills in each volume's metadata and attachments.
pub(crate) async fn load_metadata(
    conn: &mut SqliteConnection,
    volumes: &mut [Volume],
) -> DomainResult<()> {
    let ids: Vec<&str> = volumes.iter().map(|v| v.id.as_str()).collect();
    let mut found = metadata::load(conn, MetaTable::Volume, &ids).await?;
    let mut attached = load_for(conn, &ids).await?;
    let mut tags = metadata::load(conn, MetaTable::VolumeTags, &ids).await?;
    let mut image = metadata::load(conn, MetaTable::VolumeImage, &ids).await?;
    for v in volumes.iter_mut() {
        v.image_metadata = image.remove(v.id.as_str()).unwrap_or_default();
        v.metadata = found.remove(v.id.as_str()).unwrap_or_default();
        v.tags = tags.remove(v.id.as_str()).unwrap_or_default();
        v.attachments = attached.remove(&v.id).unwrap_or_default();
    }
    Ok(())
}

pub(crate) async fn get_in(
    conn: &mut SqliteConnection,
    id: &VolumeId,
) -> DomainResult<Option<Volume>> {
    let row = sqlx::query(&format!("{SELECT_VOLUME} WHERE v.id = ?"))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let mut vols = vec![volume_from_row(&row)?];
    load_metadata(conn, &mut vols).await?;
    Ok(vols.pop())
}

pub(crate) async fn require_volume(
    conn: &mut SqliteConnection,
    id: &VolumeId,
) -> DomainResult<Volume> {
    get_in(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("Volume", id))
}

pub(crate) async fn set_status(
    conn: &mut SqliteConnection,
    id: &VolumeId,
    status: VolumeStatus,
) -> DomainResult<()> {
    set_column(conn, id, "status", status.as_str()).await
}

/// Sets a volume's text `column` (a constant name) to `value`.
pub(crate) async fn set_column(
    conn: &mut SqliteConnection,
    id: &VolumeId,
    column: &'static str,
    value: &str,
) -> DomainResult<()> {
    sqlx::query(&format!(
        "UPDATE volumes SET {column} = ?, updated_at = ? WHERE id = ?"
    ))
    .bind(value)
    .bind(now_text())
    .bind(id.as_str())
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Gives a volume what a backup recorded of its source: metadata merged
/// in (the backup's keys win), the bootable flag, and the image metadata
/// (replacing the volume's, when the backup has any).
pub(crate) async fn restore_source(
    conn: &mut SqliteConnection,
    id: &VolumeId,
    src: &platter_model::BackupSource,
) -> DomainResult<()> {
    metadata::upsert(conn, MetaTable::Volume, id.as_str(), &src.metadata).await?;
    if !src.image_metadata.is_empty() {
        metadata::replace(
            conn,
            MetaTable::VolumeImage,
            id.as_str(),
            &src.image_metadata,
        )
        .await?;
    }
    sqlx::query("UPDATE volumes SET bootable = ? WHERE id = ?")
        .bind(src.bootable as i64)
        .bind(id.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// How many snapshots a volume has.
pub(crate) async fn snapshot_count(
    conn: &mut SqliteConnection,
    id: &VolumeId,
) -> DomainResult<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM snapshots WHERE volume_id = ?")
        .bind(id.as_str())
        .fetch_one(conn)
        .await
        .map_err(db_err)
}

/// Sets the volume's status from its attachments: in-use if one is
/// attached, else attaching, else reserved, else available. A volume an
/// admin or `os-begin_detaching` moved to `detaching` stays there while
/// something is still attached. A volume a job holds (`extending`,
/// `retyping`, ...) is left to the job, whose finish settles it.
pub(crate) async fn settle(
    conn: &mut SqliteConnection,
    volume_id: &VolumeId,
) -> DomainResult<VolumeStatus> {
    let v = require_volume(conn, volume_id).await?;
    if v.status.is_transitional() {
        return Ok(v.status);
    }
    let has = |s: AttachmentStatus| v.attachments.iter().any(|a| a.status == s);
    let target = if has(AttachmentStatus::Attached) {
        if v.status == VolumeStatus::Detaching {
            VolumeStatus::Detaching
        } else {
            VolumeStatus::InUse
        }
    } else if has(AttachmentStatus::Attaching) {
        VolumeStatus::Attaching
    } else if has(AttachmentStatus::Reserved) {
        VolumeStatus::Reserved
    } else {
        VolumeStatus::Available
    };
    if target != v.status {
        set_status(conn, volume_id, target).await?;
    }
    Ok(target)
}
