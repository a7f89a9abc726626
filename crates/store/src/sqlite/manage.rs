//! Unmanaging and managing: one transaction each. Unmanaging deletes rows
//! only (the device stays, so there is nothing to undo after a crash);
//! managing records the new row and the job that adopts the device.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platter_model::{
    DomainError, DomainResult, Job, JobKind, Snapshot, SnapshotId, SnapshotStatus, Volume,
    VolumeId, VolumeStatus,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::metadata::{self, MetaTable};
use super::snapshots::require_in as require_snapshot;
use super::volume_rows::insert_volume;
use super::volume_rows::require_volume;
use super::{db_err, jobs, now_text, quotas, SqliteStore};
use crate::repo::{ManageRepo, NewSnapshot, NewVolume, QuotaDefaults, TrackedDevice};

/// Ids per `IN (...)` list: well under SQLite's bound-parameter limit.
const CHUNK: usize = 500;

/// How many jobs are queued or running on a resource.
async fn jobs_at_work(conn: &mut SqliteConnection, resource_id: &str) -> DomainResult<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE resource_id = ? AND status IN ('queued', 'running')",
    )
    .bind(resource_id)
    .fetch_one(conn)
    .await
    .map_err(db_err)
}

/// The unfinished manage jobs of `kind`: (source device id, new id, the
/// `volume_id` of a snapshot manage).
async fn claims(
    conn: &mut SqliteConnection,
    kind: JobKind,
) -> DomainResult<Vec<(String, String, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT resource_id, json_extract(params, '$.source_id') AS source_id, \
         json_extract(params, '$.volume_id') AS volume_id \
         FROM jobs WHERE kind = ? AND status IN ('queued', 'running')",
    )
    .bind(kind.as_str())
    .fetch_all(conn)
    .await
    .map_err(db_err)?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let source: Option<String> = r.get("source_id");
            Some((source?, r.get("resource_id"), r.get("volume_id")))
        })
        .collect())
}

/// Which of `ids` are rows of `table`, with the column `extra` of each.
async fn existing(
    conn: &mut SqliteConnection,
    table: &str,
    extra: &str,
    ids: &[String],
) -> DomainResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT id, {extra} AS extra FROM {table} WHERE id IN ("
        ));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.clone());
        }
        qb.push(")");
        let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
        out.extend(rows.iter().map(|r| (r.get("id"), r.get("extra"))));
    }
    Ok(out)
}

fn already_managed(what: &str, source: &str, by: &str) -> DomainError {
    DomainError::state(format!(
        "Unable to manage existing {what}. {} {source} already managed (as {what} {by}).",
        capitalized(what)
    ))
}

fn being_managed(what: &str, source: &str, by: &str) -> DomainError {
    DomainError::state(format!(
        "Unable to manage existing {what}. {} {source} is already being managed (as {what} {by}).",
        capitalized(what)
    ))
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[async_trait]
impl ManageRepo for SqliteStore {
    async fn volume_unmanage(&self, id: &VolumeId) -> DomainResult<Volume> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::Error) {
            return Err(DomainError::volume_state(format!(
                "Volume status must be available or error to unmanage, but current status is: {}.",
                v.status
            )));
        }
        if !v.attachments.is_empty() {
            return Err(DomainError::volume_state(format!(
                "Volume {id} is attached ({} attachments); detach it before unmanaging it.",
                v.attachments.len()
            )));
        }
        let snaps: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM snapshots WHERE volume_id = ?")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if snaps > 0 {
            return Err(DomainError::volume_state(format!(
                "Volume {id} still has {snaps} dependent snapshots; unmanage or delete them first."
            )));
        }
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM volumes WHERE status = 'creating' AND source_volid = ?",
        )
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if busy > 0 {
            return Err(DomainError::volume_state(format!(
                "Volume {id} is the source of {busy} volumes being created."
            )));
        }
        if jobs_at_work(&mut tx, id.as_str()).await? > 0 {
            return Err(DomainError::volume_state(format!(
                "Volume {id} has an operation in progress; unmanage it once that ends."
            )));
        }
        // Metadata, tags (and a transfer, which needs another status) go
        // with the row by their foreign keys.
        sqlx::query("DELETE FROM volumes WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(v)
    }

    async fn snapshot_unmanage(&self, id: &SnapshotId) -> DomainResult<Snapshot> {
        let mut tx = self.begin().await?;
        let s = require_snapshot(&mut tx, id).await?;
        if !SnapshotStatus::DELETABLE.contains(&s.status) {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot status must be available or error to unmanage, but current status is: {}.",
                s.status
            )));
        }
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM volumes WHERE snapshot_id = ? AND status = 'creating'",
        )
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if busy > 0 {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot {id} is the source of {busy} volumes being created."
            )));
        }
        if jobs_at_work(&mut tx, id.as_str()).await? > 0 {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot {id} has an operation in progress; unmanage it once that ends."
            )));
        }
        sqlx::query("DELETE FROM snapshots WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(s)
    }

    async fn volume_manage(
        &self,
        v: &NewVolume,
        source: &VolumeId,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<Volume> {
        let mut tx = self.begin().await?;
        let ids = [source.to_string()];
        if !existing(&mut tx, "volumes", "id", &ids).await?.is_empty() {
            return Err(already_managed("volume", source.as_str(), source.as_str()));
        }
        if let Some((_, by, _)) = claims(&mut tx, JobKind::VolumeManage)
            .await?
            .into_iter()
            .find(|(s, _, _)| s == source.as_str())
        {
            return Err(being_managed("volume", source.as_str(), &by));
        }
        let t = &v.volume_type_name;
        let deltas = vec![
            ("volumes".to_string(), 1),
            ("gigabytes".to_string(), v.size),
            (format!("volumes_{t}"), 1),
            (format!("gigabytes_{t}"), v.size),
        ];
        quotas::check(&mut tx, &v.project_id, quota, &deltas, Some(v.size)).await?;
        insert_volume(&mut tx, v).await?;
        jobs::insert(&mut tx, job).await?;
        let created = require_volume(&mut tx, &v.id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn snapshot_manage(
        &self,
        s: &NewSnapshot,
        size: i64,
        source: &SnapshotId,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<Snapshot> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, &s.volume_id).await?;
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(DomainError::volume_state(format!(
                "Volume {} status must be available or in-use to manage a snapshot of it, but current status is: {}.",
                v.id, v.status
            )));
        }
        let ids = [source.to_string()];
        if !existing(&mut tx, "snapshots", "id", &ids).await?.is_empty() {
            return Err(already_managed(
                "snapshot",
                source.as_str(),
                source.as_str(),
            ));
        }
        if let Some((_, by, _)) = claims(&mut tx, JobKind::SnapshotManage)
            .await?
            .into_iter()
            .find(|(src, _, _)| src == source.as_str())
        {
            return Err(being_managed("snapshot", source.as_str(), &by));
        }
        let t = &v.volume_type_name;
        let deltas = vec![
            ("snapshots".to_string(), 1),
            ("gigabytes".to_string(), size),
            (format!("snapshots_{t}"), 1),
            (format!("gigabytes_{t}"), size),
        ];
        quotas::check(&mut tx, &v.project_id, quota, &deltas, None).await?;
        sqlx::query(
            "INSERT INTO snapshots (id, project_id, user_id, volume_id, name, description, size, status, created_at, updated_at, \
             enterprise_project_id, instant_access) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'creating', ?, NULL, ?, ?)",
        )
        .bind(s.id.as_str())
        .bind(v.project_id.as_str())
        .bind(s.user_id.as_str())
        .bind(s.volume_id.as_str())
        .bind(&s.name)
        .bind(&s.description)
        .bind(size)
        .bind(now_text())
        .bind(
            s.enterprise_project_id
                .clone()
                .unwrap_or_else(|| v.enterprise_project_id.clone()),
        )
        .bind(s.instant_access as i64)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        metadata::upsert(&mut tx, MetaTable::Snapshot, s.id.as_str(), &s.metadata).await?;
        metadata::upsert(&mut tx, MetaTable::SnapshotTags, s.id.as_str(), &s.tags).await?;
        jobs::insert(&mut tx, job).await?;
        let created = require_snapshot(&mut tx, &s.id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn volume_devices_tracked(
        &self,
        ids: &[String],
    ) -> DomainResult<BTreeMap<String, TrackedDevice>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        let mut out = BTreeMap::new();
        for (source, new_id, _) in claims(&mut conn, JobKind::VolumeManage).await? {
            out.insert(
                source,
                TrackedDevice {
                    cinder_id: new_id,
                    adopting: true,
                    volume_id: None,
                },
            );
        }
        out.retain(|id, _| ids.contains(id));
        for (id, _) in existing(&mut conn, "volumes", "id", ids).await? {
            out.insert(
                id.clone(),
                TrackedDevice {
                    cinder_id: id,
                    adopting: false,
                    volume_id: None,
                },
            );
        }
        Ok(out)
    }

    async fn snapshot_devices_tracked(
        &self,
        ids: &[String],
    ) -> DomainResult<BTreeMap<String, TrackedDevice>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        let mut out = BTreeMap::new();
        for (source, new_id, volume_id) in claims(&mut conn, JobKind::SnapshotManage).await? {
            out.insert(
                source,
                TrackedDevice {
                    cinder_id: new_id,
                    adopting: true,
                    volume_id: volume_id.map(VolumeId::from),
                },
            );
        }
        out.retain(|id, _| ids.contains(id));
        for (id, volume_id) in existing(&mut conn, "snapshots", "volume_id", ids).await? {
            out.insert(
                id.clone(),
                TrackedDevice {
                    cinder_id: id,
                    adopting: false,
                    volume_id: Some(VolumeId::from(volume_id)),
                },
            );
        }
        Ok(out)
    }
}
