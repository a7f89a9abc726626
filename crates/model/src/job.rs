use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{
    BackupId, DiskFormat, ImageId, JobId, OrderId, ProjectId, SnapshotId, Timestamp, VolumeId,
    VolumeSource, VolumeStatus, VolumeTypeId,
};

/// What a durable job does. Each kind is a short list of idempotent steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    VolumeCreate,
    VolumeDelete,
    VolumeExtend,
    SnapshotCreate,
    SnapshotDelete,
    VolumeRetype,
    VolumeQos,
    VolumeRollback,
    VolumeMigrate,
    GroupDelete,
    GroupCreateFromSrc,
    GroupSnapshotCreate,
    GroupSnapshotDelete,
    /// Takes an existing volume device (unmanaged, or never Platter's)
    /// under a new volume id (Cinder's manage existing).
    VolumeManage,
    /// Takes an existing snapshot device under a new snapshot id.
    SnapshotManage,
    /// Makes a replicated volume's replica again from its primary
    /// (Cinder's `os-reenable-replica`).
    VolumeReenableReplica,
    /// Copies a volume's data into a new image (Cinder's
    /// `os-volume_upload_image`).
    VolumeUploadImage,
    /// Backs a volume up into the backup repository.
    BackupCreate,
    /// Deletes a backup from the repository.
    BackupDelete,
    /// Writes a backup onto an existing volume.
    BackupRestore,
    /// Builds a server: its new volumes, their attachments, the guest.
    ServerCreate,
    /// Ends a server's guest, detaches (and maybe deletes) its volumes.
    ServerDelete,
    /// Attaches a volume to a server (hot-plugged into a running guest).
    ServerAttachVolume,
    /// Detaches a volume from a server (unplugged from a running guest).
    ServerDetachVolume,
    /// Starts, stops or reboots a server's guest.
    ServerPower,
}

impl JobKind {
    /// Every kind. The saga tests iterate it, so a new kind is covered (or
    /// fails to compile in their exhaustive scenario match) automatically.
    pub const ALL: [JobKind; 25] = [
        JobKind::VolumeCreate,
        JobKind::VolumeDelete,
        JobKind::VolumeExtend,
        JobKind::SnapshotCreate,
        JobKind::SnapshotDelete,
        JobKind::VolumeRetype,
        JobKind::VolumeQos,
        JobKind::VolumeRollback,
        JobKind::VolumeMigrate,
        JobKind::GroupDelete,
        JobKind::GroupCreateFromSrc,
        JobKind::GroupSnapshotCreate,
        JobKind::GroupSnapshotDelete,
        JobKind::VolumeManage,
        JobKind::SnapshotManage,
        JobKind::VolumeReenableReplica,
        JobKind::VolumeUploadImage,
        JobKind::BackupCreate,
        JobKind::BackupDelete,
        JobKind::BackupRestore,
        JobKind::ServerCreate,
        JobKind::ServerDelete,
        JobKind::ServerAttachVolume,
        JobKind::ServerDetachVolume,
        JobKind::ServerPower,
    ];

    /// The steps of a job of this kind, in order. The runner persists the
    /// index of the next step in `jobs.step` after each one; the last step
    /// ends the job and its resource's status in one transaction.
    pub fn steps(self) -> &'static [JobStep] {
        use JobStep::*;
        match self {
            JobKind::VolumeCreate => &[AllocateVolume, SyncReplica, MarkVolumeCreated],
            JobKind::VolumeDelete => &[DeleteVolumeSnapshots, DeleteVolumeDevice, RemoveVolumeRows],
            JobKind::VolumeExtend => &[GrowVolumeDevice, RecordVolumeSize],
            JobKind::SnapshotCreate => &[CreateSnapshotDevice, MarkSnapshotCreated],
            JobKind::SnapshotDelete => &[DeleteSnapshotDevice, RemoveSnapshotRow],
            JobKind::VolumeRetype => &[RecordVolumeType],
            JobKind::VolumeQos => &[RecordVolumeQos],
            JobKind::VolumeRollback => &[RollbackVolumeDevice, MarkVolumeRolledBack],
            JobKind::VolumeMigrate => &[CopyVolumeToPool, RecordVolumePool],
            JobKind::GroupDelete => &[DeleteGroupVolumeDevices, RemoveGroupRows],
            JobKind::GroupCreateFromSrc => &[CloneGroupVolumes, MarkGroupCreated],
            JobKind::GroupSnapshotCreate => &[CreateGroupSnapshotDevices, MarkGroupSnapshotCreated],
            JobKind::GroupSnapshotDelete => &[DeleteGroupSnapshotDevices, RemoveGroupSnapshotRows],
            JobKind::VolumeManage => &[AdoptVolumeDevice, MarkVolumeManaged],
            JobKind::SnapshotManage => &[AdoptSnapshotDevice, MarkSnapshotManaged],
            JobKind::VolumeReenableReplica => &[SyncReplica, MarkReplicaSynced],
            JobKind::VolumeUploadImage => &[CopyVolumeToImage, MarkVolumeUploaded],
            JobKind::BackupCreate => &[SnapshotForBackup, WriteBackup, MarkBackupCreated],
            JobKind::BackupDelete => &[DeleteBackupData, RemoveBackupRow],
            JobKind::BackupRestore => &[RestoreBackupData, MarkBackupRestored],
            JobKind::ServerCreate => &[
                CreateServerVolumes,
                ConnectServerVolumes,
                SpawnServer,
                MarkServerCreated,
            ],
            JobKind::ServerDelete => &[
                StopServerGuest,
                DisconnectServerVolumes,
                DeleteServerVolumes,
                RemoveServerRows,
            ],
            JobKind::ServerAttachVolume => &[
                ConnectServerVolume,
                PlugServerDisk,
                MarkServerVolumeAttached,
            ],
            JobKind::ServerDetachVolume => &[
                UnplugServerDisk,
                DisconnectServerVolume,
                MarkServerVolumeDetached,
            ],
            JobKind::ServerPower => &[PowerServer, MarkServerPowered],
        }
    }

    /// Whether the job's resource is a snapshot (else a volume).
    pub fn on_snapshot(self) -> bool {
        matches!(
            self,
            JobKind::SnapshotCreate | JobKind::SnapshotDelete | JobKind::SnapshotManage
        )
    }

    /// Whether the job's resource is a server.
    pub fn on_server(self) -> bool {
        matches!(
            self,
            JobKind::ServerCreate
                | JobKind::ServerDelete
                | JobKind::ServerAttachVolume
                | JobKind::ServerDetachVolume
                | JobKind::ServerPower
        )
    }

    /// The domain name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::VolumeCreate => "volume_create",
            JobKind::VolumeDelete => "volume_delete",
            JobKind::VolumeExtend => "volume_extend",
            JobKind::SnapshotCreate => "snapshot_create",
            JobKind::SnapshotDelete => "snapshot_delete",
            JobKind::VolumeRetype => "volume_retype",
            JobKind::VolumeQos => "volume_qos",
            JobKind::VolumeRollback => "volume_rollback",
            JobKind::VolumeMigrate => "volume_migrate",
            JobKind::GroupDelete => "group_delete",
            JobKind::GroupCreateFromSrc => "group_create_from_src",
            JobKind::GroupSnapshotCreate => "group_snapshot_create",
            JobKind::GroupSnapshotDelete => "group_snapshot_delete",
            JobKind::VolumeManage => "volume_manage",
            JobKind::SnapshotManage => "snapshot_manage",
            JobKind::VolumeReenableReplica => "volume_reenable_replica",
            JobKind::VolumeUploadImage => "volume_upload_image",
            JobKind::BackupCreate => "backup_create",
            JobKind::BackupDelete => "backup_delete",
            JobKind::BackupRestore => "backup_restore",
            JobKind::ServerCreate => "server_create",
            JobKind::ServerDelete => "server_delete",
            JobKind::ServerAttachVolume => "server_attach_volume",
            JobKind::ServerDetachVolume => "server_detach_volume",
            JobKind::ServerPower => "server_power",
        }
    }
}

impl FromStr for JobKind {
    type Err = String;
    /// The domain name; EVS's job types (`createVolume`, ...) are accepted
    /// too, for the test hook that names kinds to fail.
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(k) = JobKind::ALL.iter().find(|k| k.as_str() == s) {
            return Ok(*k);
        }
        Ok(match s {
            "createVolume" => JobKind::VolumeCreate,
            "deleteVolume" => JobKind::VolumeDelete,
            "extendVolume" => JobKind::VolumeExtend,
            "createSnapshot" => JobKind::SnapshotCreate,
            "deleteSnapshot" => JobKind::SnapshotDelete,
            "retypeVolume" => JobKind::VolumeRetype,
            "modifyVolumeQos" => JobKind::VolumeQos,
            "rollbackVolume" => JobKind::VolumeRollback,
            "migrateVolume" => JobKind::VolumeMigrate,
            "manageVolume" => JobKind::VolumeManage,
            "manageSnapshot" => JobKind::SnapshotManage,
            "reenableVolumeReplica" => JobKind::VolumeReenableReplica,
            "uploadVolumeImage" => JobKind::VolumeUploadImage,
            "createBackup" => JobKind::BackupCreate,
            "deleteBackup" => JobKind::BackupDelete,
            "restoreBackup" => JobKind::BackupRestore,
            "createSingleServer" => JobKind::ServerCreate,
            "deleteSingleServer" => JobKind::ServerDelete,
            "attachVolume" => JobKind::ServerAttachVolume,
            "detachVolume" => JobKind::ServerDetachVolume,
            other => return Err(format!("unknown job kind '{other}'")),
        })
    }
}

/// One named step of a job. Every step is idempotent (running it twice
/// leaves what running it once does) and has an undo (possibly nothing) that
/// is idempotent too and safe when the step never ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStep {
    /// Creates the volume's device: empty, or a clone of a snapshot or a
    /// volume (the backend copies, or shares, the data in the same call).
    /// Undo: delete the device.
    AllocateVolume,
    /// Makes the volume's replica, if its type replicates it: a copy of
    /// the primary device in the replica's pool (an empty device for a
    /// blank volume), verified. A volume without a replica: nothing.
    /// Undo: delete the replica's device.
    SyncReplica,
    /// `creating` -> `available` and the job's end. On failure: `error`.
    MarkVolumeCreated,
    /// Deletes the devices of the volume's snapshots. Undo: none (gone).
    DeleteVolumeSnapshots,
    /// Deletes the volume's device. Undo: none (gone).
    DeleteVolumeDevice,
    /// Removes the volume's and its snapshots' rows and ends the job. On
    /// failure: `error_deleting`.
    RemoveVolumeRows,
    /// Grows the device. Undo: none (devices do not shrink; the row keeps
    /// the old size and a later extend grows past it).
    GrowVolumeDevice,
    /// The new size, back to the status before the extend, and the job's
    /// end. On failure: `error_extending` with the old size.
    RecordVolumeSize,
    /// Creates the snapshot's device. Undo: delete it.
    CreateSnapshotDevice,
    /// `creating` -> `available` and the job's end. On failure: `error`.
    MarkSnapshotCreated,
    /// Deletes the snapshot's device. Undo: none (gone).
    DeleteSnapshotDevice,
    /// Removes the snapshot's row and ends the job. On failure:
    /// `error_deleting`.
    RemoveSnapshotRow,
    /// The new type and its QoS, back to the status before, the job's end
    /// (the data stays where it is). On failure: the old type, same status.
    RecordVolumeType,
    /// The new provisioned IOPS/throughput and the job's end.
    RecordVolumeQos,
    /// Makes the volume's data the snapshot's. Undo: none (overwritten; a
    /// rollback may be retried from `error_rollbacking`).
    RollbackVolumeDevice,
    /// `rollbacking` -> `available` (snapshot back to `available`) and the
    /// job's end. On failure: `error_rollbacking`.
    MarkVolumeRolledBack,
    /// Makes a device of the volume's size in the target pool, copies the
    /// volume's data into it (zeros stay holes) and verifies the copy.
    /// Undo: delete the target device.
    CopyVolumeToPool,
    /// The volume now lives in the target pool (with its new type, for a
    /// retype), `migration_status` success, back to the status before, and
    /// the job's end; then the source device is deleted. On failure:
    /// `migration_status` error, the source untouched.
    RecordVolumePool,
    /// Deletes the devices of a group's volumes. Undo: none (gone).
    DeleteGroupVolumeDevices,
    /// Removes the group's row and its volumes' rows, and ends the job. On
    /// failure: group and volumes `error_deleting`.
    RemoveGroupRows,
    /// Creates each member of a group created from a source: a clone of
    /// its snapshot (from a group snapshot) or of its volume (from a
    /// group). Undo: delete the members' devices.
    CloneGroupVolumes,
    /// Group and members `creating` -> `available`, and the job's end. On
    /// failure: `error`.
    MarkGroupCreated,
    /// Snapshots every member of the group in one backend call, at one
    /// point in time. Undo: delete the snapshots' devices.
    CreateGroupSnapshotDevices,
    /// Group snapshot and its snapshots `creating` -> `available`, and the
    /// job's end. On failure: `error`.
    MarkGroupSnapshotCreated,
    /// Deletes the devices of a group snapshot's snapshots. Undo: none.
    DeleteGroupSnapshotDevices,
    /// Removes the group snapshot's row and its snapshots' rows, and ends
    /// the job. On failure: `error_deleting`.
    RemoveGroupSnapshotRows,
    /// Renames the existing volume device to the new volume's id and grows
    /// it to the volume's whole GiB. Undo: rename it back (the device is
    /// again what it was before the manage).
    AdoptVolumeDevice,
    /// `creating` -> `available` and the job's end. On failure: `error`.
    MarkVolumeManaged,
    /// Renames the existing snapshot device to the new snapshot's id.
    /// Undo: rename it back.
    AdoptSnapshotDevice,
    /// `creating` -> `available` and the job's end. On failure: `error`.
    MarkSnapshotManaged,
    /// `replication_status` copying -> active, the volume back from
    /// `maintenance`, and the job's end. On failure: `replication_status`
    /// error.
    MarkReplicaSynced,
    /// Reads the volume into the image's devices (its disk as raw, and
    /// the data converted to the image's disk format), hashes the data and
    /// makes the image `active`. Undo: delete the image's devices; the
    /// image is `killed`.
    CopyVolumeToImage,
    /// `uploading` -> the status before, and the job's end.
    MarkVolumeUploaded,
    /// Takes the snapshot the backup reads (`bk-<backup id>`), kept as
    /// the base of the next incremental backup. Undo: delete it.
    SnapshotForBackup,
    /// Writes the snapshot's chunks and the manifest to the repository
    /// (only the chunks changed since the parent's snapshot, for an
    /// incremental backup). Undo: delete the manifest.
    WriteBackup,
    /// `creating` -> `available`, the volume back to its status, and the
    /// job's end. On failure: `error`.
    MarkBackupCreated,
    /// Deletes the manifest, the chunks no other backup names, and the
    /// backup's snapshot. Undo: none (gone).
    DeleteBackupData,
    /// Removes the backup's row and ends the job. On failure:
    /// `error_deleting`.
    RemoveBackupRow,
    /// Writes the backup's chunks onto the volume (each checked against
    /// its hash), and resyncs the volume's replica if it has one. Undo:
    /// nothing (the volume ends `error_restoring`).
    RestoreBackupData,
    /// The volume `restoring-backup` -> `available` with the backup's
    /// volume metadata, the backup `restoring` -> `available`, and the
    /// job's end.
    MarkBackupRestored,
    /// Makes the devices of the volumes the create makes (each from its
    /// source), and moves them to `reserved` by the server. Undo: release
    /// the server's attachments and delete those devices.
    CreateServerVolumes,
    /// Connects every disk's attachment (an NBD export each) and marks it
    /// attached to the server: the volumes are `in-use`. Undo: delete the
    /// attachments (exports withdrawn).
    ConnectServerVolumes,
    /// Starts the guest with its disks. Undo: end the guest.
    SpawnServer,
    /// `building` -> `active`, and the job's end. On failure: the volumes
    /// the create made are removed; a Nova server is `error` with a fault,
    /// an ECS server is rolled back (gone).
    MarkServerCreated,
    /// Ends the guest. Undo: none (a failed delete leaves it `error`).
    StopServerGuest,
    /// Deletes the server's attachments (exports withdrawn); its volumes
    /// are `available`. Undo: none.
    DisconnectServerVolumes,
    /// Deletes the volumes that go with the server (delete jobs of their
    /// own). Undo: none.
    DeleteServerVolumes,
    /// Removes the server's rows and ends the job. On failure: `error`.
    RemoveServerRows,
    /// Connects the new disk's attachment and marks it attached: the
    /// volume is `in-use`. Undo: delete the attachment.
    ConnectServerVolume,
    /// Hot-plugs the disk into the running guest (nothing for a stopped
    /// one). Undo: unplug it.
    PlugServerDisk,
    /// The disk is attached, and the job's end. On failure: the disk row
    /// goes.
    MarkServerVolumeAttached,
    /// Unplugs the disk from the running guest. Undo: none.
    UnplugServerDisk,
    /// Deletes the disk's attachment: the volume is `available`. Undo: none.
    DisconnectServerVolume,
    /// Removes the disk row and ends the job. On failure: the disk stays
    /// attached.
    MarkServerVolumeDetached,
    /// Starts, stops or restarts the guest. Undo: none.
    PowerServer,
    /// The new `vm_state` and power state, no task, and the job's end. On
    /// failure: the state as the guest is.
    MarkServerPowered,
}

impl JobStep {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStep::AllocateVolume => "AllocateVolume",
            JobStep::MarkVolumeCreated => "MarkVolumeCreated",
            JobStep::DeleteVolumeSnapshots => "DeleteVolumeSnapshots",
            JobStep::DeleteVolumeDevice => "DeleteVolumeDevice",
            JobStep::RemoveVolumeRows => "RemoveVolumeRows",
            JobStep::GrowVolumeDevice => "GrowVolumeDevice",
            JobStep::RecordVolumeSize => "RecordVolumeSize",
            JobStep::CreateSnapshotDevice => "CreateSnapshotDevice",
            JobStep::MarkSnapshotCreated => "MarkSnapshotCreated",
            JobStep::DeleteSnapshotDevice => "DeleteSnapshotDevice",
            JobStep::RemoveSnapshotRow => "RemoveSnapshotRow",
            JobStep::RecordVolumeType => "RecordVolumeType",
            JobStep::RecordVolumeQos => "RecordVolumeQos",
            JobStep::RollbackVolumeDevice => "RollbackVolumeDevice",
            JobStep::MarkVolumeRolledBack => "MarkVolumeRolledBack",
            JobStep::CopyVolumeToPool => "CopyVolumeToPool",
            JobStep::RecordVolumePool => "RecordVolumePool",
            JobStep::DeleteGroupVolumeDevices => "DeleteGroupVolumeDevices",
            JobStep::RemoveGroupRows => "RemoveGroupRows",
            JobStep::CloneGroupVolumes => "CloneGroupVolumes",
            JobStep::MarkGroupCreated => "MarkGroupCreated",
            JobStep::CreateGroupSnapshotDevices => "CreateGroupSnapshotDevices",
            JobStep::MarkGroupSnapshotCreated => "MarkGroupSnapshotCreated",
            JobStep::DeleteGroupSnapshotDevices => "DeleteGroupSnapshotDevices",
            JobStep::RemoveGroupSnapshotRows => "RemoveGroupSnapshotRows",
            JobStep::AdoptVolumeDevice => "AdoptVolumeDevice",
            JobStep::MarkVolumeManaged => "MarkVolumeManaged",
            JobStep::AdoptSnapshotDevice => "AdoptSnapshotDevice",
            JobStep::MarkSnapshotManaged => "MarkSnapshotManaged",
            JobStep::SyncReplica => "SyncReplica",
            JobStep::MarkReplicaSynced => "MarkReplicaSynced",
            JobStep::CopyVolumeToImage => "CopyVolumeToImage",
            JobStep::MarkVolumeUploaded => "MarkVolumeUploaded",
            JobStep::SnapshotForBackup => "SnapshotForBackup",
            JobStep::WriteBackup => "WriteBackup",
            JobStep::MarkBackupCreated => "MarkBackupCreated",
            JobStep::DeleteBackupData => "DeleteBackupData",
            JobStep::RemoveBackupRow => "RemoveBackupRow",
            JobStep::RestoreBackupData => "RestoreBackupData",
            JobStep::MarkBackupRestored => "MarkBackupRestored",
            JobStep::CreateServerVolumes => "CreateServerVolumes",
            JobStep::ConnectServerVolumes => "ConnectServerVolumes",
            JobStep::SpawnServer => "SpawnServer",
            JobStep::MarkServerCreated => "MarkServerCreated",
            JobStep::StopServerGuest => "StopServerGuest",
            JobStep::DisconnectServerVolumes => "DisconnectServerVolumes",
            JobStep::DeleteServerVolumes => "DeleteServerVolumes",
            JobStep::RemoveServerRows => "RemoveServerRows",
            JobStep::ConnectServerVolume => "ConnectServerVolume",
            JobStep::PlugServerDisk => "PlugServerDisk",
            JobStep::MarkServerVolumeAttached => "MarkServerVolumeAttached",
            JobStep::UnplugServerDisk => "UnplugServerDisk",
            JobStep::DisconnectServerVolume => "DisconnectServerVolume",
            JobStep::MarkServerVolumeDetached => "MarkServerVolumeDetached",
            JobStep::PowerServer => "PowerServer",
            JobStep::MarkServerPowered => "MarkServerPowered",
        }
    }
}

impl fmt::Display for JobStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Job statuses, named as EVS reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Init,
    Running,
    Success,
    Fail,
}

impl JobStatus {
    /// The domain name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Init => "queued",
            JobStatus::Running => "running",
            JobStatus::Success => "succeeded",
            JobStatus::Fail => "failed",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Success | JobStatus::Fail)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "queued" => JobStatus::Init,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Success,
            "failed" => JobStatus::Fail,
            other => return Err(format!("unknown job status '{other}'")),
        })
    }
}

fn available() -> VolumeStatus {
    VolumeStatus::Available
}

/// Input of a volume create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeCreateParams {
    pub size_gib: i64,
    pub source: VolumeSource,
    /// For the job view only.
    #[serde(default)]
    pub name: Option<String>,
    /// For the job view only.
    #[serde(default)]
    pub volume_type: Option<String>,
    /// Why no pool could take the volume, when none could: the job then
    /// fails (and the volume is `error`) instead of allocating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<String>,
}

/// Input of a volume delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeDeleteParams {
    #[serde(default)]
    pub cascade: bool,
    /// The unsubscribe order the delete carries out, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
}

/// Input of a volume extend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeExtendParams {
    /// Also read by the store's quota usage (`$.new_size_gib`).
    pub new_size_gib: i64,
    /// The status an extend returns to (jobs of older versions: available).
    #[serde(default = "available")]
    pub restore: VolumeStatus,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub volume_type: Option<String>,
}

/// Input of a retype.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRetypeParams {
    pub type_id: VolumeTypeId,
    /// Also read by the store's quota usage (`$.type_name`).
    #[serde(default)]
    pub type_name: Option<String>,
    #[serde(default)]
    pub iops: Option<i64>,
    #[serde(default)]
    pub throughput: Option<i64>,
    pub restore: VolumeStatus,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub volume_type: Option<String>,
}

/// Input of a move of a volume's data to another pool (Cinder's migration,
/// alone or for a retype).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeMigrateParams {
    pub source_pool: String,
    pub target_pool: String,
    /// The new type of a retype with migration; also read by the store's
    /// quota usage (`$.type_name`).
    #[serde(default)]
    pub type_id: Option<VolumeTypeId>,
    #[serde(default)]
    pub type_name: Option<String>,
    pub restore: VolumeStatus,
    /// The volume's status while its data moves: `retyping` for a
    /// retype's move, `maintenance` for an admin's migration.
    pub during: VolumeStatus,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub volume_type: Option<String>,
}

/// Input of a QoS change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeQosParams {
    /// The volume's type when the change was asked for (older jobs: none).
    #[serde(default)]
    pub type_id: Option<VolumeTypeId>,
    #[serde(default)]
    pub iops: Option<i64>,
    #[serde(default)]
    pub throughput: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub volume_type: Option<String>,
}

/// Input of a rollback to a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRollbackParams {
    pub snapshot_id: SnapshotId,
}

/// Input of managing an existing volume device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeManageParams {
    /// The id the device is known by until the job adopts it (the id of
    /// the volume it was, for a device Platter unmanaged). Also read by
    /// the store, which refuses a second manage of the same device
    /// (`$.source_id`).
    pub source_id: VolumeId,
    /// The new volume's size: the device's, rounded up to whole GiB.
    pub size_gib: i64,
    /// For the job view only.
    #[serde(default)]
    pub name: Option<String>,
    /// For the job view only.
    #[serde(default)]
    pub volume_type: Option<String>,
}

/// Input of managing an existing snapshot device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotManageParams {
    /// The id the device is known by until the job adopts it (read by the
    /// store as `$.source_id`, like a volume's).
    pub source_id: SnapshotId,
    /// The snapshot's volume (the pool the device is in).
    pub volume_id: VolumeId,
}

/// Input of re-enabling a volume's replication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeReplicaParams {
    /// The status the volume returns to.
    #[serde(default = "available")]
    pub restore: VolumeStatus,
}

/// Input of an upload of a volume to an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeUploadParams {
    pub image_id: ImageId,
    pub disk_format: DiskFormat,
    /// The status the volume returns to (`available`, or `in-use` for a
    /// forced upload).
    pub restore: VolumeStatus,
}

/// Input of a backup job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupJobParams {
    /// The backed-up volume.
    pub volume_id: VolumeId,
    /// The pool holding the backup's snapshot.
    pub pool: String,
    /// The backup an incremental one builds on.
    #[serde(default)]
    pub parent_id: Option<BackupId>,
    /// The status the volume returns to after a create.
    #[serde(default = "available")]
    pub restore: VolumeStatus,
    /// The snapshot backed up (`None`: the volume as it is).
    #[serde(default)]
    pub snapshot_id: Option<SnapshotId>,
}

/// Input of a restore onto an existing volume (the job's resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRestoreParams {
    pub backup_id: BackupId,
}

/// One volume a server create makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerNewVolume {
    pub volume_id: VolumeId,
    pub size_gib: i64,
    pub source: VolumeSource,
}

/// Input of a server create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerCreateParams {
    #[serde(default)]
    pub volumes: Vec<ServerNewVolume>,
}

/// Input of a server delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerDeleteParams {
    /// ECS's `delete_volume`: `Some(true)` deletes every disk, `Some(false)`
    /// keeps the data disks (the root disk follows its own flag); `None`
    /// (Nova): each disk follows its `delete_on_termination`.
    #[serde(default)]
    pub delete_volumes: Option<bool>,
}

/// Input of an attach or a detach of a server's volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerVolumeParams {
    pub volume_id: VolumeId,
    /// A forced detach: the guest is not waited for.
    #[serde(default)]
    pub force: bool,
}

/// What a power job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    Start,
    Stop,
    SoftReboot,
    HardReboot,
    /// A new flavor (recorded when the job starts); a running guest is
    /// restarted with it.
    Resize,
    /// Back to the flavor before a resize; a running guest is restarted.
    RevertResize,
    /// The root volume rewritten from an image (Nova's rebuild, ECS's
    /// reinstall and change of OS), then the guest started.
    Rebuild,
}

/// Input of a power job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerPowerParams {
    pub action: PowerAction,
    /// A resize is confirmed as it ends (ECS), not left to verify (Nova).
    #[serde(default)]
    pub confirm: bool,
    /// The image a rebuild writes onto the root volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<ImageId>,
}

/// Input of a snapshot create or delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotParams {
    /// The snapshot's volume (older jobs may lack it: read from the row).
    #[serde(default)]
    pub volume_id: Option<VolumeId>,
}

/// Input of a job on a generic volume group or group snapshot: the pool
/// all the members live in. The members are read from their rows (the
/// volumes naming the group, the snapshots naming the group snapshot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupJobParams {
    pub pool: String,
}

/// A job's typed input: one variant per [`JobKind`]. Stored as the flat JSON
/// object of the variant's fields (the kind is its own column), the shape
/// older versions wrote, so their rows still read.
#[derive(Debug, Clone, PartialEq)]
pub enum JobParams {
    VolumeCreate(VolumeCreateParams),
    VolumeDelete(VolumeDeleteParams),
    VolumeExtend(VolumeExtendParams),
    SnapshotCreate(SnapshotParams),
    SnapshotDelete(SnapshotParams),
    VolumeRetype(VolumeRetypeParams),
    VolumeQos(VolumeQosParams),
    VolumeRollback(VolumeRollbackParams),
    VolumeMigrate(VolumeMigrateParams),
    GroupDelete(GroupJobParams),
    GroupCreateFromSrc(GroupJobParams),
    GroupSnapshotCreate(GroupJobParams),
    GroupSnapshotDelete(GroupJobParams),
    VolumeManage(VolumeManageParams),
    SnapshotManage(SnapshotManageParams),
    VolumeReenableReplica(VolumeReplicaParams),
    VolumeUploadImage(VolumeUploadParams),
    BackupCreate(BackupJobParams),
    BackupDelete(BackupJobParams),
    BackupRestore(BackupRestoreParams),
    ServerCreate(ServerCreateParams),
    ServerDelete(ServerDeleteParams),
    ServerAttachVolume(ServerVolumeParams),
    ServerDetachVolume(ServerVolumeParams),
    ServerPower(ServerPowerParams),
    /// A stored row whose parameters fit no known shape of its kind: kept
    /// as read (so it is written back unchanged); its job fails cleanly.
    Unreadable {
        kind: JobKind,
        raw: serde_json::Value,
        error: String,
    },
}

impl JobParams {
    /// The kind these parameters belong to.
    pub fn kind(&self) -> JobKind {
        match self {
            JobParams::VolumeCreate(_) => JobKind::VolumeCreate,
            JobParams::VolumeDelete(_) => JobKind::VolumeDelete,
            JobParams::VolumeExtend(_) => JobKind::VolumeExtend,
            JobParams::SnapshotCreate(_) => JobKind::SnapshotCreate,
            JobParams::SnapshotDelete(_) => JobKind::SnapshotDelete,
            JobParams::VolumeRetype(_) => JobKind::VolumeRetype,
            JobParams::VolumeQos(_) => JobKind::VolumeQos,
            JobParams::VolumeRollback(_) => JobKind::VolumeRollback,
            JobParams::VolumeMigrate(_) => JobKind::VolumeMigrate,
            JobParams::GroupDelete(_) => JobKind::GroupDelete,
            JobParams::GroupCreateFromSrc(_) => JobKind::GroupCreateFromSrc,
            JobParams::GroupSnapshotCreate(_) => JobKind::GroupSnapshotCreate,
            JobParams::GroupSnapshotDelete(_) => JobKind::GroupSnapshotDelete,
            JobParams::VolumeManage(_) => JobKind::VolumeManage,
            JobParams::SnapshotManage(_) => JobKind::SnapshotManage,
            JobParams::VolumeReenableReplica(_) => JobKind::VolumeReenableReplica,
            JobParams::VolumeUploadImage(_) => JobKind::VolumeUploadImage,
            JobParams::BackupCreate(_) => JobKind::BackupCreate,
            JobParams::BackupDelete(_) => JobKind::BackupDelete,
            JobParams::BackupRestore(_) => JobKind::BackupRestore,
            JobParams::ServerCreate(_) => JobKind::ServerCreate,
            JobParams::ServerDelete(_) => JobKind::ServerDelete,
            JobParams::ServerAttachVolume(_) => JobKind::ServerAttachVolume,
            JobParams::ServerDetachVolume(_) => JobKind::ServerDetachVolume,
            JobParams::ServerPower(_) => JobKind::ServerPower,
            JobParams::Unreadable { kind, .. } => *kind,
        }
    }

    /// The stored form: a flat JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            JobParams::VolumeCreate(p) => serde_json::to_value(p),
            JobParams::VolumeDelete(p) => serde_json::to_value(p),
            JobParams::VolumeExtend(p) => serde_json::to_value(p),
            JobParams::SnapshotCreate(p) | JobParams::SnapshotDelete(p) => serde_json::to_value(p),
            JobParams::VolumeRetype(p) => serde_json::to_value(p),
            JobParams::VolumeQos(p) => serde_json::to_value(p),
            JobParams::VolumeRollback(p) => serde_json::to_value(p),
            JobParams::VolumeMigrate(p) => serde_json::to_value(p),
            JobParams::GroupDelete(p)
            | JobParams::GroupCreateFromSrc(p)
            | JobParams::GroupSnapshotCreate(p)
            | JobParams::GroupSnapshotDelete(p) => serde_json::to_value(p),
            JobParams::VolumeManage(p) => serde_json::to_value(p),
            JobParams::SnapshotManage(p) => serde_json::to_value(p),
            JobParams::VolumeReenableReplica(p) => serde_json::to_value(p),
            JobParams::VolumeUploadImage(p) => serde_json::to_value(p),
            JobParams::BackupCreate(p) | JobParams::BackupDelete(p) => serde_json::to_value(p),
            JobParams::BackupRestore(p) => serde_json::to_value(p),
            JobParams::ServerCreate(p) => serde_json::to_value(p),
            JobParams::ServerDelete(p) => serde_json::to_value(p),
            JobParams::ServerAttachVolume(p) | JobParams::ServerDetachVolume(p) => {
                serde_json::to_value(p)
            }
            JobParams::ServerPower(p) => serde_json::to_value(p),
            JobParams::Unreadable { raw, .. } => return raw.clone(),
        };
        // Plain structs of strings and numbers always serialize.
        v.unwrap_or(serde_json::Value::Null)
    }

    /// Reads stored parameters of a job of `kind`, current or legacy shape
    /// (missing fields take the defaults older versions implied). Never
    /// fails: what does not parse becomes [`JobParams::Unreadable`].
    pub fn from_json(kind: JobKind, raw: serde_json::Value) -> JobParams {
        fn parse<T: for<'de> Deserialize<'de>>(
            raw: &serde_json::Value,
            wrap: fn(T) -> JobParams,
        ) -> Result<JobParams, String> {
            T::deserialize(raw).map(wrap).map_err(|e| e.to_string())
        }
        let parsed = match kind {
            JobKind::VolumeCreate => parse(&raw, JobParams::VolumeCreate),
            JobKind::VolumeDelete => parse(&raw, JobParams::VolumeDelete),
            JobKind::VolumeExtend => parse(&raw, JobParams::VolumeExtend),
            JobKind::SnapshotCreate => parse(&raw, JobParams::SnapshotCreate),
            JobKind::SnapshotDelete => parse(&raw, JobParams::SnapshotDelete),
            JobKind::VolumeRetype => parse(&raw, JobParams::VolumeRetype),
            JobKind::VolumeQos => parse(&raw, JobParams::VolumeQos),
            JobKind::VolumeRollback => parse(&raw, JobParams::VolumeRollback),
            JobKind::VolumeMigrate => parse(&raw, JobParams::VolumeMigrate),
            JobKind::GroupDelete => parse(&raw, JobParams::GroupDelete),
            JobKind::GroupCreateFromSrc => parse(&raw, JobParams::GroupCreateFromSrc),
            JobKind::GroupSnapshotCreate => parse(&raw, JobParams::GroupSnapshotCreate),
            JobKind::GroupSnapshotDelete => parse(&raw, JobParams::GroupSnapshotDelete),
            JobKind::VolumeManage => parse(&raw, JobParams::VolumeManage),
            JobKind::SnapshotManage => parse(&raw, JobParams::SnapshotManage),
            JobKind::VolumeReenableReplica => parse(&raw, JobParams::VolumeReenableReplica),
            JobKind::VolumeUploadImage => parse(&raw, JobParams::VolumeUploadImage),
            JobKind::BackupCreate => parse(&raw, JobParams::BackupCreate),
            JobKind::BackupDelete => parse(&raw, JobParams::BackupDelete),
            JobKind::BackupRestore => parse(&raw, JobParams::BackupRestore),
            JobKind::ServerCreate => parse(&raw, JobParams::ServerCreate),
            JobKind::ServerDelete => parse(&raw, JobParams::ServerDelete),
            JobKind::ServerAttachVolume => parse(&raw, JobParams::ServerAttachVolume),
            JobKind::ServerDetachVolume => parse(&raw, JobParams::ServerDetachVolume),
            JobKind::ServerPower => parse(&raw, JobParams::ServerPower),
        };
        parsed.unwrap_or_else(|error| JobParams::Unreadable { kind, raw, error })
    }

    /// Like [`JobParams::from_json`] from the stored text.
    pub fn from_json_str(kind: JobKind, text: &str) -> JobParams {
        match serde_json::from_str(text) {
            Ok(raw) => JobParams::from_json(kind, raw),
            Err(e) => JobParams::Unreadable {
                kind,
                raw: serde_json::Value::String(text.to_string()),
                error: e.to_string(),
            },
        }
    }

    /// The pool of a group job.
    pub fn group_pool(&self) -> Option<&str> {
        match self {
            JobParams::GroupDelete(p)
            | JobParams::GroupCreateFromSrc(p)
            | JobParams::GroupSnapshotCreate(p)
            | JobParams::GroupSnapshotDelete(p) => Some(&p.pool),
            _ => None,
        }
    }

    /// The backup a job reads to restore a volume, if it does.
    pub fn restored_backup(&self) -> Option<&BackupId> {
        match self {
            JobParams::BackupRestore(p) => Some(&p.backup_id),
            JobParams::VolumeCreate(VolumeCreateParams {
                source: VolumeSource::Backup(b),
                ..
            }) => Some(b),
            _ => None,
        }
    }

    /// The volumes a server create makes.
    pub fn server_new_volumes(&self) -> &[ServerNewVolume] {
        match self {
            JobParams::ServerCreate(p) => &p.volumes,
            _ => &[],
        }
    }

    /// The snapshot a rollback names.
    pub fn rollback_snapshot(&self) -> Option<&SnapshotId> {
        match self {
            JobParams::VolumeRollback(p) => Some(&p.snapshot_id),
            _ => None,
        }
    }
}

impl Serialize for JobParams {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// A durable job row. `params` is the job's input, `step` the index (in
/// [`JobKind::steps`]) of the next step to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub project_id: ProjectId,
    /// The id of the volume the job works on or, for the snapshot kinds
    /// (see [`JobKind::on_snapshot`]), of the snapshot: which type it has
    /// depends on the kind, so it is kept as text; [`Job::volume_id`] and
    /// [`Job::snapshot_id`] read it as one or the other.
    pub resource_id: String,
    pub params: JobParams,
    pub status: JobStatus,
    pub step: i64,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub begin_at: Option<Timestamp>,
    pub end_at: Option<Timestamp>,
    /// The group (batch) this job belongs to, if any.
    pub parent_id: Option<JobId>,
}

impl Job {
    /// The job's resource read as a volume's id: what it is for every kind
    /// but the snapshot ones. The caller, which knows the kind, chooses.
    pub fn volume_id(&self) -> VolumeId {
        VolumeId::from(self.resource_id.as_str())
    }

    /// The job's resource read as a server's id: what it is for the server
    /// kinds ([`JobKind::on_server`]).
    pub fn server_id(&self) -> crate::ServerId {
        crate::ServerId::from(self.resource_id.as_str())
    }

    /// The job's resource read as a snapshot's id: what it is for the
    /// snapshot kinds ([`JobKind::on_snapshot`]).
    pub fn snapshot_id(&self) -> SnapshotId {
        SnapshotId::from(self.resource_id.as_str())
    }
}

/// What a job group batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobGroupKind {
    /// One create asking for `count` volumes.
    VolumeCreateBatch,
    /// One batch extend of several volumes.
    VolumeExtendBatch,
    /// An ECS create of `count` servers (`createServer`).
    ServerCreateBatch,
    /// An ECS batch delete of servers.
    ServerDeleteBatch,
    /// An ECS batch start, stop or reboot.
    ServerPowerBatch,
}

impl JobGroupKind {
    /// The domain name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobGroupKind::VolumeCreateBatch => "volume_create_batch",
            JobGroupKind::VolumeExtendBatch => "volume_extend_batch",
            JobGroupKind::ServerCreateBatch => "server_create_batch",
            JobGroupKind::ServerDeleteBatch => "server_delete_batch",
            JobGroupKind::ServerPowerBatch => "server_power_batch",
        }
    }
}

impl FromStr for JobGroupKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "volume_create_batch" => Ok(JobGroupKind::VolumeCreateBatch),
            "volume_extend_batch" => Ok(JobGroupKind::VolumeExtendBatch),
            "server_create_batch" => Ok(JobGroupKind::ServerCreateBatch),
            "server_delete_batch" => Ok(JobGroupKind::ServerDeleteBatch),
            "server_power_batch" => Ok(JobGroupKind::ServerPowerBatch),
            other => Err(format!("unknown job group kind '{other}'")),
        }
    }
}

/// A job grouping others: a batch create or a batch extend. Its status is
/// derived from its members'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobGroup {
    pub id: JobId,
    pub kind: JobGroupKind,
    pub project_id: ProjectId,
    pub created_at: Timestamp,
}

impl JobGroup {
    /// The status of a group from its members': FAIL once all ended and any
    /// failed, SUCCESS once all succeeded, RUNNING while any started, else INIT.
    pub fn status_of(members: &[Job]) -> JobStatus {
        if members.is_empty() {
            return JobStatus::Success;
        }
        if members.iter().all(|j| j.status.is_terminal()) {
            if members.iter().any(|j| j.status == JobStatus::Fail) {
                JobStatus::Fail
            } else {
                JobStatus::Success
            }
        } else if members.iter().any(|j| j.status != JobStatus::Init) {
            JobStatus::Running
        } else {
            JobStatus::Init
        }
    }
}

/// An order for a yearly/monthly (prePaid) resource: a record only, paid
/// when placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub project_id: ProjectId,
    /// `create`, `extend`, `retype`, `unsubscribe`.
    pub action: String,
    /// The volumes ordered.
    pub resource_ids: Vec<VolumeId>,
    pub params: serde_json::Value,
    /// The job (or job group) that carries the order out, if any.
    pub job_id: Option<JobId>,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {

    #[test]
    fn job_names_are_the_domains_and_legacy_evs_names_still_parse() {
        for k in JobKind::ALL {
            assert_eq!(k.as_str().parse::<JobKind>(), Ok(k));
            assert!(k
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert_eq!("createVolume".parse::<JobKind>(), Ok(JobKind::VolumeCreate));
        assert_eq!("modifyVolumeQos".parse::<JobKind>(), Ok(JobKind::VolumeQos));
        for st in [
            JobStatus::Init,
            JobStatus::Running,
            JobStatus::Success,
            JobStatus::Fail,
        ] {
            assert_eq!(st.as_str().parse::<JobStatus>(), Ok(st));
        }
        assert!(
            "INIT".parse::<JobStatus>().is_err(),
            "stored statuses are the domain's"
        );
        for g in [
            JobGroupKind::VolumeCreateBatch,
            JobGroupKind::VolumeExtendBatch,
            JobGroupKind::ServerCreateBatch,
            JobGroupKind::ServerDeleteBatch,
            JobGroupKind::ServerPowerBatch,
        ] {
            assert_eq!(g.as_str().parse::<JobGroupKind>(), Ok(g));
        }
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn all_lists_every_kind_once() {
        // Exhaustive: a new kind fails to compile here until it is placed,
        // and the assertion below fails until `ALL` lists it.
        fn index(k: JobKind) -> usize {
            match k {
                JobKind::VolumeCreate => 0,
                JobKind::VolumeDelete => 1,
                JobKind::VolumeExtend => 2,
                JobKind::SnapshotCreate => 3,
                JobKind::SnapshotDelete => 4,
                JobKind::VolumeRetype => 5,
                JobKind::VolumeQos => 6,
                JobKind::VolumeRollback => 7,
                JobKind::VolumeMigrate => 8,
                JobKind::GroupDelete => 9,
                JobKind::GroupCreateFromSrc => 10,
                JobKind::GroupSnapshotCreate => 11,
                JobKind::GroupSnapshotDelete => 12,
                JobKind::VolumeManage => 13,
                JobKind::SnapshotManage => 14,
                JobKind::VolumeReenableReplica => 15,
                JobKind::VolumeUploadImage => 16,
                JobKind::BackupCreate => 17,
                JobKind::BackupDelete => 18,
                JobKind::BackupRestore => 19,
                JobKind::ServerCreate => 20,
                JobKind::ServerDelete => 21,
                JobKind::ServerAttachVolume => 22,
                JobKind::ServerDetachVolume => 23,
                JobKind::ServerPower => 24,
            }
        }
        for (i, k) in JobKind::ALL.iter().enumerate() {
            assert_eq!(index(*k), i);
            assert_eq!(k.as_str().parse::<JobKind>(), Ok(*k));
            assert!(!k.steps().is_empty());
        }
    }

    #[test]
    fn legacy_shapes_read_with_their_implied_defaults() {
        let p = JobParams::from_json(
            JobKind::VolumeCreate,
            json!({"size_gib": 3, "source": {"kind": "blank"}}),
        );
        assert_eq!(
            p,
            JobParams::VolumeCreate(VolumeCreateParams {
                size_gib: 3,
                source: VolumeSource::Blank,
                name: None,
                volume_type: None,
                unschedulable: None,
            })
        );
        let p = JobParams::from_json(JobKind::VolumeExtend, json!({"new_size_gib": 5}));
        match p {
            JobParams::VolumeExtend(e) => {
                assert_eq!(e.new_size_gib, 5);
                assert_eq!(e.restore, VolumeStatus::Available);
            }
            other => panic!("{other:?}"),
        }
        let p = JobParams::from_json(
            JobKind::VolumeQos,
            json!({"iops": 3000, "throughput": null, "name": "a", "volume_type": "GPSSD2"}),
        );
        match p {
            JobParams::VolumeQos(q) => {
                assert_eq!(q.type_id, None);
                assert_eq!(q.iops, Some(3000));
            }
            other => panic!("{other:?}"),
        }
        let p = JobParams::from_json(JobKind::SnapshotDelete, json!({}));
        assert_eq!(
            p,
            JobParams::SnapshotDelete(SnapshotParams { volume_id: None })
        );
    }

    #[test]
    fn current_shapes_round_trip_as_flat_objects() {
        let cases = [
            json!({"size_gib": 2, "source": {"kind": "snapshot", "id": "s1"}, "name": null, "volume_type": "SAS"}),
            json!({"cascade": true, "order_id": "o1"}),
            json!({"cascade": false}),
            json!({"new_size_gib": 4, "restore": "InUse", "name": "n", "volume_type": "SSD"}),
            json!({"volume_id": "v1"}),
            json!({"volume_id": "v1"}),
            json!({"type_id": "t", "type_name": "SSD", "iops": null, "throughput": null, "restore": "Available", "name": null, "volume_type": "SSD"}),
            json!({"type_id": "t", "iops": 5000, "throughput": 200, "name": null, "volume_type": "GPSSD2"}),
            json!({"snapshot_id": "s1"}),
            json!({"source_id": "v0", "size_gib": 2, "name": "n", "volume_type": "SAS"}),
            json!({"source_id": "s0", "volume_id": "v1"}),
        ];
        let kinds = [
            JobKind::VolumeCreate,
            JobKind::VolumeDelete,
            JobKind::VolumeDelete,
            JobKind::VolumeExtend,
            JobKind::SnapshotCreate,
            JobKind::SnapshotDelete,
            JobKind::VolumeRetype,
            JobKind::VolumeQos,
            JobKind::VolumeRollback,
            JobKind::VolumeManage,
            JobKind::SnapshotManage,
        ];
        for (kind, raw) in kinds.into_iter().zip(cases) {
            let p = JobParams::from_json(kind, raw.clone());
            assert!(
                !matches!(p, JobParams::Unreadable { .. }),
                "{kind:?}: {p:?}"
            );
            assert_eq!(p.kind(), kind);
            assert_eq!(p.to_json(), raw);
        }
    }

    #[test]
    fn unparseable_parameters_are_kept_not_fatal() {
        let p = JobParams::from_json(JobKind::VolumeRollback, json!({"snapshot": 1}));
        assert!(matches!(p, JobParams::Unreadable { .. }));
        assert_eq!(p.kind(), JobKind::VolumeRollback);
        assert_eq!(p.to_json(), json!({"snapshot": 1}));
        let p = JobParams::from_json_str(JobKind::VolumeCreate, "not json");
        assert!(matches!(p, JobParams::Unreadable { .. }));
    }
}
