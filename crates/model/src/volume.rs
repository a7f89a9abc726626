use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{
    AttachmentId, BackupId, GroupId, GroupSnapshotId, ImageId, OrderId, ProjectId, QosSpecsId,
    SnapshotId, Timestamp, UserId, VolumeId, VolumeTypeId,
};

/// One gibibyte: volume sizes are whole GiB in every API.
pub const GIB: u64 = 1 << 30;

/// Key/value metadata, kept sorted so views are stable.
pub type Metadata = BTreeMap<String, String>;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} '{}'", stringify!($name), other)),
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// Volume statuses (EVS appendix A.3, Cinder).
    VolumeStatus {
        Creating => "creating",
        Available => "available",
        Reserved => "reserved",
        InUse => "in-use",
        Error => "error",
        Attaching => "attaching",
        Detaching => "detaching",
        RestoringBackup => "restoring-backup",
        BackingUp => "backing-up",
        ErrorRestoring => "error_restoring",
        Uploading => "uploading",
        Downloading => "downloading",
        Extending => "extending",
        ErrorExtending => "error_extending",
        Deleting => "deleting",
        ErrorDeleting => "error_deleting",
        Rollbacking => "rollbacking",
        ErrorRollbacking => "error_rollbacking",
        AwaitingTransfer => "awaiting-transfer",
        Retyping => "retyping",
        Maintenance => "maintenance",
    }
}

string_enum! {
    /// Where a move of a volume's data to another pool stands (Cinder's
    /// `migration_status`).
    MigrationStatus {
        Migrating => "migrating",
        Success => "success",
        Error => "error",
    }
}

string_enum! {
    /// Where a volume's replica stands (Cinder's replication v1
    /// `replication_status`, the one `os-promote-replica` and
    /// `os-reenable-replica` act on).
    ///
    /// `disabled`: the type does not replicate the volume; `copying`: the
    /// replica is being made; `active`: the replica holds the primary's
    /// bytes and every write goes to both; `inactive`: the replica was
    /// promoted, writes go to the primary only and the old primary is
    /// stale until re-enabled; `error`: making the replica failed.
    ReplicationStatus {
        Disabled => "disabled",
        Copying => "copying",
        Active => "active",
        Inactive => "inactive",
        Error => "error",
    }
}

string_enum! {
    /// Attachment statuses (Cinder's `attach_status` values).
    AttachmentStatus {
        Reserved => "reserved",
        Attaching => "attaching",
        Attached => "attached",
        Detaching => "detaching",
        ErrorAttaching => "error_attaching",
        ErrorDetaching => "error_detaching",
    }
}

string_enum! {
    /// How an attachment may use the volume.
    AttachMode {
        ReadWrite => "rw",
        ReadOnly => "ro",
    }
}

string_enum! {
    /// Snapshot statuses (EVS appendix A.4, Cinder).
    SnapshotStatus {
        Creating => "creating",
        Available => "available",
        Error => "error",
        Deleting => "deleting",
        ErrorDeleting => "error_deleting",
        Rollbacking => "rollbacking",
        BackingUp => "backing-up",
    }
}

impl VolumeStatus {
    /// Statuses from which a delete may start: not attached, not busy, and
    /// not `error_deleting` (EVS A.3 and Cinder both refuse that; an admin
    /// resets the status first).
    pub const DELETABLE: &'static [VolumeStatus] = &[
        VolumeStatus::Available,
        VolumeStatus::Error,
        VolumeStatus::ErrorRestoring,
        VolumeStatus::ErrorExtending,
        VolumeStatus::ErrorRollbacking,
    ];

    /// Statuses a job moves through; none of them may outlive its job.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            VolumeStatus::Creating
                | VolumeStatus::Deleting
                | VolumeStatus::Extending
                | VolumeStatus::Rollbacking
                | VolumeStatus::Retyping
        )
    }
}

impl SnapshotStatus {
    /// Cinder and EVS: a snapshot is deleted from `available` or `error`.
    pub const DELETABLE: &'static [SnapshotStatus] =
        &[SnapshotStatus::Available, SnapshotStatus::Error];
}

/// Where a new volume's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum VolumeSource {
    Blank,
    Snapshot(SnapshotId),
    Volume(VolumeId),
    /// An image's disk (raw), cloned from its device.
    Image(ImageId),
    /// A backup's data, written from the repository.
    Backup(BackupId),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub id: VolumeId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub name: Option<String>,
    pub description: Option<String>,
    /// GiB.
    pub size: i64,
    pub status: VolumeStatus,
    pub availability_zone: String,
    pub volume_type_id: VolumeTypeId,
    /// The type's name, joined in by the store for views.
    pub volume_type_name: String,
    pub bootable: bool,
    pub multiattach: bool,
    pub readonly: bool,
    pub snapshot_id: Option<SnapshotId>,
    pub source_volid: Option<VolumeId>,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    /// Provisioned IOPS (GPSSD2, ESSD2).
    pub iops: Option<i64>,
    /// Provisioned throughput in MiB/s (GPSSD2).
    pub throughput: Option<i64>,
    /// Active attachments, oldest first.
    pub attachments: Vec<Attachment>,
    /// The enterprise project grouping the volume (`"0"`: the default one).
    pub enterprise_project_id: String,
    /// EVS tags (at most 10).
    pub tags: Metadata,
    /// Cinder's `volume_image_metadata`.
    pub image_metadata: Metadata,
    /// The storage pool holding the volume's data and its snapshots'.
    pub pool: String,
    /// The last (or current) move of the volume's data to another pool.
    pub migration_status: Option<MigrationStatus>,
    /// The order of a yearly/monthly (prePaid) volume; `None` on demand.
    pub order: Option<OrderId>,
    /// The generic volume group the volume belongs to, if any.
    pub group_id: Option<GroupId>,
    /// Where the volume's replica stands.
    pub replication_status: ReplicationStatus,
    /// The pool holding the volume's replica (a replicated type's), if any.
    pub replica_pool: Option<String>,
}

impl Volume {
    /// The pool the data path mirrors writes to: the replica's, while it
    /// is in sync.
    pub fn mirror_pool(&self) -> Option<&str> {
        match self.replication_status {
            ReplicationStatus::Active => self.replica_pool.as_deref(),
            _ => None,
        }
    }

    /// Cinder's `attach_status` of the volume, from its attachments.
    pub fn attach_status(&self) -> &'static str {
        let has = |s: AttachmentStatus| self.attachments.iter().any(|a| a.status == s);
        if has(AttachmentStatus::Attached) {
            "attached"
        } else if has(AttachmentStatus::Attaching) {
            "attaching"
        } else if has(AttachmentStatus::Reserved) {
            "reserved"
        } else {
            "detached"
        }
    }
}

/// A volume's attachment to a host or server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub volume_id: VolumeId,
    pub project_id: ProjectId,
    pub instance_uuid: Option<String>,
    pub connector: Option<serde_json::Value>,
    pub host: Option<String>,
    pub mountpoint: Option<String>,
    pub attach_mode: AttachMode,
    pub status: AttachmentStatus,
    pub export_name: Option<String>,
    pub created_at: Timestamp,
    pub attached_at: Option<Timestamp>,
    pub detached_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: SnapshotId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub volume_id: VolumeId,
    pub name: Option<String>,
    pub description: Option<String>,
    /// GiB: the source volume's size when the snapshot was taken.
    pub size: i64,
    pub status: SnapshotStatus,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub enterprise_project_id: String,
    pub tags: Metadata,
    /// EVS v5 "instant access" flag; recorded, no effect on the data path.
    pub instant_access: bool,
    /// The progress a client reported with Cinder's
    /// `os-update_snapshot_status`, if any.
    pub reported_progress: Option<String>,
    /// The group snapshot this snapshot is the member of, if any.
    pub group_snapshot_id: Option<GroupSnapshotId>,
}

impl Volume {
    /// The order of a yearly/monthly (prePaid) volume. Absent for
    /// on-demand volumes.
    pub fn order_id(&self) -> Option<&OrderId> {
        self.order.as_ref()
    }
}

/// The metadata key under which the APIs show a yearly/monthly volume's
/// order (as EVS does); reserved, so no caller can set it.
pub const ORDER_ID_KEY: &str = "orderID";

/// The default enterprise project.
pub const DEFAULT_ENTERPRISE_PROJECT: &str = "0";

/// The longest metadata key, in characters (keys are 1 to this).
pub const METADATA_KEY_MAX: usize = 255;
/// The longest metadata value, in characters.
pub const METADATA_VALUE_MAX: usize = 255;

/// Which part of the metadata rule an entry broke. The rule is Cinder's
/// (its `metadata` schema: keys of 1 to 255 characters, values of at most
/// 255) and every family's: the service checks it wherever volume,
/// snapshot or backup metadata is set, so no API can store more.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MetadataRule {
    #[error("Metadata keys must be 1 to {METADATA_KEY_MAX} characters, got an empty key.")]
    EmptyKey,
    /// `key` is the start of the key (its first 64 characters).
    #[error("Metadata keys must be 1 to {METADATA_KEY_MAX} characters, got '{key}...' ({chars} characters).")]
    KeyTooLong { key: String, chars: usize },
    #[error("The value of metadata key '{key}' is longer than {METADATA_VALUE_MAX} characters ({chars}).")]
    ValueTooLong { key: String, chars: usize },
}

/// Checks metadata against the one rule every family shares.
pub fn check_metadata(m: &Metadata) -> Result<(), MetadataRule> {
    for (k, v) in m {
        let key_chars = k.chars().count();
        if key_chars == 0 {
            return Err(MetadataRule::EmptyKey);
        }
        if key_chars > METADATA_KEY_MAX {
            return Err(MetadataRule::KeyTooLong {
                key: k.chars().take(64).collect(),
                chars: key_chars,
            });
        }
        let value_chars = v.chars().count();
        if value_chars > METADATA_VALUE_MAX {
            return Err(MetadataRule::ValueTooLong {
                key: k.clone(),
                chars: value_chars,
            });
        }
    }
    Ok(())
}

impl Snapshot {
    /// What was reported, else 0% while creating and 100% after.
    pub fn progress(&self) -> String {
        match (&self.reported_progress, self.status) {
            (Some(p), _) => p.clone(),
            (None, SnapshotStatus::Creating) => "0%".into(),
            (None, _) => "100%".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeType {
    pub id: VolumeTypeId,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: Metadata,
    /// The QoS specs associated with the type, if any.
    #[serde(default)]
    pub qos_specs_id: Option<QosSpecsId>,
    /// Whether the type has an encryption spec.
    #[serde(default)]
    pub encrypted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for s in VolumeStatus::ALL {
            assert_eq!(s.as_str().parse::<VolumeStatus>().unwrap(), *s);
        }
        for s in SnapshotStatus::ALL {
            assert_eq!(s.as_str().parse::<SnapshotStatus>().unwrap(), *s);
        }
        assert!("in_use".parse::<VolumeStatus>().is_err());
        assert_eq!(VolumeStatus::InUse.as_str(), "in-use");
    }

    #[test]
    fn metadata_keys_are_1_to_255_characters_and_values_at_most_255() {
        let m = |k: String, v: String| Metadata::from([(k, v)]);
        assert_eq!(check_metadata(&Metadata::new()), Ok(()));
        assert_eq!(check_metadata(&m("k".repeat(255), "é".repeat(255))), Ok(()));
        assert_eq!(
            check_metadata(&m(String::new(), "v".into())),
            Err(MetadataRule::EmptyKey)
        );
        assert!(matches!(
            check_metadata(&m("k".repeat(256), "v".into())),
            Err(MetadataRule::KeyTooLong { chars: 256, .. })
        ));
        assert!(matches!(
            check_metadata(&m("k".into(), "v".repeat(1_000_000))),
            Err(MetadataRule::ValueTooLong {
                chars: 1_000_000,
                ..
            })
        ));
    }
}
