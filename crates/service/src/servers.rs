//! Compute servers: guests whose every disk is a Platter volume reached
//! over NBD through an ordinary attachment.
//!
//! A server create is one transaction (the server rows, the volumes it
//! makes, the reserved attachments of all its disks, the jobs, quota for
//! all of it) and then a `server_create` saga: make the new volumes'
//! devices, connect every attachment (an NBD export each), start the guest,
//! mark it active. Deletes, attaches, detaches and power changes are sagas
//! too. The compute driver ([`ComputeDriver`]) is the only thing that
//! touches guests.

use std::sync::Arc;
use std::time::Duration;

use platter_compute::{ComputeDriver, DiskSpec, GuestSpec};
use platter_model::{
    new_hex_id, Action, AttachMode, AttachmentId, AttachmentStatus, AuthContext, DiskStatus,
    DomainError, DomainResult, Flavor, ImageId, Job, JobGroup, JobGroupKind, JobId, JobKind,
    JobParams, JobStep, Metadata, PowerAction, PowerState, Server, ServerCreateParams,
    ServerDeleteParams, ServerDisk, ServerFault, ServerId, ServerNewVolume, ServerOrigin,
    ServerPowerParams, ServerVolumeParams, SnapshotId, TaskState, Timestamp, VmState, VolumeId,
    VolumeSource, VolumeStatus,
};
use platter_store::{FlavorEnd, NewAttachment, NewServer, NewVolume, ServerEnd, ServerGate};
use serde_json::{json, Value};

use crate::volumes::{new_job, CreateRules, VolumeCreate};
use crate::{visible, Platter};

/// How long a running guest gets to release a disk being unplugged.
const UNPLUG_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a guest gets to power off when asked (stop, soft reboot).
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Most servers one create may ask for.
pub const MAX_SERVER_COUNT: i64 = 100;

/// Where a disk's data comes from (block-device mapping v2's `source_type`).
#[derive(Debug, Clone, PartialEq)]
pub enum DiskSource {
    /// An existing volume, attached as it is.
    Volume(VolumeId),
    Image(ImageId),
    Snapshot(SnapshotId),
    Blank,
}

/// One disk of a server create.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockDevice {
    pub source: DiskSource,
    /// `Some(0)`: the root disk.
    pub boot_index: Option<i64>,
    /// GiB of a new volume (`None`: its source's size).
    pub size_gib: Option<i64>,
    pub volume_type: Option<String>,
    pub delete_on_termination: bool,
    pub multiattach: bool,
}

/// A server create, in domain terms.
#[derive(Debug, Clone)]
pub struct ServerCreate {
    pub name: String,
    pub description: Option<String>,
    pub flavor_ref: String,
    /// The image of a server booted from an image (its root volume is made
    /// from it unless a block device has boot index 0).
    pub image_ref: Option<ImageId>,
    pub block_devices: Vec<BlockDevice>,
    pub availability_zone: Option<String>,
    pub metadata: Metadata,
    pub user_data: Option<String>,
    pub key_name: Option<String>,
    pub min_count: i64,
    pub max_count: i64,
    pub origin: ServerOrigin,
    /// ECS's network fields, recorded as given.
    pub network: Value,
    /// The family's rules for the volumes the create makes.
    pub rules: CreateRules,
}

/// What a create made: the servers, and (ECS) the job group that follows
/// them.
#[derive(Debug, Clone)]
pub struct ServersCreated {
    pub servers: Vec<Server>,
    pub job_id: JobId,
}

/// Filters of a server listing.
#[derive(Debug, Clone, Default)]
pub struct ServerListRequest {
    pub all_tenants: bool,
    /// Part of the name (Nova's `name` is a regular expression; a plain
    /// substring match covers what clients send).
    pub name: Option<String>,
    /// Nova's status (`ACTIVE`, ...).
    pub status: Option<String>,
    pub flavor: Option<String>,
    pub reservation_id: Option<String>,
    pub changes_since: Option<Timestamp>,
}

/// A server's compute usage against its project's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComputeLimits {
    pub max_instances: i64,
    pub max_cores: i64,
    pub max_ram_mib: i64,
    pub instances: i64,
    pub cores: i64,
    pub ram_mib: i64,
}

/// The flavors offered when the configuration lists none: Nova's classic
/// names (sized down for small test hosts) and a few ECS-style ones.
pub fn default_flavors() -> Vec<Flavor> {
    let f = |id: &str, name: &str, vcpus: u32, ram_mib: u64, disk_gib: i64| Flavor {
        id: id.into(),
        name: name.into(),
        vcpus,
        ram_mib,
        disk_gib,
        extra_specs: [(
            "ecs:virtualization_env_types".to_string(),
            "CloudCompute".to_string(),
        )]
        .into_iter()
        .collect(),
    };
    vec![
        f("1", "m1.tiny", 1, 256, 1),
        f("2", "m1.small", 1, 2048, 20),
        f("3", "m1.medium", 2, 4096, 40),
        f("4", "m1.large", 4, 8192, 80),
        f("s6.small.1", "s6.small.1", 1, 1024, 0),
        f("s6.medium.2", "s6.medium.2", 1, 2048, 0),
        f("c6.large.2", "c6.large.2", 2, 4096, 0),
    ]
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn reservation_id() -> String {
    format!("r-{}", &new_hex_id()[..8])
}

/// Nova's names of the power actions (its 409 messages quote them).
fn power_task(action: PowerAction) -> (TaskState, &'static [VmState]) {
    match action {
        PowerAction::Start => (TaskState::PoweringOn, &[VmState::Stopped]),
        PowerAction::Stop => (TaskState::PoweringOff, &[VmState::Active, VmState::Error]),
        PowerAction::SoftReboot => (TaskState::Rebooting, &[VmState::Active]),
        PowerAction::HardReboot => (
            TaskState::RebootingHard,
            &[VmState::Active, VmState::Stopped, VmState::Error],
        ),
        PowerAction::Resize => (TaskState::ResizePrep, &[VmState::Active, VmState::Stopped]),
        PowerAction::RevertResize => (TaskState::ResizeReverting, &[VmState::Resized]),
        PowerAction::Rebuild => (
            TaskState::Rebuilding,
            &[VmState::Active, VmState::Stopped, VmState::Error],
        ),
    }
}

impl Platter {
    /// Gives the service its compute driver (once, at start).
    pub fn set_compute(&self, driver: Arc<dyn ComputeDriver>) {
        let _ = self.inner.compute.set(driver);
    }

    fn compute(&self) -> Result<&Arc<dyn ComputeDriver>, String> {
        self.inner
            .compute
            .get()
            .ok_or_else(|| "no compute driver is configured".to_string())
    }

    /// The compute driver's name (`qemu`, `none`), if there is one.
    pub fn compute_driver_name(&self) -> Option<&'static str> {
        self.inner.compute.get().map(|d| d.name())
    }

    pub fn flavor_list(&self, ctx: &AuthContext) -> DomainResult<Vec<Flavor>> {
        self.flavor_list_as(ctx, Action::FlavorList)
    }

    /// The flavors, for a family whose route names its own action (ECS).
    pub fn flavor_list_as(&self, ctx: &AuthContext, action: Action) -> DomainResult<Vec<Flavor>> {
        self.authorize(ctx, action)?;
        Ok(self.config().flavors.clone())
    }

    /// A flavor by id (or, as clients fall back to, by name).
    pub fn flavor_get(&self, ctx: &AuthContext, id: &str) -> DomainResult<Flavor> {
        self.authorize(ctx, Action::FlavorGet)?;
        self.flavor_find(id)
            .ok_or_else(|| DomainError::not_found("Flavor", id))
    }

    /// A flavor by id or name, for an operation that authorized its own
    /// action (an ECS resize's dry run).
    pub fn flavor_lookup(&self, id: &str) -> DomainResult<Flavor> {
        self.flavor_find(id)
            .ok_or_else(|| DomainError::not_found("Flavor", id))
    }

    fn flavor_find(&self, id: &str) -> Option<Flavor> {
        let flavors = &self.config().flavors;
        flavors
            .iter()
            .find(|f| f.id == id)
            .or_else(|| flavors.iter().find(|f| f.name == id))
            .cloned()
    }

    pub async fn server_get(&self, ctx: &AuthContext, id: &ServerId) -> DomainResult<Server> {
        self.authorize(ctx, Action::ServerGet)?;
        self.server_find(ctx, id).await
    }

    /// A server the caller may change: visible, and unlocked unless the
    /// caller is an admin (Nova's lock).
    async fn server_unlocked(&self, ctx: &AuthContext, id: &ServerId) -> DomainResult<Server> {
        let s = self.server_find(ctx, id).await?;
        if s.locked && !ctx.is_admin() {
            return Err(DomainError::Conflict(format!("Instance {id} is locked")));
        }
        Ok(s)
    }

    /// A server the caller may see, for an operation (or a family handler
    /// behind its route's gate) that authorized its own action: finding
    /// needs no other.
    pub async fn server_find(&self, ctx: &AuthContext, id: &ServerId) -> DomainResult<Server> {
        match self.store().server_get(id).await? {
            Some(s) if visible(ctx, &s.project_id) => Ok(s),
            _ => Err(DomainError::not_found("Server", id)),
        }
    }

    pub async fn server_list(
        &self,
        ctx: &AuthContext,
        req: &ServerListRequest,
    ) -> DomainResult<Vec<Server>> {
        self.authorize(ctx, Action::ServerList)?;
        let project = (!(req.all_tenants && ctx.is_admin())).then_some(&ctx.project_id);
        let all = self.store().server_list(project).await?;
        Ok(all
            .into_iter()
            .filter(|s| {
                req.name
                    .as_ref()
                    .is_none_or(|n| s.name.contains(n.as_str()))
            })
            .filter(|s| req.status.as_ref().is_none_or(|st| s.status() == st))
            .filter(|s| {
                req.flavor
                    .as_ref()
                    .is_none_or(|f| &s.flavor.id == f || &s.flavor.name == f)
            })
            .filter(|s| {
                req.reservation_id
                    .as_ref()
                    .is_none_or(|r| &s.reservation_id == r)
            })
            .filter(|s| req.changes_since.is_none_or(|t| s.updated_at >= t))
            .collect())
    }

    /// The project's compute quota and what its servers use.
    pub async fn compute_limits(
        &self,
        ctx: &AuthContext,
        act: Action,
    ) -> DomainResult<ComputeLimits> {
        self.compute_quota(ctx, &ctx.project_id.clone(), act).await
    }

    /// The default compute quota (no usage).
    pub fn compute_quota_defaults(&self, ctx: &AuthContext) -> DomainResult<ComputeLimits> {
        self.authorize(ctx, Action::ComputeQuotaGet)?;
        let d = self.quota_defaults_now();
        Ok(ComputeLimits {
            max_instances: d.get("instances"),
            max_cores: d.get("cores"),
            max_ram_mib: d.get("ram"),
            instances: 0,
            cores: 0,
            ram_mib: 0,
        })
    }

    /// A project's compute quota and usage: the caller's own, or any for
    /// an admin (an unknown project has the defaults, as Nova's).
    pub async fn compute_quota(
        &self,
        ctx: &AuthContext,
        project: &platter_model::ProjectId,
        act: Action,
    ) -> DomainResult<ComputeLimits> {
        self.authorize(ctx, act)?;
        if *project != ctx.project_id && !ctx.is_admin() {
            return Err(DomainError::NotAllowed { action: act });
        }
        let usage = self
            .store()
            .quota_usage(project, &self.quota_defaults_now(), &[])
            .await?;
        let defaults = self.quota_defaults_now();
        let used = |r: &str| {
            usage
                .iter()
                .find(|u| u.resource == r)
                .map(|u| (u.limit, u.in_use))
        };
        // The compute resources are not Cinder's global ones: the store
        // counts them but lists only Cinder's, so read them directly.
        let servers = self.store().server_list(Some(project)).await?;
        let limit = |r: &str| used(r).map_or_else(|| defaults.get(r), |(l, _)| l);
        Ok(ComputeLimits {
            max_instances: limit("instances"),
            max_cores: limit("cores"),
            max_ram_mib: limit("ram"),
            instances: servers.len() as i64,
            cores: servers.iter().map(|s| s.flavor.vcpus as i64).sum(),
            ram_mib: servers.iter().map(|s| s.flavor.ram_mib as i64).sum(),
        })
    }

    /// Validates a create completely (flavor, image, volumes, sizes, types,
    /// zone, count), then records everything in one transaction and queues
    /// the jobs. ECS creates get a job group (`createServer`).
    pub async fn server_create(
        &self,
        ctx: &AuthContext,
        req: ServerCreate,
        act: Action,
    ) -> DomainResult<ServersCreated> {
        self.authorize(ctx, act)?;
        self.compute().map_err(DomainError::invalid)?;
        let flavor = self.flavor_find(&req.flavor_ref).ok_or_else(|| {
            DomainError::InvalidInput(format!("Flavor {} could not be found.", req.flavor_ref))
        })?;
        let zones = &self.config().availability_zones;
        let az = match &req.availability_zone {
            Some(z) if zones.contains(z) => z.clone(),
            Some(z) => {
                return Err(DomainError::invalid(format!(
                    "The requested availability zone is not available: {z}"
                )))
            }
            None => zones.first().cloned().unwrap_or_else(|| "nova".into()),
        };
        if req.min_count < 1 || req.max_count < req.min_count || req.max_count > MAX_SERVER_COUNT {
            return Err(DomainError::invalid(format!(
                "min_count and max_count must satisfy 1 <= min_count <= max_count <= {MAX_SERVER_COUNT}"
            )));
        }
        let mut devices = req.block_devices.clone();
        let roots = devices.iter().filter(|d| d.boot_index == Some(0)).count();
        if roots > 1 {
            return Err(DomainError::invalid(
                "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.",
            ));
        }
        if roots == 0 {
            match &req.image_ref {
                // The root disk is always a volume (ECS's "shared storage as
                // the system disk"): one from the image, flavor-sized.
                Some(image) => devices.insert(
                    0,
                    BlockDevice {
                        source: DiskSource::Image(image.clone()),
                        boot_index: Some(0),
                        size_gib: (flavor.disk_gib > 0).then_some(flavor.disk_gib),
                        volume_type: None,
                        delete_on_termination: true,
                        multiattach: false,
                    },
                ),
                None => {
                    return Err(DomainError::invalid(
                        "Block Device Mapping is Invalid: You specified more local devices than the limit allows",
                    ))
                }
            }
        }
        devices.sort_by_key(|d| d.boot_index != Some(0));
        let existing = devices
            .iter()
            .filter(|d| matches!(d.source, DiskSource::Volume(_)))
            .count();
        if existing > 0 && req.max_count > 1 {
            return Err(DomainError::invalid(
                "Block Device Mapping is Invalid: servers booted from existing volumes cannot be created in a batch.",
            ));
        }
        if devices.len() > 24 {
            return Err(DomainError::invalid(
                "Block Device Mapping is Invalid: at most 24 disks per server.",
            ));
        }
        // Each new volume is planned once (its checks and placement) and
        // stamped for every server.
        let mut plans = Vec::with_capacity(devices.len());
        for d in &devices {
            let plan = match &d.source {
                DiskSource::Volume(id) => {
                    let v = self.volume_find(ctx, id).await.map_err(|_| {
                        DomainError::invalid(format!(
                            "Block Device Mapping is Invalid: failed to get volume {id}."
                        ))
                    })?;
                    if v.status != VolumeStatus::Available
                        && !(v.multiattach && v.status == VolumeStatus::InUse)
                    {
                        return Err(DomainError::volume_state(format!(
                            "Volume {id} status must be available to attach, but it is {}.",
                            v.status
                        )));
                    }
                    if v.availability_zone != az {
                        return Err(DomainError::invalid(format!(
                            "Volume {id} is in availability zone {}, the server in {az}.",
                            v.availability_zone
                        )));
                    }
                    None
                }
                src => {
                    let mut vc = VolumeCreate {
                        size: d.size_gib,
                        volume_type: d.volume_type.clone(),
                        availability_zone: Some(az.clone()),
                        multiattach: d.multiattach,
                        ..Default::default()
                    };
                    match src {
                        DiskSource::Image(i) => vc.image_id = Some(i.clone()),
                        DiskSource::Snapshot(s) => vc.snapshot_id = Some(s.clone()),
                        _ => {
                            if d.size_gib.is_none() {
                                return Err(DomainError::invalid(
                                    "Block Device Mapping is Invalid: a blank volume needs a volume_size.",
                                ));
                            }
                        }
                    }
                    let rules = if d.boot_index == Some(0) {
                        CreateRules {
                            min_blank_gib: 1,
                            ..req.rules
                        }
                    } else {
                        req.rules
                    };
                    Some(self.plan_volume_create(ctx, vc, rules).await?)
                }
            };
            plans.push(plan);
        }
        let count = req.max_count;
        let reservation = reservation_id();
        let group = (req.origin == ServerOrigin::Ecs).then(|| JobGroup {
            id: JobId::new(),
            kind: JobGroupKind::ServerCreateBatch,
            project_id: ctx.project_id.clone(),
            created_at: Timestamp::now(),
        });
        let host = self.config().compute_host.clone();
        let now = Timestamp::now();
        let mut new_servers = Vec::with_capacity(count as usize);
        let mut new_volumes: Vec<NewVolume> = Vec::new();
        for i in 0..count {
            let id = ServerId::new();
            let name = match (req.origin, count) {
                (ServerOrigin::Ecs, c) if c > 1 => format!("{}-{:04}", req.name, i + 1),
                _ => req.name.clone(),
            };
            let mut disks = Vec::with_capacity(devices.len());
            let mut attachments = Vec::with_capacity(devices.len());
            let mut made = Vec::new();
            for (n, (d, plan)) in devices.iter().zip(&plans).enumerate() {
                let device = format!("/dev/vd{}", (b'a' + n as u8) as char);
                let (volume_id, created) = match (plan, &d.source) {
                    (Some(plan), _) => {
                        let vname = match req.origin {
                            ServerOrigin::Ecs => Some(format!("{name}-volume-{n:04}")),
                            ServerOrigin::Nova => None,
                        };
                        let (nv, vjob) = plan.stamp(ctx, vname, None);
                        let source = match vjob.params {
                            JobParams::VolumeCreate(p) => p.source,
                            _ => VolumeSource::Blank,
                        };
                        made.push(ServerNewVolume {
                            volume_id: nv.id.clone(),
                            size_gib: nv.size,
                            source,
                        });
                        let vid = nv.id.clone();
                        new_volumes.push(nv);
                        (vid, true)
                    }
                    (None, DiskSource::Volume(v)) => (v.clone(), false),
                    (None, _) => continue,
                };
                let attachment_id = AttachmentId::new();
                attachments.push(NewAttachment {
                    id: attachment_id.clone(),
                    volume_id: volume_id.clone(),
                    project_id: ctx.project_id.clone(),
                    instance_uuid: Some(id.to_string()),
                    connector: None,
                    host: Some(host.clone()),
                    mountpoint: Some(device.clone()),
                    mode: AttachMode::ReadWrite,
                    status: AttachmentStatus::Reserved,
                    export_name: None,
                });
                disks.push(ServerDisk {
                    volume_id,
                    attachment_id,
                    device,
                    boot_index: d.boot_index.filter(|b| *b >= 0),
                    delete_on_termination: d.delete_on_termination,
                    created,
                    status: DiskStatus::Attaching,
                });
            }
            let mut job = new_job(
                JobKind::ServerCreate,
                &ctx.project_id,
                id.as_str(),
                JobParams::ServerCreate(ServerCreateParams { volumes: made }),
            );
            job.parent_id = group.as_ref().map(|g| g.id.clone());
            let server = Server {
                id,
                project_id: ctx.project_id.clone(),
                user_id: ctx.user_id.clone(),
                name,
                description: req.description.clone(),
                flavor: flavor.clone(),
                old_flavor: None,
                image_id: req.image_ref.as_ref().map(|i| i.to_string()),
                availability_zone: az.clone(),
                key_name: req.key_name.clone(),
                user_data: req.user_data.clone(),
                metadata: req.metadata.clone(),
                vm_state: VmState::Building,
                task_state: Some(TaskState::Scheduling),
                power_state: PowerState::NoState,
                origin: req.origin,
                fault: None,
                locked: false,
                reservation_id: reservation.clone(),
                launch_index: i,
                network: req.network.clone(),
                host: host.clone(),
                created_at: now,
                updated_at: now,
                launched_at: None,
                disks,
            };
            new_servers.push(NewServer {
                server,
                attachments,
                job,
            });
        }
        let servers = self
            .store()
            .server_create_batch(
                &new_servers,
                &new_volumes,
                group.as_ref(),
                &self.quota_defaults_now(),
            )
            .await?;
        let job_id = group
            .as_ref()
            .map(|g| g.id.clone())
            .unwrap_or_else(|| new_servers[0].job.id.clone());
        for ns in new_servers {
            self.inner.jobs.submit(ns.job);
        }
        Ok(ServersCreated { servers, job_id })
    }

    pub async fn server_update(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        name: Option<String>,
        description: Option<Option<String>>,
    ) -> DomainResult<Server> {
        self.authorize(ctx, Action::ServerUpdate)?;
        self.server_find(ctx, id).await?;
        self.store()
            .server_update(id, name.as_deref(), description, None)
            .await
    }

    /// Starts deleting a server. `delete_volumes` is ECS's `delete_volume`
    /// (`None` for Nova: each disk's `delete_on_termination` decides).
    pub async fn server_delete(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        delete_volumes: Option<bool>,
        act: Action,
        parent: Option<&JobId>,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, act)?;
        let s = self.server_unlocked(ctx, id).await?;
        let mut job = new_job(
            JobKind::ServerDelete,
            &s.project_id,
            id.as_str(),
            JobParams::ServerDelete(ServerDeleteParams { delete_volumes }),
        );
        job.parent_id = parent.cloned();
        let gate = ServerGate {
            vm_states: &[
                VmState::Active,
                VmState::Stopped,
                VmState::Error,
                VmState::Building,
            ],
            task: TaskState::Deleting,
            force: s.vm_state == VmState::Error,
        };
        self.store().server_begin(id, &gate, &job).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Starts a start, stop or reboot.
    pub async fn server_power(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        action: PowerAction,
        act: Action,
        parent: Option<&JobId>,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, act)?;
        let s = self.server_unlocked(ctx, id).await?;
        let (task, vm_states) = power_task(action);
        let mut job = new_job(
            JobKind::ServerPower,
            &s.project_id,
            id.as_str(),
            JobParams::ServerPower(ServerPowerParams {
                action,
                confirm: false,
                image_id: None,
            }),
        );
        job.parent_id = parent.cloned();
        let gate = ServerGate {
            vm_states,
            task,
            force: false,
        };
        self.store().server_begin(id, &gate, &job).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Starts a resize to `flavor_ref`: a running guest is restarted with
    /// the new flavor. Nova's ends in `VERIFY_RESIZE` (confirm or revert);
    /// ECS's (`confirm`) is confirmed as it ends and needs a stopped server.
    pub async fn server_resize(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        flavor_ref: &str,
        confirm: bool,
        act: Action,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, act)?;
        let s = self.server_unlocked(ctx, id).await?;
        let flavor = self.flavor_find(flavor_ref).ok_or_else(|| {
            DomainError::InvalidInput(format!("Flavor {flavor_ref} could not be found."))
        })?;
        if flavor.id == s.flavor.id {
            return Err(DomainError::InvalidInput(
                "When resizing, instances must change flavor!".into(),
            ));
        }
        let stopped_only: &[VmState] = &[VmState::Stopped];
        let (task, states) = power_task(PowerAction::Resize);
        let gate = ServerGate {
            vm_states: if confirm { stopped_only } else { states },
            task,
            force: false,
        };
        let job = new_job(
            JobKind::ServerPower,
            &s.project_id,
            id.as_str(),
            JobParams::ServerPower(ServerPowerParams {
                action: PowerAction::Resize,
                confirm,
                image_id: None,
            }),
        );
        self.store()
            .server_begin_resize(id, &gate, &flavor, true, &job, &self.quota_defaults_now())
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Rebuilds a server from an image (`None`: the image it has): the
    /// guest is ended, its root volume rewritten from the image in place
    /// (as Cinder's re-image does; the volume keeps its id and size) and
    /// the guest started. Nova's rebuild (not from `error`), ECS's
    /// reinstall and change of OS (`stopped` or a failed one before:
    /// `ecs`).
    pub async fn server_rebuild(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        image: Option<ImageId>,
        name: Option<String>,
        ecs: bool,
        act: Action,
    ) -> DomainResult<(Server, JobId)> {
        self.authorize(ctx, act)?;
        let s = self.server_unlocked(ctx, id).await?;
        let image = match image.or_else(|| s.image_id.clone().map(ImageId::from)) {
            Some(i) => i,
            None => {
                return Err(DomainError::invalid(format!(
                    "Instance {id} was not booted from an image: an image is required."
                )))
            }
        };
        let root = s.root_disk().ok_or_else(|| {
            DomainError::server_state(format!("Instance {id} has no root volume"))
        })?;
        let img = self.image_for_volume(ctx, &image).await?;
        let volume = self.volume_find(ctx, &root.volume_id).await?;
        if img.min_volume_gib() > volume.size {
            return Err(DomainError::invalid(format!(
                "Image {image} needs {} GiB; the root volume has {}.",
                img.min_volume_gib(),
                volume.size
            )));
        }
        let nova_states: &[VmState] = &[VmState::Active, VmState::Stopped];
        let ecs_states: &[VmState] = &[VmState::Stopped, VmState::Error];
        let gate = ServerGate {
            vm_states: if ecs { ecs_states } else { nova_states },
            task: TaskState::Rebuilding,
            force: false,
        };
        let job = new_job(
            JobKind::ServerPower,
            &s.project_id,
            id.as_str(),
            JobParams::ServerPower(ServerPowerParams {
                action: PowerAction::Rebuild,
                confirm: false,
                image_id: Some(image.clone()),
            }),
        );
        let server = self
            .store()
            .server_begin_rebuild(id, &gate, image.as_str(), name.as_deref(), &job)
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((server, job_id))
    }

    /// Rewrites a server's root volume from an image, in place.
    async fn reimage_root(&self, s: &Server, image: &ImageId) -> Result<(), String> {
        let root = s
            .root_disk()
            .ok_or_else(|| format!("server {} has no root volume", s.id))?;
        let v = self
            .store()
            .volume_get(&root.volume_id)
            .await
            .map_err(err)?
            .ok_or_else(|| format!("volume {} is gone", root.volume_id))?;
        let b = self.backend_of(&v.pool).map_err(err)?;
        let id = v.id.to_string();
        Self::blocking(&b, move |b| b.delete_volume(&id)).await?;
        self.allocate_device(
            &b,
            &v.pool,
            &v.id,
            v.size,
            &VolumeSource::Image(image.clone()),
        )
        .await
    }

    /// Nova's `confirmResize`.
    pub async fn server_confirm_resize(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::ServerResize)?;
        self.server_find(ctx, id).await?;
        self.store().server_confirm_resize(id).await
    }

    /// Nova's `revertResize`: the old flavor again (a running guest is
    /// restarted with it).
    pub async fn server_revert_resize(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::ServerResize)?;
        let s = self.server_find(ctx, id).await?;
        let old = s.old_flavor.clone().ok_or_else(|| {
            DomainError::server_state(format!(
                "Cannot 'revertResize' instance {id} while it is in vm_state {}",
                s.vm_state
            ))
        })?;
        let (task, states) = power_task(PowerAction::RevertResize);
        let gate = ServerGate {
            vm_states: states,
            task,
            force: false,
        };
        let job = new_job(
            JobKind::ServerPower,
            &s.project_id,
            id.as_str(),
            JobParams::ServerPower(ServerPowerParams {
                action: PowerAction::RevertResize,
                confirm: false,
                image_id: None,
            }),
        );
        self.store()
            .server_begin_resize(id, &gate, &old, false, &job, &self.quota_defaults_now())
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// A job group for an ECS batch (delete, start, stop, reboot).
    async fn server_job_group(
        &self,
        ctx: &AuthContext,
        kind: JobGroupKind,
    ) -> DomainResult<JobGroup> {
        let g = JobGroup {
            id: JobId::new(),
            kind,
            project_id: ctx.project_id.clone(),
            created_at: Timestamp::now(),
        };
        self.store().job_group_insert(&g).await?;
        Ok(g)
    }

    /// Every server of a batch, checked before any job starts: each must
    /// exist for the caller, be unlocked, have no task and (for a power
    /// action) be in a state the action starts from.
    async fn batch_servers(
        &self,
        ctx: &AuthContext,
        ids: &[ServerId],
        states: Option<&[VmState]>,
    ) -> DomainResult<()> {
        if ids.is_empty() {
            return Err(DomainError::invalid(
                "servers must list at least one server.",
            ));
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(DomainError::invalid(format!(
                    "server {id} is listed twice."
                )));
            }
            let s = self.server_unlocked(ctx, id).await?;
            if let Some(t) = s.task_state {
                return Err(DomainError::Conflict(format!(
                    "Instance {id} is in task_state {t}"
                )));
            }
            if let Some(states) = states {
                if !states.contains(&s.vm_state) {
                    return Err(DomainError::server_state(format!(
                        "Instance {id} is in vm_state {}",
                        s.vm_state
                    )));
                }
            }
        }
        Ok(())
    }

    /// ECS's batch delete: one job group, a delete job per server.
    pub async fn server_delete_batch(
        &self,
        ctx: &AuthContext,
        ids: &[ServerId],
        delete_volumes: bool,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::EcsServerDelete)?;
        self.batch_servers(ctx, ids, None).await?;
        let g = self
            .server_job_group(ctx, JobGroupKind::ServerDeleteBatch)
            .await?;
        for id in ids {
            self.server_delete(
                ctx,
                id,
                Some(delete_volumes),
                Action::EcsServerDelete,
                Some(&g.id),
            )
            .await?;
        }
        Ok(g.id)
    }

    /// ECS's batch start, stop or reboot: one job group, a power job per
    /// server.
    pub async fn server_power_batch(
        &self,
        ctx: &AuthContext,
        ids: &[ServerId],
        action: PowerAction,
        act: Action,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, act)?;
        let (_, states) = power_task(action);
        self.batch_servers(ctx, ids, Some(states)).await?;
        let g = self
            .server_job_group(ctx, JobGroupKind::ServerPowerBatch)
            .await?;
        for id in ids {
            self.server_power(ctx, id, action, act, Some(&g.id)).await?;
        }
        Ok(g.id)
    }

    /// Starts attaching a volume to a server; returns the disk as it will
    /// be and the job.
    pub async fn server_attach_volume(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        volume_id: &VolumeId,
        device: Option<&str>,
        act: Action,
    ) -> DomainResult<(ServerDisk, JobId)> {
        self.authorize(ctx, act)?;
        let s = self.server_find(ctx, id).await?;
        let v = self.volume_find(ctx, volume_id).await?;
        self.refuse_disabled(&v.id).await?;
        if s.locked && !ctx.is_admin() {
            return Err(DomainError::Conflict(format!("Instance {id} is locked")));
        }
        if v.availability_zone != s.availability_zone {
            return Err(DomainError::invalid(format!(
                "Volume {volume_id} is in availability zone {}, the server in {}.",
                v.availability_zone, s.availability_zone
            )));
        }
        // Nova's rule: a device name that is not the next free one (or not
        // a virtio name) is replaced by the next free one.
        let next = s.next_device().ok_or_else(|| {
            DomainError::invalid(format!("Server {id} has no free device name left."))
        })?;
        let device = match device {
            Some(d) if s.disks.iter().any(|x| x.device == d) => {
                return Err(DomainError::Conflict(format!(
                    "The supplied device path ({d}) is in use."
                )))
            }
            _ => next,
        };
        let attachment_id = AttachmentId::new();
        let disk = ServerDisk {
            volume_id: volume_id.clone(),
            attachment_id: attachment_id.clone(),
            device: device.clone(),
            boot_index: None,
            delete_on_termination: false,
            created: false,
            status: DiskStatus::Attaching,
        };
        let attachment = NewAttachment {
            id: attachment_id,
            volume_id: volume_id.clone(),
            project_id: v.project_id.clone(),
            instance_uuid: Some(id.to_string()),
            connector: None,
            host: Some(self.config().compute_host.clone()),
            mountpoint: Some(device),
            mode: AttachMode::ReadWrite,
            status: AttachmentStatus::Reserved,
            export_name: None,
        };
        let job = new_job(
            JobKind::ServerAttachVolume,
            &s.project_id,
            id.as_str(),
            JobParams::ServerAttachVolume(ServerVolumeParams {
                volume_id: volume_id.clone(),
                force: false,
            }),
        );
        self.store()
            .server_begin_attach(id, &disk, &attachment, &job)
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((disk, job_id))
    }

    /// Starts detaching a volume from a server. The root disk of a running
    /// server stays (stop the server first).
    pub async fn server_detach_volume(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        volume_id: &VolumeId,
        force: bool,
        act: Action,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, act)?;
        let s = self.server_unlocked(ctx, id).await?;
        let disk = s
            .disks
            .iter()
            .find(|d| &d.volume_id == volume_id)
            .ok_or_else(|| DomainError::not_found("Volume attachment", volume_id))?;
        if disk.boot_index == Some(0) && s.vm_state != VmState::Stopped {
            return Err(DomainError::server_state(format!(
                "Cannot detach the root device of instance {id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        let job = new_job(
            JobKind::ServerDetachVolume,
            &s.project_id,
            id.as_str(),
            JobParams::ServerDetachVolume(ServerVolumeParams {
                volume_id: volume_id.clone(),
                force,
            }),
        );
        self.store()
            .server_begin_detach(id, volume_id, &job)
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Nova's lock: a locked server refuses its owner's lifecycle and disk
    /// operations (an admin's go through).
    pub async fn server_lock(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        lock: bool,
    ) -> DomainResult<()> {
        self.authorize(
            ctx,
            if lock {
                Action::ServerLock
            } else {
                Action::ServerUnlock
            },
        )?;
        self.server_find(ctx, id).await?;
        self.store().server_set_locked(id, lock).await
    }

    /// Nova's `createImage` of a server booted from a volume: an image of
    /// its root volume (read while the guest runs: crash-consistent).
    pub async fn server_create_image(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        name: String,
    ) -> DomainResult<ImageId> {
        self.authorize(ctx, Action::ServerCreateImage)?;
        let s = self.server_find(ctx, id).await?;
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped) || s.task_state.is_some() {
            return Err(DomainError::server_state(format!(
                "Cannot 'createImage' instance {id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        let root = s.root_disk().ok_or_else(|| {
            DomainError::server_state(format!("Instance {id} has no root volume"))
        })?;
        let req = crate::VolumeToImage {
            force: true,
            image_name: Some(name),
            disk_format: platter_model::DiskFormat::Raw,
            container_format: "bare".into(),
            visibility: platter_model::ImageVisibility::Private,
            protected: false,
        };
        let (_, image, _) = self.volume_upload_image(ctx, &root.volume_id, req).await?;
        Ok(image.id)
    }

    /// The last `lines` lines (all with `None`) of the guest's serial
    /// console.
    pub async fn server_console_output(
        &self,
        ctx: &AuthContext,
        id: &ServerId,
        lines: Option<usize>,
    ) -> DomainResult<String> {
        self.authorize(ctx, Action::ServerConsoleOutput)?;
        let s = self.server_find(ctx, id).await?;
        if matches!(s.vm_state, VmState::Building) {
            return Err(DomainError::server_state(format!(
                "Instance {id} is not ready (vm_state {})",
                s.vm_state
            )));
        }
        let driver = self.compute().map_err(DomainError::Internal)?.clone();
        let sid = id.to_string();
        let text = tokio::task::spawn_blocking(move || driver.console_log(&sid))
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(match lines {
            None => text,
            Some(n) => {
                let all: Vec<&str> = text.lines().collect();
                let from = all.len().saturating_sub(n);
                all[from..].join("\n")
            }
        })
    }

    // ---- the sagas' steps

    async fn server_row(&self, job: &Job) -> Result<Server, String> {
        self.store()
            .server_get(&job.server_id())
            .await
            .map_err(err)?
            .ok_or_else(|| format!("server {} is gone", job.resource_id))
    }

    fn connector(&self, server: &ServerId) -> Value {
        json!({
            "host": self.config().compute_host,
            "initiator": format!("platter-compute:{}", self.config().compute_host),
            "instance": server.to_string(),
            "platform": "x86_64",
            "os_type": "linux",
            "multipath": false,
        })
    }

    /// Gives a disk's attachment an export and marks it attached, then
    /// publishes the export; idempotent.
    async fn connect_disk(&self, s: &Server, d: &ServerDisk) -> Result<(), String> {
        let store = self.store();
        let host = self.config().compute_host.clone();
        let export = new_hex_id() + &new_hex_id();
        store
            .attachment_connect(
                &d.attachment_id,
                &self.connector(&s.id),
                Some(&host),
                &export,
            )
            .await
            .map_err(err)?;
        let a = store
            .attachment_mark_attached(
                &d.attachment_id,
                Some(s.id.as_str()),
                Some(&d.device),
                Some(&host),
            )
            .await
            .map_err(err)?;
        self.publish(&a).await;
        Ok(())
    }

    /// Withdraws a disk's export and deletes its attachment; idempotent.
    async fn disconnect_disk(&self, d: &ServerDisk) -> Result<(), String> {
        let store = self.store();
        if let Some(a) = store.attachment_get(&d.attachment_id).await.map_err(err)? {
            self.withdraw(&a);
            match store.attachment_delete(&d.attachment_id).await {
                Ok(_) | Err(DomainError::NotFound { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    /// How the guest reaches a disk, from its attachment's connection info.
    async fn disk_spec(&self, d: &ServerDisk) -> Result<Option<DiskSpec>, String> {
        let store = self.store();
        let Some(a) = store.attachment_get(&d.attachment_id).await.map_err(err)? else {
            return Ok(None);
        };
        let Some(v) = store.volume_get(&d.volume_id).await.map_err(err)? else {
            return Ok(None);
        };
        let Some(info) = self.connection_info(&a, &v) else {
            return Ok(None);
        };
        let crate::Connection::Nbd { host, port, export } = info.connection;
        Ok(Some(DiskSpec {
            volume_id: d.volume_id.to_string(),
            host,
            port,
            export,
            read_only: info.access_mode == AttachMode::ReadOnly,
            boot_index: d.boot_index.and_then(|b| u32::try_from(b).ok()),
        }))
    }

    async fn guest_spec(&self, s: &Server) -> Result<GuestSpec, String> {
        let mut disks = Vec::with_capacity(s.disks.len());
        for d in s.disks.iter().filter(|d| d.status != DiskStatus::Detaching) {
            if let Some(spec) = self.disk_spec(d).await? {
                disks.push(spec);
            }
        }
        Ok(GuestSpec {
            id: s.id.to_string(),
            vcpus: s.flavor.vcpus,
            ram_mib: s.flavor.ram_mib,
            disks,
        })
    }

    async fn driver_call<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ComputeDriver) -> platter_compute::ComputeResult<T> + Send + 'static,
    {
        let driver = self.compute()?.clone();
        tokio::task::spawn_blocking(move || f(driver.as_ref()))
            .await
            .map_err(|e| format!("compute task failed: {e}"))?
            .map_err(err)
    }

    async fn spawn_guest(&self, s: &Server) -> Result<(), String> {
        let spec = self.guest_spec(s).await?;
        self.driver_call(move |d| d.spawn(&spec)).await
    }

    async fn stop_guest(&self, id: &ServerId, grace: Duration) -> Result<(), String> {
        let sid = id.to_string();
        self.driver_call(move |d| d.stop(&sid, grace)).await
    }

    fn job_disk<'a>(s: &'a Server, job: &Job) -> Result<&'a ServerDisk, String> {
        let volume = match &job.params {
            JobParams::ServerAttachVolume(p) | JobParams::ServerDetachVolume(p) => &p.volume_id,
            _ => return Err("not a disk job".into()),
        };
        s.disks
            .iter()
            .find(|d| &d.volume_id == volume)
            .ok_or_else(|| format!("volume {volume} is not a disk of server {}", s.id))
    }

    /// Runs one step of a server job; idempotent.
    pub(crate) async fn run_server_step(&self, job: &Job, step: JobStep) -> Result<(), String> {
        match step {
            JobStep::CreateServerVolumes => {
                let made = job.params.server_new_volumes();
                for nv in made {
                    let Some(v) = self.store().volume_get(&nv.volume_id).await.map_err(err)? else {
                        return Err(format!("volume {} is gone", nv.volume_id));
                    };
                    if v.status != VolumeStatus::Creating {
                        continue;
                    }
                    let b = self.backend_of(&v.pool).map_err(err)?;
                    self.allocate_device(&b, &v.pool, &nv.volume_id, nv.size_gib, &nv.source)
                        .await?;
                    let blank = nv.source == VolumeSource::Blank;
                    self.run_sync_replica(&nv.volume_id, blank).await?;
                }
                let ids: Vec<VolumeId> = made.iter().map(|v| v.volume_id.clone()).collect();
                self.store().server_volumes_created(&ids).await.map_err(err)
            }
            JobStep::ConnectServerVolumes => {
                let s = self.server_row(job).await?;
                for d in &s.disks {
                    self.connect_disk(&s, d).await?;
                }
                Ok(())
            }
            JobStep::SpawnServer => {
                let s = self.server_row(job).await?;
                self.spawn_guest(&s).await
            }
            JobStep::StopServerGuest => {
                let sid = job.resource_id.clone();
                self.stop_guest(&job.server_id(), Duration::ZERO).await?;
                self.driver_call(move |d| d.remove(&sid)).await
            }
            JobStep::DisconnectServerVolumes => {
                let s = self.server_row(job).await?;
                for d in &s.disks {
                    self.disconnect_disk(d).await?;
                }
                Ok(())
            }
            JobStep::DeleteServerVolumes => {
                let s = self.server_row(job).await?;
                let choice = match &job.params {
                    JobParams::ServerDelete(p) => p.delete_volumes,
                    _ => None,
                };
                for d in &s.disks {
                    let goes = match choice {
                        Some(true) => true,
                        Some(false) => d.boot_index == Some(0) && d.delete_on_termination,
                        None => d.delete_on_termination,
                    };
                    if !goes {
                        continue;
                    }
                    let Some(v) = self.store().volume_get(&d.volume_id).await.map_err(err)? else {
                        continue;
                    };
                    if v.status != VolumeStatus::Available {
                        // Being deleted already, or in use elsewhere
                        // (multiattach): left.
                        continue;
                    }
                    if let Err(e) = self.volume_delete_unchecked(&v, false, None).await {
                        tracing::warn!(volume = %v.id, error = %e, "a server's volume could not be deleted with it; left available");
                    }
                }
                Ok(())
            }
            JobStep::ConnectServerVolume => {
                let s = self.server_row(job).await?;
                let d = Self::job_disk(&s, job)?;
                self.connect_disk(&s, d).await
            }
            JobStep::PlugServerDisk => {
                let s = self.server_row(job).await?;
                let d = Self::job_disk(&s, job)?.clone();
                let sid = s.id.to_string();
                let running = {
                    let sid = sid.clone();
                    self.driver_call(move |dr| dr.is_running(&sid)).await?
                };
                if !running {
                    return Ok(());
                }
                let spec = self
                    .disk_spec(&d)
                    .await?
                    .ok_or_else(|| format!("volume {} has no export", d.volume_id))?;
                self.driver_call(move |dr| dr.attach_disk(&sid, &spec))
                    .await
            }
            JobStep::UnplugServerDisk => {
                let s = self.server_row(job).await?;
                let d = Self::job_disk(&s, job)?.clone();
                let force = matches!(&job.params, JobParams::ServerDetachVolume(p) if p.force);
                let sid = s.id.to_string();
                let timeout = if force {
                    Duration::from_secs(2)
                } else {
                    UNPLUG_TIMEOUT
                };
                let volume = d.volume_id.to_string();
                let r = self
                    .driver_call(move |dr| match dr.is_running(&sid)? {
                        true => dr.detach_disk(&sid, &volume, timeout),
                        false => Ok(()),
                    })
                    .await;
                match r {
                    Err(e) if !force => Err(e),
                    _ => Ok(()),
                }
            }
            JobStep::DisconnectServerVolume => {
                let s = self.server_row(job).await?;
                let d = Self::job_disk(&s, job)?.clone();
                self.disconnect_disk(&d).await
            }
            JobStep::PowerServer => {
                let s = self.server_row(job).await?;
                let JobParams::ServerPower(p) = &job.params else {
                    return Err("not a power job".into());
                };
                match p.action {
                    PowerAction::Start => self.spawn_guest(&s).await,
                    PowerAction::Stop => self.stop_guest(&s.id, STOP_GRACE).await,
                    PowerAction::SoftReboot => {
                        self.stop_guest(&s.id, STOP_GRACE).await?;
                        self.spawn_guest(&s).await
                    }
                    PowerAction::HardReboot => {
                        self.stop_guest(&s.id, Duration::ZERO).await?;
                        self.spawn_guest(&s).await
                    }
                    PowerAction::Rebuild => {
                        let image = p
                            .image_id
                            .clone()
                            .ok_or_else(|| "a rebuild names no image".to_string())?;
                        self.stop_guest(&s.id, Duration::ZERO).await?;
                        self.reimage_root(&s, &image).await?;
                        self.spawn_guest(&s).await
                    }
                    // The row has the new flavor already; a running guest
                    // takes it by restarting (a stopped one at its start).
                    PowerAction::Resize | PowerAction::RevertResize => {
                        let sid = s.id.to_string();
                        if self.driver_call(move |d| d.is_running(&sid)).await? {
                            self.stop_guest(&s.id, STOP_GRACE).await?;
                            self.spawn_guest(&s).await?;
                        }
                        Ok(())
                    }
                }
            }
            other => Err(format!("{other} is not a server step")),
        }
    }

    pub(crate) async fn undo_server_step(&self, job: &Job, step: JobStep) -> Result<(), String> {
        match step {
            JobStep::CreateServerVolumes => {
                if let Some(s) = self
                    .store()
                    .server_get(&job.server_id())
                    .await
                    .map_err(err)?
                {
                    for d in &s.disks {
                        self.disconnect_disk(d).await?;
                    }
                }
                for nv in job.params.server_new_volumes() {
                    let pool = match self.store().volume_get(&nv.volume_id).await.map_err(err)? {
                        Some(v) => v.pool,
                        None => continue,
                    };
                    let b = self.backend_of(&pool).map_err(err)?;
                    let id = nv.volume_id.to_string();
                    Self::blocking(&b, move |b| b.delete_volume(&id)).await?;
                    self.undo_sync_replica(&nv.volume_id).await?;
                }
                Ok(())
            }
            JobStep::ConnectServerVolumes => {
                if let Some(s) = self
                    .store()
                    .server_get(&job.server_id())
                    .await
                    .map_err(err)?
                {
                    for d in &s.disks {
                        self.disconnect_disk(d).await?;
                    }
                }
                Ok(())
            }
            JobStep::SpawnServer => {
                let sid = job.resource_id.clone();
                self.stop_guest(&job.server_id(), Duration::ZERO).await?;
                self.driver_call(move |d| d.remove(&sid)).await
            }
            JobStep::ConnectServerVolume => {
                if let Some(s) = self
                    .store()
                    .server_get(&job.server_id())
                    .await
                    .map_err(err)?
                {
                    if let Ok(d) = Self::job_disk(&s, job) {
                        self.disconnect_disk(d).await?;
                    }
                }
                Ok(())
            }
            JobStep::PlugServerDisk => {
                let JobParams::ServerAttachVolume(p) = &job.params else {
                    return Ok(());
                };
                let sid = job.resource_id.clone();
                let volume = p.volume_id.to_string();
                self.driver_call(move |dr| match dr.is_running(&sid)? {
                    true => dr.detach_disk(&sid, &volume, UNPLUG_TIMEOUT),
                    false => Ok(()),
                })
                .await
            }
            _ => Ok(()),
        }
    }

    /// The finishing transaction of a server job.
    pub(crate) async fn finish_server_job(
        &self,
        job: &Job,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let store = self.store();
        let id = &job.server_id();
        let fault = |message: &str| ServerFault {
            code: 500,
            message: message.to_string(),
            created: Timestamp::now(),
        };
        match job.kind {
            JobKind::ServerCreate => match error {
                None => {
                    let end = ServerEnd {
                        vm_state: VmState::Active,
                        power_state: PowerState::Running,
                        fault: None,
                        launched: true,
                        disks_attached: true,
                        flavor: FlavorEnd::Keep,
                    };
                    store.server_finish(id, &job.id, &end, None).await
                }
                Some(e) => {
                    let remove = store
                        .server_get(id)
                        .await?
                        .is_some_and(|s| s.origin == ServerOrigin::Ecs);
                    store
                        .server_fail_create(id, &job.id, e, &fault(e), remove)
                        .await
                }
            },
            JobKind::ServerDelete => store.server_finish_delete(id, &job.id, error).await,
            JobKind::ServerAttachVolume | JobKind::ServerDetachVolume => {
                let volume = match &job.params {
                    JobParams::ServerAttachVolume(p) | JobParams::ServerDetachVolume(p) => {
                        p.volume_id.clone()
                    }
                    _ => VolumeId::from(String::new()),
                };
                if job.kind == JobKind::ServerAttachVolume {
                    store
                        .server_finish_attach(id, &volume, &job.id, error)
                        .await
                } else {
                    store
                        .server_finish_detach(id, &volume, &job.id, error)
                        .await
                }
            }
            JobKind::ServerPower => {
                // The state is what the guest is now, whatever was asked.
                let sid = id.to_string();
                let running = self
                    .driver_call(move |d| d.is_running(&sid))
                    .await
                    .unwrap_or(false);
                let (mut vm_state, power_state) = if running {
                    (VmState::Active, PowerState::Running)
                } else {
                    (VmState::Stopped, PowerState::Shutdown)
                };
                let (action, confirm) = match &job.params {
                    JobParams::ServerPower(p) => (p.action, p.confirm),
                    _ => (PowerAction::Start, false),
                };
                let flavor = match (action, error, confirm) {
                    (PowerAction::Resize, None, false) => {
                        vm_state = VmState::Resized;
                        FlavorEnd::Keep
                    }
                    (PowerAction::Resize, None, true) => FlavorEnd::Confirm,
                    (PowerAction::Resize, Some(_), _) => FlavorEnd::Revert,
                    // A failed rebuild may have left the root volume half
                    // written: the server is in error.
                    (PowerAction::Rebuild, Some(_), _) => {
                        vm_state = VmState::Error;
                        FlavorEnd::Keep
                    }
                    _ => FlavorEnd::Keep,
                };
                let end = ServerEnd {
                    vm_state,
                    power_state,
                    fault: error.map(fault),
                    launched: running,
                    disks_attached: false,
                    flavor,
                };
                store.server_finish(id, &job.id, &end, error).await
            }
            _ => Err(DomainError::Internal(format!(
                "{} is not a server job",
                job.kind.as_str()
            ))),
        }
    }

    /// At start, after unfinished jobs are re-queued: makes every server
    /// without a job agree with its guest, and ends guests no server owns.
    /// An active server whose guest is gone is started again (or `error`
    /// if it cannot be); a stopped server's running guest is stopped.
    pub async fn reconcile_servers(&self, busy: &[String]) -> DomainResult<usize> {
        let Ok(driver) = self.compute() else {
            return Ok(0);
        };
        let driver = driver.clone();
        let servers = self.store().server_list(None).await?;
        let running = {
            let d = driver.clone();
            tokio::task::spawn_blocking(move || d.running())
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(|e| DomainError::Internal(e.to_string()))?
        };
        let mut changed = 0;
        for id in &running {
            if !servers.iter().any(|s| s.id.as_str() == id) {
                tracing::warn!(server = %id, "a guest no server owns; ending it");
                let sid = id.clone();
                let _ = self
                    .driver_call(move |d| {
                        d.stop(&sid, Duration::ZERO)?;
                        d.remove(&sid)
                    })
                    .await;
                changed += 1;
            }
        }
        for s in servers {
            if busy.iter().any(|b| b == s.id.as_str()) {
                continue;
            }
            let is_running = running.iter().any(|r| r == s.id.as_str());
            match (s.vm_state, is_running) {
                (VmState::Active, true)
                | (VmState::Stopped, false)
                | (VmState::Error, false)
                | (VmState::Resized, _) => {}
                (VmState::Active, false) => {
                    tracing::warn!(server = %s.id, "an active server's guest is gone; starting it");
                    match self.spawn_guest(&s).await {
                        Ok(()) => {}
                        Err(e) => {
                            let f = ServerFault {
                                code: 500,
                                message: format!("the guest could not be restarted: {e}"),
                                created: Timestamp::now(),
                            };
                            self.store()
                                .server_set_state(
                                    &s.id,
                                    VmState::Error,
                                    PowerState::Shutdown,
                                    Some(&f),
                                )
                                .await?;
                        }
                    }
                    changed += 1;
                }
                (_, true) => {
                    tracing::warn!(server = %s.id, vm_state = %s.vm_state, "a guest runs for a server that should not have one; ending it");
                    let _ = self.stop_guest(&s.id, Duration::ZERO).await;
                    if s.vm_state == VmState::Building {
                        self.store()
                            .server_set_state(&s.id, VmState::Error, PowerState::Shutdown, None)
                            .await?;
                    }
                    changed += 1;
                }
                (VmState::Building | VmState::Deleted, false) => {
                    let f = ServerFault {
                        code: 500,
                        message: "the build was interrupted".into(),
                        created: Timestamp::now(),
                    };
                    self.store()
                        .server_set_state(&s.id, VmState::Error, PowerState::NoState, Some(&f))
                        .await?;
                    changed += 1;
                }
            }
        }
        Ok(changed)
    }
}
