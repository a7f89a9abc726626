//! Compute servers: guests whose disks are Platter volumes.
//!
//! A server's state is Nova's three fields: the stable `vm_state`, the
//! transient `task_state` (`None` when idle) and the `power_state`; its
//! `status` is derived from the first two (ECS appendix A-4).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::volume::string_enum;
use crate::{AttachmentId, Metadata, ProjectId, ServerId, Timestamp, UserId, VolumeId};

string_enum! {
    /// Nova's `OS-EXT-STS:vm_state`.
    VmState {
        Building => "building",
        Active => "active",
        Stopped => "stopped",
        Resized => "resized",
        Error => "error",
        Deleted => "deleted",
    }
}

string_enum! {
    /// Nova's `OS-EXT-STS:task_state` (the ones Platter enters).
    TaskState {
        Scheduling => "scheduling",
        BlockDeviceMapping => "block_device_mapping",
        Spawning => "spawning",
        Rebooting => "rebooting",
        RebootingHard => "rebooting_hard",
        PoweringOff => "powering-off",
        PoweringOn => "powering-on",
        ResizePrep => "resize_prep",
        ResizeReverting => "resize_reverting",
        Rebuilding => "rebuilding",
        Deleting => "deleting",
    }
}

/// Nova's `OS-EXT-STS:power_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    NoState = 0,
    Running = 1,
    Shutdown = 4,
}

impl PowerState {
    pub fn code(self) -> i64 {
        self as i64
    }
    pub fn from_code(c: i64) -> PowerState {
        match c {
            1 => PowerState::Running,
            4 => PowerState::Shutdown,
            _ => PowerState::NoState,
        }
    }
}

/// Which API created a server: ECS rolls a failed create back entirely
/// (the server goes), Nova leaves it in `ERROR` with a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerOrigin {
    Nova,
    Ecs,
}

impl ServerOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerOrigin::Nova => "nova",
            ServerOrigin::Ecs => "ecs",
        }
    }
    pub fn parse(s: &str) -> ServerOrigin {
        if s == "ecs" {
            ServerOrigin::Ecs
        } else {
            ServerOrigin::Nova
        }
    }
}

/// A flavor: what a server gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    /// Root disk GiB (0: the size comes from the boot volume).
    pub disk_gib: i64,
    pub extra_specs: Metadata,
}

/// Why a server is in `ERROR` (Nova's `fault`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFault {
    pub code: u16,
    pub message: String,
    pub created: Timestamp,
}

string_enum! {
    /// A disk's place in its server's life.
    DiskStatus {
        Attaching => "attaching",
        Attached => "attached",
        Detaching => "detaching",
    }
}

/// One disk of a server: a volume, its attachment and how the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerDisk {
    pub volume_id: VolumeId,
    pub attachment_id: AttachmentId,
    /// `/dev/vda`, `/dev/vdb`, ...
    pub device: String,
    /// `Some(0)`: the root disk.
    pub boot_index: Option<i64>,
    pub delete_on_termination: bool,
    /// Made by the server's create (removed if the create fails).
    pub created: bool,
    pub status: DiskStatus,
}

/// A compute server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub id: ServerId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub name: String,
    pub description: Option<String>,
    pub flavor: Flavor,
    /// The flavor before a resize not yet confirmed (Nova's
    /// `VERIFY_RESIZE`): what a revert goes back to.
    pub old_flavor: Option<Flavor>,
    pub image_id: Option<String>,
    pub availability_zone: String,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub metadata: Metadata,
    pub vm_state: VmState,
    pub task_state: Option<TaskState>,
    pub power_state: PowerState,
    pub origin: ServerOrigin,
    pub fault: Option<ServerFault>,
    pub locked: bool,
    /// Nova's reservation of a multi-server create, and this server's
    /// index in it.
    pub reservation_id: String,
    pub launch_index: i64,
    /// What ECS recorded about the network (vpcid, nics, security groups,
    /// publicip): kept as given, shown back, not acted on.
    pub network: serde_json::Value,
    pub host: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub launched_at: Option<Timestamp>,
    /// Ordered by device name.
    pub disks: Vec<ServerDisk>,
}

impl Server {
    /// Nova's `status` from `vm_state` and `task_state` (ECS A-4).
    pub fn status(&self) -> &'static str {
        use TaskState::*;
        match (self.vm_state, self.task_state) {
            (VmState::Building, _) => "BUILD",
            (_, Some(Rebuilding)) => "REBUILD",
            (VmState::Active, Some(Rebooting)) => "REBOOT",
            (VmState::Active, Some(RebootingHard)) => "HARD_REBOOT",
            (VmState::Active, _) => "ACTIVE",
            (VmState::Stopped, Some(ResizePrep)) => "RESIZE",
            (VmState::Stopped, _) => "SHUTOFF",
            (VmState::Resized, Some(ResizeReverting)) => "REVERT_RESIZE",
            (VmState::Resized, _) => "VERIFY_RESIZE",
            (VmState::Error, _) => "ERROR",
            (VmState::Deleted, _) => "DELETED",
        }
    }

    /// The root disk (boot index 0), if the server has one.
    pub fn root_disk(&self) -> Option<&ServerDisk> {
        self.disks.iter().find(|d| d.boot_index == Some(0))
    }

    /// The first free `/dev/vdX` name (`vda` is the root disk's).
    pub fn next_device(&self) -> Option<String> {
        (b'b'..=b'z')
            .map(|c| format!("/dev/vd{}", c as char))
            .find(|d| !self.disks.iter().any(|x| &x.device == d))
    }
}

/// The status filter values Nova accepts, and which (vm_state, task_state)
/// they mean.
pub fn server_status_known(s: &str) -> bool {
    matches!(
        s,
        "ACTIVE"
            | "BUILD"
            | "ERROR"
            | "HARD_REBOOT"
            | "MIGRATING"
            | "REBOOT"
            | "REBUILD"
            | "RESIZE"
            | "REVERT_RESIZE"
            | "SHUTOFF"
            | "VERIFY_RESIZE"
            | "DELETED"
            | "SHELVED"
            | "SHELVED_OFFLOADED"
            | "UNKNOWN"
            | "PAUSED"
            | "SUSPENDED"
            | "SOFT_DELETED"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_skip_the_ones_in_use() {
        let mut s = Server {
            id: ServerId::new(),
            project_id: "p".into(),
            user_id: "u".into(),
            name: "s".into(),
            description: None,
            flavor: Flavor {
                id: "1".into(),
                name: "f".into(),
                vcpus: 1,
                ram_mib: 64,
                disk_gib: 0,
                extra_specs: Metadata::new(),
            },
            old_flavor: None,
            image_id: None,
            availability_zone: "nova".into(),
            key_name: None,
            user_data: None,
            metadata: Metadata::new(),
            vm_state: VmState::Active,
            task_state: Some(TaskState::Rebooting),
            power_state: PowerState::Running,
            origin: ServerOrigin::Nova,
            fault: None,
            locked: false,
            reservation_id: "r-1".into(),
            launch_index: 0,
            network: serde_json::Value::Null,
            host: "h".into(),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            launched_at: None,
            disks: vec![],
        };
        assert_eq!(s.status(), "REBOOT");
        assert_eq!(s.next_device().as_deref(), Some("/dev/vdb"));
        s.disks.push(ServerDisk {
            volume_id: "v".into(),
            attachment_id: "a".into(),
            device: "/dev/vdb".into(),
            boot_index: None,
            delete_on_termination: false,
            created: false,
            status: DiskStatus::Attached,
        });
        assert_eq!(s.next_device().as_deref(), Some("/dev/vdc"));
        s.task_state = None;
        s.vm_state = VmState::Stopped;
        assert_eq!(s.status(), "SHUTOFF");
    }
}
