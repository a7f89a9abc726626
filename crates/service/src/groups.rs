//! Generic volume groups: group types (admin), groups of volumes of one
//! project and one pool, and group snapshots, which snapshot every member
//! at one point in time through one backend call.

use platter_model::{
    Action, AuthContext, DomainError, DomainResult, Group, GroupId, GroupJobParams, GroupSnapshot,
    GroupSnapshotId, GroupSnapshotStatus, GroupStatus, GroupType, GroupTypeId, JobId, JobKind,
    JobParams, Metadata, Page, ProjectId, SnapshotId, Timestamp, Volume, VolumeId, VolumeTypeId,
    DEFAULT_ENTERPRISE_PROJECT,
};
use platter_store::{
    GroupChange, GroupQuery, GroupSnapshotQuery, GroupTypeQuery, NewGroup, NewGroupSnapshot,
    NewSnapshot, NewVolume,
};

use crate::volumes::new_job;
use crate::{visible, Platter};

/// Fields of a group type create or update; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct GroupTypeFields {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
    pub group_specs: Option<Metadata>,
}

/// A new group, in domain terms.
#[derive(Debug, Clone, Default)]
pub struct GroupCreate {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Group type id or name.
    pub group_type: String,
    /// Volume type ids or names; at least one.
    pub volume_types: Vec<String>,
    pub availability_zone: Option<String>,
}

/// Where a group created from a source takes its volumes: exactly one of
/// a group snapshot and a group.
#[derive(Debug, Clone, Default)]
pub struct GroupFromSource {
    pub name: Option<String>,
    pub description: Option<String>,
    pub group_snapshot_id: Option<GroupSnapshotId>,
    pub source_group_id: Option<GroupId>,
}

/// A group listing, in domain terms.
#[derive(Debug, Clone, Default)]
pub struct GroupListRequest {
    /// Admins only: every project's groups.
    pub all_tenants: bool,
    pub name: Option<String>,
    pub status: Option<String>,
    pub availability_zone: Option<String>,
    pub group_type_id: Option<GroupTypeId>,
    pub page: Page,
}

/// A group snapshot listing, in domain terms.
#[derive(Debug, Clone, Default)]
pub struct GroupSnapshotListRequest {
    pub all_tenants: bool,
    pub name: Option<String>,
    pub status: Option<String>,
    pub group_id: Option<GroupId>,
    pub page: Page,
}

/// A new group snapshot, in domain terms.
#[derive(Debug, Clone, Default)]
pub struct GroupSnapshotCreate {
    pub group_id: GroupId,
    pub name: Option<String>,
    pub description: Option<String>,
}

fn check_name(name: Option<&str>) -> DomainResult<String> {
    match name.map(str::trim) {
        Some(n) if !n.is_empty() && n.len() <= 255 => Ok(n.to_string()),
        _ => Err(DomainError::invalid(
            "a group type name must be 1 to 255 characters.",
        )),
    }
}

fn check_specs(specs: &Metadata) -> DomainResult<()> {
    for (k, v) in specs {
        if k.is_empty() || k.len() > 255 || v.len() > 255 {
            return Err(DomainError::invalid(format!(
                "group spec keys must be 1 to 255 characters and values at most 255: '{k}'."
            )));
        }
    }
    Ok(())
}

/// The store query's project: the caller's, or any for an admin asking
/// for all.
fn project_scope(ctx: &AuthContext, all_tenants: bool) -> Option<ProjectId> {
    (!(all_tenants && ctx.is_admin())).then(|| ctx.project_id.clone())
}

impl Platter {
    // ---- group types

    /// Group types the caller may see: admins any (public, private or both
    /// as asked), others the public ones.
    pub async fn group_type_list(
        &self,
        ctx: &AuthContext,
        is_public: Option<bool>,
        page: Page,
    ) -> DomainResult<Vec<GroupType>> {
        self.authorize(ctx, Action::GroupTypeList)?;
        let is_public = if ctx.is_admin() {
            is_public
        } else {
            Some(true)
        };
        self.store()
            .group_type_list(&GroupTypeQuery { is_public, page })
            .await
    }

    /// A group type by id (or name); a private one only for admins.
    pub async fn group_type_get(&self, ctx: &AuthContext, id: &str) -> DomainResult<GroupType> {
        self.authorize(ctx, Action::GroupTypeGet)?;
        match self.store().group_type_find(id).await? {
            Some(t) if t.is_public || ctx.is_admin() => Ok(t),
            _ => Err(DomainError::not_found("Group type", id)),
        }
    }

    /// The configured default group type (none unless configured).
    pub async fn group_type_default(&self, ctx: &AuthContext) -> DomainResult<GroupType> {
        self.authorize(ctx, Action::GroupTypeGet)?;
        let missing = || DomainError::not_found("Group type", "default");
        let name = self
            .config()
            .default_group_type
            .clone()
            .ok_or_else(missing)?;
        self.store()
            .group_type_find(&name)
            .await?
            .ok_or_else(missing)
    }

    /// Whether the caller may see group types' specs.
    pub fn group_type_specs_visible(&self, ctx: &AuthContext) -> bool {
        self.authorize(ctx, Action::GroupTypeSpecsAccess).is_ok()
    }

    /// Admin: a new group type.
    pub async fn group_type_create(
        &self,
        ctx: &AuthContext,
        f: GroupTypeFields,
    ) -> DomainResult<GroupType> {
        self.authorize(ctx, Action::GroupTypeManage)?;
        let name = check_name(f.name.as_deref())?;
        let group_specs = f.group_specs.unwrap_or_default();
        check_specs(&group_specs)?;
        let t = GroupType {
            id: GroupTypeId::new(),
            name,
            description: f.description.flatten(),
            is_public: f.is_public.unwrap_or(true),
            group_specs,
            created_at: Timestamp::now(),
        };
        self.store().group_type_create(&t).await?;
        Ok(t)
    }

    /// Admin: renames, describes or changes the visibility of a type.
    pub async fn group_type_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        f: GroupTypeFields,
    ) -> DomainResult<GroupType> {
        self.authorize(ctx, Action::GroupTypeManage)?;
        let mut t = self.group_type_by_id(id).await?;
        if let Some(name) = f.name.as_deref() {
            t.name = check_name(Some(name))?;
        }
        if let Some(d) = f.description {
            t.description = d;
        }
        if let Some(p) = f.is_public {
            t.is_public = p;
        }
        self.store().group_type_update(&t).await?;
        Ok(t)
    }

    /// Admin: deletes a type no group uses.
    pub async fn group_type_delete(&self, ctx: &AuthContext, id: &str) -> DomainResult<()> {
        self.authorize(ctx, Action::GroupTypeManage)?;
        let t = self.group_type_by_id(id).await?;
        self.store().group_type_delete(&t.id).await
    }

    /// Admin: a type's group specs.
    pub async fn group_type_specs(&self, ctx: &AuthContext, id: &str) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::GroupTypeSpecs)?;
        Ok(self.group_type_by_id(id).await?.group_specs)
    }

    /// Admin: sets group specs (merged into the type's); returns them all.
    pub async fn group_type_specs_set(
        &self,
        ctx: &AuthContext,
        id: &str,
        specs: &Metadata,
    ) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::GroupTypeSpecs)?;
        check_specs(specs)?;
        let mut t = self.group_type_by_id(id).await?;
        t.group_specs
            .extend(specs.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.store().group_type_update(&t).await?;
        Ok(t.group_specs)
    }

    /// Admin: removes one group spec.
    pub async fn group_type_spec_delete(
        &self,
        ctx: &AuthContext,
        id: &str,
        key: &str,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::GroupTypeSpecs)?;
        let mut t = self.group_type_by_id(id).await?;
        if t.group_specs.remove(key).is_none() {
            return Err(DomainError::not_found("Group type spec", key));
        }
        self.store().group_type_update(&t).await
    }

    async fn group_type_by_id(&self, id: &str) -> DomainResult<GroupType> {
        match self.store().group_type_find(id).await? {
            Some(t) if t.id == *id => Ok(t),
            _ => Err(DomainError::not_found("Group type", id)),
        }
    }

    // ---- groups

    /// A group the caller may see, or not found.
    pub async fn group_get(&self, ctx: &AuthContext, id: &GroupId) -> DomainResult<Group> {
        self.authorize(ctx, Action::GroupGet)?;
        match self.store().group_get(id).await? {
            Some(g) if visible(ctx, &g.project_id) => Ok(g),
            _ => Err(DomainError::not_found("Group", id.as_str())),
        }
    }

    pub async fn group_list(
        &self,
        ctx: &AuthContext,
        req: GroupListRequest,
    ) -> DomainResult<Vec<Group>> {
        self.authorize(ctx, Action::GroupList)?;
        self.store()
            .group_list(&GroupQuery {
                project_id: project_scope(ctx, req.all_tenants),
                name: req.name,
                status: req.status,
                availability_zone: req.availability_zone,
                group_type_id: req.group_type_id,
                page: req.page,
            })
            .await
    }

    /// Creates a group: its type and volume types must exist, and the volume
    /// types must all place volumes in one pool, the group's. A group holds
    /// no data, so it is `available` at once; `groups` quota is counted in
    /// the creating transaction.
    pub async fn group_create(&self, ctx: &AuthContext, req: GroupCreate) -> DomainResult<Group> {
        self.authorize(ctx, Action::GroupCreate)?;
        let gtype = self.group_type_get(ctx, &req.group_type).await?;
        if req.volume_types.is_empty() {
            return Err(DomainError::invalid(
                "volume_types must name at least one volume type.",
            ));
        }
        let mut type_ids: Vec<VolumeTypeId> = Vec::new();
        let mut pools: Vec<(String, String)> = Vec::new();
        for name in &req.volume_types {
            let t = self.volume_type_get(name).await?;
            let pool = self
                .pool_of_type(&t)
                .unwrap_or_else(|| self.pools().default_pool().name.clone());
            if !type_ids.contains(&t.id) {
                type_ids.push(t.id.clone());
                pools.push((t.name, pool));
            }
        }
        let pool = pools[0].1.clone();
        if let Some((t, other)) = pools.iter().find(|(_, p)| *p != pool) {
            return Err(DomainError::invalid(format!(
                "the volume types of a group must place volumes in one pool: {} is in pool {pool}, {t} in pool {other}.",
                pools[0].0
            )));
        }
        let zones = &self.config().availability_zones;
        let availability_zone = match req.availability_zone {
            Some(az) if zones.contains(&az) => az,
            Some(az) => {
                return Err(DomainError::invalid(format!(
                    "Availability zone '{az}' is invalid."
                )))
            }
            None => zones.first().cloned().unwrap_or_else(|| "nova".into()),
        };
        let new = NewGroup {
            id: GroupId::new(),
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            name: req.name,
            description: req.description,
            availability_zone,
            group_type_id: gtype.id,
            volume_type_ids: type_ids,
            group_snapshot_id: None,
            source_group_id: None,
            pool,
        };
        self.store()
            .group_create(&new, &self.quota_defaults_now())
            .await
    }

    /// Renames a group and moves volumes in and out of it.
    pub async fn group_update(
        &self,
        ctx: &AuthContext,
        id: &GroupId,
        change: GroupChange,
    ) -> DomainResult<Group> {
        self.authorize(ctx, Action::GroupUpdate)?;
        self.group_get(ctx, id).await?;
        self.store().group_update(id, &change).await
    }

    /// Deletes a group: an empty one at once (`None`), one with volumes,
    /// which `delete_volumes` must allow, by a job deleting them all
    /// (`Some(job id)`).
    pub async fn group_delete(
        &self,
        ctx: &AuthContext,
        id: &GroupId,
        delete_volumes: bool,
    ) -> DomainResult<Option<JobId>> {
        self.authorize(ctx, Action::GroupDelete)?;
        let g = self.group_get(ctx, id).await?;
        let job = new_job(
            JobKind::GroupDelete,
            &g.project_id,
            id.as_str(),
            JobParams::GroupDelete(GroupJobParams { pool: g.pool }),
        );
        if !self
            .store()
            .group_begin_delete(id, delete_volumes, &job)
            .await?
        {
            return Ok(None);
        }
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(Some(job_id))
    }

    /// Admin: forces a group's status.
    pub async fn group_reset_status(
        &self,
        ctx: &AuthContext,
        id: &GroupId,
        status: GroupStatus,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::GroupResetStatus)?;
        self.group_get(ctx, id).await?;
        self.store().group_set_status(id, status).await
    }

    /// Creates a group from a group snapshot (a volume from each of its
    /// snapshots) or from a group (a clone of each of its volumes), in the
    /// source's pool, type and volume types; the group and its volumes are
    /// `creating` until the job has made every volume.
    pub async fn group_create_from_src(
        &self,
        ctx: &AuthContext,
        req: GroupFromSource,
    ) -> DomainResult<(Group, JobId)> {
        self.authorize(ctx, Action::GroupCreate)?;
        let (source, plan): (Group, Vec<(Volume, Option<SnapshotId>, i64)>) =
            match (&req.group_snapshot_id, &req.source_group_id) {
                (Some(gs_id), None) => {
                    let gs = self.group_snapshot_get(ctx, gs_id).await?;
                    let group = self.group_get(ctx, &gs.group_id).await?;
                    let snaps = self
                        .store()
                        .snapshot_list(&platter_store::SnapshotQuery {
                            group_snapshot_id: Some(gs.id.clone()),
                            ..Default::default()
                        })
                        .await?;
                    let mut plan = Vec::with_capacity(snaps.len());
                    for s in snaps {
                        let v = self
                            .store()
                            .volume_get(&s.volume_id)
                            .await?
                            .ok_or_else(|| {
                                DomainError::not_found("Volume", s.volume_id.as_str())
                            })?;
                        plan.push((v, Some(s.id), s.size));
                    }
                    (group, plan)
                }
                (None, Some(src_id)) => {
                    let group = self.group_get(ctx, src_id).await?;
                    let vols = self
                        .store()
                        .volume_list(&platter_store::VolumeQuery {
                            group_id: Some(group.id.clone()),
                            ..Default::default()
                        })
                        .await?;
                    let plan = vols
                        .into_iter()
                        .map(|v| {
                            let size = v.size;
                            (v, None, size)
                        })
                        .collect();
                    (group, plan)
                }
                _ => {
                    return Err(DomainError::invalid(
                        "exactly one of group_snapshot_id and source_group_id must be given.",
                    ))
                }
            };
        let id = GroupId::new();
        let volumes: Vec<NewVolume> = plan
            .into_iter()
            .map(|(src, snapshot_id, size)| NewVolume {
                id: VolumeId::new(),
                project_id: ctx.project_id.clone(),
                user_id: ctx.user_id.clone(),
                name: None,
                description: None,
                size,
                availability_zone: source.availability_zone.clone(),
                volume_type_id: src.volume_type_id.clone(),
                volume_type_name: src.volume_type_name.clone(),
                bootable: src.bootable,
                multiattach: false,
                source_volid: snapshot_id.is_none().then(|| src.id.clone()),
                snapshot_id,
                metadata: Metadata::new(),
                iops: src.iops,
                throughput: src.throughput,
                enterprise_project_id: DEFAULT_ENTERPRISE_PROJECT.to_string(),
                tags: Metadata::new(),
                pool: source.pool.clone(),
                order: None,
                group_id: Some(id.clone()),
                replica_pool: None,
                image_metadata: Metadata::new(),
            })
            .collect();
        let new = NewGroup {
            id: id.clone(),
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            name: req.name,
            description: req.description,
            availability_zone: source.availability_zone.clone(),
            group_type_id: source.group_type_id.clone(),
            volume_type_ids: source.volume_type_ids.clone(),
            group_snapshot_id: req.group_snapshot_id,
            source_group_id: req.source_group_id,
            pool: source.pool.clone(),
        };
        let job = new_job(
            JobKind::GroupCreateFromSrc,
            &ctx.project_id,
            id.as_str(),
            JobParams::GroupCreateFromSrc(GroupJobParams {
                pool: source.pool.clone(),
            }),
        );
        let group = self
            .store()
            .group_create_from_src(&new, &volumes, &job, &self.quota_defaults_now())
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((group, job_id))
    }

    // ---- group snapshots

    pub async fn group_snapshot_get(
        &self,
        ctx: &AuthContext,
        id: &GroupSnapshotId,
    ) -> DomainResult<GroupSnapshot> {
        self.authorize(ctx, Action::GroupSnapshotGet)?;
        match self.store().group_snapshot_get(id).await? {
            Some(gs) if visible(ctx, &gs.project_id) => Ok(gs),
            _ => Err(DomainError::not_found("GroupSnapshot", id)),
        }
    }

    pub async fn group_snapshot_list(
        &self,
        ctx: &AuthContext,
        req: GroupSnapshotListRequest,
    ) -> DomainResult<Vec<GroupSnapshot>> {
        self.authorize(ctx, Action::GroupSnapshotList)?;
        self.store()
            .group_snapshot_list(&GroupSnapshotQuery {
                project_id: project_scope(ctx, req.all_tenants),
                name: req.name,
                status: req.status,
                group_id: req.group_id,
                page: req.page,
            })
            .await
    }

    /// Snapshots every volume of a group at one point in time: one snapshot
    /// row per member, counted against quota with the group snapshot in one
    /// transaction, then one backend call for the set. A pool whose backend
    /// has no write barrier across volumes refuses a group of several.
    pub async fn group_snapshot_create(
        &self,
        ctx: &AuthContext,
        req: GroupSnapshotCreate,
    ) -> DomainResult<(GroupSnapshot, JobId)> {
        self.authorize(ctx, Action::GroupSnapshotCreate)?;
        let g = self.group_get(ctx, &req.group_id).await?;
        let backend = self.backend_of(&g.pool)?;
        if g.volume_ids.len() > 1 && !backend.capabilities().consistent_group_snapshots {
            return Err(DomainError::group_state(format!(
                "the backend of pool {} cannot snapshot {} volumes at one point in time.",
                g.pool,
                g.volume_ids.len()
            )));
        }
        let id = GroupSnapshotId::new();
        let snapshots: Vec<NewSnapshot> = g
            .volume_ids
            .iter()
            .map(|volume_id| NewSnapshot {
                id: SnapshotId::new(),
                project_id: g.project_id.clone(),
                user_id: ctx.user_id.clone(),
                volume_id: volume_id.clone(),
                name: req.name.clone(),
                description: req.description.clone(),
                metadata: Metadata::new(),
                force: true,
                enterprise_project_id: None,
                tags: Metadata::new(),
                instant_access: false,
            })
            .collect();
        let new = NewGroupSnapshot {
            id: id.clone(),
            project_id: g.project_id.clone(),
            user_id: ctx.user_id.clone(),
            group_id: g.id.clone(),
            name: req.name,
            description: req.description,
        };
        let job = new_job(
            JobKind::GroupSnapshotCreate,
            &g.project_id,
            id.as_str(),
            JobParams::GroupSnapshotCreate(GroupJobParams { pool: g.pool }),
        );
        let gs = self
            .store()
            .group_snapshot_create(&new, &snapshots, &job, &self.quota_defaults_now())
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((gs, job_id))
    }

    /// Starts deleting a group snapshot and its snapshots; returns the job.
    pub async fn group_snapshot_delete(
        &self,
        ctx: &AuthContext,
        id: &GroupSnapshotId,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::GroupSnapshotDelete)?;
        let gs = self.group_snapshot_get(ctx, id).await?;
        let pool = match self.store().group_get(&gs.group_id).await? {
            Some(g) => g.pool,
            None => self.pools().default_pool().name.clone(),
        };
        let job = new_job(
            JobKind::GroupSnapshotDelete,
            &gs.project_id,
            id.as_str(),
            JobParams::GroupSnapshotDelete(GroupJobParams { pool }),
        );
        self.store().group_snapshot_begin_delete(id, &job).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Admin: forces a group snapshot's status.
    pub async fn group_snapshot_reset_status(
        &self,
        ctx: &AuthContext,
        id: &GroupSnapshotId,
        status: GroupSnapshotStatus,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::GroupSnapshotResetStatus)?;
        self.group_snapshot_get(ctx, id).await?;
        self.store().group_snapshot_set_status(id, status).await
    }
}
