//! The domain model of Platter.
//!
//! One model, many views: the API layer renders these types in the wire
//! format of each API family (Cinder, EVS, ECS, htaiyun); nothing here knows
//! about HTTP or JSON field names of any family.

mod action;
mod backup;
mod credential;
mod error;
mod group;
mod iam;
mod identity;
mod ids;
mod image;
mod job;
mod message;
mod page;
mod qos_specs;
mod quota;
mod server;
mod service_state;
pub mod sources;
mod time_fmt;
mod transfer;
mod type_encryption;
mod user_volume;
mod volume;

pub use action::{Access, Action, IamName};
pub use backup::{backup_snapshot_device, Backup, BackupSource, BackupStatus};
pub use credential::{Credential, CredentialStatus, ACCESS_KEY_LEN, SECRET_KEY_LEN};
pub use error::{CreateRule, DomainError, DomainResult, QosRule};
pub use group::{
    Group, GroupSnapshot, GroupSnapshotStatus, GroupStatus, GroupType,
    CONSISTENT_GROUP_SNAPSHOT_SPEC,
};
pub use iam::{
    glob, is_system_policy, system_policy, Condition, ConditionKey, ConditionOp, Decision, Effect,
    Policy, RequestFacts, Statement, SystemPolicy, MAX_POLICY_CHARS, SYSTEM_POLICIES,
};
pub use identity::{
    AuthContext, CustomPolicy, Domain, GrantScope, GroupGrant, Project, Role, RoleAssignment,
    TokenInfo, User, UserGroup,
};
pub use ids::{
    is_uuid, new_hex_id, new_uuid, AccessKeyId, AttachmentId, BackupId, DomainId, GroupId,
    GroupSnapshotId, GroupTypeId, ImageId, JobId, MessageId, OrderId, ProjectId, QosSpecsId,
    RoleId, ServerId, SnapshotId, TransferId, UserGroupId, UserId, VolumeId, VolumeTypeId,
};
pub use image::{
    image_disk_device, image_file_device, is_image_device, DiskFormat, Image, ImageMember,
    ImageStatus, ImageVisibility, MemberStatus,
};
pub use job::{
    BackupJobParams, BackupRestoreParams, GroupJobParams, Job, JobGroup, JobGroupKind, JobKind,
    JobParams, JobStatus, JobStep, Order, PowerAction, ServerCreateParams, ServerDeleteParams,
    ServerNewVolume, ServerPowerParams, ServerVolumeParams, SnapshotManageParams, SnapshotParams,
    VolumeCreateParams, VolumeDeleteParams, VolumeExtendParams, VolumeManageParams,
    VolumeMigrateParams, VolumeQosParams, VolumeReplicaParams, VolumeRetypeParams,
    VolumeRollbackParams, VolumeUploadParams,
};
pub use message::{MessageAction, MessageDetail, MessageResource, UserMessage};
pub use page::{Page, SortDir, SortKey};
pub use qos_specs::{QosConsumer, QosSpecs};
pub use quota::{QuotaResource, QuotaUsage, QUOTA_GLOBAL_RESOURCES};
pub use server::{
    server_status_known, DiskStatus, Flavor, PowerState, Server, ServerDisk, ServerFault,
    ServerOrigin, TaskState, VmState,
};
pub use service_state::ServiceState;
pub use time_fmt::Timestamp;
pub use transfer::Transfer;
pub use type_encryption::TypeEncryption;
pub use user_volume::{openstack4j_status, UserVolume};
pub use volume::{
    check_metadata, AttachMode, Attachment, AttachmentStatus, Metadata, MetadataRule,
    MigrationStatus, ReplicationStatus, Snapshot, SnapshotStatus, Volume, VolumeSource,
    VolumeStatus, VolumeType, DEFAULT_ENTERPRISE_PROJECT, GIB, METADATA_KEY_MAX,
    METADATA_VALUE_MAX, ORDER_ID_KEY,
};
