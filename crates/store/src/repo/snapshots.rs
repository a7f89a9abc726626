//! Snapshots and the transactions that start and finish their jobs.

use platter_model::{
    DomainResult, GroupSnapshotId, Job, JobId, Metadata, Page, ProjectId, Snapshot, SnapshotId,
    SnapshotStatus, UserId, VolumeId,
};

use super::QuotaDefaults;

#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub id: SnapshotId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub volume_id: VolumeId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// Allow a snapshot of an attached (`in-use`) volume.
    pub force: bool,
    /// `None`: the volume's.
    pub enterprise_project_id: Option<String>,
    pub tags: Metadata,
    pub instant_access: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SnapshotQuery {
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub volume_id: Option<VolumeId>,
    pub metadata: Vec<(String, String)>,
    pub ids: Option<Vec<SnapshotId>>,
    /// Snapshots of volumes in this availability zone.
    pub availability_zone: Option<String>,
    pub enterprise_project_id: Option<String>,
    /// Only these enterprise projects (a caller whose grants are on
    /// enterprise projects only); `None`: no such limit.
    pub enterprise_projects: Option<Vec<String>>,
    /// Tag filter: every key, with one of its values (any if empty).
    pub tags: Vec<(String, Vec<String>)>,
    /// Members of this group snapshot.
    pub group_snapshot_id: Option<GroupSnapshotId>,
    pub page: Page,
}

repository! {
    /// Snapshots and the transactions that start and finish their jobs.
    pub trait SnapshotRepo {
        async fn snapshot_get(&self, id: &SnapshotId) -> DomainResult<Option<Snapshot>>;
        async fn snapshot_list(&self, q: &SnapshotQuery) -> DomainResult<Vec<Snapshot>>;
        /// How many snapshots match a query, ignoring its paging.
        async fn snapshot_count(&self, q: &SnapshotQuery) -> DomainResult<i64>;
        /// Sets the EVS v5 `instant_access` flag.
        async fn snapshot_set_instant_access(&self, id: &SnapshotId, on: bool) -> DomainResult<()>;
        async fn snapshot_list_transitional(&self) -> DomainResult<Vec<Snapshot>>;
        /// Creates the snapshot row and its job, after checking the volume's
        /// status and counting quota, in one transaction.
        async fn snapshot_create(
            &self,
            s: &NewSnapshot,
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<Snapshot>;
        async fn snapshot_finish_create(
            &self,
            id: &SnapshotId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
        async fn snapshot_update(
            &self,
            id: &SnapshotId,
            name: Option<Option<String>>,
            description: Option<Option<String>>,
        ) -> DomainResult<Snapshot>;
        async fn snapshot_metadata_set(
            &self,
            id: &SnapshotId,
            metadata: &Metadata,
            replace: bool,
        ) -> DomainResult<Metadata>;
        async fn snapshot_metadata_delete(&self, id: &SnapshotId, key: &str) -> DomainResult<()>;
        async fn snapshot_set_status(&self, id: &SnapshotId, status: SnapshotStatus) -> DomainResult<()>;
        /// Moves a snapshot to `deleting` and records the job.
        /// With `force` (an admin's), from any status, unless a job is at
        /// work on the snapshot.
        async fn snapshot_begin_delete(&self, id: &SnapshotId, job: &Job, force: bool) -> DomainResult<()>;
        /// A status (and progress) a client reports for a snapshot being
        /// created or deleted (Cinder's `os-update_snapshot_status`).
        async fn snapshot_report_status(
            &self,
            id: &SnapshotId,
            status: SnapshotStatus,
            progress: Option<&str>,
        ) -> DomainResult<()>;
        async fn snapshot_finish_delete(
            &self,
            id: &SnapshotId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
    }
}
