//! Snapshot operations.

use platter_model::{
    check_metadata, Action, AuthContext, DomainError, DomainResult, GroupSnapshotId, JobId,
    JobKind, JobParams, Metadata, ProjectId, Snapshot, SnapshotId, SnapshotParams, SnapshotStatus,
    VolumeId,
};
use platter_store::{NewSnapshot, Page, SnapshotQuery};

use crate::volumes::new_job;
use crate::{visible, Platter};

#[derive(Debug, Clone)]
pub struct SnapshotCreate {
    pub volume_id: VolumeId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub force: bool,
    pub metadata: Metadata,
    /// `None`: the volume's enterprise project.
    pub enterprise_project_id: Option<String>,
    pub tags: Metadata,
    pub instant_access: bool,
}

impl SnapshotCreate {
    /// A snapshot of `volume_id`, with nothing else set.
    pub fn new(volume_id: VolumeId) -> SnapshotCreate {
        SnapshotCreate {
            volume_id,
            name: None,
            description: None,
            force: false,
            metadata: Metadata::new(),
            enterprise_project_id: None,
            tags: Metadata::new(),
            instant_access: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SnapshotListRequest {
    pub all_tenants: bool,
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub volume_id: Option<VolumeId>,
    pub metadata: Vec<(String, String)>,
    pub ids: Option<Vec<SnapshotId>>,
    pub availability_zone: Option<String>,
    pub enterprise_project_id: Option<String>,
    pub tags: Vec<(String, Vec<String>)>,
    /// Members of this group snapshot.
    pub group_snapshot_id: Option<GroupSnapshotId>,
    pub page: Page,
}

/// The store query of a list request: the caller's project, or with
/// `all_tenants` (admins only) any.
fn snapshot_query(ctx: &AuthContext, req: SnapshotListRequest) -> SnapshotQuery {
    let project_id = if req.all_tenants && ctx.is_admin() {
        req.project_id
    } else {
        Some(ctx.project_id.clone())
    };
    SnapshotQuery {
        project_id,
        name: req.name,
        status: req.status,
        volume_id: req.volume_id,
        metadata: req.metadata,
        ids: req.ids,
        availability_zone: req.availability_zone,
        enterprise_project_id: req.enterprise_project_id,
        enterprise_projects: ctx
            .enterprise_scope
            .as_ref()
            .map(|s| s.iter().cloned().collect()),
        tags: req.tags,
        group_snapshot_id: req.group_snapshot_id,
        page: req.page,
    }
}

impl Platter {
    pub async fn snapshot_get(&self, ctx: &AuthContext, id: &SnapshotId) -> DomainResult<Snapshot> {
        self.authorize(ctx, Action::SnapshotGet)?;
        self.snapshot_find(ctx, id).await
    }

    /// The snapshot an operation acts on, if the caller may see it (see
    /// `volume_find`).
    pub async fn snapshot_find(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
    ) -> DomainResult<Snapshot> {
        match self.store().snapshot_get(id).await? {
            Some(s)
                if visible(ctx, &s.project_id)
                    && ctx.in_enterprise_scope(&s.enterprise_project_id) =>
            {
                Ok(s)
            }
            _ => Err(DomainError::not_found("Snapshot", id)),
        }
    }

    pub async fn snapshot_list(
        &self,
        ctx: &AuthContext,
        req: SnapshotListRequest,
    ) -> DomainResult<Vec<Snapshot>> {
        self.authorize(ctx, Action::SnapshotList)?;
        self.store().snapshot_list(&snapshot_query(ctx, req)).await
    }

    /// A page of snapshots and how many match in all (EVS `count`).
    pub async fn snapshot_list_counted(
        &self,
        ctx: &AuthContext,
        req: SnapshotListRequest,
    ) -> DomainResult<(Vec<Snapshot>, i64)> {
        self.authorize(ctx, Action::SnapshotList)?;
        let query = snapshot_query(ctx, req);
        let count = self
            .store()
            .snapshot_count(&SnapshotQuery {
                page: Page::default(),
                ..query.clone()
            })
            .await?;
        Ok((self.store().snapshot_list(&query).await?, count))
    }

    /// Records a snapshot (`creating`) and its job, counting quota, and
    /// queues the job.
    pub async fn snapshot_create(
        &self,
        ctx: &AuthContext,
        req: SnapshotCreate,
    ) -> DomainResult<Snapshot> {
        self.snapshot_create_job(ctx, req).await.map(|(s, _)| s)
    }

    /// Like [`Platter::snapshot_create`], also returning the job's id.
    pub async fn snapshot_create_job(
        &self,
        ctx: &AuthContext,
        req: SnapshotCreate,
    ) -> DomainResult<(Snapshot, JobId)> {
        self.authorize(ctx, Action::SnapshotCreate)?;
        check_metadata(&req.metadata)?;
        let volume = self.volume_find(ctx, &req.volume_id).await?;
        self.refuse_frozen(&volume).await?;
        let id = SnapshotId::new();
        let job = new_job(
            JobKind::SnapshotCreate,
            &volume.project_id,
            id.as_str(),
            JobParams::SnapshotCreate(SnapshotParams {
                volume_id: Some(volume.id.clone()),
            }),
        );
        let new = NewSnapshot {
            id,
            project_id: volume.project_id.clone(),
            user_id: ctx.user_id.clone(),
            volume_id: volume.id,
            name: req.name,
            description: req.description,
            metadata: req.metadata,
            force: req.force,
            enterprise_project_id: req.enterprise_project_id,
            tags: req.tags,
            instant_access: req.instant_access,
        };
        let snap = self
            .store()
            .snapshot_create(&new, &job, &self.quota_defaults_now())
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((snap, job_id))
    }

    pub async fn snapshot_update(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
        name: Option<Option<String>>,
        description: Option<Option<String>>,
    ) -> DomainResult<Snapshot> {
        self.authorize(ctx, Action::SnapshotUpdate)?;
        self.snapshot_find(ctx, id).await?;
        self.store().snapshot_update(id, name, description).await
    }

    /// Sets the EVS v5 `instant_access` flag (recorded only).
    pub async fn snapshot_set_instant_access(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
        on: bool,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::SnapshotUpdate)?;
        self.snapshot_find(ctx, id).await?;
        self.store().snapshot_set_instant_access(id, on).await
    }

    pub async fn snapshot_metadata_set(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
        metadata: &Metadata,
        replace: bool,
    ) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::SnapshotMetadataUpdate)?;
        self.snapshot_find(ctx, id).await?;
        check_metadata(metadata)?;
        self.store()
            .snapshot_metadata_set(id, metadata, replace)
            .await
    }

    pub async fn snapshot_metadata_delete(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
        key: &str,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::SnapshotMetadataDelete)?;
        self.snapshot_find(ctx, id).await?;
        self.store().snapshot_metadata_delete(id, key).await
    }

    /// Starts deleting a snapshot; returns the job's id.
    pub async fn snapshot_delete(&self, ctx: &AuthContext, id: &SnapshotId) -> DomainResult<JobId> {
        self.authorize(ctx, Action::SnapshotDelete)?;
        self.snapshot_delete_with(ctx, id, false).await
    }

    /// Admin: deletes a snapshot whatever its status (Cinder's
    /// `os-force_delete`), unless a job is still at work on it.
    pub async fn snapshot_force_delete(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::SnapshotForceDelete)?;
        self.snapshot_delete_with(ctx, id, true).await
    }

    /// Records the status and progress a client reports for a snapshot it
    /// is creating or deleting (Cinder's `os-update_snapshot_status`).
    pub async fn snapshot_update_status(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
        status: SnapshotStatus,
        progress: Option<&str>,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::SnapshotUpdateStatus)?;
        self.snapshot_find(ctx, id).await?;
        self.store()
            .snapshot_report_status(id, status, progress)
            .await
    }

    async fn snapshot_delete_with(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
        force: bool,
    ) -> DomainResult<JobId> {
        let s = self.snapshot_find(ctx, id).await?;
        if let Some(v) = self.store().volume_get(&s.volume_id).await? {
            self.refuse_frozen(&v).await?;
        }
        let job = new_job(
            JobKind::SnapshotDelete,
            &s.project_id,
            id.as_str(),
            JobParams::SnapshotDelete(SnapshotParams {
                volume_id: Some(s.volume_id.clone()),
            }),
        );
        self.store().snapshot_begin_delete(id, &job, force).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    pub async fn snapshot_reset_status(
        &self,
        ctx: &AuthContext,
        id: &SnapshotId,
        status: SnapshotStatus,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::SnapshotResetStatus)?;
        self.snapshot_find(ctx, id).await?;
        self.store().snapshot_set_status(id, status).await
    }
}
