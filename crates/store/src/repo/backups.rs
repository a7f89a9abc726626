//! Backups: rows, and the transactions that start and end their jobs.

use platter_model::{
    Backup, BackupId, BackupSource, BackupStatus, DomainResult, Job, JobId, Metadata, ProjectId,
    VolumeId, VolumeStatus,
};

use super::QuotaDefaults;

repository! {
    /// Backups.
    pub trait BackupRepo {
        /// Starts a backup, in one transaction: the row (`creating`), the
        /// volume from `available` (or, with `force`, `in-use`) to
        /// `backing-up`, quota (`backups`, `backup_gigabytes`) counted, and
        /// the job. Returns the status to restore the volume to.
        async fn backup_begin_create(&self, b: &Backup, force: bool, job: &Job, quota: &QuotaDefaults) -> DomainResult<VolumeStatus>;
        /// Ends it: `available` with its chunk count (or `error` with the
        /// reason), the volume back to `restore`, and the job's end.
        async fn backup_finish_create(
            &self,
            id: &BackupId,
            job_id: &JobId,
            object_count: i64,
            restore: VolumeStatus,
            error: Option<&str>,
        ) -> DomainResult<()>;
        async fn backup_get(&self, id: &BackupId) -> DomainResult<Option<Backup>>;
        /// A project's backups (every project's with `None`), newest first.
        async fn backup_list(&self, project: Option<&ProjectId>) -> DomainResult<Vec<Backup>>;
        /// Starts a delete: `available` or `error` (any status with
        /// `force`, but never one a job is at work on) -> `deleting`, and
        /// the job. Refused while an incremental backup builds on it.
        async fn backup_begin_delete(&self, id: &BackupId, force: bool, job: &Job) -> DomainResult<()>;
        /// Ends it: the row removed (or `error_deleting`), and the job's end.
        async fn backup_finish_delete(&self, id: &BackupId, job_id: &JobId, error: Option<&str>) -> DomainResult<()>;
        /// Sets name, description and metadata (`None`: unchanged).
        async fn backup_update(
            &self,
            id: &BackupId,
            name: Option<Option<String>>,
            description: Option<Option<String>>,
            metadata: Option<&Metadata>,
        ) -> DomainResult<Backup>;
        /// Sets the status if it is one of `from`; returns whether it was.
        async fn backup_cas_status(&self, id: &BackupId, from: &[BackupStatus], to: BackupStatus) -> DomainResult<bool>;
        /// Records an imported backup's row as given (refused if its id exists).
        async fn backup_import(&self, b: &Backup) -> DomainResult<()>;
        /// Starts a restore onto an existing volume, in one transaction: the
        /// backup `available` -> `restoring`, the volume (`available`, at
        /// least the backup's size) -> `restoring-backup`, and the job.
        async fn backup_begin_restore(&self, id: &BackupId, volume_id: &VolumeId, job: &Job) -> DomainResult<()>;
        /// Ends it: the backup back to `available`; the volume `available`
        /// with the backup's `source` metadata merged in (or
        /// `error_restoring`), and the job's end.
        async fn backup_finish_restore(
            &self,
            id: &BackupId,
            volume_id: &VolumeId,
            job_id: &JobId,
            source: Option<&BackupSource>,
            error: Option<&str>,
        ) -> DomainResult<()>;
    }
}
