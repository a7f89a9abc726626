//! The durable job runner.
//!
//! A job row is written in the same transaction as the status change that
//! starts it (and holds its quota). The runner then runs the steps of its
//! kind ([`JobKind::steps`]) from the persisted index, recording the index
//! of the next step after each one; the last step ends the job and the
//! resource's status in one transaction. Every step is idempotent, so a job
//! interrupted by a crash is resumed by [`Platter::recover`] at the next
//! start from the step it was at. A failed step runs the undos of the steps
//! done (its own first) in reverse, then ends the job failed and its
//! resource in its kind's error status.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use platter_backend::StorageBackend;
use platter_model::{
    BackupId, DomainResult, GroupSnapshotStatus, GroupStatus, Job, JobKind, JobParams, JobStep,
    ReplicationStatus, SnapshotId, SnapshotStatus, Timestamp, VolumeCreateParams, VolumeId,
    VolumeSource, VolumeStatus, VolumeTypeId, GIB,
};
use platter_store::{SnapshotQuery, VolumeQuery};
use tokio::sync::{mpsc, Semaphore};
use tracing::Instrument;

use crate::{Inner, Platter};

pub(crate) struct JobQueue {
    tx: mpsc::UnboundedSender<Job>,
    /// Jobs submitted whose run has not returned (their last step's
    /// cleanup included).
    active: Arc<std::sync::atomic::AtomicUsize>,
}

impl JobQueue {
    pub(crate) fn new() -> (JobQueue, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            JobQueue {
                tx,
                active: Arc::default(),
            },
            rx,
        )
    }

    pub(crate) fn submit(&self, job: Job) {
        self.active
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.tx.send(job).is_err() {
            self.active
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
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
                platter
                    .inner
                    .jobs
                    .active
                    .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                drop(permit);
            });
        }
    });
}

fn bytes(gib: i64) -> u64 {
    (gib.max(0) as u64).saturating_mul(GIB)
}

impl Platter {
    /// Jobs submitted to this process's runner whose run has not returned.
    /// A job's status turns terminal in the store a moment before its run
    /// returns (a migration deletes its source device after the commit):
    /// tests that look at the backend wait for this to be 0.
    pub fn jobs_active(&self) -> usize {
        self.inner
            .jobs
            .active
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs a job from its persisted step to its end. Never panics; every
    /// failure undoes the steps done and ends as a failed job and an error
    /// status on its resource.
    pub(crate) async fn run_job(&self, job: Job) {
        let span = tracing::info_span!("job", id = %job.id, kind = job.kind.as_str(), resource = %job.resource_id);
        let kind = job.kind.as_str();
        let started = std::time::Instant::now();
        crate::metrics::job_started();
        let outcome = self.run_job_in_span(job).instrument(span).await;
        crate::metrics::job_finished(kind, outcome, started.elapsed().as_secs_f64());
    }

    /// Runs the job; how it ended: `succeeded`, `failed` (undone) or
    /// `interrupted` (left for recovery).
    async fn run_job_in_span(&self, job: Job) -> &'static str {
        let steps = job.kind.steps();
        // The last step ends the job, so a stored index never passes it.
        let start = usize::try_from(job.step)
            .unwrap_or(0)
            .min(steps.len().saturating_sub(1));
        if let Err(e) = self.store().job_mark_running(&job.id, start as i64).await {
            tracing::error!(error = %e, "could not start job; left for recovery");
            return "interrupted";
        }
        let faults = &self.config().faults;
        if !faults.job_delay.is_zero() {
            tokio::time::sleep(faults.job_delay).await;
        }
        let mut failure = match &job.params {
            JobParams::Unreadable { error, .. } => {
                Some((start, format!("bad job parameters: {error}")))
            }
            p if p.kind() != job.kind => Some((
                start,
                format!(
                    "bad job parameters: {} parameters for a {} job",
                    p.kind().as_str(),
                    job.kind.as_str()
                ),
            )),
            _ if faults.fail_jobs.contains(&job.kind) => {
                Some((start, format!("injected fault in {}", job.kind.as_str())))
            }
            _ => None,
        };
        let mut next = start;
        while failure.is_none() && next < steps.len() {
            let step = steps[next];
            if faults.crash_before_step == Some((job.kind, next)) {
                tracing::warn!(step = %step, "injected crash: job left for recovery");
                return "interrupted";
            }
            if faults.fail_before_step == Some((job.kind, next)) {
                failure = Some((next, format!("injected fault before {step}")));
                break;
            }
            let mut outcome = self.run_step(&job, step, next + 1 == steps.len()).await;
            if outcome.is_ok() && faults.repeat_steps {
                outcome = self.run_step(&job, step, next + 1 == steps.len()).await;
            }
            match outcome {
                Ok(()) if next + 1 == steps.len() => {
                    tracing::info!("job succeeded");
                    return "succeeded";
                }
                Ok(()) => {
                    next += 1;
                    if let Err(e) = self.store().job_set_step(&job.id, next as i64).await {
                        tracing::error!(error = %e, "could not record a step; left for recovery");
                        return "interrupted";
                    }
                }
                Err(e) => failure = Some((next, e)),
            }
        }
        if let Some((failed, error)) = failure {
            tracing::warn!(error = %error, step = failed, "job failed; undoing its steps");
            self.unwind(&job, failed, &error).await;
        }
        "failed"
    }

    /// Undoes the steps of a failed job, the failed one first (it may have
    /// done part of its work), then ends the job and its resource's status
    /// as failed. The persisted index follows the undos down, so a crash
    /// meanwhile resumes from steps really done.
    async fn unwind(&self, job: &Job, failed: usize, error: &str) {
        let steps = job.kind.steps();
        for i in (0..=failed).rev() {
            let Some(&step) = steps.get(i) else { continue };
            if let Err(e) = self.undo_step(job, step).await {
                tracing::error!(error = %e, step = %step, "undo after a failed job failed");
            }
            if i < failed {
                if let Err(e) = self.store().job_set_step(&job.id, i as i64).await {
                    tracing::error!(error = %e, "could not record an undo; left for recovery");
                    return;
                }
            }
        }
        match self.finish_job(job, Some(error)).await {
            Ok(()) => self.record_failure(job).await,
            Err(e) => {
                tracing::error!(error = %e, "could not record the end of the job; left for recovery")
            }
        }
    }

    /// The volume of a snapshot job: from its parameters, else its row
    /// (an empty id if the snapshot is gone: no volume has it).
    async fn snapshot_volume(&self, job: &Job) -> Result<VolumeId, String> {
        if let JobParams::SnapshotCreate(p) | JobParams::SnapshotDelete(p) = &job.params {
            if let Some(v) = &p.volume_id {
                return Ok(v.clone());
            }
        }
        if let JobParams::SnapshotManage(p) = &job.params {
            return Ok(p.volume_id.clone());
        }
        Ok(self
            .store()
            .snapshot_get(&job.snapshot_id())
            .await
            .map_err(|e| e.to_string())?
            .map_or_else(|| VolumeId::from(String::new()), |s| s.volume_id))
    }

    /// The pool a volume job's volume lives in.
    async fn job_pool(&self, job: &Job) -> Result<String, String> {
        self.store()
            .volume_get(&job.volume_id())
            .await
            .map_err(|e| e.to_string())?
            .map(|v| v.pool)
            .ok_or_else(|| format!("volume {} is gone", job.resource_id))
    }

    /// The backend of the pool a job's volume (or its snapshot's volume)
    /// lives in.
    async fn job_backend(&self, job: &Job) -> Result<Arc<dyn StorageBackend>, String> {
        if let JobParams::BackupCreate(p) | JobParams::BackupDelete(p) = &job.params {
            return self.backend_of(&p.pool).map_err(|e| e.to_string());
        }
        if let Some(pool) = job.params.group_pool() {
            return self.backend_of(pool).map_err(|e| e.to_string());
        }
        let volume_id = if job.kind.on_snapshot() {
            self.snapshot_volume(job).await?
        } else {
            job.volume_id()
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

    /// The backend of a volume job's replica, if the volume has one.
    async fn job_replica(&self, job: &Job) -> Result<Option<Arc<dyn StorageBackend>>, String> {
        match self
            .store()
            .volume_get(&job.volume_id())
            .await
            .map_err(|e| e.to_string())?
        {
            Some(v) => self.replica_backend(&v),
            None => Ok(None),
        }
    }

    /// The volumes of a group (by its id).
    async fn group_members(&self, group_id: &str) -> Result<Vec<platter_model::Volume>, String> {
        self.store()
            .volume_list(&VolumeQuery {
                group_id: Some(group_id.into()),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())
    }

    /// `(volume id, snapshot id)` of each snapshot of a group snapshot.
    async fn group_snapshot_members(&self, id: &str) -> Result<Vec<(String, String)>, String> {
        let snaps = self
            .store()
            .snapshot_list(&SnapshotQuery {
                group_snapshot_id: Some(id.into()),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok(snaps
            .into_iter()
            .map(|s| (s.volume_id.to_string(), s.id.to_string()))
            .collect())
    }

    pub(crate) async fn blocking<F>(backend: &Arc<dyn StorageBackend>, f: F) -> Result<(), String>
    where
        F: FnOnce(&dyn StorageBackend) -> platter_backend::BackendResult<()> + Send + 'static,
    {
        let backend = backend.clone();
        tokio::task::spawn_blocking(move || f(backend.as_ref()))
            .await
            .map_err(|e| format!("backend task failed: {e}"))?
            .map_err(|e| e.to_string())
    }

    /// Makes a new volume's device from its source (idempotent: a device
    /// that exists is left).
    pub(crate) async fn allocate_device(
        &self,
        b: &Arc<dyn StorageBackend>,
        pool: &str,
        volume: &VolumeId,
        size_gib: i64,
        source: &VolumeSource,
    ) -> Result<(), String> {
        let id = volume.to_string();
        let size = bytes(size_gib);
        match source.clone() {
            VolumeSource::Blank => Self::blocking(b, move |b| b.create_volume(&id, size)).await,
            VolumeSource::Snapshot(snap) => {
                Self::blocking(b, move |b| b.clone_from_snapshot(snap.as_str(), &id, size)).await
            }
            VolumeSource::Volume(src) => {
                Self::blocking(b, move |b| b.clone_from_volume(src.as_str(), &id, size)).await
            }
            VolumeSource::Image(image) => {
                self.allocate_from_image(&image, b, pool, &id, size).await
            }
            VolumeSource::Backup(backup) => {
                Self::blocking(b, move |b| match b.volume_exists(&id)? {
                    true => Ok(()),
                    false => b.create_volume(&id, size),
                })
                .await?;
                self.write_backup_to(b, &backup, volume).await
            }
        }
    }

    /// Runs one step; idempotent. The `last` step ends the job.
    async fn run_step(&self, job: &Job, step: JobStep, last: bool) -> Result<(), String> {
        if last {
            return self.finish_job(job, None).await;
        }
        if job.kind.on_server() {
            return self.run_server_step(job, step).await;
        }
        let id = job.resource_id.clone();
        let b = &self.job_backend(job).await?;
        match (step, &job.params) {
            (JobStep::AllocateVolume, JobParams::VolumeCreate(p)) => {
                if let Some(why) = &p.unschedulable {
                    return Err(format!("no valid backend: {why}"));
                }
                let pool = self.job_pool(job).await?;
                self.allocate_device(b, &pool, &job.volume_id(), p.size_gib, &p.source)
                    .await
            }
            (JobStep::SyncReplica, params) => {
                let blank = matches!(
                    params,
                    JobParams::VolumeCreate(VolumeCreateParams {
                        source: VolumeSource::Blank,
                        ..
                    })
                );
                self.run_sync_replica(&job.volume_id(), blank).await
            }
            (JobStep::SnapshotForBackup, JobParams::BackupCreate(p)) => {
                self.run_backup_snapshot(&job.resource_id.as_str().into(), p)
                    .await
            }
            (JobStep::WriteBackup, JobParams::BackupCreate(p)) => {
                self.run_backup_write(&job.resource_id.as_str().into(), p)
                    .await
            }
            (JobStep::DeleteBackupData, JobParams::BackupDelete(p)) => {
                self.remove_backup_data(&job.resource_id.as_str().into(), p, true)
                    .await
            }
            (JobStep::CopyVolumeToImage, JobParams::VolumeUploadImage(p)) => {
                self.run_copy_to_image(&job.volume_id(), p).await
            }
            (JobStep::RestoreBackupData, JobParams::BackupRestore(p)) => {
                self.run_backup_restore(b, &job.volume_id(), p).await
            }
            (JobStep::CopyVolumeToPool, JobParams::VolumeMigrate(p)) => {
                let (src, dst) = self.migration_backends(p)?;
                tokio::task::spawn_blocking(move || {
                    crate::migration::copy_volume(&*src, &*dst, id.as_str())
                })
                .await
                .map_err(|e| format!("copy task failed: {e}"))?
            }
            (JobStep::DeleteVolumeSnapshots, _) => {
                let snaps = self
                    .store()
                    .snapshot_list(&SnapshotQuery {
                        volume_id: Some(job.volume_id()),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                for s in snaps {
                    Self::blocking(b, move |b| b.delete_snapshot(s.id.as_str())).await?;
                }
                Ok(())
            }
            (JobStep::DeleteVolumeDevice, _) => {
                // The replica first: a crash after it leaves the primary,
                // still the volume's, for the re-run.
                if let Some(replica) = self.job_replica(job).await? {
                    let id = id.clone();
                    Self::blocking(&replica, move |b| b.delete_volume(&id)).await?;
                }
                Self::blocking(b, move |b| b.delete_volume(&id)).await
            }
            (JobStep::GrowVolumeDevice, JobParams::VolumeExtend(p)) => {
                let size = bytes(p.new_size_gib);
                // The replica first, so a mirrored export never sees the
                // primary larger than its replica.
                if let Some(replica) = self.job_replica(job).await? {
                    let id = id.clone();
                    Self::blocking(&replica, move |b| {
                        if b.volume_exists(&id)? {
                            b.extend_volume(&id, size)?;
                        }
                        Ok(())
                    })
                    .await?;
                }
                Self::blocking(b, move |b| b.extend_volume(&id, size)).await
            }
            (JobStep::CreateSnapshotDevice, _) => {
                let volume = self.snapshot_volume(job).await?;
                Self::blocking(b, move |b| b.create_snapshot(volume.as_str(), &id)).await
            }
            (JobStep::DeleteSnapshotDevice, _) => {
                Self::blocking(b, move |b| b.delete_snapshot(&id)).await
            }
            (JobStep::RollbackVolumeDevice, JobParams::VolumeRollback(p)) => {
                let snap = p.snapshot_id.clone();
                let volume = job.volume_id();
                let resync = self.begin_replica_resync(&volume).await?;
                Self::blocking(b, move |b| b.rollback_volume(&id, snap.as_str())).await?;
                if resync {
                    self.end_replica_resync(&volume).await?;
                }
                Ok(())
            }
            (JobStep::DeleteGroupVolumeDevices, _) => {
                for v in self.group_members(&id).await? {
                    Self::blocking(b, move |b| b.delete_volume(v.id.as_str())).await?;
                }
                Ok(())
            }
            (JobStep::CloneGroupVolumes, _) => {
                for v in self.group_members(&id).await? {
                    let size = bytes(v.size);
                    match (v.snapshot_id, v.source_volid) {
                        (Some(snap), _) => {
                            Self::blocking(b, move |b| {
                                b.clone_from_snapshot(snap.as_str(), v.id.as_str(), size)
                            })
                            .await?
                        }
                        (None, Some(src)) => {
                            Self::blocking(b, move |b| {
                                b.clone_from_volume(src.as_str(), v.id.as_str(), size)
                            })
                            .await?
                        }
                        (None, None) => {
                            return Err(format!("volume {} of group {id} has no source", v.id))
                        }
                    }
                }
                Ok(())
            }
            (JobStep::CreateGroupSnapshotDevices, _) => {
                let members = self.group_snapshot_members(&id).await?;
                // One call for the set: one point in time across the members.
                Self::blocking(b, move |b| b.create_group_snapshot(&members)).await
            }
            (JobStep::DeleteGroupSnapshotDevices, _) => {
                for (_, snap) in self.group_snapshot_members(&id).await? {
                    Self::blocking(b, move |b| b.delete_snapshot(&snap)).await?;
                }
                Ok(())
            }
            (JobStep::AdoptVolumeDevice, JobParams::VolumeManage(p)) => {
                // The device takes the volume's id, then its whole GiB (a
                // device Platter made has them already: growing to the
                // current size is nothing).
                let (source, size) = (p.source_id.clone(), bytes(p.size_gib));
                Self::blocking(b, move |b| {
                    b.rename_volume(source.as_str(), &id)?;
                    b.extend_volume(&id, size)
                })
                .await
            }
            (JobStep::AdoptSnapshotDevice, JobParams::SnapshotManage(p)) => {
                let source = p.source_id.clone();
                Self::blocking(b, move |b| b.rename_snapshot(source.as_str(), &id)).await
            }
            (step, _) => Err(format!(
                "step {step} is not a middle step of a {} job",
                job.kind.as_str()
            )),
        }
    }

    /// Undoes one step; idempotent, and harmless if the step never ran.
    async fn undo_step(&self, job: &Job, step: JobStep) -> Result<(), String> {
        let id = job.resource_id.clone();
        match step {
            JobStep::CreateServerVolumes
            | JobStep::ConnectServerVolumes
            | JobStep::SpawnServer
            | JobStep::MarkServerCreated
            | JobStep::StopServerGuest
            | JobStep::DisconnectServerVolumes
            | JobStep::DeleteServerVolumes
            | JobStep::RemoveServerRows
            | JobStep::ConnectServerVolume
            | JobStep::PlugServerDisk
            | JobStep::MarkServerVolumeAttached
            | JobStep::UnplugServerDisk
            | JobStep::DisconnectServerVolume
            | JobStep::MarkServerVolumeDetached
            | JobStep::PowerServer
            | JobStep::MarkServerPowered => self.undo_server_step(job, step).await,
            JobStep::AllocateVolume => {
                let b = self.job_backend(job).await?;
                Self::blocking(&b, move |b| b.delete_volume(&id)).await
            }
            JobStep::CreateSnapshotDevice => {
                let b = self.job_backend(job).await?;
                Self::blocking(&b, move |b| b.delete_snapshot(&id)).await
            }
            JobStep::SyncReplica => self.undo_sync_replica(&job.volume_id()).await,
            JobStep::SnapshotForBackup => match &job.params {
                JobParams::BackupCreate(p) => {
                    self.undo_backup_snapshot(&job.resource_id.as_str().into(), p)
                        .await
                }
                _ => Ok(()),
            },
            JobStep::WriteBackup => match &job.params {
                JobParams::BackupCreate(p) => {
                    self.remove_backup_data(&job.resource_id.as_str().into(), p, false)
                        .await
                }
                _ => Ok(()),
            },
            JobStep::CopyVolumeToImage => match &job.params {
                JobParams::VolumeUploadImage(p) => self.undo_copy_to_image(&p.image_id).await,
                _ => Ok(()),
            },
            JobStep::CopyVolumeToPool => match &job.params {
                JobParams::VolumeMigrate(p) => {
                    let (_, dst) = self.migration_backends(p)?;
                    tokio::task::spawn_blocking(move || {
                        crate::migration::delete_if_present(&*dst, id.as_str())
                    })
                    .await
                    .map_err(|e| format!("undo task failed: {e}"))?
                }
                _ => Ok(()),
            },
            JobStep::CloneGroupVolumes => {
                let b = self.job_backend(job).await?;
                for v in self.group_members(&id).await? {
                    Self::blocking(&b, move |b| b.delete_volume(v.id.as_str())).await?;
                }
                Ok(())
            }
            JobStep::CreateGroupSnapshotDevices => {
                let b = self.job_backend(job).await?;
                for (_, snap) in self.group_snapshot_members(&id).await? {
                    Self::blocking(&b, move |b| b.delete_snapshot(&snap)).await?;
                }
                Ok(())
            }
            // The device gets its old name back (a grown device stays
            // grown). Nothing to do when the step never renamed it.
            JobStep::AdoptVolumeDevice => {
                let JobParams::VolumeManage(p) = &job.params else {
                    return Ok(());
                };
                let b = self.job_backend(job).await?;
                let source = p.source_id.clone();
                Self::blocking(&b, move |b| match b.rename_volume(&id, source.as_str()) {
                    Err(platter_backend::BackendError::VolumeNotFound(_)) => Ok(()),
                    other => other,
                })
                .await
            }
            JobStep::AdoptSnapshotDevice => {
                let JobParams::SnapshotManage(p) = &job.params else {
                    return Ok(());
                };
                let b = self.job_backend(job).await?;
                let source = p.source_id.clone();
                Self::blocking(&b, move |b| match b.rename_snapshot(&id, source.as_str()) {
                    Err(platter_backend::BackendError::SnapshotNotFound(_)) => Ok(()),
                    other => other,
                })
                .await
            }
            // Deletes, growth and rollbacks cannot be taken back: their
            // failure statuses (error_deleting, error_extending,
            // error_rollbacking) say so and the operation may be retried.
            // The last steps commit in one transaction: nothing to undo.
            JobStep::DeleteVolumeSnapshots
            | JobStep::DeleteVolumeDevice
            | JobStep::GrowVolumeDevice
            | JobStep::DeleteSnapshotDevice
            | JobStep::RollbackVolumeDevice
            | JobStep::MarkVolumeCreated
            | JobStep::RemoveVolumeRows
            | JobStep::RecordVolumeSize
            | JobStep::MarkSnapshotCreated
            | JobStep::RemoveSnapshotRow
            | JobStep::RecordVolumeType
            | JobStep::RecordVolumeQos
            | JobStep::MarkVolumeRolledBack
            | JobStep::RecordVolumePool
            | JobStep::DeleteGroupVolumeDevices
            | JobStep::RemoveGroupRows
            | JobStep::MarkGroupCreated
            | JobStep::MarkGroupSnapshotCreated
            | JobStep::DeleteGroupSnapshotDevices
            | JobStep::RemoveGroupSnapshotRows
            | JobStep::MarkVolumeManaged
            | JobStep::MarkSnapshotManaged
            | JobStep::MarkReplicaSynced
            | JobStep::MarkVolumeUploaded
            | JobStep::MarkBackupCreated
            | JobStep::RestoreBackupData
            | JobStep::MarkBackupRestored
            | JobStep::DeleteBackupData
            | JobStep::RemoveBackupRow => Ok(()),
        }
    }

    /// The last step: ends the job and its resource's status in one
    /// transaction, as succeeded (`error` none) or failed. Idempotent: the
    /// status changes only from the job's transitional status.
    async fn finish_job(&self, job: &Job, error: Option<&str>) -> Result<(), String> {
        let (id, snapshot) = (&job.volume_id(), &job.snapshot_id());
        let store = self.store();
        let r = match &job.params {
            JobParams::ServerCreate(_)
            | JobParams::ServerDelete(_)
            | JobParams::ServerAttachVolume(_)
            | JobParams::ServerDetachVolume(_)
            | JobParams::ServerPower(_) => self.finish_server_job(job, error).await,
            JobParams::VolumeCreate(_) => store.volume_finish_create(id, &job.id, error).await,
            JobParams::VolumeDelete(_) => store.volume_finish_delete(id, &job.id, error).await,
            JobParams::VolumeExtend(p) => {
                store
                    .volume_finish_extend(id, &job.id, p.new_size_gib, p.restore, error)
                    .await
            }
            JobParams::SnapshotCreate(_) => {
                store.snapshot_finish_create(snapshot, &job.id, error).await
            }
            JobParams::SnapshotDelete(_) => {
                store.snapshot_finish_delete(snapshot, &job.id, error).await
            }
            JobParams::VolumeRetype(p) => {
                let r = store
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
            JobParams::VolumeQos(p) => {
                let r = store
                    .volume_finish_qos(id, &job.id, p.type_id.as_ref(), p.iops, p.throughput, error)
                    .await;
                self.refresh_qos(id).await;
                r
            }
            JobParams::VolumeRollback(p) => {
                if error.is_some() {
                    // A replica the failed revert left half made is not in sync.
                    let copying = [ReplicationStatus::Copying];
                    store
                        .volume_cas_replication(id, &copying, ReplicationStatus::Error)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                store
                    .volume_finish_rollback(id, &p.snapshot_id, &job.id, error)
                    .await
            }
            JobParams::VolumeReenableReplica(p) => {
                store
                    .volume_finish_reenable_replica(id, &job.id, p.restore, error)
                    .await
            }
            JobParams::VolumeUploadImage(p) => {
                store
                    .volume_finish_upload(id, &job.id, &p.image_id, p.restore, error)
                    .await
            }
            JobParams::BackupCreate(p) => {
                let backup = job.resource_id.as_str().into();
                let objects = self.backup_object_count(&backup);
                store
                    .backup_finish_create(&backup, &job.id, objects, p.restore, error)
                    .await
            }
            JobParams::BackupDelete(_) => {
                store
                    .backup_finish_delete(&job.resource_id.as_str().into(), &job.id, error)
                    .await
            }
            JobParams::BackupRestore(p) => self.finish_backup_restore(id, &job.id, p, error).await,
            JobParams::VolumeMigrate(p) => {
                let r = store
                    .volume_finish_migrate(
                        &job.volume_id(),
                        &job.id,
                        &p.target_pool,
                        p.type_id.as_ref(),
                        p.during,
                        p.restore,
                        error,
                    )
                    .await;
                if r.is_ok() && error.is_none() {
                    // The volume lives in the target pool now; the source
                    // device is garbage (a crash before this leaks it).
                    if let Ok((src, _)) = self.migration_backends(p) {
                        let id = job.resource_id.clone();
                        let gone = tokio::task::spawn_blocking(move || {
                            crate::migration::delete_if_present(&*src, &id)
                        })
                        .await;
                        if !matches!(gone, Ok(Ok(()))) {
                            tracing::warn!("the migrated volume's source device was not deleted");
                        }
                    }
                }
                r
            }
            JobParams::GroupDelete(_) => {
                store
                    .group_finish_delete(&id.as_str().into(), &job.id, error)
                    .await
            }
            JobParams::GroupCreateFromSrc(_) => {
                store
                    .group_finish_create(&id.as_str().into(), &job.id, error)
                    .await
            }
            JobParams::GroupSnapshotCreate(_) => {
                store
                    .group_snapshot_finish_create(&id.as_str().into(), &job.id, error)
                    .await
            }
            JobParams::GroupSnapshotDelete(_) => {
                store
                    .group_snapshot_finish_delete(&id.as_str().into(), &job.id, error)
                    .await
            }
            JobParams::VolumeManage(_) => store.volume_finish_create(id, &job.id, error).await,
            JobParams::SnapshotManage(_) => {
                store.snapshot_finish_create(snapshot, &job.id, error).await
            }
            JobParams::Unreadable { .. } => {
                let error = error.unwrap_or("bad job parameters");
                self.finish_unreadable(job, error).await
            }
        };
        r.map_err(|e| e.to_string())
    }

    /// Fails a job whose parameters could not be read, leaving its
    /// resource in the error status its kind documents.
    async fn finish_unreadable(&self, job: &Job, error: &str) -> DomainResult<()> {
        let (id, snapshot) = (&job.volume_id(), &job.snapshot_id());
        let store = self.store();
        let e = Some(error);
        match job.kind {
            JobKind::ServerCreate
            | JobKind::ServerDelete
            | JobKind::ServerAttachVolume
            | JobKind::ServerDetachVolume
            | JobKind::ServerPower => self.finish_server_job(job, e).await,
            JobKind::VolumeCreate => store.volume_finish_create(id, &job.id, e).await,
            JobKind::VolumeDelete => store.volume_finish_delete(id, &job.id, e).await,
            JobKind::VolumeExtend => {
                store
                    .volume_finish_extend(id, &job.id, 0, VolumeStatus::Available, e)
                    .await
            }
            JobKind::SnapshotCreate | JobKind::SnapshotManage => {
                store.snapshot_finish_create(snapshot, &job.id, e).await
            }
            JobKind::VolumeManage => store.volume_finish_create(id, &job.id, e).await,
            JobKind::SnapshotDelete => store.snapshot_finish_delete(snapshot, &job.id, e).await,
            // The type stays; the status returns to what the attachments say.
            JobKind::VolumeRetype => {
                store
                    .volume_finish_retype(
                        id,
                        &job.id,
                        &VolumeTypeId::from(String::new()),
                        None,
                        None,
                        VolumeStatus::Available,
                        e,
                    )
                    .await
            }
            JobKind::VolumeQos => {
                store
                    .volume_finish_qos(id, &job.id, None, None, None, e)
                    .await
            }
            // The data stays in the source pool; the status returns to
            // what the attachments say.
            JobKind::VolumeMigrate => {
                let during = store
                    .volume_get(id)
                    .await?
                    .map_or(VolumeStatus::Maintenance, |v| v.status);
                store
                    .volume_finish_migrate(
                        id,
                        &job.id,
                        "",
                        None,
                        during,
                        VolumeStatus::Available,
                        e,
                    )
                    .await
            }
            JobKind::VolumeRollback => {
                // The snapshot is the volume's one in `rollbacking`.
                let snaps = store
                    .snapshot_list(&SnapshotQuery {
                        volume_id: Some(id.clone()),
                        ..Default::default()
                    })
                    .await?;
                let snap = snaps
                    .into_iter()
                    .find(|s| s.status == SnapshotStatus::Rollbacking)
                    .map_or_else(|| SnapshotId::from(String::new()), |s| s.id);
                store.volume_finish_rollback(id, &snap, &job.id, e).await
            }
            JobKind::GroupDelete => {
                store
                    .group_finish_delete(&id.as_str().into(), &job.id, e)
                    .await
            }
            JobKind::GroupCreateFromSrc => {
                store
                    .group_finish_create(&id.as_str().into(), &job.id, e)
                    .await
            }
            JobKind::GroupSnapshotCreate => {
                store
                    .group_snapshot_finish_create(&id.as_str().into(), &job.id, e)
                    .await
            }
            JobKind::GroupSnapshotDelete => {
                store
                    .group_snapshot_finish_delete(&id.as_str().into(), &job.id, e)
                    .await
            }
            JobKind::VolumeReenableReplica => {
                store
                    .volume_finish_reenable_replica(id, &job.id, VolumeStatus::Available, e)
                    .await
            }
            // The image is left `saving`; the start-up sweep queues it
            // again. The volume returns to what its attachments say.
            JobKind::BackupCreate => {
                store
                    .backup_finish_create(
                        &job.resource_id.as_str().into(),
                        &job.id,
                        0,
                        VolumeStatus::Available,
                        e,
                    )
                    .await
            }
            JobKind::BackupDelete => {
                store
                    .backup_finish_delete(&job.resource_id.as_str().into(), &job.id, e)
                    .await
            }
            // The backup is left `restoring`; the start-up sweep frees it.
            JobKind::BackupRestore => {
                store
                    .backup_finish_restore(&BackupId::from(String::new()), id, &job.id, None, e)
                    .await
            }
            JobKind::VolumeUploadImage => {
                store
                    .volume_finish_upload(
                        id,
                        &job.id,
                        &Default::default(),
                        VolumeStatus::Available,
                        e,
                    )
                    .await
            }
        }
    }

    /// Re-drives every job a previous process left unfinished, and fails any
    /// resource stuck in a transitional status without a job. Returns how
    /// many jobs were re-driven.
    pub async fn recover(&self) -> DomainResult<usize> {
        let jobs = self.store().job_list_unfinished().await?;
        // A resource is busy if a job will finish it: its own job, or (for
        // the snapshot of a rollback) the job that names it, or (for the
        // snapshots of a cascade delete) its volume's delete job.
        let busy: HashSet<String> = jobs
            .iter()
            .flat_map(|j| {
                let snap = j.params.rollback_snapshot().map(SnapshotId::to_string);
                // The volumes a server create makes belong to its job.
                let made = j
                    .params
                    .server_new_volumes()
                    .iter()
                    .map(|v| v.volume_id.to_string());
                std::iter::once(j.resource_id.clone())
                    .chain(snap)
                    .chain(made)
            })
            .collect();
        let deleting: HashSet<&str> = jobs
            .iter()
            .filter(|j| j.kind == JobKind::VolumeDelete)
            .map(|j| j.resource_id.as_str())
            .collect();
        // The members of a group or group snapshot belong to its job.
        let busy_groups: HashSet<&str> = jobs
            .iter()
            .filter(|j| matches!(j.kind, JobKind::GroupDelete | JobKind::GroupCreateFromSrc))
            .map(|j| j.resource_id.as_str())
            .collect();
        let busy_group_snapshots: HashSet<&str> = jobs
            .iter()
            .filter(|j| {
                matches!(
                    j.kind,
                    JobKind::GroupSnapshotCreate | JobKind::GroupSnapshotDelete
                )
            })
            .map(|j| j.resource_id.as_str())
            .collect();
        // Stragglers are failed before any job is re-driven, so a re-driven
        // job never races the sweep over its rows.
        for v in self.store().volume_list_transitional().await? {
            let group_busy = v
                .group_id
                .as_ref()
                .is_some_and(|g| busy_groups.contains(g.as_str()));
            if busy.contains(v.id.as_str()) || group_busy {
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
            let group_busy = s
                .group_snapshot_id
                .as_ref()
                .is_some_and(|g| busy_group_snapshots.contains(g.as_str()));
            if busy.contains(s.id.as_str()) || deleting.contains(s.volume_id.as_str()) || group_busy
            {
                continue;
            }
            let to = match s.status {
                SnapshotStatus::Deleting => SnapshotStatus::ErrorDeleting,
                _ => SnapshotStatus::Error,
            };
            tracing::warn!(snapshot = %s.id, from = %s.status, to = %to, "snapshot in a transitional status without a job");
            self.store().snapshot_set_status(&s.id, to).await?;
        }
        for g in self.store().group_list_transitional().await? {
            if busy.contains(g.id.as_str()) {
                continue;
            }
            let to = match g.status {
                GroupStatus::Deleting => GroupStatus::ErrorDeleting,
                _ => GroupStatus::Error,
            };
            tracing::warn!(group = %g.id, from = %g.status, to = %to, "group in a transitional status without a job");
            self.store().group_set_status(&g.id, to).await?;
        }
        for gs in self.store().group_snapshot_list_transitional().await? {
            if busy.contains(gs.id.as_str()) {
                continue;
            }
            let to = match gs.status {
                GroupSnapshotStatus::Deleting => GroupSnapshotStatus::ErrorDeleting,
                _ => GroupSnapshotStatus::Error,
            };
            tracing::warn!(group_snapshot = %gs.id, from = %gs.status, to = %to, "group snapshot in a transitional status without a job");
            self.store().group_snapshot_set_status(&gs.id, to).await?;
        }
        // Images an unfinished upload job is filling stay `saving`.
        let uploading: HashSet<String> = jobs
            .iter()
            .filter_map(|j| match &j.params {
                JobParams::VolumeUploadImage(p) => Some(p.image_id.to_string()),
                _ => None,
            })
            .collect();
        self.recover_images(&uploading).await?;
        let restoring: HashSet<String> = jobs
            .iter()
            .filter_map(|j| j.params.restored_backup().map(|b| b.to_string()))
            .collect();
        self.recover_backups(&busy, &restoring).await?;
        let count = jobs.len();
        // Servers a job will finish are left to it; the others must agree
        // with their guests now.
        let server_jobs: Vec<String> = jobs
            .iter()
            .filter(|j| j.kind.on_server())
            .map(|j| j.resource_id.clone())
            .collect();
        let reconciled = self.reconcile_servers(&server_jobs).await?;
        if reconciled > 0 {
            tracing::info!(servers = reconciled, "servers reconciled with their guests");
        }
        for job in jobs {
            tracing::info!(job = %job.id, kind = job.kind.as_str(), "re-driving unfinished job");
            crate::metrics::job_retried(job.kind.as_str());
            self.inner.jobs.submit(job);
        }
        let now = Timestamp::now();
        self.store().token_purge_expired(now).await?;
        // Keys past twice their validity: old enough that no client retries.
        let before = now - time::Duration::seconds(2 * crate::IDEMPOTENCY_TTL_SECS);
        self.store().idempotency_purge(before).await?;
        Ok(count)
    }
}
