//! Snapshots: rows, metadata, and the transactions that start and finish
//! their jobs.

use async_trait::async_trait;
use platter_model::{
    DomainError, DomainResult, Job, JobId, Metadata, Snapshot, SnapshotId, SnapshotStatus,
    VolumeStatus,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::metadata::{self, MetaTable};
use super::page::PageSql;
use super::quotas;
use super::volume_rows::require_volume;
use super::{db_err, jobs, now_text, parse_enum, RowExt, SqliteStore};
use crate::repo::{NewSnapshot, QuotaDefaults, SnapshotQuery, SnapshotRepo};

fn snapshot_from_row(r: &SqliteRow) -> DomainResult<Snapshot> {
    Ok(Snapshot {
        id: r.id("id"),
        project_id: r.id("project_id"),
        user_id: r.id("user_id"),
        volume_id: r.id("volume_id"),
        name: r.get("name"),
        description: r.get("description"),
        size: r.get("size"),
        status: parse_enum(&r.get::<String, _>("status"))?,
        metadata: Metadata::new(),
        created_at: r.ts("created_at")?,
        updated_at: r.ts_opt("updated_at")?,
        enterprise_project_id: r.get("enterprise_project_id"),
        tags: Metadata::new(),
        instant_access: r.get::<i64, _>("instant_access") != 0,
        reported_progress: r.get("progress"),
        group_snapshot_id: r.id_opt("group_snapshot_id"),
    })
}

fn push_filters(qb: &mut QueryBuilder<'_, Sqlite>, q: &SnapshotQuery) {
    qb.push(" WHERE 1=1");
    if let Some(p) = &q.project_id {
        qb.push(" AND s.project_id = ").push_bind(p.to_string());
    }
    if let Some(n) = &q.name {
        qb.push(" AND s.name = ").push_bind(n.clone());
    }
    if let Some(st) = &q.status {
        qb.push(" AND s.status = ").push_bind(st.clone());
    }
    if let Some(v) = &q.volume_id {
        qb.push(" AND s.volume_id = ").push_bind(v.to_string());
    }
    if let Some(g) = &q.group_snapshot_id {
        qb.push(" AND s.group_snapshot_id = ")
            .push_bind(g.to_string());
    }
    if let Some(ep) = &q.enterprise_project_id {
        qb.push(" AND s.enterprise_project_id = ")
            .push_bind(ep.clone());
    }
    if let Some(eps) = &q.enterprise_projects {
        super::metadata::push_in(qb, "s.enterprise_project_id", eps);
    }
    if let Some(az) = &q.availability_zone {
        qb.push(" AND EXISTS (SELECT 1 FROM volumes vz WHERE vz.id = s.volume_id AND vz.availability_zone = ")
            .push_bind(az.clone())
            .push(")");
    }
    if let Some(ids) = &q.ids {
        metadata::push_id_filter(qb, "s", ids);
    }
    metadata::push_tag_filter(qb, MetaTable::SnapshotTags, "s", &q.tags);
    metadata::push_filter(qb, MetaTable::Snapshot, "s", &q.metadata);
}

async fn load_metadata(conn: &mut SqliteConnection, snaps: &mut [Snapshot]) -> DomainResult<()> {
    let ids: Vec<&str> = snaps.iter().map(|s| s.id.as_str()).collect();
    let mut found = metadata::load(conn, MetaTable::Snapshot, &ids).await?;
    let mut tags = metadata::load(conn, MetaTable::SnapshotTags, &ids).await?;
    for s in snaps.iter_mut() {
        s.metadata = found.remove(s.id.as_str()).unwrap_or_default();
        s.tags = tags.remove(s.id.as_str()).unwrap_or_default();
    }
    Ok(())
}

async fn get_in(conn: &mut SqliteConnection, id: &SnapshotId) -> DomainResult<Option<Snapshot>> {
    let row = sqlx::query("SELECT * FROM snapshots WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let mut snaps = vec![snapshot_from_row(&row)?];
    load_metadata(conn, &mut snaps).await?;
    Ok(snaps.pop())
}

pub(crate) async fn require_in(
    conn: &mut SqliteConnection,
    id: &SnapshotId,
) -> DomainResult<Snapshot> {
    get_in(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("Snapshot", id))
}

async fn touch(conn: &mut SqliteConnection, id: &SnapshotId) -> DomainResult<()> {
    sqlx::query("UPDATE snapshots SET updated_at = ? WHERE id = ?")
        .bind(now_text())
        .bind(id.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl SnapshotRepo for SqliteStore {
    async fn snapshot_get(&self, id: &SnapshotId) -> DomainResult<Option<Snapshot>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        get_in(&mut conn, id).await
    }

    async fn snapshot_list(&self, q: &SnapshotQuery) -> DomainResult<Vec<Snapshot>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        if let Some(marker) = &q.page.marker {
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM snapshots WHERE id = ");
            qb.push_bind(marker.clone());
            if let Some(p) = &q.project_id {
                qb.push(" AND project_id = ").push_bind(p.to_string());
            }
            let found: i64 = qb
                .build_query_scalar()
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
            if found == 0 {
                return Err(DomainError::not_found("Marker", marker.clone()));
            }
        }
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT s.* FROM snapshots s");
        push_filters(&mut qb, q);
        q.page.push_marker(&mut qb, "snapshots", "s");
        q.page.push_order_and_limit(&mut qb, "s");
        let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
        let mut snaps = rows
            .iter()
            .map(snapshot_from_row)
            .collect::<DomainResult<Vec<_>>>()?;
        load_metadata(&mut conn, &mut snaps).await?;
        Ok(snaps)
    }

    /// How many snapshots match a query, ignoring its paging.
    async fn snapshot_count(&self, q: &SnapshotQuery) -> DomainResult<i64> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM snapshots s");
        push_filters(&mut qb, q);
        qb.build_query_scalar()
            .fetch_one(&self.read)
            .await
            .map_err(db_err)
    }

    /// Sets the EVS v5 `instant_access` flag.
    async fn snapshot_set_instant_access(&self, id: &SnapshotId, on: bool) -> DomainResult<()> {
        sqlx::query("UPDATE snapshots SET instant_access = ?, updated_at = ? WHERE id = ?")
            .bind(on as i64)
            .bind(now_text())
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn snapshot_list_transitional(&self) -> DomainResult<Vec<Snapshot>> {
        let rows = sqlx::query(
            "SELECT * FROM snapshots WHERE status IN ('creating', 'deleting', 'rollbacking')",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(snapshot_from_row).collect()
    }

    /// Creates the snapshot row and its job, after checking the volume's
    /// status and counting quota, in one transaction.
    async fn snapshot_create(
        &self,
        s: &NewSnapshot,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<Snapshot> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, &s.volume_id).await?;
        let allowed =
            v.status == VolumeStatus::Available || (s.force && v.status == VolumeStatus::InUse);
        if !allowed {
            let why = if v.status == VolumeStatus::InUse {
                "Volume is attached (in-use); use force to snapshot it anyway.".to_string()
            } else {
                format!(
                    "Volume {} status must be available, but current status is: {}.",
                    v.id, v.status
                )
            };
            return Err(DomainError::volume_state(why));
        }
        let t = &v.volume_type_name;
        let deltas = vec![
            ("snapshots".to_string(), 1),
            ("gigabytes".to_string(), v.size),
            (format!("snapshots_{t}"), 1),
            (format!("gigabytes_{t}"), v.size),
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
        .bind(v.size)
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
        let created = require_in(&mut tx, &s.id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn snapshot_finish_create(
        &self,
        id: &SnapshotId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let to = if error.is_some() {
            SnapshotStatus::Error
        } else {
            SnapshotStatus::Available
        };
        sqlx::query(
            "UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ? AND status = 'creating'",
        )
        .bind(to.as_str())
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn snapshot_update(
        &self,
        id: &SnapshotId,
        name: Option<Option<String>>,
        description: Option<Option<String>>,
    ) -> DomainResult<Snapshot> {
        let mut tx = self.begin().await?;
        require_in(&mut tx, id).await?;
        if let Some(n) = name {
            sqlx::query("UPDATE snapshots SET name = ? WHERE id = ?")
                .bind(n)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(d) = description {
            sqlx::query("UPDATE snapshots SET description = ? WHERE id = ?")
                .bind(d)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        touch(&mut tx, id).await?;
        let s = require_in(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(s)
    }

    async fn snapshot_metadata_set(
        &self,
        id: &SnapshotId,
        metadata: &Metadata,
        replace: bool,
    ) -> DomainResult<Metadata> {
        let mut tx = self.begin().await?;
        require_in(&mut tx, id).await?;
        if replace {
            metadata::replace(&mut tx, MetaTable::Snapshot, id.as_str(), metadata).await?;
        } else {
            metadata::upsert(&mut tx, MetaTable::Snapshot, id.as_str(), metadata).await?;
        }
        touch(&mut tx, id).await?;
        let s = require_in(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(s.metadata)
    }

    async fn snapshot_metadata_delete(&self, id: &SnapshotId, key: &str) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require_in(&mut tx, id).await?;
        if !metadata::delete_key(&mut tx, MetaTable::Snapshot, id.as_str(), key).await? {
            return Err(DomainError::not_found("Metadata item", key));
        }
        touch(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn snapshot_report_status(
        &self,
        id: &SnapshotId,
        status: SnapshotStatus,
        progress: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        let allowed = match s.status {
            SnapshotStatus::Creating => matches!(
                status,
                SnapshotStatus::Creating | SnapshotStatus::Available | SnapshotStatus::Error
            ),
            SnapshotStatus::Deleting => {
                matches!(
                    status,
                    SnapshotStatus::Deleting | SnapshotStatus::ErrorDeleting
                )
            }
            _ => false,
        };
        if !allowed {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot {id} is {}; it cannot be reported {status}.",
                s.status
            )));
        }
        sqlx::query("UPDATE snapshots SET status = ?, progress = COALESCE(?, progress), updated_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(progress)
            .bind(now_text())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn snapshot_set_status(
        &self,
        id: &SnapshotId,
        status: SnapshotStatus,
    ) -> DomainResult<()> {
        let res = sqlx::query("UPDATE snapshots SET status = ?, updated_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(now_text())
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Snapshot", id));
        }
        Ok(())
    }

    /// Moves a snapshot to `deleting` and records the job.
    async fn snapshot_begin_delete(
        &self,
        id: &SnapshotId,
        job: &Job,
        force: bool,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let s = require_in(&mut tx, id).await?;
        if let Some(gs) = &s.group_snapshot_id {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot {id} is part of group snapshot {gs}; delete the group snapshot instead."
            )));
        }
        if force {
            // Whatever the status, but never under a job still at work on it.
            let running: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE resource_id = ? AND status IN ('queued', 'running')",
            )
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            if running > 0 {
                return Err(DomainError::snapshot_state(format!(
                    "Snapshot {id} has an operation in progress; force delete it once that ends."
                )));
            }
        } else if !SnapshotStatus::DELETABLE.contains(&s.status) {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot status must be available or error, but current status is: {}.",
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
        sqlx::query("UPDATE snapshots SET status = 'deleting', updated_at = ? WHERE id = ?")
            .bind(now_text())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn snapshot_finish_delete(
        &self,
        id: &SnapshotId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if error.is_some() {
            sqlx::query("UPDATE snapshots SET status = 'error_deleting', updated_at = ? WHERE id = ? AND status = 'deleting'")
                .bind(now_text())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        } else {
            sqlx::query("DELETE FROM snapshots WHERE id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }
}
