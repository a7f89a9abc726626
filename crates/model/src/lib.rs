//! The domain model of Platter.
//!
//! One model, many views: the API layer renders these types in the wire
//! format of each API family (Cinder, EVS, ECS, htaiyun); nothing here knows
//! about HTTP or JSON field names of any family.

mod action;
mod credential;
mod error;
mod group;
mod identity;
mod job;
mod page;
mod quota;
mod time_fmt;
mod transfer;
mod volume;

pub use action::{Access, Action};
pub use credential::{Credential, CredentialStatus, ACCESS_KEY_LEN, SECRET_KEY_LEN};
pub use error::{CreateRule, DomainError, DomainResult, QosRule};
pub use group::{
    Group, GroupSnapshot, GroupSnapshotStatus, GroupStatus, GroupType,
    CONSISTENT_GROUP_SNAPSHOT_SPEC,
};
pub use identity::{AuthContext, Domain, Project, Role, RoleAssignment, TokenInfo, User};
pub use job::{
    GroupJobParams, Job, JobGroup, JobGroupKind, JobKind, JobParams, JobStatus, JobStep, Order,
    SnapshotParams, VolumeCreateParams, VolumeDeleteParams, VolumeExtendParams, VolumeQosParams,
    VolumeRetypeParams, VolumeRollbackParams,
};
pub use page::{Page, SortDir, SortKey};
pub use quota::{QuotaResource, QuotaUsage, QUOTA_GLOBAL_RESOURCES};
pub use time_fmt::{format_timestamp, now_timestamp, parse_timestamp, Timestamp};
pub use transfer::Transfer;
pub use volume::{
    AttachMode, Attachment, AttachmentStatus, Metadata, Snapshot, SnapshotStatus, Volume,
    VolumeSource, VolumeStatus, VolumeType, DEFAULT_ENTERPRISE_PROJECT, GIB, ORDER_ID_KEY,
};

/// A new random UUID in its canonical hyphenated form (volumes, snapshots, jobs).
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new random id in Keystone's form: 32 lowercase hex digits, no hyphens.
pub fn new_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
