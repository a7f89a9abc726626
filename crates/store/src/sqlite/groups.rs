//! Generic volume groups: group types, groups and group snapshots, and the
//! transactions that start and finish their jobs.

use std::collections::BTreeSet;

use async_trait::async_trait;
use platter_model::{
    DomainError, DomainResult, Group, GroupId, GroupSnapshot, GroupSnapshotId, GroupSnapshotStatus,
    GroupStatus, GroupType, GroupTypeId, Job, JobId, Metadata, Page, SortKey, Volume, VolumeId,
    VolumeStatus, VolumeTypeId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::page::PageSql;
use super::volume_rows::{
    insert_volume, load_metadata, require_volume, volume_from_row, SELECT_VOLUME,
};
use super::{db_err, jobs, now_text, opt_str, parse_enum, quotas, RowExt, SqliteStore};
use crate::repo::{
    GroupChange, GroupQuery, GroupRepo, GroupSnapshotQuery, GroupTypeQuery, NewGroup,
    NewGroupSnapshot, NewSnapshot, NewVolume, QuotaDefaults,
};

/// Volume statuses from which a volume may join a group, and leave one
/// (Cinder's `VALID_ADD_VOL_TO_GROUP_STATUS` and `..._REMOVE_...`).
const JOIN_FROM: &[VolumeStatus] = &[VolumeStatus::Available, VolumeStatus::InUse];
const LEAVE_FROM: &[VolumeStatus] = &[
    VolumeStatus::Available,
    VolumeStatus::InUse,
    VolumeStatus::Error,
    VolumeStatus::ErrorDeleting,
];

fn statuses(list: &[VolumeStatus]) -> String {
    list.iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses a sort on a column the table lacks (keys are whitelisted by
/// the API; this keeps the SQL sound whatever a caller passes).
fn check_sort(page: &Page, allowed: &[SortKey]) -> DomainResult<()> {
    match page.sort.iter().find(|(k, _)| !allowed.contains(k)) {
        Some((k, _)) => Err(DomainError::invalid(format!("Invalid sort key {k:?}."))),
        None => Ok(()),
    }
}

const TYPE_SORT: &[SortKey] = &[SortKey::Id, SortKey::Name, SortKey::CreatedAt];
const GROUP_SORT: &[SortKey] = &[
    SortKey::Id,
    SortKey::Name,
    SortKey::Status,
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::AvailabilityZone,
    SortKey::ProjectId,
];
const SNAPSHOT_SORT: &[SortKey] = &[
    SortKey::Id,
    SortKey::Name,
    SortKey::Status,
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::ProjectId,
];

// ---- rows

fn type_from_row(r: &SqliteRow) -> DomainResult<GroupType> {
    let specs: String = r.get("group_specs");
    Ok(GroupType {
        id: r.id("id"),
        name: r.get("name"),
        description: r.get("description"),
        is_public: r.get::<i64, _>("is_public") != 0,
        group_specs: serde_json::from_str::<Metadata>(&specs)
            .map_err(|e| DomainError::Internal(format!("group specs: {e}")))?,
        created_at: r.ts("created_at")?,
    })
}

fn group_from_row(r: &SqliteRow) -> DomainResult<Group> {
    Ok(Group {
        id: r.id("id"),
        project_id: r.id("project_id"),
        user_id: r.id("user_id"),
        name: r.get("name"),
        description: r.get("description"),
        availability_zone: r.get("availability_zone"),
        group_type_id: r.id("group_type_id"),
        volume_type_ids: Vec::new(),
        status: parse_enum(&r.get::<String, _>("status"))?,
        group_snapshot_id: r.id_opt("group_snapshot_id"),
        source_group_id: r.id_opt("source_group_id"),
        pool: r.get("pool"),
        created_at: r.ts("created_at")?,
        updated_at: r.ts_opt("updated_at")?,
        volume_ids: Vec::new(),
    })
}

fn group_snapshot_from_row(r: &SqliteRow) -> DomainResult<GroupSnapshot> {
    Ok(GroupSnapshot {
        id: r.id("id"),
        project_id: r.id("project_id"),
        user_id: r.id("user_id"),
        group_id: r.id("group_id"),
        group_type_id: r.id("group_type_id"),
        name: r.get("name"),
        description: r.get("description"),
        status: parse_enum(&r.get::<String, _>("status"))?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts_opt("updated_at")?,
    })
}

/// Fills in a group's volume types and members.
async fn load_group(conn: &mut SqliteConnection, g: &mut Group) -> DomainResult<()> {
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT volume_type_id FROM group_volume_types WHERE group_id = ? ORDER BY seq",
    )
    .bind(g.id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    g.volume_type_ids = types.into_iter().map(VolumeTypeId::from).collect();
    let members: Vec<String> =
        sqlx::query_scalar("SELECT id FROM volumes WHERE group_id = ? ORDER BY created_at, id")
            .bind(g.id.as_str())
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
    g.volume_ids = members.into_iter().map(VolumeId::from).collect();
    Ok(())
}

async fn group_in(conn: &mut SqliteConnection, id: &GroupId) -> DomainResult<Option<Group>> {
    let row = sqlx::query("SELECT * FROM volume_groups WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let mut g = group_from_row(&row)?;
    load_group(conn, &mut g).await?;
    Ok(Some(g))
}

async fn require_group(conn: &mut SqliteConnection, id: &GroupId) -> DomainResult<Group> {
    group_in(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("Group", id.as_str()))
}

async fn group_snapshot_in(
    conn: &mut SqliteConnection,
    id: &GroupSnapshotId,
) -> DomainResult<Option<GroupSnapshot>> {
    let row = sqlx::query("SELECT * FROM group_snapshots WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.as_ref().map(group_snapshot_from_row).transpose()
}

async fn require_group_snapshot(
    conn: &mut SqliteConnection,
    id: &GroupSnapshotId,
) -> DomainResult<GroupSnapshot> {
    group_snapshot_in(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("GroupSnapshot", id.as_str()))
}

/// A group's member volumes, with their metadata and attachments.
async fn members(conn: &mut SqliteConnection, group_id: &GroupId) -> DomainResult<Vec<Volume>> {
    let rows = sqlx::query(&format!(
        "{SELECT_VOLUME} WHERE v.group_id = ? ORDER BY v.created_at, v.id"
    ))
    .bind(group_id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut vols = rows
        .iter()
        .map(volume_from_row)
        .collect::<DomainResult<Vec<_>>>()?;
    load_metadata(conn, &mut vols).await?;
    Ok(vols)
}

/// `(volume id, status, size, type name)` of a group snapshot's snapshots.
async fn snapshot_members(
    conn: &mut SqliteConnection,
    group_snapshot_id: &str,
) -> DomainResult<Vec<(String, String, i64, String)>> {
    sqlx::query_as(
        "SELECT s.id, s.status, s.size, t.name FROM snapshots s \
         JOIN volumes v ON v.id = s.volume_id JOIN volume_types t ON t.id = v.volume_type_id \
         WHERE s.group_snapshot_id = ? ORDER BY s.created_at, s.id",
    )
    .bind(group_snapshot_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)
}

async fn set_group_status(
    conn: &mut SqliteConnection,
    id: &str,
    from: Option<GroupStatus>,
    to: GroupStatus,
) -> DomainResult<bool> {
    let mut qb = QueryBuilder::<Sqlite>::new("UPDATE volume_groups SET status = ");
    qb.push_bind(to.as_str());
    qb.push(", updated_at = ").push_bind(now_text());
    qb.push(" WHERE id = ").push_bind(id.to_string());
    if let Some(from) = from {
        qb.push(" AND status = ").push_bind(from.as_str());
    }
    let res = qb.build().execute(conn).await.map_err(db_err)?;
    Ok(res.rows_affected() == 1)
}

async fn set_group_snapshot_status(
    conn: &mut SqliteConnection,
    id: &str,
    from: Option<GroupSnapshotStatus>,
    to: GroupSnapshotStatus,
) -> DomainResult<bool> {
    let mut qb = QueryBuilder::<Sqlite>::new("UPDATE group_snapshots SET status = ");
    qb.push_bind(to.as_str());
    qb.push(", updated_at = ").push_bind(now_text());
    qb.push(" WHERE id = ").push_bind(id.to_string());
    if let Some(from) = from {
        qb.push(" AND status = ").push_bind(from.as_str());
    }
    let res = qb.build().execute(conn).await.map_err(db_err)?;
    Ok(res.rows_affected() == 1)
}

/// Moves a group's members from `from` to `to`.
async fn set_member_status(
    conn: &mut SqliteConnection,
    group_id: &str,
    from: VolumeStatus,
    to: VolumeStatus,
) -> DomainResult<()> {
    sqlx::query("UPDATE volumes SET status = ?, updated_at = ? WHERE group_id = ? AND status = ?")
        .bind(to.as_str())
        .bind(now_text())
        .bind(group_id)
        .bind(from.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Moves a group snapshot's snapshots from `from` to `to`.
async fn set_snapshot_member_status(
    conn: &mut SqliteConnection,
    group_snapshot_id: &str,
    from: &str,
    to: &str,
) -> DomainResult<()> {
    sqlx::query(
        "UPDATE snapshots SET status = ?, updated_at = ? WHERE group_snapshot_id = ? AND status = ?",
    )
    .bind(to)
    .bind(now_text())
    .bind(group_snapshot_id)
    .bind(from)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn insert_group(
    conn: &mut SqliteConnection,
    g: &NewGroup,
    status: GroupStatus,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO volume_groups (id, project_id, user_id, name, description, availability_zone, \
         group_type_id, status, group_snapshot_id, source_group_id, pool, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(g.id.as_str())
    .bind(g.project_id.as_str())
    .bind(g.user_id.as_str())
    .bind(&g.name)
    .bind(&g.description)
    .bind(&g.availability_zone)
    .bind(g.group_type_id.as_str())
    .bind(status.as_str())
    .bind(opt_str(&g.group_snapshot_id))
    .bind(opt_str(&g.source_group_id))
    .bind(&g.pool)
    .bind(now_text())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    for (seq, t) in g.volume_type_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO group_volume_types (group_id, volume_type_id, seq) VALUES (?, ?, ?)",
        )
        .bind(g.id.as_str())
        .bind(t.as_str())
        .bind(seq as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Checks, inside a volume create's transaction, that a new volume may be
/// created in `group_id`: the group is the volume's project's, `available`
/// or `in-use`, lists the volume's type, and is in its pool.
pub(crate) async fn check_joining(
    conn: &mut SqliteConnection,
    group_id: &str,
    v: &NewVolume,
) -> DomainResult<()> {
    let g = match group_in(conn, &GroupId::from(group_id)).await? {
        Some(g) if g.project_id == v.project_id => g,
        _ => return Err(DomainError::not_found("Group", group_id)),
    };
    if !matches!(g.status, GroupStatus::Available | GroupStatus::InUse) {
        return Err(DomainError::group_state(format!(
            "Group {group_id} status must be available or in-use, but current status is: {}.",
            g.status
        )));
    }
    if !g.volume_type_ids.contains(&v.volume_type_id) {
        return Err(DomainError::invalid(format!(
            "Invalid volume_type provided: {} (requested type is not compatible with group {group_id}).",
            v.volume_type_name
        )));
    }
    if g.pool != v.pool {
        return Err(DomainError::invalid(format!(
            "volume type {} places volumes in pool {}, but group {group_id} is in pool {}.",
            v.volume_type_name, v.pool, g.pool
        )));
    }
    Ok(())
}

/// The quota deltas of new volumes (count and gigabytes, in all and per type).
fn volume_deltas(volumes: &[(i64, &str)], prefix: &str) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    let mut add = |k: String, n: i64| match out.iter_mut().find(|(r, _)| *r == k) {
        Some((_, d)) => *d += n,
        None => out.push((k, n)),
    };
    for (size, type_name) in volumes {
        add(prefix.to_string(), 1);
        add("gigabytes".into(), *size);
        add(format!("{prefix}_{type_name}"), 1);
        add(format!("gigabytes_{type_name}"), *size);
    }
    out
}

#[async_trait]
impl GroupRepo for SqliteStore {
    // ---- group types

    async fn group_type_create(&self, t: &GroupType) -> DomainResult<()> {
        let specs = serde_json::to_string(&t.group_specs)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO group_types (id, name, description, is_public, group_specs, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id.as_str())
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.is_public as i64)
        .bind(specs)
        .bind(t.created_at.to_string())
        .execute(&self.write)
        .await
        .map_err(|e| match db_err(e) {
            DomainError::Conflict(_) => {
                DomainError::Conflict(format!("Group Type {} already exists.", t.name))
            }
            other => other,
        })?;
        Ok(())
    }

    async fn group_type_find(&self, id_or_name: &str) -> DomainResult<Option<GroupType>> {
        let row = sqlx::query(
            "SELECT * FROM group_types WHERE id = ? UNION ALL SELECT * FROM group_types WHERE name = ? LIMIT 1",
        )
        .bind(id_or_name)
        .bind(id_or_name)
        .fetch_optional(&self.read)
        .await
        .map_err(db_err)?;
        row.as_ref().map(type_from_row).transpose()
    }

    async fn group_type_list(&self, q: &GroupTypeQuery) -> DomainResult<Vec<GroupType>> {
        check_sort(&q.page, TYPE_SORT)?;
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT g.* FROM group_types g WHERE 1=1");
        if let Some(p) = q.is_public {
            qb.push(" AND g.is_public = ").push_bind(p as i64);
        }
        q.page.push_marker(&mut qb, "group_types", "g");
        q.page.push_order_and_limit(&mut qb, "g");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        rows.iter().map(type_from_row).collect()
    }

    async fn group_type_update(&self, t: &GroupType) -> DomainResult<()> {
        let specs = serde_json::to_string(&t.group_specs)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let res = sqlx::query(
            "UPDATE group_types SET name = ?, description = ?, is_public = ?, group_specs = ? WHERE id = ?",
        )
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.is_public as i64)
        .bind(specs)
        .bind(t.id.as_str())
        .execute(&self.write)
        .await
        .map_err(|e| match db_err(e) {
            DomainError::Conflict(_) => {
                DomainError::Conflict(format!("Group Type {} already exists.", t.name))
            }
            other => other,
        })?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Group type", &t.id));
        }
        Ok(())
    }

    async fn group_type_delete(&self, id: &GroupTypeId) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let used: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM volume_groups WHERE group_type_id = ?")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if used > 0 {
            return Err(DomainError::InvalidState {
                resource: "group type",
                message: format!(
                    "Group Type {id} deletion is not allowed with groups present with the type."
                ),
            });
        }
        let res = sqlx::query("DELETE FROM group_types WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Group type", id));
        }
        tx.commit().await.map_err(db_err)
    }

    // ---- groups

    async fn group_create(&self, g: &NewGroup, quota: &QuotaDefaults) -> DomainResult<Group> {
        let mut tx = self.begin().await?;
        quotas::check(&mut tx, &g.project_id, quota, &[("groups".into(), 1)], None).await?;
        insert_group(&mut tx, g, GroupStatus::Available).await?;
        let created = require_group(&mut tx, &g.id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn group_get(&self, id: &GroupId) -> DomainResult<Option<Group>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        group_in(&mut conn, id).await
    }

    async fn group_list(&self, q: &GroupQuery) -> DomainResult<Vec<Group>> {
        check_sort(&q.page, GROUP_SORT)?;
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        if let Some(marker) = &q.page.marker {
            if group_in(&mut conn, &GroupId::from(marker.as_str()))
                .await?
                .is_none()
            {
                return Err(DomainError::not_found("Marker", marker.clone()));
            }
        }
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT g.* FROM volume_groups g WHERE 1=1");
        if let Some(p) = &q.project_id {
            qb.push(" AND g.project_id = ").push_bind(p.to_string());
        }
        if let Some(n) = &q.name {
            qb.push(" AND g.name = ").push_bind(n.clone());
        }
        if let Some(s) = &q.status {
            qb.push(" AND g.status = ").push_bind(s.clone());
        }
        if let Some(az) = &q.availability_zone {
            qb.push(" AND g.availability_zone = ").push_bind(az.clone());
        }
        if let Some(t) = &q.group_type_id {
            qb.push(" AND g.group_type_id = ").push_bind(t.to_string());
        }
        q.page.push_marker(&mut qb, "volume_groups", "g");
        q.page.push_order_and_limit(&mut qb, "g");
        let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
        let mut groups = rows
            .iter()
            .map(group_from_row)
            .collect::<DomainResult<Vec<_>>>()?;
        for g in groups.iter_mut() {
            load_group(&mut conn, g).await?;
        }
        Ok(groups)
    }

    async fn group_update(&self, id: &GroupId, change: &GroupChange) -> DomainResult<Group> {
        let mut tx = self.begin().await?;
        let g = require_group(&mut tx, id).await?;
        if g.status != GroupStatus::Available {
            return Err(DomainError::group_state(format!(
                "Group status must be available, but current status is: {}.",
                g.status
            )));
        }
        let both: Vec<&str> = change
            .add_volumes
            .iter()
            .filter(|v| change.remove_volumes.contains(v))
            .map(VolumeId::as_str)
            .collect();
        if !both.is_empty() {
            return Err(DomainError::volume_state(format!(
                "UUIDs {both:?} are in both add and remove volume list."
            )));
        }
        let mut leaving = Vec::new();
        for vid in &change.remove_volumes {
            let v = match require_volume(&mut tx, vid).await {
                Ok(v) if v.group_id.as_ref() == Some(id) => v,
                _ => {
                    return Err(DomainError::volume_state(format!(
                        "Cannot remove volume {vid} from group {id} because it is not in the group."
                    )))
                }
            };
            if !LEAVE_FROM.contains(&v.status) {
                return Err(DomainError::volume_state(format!(
                    "Cannot remove volume {vid} from group {id} because volume is in an invalid state: {}. Valid states are: {}.",
                    v.status,
                    statuses(LEAVE_FROM)
                )));
            }
            leaving.push(v.id);
        }
        let mut joining = Vec::new();
        for vid in &change.add_volumes {
            let v = match require_volume(&mut tx, vid).await {
                Ok(v) if v.project_id == g.project_id => v,
                _ => {
                    return Err(DomainError::volume_state(format!(
                        "Cannot add volume {vid} to group {id} because volume cannot be found."
                    )))
                }
            };
            match v.group_id.as_ref().map(GroupId::as_str) {
                Some(gid) if gid == id => continue,
                Some(other) => {
                    return Err(DomainError::volume_state(format!(
                    "Cannot add volume {vid} to group {id} because it is already in group {other}."
                )))
                }
                None => {}
            }
            if !g.volume_type_ids.contains(&v.volume_type_id) {
                return Err(DomainError::volume_state(format!(
                    "Cannot add volume {vid} to group {id} because volume type {} is not supported by the group.",
                    v.volume_type_id
                )));
            }
            if !JOIN_FROM.contains(&v.status) {
                return Err(DomainError::volume_state(format!(
                    "Cannot add volume {vid} to group {id} because volume is in an invalid state: {}. Valid states are: {}.",
                    v.status,
                    statuses(JOIN_FROM)
                )));
            }
            if v.pool != g.pool {
                return Err(DomainError::volume_state(format!(
                    "Cannot add volume {vid} to group {id}: the volume is in pool {}, the group in pool {}.",
                    v.pool, g.pool
                )));
            }
            if !joining.contains(&v.id) {
                joining.push(v.id);
            }
        }
        let name = change.name.clone().filter(|n| *n != g.name);
        let description = change.description.clone().filter(|d| *d != g.description);
        if name.is_none() && description.is_none() && joining.is_empty() && leaving.is_empty() {
            return Err(DomainError::group_state(format!(
                "Cannot update group {id} because no valid name, description, add_volumes, or remove_volumes were provided."
            )));
        }
        let now = now_text();
        if let Some(n) = name {
            sqlx::query("UPDATE volume_groups SET name = ? WHERE id = ?")
                .bind(n)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(d) = description {
            sqlx::query("UPDATE volume_groups SET description = ? WHERE id = ?")
                .bind(d)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        for (vid, to) in leaving
            .iter()
            .map(|v| (v, None))
            .chain(joining.iter().map(|v| (v, Some(id))))
        {
            sqlx::query("UPDATE volumes SET group_id = ?, updated_at = ? WHERE id = ?")
                .bind(to.map(GroupId::as_str))
                .bind(&now)
                .bind(vid.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query("UPDATE volume_groups SET updated_at = ? WHERE id = ?")
            .bind(&now)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let updated = require_group(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(updated)
    }

    async fn group_set_status(&self, id: &GroupId, status: GroupStatus) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if !set_group_status(&mut tx, id.as_str(), None, status).await? {
            return Err(DomainError::not_found("Group", id));
        }
        tx.commit().await.map_err(db_err)
    }

    async fn group_begin_delete(
        &self,
        id: &GroupId,
        delete_volumes: bool,
        job: &Job,
    ) -> DomainResult<bool> {
        let mut tx = self.begin().await?;
        let g = require_group(&mut tx, id).await?;
        if !delete_volumes && !matches!(g.status, GroupStatus::Available | GroupStatus::Error) {
            return Err(DomainError::group_state(format!(
                "Group status must be available or error, but current status is: {}",
                g.status
            )));
        }
        let snaps: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM group_snapshots WHERE group_id = ?")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if snaps > 0 {
            return Err(DomainError::group_state("Group has existing snapshots."));
        }
        let vols = members(&mut tx, id).await?;
        if !vols.is_empty() && !delete_volumes {
            return Err(DomainError::group_state(format!(
                "Group {id} still contains volumes. The delete-volumes flag is required to delete it."
            )));
        }
        for v in &vols {
            if !v.attachments.is_empty() {
                return Err(DomainError::group_state(format!(
                    "Volume in group {id} is attached. Need to detach first."
                )));
            }
            let deletable = VolumeStatus::DELETABLE.contains(&v.status)
                || v.status == VolumeStatus::ErrorDeleting;
            if !deletable {
                return Err(DomainError::group_state(format!(
                    "Volume {} in group {id} is {}; it cannot be deleted now.",
                    v.id, v.status
                )));
            }
            let dependents: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM snapshots WHERE volume_id = ?")
                    .bind(v.id.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if dependents > 0 {
                return Err(DomainError::group_state(
                    "Volume in group still has dependent snapshots.",
                ));
            }
            let busy: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM volumes WHERE status = 'creating' AND source_volid = ?",
            )
            .bind(v.id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            if busy > 0 {
                return Err(DomainError::group_state(format!(
                    "Volume {} in group {id} is the source of {busy} volumes being created.",
                    v.id
                )));
            }
        }
        if vols.is_empty() {
            sqlx::query("DELETE FROM volume_groups WHERE id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            return Ok(false);
        }
        sqlx::query("UPDATE volumes SET status = 'deleting', updated_at = ? WHERE group_id = ?")
            .bind(now_text())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        set_group_status(&mut tx, id.as_str(), None, GroupStatus::Deleting).await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn group_finish_delete(
        &self,
        id: &GroupId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if error.is_some() {
            set_member_status(
                &mut tx,
                id.as_str(),
                VolumeStatus::Deleting,
                VolumeStatus::ErrorDeleting,
            )
            .await?;
            set_group_status(
                &mut tx,
                id.as_str(),
                Some(GroupStatus::Deleting),
                GroupStatus::ErrorDeleting,
            )
            .await?;
        } else {
            sqlx::query("DELETE FROM volumes WHERE group_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query("DELETE FROM volume_groups WHERE id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn group_create_from_src(
        &self,
        g: &NewGroup,
        volumes: &[NewVolume],
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<Group> {
        let mut tx = self.begin().await?;
        // The sources, as read now: the plan's volumes must be exactly one
        // per source member.
        let sources: BTreeSet<String> = if let Some(gs_id) = &g.group_snapshot_id {
            let gs = require_group_snapshot(&mut tx, gs_id).await?;
            if gs.status != GroupSnapshotStatus::Available {
                return Err(DomainError::group_snapshot_state(format!(
                    "Group snapshot {gs_id} status must be available, but current status is: {}.",
                    gs.status
                )));
            }
            let snaps = snapshot_members(&mut tx, gs_id.as_str()).await?;
            if let Some((sid, st, _, _)) = snaps.iter().find(|(_, st, _, _)| st != "available") {
                return Err(DomainError::snapshot_state(format!(
                    "Snapshot {sid} of group snapshot {gs_id} must be available, not {st}."
                )));
            }
            snaps.into_iter().map(|(sid, _, _, _)| sid).collect()
        } else if let Some(src_id) = &g.source_group_id {
            let src = require_group(&mut tx, src_id).await?;
            if !matches!(src.status, GroupStatus::Available | GroupStatus::InUse) {
                return Err(DomainError::group_state(format!(
                    "Source group {src_id} status must be available or in-use, but current status is: {}.",
                    src.status
                )));
            }
            let vols = members(&mut tx, src_id).await?;
            if let Some(v) = vols.iter().find(|v| !JOIN_FROM.contains(&v.status)) {
                return Err(DomainError::volume_state(format!(
                    "Source volume {} status must be one of 'available', 'in-use' values, not '{}'.",
                    v.id, v.status
                )));
            }
            vols.into_iter().map(|v| v.id.to_string()).collect()
        } else {
            return Err(DomainError::invalid(
                "a group from a source needs a group snapshot or a source group.",
            ));
        };
        let planned: BTreeSet<String> = volumes
            .iter()
            .filter_map(|v| {
                v.snapshot_id
                    .as_ref()
                    .map(|s| s.to_string())
                    .or_else(|| v.source_volid.as_ref().map(|s| s.to_string()))
            })
            .collect();
        if planned != sources || volumes.len() != sources.len() {
            return Err(DomainError::group_state(
                "The source changed while the group was being planned; try again.",
            ));
        }
        if sources.is_empty() {
            return Err(DomainError::group_state(
                "The source is empty. No group will be created.",
            ));
        }
        let sized: Vec<(i64, &str)> = volumes
            .iter()
            .map(|v| (v.size, v.volume_type_name.as_str()))
            .collect();
        let mut deltas = volume_deltas(&sized, "volumes");
        deltas.push(("groups".into(), 1));
        let largest = volumes.iter().map(|v| v.size).max();
        quotas::check(&mut tx, &g.project_id, quota, &deltas, largest).await?;
        insert_group(&mut tx, g, GroupStatus::Creating).await?;
        for v in volumes {
            insert_volume(&mut tx, v).await?;
        }
        jobs::insert(&mut tx, job).await?;
        let created = require_group(&mut tx, &g.id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn group_finish_create(
        &self,
        id: &GroupId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let (vol, grp) = if error.is_some() {
            (VolumeStatus::Error, GroupStatus::Error)
        } else {
            (VolumeStatus::Available, GroupStatus::Available)
        };
        set_member_status(&mut tx, id.as_str(), VolumeStatus::Creating, vol).await?;
        set_group_status(&mut tx, id.as_str(), Some(GroupStatus::Creating), grp).await?;
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn group_list_transitional(&self) -> DomainResult<Vec<Group>> {
        let rows = sqlx::query(
            "SELECT * FROM volume_groups WHERE status IN ('creating', 'deleting', 'updating')",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(group_from_row).collect()
    }

    // ---- group snapshots

    async fn group_snapshot_create(
        &self,
        gs: &NewGroupSnapshot,
        snapshots: &[NewSnapshot],
        job: &Job,
        quota: &QuotaDefaults,
    ) -> DomainResult<GroupSnapshot> {
        let mut tx = self.begin().await?;
        let g = require_group(&mut tx, &gs.group_id).await?;
        if !matches!(g.status, GroupStatus::Available | GroupStatus::InUse) {
            return Err(DomainError::group_state(format!(
                "Group {} status must be available or in-use, but current status is: {}.",
                g.id, g.status
            )));
        }
        let vols = members(&mut tx, &g.id).await?;
        let now: BTreeSet<&str> = vols.iter().map(|v| v.id.as_str()).collect();
        let planned: BTreeSet<&str> = snapshots.iter().map(|s| s.volume_id.as_str()).collect();
        if now != planned || snapshots.len() != vols.len() {
            return Err(DomainError::group_state(format!(
                "The volumes of group {} changed while its snapshot was being planned; try again.",
                g.id
            )));
        }
        if let Some(v) = vols.iter().find(|v| !JOIN_FROM.contains(&v.status)) {
            return Err(DomainError::volume_state(format!(
                "Volume {} in group {} must be available or in-use to be snapshotted, but current status is: {}.",
                v.id, g.id, v.status
            )));
        }
        let sized: Vec<(i64, &str)> = vols
            .iter()
            .map(|v| (v.size, v.volume_type_name.as_str()))
            .collect();
        let deltas = volume_deltas(&sized, "snapshots");
        quotas::check(&mut tx, &g.project_id, quota, &deltas, None).await?;
        let created_at = now_text();
        sqlx::query(
            "INSERT INTO group_snapshots (id, project_id, user_id, group_id, group_type_id, name, description, \
             status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'creating', ?, NULL)",
        )
        .bind(gs.id.as_str())
        .bind(g.project_id.as_str())
        .bind(gs.user_id.as_str())
        .bind(g.id.as_str())
        .bind(g.group_type_id.as_str())
        .bind(&gs.name)
        .bind(&gs.description)
        .bind(&created_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        for s in snapshots {
            let v = vols
                .iter()
                .find(|v| v.id == s.volume_id)
                .ok_or_else(|| DomainError::not_found("Volume", &s.volume_id))?;
            sqlx::query(
                "INSERT INTO snapshots (id, project_id, user_id, volume_id, name, description, size, status, \
                 created_at, updated_at, enterprise_project_id, instant_access, group_snapshot_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, 'creating', ?, NULL, ?, 0, ?)",
            )
            .bind(s.id.as_str())
            .bind(v.project_id.as_str())
            .bind(s.user_id.as_str())
            .bind(v.id.as_str())
            .bind(&s.name)
            .bind(&s.description)
            .bind(v.size)
            .bind(&created_at)
            .bind(&v.enterprise_project_id)
            .bind(gs.id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        jobs::insert(&mut tx, job).await?;
        let created = require_group_snapshot(&mut tx, &gs.id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn group_snapshot_get(
        &self,
        id: &GroupSnapshotId,
    ) -> DomainResult<Option<GroupSnapshot>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        group_snapshot_in(&mut conn, id).await
    }

    async fn group_snapshot_list(
        &self,
        q: &GroupSnapshotQuery,
    ) -> DomainResult<Vec<GroupSnapshot>> {
        check_sort(&q.page, SNAPSHOT_SORT)?;
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        if let Some(marker) = &q.page.marker {
            if group_snapshot_in(&mut conn, &GroupSnapshotId::from(marker.as_str()))
                .await?
                .is_none()
            {
                return Err(DomainError::not_found("Marker", marker.clone()));
            }
        }
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT gs.* FROM group_snapshots gs WHERE 1=1");
        if let Some(p) = &q.project_id {
            qb.push(" AND gs.project_id = ").push_bind(p.to_string());
        }
        if let Some(n) = &q.name {
            qb.push(" AND gs.name = ").push_bind(n.clone());
        }
        if let Some(s) = &q.status {
            qb.push(" AND gs.status = ").push_bind(s.clone());
        }
        if let Some(g) = &q.group_id {
            qb.push(" AND gs.group_id = ").push_bind(g.to_string());
        }
        q.page.push_marker(&mut qb, "group_snapshots", "gs");
        q.page.push_order_and_limit(&mut qb, "gs");
        let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
        rows.iter().map(group_snapshot_from_row).collect()
    }

    async fn group_snapshot_set_status(
        &self,
        id: &GroupSnapshotId,
        status: GroupSnapshotStatus,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if !set_group_snapshot_status(&mut tx, id.as_str(), None, status).await? {
            return Err(DomainError::not_found("GroupSnapshot", id));
        }
        tx.commit().await.map_err(db_err)
    }

    async fn group_snapshot_finish_create(
        &self,
        id: &GroupSnapshotId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let (snap, gs) = if error.is_some() {
            ("error", GroupSnapshotStatus::Error)
        } else {
            ("available", GroupSnapshotStatus::Available)
        };
        set_snapshot_member_status(&mut tx, id.as_str(), "creating", snap).await?;
        set_group_snapshot_status(
            &mut tx,
            id.as_str(),
            Some(GroupSnapshotStatus::Creating),
            gs,
        )
        .await?;
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn group_snapshot_begin_delete(
        &self,
        id: &GroupSnapshotId,
        job: &Job,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let gs = require_group_snapshot(&mut tx, id).await?;
        let refused = || {
            DomainError::group_snapshot_state(
                "GroupSnapshot status must be available or error, and no Group can be currently using it as source for its creation.",
            )
        };
        if !matches!(
            gs.status,
            GroupSnapshotStatus::Available | GroupSnapshotStatus::Error
        ) {
            return Err(refused());
        }
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM volumes WHERE status = 'creating' AND snapshot_id IN \
             (SELECT id FROM snapshots WHERE group_snapshot_id = ?)",
        )
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if busy > 0 {
            return Err(refused());
        }
        sqlx::query(
            "UPDATE snapshots SET status = 'deleting', updated_at = ? WHERE group_snapshot_id = ?",
        )
        .bind(now_text())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        set_group_snapshot_status(&mut tx, id.as_str(), None, GroupSnapshotStatus::Deleting)
            .await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn group_snapshot_finish_delete(
        &self,
        id: &GroupSnapshotId,
        job_id: &JobId,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if error.is_some() {
            set_snapshot_member_status(&mut tx, id.as_str(), "deleting", "error_deleting").await?;
            set_group_snapshot_status(
                &mut tx,
                id.as_str(),
                Some(GroupSnapshotStatus::Deleting),
                GroupSnapshotStatus::ErrorDeleting,
            )
            .await?;
        } else {
            sqlx::query("DELETE FROM snapshots WHERE group_snapshot_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query("DELETE FROM group_snapshots WHERE id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn group_snapshot_list_transitional(&self) -> DomainResult<Vec<GroupSnapshot>> {
        let rows = sqlx::query(
            "SELECT * FROM group_snapshots WHERE status IN ('creating', 'deleting', 'updating')",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(group_snapshot_from_row).collect()
    }
}
