use thiserror::Error;

use crate::Action;

/// The one error type of the domain. Every API family maps it to its own wire
/// format (Cinder `{"itemNotFound": ...}`, EVS `{"error": {"code": "EVS.XXXX"}}`, ...).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DomainError {
    /// A resource that does not exist, or that the caller may not see.
    #[error("{kind} {id} could not be found.")]
    NotFound { kind: &'static str, id: String },
    /// The request is malformed or a value is out of range.
    #[error("{0}")]
    InvalidInput(String),
    /// A resource is in a status that does not allow the operation.
    /// `resource` names its kind (`volume`, `snapshot`, `attachment`), or is
    /// empty when the message stands alone; families word the prefix.
    #[error("{message}")]
    InvalidState {
        resource: &'static str,
        message: String,
    },
    /// Over quota. `requested` is what the operation asked for.
    #[error("Requested {resource} exceeds quota: requested {requested}, in use {in_use}, limit {limit}.")]
    QuotaExceeded {
        resource: String,
        requested: i64,
        in_use: i64,
        limit: i64,
    },
    /// Missing or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// iops/throughput that the volume type's QoS rules refuse.
    #[error("{0}")]
    InvalidQos(QosRule),
    /// A new volume's size, zone or source breaks a create rule.
    #[error("{0}")]
    InvalidCreate(CreateRule),
    /// The authorizer refused the caller this action.
    #[error("action {action} is not allowed")]
    NotAllowed { action: Action },
    /// A uniqueness conflict (a name that is taken, ...).
    #[error("{0}")]
    Conflict(String),
    /// The storage backend failed.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// There is no room left for the data (the disk holding the data
    /// directory is full): the request is refused, not an internal error.
    #[error("There is not enough free space to store the data: {0}")]
    StorageFull(String),
    /// Refused to protect the service: too many attempts from one source
    /// (`rate_limited`, 429) or too much work queued already (503). The
    /// client may retry after `retry_after` seconds.
    #[error("{message}")]
    Overloaded {
        message: String,
        retry_after: u64,
        rate_limited: bool,
    },
    /// Anything else: a bug or an unavailable dependency. Never caused by input.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Which create rule a new volume broke. The limits are the family's
/// (`CreateRules` in the service); the facts are here, the words in each
/// family's errors.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CreateRule {
    #[error("only one source may be given")]
    TwoSources,
    #[error("a blank volume needs a size")]
    SizeRequired,
    #[error("size {size} GiB is outside {min}..={max} GiB")]
    SizeOutOfRange { size: i64, min: i64, max: i64 },
    #[error("size {size} GiB is smaller than the source's {source_size} GiB")]
    SmallerThanSource { size: i64, source_size: i64 },
    #[error("availability zone {zone} does not exist")]
    UnknownZone { zone: String },
    #[error("volume type {volume_type} is not offered in availability zone {zone}")]
    TypeNotInZone { volume_type: String, zone: String },
    #[error("snapshot {id} is {status}")]
    SnapshotNotUsable { id: String, status: String },
    #[error("the source is in availability zone {source_zone}, not {zone}")]
    ZoneMismatch { zone: String, source_zone: String },
    #[error("the source is of volume type {source_type}, not {volume_type}")]
    TypeMismatch {
        volume_type: String,
        source_type: String,
    },
}

/// Which QoS rule iops/throughput broke (the provisioned-IOPS types: ESSD2
/// takes iops, GPSSD2 takes iops and throughput, others neither).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum QosRule {
    #[error("{field} must be within [{min}, {max}]")]
    OutOfRange {
        field: &'static str,
        min: i64,
        max: i64,
    },
    #[error("volume type {volume_type} needs both iops and throughput")]
    NeedsIopsAndThroughput { volume_type: String },
    #[error("volume type {volume_type} needs iops and takes no throughput")]
    NeedsIopsOnly { volume_type: String },
    #[error("volume type {volume_type} takes no iops or throughput")]
    NotSettable { volume_type: String },
    #[error("the QoS of a volume of type {volume_type} cannot be modified")]
    NotModifiable { volume_type: String },
}

/// Metadata that breaks the metadata rule is invalid input; each family
/// words it (or catches the rule earlier, in its own words).
impl From<crate::MetadataRule> for DomainError {
    fn from(rule: crate::MetadataRule) -> Self {
        DomainError::InvalidInput(rule.to_string())
    }
}

impl DomainError {
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        DomainError::NotFound {
            kind,
            id: id.into(),
        }
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        DomainError::InvalidInput(msg.into())
    }
    pub fn state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState {
            resource: "",
            message: msg.into(),
        }
    }
    pub fn volume_state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState {
            resource: "volume",
            message: msg.into(),
        }
    }
    /// A generic volume group in the wrong status or shape (Cinder's
    /// `InvalidGroup`).
    pub fn group_state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState {
            resource: "Group",
            message: msg.into(),
        }
    }
    /// Cinder's `InvalidGroupSnapshot`.
    pub fn group_snapshot_state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState {
            resource: "GroupSnapshot",
            message: msg.into(),
        }
    }
    pub fn snapshot_state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState {
            resource: "snapshot",
            message: msg.into(),
        }
    }
    /// A server in the wrong state for an operation (Nova's 409
    /// `InstanceInvalidState`, ECS's `Ecs.0100`).
    pub fn server_state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState {
            resource: "server",
            message: msg.into(),
        }
    }
    pub fn attachment_state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState {
            resource: "attachment",
            message: msg.into(),
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
