//! Counted quotas: usage is always computed from the resource rows, inside
//! the transaction that is about to add to it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use platter_model::{DomainError, DomainResult, ProjectId, QuotaUsage, QUOTA_GLOBAL_RESOURCES};
use sqlx::{Row, SqliteConnection};

use super::{db_err, SqliteStore};
use crate::repo::{QuotaDefaults, QuotaRepo};

/// Counts every quota resource of a project from the rows.
pub(crate) async fn usage(
    conn: &mut SqliteConnection,
    project_id: &ProjectId,
) -> DomainResult<BTreeMap<String, i64>> {
    let mut used: BTreeMap<String, i64> = BTreeMap::new();
    let mut add = |k: String, n: i64| *used.entry(k).or_insert(0) += n;
    let vols = sqlx::query(
        "SELECT t.name AS type_name, COUNT(*) AS n, COALESCE(SUM(v.size), 0) AS gb \
         FROM volumes v JOIN volume_types t ON t.id = v.volume_type_id \
         WHERE v.project_id = ? GROUP BY t.name",
    )
    .bind(project_id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for r in &vols {
        let t: String = r.get("type_name");
        let (n, gb): (i64, i64) = (r.get("n"), r.get("gb"));
        add("volumes".into(), n);
        add("gigabytes".into(), gb);
        add(format!("volumes_{t}"), n);
        add(format!("gigabytes_{t}"), gb);
    }
    // An extend in flight holds its target size: two extends that each fit
    // but not together must not both start.
    let growing = sqlx::query(
        "SELECT t.name AS type_name, \
         COALESCE(SUM(MAX(0, CAST(json_extract(j.params, '$.new_size_gib') AS INTEGER) - v.size)), 0) AS gb \
         FROM volumes v JOIN volume_types t ON t.id = v.volume_type_id \
         JOIN jobs j ON j.resource_id = v.id AND j.kind = 'volume_extend' AND j.status IN ('queued', 'running') \
         WHERE v.project_id = ? AND v.status = 'extending' GROUP BY t.name",
    )
    .bind(project_id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for r in &growing {
        let t: String = r.get("type_name");
        let gb: i64 = r.get("gb");
        add("gigabytes".into(), gb);
        add(format!("gigabytes_{t}"), gb);
    }
    // A retype in flight holds room in its new type as well.
    let moving = sqlx::query(
        "SELECT json_extract(j.params, '$.type_name') AS type_name, COUNT(*) AS n, \
         COALESCE(SUM(v.size), 0) AS gb \
         FROM volumes v JOIN jobs j ON j.resource_id = v.id \
         AND j.kind IN ('volume_retype', 'volume_migrate') \
         AND j.status IN ('queued', 'running') \
         WHERE v.project_id = ? AND v.status = 'retyping' GROUP BY 1",
    )
    .bind(project_id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for r in &moving {
        let Some(t) = r.get::<Option<String>, _>("type_name") else {
            continue;
        };
        let (n, gb): (i64, i64) = (r.get("n"), r.get("gb"));
        add(format!("volumes_{t}"), n);
        add(format!("gigabytes_{t}"), gb);
    }
    let snaps = sqlx::query(
        "SELECT t.name AS type_name, COUNT(*) AS n, COALESCE(SUM(s.size), 0) AS gb \
         FROM snapshots s JOIN volumes v ON v.id = s.volume_id JOIN volume_types t ON t.id = v.volume_type_id \
         WHERE s.project_id = ? GROUP BY t.name",
    )
    .bind(project_id.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for r in &snaps {
        let t: String = r.get("type_name");
        let (n, gb): (i64, i64) = (r.get("n"), r.get("gb"));
        add("snapshots".into(), n);
        add("gigabytes".into(), gb);
        add(format!("snapshots_{t}"), n);
        add(format!("gigabytes_{t}"), gb);
    }
    let groups: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM volume_groups WHERE project_id = ?")
        .bind(project_id.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    if groups > 0 {
        add("groups".into(), groups);
    }
    let backups = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS gb FROM backups WHERE project_id = ?",
    )
    .bind(project_id.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let (n, gb): (i64, i64) = (backups.get("n"), backups.get("gb"));
    if n > 0 {
        add("backups".into(), n);
        add("backup_gigabytes".into(), gb);
    }
    let servers = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(SUM(vcpus), 0) AS cores, COALESCE(SUM(ram_mib), 0) AS ram \
         FROM servers WHERE project_id = ?",
    )
    .bind(project_id.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let n: i64 = servers.get("n");
    if n > 0 {
        add("instances".into(), n);
        add("cores".into(), servers.get("cores"));
        add("ram".into(), servers.get("ram"));
    }
    Ok(used)
}

pub(crate) async fn limits(
    conn: &mut SqliteConnection,
    project_id: &ProjectId,
) -> DomainResult<BTreeMap<String, i64>> {
    let rows = sqlx::query("SELECT resource, hard_limit FROM quotas WHERE project_id = ?")
        .bind(project_id.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(rows
        .iter()
        .map(|r| (r.get("resource"), r.get("hard_limit")))
        .collect())
}

/// Takes the project's quota lock for the rest of the transaction: counting
/// usage and then inserting is only exact if no other transaction of the
/// project does the same in between. SQLite's single writer already
/// guarantees that; the lock row is what guarantees it on a database with
/// concurrent writers (there, `SELECT ... FOR UPDATE` or this same `UPDATE`
/// blocks the project's other quota checks until commit), and it costs
/// SQLite one small write.
async fn lock(conn: &mut SqliteConnection, project_id: &ProjectId) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO quota_locks (project_id) VALUES (?) ON CONFLICT (project_id) DO NOTHING",
    )
    .bind(project_id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE quota_locks SET version = version + 1 WHERE project_id = ?")
        .bind(project_id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Checks that adding `deltas` keeps every resource within its limit, and
/// that a single volume of `volume_size` GiB is within `per_volume_gigabytes`.
/// Runs inside the caller's write transaction, and takes the project's
/// quota lock before counting.
pub(crate) async fn check(
    conn: &mut SqliteConnection,
    project_id: &ProjectId,
    defaults: &QuotaDefaults,
    deltas: &[(String, i64)],
    volume_size: Option<i64>,
) -> DomainResult<()> {
    lock(conn, project_id).await?;
    let explicit = limits(conn, project_id).await?;
    let limit_of = |r: &str| explicit.get(r).copied().unwrap_or_else(|| defaults.get(r));
    if let Some(size) = volume_size {
        let limit = limit_of("per_volume_gigabytes");
        if limit >= 0 && size > limit {
            return Err(DomainError::QuotaExceeded {
                resource: "per_volume_gigabytes".into(),
                requested: size,
                in_use: 0,
                limit,
            });
        }
    }
    let used = usage(conn, project_id).await?;
    for (resource, delta) in deltas {
        let limit = limit_of(resource);
        let in_use = used.get(resource).copied().unwrap_or(0);
        if *delta > 0 && limit >= 0 && in_use + delta > limit {
            return Err(DomainError::QuotaExceeded {
                resource: resource.clone(),
                requested: *delta,
                in_use,
                limit,
            });
        }
    }
    Ok(())
}

#[async_trait]
impl QuotaRepo for SqliteStore {
    /// Limits and usage of every resource of a project: the global resources
    /// and the per-type resources of every volume type.
    async fn quota_usage(
        &self,
        project_id: &ProjectId,
        defaults: &QuotaDefaults,
        type_names: &[String],
    ) -> DomainResult<Vec<QuotaUsage>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        let explicit = limits(&mut conn, project_id).await?;
        let used = usage(&mut conn, project_id).await?;
        let mut resources: Vec<String> = QUOTA_GLOBAL_RESOURCES
            .iter()
            .map(|s| s.to_string())
            .collect();
        for t in type_names {
            for prefix in ["volumes", "gigabytes", "snapshots"] {
                resources.push(format!("{prefix}_{t}"));
            }
        }
        Ok(resources
            .into_iter()
            .map(|r| QuotaUsage {
                limit: explicit
                    .get(&r)
                    .copied()
                    .unwrap_or_else(|| defaults.get(&r)),
                in_use: used.get(&r).copied().unwrap_or(0),
                resource: r,
            })
            .collect())
    }

    /// Sets explicit limits for a project.
    async fn quota_set(
        &self,
        project_id: &ProjectId,
        limits: &[(String, i64)],
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        for (resource, limit) in limits {
            sqlx::query(
                "INSERT INTO quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) \
                 ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
            )
            .bind(project_id.as_str())
            .bind(resource)
            .bind(limit)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// Drops a project's explicit limits: the defaults apply again.
    async fn quota_reset(&self, project_id: &ProjectId) -> DomainResult<()> {
        sqlx::query("DELETE FROM quotas WHERE project_id = ?")
            .bind(project_id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
