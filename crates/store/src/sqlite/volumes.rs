//! Volumes: rows, metadata, and the transactions that start and finish
//! their jobs.

use async_trait::async_trait;
use platter_model::{
    BackupStatus, CreateRule, DomainError, DomainResult, Job, JobGroup, JobId, Metadata, Order,
    ProjectId, SnapshotId, SnapshotStatus, Volume, VolumeId, VolumeStatus, VolumeTypeId,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::metadata::{self, MetaTable};
use super::page::PageSql;
use super::quotas;
use super::volume_rows::{
    get_in, insert_volume, load_metadata, require_volume, settle, snapshot_count, volume_from_row,
    SELECT_VOLUME,
};
use super::{db_err, jobs, now_text, SqliteStore};
use crate::repo::{ExtendTarget, NewVolume, QuotaDefaults, VolumeQuery, VolumeRepo, VolumeUpdate};

/// `text` as a `LIKE` pattern matching itself, with `\` as the escape.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends the `WHERE` conditions of a volume query (not the paging).
fn push_filters(qb: &mut QueryBuilder<'_, Sqlite>, q: &VolumeQuery) {
    qb.push(" WHERE 1=1");
    if let Some(p) = &q.project_id {
        qb.push(" AND v.project_id = ").push_bind(p.to_string());
    }
    if let Some(n) = &q.name {
        qb.push(" AND v.name = ").push_bind(n.clone());
    }
    if let Some(n) = &q.name_contains {
        // `LIKE` is case-sensitive here (see the connection options), like
        // a plain substring test.
        qb.push(" AND COALESCE(v.name, '') LIKE ")
            .push_bind(format!("%{}%", escape_like(n)))
            .push(" ESCAPE '\\'");
    }
    if let Some(s) = &q.status {
        qb.push(" AND v.status = ").push_bind(s.clone());
    }
    if let Some(az) = &q.availability_zone {
        qb.push(" AND v.availability_zone = ").push_bind(az.clone());
    }
    if let Some(b) = q.bootable {
        qb.push(" AND v.bootable = ").push_bind(b as i64);
    }
    if let Some(m) = q.multiattach {
        qb.push(" AND v.multiattach = ").push_bind(m as i64);
    }
    if let Some(t) = &q.volume_type_id {
        qb.push(" AND v.volume_type_id = ").push_bind(t.to_string());
    }
    if let Some(g) = &q.group_id {
        qb.push(" AND v.group_id = ").push_bind(g.to_string());
    }
    if let Some(ep) = &q.enterprise_project_id {
        qb.push(" AND v.enterprise_project_id = ")
            .push_bind(ep.clone());
    }
    if let Some(eps) = &q.enterprise_projects {
        super::metadata::push_in(qb, "v.enterprise_project_id", eps);
    }
    if let Some(ids) = &q.ids {
        metadata::push_id_filter(qb, "v", ids);
    }
    if let Some(server) = &q.server_id {
        qb.push(
            " AND EXISTS (SELECT 1 FROM attachments a WHERE a.volume_id = v.id AND a.instance_uuid = ",
        )
        .push_bind(server.clone())
        .push(")");
    }
    metadata::push_tag_filter(qb, MetaTable::VolumeTags, "v", &q.tags);
    metadata::push_filter(qb, MetaTable::Volume, "v", &q.metadata);
}

async fn touch(conn: &mut SqliteConnection, id: &VolumeId) -> DomainResult<()> {
    sqlx::query("UPDATE volumes SET updated_at = ? WHERE id = ?")
        .bind(now_text())
        .bind(id.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Sets a volume's status if it is one of `from`; returns whether it was.
pub(crate) async fn cas(
    conn: &mut SqliteConnection,
    id: &VolumeId,
    from: &[VolumeStatus],
    to: VolumeStatus,
) -> DomainResult<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    cas_column(conn, id, "status", &from, to.as_str()).await
}

/// Moves a volume that is `available` (or, with `force`, `in-use`) to
/// `to`, for an operation that reads it (a backup, an upload to an
/// image); returns the volume as it was.
pub(crate) async fn begin_read(
    conn: &mut SqliteConnection,
    id: &VolumeId,
    force: bool,
    to: VolumeStatus,
) -> DomainResult<platter_model::Volume> {
    let v = super::volume_rows::require_volume(conn, id).await?;
    let allowed: &[VolumeStatus] = if force {
        &[VolumeStatus::Available, VolumeStatus::InUse]
    } else {
        &[VolumeStatus::Available]
    };
    if !allowed.contains(&v.status) {
        return Err(DomainError::volume_state(format!(
            "Volume {id} status must be {}, but current status is: {}.",
            if force {
                "available or in-use"
            } else {
                "available"
            },
            v.status
        )));
    }
    if !cas(conn, id, &[v.status], to).await? {
        return Err(DomainError::volume_state(format!(
            "Volume {id} changed status concurrently."
        )));
    }
    Ok(v)
}

/// Sets a volume's status-like text `column` (a constant name) to `to`
/// if it is one of `from`; returns whether it was.
pub(crate) async fn cas_column(
    conn: &mut SqliteConnection,
    id: &VolumeId,
    column: &'static str,
    from: &[&str],
    to: &str,
) -> DomainResult<bool> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!("UPDATE volumes SET {column} = "));
    qb.push_bind(to.to_string());
    qb.push(", updated_at = ").push_bind(now_text());
    qb.push(" WHERE id = ").push_bind(id.to_string());
    qb.push(format!(" AND {column} IN ("));
    let mut sep = qb.separated(", ");
    for s in from {
        sep.push_bind(s.to_string());
    }
    qb.push(")");
    let res = qb.build().execute(conn).await.map_err(db_err)?;
    Ok(res.rows_affected() == 1)
}

fn status_list(statuses: &[VolumeStatus]) -> String {
    statuses
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl VolumeRepo for SqliteStore {
    async fn volume_get(&self, id: &VolumeId) -> DomainResult<Option<Volume>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        get_in(&mut conn, id).await
    }

    async fn volume_list(&self, q: &VolumeQuery) -> DomainResult<Vec<Volume>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        if let Some(marker) = &q.page.marker {
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM volumes WHERE id = ");
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
        let mut qb = QueryBuilder::<Sqlite>::new(SELECT_VOLUME);
        push_filters(&mut qb, q);
        q.page.push_marker(&mut qb, "volumes", "v");
        q.page.push_order_and_limit(&mut qb, "v");
        let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
        let mut vols = rows
            .iter()
            .map(volume_from_row)
            .collect::<DomainResult<Vec<_>>>()?;
        load_metadata(&mut conn, &mut vols).await?;
        Ok(vols)
    }

    /// How many volumes match a query, ignoring its paging.
    async fn volume_count(&self, q: &VolumeQuery) -> DomainResult<i64> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM volumes v");
        push_filters(&mut qb, q);
        qb.build_query_scalar()
            .fetch_one(&self.read)
            .await
            .map_err(db_err)
    }

    /// Every tag key in use on a project's volumes, with its distinct values.
    async fn volume_tag_summary(
        &self,
        project_id: &ProjectId,
    ) -> DomainResult<std::collections::BTreeMap<String, Vec<String>>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT t.key, t.value FROM volume_tags t JOIN volumes v ON v.id = t.volume_id \
             WHERE v.project_id = ? ORDER BY t.key, t.value",
        )
        .bind(project_id.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        let mut out = std::collections::BTreeMap::<String, Vec<String>>::new();
        for (k, v) in rows {
            out.entry(k).or_default().push(v);
        }
        Ok(out)
    }

    /// Adds (or overwrites) tags on a volume, refusing to go over `max`.
    async fn volume_tags_set(
        &self,
        id: &VolumeId,
        tags: &Metadata,
        max: usize,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        let mut merged = v.tags.clone();
        merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if merged.len() > max {
            return Err(DomainError::invalid(format!(
                "The Volume Tags is Exceed Max Limit Num. A volume has at most {max} tags; it would have {}.",
                merged.len()
            )));
        }
        metadata::upsert(&mut tx, MetaTable::VolumeTags, id.as_str(), tags).await?;
        touch(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Removes tags from a volume; keys it does not have are ignored.
    async fn volume_tags_delete(&self, id: &VolumeId, keys: &[String]) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require_volume(&mut tx, id).await?;
        for k in keys {
            metadata::delete_key(&mut tx, MetaTable::VolumeTags, id.as_str(), k).await?;
        }
        touch(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)
    }

    /// The pools volumes are recorded in, with how many volumes each holds.
    async fn volume_pools(&self) -> DomainResult<Vec<(String, i64)>> {
        sqlx::query_as("SELECT pool, COUNT(*) FROM volumes GROUP BY pool ORDER BY pool")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)
    }

    /// Volumes in a status that only a job may hold.
    async fn volume_list_transitional(&self) -> DomainResult<Vec<Volume>> {
        let rows = sqlx::query(&format!(
            "{SELECT_VOLUME} WHERE v.status IN ('creating', 'deleting', 'extending', 'rollbacking', 'retyping')"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(volume_from_row).collect()
    }

    /// Creates the volume row, its metadata and its create job in one
    /// transaction, after checking the source and counting quota.
    async fn volume_create(
        &self,
        v: &NewVolume,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<Volume> {
        let mut created = self
            .volume_create_batch(&[(v.clone(), job.clone())], None, None, quota)
            .await?;
        created
            .pop()
            .ok_or_else(|| DomainError::Internal("batch create returned nothing".into()))
    }

    /// Creates several volumes, each with its job, in one transaction that
    /// counts quota for all of them: all are created or none. With a group,
    /// the jobs are its members; with an order, it is recorded too.
    async fn volume_create_batch(
        &self,
        items: &[(NewVolume, Job)],
        group: Option<&JobGroup>,
        order: Option<&Order>,
        quota: &QuotaDefaults,
    ) -> DomainResult<Vec<Volume>> {
        let mut tx = self.begin().await?;
        let Some((first, _)) = items.first() else {
            return Ok(Vec::new());
        };
        if let Some(snap_id) = &first.snapshot_id {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM snapshots WHERE id = ?")
                    .bind(snap_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            match status {
                None => return Err(DomainError::not_found("Snapshot", snap_id)),
                Some(s)
                    if s != SnapshotStatus::Available.as_str()
                        && s != SnapshotStatus::BackingUp.as_str() =>
                {
                    return Err(DomainError::InvalidCreate(CreateRule::SnapshotNotUsable {
                        id: snap_id.to_string(),
                        status: s,
                    }))
                }
                Some(_) => {}
            }
        }
        if let Some(src_id) = &first.source_volid {
            let src = require_volume(&mut tx, src_id).await?;
            if !matches!(src.status, VolumeStatus::Available | VolumeStatus::InUse) {
                return Err(DomainError::volume_state(format!(
                    "Source volume status must be one of 'available', 'in-use' values, not '{}'.",
                    src.status
                )));
            }
        }
        if let Some(group_id) = &first.group_id {
            super::groups::check_joining(&mut tx, group_id.as_str(), first).await?;
        }
        let count = items.len() as i64;
        let t = &first.volume_type_name;
        let total: i64 = items.iter().map(|(v, _)| v.size).sum();
        let largest = items.iter().map(|(v, _)| v.size).max();
        let deltas = vec![
            ("volumes".to_string(), count),
            ("gigabytes".to_string(), total),
            (format!("volumes_{t}"), count),
            (format!("gigabytes_{t}"), total),
        ];
        quotas::check(&mut tx, &first.project_id, quota, &deltas, largest).await?;
        if let Some(g) = group {
            jobs::insert_group(&mut tx, g).await?;
        }
        if let Some(o) = order {
            super::orders::insert(&mut tx, o).await?;
        }
        let mut created = Vec::with_capacity(items.len());
        let mut restoring = Vec::new();
        for (v, job) in items {
            // A volume from a backup holds the backup `restoring` until its
            // data is written (one backup may fill a batch).
            if let Some(b) = job.params.restored_backup() {
                if !restoring.contains(b) {
                    super::backup_rows::begin_restore_in(&mut tx, b).await?;
                    restoring.push(b.clone());
                }
            }
            insert_volume(&mut tx, v).await?;
            jobs::insert(&mut tx, job).await?;
            created.push(require_volume(&mut tx, &v.id).await?);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    /// Ends a create job: the volume becomes `available`, or `error`.
    async fn volume_finish_create(
        &self,
        id: &VolumeId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let to = if error.is_some() {
            VolumeStatus::Error
        } else {
            VolumeStatus::Available
        };
        cas(&mut tx, id, &[VolumeStatus::Creating], to).await?;
        // A replica made with the volume is in sync once the volume is.
        sqlx::query(
            "UPDATE volumes SET replication_status = ? WHERE id = ? AND replication_status = 'copying'",
        )
        .bind(if error.is_some() { "error" } else { "active" })
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // A volume made from a backup frees the backup (unless another
        // create still reads it), in the same transaction as the job's end.
        if let Some(backup) = jobs::backup_released_by(&mut tx, job_id).await? {
            let (from, to) = ([BackupStatus::Restoring], BackupStatus::Available);
            super::backup_rows::cas_in(&mut tx, &backup, &from, to).await?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn volume_update(&self, id: &VolumeId, u: &VolumeUpdate) -> DomainResult<Volume> {
        let mut tx = self.begin().await?;
        require_volume(&mut tx, id).await?;
        if let Some(name) = &u.name {
            sqlx::query("UPDATE volumes SET name = ? WHERE id = ?")
                .bind(name)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(d) = &u.description {
            sqlx::query("UPDATE volumes SET description = ? WHERE id = ?")
                .bind(d)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(b) = u.bootable {
            sqlx::query("UPDATE volumes SET bootable = ? WHERE id = ?")
                .bind(b as i64)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(r) = u.readonly {
            sqlx::query("UPDATE volumes SET readonly = ? WHERE id = ?")
                .bind(r as i64)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(m) = &u.metadata {
            metadata::replace(&mut tx, MetaTable::Volume, id.as_str(), m).await?;
        }
        touch(&mut tx, id).await?;
        let v = require_volume(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v)
    }

    /// Merges (or, with `replace`, replaces) metadata; returns the result.
    async fn volume_metadata_set(
        &self,
        id: &VolumeId,
        metadata: &Metadata,
        replace: bool,
    ) -> DomainResult<Metadata> {
        let mut tx = self.begin().await?;
        require_volume(&mut tx, id).await?;
        if replace {
            metadata::replace(&mut tx, MetaTable::Volume, id.as_str(), metadata).await?;
        } else {
            metadata::upsert(&mut tx, MetaTable::Volume, id.as_str(), metadata).await?;
        }
        touch(&mut tx, id).await?;
        let v = require_volume(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v.metadata)
    }

    async fn volume_metadata_delete(&self, id: &VolumeId, key: &str) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require_volume(&mut tx, id).await?;
        if !metadata::delete_key(&mut tx, MetaTable::Volume, id.as_str(), key).await? {
            return Err(DomainError::not_found("Metadata item", key));
        }
        touch(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Unconditionally sets a volume's status (admin `os-reset_status`).
    async fn volume_set_status(&self, id: &VolumeId, status: VolumeStatus) -> DomainResult<()> {
        let res = sqlx::query("UPDATE volumes SET status = ?, updated_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(now_text())
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Volume", id));
        }
        Ok(())
    }

    /// Compare-and-swap of a volume's status.
    async fn volume_cas_status(
        &self,
        id: &VolumeId,
        from: &[VolumeStatus],
        to: VolumeStatus,
    ) -> DomainResult<bool> {
        let mut tx = self.begin().await?;
        let ok = cas(&mut tx, id, from, to).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ok)
    }

    /// Moves a volume (and, with `cascade`, its snapshots) to `deleting` and
    /// records the delete job, or explains why it cannot be deleted.
    async fn volume_begin_delete(
        &self,
        id: &VolumeId,
        cascade: bool,
        job: &Job,
        order: Option<&Order>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        if !VolumeStatus::DELETABLE.contains(&v.status) {
            return Err(DomainError::volume_state(format!(
                "Volume status must be one of {} to delete, but current status is: {}.",
                status_list(VolumeStatus::DELETABLE),
                v.status
            )));
        }
        if !v.attachments.is_empty() {
            return Err(DomainError::volume_state(format!(
                "Volume {id} has {} attachments; detach it first.",
                v.attachments.len()
            )));
        }
        if let Some(group) = &v.group_id {
            return Err(DomainError::volume_state(format!(
                "Volume {id} belongs to group {group}; remove it from the group, or delete the group with its volumes."
            )));
        }
        let snaps: Vec<(String, String)> =
            sqlx::query_as("SELECT id, status FROM snapshots WHERE volume_id = ?")
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
        let in_group_snapshot: Option<(String, String)> = sqlx::query_as(
            "SELECT id, group_snapshot_id FROM snapshots WHERE volume_id = ? AND group_snapshot_id IS NOT NULL LIMIT 1",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if let (true, Some((sid, gs))) = (cascade, in_group_snapshot) {
            return Err(DomainError::volume_state(format!(
                "Snapshot {sid} of volume {id} is part of group snapshot {gs}; delete the group snapshot first."
            )));
        }
        if !snaps.is_empty() && !cascade {
            return Err(DomainError::volume_state(format!(
                "Volume {id} still has {} dependent snapshots.",
                snaps.len()
            )));
        }
        if let Some((sid, st)) = snaps
            .iter()
            .find(|(_, st)| !SnapshotStatus::DELETABLE.iter().any(|d| d.as_str() == st))
        {
            return Err(DomainError::volume_state(format!(
                "Snapshot {sid} of volume {id} is in status {st}; it must be available or error to cascade delete."
            )));
        }
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM volumes WHERE status = 'creating' AND \
             (source_volid = ? OR snapshot_id IN (SELECT id FROM snapshots WHERE volume_id = ?))",
        )
        .bind(id.as_str())
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if busy > 0 {
            return Err(DomainError::volume_state(format!(
                "Volume {id} is the source of {busy} volumes being created."
            )));
        }
        if !cas(&mut tx, id, VolumeStatus::DELETABLE, VolumeStatus::Deleting).await? {
            return Err(DomainError::volume_state(format!(
                "Volume {id} changed status concurrently."
            )));
        }
        if cascade {
            sqlx::query(
                "UPDATE snapshots SET status = 'deleting', updated_at = ? WHERE volume_id = ?",
            )
            .bind(now_text())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        jobs::insert(&mut tx, job).await?;
        if let Some(o) = order {
            super::orders::insert(&mut tx, o).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// Ends a delete job: the volume's rows (and its snapshots') go, or the
    /// volume becomes `error_deleting`.
    async fn volume_finish_delete(
        &self,
        id: &VolumeId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if error.is_some() {
            cas(
                &mut tx,
                id,
                &[VolumeStatus::Deleting],
                VolumeStatus::ErrorDeleting,
            )
            .await?;
            sqlx::query("UPDATE snapshots SET status = 'error_deleting' WHERE volume_id = ? AND status = 'deleting'")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        } else {
            sqlx::query("DELETE FROM snapshots WHERE volume_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query("DELETE FROM volumes WHERE id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Moves a volume from `from` (`available`, or `in-use` where the API
    /// allows an online extend) to `extending` and records the job, counting
    /// the extra gigabytes against quota. The job's finish restores `from`.
    async fn volume_begin_extend(
        &self,
        id: &VolumeId,
        new_size: i64,
        from: VolumeStatus,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<()> {
        let target = ExtendTarget {
            volume_id: id.clone(),
            new_size,
            from,
            job: job.clone(),
        };
        self.volume_begin_extend_batch(&[target], None, None, quota)
            .await
    }

    /// Starts extending several volumes in one transaction: every status is
    /// checked and swapped, the extra gigabytes of all of them are counted
    /// against quota together, and the jobs (with their group and order, if
    /// any) are recorded; all start or none does.
    async fn volume_begin_extend_batch(
        &self,
        targets: &[ExtendTarget],
        group: Option<&JobGroup>,
        order: Option<&Order>,
        quota: &QuotaDefaults,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let mut deltas: Vec<(String, i64)> = Vec::new();
        let mut add = |k: String, d: i64| match deltas.iter_mut().find(|(n, _)| *n == k) {
            Some((_, total)) => *total += d,
            None => deltas.push((k, d)),
        };
        let mut project = None;
        let mut largest = None;
        for t in targets {
            let v = require_volume(&mut tx, &t.volume_id).await?;
            let id = &v.id;
            if v.status != t.from {
                return Err(DomainError::volume_state(format!(
                    "Volume {id} status must be '{}' to extend, currently in '{}'.",
                    t.from, v.status
                )));
            }
            if t.new_size <= v.size {
                return Err(DomainError::invalid(format!(
                    "New size for extend must be greater than current size. (current: {}, extended: {}).",
                    v.size, t.new_size
                )));
            }
            let delta = t.new_size - v.size;
            add("gigabytes".to_string(), delta);
            add(format!("gigabytes_{}", v.volume_type_name), delta);
            largest = largest.max(Some(t.new_size));
            project = Some(v.project_id.clone());
        }
        let Some(project) = project else {
            return Ok(());
        };
        quotas::check(&mut tx, &project, quota, &deltas, largest).await?;
        for t in targets {
            if !cas(&mut tx, &t.volume_id, &[t.from], VolumeStatus::Extending).await? {
                return Err(DomainError::volume_state(format!(
                    "Volume {} changed status concurrently.",
                    t.volume_id
                )));
            }
            jobs::insert(&mut tx, &t.job).await?;
        }
        if let Some(g) = group {
            jobs::insert_group(&mut tx, g).await?;
        }
        if let Some(o) = order {
            super::orders::insert(&mut tx, o).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// Ends an extend job: the new size and back to `restore`, or
    /// `error_extending`.
    async fn volume_finish_extend(
        &self,
        id: &VolumeId,
        job_id: &JobId,
        new_size: i64,
        restore: VolumeStatus,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if error.is_some() {
            cas(
                &mut tx,
                id,
                &[VolumeStatus::Extending],
                VolumeStatus::ErrorExtending,
            )
            .await?;
        } else {
            let res = sqlx::query("UPDATE volumes SET size = ?, status = ?, updated_at = ? WHERE id = ? AND status = 'extending'")
                .bind(new_size)
                .bind(restore.as_str())
                .bind(now_text())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            // Attachments may have come or gone meanwhile.
            if res.rows_affected() == 1 {
                settle(&mut tx, id).await?;
            }
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Moves a volume (`available` or `in-use`) to `retyping` and records the
    /// job, counting the volume against the new type's quotas.
    async fn volume_begin_retype(
        &self,
        id: &VolumeId,
        new_type_name: &str,
        job: &Job,
        order: Option<&Order>,
        quota: &QuotaDefaults,
    ) -> DomainResult<VolumeStatus> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        let from = v.status;
        if !matches!(from, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(DomainError::volume_state(format!(
                "Volume {id} status must be available or in-use to retype, currently in '{from}'."
            )));
        }
        let deltas = vec![
            (format!("volumes_{new_type_name}"), 1),
            (format!("gigabytes_{new_type_name}"), v.size),
        ];
        quotas::check(&mut tx, &v.project_id, quota, &deltas, None).await?;
        if !cas(&mut tx, id, &[from], VolumeStatus::Retyping).await? {
            return Err(DomainError::volume_state(format!(
                "Volume {id} changed status concurrently."
            )));
        }
        jobs::insert(&mut tx, job).await?;
        if let Some(o) = order {
            super::orders::insert(&mut tx, o).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(from)
    }

    /// Ends a retype job: on success the new type and QoS; either way the
    /// volume returns to `restore`.
    #[allow(clippy::too_many_arguments)]
    async fn volume_finish_retype(
        &self,
        id: &VolumeId,
        job_id: &JobId,
        type_id: &VolumeTypeId,
        iops: Option<i64>,
        throughput: Option<i64>,
        restore: VolumeStatus,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if error.is_none() {
            sqlx::query("UPDATE volumes SET volume_type_id = ?, iops = ?, throughput = ? WHERE id = ? AND status = 'retyping'")
                .bind(type_id.as_str())
                .bind(iops)
                .bind(throughput)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if cas(&mut tx, id, &[VolumeStatus::Retyping], restore).await? {
            settle(&mut tx, id).await?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn volume_begin_migrate(
        &self,
        id: &VolumeId,
        during: VolumeStatus,
        new_type_name: Option<&str>,
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<VolumeStatus> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        if v.status != VolumeStatus::Available || !v.attachments.is_empty() {
            return Err(DomainError::volume_state(format!(
                "Volume {id} status must be available and detached to move it to another pool, currently in '{}'.",
                v.status
            )));
        }
        let snapshots = snapshot_count(&mut tx, id).await?;
        if snapshots > 0 {
            return Err(DomainError::volume_state(format!(
                "Volume {id} has {snapshots} snapshots; a volume with snapshots cannot move to another pool."
            )));
        }
        if v.replica_pool.is_some() {
            return Err(DomainError::invalid(format!(
                "Volume {id} is replicated (replication_status {}); a replicated volume does not move to another pool: promote its replica instead.",
                v.replication_status
            )));
        }
        if let Some(t) = new_type_name {
            let deltas = vec![
                (format!("volumes_{t}"), 1),
                (format!("gigabytes_{t}"), v.size),
            ];
            quotas::check(&mut tx, &v.project_id, quota, &deltas, None).await?;
        }
        if !cas(&mut tx, id, &[v.status], during).await? {
            return Err(DomainError::volume_state(format!(
                "Volume {id} changed status concurrently."
            )));
        }
        sqlx::query("UPDATE volumes SET migration_status = 'migrating' WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v.status)
    }

    async fn volume_finish_migrate(
        &self,
        id: &VolumeId,
        job_id: &JobId,
        target_pool: &str,
        type_id: Option<&VolumeTypeId>,
        during: VolumeStatus,
        restore: VolumeStatus,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        if v.status == during {
            if error.is_none() {
                sqlx::query(
                    "UPDATE volumes SET pool = ?, volume_type_id = COALESCE(?, volume_type_id), \
                     migration_status = 'success' WHERE id = ?",
                )
                .bind(target_pool)
                .bind(type_id.map(VolumeTypeId::as_str))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            } else {
                sqlx::query("UPDATE volumes SET migration_status = 'error' WHERE id = ?")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            if cas(&mut tx, id, &[during], restore).await? {
                settle(&mut tx, id).await?;
            }
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn volume_image_metadata_set(
        &self,
        id: &VolumeId,
        metadata: &Metadata,
    ) -> DomainResult<Metadata> {
        let mut tx = self.begin().await?;
        require_volume(&mut tx, id).await?;
        metadata::upsert(&mut tx, MetaTable::VolumeImage, id.as_str(), metadata).await?;
        touch(&mut tx, id).await?;
        let v = require_volume(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v.image_metadata)
    }

    async fn volume_image_metadata_delete(&self, id: &VolumeId, key: &str) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require_volume(&mut tx, id).await?;
        if !metadata::delete_key(&mut tx, MetaTable::VolumeImage, id.as_str(), key).await? {
            return Err(DomainError::not_found("Image metadata item", key));
        }
        touch(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Records a QoS change job for an `available` or `in-use` volume.
    async fn volume_begin_qos(&self, id: &VolumeId, job: &Job) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, id).await?;
        if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
            return Err(DomainError::volume_state(format!(
                "Volume {id} status must be available or in-use to modify its QoS, currently in '{}'.",
                v.status
            )));
        }
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Ends a QoS job: on success the new provisioned IOPS and throughput,
    /// unless a retype changed the volume's type meanwhile (the job fails).
    async fn volume_finish_qos(
        &self,
        id: &VolumeId,
        job_id: &JobId,
        type_id: Option<&VolumeTypeId>,
        iops: Option<i64>,
        throughput: Option<i64>,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let mut error = error.map(str::to_string);
        if error.is_none() {
            let res = sqlx::query(
                "UPDATE volumes SET iops = ?, throughput = ?, updated_at = ? \
                 WHERE id = ? AND (? IS NULL OR volume_type_id = ?)",
            )
            .bind(iops)
            .bind(throughput)
            .bind(now_text())
            .bind(id.as_str())
            .bind(type_id.map(VolumeTypeId::as_str))
            .bind(type_id.map(VolumeTypeId::as_str))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if res.rows_affected() == 0 {
                error = Some("the volume was retyped or deleted while its QoS was changing".into());
            }
        }
        jobs::finish_in(&mut tx, job_id, error.as_deref()).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Starts rolling a volume back to one of its snapshots: the volume must
    /// be `available` or `error_rollbacking`, the snapshot `available` and
    /// taken of this volume. Both become `rollbacking`.
    async fn volume_begin_rollback(
        &self,
        volume_id: &VolumeId,
        snapshot_id: &SnapshotId,
        job: &Job,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let v = require_volume(&mut tx, volume_id).await?;
        let snap: Option<(String, String)> =
            sqlx::query_as("SELECT volume_id, status FROM snapshots WHERE id = ?")
                .bind(snapshot_id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let Some((source, snap_status)) = snap else {
            return Err(DomainError::not_found("Snapshot", snapshot_id));
        };
        if source != *volume_id {
            return Err(DomainError::invalid(format!(
                "Snapshot {snapshot_id} can only be rolled back to its source volume {source}."
            )));
        }
        if snap_status != SnapshotStatus::Available.as_str() {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot {snapshot_id} status must be available to roll back, but it is {snap_status}."
            )));
        }
        let from = [VolumeStatus::Available, VolumeStatus::ErrorRollbacking];
        if !from.contains(&v.status) || !v.attachments.is_empty() {
            return Err(DomainError::volume_state(format!(
                "Volume {volume_id} status must be available or error_rollbacking (and detached) to roll back, but it is {}.",
                v.status
            )));
        }
        if !cas(&mut tx, volume_id, &from, VolumeStatus::Rollbacking).await? {
            return Err(DomainError::volume_state(format!(
                "Volume {volume_id} changed status concurrently."
            )));
        }
        sqlx::query("UPDATE snapshots SET status = 'rollbacking', updated_at = ? WHERE id = ?")
            .bind(now_text())
            .bind(snapshot_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Ends a rollback: the volume becomes `available` (or
    /// `error_rollbacking`), the snapshot `available` again.
    async fn volume_finish_rollback(
        &self,
        volume_id: &VolumeId,
        snapshot_id: &SnapshotId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let to = if error.is_some() {
            VolumeStatus::ErrorRollbacking
        } else {
            VolumeStatus::Available
        };
        cas(&mut tx, volume_id, &[VolumeStatus::Rollbacking], to).await?;
        sqlx::query("UPDATE snapshots SET status = 'available', updated_at = ? WHERE id = ? AND status = 'rollbacking'")
            .bind(now_text())
            .bind(snapshot_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }
}
