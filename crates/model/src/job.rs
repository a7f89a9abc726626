use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// What a durable job does. Each kind is a short list of idempotent steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    VolumeCreate,
    VolumeDelete,
    VolumeExtend,
    SnapshotCreate,
    SnapshotDelete,
    VolumeRetype,
    VolumeQos,
    VolumeRollback,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::VolumeCreate => "createVolume",
            JobKind::VolumeDelete => "deleteVolume",
            JobKind::VolumeExtend => "extendVolume",
            JobKind::SnapshotCreate => "createSnapshot",
            JobKind::SnapshotDelete => "deleteSnapshot",
            JobKind::VolumeRetype => "retypeVolume",
            JobKind::VolumeQos => "modifyVolumeQos",
            JobKind::VolumeRollback => "rollbackVolume",
        }
    }
}

impl FromStr for JobKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "createVolume" => JobKind::VolumeCreate,
            "deleteVolume" => JobKind::VolumeDelete,
            "extendVolume" => JobKind::VolumeExtend,
            "createSnapshot" => JobKind::SnapshotCreate,
            "deleteSnapshot" => JobKind::SnapshotDelete,
            "retypeVolume" => JobKind::VolumeRetype,
            "modifyVolumeQos" => JobKind::VolumeQos,
            "rollbackVolume" => JobKind::VolumeRollback,
            other => return Err(format!("unknown job kind '{other}'")),
        })
    }
}

/// Job statuses, named as EVS reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Init,
    Running,
    Success,
    Fail,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Init => "INIT",
            JobStatus::Running => "RUNNING",
            JobStatus::Success => "SUCCESS",
            JobStatus::Fail => "FAIL",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Success | JobStatus::Fail)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "INIT" => JobStatus::Init,
            "RUNNING" => JobStatus::Running,
            "SUCCESS" => JobStatus::Success,
            "FAIL" => JobStatus::Fail,
            other => return Err(format!("unknown job status '{other}'")),
        })
    }
}

/// A durable job row. `params` is the job's input, `step` how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub project_id: String,
    pub resource_id: String,
    pub params: serde_json::Value,
    pub status: JobStatus,
    pub step: i64,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub begin_at: Option<Timestamp>,
    pub end_at: Option<Timestamp>,
    /// The group (batch) this job belongs to, if any.
    pub parent_id: Option<String>,
}

/// A job grouping others: a batch create or a batch extend. Its status is
/// derived from its members'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobGroup {
    pub id: String,
    /// The kind the group reports (`batchCreateVolume`, `extendVolume`, ...).
    pub kind: String,
    pub project_id: String,
    pub created_at: Timestamp,
}

impl JobGroup {
    /// The status of a group from its members': FAIL once all ended and any
    /// failed, SUCCESS once all succeeded, RUNNING while any started, else INIT.
    pub fn status_of(members: &[Job]) -> JobStatus {
        if members.is_empty() {
            return JobStatus::Success;
        }
        if members.iter().all(|j| j.status.is_terminal()) {
            if members.iter().any(|j| j.status == JobStatus::Fail) {
                JobStatus::Fail
            } else {
                JobStatus::Success
            }
        } else if members.iter().any(|j| j.status != JobStatus::Init) {
            JobStatus::Running
        } else {
            JobStatus::Init
        }
    }
}

/// An order for a yearly/monthly (prePaid) resource: a record only, paid
/// when placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub project_id: String,
    /// `create`, `extend`, `retype`, `unsubscribe`.
    pub action: String,
    pub resource_ids: Vec<String>,
    pub params: serde_json::Value,
    /// The job (or job group) that carries the order out, if any.
    pub job_id: Option<String>,
    pub created_at: Timestamp,
}
