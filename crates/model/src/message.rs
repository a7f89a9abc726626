//! User messages: what an asynchronous operation that failed tells the
//! project that asked for it (Cinder's `messages`, 3.3).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::volume::string_enum;
use crate::{MessageId, ProjectId, Timestamp};

string_enum! {
    /// The operation that failed.
    MessageAction {
        ScheduleAllocateVolume => "schedule_allocate_volume",
        CreateVolume => "create_volume",
        DeleteVolume => "delete_volume",
        ExtendVolume => "extend_volume",
        RetypeVolume => "retype_volume",
        UpdateVolumeQos => "update_volume_qos",
        RevertVolume => "revert_volume",
        MigrateVolume => "migrate_volume",
        CreateGroup => "create_group",
        DeleteGroup => "delete_group",
        CreateGroupSnapshot => "create_group_snapshot",
        DeleteGroupSnapshot => "delete_group_snapshot",
        CreateSnapshot => "create_snapshot",
        DeleteSnapshot => "delete_snapshot",
        ManageVolume => "manage_volume",
        ManageSnapshot => "manage_snapshot",
        ReenableReplica => "reenable_replica",
        UploadImage => "upload_image",
        CreateBackup => "create_backup",
        DeleteBackup => "delete_backup",
        RestoreBackup => "restore_backup",
    }
}

string_enum! {
    /// Why it failed.
    MessageDetail {
        UnknownError => "unknown_error",
        NoBackendAvailable => "no_backend_available",
        BackendFailed => "backend_failed",
    }
}

string_enum! {
    /// The kind of resource a message is about.
    MessageResource {
        Volume => "volume",
        Snapshot => "snapshot",
        Group => "group",
        GroupSnapshot => "group_snapshot",
        Backup => "backup",
    }
}

/// One message to a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessage {
    pub id: MessageId,
    pub project_id: ProjectId,
    /// The request that started the operation.
    pub request_id: String,
    pub resource_type: MessageResource,
    /// The volume's or snapshot's id, by `resource_type`.
    pub resource_id: String,
    pub action: MessageAction,
    pub detail: MessageDetail,
    pub created_at: Timestamp,
    /// Kept at least until then.
    pub expires_at: Timestamp,
}
