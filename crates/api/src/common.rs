//! Wire pieces more than one API family writes: a volume's attachment list
//! in Cinder's shape (EVS volumes show the same), and EVS's v1 version entry
//! (Cinder's version document at `/` lists it too).

use platter_model::{
    AttachmentStatus, JobGroupKind, JobKind, Metadata, OrderId, QosRule, Timestamp, Volume,
    ORDER_ID_KEY,
};
use serde_json::{json, Value};

use crate::ApiState;

/// The `attachments` of a volume view: those attached, as Cinder lists them.
pub fn volume_attachments(v: &Volume) -> Value {
    let items: Vec<Value> = v
        .attachments
        .iter()
        .filter(|a| a.status == AttachmentStatus::Attached)
        .map(|a| {
            json!({
                "id": v.id,
                "attachment_id": a.id,
                "volume_id": v.id,
                "server_id": a.instance_uuid,
                "host_name": a.host,
                "device": a.mountpoint,
                "attached_at": a.attached_at,
            })
        })
        .collect();
    Value::Array(items)
}

/// EVS's v1.0 version entry (SUPPORTED).
pub fn version_v1_entry(state: &ApiState) -> Value {
    json!({
        "id": "v1.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2014-06-28T12:20:21Z",
        "links": [
            { "rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/" },
            { "rel": "self", "href": format!("{}/v1/", state.urls.block_storage) },
        ],
        "media-types": [
            { "base": "application/json", "type": "application/vnd.openstack.volume+json;version=1" },
        ],
    })
}

/// Huawei's words for the iops/throughput rules, which Cinder's paths (that
/// accept Huawei's `iops`/`throughput`) and EVS's share.
pub fn qos_rule_text(rule: &QosRule) -> String {
    match rule {
        QosRule::OutOfRange { field, min, max } => {
            format!("invalid {field} value, {field} must between [{min}, {max}]")
        }
        QosRule::NeedsIopsAndThroughput { volume_type } => {
            format!("{volume_type} type must input iops and throughput.")
        }
        QosRule::NeedsIopsOnly { volume_type } => {
            format!("{volume_type} type must input iops and not input throughput.")
        }
        QosRule::NotSettable { .. } => "only ESSD2 and GPSSD2 can set iops or throughput".into(),
        QosRule::NotModifiable { .. } => "only ESSD2 and GPSSD2 can modify qos.".into(),
    }
}

/// A volume's metadata as the APIs show it: with the order of a
/// yearly/monthly volume under `orderID`, as EVS shows it (Cinder paths
/// show the same volume).
pub fn volume_metadata(v: &Volume) -> Metadata {
    with_order(v.metadata.clone(), v.order_id())
}

/// `metadata` with `orderID` set to `order`, if any.
pub fn with_order(mut metadata: Metadata, order: Option<&OrderId>) -> Metadata {
    if let Some(order) = order {
        metadata.insert(ORDER_ID_KEY.to_string(), order.to_string());
    }
    metadata
}

/// The job types EVS and ECS report (EVS A.2, ECS §5.8.1) for the domain's
/// kinds: one table, since both APIs show jobs from the same queue.
pub fn job_type(kind: JobKind) -> &'static str {
    match kind {
        JobKind::VolumeCreate => "createVolume",
        JobKind::VolumeDelete => "deleteVolume",
        JobKind::VolumeExtend => "extendVolume",
        JobKind::SnapshotCreate => "createSnapshot",
        JobKind::SnapshotDelete => "deleteSnapshot",
        JobKind::VolumeRetype => "retypeVolume",
        JobKind::VolumeQos => "modifyVolumeQos",
        JobKind::VolumeRollback => "rollbackVolume",
        JobKind::VolumeMigrate => "migrateVolume",
        // Cinder's generic volume groups: no EVS job type of their own.
        JobKind::GroupDelete => "deleteGroup",
        JobKind::GroupCreateFromSrc => "createGroupFromSource",
        JobKind::GroupSnapshotCreate => "createGroupSnapshot",
        JobKind::GroupSnapshotDelete => "deleteGroupSnapshot",
        // Not EVS operations (Cinder's manage existing): Platter's names.
        JobKind::VolumeManage => "manageVolume",
        JobKind::SnapshotManage => "manageSnapshot",
        JobKind::VolumeReenableReplica => "reenableVolumeReplica",
        JobKind::VolumeUploadImage => "uploadVolumeImage",
        JobKind::BackupCreate => "createBackup",
        JobKind::BackupDelete => "deleteBackup",
        JobKind::BackupRestore => "restoreBackup",
        // ECS's (seed 003 §5.8.1: a create's members are createSingleServer).
        JobKind::ServerCreate => "createSingleServer",
        JobKind::ServerDelete => "deleteSingleServer",
        JobKind::ServerAttachVolume => "attachVolume",
        JobKind::ServerDetachVolume => "detachVolume",
        JobKind::ServerPower => "changeServerPowerState",
    }
}

pub fn group_type(kind: JobGroupKind) -> &'static str {
    match kind {
        JobGroupKind::VolumeCreateBatch => "batchCreateVolume",
        JobGroupKind::VolumeExtendBatch => "extendVolume",
        JobGroupKind::ServerCreateBatch => "createServer",
        JobGroupKind::ServerDeleteBatch => "deleteServer",
        JobGroupKind::ServerPowerBatch => "batchChangeServerPowerState",
    }
}

/// EVS job times: milliseconds and `Z`; `""` until set.
pub fn job_time(t: Option<Timestamp>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let t = t.to_string();
    match t.get(..23) {
        Some(millis) => format!("{millis}Z"),
        None => format!("{t}Z"),
    }
}
