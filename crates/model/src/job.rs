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
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::VolumeCreate => "createVolume",
            JobKind::VolumeDelete => "deleteVolume",
            JobKind::VolumeExtend => "extendVolume",
            JobKind::SnapshotCreate => "createSnapshot",
            JobKind::SnapshotDelete => "deleteSnapshot",
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
}
