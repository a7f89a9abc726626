//! Volumes: rows, metadata, tags, and the transactions that start and finish their jobs.

use platter_model::{
    DomainResult, GroupId, Job, JobGroup, JobId, Metadata, Order, OrderId, Page, ProjectId,
    SnapshotId, UserId, Volume, VolumeId, VolumeStatus, VolumeTypeId,
};

use super::QuotaDefaults;

/// A volume about to be created.
#[derive(Debug, Clone)]
pub struct NewVolume {
    pub id: VolumeId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub size: i64,
    pub availability_zone: String,
    pub volume_type_id: VolumeTypeId,
    pub volume_type_name: String,
    pub bootable: bool,
    pub multiattach: bool,
    pub snapshot_id: Option<SnapshotId>,
    pub source_volid: Option<VolumeId>,
    pub metadata: Metadata,
    pub iops: Option<i64>,
    pub throughput: Option<i64>,
    pub enterprise_project_id: String,
    pub tags: Metadata,
    /// The storage pool that will hold the volume.
    pub pool: String,
    /// The order of a yearly/monthly volume; `None` on demand.
    pub order: Option<OrderId>,
    /// The generic volume group the volume joins: it must be of one of the
    /// group's volume types and in its pool.
    pub group_id: Option<GroupId>,
    /// The pool that will hold the volume's replica, for a replicated
    /// type: the volume starts with `replication_status` copying.
    pub replica_pool: Option<String>,
    /// Cinder's `volume_image_metadata` of a volume from an image.
    pub image_metadata: Metadata,
}

/// Filters, sort and paging of a volume listing.
#[derive(Debug, Clone, Default)]
pub struct VolumeQuery {
    /// `None` lists every project's volumes (admin `all_tenants`).
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub availability_zone: Option<String>,
    pub bootable: Option<bool>,
    pub metadata: Vec<(String, String)>,
    /// Only these ids (EVS `ids`, `id`).
    pub ids: Option<Vec<VolumeId>>,
    pub multiattach: Option<bool>,
    pub volume_type_id: Option<VolumeTypeId>,
    /// `None`: every enterprise project.
    pub enterprise_project_id: Option<String>,
    /// Only these enterprise projects (a caller whose grants are on
    /// enterprise projects only); `None`: no such limit.
    pub enterprise_projects: Option<Vec<String>>,
    /// Volumes attached to this server.
    pub server_id: Option<String>,
    /// Names containing this text.
    pub name_contains: Option<String>,
    /// Tag filter: a volume must have every key, with one of its values (any
    /// value when the list is empty).
    pub tags: Vec<(String, Vec<String>)>,
    /// Members of this generic volume group.
    pub group_id: Option<GroupId>,
    pub page: Page,
}

/// One volume of an extend: its new size, the status it must be in (and
/// returns to), and its job.
#[derive(Debug, Clone)]
pub struct ExtendTarget {
    pub volume_id: VolumeId,
    pub new_size: i64,
    pub from: VolumeStatus,
    pub job: Job,
}

/// Fields a volume update may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct VolumeUpdate {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub metadata: Option<Metadata>,
    pub bootable: Option<bool>,
    pub readonly: Option<bool>,
}

repository! {
    /// Volumes: rows, metadata, tags, and the transactions that start and finish their jobs.
    pub trait VolumeRepo {
        async fn volume_get(&self, id: &VolumeId) -> DomainResult<Option<Volume>>;
        async fn volume_list(&self, q: &VolumeQuery) -> DomainResult<Vec<Volume>>;
        /// How many volumes match a query, ignoring its paging.
        async fn volume_count(&self, q: &VolumeQuery) -> DomainResult<i64>;
        /// Every tag key in use on a project's volumes, with its distinct values.
        async fn volume_tag_summary(
            &self,
            project_id: &ProjectId,
        ) -> DomainResult<std::collections::BTreeMap<String, Vec<String>>>;
        /// Adds (or overwrites) tags on a volume, refusing to go over `max`.
        async fn volume_tags_set(&self, id: &VolumeId, tags: &Metadata, max: usize) -> DomainResult<()>;
        /// Removes tags from a volume; keys it does not have are ignored.
        async fn volume_tags_delete(&self, id: &VolumeId, keys: &[String]) -> DomainResult<()>;
        /// The pools volumes are recorded in, with how many volumes each holds.
        async fn volume_pools(&self) -> DomainResult<Vec<(String, i64)>>;
        /// Volumes in a status that only a job may hold.
        async fn volume_list_transitional(&self) -> DomainResult<Vec<Volume>>;
        /// Creates the volume row, its metadata and its create job in one
        /// transaction, after checking the source and counting quota.
        async fn volume_create(
            &self,
            v: &NewVolume,
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<Volume>;
        /// Creates several volumes, each with its job, in one transaction that
        /// counts quota for all of them: all are created or none. With a group,
        /// the jobs are its members; with an order, it is recorded too.
        async fn volume_create_batch(
            &self,
            items: &[(NewVolume, Job)],
            group: Option<&JobGroup>,
            order: Option<&Order>,
            quota: &QuotaDefaults,
        ) -> DomainResult<Vec<Volume>>;
        /// Ends a create job: the volume becomes `available`, or `error`.
        async fn volume_finish_create(
            &self,
            id: &VolumeId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
        async fn volume_update(&self, id: &VolumeId, u: &VolumeUpdate) -> DomainResult<Volume>;
        /// Merges (or, with `replace`, replaces) metadata; returns the result.
        async fn volume_metadata_set(
            &self,
            id: &VolumeId,
            metadata: &Metadata,
            replace: bool,
        ) -> DomainResult<Metadata>;
        async fn volume_metadata_delete(&self, id: &VolumeId, key: &str) -> DomainResult<()>;
        /// Unconditionally sets a volume's status (admin `os-reset_status`).
        async fn volume_set_status(&self, id: &VolumeId, status: VolumeStatus) -> DomainResult<()>;
        /// Compare-and-swap of a volume's status.
        async fn volume_cas_status(
            &self,
            id: &VolumeId,
            from: &[VolumeStatus],
            to: VolumeStatus,
        ) -> DomainResult<bool>;
        /// Moves a volume (and, with `cascade`, its snapshots) to `deleting` and
        /// records the delete job, or explains why it cannot be deleted.
        async fn volume_begin_delete(
            &self,
            id: &VolumeId,
            cascade: bool,
            job: &Job,
            order: Option<&Order>,
        ) -> DomainResult<()>;
        /// Ends a delete job: the volume's rows (and its snapshots') go, or the
        /// volume becomes `error_deleting`.
        async fn volume_finish_delete(
            &self,
            id: &VolumeId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Moves a volume from `from` (`available`, or `in-use` where the API
        /// allows an online extend) to `extending` and records the job, counting
        /// the extra gigabytes against quota. The job's finish restores `from`.
        async fn volume_begin_extend(
            &self,
            id: &VolumeId,
            new_size: i64,
            from: VolumeStatus,
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<()>;
        /// Starts extending several volumes in one transaction: every status is
        /// checked and swapped, the extra gigabytes of all of them are counted
        /// against quota together, and the jobs (with their group and order, if
        /// any) are recorded; all start or none does.
        async fn volume_begin_extend_batch(
            &self,
            targets: &[ExtendTarget],
            group: Option<&JobGroup>,
            order: Option<&Order>,
            quota: &QuotaDefaults,
        ) -> DomainResult<()>;
        /// Ends an extend job: the new size and back to `restore`, or
        /// `error_extending`.
        async fn volume_finish_extend(
            &self,
            id: &VolumeId,
            job_id: &JobId,
            new_size: i64,
            restore: VolumeStatus,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Moves a volume (`available` or `in-use`) to `retyping` and records the
        /// job, counting the volume against the new type's quotas.
        async fn volume_begin_retype(
            &self,
            id: &VolumeId,
            new_type_name: &str,
            job: &Job,
            order: Option<&Order>,
            quota: &QuotaDefaults,
        ) -> DomainResult<VolumeStatus>;
        /// Ends a retype job: on success the new type and QoS; either way the
        /// volume returns to `restore`.
        #[allow(clippy::too_many_arguments)]
        async fn volume_finish_retype(
            &self,
            id: &VolumeId,
            job_id: &JobId,
            type_id: &VolumeTypeId,
            iops: Option<i64>,
            throughput: Option<i64>,
            restore: VolumeStatus,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Starts moving an `available` volume's data to another pool: it
        /// must have no snapshots and no attachments; its status becomes
        /// `during` and `migration_status` migrating; with a new type (a
        /// retype), that type's quota is counted. Returns the status to
        /// restore.
        async fn volume_begin_migrate(
            &self,
            id: &VolumeId,
            during: VolumeStatus,
            new_type_name: Option<&str>,
            job: &Job,
            quota: &QuotaDefaults,
        ) -> DomainResult<VolumeStatus>;
        /// Ends a move: on success the volume's pool is `target_pool` (and
        /// its type `type_id`, if any) and `migration_status` success, else
        /// error; either way it returns from `during` to `restore`.
        #[allow(clippy::too_many_arguments)]
        async fn volume_finish_migrate(
            &self,
            id: &VolumeId,
            job_id: &JobId,
            target_pool: &str,
            type_id: Option<&VolumeTypeId>,
            during: VolumeStatus,
            restore: VolumeStatus,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Sets image metadata keys (the others stay); returns all of it.
        async fn volume_image_metadata_set(
            &self,
            id: &VolumeId,
            metadata: &Metadata,
        ) -> DomainResult<Metadata>;
        /// Removes an image metadata key (`NotFound` if absent).
        async fn volume_image_metadata_delete(&self, id: &VolumeId, key: &str) -> DomainResult<()>;
        /// Records a QoS change job for an `available` or `in-use` volume.
        async fn volume_begin_qos(&self, id: &VolumeId, job: &Job) -> DomainResult<()>;
        /// Ends a QoS job: on success the new provisioned IOPS and throughput,
        /// unless a retype changed the volume's type meanwhile (the job fails).
        async fn volume_finish_qos(
            &self,
            id: &VolumeId,
            job_id: &JobId,
            type_id: Option<&VolumeTypeId>,
            iops: Option<i64>,
            throughput: Option<i64>,
            error: Option<&str>,
        ) -> DomainResult<()>;
        /// Starts rolling a volume back to one of its snapshots: the volume must
        /// be `available` or `error_rollbacking`, the snapshot `available` and
        /// taken of this volume. Both become `rollbacking`.
        async fn volume_begin_rollback(
            &self,
            volume_id: &VolumeId,
            snapshot_id: &SnapshotId,
            job: &Job,
        ) -> DomainResult<()>;
        /// Ends a rollback: the volume becomes `available` (or
        /// `error_rollbacking`), the snapshot `available` again.
        async fn volume_finish_rollback(
            &self,
            volume_id: &VolumeId,
            snapshot_id: &SnapshotId,
            job_id: &JobId,
            error: Option<&str>,
        ) -> DomainResult<()>;
    }
}
