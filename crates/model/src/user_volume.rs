//! The htaiyun platform's record of a volume (seed 004's `UserVolume`): an
//! integer `unique` id, an enable flag, and the Platter volume it wraps.

use serde::{Deserialize, Serialize};

use crate::{ProjectId, Timestamp, VolumeId, VolumeStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserVolume {
    /// The platform's id (`unique`), counted from 1.
    pub unique: i64,
    pub volume_id: VolumeId,
    pub project_id: ProjectId,
    /// `userid`: the disk's owner on the platform, as the client gave it.
    pub owner: Option<i64>,
    /// `ACTIVED` (true) or `DISABLED`: a disabled volume refuses attachments.
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl UserVolume {
    /// The platform's status word.
    pub fn status_word(&self) -> &'static str {
        if self.enabled {
            "ACTIVED"
        } else {
            "DISABLED"
        }
    }
}

/// openstack4j's `Volume.Status` name of a volume status (seed 004's
/// `volumestatus` list).
pub fn openstack4j_status(s: VolumeStatus) -> &'static str {
    use VolumeStatus::*;
    match s {
        Available => "AVAILABLE",
        Attaching | Reserved => "ATTACHING",
        BackingUp => "BACKING_UP",
        Creating => "CREATING",
        Deleting => "DELETING",
        Downloading => "DOWNLOADING",
        Uploading => "UPLOADING",
        Error | ErrorExtending | ErrorRollbacking => "ERROR",
        ErrorDeleting => "ERROR_DELETING",
        ErrorRestoring => "ERROR_RESTORING",
        InUse => "IN_USE",
        RestoringBackup => "RESTORING_BACKUP",
        Detaching => "DETACHING",
        _ => "UNRECOGNIZED",
    }
}
