//! Compute servers: rows, their disks, and the transactions that start and
//! end their jobs.

use platter_model::{
    DomainResult, Flavor, Job, JobGroup, JobId, Metadata, PowerState, ProjectId, Server,
    ServerDisk, ServerFault, ServerId, TaskState, VmState, VolumeId,
};

use super::{NewAttachment, NewVolume, QuotaDefaults};

/// A server about to be created: its row (disks included, `attaching`),
/// the reserved attachments of its disks, and its create job.
#[derive(Debug, Clone)]
pub struct NewServer {
    pub server: Server,
    pub attachments: Vec<NewAttachment>,
    pub job: Job,
}

/// What a job's end does to a server's flavors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlavorEnd {
    /// Both as they are.
    #[default]
    Keep,
    /// The flavor is the old one again; no old flavor.
    Revert,
    /// The flavor stays; no old flavor.
    Confirm,
}

/// How a server job ends.
#[derive(Debug, Clone)]
pub struct ServerEnd {
    pub vm_state: VmState,
    pub power_state: PowerState,
    pub fault: Option<ServerFault>,
    /// Set `launched_at` to now.
    pub launched: bool,
    /// The disks a create was attaching are attached.
    pub disks_attached: bool,
    pub flavor: FlavorEnd,
}

/// Which servers a job may start on: its `vm_state` is one of these and no
/// task is in progress (unless `force`, which a delete uses).
#[derive(Debug, Clone)]
pub struct ServerGate<'a> {
    pub vm_states: &'a [VmState],
    pub task: TaskState,
    pub force: bool,
}

repository! {
    /// Compute servers and their disks.
    pub trait ServerRepo {
        async fn server_get(&self, id: &ServerId) -> DomainResult<Option<Server>>;
        /// A project's servers (every project's with `None`), newest first.
        async fn server_list(&self, project: Option<&ProjectId>) -> DomainResult<Vec<Server>>;
        /// Creates servers in one transaction: the volumes they make
        /// (`creating`), the reserved attachments of every disk (existing
        /// volumes must be attachable), the server rows and their disks, the
        /// jobs (members of `group`, if any); quota counted for all of it.
        async fn server_create_batch(
            &self,
            servers: &[NewServer],
            volumes: &[NewVolume],
            group: Option<&JobGroup>,
            quota: &QuotaDefaults,
        ) -> DomainResult<Vec<Server>>;
        /// The volumes a create made have their devices: `creating` ->
        /// `available`, then settled from their (reserved) attachments.
        async fn server_volumes_created(&self, volumes: &[VolumeId]) -> DomainResult<()>;
        /// Starts a job on a server: checks the gate, sets the task and
        /// records the job, in one transaction.
        async fn server_begin(&self, id: &ServerId, gate: &ServerGate<'_>, job: &Job) -> DomainResult<Server>;
        /// Starts a resize (or, without `keep_old`, a revert): checks the
        /// gate, counts the flavor's extra cores and RAM against quota,
        /// records the new flavor (the current one as the old with
        /// `keep_old`, none without), the task and the job, in one
        /// transaction.
        async fn server_begin_resize(&self, id: &ServerId, gate: &ServerGate<'_>, flavor: &Flavor, keep_old: bool, job: &Job, quota: &QuotaDefaults) -> DomainResult<Server>;
        /// Starts a rebuild: checks the gate, records the image as the
        /// server's (and a new name, if any), the task and the job.
        async fn server_begin_rebuild(&self, id: &ServerId, gate: &ServerGate<'_>, image_id: &str, name: Option<&str>, job: &Job) -> DomainResult<Server>;
        /// Confirms a resize: `resized` -> `active` or `stopped` (as the
        /// guest is); the old flavor is forgotten.
        async fn server_confirm_resize(&self, id: &ServerId) -> DomainResult<()>;
        /// Ends a job on a server: its state, no task, and the job's end.
        async fn server_finish(&self, id: &ServerId, job_id: &JobId, end: &ServerEnd, error: Option<&str>) -> DomainResult<()>;
        /// Ends a failed create: the server's attachments and the volumes
        /// it made are removed, and the server is either removed (`remove`)
        /// or `error` with `fault`; the job's end.
        async fn server_fail_create(&self, id: &ServerId, job_id: &JobId, error: &str, fault: &ServerFault, remove: bool) -> DomainResult<()>;
        /// Ends a delete: the server's rows go (or it is `error`).
        async fn server_finish_delete(&self, id: &ServerId, job_id: &JobId, error: Option<&str>) -> DomainResult<()>;
        /// Starts an attach: the disk (`attaching`), its reserved
        /// attachment and the job, in one transaction.
        async fn server_begin_attach(&self, id: &ServerId, disk: &ServerDisk, attachment: &NewAttachment, job: &Job) -> DomainResult<()>;
        /// Ends an attach: the disk `attached`, or gone with its attachment.
        async fn server_finish_attach(&self, id: &ServerId, volume: &VolumeId, job_id: &JobId, error: Option<&str>) -> DomainResult<()>;
        /// Starts a detach: the disk `attached` -> `detaching`, and the job.
        async fn server_begin_detach(&self, id: &ServerId, volume: &VolumeId, job: &Job) -> DomainResult<()>;
        /// Ends a detach: the disk row goes (or is `attached` again).
        async fn server_finish_detach(&self, id: &ServerId, volume: &VolumeId, job_id: &JobId, error: Option<&str>) -> DomainResult<()>;
        /// Sets name, description and metadata (`None`: unchanged).
        async fn server_update(&self, id: &ServerId, name: Option<&str>, description: Option<Option<String>>, metadata: Option<&Metadata>) -> DomainResult<Server>;
        /// Sets the state a reconciliation found (no job).
        async fn server_set_state(&self, id: &ServerId, vm_state: VmState, power_state: PowerState, fault: Option<&ServerFault>) -> DomainResult<()>;
        /// Locks or unlocks a server.
        async fn server_set_locked(&self, id: &ServerId, locked: bool) -> DomainResult<()>;
        /// Which server a volume is a disk of, if any.
        async fn server_of_volume(&self, volume: &VolumeId) -> DomainResult<Vec<ServerId>>;
    }
}
