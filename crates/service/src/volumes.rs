//! Volume operations.

use platter_model::{
    check_metadata, Action, AuthContext, BackupId, BackupStatus, CreateRule, DomainError,
    DomainResult, GroupId, ImageId, Job, JobId, JobKind, JobParams, JobStatus, Metadata, OrderId,
    ProjectId, QosRule, SnapshotId, SnapshotStatus, Volume, VolumeCreateParams, VolumeDeleteParams,
    VolumeExtendParams, VolumeId, VolumeSource, VolumeStatus, VolumeType, VolumeTypeId,
    DEFAULT_ENTERPRISE_PROJECT, ORDER_ID_KEY,
};
use platter_store::{NewVolume, Page, VolumeQuery, VolumeUpdate};

use crate::{visible, Platter};

/// The volume types every new store starts with: the EVS disk types.
const SEED_TYPES: &[(&str, &str)] = &[
    ("SATA", "Common I/O"),
    ("SAS", "High I/O"),
    ("SSD", "Ultra-high I/O"),
    ("GPSSD", "General Purpose SSD"),
    ("ESSD", "Extreme SSD"),
    ("GPSSD2", "General Purpose SSD V2"),
    ("ESSD2", "Extreme SSD V2"),
];

/// A create request, in domain terms.
#[derive(Debug, Clone, Default)]
pub struct VolumeCreate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub size: Option<i64>,
    /// Type id or name; `None` is the configured default type.
    pub volume_type: Option<String>,
    pub availability_zone: Option<String>,
    pub snapshot_id: Option<SnapshotId>,
    pub source_volid: Option<VolumeId>,
    pub metadata: Metadata,
    pub multiattach: bool,
    /// Provisioned IOPS: required for GPSSD2 and ESSD2, refused otherwise.
    pub iops: Option<i64>,
    /// Provisioned throughput, MiB/s: required for GPSSD2, refused otherwise.
    pub throughput: Option<i64>,
    /// `None`: the default enterprise project (`"0"`).
    pub enterprise_project_id: Option<String>,
    pub tags: Metadata,
    /// The generic volume group the volume is created in (Cinder 3.13).
    pub group_id: Option<GroupId>,
    /// An image whose disk the volume starts with (Cinder's `imageRef`).
    pub image_id: Option<ImageId>,
    /// A backup whose data the volume starts with (Cinder 3.47, EVS).
    pub backup_id: Option<BackupId>,
}

/// IOPS range of the types with provisioned performance.
pub const IOPS_RANGE_GPSSD2: (i64, i64) = (3000, 128_000);
pub const IOPS_RANGE_ESSD2: (i64, i64) = (100, 256_000);
/// Throughput range (MiB/s) of GPSSD2.
pub const THROUGHPUT_RANGE_GPSSD2: (i64, i64) = (125, 1000);

/// Fields of a type create or update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TypeFields {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
    pub extra_specs: Option<Metadata>,
}

fn check_type_name(name: Option<&str>) -> DomainResult<String> {
    match name.map(str::trim) {
        Some(n) if !n.is_empty() && n.len() <= 255 => Ok(n.to_string()),
        _ => Err(DomainError::invalid(
            "a volume type name must be 1 to 255 characters.",
        )),
    }
}

fn check_extra_specs(specs: &Metadata) -> DomainResult<()> {
    for (k, v) in specs {
        if k.is_empty() || k.len() > 255 || v.len() > 255 {
            return Err(DomainError::invalid(format!(
                "extra spec keys must be 1 to 255 characters and values at most 255: '{k}'."
            )));
        }
    }
    Ok(())
}

/// What [`Platter::volume_summary`] reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeSummary {
    pub count: i64,
    pub total_size: i64,
    pub metadata: std::collections::BTreeMap<String, Vec<String>>,
}

/// Where the families' create rules differ; the service checks them, once.
#[derive(Debug, Clone, Copy)]
pub struct CreateRules {
    /// Smallest blank volume, GiB.
    pub min_blank_gib: i64,
    /// Largest volume from a bootable source (a system disk), if that differs.
    pub max_bootable_gib: Option<i64>,
    /// A volume from a snapshot must be in its source's zone and of its type.
    pub source_must_match: bool,
}

impl CreateRules {
    /// Cinder: 1 GiB and up, any type or zone for a source's copy.
    pub const CINDER: CreateRules = CreateRules {
        min_blank_gib: 1,
        max_bootable_gib: None,
        source_must_match: false,
    };
    /// EVS: data disks of 10 GiB and up, system disks up to 1024 GiB, a
    /// copy in its source's zone and type.
    pub const EVS: CreateRules = CreateRules {
        min_blank_gib: 10,
        max_bootable_gib: Some(1024),
        source_must_match: true,
    };
}

/// A checked create request, ready to stamp volumes from.
pub(crate) struct CreatePlan {
    pub(crate) req: VolumeCreate,
    size: i64,
    source: VolumeSource,
    vtype: VolumeType,
    az: String,
    bootable: bool,
    pool: String,
    replica_pool: Option<String>,
    unschedulable: Option<String>,
    /// What a volume from an image records of it.
    image_metadata: Metadata,
}

impl CreatePlan {
    /// One new volume of the plan, named `name`, of `order` (yearly/monthly)
    /// if any, and its job.
    pub(crate) fn stamp(
        &self,
        ctx: &AuthContext,
        name: Option<String>,
        order: Option<OrderId>,
    ) -> (NewVolume, Job) {
        let req = &self.req;
        let id = VolumeId::new();
        let job = new_job(
            JobKind::VolumeCreate,
            &ctx.project_id,
            id.as_str(),
            JobParams::VolumeCreate(VolumeCreateParams {
                size_gib: self.size,
                source: self.source.clone(),
                name: name.clone(),
                volume_type: Some(self.vtype.name.clone()),
                unschedulable: self.unschedulable.clone(),
            }),
        );
        let new = NewVolume {
            id,
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            name,
            description: req.description.clone(),
            size: self.size,
            availability_zone: self.az.clone(),
            volume_type_id: self.vtype.id.clone(),
            volume_type_name: self.vtype.name.clone(),
            bootable: self.bootable,
            multiattach: req.multiattach,
            snapshot_id: req.snapshot_id.clone(),
            source_volid: req.source_volid.clone(),
            metadata: req.metadata.clone(),
            iops: req.iops,
            throughput: req.throughput,
            enterprise_project_id: req
                .enterprise_project_id
                .clone()
                .unwrap_or_else(|| DEFAULT_ENTERPRISE_PROJECT.to_string()),
            tags: req.tags.clone(),
            pool: self.pool.clone(),
            order,
            group_id: req.group_id.clone(),
            replica_pool: self.replica_pool.clone(),
            image_metadata: self.image_metadata.clone(),
        };
        (new, job)
    }
}

/// Checks `iops`/`throughput` against the volume type (EVS rules: GPSSD2
/// needs both, ESSD2 needs iops and refuses throughput, the others refuse
/// both), with the ranges of the types' performance table.
pub fn check_qos_fields(
    type_name: &str,
    iops: Option<i64>,
    throughput: Option<i64>,
) -> DomainResult<()> {
    let range = |field: &'static str, v: i64, (min, max): (i64, i64)| {
        if v < min || v > max {
            Err(DomainError::InvalidQos(QosRule::OutOfRange {
                field,
                min,
                max,
            }))
        } else {
            Ok(())
        }
    };
    let volume_type = type_name.to_string();
    match (type_name, iops, throughput) {
        ("GPSSD2", Some(i), Some(t)) => {
            range("iops", i, IOPS_RANGE_GPSSD2)?;
            range("throughput", t, THROUGHPUT_RANGE_GPSSD2)
        }
        ("GPSSD2", _, _) => Err(DomainError::InvalidQos(QosRule::NeedsIopsAndThroughput {
            volume_type,
        })),
        ("ESSD2", Some(i), None) => range("iops", i, IOPS_RANGE_ESSD2),
        ("ESSD2", _, _) => Err(DomainError::InvalidQos(QosRule::NeedsIopsOnly {
            volume_type,
        })),
        (_, None, None) => Ok(()),
        _ => Err(DomainError::InvalidQos(QosRule::NotSettable {
            volume_type,
        })),
    }
}

/// A list request, in domain terms.
#[derive(Debug, Clone, Default)]
pub struct VolumeListRequest {
    /// Admins only: every project's volumes.
    pub all_tenants: bool,
    /// Admins only, with `all_tenants`: one project's volumes.
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub availability_zone: Option<String>,
    pub bootable: Option<bool>,
    pub metadata: Vec<(String, String)>,
    pub ids: Option<Vec<VolumeId>>,
    pub multiattach: Option<bool>,
    pub volume_type_id: Option<VolumeTypeId>,
    pub enterprise_project_id: Option<String>,
    pub server_id: Option<String>,
    pub name_contains: Option<String>,
    pub tags: Vec<(String, Vec<String>)>,
    /// Members of this generic volume group.
    pub group_id: Option<GroupId>,
    pub page: Page,
}

fn order_id_reserved() -> DomainError {
    DomainError::Forbidden(format!(
        "The metadata key {ORDER_ID_KEY} is set by the system (it marks a yearly/monthly volume) and cannot be changed."
    ))
}

/// Refuses metadata that sets the billing marker.
pub(crate) fn refuse_order_id(m: &Metadata) -> DomainResult<()> {
    if m.contains_key(ORDER_ID_KEY) {
        Err(order_id_reserved())
    } else {
        Ok(())
    }
}

/// The store query of a list request: the caller's project, or with
/// `all_tenants` (admins only) any.
fn volume_query(ctx: &AuthContext, req: VolumeListRequest) -> VolumeQuery {
    let project_id = if req.all_tenants && ctx.is_admin() {
        req.project_id
    } else {
        Some(ctx.project_id.clone())
    };
    VolumeQuery {
        project_id,
        name: req.name,
        status: req.status,
        availability_zone: req.availability_zone,
        bootable: req.bootable,
        metadata: req.metadata,
        ids: req.ids,
        multiattach: req.multiattach,
        volume_type_id: req.volume_type_id,
        enterprise_project_id: req.enterprise_project_id,
        enterprise_projects: ctx
            .enterprise_scope
            .as_ref()
            .map(|s| s.iter().cloned().collect()),
        server_id: req.server_id,
        name_contains: req.name_contains,
        tags: req.tags,
        group_id: req.group_id,
        page: req.page,
    }
}

pub(crate) fn new_job(
    kind: JobKind,
    project_id: &ProjectId,
    resource_id: &str,
    params: JobParams,
) -> Job {
    Job {
        id: JobId::new(),
        kind,
        project_id: project_id.clone(),
        resource_id: resource_id.to_string(),
        params,
        status: JobStatus::Init,
        step: 0,
        error: None,
        created_at: platter_model::Timestamp::now(),
        begin_at: None,
        end_at: None,
        parent_id: None,
    }
}

impl Platter {
    /// Seeds the EVS volume types and checks the configured default exists.
    pub(crate) async fn ensure_volume_types(&self) -> DomainResult<()> {
        for (name, description) in SEED_TYPES {
            let mut extra_specs = Metadata::new();
            extra_specs.insert("volume_backend_name".into(), (*name).into());
            self.store()
                .volume_type_ensure(&VolumeType {
                    id: VolumeTypeId::new(),
                    name: (*name).into(),
                    description: Some((*description).into()),
                    is_public: true,
                    extra_specs,
                    qos_specs_id: None,
                    encrypted: false,
                })
                .await?;
        }
        let default = &self.config().default_volume_type;
        if self.store().volume_type_find(default).await?.is_none() {
            return Err(DomainError::invalid(format!(
                "The default volume type {default} does not exist."
            )));
        }
        Ok(())
    }

    /// The pool a type places new volumes in: the one its
    /// `volume_backend_name` extra spec names (Cinder's placement), or
    /// `None` when it names no configured pool (then the default pool, or
    /// the source's for clones).
    pub(crate) fn pool_of_type(&self, t: &VolumeType) -> Option<String> {
        t.extra_specs
            .get("volume_backend_name")
            .or_else(|| t.extra_specs.get("capabilities:volume_backend_name"))
            .and_then(|n| self.pools().by_volume_backend_name(n))
            .map(|p| p.name.clone())
    }

    /// Refuses a type that would move a volume to another pool: volumes
    /// are not migrated between pools.
    pub(crate) fn check_type_keeps_pool(&self, v: &Volume, t: &VolumeType) -> DomainResult<()> {
        let has_replica = v.replica_pool.is_some();
        if crate::scheduler::replicated(t) != has_replica {
            return Err(DomainError::invalid(format!(
                "volume {} is {}replicated and volume type {} {}; a retype does not turn replication on or off.",
                v.id,
                if has_replica { "" } else { "not " },
                t.name,
                if has_replica { "is not" } else { "is" },
            )));
        }
        match self.pool_of_type(t) {
            Some(named) if named != v.pool => Err(DomainError::invalid(format!(
                "volume type {} places volumes in pool {named}, but volume {} is in pool {}; volumes cannot move between pools.",
                t.name, v.id, v.pool
            ))),
            _ => Ok(()),
        }
    }

    pub async fn volume_type_list(&self) -> DomainResult<Vec<VolumeType>> {
        self.store().volume_type_list().await
    }

    pub async fn volume_type_get(&self, id_or_name: &str) -> DomainResult<VolumeType> {
        self.store()
            .volume_type_find(id_or_name)
            .await?
            .ok_or_else(|| DomainError::not_found("Volume type", id_or_name))
    }

    pub async fn volume_type_default(&self) -> DomainResult<VolumeType> {
        self.volume_type_get(&self.config().default_volume_type)
            .await
    }

    /// The type a volume of `project` gets when none is asked for: the
    /// project's default type (Cinder 3.62), else the configured default.
    pub async fn volume_type_default_for(&self, project: &ProjectId) -> DomainResult<VolumeType> {
        let fallback = &self.config().default_volume_type;
        self.store()
            .volume_type_default_for(project, fallback)
            .await?
            .ok_or_else(|| DomainError::not_found("Volume type", fallback.as_str()))
    }

    /// Admin: a new volume type (a `volume_backend_name` extra spec places
    /// its volumes in that pool).
    pub async fn volume_type_create(
        &self,
        ctx: &AuthContext,
        f: TypeFields,
    ) -> DomainResult<VolumeType> {
        self.authorize(ctx, Action::TypeCreate)?;
        let name = check_type_name(f.name.as_deref())?;
        let extra_specs = f.extra_specs.unwrap_or_default();
        check_extra_specs(&extra_specs)?;
        let t = VolumeType {
            id: VolumeTypeId::new(),
            name,
            description: f.description.flatten(),
            is_public: f.is_public.unwrap_or(true),
            extra_specs,
            qos_specs_id: None,
            encrypted: false,
        };
        self.store().volume_type_create(&t).await?;
        Ok(t)
    }

    /// Admin: renames, describes or changes the visibility of a type.
    pub async fn volume_type_update(
        &self,
        ctx: &AuthContext,
        id: &VolumeTypeId,
        f: TypeFields,
    ) -> DomainResult<VolumeType> {
        self.authorize(ctx, Action::TypeUpdate)?;
        let mut t = self.volume_type_by_id(id).await?;
        if let Some(name) = f.name.as_deref() {
            t.name = check_type_name(Some(name))?;
        }
        if let Some(d) = f.description {
            t.description = d;
        }
        if let Some(p) = f.is_public {
            t.is_public = p;
        }
        self.store().volume_type_update(&t).await?;
        Ok(t)
    }

    /// Admin: deletes a type no volume uses.
    pub async fn volume_type_delete(
        &self,
        ctx: &AuthContext,
        id: &VolumeTypeId,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::TypeDelete)?;
        self.volume_type_by_id(id).await?;
        self.store().volume_type_delete(id).await
    }

    /// A type's extra specs.
    pub async fn volume_type_extra_specs(
        &self,
        ctx: &AuthContext,
        id: &VolumeTypeId,
    ) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::TypeExtraSpecsGet)?;
        Ok(self.volume_type_by_id(id).await?.extra_specs)
    }

    /// Admin: sets extra specs (merged into the type's); returns them all.
    pub async fn volume_type_extra_specs_set(
        &self,
        ctx: &AuthContext,
        id: &VolumeTypeId,
        specs: &Metadata,
    ) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::TypeExtraSpecsUpdate)?;
        check_extra_specs(specs)?;
        let mut t = self.volume_type_by_id(id).await?;
        t.extra_specs
            .extend(specs.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.store().volume_type_update(&t).await?;
        Ok(t.extra_specs)
    }

    /// Admin: removes one extra spec.
    pub async fn volume_type_extra_spec_delete(
        &self,
        ctx: &AuthContext,
        id: &VolumeTypeId,
        key: &str,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::TypeExtraSpecsDelete)?;
        let mut t = self.volume_type_by_id(id).await?;
        if t.extra_specs.remove(key).is_none() {
            return Err(DomainError::not_found("Volume type extra spec", key));
        }
        self.store().volume_type_update(&t).await
    }

    /// A type by its id (administration names types by id only).
    async fn volume_type_by_id(&self, id: &VolumeTypeId) -> DomainResult<VolumeType> {
        match self.store().volume_type_find(id.as_str()).await? {
            Some(t) if t.id == *id => Ok(t),
            _ => Err(DomainError::not_found("Volume type", id)),
        }
    }

    /// A volume the caller may see, or not found.
    pub async fn volume_get(&self, ctx: &AuthContext, id: &VolumeId) -> DomainResult<Volume> {
        self.authorize(ctx, Action::VolumeGet)?;
        self.volume_find(ctx, id).await
    }

    /// The volume an operation acts on, if the caller may see it (its
    /// project's, or any for admins; within its enterprise projects when
    /// it is limited to some). The operation has authorized its own
    /// action: finding needs no other (an IAM user holding exactly a
    /// route's actions may call it).
    pub async fn volume_find(&self, ctx: &AuthContext, id: &VolumeId) -> DomainResult<Volume> {
        match self.store().volume_get(id).await? {
            Some(v)
                if visible(ctx, &v.project_id)
                    && ctx.in_enterprise_scope(&v.enterprise_project_id) =>
            {
                Ok(v)
            }
            _ => Err(DomainError::not_found("Volume", id)),
        }
    }

    pub async fn volume_list(
        &self,
        ctx: &AuthContext,
        req: VolumeListRequest,
    ) -> DomainResult<Vec<Volume>> {
        self.authorize(ctx, Action::VolumeList)?;
        self.store().volume_list(&volume_query(ctx, req)).await
    }

    /// Cinder's volume summary (3.12): how many volumes the caller sees
    /// (every project's for an admin asking `all_tenants`), their total
    /// size, and every metadata key with its distinct values.
    pub async fn volume_summary(
        &self,
        ctx: &AuthContext,
        all_tenants: bool,
    ) -> DomainResult<VolumeSummary> {
        self.authorize(ctx, Action::VolumeSummary)?;
        let req = VolumeListRequest {
            all_tenants,
            ..Default::default()
        };
        let volumes = self.store().volume_list(&volume_query(ctx, req)).await?;
        let mut summary = VolumeSummary::default();
        for v in &volumes {
            summary.count += 1;
            summary.total_size += v.size;
            for (k, val) in &v.metadata {
                let values = summary.metadata.entry(k.clone()).or_default();
                if !values.contains(val) {
                    values.push(val.clone());
                }
            }
        }
        for values in summary.metadata.values_mut() {
            values.sort();
        }
        Ok(summary)
    }

    /// A page of volumes and how many match in all (EVS `count`).
    pub async fn volume_list_counted(
        &self,
        ctx: &AuthContext,
        req: VolumeListRequest,
    ) -> DomainResult<(Vec<Volume>, i64)> {
        self.authorize(ctx, Action::VolumeList)?;
        let query = volume_query(ctx, req);
        let count = self
            .store()
            .volume_count(&VolumeQuery {
                page: Page::default(),
                ..query.clone()
            })
            .await?;
        Ok((self.store().volume_list(&query).await?, count))
    }

    /// Validates a create, records the volume (`creating`) and its job in one
    /// transaction that counts quota, and queues the job.
    pub async fn volume_create(
        &self,
        ctx: &AuthContext,
        req: VolumeCreate,
    ) -> DomainResult<Volume> {
        refuse_order_id(&req.metadata)?;
        let plan = self
            .plan_volume_create(ctx, req, CreateRules::CINDER)
            .await?;
        let (new, job) = plan.stamp(ctx, plan.req.name.clone(), None);
        let volume = self
            .store()
            .volume_create(&new, &job, &self.quota_defaults_now())
            .await?;
        self.inner.jobs.submit(job);
        Ok(volume)
    }

    /// Checks a create request once, against the family's `rules`: reads
    /// its source and type, and decides size, zone and pool. The plan then
    /// stamps as many volumes as the request asks for.
    pub(crate) async fn plan_volume_create(
        &self,
        ctx: &AuthContext,
        req: VolumeCreate,
        rules: CreateRules,
    ) -> DomainResult<CreatePlan> {
        self.authorize(ctx, Action::VolumeCreate)?;
        check_metadata(&req.metadata)?;
        // A caller allowed on enterprise projects only creates in them.
        let ep = req
            .enterprise_project_id
            .as_deref()
            .unwrap_or(DEFAULT_ENTERPRISE_PROJECT);
        if !ctx.in_enterprise_scope(ep) {
            return Err(DomainError::NotAllowed {
                action: Action::VolumeCreate,
            });
        }
        let sources = [
            req.snapshot_id.is_some(),
            req.source_volid.is_some(),
            req.image_id.is_some(),
            req.backup_id.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(DomainError::InvalidCreate(CreateRule::TwoSources));
        }
        let zones = &self.config().availability_zones;
        let az = match &req.availability_zone {
            Some(az) if zones.contains(az) => az.clone(),
            Some(az) => {
                return Err(DomainError::InvalidCreate(CreateRule::UnknownZone {
                    zone: az.clone(),
                }))
            }
            None => zones.first().cloned().unwrap_or_else(|| "nova".into()),
        };
        let mut source = VolumeSource::Blank;
        let mut source_size = None;
        let mut source_volume: Option<Volume> = None;
        if let Some(snap_id) = &req.snapshot_id {
            let snap = self.snapshot_find(ctx, snap_id).await?;
            if !matches!(
                snap.status,
                SnapshotStatus::Available | SnapshotStatus::BackingUp
            ) {
                return Err(DomainError::InvalidCreate(CreateRule::SnapshotNotUsable {
                    id: snap.id.to_string(),
                    status: snap.status.as_str().to_string(),
                }));
            }
            source_size = Some(snap.size);
            source_volume = self.store().volume_get(&snap.volume_id).await?;
            source = VolumeSource::Snapshot(snap.id);
        } else if let Some(src_id) = &req.source_volid {
            let src = self.volume_find(ctx, src_id).await?;
            source_size = Some(src.size);
            source = VolumeSource::Volume(src.id.clone());
            source_volume = Some(src);
        }
        let mut image_metadata = Metadata::new();
        if let Some(image_id) = &req.image_id {
            let image = self.image_for_volume(ctx, image_id).await?;
            source_size = Some(image.min_volume_gib());
            image_metadata = image.volume_metadata();
            source = VolumeSource::Image(image.id);
        }
        let mut backup_source = None;
        if let Some(backup_id) = &req.backup_id {
            let b = self.backup_get(ctx, backup_id).await?;
            if b.status != BackupStatus::Available {
                return Err(DomainError::invalid(format!(
                    "Invalid backup: Backup status must be available, but current status is: {}.",
                    b.status
                )));
            }
            source_size = Some(b.size);
            image_metadata = b.source.image_metadata.clone();
            source = VolumeSource::Backup(b.id);
            backup_source = Some(b.source);
        }
        let vtype = match (&req.volume_type, &source_volume) {
            (Some(t), _) => self.volume_type_usable(ctx, t).await?,
            (None, Some(src)) => self.volume_type_get(src.volume_type_id.as_str()).await?,
            (None, None) => self.volume_type_default_for(&ctx.project_id).await?,
        };
        crate::type_access::refuse_encrypted(&vtype)?;
        if let (true, Some(src)) = (rules.source_must_match, &source_volume) {
            if src.availability_zone != az {
                return Err(DomainError::InvalidCreate(CreateRule::ZoneMismatch {
                    zone: az,
                    source_zone: src.availability_zone.clone(),
                }));
            }
            if src.volume_type_id != vtype.id {
                return Err(DomainError::InvalidCreate(CreateRule::TypeMismatch {
                    volume_type: vtype.name.clone(),
                    source_type: src.volume_type_name.clone(),
                }));
            }
        }
        let bootable = req.image_id.is_some()
            || source_volume.as_ref().is_some_and(|v| v.bootable)
            || backup_source.as_ref().is_some_and(|b| b.bootable);
        let mut req = req;
        if let Some(b) = &backup_source {
            // The backed-up volume's metadata, under the request's own.
            let mut metadata = b.metadata.clone();
            metadata.extend(std::mem::take(&mut req.metadata));
            req.metadata = metadata;
        }
        let max = match rules.max_bootable_gib {
            Some(m) if bootable => m,
            _ => self.config().max_volume_size_gib,
        };
        let size = match (req.size, source_size) {
            (Some(s), _) => s,
            (None, Some(s)) => s,
            (None, None) => return Err(DomainError::InvalidCreate(CreateRule::SizeRequired)),
        };
        let min = if source_size.is_some() {
            1
        } else {
            rules.min_blank_gib
        };
        if size < min || size > max {
            return Err(DomainError::InvalidCreate(CreateRule::SizeOutOfRange {
                size,
                min,
                max,
            }));
        }
        if let Some(source_size) = source_size.filter(|s| size < *s) {
            return Err(DomainError::InvalidCreate(CreateRule::SmallerThanSource {
                size,
                source_size,
            }));
        }
        check_qos_fields(&vtype.name, req.iops, req.throughput)?;
        // A snapshot lives in its volume's pool; a clone stays in its source's.
        let source_pool = source_volume.as_ref().map(|v| v.pool.clone());
        let placement = self.place(&vtype, source_pool).await?;
        if let Some(allowed) = vtype.extra_specs.get("RESKEY:availability_zones") {
            if !allowed.split(',').any(|z| z.trim() == az) {
                return Err(DomainError::InvalidCreate(CreateRule::TypeNotInZone {
                    volume_type: vtype.name.clone(),
                    zone: az,
                }));
            }
        }
        Ok(CreatePlan {
            req,
            size,
            source,
            vtype,
            az,
            bootable,
            pool: placement.pool,
            replica_pool: placement.replica_pool,
            unschedulable: placement.unschedulable,
            image_metadata,
        })
    }

    pub async fn volume_update(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        update: VolumeUpdate,
    ) -> DomainResult<Volume> {
        self.authorize(ctx, Action::VolumeUpdate)?;
        self.volume_find(ctx, id).await?;
        if let Some(m) = &update.metadata {
            check_metadata(m)?;
            refuse_order_id(m)?;
        }
        self.store().volume_update(id, &update).await
    }

    pub async fn volume_metadata_set(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        metadata: &Metadata,
        replace: bool,
    ) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::VolumeMetadataUpdate)?;
        self.volume_find(ctx, id).await?;
        check_metadata(metadata)?;
        refuse_order_id(metadata)?;
        self.store()
            .volume_metadata_set(id, metadata, replace)
            .await
    }

    pub async fn volume_metadata_delete(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        key: &str,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeMetadataDelete)?;
        self.volume_find(ctx, id).await?;
        if key == ORDER_ID_KEY {
            return Err(order_id_reserved());
        }
        self.store().volume_metadata_delete(id, key).await
    }

    /// Starts deleting a volume (and with `cascade` its snapshots); returns
    /// the job's id. A yearly/monthly volume is not deleted but unsubscribed.
    pub async fn volume_delete(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        cascade: bool,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::VolumeDelete)?;
        let v = self.volume_find(ctx, id).await?;
        self.refuse_frozen(&v).await?;
        if let Some(order) = v.order_id() {
            return Err(DomainError::volume_state(format!(
                "Volume {id} is yearly/monthly (order {order}); unsubscribe it instead of deleting it."
            )));
        }
        self.volume_delete_unchecked(&v, cascade, None).await
    }

    /// Starts deleting a volume the caller may delete.
    pub(crate) async fn volume_delete_unchecked(
        &self,
        v: &Volume,
        cascade: bool,
        order: Option<&platter_model::Order>,
    ) -> DomainResult<JobId> {
        let id = &v.id;
        let job = new_job(
            JobKind::VolumeDelete,
            &v.project_id,
            id.as_str(),
            JobParams::VolumeDelete(VolumeDeleteParams {
                cascade,
                order_id: order.map(|o| o.id.clone()),
            }),
        );
        self.store()
            .volume_begin_delete(id, cascade, &job, order)
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Starts extending an `available` volume to `new_size` GiB.
    pub async fn volume_extend(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        new_size: i64,
    ) -> DomainResult<JobId> {
        self.extend_with(ctx, id, new_size, false).await
    }

    /// Extends an `available` or `in-use` volume (Cinder 3.42): the live
    /// exports grow with the device, their connections stay.
    pub async fn volume_extend_online(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        new_size: i64,
    ) -> DomainResult<JobId> {
        self.extend_with(ctx, id, new_size, true).await
    }

    async fn extend_with(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        new_size: i64,
        online: bool,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::VolumeExtend)?;
        let v = self.volume_find(ctx, id).await?;
        self.refuse_frozen(&v).await?;
        let (job, from) = self.plan_extend(&v, new_size, online)?;
        self.store()
            .volume_begin_extend(id, new_size, from, &job, &self.quota_defaults_now())
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    pub(crate) fn plan_extend(
        &self,
        v: &Volume,
        new_size: i64,
        online: bool,
    ) -> DomainResult<(Job, VolumeStatus)> {
        if new_size > self.config().max_volume_size_gib {
            return Err(DomainError::invalid(format!(
                "new size {new_size} GiB exceeds the maximum volume size of {} GiB.",
                self.config().max_volume_size_gib
            )));
        }
        let from = match v.status {
            VolumeStatus::InUse if online && v.multiattach => {
                return Err(DomainError::volume_state(format!(
                    "Volume {} is multiattach and in use; it must be available to extend.",
                    v.id
                )))
            }
            VolumeStatus::InUse if online => VolumeStatus::InUse,
            _ => VolumeStatus::Available,
        };
        let job = new_job(
            JobKind::VolumeExtend,
            &v.project_id,
            v.id.as_str(),
            JobParams::VolumeExtend(VolumeExtendParams {
                new_size_gib: new_size,
                restore: from,
                name: v.name.clone(),
                volume_type: Some(v.volume_type_name.clone()),
            }),
        );
        Ok((job, from))
    }

    /// A volume's image metadata (`os-show_image_metadata`).
    pub async fn volume_image_metadata(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
    ) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::VolumeImageMetadataGet)?;
        Ok(self.volume_find(ctx, id).await?.image_metadata)
    }

    /// Sets image metadata keys (`os-set_image_metadata`); returns all of
    /// it.
    pub async fn volume_image_metadata_set(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        metadata: &Metadata,
    ) -> DomainResult<Metadata> {
        self.authorize(ctx, Action::VolumeImageMetadataSet)?;
        self.volume_find(ctx, id).await?;
        self.store().volume_image_metadata_set(id, metadata).await
    }

    /// Removes an image metadata key (`os-unset_image_metadata`).
    pub async fn volume_image_metadata_unset(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        key: &str,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeImageMetadataRemove)?;
        self.volume_find(ctx, id).await?;
        self.store().volume_image_metadata_delete(id, key).await
    }

    /// Admin: forces a volume's status.
    pub async fn volume_reset_status(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        status: VolumeStatus,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeResetStatus)?;
        self.volume_find(ctx, id).await?;
        self.store().volume_set_status(id, status).await
    }

    pub async fn volume_set_bootable(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        bootable: bool,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeSetBootable)?;
        self.volume_find(ctx, id).await?;
        self.store()
            .volume_update(
                id,
                &VolumeUpdate {
                    bootable: Some(bootable),
                    ..Default::default()
                },
            )
            .await
            .map(|_| ())
    }

    pub async fn volume_set_readonly(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        readonly: bool,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeSetReadonly)?;
        self.volume_find(ctx, id).await?;
        self.store()
            .volume_update(
                id,
                &VolumeUpdate {
                    readonly: Some(readonly),
                    ..Default::default()
                },
            )
            .await
            .map(|_| ())
    }
}
