//! The durable job runner.
//!
//! A job row is written in the same transaction as the status change that
//! starts it; the runner then does the backend work and finishes the job and
//! the resource's status in one more transaction. Backend steps are
//! idempotent, so a job interrupted by a crash is simply run again by
//! [`Platter::recover`] at the next start.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use platter_backend::StorageBackend;
use platter_model::{
    DomainResult, Job, JobKind, JobStatus, SnapshotStatus, VolumeSource, VolumeStatus, GIB,
};
use platter_store::SnapshotQuery;
use serde::Deserialize;
use tokio::sync::{mpsc, Semaphore};
use tracing::Instrument;

use crate::{Inner, Platter};

pub(crate) struct JobQueue {
    tx: mpsc::UnboundedSender<Job>,
}

impl JobQueue {
    pub(crate) fn new() -> (JobQueue, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (JobQueue { tx }, rx)
    }

    pub(crate) fn submit(&self, job: Job) {
        if self.tx.send(job).is_err() {
            // Only while shutting down; the job stays in the store and is
            // re-driven at the next start.
            tracing::warn!("job runner stopped; job left for recovery");
        }
    }
}

pub(crate) fn spawn_runner(platter: Platter, mut rx: mpsc::UnboundedReceiver<Job>) {
    let weak: Weak<Inner> = Arc::downgrade(&platter.inner);
    let limit = platter.config().job_concurrency.max(1);
    drop(platter);
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(limit));
        while let Some(job) = rx.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let Some(inner) = weak.upgrade() else { break };
            let platter = Platter { inner };
            tokio::spawn(async move {
                platter.run_job(job).await;
                drop(permit);
            });
        }
    });
}

#[derive(Deserialize)]
struct CreateParams {
    size_gib: i64,
    source: VolumeSource,
}

#[derive(Deserialize)]
struct ExtendParams {
    new_size_gib: i64,
    /// The status an extend returns to (jobs of older versions: available).
    #[serde(default = "available")]
    restore: VolumeStatus,
}

fn available() -> VolumeStatus {
    VolumeStatus::Available
}

#[derive(Deserialize)]
struct RetypeParams {
    type_id: String,
    iops: Option<i64>,
    throughput: Option<i64>,
    restore: VolumeStatus,
}

#[derive(Deserialize)]
struct QosParams {
    /// The volume's type when the change was asked for.
    #[serde(default)]
    type_id: Option<String>,
    iops: Option<i64>,
    throughput: Option<i64>,
}

#[derive(Deserialize)]
struct RollbackParams {
    snapshot_id: String,
}

#[derive(Deserialize)]
struct SnapshotParams {
    volume_id: String,
}

fn bytes(gib: i64) -> u64 {
    (gib.max(0) as u64).saturating_mul(GIB)
}

fn params<T: for<'de> Deserialize<'de>>(job: &Job) -> Result<T, String> {
    serde_json::from_value(job.params.clone()).map_err(|e| format!("bad job parameters: {e}"))
}

impl Platter {
    /// Runs a job to its end. Never panics; every failure ends as a failed
    /// job and an error status on its resource.
    pub(crate) async fn run_job(&self, job: Job) {
        let span = tracing::info_span!("job", id = %job.id, kind = job.kind.as_str(), resource = %job.resource_id);
        self.run_job_in_span(job).instrument(span).await
    }

    async fn run_job_in_span(&self, job: Job) {
        if let Err(e) = self.store().job_mark_running(&job.id, job.step).await {
            tracing::error!(error = %e, "could not start job; left for recovery");
            return;
        }
        let delay = self.config().faults.job_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let outcome = self.backend_step(&job).await;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "job failed");
            self.undo_backend_step(&job).await;
        }
        let error = outcome.err();
        let error = error.as_deref();
        let id = &job.resource_id;
        let finished = match job.kind {
            JobKind::VolumeCreate => self.store().volume_finish_create(id, &job.id, error).await,
            JobKind::VolumeDelete => self.store().volume_finish_delete(id, &job.id, error).await,
            JobKind::VolumeExtend => match params::<ExtendParams>(&job) {
                Ok(p) => {
                    self.store()
                        .volume_finish_extend(id, &job.id, p.new_size_gib, p.restore, error)
                        .await
                }
                Err(e) => {
                    self.store()
                        .volume_finish_extend(id, &job.id, 0, VolumeStatus::Available, Some(&e))
                        .await
                }
            },
            JobKind::VolumeRetype => match params::<RetypeParams>(&job) {
                Ok(p) => {
                    let r = self
                        .store()
                        .volume_finish_retype(
                            id,
                            &job.id,
                            &p.type_id,
                            p.iops,
                            p.throughput,
                            p.restore,
                            error,
                        )
                        .await;
                    self.refresh_qos(id).await;
                    r
                }
                Err(e) => {
                    self.store()
                        .job_finish(&job.id, JobStatus::Fail, Some(&e))
                        .await
                }
            },
            JobKind::VolumeQos => match params::<QosParams>(&job) {
                Ok(p) => {
                    let r = self
                        .store()
                        .volume_finish_qos(
                            id,
                            &job.id,
                            p.type_id.as_deref(),
                            p.iops,
                            p.throughput,
                            error,
                        )
                        .await;
                    self.refresh_qos(id).await;
                    r
                }
                Err(e) => {
                    self.store()
                        .job_finish(&job.id, JobStatus::Fail, Some(&e))
                        .await
                }
            },
            JobKind::VolumeRollback => match params::<RollbackParams>(&job) {
                Ok(p) => {
                    self.store()
                        .volume_finish_rollback(id, &p.snapshot_id, &job.id, error)
                        .await
                }
                Err(e) => {
                    self.store()
                        .job_finish(&job.id, JobStatus::Fail, Some(&e))
                        .await
                }
            },
            JobKind::SnapshotCreate => {
                self.store()
                    .snapshot_finish_create(id, &job.id, error)
                    .await
            }
            JobKind::SnapshotDelete => {
                self.store()
                    .snapshot_finish_delete(id, &job.id, error)
                    .await
            }
        };
        match finished {
            Ok(()) if error.is_none() => tracing::info!("job succeeded"),
            Ok(()) => {}
            Err(e) => {
                tracing::error!(error = %e, "could not record the end of the job; left for recovery")
            }
        }
    }

    /// The backend of the pool a job's volume (or its snapshot's volume)
    /// lives in.
    async fn job_backend(&self, job: &Job) -> Result<Arc<dyn StorageBackend>, String> {
        let volume_id = match job.kind {
            JobKind::SnapshotCreate | JobKind::SnapshotDelete => {
                match job.params.get("volume_id").and_then(|v| v.as_str()) {
                    Some(v) => v.to_string(),
                    None => self
                        .store()
                        .snapshot_get(&job.resource_id)
                        .await
                        .map_err(|e| e.to_string())?
                        .map(|s| s.volume_id)
                        .unwrap_or_default(),
                }
            }
            _ => job.resource_id.clone(),
        };
        let pool = match self
            .store()
            .volume_get(&volume_id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(v) => v.pool,
            None => {
                tracing::warn!(volume = %volume_id, "the job's volume is gone; using the default pool");
                self.pools().default_pool().name.clone()
            }
        };
        self.backend_of(&pool).map_err(|e| e.to_string())
    }

    async fn blocking<F>(backend: &Arc<dyn StorageBackend>, f: F) -> Result<(), String>
    where
        F: FnOnce(&dyn StorageBackend) -> platter_backend::BackendResult<()> + Send + 'static,
    {
        let backend = backend.clone();
        tokio::task::spawn_blocking(move || f(backend.as_ref()))
            .await
            .map_err(|e| format!("backend task failed: {e}"))?
            .map_err(|e| e.to_string())
    }

    /// The backend work of a job; idempotent.
    async fn backend_step(&self, job: &Job) -> Result<(), String> {
        if self.config().faults.fail_jobs.contains(&job.kind) {
            return Err(format!("injected fault in {}", job.kind.as_str()));
        }
        let id = job.resource_id.clone();
        let b = &self.job_backend(job).await?;
        match job.kind {
            JobKind::VolumeCreate => {
                let p: CreateParams = params(job)?;
                let size = bytes(p.size_gib);
                match p.source {
                    VolumeSource::Blank => {
                        Self::blocking(b, move |b| b.create_volume(&id, size)).await
                    }
                    VolumeSource::Snapshot(snap) => {
                        Self::blocking(b, move |b| b.clone_from_snapshot(&snap, &id, size)).await
                    }
                    VolumeSource::Volume(src) => {
                        Self::blocking(b, move |b| b.clone_from_volume(&src, &id, size)).await
                    }
                }
            }
            JobKind::VolumeDelete => {
                let snaps = self
                    .store()
                    .snapshot_list(&SnapshotQuery {
                        volume_id: Some(id.clone()),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                for s in snaps {
                    Self::blocking(b, move |b| b.delete_snapshot(&s.id)).await?;
                }
                Self::blocking(b, move |b| b.delete_volume(&id)).await
            }
            JobKind::VolumeExtend => {
                let p: ExtendParams = params(job)?;
                let size = bytes(p.new_size_gib);
                Self::blocking(b, move |b| b.extend_volume(&id, size)).await
            }
            JobKind::SnapshotCreate => {
                let p: SnapshotParams = params(job)?;
                Self::blocking(b, move |b| b.create_snapshot(&p.volume_id, &id)).await
            }
            JobKind::SnapshotDelete => Self::blocking(b, move |b| b.delete_snapshot(&id)).await,
            // A retype never changes the pool (one to a type of another pool
            // is refused): it changes the type and its QoS, the data stays.
            JobKind::VolumeRetype | JobKind::VolumeQos => Ok(()),
            JobKind::VolumeRollback => {
                let p: RollbackParams = params(job)?;
                Self::blocking(b, move |b| b.rollback_volume(&id, &p.snapshot_id)).await
            }
        }
    }

    /// Undoes what a failed create may have left in the backend.
    async fn undo_backend_step(&self, job: &Job) {
        let id = job.resource_id.clone();
        let undo = match job.kind {
            JobKind::VolumeCreate | JobKind::SnapshotCreate => match self.job_backend(job).await {
                Ok(b) if job.kind == JobKind::VolumeCreate => {
                    Self::blocking(&b, move |b| b.delete_volume(&id)).await
                }
                Ok(b) => Self::blocking(&b, move |b| b.delete_snapshot(&id)).await,
                Err(e) => Err(e),
            },
            _ => Ok(()),
        };
        if let Err(e) = undo {
            tracing::error!(error = %e, "undo after a failed job failed");
        }
    }

    /// Re-drives every job a previous process left unfinished, and fails any
    /// resource stuck in a transitional status without a job. Returns how
    /// many jobs were re-driven.
    pub async fn recover(&self) -> DomainResult<usize> {
        let jobs = self.store().job_list_unfinished().await?;
        // A resource is busy if a job will finish it: its own job, or (for
        // the snapshot of a rollback) the job that names it.
        let busy: HashSet<String> = jobs
            .iter()
            .flat_map(|j| {
                let snap = (j.kind == JobKind::VolumeRollback)
                    .then(|| j.params.get("snapshot_id").and_then(|s| s.as_str()))
                    .flatten()
                    .map(str::to_string);
                std::iter::once(j.resource_id.clone()).chain(snap)
            })
            .collect();
        let count = jobs.len();
        for job in jobs {
            tracing::info!(job = %job.id, kind = job.kind.as_str(), "re-driving unfinished job");
            self.inner.jobs.submit(job);
        }
        for v in self.store().volume_list_transitional().await? {
            if busy.contains(&v.id) {
                continue;
            }
            let to = match v.status {
                VolumeStatus::Deleting => VolumeStatus::ErrorDeleting,
                VolumeStatus::Extending => VolumeStatus::ErrorExtending,
                VolumeStatus::Rollbacking => VolumeStatus::ErrorRollbacking,
                _ => VolumeStatus::Error,
            };
            tracing::warn!(volume = %v.id, from = %v.status, to = %to, "volume in a transitional status without a job");
            self.store()
                .volume_cas_status(&v.id, &[v.status], to)
                .await?;
        }
        for s in self.store().snapshot_list_transitional().await? {
            if busy.contains(&s.id) {
                continue;
            }
            let to = match s.status {
                SnapshotStatus::Deleting => SnapshotStatus::ErrorDeleting,
                _ => SnapshotStatus::Error,
            };
            tracing::warn!(snapshot = %s.id, from = %s.status, to = %to, "snapshot in a transitional status without a job");
            self.store().snapshot_set_status(&s.id, to).await?;
        }
        self.store()
            .token_purge_expired(&platter_model::now_timestamp())
            .await?;
        // Keys past twice their validity: old enough that no client retries.
        if let Some(now) = platter_model::parse_timestamp(&platter_model::now_timestamp()) {
            let before = platter_model::format_timestamp(
                now - time::Duration::seconds(2 * crate::IDEMPOTENCY_TTL_SECS),
            );
            self.store().idempotency_purge(&before).await?;
        }
        Ok(count)
    }
}
