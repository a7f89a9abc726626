//! Cinder backups: a volume's data at one point in time, kept in the
//! backup repository (`platter-backup`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::volume::string_enum;
use crate::{BackupId, Metadata, ProjectId, SnapshotId, Timestamp, UserId, VolumeId};

string_enum! {
    /// Cinder's backup statuses.
    BackupStatus {
        Creating => "creating",
        Available => "available",
        Deleting => "deleting",
        Error => "error",
        Restoring => "restoring",
        ErrorDeleting => "error_deleting",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backup {
    pub id: BackupId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub volume_id: VolumeId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: BackupStatus,
    /// GiB: the volume's size when backed up.
    pub size: i64,
    pub availability_zone: String,
    /// The backup this one is incremental to.
    pub parent_id: Option<BackupId>,
    /// Chunks the repository holds for it (Cinder's `object_count`).
    pub object_count: i64,
    pub fail_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    /// The snapshot backed up, if it was one (not the volume as it was).
    pub snapshot_id: Option<SnapshotId>,
    /// The backup's own metadata (Cinder 3.43).
    pub metadata: Metadata,
    /// When the data was what the backup holds: the snapshot's creation
    /// for a snapshot's backup, else the backup's.
    pub data_timestamp: Timestamp,
    /// What the volume was besides its bytes, for restores.
    pub source: BackupSource,
}

/// A backed-up volume's metadata, bootable flag and image metadata: a
/// restore gives them to the volume it writes, as Cinder does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupSource {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub bootable: bool,
    #[serde(default)]
    pub image_metadata: Metadata,
}

/// The snapshot device a backup reads (and keeps, as the base of the next
/// incremental backup of its volume).
pub fn backup_snapshot_device(id: &BackupId) -> String {
    format!("bk-{id}")
}
