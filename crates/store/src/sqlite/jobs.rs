//! Durable jobs.

use async_trait::async_trait;
use platter_model::{DomainResult, Job, JobGroup, JobId, JobKind, JobParams, JobStatus};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{db_err, now_text, opt_str, parse_enum, ts_text, RowExt, SqliteStore};
use crate::repo::JobRepo;

fn job_from_row(r: &SqliteRow) -> DomainResult<Job> {
    let params: String = r.get("params");
    let kind: JobKind = parse_enum(&r.get::<String, _>("kind"))?;
    Ok(Job {
        id: r.id("id"),
        kind,
        project_id: r.id("project_id"),
        resource_id: r.get("resource_id"),
        // Never fails: parameters of no known shape fail their job instead.
        params: JobParams::from_json_str(kind, &params),
        status: parse_enum(&r.get::<String, _>("status"))?,
        step: r.get("step"),
        error: r.get("error"),
        created_at: r.ts("created_at")?,
        begin_at: r.ts_opt("begin_at")?,
        end_at: r.ts_opt("end_at")?,
        parent_id: r.id_opt("parent_id"),
    })
}

/// Inserts a job inside the caller's transaction.
pub(crate) async fn insert(conn: &mut SqliteConnection, job: &Job) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, project_id, resource_id, params, status, step, error, created_at, begin_at, end_at, parent_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(job.id.as_str())
    .bind(job.kind.as_str())
    .bind(job.project_id.as_str())
    .bind(&job.resource_id)
    .bind(job.params.to_json().to_string())
    .bind(job.status.as_str())
    .bind(job.step)
    .bind(&job.error)
    .bind(job.created_at.to_string())
    .bind(ts_text(job.begin_at))
    .bind(ts_text(job.end_at))
    .bind(opt_str(&job.parent_id))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if let Some(parent) = &job.parent_id {
        // Members list in creation order: number this one after its
        // siblings (an explicit column, not the rows' storage order).
        sqlx::query(
            "UPDATE jobs SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs WHERE parent_id = ?) \
             WHERE id = ?",
        )
        .bind(parent.as_str())
        .bind(job.id.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Inserts a job group inside the caller's transaction.
pub(crate) async fn insert_group(conn: &mut SqliteConnection, g: &JobGroup) -> DomainResult<()> {
    sqlx::query("INSERT INTO job_groups (id, kind, project_id, created_at) VALUES (?, ?, ?, ?)")
        .bind(g.id.as_str())
        .bind(g.kind.as_str())
        .bind(g.project_id.as_str())
        .bind(g.created_at.to_string())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl JobRepo for SqliteStore {
    async fn job_group_get(&self, id: &JobId) -> DomainResult<Option<JobGroup>> {
        let row = sqlx::query("SELECT * FROM job_groups WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            Ok(JobGroup {
                id: r.id("id"),
                kind: parse_enum(&r.get::<String, _>("kind"))?,
                project_id: r.id("project_id"),
                created_at: r.ts("created_at")?,
            })
        })
        .transpose()
    }

    async fn job_group_insert(&self, g: &JobGroup) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        insert_group(&mut tx, g).await?;
        tx.commit().await.map_err(db_err)
    }

    /// The members of a job group, in creation order.
    async fn job_list_members(&self, group_id: &JobId) -> DomainResult<Vec<Job>> {
        let rows =
            sqlx::query("SELECT * FROM jobs WHERE parent_id = ? ORDER BY created_at, seq, id")
                .bind(group_id.as_str())
                .fetch_all(&self.read)
                .await
                .map_err(db_err)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn job_get(&self, id: &JobId) -> DomainResult<Option<Job>> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs that have not reached SUCCESS or FAIL, oldest first.
    async fn job_list_unfinished(&self) -> DomainResult<Vec<Job>> {
        let rows = sqlx::query(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(job_from_row).collect()
    }

    /// Marks a job running (recording when it began) at `step`.
    async fn job_mark_running(&self, id: &JobId, step: i64) -> DomainResult<()> {
        sqlx::query("UPDATE jobs SET status = 'running', step = ?, begin_at = COALESCE(begin_at, ?) WHERE id = ?")
            .bind(step)
            .bind(now_text())
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Records that a running job's steps before `step` are done.
    async fn job_set_step(&self, id: &JobId, step: i64) -> DomainResult<()> {
        sqlx::query("UPDATE jobs SET step = ? WHERE id = ? AND status = 'running'")
            .bind(step)
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Ends a job.
    async fn job_finish(
        &self,
        id: &JobId,
        status: JobStatus,
        error: Option<&str>,
    ) -> DomainResult<()> {
        sqlx::query("UPDATE jobs SET status = ?, error = ?, end_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(error)
            .bind(now_text())
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// The backup a job read to restore a volume, when no other unfinished
/// job reads it (so it may be `available` again), inside the caller's
/// transaction.
pub(crate) async fn backup_released_by(
    conn: &mut SqliteConnection,
    job_id: &JobId,
) -> DomainResult<Option<platter_model::BackupId>> {
    let rows = sqlx::query("SELECT * FROM jobs WHERE id = ? OR status IN (?, ?)")
        .bind(job_id.as_str())
        .bind(JobStatus::Init.as_str())
        .bind(JobStatus::Running.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let jobs = rows
        .iter()
        .map(job_from_row)
        .collect::<DomainResult<Vec<Job>>>()?;
    let Some(backup) = jobs
        .iter()
        .find(|j| &j.id == job_id)
        .and_then(|j| j.params.restored_backup().cloned())
    else {
        return Ok(None);
    };
    let others = jobs
        .iter()
        .any(|j| &j.id != job_id && j.params.restored_backup() == Some(&backup));
    Ok((!others).then_some(backup))
}

/// Ends a job inside the caller's transaction.
pub(crate) async fn finish_in(
    conn: &mut SqliteConnection,
    job_id: &JobId,
    error: Option<&str>,
) -> DomainResult<()> {
    let status = if error.is_some() {
        JobStatus::Fail
    } else {
        JobStatus::Success
    };
    sqlx::query("UPDATE jobs SET status = ?, error = ?, end_at = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(error)
        .bind(now_text())
        .bind(job_id.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
