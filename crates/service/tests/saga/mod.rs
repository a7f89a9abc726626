//! The saga test harness: one scenario (or a few) per job kind over a real
//! engine pool in a tempdir, run normally, with every step repeated, failed
//! before each step, or stopped before each step and recovered by a fresh
//! service over the same store and pool directories. Each run ends in an
//! [`Outcome`] (rows, devices, bytes, quota usage) the tests compare.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use platter_backend::{BackendPool, BackendRegistry, StorageBackend};
use platter_engine::{Pool, PoolOptions};
use platter_model::{
    Action, AuthContext, BackupId, BackupStatus, DiskFormat, DomainError, GroupId, GroupSnapshotId,
    GroupSnapshotStatus, GroupStatus, ImageId, ImageStatus, ImageVisibility, Job, JobId, JobKind,
    JobStatus, PowerAction, QuotaUsage, ReplicationStatus, ServerId, ServerOrigin, SnapshotId,
    SnapshotStatus, VolumeId, VolumeStatus, GIB,
};
use platter_service::{
    BackupCreate, BlockDevice, CreateRules, DiskSource, FaultInjection, GroupCreate,
    GroupFromSource, GroupSnapshotCreate, GroupTypeFields, Platter, ServerCreate, ServiceConfig,
    SnapshotCreate, SnapshotManage, TypeFields, VolumeCreate, VolumeManage, VolumeToImage,
};
use platter_store::Store;
use platter_store::{SnapshotQuery, VolumeQuery};

pub const MIB: u64 = 1 << 20;

/// What a job is run against, for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    CreateBlank,
    CreateFromSnapshot,
    CreateFromVolume,
    Delete,
    Extend,
    SnapshotCreate,
    SnapshotDelete,
    Retype,
    Qos,
    Rollback,
    Migrate,
    GroupDelete,
    GroupFromGroupSnapshot,
    GroupFromGroup,
    GroupSnapshotCreate,
    GroupSnapshotDelete,
    /// The source volume, unmanaged in the setup, managed again.
    ManageVolume,
    /// The snapshot, unmanaged in the setup, managed again.
    ManageSnapshot,
    /// A copy of `src` of a replicated type: its replica in pool2.
    CreateReplicated,
    /// `src` is of a replicated type and its replica was promoted (it now
    /// lives in pool2); the job makes the replica in `pool` again.
    ReenableReplica,
    /// `src` uploaded to a new qcow2 image.
    UploadImage,
    /// A full backup of `src`.
    BackupCreate,
    /// A backup of `src`, made in the setup, deleted.
    BackupDelete,
    /// A volume made from a backup of `src` (taken in the setup).
    CreateFromBackup,
    /// A backup of `src` (taken in the setup, before newer bytes) restored
    /// onto `src`.
    BackupRestore,
    /// A server booting from a new blank root volume, with `src` attached.
    ServerBoot,
    /// A server (root volume deleted with it, `src` kept) deleted.
    ServerDelete,
    /// `src` attached to an active server.
    ServerAttach,
    /// `src` detached from an active server.
    ServerDetach,
    /// An active server stopped.
    ServerStop,
    /// An active server resized to another flavor (left to verify).
    ServerResize,
}

/// The scenarios of a kind. Exhaustive: a new kind does not compile until
/// it has scenarios, and the tests iterate [`JobKind::ALL`].
pub fn scenarios(kind: JobKind) -> &'static [Scenario] {
    match kind {
        JobKind::VolumeCreate => &[
            Scenario::CreateBlank,
            Scenario::CreateFromSnapshot,
            Scenario::CreateFromVolume,
            Scenario::CreateReplicated,
            Scenario::CreateFromBackup,
        ],
        JobKind::VolumeDelete => &[Scenario::Delete],
        JobKind::VolumeExtend => &[Scenario::Extend],
        JobKind::SnapshotCreate => &[Scenario::SnapshotCreate],
        JobKind::SnapshotDelete => &[Scenario::SnapshotDelete],
        JobKind::VolumeRetype => &[Scenario::Retype],
        JobKind::VolumeQos => &[Scenario::Qos],
        JobKind::VolumeRollback => &[Scenario::Rollback],
        JobKind::VolumeMigrate => &[Scenario::Migrate],
        JobKind::GroupDelete => &[Scenario::GroupDelete],
        JobKind::GroupCreateFromSrc => {
            &[Scenario::GroupFromGroupSnapshot, Scenario::GroupFromGroup]
        }
        JobKind::GroupSnapshotCreate => &[Scenario::GroupSnapshotCreate],
        JobKind::GroupSnapshotDelete => &[Scenario::GroupSnapshotDelete],
        JobKind::VolumeManage => &[Scenario::ManageVolume],
        JobKind::SnapshotManage => &[Scenario::ManageSnapshot],
        JobKind::VolumeReenableReplica => &[Scenario::ReenableReplica],
        JobKind::VolumeUploadImage => &[Scenario::UploadImage],
        JobKind::BackupCreate => &[Scenario::BackupCreate],
        JobKind::BackupDelete => &[Scenario::BackupDelete],
        JobKind::BackupRestore => &[Scenario::BackupRestore],
        JobKind::ServerCreate => &[Scenario::ServerBoot],
        JobKind::ServerDelete => &[Scenario::ServerDelete],
        JobKind::ServerAttachVolume => &[Scenario::ServerAttach],
        JobKind::ServerDetachVolume => &[Scenario::ServerDetach],
        JobKind::ServerPower => &[Scenario::ServerStop, Scenario::ServerResize],
    }
}

/// A service over a store and a pool in a tempdir that outlives restarts.
pub struct World {
    pub dir: tempfile::TempDir,
    pub ctx: AuthContext,
    platter: Option<Platter>,
    pool: Option<Arc<Pool>>,
    /// A second pool, where migrations move volumes.
    pool2: Option<Arc<Pool>>,
}

/// The service over the two pools of `dir`.
fn open(
    store: Store,
    dir: &std::path::Path,
    faults: FaultInjection,
) -> (Platter, Arc<Pool>, Arc<Pool>) {
    let pool = Arc::new(Pool::open(dir.join("pool"), PoolOptions::default()).unwrap());
    let pool2 = Arc::new(Pool::open(dir.join("pool2"), PoolOptions::default()).unwrap());
    let scratch = dir.join("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    let config = ServiceConfig {
        faults,
        scratch_dir: Some(scratch),
        backup_dir: Some(dir.join("backups")),
        ..Default::default()
    };
    let registry = BackendRegistry::new(vec![
        BackendPool {
            name: "pool".into(),
            volume_backend_names: vec!["pool".into()],
            backend: pool.clone(),
        },
        BackendPool {
            name: "pool2".into(),
            volume_backend_names: vec!["pool2".into()],
            backend: pool2.clone(),
        },
    ])
    .unwrap();
    let platter = Platter::with_pools(store, Arc::new(registry), config);
    // Guests "run" as marker files: the driver for hosts managed elsewhere.
    let guests = platter_compute::NoHypervisor::new(&dir.join("guests")).unwrap();
    platter.set_compute(Arc::new(guests));
    (platter, pool, pool2)
}

impl World {
    pub async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).await.unwrap();
        let (platter, pool, pool2) = open(store, dir.path(), FaultInjection::default());
        let ctx = crate::common::bootstrap_admin(&platter).await;
        World {
            dir,
            ctx,
            platter: Some(platter),
            pool: Some(pool),
            pool2: Some(pool2),
        }
    }

    pub fn p(&self) -> &Platter {
        self.platter.as_ref().unwrap()
    }

    pub fn pool(&self) -> &Pool {
        self.pool.as_ref().unwrap()
    }

    pub fn pool2(&self) -> &Pool {
        self.pool2.as_ref().unwrap()
    }

    /// Drops the service and waits until nothing holds the pool (its jobs
    /// ended), as a process exit would; the pool's lock is released.
    pub async fn close(&mut self) {
        self.platter = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        for pool in [self.pool.take(), self.pool2.take()].into_iter().flatten() {
            while Arc::strong_count(&pool) > 1 {
                assert!(Instant::now() < deadline, "the pool is still held");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// A fresh service over the same directories, with `faults`.
    pub async fn reopen(&mut self, faults: FaultInjection) {
        self.close().await;
        let store = Store::open(&self.dir.path().join("db")).await.unwrap();
        let (platter, pool, pool2) = open(store, self.dir.path(), faults);
        self.platter = Some(platter);
        self.pool = Some(pool);
        self.pool2 = Some(pool2);
    }

    pub async fn job(&self, id: &JobId) -> Job {
        self.p().store().job_get(id).await.unwrap().unwrap()
    }

    pub async fn wait_job(&self, id: &JobId) -> Job {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let job = self.job(id).await;
            // Terminal in the store, and its run returned (cleanup after
            // the commit included).
            if job.status.is_terminal() && self.p().jobs_active() == 0 {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} never ended: {job:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for a job stopped by an injected crash before step `step`.
    pub async fn wait_stopped(&self, id: &JobId, step: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let job = self.job(id).await;
            assert!(!job.status.is_terminal(), "job ran past the crash: {job:?}");
            if job.status == JobStatus::Running && job.step == step as i64 {
                return;
            }
            assert!(Instant::now() < deadline, "job {id} never stopped: {job:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until no job is unfinished (jobs a job started end too).
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self
            .p()
            .store()
            .job_list_unfinished()
            .await
            .unwrap()
            .is_empty()
        {
            assert!(Instant::now() < deadline, "jobs never settled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn usage(&self) -> Vec<QuotaUsage> {
        let view = self
            .p()
            .quota_show(&self.ctx, &self.ctx.project_id)
            .await
            .unwrap();
        view.lines
    }

    async fn new_volume(&self, req: VolumeCreate) -> (VolumeId, JobId) {
        let out = self
            .p()
            .volume_create_many(&self.ctx, req, 1, None, CreateRules::CINDER)
            .await
            .unwrap();
        (out.volumes[0].id.clone(), out.job_id)
    }

    fn write(&self, volume: &VolumeId, seed: u8, offset: u64) {
        let io = self.pool().open_volume(volume.as_str()).unwrap();
        io.write_at(&pattern(seed, MIB as usize), offset).unwrap();
        io.flush().unwrap();
    }
}

/// Boots a server (no hypervisor) from a new blank 1 GiB root volume,
/// deleted with it, with `src` attached too if asked.
async fn boot(w: &World, src: &VolumeId, with_src: bool) -> (ServerId, JobId) {
    let mut block_devices = vec![BlockDevice {
        source: DiskSource::Blank,
        boot_index: Some(0),
        size_gib: Some(1),
        volume_type: None,
        delete_on_termination: true,
        multiattach: false,
    }];
    if with_src {
        block_devices.push(BlockDevice {
            source: DiskSource::Volume(src.clone()),
            boot_index: None,
            size_gib: None,
            volume_type: None,
            delete_on_termination: false,
            multiattach: false,
        });
    }
    let req = ServerCreate {
        name: "s".into(),
        description: None,
        flavor_ref: "1".into(),
        image_ref: None,
        block_devices,
        availability_zone: None,
        metadata: Default::default(),
        user_data: None,
        key_name: None,
        min_count: 1,
        max_count: 1,
        origin: ServerOrigin::Nova,
        network: serde_json::Value::Null,
        rules: CreateRules::CINDER,
    };
    let out = w
        .p()
        .server_create(&w.ctx, req, Action::ServerCreate)
        .await
        .unwrap();
    (out.servers[0].id.clone(), out.job_id)
}

/// Whether the (marker-file) guest of a server runs.
fn guest_runs(w: &World, id: &ServerId) -> bool {
    w.dir
        .path()
        .join("guests")
        .join(id.as_str())
        .join("running")
        .exists()
}

pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

/// The resources a scenario's job works on.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    /// A settled 1 GiB volume holding data.
    pub src: VolumeId,
    /// A settled snapshot of `src`, if the scenario needs one.
    pub snap: Option<SnapshotId>,
    /// What the job under test creates, if it creates something: a
    /// volume's or a snapshot's id.
    pub target: Option<String>,
    /// Quota usage before the job under test started.
    pub usage_before: Vec<QuotaUsage>,
    /// Device labels before the job under test started.
    pub devices_before: Vec<String>,
    /// Other volumes and snapshots (group members), with their labels.
    pub extra: Vec<(String, String)>,
    /// Groups, with their labels.
    pub groups: Vec<(GroupId, String)>,
    /// Group snapshots, with their labels.
    pub group_snapshots: Vec<(GroupSnapshotId, String)>,
    /// Images the job under test makes.
    pub images: Vec<ImageId>,
    /// Backups of the scenario.
    pub backups: Vec<BackupId>,
    /// Servers of the scenario, with their labels.
    pub servers: Vec<(ServerId, String)>,
}

impl Fixture {
    /// The id of the volume or snapshot labelled `label`.
    fn label_of(&self, label: &str) -> Option<String> {
        self.extra
            .iter()
            .find(|(_, l)| l == label)
            .map(|(id, _)| id.clone())
    }

    /// Records a server and labels its root volume `root`.
    async fn learn_server(&mut self, w: &World, id: &ServerId) {
        let s = w.p().store().server_get(id).await.unwrap().unwrap();
        let root = s.root_disk().unwrap().volume_id.to_string();
        self.extra.push((root, "root".into()));
        self.servers.push((id.clone(), "server".into()));
    }

    fn label(&self, id: &str) -> String {
        if id == self.src {
            "src".into()
        } else if self.snap.as_ref().is_some_and(|s| s == id) {
            "snap".into()
        } else if Some(id) == self.target.as_deref() {
            "new".into()
        } else if let Some((_, label)) = self.extra.iter().find(|(i, _)| i == id) {
            label.clone()
        } else {
            format!("unknown {id}")
        }
    }
}

impl Scenario {
    pub fn kind(self) -> JobKind {
        match self {
            Scenario::CreateBlank
            | Scenario::CreateFromSnapshot
            | Scenario::CreateFromVolume
            | Scenario::CreateReplicated
            | Scenario::CreateFromBackup => JobKind::VolumeCreate,
            Scenario::Delete => JobKind::VolumeDelete,
            Scenario::Extend => JobKind::VolumeExtend,
            Scenario::SnapshotCreate => JobKind::SnapshotCreate,
            Scenario::SnapshotDelete => JobKind::SnapshotDelete,
            Scenario::Retype => JobKind::VolumeRetype,
            Scenario::Qos => JobKind::VolumeQos,
            Scenario::Rollback => JobKind::VolumeRollback,
            Scenario::Migrate => JobKind::VolumeMigrate,
            Scenario::GroupDelete => JobKind::GroupDelete,
            Scenario::GroupFromGroupSnapshot | Scenario::GroupFromGroup => {
                JobKind::GroupCreateFromSrc
            }
            Scenario::GroupSnapshotCreate => JobKind::GroupSnapshotCreate,
            Scenario::GroupSnapshotDelete => JobKind::GroupSnapshotDelete,
            Scenario::ManageVolume => JobKind::VolumeManage,
            Scenario::ManageSnapshot => JobKind::SnapshotManage,
            Scenario::ReenableReplica => JobKind::VolumeReenableReplica,
            Scenario::UploadImage => JobKind::VolumeUploadImage,
            Scenario::BackupCreate => JobKind::BackupCreate,
            Scenario::BackupDelete => JobKind::BackupDelete,
            Scenario::BackupRestore => JobKind::BackupRestore,
            Scenario::ServerBoot => JobKind::ServerCreate,
            Scenario::ServerDelete => JobKind::ServerDelete,
            Scenario::ServerAttach => JobKind::ServerAttachVolume,
            Scenario::ServerDetach => JobKind::ServerDetachVolume,
            Scenario::ServerStop | Scenario::ServerResize => JobKind::ServerPower,
        }
    }

    /// The server scenarios' fixture: an active server booted from a new
    /// 1 GiB root volume (deleted with it), `src` attached unless the job
    /// under test attaches it.
    fn has_server(self) -> bool {
        matches!(
            self,
            Scenario::ServerDelete
                | Scenario::ServerAttach
                | Scenario::ServerDetach
                | Scenario::ServerStop
                | Scenario::ServerResize
        )
    }

    /// The scenarios whose volumes are of the replicated type `REPL`.
    fn replicated(self) -> bool {
        matches!(self, Scenario::CreateReplicated | Scenario::ReenableReplica)
    }

    /// The scenarios whose fixture is a group of two volumes (`src`, `src2`).
    fn in_group(self) -> bool {
        matches!(
            self,
            Scenario::GroupDelete
                | Scenario::GroupFromGroupSnapshot
                | Scenario::GroupFromGroup
                | Scenario::GroupSnapshotCreate
                | Scenario::GroupSnapshotDelete
        )
    }

    fn needs_group_snapshot(self) -> bool {
        matches!(
            self,
            Scenario::GroupFromGroupSnapshot | Scenario::GroupSnapshotDelete
        )
    }

    fn needs_snapshot(self) -> bool {
        matches!(
            self,
            Scenario::CreateFromSnapshot
                | Scenario::Delete
                | Scenario::SnapshotDelete
                | Scenario::Rollback
                | Scenario::ManageSnapshot
        )
    }

    /// Builds the fixture with a fault-free service.
    pub async fn setup(self, w: &World) -> Fixture {
        let mut fx = Fixture::default();
        let mut group_id = None;
        if self.in_group() {
            let gt = w
                .p()
                .group_type_create(
                    &w.ctx,
                    GroupTypeFields {
                        name: Some("gt".into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let g = w
                .p()
                .group_create(
                    &w.ctx,
                    GroupCreate {
                        name: Some("g".into()),
                        group_type: gt.id.to_string(),
                        volume_types: vec!["SAS".into()],
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            fx.groups.push((g.id.clone(), "group".into()));
            group_id = Some(g.id);
        }
        if self.replicated() {
            let specs = [("replication_enabled".to_string(), "<is> True".to_string())];
            w.p()
                .volume_type_create(
                    &w.ctx,
                    TypeFields {
                        name: Some("REPL".into()),
                        extra_specs: Some(specs.into_iter().collect()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
        }
        let req = if self == Scenario::Qos {
            VolumeCreate {
                size: Some(1),
                volume_type: Some("GPSSD2".into()),
                iops: Some(3000),
                throughput: Some(125),
                ..Default::default()
            }
        } else if self == Scenario::ReenableReplica {
            VolumeCreate {
                size: Some(1),
                volume_type: Some("REPL".into()),
                ..Default::default()
            }
        } else {
            VolumeCreate {
                size: Some(1),
                group_id: group_id.clone(),
                ..Default::default()
            }
        };
        let (src, job) = w.new_volume(req.clone()).await;
        assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
        w.write(&src, 1, 0);
        w.write(&src, 2, GIB - MIB);
        if self == Scenario::ReenableReplica {
            let v = w.p().volume_promote_replica(&w.ctx, &src).await.unwrap();
            assert_eq!(v.pool, "pool2");
            // Bytes only the new primary has.
            let io = w.pool2().open_volume(src.as_str()).unwrap();
            io.write_at(&pattern(5, MIB as usize), MIB).unwrap();
            io.flush().unwrap();
        }
        fx.src = src.clone();
        if self.in_group() {
            let (src2, job) = w.new_volume(req).await;
            assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
            w.write(&src2, 4, 0);
            fx.extra.push((src2.to_string(), "src2".into()));
        }
        if let (true, Some(g)) = (self.needs_group_snapshot(), &group_id) {
            let (gs, job) = w
                .p()
                .group_snapshot_create(
                    &w.ctx,
                    GroupSnapshotCreate {
                        group_id: g.clone(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
            fx.group_snapshots.push((gs.id.clone(), "gsnap".into()));
            fx.learn_group_snapshot(w, gs.id.as_str()).await;
            // Newer bytes than the group snapshot's.
            w.write(&src, 3, 0);
        }
        if self.needs_snapshot() {
            let (snap, job) = w
                .p()
                .snapshot_create_job(
                    &w.ctx,
                    SnapshotCreate {
                        ..SnapshotCreate::new(src.clone())
                    },
                )
                .await
                .unwrap();
            assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
            fx.snap = Some(snap.id);
            // Newer bytes than the snapshot's.
            w.write(&src, 3, 0);
        }
        if matches!(
            self,
            Scenario::BackupDelete | Scenario::CreateFromBackup | Scenario::BackupRestore
        ) {
            let req = BackupCreate {
                volume_id: src.clone(),
                ..Default::default()
            };
            let (b, job) = w.p().backup_create(&w.ctx, req).await.unwrap();
            assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
            fx.extra
                .push((format!("bk-{}", b.id), "backup-snap".into()));
            fx.backups.push(b.id);
            // Newer bytes than the backup's.
            w.write(&src, 6, 0);
        }
        // What the manage scenarios take back: a device no row tracks.
        match self {
            Scenario::ManageVolume => w.p().volume_unmanage(&w.ctx, &src).await.unwrap(),
            Scenario::ManageSnapshot => {
                let snap = fx.snap.clone().unwrap();
                w.p().snapshot_unmanage(&w.ctx, &snap).await.unwrap()
            }
            _ => {}
        }
        if self.has_server() {
            let with_src = self != Scenario::ServerAttach;
            let (server, job) = boot(w, &fx.src, with_src).await;
            assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
            fx.learn_server(w, &server).await;
        }
        fx.usage_before = w.usage().await;
        fx.devices_before = devices(w, &fx).into_keys().collect();
        fx
    }

    /// Starts the job under test; returns its id.
    pub async fn start(self, w: &World, fx: &mut Fixture) -> JobId {
        let p = w.p();
        let ctx = &w.ctx;
        let snap = fx.snap.clone().unwrap_or_default();
        let group = fx.groups.first().map(|g| g.0.clone()).unwrap_or_default();
        let gsnap = fx
            .group_snapshots
            .first()
            .map(|g| g.0.clone())
            .unwrap_or_default();
        let (target, job) = match self {
            Scenario::CreateBlank => {
                let (id, job) = w
                    .new_volume(VolumeCreate {
                        size: Some(2),
                        ..Default::default()
                    })
                    .await;
                (Some(id.to_string()), job)
            }
            Scenario::CreateFromSnapshot => {
                let (id, job) = w
                    .new_volume(VolumeCreate {
                        size: Some(2),
                        snapshot_id: Some(snap),
                        ..Default::default()
                    })
                    .await;
                (Some(id.to_string()), job)
            }
            Scenario::CreateFromVolume => {
                let (id, job) = w
                    .new_volume(VolumeCreate {
                        source_volid: Some(fx.src.clone()),
                        ..Default::default()
                    })
                    .await;
                (Some(id.to_string()), job)
            }
            Scenario::CreateReplicated => {
                let (id, job) = w
                    .new_volume(VolumeCreate {
                        source_volid: Some(fx.src.clone()),
                        volume_type: Some("REPL".into()),
                        ..Default::default()
                    })
                    .await;
                (Some(id.to_string()), job)
            }
            Scenario::ReenableReplica => {
                (None, p.volume_reenable_replica(ctx, &fx.src).await.unwrap())
            }
            Scenario::BackupCreate => {
                let req = BackupCreate {
                    volume_id: fx.src.clone(),
                    ..Default::default()
                };
                let (b, job) = p.backup_create(ctx, req).await.unwrap();
                fx.extra
                    .push((format!("bk-{}", b.id), "backup-snap".into()));
                fx.backups.push(b.id);
                (None, job)
            }
            Scenario::BackupDelete => (
                None,
                p.backup_delete(ctx, &fx.backups[0], false).await.unwrap(),
            ),
            Scenario::CreateFromBackup => {
                let (id, job) = w
                    .new_volume(VolumeCreate {
                        backup_id: Some(fx.backups[0].clone()),
                        ..Default::default()
                    })
                    .await;
                (Some(id.to_string()), job)
            }
            Scenario::BackupRestore => {
                let r = p
                    .backup_restore(ctx, &fx.backups[0], Some(&fx.src), None)
                    .await
                    .unwrap();
                assert_eq!(r.volume_id, fx.src);
                (None, r.job_id)
            }
            Scenario::UploadImage => {
                let req = VolumeToImage {
                    force: false,
                    image_name: Some("up".into()),
                    disk_format: DiskFormat::Qcow2,
                    container_format: "bare".into(),
                    visibility: ImageVisibility::Private,
                    protected: false,
                };
                let (_, image, job) = p.volume_upload_image(ctx, &fx.src, req).await.unwrap();
                for (device, label) in [("img", "image-disk"), ("imgf", "image-file")] {
                    fx.extra
                        .push((format!("{device}-{}", image.id), label.to_string()));
                }
                fx.images.push(image.id.clone());
                (None, job)
            }
            Scenario::ServerBoot => {
                let (server, job) = boot(w, &fx.src, true).await;
                fx.learn_server(w, &server).await;
                (None, job)
            }
            Scenario::ServerDelete => {
                let server = fx.servers[0].0.clone();
                let job = p
                    .server_delete(ctx, &server, None, Action::ServerDelete, None)
                    .await
                    .unwrap();
                (None, job)
            }
            Scenario::ServerAttach => {
                let server = fx.servers[0].0.clone();
                let (_, job) = p
                    .server_attach_volume(ctx, &server, &fx.src, None, Action::ServerVolumeAttach)
                    .await
                    .unwrap();
                (None, job)
            }
            Scenario::ServerDetach => {
                let server = fx.servers[0].0.clone();
                let job = p
                    .server_detach_volume(ctx, &server, &fx.src, false, Action::ServerVolumeDetach)
                    .await
                    .unwrap();
                (None, job)
            }
            Scenario::ServerStop => {
                let server = fx.servers[0].0.clone();
                let job = p
                    .server_power(ctx, &server, PowerAction::Stop, Action::ServerStop, None)
                    .await
                    .unwrap();
                (None, job)
            }
            Scenario::ServerResize => {
                let server = fx.servers[0].0.clone();
                let job = p
                    .server_resize(ctx, &server, "2", false, Action::ServerResize)
                    .await
                    .unwrap();
                (None, job)
            }
            Scenario::Delete => (None, p.volume_delete(ctx, &fx.src, true).await.unwrap()),
            Scenario::Extend => (None, p.volume_extend(ctx, &fx.src, 2).await.unwrap()),
            Scenario::SnapshotCreate => {
                let (s, job) = p
                    .snapshot_create_job(
                        ctx,
                        SnapshotCreate {
                            ..SnapshotCreate::new(fx.src.clone())
                        },
                    )
                    .await
                    .unwrap();
                (Some(s.id.to_string()), job)
            }
            Scenario::SnapshotDelete => (None, p.snapshot_delete(ctx, &snap).await.unwrap()),
            Scenario::Retype => {
                let (job, _) = p
                    .volume_retype(ctx, &fx.src, "SSD", None, None, false)
                    .await
                    .unwrap();
                (None, job)
            }
            Scenario::Qos => (
                None,
                p.volume_modify_qos(ctx, &fx.src, Some(5000), Some(250))
                    .await
                    .unwrap(),
            ),
            Scenario::Rollback => (
                None,
                p.snapshot_rollback(ctx, &snap, &fx.src).await.unwrap(),
            ),
            Scenario::Migrate => (None, p.volume_migrate(ctx, &fx.src, "pool2").await.unwrap()),
            Scenario::GroupDelete => (
                None,
                p.group_delete(ctx, &group, true).await.unwrap().unwrap(),
            ),
            Scenario::GroupFromGroupSnapshot | Scenario::GroupFromGroup => {
                let req = if self == Scenario::GroupFromGroup {
                    GroupFromSource {
                        source_group_id: Some(group),
                        ..Default::default()
                    }
                } else {
                    GroupFromSource {
                        group_snapshot_id: Some(gsnap),
                        ..Default::default()
                    }
                };
                let (g, job) = p.group_create_from_src(ctx, req).await.unwrap();
                fx.groups.push((g.id.clone(), "newgroup".into()));
                let members = p
                    .store()
                    .volume_list(&VolumeQuery {
                        group_id: Some(g.id),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                for v in members {
                    let source = v
                        .snapshot_id
                        .map(|s| s.to_string())
                        .or(v.source_volid.map(|s| s.to_string()))
                        .unwrap_or_default();
                    let label = format!("from-{}", fx.label(&source));
                    fx.extra.push((v.id.to_string(), label));
                }
                (None, job)
            }
            Scenario::GroupSnapshotCreate => {
                let (gs, job) = p
                    .group_snapshot_create(
                        ctx,
                        GroupSnapshotCreate {
                            group_id: group,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                fx.group_snapshots.push((gs.id.clone(), "gsnap".into()));
                fx.learn_group_snapshot(w, gs.id.as_str()).await;
                (None, job)
            }
            Scenario::GroupSnapshotDelete => {
                (None, p.group_snapshot_delete(ctx, &gsnap).await.unwrap())
            }
            Scenario::ManageVolume => {
                let req = VolumeManage {
                    host: p.pools().default_pool().host(),
                    device_id: fx.src.to_string(),
                    name: Some("managed".into()),
                    ..Default::default()
                };
                let (v, job) = p.volume_manage(ctx, req).await.unwrap();
                (Some(v.id.to_string()), job)
            }
            Scenario::ManageSnapshot => {
                let req = SnapshotManage {
                    volume_id: fx.src.clone(),
                    device_id: snap.to_string(),
                    name: Some("managed".into()),
                    description: None,
                    metadata: Default::default(),
                };
                let (s, job) = p.snapshot_manage(ctx, req).await.unwrap();
                (Some(s.id.to_string()), job)
            }
        };
        fx.target = target;
        job
    }

    /// After a failed job: the resource is in the error (or rolled-back)
    /// status the API documents and no device of a failed create remains.
    /// Then the clean-up the API offers (delete, reset and delete); returns
    /// what quota usage and device labels must then be, given the normal
    /// run's outcome.
    pub async fn check_failed(
        self,
        w: &mut World,
        fx: &Fixture,
        normal: &Outcome,
    ) -> (Vec<QuotaUsage>, Vec<String>) {
        self.check_failed_status(w, fx).await;
        // The clean-up runs without the injected fault.
        w.reopen(FaultInjection::default()).await;
        self.clean_up_failed(w, fx, normal).await
    }

    async fn check_failed_status(self, w: &World, fx: &Fixture) {
        let p = w.p();
        let ctx = &w.ctx;
        let target = fx.target.clone().unwrap_or_default();
        let snap = fx.snap.clone().unwrap_or_else(|| SnapshotId::from(""));
        let volume = |id: VolumeId| async move { p.volume_get(ctx, &id).await.unwrap() };
        let snapshot = |id: SnapshotId| async move { p.snapshot_get(ctx, &id).await.unwrap() };
        match self {
            Scenario::CreateBlank
            | Scenario::CreateFromSnapshot
            | Scenario::CreateFromVolume
            | Scenario::CreateReplicated => {
                let v = volume(target.as_str().into()).await;
                assert_eq!(v.status, VolumeStatus::Error);
                assert!(
                    !w.pool().volume_exists(&target).unwrap(),
                    "undo left the device"
                );
                if self == Scenario::CreateReplicated {
                    assert_eq!(v.replication_status, ReplicationStatus::Error);
                    assert!(
                        !w.pool2().volume_exists(&target).unwrap(),
                        "undo left the replica"
                    );
                }
            }
            Scenario::BackupCreate => {
                let b = p.backup_get(ctx, &fx.backups[0]).await.unwrap();
                assert_eq!(b.status, BackupStatus::Error);
                assert_eq!(volume(fx.src.clone()).await.status, VolumeStatus::Available);
                let snap = format!("bk-{}", b.id);
                assert!(w.pool().open_snapshot(&snap).is_err(), "undo left {snap}");
                let repo =
                    platter_backup::Repository::open_dir(&w.dir.path().join("backups")).unwrap();
                assert!(
                    !repo.exists(b.id.as_str()).unwrap(),
                    "undo left the manifest"
                );
                assert_eq!(repo.usage().unwrap().0, 0, "undo left chunks");
            }
            Scenario::BackupDelete => {
                let b = p.backup_get(ctx, &fx.backups[0]).await.unwrap();
                assert_eq!(b.status, BackupStatus::ErrorDeleting);
            }
            Scenario::CreateFromBackup => {
                let v = volume(target.as_str().into()).await;
                assert_eq!(v.status, VolumeStatus::Error);
                assert!(
                    !w.pool().volume_exists(&target).unwrap(),
                    "undo left the device"
                );
                let b = p.backup_get(ctx, &fx.backups[0]).await.unwrap();
                assert_eq!(b.status, BackupStatus::Available, "the backup is freed");
            }
            Scenario::ServerBoot => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                assert_eq!(server.status(), "ERROR", "a failed Nova create: ERROR");
                assert!(server.fault.is_some());
                assert!(server.disks.is_empty(), "its disks are released");
                assert_eq!(volume(fx.src.clone()).await.status, VolumeStatus::Available);
                let root = fx.label_of("root").unwrap();
                assert!(
                    matches!(
                        p.volume_get(ctx, &root.as_str().into()).await,
                        Err(DomainError::NotFound { .. })
                    ),
                    "the volume the create made is gone"
                );
                assert!(
                    !w.pool().volume_exists(&root).unwrap(),
                    "undo left the device"
                );
                assert!(!guest_runs(w, &fx.servers[0].0));
            }
            Scenario::ServerDelete => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                assert_eq!(server.status(), "ERROR");
                assert_eq!(server.task_state, None);
            }
            Scenario::ServerAttach => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                assert_eq!(server.status(), "ACTIVE");
                assert!(server.disks.iter().all(|d| d.volume_id != fx.src));
                assert_eq!(volume(fx.src.clone()).await.status, VolumeStatus::Available);
            }
            Scenario::ServerDetach => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                assert_eq!(server.status(), "ACTIVE");
                let attached = server.disks.iter().any(|d| d.volume_id == fx.src);
                let want = if attached {
                    VolumeStatus::InUse
                } else {
                    VolumeStatus::Available
                };
                assert_eq!(
                    volume(fx.src.clone()).await.status,
                    want,
                    "the disk and the volume agree"
                );
            }
            Scenario::ServerStop => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                assert_eq!(server.task_state, None);
                let running = guest_runs(w, &server.id);
                assert_eq!(
                    server.status(),
                    if running { "ACTIVE" } else { "SHUTOFF" },
                    "the state is the guest's"
                );
            }
            Scenario::ServerResize => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                assert_eq!(server.task_state, None);
                assert_eq!(
                    server.flavor.id, "1",
                    "a failed resize keeps the old flavor"
                );
                assert_eq!(server.old_flavor, None);
                assert_eq!(server.status(), "ACTIVE");
                assert!(guest_runs(w, &server.id));
            }
            Scenario::BackupRestore => {
                let v = volume(fx.src.clone()).await;
                assert_eq!(v.status, VolumeStatus::ErrorRestoring);
                let b = p.backup_get(ctx, &fx.backups[0]).await.unwrap();
                assert_eq!(b.status, BackupStatus::Available, "the backup is freed");
            }
            Scenario::UploadImage => {
                let v = volume(fx.src.clone()).await;
                assert_eq!(v.status, VolumeStatus::Available);
                let image = p.image_get(ctx, &fx.images[0]).await.unwrap();
                assert_eq!(image.status, ImageStatus::Killed);
                for (device, _) in fx.extra.iter().filter(|(_, l)| l.starts_with("image-")) {
                    assert!(
                        w.pool().open_snapshot(device).is_err(),
                        "undo left {device}"
                    );
                    assert!(
                        !w.pool().volume_exists(device).unwrap(),
                        "undo left {device}"
                    );
                }
            }
            Scenario::ReenableReplica => {
                let v = volume(fx.src.clone()).await;
                assert_eq!(v.status, VolumeStatus::Available);
                assert_eq!(v.replication_status, ReplicationStatus::Error);
                assert_eq!(v.pool, "pool2", "the primary stays where it is");
                assert!(
                    !w.pool().volume_exists(fx.src.as_str()).unwrap(),
                    "undo deleted the half-made replica"
                );
            }
            Scenario::Delete => {
                assert_eq!(
                    volume(fx.src.clone()).await.status,
                    VolumeStatus::ErrorDeleting
                );
                assert_eq!(snapshot(snap).await.status, SnapshotStatus::ErrorDeleting);
            }
            Scenario::Extend => {
                let v = volume(fx.src.clone()).await;
                assert_eq!(v.status, VolumeStatus::ErrorExtending);
                assert_eq!(v.size, 1, "a failed extend keeps the old size");
            }
            Scenario::SnapshotCreate => {
                assert_eq!(
                    snapshot(target.as_str().into()).await.status,
                    SnapshotStatus::Error
                );
                let io = w.pool().open_snapshot(&target);
                assert!(io.is_err(), "undo left the snapshot's device");
            }
            Scenario::SnapshotDelete => {
                assert_eq!(snapshot(snap).await.status, SnapshotStatus::ErrorDeleting);
            }
            Scenario::Retype => {
                let v = volume(fx.src.clone()).await;
                assert_eq!(v.status, VolumeStatus::Available);
                assert_eq!(v.volume_type_name, "SAS", "a failed retype keeps the type");
            }
            Scenario::Qos => {
                let v = volume(fx.src.clone()).await;
                assert_eq!(v.status, VolumeStatus::Available);
                assert_eq!((v.iops, v.throughput), (Some(3000), Some(125)));
            }
            Scenario::Rollback => {
                assert_eq!(
                    volume(fx.src.clone()).await.status,
                    VolumeStatus::ErrorRollbacking
                );
                assert_eq!(snapshot(snap).await.status, SnapshotStatus::Available);
            }
            Scenario::Migrate => {
                let v = volume(fx.src.clone()).await;
                assert_eq!(v.status, VolumeStatus::Available);
                assert_eq!(
                    v.pool, "pool",
                    "a failed migration keeps the volume in place"
                );
                assert_eq!(
                    v.migration_status,
                    Some(platter_model::MigrationStatus::Error)
                );
                assert!(
                    !w.pool2().volume_exists(fx.src.as_str()).unwrap(),
                    "undo left the copy"
                );
            }
            Scenario::GroupDelete => {
                let g = p.group_get(ctx, &fx.groups[0].0).await.unwrap();
                assert_eq!(g.status, GroupStatus::ErrorDeleting);
                for id in [fx.src.clone(), VolumeId::from(fx.extra[0].0.as_str())] {
                    assert_eq!(volume(id).await.status, VolumeStatus::ErrorDeleting);
                }
            }
            Scenario::GroupFromGroupSnapshot | Scenario::GroupFromGroup => {
                let g = p.group_get(ctx, &fx.groups[1].0).await.unwrap();
                assert_eq!(g.status, GroupStatus::Error);
                for (id, label) in fx.extra.iter().filter(|(_, l)| l.starts_with("from-")) {
                    assert_eq!(
                        volume(VolumeId::from(id.as_str())).await.status,
                        VolumeStatus::Error,
                        "{label}"
                    );
                    assert!(!w.pool().volume_exists(id).unwrap(), "undo left {label}");
                }
            }
            Scenario::GroupSnapshotCreate => {
                let gs = p
                    .group_snapshot_get(ctx, &fx.group_snapshots[0].0)
                    .await
                    .unwrap();
                assert_eq!(gs.status, GroupSnapshotStatus::Error);
                for (id, label) in fx.extra.iter().filter(|(_, l)| l.starts_with("gs-")) {
                    assert_eq!(
                        snapshot(SnapshotId::from(id.as_str())).await.status,
                        SnapshotStatus::Error
                    );
                    assert!(w.pool().open_snapshot(id).is_err(), "undo left {label}");
                }
            }
            Scenario::GroupSnapshotDelete => {
                let gs = p
                    .group_snapshot_get(ctx, &fx.group_snapshots[0].0)
                    .await
                    .unwrap();
                assert_eq!(gs.status, GroupSnapshotStatus::ErrorDeleting);
                for (id, _) in fx.extra.iter().filter(|(_, l)| l.starts_with("gs-")) {
                    assert_eq!(
                        snapshot(SnapshotId::from(id.as_str())).await.status,
                        SnapshotStatus::ErrorDeleting
                    );
                }
            }
            Scenario::ManageVolume => {
                assert_eq!(
                    volume(target.as_str().into()).await.status,
                    VolumeStatus::Error
                );
                assert!(
                    w.pool().volume_exists(fx.src.as_str()).unwrap(),
                    "undo gave the device its old name back"
                );
                assert!(!w.pool().volume_exists(&target).unwrap());
            }
            Scenario::ManageSnapshot => {
                assert_eq!(
                    snapshot(target.as_str().into()).await.status,
                    SnapshotStatus::Error
                );
                assert!(w.pool().open_snapshot(snap.as_str()).is_ok());
                assert!(w.pool().open_snapshot(&target).is_err());
            }
        }
    }

    async fn clean_up_failed(
        self,
        w: &World,
        fx: &Fixture,
        normal: &Outcome,
    ) -> (Vec<QuotaUsage>, Vec<String>) {
        let p = w.p();
        let ctx = &w.ctx;
        let target = fx.target.clone().unwrap_or_default();
        let snap = fx.snap.clone().unwrap_or_else(|| SnapshotId::from(""));
        let before = (fx.usage_before.clone(), fx.devices_before.clone());
        let after_normal = (
            normal.usage.clone(),
            normal.devices.keys().cloned().collect(),
        );
        match self {
            Scenario::CreateBlank
            | Scenario::CreateFromSnapshot
            | Scenario::CreateFromVolume
            | Scenario::CreateReplicated
            | Scenario::CreateFromBackup => {
                let job = p
                    .volume_delete(ctx, &target.as_str().into(), false)
                    .await
                    .unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                before
            }
            Scenario::Delete => {
                // An admin resets and deletes again.
                p.volume_reset_status(ctx, &fx.src, VolumeStatus::Error)
                    .await
                    .unwrap();
                p.snapshot_reset_status(ctx, &snap, SnapshotStatus::Error)
                    .await
                    .unwrap();
                let job = p.volume_delete(ctx, &fx.src, true).await.unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
            Scenario::SnapshotCreate | Scenario::ManageSnapshot => {
                let job = p
                    .snapshot_delete(ctx, &target.as_str().into())
                    .await
                    .unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                before
            }
            // Deleting the failed volume leaves the device it did not adopt.
            Scenario::ManageVolume => {
                let job = p
                    .volume_delete(ctx, &target.as_str().into(), false)
                    .await
                    .unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                before
            }
            Scenario::SnapshotDelete => {
                p.snapshot_reset_status(ctx, &snap, SnapshotStatus::Error)
                    .await
                    .unwrap();
                let job = p.snapshot_delete(ctx, &snap).await.unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
            Scenario::Extend
            | Scenario::Retype
            | Scenario::Qos
            | Scenario::Rollback
            | Scenario::Migrate => before,
            // The failed server is deleted (its volume already went).
            Scenario::ServerBoot => {
                let job = p
                    .server_delete(ctx, &fx.servers[0].0, None, Action::ServerDelete, None)
                    .await
                    .unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                before
            }
            // Deleting again (from ERROR) finishes it.
            Scenario::ServerDelete => {
                let job = p
                    .server_delete(ctx, &fx.servers[0].0, None, Action::ServerDelete, None)
                    .await
                    .unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                w.settle().await;
                after_normal
            }
            Scenario::ServerAttach => before,
            Scenario::ServerDetach => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                if server.disks.iter().any(|d| d.volume_id == fx.src) {
                    let job = p
                        .server_detach_volume(
                            ctx,
                            &server.id,
                            &fx.src,
                            false,
                            Action::ServerVolumeDetach,
                        )
                        .await
                        .unwrap();
                    assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                }
                after_normal
            }
            Scenario::ServerStop => {
                let server = p.server_get(ctx, &fx.servers[0].0).await.unwrap();
                if server.status() == "ACTIVE" {
                    let job = p
                        .server_power(ctx, &server.id, PowerAction::Stop, Action::ServerStop, None)
                        .await
                        .unwrap();
                    assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                }
                after_normal
            }
            Scenario::ServerResize => {
                let job = p
                    .server_resize(ctx, &fx.servers[0].0, "2", false, Action::ServerResize)
                    .await
                    .unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
            // The failed backup is deleted.
            Scenario::BackupCreate => {
                let job = p.backup_delete(ctx, &fx.backups[0], false).await.unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                before
            }
            // An admin resets the volume and restores again.
            Scenario::BackupRestore => {
                p.volume_reset_status(ctx, &fx.src, VolumeStatus::Available)
                    .await
                    .unwrap();
                let job = p
                    .backup_restore(ctx, &fx.backups[0], Some(&fx.src), None)
                    .await
                    .unwrap()
                    .job_id;
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
            // Deleting again (forced, from error_deleting) finishes it.
            Scenario::BackupDelete => {
                let job = p.backup_delete(ctx, &fx.backups[0], true).await.unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
            // The killed image is deleted.
            Scenario::UploadImage => {
                p.image_delete(ctx, &fx.images[0]).await.unwrap();
                before
            }
            // Re-enabling again makes the replica.
            Scenario::ReenableReplica => {
                let job = p.volume_reenable_replica(ctx, &fx.src).await.unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
            Scenario::GroupDelete => {
                // Deleting again finishes the job.
                let job = p.group_delete(ctx, &fx.groups[0].0, true).await.unwrap();
                let job = job.expect("the group still has volumes");
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
            Scenario::GroupFromGroupSnapshot | Scenario::GroupFromGroup => {
                let job = p.group_delete(ctx, &fx.groups[1].0, true).await.unwrap();
                let job = job.expect("the failed group keeps its volumes");
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                before
            }
            Scenario::GroupSnapshotCreate => {
                let job = p
                    .group_snapshot_delete(ctx, &fx.group_snapshots[0].0)
                    .await
                    .unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                before
            }
            Scenario::GroupSnapshotDelete => {
                let gs = &fx.group_snapshots[0].0;
                p.group_snapshot_reset_status(ctx, gs, GroupSnapshotStatus::Error)
                    .await
                    .unwrap();
                let job = p.group_snapshot_delete(ctx, gs).await.unwrap();
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
                after_normal
            }
        }
    }
}

impl Fixture {
    /// Labels the snapshots of a group snapshot by their volumes' labels.
    async fn learn_group_snapshot(&mut self, w: &World, id: &str) {
        let snaps = w
            .p()
            .store()
            .snapshot_list(&SnapshotQuery {
                group_snapshot_id: Some(id.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        for s in snaps {
            let label = format!("gs-{}", self.label(s.volume_id.as_str()));
            self.extra.push((s.id.to_string(), label));
        }
    }
}

/// A volume's status, size, type, provisioned IOPS, throughput, pool,
/// replication status and replica's pool.
pub type VolumeRow = (
    VolumeStatus,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    String,
    ReplicationStatus,
    Option<String>,
);

/// Everything a job's end leaves, with ids replaced by their roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub job: JobStatus,
    /// Label -> (status, size, type, iops, throughput), or gone.
    pub volumes: BTreeMap<String, Option<VolumeRow>>,
    /// Label -> (status, size), or gone.
    pub snapshots: BTreeMap<String, Option<(SnapshotStatus, i64)>>,
    /// Device label -> (size, hash of its first and last MiB of each GiB).
    pub devices: BTreeMap<String, (u64, u64)>,
    pub usage: Vec<QuotaUsage>,
    /// Label -> status, or gone.
    pub groups: BTreeMap<String, Option<GroupStatus>>,
    /// Label -> status, or gone.
    pub group_snapshots: BTreeMap<String, Option<GroupSnapshotStatus>>,
    /// Index -> status, or gone.
    pub backups: BTreeMap<usize, Option<BackupStatus>>,
    /// Label -> (status, task, disks as (device, volume label), guest
    /// running), or gone.
    pub servers: BTreeMap<String, Option<ServerOutcome>>,
}

/// Status, task, flavor (and the old one), disks as (device, volume
/// label), whether the guest runs.
pub type ServerOutcome = (
    String,
    Option<String>,
    (String, Option<String>),
    Vec<(String, String)>,
    bool,
);

fn devices(w: &World, fx: &Fixture) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    for (pool, place) in [(w.pool(), ""), (w.pool2(), "pool2/")] {
        pool_devices(pool, place, fx, &mut out);
    }
    out
}

/// The devices of one pool, labelled with `place` (the pool) and role.
fn pool_devices(pool: &Pool, place: &str, fx: &Fixture, out: &mut BTreeMap<String, (u64, u64)>) {
    for name in pool.device_names() {
        let (prefix, id) = name.split_at(2);
        let io = match prefix {
            "v:" => pool.open_volume(id).unwrap(),
            _ => pool.open_snapshot(id).unwrap(),
        };
        let size = io.size().unwrap();
        let mut h = DefaultHasher::new();
        let mut buf = vec![0u8; MIB as usize];
        let mut gib = 0;
        while gib < size {
            for offset in [gib, gib + GIB - MIB] {
                if offset + MIB <= size {
                    io.read_at(&mut buf, offset).unwrap();
                    buf.hash(&mut h);
                }
            }
            gib += GIB;
        }
        out.insert(
            format!("{place}{prefix}{}", fx.label(id)),
            (size, h.finish()),
        );
    }
}

pub async fn outcome(w: &World, fx: &Fixture, job: &JobId) -> Outcome {
    let p = w.p();
    let job = w.job(job).await;
    // Jobs a job started (a server delete's volume deletes) end first.
    w.settle().await;
    let mut volumes = BTreeMap::new();
    let mut snapshots = BTreeMap::new();
    let ids = [
        Some(fx.src.to_string()),
        fx.snap.as_ref().map(SnapshotId::to_string),
        fx.target.clone(),
    ];
    let extra = fx.extra.iter().map(|(id, _)| Some(id.clone()));
    for id in ids.into_iter().chain(extra).flatten() {
        match p.volume_get(&w.ctx, &id.as_str().into()).await {
            Ok(v) => {
                volumes.insert(
                    fx.label(&id),
                    Some((
                        v.status,
                        v.size,
                        v.volume_type_name,
                        v.iops,
                        v.throughput,
                        v.pool,
                        v.replication_status,
                        v.replica_pool,
                    )),
                );
            }
            Err(DomainError::NotFound { .. }) => {
                match p.snapshot_get(&w.ctx, &id.as_str().into()).await {
                    Ok(s) => {
                        snapshots.insert(fx.label(&id), Some((s.status, s.size)));
                    }
                    Err(DomainError::NotFound { .. }) => {
                        // Gone: recorded under both, compared alike.
                        volumes.insert(fx.label(&id), None);
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    let mut groups = BTreeMap::new();
    for (id, label) in &fx.groups {
        let status = match p.group_get(&w.ctx, id).await {
            Ok(g) => Some(g.status),
            Err(DomainError::NotFound { .. }) => None,
            Err(e) => panic!("{e}"),
        };
        groups.insert(label.clone(), status);
    }
    let mut group_snapshots = BTreeMap::new();
    for (id, label) in &fx.group_snapshots {
        let status = match p.group_snapshot_get(&w.ctx, id).await {
            Ok(gs) => Some(gs.status),
            Err(DomainError::NotFound { .. }) => None,
            Err(e) => panic!("{e}"),
        };
        group_snapshots.insert(label.clone(), status);
    }
    let mut backups = BTreeMap::new();
    for (i, id) in fx.backups.iter().enumerate() {
        let status = match p.store().backup_get(id).await.unwrap() {
            Some(b) => Some(b.status),
            None => None,
        };
        backups.insert(i, status);
    }
    let mut servers = BTreeMap::new();
    for (id, label) in &fx.servers {
        let state = p.store().server_get(id).await.unwrap().map(|s| {
            let disks = s
                .disks
                .iter()
                .map(|d| (d.device.clone(), fx.label(d.volume_id.as_str())))
                .collect();
            (
                s.status().to_string(),
                s.task_state.map(|t| t.to_string()),
                (s.flavor.id.clone(), s.old_flavor.map(|f| f.id)),
                disks,
                guest_runs(w, id),
            )
        });
        servers.insert(label.clone(), state);
    }
    Outcome {
        job: job.status,
        servers,
        volumes,
        snapshots,
        devices: devices(w, fx),
        usage: w.usage().await,
        groups,
        group_snapshots,
        backups,
    }
}
