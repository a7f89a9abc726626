//! Generic volume groups (Cinder 3.11+): group types, groups of volumes,
//! and group snapshots, which snapshot every member at one point in time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::volume::string_enum;
use crate::{
    GroupId, GroupSnapshotId, GroupTypeId, Metadata, ProjectId, Timestamp, UserId, VolumeId,
    VolumeTypeId,
};

string_enum! {
    /// Group statuses (Cinder's `GroupStatus`).
    GroupStatus {
        Creating => "creating",
        Available => "available",
        Updating => "updating",
        InUse => "in-use",
        Deleting => "deleting",
        Deleted => "deleted",
        Error => "error",
        ErrorDeleting => "error_deleting",
    }
}

string_enum! {
    /// Group snapshot statuses (Cinder's `GroupSnapshotStatus`).
    GroupSnapshotStatus {
        Creating => "creating",
        Available => "available",
        Updating => "updating",
        Deleting => "deleting",
        Deleted => "deleted",
        Error => "error",
        ErrorDeleting => "error_deleting",
    }
}

impl GroupStatus {
    /// Statuses a job moves through; none of them may outlive its job.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            GroupStatus::Creating | GroupStatus::Deleting | GroupStatus::Updating
        )
    }
}

impl GroupSnapshotStatus {
    /// Statuses a job moves through.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            GroupSnapshotStatus::Creating
                | GroupSnapshotStatus::Deleting
                | GroupSnapshotStatus::Updating
        )
    }
}

/// The group spec that asks for group snapshots taken at one point in time
/// across the members (`<is> True`).
pub const CONSISTENT_GROUP_SNAPSHOT_SPEC: &str = "consistent_group_snapshot_enabled";

/// A type of group, as a volume type is of a volume: a name and specs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupType {
    pub id: GroupTypeId,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub group_specs: Metadata,
    pub created_at: Timestamp,
}

/// A group of volumes of a project, managed (and snapshotted) together.
/// All its volumes live in one pool, the group's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub availability_zone: String,
    pub group_type_id: GroupTypeId,
    /// The volume types its volumes may have, in the order given.
    pub volume_type_ids: Vec<VolumeTypeId>,
    pub status: GroupStatus,
    /// The group snapshot it was created from (Cinder 3.14).
    pub group_snapshot_id: Option<GroupSnapshotId>,
    /// The group it was cloned from (Cinder 3.14).
    pub source_group_id: Option<GroupId>,
    /// The pool every member lives in.
    pub pool: String,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    /// The member volumes' ids, oldest first.
    pub volume_ids: Vec<VolumeId>,
}

/// A snapshot of every volume of a group, taken at one point in time: one
/// ordinary snapshot per member, each naming the group snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSnapshot {
    pub id: GroupSnapshotId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub group_id: GroupId,
    pub group_type_id: GroupTypeId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: GroupSnapshotStatus,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for s in GroupStatus::ALL {
            assert_eq!(s.as_str().parse::<GroupStatus>().unwrap(), *s);
        }
        for s in GroupSnapshotStatus::ALL {
            assert_eq!(s.as_str().parse::<GroupSnapshotStatus>().unwrap(), *s);
        }
        assert_eq!(GroupStatus::ErrorDeleting.as_str(), "error_deleting");
        assert!(GroupStatus::Creating.is_transitional());
        assert!(!GroupSnapshotStatus::Error.is_transitional());
    }
}
