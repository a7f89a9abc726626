//! Generic volume groups: group types, groups and group snapshots, and the
//! transactions that start and finish their jobs.

use platter_model::{
    DomainResult, Group, GroupId, GroupSnapshot, GroupSnapshotId, GroupSnapshotStatus, GroupStatus,
    GroupType, GroupTypeId, Job, JobId, Page, ProjectId, UserId, VolumeId, VolumeTypeId,
};

use super::{NewSnapshot, NewVolume, QuotaDefaults};

/// Filters, sort and paging of a group type listing.
#[derive(Debug, Clone, Default)]
pub struct GroupTypeQuery {
    /// `Some(true)`: public types only; `Some(false)`: private ones only;
    /// `None`: all.
    pub is_public: Option<bool>,
    pub page: Page,
}

/// A group about to be created.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub id: GroupId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub availability_zone: String,
    pub group_type_id: GroupTypeId,
    pub volume_type_ids: Vec<VolumeTypeId>,
    pub group_snapshot_id: Option<GroupSnapshotId>,
    pub source_group_id: Option<GroupId>,
    pub pool: String,
}

/// Filters, sort and paging of a group listing.
#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    /// `None`: every project's (admin `all_tenants`).
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub availability_zone: Option<String>,
    pub group_type_id: Option<GroupTypeId>,
    pub page: Page,
}

/// A group snapshot about to be created.
#[derive(Debug, Clone)]
pub struct NewGroupSnapshot {
    pub id: GroupSnapshotId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub group_id: GroupId,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Filters, sort and paging of a group snapshot listing.
#[derive(Debug, Clone, Default)]
pub struct GroupSnapshotQuery {
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub group_id: Option<GroupId>,
    pub page: Page,
}

/// What a group update changes: `None` leaves a field alone; the volumes
/// join or leave the group.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub add_volumes: Vec<VolumeId>,
    pub remove_volumes: Vec<VolumeId>,
}

repository! {
    /// Generic volume groups: group types, groups and group snapshots.
    pub trait GroupRepo {
        /// Inserts a group type; a taken name is a `Conflict`.
        async fn group_type_create(&self, t: &GroupType) -> DomainResult<()>;
        /// A group type by id, or else by name.
        async fn group_type_find(&self, id_or_name: &str) -> DomainResult<Option<GroupType>>;
        async fn group_type_list(&self, q: &GroupTypeQuery) -> DomainResult<Vec<GroupType>>;
        /// Replaces a type's name, description, visibility and specs; a
        /// taken name is a `Conflict`.
        async fn group_type_update(&self, t: &GroupType) -> DomainResult<()>;
        /// Deletes a type no group uses (else `InvalidState`).
        async fn group_type_delete(&self, id: &GroupTypeId) -> DomainResult<()>;

        /// Creates a group (`available`: a group holds no data of its own)
        /// after counting the project's `groups` quota, in one transaction.
        async fn group_create(&self, g: &NewGroup, quota: &QuotaDefaults) -> DomainResult<Group>;
        async fn group_get(&self, id: &GroupId) -> DomainResult<Option<Group>>;
        async fn group_list(&self, q: &GroupQuery) -> DomainResult<Vec<Group>>;
        /// Renames the group and moves volumes in and out of it, in one
        /// transaction: the group must be `available`; a volume joining must
        /// be the group's project's, of one of its volume types, in its pool,
        /// `available` or `in-use` and in no group; one leaving must be a
        /// member and `available`, `in-use`, `error` or `error_deleting`.
        async fn group_update(&self, id: &GroupId, change: &GroupChange) -> DomainResult<Group>;
        /// Unconditionally sets a group's status (admin `reset_status`).
        async fn group_set_status(&self, id: &GroupId, status: GroupStatus) -> DomainResult<()>;
        /// Starts deleting a group. Without members the row goes at once (and
        /// `Ok(false)`); else, with `delete_volumes`, the group and its
        /// volumes become `deleting` and the job is recorded (`Ok(true)`).
        /// Refused while the group has group snapshots, or a member is
        /// attached, has snapshots or is busy.
        async fn group_begin_delete(
            &self,
            id: &GroupId,
            delete_volumes: bool,
            job: &Job,
        ) -> DomainResult<bool>;
        /// Ends a group delete: the volumes' rows and the group's go, or the
        /// group and its volumes become `error_deleting`.
        async fn group_finish_delete(
            &self,
            id: &GroupId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Creates a group from a group snapshot or a group (`creating`), its
        /// volumes (`creating`, each naming its source and the group) and the
        /// job in one transaction that counts the `groups`, volume and
        /// gigabyte quotas of all of them. The source must be `available`.
        async fn group_create_from_src(
            &self,
            g: &NewGroup,
            volumes: &[NewVolume],
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<Group>;
        /// Ends a create from a source: group and volumes `available`, or
        /// `error`.
        async fn group_finish_create(
            &self,
            id: &GroupId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Groups in a status only a job may hold.
        async fn group_list_transitional(&self) -> DomainResult<Vec<Group>>;

        /// Creates a group snapshot (`creating`), one snapshot per member
        /// (`creating`, naming it) and the job in one transaction that counts
        /// snapshot and gigabyte quota: the group must be `available` or
        /// `in-use`, with members, every member `available` or `in-use`.
        async fn group_snapshot_create(
            &self,
            gs: &NewGroupSnapshot,
            snapshots: &[NewSnapshot],
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<GroupSnapshot>;
        async fn group_snapshot_get(&self, id: &GroupSnapshotId) -> DomainResult<Option<GroupSnapshot>>;
        async fn group_snapshot_list(
            &self,
            q: &GroupSnapshotQuery,
        ) -> DomainResult<Vec<GroupSnapshot>>;
        /// Unconditionally sets a group snapshot's status (admin).
        async fn group_snapshot_set_status(
            &self,
            id: &GroupSnapshotId,
            status: GroupSnapshotStatus,
        ) -> DomainResult<()>;
        /// Ends a group snapshot create: it and its snapshots `available`,
        /// or `error`.
        async fn group_snapshot_finish_create(
            &self,
            id: &GroupSnapshotId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Moves a group snapshot (`available` or `error`) and its snapshots
        /// to `deleting` and records the job; refused while a group is being
        /// created from it.
        async fn group_snapshot_begin_delete(&self, id: &GroupSnapshotId, job: &Job) -> DomainResult<()>;
        /// Ends a group snapshot delete: its rows and its snapshots' go, or
        /// they become `error_deleting`.
        async fn group_snapshot_finish_delete(
            &self,
            id: &GroupSnapshotId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Group snapshots in a status only a job may hold.
        async fn group_snapshot_list_transitional(&self) -> DomainResult<Vec<GroupSnapshot>>;
    }
}
